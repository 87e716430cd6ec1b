//! The files of jobs: an import's upload read into lines as it arrives (eva's CSV, or JSON
//! lines of the same fields), and the rows of results rendered page by page.

use std::collections::HashMap;

use axum::body::Bytes;
use futures::{Stream, StreamExt};
use roster_domain::import::{Line, LineStream, COLUMNS, MAX_RECORD_BYTES};
use roster_domain::store::{ExportedUser, Job, JobError, JobFormat};
use roster_domain::types::format_micros;
use serde_json::{json, Value};
use tracing::Instrument;

use crate::state::AppState;

/// JSON lines of an import, split at LF; each line one object of the CSV's fields.
struct JsonLines {
    pending: Vec<u8>,
    line: u64,
}

impl JsonLines {
    fn feed(&mut self, chunk: &[u8]) -> Result<Vec<Line>, String> {
        self.pending.extend_from_slice(chunk);
        let Some(end) = self.pending.iter().rposition(|b| *b == b'\n') else {
            if self.pending.len() > MAX_RECORD_BYTES {
                return Err(format!("a line is longer than {MAX_RECORD_BYTES} bytes"));
            }
            return Ok(Vec::new());
        };
        let rest = self.pending.split_off(end + 1);
        let whole = std::mem::replace(&mut self.pending, rest);
        Ok(self.read(&whole))
    }

    fn finish(&mut self) -> Vec<Line> {
        let whole = std::mem::take(&mut self.pending);
        self.read(&whole)
    }

    fn read(&mut self, bytes: &[u8]) -> Vec<Line> {
        let mut out = Vec::new();
        let mut parts: Vec<&[u8]> = bytes.split(|b| *b == b'\n').collect();
        if bytes.ends_with(b"\n") {
            parts.pop();
        }
        for raw in parts {
            self.line += 1;
            if raw.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            out.push(json_line(self.line, raw));
        }
        out
    }
}

/// One JSON line as the line of a CSV file: its eight fields by the CSV's column names.
fn json_line(number: u64, raw: &[u8]) -> Line {
    let value: Result<Value, String> =
        serde_json::from_slice(raw).map_err(|e| format!("the line is not valid JSON: {e}"));
    let email = value
        .as_ref()
        .ok()
        .and_then(|v| v.get("email"))
        .and_then(Value::as_str)
        .unwrap_or("")
        .trim()
        .to_owned();
    let fields = value.and_then(|v| {
        let Value::Object(o) = v else {
            return Err("the line is not a JSON object".to_owned());
        };
        if let Some(k) = o.keys().find(|k| !COLUMNS.contains(&k.as_str())) {
            return Err(format!(
                "unknown field '{k}'; the fields are {}",
                COLUMNS.join(", ")
            ));
        }
        COLUMNS
            .iter()
            .map(|c| match o.get(*c) {
                None | Some(Value::Null) => Ok(String::new()),
                Some(Value::String(s)) => Ok(s.trim().to_owned()),
                Some(_) => Err(format!("field '{c}' must be a string")),
            })
            .collect()
    });
    Line {
        number,
        email,
        fields,
    }
}

/// The lines of an upload as it arrives, with the bytes read so far; an error when the upload
/// breaks off or a line cannot be bounded.
pub(crate) fn lines_of<S, E>(
    body: S,
    format: JobFormat,
) -> impl Stream<Item = Result<(Vec<Line>, u64), String>> + Send
where
    S: Stream<Item = Result<Bytes, E>> + Send + Unpin + 'static,
    E: std::fmt::Display,
{
    enum Reader {
        Csv(Box<LineStream>),
        Json(JsonLines),
    }
    let reader = match format {
        JobFormat::Csv => Reader::Csv(Box::new(LineStream::new(COLUMNS.len()))),
        JobFormat::JsonLines => Reader::Json(JsonLines {
            pending: Vec::new(),
            line: 0,
        }),
    };
    futures::stream::unfold(
        (body, reader, 0u64, false),
        |(mut body, mut reader, read, ended)| async move {
            if ended {
                return None;
            }
            match body.next().await {
                Some(Ok(chunk)) => {
                    let read = read + chunk.len() as u64;
                    let lines = match &mut reader {
                        Reader::Csv(r) => r.feed(&chunk),
                        Reader::Json(r) => r.feed(&chunk),
                    };
                    let ended = lines.is_err();
                    Some((lines.map(|l| (l, read)), (body, reader, read, ended)))
                }
                Some(Err(e)) => Some((
                    Err(format!("the upload could not be read: {e}")),
                    (body, reader, read, true),
                )),
                None => {
                    let lines = match &mut reader {
                        Reader::Csv(r) => r.finish(),
                        Reader::Json(r) => r.finish(),
                    };
                    Some((Ok((lines, read)), (body, reader, read, true)))
                }
            }
        },
    )
}

