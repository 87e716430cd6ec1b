//! Building and running the server: the same code path for `roster serve` and the tests.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use axum::extract::DefaultBodyLimit;
use axum::Router;
use roster_domain::core::NewOrgInput;
use roster_domain::store::Store;
use roster_domain::types::format_micros;
use roster_domain::{Core, CoreConfig};
use roster_store::{Db, DbOptions};
use serde_json::json;
use tokio::net::TcpListener;
use tower_http::catch_panic::CatchPanicLayer;

use crate::auth::KeyRing;
use crate::config::Config;
use crate::limits::RateLimits;
use crate::mail::{Mailer, Outbox, RetryPolicy, Transport};
use crate::metrics::Metrics;
use crate::shared::Redis;
use crate::state::AppState;

pub struct Application {
    listener: TcpListener,
    state: AppState,
    outbox: Outbox,
    webhooks: crate::webhooks::WebhookWorkers,
    /// Where the platform administrator's credentials were written, when this start created them.
    pub platform_credentials: Option<std::path::PathBuf>,
}

/// Opens and migrates the configured database.
pub async fn open_database(config: &Config) -> anyhow::Result<Db> {
    let url = config.database_url();
    if config.database_url.is_none() {
        std::fs::create_dir_all(&config.data_dir).with_context(|| {
            format!(
                "cannot create the data directory {}",
                config.data_dir.display()
            )
        })?;
    }
    let opts = DbOptions {
        max_connections: config.db_max_connections,
        acquire_timeout: Duration::from_millis(config.db_timeout_ms.max(1)),
    };
    Db::open(&url, &opts).await
}

/// The configured databases: the home cluster, and with `--clusters` the others, behind one
/// store that routes each organization's calls to its cluster.
pub struct Databases {
    pub home: Db,
    /// Every cluster, home first.
    pub all: Vec<(String, Db)>,
    pub store: Arc<dyn Store>,
}

impl Databases {
    pub async fn close(&self) {
        for (_, db) in &self.all {
            db.close().await;
        }
    }
}

/// Opens and migrates the home database and every further cluster.
pub async fn open_store(config: &Config) -> anyhow::Result<Databases> {
    let home = open_database(config).await?;
    let others = config.cluster_urls()?;
    if others.is_empty() {
        return Ok(Databases {
            all: vec![(config.cluster_name.clone(), home.clone())],
            store: Arc::new(roster_store::SqlStore::single(home.clone())),
            home,
        });
    }
    let opts = DbOptions {
        max_connections: config.db_max_connections,
        acquire_timeout: Duration::from_millis(config.db_timeout_ms.max(1)),
    };
    let mut rest = Vec::new();
    for (name, url) in others {
        let db = Db::open(&url, &opts)
            .await
            .with_context(|| format!("cluster '{name}'"))?;
        rest.push((name, db));
    }
    let clusters = roster_store::SqlStore::new((config.cluster_name.clone(), home.clone()), rest)?;
    Ok(Databases {
        all: clusters.members().to_vec(),
        store: Arc::new(clusters),
        home,
    })
}

pub fn core_config(config: &Config, public_url: String) -> CoreConfig {
    CoreConfig {
        links: Arc::new(crate::routes::links::SurfaceLinks::new(&public_url)),
        first_party_clients: vec![crate::console::first_party_client(&public_url)],
        clock: config.clock.clone(),
        public_url,
        cache_ttl: Duration::from_millis(config.cache_ttl_ms),
        search_limit: config.search_limit,
        sign_in_throttle: roster_domain::throttle::SignInThrottle::new(
            config.signin_backoff_after,
            config.signin_backoff_ms,
            config.signin_lock_after,
            config.signin_lock_secs,
            config.signin_client_lock_after,
        ),
        argon2_concurrency: match config.argon2_concurrency {
            0 => roster_domain::password::default_concurrency(),
            n => n,
        },
        argon2_queue_wait: Duration::from_millis(config.argon2_queue_ms),
        job_heartbeat: Duration::from_millis(config.job_heartbeat_ms.max(10)),
        password_hash_cost: config.password_hash_cost,
        connection_allow_private: config.connection_allow_private,
        ..CoreConfig::default()
    }
}

