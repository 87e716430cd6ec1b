//! The sqlx implementation of the domain's `Store` for SQLite and PostgreSQL: [`SqlStore`],
//! over one database or several clusters.
//!
//! One SQL string and one `.bind()` chain serve both drivers: the `run!` and `tx!` macros paste a
//! body into both arms of a match on [`Db`], so each arm is type-checked against its own driver.
//! Per-dialect SQL is written only where the dialects truly differ (search, upserts of ids).
#![deny(clippy::unwrap_used)]

// The implementation of each aggregate's trait, one file each (see `roster_domain::store`).
mod audit;
mod connections;
mod console;
mod directory;
mod eva;
mod exports;
mod identities;
mod jobs;
mod keys;
mod oidc;
mod ops;
mod orgs;
mod outbox;
mod roles;
mod test_reads;
mod throttle;
mod tokens;
mod users;
mod webhooks;

// What they share: routing by organization, statements over a transaction, query building and
// row decoding. None of these names an implementation file.
mod bulk_rows;
mod effects;
mod filter;
mod listing;
mod placement;
mod rows;
mod sql;
mod stmt;

use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::Context as _;
use roster_domain::store::{StoreError, StoreResult};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgPool, SqlitePool};

pub use ops::PoolStats;
pub use placement::SqlStore;

/// A connection pool of either backend, chosen from the URL scheme.
#[derive(Clone, Debug)]
pub enum Db {
    /// Readers share a pool; writers queue on one connection, as SQLite allows one writer anyway.
    Sqlite {
        read: SqlitePool,
        write: SqlitePool,
    },
    Postgres(PgPool),
}

/// Runs `$body` with `$pool` bound to the backend's reading pool.
macro_rules! run {
    ($db:expr, |$pool:ident| $body:expr) => {
        match $db {
            $crate::Db::Sqlite { read: $pool, .. } => $body,
            $crate::Db::Postgres($pool) => $body,
        }
    };
}

/// Runs `$body` in one write transaction bound to `$tx`, committing when it returns `Ok`.
/// SQLite starts with `BEGIN IMMEDIATE` so that a read-then-write never fails to upgrade.
///
/// Every write goes through here, so this is where the write generation moves: after the commit
/// (or a failed commit, which may still have committed), so that a cache entry read before it is
/// never served after it. `tx!(untracked db, ...)` is for writes that only touch tables no cache
/// reads (audit events, the outbox, one-time tokens, page cursors): a sign-in's audit row must not
/// empty the caches.
macro_rules! tx {
    (untracked $db:expr, |$tx:ident| $body:expr) => {
        $crate::tx!(@run false, $db, |$tx| $body)
    };
    ($db:expr, |$tx:ident| $body:expr) => {
        $crate::tx!(@run true, $db, |$tx| $body)
    };
    (@run $tracked:expr, $db:expr, |$tx:ident| $body:expr) => {
        match $db {
            $crate::Db::Sqlite { write, .. } => {
                let mut $tx = $crate::begin_apart(write, Some("BEGIN IMMEDIATE")).await?;
                let out = $body;
                let done = $tx.commit().await;
                if $tracked {
                    $crate::bump_write_generation();
                }
                done.map_err($crate::err)?;
                out
            }
            $crate::Db::Postgres(pool) => {
                let mut $tx = $crate::begin_apart(pool, None).await?;
                let out = $body;
                let done = $tx.commit().await;
                if $tracked {
                    $crate::bump_write_generation();
                }
                done.map_err($crate::err)?;
                out
            }
        }
    };
}

/// Counts this process's committed write transactions (see [`tx!`]). One counter per process
/// rather than per [`Db`]: `Db` is a plain enum of pools, cloned freely, and a process holding
/// several databases (the test binary) then only invalidates more often than it needs to,
/// never less.
static WRITE_GENERATION: AtomicU64 = AtomicU64::new(0);

pub(crate) fn bump_write_generation() {
    WRITE_GENERATION.fetch_add(1, Ordering::SeqCst);
}

/// The current write generation: unchanged since a read means no write of this process
/// committed since.
pub fn write_generation() -> u64 {
    WRITE_GENERATION.load(Ordering::SeqCst)
}

pub(crate) use {run, tx};

#[derive(Debug, Clone)]
pub struct DbOptions {
    pub max_connections: u32,
    /// The longest a query waits for a pooled connection, or on SQLite for another writer's
    /// lock, before the store reports the database unavailable.
    pub acquire_timeout: Duration,
}

