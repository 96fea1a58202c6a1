//! The seam between ranking and the index: what lookup asks of a searchable article collection.
//!
//! [`crate::lookup`] ranks through [`Corpus`] only; [`crate::archive::Archive`] implements it
//! over tantivy and `table.bin`, and tests implement it over a few articles in memory, so the
//! ranking is tested without building an index.

use serde::Serialize;

use crate::analysis::{Query, Weights};

/// The section name under which an article's title is matched like a message.
pub const TITLE_SECTION: &str = "TITLE";

/// An article as the index holds it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ArticleRecord {
    /// Id, e.g. `Q178311`.
    pub id: String,
    /// Title.
    pub title: String,
    /// Product tag.
    pub tag: String,
    /// Path of the source file, relative to the imported directory.
    pub relpath: String,
    /// Date, `YYYY-MM-DD`, or empty.
    pub date: String,
    /// The products it applies to, one per line (its "applies to" list, else its PRODUCT).
    pub products: String,
    /// The versions it names, comma-separated (from "applies to" and PROD/VER).
    pub versions: String,
}

/// A quoted message, borrowed from the index.
#[derive(Clone, Debug, PartialEq)]
pub struct MessageView<'a> {
    /// Number of its article.
    pub article: u32,
    /// The heading of the section that quotes it.
    pub section: &'a str,
    /// The message text.
    pub text: &'a str,
    /// Summed weight of its tokens.
    pub total: f32,
    /// The same for each non-blank line.
    pub lines: Vec<f32>,
}

/// What [`Corpus::lexical`] found.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Lexical {
    /// The best articles and their scores, best first.
    pub top: Vec<(u32, f32)>,
    /// The articles asked about that hold any of the words, and their scores.
    pub also: Vec<(u32, f32)>,
    /// For each article of `top` and `also`: how much of the query's searched words it holds.
    pub coverage: Vec<(u32, Coverage)>,
}

/// The share (0..1) of a query's searched words an article holds: BM25 sums what each word
/// adds, this says how many of them are there at all, so an article that holds all the
/// question's words ranks above one that holds one of them many times.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Coverage {
    /// In its title.
    pub title: f32,
    /// Anywhere in it.
    pub anywhere: f32,
}

/// A searchable collection of articles and the messages they quote, numbered from 0. Shared
/// between threads (a batch, a server), so it is `Sync`.
pub trait Corpus: Weights + Sync {
    /// Messages whose words best match the query, best first (ties broken by number), at
    /// most `limit`.
    fn message_candidates(&self, query: &Query, limit: usize) -> Vec<u32>;
    /// Message `id`.
    fn message(&self, id: u32) -> Option<MessageView<'_>>;
    /// Articles whose text best matches the query's words, weighing where in the article a
    /// word stands (title above symptoms above body): the best `limit` with their scores, best
    /// first, and the score of each article of `also` that holds any of the words (whether or
    /// not it is among the best), in one search; and the [`Coverage`] of each.
    fn lexical(&self, query: &Query, limit: usize, also: &[u32]) -> Lexical;
    /// The articles nearest in meaning to `text` (the best cosine of its sentence embeddings
    /// with the text's), best first, at most `limit`; none when the corpus has no embeddings
    /// (imported without `--semantic`).
    fn semantic(&self, _text: &str, _limit: usize) -> Vec<(u32, f32)> {
        Vec::new()
    }
    /// Article `id`.
    fn article(&self, id: u32) -> Option<ArticleRecord>;
    /// The number of the article with this id (`Q178311`), if the corpus holds it.
    fn find(&self, id: &str) -> Option<u32>;
    /// Article `id`'s title and sections, as (heading, text), for showing where it matched.
    fn sections(&self, id: u32) -> Vec<(String, String)>;
}
