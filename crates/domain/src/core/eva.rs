//! eva-user operations: users with an admin flag or per-environment roles and bots, the paged
//! list and quicksearch, activation and deactivation, and per-user configurations.

use crate::types::{OrgId, UserId};
use std::collections::HashMap;

use super::access::Context;
use super::Core;
use crate::error::{Error, FieldError, Location, Problems, Result};
use crate::model::*;

/// `ADMIN` is held for the whole organization; the others, [`EnvRole`], per environment.
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

/// An environment entry of a request: the role, the environment, and bots. The surface reads
/// the role in its own spelling; `None` is a name that is no environment role, which
/// [`Catalog::check`] reports with the request's other field errors.
#[derive(Debug, Clone, Default)]
pub struct EnvInput {
    pub role: Option<EnvRole>,
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
    pub role: EnvRole,
    pub environment: (String, String),
    pub bots: Vec<(String, String)>,
}

#[derive(Debug, Clone)]
pub struct EvaUser {
    pub user: User,
    /// The organization's uuid, which the eva surface shows.
    pub org_uuid: String,
    pub environments: Vec<EvaEnv>,
    pub deletable: bool,
}

/// Why an update may not change the email (the owner changes it through the operation of
/// another surface, which the surface's wording names).
pub const EMAIL_IS_LOGIN: &str = "the email is the account's login; its owner changes it";

/// What the user list is sorted by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserOrder {
    Name,
    Email,
    Company,
    CreatedAt,
}

impl UserOrder {
    /// The sort field of the store's query.
    pub(crate) fn field(self) -> &'static str {
        match self {
            Self::Name => "name",
            Self::Email => "email",
            Self::Company => "company",
            Self::CreatedAt => "created_at",
        }
    }
}

/// Most users on one page of the list.
pub const LIST_PAGE_MAX: u32 = 100;

/// One page of the user list, checked by the surface that read it: `page` from 0, `size`
/// users per page (1 to [`LIST_PAGE_MAX`]), sorted by `order`, filtered by a case-insensitive
/// part of the name, email or company.
#[derive(Debug, Clone)]
pub struct EvaListQuery {
    pub page: u64,
    pub size: u32,
    pub order: UserOrder,
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
        self.check_holding(admin, envs, field, &[])
    }

    /// [`Catalog::check`] into `p` (the checked access, or nothing when refused), for the
    /// request's `environments`.
    pub(crate) fn check_into(
        &self,
        admin: bool,
        envs: &[EnvInput],
        held: &[EnvAccess],
        p: &mut Problems,
    ) -> Vec<EnvAccess> {
        match self.check_holding(admin, envs, "environments", held) {
            Ok(e) => e,
            Err(errs) => {
                errs.into_iter().for_each(|e| p.push(e));
                Vec::new()
            }
        }
    }

    /// [`Catalog::check`], where an inactive environment the user `held` with the same role, or
    /// an inactive bot they held in that environment, may be kept: it is refused only when newly
    /// given, so keeping a user's access as it is never fails on what was deactivated since.
    pub(crate) fn check_holding(
        &self,
        admin: bool,
        envs: &[EnvInput],
        field: &str,
        held: &[EnvAccess],
    ) -> std::result::Result<Vec<EnvAccess>, Vec<FieldError>> {
        let kept_env = |uuid: &str, role: EnvRole| {
            held.iter()
                .any(|h| h.environment_uuid == uuid && h.role == role)
        };
        let kept_bot = |env: &str, bot: &str| {
            held.iter()
                .any(|h| h.environment_uuid == env && h.bots.iter().any(|b| b == bot))
        };
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
            let Some(role) = e.role else {
                errs.push(FieldError::body(
                    &at("role"),
                    "enum",
                    "role must be SUPERVISOR, EDITOR or VIEWER",
                ));
                continue;
            };
            match self.env(&e.environment_uuid) {
                None => errs.push(FieldError::body(
                    &at("environment.uuid"),
                    "not_found",
                    format!("environment {} does not exist", e.environment_uuid),
                )),
                Some(env) if !env.active && !kept_env(&env.uuid, role) => {
                    errs.push(FieldError::body(
                        &at("environment.uuid"),
                        "inactive",
                        format!("environment {} is not active", env.uuid),
                    ))
                }
                Some(_) => {}
            }
            if out.iter().any(|o| o.environment_uuid == e.environment_uuid) {
                errs.push(FieldError::body(
                    &at("environment.uuid"),
                    "duplicate",
                    "an environment is given once, with one role",
                ));
            }
            let bots: Vec<String> = if role.needs_bots() {
                e.bots.clone()
            } else {
                Vec::new()
            };
            if role.needs_bots() && bots.is_empty() {
                errs.push(FieldError::body(
                    &at("bots"),
                    "missing",
                    format!("role {role} needs at least one bot"),
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
                    Some(bot) if !bot.active && !kept_bot(&e.environment_uuid, b) => errs.push(
                        FieldError::body(&f, "inactive", format!("bot {b} is not active")),
                    ),
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
                role,
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
pub(crate) fn env_roles_kept(roles: &[Role], role_ids: &[String]) -> Vec<EnvRole> {
    let new: Vec<&Role> = roles.iter().filter(|r| role_ids.contains(&r.id)).collect();
    roles
        .iter()
        .filter_map(|env| EnvRole::parse(&env.name).map(|kind| (kind, env)))
        .filter(|(_, env)| {
            new.iter()
                .any(|r| env.grants.iter().all(|g| r.grants.contains(g)))
        })
        .map(|(kind, _)| kind)
        .collect()
}

pub(crate) fn org_role<'r>(roles: &'r [Role], admin: bool, envs: &[EnvAccess]) -> Option<&'r Role> {
    let name = if admin {
        EVA_ADMIN
    } else {
        EnvRole::ALL
            .into_iter()
            .find(|r| envs.iter().any(|e| e.role == *r))?
            .as_str()
    };
    roles.iter().find(|r| r.name == name)
}

impl Core {
    pub(crate) async fn catalog(&self, org_id: &OrgId) -> Result<Catalog> {
        Ok(Catalog {
            envs: self.store.list_environments(org_id).await?,
            bots: self.store.list_bots(org_id).await?,
        })
    }

    /// Resolves names and the `deletable` rule (not the caller, not the last administrator).
    pub(crate) async fn eva_views(
        &self,
        ctx: &Context,
        org: &Organization,
        users: Vec<User>,
    ) -> Result<Vec<EvaUser>> {
        let ids: Vec<UserId> = users.iter().map(|u| u.id.clone()).collect();
        let access = self.store.env_access(&org.id, &ids).await?;
        let catalog = self.catalog(&org.id).await?;
        let admin_count = if users.iter().any(|u| u.is_admin) {
            self.store.count_active_admins(&org.id).await?
        } else {
            0
        };
        let me = ctx.principal().map(|p| p.user_id.clone());
        let mut by_user: HashMap<UserId, Vec<EvaEnv>> = HashMap::new();
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
}
