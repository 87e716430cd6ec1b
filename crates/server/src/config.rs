//! Settings: defaults, then the optional TOML file (`--config`, see `cli.rs`), then `ROSTER_*`
//! environment variables, then command-line flags.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, ValueEnum};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// The heading of the server-wide settings in every command's help, apart from the command's
/// own flags.
pub const SETTINGS_HEADING: &str =
    "Settings (every command; also ROSTER_* variables, see `roster --help`)";

fn parse_hash_cost(s: &str) -> Result<roster_domain::password::HashCost, String> {
    roster_domain::password::HashCost::parse(s)
        .ok_or_else(|| format!("`{s}` is not a hash cost: `production` or `minimal`"))
}

/// Every setting of the server; `roster --help` lists them with their variables.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = SETTINGS_HEADING)]
pub struct Config {
    /// Address to listen on.
    #[arg(
        long,
        env = "ROSTER_BIND",
        default_value = "127.0.0.1:8080",
        global = true
    )]
    pub bind: SocketAddr,

    /// Directory for the SQLite database, queued emails and the platform credentials file.
    #[arg(long, env = "ROSTER_DATA_DIR", default_value = "./data", global = true)]
    pub data_dir: PathBuf,

    /// Database URL: `sqlite:PATH` or `postgres://USER@HOST/DB`. Default: `sqlite:<data-dir>/roster.db`.
    #[arg(
        long,
        env = "ROSTER_DATABASE_URL",
        global = true,
        hide_env_values = true
    )]
    pub database_url: Option<String>,

    /// The longest a request waits for a database connection, or for SQLite's write lock held
    /// by another process, in milliseconds; then it is answered 503 with `Retry-After`.
    #[arg(
        long,
        env = "ROSTER_DB_TIMEOUT_MS",
        default_value_t = 5000,
        global = true
    )]
    pub db_timeout_ms: u64,

    /// Name of the database of `--database-url` as a cluster: the home cluster, which also keeps
    /// the directory of placements, the settings and the signing keys.
    #[arg(
        long,
        env = "ROSTER_CLUSTER_NAME",
        default_value = "main",
        global = true
    )]
    pub cluster_name: String,

    /// Further PostgreSQL (or SQLite) clusters to place organizations on, as `name=URL` pairs
    /// separated by commas. An organization is created on the cluster its creator names
    /// (`x-mongo-cluster-name`, `roster bootstrap --cluster`), else on the home cluster, and
    /// every request is routed to its organization's cluster.
    #[arg(
        long,
        env = "ROSTER_CLUSTERS",
        value_delimiter = ',',
        global = true,
        hide_env_values = true
    )]
    pub clusters: Vec<String>,

    /// Most connections in the database pool.
    #[arg(
        long,
        env = "ROSTER_DB_MAX_CONNECTIONS",
        default_value_t = 16,
        global = true
    )]
    pub db_max_connections: u32,

    /// Base URL of every link Roster emails or returns. Default: `http://<bind>`.
    #[arg(long, env = "ROSTER_PUBLIC_URL", global = true)]
    pub public_url: Option<String>,

    /// SMTP server for outgoing email (`smtp://`, `smtps://`); default: `.eml` files in the data directory.
    #[arg(long, env = "ROSTER_SMTP_URL", global = true, hide_env_values = true)]
    pub smtp_url: Option<String>,

    /// Sender of every email, as `Name <address>` or a bare address.
    #[arg(
        long,
        env = "ROSTER_MAIL_FROM",
        default_value = "Roster <no-reply@localhost>",
        global = true
    )]
    pub mail_from: String,

    /// Outbox delivery workers on this node; 0 leaves delivery to other nodes.
    #[arg(long, env = "ROSTER_MAIL_WORKERS", default_value_t = 1, global = true)]
    pub mail_workers: usize,

    /// How often an idle delivery worker looks for due messages, in milliseconds.
    #[arg(
        long,
        env = "ROSTER_MAIL_POLL_MS",
        default_value_t = 1000,
        global = true
    )]
    pub mail_poll_ms: u64,

    /// Redis URL (`redis://[:PASSWORD@]HOST[:PORT][/DB]`) shared by several nodes: rate limits
    /// then hold across them, and a change made through one node is seen by the others at once.
    /// Unset: both are per node.
    #[arg(long, env = "ROSTER_REDIS_URL", global = true, hide_env_values = true)]
    pub redis_url: Option<String>,

    /// Prefix of every Redis key Roster writes, so that several deployments can share one Redis.
    #[arg(
        long,
        env = "ROSTER_REDIS_PREFIX",
        default_value = "roster:",
        global = true
    )]
    pub redis_prefix: String,

    /// Longest wait for one Redis call, in milliseconds; past it the request goes on without
    /// Redis (in-process rate limit, database instead of the cache).
    #[arg(
        long,
        env = "ROSTER_REDIS_TIMEOUT_MS",
        default_value_t = 100,
        global = true
    )]
    pub redis_timeout_ms: u64,

    /// Rate limits: `on` (the contract's limits), `off`, or `name=N,...` overrides in requests per minute.
    #[arg(long, env = "ROSTER_RATE_LIMITS", default_value = "on", global = true)]
    pub rate_limits: String,

    /// Log format.
    #[arg(
        long,
        env = "ROSTER_LOG_FORMAT",
        value_enum,
        default_value = "text",
        global = true
    )]
    pub log_format: LogFormat,

    /// Bearer secret of the ingestion API (service-to-service). The API is off when unset.
    #[arg(
        long,
        env = "ROSTER_INGEST_TOKEN",
        global = true,
        hide_env_values = true
    )]
    pub ingest_token: Option<String>,

    /// Lifetime of issued access tokens, in seconds.
    #[arg(
        long,
        env = "ROSTER_TOKEN_TTL_SECS",
        default_value_t = 3600,
        global = true
    )]
    pub token_ttl_secs: i64,

    /// Days after which the signing key is replaced (the old one keeps verifying for a token lifetime).
    #[arg(
        long,
        env = "ROSTER_KEY_ROTATION_DAYS",
        default_value_t = 30,
        global = true
    )]
    pub key_rotation_days: i64,

    /// Reverse proxies whose `X-Forwarded-For` is believed (IPs or CIDRs, comma-separated); the
    /// client is then the right-most address not among them. Empty: the TCP peer is the client.
    #[arg(
        long,
        env = "ROSTER_TRUSTED_PROXIES",
        value_delimiter = ',',
        global = true
    )]
    pub trusted_proxies: Vec<String>,

    /// Largest CSV file accepted by the bulk endpoints, in bytes.
    #[arg(long, env = "ROSTER_MAX_CSV_BYTES", default_value_t = 20 * 1024 * 1024, global = true)]
    pub max_csv_bytes: usize,

    /// Most lines a CSV file of the bulk endpoints may have (the operator's `import-users`
    /// has no such limit).
    #[arg(
        long,
        env = "ROSTER_MAX_CSV_ROWS",
        default_value_t = 200_000,
        global = true
    )]
    pub max_csv_rows: usize,

    /// Largest request body accepted, in bytes.
    #[arg(long, env = "ROSTER_MAX_BODY_BYTES", default_value_t = 1024 * 1024, global = true)]
    pub max_body_bytes: usize,

    /// Days audit events are kept; older ones are deleted in the background. 0 keeps them forever.
    #[arg(
        long,
        env = "ROSTER_AUDIT_RETENTION_DAYS",
        default_value_t = 365,
        global = true
    )]
    pub audit_retention_days: u32,

    /// Days events (the feed `GET /admin/v1/orgs/{org}/events` and the webhook messages'
    /// bodies) are kept; older ones are deleted in the background. 0 keeps them forever.
    #[arg(
        long,
        env = "ROSTER_EVENT_RETENTION_DAYS",
        default_value_t = 30,
        global = true
    )]
    pub event_retention_days: u32,

    /// Webhook delivery workers on this node (0: none).
    #[arg(
        long,
        env = "ROSTER_WEBHOOK_WORKERS",
        default_value_t = 1,
        global = true
    )]
    pub webhook_workers: usize,

    /// Delays between a webhook's attempts, comma-separated (`ms`, `s`, `m`, `h`); a message is
    /// given up after the last. Each delay varies by up to 10% (jitter).
    #[arg(
        long,
        env = "ROSTER_WEBHOOK_SCHEDULE",
        default_value = "5s,5m,30m,2h,5h,10h,10h",
        global = true
    )]
    pub webhook_schedule: String,

    /// How long one webhook request may take (connect and answer), in milliseconds.
    #[arg(
        long,
        env = "ROSTER_WEBHOOK_TIMEOUT_MS",
        default_value_t = 10_000,
        global = true
    )]
    pub webhook_timeout_ms: u64,

    /// Deliver webhooks to loopback, private, link-local and metadata addresses too (never in
    /// production: it lets organization administrators make Roster call internal services).
    #[arg(long, env = "ROSTER_WEBHOOK_ALLOW_PRIVATE", default_value_t = false, global = true, action = clap::ArgAction::Set)]
    pub webhook_allow_private: bool,

    /// Let upstream connections (an organization's issuer, Google's stand-in) be reached over
    /// plain http and at loopback, private, link-local and metadata addresses (never in
    /// production: an organization's administrator chooses the issuer).
    #[arg(long, env = "ROSTER_CONNECTION_ALLOW_PRIVATE", default_value_t = false, global = true, action = clap::ArgAction::Set)]
    pub connection_allow_private: bool,

    /// Failed attempts in a row after which an endpoint is disabled and the organization's
    /// administrators are emailed (0: never).
    #[arg(
        long,
        env = "ROSTER_WEBHOOK_DISABLE_AFTER",
        default_value_t = 50,
        global = true
    )]
    pub webhook_disable_after: i64,

    /// How often an idle webhook worker looks for due messages, in milliseconds.
    #[arg(
        long,
        env = "ROSTER_WEBHOOK_POLL_MS",
        default_value_t = 500,
        global = true
    )]
    pub webhook_poll_ms: u64,

    /// How often a running import job writes a heartbeat, in
    /// milliseconds; an import silent for ten of these is taken for interrupted.
    #[arg(
        long,
        env = "ROSTER_JOB_HEARTBEAT_MS",
        default_value_t = 2000,
        global = true
    )]
    pub job_heartbeat_ms: u64,

    /// How long organizations, roles and signed-in users are served from memory, in
    /// milliseconds: without Redis, the longest a change made by another node or the CLI goes
    /// unseen by this one (this node's own changes, and with Redis every node's, are seen at
    /// once). 0 turns the cache off.
    #[arg(
        long,
        env = "ROSTER_CACHE_TTL_MS",
        default_value_t = 1000,
        global = true
    )]
    pub cache_ttl_ms: u64,

    /// Most users one Amigo search (`GET /v1/{org}/user/search/`) returns; the vendor's search
    /// has no paging, so an answer cut at this limit carries `X-Result-Truncated: true`.
    #[arg(
        long,
        env = "ROSTER_SEARCH_LIMIT",
        default_value_t = 100,
        value_parser = clap::value_parser!(u32).range(1..=1000),
        global = true
    )]
    pub search_limit: u32,

    /// Password sign-in: failed attempts on one account, back to back, before each further
    /// attempt must wait (an exponentially growing delay; see `--signin-backoff-ms`).
    #[arg(
        long,
        env = "ROSTER_SIGNIN_BACKOFF_AFTER",
        default_value_t = 3,
        global = true
    )]
    pub signin_backoff_after: i64,

    /// Password sign-in: the first wait after `--signin-backoff-after` failures, in
    /// milliseconds; it doubles with each further failure.
    #[arg(
        long,
        env = "ROSTER_SIGNIN_BACKOFF_MS",
        default_value_t = 1000,
        global = true
    )]
    pub signin_backoff_ms: i64,

    /// Password sign-in: failed attempts on one account after which it is locked for
    /// `--signin-lock-secs`; a correct password is refused too until the lock runs out.
    #[arg(
        long,
        env = "ROSTER_SIGNIN_LOCK_AFTER",
        default_value_t = 10,
        global = true
    )]
    pub signin_lock_after: i64,

    /// Password sign-in: how long a lock lasts, in seconds; a key quiet this long starts afresh.
    #[arg(
        long,
        env = "ROSTER_SIGNIN_LOCK_SECS",
        default_value_t = 900,
        global = true
    )]
    pub signin_lock_secs: i64,

    /// Password sign-in: failed attempts from one client address (any accounts) before it is
    /// locked; it waits between attempts from half this number.
    #[arg(
        long,
        env = "ROSTER_SIGNIN_CLIENT_LOCK_AFTER",
        default_value_t = 100,
        global = true
    )]
    pub signin_client_lock_after: i64,

    /// Password hashes and verifications (argon2id, 19 MiB each) run at once; 0 sizes it from
    /// the cores and the available memory.
    #[arg(
        long,
        env = "ROSTER_ARGON2_CONCURRENCY",
        default_value_t = 0,
        global = true
    )]
    pub argon2_concurrency: usize,

    /// How long a request waits for a free argon2 slot before it is answered 503 with
    /// `Retry-After`, in milliseconds.
    #[arg(
        long,
        env = "ROSTER_ARGON2_QUEUE_MS",
        default_value_t = 2000,
        global = true
    )]
    pub argon2_queue_ms: u64,

    /// Cost of new password hashes: `production` (argon2id 19 MiB, t=2, p=1) or `minimal`
    /// (8 KiB, t=1: test suites only; such hashes resist no offline attack). Existing hashes
    /// verify at the cost they were made with either way.
    #[arg(
        long,
        env = "ROSTER_PASSWORD_HASH_COST",
        default_value = "production",
        value_parser = parse_hash_cost,
        global = true
    )]
    pub password_hash_cost: roster_domain::password::HashCost,

    /// The clock of the core and the mail workers: the system clock, except in tests.
    #[arg(skip)]
    pub clock: roster_domain::clock::Clock,

    /// Client id of Roster at Google (the `google-oauth2` connection); unset, nobody signs in
    /// with Google and its button is not shown. Redirect URI to register there:
    /// `{ROSTER_PUBLIC_URL}/connections/google-oauth2/callback`.
    #[arg(long, env = "ROSTER_GOOGLE_CLIENT_ID", global = true)]
    pub google_client_id: Option<String>,

    /// Client secret of Roster at Google.
    #[arg(
        long,
        env = "ROSTER_GOOGLE_CLIENT_SECRET",
        global = true,
        hide_env_values = true
    )]
    pub google_client_secret: Option<String>,

    /// The issuer that `google-oauth2` discovers (any OpenID Connect provider can stand in).
    #[arg(
        long,
        env = "ROSTER_GOOGLE_ISSUER",
        default_value = "https://accounts.google.com",
        global = true
    )]
    pub google_issuer: String,
}

