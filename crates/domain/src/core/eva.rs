//! eva-user operations: users with an admin flag or per-environment roles and bots, the paged
//! list and quicksearch, activation and deactivation, and per-user configurations.

use std::collections::{BTreeSet, HashMap};

use serde_json::json;

use super::access::{Context, Rank};
use super::Core;
use crate::error::{Error, FieldError, Location, Problems, Result};
use crate::model::*;
use crate::paging::{SortKey, UserQuery};
use crate::permissions::perm;
use crate::store::{Effects, NewIdentity};
use crate::types::*;

/// Environment roles, highest first; `ADMIN` is held for the whole organization.
pub const ENV_ROLES: &[&str] = &["SUPERVISOR", "EDITOR", "VIEWER"];
pub const EVA_ADMIN: &str = "ADMIN";
pub const LANGUAGES: &[&str] = &["en", "es", "ja", "pt"];

/// The language of eva's emails: `en`, `es`, `ja` or `pt`.
pub(crate) fn check_language(language: &str) -> Result<()> {
    if LANGUAGES.contains(&language) {
        Ok(())
    } else {
        Err(Error::field(
            Location::Query,
            "language",
            "enum",
            "language must be en, es, ja or pt",
        ))
    }
}

/// An environment entry of a request: the role, the environment, and bots.
#[derive(Debug, Clone, Default)]
pub struct EnvInput {
    pub role: String,
    pub environment_uuid: String,
    pub bots: Vec<String>,
}

/// The user data eva's create, update and activate take.
#[derive(Debug, Clone, Default)]
pub struct EvaUserInput {
    pub name: String,
    pub email: String,
    pub company: Option<String>,
    pub image: Option<String>,
    pub admin: bool,
    pub environments: Vec<EnvInput>,
    pub password: Option<String>,
    pub password_confirmation: Option<String>,
}

/// An environment as a user holds it, with names resolved.
#[derive(Debug, Clone)]
pub struct EvaEnv {
    pub role: String,
    pub environment: (String, String),
    pub bots: Vec<(String, String)>,
}

#[derive(Debug, Clone)]
pub struct EvaUser {
    pub user: User,
    /// The organization's uuid, as eva shows it (`orgUUID`).
    pub org_uuid: String,
    pub environments: Vec<EvaEnv>,
    pub deletable: bool,
}

/// The list's query: `page` from 0, `linesPerPage`, `orderBy`, `direction`, `searchTerms`.
#[derive(Debug, Clone)]
pub struct EvaListQuery {
    pub page: i64,
    pub lines_per_page: i64,
    pub order_by: String,
    pub descending: bool,
    pub search: Option<String>,
}

#[derive(Debug, Clone)]
pub struct EvaPage {
    pub total: i64,
    pub items: Vec<EvaUser>,
}

/// Environments and bots of an organization, for checking requests against.
pub(crate) struct Catalog {
    pub(crate) envs: Vec<Environment>,
    bots: Vec<Bot>,
}

impl Catalog {
    pub(crate) fn env(&self, uuid: &str) -> Option<&Environment> {
        self.envs.iter().find(|e| e.uuid == uuid)
    }

    pub(crate) fn bot(&self, uuid: &str) -> Option<&Bot> {
        self.bots.iter().find(|b| b.uuid == uuid)
    }

