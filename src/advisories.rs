//! Archive advisories: the imported articles that say the intended command goes wrong, for
//! `check` and `run` to list after the curated rules. They are not curated: they never block
//! and never change the exit code (unless `check --strict`).
//!
//! Owns which articles are shown and in what order. The same program, with switches
//! compatible (an article about `eseutil /p` is not about `eseutil /d`; one about the program
//! alone is about every use of it, ranked lower); more specific first, failures before
//! warnings, then articles that apply to the host's products; articles for products the host
//! does not run are left out, and those whose products the facts cannot judge are marked.

use std::collections::BTreeSet;

use serde::Serialize;

use crate::archive::{Advice, ArchiveError, CommandEntry};
use crate::facts::FactSet;
use crate::intent::Command;
use crate::mentions::MentionKind;
use crate::preflight::{facts_for, Preflight};
use crate::products::applies_to_host;
use crate::ruleset::{CompiledRules, Verdict};

/// How many advisories a command gets at most, by default.
pub const DEFAULT_LIMIT: usize = 10;

/// The exit code `check --strict` gives for an advisory that applies to this host's products
/// when nothing else stops the command.
pub const EXIT_STRICT: u8 = 4;

/// The exit code of a check: the verdict's, or [`EXIT_STRICT`] with `strict` when the verdict
/// is clear and an advisory applies to the host's products.
pub fn exit_code(verdict: Verdict, advisories: &[Advisory], strict: bool) -> u8 {
    if strict && verdict == Verdict::Clear && advisories.iter().any(|a| a.applies == Some(true)) {
        EXIT_STRICT
    } else {
        verdict.exit_code()
    }
}

/// One article that says the intended command goes wrong.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Advisory {
    /// The article, e.g. `Q101579`.
    pub id: String,
    /// Its title.
    pub title: String,
    /// Its revision date, `YYYY-MM-DD`, or empty.
    pub date: String,
    /// The command it is about, as the article writes it (`dblspace /chkdsk`).
    pub matched: String,
    /// Why it matched, in words.
    pub why: String,
    /// Where: `TITLE`, `SYMPTOMS`, `CAUSE`, or the section of a warning.
    pub section: String,
    /// The sentence that says it.
    pub sentence: String,
    /// A line or two of the article's own resolution or workaround.
    pub remedy: String,
    /// The products it applies to, one per entry.
    pub products: Vec<String>,
    /// Whether it applies to the host's products; `None` when the facts cannot say.
    pub applies: Option<bool>,
    /// Failure (its title, SYMPTOMS or CAUSE) or hazard (a warning elsewhere).
    pub kind: MentionKind,
    /// Always false: advisories come from the archive, not from a curated rule.
    pub curated: bool,
    /// How specific the match is; higher first.
    pub score: f32,
}

/// The advisories of a whole check, or why there are none.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Advisories {
    /// Each checked command's advisories, best first, without repeats.
    pub list: Vec<Advisory>,
    /// Why the archive could not be asked (none imported, or it could not be read).
    pub note: Option<String>,
    /// The archive generation asked, for decision records.
    #[serde(skip)]
    pub archive: Option<String>,
}

impl Advisories {
    /// None, for the reason given.
    pub fn none(note: impl Into<String>) -> Advisories {
        Advisories {
            list: Vec::new(),
            note: Some(note.into()),
            archive: None,
        }
    }

    /// The advisories for every command `checked` runs, each with the facts the line leaves
    /// it; articles that an active rule of `rules` cites are left out.
    pub fn for_preflight(
        advice: &Advice,
        rules: &CompiledRules,
        host: &FactSet,
        checked: &Preflight,
        limit: usize,
    ) -> Advisories {
        let curated: BTreeSet<String> = rules
            .rules()
            .iter()
            .flat_map(|r| r.kb.iter().map(|k| k.id.clone()))
            .collect();
        let mut out = Advisories {
            archive: advice
                .path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned()),
            ..Advisories::default()
        };
        for c in &checked.commands {
            let Some(command) = Command::parse(&c.planned.argv) else {
                continue;
            };
            let facts = facts_for(host, &c.planned);
            match advise(advice, &command, &facts, &curated, limit) {
                Ok(list) => {
                    for a in list {
                        if !out.list.iter().any(|b| b.id == a.id) {
                            out.list.push(a);
                        }
                    }
                }
                Err(err) => out.note = Some(format!("archive advisories are off: {err}")),
            }
        }
        out
    }
}

