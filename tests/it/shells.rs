//! Issue 18: the shell hooks, driven as a person would: real interactive bash, zsh and fish in
//! tmux, a rules directory whose test rule blocks `isinteg -patch`, and a stub `isinteg` on
//! PATH that writes a file when it runs. A shell that is not installed is skipped locally;
//! under CI it must be there (`.ci/run` installs them, or sets `KBGUARD_SKIP_SHELLS` with a loud
//! message where it truly cannot).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::common::kbguard;

const RULE: &str = r#"RuleFile(schema: 1, rules: [Rule(
    id: "hook.isinteg-patch", revision: 1, kb: [(id: "Q178311", date: "2002-08-06")],
    title: "test rule: isinteg -patch is blocked", severity: block, reviewed: "2026-11-26",
    intent: Intent(program: "isinteg", flags: ["-patch"]),
    symptoms: [(message: "test", paraphrase: true)], workaround: (text: "do not"),
    tests: [(name: "n", command: ["isinteg", "-patch"], expect: triggered)],
)])"#;

/// A shell in tmux with the hook loaded, in a home of its own.
struct Session {
    socket: String,
    home: tempfile::TempDir,
}

impl Session {
    /// Starts `shell` (its argv) with `env` added, and loads the hook.
    fn start(shell: &str, env: &[(&str, &str)]) -> Session {
        let home = tempfile::tempdir().unwrap();
        let bin = home.path().join("bin");
        let rules = home.path().join("rules");
        fs::create_dir_all(&bin).unwrap();
        fs::create_dir_all(&rules).unwrap();
        fs::write(rules.join("block.ron"), RULE).unwrap();
        let marker = home.path().join("ran");
        write_script(
            &bin.join("isinteg"),
            &format!("echo ran > '{}'\n", marker.display()),
        );
        let kbguard_bin = assert_cmd::cargo::cargo_bin("kbguard");
        let mut vars = vec![
            format!("HOME={}", home.path().display()),
            "TERM=xterm".to_string(),
            format!("PATH={}:/usr/bin:/bin", bin.display()),
            format!("KBGUARD_RULES={}", rules.display()),
            format!("KBGUARD_CACHE_DIR={}", home.path().join("cache").display()),
            format!("XDG_DATA_HOME={}", home.path().join("data").display()),
        ];
        vars.extend(env.iter().map(|(k, v)| format!("{k}={v}")));
        let socket = format!("kbguard-test-{}-{}", std::process::id(), rand_suffix());
        let argv: Vec<&str> = shell.split(' ').collect();
        let status = Command::new("tmux")
            .args([
                "-L",
                &socket,
                "new-session",
                "-d",
                "-x",
                "200",
                "-y",
                "50",
                "env",
                "-i",
            ])
            .args(&vars)
            .args(&argv)
            .status()
            .unwrap();
        assert!(status.success());
        let s = Session { socket, home };
        s.wait_for(|pane| !pane.trim().is_empty(), "a prompt");
        let load = if shell.starts_with("fish") {
            format!("{} init fish | source", kbguard_bin.display())
        } else {
            format!("eval \"$({} init {})\"", kbguard_bin.display(), argv[0])
        };
        s.type_line(&load);
        std::thread::sleep(Duration::from_millis(500));
        s
    }

    fn type_line(&self, line: &str) {
        let status = Command::new("tmux")
            .args(["-L", &self.socket, "send-keys", "-t", "0", "-l", line])
            .status()
            .unwrap();
        assert!(status.success());
        Command::new("tmux")
            .args(["-L", &self.socket, "send-keys", "-t", "0", "Enter"])
            .status()
            .unwrap();
    }

