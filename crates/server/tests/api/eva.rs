//! The eva-user surface: every operation and its errors, the Keycloak-compatible token endpoint,
//! configurations, bulk CSV operations, and an eva client's flow from password to delete.

use reqwest::Method;
use roster_domain::types::OrgId;
use serde_json::{json, Value};

use crate::helpers::{Org, Resp, TestApp, FORM};

pub const PROD: &str = "5d0b2a8e-1c7e-4a3a-9a51-2f6c9d3e8b70";
pub const STAGE: &str = "7e1f3b9a-0c2d-4e5f-8a9b-1c2d3e4f5a6b";
pub const OLD: &str = "9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a";
pub const BOT: &str = "c1a7e0d4-93f2-4b8e-8d61-0a4f5b2c7e99";
pub const BOT2: &str = "d2b8f1e5-a403-4c9f-9e72-1b5a6c3d8f00";
pub const STAGE_BOT: &str = "e3c9a2f6-b514-4da0-8f83-2c6b7d4e9a11";
pub const OFF_BOT: &str = "f4dab307-c625-4eb1-9094-3d7c8e5fab22";

/// The test catalog of environments and bots in `org` (see `TestApp::eva_catalog`).
pub async fn eva_catalog_for(app: &TestApp, org: &str) {
    app.eva_catalog(org).await;
}

impl TestApp {
    pub async fn ingest(&self, method: Method, path: &str, body: Value) {
        let r = self
            .call(
                method,
                path,
                None,
                Some(body),
                &[("authorization", "Bearer ingest-secret-for-tests")],
            )
            .await;
        assert_eq!(r.status, 204, "{path}: {}", r.body);
    }

    /// Environments Production (bots Main and Second), Staging (bot Stage), Old (inactive),
    /// and an inactive bot in Production.
    pub async fn eva_catalog(&self, org: &str) {
        for (uuid, name, active) in [
            (PROD, "Production", true),
            (STAGE, "Staging", true),
            (OLD, "Old", false),
        ] {
            self.ingest(
                Method::PUT,
                &format!("/ingest/v1/{org}/environments/{uuid}"),
                json!({ "name": name, "active": active }),
            )
            .await;
        }
        for (uuid, env, name, active) in [
            (BOT, PROD, "Main", true),
            (BOT2, PROD, "Second", true),
            (STAGE_BOT, STAGE, "Stage", true),
            (OFF_BOT, PROD, "Off", false),
        ] {
            self.ingest(
                Method::PUT,
                &format!("/ingest/v1/{org}/bots/{uuid}"),
                json!({ "environment_uuid": env, "name": name, "active": active }),
            )
            .await;
        }
    }

    pub async fn eva(&self, method: Method, path: &str, token: &str, body: Option<Value>) -> Resp {
        let r = self.call(method, path, Some(token), body, &[]).await;
        if r.status.as_u16() >= 400 {
            for f in ["timestamp", "errorCode", "errorType", "message", "path"] {
                assert!(
                    r.body.get(f).is_some(),
                    "eva errors are StandardError-shaped: {}",
                    r.body
                );
            }
            assert_eq!(r.body["path"], path.split('?').next().unwrap());
        }
        r
    }

    /// Gives the administrator a password and signs in through the token endpoint.
    pub async fn password_token(&self, org: &Org, email: &str, password: &str) -> Resp {
        let form = format!(
            "grant_type=password&client_id=eva-cockpit&username={}&password={}",
            email.replace('@', "%40"),
            password
        );
        let path = format!("/realms/{}/protocol/openid-connect/token", org.id);
        self.call_with(Method::POST, &path, |r| {
            r.header("content-type", FORM).body(form)
        })
        .await
    }
}

fn editor(email: &str, name: &str) -> Value {
    json!({ "name": name, "email": email, "company": "Example Corp", "admin": false,
            "environments": [{ "role": "EDITOR", "environment": { "uuid": PROD }, "bots": [{ "uuid": BOT }] }],
            "password": "Secr3t!x", "passwordConfirmation": "Secr3t!x" })
}

