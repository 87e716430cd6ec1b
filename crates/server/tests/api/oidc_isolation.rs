//! Tenant isolation on the OpenID provider: every one of its routes, walked from the route
//! table (a route added to the provider's router and not listed here fails the test), is
//! given organization acme's credentials (its access, refresh and ID tokens, a code, the
//! browser's session cookie, its client, its form and its emailed links) at organization beta,
//! and gets nothing of beta: no code, no token, no claim, no page of beta's people, no change.

use roster_domain::types::OrgId;
use std::collections::BTreeSet;

use reqwest::header::COOKIE;
use serde_json::{json, Value};

use crate::helpers::TestApp;
use crate::oidc_browser::{
    auth_path, client, code_for, org_with_password, request, signed_in_tokens, token, Browser,
    Page, REDIRECT,
};

const P: &str = "/protocol/openid-connect";

/// Every route of the provider, as its router registers it: what this test covers.
const COVERED: &[(&str, &str)] = &[
    ("GET", "/realms/{realm}/.well-known/openid-configuration"),
    ("GET", "/realms/{realm}/protocol/openid-connect/certs"),
    ("GET", "/realms/{realm}/protocol/openid-connect/auth"),
    ("POST", "/realms/{realm}/protocol/openid-connect/auth"),
    ("GET", "/realms/{realm}/protocol/openid-connect/auth/link"),
    ("POST", "/realms/{realm}/protocol/openid-connect/auth/link"),
    ("GET", "/realms/{realm}/protocol/openid-connect/auth/reset"),
    ("POST", "/realms/{realm}/protocol/openid-connect/auth/reset"),
    ("GET", "/realms/{realm}/protocol/openid-connect/userinfo"),
    ("POST", "/realms/{realm}/protocol/openid-connect/userinfo"),
    ("GET", "/realms/{realm}/protocol/openid-connect/logout"),
    ("POST", "/realms/{realm}/protocol/openid-connect/logout"),
    ("POST", "/realms/{realm}/protocol/openid-connect/revoke"),
    ("GET", "/realms/{realm}/login-actions/verify"),
    ("POST", "/realms/{realm}/login-actions/verify"),
    ("GET", "/realms/{realm}/login-actions/reset-credentials"),
    ("POST", "/realms/{realm}/login-actions/reset-credentials"),
    (
        "GET",
        "/realms/{realm}/protocol/openid-connect/auth/connections/{name}",
    ),
    ("GET", "/connections/{name}/callback"),
    ("GET", "/connections/{org}/{name}/callback"),
];

#[test]
fn every_provider_route_is_in_the_isolation_test() {
    let served: BTreeSet<(String, String)> = roster_server::routes::build(1024)
        .2
        .into_iter()
        .filter(|r| r.surface == "oidc")
        .map(|r| (r.method.to_string(), r.path))
        .collect();
    let listed: BTreeSet<(String, String)> = COVERED
        .iter()
        .map(|(m, p)| ((*m).to_owned(), (*p).to_owned()))
        .collect();
    assert_eq!(
        served.difference(&listed).collect::<Vec<_>>(),
        Vec::<&(String, String)>::new(),
        "provider routes the isolation test does not cover"
    );
    assert_eq!(
        listed.difference(&served).collect::<Vec<_>>(),
        Vec::<&(String, String)>::new(),
        "listed routes the provider no longer serves"
    );
}

/// A page that gives nothing: a refusal, no redirect, nothing set but the browser's own cookie.
fn refused(what: &str, p: &Page) {
    assert!(
        (400..500).contains(&p.status),
        "{what}: {} {}",
        p.status,
        p.body
    );
    assert!(p.location().is_none(), "{what}: {:?}", p.location());
    for c in p.headers.get_all("set-cookie") {
        let c = c.to_str().unwrap();
        assert!(!c.starts_with("roster_sso_"), "{what}: {c}");
    }
}

