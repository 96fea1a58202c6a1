//! Lookup: from a pasted error string to the articles and rules that describe it, best first.
//!
//! Owns tokenising error text, matching a query against symptom messages (placeholders such as
//! `<filename>`, `%1` or `xxxx` match any value), and scoring. A message is matched whole and
//! line by line, so a query holding one line of a longer message still finds it; the score
//! rewards covering the message, in order, more than covering the query, so surrounding log
//! noise costs little.

use std::cmp::Reverse;
use std::collections::{BTreeMap, HashSet};
use std::ops::Range;

use serde::Serialize;

use crate::analysis::{
    code_tokens, for_each_word, is_hex_value, line_units, token_weight, tokenize, unit_weight,
    Query, Token, Uniform, Weights, COMMON_MESSAGE_WEIGHT, MAX_UNIT_TOKENS,
};
use crate::corpus::{Corpus, Coverage, TITLE_SECTION};
use crate::facts::{render_template, FactSet};
use crate::model::{RuleId, Symptom};
use crate::products::ProductQuery;
use crate::ruleset::RuleSet;

/// How well a query matches one message (or one line of it).
#[derive(Clone, Debug, PartialEq)]
pub struct UnitMatch {
    /// The ranking score, 0..=1.
    pub score: f32,
    /// Share of the query's weight the message explains, in order (placeholders explain the
    /// values filled into them).
    pub precision: f32,
    /// Share of the message's weight found in the query.
    pub coverage: f32,
    /// Byte range of the matched part in the message text.
    pub span: Range<usize>,
}

/// How many query tokens one placeholder may take as its value.
const MAX_SLOT_TOKENS: usize = 4;

/// What one step of an alignment did.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Step {
    SkipUnit,
    SkipQuery,
    /// Equal tokens.
    Match,
    /// Two different hexadecimal values: the same slot, another value.
    Hex,
    /// A placeholder took this many query tokens as its value (at most [`MAX_SLOT_TOKENS`]).
    Absorb(u8),
}

/// What an alignment explains, by kind.
#[derive(Clone, Debug, Default, PartialEq)]
struct Alignment {
    /// Weight of tokens that match exactly.
    matched: f32,
    /// Weight credited, at half weight, to values filled into placeholders.
    absorbed: f32,
    /// Weight credited, at half weight, to hexadecimal values standing for others.
    hex: f32,
    /// Byte range of the matched message tokens.
    span: Option<Range<usize>>,
    /// Summed weight of the query tokens from the first aligned one to the last.
    query_span_weight: f32,
}

/// What one message token can do in an alignment with a given query.
#[derive(Clone, Copy)]
enum Row {
    /// A placeholder: absorbs values.
    Wildcard,
    /// A word the query holds (its number there), and whether it is a hexadecimal value.
    Word(Option<u32>, bool),
}

/// Aligns message tokens with the query: the in-order matching that explains the most query
/// weight, where equal tokens match, a placeholder absorbs the values filled into it, and a
/// hexadecimal value stands for another.
fn align(unit: &[Token], query: &Query) -> Alignment {
    let query_hex = query.has_hex();
    // Only tokens that can take part: a message token that is no placeholder, not in the query
    // and no hexadecimal value beside one in the query only ever skips (its row of the table
    // would copy the next one), so leaving it out changes nothing but the work.
    let rows: Vec<(usize, Row)> = unit
        .iter()
        .enumerate()
        .filter_map(|(i, u)| {
            if u.wildcard {
                return Some((i, Row::Wildcard));
            }
            let id = query.id_of(&u.text);
            let hex = query_hex && is_hex_value(&u.text);
            (id.is_some() || hex).then_some((i, Row::Word(id, hex)))
        })
        .collect();
    let (n, m) = (rows.len(), query.tokens.len());
    if m == 0 || !rows.iter().any(|(_, r)| matches!(r, Row::Word(..))) {
        return Alignment::default();
    }
    // best[i][j]: most weight explained aligning rows[i..] with query[j..]; step[i][j]: how.
    let width = m + 1;
    let mut best = vec![0f32; (n + 1) * width];
    let mut step = vec![Step::SkipUnit; (n + 1) * width];
    for (i, &(_, row)) in rows.iter().enumerate().rev() {
        for j in (0..m).rev() {
            let w = query.weights[j];
            let mut choice = (best[(i + 1) * width + j], Step::SkipUnit);
            let mut offer = |value: f32, s: Step| {
                if value > choice.0 {
                    choice = (value, s);
                }
            };
            offer(best[i * width + j + 1], Step::SkipQuery);
            match row {
                Row::Wildcard => {
                    // A filled-in value is a few tokens (`C:\\DATA\\REPORT.DOC`); more is noise.
                    let mut absorbed = 0.0;
                    for k in 1..=MAX_SLOT_TOKENS.min(m - j) {
                        absorbed += 0.5 * query.weights[j + k - 1];
                        #[allow(clippy::cast_possible_truncation)] // k <= MAX_SLOT_TOKENS
                        offer(
                            best[(i + 1) * width + j + k] + absorbed,
                            Step::Absorb(k as u8),
                        );
                    }
                }
                Row::Word(Some(id), _) if id == query.token_ids[j] => {
                    offer(best[(i + 1) * width + j + 1] + w, Step::Match);
                }
                Row::Word(_, true) if query.hex[j] => {
                    offer(best[(i + 1) * width + j + 1] + 0.5 * w, Step::Hex);
                }
                Row::Word(..) => {}
            }
            best[i * width + j] = choice.0;
            step[i * width + j] = choice.1;
        }
    }
    let mut out = Alignment::default();
    let (mut i, mut j) = (0, 0);
    let mut first = None;
    let mut last = None;
    let (mut query_first, mut query_last) = (None, 0);
    while i < n && j < m {
        let w = query.weights[j];
        match step[i * width + j] {
            Step::SkipUnit => i += 1,
            Step::SkipQuery => j += 1,
            Step::Absorb(k) => {
                let k = usize::from(k);
                out.absorbed += query.weights[j..j + k].iter().map(|w| 0.5 * w).sum::<f32>();
                i += 1;
                j += k;
            }
            Step::Match | Step::Hex => {
                query_first.get_or_insert(j);
                query_last = j;
                if step[i * width + j] == Step::Match {
                    out.matched += w;
                } else {
                    out.hex += 0.5 * w;
                }
                let span = &unit[rows[i].0].span;
                first.get_or_insert(span.start);
                last = Some(span.end);
                i += 1;
                j += 1;
            }
        }
    }
    out.span = first.zip(last).map(|(a, b)| a..b);
    out.query_span_weight = query_first.map_or(0.0, |f| query.weights[f..=query_last].iter().sum());
    out
}

