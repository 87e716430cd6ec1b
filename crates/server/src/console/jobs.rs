//! A bulk upload as an import job (docs/jobs.md): the upload starts the job and answers at
//! once with its page, while the server reads the file in batches; the page shows a
//! `<progress>` of rows read, refreshes itself (a `<noscript>` refresh with scripts off, htmx
//! polling with them on), can cancel the job, and when it ends lists the rejected rows, all of
//! them downloadable as `errors.csv`. Every step is the core's job operation the
//! administration API calls, with the signed-in member's access.

use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use maud::{html, Markup};
use roster_domain::core::{Context, ImportJobInput, JobView};
use roster_domain::store::{JobFormat, JobKind, JobState};
use roster_domain::Error;

use super::i18n::when;
use super::layout;
use super::posted::Posted;
use super::signin::{enter, View};
use crate::extract::Req;
use crate::routes::job_files::{lines_of, Rendered};
use crate::state::AppState;

/// Seconds between refreshes of a running job's page.
const REFRESH_SECS: u32 = 2;
/// Rejected rows shown on the page (the file has them all).
const ERRORS_SHOWN: u32 = 100;
/// Bytes of the upload handed to the reader at a time.
const CHUNK: usize = 64 * 1024;

pub fn state_key(state: JobState) -> &'static str {
    match state {
        JobState::Running => "state_running",
        JobState::Succeeded => "state_succeeded",
        JobState::Failed => "state_failed",
        JobState::Cancelled => "state_cancelled",
    }
}

/// Rows of an eva CSV file, for the progress bar: its non-blank lines but the header.
fn rows_in(file: &[u8]) -> u64 {
    let mut lines = file
        .split(|b| *b == b'\n')
        .filter(|l| !l.iter().all(u8::is_ascii_whitespace));
    let header = lines
        .next()
        .is_some_and(|l| l.to_ascii_lowercase().starts_with(b"email"));
    lines.count() as u64 + u64::from(!header)
}

/// Starts an import of `file` (already read) and reads it in the background; the job's id,
/// or why it could not start.
pub async fn start(
    s: &AppState,
    ctx: &Context,
    org_id: &str,
    file: Vec<u8>,
    language: &str,
) -> Result<String, Error> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let (s, ctx, org_id) = (s.clone(), ctx.clone(), org_id.to_owned());
    let input = ImportJobInput {
        format: JobFormat::Csv,
        language: language.to_owned(),
        rows_total: Some(rows_in(&file)),
        bytes_total: Some(file.len() as u64),
    };
    tokio::spawn(async move {
        let (job, run) = match s.core.start_import_job(&ctx, &org_id, input).await {
            Ok(started) => started,
            Err(e) => {
                let _ = tx.send(Err(e));
                return;
            }
        };
        let _ = tx.send(Ok(job.id.clone()));
        let file = Bytes::from(file);
        let chunks: Vec<Result<Bytes, std::convert::Infallible>> = (0..file.len())
            .step_by(CHUNK)
            .map(|at| Ok(file.slice(at..(at + CHUNK).min(file.len()))))
            .collect();
        let lines = lines_of(futures::stream::iter(chunks), JobFormat::Csv);
        if let Err(e) = s.core.run_import_job(&job, run, Box::pin(lines)).await {
            tracing::error!(error = %e, job = %job.id, "a console import failed");
        }
    });
    rx.await
        .unwrap_or_else(|_| Err(Error::Internal(anyhow::anyhow!("the import did not start"))))
}

fn progress(v: &View, view: &JobView, errors: &[roster_domain::store::JobError]) -> Markup {
    let job = &view.job;
    let total = job.rows_total.unwrap_or(job.rows_done).max(job.rows_done);
    let running = job.state == JobState::Running;
    let here = v.path(&format!("jobs/{}", job.id));
    html! {
        div #job
            hx-get=[running.then_some(here.as_str())]
            hx-trigger=[running.then(|| format!("every {REFRESH_SECS}s"))]
            hx-select="#job" hx-swap="outerHTML" {
            dl.props {
                dt { (v.t("state")) } dd #state { (v.t(state_key(job.state))) }
                dt { (v.t("created_at")) } dd { (when(job.created_at, v.timezone())) }
            }
            p {
                label for="progress" { (v.t("progress")) } " "
                progress #progress max=(total.max(1)) value=(job.rows_done) {
                    (job.rows_done) " / " (total)
                }
            }
            p role="status" #counts {
                (job.rows_done) " " (v.t("of")) " " (total) " " (v.t("rows_done")) "; "
                (job.rows_applied) " " (v.t("rows_applied")) ", "
                (job.error_count) " " (v.t("rows_rejected"))
            }
            @if let Some(m) = &job.message { p.muted { (m) } }
            @if running {
                p.muted { (v.t("refreshing")) }
                form method="post" action=(format!("{here}/cancel")) {
                    input type="hidden" name="csrf" value=(v.signed.csrf());
                    button.danger type="submit" { (v.t("cancel")) }
                }
            } @else if job.error_count > 0 {
                table {
                    caption { (v.t("rows_rejected")) }
                    thead { tr {
                        th scope="col" { (v.t("line")) }
                        th scope="col" { (v.t("row")) }
                        th scope="col" { (v.t("details")) }
                    } }
                    tbody {
                        @for e in errors { tr { td { (e.line) } td { (e.key) } td { (e.reason) } } }
                    }
                }
                @if job.error_count > u64::from(ERRORS_SHOWN) { p.muted { (v.t("more_errors")) } }
                p { a href=(format!("{here}/errors.csv")) download="errors.csv" { (v.t("download_errors")) } }
            }
        }
    }
}

