//! Reports: findings, facts, rules, lint problems, test results, traces and lookup hits, for
//! people (coloured where the terminal allows) and as JSON for programs.
//!
//! Owns presentation only; writes to any `io::Write` and never decides exit codes. Colour goes
//! through [`Paint`], which the caller decides for the stream it writes to.

use std::io::{self, Write};

use owo_colors::OwoColorize;

use crate::advisories::Advisories;
use crate::eval::{Evaluation, Outcome, Trace};
use crate::facts::{describe_probe, FactSet, ProbeAnswer};
use crate::lookup::{Hit, Snippet};
use crate::model::{Condition, Severity};
use crate::preflight::{CommandCheck, Preflight};
use crate::record::Replayed;
use crate::ruleset::{CheckReport, RuleSet, Verdict};
use crate::schema::{Catalogue, FACT_FAMILIES};
use crate::testing::CaseResult;
use crate::tri::Tri;

/// Whether one output stream is coloured. The caller decides it for the stream it writes to
/// (`run` writes findings to stderr, the rest to stdout), from `--color`, `NO_COLOR` and
/// whether that stream is a terminal.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Paint {
    color: bool,
}

impl Paint {
    /// Colour when `color`; plain text otherwise.
    pub fn new(color: bool) -> Paint {
        Paint { color }
    }

    /// Whether this stream is coloured.
    pub fn enabled(self) -> bool {
        self.color
    }

    fn apply(self, text: &str, style: owo_colors::Style) -> String {
        if self.color {
            text.style(style).to_string()
        } else {
            text.to_string()
        }
    }

    fn red(self, text: &str) -> String {
        self.apply(text, owo_colors::Style::new().red())
    }

    fn green(self, text: &str) -> String {
        self.apply(text, owo_colors::Style::new().green())
    }

    fn yellow(self, text: &str) -> String {
        self.apply(text, owo_colors::Style::new().yellow())
    }

    fn bold(self, text: &str) -> String {
        self.apply(text, owo_colors::Style::new().bold())
    }

    fn mark(self, text: &str) -> String {
        self.apply(text, owo_colors::Style::new().bold().underline())
    }

    fn dim(self, text: &str) -> String {
        self.apply(text, owo_colors::Style::new().dimmed())
    }

    fn severity(self, severity: Severity) -> String {
        let text = severity.to_string().to_uppercase();
        match severity {
            Severity::Block => self.red(&text),
            Severity::Warn => self.yellow(&text),
            Severity::Info => self.apply(&text, owo_colors::Style::new().cyan()),
        }
    }

    fn tri(self, value: Tri) -> String {
        let text = value.to_string();
        match value {
            Tri::True => self.green(&text),
            Tri::False => self.red(&text),
            Tri::Unknown => self.yellow(&text),
        }
    }
}

/// How to give a fact on the command line, e.g. `--set cluster.node=<true|false>`.
pub fn set_hint(catalogue: &Catalogue, name: &str) -> String {
    let placeholder = match catalogue.type_of(name) {
        Some(crate::model::FactType::Bool) => "<true|false>".to_string(),
        Some(ty) => format!("<{ty}>"),
        None => "<value>".to_string(),
    };
    format!("--set {name}={placeholder}")
}

