//! Wrapper programs, as data: how each passes on the command it runs.
//!
//! `cmd /c isinteg -patch`, `start /wait isinteg -patch`, `sudo isinteg -patch`: the program
//! that really runs is the one after the wrapper's own options. The table says, per wrapper,
//! which options it has (and which take a value), what some of them do to the command's
//! environment or folder, and how the command follows.

use super::Shell;

/// How a wrapper passes on the command it runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Passes {
    /// The words after its options, `skip` positional words (e.g. `timeout`'s duration) and,
    /// with `assignments`, `NAME=VALUE` words (environment for the command) are the command.
    Argv {
        /// Positional words of the wrapper's own before the command.
        skip: usize,
        /// Whether `NAME=VALUE` words may come first (`env`, `sudo`).
        assignments: bool,
    },
    /// cmd's `start`: an optional quoted title, then the command.
    Start,
    /// After one of `flags` (or, with `default`, after the options even without one), the
    /// rest is a command line for `shell`; with `one_word`, only the word after the flag is.
    Line {
        /// The shell whose syntax the command line has.
        shell: Shell,
        /// The options that introduce it (`c`, `k`, `command`).
        flags: &'static [&'static str],
        /// Whether the command line is one word (`bash -c 'a; b' name args`).
        one_word: bool,
        /// Whether a first positional word starts the line without a flag (`powershell x`).
        default: bool,
    },
    /// `runas`: its one positional word is a command line for cmd.
    OneString,
    /// PowerShell's `Start-Process`: `-FilePath` and `-ArgumentList`, by name or position.
    StartProcess,
    /// A program that runs commands it builds or sends elsewhere; not followed, with a note.
    Opaque(&'static str),
}

/// What an option does besides being skipped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Effect {
    /// Removes the variable named by its value from the command's environment.
    Unset,
    /// Starts the command with an empty environment.
    ClearEnv,
    /// Runs the command in the folder given as its value.
    Chdir,
    /// Its value is split into words that replace the rest (`env -S`).
    SplitString,
    /// Base64 of UTF-16LE text: the command line (`powershell -EncodedCommand`).
    Encoded,
    /// The wrapper then only looks the program up or lists, and runs nothing (`command -v`).
    RunsNothing,
}

/// One wrapper program.
#[derive(Debug)]
pub struct Wrapper {
    /// Program names, as `intent::normalize_program` gives them.
    pub names: &'static [&'static str],
    /// Options with `/` (cmd style, case-insensitive) rather than `-`.
    pub slash: bool,
    /// Options that take no value.
    pub flags: &'static [&'static str],
    /// Options whose value is the next word, or glued after `=`, `:` or (one-letter `-x`) the
    /// letter itself.
    pub valued: &'static [&'static str],
    /// Options with an effect (each also in `flags` or `valued`).
    pub effects: &'static [(&'static str, Effect)],
    /// How the command follows.
    pub passes: Passes,
    /// Only in this shell (cmd's `start` and `call` are cmd built-ins; `start` is
    /// `Start-Process` in PowerShell).
    pub only_in: Option<&'static [Shell]>,
}

const POSIX_SHELL: &[&str] = &["c"];

