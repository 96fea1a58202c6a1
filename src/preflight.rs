//! The check of what a command or a whole line really runs.
//!
//! [`crate::cmdline`] turns an argv or a line into the commands it runs; here each one is
//! checked against the rule set with the facts as the line leaves them for it (variables it
//! assigned, the folder it changed to). The verdict is the worst of the commands'.

use serde::Serialize;

use crate::cmdline::Planned;
use crate::eval::plan_workarounds;
use crate::facts::{Fact, FactSet, FactSource};
use crate::intent::{normalize_program, Command};
use crate::model::{FactValue, Rule, RuleId};
use crate::ruleset::{CheckReport, CompiledRules, Verdict};

/// One command of the line, checked.
#[derive(Clone, Debug, Serialize)]
pub struct CommandCheck {
    /// What runs, and what the line did to its environment and folder.
    #[serde(flatten)]
    pub planned: Planned,
    /// The working folder the command runs in, when known (`host.cwd` as the check saw it).
    pub cwd: Option<String>,
    /// The rules' findings for it.
    pub report: CheckReport,
}

/// Every command of a line (or an argv, which may run several through `cmd /c "a && b"`).
#[derive(Clone, Debug, Serialize)]
pub struct Preflight {
    /// The commands, in the order the line runs them.
    pub commands: Vec<CommandCheck>,
}

impl Preflight {
    /// The worst verdict of the commands.
    pub fn verdict(&self, allow_unknown: bool) -> Verdict {
        self.commands
            .iter()
            .map(|c| c.report.verdict(allow_unknown))
            .max_by_key(|v| rank(*v))
            .unwrap_or(Verdict::Clear)
    }

    /// The command that decides the verdict: the first with the worst one.
    pub fn deciding(&self, allow_unknown: bool) -> Option<&CommandCheck> {
        let worst = self.verdict(allow_unknown);
        self.commands
            .iter()
            .find(|c| c.report.verdict(allow_unknown) == worst)
    }

    /// Whether the check is of one command run as written (no wrapper, assignment or `cd`):
    /// reports then need not say which command each finding is about.
    pub fn is_plain(&self) -> bool {
        match self.commands.as_slice() {
            [one] => {
                let p = &one.planned;
                p.unwrapped.is_empty()
                    && p.env.is_empty()
                    && p.cd.is_empty()
                    && !p.clear_env
                    && p.notes.is_empty()
            }
            _ => false,
        }
    }
}

/// Blocked is worse than undecided, which is worse than clear.
fn rank(v: Verdict) -> u8 {
    match v {
        Verdict::Clear => 0,
        Verdict::Undecided => 1,
        Verdict::Blocked => 2,
    }
}

/// Checks each planned command; with none (no command given, or a line of only `cd`s and
/// assignments), the environment-only rules are checked once.
pub fn check(set: &CompiledRules, host: &FactSet, plans: Vec<Planned>) -> Preflight {
    if plans.is_empty() {
        return Preflight {
            commands: vec![CommandCheck {
                planned: Planned::default(),
                cwd: cwd_of(host),
                report: set.check(host, None),
            }],
        };
    }
    let commands = plans
        .into_iter()
        .map(|planned| {
            let facts = facts_for(host, &planned);
            let command = Command::parse(&planned.argv);
            CommandCheck {
                cwd: cwd_of(&facts),
                report: set.check(&facts, command.as_ref()),
                planned,
            }
        })
        .collect();
    Preflight { commands }
}

/// What `run --apply-workarounds` did: the variables its triggered rules' workarounds set in
/// the command's environment, the ones it could not set, and the check with them applied.
#[derive(Clone, Debug)]
pub struct Applied {
    /// (rule, variable, value) for each variable set.
    pub set_env: Vec<(RuleId, String, String)>,
    /// (rule, fact) for each workaround whose input fact is unknown.
    pub missing: Vec<(RuleId, String)>,
    /// The check after applying them; the check given when nothing was applied.
    pub checked: Preflight,
}

/// Applies the structured workarounds of the rules that block `checked` to the command's
/// environment (never to the host) and checks `plans` again with them.
pub fn apply_workarounds(
    set: &CompiledRules,
    host: &FactSet,
    plans: Vec<Planned>,
    checked: Preflight,
) -> Applied {
    let evaluations: Vec<_> = checked
        .commands
        .iter()
        .flat_map(|c| c.report.evaluations.iter().cloned())
        .collect();
    let plan = plan_workarounds(set.rules(), &evaluations, host);
    if plan.set_env.is_empty() {
        return Applied {
            set_env: plan.set_env,
            missing: plan.missing,
            checked,
        };
    }
    let mut host = host.clone();
    for (rule, var, value) in &plan.set_env {
        host.insert(
            &format!("env.{var}"),
            Fact {
                value: FactValue::Str(value.clone()),
                source: FactSource::Workaround(rule.to_string()),
            },
        );
    }
    Applied {
        checked: check(set, &host, plans),
        set_env: plan.set_env,
        missing: plan.missing,
    }
}

