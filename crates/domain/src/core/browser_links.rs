//! The emailed links of the hosted sign-in page: "email me a sign-in link" and "forgot
//! password". Each link carries the authorization request it was asked from, so that following
//! it lands back in the same flow. Requests for unknown or ineligible addresses succeed alike.

use serde_json::{json, Value};

use super::access::{Actor, Context};
use super::keys::{SignInMethod, SignedIn};
use super::links::signs_in_by_link;
use super::users::email_language;
use super::Core;
use crate::error::{Error, Location, Problems, Result};
use crate::kinds::TokenPurpose;
use crate::mail::{self, LinkMail, Mail};
use crate::model::*;
use crate::paging::UserQuery;
use crate::secrets::{hash_secret, random_secret};
use crate::store::Effects;
use crate::types::*;

/// Which emailed link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BrowserLink {
    /// Signs in by itself (a one-time sign-in link).
    SignIn,
    /// Sets a new password (the sign-in form then continues the flow).
    PasswordReset,
}

/// A hosted page's sign-in link is emailed as a magic link.
fn sign_in_mail(m: LinkMail) -> Mail {
    Mail::MagicLink(mail::MagicLink {
        org_name: m.org_name,
        first_name: m.first_name,
        link: m.link,
        redirect_link: None,
    })
}

impl BrowserLink {
    fn purpose(self) -> TokenPurpose {
        match self {
            Self::SignIn => TokenPurpose::SignInLink,
            // The same purpose as every reset link, so that a reset ends the other links too.
            Self::PasswordReset => TokenPurpose::PasswordReset,
        }
    }
}

/// A followed link: who it was for, and the authorization request it continues.
#[derive(Debug, Clone)]
pub struct FollowedLink {
    pub user_id: String,
    pub request: Value,
}

impl Core {
    /// Emails `kind` to the active member with this address (a reset only to one who signs in
    /// with a password). The link is `{public_url}{page_path}?token=...`; `request` is what it
    /// continues. Answers the same whether or not anything was sent.
    pub async fn email_browser_link(
        &self,
        request_id: &str,
        org: &Organization,
        email: &str,
        kind: BrowserLink,
        page_path: &str,
        request: Value,
    ) -> Result<()> {
        let mut p = Problems::default();
        let email = p.check(Email::field(email, "username", Location::Body));
        p.finish()?;
        let Some(email) = email else { return Ok(()) };
        // Answered now: whether the address is known decides only what happens afterwards, so
        // known and unknown addresses take the same time (see `core::deferred`).
        let core = self.clone();
        let (request_id, org, page_path) =
            (request_id.to_owned(), org.clone(), page_path.to_owned());
        self.deferred.spawn("an emailed link request", async move {
            core.send_browser_link(&request_id, &org, email, kind, &page_path, request)
                .await
        });
        Ok(())
    }

    async fn send_browser_link(
        &self,
        request_id: &str,
        org: &Organization,
        email: Email,
        kind: BrowserLink,
        page_path: &str,
        request: Value,
    ) -> Result<()> {
        let action = match kind {
            BrowserLink::SignIn => "user.sign_in.email_requested",
            BrowserLink::PasswordReset => "user.password_reset_requested",
        };
        let ctx = Context::new(request_id, Actor::Anonymous);
        let mut q = UserQuery::new(1);
        q.emails_lower = vec![email.lower];
        let user = self
            .store
            .list_users(&org.id, &q)
            .await?
            .into_iter()
            .find(|u| u.status == UserStatus::Active);
        // Only to members this organization lets sign in with a password: one invited through
        // another provider signs in there (and an emailed link would step around it).
        let eligible = user.as_ref().is_some_and(signs_in_by_link);
        let Some(user) = user.filter(|_| eligible) else {
            return self.record_unanswered(&ctx, &org.id, action).await;
        };
        let secret = random_secret();
        let now = session_stamp();
        let link = format!(
            "{}{page_path}?token={secret}",
            self.config.public_url.trim_end_matches('/')
        );
        let (template, ttl): (fn(LinkMail) -> Mail, _) = match kind {
            BrowserLink::SignIn => (sign_in_mail, self.config.magic_link_ttl_secs),
            BrowserLink::PasswordReset => (Mail::PasswordReset, super::links::RESET_TTL_SECS),
        };
        let mut fx = Effects::audit(self.audit(&ctx, &org.id, action, Some(&user.id), json!({})));
        fx.tokens.push(OneTimeToken::new(
            &secret,
            TokenOwner::from(&user),
            kind.purpose(),
            json!({ "request": request }),
            ttl,
            now,
        ));
        let mail = template(LinkMail {
            org_name: org.name.clone(),
            first_name: user.first_name.clone(),
            link,
        });
        let language = email_language(user.preferences.preferred_language.as_deref(), org);
        fx.outbox.push(OutboxMessage::queued(
            &org.id,
            mail,
            &user.email,
            language,
            now,
        ));
        self.store.write_effects(fx).await?;
        Ok(())
    }

    /// The link's authorization request, if the token is a live link of `kind` in `org`
    /// (nothing is used up: a landing page shows this before the person acts).
    pub async fn inspect_browser_link(
        &self,
        org: &Organization,
        token: &str,
        kind: BrowserLink,
    ) -> Result<Option<FollowedLink>> {
        let t = self
            .store
            .find_token(&hash_secret(token.trim()), self.now())
            .await?
            .filter(|t| t.purpose == kind.purpose() && t.org_id == org.id);
        Ok(t.map(|t| FollowedLink {
            user_id: t.user_id,
            request: t.payload.get("request").cloned().unwrap_or(Value::Null),
        }))
    }

    /// Uses a sign-in link once: the member is signed in (by email) and the link's request is
    /// returned to continue.
    pub async fn use_sign_in_link(
        &self,
        request_id: &str,
        org: &Organization,
        token: &str,
    ) -> Result<(SignedIn, Value)> {
        let ctx = Context::new(request_id, Actor::Anonymous);
        let fx =
            Effects::audit(self.audit(&ctx, &org.id, "user.sign_in.email_link", None, json!({})));
        let used = self
            .store
            .consume_token(
                &org.id,
                &hash_secret(token.trim()),
                &[BrowserLink::SignIn.purpose()],
                self.now(),
                fx,
            )
            .await?
            .ok_or(Error::Unauthenticated)?;
        let rec = self
            .authenticate(&org.id, &UserId::from(&used.user_id), used.created_at)
            .await?;
        // A member whose connection changed since the link was sent signs in there now.
        let member = self
            .store
            .get_user(&org.id, &UserId::from(&rec.user_id))
            .await?;
        if rec.status != UserStatus::Active || !member.is_some_and(|u| signs_in_by_link(&u)) {
            return Err(Error::Unauthenticated);
        }
        let who = SignedIn {
            org_id: org.id.to_string(),
            user_id: rec.user_id,
            identity_id: rec.identity_id,
            method: SignInMethod::EmailLink,
            api_key_id: None,
        };
        Ok((
            who,
            used.payload.get("request").cloned().unwrap_or(Value::Null),
        ))
    }
}