/// Every wrapper kbguard sees through.
pub static WRAPPERS: &[Wrapper] = &[
    Wrapper {
        names: &["cmd"],
        slash: true,
        flags: &["q", "d", "a", "u", "s", "e", "f", "v", "t", "x", "y"],
        valued: &[],
        effects: &[],
        passes: Passes::Line { shell: Shell::Cmd, flags: &["c", "k", "r"], one_word: false, default: false },
        only_in: None,
    },
    Wrapper {
        names: &["start"],
        slash: true,
        flags: &[
            "wait", "b", "min", "max", "i", "low", "normal", "high", "realtime", "abovenormal",
            "belownormal", "separate", "shared", "elevate", "unelevate",
        ],
        valued: &["d", "node", "affinity", "machine"],
        effects: &[("d", Effect::Chdir)],
        passes: Passes::Start,
        only_in: Some(&[Shell::Cmd]),
    },
    Wrapper {
        names: &["call"],
        slash: false,
        flags: &[],
        valued: &[],
        effects: &[],
        passes: Passes::Argv { skip: 0, assignments: false },
        only_in: Some(&[Shell::Cmd]),
    },
    Wrapper {
        names: &["runas"],
        slash: true,
        flags: &["noprofile", "profile", "env", "netonly", "savecred", "smartcard", "showtrustlevels"],
        valued: &["user", "trustlevel", "machine"],
        effects: &[],
        passes: Passes::OneString,
        only_in: None,
    },
    Wrapper {
        names: &["powershell", "pwsh"],
        slash: false,
        flags: &[
            "noprofile", "nop", "noninteractive", "noni", "nologo", "nol", "noexit", "noe", "sta",
            "mta", "login", "l", "interactive", "i", "noprofileloadtime",
        ],
        valued: &[
            "encodedcommand", "e", "ec", "enc", "executionpolicy", "ep", "ex", "windowstyle", "w",
            "inputformat", "if", "inp", "outputformat", "of", "o", "version", "v",
            "configurationname", "config", "workingdirectory", "wd", "custompipename",
            "settingsfile", "psconsolefile",
        ],
        effects: &[
            ("encodedcommand", Effect::Encoded),
            ("e", Effect::Encoded),
            ("ec", Effect::Encoded),
            ("enc", Effect::Encoded),
            ("workingdirectory", Effect::Chdir),
            ("wd", Effect::Chdir),
        ],
        passes: Passes::Line {
            shell: Shell::PowerShell,
            flags: &["command", "c", "com", "comm", "comma", "comman"],
            one_word: false,
            default: true,
        },
        only_in: None,
    },
    Wrapper {
        names: &["start-process", "saps"],
        slash: false,
        flags: &[],
        valued: &[],
        effects: &[],
        passes: Passes::StartProcess,
        only_in: None,
    },
    Wrapper {
        names: &["start"],
        slash: false,
        flags: &[],
        valued: &[],
        effects: &[],
        passes: Passes::StartProcess,
        only_in: Some(&[Shell::PowerShell]),
    },
    Wrapper {
        names: &["bash", "sh", "dash", "ksh", "zsh"],
        slash: false,
        flags: &[
            "l", "login", "e", "x", "v", "u", "i", "r", "s", "norc", "noprofile", "posix",
            "restricted", "verbose", "f",
        ],
        valued: &["o", "rcfile", "init-file", "O"],
        effects: &[],
        passes: Passes::Line { shell: Shell::Bash, flags: POSIX_SHELL, one_word: true, default: false },
        only_in: None,
    },
    Wrapper {
        names: &["fish"],
        slash: false,
        flags: &["l", "login", "i", "interactive", "n", "no-execute", "N", "no-config", "private", "P"],
        valued: &["init-command", "C", "features", "f", "debug", "d", "debug-output", "o"],
        effects: &[],
        passes: Passes::Line { shell: Shell::Fish, flags: &["c", "command"], one_word: true, default: false },
        only_in: None,
    },
    Wrapper {
        names: &["sudo"],
        slash: false,
        flags: &[
            "A", "askpass", "b", "background", "E", "preserve-env", "H", "set-home", "i", "login",
            "K", "remove-timestamp", "k", "reset-timestamp", "n", "non-interactive", "P",
            "preserve-groups", "S", "stdin", "s", "shell", "B", "bell", "N", "no-update", "e",
            "edit", "l", "list", "v", "validate", "V", "version",
        ],
        valued: &[
            "u", "user", "g", "group", "h", "host", "p", "prompt", "C", "close-from", "D",
            "chdir", "r", "role", "t", "type", "U", "other-user", "T", "command-timeout", "R",
            "chroot",
        ],
        effects: &[
            ("D", Effect::Chdir),
            ("chdir", Effect::Chdir),
            ("e", Effect::RunsNothing),
            ("edit", Effect::RunsNothing),
            ("l", Effect::RunsNothing),
            ("list", Effect::RunsNothing),
            ("v", Effect::RunsNothing),
            ("validate", Effect::RunsNothing),
            ("V", Effect::RunsNothing),
            ("version", Effect::RunsNothing),
        ],
        passes: Passes::Argv { skip: 0, assignments: true },
        only_in: None,
    },
    Wrapper {
        names: &["doas"],
        slash: false,
        flags: &["n", "s"],
        valued: &["u", "C"],
        effects: &[],
        passes: Passes::Argv { skip: 0, assignments: false },
        only_in: None,
    },
    Wrapper {
        names: &["env"],
        slash: false,
        flags: &["i", "ignore-environment", "0", "null", "v", "debug"],
        valued: &["u", "unset", "C", "chdir", "S", "split-string", "P"],
        effects: &[
            ("i", Effect::ClearEnv),
            ("ignore-environment", Effect::ClearEnv),
            ("u", Effect::Unset),
            ("unset", Effect::Unset),
            ("C", Effect::Chdir),
            ("chdir", Effect::Chdir),
            ("S", Effect::SplitString),
            ("split-string", Effect::SplitString),
        ],
        passes: Passes::Argv { skip: 0, assignments: true },
        only_in: None,
    },
    Wrapper {
        names: &["nohup", "setsid"],
        slash: false,
        flags: &["c", "ctty", "f", "fork", "w", "wait"],
        valued: &[],
        effects: &[],
        passes: Passes::Argv { skip: 0, assignments: false },
        only_in: None,
    },
    Wrapper {
        names: &["time"],
        slash: false,
        flags: &["p", "portability", "v", "verbose", "a", "append", "q", "quiet"],
        valued: &["f", "format", "o", "output"],
        effects: &[],
        passes: Passes::Argv { skip: 0, assignments: false },
        only_in: None,
    },
    Wrapper {
        names: &["nice"],
        slash: false,
        flags: &[],
        valued: &["n", "adjustment"],
        effects: &[],
        passes: Passes::Argv { skip: 0, assignments: false },
        only_in: None,
    },
    Wrapper {
        names: &["ionice"],
        slash: false,
        flags: &["t", "ignore"],
        valued: &["c", "class", "n", "classdata"],
        effects: &[],
        passes: Passes::Argv { skip: 0, assignments: false },
        only_in: None,
    },
    Wrapper {
        names: &["timeout"],
        slash: false,
        flags: &["preserve-status", "foreground", "v", "verbose"],
        valued: &["s", "signal", "k", "kill-after"],
        effects: &[],
        passes: Passes::Argv { skip: 1, assignments: false },
        only_in: None,
    },
    Wrapper {
        names: &["stdbuf"],
        slash: false,
        flags: &[],
        valued: &["i", "input", "o", "output", "e", "error"],
        effects: &[],
        passes: Passes::Argv { skip: 0, assignments: false },
        only_in: None,
    },
    Wrapper {
        names: &["exec"],
        slash: false,
        flags: &["c", "l"],
        valued: &["a"],
        effects: &[],
        passes: Passes::Argv { skip: 0, assignments: false },
        only_in: None,
    },
    Wrapper {
        names: &["command", "builtin"],
        slash: false,
        flags: &["p", "v", "V"],
        valued: &[],
        effects: &[("v", Effect::RunsNothing), ("V", Effect::RunsNothing)],
        passes: Passes::Argv { skip: 0, assignments: false },
        only_in: None,
    },
    Wrapper {
        names: &["xargs", "parallel", "find", "watch", "at", "schtasks", "wmic"],
        slash: false,
        flags: &[],
        valued: &[],
        effects: &[],
        passes: Passes::Opaque(
            "runs commands it builds from its input or schedules later: only the programs named on the line itself are checked",
        ),
        only_in: None,
    },
    Wrapper {
        names: &["ssh", "psexec", "psexec64", "winrs"],
        slash: false,
        flags: &[],
        valued: &[],
        effects: &[],
        passes: Passes::Opaque(
            "runs its command on another host: check it there, with that host's facts",
        ),
        only_in: None,
    },
];

