//! Talking to upstream OpenID Connect providers (`google-oauth2`, and each organization's own
//! connections) with the `openidconnect` crate: discovery, the authorization URL of the code
//! flow with PKCE and a nonce, the code exchange, and the ID token verified against the
//! provider's JWKS.
//!
//! Discovery documents (with their JWKS) are cached per issuer for an hour; a token whose
//! signature does not verify against the cached keys makes one fresh fetch (at most once a
//! minute per issuer), so that a provider's key rotation is followed at once.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreJwsSigningAlgorithm, CoreProviderMetadata,
};
use openidconnect::{
    AuthorizationCode, ClaimsVerificationError, ClientId, ClientSecret, CsrfToken, IssuerUrl,
    Nonce, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope, TokenResponse,
};
use roster_domain::core::UpstreamClaims;

const METADATA_TTL: Duration = Duration::from_secs(3600);
const REFRESH_AT_MOST_EVERY: Duration = Duration::from_secs(60);

/// One upstream provider as Roster is registered there.
#[derive(Debug, Clone)]
pub struct Provider {
    pub issuer: String,
    pub client_id: String,
    pub client_secret: String,
    /// Roster's callback for this connection.
    pub redirect_uri: String,
}

/// Why talking to the provider failed. `Token` covers every refused ID token; the text goes to
/// the audit log and the server log, never to the page.
#[derive(Debug)]
pub enum UpstreamError {
    /// Discovery or the token endpoint could not be reached or answered nonsense.
    Unreachable(String),
    /// The ID token is missing, or did not verify (signature, issuer, audience, expiry, nonce).
    Token(&'static str, String),
}

fn http() -> &'static reqwest::Client {
    static HTTP: OnceLock<reqwest::Client> = OnceLock::new();
    HTTP.get_or_init(|| {
        reqwest::Client::builder()
            // The provider's endpoints are used as discovered: never a redirect elsewhere.
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap_or_default()
    })
}

struct Cached {
    metadata: CoreProviderMetadata,
    fetched: Instant,
}

fn cache() -> &'static Mutex<HashMap<String, Cached>> {
    static CACHE: OnceLock<Mutex<HashMap<String, Cached>>> = OnceLock::new();
    CACHE.get_or_init(Mutex::default)
}

/// The provider's discovery document and keys: from the cache unless `fresh` (and the cached
/// copy is older than a minute) or older than an hour.
async fn metadata(issuer: &str, fresh: bool) -> Result<CoreProviderMetadata, UpstreamError> {
    {
        let c = cache().lock().unwrap_or_else(|p| p.into_inner());
        if let Some(hit) = c.get(issuer) {
            let age = hit.fetched.elapsed();
            if age < METADATA_TTL && (!fresh || age < REFRESH_AT_MOST_EVERY) {
                return Ok(hit.metadata.clone());
            }
        }
    }
    let url = IssuerUrl::new(issuer.to_owned())
        .map_err(|e| UpstreamError::Unreachable(format!("issuer: {e}")))?;
    let metadata = CoreProviderMetadata::discover_async(url, http())
        .await
        .map_err(|e| UpstreamError::Unreachable(format!("discovery: {e}")))?;
    cache().lock().unwrap_or_else(|p| p.into_inner()).insert(
        issuer.to_owned(),
        Cached {
            metadata: metadata.clone(),
            fetched: Instant::now(),
        },
    );
    Ok(metadata)
}

fn client(
    p: &Provider,
    metadata: CoreProviderMetadata,
) -> Result<
    CoreClient<
        openidconnect::EndpointSet,
        openidconnect::EndpointNotSet,
        openidconnect::EndpointNotSet,
        openidconnect::EndpointNotSet,
        openidconnect::EndpointMaybeSet,
        openidconnect::EndpointMaybeSet,
    >,
    UpstreamError,
