//! The files of jobs: an import's upload read into lines as it arrives (eva's CSV, or JSON
//! lines of the same fields), and an import's rejected rows rendered page by page (an
//! export's file is `export_file.rs`).

use axum::body::Bytes;
use futures::{Stream, StreamExt};
use roster_domain::import::{Line, LineStream, COLUMNS, MAX_RECORD_BYTES};
use roster_domain::store::{JobError, JobFormat};
use serde_json::{json, Value};

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

pub(super) fn csv_row(out: &mut Vec<u8>, values: &[&str]) {
    for (i, v) in values.iter().enumerate() {
        if i > 0 {
            out.push(b';');
        }
        field(out, v);
    }
    out.push(b'\n');
}

pub(crate) struct Rendered;

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
}
