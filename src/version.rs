//! Dotted versions of any length (`5.5`, `5.5.2653.23`) and ranges over them (`>=5.5, <6`).
//!
//! Owns parsing, total ordering and range membership. `5.5 == 5.5.0`: missing parts are zero.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// A dotted version of any length: `5`, `5.5`, `5.5.2653.23`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Version {
    // INVARIANT: no trailing zero parts, so `5.5` and `5.5.0` have equal `parts` and the derived
    // Eq/Ord/Hash (lexicographic over parts) agree with version semantics.
    parts: Vec<u32>,
}

/// Why a version or range could not be parsed.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum VersionError {
    /// The text was empty.
    #[error("empty version")]
    Empty,
    /// A part was not a number that fits in 32 bits.
    #[error("`{text}` is not a dotted version: part `{part}` is not a number (expected e.g. `5.5` or `5.5.2653.23`)")]
    BadPart {
        /// The whole version text.
        text: String,
        /// The offending part.
        part: String,
    },
    /// A range bound had no version after its operator.
    #[error("`{0}` has an operator but no version after it (expected e.g. `>=5.5`)")]
    MissingVersion(String),
    /// A range had an empty alternative or comparator, as in `>=5.5,` or `a ||`.
    #[error("`{0}` has an empty comparator; write comparators separated by `,` and alternatives by `||`")]
    EmptyComparator(String),
}

impl Version {
    /// Builds a version from its parts; trailing zeros are dropped.
    pub fn from_parts(parts: impl Into<Vec<u32>>) -> Self {
        let mut parts = parts.into();
        while parts.last() == Some(&0) {
            parts.pop();
        }
        Version { parts }
    }

    /// The significant parts (trailing zeros dropped).
    pub fn parts(&self) -> &[u32] {
        &self.parts
    }

    /// Parses the longest leading dotted-number prefix of `text`, as in `6.1.0-13-amd64` → `6.1.0`.
    pub fn parse_prefix(text: &str) -> Option<Version> {
        let end = text
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(text.len());
        text[..end].trim_end_matches('.').parse().ok()
    }

    /// True when `self` starts with all parts of `prefix` (missing parts count as zero).
    fn has_prefix(&self, prefix: &[u32]) -> bool {
        prefix
            .iter()
            .enumerate()
            .all(|(i, p)| self.parts.get(i).copied().unwrap_or(0) == *p)
    }
}

impl FromStr for Version {
    type Err = VersionError;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let trimmed = text.trim();
        if trimmed.is_empty() {
            return Err(VersionError::Empty);
        }
        let parts = trimmed
            .split('.')
            .map(|part| {
                part.parse::<u32>()
                    .ok()
                    .filter(|_| part.bytes().all(|b| b.is_ascii_digit()))
                    .ok_or_else(|| VersionError::BadPart {
                        text: trimmed.to_string(),
                        part: part.to_string(),
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Version::from_parts(parts))
    }
}

impl TryFrom<String> for Version {
    type Error = VersionError;
    fn try_from(text: String) -> Result<Self, Self::Error> {
        text.parse()
    }
}

impl From<Version> for String {
    fn from(v: Version) -> String {
        v.to_string()
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.parts.as_slice() {
            [] => f.write_str("0"),
            [only] => write!(f, "{only}.0"),
            parts => {
                let text: Vec<String> = parts.iter().map(u32::to_string).collect();
                f.write_str(&text.join("."))
            }
        }
    }
}

/// How one comparator relates a version to its bound.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    Exact,
    Greater,
    GreaterEq,
    Less,
    LessEq,
    /// Bare `5.5` or `5.5.*`: every version whose leading parts are these.
    Prefix,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Comparator {
    op: Op,
    // For Prefix the parts as written (trailing zeros kept: `5.0.*` must not mean `5.*`).
    bound: Vec<u32>,
}

impl Comparator {
    fn matches(&self, v: &Version) -> bool {
        let bound = Version::from_parts(self.bound.clone());
        match self.op {
            Op::Exact => *v == bound,
            Op::Greater => *v > bound,
            Op::GreaterEq => *v >= bound,
            Op::Less => *v < bound,
            Op::LessEq => *v <= bound,
            Op::Prefix => v.has_prefix(&self.bound),
        }
    }
}

/// A version range: comparators separated by `,` must all hold; alternatives separated by `||`.
///
/// Comparators: `>=5.5`, `>5.5`, `<6`, `<=5.5.2653`, `=5.5` (exactly 5.5, so also 5.5.0), and a
/// bare `5.5` or `5.5.*`, which means every 5.5 build (`5.5.2653.23` included). `*` is any version.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct VersionRange {
    text: String,
    // INVARIANT: non-empty; each alternative non-empty (`*` is an alternative with no comparators).
    alternatives: Vec<Vec<Comparator>>,
}

impl VersionRange {
    /// True when `v` lies in the range.
    pub fn contains(&self, v: &Version) -> bool {
        self.alternatives
            .iter()
            .any(|alt| alt.iter().all(|c| c.matches(v)))
    }

