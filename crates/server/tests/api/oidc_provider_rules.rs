//! The provider's rules that no flow test pins: userinfo answers by the token's scopes; the
//! form's token expires; token and revocation errors are RFC 6749 §5.2 JSON; authorization
//! errors go to the registered redirect URI (§4.1.2.1) or are a page; one issuer whichever form
//! names the realm; the nonce is optional and never invented; no parameter that carries a URL
//! redirects anywhere unregistered; another organization's tokens mean nothing here.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use roster_domain::types::OrgId;
use serde_json::Value;

use crate::helpers::TestApp;
use crate::oidc_browser::*;

const AUTH: &str = "/realms/acme/protocol/openid-connect/auth";

/// The tokens of a sign-in through the form for this request.
async fn tokens_for(app: &TestApp, client: &str, email: &str, q: &[(&str, &str)]) -> Value {
    let mut b = Browser::new(app);
    let page = b.get(&auth_path("acme", q)).await;
    let done = sign_in_on(&mut b, "acme", &page, email, PASSWORD).await;
    assert_eq!(done.status, 303, "{}", done.body);
    let (status, t) = exchange(app, "acme", client, &done.redirect_params()["code"]).await;
    assert_eq!(status, 200, "{t}");
    t
}

fn with_scope<'a>(client: &'a str, scope: &'a str) -> Vec<(&'a str, &'a str)> {
    let mut q = request(client, "s");
    q[3] = ("scope", scope);
    q
}

#[tokio::test]
async fn userinfo_answers_only_what_the_tokens_scopes_allow() {
    let app = TestApp::spawn().await;
    let (acme, email) = org_with_password(&app, "acme").await;
    let (id, _) = client(&app, &acme, true, &[REDIRECT]).await;
    let info = |t: Value| {
        let app = &app;
        async move {
            app.get(
                "/realms/acme/protocol/openid-connect/userinfo",
                t["access_token"].as_str().unwrap(),
            )
            .await
        }
    };
    let only_openid = tokens_for(&app, &id, &email, &with_scope(&id, "openid")).await;
    let id_token = claims(only_openid["id_token"].as_str().unwrap());
    let u = info(only_openid).await.expect(200);
    for c in [&u, &id_token] {
        assert_eq!(c["sub"], acme.admin_id.as_str());
        assert_eq!(c["org"], "acme");
        for absent in [
            "email",
            "email_verified",
            "name",
            "given_name",
            "preferred_username",
        ] {
            assert!(c.get(absent).is_none(), "{absent} in {c}");
        }
    }
    let with_email = tokens_for(&app, &id, &email, &with_scope(&id, "openid email")).await;
    let u = info(with_email).await.expect(200);
    assert_eq!(u["email"], email.as_str());
    assert!(
        u.get("name").is_none() && u.get("given_name").is_none(),
        "{u}"
    );
    // Without openid there is no ID token, and userinfo refuses (RFC 6750 §3.1).
    let oauth_only = tokens_for(&app, &id, &email, &with_scope(&id, "profile")).await;
    assert!(oauth_only.get("id_token").is_none(), "{oauth_only}");
    let r = info(oauth_only).await;
    assert_eq!(r.status, 403);
    assert_eq!(r.body["error"], "insufficient_scope");
    assert!(r.headers["www-authenticate"]
        .to_str()
        .unwrap()
        .contains("insufficient_scope"));
    // Roster's own session (the password grant) is the person's: everything, as before.
    let pw = app
        .password_token(&acme, &email, PASSWORD)
        .await
        .expect(200);
    let u = info(pw).await.expect(200);
    assert_eq!(u["email"], email.as_str());
    assert!(u.get("given_name").is_some(), "{u}");
}

/// The form token the server would have served at `issued` (seconds), made with the
/// deployment's key as stored: `{issued}.{HMAC-SHA256(kind, issued, each part)}`.
async fn form_token(app: &TestApp, issued: i64, parts: &[&str]) -> String {
    let secret = app
        .state
        .core
        .store
        .get_setting("oidc_form_secret")
        .await
        .unwrap()
        .expect("the form key was made when the page was served");
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret.as_bytes());
    let mut msg = format!("authorize\n{issued}\n");
    for p in parts {
        msg.push_str(&format!("{}:{p}\n", p.len()));
    }
    format!(
        "{issued}.{}",
        URL_SAFE_NO_PAD.encode(ring::hmac::sign(&key, msg.as_bytes()).as_ref())
    )
}

