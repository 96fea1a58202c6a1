//! Loading: data files (embedded, files, directories) → typed rules, fact declarations and
//! article records, each remembering where it was written.
//!
//! Owns reading, RON parsing and schema checks. Every error carries its file and, where the text
//! was read, line and column. Loading goes on past a bad file so `lint` can report them all;
//! callers that must fail closed check [`Loaded::errors`].

use std::path::{Path, PathBuf};
use std::sync::Arc;

use miette::{Diagnostic, NamedSource, SourceSpan};
use ron::extensions::Extensions;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::model::{DataFile, FactDecl, KbArticle, Rule, ServicePackBuild, SUPPORTED_SCHEMAS};
use crate::span::{Location, SourceFile};

include!(concat!(env!("OUT_DIR"), "/embedded.rs"));

/// Files larger than this are refused before parsing: no real rule file comes near it.
pub const MAX_FILE_BYTES: u64 = 16 * 1024 * 1024;

/// Where data files come from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    /// The rules and records compiled into kbguard.
    Embedded,
    /// A `.ron` file, or a directory searched recursively for `.ron` files.
    Path(PathBuf),
}

/// Something that stopped a file from loading.
#[derive(Debug, Error, Diagnostic)]
pub enum LoadError {
    /// The file or directory could not be read.
    #[error("{path}: error: {reason}")]
    #[diagnostic(code(kbguard::load::io))]
    Io {
        /// The path.
        path: String,
        /// What went wrong.
        reason: String,
    },
    /// The file is not valid UTF-8.
    #[error("{location}: error: not valid UTF-8 text")]
    #[diagnostic(
        code(kbguard::load::utf8),
        help("rule files are UTF-8 RON; re-save the file as UTF-8")
    )]
    NotUtf8 {
        /// Where the first invalid byte is.
        location: Location,
    },
    /// The file is larger than [`MAX_FILE_BYTES`].
    #[error("{path}: error: {size} bytes is larger than the {max} bytes a data file may have")]
    #[diagnostic(
        code(kbguard::load::too_large),
        help("split the rules over several files")
    )]
    TooLarge {
        /// The path.
        path: String,
        /// Its size.
        size: u64,
        /// The limit.
        max: u64,
    },
    /// The RON text does not parse into a rule file or article record. Its text leaves the
    /// location out: the snippet shows it, and a plain rendering puts it first (see
    /// [`LoadError::snippet_location`]).
    #[error("error: {message}")]
    #[diagnostic(code(kbguard::load::syntax))]
    Syntax {
        /// Where the parser stopped.
        location: Location,
        /// The parser's message.
        message: String,
        /// The file, for the snippet.
        #[source_code]
        source_code: NamedSource<Arc<str>>,
        /// The offending spot.
        #[label("here")]
        span: SourceSpan,
        /// What to do about it.
        #[help]
        help: Option<String>,
    },
    /// The file declares a format version this kbguard does not read.
    #[error(
        "{location}: error: unsupported schema {found}; this kbguard reads schema {supported}"
    )]
    #[diagnostic(
        code(kbguard::load::schema),
        help("upgrade kbguard, or rewrite the file in a supported schema (see docs/rules.md)")
    )]
    Schema {
        /// Where `schema` is written.
        location: Location,
        /// The version found.
        found: u32,
        /// The versions supported, e.g. `1`.
        supported: String,
        /// The file, for the snippet.
        #[source_code]
        source_code: NamedSource<Arc<str>>,
        /// The offending spot.
        #[label("this schema")]
        span: SourceSpan,
    },
}

impl LoadError {
    /// Where the error is, when its text leaves that to a snippet (a plain rendering writes
    /// it first; a graphical one shows the snippet).
    pub fn snippet_location(&self) -> Option<&Location> {
        match self {
            LoadError::Syntax { location, .. } => Some(location),
            _ => None,
        }
    }
}

/// A rule together with where it was written.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct LoadedRule {
    /// The rule.
    pub rule: Rule,
    /// Index into [`Loaded::files`].
    pub file: usize,
    /// Byte offset of the rule's `id` string in its file (a best effort: the first match).
    pub offset: usize,
    /// Where its text ends: the next rule's `id` in the same file, or the file's end. What is
    /// located in a rule is searched for before here, never in the next rule.
    pub end: usize,
}

