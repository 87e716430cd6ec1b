//! What belongs to no organization (settings, the signing-key ring), the database itself, and
//! page cursors.

use crate::types::OrgId;
use async_trait::async_trait;

use super::StoreResult;
use crate::model::SigningKey;
use crate::types::Micros;

#[async_trait]
pub trait OpsStore: Send + Sync + 'static {
    /// `sqlite` or `postgres`.
    fn backend(&self) -> &'static str;
    async fn ping(&self) -> StoreResult<()>;
    /// Moves whenever a write of this process that could change anything but the logs (audit
    /// events, outbox, one-time tokens, page cursors) commits. A value read before a read and
    /// unchanged after means the read is still what the database holds, as far as this process
    /// can tell (other processes' writes are not counted).
    fn write_generation(&self) -> u64;
    /// The names of the database clusters an organization can be placed on; empty when there is
    /// one database and placement does not apply.
    fn clusters(&self) -> Vec<String>;

    async fn get_setting(&self, key: &str) -> StoreResult<Option<String>>;
    async fn put_setting(&self, key: &str, value: &str, now: Micros) -> StoreResult<()>;

    async fn signing_keys(&self) -> StoreResult<Vec<SigningKey>>;
    /// Inserts the key unless one newer than `newer_than` exists (several nodes starting at once).
    async fn insert_signing_key(&self, key: &SigningKey, newer_than: Micros) -> StoreResult<bool>;

    /// Refreshes the planner's statistics of the user tables after a large bulk change.
    async fn refresh_statistics(&self) -> StoreResult<()>;

    /// Stores a page cursor; cursors expired at `now` are swept now and then.
    async fn put_cursor(
        &self,
        org_id: &OrgId,
        id: i64,
        position: &str,
        expires_at: Micros,
        now: Micros,
    ) -> StoreResult<()>;
    async fn get_cursor(&self, org_id: &OrgId, id: i64, now: Micros)
        -> StoreResult<Option<String>>;
}
