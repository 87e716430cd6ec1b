//! Effects written on their own, the email outbox, and the feed of events.

use crate::types::OrgId;
use async_trait::async_trait;

use super::{Delivery, Effects, StoreResult};
use crate::model::OutboxMessage;
use crate::types::Micros;

#[async_trait]
pub trait OutboxStore: Send + Sync + 'static {
    /// Writes effects that belong to no other change (a magic link request).
    async fn write_effects(&self, fx: Effects) -> StoreResult<()>;
    /// Several [`OutboxStore::write_effects`] in one transaction, in order; all or none.
    async fn write_effects_batch(&self, batch: &[Effects]) -> StoreResult<()>;
    /// Leases to `worker`, until `lease_until`, up to `limit` messages that are due: pending and
    /// past their next attempt, or leased by a worker whose lease ran out. Each lease counts as
    /// an attempt. Concurrent claimers never get the same message.
    async fn claim_outbox(
        &self,
        worker: &str,
        now: Micros,
        lease_until: Micros,
        limit: u32,
    ) -> StoreResult<Vec<OutboxMessage>>;
    /// Records the outcome of a delivery; false when `worker` no longer holds the lease. A sent
    /// or failed message's payload (links with live tokens) is erased.
    async fn finish_outbox(
        &self,
        org_id: &OrgId,
        id: &str,
        worker: &str,
        outcome: &Delivery,
    ) -> StoreResult<bool>;
    /// One organization's events after position `after`, in commit order, of `types` (every
    /// type when empty), at most `limit`.
    async fn list_events(
        &self,
        org_id: &OrgId,
        after: i64,
        types: &[String],
        limit: u32,
    ) -> StoreResult<Vec<crate::events::Event>>;
    /// Deletes up to `batch` events (of any organization) that occurred before `before`.
    async fn purge_events(&self, before: Micros, batch: u32) -> StoreResult<u64>;
}
