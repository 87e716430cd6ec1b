//! Typed answers of documented operations: the status and the body type are in the handler's
//! return type, so the compiler checks that a handler answers what its `#[utoipa::path]`
//! documents (`(status = 201, body = T)` goes with `Reply<201, T>`; a source test,
//! `arch_replies`, checks that each annotation names the type its handler returns).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;

/// A JSON body `T` with the status `STATUS`.
#[derive(Debug)]
pub struct Reply<const STATUS: u16, T>(pub T);

impl<const STATUS: u16, T> Reply<STATUS, T> {
    /// A reply is a success: anything else is an `ApiError`, which the surface renders.
    const SUCCESS: () = assert!(STATUS >= 200 && STATUS < 300, "a Reply's status is a 2xx");
}

impl<const STATUS: u16, T: Serialize> IntoResponse for Reply<STATUS, T> {
    fn into_response(self) -> Response {
        // Evaluated when the type is used, so `Reply<404, _>` does not compile.
        #[allow(clippy::let_unit_value)]
        let () = Self::SUCCESS;
        let status = StatusCode::from_u16(STATUS).unwrap_or(StatusCode::OK);
        (status, Json(self.0)).into_response()
    }
}

/// 204: done, nothing to say.
#[derive(Debug)]
pub struct NoContent;

impl IntoResponse for NoContent {
    fn into_response(self) -> Response {
        StatusCode::NO_CONTENT.into_response()
    }
}
