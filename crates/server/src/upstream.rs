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
    CoreAuthDisplay, CoreAuthenticationFlow, CoreClaimName, CoreClaimType, CoreClient,
    CoreClientAuthMethod, CoreGrantType, CoreJsonWebKey, CoreJweContentEncryptionAlgorithm,
    CoreJweKeyManagementAlgorithm, CoreJwsSigningAlgorithm, CoreResponseMode, CoreResponseType,
    CoreSubjectIdentifierType,
};
use openidconnect::{
    AdditionalProviderMetadata, AuthorizationCode, ClaimsVerificationError, ClientId, ClientSecret,
    CsrfToken, IssuerUrl, Nonce, PkceCodeChallenge, PkceCodeVerifier, ProviderMetadata,
    RedirectUrl, Scope, TokenResponse,
};
use roster_domain::core::UpstreamClaims;
use serde::{Deserialize, Serialize};

const METADATA_TTL: Duration = Duration::from_secs(3600);
const REFRESH_AT_MOST_EVERY: Duration = Duration::from_secs(60);
const FAILED_TTL: Duration = Duration::from_secs(30);

/// The discovery document's RFC 9207 field, beyond what OpenID Connect Discovery defines.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct IssParameter {
    #[serde(default)]
    authorization_response_iss_parameter_supported: bool,
}
impl AdditionalProviderMetadata for IssParameter {}

type Metadata = ProviderMetadata<
    IssParameter,
    CoreAuthDisplay,
    CoreClientAuthMethod,
    CoreClaimName,
    CoreClaimType,
    CoreGrantType,
    CoreJweContentEncryptionAlgorithm,
    CoreJweKeyManagementAlgorithm,
    CoreJsonWebKey,
    CoreResponseMode,
    CoreResponseType,
    CoreSubjectIdentifierType,
>;

/// Roster's callback, the redirect URI to register at the provider: one for the whole
/// deployment for `google-oauth2`, one per organization and connection otherwise, so that no
/// organization's provider answers at another organization's callback (the mix-up attack).
pub fn callback_uri(public_url: &str, org_id: Option<&str>, name: &str) -> String {
    let public = public_url.trim_end_matches('/');
    match org_id {
        Some(org) => format!("{public}/connections/{org}/{name}/callback"),
        None => format!("{public}/connections/{name}/callback"),
    }
}

/// One upstream provider as Roster is registered there.
#[derive(Clone)]
pub struct Provider {
    pub issuer: String,
    pub client_id: String,
    pub client_secret: String,
    /// Roster's callback for this connection.
    pub redirect_uri: String,
    /// `ROSTER_CONNECTION_ALLOW_PRIVATE`: plain http and non-public addresses allowed.
    pub allow_private: bool,
}

impl std::fmt::Debug for Provider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Provider")
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field("client_secret", &"[redacted]")
            .field("redirect_uri", &self.redirect_uri)
            .field("allow_private", &self.allow_private)
            .finish()
    }
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

/// Every request to a provider (discovery, JWKS, token endpoint, whatever the discovery
/// document names): `https` only, to a host whose every address is public
/// (`webhooks::ssrf`), connected to the address checked, no redirects followed, bounded in
/// time; unless the operator allows private addresses (`ROSTER_CONNECTION_ALLOW_PRIVATE`).
async fn guarded(
    allow_private: bool,
    request: openidconnect::HttpRequest,
) -> Result<openidconnect::HttpResponse, openidconnect::HttpClientError<reqwest::Error>> {
    use openidconnect::{AsyncHttpClient, HttpClientError};
    let uri = request.uri().clone();
    if uri.scheme_str() != Some("https") && !allow_private {
        return Err(HttpClientError::Other(format!(
            "{uri}: only https (ROSTER_CONNECTION_ALLOW_PRIVATE)"
        )));
    }
    let host = uri
        .host()
        .ok_or_else(|| HttpClientError::Other(format!("{uri}: no host")))?
        .to_owned();
    let port = uri
        .port_u16()
        .unwrap_or(if uri.scheme_str() == Some("https") {
            443
        } else {
            80
        });
    let addr = crate::webhooks::ssrf::resolve(&host, port, allow_private)
        .await
        .map_err(|e| HttpClientError::Other(e.replace("ROSTER_WEBHOOK_", "ROSTER_CONNECTION_")))?;
    // Never a default client instead: that one follows redirects and has no timeouts.
    let client = reqwest::Client::builder()
        // The provider's endpoints are used as discovered: never a redirect elsewhere.
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(10))
        .resolve(host.trim_start_matches('[').trim_end_matches(']'), addr)
        .no_proxy()
        .build()
        .map_err(|e| HttpClientError::Reqwest(Box::new(e)))?;
    client.call(request).await
}

