//! Parsing Microsoft KB articles in the archive's text format into typed records.
//!
//! Owns the format: the header (`DOCUMENT:`, `TITLE   :`, `PRODUCT :`, `PROD/VER:`, `OPER/SYS:`,
//! `KEYWORDS:`), the "applies to" list, sections (a heading underlined with `=`), and the error
//! messages quoted as indented blocks in SYMPTOMS. Robust to CRLF, Windows-1252 bytes, missing
//! sections and garbage: what cannot be read is an error with a reason, never a panic.

use serde::Serialize;
use thiserror::Error;

/// Articles larger than this are not articles; the largest in the archive is far smaller.
pub const MAX_ARTICLE_BYTES: usize = 4 * 1024 * 1024;

/// Why a file is not a readable article.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum ArticleError {
    /// The file is empty.
    #[error("empty file")]
    Empty,
    /// The file is larger than [`MAX_ARTICLE_BYTES`].
    #[error("{0} bytes is larger than an article can be ({MAX_ARTICLE_BYTES} bytes)")]
    TooLarge(usize),
    /// The file holds binary data.
    #[error("binary data (NUL bytes), not article text")]
    Binary,
    /// No `DOCUMENT:QNNNNNN` header line.
    #[error("no `DOCUMENT:Q<number>` header line in the first lines")]
    NoHeader,
}

/// A section of an article: its heading and its text.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Section {
    /// The heading as written, e.g. `SYMPTOMS`.
    pub heading: String,
    /// The section's text, lines joined by `\n`, trimmed of surrounding blank lines.
    pub text: String,
}

/// A parsed KB article.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Article {
    /// Article id, e.g. `Q178311`.
    pub id: String,
    /// The article's date as `YYYY-MM-DD`, when the header has a readable one.
    pub date: Option<String>,
    /// The product tag in brackets on the DOCUMENT line, e.g. `exchange`.
    pub tag: Option<String>,
    /// TITLE.
    pub title: String,
    /// PRODUCT.
    pub product: String,
    /// PROD/VER, as written (e.g. `WINDOWS:97; winnt:4.0`, `::5.5`).
    pub prod_ver: String,
    /// OPER/SYS.
    pub oper_sys: String,
    /// KEYWORDS.
    pub keywords: String,
    /// The "applies to" list: one product and version per entry.
    pub applies_to: Vec<String>,
    /// Every section, in order.
    pub sections: Vec<Section>,
    /// Messages the article quotes, in every section: indented blocks (lines joined by `\n`)
    /// and short passages in double quotes, in article order.
    pub messages: Vec<QuotedMessage>,
}

/// A message an article quotes, and where.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct QuotedMessage {
    /// The heading of the section that quotes it, e.g. `SYMPTOMS`, `CAUSE`, `MORE INFORMATION`.
    pub section: String,
    /// The message, lines joined by `\n`.
    pub text: String,
}

/// Indented blocks longer than this many lines are listings or code, not messages.
const MAX_BLOCK_LINES: usize = 12;
/// Nor is an indented block or a quoted passage longer than this.
const MAX_MESSAGE_BYTES: usize = 800;
/// A passage in double quotes is taken as a message from this many words on.
const MIN_INLINE_WORDS: usize = 3;

impl Article {
    /// The section with this heading (case-insensitive), if any.
    pub fn section(&self, heading: &str) -> Option<&Section> {
        self.sections
            .iter()
            .find(|s| s.heading.eq_ignore_ascii_case(heading))
    }
}

/// Decodes article bytes: UTF-8 when valid, Windows-1252 otherwise (which never fails).
pub fn decode(bytes: &[u8]) -> std::borrow::Cow<'_, str> {
    match std::str::from_utf8(bytes) {
        Ok(text) => std::borrow::Cow::Borrowed(text),
        Err(_) => {
            encoding_rs::WINDOWS_1252
                .decode_without_bom_handling(bytes)
                .0
        }
    }
}

