//! Decision records (`check --record FILE`, `run --record FILE`) and their replay
//! (`kbguard replay FILE`).
//!
//! Owns what a record says (schema [`SCHEMA`], docs/records.md): what kbguard was told (the
//! command or line, every host fact with its value and source, the environment variables the
//! rules read), what it decided (verdict, exit code, findings with their deciding facts), with
//! what (a digest of every rule it evaluated, the archive generation), and for `run` the
//! command's exit status. Replay re-evaluates a record from its recorded facts only, never
//! probing the host it runs on, against the rules loaded now, and names each rule whose change
//! changed the decision.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::cmdline::{self, Shell};
use crate::eval::Outcome;
use crate::facts::{EnvValue, Fact, FactSet, FactSource};
use crate::model::{FactType, FactValue, Rule, RuleId, Severity};
use crate::preflight::{self, Preflight};
use crate::ruleset::{CompiledRules, Verdict};
use crate::schema::{Catalogue, ENV_PREFIX};

/// The record format's version: bumped when a field changes meaning or goes.
pub const SCHEMA: u32 = 1;

/// One decision, as one JSON line of a record file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    /// The record format's version ([`SCHEMA`]).
    pub schema: u32,
    /// Unique within the file: time, process and a counter.
    pub id: String,
    /// When, UTC (`2026-11-26T02:10:00Z`).
    pub time: String,
    /// The host's name, as kbguard read it.
    pub host: String,
    /// The kbguard version that decided.
    pub kbguard: String,
    /// The command checked, as an argv (empty with `line`).
    #[serde(default)]
    pub command: Vec<String>,
    /// The line checked with `--line`, and its shell.
    #[serde(default)]
    pub line: Option<String>,
    /// The shell the line is in.
    #[serde(default)]
    pub shell: Option<String>,
    /// What the line or argv runs, as planned: each command's argv, with what it went through.
    pub runs: Vec<Vec<String>>,
    /// Every host fact known, with its value, type and source.
    pub facts: BTreeMap<String, RecordedFact>,
    /// The environment variables the rules read: set (a fact), unset (null); variables not
    /// listed were not read, or unknown.
    pub env: BTreeMap<String, Option<RecordedFact>>,
    /// Whether undecided block rules were let through (`--allow-unknown`).
    pub allow_unknown: bool,
    /// A digest of the rules evaluated, in load order: equal digests, equal decisions.
    pub ruleset: String,
    /// Each active rule's revision and digest.
    pub rules: BTreeMap<RuleId, RuleStamp>,
    /// The archive generation advisories came from, if any.
    #[serde(default)]
    pub archive: Option<String>,
    /// The verdict.
    pub verdict: Verdict,
    /// The exit code kbguard gave.
    pub exit_code: u8,
    /// What the rules found: triggered and undecided ones.
    pub findings: Vec<Finding>,
    /// For `run`: the command's own exit status, when it ran.
    #[serde(default)]
    pub exit_status: Option<i32>,
}

/// A fact's value as recorded: text, its type, and where it came from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordedFact {
    /// The value, as text (`5.5.2653.23`, `true`).
    pub value: String,
    /// Its type, to read it back.
    #[serde(rename = "type")]
    pub ty: FactType,
    /// Where it came from.
    pub source: String,
}

/// A rule as it was when a decision was made.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleStamp {
    /// Its revision.
    pub revision: u32,
    /// A digest of what it evaluates (not its tests, symptoms or evidence).
    pub digest: String,
}

/// A rule that found something.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// The rule.
    pub rule: RuleId,
    /// Triggered or unknown.
    pub outcome: Outcome,
    /// Its severity.
    pub severity: Severity,
    /// For an undecided rule, the facts that would decide it.
    #[serde(default)]
    pub deciding_facts: BTreeSet<String>,
}

/// What a record needs to know besides the check itself.
#[derive(Clone, Debug)]
pub struct Context<'a> {
    /// The argv, or the line and its shell.
    pub command: &'a [String],
    /// The line, with `--line`.
    pub line: Option<(&'a str, Shell)>,
    /// `--allow-unknown`.
    pub allow_unknown: bool,
    /// The archive generation, if advisories came from one.
    pub archive: Option<String>,
    /// The exit code given.
    pub exit_code: u8,
    /// Seconds since 1970, UTC.
    pub now: u64,
}

