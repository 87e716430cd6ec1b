//! What an organization's directory does to its members and roles: provision a member, replace
//! what the directory owns of one (names, external id, whether active), remove one, list them
//! with a [`UserFilter`], and change who holds a role. Every change goes through the same
//! permission and rank rules as a member holding the token's role (`Rank::Outrank`), and is
//! audited, and so told as an event, like the same change from any other surface.

use crate::types::OrgId;
use crate::types::UserId;
use serde_json::json;

use super::access::{Access, Context};
use super::Core;
use crate::error::{Error, FieldError, Location, Problems, Result};
use crate::kinds::TokenPurpose;
use crate::model::{Role, User, UserStatus};
use crate::paging::{SortKey, UserFilter, UserQuery, USER_SORT_FIELDS};
use crate::permissions::{perm, DEFAULT_USER_ROLE};
use crate::store::{Effects, NewIdentity, Revocation, StoreError};
use crate::types::{fold, Email, Micros};

/// Most members one listing page holds.
pub const DIRECTORY_PAGE_MAX: u32 = 200;
/// Most members a role's listing names.
pub const ROLE_MEMBERS_MAX: u32 = 10_000;
/// Longest external id kept.
pub(super) const EXTERNAL_ID_MAX: usize = 256;
/// Longest first or last name kept.
const NAME_MAX: usize = 256;

/// What a directory says of a member.
#[derive(Debug, Clone, Default)]
pub struct DirectoryMember {
    /// The directory's name of the person: the login email when it is one, else its own name
    /// (kept as [`User::user_name`]), and then the login email comes from `emails`.
    pub user_name: String,
    /// The addresses the directory gives, in its order.
    pub emails: Vec<DirectoryEmail>,
    pub first_name: String,
    pub last_name: String,
    pub external_id: Option<String>,
    pub company: Option<String>,
    pub active: bool,
}

/// An address a directory gives for a member.
#[derive(Debug, Clone, Default)]
pub struct DirectoryEmail {
    pub address: String,
    /// The directory marks it as the work address.
    pub work: bool,
    pub primary: bool,
}

/// Longest name of its own a directory gives a member.
const USER_NAME_MAX: usize = 256;

/// How a member is named: by its login email, or by a name of the directory's and a login email
/// taken from the addresses (the primary one, else the work one, else the first).
enum Naming {
    Email(Email),
    Own { name: String, email: Option<Email> },
}

fn naming(p: &mut Problems, m: &DirectoryMember) -> Naming {
    let name = m.user_name.trim();
    if let Ok(e) = Email::parse(name) {
        return Naming::Email(e);
    }
    // Names and login emails share one key (the lowercased name), so a name that lowercases to
    // an address would take that address from whoever is invited with it later.
    if Email::parse(&name.to_lowercase()).is_ok() {
        p.push(FieldError::body(
            "user_name",
            "value_error",
            "a name that reads as an email address once lowercased must be that address",
        ));
    }
    if name.chars().count() > USER_NAME_MAX || name.chars().any(char::is_control) {
        p.push(FieldError::body(
            "user_name",
            "value_error",
            format!("a name must be at most {USER_NAME_MAX} characters without control characters"),
        ));
    }
    let chosen = m
        .emails
        .iter()
        .find(|e| e.primary)
        .or_else(|| m.emails.iter().find(|e| e.work))
        .or_else(|| m.emails.first());
    let email = chosen.and_then(|e| p.check(Email::field(&e.address, "emails", Location::Body)));
    Naming::Own {
        name: name.to_owned(),
        email,
    }
}

/// One page of a directory's listing.
#[derive(Debug, Clone)]
pub struct DirectoryQuery {
    pub filter: Option<UserFilter>,
    /// A field of [`USER_SORT_FIELDS`].
    pub sort: Option<SortKey>,
    /// Members to skip.
    pub offset: u64,
    pub limit: u32,
}

/// A role and the members holding it that the caller may see.
#[derive(Debug, Clone)]
pub struct RoleMembers {
    pub role: Role,
    pub members: Vec<User>,
}

