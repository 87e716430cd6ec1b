//! The timed exports: the whole big organization through an export job, as CSV and as JSON
//! lines, downloaded as a stream and counted (every user once).

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
            let (mut lines, mut bytes) = (0u64, 0u64);
            while let Some(chunk) = resp.chunk().await? {
                bytes += chunk.len() as u64;
                lines += chunk.iter().filter(|b| **b == b'\n').count() as u64;
            }
            let secs = t.elapsed().as_secs_f64();
            let rows = if format == "csv" {
                lines.saturating_sub(1)
            } else {
                lines
            };
            self.check(&format!("{name}: every user once"), total, rows);
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
