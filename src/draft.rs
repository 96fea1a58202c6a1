//! `kbguard kb draft QNNNNNN`: a rule and an article record skeleton written from one archive
//! article, for a rule author to finish.
//!
//! Owns what a draft says: the article's quoted SYMPTOMS (else CAUSE) messages as symptoms,
//! the command it says goes wrong as the intent, its "applies to" list as the product range
//! (where a declared `product.NAME.version` fact can hold it), its own remedy beside the
//! workaround, the sentences that back each as evidence, and `TODO` where a person must decide
//! (the `when` condition, the severity, the words). The rule is `status: draft`: it is never
//! evaluated, `lint` warns about each TODO and refuses any left once the rule is made active.

use std::fmt::Write as _;

use crate::article::Article;
use crate::mentions::{self, MentionKind};
use crate::model::KbArticle;
use crate::products::{article_products, article_versions, is_operating_system};
use crate::schema::Catalogue;
use crate::version::VersionRange;

/// A draft: the rule file and the article record, as RON text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Draft {
    /// The rule's id (`draft.q178311`).
    pub rule_id: String,
    /// The rule file.
    pub rule_file: String,
    /// The article record; none when one already exists (the rule then copies its symptoms,
    /// since the record is the source of a message both show).
    pub record: Option<String>,
}

/// Quotes in evidence are cut to this many characters, at a word.
const MAX_QUOTE: usize = 150;
/// At most this many symptoms are drafted.
const MAX_SYMPTOMS: usize = 3;

