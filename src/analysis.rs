//! Text analysis shared by the index and the ranking: tokens, token weights, placeholders,
//! log decoration and message lines.
//!
//! A leaf: it imports nothing of the crate. The archive tokenises what it indexes with it and
//! the ranking tokenises queries with it, so both see the same words.

use rustc_hash::FxHashMap;
use std::ops::Range;

/// A token of error text: lowercased, with where it came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Token {
    /// Lowercased text; identifiers and codes are kept whole (`jet_errkeyduplicate`, `-1605`,
    /// `0x8004010f`).
    pub text: String,
    /// Byte range in the source text.
    pub span: Range<usize>,
    /// True for a placeholder that matches any value.
    pub wildcard: bool,
}

/// A symptom code as the tokens a query must hold in a row: `JET_errKeyDuplicate` is one,
/// `Event 1002` two (a multi-word code matches as a phrase).
pub fn code_tokens(code: &str) -> Vec<String> {
    tokenize(code, false).into_iter().map(|t| t.text).collect()
}

/// Splits error text into tokens; placeholders become wildcards when `placeholders` is set.
pub fn tokenize(text: &str, placeholders: bool) -> Vec<Token> {
    let mut tokens = Vec::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < text.len() {
        let c = text[i..].chars().next().unwrap_or(' ');
        if placeholders && c == '<' {
            if let Some(end) = text[i..].find('>').filter(|&e| e > 1 && e < 40) {
                let inner = &text[i + 1..i + end];
                if !inner.contains(['<', '\n']) {
                    tokens.push(Token {
                        text: String::new(),
                        span: i..i + end + 1,
                        wildcard: true,
                    });
                    i += end + 1;
                    continue;
                }
            }
        }
        if placeholders && c == '%' {
            let rest = &bytes[i + 1..];
            let len = rest
                .iter()
                .take_while(|b| b.is_ascii_digit())
                .count()
                .max(usize::from(
                    rest.first().is_some_and(|b| b"sdlux".contains(b)),
                ));
            if len > 0 {
                tokens.push(Token {
                    text: String::new(),
                    span: i..i + 1 + len,
                    wildcard: true,
                });
                i += 1 + len;
                continue;
            }
        }
        if let Some(end) = word_end(text, i, c) {
            let word = text[i..end].to_lowercase();
            let wildcard = placeholders && word.len() >= 3 && word.bytes().all(|b| b == b'x');
            tokens.push(Token {
                text: if wildcard { String::new() } else { word },
                span: i..end,
                wildcard,
            });
            i = end;
            continue;
        }
        i += c.len_utf8();
    }
    tokens
}

/// The end of the word that starts at byte `i` (whose character is `c`), if one does: letters,
/// digits and `_`, or a `-` before a digit where no word precedes it (`-1018`).
fn word_end(text: &str, i: usize, c: char) -> Option<usize> {
    let word_char = |ch: char| ch.is_alphanumeric() || ch == '_';
    let negative_number = c == '-'
        && text[i + 1..].starts_with(|d: char| d.is_ascii_digit())
        && (i == 0 || !text[..i].ends_with(word_char));
    if !(word_char(c) || negative_number) {
        return None;
    }
    let mut end = i + c.len_utf8();
    let bytes = text.as_bytes();
    loop {
        // ASCII a byte at a time; anything else as a character.
        match bytes.get(end) {
            Some(b) if b.is_ascii_alphanumeric() || *b == b'_' => end += 1,
            Some(b) if b.is_ascii() => break,
            Some(_) => match text[end..].chars().next().filter(|&ch| word_char(ch)) {
                Some(ch) => end += ch.len_utf8(),
                None => break,
            },
            None => break,
        }
    }
    Some(end)
}

/// Calls `f` with the byte range and the lowercased text of each token of `text` (as
/// [`tokenize`] without placeholders finds them), lowercasing into one reused buffer: for
/// scanning long texts (a snippet's sections) without a string per word.
pub fn for_each_word(text: &str, mut f: impl FnMut(Range<usize>, &str)) {
    let mut lower = String::new();
    let mut i = 0;
    let bytes = text.as_bytes();
    while let Some(&b) = bytes.get(i) {
        // Spaces and punctuation are skipped without decoding a character; a `-` may start a
        // negative number, so it goes the long way.
        if b.is_ascii() && !(b.is_ascii_alphanumeric() || b == b'_' || b == b'-') {
            i += 1;
            continue;
        }
        let Some(c) = text[i..].chars().next() else {
            break;
        };
        let Some(end) = word_end(text, i, c) else {
            i += c.len_utf8();
            continue;
        };
        lower.clear();
        let word = &text[i..end];
        if word.is_ascii() {
            lower.push_str(word);
            lower.make_ascii_lowercase();
        } else {
            lower.extend(word.chars().flat_map(char::to_lowercase));
        }
        f(i..end, &lower);
        i = end;
    }
}

