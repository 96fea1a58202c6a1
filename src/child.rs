//! Running the checked command for `kbguard run`, so that it behaves like the command itself.
//!
//! Owns starting the child (arguments passed exactly, no shell, stdio inherited), passing on
//! the signals meant for it, and turning its status into an exit code. The command comes from
//! the operator's command line, never from rule data.

use std::ffi::OsString;
use std::io;
use std::process::{Command, ExitStatus};

/// Runs `argv` with `env` added to the inherited environment and waits for it.
///
/// On Unix, SIGTERM, SIGHUP, SIGQUIT and SIGINT sent to kbguard reach the child. A SIGINT the
/// terminal sends (Ctrl-C) already reaches the whole foreground process group, child included,
/// so it is not sent a second time.
pub fn run(argv: &[String], env: &[(String, String)]) -> io::Result<ExitStatus> {
    let (program, args) = argv
        .split_first()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no command"))?;
    let mut command = Command::new(program);
    command
        .args(args.iter().map(OsString::from))
        .envs(env.iter().map(|(k, v)| (k, v)));
    wait_forwarding_signals(command)
}

#[cfg(unix)]
fn wait_forwarding_signals(mut command: Command) -> io::Result<ExitStatus> {
    use nix::sys::signal::{kill, Signal};
    use nix::unistd::Pid;
    use signal_hook::consts::{SIGHUP, SIGINT, SIGQUIT, SIGTERM};
    use signal_hook::iterator::exfiltrator::WithOrigin;
    use signal_hook::iterator::SignalsInfo;
    use signal_hook::low_level::siginfo::Cause;

    // Handlers go in before the child starts, so no signal falls between the two.
    let mut signals = SignalsInfo::<WithOrigin>::new([SIGTERM, SIGHUP, SIGQUIT, SIGINT])?;
    let handle = signals.handle();
    let mut child = command.spawn()?;
    let pid = Pid::from_raw(i32::try_from(child.id()).unwrap_or(i32::MAX));
    let forwarder = std::thread::spawn(move || {
        for origin in signals.forever() {
            let from_terminal = origin.signal == SIGINT && origin.cause == Cause::Kernel;
            if from_terminal {
                continue;
            }
            if let Ok(signal) = Signal::try_from(origin.signal) {
                // The child may have exited already; there is nothing more to do then.
                kill(pid, signal).ok();
            }
        }
    });
    let status = child.wait();
    handle.close();
    forwarder.join().ok();
    status
}

#[cfg(not(unix))]
fn wait_forwarding_signals(mut command: Command) -> io::Result<ExitStatus> {
    // Ctrl-C reaches every process of the console; kbguard just waits for the child.
    command.status()
}

/// The exit code to report for the child's status; a child killed by signal N gives 128+N, as
/// shells report it.
pub fn exit_code(status: ExitStatus) -> u8 {
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(signal) = status.signal() {
            return u8::try_from(128 + signal).unwrap_or(255);
        }
    }
    status
        .code()
        .map_or(1, |c| u8::try_from(c & 0xff).unwrap_or(1))
}
