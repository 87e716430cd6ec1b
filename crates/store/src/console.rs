//! The admin console's sessions (`console_sessions`, migration 0015), in the database of
//! their organization.

use async_trait::async_trait;
use roster_domain::store::{ConsoleSession, ConsoleStore, Effects};
use roster_domain::types::Micros;
use roster_domain::types::OrgId;
use roster_domain::types::UserId;

use crate::effects::write_effects;
use crate::rows::*;
use crate::stmt::AsTx;
use crate::{err, run, tx, SqlStore, R};

const COLS: &str =
    "org_id, id_hash, user_id, identity_id, amr, csrf, issued_at, created_at, last_seen_at";

#[async_trait]
impl ConsoleStore for SqlStore {
    async fn insert_console_session(&self, s: &ConsoleSession, fx: Effects) -> R<()> {
        let (db, fx, rest) = self.route_write(&s.org_id, fx).await?;
        tx!(untracked db, |t| {
            sqlx::query(&format!(
                "INSERT INTO console_sessions ({COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
            ))
            .bind(&s.org_id)
            .bind(&s.id_hash)
            .bind(&s.user_id)
            .bind(&s.identity_id)
            .bind(&s.amr)
            .bind(&s.csrf)
            .bind(s.issued_at)
            .bind(s.created_at)
            .bind(s.last_seen_at)
            .execute(&mut *t)
            .await
            .map_err(err)?;
            write_effects(&mut t.tx(), &fx).await?;
        });
        self.elsewhere(rest).await
    }

    async fn get_console_session(
        &self,
        org_id: &OrgId,
        id_hash: &str,
    ) -> R<Option<ConsoleSession>> {
        let db = self.route(org_id).await?;
        let sql = format!("SELECT {COLS} FROM console_sessions WHERE org_id = $1 AND id_hash = $2");
        run!(db, |p| {
            let row = sqlx::query(&sql)
                .bind(org_id.as_str())
                .bind(id_hash)
                .fetch_optional(p)
                .await
                .map_err(err)?;
            match row.as_ref() {
                Some(r) => Ok(Some(ConsoleSession {
                    org_id: get!(r, "org_id"),
                    id_hash: get!(r, "id_hash"),
                    user_id: get!(r, "user_id"),
                    identity_id: get!(r, "identity_id"),
                    amr: get!(r, "amr"),
                    csrf: get!(r, "csrf"),
                    issued_at: get!(r, "issued_at"),
                    created_at: get!(r, "created_at"),
                    last_seen_at: get!(r, "last_seen_at"),
                })),
                None => Ok(None),
            }
        })
    }

    async fn touch_console_session(&self, org_id: &OrgId, id_hash: &str, at: Micros) -> R<()> {
        let db = self.route(org_id).await?;
        tx!(untracked db, |t| {
            sqlx::query(
                "UPDATE console_sessions SET last_seen_at = $1 \
                 WHERE org_id = $2 AND id_hash = $3 AND last_seen_at < $1",
            )
            .bind(at)
            .bind(org_id.as_str())
            .bind(id_hash)
            .execute(&mut *t)
            .await
            .map_err(err)?;
        });
        Ok(())
    }

    async fn delete_console_session(&self, org_id: &OrgId, id_hash: &str, fx: Effects) -> R<bool> {
        let (db, fx, rest) = self.route_write(org_id, fx).await?;
        let done = tx!(untracked db, |t| {
            let done = sqlx::query("DELETE FROM console_sessions WHERE org_id = $1 AND id_hash = $2")
                .bind(org_id.as_str())
                .bind(id_hash)
                .execute(&mut *t)
                .await
                .map_err(err)?;
            if done.rows_affected() > 0 {
                write_effects(&mut t.tx(), &fx).await?;
            }
            done.rows_affected() > 0
        });
        if done {
            self.elsewhere(rest).await?;
        }
        Ok(done)
    }

    async fn delete_console_sessions_of(
        &self,
        org_id: &OrgId,
        user_id: &UserId,
        fx: Effects,
    ) -> R<u64> {
        let (db, fx, rest) = self.route_write(org_id, fx).await?;
        let n = tx!(untracked db, |t| {
            let done = sqlx::query("DELETE FROM console_sessions WHERE org_id = $1 AND user_id = $2")
                .bind(org_id.as_str())
                .bind(user_id.as_str())
                .execute(&mut *t)
                .await
                .map_err(err)?;
            write_effects(&mut t.tx(), &fx).await?;
            done.rows_affected()
        });
        self.elsewhere(rest).await?;
        Ok(n)
    }
}
