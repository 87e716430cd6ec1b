//! What several nodes share through Redis (`ROSTER_REDIS_URL`): rate-limit budgets and the
//! write generation that keeps their read caches coherent.
//!
//! Redis is an accelerator here, never a dependency of correctness or of availability:
//!
//! - every call is bounded by `ROSTER_REDIS_TIMEOUT_MS`; a call that fails or times out marks
//!   Redis down for [`DOWN_FOR`], during which calls fail at once without touching the network,
//!   then one call probes it again. A request never waits on Redis for longer than one timeout;
//! - a rate limit that cannot be counted in Redis is counted in-process (per node, as without
//!   Redis); a shared generation that cannot be read bypasses the cache (the database answers);
//!   a write that cannot be announced is announced by the background publisher once Redis
//!   answers again (until then other nodes see it within their cache TTL, as without Redis).
//!
//! Every such fallback is counted in `roster_redis_failures_total` (see `metrics.rs`).
//!
//! Keys, all under `ROSTER_REDIS_PREFIX`: `generation` (a counter) and `rl:<operation>:<caller>`
//! (one rate-limit state each, expiring once the caller's budget is full again).

use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{RedisResult, Script};
use roster_domain::core::SharedGeneration;
use roster_domain::types::now_micros;

use crate::metrics::{Metrics, RedisOp};

/// How long Redis is left alone after a failed call before one call probes it again.
pub const DOWN_FOR: Duration = Duration::from_secs(1);

/// GCRA (the algorithm `governor` runs in-process), on Redis's clock so that the nodes' clocks do
/// not matter. The key holds the theoretical arrival time (TAT) in microseconds; a request is let
/// through when it leaves the TAT at most `burst` emission intervals ahead of now. Returns 0 when
/// allowed, else the microseconds until the next request would be. One key per caller and
/// operation, expiring when the TAT is past (the caller has its whole budget back).
const GCRA: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local next_tat = tat + interval
local allowed_at = next_tat - burst * interval
if allowed_at > now then
  return allowed_at - now
end
redis.call('SET', KEYS[1], string.format('%.0f', next_tat), 'PX', math.ceil((next_tat - now) / 1000))
return 0
";

/// Moves the shared generation. A missing key (Redis restarted or evicted it: it keeps nothing on
/// disk) starts again from Redis's clock in microseconds, above any value the lost counter can
/// have reached (that would take more than one write per microsecond), so that a value an entry
/// was stamped with before the loss never comes back.
const BUMP: &str = r"
if redis.call('EXISTS', KEYS[1]) == 0 then
  local t = redis.call('TIME')
  redis.call('SET', KEYS[1], string.format('%.0f', tonumber(t[1]) * 1000000 + tonumber(t[2])))
end
return redis.call('INCR', KEYS[1])
";

pub struct Redis {
    conn: ConnectionManager,
    prefix: String,
    timeout: Duration,
    gcra: Script,
    bump: Script,
    /// Until when (microseconds since the epoch) calls fail at once; 0 while Redis answers.
    down_until: AtomicI64,
    /// This process's write generation as last announced to the other nodes.
    published: AtomicU64,
    /// Whether a write is waiting to be announced (an announcement failed).
    behind: AtomicBool,
    metrics: Arc<Metrics>,
}

