//! Load generation: closed-loop clients over keep-alive connections, each request timed.

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;

/// What one operation measured.
#[derive(Debug, Clone, Serialize)]
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
            rss_mib: None,
            p50_round_trips: None,
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
