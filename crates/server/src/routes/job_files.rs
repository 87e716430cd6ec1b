//! The files of jobs: an import's upload read into lines as it arrives (eva's CSV, or JSON
//! lines of the same fields), and the rows of results rendered page by page.

use std::collections::HashMap;

use axum::body::Bytes;
use futures::{Stream, StreamExt};
use roster_domain::import::{Line, LineStream, COLUMNS, MAX_RECORD_BYTES};
use roster_domain::model::User;
use roster_domain::store::{Job, JobError, JobFormat};
use roster_domain::types::format_micros;
use serde_json::{json, Value};

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
fn field(out: &mut String, value: &str) {
    let formula = value.starts_with(['=', '+', '-', '@', '\t', '\r']);
    if formula || value.contains([';', '"', '\n', '\r']) {
        out.push('"');
        if formula {
            out.push('\'');
        }
        out.push_str(&value.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(value);
    }
}

fn csv_row(out: &mut String, values: &[&str]) {
    for (i, v) in values.iter().enumerate() {
        if i > 0 {
            out.push(';');
        }
        field(out, v);
    }
    out.push('\n');
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
        let mut out = String::new();
        for e in errors {
            match format {
                JobFormat::Csv => csv_row(&mut out, &[&e.line.to_string(), &e.key, &e.reason]),
                JobFormat::JsonLines => {
                    out.push_str(
                        &json!({ "line": e.line, "key": e.key, "reason": e.reason }).to_string(),
                    );
                    out.push('\n');
                }
            }
        }
        Bytes::from(out)
    }

    fn users(format: JobFormat, users: &[User], roles: &HashMap<String, String>) -> Bytes {
        let mut out = String::with_capacity(users.len() * 160);
        for u in users {
            let names: Vec<&str> = u
                .role_ids
                .iter()
                .map(|r| roles.get(r).map_or(r.as_str(), String::as_str))
                .collect();
            let created = format_micros(u.created_at);
            match format {
                JobFormat::Csv => csv_row(
                    &mut out,
                    &[
                        &u.id,
                        &u.email,
                        &u.first_name,
                        &u.last_name,
                        u.company.as_deref().unwrap_or(""),
                        u.status.as_str(),
                        if u.is_admin { "true" } else { "false" },
                        &names.join("|"),
                        &created,
                    ],
                ),
                JobFormat::JsonLines => {
                    out.push_str(
                        &json!({
                            "id": u.id, "email": u.email, "first_name": u.first_name,
                            "last_name": u.last_name, "company": u.company,
                            "status": u.status.as_str(), "is_admin": u.is_admin,
                            "roles": names, "created_at": created,
                        })
                        .to_string(),
                    );
                    out.push('\n');
                }
            }
        }
        Bytes::from(out)
    }
}

/// An export's file, a page of users at a time, each page counted in the job; the stream ends
/// early (the body is cut off) when the job is cancelled or a read fails.
pub(super) fn export_rows(
    s: AppState,
    job: Job,
) -> impl Stream<Item = Result<Bytes, std::io::Error>> + Send {
    let header = match job.format {
        JobFormat::Csv => {
            let mut out = String::new();
            csv_row(&mut out, &EXPORT_COLUMNS);
            Bytes::from(out)
        }
        JobFormat::JsonLines => Bytes::new(),
    };
    struct State {
        s: AppState,
        job: Job,
        roles: Option<HashMap<String, String>>,
        after: Option<String>,
        done: bool,
    }
    let state = State {
        s,
        job,
        roles: None,
        after: None,
        done: false,
    };
    futures::stream::once(async move { Ok(header) }).chain(futures::stream::unfold(
        state,
        |mut st| async move {
            if st.done {
                return None;
            }
            let fail = |e: roster_domain::Error| std::io::Error::other(e.to_string());
            if st.roles.is_none() {
                match st.s.core.export_roles(&st.job).await {
                    Ok(r) => st.roles = Some(r.into_iter().collect()),
                    Err(e) => {
                        st.done = true;
                        return Some((Err(fail(e)), st));
                    }
                }
            }
            let page = match st.s.core.export_page(&st.job, st.after.as_deref()).await {
                Ok(p) => p,
                Err(e) => {
                    st.done = true;
                    return Some((Err(fail(e)), st));
                }
            };
            let last = page.len() < roster_domain::core::EXPORT_PAGE as usize;
            match st
                .s
                .core
                .export_progress(&st.job, page.len() as u64, last)
                .await
            {
                Ok(true) => {}
                Ok(false) => {
                    st.done = true;
                    return Some((Err(std::io::Error::other("the export was cancelled")), st));
                }
                Err(e) => {
                    st.done = true;
                    return Some((Err(fail(e)), st));
                }
            }
            let empty = HashMap::new();
            let roles = st.roles.as_ref().unwrap_or(&empty);
            let bytes = Rendered::users(st.job.format, &page, roles);
            st.after = page.last().map(|u| u.id.to_string());
            st.done = last;
            Some((Ok(bytes), st))
        },
    ))
}