/// Parses an article from its raw bytes.
pub fn parse(bytes: &[u8]) -> Result<Article, ArticleError> {
    if bytes.is_empty() {
        return Err(ArticleError::Empty);
    }
    if bytes.len() > MAX_ARTICLE_BYTES {
        return Err(ArticleError::TooLarge(bytes.len()));
    }
    if bytes.contains(&0) {
        return Err(ArticleError::Binary);
    }
    let text = decode(bytes);
    let lines: Vec<&str> = text.lines().map(|l| l.trim_end_matches('\r')).collect();
    let mut article = parse_header(&lines)?;
    let body_start = lines
        .iter()
        .position(|l| l.starts_with("====="))
        .map_or(0, |i| i + 1);
    // The trailer (query words, keyword block, disclaimer) is the same noise in every file.
    let body_end = lines
        .iter()
        .rposition(|l| l.starts_with("Additional query words:"))
        .or_else(|| {
            // The trailer's rule is a long line of `=`; a heading's underline is as long as
            // its heading (`RESOLUTION` / `==========`) and must not end the body.
            lines
                .iter()
                .skip(body_start)
                .position(|l| is_trailer_rule(l))
                .map(|i| i + body_start)
        })
        .unwrap_or(lines.len())
        .max(body_start);
    let body = &lines[body_start..body_end];
    article.applies_to = parse_applies_to(body);
    article.sections = parse_sections(body);
    article.messages = article
        .sections
        .iter()
        // REFERENCES lists books and articles, not messages.
        .filter(|s| !s.heading.eq_ignore_ascii_case("REFERENCES"))
        .flat_map(|s| {
            let blocks = quoted_blocks(&s.text)
                .into_iter()
                .filter(|b| b.lines().count() <= MAX_BLOCK_LINES && !is_citation(b));
            blocks
                .chain(inline_quotes(&s.text))
                .filter(|m| m.len() <= MAX_MESSAGE_BYTES)
                .map(|text| QuotedMessage {
                    section: s.heading.clone(),
                    text,
                })
                .collect::<Vec<_>>()
        })
        .collect();
    Ok(article)
}

fn parse_header(lines: &[&str]) -> Result<Article, ArticleError> {
    let mut article = Article {
        id: String::new(),
        date: None,
        tag: None,
        title: String::new(),
        product: String::new(),
        prod_ver: String::new(),
        oper_sys: String::new(),
        keywords: String::new(),
        applies_to: Vec::new(),
        sections: Vec::new(),
        messages: Vec::new(),
    };
    for line in lines.iter().take(40) {
        let Some((key, value)) = line.split_once(':') else {
            if line.starts_with("=====") {
                break;
            }
            continue;
        };
        let value = value.trim();
        match key.trim() {
            "DOCUMENT" => {
                let mut words = value.split_whitespace();
                let id = words.next().unwrap_or("");
                if is_article_id(id) {
                    article.id = id.to_ascii_uppercase();
                }
                for word in words {
                    if let Some(tag) = word.strip_prefix('[').and_then(|w| w.strip_suffix(']')) {
                        article.tag = Some(tag.to_string());
                    } else if article.date.is_none() {
                        article.date = parse_date(word);
                    }
                }
            }
            "TITLE" => article.title = value.to_string(),
            "PRODUCT" => article.product = value.to_string(),
            "PROD/VER" => article.prod_ver = value.to_string(),
            "OPER/SYS" => article.oper_sys = value.to_string(),
            "KEYWORDS" => article.keywords = value.to_string(),
            _ => {}
        }
    }
    if article.id.is_empty() {
        return Err(ArticleError::NoHeader);
    }
    Ok(article)
}

/// True for `Q` followed by digits.
pub fn is_article_id(id: &str) -> bool {
    id.len() > 1
        && id.len() <= 12
        && id.starts_with(['Q', 'q'])
        && id[1..].bytes().all(|b| b.is_ascii_digit())
}

/// `06-AUG-2002` → `2002-08-06`.
fn parse_date(word: &str) -> Option<String> {
    const MONTHS: [&str; 12] = [
        "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
    ];
    let mut parts = word.split('-');
    let (day, month, year) = (parts.next()?, parts.next()?, parts.next()?);
    let month = MONTHS.iter().position(|m| m.eq_ignore_ascii_case(month))? + 1;
    let day: u8 = day.parse().ok().filter(|d| (1..=31).contains(d))?;
    let year: u16 = year.parse().ok().filter(|y| (1900..=2100).contains(y))?;
    Some(format!("{year:04}-{month:02}-{day:02}"))
}

