//! The binary's work: one module per command family, each parsing nothing (clap did, in
//! [`args`]), calling the library and rendering what it returns.

pub(crate) mod args;
mod check;
mod kb;
mod lookup;
mod rules;
mod shell;

use std::io::{self, IsTerminal, Write};
use std::path::PathBuf;

use kbguard::archive::{self, Archive};
use kbguard::cache::{ForPreflight, Payload, Served};
use kbguard::report::Paint;
use kbguard::ruleset::CompiledRules;
use kbguard::span::Location;
use kbguard::validate::Level;
use kbguard::{Origin, RuleSet};
use serde::Serialize;

use args::{Cli, Cmd, ColorChoice, IndexArgs, MaybePath, RuleArgs};

/// Exit code for usage and rule-loading errors.
pub(crate) const EXIT_USAGE: u8 = 2;

/// An error that ends the command with exit code 2, already in words.
pub(crate) struct Failure(pub(crate) String);

impl Failure {
    /// A failure from a library diagnostic, rendered for stderr.
    fn from_diagnostic(ui: &Ui, err: &dyn miette::Diagnostic) -> Failure {
        Failure(ui.diagnostic(err))
    }
}

/// How output looks on each stream: colour is decided per stream, from `--color`, NO_COLOR
/// and whether that stream is a terminal.
#[derive(Clone, Copy)]
pub(crate) struct Ui {
    /// For stdout.
    pub(crate) out: Paint,
    /// For stderr (diagnostics, and `run`'s findings: stdout belongs to the command).
    pub(crate) err: Paint,
}

impl Ui {
    fn new(choice: ColorChoice) -> Ui {
        let decide = |terminal: bool| match choice {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => terminal && std::env::var_os("NO_COLOR").is_none(),
        };
        Ui {
            out: Paint::new(decide(io::stdout().is_terminal())),
            err: Paint::new(decide(io::stderr().is_terminal())),
        }
    }

    /// A diagnostic as stderr shows it: miette's graphical report (source snippet, label) when
    /// stderr is coloured, else one line and its help.
    pub(crate) fn diagnostic(&self, err: &dyn miette::Diagnostic) -> String {
        self.located(err, None)
    }

    /// As [`Ui::diagnostic`], for a diagnostic whose text leaves its location `at` to the
    /// snippet: the plain rendering writes it first, `file:line:column: `.
    pub(crate) fn located(&self, err: &dyn miette::Diagnostic, at: Option<&Location>) -> String {
        if self.err.enabled() {
            let mut text = String::new();
            let handler = miette::GraphicalReportHandler::new();
            if handler.render_report(&mut text, err).is_ok() {
                return text;
            }
        }
        let at = at.map(|l| format!("{l}: ")).unwrap_or_default();
        match err.help() {
            Some(help) => format!("{at}{err}\n  help: {help}"),
            None => format!("{at}{err}"),
        }
    }

    /// Loads the rules, printing every load error and validation problem (warnings too, when
    /// asked) to stderr. Returns the set and whether it has errors.
    fn load_rules(&self, origins: &[Origin], warnings: bool) -> (RuleSet, bool) {
        let set = RuleSet::load(origins);
        let failed = self.report_problems(&set, warnings);
        (set, failed)
    }

    fn report_problems(&self, set: &RuleSet, warnings: bool) -> bool {
        for err in &set.loaded.errors {
            eprintln!("{}", self.located(err, err.snippet_location()));
        }
        for problem in &set.problems {
            if warnings || problem.level == Level::Error {
                eprintln!("{}", self.located(problem, Some(&problem.location)));
            }
        }
        set.error_count() > 0
    }

    /// Loads rules for commands that rely on them: errors fail closed unless
    /// `--ignore-rule-errors` says otherwise.
    fn load_for_use(&self, args: &RuleArgs) -> Result<RuleSet, Failure> {
        let (set, failed) = self.load_rules(&args.origins(), false);
        fail_closed(args, set, failed)
    }

    /// Loads the compiled rules for a preflight (`check`, `run`), through the rule cache
    /// unless `--no-cache`; errors fail closed as in [`Ui::load_for_use`].
    fn load_for_preflight(&self, args: &RuleArgs) -> Result<CompiledRules, Failure> {
        Ok(match self.load_cached::<ForPreflight>(args)? {
            Served::Cached(cached) => cached.compiled(),
            Served::Read(set) => set.compile(),
        })
    }

