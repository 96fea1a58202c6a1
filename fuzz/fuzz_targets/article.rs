//! KB article parsing: any bytes give an article or a reason, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(article) = kbguard::article::parse(data) {
        for message in &article.messages {
            let _ = kbguard::analysis::tokenize(&message.text, true);
        }
    }
});
