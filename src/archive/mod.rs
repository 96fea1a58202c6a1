//! The imported KB archive: `kb import` builds a persistent index, `lookup` searches it.
//!
//! Owns the on-disk layout and its atomic replacement. An index root holds generations
//! (`gen-<time>-<pid>/`) and a `CURRENT` file naming the live one. An import builds a new
//! generation beside the old, marks it complete, then replaces `CURRENT` by an atomic rename;
//! an import that dies at any point leaves `CURRENT` and its generation untouched. A generation
//! holds a tantivy index (candidate retrieval), `table.bin` (article ids, titles, messages
//! and their token weights, for re-ranking and display), the service-pack fix lists, and the
//! command index (`commands.idx`/`.dat`: which articles say running a program goes wrong).

use std::collections::HashMap;
use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use miette::Diagnostic;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use tantivy::collector::{Collector, TopDocs};
use tantivy::directory::Directory as _;
use tantivy::fieldnorm::FieldNormReader;
use tantivy::postings::Postings as _;
use tantivy::query::{
    Bm25Weight, BooleanQuery, EnableScoring, Occur, Query as TantivyQuery, TermQuery,
};
use tantivy::schema::{
    Field, IndexRecordOption, Schema, TextFieldIndexing, TextOptions, Value, FAST, INDEXED, STORED,
    STRING,
};
use tantivy::DocSet as _;
use tantivy::{Index, IndexReader, ReloadPolicy, Searcher, TantivyDocument, Term};
use thiserror::Error;

use crate::article::{self, Article, FixList, QuotedMessage};

mod commands;
mod semantic;
mod table;
use crate::analysis::{
    idf, lexical_words, line_units, stem, token_weight, tokenize, Query, Token, Weights,
    COMMON_MESSAGE_WEIGHT,
};
pub use crate::corpus::{ArticleRecord, Corpus, Coverage, Lexical, MessageView, TITLE_SECTION};
use crate::mentions::{self, Mention};
use crate::products;
pub use commands::{CommandEntry, Commands};
pub use table::Table;
use table::TableWriter;

/// Name of the file that names the live generation.
const CURRENT: &str = "CURRENT";
/// Marker written into a generation once it is complete.
const COMPLETE: &str = "complete";
const TABLE: &str = "table.bin";
const META: &str = "meta.json";
const FIX_LISTS: &str = "fixlists.json";
/// Words at least this rare (in about one message in twenty) drive the weighted candidate view.
const RARE_WEIGHT: f32 = 3.0;

/// Why the archive could not be imported or opened.
#[derive(Debug, Error, Diagnostic)]
pub enum ArchiveError {
    /// Reading or writing the index failed.
    #[error("{path}: {reason}")]
    #[diagnostic(code(kbguard::archive::io))]
    Io {
        /// The path involved.
        path: String,
        /// What went wrong.
        reason: String,
    },
    /// No index has been imported at this location.
    #[error("no archive index at {0}")]
    #[diagnostic(
        code(kbguard::archive::missing),
        help("build one with `kbguard kb import DIR` (or point --index / KBGUARD_INDEX at one)")
    )]
    Missing(String),
    /// The index files are damaged or from another kbguard version.
    #[error("{path}: the archive index is damaged or from another version: {reason}")]
    #[diagnostic(
        code(kbguard::archive::corrupt),
        help("re-import it with `kbguard kb import DIR`")
    )]
    Corrupt {
        /// The index path.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// An article file that cannot be read or is not an article.
    #[error("{path}: {source}")]
    #[diagnostic(code(kbguard::archive::article))]
    Article {
        /// The file.
        path: String,
        /// Why it is not an article.
        source: article::ArticleError,
    },
    /// The directory to import holds no articles.
    #[error("{0}: no readable KB articles (QNNNNNN.TXT files) found")]
    #[diagnostic(code(kbguard::archive::empty))]
    NoArticles(String),
    /// The sentence-embedding model given to `--semantic` cannot be used.
    #[error(transparent)]
    #[diagnostic(
        code(kbguard::archive::model),
        help("--semantic takes a directory holding config.json, vocab.txt and model.safetensors of a BERT sentence-embedding model, such as all-MiniLM-L6-v2 (docs/lookup.md says where to get it)")
    )]
    Model(#[from] crate::embed::EmbedError),
}

fn io_err(path: &Path) -> impl Fn(std::io::Error) -> ArchiveError + '_ {
    move |e| ArchiveError::Io {
        path: path.display().to_string(),
        reason: e.to_string(),
    }
}

fn tantivy_err(path: &Path) -> impl Fn(tantivy::TantivyError) -> ArchiveError + '_ {
    move |e| ArchiveError::Corrupt {
        path: path.display().to_string(),
        reason: e.to_string(),
    }
}

/// The default index location: the platform's data directory
/// (`~/.local/share/kbguard/index` on Linux).
pub fn default_index_path() -> Option<PathBuf> {
    directories::ProjectDirs::from("", "", "kbguard").map(|d| d.data_dir().join("index"))
}

/// What an index was built from, stored beside it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Meta {
    /// kbguard version that built it.
    pub kbguard: String,
    /// The directory imported.
    pub source: String,
    /// Seconds since the Unix epoch when it was built.
    pub built_at: u64,
    /// Articles indexed.
    pub articles: usize,
    /// Quoted messages indexed.
    pub messages: usize,
    /// Files skipped.
    pub skipped: usize,
    /// Articles per product tag.
    pub by_product: Vec<(String, usize)>,
    /// The sentence-embedding model directory the import was given (`--semantic`), whose
    /// copy and vectors are in the generation's `semantic/`; none for a words-only index.
    #[serde(default)]
    pub semantic: Option<String>,
}

/// A file the import skipped, and why.
#[derive(Clone, Debug, Serialize)]
pub struct Skipped {
    /// The file.
    pub path: String,
    /// Why.
    pub reason: String,
}

/// The outcome of an import.
#[derive(Clone, Debug, Serialize)]
pub struct ImportSummary {
    /// Articles indexed.
    pub articles: usize,
    /// Messages indexed.
    pub messages: usize,
    /// Files skipped, with reasons.
    pub skipped: Vec<Skipped>,
    /// Wall time.
    pub elapsed: Duration,
    /// The generation directory now live.
    pub generation: PathBuf,
    /// Its size on disk, in bytes.
    pub bytes: u64,
    /// With `--semantic`: how many articles were embedded, and how long it took.
    pub semantic: Option<SemanticSummary>,
}

/// What embedding the articles took (`kb import --semantic`).
#[derive(Clone, Debug, Serialize)]
pub struct SemanticSummary {
    /// Articles embedded (each as two vectors).
    pub articles: usize,
    /// Wall time of the embedding alone.
    pub elapsed: Duration,
    /// Size of the vectors file, in bytes.
    pub bytes: u64,
}

/// Progress of an import, for a progress bar.
#[derive(Clone, Copy, Debug)]
pub enum Progress {
    /// Files found; parsing begins.
    Found(usize),
    /// This many more files parsed.
    Parsed(usize),
    /// Parsing done; writing the index.
    Indexing,
    /// Index written; this many texts are being embedded (`--semantic`).
    Embedding(usize),
    /// This many more texts embedded.
    Embedded(usize),
}

struct Fields {
    /// A quoted message's words.
    msg: Field,
    /// A message's number.
    mid: Field,
    /// An article's number (on article documents).
    aid: Field,
    /// An article's id (`Q178311`), untokenised.
    qid: Field,
    /// On every document, its [`rank_key`]: equal scores rank the newer article first, then
    /// the lower number, already when candidates are cut.
    rank: Field,
    /// The article's words, stemmed, by where they stand ([`FIELD_WEIGHTS`] order).
    words: [Field; 5],
    /// The title and sections, stored (not indexed) for snippets.
    stored: Field,
}

