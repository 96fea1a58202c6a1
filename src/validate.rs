//! Validation (`kbguard lint`): checks across loaded files that parsing alone cannot make.
//!
//! Owns duplicate ids, lifecycle references, fact names and types, KB records, regexes and
//! test-case facts. Each problem carries the location of the text it is about.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use miette::{Diagnostic, NamedSource, SourceSpan};
use thiserror::Error;

use crate::article::FixList;
use crate::corpus::Corpus;
use crate::facts::{
    split_family, template_refs, unknown_fact_help, Catalogue, COMMAND_PREFIX, ENV_PREFIX,
};
use crate::intent::normalize_flag;
use crate::load::{Loaded, LoadedRule};
use crate::model::{
    Action, CompareOp, Condition, Evidence, Expect, FactType, FactValue, Literal, ProbeRead, Rule,
    Severity, Status, Supports, TestCase,
};
use crate::span::Location;
use crate::version::VersionRange;

/// Whether a problem stops the rules from being used.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// Worth fixing; does not fail `lint`.
    Warning,
    /// Fails `lint`, and makes `check` and `run` fail closed.
    Error,
}

/// What is wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LintKind {
    /// Two rules share an id.
    DuplicateRuleId {
        /// Where the first one is.
        first: String,
    },
    /// Two fact declarations share a name.
    DuplicateFact {
        /// Where the first one is.
        first: String,
    },
    /// Two article records share an id.
    DuplicateArticle {
        /// Where the first one is.
        first: String,
    },
    /// A rule id that is not lowercase words joined by `-` or `.`.
    BadRuleId,
    /// A revision of 0.
    BadRevision,
    /// A rule citing no article.
    NoArticles,
    /// A cited article with no record under kb/.
    MissingArticle,
    /// A cited date that differs from the record's.
    ArticleDateMismatch {
        /// The record's date.
        record: String,
    },
    /// `SupersededBy` names no rule, or itself.
    BadSupersededBy,
    /// A fact name nothing declares.
    UnknownFact {
        /// Close names.
        hint: String,
    },
    /// A value or operator that does not fit the fact's type.
    TypeMismatch {
        /// Why.
        reason: String,
    },
    /// A regular expression that does not compile.
    BadRegex {
        /// The compiler's message.
        reason: String,
    },
    /// An intent with an empty program or flag.
    BadIntent,
    /// A rule with no symptoms (lookup cannot find it).
    NoSymptoms,
    /// A rule with no test cases.
    NoTests,
    /// A test case's command does not mention the intent's program.
    TestCommandMismatch,
    /// A `command.<name>` fact no intent argument binds.
    UnboundCommandFact,
    /// A version range no version satisfies (`4.0, 5.0` where `4.0 || 5.0` was meant).
    UnsatisfiableRange,
    /// A rule with no evidence at all.
    NoEvidence,
    /// A claim of the rule (its versions, command, a condition, its fixed build) that no
    /// evidence backs.
    UnbackedClaim {
        /// Which claim.
        claim: String,
    },
    /// A rule without a test case built from its article's documented fix.
    NoDocumentedFix,
    /// A documented-fix case that expects the remedy blocked or undecided.
    DocumentedFixNotClear,
    /// A quote that its article does not contain (`lint --archive`).
    QuoteNotFound,
    /// A cited or quoted article the archive does not hold (`lint --archive`).
    ArticleNotInArchive,
    /// A fixed bound that disagrees with the service-pack fix list naming the article
    /// (`lint --archive`).
    FixListDisagrees,
}

/// A problem `lint` found, with where it is.
#[derive(Clone, Debug, Error, Diagnostic)]
#[error("{location}: {level_word}: {message}")]
pub struct LintProblem {
    /// Warning or error.
    pub level: Level,
    /// The kind, for programs.
    pub kind: LintKind,
    /// Where.
    pub location: Location,
    /// In words.
    pub message: String,
    level_word: &'static str,
    #[source_code]
    source_code: NamedSource<Arc<str>>,
    #[label("here")]
    span: SourceSpan,
    /// What to do about it.
    #[help]
    pub help: Option<String>,
}

struct Linter<'a> {
    loaded: &'a Loaded,
    catalogue: &'a Catalogue,
    problems: Vec<LintProblem>,
}