/// Scores one message unit against a query. `unit_total` is the summed weight of the unit's
/// distinct non-placeholder tokens.
pub fn score_unit(query: &Query, unit: &[Token], unit_total: f32) -> Option<UnitMatch> {
    let unit = &unit[..unit.len().min(MAX_UNIT_TOKENS)];
    if query.total <= 0.0 || unit_total <= 0.0 {
        return None;
    }
    let alignment = align(unit, query);
    let span = alignment.span?;
    // Placeholders explain at most as much as real words do: a message that is mostly
    // placeholder ("ERROR: <text>") must not claim any query.
    let absorbed = alignment.absorbed.min(alignment.matched);
    let explained = alignment.matched + alignment.hex + absorbed;
    // Text around the message (a log prefix, the sentence it was pasted in) counts less: what
    // the message explains is judged mostly against the whole query, partly against the
    // stretch of it the message spans.
    let global = explained / query.total;
    let local = explained / alignment.query_span_weight.max(explained);
    let precision = (0.7 * global + 0.3 * local).min(1.0);
    // Coverage counts the message's own words only: placeholders are not in `unit_total`. A
    // hexadecimal slot holding another value is covered as fully as a placeholder would be.
    let coverage = ((alignment.matched + 2.0 * alignment.hex) / unit_total).min(1.0);
    let score = precision * (0.6 + 0.4 * coverage);
    Some(UnitMatch {
        score,
        precision,
        coverage,
        span,
    })
}

/// A single line of a longer message is weaker evidence than the whole message.
pub const LINE_FACTOR: f32 = 0.96;

/// Where the weights of a message's units (the whole message, then each line) come from.
#[derive(Clone, Copy)]
pub enum UnitTotals<'a> {
    /// Computed from token weights.
    Computed(&'a dyn Weights),
    /// Stored by the index: the whole message's, and each non-blank line's in order.
    Stored {
        /// The whole message's total.
        whole: f32,
        /// Each non-blank line's total.
        lines: &'a [f32],
    },
}

/// Matches a query against a message whole and line by line; the best unit wins.
pub fn match_message(query: &Query, message: &str, weights: &dyn Weights) -> Option<UnitMatch> {
    match_message_with(query, message, UnitTotals::Computed(weights))
}

/// [`match_message`] with the units' weights from `totals`.
pub fn match_message_with(query: &Query, message: &str, totals: UnitTotals) -> Option<UnitMatch> {
    match_tokens(query, message, &tokenize(message, true), totals)
}

/// [`match_message_with`] over the message's tokens, already made.
fn match_tokens(
    query: &Query,
    message: &str,
    tokens: &[Token],
    totals: UnitTotals,
) -> Option<UnitMatch> {
    let whole = match totals {
        UnitTotals::Computed(weights) => unit_weight(tokens, weights),
        UnitTotals::Stored { whole, .. } => whole,
    };
    let mut best = score_unit(query, tokens, whole);
    let lines = line_units(message, tokens);
    if lines.len() > 1 {
        for (i, unit) in lines.into_iter().enumerate() {
            let total = match totals {
                UnitTotals::Computed(weights) => unit_weight(unit, weights),
                UnitTotals::Stored { lines, .. } => lines.get(i).copied().unwrap_or(0.0),
            };
            if let Some(mut m) = score_unit(query, unit, total) {
                m.score *= LINE_FACTOR;
                if best.as_ref().is_none_or(|b| m.score > b.score) {
                    best = Some(m);
                }
            }
        }
    }
    best
}

/// Matches a query against a symptom: its message, and its codes as phrases of whole tokens.
pub fn match_symptom(query: &Query, symptom: &Symptom, weights: &dyn Weights) -> Option<UnitMatch> {
    let codes: Vec<Vec<String>> = symptom.codes.iter().map(|c| code_tokens(c)).collect();
    with_codes(
        query,
        match_message(query, &symptom.message, weights),
        &codes,
    )
}

/// A message match adjusted by the symptom's codes (as [`code_tokens`]): weak matches
/// dropped, a code in the query lifting the match, or standing alone for one.
fn with_codes(query: &Query, best: Option<UnitMatch>, codes: &[Vec<String>]) -> Option<UnitMatch> {
    const MIN_SCORE: f32 = 0.3;
    let best = best.filter(|m| m.score >= MIN_SCORE);
    let code_hit = codes.iter().filter(|c| !c.is_empty()).any(|code| {
        query
            .tokens
            .windows(code.len())
            .any(|w| w.iter().zip(code).all(|(t, c)| t.text == *c))
    });
    match best {
        Some(mut m) if code_hit => {
            // A tenth of the way to a perfect score: never past it, so a code cannot lift an
            // incomplete match level with a complete one.
            m.score += 0.1 * (1.0 - m.score);
            Some(m)
        }
        None if code_hit => Some(UnitMatch {
            score: 0.5,
            precision: 0.0,
            coverage: 0.0,
            span: 0..0,
        }),
        other => other,
    }
}

/// Where a hit comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HitSource {
    /// A curated rule's symptoms.
    Rule,
    /// A curated article record under kb/.
    Kb,
    /// The imported KB archive.
    Archive,
}

/// One article that matches the query.
#[derive(Clone, Debug, Serialize)]
pub struct Hit {
    /// Article id, e.g. `Q178311`.
    pub id: String,
    /// Its title.
    pub title: String,
    /// Relevance, higher is better.
    pub score: f64,
    /// Where the best match came from.
    pub source: HitSource,
    /// Rules that encode the article.
    pub rules: Vec<RuleId>,
    /// The symptom message that matched.
    pub matched: String,
    /// Byte range of the matched part of `matched` (JSON shows the part itself).
    #[serde(skip)]
    pub matched_span: Range<usize>,
    /// The workaround of the first rule, for rule hits.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workaround: Option<String>,
    /// The article's revision date (`YYYY-MM-DD`) when the archive knows it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date: Option<String>,
    /// The section where it matched best (`SYMPTOMS`, `CAUSE`, `MORE INFORMATION`, `TITLE`).
    pub section: Option<String>,
    /// A short passage from there, with the query's words marked.
    pub snippet: Option<Snippet>,
    /// The products the article applies to (its "applies to" list), when the archive has it.
    pub products: Vec<String>,
    /// The versions it names.
    pub versions: Vec<String>,
    /// Whether it applies to the host's (or the asked-for) products; `None` when none was
    /// given.
    pub applies: Option<bool>,
    /// True when `matched` is a curated rule's description of the problem, not a message the
    /// product shows.
    pub paraphrase: bool,
    /// Its number in the corpus, for fetching its sections.
    #[serde(skip)]
    pub aid: Option<u32>,
}

/// One curated symptom, prepared once for many queries.
#[derive(Clone)]
struct CuratedSymptom {
    id: String,
    title: String,
    source: HitSource,
    message: String,
    codes: Vec<Vec<String>>,
    workaround: Option<String>,
    tokens: Vec<Token>,
    whole: f32,
    lines: Vec<f32>,
    // The message's words and whether it holds a hexadecimal value: a query sharing neither
    // (nor a code) cannot align with it, so it is skipped without aligning. A query of more
    // than three words must share one of `key_words`: the words above the common bar (all
    // words when none is), as the archive's message candidates are found.
    words: HashSet<String>,
    key_words: HashSet<String>,
    has_hex: bool,
    // Our description of the problem rather than the product's words.
    paraphrase: bool,
}

