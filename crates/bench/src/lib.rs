//! Roster's benchmark: a real `roster serve` at a given size, driven over loopback HTTP.
//!
//! It loads N users into one organization (and a few small organizations beside it) through eva's
//! bulk import, walks the whole organization with Amigo continuation tokens, then times each
//! operation of the issue: lists (first page, a page near the end, sorted), substring searches
//! (selective and unselective) on all three surfaces, quicksearch, get one user, sign in with an
//! API key, invite, and bulk imports with and without passwords. Results carry the targets of
//! `docs/performance.md` and the checks that the answers were right.

pub mod data;
pub mod load;
mod server;
pub mod yardstick;

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use load::{drive, send, OpResult};
use serde::Serialize;
use serde_json::{json, Value};
use server::{Bootstrapped, Server, INGEST_TOKEN};

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
}

/// A correctness check on what the server answered.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    pub name: String,
    pub expected: String,
    pub actual: String,
    pub ok: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub users: usize,
    pub backend: Backend,
    pub cores: usize,
    /// Median time of one argon2id hash with Roster's parameters, in this process: the
    /// yardstick of everything that hashes passwords.
    pub argon2_ms: f64,
    /// Median time of one bare HTTP round trip over loopback by the bench's client: the
    /// yardstick of every request's latency (see `yardstick.rs`).
    pub round_trip_us: f64,
    pub load_seconds: f64,
    pub load_rows_per_sec: f64,
    /// The server's largest resident set while loading.
    pub load_rss_mib: Option<f64>,
    pub walk_seconds: f64,
    pub operations: Vec<OpResult>,
    pub rss_mib: Option<f64>,
    pub peak_rss_mib: Option<f64>,
    pub rss_target_met: Option<bool>,
    pub ratios: Vec<(String, f64, bool)>,
    pub checks: Vec<Check>,
}

impl Report {
    pub fn all_checks_pass(&self) -> bool {
        self.checks.iter().all(|c| c.ok) && self.operations.iter().all(|o| o.errors == 0)
    }

    /// The human-readable table.
    pub fn table(&self) -> String {
        let mut s = format!(
            "roster-bench: {} users, {:?}, {} cores; load {:.1} s ({:.0} rows/s, RSS {:.0} MiB); walk {:.1} s\n\
             yardsticks of this run: argon2id {:.1} ms per hash (ceiling {:.0} hashes/s); loopback HTTP round trip {:.0} µs\n",
            self.users, self.backend, self.cores, self.load_seconds, self.load_rows_per_sec,
            self.load_rss_mib.unwrap_or(0.0), self.walk_seconds, self.argon2_ms,
            self.cores as f64 * 1000.0 / self.argon2_ms.max(1e-9), self.round_trip_us
        );
        s.push_str(&format!(
            "{:<34} {:>4} {:>7} {:>4} {:>11} {:>8} {:>8} {:>8} {:>8}  {}\n",
            "operation",
            "conc",
            "reqs",
            "err",
            "throughput",
            "p50 ms",
            "p90 ms",
            "p99 ms",
            "p50 RTs",
            "target"
        ));
        for o in &self.operations {
            let verdict = match o.met {
                Some(true) => "met",
                Some(false) => "MISSED",
                None => "",
            };
            s.push_str(&format!(
                "{:<34} {:>4} {:>7} {:>4} {:>7.0} {:<5} {:>6.2} {:>8.2} {:>8.2} {:>8.1} {:>7.0}  {} {}\n",
                o.name,
                o.concurrency,
                o.requests,
                o.errors,
                o.throughput,
                o.unit,
                o.p50_ms,
                o.p90_ms,
                o.p99_ms,
                o.p50_round_trips.unwrap_or(0.0),
                o.rss_mib.unwrap_or(0.0),
                o.target.clone().unwrap_or_default(),
                verdict
            ));
        }
        for (name, v, ok) in &self.ratios {
            s.push_str(&format!(
                "{name}: {v:.2} (target <= 1.5) {}\n",
                if *ok { "met" } else { "MISSED" }
            ));
        }
        if let (Some(now), Some(peak)) = (self.rss_mib, self.peak_rss_mib) {
            s.push_str(&format!(
                "server RSS {now:.0} MiB, peak {peak:.0} MiB (target <= 256) {}\n",
                if peak <= 256.0 { "met" } else { "MISSED" }
            ));
        }
        for c in &self.checks {
            s.push_str(&format!(
                "check {:<40} expected {:<10} got {:<10} {}\n",
                c.name,
                c.expected,
                c.actual,
                if c.ok { "ok" } else { "FAILED" }
            ));
        }
        s
    }
}

