//! API keys.

use async_trait::async_trait;

use super::{Effects, StoreResult};
use crate::model::ApiKey;

#[async_trait]
pub trait KeyStore: Send + Sync + 'static {
    async fn get_api_key(&self, org_id: &str, key_id: &str) -> StoreResult<Option<ApiKey>>;
    async fn list_api_keys(&self, org_id: &str) -> StoreResult<Vec<ApiKey>>;
    /// Refuses (`ApiKeyLimit`) when the organization has `max_per_org` keys already.
    async fn insert_api_key(
        &self,
        key: &ApiKey,
        max_per_org: usize,
        fx: Effects,
    ) -> StoreResult<()>;
    async fn delete_api_key(&self, org_id: &str, key_id: &str, fx: Effects) -> StoreResult<()>;
}
