//! The OpenAPI documents: snapshots of each served document, the `/docs` page, the Amigo
//! document against the vendor's, every served route in exactly one document, and (through
//! `check_response`, called by `TestApp::call`) every response the suite receives against them.
//!
//! Refresh the snapshots after an API change: `UPDATE_OPENAPI=1 cargo test -p roster-server
//! --test api -- openapi::` (then review the diff of `docs/openapi/`).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::OnceLock;

use reqwest::Method;
use serde_json::{json, Value};

use roster_server::openapi::Documents;

use crate::helpers::TestApp;

const DOCS: [&str; 4] = ["amigo", "eva", "oum", "native"];

fn snapshot_path(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../docs/openapi")
        .join(format!("{name}.json"))
}

/// The committed documents (the snapshot test keeps them equal to the served ones).
pub fn committed() -> &'static BTreeMap<&'static str, Value> {
    static DOCS_CACHE: OnceLock<BTreeMap<&'static str, Value>> = OnceLock::new();
    DOCS_CACHE.get_or_init(|| {
        DOCS.iter()
            .map(|name| {
                let text = std::fs::read_to_string(snapshot_path(name))
                    .unwrap_or_else(|_| panic!("docs/openapi/{name}.json is committed"));
                (*name, serde_json::from_str(&text).expect("valid JSON"))
            })
            .collect()
    })
}

/// The documents as the router generates them (the snapshot test keeps them equal to the
/// committed files).
pub fn documents() -> &'static Documents {
    static BUILT: OnceLock<Documents> = OnceLock::new();
    BUILT.get_or_init(|| roster_server::routes::build(1024).1)
}

