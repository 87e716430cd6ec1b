//! The `roster` process under test: migrated, bootstrapped and served from a scratch directory.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use serde_json::Value;
use tokio::process::{Child, Command};

/// A running server, or one the caller pointed at.
pub struct Server {
    pub base: String,
    child: Option<Child>,
    pub pid: Option<u32>,
    roster: PathBuf,
    data_dir: PathBuf,
    database_url: String,
    pub log: Option<PathBuf>,
}

/// The resident set of process `pid` now, in KiB (Linux `/proc`).
pub fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// What `roster bootstrap --json` prints.
#[derive(Debug, Clone)]
pub struct Bootstrapped {
    pub org_id: String,
    pub org_uuid: String,
    pub admin_id: String,
    pub key_id: String,
    pub key: String,
}

pub const INGEST_TOKEN: &str = "roster-bench-ingest";

impl Server {
    /// Starts `roster serve` on a free loopback port, with rate limits off, no email delivery
    /// (queued emails stay in the outbox) and webhooks allowed to loopback, and waits until it
    /// answers.
    pub async fn start(
        roster: &Path,
        data_dir: &Path,
        database_url: &str,
        existing: Option<&str>,
    ) -> anyhow::Result<Self> {
        let mut server = Server {
            base: String::new(),
            child: None,
            pid: None,
            roster: roster.to_owned(),
            data_dir: data_dir.to_owned(),
            database_url: database_url.to_owned(),
            log: None,
        };
        server.roster_cmd(&["migrate"]).await?;
        if let Some(url) = existing {
            server.base = url.trim_end_matches('/').to_owned();
            return Ok(server);
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let bind = format!("127.0.0.1:{port}");
        let log = data_dir.join("server.log");
        let mut cmd = Command::new(roster);
        cmd.arg("serve")
            .args(["--bind", &bind])
            .args(["--public-url", &format!("http://{bind}")])
            .args(["--rate-limits", "off"])
            .args(["--mail-workers", "0"])
            .args(["--ingest-token", INGEST_TOKEN])
            .args(["--max-csv-bytes", &(512usize << 20).to_string()])
            .args(["--token-ttl-secs", "86400"])
            // The webhook rounds deliver to the bench's own receiver on loopback.
            .args(["--webhook-allow-private", "true"]);
        server.common_args(&mut cmd);
        let child = cmd
            .env("ROSTER_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log)?)
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting {}", roster.display()))?;
        server.pid = child.id();
        server.child = Some(child);
        server.base = format!("http://{bind}");
        server.log = Some(log.clone());
        let client = reqwest::Client::new();
        let started = Instant::now();
        loop {
            if let Ok(r) = client.get(format!("{}/readyz", server.base)).send().await {
                if r.status().is_success() {
                    break;
                }
            }
            if started.elapsed() > Duration::from_secs(60) {
                bail!(
                    "roster serve did not become ready within 60 s; see {}",
                    log.display()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Ok(server)
    }

    fn common_args(&self, cmd: &mut Command) {
        cmd.args(["--data-dir", &self.data_dir.display().to_string()])
            .args(["--database-url", &self.database_url]);
        // The bench sets every setting it relies on; an operator's environment must not change them.
        for (k, _) in std::env::vars() {
            if k.starts_with("ROSTER_") {
                cmd.env_remove(k);
            }
        }
    }

    async fn roster_cmd(&self, args: &[&str]) -> anyhow::Result<String> {
        let mut cmd = Command::new(&self.roster);
        cmd.args(args);
        self.common_args(&mut cmd);
        let out = cmd
            .env("ROSTER_LOG", "warn")
            .output()
            .await
            .with_context(|| format!("running {}", self.roster.display()))?;
        if !out.status.success() {
            bail!(
                "roster {} failed: {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// A new organization with its administrator and an API key, made by `roster bootstrap`.
    pub async fn bootstrap(&self, org: &str) -> anyhow::Result<Bootstrapped> {
        let email = format!("admin@{org}.bench.example");
        let out = self
            .roster_cmd(&[
                "bootstrap",
                "--org",
                org,
                "--org-name",
                &format!("{org} (bench)"),
                "--admin-email",
                &email,
                "--admin-name",
                "Bench Admin",
                "--json",
            ])
            .await?;
        let v: Value = serde_json::from_str(out.trim()).context("bootstrap output")?;
        let s = |k: &str| v[k].as_str().unwrap_or_default().to_owned();
        Ok(Bootstrapped {
            org_id: s("org_id"),
            org_uuid: s("org_uuid"),
            admin_id: s("user_id"),
            key_id: s("api_key_id"),
            key: s("api_key"),
        })
    }

    /// The server's resident memory now and at its peak, in MiB (Linux `/proc`).
    pub fn rss_mib(&self) -> Option<(f64, f64)> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid?)).ok()?;
        let field = |name: &str| {
            status
                .lines()
                .find(|l| l.starts_with(name))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
                .map(|kb| kb / 1024.0)
        };
        Some((field("VmRSS:")?, field("VmHWM:")?))
    }

    /// Stops the server with SIGTERM, as an operator would, and waits for it.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        if let (Some(mut child), Some(pid)) = (self.child.take(), self.pid) {
            let _ = std::process::Command::new("kill")
                .args(["-TERM", &pid.to_string()])
                .status();
            match tokio::time::timeout(Duration::from_secs(30), child.wait()).await {
                Ok(status) => {
                    let status = status?;
                    if !status.success() {
                        bail!("roster serve exited with {status}");
                    }
                }
                Err(_) => {
                    child.kill().await?;
                    bail!("roster serve did not stop within 30 s of SIGTERM");
                }
            }
        }
        Ok(())
    }
}
