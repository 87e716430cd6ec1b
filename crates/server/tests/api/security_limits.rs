//! Brute force and resource exhaustion: password sign-in throttled per account and per client
//! (backoff, then a lock, every refusal indistinguishable from a wrong password, counted
//! atomically across nodes), bounded argon2 work, and size, depth and length limits on every
//! surface.

use roster_domain::types::OrgId;
use std::time::Duration;

use reqwest::Method;
use serde_json::json;

use crate::eva::{BOT, PROD};
use crate::helpers::{Resp, TestApp};

const PASSWORD: &str = "Corr3ct-horse";

/// The password grant of the token endpoint, from `client` when given (behind a trusted proxy).
async fn grant(app: &TestApp, email: &str, password: &str, client: Option<&str>) -> Resp {
    let form = form_urlencoded::Serializer::new(String::new())
        .append_pair("grant_type", "password")
        .append_pair("client_id", "eva-cockpit")
        .append_pair("username", email)
        .append_pair("password", password)
        .finish();
    let path = "/realms/acme/protocol/openid-connect/token";
    app.call_with(Method::POST, path, |req| {
        let req = req.header("content-type", crate::helpers::FORM).body(form);
        match client {
            Some(ip) => req.header("x-forwarded-for", ip),
            None => req,
        }
    })
    .await
}

async fn audit_count(app: &TestApp, action: &str) -> usize {
    let events = app
        .state
        .core
        .store
        .list_audit(&OrgId::from("acme"), 1000)
        .await
        .unwrap();
    events.iter().filter(|e| e.action == action).count()
}

#[tokio::test]
async fn sign_in_backs_off_then_locks_and_every_refusal_looks_like_a_wrong_password() {
    let app = TestApp::spawn_with(|c| {
        c.signin_backoff_after = 2;
        c.signin_backoff_ms = 1000;
        c.signin_lock_after = 4;
        c.signin_lock_secs = 3;
        // Time stands still but for the test's moves: every deadline below is exact.
        c.clock = roster_domain::clock::Clock::frozen();
    })
    .await;
    let acme = app.bootstrap("acme").await;
    let email = app.give_admin_password(&acme, PASSWORD).await;
    let wrong = grant(&app, &email, "Wrong-1", None).await;
    assert_eq!(wrong.status, 401);
    let refusal = wrong.body.clone();
    assert_eq!(refusal["error"], "invalid_grant");
    let same = |r: Resp, what: &str| {
        assert_eq!(
            (r.status.as_u16(), &r.body),
            (401, &refusal),
            "{what} must read as a wrong password"
        );
        assert!(!r.headers.contains_key("retry-after"), "{what}: no hint");
    };
    // Two failures: the next attempt within the backoff is refused, even with the password.
    same(
        grant(&app, &email, "Wrong-2", None).await,
        "a second failure",
    );
    same(
        grant(&app, &email, PASSWORD, None).await,
        "the right password during the backoff",
    );
    // An account that does not exist answers the same at every step: the throttle is no
    // existence oracle.
    for i in 0..3 {
        same(
            grant(&app, "ghost@acme.example", &format!("Wrong-{i}"), None).await,
            "an unknown account",
        );
    }
    // The backoff (1 s) holds to its last microsecond, then lets one attempt through.
    app.advance(Duration::from_micros(999_999));
    same(
        grant(&app, &email, PASSWORD, None).await,
        "the right password 1 µs before the backoff ends",
    );
    app.advance(Duration::from_micros(1));
    // The wait doubles; after the fourth failure the account is locked.
    same(
        grant(&app, &email, "Wrong-3", None).await,
        "a third failure",
    );
    app.advance(Duration::from_micros(1_999_999));
    same(
        grant(&app, &email, PASSWORD, None).await,
        "the right password 1 µs before the doubled backoff ends",
    );
    app.advance(Duration::from_micros(1));
    same(
        grant(&app, &email, "Wrong-4", None).await,
        "a fourth failure",
    );
    same(
        grant(&app, &email, PASSWORD, None).await,
        "the right password during the lock",
    );
    app.advance(Duration::from_micros(2_999_999));
    same(
        grant(&app, &email, PASSWORD, None).await,
        "the right password 1 µs before the lock ends",
    );
    assert_eq!(audit_count(&app, "user.sign_in.password_failed").await, 4);
    assert_eq!(
        audit_count(&app, "user.sign_in.password_throttled").await,
        5,
        "each refusal is recorded"
    );
    // The lock runs out; the password works again and the count starts afresh.
    app.advance(Duration::from_micros(1));
    let ok = grant(&app, &email, PASSWORD, None).await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    same(
        grant(&app, &email, "Wrong-5", None).await,
        "a fresh failure",
    );
    let ok = grant(&app, &email, PASSWORD, None).await;
    assert_eq!(ok.status, 200, "one failure after a reset is not throttled");
}