impl Default for DbOptions {
    fn default() -> Self {
        Self {
            max_connections: 16,
            acquire_timeout: Duration::from_secs(5),
        }
    }
}

/// Rows a SQLite query hands over before its worker waits: an export's page and its end.
const ROW_CHANNEL: usize = 1024;

/// The writer's page cache, in KiB (SQLite's negative `cache_size`): bulk inserts touch many
/// indexes.
const WRITER_CACHE_KIB: i64 = 64 * 1024;
/// Each reader's page cache, in KiB.
const READER_CACHE_KIB: i64 = 16 * 1024;
/// SQLite's soft heap limit, in bytes, for all its connections together: the writer's cache
/// and 16 MiB more. The bundled SQLite is built with `SQLITE_ENABLE_MEMORY_MANAGEMENT`, so the
/// connections' page caches are one pool with one least-recently-used list: near the limit a
/// cache takes the oldest page of any connection instead of a new allocation. An import then
/// writes through pages the idle readers held, and a read load through the writer's, where
/// their sum (64 MiB and up to four readers of 16 MiB) used to stay resident together.
const SQLITE_HEAP_LIMIT: i64 = (WRITER_CACHE_KIB + READER_CACHE_KIB) * 1024;

/// Begins a transaction in a task of its own. sqlx 0.8 counts a transaction only once its
/// `BEGIN` has answered (and, on SQLite, once it holds the connection's lock after a custom
/// `BEGIN IMMEDIATE`): a caller dropped in between (an aborted task, a client gone
/// mid-request) would give the connection back inside a transaction nobody ends
/// (launchbadge/sqlx#4393). Run apart, the `BEGIN` always finishes; if the caller is gone by
/// then, the transaction is dropped, and rolled back, as any dropped one.
pub(crate) async fn begin_apart<DB: sqlx::Database>(
    pool: &sqlx::Pool<DB>,
    statement: Option<&'static str>,
) -> R<sqlx::Transaction<'static, DB>> {
    let pool = pool.clone();
    tokio::spawn(async move {
        match statement {
            Some(s) => pool.begin_with(s).await,
            None => pool.begin().await,
        }
    })
    .await
    .map_err(|e| StoreError::Other(anyhow::anyhow!("a transaction's start failed: {e}")))?
    .map_err(err)
}

/// Whether a connection handed back to its pool may be used again: not when sqlx counts it
/// still inside a transaction (one begun outside [`begin_apart`] and dropped before sqlx's
/// guard existed). Every later `BEGIN` on it would fail, or become a savepoint never made
/// durable; it is closed instead and the pool opens another. A dropped transaction's queued
/// rollback runs first: the ping waits behind it (SQLite lowers the count only when its worker
/// has rolled back), and is only sent when the connection looks inside a transaction.
fn outside_transaction<C: sqlx::Connection>(
    conn: &mut C,
    _: sqlx::pool::PoolConnectionMetadata,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<bool, sqlx::Error>> + Send + '_>> {
    Box::pin(async move {
        if conn.is_in_transaction() {
            conn.ping().await?;
        }
        Ok(!conn.is_in_transaction())
    })
}

