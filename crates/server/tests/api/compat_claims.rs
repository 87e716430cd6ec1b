//! What docs/compat.md states in the sections a read against the running server once found
//! contradicted (1.1, 2.10, 3.1, 3.9, 3.10, 3.11, 3.12), each checked here so that the document
//! cannot drift from the code again.

use reqwest::Method;
use roster_domain::types::OrgId;
use serde_json::{json, Value};

use crate::eva::{BOT, PROD};
use crate::helpers::{Org, TestApp};

/// The invitation token last mailed to `email`.
async fn invitation_token(app: &TestApp, org: &str, email: &str) -> String {
    let mail = app
        .state
        .core
        .store
        .list_outbox(&OrgId::from(org))
        .await
        .unwrap();
    let inv = mail
        .iter()
        .rev()
        .find(|m| m.kind == "invitation" && m.recipient == email)
        .expect("invitation queued");
    crate::email_flows::token_of(inv.payload["verify_link"].as_str().unwrap())
}

async fn verify(app: &TestApp, org: &str, token: &str) -> u16 {
    app.call(
        Method::POST,
        &format!("/v1/{org}/user/verify"),
        None,
        Some(json!({ "token": token })),
        &[],
    )
    .await
    .status
    .as_u16()
}

/// An org-user-management invitation left pending; returns its (Amigo-listed) user id.
async fn pending(app: &TestApp, org: &Org, email: &str, roles: Value) -> String {
    assert_eq!(
        app.oum_invite(org, email, "Pen Ding", roles, Value::Null)
            .await,
        204
    );
    let listed = app
        .list_users(
            org,
            &org.token,
            &format!("email={}", email.replace('@', "%40")),
        )
        .await;
    listed["users"][0]["user_id"].as_str().unwrap().to_owned()
}

/// §1.1, §3.1: unknown paths answer FastAPI's 404 `{"detail": "Not Found"}`; a known path
/// with the wrong method 405 with an empty body; trailing slashes as the contracts use them.
#[tokio::test]
async fn unknown_routes_and_methods() {
    let app = TestApp::spawn().await;
    let acme = app.bootstrap("acme").await;
    for path in ["/v1/acme/nowhere", "/users/", "/nowhere"] {
        let r = app.get(path, &acme.token).await;
        assert_eq!(r.status, 404, "{path}");
        assert_eq!(r.body, json!({ "detail": "Not Found" }), "{path}");
    }
    // eva keeps its own shape (§2.1).
    let r = app
        .get(&format!("/org/{}/users/", acme.uuid), &acme.token)
        .await;
    assert_eq!(
        (r.status.as_u16(), r.body["errorCode"].as_str()),
        (404, Some("USER-404"))
    );
    // (Straight through the client: 405 is in no document, which the checked calls enforce.)
    for (method, path) in [
        (Method::DELETE, "/users/me"),
        (Method::PUT, "/v1/acme/user/"),
    ] {
        let r = app
            .client
            .request(method.clone(), format!("{}{path}", app.base))
            .bearer_auth(&acme.token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 405, "{method} {path}");
        assert_eq!(r.text().await.unwrap(), "", "{method} {path}");
    }
    // Amigo routes answer with and without their trailing slash; fixed segments win.
    app.get("/v1/acme/user", &acme.token).await.expect(200);
    app.get("/v1/acme/user/", &acme.token).await.expect(200);
    app.get("/v1/acme/user/search/?query=ada", &acme.token)
        .await
        .expect(200);
    app.get("/users/me", &acme.token).await.expect(200);
}

