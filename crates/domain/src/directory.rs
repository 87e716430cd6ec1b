//! Provisioning from an organization's own directory (an enterprise identity provider that
//! creates, changes, deactivates and groups the organization's members): the tokens such a
//! directory authenticates with and their storage contract, `DirectoryStore`, a supertrait of
//! `Store` implemented on `SqlStore` in `store/src/directory.rs`.
//!
//! A directory token belongs to one organization and acts with the grants of one of its roles,
//! read when the token is used: the rank rules apply to what it does as to a member holding
//! that role. Only the hash of its secret is stored.

use crate::types::{OrgId, UserId};
use async_trait::async_trait;

use crate::model::Role;
use crate::store::{Effects, StoreResult};
use crate::types::Micros;

/// The prefix of every directory token's secret, so that scanners recognize a leaked one.
pub const TOKEN_PREFIX: &str = "rdt_";

#[derive(Debug, Clone, PartialEq)]
pub struct DirectoryToken {
    pub org_id: String,
    pub id: String,
    pub name: String,
    pub secret_hash: String,
    pub role_id: String,
    pub creator_user_id: String,
    pub creator_org_id: String,
    pub created_at: Micros,
}

#[async_trait]
pub trait DirectoryStore: Send + Sync {
    /// The organization's tokens, oldest first.
    async fn list_directory_tokens(&self, org_id: &OrgId) -> StoreResult<Vec<DirectoryToken>>;
    /// The token of the organization whose secret hashes to `secret_hash`.
    async fn directory_token_by_hash(
        &self,
        org_id: &OrgId,
        secret_hash: &str,
    ) -> StoreResult<Option<DirectoryToken>>;
    /// `Refused(ApiKeyLimit)` when the organization has `max` tokens already.
    async fn insert_directory_token(
        &self,
        token: &DirectoryToken,
        max: usize,
        fx: Effects,
    ) -> StoreResult<()>;
    /// `NotFound` when there is no such token.
    async fn delete_directory_token(
        &self,
        org_id: &OrgId,
        id: &str,
        fx: Effects,
    ) -> StoreResult<()>;
    /// Replaces the organization roles of each `(user_id, role_ids)` and writes `group`, all in
    /// one transaction (a group's change is one write): the organization keeps an administrator
    /// (`Refused(LastAdmin)`), `NotFound` when a user is gone, `Conflict` when a new role's name
    /// is taken, `Refused(Stale)` when the role changed since `expected`. Environment access is
    /// left as it is.
    async fn write_group(
        &self,
        org_id: &OrgId,
        group: GroupWrite<'_>,
        changes: &[(UserId, Vec<String>)],
        fx: Effects,
    ) -> StoreResult<()>;
    /// Deletes a role: its holders lose it (and are administrators only through their other
    /// roles; `Refused(LastAdmin)` when none would be left); `Refused(InUse)` while an API key or
    /// a directory token acts with it; `NotFound` when there is no such role.
    async fn delete_role(&self, org_id: &OrgId, role_id: &str, fx: Effects) -> StoreResult<()>;
}

/// What a group write does to the role itself, beside its holders.
#[derive(Debug, Clone, Copy)]
pub enum GroupWrite<'a> {
    /// Nothing: only who holds it changes.
    Members,
    /// The role is new.
    Create(&'a Role),
    /// The directory's id of it changes, while its version is still `expected`.
    ExternalId {
        role_id: &'a str,
        external_id: Option<&'a str>,
        expected: Micros,
        updated_at: Micros,
    },
}
