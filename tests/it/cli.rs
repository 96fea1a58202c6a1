//! Runs the kbguard binary as a user would: every command and exit code.

use std::fs;
use std::path::{Path, PathBuf};

use crate::common::kbguard;
use predicates::prelude::*;
use predicates::str::contains;

const RULE_ID: &str = "exchange.isinteg-patch-cluster-network-name";

fn fixture(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(path)
}

fn example(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples")
        .join(name)
}

fn json_of(output: &[u8]) -> serde_json::Value {
    serde_json::from_slice(output).expect("stdout is JSON")
}

#[test]
fn check_blocks_q178311_on_a_cluster_node_with_the_workaround() {
    kbguard()
        .args(["check", "--facts"])
        .arg(example("exchange55-cluster-node.ron"))
        .args(["--", "isinteg", "-patch"])
        .assert()
        .code(1)
        .stdout(contains(RULE_ID))
        .stdout(contains("[Q178311]"))
        .stdout(contains("cluster.node == true"))
        .stdout(contains("set _CLUSTER_NETWORK_NAME_=EXCLUSTER"))
        .stdout(contains("blocked:"));
}

#[test]
fn check_is_clear_with_the_variable_set_or_off_cluster_or_on_exchange_6() {
    for sets in [
        vec!["env._CLUSTER_NETWORK_NAME_=EXCLUSTER"],
        vec!["cluster.node=false"],
        vec!["product.exchange.version=6.0.4417"],
    ] {
        let mut cmd = kbguard();
        cmd.args(["check", "--facts"])
            .arg(example("exchange55-cluster-node.ron"));
        for set in &sets {
            cmd.args(["--set", set]);
        }
        cmd.args(["--", "ISINTEG.EXE", "/PATCH"])
            .assert()
            .code(0)
            .stdout(contains("clear:"));
    }
}

#[test]
fn check_says_which_facts_decide_an_unknown_block_rule() {
    kbguard()
        .args(["check", "--facts"])
        .arg(fixture("snapshots/unknown-cluster.json"))
        .args(["--", "isinteg", "-patch"])
        .assert()
        .code(3)
        .stdout(contains("--set cluster.node=<true|false>"))
        .stdout(contains("undecided:"));
    kbguard()
        .args(["check", "--allow-unknown", "--facts"])
        .arg(fixture("snapshots/unknown-cluster.json"))
        .args(["--", "isinteg", "-patch"])
        .assert()
        .code(0);
}

#[test]
fn check_json_is_machine_readable() {
    let out = kbguard()
        .args(["check", "--json", "--facts"])
        .arg(example("exchange55-cluster-node.ron"))
        .args(["--", "isinteg", "-patch"])
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    let v = json_of(&out);
    assert_eq!(v["verdict"], "blocked");
    assert_eq!(v["exit_code"], 1);
    let e = &v["report"]["evaluations"][0];
    assert_eq!(e["rule"], RULE_ID);
    assert_eq!(e["outcome"], "triggered");
    assert_eq!(e["severity"], "block");
    assert!(e["workaround"]["text"]
        .as_str()
        .unwrap()
        .contains("EXCLUSTER"));
}

#[test]
fn check_on_this_machine_with_no_facts_is_clear_for_windows_rules() {
    if cfg!(windows) {
        return;
    }
    kbguard()
        .args(["check", "--", "isinteg", "-patch"])
        .assert()
        .code(0);
    kbguard().arg("check").assert().code(0);
}

#[test]
fn a_helpdesk_can_describe_a_windows_host_with_set() {
    kbguard()
        .args([
            "check",
            "--set",
            "os.family=windows",
            "--set",
            "product.exchange.version=5.5",
        ])
        .args(["--set", "cluster.node=true", "--", "isinteg", "-patch"])
        .assert()
        .code(1);
}

#[test]
fn bad_facts_are_usage_errors() {
    kbguard()
        .args([
            "check",
            "--set",
            "cluster.nod=true",
            "--",
            "isinteg",
            "-patch",
        ])
        .assert()
        .code(2)
        .stderr(contains("unknown fact `cluster.nod`"))
        .stderr(contains("did you mean"));
    kbguard()
        .args(["check", "--set", "novalue", "--", "x"])
        .assert()
        .code(2)
        .stderr(contains("expected NAME=VALUE"));
    kbguard()
        .args(["check", "--facts"])
        .arg(fixture("snapshots/bad-type.ron"))
        .args(["--", "x"])
        .assert()
        .code(2)
        .stderr(contains("bad-type.ron:4:9: fact `cluster.node`"));
    kbguard()
        .args(["check", "--facts", "/nonexistent/snapshot.ron", "--", "x"])
        .assert()
        .code(2)
        .stderr(contains("/nonexistent/snapshot.ron"));
    kbguard().args(["check", "--bogus"]).assert().code(2);
}

#[test]
fn broken_rules_fail_closed() {
    kbguard()
        .args(["check", "--rules"])
        .arg(fixture("broken/unknown_field.ron"))
        .args(["--", "isinteg", "-patch"])
        .assert()
        .code(2)
        .stderr(contains("unknown_field.ron:8:13"))
        .stderr(contains("refusing to vouch"));
}

#[cfg(unix)]
fn script(dir: &Path, name: &str, body: &str) -> PathBuf {
    let path = dir.join(name);
    fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
    }
    path
}

