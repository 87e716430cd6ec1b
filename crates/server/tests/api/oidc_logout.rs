//! RP-initiated logout: with a valid `id_token_hint` it ends the session at once, otherwise it
//! asks the person on a page bound to the browser; it withdraws the codes and refresh tokens of
//! that session only, and returns only to a URI the named client registered.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use roster_domain::types::OrgId;

use crate::helpers::TestApp;
use crate::oidc_browser::*;

const LOGOUT: &str = "/realms/acme/protocol/openid-connect/logout";

fn logout_path(params: &[(&str, &str)]) -> String {
    let mut q = form_urlencoded::Serializer::new(String::new());
    for (k, v) in params {
        q.append_pair(k, v);
    }
    format!("{LOGOUT}?{}", q.finish())
}

async fn refresh(app: &TestApp, org: &str, client: &str, rt: &str) -> (u16, serde_json::Value) {
    token(
        app,
        org,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", rt),
            ("client_id", client),
        ],
        None,
    )
    .await
}

#[tokio::test]
async fn logout_with_a_hint_ends_only_that_sessions_tokens_and_without_one_asks_first() {
    let app = TestApp::spawn().await;
    let (acme, email) = org_with_password(&app, "acme").await;
    let (beta, beta_email) = org_with_password(&app, "beta").await;
    let (id, _) = client(&app, &acme, true, &[REDIRECT]).await;
    let (beta_id, _) = client(&app, &beta, true, &[REDIRECT]).await;
    // Two browsers of the same person, each with its session and refresh token.
    let mut b1 = Browser::new(&app);
    let mut b2 = Browser::new(&app);
    let (_, t1) = signed_in_tokens(&app, &mut b1, "acme", &id, &email).await;
    let (_, t2) = signed_in_tokens(&app, &mut b2, "acme", &id, &email).await;
    let hint = t1["id_token"].as_str().unwrap();

    // Hints that prove nothing: another realm's ID token, a tampered one. The person is asked.
    let (_, bt) = exchange(
        &app,
        "beta",
        &beta_id,
        &code_for(&mut Browser::new(&app), "beta", &beta_id, &beta_email).await,
    )
    .await;
    let mut parts: Vec<String> = hint.split('.').map(str::to_owned).collect();
    let mut payload = claims(hint);
    payload["sub"] = serde_json::json!("someone-else");
    parts[1] = URL_SAFE_NO_PAD.encode(payload.to_string());
    let tampered = parts.join(".");
    for bad in [bt["id_token"].as_str().unwrap(), tampered.as_str()] {
        let asked = b1
            .get(&logout_path(&[
                ("id_token_hint", bad),
                ("post_logout_redirect_uri", REDIRECT),
            ]))
            .await;
        assert_eq!(asked.status, 200, "{}", asked.body);
        assert!(asked.location().is_none() && asked.body.contains("Sign out?"));
    }
    assert_eq!(
        b1.get(&auth_path("acme", &request(&id, "alive")))
            .await
            .status,
        303,
        "nothing ended yet"
    );

    // A valid hint of the signed-in person: ended at once, back at the registered URI.
    let out = b1
        .get(&logout_path(&[
            ("id_token_hint", hint),
            ("post_logout_redirect_uri", REDIRECT),
            ("state", "bye"),
        ]))
        .await;
    assert_eq!(out.status, 303, "{}", out.body);
    assert_eq!(out.location().unwrap(), format!("{REDIRECT}?state=bye"));
    let mut silent = request(&id, "after");
    silent.push(("prompt", "none"));
    assert_eq!(
        b1.get(&auth_path("acme", &silent)).await.redirect_params()["error"],
        "login_required"
    );
    // The session's refresh token is withdrawn, however often it is tried; the other
    // browser's keeps working (a retry is no theft: nothing else ends).
    let r1 = t1["refresh_token"].as_str().unwrap();
    for _ in 0..2 {
        let (status, e) = refresh(&app, "acme", &id, r1).await;
        assert_eq!((status, e["error"].as_str()), (400, Some("invalid_grant")));
    }
    let (status, next) = refresh(&app, "acme", &id, t2["refresh_token"].as_str().unwrap()).await;
    assert_eq!(status, 200, "{next}");
    let (status, _) = refresh(&app, "acme", &id, next["refresh_token"].as_str().unwrap()).await;
    assert_eq!(status, 200, "the other session's chain goes on");

    // Without a hint, b2 is asked; a confirmation changed on the way, or without its token,
    // is asked again and ends nothing; a code issued before logout dies with the session.
    let pending = b2.get(&auth_path("acme", &request(&id, "pending"))).await;
    assert_eq!(pending.status, 303, "the session signs in at once");
    let pending = pending.redirect_params()["code"].clone();
    let asked = b2
        .get(&logout_path(&[
            ("client_id", &id),
            ("post_logout_redirect_uri", REDIRECT),
        ]))
        .await;
    assert_eq!(asked.status, 200);
    let mut changed = asked.hidden_fields();
    for f in changed
        .iter_mut()
        .filter(|(k, _)| k == "post_logout_redirect_uri")
    {
        f.1 = "https://evil.example.test/".into();
    }
    let no_token: Vec<_> = asked
        .hidden_fields()
        .into_iter()
        .filter(|(k, _)| k != "csrf")
        .collect();
    for fields in [changed, no_token] {
        let again = b2.post(LOGOUT, &fields).await;
        assert_eq!(again.status, 200, "{}", again.body);
        assert!(again.location().is_none() && again.body.contains("Sign out?"));
    }
    // Nor does a confirmation served to another browser (a site making b2 post its own).
    let mut attacker = Browser::new(&app);
    code_for(&mut attacker, "acme", &id, &email).await;
    let theirs = attacker
        .get(&logout_path(&[
            ("client_id", &id),
            ("post_logout_redirect_uri", REDIRECT),
        ]))
        .await;
    let r = b2.post(LOGOUT, &theirs.hidden_fields()).await;
    assert!(r.location().is_none() && r.body.contains("Sign out?"));
    assert_eq!(
        b2.get(&auth_path("acme", &request(&id, "alive")))
            .await
            .status,
        303
    );
    let done = b2.post(LOGOUT, &asked.hidden_fields()).await;
    assert_eq!(done.status, 303, "{}", done.body);
    assert_eq!(done.location().unwrap(), REDIRECT);
    let (status, e) = exchange(&app, "acme", &id, &pending).await;
    assert_eq!((status, e["error"].as_str()), (400, Some("invalid_grant")));
    let audit: Vec<String> = app
        .state
        .core
        .store
        .list_audit(&OrgId::from("acme"), 200)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect();
    assert_eq!(
        audit
            .iter()
            .filter(|a| *a == "user.browser_session.ended")
            .count(),
        2
    );
    assert!(
        !audit.iter().any(|a| a == "user.token_refresh_reused"),
        "{audit:?}"
    );
}

