//! Users of an organization: invite, list, search, update, delete, variables, user models,
//! memories, and the email sign-in flows that start here.

use crate::types::OrgId;
use crate::types::UserId;
use std::collections::BTreeMap;

use serde_json::json;

use super::access::{grants_of, names_of, Access, Context, Rank};
use super::Core;
use crate::error::{Error, FieldError, Location, Problems, Result};
use crate::kinds::TokenPurpose;
use crate::links::{LinkFamily, LinkKind};
use crate::mail::{self, Mail};
use crate::model::*;
use crate::paging::*;
use crate::permissions::perm;
use crate::secrets::random_secret;
use crate::store::{Effects, NewIdentity, StoreError};
use crate::types::*;

/// A field that may be left alone, cleared, or set (Amigo's `{}` / `null` / value).
#[derive(Debug, Clone, Default, PartialEq)]
pub enum Settable<T> {
    #[default]
    Keep,
    Clear,
    Set(T),
}

/// A search's answer: at most `limit` users, and whether more matched.
#[derive(Debug, Clone)]
pub struct Searched {
    pub users: Vec<User>,
    pub truncated: bool,
    pub limit: u32,
}

#[derive(Debug, Clone, Default)]
pub struct InviteInput {
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub login_link: Option<String>,
    pub role_name: String,
    pub nonsensitive_variables: BTreeMap<String, String>,
    pub sensitive_variables: BTreeMap<String, String>,
    pub preferences: Option<Preferences>,
}

#[derive(Debug, Clone, Default)]
pub struct UserUpdate {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub enable_response_recommendation: Option<bool>,
    pub preferred_language: Settable<String>,
    pub timezone: Settable<String>,
    pub conversations_visible_to_admins: Option<bool>,
    pub user_model_visible_to_admins: Option<bool>,
    pub additional_context: Option<Vec<String>>,
    pub audio_keyterms: Option<Vec<String>>,
}

#[derive(Debug, Clone, Default)]
pub struct ListUsersInput {
    pub ids: Vec<UserId>,
    pub emails: Vec<String>,
    pub is_verified: Option<bool>,
    pub limit: u32,
    pub continuation_token: i64,
    pub sort_by: Vec<String>,
}

#[derive(Debug, Clone, Default)]
pub struct MemoriesInput {
    pub ids: Vec<String>,
    pub conversation_ids: Vec<String>,
    pub limit: u32,
    pub continuation_token: i64,
    pub sort_by: Vec<String>,
}

#[derive(Debug, Clone, Default)]
pub struct VariableChanges {
    /// `(name, value, is_secret)`.
    pub upserts: Vec<(String, String, bool)>,
    pub deletes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum DeleteOutcome {
    Hard,
    /// Kept for the records that still point at the user; the reasons say why.
    Soft(Vec<String>),
}

pub(crate) const MAX_VARIABLES: usize = 20;
/// Most values a repeated query filter takes (`?user_id=a&user_id=b...`).
pub(crate) const MAX_FILTER_VALUES: usize = 100;

pub(crate) fn variable_name_ok(name: &str) -> bool {
    let b = name.as_bytes();
    b.len() >= 2
        && matches!(b[0], b'a'..=b'z' | b'_')
        && b[1..]
            .iter()
            .all(|c| matches!(c, b'a'..=b'z' | b'0'..=b'9' | b'_'))
}

pub(crate) fn keyterm_ok(term: &str) -> bool {
    let words: Vec<&str> = term.split(' ').collect();
    words.len() <= 3
        && words
            .iter()
            .all(|w| !w.is_empty() && w.bytes().all(|c| c.is_ascii_lowercase() || c == b'-'))
}

pub(crate) fn nonempty(p: &mut Problems, field: &str, value: &str) {
    if value.trim().is_empty() {
        p.push(FieldError::body(
            field,
            "string_too_short",
            format!("{field} must not be empty"),
        ));
    }
}

pub(crate) fn check_link(p: &mut Problems, field: &str, link: &str) {
    let ok = link.len() <= 2083
        && (link.starts_with("https://") || link.starts_with("http://"))
        && !link.contains(char::is_whitespace);
    if !ok {
        p.push(FieldError::body(
            field,
            "url_parsing",
            format!("{field} must be an http(s) URL of at most 2083 characters"),
        ));
    }
}

/// The two-letter language of emails, from a user's ISO 639-3 preference.
pub(crate) fn email_language(preferred: Option<&str>, org: &Organization) -> &'static str {
    let pick = |code: Option<&str>| match code {
        Some("eng" | "en") => Some("en"),
        Some("spa" | "es") => Some("es"),
        Some("jpn" | "ja") => Some("ja"),
        Some("por" | "pt") => Some("pt"),
        _ => None,
    };
    pick(preferred)
        .or_else(|| pick(org.default_preferences.preferred_language.as_deref()))
        .unwrap_or("en")
}

