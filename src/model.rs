//! The typed form of kbguard's data files: rule files (`RuleFile(...)`) and article records
//! (`KbArticle(...)`), as written in RON under `rules/` and `kb/`.
//!
//! Owns the file format (schema 1) and nothing else: loading with locations lives in `load`,
//! checks across files in `validate`, meaning in `eval`.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::version::{Version, VersionRange};

/// A value in a data file that does not parse into its type. Serde reports it at the value's
/// location, so an invalid rule never exists as a value.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ValueError {
    /// Not `YYYY-MM-DD`.
    #[error("`{0}` is not a date: expected YYYY-MM-DD, e.g. 2002-08-06")]
    Date(String),
    /// Not lowercase letters, digits, `-` and `.`.
    #[error("rule id {0:?} must be lowercase letters, digits, `-` and `.`, starting with a letter or digit")]
    RuleId(String),
    /// A regular expression that does not compile.
    #[error("bad regular expression {pattern:?}: {reason}")]
    Pattern {
        /// The pattern.
        pattern: String,
        /// The compiler's message.
        reason: String,
    },
    /// A literal that is not a value of the fact's type.
    #[error("{literal} is not a {ty}")]
    WrongType {
        /// The literal as written.
        literal: String,
        /// The type wanted.
        ty: FactType,
    },
    /// Text that is not a version.
    #[error(transparent)]
    Version(#[from] crate::version::VersionError),
}

/// The file-format versions this kbguard reads.
pub const SUPPORTED_SCHEMAS: &[u32] = &[1];

/// One data file: its top-level name says what it holds.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum DataFile {
    /// Rules and fact declarations.
    RuleFile(RuleFile),
    /// One KB article record.
    KbArticle(KbArticle),
}

/// A file of rules and fact declarations.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleFile {
    /// Format version; see [`SUPPORTED_SCHEMAS`].
    pub schema: u32,
    /// Facts this file declares, with their types and optional probes.
    #[serde(default)]
    pub facts: Vec<FactDecl>,
    /// The rules.
    #[serde(default)]
    pub rules: Vec<Rule>,
    /// The build each service pack of a product ships, with the quote that says so: what
    /// `lint --archive` compares a rule's fixed bound with when a fix list names its article.
    #[serde(default)]
    pub builds: Vec<ServicePackBuild>,
}

/// The build a product's service pack ships.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServicePackBuild {
    /// The product, as rules name it (`exchange` for the fact `product.exchange.version`).
    pub product: String,
    /// The service pack's number (0 for the release itself).
    pub service_pack: u32,
    /// Its build, e.g. `5.5.2232`.
    pub build: Version,
    /// The quote that says so.
    pub evidence: Evidence,
}

/// The type of a fact's value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FactType {
    /// `true` / `false`.
    Bool,
    /// A whole number (bytes, counts, service-pack levels).
    Int,
    /// Free text.
    Str,
    /// A dotted [`Version`].
    Version,
}

impl fmt::Display for FactType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FactType::Bool => "bool",
            FactType::Int => "int",
            FactType::Str => "str",
            FactType::Version => "version",
        })
    }
}

/// A declared fact: its dotted name, its type and, optionally, how to probe it on the local host.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FactDecl {
    /// Dotted name, e.g. `cluster.node`.
    pub name: String,
    /// Value type.
    #[serde(rename = "type")]
    pub ty: FactType,
    /// What the fact means, for `kbguard facts` and docs.
    pub doc: String,
    /// How the local host is probed for it; none means it comes only from `--set` or a snapshot.
    #[serde(default)]
    pub probe: Option<Probe>,
}

/// A declarative, read-only probe. Nothing here can run a program or write anything: each
/// variant reads one piece of metadata. `{fact}` templates in paths are filled from other facts.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Probe {
    /// Operating-system families the probe is meaningful on; elsewhere the fact is unknown.
    #[serde(default)]
    pub os: Vec<OsFamily>,
    /// What to read.
    pub read: ProbeRead,
}

