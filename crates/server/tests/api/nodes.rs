//! Several nodes: two real `roster serve` processes on one database (one SQLite file in WAL
//! mode, or one PostgreSQL schema) and one Redis. Their caches live for ten minutes, so that
//! only Redis can explain a change made through one node being seen by the other at once.
//!
//! Redis is at `ROSTER_TEST_REDIS` (default `redis://127.0.0.1:6379`); each test uses its own key
//! prefix. A Redis that does not answer fails these tests: CI starts one (`.ci/run`).

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{test_database_url, TestApp};
use crate::ops::{bootstrap, serve_with, Served};

/// Long enough that no entry expires during a test.
const CACHE_TTL_MS: &str = "600000";

fn redis_url() -> String {
    std::env::var("ROSTER_TEST_REDIS").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

/// The test's own corner of Redis.
struct RedisPrefix {
    conn: redis::aio::MultiplexedConnection,
    prefix: String,
}

impl RedisPrefix {
    async fn new() -> Self {
        let url = redis_url();
        let client = redis::Client::open(url.as_str()).expect("ROSTER_TEST_REDIS parses");
        let conn = tokio::time::timeout(
            Duration::from_secs(5),
            client.get_multiplexed_async_connection(),
        )
        .await
        .unwrap_or_else(|_| panic!("Redis at {url} does not answer (CI starts one: .ci/run)"))
        .unwrap_or_else(|e| {
            panic!("Redis at {url} is not reachable ({e}); CI starts one: .ci/run")
        });
        Self {
            conn,
            prefix: format!("roster-test:{}:", uuid::Uuid::new_v4().simple()),
        }
    }

    /// Deletes the test's keys (the rate-limit ones would expire; the generation would not).
    async fn clear(self) {
        let n: i64 = redis::Script::new(
            "local n = 0 for _, k in ipairs(redis.call('KEYS', ARGV[1])) do n = n + redis.call('DEL', k) end return n",
        )
        .arg(format!("{}*", self.prefix))
        .invoke_async(&mut self.conn.clone())
        .await
        .expect("keys deleted");
        assert!(n > 0, "the nodes wrote nothing under {}", self.prefix);
    }

    async fn keys(&self) -> Vec<String> {
        redis::cmd("KEYS")
            .arg(format!("{}*", self.prefix))
            .query_async(&mut self.conn.clone())
            .await
            .expect("KEYS")
    }
}

/// One node, with a client.
struct Node {
    served: Served,
    client: reqwest::Client,
}

struct Answer {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: Value,
}

impl Node {
    async fn start(url: &str, data: &std::path::Path, env: &[(&str, &str)]) -> Self {
        // One public URL for all nodes, as behind a balancer: it is the tokens' issuer.
        let mut all = vec![
            ("ROSTER_CACHE_TTL_MS", CACHE_TTL_MS),
            ("ROSTER_PUBLIC_URL", "https://roster.nodes.test"),
        ];
        all.extend_from_slice(env);
        Self {
            served: serve_with(url, data, &all).await,
            client: reqwest::Client::new(),
        }
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> Answer {
        let mut req = self
            .client
            .request(method, format!("{}{path}", self.served.base));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("request sent");
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let text = resp.text().await.expect("body read");
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Answer {
            status,
            headers,
            body,
        }
    }

    async fn delete(&self, path: &str, token: &str) -> Answer {
        self.call(Method::DELETE, path, Some(token), None, &[])
            .await
    }

    async fn get(&self, path: &str, token: &str) -> u16 {
        self.call(Method::GET, path, Some(token), None, &[])
            .await
            .status
    }

    /// Signs in as `user` with the key `(key_id, secret)`; the status and the token if any.
    async fn sign_in(&self, key_id: &str, secret: &str, user: &str) -> (u16, String) {
        let a = self
            .call(
                Method::POST,
                "/v1/acme/user/signin_with_api_key",
                None,
                None,
                &[
                    ("x-api-key", secret),
                    ("x-api-key-id", key_id),
                    ("x-user-id", user),
                ],
            )
            .await;
        let token = a.body["id_token"].as_str().unwrap_or_default().to_owned();
        (a.status, token)
    }

    async fn metrics(&self) -> String {
        self.client
            .get(format!("{}/metrics", self.served.base))
            .send()
            .await
            .expect("scrape")
            .text()
            .await
            .expect("metrics text")
    }
}

/// The `acme` organization made by `roster bootstrap`, its administrator signed in through `node`.
struct Acme {
    key_id: String,
    key: String,
    admin_id: String,
    admin_token: String,
}

impl Acme {
    async fn new(made: &Value, node: &Node) -> Self {
        let s = |k: &str| made[k].as_str().expect(k).to_owned();
        let (status, admin_token) = node
            .sign_in(&s("api_key_id"), &s("api_key"), &s("user_id"))
            .await;
        assert_eq!(status, 200);
        Self {
            key_id: s("api_key_id"),
            key: s("api_key"),
            admin_id: s("user_id"),
            admin_token,
        }
    }

    /// Invites a user with `role` through `node`; returns the user's id.
    async fn invite(&self, node: &Node, email: &str, role: &str) -> String {
        let body =
            json!({ "first_name": "Test", "last_name": "User", "email": email, "role_name": role });
        let a = node
            .call(
                Method::POST,
                "/v1/acme/user/",
                Some(&self.admin_token),
                Some(body),
                &[],
            )
            .await;
        assert_eq!(a.status, 201, "{}", a.body);
        a.body["user_id"].as_str().expect("user_id").to_owned()
    }

    /// `user` signed in through `node` with the bootstrap key.
    async fn session(&self, node: &Node, user: &str) -> String {
        let (status, token) = node.sign_in(&self.key_id, &self.key, user).await;
        assert_eq!(status, 200);
        token
    }
}

/// Two nodes on one fresh database, with `env` (plus a ten-minute cache).
async fn two_nodes(tmp: &std::path::Path, env: &[(&str, &str)]) -> (Node, Node, Value) {
    let url = test_database_url(tmp).await;
    let made = bootstrap(&url, "acme");
    let a = Node::start(&url, &tmp.join("a"), env).await;
    let b = Node::start(&url, &tmp.join("b"), env).await;
    (a, b, made)
}

#[tokio::test]
async fn a_rate_limit_holds_across_nodes_sharing_redis() {
    let redis = RedisPrefix::new().await;
    let tmp = tempfile::tempdir().unwrap();
    let url = redis_url();
    let env = [
        ("ROSTER_REDIS_URL", url.as_str()),
        ("ROSTER_REDIS_PREFIX", redis.prefix.as_str()),
        ("ROSTER_RATE_LIMITS", "get-roles=5"),
    ];
    let (a, b, made) = two_nodes(tmp.path(), &env).await;
    let acme = Acme::new(&made, &a).await;
    let token = &acme.admin_token;
    // Five requests split over both nodes use up the budget of five per minute...
    for node in [&a, &b, &a, &b, &b] {
        assert_eq!(node.get("/v1/acme/role/", token).await, 200);
    }
    // ...so the sixth is refused on either, with the same 429 and Retry-After as in-process.
    for node in [&a, &b] {
        let r = node
            .call(Method::GET, "/v1/acme/role/", Some(token), None, &[])
            .await;
        assert_eq!(r.status, 429, "{}", r.body);
        let retry: u64 = r.headers["retry-after"].to_str().unwrap().parse().unwrap();
        assert!((1..=13).contains(&retry), "Retry-After: {retry}");
    }
    // Another caller has its own budget.
    let other = acme.invite(&a, "other@x.example", "DefaultUserRole").await;
    let other = acme.session(&b, &other).await;
    assert_eq!(b.get("/v1/acme/role/", &other).await, 200);
    // The count lives in Redis, under this deployment's prefix; no call fell back.
    assert!(
        redis
            .keys()
            .await
            .iter()
            .any(|k| k.contains("rl:get-roles:")),
        "{:?}",
        redis.keys().await
    );
    for node in [&a, &b] {
        let m = node.metrics().await;
        assert!(m.contains("roster_redis_up 1"), "{m}");
        assert!(
            m.contains("roster_redis_failures_total{op=\"rate_limit\"} 0"),
            "{m}"
        );
        let ready = node.call(Method::GET, "/readyz", None, None, &[]).await;
        assert_eq!(ready.status, 200);
        assert_eq!(ready.body["redis"], json!(true), "{}", ready.body);
    }
    redis.clear().await;
}

#[tokio::test]
async fn a_change_through_one_node_is_seen_by_the_other_at_once() {
    let redis = RedisPrefix::new().await;
    let tmp = tempfile::tempdir().unwrap();
    let url = redis_url();
    let env = [
        ("ROSTER_REDIS_URL", url.as_str()),
        ("ROSTER_REDIS_PREFIX", redis.prefix.as_str()),
    ];
    let (a, b, made) = two_nodes(tmp.path(), &env).await;
    let acme = Acme::new(&made, &a).await;
    let admin = &acme.admin_token;
    let grant = |name: &str| json!({ "permission_name": name, "conditions": {} });
    for (name, grants) in [
        (
            "Reader",
            json!([grant("User:GetUserInfo"), grant("Role:GetRole")]),
        ),
        ("Viewer", json!([grant("Role:GetRole")])),
    ] {
        let role = json!({ "role_name": name, "description": "test", "permission_grants": grants, "frontend_view": "client" });
        let r = a
            .call(Method::POST, "/v1/acme/role/", Some(admin), Some(role), &[])
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
    }

    // A user signed in on B, deleted on A: B refuses the very next request.
    let gone = acme.invite(&a, "gone@x.example", "DefaultUserRole").await;
    let gone_token = acme.session(&b, &gone).await;
    assert_eq!(b.get("/v1/acme/role/", &gone_token).await, 200);
    assert_eq!(b.get("/v1/acme/role/", &gone_token).await, 200);
    let r = a.delete(&format!("/v1/acme/user/{gone}"), admin).await;
    assert_eq!(r.status, 204, "{}", r.body);
    assert_eq!(b.get("/v1/acme/role/", &gone_token).await, 401);

    // Deactivated on A (eva's delete): the same.
    let paused = acme.invite(&a, "paused@x.example", "DefaultUserRole").await;
    let paused_token = acme.session(&b, &paused).await;
    assert_eq!(b.get("/v1/acme/role/", &paused_token).await, 200);
    let org_uuid = made["org_uuid"].as_str().unwrap();
    let r = a
        .delete(&format!("/org/{org_uuid}/users/{paused}"), admin)
        .await;
    assert_eq!(r.status, 204, "{}", r.body);
    assert_eq!(b.get("/v1/acme/role/", &paused_token).await, 401);
    assert_eq!(acme.session_status(&b, &paused).await, 401);

    // An API key deleted on A no longer signs in on B (a Reader key signs in as Viewers).
    let key = a
        .call(
            Method::POST,
            "/v1/acme/organization/api_key/",
            Some(admin),
            Some(json!({ "name": "second", "duration": "P7D", "role_name": "Reader" })),
            &[],
        )
        .await;
    assert_eq!(key.status, 201, "{}", key.body);
    let kid = key.body["api_key_id"].as_str().unwrap().to_owned();
    let secret = key.body["api_key"].as_str().unwrap().to_owned();
    let member = acme.invite(&a, "member@x.example", "Viewer").await;
    assert_eq!(b.sign_in(&kid, &secret, &member).await.0, 200);
    let r = a
        .delete(&format!("/v1/acme/organization/api_key/{kid}"), admin)
        .await;
    assert!(
        r.status == 200 || r.status == 204,
        "{} {}",
        r.status,
        r.body
    );
    assert_eq!(b.sign_in(&kid, &secret, &member).await.0, 401);

    // A role lowered on A: B's next request has the lower rights.
    let reader = acme.invite(&a, "reader@x.example", "Reader").await;
    let reader_token = acme.session(&b, &reader).await;
    let sees_admin = || async {
        let r = b
            .call(
                Method::GET,
                &format!("/v1/acme/user/?user_id={}", acme.admin_id),
                Some(&reader_token),
                None,
                &[],
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        r.body["users"].as_array().map(Vec::len) == Some(1)
    };
    assert!(sees_admin().await);
    let r = a
        .call(
            Method::POST,
            "/v1/acme/role/Reader",
            Some(admin),
            Some(json!({ "permission_grants": [grant("Role:GetRole")] })),
            &[],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        !sees_admin().await,
        "the lowered role is in force on B at once"
    );

    // Every call went through Redis.
    for node in [&a, &b] {
        let m = node.metrics().await;
        for op in ["generation_read", "generation_bump"] {
            assert!(
                m.contains(&format!("roster_redis_failures_total{{op=\"{op}\"}} 0")),
                "{m}"
            );
        }
    }
    redis.clear().await;
}

impl Acme {
    async fn session_status(&self, node: &Node, user: &str) -> u16 {
        node.sign_in(&self.key_id, &self.key, user).await.0
    }
}

#[tokio::test]
async fn without_redis_each_node_limits_and_caches_on_its_own() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b, made) = two_nodes(tmp.path(), &[("ROSTER_RATE_LIMITS", "get-roles=2")]).await;
    let acme = Acme::new(&made, &a).await;
    let admin = &acme.admin_token;
    // Each node counts its own requests: two on each pass, the third on one node does not.
    for node in [&a, &a, &b, &b] {
        assert_eq!(node.get("/v1/acme/role/", admin).await, 200);
    }
    assert_eq!(a.get("/v1/acme/role/", admin).await, 429);
    assert_eq!(b.get("/v1/acme/role/", admin).await, 429);
    // Both serve; a deletion is seen at once by the node that made it...
    let gone = acme.invite(&a, "gone@x.example", "DefaultUserRole").await;
    let token = acme.session(&b, &gone).await;
    let me = format!("/v1/acme/user/?user_id={gone}");
    assert_eq!(a.get(&me, &token).await, 200);
    assert_eq!(b.get(&me, &token).await, 200);
    let r = a.delete(&format!("/v1/acme/user/{gone}"), admin).await;
    assert_eq!(r.status, 204, "{}", r.body);
    assert_eq!(a.get(&me, &token).await, 401);
    // ...and by the other only when its cache entry expires (ten minutes here): what the tests
    // above owe to Redis, and the documented trade-off without it.
    assert_eq!(b.get(&me, &token).await, 200);
    let ready = b.call(Method::GET, "/readyz", None, None, &[]).await;
    assert_eq!(ready.status, 200);
    assert!(ready.body.get("redis").is_none(), "{}", ready.body);
    assert!(!b.metrics().await.contains("roster_redis"));
}

/// acme's first two users by email, and `more` of the query, read through `node`.
async fn list_users(node: &Node, token: &str, more: &str) -> Value {
    let path = format!("/v1/acme/user/?limit=2&sort_by=email{more}");
    let r = node.call(Method::GET, &path, Some(token), None, &[]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body
}

/// A continuation token names a row in the shared database: whichever node issued it, and
/// though a node hands the same token out again for the same page, any node reads the next page.
#[tokio::test]
async fn a_continuation_token_from_one_node_reads_its_page_on_the_other() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b, made) = two_nodes(tmp.path(), &[]).await;
    let acme = Acme::new(&made, &a).await;
    let admin = &acme.admin_token;
    for i in 0..3 {
        acme.invite(&a, &format!("n{i}@x.example"), "DefaultUserRole")
            .await;
    }
    for (issuer, reader) in [(&a, &b), (&b, &a)] {
        let token = list_users(issuer, admin, "").await["continuation_token"].as_i64();
        let again = list_users(issuer, admin, "").await["continuation_token"].as_i64();
        assert_eq!(again, token, "the same page, the token already stored");
        let token = token.expect("a token");
        let next = list_users(reader, admin, &format!("&continuation_token={token}")).await;
        assert_eq!(next["users"].as_array().map(Vec::len), Some(2), "{next}");
    }
}

