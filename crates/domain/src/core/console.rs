//! The admin console's rules: its built-in OpenID Connect client, its server-side sessions
//! (idle and absolute timeouts on the core's clock, ended with the membership's sessions), and
//! the users listing it pages through (the same indexed search and keyset pages as the APIs).

use crate::types::OrgId;
use crate::types::UserId;
use serde_json::json;

use super::access::{Actor, Context};
use super::keys::SignedIn;
use super::users::user_sort_value;
use super::Core;
use crate::error::{Error, FieldError, Problems, Result};
use crate::kinds::TokenPurpose;
use crate::links::{LinkFamily, LinkKind};
use crate::mail::{self, Mail};
use crate::model::{OidcClient, Organization, User, UserStatus};
use crate::model::{OneTimeToken, OutboxMessage, TokenOwner};
use crate::paging::{parse_sort, Page, UserQuery, Visibility};
use crate::permissions::perm;
use crate::secrets::{hash_secret, random_secret};
use crate::store::{ConsoleSession, Effects, PrincipalRecord, Revocation};
use crate::types::session_stamp;

/// A console session ends after this long without a request.
pub const CONSOLE_IDLE_SECS: i64 = 30 * 60;
/// ... and this long after its sign-in, however busy.
pub const CONSOLE_ABSOLUTE_SECS: i64 = 12 * 3600;
/// `last_seen_at` is written at most this often (a write per page view would be one per click).
const TOUCH_EVERY_SECS: i64 = 60;
/// The users listing's sort fields (`USER_SORT_FIELDS` the console shows).
pub const CONSOLE_SORT_FIELDS: &[&str] = &[
    "name",
    "first_name",
    "last_name",
    "email",
    "created_at",
    "user_stats.last_message_time",
];
const PAGE_MAX: u32 = 100;

/// A client built into the server, known to every organization without being registered: a
/// public client (PKCE) whose one redirect URI is `redirect_uri` with `{org}` replaced by the
/// organization's short id.
#[derive(Debug, Clone)]
pub struct FirstPartyClient {
    pub client_id: String,
    pub name: String,
    pub redirect_uri: String,
}

impl FirstPartyClient {
    pub fn client(&self, org: &Organization) -> OidcClient {
        OidcClient {
            org_id: org.id.to_string(),
            client_id: self.client_id.clone(),
            name: self.name.clone(),
            secret_hash: None,
            redirect_uris: vec![self.redirect_uri.replace("{org}", &org.id)],
            created_at: org.created_at,
            updated_at: org.created_at,
        }
    }
}

/// A live console session and who it belongs to.
#[derive(Debug, Clone)]
pub struct ConsoleSignedIn {
    pub session: ConsoleSession,
    pub principal: PrincipalRecord,
}

impl ConsoleSignedIn {
    /// The context every console action runs in: the signed-in member, issued by the session's
    /// organization (so that a platform administrator reaches the others), on the console
    /// channel.
    pub fn context(&self, request_id: &str) -> Context {
        let mut ctx = Context::new(request_id, Actor::User(self.principal.clone()));
        ctx.issuer_org = Some(self.session.org_id.clone());
        ctx.owner_session = matches!(self.session.amr.as_str(), "pwd" | "mail" | "fed");
        ctx.channel = Some("console");
        ctx
    }
}

/// The users page's query, as the console read it from its form.
#[derive(Debug, Clone, Default)]
pub struct ConsoleUserQuery {
    pub search: Option<String>,
    /// `field` or `-field`, one of [`CONSOLE_SORT_FIELDS`]; the name by default.
    pub sort: Option<String>,
    pub status: Option<String>,
    pub role: Option<String>,
    /// A continuation token from the previous page (0: the first page).
    pub after: i64,
    /// The last page instead (read in the reverse order, shown in the sort's order).
    pub last: bool,
    pub limit: u32,
}

#[derive(Debug, Clone)]
pub struct ConsoleUsers {
    pub page: Page<User>,
    /// The number of matching users, where a counter gives it (no search, no role filter).
    pub total: Option<i64>,
}

