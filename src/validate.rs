//! Validation (`kbguard lint`): checks across loaded files that parsing alone cannot make.
//!
//! Owns duplicate ids, lifecycle references, fact names and types, KB records, regexes and
//! test-case facts. Each problem carries the location of the text it is about.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::ops::Range;
use std::sync::Arc;

use miette::{Diagnostic, NamedSource, SourceSpan};
use thiserror::Error;

use crate::analysis::code_tokens;
use crate::article::FixList;
use crate::corpus::Corpus;
use crate::intent::normalize_flag;
use crate::load::{Loaded, LoadedRule};
use crate::model::{
    Action, CompareOp, Condition, Evidence, Expect, FactType, FactValue, KbArticle, Literal,
    ProbeRead, Rule, Severity, Status, Supports, Symptom, TestCase,
};
use crate::schema::{
    split_family, template_refs, unknown_fact_help, Catalogue, COMMAND_PREFIX, ENV_PREFIX,
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
    /// An intent with an empty program or flag.
    BadIntent,
    /// A rule with no symptoms (lookup cannot find it).
    NoSymptoms,
    /// A rule with no test cases.
    NoTests,
    /// A symptom code that no query can match: it has no word in it.
    UnmatchableCode,
    /// A `TODO` left in a draft rule.
    DraftTodo,
    /// A `TODO` left in a rule that is not a draft.
    TodoInActiveRule,
    /// A rule's symptom message that its article's record does not hold word for word.
    SymptomNotInRecord,
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

/// A lint's stable code: its name in output, in `lint --explain`, and for programs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LintCode {
    /// Two rules share an id; ids must be unique across every loaded file.
    DuplicateRuleId,
    /// Two fact declarations share a name; the first one wins.
    DuplicateFact,
    /// Two article records share an id.
    DuplicateArticle,
    /// A rule revision of 0; revisions start at 1.
    BadRevision,
    /// A rule citing no article (kb: []).
    NoArticles,
    /// A cited article with no record under kb/.
    MissingArticle,
    /// A cited article date that differs from the record's.
    ArticleDateMismatch,
    /// superseded_by names no loaded rule, or the rule itself.
    BadSupersededBy,
    /// A fact name that nothing declares (rules/facts.ron, or a built-in fact).
    UnknownFact,
    /// A value or operator that does not fit the fact's type.
    TypeMismatch,
    /// An intent with an empty program or flag.
    BadIntent,
    /// A rule without symptoms: lookup cannot find it.
    NoSymptoms,
    /// A rule without test cases.
    NoTests,
    /// A command.<name> fact that no intent argument or option binds.
    UnboundCommandFact,
    /// A version range no version satisfies (`4.0, 5.0` where `4.0 || 5.0` was meant).
    UnsatisfiableRange,
    /// A rule with no evidence: no quote of its article backs it.
    NoEvidence,
    /// A claim of the rule (versions, command, a condition, severity, workaround, a symptom) that no evidence backs.
    UnbackedClaim,
    /// A rule without a test case built from its article's own remedy (documented_fix: true); info rules are exempt.
    NoDocumentedFix,
    /// A documented-fix test case that expects the remedy to be blocked or undecided.
    DocumentedFixNotClear,
    /// An evidence quote that its article does not contain (lint --archive).
    QuoteNotFound,
    /// A cited or quoted article the imported archive does not hold (lint --archive).
    ArticleNotInArchive,
    /// A fixed bound that disagrees with the service-pack fix list naming the article (lint --archive).
    FixListDisagrees,
    /// A symptom code with no word in it, which no lookup query can match (multi-word codes match as phrases).
    UnmatchableCode,
    /// A TODO left in a draft rule: a decision still to make before the rule is made active.
    DraftTodo,
    /// A TODO left in a rule that is not a draft (status active, retired or superseded).
    TodoInActiveRule,
    /// A rule's symptom message that the record of the article it cites does not hold word for word: the record is the source, the rule's copy must equal it.
    SymptomNotInRecord,
}

