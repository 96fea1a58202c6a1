//! Source files and positions in them: what every located error points at.
//!
//! Lines are 1-based; columns are 1-based and counted in characters, as ron counts them.

use std::fmt;
use std::sync::Arc;

use miette::{NamedSource, SourceSpan};

/// A data file's name (a path, or `embedded:rules/x.ron`) and its text.
#[derive(Clone, Debug)]
pub struct SourceFile {
    /// What to call the file in messages.
    pub name: String,
    /// The whole text.
    pub text: Arc<str>,
}

impl SourceFile {
    /// The location of byte `offset` (clamped to the text).
    pub fn location(&self, offset: usize) -> Location {
        let offset = floor_char_boundary(&self.text, offset.min(self.text.len()));
        let before = &self.text[..offset];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = before[line_start..].chars().count() + 1;
        Location {
            file: self.name.clone(),
            line,
            column,
            offset,
        }
    }

    /// The byte offset of a 1-based line and character column (clamped to the text).
    pub fn offset_of(&self, line: usize, column: usize) -> usize {
        let mut offset = 0;
        for _ in 1..line {
            match self.text[offset..].find('\n') {
                Some(i) => offset += i + 1,
                None => return self.text.len(),
            }
        }
        let rest = &self.text[offset..];
        let line_end = rest.find('\n').unwrap_or(rest.len());
        offset
            + rest[..line_end]
                .char_indices()
                .nth(column.saturating_sub(1))
                .map_or(line_end, |(i, _)| i)
    }

    /// The byte offset of the first occurrence of `needle` at or after byte `from`, if any.
    pub fn find_offset(&self, from: usize, needle: &str) -> Option<usize> {
        self.find_offset_before(from, self.text.len(), needle)
    }

    /// The byte offset of the first occurrence of `needle` that starts at or after `from` and
    /// ends by `to`, if any.
    pub fn find_offset_before(&self, from: usize, to: usize, needle: &str) -> Option<usize> {
        let to = floor_char_boundary(&self.text, to.min(self.text.len()));
        let from = floor_char_boundary(&self.text, from.min(to));
        self.text[from..to].find(needle).map(|i| from + i)
    }

    /// The location of the first occurrence of `needle` at or after byte `from`, if any.
    pub fn find(&self, from: usize, needle: &str) -> Option<Location> {
        self.find_offset(from, needle)
            .map(|offset| self.location(offset))
    }

    /// The miette source for a snippet of this file.
    pub fn named_source(&self) -> NamedSource<Arc<str>> {
        NamedSource::new(&self.name, Arc::clone(&self.text))
    }
}

fn floor_char_boundary(text: &str, mut offset: usize) -> usize {
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

/// A position in a source file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Location {
    /// The file's name.
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
    /// Byte offset in the file.
    pub offset: usize,
}

impl Location {
    /// A zero-length miette span at this location.
    pub fn span(&self) -> SourceSpan {
        SourceSpan::from((self.offset, 0))
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.column)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_and_locations_round_trip() {
        let file = SourceFile {
            name: "x.ron".into(),
            text: "ab\nçd\n\nef".into(),
        };
        for (line, column) in [(1, 1), (1, 3), (2, 2), (3, 1), (4, 2)] {
            let offset = file.offset_of(line, column);
            let loc = file.location(offset);
            assert_eq!((loc.line, loc.column), (line, column));
        }
        assert_eq!(file.find(0, "ef").unwrap().to_string(), "x.ron:4:1");
        assert_eq!(file.offset_of(99, 1), file.text.len());
    }
}
