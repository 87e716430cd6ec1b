//! The rules around the email flows: a token used twice at once, the same answer for known and
//! unknown addresses, links that ignore hostile Host headers, throttles, and bad input.

use reqwest::{Method, StatusCode};
use roster_domain::types::OrgId;
use serde_json::json;

use crate::email_delivery::invite_with_email;
use crate::email_flows::{token_of, PUBLIC};
use crate::helpers::TestApp;
use crate::smtp::SmtpServer;

/// One token, two uses at the same moment: exactly one succeeds (invitation and reset).
#[tokio::test]
async fn one_token_used_twice_at_once_succeeds_once() {
    let app = TestApp::spawn().await;
    let acme = app.bootstrap("acme").await;
    for round in 0..3 {
        let body = json!({ "first_name": "C", "last_name": "C", "email": format!("c{round}@example.com"), "role_name": "DefaultUserRole" });
        let out = app
            .post("/v1/acme/user/", &acme.token, body)
            .await
            .expect(201);
        let token = token_of(out["verify_link"].as_str().unwrap());
        let (a, b) = tokio::join!(
            app.anon(
                "/v1/acme/user/verify",
                json!({ "token": token, "password": "Both-try1" })
            ),
            app.anon(
                "/v1/acme/user/verify",
                json!({ "token": token, "password": "Both-try2" })
            ),
        );
        let mut codes = [a.status.as_u16(), b.status.as_u16()];
        codes.sort();
        assert_eq!(codes, [200, 401], "round {round}");
    }

    let user_id = app
        .active_user(&acme, "r@example.com", "eng", Some("First-1"))
        .await;
    app.anon(
        "/v1/acme/user/password-reset/request",
        json!({ "email": "r@example.com" }),
    )
    .await
    .expect(200);
    let reset = app
        .state
        .core
        .store
        .list_outbox(&OrgId::from("acme"))
        .await
        .unwrap()
        .into_iter()
        .find(|m| m.kind == "password_reset")
        .expect("queued");
    let token = token_of(reset.payload["link"].as_str().unwrap());
    let (a, b) = tokio::join!(
        app.anon(
            "/v1/acme/user/password-reset",
            json!({ "token": token, "password": "Winner-1" })
        ),
        app.anon(
            "/v1/acme/user/password-reset",
            json!({ "token": token, "password": "Winner-2" })
        ),
    );
    let mut codes = [a.status.as_u16(), b.status.as_u16()];
    codes.sort();
    assert_eq!(codes, [204, 401]);
    let winner = if a.status == StatusCode::NO_CONTENT {
        "Winner-1"
    } else {
        "Winner-2"
    };
    assert!(app.password_matches("acme", &user_id, winner).await);
}

/// Sign-in by email, magic link and reset requests answer a known and an unknown address alike.
#[tokio::test]
async fn known_and_unknown_emails_get_the_same_answer() {
    let app = TestApp::spawn().await;
    let acme = app.bootstrap("acme").await;
    app.active_user(&acme, "known@example.com", "eng", Some("Known-pass1"))
        .await;
    let requests = [
        (
            "/v1/acme/user/signin",
            json!({ "redirect_link": "https://app.example/in" }),
        ),
        ("/v1/acme/user/password-reset/request", json!({})),
    ];
    for (path, base) in requests {
        let mut answers = Vec::new();
        for email in ["known@example.com", "unknown@example.com"] {
            let mut body = base.clone();
            body["email"] = json!(email);
            let r = app.anon(path, body).await;
            answers.push((r.status, r.body));
        }
        assert_eq!(answers[0].0, answers[1].0, "{path}: same status");
        assert_eq!(answers[0].1, answers[1].1, "{path}: same body");
        assert_eq!(answers[0].0, 200);
    }
    // Only the known address got mail.
    let mail = app
        .state
        .core
        .store
        .list_outbox(&OrgId::from("acme"))
        .await
        .unwrap();
    assert_eq!(mail.len(), 2);
    assert!(mail.iter().all(|m| m.recipient == "known@example.com"));
}

/// Password sign-in (the token endpoint) answers a wrong password of a known account and any
/// password of an unknown one alike; both are checked against a hash, so both take argon2 time.
#[tokio::test]
async fn password_sign_in_answers_known_and_unknown_emails_alike() {
    let app = TestApp::spawn().await;
    let acme = app.bootstrap("acme").await;
    app.active_user(&acme, "pw@example.com", "eng", Some("Right-pass1"))
        .await;
    let mut answers = Vec::new();
    for username in ["pw@example.com", "nobody@example.com"] {
        let form = [
            ("grant_type", "password"),
            ("username", username),
            ("password", "Wrong-pass1"),
        ];
        let r = app
            .call_with(
                Method::POST,
                "/realms/acme/protocol/openid-connect/token",
                |r| r.form(&form),
            )
            .await;
        answers.push((r.status.as_u16(), r.body));
    }
    assert_eq!(answers[0], answers[1]);
    assert_eq!(answers[0].0, 401, "{}", answers[0].1);
}

