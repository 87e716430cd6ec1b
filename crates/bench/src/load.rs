//! Load generation: closed-loop clients over keep-alive connections, each request timed.

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;

/// What an operation is held to. Each goal is an absolute figure of the issue; [`Goal::ratio`]
/// restates it against this run's yardsticks, so that a verdict does not flip with the load of
/// the shared machine.
#[derive(Debug, Clone, Copy, Serialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum Goal {
    /// p99 latency at most this many ms; as a ratio, loopback round trips.
    P99Ms(f64),
    /// Median latency at most this many ms; as a ratio, loopback round trips.
    P50Ms(f64),
    /// At least this many requests/s; as a ratio, a share of one bare client's loopback rate.
    MinRequestsPerSec(f64),
    /// At least this many rows/s of CPU-bound work; as a ratio, rows per argon2id hash time.
    MinRowsPerSec(f64),
    /// At least this share of the argon2id ceiling (cores / hash time): a ratio already.
    CeilingShare(f64),
}

/// The yardsticks the absolute goals were judged against: argon2id on the quiet day of the
/// first 1,000,000-user run (2026-11-22), and the loopback round trip first measured
/// (2026-12-02, commit 73cc8b0). A goal restated as a ratio keeps these figures' proportion.
pub const REFERENCE_ROUND_TRIP_US: f64 = 37.0;
pub const REFERENCE_ARGON2_MS: f64 = 23.4;

/// An operation's figure and goal as ratios to this run's yardsticks, and the verdict on them.
#[derive(Debug, Clone, Serialize)]
pub struct Ratio {
    /// What the figure counts (`round trips`, `of bare loopback rate`...).
    pub unit: &'static str,
    pub figure: f64,
    /// The goal in the same unit, and whether it is a floor (`>=`) or a ceiling (`<=`).
    pub target: f64,
    pub at_least: bool,
    pub met: bool,
}

impl Goal {
    /// The absolute target, as text (`ceiling`: the argon2id ceiling in rows/s).
    pub fn text(&self, ceiling: f64) -> String {
        match *self {
            Goal::P99Ms(ms) => format!("p99 <= {ms} ms"),
            Goal::P50Ms(ms) => format!("p50 <= {ms} ms"),
            Goal::MinRequestsPerSec(r) => format!(">= {r:.0} req/s"),
            Goal::MinRowsPerSec(r) => format!(">= {r:.0} rows/s"),
            Goal::CeilingShare(f) => format!(
                ">= {:.0} rows/s ({:.0}% of cores / argon2)",
                f * ceiling,
                f * 100.0
            ),
        }
    }

    /// Whether `op` meets the absolute goal (`ceiling`: the argon2id ceiling in rows/s).
    pub fn met(&self, op: &OpResult, ceiling: f64) -> bool {
        op.errors == 0
            && match *self {
                Goal::P99Ms(ms) => op.p99_ms <= ms,
                Goal::P50Ms(ms) => op.p50_ms <= ms,
                Goal::MinRequestsPerSec(r) | Goal::MinRowsPerSec(r) => op.throughput >= r,
                Goal::CeilingShare(f) => op.throughput >= f * ceiling,
            }
    }

    /// The figure and the goal against this run's yardsticks.
    pub fn ratio(
        &self,
        op: &OpResult,
        round_trip_us: f64,
        argon2_ms: f64,
        cores: usize,
    ) -> Option<Ratio> {
        if round_trip_us <= 0.0 || argon2_ms <= 0.0 {
            return None;
        }
        let (unit, figure, target, at_least) = match *self {
            Goal::P99Ms(ms) => (
                "round trips (p99)",
                op.p99_ms * 1000.0 / round_trip_us,
                ms * 1000.0 / REFERENCE_ROUND_TRIP_US,
                false,
            ),
            Goal::P50Ms(ms) => (
                "round trips (p50)",
                op.p50_ms * 1000.0 / round_trip_us,
                ms * 1000.0 / REFERENCE_ROUND_TRIP_US,
                false,
            ),
            Goal::MinRequestsPerSec(r) => (
                "x one client's bare loopback rate",
                op.throughput * round_trip_us / 1e6,
                r * REFERENCE_ROUND_TRIP_US / 1e6,
                true,
            ),
            Goal::MinRowsPerSec(r) => (
                "rows per argon2id hash time",
                op.throughput * argon2_ms / 1000.0,
                r * REFERENCE_ARGON2_MS / 1000.0,
                true,
            ),
            Goal::CeilingShare(f) => (
                "of the argon2id ceiling",
                op.throughput / (cores as f64 * 1000.0 / argon2_ms),
                f,
                true,
            ),
        };
        let met = op.errors == 0
            && if at_least {
                figure >= target
            } else {
                figure <= target
            };
        Some(Ratio {
            unit,
            figure,
            target,
            at_least,
            met,
        })
    }
}

