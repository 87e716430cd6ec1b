//! The organizations' upstream OpenID Connect connections and the links of upstream accounts
//! to memberships (`roster_domain::connections`), and the one transaction that lets a person
//! in through one.

use async_trait::async_trait;
use roster_domain::connections::{Admission, ConnectionStore, UpstreamConnection, UpstreamLink};
use roster_domain::events::EventSeed;
use roster_domain::store::{Effects, Refusal, StoreError, StoreResult};
use roster_domain::types::now_micros;
use roster_domain::types::OrgId;
use roster_domain::types::UserId;

use crate::effects::{write_effects, write_events};
use crate::rows::*;
use crate::stmt::AsTx;
use crate::{err, json_err, run, tx, Db, SqlStore, R};

const COLS: &str =
    "org_id, name, issuer, client_id, client_secret, domains, link_password_accounts, \
                    created_at, updated_at";

macro_rules! connection_from {
    ($r:expr) => {{
        let domains: String = get!($r, "domains");
        UpstreamConnection {
            org_id: get!($r, "org_id"),
            name: get!($r, "name"),
            issuer: get!($r, "issuer"),
            client_id: get!($r, "client_id"),
            client_secret: get!($r, "client_secret"),
            domains: serde_json::from_str(&domains).map_err(json_err)?,
            link_password_accounts: get!($r, "link_password_accounts"),
            created_at: get!($r, "created_at"),
            updated_at: get!($r, "updated_at"),
        }
    }};
}

async fn links(
    db: &Db,
    org_id: &OrgId,
    connection: &str,
    subject: Option<&str>,
    user_id: Option<&UserId>,
) -> R<Vec<UpstreamLink>> {
    run!(db, |p| {
        let rows = sqlx::query(
                "SELECT org_id, connection, issuer, subject, user_id, created_at FROM upstream_links \
                 WHERE org_id = $1 AND connection = $2 AND (CAST($3 AS TEXT) IS NULL OR subject = $3) \
                 AND (CAST($4 AS TEXT) IS NULL OR user_id = $4) ORDER BY created_at",
            )
            .bind(org_id.as_str())
            .bind(connection)
            .bind(subject)
            .bind(user_id.map(UserId::as_str))
            .fetch_all(p)
            .await
            .map_err(err)?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            out.push(UpstreamLink {
                org_id: get!(r, "org_id"),
                connection: get!(r, "connection"),
                issuer: get!(r, "issuer"),
                subject: get!(r, "subject"),
                user_id: get!(r, "user_id"),
                created_at: get!(r, "created_at"),
            });
        }
        Ok(out)
    })
}

#[async_trait]
impl ConnectionStore for SqlStore {
    async fn list_connections(&self, org_id: &OrgId) -> StoreResult<Vec<UpstreamConnection>> {
        let sql =
            format!("SELECT {COLS} FROM upstream_connections WHERE org_id = $1 ORDER BY name");
        let db = self.route(org_id).await?;
        run!(db, |p| {
            let rows = sqlx::query(&sql)
                .bind(org_id.as_str())
                .fetch_all(p)
                .await
                .map_err(err)?;
            let mut out = Vec::with_capacity(rows.len());
            for r in &rows {
                out.push(connection_from!(r));
            }
            Ok(out)
        })
    }

    async fn get_connection(
        &self,
        org_id: &OrgId,
        name: &str,
    ) -> StoreResult<Option<UpstreamConnection>> {
        let sql =
            format!("SELECT {COLS} FROM upstream_connections WHERE org_id = $1 AND name = $2");
        let db = self.route(org_id).await?;
        run!(db, |p| {
            let row = sqlx::query(&sql)
                .bind(org_id.as_str())
                .bind(name)
                .fetch_optional(p)
                .await
                .map_err(err)?;
            match row {
                Some(r) => Ok(Some(connection_from!(&r))),
                None => Ok(None),
            }
        })
    }

    async fn insert_connection(&self, c: &UpstreamConnection, fx: Effects) -> StoreResult<()> {
        let (db, fx, rest) = self.route_write(&c.org_id, fx).await?;
        let domains = serde_json::to_string(&c.domains).map_err(json_err)?;
        tx!(db, |t| {
            sqlx::query(&format!(
                "INSERT INTO upstream_connections ({COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
            ))
            .bind(&c.org_id)
            .bind(&c.name)
            .bind(&c.issuer)
            .bind(&c.client_id)
            .bind(&c.client_secret)
            .bind(&domains)
            .bind(c.link_password_accounts)
            .bind(c.created_at)
            .bind(c.updated_at)
            .execute(&mut *t)
            .await
            .map_err(|e| match err(e) {
                StoreError::Conflict { .. } => StoreError::Conflict { field: "name" },
                other => other,
            })?;
            write_effects(&mut t.tx(), &fx).await?;
        });
        self.elsewhere(rest).await
    }

