//! Evaluation: rules × facts × intent → findings, each with the trace that explains it.
//!
//! Owns the meaning of applicability, conditions and outcomes. A rule is not applicable when
//! its intent names another command or its product / OS ranges are known not to hold; it is
//! triggered when it applies and its condition holds; unknown when the facts cannot decide.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::facts::{render_template, EnvValue, Fact, FactLookup, FactSet, FactSource};
use crate::intent::{match_intent, Command, IntentMatch};
use crate::model::{
    Action, CompareOp, Condition, Expect, FactType, FactValue, Literal, Rule, RuleId, Severity,
};
use crate::probe::Prober;
use crate::schema::{split_family, template_refs, COMMAND_PREFIX, ENV_PREFIX};
use crate::tri::Tri;

/// The outcome of evaluating one rule.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, serde::Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// The command, product or OS is not one the rule concerns.
    NotApplicable,
    /// The rule applies and the problem is absent.
    Clear,
    /// The facts at hand cannot decide.
    Unknown,
    /// The problem applies.
    Triggered,
}

impl Outcome {
    /// The test-case expectation this outcome satisfies.
    pub fn as_expect(self) -> Expect {
        match self {
            Outcome::NotApplicable => Expect::NotApplicable,
            Outcome::Clear => Expect::Clear,
            Outcome::Unknown => Expect::Unknown,
            Outcome::Triggered => Expect::Triggered,
        }
    }
}

/// A fact as one step of a trace used it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FactUse {
    /// Dotted name (`env.X` for variables).
    pub name: String,
    /// Its value, or none when unknown.
    pub value: Option<String>,
    /// Where the value came from, when known.
    pub source: Option<String>,
}

/// One step of an evaluation: what was tested, its value, the facts it read, its parts.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Trace {
    /// What was tested, in words.
    pub label: String,
    /// Its three-valued result.
    pub value: Tri,
    /// Facts read by this step itself.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub facts: Vec<FactUse>,
    /// Sub-steps.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub children: Vec<Trace>,
}

impl Trace {
    fn leaf(label: String, value: Tri, facts: Vec<FactUse>) -> Trace {
        Trace {
            label,
            value,
            facts,
            children: Vec::new(),
        }
    }

    /// Every fact name read anywhere in the trace whose value was unknown.
    pub fn unknown_facts(&self, out: &mut BTreeSet<String>) {
        if self.value == Tri::Unknown {
            out.extend(
                self.facts
                    .iter()
                    .filter(|f| f.value.is_none())
                    .map(|f| f.name.clone()),
            );
            for child in &self.children {
                child.unknown_facts(out);
            }
        }
    }

    /// Every fact name read anywhere in the trace.
    pub fn read_facts(&self, out: &mut BTreeSet<String>) {
        out.extend(self.facts.iter().map(|f| f.name.clone()));
        for child in &self.children {
            child.read_facts(out);
        }
    }

    /// The leaves that held, in words (why a triggered rule applies).
    pub fn held(&self, out: &mut Vec<String>) {
        if self.value != Tri::True {
            return;
        }
        if self.children.is_empty() {
            out.push(self.label.clone());
        } else {
            for child in &self.children {
                child.held(out);
            }
        }
    }
}

/// A rule's workaround, rendered with the facts.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RenderedWorkaround {
    /// The text with known facts filled in.
    pub text: String,
    /// Facts the text needs but which are unknown.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub missing: Vec<String>,
}

/// The evaluation of one rule against one host and command.
#[derive(Clone, Debug, Serialize)]
pub struct Evaluation {
    /// The rule's id.
    pub rule: RuleId,
    /// The rule's title.
    pub title: String,
    /// The KB articles the rule encodes.
    pub kb: Vec<String>,
    /// Its severity.
    pub severity: Severity,
    /// The outcome.
    pub outcome: Outcome,
    /// Applicability (intent, products, OS) then condition.
    pub trace: Trace,
    /// For unknown outcomes: the facts whose values would decide it.
    #[serde(skip_serializing_if = "BTreeSet::is_empty")]
    pub deciding_facts: BTreeSet<String>,
    /// The rendered workaround.
    pub workaround: RenderedWorkaround,
}

