//! Three-valued logic for conditions whose facts may be unknown.
//!
//! A fact that nothing can determine is `Unknown`, never silently false (strong Kleene logic).

use serde::Serialize;
use std::fmt;

/// True, false, or not determinable from the facts at hand.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Tri {
    /// Definitely false.
    False,
    /// Cannot be decided from the known facts.
    Unknown,
    /// Definitely true.
    True,
}

impl Tri {
    /// Conjunction: false wins over unknown, unknown over true.
    pub fn and(self, other: Tri) -> Tri {
        match (self, other) {
            (Tri::False, _) | (_, Tri::False) => Tri::False,
            (Tri::True, Tri::True) => Tri::True,
            _ => Tri::Unknown,
        }
    }

    /// Disjunction: true wins over unknown, unknown over false.
    pub fn or(self, other: Tri) -> Tri {
        match (self, other) {
            (Tri::True, _) | (_, Tri::True) => Tri::True,
            (Tri::False, Tri::False) => Tri::False,
            _ => Tri::Unknown,
        }
    }

    /// Negation; the negation of unknown is unknown.
    #[allow(clippy::should_implement_trait)]
    pub fn not(self) -> Tri {
        match self {
            Tri::True => Tri::False,
            Tri::False => Tri::True,
            Tri::Unknown => Tri::Unknown,
        }
    }

    /// Conjunction of any number of values; the empty conjunction is true.
    pub fn all(values: impl IntoIterator<Item = Tri>) -> Tri {
        values.into_iter().fold(Tri::True, Tri::and)
    }

    /// Disjunction of any number of values; the empty disjunction is false.
    pub fn any(values: impl IntoIterator<Item = Tri>) -> Tri {
        values.into_iter().fold(Tri::False, Tri::or)
    }
}

impl From<bool> for Tri {
    fn from(b: bool) -> Tri {
        if b {
            Tri::True
        } else {
            Tri::False
        }
    }
}

impl From<Option<bool>> for Tri {
    fn from(b: Option<bool>) -> Tri {
        b.map_or(Tri::Unknown, Tri::from)
    }
}

impl fmt::Display for Tri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Tri::True => "true",
            Tri::False => "false",
            Tri::Unknown => "unknown",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::Tri::{self, False, True, Unknown};

    #[test]
    fn laws() {
        assert_eq!(Unknown.not(), Unknown);
        assert_eq!(Tri::all([True, Unknown, False]), False);
        assert_eq!(Tri::all([True, Unknown]), Unknown);
        assert_eq!(Tri::any([False, Unknown, True]), True);
        assert_eq!(Tri::any([False, Unknown]), Unknown);
        assert_eq!(Tri::all([]), True);
        assert_eq!(Tri::any([]), False);
        for a in [True, False, Unknown] {
            for b in [True, False, Unknown] {
                assert_eq!(a.and(b).not(), a.not().or(b.not()), "De Morgan {a} {b}");
                assert_eq!(a.and(b), b.and(a));
            }
        }
    }
}