impl Core {
    /// The organization, if the caller may use its console: a member (or a platform
    /// administrator) who may see the organization's users, not only themself.
    /// Sends a still-invited member of `org_ref` a new invitation, voiding the earlier links: to
    /// the hosted landing page, which offers the member's own way in. The caller must be allowed
    /// to invite into the member's roles (it appoints them).
    pub async fn resend_invitation(
        &self,
        ctx: &Context,
        org_ref: &str,
        user_id: &UserId,
    ) -> Result<()> {
        let org = self.find_org(org_ref).await?;
        let access = ctx.access(&org)?;
        let user = self.target_user(&org.id, user_id).await?;
        if user.status != UserStatus::Invited {
            return Err(Error::Conflict(
                "this person has accepted the invitation already".into(),
            ));
        }
        let roles = self.store.list_roles(&org.id).await?;
        self.require_write_ranked(
            &access,
            perm::USER_INVITE,
            &user,
            &roles,
            super::access::Rank::Appoint,
        )?;
        let now = self.now();
        let secret = random_secret();
        let names = super::access::names_of(&roles, &user.role_ids);
        let mut fx = Effects::audit(self.audit(
            ctx,
            &org.id,
            "user.invite",
            Some(&user.id),
            json!({ "roles": names, "resent": true }),
        ));
        fx.revoke
            .push(Revocation::new(&org.id, &user.id, TokenPurpose::Invite));
        let connection = (user.connection != crate::model::Connection::Password)
            .then(|| user.connection.as_str().to_owned());
        fx.tokens.push(OneTimeToken::new(
            &secret,
            TokenOwner::from(&user),
            TokenPurpose::Invite,
            json!({ "connection": connection }),
            self.config.invitation_ttl_secs,
            now,
        ));
        let invitation = Mail::Invitation(mail::Invitation {
            org_name: org.name.clone(),
            first_name: user.first_name.clone(),
            verify_link: self.link(LinkFamily::Members, LinkKind::Invitation, &org, &secret),
            login_link: None,
            connection,
        });
        let language = super::users::email_language(None, &org);
        fx.outbox.push(OutboxMessage::queued(
            &org.id,
            invitation,
            &user.email,
            language,
            now,
        ));
        self.store.write_effects(fx).await?;
        Ok(())
    }

    pub async fn console_org(&self, ctx: &Context, org_ref: &str) -> Result<Organization> {
        let org = self.find_org(org_ref).await?;
        ctx.access(&org)?.require_org(perm::USER_GET_INFO)?;
        Ok(org)
    }

    /// Starts a console session after the provider's code was redeemed for `who`; returns the
    /// cookie's secret.
    pub async fn start_console_session(&self, request_id: &str, who: &SignedIn) -> Result<String> {
        let secret = random_secret();
        let now = self.now();
        let s = ConsoleSession {
            org_id: who.org_id.clone(),
            id_hash: hash_secret(&secret),
            user_id: who.user_id.clone(),
            identity_id: who.identity_id.clone(),
            amr: who.method.amr().to_owned(),
            csrf: random_secret(),
            issued_at: session_stamp(),
            created_at: now,
            last_seen_at: now,
        };
        let mut ctx = Context::new(request_id, Actor::Anonymous);
        ctx.channel = Some("console");
        let fx = Effects::audit(self.audit(
            &ctx,
            &OrgId::from(&who.org_id),
            "user.console_session.started",
            Some(&UserId::from(&who.user_id)),
            json!({ "amr": s.amr }),
        ));
        self.store.insert_console_session(&s, fx).await?;
        Ok(secret)
    }

    /// The live session of this cookie in `org_id`: none when unknown, idle or too old (it is
    /// deleted then), or when its member is no longer active or had their sessions ended.
    pub async fn console_session(
        &self,
        org_id: &OrgId,
        secret: &str,
    ) -> Result<Option<ConsoleSignedIn>> {
        let hash = hash_secret(secret);
        let Some(s) = self.store.get_console_session(org_id, &hash).await? else {
            return Ok(None);
        };
        let now = self.now();
        let idle = now - s.last_seen_at >= CONSOLE_IDLE_SECS * 1_000_000;
        let old = now - s.created_at >= CONSOLE_ABSOLUTE_SECS * 1_000_000;
        if idle || old {
            let mut ctx = Context::new(crate::types::new_uuid7(), Actor::Anonymous);
            ctx.channel = Some("console");
            let fx = Effects::audit(self.audit(
                &ctx,
                org_id,
                "user.console_session.expired",
                Some(&UserId::from(&s.user_id)),
                json!({ "reason": if old { "absolute" } else { "idle" } }),
            ));
            self.store.delete_console_session(org_id, &hash, fx).await?;
            return Ok(None);
        }
        let principal = match self
            .authenticate(org_id, &UserId::from(&s.user_id), s.issued_at)
            .await
        {
            Ok(p) if p.status == UserStatus::Active => p,
            Ok(_) | Err(Error::Unauthenticated) => return Ok(None),
            Err(e) => return Err(e),
        };
        if now - s.last_seen_at >= TOUCH_EVERY_SECS * 1_000_000 {
            self.store.touch_console_session(org_id, &hash, now).await?;
        }
        Ok(Some(ConsoleSignedIn {
            session: s,
            principal,
        }))
    }

    /// Signs this browser out of the console.
    pub async fn end_console_session(&self, ctx: &Context, s: &ConsoleSession) -> Result<()> {
        let fx = Effects::audit(self.audit(
            ctx,
            &OrgId::from(&s.org_id),
            "user.console_session.ended",
            Some(&UserId::from(&s.user_id)),
            json!({}),
        ));
        self.store
            .delete_console_session(&OrgId::from(&s.org_id), &s.id_hash, fx)
            .await?;
        Ok(())
    }

