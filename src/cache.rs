//! The compiled rule cache: a preflight over thousands of rules loads them in milliseconds.
//!
//! Owns when a cached rule set may be served. A cache holds a clean rule set (no load or lint
//! errors) in a binary form, with a stamp of every data file it came from: path, size,
//! modification time and a hash of the contents. It is served only when every file still has
//! the same path, size and time and no file came or went; a file modified so close to the
//! cache's creation that its time cannot tell two edits apart is hashed again (git's "racy
//! clean" rule). Anything else rebuilds the cache from the files, so it never serves stale rules.
//! The embedded set is stamped by kbguard's version and a hash of its contents.

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::load::{self, Origin, EMBEDDED_HASH};
use crate::lookup::CuratedSource;
use crate::model::{FactDecl, Rule};
use crate::ruleset::{CompiledRules, RuleSet};

/// Bumped whenever the cached form changes (postcard is not self-describing: a cache of another
/// shape must not be decoded). 2: intents gained value options; 4: compiled rules only; 5: a
/// file per use, the preflight's and lookup's.
const FORMAT: u32 = 5;
/// A file modified less than this long before the cache was written is re-hashed.
const RACY_NANOS: u128 = 2_000_000_000;

/// The platform's cache directory for rule caches (`~/.cache/kbguard` on Linux); the CLI's
/// `--cache-dir` / `KBGUARD_CACHE_DIR` names another.
pub fn default_dir() -> Option<PathBuf> {
    directories::ProjectDirs::from("", "", "kbguard").map(|d| d.cache_dir().to_path_buf())
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Stamp {
    path: String,
    size: u64,
    modified_ns: u128,
    hash: u64,
}

#[derive(Serialize, Deserialize)]
struct CacheFile<P> {
    format: u32,
    kbguard: String,
    created_ns: u128,
    stamps: Vec<Stamp>,
    payload: P,
}

/// What one cache file holds, taken from a clean rule set: each use keeps its own file, so that a
/// preflight does not decode what only lookup reads.
pub trait Payload: Serialize + serde::de::DeserializeOwned {
    /// The file name's prefix.
    const NAME: &'static str;
    /// The payload of `set`.
    fn of(set: &RuleSet) -> Self;
}

/// What a preflight evaluates: active rules without test cases, symptoms or evidence, and the
/// fact declarations.
#[derive(Debug, Serialize, Deserialize)]
pub struct ForPreflight {
    rules: Vec<Rule>,
    facts: Vec<FactDecl>,
}

impl ForPreflight {
    /// The compiled rules.
    pub fn compiled(self) -> CompiledRules {
        CompiledRules::new(self.rules, self.facts)
    }
}

impl Payload for ForPreflight {
    const NAME: &'static str = "rules";
    fn of(set: &RuleSet) -> ForPreflight {
        let compiled = set.compile();
        ForPreflight {
            rules: compiled.rules().to_vec(),
            facts: compiled.facts().to_vec(),
        }
    }
}

/// What a lookup reads of the rules: the curated symptoms, and the fact declarations (for the
/// host facts that rank products).
#[derive(Debug, Serialize, Deserialize)]
pub struct ForLookup {
    facts: Vec<FactDecl>,
    /// The curated symptoms.
    pub curated: CuratedSource,
}

impl ForLookup {
    /// The fact catalogue.
    pub fn catalogue(&self) -> crate::schema::Catalogue {
        crate::schema::Catalogue::from_decls(&self.facts)
    }
}

impl Payload for ForLookup {
    const NAME: &'static str = "lookup";
    fn of(set: &RuleSet) -> ForLookup {
        ForLookup {
            facts: set.loaded.facts.iter().map(|f| f.decl.clone()).collect(),
            curated: CuratedSource::of(set),
        }
    }
}

/// What [`load`] served.
#[derive(Debug)]
pub enum Served<P> {
    /// The cache was valid: what it held.
    Cached(Box<P>),
    /// The files were read: the full set, whose problems the caller reports (and which was
    /// cached when it had no errors).
    Read(RuleSet),
}

fn now_ns() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos())
}

fn content_hash(bytes: &[u8]) -> u64 {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    bytes.hash(&mut hasher);
    hasher.finish()
}

fn identity(origins: &[Origin]) -> String {
    let embedded = origins.contains(&Origin::Embedded);
    format!(
        "{}+{}",
        env!("CARGO_PKG_VERSION"),
        if embedded { EMBEDDED_HASH } else { 0 }
    )
}