/// The record of a check of `checked` on `host` against `rules`.
pub fn decision(
    rules: &CompiledRules,
    host: &FactSet,
    checked: &Preflight,
    ctx: &Context<'_>,
) -> Decision {
    let mut read = BTreeSet::new();
    for c in &checked.commands {
        for e in &c.report.evaluations {
            e.trace.read_facts(&mut read);
        }
    }
    let env = read
        .iter()
        .filter_map(|name| name.strip_prefix(ENV_PREFIX))
        .filter_map(|var| match host.env_var(var) {
            EnvValue::Set(f) => Some((var.to_string(), Some(recorded(f)))),
            EnvValue::Unset => Some((var.to_string(), None)),
            EnvValue::Unknown => None,
        })
        .collect();
    let verdict = checked.verdict(ctx.allow_unknown);
    let findings = checked
        .commands
        .iter()
        .flat_map(|c| c.report.findings())
        .map(|e| Finding {
            rule: e.rule.clone(),
            outcome: e.outcome,
            severity: e.severity,
            deciding_facts: e.deciding_facts.clone(),
        })
        .collect();
    let (ruleset, stamps) = digests(rules);
    Decision {
        schema: SCHEMA,
        id: format!("{:x}-{:x}", ctx.now, std::process::id()),
        time: rfc3339(ctx.now),
        host: host
            .get("host.name")
            .map(|f| f.value.to_string())
            .unwrap_or_default(),
        kbguard: env!("CARGO_PKG_VERSION").to_string(),
        command: ctx.command.to_vec(),
        line: ctx.line.map(|(l, _)| l.to_string()),
        shell: ctx.line.map(|(_, s)| s.name().to_string()),
        runs: checked
            .commands
            .iter()
            .map(|c| c.planned.argv.clone())
            .filter(|a| !a.is_empty())
            .collect(),
        facts: host.iter().map(|(n, f)| (n.clone(), recorded(f))).collect(),
        env,
        allow_unknown: ctx.allow_unknown,
        ruleset,
        rules: stamps,
        archive: ctx.archive.clone(),
        verdict,
        exit_code: ctx.exit_code,
        findings,
        exit_status: None,
    }
}

fn recorded(fact: &Fact) -> RecordedFact {
    RecordedFact {
        value: fact.value.to_string(),
        ty: fact.value.ty(),
        source: fact.source.to_string(),
    }
}

/// The digest of a rule set (of each rule's digest, in load order) and each rule's stamp.
pub fn digests(rules: &CompiledRules) -> (String, BTreeMap<RuleId, RuleStamp>) {
    let mut all = Fnv::default();
    let mut stamps = BTreeMap::new();
    for rule in rules.rules() {
        let digest = rule_digest(rule);
        all.write(rule.id.as_bytes());
        all.write(digest.as_bytes());
        stamps.insert(
            rule.id.clone(),
            RuleStamp {
                revision: rule.revision,
                digest,
            },
        );
    }
    (all.hex(), stamps)
}

/// A digest of what a rule evaluates: its canonical JSON (the compiled rule has no tests,
/// symptoms or evidence), hashed with FNV-1a 64, which is stable across builds and platforms.
fn rule_digest(rule: &Rule) -> String {
    let mut h = Fnv::default();
    h.write(serde_json::to_string(rule).unwrap_or_default().as_bytes());
    h.hex()
}

/// FNV-1a, 64 bits.
struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Fnv {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

impl Fnv {
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 ^= u64::from(*b);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }

    fn hex(&self) -> String {
        format!("{:016x}", self.0)
    }
}

/// `YYYY-MM-DDTHH:MM:SSZ` for seconds since 1970 (records and snapshots).
pub(crate) fn rfc3339(secs: u64) -> String {
    let t = crate::clock::Utc::from_secs(secs);
    format!(
        "{}T{:02}:{:02}:{:02}Z",
        t.date(),
        t.hour,
        t.minute,
        t.second
    )
}

/// How a replayed decision compares with its record.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Replayed {
    /// The record's id.
    pub id: String,
    /// What it checked, in words.
    pub command: String,
    /// The recorded verdict.
    pub recorded: Verdict,
    /// The verdict now.
    pub now: Verdict,
    /// Findings that differ: each rule whose outcome changed, and why.
    pub changes: Vec<Change>,
    /// Whether anything differs.
    pub changed: bool,
}

/// One rule whose outcome differs from the record.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Change {
    /// The rule.
    pub rule: RuleId,
    /// Its outcome then (`None`: found nothing).
    pub then: Option<Outcome>,
    /// Its outcome now.
    pub now: Option<Outcome>,
    /// What about the rule changed: "revision 2 → 3", "new rule", "rule removed", or "rule
    /// unchanged" (the facts or kbguard itself then differ).
    pub because: String,
}

