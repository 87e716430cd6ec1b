//! The provider's grants at the token endpoint (`routes::keycloak`): `authorization_code`, and
//! `refresh_token` for refresh tokens that a code started (those need their client). Clients
//! authenticate with `client_secret_basic` or `client_secret_post`; public clients send only
//! `client_id` and prove themselves with PKCE.

use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use roster_domain::core::ProviderGrant;
use roster_domain::model::{OidcClient, Organization};
use roster_domain::types::UserId;
use roster_domain::Error;
use serde_json::{json, Value};

use super::issuer;
use crate::extract::Req;
use crate::state::AppState;

pub fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    let mut r = (
        status,
        Json(json!({ "error": error, "error_description": description })),
    )
        .into_response();
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

fn form_decode(s: &str) -> String {
    form_urlencoded::parse(format!("v={s}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

fn last<'a>(form: &'a [(String, String)], name: &str) -> Option<&'a str> {
    form.iter()
        .rev()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .filter(|v| !v.is_empty())
}

/// The client's credentials: `Authorization: Basic` (RFC 6749 §2.3.1, each part form-encoded)
/// or the `client_id` and `client_secret` fields, not both.
fn credentials(
    headers: &HeaderMap,
    form: &[(String, String)],
) -> Result<(String, Option<String>), &'static str> {
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("basic"))
        .map(|(_, rest)| rest.trim().to_owned());
    if let Some(b) = basic {
        if last(form, "client_secret").is_some() {
            return Err("use one client authentication method");
        }
        let decoded = STANDARD
            .decode(b)
            .ok()
            .and_then(|d| String::from_utf8(d).ok())
            .ok_or("the Basic credentials do not decode")?;
        let (id, secret) = decoded
            .split_once(':')
            .ok_or("the Basic credentials do not decode")?;
        if let Some(form_id) = last(form, "client_id") {
            if form_id != form_decode(id) {
                return Err("client_id differs from the authenticated client");
            }
        }
        return Ok((form_decode(id), Some(form_decode(secret))));
    }
    let id = last(form, "client_id").ok_or("client_id is required")?;
    Ok((
        id.to_owned(),
        last(form, "client_secret").map(str::to_owned),
    ))
}

/// The authenticated client of a request to the token or revocation endpoint, or its 401.
pub async fn client_of(
    s: &AppState,
    org: &Organization,
    headers: &HeaderMap,
    form: &[(String, String)],
) -> Result<OidcClient, Response> {
    let (id, secret) = credentials(headers, form)
        .map_err(|why| oauth_error(StatusCode::UNAUTHORIZED, "invalid_client", why))?;
    match s
        .core
        .authenticate_client(org, &id, secret.as_deref())
        .await
    {
        Ok(c) => Ok(c),
        Err(Error::Unauthenticated) => {
            let mut r = oauth_error(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                "Client authentication failed",
            );
            r.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"token\""),
            );
            Err(r)
        }
        Err(e) => Err(failed(e)),
    }
}

fn failed(e: Error) -> Response {
    match e {
        Error::Unauthenticated => oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            "The code or refresh token is not valid for this client",
        ),
        Error::RateLimited {
            retry_after_secs, ..
        } => {
            let mut r = oauth_error(
                StatusCode::TOO_MANY_REQUESTS,
                "slow_down",
                "Too many attempts; try again later",
            );
            r.headers_mut()
                .insert(header::RETRY_AFTER, retry_after_secs.into());
            r
        }
        Error::Unavailable {
            retry_after_secs, ..
        } => {
            let mut r = oauth_error(
                StatusCode::SERVICE_UNAVAILABLE,
                "temporarily_unavailable",
                "Try again later",
            );
            r.headers_mut()
                .insert(header::RETRY_AFTER, retry_after_secs.into());
            r
        }
        other => {
            tracing::error!(error = ?other, "provider token grant failed");
            oauth_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "server_error",
                "Unexpected error",
            )
        }
    }
}

