//! Discovery, JWKS, userinfo and revocation (RP-initiated logout is `logout.rs`).

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use roster_domain::model::Organization;
use roster_domain::types::UserId;
use roster_domain::Error;
use serde_json::json;

use super::issuer;
use super::token::{client_of, oauth_error, profile_claims};
use crate::extract::Req;
use crate::state::AppState;

async fn org_json(s: &AppState, realm: &str) -> Result<Organization, Response> {
    match s.core.find_org(realm).await {
        Ok(o) => Ok(o),
        Err(Error::NotFound(_)) => Err(oauth_error(
            StatusCode::NOT_FOUND,
            "invalid_request",
            "Realm does not exist",
        )),
        Err(e) => {
            tracing::error!(error = ?e, "provider endpoint failed");
            Err(oauth_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "server_error",
                "Unexpected error",
            ))
        }
    }
}

/// `/.well-known/openid-configuration` of the organization's issuer.
pub async fn discovery(State(s): State<AppState>, Path(realm): Path<String>) -> Response {
    let org = match org_json(&s, &realm).await {
        Ok(o) => o,
        Err(r) => return r,
    };
    let iss = issuer(&s, &org);
    let p = format!("{iss}/protocol/openid-connect");
    let doc = json!({
        "issuer": iss,
        "authorization_endpoint": format!("{p}/auth"),
        "token_endpoint": format!("{p}/token"),
        "userinfo_endpoint": format!("{p}/userinfo"),
        "jwks_uri": format!("{p}/certs"),
        "end_session_endpoint": format!("{p}/logout"),
        "revocation_endpoint": format!("{p}/revoke"),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token", "password"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": [s.keys.alg()],
        "scopes_supported": ["openid", "profile", "email"],
        "claims_supported": ["sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "amr", "azp",
            "email", "email_verified", "name", "given_name", "family_name", "preferred_username",
            "locale", "zoneinfo", "org", "org_uuid", "roles"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "code_challenge_methods_supported": ["S256"],
        "prompt_values_supported": ["none", "login", "consent", "select_account"],
        "ui_locales_supported": ["en", "es", "ja", "pt"],
        "request_parameter_supported": false,
        "request_uri_parameter_supported": false,
        "authorization_response_iss_parameter_supported": true,
        "claims_parameter_supported": false,
    });
    ([(header::CACHE_CONTROL, "public, max-age=300")], Json(doc)).into_response()
}

/// The keys that verify the organization's ID and access tokens: the server's key ring.
pub async fn certs(State(s): State<AppState>, Path(realm): Path<String>) -> Response {
    if let Err(r) = org_json(&s, &realm).await {
        return r;
    }
    (
        [(header::CACHE_CONTROL, "public, max-age=300")],
        Json(s.keys.jwks()),
    )
        .into_response()
}

fn invalid_token() -> Response {
    let mut r = oauth_error(
        StatusCode::UNAUTHORIZED,
        "invalid_token",
        "The access token is not valid",
    );
    r.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer error=\"invalid_token\""),
    );
    r
}

/// The signed-in user's claims, for an access token of this organization.
pub async fn userinfo(
    State(s): State<AppState>,
    Path(realm): Path<String>,
    headers: HeaderMap,
) -> Response {
    let org = match org_json(&s, &realm).await {
        Ok(o) => o,
        Err(r) => return r,
    };
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, t)| t.trim().to_owned());
    let Some(token) = token else {
        return invalid_token();
    };
    let Some(claims) = s.keys.verify_fresh(&token).await else {
        return invalid_token();
    };
    if claims.org != org.id
        || s.core
            .authenticate_token(
                &org.id,
                &UserId::from(&claims.sub),
                claims.issued_at_micros(),
                claims.api_key.as_deref(),
            )
            .await
            .is_err()
    {
        return invalid_token();
    }
    // What the token's scopes allow: a client's token says them; Roster's other tokens are the
    // person's own session, which reads all of this through the APIs anyway.
    let scope = claims.scope.as_deref().unwrap_or("openid profile email");
    if !scope.split(' ').any(|sc| sc == "openid") {
        let mut r = oauth_error(
            StatusCode::FORBIDDEN,
            "insufficient_scope",
            "The access token was not granted the openid scope",
        );
        r.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer error=\"insufficient_scope\", scope=\"openid\""),
        );
        return r;
    }
    match profile_claims(&s, &org, &claims.sub, claims.issued_at_micros(), scope).await {
        Ok(c) => {
            let mut r = Json(c).into_response();
            r.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            r
        }
        Err(Error::Unauthenticated) => invalid_token(),
        Err(e) => {
            tracing::error!(error = ?e, "userinfo failed");
            oauth_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "server_error",
                "Unexpected error",
            )
        }
    }
}

/// Token revocation (RFC 7009): withdraws a refresh token of the authenticated client; any
/// other token is answered the same 200 and left alone.
pub async fn revoke(
    State(s): State<AppState>,
    Path(realm): Path<String>,
    req: Req,
    body: Bytes,
) -> Response {
    let org = match org_json(&s, &realm).await {
        Ok(o) => o,
        Err(r) => return r,
    };
    let form: Vec<(String, String)> = form_urlencoded::parse(&body).into_owned().collect();
    let client = match client_of(&s, &org, &req.headers, &form).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let Some(token) = form
        .iter()
        .rev()
        .find(|(k, _)| k == "token")
        .map(|(_, v)| v)
    else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "token is required",
        );
    };
    match s
        .core
        .revoke_provider_token(&req.request_id, &client, token)
        .await
    {
        Ok(_) => StatusCode::OK.into_response(),
        Err(e) => {
            tracing::error!(error = ?e, "revocation failed");
            oauth_error(
                StatusCode::SERVICE_UNAVAILABLE,
                "temporarily_unavailable",
                "Try again later",
            )
        }
    }
}
