//! An export's file: its users read a page at a time by a task of their own, ahead of the
//! client, and rendered as CSV or JSON lines.

use std::collections::HashMap;

use axum::body::Bytes;
use futures::Stream;
use roster_domain::store::{ExportedUser, Job, JobFormat};
use roster_domain::types::{format_micros, Micros};
use tracing::Instrument;

use super::job_files::csv_row;
use crate::state::AppState;

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

/// A page of an export's users as the lines of its file.
fn render(format: JobFormat, users: &[ExportedUser], roles: &HashMap<String, String>) -> Bytes {
    let mut out = Vec::with_capacity(users.len() * 200);
    let mut names: Vec<&str> = Vec::new();
    let mut joined = String::new();
    let (mut time, mut spill) = ([0u8; 27], String::new());
    for u in users {
        names.clear();
        names.extend(
            u.role_ids
                .iter()
                .map(|r| roles.get(r).map_or(r.as_str(), String::as_str)),
        );
        let created = rfc3339(u.created_at, &mut time, &mut spill);
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
                        created,
                    ],
                )
            }
            JobFormat::JsonLines => {
                let line = ExportLine {
                    company: u.company.as_deref(),
                    created_at: created,
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

/// `format_micros(t)` (RFC 3339, microseconds, `Z`) written into `buf` rather than a new
/// `String` for each user; a year outside 0 to 9999 is written by `format_micros` into `spill`.
fn rfc3339<'b>(t: Micros, buf: &'b mut [u8; 27], spill: &'b mut String) -> &'b str {
    use chrono::{Datelike, Timelike};
    let at = chrono::DateTime::from_timestamp_micros(t).unwrap_or_default();
    let year = at.year();
    if !(0..=9999).contains(&year) {
        *spill = format_micros(t);
        return spill;
    }
    let put = |buf: &mut [u8; 27], at: usize, width: usize, mut n: u32| {
        for i in (at..at + width).rev() {
            buf[i] = b'0' + (n % 10) as u8;
            n /= 10;
        }
    };
    *buf = *b"0000-00-00T00:00:00.000000Z";
    put(buf, 0, 4, year as u32);
    put(buf, 5, 2, at.month());
    put(buf, 8, 2, at.day());
    put(buf, 11, 2, at.hour());
    put(buf, 14, 2, at.minute());
    put(buf, 17, 2, at.second());
    put(buf, 20, 6, at.nanosecond() / 1000);
    // Only ASCII digits were written into an ASCII template.
    std::str::from_utf8(buf).unwrap_or_default()
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
            .send(Piece::Rows(render(job.format, &page, &roles)))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_written_as_format_micros_writes_them() {
        let (mut buf, mut spill) = ([0u8; 27], String::new());
        let day = 86_400_000_000i64;
        let mut t = -800_000 * day;
        while t < 3_000_000 * day {
            for at in [t, t + 1, t + 999_999, t + 59_123_456] {
                assert_eq!(rfc3339(at, &mut buf, &mut spill), format_micros(at), "{at}");
            }
            t += 7_777 * day + 3_601_000_017;
        }
        for at in [0, -1, i64::MIN, i64::MAX, 1_764_806_400_000_000] {
            assert_eq!(rfc3339(at, &mut buf, &mut spill), format_micros(at), "{at}");
        }
    }
}