/// §2.10: update replaces the record; the email cannot change (another case can); a password
/// only for one's own account; `passwordConfirmation` needs `password`; a deleted user is 404;
/// an administrator made through Amigo or bootstrap keeps `admin: true` on its own record.
#[tokio::test]
async fn eva_update_as_compat_says() {
    let app = TestApp::spawn().await;
    let acme = app.bootstrap("acme").await;
    app.eva_catalog("acme").await;
    let base = format!("/org/{}/users", acme.uuid);
    let env =
        json!([{ "role": "EDITOR", "environment": { "uuid": PROD }, "bots": [{ "uuid": BOT }] }]);
    let made = app
        .eva(
            Method::POST,
            &base,
            &acme.token,
            Some(json!({ "name": "Ed Itor", "email": "ed@x.example",
            "company": "Co", "image": "i.png", "environments": env,
            "password": "Edit0r-pass", "passwordConfirmation": "Edit0r-pass" })),
        )
        .await
        .expect(200);
    let path = format!("{base}/{}", made["uuid"].as_str().unwrap());
    let put = |body: Value| app.eva(Method::PUT, &path, &acme.token, Some(body));
    // Left out or null: cleared; environments left out is [] (422 for a non-admin).
    let r = put(json!({ "name": "Ed Itor", "email": "ED@X.example", "environments": env })).await;
    let r = r.expect(200);
    assert_eq!(
        (r["company"].clone(), r["image"].clone()),
        (Value::Null, Value::Null)
    );
    assert_eq!(r["email"], "ed@x.example", "another case changes nothing");
    let r = put(json!({ "name": "Ed Itor", "email": "ed@x.example" })).await;
    assert_eq!(r.status, 422);
    let r =
        put(json!({ "name": "Ed Itor", "email": "other@x.example", "environments": env })).await;
    assert_eq!(r.status, 409);
    let r = put(
        json!({ "name": "Ed Itor", "email": "ed@x.example", "environments": env,
        "password": "N3w-passw", "passwordConfirmation": "N3w-passw" }),
    )
    .await;
    assert_eq!(r.status, 403, "only the owner sets a password: {}", r.body);
    let r = put(
        json!({ "name": "Ed Itor", "email": "ed@x.example", "environments": env,
        "passwordConfirmation": "N3w-passw" }),
    )
    .await;
    assert_eq!(r.status, 422);
    // The bootstrap administrator keeps its role on its own record.
    let own = format!("{base}/{}", acme.admin_id);
    let me = app
        .eva(Method::GET, &own, &acme.token, None)
        .await
        .expect(200);
    let body = json!({ "name": "Ada Admin", "email": me["email"], "admin": true });
    let kept = app
        .eva(Method::PUT, &own, &acme.token, Some(body))
        .await
        .expect(200);
    assert_eq!(kept["admin"], json!(true));
    // The last active administrator is not demoted.
    let body =
        json!({ "name": "Ada Admin", "email": me["email"], "admin": false, "environments": env });
    assert_eq!(
        app.eva(Method::PUT, &own, &acme.token, Some(body))
            .await
            .status,
        409
    );
    // A deleted (deactivated) user: 404.
    app.eva(Method::DELETE, &path, &acme.token, None)
        .await
        .expect(204);
    let r = put(json!({ "name": "Ed Itor", "email": "ed@x.example", "environments": env })).await;
    assert_eq!(r.status, 404);
}

/// §3.9: removal is the membership only, 204; the removed token stops; a pending invitation's
/// id answers 404; the last administrator answers 409; without `User:DeleteUser`, 403.
#[tokio::test]
async fn oum_remove_as_compat_says() {
    let app = TestApp::spawn().await;
    let acme = app.bootstrap("acme").await;
    let beta = app.bootstrap("beta").await;
    assert_eq!(
        app.oum_invite(
            &acme,
            "sam@x.example",
            "Sam One",
            json!(["analyst"]),
            Value::Null
        )
        .await,
        204
    );
    let (sam, sam_token) = app.accept_invitation("acme", "sam@x.example").await;
    assert_eq!(
        app.oum_invite(
            &beta,
            "sam@x.example",
            "Sam One",
            json!(["analyst"]),
            Value::Null
        )
        .await,
        204
    );
    let (_, sam_beta) = app.accept_invitation("beta", "sam@x.example").await;
    let r = app
        .oum(
            Method::DELETE,
            &format!("/users/{}", acme.admin_id),
            &sam_token,
            None,
        )
        .await;
    assert_eq!(r.status, 403, "an analyst removes nobody");
    app.oum(Method::DELETE, &format!("/users/{sam}"), &acme.token, None)
        .await
        .expect(204);
    assert_eq!(app.get("/users/me", &sam_token).await.status, 401);
    app.get("/users/me", &sam_beta).await.expect(200);
    let invited = pending(&app, &acme, "pen@x.example", json!(["analyst"])).await;
    let r = app
        .oum(
            Method::DELETE,
            &format!("/users/{invited}"),
            &acme.token,
            None,
        )
        .await;
    assert_eq!(r.status, 404, "a pending invitation is not a member");
    let r = app
        .oum(
            Method::DELETE,
            &format!("/users/{}", acme.admin_id),
            &acme.token,
            None,
        )
        .await;
    assert_eq!(r.status, 409);
}