/// Every documented operation: (document, METHOD, path template as served), one per base path.
pub fn operations() -> &'static [(&'static str, String, String)] {
    static OPS: OnceLock<Vec<(&'static str, String, String)>> = OnceLock::new();
    OPS.get_or_init(|| {
        documents()
            .operations()
            .into_iter()
            .map(|o| (o.document, o.method, o.path))
            .collect()
    })
}

#[tokio::test]
async fn served_documents_equal_the_committed_snapshots() {
    let app = TestApp::spawn().await;
    let update = std::env::var("UPDATE_OPENAPI").is_ok_and(|v| v == "1");
    for name in DOCS {
        let resp = app
            .client
            .get(format!("{}/openapi/{name}.json", app.base))
            .send()
            .await
            .expect("request");
        assert_eq!(resp.status(), 200, "{name}");
        assert_eq!(
            resp.headers()["content-type"].to_str().ok(),
            Some("application/json")
        );
        let served = resp.text().await.expect("body");
        let path = snapshot_path(name);
        if update {
            std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            std::fs::write(&path, &served).expect("write snapshot");
            continue;
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            served == committed,
            "/openapi/{name}.json differs from docs/openapi/{name}.json; if the API change is \
             intended, run UPDATE_OPENAPI=1 cargo test -p roster-server --test api -- openapi:: \
             and review the diff"
        );
    }
    let missing = app
        .client
        .get(format!("{}/openapi/nope.json", app.base))
        .send()
        .await
        .expect("request");
    assert_eq!(missing.status(), 404);
}

fn refs(v: &Value, out: &mut BTreeSet<String>) {
    match v {
        Value::Object(m) => {
            if let Some(Value::String(r)) = m.get("$ref") {
                out.insert(r.clone());
            }
            m.values().for_each(|v| refs(v, out));
        }
        Value::Array(a) => a.iter().for_each(|v| refs(v, out)),
        _ => {}
    }
}

#[tokio::test]
async fn the_docs_page_loads_every_document() {
    let app = TestApp::spawn().await;
    let get = |path: String| {
        let client = app.client.clone();
        let url = format!("{}{path}", app.base);
        async move { client.get(url).send().await.expect("request") }
    };
    let page = get("/docs".into()).await;
    assert_eq!(page.status(), 200);
    assert!(page.headers()["content-type"]
        .to_str()
        .expect("ascii")
        .starts_with("text/html"));
    let html = page.text().await.expect("body");
    // The page's scripts and stylesheet, all served by Roster itself (no CDN).
    let mut assets = Vec::new();
    for (attr, end) in [("src=\"", '"'), ("href=\"", '"')] {
        for part in html.split(attr).skip(1) {
            let url = part.split(end).next().expect("attribute");
            assert!(
                url.starts_with("/docs/"),
                "asset {url} is not served locally"
            );
            assets.push(url.to_owned());
        }
    }
    for expected in [
        "/docs/swagger-ui-bundle.js",
        "/docs/swagger-ui-standalone-preset.js",
        "/docs/swagger-ui.css",
        "/docs/initializer.js",
    ] {
        assert!(assets.iter().any(|a| a == expected), "{expected} in {html}");
    }
    let mut initializer = String::new();
    for asset in &assets {
        let resp = get(asset.clone()).await;
        assert_eq!(resp.status(), 200, "{asset}");
        let ct = resp.headers()["content-type"]
            .to_str()
            .expect("ascii")
            .to_owned();
        let want = if asset.ends_with(".css") {
            "text/css"
        } else {
            "text/javascript"
        };
        assert!(ct.starts_with(want), "{asset}: {ct}");
        let body = resp.text().await.expect("body");
        assert!(body.len() > 100, "{asset} is empty");
        if asset.ends_with("initializer.js") {
            initializer = body;
        }
    }
    assert_eq!(get("/docs/nope.js".into()).await.status(), 404);
    // The page offers every document, and each is served as an OpenAPI 3 document whose
    // references all resolve.
    for name in DOCS {
        let url = format!("/openapi/{name}.json");
        assert!(initializer.contains(&url), "the page names {url}");
        let doc: Value = get(url.clone()).await.json().await.expect("JSON");
        assert!(
            doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.")),
            "{url}"
        );
        assert!(doc["info"]["title"].is_string(), "{url}");
        assert!(
            doc["paths"].as_object().is_some_and(|p| !p.is_empty()),
            "{url} has paths"
        );
        let mut all = BTreeSet::new();
        refs(&doc, &mut all);
        for r in all {
            let pointer = r.strip_prefix('#').expect("local reference");
            assert!(
                doc.pointer(pointer).is_some(),
                "{url}: {r} does not resolve"
            );
        }
    }
}

#[test]
fn every_vendor_operation_is_in_the_amigo_document() {
    let vendor: Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../reference/amigo-classic-user.openapi.json"
        ))
        .expect("vendor document"),
    )
    .expect("JSON");
    let ours = &committed()["amigo"];
    let mut used = BTreeSet::new();
    let mut checked = 0;
    for (path, item) in vendor["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("item") {
            let mine = &ours["paths"][path][method];
            assert!(mine.is_object(), "{method} {path} is missing");
            assert_eq!(mine["operationId"], op["operationId"], "{method} {path}");
            let params = |o: &Value| -> BTreeSet<(String, String, bool)> {
                o["parameters"]
                    .as_array()
                    .map(|ps| {
                        ps.iter()
                            .map(|p| {
                                (
                                    p["name"].as_str().unwrap_or("").to_owned(),
                                    p["in"].as_str().unwrap_or("").to_owned(),
                                    p["required"].as_bool().unwrap_or(false),
                                )
                            })
                            .collect()
                    })
                    .unwrap_or_default()
            };
            let theirs = params(op);
            let mine_params = params(mine);
            for p in &theirs {
                assert!(
                    mine_params.contains(p),
                    "{method} {path}: parameter {p:?} missing; ours: {mine_params:?}"
                );
            }
            refs(op, &mut used);
            checked += 1;
        }
    }
    assert_eq!(checked, 23, "the vendor document's operations");
    // The schemas those operations use, and the ones those use in turn, keep their names.
    let mut todo: Vec<String> = used.into_iter().collect();
    let mut seen = BTreeSet::new();
    while let Some(r) = todo.pop() {
        if !seen.insert(r.clone()) {
            continue;
        }
        let name = r.trim_start_matches("#/components/schemas/");
        assert!(
            ours["components"]["schemas"].get(name).is_some(),
            "schema {name} is missing from the Amigo document"
        );
        let mut more = BTreeSet::new();
        refs(&vendor["components"]["schemas"][name], &mut more);
        todo.extend(more);
    }
    assert!(seen.len() > 50, "{} vendor schemas checked", seen.len());
}

/// (METHOD, path template) of every route the router serves, read from axum's own route table
/// (its `Debug` output: the routes and which methods each answers), independent of the
/// documents.
pub fn served_routes() -> BTreeSet<(String, String)> {
    let router = roster_server::routes::router(1024);
    let dump = format!("{router:?}");
    // The fallback router (axum's own 404) numbers its routes from 1 as well.
    let dump = dump
        .split(", fallback_router:")
        .next()
        .expect("the path router");
    let mut paths: HashMap<String, String> = HashMap::new();
    let mut methods: HashMap<String, Vec<String>> = HashMap::new();
    for chunk in dump.split("RouteId(").skip(1) {
        let Some((id, rest)) = chunk.split_once("): ") else {
            continue;
        };
        if let Some(path) = rest.strip_prefix('"') {
            let path = path.split('"').next().unwrap_or_default();
            paths.insert(id.to_owned(), path.to_owned());
            continue;
        }
        for m in ["get", "delete", "patch", "post", "put"] {
            if let Some(v) = rest.split(&format!(" {m}: ")).nth(1) {
                if !v.starts_with("None") {
                    methods
                        .entry(id.to_owned())
                        .or_default()
                        .push(m.to_uppercase());
                }
            }
        }
    }
    let mut out = BTreeSet::new();
    for (id, path) in paths {
        for m in methods.get(&id).cloned().unwrap_or_default() {
            out.insert((m, path.clone()));
        }
    }
    out
}

