//! Organizations and API keys.

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{Org, TestApp};

/// Signs in as the platform administrator whose credentials `serve` wrote on the empty database.
pub async fn platform(app: &TestApp) -> Org {
    let path = app.data_dir.join("platform-admin.json");
    let creds: Value = serde_json::from_str(
        &std::fs::read_to_string(&path).expect("platform credentials written"),
    )
    .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(
            mode, 0o600,
            "the credentials file is readable by its owner only"
        );
    }
    let mut org = Org {
        id: creds["org_id"].as_str().unwrap().into(),
        uuid: creds["org_uuid"].as_str().unwrap().into(),
        admin_id: creds["user_id"].as_str().unwrap().into(),
        key_id: creds["api_key_id"].as_str().unwrap().into(),
        key: creds["api_key"].as_str().unwrap().into(),
        token: String::new(),
    };
    org.token = app.sign_in(&org, &org.admin_id.clone()).await;
    org
}

fn new_org_body() -> Value {
    json!({
        "org_name": "Globex", "user_dimensions": [{ "description": "tier", "tags": ["gold"] }],
        "logo": "iVBORw0KGgo=", "square_logo": "iVBORw0KGgo=", "favicon": "AAABAA==",
        "azure_devops_team_name": "globex-team",
        "default_user_preferences": { "timezone": "Europe/Paris", "preferred_language": "fra" },
    })
}

#[tokio::test]
async fn get_organization_public_and_detailed() {
    let app = TestApp::spawn().await;
    let acme = app.bootstrap("acme").await;
    let public = app
        .call(Method::GET, "/v1/acme/organization/", None, None, &[])
        .await
        .expect(200);
    assert_eq!(
        public,
        json!({ "org_id": "acme", "org_name": "acme Inc.", "default_user_preferences": null, "tenant_id": null })
    );
    let detailed = app
        .get("/v1/acme/organization", &acme.token)
        .await
        .expect(200);
    assert!(detailed["tenant_id"].is_string());
    assert_eq!(
        detailed["default_user_preferences"]["conversations_visible_to_admins"],
        true
    );
    // The uuid addresses the same organization.
    assert_eq!(
        app.call(
            Method::GET,
            &format!("/v1/{}/organization/", acme.uuid),
            None,
            None,
            &[]
        )
        .await
        .expect(200)["org_id"],
        "acme"
    );
    app.call(Method::GET, "/v1/nowhere/organization/", None, None, &[])
        .await
        .expect(404);
    let (_, user) = app.user(&acme, "u@x.example", "DefaultUserRole").await;
    assert_eq!(
        app.get("/v1/acme/organization/", &user).await.expect(200)["tenant_id"],
        json!(null)
    );
}

