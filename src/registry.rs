//! The Windows registry as a fact source: the live registry of this machine (on Windows) or a
//! `regedit /e` export (`--facts FILE.reg`, on any OS), behind one trait.
//!
//! Owns the typed registry value, key-name normalisation (`HKLM` is `HKEY_LOCAL_MACHINE`, case
//! ignored), the `.reg` parser (`REGEDIT4` in the ANSI code page, or version 5 in UTF-16LE with
//! a byte-order mark) and the read-only, size-bounded live reader. Typing a value into a fact is
//! `facts`' job.

use std::collections::BTreeMap;
use std::fmt;

/// The largest value read from the live registry, and the largest `.reg` file read: far above
/// any value a fact needs, so a hostile 10 MB value is refused rather than copied.
pub const VALUE_LIMIT: usize = 1 << 20;
/// The largest `.reg` export read (a whole-HKLM export runs to a few hundred megabytes).
pub const FILE_LIMIT: u64 = 512 << 20;

/// A registry value, by type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RegValue {
    /// `REG_SZ`.
    Sz(String),
    /// `REG_EXPAND_SZ`: a string with `%VAR%` references, unexpanded.
    ExpandSz(String),
    /// `REG_DWORD`.
    Dword(u32),
    /// `REG_QWORD`.
    Qword(u64),
    /// `REG_MULTI_SZ`.
    MultiSz(Vec<String>),
    /// Any other type (`REG_BINARY` and the rest), as bytes.
    Binary(Vec<u8>),
}

impl fmt::Display for RegValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RegValue::Sz(s) | RegValue::ExpandSz(s) => f.write_str(s),
            RegValue::Dword(n) => write!(f, "{n}"),
            RegValue::Qword(n) => write!(f, "{n}"),
            RegValue::MultiSz(v) => f.write_str(&v.join("\n")),
            RegValue::Binary(b) => write!(f, "{} bytes", b.len()),
        }
    }
}

/// Somewhere registry values can be read.
pub trait Registry {
    /// The value `name` (empty for the key's default value) of `key`; an error says why not.
    fn value(&self, key: &str, name: &str) -> Result<RegValue, String>;
    /// Whether `key` exists.
    fn key_exists(&self, key: &str) -> Result<bool, String>;
    /// Whether `key` holds a value called `name`.
    fn value_exists(&self, key: &str, name: &str) -> Result<bool, String>;
}

/// The hive abbreviations `reg.exe` accepts, with the names exports write.
const HIVES: &[(&str, &str)] = &[
    ("HKLM", "HKEY_LOCAL_MACHINE"),
    ("HKCU", "HKEY_CURRENT_USER"),
    ("HKCR", "HKEY_CLASSES_ROOT"),
    ("HKU", "HKEY_USERS"),
    ("HKCC", "HKEY_CURRENT_CONFIG"),
];

/// A key path in one spelling: full hive name, backslashes, no trailing backslash, upper case
/// (key names are case-insensitive).
pub fn normalize_key(key: &str) -> String {
    // Doubled and trailing backslashes name no key of their own.
    let parts: Vec<&str> = key.trim().split('\\').filter(|p| !p.is_empty()).collect();
    let key = parts.join("\\");
    let (hive, rest) = key.split_once('\\').unwrap_or((&key, ""));
    let hive = HIVES
        .iter()
        .find(|(short, _)| short.eq_ignore_ascii_case(hive))
        .map_or(hive, |(_, long)| long);
    let joined = if rest.is_empty() {
        hive.to_string()
    } else {
        format!("{hive}\\{rest}")
    };
    joined.to_uppercase()
}

/// Why a `.reg` export could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegFileError {
    /// The 1-based line, 0 for the file as a whole.
    pub line: usize,
    /// What is wrong.
    pub reason: String,
}

impl fmt::Display for RegFileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            f.write_str(&self.reason)
        } else {
            write!(f, "line {}: {}", self.line, self.reason)
        }
    }
}

/// A `regedit /e` export: keys and their values.
#[derive(Clone, Debug, Default)]
pub struct RegFile {
    // Normalised key → upper-cased value name → value.
    keys: BTreeMap<String, BTreeMap<String, RegValue>>,
}