fn check_member(p: &mut Problems, m: &DirectoryMember) -> Naming {
    let company = m.company.clone().unwrap_or_default();
    for (field, v) in [
        ("first_name", &m.first_name),
        ("last_name", &m.last_name),
        ("company", &company),
    ] {
        if v.chars().count() > NAME_MAX {
            p.push(FieldError::body(
                field,
                "string_too_long",
                format!("{field} must be at most {NAME_MAX} characters"),
            ));
        }
    }
    if let Some(x) = &m.external_id {
        if x.is_empty() || x.len() > EXTERNAL_ID_MAX || x.chars().any(char::is_control) {
            p.push(FieldError::body(
                "external_id",
                "value_error",
                format!(
                    "external_id must be 1 to {EXTERNAL_ID_MAX} bytes without control characters"
                ),
            ));
        }
    }
    naming(p, m)
}

impl Core {
    /// Refuses an external id that another member of the organization has.
    async fn external_id_free(
        &self,
        org_id: &OrgId,
        external_id: Option<&str>,
        user_id: &UserId,
    ) -> Result<()> {
        let Some(x) = external_id else {
            return Ok(());
        };
        let mut q = UserQuery::new(1);
        q.filter = Some(UserFilter::Test {
            field: crate::paging::UserField::ExternalId,
            op: crate::paging::Comparison::Equal,
            value: Some(crate::paging::FilterValue::Text(x.to_owned())),
        });
        let taken = self.store.list_users(org_id, &q).await?;
        if taken.iter().any(|u| &u.id != user_id) {
            return Err(Error::Conflict(
                "a user with the same external id already exists in this organization".into(),
            ));
        }
        Ok(())
    }

    /// Refuses a name another member of the organization answers to (its own name, or its login
    /// email when it has none).
    async fn user_name_free(&self, org_id: &OrgId, name: &str, user_id: &UserId) -> Result<()> {
        let mut q = UserQuery::new(1);
        q.filter = Some(UserFilter::Test {
            field: crate::paging::UserField::UserName,
            op: crate::paging::Comparison::Equal,
            value: Some(crate::paging::FilterValue::Text(name.to_owned())),
        });
        let taken = self.store.list_users(org_id, &q).await?;
        if taken.iter().any(|u| &u.id != user_id) {
            return Err(Error::Conflict(
                "a user with the same user name already exists in this organization".into(),
            ));
        }
        Ok(())
    }

    /// A new member of the organization, active or not as the directory says, holding the
    /// built-in user role. No email is sent: the directory's people sign in through the
    /// organization's connection, or ask for a password reset.
    pub async fn directory_create(
        &self,
        ctx: &Context,
        org_ref: &str,
        m: DirectoryMember,
    ) -> Result<User> {
        let org = self.find_org(org_ref).await?;
        let access = ctx.access(&org)?;
        let mut p = Problems::default();
        let naming = check_member(&mut p, &m);
        if let Naming::Own { email: None, .. } = &naming {
            if m.emails.is_empty() {
                p.push(FieldError::body(
                    "user_name",
                    "value_error",
                    "the name is not an email address, and no email is given to be the login email",
                ));
            }
        }
        p.finish()?;
        let (email, user_name) = match naming {
            Naming::Email(e) => (e, None),
            Naming::Own { name, email } => (email.ok_or(Error::NotFound("email"))?, Some(name)),
        };
        let roles = self.roles(&org.id).await?;
        let role = roles
            .iter()
            .find(|r| r.name == DEFAULT_USER_ROLE)
            .ok_or(Error::NotFound("role"))?;
        let role_names = [role.name.clone()];
        let target = crate::permissions::Target {
            user_id: None,
            is_self: false,
            role_names: &role_names,
        };
        access.require_on(perm::USER_INVITE, &target)?;
        access.require_outranks(&role.grants, &format!("the role {}", role.name))?;
        self.external_id_free(&org.id, m.external_id.as_deref(), &UserId::from(""))
            .await?;
        if let Some(n) = &user_name {
            self.user_name_free(&org.id, n, &UserId::from("")).await?;
        }
        let now = self.now();
        let user = User {
            status: if m.active {
                UserStatus::Active
            } else {
                UserStatus::Inactive
            },
            is_admin: role.is_admin,
            preferences: org.default_preferences.clone(),
            role_ids: vec![role.id.clone()],
            external_id: m.external_id,
            user_name,
            company: m.company.filter(|c| !c.trim().is_empty()),
            ..User::new(&org.id, &email.display, &m.first_name, &m.last_name, now)
        };
        // The directory is the organization's: it vouches for no address beyond it.
        let identity = NewIdentity::for_user(&user, false);
        let fx = Effects::audit(self.audit(
            ctx,
            &org.id,
            "user.create",
            Some(&user.id),
            json!({ "role": role.name }),
        ));
        let created = self
            .store
            .insert_user(identity, user, &[], fx)
            .await
            .map_err(|e| match e {
                StoreError::Conflict { .. } => Error::Conflict(
                    "a user with the same email already exists in this organization".into(),
                ),
                e => e.into(),
            })?;
        self.directory_member(&access, &org.id, &created.id).await
    }

