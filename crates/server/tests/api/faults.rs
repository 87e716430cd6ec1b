//! Faults of the database under a running server: PostgreSQL stopped under load, SQLite's write
//! lock held by another process. Each answers 503 with
//! `Retry-After` in the surface's own error shape, never a 500; the server recovers by itself
//! when the database does; and no change is half-written. (A server killed with SIGKILL in the
//! middle of writes: `eva_bulk::a_server_killed_mid_import_leaves_no_partial_user`.) Every eva
//! bulk operation answers 503 too, never rows that say the database is unavailable.
//!
//! The PostgreSQL test runs its own PostgreSQL cluster (initdb in a temporary directory) so that
//! stopping it disturbs no other test; it runs in the PostgreSQL pass, the SQLite tests in the
//! SQLite pass.

use roster_domain::types::OrgId;
use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::json;
use tokio::sync::Mutex;

use crate::helpers::{is_postgres, Org, Resp, TestApp};

/// A PostgreSQL cluster of this test's own, run as the `postgres` user when the test runs as root.
struct PrivatePostgres {
    dir: tempfile::TempDir,
    port: u16,
}

fn pg_bin(tool: &str) -> PathBuf {
    let versions = std::fs::read_dir("/usr/lib/postgresql").expect("PostgreSQL is installed");
    let mut found: Vec<PathBuf> = versions.flatten().map(|e| e.path()).collect();
    found.sort();
    found
        .last()
        .expect("a PostgreSQL version")
        .join("bin")
        .join(tool)
}

fn as_postgres(tool: &str, args: &[&str]) {
    let is_root = Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false);
    let bin = pg_bin(tool);
    let status = if is_root {
        Command::new("runuser")
            .args(["-u", "postgres", "--"])
            .arg(&bin)
            .args(args)
            .stdout(std::process::Stdio::null())
            .status()
    } else {
        Command::new(&bin)
            .args(args)
            .stdout(std::process::Stdio::null())
            .status()
    }
    .unwrap_or_else(|e| panic!("{tool}: {e}"));
    assert!(status.success(), "{tool} {args:?} failed");
}

impl PrivatePostgres {
    fn init() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        Command::new("chown")
            .args(["-R", "postgres"])
            .arg(dir.path())
            .status()
            .expect("chown");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let data = dir.path().join("data");
        as_postgres(
            "initdb",
            &[
                "-D",
                data.to_str().unwrap(),
                "-A",
                "trust",
                "-U",
                "postgres",
                "--no-sync",
            ],
        );
        let pg = Self { dir, port };
        pg.start();
        pg
    }

    fn data(&self) -> String {
        self.dir.path().join("data").display().to_string()
    }

    fn start(&self) {
        let opts = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
            self.port,
            self.dir.path().display()
        );
        let log = self.dir.path().join("log").display().to_string();
        as_postgres(
            "pg_ctl",
            &["-D", &self.data(), "-o", &opts, "-l", &log, "-w", "start"],
        );
    }

    /// Stops at once, as a crash would: no checkpoint, clients cut off.
    fn stop(&self) {
        as_postgres(
            "pg_ctl",
            &["-D", &self.data(), "-m", "immediate", "-w", "stop"],
        );
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        let _ = Command::new("runuser")
            .args(["-u", "postgres", "--"])
            .arg(pg_bin("pg_ctl"))
            .args(["-D", &self.data(), "-m", "immediate", "stop"])
            .status();
    }
}

/// Asserts a 503 in the shape of the surface `path` belongs to.
fn assert_unavailable(r: &Resp, path: &str) {
    assert_eq!(r.status, 503, "{path}: {}", r.body);
    assert!(r.headers.contains_key("retry-after"), "{path}: Retry-After");
    // Said as what it is: not maintenance, not the server's fault.
    let said = "The service is temporarily unavailable; try again shortly";
    if path.starts_with("/eva-user/") {
        assert_eq!(r.body["errorType"], "API_ERROR", "{path}: {}", r.body);
        assert_eq!(r.body["message"], said, "{path}: {}", r.body);
    } else {
        assert_eq!(r.body["detail"], format!("{said}."), "{path}: {}", r.body);
    }
}