/// What lookup needs of the curated rules and article records: each symptom with the article
/// it belongs to, the rules citing that article, and the workaround. Taken from a [`RuleSet`]
/// or from the rule cache (so that one lookup need not parse every rule file).
#[derive(Clone, Debug, Default, PartialEq, Serialize, serde::Deserialize)]
pub struct CuratedSource {
    symptoms: Vec<SourceSymptom>,
    /// The rules citing each article, once per article (not per symptom: ten thousand rules
    /// citing one article would be ten thousand lists of ten thousand).
    rules_of: BTreeMap<String, Vec<RuleId>>,
}

#[derive(Clone, Debug, PartialEq, Serialize, serde::Deserialize)]
struct SourceSymptom {
    id: String,
    title: String,
    source: HitSource,
    message: String,
    codes: Vec<String>,
    paraphrase: bool,
    workaround: Option<String>,
}

impl CuratedSource {
    /// The symptoms of every rule (under each article it cites) and of every article record.
    pub fn of(set: &RuleSet) -> CuratedSource {
        let mut rules_of: BTreeMap<String, Vec<RuleId>> = BTreeMap::new();
        for loaded in &set.loaded.rules {
            for kb in &loaded.rule.kb {
                rules_of
                    .entry(kb.id.clone())
                    .or_default()
                    .push(loaded.rule.id.clone());
            }
        }
        let titles: BTreeMap<&str, &str> = set
            .loaded
            .articles
            .iter()
            .map(|a| (a.article.id.as_str(), a.article.title.as_str()))
            .collect();
        let entry = |id: &str, title: &str, source, symptom: &Symptom, workaround| SourceSymptom {
            id: id.to_string(),
            title: title.to_string(),
            source,
            message: symptom.message.clone(),
            codes: symptom.codes.clone(),
            paraphrase: symptom.paraphrase,
            workaround,
        };
        let no_facts = FactSet::remote();
        let mut symptoms = Vec::new();
        for loaded in &set.loaded.rules {
            let rule = &loaded.rule;
            let workaround = render_template(&rule.workaround.text, &no_facts).text;
            for kb in &rule.kb {
                let title = titles.get(kb.id.as_str()).copied().unwrap_or(&rule.title);
                for symptom in &rule.symptoms {
                    symptoms.push(entry(
                        &kb.id,
                        title,
                        HitSource::Rule,
                        symptom,
                        Some(workaround.clone()),
                    ));
                }
            }
        }
        for record in &set.loaded.articles {
            let a = &record.article;
            for symptom in &a.symptoms {
                symptoms.push(entry(&a.id, &a.title, HitSource::Kb, symptom, None));
            }
        }
        CuratedSource { symptoms, rules_of }
    }
}

/// The curated rules' and article records' symptoms, tokenised and weighed once so that a batch
/// of queries does not redo it per query.
#[derive(Clone)]
pub struct Curated {
    symptoms: Vec<CuratedSymptom>,
    /// The rules citing each article.
    rules_of: BTreeMap<String, Vec<RuleId>>,
}

impl Curated {
    /// Prepares the symptoms of `set` under `weights` (the archive's, or uniform without one).
    pub fn new(set: &RuleSet, weights: &dyn Weights) -> Curated {
        Curated::prepare(&CuratedSource::of(set), weights)
    }

    /// Prepares the symptoms of `source` under `weights`.
    pub fn prepare(source: &CuratedSource, weights: &dyn Weights) -> Curated {
        let symptoms = source
            .symptoms
            .iter()
            .map(|s| {
                let tokens = tokenize(&s.message, true);
                let lines = line_units(&s.message, &tokens)
                    .into_iter()
                    .map(|unit| unit_weight(unit, weights))
                    .collect();
                let words = || tokens.iter().filter(|t| !t.wildcard);
                let key: HashSet<String> = words()
                    .filter(|t| token_weight(weights, &t.text) >= COMMON_MESSAGE_WEIGHT)
                    .map(|t| t.text.clone())
                    .collect();
                CuratedSymptom {
                    id: s.id.clone(),
                    title: s.title.clone(),
                    source: s.source,
                    message: s.message.clone(),
                    codes: s.codes.iter().map(|c| code_tokens(c)).collect(),
                    workaround: s.workaround.clone(),
                    whole: unit_weight(&tokens, weights),
                    lines,
                    words: words().map(|t| t.text.clone()).collect(),
                    key_words: if key.is_empty() {
                        words().map(|t| t.text.clone()).collect()
                    } else {
                        key
                    },
                    has_hex: tokens.iter().any(|t| is_hex_value(&t.text)),
                    paraphrase: s.paraphrase,
                    tokens,
                }
            })
            .collect();
        Curated {
            symptoms,
            rules_of: source.rules_of.clone(),
        }
    }

    /// The curated articles matching `query`, best first, at most `limit`.
    pub fn find(&self, query: &Query, limit: usize) -> Vec<Hit> {
        let query_hex = query.has_hex();
        let short = query.first_weights.len() <= 3;
        let mut hits: BTreeMap<&str, Hit> = BTreeMap::new();
        for s in &self.symptoms {
            let words = if short { &s.words } else { &s.key_words };
            let alignable =
                (s.has_hex && query_hex) || words.iter().any(|w| query.id_of(w).is_some());
            let message_match = alignable
                .then(|| {
                    let totals = UnitTotals::Stored {
                        whole: s.whole,
                        lines: &s.lines,
                    };
                    match_tokens(query, &s.message, &s.tokens, totals)
                })
                .flatten();
            let Some(mut m) = with_codes(query, message_match, &s.codes) else {
                continue;
            };
            if s.paraphrase {
                // Our words match a description, but are weaker evidence than a quoted message.
                m.score *= PARAPHRASE_FACTOR;
            }
            let better = hits.get(s.id.as_str()).is_none_or(|h| {
                (f64::from(m.score), std::cmp::Reverse(s.source))
                    > (h.score, std::cmp::Reverse(h.source))
            });
            if better {
                hits.insert(
                    &s.id,
                    Hit {
                        id: s.id.clone(),
                        title: s.title.clone(),
                        score: f64::from(m.score),
                        source: s.source,
                        rules: self.rules_of.get(&s.id).cloned().unwrap_or_default(),
                        matched: s.message.clone(),
                        paraphrase: s.paraphrase,
                        matched_span: m.span,
                        workaround: s.workaround.clone(),
                        date: None,
                        section: Some(
                            if s.source == HitSource::Rule {
                                "RULE"
                            } else {
                                "RECORD"
                            }
                            .into(),
                        ),
                        snippet: None,
                        products: Vec::new(),
                        versions: Vec::new(),
                        applies: None,
                        aid: None,
                    },
                );
            }
        }
        let mut hits: Vec<Hit> = hits.into_values().collect();
        sort_hits(&mut hits);
        hits.truncate(limit);
        hits
    }
}