/// What one operation measured.
#[derive(Debug, Clone, Default, Serialize)]
pub struct OpResult {
    pub name: String,
    /// Clients sending requests at once.
    pub concurrency: usize,
    pub requests: usize,
    pub errors: usize,
    /// Requests (or rows, for imports) per second.
    pub throughput: f64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    /// What the throughput counts: `req/s` or `rows/s`.
    pub unit: &'static str,
    /// The target of the issue, as text, and whether it was met.
    pub target: Option<String>,
    pub met: Option<bool>,
    /// The first error seen, to tell why an operation failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_error: Option<String>,
    /// The server's largest resident set while the operation ran.
    pub rss_mib: Option<f64>,
    /// The median as a multiple of this run's bare loopback round trip (`yardstick.rs`): a
    /// figure that moves less with the machine's load than milliseconds do.
    pub p50_round_trips: Option<f64>,
    /// The p99 as a multiple of the same round trip.
    pub p99_round_trips: Option<f64>,
    /// What the operation is held to, when anything.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub goal: Option<Goal>,
    /// The figure and the goal as ratios to this run's yardsticks (see [`Goal::ratio`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ratio: Option<Ratio>,
}

/// Latencies in microseconds, and when the run took place.
pub struct Samples {
    pub micros: Vec<u64>,
    pub errors: usize,
    pub first_error: Option<String>,
    pub elapsed: Duration,
}

pub fn percentile(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1] as f64 / 1000.0
}

impl Samples {
    pub fn result(mut self, name: &str, concurrency: usize) -> OpResult {
        self.micros.sort_unstable();
        let requests = self.micros.len() + self.errors;
        OpResult {
            name: name.to_owned(),
            concurrency,
            requests,
            errors: self.errors,
            throughput: self.micros.len() as f64 / self.elapsed.as_secs_f64().max(1e-9),
            p50_ms: percentile(&self.micros, 50.0),
            p90_ms: percentile(&self.micros, 90.0),
            p99_ms: percentile(&self.micros, 99.0),
            unit: "req/s",
            target: None,
            met: None,
            first_error: self.first_error,
            ..OpResult::default()
        }
    }
}

/// Runs `concurrency` clients for `duration` (at least `min_requests` requests in all, when
/// that takes longer); `call(n)` makes request number `n` and says whether it succeeded.
pub async fn drive<F, Fut>(
    concurrency: usize,
    duration: Duration,
    min_requests: usize,
    call: F,
) -> Samples
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), String>> + Send,
{
    let call = Arc::new(call);
    let counter = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let deadline = start + duration;
    let mut tasks = Vec::new();
    for _ in 0..concurrency.max(1) {
        let call = call.clone();
        let counter = counter.clone();
        tasks.push(tokio::spawn(async move {
            let mut micros = Vec::new();
            let mut errors = 0;
            let mut first_error = None;
            loop {
                let n = counter.fetch_add(1, Ordering::Relaxed);
                if Instant::now() >= deadline && n >= min_requests {
                    break;
                }
                let t = Instant::now();
                match call(n).await {
                    Ok(()) => micros.push(t.elapsed().as_micros() as u64),
                    Err(e) => {
                        errors += 1;
                        first_error.get_or_insert(e);
                    }
                }
            }
            (micros, errors, first_error)
        }));
    }
    let mut all = Samples {
        micros: Vec::new(),
        errors: 0,
        first_error: None,
        elapsed: Duration::ZERO,
    };
    for t in tasks {
        if let Ok((m, e, f)) = t.await {
            all.micros.extend(m);
            all.errors += e;
            if all.first_error.is_none() {
                all.first_error = f;
            }
        }
    }
    all.elapsed = start.elapsed();
    all
}

/// Sends a request and reads the body; a status other than 2xx is an error naming it.
pub async fn send(req: reqwest::RequestBuilder) -> Result<serde_json::Value, String> {
    let resp = req.send().await.map_err(|e| format!("request: {e}"))?;
    let status = resp.status();
    let bytes = resp.bytes().await.map_err(|e| format!("body: {e}"))?;
    if !status.is_success() {
        return Err(format!(
            "status {status}: {}",
            String::from_utf8_lossy(&bytes[..bytes.len().min(300)])
        ));
    }
    if bytes.is_empty() {
        return Ok(serde_json::Value::Null);
    }
    serde_json::from_slice(&bytes).map_err(|e| format!("json: {e}"))
}