/// Routes for people and probes, not API operations.
const UNDOCUMENTED: &[(&str, &str)] = &[
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("GET", "/metrics"),
    ("GET", "/docs"),
    ("GET", "/docs/{file}"),
    ("GET", "/openapi/{file}"),
    // Landing pages of emailed links (HTML).
    ("GET", "/v1/{organization}/user/verify"),
    ("GET", "/v1/{organization}/user/verify/"),
    ("GET", "/v1/{organization}/user/password-reset"),
    ("GET", "/v1/{organization}/user/password-reset/"),
    ("GET", "/users/email-change/confirm"),
    // The OpenID Connect provider: the standard's discovery document describes these, and the
    // sign-in and logout pages are HTML (the token endpoint is in the native document).
    ("GET", "/realms/{realm}/.well-known/openid-configuration"),
    ("GET", "/realms/{realm}/protocol/openid-connect/certs"),
    ("GET", "/realms/{realm}/protocol/openid-connect/auth"),
    ("POST", "/realms/{realm}/protocol/openid-connect/auth"),
    ("GET", "/realms/{realm}/protocol/openid-connect/auth/link"),
    ("POST", "/realms/{realm}/protocol/openid-connect/auth/link"),
    ("GET", "/realms/{realm}/protocol/openid-connect/auth/reset"),
    // The hosted pages org-user-management's emailed links open (`routes/links.rs`).
    ("GET", "/realms/{realm}/login-actions/verify"),
    ("POST", "/realms/{realm}/login-actions/verify"),
    ("GET", "/realms/{realm}/login-actions/reset-credentials"),
    ("POST", "/realms/{realm}/login-actions/reset-credentials"),
    ("POST", "/realms/{realm}/protocol/openid-connect/auth/reset"),
    // The hosted page's upstream sign-in: browser redirects, not an API.
    (
        "GET",
        "/realms/{realm}/protocol/openid-connect/auth/connections/{name}",
    ),
    ("GET", "/connections/{name}/callback"),
    ("GET", "/connections/{org}/{name}/callback"),
    ("GET", "/realms/{realm}/protocol/openid-connect/userinfo"),
    ("POST", "/realms/{realm}/protocol/openid-connect/userinfo"),
    ("GET", "/realms/{realm}/protocol/openid-connect/logout"),
    ("POST", "/realms/{realm}/protocol/openid-connect/logout"),
    ("POST", "/realms/{realm}/protocol/openid-connect/revoke"),
];

#[test]
fn every_served_route_is_in_exactly_one_document() {
    let served = served_routes();
    assert!(
        served.contains(&("GET".into(), "/healthz".into()))
            && served.contains(&("POST".into(), "/eva-user/org/{orgUUID}/users".into())),
        "the route table was read: {served:?}"
    );
    let documented = operations();
    assert!(
        served.len() > documented.len(),
        "{} routes read for {} documented operations",
        served.len(),
        documented.len()
    );
    let mut by_route: HashMap<(String, String), Vec<&str>> = HashMap::new();
    for (doc, method, path) in documented {
        by_route
            .entry((method.clone(), path.clone()))
            .or_default()
            .push(doc);
    }
    for ((method, path), docs) in &by_route {
        assert_eq!(docs.len(), 1, "{method} {path} is in {docs:?}");
        assert!(
            served.contains(&(method.clone(), path.clone())),
            "{method} {path} is documented but not served"
        );
    }
    let mut undocumented = Vec::new();
    for (method, path) in &served {
        if UNDOCUMENTED.contains(&(method.as_str(), path.as_str())) {
            continue;
        }
        if by_route.contains_key(&(method.clone(), path.clone())) {
            continue;
        }
        // Amigo answers each path with and without its trailing slash; the document has the
        // vendor's spelling.
        let twin = match path.strip_suffix('/') {
            Some(p) => p.to_owned(),
            None => format!("{path}/"),
        };
        if path.starts_with("/v1/")
            && by_route
                .get(&(method.clone(), twin))
                .is_some_and(|d| d == &["amigo"])
        {
            continue;
        }
        undocumented.push(format!("{method} {path}"));
    }
    assert!(
        undocumented.is_empty(),
        "served but in no document: {undocumented:#?}"
    );
}

