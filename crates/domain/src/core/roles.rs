//! Roles, role assignment and temporary permission grants.

use crate::types::UserId;
use std::collections::BTreeMap;

use serde_json::json;

use super::access::{grants_of, names_of, Context};
use super::Core;
use crate::error::{Error, FieldError, Location, Problems, Result};
use crate::model::*;
use crate::paging::*;
use crate::permissions::{self, is_admin_grants, perm};
use crate::store::{Effects, StoreError};
use crate::types::*;

#[derive(Debug, Clone)]
pub struct RoleInput {
    pub name: String,
    pub description: String,
    pub grants: Vec<Grant>,
    pub frontend_view: String,
}

#[derive(Debug, Clone, Default)]
pub struct RolePatch {
    pub description: Option<String>,
    pub grants: Option<Vec<Grant>>,
    pub frontend_view: Option<String>,
}

#[derive(Debug, Clone)]
pub struct GrantInput {
    pub user_id: String,
    pub duration_secs: i64,
    pub grant: Grant,
    pub tags: BTreeMap<String, Option<String>>,
    pub justification: String,
}

fn check_grants(p: &mut Problems, field: &str, grants: &[Grant]) {
    for (i, g) in grants.iter().enumerate() {
        if let Err(m) = permissions::validate_grant(g) {
            p.push(FieldError::body(&format!("{field}.{i}"), "value_error", m));
        }
    }
}

fn check_view(p: &mut Problems, view: &str) {
    if !matches!(view, "client" | "admin") {
        p.push(FieldError::body(
            "frontend_view",
            "enum",
            "frontend_view must be 'client' or 'admin'",
        ));
    }
}

fn dedup(grants: Vec<Grant>) -> Vec<Grant> {
    let mut out: Vec<Grant> = Vec::new();
    for g in grants {
        if !out.contains(&g) {
            out.push(g);
        }
    }
    out
}

impl Core {
    pub async fn create_role(
        &self,
        ctx: &Context,
        org_ref: &str,
        input: RoleInput,
    ) -> Result<Role> {
        let org = self.find_org(org_ref).await?;
        let access = ctx.access(&org)?;
        let mut p = Problems::default();
        let name = input.name.trim().to_owned();
        if name.is_empty() || name.chars().count() > 256 {
            p.push(FieldError::body(
                "role_name",
                "string_too_long",
                "role_name must be 1 to 256 characters",
            ));
        }
        if input.description.trim().is_empty() {
            p.push(FieldError::body(
                "description",
                "string_too_short",
                "description must not be empty",
            ));
        }
        check_grants(&mut p, "permission_grants", &input.grants);
        check_view(&mut p, &input.frontend_view);
        p.finish()?;
        access.require_org(perm::ROLE_CREATE)?;
        let grants = dedup(input.grants);
        access.require_outranks(&grants, "the new role")?;
        let now = self.now();
        let role = Role {
            org_id: org.id.to_string(),
            id: new_object_id(),
            name,
            description: input.description.trim().to_owned(),
            frontend_view: input.frontend_view,
            is_admin: is_admin_grants(&grants),
            grants,
            builtin: false,
            external_id: None,
            created_at: now,
            updated_at: now,
        };
        let fx = Effects::audit(self.audit(
            ctx,
            &org.id,
            "role.create",
            None,
            json!({ "role": role.name }),
        ));
        self.store
            .insert_role(&role, fx)
            .await
            .map_err(|e| match e {
                StoreError::Conflict { .. } => Error::Conflict(
                    "a role with the same name already exists in this organization".into(),
                ),
                e => e.into(),
            })?;
        Ok(role)
    }

    /// Roles visible to the caller (those it holds `Role:GetRole` for), filtered by id and name.
    pub async fn list_roles(
        &self,
        ctx: &Context,
        org_ref: &str,
        ids: &[String],
        names: &[String],
    ) -> Result<Vec<Role>> {
        let org = self.find_org(org_ref).await?;
        let access = ctx.access(&org)?;
        if ids.len() > super::users::MAX_FILTER_VALUES
            || names.len() > super::users::MAX_FILTER_VALUES
        {
            return Err(Error::field(
                Location::Query,
                "id",
                "too_long",
                "at most 100 id and 100 name values",
            ));
        }
        let bad: Vec<FieldError> = ids
            .iter()
            .filter(|i| !is_object_id(i))
            .map(|i| {
                FieldError::query(
                    "id",
                    "string_pattern_mismatch",
                    format!("'{i}' must match ^[a-f0-9]{{24}}$"),
                )
            })
            .collect();
        if !bad.is_empty() {
            return Err(Error::Validation(bad));
        }
        let roles = self.store.list_roles(&org.id).await?;
        Ok(roles
            .into_iter()
            .filter(|r| ids.is_empty() || ids.contains(&r.id))
            .filter(|r| names.is_empty() || names.contains(&r.name))
            .filter(|r| {
                let names = [r.name.clone()];
                access.can(
                    perm::ROLE_GET,
                    &permissions::Target {
                        user_id: None,
                        is_self: false,
                        role_names: &names,
                    },
                )
            })
            .collect())
    }

