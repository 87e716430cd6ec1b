//! Effects written on their own, the delivery of the email outbox (leases, outcomes), and the
//! feed of events with its retention.

use async_trait::async_trait;
use roster_domain::events::Event;
use roster_domain::model::OutboxMessage;
use roster_domain::store::{Delivery, Effects, OutboxStore};
use roster_domain::types::Micros;
use roster_domain::types::OrgId;

use crate::effects::write_effects;
use crate::rows::*;
use crate::sql::{bind_all, Arg, Sql};
use crate::stmt::AsTx;
use crate::{err, run, tx, Db, SqlStore, R};

/// One event row of either driver.
macro_rules! event_from {
    ($r:expr) => {
        Event {
            org_id: get!($r, "org_id"),
            seq: get!($r, "seq"),
            id: get!($r, "id"),
            event_type: get!($r, "type"),
            data: get_json!($r, "data"),
            occurred_at: get!($r, "occurred_at"),
        }
    };
}

#[async_trait]
impl OutboxStore for SqlStore {
    async fn write_effects(&self, fx: Effects) -> R<()> {
        self.scatter(fx).await
    }

    /// Several callers' effects in one transaction per cluster, each written as `write_effects`
    /// would, in order: the same rows as one transaction each, for one commit.
    async fn write_effects_batch(&self, batch: &[Effects]) -> R<()> {
        for (db, part) in self.scatter_batch(batch).await? {
            tx!(untracked db, |t| {
                for fx in &part {
                    write_effects(&mut t.tx(), fx).await?;
                }
            });
        }
        Ok(())
    }

    /// Claims on each cluster in turn, home first, until `limit` messages are leased.
    async fn claim_outbox(
        &self,
        worker: &str,
        now: Micros,
        lease_until: Micros,
        limit: u32,
    ) -> R<Vec<OutboxMessage>> {
        let mut claimed = Vec::new();
        for db in self.all() {
            let room = limit.saturating_sub(claimed.len() as u32);
            if room == 0 {
                break;
            }
            claimed.extend(claim_on(db, worker, now, lease_until, room).await?);
        }
        Ok(claimed)
    }

    async fn finish_outbox(
        &self,
        org_id: &OrgId,
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
        let done = tx!(untracked self.route(org_id).await?, |t| {
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
            .bind(org_id.as_str())
            .bind(id)
            .bind(worker)
            .execute(&mut *t)
            .await
            .map_err(err)?
            .rows_affected()
        });
        Ok(done == 1)
    }

    /// One organization's events after `after`, in commit order, of `types` (all when empty).
    async fn list_events(
        &self,
        org_id: &OrgId,
        after: i64,
        types: &[String],
        limit: u32,
    ) -> R<Vec<Event>> {
        let mut sql =
            Sql::new("SELECT org_id, seq, id, type, data, occurred_at FROM events WHERE org_id = ");
        sql.text(org_id).push(" AND seq > ");
        sql.bind(Arg::Int(after));
        if !types.is_empty() {
            sql.push(" AND ").in_list("type", types);
        }
        sql.push(" ORDER BY seq LIMIT ");
        sql.bind(Arg::Int(limit as i64));
        run!(self.route(org_id).await?, |p| {
            let rows = bind_all!(crate::sql::query(&sql), sql.args)
                .fetch_all(p)
                .await
                .map_err(err)?;
            let mut out = Vec::with_capacity(rows.len());
            for r in &rows {
                out.push(event_from!(r));
            }
            Ok(out)
        })
    }

    /// Deletes up to `batch` events (of any organization) older than `before`, on each cluster.
    async fn purge_events(&self, before: Micros, batch: u32) -> R<u64> {
        let mut gone = 0;
        for db in self.all() {
            let n = tx!(untracked db, |t| {
                sqlx::query(
                    "DELETE FROM events WHERE (org_id, seq) IN (SELECT org_id, seq FROM events \
                     WHERE occurred_at < $1 LIMIT $2)",
                )
                .bind(before)
                .bind(batch as i64)
                .execute(&mut *t)
                .await
                .map_err(err)?
                .rows_affected()
            });
            gone += n;
        }
        Ok(gone)
    }
}

async fn claim_on(
    db: &Db,
    worker: &str,
    now: Micros,
    lease_until: Micros,
    limit: u32,
) -> R<Vec<OutboxMessage>> {
    // Most polls find nothing: look on the reading pool first, so an idle worker never
    // takes SQLite's single write connection.
    let due: Option<i64> = run!(db, |p| {
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
    let lock = match db {
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
    let mut out = tx!(untracked db, |t| {
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