/// A fact declaration together with where it was written.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct LoadedFact {
    /// The declaration.
    pub decl: FactDecl,
    /// Index into [`Loaded::files`].
    pub file: usize,
    /// Byte offset of its name in the file.
    pub offset: usize,
}

/// An article record together with where it was written.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct LoadedArticle {
    /// The record.
    pub article: KbArticle,
    /// Index into [`Loaded::files`].
    pub file: usize,
}

/// Everything loaded from a set of origins, and what failed to load.
#[derive(Debug, Default)]
pub struct Loaded {
    /// Every file read, in load order.
    pub files: Vec<SourceFile>,
    /// Rules, in load order.
    pub rules: Vec<LoadedRule>,
    /// Fact declarations, in load order.
    pub facts: Vec<LoadedFact>,
    /// Article records, in load order.
    pub articles: Vec<LoadedArticle>,
    /// Service-pack builds, in load order, with their files.
    pub builds: Vec<(ServicePackBuild, usize)>,
    /// Files that could not be loaded, with why.
    pub errors: Vec<LoadError>,
}

impl Loaded {
    /// The location of byte `offset` in file `file`.
    pub fn location(&self, file: usize, offset: usize) -> Location {
        self.files[file].location(offset)
    }

    /// Loads every origin in order.
    pub fn from_origins(origins: &[Origin]) -> Loaded {
        let mut loaded = Loaded::default();
        for origin in origins {
            match origin {
                Origin::Embedded => {
                    for (name, text) in EMBEDDED_FILES {
                        loaded.add_text(format!("embedded:{name}"), Arc::from(*text));
                    }
                }
                Origin::Path(path) => loaded.add_path(path),
            }
        }
        loaded
    }

    fn add_path(&mut self, root: &Path) {
        let (files, errors) = ron_files(root);
        self.errors.extend(errors);
        for file in files {
            self.add_file(&file);
        }
    }

    fn add_file(&mut self, path: &Path) {
        let name = path.display().to_string();
        let io_error = |e: std::io::Error| LoadError::Io {
            path: name.clone(),
            reason: e.to_string(),
        };
        let size = match std::fs::metadata(path) {
            Ok(meta) => meta.len(),
            Err(e) => return self.errors.push(io_error(e)),
        };
        if size > MAX_FILE_BYTES {
            return self.errors.push(LoadError::TooLarge {
                path: name,
                size,
                max: MAX_FILE_BYTES,
            });
        }
        let bytes = match std::fs::read(path) {
            Ok(bytes) => bytes,
            Err(e) => return self.errors.push(io_error(e)),
        };
        match String::from_utf8(bytes) {
            Ok(text) => self.add_text(name, Arc::from(text)),
            Err(err) => {
                let valid = err.utf8_error().valid_up_to();
                let lossy = String::from_utf8_lossy(err.as_bytes()).into_owned();
                let file = SourceFile {
                    name,
                    text: Arc::from(lossy),
                };
                // The lossy text has the same bytes up to the first invalid one.
                let location = file.location(valid);
                self.errors.push(LoadError::NotUtf8 { location });
            }
        }
    }

    /// Parses one file's text and adds what it holds.
    pub fn add_text(&mut self, name: String, text: Arc<str>) {
        let file = SourceFile { name, text };
        match parse_data_file(&file) {
            Ok(DataFile::RuleFile(rules)) => {
                let index = self.files.len();
                let mut cursor = 0;
                for decl in rules.facts {
                    let offset = find_quoted(&file, cursor, &decl.name).unwrap_or(cursor);
                    cursor = offset;
                    self.facts.push(LoadedFact {
                        decl,
                        file: index,
                        offset,
                    });
                }
                self.builds
                    .extend(rules.builds.into_iter().map(|b| (b, index)));
                let first = self.rules.len();
                let mut cursor = 0;
                for rule in rules.rules {
                    let offset = find_quoted(&file, cursor, &rule.id).unwrap_or(cursor);
                    cursor = offset;
                    self.rules.push(LoadedRule {
                        rule,
                        file: index,
                        offset,
                        end: file.text.len(),
                    });
                }
                for i in first + 1..self.rules.len() {
                    let next = self.rules[i].offset;
                    self.rules[i - 1].end = next.max(self.rules[i - 1].offset);
                }
                self.files.push(file);
            }
            Ok(DataFile::KbArticle(article)) => {
                self.articles.push(LoadedArticle {
                    article,
                    file: self.files.len(),
                });
                self.files.push(file);
            }
            Err(err) => self.errors.push(*err),
        }
    }
}

