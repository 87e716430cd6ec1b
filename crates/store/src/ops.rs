//! What operations read and prune: the audit log listing and its retention, the outbox depth
//! and the connection pools' use.

use roster_domain::model::{ActorRef, AuditEvent};
use roster_domain::paging::AuditQuery;

use crate::rows::{get, get_json};
use crate::sql::{bind_all, Arg, Sql};
use crate::{err, run, tx, Db, R};

const AUDIT_COLS: &str = "org_id, id, action, actor_kind, actor_user_id, actor_org_id, \
    target_user_id, request_id, details, created_at";

/// One pool's connections, for the metrics.
#[derive(Debug, Clone)]
pub struct PoolStats {
    pub name: &'static str,
    /// Open connections, idle or in use.
    pub size: u32,
    pub idle: usize,
    pub max: u32,
}

macro_rules! audit_from {
    ($r:expr) => {{
        let kind: String = get!($r, "actor_kind");
        AuditEvent {
            org_id: get!($r, "org_id"),
            id: get!($r, "id"),
            action: get!($r, "action"),
            actor: ActorRef {
                kind: actor_kind(&kind),
                user_id: get!($r, "actor_user_id"),
                org_id: get!($r, "actor_org_id"),
            },
            target_user_id: get!($r, "target_user_id"),
            request_id: get!($r, "request_id"),
            details: get_json!($r, "details"),
            created_at: get!($r, "created_at"),
        }
    }};
}

fn actor_kind(kind: &str) -> &'static str {
    match kind {
        "user" => "user",
        "api_key" => "api_key",
        "service" => "service",
        "system" => "system",
        _ => "anonymous",
    }
}

impl Db {
    /// Audit events of one organization, newest first. Served by the `(org_id, [actor_user_id |
    /// target_user_id,] created_at, id)` indexes of migration 0005.
    pub(crate) async fn query_audit(&self, org_id: &str, q: &AuditQuery) -> R<Vec<AuditEvent>> {
        let mut sql = Sql::new(&format!(
            "SELECT {AUDIT_COLS} FROM audit_events WHERE org_id = "
        ));
        sql.text(org_id);
        for (col, value) in [
            ("actor_user_id", &q.actor),
            ("target_user_id", &q.target_user_id),
            ("action", &q.action),
        ] {
            if let Some(v) = value {
                sql.push(&format!(" AND {col} = ")).text(v);
            }
        }
        if let Some(from) = q.from {
            sql.push(" AND created_at >= ").bind(Arg::Int(from));
        }
        if let Some(to) = q.to {
            sql.push(" AND created_at < ").bind(Arg::Int(to));
        }
        if let Some((at, id)) = &q.before {
            sql.push(" AND (created_at < ").bind(Arg::Int(*at));
            sql.push(" OR (created_at = ").bind(Arg::Int(*at));
            sql.push(" AND id < ").text(id).push("))");
        }
        sql.push(" ORDER BY created_at DESC, id DESC LIMIT ")
            .bind(Arg::Int(q.limit as i64));
        run!(self, |p| {
            let rows = bind_all!(crate::sql::query(&sql), sql.args)
                .fetch_all(p)
                .await
                .map_err(err)?;
            let mut out = Vec::with_capacity(rows.len());
            for r in &rows {
                out.push(audit_from!(r));
            }
            Ok(out)
        })
    }

    /// Deletes one batch of events older than `before`, so that retention never holds a long
    /// write lock (SQLite has one writer).
    pub(crate) async fn purge_audit(&self, before: i64, batch: u32) -> R<u64> {
        let q = "DELETE FROM audit_events WHERE (org_id, id) IN \
                 (SELECT org_id, id FROM audit_events WHERE created_at < $1 LIMIT $2)";
        let done = tx!(untracked self, |t| {
            sqlx::query(q)
                .bind(before)
                .bind(batch as i64)
                .execute(&mut *t)
                .await
                .map_err(err)?
                .rows_affected()
        });
        Ok(done)
    }

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
