//! Issue 17: the web API and pages, in process (no port): every endpoint, every bad input, and
//! a re-import picked up without a restart.

use std::path::Path;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use kbguard::serve::{router, App};
use kbguard::{Origin, RuleSet};
use tower::ServiceExt;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// An index of the small fixture archive, and the app over it.
fn app() -> (tempfile::TempDir, Arc<App>) {
    let index = tempfile::tempdir().unwrap();
    crate::common::import(&root().join("tests/fixtures/advisories"), index.path());
    let set = RuleSet::load(&[Origin::Embedded]);
    let app = Arc::new(App::new(
        set,
        Some(index.path().to_path_buf()),
        Box::new(|_| {}),
    ));
    (index, app)
}

/// Sends one request; the status, the content type and the body.
fn send(app: &Arc<App>, req: Request<Body>) -> (StatusCode, String, Vec<u8>) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let response = router(Arc::clone(app)).oneshot(req).await.unwrap();
        let status = response.status();
        let ty = response
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap_or("").to_string())
            .unwrap_or_default();
        let body = response
            .into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec();
        (status, ty, body)
    })
}

fn get(app: &Arc<App>, uri: &str) -> (StatusCode, String, Vec<u8>) {
    send(app, Request::get(uri).body(Body::empty()).unwrap())
}

fn json(body: &[u8]) -> serde_json::Value {
    serde_json::from_slice(body)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(body)))
}

fn post(
    app: &Arc<App>,
    uri: &str,
    ty: &str,
    body: impl Into<Body>,
) -> (StatusCode, String, Vec<u8>) {
    send(
        app,
        Request::post(uri)
            .header("content-type", ty)
            .body(body.into())
            .unwrap(),
    )
}

#[test]
fn health_lookup_and_articles_answer_json() {
    let (_index, app) = app();
    let (status, _, body) = get(&app, "/api/health");
    assert_eq!(status, StatusCode::OK);
    let health = json(&body);
    assert!(health["generation"].as_str().unwrap().starts_with("gen-"));
    assert_eq!(health["articles"], 4);
    let (status, ty, body) = get(
        &app,
        "/api/lookup?q=Reason%3A%20JET_errKeyDuplicate&limit=3",
    );
    assert_eq!(status, StatusCode::OK);
    assert!(ty.starts_with("application/json"));
    let hits = json(&body);
    assert_eq!(hits["hits"][0]["id"], "Q178311");
    assert!(hits["hits"][0]["workaround"]
        .as_str()
        .unwrap()
        .contains("_CLUSTER_NETWORK_NAME_"));
    let (status, _, body) = get(&app, "/api/articles/q999021");
    assert_eq!(status, StatusCode::OK);
    assert_eq!(json(&body)["article"]["id"], "Q999021");
    let (_, _, body) = get(&app, "/api/articles/Q178311");
    assert_eq!(
        json(&body)["rules"][0],
        "exchange.isinteg-patch-cluster-network-name"
    );
}

#[test]
fn check_evaluates_the_snapshot_sent_never_the_server() {
    let (_index, app) = app();
    let snapshot =
        std::fs::read_to_string(root().join("examples/exchange55-cluster-node.ron")).unwrap();
    let body = serde_json::json!({"command": ["isinteg", "-patch"], "snapshot": snapshot});
    let (status, _, out) = post(&app, "/api/check", "application/json", body.to_string());
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&out));
    let v = json(&out);
    assert_eq!(v["verdict"], "blocked");
    assert_eq!(v["exit_code"], 1);
    assert!(v["report"]["evaluations"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["kb"][0] == "Q178311" && e["outcome"] == "triggered"));
    // The same with the line in cmd syntax and the variable set on it: clear of Q178311.
    let body = serde_json::json!({
        "line": "set _CLUSTER_NETWORK_NAME_=EXCLUSTER && isinteg -patch",
        "shell": "cmd",
        "snapshot": snapshot,
    });
    let (_, _, out) = post(&app, "/api/check", "application/json", body.to_string());
    let v = json(&out);
    assert!(
        !v["commands"][0]["report"]["evaluations"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["kb"][0] == "Q178311" && e["outcome"] == "triggered"),
        "{v}"
    );
}