impl Probe {
    /// Whether the probe is meant for hosts of `os`.
    pub fn runs_on(&self, os: OsFamily) -> bool {
        self.os.is_empty() || self.os.contains(&os)
    }
}

/// The one thing a probe reads.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum ProbeRead {
    /// The value of an environment variable (unset → unknown).
    Env(String),
    /// Whether a path exists (a metadata lookup, the file is not opened).
    FileExists(String),
    /// A file's size in bytes (metadata only; missing file → unknown).
    FileSize(String),
    /// The file version in a PE file's version resource (the file is mapped read-only).
    FileVersion(String),
    /// Whether a text file holds a match of the pattern (OVAL's textfilecontent); the file is
    /// read up to a bounded size.
    FileContains(String, Pattern),
    /// A value of an INI-style file (`boot.ini`, `exchange.ini`): `key` under `[section]`,
    /// both matched without regard to case.
    IniValue {
        /// The file (may hold `{fact}` templates).
        path: String,
        /// The section, without brackets.
        section: String,
        /// The key.
        key: String,
    },
    /// A registry value, typed into the fact's type after the transform.
    Registry {
        /// The key (`HKLM\SOFTWARE\...`; `HKEY_LOCAL_MACHINE` and the other long names too).
        key: String,
        /// The value's name; empty for the key's default value.
        value: String,
        /// How the stored value becomes the fact's value.
        #[serde(default)]
        transform: Transform,
    },
    /// Whether a registry key exists.
    RegistryKey(String),
    /// Whether a registry value exists (whatever it holds).
    RegistryValueExists {
        /// The key.
        key: String,
        /// The value's name.
        value: String,
    },
}

/// How a stored value becomes a fact's value, for where a registry stores a fact in another
/// form (a build number for a version, a file for its folder).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub enum Transform {
    /// The value as stored, typed into the fact's type.
    #[default]
    AsStored,
    /// The folder of a stored path (`C:\exchsrvr\mdbdata\priv.edb` → `C:\exchsrvr\mdbdata`).
    Parent,
    /// A stored folder joined with a relative path (`C:\exchsrvr` + `bin`).
    Join(String),
    /// The trailing whole number of a stored text (`Service Pack 6` → 6).
    TrailingNumber,
    /// A stored build number made a version: the `value` of the range that holds it (the
    /// product's major.minor), then the build (`0xa5d` = 2653 in 1960..=2999 with value `5.5`
    /// → `5.5.2653`); outside every range the fact is unknown.
    Build(Vec<BuildRange>),
    /// Whether the stored text (each string of a `REG_MULTI_SZ`, one per line) matches the
    /// pattern: a yes/no fact from a value that names a kind (`ProductType` `LanmanNT`).
    Matches(Pattern),
    /// A stored number looked up in a table: the `value` of the range that holds it (a build
    /// number's service pack level); outside every range the fact is unknown.
    Table(Vec<BuildRange>),
}

/// Stored numbers `from..=to` stand for `value`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BuildRange {
    /// The first number.
    pub from: u32,
    /// The last number.
    pub to: u32,
    /// What the numbers of the range stand for.
    pub value: String,
}

/// Operating-system family, compared with the `os.family` fact.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OsFamily {
    /// Microsoft Windows (any version).
    Windows,
    /// Linux.
    Linux,
    /// macOS.
    Macos,
    /// Anything else.
    Other,
}

impl OsFamily {
    /// The family this binary was built for.
    pub fn current() -> OsFamily {
        match std::env::consts::OS {
            "windows" => OsFamily::Windows,
            "linux" => OsFamily::Linux,
            "macos" => OsFamily::Macos,
            _ => OsFamily::Other,
        }
    }

    /// The value of the `os.family` fact for this family.
    pub fn as_str(self) -> &'static str {
        match self {
            OsFamily::Windows => "windows",
            OsFamily::Linux => "linux",
            OsFamily::Macos => "macos",
            OsFamily::Other => "other",
        }
    }
}

