//! `roster import-users`: the operator's bulk import, with the same rules and batches as eva's
//! bulk-create, reading the file as it goes (memory bounded by a batch, not the file). On a
//! terminal it shows a progress bar; `--json` prints a summary object on stdout.

use std::time::Instant;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use roster_domain::import::{LineStream, COLUMNS};
use roster_domain::Core;
use serde_json::json;
use tokio::io::AsyncReadExt;

use crate::app::{core_config, open_store};
use crate::config::Config;

/// Imports the file; returns the rows imported and the rows rejected.
pub(crate) async fn import_users(
    config: &Config,
    org: &str,
    language: &str,
    file: &std::path::Path,
    as_json: bool,
) -> anyhow::Result<(usize, usize)> {
    let mut input = tokio::fs::File::open(file)
        .await
        .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", file.display()))?;
    let size = input.metadata().await.map(|m| m.len()).unwrap_or(0);
    let db = open_store(config).await?;
    let core = Core::new(db.store.clone(), core_config(config, config.public_url()));
    let ctx = roster_domain::core::Context::system();
    let bar = ProgressBar::with_draw_target(Some(size), ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template(
            "{bar:40} {percent:>3}% {bytes}/{total_bytes} {msg} ({elapsed}, {eta} left)",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let started = Instant::now();
    let outcome = async {
        let mut run = core.begin_import(&ctx, org, language).await?;
        let mut lines = LineStream::new(COLUMNS.len());
        let mut buf = vec![0u8; 1 << 16];
        let mut read = 0u64;
        loop {
            let n = input.read(&mut buf).await.map_err(|e| {
                roster_domain::Error::BadRequest(format!("cannot read {}: {e}", file.display()))
            })?;
            if n == 0 {
                break;
            }
            read += n as u64;
            let batch = lines
                .feed(&buf[..n])
                .map_err(roster_domain::Error::BadRequest)?;
            run.push(batch, read).await?;
            let (rows, applied) = run.progress();
            bar.set_position(read);
            bar.set_message(format!("{rows} rows read, {applied} imported"));
        }
        run.push(lines.finish(), read).await?;
        run.finish().await
    }
    .await;
    bar.finish_and_clear();
    let out = outcome.map_err(|e| anyhow::anyhow!("import failed: {e}"))?;
    let secs = started.elapsed().as_secs_f64();
    if as_json {
        let errors: Vec<_> = out
            .errors
            .iter()
            .map(|(key, reason)| json!({ "key": key, "reason": reason }))
            .collect();
        let summary = json!({
            "org": org,
            "imported": out.applied,
            "rejected": out.errors.len(),
            "seconds": (secs * 1000.0).round() / 1000.0,
            "rows_per_second": ((out.applied + out.errors.len()) as f64 / secs.max(1e-9)).round(),
            "errors": errors,
        });
        println!("{summary}");
    } else {
        for (key, reason) in &out.errors {
            eprintln!("{key}: {reason}");
        }
        println!(
            "{} users imported, {} rows rejected",
            out.applied,
            out.errors.len()
        );
    }
    db.close().await;
    Ok((out.applied, out.errors.len()))
}