#[cfg(unix)]
#[test]
fn run_never_starts_a_blocked_command_and_applies_workarounds_on_request() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("ran");
    let isinteg = script(
        dir.path(),
        "isinteg",
        &format!(
            "printf '%s' \"$_CLUSTER_NETWORK_NAME_\" > '{}'",
            marker.display()
        ),
    );
    kbguard()
        .args(["run", "--facts"])
        .arg(example("exchange55-cluster-node.ron"))
        .arg("--")
        .arg(&isinteg)
        .arg("-patch")
        .assert()
        .code(1)
        .stderr(contains("not running"));
    assert!(!marker.exists(), "a blocked command must never start");

    kbguard()
        .args(["run", "--apply-workarounds", "--facts"])
        .arg(example("exchange55-cluster-node.ron"))
        .arg("--")
        .arg(&isinteg)
        .arg("-patch")
        .assert()
        .code(0)
        .stderr(contains("_CLUSTER_NETWORK_NAME_=EXCLUSTER"));
    assert_eq!(fs::read_to_string(&marker).unwrap(), "EXCLUSTER");

    fs::remove_file(&marker).unwrap();
    kbguard()
        .args(["run", "--force", "--facts"])
        .arg(example("exchange55-cluster-node.ron"))
        .arg("--")
        .arg(&isinteg)
        .arg("-patch")
        .assert()
        .code(0)
        .stderr(contains("--force"));
    assert!(marker.exists());

    // An assignment before the command is checked and passed on, as a shell would; a wrapper
    // in front does not hide the command.
    fs::remove_file(&marker).unwrap();
    kbguard()
        .args(["run", "--facts"])
        .arg(example("exchange55-cluster-node.ron"))
        .args(["--", "nohup"])
        .arg(&isinteg)
        .arg("-patch")
        .assert()
        .code(1);
    assert!(!marker.exists());
    kbguard()
        .args(["run", "--facts"])
        .arg(example("exchange55-cluster-node.ron"))
        .args(["--", "_CLUSTER_NETWORK_NAME_=EXCLUSTER"])
        .arg(&isinteg)
        .arg("-patch")
        .assert()
        .code(0);
    assert_eq!(fs::read_to_string(&marker).unwrap(), "EXCLUSTER");
}

#[cfg(unix)]
#[test]
fn run_cannot_apply_a_workaround_whose_fact_is_unknown() {
    let dir = tempfile::tempdir().unwrap();
    let isinteg = script(dir.path(), "isinteg", "exit 0");
    kbguard()
        .args(["run", "--apply-workarounds", "--set", "os.family=windows"])
        .args([
            "--set",
            "product.exchange.version=5.5",
            "--set",
            "cluster.node=true",
            "--",
        ])
        .arg(&isinteg)
        .arg("-patch")
        .assert()
        .code(1)
        .stderr(contains("fact cluster.network_name is unknown"));
}

#[cfg(unix)]
#[test]
fn run_passes_arguments_stdin_and_exit_status_through() {
    kbguard()
        .args(["run", "--", "sh", "-c", "exit 7"])
        .assert()
        .code(7);
    kbguard()
        .args(["run", "--", "sh", "-c", "kill -TERM $$"])
        .assert()
        .code(128 + 15);
    kbguard()
        .args(["run", "--", "cat"])
        .write_stdin("hello from stdin")
        .assert()
        .code(0)
        .stdout("hello from stdin");
    // No shell: metacharacters arrive as literal arguments.
    kbguard()
        .args(["run", "--", "printf", "%s|", "a b", "$HOME", ";", "*"])
        .assert()
        .code(0)
        .stdout("a b|$HOME|;|*|");
    kbguard()
        .args(["run", "--", "/nonexistent/program"])
        .assert()
        .code(127);
}

#[test]
fn facts_show_each_source() {
    let out = kbguard()
        .args(["facts", "--json", "--set", "cluster.node=true"])
        .assert()
        .code(0)
        .get_output()
        .stdout
        .clone();
    let v = json_of(&out);
    assert_eq!(v["host"], "local");
    assert_eq!(v["facts"]["os.family"]["source"], "built-in probe");
    // The working folder, where tools such as eseutil put temporary files.
    let cwd = std::env::current_dir().unwrap();
    assert_eq!(v["facts"]["host.cwd"]["value"], cwd.to_str().unwrap());
    assert_eq!(v["facts"]["cluster.node"]["value"], true);
    assert_eq!(v["facts"]["cluster.node"]["source"], "--set");
    assert!(v["unknown"]
        .as_array()
        .unwrap()
        .iter()
        .any(|n| n == "cluster.network_name"));

    let out = kbguard()
        .args(["facts", "--json", "--facts"])
        .arg(example("exchange55-cluster-node.ron"))
        .assert()
        .code(0)
        .get_output()
        .stdout
        .clone();
    let v = json_of(&out);
    assert_eq!(v["host"], "remote");
    assert_eq!(
        v["facts"]["product.exchange.version"]["value"],
        "5.5.2653.23"
    );
    assert!(v["facts"]["host.name"]["source"]
        .as_str()
        .unwrap()
        .starts_with("snapshot"));

    kbguard()
        .args(["facts", "--facts"])
        .arg(example("exchange55-cluster-node.ron"))
        .assert()
        .code(0)
        .stdout(contains("cluster.node = true"));
}

