//! The flows that start or end with an emailed link: what a landing page may show about a
//! link (without using it), accepting an invitation with a first password, and the password
//! reset a signed-out person asks for by email and completes with the link's token.

use crate::types::OrgId;
use serde_json::json;

use super::access::Context;
use super::instructions::link_use;
use super::keys::SignedIn;
use super::users::{check_link, email_language};
use super::{Actor, Core};
use crate::error::{Error, FieldError, Location, Problems, Result};
use crate::kinds::{PurposeName, TokenPurpose};
use crate::links::{LinkFamily, LinkKind};
use crate::mail::{self, LinkMail, Mail};
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
    /// `Invite`, `MagicLink`, `PasswordReset` or `EmailChange`.
    pub purpose: TokenPurpose,
    /// An invitation of an identity that signs in with a password and has none yet.
    pub needs_password: bool,
    /// The address an email change moves to.
    pub new_email: Option<String>,
    /// The way the link's member signs in (`Password`, `google-oauth2` or one of the
    /// organization's connections), so that an invitation's page offers that way and no other;
    /// `None` when the member is gone.
    pub connection: Option<Connection>,
    /// The address of the link's member (what its page names), `None` when the member is gone.
    pub account: Option<String>,
    /// Where the invitation says to go once accepted: its `login_link` (set by an
    /// administrator, checked when the invitation was made).
    pub login_link: Option<String>,
}

impl LinkView {
    /// The connection the link's member signs in through when it is not a password: then the
    /// link is used nowhere (`Core::accept_link` refuses it and leaves it unused); the person
    /// accepts the invitation, or signs in, by signing in there. What a page offers instead.
    pub fn upstream(&self) -> Option<&Connection> {
        self.connection
            .as_ref()
            .filter(|c| **c != Connection::Password)
    }
}

/// A used invitation or magic link: who is signed in, where the link asked to go next.
#[derive(Debug, Clone)]
pub struct Accepted {
    pub signed_in: SignedIn,
    /// The invitation's `login_link` (set by an administrator) or the magic link's
    /// `redirect_link` (set by whoever asked for the link).
    pub redirect: Option<String>,
    /// `Invite` or `MagicLink`.
    pub purpose: TokenPurpose,
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

/// A link its inviter was shown (Amigo's `verify_link`): following it proves nothing about the
/// address.
pub(crate) fn shown_to_inviter(t: &OneTimeToken) -> bool {
    t.payload.get("shown_to_inviter") == Some(&serde_json::Value::Bool(true))
}

/// Whether an emailed link (an invitation or a sign-in link) may sign `member` in: only where
/// their organization lets them sign in with a password. A member of a connection
/// (`google-oauth2`, an organization's SSO) signs in there, with its MFA and offboarding, and
/// accepts their invitation by signing in there (`Core::sign_in_upstream`); a link in their
/// mailbox steps around neither. The rule of every surface: the core sends no sign-in link to
/// such a member and exchanges none of their links for a session (nor spends them).
pub(crate) fn signs_in_by_link(member: &User) -> bool {
    member.connection == Connection::Password
}

fn policy(password: &str) -> Result<()> {
    password::check_policy(password, "password").map_err(|e| Error::Validation(vec![e]))
}

impl Core {
    /// The link's token if it is unused, unexpired, of one of `purposes`, and of the organization
    /// `org_ref` (when given). Nothing is used up: mail scanners open links before people do.
    pub async fn inspect_link<P: PurposeName + Sync>(
        &self,
        org_ref: Option<&str>,
        token: &str,
        purposes: &[P],
    ) -> Result<Option<LinkView>> {
        let org_id = match org_ref {
            Some(r) => Some(self.find_org(r).await?.id),
            None => None,
        };
        let Some(t) = self
            .store
            .find_token(&hash_secret(token.trim()), self.now())
            .await?
        else {
            return Ok(None);
        };
        if !purposes.iter().any(|p| t.purpose == p.purpose_name())
            || org_id.is_some_and(|o| o != t.org_id)
        {
            return Ok(None);
        }
        let needs_password = self.offers_password(&t).await?;
        let member = self
            .store
            .get_user(&OrgId::from(&t.org_id), &UserId::from(&t.user_id))
            .await?;
        let (connection, account) = match member {
            Some(u) => (Some(u.connection), Some(u.email)),
            None => (None, None),
        };
        let login_link = t
            .payload
            .get("login_link")
            .and_then(|v| v.as_str())
            .filter(|_| t.purpose == TokenPurpose::Invite)
            .map(str::to_owned);
        Ok(Some(LinkView {
            connection,
            account,
            login_link,
            new_email: t
                .payload
                .get("email")
                .and_then(|v| v.as_str())
                .map(str::to_owned)
                .filter(|_| t.purpose == TokenPurpose::EmailChange),
            purpose: t.purpose,
            needs_password,
        }))
    }

