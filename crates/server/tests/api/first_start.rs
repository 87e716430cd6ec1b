//! The first start, as a new user or an orchestrator meets it: several `roster` processes
//! opening one fresh database at once, the files the first start creates, and what the
//! binary says about itself (`--help`, the first start's lines, text logs in files).

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::Receiver;
use std::time::Duration;

use serde_json::Value;

use crate::helpers::test_database_url;

fn roster() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_roster"));
    for (k, _) in std::env::vars() {
        if k.starts_with("ROSTER_") {
            c.env_remove(k);
        }
    }
    c
}

/// The lines a child writes to `pipe`, as they come.
fn lines(pipe: impl Read + Send + 'static) -> Receiver<String> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(pipe).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    rx
}

/// Waits for a JSON-logging server to say it listens; `Err` with what it wrote when it exits
/// (or says nothing for a minute) first.
fn listening(server: &mut Child, log: &Receiver<String>) -> Result<String, String> {
    let mut seen = Vec::new();
    loop {
        match log.recv_timeout(Duration::from_secs(60)) {
            Ok(line) => {
                let v: Value = serde_json::from_str(&line).unwrap_or(Value::Null);
                if v["message"] == "roster listening" {
                    return Ok(v["bind"].as_str().unwrap_or_default().to_owned());
                }
                seen.push(line);
            }
            Err(_) => {
                let status = server.try_wait().ok().flatten();
                return Err(format!("exited {status:?}: {}", seen.join("\n")));
            }
        }
    }
}

fn stop(mut server: Child) {
    let _ = Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status();
    let _ = server.wait();
}

/// Two servers and `roster bootstrap` started at the same moment on one fresh database, five
/// times over: every one of them succeeds, and the schema and the platform organization exist
/// once. (Before, one of them died one time in three or four: `database is locked`, or a
/// migration's `already exists`.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn several_processes_opening_one_fresh_database_all_succeed() {
    for round in 0..5 {
        let tmp = tempfile::tempdir().unwrap();
        let url = test_database_url(tmp.path()).await;
        let data = tmp.path().join("data");
        let start = |args: &[&str]| {
            roster()
                .args(args)
                .env("ROSTER_DATA_DIR", &data)
                .env("ROSTER_DATABASE_URL", &url)
                .env("ROSTER_LOG_FORMAT", "json")
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        };
        let mut servers: Vec<Child> = (0..2)
            .map(|_| start(&["serve", "--bind", "127.0.0.1:0"]))
            .collect();
        let boot = start(&[
            "bootstrap",
            "--org",
            "acme",
            "--org-name",
            "Acme",
            "--admin-email",
            "admin@acme.example",
            "--json",
        ]);
        let logs: Vec<Receiver<String>> = servers
            .iter_mut()
            .map(|s| lines(s.stderr.take().unwrap()))
            .collect();
        let boot = boot.wait_with_output().unwrap();
        let mut failures = Vec::new();
        if !boot.status.success() {
            failures.push(format!(
                "bootstrap: {}",
                String::from_utf8_lossy(&boot.stderr)
            ));
        }
        for (i, (s, log)) in servers.iter_mut().zip(&logs).enumerate() {
            if let Err(e) = listening(s, log) {
                failures.push(format!("server {i}: {e}"));
            }
        }
        for s in servers {
            stop(s);
        }
        assert!(failures.is_empty(), "round {round}: {failures:#?}");

        let db = roster_store::Db::connect(&url, &Default::default())
            .await
            .unwrap();
        assert!(db.migrations_current().await.unwrap(), "round {round}");
        let core = roster_domain::Core::new(
            std::sync::Arc::new(roster_store::SqlStore::single(db.clone())),
            Default::default(),
        );
        // The platform organization has a fixed id, so it can exist only once.
        let platform = core.store.find_organization("platform").await.unwrap();
        assert!(platform.is_some_and(|o| o.is_platform), "round {round}");
        assert!(core
            .store
            .find_organization("acme")
            .await
            .unwrap()
            .is_some());
        db.close().await;
    }
}

/// `roster --help` names `ROSTER_LOG`; `roster bootstrap --help` lists its own flags first and
/// the server-wide settings under a heading of their own.
#[test]
fn help_names_roster_log_and_keeps_bootstrap_flags_apart_from_settings() {
    let top = roster().arg("--help").output().unwrap();
    let top = String::from_utf8_lossy(&top.stdout);
    assert!(top.contains("ROSTER_LOG "), "{top}");
    let out = roster().args(["bootstrap", "--help"]).output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    let (own, settings) = text
        .split_once("Settings (every command")
        .unwrap_or_else(|| panic!("no settings heading:\n{text}"));
    for flag in [
        "--org ",
        "--org-name",
        "--admin-email",
        "--api-key-name",
        "--json",
    ] {
        assert!(
            own.contains(flag),
            "{flag} among bootstrap's own flags:\n{own}"
        );
    }
    for flag in [
        "--bind",
        "--database-url",
        "--smtp-url",
        "--config",
        "--rate-limits",
    ] {
        assert!(
            !own.contains(flag),
            "{flag} mixed into bootstrap's own flags:\n{own}"
        );
        assert!(
            settings.contains(flag),
            "{flag} under the settings:\n{settings}"
        );
    }
}

/// The first start on SQLite, as a new user runs it: the database and its WAL files are the
/// owner's only, text logs written to a pipe carry no colour codes, and the line about
/// `platform-admin.json` says what it is for and what to do next.
#[cfg(unix)]
#[test]
fn first_start_keeps_the_database_private_and_says_what_comes_next() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let mut server = roster()
        .args(["serve", "--bind", "127.0.0.1:0"])
        .env("ROSTER_DATA_DIR", &data)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let log = lines(server.stderr.take().unwrap());
    let out = lines(server.stdout.take().unwrap());
    let mut logged = Vec::new();
    while !logged
        .iter()
        .any(|l: &String| l.contains("roster listening"))
    {
        logged.push(
            log.recv_timeout(Duration::from_secs(60))
                .expect("the server starts"),
        );
    }
    let said: Vec<String> = std::iter::from_fn(|| out.recv_timeout(Duration::from_secs(5)).ok())
        .take_while(|l| !l.starts_with("Email delivery"))
        .collect();
    for file in ["roster.db", "roster.db-wal", "roster.db-shm"] {
        let mode = std::fs::metadata(data.join(file))
            .unwrap_or_else(|e| panic!("{file}: {e}"))
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{file} is {:o}", mode & 0o777);
    }
    stop(server);
    for line in &logged {
        assert!(!line.contains('\u{1b}'), "colour codes in a pipe: {line:?}");
    }
    let first = said
        .iter()
        .find(|l| l.contains("platform-admin.json"))
        .unwrap_or_else(|| panic!("no word on platform-admin.json: {said:?}"));
    for needle in [
        "readable only by you",
        "roster bootstrap",
        "signin_with_api_key",
        "Keep it secret",
    ] {
        assert!(first.contains(needle), "{needle} in: {first}");
    }
}
