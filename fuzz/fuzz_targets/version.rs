//! Version and range parsing: parse or error, and parsed values behave.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: (String, String)| {
    let (a, b) = input;
    if let Ok(v) = a.parse::<kbguard::Version>() {
        let again: kbguard::Version = v.to_string().parse().expect("display parses back");
        assert_eq!(again, v);
        if let Ok(range) = b.parse::<kbguard::VersionRange>() {
            let _ = range.contains(&v);
        }
    }
    let _ = b.parse::<kbguard::VersionRange>();
});