impl Linter<'_> {
    fn report(
        &mut self,
        level: Level,
        kind: LintKind,
        file: usize,
        offset: usize,
        message: String,
        help: Option<String>,
    ) {
        let source = &self.loaded.files[file];
        let location = source.location(offset);
        self.problems.push(LintProblem {
            level,
            kind,
            span: location.span(),
            location,
            message,
            level_word: match level {
                Level::Warning => "warning",
                Level::Error => "error",
            },
            source_code: source.named_source(),
            help,
        });
    }

    /// Reports a range with an alternative no version satisfies, at the range's text found from
    /// `from` on in `file`.
    fn check_range(&mut self, file: usize, from: usize, range: &VersionRange) {
        if let Some(dead) = range.unsatisfiable_alternative() {
            let at = self.loaded.files[file]
                .find_offset(from, &format!("{:?}", range.as_str()))
                .unwrap_or(from);
            self.report(
                Level::Error,
                LintKind::UnsatisfiableRange,
                file,
                at,
                format!("no version satisfies `{dead}`: comparators joined by `,` must all hold"),
                Some(format!(
                    "for \"any of\" write alternatives with `||`, e.g. {:?}",
                    dead.split(',')
                        .map(str::trim)
                        .collect::<Vec<_>>()
                        .join(" || ")
                )),
            );
        }
    }

    /// The offset of `needle` within the rule's text (from its id on), or the rule's offset.
    fn locate(&self, rule: &LoadedRule, needle: &str) -> usize {
        self.loaded.files[rule.file]
            .find_offset(rule.offset, needle)
            .unwrap_or(rule.offset)
    }

    fn check_fact(
        &mut self,
        rule: &LoadedRule,
        name: &str,
        bound: &BTreeSet<String>,
    ) -> Option<FactType> {
        if let Some(var) = name.strip_prefix(ENV_PREFIX) {
            if var.is_empty() {
                let at = self.locate(rule, &format!("{name:?}"));
                self.report(
                    Level::Error,
                    LintKind::UnknownFact {
                        hint: String::new(),
                    },
                    rule.file,
                    at,
                    "`env.` needs a variable name".into(),
                    None,
                );
            }
            return Some(FactType::Str);
        }
        if let Some(arg) = name.strip_prefix(COMMAND_PREFIX) {
            if !bound.contains(arg) {
                let at = self.locate(rule, name);
                self.report(
                    Level::Error,
                    LintKind::UnboundCommandFact,
                    rule.file,
                    at,
                    format!("fact `{name}` is not bound by the rule's intent"),
                    Some(format!("add ArgPattern(pattern: \"...\", bind: Some({arg:?})) to the intent's args")),
                );
            }
            return Some(FactType::Str);
        }
        if let Some((_, arg)) = split_family(name) {
            for inner in template_refs(arg) {
                self.check_fact(rule, inner, bound);
            }
        }
        match self.catalogue.type_of(name) {
            Some(ty) => Some(ty),
            None => {
                let hint = unknown_fact_help(self.catalogue, name);
                let at = self.locate(rule, name);
                self.report(
                    Level::Error,
                    LintKind::UnknownFact { hint: hint.clone() },
                    rule.file,
                    at,
                    format!("unknown fact `{name}`"),
                    Some(format!("declare it in a RuleFile's facts, or {hint}")),
                );
                None
            }
        }
    }

    fn check_literal(
        &mut self,
        rule: &LoadedRule,
        name: &str,
        ty: FactType,
        op: CompareOp,
        literal: &Literal,
    ) {
        let needle = match literal {
            Literal::Str(s) => format!("{s:?}"),
            other => other.to_string(),
        };
        let reason = match FactValue::coerce(literal, ty) {
            Err(reason) => Some(format!("fact `{name}` is a {ty}: {reason}")),
            Ok(_) if ty == FactType::Bool && !matches!(op, CompareOp::Eq | CompareOp::Ne) => Some(
                format!("fact `{name}` is a bool: only Eq and Ne compare it"),
            ),
            Ok(_) => None,
        };
        if let Some(reason) = reason {
            let at = self.locate(rule, &needle);
            self.type_mismatch(rule, at, reason);
        }
    }

    fn type_mismatch(&mut self, rule: &LoadedRule, at: usize, reason: String) {
        let kind = LintKind::TypeMismatch {
            reason: reason.clone(),
        };
        self.report(Level::Error, kind, rule.file, at, reason, None);
    }

    /// Checks that `name` is known and of type `wanted`; `why` says what needs that type.
    fn expect_type(
        &mut self,
        rule: &LoadedRule,
        name: &str,
        bound: &BTreeSet<String>,
        wanted: FactType,
        why: &str,
    ) {
        match self.check_fact(rule, name, bound) {
            Some(ty) if ty != wanted => {
                let at = self.locate(rule, name);
                let reason = format!("fact `{name}` is a {ty}; {why}");
                self.type_mismatch(rule, at, reason);
            }
            _ => {}
        }
    }

    fn check_condition(&mut self, rule: &LoadedRule, cond: &Condition, bound: &BTreeSet<String>) {
        match cond {
            Condition::All(members) | Condition::Any(members) => {
                for m in members {
                    self.check_condition(rule, m, bound);
                }
            }
            Condition::Not(inner) => self.check_condition(rule, inner, bound),
            Condition::EnvSet(_) | Condition::EnvUnset(_) | Condition::EnvEquals(..) => {}
            Condition::EnvMatches(_, pattern) | Condition::FactMatches(_, pattern) => {
                if let Condition::FactMatches(name, _) = cond {
                    self.check_fact(rule, name, bound);
                }
                if let Err(err) = crate::eval::compile_pattern(pattern) {
                    let at = self.locate(rule, &format!("{pattern:?}"));
                    let reason = err.to_string();
                    self.report(
                        Level::Error,
                        LintKind::BadRegex {
                            reason: reason.clone(),
                        },
                        rule.file,
                        at,
                        format!("bad regular expression: {reason}"),
                        None,
                    );
                }
            }
            Condition::FactEquals(name, literal) => {
                if let Some(ty) = self.check_fact(rule, name, bound) {
                    self.check_literal(rule, name, ty, CompareOp::Eq, literal);
                }
            }
            Condition::FactCompare(name, op, literal) => {
                if let Some(ty) = self.check_fact(rule, name, bound) {
                    self.check_literal(rule, name, ty, *op, literal);
                }
            }
            Condition::FactInRange(name, range) => {
                self.check_range(rule.file, rule.offset, range);
                self.expect_type(
                    rule,
                    name,
                    bound,
                    FactType::Version,
                    "FactInRange needs a version",
                );
            }
            Condition::Compare { left, right, .. } => {
                for name in [left, right] {
                    self.expect_type(
                        rule,
                        name,
                        bound,
                        FactType::Int,
                        "Compare needs whole numbers",
                    );
                }
            }
            Condition::FileExists(template) => {
                for name in template_refs(template) {
                    self.check_fact(rule, name, bound);
                }
            }
            Condition::OnPath(_) => {}
        }
    }

    fn check_rule(
        &mut self,
        rule: &LoadedRule,
        ids: &BTreeMap<&str, &LoadedRule>,
        articles: &BTreeMap<&str, (usize, String)>,
    ) {
        let r: &Rule = &rule.rule;
        let id_ok = !r.id.is_empty()
            && r.id
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
            && r.id.starts_with(|c: char| c.is_ascii_alphanumeric());
        if !id_ok {
            self.report(
                Level::Error,
                LintKind::BadRuleId,
                rule.file,
                rule.offset,
                format!(
                    "rule id {:?} must be lowercase letters, digits, `-` and `.`",
                    r.id
                ),
                None,
            );
        }
        if r.revision == 0 {
            let at = self.locate(rule, "revision");
            self.report(
                Level::Error,
                LintKind::BadRevision,
                rule.file,
                at,
                "revision starts at 1".into(),
                None,
            );
        }
        if r.kb.is_empty() {
            self.report(
                Level::Error,
                LintKind::NoArticles,
                rule.file,
                rule.offset,
                format!("rule {} cites no KB article", r.id),
                Some("add kb: [(id: \"QNNNNNN\", date: \"YYYY-MM-DD\")]".into()),
            );
        }
        for kb in &r.kb {
            let at = self.locate(rule, &format!("{:?}", kb.id));
            match articles.get(kb.id.as_str()) {
                None => self.report(
                    Level::Error,
                    LintKind::MissingArticle,
                    rule.file,
                    at,
                    format!(
                        "rule {} cites {} but there is no record for it",
                        r.id, kb.id
                    ),
                    Some(format!(
                        "add kb/{}.ron: KbArticle(schema: 1, id: {:?}, ...)",
                        kb.id, kb.id
                    )),
                ),
                Some((_, date)) if *date != kb.date.to_string() => self.report(
                    Level::Error,
                    LintKind::ArticleDateMismatch {
                        record: date.clone(),
                    },
                    rule.file,
                    at,
                    format!(
                        "rule {} cites {} dated {}, but its record says {}",
                        r.id, kb.id, kb.date, date
                    ),
                    None,
                ),
                Some(_) => {}
            }
        }
        if let Status::SupersededBy(target) = &r.status {
            if target == &r.id || !ids.contains_key(target.as_str()) {
                let at = self.locate(rule, &format!("{target:?}"));
                self.report(
                    Level::Error,
                    LintKind::BadSupersededBy,
                    rule.file,
                    at,
                    format!(
                        "rule {} is superseded by {target}, which is not another loaded rule",
                        r.id
                    ),
                    None,
                );
            }
        }
        let mut bound = BTreeSet::new();
        if let Some(intent) = &r.intent {
            let bad_flag = intent.flags.iter().chain(&intent.forbidden).find(|f| {
                normalize_flag(f).is_none() && (f.is_empty() || f.starts_with(['-', '/']))
            });
            // An option's name must be a flag: its value is what follows the name.
            let bad_option = intent
                .options
                .iter()
                .find(|o| normalize_flag(&o.flag).is_none());
            if intent.program.trim().is_empty() || bad_flag.is_some() || bad_option.is_some() {
                let at = self.locate(rule, "intent");
                self.report(
                    Level::Error,
                    LintKind::BadIntent,
                    rule.file,
                    at,
                    "intent needs a program name, and flags and options that are flags (`/t`, `-patch`)".into(),
                    None,
                );
            }
            bound.extend(intent.args.iter().filter_map(|a| a.bind.clone()));
            bound.extend(intent.options.iter().filter_map(|o| o.bind.clone()));
        }
        for product in &r.applies.products {
            self.check_fact(rule, &product.fact_name(), &bound);
            self.check_range(rule.file, rule.offset, &product.versions);
        }
        if let Some(when) = &r.when {
            self.check_condition(rule, when, &bound);
        }
        for name in template_refs(&r.workaround.text) {
            self.check_fact(rule, name, &bound);
        }
        for Action::SetEnv { fact, .. } in &r.workaround.actions {
            self.check_fact(rule, fact, &bound);
        }
        if r.symptoms.is_empty() {
            self.report(
                Level::Warning,
                LintKind::NoSymptoms,
                rule.file,
                rule.offset,
                format!("rule {} has no symptoms; lookup cannot find it", r.id),
                None,
            );
        }
        if r.tests.is_empty() {
            self.report(
                Level::Warning,
                LintKind::NoTests,
                rule.file,
                rule.offset,
                format!("rule {} has no test cases", r.id),
                None,
            );
        }
        for case in &r.tests {
            for (name, literal) in &case.facts {
                if let Some(ty) = self.check_fact(rule, name, &bound) {
                    self.check_literal(rule, name, ty, CompareOp::Eq, literal);
                }
            }
        }
        self.check_provenance(rule);
    }

    /// Evidence for every claim, and a documented-fix case that expects Clear.
    fn check_provenance(&mut self, rule: &LoadedRule) {
        let r = &rule.rule;
        if r.status != Status::Active {
            return;
        }
        if r.evidence.is_empty() {
            self.report(
                Level::Warning,
                LintKind::NoEvidence,
                rule.file,
                rule.offset,
                format!("rule {} quotes no evidence from its articles", r.id),
                Some("add `evidence: [(article: \"Q…\", quote: \"…\", supports: when)]` for each claim; docs/rules.md".into()),
            );
        } else {
            for (claim, needed) in claims(r) {
                if needed && !r.evidence.iter().any(|e| e.supports == claim) {
                    self.report(
                        Level::Warning,
                        LintKind::UnbackedClaim {
                            claim: claim.to_string(),
                        },
                        rule.file,
                        rule.offset,
                        format!("rule {}: no evidence supports its `{claim}`", r.id),
                        Some(format!("quote the article's words for it: `(article: \"…\", quote: \"…\", supports: {claim})`")),
                    );
                }
            }
        }
        let fixes: Vec<&TestCase> = r.tests.iter().filter(|c| c.documented_fix).collect();
        // An info rule is a reminder: its remedy is the advice itself, which it cannot observe.
        if fixes.is_empty() && !r.tests.is_empty() && r.severity != Severity::Info {
            self.report(
                Level::Warning,
                LintKind::NoDocumentedFix,
                rule.file,
                rule.offset,
                format!("rule {} has no test case built from its article's documented fix", r.id),
                Some("add the command or state the article's RESOLUTION/WORKAROUND says works, with `documented_fix: true, expect: Clear`".into()),
            );
        }
        // The remedy is clear; or, when it is another form of command the rule does not
        // concern (another program, a flag the intent forbids), not applicable. Never blocked.
        let blocked = |c: &&&TestCase| !matches!(c.expect, Expect::Clear | Expect::NotApplicable);
        for case in fixes.iter().filter(blocked) {
            let at = self.locate(rule, &format!("{:?}", case.name));
            self.report(
                Level::Error,
                LintKind::DocumentedFixNotClear,
                rule.file,
                at,
                format!(
                    "the documented fix {:?} expects {}: the article's own remedy must be clear",
                    case.name, case.expect
                ),
                None,
            );
        }
    }
}