/// The planned command a rule is about: the first that runs the rule's program, else the first.
pub fn for_rule<'p>(rule: &Rule, plans: &'p [Planned]) -> Option<&'p Planned> {
    let program = rule.intent.as_ref().map(|i| normalize_program(&i.program));
    plans
        .iter()
        .find(|p| {
            let first = p.argv.first().map(|a| normalize_program(a));
            program.is_some() && first == program
        })
        .or_else(|| plans.first())
}

fn cwd_of(facts: &FactSet) -> Option<String> {
    match facts.get("host.cwd").map(|f| &f.value) {
        Some(FactValue::Str(s)) => Some(s.clone()),
        _ => None,
    }
}

/// The host's facts as `planned` sees them: its assignments applied, `host.cwd` followed
/// through its `cd`s (unknown after a `cd` kbguard cannot resolve).
pub fn facts_for(host: &FactSet, planned: &Planned) -> FactSet {
    if planned.env.is_empty() && planned.cd.is_empty() && !planned.clear_env {
        return host.clone();
    }
    let mut facts = host.clone();
    if planned.clear_env {
        facts.set_environment(Default::default(), FactSource::Line("env -i".into()));
    }
    for change in &planned.env {
        let value = change.value.as_ref().map(|v| Fact {
            value: FactValue::Str(v.clone()),
            source: FactSource::Line(format!("{}={v}", change.name)),
        });
        facts.assign_env(&change.name, value);
    }
    if !planned.cd.is_empty() {
        let mut cwd = cwd_of(host);
        for target in &planned.cd {
            cwd = change_dir(cwd.as_deref(), target);
        }
        match cwd {
            Some(dir) => facts.insert(
                "host.cwd",
                Fact {
                    source: FactSource::Line(format!("cd {dir}")),
                    value: FactValue::Str(dir),
                },
            ),
            None => facts.remove("host.cwd"),
        }
    }
    facts
}

/// The folder after `cd target` from `base`; `None` when it cannot be told (`cd ~`, `cd -`,
/// a relative folder from an unknown one).
pub fn change_dir(base: Option<&str>, target: &str) -> Option<String> {
    let target = target.trim_matches('"');
    if target.is_empty() || target.starts_with(['~', '$', '%']) || target == "-" {
        return None;
    }
    let bytes = target.as_bytes();
    let has_drive = bytes.len() >= 2 && bytes[0].is_ascii_alphabetic() && bytes[1] == b':';
    if has_drive || target.starts_with("\\\\") || target.starts_with('/') {
        return Some(target.to_string());
    }
    let base = base?;
    if target.starts_with('\\') {
        // The root of the current drive.
        let drive = base.get(..2).filter(|d| d.ends_with(':'))?;
        return Some(format!("{drive}{target}"));
    }
    let sep = if base.contains('\\') || target.contains('\\') {
        '\\'
    } else {
        '/'
    };
    let mut parts: Vec<&str> = base.trim_end_matches(['/', '\\']).split(sep).collect();
    for part in target.split(['/', '\\']) {
        match part {
            "" | "." => {}
            ".." => {
                if parts.len() > 1 {
                    parts.pop();
                }
            }
            p => parts.push(p),
        }
    }
    let joined = parts.join(&sep.to_string());
    Some(if joined.is_empty() {
        sep.to_string()
    } else {
        joined
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folders_follow_cd() {
        assert_eq!(
            change_dir(Some("C:\\exchsrvr"), "bin").as_deref(),
            Some("C:\\exchsrvr\\bin")
        );
        assert_eq!(
            change_dir(Some("C:\\exchsrvr\\bin"), "..\\mdbdata").as_deref(),
            Some("C:\\exchsrvr\\mdbdata")
        );
        assert_eq!(
            change_dir(Some("C:\\x"), "\\exchsrvr").as_deref(),
            Some("C:\\exchsrvr")
        );
        assert_eq!(
            change_dir(None, "D:\\exchsrvr\\bin").as_deref(),
            Some("D:\\exchsrvr\\bin")
        );
        assert_eq!(
            change_dir(Some("/home/x"), "../y").as_deref(),
            Some("/home/y")
        );
        assert_eq!(change_dir(None, "bin"), None);
        assert_eq!(change_dir(Some("/x"), "~"), None);
    }

    #[test]
    fn assignments_on_an_unknown_environment_leave_the_rest_unknown() {
        use crate::facts::EnvValue;
        let host = FactSet::remote();
        let planned = Planned {
            env: vec![crate::cmdline::EnvChange {
                name: "X".into(),
                value: Some("1".into()),
            }],
            ..Planned::default()
        };
        let facts = facts_for(&host, &planned);
        assert!(matches!(facts.env_var("X"), EnvValue::Set(_)));
        assert_eq!(facts.env_var("Y"), EnvValue::Unknown);
    }
}