#[tokio::test]
async fn create_modify_delete_organization() {
    let app = TestApp::spawn().await;
    let acme = app.bootstrap("acme").await;
    let root = platform(&app).await;
    let cluster = [("x-mongo-cluster-name", "main")];
    // Only platform administrators create organizations.
    let r = app
        .call(
            Method::PUT,
            "/v1/globex/organization/",
            Some(&acme.token),
            Some(new_org_body()),
            &cluster,
        )
        .await;
    assert_eq!(r.status, 403);
    let r = app
        .call(
            Method::PUT,
            "/v1/globex/organization/",
            Some(&root.token),
            Some(new_org_body()),
            &[],
        )
        .await;
    assert_eq!(
        r.status, 422,
        "x-mongo-cluster-name is required: {}",
        r.body
    );
    let r = app
        .call(
            Method::PUT,
            "/v1/globex/organization/",
            Some(&root.token),
            Some(new_org_body()),
            &cluster,
        )
        .await;
    assert_eq!(r.expect(201), json!({ "org_id": "globex" }));
    let again = app
        .call(
            Method::PUT,
            "/v1/globex/organization/",
            Some(&root.token),
            Some(new_org_body()),
            &cluster,
        )
        .await;
    assert_eq!(again.status, 409);
    let reserved = app
        .call(
            Method::PUT,
            "/v1/admin/organization/",
            Some(&root.token),
            Some(new_org_body()),
            &cluster,
        )
        .await;
    assert_eq!(reserved.status, 400);
    let mut bad = new_org_body();
    bad["logo"] = json!("***");
    bad["default_user_preferences"]["timezone"] = json!("Nowhere/Land");
    let r = app
        .call(
            Method::PUT,
            "/v1/bad-org/organization/",
            Some(&root.token),
            Some(bad.clone()),
            &cluster,
        )
        .await
        .expect(422);
    assert_eq!(r["detail"][0]["loc"], json!(["body", "logo"]), "{r}");
    bad["logo"] = json!("iVBORw0KGgo=");
    let r = app
        .call(
            Method::PUT,
            "/v1/bad-org/organization/",
            Some(&root.token),
            Some(bad),
            &cluster,
        )
        .await
        .expect(422);
    assert_eq!(
        r["detail"][0]["loc"],
        json!(["body", "default_user_preferences", "timezone"]),
        "{r}"
    );
    let r = app
        .call(
            Method::PUT,
            "/v1/Bad_Org!/organization/",
            Some(&root.token),
            Some(new_org_body()),
            &cluster,
        )
        .await;
    assert_eq!(r.status, 422);

    // The platform administrator works inside globex, naming the issuing organization.
    let platform_hdr = [("x-org-id", root.id.as_str())];
    let invite = json!({ "first_name": "G", "last_name": "Admin", "email": "g@globex.example", "role_name": "DefaultAdministratorRole" });
    let r = app
        .call(
            Method::POST,
            "/v1/globex/user/",
            Some(&root.token),
            Some(invite.clone()),
            &[],
        )
        .await;
    assert_eq!(r.status, 403, "without X-ORG-ID a foreign token is refused");
    app.call(
        Method::POST,
        "/v1/globex/user/",
        Some(&root.token),
        Some(invite),
        &platform_hdr,
    )
    .await
    .expect(201);
    // ...which an organization's own administrator cannot do elsewhere.
    let r = app
        .call(
            Method::GET,
            "/v1/globex/user/",
            Some(&acme.token),
            None,
            &[("x-org-id", "acme")],
        )
        .await;
    assert_eq!(r.status, 403);

    app.post(
        "/v1/acme/organization/",
        &acme.token,
        json!({ "default_user_preferences": { "timezone": "Asia/Tokyo" }, "logo": "iVBORw0KGgo=" }),
    )
    .await
    .expect(204);
    let d = app
        .get("/v1/acme/organization/", &acme.token)
        .await
        .expect(200);
    assert_eq!(d["default_user_preferences"]["timezone"], "Asia/Tokyo");
    app.post(
        "/v1/acme/organization/",
        &acme.token,
        json!({ "user_dimensions": [] }),
    )
    .await
    .expect(422);
    app.post(
        "/v1/acme/organization/",
        &acme.token,
        json!({ "default_user_preferences": { "preferred_language": "xx" } }),
    )
    .await
    .expect(422);
    let (_, user) = app.user(&acme, "u@x.example", "DefaultUserRole").await;
    app.post("/v1/acme/organization/", &user, json!({}))
        .await
        .expect(403);

    // Deleting needs DefaultSuperAdministratorRole's permission: administrators cannot.
    app.delete("/v1/acme/organization/", &acme.token)
        .await
        .expect(403);
    app.call(
        Method::DELETE,
        "/v1/globex/organization/",
        Some(&root.token),
        None,
        &platform_hdr,
    )
    .await
    .expect(204);
    app.call(Method::GET, "/v1/globex/organization/", None, None, &[])
        .await
        .expect(404);
    // The platform's own administrator holds no delete permission on the platform organization.
    app.call(
        Method::DELETE,
        "/v1/platform/organization/",
        Some(&root.token),
        None,
        &[],
    )
    .await
    .expect(403);
}