/// Where in an article a word stands, and how much it weighs there (BM25 per field, summed
/// with these weights): a word of the title says far more about what the article is about
/// than one deep in its MORE INFORMATION.
const FIELD_WEIGHTS: [(&str, f32); 5] = [
    ("title", 6.0),
    ("symptoms", 2.0),
    ("fix", 1.2),
    ("more", 0.8),
    ("meta", 1.5),
];
/// The title.
const TITLE: usize = 0;
/// SYMPTOMS and SUMMARY: what the article is about.
const SYMPTOMS: usize = 1;
/// CAUSE, RESOLUTION, WORKAROUND, STATUS.
const FIX: usize = 2;
/// Everything else (MORE INFORMATION, REFERENCES, ...).
const MORE: usize = 3;
/// Products, versions, operating systems and keywords.
const META_FIELD: usize = 4;

fn schema() -> (Schema, Fields) {
    let mut builder = Schema::builder();
    // Text arrives already tokenised by `analysis::tokenize` and joined by spaces, so
    // identifiers and codes (JET_errKeyDuplicate, -1605, 0x8004010F) stay whole.
    let words = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer("whitespace")
            .set_index_option(IndexRecordOption::WithFreqs),
    );
    let msg = builder.add_text_field("msg", words.clone());
    let fields = Fields {
        msg,
        words: FIELD_WEIGHTS.map(|(name, _)| builder.add_text_field(name, words.clone())),
        mid: builder.add_u64_field("mid", INDEXED),
        aid: builder.add_u64_field("aid", INDEXED),
        qid: builder.add_text_field("qid", STRING),
        rank: builder.add_u64_field("rank", FAST),
        stored: builder.add_text_field("stored", STORED),
    };
    (builder.build(), fields)
}

fn article_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = walkdir::WalkDir::new(dir)
        .follow_links(true)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .map(walkdir::DirEntry::into_path)
        .filter(|p| {
            p.file_stem()
                .and_then(|s| s.to_str())
                .is_some_and(article::is_article_id)
                && p.extension().is_some_and(|e| e.eq_ignore_ascii_case("txt"))
        })
        .collect();
    files.sort();
    files
}

fn read_article(path: &Path) -> Result<Article, ArchiveError> {
    let not_article = |source| ArchiveError::Article {
        path: path.display().to_string(),
        source,
    };
    let size = fs::metadata(path).map_err(io_err(path))?.len();
    if size > article::MAX_ARTICLE_BYTES as u64 {
        let size = usize::try_from(size).unwrap_or(usize::MAX);
        return Err(not_article(article::ArticleError::TooLarge(size)));
    }
    let bytes = fs::read(path).map_err(io_err(path))?;
    article::parse(&bytes).map_err(not_article)
}

fn words(tokens: &[Token]) -> String {
    let mut text = String::new();
    for t in tokens.iter().filter(|t| !t.wildcard) {
        text.push_str(&t.text);
        text.push(' ');
    }
    text
}

/// One parsed article, reduced to what the table needs once its text is in the index.
struct Prepared {
    /// Index of its file in the sorted list: the article's number in the table and index.
    aid: usize,
    record: ArticleRecord,
    /// Its quoted messages: (section, text, tokens).
    messages: Vec<(String, String, Vec<Token>)>,
    /// The service-pack fix lists it is.
    fix_lists: Vec<FixList>,
    /// The programs it says go wrong.
    mentions: Vec<Mention>,
    /// The start of its remedy, for advisories.
    remedy: String,
    /// Its title and the opening words of its first section: what it is about, for
    /// `--semantic`.
    opening: String,
}

/// The tantivy side of a generation being written.
struct Writer {
    dir: PathBuf,
    fields: Fields,
    writer: tantivy::IndexWriter<TantivyDocument>,
}

impl Writer {
    fn create(generation: &Path) -> Result<Writer, ArchiveError> {
        let dir = generation.join("tantivy");
        fs::create_dir_all(&dir).map_err(io_err(&dir))?;
        let (schema, fields) = schema();
        let index = Index::create_in_dir(&dir, schema).map_err(tantivy_err(&dir))?;
        // As many indexing threads as parsing ones (RAYON_NUM_THREADS=1 imports on one thread).
        let threads = rayon::current_num_threads().clamp(1, 8);
        let writer = index
            .writer_with_num_threads::<TantivyDocument>(threads, 64_000_000 * threads)
            .map_err(tantivy_err(&dir))?;
        Ok(Writer {
            dir,
            fields,
            writer,
        })
    }

    fn add(&self, doc: TantivyDocument) -> Result<(), ArchiveError> {
        self.writer
            .add_document(doc)
            .map(drop)
            .map_err(tantivy_err(&self.dir))
    }

    /// A quoted message's document.
    fn message(&self, mid: u64, words: &str, date: u64) -> Result<(), ArchiveError> {
        let mut doc = TantivyDocument::default();
        doc.add_text(self.fields.msg, words);
        doc.add_u64(self.fields.mid, mid);
        doc.add_u64(self.fields.rank, rank_key(date, mid));
        self.add(doc)
    }

    /// An article's document: its words by field, and its sections stored for snippets.
    fn article(&self, aid: u64, a: &Article) -> Result<(), ArchiveError> {
        let f = &self.fields;
        let mut doc = TantivyDocument::default();
        doc.add_u64(f.aid, aid);
        doc.add_text(f.qid, &a.id);
        doc.add_u64(
            f.rank,
            rank_key(date_number(a.date.as_deref().unwrap_or("")), aid),
        );
        let mut put = |field: usize, text: &str| {
            if !text.trim().is_empty() {
                doc.add_text(f.words[field], lexical_words(text).join(" "));
            }
        };
        put(TITLE, &a.title);
        for section in &a.sections {
            put(section_field(&section.heading), &section.text);
        }
        let meta = [
            a.tag.as_deref().unwrap_or(""),
            &a.product,
            &a.prod_ver,
            &a.oper_sys,
            &a.applies_to.join("\n"),
            &a.keywords,
        ];
        put(META_FIELD, &meta.join("\n"));
        doc.add_text(f.stored, stored_sections(a));
        self.add(doc)
    }
}

/// The field (of [`FIELD_WEIGHTS`]) a section's words go to.
fn section_field(heading: &str) -> usize {
    let h = heading.to_ascii_uppercase();
    if h.starts_with("SYMPTOM") || h == "SUMMARY" {
        SYMPTOMS
    } else if h.starts_with("CAUSE")
        || h.starts_with("RESOLUTION")
        || h.starts_with("WORKAROUND")
        || h.starts_with("STATUS")
    {
        FIX
    } else {
        MORE
    }
}

/// The heading under which the stored text keeps an article's "applies to" list.
pub const APPLIES_TO: &str = "APPLIES TO";

/// Separates a heading from its text, and one section from the next, in the stored field.
const HEADING_END: char = '\u{1f}';
const SECTION_END: char = '\u{1e}';

/// The title, "applies to" list and sections as one stored string.
fn stored_sections(a: &Article) -> String {
    let mut out = format!("TITLE{HEADING_END}{}", a.title);
    if !a.applies_to.is_empty() {
        out.push(SECTION_END);
        out.push_str(APPLIES_TO);
        out.push(HEADING_END);
        out.push_str(&a.applies_to.join("\n"));
    }
    for s in &a.sections {
        out.push(SECTION_END);
        out.push_str(&s.heading);
        out.push(HEADING_END);
        out.push_str(&s.text);
    }
    out
}

/// A title without its leading tag (`XADM: `, `HOWTO: `, `PRB: `).
fn strip_title_tag(title: &str) -> &str {
    match title.split_once(':') {
        Some((tag, rest))
            if tag.len() <= 12
                && !tag.contains(' ')
                && tag.chars().any(|c| c.is_ascii_uppercase()) =>
        {
            rest.trim_start()
        }
        _ => title,
    }
}

/// `YYYY-MM-DD` as the number `YYYYMMDD`; 0 for an unknown date.
fn date_number(date: &str) -> u64 {
    date.replace('-', "").parse().unwrap_or(0)
}