    /// Changes a role. The caller must outrank it before and after; built-in grants are fixed.
    pub async fn modify_role(
        &self,
        ctx: &Context,
        org_ref: &str,
        role_name: &str,
        patch: RolePatch,
    ) -> Result<Role> {
        let org = self.find_org(org_ref).await?;
        let access = ctx.access(&org)?;
        let mut p = Problems::default();
        if patch
            .description
            .as_deref()
            .is_some_and(|d| d.trim().is_empty())
        {
            p.push(FieldError::body(
                "description",
                "string_too_short",
                "description must not be empty",
            ));
        }
        if let Some(g) = &patch.grants {
            check_grants(&mut p, "permission_grants", g);
        }
        if let Some(v) = &patch.frontend_view {
            check_view(&mut p, v);
        }
        p.finish()?;
        let roles = self.store.list_roles(&org.id).await?;
        let mut role = roles
            .into_iter()
            .find(|r| r.name == role_name)
            .ok_or(Error::NotFound("role"))?;
        access.require_org(perm::ROLE_MODIFY)?;
        access.require_outranks(&role.grants, &format!("the role {role_name}"))?;
        if let Some(grants) = patch.grants {
            if role.builtin {
                return Err(Error::BadRequest(
                    "the permission grants of a built-in role cannot be changed".into(),
                ));
            }
            let grants = dedup(grants);
            access.require_outranks(&grants, "the modified role")?;
            role.is_admin = is_admin_grants(&grants);
            role.grants = grants;
        }
        if let Some(d) = patch.description {
            role.description = d.trim().to_owned();
        }
        if let Some(v) = patch.frontend_view {
            role.frontend_view = v;
        }
        let expected = role.updated_at;
        role.updated_at = self.now().max(expected + 1);
        let fx = Effects::audit(self.audit(
            ctx,
            &org.id,
            "role.modify",
            None,
            json!({ "role": role.name }),
        ));
        self.store.update_role(&role, expected, fx).await?;
        Ok(role)
    }

    /// Gives the user this role in place of their current ones.
    pub async fn assign_role(
        &self,
        ctx: &Context,
        org_ref: &str,
        role_name: &str,
        user_id: &UserId,
    ) -> Result<Role> {
        let org = self.find_org(org_ref).await?;
        let access = ctx.access(&org)?;
        if user_id.trim().is_empty() {
            return Err(Error::field(
                Location::Body,
                "user_id",
                "missing",
                "user_id is required",
            ));
        }
        let roles = self.store.list_roles(&org.id).await?;
        let role = roles
            .iter()
            .find(|r| r.name == role_name)
            .ok_or(Error::NotFound("role"))?
            .clone();
        let user = self.target_user(&org.id, user_id).await?;
        access.require_org(perm::ROLE_ASSIGN)?;
        access.require_outranks(&role.grants, &format!("the role {role_name}"))?;
        let is_self = access.user_id() == Some(user.id.as_str());
        if !is_self {
            access.require_outranks(
                &grants_of(&roles, &user.role_ids),
                "the user's current role",
            )?;
        }
        let names = names_of(&roles, &user.role_ids);
        let fx = Effects::audit(self.audit(
            ctx,
            &org.id,
            "role.assign",
            Some(&user.id),
            json!({ "role": role.name, "previous": names }),
        ));
        self.store
            .set_user_roles(
                &org.id,
                &user.id,
                std::slice::from_ref(&role.id),
                &super::eva::env_roles_kept(&roles, std::slice::from_ref(&role.id)),
                fx,
            )
            .await?;
        Ok(role)
    }

