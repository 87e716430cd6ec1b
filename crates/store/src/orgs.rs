//! Settings, signing keys, organizations and roles.

use roster_domain::model::*;
use roster_domain::store::{Effects, NewOrganization, Refusal, StoreError};

use crate::rows::*;
use crate::{err, run, tx, Db, R};

impl Db {
    pub(crate) async fn get_setting(&self, key: &str) -> R<Option<String>> {
        run!(self, |p| sqlx::query_scalar(
            "SELECT value FROM settings WHERE key = $1"
        )
        .bind(key)
        .fetch_optional(p)
        .await
        .map_err(err))
    }

    pub(crate) async fn put_setting(&self, key: &str, value: &str) -> R<()> {
        let now = roster_domain::types::now_micros();
        tx!(self, |t| {
            sqlx::query(
                "INSERT INTO settings (key, value, updated_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
            )
            .bind(key)
            .bind(value)
            .bind(now)
            .execute(&mut *t)
            .await
            .map_err(err)?;
        });
        Ok(())
    }

    pub(crate) async fn signing_keys(&self) -> R<Vec<SigningKey>> {
        run!(self, |p| {
            let rows = sqlx::query("SELECT kid, alg, private_pkcs8, public_x, created_at, retire_at FROM signing_keys ORDER BY created_at DESC")
                .fetch_all(p)
                .await
                .map_err(err)?;
            let mut out = Vec::with_capacity(rows.len());
            for r in &rows {
                out.push(SigningKey {
                    kid: get!(r, "kid"),
                    alg: get!(r, "alg"),
                    private_pkcs8: get!(r, "private_pkcs8"),
                    public_x: get!(r, "public_x"),
                    created_at: get!(r, "created_at"),
                    retire_at: get!(r, "retire_at"),
                });
            }
            Ok(out)
        })
    }

    pub(crate) async fn insert_signing_key(&self, k: &SigningKey, newer_than: i64) -> R<bool> {
        tx!(self, |t| {
            let newer: i64 =
                sqlx::query_scalar("SELECT COUNT(*) FROM signing_keys WHERE created_at > $1")
                    .bind(newer_than)
                    .fetch_one(&mut *t)
                    .await
                    .map_err(err)?;
            if newer > 0 {
                return Ok(false);
            }
            sqlx::query("INSERT INTO signing_keys (kid, alg, private_pkcs8, public_x, created_at, retire_at) VALUES ($1, $2, $3, $4, $5, $6)")
                .bind(&k.kid)
                .bind(&k.alg)
                .bind(&k.private_pkcs8)
                .bind(&k.public_x)
                .bind(k.created_at)
                .bind(k.retire_at)
                .execute(&mut *t)
                .await
                .map_err(err)?;
        });
        Ok(true)
    }

    pub(crate) async fn any_organization(&self) -> R<bool> {
        run!(self, |p| {
            let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM organizations")
                .fetch_one(p)
                .await
                .map_err(err)?;
            Ok(n > 0)
        })
    }

    pub(crate) async fn find_organization(&self, id_or_uuid: &str) -> R<Option<Organization>> {
        let sql = format!("SELECT {ORG_COLS} FROM organizations WHERE id = $1 OR uuid = $2");
        run!(self, |p| {
            let row = sqlx::query(&sql)
                .bind(id_or_uuid)
                .bind(id_or_uuid)
                .fetch_optional(p)
                .await
                .map_err(err)?;
            match row {
                Some(r) => Ok(Some(org_from!(&r))),
                None => Ok(None),
            }
        })
    }