    /// What `P` takes of the rules, through the rule cache unless `--no-cache` (a cache holds
    /// only a clean set): what the cache holds, or the set read from the files; errors fail
    /// closed as in [`Ui::load_for_use`].
    fn load_cached<P: Payload>(&self, args: &RuleArgs) -> Result<Served<P>, Failure> {
        let dir = MaybePath::path(args.cache_dir.as_ref()).or_else(kbguard::cache::default_dir);
        match dir.filter(|_| !args.no_cache) {
            Some(dir) => match kbguard::cache::load::<P>(&args.origins(), &dir) {
                Served::Cached(cached) => Ok(Served::Cached(cached)),
                Served::Read(set) => {
                    let failed = self.report_problems(&set, false);
                    fail_closed(args, set, failed).map(Served::Read)
                }
            },
            None => self.load_for_use(args).map(Served::Read),
        }
    }
}

fn fail_closed(args: &RuleArgs, set: RuleSet, failed: bool) -> Result<RuleSet, Failure> {
    if failed {
        if args.ignore_rule_errors {
            eprintln!(
                "kbguard: WARNING: {} error(s) in the rules; going on with the rules that loaded (--ignore-rule-errors)",
                set.error_count()
            );
        } else {
            return Err(Failure(format!(
                "{} error(s) in the rules; refusing to vouch for anything until they are fixed (`kbguard lint` lists them; --ignore-rule-errors goes on without them)",
                set.error_count()
            )));
        }
    }
    Ok(set)
}

impl IndexArgs {
    /// The index named by `--index` or KBGUARD_INDEX (empty counts as unset).
    fn named(&self) -> Option<PathBuf> {
        MaybePath::path(self.index.as_ref())
    }

    fn path(&self) -> Result<PathBuf, Failure> {
        self.named()
            .or_else(archive::default_index_path)
            .ok_or_else(|| Failure("no data directory on this platform: give --index PATH".into()))
    }

    /// Opens the archive, which must exist.
    fn open_required(&self, ui: &Ui) -> Result<Archive, Failure> {
        Archive::open(&self.path()?).map_err(|e| Failure::from_diagnostic(ui, &e))
    }

    /// Opens the archive: an index named (by `--index` or KBGUARD_INDEX) must open; the
    /// default one may be absent.
    fn open(&self, ui: &Ui) -> Result<Option<Archive>, Failure> {
        match Archive::open(&self.path()?) {
            Ok(archive) => Ok(Some(archive)),
            Err(archive::ArchiveError::Missing(_)) if self.named().is_none() => Ok(None),
            Err(err) => Err(Failure::from_diagnostic(ui, &err)),
        }
    }
}

/// Writes `value` as pretty JSON to stdout.
pub(crate) fn print_json(value: &impl Serialize) -> Result<(), Failure> {
    let mut out = io::stdout().lock();
    // A closed pipe (`| head`) is the reader's choice, not an error worth reporting.
    match serde_json::to_writer_pretty(&mut out, value) {
        Err(e) if e.is_io() => return Ok(()),
        Err(e) => return Err(Failure(e.to_string())),
        Ok(()) => {}
    }
    writeln!(out).ok();
    Ok(())
}

/// `kbguard serve`: until SIGTERM or Ctrl-C; requests already running finish.
fn serve(ui: &Ui, listen: &str, rules: &RuleArgs, index: &IndexArgs) -> Result<u8, Failure> {
    let set = ui.load_for_use(rules)?;
    let root = index.path()?;
    if archive::Archive::open(&root).is_err() {
        eprintln!(
            "kbguard: no archive index at {} yet: serving the built-in rules and records (a `kbguard kb import` there is picked up without a restart)",
            root.display()
        );
    }
    let app = std::sync::Arc::new(kbguard::serve::App::new(
        set,
        Some(root),
        Box::new(|a: &kbguard::serve::Access| {
            eprintln!("{} {} {} {:.1}ms", a.method, a.path, a.status, a.millis);
        }),
    ));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure(e.to_string()))?;
    runtime
        .block_on(async {
            let listener = tokio::net::TcpListener::bind(listen).await?;
            // The address bound (a port of 0 picks one), for people and for scripts.
            eprintln!(
                "kbguard: serving http://{}/ (SIGTERM or Ctrl-C stops it)",
                listener.local_addr()?
            );
            kbguard::serve::run(app, listener, shutdown_signal()).await
        })
        .map_err(|e| Failure(format!("{listen}: {e}")))?;
    eprintln!("kbguard: stopped");
    Ok(0)
}

