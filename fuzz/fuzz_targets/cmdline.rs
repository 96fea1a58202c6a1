//! Whole command lines and argvs: splitting and unwrapping never panic, in any shell, and a
//! line either plans or names a position inside it.
#![no_main]

use kbguard::cmdline::{plan_argv, plan_line, Shell};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: (String, Vec<String>)| {
    let (line, argv) = input;
    for shell in Shell::ALL {
        if let Err(err) = plan_line(&line, shell) {
            assert!(err.offset <= line.len(), "{err:?} is outside the line");
        }
    }
    let _ = plan_argv(&argv);
});