pub(crate) fn user_sort_value(u: &User, field: &str) -> SortValue {
    let keys = user_keys(&u.email, &u.first_name, &u.last_name);
    match field {
        "first_name" => SortValue::Text(keys.first_key),
        "last_name" => SortValue::Text(keys.last_key),
        "name" => SortValue::Text(keys.name_key),
        "email" => SortValue::Text(keys.email_lower.clone()),
        "user_name" => SortValue::Text(match &u.user_name {
            Some(n) => crate::types::fold(n),
            None => keys.email_lower,
        }),
        "user_stats.num_conversations" => SortValue::Int(u.stats.num_conversations),
        "user_stats.num_messages" => SortValue::Int(u.stats.num_messages),
        "user_stats.last_message_time" => SortValue::Int(u.stats.last_message_at.unwrap_or(0)),
        _ => SortValue::Int(u.created_at),
    }
}

impl Core {
    pub(crate) async fn target_user(&self, org_id: &OrgId, user_id: &UserId) -> Result<User> {
        self.store
            .get_user(org_id, user_id)
            .await?
            .ok_or(Error::NotFound("user"))
    }

    /// Changing another user needs the permission on them and a rank above theirs.
    pub(crate) fn require_write_on(
        &self,
        access: &Access<'_>,
        permission: &str,
        user: &User,
        roles: &[Role],
    ) -> Result<()> {
        self.require_write_ranked(access, permission, user, roles, Rank::Outrank)
    }

    /// [`Core::require_write_on`] under the given rank rule (eva and org-user-management let
    /// administrators manage their equals).
    pub(crate) fn require_write_ranked(
        &self,
        access: &Access<'_>,
        permission: &str,
        user: &User,
        roles: &[Role],
        rank: Rank,
    ) -> Result<()> {
        let names = names_of(roles, &user.role_ids);
        let target = access.target(user, &names);
        access.require_on(permission, &target)?;
        if !target.is_self {
            access.require_rank(rank, &grants_of(roles, &user.role_ids), "the user's role")?;
        }
        Ok(())
    }

    pub async fn invite_user(
        &self,
        ctx: &Context,
        org_ref: &str,
        input: InviteInput,
    ) -> Result<(User, Option<String>)> {
        let org = self.find_org(org_ref).await?;
        let access = ctx.access(&org)?;
        let mut p = Problems::default();
        nonempty(&mut p, "first_name", &input.first_name);
        nonempty(&mut p, "last_name", &input.last_name);
        let email = p.check(Email::field(&input.email, "email", Location::Body));
        if let Some(link) = &input.login_link {
            check_link(&mut p, "login_link", link);
        }
        for (kind, vars, max) in [
            (
                "nonsensitive_user_variables",
                &input.nonsensitive_variables,
                MAX_VARIABLES - 1,
            ),
            (
                "sensitive_user_variables",
                &input.sensitive_variables,
                MAX_VARIABLES,
            ),
        ] {
            if vars.len() > max {
                p.push(FieldError::body(
                    kind,
                    "too_long",
                    format!("{kind} may hold at most {max} variables"),
                ));
            }
            for name in vars.keys().filter(|n| !variable_name_ok(n)) {
                p.push(FieldError::body(
                    &format!("{kind}.{name}"),
                    "string_pattern_mismatch",
                    "variable names must match ^[a-z_][a-z0-9_]+$",
                ));
            }
        }
        if let Some(prefs) = &input.preferences {
            for e in
                super::orgs::validate_preferences(prefs, Location::Body, "user_preferences.", true)
            {
                p.push(e);
            }
        }
        p.finish()?;
        let email = email.ok_or(Error::NotFound("email"))?;
        let roles = self.roles(&org.id).await?;
        let role = roles
            .iter()
            .find(|r| r.name == input.role_name)
            .ok_or(Error::NotFound("role"))?;
        let role_names = [role.name.clone()];
        let target = crate::permissions::Target {
            user_id: None,
            is_self: false,
            role_names: &role_names,
        };
        access.require_on(perm::USER_INVITE, &target)?;
        access.require_outranks(&role.grants, &format!("the role {}", role.name))?;

        let now = self.now();
        let preferences = input
            .preferences
            .unwrap_or_else(|| org.default_preferences.clone());
        let language = email_language(preferences.preferred_language.as_deref(), &org);
        let user = User {
            status: UserStatus::Invited,
            is_admin: role.is_admin,
            preferences,
            nonsensitive_variables: input.nonsensitive_variables,
            sensitive_names: input.sensitive_variables.keys().cloned().collect(),
            role_ids: vec![role.id.clone()],
            ..User::new(
                &org.id,
                &email.display,
                &input.first_name,
                &input.last_name,
                now,
            )
        };
        let identity = NewIdentity::for_user(&user, false);
        let secret = random_secret();
        let verify_link = self.link(LinkFamily::Users, LinkKind::Invitation, &org, &secret);
        let mut fx = Effects::audit(self.audit(
            ctx,
            &org.id,
            "user.invite",
            Some(&user.id),
            json!({ "role": role.name, "email": user.email }),
        ));
        fx.tokens.push(OneTimeToken::new(
            &secret,
            TokenOwner::from(&user),
            TokenPurpose::Invite,
            // The inviter sees this link too, so following it proves nothing about the address.
            json!({ "login_link": input.login_link, "shown_to_inviter": true }),
            self.config.invitation_ttl_secs,
            now,
        ));
        if let Some(login_link) = &input.login_link {
            // The email carries a link of its own, which only its recipient sees: following it
            // proves the address, as an invitation of the other surfaces does.
            let mailed = random_secret();
            let mailed_link = self.link(LinkFamily::Users, LinkKind::Invitation, &org, &mailed);
            fx.tokens.push(OneTimeToken::new(
                &mailed,
                TokenOwner::from(&user),
                TokenPurpose::Invite,
                json!({ "login_link": login_link }),
                self.config.invitation_ttl_secs,
                now,
            ));
            let invitation = Mail::Invitation(mail::Invitation {
                org_name: org.name.clone(),
                first_name: user.first_name.clone(),
                verify_link: mailed_link,
                login_link: Some(login_link.clone()),
                connection: None,
            });
            fx.outbox.push(OutboxMessage::queued(
                &org.id,
                invitation,
                &email.display,
                language,
                now,
            ));
        }
        let secrets: Vec<(String, String)> = input.sensitive_variables.into_iter().collect();
        let created = self
            .store
            .insert_user(identity, user, &secrets, fx)
            .await
            .map_err(|e| match e {
                StoreError::Conflict { .. } => Error::Conflict(
                    "a user with the same email already exists in this organization".into(),
                ),
                e => e.into(),
            })?;
        Ok((created, Some(verify_link)))
    }