/// How many messages the index proposes for re-ranking, per view.
const CANDIDATES: usize = 25;
/// How many articles the index proposes by their words.
const LEXICAL_CANDIDATES: usize = 40;
/// What the best words-over-fields evidence can add to an article with no message match; beside
/// a message match of score m it adds at most this times (1 - m)^1.5, and all of it shrinks by
/// (1 - b^2) where b is the best message match of the query, so it orders weak and partial
/// message matches and carries a description, but never lifts a weak message match over a
/// complete one.
const LEXICAL_WEIGHT: f32 = 0.65;
/// A message quoted outside SYMPTOMS is weaker evidence that the article is about it: below
/// one line of a longer message its SYMPTOMS quote.
const OTHER_SECTION_FACTOR: f32 = 0.9;
/// A curated symptom that is our description rather than a quoted message weighs this much.
const PARAPHRASE_FACTOR: f32 = 0.9;
/// An article's title, matched as a message, is weaker evidence still: a description that says
/// what a title says is not an error message the article quotes.
const TITLE_FACTOR: f32 = 0.9;
/// How many articles the sentence embeddings propose (an index imported with `--semantic`).
const SEMANTIC_CANDIDATES: usize = 40;
/// What nearness in meaning can add, in the room the words have (beside [`LEXICAL_WEIGHT`]):
/// an article's cosine is taken relative to the nearest article's, as the words' score is to
/// the best's, above [`SEMANTIC_FLOOR`], and squared, so that only articles nearly as near as
/// the nearest gain much. Meaning ranks descriptions well and pasted messages badly, and the
/// room it shares with the words shrinks as a message matches, so it orders descriptions
/// without disturbing a pasted error.
const SEMANTIC_WEIGHT: f32 = 0.8;
/// Cosines below this say nothing: unrelated short texts come out near 0.2-0.3.
const SEMANTIC_FLOOR: f32 = 0.3;
/// What holding all the query's searched words adds (in proportion to the share held), beside
/// the words' BM25 sum: a question is better answered by the article that has all its words
/// than by one that repeats one. It shrinks by the square of the words' damping, faster than
/// the words' share, because it is evidence about the whole query: beside a good partial
/// message match (a message with words after it), the other articles that hold the extra words
/// must not overtake the one that quotes the message.
const COVERAGE_WEIGHT: f32 = 1.0;
/// The same for the title's share, on top.
const COVERAGE_TITLE_WEIGHT: f32 = 0.1;
/// What applying to the host's (or the asked-for) product adds: more than the words' coverage
/// can add beside a partial message match, so the host's articles lead a mixed query too.
const PRODUCT_BOOST: f64 = 0.5;

/// What a lookup is asked besides the text.
#[derive(Clone, Debug, Default)]
pub struct LookupOptions {
    /// How many hits at most.
    pub limit: usize,
    /// Products to rank first (from `--product`/`--version` or the host's facts).
    pub products: Vec<ProductQuery>,
    /// Only articles that apply to one of `products`.
    pub only_products: bool,
}

/// Looks queries up in the curated rules and records and, when given, an archive.
/// A curated rule ranks above an archive article that matches as well.
pub struct Lookup<'a> {
    curated: std::borrow::Cow<'a, Curated>,
    corpus: Option<&'a dyn Corpus>,
}

impl<'a> Lookup<'a> {
    /// Prepares lookups over `set` and, when given, `corpus` (whose weights then apply).
    pub fn new(set: &RuleSet, corpus: Option<&'a dyn Corpus>) -> Lookup<'a> {
        Lookup::from_source(&CuratedSource::of(set), corpus)
    }

    /// [`Lookup::new`] over the curated symptoms as the rule cache keeps them.
    pub fn from_source(source: &CuratedSource, corpus: Option<&'a dyn Corpus>) -> Lookup<'a> {
        let weights: &dyn Weights = match corpus {
            Some(c) => c,
            None => &Uniform,
        };
        Lookup {
            curated: std::borrow::Cow::Owned(Curated::prepare(source, weights)),
            corpus,
        }
    }

    /// Lookups over symptoms prepared once ([`Curated::new`] with `corpus`'s weights) for many
    /// lookups, as a server keeps them per archive generation.
    pub fn with_curated(curated: &'a Curated, corpus: Option<&'a dyn Corpus>) -> Lookup<'a> {
        Lookup {
            curated: std::borrow::Cow::Borrowed(curated),
            corpus,
        }
    }

    /// The best `options.limit` articles for `text`.
    pub fn find(&self, text: &str, options: &LookupOptions) -> Vec<Hit> {
        let weights: &dyn Weights = match self.corpus {
            Some(c) => c,
            None => &Uniform,
        };
        let query = Query::new(text, weights);
        let mut hits: BTreeMap<String, Hit> = self
            .curated
            .find(&query, usize::MAX)
            .into_iter()
            .map(|h| (h.id.clone(), h))
            .collect();
        if let Some(corpus) = self.corpus {
            let curated: Vec<&str> = hits.keys().map(String::as_str).collect();
            let curated_best = hits.values().map(|h| h.score).fold(0.0f64, f64::max);
            // Only the best `limit` can be shown, beside the curated ones they may merge
            // with; unless products re-rank them, the rest need not be read.
            let keep = options
                .products
                .is_empty()
                .then_some(options.limit.saturating_add(curated.len()));
            #[allow(clippy::cast_possible_truncation)] // a match score, 0..1
            let curated_best = curated_best as f32;
            for hit in rank_corpus(corpus, &query, &curated, curated_best, keep) {
                match hits.get_mut(&hit.id) {
                    // A curated hit keeps its rules and workaround; it takes the better score
                    // and what the archive knows of the article.
                    Some(curated) => {
                        curated.score = curated.score.max(hit.score);
                        curated.date = hit.date;
                        curated.products = hit.products;
                        curated.versions = hit.versions;
                        curated.aid = hit.aid;
                        if curated.matched.is_empty() {
                            curated.section = hit.section;
                        }
                    }
                    None => {
                        hits.insert(hit.id.clone(), hit);
                    }
                }
            }
        }
        let mut hits: Vec<Hit> = hits.into_values().collect();
        if !options.products.is_empty() {
            for hit in &mut hits {
                let applies = options
                    .products
                    .iter()
                    .any(|p| p.matches(&hit.products.join("\n"), &hit.versions.join(", ")));
                hit.applies = Some(applies);
                if applies {
                    hit.score += PRODUCT_BOOST;
                }
            }
            if options.only_products {
                hits.retain(|h| h.applies == Some(true));
            }
        }
        sort_hits(&mut hits);
        hits.truncate(options.limit);
        for hit in &mut hits {
            add_snippet(hit, &query, self.corpus);
        }
        hits
    }
}

/// One query: [`Lookup::new`] then [`Lookup::find`]. For many queries, keep the [`Lookup`].
pub fn lookup(set: &RuleSet, corpus: Option<&dyn Corpus>, text: &str, limit: usize) -> Vec<Hit> {
    let options = LookupOptions {
        limit,
        ..LookupOptions::default()
    };
    Lookup::new(set, corpus).find(text, &options)
}

/// The total order of results, documented in docs/lookup.md: higher score first; among equal
/// scores a curated rule, then a curated record, then an archive article; then the newer
/// article (by its revision date; an undated one last); then the article id. Nothing in it
/// depends on how or on how many threads the archive was imported.
fn sort_hits(hits: &mut [Hit]) {
    hits.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then(a.source.cmp(&b.source))
            .then_with(|| b.date.cmp(&a.date))
            .then_with(|| a.id.cmp(&b.id))
    });
}

