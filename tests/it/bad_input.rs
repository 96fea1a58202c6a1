//! Hostile and broken input: each gets a clear error with its location, or is skipped with a
//! reason; nothing panics, hangs or grows without bound. Memory is bounded by running kbguard
//! under `ulimit -v` (1 GiB of address space).

use std::fs;
use std::path::Path;

use crate::common::kbguard_bounded;
use predicates::prelude::*;
use predicates::str::contains;

const RULE: &str = r#"RuleFile(schema: 1, rules: [Rule(
    id: "bad.input", revision: 1, kb: [(id: "Q178311", date: "2002-08-06")], title: "t",
    severity: warn, reviewed: "2026-11-25", symptoms: [(message: "m")], workaround: (text: "w"),
    tests: [(name: "n", expect: triggered)],
)])"#;

fn lint(path: &Path) -> assert_cmd::assert::Assert {
    kbguard_bounded()
        .args(["lint", "--with-defaults"])
        .arg(path)
        .assert()
}

#[test]
fn truncated_ron_is_located() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("cut.ron");
    fs::write(&file, &RULE[..RULE.find("symptoms").unwrap()]).unwrap();
    lint(&file)
        .code(1)
        .stderr(contains(format!("{}:", file.display())))
        .stderr(contains("error: Unexpected end of RON"));
}

#[test]
fn ron_nested_100000_deep_is_an_error_not_a_stack_overflow() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("deep.ron");
    let deep = format!(
        "{}EnvSet(\"X\"){}",
        "Not(".repeat(100_000),
        ")".repeat(100_000)
    );
    fs::write(
        &file,
        RULE.replace("workaround:", &format!("when: {deep}, workaround:")),
    )
    .unwrap();
    lint(&file)
        .code(1)
        .stderr(contains(format!("{}:3:", file.display())))
        .stderr(contains("deeper than the 128 levels"));
}

#[test]
fn a_50_mb_rule_file_is_refused_unread() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("huge.ron");
    let f = fs::File::create(&file).unwrap();
    f.set_len(50 * 1024 * 1024).unwrap();
    lint(&file).code(1).stderr(contains(
        "huge.ron: error: 52428800 bytes is larger than the 16777216 bytes a data file may have",
    ));
}

#[test]
fn invalid_utf8_is_located_at_the_first_bad_byte() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("latin1.ron");
    let mut bytes = RULE.as_bytes().to_vec();
    let at = RULE.find("title: \"t\"").unwrap() + 8;
    bytes[at] = 0xE9;
    fs::write(&file, bytes).unwrap();
    let line_start = RULE[..at].rfind('\n').unwrap() + 1;
    let column = at - line_start + 1;
    lint(&file).code(1).stderr(contains(format!(
        "latin1.ron:2:{column}: error: not valid UTF-8 text"
    )));
}

#[test]
fn a_symlink_loop_and_an_unreadable_file_are_reported_and_the_rest_loads() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules");
    fs::create_dir_all(rules.join("sub")).unwrap();
    fs::write(rules.join("good.ron"), RULE).unwrap();
    std::os::unix::fs::symlink(&rules, rules.join("sub/loop")).unwrap();
    // A dangling link cannot be read even by root, unlike a file without read permission.
    std::os::unix::fs::symlink(dir.path().join("gone.ron"), rules.join("gone.ron")).unwrap();
    let built_in = crate::common::rules(dir.path()).len();
    // The built-in rules and good.ron's one.
    kbguard_bounded()
        .args(["lint", "--with-defaults"])
        .arg(&rules)
        .assert()
        .code(1)
        .stderr(contains("symbolic link loop"))
        .stderr(contains("gone.ron"))
        .stdout(contains(format!(" {} rules,", built_in + 1)));
}

#[test]
fn duplicate_ids_across_files_and_unknown_fields_are_located() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("a.ron"), RULE).unwrap();
    fs::write(dir.path().join("b.ron"), RULE).unwrap();
    fs::write(
        dir.path().join("c.ron"),
        RULE.replace("title:", "tittle:")
            .replace("bad.input", "bad.other"),
    )
    .unwrap();
    kbguard_bounded()
        .args(["lint", "--with-defaults"])
        .arg(dir.path())
        .assert()
        .code(1)
        .stderr(contains(
            "b.ron:2:9: error[duplicate-rule-id]: duplicate rule id \"bad.input\" (first defined at",
        ))
        .stderr(contains("a.ron:2:9)"))
        .stderr(contains(
            "c.ron:2:78: error: Unexpected field named `tittle`",
        ));
}

#[test]
fn a_10_mb_query_is_answered_in_bounded_memory() {
    let line: String = "error reading drive C: abort retry fail ".repeat(250_000);
    assert!(line.len() >= 10_000_000);
    let out = kbguard_bounded()
        .args(["lookup", "--batch", "-", "--json", "--limit", "3"])
        .write_stdin(format!("{line}\nReason: JET_errKeyDuplicate\n"))
        .assert()
        .code(0)
        .get_output()
        .stdout
        .clone();
    let lines: Vec<&str> = std::str::from_utf8(&out).unwrap().lines().collect();
    assert_eq!(lines.len(), 2);
    assert!(lines[1].contains("\"Q178311\""));
}

#[test]
fn garbage_empty_and_100_mb_articles_are_skipped_with_reasons() {
    let dir = tempfile::tempdir().unwrap();
    let txt = dir.path().join("txt/999");
    fs::create_dir_all(&txt).unwrap();
    fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/kbarchive/999/Q999001.TXT"),
        txt.join("Q999001.TXT"),
    )
    .unwrap();
    fs::write(
        txt.join("Q999100.TXT"),
        (0..=255u8).cycle().take(100_000).collect::<Vec<u8>>(),
    )
    .unwrap();
    fs::write(txt.join("Q999101.TXT"), b"").unwrap();
    fs::File::create(txt.join("Q999102.TXT"))
        .unwrap()
        .set_len(100 * 1024 * 1024)
        .unwrap();
    kbguard_bounded()
        .args(["kb", "import"])
        .arg(dir.path().join("txt"))
        .arg("--index")
        .arg(dir.path().join("index"))
        .assert()
        .code(0)
        .stdout(contains("imported 1 articles"))
        .stdout(contains("Q999100.TXT: binary data"))
        .stdout(contains("Q999101.TXT: empty file"))
        .stdout(contains(
            "Q999102.TXT: 104857600 bytes is larger than an article can be",
        ))
        .stdout(contains("panicked").not());
}