/// acme's emailed link `link` (its page open at acme) opened under beta's realm, and its form
/// posted to beta's `action` with a password: both refused.
async fn link_at_beta(b: &mut Browser, kind: &str, link: &str, action: &str) {
    let landing = b.get(link).await;
    assert_eq!(landing.status, 200, "{kind}: {}", landing.body);
    refused(
        kind,
        &b.get(&link.replace("/realms/acme/", "/realms/beta/")).await,
    );
    let mut posted = landing.hidden_fields();
    posted.push(("password".into(), "Taken-over-1".into()));
    refused(kind, &b.post(action, &posted).await);
}

/// The newest link of `kind` emailed in `org`, as a path on the server.
async fn emailed(app: &TestApp, org: &str, kind: &str) -> String {
    let mail = app
        .state
        .core
        .store
        .list_outbox(&OrgId::from(org))
        .await
        .unwrap();
    let m = mail.iter().rev().find(|m| m.kind == kind).expect(kind);
    let p = &m.payload;
    let link = p["link"].as_str().or(p["verify_link"].as_str()).unwrap();
    link[link.find("/realms/").unwrap()..].to_owned()
}

async fn raw(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    cookie: &str,
    bearer: Option<&str>,
) -> (u16, Value) {
    let mut r = app
        .client
        .request(method, format!("{}{path}", app.base))
        .header(COOKIE, cookie);
    if let Some(t) = bearer {
        r = r.bearer_auth(t);
    }
    let r = r.send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn another_organizations_credentials_get_nothing_on_any_provider_route() {
    let app = TestApp::spawn().await;
    let (acme, email) = org_with_password(&app, "acme").await;
    let (beta, beta_email) = org_with_password(&app, "beta").await;
    let (a_id, _) = client(&app, &acme, true, &[REDIRECT]).await;
    let (b_id, _) = client(&app, &beta, true, &[REDIRECT]).await;
    // acme's browser, signed in at acme, its tokens, and a code it has not exchanged.
    let mut b = Browser::new(&app);
    let (status, tokens) = signed_in_tokens(&app, &mut b, "acme", &a_id, &email).await;
    assert_eq!(status, 200, "{tokens}");
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();
    let id_token = tokens["id_token"].as_str().unwrap().to_owned();
    let code = code_for(&mut Browser::new(&app), "acme", &a_id, &email).await;
    let acme_session = b.cookies["roster_sso_acme"].clone();
    // The same cookie under beta's name, as a browser could be made to send it.
    b.cookies
        .insert("roster_sso_beta".into(), acme_session.clone());
    let jar: String = b
        .cookies
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("; ");
    let mut seen = BTreeSet::new();
    let mut hit = |m: &str, p: &str| {
        seen.insert((m.to_owned(), p.to_owned()));
    };

    // Discovery and keys: public, and beta's (its issuer), whatever acme's browser sends.
    hit("GET", "/realms/{realm}/.well-known/openid-configuration");
    let (s, d) = raw(
        &app,
        reqwest::Method::GET,
        "/realms/beta/.well-known/openid-configuration",
        &jar,
        Some(&access),
    )
    .await;
    assert_eq!(s, 200);
    assert!(
        d["issuer"].as_str().unwrap().ends_with("/realms/beta"),
        "{d}"
    );
    hit("GET", "/realms/{realm}/protocol/openid-connect/certs");
    let (s, keys) = raw(
        &app,
        reqwest::Method::GET,
        &format!("/realms/beta{P}/certs"),
        &jar,
        Some(&access),
    )
    .await;
    assert_eq!(s, 200);
    assert!(keys["keys"].is_array());

    // The authorization endpoint: acme's client is unknown at beta; with beta's client, acme's
    // session (under either name) signs nobody in: the sign-in form, never a code.
    hit("GET", "/realms/{realm}/protocol/openid-connect/auth");
    let p = b.get(&auth_path("beta", &request(&a_id, "x"))).await;
    refused("acme's client at beta", &p);
    let form = b.get(&auth_path("beta", &request(&b_id, "x"))).await;
    assert_eq!(form.status, 200, "{}", form.body);
    assert!(form.location().is_none());
    assert!(form.body.contains("name=\"password\""));
    let none = b
        .get(&auth_path("beta", &{
            let mut r = request(&b_id, "x");
            r.push(("prompt", "none"));
            r
        }))
        .await;
    assert_eq!(none.redirect_params()["error"], "login_required");
    // acme's form posted at beta, and acme's credentials in beta's form: refused.
    hit("POST", "/realms/{realm}/protocol/openid-connect/auth");
    let acme_form = b
        .get(&auth_path("acme", &{
            let mut r = request(&a_id, "x");
            r.push(("prompt", "login"));
            r
        }))
        .await;
    let mut f = acme_form.hidden_fields();
    f.push(("username".into(), email.clone()));
    f.push(("password".into(), crate::oidc_browser::PASSWORD.into()));
    refused(
        "acme's form at beta",
        &b.post(&format!("/realms/beta{P}/auth"), &f).await,
    );
    let wrong = crate::oidc_browser::sign_in_on(
        &mut b,
        "beta",
        &form,
        &email,
        crate::oidc_browser::PASSWORD,
    )
    .await;
    refused("acme's password at beta", &wrong);

    // acme's emailed sign-in and reset links, at beta's pages.
    for (action, kind, tail) in [
        ("email_link", "magic_link", "link"),
        ("reset", "password_reset", "reset"),
    ] {
        let mut again = request(&a_id, "m");
        again.push(("prompt", "login"));
        let page = b.get(&auth_path("acme", &again)).await;
        let mut f = page.hidden_fields();
        f.push(("username".into(), email.clone()));
        f.push(("action".into(), action.into()));
        assert_eq!(
            b.post(&format!("/realms/acme{P}/auth"), &f).await.status,
            200
        );
        let link = emailed(&app, "acme", kind).await;
        let path = format!("/realms/{{realm}}/protocol/openid-connect/auth/{tail}");
        hit("GET", &path);
        hit("POST", &path);
        link_at_beta(&mut b, kind, &link, &format!("/realms/beta{P}/auth/{tail}")).await;
    }

    // userinfo: acme's access token says nothing at beta.
    for m in ["GET", "POST"] {
        hit(m, "/realms/{realm}/protocol/openid-connect/userinfo");
        let (s, body) = raw(
            &app,
            m.parse().unwrap(),
            &format!("/realms/beta{P}/userinfo"),
            &jar,
            Some(&access),
        )
        .await;
        assert_eq!(s, 401, "{m} {body}");
        assert_eq!(body["error"], "invalid_token");
        assert!(!body.to_string().contains(&beta_email));
    }

    // Logout at beta with acme's ID token and cookie: asked, nothing ended; acme's session and
    // refresh token live on.
    hit("GET", "/realms/{realm}/protocol/openid-connect/logout");
    let ask = b
        .get(&format!("/realms/beta{P}/logout?id_token_hint={id_token}&post_logout_redirect_uri={REDIRECT}&client_id={a_id}"))
        .await;
    assert!(matches!(ask.status, 200 | 400), "{}", ask.body);
    assert!(ask.location().is_none());
    assert!(!ask.body.contains(&beta_email));
    hit("POST", "/realms/{realm}/protocol/openid-connect/logout");
    let acme_ask = b.get(&format!("/realms/acme{P}/logout")).await;
    // A confirmation of acme's is no session of beta's: the browser has none to end there, so
    // nothing ends (acme's session lives on, below) and nothing redirects.
    let out = b
        .post(
            &format!("/realms/beta{P}/logout"),
            &acme_ask.hidden_fields(),
        )
        .await;
    assert!(out.location().is_none(), "{}", out.body);
    assert!(!out.body.contains(&beta_email));

    // Revocation at beta of acme's refresh token, as acme's client and as beta's.
    hit("POST", "/realms/{realm}/protocol/openid-connect/revoke");
    for c in [&a_id, &b_id] {
        let r = app
            .client
            .post(format!("{}/realms/beta{P}/revoke", app.base))
            .form(&[("token", refresh.as_str()), ("client_id", c.as_str())])
            .send()
            .await
            .unwrap();
        assert!(matches!(r.status().as_u16(), 200 | 401), "{}", r.status());
    }
    // acme's code and refresh token at beta's token endpoint: refused, and not spent.
    for form in [
        vec![
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("client_id", b_id.as_str()),
            ("redirect_uri", REDIRECT),
            ("code_verifier", crate::oidc_browser::VERIFIER),
        ],
        vec![
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh.as_str()),
            ("client_id", b_id.as_str()),
        ],
    ] {
        let (s, e) = token(&app, "beta", &form, None).await;
        assert!(s >= 400 && e["access_token"].is_null(), "{s} {e}");
    }
    let (s, again) = token(
        &app,
        "acme",
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh.as_str()),
            ("client_id", a_id.as_str()),
        ],
        None,
    )
    .await;
    assert_eq!(s, 200, "acme's refresh token still works at acme: {again}");
    assert_eq!(
        crate::oidc_browser::exchange(&app, "acme", &a_id, &code)
            .await
            .0,
        200
    );
    let back = b.get(&auth_path("acme", &request(&a_id, "still"))).await;
    assert_eq!(back.status, 303, "acme's session lives on: {}", back.body);

    // acme's invitation and member reset links at beta's landing pages.
    crate::upstream::invite(&app, &acme, "ivy@acme.test", json!(null)).await;
    let reset_path = format!("/users/{}/password-reset", acme.admin_id);
    for (kind, tail, send) in [
        ("invitation", "verify", false),
        ("password_reset", "reset-credentials", true),
    ] {
        if send {
            crate::upstream::invite(&app, &acme, "rita@acme.test", json!(null)).await;
            let t = app.emailed_invitation("acme", "rita@acme.test").await;
            assert_eq!(
                app.verify_with_password("acme", &t, "Ritas-pass-1").await,
                200
            );
            let rita = crate::upstream::member(&app, "acme", "rita@acme.test").await;
            let p = reset_path.replace(&acme.admin_id, &rita.id);
            app.oum(reqwest::Method::POST, &p, &acme.token, None)
                .await
                .expect(204);
        }
        let link = emailed(&app, "acme", kind).await;
        let path = format!("/realms/{{realm}}/login-actions/{tail}");
        hit("GET", &path);
        hit("POST", &path);
        link_at_beta(
            &mut b,
            kind,
            &link,
            &format!("/realms/beta/login-actions/{tail}"),
        )
        .await;
        // Still good at acme.
        assert_eq!(b.get(&link).await.status, 200);
    }

    // The upstream sign-in: acme's client at beta starts nothing; a callback at beta's
    // connection, or Google's, with no state this browser was given, signs nobody in.
    // (A state of acme's connection brought to beta's callback: upstream_security.)
    hit(
        "GET",
        "/realms/{realm}/protocol/openid-connect/auth/connections/{name}",
    );
    let q = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(request(&a_id, "u"))
        .finish();
    refused(
        "upstream start",
        &b.get(&format!("/realms/beta{P}/auth/connections/acme-sso?{q}"))
            .await,
    );
    hit("GET", "/connections/{name}/callback");
    refused(
        "google callback",
        &b.get("/connections/google-oauth2/callback?code=c&state=s")
            .await,
    );
    hit("GET", "/connections/{org}/{name}/callback");
    refused(
        "org callback",
        &b.get("/connections/beta/acme-sso/callback?code=c&state=s")
            .await,
    );

    let listed: BTreeSet<(String, String)> = COVERED
        .iter()
        .map(|(m, p)| ((*m).to_owned(), (*p).to_owned()))
        .collect();
    assert_eq!(seen, listed, "every listed route was exercised");
}