    /// Signs the member out of the console in every browser.
    pub async fn end_console_sessions_everywhere(
        &self,
        ctx: &Context,
        s: &ConsoleSession,
    ) -> Result<u64> {
        let fx = Effects::audit(self.audit(
            ctx,
            &OrgId::from(&s.org_id),
            "user.console_session.ended_everywhere",
            Some(&UserId::from(&s.user_id)),
            json!({}),
        ));
        Ok(self
            .store
            .delete_console_sessions_of(&OrgId::from(&s.org_id), &UserId::from(&s.user_id), fx)
            .await?)
    }

    /// A page of the users of `org_ref` that the caller may see, searched (the indexed
    /// substring search of name and email), filtered by status and role, sorted by one field,
    /// in keyset pages.
    pub async fn console_users(
        &self,
        ctx: &Context,
        org_ref: &str,
        input: ConsoleUserQuery,
    ) -> Result<ConsoleUsers> {
        let org = self.find_org(org_ref).await?;
        let access = ctx.access(&org)?;
        access.require_org(perm::USER_GET_INFO)?;
        let mut p = Problems::default();
        let sort_item = input.sort.clone().unwrap_or_else(|| "name".into());
        let sort = p.check(
            parse_sort(&[sort_item], CONSOLE_SORT_FIELDS)
                .map_err(|m| FieldError::query("sort", "value_error", m)),
        );
        let status = match input.status.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(s @ ("active" | "invited" | "inactive")) => Some(UserStatus::parse(s)),
            Some(_) => {
                p.push(FieldError::query(
                    "status",
                    "enum",
                    "status must be active, invited or inactive",
                ));
                None
            }
        };
        let roles = self.roles(&org.id).await?;
        let role = match input.role.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(name) => {
                let r = roles.iter().find(|r| r.name == name);
                if r.is_none() {
                    p.push(FieldError::query("role", "enum", "no role of that name"));
                }
                r.map(|r| r.id.clone())
            }
        };
        let search = input
            .search
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_lowercase);
        if search.as_ref().is_some_and(|s| s.chars().count() > 200) {
            p.push(FieldError::query(
                "search",
                "string_too_long",
                "search must be at most 200 characters",
            ));
        }
        p.finish()?;
        let sort = sort.unwrap_or_default();
        let mut q = UserQuery::new(input.limit.clamp(1, PAGE_MAX));
        q.status = status;
        q.contains = search;
        q.visibility = access.visibility(perm::USER_GET_INFO, &roles);
        if let Some(role_id) = role {
            // Narrows what the caller may see, never widens it.
            q.visibility = match q.visibility {
                Visibility::All => Visibility::Only {
                    user_ids: Vec::new(),
                    role_ids: vec![role_id],
                },
                Visibility::Only { role_ids, .. } => Visibility::Only {
                    user_ids: Vec::new(),
                    role_ids: role_ids.into_iter().filter(|r| *r == role_id).collect(),
                },
            };
        }
        q.page.position = self.position(&org.id, input.after, &sort).await?;
        q.page.sort = sort;
        if input.last {
            q.page.position = crate::paging::Position::Start;
            for k in &mut q.page.sort {
                k.descending = !k.descending;
            }
        }
        let cheap = q.contains.is_none() && matches!(q.visibility, Visibility::All);
        let total = if cheap {
            Some(self.store.count_users(&org.id, &q).await?)
        } else {
            None
        };
        let sort = q.page.sort.clone();
        let mut rows = self.store.list_users(&org.id, &q).await?;
        if input.last {
            rows.truncate(q.page.limit as usize);
            rows.reverse();
            return Ok(ConsoleUsers {
                page: Page {
                    items: rows,
                    has_more: false,
                    continuation_token: None,
                },
                total,
            });
        }
        let page = self
            .finish_page(&org, rows, &q.page, |u| {
                (
                    sort.iter().map(|k| user_sort_value(u, &k.field)).collect(),
                    u.id.to_string(),
                )
            })
            .await?;
        Ok(ConsoleUsers { page, total })
    }

    /// Ends every session of a member (tokens, provider and console sessions begun before
    /// now): `User:UpdateUser` on them, under the rank rule of the APIs.
    pub async fn end_user_sessions(
        &self,
        ctx: &Context,
        org_ref: &str,
        user_id: &UserId,
    ) -> Result<()> {
        let org = self.find_org(org_ref).await?;
        let access = ctx.access(&org)?;
        let mut user = self.target_user(&org.id, user_id).await?;
        let roles = self.roles(&org.id).await?;
        self.require_write_ranked(
            &access,
            perm::USER_UPDATE,
            &user,
            &roles,
            super::access::Rank::Outrank,
        )?;
        let fx = Effects::audit(self.audit(
            ctx,
            &org.id,
            "user.sessions_ended",
            Some(&user.id),
            json!({}),
        ));
        let expected = user.updated_at;
        user.updated_at = self.now().max(expected + 1);
        self.store
            .update_user(&user, expected, Some(session_stamp()), fx)
            .await?;
        Ok(())
    }
}