/// Imports every article under `dir` into a new generation under `root` and makes it live.
/// With `semantic` (a sentence-embedding model directory), also embeds every article for
/// ranking descriptions by meaning, and keeps a copy of the model beside the vectors.
pub fn import(
    dir: &Path,
    root: &Path,
    semantic: Option<&Path>,
    progress: &(dyn Fn(Progress) + Sync),
) -> Result<ImportSummary, ArchiveError> {
    let start = Instant::now();
    // A model that cannot be loaded fails the import before any work.
    let model = semantic.map(crate::embed::Model::load).transpose()?;
    let files = article_files(dir);
    progress(Progress::Found(files.len()));
    fs::create_dir_all(root).map_err(io_err(root))?;
    remove_stale_generations(root);
    let stamp = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let generation = root.join(format!("gen-{stamp}-{}", std::process::id()));
    fs::create_dir_all(&generation).map_err(io_err(&generation))?;
    let openings = model.is_some();
    let built = build_generation(dir, &files, &generation, openings, progress).and_then(|built| {
        let embedded = match (&model, semantic) {
            (Some(model), Some(source)) => Some(semantic::write(
                &generation,
                model,
                source,
                &built.openings,
                progress,
            )?),
            _ => None,
        };
        Ok((built, embedded))
    });
    let (
        Built {
            articles,
            messages,
            skipped,
            by_product,
            ..
        },
        embedded,
    ) = match built {
        Ok(built) => built,
        Err(err) => {
            // A failed import leaves nothing behind; the live generation is untouched.
            fs::remove_dir_all(&generation).ok();
            return Err(err);
        }
    };
    let meta = Meta {
        kbguard: env!("CARGO_PKG_VERSION").to_string(),
        source: fs::canonicalize(dir)
            .unwrap_or_else(|_| dir.to_path_buf())
            .display()
            .to_string(),
        built_at: stamp,
        articles,
        messages,
        skipped: skipped.len(),
        by_product,
        semantic: semantic.map(|m| {
            fs::canonicalize(m)
                .unwrap_or_else(|_| m.to_path_buf())
                .display()
                .to_string()
        }),
    };
    let meta_path = generation.join(META);
    let meta_json = serde_json::to_vec_pretty(&meta).map_err(|e| ArchiveError::Io {
        path: meta_path.display().to_string(),
        reason: e.to_string(),
    })?;
    write_durably(&meta_path, &meta_json)?;
    write_durably(&generation.join(COMPLETE), b"")?;
    // The switch: CURRENT is replaced by rename, which readers see whole or not at all.
    let name = generation
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = root.join(format!("{CURRENT}.tmp-{}", std::process::id()));
    write_durably(&tmp, name.as_bytes())?;
    fs::rename(&tmp, root.join(CURRENT)).map_err(io_err(root))?;
    if let Ok(dir) = fs::File::open(root) {
        // Make the rename itself durable where the platform allows syncing a directory.
        dir.sync_all().ok();
    }
    remove_stale_generations(root);
    Ok(ImportSummary {
        articles,
        messages,
        skipped,
        elapsed: start.elapsed(),
        bytes: dir_size(&generation),
        generation,
        semantic: embedded,
    })
}

/// Counts per product tag, largest first.
type ByProduct = Vec<(String, usize)>;

/// What [`build_generation`] wrote.
struct Built {
    articles: usize,
    messages: usize,
    skipped: Vec<Skipped>,
    by_product: ByProduct,
    /// By article number: its title and its opening (empty for a skipped file).
    openings: Vec<[String; 2]>,
}

/// Parses every file on all cores, feeding each article's text to the index as it is read,
/// then indexes the quoted messages with their weights and writes the table.
fn build_generation(
    dir: &Path,
    files: &[PathBuf],
    generation: &Path,
    openings: bool,
    progress: &(dyn Fn(Progress) + Sync),
) -> Result<Built, ArchiveError> {
    let mut writer = Writer::create(generation)?;
    let outcomes: Vec<Result<Prepared, Skipped>> = files
        .par_iter()
        .enumerate()
        .with_min_len(64)
        .map(|(aid, path)| {
            let result = read_article(path);
            progress(Progress::Parsed(1));
            // The summary names the file beside the reason.
            let article = result.map_err(|e| Skipped {
                path: path.display().to_string(),
                reason: match e {
                    ArchiveError::Article { source, .. } => source.to_string(),
                    ArchiveError::Io { reason, .. } => reason,
                    other => other.to_string(),
                },
            })?;
            writer.article(aid as u64, &article).map_err(|e| Skipped {
                path: path.display().to_string(),
                reason: e.to_string(),
            })?;
            Ok(prepare(aid, article, path, dir, openings))
        })
        .collect();
    let mut prepared = Vec::with_capacity(outcomes.len());
    let mut skipped = Vec::new();
    for outcome in outcomes {
        match outcome {
            Ok(p) => prepared.push(p),
            Err(s) => skipped.push(s),
        }
    }
    if prepared.is_empty() {
        return Err(ArchiveError::NoArticles(dir.display().to_string()));
    }
    progress(Progress::Indexing);
    // Message document frequencies give every token its weight (rare words weigh more).
    let mut df: HashMap<&str, u32> = HashMap::new();
    let mut total_messages = 0usize;
    for p in &prepared {
        for (_, _, tokens) in &p.messages {
            total_messages += 1;
            let mut seen: Vec<&str> = tokens
                .iter()
                .filter(|t| !t.wildcard)
                .map(|t| t.text.as_str())
                .collect();
            seen.sort_unstable();
            seen.dedup();
            for t in seen {
                *df.entry(t).or_default() += 1;
            }
        }
    }
    let weights = DfWeights {
        n: total_messages as f32,
        df: &df,
    };
    // The table numbers articles by file, so skipped files keep an empty place.
    let mut table = TableWriter::default();
    let mut next = prepared.iter().peekable();
    let mut mid = 0u64;
    for aid in 0..files.len() {
        let Some(p) = next.next_if(|p| p.aid == aid) else {
            table.article(&ArticleRecord::default());
            continue;
        };
        table.article(&p.record);
        let date = date_number(&p.record.date);
        for (section, text, tokens) in &p.messages {
            let total = crate::analysis::unit_weight(tokens, &weights);
            let lines: Vec<f32> = line_units(text, tokens)
                .into_iter()
                .map(|unit| crate::analysis::unit_weight(unit, &weights))
                .collect();
            table.message(aid, section, text, total, &lines);
            writer.message(mid, &words(tokens), date)?;
            mid += 1;
        }
    }
    writer.writer.commit().map_err(tantivy_err(&writer.dir))?;
    writer
        .writer
        .wait_merging_threads()
        .map_err(tantivy_err(&writer.dir))?;
    let bytes = table.finish().ok_or_else(|| ArchiveError::Io {
        path: generation.join(TABLE).display().to_string(),
        reason: "the archive is too large for the table's 32-bit offsets".into(),
    })?;
    write_durably(&generation.join(TABLE), &bytes)?;
    write_fix_lists(generation, &prepared)?;
    write_commands(generation, &prepared)?;
    let mut by_product: HashMap<&str, usize> = HashMap::new();
    for p in &prepared {
        *by_product.entry(p.record.tag.as_str()).or_default() += 1;
    }
    let mut by_product: ByProduct = by_product
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
    by_product.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    skipped.sort_by(|a, b| a.path.cmp(&b.path));
    // Titles are matched like messages but are not messages the articles quote.
    let quoted = prepared
        .iter()
        .flat_map(|p| &p.messages)
        .filter(|(section, _, _)| section != TITLE_SECTION)
        .count();
    // What `--semantic` embeds, by article number; nothing is kept for a words-only import.
    let openings = if openings {
        let mut by_aid = vec![[String::new(), String::new()]; files.len()];
        for p in prepared.iter_mut() {
            by_aid[p.aid] = [p.record.title.clone(), std::mem::take(&mut p.opening)];
        }
        by_aid
    } else {
        Vec::new()
    };
    Ok(Built {
        articles: prepared.len(),
        messages: quoted,
        skipped,
        by_product,
        openings,
    })
}

