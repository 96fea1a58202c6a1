//! Facts: the typed, dotted-name description of the host a command is about to run on.
//!
//! Owns collecting facts from their sources (the catalogue of names and types is
//! [`crate::schema`]'s), and the environment. Sources, highest precedence first: `--set name=value`; a host snapshot
//! (`--facts FILE`, RON or JSON); probes declared under `rules/`; built-in probes. A snapshot
//! describes another host, so when one is given the local host is not probed at all and a fact
//! the snapshot lacks is unknown. Probes only read metadata; nothing here runs a program.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use miette::Diagnostic;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::model::{FactType, FactValue, Literal, OsFamily, ProbeRead, Transform, ValueError};
use crate::probe::{LocalHost, Prober, RegistryOnly, ANOTHER_HOST};
use crate::registry::{RegFile, RegValue};
use crate::schema::{is_fact_name, split_family, unknown_fact_help, Catalogue, ENV_PREFIX};
use crate::span::{Location, SourceFile};
use crate::version::Version;

/// Where a fact's value came from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "detail", rename_all = "kebab-case")]
pub enum FactSource {
    /// `--set` on the command line.
    CommandLine,
    /// A host snapshot file.
    Snapshot(String),
    /// A probe declared in a rule file (what it read).
    Probe(String),
    /// kbguard's own probe.
    Builtin,
    /// The local process environment.
    ProcessEnvironment,
    /// Bound from the command's arguments by the rule's intent.
    Command,
    /// A rule's test case.
    TestCase,
    /// A workaround applied by `run --apply-workarounds`.
    Workaround(String),
    /// Set by the checked line itself (`VAR=V cmd`, `set VAR=V && cmd`, `cd DIR && cmd`).
    Line(String),
}

impl fmt::Display for FactSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FactSource::CommandLine => f.write_str("--set"),
            FactSource::Snapshot(p) => write!(f, "snapshot {p}"),
            FactSource::Probe(what) => write!(f, "probe: {what}"),
            FactSource::Builtin => f.write_str("built-in probe"),
            FactSource::ProcessEnvironment => f.write_str("process environment"),
            FactSource::Command => f.write_str("command line of the checked command"),
            FactSource::TestCase => f.write_str("test case"),
            FactSource::Workaround(rule) => write!(f, "workaround of {rule}"),
            FactSource::Line(what) => write!(f, "the checked line: {what}"),
        }
    }
}

/// A fact's value and where it came from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Fact {
    /// The value.
    pub value: FactValue,
    /// Its source.
    pub source: FactSource,
}

/// Which host the facts describe: the local one can be probed further (files, PATH); another
/// host (a snapshot or a test case) cannot.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Host {
    /// This machine.
    Local,
    /// Another machine, described by a snapshot or a test case.
    Remote,
}

/// The environment variables of the host, when known.
#[derive(Clone, Debug, Serialize)]
pub struct Environment {
    vars: BTreeMap<String, Fact>,
    // Windows looks variables up case-insensitively.
    case_insensitive: bool,
    // Variables known to be unset although the rest of the environment is not known (`env -u X`
    // on a host whose environment is unknown).
    #[serde(skip)]
    unset: BTreeSet<String>,
    // Whether a variable not in `vars` is known to be unset. A command line's assignments to
    // an unknown environment make only those variables known.
    #[serde(skip)]
    partial: bool,
}

/// The value of an environment variable, in three states.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EnvValue<'a> {
    /// The environment is not known.
    Unknown,
    /// Known not to be set.
    Unset,
    /// Set, with this value.
    Set(&'a Fact),
}

/// The facts about one host.
#[derive(Clone, Debug, Serialize)]
pub struct FactSet {
    host: Host,
    facts: BTreeMap<String, Fact>,
    env: Option<Environment>,
    // The registry export the facts came from, which family facts (a service's start type)
    // are read from as well.
    #[serde(skip)]
    registry: Option<Arc<RegFile>>,
}

impl FactSet {
    /// An empty fact set for a remote host with an unknown environment.
    pub fn remote() -> FactSet {
        FactSet {
            host: Host::Remote,
            facts: BTreeMap::new(),
            env: None,
            registry: None,
        }
    }

    /// Which host these facts describe.
    pub fn host(&self) -> Host {
        self.host
    }

    /// True when local files and PATH may be consulted: the facts describe this machine and
    /// its OS family has not been overridden to another one.
    pub fn is_probeable(&self) -> bool {
        self.host == Host::Local
            && self
                .get("os.family")
                .is_none_or(|f| f.value == FactValue::Str(OsFamily::current().as_str().into()))
    }

    /// The fact called `name` (`env.X` reads the environment). `volume.free:PATH` is also
    /// answered by the longest `volume.free:PREFIX` given for a folder or volume holding PATH.
    pub fn get(&self, name: &str) -> Option<&Fact> {
        if let Some(var) = name.strip_prefix(ENV_PREFIX) {
            return match self.env_var(var) {
                EnvValue::Set(fact) => Some(fact),
                _ => None,
            };
        }
        if let Some(fact) = self.facts.get(name) {
            return Some(fact);
        }
        let ("volume.free", path) = split_family(name)? else {
            return None;
        };
        let path = path.replace('\\', "/").to_lowercase();
        self.facts
            .iter()
            .filter_map(|(key, fact)| {
                let (_, prefix) = split_family(key).filter(|(f, _)| *f == "volume.free")?;
                let prefix = prefix.replace('\\', "/").to_lowercase();
                let prefix = prefix.trim_end_matches('/');
                let inside = path == prefix || path.starts_with(&format!("{prefix}/"));
                inside.then_some((prefix.len(), fact))
            })
            .max_by_key(|(len, _)| *len)
            .map(|(_, fact)| fact)
    }