/// Variables this version knows; others starting with `ROSTER_` are reported at start-up.
const KNOWN_VARS: &[&str] = &[
    "ROSTER_BIND",
    "ROSTER_CACHE_TTL_MS",
    "ROSTER_DATA_DIR",
    "ROSTER_DATABASE_URL",
    "ROSTER_DB_MAX_CONNECTIONS",
    "ROSTER_DB_TIMEOUT_MS",
    "ROSTER_CLUSTER_NAME",
    "ROSTER_CLUSTERS",
    "ROSTER_PUBLIC_URL",
    "ROSTER_SMTP_URL",
    "ROSTER_MAIL_FROM",
    "ROSTER_MAIL_WORKERS",
    "ROSTER_MAIL_POLL_MS",
    "ROSTER_REDIS_URL",
    "ROSTER_REDIS_PREFIX",
    "ROSTER_REDIS_TIMEOUT_MS",
    "ROSTER_RATE_LIMITS",
    "ROSTER_LOG_FORMAT",
    "ROSTER_INGEST_TOKEN",
    "ROSTER_TOKEN_TTL_SECS",
    "ROSTER_KEY_ROTATION_DAYS",
    "ROSTER_MAX_BODY_BYTES",
    "ROSTER_MAX_CSV_BYTES",
    "ROSTER_MAX_CSV_ROWS",
    "ROSTER_TRUSTED_PROXIES",
    "ROSTER_AUDIT_RETENTION_DAYS",
    "ROSTER_EVENT_RETENTION_DAYS",
    "ROSTER_WEBHOOK_WORKERS",
    "ROSTER_WEBHOOK_SCHEDULE",
    "ROSTER_WEBHOOK_TIMEOUT_MS",
    "ROSTER_WEBHOOK_ALLOW_PRIVATE",
    "ROSTER_CONNECTION_ALLOW_PRIVATE",
    "ROSTER_CONNECTION_CLIENT_SECRET",
    "ROSTER_WEBHOOK_DISABLE_AFTER",
    "ROSTER_WEBHOOK_POLL_MS",
    "ROSTER_JOB_HEARTBEAT_MS",
    "ROSTER_SIGNIN_BACKOFF_AFTER",
    "ROSTER_SIGNIN_BACKOFF_MS",
    "ROSTER_SIGNIN_LOCK_AFTER",
    "ROSTER_SIGNIN_LOCK_SECS",
    "ROSTER_SIGNIN_CLIENT_LOCK_AFTER",
    "ROSTER_ARGON2_CONCURRENCY",
    "ROSTER_ARGON2_QUEUE_MS",
    "ROSTER_PASSWORD_HASH_COST",
    "ROSTER_GOOGLE_CLIENT_ID",
    "ROSTER_GOOGLE_CLIENT_SECRET",
    "ROSTER_GOOGLE_ISSUER",
    "ROSTER_CONFIG",
    "ROSTER_LOG",
];

