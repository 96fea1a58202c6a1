//! On Windows (in CI: the cross-built test binary under Wine, `.ci/wine.sh`): the registry,
//! file-version, cluster and service probes against an Exchange 5.5 cluster node that the test
//! sets up itself. Setting it up writes HKLM and `%SystemRoot%`, so it runs only where
//! `KBGUARD_DISPOSABLE_PREFIX=1` says the machine is a throwaway Wine prefix; elsewhere it says
//! so and checks nothing.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::common::kbguard;

const SETUP: &str = r"HKLM\SOFTWARE\Microsoft\Exchange\Setup";
const STORE: &str = r"HKLM\SYSTEM\CurrentControlSet\Services\MSExchangeIS\ParametersPrivate";
const SERVICE: &str = "KbguardTestSvc";

fn disposable() -> bool {
    let yes = std::env::var("KBGUARD_DISPOSABLE_PREFIX").is_ok_and(|v| v == "1");
    if !yes {
        eprintln!("SKIPPED: set KBGUARD_DISPOSABLE_PREFIX=1 in a throwaway Wine prefix to run it");
    }
    yes
}

fn run(program: &str, args: &[&str]) {
    let status = Command::new(program).args(args).status().unwrap();
    assert!(status.success(), "{program} {args:?}: {status}");
}

/// The cluster node of Q178311: Exchange 5.5 SP4 in C:\exchsrvr, its private store's path, the
/// cluster database, isinteg.exe (the fixture PE, version 5.5.2653.23), one stopped service.
fn set_up_exchange_cluster_node() -> PathBuf {
    let reg = |key: &str, value: &str, ty: &str, data: &str| {
        run(
            "reg",
            &["add", key, "/v", value, "/t", ty, "/d", data, "/f"],
        );
    };
    reg(SETUP, "NewestBuild", "REG_DWORD", "2653");
    reg(SETUP, "Services", "REG_SZ", r"C:\exchsrvr");
    reg(STORE, "DB Path", "REG_SZ", r"C:\exchsrvr\mdbdata\priv.edb");
    let root = PathBuf::from(std::env::var("SystemRoot").unwrap());
    std::fs::create_dir_all(root.join("Cluster")).unwrap();
    std::fs::write(root.join(r"Cluster\CLUSDB"), b"").unwrap();
    let bin = Path::new(r"C:\exchsrvr\bin");
    std::fs::create_dir_all(bin).unwrap();
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/pe/isinteg.exe");
    std::fs::copy(fixture, bin.join("isinteg.exe")).unwrap();
    // `sc create` fails when the service exists from an earlier run: that is fine.
    let _ = Command::new("sc")
        .args([
            "create",
            SERVICE,
            "binpath=",
            r"C:\windows\system32\notepad.exe",
            "start=",
            "demand",
        ])
        .status();
    root
}

fn json(args: &[&str], code: i32) -> Value {
    let out = kbguard()
        .args(args)
        .assert()
        .code(code)
        .get_output()
        .stdout
        .clone();
    serde_json::from_slice(&out).unwrap()
}