impl LintCode {
    /// Every code, in the order `lint --explain all` lists them.
    pub const ALL: &'static [LintCode] = &[
        LintCode::DuplicateRuleId,
        LintCode::DuplicateFact,
        LintCode::DuplicateArticle,
        LintCode::BadRevision,
        LintCode::NoArticles,
        LintCode::MissingArticle,
        LintCode::ArticleDateMismatch,
        LintCode::BadSupersededBy,
        LintCode::UnknownFact,
        LintCode::TypeMismatch,
        LintCode::BadIntent,
        LintCode::NoSymptoms,
        LintCode::NoTests,
        LintCode::UnboundCommandFact,
        LintCode::UnsatisfiableRange,
        LintCode::NoEvidence,
        LintCode::UnbackedClaim,
        LintCode::NoDocumentedFix,
        LintCode::DocumentedFixNotClear,
        LintCode::QuoteNotFound,
        LintCode::ArticleNotInArchive,
        LintCode::FixListDisagrees,
        LintCode::UnmatchableCode,
        LintCode::SymptomNotInRecord,
        LintCode::DraftTodo,
        LintCode::TodoInActiveRule,
    ];

    /// The code as written (`unknown-fact`).
    pub fn name(self) -> &'static str {
        match self {
            LintCode::DuplicateRuleId => "duplicate-rule-id",
            LintCode::DuplicateFact => "duplicate-fact",
            LintCode::DuplicateArticle => "duplicate-article",
            LintCode::BadRevision => "bad-revision",
            LintCode::NoArticles => "no-articles",
            LintCode::MissingArticle => "missing-article",
            LintCode::ArticleDateMismatch => "article-date-mismatch",
            LintCode::BadSupersededBy => "bad-superseded-by",
            LintCode::UnknownFact => "unknown-fact",
            LintCode::TypeMismatch => "type-mismatch",
            LintCode::BadIntent => "bad-intent",
            LintCode::NoSymptoms => "no-symptoms",
            LintCode::NoTests => "no-tests",
            LintCode::UnboundCommandFact => "unbound-command-fact",
            LintCode::UnsatisfiableRange => "unsatisfiable-range",
            LintCode::NoEvidence => "no-evidence",
            LintCode::UnbackedClaim => "unbacked-claim",
            LintCode::NoDocumentedFix => "no-documented-fix",
            LintCode::DocumentedFixNotClear => "documented-fix-not-clear",
            LintCode::QuoteNotFound => "quote-not-found",
            LintCode::ArticleNotInArchive => "article-not-in-archive",
            LintCode::FixListDisagrees => "fix-list-disagrees",
            LintCode::UnmatchableCode => "unmatchable-code",
            LintCode::DraftTodo => "draft-todo",
            LintCode::TodoInActiveRule => "todo-in-active-rule",
            LintCode::SymptomNotInRecord => "symptom-not-in-record",
        }
    }

    /// What it means, in one line.
    pub fn description(self) -> &'static str {
        match self {
            LintCode::DuplicateRuleId => "Two rules share an id; ids must be unique across every loaded file.",
            LintCode::DuplicateFact => "Two fact declarations share a name; the first one wins.",
            LintCode::DuplicateArticle => "Two article records share an id.",
            LintCode::BadRevision => "A rule revision of 0; revisions start at 1.",
            LintCode::NoArticles => "A rule citing no article (kb: []).",
            LintCode::MissingArticle => "A cited article with no record under kb/.",
            LintCode::ArticleDateMismatch => "A cited article date that differs from the record's.",
            LintCode::BadSupersededBy => "superseded_by names no loaded rule, or the rule itself.",
            LintCode::UnknownFact => "A fact name that nothing declares (rules/facts.ron, or a built-in fact).",
            LintCode::TypeMismatch => "A value or operator that does not fit the fact's type.",
            LintCode::BadIntent => "An intent with an empty program or flag.",
            LintCode::NoSymptoms => "A rule without symptoms: lookup cannot find it.",
            LintCode::NoTests => "A rule without test cases.",
            LintCode::UnboundCommandFact => "A command.<name> fact that no intent argument or option binds.",
            LintCode::UnsatisfiableRange => "A version range no version satisfies (`4.0, 5.0` where `4.0 || 5.0` was meant).",
            LintCode::NoEvidence => "A rule with no evidence: no quote of its article backs it.",
            LintCode::UnbackedClaim => "A claim of the rule (versions, command, a condition, severity, workaround, a symptom) that no evidence backs.",
            LintCode::NoDocumentedFix => "A rule without a test case built from its article's own remedy (documented_fix: true); info rules are exempt.",
            LintCode::DocumentedFixNotClear => "A documented-fix test case that expects the remedy to be blocked or undecided.",
            LintCode::QuoteNotFound => "An evidence quote that its article does not contain (lint --archive).",
            LintCode::ArticleNotInArchive => "A cited or quoted article the imported archive does not hold (lint --archive).",
            LintCode::FixListDisagrees => "A fixed bound that disagrees with the service-pack fix list naming the article (lint --archive).",
            LintCode::DraftTodo => "A TODO left in a draft rule: a decision still to make before the rule is made active.",
            LintCode::TodoInActiveRule => "A TODO left in a rule that is not a draft: finish it, or set status: draft.",
            LintCode::UnmatchableCode => "A symptom code with no word in it, which no lookup query can match (multi-word codes match as phrases).",
            LintCode::SymptomNotInRecord => "A rule's symptom message that the record of the article it cites does not hold word for word: the record is the source, the rule's copy must equal it.",
        }
    }

    /// How serious it is.
    pub fn level(self) -> Level {
        match self {
            LintCode::NoSymptoms
            | LintCode::NoTests
            | LintCode::NoEvidence
            | LintCode::UnbackedClaim
            | LintCode::NoDocumentedFix
            | LintCode::FixListDisagrees
            | LintCode::DraftTodo => Level::Warning,
            _ => Level::Error,
        }
    }

    /// The code named `name`.
    pub fn parse(name: &str) -> Option<LintCode> {
        LintCode::ALL.iter().copied().find(|c| c.name() == name)
    }
}

