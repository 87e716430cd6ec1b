//! An OAuth2 token endpoint compatible with Keycloak's, for eva clients:
//! `POST /realms/{org}/protocol/openid-connect/token` (also under `/auth`), form-encoded,
//! `grant_type=password` or `refresh_token`, and `authorization_code` for the clients of the
//! organization's OpenID Connect provider (`routes::oidc::token`). It issues Roster's own tokens.
//! Errors use OAuth2's `{"error", "error_description"}` as Keycloak does.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use roster_domain::core::SignedIn;
use roster_domain::Error;
use serde::Serialize;
use serde_json::json;
use utoipa::openapi::OpenApi;
use utoipa::ToSchema;
use utoipa_axum::routes;

use crate::extract::{Path, Req};
use crate::openapi::OAuthError;
use crate::state::AppState;
use crate::surface::{Finished, Policy, SurfaceRouter};

/// The token endpoint's budget depends on its grant type (and, for passwords, the account
/// tried): the handler counts it.
const POLICIES: &[(&str, Policy)] = &[
    (
        "keycloak-token",
        Policy::Handler(&["password-grant", "refresh-grant"]),
    ),
    (
        "keycloak-token-under-auth",
        Policy::Handler(&["password-grant", "refresh-grant"]),
    ),
];

/// In the native document; its paths (`/realms/`, `/auth/`) are eva's, and so is the shape of
/// the errors it does not answer in OAuth's own (maintenance, panics).
pub fn router() -> Finished {
    SurfaceRouter::new(super::eva::SURFACE, OpenApi::default(), POLICIES)
        .routes(routes!(token))
        .routes(routes!(token_under_auth))
        .owns("/auth/")
        .finish()
}

/// The form fields of a token request.
#[derive(ToSchema)]
#[allow(dead_code)]
struct TokenForm {
    /// `password`, `refresh_token` or `authorization_code`.
    grant_type: String,
    /// The user's email (password grant).
    username: Option<String>,
    /// Password grant.
    password: Option<String>,
    /// Refresh grant: the `refresh_token` of an earlier answer (used once).
    refresh_token: Option<String>,
    /// Code grant: the code the authorization endpoint returned (used once).
    code: Option<String>,
    /// Code grant: the `redirect_uri` of the authorization request, exactly.
    redirect_uri: Option<String>,
    /// Code grant: the PKCE verifier of the request's `code_challenge`.
    code_verifier: Option<String>,
    /// A registered client (code grant, and refreshes of what a code started); or Basic auth.
    client_id: Option<String>,
    /// A confidential client's secret (`client_secret_post`); or Basic auth.
    client_secret: Option<String>,
}

/// An access token and the refresh token that renews it.
#[derive(Serialize, ToSchema)]
struct TokenOut {
    access_token: String,
    /// Seconds.
    expires_in: i64,
    /// Seconds.
    refresh_expires_in: i64,
    refresh_token: String,
    /// Always `Bearer`.
    token_type: &'static str,
    #[serde(rename = "not-before-policy")]
    not_before_policy: i64,
    session_state: String,
    scope: String,
    /// The ID token (code grant, and refreshes of what a code started, with scope `openid`).
    #[serde(skip_serializing_if = "Option::is_none")]
    id_token: Option<String>,
}

fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    (
        status,
        Json(json!({ "error": error, "error_description": description })),
    )
        .into_response()
}

fn from_domain(e: Error) -> Response {
    match e {
        Error::Unauthenticated => oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_grant",
            "Invalid user credentials",
        ),
        Error::NotFound(_) => oauth_error(
            StatusCode::NOT_FOUND,
            "invalid_request",
            "Realm does not exist",
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
                .insert(axum::http::header::RETRY_AFTER, retry_after_secs.into());
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
                .insert(axum::http::header::RETRY_AFTER, retry_after_secs.into());
            r
        }
        Error::Internal(cause) => {
            tracing::error!(error = ?cause, "token endpoint failed");
            oauth_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "server_error",
                "Unexpected error",
            )
        }
        other => oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            &other.to_string(),
        ),
    }
}

/// Exchange a username (email) and password, or a refresh token, for an access token.
#[utoipa::path(
    post,
    path = "/realms/{realm}/protocol/openid-connect/token",
    operation_id = "keycloak-token",
    tag = "Tokens",
    params(("realm" = String, Path, description = "The organization's id.")),
    request_body(content = TokenForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "Signed in", body = TokenOut),
        (status = 400, description = "Missing or unsupported fields", body = OAuthError),
        (status = 401, description = "Wrong credentials, or a used or expired refresh token", body = OAuthError),
        (status = 404, description = "No such realm (organization)", body = OAuthError),
        (status = 413, description = "The body is larger than the server accepts", content_type = "text/plain", body = String),
        (status = 429, description = "Too many attempts; `Retry-After` says when to try again", body = OAuthError),
        (status = 500, description = "Unexpected error", body = OAuthError),
        (status = 503, description = "Unavailable (`OAuthError`), or maintenance mode (eva's `StandardError`)", body = OAuthOrStandardError),
    ),
    security(())
)]
async fn token(
    State(s): State<AppState>,
    Path(realm): Path<String>,
    req: Req,
    body: Bytes,
) -> Response {
    let mut resp = grant(&s, &realm, &req, &body).await;
    // RFC 6749 §5.1: a response that carries a token (and so, alike, one that might) is never
    // cached, by HTTP/1.1 caches nor by HTTP/1.0 ones.
    let h = resp.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    resp
}