impl Application {
    pub async fn build(mut config: Config) -> anyhow::Result<Self> {
        // Migrations first: a client that waits for the port (as scripts and orchestrators
        // do) must find the schema in place, not race the migration with its own process.
        let dbs = open_store(&config).await?;
        let listener = TcpListener::bind(config.bind)
            .await
            .with_context(|| format!("cannot listen on {}", config.bind))?;
        config.bind = listener.local_addr()?;
        let (db, store) = (dbs.home.clone(), dbs.store.clone());
        let public_url = config.public_url();
        let metrics = Arc::new(Metrics::default());
        let redis = connect_redis(&config, metrics.clone()).await?;
        let shared = redis
            .clone()
            .map(|r| r as Arc<dyn roster_domain::core::SharedGeneration>);
        let core = Core::with_shared_generation(
            store.clone(),
            core_config(&config, public_url.clone()),
            shared,
        );
        if config.password_hash_cost == roster_domain::password::HashCost::Minimal {
            tracing::warn!("ROSTER_PASSWORD_HASH_COST=minimal: new password hashes are test-grade");
        }
        let keys = KeyRing::load(
            store,
            public_url,
            config.token_ttl_secs,
            config.key_rotation_days,
            core.config.clock.clone(),
        )
        .await?;
        let platform_credentials = ensure_platform(&core, &config).await?;
        let transport =
            Transport::from_setting(config.smtp_url.as_deref(), config.data_dir.join("mail"))?;
        let outbox = Outbox {
            store: core.store.clone(),
            mailer: Arc::new(Mailer::new(transport, &config.mail_from)?),
            policy: RetryPolicy::default(),
            poll: Duration::from_millis(config.mail_poll_ms.max(10)),
            metrics: metrics.clone(),
            clock: core.config.clock.clone(),
        };
        let webhooks = crate::webhooks::WebhookWorkers {
            store: core.store.clone(),
            schedule: crate::webhooks::Schedule::parse(&config.webhook_schedule)
                .map_err(|e| anyhow::anyhow!("ROSTER_WEBHOOK_SCHEDULE: {e}"))?,
            timeout: Duration::from_millis(config.webhook_timeout_ms.max(100)),
            allow_private: config.webhook_allow_private,
            disable_after: config.webhook_disable_after,
            poll: Duration::from_millis(config.webhook_poll_ms.max(10)),
            public_url: config.public_url(),
        };
        let trusted = config.trusted_networks()?;
        let mut limits = RateLimits::from_setting(&config.rate_limits)?;
        if let Some(r) = &redis {
            limits = limits.shared_through(r.clone());
        }
        let state = AppState {
            core,
            db,
            clusters: Arc::new(dbs.all),
            keys: Arc::new(keys),
            limits: Arc::new(limits),
            config: Arc::new(config),
            maintenance: Arc::new(AtomicBool::new(false)),
            metrics,
            redis,
            trusted_proxies: Arc::new(trusted),
        };
        state.refresh_maintenance().await;
        Ok(Self {
            listener,
            state,
            outbox,
            webhooks,
            platform_credentials,
        })
    }

    pub fn port(&self) -> u16 {
        self.state.config.bind.port()
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// The outbox's delivery side, as `run_until` starts it.
    pub fn outbox(&self) -> &Outbox {
        &self.outbox
    }

    pub fn router(state: AppState) -> Router {
        let max_body = state.config.max_body_bytes;
        crate::routes::router(state.config.max_csv_bytes)
            .layer(DefaultBodyLimit::max(max_body))
            .layer(CatchPanicLayer::custom(crate::surface::panic_response))
            .layer(axum::middleware::from_fn_with_state(
                state.clone(),
                crate::middleware::around,
            ))
            .with_state(state)
    }

    /// Serves and delivers the outbox until `shutdown` resolves; in-flight requests and
    /// deliveries then finish.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let state = self.state.clone();
        let background = tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(2));
            let mut n: u64 = 0;
            loop {
                tick.tick().await;
                n += 1;
                state.refresh_maintenance().await;
                if n.is_multiple_of(30) {
                    if let Err(e) = state.keys.refresh().await {
                        tracing::warn!(error = %e, "signing keys not refreshed");
                    }
                    state.limits.sweep();
                }
            }
        });
        let publisher = self.state.redis.clone().map(spawn_publisher);
        let (audit_days, event_days) = (
            self.state.config.audit_retention_days,
            self.state.config.event_retention_days,
        );
        let core = self.state.core.clone();
        let retention = spawn_retention("audit events", audit_days, move || {
            let core = core.clone();
            async move { core.purge_audit_events(audit_days, AUDIT_PURGE_BATCH).await }
        });
        let core = self.state.core.clone();
        let event_retention = spawn_retention("events", event_days, move || {
            let core = core.clone();
            async move { core.purge_events(event_days, AUDIT_PURGE_BATCH).await }
        });
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let mut workers = self
            .outbox
            .spawn(self.state.config.mail_workers, stopped.clone());
        workers.extend(
            self.webhooks
                .spawn(self.state.config.webhook_workers, stopped),
        );
        let app =
            Self::router(self.state.clone()).into_make_service_with_connect_info::<SocketAddr>();
        let result = axum::serve(self.listener, app)
            .with_graceful_shutdown(shutdown)
            .await;
        background.abort();
        for r in [retention, event_retention].into_iter().flatten() {
            r.abort();
        }
        if let Some(p) = publisher {
            p.abort();
        }
        // A worker finishes the message in hand; one that is not done by then leaves it leased,
        // and it is delivered again when the lease runs out.
        let _ = stop.send(true);
        for w in workers {
            let _ = tokio::time::timeout(Duration::from_secs(90), w).await;
        }
        // Requests are done: commit the audit events still queued before the pool closes.
        self.state.core.close().await;
        if let Some(r) = &self.state.redis {
            r.publish_writes().await;
        }
        for (_, db) in self.state.clusters.iter() {
            db.close().await;
        }
        result.context("server error")
    }
}