/// The data files of the path origins with their size and time; `None` when a directory
/// cannot be walked cleanly (the full load then reports why).
fn current_files(origins: &[Origin]) -> Option<Vec<(PathBuf, u64, u128)>> {
    let mut out = Vec::new();
    for origin in origins {
        let Origin::Path(root) = origin else { continue };
        let (files, errors) = load::ron_files(root);
        if !errors.is_empty() {
            return None;
        }
        for file in files {
            let meta = std::fs::metadata(&file).ok()?;
            let modified = meta
                .modified()
                .ok()?
                .duration_since(UNIX_EPOCH)
                .ok()?
                .as_nanos();
            out.push((file, meta.len(), modified));
        }
    }
    Some(out)
}

fn cache_path(dir: &Path, origins: &[Origin], name: &str) -> PathBuf {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    format!("{origins:?}").hash(&mut hasher);
    dir.join(format!("{name}-{:016x}.bin", hasher.finish()))
}

/// Serves `P` for `origins` from the cache in `dir` when it is still valid; otherwise loads the
/// files and, when they are clean, writes the cache.
pub fn load<P: Payload>(origins: &[Origin], dir: &Path) -> Served<P> {
    // The embedded set is cached too: parsing and linting it costs milliseconds, most of them
    // spent on test cases a preflight never reads. Its stamp is the build's content hash.
    let Some(files) = current_files(origins) else {
        return Served::Read(RuleSet::load(origins));
    };
    let path = cache_path(dir, origins, P::NAME);
    if let Some(payload) = read(&path, origins, &files) {
        return Served::Cached(Box::new(payload));
    }
    let set = RuleSet::load(origins);
    if set.error_count() == 0 {
        // A cache that cannot be written only costs speed.
        write(&path, origins, &files, &set, &P::of(&set)).ok();
    }
    Served::Read(set)
}

fn read<P: Payload>(path: &Path, origins: &[Origin], files: &[(PathBuf, u64, u128)]) -> Option<P> {
    let bytes = std::fs::read(path).ok()?;
    let cache: CacheFile<P> = postcard::from_bytes(&bytes).ok()?;
    if cache.format != FORMAT
        || cache.kbguard != identity(origins)
        || cache.stamps.len() != files.len()
    {
        return None;
    }
    for (stamp, (file, size, modified)) in cache.stamps.iter().zip(files) {
        if stamp.path != file.display().to_string()
            || stamp.size != *size
            || stamp.modified_ns != *modified
        {
            return None;
        }
        if *modified + RACY_NANOS >= cache.created_ns {
            let bytes = std::fs::read(file).ok()?;
            if content_hash(&bytes) != stamp.hash {
                return None;
            }
        }
    }
    Some(cache.payload)
}