impl RegFile {
    /// Parses an export's bytes: UTF-16LE with a byte-order mark (regedit 5), or the ANSI code
    /// page (`REGEDIT4`).
    pub fn parse(bytes: &[u8]) -> Result<RegFile, RegFileError> {
        let whole = |reason: &str| RegFileError {
            line: 0,
            reason: reason.to_string(),
        };
        let (text, utf16) = if let Some(rest) = bytes.strip_prefix(&[0xFF, 0xFE]) {
            let (text, _, bad) = encoding_rs::UTF_16LE.decode(rest);
            if bad {
                return Err(whole("not valid UTF-16LE text"));
            }
            (text.into_owned(), true)
        } else {
            let rest = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]).unwrap_or(bytes);
            let (text, _, _) = encoding_rs::WINDOWS_1252.decode(rest);
            (text.into_owned(), false)
        };
        let mut lines = logical_lines(&text);
        let header = lines.next().map(|(_, l)| l).unwrap_or_default();
        let header = header.trim();
        if header != "REGEDIT4" && header != "Windows Registry Editor Version 5.00" {
            return Err(whole(
                "not a registry export: the first line is neither `Windows Registry Editor Version 5.00` nor `REGEDIT4`",
            ));
        }
        let mut file = RegFile::default();
        let mut current: Option<String> = None;
        for (line, text) in lines {
            let text = text.trim();
            if text.is_empty() || text.starts_with(';') {
                continue;
            }
            let at = |reason: String| RegFileError { line, reason };
            if let Some(inner) = text.strip_prefix('[') {
                let inner = inner
                    .strip_suffix(']')
                    .ok_or_else(|| at("a key line must end with `]`".into()))?;
                // `[-KEY]` deletes a key: nothing of it is on the host.
                current = (!inner.starts_with('-')).then(|| normalize_key(inner));
                if let Some(key) = &current {
                    file.keys.entry(key.clone()).or_default();
                }
                continue;
            }
            let key = current
                .as_ref()
                .ok_or_else(|| at("a value before any [key] line".into()))?;
            let (name, data) = parse_assignment(text).map_err(at)?;
            let value = match data {
                "-" => None,
                data => Some(parse_data(data, utf16).map_err(at)?),
            };
            let values = file.keys.entry(key.clone()).or_default();
            match value {
                Some(value) => values.insert(name.to_uppercase(), value),
                None => values.remove(&name.to_uppercase()),
            };
        }
        Ok(file)
    }
}

impl Registry for RegFile {
    fn value(&self, key: &str, name: &str) -> Result<RegValue, String> {
        let values = self
            .keys
            .get(&normalize_key(key))
            .ok_or_else(|| format!("the export has no key {key}"))?;
        values
            .get(&name.to_uppercase())
            .cloned()
            .ok_or_else(|| format!("the export's key {key} has no value {name:?}"))
    }

    fn key_exists(&self, key: &str) -> Result<bool, String> {
        let key = normalize_key(key);
        if self.keys.contains_key(&key) {
            return Ok(true);
        }
        // A key is known to be absent only where the export covers its parent: an export of
        // one subtree says nothing of the rest of the registry.
        match key.rsplit_once('\\') {
            Some((parent, _)) if self.keys.contains_key(parent) => Ok(false),
            _ => Err(format!("the export does not cover {key}")),
        }
    }

    fn value_exists(&self, key: &str, name: &str) -> Result<bool, String> {
        match self.keys.get(&normalize_key(key)) {
            Some(values) => Ok(values.contains_key(&name.to_uppercase())),
            // No key, no value: as far as the export covers the key's parent.
            None => self.key_exists(key).map(|_| false),
        }
    }
}

/// The file's lines with `\`-continued ones joined, each with its first line's number.
fn logical_lines(text: &str) -> impl Iterator<Item = (usize, String)> + '_ {
    let mut raw = text.lines().enumerate();
    std::iter::from_fn(move || {
        let (index, first) = raw.next()?;
        let mut line = first.to_string();
        while line.trim_end().ends_with('\\') && line.contains('=') {
            let trimmed = line.trim_end();
            line.truncate(trimmed.len() - 1);
            match raw.next() {
                Some((_, next)) => line.push_str(next.trim_start()),
                None => break,
            }
        }
        Some((index + 1, line))
    })
}

