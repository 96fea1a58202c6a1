//! Every flag of the command line, in one place (clap's derive).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use kbguard::cmdline::Shell;
use kbguard::hooks::HookShell;
use kbguard::{FactOptions, Origin};

/// kbguard: checks maintenance commands against known problems from knowledge-base articles.
#[derive(Parser)]
#[command(name = "kbguard", version, about, max_term_width = 100)]
pub(crate) struct Cli {
    /// When to colour output: auto (a terminal without NO_COLOR), always, never.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, global = true)]
    pub(crate) color: ColorChoice,
    #[command(subcommand)]
    pub(crate) command: Cmd,
}

/// `--color`.
#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum ColorChoice {
    /// Colour a stream that is a terminal, unless NO_COLOR is set.
    Auto,
    /// Always colour.
    Always,
    /// Never colour.
    Never,
}

#[derive(Args, Clone, Default)]
pub(crate) struct RuleArgs {
    /// Also load rules and records from DIR (or a single .ron file); repeatable. KBGUARD_RULES
    /// (a path list) adds more.
    #[arg(long = "rules", value_name = "DIR")]
    pub(crate) rules: Vec<PathBuf>,
    /// Do not load the rules and records built into kbguard.
    #[arg(long)]
    pub(crate) no_default_rules: bool,
    /// Load rule files afresh instead of from the compiled rule cache.
    #[arg(long)]
    pub(crate) no_cache: bool,
    /// Where `check` and `run` keep the compiled rule cache (default: the platform cache
    /// directory).
    #[arg(
        long,
        value_name = "DIR",
        env = "KBGUARD_CACHE_DIR",
        value_parser = maybe_path,
        hide_short_help = true
    )]
    pub(crate) cache_dir: Option<MaybePath>,
    /// Go on when rule files fail to load or validate, with the rules that did load. Without
    /// it, kbguard fails closed: `check` and `run` exit 2 and `run` starts nothing.
    #[arg(long)]
    pub(crate) ignore_rule_errors: bool,
}

