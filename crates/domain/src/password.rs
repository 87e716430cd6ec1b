//! Password hashing: argon2id (19 MiB, t=2, p=1) off the async threads, with a bound on the
//! hashes and verifications in flight. A burst of sign-ins waits a short while for a slot and
//! is then refused with 503 and `Retry-After`, instead of queueing without end or exhausting
//! memory (each argon2 run holds 19 MiB).
//!
//! The cost of *new* hashes is a [`HashCost`]: production's, or a minimal one for test suites
//! (`ROSTER_PASSWORD_HASH_COST=minimal`). A hash is a PHC string carrying its own parameters,
//! so verification runs at the cost the hash was made with, whatever the hasher's cost; the
//! dummy hash that unknown accounts are checked against is made at the hasher's cost, so a
//! known and an unknown account take as long on either.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use tokio::sync::Semaphore;

use crate::error::{Error, FieldError, Location, Result};

/// Longest password accepted: long passphrases are fine, megabytes are not.
pub const MAX_PASSWORD_BYTES: usize = 1024;

/// Memory of one argon2 run, in KiB.
const ARGON2_KIB: u32 = 19 * 1024;

/// The cost of the password hashes a hasher makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HashCost {
    /// argon2id m=19 MiB, t=2, p=1 (OWASP's recommended minimum): every real deployment.
    #[default]
    Production,
    /// argon2id at the least the algorithm allows (m=8 KiB, t=1, p=1): for test suites, which
    /// hash thousands of passwords. Such hashes resist no offline attack; never for real users.
    Minimal,
}

impl HashCost {
    /// `production` or `minimal`, as `ROSTER_PASSWORD_HASH_COST` spells them.
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "production" => Some(Self::Production),
            "minimal" => Some(Self::Minimal),
            _ => None,
        }
    }

    fn argon2(self) -> Argon2<'static> {
        let params = match self {
            Self::Production => Params::new(ARGON2_KIB, 2, 1, None),
            Self::Minimal => Params::new(Params::MIN_M_COST, Params::MIN_T_COST, 1, None),
        }
        .unwrap_or_default();
        Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
    }
}

/// How many argon2 runs may be in flight: one per core, and no more than a quarter of the
/// available memory holds (Linux; elsewhere the core count alone).
pub fn default_concurrency() -> usize {
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2);
    let by_memory = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find(|l| l.starts_with("MemAvailable:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kib| kib.parse::<u64>().ok())
        })
        .map(|kib| (kib / 4 / u64::from(ARGON2_KIB)).max(1) as usize);
    by_memory.map_or(cores, |m| m.min(cores)).max(1)
}

/// The bounded argon2 workers of one server: `slots` runs at once; a caller waits at most
/// `queue_wait` for a slot before it is told to come back later.
#[derive(Debug)]
pub struct Hasher {
    slots: Arc<Semaphore>,
    queue_wait: Duration,
    cost: HashCost,
}

impl Hasher {
    pub fn new(slots: usize, queue_wait: Duration, cost: HashCost) -> Self {
        Self {
            slots: Arc::new(Semaphore::new(slots.max(1))),
            queue_wait,
            cost,
        }
    }

    /// The cost of the hashes this hasher makes.
    pub fn cost(&self) -> HashCost {
        self.cost
    }

    /// Runs `f` on a blocking thread once a slot is free; `wait` bounds the wait for the slot
    /// (`None`: as long as it takes, for work nobody is waiting on interactively).
    async fn run<T: Send + 'static>(
        &self,
        wait: Option<Duration>,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T> {
        let acquire = self.slots.clone().acquire_owned();
        let permit = match wait {
            Some(w) => tokio::time::timeout(w, acquire).await.map_err(|_| {
                tracing::warn!("password hashing is saturated: a request was turned away");
                Error::Unavailable {
                    retry_after_secs: 1,
                    cause: crate::error::Unavailability::Busy,
                }
            })?,
            None => acquire.await,
        }
        .map_err(|e| Error::Internal(e.into()))?;
        let out = tokio::task::spawn_blocking(f)
            .await
            .map_err(|e| Error::Internal(e.into()));
        drop(permit);
        out
    }

    /// The PHC string of a new password hash.
    pub async fn hash(&self, password: &str) -> Result<String> {
        self.hash_with(Some(self.queue_wait), password).await
    }

    /// [`Hasher::hash`] that waits for a slot as long as it takes (bulk imports).
    pub async fn hash_queued(&self, password: &str) -> Result<String> {
        self.hash_with(None, password).await
    }

    async fn hash_with(&self, wait: Option<Duration>, password: &str) -> Result<String> {
        let password = password.to_owned();
        let cost = self.cost;
        self.run(wait, move || {
            let salt = SaltString::generate(&mut OsRng);
            cost.argon2()
                .hash_password(password.as_bytes(), &salt)
                .map(|h| h.to_string())
                .map_err(|e| Error::Internal(anyhow::anyhow!("argon2: {e}")))
        })
        .await?
    }

    /// Whether `password` matches `stored`; with `None`, a dummy hash is checked and false returned.
    pub async fn verify(&self, password: &str, stored: Option<&str>) -> Result<bool> {
        let password = password.to_owned();
        let (stored, real) = match stored {
            Some(s) => (s.to_owned(), true),
            None => (dummy_hash(self.cost).to_owned(), false),
        };
        self.run(Some(self.queue_wait), move || {
            // The stored hash's own parameters decide the work, not the hasher's cost.
            let ok = PasswordHash::new(&stored)
                .map(|h| {
                    HashCost::Production
                        .argon2()
                        .verify_password(password.as_bytes(), &h)
                        .is_ok()
                })
                .unwrap_or(false);
            ok && real
        })
        .await
    }
}