#[test]
fn bad_requests_get_a_4xx_in_json_and_the_server_keeps_serving() {
    let (_index, app) = app();
    let cases: Vec<(Request<Body>, StatusCode)> = vec![
        (
            Request::get("/api/lookup").body(Body::empty()).unwrap(),
            StatusCode::BAD_REQUEST,
        ),
        (
            Request::get("/api/lookup?limit=x&q=a")
                .body(Body::empty())
                .unwrap(),
            StatusCode::BAD_REQUEST,
        ),
        (
            Request::get("/api/articles/..%2F..%2Fetc%2Fpasswd")
                .body(Body::empty())
                .unwrap(),
            StatusCode::BAD_REQUEST,
        ),
        (
            Request::get("/api/articles/Q9999999")
                .body(Body::empty())
                .unwrap(),
            StatusCode::NOT_FOUND,
        ),
        (
            Request::get("/api/nothing").body(Body::empty()).unwrap(),
            StatusCode::NOT_FOUND,
        ),
        (
            Request::post("/api/check")
                .body(Body::from("{not json"))
                .unwrap(),
            StatusCode::BAD_REQUEST,
        ),
        (
            Request::post("/api/check")
                .body(Body::from(vec![0xff, 0xfe, 0x00]))
                .unwrap(),
            StatusCode::BAD_REQUEST,
        ),
        (
            Request::post("/api/check")
                .body(Body::from(
                    r#"{"command": ["x"], "snapshot": "(facts: {\"nope\": 1})"}"#,
                ))
                .unwrap(),
            StatusCode::BAD_REQUEST,
        ),
        (
            Request::post("/api/check")
                .body(Body::from(r#"{"command": ["x"], "unknown_field": 1}"#))
                .unwrap(),
            StatusCode::BAD_REQUEST,
        ),
        (
            Request::post("/api/check")
                .body(Body::from(vec![b' '; 3 << 20]))
                .unwrap(),
            StatusCode::PAYLOAD_TOO_LARGE,
        ),
        (
            Request::delete("/api/health").body(Body::empty()).unwrap(),
            StatusCode::METHOD_NOT_ALLOWED,
        ),
    ];
    for (req, want) in cases {
        let what = format!("{} {}", req.method(), req.uri());
        let (status, _, body) = send(&app, req);
        assert_eq!(status, want, "{what}: {}", String::from_utf8_lossy(&body));
        if status != StatusCode::PAYLOAD_TOO_LARGE && status != StatusCode::METHOD_NOT_ALLOWED {
            let v = json(&body);
            assert_eq!(v["status"], want.as_u16(), "{what}");
            assert!(v["error"].is_string(), "{what}");
        }
    }
    // A query past the limit (a 10 MB one is refused by the HTTP layer itself: the process
    // test in cli.rs sends one over a socket).
    let long = format!("/api/lookup?q={}", "a".repeat(60 << 10));
    let (status, _, _) = get(&app, &long);
    assert_eq!(status, StatusCode::URI_TOO_LONG);
    // Still serving.
    assert_eq!(get(&app, "/api/health").0, StatusCode::OK);
}

#[test]
fn pages_work_without_javascript() {
    let (_index, app) = app();
    let (status, ty, body) = get(&app, "/?q=Reason%3A+JET_errKeyDuplicate");
    assert_eq!(status, StatusCode::OK);
    assert!(ty.starts_with("text/html"));
    let html = String::from_utf8(body).unwrap();
    assert!(
        html.contains("<a href=\"/articles/Q178311\">Q178311"),
        "{html}"
    );
    assert!(html.contains("Workaround:"));
    assert!(!html.contains("<script"), "no JavaScript needed");
    let (status, _, body) = get(&app, "/articles/Q999021");
    assert_eq!(status, StatusCode::OK);
    assert!(String::from_utf8(body)
        .unwrap()
        .contains("XCOPY /S Skips Encrypted Files"));
    // The host page: a snapshot uploaded as a file, and the command.
    let snapshot =
        std::fs::read_to_string(root().join("examples/exchange55-cluster-node.ron")).unwrap();
    let boundary = "XyZ";
    let form = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"snapshot\"; filename=\"host.ron\"\r\nContent-Type: application/octet-stream\r\n\r\n{snapshot}\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"line\"\r\n\r\nisinteg -patch\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"shell\"\r\n\r\ncmd\r\n--{boundary}--\r\n"
    );
    let (status, _, body) = post(
        &app,
        "/host",
        &format!("multipart/form-data; boundary={boundary}"),
        form,
    );
    let html = String::from_utf8(body).unwrap();
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains("id=\"verdict\">blocked<"), "{html}");
    assert!(html.contains("/articles/Q178311"), "{html}");
    // Escaped, always.
    let (_, _, body) = get(&app, "/?q=%3Cscript%3Ealert(1)%3C%2Fscript%3E");
    assert!(!String::from_utf8(body).unwrap().contains("<script>alert"));
}

