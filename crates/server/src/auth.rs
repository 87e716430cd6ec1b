//! Roster's own tokens: an Ed25519 key ring stored in the database (shared by every node, rotated
//! on a schedule with an overlap window), token minting, verification and the JWKS document.
//! Key ages and token times (`iat`, `exp`) read the core's clock, so a test of rotation or
//! expiry moves time; `iat_us` stays a session stamp, the order that session cut-offs use.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};

use anyhow::Context as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use jsonwebtoken::{Algorithm, DecodingKey, Header, Validation};
use ring::signature::{Ed25519KeyPair, KeyPair};
use roster_domain::clock::Clock;
use roster_domain::model::SigningKey;
use roster_domain::store::Store;
use roster_domain::types::{new_object_id, now_micros};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// The claims of a Roster access token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    pub iss: String,
    pub sub: String,
    pub org: String,
    pub iat: i64,
    pub exp: i64,
    pub jti: String,
    /// How the session began (`pwd`, `mail`, `key`, `link`); see `SignInMethod`.
    #[serde(default)]
    pub amr: Vec<String>,
    /// The API key the session began with (`amr` `key`): the session ends with the key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key: Option<String>,
    /// The issue instant as a session stamp (microseconds, `types::session_stamp`): `iat` has
    /// whole seconds only, too coarse to tell a token issued just after a cut-off of the
    /// account's sessions from one issued just before it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat_us: Option<i64>,
    /// The scopes an OpenID Connect client was granted (tokens of the code flow): what its
    /// userinfo may tell. Roster's other tokens have none, and are the person's own session.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
}

impl Claims {
    /// When the token was issued, in microseconds; a token without `iat_us` counts from the
    /// start of its `iat` second, so it never outlives a cut-off made in that second.
    pub fn issued_at_micros(&self) -> i64 {
        self.iat_us.unwrap_or(self.iat.saturating_mul(1_000_000))
    }
}

struct Keys {
    /// The signing key, parsed once: `jsonwebtoken` would re-parse the PKCS#8 document (and
    /// derive the public key) on every token.
    current: (String, Ed25519KeyPair),
    verifying: HashMap<String, DecodingKey>,
    jwks: Value,
    /// Tokens whose signature, issuer and algorithm checked out against `verifying`, with their
    /// claims: an Ed25519 verification per request is the largest cost of an authenticated call.
    /// Times are checked again on every use; a reload (rotation, retirement) starts empty.
    /// Only what the token itself says is remembered (signature valid, claims): whether its user
    /// still exists, is active, holds those roles or has had its sessions cut is decided on every
    /// request by `Core::authenticate`, through the read cache and so, with Redis, at once on
    /// every node. API keys are never remembered here (a key only mints tokens, and every
    /// sign-in reads it from the database).
    verified: Mutex<HashMap<String, Claims>>,
}

/// Most verified tokens remembered per key ring; beyond, the memory starts over.
const VERIFIED_TOKENS: usize = 10_000;

/// Seconds of clock skew allowed on `exp`, `nbf` and `iat`.
const LEEWAY_SECS: i64 = 5;

pub struct KeyRing {
    store: Arc<dyn Store>,
    issuer: String,
    ttl_secs: i64,
    rotation_secs: i64,
    keys: RwLock<Keys>,
    clock: Clock,
    /// When an unknown `kid` last made this node reload its keys.
    last_reload: std::sync::atomic::AtomicI64,
}

fn generate(now: i64) -> anyhow::Result<SigningKey> {
    let rng = ring::rand::SystemRandom::new();
    let pkcs8 = Ed25519KeyPair::generate_pkcs8(&rng)
        .map_err(|_| anyhow::anyhow!("cannot generate an Ed25519 key"))?;
    let pair = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref())
        .map_err(|_| anyhow::anyhow!("generated key does not parse"))?;
    Ok(SigningKey {
        kid: new_object_id(),
        alg: "EdDSA".into(),
        private_pkcs8: STANDARD.encode(pkcs8.as_ref()),
        public_x: URL_SAFE_NO_PAD.encode(pair.public_key().as_ref()),
        created_at: now,
        retire_at: None,
    })
}

impl KeyRing {
    pub async fn load(
        store: Arc<dyn Store>,
        issuer: String,
        ttl_secs: i64,
        rotation_days: i64,
        clock: Clock,
    ) -> anyhow::Result<Self> {
        let keys = Self::build(&store, ttl_secs, rotation_days * 86_400, clock.now()).await?;
        Ok(Self {
            store,
            issuer,
            ttl_secs,
            rotation_secs: rotation_days * 86_400,
            keys: RwLock::new(keys),
            clock,
            last_reload: std::sync::atomic::AtomicI64::new(0),
        })
    }

