//! Every form the console accepts goes through its checks: each handler its routers register
//! with `post(...)` takes `console::posted::Posted` (the organization, the signed-in session
//! that may use its console, the form's CSRF token, checked before the handler runs), except
//! the multipart forms of `MULTIPART`, which call `enter(` and check the same token from their
//! parts (`csrf_ok(`) themselves.
//!
//! Every file of `crates/server/src/console` is read (line comments left out). A handler named
//! without a module (`post(save)`) is looked for in the file that registers it; one that is
//! not found there, or not a function (a closure), is a failure. A route that takes a POST
//! some other way (`on(MethodFilter::..)`, `any(..)`, a `*_service(..)`) is a failure unless
//! `OTHER_ROUTES` lists it.

const CONSOLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/src/console");

/// Handlers that read a `multipart/form-data` body, and check its token themselves.
const MULTIPART: &[&str] = &["bulk::upload", "organization::save_branding"];

/// Routes that may take a POST other than through `post(...)`, as `file: text` (the text from
/// the builder's name to its closing parenthesis); none does.
const OTHER_ROUTES: &[&str] = &[];

/// A handler a `post(...)` registers: how the route names it, and where its function is.
#[derive(Debug, PartialEq)]
struct Handler {
    /// `module::name`, the module being the registering file's when the route names none.
    shown: String,
    /// The file, in the console's folder, that should define it.
    file: String,
    name: String,
}

/// The text without its line comments (`//`, `///`, `//!` lines).
fn code(text: &str) -> String {
    text.lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Whether `word(` at `at` of `text` is a call of the word itself (not of `xword(`), and, if
/// `free`, not a method (`.word(`) nor a path (`x::word(`, unless `routing::word(`) nor the
/// definition `fn word(`.
fn called(text: &str, at: usize, free: bool) -> bool {
    let before = &text[..at];
    let ident = |c: char| c.is_alphanumeric() || c == '_';
    if before.chars().next_back().is_some_and(ident) {
        return false;
    }
    if !free {
        return true;
    }
    let before = before.trim_end();
    before.ends_with("routing::")
        || !(before.ends_with('.') || before.ends_with("::") || before.ends_with("fn"))
}

/// The handlers of the `post(...)` routes of `file` (a file name in the console's folder),
/// whose text is `text`.
fn posted_handlers(file: &str, text: &str) -> Vec<Handler> {
    let text = code(text);
    let stem = file.trim_end_matches(".rs");
    text.match_indices("post(")
        .filter(|(at, _)| called(&text, *at, false))
        .map(|(at, _)| {
            let rest = &text[at + 5..];
            let path = rest[..rest.find(')').unwrap_or(rest.len())].trim();
            let (module, name) = match path.rsplit_once("::") {
                Some((prefix, name)) => (prefix.rsplit("::").next().unwrap_or(prefix), name),
                None => ("self", path),
            };
            let (module, target) = match module {
                "self" => (stem, file.to_owned()),
                "super" => ("mod", "mod.rs".to_owned()),
                m => (m, format!("{m}.rs")),
            };
            Handler {
                shown: format!("{module}::{name}"),
                file: target,
                name: name.to_owned(),
            }
        })
        .collect()
}

/// The builders other than `post(...)` that may take a POST, and whether only their free
/// calls count (`any(..)`, not an iterator's `.any(..)`).
const BUILDERS: &[(&str, bool)] = &[
    ("MethodFilter", false),
    ("any(", true),
    ("on(", true),
    ("post_service(", false),
    ("on_service(", false),
    ("any_service(", false),
    ("route_service(", false),
    ("nest_service(", false),
];

/// The lines of `text` that may take a POST without `post(...)`, as `file: line` (the line
/// trimmed), once each.
fn other_routes(file: &str, text: &str) -> Vec<String> {
    let text = code(text);
    let mut out: Vec<String> = Vec::new();
    for (at, line) in text.lines().scan(0, |at, l| {
        let here = *at;
        *at += l.len() + 1;
        Some((here, l))
    }) {
        let hit = BUILDERS.iter().any(|(word, free)| {
            line.match_indices(word)
                .any(|(n, _)| called(&text, at + n, *free))
        });
        if hit {
            out.push(format!("{file}: {}", line.trim()));
        }
    }
    out
}

/// The parameter list of `async fn name(` in `text`, public or not.
fn signature<'t>(text: &'t str, name: &str) -> Option<&'t str> {
    let start = text.find(&format!("async fn {name}("))?;
    let end = start + text[start..].find(") -> ")?;
    Some(&text[start..end])
}

