//! The flows that start or end with an emailed link: what a landing page may show about a
//! link (without using it), accepting an invitation with a first password, and the password
//! reset a signed-out person asks for by email and completes with the link's token.

use serde_json::json;

use super::access::Context;
use super::keys::SignedIn;
use super::users::email_language;
use super::{Actor, Core};
use crate::error::{Error, FieldError, Location, Problems, Result};
use crate::model::*;
use crate::paging::UserQuery;
use crate::password;
use crate::secrets::{hash_secret, random_secret};
use crate::store::{Effects, NewPassword};
use crate::types::*;

/// How long a password-reset link works.
pub const RESET_TTL_SECS: i64 = 3600;

/// What a landing page may show about a link before it is used.
#[derive(Debug, Clone, PartialEq)]
pub struct LinkView {
    /// `invite`, `magic_link`, `password_reset` or `email_change`.
    pub purpose: String,
    /// An invitation of an identity that signs in with a password and has none yet.
    pub needs_password: bool,
    /// The address an email change moves to.
    pub new_email: Option<String>,
}

/// A used invitation or magic link: who is signed in, where the link asked to go next.
#[derive(Debug, Clone)]
pub struct Accepted {
    pub signed_in: SignedIn,
    /// The invitation's `login_link` (set by an administrator) or the magic link's
    /// `redirect_link` (set by whoever asked for the link).
    pub redirect: Option<String>,
    /// `invite` or `magic_link`.
    pub purpose: String,
    /// Where a browser may be sent *with* the new access token: only an invitation's
    /// `login_link`. A magic link's `redirect_link` was chosen by whoever asked for the link,
    /// so handing it the token would give a victim's session to whoever typed their address.
    pub token_destination: Option<String>,
}

fn token_required(token: &str) -> Result<&str> {
    let token = token.trim();
    if token.is_empty() {
        return Err(Error::field(
            Location::Body,
            "token",
            "missing",
            "token is required",
        ));
    }
    Ok(token)
}

fn policy(password: &str) -> Result<()> {
    password::check_policy(password, "password").map_err(|e| Error::Validation(vec![e]))
}

impl Core {
    /// The link's token if it is unused, unexpired, of one of `purposes`, and of the organization
    /// `org_ref` (when given). Nothing is used up: mail scanners open links before people do.
    pub async fn inspect_link(
        &self,
        org_ref: Option<&str>,
        token: &str,
        purposes: &[&str],
    ) -> Result<Option<LinkView>> {
        let org_id = match org_ref {
            Some(r) => Some(self.find_org(r).await?.id),
            None => None,
        };
        let Some(t) = self
            .store
            .find_token(&hash_secret(token.trim()), now_micros())
            .await?
        else {
            return Ok(None);
        };
        if !purposes.contains(&t.purpose.as_str()) || org_id.is_some_and(|o| o != t.org_id) {
            return Ok(None);
        }
        let needs_password = t.purpose == "invite" && self.needs_password(&t.identity_id).await?;
        Ok(Some(LinkView {
            new_email: t
                .payload
                .get("email")
                .and_then(|v| v.as_str())
                .map(str::to_owned)
                .filter(|_| t.purpose == "email_change"),
            purpose: t.purpose,
            needs_password,
        }))
    }

    async fn needs_password(&self, identity_id: &str) -> Result<bool> {
        let Some(identity) = self.store.get_identity(identity_id).await? else {
            return Ok(false);
        };
        Ok(identity.connection == Connection::Password
            && self.store.password_hash(identity_id).await?.is_none())
    }

    /// Uses an invitation or magic-link token: signs the user in; an invitation also makes the
    /// user active and, given `password`, sets the first password of an identity that signs in
    /// with one. The password is checked before the token is used, so a refused password leaves
    /// the link working. Each token works once, even when used twice at the same moment.
    pub async fn accept_link(
        &self,
        request_id: &str,
        org_ref: &str,
        token: &str,
        password: Option<&str>,
    ) -> Result<Accepted> {
        let org = self.find_org(org_ref).await?;
        let token = token_required(token)?;
        let hash = hash_secret(token);
        let ctx = Context::new(request_id, Actor::Anonymous);
        let fx = Effects::audit(self.audit(&ctx, &org.id, "user.token_exchange", None, json!({})));
        let purposes = ["invite", "magic_link"];
        let used = match password {
            None => {
                self.store
                    .consume_token(&org.id, &hash, &purposes, now_micros(), fx)
                    .await?
            }
            Some(pw) => {
                policy(pw)?;
                let view = self
                    .inspect_link(Some(&org.id), token, &purposes)
                    .await?
                    .ok_or(Error::Unauthenticated)?;
                if view.purpose != "invite" {
                    return Err(Error::field(
                        Location::Body,
                        "password",
                        "extra_forbidden",
                        "only an invitation link sets a password",
                    ));
                }
                if !view.needs_password {
                    return Err(Error::Conflict(
                        "this account already has a password or signs in through another provider"
                            .into(),
                    ));
                }
                let new = NewPassword {
                    hash: self.passwords.hash(pw).await?,
                    only_if_unset: true,
                    revoke_sessions: false,
                };
                self.store
                    .consume_token_with_password(
                        &org.id,
                        &hash,
                        &["invite"],
                        now_micros(),
                        &new,
                        fx,
                    )
                    .await?
            }
        }
        .ok_or(Error::Unauthenticated)?;
        let user = self
            .target_user(&org.id, &used.user_id)
            .await
            .map_err(|_| Error::Unauthenticated)?;
        if user.status == UserStatus::Inactive {
            return Err(Error::Unauthenticated);
        }
        let redirect = used
            .payload
            .get("login_link")
            .or_else(|| used.payload.get("redirect_link"))
            .and_then(|v| v.as_str())
            .map(str::to_owned);
        Ok(Accepted {
            signed_in: SignedIn {
                org_id: org.id,
                user_id: user.id,
                identity_id: user.identity_id,
                // The inviter of an Amigo user was shown the link too: not a proof of ownership.
                method: if used.payload.get("shown_to_inviter")
                    == Some(&serde_json::Value::Bool(true))
                {
                    super::keys::SignInMethod::SharedLink
                } else {
                    super::keys::SignInMethod::EmailLink
                },
                api_key_id: None,
            },
            token_destination: redirect.clone().filter(|_| used.purpose == "invite"),
            redirect,
            purpose: used.purpose,
        })
    }

