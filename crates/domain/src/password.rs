//! Password hashing: argon2id (19 MiB, t=2, p=1) off the async threads, on a bounded number of
//! blocking workers so that a burst of sign-ins queues instead of exhausting memory.

use std::sync::{Arc, OnceLock};

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use tokio::sync::Semaphore;

use crate::error::{Error, FieldError, Location, Result};

/// Longest password accepted: long passphrases are fine, megabytes are not.
pub const MAX_PASSWORD_BYTES: usize = 1024;

fn argon2() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Hashes and verifications in flight at once: one per core.
fn permits() -> &'static Arc<Semaphore> {
    static SEM: OnceLock<Arc<Semaphore>> = OnceLock::new();
    SEM.get_or_init(|| {
        let cores = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2);
        Arc::new(Semaphore::new(cores))
    })
}

/// A hash to verify against when the account does not exist, so both answers take as long.
fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        let salt = SaltString::generate(&mut OsRng);
        argon2()
            .hash_password(b"roster-dummy-password", &salt)
            .map(|h| h.to_string())
            .unwrap_or_default()
    })
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T> {
    let _permit = permits()
        .clone()
        .acquire_owned()
        .await
        .map_err(|e| Error::Internal(e.into()))?;
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::Internal(e.into()))
}

/// The PHC string of a new password hash.
pub async fn hash(password: &str) -> Result<String> {
    let password = password.to_owned();
    blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        argon2()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| Error::Internal(anyhow::anyhow!("argon2: {e}")))
    })
    .await?
}

/// Whether `password` matches `stored`; with `None`, a dummy hash is checked and false returned.
pub async fn verify(password: &str, stored: Option<&str>) -> Result<bool> {
    let password = password.to_owned();
    let (stored, real) = match stored {
        Some(s) => (s.to_owned(), true),
        None => (dummy_hash().to_owned(), false),
    };
    blocking(move || {
        let ok = PasswordHash::new(&stored)
            .map(|h| argon2().verify_password(password.as_bytes(), &h).is_ok())
            .unwrap_or(false);
        ok && real
    })
    .await
}

/// The default policy of the Keycloak realms eva clients come from: at least 6 characters, an
/// upper-case and a lower-case letter, and a digit or a special character; at most 1 KiB.
pub fn check_policy(password: &str, field: &str) -> std::result::Result<(), FieldError> {
    let fail = |m: &str| Err(FieldError::new(Location::Body, field, "password_policy", m));
    if password.len() > MAX_PASSWORD_BYTES {
        return fail("the password must be at most 1024 bytes long");
    }
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
