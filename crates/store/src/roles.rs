//! Roles, who holds them (with the last-administrator guard), and temporary grants.

use async_trait::async_trait;
use roster_domain::model::{EnvRole, Role, TemporaryGrant};
use roster_domain::paging::GrantQuery;
use roster_domain::store::{Effects, Refusal, RoleStore, StoreError};
use roster_domain::types::OrgId;
use roster_domain::types::UserId;

use crate::effects::write_effects;
use crate::listing::{keyset_and_order, limit_offset};
use crate::rows::*;
use crate::sql::{bind_all, Arg, Sql};
use crate::stmt::{count_admins, insert_role, keep_an_admin, lock_org, replace_roles, AsTx};
use crate::{err, json_err, run, tx, Db, SqlStore, R};

#[async_trait]
impl RoleStore for SqlStore {
    async fn list_roles(&self, org_id: &OrgId) -> R<Vec<Role>> {
        let db = self.route(org_id).await?;
        let sql =
            format!("SELECT {ROLE_COLS} FROM roles WHERE org_id = $1 ORDER BY created_at, name");
        run!(db, |p| {
            let rows = sqlx::query(&sql)
                .bind(org_id.as_str())
                .fetch_all(p)
                .await
                .map_err(err)?;
            let mut out = Vec::with_capacity(rows.len());
            for r in &rows {
                out.push(role_from!(r));
            }
            Ok(out)
        })
    }

    async fn insert_role(&self, role: &Role, fx: Effects) -> R<()> {
        let (db, fx, rest) = self.route_write(&role.org_id, fx).await?;
        tx!(db, |t| {
            insert_role(&mut t.tx(), role).await?;
            write_effects(&mut t.tx(), &fx).await?;
        });
        self.elsewhere(rest).await
    }

    async fn update_role(&self, role: &Role, expected_updated_at: i64, fx: Effects) -> R<()> {
        let (db, fx, rest) = self.route_write(&role.org_id, fx).await?;
        tx!(db, |t| {
            lock_org(&mut t.tx(), &OrgId::from(&role.org_id)).await?;
            let before = count_admins(&mut t.tx(), &OrgId::from(&role.org_id)).await?;
            let done = sqlx::query(
                "UPDATE roles SET description = $1, frontend_view = $2, grants = $3, is_admin = $4, updated_at = $5 \
                 WHERE org_id = $6 AND id = $7 AND updated_at = $8",
            )
            .bind(&role.description)
            .bind(&role.frontend_view)
            .bind(serde_json::to_string(&role.grants).map_err(crate::json_err)?)
            .bind(role.is_admin)
            .bind(role.updated_at)
            .bind(&role.org_id)
            .bind(&role.id)
            .bind(expected_updated_at)
            .execute(&mut *t)
            .await
            .map_err(err)?;
            // Changed meanwhile (its rank checks were made on what was read): refuse.
            if done.rows_affected() == 0 {
                return Err(StoreError::Refused(Refusal::Stale));
            }
            // A holder is an administrator when any of its roles is.
            sqlx::query(
                "UPDATE users SET is_admin = EXISTS (SELECT 1 FROM user_roles ur JOIN roles r ON r.org_id = ur.org_id AND r.id = ur.role_id \
                 WHERE ur.org_id = users.org_id AND ur.user_id = users.id AND r.is_admin) \
                 WHERE org_id = $1 AND id IN (SELECT user_id FROM user_roles WHERE org_id = $2 AND role_id = $3)",
            )
            .bind(&role.org_id)
            .bind(&role.org_id)
            .bind(&role.id)
            .execute(&mut *t)
            .await
            .map_err(err)?;
            let after = count_admins(&mut t.tx(), &OrgId::from(&role.org_id)).await?;
            if before > 0 && after == 0 {
                return Err(StoreError::Refused(Refusal::LastAdmin));
            }
            write_effects(&mut t.tx(), &fx).await?;
        });
        self.elsewhere(rest).await
    }

    async fn count_active_admins(&self, org_id: &OrgId) -> R<i64> {
        let db = self.route(org_id).await?;
        run!(db, |p| sqlx::query_scalar(
            "SELECT COUNT(*) FROM users WHERE org_id = $1 AND is_admin AND status = 'active'"
        )
        .bind(org_id.as_str())
        .fetch_one(p)
        .await
        .map_err(err))
    }