/// How bad a problem is for the operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Background worth knowing.
    Info,
    /// Risky or very slow; the command may still run.
    Warn,
    /// The command will fail or damage data: preflight stops it.
    Block,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Info => "info",
            Severity::Warn => "warn",
            Severity::Block => "block",
        })
    }
}

/// A calendar date written `YYYY-MM-DD`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Date {
    year: u16,
    month: u8,
    day: u8,
}

impl FromStr for Date {
    type Err = ValueError;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad = || ValueError::Date(text.to_string());
        let mut parts = text.split('-');
        let (Some(y), Some(m), Some(d), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(bad());
        };
        if y.len() != 4 || m.len() != 2 || d.len() != 2 {
            return Err(bad());
        }
        let (year, month, day) = (
            y.parse().map_err(|_| bad())?,
            m.parse().map_err(|_| bad())?,
            d.parse().map_err(|_| bad())?,
        );
        if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
            return Err(bad());
        }
        Ok(Date { year, month, day })
    }
}

impl TryFrom<String> for Date {
    type Error = ValueError;
    fn try_from(text: String) -> Result<Self, Self::Error> {
        text.parse()
    }
}

impl From<Date> for String {
    fn from(d: Date) -> String {
        d.to_string()
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

/// A rule's id: lowercase letters, digits, `-` and `.`, starting with a letter or digit.
/// Parsed when the file is read, so a rule with a malformed id cannot exist.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RuleId(String);

impl RuleId {
    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for RuleId {
    type Error = ValueError;
    fn try_from(text: String) -> Result<Self, Self::Error> {
        let ok = text.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
            && text
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.');
        if ok {
            Ok(RuleId(text))
        } else {
            Err(ValueError::RuleId(text))
        }
    }
}

impl From<RuleId> for String {
    fn from(id: RuleId) -> String {
        id.0
    }
}

impl std::ops::Deref for RuleId {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl std::borrow::Borrow<str> for RuleId {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl PartialEq<str> for RuleId {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for RuleId {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

impl fmt::Display for RuleId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A regular expression in a rule, compiled once when the file is read (bounded in size, so a
/// hostile pattern cannot make the compiler eat memory). Written as its source text.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Pattern {
    source: String,
    regex: regex::Regex,
}

impl Pattern {
    /// The compiled-size limit: far above any pattern a rule needs.
    const SIZE_LIMIT: usize = 1 << 20;

    /// The pattern's source text.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// Whether `text` matches.
    pub fn is_match(&self, text: &str) -> bool {
        self.regex.is_match(text)
    }
}

impl TryFrom<String> for Pattern {
    type Error = ValueError;
    fn try_from(source: String) -> Result<Self, Self::Error> {
        let regex = regex::RegexBuilder::new(&source)
            .size_limit(Pattern::SIZE_LIMIT)
            .build()
            .map_err(|e| ValueError::Pattern {
                pattern: source.clone(),
                reason: e.to_string(),
            })?;
        Ok(Pattern { source, regex })
    }
}

impl From<Pattern> for String {
    fn from(p: Pattern) -> String {
        p.source
    }
}

impl PartialEq for Pattern {
    fn eq(&self, other: &Pattern) -> bool {
        self.source == other.source
    }
}

impl fmt::Display for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

/// One rule: a known problem, where it applies, how to recognise it, and what to do.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// Stable identifier, lowercase words joined by `-` or `.`.
    pub id: RuleId,
    /// Bumped whenever the rule's meaning changes.
    pub revision: u32,
    /// The KB articles this rule encodes.
    pub kb: Vec<KbRef>,
    /// One line saying what goes wrong.
    pub title: String,
    /// Block, warn or info.
    pub severity: Severity,
    /// When a person last checked the rule against its articles.
    pub reviewed: Date,
    /// Active, retired, or superseded by another rule.
    #[serde(default)]
    pub status: Status,
    /// Products, versions and OS families the problem exists on.
    #[serde(default)]
    pub applies: Applies,
    /// The command this rule concerns; none makes it an environment check for every `check`.
    #[serde(default)]
    pub intent: Option<Intent>,
    /// What must hold on the host for the problem to bite; none means always.
    #[serde(default)]
    pub when: Option<Condition>,
    /// The messages and codes the problem shows, for `lookup`.
    #[serde(default)]
    pub symptoms: Vec<Symptom>,
    /// What the operator should do.
    pub workaround: Workaround,
    /// Examples that `kbguard test` checks.
    #[serde(default)]
    pub tests: Vec<TestCase>,
    /// Facts every test case starts from (a case's own `facts` override them), so the host
    /// the rule is about is said once.
    #[serde(default)]
    pub given: BTreeMap<String, Literal>,
    /// What backs each claim the rule makes: short exact quotes of its articles (or of the
    /// service-pack fix lists), checked by `kbguard lint --archive`.
    #[serde(default)]
    pub evidence: Vec<Evidence>,
}

/// A quote from an article that backs one claim of a rule.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Evidence {
    /// The article quoted, e.g. `Q178311` (one the rule cites, or a fix list).
    pub article: String,
    /// A short exact phrase of it (whitespace and case aside).
    pub quote: String,
    /// Which claim it backs.
    pub supports: Supports,
}

/// The claims of a rule that evidence backs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Supports {
    /// The products, versions and OS it applies to.
    Applies,
    /// The command it concerns.
    Intent,
    /// A `when` condition.
    When,
    /// The build or service pack that fixes it.
    Fixed,
    /// Why it blocks, warns or informs.
    Severity,
    /// The workaround.
    Workaround,
    /// A symptom message.
    Symptom,
}

impl fmt::Display for Supports {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Supports::Applies => "applies",
            Supports::Intent => "intent",
            Supports::When => "when",
            Supports::Fixed => "fixed",
            Supports::Severity => "severity",
            Supports::Workaround => "workaround",
            Supports::Symptom => "symptom",
        })
    }
}

/// A reference to a KB article, with the article's own date.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct KbRef {
    /// Article id, e.g. `Q178311`.
    pub id: String,
    /// The article's date.
    pub date: Date,
}