    /// Sets a fact (`env.X` sets an environment variable, making the environment known).
    pub fn insert(&mut self, name: &str, fact: Fact) {
        match name.strip_prefix(ENV_PREFIX) {
            Some(var) => {
                let windows = self.is_windows();
                let env = self.env.get_or_insert_with(|| Environment {
                    vars: BTreeMap::new(),
                    case_insensitive: windows,
                    unset: BTreeSet::new(),
                    partial: false,
                });
                env.vars.insert(var.to_string(), fact);
            }
            None => {
                self.facts.insert(name.to_string(), fact);
            }
        }
    }

    /// Replaces the whole environment.
    pub fn set_environment(&mut self, vars: BTreeMap<String, String>, source: FactSource) {
        let case_insensitive = self.is_windows();
        self.env = Some(Environment {
            vars: vars
                .into_iter()
                .map(|(k, v)| {
                    (
                        k,
                        Fact {
                            value: FactValue::Str(v),
                            source: source.clone(),
                        },
                    )
                })
                .collect(),
            case_insensitive,
            unset: BTreeSet::new(),
            partial: false,
        });
    }

    /// Sets (`Some`) or removes (`None`) one variable, as an assignment on a command line does:
    /// the other variables stay as known, or as unknown, as they were.
    pub fn assign_env(&mut self, var: &str, value: Option<Fact>) {
        let case_insensitive = self.is_windows();
        let env = self.env.get_or_insert_with(|| Environment {
            vars: BTreeMap::new(),
            case_insensitive,
            unset: BTreeSet::new(),
            partial: true,
        });
        let same = |k: &String| {
            k == var || ((env.case_insensitive || case_insensitive) && k.eq_ignore_ascii_case(var))
        };
        env.vars.retain(|k, _| !same(k));
        env.unset.retain(|k| !same(k));
        match value {
            Some(fact) => {
                env.vars.insert(var.to_string(), fact);
            }
            None => {
                env.unset.insert(var.to_string());
            }
        }
    }

    /// Forgets a fact, so that it is unknown (a `cd` to a folder kbguard cannot tell).
    pub fn remove(&mut self, name: &str) {
        self.facts.remove(name);
    }

    fn is_windows(&self) -> bool {
        self.facts
            .get("os.family")
            .is_some_and(|f| f.value == FactValue::Str("windows".into()))
    }

    /// An environment variable of the host.
    pub fn env_var(&self, var: &str) -> EnvValue<'_> {
        let Some(env) = &self.env else {
            return EnvValue::Unknown;
        };
        let found = env.vars.get(var).or_else(|| {
            (env.case_insensitive || self.is_windows())
                .then(|| {
                    env.vars
                        .iter()
                        .find(|(k, _)| k.eq_ignore_ascii_case(var))
                        .map(|(_, v)| v)
                })
                .flatten()
        });
        if let Some(fact) = found {
            return EnvValue::Set(fact);
        }
        let insensitive = env.case_insensitive || self.is_windows();
        let unset = env
            .unset
            .iter()
            .any(|k| k == var || (insensitive && k.eq_ignore_ascii_case(var)));
        if env.partial && !unset {
            EnvValue::Unknown
        } else {
            EnvValue::Unset
        }
    }

    /// Whether the environment is known at all.
    pub fn env_known(&self) -> bool {
        self.env.is_some()
    }

    /// Every fact but the environment, by name.
    pub fn iter(&self) -> impl Iterator<Item = (&String, &Fact)> {
        self.facts.iter()
    }

    /// Every environment variable, when known.
    pub fn env_iter(&self) -> Option<impl Iterator<Item = (&String, &Fact)>> {
        self.env.as_ref().map(|e| e.vars.iter())
    }
}

/// Why facts could not be collected.
#[derive(Debug, Error, Diagnostic)]
pub enum FactError {
    /// `--set` was not `name=value`.
    #[error("--set {0}: expected NAME=VALUE, e.g. --set cluster.node=true")]
    #[diagnostic(code(kbguard::facts::set_syntax))]
    SetSyntax(String),
    /// A fact name nothing declares.
    #[error("{at}: unknown fact `{name}`")]
    #[diagnostic(code(kbguard::facts::unknown), help("{help}"))]
    Unknown {
        /// Where it was named (`--set` or a snapshot location).
        at: String,
        /// The name.
        name: String,
        /// Close names, or how to list them.
        help: String,
    },
    /// A value that does not fit the fact's type.
    #[error("{at}: fact `{name}`: {reason}")]
    #[diagnostic(code(kbguard::facts::type_mismatch))]
    BadValue {
        /// Where it was given.
        at: String,
        /// The fact.
        name: String,
        /// Why the value does not fit.
        reason: ValueError,
    },
    /// The snapshot file could not be read or parsed.
    #[error("{at}: {reason}")]
    #[diagnostic(code(kbguard::facts::snapshot), help("a snapshot is (facts: {{\"name\": value, ...}}, env: {{\"VAR\": \"value\"}}) in RON, or the same object in JSON; see examples/"))]
    Snapshot {
        /// Path, with line and column where known.
        at: String,
        /// What went wrong.
        reason: String,
    },
}