#[test]
fn rules_lists_the_loaded_rules() {
    kbguard()
        .arg("rules")
        .assert()
        .code(0)
        .stdout(contains(RULE_ID))
        .stdout(contains("intent: isinteg -patch"));
    let out = kbguard()
        .args(["rules", "--json"])
        .assert()
        .code(0)
        .get_output()
        .stdout
        .clone();
    let v = json_of(&out);
    let rule = v["rules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == RULE_ID)
        .unwrap();
    assert_eq!(rule["kb"][0]["id"], "Q178311");
    assert_eq!(rule["kb"][0]["date"], "2002-08-06");
    assert_eq!(rule["severity"], "block");
    assert_eq!(rule["status"], "active");
    assert_eq!(rule["intent"]["program"], "isinteg");
}

#[test]
fn lint_and_test_pass_on_the_shipped_rules() {
    kbguard()
        .arg("lint")
        .assert()
        .code(0)
        .stdout(contains("0 error(s), 0 warning(s)"));
    let root = env!("CARGO_MANIFEST_DIR");
    kbguard()
        .args(["lint", &format!("{root}/rules"), &format!("{root}/kb")])
        .assert()
        .code(0);
    kbguard()
        .arg("test")
        .assert()
        .code(0)
        .stdout(contains(" 0 failed"));
}

#[test]
fn every_broken_fixture_gives_its_located_error() {
    let dir = fixture("broken");
    let mut paths: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "ron"))
        .collect();
    paths.sort();
    for path in &paths {
        let out = kbguard()
            .args(["lint", "--with-defaults"])
            .arg(path)
            .assert()
            .code(1)
            .get_output()
            .stderr
            .clone();
        let name = path.file_stem().unwrap().to_string_lossy().to_string();
        // The path as given, whatever this OS's separator: the snapshots hold one spelling.
        let stderr = String::from_utf8(out).unwrap().replace(
            &path.display().to_string(),
            &format!("tests/fixtures/broken/{name}.ron"),
        );
        insta::assert_snapshot!(format!("broken_{name}"), stderr);
    }
    assert!(paths.len() >= 15, "only {} fixtures", paths.len());
}

#[test]
fn human_reports_read_as_they_did() {
    let data = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        let out = crate::common::kbguard_in(data.path())
            .args(["--color", "never"])
            .args(args)
            .output()
            .unwrap();
        format!(
            "exit {}\n--- stdout\n{}--- stderr\n{}",
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    };
    let bare_host = fixture("bare-host.json").display().to_string();
    let node = [
        "--facts",
        &bare_host,
        "--set",
        "os.family=windows",
        "--set",
        "product.exchange.version=5.5.2653.23",
        "--set",
        "cluster.node=true",
    ];
    let check: Vec<&str> = ["check", "--no-cache"]
        .into_iter()
        .chain(node)
        .chain(["--", "isinteg", "-patch"])
        .collect();
    insta::assert_snapshot!("check_blocked_q178311", run(&check));
    let explain: Vec<&str> = ["explain", RULE_ID]
        .into_iter()
        .chain(node)
        .chain(["--", "cmd", "/c", "isinteg -patch"])
        .collect();
    insta::assert_snapshot!("explain_through_cmd", run(&explain));
    insta::assert_snapshot!(
        "lookup_without_archive",
        run(&["lookup", "--limit", "2", "Reason: JET_errKeyDuplicate"])
    );
    insta::assert_snapshot!(
        "lint_explain_code",
        run(&["lint", "--explain", "unmatchable-code"])
    );
}

#[test]
fn test_reports_failing_cases_with_their_location() {
    kbguard()
        .args(["test", "--with-defaults"])
        .arg(fixture("failing/failing.ron"))
        .assert()
        .code(1)
        .stdout(contains("FAIL fixture.demo :: demo"))
        .stdout(contains("failing.ron:16:"))
        .stdout(contains("expected clear, got triggered"));
}

#[test]
fn explain_traces_each_predicate_with_fact_sources() {
    kbguard()
        .args(["explain", RULE_ID, "--facts"])
        .arg(example("exchange55-cluster-node.ron"))
        .args(["--", "isinteg", "-patch"])
        .assert()
        .code(0)
        .stdout(contains("triggered"))
        .stdout(contains("[true] cluster.node == true"))
        .stdout(contains("cluster.node = true  (snapshot"))
        .stdout(contains(
            "[false] _CLUSTER_NETWORK_NAME_ matches /^[^a-z]+$/",
        ))
        .stdout(contains("env._CLUSTER_NETWORK_NAME_ = (not set)"));
    kbguard()
        .args(["explain", RULE_ID, "--facts"])
        .arg(fixture("bare-host.json"))
        .args(["--set", "os.family=windows", "--", "isinteg", "-patch"])
        .assert()
        .code(0)
        .stdout(contains("[unknown] cluster.node == true"))
        .stdout(contains("cluster.node = unknown"));
    kbguard()
        .args(["explain", "no.such.rule"])
        .assert()
        .code(2)
        .stderr(contains("no rule with id"));
}

#[test]
fn lookup_finds_q178311_first() {
    kbguard()
        .args(["lookup", "Reason: JET_errKeyDuplicate"])
        .assert()
        .code(0)
        .stdout(contains("1. Q178311"))
        .stdout(contains("no archive index is loaded"));
    let out = kbguard()
        .args([
            "lookup",
            "--json",
            "--limit",
            "3",
            // Several isinteg articles open with this sentence; the reason picks Q178311.
            "2026-11-25 03:12 EXNODE1 the PRIVATE STORE could not be updated reason: jet_errkeyduplicate",
        ])
        .assert()
        .code(0)
        .get_output()
        .stdout
        .clone();
    let v = json_of(&out);
    assert_eq!(v["hits"][0]["id"], "Q178311");
    assert_eq!(v["hits"][0]["source"], "rule");
    assert_eq!(v["hits"][0]["rules"][0], RULE_ID);
    assert_eq!(
        v["hits"][0]["matched_part"],
        "The private store could not be updated\nReason: JET_errKeyDuplicate"
    );
    kbguard()
        .args(["lookup", "completely unrelated words"])
        .assert()
        .code(1);
}

