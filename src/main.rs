//! The `kbguard` command: parses arguments, calls the library, prints, and picks exit codes.
//!
//! Exit codes: 0 nothing blocks; 1 a block rule triggered; 2 usage or rule-loading errors;
//! 3 a block rule is undecided. `run` exits with the command's own status once it has run.

// The binary is where kbguard talks to the terminal; the library never prints.
#![allow(clippy::print_stdout, clippy::print_stderr)]

// A faster allocator: a preflight over a large rule set is dominated by small allocations.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::io::{self, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};
use kbguard::archive::{self, Archive};
use kbguard::cmdline::{self, Shell};
use kbguard::corpus::Corpus;
use kbguard::eval::{evaluate, plan_workarounds};
use kbguard::facts::{self, Fact, FactSource};
use kbguard::lookup::{self, Hit};
use kbguard::model::{FactValue, Status};
use kbguard::preflight;
use kbguard::products::{self, ProductQuery};
use kbguard::report;
use kbguard::testing::run_tests;
use kbguard::validate::{self, Level};
use kbguard::{Command, FactOptions, FactSet, Origin, RuleSet, Verdict};
use serde::Serialize;
use serde_json::json;

/// Exit code for usage and rule-loading errors.
const EXIT_USAGE: u8 = 2;

/// kbguard: checks maintenance commands against known problems from knowledge-base articles.
#[derive(Parser)]
#[command(name = "kbguard", version, about, max_term_width = 100)]
struct Cli {
    /// When to colour output: auto (a terminal without NO_COLOR), always, never.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, global = true)]
    color: ColorChoice,
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Clone, Copy, ValueEnum)]
enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Args, Clone, Default)]
struct RuleArgs {
    /// Also load rules and records from DIR (or a single .ron file); repeatable. KBGUARD_RULES
    /// (a path list) adds more.
    #[arg(long = "rules", value_name = "DIR")]
    rules: Vec<PathBuf>,
    /// Do not load the rules and records built into kbguard.
    #[arg(long)]
    no_default_rules: bool,
    /// Load rule files afresh instead of from the compiled rule cache (`check` and `run` keep
    /// one in KBGUARD_CACHE_DIR, else the platform cache directory).
    #[arg(long)]
    no_cache: bool,
    /// Go on when rule files fail to load or validate, with the rules that did load. Without
    /// it, kbguard fails closed: `check` and `run` exit 2 and `run` starts nothing.
    #[arg(long)]
    ignore_rule_errors: bool,
}

impl RuleArgs {
    fn origins(&self) -> Vec<Origin> {
        let mut origins = Vec::new();
        if !self.no_default_rules {
            origins.push(Origin::Embedded);
        }
        if let Some(paths) = std::env::var_os("KBGUARD_RULES") {
            origins.extend(
                std::env::split_paths(&paths)
                    .filter(|p| !p.as_os_str().is_empty())
                    .map(Origin::Path),
            );
        }
        origins.extend(self.rules.iter().cloned().map(Origin::Path));
        origins
    }
}

#[derive(Args, Clone, Default)]
struct FactArgs {
    /// Evaluate the host described by this snapshot (RON, or JSON by extension) instead of
    /// probing this machine.
    #[arg(long = "facts", value_name = "FILE")]
    facts: Option<PathBuf>,
    /// Set a fact, overriding every other source: NAME=VALUE (env.VAR=VALUE sets a variable).
    #[arg(long = "set", value_name = "NAME=VALUE")]
    sets: Vec<String>,
}

impl FactArgs {
    fn options(&self) -> FactOptions {
        FactOptions {
            snapshot: self.facts.clone(),
            sets: self.sets.clone(),
        }
    }
}

#[derive(Args, Clone, Default)]
struct IndexArgs {
    /// The archive index (default: KBGUARD_INDEX, else the platform data directory, e.g.
    /// ~/.local/share/kbguard/index).
    #[arg(long, value_name = "PATH")]
    index: Option<PathBuf>,
}

impl IndexArgs {
    fn path(&self) -> Result<PathBuf, Failure> {
        self.index
            .clone()
            .or_else(archive::default_index_path)
            .ok_or_else(|| Failure("no data directory on this platform: give --index PATH".into()))
    }

