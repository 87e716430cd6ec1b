//! Membership operations in the caller's own organization (the org-user-management surface):
//! the caller's identity across organizations, members and their roles, invitations with a
//! login connection, and password resets.

use crate::types::UserId;
use serde_json::json;

use super::access::{grants_of, names_of, Context, Rank};
use super::Core;
use crate::error::{Error, FieldError, Location, Problems, Result};
use crate::kinds::TokenPurpose;
use crate::links::{LinkFamily, LinkKind};
use crate::mail::{self, Mail};
use crate::model::*;
use crate::paging::{SortKey, UserQuery};
use crate::permissions::{perm, Target};
use crate::secrets::{hash_secret, random_secret};
use crate::store::{Effects, NewIdentity, Revocation, StoreError};
use crate::types::*;

/// The roles this surface names; `admin` is also shown for any administrator.
pub const MEMBER_ROLES: &[&str] = &["admin", "developer", "analyst"];

/// Most members on one page of the list.
pub const MEMBER_PAGE_MAX: u32 = 100;

/// One page of the member list, checked by the surface that read it: `number` from 1,
/// `size` members (0 to [`MEMBER_PAGE_MAX`]), `name` a case-insensitive part of the name.
#[derive(Debug, Clone)]
pub struct MemberPage {
    pub number: u64,
    pub size: u32,
    pub name: Option<String>,
}

/// A member and the role names the surface shows for them.
#[derive(Debug, Clone)]
pub struct Member {
    pub user: User,
    pub roles: Vec<String>,
}

const EMAIL_CHANGE_TTL_SECS: i64 = 24 * 3600;

fn member_roles(user: &User, roles: &[Role]) -> Vec<String> {
    let held = names_of(roles, &user.role_ids);
    let mut out: Vec<String> = MEMBER_ROLES
        .iter()
        .filter(|r| held.iter().any(|h| h == *r) || (**r == "admin" && user.is_admin))
        .map(|r| r.to_string())
        .collect();
    out.dedup();
    out
}

impl Core {
    /// The caller's own organization (the surface has no organization in its paths).
    pub async fn own_org(&self, ctx: &Context) -> Result<Organization> {
        let p = ctx.principal().ok_or(Error::Unauthenticated)?;
        self.find_org(&p.org_id).await
    }

    async fn member(&self, org: &Organization, user: User) -> Result<Member> {
        let roles = self.store.list_roles(&org.id).await?;
        Ok(Member {
            roles: member_roles(&user, &roles),
            user,
        })
    }

    pub async fn me(&self, ctx: &Context) -> Result<Member> {
        let org = self.own_org(ctx).await?;
        let p = ctx.principal().ok_or(Error::Unauthenticated)?;
        let user = self.target_user(&org.id, &UserId::from(&p.user_id)).await?;
        self.member(&org, user).await
    }

    /// Changes the caller's name everywhere at once; a new email takes effect only when the link
    /// sent to it is followed. Only for identities that sign in with a password. Every check
    /// runs before the first write, so a refused email change renames nothing either.
    pub async fn update_me(
        &self,
        ctx: &Context,
        name: Option<String>,
        email: Option<String>,
    ) -> Result<Member> {
        let org = self.own_org(ctx).await?;
        let p = ctx.principal().ok_or(Error::Unauthenticated)?;
        let mut problems = Problems::default();
        if name.as_deref().is_some_and(|n| n.trim().is_empty()) {
            problems.push(FieldError::body(
                "name",
                "string_too_short",
                "name must not be empty",
            ));
        }
        let email = match &email {
            Some(e) => problems.check(Email::field(e, "email", Location::Body)),
            None => None,
        };
        problems.finish()?;
        // The name and the login email belong to the person: an API key or an invitation
        // link the inviter was shown never changes them.
        if name.is_some() || email.is_some() {
            ctx.require_owner_session()?;
        }
        let identity = self
            .store
            .get_identity(&p.identity_id)
            .await?
            .ok_or(Error::Unauthenticated)?;
        let me = self.target_user(&org.id, &UserId::from(&p.user_id)).await?;
        if me.connection != Connection::Password {
            return Err(Error::BadRequest(format!(
                "this account signs in through {}; change its name and email with that provider",
                me.connection.as_str()
            )));
        }
        let email = email.filter(|e| e.lower != identity.email_lower);
        if let Some(email) = &email {
            if self.store.identity_by_email(&email.lower).await?.is_some() {
                return Err(Error::Conflict(
                    "that email address belongs to another account".into(),
                ));
            }
        }
        let memberships = self.store.memberships(&identity.id).await?;
        if let Some(name) = name {
            let (first, last) = split_name(&name);
            let mut fx = Effects::default();
            for (org_id, user_id) in &memberships {
                fx.audit.push(if *org_id == org.id {
                    self.audit(ctx, org_id, "identity.rename", Some(user_id), json!({}))
                } else {
                    self.audit_by_member(ctx, org_id, user_id, "identity.rename", json!({}))
                });
            }
            self.store
                .rename_identity(&identity.id, &first, &last, self.now(), fx)
                .await?;
        }
        if let Some(email) = email {
            let secret = random_secret();
            let now = self.now();
            let link = self.link(LinkFamily::Members, LinkKind::EmailChange, &org, &secret);
            let user = self.target_user(&org.id, &UserId::from(&p.user_id)).await?;
            let mut fx = Effects::audit(self.audit(
                ctx,
                &org.id,
                "identity.email_change_requested",
                Some(&user.id),
                json!({}),
            ));
            // A newer request voids the links of earlier ones, whichever organization they came from.
            for (org_id, user_id) in &memberships {
                fx.revoke
                    .push(Revocation::new(org_id, user_id, TokenPurpose::EmailChange));
            }
            fx.tokens.push(OneTimeToken::new(
                &secret,
                TokenOwner {
                    org_id: &org.id,
                    user_id: &p.user_id,
                    identity_id: &identity.id,
                },
                TokenPurpose::EmailChange,
                json!({ "email": email.display }),
                EMAIL_CHANGE_TTL_SECS,
                now,
            ));
            fx.outbox.push(OutboxMessage::queued(
                &org.id,
                Mail::EmailChange(mail::EmailChange {
                    first_name: user.first_name.clone(),
                    link,
                    old_email: identity.email.clone(),
                }),
                &email.display,
                super::users::email_language(user.preferences.preferred_language.as_deref(), &org),
                now,
            ));
            self.store.write_effects(fx).await?;
        }
        self.me(ctx).await
    }