    /// Reloads the keys (another node may have rotated), rotating when the newest is too old.
    pub async fn refresh(&self) -> anyhow::Result<()> {
        let now = self.clock.now();
        let keys = Self::build(&self.store, self.ttl_secs, self.rotation_secs, now).await?;
        *self
            .keys
            .write()
            .map_err(|_| anyhow::anyhow!("key ring lock poisoned"))? = keys;
        Ok(())
    }

    async fn build(
        store: &Arc<dyn Store>,
        ttl_secs: i64,
        rotation_secs: i64,
        now: i64,
    ) -> anyhow::Result<Keys> {
        let stale_before = now - rotation_secs * 1_000_000;
        let mut all = store
            .signing_keys()
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        if all.first().is_none_or(|k| k.created_at < stale_before) {
            let fresh = generate(now)?;
            store
                .insert_signing_key(&fresh, stale_before)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            all = store
                .signing_keys()
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
        }
        let newest = all.first().context("no signing key")?;
        let pkcs8 = STANDARD.decode(&newest.private_pkcs8)?;
        let pair = Ed25519KeyPair::from_pkcs8_maybe_unchecked(&pkcs8)
            .map_err(|_| anyhow::anyhow!("signing key {} does not parse", newest.kid))?;
        let current = (newest.kid.clone(), pair);
        // A key keeps verifying until tokens it signed have expired: one token lifetime after its successor appeared.
        let mut verifying = HashMap::new();
        let mut published = Vec::new();
        let mut successor_at: Option<i64> = None;
        for k in &all {
            let alive = successor_at.is_none_or(|s| s + ttl_secs * 1_000_000 > now)
                && k.retire_at.is_none_or(|r| r > now);
            if alive {
                verifying.insert(k.kid.clone(), DecodingKey::from_ed_components(&k.public_x)?);
                published.push(json!({ "kty": "OKP", "crv": "Ed25519", "x": k.public_x, "kid": k.kid, "alg": "EdDSA", "use": "sig" }));
            }
            successor_at = Some(k.created_at);
        }
        Ok(Keys {
            current,
            verifying,
            jwks: json!({ "keys": published }),
            verified: Mutex::new(HashMap::new()),
        })
    }

    pub fn jwks(&self) -> Value {
        self.keys
            .read()
            .map(|k| k.jwks.clone())
            .unwrap_or_else(|_| json!({ "keys": [] }))
    }

    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// Now on the clock token times are read from, in seconds since the epoch (for `expires_in`).
    pub fn now_secs(&self) -> i64 {
        self.clock.now().div_euclid(1_000_000)
    }

    /// Mints the access token of a sign-in; returns it with its expiry (seconds since the epoch).
    pub fn sign_session(
        &self,
        who: &roster_domain::core::SignedIn,
    ) -> anyhow::Result<(String, i64)> {
        self.mint(who, None)
    }

    /// The access token of an OpenID Connect client: a session like any other, which also
    /// names the scopes the client was granted.
    pub fn sign_session_scoped(
        &self,
        who: &roster_domain::core::SignedIn,
        scope: &str,
    ) -> anyhow::Result<(String, i64)> {
        self.mint(who, Some(scope.to_owned()))
    }

    fn mint(
        &self,
        who: &roster_domain::core::SignedIn,
        scope: Option<String>,
    ) -> anyhow::Result<(String, i64)> {
        let stamp = roster_domain::types::session_stamp();
        let now = self.now_secs();
        let claims = Claims {
            iss: self.issuer.clone(),
            sub: who.user_id.clone(),
            org: who.org_id.clone(),
            iat: now,
            exp: now + self.ttl_secs,
            jti: uuid::Uuid::new_v4().to_string(),
            amr: vec![who.method.amr().to_owned()],
            api_key: who.api_key_id.clone(),
            iat_us: Some(stamp),
            scope,
        };
        let token = self.sign_payload(&serde_json::to_vec(&claims)?)?;
        Ok((token, claims.exp))
    }

    /// Signs other claims with the current key (the ID tokens of the OpenID Connect provider).
    pub fn sign_claims(&self, claims: &Value) -> anyhow::Result<String> {
        self.sign_payload(&serde_json::to_vec(claims)?)
    }

