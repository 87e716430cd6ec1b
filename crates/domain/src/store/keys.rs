//! API keys.

use crate::types::OrgId;
use async_trait::async_trait;

use super::{Effects, StoreResult};
use crate::model::ApiKey;

#[async_trait]
pub trait KeyStore: Send + Sync + 'static {
    async fn get_api_key(&self, org_id: &OrgId, key_id: &str) -> StoreResult<Option<ApiKey>>;
    async fn list_api_keys(&self, org_id: &OrgId) -> StoreResult<Vec<ApiKey>>;
    /// Refuses (`ApiKeyLimit`) when the organization has `max_per_org` keys already.
    async fn insert_api_key(
        &self,
        key: &ApiKey,
        max_per_org: usize,
        fx: Effects,
    ) -> StoreResult<()>;
    async fn delete_api_key(&self, org_id: &OrgId, key_id: &str, fx: Effects) -> StoreResult<()>;
    /// Replaces the key `old_key_id` by `new` (a new id and secret hash, the same row
    /// otherwise) in one transaction with `fx`: the old id and secret stop working at once.
    /// `NotFound` when the old key is gone (deleted or rotated meanwhile).
    async fn rotate_api_key(&self, old_key_id: &str, new: &ApiKey, fx: Effects) -> StoreResult<()>;
}
