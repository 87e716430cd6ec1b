//! Rate limits per operation and caller: GCRA, in Redis when the nodes share one (so that a
//! limit holds across them, see `shared.rs`), else in-process through `governor`. Both allow a
//! burst of the whole per-minute budget, then one request per 1/N minute; a request Redis cannot
//! count in time is counted in-process, so an outage of Redis neither blocks nor slows requests
//! (limits then hold per node).

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::Arc;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use roster_domain::limits::LIMITS;
use roster_domain::Error;

use crate::shared::Redis;

pub struct RateLimits {
    limiters: HashMap<&'static str, (u32, DefaultKeyedRateLimiter<String>)>,
    clock: DefaultClock,
    redis: Option<Arc<Redis>>,
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

    /// Counts one email to `address`, whoever asks for it, so that no one floods an inbox from
    /// several client addresses: the budget belongs to the recipient. (Each operation's own
    /// limit per client still applies as well.) Unknown addresses count the same as known ones.
    pub async fn check_address(&self, address: &str) -> Result<(), Error> {
        self.check(
            "email-per-address",
            &format!("to:{}", address.trim().to_lowercase()),
        )
        .await
    }

    /// Forgets callers that are back to a full budget, so memory stays bounded.
    pub fn sweep(&self) {
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
