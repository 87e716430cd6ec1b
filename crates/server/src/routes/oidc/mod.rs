//! Roster as an OpenID Connect provider, one issuer per organization at Keycloak's paths
//! (`/realms/{org}/...`): discovery, JWKS, the authorization endpoint and its hosted sign-in
//! page, userinfo, RP-initiated logout and revocation. The token endpoint is
//! `routes::keycloak`, whose grants this module extends with `authorization_code`.
//!
//! These endpoints are described by the provider's discovery document (the standard's own
//! description), not by an OpenAPI document.

mod authorize;
mod buttons;
mod emailed;
mod endpoints;
pub mod errors;
mod form;
mod landing;
mod landing_page;
mod links;
mod logout;
pub mod page;
pub mod token;
mod upstream;

use axum::http::{header, HeaderMap, HeaderValue, Method};
use axum::routing::{get, post};
use roster_domain::model::Organization;
use utoipa::openapi::OpenApi;

use crate::state::AppState;
use crate::surface::{Finished, Policy, SurfaceRouter};

/// The hosted pages and the provider's endpoints, by the names `router` gives them.
const POLICIES: &[(&str, Policy)] = &[
    // Documents a relying party fetches and caches, like the JWKS.
    ("oidc-discovery", Policy::Open),
    ("oidc-certs", Policy::Open),
    ("oidc-sign-in-page", Policy::Client("show-page")),
    // A password, or an emailed link: the handler counts the budget of what was chosen.
    (
        "oidc-sign-in",
        Policy::Handler(&["password-grant", "sign-in-with-email", "email-per-address"]),
    ),
    ("oidc-link-page", Policy::Client("show-page")),
    ("oidc-use-link", Policy::Client("verify-token")),
    ("oidc-reset-page", Policy::Client("show-page")),
    ("oidc-use-reset-link", Policy::Client("verify-token")),
    ("oidc-userinfo", Policy::Client("userinfo")),
    ("oidc-logout", Policy::Client("end-session")),
    ("oidc-revoke", Policy::Client("end-session")),
    ("oidc-invitation-page", Policy::Client("show-page")),
    ("oidc-accept-invitation", Policy::Client("verify-token")),
    ("oidc-member-reset-page", Policy::Client("show-page")),
    ("oidc-use-member-reset", Policy::Client("verify-token")),
    // A link to the upstream provider; its callback counts the password budget (a code
    // exchange with the provider each).
    ("oidc-upstream-start", Policy::Client("show-page")),
    (
        "oidc-upstream-callback",
        Policy::Handler(&["password-grant"]),
    ),
];

/// Its paths are under eva's `/realms/`; an error no handler answers (a rate limit, a panic,
/// maintenance) is a page on the pages and OAuth's JSON on the endpoints (`errors`).
pub fn router() -> Finished {
    const P: &str = "/realms/{realm}/protocol/openid-connect";
    SurfaceRouter::new(errors::SURFACE, OpenApi::default(), POLICIES)
        .pages(errors::page_error)
        .page(
            "/realms/{realm}/.well-known/openid-configuration",
            &[(Method::GET, "oidc-discovery")],
            get(endpoints::discovery),
        )
        .page(
            &format!("{P}/certs"),
            &[(Method::GET, "oidc-certs")],
            get(endpoints::certs),
        )
        .page(
            &format!("{P}/auth"),
            &[
                (Method::GET, "oidc-sign-in-page"),
                (Method::POST, "oidc-sign-in"),
            ],
            get(authorize::show).post(authorize::submit),
        )
        .page(
            &format!("{P}/auth/link"),
            &[
                (Method::GET, "oidc-link-page"),
                (Method::POST, "oidc-use-link"),
            ],
            get(links::sign_in_link_page).post(links::use_sign_in_link),
        )
        .page(
            &format!("{P}/auth/reset"),
            &[
                (Method::GET, "oidc-reset-page"),
                (Method::POST, "oidc-use-reset-link"),
            ],
            get(links::reset_page).post(links::use_reset_link),
        )
        .page(
            &format!("{P}/userinfo"),
            &[
                (Method::GET, "oidc-userinfo"),
                (Method::POST, "oidc-userinfo"),
            ],
            get(endpoints::userinfo).post(endpoints::userinfo),
        )
        .page(
            &format!("{P}/logout"),
            &[(Method::GET, "oidc-logout"), (Method::POST, "oidc-logout")],
            get(logout::logout).post(logout::logout_form),
        )
        .page(
            &format!("{P}/revoke"),
            &[(Method::POST, "oidc-revoke")],
            post(endpoints::revoke),
        )
        // The hosted landing pages of the links member operations email (`routes::links`),
        // which continue into the sign-in flow (`landing`).
        .page(
            crate::routes::links::HOSTED_VERIFY,
            &[
                (Method::GET, "oidc-invitation-page"),
                (Method::POST, "oidc-accept-invitation"),
            ],
            get(landing::invitation_page).post(landing::accept_invitation),
        )
        .page(
            crate::routes::links::HOSTED_RESET,
            &[
                (Method::GET, "oidc-member-reset-page"),
                (Method::POST, "oidc-use-member-reset"),
            ],
            get(landing::reset_page).post(landing::use_reset),
        )
        .page(
            &format!("{P}/auth/connections/{{name}}"),
            &[(Method::GET, "oidc-upstream-start")],
            get(upstream::start),
        )
        .page(
            "/connections/{name}/callback",
            &[(Method::GET, "oidc-upstream-callback")],
            get(upstream::google_callback),
        )
        .page(
            "/connections/{org}/{name}/callback",
            &[(Method::GET, "oidc-upstream-callback")],
            get(upstream::org_callback),
        )
        .owns("/realms/")
        .owns("/connections/")
        .finish()
}

