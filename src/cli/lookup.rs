//! `lookup`: the articles and rules for a pasted error or a description of the problem.

use std::io::{self, Write};
use std::path::Path;

use rayon::prelude::*;

use kbguard::cache::{ForLookup, Served};
use kbguard::corpus::Corpus;
use kbguard::lookup::{self, CuratedSource, LookupOptions};
use kbguard::output::{LookupContext, LookupOutput};
use kbguard::products::{self, ProductQuery};
use kbguard::{facts, report, Catalogue, FactOptions};

use super::args::{LookupArgs, ProductArgs};
use super::{print_json, Failure, OrFail, Ui};

/// `kbguard lookup`: exit 0 with hits, 1 without.
pub(crate) fn lookup(ui: &Ui, a: LookupArgs) -> Result<u8, Failure> {
    // Through the rule cache: parsing every rule file was most of a one-query lookup.
    let (catalogue, curated) = match ui.load_cached::<ForLookup>(&a.rules)? {
        Served::Cached(cached) => (cached.catalogue(), cached.curated),
        Served::Read(set) => (set.catalogue.clone(), CuratedSource::of(&set)),
    };
    let options = options(ui, &a.products, &catalogue, a.limit)?;
    let archive = a.index.open(ui)?;
    let note = archive.is_none().then_some(
        "no archive index is loaded: searching the built-in rules and article records only (import one with `kbguard kb import DIR`)",
    );
    let corpus = archive.as_ref().map(|a| a as &dyn Corpus);
    match (a.batch, a.query) {
        (Some(file), _) => batch(&curated, corpus, &file, &options, note),
        (None, Some(query)) => {
            let hits = lookup::Lookup::from_source(&curated, corpus).find(&query, &options);
            if a.json {
                let context = LookupContext {
                    archive: archive.as_ref().map(|a| a.path.display().to_string()),
                    note,
                };
                print_json(&LookupOutput::new(&query, &hits, Some(context)))?;
            } else {
                report::write_lookup(&mut io::stdout().lock(), ui.out, &hits, note).ok();
            }
            Ok(u8::from(hits.is_empty()))
        }
        (None, None) => Err(Failure("give an error message, or --batch FILE".into())),
    }
}

/// The lookup's options: the products asked for, or those of the host described.
fn options(
    ui: &Ui,
    args: &ProductArgs,
    catalogue: &Catalogue,
    limit: usize,
) -> Result<LookupOptions, Failure> {
    let mut products = Vec::new();
    if let Some(name) = &args.product {
        products.push(ProductQuery::new(name, args.version.as_deref()));
    }
    if args.facts.is_some() || !args.sets.is_empty() {
        let options = FactOptions {
            snapshot: args.facts.clone(),
            sets: args.sets.clone(),
        };
        let host = facts::collect(catalogue, &options).or_fail(ui)?;
        products.extend(products::host_products(&host));
    }
    if args.only_product && products.is_empty() {
        return Err(Failure(
            "--only-product needs --product, or host facts (--facts, --set) naming a product"
                .into(),
        ));
    }
    Ok(LookupOptions {
        limit,
        products,
        only_products: args.only_product,
    })
}

/// `lookup --batch FILE`: one query per line in, one JSON line per query out.
/// Queries answered in parallel before their lines are written: small enough that output
/// starts soon and a reader that stops early stops the work, large enough to keep every core busy.
const BATCH_CHUNK: usize = 256;

fn batch(
    curated: &CuratedSource,
    corpus: Option<&dyn Corpus>,
    file: &Path,
    options: &LookupOptions,
    note: Option<&str>,
) -> Result<u8, Failure> {
    let bytes = if file.as_os_str() == "-" {
        let mut bytes = Vec::new();
        io::Read::read_to_end(&mut io::stdin(), &mut bytes)
            .map_err(|e| Failure(format!("stdin: {e}")))?;
        bytes
    } else {
        std::fs::read(file).map_err(|e| Failure(format!("{}: {e}", file.display())))?
    };
    let text = String::from_utf8_lossy(&bytes);
    let mut out = io::BufWriter::new(io::stdout().lock());
    let lookup = lookup::Lookup::from_source(curated, corpus);
    // The note is said once, and lines name no generation directory: the same queries over the
    // same archive give byte-identical output, whichever import built the index.
    if let Some(note) = note {
        eprintln!("kbguard: {note}");
    }
    // Queries are answered on every core, a chunk at a time, and printed in input order: the
    // output is the same bytes as one at a time.
    let queries: Vec<&str> = text.lines().collect();
    for chunk in queries.chunks(BATCH_CHUNK) {
        let lines: Vec<Result<String, serde_json::Error>> = chunk
            .par_iter()
            .map(|query| {
                let hits = lookup.find(query, options);
                serde_json::to_string(&LookupOutput::new(query, &hits, None))
            })
            .collect();
        for line in lines {
            let line = line.map_err(|e| Failure(e.to_string()))?;
            if writeln!(out, "{line}").is_err() {
                return Ok(0);
            }
        }
    }
    Ok(0)
}
