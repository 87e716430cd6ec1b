//! Jobs and their row errors. A batch's progress is written inside the batch's own
//! transaction, by `effects::write_job_progress` (called from `effects::write_effects`).

use async_trait::async_trait;
use roster_domain::store::{
    Effects, Job, JobEnd, JobError, JobFormat, JobKind, JobProgress, JobState, JobStore, StoreError,
};
use roster_domain::types::Micros;
use roster_domain::types::OrgId;

use crate::effects::{int, write_effects, write_job_progress};
use crate::stmt::AsTx;
use crate::{err, json_err, run, tx, SqlStore, R};

const JOB_COLS: &str = "org_id, id, kind, format, state, params, created_by, rows_done, \
     rows_applied, rows_total, error_count, bytes_done, bytes_total, message, created_at, \
     updated_at, finished_at";

fn bad(what: &str, v: &str) -> StoreError {
    StoreError::Other(anyhow::anyhow!("a job with an unknown {what} '{v}'"))
}

macro_rules! job_from {
    ($r:expr) => {{
        let kind: String = sqlx::Row::try_get($r, "kind").map_err(err)?;
        let format: String = sqlx::Row::try_get($r, "format").map_err(err)?;
        let state: String = sqlx::Row::try_get($r, "state").map_err(err)?;
        let params: String = sqlx::Row::try_get($r, "params").map_err(err)?;
        let n = |c: &str| -> R<u64> {
            let v: i64 = sqlx::Row::try_get($r, c).map_err(err)?;
            Ok(v.max(0) as u64)
        };
        let opt = |c: &str| -> R<Option<u64>> {
            let v: Option<i64> = sqlx::Row::try_get($r, c).map_err(err)?;
            Ok(v.map(|v| v.max(0) as u64))
        };
        Job {
            org_id: sqlx::Row::try_get($r, "org_id").map_err(err)?,
            id: sqlx::Row::try_get($r, "id").map_err(err)?,
            kind: JobKind::parse(&kind).ok_or_else(|| bad("kind", &kind))?,
            format: JobFormat::parse(&format).ok_or_else(|| bad("format", &format))?,
            state: JobState::parse(&state).ok_or_else(|| bad("state", &state))?,
            params: serde_json::from_str(&params).map_err(json_err)?,
            created_by: sqlx::Row::try_get($r, "created_by").map_err(err)?,
            rows_done: n("rows_done")?,
            rows_applied: n("rows_applied")?,
            rows_total: opt("rows_total")?,
            error_count: n("error_count")?,
            bytes_done: n("bytes_done")?,
            bytes_total: opt("bytes_total")?,
            message: sqlx::Row::try_get($r, "message").map_err(err)?,
            created_at: sqlx::Row::try_get($r, "created_at").map_err(err)?,
            updated_at: sqlx::Row::try_get($r, "updated_at").map_err(err)?,
            finished_at: sqlx::Row::try_get($r, "finished_at").map_err(err)?,
        }
    }};
}

#[async_trait]
impl JobStore for SqlStore {
    async fn insert_job(&self, j: &Job, fx: Effects) -> R<()> {
        let (db, fx, rest) = self.route_write(&j.org_id, fx).await?;
        tx!(untracked db, |t| {
            sqlx::query(
                "INSERT INTO jobs (org_id, id, kind, format, state, params, created_by, rows_done, \
                 rows_applied, rows_total, error_count, bytes_done, bytes_total, message, created_at, \
                 updated_at, finished_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)",
            )
            .bind(&j.org_id)
            .bind(&j.id)
            .bind(j.kind.as_str())
            .bind(j.format.as_str())
            .bind(j.state.as_str())
            .bind(j.params.to_string())
            .bind(&j.created_by)
            .bind(int(j.rows_done))
            .bind(int(j.rows_applied))
            .bind(j.rows_total.map(int))
            .bind(int(j.error_count))
            .bind(int(j.bytes_done))
            .bind(j.bytes_total.map(int))
            .bind(&j.message)
            .bind(j.created_at)
            .bind(j.updated_at)
            .bind(j.finished_at)
            .execute(&mut *t)
            .await
            .map_err(err)?;
            write_effects(&mut t.tx(), &fx).await?;
        });
        self.elsewhere(rest).await
    }