/// Drafts a rule and a record for `article`; `existing` is the record already loaded for it, if
/// any; `today` is the review date (`YYYY-MM-DD`).
pub fn draft(
    article: &Article,
    existing: Option<&KbArticle>,
    catalogue: &Catalogue,
    today: &str,
) -> Draft {
    let id = article.id.to_ascii_uppercase();
    let rule_id = format!("draft.{}", id.to_ascii_lowercase());
    let date = match existing {
        Some(record) => record.date.to_string(),
        None => article.date.clone().unwrap_or_else(|| today.to_string()),
    };
    let symptoms = match existing {
        Some(record) => record.symptoms.iter().map(|s| s.message.clone()).collect(),
        None => symptom_messages(article),
    };
    let products = article_products(&article.applies_to, &article.product);
    let versions = range_of(&article_versions(&article.applies_to, &article.prod_ver));
    let product_fact = product_fact(&products, catalogue);
    let windows = products
        .lines()
        .any(|l| l.to_lowercase().contains("windows"));
    let mention = mentions::extract(article)
        .into_iter()
        .find(|m| m.kind == MentionKind::Failure);

    let mut r = String::new();
    let _ = writeln!(
        r,
        "// Draft of a rule for {id} (\"{}\"), written by `kbguard kb draft`. Each TODO is a\n\
         // decision for a person; `kbguard lint` warns about each, and refuses any left once the\n\
         // rule's status is active. Write the title, workaround and record in your own words.",
        escape(&article.title)
    );
    r.push_str("RuleFile(\n    schema: 1,\n    rules: [\n        Rule(\n");
    let _ = writeln!(r, "            id: {rule_id:?},");
    r.push_str("            revision: 1,\n            status: draft,\n");
    let _ = writeln!(r, "            kb: [(id: {id:?}, date: {date:?})],");
    let _ = writeln!(
        r,
        "            title: \"TODO: what goes wrong, in one line\",\n            // TODO: block (the command fails or damages data), warn (risky or slow) or info.\n            severity: warn,\n            reviewed: {today:?},"
    );
    write_applies(
        &mut r,
        &products,
        product_fact.as_deref(),
        versions.as_deref(),
        windows,
    );
    match &mention {
        Some(m) => {
            let flags = m
                .switch_sets
                .iter()
                .max_by_key(|s| s.len())
                .map(|s| s.iter().map(|f| format!("\"/{f}\"")).collect::<Vec<_>>().join(", "))
                .unwrap_or_default();
            let _ = writeln!(
                r,
                "            // The article's {}: \"{}\"\n            intent: Intent(program: {:?}, flags: [{flags}]),",
                m.section.to_lowercase(),
                escape(&m.sentence),
                m.program
            );
        }
        None => r.push_str(
            "            // TODO: the command it is about (no command found in its title, SYMPTOMS or CAUSE).\n",
        ),
    }
    r.push_str(
        "            // TODO: when the problem bites: a condition over facts (docs/rules.md), e.g.\n            // when: FactEquals(\"cluster.node\", true),\n",
    );
    write_symptoms(&mut r, &symptoms, "            ");
    let remedy = first_words(&remedy_text(article), 300);
    let _ = writeln!(
        r,
        "            workaround: (\n                // The article's remedy: \"{}\"\n                text: \"TODO: what to do, in our own words\",\n            ),",
        escape(&remedy)
    );
    write_evidence(
        &mut r,
        &id,
        mention.as_ref().map(|m| m.sentence.as_str()),
        &symptoms,
    );
    let command = mention
        .as_ref()
        .map(|m| {
            std::iter::once(format!("{:?}", m.program))
                .chain(
                    m.switch_sets
                        .iter()
                        .max_by_key(|s| s.len())
                        .into_iter()
                        .flatten()
                        .map(|f| format!("\"/{f}\"")),
                )
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default();
    let _ = write!(
        r,
        "            tests: [\n                (name: \"TODO: the host where it goes wrong\", command: [{command}], expect: triggered),\n                (name: \"TODO: {id}'s own remedy\", command: [{command}], expect: clear, documented_fix: true),\n            ],\n        ),\n    ],\n)\n"
    );

    if existing.is_some() {
        return Draft {
            rule_id,
            rule_file: r,
            record: None,
        };
    }
    Draft {
        rule_id,
        rule_file: r,
        record: Some(record_text(
            article,
            &id,
            &date,
            &products,
            versions.as_deref(),
            &symptoms,
        )),
    }
}

/// The article record's skeleton.
fn record_text(
    article: &Article,
    id: &str,
    date: &str,
    products: &str,
    versions: Option<&str>,
    symptoms: &[String],
) -> String {
    let mut k = String::new();
    let _ = writeln!(
        k,
        "// Draft of the record of {id}, written by `kbguard kb draft`: write the cause and the\n// workaround in your own words."
    );
    k.push_str("KbArticle(\n    schema: 1,\n");
    let _ = writeln!(
        k,
        "    id: {id:?},\n    title: \"{}\",\n    date: {date:?},",
        escape(&article.title)
    );
    if let (Some(first), Some(range)) = (products.lines().next(), versions) {
        let _ = writeln!(
            k,
            "    products: [(name: \"{}\", versions: {range:?})],",
            escape(first.trim())
        );
    }
    write_symptoms(&mut k, symptoms, "    ");
    k.push_str("    cause: \"TODO: the cause, in our own words\",\n    workaround: \"TODO: the workaround, in our own words\",\n)\n");
    k
}

fn write_applies(
    r: &mut String,
    products: &str,
    fact: Option<&str>,
    versions: Option<&str>,
    windows: bool,
) {
    let listed = products
        .lines()
        .map(str::trim)
        .collect::<Vec<_>>()
        .join("; ");
    let _ = writeln!(
        r,
        "            // The article applies to: {}",
        escape(&listed)
    );
    r.push_str("            applies: (\n");
    match (fact, versions) {
        (Some(name), Some(range)) => {
            let _ = writeln!(
                r,
                "                // TODO: check the range: the versions the article names.\n                products: [(name: {name:?}, versions: {range:?})],"
            );
        }
        _ => r.push_str(
            "                // TODO: the product and versions, where a product.NAME.version fact is declared.\n",
        ),
    }
    if windows {
        r.push_str("                os: [windows],\n");
    }
    r.push_str("            ),\n");
}

fn write_symptoms(out: &mut String, symptoms: &[String], indent: &str) {
    if symptoms.is_empty() {
        let _ = writeln!(
            out,
            "{indent}// TODO: the messages the problem shows (the article quotes none)."
        );
        return;
    }
    let _ = writeln!(out, "{indent}symptoms: [");
    for s in symptoms {
        let _ = writeln!(out, "{indent}    (message: {s:?}),");
    }
    let _ = writeln!(out, "{indent}],");
}

fn write_evidence(r: &mut String, id: &str, sentence: Option<&str>, symptoms: &[String]) {
    r.push_str("            evidence: [\n");
    if let Some(sentence) = sentence {
        let quote = first_words(sentence.trim_end_matches('…'), MAX_QUOTE);
        let _ = writeln!(
            r,
            "                (article: {id:?}, quote: {quote:?}, supports: intent),"
        );
    }
    for s in symptoms {
        let quote = first_words(
            &s.split_whitespace().collect::<Vec<_>>().join(" "),
            MAX_QUOTE,
        );
        let _ = writeln!(
            r,
            "                (article: {id:?}, quote: {quote:?}, supports: symptom),"
        );
    }
    r.push_str("                // TODO: a quote for each other claim: applies, when, severity, workaround.\n            ],\n");
}

/// The messages the article quotes in SYMPTOMS, else CAUSE.
fn symptom_messages(article: &Article) -> Vec<String> {
    for want in ["SYMPTOM", "CAUSE"] {
        let found: Vec<String> = article
            .messages
            .iter()
            .filter(|m| m.section.to_ascii_uppercase().contains(want))
            .map(|m| m.text.clone())
            .take(MAX_SYMPTOMS)
            .collect();
        if !found.is_empty() {
            return found;
        }
    }
    Vec::new()
}

/// The article's RESOLUTION or WORKAROUND (else STATUS), whitespace collapsed.
fn remedy_text(article: &Article) -> String {
    ["RESOLUTION", "WORKAROUND", "STATUS"]
        .iter()
        .find_map(|want| {
            article
                .sections
                .iter()
                .find(|s| s.heading.to_ascii_uppercase().contains(want))
        })
        .map(|s| s.text.split_whitespace().collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

/// A declared `product.NAME.version` fact for one of the (non-OS) products named, by the first
/// word of its name that a fact carries (`Microsoft Exchange Server` → `exchange`).
fn product_fact(products: &str, catalogue: &Catalogue) -> Option<String> {
    products
        .lines()
        .filter(|l| !is_operating_system(l))
        .flat_map(|l| l.split(|c: char| !c.is_ascii_alphanumeric()))
        .map(str::to_ascii_lowercase)
        .filter(|w| w.len() > 2 && w != "microsoft")
        .find(|w| catalogue.get(&format!("product.{w}.version")).is_some())
}

/// The versions an article names as a range anyone of them satisfies (`5.0 || 5.5`), when
/// that parses.
fn range_of(versions: &str) -> Option<String> {
    let alternatives: Vec<&str> = versions
        .split(',')
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .collect();
    let range = alternatives.join(" || ");
    (!alternatives.is_empty() && range.parse::<VersionRange>().is_ok()).then_some(range)
}

/// At most `max` characters of `text`, cut at a word.
fn first_words(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let cut: String = text.chars().take(max).collect();
    match cut.rfind(' ') {
        Some(at) => cut[..at].to_string(),
        None => cut,
    }
}

/// Text for inside a RON string literal written between `"`.
fn escape(text: &str) -> String {
    format!("{text:?}").trim_matches('"').to_string()
}
