//! What a command line really runs: wrappers seen through, environment assignments and `cd`
//! followed, whole lines split into their commands.
//!
//! `cmd /c isinteg -patch`, `sudo isinteg -patch` and `env X=1 isinteg -patch` run `isinteg`;
//! `set X=1 && isinteg -patch` runs it with `X` set; `cd /d C:\exchsrvr\bin && isinteg -patch`
//! runs it in that folder. Planning turns an argv or a line into [`Planned`] commands, each the
//! program that really runs with what the line did to its environment and folder; the check
//! then evaluates each one. Nothing here runs anything: it only reads text.

mod split;
pub mod wrappers;

use serde::Serialize;

pub use split::{split, Simple, Word};
use wrappers::{Effect, Passes, Wrapper};

use crate::intent::normalize_program;

/// Wrappers nested deeper than this are refused (exit 2) rather than followed.
const MAX_WRAPPERS: usize = 16;

/// The syntax a line is written in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Shell {
    /// POSIX sh (and dash, ksh).
    Sh,
    /// bash.
    Bash,
    /// zsh.
    Zsh,
    /// fish.
    Fish,
    /// Windows `cmd.exe`.
    Cmd,
    /// Windows PowerShell and PowerShell 7.
    PowerShell,
}

impl Shell {
    /// Every shell, in the order `--shell` lists them.
    pub const ALL: [Shell; 6] = [
        Shell::Sh,
        Shell::Bash,
        Shell::Zsh,
        Shell::Fish,
        Shell::Cmd,
        Shell::PowerShell,
    ];

    /// The shell's name as `--shell` takes it.
    pub fn name(self) -> &'static str {
        match self {
            Shell::Sh => "sh",
            Shell::Bash => "bash",
            Shell::Zsh => "zsh",
            Shell::Fish => "fish",
            Shell::Cmd => "cmd",
            Shell::PowerShell => "powershell",
        }
    }

    /// The shell a program name (`bash`, `/bin/zsh`, `pwsh.exe`) is, if kbguard knows it.
    pub fn from_program(program: &str) -> Option<Shell> {
        match normalize_program(program).as_str() {
            "sh" | "dash" | "ksh" => Some(Shell::Sh),
            "bash" => Some(Shell::Bash),
            "zsh" => Some(Shell::Zsh),
            "fish" => Some(Shell::Fish),
            "cmd" => Some(Shell::Cmd),
            "powershell" | "pwsh" => Some(Shell::PowerShell),
            _ => None,
        }
    }

    /// The shell a line is most likely written in here: cmd on Windows, else `$SHELL`'s, else sh.
    pub fn default_for_platform() -> Shell {
        if cfg!(windows) {
            return Shell::Cmd;
        }
        std::env::var("SHELL")
            .ok()
            .and_then(|s| Shell::from_program(&s))
            .unwrap_or(Shell::Sh)
    }

    fn posix(self) -> bool {
        matches!(self, Shell::Sh | Shell::Bash | Shell::Zsh)
    }
}

/// A line that cannot be read: where, and why.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message} (at byte {offset})")]
pub struct LineError {
    /// Byte offset in the line.
    pub offset: usize,
    /// What is wrong.
    pub message: String,
}

/// A change the line makes to a command's environment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct EnvChange {
    /// The variable.
    pub name: String,
    /// Its new value; `None` removes it.
    pub value: Option<String>,
}

/// One command the line runs, as the rules should see it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Planned {
    /// The command as written on the line (or the argv, joined).
    pub text: String,
    /// The program that really runs, with its arguments.
    pub argv: Vec<String>,
    /// The wrappers seen through to reach it, outermost first (`cmd /c`, `start /wait`).
    pub unwrapped: Vec<String>,
    /// Whether the command starts with an empty environment (`env -i`).
    pub clear_env: bool,
    /// What the line did to its environment, in order.
    pub env: Vec<EnvChange>,
    /// The folders the line changed to before it (`cd`, `start /d`, `env -C`), in order;
    /// relative ones are resolved against the folder before.
    pub cd: Vec<String>,
    /// What kbguard could not follow (e.g. `xargs`), to say beside the findings.
    pub notes: Vec<String>,
}

