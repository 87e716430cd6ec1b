//! The integration tests' preset of the settings (`Config::for_tests`).

use std::net::SocketAddr;
use std::path::PathBuf;

use crate::config::{Config, LogFormat};

impl Config {
    /// The settings of the integration tests: port 0, the given database, no delivery
    /// workers (tests read queued email from the outbox), no rate limits, a sign-in throttle
    /// generous enough for tests that do not test it, and a clock they can move.
    pub fn for_tests(data_dir: PathBuf, database_url: String) -> Self {
        Self {
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            data_dir,
            database_url: Some(database_url),
            db_max_connections: 8,
            db_timeout_ms: 5000,
            public_url: Some("https://roster.example.test".into()),
            smtp_url: None,
            mail_from: "Roster <no-reply@roster.example.test>".into(),
            mail_workers: 0,
            mail_poll_ms: 50,
            redis_url: None,
            redis_prefix: "roster:".into(),
            redis_timeout_ms: 100,
            rate_limits: "off".into(),
            log_format: LogFormat::Text,
            ingest_token: Some("ingest-secret-for-tests".into()),
            token_ttl_secs: 3600,
            key_rotation_days: 30,
            max_body_bytes: 1024 * 1024,
            max_csv_bytes: 4 * 1024 * 1024,
            max_csv_rows: 200_000,
            trusted_proxies: Vec::new(),
            audit_retention_days: 0,
            event_retention_days: 0,
            webhook_workers: 0,
            webhook_schedule: "5s,5m,30m,2h,5h,10h,10h".into(),
            webhook_timeout_ms: 5000,
            webhook_allow_private: true,
            webhook_disable_after: 50,
            webhook_poll_ms: 50,
            job_heartbeat_ms: 500,
            cache_ttl_ms: 1000,
            search_limit: 100,
            cluster_name: "main".into(),
            clusters: Vec::new(),
            signin_backoff_after: 50,
            signin_backoff_ms: 1000,
            signin_lock_after: 100,
            signin_lock_secs: 900,
            signin_client_lock_after: 10_000,
            argon2_concurrency: 0,
            argon2_queue_ms: 60_000,
            password_hash_cost: roster_domain::password::HashCost::Minimal,
            clock: roster_domain::clock::Clock::adjustable(),
            connection_allow_private: true,
            google_client_id: None,
            google_client_secret: None,
            google_issuer: "https://accounts.google.com".into(),
        }
    }
}
