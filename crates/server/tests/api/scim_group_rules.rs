//! Deleting a group takes the role from every holder, so the token must be able to see and
//! reassign every one of them (docs/scim.md): a token that sees none of the holders, or may not
//! assign roles, deletes nothing; a directory name that lowercases to an address is refused.

use reqwest::Method;
use serde_json::json;

use crate::helpers::{Org, TestApp};
use crate::scim::{base, scim, token, USER};
use crate::scim_directory::{id, post, GROUP};

/// A custom role with exactly these grants (Amigo's role API, as the organization's admin).
async fn role(app: &TestApp, org: &Org, name: &str, grants: &[&str]) {
    let grants: Vec<_> = grants
        .iter()
        .map(|g| json!({ "permission_name": g, "conditions": {} }))
        .collect();
    app.post(
        &format!("/v1/{}/role/", org.id),
        &org.token,
        json!({ "role_name": name, "description": name, "permission_grants": grants, "frontend_view": "client" }),
    )
    .await
    .expect(201);
}

#[tokio::test]
async fn a_group_is_deleted_only_by_a_token_that_sees_and_may_reassign_every_holder() {
    let app = TestApp::spawn().await;
    let org = app.bootstrap("acme").await;
    let t = token(&app, &org, None).await;
    let u = post(
        &app,
        &org,
        &t,
        "Users",
        json!({ "schemas": [USER], "userName": "held@acme.example" }),
    )
    .await
    .expect(201);
    let g = post(
        &app,
        &org,
        &t,
        "Groups",
        json!({ "schemas": [GROUP], "displayName": "Temporary", "members": [{ "value": id(&u) }] }),
    )
    .await
    .expect(201);
    let gpath = format!("{}/Groups/{}", base(&org), id(&g));
    // Sees groups and may change them, but sees no member: the holder it cannot see keeps the
    // role, and so does the group.
    role(
        &app,
        &org,
        "Blind",
        &["Role:GetRole", "Role:ModifyRole", "Role:AssignRole"],
    )
    .await;
    let blind = token(&app, &org, Some("Blind")).await;
    let r = scim(&app, Method::DELETE, &gpath, &blind, None, &[])
        .await
        .expect(403);
    assert!(r.to_string().contains("may not see"), "{r}");
    // Sees every member but may not assign roles.
    role(
        &app,
        &org,
        "Curator",
        &["Role:GetRole", "Role:ModifyRole", "User:GetUserInfo"],
    )
    .await;
    let curator = token(&app, &org, Some("Curator")).await;
    let r = scim(&app, Method::DELETE, &gpath, &curator, None, &[])
        .await
        .expect(403);
    assert!(r.to_string().contains("Role:AssignRole"), "{r}");
    let kept = scim(&app, Method::GET, &gpath, &t, None, &[])
        .await
        .expect(200);
    assert_eq!(kept["members"][0]["value"], id(&u), "{kept}");
    // A group nobody holds needs no reassignment: the curator deletes it.
    let empty = post(
        &app,
        &org,
        &t,
        "Groups",
        json!({ "schemas": [GROUP], "displayName": "Empty" }),
    )
    .await
    .expect(201);
    let epath = format!("{}/Groups/{}", base(&org), id(&empty));
    scim(&app, Method::DELETE, &epath, &curator, None, &[])
        .await
        .expect(204);
}

#[tokio::test]
async fn a_directory_name_that_lowercases_to_an_address_is_refused() {
    let app = TestApp::spawn().await;
    let org = app.bootstrap("acme").await;
    let t = token(&app, &org, None).await;
    // KELVIN SIGN (U+212A) lowercases to "k": the name would take k…k@acme.example's key.
    let name = format!("{}@acme.example", "\u{212A}".repeat(22));
    let r = post(
        &app,
        &org,
        &t,
        "Users",
        json!({
            "schemas": [USER], "userName": name,
            "emails": [{ "value": "other@acme.example", "primary": true }],
        }),
    )
    .await
    .expect(400);
    assert_eq!(r["scimType"], "invalidValue", "{r}");
    assert!(r.to_string().contains("userName"), "{r}");
}
