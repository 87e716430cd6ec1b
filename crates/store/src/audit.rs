//! The audit log: one organization's events, and retention over every organization.

use async_trait::async_trait;
use roster_domain::model::AuditEvent;
use roster_domain::paging::AuditQuery;
use roster_domain::store::AuditStore;
use roster_domain::types::Micros;
use roster_domain::types::OrgId;

use crate::rows::*;
use crate::sql::{bind_all, Arg, Sql};
use crate::{err, run, tx, SqlStore, R};

#[async_trait]
impl AuditStore for SqlStore {
    /// Audit events of one organization, newest first. Served by the `(org_id, [actor_user_id |
    /// target_user_id,] created_at, id)` indexes of migration 0005.
    async fn query_audit(&self, org_id: &OrgId, q: &AuditQuery) -> R<Vec<AuditEvent>> {
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
        run!(self.route(org_id).await?, |p| {
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

    /// Deletes one batch of events older than `before` on each cluster, so that retention
    /// never holds a long write lock (SQLite has one writer).
    async fn purge_audit(&self, before: Micros, batch: u32) -> R<u64> {
        let q = "DELETE FROM audit_events WHERE (org_id, id) IN \
                 (SELECT org_id, id FROM audit_events WHERE created_at < $1 LIMIT $2)";
        let mut gone = 0;
        for db in self.all() {
            gone += tx!(untracked db, |t| {
                sqlx::query(q)
                    .bind(before)
                    .bind(batch as i64)
                    .execute(&mut *t)
                    .await
                    .map_err(err)?
                    .rows_affected()
            });
        }
        Ok(gone)
    }
}
