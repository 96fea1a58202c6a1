//! `table.bin`: the archive's articles and quoted messages, laid out to open without parsing.
//!
//! Layout (little-endian): magic, article count, message count, an offset per article, an
//! offset per message, then the records. An article record is seven strings (id, title, tag,
//! relative path, date, the products it applies to one per line, its versions comma-separated);
//! a message record is its article's index, the section quoting it, its text, its total token
//! weight, and one weight per non-blank line. Strings are a u16 length and UTF-8 bytes. Opening
//! reads the file and checks the header; records are decoded when asked for, and a damaged one
//! reads as absent rather than failing the lookup.

use tantivy::directory::OwnedBytes;

use crate::corpus::{ArticleRecord, MessageView};

/// The layout's name and version: a table of another version is refused, not misread.
pub(super) const MAGIC: &[u8; 8] = b"KBGTBL03";
const HEADER: usize = 16;

/// Builds a table.
#[derive(Default)]
pub(super) struct TableWriter {
    // `None` for an offset past what the layout's u32 can hold: `finish` then fails.
    article_offsets: Vec<Option<u32>>,
    message_offsets: Vec<Option<u32>>,
    records: Vec<u8>,
}

fn put_str(buf: &mut Vec<u8>, s: &str) {
    let mut end = s.len().min(usize::from(u16::MAX));
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    buf.extend_from_slice(&u16::try_from(end).unwrap_or(u16::MAX).to_le_bytes());
    buf.extend_from_slice(&s.as_bytes()[..end]);
}

/// A record offset or count as the layout stores it; `None` past 4 GiB.
fn u32_of(n: usize) -> Option<u32> {
    u32::try_from(n).ok()
}

impl TableWriter {
    /// Adds an article; articles are numbered in the order added.
    pub(super) fn article(&mut self, a: &ArticleRecord) {
        self.article_offsets.push(u32_of(self.records.len()));
        for s in [
            &a.id,
            &a.title,
            &a.tag,
            &a.relpath,
            &a.date,
            &a.products,
            &a.versions,
        ] {
            put_str(&mut self.records, s);
        }
    }

    /// Adds a message of article `article`, quoted in `section`; messages are numbered in the
    /// order added.
    pub(super) fn message(
        &mut self,
        article: usize,
        section: &str,
        text: &str,
        total: f32,
        lines: &[f32],
    ) {
        self.message_offsets.push(u32_of(self.records.len()));
        let article = u32_of(article).unwrap_or(u32::MAX);
        self.records.extend_from_slice(&article.to_le_bytes());
        put_str(&mut self.records, section);
        put_str(&mut self.records, text);
        self.records.extend_from_slice(&total.to_le_bytes());
        let lines = &lines[..lines.len().min(usize::from(u16::MAX))];
        self.records
            .extend_from_slice(&u16::try_from(lines.len()).unwrap_or(u16::MAX).to_le_bytes());
        for w in lines {
            self.records.extend_from_slice(&w.to_le_bytes());
        }
    }

    /// The file's bytes; `None` when the archive is too large for the layout's u32 offsets.
    pub(super) fn finish(self) -> Option<Vec<u8>> {
        let index_len = 4 * (self.article_offsets.len() + self.message_offsets.len());
        let mut out = Vec::with_capacity(HEADER + index_len + self.records.len());
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&u32_of(self.article_offsets.len())?.to_le_bytes());
        out.extend_from_slice(&u32_of(self.message_offsets.len())?.to_le_bytes());
        for offset in self.article_offsets.iter().chain(&self.message_offsets) {
            out.extend_from_slice(&(*offset)?.to_le_bytes());
        }
        u32_of(self.records.len())?;
        out.extend_from_slice(&self.records);
        Some(out)
    }
}

/// An opened table.
pub struct Table {
    bytes: OwnedBytes,
    articles: usize,
    messages: usize,
}

struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let slice = self.bytes.get(self.pos..self.pos.checked_add(n)?)?;
        self.pos += n;
        Some(slice)
    }
    fn u16(&mut self) -> Option<u16> {
        Some(u16::from_le_bytes(self.take(2)?.try_into().ok()?))
    }
    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?))
    }
    fn f32(&mut self) -> Option<f32> {
        Some(f32::from_le_bytes(self.take(4)?.try_into().ok()?))
    }
    fn str(&mut self) -> Option<&'a str> {
        let len = usize::from(self.u16()?);
        std::str::from_utf8(self.take(len)?).ok()
    }
}

