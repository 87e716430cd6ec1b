//! How the provider's routes answer what goes wrong: a rate limit in OAuth's shape on the
//! endpoints a program calls and as a page on the ones a browser opens, both with
//! `Retry-After`; every 4xx in its RFC shape, walked over the whole route table; and no token
//! response ever cached (RFC 6749 §5.1).

use reqwest::header::{CACHE_CONTROL, CONTENT_TYPE, PRAGMA, RETRY_AFTER};
use reqwest::Method;
use roster_server::surface::{Policy, Registered};
use serde_json::Value;

use crate::helpers::TestApp;
use crate::oidc_browser::{
    auth_path, client, code_for, org_with_password, request, Browser, REDIRECT, VERIFIER,
};

/// The provider's routes, as its router registered them.
fn oidc_routes() -> Vec<Registered> {
    let reg: Vec<Registered> = roster_server::routes::build(1024)
        .2
        .into_iter()
        .filter(|r| r.surface == "oidc")
        .collect();
    assert!(reg.len() >= 20, "{} oidc routes", reg.len());
    reg
}

/// A route's path with its parameters filled in.
fn concrete(path: &str, realm: &str) -> String {
    path.replace("{realm}", realm)
        .replace("{org}", realm)
        .replace("{name}", "google-oauth2")
}

struct Answer {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: String,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }

    fn header(&self, name: reqwest::header::HeaderName) -> &str {
        self.headers
            .get(&name)
            .map(|v| v.to_str().unwrap())
            .unwrap_or_default()
    }
}

async fn send(app: &TestApp, method: &Method, path: &str, lang: Option<&str>) -> Answer {
    let mut r = app
        .client
        .request(method.clone(), format!("{}{path}", app.base))
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded");
    if let Some(l) = lang {
        r = r.header("accept-language", l);
    }
    let r = r.send().await.unwrap();
    Answer {
        status: r.status().as_u16(),
        headers: r.headers().clone(),
        body: r.text().await.unwrap(),
    }
}

/// A browser page: HTML with the pages' headers and its language.
fn assert_page(what: &str, a: &Answer, status: u16, lang: &str) {
    assert_eq!(a.status, status, "{what}: {}", a.body);
    assert!(
        a.header(CONTENT_TYPE).starts_with("text/html"),
        "{what}: {:?}",
        a.headers
    );
    assert!(
        a.header("content-security-policy".parse().unwrap())
            .contains("default-src 'none'"),
        "{what}"
    );
    assert_eq!(
        a.header("x-frame-options".parse().unwrap()),
        "DENY",
        "{what}"
    );
    assert!(
        a.body.contains(&format!("<html lang=\"{lang}\"")),
        "{what}: {}",
        a.body
    );
    assert!(!a.body.contains("<script"), "{what}");
}

/// OAuth's error: `{"error", "error_description"}` and nothing of another surface's shape.
fn assert_oauth(what: &str, a: &Answer, status: u16, error: &str) {
    assert_eq!(a.status, status, "{what}: {}", a.body);
    assert!(
        a.header(CONTENT_TYPE).starts_with("application/json"),
        "{what}: {:?}",
        a.headers
    );
    let body = a.json();
    assert_eq!(body["error"], error, "{what}: {body}");
    assert!(
        body["error_description"]
            .as_str()
            .is_some_and(|d| !d.is_empty()),
        "{what}: {body}"
    );
    for foreign in ["errorCode", "detail", "message"] {
        assert!(body.get(foreign).is_none(), "{what}: {body}");
    }
}

