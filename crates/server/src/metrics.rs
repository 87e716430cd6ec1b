//! Request counters and latency sums in the Prometheus text format.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::time::Duration;

/// (surface, status) -> (count, total seconds)
type Counters = BTreeMap<(&'static str, u16), (u64, f64)>;

#[derive(Default)]
pub struct Metrics {
    requests: Mutex<Counters>,
    rate_limited: Mutex<u64>,
}

impl Metrics {
    pub fn observe(&self, surface: &'static str, status: u16, elapsed: Duration) {
        if let Ok(mut m) = self.requests.lock() {
            let e = m.entry((surface, status)).or_default();
            e.0 += 1;
            e.1 += elapsed.as_secs_f64();
        }
        if status == 429 {
            if let Ok(mut n) = self.rate_limited.lock() {
                *n += 1;
            }
        }
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        out.push_str("# HELP roster_http_requests_total HTTP requests by surface and status.\n# TYPE roster_http_requests_total counter\n");
        let snapshot: Vec<_> = self
            .requests
            .lock()
            .map(|m| m.clone().into_iter().collect())
            .unwrap_or_default();
        for ((surface, status), (n, _)) in &snapshot {
            let _ = writeln!(
                out,
                "roster_http_requests_total{{surface=\"{surface}\",status=\"{status}\"}} {n}"
            );
        }
        out.push_str("# HELP roster_http_request_seconds_sum Time spent answering, by surface and status.\n# TYPE roster_http_request_seconds_sum counter\n");
        for ((surface, status), (_, secs)) in &snapshot {
            let _ = writeln!(out, "roster_http_request_seconds_sum{{surface=\"{surface}\",status=\"{status}\"}} {secs:.6}");
        }
        let limited = self.rate_limited.lock().map(|n| *n).unwrap_or(0);
        let _ = writeln!(
            out,
            "# TYPE roster_rate_limited_total counter\nroster_rate_limited_total {limited}"
        );
        out
    }
}
