//! The commands an article says go wrong: program names (with or without `.exe`, `.com`,
//! `.bat`, `.cmd`) and the switches written after them, found in its title and its SYMPTOMS
//! and CAUSE sections ("when you run ESEUTIL /D", "the CONVERT.EXE command", "MSBACKUP.EXE"),
//! and in warnings elsewhere ("do not run …").
//!
//! Owns reading them out of an article's text; `archive` stores them at import and
//! `advisories` matches an intended command against them. Pure text work: nothing is run.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use regex::Regex;
use serde::{Deserialize, Serialize};

use crate::article::Article;
use crate::intent::{normalize_flag, normalize_program};

/// What an article says about running a program, weakest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MentionKind {
    /// A warning outside SYMPTOMS and CAUSE ("do not run …", "… can cause data loss").
    Hazard,
    /// Only its title names it ("Dr. Watson When Running Rdisk.exe", but also "How to …").
    Title,
    /// Its SYMPTOMS or CAUSE: running it goes wrong.
    Failure,
}

/// One program an article says goes wrong, with every form of it the article writes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mention {
    /// The program's normalised name (`eseutil`).
    pub program: String,
    /// The switch sets written with it, normalised (`["d"]`, `["p", "ispriv"]`); an empty set
    /// for a mention of the program alone, which concerns every use of it.
    pub switch_sets: Vec<Vec<String>>,
    /// Failure (SYMPTOMS, CAUSE), title only, or hazard (a warning elsewhere).
    pub kind: MentionKind,
    /// Whether the title names it.
    pub in_title: bool,
    /// Whether SYMPTOMS or CAUSE write it as a program that is run ("when you run X", "the X
    /// command", `X.EXE`), not merely as a word before a switch.
    pub phrase: bool,
    /// How many times SYMPTOMS and CAUSE name it.
    pub count: u32,
    /// Whether SYMPTOMS or CAUSE write it as a command is typed: in capitals (`FORMAT`), with
    /// its extension, or with switches; not only as a capitalised word ("Format Painter").
    pub typed: bool,
    /// The section of the first mention of the strongest kind (`TITLE` for the title).
    pub section: String,
    /// The sentence it is in, whitespace collapsed, at most [`MAX_SENTENCE`] characters.
    pub sentence: String,
}

/// Sentences are cut to this many characters.
pub const MAX_SENTENCE: usize = 200;

/// Words that follow "run", "use" or "the" without being programs.
const NOT_PROGRAMS: &[&str] = &[
    "a",
    "all",
    "an",
    "and",
    "any",
    "application",
    "applications",
    "as",
    "at",
    "batch",
    "both",
    "by",
    "command",
    "commands",
    "computer",
    "each",
    "either",
    "following",
    "for",
    "from",
    "in",
    "into",
    "it",
    "its",
    "microsoft",
    "ms",
    "multiple",
    "run",
    "my",
    "new",
    "next",
    "no",
    "not",
    "of",
    "on",
    "one",
    "or",
    "other",
    "our",
    "out",
    "over",
    "program",
    "programs",
    "same",
    "script",
    "second",
    "server",
    "service",
    "services",
    "setting",
    "several",
    "some",
    "such",
    "that",
    "the",
    "their",
    "them",
    "then",
    "these",
    "this",
    "those",
    "through",
    "to",
    "tool",
    "tools",
    "two",
    "under",
    "up",
    "utility",
    "utilities",
    "version",
    "windows",
    "with",
    "without",
    "you",
    "your",
];

/// Words that make a sentence outside SYMPTOMS and CAUSE a warning about running a program.
const HAZARD_WORDS: &[&str] = &[
    "do not run",
    "don't run",
    "caution",
    "warning",
    "data loss",
    "lose data",
    "corrupt",
    "damage",
    "fails",
    "stops responding",
];