fn parse_applies_to(body: &[&str]) -> Vec<String> {
    let Some(start) = body
        .iter()
        .position(|l| l.contains("information in this article applies to"))
    else {
        return Vec::new();
    };
    let mut entries: Vec<String> = Vec::new();
    for line in &body[start + 1..] {
        let trimmed = line.trim();
        if trimmed.starts_with("-----") {
            break;
        }
        if let Some(entry) = trimmed.strip_prefix("- ") {
            entries.push(entry.trim().to_string());
        } else if !trimmed.is_empty() {
            // A wrapped entry continues the previous one.
            match entries.last_mut() {
                Some(last) => {
                    last.push(' ');
                    last.push_str(trimmed);
                }
                None => entries.push(trimmed.to_string()),
            }
        }
    }
    entries
}

/// A heading is an unindented line followed by a line of `=` (at least 3).
fn is_heading(line: &str, next: Option<&&str>) -> bool {
    !line.trim().is_empty()
        && !line.starts_with([' ', '\t', '='])
        && next.is_some_and(|n| {
            let n = n.trim_end();
            n.len() >= 3 && n.bytes().all(|b| b == b'=')
        })
}

/// The section name given to an article's text before its first heading (all of it, in an
/// article with no headings).
pub const LEAD: &str = "TEXT";

/// A lead shorter than this many words is header residue (`3.50 3.51`, `WINDOWS`), not text.
const MIN_LEAD_WORDS: usize = 8;

fn parse_sections(body: &[&str]) -> Vec<Section> {
    let mut sections = Vec::new();
    // The text before the first heading, after the "applies to" block and its rules: an
    // article without headings is all lead.
    let first_heading = (0..body.len())
        .find(|&i| is_heading(body[i], body.get(i + 1)))
        .unwrap_or(body.len());
    let lead_start = body[..first_heading]
        .iter()
        .rposition(|l| l.trim_start().starts_with("-----"))
        .map_or(0, |i| i + 1);
    let lead = section(LEAD.to_string(), &body[lead_start..first_heading]);
    if lead.text.split_whitespace().count() >= MIN_LEAD_WORDS {
        sections.push(lead);
    }
    let mut current: Option<(String, Vec<&str>)> = None;
    let mut i = 0;
    while i < body.len() {
        let line = body[i];
        if is_heading(line, body.get(i + 1)) {
            if let Some((heading, lines)) = current.take() {
                sections.push(section(heading, &lines));
            }
            current = Some((line.trim().to_string(), Vec::new()));
            i += 2;
            continue;
        }
        if let Some((_, lines)) = current.as_mut() {
            lines.push(line);
        }
        i += 1;
    }
    if let Some((heading, lines)) = current {
        sections.push(section(heading, &lines));
    }
    sections
}

fn section(heading: String, lines: &[&str]) -> Section {
    let text = lines.join("\n");
    Section {
        heading,
        text: text.trim_matches('\n').to_string(),
    }
}

/// The line of `=` that opens an article's trailer (70 of them in the archive).
fn is_trailer_rule(line: &str) -> bool {
    let line = line.trim_end();
    line.len() >= 40 && line.bytes().all(|b| b == b'=')
}

/// A service-pack fix list: the articles of bugs a service pack fixes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct FixList {
    /// The fix-list article, e.g. `Q242221`.
    pub article: String,
    /// The product and version its title names, e.g. `Exchange Server 5.5`.
    pub product: String,
    /// The service pack.
    pub service_pack: u32,
    /// The articles whose bugs it fixes, in the order listed.
    pub fixes: Vec<String>,
}

