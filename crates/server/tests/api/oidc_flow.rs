//! Roster as an OpenID Connect provider, driven the way a browser and a client would: the
//! hosted sign-in form, the code flow with PKCE, tokens on every surface, the SSO session,
//! logout, refresh rotation, revocation, the shared password throttle, languages, discovery.

use reqwest::header::SET_COOKIE;
use roster_domain::types::OrgId;
use serde_json::json;

use crate::helpers::TestApp;
use crate::oidc_browser::*;

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
        .list_audit(&OrgId::from("acme"), 100)
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

    // Logout without an ID token asks the person first; the confirmation ends the session and
    // returns only to a registered URI.
    let asked = b
        .get(&format!("/realms/acme/protocol/openid-connect/logout?client_id={id}&post_logout_redirect_uri=https%3A%2F%2Fapp.example.test%2Fbye&state=s9"))
        .await;
    assert_eq!(asked.status, 200, "{}", asked.body);
    assert!(asked.location().is_none() && asked.body.contains("Sign out?"));
    assert_eq!(
        b.get(&auth_path("acme", &request(&id, "still")))
            .await
            .status,
        303,
        "asking ended nothing"
    );
    let out = b
        .post(
            "/realms/acme/protocol/openid-connect/logout",
            &asked.hidden_fields(),
        )
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