#[tokio::test]
async fn logout_returns_only_to_a_uri_the_named_client_of_this_organization_registered() {
    let app = TestApp::spawn().await;
    let (acme, email) = org_with_password(&app, "acme").await;
    let (beta, _) = org_with_password(&app, "beta").await;
    let (a1, _) = client(&app, &acme, true, &[REDIRECT]).await;
    let (a2, _) = client(&app, &acme, true, &["https://other.example.test/cb"]).await;
    let (b1, _) = client(&app, &beta, true, &["https://evil.example.test/cb"]).await;
    let mut b = Browser::new(&app);
    let (_, t) = signed_in_tokens(&app, &mut b, "acme", &a1, &email).await;
    let hint = t["id_token"].as_str().unwrap();
    // Each would end the session, and none may redirect: another client's URI, another
    // organization's client and its URI, a client_id contradicting the hint, nothing named.
    let cases: Vec<Vec<(&str, &str)>> = vec![
        vec![
            ("client_id", &a1),
            ("post_logout_redirect_uri", "https://other.example.test/cb"),
        ],
        vec![
            ("client_id", &b1),
            ("post_logout_redirect_uri", "https://evil.example.test/cb"),
        ],
        vec![
            ("id_token_hint", hint),
            ("client_id", &a2),
            ("post_logout_redirect_uri", "https://other.example.test/cb"),
        ],
        vec![("post_logout_redirect_uri", REDIRECT)],
        vec![
            ("client_id", &a1),
            ("post_logout_redirect_uri", "https://evil.example.test/cb"),
        ],
    ];
    for params in cases {
        let page = b.get(&logout_path(&params)).await;
        assert!(page.location().is_none(), "{params:?}");
        if page.body.contains("Sign out?") {
            let out = b.post(LOGOUT, &page.hidden_fields()).await;
            assert!(out.location().is_none(), "{params:?}: {:?}", out.location());
            assert_eq!(out.status, 200);
        }
    }
}
