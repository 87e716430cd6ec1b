//! Roles, who holds them, and temporary grants.

use crate::types::OrgId;
use crate::types::UserId;
use async_trait::async_trait;

use super::{Effects, StoreResult};
use crate::model::{EnvRole, Role, TemporaryGrant};
use crate::paging::GrantQuery;
use crate::types::Micros;

#[async_trait]
pub trait RoleStore: Send + Sync + 'static {
    async fn list_roles(&self, org_id: &OrgId) -> StoreResult<Vec<Role>>;
    async fn insert_role(&self, role: &Role, fx: Effects) -> StoreResult<()>;
    /// Rewrites a role and the admin flag of its holders; refuses to leave no administrator.
    /// Writes the role if it is still as it was read (`updated_at == expected_updated_at`).
    async fn update_role(
        &self,
        role: &Role,
        expected_updated_at: Micros,
        fx: Effects,
    ) -> StoreResult<()>;
    async fn count_active_admins(&self, org_id: &OrgId) -> StoreResult<i64>;
    /// Replaces a user's organization roles; of its eva environment roles, only those named in
    /// `env_roles_kept` stay (with their bots).
    async fn set_user_roles(
        &self,
        org_id: &OrgId,
        user_id: &UserId,
        role_ids: &[String],
        env_roles_kept: &[EnvRole],
        fx: Effects,
    ) -> StoreResult<()>;

    async fn insert_temporary_grant(&self, grant: &TemporaryGrant, fx: Effects) -> StoreResult<()>;
    async fn list_temporary_grants(
        &self,
        org_id: &OrgId,
        q: &GrantQuery,
    ) -> StoreResult<Vec<TemporaryGrant>>;
}
