//! Lookup: from a pasted error string to the articles and rules that describe it, best first.
//!
//! Owns tokenising error text, matching a query against symptom messages (placeholders such as
//! `<filename>`, `%1` or `xxxx` match any value), and scoring. A message is matched whole and
//! line by line, so a query holding one line of a longer message still finds it; the score
//! rewards covering the message, in order, more than covering the query, so surrounding log
//! noise costs little.

use std::collections::BTreeMap;
use std::ops::Range;

use serde::Serialize;

use crate::facts::{render_template, FactSet};
use crate::model::Symptom;
use crate::ruleset::RuleSet;

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
        let word_char = |ch: char| ch.is_alphanumeric() || ch == '_';
        let negative_number = c == '-'
            && text[i + 1..].starts_with(|d: char| d.is_ascii_digit())
            && (i == 0 || !text[..i].ends_with(word_char));
        if word_char(c) || negative_number {
            let start = i;
            i += c.len_utf8();
            while let Some(ch) = text[i..].chars().next().filter(|&ch| word_char(ch)) {
                i += ch.len_utf8();
            }
            let word = text[start..i].to_lowercase();
            let wildcard = placeholders && word.len() >= 3 && word.bytes().all(|b| b == b'x');
            tokens.push(Token {
                text: if wildcard { String::new() } else { word },
                span: start..i,
                wildcard,
            });
            continue;
        }
        i += c.len_utf8();
    }
    tokens
}

/// How well a query matches one symptom message.
#[derive(Clone, Debug, PartialEq)]
pub struct SymptomMatch {
    /// 0..=1: share of the message (or of its best line) found in the query, in order, blended
    /// with the share of the query it explains.
    pub score: f64,
    /// Byte range of the matched part in the message.
    pub span: Range<usize>,
}

/// Longest common subsequence of words between a message unit and the query, with the byte
/// range of the matched message words.
fn align(unit: &[&Token], query: &[Token]) -> (usize, Option<Range<usize>>) {
    let words: Vec<&&Token> = unit.iter().filter(|t| !t.wildcard).collect();
    if words.is_empty() || query.is_empty() {
        return (0, None);
    }
    // dp[i][j]: LCS of words[i..] and query[j..]; kept whole to recover the matched words.
    let (n, m) = (words.len(), query.len());
    let mut dp = vec![0u16; (n + 1) * (m + 1)];
    let at = |i: usize, j: usize| i * (m + 1) + j;
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            dp[at(i, j)] = if words[i].text == query[j].text {
                dp[at(i + 1, j + 1)] + 1
            } else {
                dp[at(i + 1, j)].max(dp[at(i, j + 1)])
            };
        }
    }
    let (mut i, mut j) = (0, 0);
    let (mut first, mut last) = (None, None);
    while i < n && j < m {
        if words[i].text == query[j].text {
            first.get_or_insert(words[i].span.start);
            last = Some(words[i].span.end);
            i += 1;
            j += 1;
        } else if dp[at(i + 1, j)] >= dp[at(i, j + 1)] {
            i += 1;
        } else {
            j += 1;
        }
    }
    (
        usize::from(dp[at(0, 0)]),
        first.zip(last).map(|(a, b)| a..b),
    )
}

/// Matches a query against a symptom; `None` when too little of it is present.
pub fn match_symptom(query: &[Token], symptom: &Symptom) -> Option<SymptomMatch> {
    const MIN_COVERAGE: f64 = 0.5;
    // Message lengths are bounded so the alignment table stays small whatever a file holds.
    const MAX_TOKENS: usize = 512;
    let query = &query[..query.len().min(MAX_TOKENS)];
    let tokens = tokenize(&symptom.message, true);
    let tokens = &tokens[..tokens.len().min(MAX_TOKENS)];
    let mut units: Vec<(Vec<&Token>, f64)> = vec![(tokens.iter().collect(), 1.0)];
    let lines: Vec<Range<usize>> = line_ranges(&symptom.message);
    if lines.len() > 1 {
        for line in lines {
            let unit: Vec<&Token> = tokens
                .iter()
                .filter(|t| line.contains(&t.span.start))
                .collect();
            // A single line is weaker evidence than the whole message.
            units.push((unit, 0.9));
        }
    }
    let query_words = query.iter().filter(|t| !t.wildcard).count().max(1) as f64;
    let mut best: Option<SymptomMatch> = None;
    for (unit, weight) in units {
        let words = unit.iter().filter(|t| !t.wildcard).count();
        if words == 0 {
            continue;
        }
        let (matched, span) = align(&unit, query);
        let coverage = matched as f64 / words as f64;
        if coverage < MIN_COVERAGE {
            continue;
        }
        let precision = matched as f64 / query_words;
        let score = weight * (0.8 * coverage + 0.2 * precision);
        if best.as_ref().is_none_or(|b| score > b.score) {
            if let Some(span) = span {
                best = Some(SymptomMatch { score, span });
            }
        }
    }
    let codes_hit = symptom.codes.iter().any(|code| {
        let code = code.to_lowercase();
        query.iter().any(|t| t.text == code)
    });
    match best {
        Some(mut m) if codes_hit => {
            m.score = (m.score + 0.1).min(1.0);
            Some(m)
        }
        None if codes_hit => Some(SymptomMatch {
            score: 0.5,
            span: 0..0,
        }),
        other => other,
    }
}

