//! Webhook endpoints, their queued messages and delivery log.

use crate::types::OrgId;
use async_trait::async_trait;

use super::{Effects, StoreResult};
use crate::types::Micros;
use crate::webhooks::{WebhookAttempt, WebhookEndpoint, WebhookJob, WebhookOutcome};

#[async_trait]
pub trait WebhookStore: Send + Sync + 'static {
    async fn insert_webhook(&self, w: &WebhookEndpoint, fx: Effects) -> StoreResult<()>;
    async fn list_webhooks(&self, org_id: &OrgId) -> StoreResult<Vec<WebhookEndpoint>>;
    async fn get_webhook(&self, org_id: &OrgId, id: &str) -> StoreResult<Option<WebhookEndpoint>>;
    /// Rewrites the endpoint; `NotFound` when it is gone.
    async fn update_webhook(&self, w: &WebhookEndpoint, fx: Effects) -> StoreResult<()>;
    /// Deletes the endpoint, its queued messages and its delivery log.
    async fn delete_webhook(&self, org_id: &OrgId, id: &str, fx: Effects) -> StoreResult<()>;
    /// Leases due webhook messages to `worker` until `lease_until`, as
    /// [`super::OutboxStore::claim_outbox`] does for emails: concurrent claimers never get the
    /// same message; each lease counts as an attempt.
    async fn claim_webhooks(
        &self,
        worker: &str,
        now: Micros,
        lease_until: Micros,
        limit: u32,
    ) -> StoreResult<Vec<WebhookJob>>;
    /// Records an attempt and its outcome while `worker` holds the lease (false otherwise).
    /// A failure lengthens the endpoint's failure run, and a run of `disable_after` disables
    /// it; the second value is true when this call disabled it.
    async fn finish_webhook(
        &self,
        job: &WebhookJob,
        worker: &str,
        attempt: &WebhookAttempt,
        outcome: &WebhookOutcome,
        disable_after: i64,
        fx: Effects,
    ) -> StoreResult<(bool, bool)>;
    async fn list_webhook_attempts(
        &self,
        org_id: &OrgId,
        endpoint_id: &str,
        limit: u32,
    ) -> StoreResult<Vec<WebhookAttempt>>;
    /// Queues again the endpoint's message of one event, or of every event since a time.
    async fn replay_webhook(
        &self,
        org_id: &OrgId,
        endpoint_id: &str,
        event_id: Option<&str>,
        since: Option<Micros>,
        now: Micros,
    ) -> StoreResult<u64>;
}
