//! Rule-file loading and validation: any text gives rules or located errors, never a panic.
#![no_main]

use std::sync::Arc;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut loaded = kbguard::Loaded::default();
    loaded.add_text("fuzz.ron".into(), Arc::from(text));
    let catalogue = kbguard::Catalogue::from_loaded(&loaded);
    for problem in kbguard::validate::lint(&loaded, &catalogue) {
        let _ = problem.to_string();
    }
    for err in &loaded.errors {
        let _ = err.to_string();
    }
    // Evaluate whatever loaded against an empty remote host and its own test cases.
    let set = kbguard::FactSet::remote();
    let command = kbguard::Command::parse(&["isinteg".to_string(), "-patch".to_string()]);
    for rule in &loaded.rules {
        let _ = kbguard::evaluate(&rule.rule, &set, command.as_ref());
    }
});
