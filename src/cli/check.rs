//! `check`, `run` and `explain`: a command (or a whole line) against the rules and the host.

use std::io;

use kbguard::advisories::Advisories;
use kbguard::archive::{Advice, ArchiveError};
use kbguard::cmdline::{self, Shell};
use kbguard::eval::evaluate;
use kbguard::output::{CheckOutput, ExplainOutput};
use kbguard::preflight::Preflight;
use kbguard::ruleset::CompiledRules;
use kbguard::{facts, preflight, report, Command, FactSet, Verdict};

use std::path::Path;

use kbguard::record;

use super::args::{AdvisoryArgs, CheckArgs, ExplainArgs, MaybePath, RuleArgs, RunArgs};
use super::{print_json, Failure, OrFail, Ui};

/// `kbguard check`.
pub(crate) fn check(ui: &Ui, a: CheckArgs) -> Result<u8, Failure> {
    let shell = a.shell.unwrap_or_else(Shell::default_for_platform);
    let plans = match &a.line {
        Some(text) => cmdline::plan_line(text, shell).map_err(|e| line_failure(text, &e))?,
        None => {
            cmdline::plan_argv(&a.command).map_err(|e| line_failure(&a.command.join(" "), &e))?
        }
    };
    let set = ui.load_for_preflight(&a.rules)?;
    let host = facts::collect(&set.catalogue, &a.facts.options()).or_fail(ui)?;
    let checked = preflight::check(&set, &host, plans);
    let advisories = advisories(&a.advisories, &set, &host, &checked);
    let output = CheckOutput::new(&checked, a.allow_unknown, &advisories, a.strict);
    if a.json {
        print_json(&output)?;
    } else if a.sarif {
        print_json(&kbguard::pipeline::sarif(&checked, &advisories))?;
    } else {
        let mut out = io::stdout().lock();
        report::write_preflight(&mut out, ui.out, &set.catalogue, &checked, a.allow_unknown).ok();
        report::write_advisories(&mut out, ui.out, &advisories).ok();
    }
    if let Some(path) = MaybePath::path(a.record.as_ref()) {
        let ctx = record::Context {
            command: &a.command,
            line: a.line.as_deref().map(|l| (l, shell)),
            allow_unknown: a.allow_unknown,
            archive: advisories.archive.clone(),
            exit_code: output.exit_code,
            now: kbguard::clock::now_secs(),
        };
        append_record(&path, &record::decision(&set, &host, &checked, &ctx));
    }
    Ok(output.exit_code)
}

/// Appends a decision to a record file, one JSON line. A record that cannot be written is
/// said on stderr; the decision stands.
fn append_record(path: &Path, decision: &record::Decision) {
    use std::io::Write as _;
    let written = serde_json::to_string(decision)
        .map_err(io::Error::other)
        .and_then(|line| {
            let mut file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)?;
            // One write per line: records appended by several kbguards stay whole lines.
            file.write_all(format!("{line}\n").as_bytes())
        });
    if let Err(err) = written {
        eprintln!(
            "kbguard: WARNING: cannot write the decision record to {}: {err}",
            path.display()
        );
    }
}

/// `kbguard replay FILE`: each recorded decision against the rules loaded now.
pub(crate) fn replay(ui: &Ui, file: &Path, rules: &RuleArgs, json: bool) -> Result<u8, Failure> {
    let text =
        std::fs::read_to_string(file).map_err(|e| Failure(format!("{}: {e}", file.display())))?;
    let set = ui.load_for_use(rules)?.compile();
    let mut results = Vec::new();
    for (n, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let decision: record::Decision = serde_json::from_str(line).map_err(|e| {
            Failure(format!(
                "{}:{}: not a decision record: {e}",
                file.display(),
                n + 1
            ))
        })?;
        let replayed = record::replay(&decision, &set)
            .map_err(|e| Failure(format!("{}:{}: {e}", file.display(), n + 1)))?;
        results.push(replayed);
    }
    if json {
        print_json(&results)?;
    } else {
        report::write_replay(&mut io::stdout().lock(), ui.out, &results).ok();
    }
    Ok(u8::from(results.iter().any(|r| r.changed)))
}

/// The archive's advisories for what `checked` runs; a note instead when there is no archive
/// to ask (they are information: a missing or damaged archive never stops a check).
fn advisories(
    args: &AdvisoryArgs,
    set: &CompiledRules,
    host: &FactSet,
    checked: &Preflight,
) -> Advisories {
    if args.no_advisories {
        return Advisories::default();
    }
    let root = match args.index.path() {
        Ok(root) => root,
        Err(Failure(why)) => return Advisories::none(why),
    };
    match Advice::open(&root) {
        Ok(advice) => Advisories::for_preflight(&advice, set, host, checked, args.advisory_limit),
        Err(ArchiveError::Missing(_)) => Advisories::none(
            "no archive is imported: archive advisories are off (import one with `kbguard kb import DIR`)",
        ),
        Err(err) => Advisories::none(format!("archive advisories are off: {err}")),
    }
}