> {
    let redirect = RedirectUrl::new(p.redirect_uri.clone())
        .map_err(|e| UpstreamError::Unreachable(format!("redirect URI: {e}")))?;
    Ok(CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(p.client_id.clone()),
        Some(ClientSecret::new(p.client_secret.clone())),
    )
    .set_redirect_uri(redirect))
}

/// The provider's authorization URL for this state, nonce and PKCE verifier.
pub async fn authorization_url(
    p: &Provider,
    state: &str,
    nonce: &str,
    verifier: &str,
) -> Result<String, UpstreamError> {
    let c = client(p, metadata(&p.issuer, false).await?)?;
    let challenge =
        PkceCodeChallenge::from_code_verifier_sha256(&PkceCodeVerifier::new(verifier.to_owned()));
    let (state, nonce) = (state.to_owned(), nonce.to_owned());
    let (url, _, _) = c
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            move || CsrfToken::new(state),
            move || Nonce::new(nonce),
        )
        .add_scope(Scope::new("email".into()))
        .set_pkce_challenge(challenge)
        .url();
    Ok(url.to_string())
}

/// Exchanges the code (with the PKCE verifier) and verifies the ID token: signature against
/// the provider's JWKS, issuer, audience, expiry, and the nonce this sign-in sent.
pub async fn exchange(
    p: &Provider,
    code: &str,
    nonce: &str,
    verifier: &str,
) -> Result<UpstreamClaims, UpstreamError> {
    let c = client(p, metadata(&p.issuer, false).await?)?;
    let response = c
        .exchange_code(AuthorizationCode::new(code.to_owned()))
        .map_err(|e| UpstreamError::Unreachable(format!("token endpoint: {e}")))?
        .set_pkce_verifier(PkceCodeVerifier::new(verifier.to_owned()))
        .request_async(http())
        .await
        .map_err(|e| UpstreamError::Token("code_refused", format!("code exchange: {e}")))?;
    let Some(id_token) = response.id_token() else {
        return Err(UpstreamError::Token(
            "no_id_token",
            "no ID token in the answer".into(),
        ));
    };
    let nonce = Nonce::new(nonce.to_owned());
    let verify = |c: &CoreClient<_, _, _, _, _, _>| {
        let v = c.id_token_verifier().set_allowed_algs([
            CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
            CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha384,
            CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha512,
            CoreJwsSigningAlgorithm::RsaSsaPssSha256,
            CoreJwsSigningAlgorithm::RsaSsaPssSha384,
            CoreJwsSigningAlgorithm::RsaSsaPssSha512,
            CoreJwsSigningAlgorithm::EcdsaP256Sha256,
            CoreJwsSigningAlgorithm::EcdsaP384Sha384,
            CoreJwsSigningAlgorithm::EdDsa,
        ]);
        id_token.claims(&v, &nonce).map(|claims| UpstreamClaims {
            issuer: claims.issuer().to_string(),
            subject: claims.subject().to_string(),
            email: claims.email().map(|e| e.to_string()),
            email_verified: claims.email_verified() == Some(true),
        })
    };
    match verify(&c) {
        Ok(claims) => Ok(claims),
        // The provider may have rotated its keys since they were cached.
        Err(ClaimsVerificationError::SignatureVerification(_)) => {
            let fresh = client(p, metadata(&p.issuer, true).await?)?;
            verify(&fresh).map_err(refused)
        }
        Err(e) => Err(refused(e)),
    }
}

fn refused(e: ClaimsVerificationError) -> UpstreamError {
    let reason = match &e {
        ClaimsVerificationError::InvalidNonce(_) => "nonce",
        ClaimsVerificationError::SignatureVerification(_) => "signature",
        ClaimsVerificationError::Expired(_) => "expired",
        ClaimsVerificationError::InvalidAudience(_) => "audience",
        ClaimsVerificationError::InvalidIssuer(_) => "issuer",
        _ => "id_token_invalid",
    };
    UpstreamError::Token(reason, e.to_string())
}
