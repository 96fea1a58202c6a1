//! `kbguard serve`: the helpdesk's web page and JSON API, over the same library calls and the
//! same JSON types as the CLI (docs/serve.md).
//!
//! Owns the routes, their limits and the archive's live generation. Pages are rendered on the
//! server (forms, no JavaScript needed); the API answers JSON, errors included (`{"error",
//! "status"}`, never a trace). A re-import is picked up without a restart: each request looks
//! at the index's `CURRENT` and opens a new generation when it changed, while requests already
//! running finish on the one they started with. The library never prints: the access log goes
//! to the caller's function.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{DefaultBodyLimit, Multipart, Path as UrlPath, Query, Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;

use crate::advisories::{Advisories, DEFAULT_LIMIT};
use crate::archive::{self, Advice, Archive, ArchiveError};
use crate::cmdline::{self, Shell};
use crate::facts::{self, FactSet};
use crate::lookup::{Curated, Hit, Lookup, LookupOptions};
use crate::output::{CheckOutput, LookupContext, LookupOutput};
use crate::preflight;
use crate::products::ProductQuery;
use crate::ruleset::{CompiledRules, RuleSet};

/// The largest request body: a snapshot is a few kilobytes; a `.reg` export rarely 1 MB.
pub const MAX_BODY: usize = 2 << 20;
/// The longest query (a pasted log excerpt fits; a 10 MB one does not).
pub const MAX_QUERY: usize = 16 << 10;
/// Hits per page, and at most.
const DEFAULT_HITS: usize = 10;
const MAX_HITS: usize = 50;

/// One line of the access log.
#[derive(Clone, Debug)]
pub struct Access {
    /// `GET`, `POST`.
    pub method: String,
    /// The path, without the query.
    pub path: String,
    /// The status sent.
    pub status: u16,
    /// How long it took, in milliseconds.
    pub millis: f64,
}

/// What the server serves: the rules, and the archive index whose live generation it follows.
pub struct App {
    rules: RuleSet,
    compiled: CompiledRules,
    /// The curated symptoms prepared without an archive's weights.
    curated: Curated,
    root: Option<PathBuf>,
    live: RwLock<Option<Arc<Generation>>>,
    log: Box<dyn Fn(&Access) + Send + Sync>,
    /// Turns at ranking and evaluation: one per core.
    workers: Arc<tokio::sync::Semaphore>,
}

/// One opened generation of the archive, with the curated symptoms prepared under its weights.
struct Generation {
    name: String,
    archive: Archive,
    advice: Option<Advice>,
    curated: Curated,
}

impl App {
    /// Serves `rules` and the archive under `root` (none: the rules and records alone);
    /// `log` receives one [`Access`] per request.
    pub fn new(
        rules: RuleSet,
        root: Option<PathBuf>,
        log: Box<dyn Fn(&Access) + Send + Sync>,
    ) -> App {
        App {
            compiled: rules.compile(),
            curated: Curated::new(&rules, &crate::analysis::Uniform),
            rules,
            root,
            live: RwLock::new(None),
            log,
            workers: Arc::new(tokio::sync::Semaphore::new(
                std::thread::available_parallelism().map_or(1, std::num::NonZero::get) * 2,
            )),
        }
    }

    /// The live generation, opened again when `CURRENT` names another one than last time.
    fn generation(&self) -> Option<Arc<Generation>> {
        let root = self.root.as_ref()?;
        let current = std::fs::read_to_string(root.join("CURRENT")).ok()?;
        let name = current.trim().to_string();
        if let Ok(live) = self.live.read() {
            if let Some(g) = live.as_ref().filter(|g| g.name == name) {
                return Some(Arc::clone(g));
            }
        }
        let archive = Archive::open(root).ok()?;
        let advice = Advice::open(root).ok();
        let curated = Curated::new(&self.rules, &archive);
        let fresh = Arc::new(Generation {
            name,
            archive,
            advice,
            curated,
        });
        if let Ok(mut live) = self.live.write() {
            *live = Some(Arc::clone(&fresh));
        }
        Some(fresh)
    }
}

