//! The server's structure: every route has a rate-limit policy (read from the router and the
//! served documents, and exercised over HTTP for the routes that had none), and
//! `crates/server/src` has no module import cycle and no file over 600 lines.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use reqwest::Method;

use roster_server::surface::{Policy, Registered};

use crate::helpers::TestApp;

fn registered() -> Vec<Registered> {
    roster_server::routes::build(1024).2
}

/// The registration of a served route; eva's routes are also served under `/eva-user`.
fn registration<'a>(reg: &'a [Registered], method: &str, path: &str) -> Option<&'a Registered> {
    let find = |p: &str| {
        reg.iter()
            .find(|r| r.method.as_str() == method && r.path == p)
    };
    find(path).or_else(|| path.strip_prefix("/eva-user").and_then(find))
}

/// What may be `Open`: probes and documents, which must answer whatever the load.
const OPEN: &[&str] = &[
    "healthz",
    "readyz",
    "metrics",
    "jwks",
    "docs",
    "docs-asset",
    "openapi-document",
    "oidc-discovery",
    "oidc-certs",
    // The console's stylesheet and scripts, compiled into the binary and cached a year.
    "console-asset",
];

#[test]
fn every_served_route_has_a_rate_limit_policy() {
    let reg = registered();
    let served = crate::openapi::served_routes();
    assert!(served.len() > 100, "{} routes read", served.len());
    let mut missing = Vec::new();
    for (method, path) in &served {
        match registration(&reg, method, path) {
            Some(r) if r.policy.is_some() => {}
            Some(r) => missing.push(format!("{method} {path} ({}): no policy", r.operation)),
            None => missing.push(format!("{method} {path}: not registered by a surface")),
        }
    }
    assert!(missing.is_empty(), "{missing:#?}");
    for r in &reg {
        let policy = r.policy.expect("checked above");
        for bucket in policy.buckets() {
            assert!(
                roster_domain::limits::per_minute(bucket).is_some(),
                "{} {} spends '{bucket}', which has no default limit",
                r.method,
                r.path
            );
        }
        if policy == Policy::Open {
            assert!(
                OPEN.contains(&r.operation.as_str()),
                "{} {} ({}) is never limited",
                r.method,
                r.path,
                r.operation
            );
        }
    }
}

#[test]
fn every_documented_operation_is_limited_under_its_own_operation_id() {
    let reg = registered();
    let docs = crate::openapi::documents();
    let mut seen = 0;
    for op in docs.operations() {
        let r = registration(&reg, &op.method, &op.path)
            .unwrap_or_else(|| panic!("{} {} is not registered", op.method, op.path));
        assert_eq!(r.operation, op.operation_id, "{} {}", op.method, op.path);
        assert!(r.policy.is_some(), "{} has no policy", op.operation_id);
        seen += 1;
    }
    assert!(seen > 70, "{seen} operations checked");
}

/// The routes that had no limit before every route got a policy are limited now, in the shape
/// of their surface.
#[tokio::test]
async fn routes_that_counted_nothing_are_limited_in_their_surfaces_shape() {
    let app = TestApp::spawn_with(|c| {
        c.rate_limits = "get-configurations=1,get-organization=1,get-users=1".into();
    })
    .await;
    let acme = app.bootstrap("acme").await;
    let eva = format!("/org/{}/configurations", acme.uuid);
    let cases: [(&str, bool); 3] = [
        (eva.as_str(), true),
        ("/organization", false),
        ("/users/me", false),
    ];
    for (path, is_eva) in cases {
        app.get(path, &acme.token).await.expect(200);
        let refused = app.get(path, &acme.token).await;
        assert_eq!(refused.status.as_u16(), 429, "{path}: {}", refused.body);
        assert!(refused.headers.contains_key("retry-after"), "{path}");
        if is_eva {
            assert_eq!(refused.body["errorCode"], "USER-429", "{path}");
        } else {
            assert!(
                refused.body["detail"].is_string(),
                "{path}: {}",
                refused.body
            );
        }
    }
    // Amigo's organization shares the bucket of org-user-management's, and the member listing
    // that of `/users/me`: both are spent too.
    let amigo = app.get("/v1/acme/organization/", &acme.token).await;
    assert_eq!(amigo.status.as_u16(), 429, "{}", amigo.body);
    assert!(amigo.body["detail"].is_string(), "{}", amigo.body);
    let listed = app.get("/users", &acme.token).await;
    assert_eq!(listed.status.as_u16(), 429, "{}", listed.body);
    // Another caller has a budget of its own.
    let beta = app.bootstrap("beta").await;
    app.get("/users/me", &beta.token).await.expect(200);
    // A bad token is refused as before, not counted.
    for _ in 0..3 {
        app.call(Method::GET, "/organization", Some("nope"), None, &[])
            .await
            .expect(401);
    }
}

fn src_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("readable source folder") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// `routes::amigo::users` for `src/routes/amigo/users.rs`, `routes::amigo` for its `mod.rs`.
fn module_of(file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src_dir()).expect("under src");
    let mut parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().trim_end_matches(".rs").to_owned())
        .collect();
    if matches!(
        parts.last().map(String::as_str),
        Some("mod" | "lib" | "main")
    ) {
        parts.pop();
    }
    parts
}

