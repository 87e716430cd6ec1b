//! Operating Roster: metrics, readiness, the audit log API and its retention, JSON logs and
//! graceful shutdown of the real binary.

use std::io::{BufRead, BufReader};
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{json, Value};

use crate::eva::{BOT, PROD};
use crate::helpers::{test_database_url, TestApp};

/// Runs one statement on either backend's writing pool.
macro_rules! exec {
    ($db:expr, $sql:expr $(, $arg:expr)*) => {
        match $db {
            roster_store::Db::Sqlite { write, .. } => {
                sqlx::query($sql)$(.bind($arg))*.execute(write).await.unwrap().rows_affected()
            }
            roster_store::Db::Postgres(p) => {
                sqlx::query($sql)$(.bind($arg))*.execute(p).await.unwrap().rows_affected()
            }
        }
    };
}

/// One `COUNT(*)` on either backend.
macro_rules! count {
    ($db:expr, $sql:expr $(, $arg:expr)*) => {
        match $db {
            roster_store::Db::Sqlite { read, .. } => {
                sqlx::query_scalar::<_, i64>($sql)$(.bind($arg))*.fetch_one(read).await.unwrap()
            }
            roster_store::Db::Postgres(p) => {
                sqlx::query_scalar::<_, i64>($sql)$(.bind($arg))*.fetch_one(p).await.unwrap()
            }
        }
    };
}

async fn scrape(app: &TestApp) -> String {
    let r = app
        .call(Method::GET, "/metrics", None, None, &[])
        .await
        .expect(200);
    r.as_str().expect("text").to_owned()
}

/// The values of the samples whose line starts with `prefix`.
fn samples(text: &str, prefix: &str) -> Vec<f64> {
    text.lines()
        .filter(|l| l.starts_with(prefix))
        .filter_map(|l| l.rsplit_once(' ').and_then(|(_, v)| v.parse().ok()))
        .collect()
}