/// Lifecycle of a rule.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Evaluated by `check`.
    #[default]
    Active,
    /// Kept for the record; not evaluated.
    Retired,
    /// Replaced by the named rule; not evaluated.
    SupersededBy(RuleId),
    /// Being written (`kbguard kb draft`): not evaluated, and its `TODO`s are warnings until
    /// it is made active.
    Draft,
}

/// Where a problem exists: products with version ranges, and OS families.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Applies {
    /// Each product must be installed in a version within its range (fact
    /// `product.<name>.version`).
    #[serde(default)]
    pub products: Vec<ProductRange>,
    /// OS families (fact `os.family`); empty means any.
    #[serde(default)]
    pub os: Vec<OsFamily>,
}

/// A product and the versions of it a rule concerns.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProductRange {
    /// Product key: the `NAME` in the fact `product.NAME.version`.
    pub name: String,
    /// The affected versions.
    pub versions: VersionRange,
}

impl ProductRange {
    /// The fact holding this product's installed version.
    pub fn fact_name(&self) -> String {
        format!("product.{}.version", self.name)
    }
}

/// The command a rule concerns.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Intent {
    /// Program name, matched case-insensitively without directory or `.exe/.com/.bat/.cmd`.
    pub program: String,
    /// Flags that must all be present (`-patch` = `/PATCH`).
    #[serde(default)]
    pub flags: Vec<String>,
    /// Flags whose presence makes the rule not apply.
    #[serde(default)]
    pub forbidden: Vec<String>,
    /// Positional-argument patterns that must each match some positional argument.
    #[serde(default)]
    pub args: Vec<ArgPattern>,
    /// Options that carry their value in the same argument, as eseutil's `/tD:\tmp.edb`.
    #[serde(default)]
    pub options: Vec<ValueOption>,
}