/// Token weights: rare words identify a message, common ones barely do.
pub trait Weights {
    /// The weight of a (lowercased) token; unknown tokens weigh the most.
    fn weight(&self, token: &str) -> f32;
}

/// Every token weighs the same: for the curated set alone, with no archive statistics.
pub struct Uniform;

impl Weights for Uniform {
    fn weight(&self, _token: &str) -> f32 {
        1.0
    }
}

/// Tokens inside log decoration (timestamps, `process[pid]:`) keep this share of their weight:
/// they can still match, but cannot drown the message they decorate.
const NOISE_FACTOR: f32 = 0.05;

/// Byte ranges of log decoration in pasted text: dates and times, syslog's `Mon DD`, and
/// `process[pid]:` prefixes.
pub fn log_noise(text: &str) -> Vec<Range<usize>> {
    // Every kind of decoration holds a digit (`\d` is any Unicode decimal digit, all of which
    // are numeric): text without one has none, and a one-query process need not build the
    // expression.
    if !text.chars().any(char::is_numeric) {
        return Vec::new();
    }
    static NOISE: std::sync::LazyLock<Option<regex::Regex>> = std::sync::LazyLock::new(|| {
        regex::RegexBuilder::new(concat!(
            r"\b\d{4}-\d{2}-\d{2}(?:[T ]\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?\b",
            r"|\b\d{1,2}/\d{1,2}/\d{2,4}\b",
            r"|\b\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?(?:\s*[AP]M)?\b",
            r"|\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?\s+\d{1,2}\b",
            r"|[\w.-]+\[\d+\]:",
        ))
        .case_insensitive(true)
        .build()
        .ok()
    });
    match NOISE.as_ref() {
        Some(re) => re.find_iter(text).map(|m| m.range()).collect(),
        None => Vec::new(),
    }
}

/// A query, tokenised and weighted once for all the messages it is compared with.
#[derive(Clone, Debug)]
pub struct Query {
    /// The query as asked, cut to [`MAX_QUERY_BYTES`] (for ranking by meaning).
    pub text: String,
    /// The query's tokens, at most [`MAX_QUERY_TOKENS`].
    pub tokens: Vec<Token>,
    /// The weight of each token.
    pub weights: Vec<f32>,
    /// The sum of the weights.
    pub total: f32,
    /// Each distinct token text, numbered in order of first appearance: alignment compares
    /// numbers, not strings.
    ids: FxHashMap<String, u32>,
    /// Each token's number in `ids`.
    pub token_ids: Vec<u32>,
    /// By number, the weight of the word's first appearance.
    pub first_weights: Vec<f32>,
    /// Which tokens are hexadecimal values.
    pub hex: Vec<bool>,
}

/// Queries are cut to this many tokens: an error message is far shorter, and it bounds the
/// work a 10 MB paste can cause.
pub const MAX_QUERY_TOKENS: usize = 256;
/// The query's text is kept to this many bytes: a sentence-embedding model reads 256 word
/// pieces at most.
pub const MAX_QUERY_BYTES: usize = 2048;
/// Messages are compared on at most this many tokens, for the same reason.
pub const MAX_UNIT_TOKENS: usize = 256;

impl Query {
    /// Tokenises and weights a query.
    pub fn new(text: &str, weights: &dyn Weights) -> Query {
        let mut tokens = tokenize(text, false);
        tokens.truncate(MAX_QUERY_TOKENS);
        let noise = log_noise(text);
        let weights: Vec<f32> = tokens
            .iter()
            .map(|t| {
                let w = token_weight(weights, &t.text);
                if noise.iter().any(|r| r.contains(&t.span.start)) {
                    w * NOISE_FACTOR
                } else {
                    w
                }
            })
            .collect();
        let total = weights.iter().sum();
        let mut ids = FxHashMap::default();
        let mut first_weights = Vec::new();
        let token_ids = tokens
            .iter()
            .zip(&weights)
            .map(|(t, w)| {
                let next = u32::try_from(ids.len()).unwrap_or(u32::MAX);
                *ids.entry(t.text.clone()).or_insert_with(|| {
                    first_weights.push(*w);
                    next
                })
            })
            .collect();
        let hex = tokens.iter().map(|t| is_hex_value(&t.text)).collect();
        let mut cut = text.len().min(MAX_QUERY_BYTES);
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        Query {
            text: text[..cut].to_string(),
            tokens,
            weights,
            total,
            ids,
            token_ids,
            first_weights,
            hex,
        }
    }

