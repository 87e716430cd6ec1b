//! Jobs in Roster's administration API: `/admin/v1/orgs/{org}/jobs...` (docs/jobs.md).
//!
//! An import's file is the request body itself (eva's bulk CSV, or JSON lines of the same
//! fields), read as it arrives: the answer comes when the file has been read, and the job's
//! progress can be followed meanwhile from another connection. The import runs in a task of
//! its own: a file uploaded whole is imported to its end even if its client leaves before the
//! answer, and an upload that breaks off fails its job at once. An export's file is streamed
//! as it is downloaded. Errors have the Amigo (FastAPI) shape, like the rest of `/admin/v1`.

use axum::body::{Body as RawBody, Bytes};
use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use futures::StreamExt;
use roster_domain::core::{Context, ExportFilter, ImportJobInput, JobView, EXPORT_PAGE};
use roster_domain::store::{Job, JobFormat, JobKind};
use roster_domain::types::format_micros;
use roster_domain::{Error, FieldError, Location};
use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, oneshot};
use tracing::Instrument;
use utoipa::openapi::OpenApi;
use utoipa::ToSchema;
use utoipa_axum::routes;

use super::export_file::export_rows;
use super::job_files::{lines_of, Rendered};
use crate::error::Result;
use crate::extract::{Body, Caller, Path, Req};
use crate::state::AppState;
use crate::surface::{Finished, Policy, SurfaceRouter};

/// Chunks of an upload read ahead of its import: besides the batch being written, all of the
/// file an import holds in memory.
const UPLOAD_AHEAD: usize = 4;

/// The administration API's operations share one budget per caller.
const POLICIES: &[(&str, Policy)] = &[
    ("list-jobs", Policy::Caller("administer")),
    ("start-import-job", Policy::Caller("administer")),
    ("start-export-job", Policy::Caller("administer")),
    ("get-job", Policy::Caller("administer")),
    ("cancel-job", Policy::Caller("administer")),
    ("cancel-job-post", Policy::Caller("administer")),
    ("get-job-result", Policy::Caller("administer")),
];

pub fn router() -> Finished {
    SurfaceRouter::new(super::native::SURFACE, OpenApi::default(), POLICIES)
        .routes(routes!(list_jobs))
        .routes(routes!(start_import))
        .routes(routes!(start_export))
        .routes(routes!(get_job, cancel_job))
        .routes(routes!(cancel_job_post))
        .routes(routes!(job_result))
        .finish()
}

/// A job and its progress.
#[derive(Serialize, ToSchema)]
pub struct JobOut {
    id: String,
    /// `import` or `export`.
    kind: &'static str,
    /// `csv` or `jsonl`.
    format: &'static str,
    /// `running`, `succeeded`, `failed` or `cancelled`.
    state: &'static str,
    /// Rows read (an import) or written out (an export).
    rows_done: u64,
    /// Users an import created.
    rows_applied: u64,
    /// Rows in all, when known (an export counts them; an import is told with `rows`).
    rows_total: Option<u64>,
    /// Rows an import could not apply so far (the result lists them).
    errors: u64,
    bytes_done: u64,
    /// The upload's `Content-Length`, when it had one.
    bytes_total: Option<u64>,
    /// Seconds until a running job is done at its pace so far, when its size is known.
    eta_seconds: Option<f64>,
    /// Why it failed or was cancelled.
    message: Option<String>,
    /// The member who started it.
    created_by: Option<String>,
    /// RFC 3339.
    created_at: String,
    /// RFC 3339: the last progress.
    updated_at: String,
    /// RFC 3339.
    finished_at: Option<String>,
}

impl From<JobView> for JobOut {
    fn from(v: JobView) -> Self {
        let j = v.job;
        Self {
            id: j.id,
            kind: j.kind.as_str(),
            format: j.format.as_str(),
            state: j.state.as_str(),
            rows_done: j.rows_done,
            rows_applied: j.rows_applied,
            rows_total: j.rows_total,
            errors: j.error_count,
            bytes_done: j.bytes_done,
            bytes_total: j.bytes_total,
            eta_seconds: v.eta_secs.map(|s| (s * 10.0).round() / 10.0),
            message: j.message,
            created_by: j.created_by,
            created_at: format_micros(j.created_at),
            updated_at: format_micros(j.updated_at),
            finished_at: j.finished_at.map(format_micros),
        }
    }
}