#[tokio::test]
async fn api_keys_create_list_sign_in_delete() {
    let app = TestApp::spawn().await;
    let acme = app.bootstrap("acme").await;
    let (user_id, _) = app.user(&acme, "u@x.example", "DefaultUserRole").await;
    // A key of DefaultUserRole cannot sign in as a DefaultUserRole user: equal is not outranking.
    let low = app
        .post(
            "/v1/acme/organization/api_key/",
            &acme.token,
            json!({ "name": "low", "duration": "P30D", "role_name": "DefaultUserRole" }),
        )
        .await
        .expect(201);
    let low = Org {
        key_id: low["api_key_id"].as_str().unwrap().into(),
        key: low["api_key"].as_str().unwrap().into(),
        ..acme.clone()
    };
    app.sign_in_resp(&low, &user_id).await.expect(403);
    // Nobody creates a key above their own rank.
    app.post(
        "/v1/acme/organization/api_key/",
        &acme.token,
        json!({ "name": "up", "duration": "P30D", "role_name": "DefaultAdministratorRole" }),
    )
    .await
    .expect(403);
    // The administrator can create a key for a role below theirs: a custom role holding less.
    app.post("/v1/acme/role/", &acme.token, json!({ "role_name": "Support", "description": "helps users",
        "permission_grants": [ { "permission_name": "User:GetUserInfo", "conditions": {} }, { "permission_name": "User:UpdateUserInfo", "conditions": {} },
            { "permission_name": "User:GetUserModel", "conditions": {} }, { "permission_name": "Role:GetRole", "conditions": {} },
            { "permission_name": "User:GetUserInfo", "conditions": { "is_self": { "type": "Equals", "value": true } } },
            { "permission_name": "User:UpdateUserInfo", "conditions": { "is_self": { "type": "Equals", "value": true } } },
            { "permission_name": "User:GetUserModel", "conditions": { "is_self": { "type": "Equals", "value": true } } },
            { "permission_name": "Conversation:GetMessage", "conditions": { "is_self": { "type": "Equals", "value": true } } } ],
        "frontend_view": "client" })).await.expect(201);
    let key = app
        .post(
            "/v1/acme/organization/api_key/",
            &acme.token,
            json!({ "name": "support", "duration": "P7D", "role_name": "Support" }),
        )
        .await
        .expect(201);
    let (kid, secret) = (
        key["api_key_id"].as_str().unwrap().to_owned(),
        key["api_key"].as_str().unwrap().to_owned(),
    );
    // The key signs in as users its role outranks, never above.
    let support = Org {
        key_id: kid.clone(),
        key: secret.clone(),
        ..acme.clone()
    };
    app.sign_in_resp(&support, &user_id).await.expect(200);
    app.sign_in_resp(&support, &acme.admin_id).await.expect(403);
    // Wrong secret, unknown key, unknown user: 401; missing headers: 422.
    app.sign_in_resp(
        &Org {
            key: "wrong".into(),
            ..support.clone()
        },
        &user_id,
    )
    .await
    .expect(401);
    app.sign_in_resp(
        &Org {
            key_id: "nope".into(),
            ..support.clone()
        },
        &user_id,
    )
    .await
    .expect(401);
    app.sign_in_resp(&support, "nobody").await.expect(401);
    let r = app
        .call(
            Method::POST,
            "/v1/acme/user/signin_with_api_key",
            None,
            None,
            &[("x-api-key", "k")],
        )
        .await
        .expect(422);
    assert_eq!(r["detail"][0]["loc"], json!(["header", "x-api-key-id"]));

    let listed = app
        .get("/v1/acme/organization/api_key/", &acme.token)
        .await
        .expect(200);
    assert_eq!(listed["api_keys"].as_array().unwrap().len(), 3);
    assert!(
        !listed.to_string().contains(&secret),
        "secrets are never listed"
    );
    assert!(!listed.to_string().contains(&acme.key));
    let (_, plain) = app.user(&acme, "p@x.example", "DefaultUserRole").await;
    assert_eq!(
        app.get("/v1/acme/organization/api_key/", &plain)
            .await
            .expect(200)["api_keys"],
        json!([])
    );

    for (duration, status) in [("PT1H", 422), ("P91D", 422), ("soon", 422), ("P1D", 201)] {
        let r = app
            .post(
                "/v1/acme/organization/api_key/",
                &acme.token,
                json!({ "name": null, "duration": duration, "role_name": "Support" }),
            )
            .await;
        assert_eq!(r.status.as_u16(), status, "{duration}: {}", r.body);
    }
    app.post(
        "/v1/acme/organization/api_key/",
        &acme.token,
        json!({ "name": "x", "duration": "P1D", "role_name": "Ghost" }),
    )
    .await
    .expect(404);
    app.post(
        "/v1/acme/organization/api_key/",
        &acme.token,
        json!({ "name": "x" }),
    )
    .await
    .expect(422);

    let deleted = app
        .delete(
            &format!("/v1/acme/organization/api_key/{kid}/"),
            &acme.token,
        )
        .await
        .expect(200);
    assert_eq!(deleted["deleted_key_id"], kid.as_str());
    app.sign_in_resp(&support, &user_id).await.expect(401);
    app.delete(&format!("/v1/acme/organization/api_key/{kid}"), &acme.token)
        .await
        .expect(404);
    // The administrator cannot delete the bootstrap key: its role outranks theirs.
    app.delete(
        &format!("/v1/acme/organization/api_key/{}", acme.key_id),
        &acme.token,
    )
    .await
    .expect(403);
    app.delete(
        &format!("/v1/acme/organization/api_key/{}", acme.key_id),
        &plain,
    )
    .await
    .expect(403);
}

#[tokio::test]
async fn an_organization_holds_at_most_twenty_keys() {
    let app = TestApp::spawn().await;
    let acme = app.bootstrap("acme").await;
    // The bootstrap key is the first of twenty.
    for i in 1..20 {
        app.post(
            "/v1/acme/organization/api_key/",
            &acme.token,
            json!({ "name": format!("k{i}"), "duration": "P1D", "role_name": "DefaultUserRole" }),
        )
        .await
        .expect(201);
    }
    let r = app
        .post(
            "/v1/acme/organization/api_key/",
            &acme.token,
            json!({ "name": "k20", "duration": "P1D", "role_name": "DefaultUserRole" }),
        )
        .await
        .expect(400);
    assert!(r["detail"].as_str().unwrap().contains("maximum"));
}
