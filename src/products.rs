//! Products and versions: what an article says it applies to, and what a host runs.
//!
//! An article names its products in its "applies to" list ("Microsoft Exchange Server, version
//! 5.5") and its header (PRODUCT, PROD/VER). A product asked for (`lookup --product exchange
//! --version 5.5`) or read from a host's facts (`product.exchange.version`, `os.family` and
//! `os.version`) matches an entry when the entry holds every word of its name and, when a
//! version is asked for, that version.

use serde::Serialize;

use crate::facts::FactSet;
use crate::model::FactValue;

/// A product to match articles against.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ProductQuery {
    /// Its name, lowercased words (`["windows", "nt"]`).
    pub words: Vec<String>,
    /// A version (`5.5`, `5.5.2653`), when one is asked for.
    pub version: Option<String>,
}

impl ProductQuery {
    /// `name` (e.g. "Exchange", "Windows NT") and an optional version.
    pub fn new(name: &str, version: Option<&str>) -> ProductQuery {
        ProductQuery {
            words: words(name),
            version: version
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty()),
        }
    }

    /// Whether an article with these products (one per line) and versions applies.
    pub fn matches(&self, products: &str, versions: &str) -> bool {
        if self.words.is_empty() {
            return false;
        }
        products.lines().any(|entry| {
            let entry_words = words(entry);
            let named = self.words.iter().all(|w| entry_words.contains(w));
            named
                && self.version.as_deref().is_none_or(|want| {
                    let mut found = version_tokens(entry);
                    if found.is_empty() {
                        // "applies to" names no version here: the header's versions count.
                        found = versions
                            .split(',')
                            .map(str::trim)
                            .map(String::from)
                            .collect();
                    }
                    found.iter().any(|v| same_version(v, want))
                })
        })
    }
}

impl std::fmt::Display for ProductQuery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.words.join(" "))?;
        if let Some(v) = &self.version {
            write!(f, " {v}")?;
        }
        Ok(())
    }
}

fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// Version-like tokens of a text: `5.5`, `4.0`, `3.1`, `6.0a`.
fn version_tokens(text: &str) -> Vec<String> {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '.'))
        .map(|t| t.trim_end_matches('.'))
        .filter(|t| t.contains('.') && t.starts_with(|c: char| c.is_ascii_digit()))
        .map(str::to_string)
        .collect()
}

/// `5.5` is the same version as `5.5.2653` (one names the other's line), and as `5.50`.
fn same_version(have: &str, want: &str) -> bool {
    let norm = |v: &str| {
        v.trim_end_matches(|c: char| c.is_ascii_alphabetic())
            .to_string()
    };
    let (have, want) = (norm(have), norm(want));
    if have.is_empty() || want.is_empty() {
        return false;
    }
    have == want
        || want.starts_with(&format!("{have}."))
        || have.starts_with(&format!("{want}."))
        || have.trim_end_matches('0') == want.trim_end_matches('0') && have.contains('.')
}

/// The products an article applies to, one per line: its "applies to" list, else its PRODUCT.
pub fn article_products(applies_to: &[String], product: &str) -> String {
    if applies_to.is_empty() {
        product.trim().to_string()
    } else {
        applies_to.join("\n")
    }
}

/// The versions an article names, comma-separated, first seen first: from its "applies to"
/// list, then PROD/VER (`winnt:4.0`, `WINDOWS:3.1,3.11`).
pub fn article_versions(applies_to: &[String], prod_ver: &str) -> String {
    let mut out: Vec<String> = Vec::new();
    let from_header = prod_ver
        .split(';')
        .filter_map(|part| part.rsplit(':').next())
        .flat_map(|v| v.split(','))
        .map(|v| v.trim().to_string())
        .filter(|v| v.starts_with(|c: char| c.is_ascii_digit()));
    for v in applies_to
        .iter()
        .flat_map(|e| version_tokens(e))
        .chain(from_header)
    {
        if !out.contains(&v) {
            out.push(v);
        }
    }
    out.join(", ")
}

/// The products a host's facts say it runs: each `product.NAME.version`, and Windows by
/// `os.family` and `os.version` (4.0 is Windows NT 4.0, 5.0 Windows 2000, 5.1 Windows XP, 5.2
/// Windows Server 2003).
pub fn host_products(facts: &FactSet) -> Vec<ProductQuery> {
    let mut out = Vec::new();
    for (name, fact) in facts.iter() {
        let Some(product) = name
            .strip_prefix("product.")
            .and_then(|n| n.strip_suffix(".version"))
        else {
            continue;
        };
        let version = match &fact.value {
            FactValue::Version(v) => Some(major_minor(&v.to_string())),
            FactValue::Str(s) => Some(major_minor(s)),
            _ => None,
        };
        out.push(ProductQuery::new(
            &product.replace(['_', '-'], " "),
            version.as_deref(),
        ));
    }
    let family = facts.get("os.family").map(|f| &f.value);
    if family == Some(&FactValue::Str("windows".into())) {
        let version = facts.get("os.version").map(|f| match &f.value {
            FactValue::Version(v) => major_minor(&v.to_string()),
            other => major_minor(&other.to_string()),
        });
        out.push(match version.as_deref() {
            Some("5.0") => ProductQuery::new("Windows 2000", None),
            Some("5.1") => ProductQuery::new("Windows XP", None),
            Some("5.2") => ProductQuery::new("Windows Server 2003", None),
            Some(v) => ProductQuery::new("Windows NT", Some(v)),
            None => ProductQuery::new("Windows", None),
        });
    }
    out
}

