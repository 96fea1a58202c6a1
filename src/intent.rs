//! Commands and intents: normalising a command line and matching it against a rule's intent.
//!
//! `isinteg -patch` and `C:\exchsrvr\bin\ISINTEG.EXE /Patch` are the same command: the program is
//! compared without directory, case or `.exe/.com/.bat/.cmd`, and flags with `-`, `--` and `/`
//! equivalent, case-insensitively, up to a `:` or `=` that starts a flag's value.

use crate::model::Intent;

/// Extensions Windows runs a program by, stripped before comparing program names.
const PROGRAM_EXTENSIONS: &[&str] = &[".exe", ".com", ".bat", ".cmd"];

/// A command line split into what rules match on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Command {
    /// The command as given.
    pub argv: Vec<String>,
    /// The program's normalised name.
    pub program: String,
    /// Normalised flag names, in order.
    pub flags: Vec<String>,
    /// Positional arguments, as given.
    pub positionals: Vec<String>,
}

impl Command {
    /// Splits a command line; `None` when it is empty.
    pub fn parse(argv: &[String]) -> Option<Command> {
        let (program, args) = argv.split_first()?;
        let mut flags = Vec::new();
        let mut positionals = Vec::new();
        for arg in args {
            match normalize_flag(arg) {
                Some(flag) => flags.push(flag),
                None => positionals.push(arg.clone()),
            }
        }
        Some(Command {
            argv: argv.to_vec(),
            program: normalize_program(program),
            flags,
            positionals,
        })
    }
}

/// The program name without directory, case or Windows executable extension.
pub fn normalize_program(program: &str) -> String {
    let base = program.rsplit(['/', '\\']).next().unwrap_or(program);
    let lower = base.to_ascii_lowercase();
    PROGRAM_EXTENSIONS
        .iter()
        .find_map(|ext| lower.strip_suffix(ext).filter(|s| !s.is_empty()))
        .map_or_else(|| lower.clone(), str::to_string)
}

/// The flag's normalised name, or `None` when the argument is not a flag.
///
/// A flag starts with `-`, `--` or `/`; `/var/db/x` and `/` alone are paths, and `-` alone and
/// negative numbers are positional.
pub fn normalize_flag(arg: &str) -> Option<String> {
    if !arg.starts_with(['-', '/']) {
        return None;
    }
    if arg.starts_with('/') && arg[1..].contains(['/', '\\']) {
        return None;
    }
    let body = arg.trim_start_matches(['-', '/']);
    let name = body.split([':', '=']).next().unwrap_or(body);
    if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    Some(name.to_ascii_lowercase())
}

/// How a command relates to an intent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IntentMatch {
    /// The command is the one the intent describes; `bindings` are (fact suffix, argument).
    Matches {
        /// Positional arguments bound to `command.<name>` facts.
        bindings: Vec<(String, String)>,
    },
    /// It is not, and why.
    Differs(String),
}

/// A command's arguments as one intent reads them: its value options are taken out before the
/// rest is split into flags and positionals, so `/tD:\x.edb` is the option `t`, not a path.
struct IntentView<'c> {
    flags: Vec<String>,
    positionals: Vec<&'c str>,
    bindings: Vec<(String, String)>,
}

impl<'c> IntentView<'c> {
    fn new(intent: &Intent, command: &'c Command) -> IntentView<'c> {
        let mut options: Vec<(String, Option<&String>)> = intent
            .options
            .iter()
            .filter_map(|o| Some((normalize_flag(&o.flag)?, o.bind.as_ref())))
            .collect();
        // Longest name first, so an option `ts` is not read as `t` with value `s...`.
        options.sort_by_key(|(name, _)| std::cmp::Reverse(name.len()));
        let mut view = IntentView {
            flags: Vec::new(),
            positionals: Vec::new(),
            bindings: Vec::new(),
        };
        for arg in command.argv.iter().skip(1) {
            if let Some((name, bind, value)) = options
                .iter()
                .find_map(|(name, bind)| Some((name, bind, option_value(arg, name)?)))
            {
                view.flags.push(name.clone());
                if let (Some(bind), false) = (bind, value.is_empty()) {
                    view.bindings.push(((*bind).clone(), value.to_string()));
                }
            } else if let Some(flag) = normalize_flag(arg) {
                view.flags.push(flag);
            } else {
                view.positionals.push(arg);
            }
        }
        view
    }

    fn has_flag(&self, flag: &str) -> bool {
        let wanted = normalize_flag(flag).unwrap_or_else(|| flag.to_ascii_lowercase());
        self.flags.contains(&wanted)
    }
}

/// The value of option `name` (normalised) in `arg`, glued on or after `:` / `=`; `None` when
/// `arg` is not that option.
pub fn option_value<'a>(arg: &'a str, name: &str) -> Option<&'a str> {
    if !arg.starts_with(['-', '/']) {
        return None;
    }
    let body = arg.trim_start_matches(['-', '/']);
    let head = body.get(..name.len())?;
    if name.is_empty() || !head.eq_ignore_ascii_case(name) {
        return None;
    }
    let rest = &body[name.len()..];
    Some(rest.strip_prefix([':', '=']).unwrap_or(rest))
}

