//! Every form the console accepts goes through its checks: each handler its routers register
//! with `post(...)` takes `console::posted::Posted` (the organization, the signed-in session
//! that may use its console, the form's CSRF token, checked before the handler runs), except
//! the multipart forms of `MULTIPART`, which check the same token from their parts.

use std::path::Path;

const CONSOLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/src/console");

/// Handlers that read a `multipart/form-data` body, and check its token themselves.
const MULTIPART: &[&str] = &["bulk::upload", "organization::save_branding"];

/// The `module::handler` names of the `post(...)` routes in `text`.
fn posted_handlers(text: &str) -> Vec<String> {
    text.match_indices("post(")
        .filter_map(|(at, _)| {
            let rest = &text[at + 5..];
            let name = &rest[..rest.find(')')?];
            name.contains("::").then(|| name.to_owned())
        })
        .collect()
}

/// The parameter list of `pub async fn name(` in `text`.
fn signature<'t>(text: &'t str, name: &str) -> Option<&'t str> {
    let start = text.find(&format!("pub async fn {name}("))?;
    let end = start + text[start..].find(") -> ")?;
    Some(&text[start..end])
}

#[test]
fn every_console_form_is_taken_through_posted() {
    let dir = Path::new(CONSOLE);
    let mut handlers = Vec::new();
    for router in ["mod.rs", "org_router.rs"] {
        let text = std::fs::read_to_string(dir.join(router)).expect("router");
        handlers.extend(posted_handlers(&text));
    }
    assert!(handlers.len() >= 20, "the routes were found: {handlers:?}");
    let mut problems = Vec::new();
    for h in &handlers {
        let (module, name) = h.split_once("::").expect("module::handler");
        let text = std::fs::read_to_string(dir.join(format!("{module}.rs"))).expect("module");
        let Some(sig) = signature(&text, name) else {
            problems.push(format!("{h}: no `pub async fn {name}(` in {module}.rs"));
            continue;
        };
        let posted = sig.contains(": Posted");
        match (posted, MULTIPART.contains(&h.as_str())) {
            (true, false) | (false, true) => {}
            (false, false) => problems.push(format!("{h} does not take Posted")),
            (true, true) => problems.push(format!("{h} takes Posted: drop it from MULTIPART")),
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The check reads what it looks for: routes in chains and alone, and a handler's arguments.
#[test]
fn the_console_check_reads_routes_and_signatures() {
    let routes = r#".page(base, BOTH, get(a::show).post(a::save)) .page(p, ACTION, post(b::go))"#;
    assert_eq!(posted_handlers(routes), ["a::save", "b::go"]);
    let text = "pub async fn save(\n    State(s): State<AppState>,\n    Posted { v, f }: Posted,\n) -> Response {}\npub async fn bare(State(s): State<AppState>, body: Bytes) -> Response {}";
    assert!(signature(text, "save").is_some_and(|s| s.contains(": Posted")));
    assert!(signature(text, "bare").is_some_and(|s| !s.contains(": Posted")));
    assert!(signature(text, "gone").is_none());
}
