//! Roles, role assignment, the outranking rule, and temporary permission grants.

use reqwest::Method;
use roster_domain::types::OrgId;
use roster_domain::types::UserId;
use serde_json::{json, Value};

use crate::helpers::{Org, TestApp};

fn grant(name: &str) -> Value {
    json!({ "permission_name": name, "conditions": {} })
}

#[tokio::test]
async fn create_list_and_modify_roles() {
    let app = TestApp::spawn().await;
    let acme = app.bootstrap("acme").await;
    let body = json!({ "role_name": "Reader", "description": "reads users", "permission_grants": [grant("User:GetUserInfo")], "frontend_view": "client" });
    let id = app
        .post("/v1/acme/role/", &acme.token, body.clone())
        .await
        .expect(201)["role_id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.post("/v1/acme/role/", &acme.token, body.clone())
        .await
        .expect(409);
    let mut bad = body.clone();
    bad["role_name"] = json!("Other");
    bad["frontend_view"] = json!("kiosk");
    bad["permission_grants"] = json!([grant("User:FlyToTheMoon"), { "permission_name": "User:GetUserInfo", "conditions": { "shoe_size": { "type": "Equals", "value": 42 } } }]);
    let e = app
        .post("/v1/acme/role/", &acme.token, bad)
        .await
        .expect(422);
    assert_eq!(e["detail"].as_array().unwrap().len(), 3, "{e}");
    // A role the caller does not outrank cannot be created (here: one with a grant the admin lacks).
    let mut above = body.clone();
    above["role_name"] = json!("Above");
    above["permission_grants"] = json!([grant("Organization:DeleteOrganization")]);
    app.post("/v1/acme/role/", &acme.token, above)
        .await
        .expect(403);

    let roles = app
        .get(
            "/v1/acme/role/?return_permission_grants=true&name=Reader",
            &acme.token,
        )
        .await
        .expect(200);
    assert_eq!(roles["roles"][0]["id"], id.as_str());
    assert_eq!(
        roles["roles"][0]["permission_grants"],
        json!([grant("User:GetUserInfo")])
    );
    let plain = app
        .get(&format!("/v1/acme/role/?id={id}"), &acme.token)
        .await
        .expect(200);
    assert_eq!(plain["roles"][0]["permission_grants"], json!([]));
    assert!(
        app.get("/v1/acme/role/", &acme.token).await.expect(200)["roles"]
            .as_array()
            .unwrap()
            .len()
            >= 11
    );
    app.get("/v1/acme/role/?id=not-an-id", &acme.token)
        .await
        .expect(422);

    let m = app.post("/v1/acme/role/Reader", &acme.token, json!({ "description": "reads", "permission_grants": [grant("User:GetUserInfo"), grant("Role:GetRole")] })).await.expect(200);
    assert_eq!(m["role_id"], id.as_str());
    let r = app
        .get(
            "/v1/acme/role/?return_permission_grants=true&name=Reader",
            &acme.token,
        )
        .await
        .expect(200);
    assert_eq!(r["roles"][0]["description"], "reads");
    assert_eq!(
        r["roles"][0]["permission_grants"].as_array().unwrap().len(),
        2
    );
    app.post(
        "/v1/acme/role/DefaultUserRole",
        &acme.token,
        json!({ "permission_grants": [] }),
    )
    .await
    .expect(400);
    app.post(
        "/v1/acme/role/Ghost",
        &acme.token,
        json!({ "description": "x" }),
    )
    .await
    .expect(404);
    app.post(
        "/v1/acme/role/DefaultSuperAdministratorRole",
        &acme.token,
        json!({ "description": "mine now" }),
    )
    .await
    .expect(403);
    app.post(
        "/v1/acme/role/Reader",
        &acme.token,
        json!({ "frontend_view": "nope" }),
    )
    .await
    .expect(422);
    let (_, user) = app.user(&acme, "u@x.example", "DefaultUserRole").await;
    app.post("/v1/acme/role/Reader", &user, json!({ "description": "x" }))
        .await
        .expect(403);
    let mut mine = body.clone();
    mine["role_name"] = json!("Mine");
    mine["permission_grants"] = json!([]);
    app.post("/v1/acme/role/", &user, mine).await.expect(403);
}

#[tokio::test]
async fn assign_role_respects_ranks_and_the_last_admin() {
    let app = TestApp::spawn().await;
    let acme = app.bootstrap("acme").await;
    let (uid, user) = app.user(&acme, "u@x.example", "DefaultUserRole").await;
    app.post("/v1/acme/role/", &acme.token, json!({ "role_name": "Reader", "description": "r", "permission_grants": [grant("User:GetUserInfo")], "frontend_view": "client" })).await.expect(201);
    let r = app
        .post(
            "/v1/acme/role/Reader/assign",
            &acme.token,
            json!({ "user_id": uid }),
        )
        .await
        .expect(200);
    let listed = app
        .list_users(&acme, &acme.token, &format!("user_id={uid}"))
        .await;
    assert_eq!(listed["users"][0]["role"], r["role_id"]);
    // Nobody assigns a role they do not outrank, or changes a user who outranks them.
    app.post(
        "/v1/acme/role/DefaultAdministratorRole/assign",
        &acme.token,
        json!({ "user_id": uid }),
    )
    .await
    .expect(403);
    app.post(
        "/v1/acme/role/DefaultUserRole/assign",
        &user,
        json!({ "user_id": acme.admin_id }),
    )
    .await
    .expect(403);
    app.post(
        "/v1/acme/role/Ghost/assign",
        &acme.token,
        json!({ "user_id": uid }),
    )
    .await
    .expect(404);
    app.post(
        "/v1/acme/role/Reader/assign",
        &acme.token,
        json!({ "user_id": "nobody" }),
    )
    .await
    .expect(404);
    app.post("/v1/acme/role/Reader/assign", &acme.token, json!({}))
        .await
        .expect(422);
    // The only administrator cannot demote themself.
    let e = app
        .post(
            "/v1/acme/role/DefaultUserRole/assign",
            &acme.token,
            json!({ "user_id": acme.admin_id }),
        )
        .await
        .expect(409);
    assert!(e["detail"].as_str().unwrap().contains("last administrator"));
    let still = app
        .get("/v1/acme/role/?name=DefaultAdministratorRole", &acme.token)
        .await
        .expect(200);
    assert_eq!(
        app.list_users(&acme, &acme.token, &format!("user_id={}", acme.admin_id))
            .await["users"][0]["role"],
        still["roles"][0]["id"]
    );
}

#[tokio::test]
async fn temporary_grants_lend_a_permission_for_a_while() {
    let app = TestApp::spawn().await;
    let acme = app.bootstrap("acme").await;
    let (uid, user) = app.user(&acme, "u@x.example", "DefaultUserRole").await;
    app.invite(&acme, "other@x.example", "O", "T", "DefaultUserRole")
        .await;
    assert_eq!(
        app.list_users(&acme, &user, "").await["users"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let body = json!({ "user_id": uid, "duration": "PT1H", "permission_grant": grant("User:GetUserInfo"),
                       "tags": { "ticket": "T 42", "team": null }, "justification": "support ticket 42 needs it" });
    let created = app
        .post(
            "/v1/acme/role/temporary_permission_grant/",
            &acme.token,
            body.clone(),
        )
        .await
        .expect(201);
    assert!(created["temporary_permission_grant_id"].is_string());
    // The grant takes effect on the user's existing token.
    assert_eq!(
        app.list_users(&acme, &user, "").await["users"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    // But temporary grants never raise a rank: still no invitations.
    app.post("/v1/acme/user/", &user, json!({ "first_name": "a", "last_name": "b", "email": "n@x.example", "role_name": "DefaultUserRole" })).await.expect(403);

    let listed = app.get(&format!("/v1/acme/role/temporary_permission_grants/?user_id={uid}&tag=ticket:T%2042&is_expired=false"), &acme.token).await.expect(200);
    assert_eq!(
        listed["temporary_permission_grants"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        listed["temporary_permission_grants"][0]["justification"],
        "support ticket 42 needs it"
    );
    for q in [
        "tag=team:",
        "tag=team:*",
        "permission_grant_name=User:GetUserInfo",
        &format!("creator={}", acme.admin_id),
    ] {
        let r = app
            .get(
                &format!("/v1/acme/role/temporary_permission_grants/?{q}"),
                &acme.token,
            )
            .await
            .expect(200);
        assert_eq!(
            r["temporary_permission_grants"].as_array().unwrap().len(),
            1,
            "{q}"
        );
    }
    for q in ["tag=ticket:other", "is_expired=true", "tag=missing:*"] {
        let r = app
            .get(
                &format!("/v1/acme/role/temporary_permission_grants/?{q}"),
                &acme.token,
            )
            .await
            .expect(200);
        assert_eq!(r["temporary_permission_grants"], json!([]), "{q}");
    }
    // Paging over several grants, sorted.
    for _ in 0..4 {
        app.post(
            "/v1/acme/role/temporary_permission_grant/",
            &acme.token,
            body.clone(),
        )
        .await
        .expect(201);
    }
    let mut seen = Vec::new();
    let mut token = 0i64;
    loop {
        let p = app.get(&format!("/v1/acme/role/temporary_permission_grants/?limit=2&sort_by=-expires_at&continuation_token={token}"), &acme.token).await.expect(200);
        seen.extend(
            p["temporary_permission_grants"]
                .as_array()
                .unwrap()
                .iter()
                .map(|g| g["_id"].as_str().unwrap().to_owned()),
        );
        if !p["has_more"].as_bool().unwrap() {
            break;
        }
        token = p["continuation_token"].as_i64().unwrap();
    }
    let mut unique = seen.clone();
    unique.dedup();
    assert_eq!((seen.len(), unique.len()), (5, 5));

    // Errors: short justification, unknown user, a permission the lender lacks, a plain user lending.
    let mut short = body.clone();
    short["justification"] = json!("because");
    app.post(
        "/v1/acme/role/temporary_permission_grant/",
        &acme.token,
        short,
    )
    .await
    .expect(422);
    let mut ghost = body.clone();
    ghost["user_id"] = json!("nobody");
    app.post(
        "/v1/acme/role/temporary_permission_grant/",
        &acme.token,
        ghost,
    )
    .await
    .expect(404);
    let mut lofty = body.clone();
    lofty["permission_grant"] = grant("Organization:DeleteOrganization");
    app.post(
        "/v1/acme/role/temporary_permission_grant/",
        &acme.token,
        lofty,
    )
    .await
    .expect(403);
    app.post(
        "/v1/acme/role/temporary_permission_grant/",
        &user,
        body.clone(),
    )
    .await
    .expect(403);
    app.get(
        "/v1/acme/role/temporary_permission_grants/?limit=11",
        &acme.token,
    )
    .await
    .expect(422);
    app.get(
        "/v1/acme/role/temporary_permission_grants/?tag=nocolon",
        &acme.token,
    )
    .await
    .expect(422);
    assert_eq!(
        app.get("/v1/acme/role/temporary_permission_grants/", &user)
            .await
            .expect(200)["temporary_permission_grants"],
        json!([])
    );
}

#[tokio::test]
async fn only_grants_held_outright_can_be_lent() {
    let app = TestApp::spawn().await;
    let acme = app.bootstrap("acme").await;
    let conditioned = json!({ "permission_name": "User:DeleteUser", "conditions": { "role_name": { "type": "NotEquals", "value": "DefaultAdministratorRole" } } });
    let role = json!({ "role_name": "Lender", "description": "lends",
        "permission_grants": [grant("Role:CreateTemporaryPermissionGrant"), conditioned.clone()], "frontend_view": "client" });
    let (uid, lender) = holder_of_platform_role(&app, &acme, role, "lender@x.example").await;
    let body = |g: Value| json!({ "user_id": uid, "duration": "PT1H", "permission_grant": g, "tags": {}, "justification": "long enough reason" });
    // Lending the conditioned grant as it is held: fine. Dropping its condition: refused.
    app.post(
        "/v1/acme/role/temporary_permission_grant/",
        &lender,
        body(conditioned),
    )
    .await
    .expect(201);
    app.post(
        "/v1/acme/role/temporary_permission_grant/",
        &lender,
        body(grant("User:DeleteUser")),
    )
    .await
    .expect(403);
}

#[tokio::test]
async fn a_role_changed_meanwhile_is_not_overwritten() {
    let app = TestApp::spawn().await;
    let acme = app.bootstrap("acme").await;
    app.post("/v1/acme/role/", &acme.token, json!({ "role_name": "Reader", "description": "r", "permission_grants": [grant("User:GetUserInfo")], "frontend_view": "client" })).await.expect(201);
    let read = app
        .state
        .core
        .store
        .list_roles(&OrgId::from("acme"))
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.name == "Reader")
        .unwrap();
    // Someone changes the role after it was read...
    app.post(
        "/v1/acme/role/Reader",
        &acme.token,
        json!({ "permission_grants": [grant("User:GetUserInfo"), grant("Role:GetRole")] }),
    )
    .await
    .expect(200);
    // ...so a write based on the old copy is refused instead of undoing that change.
    let mut stale = read.clone();
    stale.description = "late".into();
    stale.updated_at += 1;
    let r = app
        .state
        .core
        .store
        .update_role(&stale, read.updated_at, Default::default())
        .await;
    assert!(
        matches!(
            r,
            Err(roster_domain::store::StoreError::Refused(
                roster_domain::store::Refusal::Stale
            ))
        ),
        "{r:?}"
    );
    let now = app
        .get(
            "/v1/acme/role/?name=Reader&return_permission_grants=true",
            &acme.token,
        )
        .await
        .expect(200);
    assert_eq!(
        now["roles"][0]["permission_grants"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
}

/// A member of `org` holding `role`, signed in with a password: such roles hold grants with
/// conditions, which are compared as written, so only the platform administrator may create and
/// assign them and no API key outranks them. Returns the user id and an access token.
pub(crate) async fn holder_of_platform_role(
    app: &TestApp,
    org: &Org,
    role: Value,
    email: &str,
) -> (String, String) {
    let root = crate::amigo_orgs::platform(app).await;
    let platform = [("x-org-id", "platform")];
    let name = role["role_name"].as_str().unwrap().to_owned();
    app.call(
        Method::POST,
        &format!("/v1/{}/role/", org.id),
        Some(&root.token),
        Some(role),
        &platform,
    )
    .await
    .expect(201);
    let (uid, _) = app.user(org, email, "DefaultUserRole").await;
    app.call(
        Method::POST,
        &format!("/v1/{}/role/{name}/assign", org.id),
        Some(&root.token),
        Some(json!({ "user_id": uid })),
        &platform,
    )
    .await
    .expect(200);
    let user = app
        .state
        .core
        .store
        .get_user(&OrgId::from(&org.id), &UserId::from(&uid))
        .await
        .unwrap()
        .unwrap();
    let hash = app.state.core.passwords.hash("Holder-pw1").await.unwrap();
    app.state
        .core
        .store
        .set_password(
            &user.identity_id,
            &hash,
            false,
            roster_domain::types::session_stamp(),
            Default::default(),
        )
        .await
        .unwrap();
    let mut active = user.clone();
    active.status = roster_domain::model::UserStatus::Active;
    active.updated_at += 1;
    app.state
        .core
        .store
        .update_user(&active, user.updated_at, None, Default::default())
        .await
        .unwrap();
    let t = app
        .password_token(org, email, "Holder-pw1")
        .await
        .expect(200);
    (uid, t["access_token"].as_str().unwrap().to_owned())
}