static WITH_EXTENSION: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"(?i)\b([a-z][a-z0-9_$~-]{0,30})\.(?:exe|com|bat|cmd)\b").ok());
static AFTER_VERB: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(concat!(
        r"(?i)\b(?:run|runs|running|ran|type|types|typing|typed|use|uses|using|used|execute|",
        r"executes|executing|executed|start|starts|starting|started|issue|issues|issuing|",
        r"invoke|invokes|invoking|launch|launches|launching)\s+(?:the\s+|a\s+)?",
        r"([a-z][a-z0-9_$~-]{1,30})\b"
    ))
    .ok()
});
static BEFORE_NOUN: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(r"(?i)\b\(?([a-z][a-z0-9_$~-]{1,30})\)?\s+(?:command|utility|program|tool)\b").ok()
});
static BEFORE_SWITCH: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"\b([A-Za-z][A-Za-z0-9_]{1,30})\s+[/-][A-Za-z?]").ok());

/// The programs `article` says go wrong, one [`Mention`] per program, in order of first
/// appearance.
pub fn extract(article: &Article) -> Vec<Mention> {
    let mut found: BTreeMap<String, (usize, Mention)> = BTreeMap::new();
    let mut order = 0;
    let mut add = |text: &str, section: &str, kind: Option<MentionKind>| {
        for hit in scan(text) {
            let sentence = sentence_at(text, hit.at);
            let kind = match kind {
                Some(kind) => kind,
                None if is_warning(&sentence) => MentionKind::Hazard,
                None => continue,
            };
            order += 1;
            let entry = found.entry(hit.program.clone()).or_insert_with(|| {
                (
                    order,
                    Mention {
                        program: hit.program,
                        switch_sets: Vec::new(),
                        kind,
                        in_title: false,
                        phrase: false,
                        count: 0,
                        typed: false,
                        section: section.to_string(),
                        sentence: sentence.clone(),
                    },
                )
            });
            let mention = &mut entry.1;
            // The strongest kind names the place; within it, the first that says it is run.
            let stronger =
                kind > mention.kind || (kind == mention.kind && hit.phrase && !mention.phrase);
            if stronger {
                mention.kind = kind;
                mention.section = section.to_string();
                mention.sentence = sentence;
            }
            if kind == MentionKind::Failure {
                mention.count += 1;
                mention.phrase |= hit.phrase;
                mention.typed |= hit.typed;
            }
            if !mention.switch_sets.contains(&hit.switches) {
                mention.switch_sets.push(hit.switches);
            }
        }
    };
    add(&article.title, TITLE, Some(MentionKind::Title));
    for section in &article.sections {
        let heading = section.heading.to_ascii_uppercase();
        let failure = heading.contains("SYMPTOM") || heading.contains("CAUSE");
        add(
            &section.text,
            &section.heading,
            failure.then_some(MentionKind::Failure),
        );
    }
    let title_words: Vec<String> = article
        .title
        .split(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '$' | '~' | '-')))
        .map(normalize_program)
        .collect();
    let mut mentions: Vec<(usize, Mention)> = found.into_values().collect();
    mentions.sort_by_key(|(order, _)| *order);
    mentions
        .into_iter()
        .map(|(_, mut m)| {
            m.in_title = title_words.contains(&m.program);
            m
        })
        .collect()
}

/// The section name given to mentions in the title.
pub const TITLE: &str = "TITLE";

/// One program named in a text.
struct Hit {
    program: String,
    switches: Vec<String>,
    /// Byte offset of the name.
    at: usize,
    /// Written as a program is run: with its extension, after "run" or "use", or before
    /// "command" or "utility"; not merely a word before a switch.
    phrase: bool,
    /// Written as a command is typed: capitals, extension or switches.
    typed: bool,
}