/// A Redis that accepts connections and never answers: the worst case for a timeout.
async fn black_hole() -> (String, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    (format!("redis://{addr}"), task)
}

#[tokio::test]
async fn an_unanswering_redis_costs_one_timeout_then_limits_count_in_process() {
    let (url, hole) = black_hole().await;
    let app = TestApp::spawn_with(|c| {
        c.redis_url = Some(url);
        c.redis_timeout_ms = 200;
        c.rate_limits = "get-roles=3".into();
        c.cache_ttl_ms = 600_000;
    })
    .await;
    let acme = app.bootstrap("acme").await;
    let (id, token) = app.user(&acme, "u@x.example", "DefaultUserRole").await;
    // Nothing hangs: at most one timeout (and one probe a second) on the way.
    for _ in 0..3 {
        let started = Instant::now();
        app.get("/v1/acme/role/", &token).await.expect(200);
        assert!(
            started.elapsed() < Duration::from_millis(1500),
            "{:?}",
            started.elapsed()
        );
    }
    // The limit still holds, counted by this node.
    app.get("/v1/acme/role/", &token).await.expect(429);
    // The cache is bypassed (its coherence cannot be checked): another process's change is
    // seen at once, for all the ten-minute TTL.
    let db = roster_store::Db::connect(&app.database_url, &Default::default())
        .await
        .unwrap();
    crate::cache::exec(
        &db,
        "UPDATE users SET status = 'inactive' WHERE org_id = $1 AND id = $2",
        &["acme", &id],
    )
    .await;
    db.close().await;
    app.get("/v1/acme/role/", &token).await.expect(401);
    // Ready (the node answers correctly), with Redis reported down, and the fallbacks counted.
    let ready = app.call(Method::GET, "/readyz", None, None, &[]).await;
    assert_eq!(ready.status.as_u16(), 200);
    assert_eq!(ready.body["redis"], json!(false), "{}", ready.body);
    let m = app
        .call(Method::GET, "/metrics", None, None, &[])
        .await
        .expect(200);
    let m = m.as_str().expect("text");
    assert!(m.contains("roster_redis_up 0"), "{m}");
    let failures = |op: &str| -> u64 {
        m.lines()
            .find_map(|l| l.strip_prefix(&format!("roster_redis_failures_total{{op=\"{op}\"}} ")))
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    };
    assert!(failures("rate_limit") >= 4, "{m}");
    assert!(failures("generation_read") >= 1, "{m}");
    hole.abort();
}
