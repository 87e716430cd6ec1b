//! What the provider's tests drive it with: a browser that keeps cookies and follows no
//! redirect, the hosted form read from the page, the token endpoint, registered clients.

use std::collections::BTreeMap;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use reqwest::redirect::Policy;
use serde_json::{json, Value};

use crate::helpers::{Org, TestApp};

pub const PASSWORD: &str = "Sign-in-pass1";
pub const REDIRECT: &str = "https://app.example.test/cb";
/// A PKCE verifier, and its S256 challenge as Python's hashlib computes it.
pub const VERIFIER: &str = "dBjftJeZ4CVP-mJ92K1hLxpc9Q-yMjT5N4X5Z4l2Kmw";
pub const CHALLENGE: &str = "0u-BkQjz47oLqPyj4TgSF5LUwVkmcCmoBHIDdItde6g";

/// A registered client: (id, secret).
pub async fn client(
    app: &TestApp,
    org: &Org,
    public: bool,
    uris: &[&str],
) -> (String, Option<String>) {
    let made = app
        .post(
            &format!("/admin/v1/orgs/{}/oidc-clients", org.id),
            &org.token,
            json!({ "name": "Example <App>", "redirect_uris": uris, "public": public }),
        )
        .await
        .expect(201);
    (
        made["client_id"].as_str().unwrap().to_owned(),
        made["client_secret"].as_str().map(str::to_owned),
    )
}

/// A browser: no redirects followed, cookies kept by name.
pub struct Browser {
    http: reqwest::Client,
    base: String,
    pub cookies: BTreeMap<String, String>,
    /// What requests leave to do after their answer (an emailed link), waited for before the
    /// test looks at the outcome.
    deferred: std::sync::Arc<roster_domain::core::Deferred>,
}

pub struct Page {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
}

impl Page {
    pub fn location(&self) -> Option<String> {
        self.headers
            .get(LOCATION)
            .map(|v| v.to_str().unwrap().to_owned())
    }

    /// The query parameters of the redirect.
    pub fn redirect_params(&self) -> BTreeMap<String, String> {
        let loc = self
            .location()
            .unwrap_or_else(|| panic!("a redirect: {} {}", self.status, self.body));
        let query = loc.split_once('?').map(|(_, q)| q).unwrap_or_default();
        form_urlencoded::parse(query.as_bytes())
            .into_owned()
            .collect()
    }

    /// The form's fields, hidden ones with their values.
    pub fn hidden_fields(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for chunk in self.body.split("<input type=\"hidden\" ").skip(1) {
            let attr = |name: &str| {
                let start = chunk.find(&format!("{name}=\"")).unwrap() + name.len() + 2;
                let v = &chunk[start..];
                unescape(&v[..v.find('"').unwrap()])
            };
            out.push((attr("name"), attr("value")));
        }
        out
    }
}