fn line_ranges(text: &str) -> Vec<Range<usize>> {
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

/// Where a hit comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
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
    pub rules: Vec<String>,
    /// The symptom message that matched.
    pub matched: String,
    /// Byte range of the matched part of `matched`.
    pub matched_span: Range<usize>,
    /// The workaround of the first rule, for rule hits.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workaround: Option<String>,
}

/// Looks a query up in the curated rules and article records.
pub fn lookup_curated(set: &RuleSet, query: &str, limit: usize) -> Vec<Hit> {
    let query = tokenize(query, false);
    let mut hits: BTreeMap<String, Hit> = BTreeMap::new();
    let mut rules_of: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for loaded in &set.loaded.rules {
        for kb in &loaded.rule.kb {
            rules_of
                .entry(&kb.id)
                .or_default()
                .push(loaded.rule.id.clone());
        }
    }
    let mut offer =
        |id: &str, title: &str, source: HitSource, symptom: &Symptom, workaround: Option<&str>| {
            let Some(m) = match_symptom(&query, symptom) else {
                return;
            };
            let better = hits.get(id).is_none_or(|h| {
                (m.score, std::cmp::Reverse(source)) > (h.score, std::cmp::Reverse(h.source))
            });
            if better {
                hits.insert(
                    id.to_string(),
                    Hit {
                        id: id.to_string(),
                        title: title.to_string(),
                        score: m.score,
                        source,
                        rules: rules_of.get(id).cloned().unwrap_or_default(),
                        matched: symptom.message.clone(),
                        matched_span: m.span,
                        workaround: workaround.map(str::to_string),
                    },
                );
            }
        };
    let titles: BTreeMap<&str, &str> = set
        .loaded
        .articles
        .iter()
        .map(|a| (a.article.id.as_str(), a.article.title.as_str()))
        .collect();
    let no_facts = FactSet::remote();
    for loaded in &set.loaded.rules {
        let rule = &loaded.rule;
        let workaround = render_template(&rule.workaround.text, &no_facts).text;
        for kb in &rule.kb {
            for symptom in &rule.symptoms {
                offer(
                    &kb.id,
                    titles.get(kb.id.as_str()).copied().unwrap_or(&rule.title),
                    HitSource::Rule,
                    symptom,
                    Some(&workaround),
                );
            }
        }
    }
    for record in &set.loaded.articles {
        let a = &record.article;
        for symptom in &a.symptoms {
            offer(&a.id, &a.title, HitSource::Kb, symptom, None);
        }
    }
    let mut hits: Vec<Hit> = hits.into_values().collect();
    hits.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then(a.source.cmp(&b.source))
            .then(a.id.cmp(&b.id))
    });
    hits.truncate(limit);
    hits
}

#[cfg(test)]
mod tests {
    use super::*;

    fn symptom(message: &str, codes: &[&str]) -> Symptom {
        Symptom {
            message: message.into(),
            codes: codes.iter().map(|c| c.to_string()).collect(),
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
    fn placeholders_are_wildcards() {
        let tokens = tokenize("Cannot open <filename> (%1) at xxxx", true);
        assert_eq!(tokens.iter().filter(|t| t.wildcard).count(), 3);
    }

    #[test]
    fn one_line_of_a_message_matches_with_a_span() {
        let s = symptom(
            "The private store could not be updated\nReason: JET_errKeyDuplicate",
            &["JET_errKeyDuplicate"],
        );
        let q = tokenize("2026-11-25 10:00 EXSRV1 Reason: JET_errKeyDuplicate", false);
        let m = match_symptom(&q, &s).unwrap();
        assert_eq!(&s.message[m.span.clone()], "Reason: JET_errKeyDuplicate");
        assert!(m.score > 0.5);
        assert!(match_symptom(&tokenize("disk full", false), &s).is_none());
    }

    #[test]
    fn filled_placeholders_still_match_fully() {
        let s = symptom("Unable to open file <filename> for writing", &[]);
        let q = tokenize(
            "ERROR: unable to open file C:\\data\\priv.edb for writing",
            false,
        );
        let m = match_symptom(&q, &s).unwrap();
        assert!(m.score > 0.8, "{m:?}");
    }
}