#[tokio::test]
async fn fifty_parallel_guesses_on_two_nodes_get_no_more_tries_than_the_limit() {
    let settings = |c: &mut roster_server::Config| {
        c.signin_backoff_after = 5;
        c.signin_lock_after = 5;
        c.signin_lock_secs = 600;
    };
    let a = TestApp::spawn_with(settings).await;
    let acme = a.bootstrap("acme").await;
    let email = a.give_admin_password(&acme, PASSWORD).await;
    let url = a.database_url.clone();
    let b = TestApp::spawn_with(|c| {
        settings(c);
        c.database_url = Some(url);
    })
    .await;
    let guesses = (0..50).map(|i| {
        let node = if i % 2 == 0 { &a } else { &b };
        let email = email.clone();
        async move { grant(node, &email, &format!("Guess-{i}"), None).await }
    });
    let answers = futures::future::join_all(guesses).await;
    let first = answers[0].body.clone();
    for r in &answers {
        assert_eq!((r.status.as_u16(), &r.body), (401, &first));
    }
    // Exactly the limit's worth of passwords were checked; the rest were refused unchecked.
    assert_eq!(
        a.state
            .core
            .store
            .list_audit(&OrgId::from("acme"), 1000)
            .await
            .unwrap()
            .iter()
            .filter(|e| e.action == "user.sign_in.password_failed")
            .count(),
        5
    );
    assert_eq!(audit_count(&a, "user.sign_in.password_throttled").await, 45);
    // Locked on both nodes, the right password included.
    for node in [&a, &b] {
        let r = grant(node, &email, PASSWORD, None).await;
        assert_eq!((r.status.as_u16(), &r.body), (401, &first));
    }
}

#[tokio::test]
async fn a_client_trying_many_accounts_is_locked_out_of_all_of_them() {
    let app = TestApp::spawn_with(|c| {
        c.trusted_proxies = vec!["127.0.0.1".into()];
        c.signin_client_lock_after = 6;
        c.signin_backoff_ms = 0;
        c.signin_lock_secs = 600;
    })
    .await;
    let acme = app.bootstrap("acme").await;
    let email = app.give_admin_password(&acme, PASSWORD).await;
    let attacker = Some("203.0.113.7");
    for i in 0..6 {
        let r = grant(&app, &format!("user{i}@acme.example"), "Guess-1", attacker).await;
        assert_eq!(r.status, 401);
    }
    // The client is locked: even the administrator's right password fails from there...
    let r = grant(&app, &email, PASSWORD, attacker).await;
    assert_eq!(r.status, 401, "{}", r.body);
    // ...while the account itself is not locked for anyone else.
    let r = grant(&app, &email, PASSWORD, Some("198.51.100.2")).await;
    assert_eq!(r.status, 200, "{}", r.body);
}

#[tokio::test]
async fn two_hundred_concurrent_sign_ins_are_turned_away_not_queued_without_end() {
    let app = TestApp::spawn_with(|c| {
        c.argon2_concurrency = 1;
        c.argon2_queue_ms = 30;
        // Hashes that take production's time, so one slot is really outrun.
        c.password_hash_cost = roster_domain::password::HashCost::Production;
        // This test is about the hashers: the throttle stays out of the way.
        c.signin_backoff_after = 1000;
        c.signin_lock_after = 1000;
    })
    .await;
    let acme = app.bootstrap("acme").await;
    let email = app.give_admin_password(&acme, PASSWORD).await;
    let attempts = (0..200).map(|i| {
        let (app, email) = (&app, email.clone());
        let password = if i % 2 == 0 { PASSWORD } else { "Wrong-pass1" };
        async move { grant(app, &email, password, None).await }
    });
    let answers = futures::future::join_all(attempts).await;
    let mut busy = 0;
    for r in &answers {
        let s = r.status.as_u16();
        assert!(matches!(s, 200 | 401 | 429 | 503), "{s}: {}", r.body);
        if matches!(s, 429 | 503) {
            busy += 1;
            let wait: u64 = r.headers["retry-after"].to_str().unwrap().parse().unwrap();
            assert!(wait >= 1);
        }
    }
    assert!(
        busy > 0,
        "one argon2 slot cannot serve 200 sign-ins at once"
    );
    assert!(
        answers
            .iter()
            .any(|r| matches!(r.status.as_u16(), 200 | 401)),
        "some were served"
    );
    // The server is healthy afterwards and signs in as usual.
    app.call(Method::GET, "/healthz", None, None, &[])
        .await
        .expect(200);
    let r = grant(&app, &email, PASSWORD, None).await;
    assert_eq!(r.status, 200, "{}", r.body);
}

