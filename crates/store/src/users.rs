//! Users: memberships of identities in organizations, their profiles, variables and
//! statistics, and what authentication reads of them.

use async_trait::async_trait;
use roster_domain::model::*;
use roster_domain::paging::{UserQuery, Visibility};
use roster_domain::store::{Effects, NewIdentity, PrincipalRecord, Refusal, StoreError, UserStore};
use roster_domain::types::Micros;
use roster_domain::types::OrgId;
use roster_domain::types::UserId;
use serde_json::json;

use crate::bulk_rows::ROWS_PER_STATEMENT;
use crate::effects::write_effects;
use crate::listing::{search_plan, users_filtered, users_sql, ROLE_SEPARATOR};
use crate::rows::*;
use crate::sql::{bind_all, Sql};
use crate::stmt::{
    count_admins, insert_user, join_identity, keep_an_admin, lock_org, update_user_row, AsTx,
};
use crate::{err, json_err, run, tx, SqlStore, R};

#[async_trait]
impl UserStore for SqlStore {
    async fn insert_user(
        &self,
        identity: NewIdentity,
        user: User,
        secrets: &[(String, String)],
        fx: Effects,
    ) -> R<User> {
        let (db, fx, rest) = self.route_write(&user.org_id, fx).await?;
        let user = tx!(db, |t| {
            let user = join_identity(&mut t.tx(), &identity, &user).await?;
            insert_user(&mut t.tx(), &user).await?;
            for (name, value) in secrets {
                sqlx::query("INSERT INTO user_secrets (org_id, user_id, name, value) VALUES ($1, $2, $3, $4)")
                    .bind(user.org_id.as_str())
                    .bind(user.id.as_str())
                    .bind(name)
                    .bind(value)
                    .execute(&mut *t)
                    .await
                    .map_err(err)?;
            }
            write_effects(&mut t.tx(), &fx).await?;
            user
        });
        self.elsewhere(rest).await?;
        Ok(user)
    }

    /// On PostgreSQL one statement of one array whatever the number of emails; on SQLite
    /// statements of at most 1,000, each shape prepared once.
    async fn existing_emails(&self, org_id: &OrgId, emails_lower: &[String]) -> R<Vec<String>> {
        let db = self.route(org_id).await?;
        match db {
            crate::Db::Postgres(pool) => sqlx::query_scalar(
                "SELECT email_lower FROM users WHERE org_id = $1 AND email_lower = ANY($2)",
            )
            .bind(org_id.as_str())
            .bind(emails_lower)
            .fetch_all(pool)
            .await
            .map_err(err),
            crate::Db::Sqlite { read, .. } => {
                let mut out = Vec::new();
                for chunk in emails_lower.chunks(ROWS_PER_STATEMENT) {
                    let mut sql = Sql::new("SELECT email_lower FROM users WHERE org_id = ");
                    sql.text(org_id).push(" AND ").in_list("email_lower", chunk);
                    let q = crate::sql::query_scalar::<sqlx::Sqlite, String>(&sql);
                    out.extend(
                        bind_all!(q, sql.args)
                            .persistent(chunk.len() == ROWS_PER_STATEMENT)
                            .fetch_all(read)
                            .await
                            .map_err(err)?,
                    );
                }
                Ok(out)
            }
        }
    }

    /// PostgreSQL's autovacuum analyzes a table some time after it changed; a bulk import of
    /// thousands of users should not leave the planner guessing until then. SQLite's user
    /// queries do not depend on statistics (their plans are fixed), so it does nothing there.
    async fn get_user(&self, org_id: &OrgId, user_id: &UserId) -> R<Option<User>> {
        let mut q = UserQuery::new(1);
        q.ids = vec![user_id.clone()];
        Ok(self.list_users(org_id, &q).await?.into_iter().next())
    }

    async fn list_users(&self, org_id: &OrgId, q: &UserQuery) -> R<Vec<User>> {
        let db = self.route(org_id).await?;
        let plan = search_plan(db, q, false).await?;
        let sql = users_sql(db, org_id, q, plan)?;
        let users = run!(db, |p| {
            let rows = bind_all!(crate::sql::query(&sql), sql.args)
                .fetch_all(p)
                .await
                .map_err(err)?;
            let mut out = Vec::with_capacity(rows.len());
            for r in &rows {
                let mut u = user_from!(r);
                let roles: Option<String> = get!(r, "role_list");
                u.role_ids = roles
                    .map(|l| l.split(ROLE_SEPARATOR).map(str::to_owned).collect())
                    .unwrap_or_default();
                u.role_ids.sort();
                out.push(u);
            }
            out
        });
        Ok(users)
    }