#[tokio::test]
async fn an_eva_client_signs_in_with_a_password_and_manages_users() {
    let app = TestApp::spawn().await;
    let acme = app.bootstrap("acme").await;
    app.eva_catalog("acme").await;
    app.give_admin_password(&acme, "Adm1nPass!").await;
    // Password grant, as an eva client calls Keycloak.
    let t = app
        .password_token(&acme, "admin@acme.example", "Adm1nPass!")
        .await;
    assert_eq!(t.status, 200, "{}", t.body);
    assert_eq!(t.body["token_type"], "Bearer");
    let token = t.body["access_token"].as_str().unwrap().to_owned();
    let base = format!("/eva-user/org/{}", acme.uuid);
    let page = app
        .eva(
            Method::GET,
            &format!("{base}/users?page=0&linesPerPage=5&orderBy=name&direction=ASC"),
            &token,
            None,
        )
        .await
        .expect(200);
    assert_eq!(page["totalElements"], 1);
    let created = app
        .eva(
            Method::POST,
            &format!("{base}/users?language=es"),
            &token,
            Some(editor("ana@x.example", "Ana Souza")),
        )
        .await
        .expect(200);
    assert_eq!(
        created["environments"][0]["environment"],
        json!({ "uuid": PROD, "name": "Production" })
    );
    assert_eq!(
        created["environments"][0]["bots"],
        json!([{ "uuid": BOT, "name": "Main" }])
    );
    assert_eq!(created["orgUUID"], acme.uuid.as_str());
    assert_eq!(created["rules"]["deletable"], true);
    let welcome = app
        .state
        .core
        .store
        .list_outbox(&OrgId::from("acme"))
        .await
        .unwrap();
    assert!(welcome
        .iter()
        .any(|m| m.kind == "welcome" && m.language == "es" && m.recipient == "ana@x.example"));
    let names = app
        .eva(
            Method::GET,
            &format!("{base}/users/quicksearch?name=an"),
            &token,
            None,
        )
        .await
        .expect(200);
    assert_eq!(names, json!(["Ana Souza"]));
    // The new user signs in with their own password and keeps configurations.
    let ana = app
        .password_token(&acme, "ana@x.example", "Secr3t!x")
        .await
        .expect(200);
    let ana_token = ana["access_token"].as_str().unwrap().to_owned();
    app.eva(
        Method::POST,
        &format!("{base}/configurations"),
        &ana_token,
        Some(json!({ "key": "ui.theme", "value": "dark" })),
    )
    .await
    .expect(200);
    app.eva(
        Method::POST,
        &format!("{base}/configurations"),
        &ana_token,
        Some(json!({ "key": "tour.seen", "value": "true", "botUUID": BOT })),
    )
    .await
    .expect(200);
    let mine = app
        .eva(
            Method::GET,
            &format!("{base}/configurations"),
            &ana_token,
            None,
        )
        .await
        .expect(200);
    assert_eq!(
        mine,
        json!([{ "key": "ui.theme", "value": "dark", "botUUID": null }])
    );
    assert_eq!(
        app.eva(
            Method::GET,
            &format!("{base}/configurations/{BOT}"),
            &ana_token,
            None
        )
        .await
        .expect(200)[0]["key"],
        "tour.seen"
    );
    assert_eq!(
        app.eva(
            Method::GET,
            &format!("{base}/configurations/userHasConf?key=ui.theme"),
            &ana_token,
            None
        )
        .await
        .expect(200),
        json!(true)
    );
    assert_eq!(
        app.eva(
            Method::GET,
            &format!("{base}/configurations/{BOT}/userHasConf?key=ui.theme"),
            &ana_token,
            None
        )
        .await
        .expect(200),
        json!(false)
    );
    let id = created["uuid"].as_str().unwrap();
    app.eva(Method::DELETE, &format!("{base}/users/{id}"), &token, None)
        .await
        .expect(204);
    // Deleted: the token stops, the password no longer signs in, the list forgets them.
    app.eva(
        Method::GET,
        &format!("{base}/configurations"),
        &ana_token,
        None,
    )
    .await
    .expect(401);
    assert_eq!(
        app.password_token(&acme, "ana@x.example", "Secr3t!x")
            .await
            .status,
        401
    );
    assert_eq!(
        app.eva(Method::GET, &format!("{base}/users"), &token, None)
            .await
            .expect(200)["totalElements"],
        1
    );

    // Refresh tokens rotate: each works once.
    let refresh = t.body["refresh_token"].as_str().unwrap();
    let form = |r: &str| format!("grant_type=refresh_token&refresh_token={r}");
    let post = |b: String| {
        app.post_raw(
            "/auth/realms/acme/protocol/openid-connect/token",
            Some(FORM),
            b,
        )
    };
    let again = post(form(refresh)).await;
    assert_eq!(again.status, 200);
    assert_eq!(post(form(refresh)).await.status, 401);
}