/// Writes the service-pack fix lists of the archive (`fixlists.json`): which articles' bugs
/// each service pack fixes. A fix list's references to other fix lists are not fixes.
fn write_fix_lists(generation: &Path, prepared: &[Prepared]) -> Result<(), ArchiveError> {
    let lists: Vec<&FixList> = prepared.iter().flat_map(|p| &p.fix_lists).collect();
    let list_ids: std::collections::HashSet<&str> =
        lists.iter().map(|l| String::as_str(&l.article)).collect();
    let lists: Vec<FixList> = lists
        .into_iter()
        .map(|l| FixList {
            fixes: l
                .fixes
                .iter()
                .filter(|f| !list_ids.contains(String::as_str(f)))
                .cloned()
                .collect(),
            ..l.clone()
        })
        .collect();
    let path = generation.join(FIX_LISTS);
    let json = serde_json::to_vec(&lists).map_err(|e| ArchiveError::Io {
        path: path.display().to_string(),
        reason: e.to_string(),
    })?;
    write_durably(&path, &json)
}

/// What the table keeps of an article: its record and its quoted messages, tokenised (the
/// article's words went to the index as it was read).
/// With `openings`, also the text `--semantic` embeds.
fn prepare(aid: usize, a: Article, path: &Path, root: &Path, openings: bool) -> Prepared {
    let fix_lists = article::fix_lists(&a);
    let mentions = mentions::extract(&a);
    let remedy = if mentions.is_empty() {
        String::new()
    } else {
        remedy(&a)
    };
    let opening = if openings {
        semantic::opening(&a)
    } else {
        String::new()
    };
    // The title is matched like a message too: a description often says what a title says.
    let title = QuotedMessage {
        section: TITLE_SECTION.into(),
        text: strip_title_tag(&a.title).to_string(),
    };
    let messages = a
        .messages
        .into_iter()
        .chain(std::iter::once(title))
        .map(|m| {
            let tokens = tokenize(&m.text, true);
            (m.section, m.text, tokens)
        })
        .filter(|(_, _, tokens)| tokens.iter().any(|t| !t.wildcard))
        .collect();
    let record = ArticleRecord {
        products: products::article_products(&a.applies_to, &a.product),
        versions: products::article_versions(&a.applies_to, &a.prod_ver),
        id: a.id,
        title: a.title,
        tag: a.tag.unwrap_or_default(),
        relpath: path
            .strip_prefix(root)
            .unwrap_or(path)
            .display()
            .to_string(),
        date: a.date.unwrap_or_default(),
    };
    Prepared {
        aid,
        record,
        messages,
        fix_lists,
        mentions,
        remedy,
        opening,
    }
}

/// An advisory's remedy is this many characters of the article's own.
const MAX_REMEDY: usize = 300;

/// The start of the article's RESOLUTION or WORKAROUND (else STATUS), whitespace collapsed.
fn remedy(a: &Article) -> String {
    let section = ["RESOLUTION", "WORKAROUND", "STATUS"]
        .iter()
        .find_map(|want| {
            a.sections
                .iter()
                .find(|s| s.heading.to_ascii_uppercase().contains(want))
        });
    let Some(section) = section else {
        return String::new();
    };
    let mut text = section
        .text
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    if let Some((cut, _)) = text.char_indices().nth(MAX_REMEDY) {
        text.truncate(cut);
        text.push('…');
    }
    text
}

/// The command index: each program's articles, in article order.
fn write_commands(generation: &Path, prepared: &[Prepared]) -> Result<(), ArchiveError> {
    let mut entries: std::collections::BTreeMap<String, Vec<CommandEntry>> =
        std::collections::BTreeMap::new();
    for p in prepared {
        for m in &p.mentions {
            entries
                .entry(m.program.clone())
                .or_default()
                .push(CommandEntry {
                    aid: u32::try_from(p.aid).unwrap_or(u32::MAX),
                    mention: m.clone(),
                    remedy: p.remedy.clone(),
                });
        }
    }
    commands::write(generation, entries)
}

fn write_durably(path: &Path, bytes: &[u8]) -> Result<(), ArchiveError> {
    let mut file = fs::File::create(path).map_err(io_err(path))?;
    file.write_all(bytes).map_err(io_err(path))?;
    file.sync_all().map_err(io_err(path))
}

/// Total size of the files under `dir`, in bytes.
pub fn dir_size(dir: &Path) -> u64 {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(Result::ok)
        .filter_map(|e| e.metadata().ok())
        .filter(|m| m.is_file())
        .map(|m| m.len())
        .sum()
}

/// Removes generations that are neither live nor the newest complete older one (kept so a
/// reader that read `CURRENT` just before a switch can still open what it named), and any
/// incomplete generation left by an import that died.
fn remove_stale_generations(root: &Path) {
    let live = fs::read_to_string(root.join(CURRENT)).unwrap_or_default();
    let Ok(entries) = fs::read_dir(root) else {
        return;
    };
    let mut complete: Vec<PathBuf> = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with(&format!("{CURRENT}.tmp-")) {
            fs::remove_file(&path).ok();
            continue;
        }
        if !name.starts_with("gen-") || name == live.trim() {
            continue;
        }
        if path.join(COMPLETE).exists() {
            complete.push(path);
        } else if !generation_in_progress(&name) {
            fs::remove_dir_all(&path).ok();
        }
    }
    complete.sort_by_key(|p| generation_stamp(p));
    complete.pop();
    for path in complete {
        fs::remove_dir_all(&path).ok();
    }
}

fn generation_stamp(path: &Path) -> u64 {
    path.file_name()
        .and_then(|n| n.to_str())
        .and_then(|n| n.split('-').nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

/// An incomplete generation whose importer is still running must not be removed.
fn generation_in_progress(name: &str) -> bool {
    let Some(pid) = name.rsplit('-').next().and_then(|p| p.parse::<u32>().ok()) else {
        return false;
    };
    pid == std::process::id() || Path::new(&format!("/proc/{pid}")).exists()
}

struct DfWeights<'a> {
    n: f32,
    df: &'a HashMap<&'a str, u32>,
}

impl Weights for DfWeights<'_> {
    fn weight(&self, token: &str) -> f32 {
        idf(self.n, self.df.get(token).copied().unwrap_or(0))
    }
}

/// Formats seconds since the Unix epoch as `YYYY-MM-DD HH:MM UTC`.
pub fn format_utc(secs: u64) -> String {
    let t = crate::clock::Utc::from_secs(secs);
    format!("{} {:02}:{:02} UTC", t.date(), t.hour, t.minute)
}

/// An opened archive index.
pub struct Archive {
    /// The generation directory opened.
    pub path: PathBuf,
    /// What it was built from.
    pub meta: Meta,
    /// Articles and messages, for re-ranking and display.
    pub table: Table,
    _reader: IndexReader,
    searcher: Searcher,
    fields: Fields,
    n_messages: f32,
    n_articles: u64,
    weight_cache: Mutex<HashMap<String, f32>>,
    semantic: semantic::Lazy,
}

/// Query words in more than this part (one in ten) of the articles are left out of the words-over-fields
/// search: they say nothing about which article is meant, and cost the most to score.
const COMMON_WORD_DIVISOR: u64 = 10;
/// A query is searched by words over fields on at most this many of its rarest words.
const MAX_LEXICAL_TERMS: usize = 10;
/// The message candidates' BM25 view scores at most this many of the query's words, the rarest.
const MAX_MESSAGE_TERMS: usize = 12;

/// The live generation under `root`, as `CURRENT` names it.
fn live_generation(root: &Path) -> Result<PathBuf, ArchiveError> {
    let current = fs::read_to_string(root.join(CURRENT)).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            ArchiveError::Missing(root.display().to_string())
        } else {
            io_err(root)(e)
        }
    })?;
    Ok(root.join(current.trim()))
}

/// The table of a generation, memory-mapped: a lookup or check touches a few records of a
/// table of tens of megabytes.
fn open_table(path: &Path) -> Result<Table, ArchiveError> {
    let corrupt = |reason: String| ArchiveError::Corrupt {
        path: path.display().to_string(),
        reason,
    };
    let bytes = tantivy::directory::MmapDirectory::open(path)
        .map_err(|e| corrupt(e.to_string()))?
        .open_read(Path::new(TABLE))
        .map_err(|e| corrupt(e.to_string()))?
        .read_bytes()
        .map_err(io_err(path))?;
    if bytes.starts_with(b"KBGTBL") && !bytes.starts_with(table::MAGIC) {
        return Err(corrupt(
            "built by another version of kbguard: import the archive again (kbguard kb import DIR)"
                .into(),
        ));
    }
    Table::from_bytes(bytes).ok_or_else(|| corrupt("table.bin is truncated or damaged".into()))
}

