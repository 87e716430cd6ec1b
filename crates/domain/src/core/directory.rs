//! Directory tokens: an organization's directory (its enterprise identity provider) provisions
//! members with one. A token acts with the grants of a role of its organization, read at each
//! use; whoever creates one must hold `Organization:ModifyOrganization` and appoint that role
//! (hold every grant of it, as an administrator holds an administrator's). The secret is shown
//! once and stored hashed.

use serde_json::json;

use super::access::{Actor, Context};
use super::Core;
use crate::directory::{DirectoryToken, TOKEN_PREFIX};
use crate::error::{Error, Location, Result};
use crate::model::{Organization, UserStatus};
use crate::permissions::{perm, DEFAULT_ADMIN_ROLE};
use crate::secrets::{hash_secret, random_secret};
use crate::store::{Effects, PrincipalRecord};
use crate::types::new_uuid7;

/// Most tokens an organization holds at once.
pub const MAX_DIRECTORY_TOKENS: usize = 20;

#[derive(Debug, Clone)]
pub struct CreatedDirectoryToken {
    pub token: DirectoryToken,
    pub role_name: String,
    /// Returned once, never stored.
    pub secret: String,
}

impl Core {
    /// A new token of the organization acting as `role_name` (the built-in administrator role
    /// when `None`).
    pub async fn create_directory_token(
        &self,
        ctx: &Context,
        org_ref: &str,
        name: &str,
        role_name: Option<&str>,
    ) -> Result<CreatedDirectoryToken> {
        let org = self.find_org(org_ref).await?;
        let access = ctx.access(&org)?;
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(Error::field(
                Location::Body,
                "name",
                "string_too_long",
                "name must be 1 to 100 characters",
            ));
        }
        access.require_org(perm::ORG_MODIFY)?;
        let role_name = role_name.unwrap_or(DEFAULT_ADMIN_ROLE);
        let roles = self.roles(&org.id).await?;
        let role = roles
            .iter()
            .find(|r| r.name == role_name)
            .ok_or(Error::NotFound("role"))?;
        access.require_appoints(&role.grants, &format!("the role {role_name}"))?;
        let secret = format!("{TOKEN_PREFIX}{}", random_secret());
        let (creator_user_id, creator_org_id) = access.creator().stored();
        let token = DirectoryToken {
            org_id: org.id.to_string(),
            id: new_uuid7(),
            name: name.to_owned(),
            secret_hash: hash_secret(&secret),
            role_id: role.id.clone(),
            creator_user_id,
            creator_org_id,
            created_at: self.now(),
        };
        let fx = Effects::audit(self.audit(
            ctx,
            &org.id,
            "directory_token.create",
            None,
            json!({ "token_id": token.id, "name": token.name, "role": role.name }),
        ));
        self.store
            .insert_directory_token(&token, MAX_DIRECTORY_TOKENS, fx)
            .await
            .map_err(|e| match e {
                crate::store::StoreError::Refused(_) => Error::BadRequest(format!(
                    "the organization has reached the maximum of {MAX_DIRECTORY_TOKENS} directory tokens"
                )),
                e => e.into(),
            })?;
        Ok(CreatedDirectoryToken {
            token,
            role_name: role.name.clone(),
            secret,
        })
    }

    /// The organization's tokens with the name of each one's role (no secrets).
    pub async fn list_directory_tokens(
        &self,
        ctx: &Context,
        org_ref: &str,
    ) -> Result<Vec<(DirectoryToken, String)>> {
        let org = self.find_org(org_ref).await?;
        ctx.access(&org)?.require_org(perm::ORG_MODIFY)?;
        let roles = self.roles(&org.id).await?;
        let tokens = self.store.list_directory_tokens(&org.id).await?;
        Ok(tokens
            .into_iter()
            .map(|t| {
                let role = roles
                    .iter()
                    .find(|r| r.id == t.role_id)
                    .map(|r| r.name.clone())
                    .unwrap_or_default();
                (t, role)
            })
            .collect())
    }

    /// Revokes a token: its next request is refused.
    pub async fn revoke_directory_token(
        &self,
        ctx: &Context,
        org_ref: &str,
        token_id: &str,
    ) -> Result<()> {
        let org = self.find_org(org_ref).await?;
        ctx.access(&org)?.require_org(perm::ORG_MODIFY)?;
        let fx = Effects::audit(self.audit(
            ctx,
            &org.id,
            "directory_token.revoke",
            None,
            json!({ "token_id": token_id }),
        ));
        self.store
            .delete_directory_token(&org.id, token_id, fx)
            .await
            .map_err(|e| match e {
                crate::store::StoreError::NotFound => Error::NotFound("directory token"),
                e => e.into(),
            })?;
        Ok(())
    }

    /// The caller presenting `secret` to the organization `org_ref`: one of that
    /// organization's tokens, acting with its role's grants as they are now. Anything else
    /// (another organization's token, a revoked one, one whose role is gone, any other
    /// credential): 401.
    pub async fn authenticate_directory(
        &self,
        request_id: &str,
        org_ref: &str,
        secret: &str,
    ) -> Result<(Organization, Context)> {
        // An unknown organization says no more than a wrong token.
        let org = self.find_org(org_ref).await.map_err(|e| match e {
            Error::NotFound(_) => Error::Unauthenticated,
            e => e,
        })?;
        if !secret.starts_with(TOKEN_PREFIX) || secret.len() > 200 {
            return Err(Error::Unauthenticated);
        }
        let token = self
            .store
            .directory_token_by_hash(&org.id, &hash_secret(secret))
            .await?
            .ok_or(Error::Unauthenticated)?;
        let roles = self.roles(&org.id).await?;
        let role = roles
            .iter()
            .find(|r| r.id == token.role_id)
            .ok_or(Error::Unauthenticated)?;
        let principal = PrincipalRecord {
            org_id: org.id.to_string(),
            // Never a platform administrator's reach, whichever organization it belongs to.
            org_is_platform: false,
            user_id: token.id.clone(),
            identity_id: String::new(),
            status: UserStatus::Active,
            sessions_valid_after: 0,
            role_names: vec![role.name.clone()],
            grants: role.grants.clone(),
            temporary_grants: Vec::new(),
        };
        let ctx = Context::new(
            request_id,
            Actor::Directory {
                token_id: token.id,
                principal,
            },
        );
        Ok((org, ctx))
    }
}