/// `"Name"=data` or `@=data`: the value name (unescaped) and the data text.
fn parse_assignment(text: &str) -> Result<(String, &str), String> {
    if let Some(data) = text.strip_prefix("@=") {
        return Ok((String::new(), data));
    }
    let rest = text
        .strip_prefix('"')
        .ok_or_else(|| format!("expected `\"name\"=value` or `@=value`, found {text:?}"))?;
    let (name, after) = quoted(rest)?;
    let data = after
        .trim_start()
        .strip_prefix('=')
        .ok_or_else(|| format!("expected `=` after the value name {name:?}"))?;
    Ok((name, data.trim_start()))
}

/// The text of a quoted string whose opening quote is already taken, with `\\` and `\"`
/// unescaped, and what follows its closing quote.
fn quoted(rest: &str) -> Result<(String, &str), String> {
    let mut out = String::new();
    let mut chars = rest.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Ok((out, &rest[i + 1..])),
            '\\' => match chars.next() {
                Some((_, e)) => out.push(e),
                None => break,
            },
            c => out.push(c),
        }
    }
    Err("a quoted string without its closing quote".into())
}

/// A value's data: `"string"`, `dword:0000000a`, `hex:..`, `hex(N):..`.
fn parse_data(data: &str, utf16: bool) -> Result<RegValue, String> {
    if let Some(rest) = data.strip_prefix('"') {
        let (text, after) = quoted(rest)?;
        if !after.trim().is_empty() {
            return Err(format!("unexpected text after the string: {after:?}"));
        }
        return Ok(RegValue::Sz(text));
    }
    if let Some(hex) = data.strip_prefix("dword:") {
        return u32::from_str_radix(hex.trim(), 16)
            .map(RegValue::Dword)
            .map_err(|_| format!("`dword:` needs 8 hex digits, found {hex:?}"));
    }
    let (kind, hex) = if let Some(hex) = data.strip_prefix("hex:") {
        (3, hex)
    } else if let Some(rest) = data.strip_prefix("hex(") {
        let (kind, hex) = rest
            .split_once("):")
            .ok_or_else(|| format!("expected `hex(N):`, found {data:?}"))?;
        let kind = u32::from_str_radix(kind, 16).map_err(|_| format!("bad value type {kind:?}"))?;
        (kind, hex)
    } else {
        return Err(format!(
            "unknown value data {data:?}: expected a string, dword: or hex:"
        ));
    };
    let bytes = hex
        .split(',')
        .map(str::trim)
        .filter(|b| !b.is_empty())
        .map(|b| u8::from_str_radix(b, 16).map_err(|_| format!("bad hex byte {b:?}")))
        .collect::<Result<Vec<u8>, String>>()?;
    Ok(from_bytes(kind, bytes, utf16))
}

/// A value from its type number and raw bytes (strings in UTF-16LE for version 5 exports and
/// the live registry, the ANSI code page for `REGEDIT4`).
fn from_bytes(kind: u32, bytes: Vec<u8>, utf16: bool) -> RegValue {
    let text = |bytes: &[u8]| -> String {
        let s = if utf16 {
            encoding_rs::UTF_16LE.decode(bytes).0.into_owned()
        } else {
            encoding_rs::WINDOWS_1252.decode(bytes).0.into_owned()
        };
        s.trim_end_matches('\0').to_string()
    };
    match (kind, bytes.len()) {
        (1, _) => RegValue::Sz(text(&bytes)),
        (2, _) => RegValue::ExpandSz(text(&bytes)),
        (4, 4) => RegValue::Dword(u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]])),
        (7, _) => RegValue::MultiSz(
            text(&bytes)
                .split('\0')
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect(),
        ),
        (11, 8) => {
            let mut b = [0u8; 8];
            b.copy_from_slice(&bytes);
            RegValue::Qword(u64::from_le_bytes(b))
        }
        _ => RegValue::Binary(bytes),
    }
}

