//! Delivery of the outbox (leases, outcomes) and the look a landing page takes at a token.

use roster_domain::model::{OneTimeToken, OutboxMessage};
use roster_domain::store::Delivery;

use crate::rows::*;
use crate::{err, run, tx, Db, R};

/// One outbox row of either driver.
macro_rules! outbox_from {
    ($r:expr) => {
        OutboxMessage {
            org_id: get!($r, "org_id"),
            id: get!($r, "id"),
            kind: get!($r, "kind"),
            recipient: get!($r, "recipient"),
            language: get!($r, "language"),
            payload: get_json!($r, "payload"),
            status: get!($r, "status"),
            attempts: get!($r, "attempts"),
            created_at: get!($r, "created_at"),
        }
    };
}

const OUTBOX_COLS: &str =
    "org_id, id, kind, recipient, language, payload, status, attempts, created_at";

impl Db {
    pub(crate) async fn find_token(&self, hash: &str, now: i64) -> R<Option<OneTimeToken>> {
        run!(self, |p| {
            let row = sqlx::query(&format!(
                "SELECT {TOKEN_COLS} FROM one_time_tokens \
                 WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2"
            ))
            .bind(hash)
            .bind(now)
            .fetch_optional(p)
            .await
            .map_err(err)?;
            match row {
                Some(r) => Ok(Some(token_from!(&r))),
                None => Ok(None),
            }
        })
    }

    pub(crate) async fn claim_outbox(
        &self,
        worker: &str,
        now: i64,
        lease_until: i64,
        limit: u32,
    ) -> R<Vec<OutboxMessage>> {
        // Most polls find nothing: look on the reading pool first, so an idle worker never
        // takes SQLite's single write connection.
        let due: Option<i64> = run!(self, |p| {
            sqlx::query_scalar(
            "SELECT next_attempt_at FROM outbox WHERE status IN ('pending', 'sending') AND next_attempt_at <= $1 LIMIT 1"
        )
        .bind(now)
        .fetch_optional(p)
        .await
        .map_err(err)?
        });
        if due.is_none() {
            return Ok(Vec::new());
        }
        // SQLite has one writer (BEGIN IMMEDIATE), so the select cannot race; PostgreSQL skips
        // the rows another node's claim has locked instead of waiting for them.
        let lock = match self {
            Db::Sqlite { .. } => "",
            Db::Postgres(_) => " FOR UPDATE SKIP LOCKED",
        };
        let sql = format!(
            "UPDATE outbox SET status = 'sending', lease_owner = $1, next_attempt_at = $2, \
             attempts = attempts + 1 \
             WHERE (org_id, id) IN (SELECT org_id, id FROM outbox \
               WHERE status IN ('pending', 'sending') AND next_attempt_at <= $3 \
               ORDER BY next_attempt_at LIMIT $4{lock}) \
             RETURNING {OUTBOX_COLS}"
        );
        let mut out = tx!(untracked self, |t| {
            let rows = sqlx::query(&sql)
                .bind(worker)
                .bind(lease_until)
                .bind(now)
                .bind(limit as i64)
                .fetch_all(&mut *t)
                .await
                .map_err(err)?;
            let mut out = Vec::with_capacity(rows.len());
            for r in &rows {
                out.push(outbox_from!(r));
            }
            out
        });
        out.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(out)
    }

    pub(crate) async fn finish_outbox(
        &self,
        org_id: &str,
        id: &str,
        worker: &str,
        outcome: &Delivery,
    ) -> R<bool> {
        let (status, next, error, sent_at): (&str, Option<i64>, Option<&str>, Option<i64>) =
            match outcome {
                Delivery::Sent { at } => ("sent", None, None, Some(*at)),
                Delivery::Retry { at, error } => ("pending", Some(*at), Some(error), None),
                Delivery::Failed { error } => ("failed", None, Some(error), None),
            };
        // A message that will not be sent again no longer needs its payload, whose links carry
        // live tokens: only their hashes should outlast the delivery.
        let scrub = (status != "pending").then_some("{}");
        let done = tx!(untracked self, |t| {
            sqlx::query(
                "UPDATE outbox SET status = $1, next_attempt_at = COALESCE($2, next_attempt_at), \
                 last_error = $3, sent_at = $4, lease_owner = NULL, payload = COALESCE($5, payload) \
                 WHERE org_id = $6 AND id = $7 AND status = 'sending' AND lease_owner = $8",
            )
            .bind(status)
            .bind(next)
            .bind(error)
            .bind(sent_at)
            .bind(scrub)
            .bind(org_id)
            .bind(id)
            .bind(worker)
            .execute(&mut *t)
            .await
            .map_err(err)?
            .rows_affected()
        });
        Ok(done == 1)
    }

    pub(crate) async fn list_outbox(&self, org_id: &str) -> R<Vec<OutboxMessage>> {
        run!(self, |p| {
            let rows = sqlx::query(&format!(
                "SELECT {OUTBOX_COLS} FROM outbox WHERE org_id = $1 ORDER BY id"
            ))
            .bind(org_id)
            .fetch_all(p)
            .await
            .map_err(err)?;
            let mut out = Vec::with_capacity(rows.len());
            for r in &rows {
                out.push(outbox_from!(r));
            }
            Ok(out)
        })
    }
}
