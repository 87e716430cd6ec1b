//! Organizations.

use crate::types::OrgId;
use async_trait::async_trait;

use super::{Effects, NewOrganization, StoreResult};
use crate::model::Organization;
use crate::types::Micros;

#[async_trait]
pub trait OrgStore: Send + Sync + 'static {
    async fn any_organization(&self) -> StoreResult<bool>;
    async fn find_organization(&self, id_or_uuid: &str) -> StoreResult<Option<Organization>>;
    /// Creates the organization with its roles, first user and key; `now` dates its placement.
    async fn create_organization(
        &self,
        new: NewOrganization,
        now: Micros,
        fx: Effects,
    ) -> StoreResult<()>;
    async fn update_organization(&self, org: &Organization, fx: Effects) -> StoreResult<()>;
    /// Erases the organization and everything in it; `fx` is written afterwards (to other orgs).
    async fn delete_organization(&self, org_id: &OrgId, fx: Effects) -> StoreResult<()>;
    /// Up to `limit` organizations whose id sorts after `after`, by id (a keyset page over
    /// every cluster), each with the name of the cluster it lives on (`None` unclustered).
    async fn list_organizations(
        &self,
        after: &str,
        limit: usize,
    ) -> StoreResult<Vec<(Organization, Option<String>)>>;
}