    /// The rules of the reference: a role per environment; SUPERVISOR needs the environment,
    /// EDITOR and VIEWER also a bot; environments and bots exist, are active and belong together.
    pub(crate) fn check(
        &self,
        admin: bool,
        envs: &[EnvInput],
        field: &str,
    ) -> std::result::Result<Vec<EnvAccess>, Vec<FieldError>> {
        let mut errs = Vec::new();
        let mut out: Vec<EnvAccess> = Vec::new();
        if !admin && envs.is_empty() {
            errs.push(FieldError::body(
                field,
                "missing",
                "a user who is not an admin needs at least one environment",
            ));
        }
        for (i, e) in envs.iter().enumerate() {
            let at = |f: &str| format!("{field}.{i}.{f}");
            if !ENV_ROLES.contains(&e.role.as_str()) {
                errs.push(FieldError::body(
                    &at("role"),
                    "enum",
                    "role must be SUPERVISOR, EDITOR or VIEWER",
                ));
                continue;
            }
            match self.env(&e.environment_uuid) {
                None => errs.push(FieldError::body(
                    &at("environment.uuid"),
                    "not_found",
                    format!("environment {} does not exist", e.environment_uuid),
                )),
                Some(env) if !env.active => errs.push(FieldError::body(
                    &at("environment.uuid"),
                    "inactive",
                    format!("environment {} is not active", env.uuid),
                )),
                Some(_) => {}
            }
            if out.iter().any(|o| o.environment_uuid == e.environment_uuid) {
                errs.push(FieldError::body(
                    &at("environment.uuid"),
                    "duplicate",
                    "an environment is given once, with one role",
                ));
            }
            let bots: Vec<String> = if e.role == "SUPERVISOR" {
                Vec::new()
            } else {
                e.bots.clone()
            };
            if e.role != "SUPERVISOR" && bots.is_empty() {
                errs.push(FieldError::body(
                    &at("bots"),
                    "missing",
                    format!("role {} needs at least one bot", e.role),
                ));
            }
            for (j, b) in bots.iter().enumerate() {
                let f = format!("{field}.{i}.bots.{j}.uuid");
                match self.bot(b) {
                    None => errs.push(FieldError::body(
                        &f,
                        "not_found",
                        format!("bot {b} does not exist"),
                    )),
                    Some(bot) if !bot.active => errs.push(FieldError::body(
                        &f,
                        "inactive",
                        format!("bot {b} is not active"),
                    )),
                    Some(bot) if bot.environment_uuid != e.environment_uuid => {
                        errs.push(FieldError::body(
                            &f,
                            "unrelated",
                            format!(
                                "bot {b} does not belong to environment {}",
                                e.environment_uuid
                            ),
                        ))
                    }
                    Some(_) => {}
                }
            }
            let mut uniq = bots.clone();
            uniq.sort();
            uniq.dedup();
            out.push(EnvAccess {
                environment_uuid: e.environment_uuid.clone(),
                role: e.role.clone(),
                bots: uniq,
            });
        }
        if errs.is_empty() {
            Ok(out)
        } else {
            Err(errs)
        }
    }
}

/// The organization role an eva user holds: `ADMIN`, else their highest environment role.
/// What a change of organization roles, on any surface, does to eva's environment roles: an
/// environment role stays only while one of the user's new roles holds every grant of the role
/// of that name (a SUPERVISOR made a DefaultUserRole supervises nothing any more; a VIEWER made
/// a SUPERVISOR keeps what it viewed).
pub(crate) fn env_roles_kept(roles: &[Role], role_ids: &[String]) -> Vec<String> {
    let new: Vec<&Role> = roles.iter().filter(|r| role_ids.contains(&r.id)).collect();
    roles
        .iter()
        .filter(|env| ENV_ROLES.contains(&env.name.as_str()))
        .filter(|env| {
            new.iter()
                .any(|r| env.grants.iter().all(|g| r.grants.contains(g)))
        })
        .map(|env| env.name.clone())
        .collect()
}

pub(crate) fn org_role<'r>(roles: &'r [Role], admin: bool, envs: &[EnvAccess]) -> Option<&'r Role> {
    let name = if admin {
        EVA_ADMIN
    } else {
        ENV_ROLES
            .iter()
            .copied()
            .find(|r| envs.iter().any(|e| e.role == *r))?
    };
    roles.iter().find(|r| r.name == name)
}

impl Core {
    pub(crate) async fn catalog(&self, org_id: &str) -> Result<Catalog> {
        Ok(Catalog {
            envs: self.store.list_environments(org_id).await?,
            bots: self.store.list_bots(org_id).await?,
        })
    }