/// `kbguard run`: check, then run the command only when nothing blocks (or `--force`).
pub(crate) fn run(ui: &Ui, a: RunArgs) -> Result<u8, Failure> {
    let argv = &a.command;
    if argv.is_empty() {
        return Err(Failure("run needs a command after --".into()));
    }
    let plans = cmdline::plan_argv(argv).map_err(|e| line_failure(&argv.join(" "), &e))?;
    let set = ui.load_for_preflight(&a.rules)?;
    let host = facts::collect(&set.catalogue, &a.facts.options()).or_fail(ui)?;
    let mut checked = preflight::check(&set, &host, plans.clone());
    let mut child_env: Vec<(String, String)> = Vec::new();
    if a.apply_workarounds && checked.verdict(a.allow_unknown) == Verdict::Blocked {
        let applied = preflight::apply_workarounds(&set, &host, plans, checked);
        for (rule, fact) in &applied.missing {
            eprintln!(
                "kbguard: cannot apply the workaround of {rule}: fact {fact} is unknown (give it with {})",
                report::set_hint(&set.catalogue, fact)
            );
        }
        for (rule, var, value) in applied.set_env {
            eprintln!(
                "kbguard: applying workaround of {rule}: {var}={value} (for this command only)"
            );
            child_env.push((var, value));
        }
        checked = applied.checked;
    }
    let verdict = checked.verdict(a.allow_unknown);
    let record = |exit_status: Option<i32>| {
        if let Some(path) = MaybePath::path(a.record.as_ref()) {
            let ctx = record::Context {
                command: argv,
                line: None,
                allow_unknown: a.allow_unknown,
                archive: None,
                exit_code: verdict.exit_code(),
                now: kbguard::clock::now_secs(),
            };
            let mut decision = record::decision(&set, &host, &checked, &ctx);
            decision.exit_status = exit_status;
            append_record(&path, &decision);
        }
    };
    let findings = checked
        .commands
        .iter()
        .any(|c| !c.report.findings().is_empty());
    // Findings and advisories go to stderr: stdout belongs to the command.
    if verdict != Verdict::Clear || findings {
        report::write_preflight(
            &mut io::stderr(),
            ui.err,
            &set.catalogue,
            &checked,
            a.allow_unknown,
        )
        .ok();
    }
    let advisories = advisories(&a.advisories, &set, &host, &checked);
    if !advisories.list.is_empty() {
        report::write_advisories(&mut io::stderr(), ui.err, &advisories).ok();
    }
    if verdict != Verdict::Clear {
        if !a.force {
            eprintln!(
                "kbguard: not running {} (use --force to run it anyway)",
                argv.join(" ")
            );
            record(None);
            return Ok(verdict.exit_code());
        }
        eprintln!(
            "kbguard: WARNING: --force given: running {} despite the findings above",
            argv.join(" ")
        );
    }
    // `run -- X=1 cmd`: the leading assignments go into the command's environment, as a shell
    // would put them (the check above saw them the same way).
    let (assignments, argv) = cmdline::split_assignments(argv);
    let Some(program) = argv.first() else {
        return Err(Failure("run needs a command after the assignments".into()));
    };
    child_env.extend(assignments);
    let code = match kbguard::child::run(argv, &child_env) {
        Ok(status) => kbguard::child::exit_code(status),
        Err(err) => {
            eprintln!("kbguard: cannot start {program}: {err}");
            if err.kind() == io::ErrorKind::NotFound {
                127
            } else {
                126
            }
        }
    };
    record(Some(i32::from(code)));
    Ok(code)
}

/// `kbguard explain`: one rule, predicate by predicate.
pub(crate) fn explain(ui: &Ui, a: ExplainArgs) -> Result<u8, Failure> {
    let set = ui.load_for_use(&a.rules)?;
    let loaded = set.rule(&a.rule).ok_or_else(|| {
        Failure(format!(
            "no rule with id {:?}; `kbguard rules` lists them",
            a.rule
        ))
    })?;
    let host = facts::collect(&set.catalogue, &a.facts.options()).or_fail(ui)?;
    // Through wrappers to the command the rule is about (or the first one run).
    let plans =
        cmdline::plan_argv(&a.command).map_err(|e| line_failure(&a.command.join(" "), &e))?;
    let planned = preflight::for_rule(&loaded.rule, &plans);
    let facts = planned.map_or_else(|| host.clone(), |p| preflight::facts_for(&host, p));
    let command = planned.and_then(|p| Command::parse(&p.argv));
    let evaluation = evaluate(
        &loaded.rule,
        &facts,
        command.as_ref(),
        &kbguard::probe::Cached::new(facts::prober_for(&facts).as_ref()),
    );
    let runs = planned.filter(|p| !p.unwrapped.is_empty());
    if a.json {
        print_json(&ExplainOutput {
            evaluation: &evaluation,
            runs,
        })?;
    } else {
        if let Some(p) = runs {
            println!(
                "runs: {} (through {})",
                p.argv.join(" "),
                p.unwrapped.join(", then ")
            );
        }
        report::write_explain(
            &mut io::stdout().lock(),
            ui.out,
            &set.catalogue,
            &evaluation,
        )
        .ok();
    }
    Ok(0)
}

/// A line kbguard cannot read: the reason, the line, and a caret under the place.
fn line_failure(text: &str, err: &cmdline::LineError) -> Failure {
    let column = text.get(..err.offset).map_or(0, |t| t.chars().count());
    Failure(format!(
        "cannot read the command line: {} (column {})\n  {text}\n  {}^",
        err.message,
        column + 1,
        " ".repeat(column)
    ))
}