impl fmt::Display for LintCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl LintKind {
    /// Its stable code.
    pub fn code(&self) -> LintCode {
        match self {
            LintKind::DuplicateRuleId { .. } => LintCode::DuplicateRuleId,
            LintKind::DuplicateFact { .. } => LintCode::DuplicateFact,
            LintKind::DuplicateArticle { .. } => LintCode::DuplicateArticle,
            LintKind::BadRevision => LintCode::BadRevision,
            LintKind::NoArticles => LintCode::NoArticles,
            LintKind::MissingArticle => LintCode::MissingArticle,
            LintKind::ArticleDateMismatch { .. } => LintCode::ArticleDateMismatch,
            LintKind::BadSupersededBy => LintCode::BadSupersededBy,
            LintKind::UnknownFact { .. } => LintCode::UnknownFact,
            LintKind::TypeMismatch { .. } => LintCode::TypeMismatch,
            LintKind::BadIntent => LintCode::BadIntent,
            LintKind::NoSymptoms => LintCode::NoSymptoms,
            LintKind::NoTests => LintCode::NoTests,
            LintKind::UnboundCommandFact => LintCode::UnboundCommandFact,
            LintKind::UnsatisfiableRange => LintCode::UnsatisfiableRange,
            LintKind::NoEvidence => LintCode::NoEvidence,
            LintKind::UnbackedClaim { .. } => LintCode::UnbackedClaim,
            LintKind::NoDocumentedFix => LintCode::NoDocumentedFix,
            LintKind::DocumentedFixNotClear => LintCode::DocumentedFixNotClear,
            LintKind::QuoteNotFound => LintCode::QuoteNotFound,
            LintKind::ArticleNotInArchive => LintCode::ArticleNotInArchive,
            LintKind::FixListDisagrees => LintCode::FixListDisagrees,
            LintKind::UnmatchableCode => LintCode::UnmatchableCode,
            LintKind::DraftTodo => LintCode::DraftTodo,
            LintKind::TodoInActiveRule => LintCode::TodoInActiveRule,
            LintKind::SymptomNotInRecord => LintCode::SymptomNotInRecord,
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Level::Warning => "warning",
            Level::Error => "error",
        })
    }
}