    /// The range as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The first alternative (as written) that no version satisfies, such as `4.0, 5.0`: its
    /// comparators must all hold, and an author who meant "either" wrote `,` for `||`.
    pub fn unsatisfiable_alternative(&self) -> Option<&str> {
        // INVARIANT: `text` splits on `||` into exactly the parsed alternatives, in order.
        self.text
            .split("||")
            .zip(&self.alternatives)
            .find(|(_, alt)| !Interval::of(alt).is_inhabited())
            .map(|(text, _)| text.trim())
    }
}

/// One end of an interval of versions: the bound and whether it belongs to the interval.
type End = Option<(Version, bool)>;

/// The versions an alternative admits, as an interval (every comparator is one, and
/// intervals intersect into one).
struct Interval {
    low: End,
    high: End,
}

impl Interval {
    fn of(comparators: &[Comparator]) -> Interval {
        let mut interval = Interval {
            low: None,
            high: None,
        };
        for c in comparators {
            let bound = Version::from_parts(c.bound.clone());
            let (low, high) = match c.op {
                Op::Exact => (Some((bound.clone(), true)), Some((bound, true))),
                Op::Greater => (Some((bound, false)), None),
                Op::GreaterEq => (Some((bound, true)), None),
                Op::Less => (None, Some((bound, false))),
                Op::LessEq => (None, Some((bound, true))),
                Op::Prefix => {
                    // `5.5` is [5.5, 5.6); a last part at u32::MAX has no successor.
                    let mut next = c.bound.clone();
                    let high = match next.last_mut().and_then(|n| n.checked_add(1)) {
                        Some(incremented) => {
                            if let Some(last) = next.last_mut() {
                                *last = incremented;
                            }
                            Some((Version::from_parts(next), false))
                        }
                        None => None,
                    };
                    (Some((bound, true)), high)
                }
            };
            interval.raise_low(low);
            interval.lower_high(high);
        }
        interval
    }

    fn raise_low(&mut self, low: End) {
        if let Some((v, inclusive)) = low {
            let tighter = match &self.low {
                None => true,
                Some((current, current_inclusive)) => {
                    v > *current || (v == *current && *current_inclusive && !inclusive)
                }
            };
            if tighter {
                self.low = Some((v, inclusive));
            }
        }
    }

    fn lower_high(&mut self, high: End) {
        if let Some((v, inclusive)) = high {
            let tighter = match &self.high {
                None => true,
                Some((current, current_inclusive)) => {
                    v < *current || (v == *current && *current_inclusive && !inclusive)
                }
            };
            if tighter {
                self.high = Some((v, inclusive));
            }
        }
    }