/// This machine's registry, read-only.
#[cfg(windows)]
#[derive(Clone, Copy, Debug, Default)]
pub struct LiveRegistry;

#[cfg(windows)]
impl LiveRegistry {
    fn open(key: &str) -> Result<winreg::RegKey, std::io::Error> {
        use winreg::enums::{
            HKEY_CLASSES_ROOT, HKEY_CURRENT_CONFIG, HKEY_CURRENT_USER, HKEY_LOCAL_MACHINE,
            HKEY_USERS, KEY_READ,
        };
        let key = normalize_key(key);
        let (hive, path) = key.split_once('\\').unwrap_or((&key, ""));
        let root = match hive {
            "HKEY_LOCAL_MACHINE" => HKEY_LOCAL_MACHINE,
            "HKEY_CURRENT_USER" => HKEY_CURRENT_USER,
            "HKEY_CLASSES_ROOT" => HKEY_CLASSES_ROOT,
            "HKEY_USERS" => HKEY_USERS,
            "HKEY_CURRENT_CONFIG" => HKEY_CURRENT_CONFIG,
            _ => {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    format!("unknown hive {hive}"),
                ))
            }
        };
        winreg::RegKey::predef(root).open_subkey_with_flags(path, KEY_READ)
    }
}

#[cfg(windows)]
impl LiveRegistry {
    /// The value, `None` when the key or the value does not exist. The key's largest value
    /// bounds the read: a value over [`VALUE_LIMIT`] is not copied.
    fn read(key: &str, name: &str) -> Result<Option<RegValue>, String> {
        let opened = match LiveRegistry::open(key) {
            Ok(opened) => opened,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(format!("{key}: {e}")),
        };
        let info = opened.query_info().map_err(|e| format!("{key}: {e}"))?;
        let largest = usize::try_from(info.max_value_len).unwrap_or(usize::MAX);
        if largest > VALUE_LIMIT {
            return Err(format!(
                "{key} holds a value of {largest} bytes, over the {VALUE_LIMIT}-byte limit kbguard reads"
            ));
        }
        match opened.get_raw_value(name) {
            Ok(raw) => Ok(Some(from_bytes(raw.vtype as u32, raw.bytes.to_vec(), true))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(format!("{key}\\{name}: {e}")),
        }
    }
}

#[cfg(windows)]
impl Registry for LiveRegistry {
    fn value(&self, key: &str, name: &str) -> Result<RegValue, String> {
        LiveRegistry::read(key, name)?.ok_or_else(|| format!("{key} has no value {name:?}"))
    }

    fn key_exists(&self, key: &str) -> Result<bool, String> {
        match LiveRegistry::open(key) {
            Ok(_) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(format!("{key}: {e}")),
        }
    }

