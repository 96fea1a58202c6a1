//! `kbguard shell install|uninstall|status`: the hook's marked block in a shell's rc file.

use std::fs;
use std::path::PathBuf;

use kbguard::hooks::{self, HookShell};

use super::args::{ShellArgs, ShellCmd};
use super::{self_path, Failure};

/// `kbguard shell ...`.
pub(crate) fn run(cmd: ShellCmd) -> Result<u8, Failure> {
    let (args, action) = match cmd {
        ShellCmd::Install(a) => (a, Action::Install),
        ShellCmd::Uninstall(a) => (a, Action::Uninstall),
        ShellCmd::Status(a) => (a, Action::Status),
    };
    let shell = match args.shell {
        Some(shell) => shell,
        None => std::env::var("SHELL")
            .ok()
            .and_then(|s| HookShell::from_name(&s))
            .ok_or_else(|| {
                Failure(
                    "cannot tell the shell from $SHELL: name it (bash, zsh, fish, powershell)"
                        .into(),
                )
            })?,
    };
    let rc = rc_path(&args, shell)?;
    let before = match fs::read_to_string(&rc) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(Failure(format!("{}: {e}", rc.display()))),
    };
    let after = match action {
        Action::Status => {
            let state = if hooks::installed(&before) {
                "installed"
            } else {
                "not installed"
            };
            println!("{} hook: {state} in {}", shell.name(), rc.display());
            return Ok(u8::from(!hooks::installed(&before)));
        }
        Action::Install => hooks::install(&before, shell, &self_path()),
        Action::Uninstall => hooks::uninstall(&before),
    };
    let (verb, done) = match action {
        Action::Install => ("add the hook to", "added the hook to"),
        _ => ("remove the hook from", "removed the hook from"),
    };
    if after == before {
        println!("{} is already as asked: nothing to change", rc.display());
        return Ok(0);
    }
    if args.dry_run {
        println!(
            "would {verb} {}; it would then read:\n{after}",
            rc.display()
        );
        return Ok(0);
    }
    if let Some(dir) = rc.parent() {
        fs::create_dir_all(dir).map_err(|e| Failure(format!("{}: {e}", dir.display())))?;
    }
    // Written beside it and renamed over it: an interrupted write never leaves half an rc file.
    let tmp = rc.with_extension(format!("kbguard-{}", std::process::id()));
    fs::write(&tmp, &after)
        .and_then(|()| fs::rename(&tmp, &rc))
        .map_err(|e| Failure(format!("{}: {e}", rc.display())))?;
    println!("{done} {} (open a new shell, or source it)", rc.display());
    Ok(0)
}

#[derive(Clone, Copy)]
enum Action {
    Install,
    Uninstall,
    Status,
}

fn rc_path(args: &ShellArgs, shell: HookShell) -> Result<PathBuf, Failure> {
    if let Some(rc) = &args.rc {
        return Ok(rc.clone());
    }
    let home = directories::BaseDirs::new()
        .map(|d| d.home_dir().to_path_buf())
        .ok_or_else(|| Failure("no home directory: give --rc FILE".into()))?;
    // zsh reads its rc file from ZDOTDIR when set.
    if shell == HookShell::Zsh {
        if let Some(dir) = std::env::var_os("ZDOTDIR").filter(|d| !d.is_empty()) {
            return Ok(PathBuf::from(dir).join(".zshrc"));
        }
    }
    Ok(home.join(shell.rc_file()))
}