pub async fn page(
    State(s): State<AppState>,
    Path((org, job_id)): Path<(String, String)>,
    req: Req,
) -> Response {
    let v = match enter(&s, &req, &org).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let shell = v.shell("bulk");
    let back = v.path("bulk");
    let found = match s.core.job(&v.signed.ctx, &v.org.id, &job_id).await {
        Ok(j) if j.job.kind == JobKind::Import => j,
        Ok(_) => return v.done(layout::refusal(&shell, Error::NotFound("job"), &back)),
        Err(e) => return v.done(layout::refusal(&shell, e, &back)),
    };
    let errors = if found.job.state != JobState::Running && found.job.error_count > 0 {
        match s
            .core
            .job_errors(&v.signed.ctx, &v.org.id, &job_id, 0, ERRORS_SHOWN)
            .await
        {
            Ok((_, e)) => e,
            Err(e) => return v.done(layout::refusal(&shell, e, &back)),
        }
    } else {
        Vec::new()
    };
    // Without scripts the page reloads itself while the job runs; with them htmx polls.
    let head = html! {
        @if found.job.state == JobState::Running {
            noscript { meta http-equiv="refresh" content=(REFRESH_SECS); }
        }
    };
    let body = html! {
        (progress(&v, &found, &errors))
        p { a href=(back) { (v.t("bulk")) } }
    };
    v.done(layout::send(
        StatusCode::OK,
        layout::page_with_head(&shell, v.t("import_job"), head, body),
    ))
}

pub async fn cancel(
    State(s): State<AppState>,
    Path((_, job_id)): Path<(String, String)>,
    Posted { v, .. }: Posted,
) -> Response {
    let here = v.path(&format!("jobs/{job_id}"));
    match s.core.cancel_job(&v.signed.ctx, &v.org.id, &job_id).await {
        Ok(_) => v.done(layout::redirect(&here, vec![])),
        Err(e) => v.done(layout::refusal(&v.shell("bulk"), e, &here)),
    }
}

/// Every rejected row of an import, `line;key;reason`, read a page at a time.
pub async fn errors_csv(
    State(s): State<AppState>,
    Path((org, job_id)): Path<(String, String)>,
    req: Req,
) -> Response {
    let v = match enter(&s, &req, &org).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let shell = v.shell("bulk");
    let job = match s.core.job(&v.signed.ctx, &v.org.id, &job_id).await {
        Ok(j) if j.job.kind == JobKind::Import => j.job,
        Ok(_) => {
            return v.done(layout::refusal(
                &shell,
                Error::NotFound("job"),
                &v.path("bulk"),
            ))
        }
        Err(e) => return v.done(layout::refusal(&shell, e, &v.path("bulk"))),
    };
    let header_row = Rendered::errors_header(job.format);
    let (ctx, org_id) = (v.signed.ctx.clone(), v.org.id.clone());
    let pages = futures::stream::unfold(Some(0u64), move |after| {
        let (s, ctx, org_id, job_id) = (s.clone(), ctx.clone(), org_id.clone(), job.id.clone());
        async move {
            let after = after?;
            let page = roster_domain::core::EXPORT_PAGE;
            match s.core.job_errors(&ctx, &org_id, &job_id, after, page).await {
                Ok((job, errors)) => {
                    let next = (errors.len() == page as usize)
                        .then(|| errors.last().map(|e| e.seq).unwrap_or(after));
                    Some((Ok(Rendered::errors(job.format, &errors)), next))
                }
                Err(e) => Some((Err(std::io::Error::other(e.to_string())), None)),
            }
        }
    });
    let body =
        futures::stream::once(async move { Ok::<_, std::io::Error>(header_row) }).chain(pages);
    let mut r = (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/csv; charset=utf-8"),
            ),
            (
                header::CONTENT_DISPOSITION,
                HeaderValue::from_static("attachment; filename=\"errors.csv\""),
            ),
        ],
        Body::from_stream(body),
    )
        .into_response();
    layout::secure_headers(&mut r);
    v.done(r)
}

/// The organization's recent imports, newest first, for the bulk page.
pub async fn recent(s: &AppState, v: &View) -> Markup {
    let jobs = s
        .core
        .jobs(&v.signed.ctx, &v.org.id)
        .await
        .unwrap_or_default();
    let imports: Vec<&JobView> = jobs
        .iter()
        .filter(|j| j.job.kind == JobKind::Import)
        .take(10)
        .collect();
    html! {
        @if !imports.is_empty() {
            h2 { (v.t("recent_imports")) }
            ul {
                @for j in imports {
                    li {
                        a href=(v.path(&format!("jobs/{}", j.job.id))) {
                            (when(j.job.created_at, v.timezone())) ": " (v.t(state_key(j.job.state)))
                        }
                        " · " (j.job.rows_applied) " " (v.t("rows_applied")) ", "
                        (j.job.error_count) " " (v.t("rows_rejected"))
                    }
                }
            }
        }
    }
}
