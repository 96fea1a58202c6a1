//! Helpers shared by the integration tests.

use std::path::Path;

use assert_cmd::Command;

/// What of the caller's environment could change what kbguard does: rule, index and cache
/// locations, colour, and the variable the cluster rule reads.
const INHERITED: &[&str] = &[
    "KBGUARD_RULES",
    "KBGUARD_INDEX",
    "KBGUARD_CACHE_DIR",
    "NO_COLOR",
    "FORCE_COLOR",
    "CLICOLOR_FORCE",
    "_CLUSTER_NETWORK_NAME_",
];

/// The one way tests start kbguard: the built binary, with none of [`INHERITED`].
pub fn kbguard() -> Command {
    let mut cmd = Command::cargo_bin("kbguard").unwrap();
    for var in INHERITED {
        cmd.env_remove(var);
    }
    cmd
}

/// [`kbguard`] under a shell's `ulimit -v` (1 GiB of address space): an unbounded allocation
/// aborts it, failing the test.
#[cfg(unix)]
pub fn kbguard_bounded() -> Command {
    let mut cmd = Command::new("bash");
    cmd.arg("-c")
        .arg("ulimit -v 1048576; exec \"$0\" \"$@\"")
        .arg(assert_cmd::cargo::cargo_bin("kbguard"));
    for var in INHERITED {
        cmd.env_remove(var);
    }
    cmd
}

/// Imports the KB archive under `archive` into the index `index`, which must succeed.
pub fn import(archive: &Path, index: &Path) {
    kbguard()
        .args(["kb", "import"])
        .arg(archive)
        .arg("--index")
        .arg(index)
        .assert()
        .code(0);
}

/// [`kbguard`] whose default index location points into `data_home`, so no archive is found
/// there unless a test puts one.
pub fn kbguard_in(data_home: &Path) -> Command {
    let mut cmd = kbguard();
    cmd.env("XDG_DATA_HOME", data_home);
    cmd
}

/// The loaded rules, as `kbguard rules --json` lists them.
pub fn rules(data_home: &Path) -> Vec<serde_json::Value> {
    let out = kbguard_in(data_home)
        .args(["rules", "--json"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    v["rules"].as_array().unwrap().clone()
}

/// Asserts that looking up each rule's main (first) symptom gives one of the rule's articles as
/// the first hit, from the rule itself; with `index`, the archive is searched too.
pub fn assert_rules_found_by_main_symptom(data_home: &Path, index: Option<&Path>) {
    let rules = rules(data_home);
    let queries: Vec<String> = rules
        .iter()
        .map(|r| {
            let message = r["symptoms"][0]["message"].as_str().unwrap_or("");
            message.split_whitespace().collect::<Vec<_>>().join(" ")
        })
        .collect();
    let mut cmd = kbguard_in(data_home);
    cmd.args(["lookup", "--batch", "-", "--json", "--limit", "3"]);
    if let Some(index) = index {
        cmd.arg("--index").arg(index);
    }
    let out = cmd
        .write_stdin(queries.join("\n") + "\n")
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let answers: Vec<serde_json::Value> = String::from_utf8(out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(answers.len(), rules.len());
    for (rule, answer) in rules.iter().zip(&answers) {
        let cited: Vec<&str> = rule["kb"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["id"].as_str().unwrap())
            .collect();
        let first = answer["hits"][0]["id"].as_str().unwrap_or("(none)");
        assert!(
            cited.contains(&first),
            "{}: first hit {first}, cites {cited:?}",
            rule["id"]
        );
        assert_eq!(answer["hits"][0]["source"], "rule", "{}", rule["id"]);
    }
}