/// Resolves on Ctrl-C, or SIGTERM on Unix.
async fn shutdown_signal() {
    let interrupt = async {
        tokio::signal::ctrl_c().await.ok();
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {},
        () = terminate => {},
    }
}

/// This kbguard's path, for hooks to call it by (its name alone when the platform cannot say).
fn self_path() -> String {
    std::env::current_exe()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| "kbguard".into())
}

/// Writes generated text to stdout; a closed pipe is the reader's choice.
fn print_bytes(text: &[u8]) -> Result<u8, Failure> {
    match io::stdout().lock().write_all(text) {
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe => Err(Failure(e.to_string())),
        _ => Ok(0),
    }
}

/// Runs the command line; the exit code, or the failure to print.
pub(crate) fn run(cli: Cli) -> Result<u8, Failure> {
    let ui = Ui::new(cli.color);
    match cli.command {
        Cmd::Check(a) => check::check(&ui, a),
        Cmd::Run(a) => check::run(&ui, a),
        Cmd::Explain(a) => check::explain(&ui, a),
        Cmd::Facts {
            rules,
            facts,
            json,
            save,
            probe,
        } => match probe.is_empty() {
            true => rules::facts(&ui, &rules, &facts, json, save.as_deref()),
            false => rules::probe(&ui, &rules, &facts, json, &probe),
        },
        Cmd::Rules { rules, json } => rules::rules(&ui, &rules, json),
        Cmd::Lint(a) => rules::lint(&ui, a),
        Cmd::Test {
            rules,
            paths,
            with_defaults,
            json,
            junit,
        } => rules::test(&ui, &rules, &paths, with_defaults, json, junit.as_deref()),
        Cmd::Lookup(a) => lookup::lookup(&ui, a),
        Cmd::Replay { file, rules, json } => check::replay(&ui, &file, &rules, json),
        Cmd::Init { shell } => {
            print_bytes(kbguard::hooks::init_script(shell, &self_path()).as_bytes())
        }
        Cmd::Shell(cmd) => shell::run(cmd),
        Cmd::Serve {
            listen,
            rules,
            index,
        } => serve(&ui, &listen, &rules, &index),
        Cmd::Completions { shell } => {
            let mut cmd = <Cli as clap::CommandFactory>::command();
            let mut text = Vec::new();
            clap_complete::generate(shell, &mut cmd, "kbguard", &mut text);
            print_bytes(&text)
        }
        Cmd::Man => {
            let mut text = Vec::new();
            clap_mangen::Man::new(<Cli as clap::CommandFactory>::command())
                .render(&mut text)
                .map_err(|e| Failure(e.to_string()))?;
            print_bytes(&text)
        }
        Cmd::Kb(kb) => kb::run(&ui, kb),
    }
}

/// The origins for commands that take PATHS of their own (`lint`, `test`): those paths (and
/// `--rules`), with the built-in set only when asked; without PATHS, the active set.
fn origins_for(rules: &RuleArgs, paths: &[PathBuf], with_defaults: bool) -> Vec<Origin> {
    if paths.is_empty() {
        return rules.origins();
    }
    let mut origins = Vec::new();
    if with_defaults {
        origins.push(Origin::Embedded);
    }
    origins.extend(rules.rules.iter().chain(paths).cloned().map(Origin::Path));
    origins
}

/// `?` for library results: the error rendered as a diagnostic for stderr.
pub(crate) trait OrFail<T> {
    /// The value, or the error as a [`Failure`].
    fn or_fail(self, ui: &Ui) -> Result<T, Failure>;
}

impl<T, E: miette::Diagnostic> OrFail<T> for Result<T, E> {
    fn or_fail(self, ui: &Ui) -> Result<T, Failure> {
        self.map_err(|e| Failure::from_diagnostic(ui, &e))
    }
}