/// Every route whose budget is charged before its handler runs is refused, once that budget is
/// spent, as a page (a browser's) or as OAuth's `slow_down` (a program's), with Retry-After.
#[tokio::test]
async fn a_spent_budget_is_a_page_on_the_pages_and_slow_down_on_the_endpoints() {
    let app = TestApp::spawn_with(|c| {
        c.rate_limits = "show-page=1,verify-token=1,userinfo=1,end-session=1".into();
    })
    .await;
    app.bootstrap("acme").await;
    let mut walked = 0;
    for r in oidc_routes() {
        let what = format!("{} {} ({})", r.method, r.path, r.operation);
        let bucket = match r.policy.unwrap_or_else(|| panic!("{what}: no policy")) {
            Policy::Client(b) => b,
            Policy::Open => {
                assert!(
                    ["oidc-discovery", "oidc-certs"].contains(&r.operation.as_str()),
                    "{what}"
                );
                continue;
            }
            Policy::Handler(_) => {
                // Counted by the handler on what the request says: the sign-in form and the
                // upstream callback, below and in security_limits.
                assert!(
                    ["oidc-sign-in", "oidc-upstream-callback"].contains(&r.operation.as_str()),
                    "{what}"
                );
                continue;
            }
            Policy::Caller(b) => panic!("{what}: a caller's bucket {b} on the provider"),
        };
        let path = concrete(&r.path, "acme");
        // Another route may have spent the bucket already; at most one request gets through.
        let mut refused = send(&app, &r.method, &path, Some("ja")).await;
        if refused.status != 429 {
            refused = send(&app, &r.method, &path, Some("ja")).await;
        }
        let retry: u64 = refused
            .header(RETRY_AFTER)
            .parse()
            .unwrap_or_else(|_| panic!("{what} ({bucket}): Retry-After {:?}", refused.headers));
        assert!((1..=61).contains(&retry), "{what}: {retry}");
        if roster_server::routes::oidc::errors::is_page(&path) {
            assert_page(&what, &refused, 429, "ja");
        } else {
            assert_oauth(&what, &refused, 429, "slow_down");
        }
        walked += 1;
    }
    assert!(walked >= 14, "{walked} limited routes walked");
}

/// The budgets the handlers count: the sign-in form's password attempts (a page) and the
/// token endpoint's (OAuth's JSON), both with Retry-After.
#[tokio::test]
async fn the_password_budget_is_a_page_on_the_form_and_slow_down_at_the_token_endpoint() {
    let app = TestApp::spawn_with(|c| c.rate_limits = "password-grant=1".into()).await;
    let (acme, email) = org_with_password(&app, "acme").await;
    let (id, _) = client(&app, &acme, true, &[REDIRECT]).await;
    let mut b = Browser::new(&app);
    let mut q = request(&id, "st-429");
    q.push(("ui_locales", "pt"));
    let page = b.get(&auth_path("acme", &q)).await;
    let mut last = None;
    for _ in 0..2 {
        let p = crate::oidc_browser::sign_in_on(&mut b, "acme", &page, &email, "Wrong-pass1").await;
        last = Some(p);
    }
    let refused = last.unwrap();
    assert_eq!(refused.status, 429, "{}", refused.body);
    assert!(refused.headers.contains_key(RETRY_AFTER));
    assert!(
        refused.body.contains("<html lang=\"pt\""),
        "{}",
        refused.body
    );
    assert!(refused.location().is_none());

    let form = [
        ("grant_type", "password"),
        ("username", email.as_str()),
        ("password", "Wrong-pass1"),
    ];
    let r = app
        .client
        .post(format!(
            "{}/realms/acme/protocol/openid-connect/token",
            app.base
        ))
        .form(&form)
        .send()
        .await
        .unwrap();
    let a = Answer {
        status: r.status().as_u16(),
        headers: r.headers().clone(),
        body: r.text().await.unwrap(),
    };
    assert_oauth("token endpoint", &a, 429, "slow_down");
    assert!(a.headers.contains_key(RETRY_AFTER));
    assert_eq!(a.header(CACHE_CONTROL), "no-store");
}