/// What the token endpoint answers, before the headers every answer of it carries.
async fn grant(s: &AppState, realm: &str, req: &Req, body: &[u8]) -> Response {
    let form: Vec<(String, String)> = form_urlencoded::parse(body).into_owned().collect();
    let field = |k: &str| {
        form.iter()
            .rev()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.clone())
    };
    let grant = field("grant_type");
    if !matches!(
        grant.as_deref(),
        None | Some("password") | Some("refresh_token") | Some("authorization_code")
    ) {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "Unsupported grant_type",
        );
    }
    if let Some(r) = provider_grant(s, realm, req, &form, grant.as_deref()).await {
        return r;
    }
    // The refresh grant returns its successor token with the sign-in; the password grant gets one.
    let result: Result<(SignedIn, Option<String>), Error> = async {
        match grant.as_deref() {
            Some("password") => {
                let (Some(user), Some(password)) = (field("username"), field("password")) else {
                    return Err(Error::BadRequest(
                        "username and password are required".into(),
                    ));
                };
                s.limits
                    .check("password-grant", &format!("ip:{}", req.client_ip))
                    .await?;
                // Keyed by the organization's id, whichever form the path names it by, so that
                // the token endpoint and the sign-in page share one budget per account.
                let org_id = s.core.find_org(realm).await?.id;
                s.limits
                    .check(
                        "password-grant",
                        &format!("user:{org_id}:{}", user.trim().to_lowercase()),
                    )
                    .await?;
                s.core
                    .sign_in_with_password(&req.request_id, realm, &user, &password, &req.client_ip)
                    .await
                    .map(|who| (who, None))
            }
            Some("refresh_token") => {
                let Some(refresh) = field("refresh_token") else {
                    return Err(Error::BadRequest("refresh_token is required".into()));
                };
                s.limits
                    .check("refresh-grant", &format!("ip:{}", req.client_ip))
                    .await?;
                s.core
                    .refresh(&req.request_id, realm, &refresh)
                    .await
                    .map(|(who, next)| (who, Some(next)))
            }
            _ => Err(Error::BadRequest("grant_type is required".into())),
        }
    }
    .await;
    let (who, next_refresh) = match result {
        Ok(w) => w,
        Err(e) => return from_domain(e),
    };
    let issued = s.keys.sign_session(&who).map_err(Error::Internal);
    let refresh = match next_refresh {
        Some(r) => Ok(r),
        None => s.core.issue_refresh_token(&who).await,
    };
    match (issued, refresh) {
        (Ok((access, exp)), Ok(refresh)) => Json(TokenOut {
            access_token: access,
            expires_in: exp - s.keys.now_secs(),
            refresh_expires_in: s.core.refresh_ttl_secs(),
            refresh_token: refresh,
            token_type: "Bearer",
            not_before_policy: 0,
            session_state: uuid::Uuid::new_v4().to_string(),
            scope: "openid profile email".into(),
            id_token: None,
        })
        .into_response(),
        (Err(e), _) | (_, Err(e)) => from_domain(e),
    }
}

/// The grants of the OpenID Connect provider: the code grant, and the refresh of a token that
/// a code started. `None` for the other grants.
async fn provider_grant(
    s: &AppState,
    realm: &str,
    req: &Req,
    form: &[(String, String)],
    grant: Option<&str>,
) -> Option<Response> {
    use super::oidc::token;
    let refresh = form
        .iter()
        .rev()
        .find(|(k, _)| k == "refresh_token")
        .map(|(_, v)| v.as_str());
    let code = grant == Some("authorization_code");
    let provider_refresh = grant == Some("refresh_token") && refresh.is_some();
    if !(code || provider_refresh) {
        return None;
    }
    let org = match s.core.find_org(realm).await {
        Ok(o) => o,
        Err(e) => return Some(from_domain(e)),
    };
    match (grant, refresh) {
        (Some("authorization_code"), _) => Some(token::code_grant(s, &org, req, form).await),
        (_, Some(t)) if token::is_provider_refresh(s, &org, t).await => {
            Some(token::refresh_grant(s, &org, req, form, t).await)
        }
        _ => None,
    }
}

/// The same token endpoint under Keycloak's older `/auth` prefix.
#[utoipa::path(
    post,
    path = "/auth/realms/{realm}/protocol/openid-connect/token",
    operation_id = "keycloak-token-under-auth",
    tag = "Tokens",
    params(("realm" = String, Path, description = "The organization's id.")),
    request_body(content = TokenForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "Signed in", body = TokenOut),
        (status = 400, description = "Missing or unsupported fields", body = OAuthError),
        (status = 401, description = "Wrong credentials, or a used or expired refresh token", body = OAuthError),
        (status = 404, description = "No such realm (organization)", body = OAuthError),
        (status = 413, description = "The body is larger than the server accepts", content_type = "text/plain", body = String),
        (status = 429, description = "Too many attempts; `Retry-After` says when to try again", body = OAuthError),
        (status = 500, description = "Unexpected error", body = OAuthError),
        (status = 503, description = "Unavailable (`OAuthError`), or maintenance mode (eva's `StandardError`)", body = OAuthOrStandardError),
    ),
    security(())
)]
async fn token_under_auth(s: State<AppState>, p: Path<String>, req: Req, body: Bytes) -> Response {
    token(s, p, req, body).await
}

/// A 503 is OAuth2-shaped from the endpoint, eva-shaped from maintenance mode.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
#[allow(dead_code)]
enum OAuthOrStandardError {
    OAuth(OAuthError),
    Standard(crate::openapi::EvaError),
}
