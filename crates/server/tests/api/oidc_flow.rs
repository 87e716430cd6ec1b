//! Roster as an OpenID Connect provider, driven the way a browser and a client would: the
//! hosted sign-in form, the code flow with PKCE, tokens on every surface, the SSO session,
//! logout, refresh rotation, and every refusal (no open redirect, codes bound to client,
//! redirect URI and verifier, forms bound to the browser).

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
const CHALLENGE: &str = "0u-BkQjz47oLqPyj4TgSF5LUwVkmcCmoBHIDdItde6g";

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
        self.keep(r).await
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
async fn code_for(b: &mut Browser, org: &str, client_id: &str, email: &str) -> String {
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

#[tokio::test]
async fn the_code_flow_signs_in_through_the_form_and_its_tokens_work_everywhere() {
    let app = TestApp::spawn().await;
    let (acme, email) = org_with_password(&app, "acme").await;
    let (public, _) = client(&app, &acme, true, &[REDIRECT]).await;
    let mut b = Browser::new(&app);
    let page = b.get(&auth_path("acme", &request(&public, "st-1"))).await;
    assert_eq!(page.status, 200, "{}", page.body);
    // The page: one form, labelled controls, escaped names, strict headers.
    assert_eq!(page.body.matches("<form method=\"post\"").count(), 1);
    for control in [
        "name=\"username\"",
        "name=\"password\"",
        "<label for=\"username\"",
        "<label for=\"password\"",
    ] {
        assert!(page.body.contains(control), "{control}");
    }
    assert!(page.body.contains("Example &lt;App&gt;") && !page.body.contains("<App>"));
    assert!(!page.body.contains("<script"));
    let csp = page.headers["content-security-policy"].to_str().unwrap();
    for part in [
        "default-src 'none'",
        "frame-ancestors 'none'",
        "form-action 'self' https://app.example.test",
    ] {
        assert!(csp.contains(part), "{csp}");
    }
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    assert_eq!(page.headers["x-frame-options"], "DENY");
    assert_eq!(page.headers["referrer-policy"], "no-referrer");
    let browser_cookie = page
        .headers
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect::<Vec<_>>()
        .join("\n");
    for attr in ["HttpOnly", "SameSite=Lax", "Secure"] {
        assert!(browser_cookie.contains(attr), "{attr} in {browser_cookie}");
    }

    let done = sign_in_on(&mut b, "acme", &page, &email, PASSWORD).await;
    assert_eq!(done.status, 303, "{}", done.body);
    let sso = done
        .headers
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        sso.contains("roster_sso_acme=")
            && sso.contains("HttpOnly")
            && sso.contains("SameSite=Lax")
            && sso.contains("Secure"),
        "{sso}"
    );
    let p = done.redirect_params();
    assert_eq!(p["state"], "st-1");
    assert_eq!(p["iss"], "https://roster.example.test/realms/acme");

    let form = [
        ("grant_type", "authorization_code"),
        ("code", p["code"].as_str()),
        ("redirect_uri", REDIRECT),
        ("client_id", public.as_str()),
        ("code_verifier", VERIFIER),
    ];
    let (status, t) = token(&app, "acme", &form, None).await;
    assert_eq!(status, 200, "{t}");
    let id = claims(t["id_token"].as_str().unwrap());
    assert_eq!(id["iss"], "https://roster.example.test/realms/acme");
    assert_eq!(id["aud"], public.as_str());
    assert_eq!(id["nonce"], "n-0S6_WzA2Mj");
    assert_eq!(id["sub"], acme.admin_id.as_str());
    assert_eq!(id["email"], email.as_str());
    assert_eq!(id["org"], "acme");
    assert!(
        id["roles"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r == "DefaultAdministratorRole"),
        "{id}"
    );
    let access = t["access_token"].as_str().unwrap().to_owned();
    // The ID token is no access token (it has an audience and the realm's issuer).
    let id_token = t["id_token"].as_str().unwrap();
    assert_eq!(app.get("/v1/acme/user/", id_token).await.status, 401);

    // The access token, on the three surfaces and userinfo.
    app.get("/v1/acme/user/", &access).await.expect(200);
    app.get(&format!("/org/{}/users", acme.uuid), &access)
        .await
        .expect(200);
    app.get("/users/me", &access).await.expect(200);
    let info = app
        .get("/realms/acme/protocol/openid-connect/userinfo", &access)
        .await
        .expect(200);
    assert_eq!(info["sub"], acme.admin_id.as_str());
    assert_eq!(info["email"], email.as_str());
    assert_eq!(
        app.get("/realms/beta/protocol/openid-connect/userinfo", &access)
            .await
            .status,
        404
    );

    // Refresh rotates; the spent token presented again ends the successor too.
    let r1 = t["refresh_token"].as_str().unwrap().to_owned();
    let (status, t2) = token(
        &app,
        "acme",
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &r1),
            ("client_id", &public),
        ],
        None,
    )
    .await;
    assert_eq!(status, 200, "{t2}");
    assert_eq!(
        claims(t2["id_token"].as_str().unwrap())["aud"],
        public.as_str()
    );
    let r2 = t2["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(r1, r2);
    let (status, reused) = token(
        &app,
        "acme",
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &r1),
            ("client_id", &public),
        ],
        None,
    )
    .await;
    assert_eq!(
        (status, reused["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    let (status, _) = token(
        &app,
        "acme",
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &r2),
            ("client_id", &public),
        ],
        None,
    )
    .await;
    assert_eq!(status, 400, "reuse of a spent token withdrew its successor");
    let audit: Vec<String> = app
        .state
        .core
        .store
        .list_audit("acme", 100)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect();
    assert!(
        audit.iter().any(|a| a == "user.token_refresh_reused"),
        "{audit:?}"
    );

    // The password grant and its refresh keep working beside the provider's.
    let pw = app
        .password_token(&acme, &email, PASSWORD)
        .await
        .expect(200);
    let (status, _) = token(
        &app,
        "acme",
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", pw["refresh_token"].as_str().unwrap()),
        ],
        None,
    )
    .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn the_session_signs_in_again_until_prompt_login_or_logout_and_confidential_clients_use_their_secret(
) {
    let app = TestApp::spawn().await;
    let (acme, email) = org_with_password(&app, "acme").await;
    let (id, secret) = client(
        &app,
        &acme,
        false,
        &[REDIRECT, "https://app.example.test/bye"],
    )
    .await;
    let secret = secret.unwrap();
    let mut b = Browser::new(&app);
    let code = code_for(&mut b, "acme", &id, &email).await;
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT),
        ("code_verifier", VERIFIER),
    ];
    // Without its secret, or with a wrong one, the confidential client is refused.
    let (status, e) = token(
        &app,
        "acme",
        &[form.as_slice(), &[("client_id", id.as_str())]].concat(),
        None,
    )
    .await;
    assert_eq!((status, e["error"].as_str()), (401, Some("invalid_client")));
    let (status, _) = token(&app, "acme", &form, Some((&id, "wrong"))).await;
    assert_eq!(status, 401);
    let (status, t) = token(&app, "acme", &form, Some((&id, &secret))).await;
    assert_eq!(status, 200, "{t}");

    // A second request: signed in at once by the session.
    let again = b.get(&auth_path("acme", &request(&id, "st-2"))).await;
    assert_eq!(again.status, 303, "{}", again.body);
    assert_eq!(again.redirect_params()["state"], "st-2");
    // A max_age the sign-in is within still signs in at once; a malformed one is an error
    // for the client.
    let mut recent = request(&id, "st-age");
    recent.push(("max_age", "3600"));
    assert_eq!(b.get(&auth_path("acme", &recent)).await.status, 303);
    let mut bad_age = request(&id, "st-age");
    bad_age.push(("max_age", "soon"));
    let r = b.get(&auth_path("acme", &bad_age)).await;
    assert_eq!(r.redirect_params()["error"], "invalid_request");
    // prompt=login asks again.
    let mut with_prompt = request(&id, "st-3");
    with_prompt.push(("prompt", "login"));
    assert_eq!(b.get(&auth_path("acme", &with_prompt)).await.status, 200);

    // Logout ends the session and returns only to a registered URI.
    let out = b
        .get(&format!("/realms/acme/protocol/openid-connect/logout?client_id={id}&post_logout_redirect_uri=https%3A%2F%2Fapp.example.test%2Fbye&state=s9"))
        .await;
    assert_eq!(out.status, 303, "{}", out.body);
    assert_eq!(
        out.location().unwrap(),
        "https://app.example.test/bye?state=s9"
    );
    let mut silent = request(&id, "st-4");
    silent.push(("prompt", "none"));
    let after = b.get(&auth_path("acme", &silent)).await;
    assert_eq!(after.redirect_params()["error"], "login_required");
    let elsewhere = b
        .get(&format!("/realms/acme/protocol/openid-connect/logout?client_id={id}&post_logout_redirect_uri=https%3A%2F%2Fevil.example.test%2F"))
        .await;
    assert_eq!(elsewhere.status, 200);
    assert!(elsewhere.location().is_none());

    // Revocation withdraws a refresh token.
    let refresh = t["refresh_token"].as_str().unwrap();
    let r = app
        .client
        .post(format!(
            "{}/realms/acme/protocol/openid-connect/revoke",
            app.base
        ))
        .basic_auth(&id, Some(&secret))
        .form(&[("token", refresh)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let (status, _) = token(
        &app,
        "acme",
        &[("grant_type", "refresh_token"), ("refresh_token", refresh)],
        Some((&id, &secret)),
    )
    .await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn codes_are_bound_to_client_redirect_uri_verifier_and_organization_and_work_once() {
    let app = TestApp::spawn().await;
    let (acme, email) = org_with_password(&app, "acme").await;
    let (beta, beta_email) = org_with_password(&app, "beta").await;
    let (a1, _) = client(
        &app,
        &acme,
        true,
        &[REDIRECT, "https://app.example.test/other"],
    )
    .await;
    let (a2, _) = client(&app, &acme, true, &[REDIRECT]).await;
    let (b1, _) = client(&app, &beta, true, &[REDIRECT]).await;
    let mut b = Browser::new(&app);
    let redeem = |code: String, client: String, redirect: &'static str, verifier: &'static str| {
        let app = &app;
        async move {
            token(
                app,
                "acme",
                &[
                    ("grant_type", "authorization_code"),
                    ("code", &code),
                    ("redirect_uri", redirect),
                    ("client_id", &client),
                    ("code_verifier", verifier),
                ],
                None,
            )
            .await
        }
    };
    let code = code_for(&mut b, "acme", &a1, &email).await;
    // Wrong verifier, another client, another redirect URI: refused, and the code still
    // belongs to its client (a guess does not spend it).
    let wrong = "wrong-verifier-wrong-verifier-wrong-verifier-1";
    for (client, redirect, verifier) in [
        (&a1, REDIRECT, wrong),
        (&a2, REDIRECT, VERIFIER),
        (&a1, "https://app.example.test/other", VERIFIER),
    ] {
        let (status, e) = redeem(code.clone(), client.clone(), redirect, verifier).await;
        assert_eq!(
            (status, e["error"].as_str()),
            (400, Some("invalid_grant")),
            "{client} {redirect} {verifier}"
        );
    }
    let (status, _) = token(
        &app,
        "acme",
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("client_id", &a1),
        ],
        None,
    )
    .await;
    assert_eq!(status, 400, "no verifier");
    let (status, t) = redeem(code.clone(), a1.clone(), REDIRECT, VERIFIER).await;
    assert_eq!(status, 200, "{t}");
    // Used once.
    let (status, e) = redeem(code, a1.clone(), REDIRECT, VERIFIER).await;
    assert_eq!((status, e["error"].as_str()), (400, Some("invalid_grant")));

    // Another organization's client and code mean nothing on this realm.
    let mut other = Browser::new(&app);
    let beta_code = code_for(&mut Browser::new(&app), "beta", &b1, &beta_email).await;
    let (status, e) = redeem(beta_code.clone(), b1.clone(), REDIRECT, VERIFIER).await;
    assert_eq!((status, e["error"].as_str()), (401, Some("invalid_client")));
    let (status, _) = redeem(beta_code, a1.clone(), REDIRECT, VERIFIER).await;
    assert_eq!(status, 400);
    // Nor does its access token read acme's userinfo.
    let (status, bt) = token(
        &app,
        "beta",
        &[
            ("grant_type", "authorization_code"),
            (
                "code",
                &code_for(&mut Browser::new(&app), "beta", &b1, &beta_email).await,
            ),
            ("redirect_uri", REDIRECT),
            ("client_id", &b1),
            ("code_verifier", VERIFIER),
        ],
        None,
    )
    .await;
    assert_eq!(status, 200, "{bt}");
    let beta_access = bt["access_token"].as_str().unwrap();
    assert_eq!(
        app.get("/realms/acme/protocol/openid-connect/userinfo", beta_access)
            .await
            .status,
        401
    );
    app.get("/realms/beta/protocol/openid-connect/userinfo", beta_access)
        .await
        .expect(200);
    // And its session does not sign in to acme.
    assert_eq!(
        other
            .get(&auth_path("acme", &request(&a1, "x")))
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn no_url_parameter_redirects_anywhere_unregistered() {
    let app = TestApp::spawn().await;
    let (acme, _) = org_with_password(&app, "acme").await;
    let (id, _) = client(&app, &acme, true, &[REDIRECT]).await;
    let mut b = Browser::new(&app);
    // Unknown client, missing or unregistered redirect URIs: a page, never a redirect.
    let hostile = [
        "https://evil.example.test/cb",
        "https://app.example.test/cb/../../evil",
        "https://app.example.test/cb?x=1",
        "https://app.example.test/cb/",
        "https://APP.example.test/cb",
        "https://app.example.test/cb#x",
        "https://app.example.test@evil.example.test/cb",
        "https://app.example.test.evil.example.test/cb",
        "//evil.example.test/cb",
        "http://app.example.test/cb",
        "",
    ];
    for uri in hostile {
        let mut q = request(&id, "s");
        q[1] = ("redirect_uri", uri);
        let page = b.get(&auth_path("acme", &q)).await;
        assert_eq!(page.status, 400, "{uri}: {}", page.body);
        assert!(page.location().is_none(), "{uri}");
    }
    for client_id in ["unknown", ""] {
        let page = b.get(&auth_path("acme", &request(client_id, "s"))).await;
        assert_eq!(page.status, 400);
        assert!(page.location().is_none());
    }
    // Repeated parameters are refused outright.
    let page = b
        .get(&format!(
            "{}&redirect_uri=https%3A%2F%2Fevil.example.test%2F",
            auth_path("acme", &request(&id, "s"))
        ))
        .await;
    assert_eq!(page.status, 400);
    assert!(page.location().is_none());
    // Request objects by reference are not fetched: the error goes to the registered URI.
    let mut q = request(&id, "s");
    q.push(("request_uri", "https://evil.example.test/req"));
    let page = b.get(&auth_path("acme", &q)).await;
    assert!(page
        .location()
        .unwrap()
        .starts_with(&format!("{REDIRECT}?")));
    assert_eq!(page.redirect_params()["error"], "request_not_supported");
    // A public client without PKCE, or with `plain`, gets an error at its registered URI.
    for (k, v) in [("code_challenge_method", "plain"), ("code_challenge", "")] {
        let mut q = request(&id, "s");
        q.retain(|(name, _)| *name != k);
        if !v.is_empty() {
            q.push((k, v));
        }
        if k == "code_challenge" {
            q.retain(|(name, _)| *name != "code_challenge_method");
        }
        let page = b.get(&auth_path("acme", &q)).await;
        assert!(
            page.location()
                .unwrap()
                .starts_with(&format!("{REDIRECT}?")),
            "{k}"
        );
        assert_eq!(page.redirect_params()["error"], "invalid_request");
    }
    // The form's redirect_uri changed before posting: refused without a redirect.
    let page = b.get(&auth_path("acme", &request(&id, "s"))).await;
    let mut fields = page.hidden_fields();
    for f in fields.iter_mut().filter(|(k, _)| k == "redirect_uri") {
        f.1 = "https://evil.example.test/cb".into();
    }
    let r = b
        .post("/realms/acme/protocol/openid-connect/auth", &fields)
        .await;
    assert_eq!(r.status, 400);
    assert!(r.location().is_none());
}

#[tokio::test]
async fn forms_work_only_for_the_browser_and_request_they_were_served_for() {
    let app = TestApp::spawn().await;
    let (acme, email) = org_with_password(&app, "acme").await;
    let (id, _) = client(&app, &acme, true, &[REDIRECT]).await;
    let mut b = Browser::new(&app);
    let page = b.get(&auth_path("acme", &request(&id, "real-state"))).await;
    let with = |fields: Vec<(String, String)>| {
        let mut f = fields;
        f.push(("username".into(), email.clone()));
        f.push(("password".into(), PASSWORD.into()));
        f
    };
    // Missing CSRF token.
    let no_csrf: Vec<_> = page
        .hidden_fields()
        .into_iter()
        .filter(|(k, _)| k != "csrf")
        .collect();
    let r = b
        .post("/realms/acme/protocol/openid-connect/auth", &with(no_csrf))
        .await;
    assert_eq!(r.status, 400);
    assert!(r.location().is_none() && !b.cookies.contains_key("roster_sso_acme"));
    // A forged state.
    let mut forged = page.hidden_fields();
    for f in forged.iter_mut().filter(|(k, _)| k == "state") {
        f.1 = "attacker-state".into();
    }
    let r = b
        .post("/realms/acme/protocol/openid-connect/auth", &with(forged))
        .await;
    assert_eq!(r.status, 400);
    assert!(r.location().is_none());
    // The right form from another browser (no cookie, or its own).
    let mut stranger = Browser::new(&app);
    let r = stranger
        .post(
            "/realms/acme/protocol/openid-connect/auth",
            &with(page.hidden_fields()),
        )
        .await;
    assert_eq!(r.status, 400);
    stranger
        .get(&auth_path("acme", &request(&id, "real-state")))
        .await;
    let r = stranger
        .post(
            "/realms/acme/protocol/openid-connect/auth",
            &with(page.hidden_fields()),
        )
        .await;
    assert_eq!(r.status, 400);
    // The form as served still works.
    let r = b
        .post(
            "/realms/acme/protocol/openid-connect/auth",
            &with(page.hidden_fields()),
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(r.redirect_params()["state"], "real-state");
}

#[tokio::test]
async fn the_form_shares_the_password_throttle_and_tells_nothing_about_accounts() {
    let app = TestApp::spawn_with(|c| {
        c.signin_backoff_after = 100;
        c.signin_lock_after = 3;
    })
    .await;
    let (acme, email) = org_with_password(&app, "acme").await;
    let (id, _) = client(&app, &acme, true, &[REDIRECT]).await;
    let mut b = Browser::new(&app);
    let page = b.get(&auth_path("acme", &request(&id, "s"))).await;
    let unknown = sign_in_on(&mut b, "acme", &page, "nobody@acme.example", "Wrong-pass1").await;
    let known = sign_in_on(&mut b, "acme", &page, &email, "Wrong-pass1").await;
    assert_eq!((unknown.status, known.status), (401, 401));
    let strip = |p: &Page, who: &str| {
        let body = p.body.replace(who, "EMAIL");
        body.split("name=\"csrf\"").next().unwrap().to_owned()
    };
    assert_eq!(
        strip(&unknown, "nobody@acme.example"),
        strip(&known, &email)
    );
    assert!(known.body.contains("The email or password is not correct."));
    // Two more failures lock the account, here and at the token endpoint alike.
    sign_in_on(&mut b, "acme", &page, &email, "Wrong-pass2").await;
    sign_in_on(&mut b, "acme", &page, &email, "Wrong-pass3").await;
    let locked = sign_in_on(&mut b, "acme", &page, &email, PASSWORD).await;
    assert_eq!(
        locked.status, 401,
        "the correct password is refused while locked"
    );
    assert_eq!(
        app.password_token(&acme, &email, PASSWORD).await.status,
        401
    );
}

#[tokio::test]
async fn pages_speak_the_organizations_language() {
    let app = TestApp::spawn().await;
    let (acme, _) = org_with_password(&app, "acme").await;
    app.post(
        "/v1/acme/organization/",
        &acme.token,
        json!({ "default_user_preferences": { "preferred_language": "spa" } }),
    )
    .await
    .expect(204);
    let (id, _) = client(&app, &acme, true, &[REDIRECT]).await;
    let mut b = Browser::new(&app);
    let es = b.get(&auth_path("acme", &request(&id, "s"))).await;
    assert!(
        es.body.contains("<html lang=\"es\"") && es.body.contains("Contraseña"),
        "{}",
        es.body
    );
    let mut q = request(&id, "s");
    q.push(("ui_locales", "ja pt"));
    let ja = b.get(&auth_path("acme", &q)).await;
    assert!(ja.body.contains("<html lang=\"ja\"") && ja.body.contains("パスワード"));
    let mut q = request(&id, "s");
    q.push(("ui_locales", "pt-BR"));
    assert!(b.get(&auth_path("acme", &q)).await.body.contains("Senha"));
    let unknown = b.get(&auth_path("acme", &request("nope", "s"))).await;
    assert!(unknown.body.contains("La aplicación"), "{}", unknown.body);
}

#[tokio::test]
async fn discovery_and_certs_describe_the_issuer_by_short_id_or_uuid() {
    let app = TestApp::spawn().await;
    let acme = app.bootstrap("acme").await;
    for realm in ["acme", acme.uuid.as_str()] {
        let d = app
            .call(
                reqwest::Method::GET,
                &format!("/realms/{realm}/.well-known/openid-configuration"),
                None,
                None,
                &[],
            )
            .await
            .expect(200);
        assert_eq!(d["issuer"], "https://roster.example.test/realms/acme");
        assert_eq!(d["code_challenge_methods_supported"], json!(["S256"]));
        assert_eq!(d["id_token_signing_alg_values_supported"], json!(["EdDSA"]));
        let certs = app
            .call(
                reqwest::Method::GET,
                &format!("/realms/{realm}/protocol/openid-connect/certs"),
                None,
                None,
                &[],
            )
            .await
            .expect(200);
        let jwks = app
            .call(
                reqwest::Method::GET,
                "/.well-known/jwks.json",
                None,
                None,
                &[],
            )
            .await
            .expect(200);
        assert_eq!(certs, jwks);
    }
    let none = app
        .call(
            reqwest::Method::GET,
            "/realms/nobody/.well-known/openid-configuration",
            None,
            None,
            &[],
        )
        .await;
    assert_eq!(none.status, 404);
}