/// A host snapshot: the facts and environment of a machine, for evaluating it from elsewhere.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Snapshot {
    /// Free text: whose machine, when taken.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Facts by dotted name.
    #[serde(default)]
    pub facts: BTreeMap<String, Literal>,
    /// The whole environment; absent means unknown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env: Option<BTreeMap<String, String>>,
    /// Some environment variables only: a value, or null for unset; the others unknown (what
    /// `facts --save` takes: the variables the rules read).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub env_vars: BTreeMap<String, Option<String>>,
    /// Where each fact came from on the collected host.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub sources: BTreeMap<String, String>,
    /// Who, when and with what the snapshot was collected (`facts --save`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub collected: Option<SnapshotOrigin>,
}

impl Snapshot {
    /// The snapshot as RON, written as `--facts` reads it (options bare, without `Some`).
    pub fn to_ron(&self) -> Result<String, ron::Error> {
        crate::load::ron_options().to_string_pretty(self, ron::ser::PrettyConfig::default())
    }
}

/// Who, when and with what a snapshot was collected.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SnapshotOrigin {
    /// The host's name.
    pub host: String,
    /// When, UTC.
    pub time: String,
    /// The kbguard version that collected it.
    pub kbguard: String,
    /// The digest of the rules loaded (as decision records give it).
    pub ruleset: String,
}

/// Where facts come from for one run.
#[derive(Clone, Debug, Default)]
pub struct FactOptions {
    /// `--facts FILE`.
    pub snapshot: Option<PathBuf>,
    /// `--set NAME=VALUE`, in order (a later one wins).
    pub sets: Vec<String>,
}

/// Reads a snapshot file (JSON when it ends in `.json`, RON otherwise).
pub fn read_snapshot(path: &Path) -> Result<(Snapshot, SourceFile), FactError> {
    let name = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|e| FactError::Snapshot {
        at: name.clone(),
        reason: e.to_string(),
    })?;
    let text = String::from_utf8(bytes).map_err(|_| FactError::Snapshot {
        at: name.clone(),
        reason: "not valid UTF-8 text".into(),
    })?;
    let json = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"));
    parse_snapshot(&name, &text, json)
}

/// The facts of a snapshot given as text (an upload to `kbguard serve`): JSON or RON, typed
/// against `catalogue`; `name` says where it came from in errors and sources.
pub fn snapshot_facts(
    catalogue: &Catalogue,
    name: &str,
    text: &str,
    json: bool,
) -> Result<FactSet, FactError> {
    let (snapshot, file) = parse_snapshot(name, text, json)?;
    snapshot_set(catalogue, &snapshot, &file)
}

/// Parses a snapshot's text.
fn parse_snapshot(name: &str, text: &str, json: bool) -> Result<(Snapshot, SourceFile), FactError> {
    let name = name.to_string();
    let file = SourceFile {
        name: name.clone(),
        text: text.into(),
    };
    let parsed = if json {
        serde_json::from_str(&file.text).map_err(|e| FactError::Snapshot {
            at: format!("{name}:{}:{}", e.line(), e.column()),
            reason: e.to_string(),
        })
    } else {
        crate::load::ron_options()
            .from_str(&file.text)
            .map_err(|e| FactError::Snapshot {
                at: format!("{name}:{}:{}", e.span.start.line, e.span.start.col),
                reason: e.code.to_string(),
            })
    };
    Ok((parsed?, file))
}

/// Collects the facts for one run from every source.
pub fn collect(catalogue: &Catalogue, options: &FactOptions) -> Result<FactSet, FactError> {
    let mut set = match &options.snapshot {
        Some(path) => from_snapshot(catalogue, path)?,
        None => probe_local(catalogue),
    };
    for assignment in &options.sets {
        let (name, text) = assignment
            .split_once('=')
            .filter(|(n, _)| !n.trim().is_empty())
            .ok_or_else(|| FactError::SetSyntax(assignment.clone()))?;
        let name = name.trim();
        let value = typed_value(catalogue, name, &Literal::Str(text.to_string()), || {
            format!("--set {assignment}")
        })?;
        set.insert(
            name,
            Fact {
                value,
                source: FactSource::CommandLine,
            },
        );
    }
    Ok(set)
}

/// Types a value against the catalogue, or says why it cannot be.
pub fn typed_value(
    catalogue: &Catalogue,
    name: &str,
    literal: &Literal,
    at: impl Fn() -> String,
) -> Result<FactValue, FactError> {
    let ty = catalogue.type_of(name).ok_or_else(|| FactError::Unknown {
        at: at(),
        name: name.to_string(),
        help: unknown_fact_help(catalogue, name),
    })?;
    FactValue::coerce(literal, ty).map_err(|reason| FactError::BadValue {
        at: at(),
        name: name.to_string(),
        reason,
    })
}

