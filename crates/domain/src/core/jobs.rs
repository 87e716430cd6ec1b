//! Jobs: an organization's long work with a record of its progress.
//!
//! - An **import** reads its file while it is uploaded ([`ImportRun`]): every batch of lines is
//!   one transaction that also adds the batch to the job's counters and row errors, so what the
//!   record says was applied was applied, and nothing applied goes unrecorded. A running import
//!   writes a heartbeat for as long as it runs here; one not heard of for
//!   [`STALE_BEATS`] heartbeats is failed as interrupted when its organization's jobs are next
//!   read (its server stopped: the rows it recorded stay, the rest of the file was never read).
//!   A cancelled import's next batch is refused by the store, so nothing is applied after it.
//! - An **export** is a filter and a bound: the users matching it that existed when the job
//!   started, read by keyset over the organization's users as the result is downloaded (no copy
//!   is kept, so memory does not grow with the organization). Its first complete download ends
//!   it; it may be downloaded again, and a restart costs nothing but a new download.

use crate::types::OrgId;
use futures::{Stream, StreamExt};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::access::Context;
use super::bulk_create::ImportRun;
use super::Core;
use crate::error::{Error, Location, Result};
use crate::import::Line;
use crate::paging::{Keyset, Position, UserQuery};
use crate::permissions::perm;
use crate::store::{
    Effects, ExportedUser, Job, JobEnd, JobError, JobFormat, JobKind, JobProgress, JobState,
};
use crate::types::{new_uuid7, Micros, UserId};

/// Users an export reads per query.
pub const EXPORT_PAGE: u32 = 1000;
/// Newest jobs a listing shows.
const JOB_LIST_MAX: u32 = 100;
/// Missed heartbeats after which a running import is taken for interrupted.
pub const STALE_BEATS: u32 = 10;
/// Longest search term of an export's filter.
const SEARCH_MAX: usize = 200;

/// How an import job was asked for.
#[derive(Debug, Clone)]
pub struct ImportJobInput {
    pub format: JobFormat,
    /// The welcome emails' language.
    pub language: String,
    /// Rows the client says the file holds, and its length in bytes, when known (for the ETA).
    pub rows_total: Option<u64>,
    pub bytes_total: Option<u64>,
}

/// Which users an export writes.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ExportFilter {
    /// A substring of the name or email, case-insensitive.
    #[serde(default)]
    pub search: Option<String>,
    /// Leave out deactivated users.
    #[serde(default)]
    pub active_only: bool,
}

/// A job and what follows from it.
#[derive(Debug, Clone)]
pub struct JobView {
    pub job: Job,
    /// Seconds until a running job is done, at its pace so far, when its size is known.
    pub eta_secs: Option<f64>,
}

impl JobView {
    fn new(job: Job, now: Micros) -> Self {
        let elapsed = (now - job.created_at).max(0) as f64 / 1e6;
        let fraction = match (job.bytes_total, job.rows_total) {
            (Some(total), _) if total > 0 => Some(job.bytes_done as f64 / total as f64),
            (_, Some(total)) if total > 0 => Some(job.rows_done as f64 / total as f64),
            _ => None,
        };
        let eta_secs = match (job.state, fraction) {
            (JobState::Running, Some(f)) if f > 0.0 => Some((elapsed * (1.0 - f) / f).max(0.0)),
            _ => None,
        };
        Self { job, eta_secs }
    }
}

/// Why an import's reading stopped.
enum Stop {
    End,
    Upload(String),
    Broken(Error),
    Cancelled,
}

