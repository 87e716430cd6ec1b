//! The first start, as a new user or an orchestrator meets it: several `roster` processes
//! opening one fresh database at once.

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
        let core = roster_domain::Core::new(std::sync::Arc::new(db.clone()), Default::default());
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
