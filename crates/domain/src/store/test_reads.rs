//! Reads only tests make: whole listings the core never needs.

use crate::types::OrgId;
use async_trait::async_trait;

use super::StoreResult;
use crate::model::{AuditEvent, OutboxMessage};

#[async_trait]
pub trait TestReads: Send + Sync + 'static {
    /// The organization's outbox, oldest first.
    async fn list_outbox(&self, org_id: &OrgId) -> StoreResult<Vec<OutboxMessage>>;
    /// The organization's latest `limit` audit events, newest first.
    async fn list_audit(&self, org_id: &OrgId, limit: u32) -> StoreResult<Vec<AuditEvent>>;
}
