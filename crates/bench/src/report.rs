//! The benchmark's report: the figures, the checks on the answers, the table and the JSON.

use anyhow::Context as _;
use serde::Serialize;

use crate::load::{OpResult, REFERENCE_ARGON2_MS, REFERENCE_ROUND_TRIP_US};
use crate::webhooks::WebhookFigures;
use crate::Backend;

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
    /// The yardsticks the absolute targets are restated against (see `load::Goal::ratio`).
    pub reference_argon2_ms: f64,
    pub reference_round_trip_us: f64,
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
    /// The webhook rounds, when they ran.
    pub webhooks: Option<WebhookFigures>,
}

impl Report {
    pub fn all_checks_pass(&self) -> bool {
        self.checks.iter().all(|c| c.ok) && self.operations.iter().all(|o| o.errors == 0)
    }

    /// The human-readable table.
    pub fn table(&self) -> String {
        let mut s = format!(
            "roster-bench: {} users, {:?}, {} cores; load {:.1} s ({:.0} rows/s, RSS {:.0} MiB); walk {:.1} s\n\
             yardsticks of this run: argon2id {:.1} ms per hash (ceiling {:.0} hashes/s); loopback HTTP round trip {:.0} µs\n\
             (ratio targets keep the proportion of the absolute ones to argon2id {:.1} ms and a {:.0} µs round trip)\n",
            self.users, self.backend, self.cores, self.load_seconds, self.load_rows_per_sec,
            self.load_rss_mib.unwrap_or(0.0), self.walk_seconds, self.argon2_ms,
            self.cores as f64 * 1000.0 / self.argon2_ms.max(1e-9), self.round_trip_us,
            REFERENCE_ARGON2_MS, REFERENCE_ROUND_TRIP_US
        );
        s.push_str(&format!(
            "{:<48} {:>4} {:>7} {:>4} {:>11} {:>8} {:>8} {:>8} {:>8} {:>8} {:>7}  {:<40} {}\n",
            "operation",
            "conc",
            "reqs",
            "err",
            "throughput",
            "p50 ms",
            "p90 ms",
            "p99 ms",
            "p50 RTs",
            "p99 RTs",
            "RSS MiB",
            "target",
            "as a ratio to this run's yardsticks"
        ));
        for o in &self.operations {
            let verdict = match o.met {
                Some(true) => "met",
                Some(false) => "MISSED",
                None => "",
            };
            let ratio = o.ratio.as_ref().map_or(String::new(), |r| {
                format!(
                    "{} {} ({} {}) {}",
                    short(r.figure),
                    r.unit,
                    if r.at_least { ">=" } else { "<=" },
                    short(r.target),
                    if r.met { "met" } else { "MISSED" }
                )
            });
            s.push_str(&format!(
                "{:<48} {:>4} {:>7} {:>4} {:>7.0} {:<5} {:>6.2} {:>8.2} {:>8.2} {:>8.1} {:>8.1} {:>7.0}  {:<40} {:<6} {}\n",
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
                o.p99_round_trips.unwrap_or(0.0),
                o.rss_mib.unwrap_or(0.0),
                o.target.clone().unwrap_or_default(),
                verdict,
                ratio
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
        if let Some(w) = &self.webhooks {
            s.push_str(&format!(
                "webhooks ({} rounds, medians): an import of {} rows emitted {} events, {} delivered; \
                 import {:.2} s without an endpoint, {:.2} s with one (x{:.2}); delivered {:.1} s \
                 after the import answered ({:.0} events/s)\n",
                w.rounds, w.rows, w.events_emitted, w.events_delivered,
                w.import_without_endpoint_secs, w.import_with_endpoint_secs, w.import_slowdown,
                w.delivery_secs, w.delivered_per_sec
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

/// A ratio with the digits that matter: three below 10, none above.
fn short(v: f64) -> String {
    if v < 10.0 {
        format!("{v:.3}")
    } else {
        format!("{v:.0}")
    }
}

/// Writes the report as JSON.
pub fn write_json(report: &Report, path: &std::path::Path) -> anyhow::Result<()> {
    std::fs::write(path, serde_json::to_vec_pretty(report)?)
        .with_context(|| format!("writing {}", path.display()))
}