/// Facts for one rule: the host's facts plus those bound from the command by the intent, and
/// fact families (`file.size:PATH`) resolved and read through the check's prober.
struct Scope<'a> {
    facts: &'a FactSet,
    bound: BTreeMap<String, Fact>,
    prober: &'a dyn Prober,
}

impl FactLookup for Scope<'_> {
    fn lookup(&self, name: &str) -> Option<Fact> {
        let name = self.resolve(name)?;
        if let Some(fact) = self.bound.get(&name).or_else(|| self.facts.get(&name)) {
            return Some(fact.clone());
        }
        let (family, arg) = split_family(&name)?;
        let value = self.prober.family(family, arg).ok()?;
        Some(Fact {
            value,
            source: FactSource::Probe(format!("{family} of {arg}")),
        })
    }
}

impl Scope<'_> {
    /// The fact name with the `{fact}` templates of a family argument filled in; `None` when
    /// one of them is unknown.
    fn resolve(&self, name: &str) -> Option<String> {
        match split_family(name) {
            Some((family, arg)) if arg.contains('{') => {
                let arg = render_template(arg, self).complete()?;
                Some(format!("{family}:{arg}"))
            }
            _ => Some(name.to_string()),
        }
    }

    /// A family fact for a reader: its resolved name and, when known, its value
    /// (`volume.free:C:\ (2254857830)`); other names as written.
    fn shown(&self, name: &str) -> String {
        if !name.contains('{') {
            return name.to_string();
        }
        let resolved = self.resolve(name).unwrap_or_else(|| name.to_string());
        match self.lookup(name) {
            Some(fact) => format!("{resolved} ({})", fact.value),
            None => resolved,
        }
    }

    fn fact_use(&self, name: &str) -> FactUse {
        if let Some(var) = name.strip_prefix(ENV_PREFIX) {
            if self.facts.env_var(var) == EnvValue::Unset {
                return FactUse {
                    name: name.to_string(),
                    value: Some("(not set)".into()),
                    source: Some("environment".into()),
                };
            }
        }
        let fact = self.lookup(name);
        FactUse {
            name: self.resolve(name).unwrap_or_else(|| name.to_string()),
            value: fact.as_ref().map(|f| f.value.to_string()),
            source: fact.as_ref().map(|f| f.source.to_string()),
        }
    }
}

/// Whether the command is the rule's (a rule without intent concerns every command), with its
/// trace; the intent's bound arguments go into `scope` as `command.<name>` facts.
fn check_intent(rule: &Rule, command: Option<&Command>, scope: &mut Scope) -> (bool, Trace) {
    match (&rule.intent, command) {
        (None, _) => (true, Trace::leaf("any command".into(), Tri::True, vec![])),
        (Some(intent), None) => (
            false,
            Trace::leaf(format!("command is {}", intent.program), Tri::False, vec![]),
        ),
        (Some(intent), Some(command)) => {
            let mut label = format!("command is {}", intent.program);
            for flag in &intent.flags {
                label.push_str(&format!(" {flag}"));
            }
            match match_intent(intent, command) {
                IntentMatch::Matches { bindings } => {
                    for (name, arg) in bindings {
                        let fact = Fact {
                            value: FactValue::Str(arg),
                            source: FactSource::Command,
                        };
                        scope.bound.insert(format!("{COMMAND_PREFIX}{name}"), fact);
                    }
                    (true, Trace::leaf(label, Tri::True, vec![]))
                }
                IntentMatch::Differs(why) => (
                    false,
                    Trace::leaf(format!("{label} ({why})"), Tri::False, vec![]),
                ),
            }
        }
    }
}

