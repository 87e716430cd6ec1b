//! Tenant isolation: no credential of one organization reads or changes another's data.

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{Org, TestApp};

/// Everything visible about an organization, to prove that nothing changed.
async fn snapshot(app: &TestApp, org: &Org) -> Value {
    json!({
        "org": app.get(&format!("/v1/{}/organization/", org.id), &org.token).await.expect(200),
        "users": app.list_users(org, &org.token, "").await,
        "roles": app.get(&format!("/v1/{}/role/?return_permission_grants=true", org.id), &org.token).await.expect(200),
        "keys": app.get(&format!("/v1/{}/organization/api_key/", org.id), &org.token).await.expect(200),
        "grants": app.get(&format!("/v1/{}/role/temporary_permission_grants/", org.id), &org.token).await.expect(200),
    })
}

/// Every authenticated Amigo route, with a body that would succeed for the right caller.
fn routes(org: &str, user: &str, key: &str) -> Vec<(Method, String, Option<Value>)> {
    let grant = json!({ "permission_name": "User:GetUserInfo", "conditions": {} });
    vec![
        (
            Method::POST,
            format!("/v1/{org}/organization/"),
            Some(json!({ "default_user_preferences": { "timezone": "Asia/Tokyo" } })),
        ),
        (Method::DELETE, format!("/v1/{org}/organization/"), None),
        (
            Method::POST,
            format!("/v1/{org}/organization/api_key/"),
            Some(json!({ "name": "x", "duration": "P1D", "role_name": "DefaultUserRole" })),
        ),
        (
            Method::GET,
            format!("/v1/{org}/organization/api_key/"),
            None,
        ),
        (
            Method::DELETE,
            format!("/v1/{org}/organization/api_key/{key}/"),
            None,
        ),
        (
            Method::POST,
            format!("/v1/{org}/user/"),
            Some(
                json!({ "first_name": "E", "last_name": "Vil", "email": "evil@x.example", "role_name": "DefaultUserRole" }),
            ),
        ),
        (
            Method::POST,
            format!("/v1/{org}/user/invite"),
            Some(
                json!({ "first_name": "E", "last_name": "Vil", "email": "evil2@x.example", "role_name": "DefaultUserRole" }),
            ),
        ),
        (Method::GET, format!("/v1/{org}/user/"), None),
        (
            Method::GET,
            format!("/v1/{org}/user/search/?query=target"),
            None,
        ),
        (
            Method::POST,
            format!("/v1/{org}/user/{user}"),
            Some(json!({ "first_name": "Owned" })),
        ),
        (
            Method::POST,
            format!("/v1/{org}/user/{user}/user"),
            Some(json!({ "first_name": "Owned" })),
        ),
        (Method::DELETE, format!("/v1/{org}/user/{user}"), None),
        (
            Method::GET,
            format!("/v1/{org}/user/{user}/user_model"),
            None,
        ),
        (Method::GET, format!("/v1/{org}/user/{user}/memory"), None),
        (
            Method::POST,
            format!("/v1/{org}/user/{user}/variable"),
            Some(json!({ "upserts": [{ "name": "x1", "value": "y", "is_secret": false }] })),
        ),
        (
            Method::POST,
            format!("/v1/{org}/role/temporary_permission_grant/"),
            Some(
                json!({ "user_id": user, "duration": "PT1H", "permission_grant": grant, "tags": {}, "justification": "long enough reason" }),
            ),
        ),
        (
            Method::GET,
            format!("/v1/{org}/role/temporary_permission_grants/"),
            None,
        ),
        (
            Method::POST,
            format!("/v1/{org}/role/"),
            Some(
                json!({ "role_name": "Evil", "description": "x", "permission_grants": [], "frontend_view": "client" }),
            ),
        ),
        (Method::GET, format!("/v1/{org}/role/"), None),
        (
            Method::POST,
            format!("/v1/{org}/role/DefaultUserRole"),
            Some(json!({ "description": "owned" })),
        ),
        (
            Method::POST,
            format!("/v1/{org}/role/DefaultUserRole/assign"),
            Some(json!({ "user_id": user })),
        ),
    ]
}

#[tokio::test]
async fn another_organizations_credentials_change_nothing() {
    let app = TestApp::spawn().await;
    let acme = app.bootstrap("acme").await;
    let beta = app.bootstrap("beta").await;
    let target = app
        .invite(
            &acme,
            "target@acme.example",
            "Target",
            "User",
            "DefaultUserRole",
        )
        .await;
    let (beta_user, beta_user_token) = app
        .user(&beta, "someone@beta.example", "DefaultUserRole")
        .await;
    let before = snapshot(&app, &acme).await;
    let table = routes("acme", &target, &acme.key_id);
    assert_eq!(table.len(), 21, "a new Amigo route needs a row here");
    for token in [&beta.token, &beta_user_token] {
        for (method, path, body) in &table {
            let r = app
                .call(method.clone(), path, Some(token), body.clone(), &[])
                .await;
            assert!(
                matches!(r.status.as_u16(), 403 | 404),
                "{method} {path} with another organization's token: {} {}",
                r.status,
                r.body
            );
            // Even naming the issuing organization does not help a non-platform caller.
            let r = app
                .call(
                    method.clone(),
                    path,
                    Some(token),
                    body.clone(),
                    &[("x-org-id", "beta")],
                )
                .await;
            assert!(
                matches!(r.status.as_u16(), 403 | 404),
                "{method} {path} with X-ORG-ID: {}",
                r.status
            );
        }
    }
    // Beta's API key cannot sign in as an acme user, on either organization's path.
    let beta_key = Org {
        id: "acme".into(),
        ..beta.clone()
    };
    app.sign_in_resp(&beta_key, &target).await.expect(401);
    app.sign_in_resp(&beta, &target).await.expect(401);
    // Acme's ids used on beta's paths are simply not there.
    for (method, path, body) in routes("beta", &target, &acme.key_id) {
        if path.contains(&target) || path.contains(&acme.key_id) {
            let r = app
                .call(method.clone(), &path, Some(&beta.token), body, &[])
                .await;
            assert_eq!(r.status, 404, "{method} {path}: {}", r.body);
        }
    }
    assert_eq!(
        snapshot(&app, &acme).await,
        before,
        "acme changed under foreign credentials"
    );
    // And the listing never shows foreign rows.
    let beta_list = app.list_users(&beta, &beta.token, "").await.to_string();
    assert!(!beta_list.contains(&target) && beta_list.contains(&beta_user));
    let search = app
        .get("/v1/beta/user/search/?query=target", &beta.token)
        .await
        .expect(200);
    assert_eq!(search["users"], json!([]));
}