#[test]
fn lookup_batch_prints_one_line_per_query_in_order() {
    let out = kbguard()
        .args(["lookup", "--batch", "-", "--json", "--limit", "5"])
        .write_stdin("Reason: JET_errKeyDuplicate\nnothing here\n")
        .assert()
        .code(0)
        .get_output()
        .stdout
        .clone();
    let lines: Vec<serde_json::Value> = String::from_utf8(out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["hits"][0]["id"], "Q178311");
    assert_eq!(lines[1]["hits"].as_array().unwrap().len(), 0);
}

#[test]
fn colour_follows_the_flag_and_no_color() {
    let args = [
        "check",
        "--set",
        "os.family=windows",
        "--set",
        "product.exchange.version=5.5",
        "--set",
        "cluster.node=true",
        "--",
        "isinteg",
        "-patch",
    ];
    kbguard()
        .args(["--color", "always"])
        .args(args)
        .assert()
        .stdout(contains("\u{1b}["));
    kbguard()
        .args(args)
        .assert()
        .stdout(contains("\u{1b}[").not());
    kbguard()
        .env("NO_COLOR", "1")
        .args(["--color", "auto"])
        .args(args)
        .assert()
        .stdout(contains("\u{1b}[").not());
    kbguard()
        .args(["--color", "never"])
        .args(args)
        .assert()
        .stdout(contains("\u{1b}[").not());
}

#[test]
fn rules_directories_add_to_or_replace_the_defaults() {
    let valid = fixture("rules");
    kbguard()
        .args(["rules", "--rules"])
        .arg(&valid)
        .assert()
        .code(0)
        .stdout(contains("fixture.demo"))
        .stdout(contains(RULE_ID));
    kbguard()
        .env("KBGUARD_RULES", &valid)
        .arg("rules")
        .assert()
        .code(0)
        .stdout(contains("fixture.demo"));
    // Without the defaults the fixture's facts and records are missing: lint errors, fail closed.
    kbguard()
        .args(["rules", "--no-default-rules", "--rules"])
        .arg(&valid)
        .assert()
        .code(2)
        .stderr(contains("unknown fact `cluster.node`"));
}

#[cfg(unix)]
#[test]
fn run_passes_sigterm_on_to_the_command() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("got-term");
    let ready = dir.path().join("ready");
    let child = script(
        dir.path(),
        "waiter",
        &format!(
            "trap 'echo TERM > \"{}\"; exit 3' TERM\ntouch \"{}\"\nwhile :; do sleep 0.05; done",
            marker.display(),
            ready.display()
        ),
    );
    let bin = assert_cmd::cargo::cargo_bin("kbguard");
    let mut run = std::process::Command::new(bin)
        .args(["run", "--"])
        .arg(&child)
        .env_remove("KBGUARD_RULES")
        .spawn()
        .unwrap();
    for _ in 0..200 {
        if ready.exists() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(25));
    }
    assert!(ready.exists(), "the command did not start");
    let pid = nix::unistd::Pid::from_raw(run.id() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
    let status = run.wait().unwrap();
    assert_eq!(
        status.code(),
        Some(3),
        "kbguard exits with the command's status"
    );
    assert_eq!(fs::read_to_string(&marker).unwrap().trim(), "TERM");
}

#[test]
fn rule_errors_can_be_overridden_explicitly() {
    kbguard()
        .args(["check", "--ignore-rule-errors", "--rules"])
        .arg(fixture("broken/unknown_field.ron"))
        .args(["--facts"])
        .arg(example("exchange55-cluster-node.ron"))
        .args(["--", "isinteg", "-patch"])
        .assert()
        .code(1)
        .stderr(contains("unknown_field.ron:8:13"))
        .stderr(contains("--ignore-rule-errors"));
}

/// The Q178311 host of issue 14: the facts `--set` gives, no `_CLUSTER_NETWORK_NAME_`.
const Q178311_HOST: [&str; 8] = [
    "--set",
    "os.family=windows",
    "--set",
    "product.exchange.version=5.5.2653",
    "--set",
    "cluster.node=true",
    "--set",
    "process.running:dsamain.exe=true",
];

