//! kbguard's integration tests, one binary (one link of the library and tantivy): the CLI as a
//! user runs it, the archive, hostile input, the shipped library, and properties.

// Tests report by panicking, and may print what they measure.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout,
    clippy::print_stderr,
    clippy::cast_possible_truncation,
    clippy::too_many_lines
)]

mod archive;
#[cfg(unix)]
mod bad_input;
#[cfg(unix)]
mod browser;
mod cli;
mod common;
mod library;
mod properties;
mod serve;
#[cfg(unix)]
mod shells;
#[cfg(windows)]
mod windows;