/// Ranks a corpus's articles for a query, combining the evidence: how well a message the
/// article quotes aligns with the query (0..1, from the candidates by message words), plus
/// [`LEXICAL_WEIGHT`] times its words-over-fields score relative to the best article's. A
/// pasted error is decided by its message, a description by its words, a mixture by both.
/// `curated` names articles the curated set already found: their lexical evidence is scored
/// too, so a curated hit is not outranked by an equal archive one; `curated_best`, the best
/// curated match, shrinks the words' share as an archive message match does. With `keep`, only the
/// articles that can be among the best `keep` (a score at least the `keep`-th best; ties kept)
/// and the curated ones are returned, the others never read from the corpus.
pub fn rank_corpus(
    corpus: &dyn Corpus,
    query: &Query,
    curated: &[&str],
    curated_best: f32,
    keep: Option<usize>,
) -> Vec<Hit> {
    let best = best_messages(corpus, query);
    // The better some message matches, the more the query is a pasted message and the less an
    // article's words alone say: the words' share shrinks by the best match's square.
    // A curated symptom is a message too (or our description of one).
    let best_m = best
        .values()
        .map(|(m, _)| m.score)
        .fold(curated_best.clamp(0.0, 1.0), f32::max);
    let damp = (1.0 - best_m * best_m).max(0.0);
    // A complete match leaves the words no share: articles found by their words alone would
    // score nothing, so they are not searched for (the articles found by messages, and the
    // curated ones, still are, below).
    // The words' scores of the best articles by their words (when the words have a share), and
    // of those found by messages or curated, in one search.
    let curated_aids: Vec<u32> = curated.iter().filter_map(|id| corpus.find(id)).collect();
    // Meaning, where the corpus has it and the words have room: the nearest articles and
    // their cosines, the nearest also scored by their words.
    let meaning: BTreeMap<u32, f32> = if damp > 0.0 {
        corpus
            .semantic(&query.text, SEMANTIC_CANDIDATES)
            .into_iter()
            .collect()
    } else {
        BTreeMap::new()
    };
    let mut wanted: Vec<u32> = best
        .keys()
        .chain(&curated_aids)
        .chain(meaning.keys())
        .copied()
        .collect();
    wanted.sort_unstable();
    wanted.dedup();
    let limit = if damp > 0.0 { LEXICAL_CANDIDATES } else { 0 };
    let found = corpus.lexical(query, limit, &wanted);
    let coverage: BTreeMap<u32, Coverage> = found.coverage.into_iter().collect();
    let mut lexical: BTreeMap<u32, f32> = found.top.into_iter().collect();
    for (aid, score) in found.also {
        lexical.entry(aid).or_insert(score);
    }
    let top = lexical.values().copied().fold(0.0f32, f32::max);
    let nearest = meaning.values().copied().fold(0.0f32, f32::max);
    let mut articles: Vec<u32> = best
        .keys()
        .chain(lexical.keys())
        .chain(meaning.keys())
        .copied()
        .collect();
    articles.sort_unstable();
    articles.dedup();
    let score_of = |aid: u32| {
        let words = lexical
            .get(&aid)
            .map_or(0.0, |l| if top > 0.0 { l / top } else { 0.0 });
        // The words fill the room a message match leaves: nothing beside a complete match
        // (articles quoting the same message stay tied on it), most of it beside none.
        let m = best.get(&aid).map_or(0.0, |(m, _)| m.score);
        let near = meaning
            .get(&aid)
            .filter(|_| nearest > SEMANTIC_FLOOR)
            .map_or(0.0, |c| {
                ((c - SEMANTIC_FLOOR) / (nearest - SEMANTIC_FLOOR))
                    .max(0.0)
                    .powi(2)
            });
        let held = coverage.get(&aid).map_or(0.0, |c| {
            COVERAGE_TITLE_WEIGHT * c.title + COVERAGE_WEIGHT * c.anywhere
        });
        m + (1.0 - m).max(0.0).powf(1.5) * damp * (LEXICAL_WEIGHT * words + SEMANTIC_WEIGHT * near)
            + damp * damp * held
    };
    let mut scored: Vec<(u32, f32)> = articles.into_iter().map(|a| (a, score_of(a))).collect();
    if let Some(keep) = keep.filter(|&k| k < scored.len()) {
        let mut scores: Vec<f32> = scored.iter().map(|(_, s)| *s).collect();
        scores.sort_unstable_by(|a, b| b.total_cmp(a));
        let bar = scores[keep.saturating_sub(1)];
        scored.retain(|(aid, score)| *score >= bar || curated_aids.contains(aid));
    }
    let mut hits: Vec<Hit> = scored
        .into_iter()
        .filter_map(|(aid, score)| {
            let record = corpus.article(aid)?;
            let message = best.get(&aid);
            let (matched, matched_span, section) = message
                .and_then(|(m, mid)| {
                    let msg = corpus.message(*mid)?;
                    Some((
                        msg.text.to_string(),
                        m.span.clone(),
                        Some(msg.section.to_string()),
                    ))
                })
                .unwrap_or_default();
            Some(Hit {
                id: record.id,
                title: record.title,
                score: f64::from(score),
                source: HitSource::Archive,
                rules: Vec::new(),
                matched,
                matched_span,
                workaround: None,
                date: (!record.date.is_empty()).then_some(record.date),
                section,
                snippet: None,
                paraphrase: false,
                products: split_list(&record.products, '\n'),
                versions: split_list(&record.versions, ','),
                applies: None,
                aid: Some(aid),
            })
        })
        .collect();
    sort_hits(&mut hits);
    hits
}

/// The best message of each article among the candidates for `query`: (match, message number).
fn best_messages(corpus: &dyn Corpus, query: &Query) -> BTreeMap<u32, (UnitMatch, u32)> {
    let mut best: BTreeMap<u32, (UnitMatch, u32)> = BTreeMap::new();
    for mid in corpus.message_candidates(query, CANDIDATES) {
        let Some(message) = corpus.message(mid) else {
            continue;
        };
        let totals = UnitTotals::Stored {
            whole: message.total,
            lines: &message.lines,
        };
        let Some(mut m) = match_message_with(query, message.text, totals) else {
            continue;
        };
        if message.section == TITLE_SECTION {
            m.score *= TITLE_FACTOR;
        } else if !message.section.eq_ignore_ascii_case("SYMPTOMS") {
            m.score *= OTHER_SECTION_FACTOR;
        }
        // Equal scores keep the article's first message, whatever the candidate order.
        let better = best
            .get(&message.article)
            .is_none_or(|(b, bmid)| (m.score, Reverse(mid)) > (b.score, Reverse(*bmid)));
        if better {
            best.insert(message.article, (m, mid));
        }
    }
    best
}

fn split_list(text: &str, sep: char) -> Vec<String> {
    text.split(sep)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect()
}