impl Redis {
    /// A link to `url`; it connects on first use, so a node starts while Redis is down.
    pub fn new(
        url: &str,
        prefix: &str,
        timeout: Duration,
        metrics: Arc<Metrics>,
    ) -> anyhow::Result<Self> {
        let client =
            redis::Client::open(url).map_err(|e| anyhow::anyhow!("ROSTER_REDIS_URL: {e}"))?;
        // Reconnection is bounded like the calls: a few quick attempts, then the next call tries.
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(timeout))
            .set_response_timeout(Some(timeout))
            .set_number_of_retries(2)
            .set_max_delay(timeout);
        let conn = ConnectionManager::new_lazy_with_config(client, config)
            .map_err(|e| anyhow::anyhow!("ROSTER_REDIS_URL: {e}"))?;
        Ok(Self {
            conn,
            prefix: prefix.to_owned(),
            timeout: timeout.max(Duration::from_millis(1)),
            gcra: Script::new(GCRA),
            bump: Script::new(BUMP),
            down_until: AtomicI64::new(0),
            published: AtomicU64::new(0),
            behind: AtomicBool::new(false),
            metrics,
        })
    }

    fn key(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
    }

    /// Whether to call Redis now: yes while it answers; while it is marked down, only the one
    /// caller that finds the pause over (it probes for everyone else).
    fn callable(&self) -> bool {
        let until = self.down_until.load(Ordering::Acquire);
        if until == 0 {
            return true;
        }
        let now = now_micros();
        now >= until
            && self
                .down_until
                .compare_exchange(
                    until,
                    now + DOWN_FOR.as_micros() as i64,
                    Ordering::AcqRel,
                    Ordering::Acquire,
                )
                .is_ok()
    }

    /// Runs one call, bounded by the timeout; `None` (counted and, on a change, logged) when
    /// Redis is down, fails or is too slow.
    async fn call<T>(
        &self,
        op: RedisOp,
        call: impl std::future::Future<Output = RedisResult<T>>,
    ) -> Option<T> {
        if !self.callable() {
            self.metrics.redis_failure(op);
            return None;
        }
        let error = match tokio::time::timeout(self.timeout, call).await {
            Ok(Ok(v)) => {
                if self.down_until.swap(0, Ordering::AcqRel) != 0 {
                    tracing::info!("Redis answers again");
                }
                self.metrics.redis_up(true);
                return Some(v);
            }
            Ok(Err(e)) => e.to_string(),
            Err(_) => format!("no answer within {} ms", self.timeout.as_millis()),
        };
        let until = now_micros() + DOWN_FOR.as_micros() as i64;
        if self.down_until.swap(until, Ordering::AcqRel) == 0 {
            tracing::warn!(
                %error,
                "Redis unreachable: rate limits count per node and the cache is bypassed until it answers"
            );
        }
        self.metrics.redis_up(false);
        self.metrics.redis_failure(op);
        None
    }

    /// Counts one request of `caller` to `operation`, allowed `per_minute` (also the burst).
    /// `Some(None)`: allowed; `Some(Some(wait))`: refused for `wait`; `None`: Redis did not answer.
    pub async fn rate_limit(
        &self,
        operation: &str,
        caller: &str,
        per_minute: u32,
    ) -> Option<Option<Duration>> {
        let key = self.key(&format!("rl:{operation}:{caller}"));
        let interval_us = 60_000_000 / u64::from(per_minute.max(1));
        let mut conn = self.conn.clone();
        let mut invocation = self.gcra.key(key);
        invocation.arg(interval_us).arg(per_minute);
        let wait_us: u64 = self
            .call(RedisOp::RateLimit, invocation.invoke_async(&mut conn))
            .await?;
        Some((wait_us > 0).then(|| Duration::from_micros(wait_us)))
    }

    /// Announces this process's committed writes, if any since the last announcement, so that
    /// every node's next request reads them from the database. Called before a response leaves
    /// (see `middleware.rs`) and by the background publisher; cheap when nothing was written.
    pub async fn publish_writes(&self) {
        let generation = roster_store::write_generation();
        if generation == self.published.load(Ordering::Acquire) {
            return;
        }
        let mut conn = self.conn.clone();
        let invocation = self.bump.key(self.key("generation"));
        let bumped: Option<u64> = self
            .call(RedisOp::GenerationBump, invocation.invoke_async(&mut conn))
            .await;
        if bumped.is_some() {
            // Only after the INCR: an announcement that began after `generation` was reached
            // has completed, so every write up to it is announced.
            self.published.fetch_max(generation, Ordering::AcqRel);
            if self.behind.swap(false, Ordering::AcqRel) {
                tracing::info!("writes made while Redis was unreachable are announced");
            }
        } else {
            self.behind.store(true, Ordering::Release);
        }
    }

    /// Whether Redis answers a PING within the timeout (for `/readyz`); ignores the pause after
    /// a failure, so that it tells the truth now.
    pub async fn ping(&self) -> bool {
        let mut conn = self.conn.clone();
        let pong = tokio::time::timeout(
            self.timeout,
            redis::cmd("PING").query_async::<String>(&mut conn),
        )
        .await;
        let up = matches!(pong, Ok(Ok(_)));
        if up {
            self.down_until.store(0, Ordering::Release);
        }
        self.metrics.redis_up(up);
        up
    }
}

#[async_trait]
impl SharedGeneration for Redis {
    async fn current(&self) -> Option<u64> {
        let mut conn = self.conn.clone();
        let key = self.key("generation");
        // A missing key reads 0: no write announced since Redis started (see `BUMP`).
        self.call(
            RedisOp::GenerationRead,
            redis::cmd("GET")
                .arg(key)
                .query_async::<Option<u64>>(&mut conn),
        )
        .await
        .map(Option::unwrap_or_default)
    }
}