/// The whole of `async fn name(` in `text`: its signature and its body, to the `}` that closes
/// it at the start of a line.
fn function<'t>(text: &'t str, name: &str) -> Option<&'t str> {
    let start = text.find(&format!("async fn {name}("))?;
    let end = start + text[start..].find("\n}")? + 2;
    Some(&text[start..end])
}

/// Every console file, by name, with its text.
fn console_files() -> Vec<(String, String)> {
    let mut files: Vec<(String, String)> = std::fs::read_dir(CONSOLE)
        .expect("console")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "rs"))
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read_to_string(&p).expect("console file"))
        })
        .collect();
    files.sort();
    files
}

/// What is wrong with the posted routes of `files`, `multipart` naming the handlers that
/// check their token themselves.
fn problems_of(files: &[(String, String)], multipart: &[&str]) -> Vec<String> {
    let text_of = |file: &str| files.iter().find(|(f, _)| f == file).map(|(_, t)| t);
    let mut handlers = Vec::new();
    let mut problems = Vec::new();
    for (file, text) in files {
        handlers.extend(posted_handlers(file, text));
        for r in other_routes(file, text) {
            if !OTHER_ROUTES.contains(&r.as_str()) {
                problems.push(format!(
                    "{r}: a route that may take a POST besides post(...)"
                ));
            }
        }
    }
    let ident = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_alphanumeric() || c == '_');
    for h in &handlers {
        if !ident(&h.name) {
            problems.push(format!("{}: not a named handler", h.shown));
            continue;
        }
        let Some(text) = text_of(&h.file) else {
            problems.push(format!("{}: no file {}", h.shown, h.file));
            continue;
        };
        let Some(sig) = signature(text, &h.name) else {
            problems.push(format!(
                "{}: no `async fn {}(` in {}",
                h.shown, h.name, h.file
            ));
            continue;
        };
        match (
            sig.contains(": Posted"),
            multipart.contains(&h.shown.as_str()),
        ) {
            (true, false) => {}
            (false, true) => {
                let body = function(text, &h.name).unwrap_or(sig);
                for call in ["enter(", "csrf_ok("] {
                    if !body.contains(call) {
                        problems.push(format!(
                            "{}: a multipart form that never calls {call}",
                            h.shown
                        ));
                    }
                }
            }
            (false, false) => problems.push(format!("{} does not take Posted", h.shown)),
            (true, true) => {
                problems.push(format!("{} takes Posted: drop it from MULTIPART", h.shown))
            }
        }
    }
    for m in multipart {
        if !handlers.iter().any(|h| h.shown == *m) {
            problems.push(format!(
                "{m}: in MULTIPART, but no post(...) route registers it"
            ));
        }
    }
    if handlers.len() < 20 {
        problems.push(format!("too few routes found: {handlers:?}"));
    }
    problems
}