/// The ids of the rules a `check --json` found triggered, over every command it checked.
fn triggered(out: &[u8]) -> Vec<String> {
    let json = json_of(out);
    json["commands"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|c| c["report"]["evaluations"].as_array().unwrap().clone())
        .filter(|e| e["outcome"] == "triggered")
        .map(|e| e["rule"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn wrappers_do_not_walk_around_q178311() {
    let argvs: &[&[&str]] = &[
        &["cmd", "/c", "isinteg", "-patch"],
        &["cmd.exe", "/c", "isinteg", "-patch"],
        &["start", "/wait", "isinteg", "-patch"],
        &["call", "isinteg", "-patch"],
        &["sudo", "isinteg", "-patch"],
        &["env", "FOO=1", "isinteg", "-patch"],
        // More of the same kinds, and nested ones.
        &["CMD.EXE", "/Q", "/C", "isinteg -patch"],
        &["cmd", "/c", "start", "/wait", "isinteg", "-patch"],
        &[
            "start",
            "",
            "/b",
            "C:\\exchsrvr\\bin\\ISINTEG.EXE",
            "/PATCH",
        ],
        &["runas", "/user:EXCH\\admin", "isinteg -patch"],
        &[
            "sudo", "-u", "exadmin", "env", "A=1", "nohup", "nice", "-n", "5", "isinteg", "-patch",
        ],
        &["timeout", "3600", "time", "isinteg", "-patch"],
        &["powershell", "-NoProfile", "-Command", "& isinteg -patch"],
        &[
            "pwsh",
            "-c",
            "Start-Process isinteg -ArgumentList '-patch' -Wait",
        ],
        &["bash", "-c", "isinteg -patch | tee log"],
        &["sh", "-c", "cd /tmp && isinteg -patch"],
    ];
    for argv in argvs {
        let out = kbguard()
            .arg("check")
            .args(Q178311_HOST)
            .arg("--json")
            .arg("--")
            .args(*argv)
            .assert()
            .code(1)
            .get_output()
            .stdout
            .clone();
        assert!(
            triggered(&out).iter().any(|r| r == RULE_ID),
            "{argv:?} does not trigger Q178311"
        );
    }
}

#[test]
fn whole_lines_with_redirections_and_pipes_block_q178311() {
    let lines = [
        ("cd /d C:\\exchsrvr\\bin && isinteg -patch", "cmd"),
        ("isinteg -patch > out.txt 2>&1", "cmd"),
        ("isinteg -patch | more", "cmd"),
        ("echo start & isinteg -patch", "cmd"),
        ("date; isinteg -patch 2>&1 | tee log &", "bash"),
        ("cd /tmp; and isinteg -patch", "fish"),
        (
            "Set-Location C:\\exchsrvr\\bin; isinteg -patch *> out.txt",
            "powershell",
        ),
        ("X=$(isinteg -patch)", "zsh"),
    ];
    for (line, shell) in lines {
        let out = kbguard()
            .arg("check")
            .args(Q178311_HOST)
            .args(["--json", "--line", line, "--shell", shell])
            .assert()
            .code(1)
            .get_output()
            .stdout
            .clone();
        assert!(triggered(&out).iter().any(|r| r == RULE_ID), "{line}");
    }
}

#[test]
fn assignments_on_the_line_apply_the_q178311_workaround() {
    let clear = |args: &[&str]| {
        let out = kbguard()
            .arg("check")
            .args(Q178311_HOST)
            .arg("--json")
            .args(args)
            .assert()
            .code(0)
            .get_output()
            .stdout
            .clone();
        assert!(!triggered(&out).iter().any(|r| r == RULE_ID), "{args:?}");
    };
    clear(&[
        "--",
        "env",
        "_CLUSTER_NETWORK_NAME_=EXCLUSTER",
        "isinteg",
        "-patch",
    ]);
    clear(&[
        "--line",
        "set _CLUSTER_NETWORK_NAME_=EXCLUSTER && isinteg -patch",
        "--shell",
        "cmd",
    ]);
    clear(&[
        "--line",
        "$env:_CLUSTER_NETWORK_NAME_ = 'EXCLUSTER'; isinteg -patch",
        "--shell",
        "powershell",
    ]);
    clear(&[
        "--line",
        "_CLUSTER_NETWORK_NAME_=EXCLUSTER isinteg -patch",
        "--shell",
        "bash",
    ]);
    clear(&[
        "--line",
        "export _CLUSTER_NETWORK_NAME_=EXCLUSTER; isinteg -patch",
        "--shell",
        "bash",
    ]);
    clear(&[
        "--line",
        "set -x _CLUSTER_NETWORK_NAME_ EXCLUSTER; isinteg -patch",
        "--shell",
        "fish",
    ]);
    // The assignment reaches only what comes after it, and `env -u` takes it away again.
    kbguard()
        .arg("check")
        .args(Q178311_HOST)
        .args([
            "--line",
            "isinteg -patch & set _CLUSTER_NETWORK_NAME_=EXCLUSTER",
            "--shell",
            "cmd",
        ])
        .assert()
        .code(1);
    kbguard()
        .arg("check")
        .args(Q178311_HOST)
        .args(["--set", "env._CLUSTER_NETWORK_NAME_=EXCLUSTER"])
        .args([
            "--",
            "env",
            "-u",
            "_CLUSTER_NETWORK_NAME_",
            "isinteg",
            "-patch",
        ])
        .assert()
        .code(1);
}

#[test]
fn check_shows_the_unwrapping_in_text_and_json() {
    kbguard()
        .arg("check")
        .args(Q178311_HOST)
        .args(["--", "cmd", "/c", "start", "/wait", "isinteg", "-patch"])
        .assert()
        .code(1)
        .stdout(contains(
            "runs: isinteg -patch (through cmd /c, then start /wait)",
        ));
    let out = kbguard()
        .arg("check")
        .args(Q178311_HOST)
        .args([
            "--json",
            "--line",
            "cd /d C:\\exchsrvr\\bin && isinteg -patch | more",
            "--shell",
            "cmd",
        ])
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    let json = json_of(&out);
    let commands = json["commands"].as_array().unwrap();
    assert_eq!(commands.len(), 2);
    assert_eq!(
        commands[0]["argv"],
        serde_json::json!(["isinteg", "-patch"])
    );
    assert_eq!(commands[0]["cwd"], "C:\\exchsrvr\\bin");
    assert_eq!(commands[1]["argv"], serde_json::json!(["more"]));
    assert_eq!(json["verdict"], "blocked");
    // `report` is the deciding command's, as before lines existed.
    assert_eq!(
        json["report"]["command"],
        serde_json::json!(["isinteg", "-patch"])
    );
    kbguard()
        .args(["explain", RULE_ID])
        .args(Q178311_HOST)
        .args(["--", "sudo", "isinteg", "-patch"])
        .assert()
        .code(0)
        .stdout(contains("runs: isinteg -patch (through sudo)"))
        .stdout(contains("triggered"));
}

#[test]
fn an_unreadable_line_is_a_usage_error_with_its_position() {
    for (line, shell, caret) in [
        ("isinteg \"-patch", "cmd", "          ^"),
        ("isinteg '-patch", "bash", "          ^"),
        ("echo $(isinteg -patch", "bash", "       ^"),
    ] {
        kbguard()
            .arg("check")
            .args(Q178311_HOST)
            .args(["--line", line, "--shell", shell])
            .assert()
            .code(2)
            .stderr(contains("cannot read the command line"))
            .stderr(contains(format!("\n{caret}\n")));
    }
    kbguard()
        .args(["check", "--line", "x", "--shell", "tcsh"])
        .assert()
        .code(2)
        .stderr(contains("unknown shell"));
}

/// Issue 18: a recorded decision replays the same against unchanged rules (exit 0); after a
/// rule's range is edited, replay reports it changed and names the rule (exit 1). Replay never
/// probes this host: it reads the recorded facts only.
#[test]
fn recorded_decisions_replay_and_name_the_rule_that_changed_them() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules");
    fs::create_dir_all(&rules).unwrap();
    let rule = |range: &str, revision: u32| {
        format!(
            r#"RuleFile(schema: 1, facts: [(name: "product.widget.version", type: version, doc: "d")], rules: [Rule(
    id: "widget.tool-x", revision: {revision}, kb: [(id: "Q178311", date: "2002-08-06")], title: "t", severity: block,
    reviewed: "2026-11-26", applies: (products: [(name: "widget", versions: "{range}")]),
    intent: Intent(program: "tool", flags: ["-x"]),
    symptoms: [(message: "m", paraphrase: true)], workaround: (text: "w"),
    tests: [(name: "n", command: ["tool", "-x"], facts: {{"product.widget.version": "1.5"}}, expect: triggered)],
)])"#
        )
    };
    fs::write(rules.join("widget.ron"), rule(">=1.0, <2", 1)).unwrap();
    let record = dir.path().join("decisions.jsonl");
    kbguard()
        .args(["check", "--no-cache", "--rules"])
        .arg(&rules)
        .arg("--record")
        .arg(&record)
        .args(["--set", "product.widget.version=1.5", "--", "tool", "-x"])
        .assert()
        .code(1);
    // KBGUARD_RECORD names the file too, and a line is recorded with its shell.
    kbguard()
        .env("KBGUARD_RECORD", &record)
        .args(["check", "--no-cache", "--rules"])
        .arg(&rules)
        .args(["--set", "product.widget.version=1.5"])
        .args(["--line", "cd /tmp && tool -x", "--shell", "bash"])
        .assert()
        .code(1);
    let lines: Vec<serde_json::Value> = fs::read_to_string(&record)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["schema"], 1);
    assert_eq!(lines[0]["verdict"], "blocked");
    assert_eq!(lines[0]["findings"][0]["rule"], "widget.tool-x");
    assert_eq!(lines[0]["facts"]["product.widget.version"]["value"], "1.5");
    assert_eq!(
        lines[0]["facts"]["product.widget.version"]["source"],
        "--set"
    );
    assert_eq!(lines[1]["line"], "cd /tmp && tool -x");
    assert_eq!(lines[1]["shell"], "bash");
    let replay = || {
        let mut cmd = kbguard();
        cmd.arg("replay").arg(&record).arg("--rules").arg(&rules);
        cmd
    };
    replay()
        .assert()
        .code(0)
        .stdout(contains("2 decisions replayed, 0 changed"));
    // The rule's range moves past the recorded version: both decisions change, and say why.
    fs::write(rules.join("widget.ron"), rule(">=1.6, <2", 2)).unwrap();
    replay()
        .assert()
        .code(1)
        .stdout(contains("CHANGED"))
        .stdout(contains(
            "widget.tool-x: triggered then, nothing now (revision 1 → 2)",
        ))
        .stdout(contains("2 decisions replayed, 2 changed"));
    let json = replay()
        .arg("--json")
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    let results: serde_json::Value = serde_json::from_slice(&json).unwrap();
    assert_eq!(results[0]["changes"][0]["because"], "revision 1 → 2");
    // A line that is not a record is an error with its place.
    fs::write(&record, "not json\n").unwrap();
    replay()
        .assert()
        .code(2)
        .stderr(contains("decisions.jsonl:1: not a decision record"));
}