/// The claims the provider states about a user, for the scopes granted.
pub async fn profile_claims(
    s: &AppState,
    org: &Organization,
    user_id: &str,
    issued_at: roster_domain::types::Micros,
    scope: &str,
) -> Result<Value, Error> {
    let (user, identity, roles) = s
        .core
        .provider_profile(&org.id, &UserId::from(user_id), issued_at)
        .await?;
    let scopes: Vec<&str> = scope.split(' ').collect();
    let mut c = json!({ "sub": user.id, "org": org.id, "org_uuid": org.uuid, "roles": roles });
    if scopes.contains(&"email") {
        c["email"] = json!(user.email);
        c["email_verified"] = json!(identity.email_verified);
    }
    if scopes.contains(&"profile") {
        c["name"] = json!(roster_domain::types::full_name(
            &user.first_name,
            &user.last_name
        ));
        c["given_name"] = json!(user.first_name);
        c["family_name"] = json!(user.last_name);
        c["preferred_username"] = json!(user.email);
        if let Some(lang) = &user.preferences.preferred_language {
            c["locale"] = json!(lang);
        }
        if let Some(tz) = &user.preferences.timezone {
            c["zoneinfo"] = json!(tz);
        }
    }
    Ok(c)
}

/// The token answer of a grant: an access token like any Roster token, the next refresh token,
/// and with the `openid` scope an ID token for the client.
async fn answer(
    s: &AppState,
    org: &Organization,
    client: &OidcClient,
    g: ProviderGrant,
) -> Response {
    let (access, exp) = match s.keys.sign_session_scoped(&g.who, &g.scope) {
        Ok(v) => v,
        Err(e) => return failed(Error::Internal(e)),
    };
    let now = s.keys.now_secs();
    let mut out = json!({
        "access_token": access,
        "token_type": "Bearer",
        "expires_in": exp - now,
        "refresh_token": g.refresh_token,
        "refresh_expires_in": s.core.provider_refresh_ttl_secs(),
        "scope": g.scope,
    });
    if g.scope.split(' ').any(|sc| sc == "openid") {
        let mut claims = match profile_claims(s, org, &g.who.user_id, g.issued_at, &g.scope).await {
            Ok(c) => c,
            Err(e) => return failed(e),
        };
        claims["iss"] = json!(issuer(s, org));
        claims["aud"] = json!(client.client_id);
        claims["azp"] = json!(client.client_id);
        claims["iat"] = json!(now);
        claims["exp"] = json!(exp);
        claims["auth_time"] = json!(g.auth_time);
        claims["amr"] = json!([g.who.method.amr()]);
        claims["jti"] = json!(uuid::Uuid::new_v4().to_string());
        if let Some(n) = &g.nonce {
            claims["nonce"] = json!(n);
        }
        match s.keys.sign_claims(&claims) {
            Ok(t) => out["id_token"] = json!(t),
            Err(e) => return failed(Error::Internal(e)),
        }
    }
    let mut r = Json(out).into_response();
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// `grant_type=authorization_code`.
pub async fn code_grant(
    s: &AppState,
    org: &Organization,
    req: &Req,
    form: &[(String, String)],
) -> Response {
    if let Err(e) = s
        .limits
        .check("refresh-grant", &format!("ip:{}", req.client_ip))
        .await
    {
        return failed(e);
    }
    let client = match client_of(s, org, &req.headers, form).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let Some(code) = last(form, "code") else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "code is required",
        );
    };
    let redeemed = s
        .core
        .redeem_authorization_code(
            &req.request_id,
            &client,
            code,
            last(form, "redirect_uri"),
            last(form, "code_verifier"),
        )
        .await;
    match redeemed {
        Ok(g) => answer(s, org, &client, g).await,
        Err(e) => failed(e),
    }
}

/// Whether the refresh grant's token belongs to the provider (then [`refresh_grant`] answers).
pub async fn is_provider_refresh(s: &AppState, org: &Organization, token: &str) -> bool {
    s.core
        .is_provider_refresh_token(org, token)
        .await
        .unwrap_or(false)
}

/// `grant_type=refresh_token` for a refresh token a code started: rotated, reuse detected.
pub async fn refresh_grant(
    s: &AppState,
    org: &Organization,
    req: &Req,
    form: &[(String, String)],
    token: &str,
) -> Response {
    if let Err(e) = s
        .limits
        .check("refresh-grant", &format!("ip:{}", req.client_ip))
        .await
    {
        return failed(e);
    }
    let client = match client_of(s, org, &req.headers, form).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    match s
        .core
        .refresh_for_client(&req.request_id, &client, token)
        .await
    {
        Ok(g) => answer(s, org, &client, g).await,
        Err(e) => failed(e),
    }
}