/// Evaluates one rule. A rule with an intent is not applicable without a command. Whatever
/// the facts do not say is read through `prober` (a check shares one, with its cache).
pub fn evaluate(
    rule: &Rule,
    facts: &FactSet,
    command: Option<&Command>,
    prober: &dyn Prober,
) -> Evaluation {
    let mut scope = Scope {
        facts,
        bound: BTreeMap::new(),
        prober,
    };
    let mut applicability = Vec::new();
    let (intent_ok, intent_trace) = check_intent(rule, command, &mut scope);
    if rule.intent.is_some() {
        applicability.push(intent_trace);
    }
    if intent_ok {
        for product in &rule.applies.products {
            let name = product.fact_name();
            applicability.push(in_range(&scope, &name, &product.versions));
        }
        if !rule.applies.os.is_empty() {
            let names: Vec<&str> = rule.applies.os.iter().map(|o| o.as_str()).collect();
            let value = match scope.lookup("os.family") {
                Some(fact) => Tri::from(names.contains(&fact.value.to_string().as_str())),
                None => Tri::Unknown,
            };
            applicability.push(Trace::leaf(
                format!("os.family is {}", names.join(" or ")),
                value,
                vec![scope.fact_use("os.family")],
            ));
        }
    }
    if !intent_ok {
        // The common case in a large rule set: another command. Skip the rest of the work.
        return Evaluation {
            rule: rule.id.clone(),
            title: rule.title.clone(),
            kb: rule.kb.iter().map(|k| k.id.clone()).collect(),
            severity: rule.severity,
            outcome: Outcome::NotApplicable,
            trace: Trace {
                label: rule.id.to_string(),
                value: Tri::False,
                facts: vec![],
                children: applicability,
            },
            deciding_facts: BTreeSet::new(),
            workaround: RenderedWorkaround {
                text: String::new(),
                missing: Vec::new(),
            },
        };
    }
    let applies = Tri::all(applicability.iter().map(|t| t.value));
    let applies_trace = Trace {
        label: "applies".into(),
        value: applies,
        facts: vec![],
        children: applicability,
    };
    let mut children = vec![applies_trace];
    let condition = match (&rule.when, applies) {
        (_, Tri::False) => Tri::False,
        (None, _) => Tri::True,
        (Some(cond), _) => {
            let trace = eval_condition(cond, &scope);
            let value = trace.value;
            children.push(Trace {
                label: "when".into(),
                value,
                facts: vec![],
                children: vec![trace],
            });
            value
        }
    };
    let overall = applies.and(condition);
    let outcome = match (overall, applies) {
        (Tri::True, _) => Outcome::Triggered,
        (Tri::Unknown, _) => Outcome::Unknown,
        (Tri::False, Tri::False) => Outcome::NotApplicable,
        (Tri::False, _) => Outcome::Clear,
    };
    let trace = Trace {
        label: rule.id.to_string(),
        value: overall,
        facts: vec![],
        children,
    };
    let mut deciding_facts = BTreeSet::new();
    if outcome == Outcome::Unknown {
        trace.unknown_facts(&mut deciding_facts);
    }
    let rendered = render_template(&rule.workaround.text, &scope);
    Evaluation {
        rule: rule.id.clone(),
        title: rule.title.clone(),
        kb: rule.kb.iter().map(|k| k.id.clone()).collect(),
        severity: rule.severity,
        outcome,
        trace,
        deciding_facts,
        workaround: RenderedWorkaround {
            text: rendered.text,
            missing: rendered.missing,
        },
    }
}

fn in_range(scope: &Scope, name: &str, range: &crate::version::VersionRange) -> Trace {
    let value = match scope.lookup(name).map(|f| f.value) {
        Some(FactValue::Version(v)) => Tri::from(range.contains(&v)),
        Some(other) => match other.to_string().parse() {
            Ok(v) => Tri::from(range.contains(&v)),
            Err(_) => Tri::False,
        },
        None => Tri::Unknown,
    };
    Trace::leaf(
        format!("{name} in {range}"),
        value,
        vec![scope.fact_use(name)],
    )
}

