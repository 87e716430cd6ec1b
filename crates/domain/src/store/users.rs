//! Users: one membership of an identity in an organization.

use crate::types::OrgId;
use crate::types::UserId;
use async_trait::async_trait;

use super::{Effects, NewIdentity, PrincipalRecord, StoreResult};
use crate::model::{User, UserStats};
use crate::paging::UserQuery;
use crate::types::Micros;

#[async_trait]
pub trait UserStore: Send + Sync + 'static {
    /// Inserts the user, reusing the identity of the same email if there is one.
    async fn insert_user(
        &self,
        identity: NewIdentity,
        user: User,
        secrets: &[(String, String)],
        fx: Effects,
    ) -> StoreResult<User>;
    /// Which of these lower-cased emails already belong to users of the organization.
    async fn existing_emails(
        &self,
        org_id: &OrgId,
        emails_lower: &[String],
    ) -> StoreResult<Vec<String>>;
    async fn get_user(&self, org_id: &OrgId, user_id: &UserId) -> StoreResult<Option<User>>;
    async fn list_users(&self, org_id: &OrgId, q: &UserQuery) -> StoreResult<Vec<User>>;
    /// How many users match the query's filters (its page is ignored).
    async fn count_users(&self, org_id: &OrgId, q: &UserQuery) -> StoreResult<i64>;
    /// The organization's user version: it moves in the transaction of any change a count of
    /// its users could see (a user inserted or deleted, or its status, name, email or company
    /// changed), and never returns to an earlier value. 0 for an organization without users.
    async fn user_version(&self, org_id: &OrgId) -> StoreResult<i64>;
    /// Writes the user's profile fields if `updated_at` still equals `expected_updated_at`;
    /// with `sessions_end` (a session stamp), the membership's sessions begun before it end.
    async fn update_user(
        &self,
        user: &User,
        expected_updated_at: Micros,
        sessions_end: Option<Micros>,
        fx: Effects,
    ) -> StoreResult<()>;
    /// Hard delete, or with `soft_reasons` a soft delete that keeps a snapshot dated `now`.
    async fn delete_user(
        &self,
        org_id: &OrgId,
        user_id: &UserId,
        soft_reasons: Option<Vec<String>>,
        now: Micros,
        fx: Effects,
    ) -> StoreResult<()>;
    async fn modify_variables(
        &self,
        org_id: &OrgId,
        user_id: &UserId,
        upserts: &[(String, String, bool)],
        deletes: &[String],
        max_each: usize,
        fx: Effects,
    ) -> StoreResult<()>;
    async fn set_user_stats(
        &self,
        org_id: &OrgId,
        user_id: &UserId,
        stats: &UserStats,
        fx: Effects,
    ) -> StoreResult<()>;
    /// Ends every session of one membership begun before `at` (a session stamp): its tokens stop
    /// working at once, on every surface, the identity's other memberships untouched.
    async fn end_member_sessions(
        &self,
        org_id: &OrgId,
        user_id: &UserId,
        at: Micros,
        fx: Effects,
    ) -> StoreResult<()>;
    /// What authentication needs to know about a membership (grants valid at `now`).
    async fn load_principal(
        &self,
        org_id: &OrgId,
        user_id: &UserId,
        now: Micros,
    ) -> StoreResult<Option<PrincipalRecord>>;
}
