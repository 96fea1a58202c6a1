//! Lookup query handling: any pasted text against the built-in rules and records.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;

fn rules() -> &'static kbguard::RuleSet {
    static SET: OnceLock<kbguard::RuleSet> = OnceLock::new();
    SET.get_or_init(|| kbguard::RuleSet::load(&[kbguard::Origin::Embedded]))
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    for hit in kbguard::lookup::lookup(rules(), None, &text, 5) {
        assert!(
            hit.matched.get(hit.matched_span.clone()).is_some(),
            "span inside the message"
        );
    }
    let query = kbguard::analysis::Query::new(&text, &kbguard::analysis::Uniform);
    let _ = kbguard::lookup::match_message(&query, &text, &kbguard::analysis::Uniform);
});