    /// Some version lies inside. Versions are dense enough (any number of parts) that an
    /// interval with `low < high` always holds one, e.g. `low.0.1`.
    fn is_inhabited(&self) -> bool {
        match (&self.low, &self.high) {
            (Some((low, low_in)), Some((high, high_in))) => {
                low < high || (low == high && *low_in && *high_in)
            }
            _ => true,
        }
    }
}

fn parse_comparator(text: &str) -> Result<Option<Comparator>, VersionError> {
    let text = text.trim();
    if text == "*" {
        return Ok(None);
    }
    let (op, rest) = [
        (">=", Op::GreaterEq),
        ("<=", Op::LessEq),
        ("==", Op::Exact),
        (">", Op::Greater),
        ("<", Op::Less),
        ("=", Op::Exact),
    ]
    .iter()
    .find_map(|(sym, op)| text.strip_prefix(sym).map(|rest| (*op, rest.trim())))
    .unwrap_or((Op::Prefix, text));
    if rest.is_empty() {
        return Err(if op == Op::Prefix {
            VersionError::EmptyComparator(text.to_string())
        } else {
            VersionError::MissingVersion(text.to_string())
        });
    }
    let digits = if op == Op::Prefix {
        rest.strip_suffix(".*")
            .or_else(|| rest.strip_suffix(".x"))
            .unwrap_or(rest)
    } else {
        rest
    };
    // Parse through Version for its error messages, but keep the written parts.
    digits.parse::<Version>()?;
    let bound = digits
        .split('.')
        .map(|p| p.parse::<u32>().unwrap_or(0))
        .collect();
    Ok(Some(Comparator { op, bound }))
}

impl FromStr for VersionRange {
    type Err = VersionError;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if text.trim().is_empty() {
            return Err(VersionError::Empty);
        }
        let alternatives = text
            .split("||")
            .map(|alt| {
                if alt.trim().is_empty() {
                    return Err(VersionError::EmptyComparator(text.to_string()));
                }
                let mut comparators = Vec::new();
                for piece in alt.split(',') {
                    if piece.trim().is_empty() {
                        return Err(VersionError::EmptyComparator(text.to_string()));
                    }
                    comparators.extend(parse_comparator(piece)?);
                }
                Ok(comparators)
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(VersionRange {
            text: text.trim().to_string(),
            alternatives,
        })
    }
}

impl TryFrom<String> for VersionRange {
    type Error = VersionError;
    fn try_from(text: String) -> Result<Self, Self::Error> {
        text.parse()
    }
}

impl From<VersionRange> for String {
    fn from(r: VersionRange) -> String {
        r.text
    }
}

impl fmt::Display for VersionRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_no_version_satisfies_are_named() {
        let dead = |r: &str| {
            r.parse::<VersionRange>()
                .unwrap()
                .unsatisfiable_alternative()
                .map(str::to_string)
        };
        assert_eq!(dead("4.0, 5.0").as_deref(), Some("4.0, 5.0"));
        assert_eq!(dead("5.5 || >=6, <6").as_deref(), Some(">=6, <6"));
        assert_eq!(dead(">5.5, <=5.5").as_deref(), Some(">5.5, <=5.5"));
        assert_eq!(dead("=5.5, 5.6").as_deref(), Some("=5.5, 5.6"));
        for fine in [
            "4.0 || 5.0 || 5.5",
            ">=5.5.2448, <5.5.2650",
            "5.5, <5.5.2653",
            ">=5.5, <=5.5",
            "5.0, >=5.0.1458",
            ">5.5, <5.5.1",
            "*",
            "4294967295",
        ] {
            assert_eq!(dead(fine), None, "{fine}");
        }
    }

    fn v(s: &str) -> Version {
        s.parse().unwrap()
    }
    fn r(s: &str) -> VersionRange {
        s.parse().unwrap()
    }

    #[test]
    fn trailing_zeros_are_equal() {
        assert_eq!(v("5.5"), v("5.5.0"));
        assert_eq!(v("5.5"), v("5.5.0.0"));
        assert!(v("5.5") < v("5.5.1"));
        assert!(v("5.10") > v("5.9"));
        assert!(v("5.5.2653.23") > v("5.5.2653"));
    }

    #[test]
    fn display_keeps_at_least_two_parts() {
        assert_eq!(v("6").to_string(), "6.0");
        assert_eq!(v("5.5.0").to_string(), "5.5");
        assert_eq!(v("5.5.2653.23").to_string(), "5.5.2653.23");
    }

    #[test]
    fn bad_versions_are_rejected_with_the_part() {
        assert_eq!(
            "5.x".parse::<Version>(),
            Err(VersionError::BadPart {
                text: "5.x".into(),
                part: "x".into()
            })
        );
        assert!("".parse::<Version>().is_err());
        assert!("5..5".parse::<Version>().is_err());
        assert!("+5".parse::<Version>().is_err());
        assert!("99999999999".parse::<Version>().is_err());
    }

    #[test]
    fn ranges() {
        let range = r(">=5.5, <6");
        assert!(range.contains(&v("5.5")));
        assert!(range.contains(&v("5.5.2653.23")));
        assert!(!range.contains(&v("6.0")));
        assert!(!range.contains(&v("5.0")));
        assert!(r("5.5").contains(&v("5.5.2653")));
        assert!(!r("5.5").contains(&v("5.6")));
        assert!(r("5.0.*").contains(&v("5.0.1457")));
        assert!(!r("5.0.*").contains(&v("5.5")));
        assert!(r("=5.5").contains(&v("5.5.0")));
        assert!(!r("=5.5").contains(&v("5.5.1")));
        assert!(r("*").contains(&v("1.2")));
        assert!(r("4.0 || >=5.5, <6").contains(&v("4.0.996")));
        assert!(!r("4.0 || >=5.5, <6").contains(&v("5.0")));
    }

    #[test]
    fn bad_ranges() {
        for bad in ["", ">=", ">=5.5,", "5.5 ||", ">=five", "<6, >=x"] {
            assert!(bad.parse::<VersionRange>().is_err(), "{bad:?} parsed");
        }
    }

    #[test]
    fn prefix_parse() {
        assert_eq!(Version::parse_prefix("6.1.0-13-amd64"), Some(v("6.1")));
        assert_eq!(Version::parse_prefix("10.0."), Some(v("10")));
        assert_eq!(Version::parse_prefix("abc"), None);
    }
}