/// The issuer of an organization: `{ROSTER_PUBLIC_URL}/realms/{short id}`, whichever form of
/// the organization the request named.
pub fn issuer(s: &AppState, org: &Organization) -> String {
    format!(
        "{}/realms/{}",
        s.core.config.public_url.trim_end_matches('/'),
        org.id
    )
}

/// Whether cookies get `Secure` (the public URL is https).
fn secure(s: &AppState) -> bool {
    s.core.config.public_url.starts_with("https://")
}

/// The cookie of the browser's sign-on session in one organization.
fn session_cookie_name(org: &Organization) -> String {
    let id: String = org
        .id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("roster_sso_{id}")
}

/// The cookie that identifies a browser before anyone signs in (what CSRF tokens are bound to).
const BROWSER_COOKIE: &str = "roster_browser";

fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
        .filter(|v| !v.is_empty())
}

/// A `Set-Cookie` value: HttpOnly, SameSite=Lax, Secure on https, scoped to `/realms/`.
fn set_cookie(s: &AppState, name: &str, value: &str, max_age: i64) -> Option<HeaderValue> {
    let secure = if secure(s) { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{name}={value}; Path=/realms/; Max-Age={max_age}; HttpOnly; SameSite=Lax{secure}"
    ))
    .ok()
}

/// `scheme://authority` of an absolute URI (the CSP `form-action` source of a redirect), or
/// nothing when the authority holds a character a CSP source cannot (so that a registered URI
/// can never add a directive to the header).
fn origin_of(uri: &str) -> Option<String> {
    let (scheme, rest) = uri.split_once("://")?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let plain = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']'))
    };
    (plain(scheme) && plain(authority)).then(|| format!("{scheme}://{authority}"))
}

/// `uri` with `params` added to its query.
fn with_params(uri: &str, params: &[(&str, &str)]) -> String {
    let mut q = form_urlencoded::Serializer::new(String::new());
    for (k, v) in params {
        q.append_pair(k, v);
    }
    let sep = if uri.contains('?') { '&' } else { '?' };
    format!("{uri}{sep}{}", q.finish())
}

/// Form or query fields, each named at most once: a repeated parameter is refused (RFC 6749
/// §3.1), so that no two readers of one request can see different values.
fn single_valued(pairs: Vec<(String, String)>) -> Result<Vec<(String, String)>, String> {
    let mut seen = std::collections::HashSet::new();
    for (k, _) in &pairs {
        if !seen.insert(k.as_str()) {
            return Err(k.clone());
        }
    }
    Ok(pairs)
}

fn field<'a>(fields: &'a [(String, String)], name: &str) -> Option<&'a str> {
    fields
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::{origin_of, with_params};

    #[test]
    fn origins_are_plain_or_absent() {
        assert_eq!(
            origin_of("https://app.example.test:8443/cb?x=1").as_deref(),
            Some("https://app.example.test:8443")
        );
        assert_eq!(
            origin_of("http://[::1]:9/cb").as_deref(),
            Some("http://[::1]:9")
        );
        for odd in [
            "https://a;script-src *",
            "https://a'b/",
            "nope",
            "https:///x",
        ] {
            assert_eq!(origin_of(odd), None, "{odd}");
        }
    }

    #[test]
    fn parameters_join_an_existing_query() {
        assert_eq!(
            with_params("https://a/cb", &[("code", "x y")]),
            "https://a/cb?code=x+y"
        );
        assert_eq!(
            with_params("https://a/cb?t=1", &[("code", "c")]),
            "https://a/cb?t=1&code=c"
        );
    }
}
