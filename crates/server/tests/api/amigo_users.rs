//! The Amigo user endpoints: every operation's success path and documented errors.

use reqwest::Method;
use roster_domain::types::OrgId;
use roster_domain::types::UserId;
use serde_json::json;

use crate::helpers::TestApp;

#[tokio::test]
async fn walkthrough_invite_list_update_delete() {
    let app = TestApp::spawn().await;
    let acme = app.bootstrap("acme").await;
    let body = json!({
        "first_name": "Ana", "last_name": "Souza", "email": "Ana.Souza@Example.com", "role_name": "DefaultUserRole",
        "login_link": "https://app.example.com/login",
        "user_preferences": { "timezone": "America/Sao_Paulo", "preferred_language": "por" },
        "nonsensitive_user_variables": { "plan": "gold" }, "sensitive_user_variables": { "ssn": "secret-ssn-078-05-1120" },
    });
    let created = app
        .post("/v1/acme/user/", &acme.token, body)
        .await
        .expect(201);
    let id = created["user_id"].as_str().unwrap().to_owned();
    let link = created["verify_link"].as_str().unwrap();
    assert!(
        link.starts_with("https://roster.example.test/v1/acme/user/verify?token="),
        "{link}"
    );

    // The invitation email is queued in the same transaction, in the user's language.
    let outbox = app
        .state
        .core
        .store
        .list_outbox(&OrgId::from("acme"))
        .await
        .unwrap();
    assert_eq!(outbox.len(), 1);
    assert_eq!(outbox[0].kind, "invitation");
    assert_eq!(outbox[0].recipient, "Ana.Souza@Example.com");
    assert_eq!(outbox[0].language, "pt");
    // The email carries a link of its own, which the inviter is not shown.
    let mailed = outbox[0].payload["verify_link"].as_str().unwrap();
    assert!(mailed.starts_with("https://roster.example.test/v1/acme/user/verify?token="));
    assert_ne!(mailed, link);

    let page = app
        .list_users(&acme, &acme.token, "email=ana.souza@example.com")
        .await;
    let u = &page["users"][0];
    assert_eq!(u["user_id"], id.as_str());
    assert_eq!(u["preferences"]["timezone"], "America/Sao_Paulo");
    assert_eq!(u["nonsensitive_variables"], json!({ "plan": "gold" }));
    assert_eq!(u["sensitive_variables"], json!(["ssn"]));
    assert!(
        !page.to_string().contains("secret-ssn-078-05-1120"),
        "secret values are never returned"
    );

    app.post(
        &format!("/v1/acme/user/{id}"),
        &acme.token,
        json!({ "first_name": "Anna" }),
    )
    .await
    .expect(204);
    app.post(
        &format!("/v1/acme/user/{id}/user"),
        &acme.token,
        json!({ "last_name": "Lima" }),
    )
    .await
    .expect(204);
    let u = app
        .list_users(&acme, &acme.token, &format!("user_id={id}"))
        .await["users"][0]
        .clone();
    assert_eq!(
        (u["first_name"].as_str(), u["last_name"].as_str()),
        (Some("Anna"), Some("Lima"))
    );

    let r = app
        .delete(&format!("/v1/acme/user/{id}"), &acme.token)
        .await;
    assert_eq!(r.status, 204);
    assert_eq!(
        app.list_users(&acme, &acme.token, &format!("user_id={id}"))
            .await["users"],
        json!([])
    );
    app.delete(&format!("/v1/acme/user/{id}"), &acme.token)
        .await
        .expect(404);
    // Every change left an audit event with the request's id.
    let audit = app
        .state
        .core
        .store
        .list_audit(&OrgId::from("acme"), 50)
        .await
        .unwrap();
    for action in ["user.invite", "user.update", "user.delete"] {
        let e = audit
            .iter()
            .find(|e| e.action == action)
            .unwrap_or_else(|| panic!("{action} audited"));
        assert_eq!(e.actor.user_id.as_deref(), Some(acme.admin_id.as_str()));
        assert!(e.request_id.as_deref().is_some_and(|r| !r.is_empty()));
    }
}