#[tokio::test]
async fn a_served_form_expires_after_thirty_minutes_and_is_served_again() {
    let app = TestApp::spawn().await;
    let (acme, email) = org_with_password(&app, "acme").await;
    let (id, _) = client(&app, &acme, true, &[REDIRECT]).await;
    let mut b = Browser::new(&app);
    let q = request(&id, "st");
    let page = b.get(&auth_path("acme", &q)).await;
    let browser = b.cookies["roster_browser"].clone();
    let field = |name: &str| {
        q.iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| *v)
            .unwrap_or("")
    };
    let carried = [
        "client_id",
        "redirect_uri",
        "response_type",
        "scope",
        "state",
        "nonce",
        "code_challenge",
        "code_challenge_method",
        "ui_locales",
    ];
    let mut parts = vec![browser.as_str(), "acme"];
    parts.extend(carried.iter().map(|n| field(n)));
    let post = |csrf: String| {
        let mut f: Vec<(String, String)> = page
            .hidden_fields()
            .into_iter()
            .filter(|(k, _)| k != "csrf")
            .collect();
        f.push(("csrf".into(), csrf));
        f.push(("username".into(), email.clone()));
        f.push(("password".into(), PASSWORD.into()));
        f
    };
    let now = chrono::Utc::now().timestamp();
    // Served 31 minutes ago: refused with the form served again, where signing in works.
    let stale = b
        .post(AUTH, &post(form_token(&app, now - 31 * 60, &parts).await))
        .await;
    assert_eq!(stale.status, 400, "{}", stale.body);
    assert!(stale.location().is_none());
    assert!(
        stale.body.contains("This page was open for too long"),
        "{}",
        stale.body
    );
    assert!(!b.cookies.contains_key("roster_sso_acme"));
    // The form served again signs in.
    let mut fields = stale.hidden_fields();
    fields.push(("username".into(), email.clone()));
    fields.push(("password".into(), PASSWORD.into()));
    let again = b.post(AUTH, &fields).await;
    assert_eq!(again.status, 303, "{}", again.body);
    assert_eq!(again.redirect_params()["state"], "st");
    // A token made the same way 29 minutes ago still works: the refusal was its age alone.
    let fresh = b
        .post(AUTH, &post(form_token(&app, now - 29 * 60, &parts).await))
        .await;
    assert_eq!(fresh.status, 303, "{}", fresh.body);
}

fn assert_oauth_error(what: &str, status: u16, body: &Value, want: (u16, &str)) {
    assert_eq!(
        (status, body["error"].as_str()),
        (want.0, Some(want.1)),
        "{what}: {body}"
    );
    assert!(
        body["error_description"]
            .as_str()
            .is_some_and(|d| !d.is_empty()),
        "{what}: {body}"
    );
}

/// What a bad token request is: its name, realm, form, Basic credentials and expected answer.
type Case<'a> = (
    &'a str,
    &'a str,
    Vec<(&'a str, &'a str)>,
    Option<(&'a str, &'a str)>,
    (u16, &'a str),
);

