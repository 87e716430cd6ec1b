//! Webhook endpoints, the leasing of their messages (like the email outbox's), the delivery log
//! and replays.

use async_trait::async_trait;
use roster_domain::events::Event;
use roster_domain::store::{Effects, StoreError, WebhookStore};
use roster_domain::types::Micros;
use roster_domain::types::OrgId;
use roster_domain::webhooks::{WebhookAttempt, WebhookEndpoint, WebhookJob, WebhookOutcome};

use crate::effects::write_effects;
use crate::rows::*;
use crate::stmt::AsTx;
use crate::{err, run, tx, Db, SqlStore, R};

const ENDPOINT_COLS: &str =
    "org_id, id, url, description, types, enabled, disabled_reason, secret, \
    previous_secret, previous_secret_until, failure_run, created_at, updated_at";

macro_rules! endpoint_from {
    ($r:expr) => {{
        let types: String = get!($r, "types");
        WebhookEndpoint {
            org_id: get!($r, "org_id"),
            id: get!($r, "id"),
            url: get!($r, "url"),
            description: get!($r, "description"),
            types: types
                .split(',')
                .filter(|t| !t.is_empty())
                .map(str::to_owned)
                .collect(),
            enabled: get!($r, "enabled"),
            disabled_reason: get!($r, "disabled_reason"),
            secret: get!($r, "secret"),
            previous_secret: get!($r, "previous_secret"),
            previous_secret_until: get!($r, "previous_secret_until"),
            failure_run: get!($r, "failure_run"),
            created_at: get!($r, "created_at"),
            updated_at: get!($r, "updated_at"),
        }
    }};
}

macro_rules! attempt_from {
    ($r:expr) => {
        WebhookAttempt {
            org_id: get!($r, "org_id"),
            endpoint_id: get!($r, "endpoint_id"),
            event_seq: get!($r, "event_seq"),
            attempt: get!($r, "attempt"),
            started_at: get!($r, "started_at"),
            status_code: get!($r, "status_code"),
            error: get!($r, "error"),
            latency_ms: get!($r, "latency_ms"),
            response_excerpt: get!($r, "response_excerpt"),
            event_id: get!($r, "event_id"),
        }
    };
}

#[async_trait]
impl WebhookStore for SqlStore {
    async fn insert_webhook(&self, w: &WebhookEndpoint, fx: Effects) -> R<()> {
        let (db, fx, rest) = self.route_write(&w.org_id, fx).await?;
        tx!(db, |t| {
            sqlx::query(&format!(
                "INSERT INTO webhook_endpoints ({ENDPOINT_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
            ))
            .bind(&w.org_id)
            .bind(&w.id)
            .bind(&w.url)
            .bind(&w.description)
            .bind(w.types_column())
            .bind(w.enabled)
            .bind(&w.disabled_reason)
            .bind(&w.secret)
            .bind(&w.previous_secret)
            .bind(w.previous_secret_until)
            .bind(w.failure_run)
            .bind(w.created_at)
            .bind(w.updated_at)
            .execute(&mut *t)
            .await
            .map_err(err)?;
            write_effects(&mut t.tx(), &fx).await?;
        });
        self.elsewhere(rest).await
    }

    async fn list_webhooks(&self, org_id: &OrgId) -> R<Vec<WebhookEndpoint>> {
        let db = self.route(org_id).await?;
        run!(db, |p| {
            let rows = sqlx::query(&format!(
                "SELECT {ENDPOINT_COLS} FROM webhook_endpoints WHERE org_id = $1 ORDER BY id"
            ))
            .bind(org_id.as_str())
            .fetch_all(p)
            .await
            .map_err(err)?;
            let mut out = Vec::with_capacity(rows.len());
            for r in &rows {
                out.push(endpoint_from!(r));
            }
            Ok(out)
        })
    }

    async fn get_webhook(&self, org_id: &OrgId, id: &str) -> R<Option<WebhookEndpoint>> {
        let db = self.route(org_id).await?;
        run!(db, |p| {
            let row = sqlx::query(&format!(
                "SELECT {ENDPOINT_COLS} FROM webhook_endpoints WHERE org_id = $1 AND id = $2"
            ))
            .bind(org_id.as_str())
            .bind(id)
            .fetch_optional(p)
            .await
            .map_err(err)?;
            match row {
                Some(r) => Ok(Some(endpoint_from!(&r))),
                None => Ok(None),
            }
        })
    }