#[test]
fn every_console_form_is_taken_through_posted() {
    let files = console_files();
    assert!(
        files.len() >= 20,
        "the console's files were found: {}",
        files.len()
    );
    let problems = problems_of(&files, MULTIPART);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The check reads what it looks for: routes in chains and alone, named with or without their
/// module, a handler's arguments, the calls of a multipart handler, and the other ways a route
/// takes a POST, not an iterator's `any` nor a function named like a builder.
#[test]
fn the_console_check_reads_routes_and_signatures() {
    let routes = "// .page(c, ACTION, post(gone::commented))\n.page(base, BOTH, get(a::show).post(a::save)) .page(p, ACTION, post(b::go))\n.page(q, ACTION, post(local)).page(r, ACTION, post(super::m::x))";
    let shown: Vec<String> = posted_handlers("r.rs", routes)
        .into_iter()
        .map(|h| format!("{} in {}", h.shown, h.file))
        .collect();
    assert_eq!(
        shown,
        [
            "a::save in a.rs",
            "b::go in b.rs",
            "r::local in r.rs",
            "m::x in m.rs"
        ]
    );
    let text = "pub async fn save(\n    State(s): State<AppState>,\n    Posted { v, f }: Posted,\n) -> Response {}\npub async fn bare(State(s): State<AppState>, body: Bytes) -> Response {}";
    assert!(signature(text, "save").is_some_and(|s| s.contains(": Posted")));
    assert!(signature(text, "bare").is_some_and(|s| !s.contains(": Posted")));
    assert!(signature(text, "gone").is_none());

    let others = "fn on(x: u8) {}\nlet a = xs.iter().any(|x| x);\nlet b = Iterator::any(xs, f);\n.route(\"/a\", any(a::all))\n.route(\"/b\", on(MethodFilter::POST, b::on))\n.route(\"/c\", get(c::get).post_service(svc))\n.route(\"/d\", axum::routing::any(d::all))\n.route(\"/e\", get(e::get).on(MethodFilter::PUT, e::put))\n// .route(\"/f\", any(f::all))\nlet company(x);";
    assert_eq!(
        other_routes("o.rs", others),
        [
            r#"o.rs: .route("/a", any(a::all))"#,
            r#"o.rs: .route("/b", on(MethodFilter::POST, b::on))"#,
            r#"o.rs: .route("/c", get(c::get).post_service(svc))"#,
            r#"o.rs: .route("/d", axum::routing::any(d::all))"#,
            r#"o.rs: .route("/e", get(e::get).on(MethodFilter::PUT, e::put))"#,
        ]
    );

    // A router and the handlers of `up.rs`: `load` and `plain` read a multipart body, `form`
    // takes `Posted` and is registered by `up.rs` too, by its name alone.
    let mut router = ".page(a, ACTION, post(up::load)).page(b, ACTION, post(up::plain))\n.page(c, ACTION, post(local)).page(d, ACTION, post(|Path(x): Path<String>| async {}))\n.page(e, ACTION, post(nowhere::h))".to_owned();
    for _ in 0..20 {
        router.push_str(".page(z, ACTION, post(up::form))");
    }
    let up = "pub async fn load(State(s): State<AppState>, request: Request) -> Response {\n    let v = enter(&s, &req, &org).await;\n    if !v\n        .signed\n        .csrf_ok(&f) {}\n}\npub async fn plain(State(s): State<AppState>, request: Request) -> Response {\n    let v = enter(&s, &req, &org).await;\n}\nfn after() { v.signed.csrf_ok(&f); }\npub async fn form(v: Posted) -> Response {}\nfn routes() -> Router { Router::new().route(\"/f\", post(form)) }\n";
    let files: Vec<(String, String)> = vec![("mod.rs".into(), router), ("up.rs".into(), up.into())];
    let mut problems = problems_of(&files, &["up::load", "up::plain", "up::form", "up::gone"]);
    problems.dedup();
    assert_eq!(
        problems,
        [
            "up::plain: a multipart form that never calls csrf_ok(",
            "mod::local: no `async fn local(` in mod.rs",
            "mod::|Path(x: not a named handler",
            "nowhere::h: no file nowhere.rs",
            "up::form takes Posted: drop it from MULTIPART",
            "up::gone: in MULTIPART, but no post(...) route registers it",
        ]
    );
    assert_eq!(
        problems_of(&files, &["up::load"]),
        [
            "up::plain does not take Posted",
            "mod::local: no `async fn local(` in mod.rs",
            "mod::|Path(x: not a named handler",
            "nowhere::h: no file nowhere.rs",
        ]
    );
}