fn from_snapshot(catalogue: &Catalogue, path: &Path) -> Result<FactSet, FactError> {
    if path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("reg"))
    {
        return from_reg_file(catalogue, path);
    }
    let (snapshot, file) = read_snapshot(path)?;
    snapshot_set(catalogue, &snapshot, &file)
}

/// A parsed snapshot's facts and environment, typed.
fn snapshot_set(
    catalogue: &Catalogue,
    snapshot: &Snapshot,
    file: &SourceFile,
) -> Result<FactSet, FactError> {
    let source = FactSource::Snapshot(file.name.clone());
    let mut set = FactSet::remote();
    // os.family first: it decides how the environment is looked up.
    let mut entries: Vec<_> = snapshot.facts.iter().collect();
    entries.sort_by_key(|(name, _)| name.as_str() != "os.family");
    for (name, literal) in entries {
        let at = || {
            file.find(0, &format!("{name:?}"))
                .map_or_else(|| file.name.clone(), |l: Location| l.to_string())
        };
        let value = typed_value(catalogue, name, literal, at)?;
        set.insert(
            name,
            Fact {
                value,
                source: source.clone(),
            },
        );
    }
    if let Some(env) = &snapshot.env {
        set.set_environment(env.clone(), source.clone());
    }
    for (var, value) in &snapshot.env_vars {
        let fact = value.as_ref().map(|v| Fact {
            value: FactValue::Str(v.clone()),
            source: source.clone(),
        });
        set.assign_env(var, fact);
    }
    Ok(set)
}

/// Probes this machine: built-in facts, the process environment, then declared probes.
pub fn probe_local(catalogue: &Catalogue) -> FactSet {
    let mut set = FactSet {
        host: Host::Local,
        facts: BTreeMap::new(),
        env: None,
        registry: None,
    };
    let os = OsFamily::current();
    let builtin = |value| Fact {
        value,
        source: FactSource::Builtin,
    };
    set.insert("os.family", builtin(FactValue::Str(os.as_str().into())));
    if let Some(version) = local_os_version() {
        set.insert("os.version", builtin(FactValue::Version(version)));
    }
    let host = gethostname::gethostname().to_string_lossy().into_owned();
    if !host.is_empty() {
        set.insert("host.name", builtin(FactValue::Str(host)));
    }
    if let Some(cwd) = std::env::current_dir()
        .ok()
        .and_then(|d| d.into_os_string().into_string().ok())
    {
        set.insert("host.cwd", builtin(FactValue::Str(cwd)));
    }
    let vars: BTreeMap<String, String> = std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
        .collect();
    set.set_environment(vars, FactSource::ProcessEnvironment);
    run_declared(catalogue, &mut set, &LocalHost, os, |read| {
        FactSource::Probe(describe_probe(read))
    });
    set
}

/// The facts a `regedit /e` export gives: those whose declared probe reads the registry (and
/// those that follow from them); the rest, files and services among them, stay unknown.
fn from_reg_file(catalogue: &Catalogue, path: &Path) -> Result<FactSet, FactError> {
    let name = path.display().to_string();
    let at = |reason: String| FactError::Snapshot {
        at: name.clone(),
        reason,
    };
    let size = std::fs::metadata(path)
        .map_err(|e| at(e.to_string()))?
        .len();
    if size > crate::registry::FILE_LIMIT {
        return Err(at(format!(
            "{size} bytes, over the {} bytes kbguard reads from a registry export",
            crate::registry::FILE_LIMIT
        )));
    }
    let bytes = std::fs::read(path).map_err(|e| at(e.to_string()))?;
    let file = RegFile::parse(&bytes).map_err(|e| FactError::Snapshot {
        at: if e.line == 0 {
            name.clone()
        } else {
            format!("{name}:{}", e.line)
        },
        reason: e.reason,
    })?;
    let mut set = FactSet::remote();
    set.insert(
        "os.family",
        Fact {
            value: FactValue::Str(OsFamily::Windows.as_str().into()),
            source: FactSource::Snapshot(format!("{name}: a Windows registry export")),
        },
    );
    run_declared(
        catalogue,
        &mut set,
        &RegistryOnly(&file),
        OsFamily::Windows,
        |read| FactSource::Snapshot(format!("{name}: {}", describe_probe(read))),
    );
    set.registry = Some(Arc::new(file));
    Ok(set)
}

/// Runs the declared probes of `catalogue` meant for `os` through `prober`, into `set`, until
/// no more facts can be read: a probe's path may name a fact another probe reads
/// (`{exchange.bin}\isinteg.exe`).
fn run_declared(
    catalogue: &Catalogue,
    set: &mut FactSet,
    prober: &dyn Prober,
    os: OsFamily,
    source: impl Fn(&ProbeRead) -> FactSource,
) {
    loop {
        let mut added = false;
        for (name, info) in catalogue.iter() {
            let Some(probe) = &info.probe else { continue };
            if set.facts.contains_key(name) || !probe.runs_on(os) {
                continue;
            }
            if let Ok(value) = run_probe(&probe.read, info.ty, set, prober) {
                let source = source(&probe.read);
                set.insert(name, Fact { value, source });
                added = true;
            }
        }
        if !added {
            break;
        }
    }
}

