//! Mass assignment and secret leaks: every create and update body of every surface refuses
//! server-owned or unknown fields with a 422 naming the field (in the surface's own shape) and
//! applies nothing; no response ever carries a password hash, an API key's secret or its hash,
//! or a token's hash. (Read-only fields that the surface itself returns are accepted back and
//! ignored: `read_modify_write.rs`.)

use reqwest::Method;
use roster_domain::types::OrgId;
use roster_domain::types::UserId;
use serde_json::{json, Value};

use crate::eva::{BOT, PROD};
use crate::helpers::{Resp, TestApp};

/// Adds `field` to an object body.
/// Sends `body` with the server-owned `field` added to it.
async fn smuggle(
    app: &TestApp,
    method: &Method,
    path: &str,
    token: &str,
    body: &Value,
    field: &str,
) -> crate::helpers::Resp {
    let body = with(body.clone(), field);
    app.call(method.clone(), path, Some(token), Some(body), &[])
        .await
}

fn with(mut body: Value, field: &str) -> Value {
    body[field] = json!("injected");
    body
}

#[tokio::test]
async fn server_owned_fields_are_refused_on_every_body_and_nothing_is_applied() {
    let app = TestApp::spawn().await;
    let acme = app.bootstrap("acme").await;
    app.eva_catalog("acme").await;
    let (user, _) = app.user(&acme, "member@x.example", "DefaultUserRole").await;
    let owner = app.owner_session(&acme).await;
    let (uuid, admin) = (acme.uuid.clone(), acme.admin_id.clone());
    let invite = json!({ "first_name": "M", "last_name": "A", "email": "ma@x.example", "role_name": "DefaultUserRole" });
    let eva_user = json!({ "name": "Eva User", "email": "eu@x.example", "admin": false,
        "environments": [{ "role": "EDITOR", "environment": { "uuid": PROD }, "bots": [{ "uuid": BOT }] }],
        "password": "Secr3t!x", "passwordConfirmation": "Secr3t!x" });
    let role = json!({ "role_name": "Auditor", "description": "d", "permission_grants": [], "frontend_view": "client" });
    let org = json!({ "org_name": "New", "user_dimensions": [], "logo": "", "square_logo": "", "favicon": "", "azure_devops_team_name": "" });
    let grant = json!({ "user_id": user, "duration": "PT1H", "permission_grant": { "action": "Allow", "permission_name": "User:GetUserInfo", "conditions": {} }, "tags": {}, "justification": "j" });
    // (surface, method, path, valid body, injected fields)
    let amigo: Vec<(Method, String, Value, &[&str])> = vec![
        (
            Method::POST,
            "/v1/acme/user/".into(),
            invite.clone(),
            &[
                "org_id",
                "id",
                "user_id",
                "password_hash",
                "email_verified",
                "status",
                "created_at",
                "roles",
            ],
        ),
        (
            Method::POST,
            "/v1/acme/user/invite".into(),
            invite,
            &["org_id", "is_admin"],
        ),
        (
            Method::POST,
            format!("/v1/acme/user/{user}"),
            json!({ "first_name": "N" }),
            &[
                "email",
                "role_name",
                "role",
                "org_id",
                "password_hash",
                "email_verified",
                "user_id",
                "created_at",
                "status",
                "user_stats",
            ],
        ),
        (
            Method::POST,
            format!("/v1/acme/user/{user}/user"),
            json!({ "first_name": "N" }),
            &["is_admin", "identity_id"],
        ),
        (
            Method::POST,
            format!("/v1/acme/user/{user}/variable"),
            json!({ "upserts": [], "deletes": [] }),
            &["org_id", "user_id"],
        ),
        (
            Method::POST,
            "/v1/acme/role/".into(),
            role,
            &["id", "org_id", "created_at", "is_admin"],
        ),
        (
            Method::POST,
            "/v1/acme/role/DefaultUserRole".into(),
            json!({ "description": "x" }),
            &["role_name", "org_id"],
        ),
        (
            Method::POST,
            "/v1/acme/role/DefaultUserRole/assign".into(),
            json!({ "user_id": user }),
            &["org_id", "role_id"],
        ),
        (
            Method::POST,
            "/v1/acme/role/temporary_permission_grant/".into(),
            grant,
            &["granted_by", "org_id", "expires_at"],
        ),
        (
            Method::POST,
            "/v1/acme/organization/".into(),
            json!({ "logo": "https://x.example/l.png" }),
            &["is_platform", "uuid", "created_at"],
        ),
        (
            Method::PUT,
            "/v1/neworg/organization/".into(),
            org,
            &["is_platform", "uuid"],
        ),
        (
            Method::POST,
            "/v1/acme/organization/api_key/".into(),
            json!({ "name": "k", "duration": "P1D" }),
            &[
                "api_key",
                "secret_hash",
                "api_key_id",
                "org_id",
                "created_by",
            ],
        ),
        (
            Method::POST,
            "/v1/acme/user/signin".into(),
            json!({ "email": "member@x.example", "redirect_link": "https://a.example/" }),
            &["org_id", "user_id"],
        ),
        (
            Method::POST,
            "/v1/acme/user/verify".into(),
            json!({ "token": "t" }),
            &["user_id", "email_verified"],
        ),
        (
            Method::POST,
            "/v1/acme/user/password-reset".into(),
            json!({ "token": "t", "password": "N3w-pass!" }),
            &["user_id", "password_hash"],
        ),
        (
            Method::POST,
            "/v1/acme/user/password-reset/request".into(),
            json!({ "email": "member@x.example" }),
            &["user_id"],
        ),
    ];
    for (method, path, body, fields) in amigo {
        for field in fields {
            let r = smuggle(&app, &method, &path, &owner, &body, field).await;
            assert_eq!(r.status, 422, "{method} {path} took {field}: {}", r.body);
            assert_eq!(
                (&r.body["detail"][0]["loc"], &r.body["detail"][0]["type"]),
                (&json!(["body", field]), &json!("extra_forbidden")),
                "{path}"
            );
        }
    }
    let eva: Vec<(Method, String, Value, &[&str])> = vec![
        (
            Method::POST,
            format!("/org/{uuid}/users"),
            eva_user.clone(),
            &[
                "id",
                "orgId",
                "emailVerified",
                "passwordHash",
                "status",
                "role",
            ],
        ),
        (
            Method::PUT,
            format!("/org/{uuid}/users/{user}"),
            eva_user.clone(),
            &["active", "created_at"],
        ),
        (
            Method::PUT,
            format!("/org/{uuid}/users/activate"),
            eva_user,
            &["active", "rule"],
        ),
        (
            Method::POST,
            format!("/org/{uuid}/configurations"),
            json!({ "key": "k", "value": "v" }),
            &["userUuid", "orgId", "id"],
        ),
    ];
    for (method, path, body, fields) in eva {
        for field in fields {
            let r = app
                .eva(
                    method.clone(),
                    &path,
                    &owner,
                    Some(with(body.clone(), field)),
                )
                .await;
            assert_eq!(r.status, 422, "{method} {path} took {field}: {}", r.body);
            assert_eq!(
                (
                    &r.body["details"][0]["fieldName"],
                    &r.body["details"][0]["errorCode"]
                ),
                (&json!(field), &json!("EXTRA_FORBIDDEN")),
                "{path}"
            );
        }
    }
    let oum: Vec<(Method, String, Value, &[&str])> = vec![
        (
            Method::PATCH,
            "/users/me".into(),
            json!({ "name": "New Name" }),
            &["email_verified", "password", "connection_type"],
        ),
        (
            Method::POST,
            "/users/invite".into(),
            json!({ "email": "o@x.example", "name": "O", "roles": ["analyst"] }),
            &["org_id", "role", "id", "email_verified"],
        ),
    ];
    for (method, path, body, fields) in oum {
        for field in fields {
            let r = smuggle(&app, &method, &path, &owner, &body, field).await;
            assert_eq!(r.status, 422, "{method} {path} took {field}: {}", r.body);
            assert_eq!(r.body["detail"][0]["loc"], json!(["body", field]), "{path}");
        }
    }
    // The roles list of org-user-management is an array: an object smuggling more is refused.
    let r = app
        .call(
            Method::PUT,
            &format!("/users/{user}/roles"),
            Some(&owner),
            Some(json!({ "roles": ["admin"], "org_id": "other" })),
            &[],
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
    // Ingestion too.
    let r = app
        .call(
            Method::PUT,
            &format!("/ingest/v1/acme/users/{user}/stats"),
            None,
            Some(json!({ "num_conversations": 1, "num_messages": 1, "last_message_time": null, "org_id": "beta" })),
            &[("authorization", "Bearer ingest-secret-for-tests")],
        )
        .await;
    assert_eq!(
        (r.status.as_u16(), &r.body["detail"][0]["loc"]),
        (422, &json!(["body", "org_id"]))
    );
    // Nothing was applied: the same users with the same roles, no new role, key or org.
    assert_eq!(app.count_users("acme").await, 2);
    let member = app
        .state
        .core
        .store
        .get_user(&OrgId::from("acme"), &UserId::from(&user))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (member.first_name.as_str(), member.role_ids.len()),
        ("Test", 1)
    );
    let roles = app
        .state
        .core
        .store
        .list_roles(&OrgId::from("acme"))
        .await
        .unwrap();
    assert!(!roles.iter().any(|r| r.name == "Auditor"));
    assert_eq!(
        app.state
            .core
            .store
            .list_api_keys(&OrgId::from("acme"))
            .await
            .unwrap()
            .len(),
        1
    );
    assert!(app
        .state
        .core
        .store
        .find_organization("neworg")
        .await
        .unwrap()
        .is_none());
    let me = app.get("/users/me", &owner).await.expect(200);
    assert_eq!(me["name"], "Ada Admin");
    assert!(app
        .state
        .core
        .store
        .get_user(&OrgId::from("acme"), &UserId::from(&admin))
        .await
        .unwrap()
        .is_some());
}