/// Every route of the provider refuses a request for an organization that does not exist in
/// its own RFC's shape: OAuth's JSON on the endpoints (RFC 6749 §5.2, RFC 6750 §3.1) and a page
/// on the browser's; so does a path under the provider that no route serves, and userinfo
/// without a token (401 with `WWW-Authenticate: Bearer`).
#[tokio::test]
async fn every_refusal_of_the_provider_is_in_its_rfc_shape() {
    let app = TestApp::spawn().await;
    app.bootstrap("acme").await;
    for r in oidc_routes() {
        let what = format!("{} {} ({})", r.method, r.path, r.operation);
        let path = concrete(&r.path, "nowhere");
        let a = send(&app, &r.method, &path, None).await;
        assert!(
            (400..500).contains(&a.status),
            "{what}: {} {}",
            a.status,
            a.body
        );
        if roster_server::routes::oidc::errors::is_page(&path) {
            assert_page(&what, &a, a.status, "en");
        } else {
            assert_oauth(&what, &a, 404, "invalid_request");
        }
    }
    let unserved = send(
        &app,
        &Method::GET,
        "/realms/acme/protocol/openid-connect/nope",
        None,
    )
    .await;
    assert_oauth("unserved", &unserved, 404, "invalid_request");
    let anonymous = send(
        &app,
        &Method::GET,
        "/realms/acme/protocol/openid-connect/userinfo",
        None,
    )
    .await;
    assert_oauth("userinfo", &anonymous, 401, "invalid_token");
    assert!(anonymous
        .header(reqwest::header::WWW_AUTHENTICATE)
        .starts_with("Bearer"));
}

fn assert_not_cached(what: &str, headers: &reqwest::header::HeaderMap) {
    assert_eq!(
        headers.get(CACHE_CONTROL).map(|v| v.to_str().unwrap()),
        Some("no-store"),
        "{what}"
    );
    assert_eq!(
        headers.get(PRAGMA).map(|v| v.to_str().unwrap()),
        Some("no-cache"),
        "{what}"
    );
}

/// RFC 6749 §5.1: every answer of the token endpoint, whichever grant and under either of its
/// paths, and its errors too, carries `Cache-Control: no-store` and `Pragma: no-cache`.
#[tokio::test]
async fn no_token_response_is_ever_cached() {
    let app = TestApp::spawn().await;
    let (acme, email) = org_with_password(&app, "acme").await;
    let (id, _) = client(&app, &acme, true, &[REDIRECT]).await;
    let post = |path: &'static str, form: Vec<(&'static str, String)>| {
        let app = &app;
        async move {
            let r = app
                .client
                .post(format!("{}{path}", app.base))
                .form(&form)
                .send()
                .await
                .unwrap();
            let headers = r.headers().clone();
            (
                r.status().as_u16(),
                headers,
                r.json::<Value>().await.unwrap(),
            )
        }
    };
    const TOKEN: &str = "/realms/acme/protocol/openid-connect/token";
    const UNDER_AUTH: &str = "/auth/realms/acme/protocol/openid-connect/token";
    let password = |p: &str| {
        vec![
            ("grant_type", "password".to_owned()),
            ("username", email.clone()),
            ("password", p.to_owned()),
        ]
    };
    for path in [TOKEN, UNDER_AUTH] {
        let (status, h, body) = post(path, password(crate::oidc_browser::PASSWORD)).await;
        assert_eq!(status, 200, "{body}");
        assert_not_cached(&format!("password grant at {path}"), &h);
        let refresh = body["refresh_token"].as_str().unwrap().to_owned();
        let (status, h, body) = post(
            path,
            vec![
                ("grant_type", "refresh_token".into()),
                ("refresh_token", refresh),
            ],
        )
        .await;
        assert_eq!(status, 200, "{body}");
        assert_not_cached(&format!("refresh grant at {path}"), &h);
        let (status, h, _) = post(path, password("Wrong-pass1")).await;
        assert_eq!(status, 401);
        assert_not_cached(&format!("refused password at {path}"), &h);
    }
    // The code grant and the refresh of what it started.
    let mut b = Browser::new(&app);
    let code = code_for(&mut b, "acme", &id, &email).await;
    let (status, h, body) = post(
        TOKEN,
        vec![
            ("grant_type", "authorization_code".into()),
            ("code", code),
            ("client_id", id.clone()),
            ("redirect_uri", REDIRECT.into()),
            ("code_verifier", VERIFIER.into()),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(body["id_token"].is_string());
    assert_not_cached("code grant", &h);
    let (status, h, body) = post(
        TOKEN,
        vec![
            ("grant_type", "refresh_token".into()),
            (
                "refresh_token",
                body["refresh_token"].as_str().unwrap().into(),
            ),
            ("client_id", id.clone()),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_not_cached("provider refresh grant", &h);
    let (status, h, _) = post(TOKEN, vec![("grant_type", "implicit".into())]).await;
    assert_eq!(status, 400);
    assert_not_cached("unsupported grant", &h);
}