fn write<P: Payload>(
    path: &Path,
    origins: &[Origin],
    files: &[(PathBuf, u64, u128)],
    set: &RuleSet,
    payload: &P,
) -> std::io::Result<()> {
    let created_ns = now_ns();
    let mut stamps = Vec::with_capacity(files.len());
    for (file, size, modified) in files {
        let name = file.display().to_string();
        // The loader read these bytes a moment ago; hash the text it read.
        let text = set
            .loaded
            .files
            .iter()
            .find(|f| f.name == name)
            .map(|f| f.text.clone());
        let hash = match text {
            Some(text) => content_hash(text.as_bytes()),
            None => content_hash(&std::fs::read(file)?),
        };
        stamps.push(Stamp {
            path: name,
            size: *size,
            modified_ns: *modified,
            hash,
        });
    }
    let cache = CacheFile {
        format: FORMAT,
        kbguard: identity(origins),
        created_ns,
        stamps,
        payload,
    };
    let bytes = postcard::to_stdvec(&cache).map_err(std::io::Error::other)?;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension(format!("tmp-{}", std::process::id()));
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    const RULES: &str = r#"RuleFile(schema: 1, facts: [(name: "x.flag", type: bool, doc: "d")], rules: [Rule(
    id: "cached", revision: 1, kb: [(id: "Q178311", date: "2002-08-06")], title: "t", severity: block,
    reviewed: "2026-11-25", intent: Intent(program: "tool"), when: FactEquals("x.flag", true),
    symptoms: [(message: "m", paraphrase: true)], workaround: (text: "w"), tests: [(name: "n", expect: clear)],
)])"#;

    /// The served rules' titles, and whether they came from the cache.
    fn titles(served: Served<ForPreflight>) -> (Vec<String>, bool) {
        match served {
            Served::Cached(rules) => (
                rules
                    .compiled()
                    .rules()
                    .iter()
                    .map(|r| r.title.clone())
                    .collect(),
                true,
            ),
            Served::Read(set) => (
                set.compile()
                    .rules()
                    .iter()
                    .map(|r| r.title.clone())
                    .collect(),
                false,
            ),
        }
    }

    #[test]
    fn a_cache_is_served_while_valid_and_rebuilt_when_a_file_changes() {
        let rules = tempfile::tempdir().unwrap();
        let cache = tempfile::tempdir().unwrap();
        let file = rules.path().join("r.ron");
        std::fs::write(&file, RULES).unwrap();
        let origins = [Origin::Embedded, Origin::Path(rules.path().to_path_buf())];
        let (first, cached) = titles(load(&origins, cache.path()));
        assert!(!cached, "first load reads files");
        let (second, cached) = titles(load(&origins, cache.path()));
        assert!(cached, "second load is cached");
        assert_eq!(first, second);
        // Same size, same second: only the racy re-hash can notice this edit.
        std::fs::write(&file, RULES.replace("title: \"t\"", "title: \"u\"")).unwrap();
        let (third, cached) = titles(load(&origins, cache.path()));
        assert!(!cached && third.contains(&"u".to_string()), "never stale");
        // A new file invalidates too.
        std::fs::write(
            rules.path().join("s.ron"),
            RULES
                .replace("\"cached\"", "\"other\"")
                .replace("x.flag", "y.flag"),
        )
        .unwrap();
        assert_eq!(
            titles(load(&origins, cache.path())).0.len(),
            first.len() + 1
        );
    }

    #[test]
    fn the_cache_holds_compiled_rules_only() {
        let cache = tempfile::tempdir().unwrap();
        load::<ForPreflight>(&[Origin::Embedded], cache.path());
        let Served::Cached(cached) = load::<ForPreflight>(&[Origin::Embedded], cache.path()) else {
            panic!("second load is cached");
        };
        let full = RuleSet::load(&[Origin::Embedded]);
        let compiled = cached.compiled();
        assert_eq!(compiled.rules().len(), full.active_rules().count());
        assert!(compiled
            .rules()
            .iter()
            .all(|r| r.tests.is_empty() && r.symptoms.is_empty() && r.evidence.is_empty()));
    }

    #[test]
    fn lookup_has_its_own_cache_of_the_curated_symptoms() {
        let cache = tempfile::tempdir().unwrap();
        load::<ForLookup>(&[Origin::Embedded], cache.path());
        let Served::Cached(cached) = load::<ForLookup>(&[Origin::Embedded], cache.path()) else {
            panic!("second load is cached");
        };
        let full = RuleSet::load(&[Origin::Embedded]);
        assert_eq!(cached.curated, CuratedSource::of(&full));
        assert_ne!(cached.curated, CuratedSource::default());
        let names =
            |c: &crate::schema::Catalogue| c.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
        assert_eq!(names(&cached.catalogue()), names(&full.catalogue));
    }

    #[test]
    fn the_lookup_cache_grows_with_the_rules_not_their_square() {
        // Many rules citing one article: each article's citing rules are kept once.
        let rules = tempfile::tempdir().unwrap();
        let many: Vec<String> = (0..400)
            .map(|i| {
                RULES
                    .replace("\"cached\"", &format!("\"r{i}\""))
                    .replace("x.flag", &format!("x.flag{i}"))
            })
            .collect();
        for (i, text) in many.iter().enumerate() {
            std::fs::write(rules.path().join(format!("r{i}.ron")), text).unwrap();
        }
        let cache = tempfile::tempdir().unwrap();
        let origins = [Origin::Path(rules.path().to_path_buf())];
        load::<ForLookup>(&origins, cache.path());
        let size: u64 = std::fs::read_dir(cache.path())
            .unwrap()
            .map(|e| e.unwrap().metadata().unwrap().len())
            .sum();
        // About 100 bytes a rule (its stamp and symptom); kept per symptom it was 4 KB a rule.
        assert!(size < 400 * 400, "{size} bytes for 400 rules");
    }

    #[test]
    fn sets_with_errors_are_not_cached() {
        let rules = tempfile::tempdir().unwrap();
        let cache = tempfile::tempdir().unwrap();
        std::fs::write(
            rules.path().join("r.ron"),
            RULES.replace("title:", "titel:"),
        )
        .unwrap();
        let origins = [Origin::Path(rules.path().to_path_buf())];
        let Served::Read(set) = load::<ForPreflight>(&origins, cache.path()) else {
            panic!("a set with errors is read");
        };
        assert!(set.error_count() > 0);
        assert_eq!(std::fs::read_dir(cache.path()).unwrap().count(), 0);
    }
}
