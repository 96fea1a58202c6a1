//! The imported KB archive: `kb import` builds a persistent index, `lookup` searches it.
//!
//! Owns the on-disk layout and its atomic replacement. An index root holds generations
//! (`gen-<time>-<pid>/`) and a `CURRENT` file naming the live one. An import builds a new
//! generation beside the old, marks it complete, then replaces `CURRENT` by an atomic rename;
//! an import that dies at any point leaves `CURRENT` and its generation untouched. A generation
//! holds a tantivy index (candidate retrieval) and `table.bin` (article ids, titles, messages
//! and their token weights, for re-ranking and display).

use std::cmp::Reverse;
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
use tantivy::query::{BooleanQuery, ConstScoreQuery, Occur, Query as TantivyQuery, TermQuery};
use tantivy::schema::{
    Field, IndexRecordOption, Schema, TextFieldIndexing, TextOptions, FAST, INDEXED,
};
use tantivy::{Index, IndexReader, ReloadPolicy, Searcher, TantivyDocument, Term};
use thiserror::Error;

use crate::article::{self, Article};

mod table;
use crate::lookup::{line_units, token_weight, tokenize, Query, Token, Weights};
use table::TableWriter;
pub use table::{ArticleRecord, MessageView, Table};

/// Name of the file that names the live generation.
const CURRENT: &str = "CURRENT";
/// Marker written into a generation once it is complete.
const COMPLETE: &str = "complete";
const TABLE: &str = "table.bin";
const META: &str = "meta.json";
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
    /// The directory to import holds no articles.
    #[error("{0}: no readable KB articles (QNNNNNN.TXT files) found")]
    #[diagnostic(code(kbguard::archive::empty))]
    NoArticles(String),
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

/// The default index location: `KBGUARD_INDEX`, else the platform's data directory
/// (`~/.local/share/kbguard/index` on Linux).
pub fn default_index_path() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("KBGUARD_INDEX").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(path));
    }
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
}

struct Fields {
    msg: Field,
    mid: Field,
    body: Field,
    aid: Field,
    /// The article's date as a number, `YYYYMMDD` (0 when unknown), on every document: equal
    /// scores rank the newer article first already when candidates are cut.
    date: Field,
}

fn schema() -> (Schema, Fields) {
    let mut builder = Schema::builder();
    // Text arrives already tokenised by `lookup::tokenize` and joined by spaces, so
    // identifiers and codes (JET_errKeyDuplicate, -1605, 0x8004010F) stay whole.
    let words = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer("whitespace")
            .set_index_option(IndexRecordOption::WithFreqs),
    );
    let fields = Fields {
        msg: builder.add_text_field("msg", words.clone()),
        mid: builder.add_u64_field("mid", FAST | INDEXED),
        body: builder.add_text_field("body", words),
        aid: builder.add_u64_field("aid", FAST | INDEXED),
        date: builder.add_u64_field("date", FAST),
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

fn read_article(path: &Path) -> Result<Article, String> {
    let size = fs::metadata(path).map_err(|e| e.to_string())?.len();
    if size > article::MAX_ARTICLE_BYTES as u64 {
        return Err(
            article::ArticleError::TooLarge(usize::try_from(size).unwrap_or(usize::MAX))
                .to_string(),
        );
    }
    let bytes = fs::read(path).map_err(|e| e.to_string())?;
    article::parse(&bytes).map_err(|e| e.to_string())
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
    id: String,
    title: String,
    tag: String,
    relpath: String,
    date: String,
    messages: Vec<(String, Vec<Token>)>,
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
            .writer_with_num_threads::<TantivyDocument>(threads, 48_000_000 * threads)
            .map_err(tantivy_err(&dir))?;
        Ok(Writer {
            dir,
            fields,
            writer,
        })
    }

    /// Adds a document: its words in `text_field`, its id in `id_field`, its article's date.
    fn add(
        &self,
        text_field: Field,
        text: &str,
        id_field: Field,
        id: u64,
        date: u64,
    ) -> Result<(), ArchiveError> {
        let mut doc = TantivyDocument::default();
        doc.add_text(text_field, text);
        doc.add_u64(id_field, id);
        doc.add_u64(self.fields.date, date);
        self.writer
            .add_document(doc)
            .map(drop)
            .map_err(tantivy_err(&self.dir))
    }
}

