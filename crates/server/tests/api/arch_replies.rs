//! The documented success body of each operation is the type its handler returns: a handler of
//! a documented surface answers `Result<Reply<STATUS, T>>` (or `Result<NoContent>`) and its
//! `#[utoipa::path]` says `(status = STATUS, ..., body = T)`. The compiler checks that the
//! handler returns a `T` with that status; this test reads the sources and checks that the
//! annotation names the same status and type. Handlers still answering an untyped `Response`
//! are listed below with the reason; the list may only shrink.

use std::collections::BTreeSet;
use std::path::Path;

/// Handlers still returning `Response`, by file and function, and why.
const UNTYPED: &[(&str, &str, &str)] = &[
    // The vendored Amigo contract documents its bodies with the vendor's schemas
    // (`openapi::vendor`, JSON Schema copied from the contract), not with the Rust types the
    // handlers build: typing them means generating those types from the contract first.
    ("amigo/links.rs", "*", "vendor schemas"),
    ("amigo/orgs.rs", "*", "vendor schemas"),
    ("amigo/roles.rs", "*", "vendor schemas"),
    ("amigo/users.rs", "*", "vendor schemas"),
    // A JSON body or a landing page's form: the form gets an HTML page, which the document
    // (JSON only) does not describe.
    ("oum.rs", "confirm_email_change", "JSON or an HTML form"),
    // Bulk operations answer a file or JSON by the request's Accept and content type.
    ("eva/bulk.rs", "*", "a file or JSON"),
];

const FILES: &[&str] = &[
    "admin.rs",
    "admin_clients.rs",
    "admin_connections.rs",
    "events.rs",
    "webhooks.rs",
    "oum.rs",
    "eva/mod.rs",
    "eva/bulk.rs",
    "amigo/links.rs",
    "amigo/orgs.rs",
    "amigo/roles.rs",
    "amigo/users.rs",
];

/// `(status, body type)` of each 2xx response of an annotation.
fn successes(annotation: &str) -> Vec<(u16, Option<String>)> {
    let mut out = Vec::new();
    for chunk in annotation.split("(status = ").skip(1) {
        let status: String = chunk.chars().take_while(|c| c.is_ascii_digit()).collect();
        let Ok(status) = status.parse::<u16>() else {
            continue;
        };
        if !(200..300).contains(&status) {
            continue;
        }
        let body = chunk.find("body = ").map(|at| {
            let mut depth = 0i32;
            chunk[at + 7..]
                .chars()
                .take_while(|&c| {
                    match c {
                        '<' | '(' | '[' => depth += 1,
                        '>' | ']' => depth -= 1,
                        ')' if depth == 0 => return false,
                        ')' => depth -= 1,
                        ',' if depth == 0 => return false,
                        _ => {}
                    }
                    true
                })
                .collect::<String>()
                .trim()
                .to_owned()
        });
        out.push((status, body));
    }
    out
}

/// Each documented handler of a file: its name, its annotation and its return type.
fn handlers(src: &str) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    let mut rest = src;
    while let Some(at) = rest.find("#[utoipa::path(") {
        let after = &rest[at..];
        let end = after.find(")]\n").expect("annotation closes");
        let annotation = &after[..end];
        let sig = &after[end..];
        let name_at = sig.find("fn ").expect("a handler follows") + 3;
        let name: String = sig[name_at..]
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        let ret_at = sig.find(") -> ").expect("a return type") + 5;
        let ret = sig[ret_at..sig.find(" {\n").expect("a body")]
            .trim()
            .to_owned();
        out.push((name, annotation.to_owned(), ret));
        rest = &after[end..];
    }
    out
}

#[test]
fn documented_bodies_are_the_types_the_handlers_return() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/routes");
    let mut problems = Vec::new();
    let mut typed = 0;
    let mut untyped_seen = BTreeSet::new();
    for file in FILES {
        let src = std::fs::read_to_string(dir.join(file)).expect("source");
        for (name, annotation, ret) in handlers(&src) {
            let listed = UNTYPED
                .iter()
                .find(|(f, n, _)| f == file && (*n == "*" || *n == name));
            if ret == "Result<Response>" {
                match listed {
                    Some(l) => {
                        untyped_seen.insert((l.0, l.1));
                    }
                    None => problems.push(format!("{file} {name}: returns an untyped Response")),
                }
                continue;
            }
            if let Some((_, n, _)) = listed.filter(|(_, n, _)| *n != "*") {
                problems.push(format!("{file} {n}: typed now, remove it from UNTYPED"));
            }
            let ok = successes(&annotation);
            let expected = match ok.as_slice() {
                [(204, None)] => "Result<NoContent>".to_owned(),
                [(status, Some(body))] => format!("Result<Reply<{status}, {body}>>"),
                other => {
                    problems.push(format!("{file} {name}: documents {other:?}"));
                    continue;
                }
            };
            if ret != expected {
                problems.push(format!(
                    "{file} {name}: documented as {expected}, returns {ret}"
                ));
            }
            typed += 1;
        }
    }
    for (file, name, _) in UNTYPED {
        if !untyped_seen.contains(&(*file, *name)) {
            problems.push(format!(
                "{file} {name}: listed as untyped but no handler is"
            ));
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
    assert!(typed >= 35, "{typed} typed handlers read");
}

#[test]
fn the_reader_finds_statuses_and_bodies() {
    let a = r#"responses((status = 201, description = "Created", body = Reply), (status = 200, description = "x, y", body = Vec<Out>), (status = 404, description = "No")),"#;
    assert_eq!(
        successes(a),
        vec![
            (201, Some("Reply".to_owned())),
            (200, Some("Vec<Out>".to_owned()))
        ]
    );
    assert_eq!(
        successes(r#"responses((status = 204, description = "Deleted"))"#),
        vec![(204, None)]
    );
}
