//! eva's bulk operations from CSV files: create, delete, and grant or revoke environment access.
//! Rows are independent: a bad row is reported under its email (or `line N`) with the rule it
//! breaks, and the good rows are applied, in transactional batches.

use std::collections::HashMap;

use serde_json::json;

use super::access::Context;
use super::eva::{org_role, EnvInput, EVA_ADMIN};
use super::Core;
use crate::error::{Error, FieldError, Location, Result};
use crate::import::{self, Line};
use crate::model::*;
use crate::paging::UserQuery;
use crate::permissions::perm;
use crate::store::Effects;
use crate::types::*;

/// How many rows were applied, and the errors of the others as `(email or "line N", reason)`.
#[derive(Debug, Clone, Default)]
pub struct BulkOutcome {
    pub applied: usize,
    pub errors: Vec<(String, String)>,
}

pub(super) struct Row {
    pub(super) key: String,
    pub(super) email: Email,
    pub(super) name: String,
    pub(super) company: String,
    pub(super) role: String,
    pub(super) password: String,
    pub(super) env: Option<EnvInput>,
}

/// Reads a line into a row, checking what needs no database: email, name, role and the
/// columns that role requires.
pub(super) fn read_row(line: &Line, full: bool) -> std::result::Result<Row, String> {
    let f = line.fields.as_ref().map_err(Clone::clone)?;
    let col = |i: usize| f.get(i).cloned().unwrap_or_default();
    let email = Email::parse(&col(0)).map_err(|m| format!("Column 'email': {m}"))?;
    if !full {
        return Ok(Row {
            key: line.key(),
            email,
            name: String::new(),
            company: String::new(),
            role: String::new(),
            password: String::new(),
            env: None,
        });
    }
    let role = col(3);
    if role.is_empty() {
        return Err("Column 'role' is mandatory".into());
    }
    if role.contains(',') || role.contains('|') {
        return Err("A user has exactly one role".into());
    }
    let env_role = EnvRole::parse(&role);
    if role != EVA_ADMIN && env_role.is_none() {
        return Err(format!(
            "Role '{role}' is not one of ADMIN, SUPERVISOR, EDITOR, VIEWER"
        ));
    }
    let env = if let Some(env_role) = env_role {
        for (i, name) in [(5, "environmentUuid"), (6, "environmentName")] {
            if col(i).is_empty() {
                return Err(format!("Column '{name}' is mandatory for role {role}"));
            }
        }
        if env_role.needs_bots() && col(7).is_empty() {
            return Err(format!("Column 'bot' is mandatory for role {role}"));
        }
        let bots = if col(7).is_empty() {
            Vec::new()
        } else {
            vec![col(7)]
        };
        Some(EnvInput {
            role: Some(env_role),
            environment_uuid: col(5),
            bots,
        })
    } else {
        None
    };
    Ok(Row {
        key: line.key(),
        email,
        name: col(1),
        company: col(2),
        role,
        password: col(4),
        env,
    })
}

impl Core {
    pub(super) fn check_env_name(
        catalog: &super::eva::Catalog,
        line: &Line,
        env: &EnvInput,
    ) -> std::result::Result<(), String> {
        let name = line
            .fields
            .as_ref()
            .ok()
            .and_then(|f| f.get(6))
            .cloned()
            .unwrap_or_default();
        match catalog.env(&env.environment_uuid) {
            Some(e) if e.name != name => Err(format!(
                "Environment name '{name}' does not belong to environment {}",
                e.uuid
            )),
            _ => Ok(()),
        }
    }

    /// Deactivates the users named in the first column (eva's delete, row by row).
    pub async fn bulk_delete(
        &self,
        ctx: &Context,
        org_ref: &str,
        lines: Vec<Line>,
    ) -> Result<BulkOutcome> {
        let org = self.find_org(org_ref).await?;
        ctx.access(&org)?.require_org(perm::USER_DELETE)?;
        if lines.is_empty() {
            return Err(Error::field(
                Location::Body,
                "file",
                "empty",
                "no users to delete",
            ));
        }
        let mut out = BulkOutcome::default();
        for line in &lines {
            let row = match read_row(line, false) {
                Ok(r) => r,
                Err(reason) => {
                    out.errors.push((line.key(), reason));
                    continue;
                }
            };
            let mut q = UserQuery::new(1);
            q.emails_lower = vec![row.email.lower.clone()];
            q.exclude_inactive = true;
            let Some(user) = self.store.list_users(&org.id, &q).await?.into_iter().next() else {
                out.errors
                    .push((row.key, "User not found in this organization".into()));
                continue;
            };
            match self.eva_delete(ctx, &org.id, &user.id).await {
                Ok(()) => out.applied += 1,
                Err(Error::Internal(e)) => return Err(Error::Internal(e)),
                Err(e @ Error::Unavailable { .. }) => return Err(e),
                Err(e) => out.errors.push((row.key, e.to_string())),
            }
        }
        Ok(out)
    }