/// Plans a command given as an argv (`kbguard check -- ...`): no shell reads it, so its words
/// are taken as they are; leading `NAME=VALUE` words are assignments, as `env` takes them.
pub fn plan_argv(argv: &[String]) -> Result<Vec<Planned>, LineError> {
    let words: Vec<Word> = argv
        .iter()
        .map(|a| Word {
            text: a.clone(),
            // A shell removed the quotes; a word it kept whole was quoted.
            quoted: a.is_empty() || a.contains(char::is_whitespace),
        })
        .collect();
    let mut out = Vec::new();
    let mut ctx = Planned {
        text: argv.join(" "),
        ..Planned::default()
    };
    statement(&words, None, &mut ctx, &mut out, 0)?;
    Ok(out)
}

/// Plans a whole line written for `shell`: each command it runs, in order.
pub fn plan_line(line: &str, shell: Shell) -> Result<Vec<Planned>, LineError> {
    let mut out = Vec::new();
    let mut ctx = Planned::default();
    plan_into(line, shell, &mut ctx, &mut out, 0)?;
    Ok(out)
}

fn plan_into(
    line: &str,
    shell: Shell,
    ctx: &mut Planned,
    out: &mut Vec<Planned>,
    depth: usize,
) -> Result<(), LineError> {
    for simple in split(line, shell)? {
        ctx.text.clone_from(&simple.raw);
        statement(&simple.words, Some(shell), ctx, out, depth)?;
    }
    Ok(())
}

/// Words that start a compound command or negate one rather than name a program.
fn is_keyword(word: &Word, shell: Option<Shell>) -> bool {
    if word.quoted {
        return false;
    }
    let w = word.text.as_str();
    match shell {
        Some(s) if s.posix() => matches!(
            w,
            "if" | "then"
                | "else"
                | "elif"
                | "fi"
                | "do"
                | "done"
                | "while"
                | "until"
                | "!"
                | "{"
                | "}"
        ),
        Some(Shell::Fish) => matches!(
            w,
            "and" | "or" | "not" | "begin" | "end" | "if" | "else" | "while" | "!"
        ),
        _ => false,
    }
}

/// One simple command of a line: shell built-ins that change what later commands see (`cd`,
/// `export`, `set`, `$env:`) update `ctx`; any other command is unwrapped and planned.
fn statement(
    words: &[Word],
    shell: Option<Shell>,
    ctx: &mut Planned,
    out: &mut Vec<Planned>,
    depth: usize,
) -> Result<(), LineError> {
    let start = words.iter().take_while(|w| is_keyword(w, shell)).count();
    let mut words: Vec<Word> = words[start..].to_vec();
    if let (Some(Shell::Cmd) | None, Some(first)) = (shell, words.first_mut()) {
        // `@` only hides the command's echo.
        if let Some(rest) = first.text.strip_prefix('@') {
            first.text = rest.to_string();
        }
    }
    if words.is_empty() {
        return Ok(());
    }
    if let Some(shell) = shell {
        if builtin(&words, shell, ctx) {
            return Ok(());
        }
    }
    let mut local = ctx.clone();
    if shell.is_none_or(Shell::posix) {
        // `NAME=VALUE cmd`: the assignments are for this command only.
        let n = words
            .iter()
            .take_while(|w| assignment(&w.text).is_some())
            .count();
        if n == words.len() {
            // Only assignments: shell variables, not passed to any program.
            return Ok(());
        }
        for w in &words[..n] {
            if let Some((name, value)) = assignment(&w.text) {
                local.env.push(EnvChange {
                    name: name.into(),
                    value: Some(value.into()),
                });
            }
        }
        words.drain(..n);
    }
    unwrap(words, shell, local, out, depth)
}

/// The leading `NAME=VALUE` words of an argv, and the command after them.
pub fn split_assignments(argv: &[String]) -> (Vec<(String, String)>, &[String]) {
    let n = argv.iter().take_while(|a| assignment(a).is_some()).count();
    let pairs = argv[..n]
        .iter()
        .filter_map(|a| assignment(a))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    (pairs, &argv[n..])
}

/// `NAME=VALUE` with a valid variable name.
fn assignment(word: &str) -> Option<(&str, &str)> {
    let (name, value) = word.split_once('=')?;
    let valid = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    valid.then_some((name, value))
}

