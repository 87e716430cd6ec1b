//! eva's bulk operations from CSV files: create, delete, and grant or revoke environment access.
//! Rows are independent: a bad row is reported under its email (or `line N`) with the rule it
//! breaks, and the good rows are applied, in transactional batches.

use std::collections::{HashMap, HashSet};

use serde_json::json;

use super::access::Context;
use super::eva::{org_role, EnvInput, ENV_ROLES, EVA_ADMIN};
use super::Core;
use crate::error::{Error, FieldError, Location, Result};
use crate::import::{self, Line};
use crate::model::*;
use crate::paging::UserQuery;
use crate::permissions::perm;
use crate::store::{Effects, NewIdentity};
use crate::types::*;

/// How many rows were applied, and the errors of the others as `(email or "line N", reason)`.
#[derive(Debug, Clone, Default)]
pub struct BulkOutcome {
    pub applied: usize,
    pub errors: Vec<(String, String)>,
}

const BATCH: usize = 1000;
/// A bulk import this large refreshes the planner's statistics before it answers.
const REFRESH_STATISTICS_AFTER: usize = 5_000;
const ALREADY: &str = "A user with this email already exists in the organization";

struct Row {
    key: String,
    email: Email,
    name: String,
    company: String,
    role: String,
    password: String,
    env: Option<EnvInput>,
}