/// An option whose value is glued to its name (`/tD:\tmp.edb`, `/t:x`, `-t=x`).
///
/// Such an argument counts as the flag (so `flags` and `forbidden` can name it) and is neither a
/// path nor a positional argument; its value, when not empty, becomes the fact `command.<bind>`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ValueOption {
    /// The option's name in any flag spelling, e.g. `/t`.
    pub flag: String,
    /// Fact name suffix to bind the value to.
    #[serde(default)]
    pub bind: Option<String>,
}

/// A pattern over positional arguments (`*` and `?` wildcards, case-insensitive), optionally
/// binding the matched argument to the fact `command.<bind>`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArgPattern {
    /// Glob pattern, e.g. `*.edb`.
    pub pattern: String,
    /// Fact name suffix to bind the matched argument to.
    #[serde(default)]
    pub bind: Option<String>,
}

/// A condition over facts and the environment, evaluated in three-valued logic.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum Condition {
    /// Every member holds (false if any is false, even beside unknown ones).
    All(Vec<Condition>),
    /// Some member holds (true if any is true, even beside unknown ones).
    Any(Vec<Condition>),
    /// The member does not hold.
    Not(Box<Condition>),
    /// The environment variable is set (to anything, even empty).
    EnvSet(String),
    /// The environment variable is not set.
    EnvUnset(String),
    /// The environment variable equals the value (case-sensitive).
    EnvEquals(String, String),
    /// The environment variable matches the regular expression.
    EnvMatches(String, Pattern),
    /// The fact, written as text, matches the regular expression (e.g. a bound path that is a
    /// UNC path: `^\\\\`).
    FactMatches(String, Pattern),
    /// The fact equals the value.
    FactEquals(String, Literal),
    /// The fact compares with the value (`Lt`, `Le`, `Gt`, `Ge`, `Eq`, `Ne`).
    FactCompare(String, CompareOp, Literal),
    /// The fact (a version) lies in the range.
    FactInRange(String, VersionRange),
    /// Two whole-number facts compare: `left op right × percent / 100`, e.g. free space on the
    /// database's volume `Lt` 110% of the database's size.
    Compare {
        /// The left-hand fact.
        left: String,
        /// The operator.
        op: CompareOp,
        /// The right-hand fact.
        right: String,
        /// The right-hand side's scale in percent; 100 when left out.
        #[serde(default = "hundred")]
        percent: u32,
    },
    /// The path (with `{fact}` templates) exists on the local host.
    FileExists(String),
    /// The program is found on the local host's PATH.
    OnPath(String),
}

fn hundred() -> u32 {
    100
}

/// A literal value in a rule, typed against the fact it is compared with.
///
/// Written bare in rule files (`true`, `42`, `"5.5"`); binary formats such as the rule cache,
/// which cannot guess a value's kind, store it tagged.
#[derive(Clone, Debug, PartialEq)]
pub enum Literal {
    /// `true` / `false`.
    Bool(bool),
    /// A whole number.
    Int(i64),
    /// Text (also how versions are written: `"5.5"`).
    Str(String),
}

/// [`Literal`] as rule files write it: the value alone.
#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum BareLiteral {
    Bool(bool),
    Int(i64),
    Str(String),
}

/// [`Literal`] as binary formats store it: tagged.
#[derive(Serialize, Deserialize)]
enum TaggedLiteral {
    Bool(bool),
    Int(i64),
    Str(String),
}

impl Serialize for Literal {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let human = serializer.is_human_readable();
        match (self.clone(), human) {
            (Literal::Bool(b), true) => BareLiteral::Bool(b).serialize(serializer),
            (Literal::Int(i), true) => BareLiteral::Int(i).serialize(serializer),
            (Literal::Str(s), true) => BareLiteral::Str(s).serialize(serializer),
            (Literal::Bool(b), false) => TaggedLiteral::Bool(b).serialize(serializer),
            (Literal::Int(i), false) => TaggedLiteral::Int(i).serialize(serializer),
            (Literal::Str(s), false) => TaggedLiteral::Str(s).serialize(serializer),
        }
    }
}