#[tokio::test]
async fn the_token_endpoint_tells_nothing_about_accounts() {
    let app = TestApp::spawn().await;
    let acme = app.bootstrap("acme").await;
    app.give_admin_password(&acme, "Adm1nPass!").await;
    let wrong = app
        .password_token(&acme, "admin@acme.example", "nope")
        .await;
    let unknown = app
        .password_token(&acme, "ghost@acme.example", "nope")
        .await;
    assert_eq!((wrong.status.as_u16(), &wrong.body), (401, &unknown.body));
    assert_eq!(unknown.status, 401);
    assert_eq!(wrong.body["error"], "invalid_grant");
    let r = app
        .post_raw(
            "/realms/acme/protocol/openid-connect/token",
            None,
            "grant_type=client_credentials".into(),
        )
        .await;
    assert_eq!(r.status, 400);
    let r = app
        .post_raw(
            "/realms/acme/protocol/openid-connect/token",
            None,
            "grant_type=password&username=a".into(),
        )
        .await;
    assert_eq!(r.status, 400);
    let r = app
        .post_raw(
            "/realms/nowhere/protocol/openid-connect/token",
            None,
            "grant_type=password&username=a&password=b".into(),
        )
        .await;
    assert_eq!(r.status, 404);
    // A google-oauth2 identity never signs in with a password.
    app.call(
        Method::POST,
        "/users/invite",
        Some(&acme.token),
        Some(json!({ "email": "g@x.example", "name": "Goo Gle", "roles": ["analyst"] })),
        &[],
    )
    .await
    .expect(204);
    assert_eq!(
        app.password_token(&acme, "g@x.example", "").await.status,
        401
    );
}