    /// Whether using the invitation `t` may set the first password of its person: the
    /// organization invited them with a password, their identity has none, it is as it was
    /// when the link was issued, and, for a link its inviter was shown, no other organization
    /// shares it. The store applies the same conditions again, atomically, when the link is used.
    async fn offers_password(&self, t: &OneTimeToken) -> Result<bool> {
        if t.purpose != TokenPurpose::Invite {
            return Ok(false);
        }
        let Some(user) = self
            .store
            .get_user(&OrgId::from(&t.org_id), &UserId::from(&t.user_id))
            .await?
        else {
            return Ok(false);
        };
        if user.connection != Connection::Password {
            return Ok(false);
        }
        let Some(identity) = self.store.get_identity(&user.identity_id).await? else {
            return Ok(false);
        };
        if t.identity_epoch != Some(identity.epoch)
            || self.store.password_hash(&identity.id).await?.is_some()
        {
            return Ok(false);
        }
        if shown_to_inviter(t) {
            // Only on an address nobody has proven, that no other organization shares.
            if identity.email_verified {
                return Ok(false);
            }
            let memberships = self.store.memberships(&identity.id).await?;
            return Ok(matches!(&memberships[..], [(o, u)] if *o == t.org_id && *u == t.user_id));
        }
        Ok(true)
    }

