//! Exports: the users an export job writes, read a page at a time.

use async_trait::async_trait;

use super::StoreResult;
use crate::model::UserStatus;
use crate::paging::UserQuery;
use crate::types::{Micros, OrgId, UserId};

/// What an export writes of a user: a narrow row, without the preferences, variables and
/// statistics a listing decodes.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportedUser {
    pub id: UserId,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub company: Option<String>,
    pub status: UserStatus,
    pub is_admin: bool,
    /// Sorted.
    pub role_ids: Vec<String>,
    pub created_at: Micros,
}

#[async_trait]
pub trait ExportStore: Send + Sync + 'static {
    /// The next users of an export: those matching `q`'s filters after its position (a keyset
    /// by id, or an offset) whose ids are at most `upto`, in id order, at most `q`'s limit,
    /// each with the fields an export writes only. A keyset of another sort is an error.
    async fn export_users(
        &self,
        org_id: &OrgId,
        q: &UserQuery,
        upto: &UserId,
    ) -> StoreResult<Vec<ExportedUser>>;
}