#[test]
fn an_exchange_cluster_node_is_read_from_its_registry_files_and_services() {
    if !disposable() {
        return;
    }
    set_up_exchange_cluster_node();
    let facts = json(&["facts", "--json"], 0);
    let value = |name: &str| facts["facts"][name]["value"].clone();
    let source = |name: &str| {
        facts["facts"][name]["source"]
            .as_str()
            .unwrap_or("")
            .to_string()
    };
    assert_eq!(value("product.exchange.version"), "5.5.2653", "{facts}");
    assert!(
        source("product.exchange.version").contains("NewestBuild"),
        "{facts}"
    );
    assert_eq!(value("product.exchange.sp"), 4, "{facts}");
    assert_eq!(value("cluster.node"), true, "{facts}");
    assert_eq!(value("exchange.mdbdata"), r"C:\exchsrvr\mdbdata", "{facts}");
    assert_eq!(value("exchange.bin"), r"C:\exchsrvr\bin", "{facts}");
    assert_eq!(value("exchange.isinteg.version"), "5.5.2653.23", "{facts}");
    assert_eq!(value("exchange.server_installed"), true, "{facts}");
    assert_eq!(value("os.family"), "windows", "{facts}");
    assert!(value("os.version").is_string(), "{facts}");
    // Facts no probe can read are listed for a person to give.
    let unknown = facts["unknown"].to_string();
    assert!(unknown.contains("exchange.restore.kind"), "{facts}");

    // No --set at all: the host's own facts block isinteg -patch with Q178311...
    let check = json(
        &["check", "--json", "--no-cache", "--", "isinteg", "-patch"],
        1,
    );
    assert_eq!(outcome(&check, "Q178311"), "triggered", "{check}");
    // ...and with _CLUSTER_NETWORK_NAME_ set it is not among the findings (triggered or
    // undecided): the rule is clear.
    let out = kbguard()
        .env("_CLUSTER_NETWORK_NAME_", "EXCLUSTER")
        .args(["check", "--json", "--no-cache", "--", "isinteg", "-patch"])
        .output()
        .unwrap();
    let check: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(outcome(&check, "Q178311"), "clear", "{check}");
}

/// The outcome of the rule citing `kb` in a `check --json` report.
fn outcome(check: &Value, kb: &str) -> String {
    check["report"]["evaluations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kb"].to_string().contains(kb))
        .map_or_else(
            || "absent".into(),
            |e| e["outcome"].as_str().unwrap().to_string(),
        )
}

#[test]
fn services_are_read_from_the_service_control_manager_and_the_registry() {
    if !disposable() {
        return;
    }
    set_up_exchange_cluster_node();
    // Started here so that one service is surely running (`sc start` of a running one fails).
    let _ = Command::new("sc").args(["start", "RpcSs"]).status();
    let running = format!("service.running:{SERVICE}");
    let start = format!("service.start_type:{SERVICE}");
    let answers = json(
        &[
            "facts",
            "--json",
            "--probe",
            &running,
            "--probe",
            &start,
            "--probe",
            "service.running:RpcSs",
            "--probe",
            "service.running:NoSuchServiceHere",
            "--probe",
            "service.start_type:NoSuchServiceHere",
        ],
        3,
    );
    let values: Vec<Value> = answers
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["value"].clone())
        .collect();
    assert_eq!(values[0], false, "{answers}");
    assert_eq!(values[1], "demand", "{answers}");
    assert_eq!(values[2], true, "{answers}");
    assert_eq!(values[3], false, "{answers}");
    assert!(
        answers[4]["unknown"]
            .as_str()
            .unwrap()
            .contains("not installed"),
        "{answers}"
    );
}

#[test]
fn missing_keys_and_huge_values_are_unknown_with_a_reason() {
    if !disposable() {
        return;
    }
    use kbguard::probe::Prober;
    let key = r"HKLM\SOFTWARE\KbguardTestHuge";
    // A 10 MB REG_SZ (5 M UTF-16 units): over the limit, refused without being copied.
    let (created, _) = winreg::RegKey::predef(winreg::enums::HKEY_LOCAL_MACHINE)
        .create_subkey(r"SOFTWARE\KbguardTestHuge")
        .unwrap();
    created.set_value("Huge", &"x".repeat(5 << 20)).unwrap();
    created.set_value("Small", &"fine").unwrap();
    let live = kbguard::probe::LocalHost.registry().unwrap();
    let why = live.value(key, "Huge").unwrap_err();
    assert!(why.contains("limit"), "{why}");
    let why = live.value(r"HKLM\SOFTWARE\NoSuchKeyHere", "x").unwrap_err();
    assert!(!why.is_empty());
    assert_eq!(live.key_exists(r"HKLM\SOFTWARE\NoSuchKeyHere"), Ok(false));
}
