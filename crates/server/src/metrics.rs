//! Prometheus metrics: requests and latency by surface, route template and status; rate-limit
//! rejections; email deliveries. Gauges read from the database (outbox depth, pool use) are
//! gathered by the `/metrics` handler at scrape time and passed to [`Metrics::render`].
//!
//! A request touches a read lock and a few atomics; the write lock is taken only the first time a
//! series appears. Rendering copies the series handles out first, so no lock is held while the
//! text is written.

use std::collections::HashMap;
use std::fmt::Write;
use std::hash::Hash;
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

/// Upper bounds of the latency histogram, in seconds.
pub const BUCKETS: [f64; 12] = [
    0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// The surfaces' names (`crate::surface::Surface::name`), in a fixed order for the per-surface
/// counters.
const SURFACES: [&str; 5] = ["amigo", "eva", "oum", "ingest", "native"];

/// The label of requests that matched no route: the raw path could carry ids.
pub const UNMATCHED: &str = "unmatched";

/// Which series a request belongs to: surface, method, route template.
type RouteKey = (&'static str, &'static str, Arc<str>);

#[derive(Default)]
struct Histogram {
    buckets: [AtomicU64; BUCKETS.len()],
    count: AtomicU64,
    sum_micros: AtomicU64,
}

impl Histogram {
    fn observe(&self, elapsed: Duration) {
        let secs = elapsed.as_secs_f64();
        if let Some(i) = BUCKETS.iter().position(|b| secs <= *b) {
            self.buckets[i].fetch_add(1, Ordering::Relaxed);
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_micros
            .fetch_add(elapsed.as_micros() as u64, Ordering::Relaxed);
    }
}

/// How a delivery attempt ended, for the email counters.
#[derive(Debug, Clone, Copy)]
pub enum MailOutcome {
    Sent,
    /// Failed; the message will be tried again.
    Retry,
    /// Failed for good: a permanent error or too many attempts.
    GivenUp,
}

/// A use of Redis, for `roster_redis_failures_total`.
#[derive(Debug, Clone, Copy)]
pub enum RedisOp {
    /// Counting a request against a rate limit; on failure counted in-process instead.
    RateLimit,
    /// Reading the shared generation; on failure the request bypasses the cache.
    GenerationRead,
    /// Announcing this node's writes; on failure announced later by the background publisher.
    GenerationBump,
}

const REDIS_OPS: [&str; 3] = ["rate_limit", "generation_read", "generation_bump"];

/// `roster_redis_up`: not configured, down, up.
const REDIS_UNSET: u8 = 0;
const REDIS_DOWN: u8 = 1;
const REDIS_UP: u8 = 2;

#[derive(Default)]
pub struct Metrics {
    requests: RwLock<HashMap<(RouteKey, u16), Arc<AtomicU64>>>,
    latency: RwLock<HashMap<RouteKey, Arc<Histogram>>>,
    rate_limited: [AtomicU64; SURFACES.len()],
    mail: [AtomicU64; 3],
    redis_failures: [AtomicU64; REDIS_OPS.len()],
    redis_state: AtomicU8,
}

/// What the database says at scrape time.
#[derive(Debug, Default)]
pub struct DbGauges {
    /// Emails waiting for delivery (pending or being sent); `None` when the query failed.
    pub outbox_pending: Option<i64>,
    pub pools: Vec<roster_store::PoolStats>,
}

/// The entry of `key`, made on first use.
fn entry<K: Eq + Hash + Clone, V: Default>(map: &RwLock<HashMap<K, Arc<V>>>, key: K) -> Arc<V> {
    if let Some(v) = map.read().ok().and_then(|m| m.get(&key).cloned()) {
        return v;
    }
    match map.write() {
        Ok(mut m) => m.entry(key).or_default().clone(),
        Err(_) => Arc::new(V::default()),
    }
}

fn snapshot<K: Clone + Ord, V>(map: &RwLock<HashMap<K, Arc<V>>>) -> Vec<(K, Arc<V>)> {
    let mut v: Vec<(K, Arc<V>)> = map
        .read()
        .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

/// A label value in the exposition format's escaping.
fn esc(v: &str) -> String {
    v.replace('\\', r"\\")
        .replace('"', "\\\"")
        .replace('\n', r"\n")
}

/// The method as a static label; unusual methods share one.
pub fn method_label(m: &axum::http::Method) -> &'static str {
    use axum::http::Method;
    match *m {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

impl Metrics {
    /// Records one answered request. `route` is the matched route template, never the raw path.
    pub fn observe(
        &self,
        surface: &'static str,
        method: &'static str,
        route: Arc<str>,
        status: u16,
        elapsed: Duration,
    ) {
        let key: RouteKey = (surface, method, route);
        entry(&self.requests, (key.clone(), status)).fetch_add(1, Ordering::Relaxed);
        entry(&self.latency, key).observe(elapsed);
        if status == 429 {
            if let Some(i) = SURFACES.iter().position(|s| *s == surface) {
                self.rate_limited[i].fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    pub fn mail(&self, outcome: MailOutcome) {
        self.mail[outcome as usize].fetch_add(1, Ordering::Relaxed);
    }

    /// A Redis call that failed, timed out or was skipped while Redis is down.
    pub fn redis_failure(&self, op: RedisOp) {
        self.redis_failures[op as usize].fetch_add(1, Ordering::Relaxed);
    }

    /// Whether Redis answered the last call (also marks Redis as configured).
    pub fn redis_up(&self, up: bool) {
        let state = if up { REDIS_UP } else { REDIS_DOWN };
        self.redis_state.store(state, Ordering::Relaxed);
    }

    pub fn render(&self, db: &DbGauges) -> String {
        let mut out = String::with_capacity(16 * 1024);
        out.push_str("# HELP roster_http_requests_total HTTP requests answered, by surface, method, route template and status.\n# TYPE roster_http_requests_total counter\n");
        for (((surface, method, route), status), n) in snapshot(&self.requests) {
            let _ = writeln!(
                out,
                "roster_http_requests_total{{surface=\"{surface}\",method=\"{method}\",route=\"{}\",status=\"{status}\"}} {}",
                esc(&route),
                n.load(Ordering::Relaxed)
            );
        }
        out.push_str("# HELP roster_http_request_duration_seconds Time to answer, by surface, method and route template.\n# TYPE roster_http_request_duration_seconds histogram\n");
        for ((surface, method, route), h) in snapshot(&self.latency) {
            let labels = format!(
                "surface=\"{surface}\",method=\"{method}\",route=\"{}\"",
                esc(&route)
            );
            let mut cumulative = 0;
            for (bound, n) in BUCKETS.iter().zip(&h.buckets) {
                cumulative += n.load(Ordering::Relaxed);
                let _ = writeln!(
                    out,
                    "roster_http_request_duration_seconds_bucket{{{labels},le=\"{bound}\"}} {cumulative}"
                );
            }
            let count = h.count.load(Ordering::Relaxed);
            let sum = h.sum_micros.load(Ordering::Relaxed) as f64 / 1e6;
            let _ = writeln!(
                out,
                "roster_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {count}\n\
                 roster_http_request_duration_seconds_sum{{{labels}}} {sum:.6}\n\
                 roster_http_request_duration_seconds_count{{{labels}}} {count}"
            );
        }
        out.push_str("# HELP roster_rate_limited_total Requests refused with 429 by a rate limit, by surface.\n# TYPE roster_rate_limited_total counter\n");
        for (surface, n) in SURFACES.iter().zip(&self.rate_limited) {
            let _ = writeln!(
                out,
                "roster_rate_limited_total{{surface=\"{surface}\"}} {}",
                n.load(Ordering::Relaxed)
            );
        }
        let mail = |o: MailOutcome| self.mail[o as usize].load(Ordering::Relaxed);
        let _ = writeln!(
            out,
            "# HELP roster_mail_sent_total Emails handed to the transport by this node.\n\
             # TYPE roster_mail_sent_total counter\n\
             roster_mail_sent_total {}\n\
             # HELP roster_mail_delivery_failures_total Failed delivery attempts on this node: retried later, or given up.\n\
             # TYPE roster_mail_delivery_failures_total counter\n\
             roster_mail_delivery_failures_total{{outcome=\"retry\"}} {}\n\
             roster_mail_delivery_failures_total{{outcome=\"given_up\"}} {}",
            mail(MailOutcome::Sent),
            mail(MailOutcome::Retry),
            mail(MailOutcome::GivenUp),
        );
        let redis = self.redis_state.load(Ordering::Relaxed);
        if redis != REDIS_UNSET {
            let _ = writeln!(
                out,
                "# HELP roster_redis_up Whether Redis answered this node's last call (1) or not (0).\n\
                 # TYPE roster_redis_up gauge\nroster_redis_up {}",
                u8::from(redis == REDIS_UP)
            );
            out.push_str("# HELP roster_redis_failures_total Redis calls of this node that failed, timed out or were skipped while Redis was down, by use; each was answered without Redis.\n# TYPE roster_redis_failures_total counter\n");
            for (op, n) in REDIS_OPS.iter().zip(&self.redis_failures) {
                let _ = writeln!(
                    out,
                    "roster_redis_failures_total{{op=\"{op}\"}} {}",
                    n.load(Ordering::Relaxed)
                );
            }
        }
        if let Some(n) = db.outbox_pending {
            let _ = writeln!(
                out,
                "# HELP roster_outbox_pending Emails in the outbox not yet delivered (pending or being sent), all nodes.\n\
                 # TYPE roster_outbox_pending gauge\nroster_outbox_pending {n}"
            );
        }
        out.push_str("# HELP roster_db_pool_connections Open database connections of this node, by pool and state.\n# TYPE roster_db_pool_connections gauge\n");
        for p in &db.pools {
            let _ = writeln!(
                out,
                "roster_db_pool_connections{{pool=\"{0}\",state=\"idle\"}} {1}\n\
                 roster_db_pool_connections{{pool=\"{0}\",state=\"in_use\"}} {2}",
                p.name,
                p.idle,
                (p.size as usize).saturating_sub(p.idle)
            );
        }
        out.push_str("# HELP roster_db_pool_max_connections Most connections a pool opens.\n# TYPE roster_db_pool_max_connections gauge\n");
        for p in &db.pools {
            let _ = writeln!(
                out,
                "roster_db_pool_max_connections{{pool=\"{}\"}} {}",
                p.name, p.max
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_buckets_are_cumulative_and_labels_escaped() {
        let m = Metrics::default();
        let route: Arc<str> = Arc::from("/v1/{organization}/user/\"x\"");
        m.observe("amigo", "GET", route.clone(), 200, Duration::from_millis(3));
        m.observe("amigo", "GET", route, 429, Duration::from_millis(300));
        let text = m.render(&DbGauges::default());
        let labels = r#"surface="amigo",method="GET",route="/v1/{organization}/user/\"x\"""#;
        assert!(text.contains(&format!(
            "roster_http_request_duration_seconds_bucket{{{labels},le=\"0.001\"}} 0"
        )));
        assert!(text.contains(&format!(
            "roster_http_request_duration_seconds_bucket{{{labels},le=\"0.005\"}} 1"
        )));
        assert!(text.contains(&format!(
            "roster_http_request_duration_seconds_bucket{{{labels},le=\"0.5\"}} 2"
        )));
        assert!(text.contains(&format!(
            "roster_http_request_duration_seconds_count{{{labels}}} 2"
        )));
        assert!(text.contains(r#"roster_rate_limited_total{surface="amigo"} 1"#));
        assert!(text.contains(r#"roster_rate_limited_total{surface="eva"} 0"#));
    }
}
