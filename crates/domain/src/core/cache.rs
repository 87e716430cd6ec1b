//! The read cache of what every authenticated request looks up again: organizations (by the
//! reference the caller gave, id or uuid), each organization's roles, and principals.
//!
//! An entry remembers the generations read *before* its database read, and is served only while
//! they are unchanged:
//!
//! - the store's write generation: any write this process commits afterwards (a deletion, a role
//!   change, a password reset...) invalidates every entry at once, so this node never answers
//!   from data older than its own writes;
//! - when the nodes share one (a [`SharedGeneration`], Redis in the server), the generation every
//!   node moves after its writes commit and before it answers the request that made them. It is
//!   read at most once per request (see [`request_scope`]) and before any entry is served, so a
//!   change another node has acknowledged is seen by the next request here. When it cannot be
//!   read, nothing is served from the cache.
//!
//! Without a shared generation, other processes' writes (another node, the CLI) are not counted;
//! entries also expire after the TTL, which bounds how long such a write can go unseen here.
//! Missing records are never cached.

use crate::types::OrgId;
use crate::types::UserId;
use std::borrow::Borrow;
use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;

use crate::model::{ApiKey, Organization, Role};
use crate::store::{PrincipalRecord, Store};

/// A write generation shared by every node on one database: moved by each node after its writes
/// commit, before it answers the request that made them.
#[async_trait]
pub trait SharedGeneration: Send + Sync + 'static {
    /// The current value, or `None` when it cannot be read (then no entry is served). A value
    /// unchanged since an entry was read means no node has acknowledged a write since.
    async fn current(&self) -> Option<u64>;
}

tokio::task_local! {
    /// The shared generation as the current request first read it.
    static REQUEST_GENERATION: Arc<tokio::sync::OnceCell<Option<u64>>>;
}

/// Runs `request` reading the shared generation at most once, when its first cache lookup needs
/// it: one round trip per request however many organizations, role lists and principals it looks
/// up. What was acknowledged before the request began is seen by all of them; what is written
/// while it runs may or may not be, as without a cache. Tasks it spawns read on their own.
pub async fn request_scope<F: Future>(request: F) -> F::Output {
    REQUEST_GENERATION
        .scope(Arc::new(tokio::sync::OnceCell::new()), request)
        .await
}

/// The generations an entry was read in: this process's, then the shared one (0 without one).
type Stamp = (u64, u64);

/// What one entry holds, and since when it is what the database held.
struct Entry<V> {
    value: V,
    generation: Stamp,
    loaded: Instant,
}

/// One kind of entry, at most `capacity` of them.
struct Map<K, V> {
    entries: Mutex<HashMap<K, Entry<V>>>,
    capacity: usize,
}

impl<K: Eq + Hash + Clone, V: Clone> Map<K, V> {
    fn new(capacity: usize) -> Self {
        Self {
            entries: Mutex::new(HashMap::new()),
            capacity: capacity.max(1),
        }
    }

    fn get<Q>(&self, key: &Q, generation: Stamp, ttl: Duration) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let mut map = self.entries.lock().ok()?;
        let entry = map.get(key)?;
        if entry.generation == generation && entry.loaded.elapsed() < ttl {
            return Some(entry.value.clone());
        }
        map.remove(key);
        None
    }

    fn put(&self, key: K, value: V, generation: Stamp, loaded: Instant, ttl: Duration) {
        let Ok(mut map) = self.entries.lock() else {
            return;
        };
        if map.len() >= self.capacity && !map.contains_key(&key) {
            // Stale entries go first; then arbitrary ones, a quarter at a time, so that a full
            // cache costs one sweep per many insertions rather than one per insertion.
            map.retain(|_, e| e.generation == generation && e.loaded.elapsed() < ttl);
            if map.len() >= self.capacity {
                let excess = map.len() + 1 - self.capacity * 3 / 4;
                let victims: Vec<K> = map.keys().take(excess).cloned().collect();
                for k in victims {
                    map.remove(&k);
                }
            }
        }
        map.insert(
            key,
            Entry {
                value,
                generation,
                loaded,
            },
        );
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.entries.lock().map(|m| m.len()).unwrap_or(0)
    }
}

/// Organizations, role lists and principals; see the module documentation.
pub(crate) struct ReadCache {
    /// How long an entry may be served at most; zero turns the cache off.
    ttl: Duration,
    orgs: Map<String, Organization>,
    roles: Map<OrgId, Arc<Vec<Role>>>,
    principals: Map<(OrgId, UserId), PrincipalRecord>,
    api_keys: Map<(OrgId, String), ApiKey>,
    shared: Option<Arc<dyn SharedGeneration>>,
}

impl ReadCache {
    pub(crate) fn new(
        ttl: Duration,
        capacity: usize,
        shared: Option<Arc<dyn SharedGeneration>>,
    ) -> Self {
        Self {
            ttl,
            orgs: Map::new(capacity),
            roles: Map::new(capacity),
            principals: Map::new(capacity),
            api_keys: Map::new(capacity),
            shared,
        }
    }