/// Shell built-ins that change the folder or environment for the rest of the line; true when
/// `words` was one.
fn builtin(words: &[Word], shell: Shell, ctx: &mut Planned) -> bool {
    let name = words[0].text.to_ascii_lowercase();
    let args = &words[1..];
    let is_cd = matches!(name.as_str(), "cd" | "chdir" | "pushd")
        || (shell == Shell::PowerShell
            && matches!(name.as_str(), "set-location" | "sl" | "push-location"));
    if is_cd {
        let target = args.iter().map(|w| w.text.as_str()).find(|a| {
            let lower = a.to_ascii_lowercase();
            !(shell == Shell::Cmd && lower == "/d"
                || shell == Shell::PowerShell && (lower == "-path" || lower == "-literalpath")
                || shell != Shell::Cmd
                    && shell != Shell::PowerShell
                    && (lower == "-p" || lower == "-l" || lower == "-e"))
        });
        // `cd` alone goes home (POSIX) or prints the folder (cmd): unknown either way.
        ctx.cd.push(target.unwrap_or("~").to_string());
        return true;
    }
    match shell {
        Shell::Sh | Shell::Bash | Shell::Zsh => match name.as_str() {
            "export" => {
                for w in args {
                    if let Some((n, v)) = assignment(&w.text) {
                        ctx.env.push(EnvChange {
                            name: n.into(),
                            value: Some(v.into()),
                        });
                    }
                }
                true
            }
            "unset" => {
                for w in args.iter().filter(|w| !w.text.starts_with('-')) {
                    ctx.env.push(EnvChange {
                        name: w.text.clone(),
                        value: None,
                    });
                }
                true
            }
            _ => false,
        },
        Shell::Fish => name == "set" && fish_set(args, ctx),
        Shell::Cmd => {
            if name != "set" {
                return matches!(name.as_str(), "setlocal" | "endlocal" | "rem");
            }
            // The value is the rest of the command as written, after `=`: rebuilt from the
            // raw text so spaces inside it survive. cmd keeps trailing spaces before `&&` in
            // the value; kbguard trims them, as the person typing meant.
            let raw = ctx.text.trim_start();
            let body = raw.get(3..).unwrap_or("").trim_start();
            if body.starts_with('/') {
                return true;
            }
            let body = body
                .strip_prefix('"')
                .map_or(body, |b| b.rsplit_once('"').map_or(b, |(inside, _)| inside));
            if let Some((n, v)) = body.split_once('=') {
                let v = v.trim_end();
                ctx.env.push(EnvChange {
                    name: n.trim().to_string(),
                    value: (!v.is_empty()).then(|| v.to_string()),
                });
            }
            true
        }
        Shell::PowerShell => powershell_env(words, ctx),
    }
}

/// fish's `set -x VAR V` / `set -e VAR` (other `set`s change no environment).
fn fish_set(args: &[Word], ctx: &mut Planned) -> bool {
    let opts: Vec<&str> = args
        .iter()
        .map(|w| w.text.as_str())
        .take_while(|a| a.starts_with('-'))
        .collect();
    let rest = &args[opts.len()..];
    let has = |short: char, long: &str| {
        opts.iter()
            .any(|o| *o == long || (!o.starts_with("--") && o.contains(short)))
    };
    if let Some(var) = rest.first() {
        if has('e', "--erase") {
            ctx.env.push(EnvChange {
                name: var.text.clone(),
                value: None,
            });
        } else if has('x', "--export") {
            let value: Vec<&str> = rest[1..].iter().map(|w| w.text.as_str()).collect();
            ctx.env.push(EnvChange {
                name: var.text.clone(),
                value: Some(value.join(" ")),
            });
        }
    }
    true
}

