//! The command index of a generation: for each program, the articles that say running it goes
//! wrong (`commands.idx`: the programs, sorted, with where their entries are; `commands.dat`:
//! the entries, one postcard block per program). A check reads the index and one program's
//! block, never the tantivy index, so advisories cost a few milliseconds.

use std::collections::BTreeMap;
use std::fs;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{io_err, write_durably, ArchiveError};
use crate::mentions::Mention;

const INDEX: &str = "commands.idx";
const DATA: &str = "commands.dat";

/// A program's block is refused past this size: no program is mentioned that often.
const MAX_BLOCK: u64 = 64 << 20;

/// One article that says running a program goes wrong.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommandEntry {
    /// The article's number in the table.
    pub aid: u32,
    /// What it says, and where.
    pub mention: Mention,
    /// The start of its RESOLUTION or WORKAROUND (else STATUS), whitespace collapsed.
    pub remedy: String,
}

/// Writes the command index of a generation.
pub(super) fn write(
    generation: &Path,
    entries: BTreeMap<String, Vec<CommandEntry>>,
) -> Result<(), ArchiveError> {
    let mut data = Vec::new();
    let mut index: Vec<(String, u64, u64)> = Vec::with_capacity(entries.len());
    for (program, list) in entries {
        let block = postcard::to_stdvec(&list).map_err(|e| ArchiveError::Io {
            path: generation.join(DATA).display().to_string(),
            reason: e.to_string(),
        })?;
        let start = data.len() as u64;
        data.extend_from_slice(&block);
        index.push((program, start, block.len() as u64));
    }
    let index = postcard::to_stdvec(&index).map_err(|e| ArchiveError::Io {
        path: generation.join(INDEX).display().to_string(),
        reason: e.to_string(),
    })?;
    write_durably(&generation.join(DATA), &data)?;
    write_durably(&generation.join(INDEX), &index)
}

/// The command index of an open generation.
#[derive(Debug)]
pub struct Commands {
    data: PathBuf,
    index: Vec<(String, u64, u64)>,
}

impl Commands {
    /// Opens the command index of `generation`.
    pub fn open(generation: &Path) -> Result<Commands, ArchiveError> {
        let path = generation.join(INDEX);
        let bytes = fs::read(&path).map_err(io_err(&path))?;
        let index = postcard::from_bytes(&bytes).map_err(|e| ArchiveError::Corrupt {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
        Ok(Commands {
            data: generation.join(DATA),
            index,
        })
    }

    /// The articles that say running `program` (normalised) goes wrong.
    pub fn entries(&self, program: &str) -> Result<Vec<CommandEntry>, ArchiveError> {
        let Ok(at) = self
            .index
            .binary_search_by(|(p, _, _)| p.as_str().cmp(program))
        else {
            return Ok(Vec::new());
        };
        let (_, start, len) = &self.index[at];
        let corrupt = |reason: String| ArchiveError::Corrupt {
            path: self.data.display().to_string(),
            reason,
        };
        if *len > MAX_BLOCK {
            return Err(corrupt(format!("a block of {len} bytes")));
        }
        let mut file = fs::File::open(&self.data).map_err(io_err(&self.data))?;
        file.seek(SeekFrom::Start(*start))
            .map_err(io_err(&self.data))?;
        let mut block = vec![0; usize::try_from(*len).map_err(|e| corrupt(e.to_string()))?];
        file.read_exact(&mut block).map_err(io_err(&self.data))?;
        postcard::from_bytes(&block).map_err(|e| corrupt(e.to_string()))
    }

    /// How many programs the index knows.
    pub fn len(&self) -> usize {
        self.index.len()
    }

    /// Whether it knows none.
    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }
}
