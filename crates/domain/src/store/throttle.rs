//! Counting password attempts (sign-in throttling).

use async_trait::async_trait;

use super::StoreResult;
use crate::types::Micros;

#[async_trait]
pub trait ThrottleStore: Send + Sync + 'static {
    /// Charges one password attempt to `key` (`account:EMAIL`, `client:ADDRESS`) unless the key
    /// is blocked at `now`; false when blocked (nothing is charged then). One transaction holds
    /// the key's row from read to write, so concurrent attempts on every node count one by one.
    async fn charge_sign_in_attempt(
        &self,
        key: &str,
        now: Micros,
        policy: &crate::throttle::Throttle,
    ) -> StoreResult<bool>;
    /// After a correct password: `reset` clears the key, otherwise one charge is taken back.
    async fn forgive_sign_in_attempt(&self, key: &str, reset: bool) -> StoreResult<()>;
}
