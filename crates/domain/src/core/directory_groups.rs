//! What an organization's directory does to its groups, which are the organization's roles:
//! create one (a role with no grants) with its holders, change who holds one and the
//! directory's id of it, delete one. Each change is checked whole before anything is written
//! and written in one transaction, under the rank rules of the token's role, and audited (so
//! told as events) like the same change from any other surface.

use crate::types::OrgId;
use crate::types::UserId;
use serde_json::json;

use super::access::{grants_of, Access, Context};
use super::directory_users::{EXTERNAL_ID_MAX, ROLE_MEMBERS_MAX};
use super::Core;
use crate::directory::GroupWrite;
use crate::error::{Error, FieldError, Location, Problems, Result};
use crate::model::Role;
use crate::permissions::perm;
use crate::store::{Effects, StoreError};
use crate::types::{new_object_id, Micros};

/// A group as a directory creates it.
#[derive(Debug, Clone, Default)]
pub struct DirectoryGroup {
    pub name: String,
    pub external_id: Option<String>,
    /// The ids of the members who hold it.
    pub members: Vec<String>,
}

fn check_external_id(p: &mut Problems, x: Option<&str>) {
    if let Some(x) = x {
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
}

fn external_id_taken(roles: &[Role], x: Option<&str>, role_id: &str) -> Result<()> {
    if x.is_some_and(|x| {
        roles
            .iter()
            .any(|r| r.id != role_id && r.external_id.as_deref() == Some(x))
    }) {
        return Err(Error::Conflict(
            "a group with the same external id already exists in this organization".into(),
        ));
    }
    Ok(())
}

fn name_taken() -> Error {
    Error::Conflict("a role with the same name already exists in this organization".into())
}

impl Core {
    /// The holders' new roles when `add` gain `role` and `remove` lose it, with their audit
    /// events: the caller must outrank each one's current roles. Unknown or invisible members:
    /// 404.
    #[allow(clippy::too_many_arguments)]
    async fn holder_changes(
        &self,
        ctx: &Context,
        access: &Access<'_>,
        org_id: &OrgId,
        roles: &[Role],
        role: &Role,
        add: &[String],
        remove: &[String],
        fx: &mut Effects,
    ) -> Result<Vec<(UserId, Vec<String>)>> {
        let mut changes: Vec<(UserId, Vec<String>)> = Vec::new();
        let mut seen: Vec<&String> = Vec::new();
        for (user_id, gains) in add
            .iter()
            .map(|u| (u, true))
            .chain(remove.iter().map(|u| (u, false)))
        {
            if seen.contains(&user_id) {
                continue;
            }
            seen.push(user_id);
            let user = self
                .directory_member(access, org_id, &UserId::from(user_id))
                .await?;
            access.require_outranks(&grants_of(roles, &user.role_ids), "the user's role")?;
            let holds = user.role_ids.contains(&role.id);
            if holds == gains {
                continue;
            }
            let mut ids = user.role_ids.clone();
            if gains {
                ids.push(role.id.clone());
            } else {
                ids.retain(|r| *r != role.id);
            }
            let action = if gains {
                "role.assign"
            } else {
                "user.role_revoke"
            };
            fx.audit.push(self.audit(
                ctx,
                org_id,
                action,
                Some(&user.id),
                json!({ "role": role.name }),
            ));
            changes.push((user.id, ids));
        }
        Ok(changes)
    }

    /// A new role of the organization with no grants, held by the group's members: every
    /// check (the name, the external id, each member and the caller's rank over them) is made
    /// before anything is written, and the role and its holders are one write.
    pub async fn directory_create_group(
        &self,
        ctx: &Context,
        org_ref: &str,
        g: DirectoryGroup,
    ) -> Result<Role> {
        let org = self.find_org(org_ref).await?;
        let access = ctx.access(&org)?;
        let mut p = Problems::default();
        let name = g.name.trim().to_owned();
        if name.is_empty() || name.chars().count() > 256 {
            p.push(FieldError::body(
                "role_name",
                "string_too_long",
                "role_name must be 1 to 256 characters",
            ));
        }
        check_external_id(&mut p, g.external_id.as_deref());
        p.finish()?;
        access.require_org(perm::ROLE_CREATE)?;
        if !g.members.is_empty() {
            access.require_org(perm::ROLE_ASSIGN)?;
        }
        let roles = self.roles(&org.id).await?;
        if roles.iter().any(|r| r.name == name) {
            return Err(name_taken());
        }
        external_id_taken(&roles, g.external_id.as_deref(), "")?;
        let now = self.now();
        let role = Role {
            org_id: org.id.to_string(),
            id: new_object_id(),
            name,
            description: "Created by the organization's directory.".into(),
            frontend_view: "client".into(),
            grants: Vec::new(),
            is_admin: false,
            builtin: false,
            external_id: g.external_id,
            created_at: now,
            updated_at: now,
        };
        let mut fx = Effects::audit(self.audit(
            ctx,
            &org.id,
            "role.create",
            None,
            json!({ "role": role.name }),
        ));
        let changes = self
            .holder_changes(
                ctx,
                &access,
                &org.id,
                &roles,
                &role,
                &g.members,
                &[],
                &mut fx,
            )
            .await?;
        self.store
            .write_group(&org.id, GroupWrite::Create(&role), &changes, fx)
            .await
            .map_err(|e| match e {
                StoreError::Conflict { .. } => name_taken(),
                StoreError::NotFound => Error::NotFound("user"),
                e => e.into(),
            })?;
        Ok(role)
    }

    /// Changes who holds a role (`add` gain it, `remove` lose it) and the directory's id of it,
    /// in one transaction, while the role is still at version `expected` when given. Changing
    /// holders needs `Role:AssignRole`, the external id `Role:ModifyRole`; the caller must
    /// outrank the role and each member's current roles, and the organization keeps an
    /// administrator.
    #[allow(clippy::too_many_arguments)]
    pub async fn directory_update_group(
        &self,
        ctx: &Context,
        org_ref: &str,
        role_id: &str,
        external_id: Option<String>,
        add: &[String],
        remove: &[String],
        expected: Option<Micros>,
    ) -> Result<()> {
        let org = self.find_org(org_ref).await?;
        let access = ctx.access(&org)?;
        let mut p = Problems::default();
        check_external_id(&mut p, external_id.as_deref());
        p.finish()?;
        let roles = self.roles(&org.id).await?;
        let role = roles
            .iter()
            .find(|r| r.id == role_id)
            .ok_or(Error::NotFound("role"))?;
        if expected.is_some_and(|v| v != role.updated_at) {
            return Err(Error::Conflict(
                "the group changed since that version".into(),
            ));
        }
        let mut fx = Effects::default();
        let renumbered = external_id != role.external_id;
        if renumbered {
            access.require_org(perm::ROLE_MODIFY)?;
            access.require_outranks(&role.grants, &format!("the role {}", role.name))?;
            external_id_taken(&roles, external_id.as_deref(), &role.id)?;
            fx.audit.push(self.audit(
                ctx,
                &org.id,
                "role.modify",
                None,
                json!({ "role": role.name, "external_id": external_id }),
            ));
        }
        if !add.is_empty() || !remove.is_empty() {
            access.require_org(perm::ROLE_ASSIGN)?;
            access.require_outranks(&role.grants, &format!("the role {}", role.name))?;
        }
        let changes = self
            .holder_changes(ctx, &access, &org.id, &roles, role, add, remove, &mut fx)
            .await?;
        if changes.is_empty() && !renumbered {
            return Ok(());
        }
        let group = if renumbered {
            GroupWrite::ExternalId {
                role_id: &role.id,
                external_id: external_id.as_deref(),
                expected: role.updated_at,
                updated_at: self.now().max(role.updated_at + 1),
            }
        } else {
            GroupWrite::Members
        };
        self.store
            .write_group(&org.id, group, &changes, fx)
            .await
            .map_err(|e| match e {
                StoreError::NotFound => Error::NotFound("user"),
                StoreError::Refused(crate::store::Refusal::Stale) => {
                    Error::Conflict("the group changed since that version".into())
                }
                e => e.into(),
            })?;
        Ok(())
    }

    /// Deletes a custom role: its holders lose it (the caller must outrank the role and each
    /// holder's roles, and the organization keeps an administrator). A built-in role is not
    /// deleted (400), nor one an API key or a directory token acts with (409).
    pub async fn directory_delete_role(
        &self,
        ctx: &Context,
        org_ref: &str,
        role_id: &str,
    ) -> Result<()> {
        let org = self.find_org(org_ref).await?;
        let access = ctx.access(&org)?;
        access.require_org(perm::ROLE_GET)?;
        let roles = self.roles(&org.id).await?;
        let role = roles
            .iter()
            .find(|r| r.id == role_id)
            .ok_or(Error::NotFound("group"))?;
        if role.builtin {
            return Err(Error::field(
                Location::Path,
                "id",
                "immutable",
                format!(
                    "{} is a built-in role: built-in roles are not deleted",
                    role.name
                ),
            ));
        }
        access.require_org(perm::ROLE_MODIFY)?;
        access.require_outranks(&role.grants, &format!("the role {}", role.name))?;
        let mut fx = Effects::audit(self.audit(
            ctx,
            &org.id,
            "role.delete",
            None,
            json!({ "role": role.name }),
        ));
        // Every holder loses the role, so every holder must be one the caller may see, and not
        // more than a group lists: the store removes the role from all of them.
        let visible = self.holders(&access, &org.id, &roles, &role.id).await?;
        let all = self.holder_count(&org.id, &role.id).await?;
        if all > ROLE_MEMBERS_MAX as usize || all != visible.len() {
            return Err(Error::forbidden(format!(
                "the role {} is held by members this token may not see, or by more than {} \
                 members: remove them from the group first",
                role.name, ROLE_MEMBERS_MAX
            )));
        }
        if !visible.is_empty() {
            access.require_org(perm::ROLE_ASSIGN)?;
        }
        let ids: Vec<String> = visible.iter().map(|u| u.id.to_string()).collect();
        // Each holder loses it as a member removed from the group would.
        self.holder_changes(ctx, &access, &org.id, &roles, role, &[], &ids, &mut fx)
            .await?;
        self.store
            .delete_role(&org.id, &role.id, fx)
            .await
            .map_err(|e| match e {
                StoreError::NotFound => Error::NotFound("group"),
                e => e.into(),
            })?;
        Ok(())
    }
}
