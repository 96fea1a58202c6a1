//! Outputs for CI pipelines: rule test results as JUnit XML (`kbguard test --junit FILE`) and a
//! check as SARIF 2.1.0 (`kbguard check --sarif`), the formats build servers and code-scanning
//! dashboards read.
//!
//! Owns only the translation; the values are the library's own (test results, a preflight and
//! its advisories).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use crate::advisories::Advisories;
use crate::eval::Outcome;
use crate::model::Severity;
use crate::preflight::Preflight;
use crate::testing::CaseResult;

/// Test results as JUnit XML: one `testsuite` per rule, one `testcase` per case, a `failure`
/// for each case whose outcome is not the expected one (or that could not run).
pub fn junit(results: &[CaseResult], hostname: &str) -> String {
    let mut suites: BTreeMap<&str, Vec<&CaseResult>> = BTreeMap::new();
    for r in results {
        suites.entry(r.rule.as_str()).or_default().push(r);
    }
    let failures = results.iter().filter(|r| !r.passed()).count();
    let mut x = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        x,
        "<testsuites name=\"kbguard\" tests=\"{}\" failures=\"{failures}\" errors=\"0\">",
        results.len()
    );
    for (rule, cases) in suites {
        let failed = cases.iter().filter(|r| !r.passed()).count();
        let _ = writeln!(
            x,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failed}\" errors=\"0\" skipped=\"0\" hostname=\"{}\">",
            xml(rule),
            cases.len(),
            xml(hostname)
        );
        for r in cases {
            let _ = write!(
                x,
                "    <testcase classname=\"{}\" name=\"{}\"",
                xml(rule),
                xml(&r.case)
            );
            if r.passed() {
                x.push_str("/>\n");
                continue;
            }
            let message = match (&r.actual, &r.error) {
                (Some(actual), _) => format!("expected {}, got {actual}", r.expected),
                (None, why) => why.clone().unwrap_or_else(|| "not evaluated".into()),
            };
            let _ = writeln!(
                x,
                ">\n      <failure type=\"outcome\" message=\"{}\">{}</failure>\n    </testcase>",
                xml(&message),
                xml(&r.location)
            );
        }
        x.push_str("  </testsuite>\n");
    }
    x.push_str("</testsuites>\n");
    x
}

/// Text for an XML attribute or element.
fn xml(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Characters XML 1.0 cannot hold at all are dropped.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => {}
            c => out.push(c),
        }
    }
    out
}

/// A SARIF 2.1.0 log.
#[derive(Debug, Serialize)]
pub struct Sarif {
    /// The schema.
    #[serde(rename = "$schema")]
    pub schema: &'static str,
    /// `2.1.0`.
    pub version: &'static str,
    /// One run: this check.
    pub runs: Vec<SarifRun>,
}

/// One run of kbguard.
#[derive(Debug, Serialize)]
pub struct SarifRun {
    /// kbguard and the rules it reported on.
    pub tool: SarifTool,
    /// The findings.
    pub results: Vec<SarifResult>,
}

/// The tool.
#[derive(Debug, Serialize)]
pub struct SarifTool {
    /// kbguard.
    pub driver: SarifDriver,
}

/// kbguard, and each rule (curated or archive article) a result names.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SarifDriver {
    /// `kbguard`.
    pub name: &'static str,
    /// Its version.
    pub version: &'static str,
    /// The rules the results refer to.
    pub rules: Vec<SarifRule>,
}

/// A rule: a curated rule, or an archive article behind an advisory.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SarifRule {
    /// Its id (`exchange.isinteg-patch-cluster-network-name`, `archive.Q299671`).
    pub id: String,
    /// What goes wrong.
    pub short_description: SarifText,
    /// The KB articles it cites.
    pub properties: BTreeMap<&'static str, serde_json::Value>,
}

/// A text.
#[derive(Debug, Serialize)]
pub struct SarifText {
    /// The text.
    pub text: String,
}

/// One finding.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SarifResult {
    /// The rule's id.
    pub rule_id: String,
    /// Its index in the driver's rules.
    pub rule_index: usize,
    /// `fail` for a triggered rule, `open` for one the facts cannot decide, `informational`
    /// for an archive advisory.
    pub kind: &'static str,
    /// `error` (block), `warning` (warn), `note` (info, advisory); `none` for open results.
    pub level: &'static str,
    /// What was found and what to do.
    pub message: SarifText,
    /// The command it concerns, the facts that would decide it, whether it is curated.
    pub properties: BTreeMap<&'static str, serde_json::Value>,
}

/// A check and its advisories as a SARIF log.
pub fn sarif(checked: &Preflight, advisories: &Advisories) -> Sarif {
    let mut rules: Vec<SarifRule> = Vec::new();
    let mut index: BTreeMap<String, usize> = BTreeMap::new();
    let mut rule_index = |id: &str, title: &str, kb: serde_json::Value| -> usize {
        *index.entry(id.to_string()).or_insert_with(|| {
            rules.push(SarifRule {
                id: id.to_string(),
                short_description: SarifText {
                    text: title.to_string(),
                },
                properties: BTreeMap::from([("kb", kb)]),
            });
            rules.len() - 1
        })
    };
    let mut results = Vec::new();
    for c in &checked.commands {
        for e in c.report.findings() {
            let (kind, level) = match (e.outcome, e.severity) {
                (Outcome::Triggered, Severity::Block) => ("fail", "error"),
                (Outcome::Triggered, Severity::Warn) => ("fail", "warning"),
                (Outcome::Triggered, Severity::Info) => ("fail", "note"),
                _ => ("open", "none"),
            };
            let text = match e.outcome {
                Outcome::Triggered => format!("{}. Workaround: {}", e.title, e.workaround.text),
                _ => format!(
                    "{} (undecided: give {})",
                    e.title,
                    e.deciding_facts
                        .iter()
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            };
            results.push(SarifResult {
                rule_index: rule_index(&e.rule, &e.title, serde_json::json!(e.kb)),
                rule_id: e.rule.to_string(),
                kind,
                level,
                message: SarifText { text },
                properties: BTreeMap::from([
                    ("command", serde_json::json!(c.planned.argv)),
                    ("severity", serde_json::json!(e.severity)),
                    ("decidingFacts", serde_json::json!(e.deciding_facts)),
                    ("curated", serde_json::json!(true)),
                ]),
            });
        }
    }
    for a in &advisories.list {
        let id = format!("archive.{}", a.id);
        results.push(SarifResult {
            rule_index: rule_index(&id, &a.title, serde_json::json!([a.id])),
            rule_id: id,
            kind: "informational",
            level: "note",
            message: SarifText {
                text: format!("{} ({}). Remedy: {}", a.title, a.why, a.remedy),
            },
            properties: BTreeMap::from([
                ("applies", serde_json::json!(a.applies)),
                ("curated", serde_json::json!(false)),
            ]),
        });
    }
    Sarif {
        schema: "https://json.schemastore.org/sarif-2.1.0.json",
        version: "2.1.0",
        runs: vec![SarifRun {
            tool: SarifTool {
                driver: SarifDriver {
                    name: "kbguard",
                    version: env!("CARGO_PKG_VERSION"),
                    rules,
                },
            },
            results,
        }],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xml_text_is_escaped_and_control_characters_dropped() {
        assert_eq!(xml("a<b & \"c\"\u{1}"), "a&lt;b &amp; &quot;c&quot;");
    }
}
