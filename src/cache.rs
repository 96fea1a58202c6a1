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

use crate::facts::Catalogue;
use crate::load::{self, Loaded, LoadedArticle, LoadedFact, LoadedRule, Origin, EMBEDDED_HASH};
use crate::model::Rule;
use crate::ruleset::RuleSet;
use crate::span::SourceFile;

/// Bumped whenever the cached form changes (postcard is not self-describing: a cache of another
/// shape must not be decoded). 2: intents gained value options.
const FORMAT: u32 = 3;
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
struct CacheFile {
    format: u32,
    kbguard: String,
    created_ns: u128,
    stamps: Vec<Stamp>,
    files: Vec<String>,
    rules: Vec<LoadedRule>,
    facts: Vec<LoadedFact>,
    articles: Vec<LoadedArticle>,
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

fn cache_path(dir: &Path, origins: &[Origin]) -> PathBuf {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    format!("{origins:?}").hash(&mut hasher);
    dir.join(format!("rules-{:016x}.bin", hasher.finish()))
}

/// Loads the rule set for `origins` from the cache in `dir` when it is still valid; otherwise
/// loads the files and, when they are clean, writes the cache. Sets served from the cache are
/// for evaluation only: they have no source text (their locations read 1:1), and their rules
/// no test cases or symptoms.
pub fn load(origins: &[Origin], dir: &Path) -> RuleSet {
    // The embedded set is cached too: parsing and linting it costs milliseconds, most of them
    // spent on test cases a preflight never reads. Its stamp is the build's content hash.
    let Some(files) = current_files(origins) else {
        return RuleSet::load(origins);
    };
    let path = cache_path(dir, origins);
    if let Some(set) = read(&path, origins, &files) {
        return set;
    }
    let set = RuleSet::load(origins);
    if set.error_count() == 0 {
        // A cache that cannot be written only costs speed.
        write(&path, origins, &files, &set).ok();
    }
    set
}

fn read(path: &Path, origins: &[Origin], files: &[(PathBuf, u64, u128)]) -> Option<RuleSet> {
    let bytes = std::fs::read(path).ok()?;
    let cache: CacheFile = postcard::from_bytes(&bytes).ok()?;
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
    let loaded = Loaded {
        files: cache
            .files
            .into_iter()
            .map(|name| SourceFile {
                name,
                text: "".into(),
            })
            .collect(),
        rules: cache.rules,
        facts: cache.facts,
        articles: cache.articles,
        // Service-pack builds serve `lint --archive`, never a check: not cached.
        builds: Vec::new(),
        errors: Vec::new(),
    };
    let catalogue = Catalogue::from_loaded(&loaded);
    Some(RuleSet {
        loaded,
        catalogue,
        problems: Vec::new(),
    })
}

fn write(
    path: &Path,
    origins: &[Origin],
    files: &[(PathBuf, u64, u128)],
    set: &RuleSet,
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
        files: set.loaded.files.iter().map(|f| f.name.clone()).collect(),
        // A preflight needs neither test cases nor symptoms: leaving them out halves the load.
        rules: set
            .loaded
            .rules
            .iter()
            .map(|r| LoadedRule {
                rule: Rule {
                    tests: Vec::new(),
                    symptoms: Vec::new(),
                    ..r.rule.clone()
                },
                ..r.clone()
            })
            .collect(),
        facts: set.loaded.facts.clone(),
        articles: set.loaded.articles.clone(),
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

    fn titles(set: &RuleSet) -> Vec<String> {
        set.loaded
            .rules
            .iter()
            .map(|r| r.rule.title.clone())
            .collect()
    }

    #[test]
    fn a_cache_is_served_while_valid_and_rebuilt_when_a_file_changes() {
        let rules = tempfile::tempdir().unwrap();
        let cache = tempfile::tempdir().unwrap();
        let file = rules.path().join("r.ron");
        std::fs::write(&file, RULES).unwrap();
        let origins = [Origin::Embedded, Origin::Path(rules.path().to_path_buf())];
        let first = load(&origins, cache.path());
        assert_eq!(first.error_count(), 0);
        assert!(
            first.loaded.files.iter().any(|f| !f.text.is_empty()),
            "first load reads files"
        );
        let second = load(&origins, cache.path());
        assert!(
            second.loaded.files.iter().all(|f| f.text.is_empty()),
            "second load is cached"
        );
        assert_eq!(titles(&first), titles(&second));
        // Same size, same second: only the racy re-hash can notice this edit.
        std::fs::write(&file, RULES.replace("title: \"t\"", "title: \"u\"")).unwrap();
        let third = load(&origins, cache.path());
        assert!(titles(&third).contains(&"u".to_string()), "never stale");
        // A new file invalidates too.
        std::fs::write(
            rules.path().join("s.ron"),
            RULES
                .replace("\"cached\"", "\"other\"")
                .replace("x.flag", "y.flag"),
        )
        .unwrap();
        assert_eq!(
            load(&origins, cache.path()).loaded.rules.len(),
            first.loaded.rules.len() + 1
        );
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
        assert!(load(&origins, cache.path()).error_count() > 0);
        assert_eq!(std::fs::read_dir(cache.path()).unwrap().count(), 0);
    }
}
