//! The admin console's server-side sessions (`core/console.rs` decides their rules).

use crate::types::OrgId;
use crate::types::UserId;
use async_trait::async_trait;

use super::{Effects, StoreResult};
use crate::types::Micros;

/// One browser's sign-in to the console of one organization.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsoleSession {
    pub org_id: String,
    /// SHA-256 of the cookie's secret.
    pub id_hash: String,
    pub user_id: String,
    pub identity_id: String,
    /// How the person signed in at the provider (`pwd`, `mail`, ...).
    pub amr: String,
    /// The secret the session's form tokens are derived from.
    pub csrf: String,
    /// A session stamp: the session ends with the membership's sessions.
    pub issued_at: Micros,
    /// The core's clock: the absolute and idle timeouts count from these.
    pub created_at: Micros,
    pub last_seen_at: Micros,
}

#[async_trait]
pub trait ConsoleStore: Send + Sync + 'static {
    async fn insert_console_session(&self, s: &ConsoleSession, fx: Effects) -> StoreResult<()>;
    async fn get_console_session(
        &self,
        org_id: &OrgId,
        id_hash: &str,
    ) -> StoreResult<Option<ConsoleSession>>;
    /// Moves `last_seen_at` forward (never back).
    async fn touch_console_session(
        &self,
        org_id: &OrgId,
        id_hash: &str,
        at: Micros,
    ) -> StoreResult<()>;
    /// Deletes one session; false when it was not there.
    async fn delete_console_session(
        &self,
        org_id: &OrgId,
        id_hash: &str,
        fx: Effects,
    ) -> StoreResult<bool>;
    /// Deletes every console session of a member; how many there were.
    async fn delete_console_sessions_of(
        &self,
        org_id: &OrgId,
        user_id: &UserId,
        fx: Effects,
    ) -> StoreResult<u64>;
}