    /// The shared generation: 0 without one; read once per [`request_scope`], else every time.
    async fn shared_generation(&self) -> Option<u64> {
        let Some(shared) = &self.shared else {
            return Some(0);
        };
        match REQUEST_GENERATION.try_with(Arc::clone) {
            Ok(cell) => *cell.get_or_init(|| shared.current()).await,
            Err(_) => shared.current().await,
        }
    }

    /// The cached value of `key` in `map`, or what `load` returns, remembered when `keep`
    /// says so and no write committed while it was read.
    async fn through<K, Q, V, E>(
        &self,
        store: &dyn Store,
        map: &Map<K, V>,
        key: &Q,
        load: impl Future<Output = Result<Option<V>, E>>,
        keep: impl Fn(&V) -> bool,
    ) -> Result<Option<V>, E>
    where
        K: Eq + Hash + Clone + Borrow<Q>,
        Q: Hash + Eq + ToOwned<Owned = K> + ?Sized,
        V: Clone,
    {
        if self.ttl.is_zero() {
            return load.await;
        }
        let local = store.write_generation();
        let loaded = Instant::now();
        let Some(shared) = self.shared_generation().await else {
            return load.await;
        };
        let generation = (local, shared);
        if let Some(v) = map.get(key, generation, self.ttl) {
            return Ok(Some(v));
        }
        let value = load.await?;
        if let Some(v) = &value {
            if keep(v) && store.write_generation() == local {
                map.put(key.to_owned(), v.clone(), generation, loaded, self.ttl);
            }
        }
        Ok(value)
    }

    pub(crate) async fn organization(
        &self,
        store: &dyn Store,
        org_ref: &str,
    ) -> crate::store::StoreResult<Option<Organization>> {
        self.through(
            store,
            &self.orgs,
            org_ref,
            store.find_organization(org_ref),
            |_| true,
        )
        .await
    }

    pub(crate) async fn roles(
        &self,
        store: &dyn Store,
        org_id: &OrgId,
    ) -> crate::store::StoreResult<Arc<Vec<Role>>> {
        let load = async { store.list_roles(org_id).await.map(|r| Some(Arc::new(r))) };
        Ok(self
            .through(store, &self.roles, org_id, load, |_| true)
            .await?
            .unwrap_or_default())
    }

    /// An API key, for the sessions it started (each authenticated request checks it lives).
    pub(crate) async fn api_key(
        &self,
        store: &dyn Store,
        org_id: &OrgId,
        key_id: &str,
    ) -> crate::store::StoreResult<Option<ApiKey>> {
        let key = (org_id.to_owned(), key_id.to_owned());
        self.through(
            store,
            &self.api_keys,
            &key,
            store.get_api_key(org_id, key_id),
            |_| true,
        )
        .await
    }

    /// A principal, read as of `now`. Temporary grants expire on their own schedule, which no
    /// write announces: a principal holding any is never cached.
    pub(crate) async fn principal(
        &self,
        store: &dyn Store,
        org_id: &OrgId,
        user_id: &UserId,
        now: crate::types::Micros,
    ) -> crate::store::StoreResult<Option<PrincipalRecord>> {
        let key = (org_id.to_owned(), user_id.to_owned());
        self.through(
            store,
            &self.principals,
            &key,
            store.load_principal(org_id, user_id, now),
            |p| p.temporary_grants.is_empty(),
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TTL: Duration = Duration::from_secs(60);

    #[test]
    fn an_entry_lives_only_in_its_generation_and_ttl() {
        let map: Map<String, u32> = Map::new(10);
        let t = Instant::now();
        map.put("a".into(), 1, (7, 3), t, TTL);
        assert_eq!(map.get("a", (7, 3), TTL), Some(1));
        // A write committed: the entry is gone for good, even if asked with the old generation.
        assert_eq!(map.get("a", (8, 3), TTL), None);
        assert_eq!(map.get("a", (7, 3), TTL), None);
        // Another node acknowledged a write: the same.
        map.put("c".into(), 3, (7, 3), t, TTL);
        assert_eq!(map.get("c", (7, 4), TTL), None);
        assert_eq!(map.get("c", (7, 3), TTL), None);
        map.put("b".into(), 2, (8, 3), t, TTL);
        assert_eq!(
            map.get("b", (8, 3), Duration::ZERO),
            None,
            "expired by the TTL"
        );
        assert_eq!(map.len(), 0);
    }

    #[test]
    fn the_size_is_bounded() {
        let map: Map<String, u32> = Map::new(100);
        let t = Instant::now();
        for i in 0..1000 {
            map.put(format!("k{i}"), i, (1, 0), t, TTL);
            assert!(map.len() <= 100, "{} entries", map.len());
        }
        // The newest entry always survives its own insertion.
        assert_eq!(map.get("k999", (1, 0), TTL), Some(999));
        // When full, stale entries are swept before live ones are dropped.
        let map: Map<String, u32> = Map::new(10);
        for i in 0..10 {
            map.put(format!("k{i}"), i, (1, 0), t, TTL);
        }
        assert_eq!(map.len(), 10);
        map.put("fresh".into(), 0, (2, 0), t, TTL);
        assert_eq!(map.len(), 1);
        assert_eq!(map.get("fresh", (2, 0), TTL), Some(0));
    }
}