/// Invites `n` users from `clients` concurrent clients; records each outcome by email.
async fn invite_load(
    app: Arc<TestApp>,
    org: Org,
    clients: usize,
    prefix: &'static str,
    stop: Arc<std::sync::atomic::AtomicBool>,
) -> Vec<(String, u16)> {
    let outcomes = Arc::new(Mutex::new(Vec::new()));
    let mut tasks = Vec::new();
    for c in 0..clients {
        let (app, org, outcomes, stop) = (app.clone(), org.clone(), outcomes.clone(), stop.clone());
        tasks.push(tokio::spawn(async move {
            let mut i = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let email = format!("{prefix}{c}-{i}@load.example");
                let body = json!({ "first_name": "Load", "last_name": format!("{c} {i}"), "email": email, "role_name": "DefaultUserRole" });
                let r = app.post(&format!("/v1/{}/user/", org.id), &org.token, body).await;
                if r.status == 503 {
                    assert_unavailable(&r, "/v1/");
                }
                outcomes.lock().await.push((email, r.status.as_u16()));
                i += 1;
            }
        }));
    }
    for t in tasks {
        t.await.expect("load task");
    }
    Arc::try_unwrap(outcomes).unwrap().into_inner()
}

#[tokio::test]
async fn postgres_stopped_under_load_answers_503_then_recovers_with_no_partial_write() {
    if !is_postgres() {
        return; // the SQLite pass has its own faults below
    }
    let pg = Arc::new(
        tokio::task::spawn_blocking(PrivatePostgres::init)
            .await
            .unwrap(),
    );
    let url = pg.url();
    let app = Arc::new(
        TestApp::spawn_with(|c| {
            c.database_url = Some(url);
            c.db_timeout_ms = 1000;
            // Every request must reach the database: no principal served from memory.
            c.cache_ttl_ms = 0;
        })
        .await,
    );
    let acme = app.bootstrap("acme").await;

    // Viewers for a bulk-permissions upload that will be in flight when PostgreSQL stops.
    viewer(&app, &acme).await;
    let mut seed = CSV_HEAD.to_owned();
    let mut grants = CSV_HEAD.to_owned();
    for i in 0..400 {
        let (prod, bot, bot2) = (crate::eva::PROD, crate::eva::BOT, crate::eva::BOT2);
        seed.push_str(&format!(
            "bv{i}@x.example;B V;;VIEWER;;{prod};Production;{bot}\n"
        ));
        grants.push_str(&format!(
            "bv{i}@x.example;;;VIEWER;;{prod};Production;{bot2}\n"
        ));
    }
    let seeded = bulk(
        &app,
        &acme,
        Method::POST,
        "bulk-create",
        BulkBody::Csv(seed),
    )
    .await;
    assert_eq!(seeded.status, 200, "{}", seeded.body);

    // Load, then PostgreSQL stops in the middle of it.
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let load = tokio::spawn(invite_load(app.clone(), acme.clone(), 6, "a", stop.clone()));
    let in_flight = tokio::spawn({
        let (app, acme) = (app.clone(), acme.clone());
        async move {
            bulk(
                &app,
                &acme,
                Method::POST,
                "bulk-permissions",
                BulkBody::Csv(grants),
            )
            .await
        }
    });
    tokio::time::sleep(Duration::from_millis(700)).await;
    tokio::task::spawn_blocking({
        let pg = pg.clone();
        move || pg.stop()
    })
    .await
    .unwrap();

    // A bulk-permissions upload in flight when PostgreSQL stopped answers 503 too, or (when it
    // finished first) only row errors of its own: never "database unavailable" in a row.
    let in_flight = in_flight.await.unwrap();
    if in_flight.status == 503 {
        assert_unavailable(&in_flight, "/eva-user/ bulk-permissions");
    } else {
        let rows = [&in_flight.body["errors"], &in_flight.body["details"]];
        assert!(
            rows.iter().all(|r| !r.to_string().contains("unavailable")),
            "an outage reported as row errors: {}",
            in_flight.body
        );
    }
    // While it is down every bulk operation answers 503 rather than row errors.
    bulk_ops_answer_503(&app, &acme).await;

    // While it is down every surface answers 503 in its own shape, and health stays up.
    let paths = [
        "/v1/acme/user/".to_owned(),
        format!("/eva-user/org/{}/users?page=0&linesPerPage=5", acme.uuid),
        "/users".to_owned(),
    ];
    for path in &paths {
        let r = app.get(path, &acme.token).await;
        assert_unavailable(&r, path);
    }
    app.call(Method::GET, "/healthz", None, None, &[])
        .await
        .expect(200);
    assert_eq!(
        app.call(Method::GET, "/readyz", None, None, &[])
            .await
            .status,
        503
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let outcomes = load.await.unwrap();

    // It comes back; the server recovers by itself.
    tokio::task::spawn_blocking({
        let pg = pg.clone();
        move || pg.start()
    })
    .await
    .unwrap();
    let started = Instant::now();
    loop {
        let r = app.get("/v1/acme/user/", &acme.token).await;
        if r.status == 200 {
            break;
        }
        assert_unavailable(&r, "/v1/");
        assert!(started.elapsed() < Duration::from_secs(30), "no recovery");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    for path in &paths {
        app.get(path, &acme.token).await.expect(200);
    }
    app.call(Method::GET, "/readyz", None, None, &[])
        .await
        .expect(200);

    // Only 201s and 503s under the fault, and some of each.
    assert!(
        outcomes.iter().all(|(_, s)| *s == 201 || *s == 503),
        "{outcomes:?}"
    );
    assert!(
        outcomes.iter().any(|(_, s)| *s == 201),
        "load ran before the stop"
    );
    assert!(outcomes.iter().any(|(_, s)| *s == 503), "the stop was felt");
    check_whole(&pg.url(), &outcomes).await;
}

/// Every invitation answered 201 is there; every user there is whole (its role, its audit
/// event), whatever its request was answered: read straight from the database.
async fn check_whole(url: &str, outcomes: &[(String, u16)]) {
    let pool = sqlx::PgPool::connect(url).await.unwrap();
    for (email, status) in outcomes.iter().filter(|(_, s)| *s == 201) {
        let n: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE org_id = 'acme' AND email = $1")
                .bind(email)
                .fetch_one(&pool)
                .await
                .unwrap();
        assert_eq!(n, 1, "{email} was answered {status} but is missing");
    }
    let half: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM users u WHERE u.org_id = 'acme' AND u.email LIKE '%@load.example' AND ( \
         NOT EXISTS (SELECT 1 FROM user_roles r WHERE r.org_id = u.org_id AND r.user_id = u.id) OR \
         NOT EXISTS (SELECT 1 FROM audit_events a WHERE a.org_id = u.org_id AND a.target_user_id = u.id \
                     AND a.action = 'user.invite'))",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(
        half, 0,
        "users without their role or audit event: half writes"
    );
    pool.close().await;
}

/// The SQLite file of a test app.
fn sqlite_file(app: &TestApp) -> PathBuf {
    PathBuf::from(app.database_url.trim_start_matches("sqlite:"))
}

async fn invite(app: &TestApp, org: &Org, email: &str) -> Resp {
    let body = json!({ "first_name": "F", "last_name": "L", "email": email, "role_name": "DefaultUserRole" });
    app.post(&format!("/v1/{}/user/", org.id), &org.token, body)
        .await
}

#[tokio::test]
async fn sqlite_locked_by_another_process_answers_503_and_recovers() {
    if is_postgres() {
        return;
    }
    let app = TestApp::spawn_with(|c| c.db_timeout_ms = 300).await;
    let acme = app.bootstrap("acme").await;
    invite(&app, &acme, "before@x.example").await.expect(201);

    // Another process takes the write lock and keeps it.
    let file = sqlite_file(&app);
    let mut other = sqlx::SqliteConnection::connect(&format!("sqlite:{}", file.display()))
        .await
        .unwrap();
    sqlx::query("BEGIN EXCLUSIVE")
        .execute(&mut other)
        .await
        .unwrap();

    let r = invite(&app, &acme, "during@x.example").await;
    assert_unavailable(&r, "/v1/");
    let body = json!({ "email": "dev@x.example", "name": "Dev Locked", "roles": ["developer"] });
    let r = app.post("/users/invite", &acme.token, body).await;
    assert_unavailable(&r, "/users/invite");
    // Readers go on: WAL lets them read beside a writer.
    let list = app.list_users(&acme, &acme.token, "").await;
    assert_eq!(list["users"].as_array().unwrap().len(), 2);

    sqlx::query("ROLLBACK").execute(&mut other).await.unwrap();
    drop(other);
    invite(&app, &acme, "after@x.example").await.expect(201);
    let emails: Vec<String> = app.list_users(&acme, &acme.token, "").await["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["email"].as_str().unwrap().to_owned())
        .collect();
    assert!(
        !emails.contains(&"during@x.example".to_owned()),
        "{emails:?}"
    );
    assert!(emails.contains(&"after@x.example".to_owned()), "{emails:?}");
}

use sqlx::Connection as _;

/// An eva bulk upload (multipart `file`, or a JSON array for bulk-delete), answered as a `Resp`.
async fn bulk(app: &TestApp, org: &Org, method: Method, op: &str, body: BulkBody) -> Resp {
    let path = format!("/eva-user/org/{}/users/{op}", org.uuid);
    match body {
        BulkBody::Csv(csv) => app.upload_csv(method, &path, &org.token, csv).await,
        BulkBody::Json(v) => {
            app.call(method, &path, Some(&org.token), Some(v), &[])
                .await
        }
    }
}

enum BulkBody {
    Csv(String),
    Json(serde_json::Value),
}

const CSV_HEAD: &str = "email;name;company;role;password;environmentUuid;environmentName;bot\n";

/// Every eva bulk operation, while the database cannot take writes: 503 with `Retry-After` in
/// eva's shape (never rows that say "database unavailable"), and nothing written.
async fn bulk_ops_answer_503(app: &TestApp, acme: &Org) {
    use crate::eva::{BOT, PROD, STAGE, STAGE_BOT};
    let grant = format!("{CSV_HEAD}vic@x.example;;;VIEWER;;{STAGE};Staging;{STAGE_BOT}\n");
    let revoke = format!("{CSV_HEAD}vic@x.example;;;VIEWER;;{PROD};Production;{BOT}\n");
    let create = format!("{CSV_HEAD}new@x.example;New User;;VIEWER;;{PROD};Production;{BOT}\n");
    for (method, op, body) in [
        (Method::POST, "bulk-permissions", BulkBody::Csv(grant)),
        (Method::DELETE, "bulk-permissions", BulkBody::Csv(revoke)),
        (
            Method::DELETE,
            "bulk-delete",
            BulkBody::Json(json!(["vic@x.example"])),
        ),
        (Method::POST, "bulk-create", BulkBody::Csv(create)),
    ] {
        let what = format!("/eva-user/ {method} {op}");
        let r = bulk(app, acme, method, op, body).await;
        assert_unavailable(&r, &what);
    }
}

/// The viewer `bulk_ops_answer_503` works on: Production with the bots Main and Second.
async fn viewer(app: &TestApp, acme: &Org) -> String {
    use crate::eva::{BOT, BOT2, PROD};
    app.eva_catalog(&acme.id).await;
    let body = json!({ "name": "Vic Viewer", "email": "vic@x.example", "password": "Vi3wer-pass",
        "passwordConfirmation": "Vi3wer-pass",
        "environments": [{ "role": "VIEWER", "environment": { "uuid": PROD }, "bots": [{ "uuid": BOT }, { "uuid": BOT2 }] }] });
    let made = app
        .eva(
            Method::POST,
            &format!("/org/{}/users", acme.uuid),
            &acme.token,
            Some(body),
        )
        .await
        .expect(200);
    made["uuid"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn sqlite_locked_bulk_operations_answer_503_not_row_errors() {
    if is_postgres() {
        return;
    }
    let app = TestApp::spawn_with(|c| c.db_timeout_ms = 300).await;
    let acme = app.bootstrap("acme").await;
    let vic = viewer(&app, &acme).await;
    let path = format!("/org/{}/users/{vic}", acme.uuid);
    let before = app
        .eva(Method::GET, &path, &acme.token, None)
        .await
        .expect(200);

    // Reads go on beside the lock (WAL); every write of the rows waits, then gives up.
    let file = sqlite_file(&app);
    let mut other = sqlx::SqliteConnection::connect(&format!("sqlite:{}", file.display()))
        .await
        .unwrap();
    sqlx::query("BEGIN EXCLUSIVE")
        .execute(&mut other)
        .await
        .unwrap();
    bulk_ops_answer_503(&app, &acme).await;
    sqlx::query("ROLLBACK").execute(&mut other).await.unwrap();
    drop(other);

    let after = app
        .eva(Method::GET, &path, &acme.token, None)
        .await
        .expect(200);
    assert_eq!(after, before, "nothing was written");
    let mut q = roster_domain::paging::UserQuery::new(10);
    q.emails_lower = vec!["new@x.example".into()];
    let made = app
        .state
        .core
        .store
        .list_users(&OrgId::from("acme"), &q)
        .await
        .unwrap();
    assert!(made.is_empty(), "bulk-create wrote nothing");
}