    /// Lends a user one permission for a while. The caller must hold that permission itself.
    pub async fn create_temporary_grant(
        &self,
        ctx: &Context,
        org_ref: &str,
        input: GrantInput,
    ) -> Result<TemporaryGrant> {
        let org = self.find_org(org_ref).await?;
        let access = ctx.access(&org)?;
        let mut p = Problems::default();
        if let Err(m) = permissions::validate_grant(&input.grant) {
            p.push(FieldError::body("permission_grant", "value_error", m));
        }
        if input.duration_secs <= 0 || input.duration_secs > 90 * 24 * 3600 {
            p.push(FieldError::body(
                "duration",
                "value_error",
                "duration must be positive and at most 90 days",
            ));
        }
        if input.justification.trim().chars().count() < 10 {
            p.push(FieldError::body(
                "justification",
                "string_too_short",
                "justification must be at least 10 characters",
            ));
        }
        if input.tags.len() > 20 {
            p.push(FieldError::body("tags", "too_long", "at most 20 tags"));
        }
        let tag_ok = |s: &str| {
            !s.trim().is_empty()
                && s.chars()
                    .all(|c| c.is_alphanumeric() || c == '_' || c.is_whitespace())
        };
        for (k, v) in &input.tags {
            if !tag_ok(k) || v.as_deref().is_some_and(|v| !tag_ok(v)) {
                p.push(FieldError::body(
                    &format!("tags.{k}"),
                    "string_pattern_mismatch",
                    "tag keys and values may hold only letters, digits, underscores and spaces",
                ));
            }
        }
        p.finish()?;
        access.require_org(perm::TEMP_GRANT_CREATE)?;
        let user = self
            .target_user(&org.id, &UserId::from(&input.user_id))
            .await?;
        let holds = access.holds_grant(&input.grant);
        if !holds {
            return Err(Error::forbidden(
                "a caller can only lend permissions it holds unconditionally",
            ));
        }
        let now = self.now();
        let (creator_user_id, creator_org_id) = access.creator().stored();
        let grant = TemporaryGrant {
            org_id: org.id.to_string(),
            id: new_object_id(),
            user_id: user.id.to_string(),
            grant: input.grant,
            justification: input.justification.trim().to_owned(),
            tags: input.tags,
            creator_user_id,
            creator_org_id,
            expires_at: now + input.duration_secs * 1_000_000,
            created_at: now,
            updated_at: now,
        };
        let fx = Effects::audit(self.audit(
            ctx,
            &org.id,
            "grant.create",
            Some(&user.id),
            json!({ "permission": grant.grant.permission_name }),
        ));
        self.store.insert_temporary_grant(&grant, fx).await?;
        Ok(grant)
    }

    pub async fn list_temporary_grants(
        &self,
        ctx: &Context,
        org_ref: &str,
        mut q: GrantQuery,
        continuation_token: i64,
        sort_by: &[String],
    ) -> Result<Page<TemporaryGrant>> {
        let org = self.find_org(org_ref).await?;
        let access = ctx.access(&org)?;
        let mut p = Problems::default();
        for (field, n) in [
            ("id", q.ids.len()),
            ("user_id", q.user_ids.len()),
            ("creator", q.creators.len()),
            ("tag", q.tags.len()),
        ] {
            if n > super::users::MAX_FILTER_VALUES {
                p.push(FieldError::query(
                    field,
                    "too_long",
                    format!("at most {} {field} values", super::users::MAX_FILTER_VALUES),
                ));
            }
        }
        if q.page.limit > 10 {
            p.push(FieldError::query(
                "limit",
                "less_than_equal",
                "limit must be between 0 and 10",
            ));
        }
        let sort = p.check(
            parse_sort(sort_by, GRANT_SORT_FIELDS)
                .map_err(|m| FieldError::query("sort_by", "value_error", m)),
        );
        p.finish()?;
        if !access.can_org(perm::TEMP_GRANT_GET) {
            return Ok(Page {
                items: Vec::new(),
                has_more: false,
                continuation_token: None,
            });
        }
        let sort = sort.unwrap_or_default();
        q.page.position = self.position(&org.id, continuation_token, &sort).await?;
        q.page.sort = sort;
        let rows = self.store.list_temporary_grants(&org.id, &q).await?;
        let sort = q.page.sort.clone();
        self.finish_page(&org, rows, &q.page, |g| {
            let values = sort
                .iter()
                .map(|k| match k.field.as_str() {
                    "user_id" => SortValue::Text(g.user_id.clone()),
                    "expires_at" => SortValue::Int(g.expires_at),
                    _ => SortValue::Text(g.grant.permission_name.clone()),
                })
                .collect();
            (values, g.id.clone())
        })
        .await
    }
}