    async fn update_webhook(&self, w: &WebhookEndpoint, fx: Effects) -> R<()> {
        let (db, fx, rest) = self.route_write(&w.org_id, fx).await?;
        tx!(db, |t| {
            let n = sqlx::query(
                "UPDATE webhook_endpoints SET url = $1, description = $2, types = $3, enabled = $4, \
                 disabled_reason = $5, secret = $6, previous_secret = $7, previous_secret_until = $8, \
                 failure_run = $9, updated_at = $10 WHERE org_id = $11 AND id = $12",
            )
            .bind(&w.url)
            .bind(&w.description)
            .bind(w.types_column())
            .bind(w.enabled)
            .bind(&w.disabled_reason)
            .bind(&w.secret)
            .bind(&w.previous_secret)
            .bind(w.previous_secret_until)
            .bind(w.failure_run)
            .bind(w.updated_at)
            .bind(&w.org_id)
            .bind(&w.id)
            .execute(&mut *t)
            .await
            .map_err(err)?
            .rows_affected();
            if n == 0 {
                return Err(StoreError::NotFound);
            }
            write_effects(&mut t.tx(), &fx).await?;
        });
        self.elsewhere(rest).await
    }

    async fn delete_webhook(&self, org_id: &OrgId, id: &str, fx: Effects) -> R<()> {
        let (db, fx, rest) = self.route_write(org_id, fx).await?;
        tx!(db, |t| {
            let n = sqlx::query("DELETE FROM webhook_endpoints WHERE org_id = $1 AND id = $2")
                .bind(org_id.as_str())
                .bind(id)
                .execute(&mut *t)
                .await
                .map_err(err)?
                .rows_affected();
            if n == 0 {
                return Err(StoreError::NotFound);
            }
            for table in ["webhook_messages", "webhook_attempts"] {
                sqlx::query(&format!(
                    "DELETE FROM {table} WHERE org_id = $1 AND endpoint_id = $2"
                ))
                .bind(org_id.as_str())
                .bind(id)
                .execute(&mut *t)
                .await
                .map_err(err)?;
            }
            write_effects(&mut t.tx(), &fx).await?;
        });
        self.elsewhere(rest).await
    }

    async fn finish_webhook(
        &self,
        job: &WebhookJob,
        worker: &str,
        a: &WebhookAttempt,
        outcome: &WebhookOutcome,
        disable_after: i64,
        fx: Effects,
    ) -> R<(bool, bool)> {
        let (status, next) = match outcome {
            WebhookOutcome::Delivered => ("sent", None),
            WebhookOutcome::Retry(at) => ("pending", Some(*at)),
            WebhookOutcome::Failed | WebhookOutcome::Gone => ("failed", None),
        };
        let (db, fx, rest) = self.route_write(&job.org_id, fx).await?;
        let out: R<(bool, bool)> = tx!(untracked db, |t| {
            let held = sqlx::query(
                "UPDATE webhook_messages SET status = $1, next_attempt_at = COALESCE($2, next_attempt_at), \
                 lease_owner = NULL WHERE org_id = $3 AND endpoint_id = $4 AND event_seq = $5 \
                 AND status = 'sending' AND lease_owner = $6",
            )
            .bind(status)
            .bind(next)
            .bind(&job.org_id)
            .bind(&job.endpoint_id)
            .bind(job.event_seq)
            .bind(worker)
            .execute(&mut *t)
            .await
            .map_err(err)?
            .rows_affected()
                == 1;
            if !held {
                return Ok((false, false));
            }
            sqlx::query(
                "INSERT INTO webhook_attempts (org_id, endpoint_id, event_seq, attempt, started_at, status_code, \
                 error, latency_ms, response_excerpt) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
                 ON CONFLICT DO NOTHING",
            )
            .bind(&a.org_id)
            .bind(&a.endpoint_id)
            .bind(a.event_seq)
            .bind(a.attempt)
            .bind(a.started_at)
            .bind(a.status_code)
            .bind(&a.error)
            .bind(a.latency_ms)
            .bind(&a.response_excerpt)
            .execute(&mut *t)
            .await
            .map_err(err)?;
            let mut disabled = false;
            match outcome {
                WebhookOutcome::Delivered => {
                    sqlx::query("UPDATE webhook_endpoints SET failure_run = 0 WHERE org_id = $1 AND id = $2")
                        .bind(&job.org_id)
                        .bind(&job.endpoint_id)
                        .execute(&mut *t)
                        .await
                        .map_err(err)?;
                }
                WebhookOutcome::Gone => {
                    disabled = sqlx::query(
                        "UPDATE webhook_endpoints SET enabled = $1, disabled_reason = $2 WHERE org_id = $3 AND id = $4 AND enabled = $5",
                    )
                    .bind(false)
                    .bind("the receiver answered 410 Gone")
                    .bind(&job.org_id)
                    .bind(&job.endpoint_id)
                    .bind(true)
                    .execute(&mut *t)
                    .await
                    .map_err(err)?
                    .rows_affected()
                        == 1;
                }
                _ => {
                    sqlx::query("UPDATE webhook_endpoints SET failure_run = failure_run + 1 WHERE org_id = $1 AND id = $2")
                        .bind(&job.org_id)
                        .bind(&job.endpoint_id)
                        .execute(&mut *t)
                        .await
                        .map_err(err)?;
                    if disable_after > 0 {
                        disabled = sqlx::query(
                            "UPDATE webhook_endpoints SET enabled = $1, disabled_reason = $2 WHERE org_id = $3 AND id = $4 \
                             AND enabled = $5 AND failure_run >= $6",
                        )
                        .bind(false)
                        .bind(format!("{disable_after} failed attempts in a row"))
                        .bind(&job.org_id)
                        .bind(&job.endpoint_id)
                        .bind(true)
                        .bind(disable_after)
                        .execute(&mut *t)
                        .await
                        .map_err(err)?
                        .rows_affected()
                            == 1;
                    }
                }
            }
            if disabled {
                write_effects(&mut t.tx(), &fx).await?;
            }
            Ok((true, disabled))
        });
        let out = out?;
        self.elsewhere(rest).await?;
        Ok(out)
    }

