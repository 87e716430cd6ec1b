//! Brute-force protection of password checks: failures are counted per account and per client
//! in the database (shared by every node), each attempt charged *before* its password is checked
//! so that parallel attempts cannot race past the limit (CVE-2024-4629). Past a few failures
//! every further attempt waits an exponentially growing delay; past more, the key is locked for a
//! while. A refused attempt answers exactly like a wrong password.

use crate::types::Micros;

/// When one key (an account or a client) is made to wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Throttle {
    /// Failures allowed back to back before each further attempt waits.
    pub backoff_after: i64,
    /// The first wait, doubled with each further failure.
    pub backoff_base_ms: i64,
    /// Failures after which the key is locked for `lock_secs`.
    pub lock_after: i64,
    pub lock_secs: i64,
}

impl Throttle {
    /// How long the key is blocked after its `failures`-th failure in a row.
    pub fn block_micros(&self, failures: i64) -> Micros {
        if failures >= self.lock_after {
            self.lock_secs.saturating_mul(1_000_000)
        } else if failures >= self.backoff_after {
            let doublings = (failures - self.backoff_after).clamp(0, 30) as u32;
            self.backoff_base_ms
                .saturating_mul(1_000)
                .saturating_mul(1_i64 << doublings)
                .min(self.lock_secs.saturating_mul(1_000_000))
        } else {
            0
        }
    }

    /// A key quiet for this long starts counting afresh (also: a lock has run out).
    pub fn forget_after_micros(&self) -> Micros {
        self.lock_secs.saturating_mul(1_000_000)
    }
}

/// The throttles of password sign-in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignInThrottle {
    /// Per account (the login email, whether or not it exists, so the lock tells nothing).
    pub account: Throttle,
    /// Per client address: many accounts tried from one place.
    pub client: Throttle,
}

impl Default for SignInThrottle {
    fn default() -> Self {
        Self::new(3, 1000, 10, 900, 100)
    }
}

impl SignInThrottle {
    /// Both throttles from the operator's settings; a client waits from half its lock threshold.
    pub fn new(
        backoff_after: i64,
        backoff_base_ms: i64,
        lock_after: i64,
        lock_secs: i64,
        client_lock_after: i64,
    ) -> Self {
        let account = Throttle {
            backoff_after: backoff_after.max(1),
            backoff_base_ms: backoff_base_ms.max(0),
            lock_after: lock_after.max(1),
            lock_secs: lock_secs.max(0),
        };
        Self {
            account,
            client: Throttle {
                backoff_after: (client_lock_after / 2).max(1),
                lock_after: client_lock_after.max(1),
                ..account
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_double_then_lock() {
        let t = SignInThrottle::new(3, 100, 6, 60, 20).account;
        let ms = |f| t.block_micros(f) / 1000;
        assert_eq!([ms(1), ms(2), ms(3), ms(4), ms(5)], [0, 0, 100, 200, 400]);
        assert_eq!(ms(6), 60_000);
        assert_eq!(ms(60), 60_000);
        // The wait never outgrows the lock.
        let long = Throttle {
            backoff_base_ms: 50_000,
            ..t
        };
        assert_eq!(long.block_micros(5), 60_000_000);
    }
}
