//! Reads only tests make: whole listings the core never needs.

use async_trait::async_trait;
use roster_domain::model::{AuditEvent, OutboxMessage};
use roster_domain::store::TestReads;
use roster_domain::types::OrgId;

use crate::rows::*;
use crate::{err, run, SqlStore, R};

#[async_trait]
impl TestReads for SqlStore {
    async fn list_outbox(&self, org_id: &OrgId) -> R<Vec<OutboxMessage>> {
        run!(self.route(org_id).await?, |p| {
            let rows = sqlx::query(&format!(
                "SELECT {OUTBOX_COLS} FROM outbox WHERE org_id = $1 ORDER BY id"
            ))
            .bind(org_id.as_str())
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

    async fn list_audit(&self, org_id: &OrgId, limit: u32) -> R<Vec<AuditEvent>> {
        let sql = format!(
            "SELECT {AUDIT_COLS} FROM audit_events WHERE org_id = $1 ORDER BY id DESC LIMIT $2"
        );
        run!(self.route(org_id).await?, |p| {
            let rows = sqlx::query(&sql)
                .bind(org_id.as_str())
                .bind(limit as i64)
                .fetch_all(p)
                .await
                .map_err(err)?;
            let mut out = Vec::new();
            for r in &rows {
                out.push(audit_from!(r));
            }
            Ok(out)
        })
    }
}