/// An import's heartbeat task, told to stop when the job is done. It is never aborted: a
/// task dropped inside a write could leave its connection mid-transaction; told to stop, it
/// ends between two beats, after the write it may be in.
struct Heartbeat {
    stop: std::sync::Arc<tokio::sync::Notify>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Heartbeat {
    /// Stops the heartbeat and waits for it: no beat is written after this.
    async fn stop(mut self) {
        self.stop.notify_one();
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for Heartbeat {
    /// A job that ended by an error stops its heartbeat too, without waiting for it.
    fn drop(&mut self) {
        self.stop.notify_one();
    }
}

fn permission(kind: JobKind) -> &'static str {
    match kind {
        JobKind::Import => perm::USER_INVITE,
        JobKind::Export => perm::USER_GET_INFO,
    }
}

impl Core {
    fn job_end(&self, state: JobState, message: Option<String>) -> JobEnd {
        JobEnd {
            state,
            message,
            at: self.now(),
        }
    }

    /// Fails the organization's imports whose server stopped (no heartbeat for a while).
    async fn sweep_jobs(&self, org_id: &OrgId) -> Result<()> {
        let stale = self.config.job_heartbeat * STALE_BEATS;
        let before = self.now() - stale.as_micros() as Micros;
        let end = self.job_end(
            JobState::Failed,
            Some("interrupted: the server running the import stopped; the rows counted were applied, the rest of the file was not read".into()),
        );
        self.store.fail_stale_jobs(org_id, before, &end).await?;
        Ok(())
    }

    /// A job the caller may see: in its organization, and of a kind it may run.
    async fn visible_job(&self, ctx: &Context, org_ref: &str, id: &str) -> Result<Job> {
        let org = self.find_org(org_ref).await?;
        let access = ctx.access(&org)?;
        self.sweep_jobs(&org.id).await?;
        let job = self
            .store
            .get_job(&org.id, id)
            .await?
            .ok_or(Error::NotFound("job"))?;
        access.require_org(permission(job.kind))?;
        Ok(job)
    }

    /// Creates an import job and the run that will read its file.
    pub async fn start_import_job<'a>(
        &'a self,
        ctx: &'a Context,
        org_ref: &str,
        input: ImportJobInput,
    ) -> Result<(Job, ImportRun<'a>)> {
        let mut run = self.begin_import(ctx, org_ref, &input.language).await?;
        let org_id = run.org().id.clone();
        let job = self
            .new_job(
                ctx,
                &org_id,
                JobKind::Import,
                input.format,
                json!({ "language": input.language }),
            )
            .await
            .map(|mut j| {
                j.rows_total = input.rows_total;
                j.bytes_total = input.bytes_total;
                j
            })?;
        self.insert_job(ctx, &job).await?;
        run.for_job(&job.id);
        Ok((job, run))
    }

    async fn new_job(
        &self,
        ctx: &Context,
        org_id: &OrgId,
        kind: JobKind,
        format: JobFormat,
        params: serde_json::Value,
    ) -> Result<Job> {
        let now = self.now();
        Ok(Job {
            org_id: String::from(org_id.to_owned()),
            id: new_uuid7(),
            kind,
            format,
            state: JobState::Running,
            params,
            created_by: ctx.principal().map(|p| p.user_id.clone()),
            rows_done: 0,
            rows_applied: 0,
            rows_total: None,
            error_count: 0,
            bytes_done: 0,
            bytes_total: None,
            message: None,
            created_at: now,
            updated_at: now,
            finished_at: None,
        })
    }

    async fn insert_job(&self, ctx: &Context, job: &Job) -> Result<()> {
        let event = self.audit(
            ctx,
            &OrgId::from(&job.org_id),
            "job.started",
            None,
            json!({ "job": job.id, "kind": job.kind.as_str(), "format": job.format.as_str() }),
        );
        self.store.insert_job(job, Effects::audit(event)).await?;
        Ok(())
    }

    /// Reads an import's file: `input` yields the lines read so far with how many bytes of the
    /// upload they end at, or why the upload broke off. Ends the job and returns it; only an
    /// outage of the store is an error (the job is then failed, if it still can be).
    pub async fn run_import_job<S>(
        &self,
        job: &Job,
        mut run: ImportRun<'_>,
        mut input: S,
    ) -> Result<JobView>
    where
        S: Stream<Item = std::result::Result<(Vec<Line>, u64), String>> + Unpin,
    {
        // The heartbeat beats while the job lives in this process, whatever the job is doing
        // (a slow batch of passwords included); it stops when the job is no longer running.
        let beat = self.config.job_heartbeat;
        let cancelled = std::sync::Arc::new(tokio::sync::Notify::new());
        let stop = std::sync::Arc::new(tokio::sync::Notify::new());
        let task = {
            let (store, cancelled, stop) = (self.store.clone(), cancelled.clone(), stop.clone());
            let clock = self.config.clock.clone();
            let (org_id, job_id) = (job.org_id.clone(), job.id.clone());
            tokio::spawn(async move {
                loop {
                    tokio::select! {
                        _ = tokio::time::sleep(beat) => {}
                        _ = stop.notified() => return,
                    }
                    let progress = JobProgress {
                        org_id: org_id.clone(),
                        job_id: job_id.clone(),
                        at: clock.now(),
                        ..JobProgress::default()
                    };
                    if let Ok(false) = store.record_job_progress(&progress).await {
                        cancelled.notify_one();
                        return;
                    }
                }
            })
        };
        let heart = Heartbeat {
            stop,
            task: Some(task),
        };
        let stop = loop {
            if run.stopped() {
                break Stop::Cancelled;
            }
            let next = tokio::select! {
                next = input.next() => next,
                _ = cancelled.notified() => break Stop::Cancelled,
            };
            match next {
                None => break Stop::End,
                Some(Ok((lines, read))) => {
                    if let Err(e) = run.push(lines, read).await {
                        break Stop::Broken(e);
                    }
                }
                Some(Err(why)) => break Stop::Upload(why),
            }
        };
        let end = match stop {
            Stop::Cancelled => {
                // The batch being written when the cancel came is waited for: the store takes
                // or refuses it, and nothing this job started is still running once it answers.
                run.abandon().await;
                None
            }
            Stop::End => match run.finish().await {
                Ok(_) => Some(self.job_end(JobState::Succeeded, None)),
                Err(Error::Validation(v)) => Some(
                    self.job_end(
                        JobState::Failed,
                        Some(
                            v.into_iter()
                                .map(|e| e.message)
                                .collect::<Vec<_>>()
                                .join("; "),
                        ),
                    ),
                ),
                Err(e) => {
                    heart.stop().await;
                    return self.fail_job(job, e).await;
                }
            },
            Stop::Upload(why) => {
                // The lines read whole are applied; what follows them never arrived.
                let _ = run.finish().await;
                Some(self.job_end(
                    JobState::Failed,
                    Some(format!("the upload broke off before the end of the file ({why}); the rows counted were applied")),
                ))
            }
            Stop::Broken(e) => {
                heart.stop().await;
                return self.fail_job(job, e).await;
            }
        };
        // The heartbeat beat through the last batch (a slow one of passwords included).
        heart.stop().await;
        if let Some(end) = end {
            self.store
                .end_job(&OrgId::from(&job.org_id), &job.id, &end, Effects::default())
                .await?;
        }
        let done = self
            .store
            .get_job(&OrgId::from(&job.org_id), &job.id)
            .await?
            .ok_or(Error::NotFound("job"))?;
        Ok(JobView::new(done, self.now()))
    }

    async fn fail_job(&self, job: &Job, e: Error) -> Result<JobView> {
        let end = self.job_end(JobState::Failed, Some(format!("stopped by an error: {e}")));
        let _ = self
            .store
            .end_job(&OrgId::from(&job.org_id), &job.id, &end, Effects::default())
            .await;
        Err(e)
    }

    /// Creates an export job: the users matching `filter` as of now.
    pub async fn start_export_job(
        &self,
        ctx: &Context,
        org_ref: &str,
        format: JobFormat,
        filter: ExportFilter,
    ) -> Result<JobView> {
        let org = self.find_org(org_ref).await?;
        ctx.access(&org)?.require_org(perm::USER_GET_INFO)?;
        let search = filter
            .search
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty());
        if search.is_some_and(|s| s.chars().count() > SEARCH_MAX) {
            return Err(Error::field(
                Location::Body,
                "filter.search",
                "too_long",
                format!("at most {SEARCH_MAX} characters"),
            ));
        }
        let filter = ExportFilter {
            search: search.map(str::to_owned),
            ..filter
        };
        let mut q = export_query(&filter);
        q.page.limit = u32::MAX;
        let total = self.store.count_users(&org.id, &q).await?;
        // Users made from now on have greater ids (UUIDv7): the bound leaves them out.
        let upto = new_uuid7();
        let params = json!({ "filter": filter, "upto": upto });
        let mut job = self
            .new_job(ctx, &org.id, JobKind::Export, format, params)
            .await?;
        job.rows_total = Some(total.max(0) as u64);
        self.insert_job(ctx, &job).await?;
        Ok(JobView::new(job, self.now()))
    }