    /// Resolves names and the `deletable` rule (not the caller, not the last administrator).
    async fn eva_views(
        &self,
        ctx: &Context,
        org: &Organization,
        users: Vec<User>,
    ) -> Result<Vec<EvaUser>> {
        let ids: Vec<String> = users.iter().map(|u| u.id.clone()).collect();
        let access = self.store.env_access(&org.id, &ids).await?;
        let catalog = self.catalog(&org.id).await?;
        let admin_count = if users.iter().any(|u| u.is_admin) {
            self.store.count_active_admins(&org.id).await?
        } else {
            0
        };
        let me = ctx.principal().map(|p| p.user_id.clone());
        let mut by_user: HashMap<String, Vec<EvaEnv>> = HashMap::new();
        for (user_id, a) in access {
            let env_name = catalog
                .env(&a.environment_uuid)
                .map(|e| e.name.clone())
                .unwrap_or_default();
            let bots = a
                .bots
                .iter()
                .map(|b| {
                    (
                        b.clone(),
                        catalog.bot(b).map(|x| x.name.clone()).unwrap_or_default(),
                    )
                })
                .collect();
            by_user.entry(user_id).or_default().push(EvaEnv {
                role: a.role,
                environment: (a.environment_uuid, env_name),
                bots,
            });
        }
        Ok(users
            .into_iter()
            .map(|u| {
                let last_admin = u.is_admin && u.status == UserStatus::Active && admin_count <= 1;
                let deletable = me.as_deref() != Some(u.id.as_str()) && !last_admin;
                EvaUser {
                    org_uuid: org.uuid.clone(),
                    environments: by_user.remove(&u.id).unwrap_or_default(),
                    deletable,
                    user: u,
                }
            })
            .collect())
    }

    /// The Spring-style page: `page` from 0, `lines` per page, sorted by a user attribute,
    /// filtered by a case-insensitive part of the name, email or company.
    pub async fn eva_list(
        &self,
        ctx: &Context,
        org_ref: &str,
        q: &EvaListQuery,
    ) -> Result<EvaPage> {
        let (page, lines, descending, search) =
            (q.page, q.lines_per_page, q.descending, q.search.as_deref());
        let order_by = q.order_by.as_str();
        let org = self.find_org(org_ref).await?;
        let access = ctx.access(&org)?;
        let mut p = Problems::default();
        if page < 0 {
            p.push(FieldError::query(
                "page",
                "greater_than_equal",
                "page must be at least 0",
            ));
        }
        if !(1..=100).contains(&lines) {
            p.push(FieldError::query(
                "linesPerPage",
                "range",
                "linesPerPage must be between 1 and 100",
            ));
        }
        let field = match order_by {
            "name" => "name",
            "email" => "email",
            "company" => "company",
            "createdAt" => "created_at",
            _ => {
                p.push(FieldError::query(
                    "orderBy",
                    "enum",
                    "orderBy must be name, email, company or createdAt",
                ));
                "created_at"
            }
        };
        p.finish()?;
        let roles = self.store.list_roles(&org.id).await?;
        let mut q = UserQuery::new(lines as u32);
        q.exclude_inactive = true;
        q.visibility = access.visibility(perm::USER_GET_INFO, &roles);
        if let Some(s) = search.map(str::trim).filter(|s| !s.is_empty()) {
            q.contains = Some(s.to_lowercase());
            q.contains_company = true;
        }
        q.page.sort = vec![SortKey {
            field: field.into(),
            descending,
        }];
        let total = self.store.count_users(&org.id, &q).await?;
        let offset = page.saturating_mul(lines);
        let users = self
            .users_at(&org.id, &q, offset as u64, total.max(0) as u64)
            .await?;
        Ok(EvaPage {
            total,
            items: self.eva_views(ctx, &org, users).await?,
        })
    }

