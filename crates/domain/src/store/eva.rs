//! The eva catalogue: environments and bots, each user's access to them and configurations,
//! and the user models and memories eva keeps.

use crate::types::OrgId;
use crate::types::UserId;
use async_trait::async_trait;

use super::{Effects, NewPassword, StoreResult};
use crate::model::{Bot, Configuration, EnvAccess, Environment, Memory, User, UserModel};
use crate::paging::MemoryQuery;
use crate::types::Micros;

#[async_trait]
pub trait EvaStore: Send + Sync + 'static {
    /// Inserts users with their roles and eva environments in one transaction; a user whose email is
    /// already in the organization is skipped. Returns, per row, whether it was inserted.
    async fn insert_users(
        &self,
        rows: Vec<(super::NewIdentity, User, Vec<EnvAccess>)>,
        fx: Effects,
    ) -> StoreResult<Vec<bool>>;
    /// Environment access of users, as `(user_id, access)`.
    async fn env_access(
        &self,
        org_id: &OrgId,
        user_ids: &[UserId],
    ) -> StoreResult<Vec<(UserId, EnvAccess)>>;
    /// Replaces a user's organization roles and environment access at once (last-admin guarded).
    async fn set_user_access(
        &self,
        org_id: &OrgId,
        user_id: &UserId,
        role_ids: &[String],
        environments: &[EnvAccess],
        fx: Effects,
    ) -> StoreResult<()>;
    /// Replaces a user's environment access alone (roles, status and names untouched) and
    /// writes the user row `u` as read (only its `updated_at` moved on), refused as stale if the
    /// row's `updated_at` is no longer `expected_updated_at` (changed or removed meanwhile).
    async fn set_env_access(
        &self,
        u: &User,
        expected_updated_at: Micros,
        environments: &[EnvAccess],
        fx: Effects,
    ) -> StoreResult<()>;
    /// `update_user` and `set_user_access` in one transaction, and the identity's `password`.
    #[allow(clippy::too_many_arguments)]
    async fn update_user_access(
        &self,
        user: &User,
        expected_updated_at: Micros,
        sessions_end: Option<Micros>,
        role_ids: &[String],
        environments: &[EnvAccess],
        password: Option<&NewPassword>,
        fx: Effects,
    ) -> StoreResult<()>;
    async fn upsert_environment(
        &self,
        env: &Environment,
        now: Micros,
        fx: Effects,
    ) -> StoreResult<()>;
    async fn upsert_bot(&self, bot: &Bot, now: Micros, fx: Effects) -> StoreResult<()>;
    async fn list_environments(&self, org_id: &OrgId) -> StoreResult<Vec<Environment>>;
    async fn list_bots(&self, org_id: &OrgId) -> StoreResult<Vec<Bot>>;
    async fn set_configuration(
        &self,
        org_id: &OrgId,
        user_id: &UserId,
        c: &Configuration,
        now: Micros,
    ) -> StoreResult<()>;
    /// The user's configurations for one bot, or the global ones with `None`.
    async fn configurations(
        &self,
        org_id: &OrgId,
        user_id: &UserId,
        bot_uuid: Option<&str>,
    ) -> StoreResult<Vec<Configuration>>;

    async fn insert_user_model(&self, model: &UserModel, fx: Effects) -> StoreResult<()>;
    async fn latest_user_models(
        &self,
        org_id: &OrgId,
        user_id: &UserId,
        limit: u32,
    ) -> StoreResult<Vec<UserModel>>;
    async fn insert_memories(&self, memories: &[Memory], fx: Effects) -> StoreResult<()>;
    async fn list_memories(&self, org_id: &OrgId, q: &MemoryQuery) -> StoreResult<Vec<Memory>>;
}
