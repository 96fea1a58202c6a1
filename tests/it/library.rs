//! The shipped rule library: enough rules, each tested both ways, each found by its symptom.

use std::collections::{BTreeMap, BTreeSet};

#[test]
fn the_library_has_at_least_30_rules_each_with_a_triggered_and_a_clear_case() {
    let home = tempfile::tempdir().unwrap();
    let rules = crate::common::rules(home.path());
    assert!(rules.len() >= 30, "only {} rules", rules.len());
    let out = crate::common::kbguard_in(home.path())
        .args(["test", "--json"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let results: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let mut expects: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for case in results.as_array().unwrap() {
        assert_eq!(case["actual"], case["expected"], "{case}");
        expects
            .entry(case["rule"].as_str().unwrap().to_string())
            .or_default()
            .insert(case["expected"].as_str().unwrap().to_string());
    }
    for rule in &rules {
        let id = rule["id"].as_str().unwrap();
        let cases = expects.get(id).cloned().unwrap_or_default();
        // Both ways: a case that triggers, and one that does not block: Clear, or, for a rule
        // that always bites where it applies (`isinteg -fix` without `-test`), its article's
        // remedy as another form of the command, NotApplicable.
        assert!(
            cases.contains("triggered")
                && (cases.contains("clear") || cases.contains("not_applicable")),
            "{id} has cases {cases:?}"
        );
        assert!(
            !rule["symptoms"].as_array().unwrap().is_empty(),
            "{id} has no symptoms"
        );
    }
}

#[test]
fn lookup_finds_each_rules_article_first_for_its_main_symptom() {
    let home = tempfile::tempdir().unwrap();
    crate::common::assert_rules_found_by_main_symptom(home.path(), None);
}

/// The README's helpdesk walk-through on the standalone snapshot: blocked, then undecided with
/// the missing fact named, then clear once it is given.
#[test]
fn a_customer_snapshot_is_blocked_then_asks_for_the_missing_fact_then_clears() {
    let home = tempfile::tempdir().unwrap();
    let snapshot = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/exchange55-standalone-full-disk.ron"
    );
    let db = r"C:\exchsrvr\mdbdata\priv.edb";
    let check = |extra: &[&str], command: &[&str]| {
        let mut cmd = crate::common::kbguard_in(home.path());
        cmd.env("KBGUARD_CACHE_DIR", home.path().join("cache"))
            .args(["check", "--facts", snapshot])
            .args(extra)
            .arg("--")
            .args(command);
        cmd.assert()
    };
    check(&[], &["eseutil", "/d", db])
        .code(1)
        .stdout(predicates::str::contains(
            "exchange.eseutil-d-free-space-working-folder [Q255035] triggered",
        ))
        .stdout(predicates::str::contains(
            r"volume.free:C:\exchsrvr\bin (2254857830)",
        ));
    let elsewhere = ["eseutil", "/d", db, r"/tG:\defrag\tmpdfrg.edb"];
    check(&[], &elsewhere)
        .code(3)
        .stdout(predicates::str::contains(
            r"--set volume.free:G:\defrag\tmpdfrg.edb=<int>",
        ));
    check(&["--set", r"volume.free:G:\=53687091200"], &elsewhere).code(0);
}