#[test]
fn a_reimport_is_picked_up_without_a_restart() {
    let (index, app) = app();
    let (_, _, body) = get(&app, "/api/health");
    let before = json(&body)["generation"].as_str().unwrap().to_string();
    std::thread::sleep(std::time::Duration::from_millis(1100));
    crate::common::import(&root().join("tests/fixtures/kbarchive"), index.path());
    let (_, _, body) = get(&app, "/api/health");
    let after = json(&body);
    assert_ne!(after["generation"].as_str().unwrap(), before);
    assert_eq!(after["articles"], 6);
    let (_, _, body) = get(&app, "/api/articles/Q999001");
    assert_eq!(json(&body)["article"]["id"], "Q999001");
}

/// The server as a process: it says where it listens, answers a hostile 10 MB request with a
/// 4xx and keeps serving, logs one line per request, and stops gracefully on SIGTERM.
#[cfg(unix)]
#[test]
fn the_server_process_survives_hostile_requests_and_stops_on_sigterm() {
    use std::io::{BufRead, BufReader, Read, Write};
    use std::net::TcpStream;
    let (index, _app) = app();
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("kbguard"))
        .args(["serve", "--listen", "127.0.0.1:0", "--index"])
        .arg(index.path())
        .env_remove("KBGUARD_RULES")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    let addr = loop {
        line.clear();
        assert!(
            stderr.read_line(&mut line).unwrap() > 0,
            "serve said nothing"
        );
        if let Some(rest) = line.split("serving http://").nth(1) {
            break rest.split('/').next().unwrap().to_string();
        }
    };
    let request = |raw: &[u8]| -> String {
        let mut s = TcpStream::connect(&addr).unwrap();
        s.write_all(raw).ok();
        let mut out = String::new();
        s.read_to_string(&mut out).ok();
        out
    };
    let huge = format!(
        "GET /api/lookup?q={} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        "a".repeat(10 << 20)
    );
    let answer = request(huge.as_bytes());
    assert!(
        answer.starts_with("HTTP/1.1 4"),
        "{}",
        &answer[..answer.len().min(200)]
    );
    let answer = request(b"GET /api/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(i32::try_from(child.id()).unwrap()),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let status = child.wait().unwrap();
    assert!(status.success(), "{status}");
    let mut rest = String::new();
    stderr.read_to_string(&mut rest).unwrap();
    assert!(rest.contains("GET /api/health 200"), "{rest}");
    assert!(rest.contains("kbguard: stopped"), "{rest}");
}
