//! What belongs to no organization (settings, the signing-key ring, on the home cluster), the
//! databases themselves, and page cursors; the outbox depth and pools' use for operations.

use async_trait::async_trait;
use roster_domain::model::SigningKey;
use roster_domain::store::OpsStore;
use roster_domain::types::Micros;
use roster_domain::types::OrgId;

use crate::rows::get;
use crate::{err, run, tx, Db, SqlStore, R};

/// One pool's connections, for the metrics.
#[derive(Debug, Clone)]
pub struct PoolStats {
    pub name: &'static str,
    /// Open connections, idle or in use.
    pub size: u32,
    pub idle: usize,
    pub max: u32,
}

#[async_trait]
impl OpsStore for SqlStore {
    fn backend(&self) -> &'static str {
        match self.home() {
            Db::Sqlite { .. } => "sqlite",
            Db::Postgres(_) => "postgres",
        }
    }

    fn write_generation(&self) -> u64 {
        crate::write_generation()
    }

    fn clusters(&self) -> Vec<String> {
        if !self.clustered() {
            return Vec::new();
        }
        self.members().iter().map(|(n, _)| n.clone()).collect()
    }

    async fn ping(&self) -> R<()> {
        for db in self.all() {
            run!(db, |p| sqlx::query("SELECT 1")
                .execute(p)
                .await
                .map(|_| ())
                .map_err(err))?;
        }
        Ok(())
    }

    async fn get_setting(&self, key: &str) -> R<Option<String>> {
        run!(self.home(), |p| sqlx::query_scalar(
            "SELECT value FROM settings WHERE key = $1"
        )
        .bind(key)
        .fetch_optional(p)
        .await
        .map_err(err))
    }

    async fn put_setting(&self, key: &str, value: &str, now: Micros) -> R<()> {
        tx!(self.home(), |t| {
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

    async fn signing_keys(&self) -> R<Vec<SigningKey>> {
        run!(self.home(), |p| {
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

    async fn insert_signing_key(&self, k: &SigningKey, newer_than: Micros) -> R<bool> {
        tx!(self.home(), |t| {
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

    /// PostgreSQL's autovacuum analyzes a table some time after it changed; a bulk import of
    /// thousands of users should not leave the planner guessing until then. SQLite's user
    /// queries do not depend on statistics (their plans are fixed), so it does nothing there.
    async fn refresh_statistics(&self) -> R<()> {
        for db in self.all() {
            if let Db::Postgres(pool) = db {
                sqlx::query(
                    "ANALYZE users, identities, user_roles, user_environments, user_environment_bots",
                )
                .execute(pool)
                .await
                .map_err(err)?;
            }
        }
        Ok(())
    }

    async fn put_cursor(
        &self,
        org_id: &OrgId,
        id: i64,
        position: &str,
        expires_at: Micros,
        now: Micros,
    ) -> R<()> {
        let db = self.route(org_id).await?;
        tx!(untracked db, |t| {
            sqlx::query("INSERT INTO page_cursors (org_id, id, position, expires_at) VALUES ($1, $2, $3, $4)")
                .bind(org_id.as_str())
                .bind(id)
                .bind(position)
                .bind(expires_at)
                .execute(&mut *t)
                .await
                .map_err(err)?;
            // Expired cursors are swept now and then by the writers themselves.
            if id % 64 == 0 {
                sqlx::query("DELETE FROM page_cursors WHERE expires_at < $1")
                    .bind(now)
                    .execute(&mut *t)
                    .await
                    .map_err(err)?;
            }
        });
        Ok(())
    }

    async fn get_cursor(&self, org_id: &OrgId, id: i64, now: Micros) -> R<Option<String>> {
        run!(self.route(org_id).await?, |p| sqlx::query_scalar(
            "SELECT position FROM page_cursors WHERE org_id = $1 AND id = $2 AND expires_at > $3"
        )
        .bind(org_id.as_str())
        .bind(id)
        .bind(now)
        .fetch_optional(p)
        .await
        .map_err(err))
    }
}

impl Db {
    /// Emails not yet delivered: pending, or leased by a worker that is sending them.
    pub async fn outbox_depth(&self) -> R<i64> {
        run!(self, |p| sqlx::query_scalar(
            "SELECT COUNT(*) FROM outbox WHERE status IN ('pending', 'sending')"
        )
        .fetch_one(p)
        .await
        .map_err(err))
    }

    /// Each pool's open and idle connections.
    pub fn pool_stats(&self) -> Vec<PoolStats> {
        fn stats<D: sqlx::Database>(name: &'static str, p: &sqlx::Pool<D>) -> PoolStats {
            PoolStats {
                name,
                size: p.size(),
                idle: p.num_idle(),
                max: p.options().get_max_connections(),
            }
        }
        match self {
            Db::Sqlite { read, write } => vec![stats("read", read), stats("write", write)],
            Db::Postgres(pool) => vec![stats("main", pool)],
        }
    }
}