/// The fix lists an article is, when its title says "(List of) Bugs Fixed in PRODUCT Service
/// Pack N" (or "SP N", or several: "SP 3, 4, 5", each then read from its "Service Pack N"
/// heading in the text). Every `Qnnnnnn` that starts a line of the list is a fix; the article
/// may also list other fix lists, which the caller removes once it knows them all.
pub fn fix_lists(a: &Article) -> Vec<FixList> {
    static TITLE: std::sync::LazyLock<Option<regex::Regex>> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r"(?i)bugs fixed in (.+?)\s+(?:service packs?|sp)\s*([0-9][0-9 ,/and]*)")
            .ok()
    });
    static HEADING: std::sync::LazyLock<Option<regex::Regex>> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r"(?i)^(?:[a-z0-9. ]+ )?service pack (\d+)\s*$").ok()
    });
    let (Some(title), Some(heading)) = (TITLE.as_ref(), HEADING.as_ref()) else {
        return Vec::new();
    };
    let Some(caps) = title.captures(&a.title) else {
        return Vec::new();
    };
    let product = caps.get(1).map_or("", |m| m.as_str()).trim().to_string();
    let packs: Vec<u32> = caps
        .get(2)
        .map_or("", |m| m.as_str())
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|n| n.parse().ok())
        .collect();
    let Some(&first) = packs.first() else {
        return Vec::new();
    };
    let mut lists: Vec<FixList> = packs
        .iter()
        .map(|&sp| FixList {
            article: a.id.clone(),
            product: product.clone(),
            service_pack: sp,
            fixes: Vec::new(),
        })
        .collect();
    let mut current = first;
    for section in &a.sections {
        for line in std::iter::once(section.heading.as_str()).chain(section.text.lines()) {
            let first_word = line
                .trim_start()
                .split([' ', ':', '\t'])
                .next()
                .unwrap_or("");
            // An entry whose title ends in "Service Pack 2" (`Q162396 ... Service Pack 2`) is a
            // fix of the list, not a heading.
            if let Some(sp) = (!is_article_id(first_word))
                .then(|| heading.captures(line.trim()))
                .flatten()
                .and_then(|c| c.get(1)?.as_str().parse::<u32>().ok())
                .filter(|sp| packs.contains(sp))
            {
                current = sp;
                continue;
            }
            let word = line
                .trim_start()
                .split([' ', ':', '\t'])
                .next()
                .unwrap_or("");
            if is_article_id(word) && word.len() >= 6 && !word.eq_ignore_ascii_case(&a.id) {
                if let Some(list) = lists.iter_mut().find(|l| l.service_pack == current) {
                    let id = word.to_ascii_uppercase();
                    if !list.fixes.contains(&id) {
                        list.fixes.push(id);
                    }
                }
            }
        }
    }
    lists.retain(|l| !l.fixes.is_empty());
    lists
}

/// A block that cites other articles (`Q130285 PC Adm: Resetting ...`, `ARTICLE-ID: Q161426`
/// / `TITLE : ...`) rather than quoting a message.
fn is_citation(block: &str) -> bool {
    block.lines().any(|line| {
        let line = line.trim_start();
        let cites = line
            .strip_prefix(['Q', 'q'])
            .map(|rest| rest.bytes().take_while(u8::is_ascii_digit).count())
            .is_some_and(|digits| digits >= 5);
        cites || line.starts_with("ARTICLE-ID:") || line.starts_with("TITLE :")
    })
}

/// Passages of prose in double quotes (straight or curly) of [`MIN_INLINE_WORDS`] words or
/// more, on one line or wrapped over a few: how articles quote a message inside a sentence
/// ("you receive the following error message: "Cannot find the file""). Whitespace is joined.
pub fn inline_quotes(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find(['"', '\u{201c}']) {
        let after = &rest[open + rest[open..].chars().next().map_or(1, char::len_utf8)..];
        let Some(close) = after.find(['"', '\u{201d}']) else {
            break;
        };
        let inner = &after[..close];
        let words: Vec<&str> = inner.split_whitespace().collect();
        if words.len() >= MIN_INLINE_WORDS && inner.lines().count() <= 4 {
            out.push(words.join(" "));
        }
        rest = &after[close + after[close..].chars().next().map_or(1, char::len_utf8)..];
    }
    out
}