#[tokio::test]
async fn passwords_are_capped_at_one_kibibyte_wherever_one_is_set_or_checked() {
    let app = TestApp::spawn().await;
    let acme = app.bootstrap("acme").await;
    app.eva_catalog("acme").await;
    let email = app.give_admin_password(&acme, PASSWORD).await;
    let long = format!("Aa1-{}", "x".repeat(1021)); // 1025 bytes
    let passphrase = format!("Aa1-{}", "correct horse battery staple ".repeat(3)); // 91 bytes
                                                                                   // Checked: the token endpoint names the field, and no throttle was charged for it.
    let r = grant(&app, &email, &long, None).await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(
        r.body["error_description"]
            .as_str()
            .unwrap()
            .contains("password"),
        "{}",
        r.body
    );
    // Set: eva's create, with a long passphrase accepted and an overlong one refused.
    let body = |email: &str, pw: &str| {
        json!({ "name": "Pat Phrase", "email": email, "admin": false,
                "environments": [{ "role": "EDITOR", "environment": { "uuid": PROD }, "bots": [{ "uuid": BOT }] }],
                "password": pw, "passwordConfirmation": pw })
    };
    let path = format!("/org/{}/users", acme.uuid);
    let r = app
        .eva(
            Method::POST,
            &path,
            &acme.token,
            Some(body("long@x.example", &long)),
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert_eq!(r.body["details"][0]["fieldName"], "password");
    app.eva(
        Method::POST,
        &path,
        &acme.token,
        Some(body("phrase@x.example", &passphrase)),
    )
    .await
    .expect(200);
    let r = grant(&app, "phrase@x.example", &passphrase, None).await;
    assert_eq!(r.status, 200, "a 91-byte passphrase signs in: {}", r.body);
    // Set: Amigo's password reset and invitation acceptance refuse it before the token is read.
    for (path, body) in [
        (
            "/v1/acme/user/password-reset",
            json!({ "token": "whatever", "password": long }),
        ),
        (
            "/v1/acme/user/verify",
            json!({ "token": "whatever", "password": long }),
        ),
    ] {
        let r = app.call(Method::POST, path, None, Some(body), &[]).await;
        assert_eq!(r.status, 422, "{path}: {}", r.body);
        assert_eq!(
            r.body["detail"][0]["loc"],
            json!(["body", "password"]),
            "{path}"
        );
    }
}

#[tokio::test]
async fn oversized_bodies_get_413_on_every_surface() {
    let app = TestApp::spawn_with(|c| {
        c.max_body_bytes = 4096;
        c.max_csv_bytes = 8192;
        c.max_csv_rows = 50;
    })
    .await;
    let acme = app.bootstrap("acme").await;
    app.eva_catalog("acme").await;
    let filler = "x".repeat(6000);
    let cases = [
        (
            Method::POST,
            "/v1/acme/role/".to_owned(),
            json!({ "role_name": "r", "description": filler, "permission_grants": [], "frontend_view": "client" }),
        ),
        (
            Method::POST,
            format!("/org/{}/users", acme.uuid),
            json!({ "name": filler, "email": "e@x.example" }),
        ),
        (
            Method::POST,
            "/users/invite".to_owned(),
            json!({ "email": "i@x.example", "name": filler, "roles": ["analyst"] }),
        ),
        (
            Method::PATCH,
            "/users/me".to_owned(),
            json!({ "name": filler }),
        ),
    ];
    for (method, path, body) in cases {
        let r = app
            .call(method, &path, Some(&acme.token), Some(body), &[])
            .await;
        assert_eq!(r.status, 413, "{path}: {}", r.body);
    }
    // Ingestion, and the token endpoint's form.
    let r = app
        .call(
            Method::POST,
            &format!("/ingest/v1/acme/users/{}/memories", acme.admin_id),
            None,
            Some(json!({ "memories": [{ "content": filler }] })),
            &[("authorization", "Bearer ingest-secret-for-tests")],
        )
        .await;
    assert_eq!(r.status, 413, "ingest: {}", r.body);
    let r = app
        .post_raw(
            "/realms/acme/protocol/openid-connect/token",
            None,
            format!("grant_type=password&username=a&password={filler}"),
        )
        .await;
    assert_eq!(r.status, 413);
    // The CSV upload has its own, larger limit in bytes, and a limit in lines.
    let path = format!("/org/{}/users/bulk-create", acme.uuid);
    let upload = |csv: String| app.upload_csv(Method::POST, &path, &acme.token, csv);
    let row = |i: usize| format!("u{i}@x.example;User {i};;EDITOR;;{PROD};Production;{BOT}\n");
    let fits: String = (0..40).map(row).collect();
    assert!(fits.len() > 4096 && fits.len() < 8192);
    upload(fits).await.expect(200);
    let too_big: String = (100..400).map(row).collect();
    upload(too_big).await.expect(413);
    let too_many_lines: String = (0..60).map(|i| format!("{i}\n")).collect();
    let body = upload(too_many_lines).await.expect(413);
    assert_eq!(body["errorCode"], "USER-413", "{body}");
    assert_eq!(
        app.count_users("acme").await,
        41,
        "nothing of a refused upload was written"
    );
}

#[tokio::test]
async fn deeply_nested_json_is_refused_on_every_surface() {
    let app = TestApp::spawn().await;
    let acme = app.bootstrap("acme").await;
    let nested =
        |depth: usize| -> String { format!("{}1{}", "[".repeat(depth), "]".repeat(depth)) };
    let raw = |method: Method, path: String, body: String| {
        let token = if path.starts_with("/ingest") {
            "ingest-secret-for-tests"
        } else {
            acme.token.as_str()
        };
        let app = &app;
        async move {
            app.call_with(method, &path, move |r| {
                r.bearer_auth(token)
                    .header("content-type", "application/json")
                    .body(body)
            })
            .await
        }
    };
    for depth in [64, 100_000] {
        let deep = format!(
            r#"{{"first_name": "D", "last_name": "N", "email": "d@x.example", "role_name": "DefaultUserRole", "user_preferences": {}}}"#,
            nested(depth)
        );
        for (method, path) in [
            (Method::POST, "/v1/acme/user/".to_owned()),
            (Method::POST, format!("/org/{}/users", acme.uuid)),
            (Method::POST, "/users/invite".to_owned()),
            (
                Method::PUT,
                format!("/ingest/v1/acme/users/{}/stats", acme.admin_id),
            ),
        ] {
            let r = raw(method, path.clone(), deep.clone()).await;
            assert_eq!(r.status, 422, "{path} at depth {depth}");
            let body = r.body;
            assert!(body.to_string().contains("levels deep"), "{path}: {body}");
        }
    }
    assert_eq!(app.count_users("acme").await, 1);
    app.call(Method::GET, "/healthz", None, None, &[])
        .await
        .expect(200);
}

/// Two attempts at once read the clock, then queue on the account's row: the one that read
/// it first may be charged second. Below the backoff, it is charged and allowed like the other
/// (it used to be refused, so that fewer than the limit's worth of passwords were checked).
#[tokio::test]
async fn an_attempt_charged_after_a_later_one_still_counts() {
    let app = TestApp::spawn().await;
    let store = &app.state.core.store;
    let policy = roster_domain::throttle::SignInThrottle::default().account;
    let t = roster_domain::types::now_micros();
    assert!(store
        .charge_sign_in_attempt("account:race@example.com", t + 1_000, &policy)
        .await
        .unwrap());
    assert!(
        store
            .charge_sign_in_attempt("account:race@example.com", t, &policy)
            .await
            .unwrap(),
        "an earlier clock reading, charged second, is not refused below the backoff"
    );
}