/// The prober for a fact set: this machine when the facts describe it, the registry of the
/// export they came from, else nothing.
pub fn prober_for(facts: &FactSet) -> Box<dyn Prober + '_> {
    match &facts.registry {
        _ if facts.is_probeable() => Box::new(LocalHost),
        Some(registry) => Box::new(RegistryOnly(registry.as_ref())),
        None => Box::new(ANOTHER_HOST),
    }
}

/// One fact, as `kbguard facts --probe NAME` answers it: known, read now (a family fact, its
/// `{fact}` templates filled in), or unknown with the reason.
pub fn probe_one(catalogue: &Catalogue, host: &FactSet, name: &str) -> Result<Fact, String> {
    if let Some(fact) = host.get(name) {
        return Ok(fact.clone());
    }
    if let Some((family, arg)) = split_family(name) {
        let arg = render_template(arg, host);
        if !arg.missing.is_empty() {
            return Err(format!("its argument needs {}", arg.missing.join(", ")));
        }
        let value = prober_for(host).family(family, &arg.text)?;
        return Ok(Fact {
            value,
            source: FactSource::Probe(format!("{family} of {}", arg.text)),
        });
    }
    if let Some(var) = name.strip_prefix(ENV_PREFIX) {
        return Err(match host.env_var(var) {
            EnvValue::Unset => format!("{var} is not set"),
            _ => "the environment is not known".into(),
        });
    }
    let info = catalogue.get(name).ok_or_else(|| {
        format!(
            "unknown fact `{name}`: {}",
            unknown_fact_help(catalogue, name)
        )
    })?;
    let Some(probe) = &info.probe else {
        return Err("no probe can read it: a person says it, with --set or in a snapshot".into());
    };
    let os = OsFamily::current();
    if host.host() == Host::Local && !probe.runs_on(os) {
        let on: Vec<&str> = probe.os.iter().map(|o| o.as_str()).collect();
        return Err(format!(
            "its probe ({}) runs on {} only",
            describe_probe(&probe.read),
            on.join(", ")
        ));
    }
    let value = run_probe(&probe.read, info.ty, host, prober_for(host).as_ref())
        .map_err(|why| format!("{}: {why}", describe_probe(&probe.read)))?;
    Ok(Fact {
        value,
        source: FactSource::Probe(describe_probe(&probe.read)),
    })
}

/// One answer of `kbguard facts --probe`: the value and its source, or why it is unknown.
#[derive(Clone, Debug, Serialize)]
pub struct ProbeAnswer {
    /// The fact asked for.
    pub fact: String,
    /// Its value, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<FactValue>,
    /// Where the value came from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// Why it is unknown.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unknown: Option<String>,
}

impl ProbeAnswer {
    /// The answer for `fact` from [`probe_one`]'s result.
    pub fn new(fact: &str, read: Result<Fact, String>) -> ProbeAnswer {
        let (value, source, unknown) = match read {
            Ok(f) => (Some(f.value), Some(f.source.to_string()), None),
            Err(why) => (None, None, Some(why)),
        };
        ProbeAnswer {
            fact: fact.to_string(),
            value,
            source,
            unknown,
        }
    }
}

#[cfg(not(windows))]
fn local_os_version() -> Option<Version> {
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").ok()?;
    Version::parse_prefix(release.trim())
}

/// Windows' version (`10.0.19045`, `5.0.2195`) from the registry, which holds it for every
/// release: `CurrentMajorVersionNumber`/`CurrentMinorVersionNumber` from Windows 10 on (whose
/// `CurrentVersion` stays `6.3`), `CurrentVersion` before, then `CurrentBuildNumber`.
#[cfg(windows)]
fn local_os_version() -> Option<Version> {
    let registry = LocalHost.registry().ok()?;
    let key = r"HKLM\SOFTWARE\Microsoft\Windows NT\CurrentVersion";
    let read = |name: &str| registry.value(key, name).ok().map(|v| v.to_string());
    let major_minor = match (
        read("CurrentMajorVersionNumber"),
        read("CurrentMinorVersionNumber"),
    ) {
        (Some(major), Some(minor)) => format!("{major}.{minor}"),
        _ => read("CurrentVersion")?,
    };
    let text = match read("CurrentBuildNumber") {
        Some(build) => format!("{major_minor}.{build}"),
        None => major_minor,
    };
    Version::parse_prefix(&text)
}

/// Says what a probe reads, for `kbguard facts`.
pub fn describe_probe(read: &ProbeRead) -> String {
    match read {
        ProbeRead::Env(var) => format!("environment variable {var}"),
        ProbeRead::FileExists(path) => format!("whether {path} exists"),
        ProbeRead::FileSize(path) => format!("size of {path}"),
        ProbeRead::FileVersion(path) => format!("file version of {path}"),
        ProbeRead::FileContains(path, pattern) => {
            format!("whether {path} holds /{}/", pattern.as_str())
        }
        ProbeRead::IniValue { path, section, key } => format!("{key} in [{section}] of {path}"),
        ProbeRead::Registry { key, value, .. } => format!("registry {key}\\{value}"),
        ProbeRead::RegistryKey(key) => format!("whether registry key {key} exists"),
        ProbeRead::RegistryValueExists { key, value } => {
            format!("whether registry value {key}\\{value} exists")
        }
    }
}

