//! Webhooks, proven against a verifier nobody here wrote: a receiver on loopback
//! (scripts/webhook_receiver.py) that checks every delivery with the PyPI `standardwebhooks`
//! library (installed by scripts/webhook-verifier, which scripts/test runs) and answers as told.

use roster_domain::types::OrgId;
use std::time::Duration;

use reqwest::Method;
use serde_json::{json, Value};
use tokio::io::AsyncBufReadExt;

use crate::events::{one_change_per_path, types_of};
use crate::helpers::{Org, TestApp};

/// The Python receiver, killed when dropped.
pub struct Receiver {
    pub base: String,
    _child: tokio::process::Child,
    client: reqwest::Client,
}

impl Receiver {
    pub async fn start() -> Self {
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
        let python = std::env::var("ROSTER_WEBHOOK_VERIFIER_PYTHON")
            .unwrap_or_else(|_| format!("{root}/target/webhooks-venv/bin/python"));
        assert!(
            std::path::Path::new(&python).exists(),
            "{python} is missing: run ./scripts/webhook-verifier (scripts/test does)"
        );
        let mut child = tokio::process::Command::new(python)
            .arg(format!("{root}/scripts/webhook_receiver.py"))
            .stdout(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("receiver starts");
        let mut lines = tokio::io::BufReader::new(child.stdout.take().expect("stdout")).lines();
        let line = lines
            .next_line()
            .await
            .expect("read")
            .expect("the receiver prints its port");
        let port = line
            .strip_prefix("PORT ")
            .expect("PORT line")
            .trim()
            .to_owned();
        Self {
            base: format!("http://127.0.0.1:{port}"),
            _child: child,
            client: reqwest::Client::new(),
        }
    }

    async fn control(&self, what: &str, body: Value) {
        let r = self
            .client
            .post(format!("{}/_control/{what}", self.base))
            .json(&body)
            .send()
            .await
            .expect("control");
        assert_eq!(r.status(), 204);
    }

    pub async fn secrets(&self, secrets: &[&str]) {
        self.control("secrets", json!({ "secrets": secrets })).await;
    }

    pub async fn answer(&self, mode: &str, times: Option<u32>, retry_after: Option<u32>) {
        self.control(
            "mode",
            json!({ "mode": mode, "times": times, "retry_after": retry_after }),
        )
        .await;
    }

    pub async fn log(&self) -> Vec<Value> {
        let r = self
            .client
            .get(format!("{}/_control/log", self.base))
            .send()
            .await
            .expect("log");
        let log = r.json::<Vec<Value>>().await.expect("log json");
        // Every delivery the suite receives is held against its event type's schema.
        for d in &log {
            crate::event_schemas::check_event(&body(d));
        }
        log
    }

    /// The log once `done` holds of it; deliveries are asynchronous, so this polls (up to a
    /// minute, a bound for a broken build, not a measure).
    pub async fn wait_for(&self, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
        for _ in 0..1200 {
            let log = self.log().await;
            if done(&log) {
                return log;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "the receiver never got what was expected: {:#?}",
            self.log().await
        );
    }
}

async fn endpoint(app: &TestApp, org: &Org, url: &str, types: Value) -> (String, String) {
    let w = app
        .post(
            &format!("/admin/v1/orgs/{}/webhooks", org.id),
            &org.token,
            json!({ "url": url, "types": types, "description": "tests" }),
        )
        .await
        .expect(201);
    (
        w["id"].as_str().unwrap().to_owned(),
        w["secret"].as_str().unwrap().to_owned(),
    )
}

/// The endpoint's delivery log once it holds `n` attempts (polled, as delivery is asynchronous).
async fn attempts_until(app: &TestApp, org: &Org, id: &str, n: usize) -> Vec<Value> {
    let mut list = Vec::new();
    for _ in 0..400 {
        let r = app
            .get(
                &format!("/admin/v1/orgs/{}/webhooks/{id}/attempts", org.id),
                &org.token,
            )
            .await
            .expect(200);
        list = r["attempts"].as_array().unwrap().clone();
        if list.len() >= n {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    list
}

fn at(e: &Value) -> f64 {
    e["received_at"].as_f64().unwrap()
}

fn body(e: &Value) -> Value {
    serde_json::from_str(e["body"].as_str().unwrap()).unwrap()
}

async fn spawn(schedule: &str) -> TestApp {
    let schedule = schedule.to_owned();
    TestApp::spawn_with(move |c| {
        c.webhook_workers = 1;
        c.webhook_schedule = schedule;
        c.webhook_timeout_ms = 1000;
    })
    .await
}

#[tokio::test]
async fn every_change_through_every_path_is_delivered_signed_and_only_to_its_organization() {
    let rx = Receiver::start().await;
    let app = spawn("200ms").await;
    let acme = app.bootstrap("acme").await;
    let beta = app.bootstrap("beta").await;
    app.eva_catalog("acme").await;
    let (_, acme_secret) = endpoint(&app, &acme, &format!("{}/acme", rx.base), json!([])).await;
    let (_, beta_secret) = endpoint(&app, &beta, &format!("{}/beta", rx.base), json!([])).await;
    rx.secrets(&[&acme_secret, &beta_secret]).await;
    let (_, after) = app.feed(&acme, "0", 100).await;
    let (expected, secret) = one_change_per_path(&app, &acme, "w").await;
    let (events, _) = app.feed(&acme, &after, 100).await;
    assert_eq!(types_of(&events), expected, "exactly one event per change");
    let ids: Vec<String> = events
        .iter()
        .map(|e| format!("msg_{}", e["id"].as_str().unwrap()))
        .collect();
    let log = rx
        .wait_for(|log| ids.iter().all(|id| log.iter().any(|d| d["id"] == *id)))
        .await;
    for d in &log {
        let b = body(d);
        let path = d["path"].as_str().unwrap();
        // Each delivery verifies with its own organization's secret, and only with it.
        let expect = if path == "/acme" { [0] } else { [1] };
        assert_eq!(d["verified_with"], json!(expect), "{d}");
        assert_eq!(
            b["data"]["organization"]["id"],
            &path[1..],
            "another organization's event: {d}"
        );
        assert!(b["type"].is_string() && b["timestamp"].is_string(), "{b}");
        assert!(!d["body"].as_str().unwrap().contains(&secret));
    }
    // At least one delivery per event, each with the event's own body.
    for (id, e) in ids.iter().zip(&events) {
        let d = log.iter().find(|d| d["id"] == *id).unwrap();
        assert_eq!(body(d)["type"], e["type"]);
        assert_eq!(body(d)["data"], e["data"]);
    }
    // beta's endpoint got beta's events only (none were made after its endpoint existed).
    assert!(
        log.iter().all(|d| d["path"] == "/acme"),
        "beta received something of acme's"
    );
}

#[tokio::test]
async fn retries_follow_the_schedule_with_one_webhook_id_and_429_waits_for_retry_after() {
    let rx = Receiver::start().await;
    let app = spawn("300ms,600ms,5s").await;
    let acme = app.bootstrap("acme").await;
    let (wid, secret) = endpoint(
        &app,
        &acme,
        &format!("{}/acme", rx.base),
        json!(["invitation.created"]),
    )
    .await;
    rx.secrets(&[&secret]).await;
    rx.answer("500", Some(2), None).await;
    app.invite(&acme, "a@x.example", "A", "B", "DefaultUserRole")
        .await;
    let log = rx.wait_for(|log| log.len() >= 3).await;
    assert_eq!(log.len(), 3, "delivered once the receiver answered 200");
    assert!(
        log.iter().all(|d| d["id"] == log[0]["id"]),
        "webhook-id is the same across retries"
    );
    assert!(
        log.iter().all(|d| d["verified_with"] == json!([0])),
        "{log:#?}"
    );
    // The schedule, less its jitter of at most 10%.
    assert!(at(&log[1]) - at(&log[0]) >= 0.27, "{log:#?}");
    assert!(at(&log[2]) - at(&log[1]) >= 0.54, "{log:#?}");
    // The delivery log shows each attempt (recorded just after the receiver answered).
    let attempts = attempts_until(&app, &acme, &wid, 3).await;
    let statuses: Vec<i64> = attempts
        .iter()
        .map(|a| a["status_code"].as_i64().unwrap())
        .collect();
    assert_eq!(statuses, [200, 500, 500], "newest first");
    // 429 with Retry-After: 2 s is waited for, though the schedule says 300 ms.
    rx.answer("429", Some(1), Some(2)).await;
    app.invite(&acme, "b@x.example", "A", "B", "DefaultUserRole")
        .await;
    let log = rx.wait_for(|log| log.len() >= 5).await;
    assert_eq!(log[3]["id"], log[4]["id"]);
    assert!(
        at(&log[4]) - at(&log[3]) >= 1.9,
        "Retry-After honoured: {log:#?}"
    );
    // Only the filtered type was delivered: the acceptance-less invitations only.
    assert!(log.iter().all(|d| body(d)["type"] == "invitation.created"));
    // A replay sends the first message again, with its webhook-id.
    let first_event = log[0]["id"]
        .as_str()
        .unwrap()
        .trim_start_matches("msg_")
        .to_owned();
    let r = app
        .post(
            &format!("/admin/v1/orgs/acme/webhooks/{wid}/replay"),
            &acme.token,
            json!({ "event_id": first_event }),
        )
        .await
        .expect(202);
    assert_eq!(r["queued"], 1);
    let log = rx.wait_for(|log| log.len() >= 6).await;
    assert_eq!(log[5]["id"], log[0]["id"]);
}

#[tokio::test]
async fn a_rotation_sends_both_signatures_and_410_disables_the_endpoint_and_tells_the_admins() {
    let rx = Receiver::start().await;
    let app = spawn("200ms").await;
    let acme = app.bootstrap("acme").await;
    let (wid, old) = endpoint(&app, &acme, &format!("{}/acme", rx.base), json!([])).await;
    let rotated = app
        .post(
            &format!("/admin/v1/orgs/acme/webhooks/{wid}/rotate-secret"),
            &acme.token,
            json!({ "overlap_secs": 3600 }),
        )
        .await
        .expect(200);
    let new = rotated["secret"].as_str().unwrap().to_owned();
    assert!(new.starts_with("whsec_") && new != old);
    // The listing never shows a secret.
    let listed = app
        .get("/admin/v1/orgs/acme/webhooks", &acme.token)
        .await
        .expect(200);
    assert!(!listed.to_string().contains(&new) && !listed.to_string().contains(&old));
    rx.secrets(&[&old, &new]).await;
    app.invite(&acme, "a@x.example", "A", "B", "DefaultUserRole")
        .await;
    let log = rx.wait_for(|log| !log.is_empty()).await;
    assert_eq!(
        log[0]["verified_with"],
        json!([0, 1]),
        "both secrets verify during the overlap"
    );
    assert_eq!(log[0]["signature"].as_str().unwrap().split(' ').count(), 2);
    // 410: disabled at once, and every administrator is emailed.
    rx.answer("410", None, None).await;
    app.invite(&acme, "b@x.example", "A", "B", "DefaultUserRole")
        .await;
    rx.wait_for(|log| log.len() >= 2).await;
    let mut w = Value::Null;
    for _ in 0..200 {
        w = app
            .get(&format!("/admin/v1/orgs/acme/webhooks/{wid}"), &acme.token)
            .await
            .expect(200);
        if w["enabled"] == false {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(w["enabled"], false, "{w}");
    assert!(w["disabled_reason"].as_str().unwrap().contains("410"));
    let mail = app
        .state
        .core
        .store
        .list_outbox(&OrgId::from("acme"))
        .await
        .unwrap();
    assert!(
        mail.iter().any(|m| m.kind == "webhook_disabled"),
        "the administrators are told"
    );
    // Bad input names its field.
    for (b, field) in [
        (json!({ "url": "ftp://x" }), "url"),
        (
            json!({ "url": "https://x.example", "types": ["nope"] }),
            "types",
        ),
        (json!({ "url": "https://x.example", "colour": 1 }), "colour"),
    ] {
        let r = app
            .post("/admin/v1/orgs/acme/webhooks", &acme.token, b)
            .await;
        assert_eq!(r.status.as_u16(), 422, "{}", r.body);
        assert!(r.body.to_string().contains(field), "{}", r.body);
    }
    let r = app
        .call(
            Method::DELETE,
            &format!("/admin/v1/orgs/acme/webhooks/{wid}"),
            Some(&acme.token),
            None,
            &[],
        )
        .await;
    assert_eq!(r.status.as_u16(), 204);
}

#[tokio::test]
async fn private_addresses_are_refused_unless_the_operator_allows_them() {
    let rx = Receiver::start().await;
    let app = TestApp::spawn_with(|c| {
        c.webhook_workers = 1;
        c.webhook_schedule = "100ms".into();
        c.webhook_allow_private = false;
    })
    .await;
    let acme = app.bootstrap("acme").await;
    // The receiver is on loopback, named by address and by name.
    let port = rx.base.rsplit(':').next().unwrap().to_owned();
    let (a, secret) = endpoint(&app, &acme, &rx.base, json!([])).await;
    let (b, _) = endpoint(&app, &acme, &format!("http://localhost:{port}/"), json!([])).await;
    rx.secrets(&[&secret]).await;
    app.invite(&acme, "a@x.example", "A", "B", "DefaultUserRole")
        .await;
    for id in [a, b] {
        let list = attempts_until(&app, &acme, &id, 2).await;
        assert_eq!(list.len(), 2, "checked again on each attempt: {list:?}");
        assert!(
            list.iter().all(|a| a["error"]
                .as_str()
                .unwrap()
                .contains("not a public address")),
            "{list:?}"
        );
    }
    assert!(
        rx.log().await.is_empty(),
        "nothing reached the loopback receiver"
    );
}

fn roster(app: &TestApp) -> std::process::Command {
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_roster"));
    for (k, _) in std::env::vars() {
        if k.starts_with("ROSTER_") {
            c.env_remove(k);
        }
    }
    c.env("ROSTER_DATABASE_URL", &app.database_url)
        .env("ROSTER_DATA_DIR", &app.data_dir);
    c
}

#[tokio::test]
async fn the_cli_creates_an_endpoint_and_its_imports_are_told_to_it() {
    let rx = Receiver::start().await;
    let app = spawn("200ms").await;
    let acme = app.bootstrap("acme").await;
    app.eva_catalog("acme").await;
    let out = roster(&app)
        .args([
            "webhook",
            "create",
            "--org",
            "acme",
            "--url",
            &format!("{}/cli", rx.base),
        ])
        .args(["--type", "user.created", "--json"])
        .output()
        .expect("roster runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let made: Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    let secret = made["secret"].as_str().expect("secret");
    assert!(
        secret.starts_with("whsec_") && made["id"].is_string(),
        "{made}"
    );
    rx.secrets(&[secret]).await;
    let (_, after) = app.feed(&acme, "0", 100).await;
    let csv = app.data_dir.join("import.csv");
    std::fs::create_dir_all(&app.data_dir).expect("data dir");
    std::fs::write(
        &csv,
        format!(
            "EMAIL;NAME;COMPANY;ROLE;PASSWORD;ENVIRONMENTUUID;ENVIRONMENTNAME;BOT\n\
             c1@x.example;Cli One;C;SUPERVISOR;;{s};Staging;\n\
             c2@x.example;Cli Two;C;SUPERVISOR;;{s};Staging;\n",
            s = crate::eva::STAGE
        ),
    )
    .expect("csv");
    let out = roster(&app)
        .args(["import-users", "--org", "acme"])
        .arg(&csv)
        .output()
        .expect("roster runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (events, _) = app.feed(&acme, &after, 100).await;
    assert_eq!(
        types_of(&events),
        ["user.created", "user.created"],
        "one event per imported row"
    );
    let log = rx.wait_for(|log| log.len() >= 2).await;
    assert!(
        log.iter().all(|d| d["verified_with"] == json!([0])),
        "{log:#?}"
    );
    let mut emails: Vec<String> = log
        .iter()
        .map(|d| {
            body(d)["data"]["user"]["email"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    emails.sort();
    assert_eq!(emails, ["c1@x.example", "c2@x.example"]);
}

/// A `roster serve` process delivering webhooks, killed (SIGKILL) when dropped.
struct Serve(std::process::Child);

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn serve(app: &TestApp) -> Serve {
    let child = roster(app)
        .args(["serve", "--bind", "127.0.0.1:0"])
        .env("ROSTER_RATE_LIMITS", "off")
        .env("ROSTER_MAIL_WORKERS", "0")
        .env("ROSTER_WEBHOOK_ALLOW_PRIVATE", "true")
        .env("ROSTER_WEBHOOK_TIMEOUT_MS", "2000")
        .env("ROSTER_WEBHOOK_POLL_MS", "50")
        .env("ROSTER_WEBHOOK_SCHEDULE", "10m")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("roster serve starts");
    Serve(child)
}

#[tokio::test]
async fn a_server_killed_mid_delivery_delivers_after_restart() {
    let rx = Receiver::start().await;
    // This app only writes (no workers); separate `roster serve` processes deliver.
    let app = TestApp::spawn().await;
    let acme = app.bootstrap("acme").await;
    let (_, secret) = endpoint(
        &app,
        &acme,
        &format!("{}/acme", rx.base),
        json!(["invitation.created"]),
    )
    .await;
    rx.secrets(&[&secret]).await;
    rx.answer("hang", Some(1), None).await;
    let first = serve(&app);
    app.invite(&acme, "a@x.example", "A", "B", "DefaultUserRole")
        .await;
    // The delivery is in flight (the receiver holds it) when the node dies.
    let log = rx.wait_for(|log| !log.is_empty()).await;
    drop(first);
    assert_eq!(log.len(), 1);
    // Another node takes the message over once the dead node's lease runs out; the schedule's
    // 10 minutes are not waited for, as that attempt never finished.
    let _second = serve(&app);
    let log = rx.wait_for(|log| log.len() >= 2).await;
    assert_eq!(
        log[1]["id"], log[0]["id"],
        "the same message, the same webhook-id"
    );
    assert_eq!(log[1]["verified_with"], json!([0]));
    assert_eq!(log[1]["answered"], "ok");
}

#[tokio::test]
async fn a_run_of_failures_disables_the_endpoint_tells_every_administrator_and_a_replay_since_resends(
) {
    let rx = Receiver::start().await;
    let app = TestApp::spawn_with(|c| {
        c.webhook_workers = 1;
        c.webhook_schedule = "100ms,100ms,100ms,100ms,100ms".into();
        c.webhook_timeout_ms = 1000;
        c.webhook_disable_after = 3;
    })
    .await;
    let acme = app.bootstrap("acme").await;
    // A second administrator, and a member who is not one.
    let invited = app
        .oum_invite(
            &acme,
            "boss@x.example",
            "Bo Ss",
            json!(["admin"]),
            Value::Null,
        )
        .await;
    assert_eq!(invited, 204);
    app.accept_invitation("acme", "boss@x.example").await;
    let invited = app
        .oum_invite(
            &acme,
            "plain@x.example",
            "Pl Ain",
            json!(["analyst"]),
            Value::Null,
        )
        .await;
    assert_eq!(invited, 204);
    app.accept_invitation("acme", "plain@x.example").await;
    let (wid, secret) = endpoint(
        &app,
        &acme,
        &format!("{}/acme", rx.base),
        json!(["invitation.created"]),
    )
    .await;
    rx.secrets(&[&secret]).await;
    rx.answer("500", None, None).await;
    let before = roster_domain::types::format_micros(roster_domain::types::now_micros());
    app.invite(&acme, "a@x.example", "A", "B", "DefaultUserRole")
        .await;
    // A change the endpoint's filter does not take: neither sent nor replayed.
    app.post("/v1/acme/role/", &acme.token, json!({ "role_name": "Reader", "description": "r", "permission_grants": [], "frontend_view": "client" }))
        .await
        .expect(201);
    // Three failures in a row disable it; the message's next attempt finds it disabled and
    // sends nothing.
    let attempts = attempts_until(&app, &acme, &wid, 4).await;
    assert_eq!(attempts.len(), 4, "{attempts:#?}");
    assert_eq!(
        attempts[0]["error"], "endpoint disabled or event gone",
        "{attempts:#?}"
    );
    assert!(attempts[1..].iter().all(|a| a["status_code"] == 500
        && a["response_excerpt"] == "no"
        && a["latency_ms"].as_i64().is_some_and(|l| l >= 0)));
    assert_eq!(rx.log().await.len(), 3, "nothing sent once disabled");
    let w = app
        .get(&format!("/admin/v1/orgs/acme/webhooks/{wid}"), &acme.token)
        .await
        .expect(200);
    assert_eq!(
        (w["enabled"].as_bool(), w["disabled_reason"].as_str()),
        (Some(false), Some("3 failed attempts in a row")),
        "{w}"
    );
    let admin = app
        .list_users(&acme, &acme.token, &format!("user_id={}", acme.admin_id))
        .await["users"][0]["email"]
        .as_str()
        .unwrap()
        .to_lowercase();
    let mut told: Vec<String> = app
        .state
        .core
        .store
        .list_outbox(&OrgId::from("acme"))
        .await
        .unwrap()
        .into_iter()
        .filter(|m| m.kind == "webhook_disabled")
        .map(|m| m.recipient.to_lowercase())
        .collect();
    told.sort();
    let mut admins = vec![admin, "boss@x.example".to_owned()];
    admins.sort();
    assert_eq!(
        told, admins,
        "every active administrator, once, and nobody else"
    );
    // Fixed and enabled again, everything since a time is sent again, with its webhook-id.
    rx.answer("ok", None, None).await;
    app.call(
        Method::PATCH,
        &format!("/admin/v1/orgs/acme/webhooks/{wid}"),
        Some(&acme.token),
        Some(json!({ "enabled": true })),
        &[],
    )
    .await
    .expect(200);
    let r = app
        .post(
            &format!("/admin/v1/orgs/acme/webhooks/{wid}/replay"),
            &acme.token,
            json!({ "since": before }),
        )
        .await
        .expect(202);
    assert_eq!(r["queued"], 1, "only the invitation since then: {r}");
    let log = rx.wait_for(|log| log.len() >= 4).await;
    assert_eq!(log[3]["id"], log[0]["id"]);
    assert_eq!(
        (log[3]["answered"].as_str(), &log[3]["verified_with"]),
        (Some("ok"), &json!([0]))
    );
    let r = app
        .post(
            &format!("/admin/v1/orgs/acme/webhooks/{wid}/replay"),
            &acme.token,
            json!({ "since": "yesterday" }),
        )
        .await;
    assert_eq!(r.status.as_u16(), 422, "{}", r.body);
    assert!(r.body.to_string().contains("since"), "{}", r.body);
}

#[tokio::test]
async fn a_hanging_receiver_times_out_and_a_redirect_is_not_followed() {
    let rx = Receiver::start().await;
    let app = spawn("100ms,100ms").await;
    let acme = app.bootstrap("acme").await;
    let (wid, secret) = endpoint(
        &app,
        &acme,
        &format!("{}/acme", rx.base),
        json!(["invitation.created"]),
    )
    .await;
    rx.secrets(&[&secret]).await;
    // The first attempt hangs (the receiver holds it 30 s), the second is redirected, the
    // third delivers.
    rx.answer("hang", Some(1), None).await;
    app.invite(&acme, "a@x.example", "A", "B", "DefaultUserRole")
        .await;
    rx.wait_for(|log| !log.is_empty()).await;
    rx.answer("302", Some(1), None).await;
    let attempts = attempts_until(&app, &acme, &wid, 3).await;
    assert_eq!(attempts.len(), 3, "{attempts:#?}");
    let (hung, moved, done) = (&attempts[2], &attempts[1], &attempts[0]);
    assert_eq!(hung["error"], "timed out", "{hung}");
    assert!(
        hung["latency_ms"]
            .as_i64()
            .is_some_and(|l| (900..5000).contains(&l)),
        "bounded by ROSTER_WEBHOOK_TIMEOUT_MS (1 s here): {hung}"
    );
    assert_eq!(moved["status_code"], 302, "{moved}");
    assert_eq!(done["status_code"], 200, "{done}");
    let log = rx.log().await;
    assert!(
        log.iter().all(|d| d["path"] == "/acme"),
        "the redirect's target was never asked: {log:#?}"
    );
    assert_eq!(log.len(), 3);
}

/// Several workers (of one node or of several: they share only the database) claim at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_workers_never_hold_one_message_and_a_dead_lease_comes_back() {
    let app = TestApp::spawn().await;
    let acme = app.bootstrap("acme").await;
    endpoint(&app, &acme, "https://hooks.example.test/in", json!([])).await;
    for i in 0..20 {
        app.invite(
            &acme,
            &format!("u{i}@x.example"),
            "U",
            "V",
            "DefaultUserRole",
        )
        .await;
    }
    let store = app.state.core.store.clone();
    let now = roster_domain::types::now_micros();
    let lease = now + 60_000_000;
    let mut claims = Vec::new();
    for w in 0..4 {
        let store = store.clone();
        claims.push(tokio::spawn(async move {
            store
                .claim_webhooks(&format!("w{w}"), now, lease, 8)
                .await
                .expect("claim")
        }));
    }
    let mut held = Vec::new();
    for c in claims {
        held.extend(c.await.expect("task").into_iter().map(|j| j.event_seq));
    }
    held.sort();
    let n = held.len();
    held.dedup();
    assert_eq!(held.len(), n, "a message was held by two workers at once");
    assert_eq!(n, 20, "4 workers x 8 cover the 20 messages");
    // Leased: nobody else gets them until the lease runs out (a worker that died keeps them
    // until then), and then they are due again.
    assert!(store
        .claim_webhooks("w9", now, lease, 100)
        .await
        .unwrap()
        .is_empty());
    let again = store
        .claim_webhooks("w9", lease + 1, lease + 60_000_000, 100)
        .await
        .unwrap();
    assert_eq!(again.len(), 20);
    assert!(again.iter().all(|j| j.attempt == 2), "the second attempt");
}

#[tokio::test]
async fn retention_deletes_old_events_and_their_messages_are_then_given_up() {
    let app = TestApp::spawn().await;
    let acme = app.bootstrap("acme").await;
    let (wid, _) = endpoint(&app, &acme, "https://hooks.example.test/in", json!([])).await;
    app.invite(&acme, "a@x.example", "A", "B", "DefaultUserRole")
        .await;
    let store = app.state.core.store.clone();
    let (before, _) = app.feed(&acme, "0", 100).await;
    assert!(before.len() >= 3, "{before:#?}");
    let cut = roster_domain::types::now_micros() + 1;
    // Every organization's old events go (the platform organization's too).
    let purged = store.purge_events(cut, 1000).await.unwrap() as usize;
    assert!(purged >= before.len(), "{purged}");
    let (after, next) = app.feed(&acme, "0", 100).await;
    assert!(after.is_empty() && next == "0", "{after:#?}");
    // The message of a purged event is claimed with no event, and nothing can be sent.
    let now = roster_domain::types::now_micros();
    let jobs = store
        .claim_webhooks("w", now, now + 60_000_000, 10)
        .await
        .unwrap();
    assert!(!jobs.is_empty() && jobs.iter().all(|j| j.event.is_none()));
    let _ = wid;
}