/// Issue 18: `run --record` records the command's own exit status once it ends.
#[cfg(unix)]
#[test]
fn run_records_the_commands_exit_status() {
    let dir = tempfile::tempdir().unwrap();
    let record = dir.path().join("r.jsonl");
    kbguard()
        .args(["run", "--no-cache", "--record"])
        .arg(&record)
        .args(["--", "sh", "-c", "exit 7"])
        .assert()
        .code(7);
    let line: serde_json::Value =
        serde_json::from_str(fs::read_to_string(&record).unwrap().trim()).unwrap();
    assert_eq!(line["exit_status"], 7);
    assert_eq!(line["verdict"], "clear");
}

/// Whether a validator is installed; under CI on Linux it must be (`.ci/run` installs it). The
/// validators are Linux programs: under Wine the outputs are checked by the Linux run.
fn have(tool: &str, probe: &[&str]) -> bool {
    if cfg!(windows) {
        eprintln!("skipping: {tool} validates on the Linux run");
        return false;
    }
    let ok = std::process::Command::new(tool)
        .args(probe)
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            std::env::var_os("CI").is_none() || std::env::var_os("KBGUARD_SKIP_SHELLS").is_some(),
            "CI must have {tool} {probe:?}"
        );
        eprintln!("skipping: {tool} {probe:?} is not available");
    }
    ok
}