fn eval_condition(cond: &Condition, scope: &Scope) -> Trace {
    let env_use = |var: &str| scope.fact_use(&format!("env.{var}"));
    let env = |var: &str| -> EnvValue { scope.facts.env_var(var) };
    match cond {
        Condition::All(members) | Condition::Any(members) => {
            let children: Vec<Trace> = members.iter().map(|m| eval_condition(m, scope)).collect();
            let values = children.iter().map(|c| c.value);
            let (label, value) = if matches!(cond, Condition::All(_)) {
                ("all of", Tri::all(values))
            } else {
                ("any of", Tri::any(values))
            };
            Trace {
                label: label.into(),
                value,
                facts: vec![],
                children,
            }
        }
        Condition::Not(inner) => {
            let child = eval_condition(inner, scope);
            Trace {
                label: "not".into(),
                value: child.value.not(),
                facts: vec![],
                children: vec![child],
            }
        }
        Condition::EnvSet(var) | Condition::EnvUnset(var) => {
            let set = match env(var) {
                EnvValue::Unknown => Tri::Unknown,
                EnvValue::Unset => Tri::False,
                EnvValue::Set(_) => Tri::True,
            };
            let (label, value) = if matches!(cond, Condition::EnvSet(_)) {
                (format!("{var} is set"), set)
            } else {
                (format!("{var} is not set"), set.not())
            };
            Trace::leaf(label, value, vec![env_use(var)])
        }
        Condition::EnvEquals(var, expected) => {
            let value = match env(var) {
                EnvValue::Unknown => Tri::Unknown,
                EnvValue::Unset => Tri::False,
                EnvValue::Set(f) => Tri::from(f.value.to_string() == *expected),
            };
            Trace::leaf(format!("{var} == {expected:?}"), value, vec![env_use(var)])
        }
        Condition::EnvMatches(var, pattern) => {
            let value = match env(var) {
                EnvValue::Unknown => Tri::Unknown,
                EnvValue::Unset => Tri::False,
                EnvValue::Set(f) => Tri::from(pattern.is_match(&f.value.to_string())),
            };
            Trace::leaf(
                format!("{var} matches /{pattern}/"),
                value,
                vec![env_use(var)],
            )
        }
        Condition::FactMatches(name, pattern) => {
            let value = match scope.lookup(name) {
                None => Tri::Unknown,
                Some(fact) => Tri::from(pattern.is_match(&fact.value.to_string())),
            };
            Trace::leaf(
                format!("{name} matches /{pattern}/"),
                value,
                vec![scope.fact_use(name)],
            )
        }
        Condition::FactEquals(name, literal) => compare(scope, name, CompareOp::Eq, literal),
        Condition::FactCompare(name, op, literal) => compare(scope, name, *op, literal),
        Condition::FactInRange(name, range) => in_range(scope, name, range),
        Condition::Compare {
            left,
            op,
            right,
            percent,
        } => compare_facts(scope, left, *op, right, *percent),
        Condition::FileExists(template) => file_exists(scope, template),
        Condition::OnPath(program) => {
            let value = on_path(program, scope.facts, scope.prober);
            Trace::leaf(
                format!("{program} is on PATH"),
                value,
                vec![env_use("PATH")],
            )
        }
    }
}

/// `left op right × percent / 100` over two whole-number facts.
fn compare_facts(scope: &Scope, left: &str, op: CompareOp, right: &str, percent: u32) -> Trace {
    let value = match (
        scope.lookup(left).map(|f| f.value),
        scope.lookup(right).map(|f| f.value),
    ) {
        (Some(FactValue::Int(l)), Some(FactValue::Int(r))) => {
            // In i128 so no size in bytes can overflow the scaling.
            let scaled = i128::from(r) * i128::from(percent);
            Tri::from(op.holds((i128::from(l) * 100).cmp(&scaled)))
        }
        _ => Tri::Unknown,
    };
    let scale = if percent == 100 {
        String::new()
    } else {
        format!(" × {percent}%")
    };
    Trace::leaf(
        format!(
            "{} {} {}{scale}",
            scope.shown(left),
            op.symbol(),
            scope.shown(right)
        ),
        value,
        vec![scope.fact_use(left), scope.fact_use(right)],
    )
}

/// Whether the path (its `{fact}` templates filled in) exists on the local host.
fn file_exists(scope: &Scope, template: &str) -> Trace {
    let rendered = render_template(template, scope);
    let uses: Vec<FactUse> = template_refs(template)
        .into_iter()
        .map(|n| scope.fact_use(n))
        .collect();
    let value = match rendered.clone().complete() {
        Some(path) => match scope.prober.family("file.exists", &path) {
            Ok(FactValue::Bool(exists)) => Tri::from(exists),
            _ => Tri::Unknown,
        },
        None => Tri::Unknown,
    };
    Trace::leaf(format!("file {} exists", rendered.text), value, uses)
}

fn compare(scope: &Scope, name: &str, op: CompareOp, literal: &Literal) -> Trace {
    let label = format!("{} {} {literal}", scope.shown(name), op.symbol());
    let value = match scope.lookup(name) {
        None => Tri::Unknown,
        Some(fact) => {
            let ty = fact.value.ty();
            match FactValue::coerce(literal, ty) {
                // Ordering booleans means nothing; lint rejects it, and here it decides nothing.
                Ok(_) if ty == FactType::Bool && !matches!(op, CompareOp::Eq | CompareOp::Ne) => {
                    Tri::Unknown
                }
                Ok(expected) => Tri::from(op.holds(fact.value.cmp(&expected))),
                // lint rejects mistyped literals; at run time they decide nothing.
                Err(_) => Tri::Unknown,
            }
        }
    };
    Trace::leaf(label, value, vec![scope.fact_use(name)])
}