/// Writes a check report for people.
pub fn write_check(
    out: &mut dyn Write,
    p: Paint,
    catalogue: &Catalogue,
    report: &CheckReport,
    allow_unknown: bool,
) -> io::Result<()> {
    let findings = report.findings();
    for severity in [Severity::Block, Severity::Warn, Severity::Info] {
        let group: Vec<&&Evaluation> = findings.iter().filter(|e| e.severity == severity).collect();
        if group.is_empty() {
            continue;
        }
        writeln!(
            out,
            "{}",
            p.bold(&format!(
                "{} ({})",
                severity.to_string().to_uppercase(),
                group.len()
            ))
        )?;
        for evaluation in group {
            write_finding(out, p, catalogue, evaluation)?;
        }
    }
    let verdict = report.verdict(allow_unknown);
    let applicable = report
        .evaluations
        .iter()
        .filter(|e| e.outcome != Outcome::NotApplicable)
        .count();
    let summary = format!(
        "{} rules evaluated, {} applicable, {} triggered, {} undecided",
        report.rules_evaluated,
        applicable,
        report
            .evaluations
            .iter()
            .filter(|e| e.outcome == Outcome::Triggered)
            .count(),
        report
            .evaluations
            .iter()
            .filter(|e| e.outcome == Outcome::Unknown)
            .count(),
    );
    let line = match verdict {
        Verdict::Clear => format!("{} {summary}", p.green("clear:")),
        Verdict::Blocked => format!("{} {summary}", p.red("blocked:")),
        Verdict::Undecided => format!(
            "{} {summary}; a block rule cannot be decided (give the facts above, or --allow-unknown)",
            p.yellow("undecided:")
        ),
    };
    writeln!(out, "{line}")
}

/// A check of what a command or line runs: as [`write_check`] when it is one command run as
/// written; otherwise each command with what runs, through which wrappers, with which
/// assignments and folder, its findings, and then the verdict of the whole.
pub fn write_preflight(
    out: &mut dyn Write,
    p: Paint,
    catalogue: &Catalogue,
    checked: &Preflight,
    allow_unknown: bool,
) -> io::Result<()> {
    if checked.is_plain() {
        if let Some(one) = checked.commands.first() {
            return write_check(out, p, catalogue, &one.report, allow_unknown);
        }
    }
    let count = checked.commands.len();
    for (n, c) in checked.commands.iter().enumerate() {
        writeln!(
            out,
            "{}",
            p.bold(&format!("command {} of {count}: {}", n + 1, c.planned.text))
        )?;
        write_planned(out, c)?;
        write_check(out, p, catalogue, &c.report, allow_unknown)?;
        writeln!(out)?;
    }
    if count > 1 {
        let verdict = checked.verdict(allow_unknown);
        writeln!(
            out,
            "line: {} (the worst of its {count} commands)",
            verdict_word(verdict)
        )?;
    }
    Ok(())
}

/// What runs, and what the line did for it.
pub fn write_planned(out: &mut dyn Write, c: &CommandCheck) -> io::Result<()> {
    let p = &c.planned;
    if !p.unwrapped.is_empty() {
        writeln!(
            out,
            "  runs: {} (through {})",
            p.argv.join(" "),
            p.unwrapped.join(", then ")
        )?;
    }
    if p.clear_env {
        writeln!(out, "  environment: emptied first")?;
    }
    for change in &p.env {
        match &change.value {
            Some(v) => writeln!(out, "  environment: {}={v}", change.name)?,
            None => writeln!(out, "  environment: {} removed", change.name)?,
        }
    }
    if !p.cd.is_empty() {
        let cwd = c.cwd.as_deref().unwrap_or("unknown");
        writeln!(out, "  folder: {cwd} (after cd {})", p.cd.join(", cd "))?;
    }
    for note in &p.notes {
        writeln!(out, "  note: {note}")?;
    }
    Ok(())
}

/// Writes how replayed decisions compare with their records: each one, and for a changed one
/// each rule whose outcome changed and what about the rule changed.
pub fn write_replay(out: &mut dyn Write, p: Paint, results: &[Replayed]) -> io::Result<()> {
    let outcome = |o: Option<Outcome>| match o {
        None => "nothing",
        Some(Outcome::Triggered) => "triggered",
        Some(Outcome::Unknown) => "undecided",
        Some(Outcome::Clear) => "clear",
        Some(Outcome::NotApplicable) => "not applicable",
    };
    for r in results {
        if !r.changed {
            writeln!(
                out,
                "{} {} ({}): {}",
                p.green("same"),
                r.id,
                r.command,
                verdict_word(r.now)
            )?;
            continue;
        }
        writeln!(
            out,
            "{} {} ({}): {} then, {} now",
            p.red("CHANGED"),
            r.id,
            r.command,
            verdict_word(r.recorded),
            verdict_word(r.now)
        )?;
        for c in &r.changes {
            writeln!(
                out,
                "    {}: {} then, {} now ({})",
                p.bold(&c.rule),
                outcome(c.then),
                outcome(c.now),
                c.because
            )?;
        }
    }
    let changed = results.iter().filter(|r| r.changed).count();
    writeln!(
        out,
        "{} decisions replayed, {changed} changed",
        results.len()
    )
}

