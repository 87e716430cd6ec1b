//! What the provider refuses: no URL parameter redirects anywhere unregistered; codes are bound
//! to client, redirect URI, PKCE verifier and organization and work once; forms work only for
//! the browser and the request they were served for.

use crate::helpers::TestApp;
use crate::oidc_browser::*;
use roster_domain::types::OrgId;

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
    // Used once; a second use means the code leaked, and the refresh token it started is
    // withdrawn.
    let (status, e) = redeem(code, a1.clone(), REDIRECT, VERIFIER).await;
    assert_eq!((status, e["error"].as_str()), (400, Some("invalid_grant")));
    let refresh = t["refresh_token"].as_str().unwrap();
    let (status, _) = token(
        &app,
        "acme",
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh),
            ("client_id", &a1),
        ],
        None,
    )
    .await;
    assert_eq!(
        status, 400,
        "the refresh token of a reused code is withdrawn"
    );
    // And the access token of its first use no longer works anywhere.
    let access = t["access_token"].as_str().unwrap();
    assert_eq!(
        app.get("/v1/acme/user/?limit=1", access).await.status,
        401,
        "the access token of a reused code ends with it"
    );
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
        audit.iter().any(|a| a == "user.oidc_code_reused"),
        "{audit:?}"
    );

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