    /// Follows an email-change link: the identity and all its memberships move to the new address.
    pub async fn confirm_email_change(&self, request_id: &str, token: &str) -> Result<()> {
        if token.trim().is_empty() {
            return Err(Error::field(
                Location::Body,
                "token",
                "missing",
                "token is required",
            ));
        }
        let ctx = Context::new(request_id, super::Actor::Anonymous);
        let mut fx = Effects::default();
        // The audit event names the organization where the change was asked for; the store fills it in.
        fx.audit.push(self.audit(
            &ctx,
            &OrgId::new(""),
            "identity.email_changed",
            None,
            json!({}),
        ));
        match self
            .store
            .apply_email_change(&hash_secret(token.trim()), self.now(), fx)
            .await
        {
            Ok(Some(_)) => Ok(()),
            Ok(None) => Err(Error::Unauthenticated),
            Err(StoreError::Conflict { .. }) => Err(Error::Conflict(
                "that email address belongs to another account".into(),
            )),
            Err(e) => Err(e.into()),
        }
    }

    /// Accepted members, by name; `count` is the number of all matches.
    pub async fn list_members(
        &self,
        ctx: &Context,
        page: &MemberPage,
    ) -> Result<(i64, Vec<Member>)> {
        let org = self.own_org(ctx).await?;
        let access = ctx.access(&org)?;
        let number = i64::try_from(page.number.max(1)).unwrap_or(i64::MAX);
        let search = page.name.clone();
        access.require_org(perm::USER_GET_INFO).or_else(|_| {
            access.require_on(
                perm::USER_GET_INFO,
                &Target {
                    user_id: access.user_id(),
                    is_self: true,
                    role_names: &[],
                },
            )
        })?;
        let size = i64::from(page.size.min(MEMBER_PAGE_MAX));
        let roles = self.store.list_roles(&org.id).await?;
        let mut q = UserQuery::new(size as u32);
        q.is_verified = Some(true);
        q.name_contains = search.map(|s| s.to_lowercase());
        q.visibility = access.visibility(perm::USER_GET_INFO, &roles);
        q.page.sort = vec![SortKey {
            field: "name".into(),
            descending: false,
        }];
        let count = self.count_users(&org.id, &q).await?;
        let offset = (number - 1).saturating_mul(size);
        if size == 0 || offset >= count {
            return Ok((count, Vec::new()));
        }
        let users = self
            .users_at(&org.id, &q, offset as u64, count as u64)
            .await?;
        Ok((
            count,
            users
                .into_iter()
                .map(|u| Member {
                    roles: member_roles(&u, &roles),
                    user: u,
                })
                .collect(),
        ))
    }

    /// One accepted member of the caller's organization.
    pub async fn get_member(&self, ctx: &Context, user_id: &UserId) -> Result<Member> {
        let org = self.own_org(ctx).await?;
        let access = ctx.access(&org)?;
        let user = self.target_user(&org.id, user_id).await?;
        if user.status == UserStatus::Invited {
            return Err(Error::NotFound("user"));
        }
        let roles = self.store.list_roles(&org.id).await?;
        let names = names_of(&roles, &user.role_ids);
        access.require_on(perm::USER_GET_INFO, &access.target(&user, &names))?;
        Ok(Member {
            roles: member_roles(&user, &roles),
            user,
        })
    }