fn verdict_word(v: Verdict) -> &'static str {
    match v {
        Verdict::Clear => "clear",
        Verdict::Blocked => "blocked",
        Verdict::Undecided => "undecided",
    }
}

fn write_finding(
    out: &mut dyn Write,
    p: Paint,
    catalogue: &Catalogue,
    e: &Evaluation,
) -> io::Result<()> {
    let state = match e.outcome {
        Outcome::Triggered => "triggered",
        _ => "undecided",
    };
    writeln!(
        out,
        "  {} {} [{}] {}: {}",
        p.severity(e.severity),
        p.bold(&e.rule),
        e.kb.join(", "),
        state,
        e.title
    )?;
    match e.outcome {
        Outcome::Triggered => {
            let mut held = Vec::new();
            e.trace.held(&mut held);
            writeln!(out, "    why: {}", held.join("; "))?;
            writeln!(
                out,
                "    workaround: {}",
                indent(&e.workaround.text, "      ")
            )?;
            for missing in &e.workaround.missing {
                writeln!(
                    out,
                    "    {}",
                    p.dim(&format!(
                        "(give {} to fill in <{missing}>)",
                        set_hint(catalogue, missing)
                    ))
                )?;
            }
        }
        _ => {
            let hints: Vec<String> = e
                .deciding_facts
                .iter()
                .map(|f| set_hint(catalogue, f))
                .collect();
            writeln!(
                out,
                "    unknown: {}",
                e.deciding_facts
                    .iter()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ")
            )?;
            writeln!(out, "    decide it with: {}", hints.join(" "))?;
        }
    }
    Ok(())
}

fn indent(text: &str, prefix: &str) -> String {
    text.trim_end().replace('\n', &format!("\n{prefix}"))
}

/// Writes the facts of a host for people.
pub fn write_facts(
    out: &mut dyn Write,
    p: Paint,
    set: &RuleSet,
    facts: &FactSet,
) -> io::Result<()> {
    writeln!(
        out,
        "{}",
        p.bold(&format!("facts ({:?} host)", facts.host()).to_lowercase())
    )?;
    for (name, info) in set.catalogue.iter() {
        match facts.get(name) {
            Some(f) => writeln!(
                out,
                "  {name} = {}  {}",
                f.value,
                p.dim(&format!("({})", f.source))
            )?,
            None => {
                let how = info.probe.as_ref().map_or_else(
                    || "no probe; give it with --set or a snapshot".to_string(),
                    |p| format!("probe: {}", describe_probe(&p.read)),
                );
                writeln!(
                    out,
                    "  {name} = {}  {}",
                    p.tri(Tri::Unknown),
                    p.dim(&format!("({how})"))
                )?
            }
        }
    }
    for (name, fact) in facts.iter() {
        if set.catalogue.get(name).is_none() {
            let source = p.dim(&format!("({})", fact.source));
            writeln!(out, "  {name} = {}  {source}", fact.value)?;
        }
    }
    writeln!(
        out,
        "  fact families (probed when a rule asks, on this machine only):"
    )?;
    for (family, ty, doc) in FACT_FAMILIES {
        writeln!(out, "    {family}:<argument> ({ty})  {}", p.dim(doc))?;
    }
    match facts.env_iter() {
        Some(vars) => writeln!(
            out,
            "  env: {} variables (see --json for all)",
            vars.count()
        )?,
        None => writeln!(out, "  env: {}", p.tri(Tri::Unknown))?,
    }
    Ok(())
}