    /// Distinct names starting with `name` (case-insensitive), alphabetical, at most `limit`.
    pub async fn quicksearch(
        &self,
        ctx: &Context,
        org_ref: &str,
        name: &str,
        limit: i64,
    ) -> Result<Vec<String>> {
        let org = self.find_org(org_ref).await?;
        ctx.access(&org)?;
        let prefix = fold(name);
        if prefix.is_empty() {
            return Err(Error::field(
                Location::Query,
                "name",
                "missing",
                "name is required",
            ));
        }
        if !(1..=100).contains(&limit) {
            return Err(Error::field(
                Location::Query,
                "limit",
                "range",
                "limit must be between 1 and 100",
            ));
        }
        let mut q = UserQuery::new((limit * 4) as u32);
        q.exclude_inactive = true;
        q.name_prefix = Some(prefix);
        q.page.sort = vec![SortKey {
            field: "name".into(),
            descending: false,
        }];
        let mut out: Vec<String> = Vec::new();
        let mut seen = BTreeSet::new();
        // Many users may share a name: read on, by index, until `limit` distinct names are found.
        loop {
            let users = self.store.list_users(&org.id, &q).await?;
            let exhausted = users.len() <= q.page.limit as usize;
            for u in users.iter().take(q.page.limit as usize) {
                let n = full_name(&u.first_name, &u.last_name);
                if seen.insert(fold(&n)) {
                    out.push(n);
                }
                if out.len() as i64 == limit {
                    return Ok(out);
                }
            }
            let Some(last) = users
                .get((q.page.limit as usize).saturating_sub(1))
                .filter(|_| !exhausted)
            else {
                return Ok(out);
            };
            q.page.position = crate::paging::Position::After(crate::paging::Keyset {
                sort: q.page.sort.clone(),
                values: vec![crate::paging::SortValue::Text(fold(&full_name(
                    &last.first_name,
                    &last.last_name,
                )))],
                last_id: last.id.clone(),
            });
        }
    }

    pub async fn eva_get(&self, ctx: &Context, org_ref: &str, user_id: &str) -> Result<EvaUser> {
        let org = self.find_org(org_ref).await?;
        let access = ctx.access(&org)?;
        let user = self.target_user(&org.id, user_id).await?;
        if user.status == UserStatus::Inactive {
            return Err(Error::NotFound("user"));
        }
        let roles = self.store.list_roles(&org.id).await?;
        let names = super::access::names_of(&roles, &user.role_ids);
        access.require_on(perm::USER_GET_INFO, &access.target(&user, &names))?;
        Ok(self.eva_views(ctx, &org, vec![user]).await?.remove(0))
    }

    /// The caller's own user, from the token.
    pub async fn identity_provider(&self, ctx: &Context, org_ref: &str) -> Result<EvaUser> {
        let org = self.find_org(org_ref).await?;
        ctx.access(&org)?;
        let p = ctx.principal().ok_or(Error::Unauthenticated)?;
        let user = self.target_user(&org.id, &p.user_id).await?;
        Ok(self.eva_views(ctx, &org, vec![user]).await?.remove(0))
    }

    fn check_input(
        &self,
        input: &EvaUserInput,
        p: &mut Problems,
        password_required: bool,
    ) -> Option<Email> {
        if input.name.trim().is_empty() {
            p.push(FieldError::body(
                "name",
                "missing",
                "name must not be blank",
            ));
        }
        let email = p.check(Email::field(&input.email, "email", Location::Body));
        match (&input.password, &input.password_confirmation) {
            (None, _) if password_required => p.push(FieldError::body(
                "password",
                "missing",
                "password is required",
            )),
            (None, None) => {}
            (None, Some(_)) => p.push(FieldError::body(
                "password",
                "missing",
                "password is required with passwordConfirmation",
            )),
            (Some(pw), confirmation) => {
                if let Err(e) = crate::password::check_policy(pw, "password") {
                    p.push(e);
                }
                if confirmation.as_deref() != Some(pw.as_str()) {
                    p.push(FieldError::body(
                        "passwordConfirmation",
                        "mismatch",
                        "password and confirmation do not match",
                    ));
                }
            }
        }
        email
    }