struct Cached {
    /// The document, or why discovery failed (kept `FAILED_TTL` only).
    metadata: Result<Metadata, String>,
    fetched: Instant,
}

fn cache() -> &'static Mutex<HashMap<String, Cached>> {
    static CACHE: OnceLock<Mutex<HashMap<String, Cached>>> = OnceLock::new();
    CACHE.get_or_init(Mutex::default)
}

/// The provider's discovery document and keys: from the cache unless `fresh` (and the cached
/// copy is older than a minute) or older than an hour. A failed discovery is remembered for
/// `FAILED_TTL`, so that sign-in attempts do not make Roster call an unreachable (or refused)
/// issuer again and again.
async fn metadata(p: &Provider, fresh: bool) -> Result<Metadata, UpstreamError> {
    let issuer = p.issuer.as_str();
    {
        let c = cache().lock().unwrap_or_else(|p| p.into_inner());
        if let Some(hit) = c.get(issuer) {
            let age = hit.fetched.elapsed();
            match &hit.metadata {
                Ok(m) if age < METADATA_TTL && (!fresh || age < REFRESH_AT_MOST_EVERY) => {
                    return Ok(m.clone())
                }
                Err(e) if age < FAILED_TTL => return Err(UpstreamError::Unreachable(e.clone())),
                _ => {}
            }
        }
    }
    let allow_private = p.allow_private;
    let http = move |r| guarded(allow_private, r);
    let found = match IssuerUrl::new(issuer.to_owned()) {
        Ok(url) => Metadata::discover_async(url, &http)
            .await
            .map_err(|e| format!("discovery: {e} ({})", source_chain(&e))),
        Err(e) => Err(format!("issuer: {e}")),
    };
    cache().lock().unwrap_or_else(|p| p.into_inner()).insert(
        issuer.to_owned(),
        Cached {
            metadata: found.clone(),
            fetched: Instant::now(),
        },
    );
    found.map_err(UpstreamError::Unreachable)
}

fn source_chain(e: &dyn std::error::Error) -> String {
    let mut out = Vec::new();
    let mut cur = e.source();
    while let Some(c) = cur {
        out.push(c.to_string());
        cur = c.source();
    }
    out.join(": ")
}

fn client(
    p: &Provider,
    metadata: Metadata,
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
    let c = client(p, metadata(p, false).await?)?;
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

/// Whether the authorization response's `iss` (RFC 9207) is as it must be: the provider's
/// issuer when the provider says it sends one (then it is required), absent or the issuer
/// otherwise.
pub async fn check_iss(p: &Provider, iss: Option<&str>) -> Result<(), UpstreamError> {
    let m = metadata(p, false).await?;
    let expected = m.issuer().as_str();
    let required = m
        .additional_metadata()
        .authorization_response_iss_parameter_supported;
    match iss {
        Some(i) if i == expected => Ok(()),
        None if !required => Ok(()),
        Some(i) => Err(UpstreamError::Token(
            "iss_mismatch",
            format!("authorization response from {i}, not {expected}"),
        )),
        None => Err(UpstreamError::Token(
            "iss_missing",
            "the provider sends iss (RFC 9207) but this response has none".into(),
        )),
    }
}

/// Exchanges the code (with the PKCE verifier) and verifies the ID token: signature against
/// the provider's JWKS, issuer, audience, expiry, and the nonce this sign-in sent.
pub async fn exchange(
    p: &Provider,
    code: &str,
    nonce: &str,
    verifier: &str,
) -> Result<UpstreamClaims, UpstreamError> {
    let c = client(p, metadata(p, false).await?)?;
    let response = c
        .exchange_code(AuthorizationCode::new(code.to_owned()))
        .map_err(|e| UpstreamError::Unreachable(format!("token endpoint: {e}")))?
        .set_pkce_verifier(PkceCodeVerifier::new(verifier.to_owned()))
        .request_async(&move |r| guarded(p.allow_private, r))
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
            let fresh = client(p, metadata(p, true).await?)?;
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