    pub(crate) async fn create_organization(&self, new: NewOrganization, fx: Effects) -> R<()> {
        let o = &new.org;
        tx!(self, |t| {
            sqlx::query(
                "INSERT INTO organizations (id, uuid, name, short_name, is_platform, tenant_id, default_preferences, \
                 user_dimensions, branding, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            )
            .bind(&o.id)
            .bind(&o.uuid)
            .bind(&o.name)
            .bind(&o.short_name)
            .bind(o.is_platform)
            .bind(&o.tenant_id)
            .bind(serde_json::to_string(&o.default_preferences).map_err(crate::json_err)?)
            .bind(o.user_dimensions.to_string())
            .bind(o.branding.to_string())
            .bind(o.created_at)
            .bind(o.updated_at)
            .execute(&mut *t)
            .await
            .map_err(err)?;
            for r in &new.roles {
                insert_role_sql!(t, r);
            }
            if let Some((identity, user)) = &new.first_user {
                let user = crate::users::attach_identity!(t, identity, user);
                crate::users::insert_user_sql!(t, &user);
            }
            if let Some(k) = &new.api_key {
                crate::auth::insert_key_sql!(t, k);
            }
            write_effects!(t, fx);
        });
        Ok(())
    }

    pub(crate) async fn update_organization(&self, o: &Organization, fx: Effects) -> R<()> {
        tx!(self, |t| {
            sqlx::query(
                "UPDATE organizations SET name = $1, default_preferences = $2, user_dimensions = $3, branding = $4, \
                 updated_at = $5 WHERE id = $6",
            )
            .bind(&o.name)
            .bind(serde_json::to_string(&o.default_preferences).map_err(crate::json_err)?)
            .bind(o.user_dimensions.to_string())
            .bind(o.branding.to_string())
            .bind(o.updated_at)
            .bind(&o.id)
            .execute(&mut *t)
            .await
            .map_err(err)?;
            write_effects!(t, fx);
        });
        Ok(())
    }

    pub(crate) async fn delete_organization(&self, org_id: &str, fx: Effects) -> R<()> {
        const TABLES: &[&str] = &[
            "user_roles",
            "user_environments",
            "user_environment_bots",
            "configurations",
            "bots",
            "environments",
            "user_secrets",
            "temporary_grants",
            "user_models",
            "memories",
            "deleted_users",
            "audit_events",
            "outbox",
            "one_time_tokens",
            "page_cursors",
            "api_keys",
            "oidc_clients",
            "upstream_connections",
            "upstream_links",
            "users",
            "roles",
        ];
        tx!(self, |t| {
            // Every member's identity loses a membership: its epoch moves.
            sqlx::query(
                "UPDATE identities SET epoch = epoch + 1 WHERE id IN (SELECT identity_id FROM users WHERE org_id = $1)",
            )
            .bind(org_id)
            .execute(&mut *t)
            .await
            .map_err(err)?;
            for table in TABLES {
                sqlx::query(&format!("DELETE FROM {table} WHERE org_id = $1"))
                    .bind(org_id)
                    .execute(&mut *t)
                    .await
                    .map_err(err)?;
            }
            sqlx::query("DELETE FROM organizations WHERE id = $1")
                .bind(org_id)
                .execute(&mut *t)
                .await
                .map_err(err)?;
            // Identities left without any membership go with their last organization.
            sqlx::query("DELETE FROM identities WHERE NOT EXISTS (SELECT 1 FROM users u WHERE u.identity_id = identities.id) \
                         AND NOT EXISTS (SELECT 1 FROM deleted_users d WHERE d.identity_id = identities.id)")
                .execute(&mut *t)
                .await
                .map_err(err)?;
            write_effects!(t, fx);
        });
        Ok(())
    }

    pub(crate) async fn list_roles(&self, org_id: &str) -> R<Vec<Role>> {
        let sql =
            format!("SELECT {ROLE_COLS} FROM roles WHERE org_id = $1 ORDER BY created_at, name");
        run!(self, |p| {
            let rows = sqlx::query(&sql)
                .bind(org_id)
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

    pub(crate) async fn insert_role(&self, role: &Role, fx: Effects) -> R<()> {
        tx!(self, |t| {
            insert_role_sql!(t, role);
            write_effects!(t, fx);
        });
        Ok(())
    }

    pub(crate) async fn update_role(
        &self,
        role: &Role,
        expected_updated_at: i64,
        fx: Effects,
    ) -> R<()> {
        tx!(self, |t| {
            lock_org!(t, &role.org_id);
            let before = count_admins!(t, &role.org_id);
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
            let after = count_admins!(t, &role.org_id);
            if before > 0 && after == 0 {
                return Err(StoreError::Refused(Refusal::LastAdmin));
            }
            write_effects!(t, fx);
        });
        Ok(())
    }
}

/// Takes the organization's row lock, so checks of "the last administrator" serialize.
macro_rules! lock_org {
    ($t:expr, $org:expr) => {
        sqlx::query("UPDATE organizations SET updated_at = updated_at WHERE id = $1")
            .bind($org)
            .execute(&mut *$t)
            .await
            .map_err($crate::err)?;
    };
}

/// Active administrators of an organization.
macro_rules! count_admins {
    ($t:expr, $org:expr) => {{
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM users WHERE org_id = $1 AND is_admin AND status = 'active'",
        )
        .bind($org)
        .fetch_one(&mut *$t)
        .await
        .map_err($crate::err)?;
        n
    }};
}

macro_rules! insert_role_sql {
    ($t:expr, $r:expr) => {{
        let r: &roster_domain::model::Role = $r;
        sqlx::query(
            "INSERT INTO roles (org_id, id, name, description, frontend_view, grants, is_admin, builtin, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(&r.org_id)
        .bind(&r.id)
        .bind(&r.name)
        .bind(&r.description)
        .bind(&r.frontend_view)
        .bind(serde_json::to_string(&r.grants).map_err($crate::json_err)?)
        .bind(r.is_admin)
        .bind(r.builtin)
        .bind(r.created_at)
        .bind(r.updated_at)
        .execute(&mut *$t)
        .await
        .map_err($crate::err)?;
    }};
}

pub(crate) use {count_admins, insert_role_sql, lock_org};
