//! Jobs (docs/jobs.md): imports read while they upload, with their progress, errors and
//! cancellation; an import interrupted by a server restart; exports streamed as CSV and JSON
//! lines; bad input; another organization's administrator.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::eva::{BOT, PROD};
use crate::helpers::{Org, TestApp};

fn jobs(org: &Org) -> String {
    format!("/admin/v1/orgs/{}/jobs", org.id)
}

/// A file of `n` valid rows, `tag`-named.
fn rows(tag: &str, from: usize, n: usize) -> String {
    (from..from + n)
        .map(|i| format!("{tag}{i}@x.example;Row {tag}{i};Co;VIEWER;;{PROD};Production;{BOT}\n"))
        .collect()
}

/// An upload over a raw connection, sent in chunks for as long as the test likes.
struct Upload(TcpStream);

impl Upload {
    async fn open(base: &str, path: &str, token: &str) -> Self {
        let host = base.trim_start_matches("http://");
        let mut s = TcpStream::connect(host).await.expect("connect");
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n\
             Content-Type: text/csv\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
        );
        s.write_all(head.as_bytes()).await.expect("head");
        Self(s)
    }

    async fn send(&mut self, data: &str) {
        let chunk = format!("{:x}\r\n{data}\r\n", data.len());
        self.0.write_all(chunk.as_bytes()).await.expect("chunk");
    }

    /// Ends the body; the answer's status and JSON body.
    async fn end(mut self) -> (u16, Value) {
        self.0.write_all(b"0\r\n\r\n").await.expect("end");
        let mut raw = Vec::new();
        self.0.read_to_end(&mut raw).await.expect("answer");
        let text = String::from_utf8_lossy(&raw);
        let status = text[9..12].parse().expect("status");
        let body = text.split("\r\n\r\n").nth(1).unwrap_or("");
        (status, serde_json::from_str(body).unwrap_or(Value::Null))
    }
}

/// Organization `acme` with eva's catalogue, its users before, and an import upload begun
/// with the CSV header.
async fn import_upload(app: &TestApp) -> (Org, usize, Upload) {
    let acme = app.bootstrap("acme").await;
    app.eva_catalog("acme").await;
    let before = app.count_users(&acme.id).await;
    let mut up = Upload::open(&app.base, &format!("{}/import", jobs(&acme)), &acme.token).await;
    up.send("email;name;company;role;password;environmentUuid;environmentName;bot\n")
        .await;
    (acme, before, up)
}

async fn raw(
    app: &TestApp,
    method: Method,
    path: &str,
    token: &str,
    body: &str,
    ct: &str,
) -> (u16, String) {
    let r = app
        .client
        .request(method, format!("{}{path}", app.base))
        .bearer_auth(token)
        .header("content-type", ct)
        .body(body.to_owned())
        .send()
        .await
        .expect("request");
    (r.status().as_u16(), r.text().await.expect("body"))
}