    async fn update_connection(&self, c: &UpstreamConnection, fx: Effects) -> StoreResult<()> {
        let (db, fx, rest) = self.route_write(&c.org_id, fx).await?;
        let domains = serde_json::to_string(&c.domains).map_err(json_err)?;
        tx!(db, |t| {
            // Another issuer is another space of subjects: the links of the old one go.
            sqlx::query(
                "DELETE FROM upstream_links WHERE org_id = $1 AND connection = $2 AND issuer <> $3",
            )
            .bind(&c.org_id)
            .bind(&c.name)
            .bind(&c.issuer)
            .execute(&mut *t)
            .await
            .map_err(err)?;
            let done = sqlx::query(
                "UPDATE upstream_connections SET issuer = $1, client_id = $2, client_secret = $3, \
                 domains = $4, link_password_accounts = $5, updated_at = $6 WHERE org_id = $7 AND name = $8",
            )
            .bind(&c.issuer)
            .bind(&c.client_id)
            .bind(&c.client_secret)
            .bind(&domains)
            .bind(c.link_password_accounts)
            .bind(c.updated_at)
            .bind(&c.org_id)
            .bind(&c.name)
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

    async fn delete_connection(&self, org_id: &OrgId, name: &str, fx: Effects) -> StoreResult<()> {
        let (db, fx, rest) = self.route_write(org_id, fx).await?;
        tx!(db, |t| {
            let done =
                sqlx::query("DELETE FROM upstream_connections WHERE org_id = $1 AND name = $2")
                    .bind(org_id.as_str())
                    .bind(name)
                    .execute(&mut *t)
                    .await
                    .map_err(err)?;
            if done.rows_affected() == 0 {
                return Err(StoreError::NotFound);
            }
            sqlx::query("DELETE FROM upstream_links WHERE org_id = $1 AND connection = $2")
                .bind(org_id.as_str())
                .bind(name)
                .execute(&mut *t)
                .await
                .map_err(err)?;
            write_effects(&mut t.tx(), &fx).await?;
        });
        self.elsewhere(rest).await
    }

    async fn upstream_links(
        &self,
        org_id: &OrgId,
        connection: &str,
        subject: Option<&str>,
        user_id: Option<&UserId>,
    ) -> StoreResult<Vec<UpstreamLink>> {
        let db = self.route(org_id).await?;
        links(db, org_id, connection, subject, user_id).await
    }

    async fn admit_upstream(&self, a: &Admission, fx: Effects) -> StoreResult<()> {
        let wanted = if a.accept_invitation {
            "invited"
        } else {
            "active"
        };
        let (db, fx, rest) = self.route_write(&a.org_id, fx).await?;
        tx!(db, |t| {
            // The membership as the core saw it: still there, in that state, on that connection.
            let moved = sqlx::query(
                "UPDATE users SET status = 'active', updated_at = updated_at + CASE WHEN status = 'invited' THEN 1 ELSE 0 END \
                 WHERE org_id = $1 AND id = $2 AND status = $3",
            )
            .bind(&a.org_id)
            .bind(&a.user_id)
            .bind(wanted)
            .execute(&mut *t)
            .await
            .map_err(err)?;
            if moved.rows_affected() == 0 {
                return Err(StoreError::Refused(Refusal::Stale));
            }
            // Written once; a link of this account, or of this member, to anyone else refuses.
            let linked = sqlx::query(
                "INSERT INTO upstream_links (org_id, connection, issuer, subject, user_id, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
            )
            .bind(&a.org_id)
            .bind(a.connection.as_str())
            .bind(&a.issuer)
            .bind(&a.subject)
            .bind(&a.user_id)
            .bind(now_micros())
            .execute(&mut *t)
            .await
            .map_err(err)?;
            if linked.rows_affected() == 0 {
                let same: Option<(String,)> = sqlx::query_as(
                    "SELECT user_id FROM upstream_links WHERE org_id = $1 AND connection = $2 \
                     AND subject = $3 AND user_id = $4",
                )
                .bind(&a.org_id)
                .bind(a.connection.as_str())
                .bind(&a.subject)
                .bind(&a.user_id)
                .fetch_optional(&mut *t)
                .await
                .map_err(err)?;
                if same.is_none() {
                    return Err(StoreError::Refused(Refusal::Stale));
                }
            }
            if a.vouches_for_email {
                // The deployment's upstream provider vouched for the address.
                sqlx::query(
                    "UPDATE identities SET email_verified = $1 WHERE id = \
                     (SELECT identity_id FROM users WHERE org_id = $2 AND id = $3)",
                )
                .bind(true)
                .bind(&a.org_id)
                .bind(&a.user_id)
                .execute(&mut *t)
                .await
                .map_err(err)?;
            }
            if a.accept_invitation {
                // Its pending invitation links are spent with it.
                sqlx::query(
                    "UPDATE one_time_tokens SET used_at = created_at WHERE org_id = $1 AND user_id = $2 \
                     AND purpose = 'invite' AND used_at IS NULL",
                )
                .bind(&a.org_id)
                .bind(&a.user_id)
                .execute(&mut *t)
                .await
                .map_err(err)?;
            }
            write_effects(&mut t.tx(), &fx).await?;
            if a.accept_invitation {
                if let Some(first) = fx.audit.first() {
                    let mut seed = EventSeed::about(first, "invitation.accepted", &a.user_id);
                    seed.actor = roster_domain::model::ActorRef {
                        kind: "user",
                        user_id: Some(a.user_id.clone()),
                        org_id: Some(a.org_id.clone()),
                    };
                    write_events(&mut t.tx(), vec![seed]).await?;
                }
            }
        });
        self.elsewhere(rest).await
    }
}