/// Every program mention in `text`.
fn scan(text: &str) -> Vec<Hit> {
    let mut out: Vec<Hit> = Vec::new();
    // `word` is the program as written (with its extension, if any); `strong` when the
    // extension makes it a program whatever the word.
    let mut push = |word: &str, start: usize, end: usize, strong: bool, phrase: bool| {
        // A word after a period is an extension or part of a dotted name (`CONVERT.EXE`); one
        // after a path separator names a file (`C:\TEST.EXE` in a message), not a command run.
        if text[..start].ends_with(['.', '\\', '/', ':']) {
            return;
        }
        let program = normalize_program(word);
        if program.len() < 2 || (!strong && NOT_PROGRAMS.contains(&program.as_str())) {
            return;
        }
        let switches = switches_after(&text[end..]);
        let name = &text[start..end];
        let typed = strong
            || !switches.is_empty()
            || (name.len() > 1 && !name.chars().any(|c| c.is_ascii_lowercase()));
        match out
            .iter_mut()
            .find(|h| h.program == program && h.switches == switches && h.at == start)
        {
            Some(h) => h.phrase |= phrase,
            None => out.push(Hit {
                program,
                switches,
                at: start,
                phrase,
                typed,
            }),
        }
    };
    if let Some(re) = WITH_EXTENSION.as_ref() {
        for c in re.captures_iter(text) {
            let (Some(whole), Some(word)) = (c.get(0), c.get(1)) else {
                continue;
            };
            push(whole.as_str(), word.start(), whole.end(), true, true);
        }
    }
    // Before "command" or "utility", and after "run" or "use", a word is a program when it is
    // written as a name ("the DISKCOPY command", "run Setup"), not in prose ("the copy
    // command"), or when switches follow it ("running eseutil /d").
    let named = |w: &str| w.starts_with(|c: char| c.is_ascii_uppercase());
    for re in [&BEFORE_NOUN, &AFTER_VERB] {
        let Some(re) = re.as_ref() else { continue };
        for c in re.captures_iter(text) {
            let Some(word) = c.get(1) else { continue };
            if named(word.as_str()) || !switches_after(&text[word.end()..]).is_empty() {
                push(word.as_str(), word.start(), word.end(), false, true);
            }
        }
    }
    if let Some(re) = BEFORE_SWITCH.as_ref() {
        for c in re.captures_iter(text) {
            let Some(word) = c.get(1) else { continue };
            push(word.as_str(), word.start(), word.end(), false, false);
        }
    }
    // In the order the text names them.
    out.sort_by_key(|h| h.at);
    out
}

/// The switches written after a program, on the same line: `/d`, `-patch`, `/fs:ntfs` (as
/// `fs`), skipping up to two drive, path or file arguments between them (`convert d: /fs:ntfs`).
fn switches_after(rest: &str) -> Vec<String> {
    let line = rest.split('\n').next().unwrap_or("");
    let mut switches = Vec::new();
    let mut skipped = 0;
    for raw in line.split_whitespace().take(8) {
        // A word ending a sentence or clause is the last one that can belong to the command.
        let last = raw.ends_with(['.', ',', ';']);
        let token = raw.trim_end_matches([',', ';', ')', '"', '\'', '.']);
        if let Some(flag) = token
            .strip_prefix(['/', '-'])
            .filter(|t| t.starts_with(|c: char| c.is_ascii_alphabetic() || c == '?'))
            .and_then(|_| normalize_flag(token))
        {
            if !switches.contains(&flag) {
                switches.push(flag);
            }
        } else if skipped < 2 && is_argument(token) {
            skipped += 1;
        } else {
            break;
        }
        if last {
            break;
        }
    }
    switches.sort();
    switches
}

/// A drive, path, file or placeholder argument (`d:`, `c:\temp`, `priv.edb`, `<drive>`).
fn is_argument(token: &str) -> bool {
    let bytes = token.as_bytes();
    (bytes.len() >= 2 && bytes[1] == b':' && bytes[0].is_ascii_alphabetic())
        || token.contains('\\')
        || (token.starts_with('<') && token.ends_with('>'))
        || (token.starts_with('[') && token.ends_with(']'))
        || token
            .rsplit_once('.')
            .is_some_and(|(name, ext)| !name.is_empty() && (1..=3).contains(&ext.len()))
}