fn unescape(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

impl Browser {
    pub fn new(app: &TestApp) -> Self {
        Self {
            http: reqwest::Client::builder()
                .redirect(Policy::none())
                .build()
                .unwrap(),
            base: app.base.clone(),
            cookies: BTreeMap::new(),
            deferred: app.state.core.deferred.clone(),
        }
    }

    async fn keep(&mut self, r: reqwest::Response) -> Page {
        for c in r.headers().get_all(SET_COOKIE) {
            let c = c.to_str().unwrap();
            let (kv, _) = c.split_once(';').unwrap_or((c, ""));
            let (k, v) = kv.split_once('=').unwrap();
            if v.is_empty() || c.contains("Max-Age=0") {
                self.cookies.remove(k);
            } else {
                self.cookies.insert(k.to_owned(), v.to_owned());
            }
        }
        Page {
            status: r.status().as_u16(),
            headers: r.headers().clone(),
            body: r.text().await.unwrap(),
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    pub async fn get(&mut self, path_and_query: &str) -> Page {
        let r = self
            .http
            .get(format!("{}{path_and_query}", self.base))
            .header(COOKIE, self.cookie_header())
            .send()
            .await
            .unwrap();
        self.keep(r).await
    }

    /// A `multipart/form-data` post (a form with files), with the browser's cookies.
    pub async fn post_multipart(&mut self, path: &str, form: reqwest::multipart::Form) -> Page {
        let r = self
            .http
            .post(format!("{}{path}", self.base))
            .header(COOKIE, self.cookie_header())
            .multipart(form)
            .send()
            .await
            .unwrap();
        self.keep(r).await
    }

    pub async fn post(&mut self, path: &str, fields: &[(String, String)]) -> Page {
        let mut body = form_urlencoded::Serializer::new(String::new());
        for (k, v) in fields {
            body.append_pair(k, v);
        }
        let r = self
            .http
            .post(format!("{}{path}", self.base))
            .header(COOKIE, self.cookie_header())
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body.finish())
            .send()
            .await
            .unwrap();
        let page = self.keep(r).await;
        self.deferred.idle().await;
        page
    }
}

pub fn auth_path(org: &str, params: &[(&str, &str)]) -> String {
    let mut q = form_urlencoded::Serializer::new(String::new());
    for (k, v) in params {
        q.append_pair(k, v);
    }
    format!("/realms/{org}/protocol/openid-connect/auth?{}", q.finish())
}

pub fn request<'a>(client_id: &'a str, state: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("client_id", client_id),
        ("redirect_uri", REDIRECT),
        ("response_type", "code"),
        ("scope", "openid profile email"),
        ("state", state),
        ("nonce", "n-0S6_WzA2Mj"),
        ("code_challenge", CHALLENGE),
        ("code_challenge_method", "S256"),
    ]
}

/// Posts the form of `page` with these credentials.
pub async fn sign_in_on(
    b: &mut Browser,
    org: &str,
    page: &Page,
    email: &str,
    password: &str,
) -> Page {
    assert_eq!(page.status, 200, "{}", page.body);
    let mut fields = page.hidden_fields();
    fields.push(("username".into(), email.into()));
    fields.push(("password".into(), password.into()));
    b.post(
        &format!("/realms/{org}/protocol/openid-connect/auth"),
        &fields,
    )
    .await
}

/// The code of a full sign-in through the form.
pub async fn code_for(b: &mut Browser, org: &str, client_id: &str, email: &str) -> String {
    let page = b.get(&auth_path(org, &request(client_id, "st-1"))).await;
    let done = sign_in_on(b, org, &page, email, PASSWORD).await;
    assert_eq!(done.status, 303, "{}", done.body);
    let p = done.redirect_params();
    assert_eq!(p["state"], "st-1");
    assert!(done
        .location()
        .unwrap()
        .starts_with(&format!("{REDIRECT}?")));
    p["code"].clone()
}

pub async fn token(
    app: &TestApp,
    org: &str,
    form: &[(&str, &str)],
    basic: Option<(&str, &str)>,
) -> (u16, Value) {
    let mut body = form_urlencoded::Serializer::new(String::new());
    for (k, v) in form {
        body.append_pair(k, v);
    }
    let mut req = app
        .client
        .post(format!(
            "{}/realms/{org}/protocol/openid-connect/token",
            app.base
        ))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body.finish());
    if let Some((id, secret)) = basic {
        req = req.basic_auth(id, Some(secret));
    }
    let r = req.send().await.unwrap();
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

/// The code exchanged by the public client `client` (PKCE with `VERIFIER`).
pub async fn exchange(app: &TestApp, org: &str, client: &str, code: &str) -> (u16, Value) {
    token(
        app,
        org,
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT),
            ("client_id", client),
            ("code_verifier", VERIFIER),
        ],
        None,
    )
    .await
}

/// The tokens of a full sign-in of `email` through the form of browser `b`, for the public
/// client `client`.
pub async fn signed_in_tokens(
    app: &TestApp,
    b: &mut Browser,
    org: &str,
    client: &str,
    email: &str,
) -> (u16, Value) {
    let code = code_for(b, org, client, email).await;
    exchange(app, org, client, &code).await
}

pub fn claims(jwt: &str) -> Value {
    let payload = jwt.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

/// An organization whose administrator has `PASSWORD`; returns it and the email.
pub async fn org_with_password(app: &TestApp, id: &str) -> (Org, String) {
    let org = app.bootstrap(id).await;
    let email = app.give_admin_password(&org, PASSWORD).await;
    (org, email)
}
