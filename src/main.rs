//! The `kbguard` command: parses arguments and dispatches to [`cli`], which calls the library,
//! prints, and picks exit codes.
//!
//! Exit codes: 0 nothing blocks; 1 a block rule triggered; 2 usage or rule-loading errors;
//! 3 a block rule is undecided. `run` exits with the command's own status once it has run.

// The binary is where kbguard talks to the terminal; the library never prints.
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod cli;

use std::process::ExitCode;

use clap::Parser;

// A faster allocator: a preflight over a large rule set is dominated by small allocations.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let code = match cli::run(cli::args::Cli::parse()) {
        Ok(code) => code,
        Err(cli::Failure(message)) => {
            eprintln!("kbguard: {message}");
            cli::EXIT_USAGE
        }
    };
    ExitCode::from(code)
}