#[tokio::test]
async fn token_and_revocation_errors_are_rfc6749_json() {
    let app = TestApp::spawn().await;
    let (acme, email) = org_with_password(&app, "acme").await;
    let (public, _) = client(&app, &acme, true, &[REDIRECT]).await;
    let (confidential, _) = client(&app, &acme, false, &[REDIRECT]).await;
    let mut b = Browser::new(&app);
    let code = code_for(&mut b, "acme", &public, &email).await;
    let cases: Vec<Case> = vec![
        ("no grant", "acme", vec![], None, (400, "invalid_request")),
        (
            "odd grant",
            "acme",
            vec![("grant_type", "implicit")],
            None,
            (400, "unsupported_grant_type"),
        ),
        (
            "no code",
            "acme",
            vec![("grant_type", "authorization_code"), ("client_id", &public)],
            None,
            (400, "invalid_request"),
        ),
        (
            "wrong secret",
            "acme",
            vec![("grant_type", "authorization_code"), ("code", &code)],
            Some((&confidential, "wrong")),
            (401, "invalid_client"),
        ),
        (
            "unknown client",
            "acme",
            vec![
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("client_id", "nobody"),
            ],
            None,
            (401, "invalid_client"),
        ),
        (
            "wrong redirect_uri",
            "acme",
            vec![
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("client_id", &public),
                ("redirect_uri", "https://evil.example.test/cb"),
                ("code_verifier", VERIFIER),
            ],
            None,
            (400, "invalid_grant"),
        ),
        (
            "no realm",
            "nowhere",
            vec![
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("client_id", &public),
            ],
            None,
            (404, "invalid_request"),
        ),
    ];
    for (what, realm, form, basic, want) in cases {
        let (status, body) = token(&app, realm, &form, basic).await;
        assert_oauth_error(what, status, &body, want);
    }
    // The code was not spent by any of them.
    assert_eq!(exchange(&app, "acme", &public, &code).await.0, 200);

    let revoke = |realm: &'static str, form: Vec<(&'static str, String)>| {
        let app = &app;
        async move {
            let r = app
                .client
                .post(format!(
                    "{}/realms/{realm}/protocol/openid-connect/revoke",
                    app.base
                ))
                .form(&form)
                .send()
                .await
                .unwrap();
            let status = r.status().as_u16();
            let ct = r.headers()["content-type"].to_str().unwrap().to_owned();
            (status, ct, r.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    for (what, realm, form, want) in [
        (
            "no client",
            "acme",
            vec![("token", "x".to_owned())],
            (401, "invalid_client"),
        ),
        (
            "no token",
            "acme",
            vec![("client_id", public.clone())],
            (400, "invalid_request"),
        ),
        (
            "no realm",
            "nowhere",
            vec![("client_id", public.clone()), ("token", "x".into())],
            (404, "invalid_request"),
        ),
    ] {
        let (status, ct, body) = revoke(realm, form).await;
        assert!(ct.starts_with("application/json"), "{what}: {ct}");
        assert_oauth_error(what, status, &body, want);
    }
}

#[tokio::test]
async fn authorization_errors_go_back_to_the_registered_uri_with_the_state_or_are_a_page() {
    let app = TestApp::spawn().await;
    let (acme, _) = org_with_password(&app, "acme").await;
    let (id, _) = client(&app, &acme, true, &[REDIRECT]).await;
    let mut b = Browser::new(&app);
    let state = "a b&c=d/é";
    for (change, error) in [
        (("response_type", "token"), "unsupported_response_type"),
        (("response_type", ""), "invalid_request"),
        (("prompt", "sometimes"), "invalid_request"),
        (("code_challenge_method", "plain"), "invalid_request"),
        (("max_age", "-1"), "invalid_request"),
    ] {
        let mut q = request(&id, state);
        q.retain(|(k, _)| *k != change.0);
        if !change.1.is_empty() {
            q.push(change);
        }
        let r = b.get(&auth_path("acme", &q)).await;
        assert_eq!(r.status, 303, "{change:?}: {}", r.body);
        assert!(r.location().unwrap().starts_with(&format!("{REDIRECT}?")));
        let p = r.redirect_params();
        assert_eq!(p["error"], error, "{change:?}");
        assert_eq!(p["state"], state, "the state exactly as sent");
        assert_eq!(p["iss"], "https://roster.example.test/realms/acme");
        assert!(!p.contains_key("code"));
    }
    // No state sent, none returned.
    let mut q = request(&id, "");
    q.retain(|(k, _)| *k != "state");
    q.push(("prompt", "none"));
    let p = b.get(&auth_path("acme", &q)).await.redirect_params();
    assert_eq!(p["error"], "login_required");
    assert!(!p.contains_key("state"));
    // Before the client and its URI are known: a page, never a redirect.
    for path in [
        auth_path("nowhere", &request(&id, state)),
        auth_path("acme", &request("unknown", state)),
    ] {
        let r = b.get(&path).await;
        assert!(r.status == 400 || r.status == 404, "{path}");
        assert!(r.location().is_none());
        assert!(r.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html"));
    }
}

#[tokio::test]
async fn the_issuer_is_the_short_id_when_the_realm_is_named_by_its_uuid() {
    let app = TestApp::spawn().await;
    let (acme, email) = org_with_password(&app, "acme").await;
    let (id, _) = client(&app, &acme, true, &[REDIRECT]).await;
    let issuer = "https://roster.example.test/realms/acme";
    let uuid = acme.uuid.as_str();
    let mut b = Browser::new(&app);
    let page = b.get(&auth_path(uuid, &request(&id, "u"))).await;
    assert!(
        page.body.contains(&format!("action=\"{AUTH}\"")),
        "{}",
        page.body
    );
    let done = sign_in_on(&mut b, uuid, &page, &email, PASSWORD).await;
    assert_eq!(done.status, 303, "{}", done.body);
    assert_eq!(done.redirect_params()["iss"], issuer);
    let (status, t) = exchange(&app, uuid, &id, &done.redirect_params()["code"]).await;
    assert_eq!(status, 200, "{t}");
    assert_eq!(claims(t["id_token"].as_str().unwrap())["iss"], issuer);
    let (status, t2) = token(
        &app,
        uuid,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", t["refresh_token"].as_str().unwrap()),
            ("client_id", &id),
        ],
        None,
    )
    .await;
    assert_eq!(status, 200, "{t2}");
    assert_eq!(claims(t2["id_token"].as_str().unwrap())["iss"], issuer);
    app.get(
        &format!("/realms/{uuid}/protocol/openid-connect/userinfo"),
        t["access_token"].as_str().unwrap(),
    )
    .await
    .expect(200);
    // The session is one, whichever name signed in: the short id's page signs in at once.
    assert_eq!(
        b.get(&auth_path("acme", &request(&id, "v"))).await.status,
        303
    );
    let mut silent = request(&id, "w");
    silent.push(("prompt", "none"));
    let p = b.get(&auth_path(uuid, &silent)).await.redirect_params();
    assert_eq!(p["iss"], issuer);
}

#[tokio::test]
async fn the_nonce_is_optional_and_an_id_token_never_carries_one_the_client_did_not_send() {
    let app = TestApp::spawn().await;
    let (acme, email) = org_with_password(&app, "acme").await;
    let (id, _) = client(&app, &acme, true, &[REDIRECT]).await;
    let mut q = request(&id, "s");
    q.retain(|(k, _)| *k != "nonce");
    let t = tokens_for(&app, &id, &email, &q).await;
    assert!(claims(t["id_token"].as_str().unwrap())
        .get("nonce")
        .is_none());
    let sent = tokens_for(&app, &id, &email, &request(&id, "s")).await;
    assert_eq!(
        claims(sent["id_token"].as_str().unwrap())["nonce"],
        "n-0S6_WzA2Mj"
    );
    // A refreshed ID token carries none (OpenID Connect Core §12.2).
    let (status, r) = token(
        &app,
        "acme",
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", sent["refresh_token"].as_str().unwrap()),
            ("client_id", &id),
        ],
        None,
    )
    .await;
    assert_eq!(status, 200, "{r}");
    assert!(claims(r["id_token"].as_str().unwrap())
        .get("nonce")
        .is_none());
    // A nonce added to (or changed in) a served form is refused: the form's token covers it.
    let mut b = Browser::new(&app);
    let page = b.get(&auth_path("acme", &q)).await;
    let mut fields = page.hidden_fields();
    fields.push(("nonce".into(), "attacker-nonce".into()));
    fields.push(("username".into(), email.clone()));
    fields.push(("password".into(), PASSWORD.into()));
    let r = b.post(AUTH, &fields).await;
    assert_eq!(r.status, 400);
    assert!(r.location().is_none());
}

#[tokio::test]
async fn no_parameter_carrying_a_url_redirects_anywhere_unregistered() {
    let app = TestApp::spawn().await;
    let (acme, email) = org_with_password(&app, "acme").await;
    let (id, _) = client(&app, &acme, true, &[REDIRECT]).await;
    let evil = "https://evil.example.test/x";
    // Return parameters other services take are not read: the page is the sign-in form,
    // and signing in returns to the registered URI only.
    let mut q = request(&id, "s");
    for name in [
        "login_link",
        "redirect_link",
        "return_to",
        "redirect",
        "next",
        "goto",
        "post_logout_redirect_uri",
    ] {
        q.push((name, evil));
    }
    let mut b = Browser::new(&app);
    let page = b.get(&auth_path("acme", &q)).await;
    assert_eq!(page.status, 200);
    assert!(!page.body.contains("evil.example.test"), "{}", page.body);
    let csp = page.headers["content-security-policy"].to_str().unwrap();
    assert!(!csp.contains("evil"), "{csp}");
    let mut fields = page.hidden_fields();
    fields.push(("return_to".into(), evil.into()));
    fields.push(("username".into(), email.clone()));
    fields.push(("password".into(), PASSWORD.into()));
    let done = b.post(AUTH, &fields).await;
    assert_eq!(done.status, 303, "{}", done.body);
    assert!(done
        .location()
        .unwrap()
        .starts_with(&format!("{REDIRECT}?")));

    // An emailed link's landing page: a URL beside the token changes nothing.
    let mut other = Browser::new(&app);
    let page = other.get(&auth_path("acme", &request(&id, "mail"))).await;
    let mut ask = page.hidden_fields();
    ask.push(("username".into(), email.clone()));
    ask.push(("action".into(), "email_link".into()));
    assert_eq!(other.post(AUTH, &ask).await.status, 200);
    let link = app
        .state
        .core
        .store
        .list_outbox(&OrgId::from("acme"))
        .await
        .unwrap()
        .into_iter()
        .rev()
        .find(|m| m.kind == "magic_link")
        .and_then(|m| m.payload["link"].as_str().map(str::to_owned))
        .unwrap();
    let path = link.strip_prefix("https://roster.example.test").unwrap();
    let landing = other
        .get(&format!("{path}&redirect_uri={evil}&login_link={evil}"))
        .await;
    assert_eq!(landing.status, 200);
    assert!(!landing.body.contains("evil.example.test"));
    let mut fields = landing.hidden_fields();
    fields.push(("redirect_uri".into(), evil.into()));
    let done = other
        .post("/realms/acme/protocol/openid-connect/auth/link", &fields)
        .await;
    assert!(
        done.location()
            .unwrap_or_default()
            .starts_with(&format!("{REDIRECT}?")),
        "{:?}",
        done.location()
    );
}

#[tokio::test]
async fn another_organizations_tokens_mean_nothing_on_this_realm() {
    let app = TestApp::spawn().await;
    let (acme, _) = org_with_password(&app, "acme").await;
    let (beta, beta_email) = org_with_password(&app, "beta").await;
    let (a1, _) = client(&app, &acme, true, &[REDIRECT]).await;
    let (b1, _) = client(&app, &beta, true, &[REDIRECT]).await;
    let mut b = Browser::new(&app);
    let (status, bt) = signed_in_tokens(&app, &mut b, "beta", &b1, &beta_email).await;
    assert_eq!(status, 200);
    let refresh = bt["refresh_token"].as_str().unwrap();
    // Its refresh token at acme's token endpoint, with beta's client or acme's: refused,
    // and not spent (it still works at beta below).
    for c in [&b1, &a1] {
        let (status, e) = token(
            &app,
            "acme",
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh),
                ("client_id", c),
            ],
            None,
        )
        .await;
        assert!(
            status >= 400
                && matches!(
                    e["error"].as_str(),
                    Some("invalid_grant" | "invalid_client")
                ),
            "{status} {e}"
        );
    }
    // Revoked at acme by acme's client: nothing changes at beta.
    let r = app
        .client
        .post(format!(
            "{}/realms/acme/protocol/openid-connect/revoke",
            app.base
        ))
        .form(&[("token", refresh), ("client_id", a1.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // Its access token on acme's surfaces and userinfo.
    let access = bt["access_token"].as_str().unwrap();
    for path in [
        "/v1/acme/user/",
        "/realms/acme/protocol/openid-connect/userinfo",
    ] {
        let s = app.get(path, access).await.status.as_u16();
        assert!(s == 401 || s == 403, "{path}: {s}");
    }
    let (status, _) = token(
        &app,
        "beta",
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh),
            ("client_id", &b1),
        ],
        None,
    )
    .await;
    assert_eq!(status, 200, "beta's token still works at beta");
}