    /// Creates an active user with a password, its admin flag or environments, and queues a
    /// welcome email in `language`.
    pub async fn eva_create(
        &self,
        ctx: &Context,
        org_ref: &str,
        input: EvaUserInput,
        language: &str,
    ) -> Result<EvaUser> {
        check_language(language)?;
        let org = self.find_org(org_ref).await?;
        let access = ctx.access(&org)?;
        let catalog = self.catalog(&org.id).await?;
        let mut p = Problems::default();
        let email = self.check_input(&input, &mut p, true);
        let envs = match catalog.check(input.admin, &input.environments, "environments") {
            Ok(e) => e,
            Err(errs) => {
                errs.into_iter().for_each(|e| p.push(e));
                Vec::new()
            }
        };
        p.finish()?;
        let email = email.ok_or(Error::NotFound("email"))?;
        let roles = self.store.list_roles(&org.id).await?;
        let role = org_role(&roles, input.admin, &envs)
            .ok_or(Error::NotFound("role"))?
            .clone();
        access.require_on(
            perm::USER_INVITE,
            &crate::permissions::Target {
                user_id: None,
                is_self: false,
                role_names: std::slice::from_ref(&role.name),
            },
        )?;
        access.require_appoints(&role.grants, &format!("the role {}", role.name))?;
        let hash = match &input.password {
            Some(pw) => Some(self.passwords.hash(pw).await?),
            None => None,
        };
        let now = now_micros();
        let (first, last) = split_name(&input.name);
        let user = User {
            status: UserStatus::Active,
            is_admin: role.is_admin,
            preferences: org.default_preferences.clone(),
            company: input.company.clone().filter(|c| !c.trim().is_empty()),
            image: input.image.clone().filter(|c| !c.trim().is_empty()),
            role_ids: vec![role.id.clone()],
            ..User::new(&org.id, &email.display, &first, &last, now)
        };
        let identity = NewIdentity {
            password_hash: hash,
            ..NewIdentity::for_user(&user, false)
        };
        let mut fx = Effects::audit(self.audit(
            ctx,
            &org.id,
            "user.create",
            Some(&user.id),
            json!({ "role": role.name }),
        ));
        fx.outbox.push(self.welcome(&org, &user, language, now));
        let inserted = self
            .store
            .insert_users(vec![(identity, user.clone(), envs)], fx)
            .await?;
        if inserted.first() != Some(&true) {
            return Err(Error::Conflict(
                "a user with this email already exists in the organization".into(),
            ));
        }
        self.eva_get(ctx, &org.id, &user.id).await
    }

    pub(crate) fn welcome(
        &self,
        org: &Organization,
        user: &User,
        language: &str,
        now: Micros,
    ) -> OutboxMessage {
        OutboxMessage::queued(
            &org.id,
            "welcome",
            &user.email,
            language,
            json!({ "org_name": org.name, "first_name": user.first_name, "link": self.config.public_url }),
            now,
        )
    }

    /// Replaces a user's name, company, image, admin flag and environments. The email and the
    /// password belong to the person's account: the email cannot change here, and only the
    /// person themself sets a new password.
    pub async fn eva_update(
        &self,
        ctx: &Context,
        org_ref: &str,
        user_id: &str,
        input: EvaUserInput,
    ) -> Result<EvaUser> {
        let org = self.find_org(org_ref).await?;
        // Another organization's credentials learn nothing, not even whether the id exists.
        ctx.access(&org)?;
        let user = self.target_user(&org.id, user_id).await?;
        if user.status == UserStatus::Inactive {
            return Err(Error::NotFound("user"));
        }
        self.eva_replace(ctx, &org, user, input, "user.update", None)
            .await?;
        self.eva_get(ctx, &org.id, user_id).await
    }