    fn value_exists(&self, key: &str, name: &str) -> Result<bool, String> {
        LiveRegistry::read(key, name).map(|v| v.is_some())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utf16(text: &str) -> Vec<u8> {
        let mut out = vec![0xFF, 0xFE];
        for unit in text.encode_utf16() {
            out.extend_from_slice(&unit.to_le_bytes());
        }
        out
    }

    const EXPORT: &str = "Windows Registry Editor Version 5.00\r\n\r\n\
[HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Exchange\\Setup]\r\n\
\"NewestBuild\"=dword:00000a5d\r\n\
\"Services\"=\"C:\\\\exchsrvr\"\r\n\
\"Quoted\"=\"say \\\"hi\\\"\"\r\n\
@=\"default\"\r\n\
\"Expand\"=hex(2):25,00,53,00,79,00,73,00,74,00,65,00,6d,00,52,00,6f,00,6f,00,\\\r\n\
  74,00,25,00,00,00\r\n\
\"Multi\"=hex(7):61,00,00,00,62,00,00,00,00,00\r\n\
\"Big\"=hex(b):01,00,00,00,01,00,00,00\r\n\
\"Gone\"=-\r\n\
\r\n\
[-HKEY_LOCAL_MACHINE\\SOFTWARE\\Removed]\r\n";

    #[test]
    fn version5_exports_are_read_with_every_value_type() {
        let file = RegFile::parse(&utf16(EXPORT)).unwrap();
        let key = "HKLM\\software\\microsoft\\exchange\\setup\\";
        assert_eq!(file.value(key, "newestbuild"), Ok(RegValue::Dword(0xa5d)));
        assert_eq!(
            file.value(key, "Services"),
            Ok(RegValue::Sz("C:\\exchsrvr".into()))
        );
        assert_eq!(
            file.value(key, "Quoted"),
            Ok(RegValue::Sz("say \"hi\"".into()))
        );
        assert_eq!(file.value(key, ""), Ok(RegValue::Sz("default".into())));
        assert_eq!(
            file.value(key, "Expand"),
            Ok(RegValue::ExpandSz("%SystemRoot%".into()))
        );
        assert_eq!(
            file.value(key, "Multi"),
            Ok(RegValue::MultiSz(vec!["a".into(), "b".into()]))
        );
        assert_eq!(file.value(key, "Big"), Ok(RegValue::Qword((1 << 32) + 1)));
        assert!(file.value(key, "Gone").is_err());
        assert_eq!(file.value_exists(key, "services"), Ok(true));
        assert_eq!(file.value_exists(key, "Gone"), Ok(false));
        assert_eq!(file.value_exists(&format!("{key}\\Sub"), "x"), Ok(false));
        assert!(file
            .value_exists("HKLM\\SYSTEM\\Setup", "CloneTag")
            .is_err());
        assert!(file.key_exists("HKLM\\SOFTWARE\\Removed").is_err());
        assert_eq!(
            file.key_exists("HKLM\\SOFTWARE\\Microsoft\\Exchange\\Setup\\X"),
            Ok(false)
        );
        assert!(file
            .value("HKLM\\SOFTWARE\\Nope", "x")
            .unwrap_err()
            .contains("no key"));
    }

    #[test]
    fn regedit4_exports_are_read_in_the_ansi_code_page() {
        let text = "REGEDIT4\n\n[HKEY_LOCAL_MACHINE\\SOFTWARE\\A]\n\"Name\"=\"caf\u{e9}\"\n\"X\"=hex(2):25,41,25,00\n";
        let (bytes, _, _) = encoding_rs::WINDOWS_1252.encode(text);
        let file = RegFile::parse(&bytes).unwrap();
        assert_eq!(
            file.value("HKLM\\SOFTWARE\\A", "Name"),
            Ok(RegValue::Sz("caf\u{e9}".into()))
        );
        assert_eq!(
            file.value("HKLM\\SOFTWARE\\A", "X"),
            Ok(RegValue::ExpandSz("%A%".into()))
        );
    }

    #[test]
    fn bad_exports_say_where() {
        let cases = [
            ("hello", 0, "not a registry export"),
            ("REGEDIT4\n\"A\"=\"b\"", 2, "before any [key]"),
            ("REGEDIT4\n[HKLM\\A]\n\"A\"=dword:xyz", 3, "dword"),
            ("REGEDIT4\n[HKLM\\A]\n\"A=b", 3, "closing quote"),
            ("REGEDIT4\n[HKLM\\A]\n\"A=\"b\"", 3, "expected `=`"),
            ("REGEDIT4\n[HKLM\\A\n", 2, "`]`"),
            ("REGEDIT4\n[HKLM\\A]\nA=1", 3, "expected"),
            ("REGEDIT4\n[HKLM\\A]\n\"A\"=hex:zz", 3, "hex byte"),
        ];
        for (text, line, needle) in cases {
            let err = RegFile::parse(text.as_bytes()).unwrap_err();
            assert_eq!(err.line, line, "{text}: {err}");
            assert!(err.to_string().contains(needle), "{text}: {err}");
        }
        assert!(RegFile::parse(&[0xFF, 0xFE, 0x00]).is_err());
    }

    #[test]
    fn key_names_have_one_spelling() {
        assert_eq!(
            normalize_key("hklm\\Software\\X\\"),
            "HKEY_LOCAL_MACHINE\\SOFTWARE\\X"
        );
        assert_eq!(normalize_key("HKEY_CURRENT_USER"), "HKEY_CURRENT_USER");
    }
}
