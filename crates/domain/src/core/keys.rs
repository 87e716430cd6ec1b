//! Organization API keys: creation (secret shown once, stored hashed), listing, deletion, and
//! signing in as a user whom the key's role outranks.

use crate::types::OrgId;
use crate::types::UserId;
use serde_json::json;

use super::access::{grants_of, Actor, Context, Creator};
use super::Core;
use crate::error::{Error, Location, Result};
use crate::model::*;
use crate::permissions::{self, perm};
use crate::secrets::{constant_time_eq, hash_secret, random_secret};
use crate::store::Effects;
use crate::types::*;

const DAY_SECS: i64 = 24 * 3600;

#[derive(Debug, Clone)]
pub struct CreatedApiKey {
    pub key: ApiKey,
    /// The secret, returned once and never stored.
    pub secret: String,
}

/// The user a sign-in resolved to; the server mints the token.
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub org_id: String,
    pub user_id: String,
    pub identity_id: String,
    pub method: SignInMethod,
    /// The API key signed in with: deleting (or the expiry of) the key ends the session.
    pub api_key_id: Option<String>,
}

/// How a session began. Only the account's password or a link emailed to its address prove that
/// the caller is the person; an API key, or a link the inviter was also shown, do not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignInMethod {
    ApiKey,
    Password,
    EmailLink,
    SharedLink,
    /// Through `google-oauth2`, the deployment's upstream provider the operator configured,
    /// which verified the address: as good as a link emailed to it.
    Upstream,
    /// Through one of the organization's own connections: its administrator chose the
    /// provider, so the session is good for that organization only and never counts as the
    /// person's own (docs/security.md, "Upstream connections").
    Sso,
}

impl SignInMethod {
    /// The `amr` claim of the token (RFC 8176 style values).
    pub fn amr(self) -> &'static str {
        match self {
            Self::ApiKey => "key",
            Self::Password => "pwd",
            Self::EmailLink => "mail",
            Self::SharedLink => "link",
            Self::Upstream => "fed",
            Self::Sso => "sso",
        }
    }

    pub fn proves_ownership(amr: &[String]) -> bool {
        amr.iter().any(|a| a == "pwd" || a == "mail" || a == "fed")
    }
}

pub(crate) fn new_api_key(
    org_id: &OrgId,
    name: Option<String>,
    role_id: &str,
    duration_secs: i64,
    creator: Creator,
    now: Micros,
) -> Result<(ApiKey, String)> {
    if !(DAY_SECS..=90 * DAY_SECS).contains(&duration_secs) {
        return Err(Error::field(
            Location::Body,
            "duration",
            "value_error",
            "duration must be between 1 and 90 days",
        ));
    }
    let secret = random_secret();
    let (creator_user_id, creator_org_id) = creator.stored();
    let key = ApiKey {
        org_id: String::from(org_id.to_owned()),
        key_id: uuid::Uuid::new_v4().to_string(),
        doc_id: new_object_id(),
        name,
        secret_hash: hash_secret(&secret),
        role_id: role_id.to_owned(),
        creator_user_id,
        creator_org_id,
        expires_at: now + duration_secs * 1_000_000,
        created_at: now,
        updated_at: now,
    };
    Ok((key, secret))
}

impl Core {
    pub async fn create_api_key(
        &self,
        ctx: &Context,
        org_ref: &str,
        name: Option<String>,
        duration_secs: i64,
        role_name: &str,
    ) -> Result<CreatedApiKey> {
        let org = self.find_org(org_ref).await?;
        let access = ctx.access(&org)?;
        access.require_org(perm::API_KEY_CREATE)?;
        let roles = self.roles(&org.id).await?;
        let role = roles
            .iter()
            .find(|r| r.name == role_name)
            .ok_or(Error::NotFound("role"))?;
        access.require_outranks(&role.grants, &format!("the role {role_name}"))?;
        let (key, secret) = new_api_key(
            &org.id,
            name,
            &role.id,
            duration_secs,
            access.creator(),
            self.now(),
        )?;
        let fx = Effects::audit(self.audit(
            ctx,
            &org.id,
            "api_key.create",
            None,
            json!({ "key_id": key.key_id, "role": role.name }),
        ));
        self.store
            .insert_api_key(&key, self.config.max_api_keys_per_org, fx)
            .await?;
        Ok(CreatedApiKey { key, secret })
    }

    /// The keys the caller may see: none without the permission.
    pub async fn list_api_keys(&self, ctx: &Context, org_ref: &str) -> Result<Vec<ApiKey>> {
        let org = self.find_org(org_ref).await?;
        let access = ctx.access(&org)?;
        if !access.can_org(perm::API_KEY_GET) {
            return Ok(Vec::new());
        }
        Ok(self.store.list_api_keys(&org.id).await?)
    }