#[tokio::test]
async fn invite_errors() {
    let app = TestApp::spawn().await;
    let acme = app.bootstrap("acme").await;
    let ok = json!({ "first_name": "A", "last_name": "B", "email": "a@x.example", "role_name": "DefaultUserRole" });
    // 422 names every bad field, in FastAPI's shape.
    let bad = json!({ "first_name": " ", "last_name": "B", "email": "not-an-email", "role_name": "DefaultUserRole",
                      "user_preferences": { "timezone": "Mars/Base" }, "login_link": "ftp://x" });
    let body = app
        .post("/v1/acme/user/", &acme.token, bad)
        .await
        .expect(422);
    let locs: Vec<String> = body["detail"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["loc"].to_string())
        .collect();
    for want in [
        r#"["body","first_name"]"#,
        r#"["body","email"]"#,
        r#"["body","user_preferences","timezone"]"#,
        r#"["body","login_link"]"#,
    ] {
        assert!(
            locs.iter().any(|l| l == want),
            "{want} missing from {locs:?}"
        );
    }
    let missing = app
        .post("/v1/acme/user/", &acme.token, json!({ "first_name": "A" }))
        .await
        .expect(422);
    assert_eq!(missing["detail"][0]["type"], "missing");
    let extra = app.post("/v1/acme/user/", &acme.token, json!({ "first_name": "A", "last_name": "B", "email": "a@x.example", "role_name": "DefaultUserRole", "org_id": "evil" })).await.expect(422);
    assert_eq!(extra["detail"][0]["loc"], json!(["body", "org_id"]));
    app.call_with(Method::POST, "/v1/acme/user/", |r| {
        r.bearer_auth(&acme.token).body("{oops")
    })
    .await
    .expect(422);
    // 404 for an unknown role or organization.
    let mut r = ok.clone();
    r["role_name"] = json!("NoSuchRole");
    app.post("/v1/acme/user/", &acme.token, r).await.expect(404);
    app.post("/v1/nowhere/user/", &acme.token, ok.clone())
        .await
        .expect(404);
    // 401 without or with a bad token.
    let anon = app
        .call(Method::POST, "/v1/acme/user/", None, Some(ok.clone()), &[])
        .await;
    assert_eq!(anon.status, 401);
    assert_eq!(anon.headers["www-authenticate"], "Bearer");
    app.post("/v1/acme/user/", "garbage", ok.clone())
        .await
        .expect(401);
    // 409 on an email already in the organization, whatever its case.
    app.post("/v1/acme/user/", &acme.token, ok.clone())
        .await
        .expect(201);
    let mut dup = ok.clone();
    dup["email"] = json!("A@X.EXAMPLE");
    app.post("/v1/acme/user/invite", &acme.token, dup)
        .await
        .expect(409);
    // 403: a plain user may not invite, and nobody invites into a role they do not outrank.
    let (_, user_token) = app.user(&acme, "plain@x.example", "DefaultUserRole").await;
    let mut other = ok.clone();
    other["email"] = json!("c@x.example");
    app.post("/v1/acme/user/", &user_token, other.clone())
        .await
        .expect(403);
    other["role_name"] = json!("DefaultAdministratorRole");
    app.post("/v1/acme/user/", &acme.token, other)
        .await
        .expect(403);
    assert_eq!(
        app.count_users("acme").await,
        3,
        "no partial write from any refused invite"
    );
}

