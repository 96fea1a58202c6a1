//! In-process benchmarks (`cargo bench`): rule loading, one check, fact collection, one lookup
//! on the imported archive, parsing one KB article.
//!
//! The archive lookup needs an index: set KBGUARD_BENCH_INDEX to one built with `kbguard kb
//! import` (bench/compare.sh does); without it that benchmark reports nothing.

// Tests and benchmarks report by panicking, and may print what they measure.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout,
    clippy::print_stderr,
    clippy::cast_possible_truncation
)]

use std::path::PathBuf;
use std::sync::OnceLock;

use divan::{black_box, Bencher};
use kbguard::facts::{Fact, FactSource};
use kbguard::model::FactValue;
use kbguard::{Command, FactSet, Origin, RuleSet};

fn main() {
    divan::main();
}

/// 10,000 generated rules in 100 files, written once into a temporary directory.
fn generated_rules() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("kbguard-bench-rules-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for file in 0..100 {
            let rules: String = (file * 100..file * 100 + 100)
                .map(|i| {
                    format!(
                        r#"Rule(id: "gen.rule-{i:05}", revision: 1, kb: [(id: "Q178311", date: "2002-08-06")],
    title: "Generated rule {i}", severity: block, reviewed: "2026-11-25",
    applies: (products: [(name: "exchange", versions: ">=5.5, <6")], os: [windows]),
    intent: Intent(program: "tool{p}", flags: ["-mode{m}"]),
    when: All([FactEquals("cluster.node", true), EnvUnset("GEN_VAR_{i}")]),
    symptoms: [(message: "Generated failure {i}")], workaround: (text: "Set GEN_VAR_{i}."),
    tests: [(name: "t", command: ["tool{p}", "-mode{m}"], facts: {{"os.family": "windows", "product.exchange.version": "5.5", "cluster.node": true}}, env: {{}}, expect: triggered)]),
"#,
                        p = i % 50,
                        m = i % 7
                    )
                })
                .collect();
            std::fs::write(dir.join(format!("gen-{file:03}.ron")), format!("RuleFile(schema: 1, rules: [\n{rules}])\n")).unwrap();
        }
        dir
    })
}

fn origins_10k() -> Vec<Origin> {
    vec![Origin::Embedded, Origin::Path(generated_rules().clone())]
}

#[divan::bench]
fn load_embedded_rules() -> RuleSet {
    RuleSet::load(&[Origin::Embedded])
}

#[divan::bench(sample_count = 10)]
fn load_10k_rules_from_ron() -> RuleSet {
    RuleSet::load(&origins_10k())
}

#[divan::bench(sample_count = 20)]
fn load_10k_rules_from_cache(bencher: Bencher) {
    let cache = std::env::temp_dir().join(format!("kbguard-bench-cache-{}", std::process::id()));
    let origins = origins_10k();
    kbguard::cache::load::<kbguard::cache::ForPreflight>(&origins, &cache);
    bencher.bench(|| {
        kbguard::cache::load::<kbguard::cache::ForPreflight>(black_box(&origins), &cache)
    });
}

fn cluster_node() -> FactSet {
    let mut facts = FactSet::remote();
    let mut set = |name: &str, value: FactValue| {
        facts.insert(
            name,
            Fact {
                value,
                source: FactSource::CommandLine,
            },
        );
    };
    set("os.family", FactValue::Str("windows".into()));
    set(
        "product.exchange.version",
        FactValue::Version("5.5.2653.23".parse().unwrap()),
    );
    set("cluster.node", FactValue::Bool(true));
    set("cluster.network_name", FactValue::Str("EXCLUSTER".into()));
    facts.set_environment(Default::default(), FactSource::CommandLine);
    facts
}

#[divan::bench]
fn check_isinteg_patch(bencher: Bencher) {
    let set = RuleSet::load(&[Origin::Embedded]).compile();
    let facts = cluster_node();
    let command = Command::parse(&["isinteg".to_string(), "-patch".to_string()]).unwrap();
    bencher.bench(|| set.check(black_box(&facts), Some(black_box(&command))));
}

#[divan::bench]
fn collect_local_facts(bencher: Bencher) {
    let set = RuleSet::load(&[Origin::Embedded]);
    bencher.bench(|| kbguard::facts::probe_local(black_box(&set.catalogue)));
}

#[divan::bench]
fn parse_one_article(bencher: Bencher) {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/kbarchive/999/Q999001.TXT"
    );
    let bytes = std::fs::read(path).unwrap();
    bencher.bench(|| kbguard::article::parse(black_box(&bytes)));
}

#[divan::bench]
fn lookup_on_the_archive(bencher: Bencher) {
    let Some(index) = std::env::var_os("KBGUARD_BENCH_INDEX") else {
        eprintln!("lookup_on_the_archive: set KBGUARD_BENCH_INDEX to an imported index");
        return;
    };
    let archive = kbguard::archive::Archive::open(std::path::Path::new(&index)).unwrap();
    let set = RuleSet::load(&[Origin::Embedded]);
    let queries = [
        "Reason: JET_errKeyDuplicate",
        "2026-11-25 03:12:44 ERROR the instruction at 0x77f6a6f9 referenced memory at 0x00000000",
        "Setup could not open the file C:\\WINNT\\system32\\msvcrt.dll",
    ];
    // As `lookup --batch` does: the curated symptoms are prepared once, outside the loop.
    let lookup = kbguard::lookup::Lookup::new(&set, Some(&archive as &dyn kbguard::corpus::Corpus));
    let options = kbguard::lookup::LookupOptions {
        limit: 5,
        ..Default::default()
    };
    let mut i = 0;
    bencher.bench_local(|| {
        i = (i + 1) % queries.len();
        lookup.find(black_box(queries[i]), &options)
    });
}
