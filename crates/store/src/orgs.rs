//! Organizations, each on its cluster (see [`crate::placement`]).

use async_trait::async_trait;
use roster_domain::model::Organization;
use roster_domain::store::{Effects, NewOrganization, OrgStore, StoreError};
use roster_domain::types::Micros;
use roster_domain::types::OrgId;

use crate::effects::write_effects;
use crate::rows::*;
use crate::stmt::{insert_api_key, insert_role, insert_user, join_identity, AsTx};
use crate::{err, run, tx, Db, SqlStore, R};

#[async_trait]
impl OrgStore for SqlStore {
    async fn any_organization(&self) -> R<bool> {
        for db in self.all() {
            if any_on(db).await? {
                return Ok(true);
            }
        }
        Ok(false)
    }

    async fn find_organization(&self, id_or_uuid: &str) -> R<Option<Organization>> {
        find_on(self.route(id_or_uuid).await?, id_or_uuid).await
    }

    async fn create_organization(&self, new: NewOrganization, now: Micros, fx: Effects) -> R<()> {
        let i = if self.clustered() {
            self.cluster_index(new.cluster.as_deref())?
        } else {
            0
        };
        let org = new.org.clone();
        if self.clustered() {
            // An organization made before clusters were configured has no placement but exists.
            if find_on(self.home(), &org.id).await?.is_some()
                || find_on(self.home(), &org.uuid).await?.is_some()
            {
                return Err(StoreError::Conflict { field: "key" });
            }
            self.place(&org, i, now).await?;
        }
        let (fx, rest) = self.local(i, fx).await?;
        if let Err(e) = insert_on(self.member(i), &new, &fx).await {
            if self.clustered() {
                self.unplace(&org.id).await?;
            }
            return Err(e);
        }
        self.elsewhere(rest).await
    }
    async fn update_organization(&self, o: &Organization, fx: Effects) -> R<()> {
        let (db, fx, rest) = self.route_write(&o.id, fx).await?;
        tx!(db, |t| {
            sqlx::query(
                "UPDATE organizations SET name = $1, default_preferences = $2, user_dimensions = $3, branding = $4, \
                 updated_at = $5 WHERE id = $6",
            )
            .bind(&o.name)
            .bind(serde_json::to_string(&o.default_preferences).map_err(crate::json_err)?)
            .bind(o.user_dimensions.to_string())
            .bind(o.branding.to_string())
            .bind(o.updated_at)
            .bind(o.id.as_str())
            .execute(&mut *t)
            .await
            .map_err(err)?;
            write_effects(&mut t.tx(), &fx).await?;
        });
        self.elsewhere(rest).await
    }

    async fn delete_organization(&self, org_id: &OrgId, fx: Effects) -> R<()> {
        let (db, fx, rest) = self.route_write(org_id, fx).await?;
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
            "console_sessions",
            "upstream_connections",
            "upstream_links",
            "users",
            "roles",
        ];
        tx!(db, |t| {
            // Every member's identity loses a membership: its epoch moves.
            sqlx::query(
                "UPDATE identities SET epoch = epoch + 1 WHERE id IN (SELECT identity_id FROM users WHERE org_id = $1)",
            )
            .bind(org_id.as_str())
            .execute(&mut *t)
            .await
            .map_err(err)?;
            for table in TABLES {
                sqlx::query(&format!("DELETE FROM {table} WHERE org_id = $1"))
                    .bind(org_id.as_str())
                    .execute(&mut *t)
                    .await
                    .map_err(err)?;
            }
            sqlx::query("DELETE FROM organizations WHERE id = $1")
                .bind(org_id.as_str())
                .execute(&mut *t)
                .await
                .map_err(err)?;
            // Identities left without any membership go with their last organization.
            sqlx::query("DELETE FROM identities WHERE NOT EXISTS (SELECT 1 FROM users u WHERE u.identity_id = identities.id) \
                         AND NOT EXISTS (SELECT 1 FROM deleted_users d WHERE d.identity_id = identities.id)")
                .execute(&mut *t)
                .await
                .map_err(err)?;
            write_effects(&mut t.tx(), &fx).await?;
        });
        if self.clustered() {
            self.unplace(org_id).await?;
        }
        self.elsewhere(rest).await
    }

    async fn list_organizations(
        &self,
        after: &str,
        limit: usize,
    ) -> R<Vec<(Organization, Option<String>)>> {
        let mut out: Vec<(Organization, Option<String>)> = Vec::new();
        for (name, db) in self.members() {
            let cluster = self.clustered().then(|| name.clone());
            for o in page_on(db, after, limit).await? {
                if !out.iter().any(|(k, _)| k.id == o.id) {
                    out.push((o, cluster.clone()));
                }
            }
        }
        out.sort_by(|a, b| a.0.id.cmp(&b.0.id));
        out.truncate(limit);
        Ok(out)
    }
}

/// One keyset page of the organizations of one database, by id (its primary key).
async fn page_on(db: &Db, after: &str, limit: usize) -> R<Vec<Organization>> {
    let sql = format!("SELECT {ORG_COLS} FROM organizations WHERE id > $1 ORDER BY id LIMIT $2");
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    run!(db, |p| {
        let rows = sqlx::query(&sql)
            .bind(after)
            .bind(limit)
            .fetch_all(p)
            .await
            .map_err(err)?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            out.push(org_from!(r));
        }
        Ok(out)
    })
}

/// Whether the database holds any organization.
async fn any_on(db: &Db) -> R<bool> {
    run!(db, |p| {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM organizations")
            .fetch_one(p)
            .await
            .map_err(err)?;
        Ok(n > 0)
    })
}

/// The organization of this id or uuid on one database.
async fn find_on(db: &Db, id_or_uuid: &str) -> R<Option<Organization>> {
    let sql = format!("SELECT {ORG_COLS} FROM organizations WHERE id = $1 OR uuid = $2");
    run!(db, |p| {
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

/// The organization, its roles, first user and key, and `fx`, in one transaction on `db`.
async fn insert_on(db: &Db, new: &NewOrganization, fx: &Effects) -> R<()> {
    let o = &new.org;
    tx!(db, |t| {
        sqlx::query(
            "INSERT INTO organizations (id, uuid, name, short_name, is_platform, tenant_id, default_preferences, \
             user_dimensions, branding, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(o.id.as_str())
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
            insert_role(&mut t.tx(), r).await?;
        }
        if let Some((identity, user)) = &new.first_user {
            let user = join_identity(&mut t.tx(), identity, user).await?;
            insert_user(&mut t.tx(), &user).await?;
        }
        if let Some(k) = &new.api_key {
            insert_api_key(&mut t.tx(), k).await?;
        }
        write_effects(&mut t.tx(), fx).await?;
    });
    Ok(())
}
