//! The extractors every surface's handlers take: the caller (authenticated once, by the
//! route's policy layer or here), query pairs and headers, JSON and form bodies reported with the
//! path of a bad field, and path parameters. Their rejections are `ApiError`s, rendered in the
//! shape of the surface that serves the route.

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap};
use roster_domain::core::Context;
use roster_domain::{Error, Location};
use serde::de::DeserializeOwned;

use super::Authenticated;
use crate::error::{ApiError, Result};
use crate::state::AppState;

/// Whether a POST came from an HTML form rather than a JSON client.
pub fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.trim()
                .to_ascii_lowercase()
                .starts_with("application/x-www-form-urlencoded")
        })
}

/// An authenticated caller, already counted against the operation's rate limit by the
/// route's policy layer (which authenticated it: see `crate::surface::Policy`).
pub struct Caller {
    pub ctx: Context,
}

/// The context the policy layer authenticated, else the request's own authentication.
async fn authenticated(parts: &mut Parts, state: &AppState, required: bool) -> Result<Context> {
    if let Some(Authenticated(ctx)) = parts.extensions.remove::<Authenticated>() {
        if required && matches!(ctx.actor, roster_domain::core::Actor::Anonymous) {
            return Err(Error::Unauthenticated.into());
        }
        return Ok(ctx);
    }
    Ok(if required {
        super::caller(state, parts).await?
    } else {
        super::optional_caller(state, parts).await?
    })
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self> {
        Ok(Self {
            ctx: authenticated(parts, state, true).await?,
        })
    }
}

/// A caller that may be anonymous (public endpoints).
pub struct MaybeCaller(pub Context);

impl FromRequestParts<AppState> for MaybeCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self> {
        Ok(Self(authenticated(parts, state, false).await?))
    }
}

/// Query pairs and headers, for handlers that read repeated keys or vendor headers.
pub struct Req {
    pub query: super::Query,
    pub headers: axum::http::HeaderMap,
    pub request_id: String,
    pub client_ip: String,
}

impl FromRequestParts<AppState> for Req {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &AppState) -> Result<Self> {
        Ok(Self {
            query: super::Query::parse(parts),
            headers: parts.headers.clone(),
            request_id: super::request_id(parts),
            client_ip: super::client_ip(parts),
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
        let bytes = super::body_bytes(req, state).await?;
        Ok(Self(super::parse_json(&bytes)?))
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
        let form = is_form(req.headers());
        let bytes = super::body_bytes(req, state).await?;
        if form {
            Ok(Self::Form(
                form_urlencoded::parse(&bytes).into_owned().collect(),
            ))
        } else {
            Ok(Self::Json(super::parse_json(&bytes)?))
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

/// Typed path parameters (`Path<String>`, `Path<(String, String)>`), named by the handler's
/// pattern; one that cannot be read is a 422 (eva: 400) naming the path, in the surface's shape.
pub struct Path<T>(pub T);

impl<T: DeserializeOwned + Send> FromRequestParts<AppState> for Path<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self> {
        let axum::extract::Path(value) = axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map_err(|_| {
                ApiError(Error::field(
                    Location::Path,
                    "",
                    "value_error",
                    "invalid path parameter",
                ))
            })?;
        Ok(Self(value))
    }
}
