//! `kb`: import the archive, and look at what it holds.

use std::io::{self, IsTerminal};

use kbguard::archive::{self, Archive};
use kbguard::output::{fixed_in, StatsOutput};
use kbguard::{report, Origin, RuleSet};

use super::args::KbCmd;
use super::{print_json, Failure, OrFail, Ui};

/// `kbguard kb ...`.
pub(crate) fn run(ui: &Ui, cmd: KbCmd) -> Result<u8, Failure> {
    match cmd {
        KbCmd::Import {
            dir,
            index,
            semantic,
            json,
        } => import(ui, &dir, &index.path()?, semantic.as_deref(), json),
        KbCmd::Stats { index, json } => {
            let archive = index.open_required(ui)?;
            stats(&archive, json)
        }
        KbCmd::FixedIn { id, index, json } => {
            let archive = index.open_required(ui)?;
            let set = RuleSet::load(&[Origin::Embedded]);
            let fixed = fixed_in(&archive.fix_lists(), &set, &id);
            if json {
                print_json(&fixed)?;
            } else if fixed.is_empty() {
                println!("no service-pack fix list in the archive names {id}");
            } else {
                for f in &fixed {
                    let build = f
                        .build
                        .as_ref()
                        .map(|b| format!(" (build {b})"))
                        .unwrap_or_default();
                    println!(
                        "{}: fixed in {} service pack {}{build}, per {}",
                        f.article, f.product, f.service_pack, f.fix_list
                    );
                }
            }
            Ok(u8::from(fixed.is_empty()))
        }
        KbCmd::Draft { id, index, out } => {
            let article = show(ui, &index.open_required(ui)?, &id)?;
            let set = RuleSet::load(&[Origin::Embedded]);
            let today = kbguard::clock::Utc::from_secs(kbguard::clock::now_secs()).date();
            let id = article.id.to_ascii_uppercase();
            let existing = set
                .loaded
                .articles
                .iter()
                .map(|a| &a.article)
                .find(|a| a.id.eq_ignore_ascii_case(&id));
            let draft = kbguard::draft::draft(&article, existing, &set.catalogue, &today);
            let rule = out.join("rules").join(format!("draft-{id}.ron"));
            write_new(&rule, &draft.rule_file)?;
            let record = match &draft.record {
                Some(text) => {
                    let path = out.join("kb").join(format!("{id}.ron"));
                    write_new(&path, text)?;
                    format!("and {}", path.display())
                }
                None => format!("(kbguard's record of {id} is its source)"),
            };
            println!(
                "wrote {} (rule {}, status draft) {record}; finish each TODO, then `kbguard lint --with-defaults {}`",
                rule.display(),
                draft.rule_id,
                out.display()
            );
            Ok(0)
        }
        KbCmd::Show { id, index, json } => {
            let parsed = show(ui, &index.open_required(ui)?, &id)?;
            if json {
                print_json(&parsed)?;
            } else {
                report::write_article(&mut io::stdout().lock(), ui.out, &parsed).ok();
            }
            Ok(0)
        }
    }
}

/// Writes a new file, creating its folder; an existing file is left alone and is an error.
fn write_new(path: &std::path::Path, text: &str) -> Result<(), Failure> {
    use std::io::Write as _;
    let fail = |e: std::io::Error| Failure(format!("{}: {e}", path.display()));
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(fail)?;
    }
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::AlreadyExists => Failure(format!(
                "{} exists: kbguard kb draft never writes over a file (move it, or give --out DIR)",
                path.display()
            )),
            _ => fail(e),
        })?;
    file.write_all(text.as_bytes()).map_err(fail)
}

/// One archive article, parsed again from its source file.
fn show(ui: &Ui, archive: &Archive, id: &str) -> Result<kbguard::article::Article, Failure> {
    archive::show(archive, id)
        .ok_or_else(|| {
            Failure(format!(
                "{id} is not in the archive index {}",
                archive.path.display()
            ))
        })?
        .or_fail(ui)
}

/// `kb stats`.
fn stats(archive: &Archive, json: bool) -> Result<u8, Failure> {
    let bytes = archive::dir_size(&archive.path);
    if json {
        return print_json(&StatsOutput {
            path: archive.path.display().to_string(),
            bytes,
            meta: &archive.meta,
        })
        .map(|()| 0);
    }
    let m = &archive.meta;
    println!(
        "index: {} ({:.1} MB)",
        archive.path.display(),
        bytes as f64 / 1e6
    );
    println!(
        "built: {} by kbguard {}, from {}",
        archive::format_utc(m.built_at),
        m.kbguard,
        m.source
    );
    println!(
        "articles: {}, quoted messages: {}, skipped files: {}",
        m.articles, m.messages, m.skipped
    );
    match (&m.semantic, archive.semantic_status()) {
        (Some(model), Some(Ok(()))) => println!("semantic: vectors from the model {model}"),
        (_, Some(Err(reason))) => println!("semantic: unusable ({reason}); words only"),
        _ => println!("semantic: none (words only; `kb import --semantic MODEL_DIR` adds it)"),
    }
    println!("by product:");
    for (tag, n) in &m.by_product {
        println!("  {:<20} {n}", if tag.is_empty() { "(none)" } else { tag });
    }
    Ok(0)
}

/// A progress bar on a terminal; hidden otherwise.
fn progress_bar() -> indicatif::ProgressBar {
    if !io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(0);
    if let Ok(style) =
        indicatif::ProgressStyle::with_template("{msg:>18} [{bar:40}] {pos}/{len} ({eta})")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

/// `kb import`: the archive under `dir` into the index at `root`, with a progress bar.
fn import(
    ui: &Ui,
    dir: &std::path::Path,
    root: &std::path::Path,
    semantic: Option<&std::path::Path>,
    json: bool,
) -> Result<u8, Failure> {
    let bar = progress_bar();
    let summary = archive::import(dir, root, semantic, &|p| match p {
        archive::Progress::Found(n) => {
            bar.set_length(n as u64);
            bar.set_message("parsing");
        }
        archive::Progress::Parsed(n) | archive::Progress::Embedded(n) => {
            bar.inc(n as u64);
        }
        archive::Progress::Indexing => bar.set_message("writing the index"),
        archive::Progress::Embedding(n) => {
            bar.set_position(0);
            bar.set_length(n as u64);
            bar.reset_eta();
            bar.set_message("embedding");
        }
    });
    bar.finish_and_clear();
    let summary = summary.or_fail(ui)?;
    if json {
        print_json(&summary)?;
    } else {
        println!(
            "imported {} articles ({} quoted messages) from {} in {:.1} s; index {} ({:.1} MB)",
            summary.articles,
            summary.messages,
            dir.display(),
            summary.elapsed.as_secs_f64(),
            summary.generation.display(),
            summary.bytes as f64 / 1e6
        );
        if let Some(semantic) = &summary.semantic {
            println!(
                "embedded {} articles in {:.1} s; vectors {:.1} MB",
                semantic.articles,
                semantic.elapsed.as_secs_f64(),
                semantic.bytes as f64 / 1e6
            );
        }
        if !summary.skipped.is_empty() {
            println!("skipped {} file(s):", summary.skipped.len());
            for s in &summary.skipped {
                println!("  {}: {}", s.path, s.reason);
            }
        }
    }
    Ok(0)
}