/// A CSV field, quoted when it must be (`;`, quotes, line breaks) or when a spreadsheet would
/// take it for a formula.
fn field(out: &mut Vec<u8>, value: &str) {
    let formula = value.starts_with(['=', '+', '-', '@', '\t', '\r']);
    if formula || value.contains([';', '"', '\n', '\r']) {
        out.push(b'"');
        if formula {
            out.push(b'\'');
        }
        out.extend_from_slice(value.replace('"', "\"\"").as_bytes());
        out.push(b'"');
    } else {
        out.extend_from_slice(value.as_bytes());
    }
}

fn csv_row(out: &mut Vec<u8>, values: &[&str]) {
    for (i, v) in values.iter().enumerate() {
        if i > 0 {
            out.push(b';');
        }
        field(out, v);
    }
    out.push(b'\n');
}

/// One JSON line of an export, written without building a `serde_json::Value`; the fields are
/// in the order a `Value`'s map keeps them (by name), so the line is what `json!` wrote.
#[derive(serde::Serialize)]
struct ExportLine<'a> {
    company: Option<&'a str>,
    created_at: &'a str,
    email: &'a str,
    first_name: &'a str,
    id: &'a str,
    is_admin: bool,
    last_name: &'a str,
    roles: &'a [&'a str],
    status: &'a str,
}

pub(crate) struct Rendered;

/// The columns of an export, in order.
const EXPORT_COLUMNS: [&str; 9] = [
    "id",
    "email",
    "first_name",
    "last_name",
    "company",
    "status",
    "is_admin",
    "roles",
    "created_at",
];

impl Rendered {
    pub(crate) fn errors_header(format: JobFormat) -> Bytes {
        match format {
            JobFormat::Csv => Bytes::from_static(b"line;key;reason\n"),
            JobFormat::JsonLines => Bytes::new(),
        }
    }

    pub(crate) fn errors(format: JobFormat, errors: &[JobError]) -> Bytes {
        let mut out = Vec::new();
        for e in errors {
            match format {
                JobFormat::Csv => csv_row(&mut out, &[&e.line.to_string(), &e.key, &e.reason]),
                JobFormat::JsonLines => {
                    out.extend_from_slice(
                        json!({ "line": e.line, "key": e.key, "reason": e.reason })
                            .to_string()
                            .as_bytes(),
                    );
                    out.push(b'\n');
                }
            }
        }
        Bytes::from(out)
    }

    fn users(format: JobFormat, users: &[ExportedUser], roles: &HashMap<String, String>) -> Bytes {
        let mut out = Vec::with_capacity(users.len() * 200);
        let mut names: Vec<&str> = Vec::new();
        let mut joined = String::new();
        for u in users {
            names.clear();
            names.extend(
                u.role_ids
                    .iter()
                    .map(|r| roles.get(r).map_or(r.as_str(), String::as_str)),
            );
            let created = format_micros(u.created_at);
            match format {
                JobFormat::Csv => {
                    joined.clear();
                    for (i, n) in names.iter().enumerate() {
                        if i > 0 {
                            joined.push('|');
                        }
                        joined.push_str(n);
                    }
                    csv_row(
                        &mut out,
                        &[
                            u.id.as_str(),
                            &u.email,
                            &u.first_name,
                            &u.last_name,
                            u.company.as_deref().unwrap_or(""),
                            u.status.as_str(),
                            if u.is_admin { "true" } else { "false" },
                            &joined,
                            &created,
                        ],
                    )
                }
                JobFormat::JsonLines => {
                    let line = ExportLine {
                        company: u.company.as_deref(),
                        created_at: &created,
                        email: &u.email,
                        first_name: &u.first_name,
                        id: u.id.as_str(),
                        is_admin: u.is_admin,
                        last_name: &u.last_name,
                        roles: &names,
                        status: u.status.as_str(),
                    };
                    // Writing into a Vec cannot fail, nor can serializing strings and a bool.
                    let _ = serde_json::to_writer(&mut out, &line);
                    out.push(b'\n');
                }
            }
        }
        Bytes::from(out)
    }
}