impl<'de> Deserialize<'de> for Literal {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        if deserializer.is_human_readable() {
            Ok(match BareLiteral::deserialize(deserializer)? {
                BareLiteral::Bool(b) => Literal::Bool(b),
                BareLiteral::Int(i) => Literal::Int(i),
                BareLiteral::Str(s) => Literal::Str(s),
            })
        } else {
            Ok(match TaggedLiteral::deserialize(deserializer)? {
                TaggedLiteral::Bool(b) => Literal::Bool(b),
                TaggedLiteral::Int(i) => Literal::Int(i),
                TaggedLiteral::Str(s) => Literal::Str(s),
            })
        }
    }
}

impl fmt::Display for Literal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Literal::Bool(b) => write!(f, "{b}"),
            Literal::Int(i) => write!(f, "{i}"),
            Literal::Str(s) => write!(f, "{s:?}"),
        }
    }
}

/// A comparison operator, written in lower case like every plain value (`lt`, `ge`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CompareOp {
    /// `==`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
}

impl CompareOp {
    /// Applies the operator to an ordering of fact against literal.
    pub fn holds(self, ord: std::cmp::Ordering) -> bool {
        use std::cmp::Ordering::*;
        match self {
            CompareOp::Eq => ord == Equal,
            CompareOp::Ne => ord != Equal,
            CompareOp::Lt => ord == Less,
            CompareOp::Le => ord != Greater,
            CompareOp::Gt => ord == Greater,
            CompareOp::Ge => ord != Less,
        }
    }

    /// The operator as a symbol.
    pub fn symbol(self) -> &'static str {
        match self {
            CompareOp::Eq => "==",
            CompareOp::Ne => "!=",
            CompareOp::Lt => "<",
            CompareOp::Le => "<=",
            CompareOp::Gt => ">",
            CompareOp::Ge => ">=",
        }
    }
}

/// An error message or code the problem shows.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Symptom {
    /// The message as the product prints it; lines separated by `\n`. Placeholders such as
    /// `<filename>`, `%1` or `xxxx` match any value in a lookup query.
    pub message: String,
    /// Error codes that identify it (`JET_errKeyDuplicate`, `-1605`, `0x8004010F`).
    #[serde(default)]
    pub codes: Vec<String>,
    /// True when the message is our description of the problem, not text the product shows
    /// (the article quotes none): output never presents it as the product's message, and
    /// lookup weighs it less.
    #[serde(default)]
    pub paraphrase: bool,
}

/// What to do about the problem.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Workaround {
    /// Prose; `{fact.name}` is replaced by the fact's value when known.
    pub text: String,
    /// Mechanical steps `run --apply-workarounds` may perform (child environment only).
    #[serde(default)]
    pub actions: Vec<Action>,
}

/// A mechanical workaround step. Only the child's environment can be changed: data never runs
/// programs or writes files.
#[derive(Clone, Debug, Deserialize, Serialize)]
pub enum Action {
    /// Set the environment variable `var` of the command to the value of fact `fact`.
    SetEnv {
        /// Variable name.
        var: String,
        /// Fact whose value it takes.
        fact: String,
    },
}

/// An example evaluation that `kbguard test` checks.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestCase {
    /// What the case shows.
    pub name: String,
    /// The command line; empty for environment checks.
    #[serde(default)]
    pub command: Vec<String>,
    /// Facts of the host; every other fact is unknown.
    #[serde(default)]
    pub facts: BTreeMap<String, Literal>,
    /// The whole environment of the host; absent means unknown.
    #[serde(default)]
    pub env: Option<BTreeMap<String, String>>,
    /// The outcome the rule must give.
    pub expect: Expect,
    /// True for the case built from the article's own RESOLUTION or WORKAROUND (the command or
    /// state the article says works); it must expect Clear, or NotApplicable when the remedy is
    /// another form of command the rule does not concern.
    #[serde(default)]
    pub documented_fix: bool,
}