impl Db {
    /// Opens the database named by `url`: `sqlite:` / `sqlite://` or `postgres://` / `postgresql://`.
    /// Any other scheme is an error rather than a silent SQLite file.
    pub async fn connect(url: &str, opts: &DbOptions) -> anyhow::Result<Self> {
        if url.starts_with("sqlite:") {
            let base = SqliteConnectOptions::from_str(url)
                .context("invalid SQLite URL")?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(opts.acquire_timeout)
                .foreign_keys(true)
                .pragma("temp_store", "memory")
                // Process-wide: each connection sets the same value as it opens.
                .pragma("soft_heap_limit", SQLITE_HEAP_LIMIT.to_string())
                // Rows a query's worker thread may send ahead of the task reading them. sqlx's
                // 50 made the worker stop and wait for the reader twice in a page of 100 users
                // and twenty times in an export's page of 1,000: a thread switch each.
                .row_buffer_size(ROW_CHANNEL);
            // Page caches are per connection: the writer gets a large one for bulk inserts into
            // many indexes; readers share the OS page cache and keep small ones, and there are
            // no more of them than the cores can run (SQLite reads are CPU-bound).
            // No ping before each use: a SQLite connection is a file handle that cannot go stale,
            // and sqlx's ping is a round trip to the connection's worker thread, as costly as a
            // small query.
            let write = SqlitePoolOptions::new()
                .test_before_acquire(false)
                .after_release(outside_transaction)
                .max_connections(1)
                .acquire_timeout(Duration::from_secs(30))
                .connect_with(
                    base.clone()
                        .pragma("cache_size", (-WRITER_CACHE_KIB).to_string()),
                )
                .await
                .with_context(|| format!("cannot open SQLite database {}", redact(url)))?;
            let cores = std::thread::available_parallelism().map_or(2, |n| n.get()) as u32;
            let read = SqlitePoolOptions::new()
                .test_before_acquire(false)
                .after_release(outside_transaction)
                .max_connections(opts.max_connections.clamp(2, 2 * cores.max(1)))
                .acquire_timeout(opts.acquire_timeout)
                .connect_with(base.pragma("cache_size", (-READER_CACHE_KIB).to_string()))
                .await?;
            Ok(Self::Sqlite { read, write })
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let options = PgConnectOptions::from_str(url).context("invalid PostgreSQL URL")?;
            // sqlx pings a connection when it goes back to the pool and, by default, again when
            // it leaves: two network round trips around each query. A connection used within
            // the last second was pinged on release just before; only older ones are pinged
            // again (a failed ping closes the connection and sqlx takes another).
            let pool = PgPoolOptions::new()
                .test_before_acquire(false)
                .after_release(outside_transaction)
                .before_acquire(|conn, meta| {
                    Box::pin(async move {
                        if meta.idle_for >= Duration::from_secs(1) {
                            sqlx::Connection::ping(conn).await?;
                        }
                        Ok(true)
                    })
                })
                .max_connections(opts.max_connections)
                .acquire_timeout(opts.acquire_timeout)
                .connect_with(options)
                .await
                .with_context(|| format!("cannot connect to PostgreSQL at {}", redact(url)))?;
            Ok(Self::Postgres(pool))
        } else {
            anyhow::bail!(
                "unsupported database URL scheme in {}: use sqlite:PATH or postgres://...",
                redact(url)
            )
        }
    }

    /// Applies the migrations of this backend (the two folders carry the same versions).
    /// Opens the database named by `url` and applies its migrations, safely while other
    /// processes (a server, the CLI, a second server) open the same database at once. On
    /// PostgreSQL the migrator holds an advisory lock; SQLite has none, so the first open and
    /// the migrations run under an exclusive lock on a file next to the database. A new SQLite
    /// file is created readable by its owner only (it holds password and key hashes), and
    /// SQLite gives its WAL and shared-memory files the database file's mode.
    pub async fn open(url: &str, opts: &DbOptions) -> anyhow::Result<Self> {
        let Some(path) = sqlite_file(url)? else {
            let db = Self::connect(url, opts).await?;
            db.migrate().await.context("migrating the database")?;
            return Ok(db);
        };
        let mut lock_path = path.as_os_str().to_owned();
        lock_path.push("-migrate.lock");
        let lock = open_private(std::path::Path::new(&lock_path))?;
        let lock = tokio::task::spawn_blocking(move || lock.lock().map(|_| lock))
            .await
            .context("waiting for the migration lock")?
            .context("locking the database for its migrations")?;
        open_private(&path)?;
        let db = Self::connect(url, opts).await?;
        let migrated = db.migrate().await.context("migrating the database");
        drop(lock);
        migrated?;
        Ok(db)
    }

    pub async fn migrate(&self) -> anyhow::Result<()> {
        match self {
            Db::Sqlite { write, .. } => sqlx::migrate!("./migrations/sqlite").run(write).await?,
            Db::Postgres(pool) => sqlx::migrate!("./migrations/postgres").run(pool).await?,
        }
        Ok(())
    }

    /// Whether every migration this binary knows has been applied.
    pub async fn migrations_current(&self) -> anyhow::Result<bool> {
        let (known, applied): (usize, i64) = match self {
            Db::Sqlite { read, .. } => (
                sqlx::migrate!("./migrations/sqlite").iter().count(),
                sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations WHERE success")
                    .fetch_one(read)
                    .await?,
            ),
            Db::Postgres(pool) => (
                sqlx::migrate!("./migrations/postgres").iter().count(),
                sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations WHERE success")
                    .fetch_one(pool)
                    .await?,
            ),
        };
        Ok(applied as usize == known)
    }

    pub async fn close(&self) {
        match self {
            Db::Sqlite { read, write } => {
                read.close().await;
                write.close().await;
            }
            Db::Postgres(pool) => pool.close().await,
        }
    }
}