/// PowerShell's `$env:X = 'V'` and `Remove-Item env:X`.
fn powershell_env(words: &[Word], ctx: &mut Planned) -> bool {
    let args = &words[1..];
    let lower = words[0].text.to_ascii_lowercase();
    if let Some(rest) = lower.strip_prefix("$env:") {
        // `$env:X='V'` (one word) or `$env:X = 'V'`.
        let original = &words[0].text[5..];
        let (var, value) = match rest.split_once('=') {
            Some(_) => {
                let (v, val) = original.split_once('=').unwrap_or((original, ""));
                (
                    v.to_string(),
                    Some(val.to_string())
                        .filter(|s| !s.is_empty())
                        .or_else(|| args.first().map(|w| w.text.clone())),
                )
            }
            None => {
                let value = match args.first().map(|w| w.text.as_str()) {
                    Some("=") => args.get(1).map(|w| w.text.clone()),
                    Some(v) => v.strip_prefix('=').map(str::to_string),
                    None => None,
                };
                (original.to_string(), value)
            }
        };
        let value = value.filter(|v| v != "$null" && !v.is_empty());
        ctx.env.push(EnvChange { name: var, value });
        return true;
    }
    if matches!(lower.as_str(), "remove-item" | "rm" | "del" | "ri") {
        if let Some(var) = args.iter().find_map(|w| {
            let t = w.text.as_str();
            t.get(..4)
                .filter(|p| p.eq_ignore_ascii_case("env:"))
                .map(|_| &t[4..])
        }) {
            ctx.env.push(EnvChange {
                name: var.to_string(),
                value: None,
            });
            return true;
        }
    }
    false
}

/// Sees through wrappers until the program that runs, and plans it (or, for a wrapper that
/// takes a command line, each command of that line).
fn unwrap(
    mut words: Vec<Word>,
    mut shell: Option<Shell>,
    mut local: Planned,
    out: &mut Vec<Planned>,
    depth: usize,
) -> Result<(), LineError> {
    for _ in 0..MAX_WRAPPERS {
        let Some(first) = words.first() else {
            return Ok(());
        };
        let program = normalize_program(&first.text);
        let Some(w) = wrappers::wrapper(&program, shell) else {
            local.argv = words.into_iter().map(|w| w.text).collect();
            out.push(local);
            return Ok(());
        };
        match step(w, &words, &mut local)? {
            Next::Argv(rest) => {
                // The wrapper hands on words, not a line: no shell reads them any more.
                words = rest;
                shell = None;
            }
            Next::Line(text, inner) => {
                if depth >= MAX_WRAPPERS {
                    break;
                }
                return plan_into(&text, inner, &mut local, out, depth + 1);
            }
            Next::Stop => {
                local.argv = words.into_iter().map(|w| w.text).collect();
                out.push(local);
                return Ok(());
            }
            Next::Nothing => return Ok(()),
        }
    }
    Err(LineError {
        offset: 0,
        message: format!("wrappers nested more than {MAX_WRAPPERS} deep"),
    })
}

/// What follows a wrapper.
enum Next {
    /// These words: the command it runs.
    Argv(Vec<Word>),
    /// A command line for this shell.
    Line(String, Shell),
    /// The wrapper itself is the command (it runs something kbguard does not follow).
    Stop,
    /// It runs nothing (`sudo -l`, `command -v x`).
    Nothing,
}

/// Reads one wrapper's options and says what it runs.
fn step(w: &Wrapper, words: &[Word], local: &mut Planned) -> Result<Next, LineError> {
    let program = normalize_program(&words[0].text);
    if let Passes::Opaque(note) = w.passes {
        local.notes.push(format!("{program}: {note}"));
        return Ok(Next::Stop);
    }
    if w.passes == Passes::StartProcess {
        return Ok(start_process(words, local));
    }
    // cmd's `start` takes its title first: `start "title" /wait isinteg -patch`.
    let title_first =
        w.passes == Passes::Start && words.get(1).is_some_and(|w| w.quoted) && words.len() > 2;
    let mut i = 1 + usize::from(title_first);
    let mut line_at: Option<(usize, Option<String>)> = None;
    let mut runs_nothing = false;
    while let Some(word) = words.get(i) {
        let text = word.text.as_str();
        if !w.slash && text == "--" {
            i += 1;
            break;
        }
        if let Passes::Line { flags, .. } = w.passes {
            if let Some(rest) = line_flag(w, flags, text) {
                line_at = Some((i + 1, rest));
                break;
            }
        }
        if program == "env" && text == "-" {
            local.clear_env = true;
            local.env.clear();
            i += 1;
            continue;
        }
        let Some((o, glued)) = wrappers::option(w, text) else {
            // `nice -10`: a number as an option.
            if program == "nice"
                && text.len() > 1
                && text.starts_with('-')
                && text[1..].chars().all(|c| c.is_ascii_digit())
            {
                i += 1;
                continue;
            }
            break;
        };
        let value = if wrappers::takes_value(w, o) && glued.is_none() {
            i += 1;
            words.get(i).map(|w| w.text.clone())
        } else {
            glued.map(str::to_string)
        };
        i += 1;
        match (wrappers::effect(w, o), value) {
            (Some(Effect::ClearEnv), _) => {
                local.clear_env = true;
                local.env.clear();
            }
            (Some(Effect::Unset), Some(v)) => local.env.push(EnvChange {
                name: v,
                value: None,
            }),
            (Some(Effect::Chdir), Some(v)) => local.cd.push(v),
            (Some(Effect::RunsNothing), _) => runs_nothing = true,
            (Some(Effect::Encoded), Some(v)) => {
                local.unwrapped.push(describe(&words[..i]));
                return Ok(match wrappers::decode_encoded_command(&v) {
                    Some(text) => Next::Line(text, Shell::PowerShell),
                    None => {
                        local.notes.push(format!(
                            "{program}: an encoded command that is not base64 of UTF-16 text"
                        ));
                        Next::Stop
                    }
                });
            }
            (Some(Effect::SplitString), Some(v)) => {
                let mut rest: Vec<Word> = split(&v, Shell::Sh)?
                    .into_iter()
                    .flat_map(|s| s.words)
                    .collect();
                rest.extend(words[i..].iter().cloned());
                local.unwrapped.push(describe(&words[..i]));
                return Ok(Next::Argv(rest));
            }
            _ => {}
        }
    }
    // An option whose value is missing (`start /d` at the end) counted a word past the last.
    i = i.min(words.len());
    if runs_nothing {
        return Ok(Next::Nothing);
    }
    follow(w, words, i, title_first, line_at, local)
}

