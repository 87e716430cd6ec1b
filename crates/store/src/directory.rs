//! Directory tokens (`roster_domain::directory::DirectoryStore`): one organization's, stored
//! as the hash of their secret; and a directory's group writes (a role with its holders, in one
//! transaction) and deletions.

use async_trait::async_trait;
use roster_domain::directory::{DirectoryStore, DirectoryToken, GroupWrite};
use roster_domain::store::{Effects, Refusal, StoreError};
use roster_domain::types::{OrgId, UserId};

use crate::effects::write_effects;
use crate::stmt::{count_admins, insert_role, keep_an_admin, lock_org, replace_roles, AsTx};
use crate::{err, run, tx, SqlStore, R};

const COLS: &str =
    "org_id, id, name, secret_hash, role_id, creator_user_id, creator_org_id, created_at";

macro_rules! token_from {
    ($r:expr) => {
        DirectoryToken {
            org_id: sqlx::Row::try_get($r, "org_id").map_err(err)?,
            id: sqlx::Row::try_get($r, "id").map_err(err)?,
            name: sqlx::Row::try_get($r, "name").map_err(err)?,
            secret_hash: sqlx::Row::try_get($r, "secret_hash").map_err(err)?,
            role_id: sqlx::Row::try_get($r, "role_id").map_err(err)?,
            creator_user_id: sqlx::Row::try_get($r, "creator_user_id").map_err(err)?,
            creator_org_id: sqlx::Row::try_get($r, "creator_org_id").map_err(err)?,
            created_at: sqlx::Row::try_get($r, "created_at").map_err(err)?,
        }
    };
}

#[async_trait]
impl DirectoryStore for SqlStore {
    async fn list_directory_tokens(&self, org_id: &OrgId) -> R<Vec<DirectoryToken>> {
        let db = self.route(org_id).await?;
        let sql = format!(
            "SELECT {COLS} FROM directory_tokens WHERE org_id = $1 ORDER BY created_at, id"
        );
        run!(db, |p| {
            let rows = sqlx::query(&sql)
                .bind(org_id.as_str())
                .fetch_all(p)
                .await
                .map_err(err)?;
            let mut out = Vec::with_capacity(rows.len());
            for r in &rows {
                out.push(token_from!(r));
            }
            Ok(out)
        })
    }

    async fn directory_token_by_hash(
        &self,
        org_id: &OrgId,
        secret_hash: &str,
    ) -> R<Option<DirectoryToken>> {
        let db = self.route(org_id).await?;
        let sql =
            format!("SELECT {COLS} FROM directory_tokens WHERE org_id = $1 AND secret_hash = $2");
        run!(db, |p| {
            let row = sqlx::query(&sql)
                .bind(org_id.as_str())
                .bind(secret_hash)
                .fetch_optional(p)
                .await
                .map_err(err)?;
            match row {
                Some(r) => Ok(Some(token_from!(&r))),
                None => Ok(None),
            }
        })
    }