#[tokio::test]
async fn create_rules_and_errors() {
    let app = TestApp::spawn().await;
    let acme = app.bootstrap("acme").await;
    app.eva_catalog("acme").await;
    let base = format!("/org/{}", acme.uuid);
    let users_path = format!("{base}/users");
    let post = |b: Value| app.eva(Method::POST, &users_path, &acme.token, Some(b));
    let field_of = |r: Resp| -> Vec<String> {
        assert_eq!(r.status, 422, "{}", r.body);
        assert_eq!(r.body["errorType"], "USER_ERROR");
        r.body["details"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["fieldName"].as_str().unwrap().to_owned())
            .collect()
    };
    let mut b = editor("a@x.example", "A B");
    b["passwordConfirmation"] = json!("other");
    assert_eq!(field_of(post(b).await), vec!["passwordConfirmation"]);
    let mut b = editor("a@x.example", "A B");
    b["password"] = json!("weak");
    b["passwordConfirmation"] = json!("weak");
    assert_eq!(field_of(post(b).await), vec!["password"]);
    let mut b = editor("a@x.example", "A B");
    b.as_object_mut().unwrap().remove("password");
    assert!(field_of(post(b).await).contains(&"password".to_owned()));
    for (envs, field) in [
        (json!([]), "environments"),
        (
            json!([{ "role": "EDITOR", "environment": { "uuid": PROD } }]),
            "environments.0.bots",
        ),
        (
            json!([{ "role": "OWNER", "environment": { "uuid": PROD } }]),
            "environments.0.role",
        ),
        (
            json!([{ "role": "SUPERVISOR", "environment": { "uuid": "nope" } }]),
            "environments.0.environment.uuid",
        ),
        (
            json!([{ "role": "SUPERVISOR", "environment": { "uuid": OLD } }]),
            "environments.0.environment.uuid",
        ),
        (
            json!([{ "role": "VIEWER", "environment": { "uuid": PROD }, "bots": [{ "uuid": STAGE_BOT }] }]),
            "environments.0.bots.0.uuid",
        ),
        (
            json!([{ "role": "VIEWER", "environment": { "uuid": PROD }, "bots": [{ "uuid": OFF_BOT }] }]),
            "environments.0.bots.0.uuid",
        ),
    ] {
        let mut b = editor("a@x.example", "A B");
        b["environments"] = envs.clone();
        assert_eq!(field_of(post(b).await), vec![field.to_owned()], "{envs}");
    }
    let mut b = editor("a@x.example", "A B");
    b["orgId"] = json!("another");
    assert_eq!(
        field_of(post(b).await),
        vec!["orgId"],
        "fields no response has are refused, never applied"
    );
    app.eva(
        Method::POST,
        &format!("{base}/users?language=fr"),
        &acme.token,
        Some(editor("a@x.example", "A B")),
    )
    .await
    .expect(400);
    // A supervisor needs no bot; an admin needs no environment.
    let mut sup = editor("s@x.example", "Sue Per");
    sup["environments"] = json!([{ "role": "SUPERVISOR", "environment": { "uuid": STAGE } }]);
    post(sup).await.expect(200);
    post(editor("a@x.example", "A B")).await.expect(200);
    post(editor("A@X.example", "A B")).await.expect(409);
    // An administrator creates administrators: equal rank suffices on eva.
    let mut adm = editor("boss@x.example", "Big Boss");
    adm["admin"] = json!(true);
    adm["environments"] = json!([]);
    assert_eq!(post(adm).await.expect(200)["admin"], json!(true));
    app.eva(
        Method::POST,
        "/org/nowhere/users",
        &acme.token,
        Some(editor("z@x.example", "Z Z")),
    )
    .await
    .expect(404);
    let r = app
        .call(
            Method::POST,
            &format!("{base}/users"),
            None,
            Some(editor("z@x.example", "Z Z")),
            &[],
        )
        .await;
    assert_eq!(r.status, 401);
    assert_eq!(r.body["errorCode"], "USER-401");
}