/// Writes `facts --probe` answers for people.
pub fn write_probes(out: &mut dyn Write, p: Paint, answers: &[ProbeAnswer]) -> io::Result<()> {
    for answer in answers {
        match (&answer.value, &answer.source) {
            (Some(value), source) => writeln!(
                out,
                "{} = {value}  {}",
                answer.fact,
                p.dim(&format!("({})", source.as_deref().unwrap_or_default()))
            )?,
            (None, _) => writeln!(
                out,
                "{} = {}  {}",
                answer.fact,
                p.tri(Tri::Unknown),
                p.dim(&format!(
                    "({})",
                    answer.unknown.as_deref().unwrap_or_default()
                ))
            )?,
        }
    }
    Ok(())
}

/// Writes the loaded rules for people.
pub fn write_rules(out: &mut dyn Write, p: Paint, set: &RuleSet) -> io::Result<()> {
    for loaded in &set.loaded.rules {
        let r = &loaded.rule;
        let kb: Vec<&str> = r.kb.iter().map(|k| k.id.as_str()).collect();
        let status = match &r.status {
            crate::model::Status::Active => String::new(),
            crate::model::Status::Retired => " (retired)".into(),
            crate::model::Status::SupersededBy(id) => format!(" (superseded by {id})"),
            crate::model::Status::Draft => " (draft)".into(),
        };
        writeln!(
            out,
            "{} r{} {} [{}]{}",
            p.bold(&r.id),
            r.revision,
            p.severity(r.severity),
            kb.join(", "),
            status
        )?;
        writeln!(out, "  {}", r.title)?;
        if let Some(intent) = &r.intent {
            let mut words = vec![intent.program.clone()];
            words.extend(intent.flags.iter().cloned());
            words.extend(intent.args.iter().map(|a| a.pattern.clone()));
            writeln!(out, "  intent: {}", words.join(" "))?;
        } else {
            writeln!(out, "  intent: (environment check, every command)")?;
        }
        for symptom in &r.symptoms {
            writeln!(out, "  symptom: {}", symptom.message.replace('\n', " / "))?;
        }
    }
    writeln!(
        out,
        "{} rules, {} article records, {} facts declared",
        set.loaded.rules.len(),
        set.loaded.articles.len(),
        set.loaded.facts.len()
    )
}

/// Writes test-case results for people.
pub fn write_tests(out: &mut dyn Write, p: Paint, results: &[CaseResult]) -> io::Result<()> {
    for r in results {
        match (&r.actual, &r.error) {
            (Some(_), _) if r.passed() => {
                writeln!(out, "{} {} :: {}", p.green("pass"), r.rule, r.case)?
            }
            (Some(actual), _) => writeln!(
                out,
                "{} {} :: {} ({}): expected {}, got {}",
                p.red("FAIL"),
                r.rule,
                r.case,
                r.location,
                r.expected,
                actual
            )?,
            (None, why) => writeln!(
                out,
                "{} {} :: {} ({}): {}",
                p.red("FAIL"),
                r.rule,
                r.case,
                r.location,
                why.as_deref().unwrap_or("not evaluated")
            )?,
        }
    }
    let failed = results.iter().filter(|r| !r.passed()).count();
    writeln!(out, "{} passed, {} failed", results.len() - failed, failed)
}

/// Writes an evaluation trace for people.
pub fn write_explain(
    out: &mut dyn Write,
    p: Paint,
    catalogue: &Catalogue,
    e: &Evaluation,
) -> io::Result<()> {
    let outcome = match e.outcome {
        Outcome::Triggered => "triggered",
        Outcome::Clear => "clear",
        Outcome::Unknown => "unknown",
        Outcome::NotApplicable => "not applicable",
    };
    writeln!(
        out,
        "{} ({}): {}",
        p.bold(&e.rule),
        p.severity(e.severity),
        outcome
    )?;
    for child in &e.trace.children {
        write_trace(out, p, child, 1)?;
    }
    if !e.deciding_facts.is_empty() {
        let hints: Vec<String> = e
            .deciding_facts
            .iter()
            .map(|f| set_hint(catalogue, f))
            .collect();
        writeln!(out, "decide it with: {}", hints.join(" "))?;
    }
    writeln!(out, "workaround: {}", indent(&e.workaround.text, "  "))
}

