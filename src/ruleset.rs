//! The rule set a run works with: loaded files, their fact catalogue and their lint problems,
//! and the `check` of a command against it.
//!
//! Owns fail-closed policy: a set with load or lint errors reports them, and callers refuse to
//! vouch for a command until they are fixed.

use serde::Serialize;

use crate::eval::{evaluate, Evaluation, Outcome};
use crate::facts::FactSet;
use crate::intent::{normalize_program, Command};
use crate::load::{Loaded, LoadedRule, Origin};
use crate::model::{FactDecl, Rule, Severity, Status};
use crate::schema::Catalogue;
use crate::validate::{lint, Level, LintProblem};

/// Loaded rules and records with their catalogue and validation results.
#[derive(Debug)]
pub struct RuleSet {
    /// What was loaded, and load errors.
    pub loaded: Loaded,
    /// Fact names and types.
    pub catalogue: Catalogue,
    /// Validation problems (warnings and errors).
    pub problems: Vec<LintProblem>,
}

impl RuleSet {
    /// Loads and validates every origin.
    pub fn load(origins: &[Origin]) -> RuleSet {
        let loaded = Loaded::from_origins(origins);
        let catalogue = Catalogue::from_decls(loaded.facts.iter().map(|f| &f.decl));
        let problems = lint(&loaded, &catalogue);
        RuleSet {
            loaded,
            catalogue,
            problems,
        }
    }

    /// Number of load errors plus validation errors (warnings excluded).
    pub fn error_count(&self) -> usize {
        self.loaded.errors.len()
            + self
                .problems
                .iter()
                .filter(|p| p.level == Level::Error)
                .count()
    }

    /// Rules that `check` evaluates: active ones.
    pub fn active_rules(&self) -> impl Iterator<Item = &LoadedRule> {
        self.loaded
            .rules
            .iter()
            .filter(|r| r.rule.status == Status::Active)
    }

    /// The rule with this id.
    pub fn rule(&self, id: &str) -> Option<&LoadedRule> {
        self.loaded.rules.iter().find(|r| r.rule.id == id)
    }

    /// What a preflight needs of this set: its active rules without their test cases and
    /// symptoms, and the fact declarations.
    pub fn compile(&self) -> CompiledRules {
        CompiledRules::new(
            self.active_rules()
                .map(|r| Rule {
                    tests: Vec::new(),
                    symptoms: Vec::new(),
                    evidence: Vec::new(),
                    ..r.rule.clone()
                })
                .collect(),
            self.loaded.facts.iter().map(|f| f.decl.clone()).collect(),
        )
    }
}

/// The rules a preflight evaluates, compiled: active rules only (patterns and ranges already
/// parsed), with neither source text, test cases, symptoms nor evidence, and the fact
/// catalogue. What the rule cache stores; a full [`RuleSet`] is for lint, test and lookup.
#[derive(Clone, Debug)]
pub struct CompiledRules {
    rules: Vec<Rule>,
    facts: Vec<FactDecl>,
    /// Fact names and types.
    pub catalogue: Catalogue,
}

impl CompiledRules {
    /// Active `rules` (the caller's promise) and the fact declarations they read.
    pub fn new(rules: Vec<Rule>, facts: Vec<FactDecl>) -> CompiledRules {
        let catalogue = Catalogue::from_decls(&facts);
        CompiledRules {
            rules,
            facts,
            catalogue,
        }
    }

    /// The rules, in load order.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// The fact declarations.
    pub fn facts(&self) -> &[FactDecl] {
        &self.facts
    }

    /// Evaluates every rule against the facts and command.
    pub fn check(&self, facts: &FactSet, command: Option<&Command>) -> CheckReport {
        // One prober per check: each fact the rules ask the host for is read once.
        let host = crate::facts::prober_for(facts);
        let prober = crate::probe::Cached::new(host.as_ref());
        let mut rules_evaluated = 0;
        let evaluations: Vec<Evaluation> = self
            .rules
            .iter()
            .inspect(|_| rules_evaluated += 1)
            // Most rules of a large set concern other programs: skip them before evaluating.
            .filter(|r| match (&r.intent, command) {
                (Some(intent), Some(command)) => {
                    normalize_program(&intent.program) == command.program
                }
                (Some(_), None) => false,
                (None, _) => true,
            })
            .map(|r| evaluate(r, facts, command, &prober))
            .filter(|e| e.outcome != Outcome::NotApplicable)
            .collect();
        CheckReport {
            command: command.map(|c| c.argv.clone()),
            rules_evaluated,
            evaluations,
        }
    }
}

/// The result of checking one command.
#[derive(Clone, Debug, Serialize)]
pub struct CheckReport {
    /// The command checked, if any.
    pub command: Option<Vec<String>>,
    /// How many active rules were evaluated.
    pub rules_evaluated: usize,
    /// The evaluation of every rule that applies or may apply, in rule order (rules that do
    /// not apply are only counted).
    pub evaluations: Vec<Evaluation>,
}

/// What a check means for the command.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// No block rule triggered or undecided: the command may run.
    Clear,
    /// A block rule triggered.
    Blocked,
    /// A block rule could not be decided.
    Undecided,
}

impl Verdict {
    /// The process exit code for this verdict: 0, 1 or 3.
    pub fn exit_code(self) -> u8 {
        match self {
            Verdict::Clear => 0,
            Verdict::Blocked => 1,
            Verdict::Undecided => 3,
        }
    }
}

impl CheckReport {
    /// Evaluations that say something: triggered and unknown ones, most severe first.
    pub fn findings(&self) -> Vec<&Evaluation> {
        let mut findings: Vec<&Evaluation> = self
            .evaluations
            .iter()
            .filter(|e| matches!(e.outcome, Outcome::Triggered | Outcome::Unknown))
            .collect();
        findings.sort_by(|a, b| b.severity.cmp(&a.severity).then(b.outcome.cmp(&a.outcome)));
        findings
    }

    /// The verdict; with `allow_unknown`, undecided block rules do not stop the command.
    pub fn verdict(&self, allow_unknown: bool) -> Verdict {
        let blocks = |outcome| {
            self.evaluations
                .iter()
                .any(|e| e.severity == Severity::Block && e.outcome == outcome)
        };
        if blocks(Outcome::Triggered) {
            Verdict::Blocked
        } else if !allow_unknown && blocks(Outcome::Unknown) {
            Verdict::Undecided
        } else {
            Verdict::Clear
        }
    }
}
