//! The benchmark peer: SQLite FTS5 with BM25 over the KB archive, as `../shared/eval/README.md`
//! describes it: fields title / symptoms / body weighted 2 / 4 / 1, the query's tokens OR'ed.
//!
//! usage:
//!   kbguard-fts5-peer build ARCHIVE_DIR DB      index every article
//!   kbguard-fts5-peer query DB QUERIES [LIMIT]  one JSON line per query: {"hits": [{"id": ...}]}
//!
//! Articles are parsed with kbguard's own parser, so both sides index the same text.

use std::io::{BufWriter, Write};
use std::path::Path;
use std::time::Instant;

use rayon::prelude::*;
use rusqlite::{params, Connection};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let result = match args.get(1).map(String::as_str) {
        Some("build") if args.len() == 4 => build(Path::new(&args[2]), Path::new(&args[3])),
        Some("query") if args.len() >= 4 => {
            let limit = args.get(4).and_then(|l| l.parse().ok()).unwrap_or(5);
            query(Path::new(&args[2]), Path::new(&args[3]), limit)
        }
        _ => Err("usage: kbguard-fts5-peer build ARCHIVE_DIR DB | query DB QUERIES [LIMIT]".into()),
    };
    if let Err(err) = result {
        eprintln!("kbguard-fts5-peer: {err}");
        std::process::exit(2);
    }
}

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

fn build(dir: &Path, db: &Path) -> Result<()> {
    let start = Instant::now();
    let mut files = Vec::new();
    collect(dir, &mut files)?;
    // Parsing is kbguard's; indexing is SQLite's (one writer, as SQLite allows).
    let articles: Vec<(String, String, String, String)> = files
        .par_iter()
        .filter_map(|path| {
            let bytes = std::fs::read(path).ok()?;
            let a = kbguard::article::parse(&bytes).ok()?;
            let symptoms = a
                .section("SYMPTOMS")
                .map(|s| s.text.clone())
                .unwrap_or_default();
            let body: Vec<&str> = a.sections.iter().map(|s| s.text.as_str()).collect();
            Some((a.id.clone(), a.title.clone(), symptoms, body.join("\n")))
        })
        .collect();
    let _ = std::fs::remove_file(db);
    let mut conn = Connection::open(db)?;
    conn.execute_batch(
        "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;
         CREATE VIRTUAL TABLE kb USING fts5(id UNINDEXED, title, symptoms, body);",
    )?;
    let tx = conn.transaction()?;
    {
        let mut insert =
            tx.prepare("INSERT INTO kb (id, title, symptoms, body) VALUES (?1, ?2, ?3, ?4)")?;
        for (id, title, symptoms, body) in &articles {
            insert.execute(params![id, title, symptoms, body])?;
        }
    }
    tx.commit()?;
    conn.execute_batch("INSERT INTO kb(kb) VALUES('optimize');")?;
    eprintln!(
        "indexed {} articles in {:.2} s",
        articles.len(),
        start.elapsed().as_secs_f64()
    );
    Ok(())
}

fn collect(dir: &Path, out: &mut Vec<std::path::PathBuf>) -> Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            collect(&path, out)?;
        } else if path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("txt"))
        {
            out.push(path);
        }
    }
    Ok(())
}

/// The query's words, each quoted so FTS5 reads them as terms, OR'ed.
fn fts_query(text: &str) -> String {
    let words: Vec<String> = text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| format!("\"{}\"", w.to_lowercase()))
        .collect();
    words.join(" OR ")
}

fn query(db: &Path, queries: &Path, limit: usize) -> Result<()> {
    let conn = Connection::open(db)?;
    let mut stmt = conn.prepare(
        "SELECT id FROM kb WHERE kb MATCH ?1 ORDER BY bm25(kb, 0.0, 2.0, 4.0, 1.0) LIMIT ?2",
    )?;
    let text = std::fs::read_to_string(queries)?;
    let mut out = BufWriter::new(std::io::stdout().lock());
    for line in text.lines() {
        let q = fts_query(line);
        let ids: Vec<String> = if q.is_empty() {
            Vec::new()
        } else {
            stmt.query_map(params![q, limit as i64], |row| row.get::<_, String>(0))?
                .collect::<std::result::Result<_, _>>()?
        };
        let hits: Vec<serde_json::Value> = ids
            .into_iter()
            .map(|id| serde_json::json!({ "id": id }))
            .collect();
        writeln!(out, "{}", serde_json::json!({ "hits": hits }))?;
    }
    Ok(())
}
