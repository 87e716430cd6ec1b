//! What every handler can reach: the core, the key ring, limits, maintenance, metrics and Redis.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use roster_domain::Core;
use roster_store::Db;

use crate::auth::KeyRing;
use crate::config::Config;
use crate::limits::RateLimits;
use crate::metrics::Metrics;
use crate::shared::Redis;

#[derive(Clone)]
pub struct AppState {
    pub core: Core,
    /// The home database.
    pub db: Db,
    /// Every database cluster, home first, named.
    pub clusters: Arc<Vec<(String, Db)>>,
    pub keys: Arc<KeyRing>,
    pub limits: Arc<RateLimits>,
    pub config: Arc<Config>,
    pub maintenance: Arc<AtomicBool>,
    pub metrics: Arc<Metrics>,
    /// What the nodes share, when `ROSTER_REDIS_URL` is set.
    pub redis: Option<Arc<Redis>>,
    /// Proxies whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Arc<Vec<ipnet::IpNet>>,
}

/// The settings key that `roster maintenance on|off` writes and every node polls.
pub const MAINTENANCE_KEY: &str = "maintenance";

impl AppState {
    pub fn in_maintenance(&self) -> bool {
        self.maintenance.load(Ordering::Relaxed)
    }

    /// Re-reads the maintenance switch from the database.
    pub async fn refresh_maintenance(&self) {
        if let Ok(v) = self.core.store.get_setting(MAINTENANCE_KEY).await {
            self.maintenance
                .store(v.as_deref() == Some("on"), Ordering::Relaxed);
        }
    }
}