    async fn list_webhook_attempts(
        &self,
        org_id: &OrgId,
        endpoint_id: &str,
        limit: u32,
    ) -> R<Vec<WebhookAttempt>> {
        let db = self.route(org_id).await?;
        run!(db, |p| {
            let rows = sqlx::query(
                "SELECT a.org_id, a.endpoint_id, a.event_seq, a.attempt, a.started_at, a.status_code, a.error, \
                 a.latency_ms, a.response_excerpt, e.id AS event_id FROM webhook_attempts a \
                 LEFT JOIN events e ON e.org_id = a.org_id AND e.seq = a.event_seq \
                 WHERE a.org_id = $1 AND a.endpoint_id = $2 \
                 ORDER BY a.started_at DESC, a.event_seq DESC, a.attempt DESC LIMIT $3",
            )
            .bind(org_id.as_str())
            .bind(endpoint_id)
            .bind(limit as i64)
            .fetch_all(p)
            .await
            .map_err(err)?;
            let mut out = Vec::with_capacity(rows.len());
            for r in &rows {
                out.push(attempt_from!(r));
            }
            Ok(out)
        })
    }

    async fn replay_webhook(
        &self,
        org_id: &OrgId,
        endpoint_id: &str,
        event_id: Option<&str>,
        since: Option<i64>,
        now: i64,
    ) -> R<u64> {
        let db = self.route(org_id).await?;
        let n = tx!(untracked db, |t| {
            // Messages already queued are reset; events never queued for it (sent before the
            // endpoint existed, or filtered then) are queued now: the one event asked for, or
            // every event since the time that the endpoint's filter takes now.
            let pick = "SELECT e.seq FROM events e JOIN webhook_endpoints w ON w.org_id = e.org_id AND w.id = $5 \
                WHERE e.org_id = $1 AND (e.id = $2 OR ($2 IS NULL AND e.occurred_at >= $3 \
                AND (w.types = '' OR w.types LIKE '%,' || e.type || ',%')))";
            sqlx::query(&format!(
                "UPDATE webhook_messages SET status = 'pending', next_attempt_at = $4, lease_owner = NULL \
                 WHERE org_id = $1 AND endpoint_id = $5 AND status IN ('sent', 'failed') AND event_seq IN ({pick})"
            ))
            .bind(org_id.as_str())
            .bind(event_id)
            .bind(since.unwrap_or(i64::MAX))
            .bind(now)
            .bind(endpoint_id)
            .execute(&mut *t)
            .await
            .map_err(err)?;
            sqlx::query(&format!(
                "INSERT INTO webhook_messages (org_id, endpoint_id, event_seq, status, attempts, next_attempt_at, created_at) \
                 SELECT $1, $5, seq, 'pending', 0, $4, $4 FROM events WHERE seq IN ({pick}) AND org_id = $1 \
                 ON CONFLICT DO NOTHING"
            ))
            .bind(org_id.as_str())
            .bind(event_id)
            .bind(since.unwrap_or(i64::MAX))
            .bind(now)
            .bind(endpoint_id)
            .execute(&mut *t)
            .await
            .map_err(err)?;
            sqlx::query_scalar::<_, i64>(&format!(
                "SELECT COUNT(*) FROM webhook_messages WHERE org_id = $1 AND endpoint_id = $5 AND status = 'pending' \
                 AND next_attempt_at = $4 AND event_seq IN ({pick})"
            ))
            .bind(org_id.as_str())
            .bind(event_id)
            .bind(since.unwrap_or(i64::MAX))
            .bind(now)
            .bind(endpoint_id)
            .fetch_one(&mut *t)
            .await
            .map_err(err)?
        });
        Ok(n as u64)
    }

