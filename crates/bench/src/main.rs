//! `cargo run --release -p roster-bench -- --users N --backend sqlite|postgres [--database-url URL] --json FILE`

use std::path::PathBuf;

use clap::Parser;
use roster_bench::{Backend, Options};

/// Loads N users into a real `roster serve` and times every operation of the performance issue.
#[derive(Debug, Parser)]
#[command(name = "roster-bench", version)]
struct Args {
    /// Users in the big organization.
    #[arg(long, default_value_t = 1_000_000)]
    users: usize,
    #[arg(long, value_enum, default_value = "sqlite")]
    backend: Backend,
    /// PostgreSQL database for `--backend postgres` (an empty one; the bench does not drop it).
    #[arg(long)]
    database_url: Option<String>,
    /// Use a server already running on `--database-url` instead of starting one.
    #[arg(long, requires = "database_url")]
    url: Option<String>,
    /// The `roster` binary; default: the one next to this program.
    #[arg(long)]
    roster_bin: Option<PathBuf>,
    /// Small organizations beside the big one.
    #[arg(long, default_value_t = 3)]
    other_orgs: usize,
    #[arg(long, default_value_t = 1_000)]
    other_org_users: usize,
    /// Seconds each timed operation runs.
    #[arg(long, default_value_t = 5.0)]
    seconds: f64,
    /// Clients at once for get, sign-in and invite.
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    /// Rows of the timed bulk import without passwords.
    #[arg(long, default_value_t = 100_000)]
    import_rows: usize,
    /// Rows of the timed bulk import with passwords.
    #[arg(long, default_value_t = 10_000)]
    password_rows: usize,
    /// Rows per file while loading the big organization.
    #[arg(long, default_value_t = 100_000)]
    load_chunk: usize,
    /// Rows of each import of the webhook rounds (0: none): one import without and one with a
    /// webhook endpoint on a receiver in this process, per round.
    #[arg(long, default_value_t = 100_000)]
    webhook_rows: usize,
    #[arg(long, default_value_t = 1)]
    webhook_rounds: usize,
    /// Only the load, the imports, the exports and the webhook rounds: no walk and no read
    /// operation (for before/after runs of the write path).
    #[arg(long)]
    writes_only: bool,
    /// Only the load, Amigo's page of 100 and the exports (for before/after runs of the export
    /// path; no walk, no other read, no import, no webhook round).
    #[arg(long, conflicts_with = "writes_only")]
    exports_only: bool,
    /// Where to write the JSON report.
    #[arg(long)]
    json: Option<PathBuf>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let a = Args::parse();
    let roster_bin = match a.roster_bin {
        Some(p) => p,
        None => std::env::current_exe()?
            .parent()
            .map(|d| d.join("roster"))
            .filter(|p| p.exists())
            .ok_or_else(|| {
                anyhow::anyhow!(
                    "no roster binary next to roster-bench: build it with `cargo build --release --bin roster` or pass --roster-bin"
                )
            })?,
    };
    let report = roster_bench::run(Options {
        users: a.users,
        backend: a.backend,
        database_url: a.database_url,
        url: a.url,
        roster_bin,
        other_orgs: a.other_orgs,
        other_org_users: a.other_org_users,
        seconds: a.seconds,
        concurrency: a.concurrency,
        import_rows: a.import_rows,
        password_rows: a.password_rows,
        load_chunk: a.load_chunk.max(1),
        webhook_rows: a.webhook_rows,
        webhook_rounds: a.webhook_rounds,
        writes_only: a.writes_only,
        exports_only: a.exports_only,
    })
    .await?;
    print!("{}", report.table());
    if let Some(path) = &a.json {
        roster_bench::write_json(&report, path)?;
    }
    if !report.all_checks_pass() {
        anyhow::bail!("some answers were wrong; see the checks above");
    }
    Ok(())
}