    /// A member the caller may see, with its roles.
    pub async fn directory_get(
        &self,
        ctx: &Context,
        org_ref: &str,
        user_id: &UserId,
    ) -> Result<User> {
        let org = self.find_org(org_ref).await?;
        let access = ctx.access(&org)?;
        self.directory_member(&access, &org.id, user_id).await
    }

    pub(super) async fn directory_member(
        &self,
        access: &Access<'_>,
        org_id: &OrgId,
        user_id: &UserId,
    ) -> Result<User> {
        let user = self.target_user(org_id, user_id).await?;
        let roles = self.roles(org_id).await?;
        let names = super::access::names_of(&roles, &user.role_ids);
        let target = access.target(&user, &names);
        if !access.can(perm::USER_GET_INFO, &target) {
            // Invisible is absent.
            return Err(Error::NotFound("user"));
        }
        Ok(user)
    }

    /// Replaces what the directory owns of a member: names, external id and whether it is
    /// active (deactivation ends its sessions and refresh tokens, as eva's does). The email is
    /// the member's login and stays: the addresses given are not kept. With `expected`, only while
    /// the member's version (`updated_at`) is still that one.
    pub async fn directory_replace(
        &self,
        ctx: &Context,
        org_ref: &str,
        user_id: &UserId,
        m: DirectoryMember,
        expected: Option<Micros>,
    ) -> Result<User> {
        let org = self.find_org(org_ref).await?;
        let access = ctx.access(&org)?;
        let mut p = Problems::default();
        let naming = check_member(&mut p, &m);
        p.finish()?;
        let mut user = self.directory_member(&access, &org.id, user_id).await?;
        let roles = self.roles(&org.id).await?;
        self.require_write_on(&access, perm::USER_UPDATE, &user, &roles)?;
        if expected.is_some_and(|v| v != user.updated_at) {
            return Err(Error::Conflict(
                "the user changed since that version".into(),
            ));
        }
        let same_name = match (&naming, &user.user_name) {
            (Naming::Email(e), None) => e.lower == user.email.to_lowercase(),
            (Naming::Own { name, .. }, Some(own)) => fold(name) == fold(own),
            _ => false,
        };
        if !same_name {
            return Err(Error::field(
                Location::Body,
                "user_name",
                "immutable",
                "the user name is set when the user is created (a login email is the person's own)",
            ));
        }
        if m.external_id != user.external_id {
            self.external_id_free(&org.id, m.external_id.as_deref(), &user.id)
                .await?;
        }
        let was = user.status;
        let before = user.clone();
        user.first_name = m.first_name.trim().to_owned();
        user.last_name = m.last_name.trim().to_owned();
        user.external_id = m.external_id;
        user.company = m.company.filter(|c| !c.trim().is_empty());
        let mut fx = Effects::default();
        let profile_changed = user.first_name != before.first_name
            || user.last_name != before.last_name
            || user.external_id != before.external_id
            || user.company != before.company;
        if profile_changed {
            fx.audit
                .push(self.audit(ctx, &org.id, "user.update", Some(&user.id), json!({})));
        }
        match (m.active, was) {
            (false, UserStatus::Active | UserStatus::Invited) => {
                user.status = UserStatus::Inactive;
                fx.audit.push(self.audit(
                    ctx,
                    &org.id,
                    "user.deactivate",
                    Some(&user.id),
                    json!({}),
                ));
                fx.revoke
                    .push(Revocation::new(&org.id, &user.id, TokenPurpose::Refresh));
            }
            (true, UserStatus::Inactive) => {
                user.status = UserStatus::Active;
                fx.audit
                    .push(self.audit(ctx, &org.id, "user.activate", Some(&user.id), json!({})));
            }
            _ => {}
        }
        if fx.audit.is_empty() {
            return Ok(user);
        }
        let version = user.updated_at;
        user.updated_at = self.now().max(version + 1);
        let sessions_end = super::instructions::sessions_end(was, user.status);
        self.store
            .update_user(&user, version, sessions_end, fx)
            .await
            .map_err(|e| match e {
                StoreError::Refused(crate::store::Refusal::Stale) => {
                    Error::Conflict("the user changed since that version".into())
                }
                e => e.into(),
            })?;
        Ok(user)
    }