    async fn count_users(&self, org_id: &OrgId, q: &UserQuery) -> R<i64> {
        let db = self.route(org_id).await?;
        // Every filter is named here, so that a new one cannot slip past the counters.
        let UserQuery {
            ids,
            emails_lower,
            is_verified,
            contains,
            exclude_inactive,
            status,
            contains_company: _,
            name_contains,
            name_prefix,
            filter,
            visibility,
            page: _,
        } = q;
        let by_status_only = ids.is_empty()
            && emails_lower.is_empty()
            && contains.is_none()
            && name_contains.is_none()
            && name_prefix.is_none()
            && filter.is_none()
            && matches!(visibility, Visibility::All);
        if by_status_only {
            // The counters the triggers of migration 0006 keep per organization and status.
            let mut sql = Sql::new(
                "SELECT CAST(COALESCE(SUM(n), 0) AS BIGINT) FROM user_counts WHERE org_id = ",
            );
            sql.text(org_id);
            match is_verified {
                Some(true) => sql.push(" AND status <> 'invited'"),
                Some(false) => sql.push(" AND status = 'invited'"),
                None => &mut sql,
            };
            if *exclude_inactive {
                sql.push(" AND status <> 'inactive'");
            }
            if let Some(s) = status {
                sql.push(" AND status = ").text(s.as_str());
            }
            return run!(db, |p| bind_all!(
                crate::sql::query_scalar::<_, i64>(&sql),
                sql.args
            )
            .fetch_one(p)
            .await
            .map_err(err));
        }
        let plan = search_plan(db, q, true).await?;
        let sql = users_filtered(db, "COUNT(*)", org_id, q, plan);
        run!(db, |p| bind_all!(crate::sql::query_scalar(&sql), sql.args)
            .fetch_one(p)
            .await
            .map_err(err))
    }

    async fn user_version(&self, org_id: &OrgId) -> R<i64> {
        let db = self.route(org_id).await?;
        // The triggers of migration 0018 keep it.
        let sql = "SELECT CAST(COALESCE(MAX(version), 0) AS BIGINT) FROM user_versions \
                   WHERE org_id = $1";
        run!(db, |p| sqlx::query_scalar::<_, i64>(sql)
            .bind(org_id.as_str())
            .fetch_one(p)
            .await
            .map_err(err))
    }

    async fn update_user(
        &self,
        u: &User,
        expected_updated_at: Micros,
        sessions_end: Option<Micros>,
        fx: Effects,
    ) -> R<()> {
        let (db, fx, rest) = self.route_write(&u.org_id, fx).await?;
        tx!(db, |t| {
            // Always under the organization's lock: whether this user is an administrator is
            // read now, not from the copy the caller loaded earlier.
            lock_org(&mut t.tx(), &u.org_id).await?;
            let before = count_admins(&mut t.tx(), &u.org_id).await?;
            update_user_row(&mut t.tx(), u, expected_updated_at, sessions_end).await?;
            keep_an_admin(&mut t.tx(), &u.org_id, before).await?;
            write_effects(&mut t.tx(), &fx).await?;
        });
        self.elsewhere(rest).await
    }