/// Why a record cannot be replayed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ReplayError {
    /// Written by a kbguard with another record format.
    #[error("record {id}: schema {found}, this kbguard reads schema {SCHEMA}")]
    Schema {
        /// The record.
        id: String,
        /// Its schema.
        found: u32,
    },
    /// Its line cannot be read again.
    #[error("record {id}: cannot plan its command again: {reason}")]
    Plan {
        /// The record.
        id: String,
        /// Why.
        reason: String,
    },
}

/// Re-evaluates `d` from its recorded facts against `rules`, never probing this host.
pub fn replay(d: &Decision, rules: &CompiledRules) -> Result<Replayed, ReplayError> {
    if d.schema != SCHEMA {
        return Err(ReplayError::Schema {
            id: d.id.clone(),
            found: d.schema,
        });
    }
    let host = facts_of(d, &rules.catalogue);
    let plan_err = |e: cmdline::LineError| ReplayError::Plan {
        id: d.id.clone(),
        reason: e.to_string(),
    };
    let plans = match (&d.line, d.shell.as_deref().and_then(Shell::from_program)) {
        (Some(line), Some(shell)) => cmdline::plan_line(line, shell).map_err(plan_err)?,
        _ => cmdline::plan_argv(&d.command).map_err(plan_err)?,
    };
    let checked = preflight::check(rules, &host, plans);
    let now_verdict = checked.verdict(d.allow_unknown);
    let mut now: BTreeMap<&RuleId, Outcome> = BTreeMap::new();
    for c in &checked.commands {
        for e in c.report.findings() {
            now.entry(&e.rule).or_insert(e.outcome);
        }
    }
    let then: BTreeMap<&RuleId, Outcome> =
        d.findings.iter().map(|f| (&f.rule, f.outcome)).collect();
    let (_, stamps) = digests(rules);
    let ids: BTreeSet<&RuleId> = now.keys().chain(then.keys()).copied().collect();
    let changes: Vec<Change> = ids
        .into_iter()
        .filter(|id| now.get(id) != then.get(id))
        .map(|id| Change {
            rule: id.clone(),
            then: then.get(id).copied(),
            now: now.get(id).copied(),
            because: because(d.rules.get(id), stamps.get(id)),
        })
        .collect();
    Ok(Replayed {
        id: d.id.clone(),
        command: d.line.clone().unwrap_or_else(|| d.command.join(" ")),
        recorded: d.verdict,
        now: now_verdict,
        changed: now_verdict != d.verdict || !changes.is_empty(),
        changes,
    })
}

fn because(then: Option<&RuleStamp>, now: Option<&RuleStamp>) -> String {
    match (then, now) {
        (None, Some(_)) => "new rule".into(),
        (Some(_), None) => "rule removed".into(),
        (Some(a), Some(b)) if a.revision != b.revision => {
            format!("revision {} → {}", a.revision, b.revision)
        }
        (Some(a), Some(b)) if a.digest != b.digest => {
            format!("rule edited (revision {} unchanged)", a.revision)
        }
        _ => "rule unchanged".into(),
    }
}

/// The host a record describes: its facts, typed again, and the variables it read.
fn facts_of(d: &Decision, catalogue: &Catalogue) -> FactSet {
    let mut host = FactSet::remote();
    let source = |s: &str| FactSource::Snapshot(format!("record {}: {s}", d.id));
    // os.family first: it decides how the environment is looked up.
    let mut facts: Vec<(&String, &RecordedFact)> = d.facts.iter().collect();
    facts.sort_by_key(|(n, _)| n.as_str() != "os.family");
    for (name, f) in facts {
        let ty = catalogue.type_of(name).unwrap_or(f.ty);
        if let Ok(value) = FactValue::parse(&f.value, ty) {
            host.insert(
                name,
                Fact {
                    value,
                    source: source(&f.source),
                },
            );
        }
    }
    for (var, f) in &d.env {
        let fact = f.as_ref().map(|f| Fact {
            value: FactValue::Str(f.value.clone()),
            source: source(&f.source),
        });
        host.assign_env(var, fact);
    }
    host
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_rfc3339_utc() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_795_574_838), "2026-11-25T02:47:18Z");
    }

    #[test]
    fn fnv_is_the_published_function() {
        let mut h = Fnv::default();
        h.write(b"a");
        assert_eq!(h.hex(), "af63dc4c8601ec8c");
    }
}
