//! What Roster's OpenID Connect provider keeps: the single sign-on session of a browser in an
//! organization, authorization codes (single use, bound to client, redirect URI and PKCE
//! challenge) and the refresh tokens they start (rotated on each use; a spent one presented
//! again ends all of the user's provider refresh tokens in that organization). All of them are
//! one-time tokens stored as hashes. Refreshing them is `provider_refresh.rs`.

use crate::types::OrgId;
use crate::types::UserId;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::access::{Actor, Context};
use super::keys::{SignInMethod, SignedIn};
use super::Core;
use crate::error::{Error, Result};
use crate::kinds::TokenPurpose;
use crate::model::*;
use crate::secrets::{constant_time_eq, hash_secret, random_secret};
use crate::store::{Effects, PrincipalRecord};
use crate::types::{session_stamp, Micros};

pub(super) const SESSION: TokenPurpose = TokenPurpose::SsoSession;
const CODE: TokenPurpose = TokenPurpose::OidcCode;
pub(super) const REFRESH: TokenPurpose = TokenPurpose::OidcRefresh;
/// How long a browser stays signed in to an organization.
pub const SESSION_TTL_SECS: i64 = 12 * 3600;
const CODE_TTL_SECS: i64 = 60;
pub(super) const REFRESH_TTL_SECS: i64 = 30 * 24 * 3600;

/// A browser's sign-in to one organization.
#[derive(Debug, Clone)]
pub struct BrowserSession {
    pub who: SignedIn,
    /// When the person last proved who they are (seconds since the epoch).
    pub auth_time: i64,
    /// When the session began (microseconds): a cut-off of the account's sessions after it
    /// ends it.
    pub since: Micros,
    /// The session's stored hash: the codes and refresh tokens it starts carry it, and stop
    /// working once the session is ended by logout (`provider_logout.rs`).
    pub sid: String,
}

/// What an authorization code is bound to, and what it carries to the tokens.
#[derive(Debug, Clone, Default)]
pub struct CodeBinding {
    pub client_id: String,
    pub redirect_uri: String,
    /// The PKCE S256 challenge, when the client sent one.
    pub code_challenge: Option<String>,
    pub nonce: Option<String>,
    pub scope: String,
}

/// What a redeemed code or a refresh gives: the sign-in, its details and the next refresh token.
#[derive(Debug, Clone)]
pub struct ProviderGrant {
    pub who: SignedIn,
    pub auth_time: i64,
    /// When the code or refresh token behind the grant was issued (microseconds).
    pub issued_at: Micros,
    pub nonce: Option<String>,
    pub scope: String,
    pub refresh_token: String,
}

pub(super) fn method_of(amr: &str) -> SignInMethod {
    match amr {
        "mail" => SignInMethod::EmailLink,
        "link" => SignInMethod::SharedLink,
        "fed" => SignInMethod::Upstream,
        "sso" => SignInMethod::Sso,
        _ => SignInMethod::Password,
    }
}