/// What a check needs of the archive for its advisories: the table (titles, products) and the
/// command index, without opening the tantivy index.
pub struct Advice {
    /// The generation directory opened.
    pub path: PathBuf,
    /// Articles, by number.
    pub table: Table,
    /// Programs and the articles that say they go wrong.
    pub commands: Commands,
}

impl Advice {
    /// Opens the live generation under `root` for advisories.
    pub fn open(root: &Path) -> Result<Advice, ArchiveError> {
        let path = live_generation(root)?;
        Ok(Advice {
            table: open_table(&path)?,
            commands: Commands::open(&path)?,
            path,
        })
    }
}

impl Archive {
    /// Opens the live generation under `root`.
    pub fn open(root: &Path) -> Result<Archive, ArchiveError> {
        let path = live_generation(root)?;
        let corrupt = |reason: String| ArchiveError::Corrupt {
            path: path.display().to_string(),
            reason,
        };
        let meta: Meta = serde_json::from_slice(&fs::read(path.join(META)).map_err(io_err(&path))?)
            .map_err(|e| corrupt(e.to_string()))?;
        let table = open_table(&path)?;
        let tantivy_dir = path.join("tantivy");
        let index = Index::open_in_dir(&tantivy_dir).map_err(tantivy_err(&tantivy_dir))?;
        let (_, fields) = schema();
        // A manual reload policy: no watcher thread, the generation never changes under us.
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()
            .map_err(tantivy_err(&tantivy_dir))?;
        let searcher = reader.searcher();
        for segment in searcher.segment_readers() {
            // Candidates are ranked by their rank keys: an index without them is damaged.
            segment
                .fast_fields()
                .u64("rank")
                .map_err(tantivy_err(&tantivy_dir))?;
        }
        Ok(Archive {
            semantic: semantic::Lazy::of(&path, table.article_count()),
            n_messages: table.message_count() as f32,
            n_articles: u64::try_from(table.article_count()).unwrap_or(u64::MAX),
            path,
            meta,
            table,
            _reader: reader,
            searcher,
            fields,
            weight_cache: Mutex::new(HashMap::new()),
        })
    }

    /// Whether the index was imported with `--semantic` and, if so, whether its model and
    /// vectors load (the reason when not): `None` for a words-only index.
    pub fn semantic_status(&self) -> Option<Result<(), String>> {
        if !self.semantic.present() {
            return None;
        }
        Some(match self.semantic.get() {
            Some(Ok(_)) => Ok(()),
            Some(Err(reason)) => Err(reason.to_string()),
            None => Err("no vectors".into()),
        })
    }

    /// The query's distinct words, without wildcards.
    fn terms(query: &Query) -> Vec<&str> {
        let mut terms: Vec<&str> = query
            .tokens
            .iter()
            .filter(|t| !t.wildcard && !t.text.is_empty())
            .map(|t| t.text.as_str())
            .collect();
        terms.sort_unstable();
        terms.dedup();
        terms
    }

    /// Searches with `clauses` OR'ed; the best `limit` by score, then [`rank_key`].
    fn top(&self, clauses: Vec<(Occur, Box<dyn TantivyQuery>)>, limit: usize) -> Vec<(f32, u64)> {
        if clauses.is_empty() || limit == 0 {
            return Vec::new();
        }
        self.searcher
            .search(&BooleanQuery::new(clauses), &top_by_score_then_rank(limit))
            .unwrap_or_default()
            .into_iter()
            .map(|((score, rank), _)| (score, number_of(rank)))
            .collect()
    }

    /// The best `limit` documents by the summed scores of `clauses`, each matching the
    /// documents one word is in: what [`Archive::top`] finds for the same clauses OR'ed, to the
    /// bit, at less cost; and the sums of the articles `also` that any clause matches. Each
    /// clause adds its scores into per-document sums, in clause order as a union adds them (so
    /// the floating-point sums are the union's), walking its postings or, with no `limit`,
    /// seeking the documents of `also`; the matched documents are offered to
    /// [`ScoreThenRank`] in document order, as a union offers them.
    fn top_of_sum(&self, clauses: &[Clause], limit: usize, also: &[u32]) -> Summed {
        if clauses.is_empty() || (limit == 0 && also.is_empty()) {
            return (Vec::new(), Vec::new());
        }
        // The weights over the whole index, as a term query makes them (its statistics are the
        // searcher's); a clause whose weight cannot be made adds nothing, as a union skips it.
        let weights: Vec<Option<Bm25Weight>> = clauses
            .iter()
            .map(|clause| match clause {
                Clause::Bm25(term, boost) => {
                    Bm25Weight::for_terms(&self.searcher, std::slice::from_ref(term))
                        .ok()
                        .map(|w| w.boost_by(*boost))
                }
                Clause::Const(..) => None,
            })
            .collect();
        let collector = top_by_score_then_rank(limit.max(1));
        let mut fruits = Vec::new();
        let mut sums_of_also = Vec::new();
        for (ord, reader) in self.searcher.segment_readers().iter().enumerate() {
            let Ok(ord) = u32::try_from(ord) else { break };
            let Ok(mut child) = collector.for_segment(ord, reader) else {
                continue;
            };
            let asked = self.documents_of(also, reader);
            SUMS.with_borrow_mut(|sums| {
                sums.reset(reader.max_doc());
                for (clause, weight) in clauses.iter().zip(&weights) {
                    let term = clause.term();
                    let Ok(index) = reader.inverted_index(term.field()) else {
                        continue;
                    };
                    let Ok(Some(info)) = index.get_term_info(term) else {
                        continue;
                    };
                    let (scoring, option) = match (clause, weight) {
                        (Clause::Const(_, score), _) => {
                            (Scoring::Const(*score), IndexRecordOption::Basic)
                        }
                        (Clause::Bm25(..), Some(weight)) => {
                            let norms = reader
                                .fieldnorms_readers()
                                .get_field(term.field())
                                .ok()
                                .flatten()
                                .unwrap_or_else(|| FieldNormReader::constant(reader.max_doc(), 1));
                            (
                                Scoring::Bm25(weight.clone(), norms),
                                IndexRecordOption::WithFreqs,
                            )
                        }
                        (Clause::Bm25(..), None) => continue,
                    };
                    if limit == 0 {
                        // Only a few documents are asked about: seek them.
                        let Ok(mut postings) = index.read_postings_from_terminfo(&info, option)
                        else {
                            continue;
                        };
                        for &(doc, _) in &asked {
                            if postings.doc() <= doc && postings.seek(doc) == doc {
                                sums.add(doc, scoring.score(doc, postings.term_freq()));
                            }
                        }
                        continue;
                    }
                    // A block at a time: 128 documents and their frequencies.
                    let Ok(mut block) = index.read_block_postings_from_terminfo(&info, option)
                    else {
                        continue;
                    };
                    loop {
                        let docs = block.docs();
                        if docs.is_empty() {
                            break;
                        }
                        match &scoring {
                            Scoring::Const(score) => {
                                for &doc in docs {
                                    sums.add(doc, *score);
                                }
                            }
                            Scoring::Bm25(..) => {
                                for (&doc, &freq) in docs.iter().zip(block.freqs()) {
                                    sums.add(doc, scoring.score(doc, freq));
                                }
                            }
                        }
                        block.advance();
                    }
                }
                for &(doc, aid) in &asked {
                    if let Some(sum) = sums.get(doc) {
                        sums_of_also.push((aid, sum));
                    }
                }
                let alive = reader.alive_bitset();
                // What the collector would turn away first (below the lowest it keeps), turned
                // away here without a call: most documents.
                let mut bar = if limit > 0 { f32::MIN } else { f32::INFINITY };
                sums.drain(|doc, score| {
                    if score >= bar && alive.is_none_or(|a| a.is_alive(doc)) {
                        tantivy::collector::SegmentCollector::collect(&mut child, doc, score);
                        bar = child.lowest();
                    }
                });
            });
            fruits.push(tantivy::collector::SegmentCollector::harvest(child));
        }
        let top = if limit == 0 {
            Vec::new()
        } else {
            collector
                .merge_fruits(fruits)
                .unwrap_or_default()
                .into_iter()
                .map(|((score, rank), _)| (score, number_of(rank)))
                .collect()
        };
        (top, sums_of_also)
    }