impl Config {
    pub fn database_url(&self) -> String {
        self.database_url
            .clone()
            .unwrap_or_else(|| format!("sqlite:{}", self.data_dir.join("roster.db").display()))
    }

    pub fn public_url(&self) -> String {
        self.public_url
            .clone()
            .unwrap_or_else(|| format!("http://{}", self.bind))
            .trim_end_matches('/')
            .to_owned()
    }

    /// The further clusters as `(name, URL)`.
    pub fn cluster_urls(&self) -> anyhow::Result<Vec<(String, String)>> {
        self.clusters
            .iter()
            .map(|s| s.trim())
            .filter(|s| !s.is_empty())
            .map(|s| match s.split_once('=') {
                Some((name, url)) if !name.trim().is_empty() && !url.trim().is_empty() => {
                    Ok((name.trim().to_owned(), url.trim().to_owned()))
                }
                _ => Err(anyhow::anyhow!(
                    "ROSTER_CLUSTERS: '{}' is not a name=URL pair",
                    roster_store::redact(s)
                )),
            })
            .collect()
    }

    /// The trusted proxies as networks; a plain address is a network of one.
    pub fn trusted_networks(&self) -> anyhow::Result<Vec<ipnet::IpNet>> {
        self.trusted_proxies
            .iter()
            .map(|s| s.trim())
            .filter(|s| !s.is_empty())
            .map(|s| {
                s.parse::<ipnet::IpNet>()
                    .or_else(|_| s.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                    .map_err(|_| {
                        anyhow::anyhow!(
                            "ROSTER_TRUSTED_PROXIES: '{s}' is not an IP address or CIDR"
                        )
                    })
            })
            .collect()
    }

    /// `ROSTER_*` variables that no setting reads: usually a typo worth a warning.
    pub fn unknown_env_vars() -> Vec<String> {
        std::env::vars()
            .map(|(k, _)| k)
            .filter(|k| k.starts_with("ROSTER_") && !KNOWN_VARS.contains(&k.as_str()))
            .collect()
    }
}