    /// Grants (or revokes) environment roles and bots from a bulk-create-shaped file. Revoking a
    /// row with an empty `bot` removes the whole environment.
    pub async fn bulk_permissions(
        &self,
        ctx: &Context,
        org_ref: &str,
        csv: &[u8],
        grant: bool,
    ) -> Result<BulkOutcome> {
        let org = self.find_org(org_ref).await?;
        let access = ctx.access(&org)?;
        access.require_org(perm::USER_UPDATE)?;
        let lines = import::parse(csv, 4);
        if lines.is_empty() {
            return Err(Error::field(
                Location::Body,
                "file",
                "empty",
                "the file holds no rows",
            ));
        }
        let catalog = self.catalog(&org.id).await?;
        let roles = self.store.list_roles(&org.id).await?;
        let mut out = BulkOutcome::default();
        let mut cache: HashMap<String, (User, Vec<EnvAccess>)> = HashMap::new();
        for line in &lines {
            let mut outage: Option<Error> = None;
            let result: std::result::Result<(), String> = async {
                let row = read_row(line, true)?;
                let env = row
                    .env
                    .clone()
                    .ok_or("Environment permissions are not given to the ADMIN role")?;
                // `read_row` reads an environment only under an environment role.
                let env_role = env.role.ok_or("Role not found")?;
                if grant {
                    Self::check_env_name(&catalog, line, &env)?;
                    catalog
                        .check(false, std::slice::from_ref(&env), "environments")
                        .map_err(|errs| {
                            errs.into_iter()
                                .map(|e| e.message)
                                .collect::<Vec<_>>()
                                .join("; ")
                        })?;
                }
                if !cache.contains_key(&row.email.lower) {
                    let mut q = UserQuery::new(1);
                    q.emails_lower = vec![row.email.lower.clone()];
                    q.exclude_inactive = true;
                    let user = self
                        .store
                        .list_users(&org.id, &q)
                        .await
                        .map_err(|e| row_error(&mut outage, e))?
                        .into_iter()
                        .next();
                    let user = user.ok_or("User not found in this organization")?;
                    let envs = self
                        .store
                        .env_access(&org.id, std::slice::from_ref(&user.id))
                        .await
                        .map_err(|e| row_error(&mut outage, e))?;
                    cache.insert(
                        row.email.lower.clone(),
                        (user, envs.into_iter().map(|(_, a)| a).collect()),
                    );
                }
                let (user, envs) = cache
                    .get_mut(&row.email.lower)
                    .ok_or("User not found in this organization")?;
                if user.is_admin {
                    return Err("Admins reach every environment already".into());
                }
                let mut next = envs.clone();
                if grant {
                    match next
                        .iter_mut()
                        .find(|e| e.environment_uuid == env.environment_uuid)
                    {
                        Some(e) => {
                            e.role = env_role;
                            for b in &env.bots {
                                if !e.bots.contains(b) {
                                    e.bots.push(b.clone());
                                }
                            }
                        }
                        None => next.push(EnvAccess {
                            environment_uuid: env.environment_uuid.clone(),
                            role: env_role,
                            bots: env.bots.clone(),
                        }),
                    }
                } else {
                    let Some(pos) = next
                        .iter()
                        .position(|e| e.environment_uuid == env.environment_uuid)
                    else {
                        return Err(format!(
                            "The user has no access to environment {}",
                            env.environment_uuid
                        ));
                    };
                    if env.bots.is_empty() {
                        next.remove(pos);
                    } else {
                        next[pos].bots.retain(|b| !env.bots.contains(b));
                        // An editor or viewer without bots has no access left in that environment.
                        if next[pos].role.needs_bots() && next[pos].bots.is_empty() {
                            next.remove(pos);
                        }
                    }
                    if next.is_empty() {
                        return Err("Revoking this would leave the user without any environment; delete the user instead".into());
                    }
                }
                let role = org_role(&roles, false, &next).cloned();
                let role_ids: Vec<String> = role.iter().map(|r| r.id.clone()).collect();
                if let Some(r) = &role {
                    if !access.appoints(&r.grants) {
                        return Err(format!("The caller does not outrank role {}", r.name));
                    }
                }
                let names = super::access::names_of(&roles, &user.role_ids);
                let target = access.target(user, &names);
                access.require_on(perm::USER_UPDATE, &target).map_err(|e| e.to_string())?;
                // As for a single update: changing someone needs a rank above their current roles.
                if !target.is_self && !access.appoints(&super::access::grants_of(&roles, &user.role_ids)) {
                    return Err("The caller does not outrank the user's current role".into());
                }
                let fx = Effects::audit(self.audit(
                    ctx,
                    &org.id,
                    if grant {
                        "user.bulk_grant"
                    } else {
                        "user.bulk_revoke"
                    },
                    Some(&user.id),
                    json!({ "environment": env.environment_uuid }),
                ));
                self.store
                    .set_user_access(&org.id, &user.id, &role_ids, &next, fx)
                    .await
                    .map_err(|e| row_error(&mut outage, e))?;
                user.role_ids = role_ids;
                *envs = next;
                Ok(())
            }
            .await;
            if let Some(e) = outage {
                return Err(e);
            }
            match result {
                Ok(()) => out.applied += 1,
                Err(reason) => out.errors.push((line.key(), reason)),
            }
        }
        Ok(out)
    }
}

/// A store error met by a row of bulk-permissions, as the row's reason; an outage (or an
/// internal failure) is kept in `outage` instead, and stops the request: 503 with
/// `Retry-After` (or 500), never a row error. Each row is its own transaction, so a stopped
/// request leaves no row half-written.
fn row_error(outage: &mut Option<Error>, e: crate::store::StoreError) -> String {
    match Error::from(e) {
        e @ (Error::Unavailable { .. } | Error::Internal(_)) => {
            let reason = e.to_string();
            *outage = Some(e);
            reason
        }
        e => e.to_string(),
    }
}

/// The field error a bulk request without a usable file gets.
pub fn missing_file() -> Error {
    Error::Validation(vec![FieldError::new(
        Location::Body,
        "file",
        "missing",
        "a multipart part named 'file' is required",
    )])
}