fn write_trace(out: &mut dyn Write, p: Paint, trace: &Trace, depth: usize) -> io::Result<()> {
    let pad = "  ".repeat(depth);
    writeln!(out, "{pad}[{}] {}", p.tri(trace.value), trace.label)?;
    for fact in &trace.facts {
        let value = fact.value.as_deref().unwrap_or("unknown");
        let source = fact.source.as_deref().unwrap_or("no source gave it");
        writeln!(
            out,
            "{pad}    {} = {}  {}",
            fact.name,
            value,
            p.dim(&format!("({source})"))
        )?;
    }
    for child in &trace.children {
        write_trace(out, p, child, depth + 1)?;
    }
    Ok(())
}

/// Writes lookup hits for people, the matched part of each symptom highlighted.
pub fn write_lookup(
    out: &mut dyn Write,
    p: Paint,
    hits: &[Hit],
    note: Option<&str>,
) -> io::Result<()> {
    if let Some(note) = note {
        writeln!(out, "{}", p.dim(note))?;
    }
    if hits.is_empty() {
        return writeln!(out, "no matching article");
    }
    for (rank, hit) in hits.iter().enumerate() {
        let source = format!("{:?}", hit.source).to_lowercase();
        writeln!(
            out,
            "{}. {} {}  {}",
            rank + 1,
            p.bold(&hit.id),
            hit.title,
            p.dim(&format!("({source}, score {:.3})", hit.score))
        )?;
        let span = hit.matched_span.clone();
        let matched = match (
            hit.matched.get(..span.start),
            hit.matched.get(span.clone()),
            hit.matched.get(span.end..),
        ) {
            (Some(a), Some(b), Some(c)) => format!("{a}{}{c}", p.mark(b)),
            _ => hit.matched.clone(),
        };
        let collapsed = hit.matched.split_whitespace().collect::<Vec<_>>().join(" ");
        let section = hit.section.as_deref().unwrap_or("SYMPTOMS");
        match &hit.snippet {
            _ if hit.paraphrase => {
                // Our words: never shown as if the product printed them.
                writeln!(
                    out,
                    "   described (not a quoted message): {}",
                    indent(&hit.matched, "            ")
                )?;
            }
            // A stretch of a section held more of the query than the best message did.
            Some(snippet) if snippet.text != collapsed => {
                writeln!(out, "   matched in {section}: {}", marked(p, snippet))?;
                if !hit.matched.is_empty() {
                    writeln!(out, "   message: {}", indent(&matched, "            "))?;
                }
            }
            _ if !hit.matched.is_empty() => {
                writeln!(
                    out,
                    "   matched in {section}: {}",
                    indent(&matched, "            ")
                )?;
            }
            _ => {}
        }
        if let Some(applies) = hit.applies {
            let what = if applies {
                "applies to the product(s) asked for"
            } else {
                "not shown to apply to the product(s) asked for"
            };
            writeln!(
                out,
                "   {}",
                p.dim(&format!("{what}: {}", hit.products.join("; ")))
            )?;
        }
        if !hit.rules.is_empty() {
            writeln!(out, "   rules: {}", hit.rules.join(", "))?;
        }
        if let Some(w) = &hit.workaround {
            writeln!(out, "   workaround: {}", indent(w, "               "))?;
        }
    }
    Ok(())
}