/// A problem `lint` found, with where it is. Its text leaves the location out: a graphical
/// rendering shows it with the snippet, a plain one writes it first (`file:line:column: `).
#[derive(Clone, Debug, Error, Diagnostic)]
#[error("{level}[{code}]: {message}")]
pub struct LintProblem {
    /// Warning or error.
    pub level: Level,
    /// The kind, for programs.
    pub kind: LintKind,
    /// Where.
    pub location: Location,
    /// In words.
    pub message: String,
    /// The kind's stable code.
    pub code: LintCode,
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
        kind: LintKind,
        file: usize,
        offset: usize,
        message: String,
        help: Option<String>,
    ) {
        let source = &self.loaded.files[file];
        let location = source.location(offset);
        self.problems.push(LintProblem {
            level: kind.code().level(),
            code: kind.code(),
            kind,
            span: location.span(),
            location,
            message,
            source_code: source.named_source(),
            help,
        });
    }

    /// Reports a range with an alternative no version satisfies, at the range's text found from
    /// `from` on in `file`.
    fn check_range(&mut self, file: usize, within: Range<usize>, range: &VersionRange) {
        if let Some(dead) = range.unsatisfiable_alternative() {
            let at = self.loaded.files[file]
                .find_offset_before(within.start, within.end, &format!("{:?}", range.as_str()))
                .unwrap_or(within.start);
            self.report(
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

    /// `TODO`s in the rule's text: warnings in a draft, errors anywhere else.
    fn check_todos(&mut self, rule: &LoadedRule) {
        let file = &self.loaded.files[rule.file];
        let Some(text) = file.text.get(rule.offset..rule.end) else {
            return;
        };
        let todos: Vec<usize> = text
            .match_indices("TODO")
            .map(|(i, _)| rule.offset + i)
            .collect();
        let Some(&first) = todos.first() else {
            return;
        };
        if rule.rule.status == Status::Draft {
            self.report(
                LintKind::DraftTodo,
                rule.file,
                first,
                format!(
                    "draft rule {} has {} TODO(s) to decide",
                    rule.rule.id,
                    todos.len()
                ),
                None,
            );
        } else {
            for at in todos {
                self.report(
                    LintKind::TodoInActiveRule,
                    rule.file,
                    at,
                    format!("rule {} is not a draft but has a TODO", rule.rule.id),
                    Some("decide it, or set `status: draft` until it is decided".into()),
                );
            }
        }
    }

    /// Codes with no word in them: no query can match them.
    fn check_codes(&mut self, file: usize, within: Range<usize>, symptoms: &[Symptom]) {
        for code in symptoms.iter().flat_map(|s| &s.codes) {
            if code_tokens(code).is_empty() {
                let at = self.loaded.files[file]
                    .find_offset_before(within.start, within.end, &format!("{code:?}"))
                    .unwrap_or(within.start);
                self.report(
                    LintKind::UnmatchableCode,
                    file,
                    at,
                    format!("code {code:?} has no word in it; no lookup query can match it"),
                    Some("a code is matched as the words it holds, in a row (\"Event 1002\" matches \"event 1002\")".into()),
                );
            }
        }
    }

    /// A rule's symptom messages against the records of the articles it cites: the record is
    /// the source of a message both hold, and the rule's copy must equal it.
    fn check_symptom_copies(&mut self, rule: &LoadedRule) {
        let records: Vec<&KbArticle> = self
            .loaded
            .articles
            .iter()
            .map(|a| &a.article)
            .filter(|a| rule.rule.kb.iter().any(|k| k.id == a.id))
            .collect();
        if records.is_empty() {
            return;
        }
        for symptom in rule.rule.symptoms.iter().filter(|s| !s.paraphrase) {
            let held = records
                .iter()
                .flat_map(|a| &a.symptoms)
                .any(|s| s.message == symptom.message);
            if !held {
                let at = self.locate(rule, "message");
                let ids: Vec<&str> = records.iter().map(|a| a.id.as_str()).collect();
                self.report(
                    LintKind::SymptomNotInRecord,
                    rule.file,
                    at,
                    format!(
                        "symptom message {:?} is not in the record of {}",
                        symptom.message,
                        ids.join(", ")
                    ),
                    Some("copy the message from the kb/ record (or add it there first): the record is the source".into()),
                );
            }
        }
    }

    /// The offset of `needle` within the rule's text (from its id on), or the rule's offset.
    fn locate(&self, rule: &LoadedRule, needle: &str) -> usize {
        self.loaded.files[rule.file]
            .find_offset_before(rule.offset, rule.end, needle)
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
        self.report(kind, rule.file, at, reason, None);
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
            Condition::EnvMatches(..) => {}
            Condition::FactMatches(name, _) => {
                self.check_fact(rule, name, bound);
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
                self.check_range(rule.file, rule.offset..rule.end, range);
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

    /// Each cited article has a record, with the same date.
    fn check_citations(&mut self, rule: &LoadedRule, articles: &BTreeMap<&str, (usize, String)>) {
        let r = &rule.rule;
        for kb in &r.kb {
            let at = self.locate(rule, &format!("{:?}", kb.id));
            match articles.get(kb.id.as_str()) {
                None => self.report(
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
    }

    fn check_rule(
        &mut self,
        rule: &LoadedRule,
        ids: &BTreeMap<&str, &LoadedRule>,
        articles: &BTreeMap<&str, (usize, String)>,
    ) {
        let r: &Rule = &rule.rule;
        if r.revision == 0 {
            let at = self.locate(rule, "revision");
            self.report(
                LintKind::BadRevision,
                rule.file,
                at,
                "revision starts at 1".into(),
                None,
            );
        }
        if r.kb.is_empty() {
            self.report(
                LintKind::NoArticles,
                rule.file,
                rule.offset,
                format!("rule {} cites no KB article", r.id),
                Some("add kb: [(id: \"QNNNNNN\", date: \"YYYY-MM-DD\")]".into()),
            );
        }
        self.check_citations(rule, articles);
        if let Status::SupersededBy(target) = &r.status {
            if target == &r.id || !ids.contains_key(target.as_str()) {
                let at = self.locate(rule, &format!("{target:?}"));
                self.report(
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
            self.check_range(rule.file, rule.offset..rule.end, &product.versions);
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
                LintKind::NoSymptoms,
                rule.file,
                rule.offset,
                format!("rule {} has no symptoms; lookup cannot find it", r.id),
                None,
            );
        }
        self.check_codes(rule.file, rule.offset..rule.end, &r.symptoms);
        self.check_symptom_copies(rule);
        self.check_todos(rule);
        if r.tests.is_empty() {
            self.report(
                LintKind::NoTests,
                rule.file,
                rule.offset,
                format!("rule {} has no test cases", r.id),
                None,
            );
        }
        for (name, literal) in r.given.iter().chain(r.tests.iter().flat_map(|c| &c.facts)) {
            if let Some(ty) = self.check_fact(rule, name, &bound) {
                self.check_literal(rule, name, ty, CompareOp::Eq, literal);
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
                LintKind::NoDocumentedFix,
                rule.file,
                rule.offset,
                format!("rule {} has no test case built from its article's documented fix", r.id),
                Some("add the command or state the article's RESOLUTION/WORKAROUND says works, with `documented_fix: true, expect: clear`".into()),
            );
        }
        // The remedy is clear; or, when it is another form of command the rule does not
        // concern (another program, a flag the intent forbids), not applicable. Never blocked.
        let blocked = |c: &&&TestCase| !matches!(c.expect, Expect::Clear | Expect::NotApplicable);
        for case in fixes.iter().filter(blocked) {
            let at = self.locate(rule, &format!("{:?}", case.name));
            self.report(
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

/// The fixed bounds a condition states (`FactCompare("product.exchange.sp", lt, 2)`,
/// `FactCompare("product.exchange.version", lt, "5.5.2448")`), looking inside `All`.
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
                LintKind::DuplicateRuleId { first: first.clone() },
                rule.file,
                rule.offset,
                format!("duplicate rule id \"{}\" (first defined at {first})", rule.rule.id),
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
                ProbeRead::FileExists(t)
                | ProbeRead::FileSize(t)
                | ProbeRead::FileVersion(t)
                | ProbeRead::FileContains(t, _)
                | ProbeRead::IniValue { path: t, .. }
                | ProbeRead::Registry { key: t, .. }
                | ProbeRead::RegistryKey(t)
                | ProbeRead::RegistryValueExists { key: t, .. } => Some(t),
                ProbeRead::Env(_) => None,
            };
            for name in template.into_iter().flat_map(|t| template_refs(t)) {
                if !name.starts_with(ENV_PREFIX) && catalogue.type_of(name).is_none() {
                    linter.report(
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
            linter.check_range(record.file, 0..usize::MAX, &product.versions);
        }
        linter.check_codes(record.file, 0..usize::MAX, &a.symptoms);
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
        let catalogue = Catalogue::from_decls(loaded.facts.iter().map(|f| &f.decl));
        lint(&loaded, &catalogue)
    }

    const ARTICLE: &str = r#"KbArticle(schema: 1, id: "Q1", title: "t", date: "2002-01-01", symptoms: [(message: "m")], cause: "c", workaround: "w")"#;

    fn rule(id: &str, extra: &str) -> String {
        format!(
            r#"RuleFile(schema: 1, facts: [(name: "cluster.node", type: bool, doc: "d")], rules: [Rule(
    id: "{id}", revision: 1, kb: [(id: "Q1", date: "2002-01-01")], title: "t", severity: block,
    reviewed: "2026-01-01", symptoms: [(message: "m")], workaround: (text: "w"),
    tests: [(name: "n", expect: clear, documented_fix: true)],
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
        let when = rule("a", r#"when: FactCompare("product.exchange.sp", lt, 2),"#);
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
            "expect: clear, documented_fix: true",
            "expect: triggered, documented_fix: true",
        );
        assert_eq!(kinds(&triggered), [LintKind::DocumentedFixNotClear]);
    }

    #[test]
    fn fixed_bounds_are_read_from_the_condition() {
        let cond: Condition = ron::from_str(
            r#"All([FactCompare("product.exchange.sp", lt, 2), FactCompare("product.exchange.version", lt, "5.5.2448"), FactEquals("cluster.node", true)])"#,
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
            format!("{}: {}", problems[0].location, problems[0]),
            "f2.ron:2:9: error[duplicate-rule-id]: duplicate rule id \"a\" (first defined at f1.ron:2:9)"
        );
    }

    #[test]
    fn unknown_facts_types_and_missing_records() {
        let problems = lint_text(&[&rule(
            "a",
            r#"when: All([FactEquals("cluster.nodes", true), FactEquals("cluster.node", "maybe")]), status: superseded_by("zzz")"#,
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

    #[test]
    fn codes_without_words_and_symptoms_the_record_lacks_are_errors() {
        let kinds = |extra: &str, symptoms: &str| -> Vec<LintKind> {
            let text = rule("a", extra).replace(r#"symptoms: [(message: "m")]"#, symptoms);
            lint_text(&[ARTICLE, &text])
                .into_iter()
                .map(|p| p.kind)
                .filter(|k| !matches!(k, LintKind::NoEvidence | LintKind::UnbackedClaim { .. }))
                .collect()
        };
        assert_eq!(
            kinds(
                "",
                r#"symptoms: [(message: "m", codes: ["Event 1002", "-1018"])]"#
            ),
            vec![]
        );
        assert_eq!(
            kinds("", r#"symptoms: [(message: "m", codes: ["--"])]"#),
            vec![LintKind::UnmatchableCode]
        );
        assert_eq!(
            kinds("", r#"symptoms: [(message: "not the record's")]"#),
            vec![LintKind::SymptomNotInRecord]
        );
        // Our own description of a problem is not a message to copy.
        assert_eq!(
            kinds("", r#"symptoms: [(message: "ours", paraphrase: true)]"#),
            vec![]
        );
    }

    #[test]
    fn every_lint_code_has_a_unique_name_and_a_description() {
        let mut names = BTreeSet::new();
        for code in LintCode::ALL {
            assert!(names.insert(code.name()), "{} twice", code.name());
            assert_eq!(LintCode::parse(code.name()), Some(*code));
            assert!(code.description().ends_with('.'), "{}", code.name());
        }
        assert_eq!(LintCode::parse("no-such-code"), None);
    }

    #[test]
    fn a_problem_is_located_in_its_own_rule_never_the_next() {
        let first = rule(
            "a",
            r#"applies: (products: [(name: "widget", versions: ">=1")]),"#,
        );
        let (head, _) = first.rsplit_once(")])").unwrap();
        // Rule b names the fact only in a comment: a search past rule a's end would land there.
        let text = format!(
            r#"{head}), Rule(
    id: "b", revision: 1, kb: [(id: "Q1", date: "2002-01-01")], title: "t", severity: block,
    // product.widget.version
    reviewed: "2026-01-01", symptoms: [(message: "m")], workaround: (text: "w"),
    tests: [(name: "n", expect: clear, documented_fix: true)],
)])"#
        );
        let problems = lint_text(&[ARTICLE, &text]);
        let widget: Vec<&LintProblem> = problems
            .iter()
            .filter(|p| p.message.contains("product.widget.version"))
            .collect();
        assert_eq!(widget.len(), 1, "{problems:?}");
        let second = text.find(r#"id: "b""#).unwrap();
        assert!(widget[0].location.offset < second, "{:?}", widget[0]);
    }
}
