//! The snapshot collector (`kbguard facts --save FILE`): what a customer runs on their host and
//! sends to the helpdesk, who evaluates it anywhere with `--facts FILE`.
//!
//! Owns what a collected snapshot holds: every fact known on the host, the family facts the
//! loaded rules would ask for (file sizes, free space, processes) as far as the known facts
//! name their arguments, the environment variables the rules read (set, or unset; the rest of
//! the environment is not taken: it may hold secrets), each fact's source, and who/when/what
//! collected it (host name, time, kbguard version, the digest of the rules loaded).

use std::collections::{BTreeMap, BTreeSet};

use crate::facts::{prober_for, render_template, EnvValue, FactSet, Snapshot, SnapshotOrigin};
use crate::model::{Condition, FactValue, Literal, Rule};
use crate::record::{digests, rfc3339};
use crate::ruleset::CompiledRules;
use crate::schema::{split_family, template_refs, COMMAND_PREFIX, ENV_PREFIX};

/// The snapshot of `host` for the rules of `rules`, taken at `now` (seconds since 1970).
pub fn snapshot(rules: &CompiledRules, host: &FactSet, now: u64) -> Snapshot {
    let mut facts: BTreeMap<String, Literal> = BTreeMap::new();
    let mut sources: BTreeMap<String, String> = BTreeMap::new();
    for (name, fact) in host.iter() {
        facts.insert(name.clone(), literal(&fact.value));
        sources.insert(name.clone(), fact.source.to_string());
    }
    let (fact_names, env_names) = read_by(rules.rules());
    // Family facts whose argument the known facts complete (`file.size:{exchange.mdbdata}\priv.edb`),
    // read on this host: never one bound from a command, which a snapshot cannot know.
    if host.is_probeable() {
        for name in &fact_names {
            let rendered = render_template(name, host);
            let Some(full) = rendered.complete() else {
                continue;
            };
            let Some((family, arg)) = split_family(&full) else {
                continue;
            };
            if full.contains(COMMAND_PREFIX) || facts.contains_key(&full) {
                continue;
            }
            if let Ok(value) = prober_for(host).family(family, arg) {
                let source = format!("probe: {family} of {arg}");
                facts.insert(full.clone(), literal(&value));
                sources.insert(full, source);
            }
        }
    }
    let env_vars = env_names
        .into_iter()
        .filter_map(|var| match host.env_var(&var) {
            EnvValue::Set(f) => Some((var, Some(f.value.to_string()))),
            EnvValue::Unset => Some((var, None)),
            EnvValue::Unknown => None,
        })
        .collect();
    let (ruleset, _) = digests(rules);
    Snapshot {
        description: Some(format!(
            "collected by kbguard facts --save on {}",
            host.get("host.name")
                .map(|f| f.value.to_string())
                .unwrap_or_default()
        )),
        facts,
        env: None,
        env_vars,
        sources,
        collected: Some(SnapshotOrigin {
            host: host
                .get("host.name")
                .map(|f| f.value.to_string())
                .unwrap_or_default(),
            time: rfc3339(now),
            kbguard: env!("CARGO_PKG_VERSION").to_string(),
            ruleset,
        }),
    }
}

fn literal(value: &FactValue) -> Literal {
    match value {
        FactValue::Bool(b) => Literal::Bool(*b),
        FactValue::Int(i) => Literal::Int(*i),
        other => Literal::Str(other.to_string()),
    }
}

/// The fact names (templates included) and environment variables `rules` read.
fn read_by(rules: &[Rule]) -> (BTreeSet<String>, BTreeSet<String>) {
    let mut facts = BTreeSet::new();
    let mut env = BTreeSet::new();
    for rule in rules {
        if let Some(when) = &rule.when {
            walk(when, &mut facts, &mut env);
        }
        for name in template_refs(&rule.workaround.text) {
            facts.insert(name.to_string());
        }
    }
    // `env.X` facts read through templates are variables.
    for name in facts.clone() {
        if let Some(var) = name.strip_prefix(ENV_PREFIX) {
            env.insert(var.to_string());
            facts.remove(&name);
        }
    }
    (facts, env)
}

fn walk(cond: &Condition, facts: &mut BTreeSet<String>, env: &mut BTreeSet<String>) {
    match cond {
        Condition::All(members) | Condition::Any(members) => {
            for m in members {
                walk(m, facts, env);
            }
        }
        Condition::Not(inner) => walk(inner, facts, env),
        Condition::EnvSet(var)
        | Condition::EnvUnset(var)
        | Condition::EnvEquals(var, _)
        | Condition::EnvMatches(var, _) => {
            env.insert(var.clone());
        }
        Condition::FactMatches(name, _)
        | Condition::FactEquals(name, _)
        | Condition::FactCompare(name, _, _)
        | Condition::FactInRange(name, _) => {
            facts.insert(name.clone());
        }
        Condition::Compare { left, right, .. } => {
            facts.insert(left.clone());
            facts.insert(right.clone());
        }
        Condition::FileExists(template) => {
            facts.extend(template_refs(template).into_iter().map(str::to_string));
        }
        Condition::OnPath(_) => {
            env.insert("PATH".to_string());
        }
    }
}