impl RuleArgs {
    pub(crate) fn origins(&self) -> Vec<Origin> {
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
pub(crate) struct FactArgs {
    /// Evaluate the host described by this snapshot (RON, or JSON by extension) instead of
    /// probing this machine.
    #[arg(long = "facts", value_name = "FILE")]
    pub(crate) facts: Option<PathBuf>,
    /// Set a fact, overriding every other source: NAME=VALUE (env.VAR=VALUE sets a variable).
    #[arg(long = "set", value_name = "NAME=VALUE")]
    pub(crate) sets: Vec<String>,
}

impl FactArgs {
    pub(crate) fn options(&self) -> FactOptions {
        FactOptions {
            snapshot: self.facts.clone(),
            sets: self.sets.clone(),
        }
    }
}

#[derive(Args, Clone, Default)]
pub(crate) struct IndexArgs {
    /// The archive index (default: the platform data directory, e.g.
    /// ~/.local/share/kbguard/index).
    #[arg(long, value_name = "PATH", env = "KBGUARD_INDEX", value_parser = maybe_path)]
    pub(crate) index: Option<MaybePath>,
}

/// `kbguard shell ...`.
#[derive(Subcommand)]
pub(crate) enum ShellCmd {
    /// Add the hook to the shell's rc file (a marked block; again replaces it).
    Install(ShellArgs),
    /// Remove the hook's block from the shell's rc file.
    Uninstall(ShellArgs),
    /// Say whether the shell's rc file holds the hook.
    Status(ShellArgs),
}

/// Which shell and rc file.
#[derive(Args)]
pub(crate) struct ShellArgs {
    /// bash, zsh, fish or powershell (default: $SHELL's).
    #[arg(value_parser = parse_hook_shell)]
    pub(crate) shell: Option<HookShell>,
    /// The rc file (default: the shell's, e.g. ~/.bashrc).
    #[arg(long, value_name = "FILE")]
    pub(crate) rc: Option<PathBuf>,
    /// Print what would change; write nothing.
    #[arg(long)]
    pub(crate) dry_run: bool,
}

/// Archive advisories for `check` and `run`.
#[derive(Args, Clone, Default)]
pub(crate) struct AdvisoryArgs {
    #[command(flatten)]
    pub(crate) index: IndexArgs,
    /// Do not list archive advisories.
    #[arg(long)]
    pub(crate) no_advisories: bool,
    /// How many archive advisories per command at most.
    #[arg(long, value_name = "N", default_value_t = kbguard::advisories::DEFAULT_LIMIT)]
    pub(crate) advisory_limit: usize,
}

#[derive(Subcommand)]
pub(crate) enum KbCmd {
    /// Import a KB archive (a directory of QNNNNNN.TXT articles) into the index, replacing the
    /// previous index atomically.
    Import {
        /// The directory to import.
        dir: PathBuf,
        #[command(flatten)]
        index: IndexArgs,
        /// Also embed every article with the sentence-embedding model in MODEL_DIR
        /// (all-MiniLM-L6-v2: config.json, vocab.txt, model.safetensors), so that lookup ranks
        /// descriptions by meaning too; minutes, not seconds (docs/lookup.md)
        #[arg(long, value_name = "MODEL_DIR")]
        semantic: Option<PathBuf>,
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
    /// Draft a rule and an article record from one archive article, for a person to finish:
    /// writes OUT/rules/draft-QNNNNNN.ron and OUT/kb/QNNNNNN.ron (never over existing files).
    Draft {
        /// The article id, e.g. Q178311.
        id: String,
        #[command(flatten)]
        index: IndexArgs,
        /// Where to write the draft (default: the current directory).
        #[arg(long, value_name = "DIR", default_value = ".")]
        out: PathBuf,
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
pub(crate) enum Cmd {
    /// The imported KB archive: import, stats, show.
    #[command(subcommand)]
    Kb(KbCmd),
    /// Check a command (and the host) against the rules before running it.
    Check(CheckArgs),
    /// Check a command, then run it only when nothing blocks.
    Run(RunArgs),
    /// Show the facts collected, each with its source.
    Facts {
        #[command(flatten)]
        rules: RuleArgs,
        #[command(flatten)]
        facts: FactArgs,
        /// Print JSON.
        #[arg(long)]
        json: bool,
        /// Write a snapshot of this host to FILE (RON for `.ron`, else JSON), in the format
        /// `--facts` reads: for a helpdesk to evaluate it anywhere.
        #[arg(long, value_name = "FILE", conflicts_with = "probe")]
        save: Option<PathBuf>,
        /// Answer these facts only (family facts too: `file.version:C:\exchsrvr\bin\isinteg.exe`),
        /// each with its source or why it is unknown; exit 3 when one is unknown.
        #[arg(long, value_name = "FACT")]
        probe: Vec<String>,
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
    Lint(LintArgs),
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
        /// Also write the results as JUnit XML to FILE.
        #[arg(long, value_name = "FILE")]
        junit: Option<PathBuf>,
    },
    /// Show how one rule evaluates: each predicate, its value, and each fact's source.
    Explain(ExplainArgs),
    /// Re-check recorded decisions (`check --record`) against the rules loaded now, from their
    /// recorded facts only; exit 1 when any decision changed.
    Replay {
        /// The record file.
        file: PathBuf,
        #[command(flatten)]
        rules: RuleArgs,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Print the shell hook that checks each line before the shell runs it, to `eval` from
    /// the shell's rc file: `eval "$(kbguard init bash)"`, `kbguard init fish | source`.
    Init {
        /// bash, zsh, fish or powershell.
        #[arg(value_parser = parse_hook_shell)]
        shell: HookShell,
    },
    /// Add, remove or show the hook's block in a shell's rc file.
    #[command(subcommand)]
    Shell(ShellCmd),
    /// Serve the helpdesk's web page and JSON API (docs/serve.md): search, articles, checks of
    /// a customer's snapshot. Binds loopback unless told otherwise; SIGTERM stops it gracefully.
    Serve {
        /// The address to listen on.
        #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8178")]
        listen: String,
        #[command(flatten)]
        rules: RuleArgs,
        #[command(flatten)]
        index: IndexArgs,
    },
    /// Print a completion script for SHELL (bash, zsh, fish, powershell, elvish), generated
    /// from this command line's definition.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print kbguard's man page (roff), generated from this command line's definition.
    Man,
    /// Find the articles and rules that describe an error message.
    Lookup(LookupArgs),
}

#[derive(Args, Clone, Default)]
pub(crate) struct ProductArgs {
    /// Rank articles that apply to this product first (e.g. "Exchange", "Windows NT").
    #[arg(long, value_name = "NAME")]
    pub(crate) product: Option<String>,
    /// With --product: the version it must apply to (5.5 matches 5.5.2653).
    #[arg(long, value_name = "V", requires = "product")]
    pub(crate) version: Option<String>,
    /// Show only articles that apply to the product (or to the host's products).
    #[arg(long)]
    pub(crate) only_product: bool,
    /// Rank articles that apply to this host's products first: a snapshot (RON, or JSON by
    /// extension), as `check` takes it.
    #[arg(long = "facts", value_name = "FILE")]
    pub(crate) facts: Option<PathBuf>,
    /// A host fact, as `check` takes it (e.g. product.exchange.version=5.5.2653).
    #[arg(long = "set", value_name = "NAME=VALUE")]
    pub(crate) sets: Vec<String>,
}

/// `kbguard check`.
#[derive(Args)]
pub(crate) struct CheckArgs {
    #[command(flatten)]
    pub(crate) rules: RuleArgs,
    #[command(flatten)]
    pub(crate) facts: FactArgs,
    /// Print JSON.
    #[arg(long)]
    pub(crate) json: bool,
    /// Do not stop when a block rule cannot be decided.
    #[arg(long)]
    pub(crate) allow_unknown: bool,
    /// Check a whole command line as a shell would run it: each command it runs, after
    /// `cd`s and assignments on it (instead of a COMMAND after `--`).
    #[arg(long, value_name = "TEXT", conflicts_with = "command")]
    pub(crate) line: Option<String>,
    /// The shell whose syntax --line is in: sh, bash, zsh, fish, cmd, powershell (default:
    /// cmd on Windows, else $SHELL's, else sh).
    #[arg(long, value_name = "SHELL", value_parser = parse_shell, requires = "line")]
    pub(crate) shell: Option<Shell>,
    #[command(flatten)]
    pub(crate) advisories: AdvisoryArgs,
    /// Append this decision to FILE as one JSON line (docs/records.md); `kbguard replay FILE`
    /// re-checks it later.
    #[arg(long, value_name = "FILE", env = "KBGUARD_RECORD", value_parser = maybe_path)]
    pub(crate) record: Option<MaybePath>,
    /// Treat an archive advisory for a product this host runs as a warning: exit 4 when
    /// nothing else stops the command.
    #[arg(long)]
    pub(crate) strict: bool,
    /// Print the findings and advisories as SARIF 2.1.0 (for code-scanning dashboards).
    #[arg(long, conflicts_with = "json")]
    pub(crate) sarif: bool,
    /// The command, after `--`; without one only environment checks run.
    #[arg(last = true, value_name = "COMMAND")]
    pub(crate) command: Vec<String>,
}

/// `kbguard run`.
#[derive(Args)]
pub(crate) struct RunArgs {
    #[command(flatten)]
    pub(crate) rules: RuleArgs,
    #[command(flatten)]
    pub(crate) facts: FactArgs,
    /// Do not stop when a block rule cannot be decided.
    #[arg(long)]
    pub(crate) allow_unknown: bool,
    /// Run the command even when a rule blocks it.
    #[arg(long)]
    pub(crate) force: bool,
    /// Apply the structured workarounds of triggered rules to the command's environment,
    /// re-check, and run if nothing blocks any more.
    #[arg(long)]
    pub(crate) apply_workarounds: bool,
    #[command(flatten)]
    pub(crate) advisories: AdvisoryArgs,
    /// Append this decision, and the command's exit status, to FILE as one JSON line.
    #[arg(long, value_name = "FILE", env = "KBGUARD_RECORD", value_parser = maybe_path)]
    pub(crate) record: Option<MaybePath>,
    /// The command, after `--`.
    #[arg(last = true, required = true, value_name = "COMMAND")]
    pub(crate) command: Vec<String>,
}

/// `kbguard explain`.
#[derive(Args)]
pub(crate) struct ExplainArgs {
    /// The rule's id.
    pub(crate) rule: String,
    #[command(flatten)]
    pub(crate) rules: RuleArgs,
    #[command(flatten)]
    pub(crate) facts: FactArgs,
    /// Print JSON.
    #[arg(long)]
    pub(crate) json: bool,
    /// The command, after `--`.
    #[arg(last = true, value_name = "COMMAND")]
    pub(crate) command: Vec<String>,
}

/// `kbguard lint`.
#[derive(Args)]
pub(crate) struct LintArgs {
    /// Say what one lint code means (e.g. `unmatchable-code`), or list every code with
    /// `--explain all`.
    #[arg(long, value_name = "CODE", conflicts_with_all = ["paths", "archive"])]
    pub(crate) explain: Option<String>,
    #[command(flatten)]
    pub(crate) rules: RuleArgs,
    /// Files or directories to lint on their own; without them, the active set.
    pub(crate) paths: Vec<PathBuf>,
    /// With PATHS: lint them together with the built-in rules and records.
    #[arg(long)]
    pub(crate) with_defaults: bool,
    /// Also check every rule's evidence against the imported archive: quotes found in their
    /// articles, fixed bounds agreeing with the service-pack fix lists. `--archive=INDEX`
    /// names the index (else --index, KBGUARD_INDEX or the platform data directory).
    #[arg(long, value_name = "INDEX", num_args = 0..=1, require_equals = true)]
    pub(crate) archive: Option<Option<PathBuf>>,
    #[command(flatten)]
    pub(crate) index: IndexArgs,
}

/// `kbguard lookup`.
#[derive(Args)]
pub(crate) struct LookupArgs {
    #[command(flatten)]
    pub(crate) rules: RuleArgs,
    /// Print JSON.
    #[arg(long)]
    pub(crate) json: bool,
    /// How many hits at most.
    #[arg(long, default_value_t = 10)]
    pub(crate) limit: usize,
    /// Read one query per line from FILE (`-` for stdin); print one result per line.
    #[arg(long, value_name = "FILE", conflicts_with = "query")]
    pub(crate) batch: Option<PathBuf>,
    #[command(flatten)]
    pub(crate) index: IndexArgs,
    #[command(flatten)]
    pub(crate) products: ProductArgs,
    /// The error message, or a description of the problem (may start with `-`:
    /// `kbguard lookup "-1018 JET_errReadVerifyFailure"`).
    #[arg(required_unless_present = "batch", allow_hyphen_values = true)]
    pub(crate) query: Option<String>,
}

/// `--shell NAME`.
fn parse_shell(name: &str) -> Result<Shell, String> {
    Shell::from_program(name).ok_or_else(|| {
        let names: Vec<&str> = Shell::ALL.iter().map(|s| s.name()).collect();
        format!("unknown shell {name:?}; one of {}", names.join(", "))
    })
}

/// A path from a flag or its environment variable, where an empty variable means unset (as
/// shells treat `VAR=`), not "a path with no name".
#[derive(Clone, Debug)]
pub(crate) struct MaybePath(Option<PathBuf>);

impl MaybePath {
    /// The path, unless it was empty.
    pub(crate) fn path(opt: Option<&MaybePath>) -> Option<PathBuf> {
        opt.and_then(|m| m.0.clone())
    }
}

impl From<PathBuf> for MaybePath {
    fn from(path: PathBuf) -> MaybePath {
        MaybePath(Some(path))
    }
}

fn maybe_path(text: &str) -> Result<MaybePath, String> {
    Ok(MaybePath((!text.is_empty()).then(|| PathBuf::from(text))))
}

/// A shell kbguard has a hook for.
fn parse_hook_shell(name: &str) -> Result<HookShell, String> {
    HookShell::from_name(name).ok_or_else(|| {
        let names: Vec<&str> = HookShell::ALL.iter().map(|s| s.name()).collect();
        format!("no hook for {name:?}; one of {}", names.join(", "))
    })
}