/// The organization's newest jobs.
#[derive(Serialize, ToSchema)]
pub struct JobList {
    jobs: Vec<JobOut>,
}

/// Which users an export writes.
#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct FilterIn {
    /// A substring of the name or email, case-insensitive; at most 200 characters.
    search: Option<String>,
    /// Leave out deactivated users (default `false`).
    #[serde(default)]
    active_only: bool,
}

/// A file format.
#[derive(Deserialize, ToSchema, Clone, Copy)]
#[serde(rename_all = "lowercase")]
pub enum FormatIn {
    Csv,
    Jsonl,
}

/// An export to make.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExportIn {
    /// `csv` (`;`-separated, with a header line) or `jsonl`; default `csv`.
    format: Option<FormatIn>,
    #[serde(default)]
    filter: FilterIn,
}

fn format_of(f: FormatIn) -> JobFormat {
    match f {
        FormatIn::Csv => JobFormat::Csv,
        FormatIn::Jsonl => JobFormat::JsonLines,
    }
}

/// The organization's newest jobs (at most 100), of the kinds the caller may run.
#[utoipa::path(
    get,
    path = "/admin/v1/orgs/{org}/jobs",
    operation_id = "list-jobs",
    tag = "Administration",
    params(("org" = String, Path, description = "The organization's id.")),
    responses((status = 200, description = "The jobs, newest first", body = JobList)),
    security(("bearerAuth" = []))
)]
async fn list_jobs(
    State(s): State<AppState>,
    caller: Caller,
    Path(org): Path<String>,
) -> Result<Response> {
    let jobs = s.core.jobs(&caller.ctx, &org).await?;
    Ok(Json(JobList {
        jobs: jobs.into_iter().map(JobOut::from).collect(),
    })
    .into_response())
}

fn query_problem(field: &str, code: &'static str, message: impl Into<String>) -> Error {
    Error::Validation(vec![FieldError::query(field, code, message.into())])
}

/// Import users from the body, read as it is uploaded: eva's bulk CSV
/// (`email;name;company;role;password;environmentUuid;environmentName;bot`) or JSON lines
/// with those fields. Answers when the file has been read, with the finished job; follow its
/// progress meanwhile with `GET .../jobs/{job_id}` (the job is listed at once).
#[utoipa::path(
    post,
    path = "/admin/v1/orgs/{org}/jobs/import",
    operation_id = "start-import-job",
    tag = "Administration",
    params(
        ("org" = String, Path, description = "The organization's id."),
        ("format" = Option<String>, Query, description = "`csv` (default) or `jsonl`."),
        ("language" = Option<String>, Query, description = "Language of the welcome emails (default `en`)."),
        ("rows" = Option<i64>, Query, description = "Rows the file holds, if known: for the ETA."),
    ),
    request_body(content = String, content_type = "text/csv", description = "The file itself"),
    responses((status = 201, description = "The file was read; the job, finished (its errors are its result)", body = JobOut)),
    security(("bearerAuth" = []))
)]
async fn start_import(
    State(s): State<AppState>,
    caller: Caller,
    Path(org): Path<String>,
    parts: Req,
    req: Request,
) -> Result<Response> {
    let q = &parts.query;
    let format = match q.one("format").map(str::trim) {
        None | Some("csv") => JobFormat::Csv,
        Some("jsonl") => JobFormat::JsonLines,
        Some(_) => {
            return Err(query_problem("format", "enum", "format must be csv or jsonl").into())
        }
    };
    let rows_total = match q.opt_int("rows")? {
        Some(n) if n < 0 => {
            return Err(
                query_problem("rows", "greater_than_equal", "rows must be 0 or more").into(),
            )
        }
        n => n.map(|n| n as u64),
    };
    let bytes_total = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let input = ImportJobInput {
        format,
        language: q.one("language").unwrap_or("en").to_owned(),
        rows_total,
        bytes_total,
    };
    let done = run_import(s, caller.ctx, org, input, req.into_body()).await?;
    Ok((StatusCode::CREATED, Json(JobOut::from(done))).into_response())
}