    /// The [`Coverage`] of `words` (stemmed) in each of `aids`: their postings, sought.
    fn coverage(&self, words: &[&str], aids: &[u32]) -> Vec<(u32, Coverage)> {
        if words.is_empty() || aids.is_empty() {
            return Vec::new();
        }
        // Per article: a bit per word held in the title, and a bit per word held anywhere.
        let mut held: HashMap<u32, (u32, u32)> = HashMap::new();
        for reader in self.searcher.segment_readers() {
            let docs = self.documents_of(aids, reader);
            for (i, word) in words.iter().enumerate().take(32) {
                for (field_number, field) in self.fields.words.iter().enumerate() {
                    let term = Term::from_field_text(*field, word);
                    let Ok(index) = reader.inverted_index(*field) else {
                        continue;
                    };
                    let Ok(Some(info)) = index.get_term_info(&term) else {
                        continue;
                    };
                    let Ok(mut postings) =
                        index.read_postings_from_terminfo(&info, IndexRecordOption::Basic)
                    else {
                        continue;
                    };
                    for &(doc, aid) in &docs {
                        if postings.doc() <= doc && postings.seek(doc) == doc {
                            let bits = held.entry(aid).or_default();
                            if field_number == TITLE {
                                bits.0 |= 1 << i;
                            }
                            bits.1 |= 1 << i;
                        }
                    }
                }
            }
        }
        let n = words.len().min(32) as f32;
        let mut coverage: Vec<(u32, Coverage)> = held
            .into_iter()
            .map(|(aid, (title, anywhere))| {
                (
                    aid,
                    Coverage {
                        title: title.count_ones() as f32 / n,
                        anywhere: anywhere.count_ones() as f32 / n,
                    },
                )
            })
            .collect();
        coverage.sort_unstable_by_key(|(aid, _)| *aid);
        coverage
    }

    /// The documents of articles `aids` in one segment, in order, each with its article.
    fn documents_of(
        &self,
        aids: &[u32],
        reader: &tantivy::SegmentReader,
    ) -> Vec<(tantivy::DocId, u32)> {
        let disabled = EnableScoring::disabled_from_searcher(&self.searcher);
        let mut docs = Vec::with_capacity(aids.len());
        for &aid in aids {
            let term = Term::from_field_u64(self.fields.aid, u64::from(aid));
            if let Ok(weight) = TermQuery::new(term, IndexRecordOption::Basic).weight(disabled) {
                // An article that cannot be read is not among them.
                let _ = weight.for_each_no_score(reader, &mut |found| {
                    docs.extend(found.iter().map(|&doc| (doc, aid)));
                });
            }
        }
        docs.sort_unstable();
        docs.dedup();
        docs
    }

    /// The service-pack fix lists found at import (none for an index built before they were).
    pub fn fix_lists(&self) -> Vec<FixList> {
        fs::read(self.path.join(FIX_LISTS))
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or_default()
    }

    /// The document address of article `aid`.
    fn article_address(&self, aid: u32) -> Option<tantivy::DocAddress> {
        let term = Term::from_field_u64(self.fields.aid, u64::from(aid));
        let query = TermQuery::new(term, IndexRecordOption::Basic);
        self.searcher
            .search(&query, &TopDocs::with_limit(1).order_by_score())
            .ok()?
            .first()
            .map(|(_, addr)| *addr)
    }
}

impl Corpus for Archive {
    /// Two views of the quoted messages, merged: the summed weight of the rare query words a
    /// message holds (finds long messages that BM25's length normalisation would bury), then
    /// BM25 (finds short messages made of common words).
    fn message_candidates(&self, query: &Query, limit: usize) -> Vec<u32> {
        let field = self.fields.msg;
        let mut terms = Archive::terms(query);
        if terms.len() > 3 {
            terms.retain(|t| token_weight(self, t) >= COMMON_MESSAGE_WEIGHT);
            if terms.is_empty() {
                terms = Archive::terms(query);
            }
        }
        // The BM25 view scores the rarest few: the cost of a union grows with every word's
        // postings, and a message that shares none of a long query's rarest words does not
        // align with it anyway.
        // By the query's own weights, in which log decoration (a syslog host, a pid) weighs
        // little however rare its words are in the archive.
        let in_query = |t: &str| {
            query
                .tokens
                .iter()
                .zip(&query.weights)
                .filter(|(q, _)| q.text == t)
                .map(|(_, w)| *w)
                .fold(0.0f32, f32::max)
        };
        let mut by_rarity: Vec<(f32, &str)> = terms.iter().map(|t| (in_query(t), *t)).collect();
        by_rarity.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(b.1)));
        by_rarity.truncate(MAX_MESSAGE_TERMS);
        let bm25_terms: Vec<&str> = by_rarity.into_iter().map(|(_, t)| t).collect();
        let clauses = |by_weight: bool| -> Vec<Clause> {
            let view = if by_weight { &terms } else { &bm25_terms };
            view.iter()
                // The weighted view is for rare words; common ones would only make it slow.
                .filter(|t| !by_weight || token_weight(self, t) >= RARE_WEIGHT)
                .map(|t| {
                    let term = Term::from_field_text(field, t);
                    if by_weight {
                        Clause::Const(term, token_weight(self, t))
                    } else {
                        Clause::Bm25(term, 1.0)
                    }
                })
                .collect()
        };
        let mut out: Vec<u32> = Vec::new();
        for by_weight in [true, false] {
            for (_, mid) in self.top_of_sum(&clauses(by_weight), limit, &[]).0 {
                let Ok(mid) = u32::try_from(mid) else {
                    continue;
                };
                if !out.contains(&mid) {
                    out.push(mid);
                }
            }
        }
        out
    }

    fn message(&self, id: u32) -> Option<MessageView<'_>> {
        self.table.message(id as usize)
    }

    /// BM25 per field, weighed by [`FIELD_WEIGHTS`] and summed, over the query's rarer words.
    fn lexical(&self, query: &Query, limit: usize, also: &[u32]) -> Lexical {
        let df = |t: &str| {
            self.searcher
                .doc_freq(&Term::from_field_text(self.fields.words[MORE], t))
                .unwrap_or(0)
                .max(
                    self.searcher
                        .doc_freq(&Term::from_field_text(self.fields.words[TITLE], t))
                        .unwrap_or(0),
                )
        };
        let mut stems: Vec<String> = Archive::terms(query)
            .into_iter()
            .map(|t| stem(t).into_owned())
            .collect();
        stems.sort_unstable();
        stems.dedup();
        let mut terms: Vec<(u64, &str)> = stems.iter().map(|t| (df(t), t.as_str())).collect();
        terms.sort_unstable();
        let common = self.n_articles / COMMON_WORD_DIVISOR;
        let rare = terms.iter().filter(|(df, _)| *df <= common).count();
        // A query made only of common words is still searched, by its rarest few.
        terms.truncate(rare.max(terms.len().min(3)).min(MAX_LEXICAL_TERMS));
        let mut words: Vec<Clause> = Vec::new();
        for (_, t) in &terms {
            for (i, (_, weight)) in FIELD_WEIGHTS.iter().enumerate() {
                words.push(Clause::Bm25(
                    Term::from_field_text(self.fields.words[i], t),
                    *weight,
                ));
            }
        }
        let (top, also) = self.top_of_sum(&words, limit, also);
        let top: Vec<(u32, f32)> = top
            .into_iter()
            .filter_map(|(score, aid)| Some((u32::try_from(aid).ok()?, score)))
            .collect();
        let mut found: Vec<u32> = top.iter().chain(&also).map(|(aid, _)| *aid).collect();
        found.sort_unstable();
        found.dedup();
        let words: Vec<&str> = terms.iter().map(|(_, t)| *t).collect();
        Lexical {
            coverage: self.coverage(&words, &found),
            top,
            also,
        }
    }

    fn semantic(&self, text: &str, limit: usize) -> Vec<(u32, f32)> {
        match self.semantic.get() {
            Some(Ok((model, vectors))) => vectors.nearest(&model.embed(text), limit),
            _ => Vec::new(),
        }
    }

    fn article(&self, id: u32) -> Option<ArticleRecord> {
        self.table.article(id as usize)
    }

    fn find(&self, id: &str) -> Option<u32> {
        let term = Term::from_field_text(self.fields.qid, &id.to_ascii_uppercase());
        let query = TermQuery::new(term, IndexRecordOption::Basic);
        let found = self.top(vec![(Occur::Should, Box::new(query))], 1);
        found.first().and_then(|(_, aid)| u32::try_from(*aid).ok())
    }

    fn sections(&self, id: u32) -> Vec<(String, String)> {
        let Some(addr) = self.article_address(id) else {
            return Vec::new();
        };
        let Ok(doc) = self.searcher.doc::<TantivyDocument>(addr) else {
            return Vec::new();
        };
        let Some(stored) = doc.get_first(self.fields.stored).and_then(|v| v.as_str()) else {
            return Vec::new();
        };
        stored
            .split(SECTION_END)
            .filter_map(|s| s.split_once(HEADING_END))
            .map(|(h, t)| (h.to_string(), t.to_string()))
            .collect()
    }
}