/// The `.ron` files under `root` (or `root` itself when it is a file), in name order, and the
/// entries that could not be read (link loops, unreadable directories).
pub fn ron_files(root: &Path) -> (Vec<PathBuf>, Vec<LoadError>) {
    if root.is_file() {
        return (vec![root.to_path_buf()], Vec::new());
    }
    let mut files = Vec::new();
    let mut errors = Vec::new();
    let walker = walkdir::WalkDir::new(root)
        .follow_links(true)
        .sort_by_file_name();
    for entry in walker {
        match entry {
            Ok(entry) if entry.file_type().is_file() => {
                if entry.path().extension().is_some_and(|e| e == "ron") {
                    files.push(entry.into_path());
                }
            }
            Ok(_) => {}
            Err(err) => {
                let path = err.path().unwrap_or(root).display().to_string();
                let reason = match err.loop_ancestor() {
                    Some(ancestor) => {
                        format!("symbolic link loop back to {}; skipped", ancestor.display())
                    }
                    None => err
                        .io_error()
                        .map_or_else(|| err.to_string(), |e| e.to_string()),
                };
                errors.push(LoadError::Io { path, reason });
            }
        }
    }
    (files, errors)
}

/// The byte offset of `"needle"` at or after `from`.
fn find_quoted(file: &SourceFile, from: usize, needle: &str) -> Option<usize> {
    file.find_offset(from, &format!("{needle:?}"))
}

/// The RON dialect of every kbguard data file: `Some(..)` may be left out, and a newtype
/// variant wrapping a struct needs no second pair of parentheses.
pub(crate) fn ron_options() -> ron::Options {
    ron::Options::default()
        .with_default_extension(Extensions::UNWRAP_VARIANT_NEWTYPES | Extensions::IMPLICIT_SOME)
}

/// Just enough of a data file to read its schema, whatever else it holds.
#[derive(Deserialize)]
enum Header {
    RuleFile(SchemaOnly),
    KbArticle(SchemaOnly),
}

#[derive(Deserialize)]
struct SchemaOnly {
    schema: u32,
}

fn parse_data_file(file: &SourceFile) -> Result<DataFile, Box<LoadError>> {
    let schema_error = |found: u32| {
        let location = file.find(0, "schema").unwrap_or_else(|| file.location(0));
        Box::new(LoadError::Schema {
            span: location.span(),
            location,
            found,
            supported: supported_schemas(),
            source_code: file.named_source(),
        })
    };
    match ron_options().from_str::<DataFile>(&file.text) {
        Ok(data) => {
            let schema = match &data {
                DataFile::RuleFile(r) => r.schema,
                DataFile::KbArticle(a) => a.schema,
            };
            if SUPPORTED_SCHEMAS.contains(&schema) {
                Ok(data)
            } else {
                Err(schema_error(schema))
            }
        }
        Err(err) => {
            // A file in another schema fails on its fields; say so rather than name a field.
            if let Ok(Header::RuleFile(h) | Header::KbArticle(h)) =
                ron_options().from_str::<Header>(&file.text)
            {
                if !SUPPORTED_SCHEMAS.contains(&h.schema) {
                    return Err(schema_error(h.schema));
                }
            }
            let offset = file.offset_of(err.span.start.line, err.span.start.col);
            let location = file.location(start_of_string_before(&file.text, offset));
            let message = match err.code {
                ron::Error::ExceededRecursionLimit => {
                    "nesting is deeper than the 128 levels a data file may have".to_string()
                }
                other => other.to_string(),
            };
            Err(Box::new(LoadError::Syntax {
                span: location.span(),
                help: syntax_help(&message),
                location,
                message,
                source_code: file.named_source(),
            }))
        }
    }
}