/// `YYYY-MM-DD` as the number `YYYYMMDD`; 0 for an unknown date.
fn date_number(date: &str) -> u64 {
    date.replace('-', "").parse().unwrap_or(0)
}

/// Imports every article under `dir` into a new generation under `root` and makes it live.
pub fn import(
    dir: &Path,
    root: &Path,
    progress: &(dyn Fn(Progress) + Sync),
) -> Result<ImportSummary, ArchiveError> {
    let start = Instant::now();
    let files = article_files(dir);
    progress(Progress::Found(files.len()));
    fs::create_dir_all(root).map_err(io_err(root))?;
    remove_stale_generations(root);
    let stamp = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let generation = root.join(format!("gen-{stamp}-{}", std::process::id()));
    fs::create_dir_all(&generation).map_err(io_err(&generation))?;
    let built = build_generation(dir, &files, &generation, progress);
    let (articles, messages, skipped, by_product) = match built {
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
    })
}

/// Counts per product tag, largest first.
type ByProduct = Vec<(String, usize)>;

/// Parses every file on all cores, feeding each article's text to the index as it is read,
/// then indexes the quoted messages with their weights and writes the table.
/// Returns (articles, messages, skipped files, articles per product).
fn build_generation(
    dir: &Path,
    files: &[PathBuf],
    generation: &Path,
    progress: &(dyn Fn(Progress) + Sync),
) -> Result<(usize, usize, Vec<Skipped>, ByProduct), ArchiveError> {
    let mut writer = Writer::create(generation)?;
    let outcomes: Vec<Result<Prepared, Skipped>> = files
        .par_iter()
        .enumerate()
        .with_min_len(64)
        .map(|(aid, path)| {
            let result = read_article(path);
            progress(Progress::Parsed(1));
            let article = result.map_err(|reason| Skipped {
                path: path.display().to_string(),
                reason,
            })?;
            let (prepared, body) = prepare(aid, article, path, dir);
            writer
                .add(
                    writer.fields.body,
                    &body,
                    writer.fields.aid,
                    aid as u64,
                    date_number(&prepared.date),
                )
                .map_err(|e| Skipped {
                    path: path.display().to_string(),
                    reason: e.to_string(),
                })?;
            Ok(prepared)
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
        for (_, tokens) in &p.messages {
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
            table.article("", "", "", "", "");
            continue;
        };
        table.article(&p.id, &p.title, &p.tag, &p.relpath, &p.date);
        for (text, tokens) in &p.messages {
            let total = crate::lookup::unit_weight(tokens, &weights);
            let lines: Vec<f32> = line_units(text, tokens)
                .into_iter()
                .map(|unit| crate::lookup::unit_weight(unit, &weights))
                .collect();
            table.message(aid as u32, text, total, &lines);
            let date = date_number(&p.date);
            writer.add(
                writer.fields.msg,
                &words(tokens),
                writer.fields.mid,
                mid,
                date,
            )?;
            mid += 1;
        }
    }
    writer.writer.commit().map_err(tantivy_err(&writer.dir))?;
    writer
        .writer
        .wait_merging_threads()
        .map_err(tantivy_err(&writer.dir))?;
    write_durably(&generation.join(TABLE), &table.finish())?;
    let mut by_product: HashMap<&str, usize> = HashMap::new();
    for p in &prepared {
        *by_product.entry(p.tag.as_str()).or_default() += 1;
    }
    let mut by_product: ByProduct = by_product
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
    by_product.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    skipped.sort_by(|a, b| a.path.cmp(&b.path));
    Ok((prepared.len(), total_messages, skipped, by_product))
}

/// Splits an article into what the table keeps and the words the index searches when no quoted
/// message matches: its title and SYMPTOMS (or, without SYMPTOMS, its first section). How to
/// and background prose would only dilute a pasted error, and would triple the index.
fn prepare(aid: usize, a: Article, path: &Path, root: &Path) -> (Prepared, String) {
    let mut body = a.title.clone();
    body.push('\n');
    if let Some(section) = a.section("SYMPTOMS").or(a.sections.first()) {
        body.push_str(&section.text);
    }
    let messages = a
        .messages
        .into_iter()
        .map(|m| {
            let tokens = tokenize(&m, true);
            (m, tokens)
        })
        .filter(|(_, tokens)| tokens.iter().any(|t| !t.wildcard))
        .collect();
    let prepared = Prepared {
        aid,
        id: a.id,
        title: a.title,
        tag: a.tag.unwrap_or_default(),
        relpath: path
            .strip_prefix(root)
            .unwrap_or(path)
            .display()
            .to_string(),
        date: a.date.unwrap_or_default(),
        messages,
    };
    (prepared, words(&tokenize(&body, false)))
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
    // Civil-from-days (Howard Hinnant's algorithm), valid for every date after 1970.
    let days = (secs / 86_400) as i64;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let rem = secs % 86_400;
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02} UTC",
        rem / 3600,
        rem % 3600 / 60
    )
}