/// The sentence around byte `at`, whitespace collapsed and cut to [`MAX_SENTENCE`] characters.
fn sentence_at(text: &str, at: usize) -> String {
    let at = at.min(text.len());
    let start = text[..at]
        .rfind(". ")
        .map_or(0, |i| i + 2)
        .max(text[..at].rfind("\n\n").map_or(0, |i| i + 2));
    let end = text[at..]
        .find(". ")
        .map(|i| at + i + 1)
        .into_iter()
        .chain(text[at..].find("\n\n").map(|i| at + i))
        .min()
        .unwrap_or(text.len());
    let words: Vec<&str> = text
        .get(start..end)
        .unwrap_or("")
        .split_whitespace()
        .collect();
    let mut sentence = words.join(" ");
    if let Some((cut, _)) = sentence.char_indices().nth(MAX_SENTENCE) {
        sentence.truncate(cut);
        sentence.push('…');
    }
    sentence
}

fn is_warning(sentence: &str) -> bool {
    let lower = sentence.to_lowercase();
    HAZARD_WORDS.iter().any(|w| lower.contains(w))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::article::Section;

    fn article(title: &str, sections: &[(&str, &str)]) -> Article {
        Article {
            id: "Q1".into(),
            date: None,
            tag: None,
            title: title.into(),
            product: String::new(),
            prod_ver: String::new(),
            oper_sys: String::new(),
            keywords: String::new(),
            applies_to: Vec::new(),
            sections: sections
                .iter()
                .map(|(h, t)| Section {
                    heading: h.to_string(),
                    text: t.to_string(),
                })
                .collect(),
            messages: Vec::new(),
        }
    }

    fn programs(a: &Article) -> Vec<(String, Vec<Vec<String>>, MentionKind)> {
        extract(a)
            .into_iter()
            .map(|m| (m.program, m.switch_sets, m.kind))
            .collect()
    }

    #[test]
    fn commands_in_symptoms_and_cause_are_failures_with_their_switches() {
        let a = article(
            "XADM: Eseutil Fails on a Large Database",
            &[
                (
                    "SYMPTOMS",
                    "When you run ESEUTIL /D /T on a database, it fails. The CONVERT.EXE command \
                     stops too. Running convert d: /fs:ntfs reports an error.",
                ),
                ("RESOLUTION", "Use the Setup program to install it."),
            ],
        );
        let got = programs(&a);
        let all = extract(&a);
        let eseutil = all.iter().find(|m| m.program == "eseutil").unwrap();
        assert!(
            eseutil.in_title && eseutil.phrase && eseutil.typed,
            "{eseutil:?}"
        );
        assert_eq!(all[0].program, "eseutil", "{all:?}");
        assert!(
            got.contains(&(
                "eseutil".into(),
                vec![vec!["d".into(), "t".into()]],
                MentionKind::Failure
            )),
            "{got:?}"
        );
        let convert = got.iter().find(|(p, ..)| p == "convert").unwrap();
        assert!(convert.1.contains(&vec!["fs".to_string()]), "{convert:?}");
        // Outside SYMPTOMS and CAUSE only warnings count: "Use the Setup program" is usage.
        assert!(!got.iter().any(|(p, ..)| p == "setup"), "{got:?}");
    }

    #[test]
    fn prose_is_not_a_program() {
        let a = article(
            "Title",
            &[(
                "SYMPTOMS",
                "When you run the program, the copy command and/or TCP/IP fail. You use a \
                 computer with Windows NT.",
            )],
        );
        assert_eq!(programs(&a), vec![]);
    }

    #[test]
    fn a_warning_elsewhere_is_a_hazard() {
        let a = article(
            "Title",
            &[(
                "MORE INFORMATION",
                "Caution: do not run FDISK /MBR on a disk that holds Windows NT.",
            )],
        );
        let got = extract(&a);
        assert_eq!(got.len(), 1, "{got:?}");
        assert_eq!(got[0].program, "fdisk");
        assert_eq!(got[0].kind, MentionKind::Hazard);
        assert_eq!(got[0].switch_sets, vec![vec!["mbr".to_string()]]);
        assert!(got[0]
            .sentence
            .starts_with("Caution: do not run FDISK /MBR"));
    }
}