/// A short passage of a hit with the query's words marked, from where it matched best: the
/// matched message, or the stretch of a section that holds more of the query's words.
fn add_snippet(hit: &mut Hit, query: &Query, corpus: Option<&dyn Corpus>) {
    let message = (!hit.matched.is_empty()).then(|| Snippet::of(&hit.matched, query));
    let section = match (corpus, hit.aid) {
        (Some(corpus), Some(aid)) => corpus
            .sections(aid)
            .into_iter()
            .filter_map(|(heading, text)| Some((heading, Snippet::window(&text, query)?)))
            .max_by(|a, b| a.1.weight.total_cmp(&b.1.weight)),
        _ => None,
    };
    match (message, section) {
        (Some(m), Some((heading, s))) if s.weight > m.weight => {
            hit.section = Some(heading);
            hit.snippet = Some(s.marked(query));
        }
        (Some(m), _) => {
            hit.section.get_or_insert_with(|| "SYMPTOMS".into());
            hit.snippet = Some(m.marked(query));
        }
        (None, Some((heading, s))) => {
            hit.section = Some(heading);
            hit.snippet = Some(s.marked(query));
        }
        (None, None) => {}
    }
}

/// A short passage with the query's words marked.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Snippet {
    /// The passage, whitespace collapsed.
    pub text: String,
    /// Byte ranges of `text` that are words of the query.
    pub marks: Vec<Range<usize>>,
    /// The summed weight of the distinct query words it holds, to pick the best passage.
    #[serde(skip)]
    weight: f32,
}

/// The summed weight of the distinct query words in `text`.
fn query_weight(text: &str, query: &Query) -> f32 {
    let mut present = vec![false; query.first_weights.len()];
    for_each_word(text, |_, word| {
        if let Some(id) = query.id_of(word) {
            present[id as usize] = true;
        }
    });
    // In order of first appearance in the query, as the weights were always summed.
    query
        .first_weights
        .iter()
        .zip(present)
        .filter(|(_, p)| *p)
        .map(|(w, _)| w)
        .sum()
}

/// Passages are cut to about this many words.
const SNIPPET_WORDS: usize = 30;

impl Snippet {
    /// `text` whole (whitespace collapsed), with the query's words marked.
    fn of(text: &str, query: &Query) -> Snippet {
        Snippet::weighed(text.split_whitespace().collect::<Vec<_>>().join(" "), query)
    }

    /// The window of [`SNIPPET_WORDS`] words of `text` holding the most query weight; `None`
    /// when it holds no query word.
    fn window(text: &str, query: &Query) -> Option<Snippet> {
        // Each query word's weight (its first occurrence's), looked up once per token of the
        // text; the text is tokenised once and each token credited to the word it lies in
        // (tokens never cross whitespace).
        let mut words: Vec<&str> = Vec::new();
        let mut ends: Vec<usize> = Vec::new();
        for word in text.split_whitespace() {
            let start = word.as_ptr() as usize - text.as_ptr() as usize;
            words.push(word);
            ends.push(start + word.len());
        }
        let mut weights = vec![0.0f32; words.len()];
        let mut at_word = 0;
        for_each_word(text, |span, word| {
            let Some(id) = query.id_of(word) else {
                return;
            };
            let w = query.first_weights[id as usize];
            while at_word < ends.len() && ends[at_word] <= span.start {
                at_word += 1;
            }
            if let Some(slot) = weights.get_mut(at_word) {
                *slot += w;
            }
        });
        let n = SNIPPET_WORDS.min(words.len());
        if n == 0 {
            return None;
        }
        let mut sum: f32 = weights[..n].iter().sum();
        let (mut best, mut at) = (sum, 0);
        for i in n..words.len() {
            sum += weights[i] - weights[i - n];
            if sum > best {
                best = sum;
                at = i + 1 - n;
            }
        }
        if best <= 0.0 {
            return None;
        }
        let mut text = words[at..at + n].join(" ");
        if at > 0 {
            text.insert_str(0, "… ");
        }
        if at + n < words.len() {
            text.push_str(" …");
        }
        Some(Snippet::weighed(text, query))
    }

    /// `text` weighed by the query words it holds, not yet marked: only the passage shown is.
    fn weighed(text: String, query: &Query) -> Snippet {
        Snippet {
            weight: query_weight(&text, query),
            text,
            marks: Vec::new(),
        }
    }

    /// The passage with the query's words marked.
    fn marked(mut self, query: &Query) -> Snippet {
        // Words that weigh next to nothing (`the`, `on`) are not marked: a third of the
        // query's heaviest word is the bar.
        let heaviest = query.weights.iter().copied().fold(0.0f32, f32::max);
        let mut markable = vec![false; query.first_weights.len()];
        for (id, w) in query.token_ids.iter().zip(&query.weights) {
            markable[*id as usize] |= *w >= heaviest / 3.0;
        }
        let marked = |t: &Token| query.id_of(&t.text).is_some_and(|id| markable[id as usize]);
        self.marks = tokenize(&self.text, false)
            .into_iter()
            .filter(marked)
            .map(|t| t.span)
            .collect();
        self
    }
}

#[cfg(test)]
#[allow(clippy::cast_possible_truncation)] // a handful of articles
mod ranking_tests {
    //! The ranking through the [`Corpus`] seam, over a few articles in memory: no index.

    use super::*;
    use crate::corpus::{ArticleRecord, Lexical, MessageView};

    /// (id, date, title, sections as (heading, text)).
    type FakeArticle = (
        &'static str,
        &'static str,
        &'static str,
        Vec<(&'static str, &'static str)>,
    );

    struct Article {
        record: ArticleRecord,
        sections: Vec<(&'static str, &'static str)>,
    }

