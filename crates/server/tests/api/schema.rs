//! Checks every Amigo response a test receives against the vendor's own OpenAPI document.

use std::collections::HashMap;
use std::sync::OnceLock;

use reqwest::Method;
use serde_json::{json, Value};

struct Spec {
    doc: Value,
    /// (method, template segments)
    operations: Vec<(String, Vec<String>, String)>,
    validators: std::sync::Mutex<HashMap<String, std::sync::Arc<jsonschema::Validator>>>,
}

fn spec() -> &'static Spec {
    static SPEC: OnceLock<Spec> = OnceLock::new();
    SPEC.get_or_init(|| {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../reference/amigo-classic-user.openapi.json"
        );
        let doc: Value =
            serde_json::from_str(&std::fs::read_to_string(path).expect("vendor OpenAPI present"))
                .expect("valid JSON");
        let mut operations = Vec::new();
        for (p, ops) in doc["paths"].as_object().expect("paths") {
            for m in ops.as_object().expect("operations").keys() {
                let segs = p
                    .trim_end_matches('/')
                    .split('/')
                    .map(str::to_owned)
                    .collect();
                operations.push((m.to_uppercase(), segs, p.clone()));
            }
        }
        Spec {
            doc,
            operations,
            validators: Default::default(),
        }
    })
}

/// The vendor path template an actual request path belongs to (seed aliases included).
fn template_of(method: &str, path: &str) -> Option<String> {
    let path = path.split('?').next().unwrap_or(path).trim_end_matches('/');
    let segs: Vec<&str> = path.split('/').collect();
    // Roster's own exchange of verify_link tokens has no vendor schema.
    if segs.len() == 5 && segs[3] == "user" && segs[4] == "verify" {
        return None;
    }
    // The seed's paths answer like the OpenAPI's: /user/invite is create-invited-user, /user/{id}/user is update.
    if method == "POST" && segs.len() == 5 && segs[3] == "user" && segs[4] == "invite" {
        return Some("/v1/{organization}/user/".into());
    }
    if method == "POST" && segs.len() == 6 && segs[3] == "user" && segs[5] == "user" {
        return Some("/v1/{organization}/user/{requested_user_id}".into());
    }
    let mut best: Option<(usize, String)> = None;
    for (m, t, raw) in &spec().operations {
        if m != method || t.len() != segs.len() {
            continue;
        }
        let mut literal = 0;
        let ok = t.iter().zip(&segs).all(|(a, b)| {
            if a.starts_with('{') {
                true
            } else {
                literal += 1;
                a == b
            }
        });
        if ok && best.as_ref().is_none_or(|(n, _)| literal > *n) {
            best = Some((literal, raw.clone()));
        }
    }
    best.map(|b| b.1)
}

/// Validates a response body against the schema the vendor gives for that status, if any.
/// Error statuses carry no schema in the vendor document; they must still be `{"detail": ...}`.
pub fn check_amigo_response(method: &Method, path: &str, status: u16, body: &Value) {
    if status >= 400 {
        assert!(
            body.get("detail").is_some(),
            "{method} {path} -> {status}: error body must be FastAPI-shaped: {body}"
        );
        return;
    }
    let Some(template) = template_of(method.as_str(), path) else {
        return;
    };
    let s = spec();
    let op = &s.doc["paths"][&template][method.as_str().to_lowercase()];
    let Some(schema) =
        op["responses"][status.to_string()]["content"]["application/json"].get("schema")
    else {
        if status != 204 && !(status == 200 && method == Method::DELETE) {
            assert!(
                op["responses"].get(status.to_string()).is_some(),
                "{method} {path}: status {status} is not in the vendor contract"
            );
        }
        return;
    };
    let key = format!("{method} {template} {status}");
    let validator = {
        let mut cache = s.validators.lock().expect("lock");
        cache
            .entry(key.clone())
            .or_insert_with(|| {
                let mut root = schema.clone();
                if let Value::Object(m) = &mut root {
                    m.insert("components".into(), s.doc["components"].clone());
                    m.insert(
                        "$schema".into(),
                        json!("https://json-schema.org/draft/2020-12/schema"),
                    );
                }
                std::sync::Arc::new(
                    jsonschema::validator_for(&root).expect("vendor schema compiles"),
                )
            })
            .clone()
    };
    let errors: Vec<String> = validator
        .iter_errors(body)
        .map(|e| format!("{} at {}", e, e.instance_path))
        .collect();
    assert!(
        errors.is_empty(),
        "{key}: response does not match the vendor schema: {errors:?}\nbody: {body}"
    );
}

#[test]
fn templates_resolve() {
    assert_eq!(
        template_of("POST", "/v1/acme/user/abc").as_deref(),
        Some("/v1/{organization}/user/{requested_user_id}")
    );
    assert_eq!(
        template_of("POST", "/v1/acme/user/signin_with_api_key").as_deref(),
        Some("/v1/{organization}/user/signin_with_api_key")
    );
    assert_eq!(
        template_of("GET", "/v1/acme/user/search/?query=x").as_deref(),
        Some("/v1/{organization}/user/search/")
    );
    assert_eq!(
        template_of("POST", "/v1/acme/user/invite").as_deref(),
        Some("/v1/{organization}/user/")
    );
    assert_eq!(
        template_of("POST", "/v1/acme/role/temporary_permission_grant/").as_deref(),
        Some("/v1/{organization}/role/temporary_permission_grant/")
    );
}

#[test]
fn a_wrong_body_is_caught() {
    let bad = json!({ "users": [{ "user_id": 1 }], "has_more": false, "continuation_token": null });
    let r = std::panic::catch_unwind(|| {
        check_amigo_response(&Method::GET, "/v1/acme/user/", 200, &bad)
    });
    assert!(
        r.is_err(),
        "the checker must reject a body that breaks the schema"
    );
}