    pub async fn job(&self, ctx: &Context, org_ref: &str, id: &str) -> Result<JobView> {
        let job = self.visible_job(ctx, org_ref, id).await?;
        Ok(JobView::new(job, self.now()))
    }

    /// The organization's newest jobs of the kinds the caller may run.
    pub async fn jobs(&self, ctx: &Context, org_ref: &str) -> Result<Vec<JobView>> {
        let org = self.find_org(org_ref).await?;
        let access = ctx.access(&org)?;
        let kinds: Vec<JobKind> = [JobKind::Import, JobKind::Export]
            .into_iter()
            .filter(|k| access.require_org(permission(*k)).is_ok())
            .collect();
        if kinds.is_empty() {
            access.require_org(perm::USER_GET_INFO)?;
        }
        self.sweep_jobs(&org.id).await?;
        let now = self.now();
        Ok(self
            .store
            .list_jobs(&org.id, JOB_LIST_MAX)
            .await?
            .into_iter()
            .filter(|j| kinds.contains(&j.kind))
            .map(|j| JobView::new(j, now))
            .collect())
    }

    /// Cancels a running job: an import applies no batch after this; an export's download stops.
    pub async fn cancel_job(&self, ctx: &Context, org_ref: &str, id: &str) -> Result<JobView> {
        let job = self.visible_job(ctx, org_ref, id).await?;
        if job.state != JobState::Running {
            return Err(Error::Conflict(format!(
                "the job has already ended ({})",
                job.state.as_str()
            )));
        }
        let fx = Effects::audit(self.audit(
            ctx,
            &OrgId::from(&job.org_id),
            "job.cancelled",
            None,
            json!({ "job": job.id }),
        ));
        let end = self.job_end(JobState::Cancelled, Some("cancelled".into()));
        if !self
            .store
            .end_job(&OrgId::from(&job.org_id), &job.id, &end, fx)
            .await?
        {
            return Err(Error::Conflict("the job has already ended".into()));
        }
        self.job(ctx, &job.org_id, id).await
    }