/// Writes the archive advisories after a check: marked as not curated, each with why it
/// matched, the sentence that says so, and the article's own remedy; or the note saying why
/// there are none.
pub fn write_advisories(out: &mut dyn Write, p: Paint, advisories: &Advisories) -> io::Result<()> {
    if let Some(note) = &advisories.note {
        writeln!(out, "{}", p.dim(&format!("note: {note}")))?;
    }
    if advisories.list.is_empty() {
        return Ok(());
    }
    writeln!(
        out,
        "{}",
        p.bold(&format!(
            "ARCHIVE ADVISORIES ({}): not curated, they do not block",
            advisories.list.len()
        ))
    )?;
    for a in &advisories.list {
        let applies = match a.applies {
            Some(true) => "applies to this host's products".to_string(),
            Some(false) => "not for this host's products".to_string(),
            None => "product not known: check it applies".to_string(),
        };
        writeln!(out, "  {} {}  ({applies})", p.bold(&a.id), a.title)?;
        writeln!(out, "    why: {}", a.why)?;
        if !a.sentence.is_empty() {
            writeln!(out, "    {}", p.dim(&format!("\"{}\"", a.sentence)))?;
        }
        if !a.remedy.is_empty() {
            writeln!(out, "    remedy: {}", a.remedy)?;
        }
    }
    Ok(())
}

/// A snippet with its marked words bold (or in `[...]` where colour is off).
fn marked(p: Paint, snippet: &Snippet) -> String {
    let mut out = String::new();
    let mut at = 0;
    for mark in &snippet.marks {
        let (Some(before), Some(word)) = (
            snippet.text.get(at..mark.start),
            snippet.text.get(mark.clone()),
        ) else {
            continue;
        };
        out.push_str(before);
        if p.enabled() {
            out.push_str(&p.bold(word));
        } else {
            out.push('[');
            out.push_str(word);
            out.push(']');
        }
        at = mark.end;
    }
    out.push_str(snippet.text.get(at..).unwrap_or(""));
    out
}

/// Describes a condition in one line (for docs and `rules --json`).
pub fn describe_condition(cond: &Condition) -> String {
    match cond {
        Condition::All(m) => format!(
            "all({})",
            m.iter()
                .map(describe_condition)
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Condition::Any(m) => format!(
            "any({})",
            m.iter()
                .map(describe_condition)
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Condition::Not(c) => format!("not({})", describe_condition(c)),
        Condition::EnvSet(v) => format!("{v} is set"),
        Condition::EnvUnset(v) => format!("{v} is not set"),
        Condition::EnvEquals(v, x) => format!("{v} == {x:?}"),
        Condition::EnvMatches(v, x) | Condition::FactMatches(v, x) => format!("{v} matches /{x}/"),
        Condition::FactEquals(n, l) => format!("{n} == {l}"),
        Condition::FactCompare(n, op, l) => format!("{n} {} {l}", op.symbol()),
        Condition::FactInRange(n, r) => format!("{n} in {r}"),
        Condition::Compare {
            left,
            op,
            right,
            percent,
        } => format!("{left} {} {right} × {percent}%", op.symbol()),
        Condition::FileExists(p) => format!("file {p} exists"),
        Condition::OnPath(p) => format!("{p} is on PATH"),
    }
}

/// Writes a parsed archive article for people.
pub fn write_article(out: &mut dyn Write, p: Paint, a: &crate::article::Article) -> io::Result<()> {
    writeln!(out, "{} {}", p.bold(&a.id), a.title)?;
    writeln!(
        out,
        "date: {}  product: {}  tag: {}",
        a.date.as_deref().unwrap_or("?"),
        a.product,
        a.tag.as_deref().unwrap_or("")
    )?;
    writeln!(
        out,
        "prod/ver: {}  oper/sys: {}  keywords: {}",
        a.prod_ver, a.oper_sys, a.keywords
    )?;
    for entry in &a.applies_to {
        writeln!(out, "applies to: {entry}")?;
    }
    for m in &a.messages {
        writeln!(
            out,
            "message ({}): {}",
            m.section,
            indent(&m.text, "         ")
        )?;
    }
    for s in &a.sections {
        writeln!(out, "\n{}\n{}", p.bold(&s.heading), s.text)?;
    }
    Ok(())
}