    /// A member who has accepted their invitation; pending invitations are not members yet.
    async fn accepted(&self, org_id: &OrgId, user_id: &UserId) -> Result<User> {
        let user = self.target_user(org_id, user_id).await?;
        if user.status == UserStatus::Invited {
            return Err(Error::NotFound("user"));
        }
        Ok(user)
    }

    /// Removes the membership; the identity and its other memberships stay.
    pub async fn remove_member(&self, ctx: &Context, user_id: &UserId) -> Result<()> {
        let org = self.own_org(ctx).await?;
        self.accepted(&org.id, user_id).await?;
        self.delete_user_ranked(ctx, &org.id, user_id, Rank::Appoint)
            .await
            .map(|_| ())
    }

    fn parse_member_roles(names: &[String], field: &str, roles: &[Role]) -> Result<Vec<Role>> {
        let mut problems = Problems::default();
        if names.is_empty() {
            problems.push(FieldError::body(
                field,
                "too_short",
                "give at least one role",
            ));
        }
        let mut out: Vec<Role> = Vec::new();
        for (i, n) in names.iter().enumerate() {
            match roles
                .iter()
                .find(|r| r.name == *n && MEMBER_ROLES.contains(&n.as_str()))
            {
                Some(r) if !out.iter().any(|o| o.id == r.id) => out.push(r.clone()),
                Some(_) => {}
                None => problems.push(FieldError::body(
                    &format!("{field}.{i}"),
                    "enum",
                    "roles must be 'admin', 'developer' or 'analyst'",
                )),
            }
        }
        problems.finish()?;
        Ok(out)
    }

    /// Replaces a member's roles. The caller appoints each role it grants and, unless it is the
    /// member, the member's current roles (administrators their equals, anyone else what it
    /// outranks); the organization keeps an administrator.
    pub async fn replace_roles(
        &self,
        ctx: &Context,
        user_id: &UserId,
        names: Vec<String>,
    ) -> Result<()> {
        let org = self.own_org(ctx).await?;
        let access = ctx.access(&org)?;
        let roles = self.store.list_roles(&org.id).await?;
        let wanted = Self::parse_member_roles(&names, "", &roles)?;
        let user = self.accepted(&org.id, user_id).await?;
        access.require_org(perm::ROLE_ASSIGN)?;
        for r in &wanted {
            access.require_appoints(&r.grants, &format!("the role {}", r.name))?;
        }
        if access.user_id() != Some(user.id.as_str()) {
            access.require_appoints(
                &grants_of(&roles, &user.role_ids),
                "the user's current roles",
            )?;
        }
        let ids: Vec<String> = wanted.iter().map(|r| r.id.clone()).collect();
        let fx = Effects::audit(self.audit(
            ctx,
            &org.id,
            "user.roles_replaced",
            Some(&user.id),
            json!({ "roles": names }),
        ));
        self.store
            .set_user_roles(
                &org.id,
                &user.id,
                &ids,
                &super::eva::env_roles_kept(&roles, &ids),
                fx,
            )
            .await?;
        Ok(())
    }

    /// Queues a password-reset email. Only for members who sign in with a password.
    pub async fn request_password_reset(&self, ctx: &Context, user_id: &UserId) -> Result<()> {
        let org = self.own_org(ctx).await?;
        self.reset_password_in(ctx, org, user_id).await
    }

    /// [`Core::request_password_reset`] in the organization `org_ref` names, which the caller
    /// must reach (the console's, whose organization is in its path).
    pub async fn request_password_reset_in(
        &self,
        ctx: &Context,
        org_ref: &str,
        user_id: &UserId,
    ) -> Result<()> {
        let org = self.find_org(org_ref).await?;
        self.reset_password_in(ctx, org, user_id).await
    }

    async fn reset_password_in(
        &self,
        ctx: &Context,
        org: Organization,
        user_id: &UserId,
    ) -> Result<()> {
        let access = ctx.access(&org)?;
        let user = self.accepted(&org.id, user_id).await?;
        let roles = self.store.list_roles(&org.id).await?;
        self.require_write_ranked(&access, perm::USER_UPDATE, &user, &roles, Rank::Appoint)?;
        if user.connection != Connection::Password {
            return Err(Error::BadRequest(format!(
                "this user signs in through {}; reset the password with that provider",
                user.connection.as_str()
            )));
        }
        let fx = self.password_reset_effects(ctx, LinkFamily::Members, &org, &user);
        self.store.write_effects(fx).await?;
        Ok(())
    }