#[tokio::test]
async fn list_quicksearch_get_update_activate_delete() {
    let app = TestApp::spawn().await;
    let acme = app.bootstrap("acme").await;
    app.eva_catalog("acme").await;
    let base = format!("/eva-user/org/{}", acme.uuid);
    let mut ids = Vec::new();
    for (i, name) in [
        "Ana Lima",
        "ana Souza",
        "Anderson Reis",
        "Bruno Dias",
        "Ana Lima",
    ]
    .iter()
    .enumerate()
    {
        let mut b = editor(&format!("u{i}@x.example"), name);
        b["company"] = json!(if i == 3 { "Globex" } else { "Example Corp" });
        ids.push(
            app.eva(Method::POST, &format!("{base}/users"), &acme.token, Some(b))
                .await
                .expect(200)["uuid"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    let list = |q: &str| {
        let path = format!("{base}/users?{q}");
        let app = &app;
        let token = acme.token.clone();
        async move { app.eva(Method::GET, &path, &token, None).await }
    };
    let p = list("page=1&linesPerPage=2&orderBy=name&direction=asc")
        .await
        .expect(200);
    assert_eq!(
        (
            p["totalElements"].as_i64(),
            p["totalPages"].as_i64(),
            p["number"].as_i64(),
            p["numberOfElements"].as_i64()
        ),
        (Some(6), Some(3), Some(1), Some(2))
    );
    let names: Vec<&str> = p["content"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        vec!["Ana Lima", "ana Souza"],
        "Ada Admin, Ana Lima | Ana Lima, ana Souza | Anderson Reis, Bruno Dias"
    );
    assert_eq!(list("page=9").await.expect(200)["empty"], true);
    assert_eq!(
        list("searchTerms=GLOBEX").await.expect(200)["totalElements"],
        1,
        "search covers the company"
    );
    assert_eq!(
        list("searchTerms=u3@x").await.expect(200)["totalElements"],
        1,
        "and the email"
    );
    let first = list("orderBy=createdAt&direction=DESC&linesPerPage=1")
        .await
        .expect(200);
    assert_eq!(first["content"][0]["uuid"], ids[4].as_str());
    for bad in [
        "page=-1",
        "linesPerPage=0",
        "linesPerPage=x",
        "orderBy=password",
        "direction=up",
    ] {
        assert_eq!(list(bad).await.status, 400, "{bad}");
    }
    let qs = |q: &str| {
        let path = format!("{base}/users/quicksearch?{q}");
        let app = &app;
        let token = acme.token.clone();
        async move { app.eva(Method::GET, &path, &token, None).await }
    };
    assert_eq!(
        qs("name=AN").await.expect(200),
        json!(["Ana Lima", "ana Souza", "Anderson Reis"]),
        "distinct, alphabetical, case-insensitive"
    );
    assert_eq!(
        qs("name=an&limit=2").await.expect(200),
        json!(["Ana Lima", "ana Souza"])
    );
    assert_eq!(qs("name=zz").await.expect(200), json!([]));
    assert_eq!(qs("limit=2").await.status, 400);

    let got = app
        .eva(
            Method::GET,
            &format!("{base}/users/{}", ids[3]),
            &acme.token,
            None,
        )
        .await
        .expect(200);
    assert_eq!(
        (got["name"].as_str(), got["company"].as_str()),
        (Some("Bruno Dias"), Some("Globex"))
    );
    app.eva(
        Method::GET,
        &format!("{base}/users/nobody"),
        &acme.token,
        None,
    )
    .await
    .expect(404);
    // Update replaces the data, moving the user to a supervisor of Staging.
    let mut b = editor("u3@x.example", "Bruno D. Dias");
    b.as_object_mut().unwrap().remove("password");
    b.as_object_mut().unwrap().remove("passwordConfirmation");
    b["company"] = Value::Null;
    b["environments"] = json!([{ "role": "SUPERVISOR", "environment": { "uuid": STAGE } }]);
    let up = app
        .eva(
            Method::PUT,
            &format!("{base}/users/{}", ids[3]),
            &acme.token,
            Some(b.clone()),
        )
        .await
        .expect(200);
    assert_eq!(
        (up["name"].as_str(), up["company"].as_str()),
        (Some("Bruno D. Dias"), None)
    );
    assert_eq!(up["environments"][0]["role"], "SUPERVISOR");
    let mut moved = b.clone();
    moved["email"] = json!("elsewhere@x.example");
    app.eva(
        Method::PUT,
        &format!("{base}/users/{}", ids[3]),
        &acme.token,
        Some(moved),
    )
    .await
    .expect(409);
    let mut pw = b.clone();
    pw["password"] = json!("N3wPass!");
    pw["passwordConfirmation"] = json!("N3wPass!");
    app.eva(
        Method::PUT,
        &format!("{base}/users/{}", ids[3]),
        &acme.token,
        Some(pw),
    )
    .await
    .expect(403);
    app.eva(
        Method::PUT,
        &format!("{base}/users/nobody"),
        &acme.token,
        Some(b.clone()),
    )
    .await
    .expect(404);

    // Identity provider: the caller's own record; the caller is not deletable.
    let me = app
        .eva(
            Method::GET,
            &format!("{base}/users/identity-provider"),
            &acme.token,
            None,
        )
        .await
        .expect(200);
    assert_eq!(
        (
            me["uuid"].as_str(),
            me["admin"].as_bool(),
            me["rules"]["deletable"].as_bool()
        ),
        (Some(acme.admin_id.as_str()), Some(true), Some(false))
    );
    app.eva(
        Method::DELETE,
        &format!("{base}/users/{}", acme.admin_id),
        &acme.token,
        None,
    )
    .await
    .expect(409);

    // Delete, then activate by email.
    app.eva(
        Method::DELETE,
        &format!("{base}/users/{}", ids[3]),
        &acme.token,
        None,
    )
    .await
    .expect(204);
    app.eva(
        Method::GET,
        &format!("{base}/users/{}", ids[3]),
        &acme.token,
        None,
    )
    .await
    .expect(404);
    app.eva(
        Method::DELETE,
        &format!("{base}/users/{}", ids[3]),
        &acme.token,
        None,
    )
    .await
    .expect(404);
    let back = app
        .eva(
            Method::PUT,
            &format!("{base}/users/activate?language=ja"),
            &acme.token,
            Some(b.clone()),
        )
        .await
        .expect(200);
    assert_eq!(back["uuid"], ids[3].as_str());
    app.eva(
        Method::PUT,
        &format!("{base}/users/activate"),
        &acme.token,
        Some(b.clone()),
    )
    .await
    .expect(409);
    let mut ghost = b.clone();
    ghost["email"] = json!("ghost@x.example");
    app.eva(
        Method::PUT,
        &format!("{base}/users/activate"),
        &acme.token,
        Some(ghost),
    )
    .await
    .expect(404);
}

#[tokio::test]
async fn configurations_belong_to_the_caller_and_its_organization() {
    let app = TestApp::spawn().await;
    let acme = app.bootstrap("acme").await;
    let beta = app.bootstrap("beta").await;
    app.eva_catalog("acme").await;
    let base = format!("/org/{}", acme.uuid);
    app.eva(
        Method::POST,
        &format!("{base}/configurations"),
        &acme.token,
        Some(json!({ "key": " ", "value": "x" })),
    )
    .await
    .expect(422);
    app.eva(
        Method::POST,
        &format!("{base}/configurations"),
        &acme.token,
        Some(json!({ "key": "k", "value": "x", "botUUID": "nope" })),
    )
    .await
    .expect(404);
    app.eva(
        Method::GET,
        &format!("{base}/configurations/nope"),
        &acme.token,
        None,
    )
    .await
    .expect(404);
    app.eva(
        Method::GET,
        &format!("{base}/configurations/userHasConf"),
        &acme.token,
        None,
    )
    .await
    .expect(400);
    app.eva(
        Method::POST,
        &format!("{base}/configurations"),
        &acme.token,
        Some(json!({ "key": "k", "value": "1" })),
    )
    .await
    .expect(200);
    app.eva(
        Method::POST,
        &format!("{base}/configurations"),
        &acme.token,
        Some(json!({ "key": "k", "value": "2" })),
    )
    .await
    .expect(200);
    assert_eq!(
        app.eva(
            Method::GET,
            &format!("{base}/configurations"),
            &acme.token,
            None
        )
        .await
        .expect(200),
        json!([{ "key": "k", "value": "2", "botUUID": null }])
    );
    // Another organization's token on this path: 403, and its own configurations are separate.
    app.eva(
        Method::GET,
        &format!("{base}/configurations"),
        &beta.token,
        None,
    )
    .await
    .expect(403);
    assert_eq!(
        app.eva(
            Method::GET,
            &format!("/org/{}/configurations", beta.uuid),
            &beta.token,
            None
        )
        .await
        .expect(200),
        json!([])
    );
}

#[tokio::test]
async fn another_organization_reaches_nothing() {
    let app = TestApp::spawn().await;
    let acme = app.bootstrap("acme").await;
    let beta = app.bootstrap("beta").await;
    app.eva_catalog("acme").await;
    let base = format!("/org/{}", acme.uuid);
    let target = app
        .eva(
            Method::POST,
            &format!("{base}/users"),
            &acme.token,
            Some(editor("t@x.example", "Tar Get")),
        )
        .await
        .expect(200)["uuid"]
        .as_str()
        .unwrap()
        .to_owned();
    let before = app
        .eva(
            Method::GET,
            &format!("{base}/users?linesPerPage=100"),
            &acme.token,
            None,
        )
        .await
        .expect(200);
    let routes: Vec<(Method, String, Option<Value>)> = vec![
        (Method::GET, format!("{base}/users"), None),
        (
            Method::POST,
            format!("{base}/users"),
            Some(editor("e@x.example", "E Vil")),
        ),
        (
            Method::GET,
            format!("{base}/users/quicksearch?name=ta"),
            None,
        ),
        (Method::GET, format!("{base}/users/identity-provider"), None),
        (
            Method::PUT,
            format!("{base}/users/activate"),
            Some(editor("t@x.example", "T")),
        ),
        (Method::GET, format!("{base}/users/{target}"), None),
        (
            Method::PUT,
            format!("{base}/users/{target}"),
            Some(json!({ "name": "Owned", "email": "t@x.example", "admin": true })),
        ),
        (Method::DELETE, format!("{base}/users/{target}"), None),
        (
            Method::POST,
            format!("{base}/configurations"),
            Some(json!({ "key": "k", "value": "v" })),
        ),
        (Method::GET, format!("{base}/configurations"), None),
        (
            Method::GET,
            format!("{base}/configurations/userHasConf?key=k"),
            None,
        ),
        (Method::GET, format!("{base}/configurations/{BOT}"), None),
        (
            Method::GET,
            format!("{base}/configurations/{BOT}/userHasConf?key=k"),
            None,
        ),
        (
            Method::DELETE,
            format!("{base}/users/bulk-delete"),
            Some(json!(["t@x.example"])),
        ),
    ];
    for (m, path, body) in &routes {
        for prefix in ["", "/eva-user"] {
            let p = format!("{prefix}{path}");
            let r = app.eva(m.clone(), &p, &beta.token, body.clone()).await;
            assert!(
                matches!(r.status.as_u16(), 403 | 404),
                "{m} {p}: {} {}",
                r.status,
                r.body
            );
        }
    }
    for path in ["bulk-create", "bulk-permissions"] {
        let r = app
            .upload_csv(
                Method::POST,
                &format!("{base}/users/{path}"),
                &beta.token,
                "t@x.example;T;;ADMIN;;;;\n",
            )
            .await;
        assert_eq!(r.status, 403, "{path}");
    }
    assert_eq!(
        app.eva(
            Method::GET,
            &format!("{base}/users?linesPerPage=100"),
            &acme.token,
            None
        )
        .await
        .expect(200)["content"],
        before["content"]
    );
}

#[tokio::test]
async fn nobody_widens_their_own_access_and_deactivation_ends_sessions() {
    let app = TestApp::spawn().await;
    let acme = app.bootstrap("acme").await;
    app.eva_catalog("acme").await;
    let base = format!("/org/{}", acme.uuid);
    let mut viewer = editor("v@x.example", "Vera Viewer");
    viewer["environments"] =
        json!([{ "role": "VIEWER", "environment": { "uuid": PROD }, "bots": [{ "uuid": BOT }] }]);
    let id = app
        .eva(
            Method::POST,
            &format!("{base}/users"),
            &acme.token,
            Some(viewer.clone()),
        )
        .await
        .expect(200)["uuid"]
        .as_str()
        .unwrap()
        .to_owned();
    let t = app
        .password_token(&acme, "v@x.example", "Secr3t!x")
        .await
        .expect(200);
    let (token, refresh) = (
        t["access_token"].as_str().unwrap().to_owned(),
        t["refresh_token"].as_str().unwrap().to_owned(),
    );
    // Renaming oneself keeps the same access: allowed. Adding a bot or an environment: refused.
    let mut same = viewer.clone();
    same["name"] = json!("Vera V. Viewer");
    same.as_object_mut().unwrap().remove("password");
    same.as_object_mut().unwrap().remove("passwordConfirmation");
    app.eva(
        Method::PUT,
        &format!("{base}/users/{id}"),
        &token,
        Some(same.clone()),
    )
    .await
    .expect(200);
    let mut wider = same.clone();
    wider["environments"] = json!([{ "role": "VIEWER", "environment": { "uuid": PROD }, "bots": [{ "uuid": BOT }, { "uuid": BOT2 }] }]);
    app.eva(
        Method::PUT,
        &format!("{base}/users/{id}"),
        &token,
        Some(wider),
    )
    .await
    .expect(403);
    // Another organization's token learns nothing about ids, and plain members cannot probe emails.
    let beta = app.bootstrap("beta").await;
    app.eva(
        Method::PUT,
        &format!("{base}/users/nobody"),
        &beta.token,
        Some(same.clone()),
    )
    .await
    .expect(403);
    app.eva(
        Method::PUT,
        &format!("{base}/users/activate"),
        &token,
        Some(same.clone()),
    )
    .await
    .expect(403);

    // Deleted, then activated: the old token and refresh token do not come back to life.
    app.eva(
        Method::DELETE,
        &format!("{base}/users/{id}"),
        &acme.token,
        None,
    )
    .await
    .expect(204);
    app.eva(
        Method::PUT,
        &format!("{base}/users/activate"),
        &acme.token,
        Some(same),
    )
    .await
    .expect(200);
    app.eva(
        Method::GET,
        &format!("{base}/users/identity-provider"),
        &token,
        None,
    )
    .await
    .expect(401);
    let r = app
        .post_raw(
            "/realms/acme/protocol/openid-connect/token",
            None,
            format!("grant_type=refresh_token&refresh_token={refresh}"),
        )
        .await;
    assert_eq!(r.status, 401);
    // Tokens carry their issue instant as a session stamp (`iat_us`), ordered after the cut-off:
    // a new sign-in works at once, with no wait for a second to pass.
    let t = app
        .password_token(&acme, "v@x.example", "Secr3t!x")
        .await
        .expect(200);
    let fresh = t["access_token"].as_str().unwrap().to_owned();
    app.eva(
        Method::GET,
        &format!("{base}/users/identity-provider"),
        &fresh,
        None,
    )
    .await
    .expect(200);
    let notice = app
        .state
        .core
        .store
        .list_outbox(&OrgId::from("acme"))
        .await
        .unwrap();
    assert!(
        notice
            .iter()
            .any(|m| m.kind == "welcome" && m.payload["first_name"] == "Vera"),
        "the activation notice is queued"
    );
}

#[tokio::test]
async fn changing_ones_own_password_needs_the_password_and_ends_other_sessions() {
    let app = TestApp::spawn().await;
    let acme = app.bootstrap("acme").await;
    app.eva_catalog("acme").await;
    let base = format!("/org/{}", acme.uuid);
    let created = app
        .eva(
            Method::POST,
            &format!("{base}/users"),
            &acme.token,
            Some(editor("p@x.example", "Pat Word")),
        )
        .await
        .expect(200);
    let id = created["uuid"].as_str().unwrap().to_owned();
    let mut body = editor("p@x.example", "Pat Word");
    body["password"] = json!("N3w-passw0rd");
    body["passwordConfirmation"] = json!("N3w-passw0rd");
    // A session from the organization's API key is not the person: refused.
    let by_key = app.sign_in(&acme, &id).await;
    app.eva(
        Method::PUT,
        &format!("{base}/users/{id}"),
        &by_key,
        Some(body.clone()),
    )
    .await
    .expect(403);
    // Signed in with the password: accepted, and every earlier session ends.
    let t = app
        .password_token(&acme, "p@x.example", "Secr3t!x")
        .await
        .expect(200);
    let by_password = t["access_token"].as_str().unwrap().to_owned();
    app.eva(
        Method::PUT,
        &format!("{base}/users/{id}"),
        &by_password,
        Some(body),
    )
    .await
    .expect(200);
    app.eva(
        Method::GET,
        &format!("{base}/users/identity-provider"),
        &by_key,
        None,
    )
    .await
    .expect(401);
    app.eva(
        Method::GET,
        &format!("{base}/users/identity-provider"),
        &by_password,
        None,
    )
    .await
    .expect(401);
    assert_eq!(
        app.password_token(&acme, "p@x.example", "Secr3t!x")
            .await
            .status,
        401
    );
    assert_eq!(
        app.password_token(&acme, "p@x.example", "N3w-passw0rd")
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn a_refresh_token_used_twice_at_once_works_once() {
    let app = TestApp::spawn().await;
    let acme = app.bootstrap("acme").await;
    app.give_admin_password(&acme, "Adm1nPass!").await;
    let t = app
        .password_token(&acme, "admin@acme.example", "Adm1nPass!")
        .await
        .expect(200);
    let refresh = t["refresh_token"].as_str().unwrap().to_owned();
    let post = || {
        app.post_raw(
            "/realms/acme/protocol/openid-connect/token",
            None,
            format!("grant_type=refresh_token&refresh_token={refresh}"),
        )
    };
    let (a, b) = tokio::join!(post(), post());
    let mut statuses = vec![a.status.as_u16(), b.status.as_u16()];
    statuses.sort();
    assert_eq!(statuses, vec![200, 401]);
}