/// ron reports a bad string value at its first character; point at its opening quote.
fn start_of_string_before(text: &str, offset: usize) -> usize {
    if text[..offset].ends_with('"') {
        offset - 1
    } else {
        offset
    }
}

fn supported_schemas() -> String {
    SUPPORTED_SCHEMAS
        .iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

fn syntax_help(message: &str) -> Option<String> {
    if message.contains("RuleFile") && message.contains("KbArticle") {
        Some("a data file starts with `RuleFile(` (rules and facts) or `KbArticle(` (an article record)".into())
    } else if message.contains("Unexpected field") || message.contains("unknown field") {
        Some("check the field's spelling against docs/rules.md".into())
    } else if message.contains("recursion limit") {
        Some("the file nests deeper than any rule needs; flatten the conditions".into())
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Loaded {
        let mut loaded = Loaded::default();
        loaded.add_text("t.ron".into(), Arc::from(text));
        loaded
    }

    const MINIMAL: &str = r#"RuleFile(
    schema: 1,
    rules: [
        Rule(
            id: "demo",
            revision: 1,
            kb: [(id: "Q1", date: "2002-01-01")],
            title: "t",
            severity: warn,
            reviewed: "2026-11-25",
            status: superseded_by("other"),
            intent: Intent(program: "isinteg", flags: ["patch"]),
            when: All([Not(EnvSet("X")), FactEquals("cluster.node", true), FactInRange("v", ">=5.5, <6")]),
            workaround: (text: "do {x}", actions: [SetEnv(var: "A", fact: "b")]),
        ),
    ],
)"#;

    #[test]
    fn parses_a_rule_file_with_every_shape() {
        let loaded = load(MINIMAL);
        assert!(loaded.errors.is_empty(), "{:?}", loaded.errors);
        let rule = &loaded.rules[0];
        assert_eq!(rule.rule.id, "demo");
        assert_eq!(loaded.location(rule.file, rule.offset).line, 5);
        assert!(rule.rule.intent.is_some());
    }

    /// The error as a plain rendering shows it: its location first when the text leaves it out.
    fn located(err: &LoadError) -> String {
        match err.snippet_location() {
            Some(at) => format!("{at}: {err}"),
            None => err.to_string(),
        }
    }

    #[test]
    fn unknown_field_is_located() {
        let loaded = load(&MINIMAL.replace("title:", "titel:"));
        let err = located(&loaded.errors[0]);
        assert!(err.starts_with("t.ron:8:"), "{err}");
        assert!(err.contains("titel"), "{err}");
    }

    #[test]
    fn unknown_schema_names_the_supported_ones() {
        let loaded = load(&MINIMAL.replace("schema: 1", "schema: 7"));
        assert_eq!(
            located(&loaded.errors[0]),
            "t.ron:2:5: error: unsupported schema 7; this kbguard reads schema 1"
        );
    }

    #[test]
    fn bad_version_range_is_located() {
        let loaded = load(&MINIMAL.replace(">=5.5, <6", ">=five"));
        let err = located(&loaded.errors[0]);
        assert!(
            err.starts_with("t.ron:13:93: error: `five` is not a dotted version"),
            "{err}"
        );
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let deep = format!("{}{}", "Not(".repeat(100_000), ")".repeat(100_000));
        let loaded = load(&MINIMAL.replace(r#"Not(EnvSet("X"))"#, &deep));
        let err = located(&loaded.errors[0]);
        assert!(
            err.starts_with("t.ron:13:") && err.contains("deeper than the 128 levels"),
            "{err}"
        );
    }

    #[test]
    fn embedded_set_loads_cleanly() {
        let loaded = Loaded::from_origins(&[Origin::Embedded]);
        assert!(loaded.errors.is_empty(), "{:?}", loaded.errors);
        assert!(!loaded.rules.is_empty());
    }
}