/// The advisories for `command` on the host `host` describes: at most `limit`, best first,
/// leaving out the articles in `curated` (a curated rule already speaks for them).
pub fn advise(
    advice: &Advice,
    command: &Command,
    host: &FactSet,
    curated: &BTreeSet<String>,
    limit: usize,
) -> Result<Vec<Advisory>, ArchiveError> {
    let entries = advice.commands.entries(&command.program)?;
    let flags: BTreeSet<&str> = command.flags.iter().map(String::as_str).collect();
    let mut out: Vec<Advisory> = entries
        .iter()
        .filter_map(|entry| {
            let (specificity, switches) = best_switches(entry, &flags)?;
            let record = advice.table.article(entry.aid as usize)?;
            if curated.contains(&record.id) {
                return None;
            }
            let applies = applies_to_host(&record.products, &record.versions, host);
            if applies == Some(false) {
                return None;
            }
            let m = &entry.mention;
            let score = specificity
                + evidence(entry, &record.title)
                + if applies == Some(true) { 1.0 } else { 0.0 };
            let matched = std::iter::once(command.program.clone())
                .chain(switches.iter().map(|s| format!("/{s}")))
                .collect::<Vec<_>>()
                .join(" ");
            Some(Advisory {
                why: why(&matched, m.in_title, &m.section, m.kind),
                id: record.id,
                title: record.title,
                date: record.date,
                matched,
                section: m.section.clone(),
                sentence: m.sentence.clone(),
                remedy: entry.remedy.clone(),
                products: record.products.lines().map(str::to_string).collect(),
                applies,
                kind: m.kind,
                curated: false,
                score,
            })
        })
        .collect();
    out.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then_with(|| b.date.cmp(&a.date))
            .then_with(|| a.id.cmp(&b.id))
    });
    out.truncate(limit);
    Ok(out)
}

/// The entry's switch set that best fits the command's flags, and how specific the fit is:
/// every switch it shares with the command counts; a set sharing none is about another use of
/// the program; the program alone (an empty set) concerns every use, weakest. `None` when no
/// set fits.
fn best_switches<'e>(
    entry: &'e CommandEntry,
    flags: &BTreeSet<&str>,
) -> Option<(f32, &'e [String])> {
    entry
        .mention
        .switch_sets
        .iter()
        .filter_map(|set| {
            if set.is_empty() {
                return Some((0.0, set.as_slice()));
            }
            let shared = set.iter().filter(|s| flags.contains(s.as_str())).count();
            // Sharing some switches: more shared, and fewer of the article's unshared, first.
            (shared > 0).then(|| {
                let shared = shared as f32;
                (1.0 + shared + shared / set.len() as f32, set.as_slice())
            })
        })
        .max_by(|a, b| a.0.total_cmp(&b.0))
}

/// How strongly the article says running the program goes wrong: its SYMPTOMS (then CAUSE)
/// over its title alone over a warning elsewhere; written as a program that is run ("when you
/// run X", "the X command") over a word before a switch; named in the title too; named often.
/// A how-to article's title names what it explains, not what goes wrong.
fn evidence(entry: &CommandEntry, title: &str) -> f32 {
    let m = &entry.mention;
    let place = match m.kind {
        MentionKind::Failure if m.section.to_ascii_uppercase().contains("SYMPTOM") => 2.0,
        MentionKind::Failure => 1.5,
        MentionKind::Title => 0.8,
        MentionKind::Hazard => 0.5,
    };
    let lower = title.to_ascii_lowercase();
    let how_to =
        lower.starts_with("howto") || lower.starts_with("how to") || lower.contains(": how to");
    place
        + if m.phrase { 1.0 } else { 0.0 }
        + if m.in_title && m.kind == MentionKind::Failure {
            0.5
        } else {
            0.0
        }
        + if m.typed { 0.5 } else { 0.0 }
        + 0.3 * (m.count as f32).ln_1p()
        - if how_to { 1.0 } else { 0.0 }
}

fn why(matched: &str, in_title: bool, section: &str, kind: MentionKind) -> String {
    let place = match kind {
        MentionKind::Failure if in_title => format!("its title and {section}"),
        MentionKind::Failure => section.to_string(),
        MentionKind::Title => "its title".to_string(),
        MentionKind::Hazard => format!("a warning in {section}"),
    };
    format!("`{matched}` is named in {place}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mentions::Mention;

    fn entry(sets: &[&[&str]]) -> CommandEntry {
        CommandEntry {
            aid: 0,
            mention: Mention {
                program: "eseutil".into(),
                switch_sets: sets
                    .iter()
                    .map(|s| s.iter().map(|x| x.to_string()).collect())
                    .collect(),
                kind: MentionKind::Failure,
                in_title: false,
                phrase: true,
                count: 1,
                typed: true,
                section: "SYMPTOMS".into(),
                sentence: String::new(),
            },
            remedy: String::new(),
        }
    }

    #[test]
    fn switches_must_be_compatible_and_specific_ones_rank_first() {
        let d: BTreeSet<&str> = ["d"].into();
        assert!(
            best_switches(&entry(&[&["p"]]), &d).is_none(),
            "/p is not /d"
        );
        let bare = best_switches(&entry(&[&[]]), &d).unwrap().0;
        let exact = best_switches(&entry(&[&["d"]]), &d).unwrap().0;
        let partial = best_switches(&entry(&[&["d", "t"]]), &d).unwrap().0;
        assert!(
            exact > partial && partial > bare,
            "{exact} {partial} {bare}"
        );
        // The best of an article's forms counts.
        let two = entry(&[&["p"], &["d"]]);
        let both = best_switches(&two, &d).unwrap();
        assert_eq!(both.1, ["d".to_string()]);
    }
}