    /// Removes the membership (the identity stays if it has others).
    pub async fn directory_remove(
        &self,
        ctx: &Context,
        org_ref: &str,
        user_id: &UserId,
    ) -> Result<()> {
        let org = self.find_org(org_ref).await?;
        let access = ctx.access(&org)?;
        self.directory_member(&access, &org.id, user_id).await?;
        self.delete_user(ctx, &org.id, user_id).await?;
        Ok(())
    }

    /// One page of the members the caller may see that match the query, and how many match
    /// in all.
    pub async fn directory_list(
        &self,
        ctx: &Context,
        org_ref: &str,
        dq: DirectoryQuery,
    ) -> Result<(Vec<User>, i64)> {
        let org = self.find_org(org_ref).await?;
        let access = ctx.access(&org)?;
        if let Some(k) = &dq.sort {
            if !USER_SORT_FIELDS.contains(&k.field.as_str()) {
                return Err(Error::field(
                    Location::Query,
                    "sort",
                    "value_error",
                    format!("users cannot be sorted by {}", k.field),
                ));
            }
        }
        let roles = self.roles(&org.id).await?;
        let mut q = UserQuery::new(dq.limit.min(DIRECTORY_PAGE_MAX));
        q.filter = dq.filter;
        q.visibility = access.visibility(perm::USER_GET_INFO, &roles);
        q.page.sort = dq.sort.into_iter().collect();
        let total = self.store.count_users(&org.id, &q).await?;
        if q.page.limit == 0 {
            return Ok((Vec::new(), total));
        }
        let users = self
            .users_at(&org.id, &q, dq.offset, total.max(0) as u64)
            .await?;
        Ok((users, total))
    }

    /// The organization's roles the caller may see, each with (when `with_members`) the members
    /// holding it that the caller may see, at most [`ROLE_MEMBERS_MAX`].
    pub async fn directory_roles(
        &self,
        ctx: &Context,
        org_ref: &str,
        with_members: bool,
    ) -> Result<Vec<RoleMembers>> {
        let org = self.find_org(org_ref).await?;
        let access = ctx.access(&org)?;
        access.require_org(perm::ROLE_GET)?;
        let roles = self.roles(&org.id).await?;
        let mut out = Vec::with_capacity(roles.len());
        for role in roles.iter() {
            let members = if with_members {
                self.holders(&access, &org.id, &roles, &role.id).await?
            } else {
                Vec::new()
            };
            out.push(RoleMembers {
                role: role.clone(),
                members,
            });
        }
        Ok(out)
    }

    /// How many members hold the role, whoever may see them (up to one more than a group
    /// lists).
    pub(super) async fn holder_count(&self, org_id: &OrgId, role_id: &str) -> Result<usize> {
        let mut q = UserQuery::new(ROLE_MEMBERS_MAX + 1);
        q.visibility = crate::paging::Visibility::Only {
            user_ids: Vec::new(),
            role_ids: vec![role_id.to_owned()],
        };
        Ok(self.store.list_users(org_id, &q).await?.len())
    }

    pub(super) async fn holders(
        &self,
        access: &Access<'_>,
        org_id: &OrgId,
        roles: &[Role],
        role_id: &str,
    ) -> Result<Vec<User>> {
        let mut q = UserQuery::new(ROLE_MEMBERS_MAX);
        q.visibility = crate::paging::Visibility::Only {
            user_ids: Vec::new(),
            role_ids: vec![role_id.to_owned()],
        };
        let mut users = self.store.list_users(org_id, &q).await?;
        users.truncate(ROLE_MEMBERS_MAX as usize);
        users.retain(|u| {
            let names = super::access::names_of(roles, &u.role_ids);
            access.can(perm::USER_GET_INFO, &access.target(u, &names))
        });
        Ok(users)
    }
}