    pub async fn list_users(
        &self,
        ctx: &Context,
        org_ref: &str,
        input: ListUsersInput,
    ) -> Result<Page<User>> {
        let org = self.find_org(org_ref).await?;
        let access = ctx.access(&org)?;
        let mut p = Problems::default();
        if input.limit > 100 {
            p.push(FieldError::query(
                "limit",
                "less_than_equal",
                "limit must be between 0 and 100",
            ));
        }
        let sort = p.check(
            parse_sort(&input.sort_by, &USER_SORT_FIELDS[..6])
                .map_err(|m| FieldError::query("sort_by", "value_error", m)),
        );
        for (field, n) in [("user_id", input.ids.len()), ("email", input.emails.len())] {
            if n > MAX_FILTER_VALUES {
                p.push(FieldError::query(
                    field,
                    "too_long",
                    format!("at most {MAX_FILTER_VALUES} {field} values"),
                ));
            }
        }
        let mut emails = Vec::new();
        for e in &input.emails {
            if let Some(e) = p.check(Email::field(e, "email", Location::Query)) {
                emails.push(e.lower);
            }
        }
        p.finish()?;
        let sort = sort.unwrap_or_default();
        let roles = self.roles(&org.id).await?;
        let mut q = UserQuery::new(input.limit);
        q.ids = input.ids;
        q.emails_lower = emails;
        q.is_verified = input.is_verified;
        q.visibility = access.visibility(perm::USER_GET_INFO, &roles);
        q.page.position = self
            .position(&org.id, input.continuation_token, &sort)
            .await?;
        q.page.sort = sort;
        self.query_users(&org, q).await
    }

    /// Runs a user query and pages it; shared by every surface's listing.
    pub async fn query_users(&self, org: &Organization, q: UserQuery) -> Result<Page<User>> {
        let rows = self.store.list_users(&org.id, &q).await?;
        let sort = q.page.sort.clone();
        self.finish_page(org, rows, &q.page, |u| {
            (
                sort.iter().map(|k| user_sort_value(u, &k.field)).collect(),
                u.id.to_string(),
            )
        })
        .await
    }

    /// Users whose name or email contains `query`, case-insensitively, by name.
    pub async fn search_users(
        &self,
        ctx: &Context,
        org_ref: &str,
        query: &str,
        ids: Vec<UserId>,
    ) -> Result<Searched> {
        let org = self.find_org(org_ref).await?;
        let access = ctx.access(&org)?;
        if ids.len() > MAX_FILTER_VALUES {
            return Err(Error::field(
                Location::Query,
                "user_id",
                "too_long",
                format!("at most {MAX_FILTER_VALUES} user_id values"),
            ));
        }
        let needle = query.trim().to_lowercase();
        if needle.is_empty() {
            return Err(Error::field(
                Location::Query,
                "query",
                "string_too_short",
                "query must not be empty",
            ));
        }
        let roles = self.roles(&org.id).await?;
        // One row past the limit tells a cut answer from one that just fills it.
        let limit = self.config.search_limit;
        let mut q = UserQuery::new(limit.saturating_add(1));
        q.ids = ids;
        q.contains = Some(needle);
        q.visibility = access.visibility(perm::USER_GET_INFO, &roles);
        q.page.sort = vec![SortKey {
            field: "name".into(),
            descending: false,
        }];
        let mut users = self.store.list_users(&org.id, &q).await?;
        let truncated = users.len() > limit as usize;
        users.truncate(limit as usize);
        Ok(Searched {
            users,
            truncated,
            limit,
        })
    }
}