    /// The number of a token text in this query, if the query holds it.
    pub fn id_of(&self, text: &str) -> Option<u32> {
        self.ids.get(text).copied()
    }

    /// Whether any token of the query is a hexadecimal value.
    pub fn has_hex(&self) -> bool {
        self.hex.iter().any(|&h| h)
    }
}

/// The weight of every hexadecimal value: each one is rare, but as a class they are common,
/// and a log shows other values in the same slots.
pub const HEX_WEIGHT: f32 = 2.0;

/// The weight (`ln(1 + N/df)`) of a word in more than a fifth of the messages (`the`, `to`,
/// `is`): a query of more than three words finds no message by such words alone (the archive's
/// candidates and the curated symptoms both leave them out), as they barely weigh and cost the
/// most to score. (Leaving out words in one message in ten already loses messages made only of
/// common words.)
pub const COMMON_MESSAGE_WEIGHT: f32 = 1.7;

/// A token's weight: hexadecimal values weigh [`HEX_WEIGHT`], other tokens what `weights` says.
pub fn token_weight(weights: &dyn Weights, token: &str) -> f32 {
    if is_hex_value(token) {
        HEX_WEIGHT
    } else {
        weights.weight(token)
    }
}

/// True for a hexadecimal value such as `0x8004010f`: logs fill such slots with other values.
pub fn is_hex_value(text: &str) -> bool {
    text.len() > 3 && text.starts_with("0x") && text[2..].bytes().all(|b| b.is_ascii_hexdigit())
}

/// Summed weight of a unit's non-placeholder tokens.
pub fn unit_weight(unit: &[Token], weights: &dyn Weights) -> f32 {
    unit.iter()
        .filter(|t| !t.wildcard)
        .map(|t| token_weight(weights, &t.text))
        .sum()
}

/// The byte ranges of a message's non-blank lines.
pub fn line_ranges(text: &str) -> Vec<Range<usize>> {
    let mut ranges = Vec::new();
    let mut start = 0;
    for line in text.split_inclusive('\n') {
        if !line.trim().is_empty() {
            ranges.push(start..start + line.len());
        }
        start += line.len();
    }
    ranges
}

/// The tokens of each non-blank line of `message` (`tokens` is `tokenize(message, ..)`).
pub fn line_units<'t>(message: &str, tokens: &'t [Token]) -> Vec<&'t [Token]> {
    // Tokens are in text order, so each line's tokens are a contiguous run.
    let mut start = 0;
    line_ranges(message)
        .into_iter()
        .map(|line| {
            let len = tokens[start..]
                .iter()
                .take_while(|t| t.span.start < line.end)
                .count();
            let unit = &tokens[start..start + len];
            start += len;
            unit
        })
        .collect()
}

/// The weight of a token found in `df` of `n` documents: `ln(1 + n/df)`, rare tokens heaviest.
pub fn idf(n: f32, df: u32) -> f32 {
    (1.0 + n / (df.max(1) as f32)).ln()
}

/// The English stem of a word of letters (`troubleshooting` → `troubleshoot`, `issues` →
/// `issu`), for matching descriptions against articles by their words; identifiers, codes and
/// numbers stay as they are. Never used for message alignment, where exact words count.
pub fn stem(word: &str) -> std::borrow::Cow<'_, str> {
    static STEMMER: std::sync::LazyLock<rust_stemmers::Stemmer> = std::sync::LazyLock::new(|| {
        rust_stemmers::Stemmer::create(rust_stemmers::Algorithm::English)
    });
    if word.len() > 3 && word.chars().all(char::is_alphabetic) {
        STEMMER.stem(word)
    } else {
        std::borrow::Cow::Borrowed(word)
    }
}

/// The stemmed words of a text, for the words-over-fields index and its queries.
pub fn lexical_words(text: &str) -> Vec<String> {
    tokenize(text, false)
        .into_iter()
        .map(|t| stem(&t.text).into_owned())
        .collect()
}
