//! OpenID Connect clients.

use crate::types::OrgId;
use async_trait::async_trait;

use super::{Effects, StoreResult};
use crate::model::OidcClient;

#[async_trait]
pub trait OidcStore: Send + Sync + 'static {
    /// The organization's OpenID Connect clients, oldest first.
    async fn list_oidc_clients(&self, org_id: &OrgId) -> StoreResult<Vec<OidcClient>>;
    async fn get_oidc_client(
        &self,
        org_id: &OrgId,
        client_id: &str,
    ) -> StoreResult<Option<OidcClient>>;
    /// `Conflict { field: "client_id" }` when the id is taken.
    async fn insert_oidc_client(&self, client: &OidcClient, fx: Effects) -> StoreResult<()>;
    /// Rewrites name and redirect URIs; `NotFound` when the client is gone.
    async fn update_oidc_client(&self, client: &OidcClient, fx: Effects) -> StoreResult<()>;
    async fn delete_oidc_client(
        &self,
        org_id: &OrgId,
        client_id: &str,
        fx: Effects,
    ) -> StoreResult<()>;
}