/// Collects every JSON response of a scenario, to look for secrets in them afterwards.
#[derive(Default)]
struct Seen(Vec<(String, String)>);

impl Seen {
    fn keep(&mut self, what: &str, r: Resp) -> Value {
        self.0.push((what.to_owned(), r.body.to_string()));
        r.body
    }
}

#[tokio::test]
async fn no_response_ever_carries_a_hash_or_a_stored_secret() {
    let app = TestApp::spawn().await;
    let acme = app.bootstrap("acme").await;
    app.eva_catalog("acme").await;
    let owner = app.owner_session(&acme).await;
    let mut seen = Seen::default();
    let uuid = acme.uuid.clone();
    // A broad tour of the three surfaces, the token endpoint and the admin API.
    let key = seen.keep(
        "create key",
        app.post(
            "/v1/acme/organization/api_key/",
            &owner,
            json!({ "name": "k", "duration": "P1D", "role_name": "developer" }),
        )
        .await,
    );
    let created = seen.keep(
        "eva create",
        app.eva(Method::POST, &format!("/org/{uuid}/users"), &owner, Some(json!({ "name": "Pat Word", "email": "p@x.example", "admin": false,
            "environments": [{ "role": "EDITOR", "environment": { "uuid": PROD }, "bots": [{ "uuid": BOT }] }],
            "password": "Secr3t!x", "passwordConfirmation": "Secr3t!x" }))).await,
    );
    let pat = created["uuid"].as_str().unwrap().to_owned();
    let form = "grant_type=password&client_id=c&username=p%40x.example&password=Secr3t!x";
    let tokens: Value = app
        .post_raw(
            "/realms/acme/protocol/openid-connect/token",
            None,
            form.into(),
        )
        .await
        .expect(200);
    seen.0.push(("password grant".into(), tokens.to_string()));
    let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();
    let next: Value = app
        .post_raw(
            "/realms/acme/protocol/openid-connect/token",
            None,
            format!("grant_type=refresh_token&refresh_token={refresh}"),
        )
        .await
        .expect(200);
    seen.0.push(("refresh grant".into(), next.to_string()));
    let invited = app
        .invite(&acme, "inv@x.example", "In", "Vited", "DefaultUserRole")
        .await;
    app.call(
        Method::POST,
        "/v1/acme/user/signin",
        None,
        Some(json!({ "email": "p@x.example", "redirect_link": "https://a.example/" })),
        &[],
    )
    .await;
    app.call(
        Method::POST,
        "/v1/acme/user/password-reset/request",
        None,
        Some(json!({ "email": "p@x.example" })),
        &[],
    )
    .await;
    for (what, path) in [
        ("amigo list", "/v1/acme/user/?limit=100".to_owned()),
        ("amigo search", "/v1/acme/user/search/?query=x".to_owned()),
        ("amigo keys", "/v1/acme/organization/api_key/".to_owned()),
        ("amigo org", "/v1/acme/organization/".to_owned()),
        ("amigo roles", "/v1/acme/role/".to_owned()),
        (
            "amigo grants",
            "/v1/acme/role/temporary_permission_grants/".to_owned(),
        ),
        ("amigo user", format!("/v1/acme/user/?user_id={invited}")),
        ("eva list", format!("/org/{uuid}/users?linesPerPage=100")),
        ("eva get", format!("/org/{uuid}/users/{pat}")),
        ("eva me", format!("/org/{uuid}/users/identity-provider")),
        ("oum me", "/users/me".to_owned()),
        ("oum list", "/users".to_owned()),
        ("oum get", format!("/users/{pat}")),
        ("oum org", "/organization".to_owned()),
        (
            "audit",
            "/admin/v1/orgs/acme/audit-events?limit=100".to_owned(),
        ),
    ] {
        let r = app.get(&path, &owner).await;
        assert!(r.status.is_success(), "{what}: {} {}", r.status, r.body);
        seen.keep(what, r);
    }
    let jwks = app
        .call(Method::GET, "/.well-known/jwks.json", None, None, &[])
        .await;
    seen.keep("jwks", jwks);

    // What the database holds that must never leave it.
    let store = &app.state.core.store;
    let mut secrets: Vec<(String, String)> = Vec::new();
    for email in ["admin@acme.example", "p@x.example"] {
        let identity = store.identity_by_email(email).await.unwrap().unwrap();
        let hash = store.password_hash(&identity.id).await.unwrap().unwrap();
        secrets.push((format!("password hash of {email}"), hash));
    }
    for k in store.list_api_keys(&OrgId::from("acme")).await.unwrap() {
        secrets.push((
            format!("secret hash of key {}", k.key_id),
            k.secret_hash.clone(),
        ));
    }
    for t in [&refresh, next["refresh_token"].as_str().unwrap()] {
        secrets.push((
            "a refresh token's hash".into(),
            roster_domain::secrets::hash_secret(t),
        ));
    }
    for k in store.signing_keys().await.unwrap() {
        secrets.push(("a private signing key".into(), k.private_pkcs8.clone()));
    }
    assert!(secrets.len() >= 7);
    for (what, body) in &seen.0 {
        assert!(
            !body.contains("$argon2"),
            "{what} shows an argon2 hash: {body}"
        );
        for (name, secret) in &secrets {
            assert!(!body.contains(secret.as_str()), "{what} shows the {name}");
        }
    }
    // The key's secret was shown once, at creation, and never again.
    let secret = key["api_key"].as_str().unwrap();
    assert!(seen.0.iter().filter(|(_, b)| b.contains(secret)).count() == 1);
}
