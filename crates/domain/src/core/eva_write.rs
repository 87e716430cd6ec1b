//! eva-user writes: create, update (replace), activate and delete users with an admin flag
//! or per-environment roles and bots.

use crate::types::UserId;
use serde_json::json;

use super::access::{Context, Rank};
use super::eva::*;
use super::Core;
use crate::error::{Error, FieldError, Location, Problems, Result};
use crate::kinds::TokenPurpose;
use crate::mail::{LinkMail, Mail};
use crate::model::*;
use crate::paging::UserQuery;
use crate::permissions::perm;
use crate::store::{Effects, NewIdentity, Revocation};
use crate::types::*;

impl Core {
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
                "password is required with password_confirmation",
            )),
            (Some(pw), confirmation) => {
                if let Err(e) = crate::password::check_policy(pw, "password") {
                    p.push(e);
                }
                if confirmation.as_deref() != Some(pw.as_str()) {
                    p.push(FieldError::body(
                        "password_confirmation",
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
        let envs = catalog.check_into(input.admin, &input.environments, &[], &mut p);
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
        let now = self.now();
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
        let welcome = Mail::Welcome(LinkMail {
            org_name: org.name.clone(),
            first_name: user.first_name.clone(),
            link: self.config.public_url.clone(),
        });
        OutboxMessage::queued(&org.id, welcome, &user.email, language, now)
    }

    /// Replaces a user's name, company, image, admin flag and environments. The email and the
    /// password belong to the person's account: the email cannot change here, and only the
    /// person themself sets a new password.
    pub async fn eva_update(
        &self,
        ctx: &Context,
        org_ref: &str,
        user_id: &UserId,
        input: EvaUserInput,
    ) -> Result<EvaUser> {
        let (org, user) = self.eva_target(ctx, org_ref, user_id).await?;
        self.eva_replace(ctx, &org, user, input, "user.update", None)
            .await?;
        self.eva_get(ctx, &org.id, user_id).await
    }

    /// The organization and the user an eva write is about; a deactivated user, whom eva does
    /// not show, is not found. Another organization's credentials learn nothing, not even
    /// whether the id exists.
    pub(crate) async fn eva_target(
        &self,
        ctx: &Context,
        org_ref: &str,
        user_id: &UserId,
    ) -> Result<(Organization, User)> {
        let org = self.find_org(org_ref).await?;
        ctx.access(&org)?;
        let user = self.target_user(&org.id, user_id).await?;
        if user.status == UserStatus::Inactive {
            return Err(Error::NotFound("user"));
        }
        Ok((org, user))
    }

    /// The user's environment access as stored.
    pub(crate) async fn held_access(
        &self,
        org_id: &OrgId,
        user_id: &UserId,
    ) -> Result<Vec<EnvAccess>> {
        Ok(self
            .store
            .env_access(org_id, std::slice::from_ref(user_id))
            .await?
            .into_iter()
            .map(|(_, a)| a)
            .collect())
    }

    /// Unchanged access needs no rank; any change needs the caller to appoint the resulting
    /// role (an administrator its equals, anyone else a role it outranks), so nobody but an
    /// administrator widens their own environments or bots.
    pub(crate) fn require_access_change(
        &self,
        access: &super::access::Access<'_>,
        role: &Role,
        role_unchanged: bool,
        current: &[EnvAccess],
        envs: &[EnvAccess],
    ) -> Result<()> {
        let key = |v: &[EnvAccess]| {
            let mut k: Vec<(String, EnvRole, Vec<String>)> = v
                .iter()
                .map(|e| {
                    let mut bots = e.bots.clone();
                    bots.sort();
                    (e.environment_uuid.clone(), e.role, bots)
                })
                .collect();
            k.sort();
            k
        };
        if role_unchanged && key(current) == key(envs) {
            return Ok(());
        }
        access.require_appoints(&role.grants, &format!("the role {}", role.name))
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
        let envs = catalog.check_into(input.admin, &input.environments, &[], &mut p);
        p.finish()?;
        if email.is_some_and(|e| e.lower != user.email.to_lowercase()) {
            return Err(Error::Conflict(EMAIL_IS_LOGIN.into()));
        }
        let roles = self.store.list_roles(&org.id).await?;
        self.require_write_ranked(&access, perm::USER_UPDATE, &user, &roles, Rank::Appoint)?;
        let role = org_role(&roles, input.admin, &envs)
            .ok_or(Error::NotFound("role"))?
            .clone();
        let current = self.held_access(&org.id, &user.id).await?;
        let role_unchanged = user.role_ids == [role.id.clone()] && user.is_admin == role.is_admin;
        self.require_access_change(&access, &role, role_unchanged, &current, &envs)?;
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
        let was = user.status;
        let (first, last) = split_name(&input.name);
        user.first_name = first;
        user.last_name = last;
        user.company = input.company.filter(|c| !c.trim().is_empty());
        user.image = input.image.filter(|c| !c.trim().is_empty());
        user.status = UserStatus::Active;
        user.updated_at = self.now().max(expected + 1);
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
                    at: crate::types::session_stamp(),
                })
            }
            None => None,
        };
        self.store
            .update_user_access(
                &user,
                expected,
                super::instructions::sessions_end(was, user.status),
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
    pub async fn eva_delete(&self, ctx: &Context, org_ref: &str, user_id: &UserId) -> Result<()> {
        let (org, mut user) = self.eva_target(ctx, org_ref, user_id).await?;
        let access = ctx.access(&org)?;
        let roles = self.store.list_roles(&org.id).await?;
        self.require_write_ranked(&access, perm::USER_DELETE, &user, &roles, Rank::Appoint)?;
        if access.user_id() == Some(user.id.as_str()) {
            return Err(Error::Conflict("users cannot delete themselves".into()));
        }
        let expected = user.updated_at;
        let was = user.status;
        user.status = UserStatus::Inactive;
        user.updated_at = self.now().max(expected + 1);
        let mut fx =
            Effects::audit(self.audit(ctx, &org.id, "user.deactivate", Some(&user.id), json!({})));
        // The store cuts the membership's sessions; refresh tokens go too, so activation revives nothing.
        fx.revoke
            .push(Revocation::new(&org.id, &user.id, TokenPurpose::Refresh));
        let sessions_end = super::instructions::sessions_end(was, user.status);
        self.store
            .update_user(&user, expected, sessions_end, fx)
            .await?;
        Ok(())
    }
}