    async fn get_job(&self, org_id: &OrgId, id: &str) -> R<Option<Job>> {
        let db = self.route(org_id).await?;
        let sql = format!("SELECT {JOB_COLS} FROM jobs WHERE org_id = $1 AND id = $2");
        run!(db, |p| {
            match sqlx::query(&sql)
                .bind(org_id.as_str())
                .bind(id)
                .fetch_optional(p)
                .await
                .map_err(err)?
            {
                Some(r) => Ok(Some(job_from!(&r))),
                None => Ok(None),
            }
        })
    }

    async fn list_jobs(&self, org_id: &OrgId, limit: u32) -> R<Vec<Job>> {
        let db = self.route(org_id).await?;
        let sql = format!(
            "SELECT {JOB_COLS} FROM jobs WHERE org_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2"
        );
        run!(db, |p| {
            let rows = sqlx::query(&sql)
                .bind(org_id.as_str())
                .bind(i64::from(limit))
                .fetch_all(p)
                .await
                .map_err(err)?;
            let mut out = Vec::with_capacity(rows.len());
            for r in &rows {
                out.push(job_from!(r));
            }
            Ok(out)
        })
    }

    async fn record_job_progress(&self, progress: &JobProgress) -> R<bool> {
        let db = self.route(&progress.org_id).await?;
        let done = tx!(untracked db, |t| write_job_progress(&mut t.tx(), progress).await?);
        Ok(done)
    }

    async fn end_job(&self, org_id: &OrgId, id: &str, end: &JobEnd, fx: Effects) -> R<bool> {
        let (db, fx, rest) = self.route_write(org_id, fx).await?;
        let ended = tx!(untracked db, |t| {
            let done = sqlx::query(
                "UPDATE jobs SET state = $1, message = $2, updated_at = $3, finished_at = $3 \
                 WHERE org_id = $4 AND id = $5 AND state = 'running'",
            )
            .bind(end.state.as_str())
            .bind(&end.message)
            .bind(end.at)
            .bind(org_id.as_str())
            .bind(id)
            .execute(&mut *t)
            .await
            .map_err(err)?;
            if done.rows_affected() == 0 {
                false
            } else {
                write_effects(&mut t.tx(), &fx).await?;
                true
            }
        });
        if ended {
            self.elsewhere(rest).await?;
        }
        Ok(ended)
    }

    async fn fail_stale_jobs(&self, org_id: &OrgId, before: Micros, end: &JobEnd) -> R<u64> {
        let db = self.route(org_id).await?;
        let n = tx!(untracked db, |t| {
            sqlx::query(
                "UPDATE jobs SET state = $1, message = $2, finished_at = $3 \
                 WHERE org_id = $4 AND kind = 'import' AND state = 'running' AND updated_at < $5",
            )
            .bind(end.state.as_str())
            .bind(&end.message)
            .bind(end.at)
            .bind(org_id.as_str())
            .bind(before)
            .execute(&mut *t)
            .await
            .map_err(err)?
            .rows_affected()
        });
        Ok(n)
    }

    async fn job_errors(
        &self,
        org_id: &OrgId,
        id: &str,
        after_seq: u64,
        limit: u32,
    ) -> R<Vec<JobError>> {
        let db = self.route(org_id).await?;
        run!(db, |p| {
            let rows: Vec<(i64, i64, String, String)> = sqlx::query_as(
                "SELECT seq, line, row_key, reason FROM job_errors WHERE org_id = $1 AND job_id = $2 \
                 AND seq > $3 ORDER BY seq LIMIT $4",
            )
            .bind(org_id.as_str())
            .bind(id)
            .bind(int(after_seq))
            .bind(i64::from(limit))
            .fetch_all(p)
            .await
            .map_err(err)?;
            Ok(rows
                .into_iter()
                .map(|(seq, line, key, reason)| JobError {
                    seq: seq.max(0) as u64,
                    line: line.max(0) as u64,
                    key,
                    reason,
                })
                .collect())
        })
    }
}