/// The weight of a token found in `df` of `n` messages.
pub fn idf(n: f32, df: u32) -> f32 {
    (1.0 + n / (df.max(1) as f32)).ln()
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
    weight_cache: Mutex<HashMap<String, f32>>,
}

/// A message or article the index proposes for a query.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Candidate {
    /// A quoted message, by index.
    Message(u32),
    /// An article found by its body, by index, with its BM25 score.
    Body(u32, f32),
}

impl Archive {
    /// Opens the live generation under `root`.
    pub fn open(root: &Path) -> Result<Archive, ArchiveError> {
        let current = fs::read_to_string(root.join(CURRENT)).map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                ArchiveError::Missing(root.display().to_string())
            } else {
                io_err(root)(e)
            }
        })?;
        let path = root.join(current.trim());
        let corrupt = |reason: String| ArchiveError::Corrupt {
            path: path.display().to_string(),
            reason,
        };
        let meta: Meta = serde_json::from_slice(&fs::read(path.join(META)).map_err(io_err(&path))?)
            .map_err(|e| corrupt(e.to_string()))?;
        let table = Table::from_bytes(fs::read(path.join(TABLE)).map_err(io_err(&path))?)
            .ok_or_else(|| corrupt("table.bin is truncated or damaged".into()))?;
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
            let fast = segment.fast_fields();
            // Candidates are read by these ids: an index without them is damaged.
            fast.u64("mid").map_err(tantivy_err(&tantivy_dir))?;
            fast.u64("aid").map_err(tantivy_err(&tantivy_dir))?;
        }
        Ok(Archive {
            n_messages: table.message_count() as f32,
            path,
            meta,
            table,
            _reader: reader,
            searcher,
            fields,
            weight_cache: Mutex::new(HashMap::new()),
        })
    }

    /// Messages whose words best match the query (BM25 over the quoted messages), and, when
    /// `with_body`, articles whose whole text does.
    pub fn candidates(&self, query: &Query, limit: usize, with_body: bool) -> Vec<Candidate> {
        let mut terms: Vec<&str> = query.tokens.iter().map(|t| t.text.as_str()).collect();
        terms.sort_unstable();
        terms.dedup();
        // Messages score the summed weight of the query words they contain, whatever their
        // length: BM25's length normalisation would bury a long message under short ones
        // holding only common words. Bodies are long prose, where BM25 is the right tool.
        let search = |field: Field, by_weight: bool| -> Vec<(f32, u64)> {
            let clauses: Vec<(Occur, Box<dyn TantivyQuery>)> = terms
                .iter()
                // The weighted view is for rare words; common ones would only make it slow.
                .filter(|t| !by_weight || token_weight(self, t) >= RARE_WEIGHT)
                .map(|t| {
                    let term = TermQuery::new(
                        Term::from_field_text(field, t),
                        IndexRecordOption::WithFreqs,
                    );
                    let q: Box<dyn TantivyQuery> = if by_weight {
                        Box::new(ConstScoreQuery::new(Box::new(term), token_weight(self, t)))
                    } else {
                        Box::new(term)
                    };
                    (Occur::Should, q)
                })
                .collect();
            if clauses.is_empty() {
                return Vec::new();
            }
            let id_field = if field == self.fields.msg {
                "mid"
            } else {
                "aid"
            };
            self.searcher
                .search(
                    &BooleanQuery::new(clauses),
                    &top_by_score_then_id(limit, id_field),
                )
                .unwrap_or_default()
                .into_iter()
                .filter(|((_, _, Reverse(id)), _)| *id != u64::MAX)
                .map(|((score, _, Reverse(id)), _)| (score, id))
                .collect()
        };
        let to_message = |(_, mid): (f32, u64)| Candidate::Message(mid as u32);
        // Both views: by weight finds long messages holding the rare words, BM25 the short
        // messages made of common ones.
        let mut out: Vec<Candidate> = search(self.fields.msg, true)
            .into_iter()
            .map(to_message)
            .collect();
        for candidate in search(self.fields.msg, false).into_iter().map(to_message) {
            if !out.contains(&candidate) {
                out.push(candidate);
            }
        }
        if with_body {
            out.extend(
                search(self.fields.body, false)
                    .into_iter()
                    .map(|(score, aid)| Candidate::Body(aid as u32, score)),
            );
        }
        out
    }
}