    /// The one algorithm this server signs with (never read from a token).
    pub fn alg(&self) -> &'static str {
        "EdDSA"
    }

    fn sign_payload(&self, payload: &[u8]) -> anyhow::Result<String> {
        let keys = self
            .keys
            .read()
            .map_err(|_| anyhow::anyhow!("key ring lock poisoned"))?;
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(keys.current.0.clone());
        // What `jsonwebtoken::encode` writes, signed with the key parsed at load.
        let mut token = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&header)?);
        token.push('.');
        token.push_str(&URL_SAFE_NO_PAD.encode(payload));
        let signature = keys.current.1.sign(token.as_bytes());
        token.push('.');
        token.push_str(&URL_SAFE_NO_PAD.encode(signature.as_ref()));
        Ok(token)
    }

    /// Like [`KeyRing::verify`], but a token signed with a key this node has not loaded yet (another
    /// node just rotated) reloads the ring first, at most once every few seconds.
    pub async fn verify_fresh(&self, token: &str) -> Option<Claims> {
        if let Some(c) = self.verify(token) {
            return Some(c);
        }
        let kid = jsonwebtoken::decode_header(token).ok()?.kid?;
        let known = self.keys.read().ok()?.verifying.contains_key(&kid);
        let now = now_micros(); // real time: this bounds work, it is no token time
        let last = self.last_reload.load(std::sync::atomic::Ordering::Relaxed);
        if known || now - last < 5_000_000 {
            return None;
        }
        self.last_reload
            .store(now, std::sync::atomic::Ordering::Relaxed);
        self.refresh().await.ok()?;
        self.verify(token)
    }

    /// Verifies a token's signature, algorithm (fixed by the server), issuer and times.
    pub fn verify(&self, token: &str) -> Option<Claims> {
        let keys = self.keys.read().ok()?;
        let now = self.now_secs();
        // The same string verified against this key ring before: only its times can have changed.
        let known = keys
            .verified
            .lock()
            .ok()
            .and_then(|m| m.get(token).cloned());
        let claims = match known {
            Some(c) => c,
            None => {
                let c = self.verify_signed(&keys, token)?;
                if let Ok(mut m) = keys.verified.lock() {
                    if m.len() >= VERIFIED_TOKENS {
                        m.clear();
                    }
                    m.insert(token.to_owned(), c.clone());
                }
                c
            }
        };
        // jsonwebtoken's own rule for `exp`; a token from the future was not issued by us.
        (claims.exp >= now - LEEWAY_SECS && claims.iat <= now + LEEWAY_SECS).then_some(claims)
    }

    fn verify_signed(&self, keys: &Keys, token: &str) -> Option<Claims> {
        let header = jsonwebtoken::decode_header(token).ok()?;
        if header.alg != Algorithm::EdDSA
            || header.jku.is_some()
            || header.jwk.is_some()
            || header.x5u.is_some()
        {
            return None;
        }
        let key = keys.verifying.get(header.kid.as_deref()?)?;
        let mut v = Validation::new(Algorithm::EdDSA);
        v.set_issuer(&[&self.issuer]);
        v.set_required_spec_claims(&["exp", "iat", "iss", "sub"]);
        v.validate_nbf = true;
        v.leeway = LEEWAY_SECS as u64;
        Some(jsonwebtoken::decode::<Claims>(token, key, &v).ok()?.claims)
    }

    /// The claims of an ID token this server signed for `issuer` (a realm), expired or not:
    /// what RP-initiated logout accepts as `id_token_hint` (OpenID Connect RP-Initiated Logout
    /// §2 asks providers to take hints whose `exp` has passed).
    pub fn verify_id_token_hint(&self, token: &str, issuer: &str) -> Option<Value> {
        let keys = self.keys.read().ok()?;
        let header = jsonwebtoken::decode_header(token).ok()?;
        if header.alg != Algorithm::EdDSA
            || header.jku.is_some()
            || header.jwk.is_some()
            || header.x5u.is_some()
        {
            return None;
        }
        let key = keys.verifying.get(header.kid.as_deref()?)?;
        let mut v = Validation::new(Algorithm::EdDSA);
        v.set_issuer(&[issuer]);
        v.set_required_spec_claims(&["iss", "sub", "aud"]);
        v.validate_exp = false;
        v.validate_aud = false;
        Some(jsonwebtoken::decode::<Value>(token, key, &v).ok()?.claims)
    }
}