    /// A page of an import job's row errors, after `after_seq`.
    pub async fn job_errors(
        &self,
        ctx: &Context,
        org_ref: &str,
        id: &str,
        after_seq: u64,
        limit: u32,
    ) -> Result<(Job, Vec<JobError>)> {
        let job = self.visible_job(ctx, org_ref, id).await?;
        let errors = self
            .store
            .job_errors(&OrgId::from(&job.org_id), &job.id, after_seq, limit)
            .await?;
        Ok((job, errors))
    }

    /// The export job to download, if the caller may and it was not cancelled or failed.
    pub async fn export_job(&self, ctx: &Context, org_ref: &str, id: &str) -> Result<Job> {
        let job = self.visible_job(ctx, org_ref, id).await?;
        if job.kind != JobKind::Export {
            return Err(Error::field(
                Location::Path,
                "id",
                "not_export",
                "only an export job has a file to download; an import's result is its errors",
            ));
        }
        if matches!(job.state, JobState::Cancelled | JobState::Failed) {
            return Err(Error::Conflict(format!(
                "the job has {}",
                job.state.as_str()
            )));
        }
        Ok(job)
    }

    /// The next users of an export after the user id `after`, within its bound, with the
    /// fields it writes.
    pub async fn export_page(&self, job: &Job, after: Option<&str>) -> Result<Vec<ExportedUser>> {
        let filter: ExportFilter =
            serde_json::from_value(job.params["filter"].clone()).unwrap_or_default();
        let upto = UserId::from(job.params["upto"].as_str().unwrap_or_default());
        let mut q = export_query(&filter);
        if let Some(last_id) = after {
            q.page.position = Position::After(Keyset {
                sort: Vec::new(),
                values: Vec::new(),
                last_id: last_id.to_owned(),
            });
        }
        Ok(self
            .store
            .export_users(&OrgId::from(&job.org_id), &q, &upto)
            .await?)
    }

    /// Role names by id, for an export's rows.
    pub async fn export_roles(&self, job: &Job) -> Result<Vec<(String, String)>> {
        let roles = self.store.list_roles(&OrgId::from(&job.org_id)).await?;
        Ok(roles.into_iter().map(|r| (r.id, r.name)).collect())
    }

    /// Whether a running export was cancelled since `job` was read: one read of the job, cheap
    /// enough for every page (a finished export downloaded again is never cancelled).
    pub async fn export_cancelled(&self, job: &Job) -> Result<bool> {
        if job.state != JobState::Running {
            return Ok(false);
        }
        let now = self
            .store
            .get_job(&OrgId::from(&job.org_id), &job.id)
            .await?;
        Ok(now.is_none_or(|j| matches!(j.state, JobState::Cancelled | JobState::Failed)))
    }

    /// Records how far a download of an export got (`rows` read by it so far; the job keeps
    /// the furthest any download reached); false when the job was cancelled meanwhile (stop).
    pub async fn export_progress(&self, job: &Job, rows: u64, done: bool) -> Result<bool> {
        if job.state != JobState::Running {
            // A finished export downloaded again: nothing to record, nothing to stop.
            return Ok(true);
        }
        let progress = JobProgress {
            org_id: job.org_id.clone(),
            job_id: job.id.clone(),
            rows_reached: Some(rows),
            at: self.now(),
            ..JobProgress::default()
        };
        if !self.store.record_job_progress(&progress).await? {
            // Not running any more: cancelled, or another complete download ended it first.
            let now = self
                .store
                .get_job(&OrgId::from(&job.org_id), &job.id)
                .await?;
            return Ok(now.is_some_and(|j| j.state == JobState::Succeeded));
        }
        if done {
            let end = self.job_end(JobState::Succeeded, None);
            self.store
                .end_job(&OrgId::from(&job.org_id), &job.id, &end, Effects::default())
                .await?;
        }
        Ok(true)
    }
}

fn export_query(filter: &ExportFilter) -> UserQuery {
    let mut q = UserQuery::new(EXPORT_PAGE);
    q.contains = filter.search.as_ref().map(|s| s.to_lowercase());
    q.exclude_inactive = filter.active_only;
    q
}
