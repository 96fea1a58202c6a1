//! Issue 17, end to end in a real browser: Debian's headless Chromium, driven through
//! chromedriver's WebDriver protocol, against `kbguard serve`. Paste an error and find Q178311
//! first with its workaround, open the article page, upload the example cluster-node snapshot
//! with `isinteg -patch` and get "blocked" citing Q178311; keyboard only. A screenshot of each
//! page goes to `target/screenshots/`. Skipped locally without chromium; under CI it must run
//! (`.ci/run` installs chromium and chromium-driver, or sets `KBGUARD_SKIP_BROWSER` loudly).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{json, Value};

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";
const ENTER: &str = "\u{E007}";

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Kills a child process when dropped.
struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        self.0.kill().ok();
        self.0.wait().ok();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Browser {
    base: String,
    session: String,
}

impl Browser {
    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}/session/{}{path}", self.base, self.session);
        let req = ureq::request(method, &url).timeout(Duration::from_secs(60));
        let resp = match body {
            Some(b) => req.send_json(b),
            None => req.call(),
        };
        match resp {
            Ok(r) => r.into_json::<Value>().unwrap()["value"].clone(),
            Err(ureq::Error::Status(code, r)) => {
                panic!(
                    "{method} {path}: {code} {}",
                    r.into_string().unwrap_or_default()
                )
            }
            Err(e) => panic!("{method} {path}: {e}"),
        }
    }

    fn go(&self, url: &str) {
        self.call("POST", "/url", Some(json!({ "url": url })));
    }

    fn find(&self, css: &str) -> String {
        let v = self.call(
            "POST",
            "/element",
            Some(json!({"using": "css selector", "value": css})),
        );
        v[ELEMENT].as_str().unwrap().to_string()
    }

    fn keys(&self, element: &str, text: &str) {
        self.call(
            "POST",
            &format!("/element/{element}/value"),
            Some(json!({ "text": text })),
        );
    }

    fn source(&self) -> String {
        self.call("GET", "/source", None)
            .as_str()
            .unwrap_or("")
            .to_string()
    }

    /// Whether the page has finished loading (a page still arriving can show an element
    /// before its text).
    fn loaded(&self) -> bool {
        let state = self.call(
            "POST",
            "/execute/sync",
            Some(json!({"script": "return document.readyState", "args": []})),
        );
        state.as_str() == Some("complete")
    }

    /// Waits until the page has loaded and its source holds `text`.
    fn wait_for(&self, text: &str) -> String {
        let start = Instant::now();
        loop {
            let source = self.source();
            if source.contains(text) && self.loaded() {
                return self.source();
            }
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "no {text:?} in:\n{source}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn screenshot(&self, name: &str) {
        let png = self.call("GET", "/screenshot", None);
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(png.as_str().unwrap())
            .unwrap();
        let dir = root().join("target/screenshots");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("{name}.png")), bytes).unwrap();
    }
}

fn installed(program: &str) -> bool {
    Command::new(program)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn a_helpdesk_finds_the_article_and_checks_a_customer_snapshot_in_chromium() {
    let chromium = ["chromium", "chromium-browser"]
        .into_iter()
        .find(|c| installed(c));
    if chromium.is_none() || !installed("chromedriver") {
        let must =
            std::env::var_os("CI").is_some() && std::env::var_os("KBGUARD_SKIP_BROWSER").is_none();
        assert!(!must, "CI must have chromium and chromedriver");
        eprintln!("skipping the browser test: chromium or chromedriver is not installed");
        return;
    }
    // The index: the fixture archive (Q178311 among it).
    let index = tempfile::tempdir().unwrap();
    crate::common::import(&root().join("tests/fixtures/advisories"), index.path());
    let mut server = Command::new(assert_cmd::cargo::cargo_bin("kbguard"))
        .args(["serve", "--listen", "127.0.0.1:0", "--index"])
        .arg(index.path())
        .env_remove("KBGUARD_RULES")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(server.stderr.take().unwrap()).lines();
    let addr = loop {
        let line = lines.next().unwrap().unwrap();
        if let Some(rest) = line.split("serving http://").nth(1) {
            break rest.split('/').next().unwrap().to_string();
        }
    };
    // Keep reading the access log so the server never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    let _server = Guard(server);
    let port = free_port();
    let driver = Guard(
        Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let base = format!("http://127.0.0.1:{port}");
    let start = Instant::now();
    while ureq::get(&format!("{base}/status")).call().is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "chromedriver did not start"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let profile = tempfile::tempdir().unwrap();
    let args = [
        "--headless".to_string(),
        "--no-sandbox".into(),
        "--disable-gpu".into(),
        "--disable-quic".into(),
        "--no-first-run".into(),
        "--disable-background-networking".into(),
        "--disable-component-update".into(),
        "--disable-sync".into(),
        "--window-size=1200,900".into(),
        format!("--user-data-dir={}", profile.path().display()),
    ];
    let binary = PathBuf::from("/usr/bin").join(chromium.unwrap());
    let session: Value = ureq::post(&format!("{base}/session"))
        .timeout(Duration::from_secs(60))
        .send_json(json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": binary, "args": args}
        }}}))
        .unwrap()
        .into_json()
        .unwrap();
    let b = Browser {
        base: base.clone(),
        session: session["value"]["sessionId"].as_str().unwrap().to_string(),
    };
    let site = format!("http://{addr}");

    // Search: paste the error, keyboard only (Enter in the product box submits the form).
    b.go(&format!("{site}/"));
    let q = b.find("#q");
    b.keys(
        &q,
        "The private store could not be updated\nReason: JET_errKeyDuplicate",
    );
    let product = b.find("#product");
    b.keys(&product, ENTER);
    let page = b.wait_for("id=\"results\"");
    let first = page.find("<section class=\"hit\">").unwrap();
    assert!(
        page[first..].starts_with("<section class=\"hit\"><h2>1. <a href=\"/articles/Q178311\">"),
        "{page}"
    );
    assert!(page.contains("Workaround:"), "{page}");
    b.screenshot("search");

    // The article page, by the first result's link.
    let link = b.find("#results a[href=\"/articles/Q178311\"]");
    b.call("POST", &format!("/element/{link}/click"), Some(json!({})));
    b.wait_for("Curated rules that cite it");
    b.screenshot("article");

    // The host page: upload the customer's snapshot, type the command, press Enter.
    b.go(&format!("{site}/host"));
    let file = b.find("#snapshot");
    b.keys(
        &file,
        &root()
            .join("examples/exchange55-cluster-node.ron")
            .display()
            .to_string(),
    );
    let line = b.find("#line");
    b.keys(&line, "isinteg -patch");
    b.keys(&line, ENTER);
    let verdict = b.wait_for("id=\"verdict\"");
    assert!(verdict.contains("id=\"verdict\">blocked<"), "{verdict}");
    assert!(verdict.contains("/articles/Q178311"), "{verdict}");
    b.screenshot("host");
    b.call("DELETE", "", None);
    drop(driver);
}