/// Where the wrapped command starts once a wrapper's options end at word `i`: the rest of the
/// argv, a title skipped (`start`), or a line to split in the wrapper's shell.
fn follow(
    w: &Wrapper,
    words: &[Word],
    mut i: usize,
    title_first: bool,
    line_at: Option<(usize, Option<String>)>,
    local: &mut Planned,
) -> Result<Next, LineError> {
    match w.passes {
        Passes::Argv { skip, assignments } => {
            i = (i + skip).min(words.len());
            if assignments {
                while let Some((name, value)) = words.get(i).and_then(|w| assignment(&w.text)) {
                    local.env.push(EnvChange {
                        name: name.into(),
                        value: Some(value.into()),
                    });
                    i += 1;
                }
            }
            local.unwrapped.push(describe(&words[..i]));
            Ok(Next::Argv(words[i..].to_vec()))
        }
        Passes::Start => {
            // A quoted word after the switches is taken as the title too, when a command
            // follows it.
            if !title_first && words.get(i).is_some_and(|w| w.quoted) && words.len() > i + 1 {
                i += 1;
            }
            local.unwrapped.push(describe(&words[..i]));
            Ok(Next::Argv(words[i..].to_vec()))
        }
        Passes::Line {
            shell: inner,
            one_word,
            default,
            ..
        } => {
            let (at, glued) = match line_at {
                Some(found) => found,
                None if default && i < words.len() => (i, None),
                None => return Ok(Next::Stop),
            };
            local
                .unwrapped
                .push(describe(&words[..at.min(words.len())]));
            let rest = if one_word {
                &words[at.min(words.len())..(at + 1).min(words.len())]
            } else {
                &words[at.min(words.len())..]
            };
            let mut text = glued.unwrap_or_default();
            for w in rest {
                if !text.is_empty() {
                    text.push(' ');
                }
                text.push_str(&requote(w, inner, rest.len()));
            }
            Ok(Next::Line(text, inner))
        }
        Passes::OneString => match words.get(i) {
            Some(line) => {
                local.unwrapped.push(describe(&words[..i]));
                Ok(Next::Argv(windows_words(&line.text)))
            }
            None => Ok(Next::Stop),
        },
        Passes::StartProcess | Passes::Opaque(_) => Ok(Next::Stop),
    }
}

