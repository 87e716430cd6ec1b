//! API keys: an organization's keys, at most a configured number of them.

use async_trait::async_trait;
use roster_domain::model::ApiKey;
use roster_domain::store::{Effects, KeyStore, Refusal, StoreError};
use roster_domain::types::OrgId;

use crate::effects::write_effects;
use crate::rows::*;
use crate::stmt::{insert_api_key, lock_org, AsTx};
use crate::{err, run, tx, SqlStore, R};

#[async_trait]
impl KeyStore for SqlStore {
    async fn get_api_key(&self, org_id: &OrgId, key_id: &str) -> R<Option<ApiKey>> {
        let db = self.route(org_id).await?;
        let sql = format!("SELECT {KEY_COLS} FROM api_keys WHERE org_id = $1 AND key_id = $2");
        run!(db, |p| {
            let row = sqlx::query(&sql)
                .bind(org_id.as_str())
                .bind(key_id)
                .fetch_optional(p)
                .await
                .map_err(err)?;
            match row {
                Some(r) => Ok(Some(key_from!(&r))),
                None => Ok(None),
            }
        })
    }

    async fn list_api_keys(&self, org_id: &OrgId) -> R<Vec<ApiKey>> {
        let db = self.route(org_id).await?;
        let sql = format!(
            "SELECT {KEY_COLS} FROM api_keys WHERE org_id = $1 ORDER BY created_at, key_id"
        );
        run!(db, |p| {
            let rows = sqlx::query(&sql)
                .bind(org_id.as_str())
                .fetch_all(p)
                .await
                .map_err(err)?;
            let mut out = Vec::with_capacity(rows.len());
            for r in &rows {
                out.push(key_from!(r));
            }
            Ok(out)
        })
    }

    async fn insert_api_key(&self, key: &ApiKey, max: usize, fx: Effects) -> R<()> {
        let (db, fx, rest) = self.route_write(&key.org_id, fx).await?;
        tx!(db, |t| {
            lock_org(&mut t.tx(), &OrgId::from(&key.org_id)).await?;
            let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM api_keys WHERE org_id = $1")
                .bind(&key.org_id)
                .fetch_one(&mut *t)
                .await
                .map_err(err)?;
            if n as usize >= max {
                return Err(StoreError::Refused(Refusal::ApiKeyLimit));
            }
            insert_api_key(&mut t.tx(), key).await?;
            write_effects(&mut t.tx(), &fx).await?;
        });
        self.elsewhere(rest).await
    }

    async fn delete_api_key(&self, org_id: &OrgId, key_id: &str, fx: Effects) -> R<()> {
        let (db, fx, rest) = self.route_write(org_id, fx).await?;
        tx!(db, |t| {
            let done = sqlx::query("DELETE FROM api_keys WHERE org_id = $1 AND key_id = $2")
                .bind(org_id.as_str())
                .bind(key_id)
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

    async fn rotate_api_key(&self, old_key_id: &str, new: &ApiKey, fx: Effects) -> R<()> {
        let (db, fx, rest) = self.route_write(&new.org_id, fx).await?;
        tx!(db, |t| {
            let done = sqlx::query(
                "UPDATE api_keys SET key_id = $1, secret_hash = $2, updated_at = $3 \
                 WHERE org_id = $4 AND key_id = $5",
            )
            .bind(&new.key_id)
            .bind(&new.secret_hash)
            .bind(new.updated_at)
            .bind(&new.org_id)
            .bind(old_key_id)
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
}
