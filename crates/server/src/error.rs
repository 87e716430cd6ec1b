//! One error type for every handler, rendered in the shape of the surface the request's path
//! belongs to: Amigo and org-user-management FastAPI-style, eva `StandardError`/`ValidationError`.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use roster_domain::Error;

use crate::routes::{amigo, eva, surface_of};

tokio::task_local! {
    /// The path of the request being answered, set by the request middleware.
    pub static REQUEST_PATH: String;
}

#[derive(Debug)]
pub struct ApiError(pub Error);

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        Self(e)
    }
}

impl From<roster_domain::store::StoreError> for ApiError {
    fn from(e: roster_domain::store::StoreError) -> Self {
        Self(e.into())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let Error::Internal(cause) = &self.0 {
            tracing::error!(error = ?cause, "request failed");
        }
        let path = REQUEST_PATH.try_with(Clone::clone).unwrap_or_default();
        let (status, body) = match surface_of(&path) {
            "eva" => eva::render(&self.0, &path),
            _ => amigo::render(&self.0),
        };
        let mut resp = (status, Json(body)).into_response();
        if let Error::RateLimited {
            retry_after_secs, ..
        }
        | Error::Unavailable {
            retry_after_secs, ..
        } = &self.0
        {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(*retry_after_secs));
        }
        if status == StatusCode::UNAUTHORIZED {
            resp.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        resp
    }
}