/// Waits until the job answered by `get` satisfies `done`.
async fn until<F, Fut>(get: F, done: impl Fn(&Value) -> bool) -> Value
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Value>,
{
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let job = get().await;
        if done(&job) {
            return job;
        }
        assert!(Instant::now() < deadline, "the job never got there: {job}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Cancels a job with `POST .../{id}/cancel`, the form for clients without DELETE; the
/// cancelled job.
async fn cancel(app: &TestApp, org: &Org, id: &str) -> Value {
    let path = format!("{}/{id}/cancel", jobs(org));
    let r = app
        .call(Method::POST, &path, Some(&org.token), Some(json!({})), &[])
        .await;
    r.expect(200)
}

async fn the_job(app: &TestApp, org: &Org) -> Value {
    let list = app.get(&jobs(org), &org.token).await.expect(200);
    list["jobs"][0].clone()
}

#[tokio::test]
async fn an_import_job_applies_good_rows_and_lists_every_bad_one_in_its_result() {
    let app = TestApp::spawn().await;
    let acme = app.bootstrap("acme").await;
    app.eva_catalog("acme").await;
    let before = app.count_users(&acme.id).await;
    let csv = format!(
        "email;name;company;role;password;environmentUuid;environmentName;bot\n{}\
         not-an-email;Bad;;VIEWER;;{PROD};Production;{BOT}\n\
         a0@x.example;Again;;VIEWER;;{PROD};Production;{BOT}\n\
         r@x.example;Role;;OWNER;;;;\n\
         q@x.example;\"Quoted; Name\";\"Co; Inc\";ADMIN;;;;\n",
        rows("a", 0, 3)
    );
    let (status, text) = raw(
        &app,
        Method::POST,
        &format!("{}/import?rows=7", jobs(&acme)),
        &acme.token,
        &csv,
        "text/csv",
    )
    .await;
    assert_eq!(status, 201, "{text}");
    let job: Value = serde_json::from_str(&text).expect("json");
    assert_eq!(job["kind"], "import");
    assert_eq!(job["state"], "succeeded", "{job}");
    assert_eq!(
        (
            job["rows_done"].as_u64(),
            job["rows_applied"].as_u64(),
            job["errors"].as_u64()
        ),
        (Some(7), Some(4), Some(3)),
        "{job}"
    );
    assert_eq!(job["rows_total"], 7);
    assert_eq!(app.count_users(&acme.id).await, before + 4);
    let id = job["id"].as_str().expect("id");
    let got = app
        .get(&format!("{}/{id}", jobs(&acme)), &acme.token)
        .await
        .expect(200);
    assert_eq!(got["rows_applied"], 4);
    assert!(
        got["finished_at"].is_string() && got["eta_seconds"].is_null(),
        "{got}"
    );
    let (status, result) = raw(
        &app,
        Method::GET,
        &format!("{}/{id}/result", jobs(&acme)),
        &acme.token,
        "",
        "text/plain",
    )
    .await;
    assert_eq!(status, 200);
    let lines: Vec<&str> = result.lines().collect();
    assert_eq!(lines[0], "line;key;reason");
    assert_eq!(lines.len(), 4, "{result}");
    assert!(
        lines[1].starts_with("5;not-an-email;Column 'email'"),
        "{result}"
    );
    assert!(
        lines[2].starts_with("6;a0@x.example;The email appears more than once"),
        "{result}"
    );
    assert!(
        lines[3].starts_with("7;r@x.example;Role 'OWNER'"),
        "{result}"
    );
    // A second import of the same rows: each is already there, nothing changes.
    let again = rows("a", 0, 3);
    let (status, text) = raw(
        &app,
        Method::POST,
        &format!("{}/import", jobs(&acme)),
        &acme.token,
        &again,
        "text/csv",
    )
    .await;
    let job: Value = serde_json::from_str(&text).expect("json");
    assert_eq!(
        (status, job["rows_applied"].as_u64(), job["errors"].as_u64()),
        (201, Some(0), Some(3)),
        "{job}"
    );
    assert_eq!(app.count_users(&acme.id).await, before + 4);
    // JSON lines: the same fields by the CSV's names; a line that is no object is its own error.
    let jsonl = format!(
        "{}\n\n[1,2]\n{}\n",
        json!({ "email": "j1@x.example", "name": "Jay One", "role": "VIEWER", "environmentUuid": PROD, "environmentName": "Production", "bot": BOT }),
        json!({ "email": "j2@x.example", "name": "Jay Two", "role": "ADMIN", "colour": "red" }),
    );
    let (status, text) = raw(
        &app,
        Method::POST,
        &format!("{}/import?format=jsonl", jobs(&acme)),
        &acme.token,
        &jsonl,
        "application/x-ndjson",
    )
    .await;
    let job: Value = serde_json::from_str(&text).expect("json");
    assert_eq!(
        (
            status,
            job["format"].as_str(),
            job["rows_applied"].as_u64(),
            job["errors"].as_u64()
        ),
        (201, Some("jsonl"), Some(1), Some(2)),
        "{job}"
    );
    let id = job["id"].as_str().expect("id");
    let (_, result) = raw(
        &app,
        Method::GET,
        &format!("{}/{id}/result", jobs(&acme)),
        &acme.token,
        "",
        "text/plain",
    )
    .await;
    let errors: Vec<Value> = result
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect();
    assert_eq!(errors.len(), 2, "{result}");
    assert_eq!(
        (errors[0]["line"].as_u64(), errors[0]["key"].as_str()),
        (Some(3), Some("line 3"))
    );
    assert!(
        errors[1]["reason"]
            .as_str()
            .is_some_and(|r| r.contains("colour")),
        "{result}"
    );
    let list = app.get(&jobs(&acme), &acme.token).await.expect(200);
    assert_eq!(
        list["jobs"].as_array().map(Vec::len),
        Some(3),
        "newest first: {list}"
    );
    assert_eq!(list["jobs"][0]["id"], job["id"]);
}

#[tokio::test]
async fn a_streamed_import_applies_rows_while_its_upload_never_ends_and_a_cancel_stops_it() {
    let app = TestApp::spawn().await;
    let (acme, before, mut up) = import_upload(&app).await;
    // Two and a half batches, a line split across chunks; the body goes on.
    let first = rows("s", 0, 2500);
    let (a, b) = first.split_at(first.len() / 2 + 7);
    up.send(a).await;
    up.send(b).await;
    let running = until(
        || async { the_job(&app, &acme).await },
        |j| j["rows_applied"].as_u64() >= Some(2000),
    )
    .await;
    assert_eq!(running["state"], "running", "{running}");
    assert!(
        running["bytes_done"].as_u64() > Some(0) && running["bytes_total"].is_null(),
        "{running}"
    );
    let id = running["id"].as_str().expect("id").to_owned();
    let cancelled = app
        .delete(&format!("{}/{id}", jobs(&acme)), &acme.token)
        .await
        .expect(200);
    assert_eq!(cancelled["state"], "cancelled");
    let applied = cancelled["rows_applied"].as_u64().expect("applied");
    // What follows the cancel is not applied: the server stops reading, and no batch is
    // written after it.
    up.send(&rows("t", 0, 2500)).await;
    let (status, done) = up.end().await;
    assert_eq!(status, 201, "{done}");
    assert_eq!(done["state"], "cancelled", "{done}");
    assert_eq!(done["rows_applied"].as_u64(), Some(applied), "{done}");
    assert_eq!(
        app.count_users(&acme.id).await as u64,
        before as u64 + applied,
        "every row counted was applied and no other"
    );
    assert!((2000..=2500).contains(&applied), "{applied}");
    let again = app
        .delete(&format!("{}/{id}", jobs(&acme)), &acme.token)
        .await;
    assert_eq!(again.status.as_u16(), 409, "{}", again.body);
}

/// The import job once it has ended (it may not be listed yet when the upload is dropped).
async fn ended(app: &TestApp, org: &Org) -> Value {
    until(
        || async { the_job(app, org).await },
        |j| j["state"].is_string() && j["state"] != "running",
    )
    .await
}

#[tokio::test]
async fn an_upload_whose_client_goes_away_mid_file_fails_its_job_at_once_with_its_rows_recorded() {
    let app = TestApp::spawn().await;
    let (acme, before, mut up) = import_upload(&app).await;
    up.send(&rows("m", 0, 1500)).await;
    up.send(&format!(
        "not-an-email;Bad;Co;VIEWER;;{PROD};Production;{BOT}\n"
    ))
    .await;
    // Half a chunk, ending within a line: then the connection is gone.
    up.0.write_all(b"400\r\nhalf@x.example;Ha")
        .await
        .expect("half");
    until(
        || async { the_job(&app, &acme).await },
        |j| j["rows_done"].as_u64() >= Some(1000),
    )
    .await;
    let left = Instant::now();
    drop(up);
    let job = ended(&app, &acme).await;
    // Failed by the broken upload itself, not by the sweep of silent imports much later.
    assert_eq!(job["state"], "failed", "{job}");
    assert!(
        job["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("the upload broke off")),
        "{job}"
    );
    assert!(
        left.elapsed() < Duration::from_secs(15),
        "{:?}",
        left.elapsed()
    );
    // Every line read whole is recorded, applied or rejected; the cut one is neither.
    assert_eq!(
        (
            job["rows_done"].as_u64(),
            job["rows_applied"].as_u64(),
            job["errors"].as_u64()
        ),
        (Some(1501), Some(1500), Some(1)),
        "{job}"
    );
    assert_eq!(app.count_users(&acme.id).await, before + 1500);
    let id = job["id"].as_str().expect("id");
    let (status, errors) = raw(
        &app,
        Method::GET,
        &format!("{}/{id}/result", jobs(&acme)),
        &acme.token,
        "",
        "text/plain",
    )
    .await;
    assert_eq!(status, 200, "{errors}");
    assert_eq!(
        errors.lines().count(),
        2,
        "a header and the bad row: {errors}"
    );
    assert!(errors.contains("not-an-email"), "{errors}");
}

#[tokio::test]
async fn a_file_uploaded_whole_is_imported_to_its_end_when_its_client_leaves_before_the_answer() {
    let app = TestApp::spawn().await;
    let (acme, before, mut up) = import_upload(&app).await;
    up.send(&rows("w", 0, 3500)).await;
    // The body's last chunk, and the client is gone before the server has read it all.
    up.0.write_all(b"0\r\n\r\n").await.expect("end");
    drop(up);
    let job = ended(&app, &acme).await;
    assert_eq!(job["state"], "succeeded", "{job}");
    assert_eq!(
        (
            job["rows_done"].as_u64(),
            job["rows_applied"].as_u64(),
            job["errors"].as_u64()
        ),
        (Some(3500), Some(3500), Some(0)),
        "{job}"
    );
    assert_eq!(app.count_users(&acme.id).await, before + 3500);
}

/// A `roster serve` process on a port of its own, killed (SIGKILL) when dropped.
struct Serve(std::process::Child, String);

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn serve(app: &TestApp) -> Serve {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_roster"));
    for (k, _) in std::env::vars() {
        if k.starts_with("ROSTER_") {
            c.env_remove(k);
        }
    }
    let child = c
        .env("ROSTER_DATABASE_URL", &app.database_url)
        .env("ROSTER_DATA_DIR", &app.data_dir)
        .env("ROSTER_RATE_LIMITS", "off")
        .env("ROSTER_MAIL_WORKERS", "0")
        .env("ROSTER_JOB_HEARTBEAT_MS", "300")
        .args(["serve", "--bind", &format!("127.0.0.1:{port}")])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("roster serve starts");
    let base = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(30);
    while reqwest::get(format!("{base}/healthz")).await.is_err() {
        assert!(Instant::now() < deadline, "roster serve never answered");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Serve(child, base)
}

/// A token of that server's own (each process signs with keys of its own).
async fn sign_in(base: &str, org: &Org) -> String {
    let signed: Value = reqwest::Client::new()
        .post(format!("{base}/v1/{}/user/signin_with_api_key", org.id))
        .header("x-api-key", &org.key)
        .header("x-api-key-id", &org.key_id)
        .header("x-user-id", &org.admin_id)
        .send()
        .await
        .expect("sign in")
        .json()
        .await
        .expect("json");
    signed["id_token"].as_str().expect("id_token").to_owned()
}

#[tokio::test]
async fn an_import_whose_server_is_killed_fails_cleanly_after_restart_with_its_rows_recorded() {
    let app = TestApp::spawn().await;
    let acme = app.bootstrap("acme").await;
    app.eva_catalog("acme").await;
    let before = app.count_users(&acme.id).await;
    let first = serve(&app).await;
    let token = sign_in(&first.1, &acme).await;
    let mut up = Upload::open(&first.1, &format!("{}/import", jobs(&acme)), &token).await;
    up.send(&rows("k", 0, 2200)).await;
    let get = |base: String, token: String| {
        let path = jobs(&acme);
        async move {
            let r = reqwest::Client::new()
                .get(format!("{base}{path}"))
                .bearer_auth(token)
                .send()
                .await
                .expect("get");
            let list: Value = r.json().await.expect("json");
            assert!(list["jobs"].is_array(), "{list}");
            list["jobs"][0].clone()
        }
    };
    let base = first.1.clone();
    until(
        || get(base.clone(), token.clone()),
        |j| j["rows_applied"].as_u64() >= Some(1000),
    )
    .await;
    drop(first);
    drop(up);
    let second = serve(&app).await;
    let token = sign_in(&second.1, &acme).await;
    let failed = until(
        || get(second.1.clone(), token.clone()),
        |j| j["state"] != "running",
    )
    .await;
    assert_eq!(failed["state"], "failed", "{failed}");
    assert!(
        failed["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("interrupted")),
        "{failed}"
    );
    let applied = failed["rows_applied"].as_u64().expect("applied");
    assert!(
        applied >= 1000 && applied % 1000 == 0,
        "whole batches only: {failed}"
    );
    assert_eq!(
        app.count_users(&acme.id).await as u64,
        before as u64 + applied,
        "the record is what was applied"
    );
}

#[tokio::test]
async fn exports_write_every_matching_user_once_as_csv_and_json_lines() {
    let app = TestApp::spawn().await;
    let acme = app.bootstrap("acme").await;
    let beta = app.bootstrap("beta").await;
    app.eva_catalog("acme").await;
    let mut file = rows("e", 0, 2300);
    file.push_str("zeta@x.example;Zeta Quote;\"Co; \"\"Inc\"\"\";ADMIN;;;;\nformula@x.example;Formula;=1+1;ADMIN;;;;\n");
    let (status, text) = raw(
        &app,
        Method::POST,
        &format!("{}/import", jobs(&acme)),
        &acme.token,
        &file,
        "text/csv",
    )
    .await;
    assert_eq!(status, 201, "{text}");
    let total = app.count_users(&acme.id).await;
    let job = app
        .post(
            &format!("{}/export", jobs(&acme)),
            &acme.token,
            json!({ "format": "csv" }),
        )
        .await
        .expect(201);
    assert_eq!(
        (job["kind"].as_str(), job["state"].as_str()),
        (Some("export"), Some("running"))
    );
    assert_eq!(job["rows_total"].as_u64(), Some(total as u64));
    // Users made after the export started are not in it.
    app.invite(&acme, "later@x.example", "Later", "User", "DefaultUserRole")
        .await;
    let id = job["id"].as_str().expect("id");
    let (status, csv) = raw(
        &app,
        Method::GET,
        &format!("{}/{id}/result", jobs(&acme)),
        &acme.token,
        "",
        "text/plain",
    )
    .await;
    assert_eq!(status, 200);
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(b';')
        .from_reader(csv.as_bytes());
    assert_eq!(
        reader.headers().expect("header").iter().collect::<Vec<_>>(),
        [
            "id",
            "email",
            "first_name",
            "last_name",
            "company",
            "status",
            "is_admin",
            "roles",
            "created_at"
        ]
    );
    let records: Vec<csv::StringRecord> = reader.records().map(|r| r.expect("record")).collect();
    assert_eq!(records.len(), total, "every user once");
    let ids: HashSet<&str> = records.iter().map(|r| &r[0]).collect();
    assert_eq!(ids.len(), total);
    let mut sorted: Vec<&str> = records.iter().map(|r| &r[0]).collect();
    sorted.sort();
    assert!(records.iter().map(|r| &r[0]).eq(sorted), "in id order");
    assert!(!csv.contains("later@x.example") && !csv.contains("@beta.example"));
    let zeta = records
        .iter()
        .find(|r| &r[1] == "zeta@x.example")
        .expect("zeta");
    assert_eq!(
        (&zeta[2], &zeta[3], &zeta[4], &zeta[6]),
        ("Zeta", "Quote", "Co; \"Inc\"", "true")
    );
    let formula = records
        .iter()
        .find(|r| &r[1] == "formula@x.example")
        .expect("formula row");
    assert_eq!(&formula[4], "'=1+1", "a spreadsheet does not run it");
    assert!(
        csv.contains(";zeta@x.example;Zeta;Quote;\"Co; \"\"Inc\"\"\";active;true;ADMIN;")
            || csv.contains(";zeta@x.example;Zeta;Quote;\"Co; \"\"Inc\"\"\";invited;true;ADMIN;"),
        "the quoted field as written: {}",
        csv.lines()
            .find(|l| l.contains("zeta@"))
            .unwrap_or_default()
    );
    assert!(
        csv.contains(";formula@x.example;Formula;;\"'=1+1\";"),
        "{}",
        csv.lines()
            .find(|l| l.contains("formula@"))
            .unwrap_or_default()
    );
    let done = app
        .get(&format!("{}/{id}", jobs(&acme)), &acme.token)
        .await
        .expect(200);
    assert_eq!(
        (done["state"].as_str(), done["rows_done"].as_u64()),
        (Some("succeeded"), Some(total as u64)),
        "{done}"
    );
    // JSON lines, filtered: a search and active users only.
    let job = app
        .post(
            &format!("{}/export", jobs(&acme)),
            &acme.token,
            json!({ "format": "jsonl", "filter": { "search": "ROW E11", "active_only": true } }),
        )
        .await
        .expect(201);
    let id = job["id"].as_str().expect("id");
    let (status, text) = raw(
        &app,
        Method::GET,
        &format!("{}/{id}/result", jobs(&acme)),
        &acme.token,
        "",
        "text/plain",
    )
    .await;
    assert_eq!(status, 200);
    let users: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect();
    // e11, e110..e119, e1100..e1199.
    assert_eq!(users.len(), 111, "{}", users.len());
    assert_eq!(job["rows_total"], 111);
    assert!(users.iter().all(
        |u| u["email"].as_str().is_some_and(|e| e.starts_with("e11"))
            && u["roles"] == json!(["VIEWER"])
            || u["roles"].is_array()
    ));
    // Each line is what `json!` renders of its fields: keys in the same order, the same
    // escapes (the quotes and the `;` of Zeta's company below).
    for line in text.lines() {
        let v: Value = serde_json::from_str(line).expect("json line");
        assert_eq!(line, v.to_string());
    }
    let job = app
        .post(
            &format!("{}/export", jobs(&acme)),
            &acme.token,
            json!({ "format": "jsonl", "filter": { "search": "zeta@" } }),
        )
        .await
        .expect(201);
    let id = job["id"].as_str().expect("id");
    let (status, text) = raw(
        &app,
        Method::GET,
        &format!("{}/{id}/result", jobs(&acme)),
        &acme.token,
        "",
        "text/plain",
    )
    .await;
    assert_eq!(status, 200);
    let zeta: Value = serde_json::from_str(text.trim_end()).expect("one json line");
    assert_eq!(
        text,
        format!(
            "{}\n",
            json!({
                "id": zeta["id"], "email": "zeta@x.example", "first_name": "Zeta",
                "last_name": "Quote", "company": "Co; \"Inc\"", "status": zeta["status"],
                "is_admin": true, "roles": ["ADMIN"], "created_at": zeta["created_at"],
            })
        )
    );
    assert!(
        zeta["status"].is_string() && zeta["created_at"].is_string() && zeta["id"].is_string(),
        "{zeta}"
    );
    // A cancelled export has nothing to download.
    let job = app
        .post(&format!("{}/export", jobs(&acme)), &acme.token, json!({}))
        .await
        .expect(201);
    let id = job["id"].as_str().expect("id");
    assert_eq!(cancel(&app, &acme, id).await["state"], "cancelled");
    let (status, _) = raw(
        &app,
        Method::GET,
        &format!("{}/{id}/result", jobs(&acme)),
        &acme.token,
        "",
        "text/plain",
    )
    .await;
    assert_eq!(status, 409);
    // Another organization's administrator sees none of it.
    for (method, path) in [
        (Method::GET, jobs(&acme)),
        (Method::GET, format!("{}/{id}", jobs(&acme))),
        (Method::GET, format!("{}/{id}/result", jobs(&acme))),
        (Method::DELETE, format!("{}/{id}", jobs(&acme))),
        (Method::POST, format!("{}/{id}/cancel", jobs(&acme))),
        (Method::POST, format!("{}/export", jobs(&acme))),
        (Method::POST, format!("{}/import", jobs(&acme))),
    ] {
        let (status, text) = raw(
            &app,
            method.clone(),
            &path,
            &beta.token,
            "{}",
            "application/json",
        )
        .await;
        assert_eq!(status, 403, "{method} {path}: {text}");
        assert!(!text.contains(id) && !text.contains("@x.example"), "{text}");
    }
    let (status, _) = raw(
        &app,
        Method::GET,
        &format!("{}/{id}", jobs(&beta)),
        &beta.token,
        "",
        "text/plain",
    )
    .await;
    assert_eq!(status, 404, "a job is found only in its organization");
}

#[tokio::test]
async fn bad_input_is_a_4xx_naming_the_field() {
    let app = TestApp::spawn().await;
    let acme = app.bootstrap("acme").await;
    let path = format!("{}/import", jobs(&acme));
    for (query, field) in [
        ("format=xml", "format"),
        ("rows=-1", "rows"),
        ("rows=many", "rows"),
        ("language=xx", "language"),
    ] {
        let (status, text) = raw(
            &app,
            Method::POST,
            &format!("{path}?{query}"),
            &acme.token,
            "a@x.example;A;;ADMIN;;;;\n",
            "text/csv",
        )
        .await;
        assert_eq!(status, 422, "{query}: {text}");
        let body: Value = serde_json::from_str(&text).expect("json");
        assert_eq!(
            body["detail"][0]["loc"],
            json!(["query", field]),
            "{query}: {text}"
        );
    }
    // An empty file ends its job failed, and nothing was written.
    let (status, text) = raw(&app, Method::POST, &path, &acme.token, "\n\n", "text/csv").await;
    let job: Value = serde_json::from_str(&text).expect("json");
    assert_eq!(
        (status, job["state"].as_str()),
        (201, Some("failed")),
        "{text}"
    );
    assert!(
        job["message"]
            .as_str()
            .is_some_and(|m| m.contains("no users")),
        "{text}"
    );
    // An unclosed quote cannot make the server hold the rest of the file.
    let huge = format!("a@x.example;\"{}", "x".repeat(1 << 21));
    let (status, text) = raw(&app, Method::POST, &path, &acme.token, &huge, "text/csv").await;
    let job: Value = serde_json::from_str(&text).expect("json");
    assert_eq!(
        (status, job["state"].as_str()),
        (201, Some("failed")),
        "{text}"
    );
    assert!(
        job["message"]
            .as_str()
            .is_some_and(|m| m.contains("longer than")),
        "{text}"
    );
    let export = format!("{}/export", jobs(&acme));
    for (body, loc) in [
        (json!({ "format": "xml" }), json!(["body", "format"])),
        (
            json!({ "filter": { "search": "x".repeat(201) } }),
            json!(["body", "filter", "search"]),
        ),
        (
            json!({ "filter": { "status": "active" } }),
            json!(["body", "filter", "status"]),
        ),
        (json!({ "colour": "red" }), json!(["body", "colour"])),
    ] {
        let r = app.post(&export, &acme.token, body.clone()).await;
        assert_eq!(r.status.as_u16(), 422, "{body}: {}", r.body);
        assert_eq!(r.body["detail"][0]["loc"], loc, "{body}: {}", r.body);
    }
    let r = app
        .get(
            &format!("{}/0193c1a2-7f3e-7a10-9c55-5b1d2e3f4a5b", jobs(&acme)),
            &acme.token,
        )
        .await;
    assert_eq!(r.status.as_u16(), 404, "{}", r.body);
    let (_, text) = raw(
        &app,
        Method::POST,
        &path,
        &acme.token,
        "n@x.example;N;;ADMIN;;;;\n",
        "text/csv",
    )
    .await;
    let job: Value = serde_json::from_str(&text).expect("json");
    let id = job["id"].as_str().expect("id");
    let r = app
        .delete(&format!("{}/{id}", jobs(&acme)), &acme.token)
        .await;
    assert_eq!(
        r.status.as_u16(),
        409,
        "a finished job is not cancelled: {}",
        r.body
    );
}

/// Users seeded for the exports of more than ten pages: their JSON lines (about 9 MB) are more
/// than the socket buffers of a connection that reads nothing can take in.
const MANY: usize = 40_000;

/// An export's download over a raw connection with a small receive buffer, of which only the
/// head and the first bytes of the body are read; what the test does next is its business.
async fn start_download(app: &TestApp, path: &str, token: &str) -> TcpStream {
    read_download(app, path, token, 0).await
}

/// A download read past its header, 2 KB and `lines` lines, then left unread.
async fn read_download(app: &TestApp, path: &str, token: &str, lines: usize) -> TcpStream {
    let host = app.base.trim_start_matches("http://").to_owned();
    let addr = tokio::net::lookup_host(&host)
        .await
        .expect("address")
        .next()
        .expect("an address");
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()
    } else {
        tokio::net::TcpSocket::new_v6()
    }
    .expect("socket");
    socket.set_recv_buffer_size(4096).expect("receive buffer");
    // Small segments: the server's send buffer is sized from them, so it holds little too.
    let mss: libc::c_int = 536;
    // SAFETY: a valid socket and an int option of the size given.
    let set = unsafe {
        libc::setsockopt(
            std::os::fd::AsRawFd::as_raw_fd(&socket),
            libc::IPPROTO_TCP,
            libc::TCP_MAXSEG,
            std::ptr::addr_of!(mss).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    assert_eq!(set, 0, "TCP_MAXSEG");
    let mut s = socket.connect(addr).await.expect("connect");
    let head = format!(
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n"
    );
    s.write_all(head.as_bytes()).await.expect("request");
    let mut got = Vec::new();
    let mut buf = [0u8; 1024];
    // Counted as the bytes arrive: scanning all that came on every read made twelve thousand
    // lines (2.7 MB in 1 KB reads) cost 27 s of CPU in this unoptimised binary.
    let (mut headed, mut newlines) = (false, 0);
    while !headed || got.len() < 2048 || newlines < lines {
        let n = s.read(&mut buf).await.expect("read");
        assert!(n > 0, "{}", String::from_utf8_lossy(&got));
        let from = got.len().saturating_sub(3);
        got.extend_from_slice(&buf[..n]);
        headed = headed || got[from..].windows(4).any(|w| w == b"\r\n\r\n");
        newlines += buf[..n].iter().filter(|b| **b == b'\n').count();
    }
    assert!(
        got.starts_with(b"HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&got)
    );
    s
}

async fn job_state(app: &TestApp, org: &Org, id: &str) -> Value {
    app.get(&format!("{}/{id}", jobs(org)), &org.token)
        .await
        .expect(200)
}

/// An organization of `MANY` users and a JSON lines export of them: the organization, its
/// number of users, the job's id and its result's path.
async fn many_exported(app: &TestApp) -> (Org, usize, String, String) {
    let acme = app.bootstrap("acme").await;
    crate::browser_console::seed(app, &acme.id, MANY).await;
    let total = app.count_users(&acme.id).await;
    let job = app
        .post(
            &format!("{}/export", jobs(&acme)),
            &acme.token,
            json!({ "format": "jsonl" }),
        )
        .await
        .expect(201);
    let id = job["id"].as_str().expect("id").to_owned();
    let result = format!("{}/{id}/result", jobs(&acme));
    (acme, total, id, result)
}

#[tokio::test]
async fn an_export_succeeds_only_when_its_whole_file_was_taken_not_when_its_last_page_was_read() {
    let app = TestApp::spawn().await;
    let (acme, total, id, result) = many_exported(&app).await;
    // Only the start read, then the client reads no more: the job runs on, though the server
    // has read the last of its five pages ahead of what the buffers took.
    let beta = app.bootstrap("beta").await;
    crate::browser_console::seed(&app, &beta.id, 4_000).await;
    let five = app
        .post(
            &format!("{}/export", jobs(&beta)),
            &beta.token,
            json!({ "format": "jsonl" }),
        )
        .await
        .expect(201);
    let five_id = five["id"].as_str().expect("id");
    let five_result = format!("{}/{five_id}/result", jobs(&beta));
    for (org, result) in [(&beta, &five_result), (&acme, &result)] {
        let conn = start_download(&app, result, &org.token).await;
        tokio::time::sleep(Duration::from_millis(500)).await;
        let job = result
            .trim_end_matches("/result")
            .rsplit('/')
            .next()
            .expect("id");
        let now = job_state(&app, org, job).await;
        assert_eq!(now["state"], "running", "{now}");
        drop(conn);
    }
    // A HEAD sends no file: it ends nothing either, not even an export of one page.
    let small = app
        .post(
            &format!("{}/export", jobs(&acme)),
            &acme.token,
            json!({ "format": "csv", "filter": { "search": "p00001" } }),
        )
        .await
        .expect(201);
    let small_id = small["id"].as_str().expect("id");
    let r = app
        .client
        .head(format!("{}{}/{small_id}/result", app.base, jobs(&acme)))
        .bearer_auth(&acme.token)
        .send()
        .await
        .expect("head");
    assert_eq!(r.status(), 200);
    let r = app
        .client
        .head(format!("{}{result}", app.base))
        .bearer_auth(&acme.token)
        .send()
        .await
        .expect("head");
    assert_eq!(r.status(), 200);
    tokio::time::sleep(Duration::from_millis(200)).await;
    for job in [&id, small_id] {
        let now = job_state(&app, &acme, job).await;
        assert_eq!(now["state"], "running", "{now}");
    }
    // A download left after twelve pages, past its first progress mark (ten pages): it counts
    // what it read up to the mark, and the complete download below counts no row twice.
    let conn = read_download(&app, &result, &acme.token, 12_000).await;
    let marked = until(
        || async { job_state(&app, &acme, &id).await },
        |j| j["rows_done"].as_u64() >= Some(10_000),
    )
    .await;
    assert_eq!(marked["state"], "running", "{marked}");
    drop(conn);
    // A complete download: every user once, in more than ten pages, then succeeded.
    let (status, text) = raw(&app, Method::GET, &result, &acme.token, "", "text/plain").await;
    assert_eq!(status, 200);
    let users: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect();
    assert_eq!(users.len(), total);
    let ids: HashSet<&str> = users.iter().filter_map(|u| u["id"].as_str()).collect();
    assert_eq!(ids.len(), total, "every user once");
    let done = job_state(&app, &acme, &id).await;
    assert_eq!(done["state"], "succeeded", "{done}");
    // The downloads left above count no row twice: the record keeps the furthest one.
    assert_eq!(done["rows_done"].as_u64(), Some(total as u64), "{done}");
    // The id and creation time are the user's own, as the store has them.
    for u in [&users[0], &users[total / 2], &users[total - 1]] {
        let uid = u["id"].as_str().expect("id");
        let user = app
            .state
            .core
            .store
            .get_user(
                &roster_domain::types::OrgId::from(acme.id.as_str()),
                &roster_domain::types::UserId::from(uid),
            )
            .await
            .expect("read")
            .expect("the exported user exists");
        assert_eq!(user.id.as_str(), uid);
        assert_eq!(u["email"], user.email);
        assert_eq!(
            u["created_at"],
            roster_domain::types::format_micros(user.created_at),
            "{u}"
        );
    }
}

#[tokio::test]
async fn a_cancelled_export_cuts_its_download_off_with_an_error_within_a_few_pages() {
    let app = TestApp::spawn().await;
    let (acme, total, id, result) = many_exported(&app).await;
    // The client takes the start, then waits: the server is held by the full buffers.
    let mut conn = start_download(&app, &result, &acme.token).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(cancel(&app, &acme, &id).await["state"], "cancelled");
    // The rest read: what was buffered and at most a few pages more, then the body is cut off
    // (no last chunk of the chunked encoding): not a file that looks complete.
    let mut rest = Vec::new();
    tokio::time::timeout(Duration::from_secs(20), conn.read_to_end(&mut rest))
        .await
        .expect("the download stops")
        .ok();
    let lines = rest.iter().filter(|b| **b == b'\n').count();
    // About 3 pages were in the buffers (hyper's and the sockets'), and at most 3 pages more
    // are read after the cancel (not up to the next progress mark, 10 pages on).
    assert!(lines < 8_000, "{lines} of {total} lines after the cancel");
    assert!(
        !rest.ends_with(b"\r\n0\r\n\r\n"),
        "a cancelled download ends cleanly: {}",
        String::from_utf8_lossy(&rest[rest.len().saturating_sub(200)..])
    );
    let now = job_state(&app, &acme, &id).await;
    assert_eq!(now["state"], "cancelled", "{now}");
}