    async fn set_user_roles(
        &self,
        org_id: &OrgId,
        user_id: &UserId,
        role_ids: &[String],
        env_roles_kept: &[EnvRole],
        fx: Effects,
    ) -> R<()> {
        let (db, fx, rest) = self.route_write(org_id, fx).await?;
        tx!(db, |t| {
            lock_org(&mut t.tx(), org_id).await?;
            let before = count_admins(&mut t.tx(), org_id).await?;
            replace_roles(&mut t.tx(), org_id, user_id, role_ids).await?;
            // The environments whose role goes, and their bots.
            let mut gone =
                Sql::new("SELECT environment_uuid FROM user_environments WHERE org_id = ");
            gone.text(org_id).push(" AND user_id = ");
            gone.text(user_id);
            if !env_roles_kept.is_empty() {
                let kept: Vec<String> = env_roles_kept
                    .iter()
                    .map(|r| r.as_str().to_owned())
                    .collect();
                gone.push(" AND NOT ").in_list("role_name", &kept);
            }
            let envs: Vec<String> =
                bind_all!(crate::sql::query_scalar::<_, String>(&gone), gone.args)
                    .fetch_all(&mut *t)
                    .await
                    .map_err(err)?;
            for env in &envs {
                for table in ["user_environment_bots", "user_environments"] {
                    sqlx::query(&format!(
                        "DELETE FROM {table} WHERE org_id = $1 AND user_id = $2 AND environment_uuid = $3"
                    ))
                    .bind(org_id.as_str())
                    .bind(user_id.as_str())
                    .bind(env)
                    .execute(&mut *t)
                    .await
                    .map_err(err)?;
                }
            }
            keep_an_admin(&mut t.tx(), org_id, before).await?;
            write_effects(&mut t.tx(), &fx).await?;
        });
        self.elsewhere(rest).await
    }

    async fn insert_temporary_grant(&self, g: &TemporaryGrant, fx: Effects) -> R<()> {
        let (db, fx, rest) = self.route_write(&g.org_id, fx).await?;
        tx!(db, |t| {
            sqlx::query(&format!("INSERT INTO temporary_grants ({GRANT_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"))
                .bind(&g.org_id)
                .bind(&g.id)
                .bind(&g.user_id)
                .bind(&g.grant.permission_name)
                .bind(serde_json::to_string(&g.grant.conditions).map_err(json_err)?)
                .bind(&g.justification)
                .bind(serde_json::to_string(&g.tags).map_err(json_err)?)
                .bind(&g.creator_user_id)
                .bind(&g.creator_org_id)
                .bind(g.expires_at)
                .bind(g.created_at)
                .bind(g.updated_at)
                .execute(&mut *t)
                .await
                .map_err(err)?;
            write_effects(&mut t.tx(), &fx).await?;
        });
        self.elsewhere(rest).await
    }

    async fn list_temporary_grants(
        &self,
        org_id: &OrgId,
        q: &GrantQuery,
    ) -> R<Vec<TemporaryGrant>> {
        let db = self.route(org_id).await?;
        let mut sql = Sql::new(&format!(
            "SELECT {GRANT_COLS} FROM temporary_grants WHERE org_id = "
        ));
        sql.text(org_id);
        if !q.ids.is_empty() {
            sql.push(" AND ").in_list("id", &q.ids);
        }
        if !q.user_ids.is_empty() {
            sql.push(" AND ").in_list("user_id", &q.user_ids);
        }
        if let Some(name) = &q.permission_name {
            sql.push(" AND permission_name = ");
            sql.text(name);
        }
        if !q.creators.is_empty() {
            sql.push(" AND ").in_list("creator_user_id", &q.creators);
        }
        match q.expired {
            Some(true) => {
                sql.push(" AND expires_at <= ");
                sql.bind(Arg::Int(q.now));
            }
            Some(false) => {
                sql.push(" AND expires_at > ");
                sql.bind(Arg::Int(q.now));
            }
            None => {}
        }
        let sqlite = matches!(db, Db::Sqlite { .. });
        for (key, value) in &q.tags {
            let path = format!("$.\"{}\"", key.replace('"', ""));
            match (sqlite, value) {
                (true, None) => {
                    sql.push(" AND json_type(tags, ");
                    sql.text(&path).push(") IS NOT NULL");
                }
                (true, Some(None)) => {
                    sql.push(" AND json_type(tags, ");
                    sql.text(&path).push(") = 'null'");
                }
                (true, Some(Some(v))) => {
                    sql.push(" AND json_extract(tags, ");
                    sql.text(&path).push(") = ");
                    sql.text(v);
                }
                (false, None) => {
                    sql.push(" AND jsonb_exists(tags::jsonb, ");
                    sql.text(key).push(")");
                }
                (false, Some(None)) => {
                    sql.push(" AND jsonb_typeof(tags::jsonb -> ");
                    sql.text(key).push(") = 'null'");
                }
                (false, Some(Some(v))) => {
                    sql.push(" AND tags::jsonb ->> ");
                    sql.text(key).push(" = ");
                    sql.text(v);
                }
            }
        }
        let sort: Vec<(String, bool)> = q
            .page
            .sort
            .iter()
            .map(|k| (k.field.clone(), k.descending))
            .collect();
        keyset_and_order(&mut sql, &sort, &q.page.position, |f| match f {
            "user_id" => Some("user_id"),
            "expires_at" => Some("expires_at"),
            "permission_grant.permission_name" => Some("permission_name"),
            _ => None,
        })?;
        limit_offset(&mut sql, q.page.limit, &q.page.position);
        run!(db, |p| {
            let rows = bind_all!(crate::sql::query(&sql), sql.args)
                .fetch_all(p)
                .await
                .map_err(err)?;
            let mut out = Vec::with_capacity(rows.len());
            for r in &rows {
                out.push(grant_from!(r));
            }
            Ok(out)
        })
    }
}
