//! The read cache and the group-committed sign-in audit: this node's own changes are seen at
//! once however long the cache lives; another node's within the cache's TTL; a sign-in whose
//! audit row cannot be written fails.

use roster_domain::types::OrgId;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::helpers::{test_database_url, TestApp};
use crate::ops::{bootstrap, serve_with, sign_in};

/// One statement on the writing side of either backend, as another node would run it.
pub(crate) async fn exec(db: &roster_store::Db, sql: &str, args: &[&str]) {
    match db {
        roster_store::Db::Sqlite { write, .. } => {
            let mut q = sqlx::query(sql);
            for a in args {
                q = q.bind(*a);
            }
            q.execute(write).await.unwrap();
        }
        roster_store::Db::Postgres(p) => {
            let mut q = sqlx::query(sql);
            for a in args {
                q = q.bind(*a);
            }
            q.execute(p).await.unwrap();
        }
    }
}

#[tokio::test]
async fn this_nodes_changes_are_seen_at_once_however_long_the_cache_lives() {
    let app = TestApp::spawn_with(|c| c.cache_ttl_ms = 3_600_000).await;
    let acme = app.bootstrap("acme").await;
    let grant = |name: &str| json!({ "permission_name": name, "conditions": {} });
    let reader = json!({ "role_name": "Reader", "description": "reads users", "permission_grants": [grant("User:GetUserInfo"), grant("Role:GetRole")], "frontend_view": "client" });
    app.post("/v1/acme/role/", &acme.token, reader)
        .await
        .expect(201);
    let (id, token) = app.user(&acme, "cached@x.example", "Reader").await;
    // Organization, roles and principal are now in the cache.
    app.get("/v1/acme/role/", &token).await.expect(200);
    let all = app.list_users(&acme, &token, "").await;
    assert_eq!(all["users"].as_array().map(Vec::len), Some(2), "{all}");

    // The role loses the permission: the user sees only themself at once.
    app.post(
        "/v1/acme/role/Reader",
        &acme.token,
        json!({ "permission_grants": [grant("Role:GetRole")] }),
    )
    .await
    .expect(200);
    let all = app.list_users(&acme, &token, "").await;
    let ids: Vec<&str> = all["users"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|u| u["user_id"].as_str())
        .collect();
    assert!(
        !ids.contains(&acme.admin_id.as_str()),
        "role lowered at once: {all}"
    );

    // Deletion ends the session at once.
    app.delete(&format!("/v1/acme/user/{id}"), &acme.token)
        .await
        .expect(204);
    app.get("/v1/acme/role/", &token).await.expect(401);
    app.sign_in_resp(&acme, &id).await.expect(401);
}

#[tokio::test]
async fn another_nodes_change_is_seen_within_the_ttl() {
    const TTL_MS: u64 = 2_000;
    let tmp = tempfile::tempdir().unwrap();
    let url = test_database_url(tmp.path()).await;
    let made = bootstrap(&url, "acme");
    let served = serve_with(
        &url,
        &tmp.path().join("data"),
        &[("ROSTER_CACHE_TTL_MS", &TTL_MS.to_string())],
    )
    .await;
    let client = reqwest::Client::new();
    let token = sign_in(&client, &served.base, &made, "cache-test").await;
    let admin = made["user_id"].as_str().unwrap();
    let me = format!("{}/v1/acme/user/?user_id={admin}", served.base);
    let status = || async {
        client
            .get(&me)
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    };
    assert_eq!(status().await, 200);
    let cached_at = Instant::now();

    // Another node (here: a plain connection) deactivates the user.
    let db = roster_store::Db::connect(&url, &Default::default())
        .await
        .unwrap();
    exec(
        &db,
        "UPDATE users SET status = 'inactive' WHERE org_id = $1 AND id = $2",
        &["acme", admin],
    )
    .await;
    let changed_at = Instant::now();
    // Within the window, this node still answers from its cache (the documented trade-off)...
    let early = status().await;
    if cached_at.elapsed() < Duration::from_millis(TTL_MS / 2) {
        assert_eq!(early, 200, "the principal was served from the cache");
    }
    // ...and once the TTL has run out, the change is seen.
    loop {
        if status().await == 401 {
            break;
        }
        assert!(
            changed_at.elapsed() < Duration::from_millis(TTL_MS + 1_000),
            "another node's deactivation unseen after {:?}",
            changed_at.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    db.close().await;
}

#[tokio::test]
async fn concurrent_sign_ins_each_leave_their_audit_event() {
    let app = TestApp::spawn().await;
    let acme = app.bootstrap("acme").await;
    let before = app
        .state
        .core
        .store
        .list_audit(&OrgId::from("acme"), 1000)
        .await
        .unwrap();
    let count = |events: &[roster_domain::model::AuditEvent]| {
        events
            .iter()
            .filter(|e| e.action == "user.sign_in.api_key")
            .count()
    };
    let signed: Vec<_> = (0..40)
        .map(|_| app.sign_in_resp(&acme, &acme.admin_id))
        .collect();
    for r in futures::future::join_all(signed).await {
        r.expect(200);
    }
    let after = app
        .state
        .core
        .store
        .list_audit(&OrgId::from("acme"), 1000)
        .await
        .unwrap();
    assert_eq!(count(&after), count(&before) + 40);
}

#[tokio::test]
async fn a_sign_in_whose_audit_event_cannot_be_written_fails() {
    let app = TestApp::spawn().await;
    let acme = app.bootstrap("acme").await;
    let db = roster_store::Db::connect(&app.database_url, &Default::default())
        .await
        .unwrap();
    exec(&db, "DROP TABLE audit_events", &[]).await;
    let signed: Vec<_> = (0..5)
        .map(|_| app.sign_in_resp(&acme, &acme.admin_id))
        .collect();
    for r in futures::future::join_all(signed).await {
        assert!(r.status.is_server_error(), "{r:?}");
        assert!(r.body.get("id_token").is_none(), "{:?}", r.body);
    }
    db.close().await;
}