/// The link to Redis when `ROSTER_REDIS_URL` is set. Start-up does not wait for Redis: an
/// unreachable one is reported and the node serves without it until it answers.
pub async fn connect_redis(
    config: &Config,
    metrics: Arc<Metrics>,
) -> anyhow::Result<Option<Arc<Redis>>> {
    let Some(url) = config.redis_url.as_deref().filter(|u| !u.trim().is_empty()) else {
        return Ok(None);
    };
    let redis = Redis::new(
        url.trim(),
        &config.redis_prefix,
        Duration::from_millis(config.redis_timeout_ms),
        metrics,
    )?;
    if !redis.ping().await {
        tracing::warn!(
            "Redis does not answer: starting with per-node rate limits and no cache until it does"
        );
    }
    Ok(Some(Arc::new(redis)))
}

/// Announces writes no request announced (background work, or while Redis was unreachable).
fn spawn_publisher(redis: Arc<Redis>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_millis(100));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            redis.publish_writes().await;
        }
    })
}

/// Audit events deleted per statement: small enough that other writers never wait long.
pub const AUDIT_PURGE_BATCH: u32 = 500;

/// Deletes `what` older than `days` at start and every hour after (`purge` does one round);
/// nothing when 0. Every node runs it; concurrent deletions of the same rows are harmless.
fn spawn_retention<F, Fut>(
    what: &'static str,
    days: u32,
    purge: F,
) -> Option<tokio::task::JoinHandle<()>>
where
    F: Fn() -> Fut + Send + 'static,
    Fut: Future<Output = roster_domain::Result<u64>> + Send,
{
    if days == 0 {
        return None;
    }
    Some(tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(3600));
        loop {
            tick.tick().await;
            match purge().await {
                Ok(0) => {}
                Ok(n) => tracing::info!(deleted = n, days, "{what} past retention deleted"),
                Err(e) => tracing::warn!(error = %e, "{what} past retention not deleted"),
            }
        }
    }))
}

/// The id of the platform organization.
pub const PLATFORM_ORG: &str = "platform";

/// On the first start (no platform organization yet), creates the platform organization and
/// its administrator, and writes their API key to an owner-only file in the data directory.
/// It asks for the platform organization itself rather than for an empty database, so that a
/// `roster bootstrap` racing the first start leaves it made all the same.
async fn ensure_platform(
    core: &Core,
    config: &Config,
) -> anyhow::Result<Option<std::path::PathBuf>> {
    if core
        .store
        .find_organization(PLATFORM_ORG)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?
        .is_some()
    {
        return Ok(None);
    }
    let input = NewOrgInput {
        id: PLATFORM_ORG.into(),
        name: "Roster platform".into(),
        default_preferences: Default::default(),
        user_dimensions: json!([]),
        branding: json!({}),
        is_platform: true,
        cluster: None,
    };
    let made = match core
        .bootstrap(
            input,
            "admin@roster.invalid",
            "Platform Administrator",
            "platform bootstrap",
            90,
        )
        .await
    {
        Ok(made) => made,
        // Another node created it first.
        Err(roster_domain::Error::Conflict(_)) => return Ok(None),
        Err(e) => return Err(anyhow::anyhow!("creating the platform organization: {e}")),
    };
    std::fs::create_dir_all(&config.data_dir)?;
    let path = config.data_dir.join("platform-admin.json");
    let body = json!({
        "org_id": made.org.id,
        "org_uuid": made.org.uuid,
        "user_id": made.user.id,
        "api_key_id": made.api_key.key_id,
        "api_key": made.secret,
        "expires_at": format_micros(made.api_key.expires_at),
    });
    write_private(&path, &serde_json::to_vec_pretty(&body)?)?;
    println!(
        "First start: created the platform organization '{PLATFORM_ORG}'. {} (readable only by you) \
         holds the API key of its administrator, who creates organizations and acts in all of them. \
         Keep it secret; it is written only now. Next: create your organization with \
         `roster bootstrap --org ID --org-name NAME --admin-email EMAIL --json` (README, \
         \"Five minutes with curl\"), or sign in as the platform administrator with the file's \
         api_key, api_key_id and user_id at POST /v1/{PLATFORM_ORG}/user/signin_with_api_key.",
        path.display()
    );
    Ok(Some(path))
}

/// Writes a file readable only by its owner.
pub fn write_private(path: &std::path::Path, bytes: &[u8]) -> anyhow::Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts
        .open(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    #[cfg(unix)]
    {
        // An existing file keeps its old mode through open(); set it explicitly.
        use std::os::unix::fs::PermissionsExt;
        f.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    f.write_all(bytes)?;
    Ok(())
}
