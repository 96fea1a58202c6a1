//! Rule test cases (`kbguard test`): each case's command and host against its expected outcome.
//!
//! A case describes another host: only the facts and environment it lists are known, so a
//! case never depends on the machine running the tests.

use serde::Serialize;

use crate::eval::evaluate;
use crate::facts::{typed_value, Fact, FactSet, FactSource};
use crate::intent::Command;
use crate::model::{Expect, RuleId, Status};
use crate::ruleset::RuleSet;

/// The result of one test case.
#[derive(Clone, Debug, Serialize)]
pub struct CaseResult {
    /// The rule's id.
    pub rule: RuleId,
    /// The case's name.
    pub case: String,
    /// Where the case is written (`file:line:column`).
    pub location: String,
    /// The expected outcome.
    pub expected: Expect,
    /// What evaluation gave; absent when the case could not run.
    pub actual: Option<Expect>,
    /// Why the case could not run (a fact it names that is unknown, or a value of the wrong
    /// type).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Whether the outcome is the expected one.
    pub passed: bool,
}

impl CaseResult {
    /// True when the outcome is the expected one.
    pub fn passed(&self) -> bool {
        self.passed
    }
}

/// Runs every test case of every rule (retired rules included: their cases still document
/// them; drafts left out: their cases are still to be written).
pub fn run_tests(set: &RuleSet) -> Vec<CaseResult> {
    let mut results = Vec::new();
    for loaded in set
        .loaded
        .rules
        .iter()
        .filter(|r| r.rule.status != Status::Draft)
    {
        let rule = &loaded.rule;
        for case in &rule.tests {
            let location = set.loaded.files[loaded.file]
                .find_offset_before(loaded.offset, loaded.end, &format!("{:?}", case.name))
                .map(|offset| set.loaded.location(loaded.file, offset))
                .unwrap_or_else(|| set.loaded.location(loaded.file, loaded.offset));
            let mut facts = FactSet::remote();
            // The rule's `given` facts, then the case's own over them.
            let mut merged = rule.given.clone();
            merged.extend(case.facts.iter().map(|(k, v)| (k.clone(), v.clone())));
            // os.family first: it decides how the environment is looked up.
            let mut entries: Vec<_> = merged.iter().collect();
            entries.sort_by_key(|(name, _)| name.as_str() != "os.family");
            let mut actual = Ok(());
            for (name, literal) in entries {
                match typed_value(&set.catalogue, name, literal, || location.to_string()) {
                    Ok(value) => facts.insert(
                        name,
                        Fact {
                            value,
                            source: FactSource::TestCase,
                        },
                    ),
                    Err(err) => {
                        actual = Err(err.to_string());
                        break;
                    }
                }
            }
            if let Some(env) = &case.env {
                facts.set_environment(env.clone(), FactSource::TestCase);
            }
            let command = Command::parse(&case.command);
            let (actual, error) = match actual.map(|()| {
                evaluate(rule, &facts, command.as_ref(), &crate::probe::ANOTHER_HOST)
                    .outcome
                    .as_expect()
            }) {
                Ok(outcome) => (Some(outcome), None),
                Err(error) => (None, Some(error)),
            };
            results.push(CaseResult {
                rule: rule.id.clone(),
                case: case.name.clone(),
                location: location.to_string(),
                expected: case.expect,
                passed: actual == Some(case.expect),
                actual,
                error,
            });
        }
    }
    results
}