/// §3.10: re-inviting a pending invitation replaces its roles and withdraws the earlier token;
/// the caller must appoint the invitation's current roles too; a member answers 409.
#[tokio::test]
async fn oum_reinvite_as_compat_says() {
    let app = TestApp::spawn().await;
    let acme = app.bootstrap("acme").await;
    pending(&app, &acme, "re@x.example", json!(["analyst"])).await;
    let first = invitation_token(&app, "acme", "re@x.example").await;
    assert_eq!(
        app.oum_invite(
            &acme,
            "re@x.example",
            "Re Sent",
            json!(["developer"]),
            Value::Null
        )
        .await,
        204
    );
    let second = invitation_token(&app, "acme", "re@x.example").await;
    assert_ne!(first, second);
    assert_eq!(
        verify(&app, "acme", &first).await,
        401,
        "the earlier token is withdrawn"
    );
    assert_eq!(verify(&app, "acme", &second).await, 200);
    let me = app
        .list_users(&acme, &acme.token, "email=re%40x.example")
        .await;
    let id = me["users"][0]["user_id"].as_str().unwrap().to_owned();
    let got = app
        .oum(Method::GET, &format!("/users/{id}"), &acme.token, None)
        .await
        .expect(200);
    assert_eq!(got["roles"], json!(["developer"]));
    assert_eq!(got["name"], "Pen Ding", "the name stays as it was");
    assert_eq!(
        app.oum_invite(&acme, "re@x.example", "X", json!(["analyst"]), Value::Null)
            .await,
        409
    );
    // A recruiter (analyst plus InviteUser) invites analysts, but does not take over an
    // invitation to admin.
    let role = json!({ "role_name": "Recruiter", "description": "Invites analysts.", "frontend_view": "client",
        "permission_grants": [
            { "permission_name": "User:GetUserInfo", "conditions": {} },
            { "permission_name": "User:GetUserInfo", "conditions": { "is_self": { "type": "Equals", "value": true } } },
            { "permission_name": "User:UpdateUserInfo", "conditions": { "is_self": { "type": "Equals", "value": true } } },
            { "permission_name": "User:GetUserModel", "conditions": { "is_self": { "type": "Equals", "value": true } } },
            { "permission_name": "Conversation:GetMessage", "conditions": { "is_self": { "type": "Equals", "value": true } } },
            { "permission_name": "Role:GetRole", "conditions": {} },
            { "permission_name": "Organization:GetOrganizationDetails", "conditions": {} },
            { "permission_name": "User:InviteUser", "conditions": {} }] });
    app.post("/v1/acme/role/", &acme.token, role)
        .await
        .expect(201);
    let (_, recruiter) = app.user(&acme, "rec@x.example", "Recruiter").await;
    let invite = |email: &str, roles: Value| {
        let body =
            json!({ "email": email, "name": "Some One", "roles": roles, "connection": null });
        app.oum(Method::POST, "/users/invite", &recruiter, Some(body))
    };
    assert_eq!(
        invite("fresh@x.example", json!(["analyst"])).await.status,
        204
    );
    pending(&app, &acme, "boss@x.example", json!(["admin"])).await;
    assert_eq!(
        invite("boss@x.example", json!(["analyst"])).await.status,
        403
    );
}

