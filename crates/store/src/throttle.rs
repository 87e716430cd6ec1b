//! Failed password attempts per account and per client (`sign_in_failures`, migration 0008):
//! shared by every node, counted one by one however many attempts arrive at once.

use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use roster_domain::store::ThrottleStore;
use roster_domain::throttle::Throttle;
use roster_domain::types::Micros;

use crate::{err, tx, SqlStore, R};

/// One charge in this many also deletes keys that have been quiet for a day and are unblocked.
const PRUNE_EVERY: u64 = 256;
const PRUNE_QUIET_MICROS: Micros = 24 * 3600 * 1_000_000;

/// Throttle keys name an account (an email) or a client, not an organization: they are counted
/// on the home cluster, for every cluster's sign-ins alike.
#[async_trait]
impl ThrottleStore for SqlStore {
    /// The upsert with a no-op update takes the key's row lock (PostgreSQL; SQLite's writer is
    /// already exclusive) and returns the row as the previous holder committed it; the charge
    /// is then written before the lock is released.
    async fn charge_sign_in_attempt(&self, key: &str, now: Micros, policy: &Throttle) -> R<bool> {
        static CHARGES: AtomicU64 = AtomicU64::new(0);
        let prune = CHARGES.fetch_add(1, Ordering::Relaxed) % PRUNE_EVERY == PRUNE_EVERY - 1;
        tx!(untracked self.home(), |t| {
            let (failures, blocked_until, updated_at): (i64, i64, i64) = sqlx::query_as(
                "INSERT INTO sign_in_failures (key, failures, blocked_until, updated_at) \
                 VALUES ($1, 0, 0, $2) \
                 ON CONFLICT (key) DO UPDATE SET key = excluded.key \
                 RETURNING failures, blocked_until, updated_at",
            )
            .bind(key)
            .bind(now)
            .fetch_one(&mut *t)
            .await
            .map_err(err)?;
            let allowed = blocked_until <= now;
            if allowed {
                let quiet = updated_at < now - policy.forget_after_micros();
                let failures = if quiet { 0 } else { failures } + 1;
                sqlx::query(
                    "UPDATE sign_in_failures SET failures = $1, blocked_until = $2, updated_at = $3 \
                     WHERE key = $4",
                )
                .bind(failures)
                // No block is no block: "until now" would refuse a concurrent attempt whose
                // clock was read a moment earlier, before it waited for this row's lock.
                .bind(match policy.block_micros(failures) {
                    0 => 0,
                    block => now + block,
                })
                .bind(now)
                .bind(key)
                .execute(&mut *t)
                .await
                .map_err(err)?;
            }
            if prune {
                sqlx::query(
                    "DELETE FROM sign_in_failures WHERE updated_at < $1 AND blocked_until < $2",
                )
                .bind(now - PRUNE_QUIET_MICROS)
                .bind(now)
                .execute(&mut *t)
                .await
                .map_err(err)?;
            }
            Ok(allowed)
        })
    }

    async fn forgive_sign_in_attempt(&self, key: &str, reset: bool) -> R<()> {
        let sql = if reset {
            "DELETE FROM sign_in_failures WHERE key = $1"
        } else {
            "UPDATE sign_in_failures SET failures = failures - 1 WHERE key = $1 AND failures > 0"
        };
        tx!(untracked self.home(), |t| {
            sqlx::query(sql)
                .bind(key)
                .execute(&mut *t)
                .await
                .map_err(err)?;
        });
        Ok(())
    }
}
