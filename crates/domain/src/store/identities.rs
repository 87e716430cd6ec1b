//! Identities: the person behind memberships, with their email and credential. On several
//! database clusters each cluster keeps its own identities (see docs/operations.md).

use async_trait::async_trait;

use super::{Effects, StoreResult};
use crate::model::Identity;
use crate::types::{Micros, OrgId, UserId};

#[async_trait]
pub trait IdentityStore: Send + Sync + 'static {
    async fn get_identity(&self, id: &str) -> StoreResult<Option<Identity>>;
    async fn identity_by_email(&self, email_lower: &str) -> StoreResult<Option<Identity>>;
    /// Every membership of an identity, as `(org_id, user_id)`.
    async fn memberships(&self, identity_id: &str) -> StoreResult<Vec<(OrgId, UserId)>>;
    /// The stored argon2 hash of an identity's password, if it has one.
    async fn password_hash(&self, identity_id: &str) -> StoreResult<Option<String>>;
    /// Sets an identity's password at session stamp `at`; with `revoke_sessions`, tokens
    /// issued before `at` stop working.
    async fn set_password(
        &self,
        identity_id: &str,
        hash: &str,
        revoke_sessions: bool,
        at: Micros,
        fx: Effects,
    ) -> StoreResult<()>;
    /// Renames an identity and every one of its memberships.
    async fn rename_identity(
        &self,
        identity_id: &str,
        first_name: &str,
        last_name: &str,
        now: Micros,
        fx: Effects,
    ) -> StoreResult<()>;
}