/// Runs an import in a task of its own, fed its upload through a bounded channel by another
/// task, and answers the finished job, or why it could not start. Neither reads in the
/// handler's future: its connection drops it when the client goes away, even just after the
/// last byte, and the import must then still end (failed if the upload broke off, else as the
/// whole file makes it).
async fn run_import(
    s: AppState,
    ctx: Context,
    org: String,
    input: ImportJobInput,
    body: RawBody,
) -> std::result::Result<JobView, Error> {
    let format = input.format;
    let (answer, answered) = oneshot::channel();
    let span = tracing::Span::current();
    let import = async move {
        let started = s.core.start_import_job(&ctx, &org, input).await;
        let (job, run) = match started {
            Ok(started) => started,
            Err(e) => {
                let e = e.field_moved("language", Location::Query, "language");
                let _ = answer.send(Err(e));
                return;
            }
        };
        let (chunks, upload) = mpsc::channel(UPLOAD_AHEAD);
        tokio::spawn(feed(body, chunks).in_current_span());
        let upload = futures::stream::unfold(upload, |mut upload| async move {
            upload.recv().await.map(|chunk| (chunk, upload))
        });
        let lines = lines_of(Box::pin(upload), format);
        let done = s.core.run_import_job(&job, run, Box::pin(lines)).await;
        if let Err(Err(e)) = answer.send(done) {
            tracing::error!(error = %e, job = %job.id, "an import failed after its client left");
        }
    };
    tokio::spawn(import.instrument(span));
    answered
        .await
        .unwrap_or_else(|_| Err(Error::Internal(anyhow::anyhow!("the import task ended"))))
}

/// Passes an upload on as the import takes it: each chunk, then why the body broke off if it
/// did. Stops reading when the import stops (it ended, or was cancelled).
async fn feed(body: RawBody, chunks: mpsc::Sender<std::result::Result<Bytes, axum::Error>>) {
    let mut body = body.into_data_stream();
    loop {
        let chunk = tokio::select! {
            chunk = body.next() => chunk,
            _ = chunks.closed() => return,
        };
        let Some(chunk) = chunk else { return };
        let broke = chunk.is_err();
        if chunks.send(chunk).await.is_err() || broke {
            return;
        }
    }
}

/// Start an export of the users matching a filter, as they are now. Download it from
/// `.../jobs/{job_id}/result`.
#[utoipa::path(
    post,
    path = "/admin/v1/orgs/{org}/jobs/export",
    operation_id = "start-export-job",
    tag = "Administration",
    params(("org" = String, Path, description = "The organization's id.")),
    request_body = ExportIn,
    responses((status = 201, description = "The job, with the number of users it will write", body = JobOut)),
    security(("bearerAuth" = []))
)]
async fn start_export(
    State(s): State<AppState>,
    caller: Caller,
    Path(org): Path<String>,
    Body(b): Body<ExportIn>,
) -> Result<Response> {
    let filter = ExportFilter {
        search: b.filter.search,
        active_only: b.filter.active_only,
    };
    let format = format_of(b.format.unwrap_or(FormatIn::Csv));
    let view = s
        .core
        .start_export_job(&caller.ctx, &org, format, filter)
        .await?;
    Ok((StatusCode::CREATED, Json(JobOut::from(view))).into_response())
}

/// A job's state and progress.
#[utoipa::path(
    get,
    path = "/admin/v1/orgs/{org}/jobs/{job_id}",
    operation_id = "get-job",
    tag = "Administration",
    params(("org" = String, Path, description = "The organization's id."), ("job_id" = String, Path, description = "The job's id.")),
    responses((status = 200, description = "The job", body = JobOut)),
    security(("bearerAuth" = []))
)]
async fn get_job(
    State(s): State<AppState>,
    caller: Caller,
    Path((org, id)): Path<(String, String)>,
) -> Result<Response> {
    Ok(Json(JobOut::from(s.core.job(&caller.ctx, &org, &id).await?)).into_response())
}

