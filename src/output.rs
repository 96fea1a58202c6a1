//! The JSON that kbguard prints, as typed values: one schema for the CLI's `--json` and (later)
//! the web API, documented in docs/json.md.
//!
//! Each type borrows what it shows from the library's own values and adds only what a reader
//! needs beside them (exit codes, the matched part of a message, a rule's source location), so
//! the shapes cannot drift from the values they describe.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::advisories::{Advisories, Advisory};
use crate::archive::Meta as ArchiveMeta;
use crate::cmdline::Planned;
use crate::eval::Evaluation;
use crate::facts::{FactSet, Host};
use crate::lookup::Hit;
use crate::model::{Evidence, FactValue, RuleId, Severity, Status, Symptom};
use crate::preflight::{CommandCheck, Preflight};
use crate::report::describe_condition;
use crate::ruleset::{CheckReport, RuleSet, Verdict};
use crate::version::Version;

/// `check --json`: the verdict, the deciding command's report, every command checked, and
/// the archive advisories.
#[derive(Debug, Serialize)]
pub struct CheckOutput<'a> {
    /// The worst verdict of the commands.
    pub verdict: Verdict,
    /// The exit code the check gives (the verdict's; 4 under `--strict` for an advisory that
    /// applies).
    pub exit_code: u8,
    /// The report of the command that decides the verdict.
    pub report: Option<&'a CheckReport>,
    /// Every command the line or argv runs, checked.
    pub commands: &'a [CommandCheck],
    /// Archive articles that say the command goes wrong; not curated, never blocking.
    pub advisories: &'a [Advisory],
    /// Why there are none, when the archive could not be asked (e.g. none imported).
    pub advisories_note: Option<&'a str>,
}

impl<'a> CheckOutput<'a> {
    /// The output for a preflight and its advisories.
    pub fn new(
        checked: &'a Preflight,
        allow_unknown: bool,
        advisories: &'a Advisories,
        strict: bool,
    ) -> CheckOutput<'a> {
        let verdict = checked.verdict(allow_unknown);
        CheckOutput {
            verdict,
            exit_code: crate::advisories::exit_code(verdict, &advisories.list, strict),
            report: checked.deciding(allow_unknown).map(|c| &c.report),
            commands: &checked.commands,
            advisories: &advisories.list,
            advisories_note: advisories.note.as_deref(),
        }
    }
}

/// `explain --json`: the evaluation, and what runs when the command went through wrappers.
#[derive(Debug, Serialize)]
pub struct ExplainOutput<'a> {
    /// The rule's evaluation, predicate by predicate.
    #[serde(flatten)]
    pub evaluation: &'a Evaluation,
    /// The command the rule was evaluated against, when wrappers were seen through.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub runs: Option<&'a Planned>,
}

/// `lookup --json` (and one line of `lookup --batch`).
#[derive(Debug, Serialize)]
pub struct LookupOutput<'a> {
    /// The query as given.
    pub query: &'a str,
    /// Which index answered and what was missing; left out of batch lines, so that the same
    /// queries over the same archive give the same bytes whichever import built the index.
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub context: Option<LookupContext<'a>>,
    /// The hits, best first.
    pub hits: Vec<HitOutput<'a>>,
}

/// Where a single lookup's answer came from.
#[derive(Debug, Serialize)]
pub struct LookupContext<'a> {
    /// The archive generation searched, if any.
    pub archive: Option<String>,
    /// A note for the reader (e.g. that no archive is imported).
    pub note: Option<&'a str>,
}

impl<'a> LookupOutput<'a> {
    /// The output for `hits`; `context` is `None` for batch lines.
    pub fn new(
        query: &'a str,
        hits: &'a [Hit],
        context: Option<LookupContext<'a>>,
    ) -> LookupOutput<'a> {
        LookupOutput {
            query,
            context,
            hits: hits.iter().map(HitOutput::new).collect(),
        }
    }
}

/// One hit: the hit's own fields and the part of the message that matched.
#[derive(Debug, Serialize)]
pub struct HitOutput<'a> {
    /// The hit.
    #[serde(flatten)]
    pub hit: &'a Hit,
    /// The part of `matched` that the query matched.
    pub matched_part: &'a str,
}

impl<'a> HitOutput<'a> {
    fn new(hit: &'a Hit) -> HitOutput<'a> {
        HitOutput {
            hit,
            matched_part: hit.matched.get(hit.matched_span.clone()).unwrap_or(""),
        }
    }
}

/// `facts --json`: the known facts with their sources, the unknown ones, the environment.
#[derive(Debug, Serialize)]
pub struct FactsOutput<'a> {
    /// Which host the facts describe (local, remote).
    pub host: Host,
    /// Every known fact.
    pub facts: BTreeMap<&'a str, FactOutput<'a>>,
    /// Declared facts nothing answered.
    pub unknown: Vec<&'a str>,
    /// Those of them no probe can read: a person gives them (`--set`, a snapshot).
    pub needs_a_person: Vec<&'a str>,
    /// The environment, when known.
    pub env: Option<BTreeMap<&'a str, FactOutput<'a>>>,
}

/// A fact's value and where it came from.
#[derive(Debug, Serialize)]
pub struct FactOutput<'a> {
    /// The value.
    pub value: &'a FactValue,
    /// Its source, in words (`probe: ...`, `--set`, a snapshot's location).
    pub source: String,
}