/// Pages of an export a download reads ahead of what the client has taken.
const READ_AHEAD: usize = 2;
/// Pages between two records of an export's progress (cancellation is checked every page).
const PAGES_PER_PROGRESS: u32 = 10;

/// What the read-ahead task of an export hands to the download.
enum Piece {
    /// Rendered rows (or the CSV header).
    Rows(Bytes),
    /// The last page was handed over; the users read since the last progress mark.
    End(u64),
    /// A read failed or the job was cancelled: the body is cut off.
    Stop(std::io::Error),
}

/// An export's file, a page of users at a time, counted in the job every
/// [`PAGES_PER_PROGRESS`] pages; the stream ends early (the body is cut off with an error)
/// when the job is cancelled, a read fails or the task reading the pages dies. The pages are
/// read and rendered by a task of their own, up to [`READ_AHEAD`] pages ahead of the client,
/// so that reading the next page overlaps with sending the last; the task stops when the
/// download is dropped. The job ends `succeeded` only when the stream reaches the task's end
/// marker, i.e. after every page before it was taken by the connection.
pub(super) fn export_rows(
    s: AppState,
    job: Job,
) -> impl Stream<Item = Result<Bytes, std::io::Error>> + Send {
    let (tx, rx) = tokio::sync::mpsc::channel(READ_AHEAD);
    let task = (s.clone(), job.clone());
    tokio::spawn(
        async move {
            let (s, job) = task;
            let header = match job.format {
                JobFormat::Csv => {
                    let mut out = Vec::new();
                    csv_row(&mut out, &EXPORT_COLUMNS);
                    Bytes::from(out)
                }
                JobFormat::JsonLines => Bytes::new(),
            };
            if tx.send(Piece::Rows(header)).await.is_err() {
                return;
            }
            if let Err(e) = export_pages(&s, &job, &tx).await {
                tracing::warn!(job = %job.id, error = %e, "export download cut off");
                let _ = tx.send(Piece::Stop(e)).await;
            }
        }
        .instrument(tracing::Span::current()),
    );
    futures::stream::unfold(Some((rx, s, job)), |state| async move {
        let (mut rx, s, job) = state?;
        match rx.recv().await {
            Some(Piece::Rows(b)) => Some((Ok(b), Some((rx, s, job)))),
            Some(Piece::Stop(e)) => Some((Err(e), None)),
            Some(Piece::End(read)) => match s.core.export_progress(&job, read, true).await {
                Ok(true) => None,
                Ok(false) => Some((Err(std::io::Error::other("the export was cancelled")), None)),
                Err(e) => {
                    tracing::warn!(job = %job.id, error = %e, "export's end not recorded");
                    Some((Err(std::io::Error::other(e.to_string())), None))
                }
            },
            None => {
                tracing::error!(job = %job.id, "export's reading task ended without its end");
                Some((Err(std::io::Error::other("export interrupted")), None))
            }
        }
    })
}

/// Reads, counts and renders an export's pages into `tx` until the last (then the end
/// marker), or until the download is dropped; an error when the job was cancelled or a read
/// failed.
async fn export_pages(
    s: &AppState,
    job: &Job,
    tx: &tokio::sync::mpsc::Sender<Piece>,
) -> Result<(), std::io::Error> {
    let fail = |e: roster_domain::Error| std::io::Error::other(e.to_string());
    let cancelled = || std::io::Error::other("the export was cancelled");
    let roles: HashMap<String, String> = s
        .core
        .export_roles(job)
        .await
        .map_err(fail)?
        .into_iter()
        .collect();
    let mut after: Option<String> = None;
    let (mut pages, mut read) = (0u32, 0u64);
    loop {
        let page = s
            .core
            .export_page(job, after.as_deref())
            .await
            .map_err(fail)?;
        let last = page.len() < roster_domain::core::EXPORT_PAGE as usize;
        pages += 1;
        read += page.len() as u64;
        if !last && pages % PAGES_PER_PROGRESS == 0 {
            if !s
                .core
                .export_progress(job, read, false)
                .await
                .map_err(fail)?
            {
                return Err(cancelled());
            }
        } else if s.core.export_cancelled(job).await.map_err(fail)? {
            return Err(cancelled());
        }
        after = page.last().map(|u| u.id.to_string());
        if tx
            .send(Piece::Rows(Rendered::users(job.format, &page, &roles)))
            .await
            .is_err()
        {
            return Ok(());
        }
        if last {
            let _ = tx.send(Piece::End(read)).await;
            return Ok(());
        }
    }
}
