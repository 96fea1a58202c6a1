//! `facts`, `rules`, `lint` and `test`: what kbguard knows, and whether its rules hold.

use std::io;
use std::path::PathBuf;

use kbguard::output::{FactsOutput, RulesOutput};
use kbguard::testing::run_tests;
use kbguard::validate::{self, Level, LintCode};
use kbguard::{facts, report};

use super::args::{FactArgs, IndexArgs, LintArgs, MaybePath, RuleArgs};
use super::{origins_for, print_json, Failure, OrFail, Ui};

/// `kbguard facts`.
pub(crate) fn facts(
    ui: &Ui,
    rules: &RuleArgs,
    args: &FactArgs,
    json: bool,
    save: Option<&std::path::Path>,
) -> Result<u8, Failure> {
    let set = ui.load_for_use(rules)?;
    let host = facts::collect(&set.catalogue, &args.options()).or_fail(ui)?;
    if let Some(path) = save {
        let snapshot =
            kbguard::collect::snapshot(&set.compile(), &host, kbguard::clock::now_secs());
        let ron = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("ron"));
        let text = if ron {
            snapshot.to_ron().map_err(|e| Failure(e.to_string()))?
        } else {
            serde_json::to_string_pretty(&snapshot).map_err(|e| Failure(e.to_string()))?
        };
        std::fs::write(path, text + "\n")
            .map_err(|e| Failure(format!("{}: {e}", path.display())))?;
        println!(
            "saved {} facts of {} to {} (evaluate it anywhere: kbguard check --facts {} -- COMMAND)",
            snapshot.facts.len(),
            snapshot.collected.as_ref().map_or("", |c| c.host.as_str()),
            path.display(),
            path.display()
        );
        return Ok(0);
    }
    if json {
        print_json(&FactsOutput::new(&set, &host))?;
    } else {
        report::write_facts(&mut io::stdout().lock(), ui.out, &set, &host).ok();
    }
    Ok(0)
}

/// `kbguard facts --probe FACT...`: each fact's value and source, or why it is unknown.
pub(crate) fn probe(
    ui: &Ui,
    rules: &RuleArgs,
    args: &FactArgs,
    json: bool,
    names: &[String],
) -> Result<u8, Failure> {
    let set = ui.load_for_use(rules)?;
    let host = facts::collect(&set.catalogue, &args.options()).or_fail(ui)?;
    let answers: Vec<facts::ProbeAnswer> = names
        .iter()
        .map(|name| facts::ProbeAnswer::new(name, facts::probe_one(&set.catalogue, &host, name)))
        .collect();
    if json {
        print_json(&answers)?;
    } else {
        report::write_probes(&mut io::stdout().lock(), ui.out, &answers).ok();
    }
    let unknown = answers.iter().any(|a| a.value.is_none());
    Ok(if unknown { 3 } else { 0 })
}

/// `kbguard rules`.
pub(crate) fn rules(ui: &Ui, rules: &RuleArgs, json: bool) -> Result<u8, Failure> {
    let set = ui.load_for_use(rules)?;
    if json {
        print_json(&RulesOutput::new(&set))?;
    } else {
        report::write_rules(&mut io::stdout().lock(), ui.out, &set).ok();
    }
    Ok(0)
}

/// `kbguard lint`: every problem to stderr, a summary line to stdout; exit 1 on errors.
pub(crate) fn lint(ui: &Ui, a: LintArgs) -> Result<u8, Failure> {
    if let Some(code) = &a.explain {
        return explain_code(code);
    }
    let origins = origins_for(&a.rules, &a.paths, a.with_defaults);
    let (mut set, mut failed) = ui.load_rules(&origins, true);
    if let Some(named) = a.archive {
        let index = match named {
            Some(path) => IndexArgs {
                index: Some(MaybePath::from(path)),
            },
            None => a.index,
        };
        let archive = index.open_required(ui)?;
        let fix_lists = archive.fix_lists();
        let evidence = validate::ArchiveEvidence {
            corpus: &archive,
            fix_lists: &fix_lists,
        };
        let problems = validate::lint_archive(&set.loaded, &set.catalogue, &evidence);
        for problem in &problems {
            eprintln!("{}", ui.located(problem, Some(&problem.location)));
        }
        failed |= problems.iter().any(|p| p.level == Level::Error);
        set.problems.extend(problems);
    }
    let warnings = set
        .problems
        .iter()
        .filter(|p| p.level == Level::Warning)
        .count();
    println!(
        "{} files, {} rules, {} article records: {} error(s), {} warning(s)",
        set.loaded.files.len() + set.loaded.errors.len(),
        set.loaded.rules.len(),
        set.loaded.articles.len(),
        set.error_count(),
        warnings
    );
    Ok(u8::from(failed))
}

/// `kbguard lint --explain CODE` (or `all`).
fn explain_code(code: &str) -> Result<u8, Failure> {
    if code == "all" {
        for c in LintCode::ALL {
            println!(
                "{:<26} {:<7} {}",
                c.name(),
                c.level().to_string(),
                c.description()
            );
        }
        return Ok(0);
    }
    let c = LintCode::parse(code).ok_or_else(|| {
        Failure(format!(
            "no lint code {code:?}; `kbguard lint --explain all` lists them"
        ))
    })?;
    println!("{} ({}): {}", c.name(), c.level(), c.description());
    Ok(0)
}

/// `kbguard test`: every rule's test cases; exit 1 when one fails or the rules have errors.
pub(crate) fn test(
    ui: &Ui,
    rules: &RuleArgs,
    paths: &[PathBuf],
    with_defaults: bool,
    json: bool,
    junit: Option<&std::path::Path>,
) -> Result<u8, Failure> {
    let origins = origins_for(rules, paths, with_defaults);
    let (set, failed) = ui.load_rules(&origins, false);
    let results = run_tests(&set);
    if let Some(path) = junit {
        let host = gethostname::gethostname().to_string_lossy().into_owned();
        std::fs::write(path, kbguard::pipeline::junit(&results, &host))
            .map_err(|e| Failure(format!("{}: {e}", path.display())))?;
    }
    if json {
        print_json(&results)?;
    } else {
        report::write_tests(&mut io::stdout().lock(), ui.out, &results).ok();
    }
    let any_failed = results.iter().any(|r| !r.passed());
    Ok(u8::from(failed || any_failed))
}
