//! Roster's benchmark: a real `roster serve` at a given size, driven over loopback HTTP.
//!
//! It loads N users into one organization (and a few small organizations beside it) through eva's
//! bulk import, walks the whole organization with Amigo continuation tokens, then times each
//! operation of the issue: lists (first page, a page near the end, sorted), substring searches
//! (selective and unselective) on all three surfaces, quicksearch, SCIM lookups and pages, get
//! one user, sign in with an API key, invite, bulk imports with and without passwords, and the webhook deliveries of a bulk
//! import. Results carry the targets of `docs/performance.md` and the checks that the answers
//! were right.

mod console;
pub mod data;
mod exports;
mod imports;
mod lists;
pub mod load;
mod receiver;
mod report;
mod scim;
mod searches;
mod server;
mod throughput;
pub mod webhooks;
pub mod yardstick;

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::bail;
use load::{send, OpResult};
use serde::Serialize;
use serde_json::{json, Value};
use server::{Bootstrapped, Server, INGEST_TOKEN};

pub use report::{write_json, Check, Report};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// How to run the benchmark.
#[derive(Debug, Clone)]
pub struct Options {
    pub users: usize,
    pub backend: Backend,
    /// PostgreSQL database (required for `postgres`; it should be empty).
    pub database_url: Option<String>,
    /// A server already running on this database, instead of starting one.
    pub url: Option<String>,
    /// The `roster` binary to start.
    pub roster_bin: PathBuf,
    /// Small organizations beside the big one, and their size.
    pub other_orgs: usize,
    pub other_org_users: usize,
    /// How long each timed operation runs.
    pub seconds: f64,
    /// Clients at once for the throughput operations (get, sign-in, invite).
    pub concurrency: usize,
    /// Rows of the timed bulk imports.
    pub import_rows: usize,
    pub password_rows: usize,
    /// Rows per file while loading the organization.
    pub load_chunk: usize,
    /// Rows of each import of the webhook rounds (0: no webhook rounds), and how many rounds.
    pub webhook_rows: usize,
    pub webhook_rounds: usize,
    /// Skip the walk and every read operation: the load, the imports, the exports and the
    /// webhook rounds only.
    pub writes_only: bool,
    /// Only the load, Amigo's page of 100 and the exports: for before/after runs of the
    /// export path and the page of 100 (issue 20).
    pub exports_only: bool,
}

struct Bench {
    opts: Options,
    client: reqwest::Client,
    base: String,
    org: Bootstrapped,
    domain: String,
    env: (String, String),
    report: Report,
    /// The server's largest resident set (KiB) since the last operation was recorded.
    rss_kib: Arc<AtomicU64>,
}

const ENV_UUID: &str = "0b6f2c1e-5d0a-4c8e-9f00-000000000001";
const PAGE: usize = 50;

pub async fn run(opts: Options) -> anyhow::Result<Report> {
    let scratch = tempfile::tempdir()?;
    let database_url = match (opts.backend, &opts.database_url) {
        (Backend::Sqlite, None) => format!("sqlite:{}", scratch.path().join("roster.db").display()),
        (_, Some(u)) => u.clone(),
        (Backend::Postgres, None) => bail!("--backend postgres needs --database-url"),
    };
    let server = Server::start(
        &opts.roster_bin,
        scratch.path(),
        &database_url,
        opts.url.as_deref(),
    )
    .await?;
    let result = bench(&opts, &server).await;
    if result.is_err() {
        if let Some(log) = &server.log {
            let text = std::fs::read_to_string(log).unwrap_or_default();
            eprintln!("server log:\n{}", &text[text.len().saturating_sub(4000)..]);
        }
    }
    let stopped = server.stop().await;
    let report = result?;
    stopped?;
    Ok(report)
}

