//! The Amigo classic User API, mounted at `/v1/{organization}/...`: a thin adapter that parses
//! the vendor's shapes, calls the core, and renders the vendor's shapes and errors.

mod dto;
mod error;
mod links;
mod orgs;
mod roles;
mod users;

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::routing::{get, post};
use axum::Router;
use roster_domain::core::Context;
use roster_domain::{Error, Location};
use serde::de::DeserializeOwned;

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

/// Registers a route with and without its trailing slash, as clients call both.
fn both(
    router: Router<AppState>,
    path: &str,
    method: axum::routing::MethodRouter<AppState>,
) -> Router<AppState> {
    let trimmed = path.trim_end_matches('/');
    router
        .route(trimmed, method.clone())
        .route(&format!("{trimmed}/"), method)
}

pub fn router() -> Router<AppState> {
    let r = Router::new();
    let r = both(
        r,
        "/v1/{org}/organization/",
        get(orgs::get_organization)
            .put(orgs::create_organization)
            .post(orgs::modify_organization)
            .delete(orgs::delete_organization),
    );
    let r = both(
        r,
        "/v1/{org}/organization/api_key/",
        post(orgs::create_api_key).get(orgs::get_api_keys),
    );
    let r = both(
        r,
        "/v1/{org}/organization/api_key/{api_key_id}/",
        axum::routing::delete(orgs::delete_api_key),
    );
    let r = both(r, "/v1/{org}/user/", post(users::invite).get(users::list));
    let r = both(r, "/v1/{org}/user/invite", post(users::invite));
    let r = both(
        r,
        "/v1/{org}/user/signin_with_api_key",
        post(users::sign_in_with_api_key),
    );
    let r = both(r, "/v1/{org}/user/signin", post(users::sign_in_with_email));
    let r = both(
        r,
        "/v1/{org}/user/verify",
        get(links::verify_page).post(links::verify),
    );
    let r = both(
        r,
        "/v1/{org}/user/password-reset",
        get(links::password_reset_page).post(links::complete_password_reset),
    );
    let r = both(
        r,
        "/v1/{org}/user/password-reset/request",
        post(links::request_password_reset),
    );
    let r = both(r, "/v1/{org}/user/search/", get(users::search));
    let r = both(
        r,
        "/v1/{org}/user/{user_id}",
        post(users::update).delete(users::delete),
    );
    let r = both(r, "/v1/{org}/user/{user_id}/user", post(users::update));
    let r = both(
        r,
        "/v1/{org}/user/{user_id}/user_model",
        get(users::user_model),
    );
    let r = both(r, "/v1/{org}/user/{user_id}/memory", get(users::memories));
    let r = both(
        r,
        "/v1/{org}/user/{user_id}/variable",
        post(users::variables),
    );
    let r = both(
        r,
        "/v1/{org}/role/temporary_permission_grant/",
        post(roles::create_grant),
    );
    let r = both(
        r,
        "/v1/{org}/role/temporary_permission_grants/",
        get(roles::list_grants),
    );
    let r = both(r, "/v1/{org}/role/", post(roles::create).get(roles::list));
    let r = both(r, "/v1/{org}/role/{role_name}", post(roles::modify));
    both(r, "/v1/{org}/role/{role_name}/assign", post(roles::assign))
}
