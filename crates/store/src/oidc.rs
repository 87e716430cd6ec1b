//! The relying parties of the organizations' OpenID Connect providers.

use async_trait::async_trait;
use roster_domain::model::OidcClient;
use roster_domain::store::{Effects, OidcStore, StoreError};
use roster_domain::types::OrgId;

use crate::effects::write_effects;
use crate::rows::*;
use crate::stmt::AsTx;
use crate::{err, json_err, run, tx, SqlStore, R};

const CLIENT_COLS: &str =
    "org_id, client_id, name, secret_hash, redirect_uris, created_at, updated_at";

macro_rules! client_from {
    ($r:expr) => {{
        let uris: String = get!($r, "redirect_uris");
        OidcClient {
            org_id: get!($r, "org_id"),
            client_id: get!($r, "client_id"),
            name: get!($r, "name"),
            secret_hash: get!($r, "secret_hash"),
            redirect_uris: serde_json::from_str(&uris).map_err(json_err)?,
            created_at: get!($r, "created_at"),
            updated_at: get!($r, "updated_at"),
        }
    }};
}

fn uris_json(c: &OidcClient) -> R<String> {
    serde_json::to_string(&c.redirect_uris).map_err(json_err)
}

#[async_trait]
impl OidcStore for SqlStore {
    async fn list_oidc_clients(&self, org_id: &OrgId) -> R<Vec<OidcClient>> {
        let db = self.route(org_id).await?;
        let sql = format!(
            "SELECT {CLIENT_COLS} FROM oidc_clients WHERE org_id = $1 ORDER BY created_at, client_id"
        );
        run!(db, |p| {
            let rows = sqlx::query(&sql)
                .bind(org_id.as_str())
                .fetch_all(p)
                .await
                .map_err(err)?;
            let mut out = Vec::with_capacity(rows.len());
            for r in &rows {
                out.push(client_from!(r));
            }
            Ok(out)
        })
    }

    async fn get_oidc_client(&self, org_id: &OrgId, client_id: &str) -> R<Option<OidcClient>> {
        let db = self.route(org_id).await?;
        let sql =
            format!("SELECT {CLIENT_COLS} FROM oidc_clients WHERE org_id = $1 AND client_id = $2");
        run!(db, |p| {
            let row = sqlx::query(&sql)
                .bind(org_id.as_str())
                .bind(client_id)
                .fetch_optional(p)
                .await
                .map_err(err)?;
            match row {
                Some(r) => Ok(Some(client_from!(&r))),
                None => Ok(None),
            }
        })
    }

    async fn insert_oidc_client(&self, c: &OidcClient, fx: Effects) -> R<()> {
        let (db, fx, rest) = self.route_write(&c.org_id, fx).await?;
        let uris = uris_json(c)?;
        tx!(db, |t| {
            sqlx::query(
                "INSERT INTO oidc_clients (org_id, client_id, name, secret_hash, redirect_uris, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(&c.org_id)
            .bind(&c.client_id)
            .bind(&c.name)
            .bind(&c.secret_hash)
            .bind(&uris)
            .bind(c.created_at)
            .bind(c.updated_at)
            .execute(&mut *t)
            .await
            .map_err(|e| match err(e) {
                StoreError::Conflict { .. } => StoreError::Conflict { field: "client_id" },
                other => other,
            })?;
            write_effects(&mut t.tx(), &fx).await?;
        });
        self.elsewhere(rest).await
    }

    async fn update_oidc_client(&self, c: &OidcClient, fx: Effects) -> R<()> {
        let (db, fx, rest) = self.route_write(&c.org_id, fx).await?;
        let uris = uris_json(c)?;
        tx!(db, |t| {
            let done = sqlx::query(
                "UPDATE oidc_clients SET name = $1, redirect_uris = $2, updated_at = $3 \
                 WHERE org_id = $4 AND client_id = $5",
            )
            .bind(&c.name)
            .bind(&uris)
            .bind(c.updated_at)
            .bind(&c.org_id)
            .bind(&c.client_id)
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

    async fn delete_oidc_client(&self, org_id: &OrgId, client_id: &str, fx: Effects) -> R<()> {
        let (db, fx, rest) = self.route_write(org_id, fx).await?;
        tx!(db, |t| {
            let done = sqlx::query("DELETE FROM oidc_clients WHERE org_id = $1 AND client_id = $2")
                .bind(org_id.as_str())
                .bind(client_id)
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