/// The wrapper `program` (normalised) names in `shell` (`None`: an argv, no shell).
pub fn wrapper(program: &str, shell: Option<Shell>) -> Option<&'static Wrapper> {
    WRAPPERS.iter().find(|w| {
        w.names.contains(&program)
            && w.only_in.is_none_or(|shells| shell.is_none_or(|s| shells.contains(&s)))
            // In an argv (no shell), `start` is cmd's.
            && !(shell.is_none() && w.passes == Passes::StartProcess && program == "start")
    })
}

/// An option of `w`, as written (`/WAIT`, `-u`, `--user=root`): its name as the table spells
/// it, and its value when glued to it.
pub fn option<'a>(w: &Wrapper, word: &'a str) -> Option<(&'static str, Option<&'a str>)> {
    let body = if w.slash {
        word.strip_prefix('/').or_else(|| word.strip_prefix('-'))?
    } else {
        let body = word.strip_prefix("--").or_else(|| word.strip_prefix('-'))?;
        body
    };
    if body.is_empty() {
        return None;
    }
    let (name, glued) = match body.find(['=', ':']) {
        Some(at) => (&body[..at], Some(&body[at + 1..])),
        None => (body, None),
    };
    let find = |list: &[&'static str]| -> Option<&'static str> {
        list.iter().copied().find(|o| {
            if w.slash || w.names.contains(&"powershell") {
                o.eq_ignore_ascii_case(name)
            } else {
                *o == name
            }
        })
    };
    if let Some(o) = find(w.flags).or_else(|| find(w.valued)) {
        return Some((o, glued));
    }
    // One-letter POSIX options with the value glued on (`-uroot`, `-n10`).
    if !w.slash && !word.starts_with("--") && name.len() > 1 {
        let (first, rest) = name.split_at(name.chars().next().map_or(0, char::len_utf8));
        if let Some(o) = w.valued.iter().copied().find(|o| *o == first) {
            return Some((o, Some(rest)));
        }
    }
    None
}

/// Whether `o` takes a value.
pub fn takes_value(w: &Wrapper, o: &str) -> bool {
    w.valued.contains(&o)
}

/// What option `o` does besides being skipped.
pub fn effect(w: &Wrapper, o: &str) -> Option<Effect> {
    w.effects
        .iter()
        .find(|(name, _)| *name == o)
        .map(|(_, e)| *e)
}

/// Decodes `powershell -EncodedCommand`'s base64 of UTF-16LE text; `None` when it is not.
pub fn decode_encoded_command(text: &str) -> Option<String> {
    let mut bits = 0u32;
    let mut nbits = 0u32;
    let mut bytes = Vec::new();
    for c in text.trim_end_matches('=').chars() {
        let v = match c {
            'A'..='Z' => c as u32 - 'A' as u32,
            'a'..='z' => c as u32 - 'a' as u32 + 26,
            '0'..='9' => c as u32 - '0' as u32 + 52,
            '+' => 62,
            '/' => 63,
            _ => return None,
        };
        bits = (bits << 6) | v;
        nbits += 6;
        if nbits >= 8 {
            nbits -= 8;
            bytes.push(u8::try_from((bits >> nbits) & 0xff).ok()?);
        }
    }
    let units: Vec<u16> = bytes
        .chunks(2)
        .map(|c| u16::from_le_bytes([c[0], c.get(1).copied().unwrap_or(0)]))
        .collect();
    String::from_utf16(&units).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_are_read_as_each_wrapper_spells_them() {
        let cmd = wrapper("cmd", None).unwrap();
        assert_eq!(option(cmd, "/Q"), Some(("q", None)));
        assert_eq!(option(cmd, "/v:on"), Some(("v", Some("on"))));
        let sudo = wrapper("sudo", Some(Shell::Bash)).unwrap();
        assert_eq!(option(sudo, "-uroot"), Some(("u", Some("root"))));
        assert_eq!(option(sudo, "--user=root"), Some(("user", Some("root"))));
        assert_eq!(option(sudo, "isinteg"), None);
        let ps = wrapper("powershell", None).unwrap();
        assert_eq!(option(ps, "-NoProfile"), Some(("noprofile", None)));
    }

    #[test]
    fn start_is_cmds_in_cmd_and_start_process_in_powershell() {
        assert_eq!(
            wrapper("start", Some(Shell::Cmd)).unwrap().passes,
            Passes::Start
        );
        assert_eq!(wrapper("start", None).unwrap().passes, Passes::Start);
        assert_eq!(
            wrapper("start", Some(Shell::PowerShell)).unwrap().passes,
            Passes::StartProcess
        );
        assert!(wrapper("start", Some(Shell::Bash)).is_none());
    }

    #[test]
    fn encoded_commands_decode() {
        // "isinteg -patch" in UTF-16LE, base64.
        assert_eq!(
            decode_encoded_command("aQBzAGkAbgB0AGUAZwAgAC0AcABhAHQAYwBoAA==").as_deref(),
            Some("isinteg -patch")
        );
        assert_eq!(decode_encoded_command("not base64!"), None);
    }
}