/// `5.5.2653.23` → `5.5`.
/// Operating systems, as articles name them, lower case.
const OPERATING_SYSTEMS: &[&str] = &[
    "ms-dos",
    "disk operating system",
    "windows 3.",
    "windows for workgroups",
    "windows 95",
    "windows 98",
    "windows me",
    "windows millennium",
    "windows nt",
    "windows 2000",
    "windows xp",
    "windows server 2003",
    "windows ce",
    "os/2",
    "macintosh",
    "mac os",
];

/// Whether an "applies to" entry is an operating system itself ("Microsoft Windows NT Server
/// 4.0", "MS-DOS 6.22"), not a product that runs on one ("Exchange Server 5.5 for Windows NT").
pub fn is_operating_system(entry: &str) -> bool {
    let lower = entry.to_lowercase();
    OPERATING_SYSTEMS.iter().any(|os| {
        lower.find(os).is_some_and(|at| {
            let before = lower[..at].trim();
            before.is_empty() || before == "microsoft"
        })
    })
}

/// Whether an article applies to the host its facts describe: `Some(true)` when it names one of
/// the host's products (as [`host_products`] reads them); `Some(false)` when the host is
/// Windows and the article names only other operating systems (an MS-DOS article on a Windows
/// 2000 host), or names a product the host runs in another version;
/// `None` when the facts cannot say.
pub fn applies_to_host(products: &str, versions: &str, host: &FactSet) -> Option<bool> {
    let asked = host_products(host);
    if asked.iter().any(|q| q.matches(products, versions)) {
        return Some(true);
    }
    let entries: Vec<&str> = products.lines().filter(|l| !l.trim().is_empty()).collect();
    // On Windows the host's version tells its system from MS-DOS, Windows 95 or NT 3.51. On
    // another system kbguard checks a command for a Windows host it knows nothing of, and
    // judges no article by operating system.
    let only_os = !entries.is_empty() && entries.iter().all(|e| is_operating_system(e));
    let windows = host
        .get("os.family")
        .is_some_and(|f| f.value.to_string() == "windows");
    if only_os && windows {
        return Some(false);
    }
    // Operating systems were judged above, where only they are named.
    let other_version = asked.iter().any(|q| {
        q.version.is_some()
            && !is_operating_system(&q.to_string())
            && ProductQuery {
                version: None,
                ..q.clone()
            }
            .matches(products, versions)
    });
    if other_version {
        return Some(false);
    }
    None
}

fn major_minor(version: &str) -> String {
    version.split('.').take(2).collect::<Vec<_>>().join(".")
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXCHANGE: &str = "Microsoft Exchange Server, version 5.5";

    #[test]
    fn names_and_versions_match_entries() {
        let q = ProductQuery::new("exchange", Some("5.5.2653"));
        assert!(q.matches(EXCHANGE, "5.5"));
        assert!(!ProductQuery::new("exchange", Some("5.0")).matches(EXCHANGE, "5.5"));
        assert!(ProductQuery::new("Exchange Server", None).matches(EXCHANGE, ""));
        assert!(!ProductQuery::new("windows nt", None).matches(EXCHANGE, ""));
        let nt = "Microsoft Windows NT Workstation versions 3.51 and 4.0";
        assert!(ProductQuery::new("windows nt", Some("4.0")).matches(nt, ""));
        assert!(!ProductQuery::new("windows nt", Some("3.5")).matches(nt, ""));
        // No version in the entry: the header's count.
        assert!(ProductQuery::new("exchange", Some("5.5")).matches("Microsoft Exchange", "5.5"));
    }

    #[test]
    fn versions_come_from_applies_to_then_the_header() {
        assert_eq!(
            article_versions(&[EXCHANGE.into()], "winnt:4.0; WINDOWS:3.1,3.11"),
            "5.5, 4.0, 3.1, 3.11"
        );
        assert_eq!(
            article_products(&[], " Microsoft Exchange "),
            "Microsoft Exchange"
        );
    }

    #[test]
    fn articles_are_judged_against_the_hosts_system_and_products() {
        use crate::facts::{Fact, FactSource};
        let host = |sets: &[(&str, FactValue)]| {
            let mut f = FactSet::remote();
            for (n, v) in sets {
                f.insert(
                    n,
                    Fact {
                        value: v.clone(),
                        source: FactSource::CommandLine,
                    },
                );
            }
            f
        };
        let w2k = host(&[
            ("os.family", FactValue::Str("windows".into())),
            ("os.version", FactValue::Version("5.0".parse().unwrap())),
        ]);
        let dos = "Microsoft MS-DOS operating system 6.22";
        assert_eq!(applies_to_host(dos, "6.22", &w2k), Some(false));
        assert_eq!(
            applies_to_host("Microsoft Windows 2000 Server", "", &w2k),
            Some(true)
        );
        // A product on the system is not the system; the facts cannot judge it.
        assert_eq!(applies_to_host(EXCHANGE, "5.5", &w2k), None);
        // Nothing known about the host: nothing judged.
        assert_eq!(applies_to_host(dos, "6.22", &FactSet::remote()), None);
        // A product the host runs, in another version.
        let ex4 = host(&[(
            "product.exchange.version",
            FactValue::Version("4.0.837".parse().unwrap()),
        )]);
        assert_eq!(applies_to_host(EXCHANGE, "5.5", &ex4), Some(false));
        assert!(is_operating_system("Microsoft Windows NT Server 4.0"));
        assert!(!is_operating_system(
            "Microsoft Exchange Server 5.5 for Windows NT"
        ));
    }
}