/// The `limit` best documents by score; equal scores rank the newer article first (by the
/// `date` field), then the lower document id (`mid` or `aid`). Tantivy alone breaks ties by
/// document address, which depends on how the import's threads happened to fill segments; this
/// order does not, so the same archive gives the same candidates whatever the thread count.
fn top_by_score_then_id(limit: usize, id_field: &'static str) -> impl Collector<Fruit = Ranked> {
    TopDocs::with_limit(limit).tweak_score(move |segment: &tantivy::SegmentReader| {
        let fast = segment.fast_fields();
        let ids = fast.u64(id_field).ok();
        let dates = fast.u64("date").ok();
        // Every document is written with its id; `u64::MAX` (none) ranks last and is dropped.
        move |doc: tantivy::DocId, score: f32| {
            let id = ids.as_ref().and_then(|c| c.first(doc));
            let date = dates.as_ref().and_then(|c| c.first(doc));
            (score, date.unwrap_or(0), Reverse(id.unwrap_or(u64::MAX)))
        }
    })
}

/// What [`top_by_score_then_id`] collects: (score, date, reversed id) and the address.
type Ranked = Vec<((f32, u64, Reverse<u64>), tantivy::DocAddress)>;

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
            cache.insert(token.to_string(), w);
        }
        w
    }
}

/// Re-reads and parses an article's source file, for `kb show`.
pub fn show(archive: &Archive, id: &str) -> Option<Result<Article, String>> {
    let record = archive.table.find(id)?;
    let path = Path::new(&archive.meta.source).join(&record.relpath);
    Some(read_article(&path).map_err(|e| format!("{}: {e}", path.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_dates() {
        assert_eq!(format_utc(0), "1970-01-01 00:00 UTC");
        assert_eq!(format_utc(951_782_400), "2000-02-29 00:00 UTC");
        assert_eq!(format_utc(1_795_574_838), "2026-11-25 02:47 UTC");
    }
}
