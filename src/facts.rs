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

use miette::Diagnostic;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::model::{FactType, FactValue, Literal, OsFamily, ProbeRead, ValueError};
use crate::schema::{is_fact_name, split_family, unknown_fact_help, Catalogue, ENV_PREFIX};
use crate::span::{Location, SourceFile};
use crate::version::Version;

/// Probes a fact family on this machine; `None` when it cannot be read here. Read-only:
/// metadata, free-space queries and the process list.
pub fn probe_family(family: &str, arg: &str) -> Option<FactValue> {
    match family {
        "file.exists" => Some(FactValue::Bool(std::fs::symlink_metadata(arg).is_ok())),
        "file.size" => {
            let meta = std::fs::metadata(arg).ok().filter(|m| m.is_file())?;
            i64::try_from(meta.len()).ok().map(FactValue::Int)
        }
        "volume.free" => {
            // The volume of the nearest existing ancestor: a database may not exist yet.
            let path = Path::new(arg)
                .ancestors()
                .find(|p| !p.as_os_str().is_empty() && p.exists())?;
            let free = fs4::available_space(path).ok()?;
            i64::try_from(free).ok().map(FactValue::Int)
        }
        "process.running" => process_running(arg).map(FactValue::Bool),
        "file.version" => pe_file_version(Path::new(arg)).ok().map(FactValue::Version),
        _ => None,
    }
}

/// The file version (`VS_FIXEDFILEINFO`'s) of a PE file, read from its version resource. The
/// file is mapped read-only and only its headers and resource directory are read, so a large
/// file costs no more than a small one; anything that is not such a file is an error.
pub fn pe_file_version(path: &Path) -> Result<Version, String> {
    let map = pelite::FileMap::open(path).map_err(|e| e.to_string())?;
    let file = pelite::PeFile::from_bytes(map.as_ref()).map_err(|e| e.to_string())?;
    let resources = file.resources().map_err(|e| e.to_string())?;
    let info = resources.version_info().map_err(|e| e.to_string())?;
    let fixed = info
        .fixed()
        .ok_or_else(|| "no fixed file version in its version resource".to_string())?;
    let v = fixed.dwFileVersion;
    format!("{}.{}.{}.{}", v.Major, v.Minor, v.Patch, v.Build)
        .parse()
        .map_err(|e: crate::version::VersionError| e.to_string())
}

fn process_running(program: &str) -> Option<bool> {
    use sysinfo::{ProcessRefreshKind, ProcessesToUpdate, System, UpdateKind};
    let wanted = crate::intent::normalize_program(program);
    let mut system = System::new().ok()?;
    // The executable's path as well as the name: Linux cuts process names at 15 characters.
    let refresh = ProcessRefreshKind::nothing().with_exe(UpdateKind::OnlyIfNotSet);
    system.refresh_processes_specifics(ProcessesToUpdate::All, true, refresh);
    let matches = |name: &std::ffi::OsStr| {
        crate::intent::normalize_program(&name.to_string_lossy()) == wanted
    };
    Some(
        system
            .processes()
            .values()
            .any(|p| matches(p.name()) || p.exe().and_then(Path::file_name).is_some_and(matches)),
    )
}

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
}

impl FactSet {
    /// An empty fact set for a remote host with an unknown environment.
    pub fn remote() -> FactSet {
        FactSet {
            host: Host::Remote,
            facts: BTreeMap::new(),
            env: None,
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
    for (name, info) in catalogue.iter() {
        let Some(probe) = &info.probe else { continue };
        if set.facts.contains_key(name) || !(probe.os.is_empty() || probe.os.contains(&os)) {
            continue;
        }
        if let Some(value) = run_probe(&probe.read, info.ty, &set) {
            let source = FactSource::Probe(describe_probe(&probe.read));
            set.insert(name, Fact { value, source });
        }
    }
    set
}

fn local_os_version() -> Option<Version> {
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").ok()?;
    Version::parse_prefix(release.trim())
}

/// Says what a probe reads, for `kbguard facts`.
pub fn describe_probe(read: &ProbeRead) -> String {
    match read {
        ProbeRead::Env(var) => format!("environment variable {var}"),
        ProbeRead::FileExists(path) => format!("whether {path} exists"),
        ProbeRead::FileSize(path) => format!("size of {path}"),
    }
}

fn run_probe(read: &ProbeRead, ty: FactType, facts: &FactSet) -> Option<FactValue> {
    match read {
        ProbeRead::Env(var) => match facts.env_var(var) {
            EnvValue::Set(fact) => FactValue::parse(&fact.value.to_string(), ty).ok(),
            _ => None,
        },
        ProbeRead::FileExists(template) => {
            let path = render_template(template, facts).complete()?;
            // Metadata only: the file is never opened.
            Some(FactValue::Bool(std::fs::symlink_metadata(path).is_ok()))
        }
        ProbeRead::FileSize(template) => {
            let path = render_template(template, facts).complete()?;
            let len = std::fs::metadata(path).ok()?.len();
            Some(FactValue::Int(i64::try_from(len).ok()?))
        }
    }
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

    #[test]
    fn this_process_is_running_and_a_missing_file_has_no_size() {
        let exe = std::env::current_exe().unwrap();
        let name = exe.file_name().unwrap().to_string_lossy().into_owned();
        assert_eq!(
            probe_family("process.running", &name),
            Some(FactValue::Bool(true))
        );
        assert_eq!(
            probe_family("process.running", "no-such-program-kbguard"),
            Some(FactValue::Bool(false))
        );
        assert_eq!(probe_family("file.size", "/no/such/file"), None);
        assert_eq!(
            probe_family("file.exists", "/no/such/file"),
            Some(FactValue::Bool(false))
        );
        assert_eq!(probe_family("service.running", "MSExchangeIS"), None);
    }

    #[test]
    fn file_versions_are_read_from_pe_version_resources() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        // A 5 KB PE built from tests/fixtures/pe/isinteg.rc with binutils' windres, as and ld.
        let exe = root.join("tests/fixtures/pe/isinteg.exe");
        assert_eq!(
            pe_file_version(&exe).unwrap(),
            "5.5.2653.23".parse::<Version>().unwrap()
        );
        assert_eq!(
            probe_family("file.version", &exe.display().to_string()),
            Some(FactValue::Version("5.5.2653.23".parse().unwrap()))
        );
        // Not a PE, missing, a folder: unknown with a reason, never a panic.
        let dir = tempfile::tempdir().unwrap();
        let truncated = dir.path().join("cut.exe");
        std::fs::write(&truncated, &std::fs::read(&exe).unwrap()[..300]).unwrap();
        for bad in [
            root.join("Cargo.toml"),
            root.join("no-such.exe"),
            root.join("src"),
            truncated,
        ] {
            assert!(pe_file_version(&bad).is_err(), "{}", bad.display());
        }
    }
}