impl Table {
    /// Opens a table from its bytes (a memory map of the file, or bytes in memory); `None` when
    /// the header or offsets are damaged.
    pub fn from_bytes(bytes: OwnedBytes) -> Option<Table> {
        let mut c = Cursor {
            bytes: &bytes,
            pos: 0,
        };
        if c.take(8)? != MAGIC {
            return None;
        }
        let articles = c.u32()? as usize;
        let messages = c.u32()? as usize;
        let index_end = HEADER.checked_add(articles.checked_add(messages)?.checked_mul(4)?)?;
        if index_end > bytes.len() {
            return None;
        }
        Some(Table {
            bytes,
            articles,
            messages,
        })
    }

    /// Number of articles.
    pub fn article_count(&self) -> usize {
        self.articles
    }

    /// Number of messages.
    pub fn message_count(&self) -> usize {
        self.messages
    }

    fn record(&self, slot: usize) -> Option<Cursor<'_>> {
        let at = HEADER + 4 * slot;
        let offset = u32::from_le_bytes(self.bytes.get(at..at + 4)?.try_into().ok()?) as usize;
        let records = HEADER + 4 * (self.articles + self.messages);
        Some(Cursor {
            bytes: &self.bytes,
            pos: records.checked_add(offset)?,
        })
    }

    /// Article `i`.
    pub fn article(&self, i: usize) -> Option<ArticleRecord> {
        if i >= self.articles {
            return None;
        }
        let mut c = self.record(i)?;
        Some(ArticleRecord {
            id: c.str()?.to_string(),
            title: c.str()?.to_string(),
            tag: c.str()?.to_string(),
            relpath: c.str()?.to_string(),
            date: c.str()?.to_string(),
            products: c.str()?.to_string(),
            versions: c.str()?.to_string(),
        })
    }

    /// Message `i`.
    pub fn message(&self, i: usize) -> Option<MessageView<'_>> {
        if i >= self.messages {
            return None;
        }
        let mut c = self.record(self.articles + i)?;
        let article = c.u32()?;
        let section = c.str()?;
        let text = c.str()?;
        let total = c.f32()?;
        let count = usize::from(c.u16()?);
        let lines = (0..count).map(|_| c.f32()).collect::<Option<Vec<f32>>>()?;
        Some(MessageView {
            article,
            section,
            text,
            total,
            lines,
        })
    }

    /// The article with this id (case-insensitive), by a scan: for `kb show`, not for lookup.
    pub fn find(&self, id: &str) -> Option<ArticleRecord> {
        (0..self.articles)
            .filter_map(|i| self.article(i))
            .find(|a| a.id.eq_ignore_ascii_case(id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_damage() {
        let mut w = TableWriter::default();
        let record = |id: &str, title: &str| ArticleRecord {
            id: id.into(),
            title: title.into(),
            products: "Widget Server, version 2.0".into(),
            versions: "2.0".into(),
            ..ArticleRecord::default()
        };
        w.article(&record("Q1", "One"));
        w.article(&record("Q2", "Two \u{e9}"));
        w.message(1, "CAUSE", "line one\nline two", 3.5, &[1.5, 2.0]);
        let bytes = w.finish().unwrap();
        let table = Table::from_bytes(OwnedBytes::new(bytes.clone())).unwrap();
        assert_eq!(table.article_count(), 2);
        assert_eq!(table.article(1).unwrap(), record("Q2", "Two \u{e9}"));
        assert_eq!(table.find("q2").unwrap().id, "Q2");
        let m = table.message(0).unwrap();
        assert_eq!(
            (m.article, m.section, m.text, m.total, m.lines.as_slice()),
            (1, "CAUSE", "line one\nline two", 3.5, &[1.5, 2.0][..])
        );
        assert!(table.message(1).is_none());
        // Truncated records read as absent; a truncated header does not open.
        let cut = Table::from_bytes(OwnedBytes::new(bytes[..bytes.len() - 6].to_vec())).unwrap();
        assert!(cut.message(0).is_none());
        assert!(Table::from_bytes(OwnedBytes::new(bytes[..10].to_vec())).is_none());
        assert!(Table::from_bytes(OwnedBytes::new(b"garbage garbage garbage".to_vec())).is_none());
    }
}