/// The PKCE S256 transform of a verifier (RFC 7636 §4.2).
pub fn pkce_s256(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// A verifier RFC 7636 allows: 43 to 128 unreserved characters.
fn verifier_well_formed(v: &str) -> bool {
    (43..=128).contains(&v.len())
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

pub(super) fn owner(who: &SignedIn) -> TokenOwner<'_> {
    TokenOwner {
        org_id: &who.org_id,
        user_id: &who.user_id,
        identity_id: &who.identity_id,
    }
}

pub(super) fn text(v: &Value, k: &str) -> Option<String> {
    v.get(k).and_then(Value::as_str).map(str::to_owned)
}

impl Core {
    /// An active member's principal, for a token minted at `issued_at`.
    pub(super) async fn active(
        &self,
        org_id: &OrgId,
        user_id: &UserId,
        issued_at: Micros,
    ) -> Result<PrincipalRecord> {
        let rec = self.authenticate(org_id, user_id, issued_at).await?;
        if rec.status != UserStatus::Active {
            return Err(Error::Unauthenticated);
        }
        Ok(rec)
    }

    /// Starts a browser's single sign-on session after a sign-in; returns the cookie's secret.
    pub async fn start_browser_session(&self, request_id: &str, who: &SignedIn) -> Result<String> {
        let secret = random_secret();
        let now = session_stamp();
        let ctx = Context::new(request_id, Actor::Anonymous);
        let mut fx = Effects::audit(self.audit(
            &ctx,
            &OrgId::from(&who.org_id),
            "user.browser_session.started",
            Some(&UserId::from(&who.user_id)),
            json!({ "amr": who.method.amr() }),
        ));
        fx.tokens.push(OneTimeToken::new(
            &secret,
            owner(who),
            SESSION,
            json!({ "auth_time": now / 1_000_000, "amr": who.method.amr() }),
            SESSION_TTL_SECS,
            now,
        ));
        self.store.write_effects(fx).await?;
        Ok(secret)
    }

    /// The browser session of this cookie in `org`, if it is live and its user still active.
    pub async fn browser_session(
        &self,
        org: &Organization,
        secret: &str,
    ) -> Result<Option<BrowserSession>> {
        let now = self.now();
        let Some(t) = self
            .store
            .find_token(&hash_secret(secret), now)
            .await?
            .filter(|t| t.purpose == SESSION && t.org_id == org.id)
        else {
            return Ok(None);
        };
        let Ok(rec) = self
            .active(&org.id, &UserId::from(&t.user_id), t.created_at)
            .await
        else {
            return Ok(None);
        };
        let amr = text(&t.payload, "amr").unwrap_or_default();
        Ok(Some(BrowserSession {
            who: SignedIn {
                org_id: org.id.to_string(),
                user_id: rec.user_id,
                identity_id: rec.identity_id,
                method: method_of(&amr),
                api_key_id: None,
            },
            auth_time: t.payload["auth_time"]
                .as_i64()
                .unwrap_or(t.created_at / 1_000_000),
            since: t.created_at,
            sid: t.token_hash,
        }))
    }

    /// Ends a browser session (logout); true when there was one.
    pub async fn end_browser_session(
        &self,
        request_id: &str,
        org: &Organization,
        secret: &str,
    ) -> Result<bool> {
        let hash = hash_secret(secret);
        let now = self.now();
        let Some(t) = self
            .store
            .find_token(&hash, now)
            .await?
            .filter(|t| t.purpose == SESSION && t.org_id == org.id)
        else {
            return Ok(false);
        };
        let ctx = Context::new(request_id, Actor::Anonymous);
        let fx = Effects::audit(self.audit(
            &ctx,
            &org.id,
            "user.browser_session.ended",
            Some(&UserId::from(&t.user_id)),
            json!({}),
        ));
        Ok(self
            .store
            .consume_token(&org.id, &hash, &[SESSION], now, fx)
            .await?
            .is_some())
    }

    /// An authorization code for a session's user, bound to `binding`.
    pub async fn issue_authorization_code(
        &self,
        session: &BrowserSession,
        binding: &CodeBinding,
    ) -> Result<String> {
        let who = &session.who;
        self.active(
            &OrgId::from(&who.org_id),
            &UserId::from(&who.user_id),
            session.since,
        )
        .await?;
        let code = random_secret();
        let fx = Effects {
            tokens: vec![OneTimeToken::new(
                &code,
                owner(who),
                CODE,
                json!({
                    "client_id": binding.client_id,
                    "redirect_uri": binding.redirect_uri,
                    "code_challenge": binding.code_challenge,
                    "nonce": binding.nonce,
                    "scope": binding.scope,
                    "auth_time": session.auth_time,
                    "amr": who.method.amr(),
                    "sid": session.sid,
                }),
                CODE_TTL_SECS,
                session_stamp(),
            )],
            ..Effects::default()
        };
        self.store.write_effects(fx).await?;
        Ok(code)
    }

    /// Exchanges a code once, for `client` at `redirect_uri` with the PKCE `verifier` its
    /// challenge asked for. Any mismatch, a used or expired code, or a user no longer active
    /// is `Unauthenticated` (OAuth's `invalid_grant`); the code is spent only by a match.
    pub async fn redeem_authorization_code(
        &self,
        request_id: &str,
        client: &OidcClient,
        code: &str,
        redirect_uri: Option<&str>,
        verifier: Option<&str>,
    ) -> Result<ProviderGrant> {
        let hash = hash_secret(code.trim());
        let now = self.now();
        let held = self
            .store
            .find_token(&hash, now)
            .await?
            .filter(|t| t.purpose == CODE && t.org_id == client.org_id);
        let Some(held) = held else {
            // A used code presented again was intercepted: what it started is withdrawn
            // (RFC 6749 §4.1.2).
            let spent = self
                .store
                .spent_token(&OrgId::from(&client.org_id), &hash)
                .await?;
            if let Some(spent) = spent.filter(|t| t.purpose == CODE) {
                let ctx = Context::new(request_id, Actor::Anonymous);
                self.withdraw_refresh_tokens(&ctx, &spent).await?;
            }
            return Err(Error::Unauthenticated);
        };
        let p = &held.payload;
        let bound_to_client = text(p, "client_id").as_deref() == Some(client.client_id.as_str())
            && text(p, "redirect_uri").as_deref() == redirect_uri;
        let pkce_ok = match (text(p, "code_challenge"), verifier) {
            (Some(challenge), Some(v)) => {
                verifier_well_formed(v) && constant_time_eq(&pkce_s256(v), &challenge)
            }
            (None, None) => !client.is_public(),
            _ => false,
        };
        if !bound_to_client || !pkce_ok {
            return Err(Error::Unauthenticated);
        }
        let sid = text(p, "sid");
        if self
            .session_ended(&OrgId::from(&held.org_id), sid.as_deref())
            .await?
        {
            return Err(Error::Unauthenticated);
        }
        let auth_time = p["auth_time"]
            .as_i64()
            .unwrap_or(held.created_at / 1_000_000);
        let rec = self
            .active(
                &OrgId::from(&held.org_id),
                &UserId::from(&held.user_id),
                held.created_at,
            )
            .await?;
        let who = SignedIn {
            org_id: held.org_id.clone(),
            user_id: rec.user_id,
            identity_id: rec.identity_id,
            method: method_of(&text(p, "amr").unwrap_or_default()),
            api_key_id: None,
        };
        let scope = text(p, "scope").unwrap_or_default();
        let refresh_token = random_secret();
        let ctx = Context::new(request_id, Actor::Anonymous);
        let mut fx = Effects::audit(self.audit(
            &ctx,
            &OrgId::from(&who.org_id),
            "user.sign_in.oidc_code",
            Some(&UserId::from(&who.user_id)),
            json!({ "client_id": client.client_id }),
        ));
        fx.tokens.push(self.refresh_record(
            &refresh_token,
            &who,
            client,
            &scope,
            (auth_time, sid.as_deref()),
            session_stamp(),
        ));
        self.store
            .consume_token(&OrgId::from(&who.org_id), &hash, &[CODE], now, fx)
            .await?
            .ok_or(Error::Unauthenticated)?;
        Ok(ProviderGrant {
            who,
            auth_time,
            issued_at: held.created_at,
            nonce: text(p, "nonce"),
            scope,
            refresh_token,
        })
    }

    /// What the provider tells a client about a signed-in user: the membership, its identity
    /// and role names.
    pub async fn provider_profile(
        &self,
        org_id: &OrgId,
        user_id: &UserId,
        issued_at: Micros,
    ) -> Result<(User, Identity, Vec<String>)> {
        let rec = self.active(org_id, user_id, issued_at).await?;
        let user = self
            .store
            .get_user(org_id, user_id)
            .await?
            .ok_or(Error::Unauthenticated)?;
        let identity = self
            .store
            .get_identity(&user.identity_id)
            .await?
            .ok_or(Error::Unauthenticated)?;
        Ok((user, identity, rec.role_names))
    }
}