/// Links are built from ROSTER_PUBLIC_URL whatever Host and X-Forwarded-Host say.
#[tokio::test]
async fn links_ignore_hostile_host_headers() {
    let smtp = SmtpServer::start().await;
    let app = TestApp::spawn_with_smtp(&smtp).await;
    let acme = app.bootstrap("acme").await;
    app.active_user(&acme, "h@example.com", "eng", None).await;
    let hostile = [
        ("host", "evil.example"),
        ("x-forwarded-host", "evil.example"),
        ("x-forwarded-proto", "http"),
        ("forwarded", "host=evil.example;proto=http"),
    ];
    app.call(
        Method::POST,
        "/v1/acme/user/signin",
        None,
        Some(json!({ "email": "h@example.com", "redirect_link": "https://app.example/in" })),
        &hostile,
    )
    .await
    .expect(200);
    app.call(
        Method::POST,
        "/v1/acme/user/password-reset/request",
        None,
        Some(json!({ "email": "h@example.com" })),
        &hostile,
    )
    .await
    .expect(200);
    smtp.wait_for_count(2).await;
    for m in smtp.messages() {
        assert!(
            m.link(PUBLIC)
                .starts_with(&format!("{PUBLIC}/v1/acme/user/")),
            "{}",
            m.text()
        );
        assert!(!m.data.contains("evil"), "{}", m.data);
    }
}

/// Every endpoint that sends mail is throttled per address (whoever asks, known or not) and
/// per client.
#[tokio::test]
async fn mail_sending_endpoints_are_throttled_per_address_and_per_client() {
    let app = TestApp::spawn_with(|c| {
        c.rate_limits = "email-per-address=2,request-password-reset-email=2".into();
    })
    .await;
    let acme = app.bootstrap("acme").await;
    for email in ["known-t@example.com", "nobody@example.com"] {
        let body = json!({ "email": email, "redirect_link": "https://app.example/in" });
        app.anon("/v1/acme/user/signin", body.clone())
            .await
            .expect(200);
        app.anon(
            "/v1/acme/user/password-reset/request",
            json!({ "email": email }),
        )
        .await
        .expect(200);
        let r = app.anon("/v1/acme/user/signin", body).await;
        assert_eq!(r.status.as_u16(), 429, "{email}: {}", r.body);
        assert!(r.headers.get("retry-after").is_some());
    }
    // Per client: the reset request allows 2 a minute from one client, whatever the email.
    let r = app
        .anon(
            "/v1/acme/user/password-reset/request",
            json!({ "email": "third@example.com" }),
        )
        .await;
    assert_eq!(r.status.as_u16(), 429, "{}", r.body);
    // An administrator inviting (with an email) is throttled per address too.
    invite_with_email(&app, &acme, "inv-t@example.com").await;
    let owner = app.owner_session(&acme).await;
    app.call(
        Method::PATCH,
        "/users/me",
        Some(&owner),
        Some(json!({ "email": "inv-t@example.com" })),
        &[],
    )
    .await
    .expect(409);
    let r = app
        .call(
            Method::POST,
            "/users/invite",
            Some(&acme.token),
            Some(json!({ "email": "inv-t@example.com", "name": "X", "roles": ["analyst"], "connection": null })),
            &[],
        )
        .await;
    assert_eq!(r.status.as_u16(), 429, "{}", r.body);
}

/// Bad input to the new endpoints is a 4xx naming the field, in the surface's error shape.
#[tokio::test]
async fn bad_input_names_the_field() {
    let app = TestApp::spawn().await;
    app.bootstrap("acme").await;
    let r = app
        .call(Method::GET, "/v1/acme/user/verify", None, None, &[])
        .await
        .expect(422);
    assert_eq!(r["detail"][0]["loc"], json!(["query", "token"]));
    let r = app
        .call(
            Method::GET,
            "/v1/acme/user/password-reset?token=",
            None,
            None,
            &[],
        )
        .await
        .expect(422);
    assert_eq!(r["detail"][0]["loc"], json!(["query", "token"]));
    let r = app
        .call(Method::GET, "/users/email-change/confirm", None, None, &[])
        .await
        .expect(422);
    assert_eq!(r["detail"][0]["loc"], json!(["query", "token"]));
    let r = app
        .anon("/v1/acme/user/password-reset", json!({ "token": "x" }))
        .await
        .expect(422);
    assert_eq!(r["detail"][0]["loc"], json!(["body", "password"]));
    let r = app
        .anon(
            "/v1/acme/user/password-reset/request",
            json!({ "email": "not-an-address" }),
        )
        .await
        .expect(422);
    assert_eq!(r["detail"][0]["loc"], json!(["body", "email"]));
    let r = app
        .anon(
            "/v1/acme/user/verify",
            json!({ "token": "x", "password": "weak" }),
        )
        .await
        .expect(422);
    assert_eq!(r["detail"][0]["loc"], json!(["body", "password"]));
    // Unknown or used tokens: 401 for JSON clients, a "no longer works" page for browsers.
    app.anon(
        "/v1/acme/user/password-reset",
        json!({ "token": "nope", "password": "Good-pass1" }),
    )
    .await
    .expect(401);
    assert_eq!(
        app.open(&format!("{PUBLIC}/v1/acme/user/verify?token=nope"))
            .await
            .status,
        410
    );
    app.anon(
        "/v1/nope/user/password-reset/request",
        json!({ "email": "a@b.example" }),
    )
    .await
    .expect(404);
}