/// §3.11: the list replaces every role; duplicates collapse; `[]` and unknown names are 422; a
/// pending invitation's id is 404; the last administrator cannot be demoted.
#[tokio::test]
async fn oum_roles_as_compat_says() {
    let app = TestApp::spawn().await;
    let acme = app.bootstrap("acme").await;
    assert_eq!(
        app.oum_invite(
            &acme,
            "r@x.example",
            "Ro Les",
            json!(["analyst"]),
            Value::Null
        )
        .await,
        204
    );
    let (id, _) = app.accept_invitation("acme", "r@x.example").await;
    let put = |who: String, roles: Value| {
        let (app, token) = (&app, acme.token.clone());
        async move {
            app.oum(
                Method::PUT,
                &format!("/users/{who}/roles"),
                &token,
                Some(roles),
            )
            .await
        }
    };
    put(id.clone(), json!(["developer", "analyst", "developer"]))
        .await
        .expect(204);
    let got = app
        .oum(Method::GET, &format!("/users/{id}"), &acme.token, None)
        .await
        .expect(200);
    assert_eq!(got["roles"], json!(["developer", "analyst"]));
    let e = put(id.clone(), json!([])).await.expect(422);
    assert_eq!(e["detail"][0]["type"], "too_short");
    let e = put(id.clone(), json!(["analyst", "root"]))
        .await
        .expect(422);
    assert_eq!(e["detail"][0]["loc"], json!(["body", 1]));
    let invited = pending(&app, &acme, "p@x.example", json!(["analyst"])).await;
    assert_eq!(put(invited, json!(["developer"])).await.status, 404);
    assert_eq!(
        put(acme.admin_id.clone(), json!(["developer"]))
            .await
            .status,
        409
    );
}

/// §3.12: 204 and an emailed link; 1 per minute per caller and target (another caller has its
/// own budget); counted before the lookup (a 404 counts); a pending invitation's id is 404.
#[tokio::test]
async fn oum_password_reset_as_compat_says() {
    let app = TestApp::spawn_with(|c| c.rate_limits = "on".into()).await;
    let acme = app.bootstrap("acme").await;
    assert_eq!(
        app.oum_invite(
            &acme,
            "t@x.example",
            "Tar Get",
            json!(["analyst"]),
            Value::Null
        )
        .await,
        204
    );
    let (target, target_token) = app.accept_invitation("acme", "t@x.example").await;
    let (_, second) = crate::appoint::second_admin(&app, &acme, "two@x.example").await;
    let reset = |token: String, id: String| {
        let app = &app;
        async move {
            app.call(
                Method::POST,
                &format!("/users/{id}/password-reset"),
                Some(&token),
                None,
                &[],
            )
            .await
        }
    };
    reset(acme.token.clone(), target.clone()).await.expect(204);
    let link = app
        .state
        .core
        .store
        .list_outbox(&OrgId::from("acme"))
        .await
        .unwrap()
        .into_iter()
        .rfind(|m| m.kind == "password_reset")
        .expect("queued")
        .payload["link"]
        .as_str()
        .unwrap()
        .to_owned();
    // A person opens it: the hosted landing page, not an API path.
    assert!(
        link.starts_with(
            "https://roster.example.test/realms/acme/login-actions/reset-credentials?token="
        ),
        "{link}"
    );
    let page = app.open(&link).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("name=\"password\""), "{}", page.body);
    assert!(page
        .body
        .contains("action=\"/realms/acme/login-actions/reset-credentials\""));
    let again = reset(acme.token.clone(), target.clone()).await;
    assert_eq!(again.status, 429);
    assert!(again.headers.contains_key("retry-after"));
    // Another caller, the same target: its own budget.
    reset(second, target.clone()).await.expect(204);
    // The target asks for itself: its own budget too.
    reset(target_token.clone(), target.clone())
        .await
        .expect(204);
    // Counted before the lookup: an unknown id answers 404, then 429.
    assert_eq!(reset(acme.token.clone(), "nobody".into()).await.status, 404);
    assert_eq!(reset(acme.token.clone(), "nobody".into()).await.status, 429);
    let invited = pending(&app, &acme, "p@x.example", json!(["analyst"])).await;
    assert_eq!(reset(acme.token.clone(), invited).await.status, 404);
}