    async fn delete_user(
        &self,
        org_id: &OrgId,
        user_id: &UserId,
        soft: Option<Vec<String>>,
        now: Micros,
        fx: Effects,
    ) -> R<()> {
        let (db, fx, rest) = self.route_write(org_id, fx).await?;
        let snapshot = match &soft {
            Some(_) => self.get_user(org_id, user_id).await?.map(|u| {
                json!({
                    "first_name": u.first_name, "last_name": u.last_name, "email": u.email,
                    "role_ids": u.role_ids, "created_at": u.created_at,
                    "user_stats": { "num_conversations": u.stats.num_conversations, "num_messages": u.stats.num_messages,
                                    "last_message_at": u.stats.last_message_at },
                })
            }),
            None => None,
        };
        tx!(db, |t| {
            lock_org(&mut t.tx(), org_id).await?;
            let before = count_admins(&mut t.tx(), org_id).await?;
            let identity: Option<String> =
                sqlx::query_scalar("SELECT identity_id FROM users WHERE org_id = $1 AND id = $2")
                    .bind(org_id.as_str())
                    .bind(user_id.as_str())
                    .fetch_optional(&mut *t)
                    .await
                    .map_err(err)?;
            let Some(identity) = identity else {
                return Err(StoreError::NotFound);
            };
            if let (Some(reasons), Some(snap)) = (&soft, &snapshot) {
                let email = snap["email"].as_str().unwrap_or_default().to_owned();
                sqlx::query(
                    "INSERT INTO deleted_users (org_id, id, identity_id, email, snapshot, not_deletable_reasons, deleted_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(org_id.as_str())
                .bind(user_id.as_str())
                .bind(&identity)
                .bind(email)
                .bind(snap.to_string())
                .bind(serde_json::to_string(reasons).map_err(json_err)?)
                .bind(now)
                .execute(&mut *t)
                .await
                .map_err(err)?;
            }
            let mut tables = vec![
                "user_roles",
                "user_environments",
                "user_environment_bots",
                "configurations",
                "user_secrets",
                "one_time_tokens",
                "temporary_grants",
                "upstream_links",
            ];
            if soft.is_none() {
                tables.extend(["memories", "user_models"]);
            }
            for table in tables {
                sqlx::query(&format!(
                    "DELETE FROM {table} WHERE org_id = $1 AND user_id = $2"
                ))
                .bind(org_id.as_str())
                .bind(user_id.as_str())
                .execute(&mut *t)
                .await
                .map_err(err)?;
            }
            sqlx::query("DELETE FROM users WHERE org_id = $1 AND id = $2")
                .bind(org_id.as_str())
                .bind(user_id.as_str())
                .execute(&mut *t)
                .await
                .map_err(err)?;
            // A membership fewer is a change of the identity too (see `stmt::apply_join`).
            sqlx::query("UPDATE identities SET epoch = epoch + 1 WHERE id = $1")
                .bind(&identity)
                .execute(&mut *t)
                .await
                .map_err(err)?;
            sqlx::query(
                "DELETE FROM identities WHERE id = $1 AND NOT EXISTS (SELECT 1 FROM users WHERE identity_id = $2) \
                 AND NOT EXISTS (SELECT 1 FROM deleted_users WHERE identity_id = $3)",
            )
            .bind(&identity)
            .bind(&identity)
            .bind(&identity)
            .execute(&mut *t)
            .await
            .map_err(err)?;
            keep_an_admin(&mut t.tx(), org_id, before).await?;
            write_effects(&mut t.tx(), &fx).await?;
        });
        self.elsewhere(rest).await
    }

    async fn modify_variables(
        &self,
        org_id: &OrgId,
        user_id: &UserId,
        upserts: &[(String, String, bool)],
        deletes: &[String],
        max_each: usize,
        fx: Effects,
    ) -> R<()> {
        let (db, fx, rest) = self.route_write(org_id, fx).await?;
        tx!(db, |t| {
            // Takes the row lock on PostgreSQL before reading.
            sqlx::query("UPDATE users SET updated_at = updated_at WHERE org_id = $1 AND id = $2")
                .bind(org_id.as_str())
                .bind(user_id.as_str())
                .execute(&mut *t)
                .await
                .map_err(err)?;
            let row: Option<(String, String)> =
                sqlx::query_as("SELECT nonsensitive_variables, sensitive_names FROM users WHERE org_id = $1 AND id = $2")
                    .bind(org_id.as_str())
                    .bind(user_id.as_str())
                    .fetch_optional(&mut *t)
                    .await
                    .map_err(err)?;
            let Some((plain, secret)) = row else {
                return Err(StoreError::NotFound);
            };
            let mut plain: std::collections::BTreeMap<String, String> =
                serde_json::from_str(&plain).map_err(json_err)?;
            let mut secret: Vec<String> = serde_json::from_str(&secret).map_err(json_err)?;
            for name in deletes {
                let had = plain.remove(name).is_some() | secret.contains(name);
                if !had {
                    return Err(StoreError::Refused(Refusal::VariableMissing(name.clone())));
                }
                secret.retain(|s| s != name);
            }
            for (name, value, is_secret) in upserts {
                if *is_secret {
                    plain.remove(name);
                    if !secret.contains(name) {
                        secret.push(name.clone());
                    }
                } else {
                    secret.retain(|s| s != name);
                    plain.insert(name.clone(), value.clone());
                }
            }
            if plain.len() > max_each || secret.len() > max_each {
                return Err(StoreError::Refused(Refusal::VariableLimit));
            }
            secret.sort();
            sqlx::query("UPDATE users SET nonsensitive_variables = $1, sensitive_names = $2 WHERE org_id = $3 AND id = $4")
                .bind(serde_json::to_string(&plain).map_err(json_err)?)
                .bind(serde_json::to_string(&secret).map_err(json_err)?)
                .bind(org_id.as_str())
                .bind(user_id.as_str())
                .execute(&mut *t)
                .await
                .map_err(err)?;
            let mut gone: Vec<&String> = deletes.iter().collect();
            gone.extend(upserts.iter().filter(|u| !u.2).map(|u| &u.0));
            for name in gone {
                sqlx::query(
                    "DELETE FROM user_secrets WHERE org_id = $1 AND user_id = $2 AND name = $3",
                )
                .bind(org_id.as_str())
                .bind(user_id.as_str())
                .bind(name)
                .execute(&mut *t)
                .await
                .map_err(err)?;
            }
            for (name, value, _) in upserts.iter().filter(|u| u.2) {
                sqlx::query(
                    "INSERT INTO user_secrets (org_id, user_id, name, value) VALUES ($1, $2, $3, $4) \
                     ON CONFLICT (org_id, user_id, name) DO UPDATE SET value = excluded.value",
                )
                .bind(org_id.as_str())
                .bind(user_id.as_str())
                .bind(name)
                .bind(value)
                .execute(&mut *t)
                .await
                .map_err(err)?;
            }
            write_effects(&mut t.tx(), &fx).await?;
        });
        self.elsewhere(rest).await
    }

    async fn set_user_stats(
        &self,
        org_id: &OrgId,
        user_id: &UserId,
        s: &UserStats,
        fx: Effects,
    ) -> R<()> {
        let (db, fx, rest) = self.route_write(org_id, fx).await?;
        tx!(db, |t| {
            let done = sqlx::query("UPDATE users SET num_conversations = $1, num_messages = $2, last_message_at = $3 WHERE org_id = $4 AND id = $5")
                .bind(s.num_conversations)
                .bind(s.num_messages)
                .bind(s.last_message_at.unwrap_or(0))
                .bind(org_id.as_str())
                .bind(user_id.as_str())
                .execute(&mut *t)
                .await
                .map_err(err)?;
            if done.rows_affected() == 0 {
                return Err(StoreError::NotFound);
            }
            write_effects(&mut t.tx(), &fx).await?;
        });
        self.elsewhere(rest).await
    }

    async fn end_member_sessions(
        &self,
        org_id: &OrgId,
        user_id: &UserId,
        at: i64,
        fx: Effects,
    ) -> R<()> {
        let (db, fx, rest) = self.route_write(org_id, fx).await?;
        tx!(db, |t| {
            sqlx::query(
                "UPDATE users SET sessions_valid_after = CASE WHEN sessions_valid_after > $1 \
                 THEN sessions_valid_after ELSE $2 END WHERE org_id = $3 AND id = $4",
            )
            .bind(at)
            .bind(at)
            .bind(org_id.as_str())
            .bind(user_id.as_str())
            .execute(&mut *t)
            .await
            .map_err(err)?;
            write_effects(&mut t.tx(), &fx).await?;
        });
        self.elsewhere(rest).await
    }

    async fn load_principal(
        &self,
        org_id: &OrgId,
        user_id: &UserId,
        now: i64,
    ) -> R<Option<PrincipalRecord>> {
        let db = self.route(org_id).await?;
        run!(db, |p| {
            let row = sqlx::query(
                "SELECT u.identity_id, u.status, CASE WHEN u.sessions_valid_after > i.sessions_valid_after THEN u.sessions_valid_after \
                 ELSE i.sessions_valid_after END AS sessions_valid_after, o.is_platform FROM users u \
                 JOIN identities i ON i.id = u.identity_id JOIN organizations o ON o.id = u.org_id \
                 WHERE u.org_id = $1 AND u.id = $2",
            )
            .bind(org_id.as_str())
            .bind(user_id.as_str())
            .fetch_optional(p)
            .await
            .map_err(err)?;
            let Some(r) = row else { return Ok(None) };
            let status: String = get!(&r, "status");
            let roles: Vec<(String, String)> = sqlx::query_as(
                "SELECT r.name, r.grants FROM user_roles ur JOIN roles r ON r.org_id = ur.org_id AND r.id = ur.role_id \
                 WHERE ur.org_id = $1 AND ur.user_id = $2 ORDER BY r.name",
            )
            .bind(org_id.as_str())
            .bind(user_id.as_str())
            .fetch_all(p)
            .await
            .map_err(err)?;
            let temp: Vec<(String, String)> = sqlx::query_as(
                "SELECT permission_name, conditions FROM temporary_grants WHERE org_id = $1 AND user_id = $2 AND expires_at > $3",
            )
            .bind(org_id.as_str())
            .bind(user_id.as_str())
            .bind(now)
            .fetch_all(p)
            .await
            .map_err(err)?;
            let mut grants: Vec<Grant> = Vec::new();
            for (_, g) in &roles {
                for g in serde_json::from_str::<Vec<Grant>>(g).map_err(json_err)? {
                    if !grants.contains(&g) {
                        grants.push(g);
                    }
                }
            }
            let mut temporary_grants = Vec::new();
            for (name, conditions) in temp {
                temporary_grants.push(Grant {
                    permission_name: name,
                    conditions: serde_json::from_str(&conditions).map_err(json_err)?,
                });
            }
            Ok(Some(PrincipalRecord {
                org_id: String::from(org_id.to_owned()),
                org_is_platform: get!(&r, "is_platform"),
                user_id: String::from(user_id.to_owned()),
                identity_id: get!(&r, "identity_id"),
                status: UserStatus::parse(&status),
                sessions_valid_after: get!(&r, "sessions_valid_after"),
                role_names: roles.into_iter().map(|r| r.0).collect(),
                grants,
                temporary_grants,
            }))
        })
    }
}
