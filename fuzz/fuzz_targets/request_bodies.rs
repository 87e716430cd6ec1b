//! Every surface's request-body parsing, through the real router on a real SQLite file: the
//! first byte picks an operation, the rest is its body, sent with an administrator's token.
//! Whatever the bytes, the answer is never a 5xx (and never a panic, which the router would
//! turn into a 500).
#![no_main]

use std::sync::OnceLock;

use axum::body::Body;
use axum::http::{Method, Request};
use libfuzzer_sys::fuzz_target;
use roster_server::cli::Cli;
use roster_server::Application;
use tower::ServiceExt;

struct Target {
    rt: tokio::runtime::Runtime,
    router: axum::Router,
    token: String,
    uuid: String,
    _dir: tempfile::TempDir,
}

/// Operations that take a body: (method, path with `{uuid}` for the organization's uuid, type).
const OPERATIONS: &[(&str, &str, &str)] = &[
    ("POST", "/v1/acme/user/", "application/json"),
    ("POST", "/v1/acme/user/invite", "application/json"),
    ("POST", "/v1/acme/user/verify", "application/json"),
    ("POST", "/v1/acme/role/", "application/json"),
    ("POST", "/v1/acme/organization/", "application/json"),
    ("PUT", "/v1/acme/organization/api_key/", "application/json"),
    ("POST", "/v1/acme/role/temporary_permission_grant/", "application/json"),
    ("POST", "/v1/acme/user/password-reset/request", "application/json"),
    ("POST", "/eva-user/org/{uuid}/users", "application/json"),
    ("POST", "/eva-user/org/{uuid}/configurations", "application/json"),
    ("PUT", "/eva-user/org/{uuid}/users/activate", "application/json"),
    ("POST", "/eva-user/org/{uuid}/users/bulk-create", "text/csv"),
    ("POST", "/users/invite", "application/json"),
    ("PATCH", "/users/me", "application/json"),
    ("PUT", "/users/x/roles", "application/json"),
    ("POST", "/auth/realms/acme/protocol/openid-connect/token", "application/x-www-form-urlencoded"),
];

fn target() -> &'static Target {
    static TARGET: OnceLock<Target> = OnceLock::new();
    TARGET.get_or_init(|| {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let dir = tempfile::tempdir().expect("temp dir");
        let data = dir.path().display().to_string();
        let cli = Cli::load_from(
            ["roster", "--data-dir", &data, "--bind", "127.0.0.1:0", "--rate-limits", "off", "--mail-workers", "0"]
                .iter()
                .map(Into::into)
                .collect(),
        )
        .expect("settings");
        let (router, token, uuid) = rt.block_on(async {
            let app = Application::build(cli.config).await.expect("application");
            let state = app.state().clone();
            let made = state
                .core
                .bootstrap(
                    roster_domain::core::NewOrgInput {
                        id: "acme".into(),
                        name: "Acme".into(),
                        default_preferences: Default::default(),
                        user_dimensions: serde_json::json!([]),
                        branding: serde_json::json!({}),
                        is_platform: false,
                        cluster: None,
                    },
                    "admin@acme.example",
                    "Ada Admin",
                    "fuzz",
                    90,
                )
                .await
                .expect("bootstrap");
            let router = Application::router(state);
            let signin = Request::post("/v1/acme/user/signin_with_api_key")
                .header("x-api-key", &made.secret)
                .header("x-api-key-id", &made.api_key.key_id)
                .header("x-user-id", &made.user.id)
                .body(Body::empty())
                .expect("request");
            let resp = router.clone().oneshot(signin).await.expect("sign-in");
            let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20).await.expect("body");
            let v: serde_json::Value = serde_json::from_slice(&bytes).expect("json");
            let token = v["id_token"].as_str().expect("id_token").to_owned();
            (router, token, made.org.uuid)
        });
        Target { rt, router, token, uuid, _dir: dir }
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((first, body)) = data.split_first() else {
        return;
    };
    let t = target();
    let (method, path, content_type) = OPERATIONS[*first as usize % OPERATIONS.len()];
    let req = Request::builder()
        .method(Method::from_bytes(method.as_bytes()).expect("method"))
        .uri(path.replace("{uuid}", &t.uuid))
        .header("authorization", format!("Bearer {}", t.token))
        .header("content-type", content_type)
        .body(Body::from(body.to_vec()))
        .expect("request");
    let status = t
        .rt
        .block_on(t.router.clone().oneshot(req))
        .expect("infallible")
        .status();
    assert!(!status.is_server_error(), "{method} {path} answered {status}");
});