fn on_path(program: &str, facts: &FactSet, prober: &dyn Prober) -> Tri {
    let EnvValue::Set(path) = facts.env_var("PATH") else {
        return Tri::False;
    };
    let path = path.value.to_string();
    let windows = cfg!(windows);
    let exts: Vec<String> = if windows {
        match facts.env_var("PATHEXT") {
            EnvValue::Set(f) => f.value.to_string().split(';').map(str::to_string).collect(),
            _ => vec![".EXE".into(), ".COM".into(), ".BAT".into(), ".CMD".into()],
        }
    } else {
        vec![String::new()]
    };
    let mut unreadable = false;
    let found = std::env::split_paths(&path).any(|dir| {
        exts.iter()
            .chain(std::iter::once(&String::new()))
            .any(|ext| {
                let candidate = dir.join(format!("{program}{ext}"));
                match prober.is_file(&candidate.to_string_lossy()) {
                    Ok(is_file) => is_file,
                    Err(_) => {
                        unreadable = true;
                        false
                    }
                }
            })
    });
    if unreadable && !found {
        Tri::Unknown
    } else {
        Tri::from(found)
    }
}

/// The environment changes the structured workarounds of triggered rules would make, and the
/// facts missing for those that cannot be applied.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct WorkaroundPlan {
    /// (rule id, variable, value) to set in the child's environment.
    pub set_env: Vec<(RuleId, String, String)>,
    /// (rule id, fact) for actions whose input fact is unknown.
    pub missing: Vec<(RuleId, String)>,
}