/// The hasher of code that has no server's (the CLI's tools, tests): default size, no queue bound.
fn shared() -> &'static Hasher {
    static SHARED: OnceLock<Hasher> = OnceLock::new();
    SHARED.get_or_init(|| {
        Hasher::new(
            default_concurrency(),
            Duration::from_secs(3600),
            HashCost::Production,
        )
    })
}

/// A hash to verify against when the account does not exist, so both answers take as long as
/// a check of the hashes made at `cost`.
fn dummy_hash(cost: HashCost) -> &'static str {
    static PRODUCTION: OnceLock<String> = OnceLock::new();
    static MINIMAL: OnceLock<String> = OnceLock::new();
    let cell = match cost {
        HashCost::Production => &PRODUCTION,
        HashCost::Minimal => &MINIMAL,
    };
    cell.get_or_init(|| {
        let salt = SaltString::generate(&mut OsRng);
        cost.argon2()
            .hash_password(b"roster-dummy-password", &salt)
            .map(|h| h.to_string())
            .unwrap_or_default()
    })
}

/// [`Hasher::hash`] on a process-wide hasher, for tools without a server.
pub async fn hash(password: &str) -> Result<String> {
    shared().hash_queued(password).await
}

/// [`Hasher::verify`] on a process-wide hasher, for tools without a server.
pub async fn verify(password: &str, stored: Option<&str>) -> Result<bool> {
    shared().verify(password, stored).await
}

/// Refuses a password longer than [`MAX_PASSWORD_BYTES`] wherever one is checked or set.
pub fn check_length(password: &str, field: &str) -> std::result::Result<(), FieldError> {
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(FieldError::new(
            Location::Body,
            field,
            "string_too_long",
            "the password must be at most 1024 bytes long",
        ));
    }
    Ok(())
}

/// The default policy of the Keycloak realms eva clients come from: at least 6 characters, an
/// upper-case and a lower-case letter, and a digit or a special character; at most 1 KiB.
pub fn check_policy(password: &str, field: &str) -> std::result::Result<(), FieldError> {
    check_length(password, field)?;
    let fail = |m: &str| Err(FieldError::new(Location::Body, field, "password_policy", m));
    if password.chars().count() < 6 {
        return fail("the password must be at least 6 characters long");
    }
    if !password.chars().any(char::is_uppercase) || !password.chars().any(char::is_lowercase) {
        return fail("the password must contain an upper-case and a lower-case letter");
    }
    if !password.chars().any(|c| !c.is_alphabetic()) {
        return fail("the password must contain a digit or a special character");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_verify_and_unknown_accounts_never_do() {
        let h = hash("Secr3t!x").await.expect("hash");
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
        assert!(verify("Secr3t!x", Some(&h)).await.expect("verify"));
        assert!(!verify("wrong", Some(&h)).await.expect("verify"));
        assert!(!verify("Secr3t!x", None).await.expect("verify"));
        assert!(!verify("x", Some("not a hash")).await.expect("verify"));
    }

    #[tokio::test]
    async fn a_saturated_hasher_turns_callers_away() {
        let h = Hasher::new(1, Duration::from_millis(1), HashCost::Minimal);
        let held = h.slots.clone().acquire_owned().await.expect("permit");
        assert!(matches!(
            h.verify("x", None).await,
            Err(Error::Unavailable { .. })
        ));
        drop(held);
        assert!(!h.verify("x", None).await.expect("a free slot"));
    }

    #[tokio::test]
    async fn a_hash_verifies_at_its_own_cost_and_unknown_accounts_match_the_hashers_cost() {
        let minimal = Hasher::new(1, Duration::from_secs(60), HashCost::Minimal);
        let cheap = minimal.hash("Secr3t!x").await.expect("hash");
        assert!(cheap.starts_with("$argon2id$v=19$m=8,t=1,p=1$"), "{cheap}");
        // A production hash (made before a server's cost changed) still verifies, and a
        // minimal one on a production hasher: each at the parameters it carries.
        let dear = hash("Secr3t!x").await.expect("hash");
        assert!(minimal
            .verify("Secr3t!x", Some(&dear))
            .await
            .expect("verify"));
        assert!(!minimal.verify("wrong", Some(&dear)).await.expect("verify"));
        assert!(verify("Secr3t!x", Some(&cheap)).await.expect("verify"));
        // The hash an unknown account is checked against has the parameters of the hashes
        // the same hasher makes, so neither answer comes sooner.
        for cost in [HashCost::Minimal, HashCost::Production] {
            let params = |h: &str| PasswordHash::new(h).expect("phc").params.to_string();
            let made = Hasher::new(1, Duration::from_secs(60), cost)
                .hash("x")
                .await
                .expect("hash");
            assert_eq!(params(dummy_hash(cost)), params(&made), "{cost:?}");
        }
        assert_eq!(HashCost::parse(" Minimal"), Some(HashCost::Minimal));
        assert_eq!(HashCost::parse("production"), Some(HashCost::Production));
        assert_eq!(HashCost::parse("cheap"), None);
    }

    #[test]
    fn policy() {
        assert!(check_policy("Secr3t", "password").is_ok());
        assert!(check_policy("Passwörd!", "password").is_ok());
        for bad in [
            "Ab1",
            "alllower1",
            "ALLUPPER1",
            "NoDigitsHere",
            &"A".repeat(1025),
        ] {
            assert!(check_policy(bad, "password").is_err(), "{bad}");
        }
        assert!(
            check_policy(&format!("Aa1{}", "x".repeat(61)), "password").is_ok(),
            "64 characters are allowed"
        );
    }
}