/// The `limit` best documents by score; equal scores rank the newer article first, then the
/// lower document number, both read from the one `rank` fast field (see [`rank_key`]).
/// Tantivy alone breaks ties by document address, which depends on how the import's threads
/// happened to fill segments; this order does not, so the same archive gives the same
/// candidates whatever the thread count.
fn top_by_score_then_rank(limit: usize) -> ScoreThenRank {
    ScoreThenRank { limit }
}

/// The top documents by (score, rank key), exactly, reading a document's rank only when its
/// score could still place it: below the lowest score kept, no rank can lift it.
struct ScoreThenRank {
    limit: usize,
}

/// A kept document, ordered by score, then rank.
#[derive(Clone, Copy, Debug)]
struct Kept {
    score: f32,
    rank: u64,
    doc: tantivy::DocId,
}

impl PartialEq for Kept {
    fn eq(&self, other: &Kept) -> bool {
        self.cmp(other) == std::cmp::Ordering::Equal
    }
}

impl Eq for Kept {}

impl PartialOrd for Kept {
    fn partial_cmp(&self, other: &Kept) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Kept {
    fn cmp(&self, other: &Kept) -> std::cmp::Ordering {
        self.score
            .total_cmp(&other.score)
            .then(self.rank.cmp(&other.rank))
    }
}

/// [`ScoreThenRank`] within one segment: a min-heap of the best `limit`.
struct ScoreThenRankSegment {
    limit: usize,
    segment: tantivy::SegmentOrdinal,
    ranks: Option<std::sync::Arc<dyn tantivy::columnar::ColumnValues<u64>>>,
    kept: std::collections::BinaryHeap<std::cmp::Reverse<Kept>>,
}

impl Collector for ScoreThenRank {
    type Fruit = Ranked;
    type Child = ScoreThenRankSegment;

    fn for_segment(
        &self,
        segment: tantivy::SegmentOrdinal,
        reader: &tantivy::SegmentReader,
    ) -> tantivy::Result<ScoreThenRankSegment> {
        let ranks = reader
            .fast_fields()
            .u64("rank")
            .ok()
            .map(|c| c.first_or_default_col(0));
        Ok(ScoreThenRankSegment {
            limit: self.limit,
            segment,
            ranks,
            kept: std::collections::BinaryHeap::with_capacity(self.limit + 1),
        })
    }

    fn requires_scoring(&self) -> bool {
        true
    }

    fn merge_fruits(&self, fruits: Vec<Ranked>) -> tantivy::Result<Ranked> {
        let mut all: Ranked = fruits.into_iter().flatten().collect();
        all.sort_by(|a, b| b.0 .0.total_cmp(&a.0 .0).then(b.0 .1.cmp(&a.0 .1)));
        all.truncate(self.limit);
        Ok(all)
    }
}

impl ScoreThenRankSegment {
    /// The lowest score kept once `limit` are kept: below it, a document is not.
    fn lowest(&self) -> f32 {
        match self.kept.peek() {
            Some(std::cmp::Reverse(lowest)) if self.kept.len() >= self.limit => lowest.score,
            _ => f32::MIN,
        }
    }
}

impl tantivy::collector::SegmentCollector for ScoreThenRankSegment {
    type Fruit = Ranked;

    fn collect(&mut self, doc: tantivy::DocId, score: tantivy::Score) {
        if self.limit == 0 || score < self.lowest() {
            return;
        }
        let rank = self.ranks.as_ref().map_or(0, |c| c.get_val(doc));
        self.kept.push(std::cmp::Reverse(Kept { score, rank, doc }));
        if self.kept.len() > self.limit {
            self.kept.pop();
        }
    }

    fn harvest(self) -> Ranked {
        let segment = self.segment;
        let mut out: Ranked = self
            .kept
            .into_iter()
            .map(|std::cmp::Reverse(k)| {
                ((k.score, k.rank), tantivy::DocAddress::new(segment, k.doc))
            })
            .collect();
        out.sort_by(|a, b| b.0 .0.total_cmp(&a.0 .0).then(b.0 .1.cmp(&a.0 .1)));
        out
    }
}

/// What [`Archive::top_of_sum`] finds: the best as (score, article or message number), and
/// the sums of the articles asked about that matched, as (article, sum).
type Summed = (Vec<(f32, u64)>, Vec<(u32, f32)>);

/// One word's part in [`Archive::top_of_sum`].
enum Clause {
    /// BM25 of the term, times a boost (as a `BoostQuery` over a `TermQuery` scores).
    Bm25(Term, f32),
    /// A constant for each document holding the term.
    Const(Term, f32),
}

impl Clause {
    fn term(&self) -> &Term {
        match self {
            Clause::Bm25(term, _) | Clause::Const(term, _) => term,
        }
    }
}

/// How one clause scores a document in one segment: BM25 as tantivy's term scorer computes it
/// (same weight, same field norms, so the same bits), or a constant.
enum Scoring {
    Bm25(Bm25Weight, FieldNormReader),
    Const(f32),
}

impl Scoring {
    fn score(&self, doc: tantivy::DocId, term_freq: u32) -> f32 {
        match self {
            Scoring::Bm25(weight, norms) => weight.score(norms.fieldnorm_id(doc), term_freq),
            Scoring::Const(score) => *score,
        }
    }
}

/// Per-document sums for [`Archive::top_of_sum`], kept per thread and cleared as they are read,
/// so that a search allocates nothing the size of the index.
#[derive(Default)]
struct Sums {
    sums: Vec<f32>,
    /// One bit per document that has a sum (a union offers every matched document, whatever
    /// its score).
    touched: Vec<u64>,
}

impl Sums {
    /// Ready for a segment of `max_doc` documents, all sums zero.
    fn reset(&mut self, max_doc: tantivy::DocId) {
        let n = max_doc as usize;
        if self.sums.len() < n {
            self.sums.resize(n, 0.0);
            self.touched.resize(n.div_ceil(64), 0);
        }
    }

    fn add(&mut self, doc: tantivy::DocId, score: f32) {
        let d = doc as usize;
        if let Some(sum) = self.sums.get_mut(d) {
            *sum += score;
            self.touched[d / 64] |= 1 << (d % 64);
        }
    }

    /// The sum of `doc`, if any clause matched it.
    fn get(&self, doc: tantivy::DocId) -> Option<f32> {
        let d = doc as usize;
        let touched = self.touched.get(d / 64)? & (1 << (d % 64)) != 0;
        touched.then(|| self.sums[d])
    }

