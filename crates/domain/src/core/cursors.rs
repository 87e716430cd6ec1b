//! Continuation tokens this node stored recently, so that a page asked for again gets the token
//! already stored instead of a new row.
//!
//! A token names a stored keyset position. Clients that poll a listing ask for the same first
//! page over and over, and each answer used to store a new row for the same position: on SQLite
//! a write transaction on the one writer, after which every reader drops its page cache. The
//! same position is the same JSON, so its token can be handed out again while its row lives:
//! only while more than half the TTL is left, so that a client always gets at least half of it.
//!
//! The row is in the database, so any node accepts the token (`get_cursor` reads it there, scoped
//! by organization as before), and tokens stay random, hence unguessable across organizations.
//! Entries are keyed by the organization's uuid, not its id: an organization deleted with its
//! cursors and created again under the same id has a new uuid, so no token of the old one is
//! handed out for it.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::types::Micros;

/// Positions remembered at most; a walk of a large organization fills this with positions
/// nobody asks for again, and they are dropped first once their rows are past half their TTL.
const CAPACITY: usize = 4096;

/// (organization uuid, position JSON) → (token, the row's expiry).
type Entries = HashMap<(String, String), (i64, Micros)>;

#[derive(Default)]
pub(crate) struct IssuedCursors {
    entries: Mutex<Entries>,
}

impl IssuedCursors {
    /// The token stored for this position, if its row outlives `now` by at least `ttl / 2`.
    pub(crate) fn reusable(
        &self,
        org_uuid: &str,
        position: &str,
        now: Micros,
        ttl: Micros,
    ) -> Option<i64> {
        let map = self.entries.lock().ok()?;
        let (token, expires) = map.get(&(org_uuid.to_owned(), position.to_owned()))?;
        (expires - now >= ttl / 2).then_some(*token)
    }

    pub(crate) fn remember(
        &self,
        org_uuid: &str,
        position: String,
        token: i64,
        expires: Micros,
        now: Micros,
        ttl: Micros,
    ) {
        let Ok(mut map) = self.entries.lock() else {
            return;
        };
        if map.len() >= CAPACITY {
            // Entries no longer reusable go first; then arbitrary ones, a quarter at a time, so
            // that a full map costs one sweep per many insertions.
            map.retain(|_, (_, e)| *e - now >= ttl / 2);
            if map.len() >= CAPACITY {
                let excess = map.len() + 1 - CAPACITY * 3 / 4;
                let victims: Vec<_> = map.keys().take(excess).cloned().collect();
                for k in victims {
                    map.remove(&k);
                }
            }
        }
        map.insert((org_uuid.to_owned(), position), (token, expires));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TTL: Micros = 1_000;

    #[test]
    fn a_position_is_reused_while_more_than_half_its_ttl_is_left() {
        let c = IssuedCursors::default();
        c.remember("org", "p".into(), 7, 1_000, 0, TTL);
        assert_eq!(c.reusable("org", "p", 0, TTL), Some(7));
        assert_eq!(c.reusable("org", "p", 500, TTL), Some(7));
        assert_eq!(c.reusable("org", "p", 501, TTL), None);
        assert_eq!(c.reusable("other", "p", 0, TTL), None);
        assert_eq!(c.reusable("org", "q", 0, TTL), None);
    }

    #[test]
    fn a_full_map_drops_stale_entries_then_some_others() {
        let c = IssuedCursors::default();
        for i in 0..CAPACITY as i64 {
            c.remember("org", i.to_string(), i, 1_000, 0, TTL);
        }
        c.remember("org", "new".into(), 1, 2_000, 900, TTL);
        let len = c.entries.lock().map(|m| m.len()).unwrap_or(0);
        assert_eq!(len, 1, "every old entry was past half its TTL");
        for i in 0..2 * CAPACITY as i64 {
            c.remember("org", i.to_string(), i, 10_000, 900, TTL);
        }
        let len = c.entries.lock().map(|m| m.len()).unwrap_or(0);
        assert!(len <= CAPACITY, "{len}");
    }
}
