//! The opt-in meaning-based view of an archive (`kb import --semantic MODEL_DIR`): two unit
//! vectors per article, one of its title and one of its title with the opening words of its
//! first section, kept in the generation's `semantic/` with a copy of the model that made
//! them, so that queries are embedded by the same model the articles were.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Instant;

use super::{io_err, write_durably, ArchiveError, Progress, SemanticSummary};
use crate::article::Article;
use crate::embed::{Model, Vectors, MODEL_FILES};

/// The generation's folder for the model copy and the vectors.
const DIR: &str = "semantic";
/// The vectors file in it.
const VECTORS: &str = "vectors.bin";
/// How many words of the first section go with the title into the second vector: enough to
/// say what the article is about, few enough that embedding the archive stays in minutes.
const OPENING_WORDS: usize = 40;

/// The title and the opening words of the article's first section, whitespace collapsed.
pub(super) fn opening(a: &Article) -> String {
    let first = a
        .sections
        .iter()
        .find(|s| !s.text.trim().is_empty())
        .map(|s| {
            s.text
                .split_whitespace()
                .take(OPENING_WORDS)
                .collect::<Vec<&str>>()
                .join(" ")
        })
        .unwrap_or_default();
    format!("{}. {first}", a.title.trim())
}

/// Embeds every article (title; title and opening) and writes the vectors and a copy of the
/// model files into `generation`.
pub(super) fn write(
    generation: &Path,
    model: &Model,
    source: &Path,
    openings: &[[String; 2]],
    progress: &(dyn Fn(Progress) + Sync),
) -> Result<SemanticSummary, ArchiveError> {
    let start = Instant::now();
    let dir = generation.join(DIR);
    fs::create_dir_all(&dir).map_err(io_err(&dir))?;
    for name in MODEL_FILES {
        let from = source.join(name);
        fs::copy(&from, dir.join(name)).map_err(io_err(&from))?;
    }
    let texts: Vec<&str> = openings.iter().flatten().map(String::as_str).collect();
    progress(Progress::Embedding(texts.len()));
    let values = model.embed_many(&texts, &|n| progress(Progress::Embedded(n)));
    let mut vectors = Vectors::new(model.dimensions(), 2, &values);
    // A skipped file's empty texts would still embed to something; it must be near nothing.
    for (aid, [title, _]) in openings.iter().enumerate() {
        if title.is_empty() {
            vectors.clear(aid);
        }
    }
    let bytes = vectors.to_bytes();
    write_durably(&dir.join(VECTORS), &bytes)?;
    Ok(SemanticSummary {
        articles: openings.iter().filter(|[t, _]| !t.is_empty()).count(),
        elapsed: start.elapsed(),
        bytes: u64::try_from(bytes.len()).unwrap_or(u64::MAX),
    })
}

/// An archive's semantic view, loaded on first use: a lookup of a pasted message never needs
/// it, and the model takes a moment to read.
#[derive(Debug)]
pub(super) struct Lazy {
    dir: Option<PathBuf>,
    /// How many articles the index holds: vectors for another number are not this index's.
    articles: usize,
    loaded: OnceLock<Result<(Model, Vectors), String>>,
}

impl Lazy {
    /// The view of `generation` (of `articles` articles), if it was imported with `--semantic`.
    pub(super) fn of(generation: &Path, articles: usize) -> Lazy {
        let dir = generation.join(DIR);
        Lazy {
            dir: dir.join(VECTORS).is_file().then_some(dir),
            articles,
            loaded: OnceLock::new(),
        }
    }

    /// Whether the generation has vectors.
    pub(super) fn present(&self) -> bool {
        self.dir.is_some()
    }

    /// The model and vectors, loaded once; why not, when they cannot be read.
    pub(super) fn get(&self) -> Option<Result<&(Model, Vectors), &str>> {
        let dir = self.dir.as_ref()?;
        let loaded = self.loaded.get_or_init(|| {
            let model = Model::load(dir).map_err(|e| e.to_string())?;
            let path = dir.join(VECTORS);
            let bytes = fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            let vectors = Vectors::from_bytes(&bytes)
                .filter(|v| v.dimensions() == model.dimensions())
                .ok_or_else(|| format!("{}: not vectors of this model", path.display()))?;
            if vectors.items() != self.articles {
                return Err("the vectors do not match the index's articles".into());
            }
            Ok((model, vectors))
        });
        Some(loaded.as_ref().map_err(String::as_str))
    }
}