    /// Uses an invitation or magic-link token: signs the user in; an invitation also makes the
    /// user active and, given `password`, sets the first password of an identity that signs in
    /// with one. The password is checked before the token is used, so a refused password leaves
    /// the link working. Each token works once, even when used twice at the same moment. The
    /// link of a member of a connection is refused (`Unauthenticated`, as an unusable link) and
    /// left unused: they sign in, and accept their invitation, upstream (`signs_in_by_link`).
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
        let audit = fx.audit.first().cloned();
        let purposes = [TokenPurpose::Invite, TokenPurpose::MagicLink];
        // Checked before the link is used, so a refused link is not spent by the attempt: a
        // connection member's invitation still works upstream (and checked again on the member
        // the use returns, in case their connection changed meanwhile).
        if let Some(t) = self.store.find_token(&hash, self.now()).await? {
            if purposes.contains(&t.purpose) && t.org_id == org.id {
                let member = self
                    .store
                    .get_user(&OrgId::from(&t.org_id), &UserId::from(&t.user_id))
                    .await?;
                if !member.is_some_and(|u| signs_in_by_link(&u)) {
                    return Err(Error::Unauthenticated);
                }
            }
        }
        let used = match password {
            None => {
                let decide = |t: &OneTimeToken| link_use(t, audit.as_ref(), None);
                self.store
                    .use_link(&org.id, &hash, &purposes, self.now(), &decide, fx)
                    .await?
            }
            Some(pw) => {
                policy(pw)?;
                let view = self
                    .inspect_link(Some(&org.id), token, &purposes)
                    .await?
                    .ok_or(Error::Unauthenticated)?;
                if view.purpose != TokenPurpose::Invite {
                    return Err(Error::field(
                        Location::Body,
                        "password",
                        "extra_forbidden",
                        "only an invitation link sets a password",
                    ));
                }
                if !view.needs_password {
                    // The same link used at this moment may have set the password after the
                    // token was read: then it is the link that no longer works.
                    if self.store.find_token(&hash, self.now()).await?.is_none() {
                        return Err(Error::Unauthenticated);
                    }
                    return Err(Error::Conflict(
                        "this link sets no password: the account already has one, signs in \
                         through another provider, changed since the link was sent, or is \
                         shared with other organizations (its owner sets one through a link \
                         emailed to them)"
                            .into(),
                    ));
                }
                let held = self
                    .store
                    .find_token(&hash, self.now())
                    .await?
                    .ok_or(Error::Unauthenticated)?;
                let new = NewPassword {
                    hash: self.passwords.hash(pw).await?,
                    only_if_unset: true,
                    revoke_sessions: false,
                    unchanged_since_issued: true,
                    sole_membership: shown_to_inviter(&held),
                    at: session_stamp(),
                };
                let decide = |t: &OneTimeToken| link_use(t, audit.as_ref(), Some(&new));
                self.store
                    .use_link(
                        &org.id,
                        &hash,
                        &[TokenPurpose::Invite],
                        self.now(),
                        &decide,
                        fx,
                    )
                    .await?
            }
        }
        .ok_or(Error::Unauthenticated)?;
        let user = self
            .target_user(&org.id, &UserId::from(&used.user_id))
            .await
            .map_err(|_| Error::Unauthenticated)?;
        if user.status == UserStatus::Inactive || !signs_in_by_link(&user) {
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
                org_id: org.id.into(),
                user_id: user.id.into(),
                identity_id: user.identity_id,
                // The inviter of an Amigo user was shown the link too: not a proof of ownership.
                method: if shown_to_inviter(&used) {
                    super::keys::SignInMethod::SharedLink
                } else {
                    super::keys::SignInMethod::EmailLink
                },
                api_key_id: None,
            },
            token_destination: redirect
                .clone()
                .filter(|_| used.purpose == TokenPurpose::Invite),
            redirect,
            purpose: used.purpose,
        })
    }

    /// The audit event, token and email of a password reset of `user`.
    pub(crate) fn password_reset_effects(
        &self,
        ctx: &Context,
        family: LinkFamily,
        org: &Organization,
        user: &User,
    ) -> Effects {
        let secret = random_secret();
        let now = self.now();
        let link = self.link(family, LinkKind::PasswordReset, org, &secret);
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
            TokenPurpose::PasswordReset,
            json!({}),
            RESET_TTL_SECS,
            now,
        ));
        let reset = Mail::PasswordReset(LinkMail {
            org_name: org.name.clone(),
            first_name: user.first_name.clone(),
            link,
        });
        let language = email_language(user.preferences.preferred_language.as_deref(), org);
        fx.outbox.push(OutboxMessage::queued(
            &org.id,
            reset,
            &user.email,
            language,
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
        // Answered now: whether the address is known decides only what happens afterwards.
        let core = self.clone();
        let request_id = request_id.to_owned();
        self.deferred.spawn("a password reset request", async move {
            core.send_password_reset(&request_id, org, email).await
        });
        Ok(())
    }

    async fn send_password_reset(
        &self,
        request_id: &str,
        org: Organization,
        email: Email,
    ) -> Result<()> {
        let mut q = UserQuery::new(1);
        q.emails_lower = vec![email.lower];
        let found = self.store.list_users(&org.id, &q).await?;
        let ctx = Context::new(request_id, Actor::Anonymous);
        // Only where this organization lets the person sign in with a password.
        let user = found
            .into_iter()
            .find(|u| u.status == UserStatus::Active && u.connection == Connection::Password);
        let Some(user) = user else {
            return self
                .record_unanswered(&ctx, &org.id, "user.password_reset_requested")
                .await;
        };
        let fx = self.password_reset_effects(&ctx, LinkFamily::Users, &org, &user);
        self.store.write_effects(fx).await?;
        Ok(())
    }

    /// Records a request that sends no email (an unknown or ineligible address) as an audit
    /// event without a target: an administrator sees addresses being probed, and the request
    /// costs one write like an answered one, so its timing says no more than its body.
    pub(crate) async fn record_unanswered(
        &self,
        ctx: &Context,
        org_id: &OrgId,
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
        let token_hash = hash_secret(token.trim());
        // Only where the organization lets the person sign in with a password.
        let held = self.store.find_token(&token_hash, self.now()).await?;
        if let Some(t) =
            held.filter(|t| t.purpose == TokenPurpose::PasswordReset && t.org_id == org.id)
        {
            let user = self
                .store
                .get_user(&OrgId::from(&t.org_id), &UserId::from(&t.user_id))
                .await?;
            if user.is_none_or(|u| u.connection != Connection::Password) {
                return Err(Error::Unauthenticated);
            }
        }
        let new = NewPassword {
            hash: self.passwords.hash(new_password).await?,
            only_if_unset: false,
            revoke_sessions: true,
            // The link proves control of the address it was sent to, while it is the login.
            unchanged_since_issued: true,
            sole_membership: false,
            at: session_stamp(),
        };
        let audit = fx.audit.first().cloned();
        let decide = |t: &OneTimeToken| link_use(t, audit.as_ref(), Some(&new));
        self.store
            .use_link(
                &org.id,
                &token_hash,
                &[TokenPurpose::PasswordReset],
                self.now(),
                &decide,
                fx,
            )
            .await?
            .ok_or(Error::Unauthenticated)?;
        Ok(())
    }

    /// Queues a magic link for a verified user; succeeds the same way for unknown emails.
    pub async fn sign_in_with_email(
        &self,
        request_id: &str,
        org_ref: &str,
        email: &str,
        redirect_link: &str,
    ) -> Result<()> {
        let org = self.find_org(org_ref).await?;
        let mut p = Problems::default();
        let email = p.check(Email::field(email, "email", Location::Body));
        check_link(&mut p, "redirect_link", redirect_link);
        p.finish()?;
        let Some(email) = email else { return Ok(()) };
        // Answered now: whether the address is known decides only what happens afterwards.
        let core = self.clone();
        let (request_id, redirect_link) = (request_id.to_owned(), redirect_link.to_owned());
        self.deferred.spawn("a sign-in link request", async move {
            core.send_magic_link(&request_id, org, email, &redirect_link)
                .await
        });
        Ok(())
    }

    async fn send_magic_link(
        &self,
        request_id: &str,
        org: Organization,
        email: Email,
        redirect_link: &str,
    ) -> Result<()> {
        let mut q = UserQuery::new(1);
        q.emails_lower = vec![email.lower];
        let found = self.store.list_users(&org.id, &q).await?;
        let ctx = Context::new(request_id, super::Actor::Anonymous);
        // Only to a member a sign-in link may sign in (see `signs_in_by_link`).
        let user = found
            .into_iter()
            .find(|u| u.status == UserStatus::Active && signs_in_by_link(u));
        let Some(user) = user else {
            // One write either way, so the answer's timing says no more than its body.
            return self
                .record_unanswered(&ctx, &org.id, "user.sign_in.email_requested")
                .await;
        };
        let secret = random_secret();
        let now = self.now();
        let link = self.link(LinkFamily::Users, LinkKind::SignIn, &org, &secret);
        let mut fx = Effects::audit(self.audit(
            &ctx,
            &org.id,
            "user.sign_in.email_requested",
            Some(&user.id),
            json!({}),
        ));
        fx.tokens.push(OneTimeToken::new(
            &secret,
            TokenOwner::from(&user),
            TokenPurpose::MagicLink,
            json!({ "redirect_link": redirect_link }),
            self.config.magic_link_ttl_secs,
            now,
        ));
        let magic = Mail::MagicLink(mail::MagicLink {
            org_name: org.name.clone(),
            first_name: user.first_name.clone(),
            link,
            redirect_link: Some(redirect_link.to_owned()),
        });
        let language = email_language(user.preferences.preferred_language.as_deref(), &org);
        fx.outbox.push(OutboxMessage::queued(
            &org.id,
            magic,
            &user.email,
            language,
            now,
        ));
        self.store.write_effects(fx).await?;
        Ok(())
    }
}
