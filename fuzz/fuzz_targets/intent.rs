//! Command-line parsing and intent matching: any argument vector, any intent.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(
    |input: (Vec<String>, String, Vec<String>, Vec<String>, Vec<String>, Vec<String>)| {
        let (argv, program, flags, forbidden, patterns, options) = input;
        let intent = kbguard::model::Intent {
            program,
            flags,
            forbidden,
            args: patterns
                .into_iter()
                .map(|pattern| kbguard::model::ArgPattern {
                    pattern,
                    bind: Some("x".into()),
                })
                .collect(),
            options: options
                .into_iter()
                .map(|flag| kbguard::model::ValueOption {
                    flag,
                    bind: Some("v".into()),
                })
                .collect(),
        };
        if let Some(command) = kbguard::Command::parse(&argv) {
            let _ = kbguard::intent::match_intent(&intent, &command);
            for flag in &command.flags {
                assert_eq!(
                    kbguard::intent::normalize_flag(&format!("-{flag}")).as_deref(),
                    Some(flag.as_str())
                );
            }
        }
    }
);