/// Reads a line into a row, checking what needs no database: email, name, role and the
/// columns that role requires.
fn read_row(line: &Line, full: bool) -> std::result::Result<Row, String> {
    let f = line.fields.clone()?;
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
    if role != EVA_ADMIN && !ENV_ROLES.contains(&role.as_str()) {
        return Err(format!(
            "Role '{role}' is not one of ADMIN, SUPERVISOR, EDITOR, VIEWER"
        ));
    }
    let env = if role == EVA_ADMIN {
        None
    } else {
        for (i, name) in [(5, "environmentUuid"), (6, "environmentName")] {
            if col(i).is_empty() {
                return Err(format!("Column '{name}' is mandatory for role {role}"));
            }
        }
        if role != "SUPERVISOR" && col(7).is_empty() {
            return Err(format!("Column 'bot' is mandatory for role {role}"));
        }
        let bots = if col(7).is_empty() {
            Vec::new()
        } else {
            vec![col(7)]
        };
        Some(EnvInput {
            role: role.clone(),
            environment_uuid: col(5),
            bots,
        })
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

/// Waits for a written batch and counts its rows: applied, or already in the organization.
async fn tally(
    out: &mut BulkOutcome,
    (write, keys): (tokio::task::JoinHandle<Result<Vec<bool>>>, Vec<String>),
) -> Result<()> {
    let inserted = write
        .await
        .map_err(|e| Error::Internal(anyhow::anyhow!("bulk insert task: {e}")))??;
    for (key, ok) in keys.into_iter().zip(inserted) {
        if ok {
            out.applied += 1;
        } else {
            out.errors.push((key, ALREADY.into()));
        }
    }
    Ok(())
}

impl Core {
    fn check_env_name(
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

    /// Creates the users of a bulk-create file; rows already present are reported, not changed.
    pub async fn bulk_create(
        &self,
        ctx: &Context,
        org_ref: &str,
        csv: &[u8],
        language: &str,
    ) -> Result<BulkOutcome> {
        super::eva::check_language(language)?;
        let org = self.find_org(org_ref).await?;
        let access = ctx.access(&org)?;
        // Invitations are checked per role on each row; a caller who may invite into none of eva's
        // roles is refused outright.
        let may_invite = |role: &str| {
            let names = [role.to_owned()];
            access.can(
                perm::USER_INVITE,
                &crate::permissions::Target {
                    user_id: None,
                    is_self: false,
                    role_names: &names,
                },
            )
        };
        if ![EVA_ADMIN, "SUPERVISOR", "EDITOR", "VIEWER"]
            .iter()
            .any(|r| may_invite(r))
        {
            return Err(Error::forbidden(format!(
                "missing required permission {}",
                perm::USER_INVITE
            )));
        }
        let lines = import::parse(csv, import::COLUMNS.len());
        if lines.is_empty() {
            return Err(Error::field(
                Location::Body,
                "file",
                "empty",
                "the file holds no users",
            ));
        }
        let catalog = self.catalog(&org.id).await?;
        let roles = self.store.list_roles(&org.id).await?;
        let mut out = BulkOutcome::default();
        let mut seen = HashSet::new();
        // Rows hold a reference to their role: a clone of its grants per row would cost megabytes.
        let mut good: Vec<(Row, Vec<EnvAccess>, &Role)> = Vec::new();
        for line in &lines {
            let checked = read_row(line, true).and_then(|row| {
                if row.name.is_empty() {
                    return Err("Column 'name' is mandatory".into());
                }
                if !row.password.is_empty() {
                    crate::password::check_policy(&row.password, "password").map_err(|e| {
                        format!("Password does not meet the password policy: {}", e.message)
                    })?;
                }
                let envs = match &row.env {
                    None => Vec::new(),
                    Some(env) => {
                        Self::check_env_name(&catalog, line, env)?;
                        catalog
                            .check(false, std::slice::from_ref(env), "environments")
                            .map_err(|errs| {
                                errs.into_iter()
                                    .map(|e| e.message)
                                    .collect::<Vec<_>>()
                                    .join("; ")
                            })?
                    }
                };
                let role =
                    org_role(&roles, row.role == EVA_ADMIN, &envs).ok_or("Role not found")?;
                if !may_invite(&role.name) {
                    return Err(format!("The caller may not invite into role {}", role.name));
                }
                if !access.appoints(&role.grants) {
                    return Err(format!("The caller does not outrank role {}", row.role));
                }
                // Last, so that an invalid first line does not block a valid later one.
                if !seen.insert(row.email.lower.clone()) {
                    return Err("The email appears more than once in the file".to_owned());
                }
                Ok((row, envs, role))
            });
            match checked {
                Ok(g) => good.push(g),
                Err(reason) => out.errors.push((line.key(), reason)),
            }
        }
        // Users already in the organization are reported before anything is hashed or queued.
        let mut fresh = Vec::with_capacity(good.len());
        for chunk in good.chunks(BATCH) {
            let emails: Vec<String> = chunk
                .iter()
                .map(|(row, _, _)| row.email.lower.clone())
                .collect();
            let present: HashSet<String> = self
                .store
                .existing_emails(&org.id, &emails)
                .await?
                .into_iter()
                .collect();
            for g in chunk {
                if present.contains(&g.0.email.lower) {
                    out.errors.push((g.0.key.clone(), ALREADY.into()));
                } else {
                    fresh.push(g);
                }
            }
        }
        let good = fresh;
        // Passwords are hashed concurrently; the hasher bounds the work, and an import waits its
        // turn rather than failing when sign-ins keep the slots busy.
        let passwords = &self.passwords;
        let hashes = futures::future::join_all(good.iter().map(|(row, _, _)| async move {
            if row.password.is_empty() {
                Ok(None)
            } else {
                passwords.hash_queued(&row.password).await.map(Some)
            }
        }))
        .await;
        let now = self.now();
        let rows: Vec<_> = good.into_iter().zip(hashes).collect();
        // One batch is written while the next is built: the database and the CPU work at once,
        // and batches still commit one after another, in file order.
        type Written = (tokio::task::JoinHandle<Result<Vec<bool>>>, Vec<String>);
        let mut in_flight: Option<Written> = None;
        for chunk in rows.chunks(BATCH) {
            let mut batch: Vec<(NewIdentity, User, Vec<EnvAccess>)> = Vec::new();
            let mut keys: Vec<String> = Vec::new();
            let mut fx = Effects::default();
            // One rule for the batch's joined identities, applied in one statement.
            let on_join = super::instructions::on_join();
            for ((row, envs, role), hash) in chunk {
                let (first, last) = split_name(&row.name);
                let user = User {
                    status: UserStatus::Active,
                    is_admin: role.is_admin,
                    preferences: org.default_preferences.clone(),
                    company: (!row.company.is_empty()).then_some(row.company.clone()),
                    role_ids: vec![role.id.clone()],
                    ..User::new(&org.id, &row.email.display, &first, &last, now)
                };
                let hash = match hash {
                    Ok(h) => h.clone(),
                    Err(e) => {
                        return Err(Error::Internal(anyhow::anyhow!("hashing a password: {e}")))
                    }
                };
                let identity = NewIdentity {
                    password_hash: hash,
                    on_join,
                    ..NewIdentity::for_user(&user, false)
                };
                fx.outbox.push(self.welcome(&org, &user, language, now));
                batch.push((identity, user, envs.clone()));
                keys.push(row.key.clone());
            }
            if batch.is_empty() {
                continue;
            }
            fx.audit.push(self.audit(
                ctx,
                &org.id,
                "user.bulk_create",
                None,
                json!({ "rows": batch.len() }),
            ));
            if let Some(previous) = in_flight.take() {
                tally(&mut out, previous).await?;
            }
            let store = self.store.clone();
            let write =
                tokio::spawn(
                    async move { store.insert_users(batch, fx).await.map_err(Error::from) },
                );
            in_flight = Some((write, keys));
        }
        if let Some(last) = in_flight {
            tally(&mut out, last).await?;
        }
        if out.applied >= REFRESH_STATISTICS_AFTER {
            self.store.refresh_statistics().await?;
        }
        Ok(out)
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
                            e.role = env.role.clone();
                            for b in &env.bots {
                                if !e.bots.contains(b) {
                                    e.bots.push(b.clone());
                                }
                            }
                        }
                        None => next.push(EnvAccess {
                            environment_uuid: env.environment_uuid.clone(),
                            role: env.role.clone(),
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
                        if next[pos].role != "SUPERVISOR" && next[pos].bots.is_empty() {
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