#[tokio::test]
async fn metrics_count_every_surface_by_route_template_without_ids() {
    let app = TestApp::spawn().await;
    let acme = app.bootstrap("acme").await;
    let (bob, _) = app.user(&acme, "bob@acme.example", "DefaultUserRole").await;
    // A magic link queues an email; no worker delivers it in tests, so the outbox holds it.
    let link = json!({ "email": "admin@acme.example", "redirect_link": "https://app.example/" });
    app.call(Method::POST, "/v1/acme/user/signin", None, Some(link), &[])
        .await
        .expect(200);
    app.list_users(&acme, &acme.token, "limit=5").await;
    let eva = app
        .get(&format!("/org/{}/users/{bob}", acme.uuid), &acme.token)
        .await;
    assert!(eva.status.as_u16() < 500, "{}", eva.body);
    let oum = app.get(&format!("/users/{bob}"), &acme.token).await;
    assert!(oum.status.as_u16() < 500, "{}", oum.body);
    let nowhere = app
        .get(&format!("/v1/acme/nothing/{bob}"), &acme.token)
        .await;
    assert_eq!(nowhere.status, 404);

    let text = scrape(&app).await;
    for surface in ["amigo", "eva", "oum"] {
        let n: f64 = samples(
            &text,
            &format!("roster_http_requests_total{{surface=\"{surface}\""),
        )
        .iter()
        .sum();
        assert!(n >= 1.0, "no {surface} requests counted:\n{text}");
    }
    assert!(
        text.contains(r#"roster_http_requests_total{surface="eva",method="GET",route="/org/{orgUUID}/users/{userId}","#),
        "{text}"
    );
    assert!(
        text.contains(
            r#"roster_http_requests_total{surface="oum",method="GET",route="/users/{id}","#
        ),
        "{text}"
    );
    assert!(
        text.contains(
            r#"roster_http_requests_total{surface="amigo",method="GET",route="unmatched",status="404"} 1"#
        ),
        "{text}"
    );
    // A histogram for the listing route: buckets, +Inf equal to the count, a sum.
    let labels = r#"surface="amigo",method="GET",route="/v1/{organization}/user/""#;
    let count = samples(
        &text,
        &format!("roster_http_request_duration_seconds_count{{{labels}}}"),
    );
    assert_eq!(count, vec![1.0], "{text}");
    let inf = samples(
        &text,
        &format!("roster_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}}"),
    );
    assert_eq!(inf, vec![1.0]);
    let buckets = samples(
        &text,
        &format!("roster_http_request_duration_seconds_bucket{{{labels},le="),
    );
    assert_eq!(buckets.len(), 13, "12 bounds and +Inf");
    assert!(
        buckets.windows(2).all(|w| w[0] <= w[1]),
        "cumulative buckets"
    );
    assert_eq!(
        samples(
            &text,
            &format!("roster_http_request_duration_seconds_sum{{{labels}}}")
        )
        .len(),
        1
    );
    let pending = samples(&text, "roster_outbox_pending ");
    assert!(
        pending.len() == 1 && pending[0] >= 1.0,
        "the magic link waits in the outbox:\n{text}"
    );
    let pools = samples(&text, "roster_db_pool_max_connections{pool=");
    assert!(
        !pools.is_empty() && pools.iter().all(|n| *n >= 1.0),
        "{text}"
    );
    assert!(text.contains("roster_db_pool_connections{pool="), "{text}");
    assert!(text.contains(r#"roster_rate_limited_total{surface="amigo"} 0"#));
    assert!(text.contains(r#"roster_mail_delivery_failures_total{outcome="given_up"} 0"#));
    for id in [&bob, &acme.admin_id, &acme.uuid] {
        assert!(!text.contains(id.as_str()), "{id} leaked into a label");
    }
}

#[tokio::test]
async fn readiness_fails_when_migrations_are_behind_or_the_database_is_gone() {
    let app = TestApp::spawn().await;
    let ask = |path: &'static str| app.call(Method::GET, path, None, None, &[]);
    assert_eq!(ask("/readyz").await.status, 200);
    // As if this binary were newer than the schema: the last migration is not applied.
    exec!(
        &app.state.db,
        "DELETE FROM _sqlx_migrations WHERE version = (SELECT MAX(version) FROM _sqlx_migrations)"
    );
    let behind = ask("/readyz").await;
    assert_eq!(behind.status, 503, "{}", behind.body);
    assert_eq!(behind.body["database"], true);
    assert_eq!(behind.body["migrations_current"], false);
    app.state.db.close().await;
    let gone = ask("/readyz").await;
    assert_eq!(gone.status, 503, "{}", gone.body);
    assert_eq!(gone.body["database"], false);
    assert_eq!(
        ask("/healthz").await.status,
        200,
        "the process itself is still up"
    );
}

const AUDIT: &str = "/admin/v1/orgs/acme/audit-events";

fn events(body: &Value) -> Vec<Value> {
    body["events"].as_array().expect("events").clone()
}

fn field<'a>(events: &'a [Value], key: &str) -> Vec<&'a str> {
    events
        .iter()
        .map(|e| e[key].as_str().unwrap_or(""))
        .collect()
}

#[tokio::test]
async fn the_audit_log_lists_filters_and_pages_newest_first() {
    let app = TestApp::spawn().await;
    let acme = app.bootstrap("acme").await;
    let (bob, bob_token) = app.user(&acme, "bob@acme.example", "DefaultUserRole").await;
    // Bob changes his own profile; then the administrator deletes him.
    app.post(
        &format!("/v1/acme/user/{bob}"),
        &bob_token,
        json!({ "timezone": "America/Sao_Paulo" }),
    )
    .await
    .expect(204);
    app.call(
        Method::DELETE,
        &format!("/v1/acme/user/{bob}"),
        Some(&acme.token),
        None,
        &[("x-request-id", "audit-test-delete")],
    )
    .await
    .expect(204);

    let all = events(
        &app.get(&format!("{AUDIT}?limit=100"), &acme.token)
            .await
            .expect(200),
    );
    assert!(all.len() >= 6, "{all:?}");
    let times = field(&all, "created_at");
    assert!(
        times.windows(2).all(|w| w[0] >= w[1]),
        "newest first: {times:?}"
    );
    let newest = &all[0];
    assert_eq!(newest["action"], "user.delete");
    assert_eq!(newest["actor"]["user_id"], acme.admin_id.as_str());
    assert_eq!(newest["actor"]["kind"], "user");
    assert_eq!(newest["target_user_id"], bob.as_str());
    assert_eq!(newest["request_id"], "audit-test-delete");

    let by_bob = events(
        &app.get(&format!("{AUDIT}?actor={bob}"), &acme.token)
            .await
            .expect(200),
    );
    assert!(field(&by_bob, "action").contains(&"user.update"));
    assert!(by_bob.iter().all(|e| e["actor"]["user_id"] == bob.as_str()));

    let on_bob = events(
        &app.get(&format!("{AUDIT}?target_user_id={bob}"), &acme.token)
            .await
            .expect(200),
    );
    let actions = field(&on_bob, "action");
    for a in ["user.invite", "user.update", "user.delete"] {
        assert!(actions.contains(&a), "{a} in {actions:?}");
    }
    assert!(on_bob.iter().all(|e| e["target_user_id"] == bob.as_str()));

    let updates = events(
        &app.get(&format!("{AUDIT}?action=user.update"), &acme.token)
            .await
            .expect(200),
    );
    assert_eq!(updates.len(), 1);
    let at = updates[0]["created_at"].as_str().unwrap().to_owned();

    // `from` is inclusive, `to` exclusive.
    let since = events(
        &app.get(&format!("{AUDIT}?from={at}&limit=100"), &acme.token)
            .await
            .expect(200),
    );
    assert_eq!(field(&since, "action"), vec!["user.delete", "user.update"]);
    let before = events(
        &app.get(&format!("{AUDIT}?to={at}&limit=100"), &acme.token)
            .await
            .expect(200),
    );
    assert_eq!(before.len(), all.len() - 2);
    assert!(!field(&before, "action").contains(&"user.update"));
    let window = events(
        &app.get(&format!("{AUDIT}?from={at}&to={at}"), &acme.token)
            .await
            .expect(200),
    );
    assert!(window.is_empty());

    // Pages of two, followed by their cursors, give the whole log once, in the same order.
    let mut paged: Vec<Value> = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let q = match &cursor {
            Some(c) => format!("{AUDIT}?limit=2&cursor={c}"),
            None => format!("{AUDIT}?limit=2"),
        };
        let page = app.get(&q, &acme.token).await.expect(200);
        let items = events(&page);
        assert!(items.len() <= 2);
        paged.extend(items);
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(field(&paged, "id"), field(&all, "id"));
    // A cursor still filters: the page after the newest update holds no update.
    let first = app
        .get(&format!("{AUDIT}?limit=1"), &acme.token)
        .await
        .expect(200);
    let c = first["next_cursor"].as_str().unwrap();
    let rest = events(
        &app.get(
            &format!("{AUDIT}?action=user.delete&cursor={c}"),
            &acme.token,
        )
        .await
        .expect(200),
    );
    assert!(rest.is_empty(), "the only delete is on the first page");
}

#[tokio::test]
async fn the_audit_log_belongs_to_its_organization_s_administrators() {
    let app = TestApp::spawn().await;
    let acme = app.bootstrap("acme").await;
    let globex = app.bootstrap("globex").await;
    let (_, plain) = app.user(&acme, "pat@acme.example", "DefaultUserRole").await;
    let (gil, _) = app
        .user(&globex, "gil@globex.example", "DefaultUserRole")
        .await;

    let foreign = app.get(AUDIT, &globex.token).await;
    assert!(
        foreign.status == 403 || foreign.status == 404,
        "{}",
        foreign.body
    );
    assert!(foreign.body.get("events").is_none());
    let by_uuid = app
        .get(
            &format!("/admin/v1/orgs/{}/audit-events", acme.uuid),
            &globex.token,
        )
        .await;
    assert!(by_uuid.status == 403 || by_uuid.status == 404);
    let plain_user = app.get(AUDIT, &plain).await;
    assert_eq!(plain_user.status, 403, "{}", plain_user.body);
    assert!(plain_user.body["detail"]
        .as_str()
        .unwrap()
        .contains("Audit:GetAuditEvents"));
    assert_eq!(
        app.call(Method::GET, AUDIT, None, None, &[]).await.status,
        401
    );
    app.get("/admin/v1/orgs/nowhere/audit-events", &acme.token)
        .await
        .expect(404);

    // Each administrator sees their own organization's events only.
    let own = events(
        &app.get(
            "/admin/v1/orgs/globex/audit-events?limit=100",
            &globex.token,
        )
        .await
        .expect(200),
    );
    assert!(field(&own, "target_user_id").contains(&gil.as_str()));
    for e in &own {
        assert_ne!(e["actor"]["org_id"], "acme", "{e}");
        assert_ne!(e["actor"]["user_id"], acme.admin_id.as_str(), "{e}");
    }
    let crossed = events(
        &app.get(
            &format!("/admin/v1/orgs/globex/audit-events?actor={}", acme.admin_id),
            &globex.token,
        )
        .await
        .expect(200),
    );
    assert!(crossed.is_empty());
}

#[tokio::test]
async fn bad_audit_filters_get_422_naming_the_field() {
    let app = TestApp::spawn().await;
    let acme = app.bootstrap("acme").await;
    for (query, field) in [
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("limit=ten", "limit"),
        ("from=yesterday", "from"),
        ("to=2026-13-01T00:00:00Z", "to"),
        ("from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z", "to"),
        ("cursor=not-a-cursor", "cursor"),
        ("cursor=bm90OmE6Y3Vyc29y", "cursor"),
        ("actor=", "actor"),
        ("target_user_id=%20", "target_user_id"),
        ("action=a%0Ab", "action"),
    ] {
        let r = app.get(&format!("{AUDIT}?{query}"), &acme.token).await;
        assert_eq!(r.status, 422, "{query}: {}", r.body);
        let locs: Vec<Value> = r.body["detail"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["loc"].clone())
            .collect();
        assert!(
            locs.contains(&json!(["query", field])),
            "{query}: {}",
            r.body
        );
    }
}

#[tokio::test]
async fn retention_deletes_old_audit_events_in_batches() {
    let first = TestApp::spawn().await;
    first.bootstrap("acme").await;
    let url = first.database_url.clone();
    let day: i64 = 86_400_000_000;
    let now = roster_domain::types::now_micros();
    let insert = "INSERT INTO audit_events (org_id, id, action, actor_kind, details, created_at) \
        WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $1) \
        SELECT 'acme', $2 || CAST(i AS TEXT), $3, 'system', '{}', CAST($4 AS BIGINT) FROM n";
    // More than two batches past retention, and a few events inside it.
    exec!(
        &first.state.db,
        insert,
        1234_i64,
        "old-",
        "test.old",
        now - 400 * day
    );
    exec!(
        &first.state.db,
        insert,
        3_i64,
        "recent-",
        "test.recent",
        now - 100 * day
    );
    let kept_before = count!(
        &first.state.db,
        "SELECT COUNT(*) FROM audit_events WHERE action NOT LIKE 'test.%'"
    );
    assert!(kept_before > 0);
    let _dir = first.stop().await;

    let app = TestApp::spawn_with(|c| {
        c.database_url = Some(url);
        c.audit_retention_days = 365;
    })
    .await;
    let started = Instant::now();
    loop {
        let old = count!(
            &app.state.db,
            "SELECT COUNT(*) FROM audit_events WHERE action = 'test.old'"
        );
        if old == 0 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "{old} old events remain"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        count!(
            &app.state.db,
            "SELECT COUNT(*) FROM audit_events WHERE action = 'test.recent'"
        ),
        3
    );
    assert_eq!(
        count!(
            &app.state.db,
            "SELECT COUNT(*) FROM audit_events WHERE action NOT LIKE 'test.%'"
        ),
        kept_before
    );
}

/// A `roster serve` process with JSON logs; killed when dropped unless it already exited.
pub(crate) struct Served {
    child: std::process::Child,
    pub(crate) base: String,
    /// Every stderr line after the listening one.
    lines: Receiver<String>,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn serve(url: &str, data: &std::path::Path) -> Served {
    serve_with(url, data, &[]).await
}

/// The real binary serving `url`, with `env` on top of (and overriding) the settings tests rely on.
pub(crate) async fn serve_with(url: &str, data: &std::path::Path, env: &[(&str, &str)]) -> Served {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_roster"));
    for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("ROSTER_")) {
        cmd.env_remove(k);
    }
    cmd.env("ROSTER_DATA_DIR", data)
        .env("ROSTER_DATABASE_URL", url)
        .env("ROSTER_RATE_LIMITS", "off")
        .env("ROSTER_INGEST_TOKEN", "ingest-secret-for-tests")
        .envs(env.iter().copied());
    let (tx, rx) = std::sync::mpsc::channel();
    let mut served = Served {
        child: cmd
            .args(["serve", "--bind", "127.0.0.1:0", "--log-format", "json"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap(),
        base: String::new(),
        lines: rx,
    };
    let stderr = served.child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    loop {
        let line = served
            .lines
            .recv_timeout(Duration::from_secs(60))
            .expect("the server logs its address");
        let v: Value =
            serde_json::from_str(&line).unwrap_or_else(|_| panic!("not a JSON log line: {line}"));
        if v["message"] == "roster listening" {
            served.base = format!("http://{}", v["bind"].as_str().unwrap());
            return served;
        }
    }
}

/// `roster bootstrap --json` for `org` on `url`.
pub(crate) fn bootstrap(url: &str, org: &str) -> Value {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_roster"))
        .args(["bootstrap", "--org", org, "--org-name", org, "--json"])
        .args(["--admin-email", &format!("admin@{org}.example")])
        .env("ROSTER_DATABASE_URL", url)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

pub(crate) async fn sign_in(
    client: &reqwest::Client,
    base: &str,
    made: &Value,
    request_id: &str,
) -> String {
    let r = client
        .post(format!(
            "{base}/v1/{}/user/signin_with_api_key",
            made["org_id"].as_str().unwrap()
        ))
        .header("x-api-key", made["api_key"].as_str().unwrap())
        .header("x-api-key-id", made["api_key_id"].as_str().unwrap())
        .header("x-user-id", made["user_id"].as_str().unwrap())
        .header("x-request-id", request_id)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    body["id_token"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn json_logs_carry_the_request_id_on_every_line_of_a_request() {
    let tmp = tempfile::tempdir().unwrap();
    let url = test_database_url(tmp.path()).await;
    let served = serve(&url, &tmp.path().join("data")).await;
    let made = bootstrap(&url, "acme");
    let client = reqwest::Client::new();
    let rid = "log-test-7f3a9c";
    sign_in(&client, &served.base, &made, rid).await;

    // The sign-in logs from inside the core, then the access line closes the request.
    let mut ours: Vec<Value> = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !ours.iter().any(|v| v["message"] == "request") {
        let left = deadline.saturating_duration_since(Instant::now());
        let line = served
            .lines
            .recv_timeout(left)
            .expect("the request is logged");
        let v: Value =
            serde_json::from_str(&line).unwrap_or_else(|_| panic!("not a JSON log line: {line}"));
        assert!(v["timestamp"].is_string() && v["level"].is_string(), "{v}");
        if line.contains(rid) || line.contains("signed in with an API key") {
            ours.push(v);
        }
    }
    let messages: Vec<&str> = ours.iter().filter_map(|v| v["message"].as_str()).collect();
    assert!(
        messages.contains(&"signed in with an API key"),
        "{messages:?}"
    );
    for v in &ours {
        assert_eq!(v["span"]["request_id"], rid, "{v}");
    }
}

#[tokio::test]
async fn sigterm_lets_an_in_flight_bulk_import_finish_and_exits_0() {
    let tmp = tempfile::tempdir().unwrap();
    let url = test_database_url(tmp.path()).await;
    let mut served = serve(&url, &tmp.path().join("data")).await;
    let base = served.base.clone();
    let made = bootstrap(&url, "acme");
    let client = reqwest::Client::new();
    for (path, body) in [
        (
            format!("/ingest/v1/acme/environments/{PROD}"),
            json!({ "name": "Production" }),
        ),
        (
            format!("/ingest/v1/acme/bots/{BOT}"),
            json!({ "environment_uuid": PROD, "name": "Main" }),
        ),
    ] {
        let r = client
            .put(format!("{base}{path}"))
            .bearer_auth("ingest-secret-for-tests")
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 204);
    }
    let token = sign_in(&client, &base, &made, "shutdown-test").await;
    const ROWS: usize = 6000;
    let rows: String = (0..ROWS)
        .map(|i| format!("g{i:05}@grace.example;Grace {i};;EDITOR;;{PROD};Production;{BOT}\n"))
        .collect();
    let upload = crate::helpers::spawn_bulk_create(
        &client,
        &base,
        made["org_uuid"].as_str().unwrap(),
        &token,
        rows,
    );
    let db = roster_store::Db::connect(&url, &Default::default())
        .await
        .unwrap();
    let imported = || async {
        count!(
            &db,
            "SELECT COUNT(*) FROM users WHERE org_id = 'acme' AND email LIKE '%@grace.example'"
        )
    };
    let started = Instant::now();
    let mut at_signal = imported().await;
    while at_signal == 0 {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "the import never committed a batch"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
        at_signal = imported().await;
    }
    let kill = std::process::Command::new("kill")
        .args(["-TERM", &served.child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    assert!(
        (at_signal as usize) < ROWS,
        "SIGTERM arrived while the import ran ({at_signal} of {ROWS} in)"
    );
    let resp = upload
        .await
        .unwrap()
        .expect("the in-flight request is answered");
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    assert!(body.is_object(), "{body}");
    let code = served.child.wait().unwrap();
    assert!(code.success(), "graceful shutdown exits 0: {code:?}");
    assert_eq!(imported().await as usize, ROWS, "every row was imported");
    let mut saw_shutdown = false;
    while let Ok(line) = served.lines.try_recv() {
        saw_shutdown |= line.contains("shutting down");
    }
    assert!(saw_shutdown);
    db.close().await;
}