/// The routes, limits and access log around `app`.
pub fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/", get(search_page))
        .route("/articles/{id}", get(article_page))
        .route("/host", get(host_form).post(host_page))
        .route("/api/health", get(health))
        .route("/api/lookup", get(api_lookup))
        .route("/api/articles/{id}", get(api_article))
        .route("/api/check", axum::routing::post(api_check))
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(middleware::from_fn_with_state(Arc::clone(&app), access_log))
        .with_state(app)
}

async fn access_log(State(app): State<Arc<App>>, req: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = req.method().to_string();
    let path = req.uri().path().to_string();
    let too_long = req.uri().query().is_some_and(|q| q.len() > MAX_QUERY * 3);
    let mut response = if too_long {
        error(
            req.uri().path(),
            StatusCode::URI_TOO_LONG,
            "the query is too long",
        )
    } else {
        next.run(req).await
    };
    response.headers_mut().insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    (app.log)(&Access {
        method,
        path,
        status: response.status().as_u16(),
        millis: start.elapsed().as_secs_f64() * 1000.0,
    });
    response
}

/// An error: JSON under `/api/`, a page elsewhere.
fn error(path: &str, status: StatusCode, message: &str) -> Response {
    if path.starts_with("/api/") {
        let body = serde_json::json!({"error": message, "status": status.as_u16()});
        (status, Json(body)).into_response()
    } else {
        let body = page(
            "kbguard",
            &format!("<p class=\"error\">{}</p>", esc(message)),
        );
        (status, Html(body)).into_response()
    }
}

async fn not_found(method: Method, uri: axum::http::Uri) -> Response {
    let status = if method == Method::GET || method == Method::POST {
        StatusCode::NOT_FOUND
    } else {
        StatusCode::METHOD_NOT_ALLOWED
    };
    error(uri.path(), status, "no such page")
}

/// Runs blocking work (ranking, evaluation) off the async threads, at most one per core at a
/// time: the rest wait their turn in order (the semaphore is fair), rather than dozens of
/// threads time-slicing two cores, which made every request slow and a few very slow.
async fn blocking<T: Send + 'static>(
    app: Arc<App>,
    work: impl FnOnce(&App) -> T + Send + 'static,
) -> Option<T> {
    let permit = Arc::clone(&app.workers).acquire_owned().await.ok()?;
    tokio::task::spawn_blocking(move || {
        let _turn = permit;
        work(&app)
    })
    .await
    .ok()
}

// ---- JSON API ----

async fn health(State(app): State<Arc<App>>) -> Response {
    let generation = app.generation();
    Json(serde_json::json!({
        "status": "ok",
        "kbguard": env!("CARGO_PKG_VERSION"),
        "generation": generation.as_ref().map(|g| g.name.clone()),
        "articles": generation.as_ref().map(|g| g.archive.table.article_count()),
        "rules": app.rules.loaded.rules.len(),
        "records": app.rules.loaded.articles.len(),
    }))
    .into_response()
}

/// The parameters of a lookup, from the page's form or the API's query string.
#[derive(Debug, Default, Deserialize)]
struct LookupParams {
    #[serde(default)]
    q: Option<String>,
    #[serde(default)]
    product: Option<String>,
    #[serde(default)]
    version: Option<String>,
    #[serde(default)]
    limit: Option<usize>,
}

impl LookupParams {
    fn options(&self) -> LookupOptions {
        let products = self
            .product
            .as_deref()
            .filter(|p| !p.trim().is_empty())
            .map(|p| vec![ProductQuery::new(p, self.version.as_deref())])
            .unwrap_or_default();
        LookupOptions {
            limit: self.limit.unwrap_or(DEFAULT_HITS).clamp(1, MAX_HITS),
            only_products: false,
            products,
        }
    }
}

/// Ranks `query`: the hits, and the generation that answered.
fn find(app: &App, query: &str, options: &LookupOptions) -> (Vec<Hit>, Option<String>) {
    let hits = match app.generation() {
        Some(g) => {
            let hits = Lookup::with_curated(&g.curated, Some(&g.archive)).find(query, options);
            return (hits, Some(g.name.clone()));
        }
        None => Lookup::with_curated(&app.curated, None).find(query, options),
    };
    (hits, None)
}

