//! The timed exports: the whole big organization through an export job, as CSV and as JSON
//! lines, downloaded as a stream; its lines are counted and its ids checked distinct (every
//! user once).

use std::collections::HashSet;
use std::time::Instant;

use serde_json::json;

use crate::load::{send, Goal, OpResult};
use crate::Bench;

/// The export goal of issue 20, in users per second.
const GOAL: f64 = 200_000.0;

impl Bench {
    pub(crate) async fn exports(&mut self, token: &str) -> anyhow::Result<()> {
        for format in ["csv", "jsonl"] {
            let name = format!("jobs.export {format}");
            let jobs = self.url(&format!("/admin/v1/orgs/{}/jobs", self.org.org_id));
            let t = Instant::now();
            let job = send(
                self.client
                    .post(format!("{jobs}/export"))
                    .bearer_auth(token)
                    .json(&json!({ "format": format })),
            )
            .await
            .map_err(|e| anyhow::anyhow!("export job: {e}"))?;
            let id = job["id"].as_str().unwrap_or_default().to_owned();
            let total = job["rows_total"].as_u64().unwrap_or(0);
            let mut resp = self
                .client
                .get(format!("{jobs}/{id}/result"))
                .bearer_auth(token)
                .send()
                .await?
                .error_for_status()?;
            let (mut rows, mut bytes) = (0u64, 0u64);
            let (mut pending, mut ids) = (Vec::new(), HashSet::new());
            let mut header = format == "csv";
            while let Some(chunk) = resp.chunk().await? {
                bytes += chunk.len() as u64;
                pending.extend_from_slice(&chunk);
                let Some(end) = pending.iter().rposition(|b| *b == b'\n') else {
                    continue;
                };
                for line in pending[..end].split(|b| *b == b'\n') {
                    if std::mem::take(&mut header) {
                        continue;
                    }
                    rows += 1;
                    if let Some(id) = id_of(format, line) {
                        ids.insert(id.to_vec());
                    }
                }
                pending.drain(..=end);
            }
            let secs = t.elapsed().as_secs_f64();
            self.check(&format!("{name}: as many users as the job"), total, rows);
            self.check(
                &format!("{name}: every user once (distinct ids)"),
                total,
                ids.len() as u64,
            );
            let rate = rows as f64 / secs.max(1e-9);
            eprintln!(
                "{name}: {rows} users, {:.1} MiB in {secs:.2} s ({rate:.0} users/s)",
                bytes as f64 / 1048576.0
            );
            self.push(OpResult {
                name,
                concurrency: 1,
                requests: rows as usize,
                errors: 0,
                throughput: rate,
                p50_ms: secs * 1000.0,
                p90_ms: secs * 1000.0,
                p99_ms: secs * 1000.0,
                unit: "users/s",
                goal: Some(Goal::MinRowsPerSec(GOAL)),
                ..OpResult::default()
            });
        }
        Ok(())
    }
}

/// The user id of an export's line: the CSV's first field, or the JSON line's `id`.
fn id_of<'a>(format: &str, line: &'a [u8]) -> Option<&'a [u8]> {
    if format == "csv" {
        return line
            .split(|b| *b == b';')
            .next()
            .filter(|id| !id.is_empty());
    }
    let key = b"\"id\":\"";
    let at = line.windows(key.len()).position(|w| w == key)? + key.len();
    let len = line[at..].iter().position(|b| *b == b'"')?;
    Some(&line[at..at + len])
}