/// The indented blocks of a section: runs of lines indented by three or more spaces that
/// start after a blank line (an indented line right after text continues a list item).
pub fn quoted_blocks(text: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Vec<&str> = Vec::new();
    let mut after_blank = true;
    for line in text.lines() {
        let expanded_indent = line.len() - line.trim_start_matches([' ', '\t']).len();
        let blank = line.trim().is_empty();
        let quoted = !blank && expanded_indent >= 3 && (after_blank || !current.is_empty());
        if quoted {
            current.push(line.trim());
        } else if !current.is_empty() {
            blocks.push(current.join("\n"));
            current.clear();
        }
        after_blank = blank;
    }
    if !current.is_empty() {
        blocks.push(current.join("\n"));
    }
    blocks
}

#[cfg(test)]
mod tests {
    use super::*;

    // Written for these tests in the archive's format; not an article from the archive.
    const SAMPLE: &str = r#"DOCUMENT:Q999001  14-MAR-2001  [widgets]
TITLE   :WIDG: Frobnicator Stops with Error 42 on Cluster Nodes
PRODUCT :Widget Server
PROD/VER::2.0
OPER/SYS:WINNT
KEYWORDS:kbwidget

======================================================================
-------------------------------------------------------------------------------
The information in this article applies to:

 - Widget Server, version 2.0
 - Widget Server, version 2.1, when running on a
   cluster
-------------------------------------------------------------------------------

SYMPTOMS
========

When you run frob -all on a node, you may see:

   Frobnicator error 42: cannot open <filename>
   Reason: WIDG_errLocked

Other things happen too:

 - The first item wraps onto
   a second indented line.

   Second message %1

CAUSE
=====

The lock is held by the other node.

      Spool file is locked by another node

Additional query words: frob

======================================================================
Keywords          : kbwidget
"#;

    #[test]
    fn an_article_without_headings_keeps_its_text() {
        let text = "DOCUMENT:Q122857  06-FEB-2002  [winnt]\nTITLE   :RDISK /S and RDISK /S- Options\n\
                    PRODUCT :Microsoft Windows NT\nPROD/VER::3.5,3.51,4.0\nOPER/SYS:\nKEYWORDS:\n\n\
                    =====\n3.50 3.51 4.00\n\nWINDOWS\n\n----------\nThe information in this article \
                    applies to:\n\n - Microsoft Windows NT Server versions 3.5, 3.51, 4.0\n----------\n\n\
                    The RDISK utility has two command line options:\n\n  RDISK /S\n\n\
                    Both options also overwrite the saved SAM._ and SECURITY._ files.\n";
        let a = parse(text.as_bytes()).unwrap();
        assert_eq!(a.sections.len(), 1, "{:?}", a.sections);
        assert_eq!(a.sections[0].heading, LEAD);
        assert!(
            a.sections[0].text.starts_with("The RDISK utility"),
            "{:?}",
            a.sections
        );
        assert!(a.sections[0].text.ends_with("SECURITY._ files."));
        // With headings, what stands before the first one is kept too, when it is text.
        let sample = parse(SAMPLE.as_bytes()).unwrap();
        assert!(sample.sections.iter().all(|s| s.heading != LEAD));
    }

    #[test]
    fn parses_header_applies_to_sections_and_messages() {
        let crlf = SAMPLE.replace('\n', "\r\n");
        let a = parse(crlf.as_bytes()).unwrap();
        assert_eq!(a.id, "Q999001");
        assert_eq!(a.date.as_deref(), Some("2001-03-14"));
        assert_eq!(a.tag.as_deref(), Some("widgets"));
        assert_eq!(
            a.title,
            "WIDG: Frobnicator Stops with Error 42 on Cluster Nodes"
        );
        assert_eq!(a.prod_ver, ":2.0");
        assert_eq!(a.oper_sys, "WINNT");
        assert_eq!(
            a.applies_to,
            [
                "Widget Server, version 2.0",
                "Widget Server, version 2.1, when running on a cluster"
            ]
        );
        let headings: Vec<&str> = a.sections.iter().map(|s| s.heading.as_str()).collect();
        assert_eq!(headings, ["SYMPTOMS", "CAUSE"]);
        assert_eq!(
            a.section("cause").unwrap().text,
            "The lock is held by the other node.\n\n      Spool file is locked by another node"
        );
        let messages: Vec<(&str, &str)> = a
            .messages
            .iter()
            .map(|m| (m.section.as_str(), m.text.as_str()))
            .collect();
        assert_eq!(
            messages,
            [
                (
                    "SYMPTOMS",
                    "Frobnicator error 42: cannot open <filename>\nReason: WIDG_errLocked"
                ),
                ("SYMPTOMS", "Second message %1"),
                ("CAUSE", "Spool file is locked by another node")
            ]
        );
    }