/// Matches a command against an intent.
pub fn match_intent(intent: &Intent, command: &Command) -> IntentMatch {
    let program = normalize_program(&intent.program);
    if command.program != program {
        return IntentMatch::Differs(format!("the program is not {}", intent.program));
    }
    let view = IntentView::new(intent, command);
    if let Some(missing) = intent.flags.iter().find(|f| !view.has_flag(f)) {
        return IntentMatch::Differs(format!("flag {missing} is not given"));
    }
    if let Some(present) = intent.forbidden.iter().find(|f| view.has_flag(f)) {
        return IntentMatch::Differs(format!("flag {present} is given"));
    }
    let mut bindings = view.bindings;
    for pattern in &intent.args {
        match view
            .positionals
            .iter()
            .find(|arg| glob_matches(&pattern.pattern, arg))
        {
            Some(arg) => {
                if let Some(bind) = &pattern.bind {
                    bindings.push((bind.clone(), arg.to_string()));
                }
            }
            None => {
                return IntentMatch::Differs(format!("no argument matches {}", pattern.pattern))
            }
        }
    }
    IntentMatch::Matches { bindings }
}

/// Case-insensitive glob: `*` any run of characters, `?` one character.
pub fn glob_matches(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.to_lowercase().chars().collect();
    let t: Vec<char> = text.to_lowercase().chars().collect();
    // Iterative matcher with one backtrack point: linear in practice, never exponential.
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ArgPattern;

    fn cmd(s: &str) -> Command {
        Command::parse(&s.split(' ').map(String::from).collect::<Vec<_>>()).unwrap()
    }

    fn intent(program: &str, flags: &[&str], forbidden: &[&str]) -> Intent {
        Intent {
            program: program.into(),
            flags: flags.iter().map(|s| s.to_string()).collect(),
            forbidden: forbidden.iter().map(|s| s.to_string()).collect(),
            args: vec![],
            options: vec![],
        }
    }

    #[test]
    fn value_options_are_flags_with_their_value_bound() {
        let mut i = intent("eseutil", &["/d", "/t"], &[]);
        i.options = vec![crate::model::ValueOption {
            flag: "/t".into(),
            bind: Some("tempdb".into()),
        }];
        let bound_by = |i: &Intent, c: &str| match match_intent(i, &cmd(c)) {
            IntentMatch::Matches { bindings } => Some(bindings),
            IntentMatch::Differs(_) => None,
        };
        let bound = |c: &str| bound_by(&i, c);
        let one = |v: &str| Some(vec![("tempdb".to_string(), v.to_string())]);
        assert_eq!(
            bound("eseutil /d priv.edb /tD:\\tmp.edb"),
            one("D:\\tmp.edb")
        );
        assert_eq!(
            bound("ESEUTIL /D priv.edb -T:\\\\srv\\x.edb"),
            one("\\\\srv\\x.edb")
        );
        assert_eq!(bound("eseutil /d priv.edb /t=tmp.edb"), one("tmp.edb"));
        assert_eq!(bound("eseutil /d priv.edb /t"), Some(vec![]));
        assert_eq!(bound("eseutil /d priv.edb"), None);
        // Without the option declared, `/tD:\x` is a path, as before.
        let plain = intent("eseutil", &["/d"], &["/t"]);
        assert!(bound_by(&plain, "eseutil /d /tD:\\x.edb").is_some());
        assert_eq!(option_value("/ispriv", "ispriv"), Some(""));
        assert_eq!(option_value("priv.edb", "t"), None);
        assert_eq!(option_value("/é", "t"), None);
    }

    #[test]
    fn program_and_flag_spellings_are_equivalent() {
        let i = intent("isinteg", &["-patch"], &[]);
        for c in [
            "isinteg -patch",
            "ISINTEG.EXE /PATCH",
            "C:\\exchsrvr\\bin\\IsInteg.exe /Patch",
            "/usr/bin/isinteg --patch",
        ] {
            assert!(
                matches!(match_intent(&i, &cmd(c)), IntentMatch::Matches { .. }),
                "{c}"
            );
        }
        assert!(matches!(
            match_intent(&i, &cmd("isinteg -fix")),
            IntentMatch::Differs(_)
        ));
        assert!(matches!(
            match_intent(&i, &cmd("eseutil -patch")),
            IntentMatch::Differs(_)
        ));
    }

    #[test]
    fn flags_values_and_paths() {
        assert_eq!(normalize_flag("/d:priv.edb"), Some("d".into()));
        assert_eq!(normalize_flag("-t=x"), Some("t".into()));
        assert_eq!(normalize_flag("/var/db"), None);
        assert_eq!(normalize_flag("-1"), None);
        assert_eq!(normalize_flag("-"), None);
        assert_eq!(normalize_program("setup.exe"), "setup");
        assert_eq!(normalize_program(".exe"), ".exe");
    }

    #[test]
    fn forbidden_flags_and_positional_bindings() {
        let mut i = intent("eseutil", &["/d"], &["/p"]);
        assert!(matches!(
            match_intent(&i, &cmd("eseutil /d /p")),
            IntentMatch::Differs(_)
        ));
        i.args.push(ArgPattern {
            pattern: "*.EDB".into(),
            bind: Some("database".into()),
        });
        assert_eq!(
            match_intent(&i, &cmd("eseutil /d c:\\mdbdata\\priv.edb")),
            IntentMatch::Matches {
                bindings: vec![("database".into(), "c:\\mdbdata\\priv.edb".into())]
            }
        );
        assert!(matches!(
            match_intent(&i, &cmd("eseutil /d")),
            IntentMatch::Differs(_)
        ));
    }

    #[test]
    fn globs() {
        assert!(glob_matches("*.edb", "PRIV.EDB"));
        assert!(glob_matches("p?iv*", "priv.edb"));
        assert!(!glob_matches("*.edb", "priv.stm"));
        assert!(glob_matches("*", ""));
        assert!(!glob_matches(&"*a".repeat(50), &"a".repeat(40)));
    }
}