    /// A corpus whose messages are every article's quoted blocks and title, and whose words
    /// score a query word 3 in a title and 1 in a section.
    struct Fake {
        articles: Vec<Article>,
        messages: Vec<(u32, &'static str, String)>,
        /// What the embeddings say of a query: the articles near it in meaning, by cosine.
        meaning: Vec<(&'static str, Vec<(u32, f32)>)>,
    }

    impl Fake {
        fn new(articles: Vec<FakeArticle>) -> Fake {
            let mut fake = Fake {
                articles: Vec::new(),
                messages: Vec::new(),
                meaning: Vec::new(),
            };
            for (i, (id, date, title, sections)) in articles.into_iter().enumerate() {
                fake.messages
                    .push((i as u32, TITLE_SECTION, title.to_string()));
                for (heading, text) in &sections {
                    for block in crate::article::quoted_blocks(text) {
                        fake.messages.push((i as u32, heading, block));
                    }
                }
                fake.articles.push(Article {
                    record: ArticleRecord {
                        id: id.into(),
                        title: title.into(),
                        date: date.into(),
                        products: "Microsoft Exchange Server, version 5.5".into(),
                        versions: "5.5".into(),
                        ..ArticleRecord::default()
                    },
                    sections,
                });
            }
            fake
        }

        fn words(text: &str) -> Vec<String> {
            tokenize(text, false).into_iter().map(|t| t.text).collect()
        }
    }

    impl Weights for Fake {
        fn weight(&self, _token: &str) -> f32 {
            1.0
        }
    }

    impl Corpus for Fake {
        fn message_candidates(&self, _query: &Query, _limit: usize) -> Vec<u32> {
            (0..self.messages.len() as u32).collect()
        }

        fn message(&self, id: u32) -> Option<MessageView<'_>> {
            let (article, section, text) = self.messages.get(id as usize)?;
            let tokens = tokenize(text, true);
            Some(MessageView {
                article: *article,
                section,
                text,
                total: unit_weight(&tokens, self),
                lines: line_units(text, &tokens)
                    .into_iter()
                    .map(|u| unit_weight(u, self))
                    .collect(),
            })
        }

        fn lexical(&self, query: &Query, limit: usize, also: &[u32]) -> Lexical {
            let scored: Vec<(u32, f32)> = self
                .articles
                .iter()
                .enumerate()
                .map(|(i, a)| {
                    let title = Fake::words(&a.record.title);
                    let body: Vec<String> = a
                        .sections
                        .iter()
                        .flat_map(|(_, t)| Fake::words(t))
                        .collect();
                    let score: f32 = query
                        .tokens
                        .iter()
                        .map(|q| {
                            3.0 * f32::from(title.contains(&q.text))
                                + f32::from(body.contains(&q.text))
                        })
                        .sum();
                    (i as u32, score)
                })
                .filter(|(_, s)| *s > 0.0)
                .collect();
            let mut top = scored.clone();
            top.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
            top.truncate(limit);
            let also: Vec<(u32, f32)> = scored
                .into_iter()
                .filter(|(i, _)| also.contains(i))
                .collect();
            // As the archive leaves the commonest words out of the words it searches, the fake
            // leaves out words of one or two letters.
            let words: Vec<&str> = query
                .tokens
                .iter()
                .map(|t| t.text.as_str())
                .filter(|w| w.len() > 2)
                .collect();
            let coverage = top
                .iter()
                .chain(&also)
                .map(|&(i, _)| {
                    let a = &self.articles[i as usize];
                    let title = Fake::words(&a.record.title);
                    let body: Vec<String> = a
                        .sections
                        .iter()
                        .flat_map(|(_, t)| Fake::words(t))
                        .collect();
                    let share = |holds: &dyn Fn(&str) -> bool| {
                        words.iter().filter(|w| holds(w)).count() as f32 / words.len() as f32
                    };
                    let in_title = |w: &str| title.iter().any(|t| t == w);
                    let anywhere = |w: &str| in_title(w) || body.iter().any(|t| t == w);
                    let coverage = Coverage {
                        title: share(&in_title),
                        anywhere: share(&anywhere),
                    };
                    (i, coverage)
                })
                .collect();
            Lexical {
                top,
                also,
                coverage,
            }
        }

        fn semantic(&self, text: &str, limit: usize) -> Vec<(u32, f32)> {
            let mut near = self
                .meaning
                .iter()
                .find(|(q, _)| *q == text)
                .map(|(_, near)| near.clone())
                .unwrap_or_default();
            near.truncate(limit);
            near
        }

        fn article(&self, id: u32) -> Option<ArticleRecord> {
            self.articles.get(id as usize).map(|a| a.record.clone())
        }

        fn find(&self, id: &str) -> Option<u32> {
            self.articles
                .iter()
                .position(|a| a.record.id == id)
                .map(|i| i as u32)
        }

        fn sections(&self, id: u32) -> Vec<(String, String)> {
            self.articles
                .get(id as usize)
                .map(|a| {
                    a.sections
                        .iter()
                        .map(|(h, t)| (h.to_string(), t.to_string()))
                        .collect()
                })
                .unwrap_or_default()
        }
    }

    fn corpus() -> Fake {
        Fake::new(vec![
            (
                "Q1",
                "2001-01-01",
                "Error Running ISINTEG on a Cluster Server",
                vec![
                    ("SYMPTOMS", "When you run isinteg -patch you see:\n\n   The private store could not be updated\n   Reason: JET_errKeyDuplicate\n"),
                    ("WORKAROUND", "Set the cluster network name first."),
                ],
            ),
            (
                "Q2",
                "2002-02-02",
                "Information Store Does Not Start After Restoring from Backup",
                vec![("SYMPTOMS", "After you restore the information store from an offline backup it does not start.")],
            ),
            (
                "Q3",
                "1999-09-09",
                "Dead Gateway Detection in TCP/IP",
                vec![
                    ("SUMMARY", "How dead gateway detection works."),
                    ("MORE INFORMATION", "A timed out request shows:\n\n   Error 638: The request has timed out.\n"),
                ],
            ),
            (
                "Q4",
                "2003-03-03",
                "Store Reports Duplicate Keys",
                vec![("SYMPTOMS", "You see:\n\n   The private store could not be updated\n   Reason: JET_errKeyDuplicate\n")],
            ),
        ])
    }

    fn ids(fake: &Fake, text: &str) -> Vec<String> {
        let set = RuleSet::load(&[]);
        let options = LookupOptions {
            limit: 5,
            ..LookupOptions::default()
        };
        Lookup::new(&set, Some(fake))
            .find(text, &options)
            .into_iter()
            .map(|h| h.id)
            .collect()
    }

    #[test]
    fn a_pasted_message_finds_the_articles_that_quote_it_newest_first() {
        // Q1 and Q4 quote it in SYMPTOMS and tie on it; the newer comes first.
        assert_eq!(
            ids(&corpus(), "Reason: JET_errKeyDuplicate")[..2],
            ["Q4", "Q1"]
        );
    }

    #[test]
    fn meaning_ranks_a_description_that_shares_no_words_but_not_a_pasted_message() {
        let mut fake = corpus();
        let described = "mailbox database refuses to mount once brought back off tape";
        let pasted = "The private store could not be updated\nReason: JET_errKeyDuplicate";
        assert!(!ids(&fake, described).contains(&"Q2".to_string()));
        // The embeddings put Q2 (the store that does not start after a restore) nearest the
        // description, and Q3 nearest the pasted message, wrongly.
        fake.meaning = vec![
            (described, vec![(1, 0.71), (3, 0.40)]),
            (pasted, vec![(2, 0.9), (0, 0.5)]),
        ];
        assert_eq!(ids(&fake, described)[0], "Q2");
        // A complete message match leaves meaning no room: the articles quoting it stay first.
        assert_eq!(ids(&fake, pasted)[..2], ["Q4", "Q1"]);
    }

    #[test]
    fn an_article_holding_all_the_words_ranks_above_one_whose_title_holds_one() {
        // Q5's title holds one of the words (weighed 3 in the fake, and matched as a title);
        // Q6's text holds all three (1 each): the same sum of words, but Q6 answers the question.
        let fake = Fake::new(vec![
            (
                "Q5",
                "2001-01-01",
                "Spooler Settings",
                vec![("SUMMARY", "Settings.")],
            ),
            (
                "Q6",
                "2001-01-01",
                "Queue Problems",
                vec![(
                    "SYMPTOMS",
                    "The widget spooler stops; a widget crash follows.",
                )],
            ),
        ]);
        assert_eq!(ids(&fake, "widget spooler crash")[0], "Q6");
    }

    #[test]
    fn a_mixture_of_message_and_description_takes_both_into_account() {
        // Both quote the message; only Q1 is about isinteg on a cluster.
        let hits = ids(
            &corpus(),
            "The private store could not be updated when running isinteg on a cluster",
        );
        assert_eq!(hits[0], "Q1");
    }

    #[test]
    fn a_description_finds_the_article_by_its_words() {
        assert_eq!(
            ids(
                &corpus(),
                "information store will not start after restoring from backup"
            )[0],
            "Q2"
        );
        assert_eq!(
            ids(&corpus(), "dead gateway detection in Windows NT")[0],
            "Q3"
        );
    }