/// Whether `text` is one of a `Line` wrapper's flags (`/c`, `-Command`); `Some(rest)` with the
/// part of a cmd-style word glued after the flag (`/cisinteg` → `isinteg`).
fn line_flag(w: &Wrapper, flags: &[&str], text: &str) -> Option<Option<String>> {
    if let Some((o, glued)) = wrappers::option(w, text) {
        return flags.contains(&o).then(|| glued.map(str::to_string));
    }
    let body = text.strip_prefix(if w.slash { '/' } else { '-' })?;
    let lower = body.to_ascii_lowercase();
    if w.slash {
        // cmd reads `/c` followed directly by the command.
        return flags.iter().find(|f| lower.starts_with(**f)).map(|f| {
            let rest = &body[f.len()..];
            (!rest.is_empty()).then(|| rest.to_string())
        });
    }
    if flags.contains(&lower.as_str()) {
        return Some(None);
    }
    // Grouped one-letter flags ending the group with the line flag: bash's `-lc`, `-ec`.
    let single = !text.starts_with("--") && lower.len() > 1;
    let all_flags = lower.chars().all(|c| {
        let mut buf = [0u8; 4];
        let c = &*c.encode_utf8(&mut buf);
        flags.contains(&c) || w.flags.contains(&c)
    });
    let ends_in_line_flag = lower
        .chars()
        .last()
        .is_some_and(|c| flags.iter().any(|f| f.len() == 1 && f.starts_with(c)));
    (single && all_flags && ends_in_line_flag).then_some(None)
}

/// A word put back into a command line for `shell`, quoted when it has to be.
fn requote(word: &Word, shell: Shell, words: usize) -> String {
    let needs = words > 1 && (word.text.is_empty() || word.text.contains(char::is_whitespace));
    if !needs {
        return word.text.clone();
    }
    match shell {
        Shell::PowerShell | Shell::Sh | Shell::Bash | Shell::Zsh | Shell::Fish
            if !word.text.contains('\'') =>
        {
            format!("'{}'", word.text)
        }
        _ => format!("\"{}\"", word.text.replace('"', "")),
    }
}

/// A Windows command line split as programs split their own (`CommandLineToArgvW`): no shell
/// reads it, so `&` and `|` are plain characters; double quotes group, `\"` is a quote.
fn windows_words(text: &str) -> Vec<Word> {
    let mut words = Vec::new();
    let mut word: Option<Word> = None;
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&'"') => {
                chars.next();
                word.get_or_insert_with(|| Word::plain("")).text.push('"');
            }
            '"' => {
                quoted = !quoted;
                word.get_or_insert_with(|| Word::plain("")).quoted = true;
            }
            c if c.is_whitespace() && !quoted => words.extend(word.take()),
            c => word.get_or_insert_with(|| Word::plain("")).text.push(c),
        }
    }
    words.extend(word);
    words
}