struct Checker {
    validators: std::sync::Mutex<HashMap<String, std::sync::Arc<jsonschema::Validator>>>,
}

fn checker() -> &'static Checker {
    static C: OnceLock<Checker> = OnceLock::new();
    C.get_or_init(|| Checker {
        validators: Default::default(),
    })
}

/// The document and operation a request path belongs to (the most literal template wins).
fn operation_of(method: &str, path: &str) -> Option<(&'static str, String, String)> {
    let path = path.split('?').next().unwrap_or(path);
    let segs: Vec<&str> = path.split('/').collect();
    let mut best: Option<(usize, (&'static str, String, String))> = None;
    for (doc, m, template) in operations() {
        let doc = *doc;
        if m != method {
            continue;
        }
        let candidates = if template.starts_with("/v1/") {
            let twin = match template.strip_suffix('/') {
                Some(p) => p.to_owned(),
                None => format!("{template}/"),
            };
            vec![template.clone(), twin]
        } else {
            vec![template.clone()]
        };
        for c in candidates {
            let t: Vec<&str> = c.split('/').collect();
            if t.len() != segs.len() {
                continue;
            }
            let mut literal = 0;
            let ok = t.iter().zip(&segs).all(|(a, b)| {
                if a.starts_with('{') {
                    !b.is_empty()
                } else {
                    literal += 1;
                    a == b
                }
            });
            if ok && best.as_ref().is_none_or(|(n, _)| literal > *n) {
                // The document's own path (without a base path).
                let doc_path = documents().get(doc).expect("document")["servers"]
                    .as_array()
                    .and_then(|s| {
                        s.iter()
                            .filter_map(|s| s["url"].as_str())
                            .map(|u| u.trim_end_matches('/'))
                            .find(|u| !u.is_empty() && template.starts_with(u))
                            .map(|u| template[u.len()..].to_owned())
                    })
                    .unwrap_or_else(|| template.clone());
                best = Some((literal, (doc, m.clone(), doc_path)));
            }
        }
    }
    best.map(|b| b.1)
}

/// Checks a response against the document of its operation: the status is documented, and a
/// JSON body matches the schema given for it.
pub fn check_response(method: &Method, path: &str, status: u16, content_type: &str, body: &Value) {
    let Some((doc, m, template)) = operation_of(method.as_str(), path) else {
        return;
    };
    let d = documents().get(doc).expect("document");
    let op = &d["paths"][&template][m.to_lowercase()];
    let Some(resp) = op["responses"].get(status.to_string()) else {
        panic!(
            "{method} {path} ({doc} {template}): status {status} is not documented; body: {body}"
        );
    };
    if !content_type.starts_with("application/json") {
        return;
    }
    let Some(schema) = resp["content"]["application/json"].get("schema") else {
        panic!("{method} {path}: {status} is documented without a JSON body, got {body}");
    };
    let key = format!("{doc} {m} {template} {status}");
    let validator = {
        let mut cache = checker().validators.lock().expect("lock");
        cache
            .entry(key.clone())
            .or_insert_with(|| {
                let mut root = schema.clone();
                if let Value::Object(o) = &mut root {
                    o.insert("components".into(), d["components"].clone());
                    o.insert(
                        "$schema".into(),
                        json!("https://json-schema.org/draft/2020-12/schema"),
                    );
                }
                std::sync::Arc::new(jsonschema::validator_for(&root).expect("schema compiles"))
            })
            .clone()
    };
    let errors: Vec<String> = validator
        .iter_errors(body)
        .map(|e| format!("{e} at {}", e.instance_path))
        .collect();
    assert!(
        errors.is_empty(),
        "{key}: the response does not match our document: {errors:?}\nbody: {body}"
    );
}

#[test]
fn the_response_checker_catches_a_wrong_body_and_status() {
    let bad = json!({ "count": "three", "items": [] });
    let r = std::panic::catch_unwind(|| {
        check_response(&Method::GET, "/users", 200, "application/json", &bad)
    });
    assert!(r.is_err(), "a body that breaks the schema is caught");
    let r = std::panic::catch_unwind(|| {
        check_response(&Method::GET, "/users", 418, "application/json", &json!({}))
    });
    assert!(r.is_err(), "an undocumented status is caught");
    let ok = json!({ "detail": [{ "loc": ["query", "page_size"], "msg": "no", "type": "int_parsing" }] });
    check_response(&Method::GET, "/users", 422, "application/json", &ok);
    let eva = json!({ "timestamp": 1, "errorCode": "USER-404", "errorType": "USER_ERROR", "message": "m", "path": "/eva-user/org/x/users/y" });
    check_response(
        &Method::GET,
        "/eva-user/org/x/users/y",
        404,
        "application/json",
        &eva,
    );
}
