//! The HTTP surface: the three vendor APIs (one module each), the ingestion API, Roster's own
//! administration API and operations.

pub mod admin;
pub mod admin_clients;
pub mod admin_connections;
pub mod amigo;
pub mod eva;
pub mod events;
pub mod ingest;
pub mod keycloak;
pub mod native;
pub mod oidc;
pub mod oum;
pub mod pages;
pub mod webhooks;

use axum::extract::Path;
use axum::routing::get;
use axum::Router;
use utoipa_axum::router::OpenApiRouter;

use crate::openapi::{docs_page, Documents, AMIGO, EVA, NATIVE, OUM};
use crate::state::AppState;

/// Every route the server answers, and the documents of the published ones.
pub fn router(max_csv_bytes: usize) -> Router<AppState> {
    build(max_csv_bytes).0
}

/// The routes, and the OpenAPI documents generated as they were registered.
pub fn build(max_csv_bytes: usize) -> (Router<AppState>, Documents) {
    let (amigo, amigo_doc) = amigo::router().split_for_parts();
    let (eva, eva_doc) = eva::router(max_csv_bytes).split_for_parts();
    let (oum, oum_doc) = oum::router().split_for_parts();
    let (native, native_doc) = OpenApiRouter::with_openapi(crate::openapi::native_base())
        .merge(admin::router())
        .merge(admin_clients::router())
        .merge(admin_connections::router())
        .merge(events::router())
        .merge(webhooks::router())
        .merge(ingest::router())
        .merge(keycloak::router())
        .merge(native::documented())
        .split_for_parts();
    let docs = Documents::new(vec![
        (AMIGO, amigo_doc),
        (EVA, eva_doc),
        (OUM, oum_doc),
        (NATIVE, native_doc),
    ]);
    let served = docs.clone();
    let router = Router::new()
        .merge(amigo)
        // eva answers under both of its base paths (the document's `servers`).
        .nest("/eva-user", eva.clone())
        .merge(eva)
        .merge(oum)
        .merge(native)
        .merge(native::operations())
        .merge(oidc::router())
        .route("/docs", get(docs_page::page))
        .route("/docs/{file}", get(docs_page::asset))
        .route(
            "/openapi/{file}",
            get(move |Path(file): Path<String>| {
                let docs = served.clone();
                async move {
                    docs.response(&file)
                        .unwrap_or_else(crate::openapi::not_found)
                }
            }),
        );
    (router, docs)
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

/// A field that a surface returns and takes back unread, so that a client can send the body
/// of a `GET` with one field changed (ids, timestamps, computed fields, names of referenced
/// objects). Any JSON value is accepted and dropped; fields that no response has are still
/// refused.
#[derive(Debug, Default, Clone, Copy)]
pub struct ReadOnly;

impl<'de> serde::Deserialize<'de> for ReadOnly {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        serde::de::IgnoredAny::deserialize(d).map(|_| ReadOnly)
    }
}