    async fn eva_replace(
        &self,
        ctx: &Context,
        org: &Organization,
        mut user: User,
        input: EvaUserInput,
        action: &str,
        notice_language: Option<&str>,
    ) -> Result<()> {
        let access = ctx.access(org)?;
        let catalog = self.catalog(&org.id).await?;
        let mut p = Problems::default();
        let email = self.check_input(&input, &mut p, false);
        let envs = match catalog.check(input.admin, &input.environments, "environments") {
            Ok(e) => e,
            Err(errs) => {
                errs.into_iter().for_each(|e| p.push(e));
                Vec::new()
            }
        };
        p.finish()?;
        if email.is_some_and(|e| e.lower != user.email.to_lowercase()) {
            return Err(Error::Conflict(
                "the email is the account's login; its owner changes it (PATCH /users/me)".into(),
            ));
        }
        let roles = self.store.list_roles(&org.id).await?;
        self.require_write_ranked(&access, perm::USER_UPDATE, &user, &roles, Rank::Appoint)?;
        let role = org_role(&roles, input.admin, &envs)
            .ok_or(Error::NotFound("role"))?
            .clone();
        // Unchanged access needs no rank; any change needs the caller to appoint the resulting
        // role (an administrator its equals, anyone else a role it outranks), so nobody but an
        // administrator widens their own environments or bots.
        let current: Vec<EnvAccess> = self
            .store
            .env_access(&org.id, std::slice::from_ref(&user.id))
            .await?
            .into_iter()
            .map(|(_, a)| a)
            .collect();
        let same = |a: &[EnvAccess], b: &[EnvAccess]| {
            let key = |v: &[EnvAccess]| {
                let mut k: Vec<(String, String, Vec<String>)> = v
                    .iter()
                    .map(|e| {
                        let mut bots = e.bots.clone();
                        bots.sort();
                        (e.environment_uuid.clone(), e.role.clone(), bots)
                    })
                    .collect();
                k.sort();
                k
            };
            key(a) == key(b)
        };
        let unchanged = user.role_ids == [role.id.clone()]
            && user.is_admin == role.is_admin
            && same(&current, &envs);
        if !unchanged {
            access.require_appoints(&role.grants, &format!("the role {}", role.name))?;
        }
        let is_self = access.user_id() == Some(user.id.as_str());
        if input.password.is_some() && is_self {
            ctx.require_owner_session()?;
            // The password is the person's, in every organization: a membership that signs in
            // through a provider here never sets it.
            if user.connection != Connection::Password {
                return Err(Error::forbidden(format!(
                    "this account signs in through {} here; it sets no password",
                    user.connection.as_str()
                )));
            }
        }
        if input.password.is_some() && !is_self {
            return Err(Error::forbidden(
                "only the account's owner sets its password",
            ));
        }
        let expected = user.updated_at;
        let (first, last) = split_name(&input.name);
        user.first_name = first;
        user.last_name = last;
        user.company = input.company.filter(|c| !c.trim().is_empty());
        user.image = input.image.filter(|c| !c.trim().is_empty());
        user.status = UserStatus::Active;
        user.updated_at = now_micros().max(expected + 1);
        let mut fx = Effects::audit(self.audit(
            ctx,
            &org.id,
            action,
            Some(&user.id),
            json!({ "role": role.name }),
        ));
        if let Some(lang) = notice_language {
            fx.outbox
                .push(self.welcome(org, &user, lang, user.updated_at));
        }
        // One's own new password is hashed first and written with the rest in one transaction;
        // the account's other sessions end with it.
        let password = match &input.password {
            Some(pw) => {
                fx.audit.push(self.audit(
                    ctx,
                    &org.id,
                    "identity.password_set",
                    Some(&user.id),
                    json!({}),
                ));
                Some(crate::store::NewPassword {
                    hash: self.passwords.hash(pw).await?,
                    only_if_unset: false,
                    revoke_sessions: true,
                    unchanged_since_issued: false,
                    sole_membership: false,
                })
            }
            None => None,
        };
        self.store
            .update_user_access(
                &user,
                expected,
                std::slice::from_ref(&role.id),
                &envs,
                password.as_ref(),
                fx,
            )
            .await?;
        Ok(())
    }

    /// Re-activates a deactivated user found by email, with the given data; notifies them.
    pub async fn eva_activate(
        &self,
        ctx: &Context,
        org_ref: &str,
        input: EvaUserInput,
        language: &str,
    ) -> Result<EvaUser> {
        check_language(language)?;
        let org = self.find_org(org_ref).await?;
        // Only callers who may update users in general learn whether an email is known.
        ctx.access(&org)?.require_org(perm::USER_UPDATE)?;
        if input.password.is_some() || input.password_confirmation.is_some() {
            return Err(Error::field(
                Location::Body,
                "password",
                "extra_forbidden",
                "activation takes no password",
            ));
        }
        let email = Email::field(&input.email, "email", Location::Body)
            .map_err(|e| Error::Validation(vec![e]))?;
        let mut q = UserQuery::new(1);
        q.emails_lower = vec![email.lower];
        let user = self
            .store
            .list_users(&org.id, &q)
            .await?
            .into_iter()
            .next()
            .ok_or(Error::NotFound("user"))?;
        if user.status != UserStatus::Inactive {
            return Err(Error::Conflict("the user is already active".into()));
        }
        let id = user.id.clone();
        self.eva_replace(ctx, &org, user, input, "user.activate", Some(language))
            .await?;
        self.eva_get(ctx, &org.id, &id).await
    }