    /// Each touched document and its sum in document order, leaving all sums zero.
    fn drain(&mut self, mut f: impl FnMut(tantivy::DocId, f32)) {
        for (word, bits) in self.touched.iter_mut().enumerate() {
            while *bits != 0 {
                let d = word * 64 + bits.trailing_zeros() as usize;
                *bits &= *bits - 1;
                let sum = std::mem::take(&mut self.sums[d]);
                if let Ok(doc) = tantivy::DocId::try_from(d) {
                    f(doc, sum);
                }
            }
        }
    }
}

thread_local! {
    static SUMS: std::cell::RefCell<Sums> = std::cell::RefCell::new(Sums::default());
}

/// What [`top_by_score_then_rank`] collects: (score, rank key) and the address.
type Ranked = Vec<((f32, u64), tantivy::DocAddress)>;

/// The tie-break key of a document: its article's date (`YYYYMMDD`) in the high half, the
/// complement of its number in the low half, so that a larger key is a newer article, then a
/// lower number. Every document has one, which keeps the column dense and its reads cheap.
fn rank_key(date: u64, number: u64) -> u64 {
    (date << 32) | (u64::from(u32::MAX) - (number & u64::from(u32::MAX)))
}

/// The document number in a rank key.
fn number_of(rank: u64) -> u64 {
    u64::from(u32::MAX) - (rank & u64::from(u32::MAX))
}

impl Weights for Archive {
    fn weight(&self, token: &str) -> f32 {
        if let Ok(cache) = self.weight_cache.lock() {
            if let Some(w) = cache.get(token) {
                return *w;
            }
        }
        let df = self
            .searcher
            .doc_freq(&Term::from_field_text(self.fields.msg, token))
            .unwrap_or(0);
        let w = idf(self.n_messages, u32::try_from(df).unwrap_or(u32::MAX));
        if let Ok(mut cache) = self.weight_cache.lock() {
            // A server sees every word anyone types: past a bound the cache starts again, so
            // that a stream of made-up words cannot grow it without end.
            if cache.len() >= WEIGHT_CACHE_WORDS {
                cache.clear();
            }
            cache.insert(token.to_string(), w);
        }
        w
    }
}

/// How many words' weights [`Archive`] keeps (a few MB at most).
const WEIGHT_CACHE_WORDS: usize = 100_000;

/// Re-reads and parses an article's source file, for `kb show`.
pub fn show(archive: &Archive, id: &str) -> Option<Result<Article, ArchiveError>> {
    let record = archive.table.find(id)?;
    let path = Path::new(&archive.meta.source).join(&record.relpath);
    Some(read_article(&path))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tantivy::query::{BoostQuery, ConstScoreQuery};

    /// The fixture archive imported into a temporary root.
    fn fixture() -> (tempfile::TempDir, Archive) {
        let root = tempfile::tempdir().expect("temporary directory");
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/kbarchive");
        import(&dir, root.path(), None, &|_| {}).expect("fixture imports");
        let archive = Archive::open(root.path()).expect("fixture opens");
        (root, archive)
    }

    #[test]
    fn coverage_counts_the_searched_words_an_article_holds() {
        let (_root, archive) = fixture();
        let query = Query::new("frobnicator cluster catalog", &archive);
        let found = archive.lexical(&query, 10, &[]);
        let of = |id: &str| {
            let aid = archive.find(id).unwrap();
            found
                .coverage
                .iter()
                .find(|(a, _)| *a == aid)
                .map(|(_, c)| *c)
        };
        // Q999001's title holds two of the three words; Q999003's title the third.
        let frob = of("Q999001").unwrap();
        assert!((frob.title - 2.0 / 3.0).abs() < 1e-6, "{frob:?}");
        assert!(frob.anywhere >= frob.title);
        let gadget = of("Q999003").unwrap();
        assert!((gadget.title - 1.0 / 3.0).abs() < 1e-6, "{gadget:?}");
        // Every article found has its coverage, and no other.
        assert_eq!(found.coverage.len(), found.top.len());
    }

    #[test]
    fn summing_postings_ranks_as_the_union_does() {
        let (_root, archive) = fixture();
        let words = [
            "error",
            "the",
            "server",
            "jet_errkeyduplicate",
            "file",
            "not",
            "nosuch",
        ];
        for limit in [1, 3, 25] {
            // Messages by constant word weights, as the weighted view asks.
            let constant =
                |t: &&str| (Term::from_field_text(archive.fields.msg, t), t.len() as f32);
            let sums: Vec<Clause> = words
                .iter()
                .map(|t| {
                    let (term, w) = constant(t);
                    Clause::Const(term, w)
                })
                .collect();
            let union: Vec<(Occur, Box<dyn TantivyQuery>)> = words
                .iter()
                .map(|t| {
                    let (term, w) = constant(t);
                    let q = TermQuery::new(term, IndexRecordOption::Basic);
                    (
                        Occur::Should,
                        Box::new(ConstScoreQuery::new(Box::new(q), w)) as Box<dyn TantivyQuery>,
                    )
                })
                .collect();
            let expected = archive.top(union, limit);
            assert!(!expected.is_empty());
            assert_eq!(archive.top_of_sum(&sums, limit, &[]).0, expected);
            // Articles by boosted BM25 over two fields, as the words-over-fields search asks.
            let boosted = |t: &&str, i: usize| -> Box<dyn TantivyQuery> {
                let term = Term::from_field_text(archive.fields.words[i], t);
                let q = TermQuery::new(term, IndexRecordOption::WithFreqs);
                Box::new(BoostQuery::new(Box::new(q), FIELD_WEIGHTS[i].1))
            };
            let bm25 = |t: &&str, i: usize| {
                Clause::Bm25(
                    Term::from_field_text(archive.fields.words[i], t),
                    FIELD_WEIGHTS[i].1,
                )
            };
            let sums: Vec<Clause> = words
                .iter()
                .flat_map(|t| [bm25(t, TITLE), bm25(t, MORE)])
                .collect();
            let union: Vec<(Occur, Box<dyn TantivyQuery>)> = words
                .iter()
                .flat_map(|t| {
                    [
                        (Occur::Should, boosted(t, TITLE)),
                        (Occur::Should, boosted(t, MORE)),
                    ]
                })
                .collect();
            let expected = archive.top(union, limit);
            assert!(!expected.is_empty());
            assert_eq!(archive.top_of_sum(&sums, limit, &[]).0, expected);
            // Among a few articles: every third of the first 60, as an intersection finds.
            let only: Vec<u32> = (0..60).step_by(3).collect();
            let among: Vec<(Occur, Box<dyn TantivyQuery>)> = only
                .iter()
                .map(|a| {
                    let term = Term::from_field_u64(archive.fields.aid, u64::from(*a));
                    let q = TermQuery::new(term, IndexRecordOption::Basic);
                    (Occur::Should, Box::new(q) as Box<dyn TantivyQuery>)
                })
                .collect();
            let words: Vec<(Occur, Box<dyn TantivyQuery>)> = words
                .iter()
                .flat_map(|t| {
                    [
                        (Occur::Should, boosted(t, TITLE)),
                        (Occur::Should, boosted(t, MORE)),
                    ]
                })
                .collect();
            let intersection: Vec<(Occur, Box<dyn TantivyQuery>)> = vec![
                (
                    Occur::Must,
                    Box::new(ConstScoreQuery::new(
                        Box::new(BooleanQuery::new(among)),
                        0.0,
                    )),
                ),
                (Occur::Must, Box::new(BooleanQuery::new(words))),
            ];
            // Every article among them that matches, with the intersection's scores, whether
            // they are sought (no best asked for) or read off the whole search.
            let mut expected: Vec<(u32, f32)> = archive
                .top(intersection, only.len())
                .into_iter()
                .map(|(score, aid)| (u32::try_from(aid).expect("small"), score))
                .collect();
            expected.sort_by_key(|(aid, _)| *aid);
            assert!(!expected.is_empty());
            let sorted = |mut v: Vec<(u32, f32)>| {
                v.sort_by_key(|(aid, _)| *aid);
                v
            };
            assert_eq!(sorted(archive.top_of_sum(&sums, 0, &only).1), expected);
            assert_eq!(sorted(archive.top_of_sum(&sums, limit, &only).1), expected);
        }
    }

    #[test]
    fn utc_dates() {
        assert_eq!(format_utc(0), "1970-01-01 00:00 UTC");
        assert_eq!(format_utc(951_782_400), "2000-02-29 00:00 UTC");
        assert_eq!(format_utc(1_795_574_838), "2026-11-25 02:47 UTC");
    }
}