/// Issue 18: `test --junit` writes JUnit XML that validates against the common JUnit schema,
/// passing cases and failing ones alike.
#[test]
fn test_junit_output_validates_against_the_junit_schema() {
    let dir = tempfile::tempdir().unwrap();
    let passing = dir.path().join("pass.xml");
    kbguard()
        .arg("test")
        .arg("--junit")
        .arg(&passing)
        .assert()
        .code(0);
    let failing = dir.path().join("fail.xml");
    kbguard()
        .args(["test", "--with-defaults"])
        .arg(fixture("failing"))
        .arg("--junit")
        .arg(&failing)
        .assert()
        .code(1);
    let fail_text = fs::read_to_string(&failing).unwrap();
    assert!(
        fail_text.contains("<failure type=\"outcome\""),
        "{fail_text}"
    );
    if !have("xmllint", &["--version"]) {
        return;
    }
    let schema =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/schemas/junit-jenkins.xsd");
    for file in [&passing, &failing] {
        let out = std::process::Command::new("xmllint")
            .args(["--noout", "--schema"])
            .arg(&schema)
            .arg(file)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}: {}",
            file.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// Issue 18: `check --sarif` validates against SARIF 2.1.0's schema, with blocks as errors and
/// undecided rules as open results.
#[test]
fn check_sarif_output_validates_against_the_sarif_schema() {
    let out = kbguard()
        .args(["check", "--sarif", "--no-cache", "--facts"])
        .arg(fixture("../../examples/exchange55-cluster-node.ron"))
        .args(["--", "isinteg", "-patch"])
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    let log: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(log["version"], "2.1.0");
    let results = log["runs"][0]["results"].as_array().unwrap();
    assert!(results
        .iter()
        .any(|r| r["ruleId"] == RULE_ID && r["level"] == "error" && r["kind"] == "fail"));
    if !have("python3", &["-c", "import jsonschema"]) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("log.sarif");
    fs::write(&file, &out).unwrap();
    let schema =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/schemas/sarif-2.1.0-rtm.5.json");
    let check = std::process::Command::new("python3")
        .args([
            "-c",
            "import json, sys, jsonschema; jsonschema.validate(json.load(open(sys.argv[1])), json.load(open(sys.argv[2])))",
        ])
        .arg(&file)
        .arg(&schema)
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
}

/// Issue 18: completion scripts from the CLI definition load in their shells; the man page
/// names every command.
#[test]
fn completions_load_and_the_man_page_names_the_commands() {
    for (shell, load) in [
        (
            "bash",
            "source <(\"$0\" completions bash) && complete -p kbguard",
        ),
        (
            "zsh",
            "autoload -U compinit && compinit -u && source <(\"$0\" completions zsh)",
        ),
        ("fish", "$argv[1] completions fish | source"),
    ] {
        let script = kbguard()
            .args(["completions", shell])
            .assert()
            .code(0)
            .get_output()
            .stdout
            .clone();
        assert!(!script.is_empty(), "{shell}");
        if std::process::Command::new(shell)
            .arg("--version")
            .output()
            .is_err()
        {
            continue;
        }
        let bin = assert_cmd::cargo::cargo_bin("kbguard");
        let mut cmd = std::process::Command::new(shell);
        cmd.args(["-c", load]).arg(&bin);
        let out = cmd.output().unwrap();
        assert!(
            out.status.success(),
            "{shell}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let man = kbguard()
        .arg("man")
        .assert()
        .code(0)
        .get_output()
        .stdout
        .clone();
    let man = String::from_utf8(man).unwrap();
    assert!(
        man.starts_with(".ie") || man.contains(".TH kbguard"),
        "{}",
        &man[..200.min(man.len())]
    );
    for command in ["check", "run", "lookup", "replay", "init", "completions"] {
        assert!(man.contains(command), "{command}");
    }
}

/// Issue 15 (the collector): `facts --save FILE` writes a snapshot in the format `--facts` reads
/// (RON by extension, JSON otherwise) with every fact, the family facts the rules ask for, the
/// variables the rules read (unset ones too), sources and who/when/what; a helpdesk's check on it
/// decides as the host would.
#[test]
fn facts_save_writes_a_snapshot_a_helpdesk_can_check() {
    let dir = tempfile::tempdir().unwrap();
    let ron = dir.path().join("host.ron");
    kbguard()
        .args(["facts", "--save"])
        .arg(&ron)
        .args([
            "--set",
            "os.family=windows",
            "--set",
            "product.exchange.version=5.5.2653.23",
        ])
        .args(["--set", "cluster.node=true"])
        .assert()
        .code(0)
        .stdout(contains("kbguard check --facts"));
    let text = fs::read_to_string(&ron).unwrap();
    assert!(text.contains("\"_CLUSTER_NETWORK_NAME_\": None"), "{text}");
    assert!(text.contains("collected: ("), "{text}");
    assert!(text.contains("\"cluster.node\": \"--set\""), "{text}");
    kbguard()
        .args(["check", "--no-cache", "--facts"])
        .arg(&ron)
        .args(["--", "isinteg", "-patch"])
        .assert()
        .code(1)
        .stdout(contains("[Q178311] triggered"));
    // This host as it is: family facts the rules ask for are read here (the process list).
    let json = dir.path().join("host.json");
    kbguard()
        .args(["facts", "--save"])
        .arg(&json)
        .assert()
        .code(0);
    let saved: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(
        saved["facts"]["process.running:emsmta.exe"], false,
        "{saved}"
    );
    assert!(saved["collected"]["ruleset"].as_str().unwrap().len() == 16);
    kbguard()
        .args(["check", "--no-cache", "--facts"])
        .arg(&json)
        .args(["--", "mtacheck"])
        .assert()
        .code(0);
}

/// A customer who can only send `regedit /e` output (here a real export, written by Wine's
/// `reg export` in UTF-16LE): the registry-backed facts come from it, the rest are unknown.
#[test]
fn a_registry_export_is_a_snapshot_of_its_registry_facts() {
    let export = fixture("exchange-node.reg");
    let out = kbguard()
        .args(["facts", "--json", "--facts"])
        .arg(&export)
        .assert()
        .code(0)
        .get_output()
        .stdout
        .clone();
    let facts: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let value = |name: &str| facts["facts"][name]["value"].clone();
    assert_eq!(facts["host"], "remote");
    assert_eq!(value("product.exchange.version"), "5.5.2653", "{facts}");
    assert_eq!(value("product.exchange.sp"), 4, "{facts}");
    assert_eq!(value("exchange.mdbdata"), r"C:\exchsrvr\mdbdata", "{facts}");
    assert_eq!(value("exchange.bin"), r"C:\exchsrvr\bin", "{facts}");
    assert_eq!(value("exchange.server_installed"), true, "{facts}");
    assert_eq!(value("os.family"), "windows", "{facts}");
    // Files are not in an export: cluster.node and isinteg's version stay unknown.
    let unknown = facts["unknown"].to_string();
    assert!(unknown.contains("\"cluster.node\""), "{facts}");
    assert!(unknown.contains("exchange.isinteg.version"), "{facts}");
    // A service's start type is registry-backed too.
    kbguard()
        .args(["facts", "--facts"])
        .arg(&export)
        .args(["--probe", "service.start_type:MSExchangeIS"])
        .assert()
        .code(0)
        .stdout(contains("service.start_type:MSExchangeIS = auto"));
    // With the one fact the export cannot hold, the check decides on Q178311 and asks for the
    // variable the export does not show.
    kbguard()
        .args(["check", "--no-cache", "--facts"])
        .arg(&export)
        .args(["--set", "cluster.node=true", "--", "isinteg", "-patch"])
        .assert()
        .code(3)
        .stdout(contains("[Q178311] undecided"))
        .stdout(contains("env._CLUSTER_NETWORK_NAME_"));
    kbguard()
        .args(["check", "--no-cache", "--facts"])
        .arg(&export)
        .args([
            "--set",
            "cluster.node=true",
            "--set",
            "env._CLUSTER_NETWORK_NAME_=",
            "--",
        ])
        .args(["isinteg", "-patch"])
        .assert()
        .code(1)
        .stdout(contains("[Q178311] triggered"));
}

#[test]
fn a_broken_registry_export_says_where() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.reg");
    fs::write(
        &bad,
        "REGEDIT4\n\n[HKEY_LOCAL_MACHINE\\SOFTWARE\\A]\n\"X\"=dword:nothex\n",
    )
    .unwrap();
    kbguard()
        .args(["facts", "--facts"])
        .arg(&bad)
        .assert()
        .code(2)
        .stderr(contains("bad.reg:4"))
        .stderr(contains("dword"));
    let not_reg = dir.path().join("notes.reg");
    fs::write(&not_reg, "hello").unwrap();
    kbguard()
        .args(["facts", "--facts"])
        .arg(&not_reg)
        .assert()
        .code(2)
        .stderr(contains("not a registry export"));
    // Over the size limit: refused from its metadata, never read.
    let huge = dir.path().join("huge.reg");
    fs::File::create(&huge)
        .unwrap()
        .set_len(kbguard::registry::FILE_LIMIT + 1)
        .unwrap();
    kbguard()
        .args(["facts", "--facts"])
        .arg(&huge)
        .assert()
        .code(2)
        .stderr(contains("over the"));
}

/// `facts --probe`: one fact, family facts included, with its source or why it is unknown.
#[test]
fn facts_probe_answers_one_fact_or_says_why_not() {
    let exe = fixture("pe/isinteg.exe");
    let family = format!("file.version:{}", exe.display());
    let out = kbguard()
        .args([
            "facts",
            "--json",
            "--probe",
            &family,
            "--probe",
            "exchange.edition",
        ])
        .assert()
        .code(3)
        .get_output()
        .stdout
        .clone();
    let answers: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(answers[0]["value"], "5.5.2653.23", "{answers}");
    assert!(answers[0]["source"]
        .as_str()
        .unwrap()
        .contains("file.version"));
    assert!(
        answers[1]["unknown"]
            .as_str()
            .unwrap()
            .contains("a person says it"),
        "{answers}"
    );
    kbguard()
        .args(["facts", "--probe", &family])
        .assert()
        .code(0)
        .stdout(contains("= 5.5.2653.23"));
    kbguard()
        .args(["facts", "--probe", "no.such.fact"])
        .assert()
        .code(3)
        .stdout(contains("unknown fact `no.such.fact`"));
}