/// Cancel a running job: an import applies no batch after this (those before stay, counted);
/// an export's download stops. 409 when it has already ended.
#[utoipa::path(
    delete,
    path = "/admin/v1/orgs/{org}/jobs/{job_id}",
    operation_id = "cancel-job",
    tag = "Administration",
    params(("org" = String, Path, description = "The organization's id."), ("job_id" = String, Path, description = "The job's id.")),
    responses((status = 200, description = "The cancelled job", body = JobOut)),
    security(("bearerAuth" = []))
)]
async fn cancel_job(
    State(s): State<AppState>,
    caller: Caller,
    Path((org, id)): Path<(String, String)>,
) -> Result<Response> {
    Ok(Json(JobOut::from(
        s.core.cancel_job(&caller.ctx, &org, &id).await?,
    ))
    .into_response())
}

/// The same as `DELETE .../jobs/{job_id}`, for clients that cannot send a DELETE.
#[utoipa::path(
    post,
    path = "/admin/v1/orgs/{org}/jobs/{job_id}/cancel",
    operation_id = "cancel-job-post",
    tag = "Administration",
    params(("org" = String, Path, description = "The organization's id."), ("job_id" = String, Path, description = "The job's id.")),
    responses((status = 200, description = "The cancelled job", body = JobOut)),
    security(("bearerAuth" = []))
)]
async fn cancel_job_post(
    state: State<AppState>,
    caller: Caller,
    path: Path<(String, String)>,
) -> Result<Response> {
    cancel_job(state, caller, path).await
}

/// A job's result, streamed: an import's rejected rows (`line;key;reason`, or JSON lines), or
/// an export's file (its users in id order).
#[utoipa::path(
    get,
    path = "/admin/v1/orgs/{org}/jobs/{job_id}/result",
    operation_id = "get-job-result",
    tag = "Administration",
    params(("org" = String, Path, description = "The organization's id."), ("job_id" = String, Path, description = "The job's id.")),
    responses((status = 200, description = "The file, in the job's format: CSV for a `csv` job, JSON lines for a `jsonl` one", content((String = "text/csv"), (String = "application/x-ndjson")))),
    security(("bearerAuth" = []))
)]
async fn job_result(
    State(s): State<AppState>,
    caller: Caller,
    Path((org, id)): Path<(String, String)>,
) -> Result<Response> {
    let job = s.core.job(&caller.ctx, &org, &id).await?.job;
    let body = match job.kind {
        JobKind::Import => RawBody::from_stream(error_rows(s.clone(), job.clone())),
        JobKind::Export => {
            let job = s.core.export_job(&caller.ctx, &org, &id).await?;
            RawBody::from_stream(export_rows(s.clone(), job))
        }
    };
    let content_type = match job.format {
        JobFormat::Csv => "text/csv; charset=utf-8",
        JobFormat::JsonLines => "application/x-ndjson",
    };
    Ok(([(header::CONTENT_TYPE, content_type)], body).into_response())
}

/// An import's row errors, a page at a time.
fn error_rows(
    s: AppState,
    job: Job,
) -> impl futures::Stream<Item = std::result::Result<Bytes, std::io::Error>> + Send {
    let first = Rendered::errors_header(job.format);
    futures::stream::once(async move { Ok(first) }).chain(futures::stream::unfold(
        (s, job, 0u64, false),
        |(s, job, after, done)| async move {
            if done {
                return None;
            }
            let ctx = roster_domain::core::Context::system();
            match s
                .core
                .job_errors(&ctx, &job.org_id, &job.id, after, EXPORT_PAGE)
                .await
            {
                Ok((_, errors)) => {
                    let last = errors.last().map(|e| e.seq).unwrap_or(after);
                    let done = errors.len() < EXPORT_PAGE as usize;
                    let bytes = Rendered::errors(job.format, &errors);
                    Some((Ok(bytes), (s, job, last, done)))
                }
                Err(e) => Some((
                    Err(std::io::Error::other(e.to_string())),
                    (s, job, after, true),
                )),
            }
        },
    ))
}
