//! The core speaks Roster's model: `crates/domain/src` holds none of the surfaces' wire names
//! (their query, header and field names, their paths) and no file over 600 lines. Each
//! surface's words live in its adapter under `crates/server/src/routes/`.

use std::path::{Path, PathBuf};

const DOMAIN: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../domain/src");
const AMIGO: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../reference/amigo-classic-user.openapi.json"
);

/// Names of the eva-user contract (reference/eva-user.md): its query parameters, path
/// parameters, camelCase body fields and error body fields.
const EVA: &[&str] = &[
    "linesPerPage",
    "orderBy",
    "searchTerms",
    "orgUUID",
    "userUuid",
    "botUUID",
    "userHasConf",
    "passwordConfirmation",
    "createdAt",
    "updatedAt",
    "fieldName",
    "errorCode",
    "errorType",
    "StandardError",
    "ValidationError",
    "/eva-user/",
];

/// Names of the org-user-management contract (reference/org-user-management.md): the list's
/// query parameters and the surface's paths.
const OUM: &[&str] = &[
    "page_number",
    "page_size",
    "name_search",
    "/users/me",
    "/users/invite",
    "/users/email-change",
    "/organization",
];

/// SCIM's (RFC 7643 and 7644): its attribute and query names, its schema URNs, its paths. The
/// core calls the same things `email`, `external_id`, a `UserFilter`, an offset.
const SCIM: &[&str] = &[
    "userName",
    "externalId",
    "displayName",
    "givenName",
    "familyName",
    "scimType",
    "urn:ietf:params:scim",
    "startIndex",
    "itemsPerPage",
    "totalResults",
    "sortBy",
    "excludedAttributes",
    "ServiceProviderConfig",
    "ResourceTypes",
    "PatchOp",
    "/scim/",
];

/// Amigo's (the vendor OpenAPI document): its path prefix, and every header parameter it
/// declares, read from the document so that a new one is forbidden too.
fn amigo() -> Vec<String> {
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(AMIGO).expect("the Amigo document"))
            .expect("JSON");
    let mut names = vec![
        "/v1/".to_owned(),
        "x-mongo".to_owned(),
        "X-ORG-ID".to_owned(),
    ];
    for item in doc["paths"].as_object().expect("paths").values() {
        for op in item.as_object().expect("path item").values() {
            for p in op["parameters"].as_array().into_iter().flatten() {
                if p["in"] == "header" {
                    names.push(p["name"].as_str().expect("name").to_owned());
                }
            }
        }
    }
    names.sort();
    names.dedup();
    assert!(
        names.iter().any(|n| n == "x-mongo-cluster-name"),
        "the document's headers were read: {names:?}"
    );
    names
}

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("domain sources") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// What the domain may still say, and why: the eva bulk file's column names are its file
/// format, which `import.rs` parses (see docs/architecture.md, "Debt").
fn allowed(file: &Path, name: &str) -> bool {
    let in_file = |f: &str| file.ends_with(f);
    matches!(name, "environmentUuid" | "environmentName")
        && (in_file("import.rs") || in_file("core/bulk.rs"))
}

/// What is wrong with the Rust files under `dir`: a surface's word, or more than 600 lines.
fn problems_in(dir: &Path) -> Vec<String> {
    let mut files = Vec::new();
    sources(dir, &mut files);
    // Field and query names as written (`createdAt`, not the variant `CreatedAt`); header
    // names in any case, as HTTP reads them.
    let mut forbidden: Vec<(String, bool)> = EVA
        .iter()
        .chain(OUM)
        .chain(SCIM)
        .chain(&["environmentUuid", "environmentName"])
        .map(|s| ((*s).to_owned(), false))
        .collect();
    forbidden.extend(amigo().into_iter().map(|h| (h, true)));
    let mut problems = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).expect("source");
        let lines = text.lines().count();
        if lines > 600 {
            problems.push(format!("{}: {lines} lines (at most 600)", file.display()));
        }
        for (name, any_case) in &forbidden {
            let found = |l: &str| {
                if *any_case {
                    l.to_lowercase().contains(&name.to_lowercase())
                } else {
                    l.contains(name.as_str())
                }
            };
            if let Some(i) = text.lines().position(found) {
                if !allowed(file, name) {
                    problems.push(format!("{}:{}: `{name}`", file.display(), i + 1));
                }
            }
        }
    }
    problems
}

#[test]
fn the_domain_holds_no_surface_words_and_no_long_file() {
    let mut files = Vec::new();
    sources(Path::new(DOMAIN), &mut files);
    assert!(files.len() > 20, "the domain's files were found: {files:?}");
    let problems = problems_in(Path::new(DOMAIN));
    assert!(
        problems.is_empty(),
        "the domain speaks a surface's words or grew too long:\n{}",
        problems.join("\n")
    );
}

/// The check finds what it looks for: wire names of each contract and a long file, planted
/// in a copy of the domain's layout, are each reported.
#[test]
fn the_check_sees_planted_wire_names_and_a_long_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let core = dir.path().join("core");
    std::fs::create_dir(&core).expect("dir");
    let plant = |name: &str, text: String| std::fs::write(core.join(name), text).expect("write");
    plant("eva.rs", "let lines = q.int(\"linesPerPage\");\n".into());
    plant("orgs.rs", "headers.get(\"X-Mongo-Cluster-Name\");\n".into());
    plant(
        "links.rs",
        "format!(\"{base}/v1/{org}/user/verify\")\n".into(),
    );
    plant("members.rs", "q.one(\"name_search\")\n".into());
    plant(
        "directory.rs",
        "let f = q.one(\"startIndex\"); // userName\n".into(),
    );
    plant("long.rs", "// a line\n".repeat(601));
    plant("fine.rs", "let created_at = now; // CreatedAt\n".into());
    let problems = problems_in(dir.path()).join("\n");
    for expected in [
        "eva.rs:1: `linesPerPage`",
        "orgs.rs:1: `x-mongo`",
        "orgs.rs:1: `x-mongo-cluster-name`",
        "links.rs:1: `/v1/`",
        "members.rs:1: `name_search`",
        "directory.rs:1: `startIndex`",
        "directory.rs:1: `userName`",
        "long.rs: 601 lines",
    ] {
        assert!(problems.contains(expected), "{expected} in:\n{problems}");
    }
    assert!(!problems.contains("fine.rs"), "{problems}");
}