/// What `lint --archive` checks rules against.
pub struct ArchiveEvidence<'a> {
    /// The imported archive.
    pub corpus: &'a dyn Corpus,
    /// Its service-pack fix lists.
    pub fix_lists: &'a [FixList],
}

/// Text compared whitespace and case aside.
fn normalized(text: &str) -> String {
    text.split_whitespace()
        .map(str::to_lowercase)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Checks every rule's provenance against the archive: each cited and quoted article exists,
/// each quote occurs in its article, and each fixed bound agrees with the service-pack fix list
/// that names the rule's article (by the service pack, or by the build `builds` gives it).
pub fn lint_archive(
    loaded: &Loaded,
    catalogue: &Catalogue,
    archive: &ArchiveEvidence,
) -> Vec<LintProblem> {
    let mut linter = Linter {
        loaded,
        catalogue,
        problems: Vec::new(),
    };
    let mut texts: BTreeMap<String, Option<String>> = BTreeMap::new();
    let mut text_of = |id: &str| -> Option<String> {
        texts
            .entry(id.to_ascii_uppercase())
            .or_insert_with(|| {
                let aid = archive.corpus.find(id)?;
                let sections = archive.corpus.sections(aid);
                let all: Vec<String> = sections.into_iter().flat_map(|(h, t)| [h, t]).collect();
                Some(normalized(&all.join("\n")))
            })
            .clone()
    };
    let mut check_quote = |linter: &mut Linter,
                           file: usize,
                           offset: usize,
                           e: &Evidence,
                           owner: &str| {
        match text_of(&e.article) {
            None => linter.report(
                Level::Error,
                LintKind::ArticleNotInArchive,
                file,
                offset,
                format!(
                    "{owner}: evidence quotes {}, which the archive does not hold",
                    e.article
                ),
                None,
            ),
            Some(text) if !text.contains(&normalized(&e.quote)) => {
                let at = linter.loaded.files[file]
                    .find_offset(offset, &e.quote.chars().take(20).collect::<String>())
                    .unwrap_or(offset);
                linter.report(
                    Level::Error,
                    LintKind::QuoteNotFound,
                    file,
                    at,
                    format!("{owner}: {} does not contain the quote {:?}", e.article, e.quote),
                    Some("a quote must be the article's exact words (whitespace and case aside); `kbguard kb show ID` prints it".into()),
                );
            }
            Some(_) => {}
        }
    };
    for (build, file) in &loaded.builds {
        let owner = format!(
            "build of {} service pack {}",
            build.product, build.service_pack
        );
        check_quote(&mut linter, *file, 0, &build.evidence, &owner);
    }
    for rule in loaded
        .rules
        .iter()
        .filter(|r| r.rule.status == Status::Active)
    {
        let r = &rule.rule;
        for kb in &r.kb {
            if archive.corpus.find(&kb.id).is_none() {
                let at = linter.locate(rule, &format!("{:?}", kb.id));
                linter.report(
                    Level::Error,
                    LintKind::ArticleNotInArchive,
                    rule.file,
                    at,
                    format!(
                        "rule {} cites {}, which the archive does not hold",
                        r.id, kb.id
                    ),
                    None,
                );
            }
        }
        for e in &r.evidence {
            let at = linter.locate(rule, &format!("{:?}", e.quote));
            check_quote(&mut linter, rule.file, at, e, &format!("rule {}", r.id));
        }
        check_fix_lists(&mut linter, rule, archive.fix_lists);
    }
    linter.problems
}

/// The earliest service pack a fix list says fixes one of the rule's articles, compared with the
/// rule's own fixed bound.
fn check_fix_lists(linter: &mut Linter, rule: &LoadedRule, fix_lists: &[FixList]) {
    let r = &rule.rule;
    let bounds = r.when.as_ref().map(fixed_bounds).unwrap_or_default();
    for product in &r.applies.products {
        let named = |l: &&FixList| {
            let words = l.product.to_lowercase();
            words.contains(&product.name.to_lowercase())
                && crate::version::Version::parse_prefix(
                    words
                        .split_whitespace()
                        .find(|w| w.starts_with(|c: char| c.is_ascii_digit()))
                        .unwrap_or(""),
                )
                .is_some_and(|v| product.versions.contains(&v))
        };
        let fixed = fix_lists
            .iter()
            .filter(named)
            .filter(|l| {
                r.kb.iter()
                    .any(|kb| l.fixes.iter().any(|f| f.eq_ignore_ascii_case(&kb.id)))
            })
            .min_by_key(|l| l.service_pack);
        let Some(list) = fixed else {
            continue;
        };
        let sp = list.service_pack;
        let agrees = bounds.iter().any(|b| match b {
            FixedBound::ServicePack(name, n) => name == &product.name && *n == i64::from(sp),
            FixedBound::Build(name, v) => {
                name == &product.name
                    && linter.loaded.builds.iter().any(|(b, _)| {
                        b.product == product.name && b.service_pack == sp && b.build == *v
                    })
            }
        });
        if !agrees {
            let have = if bounds.is_empty() {
                "no fixed bound".to_string()
            } else {
                bounds
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            linter.report(
                Level::Warning,
                LintKind::FixListDisagrees,
                rule.file,
                rule.offset,
                format!(
                    "rule {}: {} lists its article as fixed in {} service pack {sp}, but the rule has {have}",
                    r.id, list.article, list.product
                ),
                Some(format!("bound it with `FactCompare(\"product.{}.sp\", Lt, {sp})` or the build of service pack {sp} (a `builds` entry gives it)", product.name)),
            );
        }
    }
}

/// The claims a rule makes that evidence must back: (claim, whether the rule makes it).
pub fn claims(r: &Rule) -> [(Supports, bool); 4] {
    [
        (Supports::Applies, !r.applies.products.is_empty()),
        (Supports::Intent, r.intent.is_some()),
        (Supports::When, r.when.is_some()),
        (
            Supports::Fixed,
            r.when.as_ref().is_some_and(|w| !fixed_bounds(w).is_empty()),
        ),
    ]
}

/// A rule's bound on a product's build or service pack: the problem holds below it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FixedBound {
    /// `product.NAME.version` below this build.
    Build(String, crate::version::Version),
    /// `product.NAME.sp` below this service pack.
    ServicePack(String, i64),
}

impl std::fmt::Display for FixedBound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FixedBound::Build(name, v) => write!(f, "product.{name}.version < {v}"),
            FixedBound::ServicePack(name, n) => write!(f, "product.{name}.sp < {n}"),
        }
    }
}

