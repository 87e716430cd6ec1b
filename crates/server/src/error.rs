//! One error type for every handler. It is rendered by the layer of the surface whose router
//! served the request (`crate::surface`), so the same error reads as FastAPI's `{"detail"}` on
//! Amigo and eva's `StandardError` on eva without the handler knowing which it is.

use std::sync::Arc;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use roster_domain::Error;

#[derive(Debug)]
pub struct ApiError(pub Error);

pub type Result<T> = std::result::Result<T, ApiError>;

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

/// A handler's error on its way to the surface layer that renders it.
#[derive(Debug, Clone)]
pub struct Unrendered(pub Arc<Error>);

impl IntoResponse for ApiError {
    /// An empty 500 carrying the error: every route runs inside a surface layer (and the
    /// server's fallback inside the native one), which replaces it with the surface's body.
    fn into_response(self) -> Response {
        let mut resp = StatusCode::INTERNAL_SERVER_ERROR.into_response();
        resp.extensions_mut().insert(Unrendered(Arc::new(self.0)));
        resp
    }
}