    /// Invites someone with roles and a login connection (`None`: username and password). A
    /// member already: 409. A pending invitation: its roles are replaced and the email sent again.
    pub async fn invite_member(
        &self,
        ctx: &Context,
        email: &str,
        name: &str,
        role_names: Vec<String>,
        connection: Option<Connection>,
    ) -> Result<()> {
        let org = self.own_org(ctx).await?;
        let access = ctx.access(&org)?;
        let roles = self.store.list_roles(&org.id).await?;
        let mut problems = Problems::default();
        let email = problems.check(Email::field(email, "email", Location::Body));
        if name.trim().is_empty() {
            problems.push(FieldError::body(
                "name",
                "string_too_short",
                "name must not be empty",
            ));
        }
        let wanted = match Self::parse_member_roles(&role_names, "roles", &roles) {
            Ok(w) => w,
            Err(Error::Validation(v)) => {
                v.into_iter().for_each(|e| problems.push(e));
                Vec::new()
            }
            Err(e) => return Err(e),
        };
        if let Some(Connection::Oidc(name)) = &connection {
            if self.store.get_connection(&org.id, name).await?.is_none() {
                problems.push(FieldError::body(
                    "connection",
                    "enum",
                    "connection is not one of the organization's connections",
                ));
            }
        }
        problems.finish()?;
        let email = email.ok_or(Error::NotFound("email"))?;
        let names: Vec<String> = wanted.iter().map(|r| r.name.clone()).collect();
        // Each role on its own: a grant limited to one role never covers another.
        for name in &names {
            let one = [name.clone()];
            access.require_on(
                perm::USER_INVITE,
                &Target {
                    user_id: None,
                    is_self: false,
                    role_names: &one,
                },
            )?;
        }
        for r in &wanted {
            access.require_appoints(&r.grants, &format!("the role {}", r.name))?;
        }
        let ids: Vec<String> = wanted.iter().map(|r| r.id.clone()).collect();
        let is_admin = wanted.iter().any(|r| r.is_admin);
        let mut q = UserQuery::new(1);
        q.emails_lower = vec![email.lower.clone()];
        let existing = self.store.list_users(&org.id, &q).await?.into_iter().next();
        let now = self.now();
        let (first, last) = split_name(name);
        let (user, identity) = match &existing {
            Some(u) if u.status != UserStatus::Invited => {
                return Err(Error::Conflict(
                    "this person is already a member of the organization".into(),
                ))
            }
            Some(u) => {
                access.require_appoints(
                    &grants_of(&roles, &u.role_ids),
                    "the invitation's current roles",
                )?;
                (u.clone(), None)
            }
            None => {
                let user = User {
                    is_admin,
                    preferences: org.default_preferences.clone(),
                    role_ids: ids.clone(),
                    connection: connection.clone().unwrap_or(Connection::Password),
                    ..User::new(&org.id, &email.display, &first, &last, now)
                };
                let identity = NewIdentity {
                    connection: connection.clone().unwrap_or(Connection::Password),
                    ..NewIdentity::for_user(&user, false)
                };
                (user, Some(identity))
            }
        };
        let secret = random_secret();
        let accept_link = self.link(LinkFamily::Members, LinkKind::Invitation, &org, &secret);
        let mut fx = Effects::audit(self.audit(
            ctx,
            &org.id,
            "user.invite",
            Some(&user.id),
            json!({ "roles": names, "resent": existing.is_some() }),
        ));
        fx.revoke
            .push(Revocation::new(&org.id, &user.id, TokenPurpose::Invite));
        fx.tokens.push(OneTimeToken::new(
            &secret,
            TokenOwner::from(&user),
            TokenPurpose::Invite,
            json!({ "connection": connection.as_ref().map(|c| c.as_str()) }),
            self.config.invitation_ttl_secs,
            now,
        ));
        let invitation = Mail::Invitation(mail::Invitation {
            org_name: org.name.clone(),
            first_name: first.clone(),
            verify_link: accept_link,
            login_link: None,
            connection: connection.as_ref().map(|c| c.as_str().to_owned()),
        });
        let language = super::users::email_language(None, &org);
        fx.outbox.push(OutboxMessage::queued(
            &org.id,
            invitation,
            &email.display,
            language,
            now,
        ));
        match identity {
            Some(identity) => {
                self.store
                    .insert_user(identity, user, &[], fx)
                    .await
                    .map_err(|e| match e {
                        StoreError::Conflict { .. } => Error::Conflict(
                            "this person is already a member of the organization".into(),
                        ),
                        e => e.into(),
                    })?;
            }
            None => {
                self.store
                    .set_user_roles(
                        &org.id,
                        &user.id,
                        &ids,
                        &super::eva::env_roles_kept(&roles, &ids),
                        fx,
                    )
                    .await?;
            }
        }
        Ok(())
    }
}