    pub async fn delete_api_key(&self, ctx: &Context, org_ref: &str, key_id: &str) -> Result<()> {
        let org = self.find_org(org_ref).await?;
        let access = ctx.access(&org)?;
        access.require_org(perm::API_KEY_DELETE)?;
        let key = self
            .store
            .get_api_key(&org.id, key_id)
            .await?
            .ok_or(Error::NotFound("API key"))?;
        let roles = self.roles(&org.id).await?;
        let grants = grants_of(&roles, std::slice::from_ref(&key.role_id));
        access.require_outranks(&grants, "the API key's role")?;
        let fx = Effects::audit(self.audit(
            ctx,
            &org.id,
            "api_key.delete",
            None,
            json!({ "key_id": key_id }),
        ));
        self.store.delete_api_key(&org.id, key_id, fx).await?;
        Ok(())
    }

    /// Gives the key a new id and secret in one transaction: the old id and secret stop
    /// working at once, and so do the sessions signed in with them (a token names its key,
    /// which is gone). Its name, role, creator and expiry stay. Needs the rights to create and
    /// to delete a key, and to outrank its role, as making a new key and deleting the old does.
    pub async fn rotate_api_key(
        &self,
        ctx: &Context,
        org_ref: &str,
        key_id: &str,
    ) -> Result<CreatedApiKey> {
        let org = self.find_org(org_ref).await?;
        let access = ctx.access(&org)?;
        access.require_org(perm::API_KEY_CREATE)?;
        access.require_org(perm::API_KEY_DELETE)?;
        let old = self
            .store
            .get_api_key(&org.id, key_id)
            .await?
            .ok_or(Error::NotFound("API key"))?;
        let roles = self.roles(&org.id).await?;
        let grants = grants_of(&roles, std::slice::from_ref(&old.role_id));
        access.require_outranks(&grants, "the API key's role")?;
        let secret = random_secret();
        let key = ApiKey {
            key_id: uuid::Uuid::new_v4().to_string(),
            secret_hash: hash_secret(&secret),
            updated_at: self.now().max(old.updated_at + 1),
            ..old
        };
        let role = roles
            .iter()
            .find(|r| r.id == key.role_id)
            .map(|r| r.name.clone());
        let fx = Effects::audit(self.audit(
            ctx,
            &org.id,
            "api_key.rotate",
            None,
            json!({ "key_id": key.key_id, "previous_key_id": key_id, "role": role }),
        ));
        self.store
            .rotate_api_key(key_id, &key, fx)
            .await
            .map_err(|e| match e {
                crate::store::StoreError::NotFound => Error::NotFound("API key"),
                e => e.into(),
            })?;
        Ok(CreatedApiKey { key, secret })
    }

    /// Checks the key and returns the user to sign in as. Unknown key, wrong secret, expired key
    /// or unknown user: 401. A user the key's role does not outrank: 403.
    pub async fn sign_in_with_api_key(
        &self,
        request_id: &str,
        org_ref: &str,
        key_id: &str,
        secret: &str,
        user_id: &UserId,
    ) -> Result<SignedIn> {
        let org = self.find_org(org_ref).await?;
        let key = self.store.get_api_key(&org.id, key_id).await?;
        let presented = hash_secret(secret);
        let valid = match &key {
            Some(k) => constant_time_eq(&k.secret_hash, &presented) && k.expires_at > self.now(),
            None => false,
        };
        let Some(key) = key.filter(|_| valid) else {
            return Err(Error::Unauthenticated);
        };
        let user = self
            .store
            .get_user(&org.id, user_id)
            .await?
            .ok_or(Error::Unauthenticated)?;
        if user.status == UserStatus::Inactive {
            return Err(Error::Unauthenticated);
        }
        let roles = self.roles(&org.id).await?;
        let key_grants = grants_of(&roles, std::slice::from_ref(&key.role_id));
        let user_grants = grants_of(&roles, &user.role_ids);
        if !permissions::outranks(&key_grants, &user_grants) {
            return Err(Error::forbidden(
                "the API key's role does not outrank the requested user's role",
            ));
        }
        let ctx = Context::new(
            request_id,
            Actor::ApiKey {
                org_id: org.id.to_string(),
                key_id: key.key_id.clone(),
            },
        );
        let fx = Effects::audit(self.audit(
            &ctx,
            &org.id,
            "user.sign_in.api_key",
            Some(&user.id),
            json!({ "key_id": key.key_id }),
        ));
        // Group-committed: concurrent sign-ins share a transaction, each still waiting for its row.
        self.effects.write(fx).await?;
        // Key sign-ins are what an operator looks for after a key leaks.
        tracing::info!(org = %org.id, user = %user.id, key_id = %key.key_id, "signed in with an API key");
        Ok(SignedIn {
            org_id: org.id.into(),
            user_id: user.id.into(),
            identity_id: user.identity_id,
            method: SignInMethod::ApiKey,
            api_key_id: Some(key.key_id),
        })
    }
}