impl<'a> FactsOutput<'a> {
    /// The output for `host` under `set`'s catalogue.
    pub fn new(set: &'a RuleSet, host: &'a FactSet) -> FactsOutput<'a> {
        let fact = |f: &'a crate::facts::Fact| FactOutput {
            value: &f.value,
            source: f.source.to_string(),
        };
        FactsOutput {
            host: host.host(),
            facts: host.iter().map(|(n, f)| (n.as_str(), fact(f))).collect(),
            unknown: set
                .catalogue
                .iter()
                .map(|(n, _)| n.as_str())
                .filter(|n| host.get(n).is_none())
                .collect(),
            needs_a_person: set
                .catalogue
                .iter()
                .filter(|(n, info)| info.probe.is_none() && host.get(n).is_none())
                .map(|(n, _)| n.as_str())
                .collect(),
            env: host
                .env_iter()
                .map(|vars| vars.map(|(k, f)| (k.as_str(), fact(f))).collect()),
        }
    }
}

/// `rules --json`.
#[derive(Debug, Serialize)]
pub struct RulesOutput<'a> {
    /// Every loaded rule.
    pub rules: Vec<RuleOutput<'a>>,
}

/// One rule as `rules --json` lists it.
#[derive(Debug, Serialize)]
pub struct RuleOutput<'a> {
    /// The id.
    pub id: &'a RuleId,
    /// Its revision.
    pub revision: u32,
    /// The articles it encodes.
    pub kb: &'a [crate::model::KbRef],
    /// Block, warn or info.
    pub severity: Severity,
    /// What goes wrong.
    pub title: &'a str,
    /// Active, retired or superseded.
    pub status: &'a Status,
    /// When it was last reviewed.
    pub reviewed: String,
    /// The command it concerns.
    pub intent: Option<IntentOutput<'a>>,
    /// Its condition, in words.
    pub when: Option<String>,
    /// Its symptoms.
    pub symptoms: &'a [Symptom],
    /// Its evidence.
    pub evidence: &'a [Evidence],
    /// Where it is written (`file:line:column`).
    pub source: String,
}

/// A rule's intent, in brief.
#[derive(Debug, Serialize)]
pub struct IntentOutput<'a> {
    /// The program.
    pub program: &'a str,
    /// Flags it must carry.
    pub flags: &'a [String],
    /// Flags it must not carry.
    pub forbidden: &'a [String],
    /// Argument patterns.
    pub args: Vec<&'a str>,
    /// Options with values it binds.
    pub options: Vec<&'a str>,
}

impl<'a> RulesOutput<'a> {
    /// The output for every rule of `set`.
    pub fn new(set: &'a RuleSet) -> RulesOutput<'a> {
        let rules = set
            .loaded
            .rules
            .iter()
            .map(|loaded| {
                let r = &loaded.rule;
                RuleOutput {
                    id: &r.id,
                    revision: r.revision,
                    kb: &r.kb,
                    severity: r.severity,
                    title: &r.title,
                    status: &r.status,
                    reviewed: r.reviewed.to_string(),
                    intent: r.intent.as_ref().map(|i| IntentOutput {
                        program: &i.program,
                        flags: &i.flags,
                        forbidden: &i.forbidden,
                        args: i.args.iter().map(|a| a.pattern.as_str()).collect(),
                        options: i.options.iter().map(|o| o.flag.as_str()).collect(),
                    }),
                    when: r.when.as_ref().map(describe_condition),
                    symptoms: &r.symptoms,
                    evidence: &r.evidence,
                    source: set.loaded.location(loaded.file, loaded.offset).to_string(),
                }
            })
            .collect();
        RulesOutput { rules }
    }
}

/// `kb stats --json`.
#[derive(Debug, Serialize)]
pub struct StatsOutput<'a> {
    /// The generation directory.
    pub path: String,
    /// Its size on disk.
    pub bytes: u64,
    /// What the import recorded.
    pub meta: &'a ArchiveMeta,
}

/// `kb fixed-in --json`: one service pack whose fix list names the article.
#[derive(Debug, Serialize)]
pub struct FixedIn {
    /// The article asked about, upper case.
    pub article: String,
    /// The fix-list article that names it.
    pub fix_list: String,
    /// The product the fix list is for.
    pub product: String,
    /// The service pack.
    pub service_pack: u32,
    /// The build that service pack ships, when a rule file's `builds` says.
    pub build: Option<Version>,
}

/// The service packs whose fix lists (from the archive) name article `id`, with the build each
/// ships where `set`'s `builds` know it.
pub fn fixed_in(fix_lists: &[crate::article::FixList], set: &RuleSet, id: &str) -> Vec<FixedIn> {
    fix_lists
        .iter()
        .filter(|l| l.fixes.iter().any(|f| f.eq_ignore_ascii_case(id)))
        .map(|l| FixedIn {
            article: id.to_ascii_uppercase(),
            fix_list: l.article.clone(),
            product: l.product.clone(),
            service_pack: l.service_pack,
            build: set
                .loaded
                .builds
                .iter()
                .find(|(b, _)| {
                    b.service_pack == l.service_pack
                        && l.product.to_lowercase().contains(&b.product)
                })
                .map(|(b, _)| b.build.clone()),
        })
        .collect()
}
