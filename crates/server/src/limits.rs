//! Rate limits per operation and caller: GCRA, in Redis when the nodes share one (so that a
//! limit holds across them, see `shared.rs`), else in-process through `governor`. Both allow a
//! burst of the whole per-minute budget, then one request per 1/N minute; a request Redis cannot
//! count in time is counted in-process, so an outage of Redis neither blocks nor slows requests
//! (limits then hold per node).

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use roster_domain::limits::LIMITS;
use roster_domain::Error;

use crate::shared::Redis;

pub struct RateLimits {
    limiters: HashMap<&'static str, (u32, DefaultKeyedRateLimiter<String>)>,
    clock: DefaultClock,
    redis: Option<Arc<Redis>>,
    /// Callers whose failures went over budget, until when (see [`RateLimits::charge_failure`]).
    refused: Mutex<HashMap<String, Instant>>,
}

impl RateLimits {
    /// `on`, `off`, or `operation=N,...` overrides (requests per minute) on top of the defaults.
    pub fn from_setting(setting: &str) -> anyhow::Result<Self> {
        let setting = setting.trim();
        let mut limits: HashMap<&'static str, u32> = HashMap::new();
        if setting != "off" {
            limits.extend(LIMITS.iter().copied());
            if setting != "on" && !setting.is_empty() {
                for part in setting.split(',') {
                    let (op, n) = part.split_once('=').ok_or_else(|| {
                        anyhow::anyhow!(
                            "ROSTER_RATE_LIMITS: expected on, off or operation=N, got '{part}'"
                        )
                    })?;
                    let op = LIMITS
                        .iter()
                        .find(|(name, _)| *name == op.trim())
                        .map(|(name, _)| *name)
                        .ok_or_else(|| {
                            anyhow::anyhow!("ROSTER_RATE_LIMITS: unknown operation '{op}'")
                        })?;
                    limits.insert(op, n.trim().parse()?);
                }
            }
        }
        let limiters = limits
            .into_iter()
            .filter_map(|(op, n)| {
                NonZeroU32::new(n).map(|nz| (op, (n, RateLimiter::keyed(Quota::per_minute(nz)))))
            })
            .collect();
        Ok(Self {
            limiters,
            clock: DefaultClock::default(),
            redis: None,
            refused: Mutex::default(),
        })
    }

    /// Counts in `redis`, shared by every node using it.
    pub fn shared_through(mut self, redis: Arc<Redis>) -> Self {
        self.redis = Some(redis);
        self
    }

    /// Counts one request of `caller` to `operation`.
    pub async fn check(&self, operation: &str, caller: &str) -> Result<(), Error> {
        let Some((n, limiter)) = self.limiters.get(operation) else {
            return Ok(());
        };
        if let Some(redis) = &self.redis {
            match redis.rate_limit(operation, caller, *n).await {
                Some(None) => return Ok(()),
                Some(Some(wait)) => {
                    return Err(Error::RateLimited {
                        retry_after_secs: wait.as_secs() + 1,
                        limit_per_minute: *n,
                    })
                }
                None => {} // Redis did not answer: count here.
            }
        }
        limiter.check_key(&caller.to_owned()).map_err(|not_until| {
            let wait = not_until.wait_time_from(self.clock.now());
            Error::RateLimited {
                retry_after_secs: wait.as_secs() + 1,
                limit_per_minute: *n,
            }
        })
    }

    /// Counts one email of organization `org_id` to `address`, whoever asks for it, so that no
    /// one floods an inbox from several client addresses: the budget belongs to the recipient.
    /// (Each operation's own limit per client still applies as well.) It is the organization's:
    /// one organization's emails never use up another's budget for the same person. Unknown
    /// addresses count the same as known ones.
    pub async fn check_address(&self, org_id: &str, address: &str) -> Result<(), Error> {
        self.check(
            "email-per-address",
            &format!("{org_id}>to:{}", address.trim().to_lowercase()),
        )
        .await
    }

    /// Counts one *failed* attempt of `caller` at `operation` (a wrong secret): failures have a
    /// budget of their own, so that they never spend the budget of whoever holds the secret.
    /// Once over it, [`RateLimits::check_failures`] refuses the caller until Retry-After.
    pub async fn charge_failure(&self, operation: &str, caller: &str) -> Result<(), Error> {
        let key = format!("failed>{caller}");
        let charged = self.check(operation, &key).await;
        if let Err(Error::RateLimited {
            retry_after_secs, ..
        }) = &charged
        {
            let until = Instant::now() + Duration::from_secs(*retry_after_secs);
            if let Ok(mut refused) = self.refused.lock() {
                refused.insert(key, until);
            }
        }
        charged
    }

    /// Refuses, before any secret is checked, a caller whose failures at `operation` went over
    /// budget (on this node) less than Retry-After ago.
    pub fn check_failures(&self, operation: &str, caller: &str) -> Result<(), Error> {
        let key = format!("failed>{caller}");
        let Ok(refused) = self.refused.lock() else {
            return Ok(());
        };
        match refused.get(&key) {
            Some(until) if *until > Instant::now() => Err(Error::RateLimited {
                retry_after_secs: until.saturating_duration_since(Instant::now()).as_secs() + 1,
                limit_per_minute: self.limiters.get(operation).map_or(0, |(n, _)| *n),
            }),
            _ => Ok(()),
        }
    }

    /// Forgets callers that are back to a full budget, so memory stays bounded.
    pub fn sweep(&self) {
        if let Ok(mut refused) = self.refused.lock() {
            let now = Instant::now();
            refused.retain(|_, until| *until > now);
        }
        for (_, limiter) in self.limiters.values() {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn limits_and_overrides() {
        let l = RateLimits::from_setting("sign-in-with-api-key=2").expect("setting parses");
        assert!(l.check("sign-in-with-api-key", "k").await.is_ok());
        assert!(l.check("sign-in-with-api-key", "k").await.is_ok());
        assert!(matches!(
            l.check("sign-in-with-api-key", "k").await,
            Err(Error::RateLimited { .. })
        ));
        assert!(l.check("sign-in-with-api-key", "other").await.is_ok());
        let off = RateLimits::from_setting("off").expect("off parses");
        for _ in 0..100 {
            assert!(off.check("sign-in-with-api-key", "k").await.is_ok());
        }
        assert!(RateLimits::from_setting("nonsense=1").is_err());
    }
}
