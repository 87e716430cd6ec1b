//! The audit log.

use crate::types::OrgId;
use async_trait::async_trait;

use super::StoreResult;
use crate::model::AuditEvent;
use crate::paging::AuditQuery;
use crate::types::Micros;

#[async_trait]
pub trait AuditStore: Send + Sync + 'static {
    /// One organization's audit events matching `q`, newest first (`created_at`, then `id`).
    async fn query_audit(&self, org_id: &OrgId, q: &AuditQuery) -> StoreResult<Vec<AuditEvent>>;
    /// Deletes up to `batch` audit events (of any organization) older than `before`; returns
    /// how many went. Retention calls it until it returns less than `batch`.
    async fn purge_audit(&self, before: Micros, batch: u32) -> StoreResult<u64>;
}
