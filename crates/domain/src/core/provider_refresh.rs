//! The provider's refresh tokens: rotated on every use, bound to their client; a spent one
//! presented again means it leaked, and every provider refresh token of its user in the
//! organization is withdrawn. Revocation (RFC 7009) of one token.

use crate::types::OrgId;
use crate::types::UserId;
use serde_json::{json, Value};

use super::access::{Actor, Context};
use super::authorize::{method_of, owner, text, ProviderGrant, REFRESH, REFRESH_TTL_SECS};
use super::keys::SignedIn;
use super::Core;
use crate::error::{Error, Result};
use crate::model::*;
use crate::secrets::{hash_secret, random_secret};
use crate::store::{Effects, Revocation};
use crate::types::session_stamp;

impl Core {
    pub(super) fn refresh_record(
        &self,
        secret: &str,
        who: &SignedIn,
        client: &OidcClient,
        scope: &str,
        (auth_time, sid): (i64, Option<&str>),
        now: i64,
    ) -> OneTimeToken {
        OneTimeToken::new(
            secret,
            owner(who),
            REFRESH,
            json!({ "client_id": client.client_id, "scope": scope, "auth_time": auth_time,
                    "amr": who.method.amr(), "sid": sid }),
            REFRESH_TTL_SECS,
            now,
        )
    }

    pub fn provider_refresh_ttl_secs(&self) -> i64 {
        REFRESH_TTL_SECS
    }

    /// Whether `token` is a refresh token of the provider (issued through a code), used or not:
    /// those are refreshed with [`Core::refresh_for_client`], the others with [`Core::refresh`].
    pub async fn is_provider_refresh_token(&self, org: &Organization, token: &str) -> Result<bool> {
        let hash = hash_secret(token.trim());
        let live = self.store.find_token(&hash, self.now()).await?;
        let t = match live {
            Some(t) => Some(t),
            None => self.store.spent_token(&org.id, &hash).await?,
        };
        Ok(t.is_some_and(|t| t.purpose == REFRESH && t.org_id == org.id))
    }

    /// Rotates a provider refresh token of `client`. A token already spent, presented again,
    /// means it leaked: every provider refresh token of its user in the organization is
    /// withdrawn, and the answer is `Unauthenticated` as for any unknown token.
    pub async fn refresh_for_client(
        &self,
        request_id: &str,
        client: &OidcClient,
        token: &str,
    ) -> Result<ProviderGrant> {
        let hash = hash_secret(token.trim());
        let now = self.now();
        let ctx = Context::new(request_id, Actor::Anonymous);
        let org_id = client.org_id.clone();
        let held = self
            .store
            .find_token(&hash, now)
            .await?
            .filter(|t| t.purpose == REFRESH && t.org_id == org_id);
        let Some(held) = held else {
            if let Some(spent) = self
                .store
                .spent_token(&OrgId::from(&org_id), &hash)
                .await?
                .filter(|t| t.purpose == REFRESH)
            {
                self.withdraw_refresh_tokens(&ctx, &spent).await?;
            }
            return Err(Error::Unauthenticated);
        };
        let p = &held.payload;
        if text(p, "client_id").as_deref() != Some(client.client_id.as_str()) {
            return Err(Error::Unauthenticated);
        }
        // The browser session it came from was ended by logout: it ended with it. (Left
        // unspent, so that a client retrying it is not taken for a thief replaying it.)
        let sid = text(p, "sid");
        if self
            .session_ended(&OrgId::from(&org_id), sid.as_deref())
            .await?
        {
            return Err(Error::Unauthenticated);
        }
        let rec = self
            .active(
                &OrgId::from(&org_id),
                &UserId::from(&held.user_id),
                held.created_at,
            )
            .await?;
        let who = SignedIn {
            org_id: org_id.clone(),
            user_id: rec.user_id,
            identity_id: rec.identity_id,
            method: method_of(&text(p, "amr").unwrap_or_default()),
            api_key_id: None,
        };
        let scope = text(p, "scope").unwrap_or_default();
        let auth_time = p["auth_time"].as_i64().unwrap_or(0);
        let next = random_secret();
        let mut fx = Effects::audit(self.audit(
            &ctx,
            &OrgId::from(&org_id),
            "user.token_refresh",
            Some(&UserId::from(&who.user_id)),
            json!({ "client_id": client.client_id }),
        ));
        fx.tokens.push(self.refresh_record(
            &next,
            &who,
            client,
            &scope,
            (auth_time, sid.as_deref()),
            session_stamp(),
        ));
        let consumed = self
            .store
            .consume_token(&OrgId::from(&org_id), &hash, &[REFRESH], now, fx)
            .await?;
        if consumed.is_none() {
            // Spent meanwhile by a concurrent use: the same leak as a later reuse.
            self.withdraw_refresh_tokens(&ctx, &held).await?;
            return Err(Error::Unauthenticated);
        }
        Ok(ProviderGrant {
            who,
            auth_time,
            issued_at: held.created_at,
            nonce: None,
            scope,
            refresh_token: next,
        })
    }

    /// A spent refresh token or code was presented again: it leaked, so every provider refresh
    /// token of its user in the organization is withdrawn.
    pub(super) async fn withdraw_refresh_tokens(
        &self,
        ctx: &Context,
        spent: &OneTimeToken,
    ) -> Result<()> {
        tracing::warn!(org = %spent.org_id, purpose = %spent.purpose, "a spent one-time token was presented again");
        let action = if spent.purpose == REFRESH {
            "user.token_refresh_reused"
        } else {
            "user.oidc_code_reused"
        };
        let mut fx = Effects::audit(self.audit(
            ctx,
            &OrgId::from(&spent.org_id),
            action,
            Some(&UserId::from(&spent.user_id)),
            json!({ "client_id": spent.payload.get("client_id") }),
        ));
        fx.revoke.push(Revocation::new(
            &OrgId::from(&spent.org_id),
            &UserId::from(&spent.user_id),
            REFRESH,
        ));
        // What the first use issued (an access token good for an hour) ends too: the member's
        // sessions in this organization are cut, the person's other organizations untouched.
        self.store
            .end_member_sessions(
                &OrgId::from(&spent.org_id),
                &UserId::from(&spent.user_id),
                crate::types::session_stamp(),
                fx,
            )
            .await?;
        Ok(())
    }

    /// Revokes a provider refresh token of `client` (RFC 7009): true when one was withdrawn.
    /// Anything else (an access token, an unknown or another client's token) changes nothing.
    pub async fn revoke_provider_token(
        &self,
        request_id: &str,
        client: &OidcClient,
        token: &str,
    ) -> Result<bool> {
        let hash = hash_secret(token.trim());
        let now = self.now();
        let Some(held) = self.store.find_token(&hash, now).await?.filter(|t| {
            t.purpose == REFRESH
                && t.org_id == client.org_id
                && t.payload.get("client_id").and_then(Value::as_str)
                    == Some(client.client_id.as_str())
        }) else {
            return Ok(false);
        };
        let ctx = Context::new(request_id, Actor::Anonymous);
        let fx = Effects::audit(self.audit(
            &ctx,
            &OrgId::from(&held.org_id),
            "user.token_revoked",
            Some(&UserId::from(&held.user_id)),
            json!({ "client_id": client.client_id }),
        ));
        Ok(self
            .store
            .consume_token(&OrgId::from(&held.org_id), &hash, &[REFRESH], now, fx)
            .await?
            .is_some())
    }
}