    #[test]
    fn a_message_quoted_outside_symptoms_is_found_with_its_section() {
        let set = RuleSet::load(&[]);
        let fake = corpus();
        let options = LookupOptions {
            limit: 3,
            ..LookupOptions::default()
        };
        let hits =
            Lookup::new(&set, Some(&fake)).find("Error 638: The request has timed out.", &options);
        assert_eq!(hits[0].id, "Q3");
        assert_eq!(hits[0].section.as_deref(), Some("MORE INFORMATION"));
        let snippet = hits[0].snippet.as_ref().unwrap();
        let marked: Vec<&str> = snippet
            .marks
            .iter()
            .map(|r| &snippet.text[r.clone()])
            .collect();
        assert!(marked.contains(&"638"), "{snippet:?}");
    }

    #[test]
    fn a_word_match_shows_the_section_and_marked_words() {
        let set = RuleSet::load(&[]);
        let fake = corpus();
        let options = LookupOptions {
            limit: 1,
            ..LookupOptions::default()
        };
        let hit = &Lookup::new(&set, Some(&fake)).find("offline backup", &options)[0];
        assert_eq!(hit.id, "Q2");
        assert_eq!(hit.section.as_deref(), Some("SYMPTOMS"));
        let snippet = hit.snippet.as_ref().unwrap();
        let marked: Vec<&str> = snippet
            .marks
            .iter()
            .map(|r| &snippet.text[r.clone()])
            .collect();
        assert_eq!(marked, ["offline", "backup"]);
    }

    #[test]
    fn products_rank_first_and_filter() {
        let set = RuleSet::load(&[]);
        let mut fake = corpus();
        fake.articles[0].record.products = "Microsoft Windows NT Server version 4.0".into();
        fake.articles[0].record.versions = "4.0".into();
        let mut options = LookupOptions {
            limit: 5,
            products: vec![ProductQuery::new("Exchange", Some("5.5.2653"))],
            only_products: false,
        };
        let lookup = Lookup::new(&set, Some(&fake));
        let hits = lookup.find("isinteg on a cluster reason JET_errKeyDuplicate", &options);
        assert_eq!(
            hits[0].id, "Q4",
            "the Exchange article ranks above the Windows NT one"
        );
        assert_eq!(hits[0].applies, Some(true));
        options.only_products = true;
        let hits = lookup.find("isinteg on a cluster reason JET_errKeyDuplicate", &options);
        assert!(hits.iter().all(|h| h.id != "Q1"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::log_noise;

    fn symptom(message: &str, codes: &[&str]) -> Symptom {
        Symptom {
            message: message.into(),
            codes: codes.iter().map(|c| c.to_string()).collect(),
            paraphrase: false,
        }
    }

    #[test]
    fn tokens_keep_codes_whole() {
        let words: Vec<String> = tokenize(
            "Reason: JET_errKeyDuplicate (-1605) 0x8004010F MMSYSTEM326 a-b",
            false,
        )
        .into_iter()
        .map(|t| t.text)
        .collect();
        assert_eq!(
            words,
            [
                "reason",
                "jet_errkeyduplicate",
                "-1605",
                "0x8004010f",
                "mmsystem326",
                "a",
                "b"
            ]
        );
    }

    #[test]
    fn a_multi_word_code_matches_as_a_phrase() {
        let code_only = symptom("Something else entirely", &["Event 1002"]);
        let found = |q: &str| match_symptom(&Query::new(q, &Uniform), &code_only, &Uniform);
        assert!(found("saw event 1002 in the log").is_some());
        assert!(
            found("event 7 then 1002").is_none(),
            "words apart are no phrase"
        );
        assert!(found("1002 event").is_none(), "order matters");
    }

    #[test]
    fn placeholders_are_wildcards() {
        let tokens = tokenize("Cannot open <filename> (%1) at xxxx", true);
        assert_eq!(tokens.iter().filter(|t| t.wildcard).count(), 3);
    }

    fn q(text: &str) -> Query {
        Query::new(text, &Uniform)
    }

    #[test]
    fn one_line_of_a_message_matches_with_a_span() {
        let s = symptom(
            "The private store could not be updated\nReason: JET_errKeyDuplicate",
            &["JET_errKeyDuplicate"],
        );
        let m = match_symptom(&q("Reason: JET_errKeyDuplicate"), &s, &Uniform).unwrap();
        assert_eq!(&s.message[m.span.clone()], "Reason: JET_errKeyDuplicate");
        assert!(m.score > 0.9, "{m:?}");
        assert!(match_symptom(&q("disk full"), &s, &Uniform).is_none());
    }

    #[test]
    fn filled_placeholders_and_log_noise_still_match() {
        let s = symptom("Unable to open file <filename> for writing", &[]);
        let m = match_symptom(
            &q("unable to open file C:\\data\\priv.edb for writing"),
            &s,
            &Uniform,
        )
        .unwrap();
        // Six words match; the four tokens of the path fill the placeholder at half weight.
        assert!((m.precision - 0.8).abs() < 1e-6, "{m:?}");
        assert!(m.coverage > 0.99, "{m:?}");
        let noisy = match_symptom(
            &q("2026-11-25 10:00:01 EXSRV1 ERROR unable to open file x.doc for writing"),
            &s,
            &Uniform,
        )
        .unwrap();
        assert!(noisy.coverage > 0.99 && noisy.score > 0.3, "{noisy:?}");
    }

    #[test]
    fn log_decoration_is_found() {
        let text = "2026-11-25T03:12:44Z srv1 frobd[311]: Nov 25 10:22:01 AM error 42 at 1/2/2003";
        let noise: Vec<&str> = log_noise(text).into_iter().map(|r| &text[r]).collect();
        assert_eq!(
            noise,
            [
                "2026-11-25T03:12:44Z",
                "frobd[311]:",
                "Nov 25",
                "10:22:01 AM",
                "1/2/2003"
            ]
        );
        let q = Query::new(text, &Uniform);
        let error = q.tokens.iter().position(|t| t.text == "error").unwrap();
        assert_eq!(q.weights[error], 1.0);
        assert!(q.weights[0] < 0.1);
    }

    #[test]
    fn the_message_wins_over_words_from_the_text_around_it() {
        let query = q("users say: The spool could not be compacted, since Monday");
        let message = match_message(&query, "The spool could not be compacted", &Uniform).unwrap();
        let around = match_message(
            &query,
            "Users say the spool is busy since the upgrade",
            &Uniform,
        )
        .unwrap();
        assert!(message.score > around.score, "{message:?} {around:?}");
    }

    #[test]
    fn the_whole_message_beats_a_fragment_of_it() {
        let query = q("Cannot find the file specified");
        let whole = match_message(&query, "Cannot find the file specified", &Uniform).unwrap();
        let longer = match_message(
            &query,
            "Cannot find the file specified in the path or in the registry",
            &Uniform,
        )
        .unwrap();
        let shorter = match_message(&query, "Cannot find the file", &Uniform).unwrap();
        assert!(whole.score > longer.score && whole.score > shorter.score);
    }
}