    /// Deactivates a user (eva's delete): their tokens stop working; `activate` restores them.
    /// Not for the caller themself nor the last administrator.
    pub async fn eva_delete(&self, ctx: &Context, org_ref: &str, user_id: &str) -> Result<()> {
        let org = self.find_org(org_ref).await?;
        let access = ctx.access(&org)?;
        let mut user = self.target_user(&org.id, user_id).await?;
        if user.status == UserStatus::Inactive {
            return Err(Error::NotFound("user"));
        }
        let roles = self.store.list_roles(&org.id).await?;
        self.require_write_ranked(&access, perm::USER_DELETE, &user, &roles, Rank::Appoint)?;
        if access.user_id() == Some(user.id.as_str()) {
            return Err(Error::Conflict("users cannot delete themselves".into()));
        }
        let expected = user.updated_at;
        user.status = UserStatus::Inactive;
        user.updated_at = now_micros().max(expected + 1);
        let mut fx =
            Effects::audit(self.audit(ctx, &org.id, "user.deactivate", Some(&user.id), json!({})));
        // The store cuts the membership's sessions; refresh tokens go too, so activation revives nothing.
        fx.revoke
            .push((org.id.clone(), user.id.clone(), "refresh".into()));
        self.store.update_user(&user, expected, fx).await?;
        Ok(())
    }

    fn config_target(&self, ctx: &Context, org: &Organization) -> Result<String> {
        let p = ctx.principal().ok_or(Error::Unauthenticated)?;
        if p.org_id != org.id {
            return Err(Error::forbidden(
                "the organization in the path is not the token's",
            ));
        }
        Ok(p.user_id.clone())
    }

    async fn check_bot(&self, org_id: &str, bot: Option<&str>) -> Result<()> {
        if let Some(b) = bot {
            if !self
                .store
                .list_bots(org_id)
                .await?
                .iter()
                .any(|x| x.uuid == b)
            {
                return Err(Error::NotFound("bot"));
            }
        }
        Ok(())
    }

    /// Stores one of the caller's own configuration values (per bot when `bot_uuid` is given).
    pub async fn set_configuration(
        &self,
        ctx: &Context,
        org_ref: &str,
        c: Configuration,
    ) -> Result<Configuration> {
        let org = self.find_org(org_ref).await?;
        let user = self.config_target(ctx, &org)?;
        if c.key.trim().is_empty() {
            return Err(Error::field(
                Location::Body,
                "key",
                "missing",
                "key must not be blank",
            ));
        }
        for (field, len, max) in [
            ("key", c.key.len(), 512),
            ("value", c.value.len(), 64 * 1024),
        ] {
            if len > max {
                return Err(Error::field(
                    Location::Body,
                    field,
                    "too_long",
                    format!("{field} must be at most {max} bytes"),
                ));
            }
        }
        self.check_bot(&org.id, c.bot_uuid.as_deref()).await?;
        self.store.set_configuration(&org.id, &user, &c).await?;
        Ok(c)
    }

    pub async fn configurations(
        &self,
        ctx: &Context,
        org_ref: &str,
        bot: Option<&str>,
    ) -> Result<Vec<Configuration>> {
        let org = self.find_org(org_ref).await?;
        let user = self.config_target(ctx, &org)?;
        self.check_bot(&org.id, bot).await?;
        Ok(self.store.configurations(&org.id, &user, bot).await?)
    }

    pub async fn has_configuration(
        &self,
        ctx: &Context,
        org_ref: &str,
        bot: Option<&str>,
        key: &str,
    ) -> Result<bool> {
        if key.trim().is_empty() {
            return Err(Error::field(
                Location::Query,
                "key",
                "missing",
                "key is required",
            ));
        }
        Ok(self
            .configurations(ctx, org_ref, bot)
            .await?
            .iter()
            .any(|c| c.key == key))
    }
}