fn describe(words: &[Word]) -> String {
    words
        .iter()
        .map(|w| w.text.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

/// PowerShell's `Start-Process [-FilePath] P [[-ArgumentList] A] [-Wait] ...`.
fn start_process(words: &[Word], local: &mut Planned) -> Next {
    const VALUED: &[&str] = &[
        "filepath",
        "argumentlist",
        "args",
        "workingdirectory",
        "verb",
        "windowstyle",
        "credential",
        "redirectstandardoutput",
        "redirectstandarderror",
        "redirectstandardinput",
    ];
    let mut file: Option<String> = None;
    let mut args: Option<String> = None;
    let mut i = 1;
    while let Some(word) = words.get(i) {
        i += 1;
        let text = word.text.as_str();
        let name = text
            .strip_prefix('-')
            .map(str::to_ascii_lowercase)
            .filter(|_| !word.quoted);
        match name {
            Some(n)
                if VALUED
                    .iter()
                    .any(|v| v.starts_with(n.as_str()) && !n.is_empty()) =>
            {
                let value = words.get(i).map(|w| w.text.clone());
                i += 1;
                match n.as_str() {
                    n if "filepath".starts_with(n) => file = value,
                    n if "argumentlist".starts_with(n) || n == "args" => args = value,
                    n if "workingdirectory".starts_with(n) => local.cd.extend(value),
                    _ => {}
                }
            }
            Some(_) => {}
            None if file.is_none() => file = Some(text.to_string()),
            None if args.is_none() => args = Some(text.to_string()),
            None => {}
        }
    }
    let Some(file) = file else {
        return Next::Nothing;
    };
    local.unwrapped.push(describe(&words[..1]));
    let mut argv = vec![Word::plain(&file)];
    if let Some(args) = args {
        // `-ArgumentList '-a','-b'` or `"-a -b"`: commas and spaces separate arguments.
        argv.extend(
            args.split([',', ' '])
                .filter(|a| !a.is_empty())
                .map(Word::plain),
        );
    }
    Next::Argv(argv)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argvs(plans: &[Planned]) -> Vec<Vec<&str>> {
        plans
            .iter()
            .map(|p| p.argv.iter().map(String::as_str).collect())
            .collect()
    }

    fn argv(words: &[&str]) -> Vec<Planned> {
        plan_argv(&words.iter().map(|w| w.to_string()).collect::<Vec<_>>()).unwrap()
    }

    #[test]
    fn the_six_wrappers_of_issue_14_run_isinteg() {
        for wrapped in [
            &["cmd", "/c", "isinteg", "-patch"][..],
            &["cmd.exe", "/c", "isinteg", "-patch"],
            &["start", "/wait", "isinteg", "-patch"],
            &["call", "isinteg", "-patch"],
            &["sudo", "isinteg", "-patch"],
            &["env", "FOO=1", "isinteg", "-patch"],
        ] {
            let plans = argv(wrapped);
            assert_eq!(argvs(&plans), [["isinteg", "-patch"]], "{wrapped:?}");
            assert_eq!(plans[0].unwrapped.len(), 1, "{wrapped:?}");
        }
    }

    #[test]
    fn nested_and_quoted_wrappers() {
        let plans = argv(&["cmd", "/c", "start", "/wait", "isinteg", "-patch"]);
        assert_eq!(argvs(&plans), [["isinteg", "-patch"]]);
        assert_eq!(plans[0].unwrapped, ["cmd /c", "start /wait"]);
        let plans = argv(&[
            "cmd",
            "/s",
            "/c",
            "start \"title\" /d C:\\exchsrvr\\bin isinteg -patch",
        ]);
        assert_eq!(argvs(&plans), [["isinteg", "-patch"]]);
        assert_eq!(plans[0].cd, ["C:\\exchsrvr\\bin"]);
        let plans = argv(&[
            "sudo", "-u", "root", "-E", "nice", "-n", "5", "timeout", "-s", "KILL", "60", "nohup",
            "isinteg", "-patch",
        ]);
        assert_eq!(argvs(&plans), [["isinteg", "-patch"]]);
        assert_eq!(plans[0].unwrapped.len(), 4);
        let plans = argv(&["runas", "/user:EXCH\\admin", "isinteg -patch"]);
        assert_eq!(argvs(&plans), [["isinteg", "-patch"]]);
        let plans = argv(&[
            "powershell",
            "-NoProfile",
            "-Command",
            "isinteg -patch; eseutil /p x",
        ]);
        assert_eq!(
            argvs(&plans),
            [vec!["isinteg", "-patch"], vec!["eseutil", "/p", "x"]]
        );
        let plans = argv(&[
            "pwsh",
            "-EncodedCommand",
            "aQBzAGkAbgB0AGUAZwAgAC0AcABhAHQAYwBoAA==",
        ]);
        assert_eq!(argvs(&plans), [["isinteg", "-patch"]]);
        let plans = argv(&["bash", "-lc", "isinteg -patch"]);
        assert_eq!(argvs(&plans), [["isinteg", "-patch"]]);
        let plans = argv(&["bash", "script.sh"]);
        assert_eq!(
            argvs(&plans),
            [["bash", "script.sh"]],
            "a script is not followed"
        );
        let plans = argv(&["bash", "-l", "-c", "cd /x && isinteg -patch", "name"]);
        assert_eq!(argvs(&plans), [["isinteg", "-patch"]]);
        assert_eq!(plans[0].cd, ["/x"]);
        let plans = plan_line(
            "Start-Process isinteg -ArgumentList '-patch' -Wait",
            Shell::PowerShell,
        )
        .unwrap();
        assert_eq!(argvs(&plans), [["isinteg", "-patch"]]);
        let plans = argv(&["cmd", "/cisinteg", "-patch"]);
        assert_eq!(argvs(&plans), [["isinteg", "-patch"]]);
    }

    #[test]
    fn assignments_reach_the_command() {
        let plans = argv(&[
            "env",
            "_CLUSTER_NETWORK_NAME_=EXCLUSTER",
            "isinteg",
            "-patch",
        ]);
        assert_eq!(
            plans[0].env,
            [EnvChange {
                name: "_CLUSTER_NETWORK_NAME_".into(),
                value: Some("EXCLUSTER".into())
            }]
        );
        let plans = plan_line(
            "set _CLUSTER_NETWORK_NAME_=EXCLUSTER && isinteg -patch",
            Shell::Cmd,
        )
        .unwrap();
        assert_eq!(argvs(&plans), [["isinteg", "-patch"]]);
        assert_eq!(plans[0].env[0].value.as_deref(), Some("EXCLUSTER"));
        let plans = plan_line(
            "$env:_CLUSTER_NETWORK_NAME_='EXCLUSTER'; isinteg -patch",
            Shell::PowerShell,
        )
        .unwrap();
        assert_eq!(plans[0].env[0].value.as_deref(), Some("EXCLUSTER"));
        let plans = plan_line("$env:X = \"a b\"; isinteg -patch", Shell::PowerShell).unwrap();
        assert_eq!(plans[0].env[0].value.as_deref(), Some("a b"));
        let plans = plan_line("X=1 Y=2 isinteg -patch; isinteg -patch", Shell::Bash).unwrap();
        assert_eq!(plans[0].env.len(), 2);
        assert!(
            plans[1].env.is_empty(),
            "prefix assignments are for their command only"
        );
        let plans = plan_line("export X=1; isinteg -patch", Shell::Bash).unwrap();
        assert_eq!(plans[0].env.len(), 1);
        let plans = plan_line("X=1; isinteg -patch", Shell::Bash).unwrap();
        assert!(plans[0].env.is_empty(), "a shell variable is not exported");
        let plans = plan_line("set -gx X 1; isinteg -patch", Shell::Fish).unwrap();
        assert_eq!(plans[0].env[0].value.as_deref(), Some("1"));
        let plans = argv(&["env", "-i", "-u", "Y", "isinteg"]);
        assert!(plans[0].clear_env);
        assert_eq!(plans[0].env[0].value, None);
        let plans = argv(&["env", "-S", "isinteg -patch"]);
        assert_eq!(argvs(&plans), [["isinteg", "-patch"]]);
    }

    #[test]
    fn lines_follow_cd() {
        let plans = plan_line(
            "cd /d C:\\exchsrvr\\bin && isinteg -patch > out.txt 2>&1",
            Shell::Cmd,
        )
        .unwrap();
        assert_eq!(argvs(&plans), [["isinteg", "-patch"]]);
        assert_eq!(plans[0].cd, ["C:\\exchsrvr\\bin"]);
        assert_eq!(plans[0].text, "isinteg -patch > out.txt 2>&1");
    }

    #[test]
    fn opaque_and_lookup_only_wrappers() {
        let plans = argv(&["xargs", "isinteg", "-patch"]);
        assert_eq!(argvs(&plans), [["xargs", "isinteg", "-patch"]]);
        assert_eq!(plans[0].notes.len(), 1);
        assert!(argv(&["command", "-v", "isinteg"]).is_empty());
        assert!(argv(&["sudo", "-l"]).is_empty());
    }

    #[test]
    fn options_missing_their_values_never_panic() {
        for words in [
            &["start", "/d"][..],
            &["sudo", "-u"],
            &["env", "-u"],
            &["env", "-S"],
            &["env", "-C"],
            &["nice", "-n"],
            &["timeout"],
            &["timeout", "-s"],
            &["powershell", "-ExecutionPolicy"],
            &["powershell", "-EncodedCommand"],
            &["pwsh", "-Command"],
            &["cmd", "/c"],
            &["bash", "-c"],
            &["runas", "/user:x"],
            &["Start-Process", "-FilePath"],
            &["call"],
            &["start", "\"\""],
        ] {
            let _ = argv(words);
        }
        for line in [
            "start /d", "sudo -u", "$env:", "$env:X", "set", "set \"", "cd", "& ", ".",
        ] {
            for shell in Shell::ALL {
                let _ = plan_line(line, shell);
            }
        }
    }

    #[test]
    fn self_nesting_is_bounded() {
        let mut words: Vec<&str> = ["cmd", "/c"].repeat(40);
        words.push("isinteg");
        let deep: Vec<String> = words.iter().map(|w| w.to_string()).collect();
        let plan = plan_argv(&deep);
        assert!(plan.is_err());
    }
}