    async fn claim_webhooks(
        &self,
        worker: &str,
        now: Micros,
        lease_until: Micros,
        limit: u32,
    ) -> R<Vec<WebhookJob>> {
        let mut out = Vec::new();
        for db in self.all() {
            out.extend(claim_on(db, worker, now, lease_until, limit).await?);
        }
        Ok(out)
    }
}

async fn claim_on(
    db: &Db,
    worker: &str,
    now: i64,
    lease_until: i64,
    limit: u32,
) -> R<Vec<WebhookJob>> {
    // As the outbox: look on the reading pool first, so an idle worker takes no write lock.
    let due: Option<i64> = run!(db, |p| {
        sqlx::query_scalar(
            "SELECT next_attempt_at FROM webhook_messages WHERE status IN ('pending', 'sending') AND next_attempt_at <= $1 LIMIT 1",
        )
        .bind(now)
        .fetch_optional(p)
        .await
        .map_err(err)?
    });
    if due.is_none() {
        return Ok(Vec::new());
    }
    let lock = match db {
        Db::Sqlite { .. } => "",
        Db::Postgres(_) => " FOR UPDATE SKIP LOCKED",
    };
    let sql = format!(
        "UPDATE webhook_messages SET status = 'sending', lease_owner = $1, next_attempt_at = $2, \
         attempts = attempts + 1 \
         WHERE (org_id, endpoint_id, event_seq) IN (SELECT org_id, endpoint_id, event_seq FROM webhook_messages \
           WHERE status IN ('pending', 'sending') AND next_attempt_at <= $3 \
           ORDER BY next_attempt_at LIMIT $4{lock}) \
         RETURNING org_id, endpoint_id, event_seq, attempts"
    );
    let jobs = tx!(untracked db, |t| {
        let claimed: Vec<(String, String, i64, i64)> = sqlx::query_as(&sql)
            .bind(worker)
            .bind(lease_until)
            .bind(now)
            .bind(limit as i64)
            .fetch_all(&mut *t)
            .await
            .map_err(err)?;
        let mut jobs = Vec::with_capacity(claimed.len());
        for (org_id, endpoint_id, event_seq, attempt) in claimed {
            let event = sqlx::query(
                "SELECT org_id, seq, id, type, data, occurred_at FROM events WHERE org_id = $1 AND seq = $2",
            )
            .bind(&org_id)
            .bind(event_seq)
            .fetch_optional(&mut *t)
            .await
            .map_err(err)?;
            let event = match event {
                Some(r) => Some(Event {
                    org_id: get!(&r, "org_id"),
                    seq: get!(&r, "seq"),
                    id: get!(&r, "id"),
                    event_type: get!(&r, "type"),
                    data: get_json!(&r, "data"),
                    occurred_at: get!(&r, "occurred_at"),
                }),
                None => None,
            };
            let endpoint = sqlx::query(&format!(
                "SELECT {ENDPOINT_COLS} FROM webhook_endpoints WHERE org_id = $1 AND id = $2 AND enabled = $3"
            ))
            .bind(&org_id)
            .bind(&endpoint_id)
            .bind(true)
            .fetch_optional(&mut *t)
            .await
            .map_err(err)?;
            let endpoint = match endpoint {
                Some(r) => Some(endpoint_from!(&r)),
                None => None,
            };
            jobs.push(WebhookJob { org_id, endpoint_id, event_seq, attempt, event, endpoint });
        }
        jobs
    });
    Ok(jobs)
}