/// Reads one declared probe through `prober`, its `{fact}` templates filled from `facts`.
fn run_probe(
    read: &ProbeRead,
    ty: FactType,
    facts: &FactSet,
    prober: &dyn Prober,
) -> Result<FactValue, String> {
    let render = |template: &str| {
        let rendered = render_template(template, facts);
        if rendered.missing.is_empty() {
            Ok(rendered.text)
        } else {
            Err(format!("needs {}", rendered.missing.join(", ")))
        }
    };
    let typed = |text: &str| FactValue::parse(text, ty).map_err(|e| e.to_string());
    match read {
        ProbeRead::Env(var) => match facts.env_var(var) {
            EnvValue::Set(fact) => typed(&fact.value.to_string()),
            EnvValue::Unset => Err(format!("{var} is not set")),
            EnvValue::Unknown => Err("the environment is not known".into()),
        },
        ProbeRead::FileExists(template) => prober.family("file.exists", &render(template)?),
        ProbeRead::FileSize(template) => prober.family("file.size", &render(template)?),
        ProbeRead::FileVersion(template) => prober.family("file.version", &render(template)?),
        ProbeRead::FileContains(template, pattern) => {
            let text = prober.text(&render(template)?)?;
            Ok(FactValue::Bool(pattern.is_match(&text)))
        }
        ProbeRead::IniValue { path, section, key } => {
            let path = render(path)?;
            let text = prober.text(&path)?;
            let value = ini_value(&text, section, key)
                .ok_or_else(|| format!("{path} has no {key} in [{section}]"))?;
            typed(value)
        }
        ProbeRead::Registry {
            key,
            value,
            transform,
        } => {
            let key = render(key)?;
            let stored = prober.registry()?.value(&key, value)?;
            registry_fact(stored, transform, ty, facts)
                .map_err(|why| format!("{key}\\{value}: {why}"))
        }
        ProbeRead::RegistryKey(key) => prober
            .registry()?
            .key_exists(&render(key)?)
            .map(FactValue::Bool),
        ProbeRead::RegistryValueExists { key, value } => prober
            .registry()?
            .value_exists(&render(key)?, value)
            .map(FactValue::Bool),
    }
}

/// The value of `key` under `[section]` of an INI-style text (both without regard to case;
/// the first one counts, as Windows' profile functions take it).
fn ini_value<'t>(text: &'t str, section: &str, key: &str) -> Option<&'t str> {
    let mut inside = false;
    for line in text.lines().map(str::trim) {
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            inside = name.trim().eq_ignore_ascii_case(section);
        } else if inside && !line.starts_with(';') {
            if let Some((k, v)) = line.split_once('=') {
                if k.trim().eq_ignore_ascii_case(key) {
                    return Some(v.trim());
                }
            }
        }
    }
    None
}

/// A registry value made a fact's value: `REG_EXPAND_SZ` expanded from the host's environment,
/// then the declared transform, then typed.
fn registry_fact(
    stored: RegValue,
    transform: &Transform,
    ty: FactType,
    facts: &FactSet,
) -> Result<FactValue, String> {
    let text = match &stored {
        RegValue::Sz(s) => s.clone(),
        RegValue::ExpandSz(s) => expand_env(s, facts)?,
        RegValue::MultiSz(_) | RegValue::Dword(_) | RegValue::Qword(_) => stored.to_string(),
        RegValue::Binary(_) => return Err(format!("holds {stored}, not text or a number")),
    };
    let typed = |text: &str| FactValue::parse(text, ty).map_err(|e| e.to_string());
    match transform {
        Transform::AsStored => match (&stored, ty) {
            (RegValue::Dword(n), FactType::Bool) => Ok(FactValue::Bool(*n != 0)),
            _ => typed(&text),
        },
        Transform::Parent => {
            let trimmed = text.trim_end_matches(['\\', '/']);
            let cut = trimmed
                .rfind(['\\', '/'])
                .ok_or_else(|| format!("{text:?} has no folder"))?;
            // `C:\priv.edb` → `C:\`, not the drive-relative `C:`.
            let parent = &trimmed[..cut];
            if parent.ends_with(':') {
                typed(&trimmed[..=cut])
            } else {
                typed(parent)
            }
        }
        Transform::Join(rest) => typed(&format!("{}\\{rest}", text.trim_end_matches('\\'))),
        Transform::TrailingNumber => {
            let digits: String = text
                .trim_end()
                .chars()
                .rev()
                .take_while(char::is_ascii_digit)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect();
            if digits.is_empty() {
                return Err(format!("{text:?} does not end in a number"));
            }
            typed(&digits)
        }
        Transform::Matches(pattern) => Ok(FactValue::Bool(pattern.is_match(&text))),
        Transform::Build(ranges) | Transform::Table(ranges) => {
            let number: u32 = text
                .trim()
                .parse()
                .map_err(|_| format!("{text:?} is not a whole number"))?;
            let range = ranges
                .iter()
                .find(|r| (r.from..=r.to).contains(&number))
                .ok_or_else(|| format!("{number} is in no declared range"))?;
            match transform {
                Transform::Build(_) => typed(&format!("{}.{number}", range.value)),
                _ => typed(&range.value),
            }
        }
    }
}

