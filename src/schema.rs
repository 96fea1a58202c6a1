//! The schema every layer above shares: which facts exist, their types, and how rules name
//! them (families with an argument, `env.` and `command.` prefixes, `{fact}` templates).
//!
//! Owns the fact catalogue; it reads nothing and probes nothing (that is `facts`), so loading,
//! validation and evaluation can all depend on it without depending on each other.

use std::collections::BTreeMap;

use crate::model::{FactDecl, FactType, Probe};

/// Fact names kbguard probes itself, whatever the rules declare.
pub const BUILTIN_FACTS: &[(&str, FactType, &str)] = &[
    (
        "os.family",
        FactType::Str,
        "Operating-system family: windows, linux, macos or other.",
    ),
    (
        "os.version",
        FactType::Version,
        "Operating-system (kernel) version, where it can be read.",
    ),
    ("host.name", FactType::Str, "The host's name."),
    (
        "host.cwd",
        FactType::Str,
        "The folder kbguard runs in, which `kbguard run` gives the command as its working folder (eseutil /d builds its temporary database there).",
    ),
];

/// Fact families: facts that take an argument, written `family:argument`
/// (`file.size:C:\exchsrvr\mdbdata\priv.edb`). The argument may hold `{fact}` templates in
/// conditions (`volume.free:{command.database}`).
pub const FACT_FAMILIES: &[(&str, FactType, &str)] = &[
    ("file.exists", FactType::Bool, "Whether the path exists (a metadata lookup)."),
    ("file.size", FactType::Int, "Size of the file in bytes (a metadata lookup)."),
    ("file.version", FactType::Version, "The file version in a PE file's version resource (an .exe or .dll, e.g. isinteg.exe), read by parsing the file: on any OS, so it also reads a file a customer sent."),
    ("volume.free", FactType::Int, "Bytes free for the user on the volume that holds the path. A snapshot may give it for a volume or folder (`volume.free:C:\\`): the longest one that contains the path counts."),
    ("process.running", FactType::Bool, "Whether a process with this program name is running (`.exe` and case ignored)."),
    ("service.running", FactType::Bool, "Whether the Windows service with this name (the short name, e.g. MSExchangeIS) is running, from the service control manager; one that is not installed is not running."),
    ("service.start_type", FactType::Str, "How the Windows service with this name starts: boot, system, auto, demand or disabled (its Start value under HKLM\\SYSTEM\\CurrentControlSet\\Services, so a registry export answers it too)."),
];

/// Splits `family:argument` when `family` is a known fact family.
pub fn split_family(name: &str) -> Option<(&'static str, &str)> {
    let (family, arg) = name.split_once(':')?;
    let (known, _, _) = FACT_FAMILIES.iter().find(|(f, _, _)| *f == family)?;
    Some((known, arg))
}

/// Prefix of facts that name environment variables (`env.PATH`).
pub const ENV_PREFIX: &str = "env.";
/// Prefix of facts bound from the command's positional arguments by a rule's intent.
pub const COMMAND_PREFIX: &str = "command.";

/// One entry of the catalogue.
#[derive(Clone, Debug)]
pub struct FactInfo {
    /// Value type.
    pub ty: FactType,
    /// What it means.
    pub doc: String,
    /// How the local host is probed, if declared.
    pub probe: Option<Probe>,
}

/// Every fact name kbguard knows, with its type.
#[derive(Clone, Debug, Default)]
pub struct Catalogue {
    facts: BTreeMap<String, FactInfo>,
}

impl Catalogue {
    /// Built-in facts plus `decls` (the first declaration of a name wins; `lint` reports the
    /// others).
    pub fn from_decls<'a>(decls: impl IntoIterator<Item = &'a FactDecl>) -> Catalogue {
        let mut facts = BTreeMap::new();
        for (name, ty, doc) in BUILTIN_FACTS {
            facts.insert(
                name.to_string(),
                FactInfo {
                    ty: *ty,
                    doc: doc.to_string(),
                    probe: None,
                },
            );
        }
        for decl in decls {
            facts.entry(decl.name.clone()).or_insert_with(|| FactInfo {
                ty: decl.ty,
                doc: decl.doc.clone(),
                probe: decl.probe.clone(),
            });
        }
        Catalogue { facts }
    }

    /// The entry for `name`, if declared.
    pub fn get(&self, name: &str) -> Option<&FactInfo> {
        self.facts.get(name)
    }

    /// The type of `name`: declared facts have their type; `env.*` and `command.*` are text.
    pub fn type_of(&self, name: &str) -> Option<FactType> {
        if name.starts_with(ENV_PREFIX) || name.starts_with(COMMAND_PREFIX) {
            return Some(FactType::Str);
        }
        if let Some((family, _)) = split_family(name) {
            return FACT_FAMILIES
                .iter()
                .find(|(f, _, _)| *f == family)
                .map(|(_, ty, _)| *ty);
        }
        self.facts.get(name).map(|f| f.ty)
    }

    /// Every declared fact, by name.
    pub fn iter(&self) -> impl Iterator<Item = (&String, &FactInfo)> {
        self.facts.iter()
    }
}

/// A hint for an unknown fact name: the closest known names, or how to list them.
pub fn unknown_fact_help(catalogue: &Catalogue, name: &str) -> String {
    let last = name.rsplit('.').next().unwrap_or(name);
    let close: Vec<&str> = catalogue
        .iter()
        .map(|(n, _)| n.as_str())
        .filter(|n| {
            n.rsplit('.').next() == Some(last)
                || n.starts_with(name.split('.').next().unwrap_or(name))
        })
        .take(5)
        .collect();
    if close.is_empty() {
        "`kbguard facts` lists the known facts; environment variables are env.NAME".into()
    } else {
        format!(
            "did you mean {}? (`kbguard facts` lists them all)",
            close.join(", ")
        )
    }
}

/// The fact names a template references (`{cluster.network_name}`); `{{` and `}}` are literal
/// braces.
pub fn template_refs(template: &str) -> Vec<&str> {
    let mut refs = Vec::new();
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        if rest[start..].starts_with("{{") {
            rest = &rest[start + 2..];
            continue;
        }
        let after = &rest[start + 1..];
        match after.find('}') {
            Some(end) if is_fact_name(&after[..end]) => {
                refs.push(&after[..end]);
                rest = &after[end + 1..];
            }
            _ => rest = after,
        }
    }
    refs
}

/// True for a dotted name of letters, digits, `_` and `-`.
pub fn is_fact_name(name: &str) -> bool {
    !name.is_empty()
        && name.split('.').all(|part| {
            !part.is_empty()
                && part
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        })
}