/// The fixed bounds a condition states (`FactCompare("product.exchange.sp", Lt, 2)`,
/// `FactCompare("product.exchange.version", Lt, "5.5.2448")`), looking inside `All`.
pub fn fixed_bounds(cond: &Condition) -> Vec<FixedBound> {
    match cond {
        Condition::All(members) => members.iter().flat_map(fixed_bounds).collect(),
        Condition::FactCompare(fact, CompareOp::Lt, literal) => {
            let Some(product) = fact.strip_prefix("product.") else {
                return Vec::new();
            };
            match (product.rsplit_once('.'), literal) {
                (Some((name, "sp")), Literal::Int(n)) => {
                    vec![FixedBound::ServicePack(name.into(), *n)]
                }
                (Some((name, "version")), Literal::Str(v)) => v
                    .parse()
                    .map(|v| vec![FixedBound::Build(name.into(), v)])
                    .unwrap_or_default(),
                _ => Vec::new(),
            }
        }
        _ => Vec::new(),
    }
}

/// Checks everything loaded; problems come back in file order.
pub fn lint(loaded: &Loaded, catalogue: &Catalogue) -> Vec<LintProblem> {
    let mut linter = Linter {
        loaded,
        catalogue,
        problems: Vec::new(),
    };
    let mut ids: BTreeMap<&str, &LoadedRule> = BTreeMap::new();
    for rule in &loaded.rules {
        if let Some(first) = ids.get(rule.rule.id.as_str()) {
            let first = loaded.location(first.file, first.offset).to_string();
            linter.report(
                Level::Error,
                LintKind::DuplicateRuleId { first: first.clone() },
                rule.file,
                rule.offset,
                format!("duplicate rule id {:?} (first defined at {first})", rule.rule.id),
                Some("rule ids must be unique across all loaded files; to replace a built-in rule, load with --no-default-rules".into()),
            );
        } else {
            ids.insert(&rule.rule.id, rule);
        }
    }
    let mut facts: BTreeMap<&str, String> = BTreeMap::new();
    for fact in &loaded.facts {
        let here = loaded.location(fact.file, fact.offset).to_string();
        if let Some(first) = facts.get(fact.decl.name.as_str()) {
            linter.report(
                Level::Error,
                LintKind::DuplicateFact {
                    first: first.clone(),
                },
                fact.file,
                fact.offset,
                format!(
                    "fact {:?} is declared twice (first at {first})",
                    fact.decl.name
                ),
                None,
            );
        } else {
            facts.insert(&fact.decl.name, here);
        }
        if let Some(probe) = &fact.decl.probe {
            let template = match &probe.read {
                ProbeRead::FileExists(t) | ProbeRead::FileSize(t) => Some(t),
                ProbeRead::Env(_) => None,
            };
            for name in template.into_iter().flat_map(|t| template_refs(t)) {
                if !name.starts_with(ENV_PREFIX) && catalogue.type_of(name).is_none() {
                    linter.report(
                        Level::Error,
                        LintKind::UnknownFact {
                            hint: unknown_fact_help(catalogue, name),
                        },
                        fact.file,
                        fact.offset,
                        format!("probe of {:?} reads unknown fact `{name}`", fact.decl.name),
                        None,
                    );
                }
            }
        }
    }
    let mut articles: BTreeMap<&str, (usize, String)> = BTreeMap::new();
    for record in &loaded.articles {
        let a = &record.article;
        if let Some((file, _)) = articles.get(a.id.as_str()) {
            let first = loaded.files[*file].name.clone();
            let at = loaded.files[record.file]
                .find(0, &format!("{:?}", a.id))
                .map_or(0, |l| l.offset);
            linter.report(
                Level::Error,
                LintKind::DuplicateArticle {
                    first: first.clone(),
                },
                record.file,
                at,
                format!("article {} has a second record (first in {first})", a.id),
                None,
            );
        } else {
            articles.insert(&a.id, (record.file, a.date.to_string()));
        }
        for product in &a.products {
            linter.check_range(record.file, 0, &product.versions);
        }
    }
    for rule in &loaded.rules {
        linter.check_rule(rule, &ids, &articles);
    }
    linter.problems
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lint_text(files: &[&str]) -> Vec<LintProblem> {
        let mut loaded = Loaded::default();
        for (i, text) in files.iter().enumerate() {
            loaded.add_text(format!("f{i}.ron"), Arc::from(*text));
        }
        assert!(loaded.errors.is_empty(), "{:?}", loaded.errors);
        let catalogue = Catalogue::from_loaded(&loaded);
        lint(&loaded, &catalogue)
    }

    const ARTICLE: &str = r#"KbArticle(schema: 1, id: "Q1", title: "t", date: "2002-01-01", cause: "c", workaround: "w")"#;

    fn rule(id: &str, extra: &str) -> String {
        format!(
            r#"RuleFile(schema: 1, facts: [(name: "cluster.node", type: bool, doc: "d")], rules: [Rule(
    id: "{id}", revision: 1, kb: [(id: "Q1", date: "2002-01-01")], title: "t", severity: block,
    reviewed: "2026-01-01", symptoms: [(message: "m")], workaround: (text: "w"),
    tests: [(name: "n", expect: Clear, documented_fix: true)],
    evidence: [(article: "Q1", quote: "the article's words", supports: workaround)], {extra}
)])"#
        )
    }

    #[test]
    fn clean_rule_has_no_problems() {
        assert!(lint_text(&[ARTICLE, &rule("a", "")]).is_empty());
    }

    #[test]
    fn claims_need_evidence_and_the_documented_fix_must_be_clear() {
        let kinds = |text: &str| -> Vec<LintKind> {
            lint_text(&[ARTICLE, text])
                .into_iter()
                .map(|p| p.kind)
                .collect()
        };
        let bare = rule("a", "").replace(
            "evidence: [(article: \"Q1\", quote: \"the article's words\", supports: workaround)],",
            "",
        );
        assert_eq!(kinds(&bare), [LintKind::NoEvidence]);
        let when = rule("a", r#"when: FactCompare("product.exchange.sp", Lt, 2),"#);
        let facts = r#"facts: [(name: "cluster.node", type: bool, doc: "d"), (name: "product.exchange.sp", type: int, doc: "d")]"#;
        let when = when.replace(
            r#"facts: [(name: "cluster.node", type: bool, doc: "d")]"#,
            facts,
        );
        assert_eq!(
            kinds(&when),
            [
                LintKind::UnbackedClaim {
                    claim: "when".into()
                },
                LintKind::UnbackedClaim {
                    claim: "fixed".into()
                }
            ]
        );
        let no_fix = rule("a", "").replace(", documented_fix: true", "");
        assert_eq!(kinds(&no_fix), [LintKind::NoDocumentedFix]);
        let triggered = rule("a", "").replace(
            "expect: Clear, documented_fix: true",
            "expect: Triggered, documented_fix: true",
        );
        assert_eq!(kinds(&triggered), [LintKind::DocumentedFixNotClear]);
    }

    #[test]
    fn fixed_bounds_are_read_from_the_condition() {
        let cond: Condition = ron::from_str(
            r#"All([FactCompare("product.exchange.sp", Lt, 2), FactCompare("product.exchange.version", Lt, "5.5.2448"), FactEquals("cluster.node", true)])"#,
        )
        .unwrap();
        let bounds: Vec<String> = fixed_bounds(&cond)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            bounds,
            [
                "product.exchange.sp < 2",
                "product.exchange.version < 5.5.2448"
            ]
        );
    }

    #[test]
    fn duplicate_ids_across_files_point_at_both() {
        let problems = lint_text(&[
            ARTICLE,
            &rule("a", ""),
            &rule("a", "").replace(
                "facts: [(name: \"cluster.node\", type: bool, doc: \"d\")], ",
                "",
            ),
        ]);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!(
            problems[0].to_string(),
            "f2.ron:2:9: error: duplicate rule id \"a\" (first defined at f1.ron:2:9)"
        );
    }

    #[test]
    fn unknown_facts_types_and_missing_records() {
        let problems = lint_text(&[&rule(
            "a",
            r#"when: All([FactEquals("cluster.nodes", true), FactEquals("cluster.node", "maybe")]), status: SupersededBy("zzz")"#,
        )]);
        let messages: Vec<String> = problems.iter().map(|p| p.message.clone()).collect();
        assert!(
            messages
                .iter()
                .any(|m| m.contains("cites Q1 but there is no record")),
            "{messages:?}"
        );
        assert!(
            messages.iter().any(|m| m == "unknown fact `cluster.nodes`"),
            "{messages:?}"
        );
        assert!(
            messages.iter().any(|m| m.contains("is a bool")),
            "{messages:?}"
        );
        assert!(
            messages.iter().any(|m| m.contains("superseded by zzz")),
            "{messages:?}"
        );
    }
}