    #[test]
    fn fix_lists_are_read_from_their_titles_and_headings() {
        let text = "DOCUMENT:Q900001  01-JAN-2000  [widgets]\nTITLE   :WIDG: List of Bugs Fixed in Widget Server 2.0 SP 3, 4\n\
                    =====\nSUMMARY\n=======\n\nFixes below. See also:\n\n   Q900002 WIDG: List of Bugs Fixed in Widget Server 2.0 SP 5\n\n\
                    Service Pack 4\n\n   Q100001: WIDG: One\n   Q100002 WIDG: Two\n   Q100004 Setup Fails After Applying Service Pack 3\n\n\
                    Service Pack 3\n\n   Q100003 WIDG: Three\n";
        let a = parse(text.as_bytes()).unwrap();
        let lists = fix_lists(&a);
        let got: Vec<(u32, Vec<&str>)> = lists
            .iter()
            .map(|l| (l.service_pack, l.fixes.iter().map(String::as_str).collect()))
            .collect();
        // The reference to another fix list sits before any heading: it lands in the first
        // pack's list here, and the import drops ids that are fix lists themselves.
        assert_eq!(
            got,
            [
                (3, vec!["Q900002", "Q100003"]),
                // An entry whose title ends in a service pack is no heading.
                (4, vec!["Q100001", "Q100002", "Q100004"])
            ]
        );
        assert_eq!(lists[0].product, "Widget Server 2.0");
    }

    #[test]
    fn a_heading_underline_does_not_end_an_article_without_query_words() {
        let text = "DOCUMENT:Q900003  01-JAN-2000\nTITLE   :T\n=====\nSYMPTOMS\n========\n\nIt fails.\n\n\
                    RESOLUTION\n==========\n\nRun it again.\n\n\
                    ======================================================================\nKeywords : x\n";
        let a = parse(text.as_bytes()).unwrap();
        assert_eq!(
            a.section("RESOLUTION").map(|s| s.text.as_str()),
            Some("Run it again.")
        );
        assert!(a.sections.iter().all(|s| !s.text.contains("Keywords")));
    }

    #[test]
    fn quoted_passages_in_prose_are_messages() {
        assert_eq!(
            inline_quotes("you see \"Cannot find\nthe file\" or \"OK\", then \u{201c}Access is denied now\u{201d}."),
            ["Cannot find the file", "Access is denied now"]
        );
        assert!(inline_quotes("an \"unclosed quote here").is_empty());
    }

    #[test]
    fn windows_1252_and_missing_sections() {
        let mut bytes = b"DOCUMENT:Q5  01-JAN-1999\nTITLE   :Caf\xe9\n".to_vec();
        bytes.extend_from_slice(b"=====\nno sections here\n");
        let a = parse(&bytes).unwrap();
        assert_eq!(a.title, "Caf\u{e9}");
        assert!(a.sections.is_empty());
        assert!(a.messages.is_empty());
    }

    #[test]
    fn garbage_is_an_error_with_a_reason() {
        assert_eq!(parse(b""), Err(ArticleError::Empty));
        assert_eq!(parse(b"\x00\x01\x02"), Err(ArticleError::Binary));
        assert_eq!(parse(b"hello\nworld"), Err(ArticleError::NoHeader));
        assert_eq!(parse(b"DOCUMENT:not-an-id"), Err(ArticleError::NoHeader));
        assert_eq!(parse_date("31-FOO-2002"), None);
    }
}