async fn api_lookup(
    State(app): State<Arc<App>>,
    params: Result<Query<LookupParams>, QueryRejection>,
) -> Response {
    let Ok(Query(params)) = params else {
        return error("/api/", StatusCode::BAD_REQUEST, "bad query parameters");
    };
    let Some(q) = params.q.clone().filter(|q| !q.trim().is_empty()) else {
        return error(
            "/api/",
            StatusCode::BAD_REQUEST,
            "give q: an error message or a description",
        );
    };
    if q.len() > MAX_QUERY {
        return error("/api/", StatusCode::URI_TOO_LONG, "the query is too long");
    }
    let options = params.options();
    let answer = blocking(app, move |app| {
        let (hits, generation) = find(app, &q, &options);
        let note = generation.is_none().then_some(NO_ARCHIVE);
        let context = LookupContext {
            archive: generation,
            note,
        };
        serde_json::to_value(LookupOutput::new(&q, &hits, Some(context))).ok()
    })
    .await
    .flatten();
    match answer {
        Some(value) => Json(value).into_response(),
        None => error(
            "/api/",
            StatusCode::INTERNAL_SERVER_ERROR,
            "the lookup failed",
        ),
    }
}

const NO_ARCHIVE: &str =
    "no archive index is loaded: searching the built-in rules and article records only";

/// An article id as people write it (`Q178311`, `q178311`): nothing else reaches the index.
fn article_id(id: &str) -> Option<String> {
    let digits = id.strip_prefix(['Q', 'q'])?;
    (!digits.is_empty() && digits.len() <= 7 && digits.bytes().all(|b| b.is_ascii_digit()))
        .then(|| format!("Q{digits}"))
}

