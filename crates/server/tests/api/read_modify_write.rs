//! What the API returned, it accepts back: a client reads an object, changes one field and
//! sends the whole object back (as Spring and TypeScript clients do). Read-only fields of the
//! response are accepted and ignored; only the changed field changes; fields that no response
//! has are still refused.

use reqwest::Method;
use serde_json::{json, Value};

use crate::eva::{BOT, PROD};
use crate::helpers::TestApp;

/// `after` equals `before` except at `field` (a top-level key), where it is `changed`.
#[track_caller]
fn only_changed(before: &Value, after: &Value, field: &str, changed: &Value) {
    let mut expected = before.clone();
    expected[field] = changed.clone();
    assert_eq!(after, &expected, "only {field} changes");
}

#[tokio::test]
async fn eva_a_read_user_sent_back_with_one_change_updates_only_that() {
    let app = TestApp::spawn().await;
    let acme = app.bootstrap("acme").await;
    app.eva_catalog("acme").await;
    let base = format!("/org/{}/users", acme.uuid);
    let new = json!({ "name": "Eda Itor", "email": "eda@x.example", "company": "Old Co",
        "environments": [{ "role": "EDITOR", "environment": { "uuid": PROD }, "bots": [{ "uuid": BOT }] }],
        "password": "Edit0r-pass", "passwordConfirmation": "Edit0r-pass" });
    let made = app
        .eva(Method::POST, &base, &acme.token, Some(new))
        .await
        .expect(200);
    let path = format!("{base}/{}", made["uuid"].as_str().unwrap());
    let read = app
        .eva(Method::GET, &path, &acme.token, None)
        .await
        .expect(200);
    // Every field of the response goes back: uuid, orgUUID, createdAt, rules, names.
    let mut body = read.clone();
    body["company"] = json!("New Co");
    let put = app
        .eva(Method::PUT, &path, &acme.token, Some(body.clone()))
        .await
        .expect(200);
    let after = app
        .eva(Method::GET, &path, &acme.token, None)
        .await
        .expect(200);
    assert_eq!(put, after);
    only_changed(&read, &after, "company", &json!("New Co"));
    // Read-only means ignored: another id or organization in the body changes nothing.
    body["uuid"] = json!(acme.admin_id);
    body["orgUUID"] = json!("another");
    body["createdAt"] = json!("2000-01-01T00:00:00.000000Z");
    let again = app
        .eva(Method::PUT, &path, &acme.token, Some(body.clone()))
        .await
        .expect(200);
    assert_eq!(again, after);
    // A field that no response has is still refused.
    body["orgId"] = json!("x");
    let r = app.eva(Method::PUT, &path, &acme.token, Some(body)).await;
    assert_eq!(r.status, 422);
    assert_eq!(r.body["details"][0]["fieldName"], "orgId");
}

#[tokio::test]
async fn amigo_a_read_organization_and_role_sent_back_with_one_change_update_only_that() {
    let app = TestApp::spawn().await;
    let acme = app.bootstrap("acme").await;
    let org = app
        .get("/v1/acme/organization/", &acme.token)
        .await
        .expect(200);
    let mut body = org.clone();
    body["default_user_preferences"]["timezone"] = json!("America/Sao_Paulo");
    app.post("/v1/acme/organization/", &acme.token, body.clone())
        .await
        .expect(204);
    let after = app
        .get("/v1/acme/organization/", &acme.token)
        .await
        .expect(200);
    only_changed(
        &org,
        &after,
        "default_user_preferences",
        &body["default_user_preferences"],
    );
    body["is_platform"] = json!(true);
    let r = app.post("/v1/acme/organization/", &acme.token, body).await;
    assert_eq!(r.status, 422);
    assert_eq!(r.body["detail"][0]["loc"], json!(["body", "is_platform"]));

    let role = json!({ "role_name": "Support", "description": "Reads users.", "frontend_view": "client",
        "permission_grants": [{ "permission_name": "User:GetUserInfo", "conditions": {} }] });
    app.post("/v1/acme/role/", &acme.token, role)
        .await
        .expect(201);
    let listed = || {
        let (app, token) = (&app, acme.token.clone());
        async move {
            let all = app
                .get(
                    "/v1/acme/role/?return_permission_grants=true&name=Support",
                    &token,
                )
                .await
                .expect(200);
            all.as_array()
                .map(|a| a[0].clone())
                .unwrap_or_else(|| all["roles"][0].clone())
        }
    };
    let before = listed().await;
    let mut body = before.clone();
    body["description"] = json!("Reads every user.");
    app.post("/v1/acme/role/Support", &acme.token, body)
        .await
        .expect(200);
    let after = listed().await;
    only_changed(&before, &after, "description", &json!("Reads every user."));
}

#[tokio::test]
async fn oum_a_read_profile_sent_back_with_one_change_updates_only_that() {
    let app = TestApp::spawn().await;
    let acme = app.bootstrap("acme").await;
    let owner = app.owner_session(&acme).await;
    let me = app
        .call(Method::GET, "/users/me", Some(&owner), None, &[])
        .await
        .expect(200);
    let mut body = me.clone();
    body["name"] = json!("Ada Lovelace");
    let patched = app
        .call(
            Method::PATCH,
            "/users/me",
            Some(&owner),
            Some(body.clone()),
            &[],
        )
        .await
        .expect(200);
    assert_eq!(patched["name"], "Ada Lovelace");
    let after = app
        .call(Method::GET, "/users/me", Some(&owner), None, &[])
        .await
        .expect(200);
    only_changed(&me, &after, "name", &json!("Ada Lovelace"));
    // `roles` is read-only: sending other roles back changes none.
    body["roles"] = json!(["analyst"]);
    app.call(
        Method::PATCH,
        "/users/me",
        Some(&owner),
        Some(body.clone()),
        &[],
    )
    .await
    .expect(200);
    let still = app
        .call(Method::GET, "/users/me", Some(&owner), None, &[])
        .await
        .expect(200);
    assert_eq!(still, after);
    body["connection_type"] = json!("x");
    let r = app
        .call(Method::PATCH, "/users/me", Some(&owner), Some(body), &[])
        .await;
    assert_eq!(r.status, 422);
    assert_eq!(
        r.body["detail"][0]["loc"],
        json!(["body", "connection_type"])
    );
}
