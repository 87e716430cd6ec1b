//! The Amigo classic User API, mounted at `/v1/{organization}/...`: a thin adapter that parses
//! the vendor's shapes, calls the core, and renders the vendor's shapes and errors.

mod dto;
mod error;
pub(crate) mod links;
mod orgs;
mod roles;
mod users;

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::routing::get;
use roster_domain::core::Context;
use roster_domain::{Error, Location};
use serde::de::DeserializeOwned;
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouter};
use utoipa_axum::routes;

pub use crate::error::ApiError;
pub use error::render;

use crate::extract;
use crate::state::AppState;

pub type Result<T> = std::result::Result<T, ApiError>;

/// An authenticated Amigo caller, counted against the operation's rate limit by [`Caller::limit`].
pub struct Caller {
    pub ctx: Context,
    rate_key: String,
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self> {
        let ctx = extract::caller(state, parts).await?;
        let rate_key = extract::rate_key(&ctx, parts);
        Ok(Self { ctx, rate_key })
    }
}

impl Caller {
    pub async fn limit(&self, state: &AppState, operation: &str) -> Result<()> {
        Ok(state.limits.check(operation, &self.rate_key).await?)
    }

    /// The key this caller's requests are counted under.
    pub fn key(&self) -> &str {
        &self.rate_key
    }
}

/// A caller that may be anonymous (public endpoints).
pub struct MaybeCaller(pub Context, pub String);

impl FromRequestParts<AppState> for MaybeCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self> {
        let ctx = extract::optional_caller(state, parts).await?;
        let key = extract::rate_key(&ctx, parts);
        Ok(Self(ctx, key))
    }
}

/// Query pairs and headers, for handlers that read repeated keys or vendor headers.
pub struct Req {
    pub query: extract::Query,
    pub headers: axum::http::HeaderMap,
    pub request_id: String,
    pub client_ip: String,
}

impl FromRequestParts<AppState> for Req {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &AppState) -> Result<Self> {
        Ok(Self {
            query: extract::Query::parse(parts),
            headers: parts.headers.clone(),
            request_id: extract::request_id(parts),
            client_ip: extract::client_ip(parts),
        })
    }
}

impl Req {
    /// A required header, reported like FastAPI does when it is missing.
    pub fn header(&self, name: &str) -> Result<String> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
            .ok_or_else(|| Error::field(Location::Header, name, "missing", "Field required").into())
    }
}

/// A JSON body in the vendor's shape; malformed bodies get the same 422 as any bad field.
pub struct Body<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for Body<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self> {
        let bytes = extract::body_bytes(req, state).await?;
        Ok(Self(extract::parse_json(&bytes)?))
    }
}

/// The body of an endpoint that both JSON clients and the HTML form of a landing page post to.
pub enum Submitted<T> {
    Json(T),
    /// The form's fields; the handler answers with a page.
    Form(Vec<(String, String)>),
}

impl<T: DeserializeOwned> FromRequest<AppState> for Submitted<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self> {
        let form = crate::routes::pages::is_form(req.headers());
        let bytes = extract::body_bytes(req, state).await?;
        if form {
            Ok(Self::Form(
                form_urlencoded::parse(&bytes).into_owned().collect(),
            ))
        } else {
            Ok(Self::Json(extract::parse_json(&bytes)?))
        }
    }
}

/// One field of a submitted form (empty when absent).
pub fn form_field(fields: &[(String, String)], name: &str) -> String {
    fields
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.clone())
        .unwrap_or_default()
}

/// The path parameters, as strings.
pub struct PathArgs(pub Vec<String>);

impl FromRequestParts<AppState> for PathArgs {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self> {
        let params = axum::extract::RawPathParams::from_request_parts(parts, state)
            .await
            .map_err(|_| {
                ApiError(Error::field(
                    Location::Path,
                    "",
                    "value_error",
                    "invalid path parameter",
                ))
            })?;
        Ok(Self(params.iter().map(|(_, v)| v.to_owned()).collect()))
    }
}

type Routes = OpenApiRouter<AppState>;

/// The same path with its trailing slash added or removed.
fn slash_twin(path: &str) -> String {
    match path.strip_suffix('/') {
        Some(trimmed) => trimmed.to_owned(),
        None => format!("{path}/"),
    }
}

/// Registers documented operations at their path and, undocumented, at its slash twin, as
/// clients call both.
fn both(router: Routes, (schemas, paths, method): UtoipaMethodRouter<AppState>) -> Routes {
    let twins: Vec<String> = paths.paths.keys().map(|p| slash_twin(p)).collect();
    let router = router.routes((schemas, paths, method.clone()));
    twins
        .iter()
        .fold(router, |r, twin| r.route(twin, method.clone()))
}

/// An HTML landing page (a GET that emailed links open): served, not in the API document.
fn page(router: Routes, path: &str, method: axum::routing::MethodRouter<AppState>) -> Routes {
    router
        .route(path, method.clone())
        .route(&slash_twin(path), method)
}

/// The Amigo surface with its document.
pub fn router() -> Routes {
    let r = OpenApiRouter::with_openapi(crate::openapi::amigo_base());
    let r = both(
        r,
        routes!(
            orgs::get_organization,
            orgs::create_organization,
            orgs::modify_organization,
            orgs::delete_organization
        ),
    );
    let r = both(r, routes!(orgs::create_api_key, orgs::get_api_keys));
    let r = both(r, routes!(orgs::delete_api_key));
    let r = both(r, routes!(users::invite, users::list));
    let r = both(r, routes!(users::invite_at_invite));
    let r = both(r, routes!(users::sign_in_with_api_key));
    let r = both(r, routes!(users::sign_in_with_email));
    let r = both(r, routes!(links::verify));
    let r = page(r, "/v1/{organization}/user/verify", get(links::verify_page));
    let r = both(r, routes!(links::complete_password_reset));
    let r = page(
        r,
        "/v1/{organization}/user/password-reset",
        get(links::password_reset_page),
    );
    let r = both(r, routes!(links::request_password_reset));
    let r = both(r, routes!(users::search));
    let r = both(r, routes!(users::update, users::delete));
    let r = both(r, routes!(users::update_at_user));
    let r = both(r, routes!(users::user_model));
    let r = both(r, routes!(users::memories));
    let r = both(r, routes!(users::variables));
    let r = both(r, routes!(roles::create_grant));
    let r = both(r, routes!(roles::list_grants));
    let r = both(r, routes!(roles::create, roles::list));
    let r = both(r, routes!(roles::modify));
    both(r, routes!(roles::assign))
}
