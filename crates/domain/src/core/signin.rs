//! Password sign-in (the Keycloak-compatible token endpoint) and rotating refresh tokens.

use crate::types::UserId;
use serde_json::json;

use super::access::{Actor, Context};
use super::keys::SignedIn;
use super::Core;
use crate::error::{Error, Result};
use crate::kinds::TokenPurpose;
use crate::model::*;
use crate::paging::UserQuery;
use crate::secrets::{hash_secret, random_secret};
use crate::store::Effects;

const REFRESH_TTL_SECS: i64 = 30 * 24 * 3600;

impl Core {
    /// Checks a password for a member of `org_ref`, from `client` (its address). Unknown
    /// accounts are verified against a dummy hash, and every failure answers the same (a wrong
    /// password, an unknown account, a throttled or locked account or client), so the reply
    /// tells nothing about the account. A password over 1 KiB is refused before any of it.
    pub async fn sign_in_with_password(
        &self,
        request_id: &str,
        org_ref: &str,
        username: &str,
        password: &str,
        client: &str,
    ) -> Result<SignedIn> {
        crate::password::check_length(password, "password")
            .map_err(|e| Error::Validation(vec![e]))?;
        let org = self.find_org(org_ref).await?;
        let email = username.trim().to_lowercase();
        let throttle = self.config.sign_in_throttle;
        let now = self.now();
        let (client_key, account_key) = (format!("client:{client}"), format!("account:{email}"));
        // Charged before the password is checked, the client first: an attempt refused for the
        // client costs the account nothing.
        let allowed = self
            .store
            .charge_sign_in_attempt(&client_key, now, &throttle.client)
            .await?
            && self
                .store
                .charge_sign_in_attempt(&account_key, now, &throttle.account)
                .await?;
        // The identity is found through the organization's member of this email, so that it is
        // the one on the organization's database cluster (identities are per cluster).
        let mut q = UserQuery::new(1);
        q.emails_lower = vec![email];
        let member = self.store.list_users(&org.id, &q).await?.into_iter().next();
        let identity = match &member {
            Some(u) => self.store.get_identity(&u.identity_id).await?,
            None => None,
        };
        // Only where this organization lets the person sign in with a password.
        let by_password = member
            .as_ref()
            .is_some_and(|u| u.connection == Connection::Password);
        let stored = match &identity {
            Some(i) if allowed && by_password => self.store.password_hash(&i.id).await?,
            _ => None,
        };
        // A refused attempt still costs a (dummy) verification: it takes as long as a wrong one.
        let ok = match self.passwords.verify(password, stored.as_deref()).await {
            Ok(matched) => matched && allowed,
            Err(e) => {
                // Turned away unchecked (the hashers are saturated): the attempt is given back,
                // so that a busy server does not lock its users out.
                if allowed {
                    self.store
                        .forgive_sign_in_attempt(&account_key, false)
                        .await?;
                    self.store
                        .forgive_sign_in_attempt(&client_key, false)
                        .await?;
                }
                return Err(e);
            }
        };
        if !allowed {
            tracing::warn!(org = %org.id, client, "password sign-in throttled");
        }
        let ctx = Context::new(request_id, Actor::Anonymous);
        if !ok {
            if let Some(u) = &member {
                let action = if allowed {
                    "user.sign_in.password_failed"
                } else {
                    "user.sign_in.password_throttled"
                };
                let fx = Effects::audit(self.audit(&ctx, &org.id, action, Some(&u.id), json!({})));
                self.store.write_effects(fx).await?;
            }
            return Err(Error::Unauthenticated);
        }
        let user = member
            .filter(|u| u.status == UserStatus::Active)
            .ok_or(Error::Unauthenticated)?;
        // The owner proved the password: the account starts afresh; the client gets back only
        // this attempt, so signing in to one's own account cannot reset a client's count.
        self.store
            .forgive_sign_in_attempt(&account_key, true)
            .await?;
        self.store
            .forgive_sign_in_attempt(&client_key, false)
            .await?;
        let fx = Effects::audit(self.audit(
            &ctx,
            &org.id,
            "user.sign_in.password",
            Some(&user.id),
            json!({}),
        ));
        self.store.write_effects(fx).await?;
        Ok(SignedIn {
            org_id: org.id.into(),
            user_id: user.id.into(),
            identity_id: user.identity_id,
            method: super::keys::SignInMethod::Password,
            api_key_id: None,
        })
    }

    /// A new refresh token for a signed-in user (single use: each refresh returns the next one).
    pub async fn issue_refresh_token(&self, who: &SignedIn) -> Result<String> {
        let secret = random_secret();
        let now = self.now();
        let fx = Effects {
            tokens: vec![OneTimeToken::new(
                &secret,
                TokenOwner {
                    org_id: &who.org_id,
                    user_id: &who.user_id,
                    identity_id: &who.identity_id,
                },
                TokenPurpose::Refresh,
                json!({}),
                REFRESH_TTL_SECS,
                now,
            )],
            ..Effects::default()
        };
        self.store.write_effects(fx).await?;
        Ok(secret)
    }

    pub fn refresh_ttl_secs(&self) -> i64 {
        REFRESH_TTL_SECS
    }

    /// Exchanges a refresh token once, for a sign-in and the next refresh token, in one
    /// transaction; the user must still be active and its sessions unrevoked.
    pub async fn refresh(
        &self,
        request_id: &str,
        org_ref: &str,
        token: &str,
    ) -> Result<(SignedIn, String)> {
        let org = self.find_org(org_ref).await?;
        let hash = hash_secret(token.trim());
        let now = self.now();
        let held = self
            .store
            .find_token(&hash, now)
            .await?
            .filter(|t| t.purpose == TokenPurpose::Refresh && t.org_id == org.id)
            .ok_or(Error::Unauthenticated)?;
        let rec = self
            .authenticate(&org.id, &UserId::from(&held.user_id), held.created_at)
            .await?;
        let ctx = Context::new(request_id, Actor::Anonymous);
        let next = random_secret();
        let mut fx = Effects::audit(self.audit(
            &ctx,
            &org.id,
            "user.token_refresh",
            Some(&UserId::from(&rec.user_id)),
            json!({}),
        ));
        fx.tokens.push(OneTimeToken::new(
            &next,
            TokenOwner {
                org_id: &org.id,
                user_id: &held.user_id,
                identity_id: &held.identity_id,
            },
            TokenPurpose::Refresh,
            json!({}),
            REFRESH_TTL_SECS,
            now,
        ));
        // Of two concurrent uses, one consumes the token and writes its successor; the other fails.
        self.store
            .consume_token(&org.id, &hash, &[TokenPurpose::Refresh], now, fx)
            .await?
            .ok_or(Error::Unauthenticated)?;
        let who = SignedIn {
            org_id: org.id.into(),
            user_id: rec.user_id,
            identity_id: rec.identity_id,
            method: super::keys::SignInMethod::Password,
            api_key_id: None,
        };
        Ok((who, next))
    }
}
