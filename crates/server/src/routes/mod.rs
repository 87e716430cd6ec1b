//! The HTTP surface: the three vendor APIs (one module each), the ingestion API, Roster's own
//! administration API and operations.

pub mod admin;
pub mod amigo;
pub mod eva;
pub mod ingest;
pub mod keycloak;
pub mod native;
pub mod oum;
pub mod pages;

use axum::Router;

use crate::state::AppState;

pub fn router(max_csv_bytes: usize) -> Router<AppState> {
    Router::new()
        .merge(admin::router())
        .merge(amigo::router())
        .merge(eva::router(max_csv_bytes))
        .merge(keycloak::router())
        .merge(ingest::router())
        .merge(native::router())
        .merge(oum::router())
}

/// Which surface a path belongs to, for error shapes and metrics.
pub fn surface_of(path: &str) -> &'static str {
    if path.starts_with("/v1/") {
        "amigo"
    } else if path.starts_with("/ingest/") {
        "ingest"
    } else if path.starts_with("/eva-user/")
        || path.starts_with("/org/")
        || path.starts_with("/realms/")
        || path.starts_with("/auth/")
    {
        "eva"
    } else if path.starts_with("/organization") || path.starts_with("/users") {
        "oum"
    } else {
        "native"
    }
}
