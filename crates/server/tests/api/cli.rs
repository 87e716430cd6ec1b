//! The `roster` binary itself: `--help`, `bootstrap --json`, `serve` start-up and shutdown.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
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

#[test]
fn help_documents_every_setting() {
    let out = roster().arg("--help").output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    for var in [
        "ROSTER_BIND",
        "ROSTER_DATA_DIR",
        "ROSTER_DATABASE_URL",
        "ROSTER_PUBLIC_URL",
        "ROSTER_SMTP_URL",
        "ROSTER_REDIS_URL",
        "ROSTER_REDIS_PREFIX",
        "ROSTER_REDIS_TIMEOUT_MS",
        "ROSTER_RATE_LIMITS",
        "ROSTER_LOG_FORMAT",
        "ROSTER_INGEST_TOKEN",
        "ROSTER_AUDIT_RETENTION_DAYS",
        "ROSTER_CONFIG",
    ] {
        assert!(text.contains(var), "{var} missing from --help:\n{text}");
    }
    for cmd in ["serve", "bootstrap", "migrate", "maintenance"] {
        assert!(text.contains(cmd), "{cmd}");
    }
}

#[tokio::test]
async fn serve_bootstrap_and_graceful_shutdown() {
    let tmp = tempfile::tempdir().unwrap();
    let url = test_database_url(tmp.path()).await;
    let data = tmp.path().join("data");
    let mut server = roster()
        .args(["serve", "--bind", "127.0.0.1:0"])
        .env("ROSTER_DATA_DIR", &data)
        .env("ROSTER_DATABASE_URL", &url)
        .env("ROSTER_LOG_FORMAT", "json")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The listening line carries the address; no fixed ports, no sleeping.
    let stderr = server.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let mut addr = None;
    while addr.is_none() {
        let line = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("server logs its address");
        let v: Value = serde_json::from_str(&line).unwrap_or(Value::Null);
        if v["message"] == "roster listening" {
            addr = v["bind"].as_str().map(str::to_owned);
        }
    }
    let base = format!("http://{}", addr.unwrap());
    let creds = data.join("platform-admin.json");
    assert!(
        creds.exists(),
        "serve on an empty database writes the platform credentials"
    );

    // bootstrap works while the server runs, on the same database.
    let out = roster()
        .args([
            "bootstrap",
            "--org",
            "acme",
            "--org-name",
            "Acme",
            "--admin-email",
            "admin@acme.example",
            "--api-key-name",
            "ci",
            "--json",
        ])
        .env("ROSTER_DATABASE_URL", &url)
        .env("ROSTER_DATA_DIR", &data)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let made: Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    for field in [
        "org_id",
        "org_uuid",
        "user_id",
        "api_key_id",
        "api_key",
        "expires_at",
    ] {
        assert!(made[field].is_string(), "{field} in {made}");
    }
    let client = reqwest::Client::new();
    let signed = client
        .post(format!("{base}/v1/acme/user/signin_with_api_key"))
        .header("x-api-key", made["api_key"].as_str().unwrap())
        .header("x-api-key-id", made["api_key_id"].as_str().unwrap())
        .header("x-user-id", made["user_id"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(signed.status(), 200);
    let again = roster()
        .args([
            "bootstrap",
            "--org",
            "acme",
            "--org-name",
            "Acme",
            "--admin-email",
            "a@acme.example",
            "--json",
        ])
        .env("ROSTER_DATABASE_URL", &url)
        .output()
        .unwrap();
    assert!(
        !again.status.success(),
        "an existing organization is not bootstrapped twice"
    );

    // import-users applies eva's bulk rules from the command line, while the server runs.
    let csv = tmp.path().join("users.csv");
    std::fs::write(&csv, "email;name;company;role;password;environmentUuid;environmentName;bot\nops@acme.example;Op Erator;;ADMIN;Str0ng!pw;;;\nbad;Bad;;ADMIN;;;;\n").unwrap();
    let imported = roster()
        .args(["import-users", "--org", "acme"])
        .arg(&csv)
        .env("ROSTER_DATABASE_URL", &url)
        .output()
        .unwrap();
    assert!(
        imported.status.success(),
        "{}",
        String::from_utf8_lossy(&imported.stderr)
    );
    assert!(String::from_utf8_lossy(&imported.stdout).contains("1 users imported, 1 rows rejected"));
    assert!(String::from_utf8_lossy(&imported.stderr).contains("bad: Column 'email'"));

    // maintenance on reaches the running server through the database.
    let m = roster()
        .args(["maintenance", "on"])
        .env("ROSTER_DATABASE_URL", &url)
        .output()
        .unwrap();
    assert!(m.status.success());
    let mut status = 0;
    for _ in 0..50 {
        status = client
            .get(format!("{base}/v1/acme/organization/"))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16();
        if status == 503 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(status, 503);

    let kill = Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let code = server.wait().unwrap();
    assert!(code.success(), "graceful shutdown exits 0: {code:?}");
    // Start-up names the email transport: by default, files in the data directory.
    let mut stdout = String::new();
    std::io::Read::read_to_string(&mut server.stdout.take().unwrap(), &mut stdout).unwrap();
    assert!(
        stdout.contains(&format!(
            "Email delivery: .eml files in {}",
            data.join("mail").display()
        )),
        "{stdout}"
    );
}

#[test]
fn unknown_database_schemes_are_refused() {
    let out = roster()
        .args(["migrate", "--database-url", "mysql://localhost/x"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unsupported database URL"));
}

#[test]
fn malformed_or_clashing_clusters_are_refused_at_start() {
    let tmp = tempfile::tempdir().unwrap();
    let home = format!("sqlite:{}", tmp.path().join("home.db").display());
    let east = format!("sqlite:{}", tmp.path().join("east.db").display());
    for (clusters, says) in [
        ("east".to_owned(), "is not a name=URL pair"),
        (format!("main={east}"), "given twice"),
        (
            "east=mysql://localhost/x".to_owned(),
            "unsupported database URL",
        ),
    ] {
        let out = roster()
            .args(["migrate", "--database-url", &home, "--clusters", &clusters])
            .output()
            .unwrap();
        assert!(!out.status.success(), "{clusters}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(says), "{clusters}: {err}");
    }
    let out = roster()
        .args([
            "migrate",
            "--database-url",
            &home,
            "--clusters",
            &format!("east={east}"),
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        said.contains("cluster main") && said.contains("cluster east"),
        "{said}"
    );
}

/// The database URL `roster migrate` used, from its output.
fn migrated_to(c: &mut Command) -> String {
    let out = c.arg("migrate").output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn a_config_file_fills_what_flags_and_variables_leave_unset() {
    let tmp = tempfile::tempdir().unwrap();
    let db = |name: &str| format!("sqlite:{}", tmp.path().join(name).display());
    let file = tmp.path().join("roster.toml");
    std::fs::write(
        &file,
        format!(
            "database_url = \"{}\"\ndb_max_connections = 4\nrate_limits = \"off\"\ntrusted_proxies = [\"10.0.0.0/8\", \"127.0.0.1\"]\n",
            db("file.db")
        ),
    )
    .unwrap();
    // File over default, through the flag and through the variable.
    assert!(migrated_to(roster().arg("--config").arg(&file)).contains("file.db"));
    assert!(migrated_to(roster().env("ROSTER_CONFIG", &file)).contains("file.db"));
    // Variable over file; flag over variable.
    let env = migrated_to(
        roster()
            .env("ROSTER_CONFIG", &file)
            .env("ROSTER_DATABASE_URL", db("env.db")),
    );
    assert!(env.contains("env.db"), "{env}");
    let flag = migrated_to(
        roster()
            .env("ROSTER_CONFIG", &file)
            .env("ROSTER_DATABASE_URL", db("env.db"))
            .args(["--database-url", &db("flag.db")]),
    );
    assert!(flag.contains("flag.db"), "{flag}");
    let after = roster()
        .arg("--config")
        .arg(&file)
        .args(["migrate", "--database-url", &db("sub.db")])
        .output()
        .unwrap();
    let after = String::from_utf8_lossy(&after.stdout);
    assert!(
        after.contains("sub.db"),
        "a flag after the command wins too: {after}"
    );

    // Unknown keys and bad values are refused, naming the file and the setting.
    for (text, needle) in [
        ("databse_url = \"sqlite:x.db\"\n", "databse_url"),
        ("db_max_connections = \"many\"\n", "db-max-connections"),
        ("log_format = \"xml\"\n", "log-format"),
        ("password_hash_cost = \"cheap\"\n", "password-hash-cost"),
        ("bind = [[1]]\n", "bind"),
        ("not toml at all", "TOML"),
    ] {
        std::fs::write(&file, text).unwrap();
        let out = roster()
            .arg("--config")
            .arg(&file)
            .arg("migrate")
            .output()
            .unwrap();
        assert!(!out.status.success(), "{text}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains(needle) && err.contains("roster.toml"),
            "{text}: {err}"
        );
    }
    let missing = roster()
        .args(["--config", "/nonexistent/roster.toml", "migrate"])
        .output()
        .unwrap();
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("/nonexistent/roster.toml"));
}
