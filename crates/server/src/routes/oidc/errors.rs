//! How the OpenID provider's routes answer an error that no handler rendered (a rate limit
//! charged before the handler, maintenance, a panic, a path under `/realms/` no route serves):
//! in OAuth's own shape on the endpoints a program calls (RFC 6749 §5.2, RFC 6750 §3.1:
//! `{"error", "error_description"}`), and as a page on the ones a browser opens.

use axum::http::{header, HeaderMap, StatusCode, Uri};
use axum::response::Response;
use roster_domain::Error;
use serde_json::{json, Value};

use super::page::{self, Lang, Text};
use crate::openapi::errors::Shape;
use crate::surface::with_retry_after;
use crate::surface::Surface;

/// The provider's endpoints and pages. (Its errors are not in an OpenAPI document: discovery
/// describes the endpoints; `Shape` only names the schemas the token endpoint's operations list.)
pub const SURFACE: Surface = Surface {
    name: "oidc",
    render,
    shape: Shape::Eva,
    closes_for_maintenance: true,
};

/// The OAuth error code and status of a domain error.
pub fn oauth_code(e: &Error) -> (StatusCode, &'static str, String) {
    match e {
        // RFC 8628 §3.5's `slow_down` says what a client must do: ask less often.
        Error::RateLimited { .. } => (
            StatusCode::TOO_MANY_REQUESTS,
            "slow_down",
            "Too many requests; try again after Retry-After seconds".into(),
        ),
        Error::Unavailable { cause, .. } => (
            StatusCode::SERVICE_UNAVAILABLE,
            "temporarily_unavailable",
            cause.message().trim_end_matches('.').to_owned(),
        ),
        Error::Unauthenticated => (
            StatusCode::UNAUTHORIZED,
            "invalid_token",
            "The access token is missing, expired or not valid".into(),
        ),
        Error::Forbidden(_) => (
            StatusCode::FORBIDDEN,
            "insufficient_scope",
            "The access token does not grant this".into(),
        ),
        Error::NotFound(what) => (
            StatusCode::NOT_FOUND,
            "invalid_request",
            format!("The {what} does not exist"),
        ),
        Error::TooLarge(m) => (StatusCode::PAYLOAD_TOO_LARGE, "invalid_request", m.clone()),
        Error::Validation(_) | Error::BadRequest(_) | Error::Conflict(_) => {
            (StatusCode::BAD_REQUEST, "invalid_request", e.to_string())
        }
        Error::Internal(_) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            "Unexpected error".into(),
        ),
    }
}

fn render(e: &Error, _path: &str) -> (StatusCode, Value) {
    let (status, code, description) = oauth_code(e);
    (
        status,
        json!({ "error": code, "error_description": description }),
    )
}

/// Whether a path under the provider is a page a browser opens (the sign-in page and its
/// emailed links, logout, the landing pages, the upstream sign-in and its callbacks).
pub fn is_page(path: &str) -> bool {
    path.starts_with("/connections/")
        || path.contains("/login-actions/")
        || [
            "/protocol/openid-connect/auth",
            "/protocol/openid-connect/logout",
        ]
        .iter()
        .any(|p| path.contains(&format!("{p}/")) || path.ends_with(p))
}

/// The page's language, before any organization is looked up: `ui_locales`, else the
/// browser's first `Accept-Language`, else English.
fn lang_of(uri: &Uri, headers: &HeaderMap) -> Lang {
    let query = uri.query().unwrap_or_default();
    let ui = form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == "ui_locales")
        .map(|(_, v)| v.into_owned());
    let accept = headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').next())
        .map(|v| v.split(';').next().unwrap_or_default().to_owned());
    ui.iter()
        .flat_map(|l| l.split(' ').map(str::to_owned).collect::<Vec<_>>())
        .chain(accept)
        .find_map(|l| Lang::parse(&l))
        .unwrap_or(Lang::En)
}

/// The page of an error no handler rendered, on a browser page; `None` elsewhere.
pub fn page_error(e: &Error, uri: &Uri, headers: &HeaderMap) -> Option<Response> {
    if !is_page(uri.path()) {
        return None;
    }
    let lang = lang_of(uri, headers);
    let (status, why) = match e {
        Error::RateLimited { .. } => (StatusCode::TOO_MANY_REQUESTS, Text::TooMany),
        Error::NotFound(_) => (StatusCode::NOT_FOUND, Text::NoSuchOrg),
        Error::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, Text::Unavailable),
        Error::Unavailable { .. } => (StatusCode::SERVICE_UNAVAILABLE, Text::Unavailable),
        _ => (StatusCode::BAD_REQUEST, Text::BadRequest),
    };
    let mut resp = page::error(status, lang, None, why);
    with_retry_after(&mut resp, e);
    Some(resp)
}

#[cfg(test)]
mod tests {
    use super::is_page;

    #[test]
    fn pages_are_told_from_endpoints() {
        for p in [
            "/realms/acme/protocol/openid-connect/auth",
            "/realms/acme/protocol/openid-connect/auth/link",
            "/realms/acme/protocol/openid-connect/auth/connections/google-oauth2",
            "/realms/acme/protocol/openid-connect/logout",
            "/realms/acme/login-actions/verify",
            "/connections/google-oauth2/callback",
        ] {
            assert!(is_page(p), "{p}");
        }
        for p in [
            "/realms/acme/protocol/openid-connect/userinfo",
            "/realms/acme/protocol/openid-connect/revoke",
            "/realms/acme/protocol/openid-connect/certs",
            "/realms/acme/.well-known/openid-configuration",
            "/realms/acme/protocol/openid-connect/authx",
        ] {
            assert!(!is_page(p), "{p}");
        }
    }
}
