//! Request ids, maintenance mode, rate limits, body limits, health and metrics.

use reqwest::Method;
use roster_domain::types::OrgId;
use roster_server::state::MAINTENANCE_KEY;
use serde_json::json;

use crate::helpers::TestApp;

#[tokio::test]
async fn request_ids_are_echoed_or_made() {
    let app = TestApp::spawn().await;
    let acme = app.bootstrap("acme").await;
    let r = app
        .call(
            Method::GET,
            "/v1/acme/user/",
            Some(&acme.token),
            None,
            &[("x-request-id", "trace-123")],
        )
        .await;
    assert_eq!(r.headers["x-request-id"], "trace-123");
    let r = app
        .call(
            Method::POST,
            "/v1/acme/user/",
            Some(&acme.token),
            Some(json!({})),
            &[("x-request-id", "trace-err")],
        )
        .await;
    assert_eq!(
        (
            r.status.as_u16(),
            r.headers["x-request-id"].to_str().unwrap()
        ),
        (422, "trace-err")
    );
    let r = app.call(Method::GET, "/healthz", None, None, &[]).await;
    assert!(!r.headers["x-request-id"].is_empty());
    // The request id reaches the audit trail.
    app.call(Method::POST, "/v1/acme/user/", Some(&acme.token), Some(json!({ "first_name": "R", "last_name": "I", "email": "ri@x.example", "role_name": "DefaultUserRole" })), &[("x-request-id", "trace-audit")]).await.expect(201);
    let audit = app
        .state
        .core
        .store
        .list_audit(&OrgId::from("acme"), 10)
        .await
        .unwrap();
    assert!(audit
        .iter()
        .any(|e| e.action == "user.invite" && e.request_id.as_deref() == Some("trace-audit")));
}

#[tokio::test]
async fn maintenance_answers_503_except_health() {
    let app = TestApp::spawn().await;
    let acme = app.bootstrap("acme").await;
    app.state
        .core
        .store
        .put_setting(MAINTENANCE_KEY, "on", roster_domain::types::now_micros())
        .await
        .unwrap();
    app.state.refresh_maintenance().await;
    let r = app.get("/v1/acme/user/", &acme.token).await;
    assert_eq!(r.status, 503);
    assert!(r.headers.contains_key("retry-after"));
    assert_eq!(
        r.body["detail"],
        "The service is going through temporary maintenance."
    );
    app.call(Method::GET, "/healthz", None, None, &[])
        .await
        .expect(200);
    app.call(Method::GET, "/readyz", None, None, &[])
        .await
        .expect(200);
    app.state
        .core
        .store
        .put_setting(MAINTENANCE_KEY, "off", roster_domain::types::now_micros())
        .await
        .unwrap();
    app.state.refresh_maintenance().await;
    app.get("/v1/acme/user/", &acme.token).await.expect(200);
}

#[tokio::test]
async fn rate_limits_answer_429_with_retry_after() {
    let app =
        TestApp::spawn_with(|c| c.rate_limits = "get-users=2,sign-in-with-api-key=3".into()).await;
    let acme = app.bootstrap("acme").await; // one sign-in
    app.get("/v1/acme/user/", &acme.token).await.expect(200);
    app.get("/v1/acme/user/", &acme.token).await.expect(200);
    let r = app.get("/v1/acme/user/", &acme.token).await;
    assert_eq!(r.status, 429);
    assert!(
        r.headers["retry-after"]
            .to_str()
            .unwrap()
            .parse::<u64>()
            .unwrap()
            >= 1
    );
    assert!(r.body["detail"]
        .as_str()
        .unwrap()
        .contains("2 requests per minute"));
    // Limits are per caller: another user still gets through.
    let (_, other) = app.user(&acme, "o@x.example", "DefaultUserRole").await;
    app.get("/v1/acme/user/", &other).await.expect(200);
    // The key has signed in twice (the administrator, the other user); the third passes, the fourth not.
    app.sign_in_resp(&acme, &acme.admin_id).await.expect(200);
    app.sign_in_resp(&acme, &acme.admin_id).await.expect(429);
}

#[tokio::test]
async fn oversized_bodies_get_413() {
    let app = TestApp::spawn_with(|c| c.max_body_bytes = 2048).await;
    let acme = app.bootstrap("acme").await;
    let big = json!({ "first_name": "x".repeat(5000), "last_name": "y", "email": "big@x.example", "role_name": "DefaultUserRole" });
    let r = app.post("/v1/acme/user/", &acme.token, big).await;
    assert_eq!(r.status, 413, "{}", r.body);
    assert_eq!(app.count_users("acme").await, 1);
}

#[tokio::test]
async fn health_readiness_and_metrics() {
    let app = TestApp::spawn().await;
    let acme = app.bootstrap("acme").await;
    let ready = app
        .call(Method::GET, "/readyz", None, None, &[])
        .await
        .expect(200);
    assert_eq!(ready["migrations_current"], true);
    app.get("/v1/acme/user/", &acme.token).await.expect(200);
    app.get("/v1/acme/user/nobody/user_model", &acme.token)
        .await
        .expect(404);
    let metrics = app
        .call(Method::GET, "/metrics", None, None, &[])
        .await
        .expect(200);
    let metrics = metrics.as_str().expect("text");
    assert!(
        metrics.contains(r#"roster_http_requests_total{surface="amigo",method="GET",route="/v1/{organization}/user/",status="200"}"#),
        "{metrics}"
    );
    assert!(metrics.contains(r#",status="404"}"#), "{metrics}");
    let unknown = app
        .call(
            Method::GET,
            "/v1/acme/nothing/here",
            Some(&acme.token),
            None,
            &[],
        )
        .await;
    assert_eq!(unknown.status, 404);
}

#[tokio::test]
async fn client_addresses_behind_a_trusted_proxy() {
    let app = TestApp::spawn_with(|c| {
        c.rate_limits = "sign-in-with-email=1".into();
        c.trusted_proxies = vec!["127.0.0.1".into()];
    })
    .await;
    app.bootstrap("acme").await;
    let app = &app;
    let ask = |from: &'static str| async move {
        let headers = [("x-forwarded-for", from)];
        let body =
            json!({ "email": format!("{from}@x.example"), "redirect_link": "https://a.example/" });
        app.call(
            Method::POST,
            "/v1/acme/user/signin",
            None,
            Some(body),
            &headers,
        )
        .await
    };
    // Two clients behind the proxy have a budget each; one of them used twice is throttled.
    assert_eq!(ask("203.0.113.1").await.status, 200);
    assert_eq!(ask("203.0.113.2").await.status, 200);
    assert_eq!(ask("203.0.113.1").await.status, 429);
}