    async fn insert_directory_token(&self, t0: &DirectoryToken, max: usize, fx: Effects) -> R<()> {
        let (db, fx, rest) = self.route_write(&t0.org_id, fx).await?;
        tx!(db, |t| {
            lock_org(&mut t.tx(), &OrgId::from(&t0.org_id)).await?;
            let n: i64 =
                sqlx::query_scalar("SELECT COUNT(*) FROM directory_tokens WHERE org_id = $1")
                    .bind(&t0.org_id)
                    .fetch_one(&mut *t)
                    .await
                    .map_err(err)?;
            if n as usize >= max {
                return Err(StoreError::Refused(Refusal::ApiKeyLimit));
            }
            sqlx::query(
                "INSERT INTO directory_tokens (org_id, id, name, secret_hash, role_id, \
                 creator_user_id, creator_org_id, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(&t0.org_id)
            .bind(&t0.id)
            .bind(&t0.name)
            .bind(&t0.secret_hash)
            .bind(&t0.role_id)
            .bind(&t0.creator_user_id)
            .bind(&t0.creator_org_id)
            .bind(t0.created_at)
            .execute(&mut *t)
            .await
            .map_err(err)?;
            write_effects(&mut t.tx(), &fx).await?;
        });
        self.elsewhere(rest).await
    }

    async fn delete_directory_token(&self, org_id: &OrgId, id: &str, fx: Effects) -> R<()> {
        let (db, fx, rest) = self.route_write(org_id, fx).await?;
        tx!(db, |t| {
            let done = sqlx::query("DELETE FROM directory_tokens WHERE org_id = $1 AND id = $2")
                .bind(org_id.as_str())
                .bind(id)
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

    async fn write_group(
        &self,
        org_id: &OrgId,
        group: GroupWrite<'_>,
        changes: &[(UserId, Vec<String>)],
        fx: Effects,
    ) -> R<()> {
        let (db, fx, rest) = self.route_write(org_id, fx).await?;
        tx!(db, |t| {
            lock_org(&mut t.tx(), org_id).await?;
            match group {
                GroupWrite::Members => {}
                GroupWrite::Create(role) => insert_role(&mut t.tx(), role).await?,
                GroupWrite::ExternalId {
                    role_id,
                    external_id,
                    expected,
                    updated_at,
                } => {
                    let done = sqlx::query(
                        "UPDATE roles SET external_id = $1, updated_at = $2 \
                         WHERE org_id = $3 AND id = $4 AND updated_at = $5",
                    )
                    .bind(external_id)
                    .bind(updated_at)
                    .bind(org_id.as_str())
                    .bind(role_id)
                    .bind(expected)
                    .execute(&mut *t)
                    .await
                    .map_err(err)?;
                    if done.rows_affected() == 0 {
                        return Err(StoreError::Refused(Refusal::Stale));
                    }
                }
            }
            let before = count_admins(&mut t.tx(), org_id).await?;
            for (user_id, role_ids) in changes {
                replace_roles(&mut t.tx(), org_id, user_id, role_ids).await?;
            }
            keep_an_admin(&mut t.tx(), org_id, before).await?;
            write_effects(&mut t.tx(), &fx).await?;
        });
        self.elsewhere(rest).await
    }

    async fn delete_role(&self, org_id: &OrgId, role_id: &str, fx: Effects) -> R<()> {
        let (db, fx, rest) = self.route_write(org_id, fx).await?;
        tx!(db, |t| {
            lock_org(&mut t.tx(), org_id).await?;
            let used: i64 = sqlx::query_scalar(
                "SELECT (SELECT COUNT(*) FROM api_keys WHERE org_id = $1 AND role_id = $2) \
                 + (SELECT COUNT(*) FROM directory_tokens WHERE org_id = $3 AND role_id = $4)",
            )
            .bind(org_id.as_str())
            .bind(role_id)
            .bind(org_id.as_str())
            .bind(role_id)
            .fetch_one(&mut *t)
            .await
            .map_err(err)?;
            if used > 0 {
                return Err(StoreError::Refused(Refusal::InUse));
            }
            let before = count_admins(&mut t.tx(), org_id).await?;
            // Its holders change (their groups do, and whether they administer): each one's
            // version moves, and each is an administrator only through its other roles.
            sqlx::query(
                "UPDATE users SET updated_at = updated_at + 1, is_admin = EXISTS (SELECT 1 FROM user_roles ur \
                 JOIN roles r ON r.org_id = ur.org_id AND r.id = ur.role_id \
                 WHERE ur.org_id = users.org_id AND ur.user_id = users.id AND r.is_admin AND r.id <> $1) \
                 WHERE org_id = $2 AND id IN (SELECT user_id FROM user_roles WHERE org_id = $3 AND role_id = $4)",
            )
            .bind(role_id)
            .bind(org_id.as_str())
            .bind(org_id.as_str())
            .bind(role_id)
            .execute(&mut *t)
            .await
            .map_err(err)?;
            sqlx::query("DELETE FROM user_roles WHERE org_id = $1 AND role_id = $2")
                .bind(org_id.as_str())
                .bind(role_id)
                .execute(&mut *t)
                .await
                .map_err(err)?;
            let done = sqlx::query("DELETE FROM roles WHERE org_id = $1 AND id = $2")
                .bind(org_id.as_str())
                .bind(role_id)
                .execute(&mut *t)
                .await
                .map_err(err)?;
            if done.rows_affected() == 0 {
                return Err(StoreError::NotFound);
            }
            keep_an_admin(&mut t.tx(), org_id, before).await?;
            write_effects(&mut t.tx(), &fx).await?;
        });
        self.elsewhere(rest).await
    }
}