    /// Opens the archive, which must exist.
    fn open_required(&self) -> Result<Archive, Failure> {
        Ok(Archive::open(&self.path()?)?)
    }

    /// Opens the archive: an index named explicitly must open; the default one may be absent.
    fn open(&self) -> Result<Option<Archive>, Failure> {
        let explicit = self.index.is_some() || std::env::var_os("KBGUARD_INDEX").is_some();
        match Archive::open(&self.path()?) {
            Ok(archive) => Ok(Some(archive)),
            Err(archive::ArchiveError::Missing(_)) if !explicit => Ok(None),
            Err(err) => Err(err.into()),
        }
    }
}

#[derive(Subcommand)]
enum KbCmd {
    /// Import a KB archive (a directory of QNNNNNN.TXT articles) into the index, replacing the
    /// previous index atomically.
    Import {
        /// The directory to import.
        dir: PathBuf,
        #[command(flatten)]
        index: IndexArgs,
        /// Print the summary as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Counts by product, index size, when and from what it was built.
    Stats {
        #[command(flatten)]
        index: IndexArgs,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// The service packs whose fix lists name an article: where its bug is fixed.
    FixedIn {
        /// The article id, e.g. Q185942.
        id: String,
        #[command(flatten)]
        index: IndexArgs,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Show one article as parsed.
    Show {
        /// The article id, e.g. Q178311.
        id: String,
        #[command(flatten)]
        index: IndexArgs,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum Cmd {
    /// The imported KB archive: import, stats, show.
    #[command(subcommand)]
    Kb(KbCmd),
    /// Check a command (and the host) against the rules before running it.
    Check {
        #[command(flatten)]
        rules: RuleArgs,
        #[command(flatten)]
        facts: FactArgs,
        /// Print JSON.
        #[arg(long)]
        json: bool,
        /// Do not stop when a block rule cannot be decided.
        #[arg(long)]
        allow_unknown: bool,
        /// Check a whole command line as a shell would run it: each command it runs, after
        /// `cd`s and assignments on it (instead of a COMMAND after `--`).
        #[arg(long, value_name = "TEXT", conflicts_with = "command")]
        line: Option<String>,
        /// The shell whose syntax --line is in: sh, bash, zsh, fish, cmd, powershell (default:
        /// cmd on Windows, else $SHELL's, else sh).
        #[arg(long, value_name = "SHELL", value_parser = parse_shell, requires = "line")]
        shell: Option<Shell>,
        /// The command, after `--`; without one only environment checks run.
        #[arg(last = true, value_name = "COMMAND")]
        command: Vec<String>,
    },
    /// Check a command, then run it only when nothing blocks.
    Run {
        #[command(flatten)]
        rules: RuleArgs,
        #[command(flatten)]
        facts: FactArgs,
        /// Do not stop when a block rule cannot be decided.
        #[arg(long)]
        allow_unknown: bool,
        /// Run the command even when a rule blocks it.
        #[arg(long)]
        force: bool,
        /// Apply the structured workarounds of triggered rules to the command's environment,
        /// re-check, and run if nothing blocks any more.
        #[arg(long)]
        apply_workarounds: bool,
        /// The command, after `--`.
        #[arg(last = true, required = true, value_name = "COMMAND")]
        command: Vec<String>,
    },
    /// Show the facts collected, each with its source.
    Facts {
        #[command(flatten)]
        rules: RuleArgs,
        #[command(flatten)]
        facts: FactArgs,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// List the loaded rules.
    Rules {
        #[command(flatten)]
        rules: RuleArgs,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Parse and validate rule files and article records.
    Lint {
        #[command(flatten)]
        rules: RuleArgs,
        /// Files or directories to lint on their own; without them, the active set.
        paths: Vec<PathBuf>,
        /// With PATHS: lint them together with the built-in rules and records.
        #[arg(long)]
        with_defaults: bool,
        /// Also check every rule's evidence against the imported archive: quotes found in their
        /// articles, fixed bounds agreeing with the service-pack fix lists. `--archive=INDEX`
        /// names the index (default: KBGUARD_INDEX, else the platform data directory).
        #[arg(long, value_name = "INDEX", num_args = 0..=1, require_equals = true)]
        archive: Option<Option<PathBuf>>,
    },
    /// Run every rule's test cases.
    Test {
        #[command(flatten)]
        rules: RuleArgs,
        /// Files or directories to test on their own; without them, the active set.
        paths: Vec<PathBuf>,
        /// With PATHS: load them together with the built-in rules and records.
        #[arg(long)]
        with_defaults: bool,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Show how one rule evaluates: each predicate, its value, and each fact's source.
    Explain {
        /// The rule's id.
        rule: String,
        #[command(flatten)]
        rules: RuleArgs,
        #[command(flatten)]
        facts: FactArgs,
        /// Print JSON.
        #[arg(long)]
        json: bool,
        /// The command, after `--`.
        #[arg(last = true, value_name = "COMMAND")]
        command: Vec<String>,
    },
    /// Find the articles and rules that describe an error message.
    Lookup {
        #[command(flatten)]
        rules: RuleArgs,
        /// Print JSON.
        #[arg(long)]
        json: bool,
        /// How many hits at most.
        #[arg(long, default_value_t = 10)]
        limit: usize,
        /// Read one query per line from FILE (`-` for stdin); print one result per line.
        #[arg(long, value_name = "FILE", conflicts_with = "query")]
        batch: Option<PathBuf>,
        #[command(flatten)]
        index: IndexArgs,
        #[command(flatten)]
        products: ProductArgs,
        /// The error message, or a description of the problem (may start with `-`:
        /// `kbguard lookup "-1018 JET_errReadVerifyFailure"`).
        #[arg(required_unless_present = "batch", allow_hyphen_values = true)]
        query: Option<String>,
    },
}

#[derive(Args, Clone, Default)]
struct ProductArgs {
    /// Rank articles that apply to this product first (e.g. "Exchange", "Windows NT").
    #[arg(long, value_name = "NAME")]
    product: Option<String>,
    /// With --product: the version it must apply to (5.5 matches 5.5.2653).
    #[arg(long, value_name = "V", requires = "product")]
    version: Option<String>,
    /// Show only articles that apply to the product (or to the host's products).
    #[arg(long)]
    only_product: bool,
    /// Rank articles that apply to this host's products first: a snapshot (RON, or JSON by
    /// extension), as `check` takes it.
    #[arg(long = "facts", value_name = "FILE")]
    facts: Option<PathBuf>,
    /// A host fact, as `check` takes it (e.g. product.exchange.version=5.5.2653).
    #[arg(long = "set", value_name = "NAME=VALUE")]
    sets: Vec<String>,
}

impl ProductArgs {
    /// The lookup's options: the products asked for, or those of the host described.
    fn options(&self, set: &RuleSet, limit: usize) -> Result<lookup::LookupOptions, Failure> {
        let mut products = Vec::new();
        if let Some(name) = &self.product {
            products.push(ProductQuery::new(name, self.version.as_deref()));
        }
        if self.facts.is_some() || !self.sets.is_empty() {
            let host = facts::collect(
                &set.catalogue,
                &FactOptions {
                    snapshot: self.facts.clone(),
                    sets: self.sets.clone(),
                },
            )?;
            products.extend(products::host_products(&host));
        }
        if self.only_product && products.is_empty() {
            return Err(Failure(
                "--only-product needs --product, or host facts (--facts, --set) naming a product"
                    .into(),
            ));
        }
        Ok(lookup::LookupOptions {
            limit,
            products,
            only_products: self.only_product,
        })
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.color {
        ColorChoice::Always => owo_colors::set_override(true),
        ColorChoice::Never => owo_colors::set_override(false),
        ColorChoice::Auto => {}
    }
    let code = match run_cli(cli.command) {
        Ok(code) => code,
        Err(Failure(message)) => {
            eprintln!("kbguard: {message}");
            EXIT_USAGE
        }
    };
    ExitCode::from(code)
}

/// An error that ends the command with exit code 2, already in words.
struct Failure(String);

impl<E: miette::Diagnostic> From<E> for Failure {
    fn from(err: E) -> Failure {
        Failure(diagnostic_text(&err))
    }
}

fn diagnostic_text(err: &dyn miette::Diagnostic) -> String {
    if io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none() {
        let mut text = String::new();
        let handler = miette::GraphicalReportHandler::new();
        if handler.render_report(&mut text, err).is_ok() {
            return text;
        }
    }
    match err.help() {
        Some(help) => format!("{err}\n  help: {help}"),
        None => err.to_string(),
    }
}

fn stdout() -> io::StdoutLock<'static> {
    io::stdout().lock()
}

/// Loads the rules, printing every load error and validation problem to stderr.
/// Returns the set and whether it has errors.
fn load_rules(origins: &[Origin], warnings: bool) -> (RuleSet, bool) {
    let set = RuleSet::load(origins);
    let failed = report_problems(&set, warnings);
    (set, failed)
}

/// Prints every load error and validation error (and warnings, when asked) to stderr; true
/// when there were errors.
fn report_problems(set: &RuleSet, warnings: bool) -> bool {
    for err in &set.loaded.errors {
        eprintln!("{}", diagnostic_text(err));
    }
    for problem in &set.problems {
        if warnings || problem.level == Level::Error {
            eprintln!("{}", diagnostic_text(problem));
        }
    }
    set.error_count() > 0
}

/// Loads rules for commands that rely on them: errors fail closed unless
/// `--ignore-rule-errors` says otherwise.
fn load_for_use(args: &RuleArgs) -> Result<RuleSet, Failure> {
    let (set, failed) = load_rules(&args.origins(), false);
    fail_closed(args, set, failed)
}

/// Loads rules for a preflight (`check`, `run`), through the compiled rule cache unless
/// `--no-cache`; errors fail closed as in [`load_for_use`].
fn load_for_preflight(args: &RuleArgs) -> Result<RuleSet, Failure> {
    match kbguard::cache::default_dir().filter(|_| !args.no_cache) {
        Some(dir) => {
            let set = kbguard::cache::load(&args.origins(), &dir);
            let failed = report_problems(&set, false);
            fail_closed(args, set, failed)
        }
        None => load_for_use(args),
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

fn print_json(value: &impl Serialize) -> Result<(), Failure> {
    let mut out = stdout();
    // A closed pipe (`| head`) is the reader's choice, not an error worth reporting.
    match serde_json::to_writer_pretty(&mut out, value) {
        Err(e) if e.is_io() => return Ok(()),
        Err(e) => return Err(Failure(e.to_string())),
        Ok(()) => {}
    }
    writeln!(out).ok();
    Ok(())
}

fn run_cli(cmd: Cmd) -> Result<u8, Failure> {
    match cmd {
        Cmd::Check {
            rules,
            facts,
            json,
            allow_unknown,
            line,
            shell,
            command,
        } => {
            let plans = match &line {
                Some(text) => {
                    let shell = shell.unwrap_or_else(Shell::default_for_platform);
                    cmdline::plan_line(text, shell).map_err(|e| line_failure(text, &e))?
                }
                None => cmdline::plan_argv(&command)
                    .map_err(|e| line_failure(&command.join(" "), &e))?,
            };
            let set = load_for_preflight(&rules)?;
            let host = facts::collect(&set.catalogue, &facts.options())?;
            let checked = preflight::check(&set, &host, plans);
            let verdict = checked.verdict(allow_unknown);
            if json {
                print_json(&json!({
                    "verdict": verdict,
                    "exit_code": verdict.exit_code(),
                    "report": checked.deciding(allow_unknown).map(|c| &c.report),
                    "commands": checked.commands,
                }))?;
            } else {
                report::write_preflight(&mut stdout(), &set, &checked, allow_unknown).ok();
            }
            Ok(verdict.exit_code())
        }
        Cmd::Run {
            rules,
            facts,
            allow_unknown,
            force,
            apply_workarounds,
            command,
        } => run_command(
            &rules,
            &facts,
            allow_unknown,
            force,
            apply_workarounds,
            &command,
        ),
        Cmd::Facts { rules, facts, json } => {
            let set = load_for_use(&rules)?;
            let host = facts::collect(&set.catalogue, &facts.options())?;
            if json {
                print_json(&facts_json(&set, &host))?;
            } else {
                report::write_facts(&mut stdout(), &set, &host).ok();
            }
            Ok(0)
        }
        Cmd::Rules { rules, json } => {
            let set = load_for_use(&rules)?;
            if json {
                print_json(&rules_json(&set))?;
            } else {
                report::write_rules(&mut stdout(), &set).ok();
            }
            Ok(0)
        }
        Cmd::Lint {
            rules,
            paths,
            with_defaults,
            archive,
        } => {
            let origins = origins_for(&rules, &paths, with_defaults);
            let (mut set, mut failed) = load_rules(&origins, true);
            if let Some(index) = archive {
                let archive = IndexArgs { index }.open_required()?;
                let fix_lists = archive.fix_lists();
                let evidence = validate::ArchiveEvidence {
                    corpus: &archive,
                    fix_lists: &fix_lists,
                };
                let problems = validate::lint_archive(&set.loaded, &set.catalogue, &evidence);
                for problem in &problems {
                    eprintln!("{}", diagnostic_text(problem));
                }
                failed |= problems.iter().any(|p| p.level == Level::Error);
                set.problems.extend(problems);
            }
            let warnings = set
                .problems
                .iter()
                .filter(|p| p.level == Level::Warning)
                .count();
            println!(
                "{} files, {} rules, {} article records: {} error(s), {} warning(s)",
                set.loaded.files.len() + set.loaded.errors.len(),
                set.loaded.rules.len(),
                set.loaded.articles.len(),
                set.error_count(),
                warnings
            );
            Ok(if failed { 1 } else { 0 })
        }
        Cmd::Test {
            rules,
            paths,
            with_defaults,
            json,
        } => {
            let origins = origins_for(&rules, &paths, with_defaults);
            let (set, failed) = load_rules(&origins, false);
            let results = run_tests(&set);
            if json {
                print_json(&results)?;
            } else {
                report::write_tests(&mut stdout(), &results).ok();
            }
            let any_failed = results.iter().any(|r| !r.passed());
            Ok(if failed || any_failed { 1 } else { 0 })
        }
        Cmd::Explain {
            rule,
            rules,
            facts,
            json,
            command,
        } => {
            let set = load_for_use(&rules)?;
            let loaded = set.rule(&rule).ok_or_else(|| {
                Failure(format!(
                    "no rule with id {rule:?}; `kbguard rules` lists them"
                ))
            })?;
            let host = facts::collect(&set.catalogue, &facts.options())?;
            // Through wrappers to the command the rule is about (or the first one run).
            let plans =
                cmdline::plan_argv(&command).map_err(|e| line_failure(&command.join(" "), &e))?;
            let planned = preflight::for_rule(&loaded.rule, &plans);
            let facts = planned.map_or_else(|| host.clone(), |p| preflight::facts_for(&host, p));
            let command = planned.and_then(|p| Command::parse(&p.argv));
            let evaluation = evaluate(&loaded.rule, &facts, command.as_ref());
            let unwrapped = planned.filter(|p| !p.unwrapped.is_empty());
            if json {
                let mut value =
                    serde_json::to_value(&evaluation).map_err(|e| Failure(e.to_string()))?;
                if let (Some(object), Some(p)) = (value.as_object_mut(), unwrapped) {
                    object.insert("runs".into(), json!(p));
                }
                print_json(&value)?;
            } else {
                if let Some(p) = unwrapped {
                    println!(
                        "runs: {} (through {})",
                        p.argv.join(" "),
                        p.unwrapped.join(", then ")
                    );
                }
                report::write_explain(&mut stdout(), &set, &evaluation).ok();
            }
            Ok(0)
        }
        Cmd::Lookup {
            rules,
            json,
            limit,
            batch,
            query,
            index,
            products,
        } => {
            let set = load_for_use(&rules)?;
            let options = products.options(&set, limit)?;
            let archive = index.open()?;
            let note = archive.is_none().then_some(
                "no archive index is loaded: searching the built-in rules and article records only (import one with `kbguard kb import DIR`)",
            );
            let corpus = archive.as_ref().map(|a| a as &dyn Corpus);
            match (batch, query) {
                (Some(file), _) => lookup_batch(&set, corpus, &file, &options, note),
                (None, Some(query)) => {
                    let hits = lookup::Lookup::new(&set, corpus).find(&query, &options);
                    if json {
                        print_json(&lookup_json(&query, &hits, archive.as_ref(), note))?;
                    } else {
                        report::write_lookup(&mut stdout(), &hits, note).ok();
                    }
                    Ok(if hits.is_empty() { 1 } else { 0 })
                }
                (None, None) => Err(Failure("give an error message, or --batch FILE".into())),
            }
        }
        Cmd::Kb(kb) => run_kb(kb),
    }
}

/// `--shell NAME`.
fn parse_shell(name: &str) -> Result<Shell, String> {
    Shell::from_program(name).ok_or_else(|| {
        let names: Vec<&str> = Shell::ALL.iter().map(|s| s.name()).collect();
        format!("unknown shell {name:?}; one of {}", names.join(", "))
    })
}

/// A line kbguard cannot read: the reason, the line, and a caret under the place.
fn line_failure(text: &str, err: &cmdline::LineError) -> Failure {
    let column = text.get(..err.offset).map_or(0, |t| t.chars().count());
    Failure(format!(
        "cannot read the command line: {} (column {})\n  {text}\n  {}^",
        err.message,
        column + 1,
        " ".repeat(column)
    ))
}

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

fn lookup_json(
    query: &str,
    hits: &[Hit],
    archive: Option<&Archive>,
    note: Option<&str>,
) -> serde_json::Value {
    json!({
        "query": query,
        "archive": archive.map(|a| a.path.display().to_string()),
        "note": note,
        "hits": hits.iter().map(|h| json!({
            "id": h.id,
            "title": h.title,
            "score": h.score,
            "source": h.source,
            "rules": h.rules,
            "matched": h.matched,
            "matched_part": h.matched.get(h.matched_span.clone()).unwrap_or(""),
            "paraphrase": h.paraphrase,
            "workaround": h.workaround,
            "date": h.date,
            "section": h.section,
            "snippet": h.snippet,
            "products": h.products,
            "versions": h.versions,
            "applies": h.applies,
        })).collect::<Vec<_>>(),
    })
}

fn lookup_batch(
    set: &RuleSet,
    corpus: Option<&dyn Corpus>,
    file: &std::path::Path,
    options: &lookup::LookupOptions,
    note: Option<&str>,
) -> Result<u8, Failure> {
    let bytes = if file.as_os_str() == "-" {
        let mut bytes = Vec::new();
        io::Read::read_to_end(&mut io::stdin(), &mut bytes)
            .map_err(|e| Failure(format!("stdin: {e}")))?;
        bytes
    } else {
        std::fs::read(file).map_err(|e| Failure(format!("{}: {e}", file.display())))?
    };
    let text = String::from_utf8_lossy(&bytes);
    let mut out = io::BufWriter::new(stdout());
    let lookup = lookup::Lookup::new(set, corpus);
    // The note is said once, and lines name no generation directory: the same queries over the
    // same archive give byte-identical output, whichever import built the index.
    if let Some(note) = note {
        eprintln!("kbguard: {note}");
    }
    for query in text.lines() {
        let hits = lookup.find(query, options);
        let mut json = lookup_json(query, &hits, None, None);
        if let Some(object) = json.as_object_mut() {
            object.remove("archive");
            object.remove("note");
        }
        let line = serde_json::to_string(&json).map_err(|e| Failure(e.to_string()))?;
        if writeln!(out, "{line}").is_err() {
            break;
        }
    }
    Ok(0)
}

fn run_kb(cmd: KbCmd) -> Result<u8, Failure> {
    match cmd {
        KbCmd::Import { dir, index, json } => {
            let root = index.path()?;
            let bar = progress_bar();
            let summary = archive::import(&dir, &root, &|p| match p {
                archive::Progress::Found(n) => {
                    bar.set_length(n as u64);
                    bar.set_message("parsing");
                }
                archive::Progress::Parsed(n) => bar.inc(n as u64),
                archive::Progress::Indexing => bar.set_message("writing the index"),
            });
            bar.finish_and_clear();
            let summary = summary?;
            if json {
                print_json(&summary)?;
            } else {
                println!(
                    "imported {} articles ({} quoted messages) from {} in {:.1} s; index {} ({:.1} MB)",
                    summary.articles,
                    summary.messages,
                    dir.display(),
                    summary.elapsed.as_secs_f64(),
                    summary.generation.display(),
                    summary.bytes as f64 / 1e6
                );
                if !summary.skipped.is_empty() {
                    println!("skipped {} file(s):", summary.skipped.len());
                    for s in &summary.skipped {
                        println!("  {}: {}", s.path, s.reason);
                    }
                }
            }
            Ok(0)
        }
        KbCmd::Stats { index, json } => {
            let archive = Archive::open(&index.path()?)?;
            let bytes = archive::dir_size(&archive.path);
            if json {
                print_json(&json!({
                    "path": archive.path.display().to_string(),
                    "bytes": bytes,
                    "meta": archive.meta,
                }))?;
            } else {
                let m = &archive.meta;
                println!(
                    "index: {} ({:.1} MB)",
                    archive.path.display(),
                    bytes as f64 / 1e6
                );
                println!(
                    "built: {} by kbguard {}, from {}",
                    archive::format_utc(m.built_at),
                    m.kbguard,
                    m.source
                );
                println!(
                    "articles: {}, quoted messages: {}, skipped files: {}",
                    m.articles, m.messages, m.skipped
                );
                println!("by product:");
                for (tag, n) in &m.by_product {
                    println!("  {:<20} {n}", if tag.is_empty() { "(none)" } else { tag });
                }
            }
            Ok(0)
        }
        KbCmd::FixedIn { id, index, json } => {
            let archive = Archive::open(&index.path()?)?;
            let set = RuleSet::load(&[Origin::Embedded]);
            let fixed: Vec<serde_json::Value> = archive
                .fix_lists()
                .into_iter()
                .filter(|l| l.fixes.iter().any(|f| f.eq_ignore_ascii_case(&id)))
                .map(|l| {
                    // The build, when a rule file's `builds` names it for this product.
                    let build = set.loaded.builds.iter().find(|(b, _)| {
                        b.service_pack == l.service_pack
                            && l.product.to_lowercase().contains(&b.product)
                    });
                    json!({
                        "article": id.to_ascii_uppercase(),
                        "fix_list": l.article,
                        "product": l.product,
                        "service_pack": l.service_pack,
                        "build": build.map(|(b, _)| b.build.to_string()),
                    })
                })
                .collect();
            if json {
                print_json(&fixed)?;
            } else if fixed.is_empty() {
                println!("no service-pack fix list in the archive names {id}");
            } else {
                for f in &fixed {
                    let build = f["build"]
                        .as_str()
                        .map(|b| format!(" (build {b})"))
                        .unwrap_or_default();
                    println!(
                        "{}: fixed in {} service pack {}{build}, per {}",
                        f["article"].as_str().unwrap_or(""),
                        f["product"].as_str().unwrap_or(""),
                        f["service_pack"],
                        f["fix_list"].as_str().unwrap_or("")
                    );
                }
            }
            Ok(if fixed.is_empty() { 1 } else { 0 })
        }
        KbCmd::Show { id, index, json } => {
            let archive = Archive::open(&index.path()?)?;
            let parsed = archive::show(&archive, &id)
                .ok_or_else(|| {
                    Failure(format!(
                        "{id} is not in the archive index {}",
                        archive.path.display()
                    ))
                })?
                .map_err(Failure)?;
            if json {
                print_json(&parsed)?;
            } else {
                report::write_article(&mut stdout(), &parsed).ok();
            }
            Ok(0)
        }
    }
}

/// A progress bar on a terminal; hidden otherwise.
fn progress_bar() -> indicatif::ProgressBar {
    if !io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(0);
    if let Ok(style) =
        indicatif::ProgressStyle::with_template("{msg:>18} [{bar:40}] {pos}/{len} ({eta})")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

fn facts_json(set: &RuleSet, host: &FactSet) -> serde_json::Value {
    let known: serde_json::Map<String, serde_json::Value> = host
        .iter()
        .map(|(name, fact)| {
            (
                name.clone(),
                json!({"value": fact.value, "source": fact.source.to_string()}),
            )
        })
        .collect();
    let unknown: Vec<&String> = set
        .catalogue
        .iter()
        .map(|(n, _)| n)
        .filter(|n| host.get(n).is_none())
        .collect();
    let env = host.env_iter().map(|vars| {
        vars.map(|(k, f)| {
            (
                k.clone(),
                json!({"value": f.value, "source": f.source.to_string()}),
            )
        })
        .collect::<serde_json::Map<_, _>>()
    });
    json!({"host": host.host(), "facts": known, "unknown": unknown, "env": env})
}

fn rules_json(set: &RuleSet) -> serde_json::Value {
    let rules: Vec<serde_json::Value> = set
        .loaded
        .rules
        .iter()
        .map(|loaded| {
            let r = &loaded.rule;
            json!({
                "id": r.id,
                "revision": r.revision,
                "kb": r.kb,
                "severity": r.severity,
                "title": r.title,
                "status": match &r.status {
                    Status::Active => json!("active"),
                    Status::Retired => json!("retired"),
                    Status::SupersededBy(id) => json!({"superseded_by": id}),
                },
                "reviewed": r.reviewed.to_string(),
                "intent": r.intent.as_ref().map(|i| json!({
                    "program": i.program,
                    "flags": i.flags,
                    "forbidden": i.forbidden,
                    "args": i.args.iter().map(|a| &a.pattern).collect::<Vec<_>>(),
                    "options": i.options.iter().map(|o| &o.flag).collect::<Vec<_>>(),
                })),
                "when": r.when.as_ref().map(report::describe_condition),
                "symptoms": r.symptoms,
                "evidence": r.evidence,
                "source": set.loaded.location(loaded.file, loaded.offset).to_string(),
            })
        })
        .collect();
    json!({"rules": rules})
}

fn run_command(
    rules: &RuleArgs,
    facts_args: &FactArgs,
    allow_unknown: bool,
    force: bool,
    apply_workarounds: bool,
    argv: &[String],
) -> Result<u8, Failure> {
    if argv.is_empty() {
        return Err(Failure("run needs a command after --".into()));
    }
    let plans = cmdline::plan_argv(argv).map_err(|e| line_failure(&argv.join(" "), &e))?;
    let set = load_for_preflight(rules)?;
    let mut host = facts::collect(&set.catalogue, &facts_args.options())?;
    let mut checked = preflight::check(&set, &host, plans.clone());
    let mut child_env: Vec<(String, String)> = Vec::new();
    if apply_workarounds && checked.verdict(allow_unknown) == Verdict::Blocked {
        let evaluations: Vec<_> = checked
            .commands
            .iter()
            .flat_map(|c| c.report.evaluations.iter().cloned())
            .collect();
        let plan = plan_workarounds(set.active_rules().map(|r| &r.rule), &evaluations, &host);
        for (rule, fact) in &plan.missing {
            eprintln!("kbguard: cannot apply the workaround of {rule}: fact {fact} is unknown (give it with {})", report::set_hint(&set, fact));
        }
        for (rule, var, value) in plan.set_env {
            eprintln!(
                "kbguard: applying workaround of {rule}: {var}={value} (for this command only)"
            );
            host.insert(
                &format!("env.{var}"),
                Fact {
                    value: FactValue::Str(value.clone()),
                    source: FactSource::Workaround(rule),
                },
            );
            child_env.push((var, value));
        }
        if !child_env.is_empty() {
            checked = preflight::check(&set, &host, plans);
        }
    }
    let verdict = checked.verdict(allow_unknown);
    let findings = checked
        .commands
        .iter()
        .any(|c| !c.report.findings().is_empty());
    if verdict != Verdict::Clear || findings {
        // Findings go to stderr: stdout belongs to the command.
        report::write_preflight(&mut io::stderr(), &set, &checked, allow_unknown).ok();
    }
    if verdict != Verdict::Clear {
        if !force {
            eprintln!(
                "kbguard: not running {} (use --force to run it anyway)",
                argv.join(" ")
            );
            return Ok(verdict.exit_code());
        }
        eprintln!(
            "kbguard: WARNING: --force given: running {} despite the findings above",
            argv.join(" ")
        );
    }
    // `run -- X=1 cmd`: the leading assignments go into the command's environment, as a shell
    // would put them (the check above saw them the same way).
    let (assignments, argv) = cmdline::split_assignments(argv);
    if argv.is_empty() {
        return Err(Failure("run needs a command after the assignments".into()));
    }
    child_env.extend(assignments);
    match kbguard::child::run(argv, &child_env) {
        Ok(status) => Ok(kbguard::child::exit_code(status)),
        Err(err) => {
            eprintln!("kbguard: cannot start {}: {err}", argv[0]);
            Ok(if err.kind() == io::ErrorKind::NotFound {
                127
            } else {
                126
            })
        }
    }
}