async fn bench(opts: &Options, server: &Server) -> anyhow::Result<Report> {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(opts.concurrency.max(8) * 2)
        .timeout(Duration::from_secs(600))
        .build()?;
    let org = server.bootstrap("bench").await?;
    let round_trip_us = yardstick::loopback_round_trip_us(&client).await?;
    let mut b = Bench {
        opts: opts.clone(),
        client,
        base: server.base.clone(),
        domain: "big.bench.example".into(),
        env: (ENV_UUID.into(), "Bench environment".into()),
        org,
        rss_kib: Arc::new(AtomicU64::new(0)),
        report: Report {
            users: opts.users,
            backend: opts.backend,
            cores,
            argon2_ms: yardstick::argon2_ms().await?,
            round_trip_us: 0.0,
            reference_argon2_ms: load::REFERENCE_ARGON2_MS,
            reference_round_trip_us: load::REFERENCE_ROUND_TRIP_US,
            load_seconds: 0.0,
            load_rows_per_sec: 0.0,
            load_rss_mib: None,
            walk_seconds: 0.0,
            operations: Vec::new(),
            rss_mib: None,
            peak_rss_mib: None,
            rss_target_met: None,
            ratios: Vec::new(),
            checks: Vec::new(),
            webhooks: None,
        },
    };
    b.report.round_trip_us = round_trip_us;
    // Sample the server's resident set, so that each operation reports its own peak.
    let sampler = server.pid.map(|pid| {
        let rss = b.rss_kib.clone();
        tokio::spawn(async move {
            loop {
                if let Some(kib) = server::rss_kib(pid) {
                    rss.fetch_max(kib, Ordering::Relaxed);
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
    });
    // The small organizations beside the big one.
    for k in 0..opts.other_orgs {
        let other = server.bootstrap(&format!("other{k}")).await?;
        let token = b.sign_in(&other, &other.admin_id).await?;
        b.environment(&other, &token).await?;
        let csv = data::bulk_csv(
            &format!("other{k}.bench.example"),
            0,
            opts.other_org_users,
            (&b.env.0, &b.env.1),
            None,
        );
        let out = b.bulk_create(&other, &token, csv).await?;
        b.check_applied(&format!("other{k} loaded"), opts.other_org_users, &out);
    }
    let token = b.admin_token().await?;
    b.environment(&b.org.clone(), &token).await?;
    // The big organization: N users, the administrator included.
    let target = opts.users.saturating_sub(1);
    let started = Instant::now();
    let mut from = 0;
    while from < target {
        let to = (from + opts.load_chunk).min(target);
        let csv = data::bulk_csv(&b.domain, from, to, (&b.env.0, &b.env.1), None);
        let t = Instant::now();
        let out = b.bulk_create(&b.org.clone(), &token, csv).await?;
        b.check_applied(&format!("load rows {from}..{to}"), to - from, &out);
        eprintln!(
            "load rows {from}..{to}: {:.1} s (server RSS peak so far {:.0} MiB)",
            t.elapsed().as_secs_f64(),
            b.rss_kib.load(Ordering::Relaxed) as f64 / 1024.0
        );
        from = to;
    }
    b.report.load_seconds = started.elapsed().as_secs_f64();
    b.report.load_rss_mib = Some(b.rss_kib.swap(0, Ordering::Relaxed) as f64 / 1024.0);
    b.report.load_rows_per_sec = target as f64 / b.report.load_seconds.max(1e-9);
    eprintln!("loaded {target} users in {:.1} s", b.report.load_seconds);
    if opts.exports_only {
        b.page_of_100(&token).await;
        b.exports(&token).await?;
    } else {
        b.all_operations(server, &token).await?;
    }
    if let Some(s) = sampler {
        s.abort();
    }
    if let Some((now, peak)) = server.rss_mib() {
        b.report.rss_mib = Some(now);
        b.report.peak_rss_mib = Some(peak);
        b.report.rss_target_met = Some(peak <= 256.0);
    }
    Ok(b.report)
}

impl Bench {
    /// Every timed operation after the load (the reads unless `--writes-only`).
    async fn all_operations(&mut self, server: &Server, token: &str) -> anyhow::Result<()> {
        if !self.opts.writes_only {
            let (sample_ids, near_end_token) = self.walk(token).await?;
            self.lists(token, near_end_token).await?;
            self.searches(token).await?;
            self.console(token).await?;
            self.scim(token).await?;
            self.throughput(token, sample_ids).await?;
        }
        self.imports(token).await?;
        self.exports(token).await?;
        self.webhooks(server).await
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    async fn sign_in(&self, org: &Bootstrapped, user_id: &str) -> anyhow::Result<String> {
        let v = send(
            self.client
                .post(self.url(&format!("/v1/{}/user/signin_with_api_key", org.org_id)))
                .header("x-api-key", &org.key)
                .header("x-api-key-id", &org.key_id)
                .header("x-user-id", user_id),
        )
        .await
        .map_err(|e| anyhow::anyhow!("sign-in: {e}"))?;
        Ok(v["id_token"].as_str().unwrap_or_default().to_owned())
    }

    async fn admin_token(&self) -> anyhow::Result<String> {
        self.sign_in(&self.org, &self.org.admin_id).await
    }

    /// The eva environment every loaded user is a supervisor of.
    async fn environment(&self, org: &Bootstrapped, _token: &str) -> anyhow::Result<()> {
        send(
            self.client
                .put(self.url(&format!(
                    "/ingest/v1/{}/environments/{}",
                    org.org_id, self.env.0
                )))
                .bearer_auth(INGEST_TOKEN)
                .json(&json!({ "name": self.env.1 })),
        )
        .await
        .map_err(|e| anyhow::anyhow!("environment: {e}"))?;
        Ok(())
    }

    async fn bulk_create(
        &self,
        org: &Bootstrapped,
        token: &str,
        csv: Vec<u8>,
    ) -> anyhow::Result<Value> {
        let form = reqwest::multipart::Form::new().part(
            "file",
            reqwest::multipart::Part::bytes(csv).file_name("users.csv"),
        );
        send(
            self.client
                .post(self.url(&format!("/org/{}/users/bulk-create", org.org_uuid)))
                .bearer_auth(token)
                .multipart(form),
        )
        .await
        .map_err(|e| anyhow::anyhow!("bulk-create: {e}"))
    }

    fn check(&mut self, name: &str, expected: impl ToString, actual: impl ToString) {
        let (expected, actual) = (expected.to_string(), actual.to_string());
        self.report.checks.push(Check {
            name: name.to_owned(),
            ok: expected == actual,
            expected,
            actual,
        });
    }

    /// Bulk answers list failed rows under `errors`; none are expected.
    fn check_applied(&mut self, name: &str, rows: usize, out: &Value) {
        let failed = out["errors"].as_array().map_or(0, Vec::len);
        self.check(&format!("{name}: rows failed"), 0, failed);
        let _ = rows;
    }

    /// Records an operation with the server's largest resident set seen while it ran.
    fn push(&mut self, mut op: OpResult) {
        let kib = self.rss_kib.swap(0, Ordering::Relaxed);
        op.rss_mib = (kib > 0).then(|| kib as f64 / 1024.0);
        let (rt, argon2, cores) = (
            self.report.round_trip_us,
            self.report.argon2_ms,
            self.report.cores,
        );
        if rt > 0.0 {
            op.p50_round_trips = Some(op.p50_ms * 1000.0 / rt);
            op.p99_round_trips = Some(op.p99_ms * 1000.0 / rt);
        }
        if let Some(goal) = op.goal {
            let ceiling = cores as f64 * 1000.0 / argon2.max(1e-9);
            op.target = Some(goal.text(ceiling));
            op.met = Some(goal.met(&op, ceiling));
            op.ratio = goal.ratio(&op, rt, argon2, cores);
        }
        self.report.operations.push(op);
    }

    fn duration(&self) -> Duration {
        Duration::from_secs_f64(self.opts.seconds)
    }
}