/// `%VAR%` references filled from the host's environment (case ignored, as Windows does).
fn expand_env(text: &str, facts: &FactSet) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find('%') {
        out.push_str(&rest[..start]);
        let tail = &rest[start + 1..];
        let Some(end) = tail.find('%') else {
            out.push_str(&rest[start..]);
            return Ok(out);
        };
        let var = &tail[..end];
        match facts.env_var(var) {
            EnvValue::Set(fact) => out.push_str(&fact.value.to_string()),
            _ if var.is_empty() => out.push('%'),
            _ => return Err(format!("{text:?} needs %{var}%, which is not known")),
        }
        rest = &tail[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// A template with its `{fact}` references filled in where the facts are known.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rendered {
    /// The text; unknown references are left as `<name>`.
    pub text: String,
    /// Names referenced but unknown.
    pub missing: Vec<String>,
}

impl Rendered {
    /// The text, if every reference was known.
    pub fn complete(self) -> Option<String> {
        self.missing.is_empty().then_some(self.text)
    }
}

/// Fills a template's `{fact}` references from the facts.
pub fn render_template(template: &str, facts: &dyn FactLookup) -> Rendered {
    let mut text = String::with_capacity(template.len());
    let mut missing = Vec::new();
    let mut rest = template;
    while let Some(start) = rest.find(['{', '}']) {
        text.push_str(&rest[..start]);
        let tail = &rest[start..];
        if tail.starts_with("{{") || tail.starts_with("}}") {
            text.push_str(&tail[..1]);
            rest = &tail[2..];
            continue;
        }
        if tail.starts_with('{') {
            if let Some(end) = tail.find('}').filter(|&end| is_fact_name(&tail[1..end])) {
                let name = &tail[1..end];
                match facts.lookup(name) {
                    Some(fact) => text.push_str(&fact.value.to_string()),
                    None => {
                        text.push_str(&format!("<{name}>"));
                        missing.push(name.to_string());
                    }
                }
                rest = &tail[end + 1..];
                continue;
            }
        }
        text.push_str(&tail[..1]);
        rest = &tail[1..];
    }
    text.push_str(rest);
    Rendered { text, missing }
}

/// Anything facts can be looked up in by name.
pub trait FactLookup {
    /// The fact called `name`, if known.
    fn lookup(&self, name: &str) -> Option<Fact>;
}

impl FactLookup for FactSet {
    fn lookup(&self, name: &str) -> Option<Fact> {
        self.get(name).cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fact(v: FactValue) -> Fact {
        Fact {
            value: v,
            source: FactSource::TestCase,
        }
    }

    #[test]
    fn templates_render_known_and_mark_unknown() {
        let mut set = FactSet::remote();
        set.insert(
            "cluster.network_name",
            fact(FactValue::Str("EXCLUSTER".into())),
        );
        let r = render_template(
            "SET X={cluster.network_name} {{literal}} {nope.x} {not a ref}",
            &set,
        );
        assert_eq!(r.text, "SET X=EXCLUSTER {literal} <nope.x> {not a ref}");
        assert_eq!(r.missing, vec!["nope.x".to_string()]);
        assert_eq!(
            crate::schema::template_refs("a {b.c} {{d}} {e"),
            vec!["b.c"]
        );
    }

    #[test]
    fn environment_is_three_valued_and_windows_is_case_insensitive() {
        let mut set = FactSet::remote();
        assert_eq!(set.env_var("X"), EnvValue::Unknown);
        set.insert("os.family", fact(FactValue::Str("windows".into())));
        set.set_environment(
            BTreeMap::from([("Path".into(), "c:\\".into())]),
            FactSource::TestCase,
        );
        assert!(matches!(set.env_var("PATH"), EnvValue::Set(_)));
        assert_eq!(set.env_var("OTHER"), EnvValue::Unset);
    }

    #[test]
    fn set_overrides_and_types() {
        let catalogue = Catalogue::from_decls([]);
        let set = collect(
            &catalogue,
            &FactOptions {
                snapshot: None,
                sets: vec!["os.family=windows".into(), "env.FOO=bar".into()],
            },
        )
        .unwrap();
        assert_eq!(
            set.get("os.family").unwrap().source,
            FactSource::CommandLine
        );
        assert!(!set.is_probeable() || OsFamily::current() == OsFamily::Windows);
        assert_eq!(
            set.get("env.FOO").unwrap().value,
            FactValue::Str("bar".into())
        );
        let err = collect(
            &catalogue,
            &FactOptions {
                snapshot: None,
                sets: vec!["cluster.nod=true".into()],
            },
        )
        .unwrap_err();
        assert!(err.to_string().contains("unknown fact `cluster.nod`"));
    }

    /// A registry made of values, for the transforms.
    fn stored(value: RegValue, transform: Transform, ty: FactType) -> Result<FactValue, String> {
        let mut facts = FactSet::remote();
        facts.set_environment(
            BTreeMap::from([("SystemRoot".into(), r"C:\WINNT".into())]),
            FactSource::TestCase,
        );
        registry_fact(value, &transform, ty, &facts)
    }

    #[test]
    fn registry_values_become_facts_through_their_transform() {
        use crate::model::BuildRange;
        let sz = |s: &str| RegValue::Sz(s.into());
        let ranges = || {
            vec![
                BuildRange {
                    from: 1457,
                    to: 1959,
                    value: "5.0".into(),
                },
                BuildRange {
                    from: 1960,
                    to: 2999,
                    value: "5.5".into(),
                },
            ]
        };
        let version = |v: &str| FactValue::Version(v.parse().unwrap());
        assert_eq!(
            stored(
                RegValue::Dword(0xa5d),
                Transform::Build(ranges()),
                FactType::Version
            ),
            Ok(version("5.5.2653"))
        );
        assert!(stored(
            RegValue::Dword(837),
            Transform::Build(ranges()),
            FactType::Version
        )
        .unwrap_err()
        .contains("no declared range"));
        assert_eq!(
            stored(
                RegValue::Dword(1460),
                Transform::Table(ranges()),
                FactType::Str
            ),
            Ok(FactValue::Str("5.0".into()))
        );
        assert_eq!(
            stored(
                sz(r"C:\exchsrvr\mdbdata\priv.edb"),
                Transform::Parent,
                FactType::Str
            ),
            Ok(FactValue::Str(r"C:\exchsrvr\mdbdata".into()))
        );
        assert_eq!(
            stored(sz(r"C:\priv.edb"), Transform::Parent, FactType::Str),
            Ok(FactValue::Str(r"C:\".into()))
        );
        assert_eq!(
            stored(
                sz(r"C:\exchsrvr\"),
                Transform::Join("bin".into()),
                FactType::Str
            ),
            Ok(FactValue::Str(r"C:\exchsrvr\bin".into()))
        );
        assert_eq!(
            stored(
                sz("Service Pack 6"),
                Transform::TrailingNumber,
                FactType::Int
            ),
            Ok(FactValue::Int(6))
        );
        assert!(stored(sz("none"), Transform::TrailingNumber, FactType::Int).is_err());
        let dc = || {
            Transform::Matches(
                crate::model::Pattern::try_from("(?i)^LanmanNT$".to_string()).unwrap(),
            )
        };
        assert_eq!(
            stored(sz("LanmanNT"), dc(), FactType::Bool),
            Ok(FactValue::Bool(true))
        );
        assert_eq!(
            stored(sz("ServerNT"), dc(), FactType::Bool),
            Ok(FactValue::Bool(false))
        );
        assert_eq!(
            stored(
                RegValue::ExpandSz(r"%SystemRoot%\Cluster".into()),
                Transform::AsStored,
                FactType::Str
            ),
            Ok(FactValue::Str(r"C:\WINNT\Cluster".into()))
        );
        assert!(stored(
            RegValue::ExpandSz("%Nope%".into()),
            Transform::AsStored,
            FactType::Str
        )
        .unwrap_err()
        .contains("%Nope%"));
        assert_eq!(
            stored(RegValue::Dword(1), Transform::AsStored, FactType::Bool),
            Ok(FactValue::Bool(true))
        );
        assert!(stored(
            RegValue::Binary(vec![1]),
            Transform::AsStored,
            FactType::Str
        )
        .is_err());
    }

    #[test]
    fn text_file_probes_read_contents_and_ini_values() {
        let dir = tempfile::tempdir().unwrap();
        let ini = dir.path().join("boot.ini");
        std::fs::write(
            &ini,
            "[boot loader]\r\ntimeout=30\r\n[operating systems]\r\nmulti(0)disk(0)rdisk(0)partition(1)\\WINNT=\"Windows NT\" /3GB\r\n; Timeout=99\r\n",
        )
        .unwrap();
        let path = ini.display().to_string();
        let facts = FactSet::remote();
        let read = |probe: ProbeRead, ty| run_probe(&probe, ty, &facts, &LocalHost);
        let pattern = |p: &str| crate::model::Pattern::try_from(p.to_string()).unwrap();
        assert_eq!(
            read(
                ProbeRead::FileContains(path.clone(), pattern("(?i)/3GB\\b")),
                FactType::Bool
            ),
            Ok(FactValue::Bool(true))
        );
        assert_eq!(
            read(
                ProbeRead::FileContains(path.clone(), pattern("/PAE")),
                FactType::Bool
            ),
            Ok(FactValue::Bool(false))
        );
        let ini_value = |section: &str, key: &str| ProbeRead::IniValue {
            path: path.clone(),
            section: section.into(),
            key: key.into(),
        };
        assert_eq!(
            read(ini_value("Boot Loader", "TIMEOUT"), FactType::Int),
            Ok(FactValue::Int(30))
        );
        assert!(read(ini_value("boot loader", "default"), FactType::Str).is_err());
        // Another host's files are not this machine's.
        assert!(run_probe(
            &ini_value("boot loader", "timeout"),
            FactType::Int,
            &facts,
            &ANOTHER_HOST
        )
        .is_err());
        // A template that needs an unknown fact says which.
        let why = read(
            ProbeRead::FileVersion("{exchange.bin}\\isinteg.exe".into()),
            FactType::Version,
        )
        .unwrap_err();
        assert!(why.contains("exchange.bin"), "{why}");
    }
}