/// The outcome a test case expects.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Expect {
    /// The problem applies.
    Triggered,
    /// The rule applies to the command and host, and the problem is absent.
    Clear,
    /// The command, product or OS is not one the rule concerns.
    NotApplicable,
    /// The facts at hand cannot decide.
    Unknown,
}

impl fmt::Display for Expect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Expect::Triggered => "triggered",
            Expect::Clear => "clear",
            Expect::NotApplicable => "not-applicable",
            Expect::Unknown => "unknown",
        })
    }
}

/// A KB article record: the project's own summary of an article the rules cite.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct KbArticle {
    /// Format version; see [`SUPPORTED_SCHEMAS`].
    pub schema: u32,
    /// Article id, e.g. `Q178311`.
    pub id: String,
    /// The article's title, in our words.
    pub title: String,
    /// The article's date.
    pub date: Date,
    /// Products and versions it concerns.
    #[serde(default)]
    pub products: Vec<ProductVersions>,
    /// Error messages and codes it describes.
    #[serde(default)]
    pub symptoms: Vec<Symptom>,
    /// Cause, in our words.
    pub cause: String,
    /// Workaround or fix, in our words.
    pub workaround: String,
}

/// A product and version range as an article states it.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ProductVersions {
    /// Product name as people say it, e.g. `Exchange Server`.
    pub name: String,
    /// Versions, e.g. `5.5`.
    pub versions: VersionRange,
}

/// A fact value, typed.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(untagged)]
pub enum FactValue {
    /// A boolean.
    Bool(bool),
    /// A whole number.
    Int(i64),
    /// Text.
    Str(String),
    /// A version.
    Version(Version),
}

impl FactValue {
    /// The value's type.
    pub fn ty(&self) -> FactType {
        match self {
            FactValue::Bool(_) => FactType::Bool,
            FactValue::Int(_) => FactType::Int,
            FactValue::Str(_) => FactType::Str,
            FactValue::Version(_) => FactType::Version,
        }
    }

    /// Converts a literal to a value of type `ty`, if it can be read as one.
    pub fn coerce(literal: &Literal, ty: FactType) -> Result<FactValue, ValueError> {
        let wrong = || ValueError::WrongType {
            literal: literal.to_string(),
            ty,
        };
        match (ty, literal) {
            (FactType::Bool, Literal::Bool(b)) => Ok(FactValue::Bool(*b)),
            (FactType::Bool, Literal::Str(s)) => match s.to_ascii_lowercase().as_str() {
                "true" | "yes" | "1" => Ok(FactValue::Bool(true)),
                "false" | "no" | "0" => Ok(FactValue::Bool(false)),
                _ => Err(wrong()),
            },
            (FactType::Int, Literal::Int(i)) => Ok(FactValue::Int(*i)),
            (FactType::Int, Literal::Str(s)) => {
                s.trim().parse().map(FactValue::Int).map_err(|_| wrong())
            }
            (FactType::Str, Literal::Str(s)) => Ok(FactValue::Str(s.clone())),
            (FactType::Str, Literal::Bool(b)) => Ok(FactValue::Str(b.to_string())),
            (FactType::Str, Literal::Int(i)) => Ok(FactValue::Str(i.to_string())),
            (FactType::Version, Literal::Str(s)) => Ok(FactValue::Version(s.parse()?)),
            (FactType::Version, Literal::Int(i)) => i
                .to_string()
                .parse()
                .map(FactValue::Version)
                .map_err(|_| wrong()),
            _ => Err(wrong()),
        }
    }

    /// Parses command-line or snapshot text as a value of type `ty`.
    pub fn parse(text: &str, ty: FactType) -> Result<FactValue, ValueError> {
        FactValue::coerce(&Literal::Str(text.to_string()), ty)
    }
}

impl fmt::Display for FactValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FactValue::Bool(b) => write!(f, "{b}"),
            FactValue::Int(i) => write!(f, "{i}"),
            FactValue::Str(s) => f.write_str(s),
            FactValue::Version(v) => write!(f, "{v}"),
        }
    }
}