/// The file of an SQLite URL (none for PostgreSQL or an in-memory database).
fn sqlite_file(url: &str) -> anyhow::Result<Option<std::path::PathBuf>> {
    if !url.starts_with("sqlite:") {
        return Ok(None);
    }
    let opts = SqliteConnectOptions::from_str(url).context("invalid SQLite URL")?;
    let path = opts.get_filename();
    Ok((!url.contains(":memory:") && !path.as_os_str().is_empty()).then(|| path.to_owned()))
}

/// Opens `path`, creating it with mode 0600 when it does not exist (an existing file keeps
/// the mode its owner gave it).
fn open_private(path: &std::path::Path) -> anyhow::Result<std::fs::File> {
    let mut o = std::fs::OpenOptions::new();
    o.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o600);
    }
    o.open(path)
        .with_context(|| format!("cannot open {}", path.display()))
}

/// The URL with any password replaced, for logs and errors.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..s + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

/// Maps driver errors to the store's: uniqueness, unavailability, or anything else.
pub(crate) fn err(e: sqlx::Error) -> StoreError {
    match &e {
        sqlx::Error::Database(d) if d.is_unique_violation() => {
            StoreError::Conflict { field: "key" }
        }
        sqlx::Error::Database(d) => {
            // SQLite BUSY/LOCKED/READONLY/IOERR/FULL and PostgreSQL connection/shutdown/read-only classes.
            let code = d.code().map(|c| c.into_owned()).unwrap_or_default();
            let transient = matches!(
                code.as_str(),
                "5" | "6" | "8" | "10" | "13" | "261" | "517" | "1032"
            ) || code.starts_with("08")
                || code.starts_with("57P")
                || code == "25006"
                || code == "53300";
            if transient {
                StoreError::Unavailable(e.to_string())
            } else {
                StoreError::Other(e.into())
            }
        }
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_) => StoreError::Unavailable(e.to_string()),
        _ => StoreError::Other(e.into()),
    }
}

pub(crate) fn json_err(e: serde_json::Error) -> StoreError {
    StoreError::Other(e.into())
}

pub(crate) type R<T> = StoreResult<T>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_passwords() {
        assert_eq!(redact("postgres://u:secret@h/db"), "postgres://u:***@h/db");
        assert_eq!(redact("sqlite:data/roster.db"), "sqlite:data/roster.db");
    }

    /// A connection given back between its `BEGIN` and the transaction's guard (a dropped
    /// task) is not reused: the next write begins on a connection of its own.
    #[tokio::test]
    async fn a_connection_left_inside_a_transaction_is_not_reused() {
        let dir = std::env::temp_dir().join(format!("roster-store-tx-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temporary folder");
        let url = format!("sqlite:{}", dir.join("left-open.db").display());
        let db = Db::connect(&url, &DbOptions::default())
            .await
            .expect("open");
        let Db::Sqlite { write, .. } = &db else {
            panic!("a SQLite URL opens SQLite")
        };
        {
            let mut conn = write.acquire().await.expect("the writer");
            let tx = sqlx::Connection::begin_with(&mut *conn, "BEGIN IMMEDIATE")
                .await
                .expect("begin");
            // What a task dropped inside `begin` leaves: a transaction with no guard to end it.
            std::mem::forget(tx);
            assert!(sqlx::Connection::is_in_transaction(&*conn));
        }
        // The store's writes begin so (`tx!`): on the connection left open, that `BEGIN`
        // fails, or a plain one becomes a savepoint whose commit is never made durable.
        let mut tx = write
            .begin_with("BEGIN IMMEDIATE")
            .await
            .expect("a write after it begins");
        sqlx::query("CREATE TABLE t (x INTEGER)")
            .execute(&mut *tx)
            .await
            .expect("and writes");
        tx.commit().await.expect("and commits");
        let Db::Sqlite { read, .. } = &db else {
            unreachable!()
        };
        let seen: i64 = sqlx::query_scalar("SELECT count(*) FROM t")
            .fetch_one(read)
            .await
            .expect("a reader sees the committed table");
        assert_eq!(seen, 0);
        drop(db);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn migration_folders_match() {
        let names = |dir: &str| {
            let mut v: Vec<String> = std::fs::read_dir(dir)
                .map(|d| {
                    d.filter_map(|e| e.ok())
                        .map(|e| e.file_name().to_string_lossy().into_owned())
                        .collect()
                })
                .unwrap_or_default();
            v.sort();
            v
        };
        let base = env!("CARGO_MANIFEST_DIR");
        let (s, p) = (
            names(&format!("{base}/migrations/sqlite")),
            names(&format!("{base}/migrations/postgres")),
        );
        assert!(!s.is_empty());
        assert_eq!(s, p, "both backends must carry the same migration versions");
    }
}
