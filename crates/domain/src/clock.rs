//! The clock the core reads: the system clock in production; in tests the same clock moved
//! forward on demand, so that a test of a wait (a throttle's backoff, a retry's delay, a
//! token's expiry) moves time rather than sleeping, and a check that something has *not*
//! happened yet is exact rather than a guess about how long a sleep lasts.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::types::Micros;

/// A handle on the time. Cloning it shares it: every clone reads the same moved time.
#[derive(Debug, Clone, Default)]
pub struct Clock(Source);

#[derive(Debug, Clone, Default)]
enum Source {
    /// The system clock, which nobody moves.
    #[default]
    System,
    /// The system clock plus how far it was moved: it keeps running, so ids and stamps
    /// ordered by time stay ordered.
    Shifted(Arc<AtomicI64>),
    /// A clock that stands still until it is moved, for checks exact to the microsecond.
    Frozen(Arc<AtomicI64>),
}

impl Clock {
    /// The system clock.
    pub fn system() -> Self {
        Self(Source::System)
    }

    /// The system clock, which [`Clock::advance`] moves forward (for tests).
    pub fn adjustable() -> Self {
        Self(Source::Shifted(Arc::default()))
    }

    /// A clock that reads the system's time now and then stands still until
    /// [`Clock::advance`] moves it (for tests of exact deadlines).
    pub fn frozen() -> Self {
        Self(Source::Frozen(Arc::new(AtomicI64::new(
            crate::types::now_micros(),
        ))))
    }

    /// Now, in microseconds since the Unix epoch.
    pub fn now(&self) -> Micros {
        match &self.0 {
            Source::System => crate::types::now_micros(),
            Source::Shifted(ahead) => {
                crate::types::now_micros().saturating_add(ahead.load(Ordering::Acquire))
            }
            Source::Frozen(at) => at.load(Ordering::Acquire),
        }
    }

    /// Moves a test's clock forward by `by`; returns false (and moves nothing) on the system
    /// clock.
    pub fn advance(&self, by: Duration) -> bool {
        let micros = i64::try_from(by.as_micros()).unwrap_or(i64::MAX);
        match &self.0 {
            Source::System => false,
            Source::Shifted(a) | Source::Frozen(a) => {
                a.fetch_add(micros, Ordering::AcqRel);
                true
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_adjustable_clock_moves_and_the_system_clock_does_not() {
        let clock = Clock::adjustable();
        let shared = clock.clone();
        let before = clock.now();
        assert!(clock.advance(Duration::from_secs(60)));
        let after = shared.now();
        assert!(after - before >= 60_000_000, "{before} {after}");
        assert!(after - before < 70_000_000, "{before} {after}");

        let frozen = Clock::frozen();
        let at = frozen.now();
        assert_eq!(frozen.now(), at, "a frozen clock stands still");
        assert!(frozen.advance(Duration::from_millis(999)));
        assert_eq!(frozen.now(), at + 999_000);

        let system = Clock::system();
        assert!(!system.advance(Duration::from_secs(60)));
        assert!((system.now() - crate::types::now_micros()).abs() < 5_000_000);
    }
}
