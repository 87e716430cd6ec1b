//! The org-user-management surface: every operation, its boundaries, and identities that
//! belong to several organizations.

use reqwest::Method;
use roster_domain::types::OrgId;
use roster_domain::types::UserId;
use serde_json::{json, Value};

use crate::helpers::{Org, TestApp};
use crate::oidc_invitations::accept_upstream;

impl TestApp {
    pub(crate) async fn oum(
        &self,
        method: Method,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> crate::helpers::Resp {
        self.call(method, path, Some(token), body, &[]).await
    }

    /// The token of the last invitation mailed to `email` in `org`, accepted: the member's JWT.
    /// Only a member who signs in with a password accepts an invitation so; a connection's
    /// member accepts it upstream (`oidc_invitations::accept_upstream`).
    pub(crate) async fn accept_invitation(&self, org: &str, email: &str) -> (String, String) {
        let mail = self
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
        let link = inv.payload["verify_link"].as_str().unwrap();
        // The email opens the hosted landing page, not an API path.
        let public = &self.state.core.config.public_url;
        let hosted = format!("{public}/realms/{org}/login-actions/verify?token=");
        assert!(link.starts_with(&hosted), "{link}");
        let token = link.split("token=").nth(1).unwrap().to_owned();
        let r = self
            .call(
                Method::POST,
                &format!("/v1/{org}/user/verify"),
                None,
                Some(json!({ "token": token })),
                &[],
            )
            .await
            .expect(200);
        (
            r["user_id"].as_str().unwrap().to_owned(),
            r["id_token"].as_str().unwrap().to_owned(),
        )
    }

    pub(crate) async fn oum_invite(
        &self,
        org: &Org,
        email: &str,
        name: &str,
        roles: Value,
        connection: Value,
    ) -> u16 {
        let r = self.oum(Method::POST, "/users/invite", &org.token, Some(json!({ "email": email, "name": name, "roles": roles, "connection": connection }))).await;
        r.status.as_u16()
    }
}

#[tokio::test]
async fn organization_me_and_member_lookup() {
    let app = TestApp::spawn().await;
    let acme = app.bootstrap("acme").await;
    let org = app
        .oum(Method::GET, "/organization", &acme.token, None)
        .await
        .expect(200);
    assert_eq!(
        (
            org["id"].as_str(),
            org["short_name"].as_str(),
            org["name"].as_str()
        ),
        (Some(acme.uuid.as_str()), Some("acme"), Some("acme Inc."))
    );
    let me = app
        .oum(Method::GET, "/users/me", &acme.token, None)
        .await
        .expect(200);
    assert_eq!(
        me,
        json!({ "id": acme.admin_id, "email": "admin@acme.example", "name": "Ada Admin", "roles": ["admin"] })
    );
    app.call(Method::GET, "/users/me", None, None, &[])
        .await
        .expect(401);
    app.call(Method::GET, "/organization", None, None, &[])
        .await
        .expect(401);

    assert_eq!(
        app.oum_invite(
            &acme,
            "dev@x.example",
            "Dev Eloper",
            json!(["developer"]),
            Value::Null
        )
        .await,
        204
    );
    let (dev_id, dev) = app.accept_invitation("acme", "dev@x.example").await;
    let got = app
        .oum(Method::GET, &format!("/users/{dev_id}"), &acme.token, None)
        .await
        .expect(200);
    assert_eq!(got["roles"], json!(["developer"]));
    assert_eq!(got["name"], "Dev Eloper");
    // A developer reads members but changes none.
    app.oum(
        Method::GET,
        &format!("/users/{}", acme.admin_id),
        &dev,
        None,
    )
    .await
    .expect(200);
    app.oum(
        Method::DELETE,
        &format!("/users/{}", acme.admin_id),
        &dev,
        None,
    )
    .await
    .expect(403);
    app.oum(
        Method::PUT,
        &format!("/users/{dev_id}/roles"),
        &dev,
        Some(json!(["analyst"])),
    )
    .await
    .expect(403);
    app.oum(
        Method::POST,
        &format!("/users/{}/password-reset", acme.admin_id),
        &dev,
        None,
    )
    .await
    .expect(403);
    assert_eq!(
        app.oum_invite(
            &Org {
                token: dev.clone(),
                ..acme.clone()
            },
            "x@x.example",
            "X Y",
            json!(["analyst"]),
            Value::Null
        )
        .await,
        403
    );
    app.oum(Method::GET, "/users/nobody", &acme.token, None)
        .await
        .expect(404);
    // A pending invitation is not a member yet.
    assert_eq!(
        app.oum_invite(
            &acme,
            "pending@x.example",
            "Pen Ding",
            json!(["analyst"]),
            Value::Null
        )
        .await,
        204
    );
    let pending = app
        .list_users(&acme, &acme.token, "email=pending@x.example")
        .await["users"][0]["user_id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.oum(Method::GET, &format!("/users/{pending}"), &acme.token, None)
        .await
        .expect(404);
}

#[tokio::test]
async fn listing_boundaries() {
    let app = TestApp::spawn().await;
    let acme = app.bootstrap("acme").await;
    for (i, name) in [
        "Zed Alpha",
        "amy beta",
        "Bob Gamma",
        "Ann Delta",
        "Carl Epsilon",
    ]
    .iter()
    .enumerate()
    {
        let email = format!("m{i}@x.example");
        assert_eq!(
            app.oum_invite(&acme, &email, name, json!(["analyst"]), Value::Null)
                .await,
            204
        );
        app.accept_invitation("acme", &email).await;
    }
    let list = |q: &'static str| {
        let app = &app;
        let token = acme.token.clone();
        async move {
            app.oum(Method::GET, &format!("/users?{q}"), &token, None)
                .await
        }
    };
    let all = list("").await.expect(200);
    assert_eq!(all["count"], 6);
    let names: Vec<&str> = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        vec![
            "Ada Admin",
            "amy beta",
            "Ann Delta",
            "Bob Gamma",
            "Carl Epsilon",
            "Zed Alpha"
        ],
        "by name, case-insensitively"
    );
    let zero = list("page_size=0").await.expect(200);
    assert_eq!(
        (
            zero["count"].as_i64(),
            zero["items"].as_array().unwrap().len()
        ),
        (Some(6), 0)
    );
    for q in ["page_size=100", "page_size=101", "page_size=1000"] {
        assert_eq!(
            list(q).await.expect(200)["items"].as_array().unwrap().len(),
            6,
            "{q}: values above 100 read as 100"
        );
    }
    let second = list("page_size=2&page_number=2").await.expect(200);
    let names: Vec<&str> = second["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["Ann Delta", "Bob Gamma"]);
    assert_eq!(
        list("page_size=2&page_number=4").await.expect(200)["items"],
        json!([]),
        "past the end"
    );
    assert_eq!(list("page_number=99").await.expect(200)["count"], 6);
    let found = list("name_search=NN%20D").await.expect(200);
    assert_eq!(
        (found["count"].as_i64(), found["items"][0]["name"].as_str()),
        (Some(1), Some("Ann Delta"))
    );
    for q in [
        "page_number=0",
        "page_number=-1",
        "page_size=-1",
        "page_size=x",
        "name_search=an",
        "name_search=abc1",
        "name_search=Jos%C3%A9",
        "name_search=a-b-c",
    ] {
        let r = list(q).await.expect(422);
        assert!(r["detail"][0]["loc"].is_array(), "{q}: {r}");
    }
}

#[tokio::test]
async fn roles_are_replaced_within_ranks_and_an_admin_remains() {
    let app = TestApp::spawn().await;
    let acme = app.bootstrap("acme").await;
    app.oum_invite(
        &acme,
        "a@x.example",
        "An Analyst",
        json!(["analyst"]),
        Value::Null,
    )
    .await;
    let (id, _) = app.accept_invitation("acme", "a@x.example").await;
    let put = |who: String, roles: Value| {
        let app = &app;
        let token = acme.token.clone();
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
    put(id.clone(), json!([])).await.expect(422);
    put(id.clone(), json!(["root"])).await.expect(422);
    put(id.clone(), json!("admin")).await.expect(422);
    // An administrator appoints administrators (equal rank suffices here), and steps them
    // down again.
    put(id.clone(), json!(["admin"])).await.expect(204);
    put(id.clone(), json!(["analyst"])).await.expect(204);
    put("nobody".into(), json!(["analyst"])).await.expect(404);
    // The last administrator cannot be demoted or removed.
    let e = put(acme.admin_id.clone(), json!(["developer"]))
        .await
        .expect(409);
    assert!(e["detail"].as_str().unwrap().contains("last administrator"));
    app.oum(
        Method::DELETE,
        &format!("/users/{}", acme.admin_id),
        &acme.token,
        None,
    )
    .await
    .expect(409);
    assert_eq!(
        app.oum(Method::GET, "/users/me", &acme.token, None)
            .await
            .expect(200)["roles"],
        json!(["admin"])
    );
}

#[tokio::test]
async fn invitations_connections_and_password_resets() {
    let (app, up) = crate::upstream::with_upstream().await;
    let acme = app.bootstrap("acme").await;
    // Absent connection means google-oauth2; null means username and password.
    let r = app
        .oum(
            Method::POST,
            "/users/invite",
            &acme.token,
            Some(json!({ "email": "g@x.example", "name": "Goo Gle", "roles": ["analyst"] })),
        )
        .await;
    assert_eq!(r.status, 204);
    assert_eq!(
        app.oum_invite(
            &acme,
            "p@x.example",
            "Pass Word",
            json!(["analyst"]),
            Value::Null
        )
        .await,
        204
    );
    let (g, _) = accept_upstream(&app, &up, &acme, "g@x.example").await;
    let (p, p_token) = app.accept_invitation("acme", "p@x.example").await;
    let reset = app
        .oum(
            Method::POST,
            &format!("/users/{g}/password-reset"),
            &acme.token,
            None,
        )
        .await
        .expect(400);
    assert!(reset["detail"].as_str().unwrap().contains("google-oauth2"));
    app.oum(
        Method::POST,
        &format!("/users/{p}/password-reset"),
        &acme.token,
        None,
    )
    .await
    .expect(204);
    app.oum(
        Method::POST,
        "/users/nobody/password-reset",
        &acme.token,
        None,
    )
    .await
    .expect(404);
    let mail = app
        .state
        .core
        .store
        .list_outbox(&OrgId::from("acme"))
        .await
        .unwrap();
    let r = mail
        .iter()
        .find(|m| m.kind == "password_reset")
        .expect("reset queued");
    assert_eq!(r.recipient, "p@x.example");
    let public = &app.state.core.config.public_url;
    assert!(r.payload["link"]
        .as_str()
        .unwrap()
        .starts_with(&format!("{public}/")));
    // A member resets their own password too.
    app.oum(
        Method::POST,
        &format!("/users/{p}/password-reset"),
        &p_token,
        None,
    )
    .await
    .expect(204);

    // Already a member: 409. Pending: resent, roles replaced.
    assert_eq!(
        app.oum_invite(
            &acme,
            "P@X.example",
            "Pass Word",
            json!(["analyst"]),
            Value::Null
        )
        .await,
        409
    );
    assert_eq!(
        app.oum_invite(
            &acme,
            "late@x.example",
            "Late Comer",
            json!(["analyst"]),
            Value::Null
        )
        .await,
        204
    );
    assert_eq!(
        app.oum_invite(
            &acme,
            "late@x.example",
            "Late Comer",
            json!(["developer"]),
            Value::Null
        )
        .await,
        204
    );
    let (late, _) = app.accept_invitation("acme", "late@x.example").await;
    assert_eq!(
        app.oum(Method::GET, &format!("/users/{late}"), &acme.token, None)
            .await
            .expect(200)["roles"],
        json!(["developer"])
    );
    // Bad invitations name their field.
    for (body, field) in [
        (
            json!({ "email": "x@x.example", "name": "X", "roles": ["analyst"], "connection": "github" }),
            "connection",
        ),
        (
            json!({ "email": "nope", "name": "X", "roles": ["analyst"], "connection": null }),
            "email",
        ),
        (
            json!({ "email": "x@x.example", "name": " ", "roles": ["analyst"], "connection": null }),
            "name",
        ),
        (
            json!({ "email": "x@x.example", "name": "X", "roles": [], "connection": null }),
            "roles",
        ),
        (
            json!({ "email": "x@x.example", "name": "X", "connection": null }),
            "roles",
        ),
    ] {
        let e = app
            .oum(
                Method::POST,
                "/users/invite",
                &acme.token,
                Some(body.clone()),
            )
            .await
            .expect(422);
        assert_eq!(e["detail"][0]["loc"][1], field, "{body}: {e}");
    }
    // An administrator invites administrators: equal rank suffices here.
    assert_eq!(
        app.oum_invite(
            &acme,
            "boss@x.example",
            "Boss",
            json!(["admin"]),
            Value::Null
        )
        .await,
        204
    );
}

#[tokio::test]
async fn one_person_in_two_organizations() {
    let app = TestApp::spawn().await;
    let acme = app.bootstrap("acme").await;
    let beta = app.bootstrap("beta").await;
    // Invited by acme through Amigo and by beta through this surface: one identity, two users.
    let in_acme = app
        .invite(&acme, "sam@x.example", "Sam", "Old", "DefaultUserRole")
        .await;
    let sam_acme = app.sign_in(&acme, &in_acme).await;
    assert_eq!(
        app.oum_invite(
            &beta,
            "Sam@X.example",
            "Sam Old",
            json!(["analyst"]),
            Value::Null
        )
        .await,
        204
    );
    let (in_beta, sam_beta) = app.accept_invitation("beta", "Sam@X.example").await;
    let (a, b) = (
        app.state
            .core
            .store
            .get_user(&OrgId::from("acme"), &UserId::from(&in_acme))
            .await
            .unwrap()
            .unwrap(),
        app.state
            .core
            .store
            .get_user(&OrgId::from("beta"), &UserId::from(&in_beta))
            .await
            .unwrap()
            .unwrap(),
    );
    assert_eq!(a.identity_id, b.identity_id);

    // The person renames themself once (from the session their emailed invitation started);
    // both organizations see it. A session started with an API key cannot change the account.
    app.oum(
        Method::PATCH,
        "/users/me",
        &sam_acme,
        Some(json!({ "name": "Hijacked" })),
    )
    .await
    .expect(403);
    let r = app
        .oum(
            Method::PATCH,
            "/users/me",
            &sam_beta,
            Some(json!({ "name": "Samantha New" })),
        )
        .await
        .expect(200);
    assert_eq!(
        r,
        json!({ "id": in_beta, "email": "Sam@X.example", "name": "Samantha New" })
    );
    assert_eq!(
        app.oum(Method::GET, &format!("/users/{in_beta}"), &beta.token, None)
            .await
            .expect(200)["name"],
        "Samantha New"
    );
    let amigo = app
        .list_users(&acme, &acme.token, &format!("user_id={in_acme}"))
        .await;
    assert_eq!(
        (
            amigo["users"][0]["first_name"].as_str(),
            amigo["users"][0]["last_name"].as_str()
        ),
        (Some("Samantha"), Some("New"))
    );
    app.oum(
        Method::PATCH,
        "/users/me",
        &sam_acme,
        Some(json!({ "name": "" })),
    )
    .await
    .expect(422);
    app.oum(Method::PATCH, "/users/me", &sam_acme, Some(json!({})))
        .await
        .expect(200);

    // An email change waits for the link sent to the new address.
    app.oum(
        Method::PATCH,
        "/users/me",
        &sam_beta,
        Some(json!({ "email": "admin@acme.example" })),
    )
    .await
    .expect(409);
    app.oum(
        Method::PATCH,
        "/users/me",
        &sam_beta,
        Some(json!({ "email": "bad" })),
    )
    .await
    .expect(422);
    app.oum(
        Method::PATCH,
        "/users/me",
        &sam_beta,
        Some(json!({ "email": "samantha@new.example" })),
    )
    .await
    .expect(200);
    assert_eq!(
        app.oum(Method::GET, "/users/me", &sam_acme, None)
            .await
            .expect(200)["email"],
        "sam@x.example"
    );
    let mail = app
        .state
        .core
        .store
        .list_outbox(&OrgId::from("beta"))
        .await
        .unwrap();
    let change = mail
        .iter()
        .find(|m| m.kind == "email_change")
        .expect("confirmation queued");
    assert_eq!(change.recipient, "samantha@new.example");
    let token = change.payload["link"]
        .as_str()
        .unwrap()
        .split("token=")
        .nth(1)
        .unwrap()
        .to_owned();
    app.call(
        Method::POST,
        "/users/email-change/confirm",
        None,
        Some(json!({ "token": token })),
        &[],
    )
    .await
    .expect(204);
    app.call(
        Method::POST,
        "/users/email-change/confirm",
        None,
        Some(json!({ "token": token })),
        &[],
    )
    .await
    .expect(401);
    assert_eq!(
        app.oum(Method::GET, "/users/me", &sam_acme, None)
            .await
            .expect(200)["email"],
        "samantha@new.example"
    );
    assert_eq!(
        app.list_users(&beta, &beta.token, "email=samantha@new.example")
            .await["users"][0]["user_id"],
        in_beta.as_str()
    );

    // An administrator of one organization never changes the identity: only its own membership.
    app.oum(
        Method::DELETE,
        &format!("/users/{in_beta}"),
        &beta.token,
        None,
    )
    .await
    .expect(204);
    app.oum(Method::GET, "/users/me", &sam_beta, None)
        .await
        .expect(401);
    assert_eq!(
        app.list_users(&beta, &beta.token, &format!("user_id={in_beta}"))
            .await["users"],
        json!([]),
        "gone from the Amigo view too"
    );
    let me = app
        .oum(Method::GET, "/users/me", &sam_acme, None)
        .await
        .expect(200);
    assert_eq!(me["name"], "Samantha New");
    app.sign_in_resp(&acme, &in_acme).await.expect(200);
}

#[tokio::test]
async fn third_party_identities_keep_their_data_at_the_provider() {
    let (app, up) = crate::upstream::with_upstream().await;
    let acme = app.bootstrap("acme").await;
    app.oum(
        Method::POST,
        "/users/invite",
        &acme.token,
        Some(json!({ "email": "g@x.example", "name": "Goo Gle", "roles": ["analyst"] })),
    )
    .await
    .expect(204);
    let (_, g) = accept_upstream(&app, &up, &acme, "g@x.example").await;
    let r = app
        .oum(
            Method::PATCH,
            "/users/me",
            &g,
            Some(json!({ "name": "Changed" })),
        )
        .await
        .expect(400);
    assert!(r["detail"].as_str().unwrap().contains("google-oauth2"));
    assert_eq!(
        app.oum(Method::GET, "/users/me", &g, None)
            .await
            .expect(200)["name"],
        "Goo Gle"
    );
}

#[tokio::test]
async fn no_route_reaches_another_organization() {
    let app = TestApp::spawn().await;
    let acme = app.bootstrap("acme").await;
    let beta = app.bootstrap("beta").await;
    let target = app
        .invite(&acme, "t@acme.example", "Tar", "Get", "DefaultUserRole")
        .await;
    let before = app.list_users(&acme, &acme.token, "").await;
    let routes = [
        (Method::GET, format!("/users/{target}"), None),
        (Method::DELETE, format!("/users/{target}"), None),
        (
            Method::POST,
            format!("/users/{target}/password-reset"),
            None,
        ),
        (
            Method::PUT,
            format!("/users/{target}/roles"),
            Some(json!(["analyst"])),
        ),
    ];
    for (m, path, body) in routes {
        let r = app.oum(m.clone(), &path, &beta.token, body).await;
        assert_eq!(r.status, 404, "{m} {path}: {}", r.body);
    }
    let listed = app
        .oum(Method::GET, "/users", &beta.token, None)
        .await
        .expect(200);
    assert!(!listed.to_string().contains(&target));
    assert_eq!(
        app.oum(Method::GET, "/organization", &beta.token, None)
            .await
            .expect(200)["short_name"],
        "beta"
    );
    assert_eq!(app.list_users(&acme, &acme.token, "").await, before);
}

#[tokio::test]
async fn refused_changes_write_nothing_and_old_links_die() {
    let app = TestApp::spawn().await;
    let acme = app.bootstrap("acme").await;
    app.oum_invite(
        &acme,
        "me@x.example",
        "Test User",
        json!(["analyst"]),
        Value::Null,
    )
    .await;
    let (id, me) = app.accept_invitation("acme", "me@x.example").await;
    // A taken email refuses the whole request: the name is not changed either.
    app.oum(
        Method::PATCH,
        "/users/me",
        &me,
        Some(json!({ "name": "New Name", "email": "admin@acme.example" })),
    )
    .await
    .expect(409);
    assert_eq!(
        app.oum(Method::GET, "/users/me", &me, None)
            .await
            .expect(200)["name"],
        "Test User"
    );
    // A newer email-change request voids the earlier link.
    app.oum(
        Method::PATCH,
        "/users/me",
        &me,
        Some(json!({ "email": "first@x.example" })),
    )
    .await
    .expect(200);
    app.oum(
        Method::PATCH,
        "/users/me",
        &me,
        Some(json!({ "email": "second@x.example" })),
    )
    .await
    .expect(200);
    let mail = app
        .state
        .core
        .store
        .list_outbox(&OrgId::from("acme"))
        .await
        .unwrap();
    let link_to = |to: &str| {
        mail.iter()
            .find(|m| m.kind == "email_change" && m.recipient == to)
            .unwrap()
            .payload["link"]
            .as_str()
            .unwrap()
            .split("token=")
            .nth(1)
            .unwrap()
            .to_owned()
    };
    let (first, second) = (link_to("first@x.example"), link_to("second@x.example"));
    app.call(
        Method::POST,
        "/users/email-change/confirm",
        None,
        Some(json!({ "token": first })),
        &[],
    )
    .await
    .expect(401);
    app.call(
        Method::POST,
        "/users/email-change/confirm",
        None,
        Some(json!({ "token": second })),
        &[],
    )
    .await
    .expect(204);
    assert_eq!(
        app.list_users(&acme, &acme.token, &format!("user_id={id}"))
            .await["users"][0]["email"],
        "second@x.example"
    );

    // A re-sent invitation voids the first link; a pending invitation is not a member to act on.
    app.oum_invite(
        &acme,
        "inv@x.example",
        "In Vited",
        json!(["analyst"]),
        Value::Null,
    )
    .await;
    let mail = app
        .state
        .core
        .store
        .list_outbox(&OrgId::from("acme"))
        .await
        .unwrap();
    let first_link = mail
        .iter()
        .find(|m| m.kind == "invitation" && m.recipient == "inv@x.example")
        .unwrap()
        .payload["verify_link"]
        .as_str()
        .unwrap()
        .to_owned();
    // Its page offers to accept, with a first password, and uses nothing.
    let page = app.open(&first_link).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("Accept the invitation"), "{}", page.body);
    assert!(page.body.contains("name=\"password\""), "{}", page.body);
    assert!(page
        .body
        .contains("action=\"/realms/acme/login-actions/verify\""));
    // Under another organization's realm the same link is no link at all.
    app.bootstrap("globex").await;
    let elsewhere = app
        .open(&first_link.replace("/realms/acme/", "/realms/globex/"))
        .await;
    assert_eq!(elsewhere.status, 410, "{}", elsewhere.body);
    let first_link = crate::email_flows::token_of(&first_link);
    app.oum_invite(
        &acme,
        "inv@x.example",
        "In Vited",
        json!(["developer"]),
        Value::Null,
    )
    .await;
    let pending = app
        .list_users(&acme, &acme.token, "email=inv@x.example")
        .await["users"][0]["user_id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.oum(
        Method::DELETE,
        &format!("/users/{pending}"),
        &acme.token,
        None,
    )
    .await
    .expect(404);
    app.oum(
        Method::PUT,
        &format!("/users/{pending}/roles"),
        &acme.token,
        Some(json!(["analyst"])),
    )
    .await
    .expect(404);
    app.oum(
        Method::POST,
        &format!("/users/{pending}/password-reset"),
        &acme.token,
        None,
    )
    .await
    .expect(404);
    app.call(
        Method::POST,
        "/v1/acme/user/verify",
        None,
        Some(json!({ "token": first_link })),
        &[],
    )
    .await
    .expect(401);
    let (accepted, _) = app.accept_invitation("acme", "inv@x.example").await;
    assert_eq!(accepted, pending);
}

/// One organization's administrator never takes over a person who belongs to another one.
#[tokio::test]
async fn an_organization_cannot_take_over_a_shared_account() {
    let app = TestApp::spawn().await;
    let acme = app.bootstrap("acme").await;
    let beta = app.bootstrap("beta").await;
    crate::eva::eva_catalog_for(&app, "acme").await;
    // The victim is a member of beta with their own password, verified through beta's email.
    assert_eq!(
        app.oum_invite(
            &beta,
            "victim@corp.example",
            "Vic Tim",
            json!(["analyst"]),
            Value::Null
        )
        .await,
        204
    );
    let (_, _victim) = app.accept_invitation("beta", "victim@corp.example").await;
    let victim_identity = app
        .state
        .core
        .store
        .identity_by_email("victim@corp.example")
        .await
        .unwrap()
        .unwrap();
    let hash = app.state.core.passwords.hash("Victim-pw1").await.unwrap();
    app.state
        .core
        .store
        .set_password(
            &victim_identity.id,
            &hash,
            false,
            roster_domain::types::session_stamp(),
            Default::default(),
        )
        .await
        .unwrap();

    // Acme's administrator adds the same address, signs in as that membership with an API key,
    // and tries every way to change the account itself: all refused.
    let id = app
        .invite(
            &acme,
            "victim@corp.example",
            "Vic",
            "Tim",
            "DefaultUserRole",
        )
        .await;
    let hijack = app.sign_in(&acme, &id).await;
    app.oum(
        Method::PATCH,
        "/users/me",
        &hijack,
        Some(json!({ "email": "attacker@evil.example" })),
    )
    .await
    .expect(403);
    app.oum(
        Method::PATCH,
        "/users/me",
        &hijack,
        Some(json!({ "name": "Owned" })),
    )
    .await
    .expect(403);
    // The verify_link acme's administrator was shown does not prove the address either.
    let mail_token = app
        .state
        .core
        .store
        .list_outbox(&OrgId::from("acme"))
        .await
        .unwrap();
    assert!(
        mail_token
            .iter()
            .all(|m| m.recipient != "victim@corp.example"),
        "no email without a login_link"
    );
    assert_eq!(
        app.password_token(&beta, "victim@corp.example", "Victim-pw1")
            .await
            .status,
        200,
        "the victim's password still works"
    );

    // Pre-claiming: acme creates an address nobody has proven yet, with a password acme chose;
    // when beta adds that person, acme's password no longer signs in anywhere.
    let claim = json!({ "name": "Future Hire", "email": "future@corp.example", "admin": false,
        "environments": [{ "role": "SUPERVISOR", "environment": { "uuid": crate::eva::PROD } }],
        "password": "Chosen-by-acme1", "passwordConfirmation": "Chosen-by-acme1" });
    app.call(
        Method::POST,
        &format!("/org/{}/users", acme.uuid),
        Some(&acme.token),
        Some(claim),
        &[],
    )
    .await
    .expect(200);
    assert_eq!(
        app.password_token(&acme, "future@corp.example", "Chosen-by-acme1")
            .await
            .status,
        200
    );
    assert_eq!(
        app.oum_invite(
            &beta,
            "future@corp.example",
            "Future Hire",
            json!(["analyst"]),
            Value::Null
        )
        .await,
        204
    );
    assert_eq!(
        app.password_token(&acme, "future@corp.example", "Chosen-by-acme1")
            .await
            .status,
        401
    );
    assert_eq!(
        app.password_token(&beta, "future@corp.example", "Chosen-by-acme1")
            .await
            .status,
        401
    );
}

#[tokio::test]
async fn an_invitation_grant_for_one_role_covers_that_role_alone() {
    let app = TestApp::spawn().await;
    let acme = app.bootstrap("acme").await;
    // Outranks developer and analyst, and may invite analysts only.
    let developer = roster_domain::permissions::builtin_roles(false)
        .into_iter()
        .find(|r| r.name == "developer")
        .unwrap();
    let mut grants = serde_json::to_value(developer.grants)
        .unwrap()
        .as_array()
        .unwrap()
        .clone();
    grants.push(json!({ "permission_name": "User:InviteUser",
        "conditions": { "role_name": { "type": "Equals", "value": "analyst" } } }));
    let role = json!({ "role_name": "AnalystInviter", "description": "invites analysts",
        "permission_grants": grants, "frontend_view": "client" });
    let (_, token) =
        crate::amigo_roles::holder_of_platform_role(&app, &acme, role, "inviter@x.example").await;
    let inviter = Org {
        token,
        ..acme.clone()
    };
    let refused = app
        .oum(
            Method::POST,
            "/users/invite",
            &inviter.token,
            Some(json!({ "email": "both@x.example",
            "name": "Both Roles", "roles": ["analyst", "developer"], "connection": null })),
        )
        .await;
    assert_eq!(refused.status, 403);
    assert!(refused.body["detail"]
        .as_str()
        .unwrap()
        .contains("User:InviteUser"));
    assert!(app
        .list_users(&acme, &acme.token, "email=both@x.example")
        .await["users"]
        .as_array()
        .unwrap()
        .is_empty());
    assert_eq!(
        app.oum_invite(
            &inviter,
            "analyst@x.example",
            "Ana Lyst",
            json!(["analyst"]),
            Value::Null
        )
        .await,
        204
    );
}