    /// The audit event, token and email of a password reset of `user`.
    pub(crate) fn password_reset_effects(
        &self,
        ctx: &Context,
        org: &Organization,
        user: &User,
    ) -> Effects {
        let secret = random_secret();
        let now = now_micros();
        let link = format!(
            "{}/v1/{}/user/password-reset?token={secret}",
            self.config.public_url.trim_end_matches('/'),
            org.id
        );
        let mut fx = Effects::audit(self.audit(
            ctx,
            &org.id,
            "user.password_reset_requested",
            Some(&user.id),
            json!({}),
        ));
        fx.tokens.push(OneTimeToken::new(
            &secret,
            TokenOwner::from(user),
            "password_reset",
            json!({}),
            RESET_TTL_SECS,
            now,
        ));
        fx.outbox.push(OutboxMessage::queued(
            &org.id,
            "password_reset",
            &user.email,
            email_language(user.preferences.preferred_language.as_deref(), org),
            json!({ "first_name": user.first_name, "org_name": org.name, "link": link }),
            now,
        ));
        fx
    }

    /// "Forgot password": emails a reset link to an active member who signs in with a password.
    /// Every well-formed request succeeds the same way, whether or not the address is known.
    pub async fn request_password_reset_by_email(
        &self,
        request_id: &str,
        org_ref: &str,
        email: &str,
    ) -> Result<()> {
        let org = self.find_org(org_ref).await?;
        let mut p = Problems::default();
        let email = p.check(Email::field(email, "email", Location::Body));
        p.finish()?;
        let Some(email) = email else { return Ok(()) };
        let mut q = UserQuery::new(1);
        q.emails_lower = vec![email.lower];
        let found = self.store.list_users(&org.id, &q).await?;
        let ctx = Context::new(request_id, Actor::Anonymous);
        let user = found.into_iter().find(|u| u.status == UserStatus::Active);
        let identity = match &user {
            Some(u) => self.store.get_identity(&u.identity_id).await?,
            None => None,
        };
        let (Some(user), Some(Connection::Password)) = (user, identity.map(|i| i.connection))
        else {
            return self
                .record_unanswered(&ctx, &org.id, "user.password_reset_requested")
                .await;
        };
        let fx = self.password_reset_effects(&ctx, &org, &user);
        self.store.write_effects(fx).await?;
        Ok(())
    }

    /// Records a request that sends no email (an unknown or ineligible address) as an audit
    /// event without a target: an administrator sees addresses being probed, and the request
    /// costs one write like an answered one, so its timing says no more than its body.
    pub(crate) async fn record_unanswered(
        &self,
        ctx: &Context,
        org_id: &str,
        action: &str,
    ) -> Result<()> {
        let fx = Effects::audit(self.audit(ctx, org_id, action, None, json!({ "sent": false })));
        self.store.write_effects(fx).await?;
        Ok(())
    }

    /// Completes a reset: the link's token and a new password (policy-checked before the token
    /// is used). The identity's older access tokens stop working.
    pub async fn complete_password_reset(
        &self,
        request_id: &str,
        org_ref: &str,
        token: &str,
        new_password: &str,
    ) -> Result<()> {
        let org = self.find_org(org_ref).await?;
        let mut p = Problems::default();
        if token.trim().is_empty() {
            p.push(FieldError::body("token", "missing", "token is required"));
        }
        p.check(password::check_policy(new_password, "password"));
        p.finish()?;
        let ctx = Context::new(request_id, Actor::Anonymous);
        let fx = Effects::audit(self.audit(&ctx, &org.id, "user.password_reset", None, json!({})));
        let new = NewPassword {
            hash: self.passwords.hash(new_password).await?,
            only_if_unset: false,
            revoke_sessions: true,
        };
        self.store
            .consume_token_with_password(
                &org.id,
                &hash_secret(token.trim()),
                &["password_reset"],
                now_micros(),
                &new,
                fx,
            )
            .await?
            .ok_or(Error::Unauthenticated)?;
        Ok(())
    }
}