/// Median wall time of one argon2id hash with Roster's own parameters.
async fn argon2_ms() -> anyhow::Result<f64> {
    let mut times = Vec::new();
    for _ in 0..9 {
        let t = Instant::now();
        roster_domain::password::hash("Bench-password-1")
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        times.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    times.sort_by(f64::total_cmp);
    Ok(times[times.len() / 2])
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
            argon2_ms: argon2_ms().await?,
            round_trip_us: 0.0,
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
        let out = b.bulk_create(&b.org.clone(), &token, csv).await?;
        b.check_applied(&format!("load rows {from}..{to}"), to - from, &out);
        from = to;
    }
    b.report.load_seconds = started.elapsed().as_secs_f64();
    b.report.load_rss_mib = Some(b.rss_kib.swap(0, Ordering::Relaxed) as f64 / 1024.0);
    b.report.load_rows_per_sec = target as f64 / b.report.load_seconds.max(1e-9);
    eprintln!("loaded {target} users in {:.1} s", b.report.load_seconds);
    let (sample_ids, near_end_token) = b.walk(&token).await?;
    b.lists(&token, near_end_token).await?;
    b.searches(&token).await?;
    b.throughput(&token, sample_ids).await?;
    b.imports(&token).await?;
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

    /// Follows Amigo continuation tokens through the whole organization: every user once. Keeps
    /// the token of a page near the end, and a spread of user ids for the get-one operation.
    async fn walk(&mut self, token: &str) -> anyhow::Result<(Vec<String>, i64)> {
        let started = Instant::now();
        let mut seen = HashSet::with_capacity(self.opts.users);
        let mut samples = Vec::new();
        let mut cont = 0i64;
        let mut near_end = 0i64;
        let near = self.opts.users.saturating_sub(2 * PAGE);
        let mut latencies = Vec::new();
        loop {
            let t = Instant::now();
            let v = send(
                self.client
                    .get(self.url(&format!(
                        "/v1/{}/user/?limit=100&continuation_token={cont}",
                        self.org.org_id
                    )))
                    .bearer_auth(token),
            )
            .await
            .map_err(|e| anyhow::anyhow!("walk: {e}"))?;
            latencies.push(t.elapsed().as_micros() as u64);
            for u in v["users"].as_array().into_iter().flatten() {
                let id = u["user_id"].as_str().unwrap_or_default().to_owned();
                if seen.len() % 997 == 0 && samples.len() < 1000 {
                    samples.push(id.clone());
                }
                seen.insert(id);
            }
            if v["has_more"] != json!(true) {
                break;
            }
            cont = v["continuation_token"].as_i64().unwrap_or(0);
            if near_end == 0 && seen.len() >= near {
                near_end = cont;
            }
        }
        self.report.walk_seconds = started.elapsed().as_secs_f64();
        let mut op = load::Samples {
            micros: latencies,
            errors: 0,
            first_error: None,
            elapsed: started.elapsed(),
        }
        .result("amigo.list.walk (limit 100)", 1);
        op.target = Some("every user once".into());
        op.met = Some(seen.len() == self.opts.users);
        self.push(op);
        self.check("walk: distinct users seen", self.opts.users, seen.len());
        Ok((samples, near_end))
    }

    /// Records an operation with the server's largest resident set seen while it ran.
    fn push(&mut self, mut op: OpResult) {
        let kib = self.rss_kib.swap(0, Ordering::Relaxed);
        op.rss_mib = (kib > 0).then(|| kib as f64 / 1024.0);
        if self.report.round_trip_us > 0.0 {
            op.p50_round_trips = Some(op.p50_ms * 1000.0 / self.report.round_trip_us);
        }
        self.report.operations.push(op);
    }

    fn duration(&self) -> Duration {
        Duration::from_secs_f64(self.opts.seconds)
    }

    /// Times GET `path` from one client; `verify` checks each answer.
    async fn latency(
        &mut self,
        name: &str,
        path: String,
        token: &str,
        target_p99_ms: f64,
        verify: impl Fn(&Value) -> Result<(), String> + Send + Sync + 'static,
    ) -> OpResult {
        let client = self.client.clone();
        let url = self.url(&path);
        let token = token.to_owned();
        let verify = Arc::new(verify);
        let samples = drive(1, self.duration(), 20, move |_| {
            let req = client.get(&url).bearer_auth(&token);
            let verify = verify.clone();
            async move { verify(&send(req).await?) }
        })
        .await;
        let mut op = samples.result(name, 1);
        op.target = Some(format!("p99 <= {target_p99_ms} ms"));
        op.met = Some(op.errors == 0 && op.p99_ms <= target_p99_ms);
        self.push(op.clone());
        op
    }

    async fn lists(&mut self, token: &str, near_end: i64) -> anyhow::Result<()> {
        let org = self.org.org_id.clone();
        let uuid = self.org.org_uuid.clone();
        let n = self.opts.users;
        let full = |v: &Value| match v["users"].as_array().map(Vec::len) {
            Some(l) if l > 0 => Ok(()),
            _ => Err("empty page".to_owned()),
        };
        let first = self
            .latency(
                "amigo.list.first",
                format!("/v1/{org}/user/?limit={PAGE}"),
                token,
                10.0,
                full,
            )
            .await;
        let last = self
            .latency(
                "amigo.list.near_end (token)",
                format!("/v1/{org}/user/?limit={PAGE}&continuation_token={near_end}"),
                token,
                10.0,
                full,
            )
            .await;
        self.ratio("amigo last/first p50", &last, &first);
        for sort in ["last_name", "-user_stats.last_message_time"] {
            self.latency(
                &format!("amigo.list.sort {sort}"),
                format!("/v1/{org}/user/?limit={PAGE}&sort_by={sort}"),
                token,
                15.0,
                full,
            )
            .await;
        }
        // eva: Spring pages from 0, total in totalElements (users are all active).
        let content = |v: &Value| match v["content"].as_array().map(Vec::len) {
            Some(l) if l > 0 => Ok(()),
            _ => Err(format!(
                "empty page: {}",
                v.to_string().chars().take(200).collect::<String>()
            )),
        };
        let eva = format!("/org/{uuid}/users?linesPerPage={PAGE}&orderBy=name&direction=ASC");
        let first = self
            .latency(
                "eva.list.first",
                format!("{eva}&page=0"),
                token,
                10.0,
                content,
            )
            .await;
        let last_page = (n - 1) / PAGE;
        let last = self
            .latency(
                "eva.list.near_end (page number)",
                format!("{eva}&page={}", last_page.saturating_sub(1)),
                token,
                10.0,
                content,
            )
            .await;
        self.ratio("eva last/first p50", &last, &first);
        let total = send(
            self.client
                .get(self.url(&format!("{eva}&page=0")))
                .bearer_auth(token),
        )
        .await
        .map_err(|e| anyhow::anyhow!("eva list: {e}"))?;
        self.check("eva totalElements", n, &total["totalElements"]);
        self.latency(
            "eva.list.sort createdAt DESC",
            format!(
                "/org/{uuid}/users?linesPerPage={PAGE}&orderBy=createdAt&direction=DESC&page=0"
            ),
            token,
            15.0,
            content,
        )
        .await;
        // org-user-management: page_number from 1, count of accepted members.
        let items = |v: &Value| match v["items"].as_array().map(Vec::len) {
            Some(l) if l > 0 => Ok(()),
            _ => Err("empty page".to_owned()),
        };
        let first = self
            .latency(
                "oum.list.first",
                format!("/users?page_size={PAGE}&page_number=1"),
                token,
                10.0,
                items,
            )
            .await;
        let last = self
            .latency(
                "oum.list.near_end (page number)",
                format!("/users?page_size={PAGE}&page_number={}", last_page),
                token,
                10.0,
                items,
            )
            .await;
        self.ratio("oum last/first p50", &last, &first);
        let count = send(
            self.client
                .get(self.url("/users?page_size=1&page_number=1"))
                .bearer_auth(token),
        )
        .await
        .map_err(|e| anyhow::anyhow!("oum list: {e}"))?;
        self.check("oum count", n, &count["count"]);
        Ok(())
    }

    fn ratio(&mut self, name: &str, last: &OpResult, first: &OpResult) {
        let r = last.p50_ms / first.p50_ms.max(1e-6);
        self.report.ratios.push((name.to_owned(), r, r <= 1.5));
    }

    async fn searches(&mut self, token: &str) -> anyhow::Result<()> {
        let org = self.org.org_id.clone();
        let uuid = self.org.org_uuid.clone();
        let n = self.opts.users.saturating_sub(1);
        for (kind, term, target) in [
            ("selective", data::SELECTIVE, 50.0),
            ("unselective", data::UNSELECTIVE, 100.0),
        ] {
            let expected = data::count_matching(&self.domain, n, term);
            let found = |key: &'static str| {
                move |v: &Value| match v[key].as_array().map(Vec::len) {
                    Some(l) if l > 0 => Ok(()),
                    _ => Err(format!("no match in {key}")),
                }
            };
            self.latency(
                &format!("amigo.search {kind}"),
                format!("/v1/{org}/user/search/?query={term}"),
                token,
                target,
                found("users"),
            )
            .await;
            self.latency(
                &format!("eva.list searchTerms {kind}"),
                format!("/org/{uuid}/users?linesPerPage={PAGE}&page=0&orderBy=name&direction=ASC&searchTerms={term}"),
                token,
                target,
                found("content"),
            )
            .await;
            self.latency(
                &format!("oum.list name_search {kind}"),
                format!("/users?page_size={PAGE}&page_number=1&name_search={term}"),
                token,
                target,
                found("items"),
            )
            .await;
            let eva = send(
                self.client
                    .get(self.url(&format!(
                        "/org/{uuid}/users?linesPerPage=1&page=0&searchTerms={term}"
                    )))
                    .bearer_auth(token),
            )
            .await
            .map_err(|e| anyhow::anyhow!("eva search: {e}"))?;
            self.check(
                &format!("eva matches '{term}'"),
                expected,
                &eva["totalElements"],
            );
            let oum = send(
                self.client
                    .get(self.url(&format!(
                        "/users?page_size=1&page_number=1&name_search={term}"
                    )))
                    .bearer_auth(token),
            )
            .await
            .map_err(|e| anyhow::anyhow!("oum search: {e}"))?;
            self.check(&format!("oum matches '{term}'"), expected, &oum["count"]);
        }
        // Distinct full names that start with a first name and the start of a surname.
        let prefix = "Ada%20Ba";
        self.latency(
            "eva.quicksearch prefix",
            format!("/org/{uuid}/users/quicksearch?name={prefix}&limit=10"),
            token,
            5.0,
            |v: &Value| match v.as_array().map(Vec::len) {
                Some(l) if l > 0 => Ok(()),
                _ => Err(format!("no names: {v}")),
            },
        )
        .await;
        Ok(())
    }

    /// Runs request `make(n)` from `--concurrency` clients for the operation's time; `verify`
    /// checks each answer, and the result is held against a minimum rate when there is one.
    async fn many_clients(
        &mut self,
        name: &str,
        min_rate: Option<f64>,
        make: impl Fn(usize) -> reqwest::RequestBuilder + Send + Sync + 'static,
        verify: impl Fn(usize, &Value) -> Result<(), String> + Send + Sync + 'static,
    ) {
        let c = self.opts.concurrency;
        let verify = Arc::new(verify);
        let samples = drive(c, self.duration(), 100, move |n| {
            let req = make(n);
            let verify = verify.clone();
            async move { verify(n, &send(req).await?) }
        })
        .await;
        let mut op = samples.result(name, c);
        if let Some(rate) = min_rate {
            op.target = Some(format!(">= {rate:.0} req/s"));
            op.met = Some(op.errors == 0 && op.throughput >= rate);
        }
        self.push(op);
    }

    /// Get one user, sign in with an API key and invite, from many clients at once.
    async fn throughput(&mut self, token: &str, ids: Vec<String>) -> anyhow::Result<()> {
        if ids.is_empty() {
            bail!("the walk found no users");
        }
        let ids = Arc::new(ids);
        let (client, org, base, token) = (
            self.client.clone(),
            self.org.clone(),
            self.base.clone(),
            token.to_owned(),
        );
        let (c, o, b, t, i) = (
            client.clone(),
            org.clone(),
            base.clone(),
            token.clone(),
            ids.clone(),
        );
        let asked = ids.clone();
        self.many_clients(
            "amigo.get_user (authenticated)",
            Some(10_000.0),
            move |n| {
                c.get(format!(
                    "{b}/v1/{}/user/?user_id={}",
                    o.org_id,
                    i[n % i.len()]
                ))
                .bearer_auth(&t)
            },
            move |n, v| {
                let id = &asked[n % asked.len()];
                match v["users"][0]["user_id"].as_str() {
                    Some(got) if got == id => Ok(()),
                    _ => Err(format!("asked for {id}, got {v}")),
                }
            },
        )
        .await;
        let (c, o, b, i) = (client.clone(), org.clone(), base.clone(), ids.clone());
        self.many_clients(
            "amigo.sign_in_with_api_key",
            Some(3_000.0),
            move |n| {
                c.post(format!("{b}/v1/{}/user/signin_with_api_key", o.org_id))
                    .header("x-api-key", &o.key)
                    .header("x-api-key-id", &o.key_id)
                    .header("x-user-id", &i[n % i.len()])
            },
            |_, v| match v["id_token"].as_str() {
                Some(t) if t.len() > 20 => Ok(()),
                _ => Err(format!("no token: {v}")),
            },
        )
        .await;
        self.many_clients(
            "amigo.invite",
            None,
            move |n| {
                client
                    .post(format!("{base}/v1/{}/user/", org.org_id))
                    .bearer_auth(&token)
                    .json(&json!({
                        "first_name": "Invited",
                        "last_name": format!("Person{n}"),
                        "email": format!("invite{n}@invites.bench.example"),
                        "role_name": "DefaultUserRole",
                    }))
            },
            |_, _| Ok(()),
        )
        .await;
        Ok(())
    }

    async fn imports(&mut self, token: &str) -> anyhow::Result<()> {
        let base = self.opts.users;
        for (name, rows, password) in [
            (
                "eva.bulk_create (no passwords)",
                self.opts.import_rows,
                None,
            ),
            (
                "eva.bulk_create (passwords)",
                self.opts.password_rows,
                Some("Bench-pass-1234"),
            ),
        ] {
            if rows == 0 {
                continue;
            }
            let from = base
                + if password.is_some() {
                    self.opts.import_rows
                } else {
                    0
                };
            let csv = data::bulk_csv(
                &self.domain,
                from,
                from + rows,
                (&self.env.0, &self.env.1),
                password,
            );
            let t = Instant::now();
            let out = self.bulk_create(&self.org.clone(), token, csv).await?;
            let secs = t.elapsed().as_secs_f64();
            self.check_applied(name, rows, &out);
            let rate = rows as f64 / secs;
            let (target, goal) = match (password, self.opts.backend) {
                (None, Backend::Sqlite) => (">= 20000 rows/s".to_owned(), 20_000.0),
                (None, Backend::Postgres) => (">= 10000 rows/s".to_owned(), 10_000.0),
                (Some(_), _) => {
                    let goal = 0.9 * self.report.cores as f64 / (self.report.argon2_ms / 1000.0);
                    (format!(">= {goal:.0} rows/s (90% of cores / argon2)"), goal)
                }
            };
            self.push(OpResult {
                name: name.into(),
                concurrency: 1,
                requests: rows,
                errors: out["errors"].as_array().map_or(0, Vec::len),
                throughput: rate,
                p50_ms: secs * 1000.0,
                p90_ms: secs * 1000.0,
                p99_ms: secs * 1000.0,
                unit: "rows/s",
                met: Some(rate >= goal),
                target: Some(target),
                first_error: None,
                rss_mib: None,
                p50_round_trips: None,
            });
        }
        Ok(())
    }
}

/// Writes the report as JSON.
pub fn write_json(report: &Report, path: &std::path::Path) -> anyhow::Result<()> {
    std::fs::write(path, serde_json::to_vec_pretty(report)?)
        .with_context(|| format!("writing {}", path.display()))
}
