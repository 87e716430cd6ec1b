//! Jobs: long work of one organization (an import, an export) with its progress and the
//! errors of its rows. A job's progress is written in the transaction of the rows it counts
//! ([`super::Effects::job`]), so a job never records rows that were not applied, nor applies
//! rows it does not record.

use crate::types::OrgId;
use async_trait::async_trait;

use super::{Effects, StoreResult};
use crate::types::Micros;

/// What a job does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobKind {
    Import,
    Export,
}

/// The file a job reads or writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobFormat {
    Csv,
    JsonLines,
}

/// Where a job is. Only a running job moves; the others are final.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobState {
    Running,
    Succeeded,
    Failed,
    Cancelled,
}

macro_rules! names {
    ($t:ty { $($v:ident = $s:literal),* }) => {
        impl $t {
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$v => $s),* }
            }
            pub fn parse(s: &str) -> Option<Self> {
                match s { $($s => Some(Self::$v),)* _ => None }
            }
        }
    };
}
names!(JobKind { Import = "import", Export = "export" });
names!(JobFormat { Csv = "csv", JsonLines = "jsonl" });
names!(JobState { Running = "running", Succeeded = "succeeded", Failed = "failed", Cancelled = "cancelled" });

/// A job as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    pub org_id: String,
    pub id: String,
    pub kind: JobKind,
    pub format: JobFormat,
    pub state: JobState,
    /// What the job was asked: the import's language, the export's filter (JSON).
    pub params: serde_json::Value,
    /// The member who started it (none for the operator).
    pub created_by: Option<String>,
    /// Rows read (an import) or written out (an export).
    pub rows_done: u64,
    /// Rows an import created.
    pub rows_applied: u64,
    /// Rows in all, when known: an export counts them when it starts, an import when told.
    pub rows_total: Option<u64>,
    pub error_count: u64,
    /// Bytes of the upload read, and its length when the client gave it.
    pub bytes_done: u64,
    pub bytes_total: Option<u64>,
    /// Why it failed or was cancelled.
    pub message: Option<String>,
    pub created_at: Micros,
    /// The last sign of life of a running job: each batch, and a heartbeat every `job_heartbeat`.
    pub updated_at: Micros,
    pub finished_at: Option<Micros>,
}

/// One row a job could not apply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobError {
    /// 1-based, in the order the rows were met.
    pub seq: u64,
    /// The row's line in the file.
    pub line: u64,
    /// The row's email, else `line N`.
    pub key: String,
    pub reason: String,
}

/// What one batch adds to its job, in the batch's transaction. The transaction fails with
/// `Refused(Stale)` when the job is no longer running (cancelled, or failed by a sweep): a
/// cancelled import applies no batch after its cancellation.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct JobProgress {
    pub org_id: String,
    pub job_id: String,
    pub rows_done: u64,
    pub rows_applied: u64,
    pub bytes_done: u64,
    /// `(line, key, reason)`, numbered after the job's errors so far.
    pub errors: Vec<(u64, String, String)>,
    /// Rows counted applied by an earlier batch that turned out not to be (a concurrent
    /// insert of the same email); they are among `errors`.
    pub unapplied: u64,
    /// For an export: how many rows a download of it has read. The record keeps the furthest
    /// any download reached (`rows_done` is then not added to), so downloads left and begun
    /// again count each row once.
    pub rows_reached: Option<u64>,
    pub at: Micros,
}

/// How a job ends: its final state, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct JobEnd {
    pub state: JobState,
    pub message: Option<String>,
    pub at: Micros,
}

#[async_trait]
pub trait JobStore: Send + Sync + 'static {
    /// Stores a new job with its effects (its audit event).
    async fn insert_job(&self, job: &Job, fx: Effects) -> StoreResult<()>;
    async fn get_job(&self, org_id: &OrgId, id: &str) -> StoreResult<Option<Job>>;
    /// The organization's newest jobs first.
    async fn list_jobs(&self, org_id: &OrgId, limit: u32) -> StoreResult<Vec<Job>>;
    /// Writes progress outside a batch (a batch carries it in its [`Effects`]): a heartbeat
    /// with the bytes read, or a correction. False when the job is no longer running.
    async fn record_job_progress(&self, progress: &JobProgress) -> StoreResult<bool>;
    /// Ends a running job; false (and nothing written) when it had already ended.
    async fn end_job(
        &self,
        org_id: &OrgId,
        id: &str,
        end: &JobEnd,
        fx: Effects,
    ) -> StoreResult<bool>;
    /// Fails the organization's running jobs not heard of since `before` (their server
    /// stopped): returns how many.
    async fn fail_stale_jobs(
        &self,
        org_id: &OrgId,
        before: Micros,
        end: &JobEnd,
    ) -> StoreResult<u64>;
    /// A job's row errors after `after_seq`, in order.
    async fn job_errors(
        &self,
        org_id: &OrgId,
        id: &str,
        after_seq: u64,
        limit: u32,
    ) -> StoreResult<Vec<JobError>>;
}