/// Plans the structured workarounds of every triggered rule among `evaluations`.
pub fn plan_workarounds<'a>(
    rules: impl IntoIterator<Item = &'a Rule>,
    evaluations: &[Evaluation],
    facts: &FactSet,
) -> WorkaroundPlan {
    let mut plan = WorkaroundPlan::default();
    for rule in rules {
        let triggered = evaluations
            .iter()
            .any(|e| e.rule == rule.id && e.outcome == Outcome::Triggered);
        if !triggered {
            continue;
        }
        for action in &rule.workaround.actions {
            match action {
                Action::SetEnv { var, fact } => match facts.get(fact) {
                    Some(f) => {
                        plan.set_env
                            .push((rule.id.clone(), var.clone(), f.value.to_string()))
                    }
                    None => plan.missing.push((rule.id.clone(), fact.clone())),
                },
            }
        }
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Applies, Intent, OsFamily, Pattern, ProductRange, Workaround};
    use crate::probe::ANOTHER_HOST;

    fn q178311() -> Rule {
        Rule {
            id: RuleId::try_from("r".to_string()).unwrap(),
            revision: 1,
            kb: vec![],
            title: "t".into(),
            severity: Severity::Block,
            reviewed: "2026-01-01".parse().unwrap(),
            status: Default::default(),
            applies: Applies {
                products: vec![ProductRange {
                    name: "exchange".into(),
                    versions: ">=5.5, <6".parse().unwrap(),
                }],
                os: vec![OsFamily::Windows],
            },
            intent: Some(Intent {
                program: "isinteg".into(),
                flags: vec!["-patch".into()],
                forbidden: vec![],
                args: vec![],
                options: vec![],
            }),
            when: Some(Condition::All(vec![
                Condition::FactEquals("cluster.node".into(), Literal::Bool(true)),
                Condition::EnvUnset("_CLUSTER_NETWORK_NAME_".into()),
            ])),
            symptoms: vec![],
            workaround: Workaround {
                text: "set it to {cluster.network_name}".into(),
                actions: vec![],
            },
            given: Default::default(),
            tests: vec![],
            evidence: Vec::new(),
        }
    }

    fn host(cluster: Option<bool>, env: &[(&str, &str)]) -> FactSet {
        let mut set = FactSet::remote();
        let f = |value| Fact {
            value,
            source: FactSource::TestCase,
        };
        set.insert("os.family", f(FactValue::Str("windows".into())));
        set.insert(
            "product.exchange.version",
            f(FactValue::Version("5.5.2653".parse().unwrap())),
        );
        if let Some(c) = cluster {
            set.insert("cluster.node", f(FactValue::Bool(c)));
        }
        set.set_environment(
            env.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            FactSource::TestCase,
        );
        set
    }

    fn run(rule: &Rule, facts: &FactSet, cmd: &str) -> Evaluation {
        let argv: Vec<String> = cmd.split(' ').map(String::from).collect();
        evaluate(
            rule,
            facts,
            Command::parse(&argv).as_ref(),
            crate::facts::prober_for(facts).as_ref(),
        )
    }

    #[test]
    fn q178311_outcomes() {
        let rule = q178311();
        assert_eq!(
            run(&rule, &host(Some(true), &[]), "isinteg -patch").outcome,
            Outcome::Triggered
        );
        assert_eq!(
            run(
                &rule,
                &host(Some(true), &[("_CLUSTER_NETWORK_NAME_", "EXC")]),
                "isinteg -patch"
            )
            .outcome,
            Outcome::Clear
        );
        assert_eq!(
            run(&rule, &host(Some(false), &[]), "isinteg -patch").outcome,
            Outcome::Clear
        );
        let unknown = run(&rule, &host(None, &[]), "ISINTEG.EXE /PATCH");
        assert_eq!(unknown.outcome, Outcome::Unknown);
        assert_eq!(
            unknown.deciding_facts.iter().collect::<Vec<_>>(),
            vec!["cluster.node"]
        );
        assert_eq!(
            run(&rule, &host(Some(true), &[]), "isinteg -fix").outcome,
            Outcome::NotApplicable
        );
        assert_eq!(
            evaluate(&rule, &host(Some(true), &[]), None, &ANOTHER_HOST).outcome,
            Outcome::NotApplicable
        );
    }

    #[test]
    fn unknown_applicability_with_false_condition_is_clear() {
        let rule = q178311();
        let mut facts = FactSet::remote();
        facts.insert(
            "cluster.node",
            Fact {
                value: FactValue::Bool(false),
                source: FactSource::TestCase,
            },
        );
        assert_eq!(run(&rule, &facts, "isinteg -patch").outcome, Outcome::Clear);
        let unknown = run(&rule, &FactSet::remote(), "isinteg -patch");
        assert_eq!(unknown.outcome, Outcome::Unknown);
        assert!(unknown.deciding_facts.contains("product.exchange.version"));
        assert!(unknown
            .deciding_facts
            .contains("env._CLUSTER_NETWORK_NAME_"));
    }

    #[test]
    fn workaround_renders_known_facts() {
        let rule = q178311();
        let mut facts = host(Some(true), &[]);
        facts.insert(
            "cluster.network_name",
            Fact {
                value: FactValue::Str("EXCLUSTER".into()),
                source: FactSource::TestCase,
            },
        );
        let e = run(&rule, &facts, "isinteg -patch");
        assert_eq!(e.workaround.text, "set it to EXCLUSTER");
    }

    fn space_rule() -> Rule {
        let mut rule = q178311();
        rule.applies = Applies::default();
        rule.intent = Some(Intent {
            program: "eseutil".into(),
            flags: vec!["/d".into()],
            forbidden: vec![],
            args: vec![crate::model::ArgPattern {
                pattern: "*.edb".into(),
                bind: Some("database".into()),
            }],
            options: vec![],
        });
        rule.when = Some(Condition::Compare {
            left: "volume.free:{command.database}".into(),
            op: CompareOp::Lt,
            right: "file.size:{command.database}".into(),
            percent: 110,
        });
        rule
    }

    fn with_facts(pairs: &[(&str, FactValue)]) -> FactSet {
        let mut set = FactSet::remote();
        for (name, value) in pairs {
            set.insert(
                name,
                Fact {
                    value: value.clone(),
                    source: FactSource::TestCase,
                },
            );
        }
        set
    }

    #[test]
    fn compare_scales_the_right_side_and_volumes_match_by_prefix() {
        let rule = space_rule();
        let db = "C:\\exchsrvr\\mdbdata\\priv.edb";
        let cmd = format!("eseutil /d {db}");
        let tight = with_facts(&[
            ("volume.free:C:\\", FactValue::Int(1_050)),
            (&format!("file.size:{db}"), FactValue::Int(1_000)),
        ]);
        let e = run(&rule, &tight, &cmd);
        assert_eq!(e.outcome, Outcome::Triggered);
        assert!(e.trace.children[1].children[0].facts[0]
            .name
            .ends_with("priv.edb"));
        let roomy = with_facts(&[
            ("volume.free:c:/exchsrvr", FactValue::Int(1_100)),
            (&format!("file.size:{db}"), FactValue::Int(1_000)),
        ]);
        assert_eq!(run(&rule, &roomy, &cmd).outcome, Outcome::Clear);
        let unknown = run(&rule, &with_facts(&[]), &cmd);
        assert_eq!(unknown.outcome, Outcome::Unknown);
        assert!(unknown.deciding_facts.contains(&format!("file.size:{db}")));
    }

    #[test]
    fn fact_matches_reads_bound_option_values() {
        let mut rule = space_rule();
        if let Some(intent) = rule.intent.as_mut() {
            intent.options = vec![crate::model::ValueOption {
                flag: "/t".into(),
                bind: Some("tempdb".into()),
            }];
            intent.flags.push("/t".into());
        }
        rule.when = Some(Condition::FactMatches(
            "command.tempdb".into(),
            Pattern::try_from(r"^(\\\\|//)".to_string()).unwrap(),
        ));
        let facts = with_facts(&[]);
        let outcome = |cmd: &str| run(&rule, &facts, cmd).outcome;
        assert_eq!(
            outcome(r"eseutil /d priv.edb /t\\srv\x\t.edb"),
            Outcome::Triggered
        );
        assert_eq!(outcome(r"eseutil /d priv.edb /tD:\t.edb"), Outcome::Clear);
        assert_eq!(outcome("eseutil /d priv.edb"), Outcome::NotApplicable);
    }

    #[cfg(unix)]
    #[test]
    fn families_are_probed_on_this_machine_only() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("priv.edb");
        std::fs::write(&db, vec![0u8; 4096]).unwrap();
        let cmd = format!("eseutil /d {}", db.display());
        let local = crate::facts::probe_local(&crate::schema::Catalogue::default());
        // Any real volume has more than 110% of 4 KiB free.
        assert_eq!(run(&space_rule(), &local, &cmd).outcome, Outcome::Clear);
        assert_eq!(
            run(&space_rule(), &FactSet::remote(), &cmd).outcome,
            Outcome::Unknown
        );
    }

    /// A host made of answers: what the evaluator sees of a machine is what its prober says.
    struct FakeHost(BTreeMap<(&'static str, String), FactValue>);

    impl Prober for FakeHost {
        fn family(&self, family: &str, arg: &str) -> Result<FactValue, String> {
            self.0
                .get(&(family, arg.to_string()))
                .cloned()
                .ok_or_else(|| format!("the fake host has no {family} of {arg}"))
        }
        fn is_file(&self, _: &str) -> Result<bool, String> {
            Ok(false)
        }
        fn text(&self, _: &str) -> Result<String, String> {
            Err("no files".into())
        }
        fn registry(&self) -> Result<&dyn crate::registry::Registry, String> {
            Err("no registry".into())
        }
    }

    #[test]
    fn family_facts_come_through_the_prober_seam() {
        let db = r"D:\mdbdata\priv.edb".to_string();
        let cmd = format!("eseutil /d {db}");
        let argv: Vec<String> = cmd.split(' ').map(String::from).collect();
        let command = Command::parse(&argv);
        let host = |free: i64| {
            FakeHost(BTreeMap::from([
                (("file.size", db.clone()), FactValue::Int(1000)),
                (("volume.free", db.clone()), FactValue::Int(free)),
            ]))
        };
        let facts = FactSet::remote();
        let outcome =
            |prober: &dyn Prober| evaluate(&space_rule(), &facts, command.as_ref(), prober).outcome;
        assert_eq!(outcome(&host(5000)), Outcome::Clear);
        assert_eq!(outcome(&host(10)), Outcome::Triggered);
        assert_eq!(outcome(&FakeHost(BTreeMap::new())), Outcome::Unknown);
        let cached = crate::probe::Cached::new(&ANOTHER_HOST);
        assert_eq!(outcome(&cached), Outcome::Unknown);
    }
}