#[tokio::test]
async fn twenty_concurrent_invites_of_one_email_make_one_user() {
    let app = TestApp::spawn().await;
    let acme = app.bootstrap("acme").await;
    let calls = (0..20).map(|i| {
        let body = json!({ "first_name": format!("F{i}"), "last_name": "L", "email": "same@x.example", "role_name": "DefaultUserRole" });
        app.post("/v1/acme/user/", &acme.token, body)
    });
    let results = futures::future::join_all(calls).await;
    let created = results.iter().filter(|r| r.status == 201).count();
    let conflicts = results.iter().filter(|r| r.status == 409).count();
    assert_eq!(
        (created, conflicts),
        (1, 19),
        "{:?}",
        results.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    assert_eq!(
        app.list_users(&acme, &acme.token, "email=same@x.example")
            .await["users"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn update_leaves_absent_fields_alone_and_null_clears() {
    let app = TestApp::spawn().await;
    let acme = app.bootstrap("acme").await;
    let id = app
        .invite(&acme, "u@x.example", "Una", "Ver", "DefaultUserRole")
        .await;
    let path = format!("/v1/acme/user/{id}");
    let read = || async {
        app.list_users(&acme, &acme.token, &format!("user_id={id}"))
            .await["users"][0]
            .clone()
    };
    app.post(&path, &acme.token, json!({ "timezone": "Asia/Tokyo", "preferred_language": "jpn", "audio_keyterms": ["roster api"] })).await.expect(204);
    // {} and absence both leave the value; null on a plain field is "not modified" too.
    app.post(
        &path,
        &acme.token,
        json!({ "timezone": {}, "first_name": null, "enable_response_recommendation": true }),
    )
    .await
    .expect(204);
    let u = read().await;
    assert_eq!(u["preferences"]["timezone"], "Asia/Tokyo");
    assert_eq!(u["preferences"]["preferred_language"], "jpn");
    assert_eq!(u["first_name"], "Una");
    assert_eq!(u["preferences"]["enable_response_recommendation"], true);
    assert_eq!(u["preferences"]["audio_keyterms"], json!(["roster api"]));
    // null clears the language and time zone.
    app.post(
        &path,
        &acme.token,
        json!({ "timezone": null, "preferred_language": null }),
    )
    .await
    .expect(204);
    let u = read().await;
    assert_eq!(u["preferences"]["timezone"], json!(null));
    assert_eq!(u["preferences"]["preferred_language"], json!(null));
    // Bad values: ISO 639-3 only, IANA only, keyterm pattern, the tri-state's type.
    for (body, field) in [
        (json!({ "preferred_language": "en" }), "preferred_language"),
        (json!({ "preferred_language": "zzz" }), "preferred_language"),
        (json!({ "timezone": "Europe/Nowhere" }), "timezone"),
        (json!({ "timezone": 5 }), "timezone"),
        (json!({ "audio_keyterms": ["UPPER"] }), "audio_keyterms"),
        (json!({ "first_name": "" }), "first_name"),
    ] {
        let e = app.post(&path, &acme.token, body.clone()).await.expect(422);
        assert_eq!(e["detail"][0]["loc"][1], field, "{body}: {e}");
    }
    app.post(
        "/v1/acme/user/nobody",
        &acme.token,
        json!({ "first_name": "X" }),
    )
    .await
    .expect(404);
    // A user updates their own profile; not someone else's.
    let (_, own) = app.user(&acme, "self@x.example", "DefaultUserRole").await;
    app.post(&path, &own, json!({ "first_name": "Hacker" }))
        .await
        .expect(403);
    app.post(
        &format!("/v1/acme/user/{}", acme.admin_id),
        &own,
        json!({ "first_name": "Hacker" }),
    )
    .await
    .expect(403);
    assert_eq!(read().await["first_name"], "Una");
}

#[tokio::test]
async fn delete_hard_soft_and_last_admin() {
    let app = TestApp::spawn().await;
    let acme = app.bootstrap("acme").await;
    let talker = app
        .invite(&acme, "talker@x.example", "T", "K", "DefaultUserRole")
        .await;
    app.set_stats("acme", &talker, 3, 40, Some("2026-01-02T03:04:05Z"))
        .await;
    let soft = app
        .delete(&format!("/v1/acme/user/{talker}"), &acme.token)
        .await
        .expect(200);
    assert!(!soft["not_deletable_reasons"].as_array().unwrap().is_empty());
    assert_eq!(
        app.list_users(&acme, &acme.token, &format!("user_id={talker}"))
            .await["users"],
        json!([])
    );
    // The email is free again after a soft delete.
    app.invite(&acme, "talker@x.example", "T", "K", "DefaultUserRole")
        .await;
    // The last administrator cannot delete themself.
    let e = app
        .delete(&format!("/v1/acme/user/{}", acme.admin_id), &acme.token)
        .await
        .expect(409);
    assert!(e["detail"].as_str().unwrap().contains("last administrator"));
    // A plain user cannot delete anyone but holds no delete permission on themself either.
    let (me, my_token) = app.user(&acme, "me@x.example", "DefaultUserRole").await;
    app.delete(&format!("/v1/acme/user/{me}"), &my_token)
        .await
        .expect(403);
}

#[tokio::test]
async fn deleted_or_deactivated_users_tokens_stop_at_once() {
    let app = TestApp::spawn().await;
    let acme = app.bootstrap("acme").await;
    let (id, token) = app.user(&acme, "gone@x.example", "DefaultUserRole").await;
    app.get("/v1/acme/role/", &token).await.expect(200);
    app.delete(&format!("/v1/acme/user/{id}"), &acme.token)
        .await
        .expect(204);
    app.get("/v1/acme/role/", &token).await.expect(401);
    // Deactivation (through the core, as the eva and org-user-management surfaces will do it).
    let (id2, token2) = app.user(&acme, "paused@x.example", "DefaultUserRole").await;
    let mut u = app
        .state
        .core
        .store
        .get_user(&OrgId::from("acme"), &UserId::from(&id2))
        .await
        .unwrap()
        .unwrap();
    let before = u.updated_at;
    u.status = roster_domain::model::UserStatus::Inactive;
    u.updated_at += 1;
    app.state
        .core
        .store
        .update_user(
            &u,
            before,
            Some(roster_domain::types::session_stamp()),
            Default::default(),
        )
        .await
        .unwrap();
    app.get("/v1/acme/role/", &token2).await.expect(401);
    app.sign_in_resp(&acme, &id2).await.expect(401);
}

#[tokio::test]
async fn variables_upsert_delete_and_limits() {
    let app = TestApp::spawn().await;
    let acme = app.bootstrap("acme").await;
    let id = app
        .invite(&acme, "v@x.example", "V", "W", "DefaultUserRole")
        .await;
    let path = format!("/v1/acme/user/{id}/variable");
    let body = json!({ "upserts": [ { "name": "plan", "value": "gold", "is_secret": false }, { "name": "api_token", "value": "s3cr3t", "is_secret": true } ] });
    app.post(&path, &acme.token, body).await.expect(204);
    let u = app
        .list_users(&acme, &acme.token, &format!("user_id={id}"))
        .await["users"][0]
        .clone();
    assert_eq!(u["nonsensitive_variables"], json!({ "plan": "gold" }));
    assert_eq!(u["sensitive_variables"], json!(["api_token"]));
    // Deleting a variable that does not exist: 400, nothing changed.
    app.post(&path, &acme.token, json!({ "deletes": [ { "name": "nope" } ], "upserts": [ { "name": "other", "value": "1", "is_secret": false } ] })).await.expect(400);
    app.post(
        &path,
        &acme.token,
        json!({ "deletes": [ { "name": "api_token" } ] }),
    )
    .await
    .expect(204);
    let u = app
        .list_users(&acme, &acme.token, &format!("user_id={id}"))
        .await["users"][0]
        .clone();
    assert_eq!(u["sensitive_variables"], json!([]));
    assert_eq!(u["nonsensitive_variables"], json!({ "plan": "gold" }));
    // More than 20 of a kind: 400.
    let many: Vec<_> = (0..21)
        .map(|i| json!({ "name": format!("v{i}"), "value": "x", "is_secret": false }))
        .collect();
    app.post(&path, &acme.token, json!({ "upserts": many }))
        .await
        .expect(400);
    app.post(
        &path,
        &acme.token,
        json!({ "upserts": [ { "name": "Bad-Name", "value": "x", "is_secret": false } ] }),
    )
    .await
    .expect(422);
    app.post(
        &path,
        &acme.token,
        json!({ "upserts": [ { "name": "ok", "value": "", "is_secret": false } ] }),
    )
    .await
    .expect(422);
    app.post(
        "/v1/acme/user/nobody/variable",
        &acme.token,
        json!({ "deletes": [] }),
    )
    .await
    .expect(404);
}

#[tokio::test]
async fn search_finds_substrings_of_names_and_emails() {
    let app = TestApp::spawn().await;
    let acme = app.bootstrap("acme").await;
    app.invite(
        &acme,
        "jkowalski@firm.example",
        "Jan",
        "Kowalski",
        "DefaultUserRole",
    )
    .await;
    app.invite(
        &acme,
        "anna@other.example",
        "Anna",
        "Nowak",
        "DefaultUserRole",
    )
    .await;
    let (app, acme) = (&app, &acme);
    let hit = |q: &'static str| async move {
        let body = app
            .get(&format!("/v1/acme/user/search/?query={q}"), &acme.token)
            .await
            .expect(200);
        let mut names: Vec<String> = body["users"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["last_name"].as_str().unwrap().to_owned())
            .collect();
        names.sort();
        names
    };
    assert_eq!(hit("KOWAL").await, vec!["Kowalski"]);
    assert_eq!(hit("other.ex").await, vec!["Nowak"]);
    assert_eq!(
        hit("an").await,
        vec!["Kowalski", "Nowak"],
        "two-letter queries fall back to a scan within the organization"
    );
    assert_eq!(
        hit("%25").await,
        Vec::<String>::new(),
        "LIKE wildcards are matched literally"
    );
    assert_eq!(hit("zzz").await, Vec::<String>::new());
    app.get("/v1/acme/user/search/", &acme.token)
        .await
        .expect(422);
    app.get("/v1/acme/user/search/?query=%20", &acme.token)
        .await
        .expect(422);
}

#[tokio::test]
async fn user_models_and_memories_from_ingestion() {
    let app = TestApp::spawn().await;
    let acme = app.bootstrap("acme").await;
    // The person's own session (their password): only they hide things from administrators.
    let id = app
        .active_user(&acme, "m@x.example", "eng", Some("Ms-own-pw-1"))
        .await;
    let own = app
        .password_token(&acme, "m@x.example", "Ms-own-pw-1")
        .await
        .expect(200)["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let auth = [("authorization", "Bearer ingest-secret-for-tests")];
    let model = json!({ "content": "Prefers mornings", "insight_ids": ["i1"], "dimensions": [{ "description": "schedule", "tags": ["time"] }] });
    let r = app
        .call(
            Method::POST,
            &format!("/ingest/v1/acme/users/{id}/user_models"),
            None,
            Some(model.clone()),
            &auth,
        )
        .await;
    assert_eq!(r.status, 201);
    let wrong = [("authorization", "Bearer nope")];
    assert_eq!(
        app.call(
            Method::POST,
            &format!("/ingest/v1/acme/users/{id}/user_models"),
            None,
            Some(model),
            &wrong
        )
        .await
        .status,
        401
    );
    let conv = "0123456789abcdef01234567";
    let mems: Vec<_> = (0..5).map(|i| json!({ "conversation_id": conv, "references": [format!("m{i}")], "content": format!("fact {i}"), "context": "chat" })).collect();
    assert_eq!(
        app.call(
            Method::POST,
            &format!("/ingest/v1/acme/users/{id}/memories"),
            None,
            Some(json!({ "memories": mems })),
            &auth
        )
        .await
        .status,
        201
    );
    app.post(
        &format!("/v1/acme/user/{id}"),
        &acme.token,
        json!({ "additional_context": ["VIP"] }),
    )
    .await
    .expect(204);

    let got = app
        .get(&format!("/v1/acme/user/{id}/user_model"), &acme.token)
        .await
        .expect(200);
    assert_eq!(got["user_models"][0]["content"], "Prefers mornings");
    assert_eq!(got["additional_context"], json!(["VIP"]));
    app.get(&format!("/v1/acme/user/{id}/user_model"), &own)
        .await
        .expect(200);
    app.get(&format!("/v1/acme/user/{}/user_model", acme.admin_id), &own)
        .await
        .expect(403);
    app.get("/v1/acme/user/nobody/user_model", &acme.token)
        .await
        .expect(404);

    let first = app
        .get(
            &format!("/v1/acme/user/{id}/memory?limit=2&sort_by=-created_at"),
            &acme.token,
        )
        .await
        .expect(200);
    assert_eq!(first["memories"].as_array().unwrap().len(), 2);
    assert_eq!(first["memories"][0]["content"], "fact 4");
    let token = first["continuation_token"].as_i64().unwrap();
    let next = app
        .get(
            &format!(
                "/v1/acme/user/{id}/memory?limit=2&sort_by=-created_at&continuation_token={token}"
            ),
            &acme.token,
        )
        .await
        .expect(200);
    assert_eq!(next["memories"][0]["content"], "fact 2");
    app.get(&format!("/v1/acme/user/{id}/memory?id=zz"), &acme.token)
        .await
        .expect(422);
    app.get(&format!("/v1/acme/user/{id}/memory?limit=51"), &acme.token)
        .await
        .expect(422);
    // A user who hides conversations from administrators: the administrator sees none.
    app.post(
        &format!("/v1/acme/user/{id}"),
        &own,
        json!({ "conversations_visible_to_admins": false }),
    )
    .await
    .expect(204);
    assert_eq!(
        app.get(&format!("/v1/acme/user/{id}/memory"), &acme.token)
            .await
            .expect(200)["memories"],
        json!([])
    );
    assert_eq!(
        app.get(&format!("/v1/acme/user/{id}/memory"), &own)
            .await
            .expect(200)["memories"]
            .as_array()
            .unwrap()
            .len(),
        5
    );
    // Ingestion reports unknown users and bad bodies.
    assert_eq!(
        app.call(
            Method::PUT,
            "/ingest/v1/acme/users/nobody/stats",
            None,
            Some(json!({ "num_conversations": 1, "num_messages": 1, "last_message_time": null })),
            &auth
        )
        .await
        .status,
        404
    );
    assert_eq!(
        app.call(
            Method::PUT,
            &format!("/ingest/v1/acme/users/{id}/stats"),
            None,
            Some(json!({ "num_conversations": -1, "num_messages": 1, "last_message_time": null })),
            &auth
        )
        .await
        .status,
        422
    );
}

#[tokio::test]
async fn verify_link_and_magic_link_tokens_work_once() {
    let app = TestApp::spawn().await;
    let acme = app.bootstrap("acme").await;
    let created = app
        .post("/v1/acme/user/", &acme.token, json!({ "first_name": "I", "last_name": "V", "email": "inv@x.example", "role_name": "DefaultUserRole" }))
        .await
        .expect(201);
    let id = created["user_id"].as_str().unwrap();
    assert_eq!(
        app.list_users(&acme, &acme.token, "is_verified=false")
            .await["users"][0]["user_id"],
        id
    );
    let token = created["verify_link"]
        .as_str()
        .unwrap()
        .split("token=")
        .nth(1)
        .unwrap()
        .to_owned();
    // Both at once: exactly one wins.
    let tries = (0..2).map(|_| {
        app.call(
            Method::POST,
            "/v1/acme/user/verify",
            None,
            Some(json!({ "token": token })),
            &[],
        )
    });
    let results = futures::future::join_all(tries).await;
    let mut statuses: Vec<u16> = results.iter().map(|r| r.status.as_u16()).collect();
    statuses.sort();
    assert_eq!(statuses, vec![200, 401]);
    let winner = results.iter().find(|r| r.status == 200).unwrap();
    let jwt = winner.body["id_token"].as_str().unwrap();
    app.get("/v1/acme/role/", jwt).await.expect(200);
    assert_eq!(
        app.list_users(&acme, &acme.token, "is_verified=true").await["users"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|u| u["user_id"] == id)
            .count(),
        1
    );
    // A token of another organization does not work here.
    app.bootstrap("beta").await;
    assert_eq!(
        app.call(
            Method::POST,
            "/v1/beta/user/verify",
            None,
            Some(json!({ "token": token })),
            &[]
        )
        .await
        .status,
        401
    );

    // Magic link: same answer for a known and an unknown email; only the known one queues mail.
    let known = app
        .call(
            Method::POST,
            "/v1/acme/user/signin",
            None,
            Some(json!({ "email": "inv@x.example", "redirect_link": "https://app.example.com/" })),
            &[],
        )
        .await;
    let unknown = app
        .call(
            Method::POST,
            "/v1/acme/user/signin",
            None,
            Some(
                json!({ "email": "ghost@x.example", "redirect_link": "https://app.example.com/" }),
            ),
            &[],
        )
        .await;
    assert_eq!((known.status, &known.body), (unknown.status, &unknown.body));
    let mail: Vec<_> = app
        .state
        .core
        .store
        .list_outbox(&OrgId::from("acme"))
        .await
        .unwrap()
        .into_iter()
        .filter(|m| m.kind == "magic_link")
        .collect();
    assert_eq!(mail.len(), 1);
    assert_eq!(mail[0].recipient, "inv@x.example");
    let link = mail[0].payload["link"].as_str().unwrap();
    assert!(
        link.starts_with("https://roster.example.test/"),
        "links use the configured public URL: {link}"
    );
    let magic = link.split("token=").nth(1).unwrap();
    app.call(
        Method::POST,
        "/v1/acme/user/verify",
        None,
        Some(json!({ "token": magic })),
        &[],
    )
    .await
    .expect(200);
    app.call(
        Method::POST,
        "/v1/acme/user/verify",
        None,
        Some(json!({ "token": magic })),
        &[],
    )
    .await
    .expect(401);
    app.call(
        Method::POST,
        "/v1/acme/user/signin",
        None,
        Some(json!({ "email": "bad", "redirect_link": "https://a.example/" })),
        &[],
    )
    .await
    .expect(422);
}

#[tokio::test]
async fn list_filters() {
    let app = TestApp::spawn().await;
    let acme = app.bootstrap("acme").await;
    let a = app
        .invite(&acme, "a@x.example", "A", "A", "DefaultUserRole")
        .await;
    let b = app
        .invite(&acme, "b@x.example", "B", "B", "DefaultUserRole")
        .await;
    let ids = |v: serde_json::Value| -> Vec<String> {
        v["users"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["user_id"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        ids(app
            .list_users(&acme, &acme.token, &format!("user_id={a}&user_id={b}"))
            .await)
        .len(),
        2
    );
    assert_eq!(
        ids(app
            .list_users(&acme, &acme.token, "email=A@x.example&email=b@x.example")
            .await)
        .len(),
        2
    );
    assert_eq!(
        ids(app.list_users(&acme, &acme.token, "is_verified=true").await),
        vec![acme.admin_id.clone()]
    );
    let zero = app.list_users(&acme, &acme.token, "limit=0").await;
    assert_eq!(
        (
            zero["users"].as_array().unwrap().len(),
            zero["has_more"].as_bool()
        ),
        (0, Some(true))
    );
    for bad in [
        "limit=101",
        "limit=-1",
        "limit=x",
        "continuation_token=abc",
        "is_verified=maybe",
        "sort_by=password",
        "sort_by=+email&sort_by=-email",
        "email=nope",
        "continuation_token=-5",
    ] {
        app.get(&format!("/v1/acme/user/?{bad}"), &acme.token)
            .await
            .expect(422);
    }
    // A plain user sees only themself.
    let (me, mine) = app.user(&acme, "c@x.example", "DefaultUserRole").await;
    assert_eq!(ids(app.list_users(&acme, &mine, "").await), vec![me]);
}

#[tokio::test]
async fn repeated_filters_are_bounded() {
    let app = TestApp::spawn().await;
    let acme = app.bootstrap("acme").await;
    let many = |key: &str, n: usize| {
        (0..n)
            .map(|i| format!("{key}=v{i}"))
            .collect::<Vec<_>>()
            .join("&")
    };
    app.get(
        &format!("/v1/acme/user/?{}", many("user_id", 100)),
        &acme.token,
    )
    .await
    .expect(200);
    let e = app
        .get(
            &format!("/v1/acme/user/?{}", many("user_id", 101)),
            &acme.token,
        )
        .await
        .expect(422);
    assert_eq!(e["detail"][0]["loc"], json!(["query", "user_id"]));
    app.get(
        &format!("/v1/acme/user/search/?query=x&{}", many("user_id", 200)),
        &acme.token,
    )
    .await
    .expect(422);
    app.get(
        &format!("/v1/acme/role/?{}", many("name", 101)),
        &acme.token,
    )
    .await
    .expect(422);
    app.get(
        &format!(
            "/v1/acme/role/temporary_permission_grants/?{}",
            many("creator", 101)
        ),
        &acme.token,
    )
    .await
    .expect(422);
}

/// The vendor's search has no paging: an answer cut at the configured limit says so in
/// `X-Result-Truncated`, and one that holds every match says it is whole.
#[tokio::test]
async fn search_says_when_it_stopped_at_its_limit() {
    let app = TestApp::spawn_with(|c| c.search_limit = 3).await;
    let acme = app.bootstrap("acme").await;
    for (i, last) in ["Zedd", "Zedda", "Zeddo", "Zeddi"].iter().enumerate() {
        app.invite(
            &acme,
            &format!("z{i}@zed.example"),
            "Ana",
            last,
            "DefaultUserRole",
        )
        .await;
    }
    let search = |q: &'static str| {
        let app = &app;
        let token = acme.token.clone();
        async move {
            let r = app
                .get(&format!("/v1/acme/user/search/?query={q}"), &token)
                .await;
            let header = |name: &str| {
                r.headers
                    .get(name)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned)
            };
            let (truncated, limit) = (header("x-result-truncated"), header("x-result-limit"));
            let users = r.expect(200)["users"].as_array().unwrap().len();
            (users, truncated, limit)
        }
    };
    let three = Some("3".to_owned());
    assert_eq!(
        search("zedd").await,
        (3, Some("true".into()), three.clone()),
        "four match, three fit"
    );
    assert_eq!(
        search("zedda").await,
        (1, Some("false".into()), three.clone())
    );
    // Exactly the limit is a whole answer.
    let listed = app
        .list_users(&acme, &acme.token, "email=z3%40zed.example")
        .await;
    let id = listed["users"][0]["user_id"].as_str().unwrap();
    app.delete(&format!("/v1/acme/user/{id}"), &acme.token)
        .await
        .expect(204);
    assert_eq!(search("zedd").await, (3, Some("false".into()), three));
}