    fn pane(&self) -> String {
        let out = Command::new("tmux")
            .args(["-L", &self.socket, "capture-pane", "-p", "-t", "0"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn ran(&self) -> bool {
        self.home.path().join("ran").exists()
    }

    /// Waits (at most 10 s) until `done` holds for the pane; the pane.
    fn wait_for(&self, done: impl Fn(&str) -> bool, what: &str) -> String {
        let start = Instant::now();
        loop {
            let pane = self.pane();
            if done(&pane) {
                return pane;
            }
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "no {what} after 10 s; the pane:\n{pane}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .status()
            .ok();
    }
}

fn rand_suffix() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

fn write_script(path: &Path, body: &str) {
    use std::os::unix::fs::PermissionsExt;
    fs::write(path, format!("#!/bin/sh\n{body}")).unwrap();
    fs::set_permissions(path, fs::Permissions::from_mode(0o755)).unwrap();
}

/// Whether a missing shell is a failure: under CI, unless `.ci/run` could not install it.
fn must_have() -> bool {
    std::env::var_os("CI").is_some() && std::env::var_os("KBGUARD_SKIP_SHELLS").is_none()
}

/// The shells to drive: each installed one (all of them under CI).
fn shells() -> Vec<&'static str> {
    let have = |name: &str| {
        Command::new("sh")
            .args(["-c", &format!("command -v {name}")])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if !have("tmux") {
        assert!(!must_have(), "CI must have tmux");
        eprintln!("skipping the shell hooks: tmux is not installed");
        return Vec::new();
    }
    [
        "bash --norc --noprofile -i",
        "zsh -f -i",
        "fish --no-config -i",
    ]
    .into_iter()
    .filter(|s| {
        let name = s.split(' ').next().unwrap_or("");
        let ok = have(name);
        if !ok {
            assert!(!must_have(), "CI must have {name}");
            eprintln!("skipping {name}: not installed");
        }
        ok
    })
    .collect()
}

#[test]
fn a_blocked_line_does_not_run_and_stays_in_the_editor() {
    for shell in shells() {
        let s = Session::start(shell, &[]);
        s.type_line("isinteg -patch");
        let pane = s.wait_for(|p| p.contains("kbguard: blocked"), "block message");
        std::thread::sleep(Duration::from_millis(300));
        assert!(!s.ran(), "{shell}: the blocked command ran:\n{pane}");
        assert!(pane.contains("hook.isinteg-patch"), "{shell}:\n{pane}");
        // The line is still there to fix: the last line of the pane holds it.
        let last = s
            .pane()
            .lines()
            .rfind(|l| !l.trim().is_empty())
            .unwrap_or("")
            .to_string();
        assert!(last.ends_with("isinteg -patch"), "{shell}: {last:?}");
    }
}

#[test]
fn a_clear_line_runs() {
    for shell in shells() {
        let s = Session::start(shell, &[]);
        s.type_line("isinteg -test");
        s.wait_for(|_| s.ran(), "run of isinteg -test");
    }
}

#[test]
fn kbguard_disable_lets_it_run() {
    for shell in shells() {
        let s = Session::start(shell, &[("KBGUARD_DISABLE", "1")]);
        s.type_line("isinteg -patch");
        s.wait_for(|_| s.ran(), "run with KBGUARD_DISABLE=1");
    }
}

#[test]
fn a_broken_or_slow_kbguard_lets_it_run_with_a_warning() {
    let stubs = tempfile::tempdir().unwrap();
    let broken = stubs.path().join("exit2");
    let slow = stubs.path().join("slow");
    write_script(&broken, "exit 2\n");
    write_script(&slow, "sleep 30\n");
    for shell in shells() {
        for (stub, extra) in [
            (&broken, None),
            (&slow, Some(("KBGUARD_HOOK_TIMEOUT", "1"))),
        ] {
            let stub = stub.display().to_string();
            let mut env = vec![("KBGUARD_BIN", stub.as_str())];
            env.extend(extra);
            let s = Session::start(shell, &env);
            s.type_line("isinteg -patch");
            let pane = s.wait_for(|_| s.ran(), "run despite a broken kbguard");
            assert!(
                s.pane().contains("kbguard: WARNING: the check failed"),
                "{shell} {stub}:\n{pane}"
            );
        }
    }
}

#[test]
fn shell_install_adds_one_block_and_uninstall_removes_it() {
    let home = tempfile::tempdir().unwrap();
    let rc: PathBuf = home.path().join("rc");
    fs::write(&rc, "export EDITOR=vi\n").unwrap();
    let shell = |args: &[&str]| {
        let mut cmd = kbguard();
        cmd.arg("shell").args(args).arg("bash").arg("--rc").arg(&rc);
        cmd
    };
    shell(&["install", "--dry-run"]).assert().code(0);
    assert_eq!(fs::read_to_string(&rc).unwrap(), "export EDITOR=vi\n");
    shell(&["install"]).assert().code(0);
    shell(&["install"]).assert().code(0);
    let text = fs::read_to_string(&rc).unwrap();
    assert_eq!(
        text.matches("# >>> kbguard shell hook >>>").count(),
        1,
        "{text}"
    );
    assert!(text.contains("init bash)\""), "{text}");
    shell(&["status"]).assert().code(0);
    shell(&["uninstall"]).assert().code(0);
    assert_eq!(
        fs::read_to_string(&rc).unwrap().trim_end(),
        "export EDITOR=vi"
    );
    shell(&["status"]).assert().code(1);
}

#[test]
fn the_powershell_hook_reads_as_it_did() {
    let out = kbguard().args(["init", "powershell"]).output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    // The path of the binary differs between machines: the snapshot holds a placeholder.
    let bin = assert_cmd::cargo::cargo_bin("kbguard")
        .display()
        .to_string();
    insta::assert_snapshot!("powershell_hook", text.replace(&bin, "KBGUARD"));
}