/// The source without comments, string literals and `#[cfg(test)]` modules (tests may reach
/// anywhere).
fn code_of(text: &str) -> String {
    let text = match text.find("#[cfg(test)]\nmod ") {
        Some(i) => &text[..i],
        None => text,
    };
    // A quote in a character literal opens no string; raw strings hold no paths we read.
    let text = text
        .replace("'\"'", "'q'")
        .replace("r#\"", "\"")
        .replace("\"#", "\"");
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '/' if chars.peek() == Some(&'/') => {
                for c in chars.by_ref() {
                    if c == '\n' {
                        out.push('\n');
                        break;
                    }
                }
            }
            '"' => {
                let mut escaped = false;
                for c in chars.by_ref() {
                    if escaped {
                        escaped = false;
                    } else if c == '\\' {
                        escaped = true;
                    } else if c == '"' {
                        break;
                    }
                }
                out.push_str("\"\"");
            }
            _ => out.push(c),
        }
    }
    out
}

/// The paths named by `crate::...` and `super::...` anywhere in the code (in `use` items,
/// grouped ones included, and inline), resolved against the module `here`.
fn references(code: &str, here: &[String]) -> Vec<Vec<String>> {
    let mut found = Vec::new();
    let bytes = code.as_bytes();
    for start in ["crate::", "super::"] {
        let mut from = 0;
        while let Some(i) = code[from..].find(start) {
            let at = from + i;
            from = at + start.len();
            if at > 0 && (bytes[at - 1].is_ascii_alphanumeric() || bytes[at - 1] == b'_') {
                continue;
            }
            let mut path: Vec<String> = Vec::new();
            let mut base: Vec<String> = if start == "crate::" {
                Vec::new()
            } else {
                here[..here.len().saturating_sub(1)].to_vec()
            };
            let mut rest = &code[from..];
            while let Some(r) = rest.strip_prefix("super::") {
                base.pop();
                rest = r;
            }
            // `{a::b, c}` groups: each member is a path of its own.
            if let Some(group) = rest.strip_prefix('{') {
                let inner = group.split('}').next().unwrap_or_default();
                for member in inner.split(',') {
                    let segs = segments(member.trim());
                    if !segs.is_empty() {
                        found.push([base.clone(), segs].concat());
                    }
                }
                continue;
            }
            path.extend(segments(rest));
            found.push([base, path].concat());
        }
    }
    found
}

fn segments(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    for seg in s.split("::") {
        let ident: String = seg
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if ident.is_empty() {
            break;
        }
        let whole = ident.len() == seg.len();
        out.push(ident);
        if !whole {
            break;
        }
    }
    out
}

#[test]
fn server_modules_have_no_import_cycle_and_no_long_file() {
    let mut files = Vec::new();
    rust_files(&src_dir(), &mut files);
    let modules: BTreeMap<Vec<String>, PathBuf> =
        files.iter().map(|f| (module_of(f), f.clone())).collect();
    let mut long = Vec::new();
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (module, file) in &modules {
        let text = std::fs::read_to_string(file).expect("readable source");
        let lines = text.lines().count();
        if lines > 600 {
            long.push(format!("{} has {lines} lines", file.display()));
        }
        let name = module.join("::");
        for path in references(&code_of(&text), module) {
            // The deepest module the path names (the rest is an item in it).
            let target = (0..=path.len())
                .rev()
                .map(|n| path[..n].to_vec())
                .find(|p| modules.contains_key(p))
                .unwrap_or_default();
            if target.is_empty() || &target == module {
                continue;
            }
            edges
                .entry(name.clone())
                .or_default()
                .insert(target.join("::"));
        }
    }
    assert!(long.is_empty(), "{long:#?}");
    assert!(
        edges.get("error").is_some_and(|e| e.is_empty()) || !edges.contains_key("error"),
        "error.rs depends on nothing of the server: {:?}",
        edges.get("error")
    );
    assert!(edges.len() > 20, "{} modules with edges read", edges.len());
    // Depth-first search for a cycle, reporting the first one found.
    fn visit(
        n: &str,
        edges: &BTreeMap<String, BTreeSet<String>>,
        state: &mut BTreeMap<String, u8>,
        stack: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        match state.get(n) {
            Some(2) => return None,
            Some(1) => {
                let from = stack.iter().position(|s| s == n).unwrap_or(0);
                let mut cycle = stack[from..].to_vec();
                cycle.push(n.to_owned());
                return Some(cycle);
            }
            _ => {}
        }
        state.insert(n.to_owned(), 1);
        stack.push(n.to_owned());
        for next in edges.get(n).into_iter().flatten() {
            if let Some(c) = visit(next, edges, state, stack) {
                return Some(c);
            }
        }
        stack.pop();
        state.insert(n.to_owned(), 2);
        None
    }
    let mut state = BTreeMap::new();
    for n in edges.keys() {
        let cycle = visit(n, &edges, &mut state, &mut Vec::new());
        assert!(
            cycle.is_none(),
            "import cycle: {}",
            cycle.unwrap_or_default().join(" -> ")
        );
    }
}