/// The article, parsed, and the rules that cite it.
fn article(
    app: &App,
    raw: &str,
) -> Result<(crate::article::Article, Vec<String>), (StatusCode, String)> {
    let id = article_id(raw).ok_or_else(|| {
        (
            StatusCode::BAD_REQUEST,
            format!("{raw:?} is not an article id (e.g. Q178311)"),
        )
    })?;
    let generation = app.generation().ok_or_else(|| {
        (
            StatusCode::NOT_FOUND,
            "no archive index is loaded".to_string(),
        )
    })?;
    let parsed = archive::show(&generation.archive, &id)
        .ok_or_else(|| (StatusCode::NOT_FOUND, format!("{id} is not in the archive")))?
        .map_err(|e: ArchiveError| (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    let rules = app
        .rules
        .loaded
        .rules
        .iter()
        .filter(|r| r.rule.kb.iter().any(|k| k.id.eq_ignore_ascii_case(&id)))
        .map(|r| r.rule.id.to_string())
        .collect();
    Ok((parsed, rules))
}

async fn api_article(State(app): State<Arc<App>>, UrlPath(id): UrlPath<String>) -> Response {
    match blocking(app, move |app| article(app, &id)).await {
        Some(Ok((a, rules))) => {
            Json(serde_json::json!({"article": a, "rules": rules})).into_response()
        }
        Some(Err((status, message))) => error("/api/", status, &message),
        None => error(
            "/api/",
            StatusCode::INTERNAL_SERVER_ERROR,
            "the article could not be read",
        ),
    }
}

/// `POST /api/check`: a host (snapshot text and/or facts) and the command about to run.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CheckRequest {
    /// The command, as an argv.
    #[serde(default)]
    command: Vec<String>,
    /// Or a whole line, in `shell`'s syntax (default cmd).
    #[serde(default)]
    line: Option<String>,
    #[serde(default)]
    shell: Option<String>,
    /// A snapshot, as `--facts` reads it (RON or JSON text).
    #[serde(default)]
    snapshot: Option<String>,
    /// Facts, as `--set NAME=VALUE` gives them.
    #[serde(default)]
    facts: BTreeMap<String, String>,
    #[serde(default)]
    allow_unknown: bool,
}

/// Checks a host described by a request; never the server's own host.
fn check(app: &App, req: &CheckRequest) -> Result<serde_json::Value, (StatusCode, String)> {
    let bad = |m: String| (StatusCode::BAD_REQUEST, m);
    let host = host_of(app, req.snapshot.as_deref(), &req.facts).map_err(bad)?;
    let plans = match &req.line {
        Some(line) => {
            let shell = match req.shell.as_deref() {
                Some(name) => Shell::from_program(name)
                    .ok_or_else(|| bad(format!("unknown shell {name:?}")))?,
                None => Shell::Cmd,
            };
            cmdline::plan_line(line, shell)
                .map_err(|e| bad(format!("cannot read the line: {e}")))?
        }
        None => cmdline::plan_argv(&req.command).map_err(|e| bad(e.to_string()))?,
    };
    let checked = preflight::check(&app.compiled, &host, plans);
    let advisories = advisories(app, &host, &checked);
    let output = CheckOutput::new(&checked, req.allow_unknown, &advisories, false);
    serde_json::to_value(output).map_err(|e| (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))
}

fn advisories(app: &App, host: &FactSet, checked: &preflight::Preflight) -> Advisories {
    let generation = app.generation();
    match generation.as_ref().and_then(|g| g.advice.as_ref()) {
        Some(advice) => {
            Advisories::for_preflight(advice, &app.compiled, host, checked, DEFAULT_LIMIT)
        }
        None => Advisories::none(NO_ARCHIVE),
    }
}

/// The facts of the host a snapshot (and `--set`-style facts) describe.
fn host_of(
    app: &App,
    snapshot: Option<&str>,
    sets: &BTreeMap<String, String>,
) -> Result<FactSet, String> {
    let mut host = match snapshot.filter(|s| !s.trim().is_empty()) {
        Some(text) => {
            let json = text.trim_start().starts_with('{');
            facts::snapshot_facts(&app.compiled.catalogue, "uploaded snapshot", text, json)
                .map_err(|e| e.to_string())?
        }
        None => FactSet::remote(),
    };
    for (name, value) in sets {
        let v = facts::typed_value(
            &app.compiled.catalogue,
            name,
            &crate::model::Literal::Str(value.clone()),
            || format!("fact {name}"),
        )
        .map_err(|e| e.to_string())?;
        host.insert(
            name,
            facts::Fact {
                value: v,
                source: facts::FactSource::CommandLine,
            },
        );
    }
    Ok(host)
}

async fn api_check(State(app): State<Arc<App>>, body: Bytes) -> Response {
    let req: CheckRequest = match serde_json::from_slice(&body) {
        Ok(req) => req,
        Err(e) => return error("/api/", StatusCode::BAD_REQUEST, &format!("bad JSON: {e}")),
    };
    match blocking(app, move |app| check(app, &req)).await {
        Some(Ok(value)) => Json(value).into_response(),
        Some(Err((status, message))) => error("/api/", status, &message),
        None => error(
            "/api/",
            StatusCode::INTERNAL_SERVER_ERROR,
            "the check failed",
        ),
    }
}

// ---- pages ----

/// Text for HTML.
fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn page(title: &str, body: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta name=\"color-scheme\" content=\"light dark\"><title>{}</title><style>{STYLE}</style></head>\
         <body><header><nav><a href=\"/\">Search</a> <a href=\"/host\">Check a host</a></nav></header>\
         <main>{body}</main></body></html>\n",
        esc(title)
    )
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:60rem;margin:0 auto;padding:1rem;\
line-height:1.45;color:#1b1b1b;background:#fff}a{color:#0b57d0}nav a{margin-right:1rem}\
textarea,input[type=text]{width:100%;font:inherit;padding:.4rem;box-sizing:border-box}\
button{font:inherit;padding:.4rem 1rem}:focus{outline:3px solid #f3a712;outline-offset:2px}\
.hit{border-top:1px solid #ccc;padding:.6rem 0}.meta{color:#555;font-size:.9em}\
.workaround{background:#eef6ee;padding:.5rem;white-space:pre-wrap}.error{color:#b00020}\
mark{background:#ffe58a}pre{white-space:pre-wrap;background:#f4f4f4;padding:.5rem}\
.blocked{color:#b00020}.clear{color:#0a7d2c}.undecided{color:#9a6700}\
@media (prefers-color-scheme:dark){body{color:#e6e6e6;background:#161616}a{color:#8ab4f8}\
.workaround{background:#1f3320}pre{background:#222}.meta{color:#aaa}mark{background:#6b5a00;color:#fff}}";

async fn search_page(
    State(app): State<Arc<App>>,
    params: Result<Query<LookupParams>, QueryRejection>,
) -> Response {
    let Ok(Query(params)) = params else {
        return error("/", StatusCode::BAD_REQUEST, "bad query parameters");
    };
    let q = params.q.clone().unwrap_or_default();
    if q.len() > MAX_QUERY {
        return error("/", StatusCode::URI_TOO_LONG, "the query is too long");
    }
    let mut body = format!(
        "<h1>Find the article</h1><form method=\"get\" action=\"/\" role=\"search\">\
         <label for=\"q\">Paste an error, or describe the problem</label>\
         <textarea id=\"q\" name=\"q\" rows=\"3\" autofocus>{}</textarea>\
         <label for=\"product\">Product (optional)</label>\
         <input type=\"text\" id=\"product\" name=\"product\" value=\"{}\">\
         <p><button type=\"submit\">Search</button></p></form>",
        esc(&q),
        esc(params.product.as_deref().unwrap_or(""))
    );
    if !q.trim().is_empty() {
        let options = params.options();
        let rendered = blocking(app, move |app| {
            let (hits, generation) = find(app, &q, &options);
            render_hits(&hits, generation.is_none())
        })
        .await
        .unwrap_or_default();
        body.push_str(&rendered);
    }
    Html(page("kbguard search", &body)).into_response()
}

fn render_hits(hits: &[Hit], no_archive: bool) -> String {
    let mut out = String::new();
    if no_archive {
        let _ = write!(out, "<p class=\"meta\">{}</p>", esc(NO_ARCHIVE));
    }
    if hits.is_empty() {
        out.push_str("<p>Nothing found.</p>");
    }
    out.push_str("<div id=\"results\">");
    for (n, h) in hits.iter().enumerate() {
        let _ = write!(
            out,
            "<section class=\"hit\"><h2>{}. <a href=\"/articles/{}\">{} {}</a></h2>",
            n + 1,
            esc(&h.id),
            esc(&h.id),
            esc(&h.title)
        );
        let section = h.section.as_deref().unwrap_or("");
        if let Some(snippet) = &h.snippet {
            let _ = write!(
                out,
                "<p class=\"meta\">matched in {}</p><p>{}</p>",
                esc(section),
                marked(snippet)
            );
        }
        if !h.rules.is_empty() {
            let ids: Vec<String> = h.rules.iter().map(|r| esc(r)).collect();
            let _ = write!(
                out,
                "<p class=\"meta\">curated rules: {}</p>",
                ids.join(", ")
            );
        }
        if let Some(w) = &h.workaround {
            let _ = write!(
                out,
                "<div class=\"workaround\"><strong>Workaround:</strong> {}</div>",
                esc(w)
            );
        }
        if !h.products.is_empty() {
            let _ = write!(
                out,
                "<p class=\"meta\">applies to: {}</p>",
                esc(&h.products.join("; "))
            );
        }
        out.push_str("</section>");
    }
    out.push_str("</div>");
    out
}

fn marked(snippet: &crate::lookup::Snippet) -> String {
    let mut out = String::new();
    let mut at = 0;
    for m in &snippet.marks {
        if let (Some(before), Some(word)) =
            (snippet.text.get(at..m.start), snippet.text.get(m.clone()))
        {
            let _ = write!(out, "{}<mark>{}</mark>", esc(before), esc(word));
            at = m.end;
        }
    }
    out.push_str(&esc(snippet.text.get(at..).unwrap_or("")));
    out
}

async fn article_page(State(app): State<Arc<App>>, UrlPath(id): UrlPath<String>) -> Response {
    let result = blocking(app, move |app| article(app, &id)).await;
    let (a, rules) = match result {
        Some(Ok(found)) => found,
        Some(Err((status, message))) => return error("/", status, &message),
        None => {
            return error(
                "/",
                StatusCode::INTERNAL_SERVER_ERROR,
                "the article could not be read",
            )
        }
    };
    let mut body = format!(
        "<h1>{} {}</h1><p class=\"meta\">",
        esc(&a.id),
        esc(&a.title)
    );
    if let Some(date) = &a.date {
        let _ = write!(body, "revised {} · ", esc(date));
    }
    let _ = write!(body, "{}</p>", esc(&a.product));
    if !a.applies_to.is_empty() {
        body.push_str("<h2>Applies to</h2><ul>");
        for p in &a.applies_to {
            let _ = write!(body, "<li>{}</li>", esc(p));
        }
        body.push_str("</ul>");
    }
    if !rules.is_empty() {
        body.push_str("<h2>Curated rules that cite it</h2><ul>");
        for r in &rules {
            let _ = write!(body, "<li><code>{}</code></li>", esc(r));
        }
        body.push_str("</ul>");
    }
    for s in &a.sections {
        let _ = write!(
            body,
            "<h2>{}</h2><pre>{}</pre>",
            esc(&s.heading),
            esc(&s.text)
        );
    }
    if !a.messages.is_empty() {
        body.push_str("<h2>Messages it quotes</h2><ul>");
        for m in &a.messages {
            let _ = write!(
                body,
                "<li><code>{}</code> <span class=\"meta\">({})</span></li>",
                esc(&m.text),
                esc(&m.section)
            );
        }
        body.push_str("</ul>");
    }
    Html(page(&format!("{} {}", a.id, a.title), &body)).into_response()
}

const HOST_FORM: &str = "<h1>Check a customer's host</h1>\
<form method=\"post\" action=\"/host\" enctype=\"multipart/form-data\">\
<label for=\"snapshot\">Snapshot file (<code>kbguard facts --save</code>, RON or JSON)</label>\
<input type=\"file\" id=\"snapshot\" name=\"snapshot\">\
<label for=\"snapshot_text\">or paste it</label>\
<textarea id=\"snapshot_text\" name=\"snapshot_text\" rows=\"6\"></textarea>\
<label for=\"line\">The command the customer is about to run</label>\
<input type=\"text\" id=\"line\" name=\"line\" placeholder=\"isinteg -patch\">\
<label for=\"shell\">Its shell</label>\
<select id=\"shell\" name=\"shell\"><option>cmd</option><option>powershell</option>\
<option>bash</option><option>sh</option><option>zsh</option><option>fish</option></select>\
<p><button type=\"submit\">Check</button></p></form>";

async fn host_form() -> Response {
    Html(page("kbguard: check a host", HOST_FORM)).into_response()
}

async fn host_page(State(app): State<Arc<App>>, mut form: Multipart) -> Response {
    let mut fields: BTreeMap<String, String> = BTreeMap::new();
    loop {
        match form.next_field().await {
            Ok(Some(field)) => {
                let name = field.name().unwrap_or("").to_string();
                match field.bytes().await {
                    Ok(bytes) => {
                        let Ok(text) = String::from_utf8(bytes.to_vec()) else {
                            return error(
                                "/",
                                StatusCode::BAD_REQUEST,
                                "the form holds text that is not UTF-8",
                            );
                        };
                        fields.insert(name, text);
                    }
                    Err(e) => return error("/", StatusCode::BAD_REQUEST, &e.body_text()),
                }
            }
            Ok(None) => break,
            Err(e) => return error("/", StatusCode::BAD_REQUEST, &e.body_text()),
        }
    }
    let snapshot = [fields.get("snapshot"), fields.get("snapshot_text")]
        .into_iter()
        .flatten()
        .find(|s| !s.trim().is_empty())
        .cloned();
    let req = CheckRequest {
        command: Vec::new(),
        line: fields.get("line").cloned().filter(|l| !l.trim().is_empty()),
        shell: fields.get("shell").cloned(),
        snapshot,
        facts: BTreeMap::new(),
        allow_unknown: false,
    };
    if req.line.is_none() {
        return error(
            "/",
            StatusCode::BAD_REQUEST,
            "give the command the customer is about to run",
        );
    }
    let line = req.line.clone().unwrap_or_default();
    let result = blocking(app, move |app| check(app, &req)).await;
    let value = match result {
        Some(Ok(value)) => value,
        Some(Err((status, message))) => return error("/", status, &message),
        None => return error("/", StatusCode::INTERNAL_SERVER_ERROR, "the check failed"),
    };
    Html(page("kbguard: verdict", &render_verdict(&line, &value))).into_response()
}

/// The verdict page from `check`'s JSON, the same document the API returns.
fn render_verdict(line: &str, v: &serde_json::Value) -> String {
    let verdict = v["verdict"].as_str().unwrap_or("undecided");
    let mut out = format!(
        "<h1 class=\"{0}\" id=\"verdict\">{0}</h1><p><code>{1}</code></p>",
        esc(verdict),
        esc(line)
    );
    for c in v["commands"].as_array().into_iter().flatten() {
        for e in c["report"]["evaluations"].as_array().into_iter().flatten() {
            let outcome = e["outcome"].as_str().unwrap_or("");
            if outcome != "triggered" && outcome != "unknown" {
                continue;
            }
            let _ = write!(
                out,
                "<section class=\"hit\"><h2>{} <code>{}</code> {}</h2><p>{}</p>",
                esc(&e["severity"].as_str().unwrap_or("").to_uppercase()),
                esc(e["rule"].as_str().unwrap_or("")),
                esc(outcome),
                esc(e["title"].as_str().unwrap_or(""))
            );
            let kb: Vec<String> = e["kb"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|k| k.as_str())
                .map(|k| format!("<a href=\"/articles/{0}\">{0}</a>", esc(k)))
                .collect();
            let _ = write!(out, "<p class=\"meta\">cites {}</p>", kb.join(", "));
            if outcome == "unknown" {
                let facts: Vec<String> = e["deciding_facts"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|f| f.as_str())
                    .map(|f| format!("<code>{}</code>", esc(f)))
                    .collect();
                let _ = write!(out, "<p>Ask the customer for: {}</p>", facts.join(", "));
            } else {
                let _ = write!(
                    out,
                    "<div class=\"workaround\"><strong>Workaround:</strong> {}</div>",
                    esc(e["workaround"]["text"].as_str().unwrap_or(""))
                );
            }
            out.push_str("</section>");
        }
    }
    let advisories = v["advisories"].as_array().map_or(0, Vec::len);
    if advisories > 0 {
        let _ = write!(
            out,
            "<h2>Archive advisories ({advisories}, not curated)</h2>"
        );
        for a in v["advisories"].as_array().into_iter().flatten() {
            let _ = write!(
                out,
                "<section class=\"hit\"><a href=\"/articles/{0}\">{0}</a> {1}<p class=\"meta\">{2}</p></section>",
                esc(a["id"].as_str().unwrap_or("")),
                esc(a["title"].as_str().unwrap_or("")),
                esc(a["why"].as_str().unwrap_or(""))
            );
        }
    }
    out
}

/// Serves `app` on `listener` until `shutdown` resolves; requests already running finish.
pub async fn run(
    app: Arc<App>,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(app))
        .with_graceful_shutdown(shutdown)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn article_ids_are_only_q_and_digits() {
        assert_eq!(article_id("q178311").as_deref(), Some("Q178311"));
        assert_eq!(article_id("Q178311"), Some("Q178311".into()));
        for bad in [
            "../etc/passwd",
            "Q",
            "Q12345678",
            "Q1a",
            "178311",
            "Q178311/../x",
        ] {
            assert_eq!(article_id(bad), None, "{bad}");
        }
    }

    #[test]
    fn html_is_escaped() {
        assert_eq!(
            esc("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }
}
