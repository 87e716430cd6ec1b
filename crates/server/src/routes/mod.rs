//! The HTTP surface: the three vendor APIs (one module each), the ingestion API, Roster's own
//! administration API and operations.

pub mod admin;
pub mod admin_clients;
pub mod admin_connections;
pub mod admin_directory;
pub mod amigo;
pub mod eva;
pub mod events;
pub(crate) mod export_file;
pub mod ingest;
pub(crate) mod job_files;
pub mod jobs;
pub mod keycloak;
pub mod links;
pub mod native;
pub mod oidc;
pub mod oum;
mod oum_words;
pub mod pages;
pub mod scim;
pub mod webhooks;

use std::sync::Arc;

use axum::extract::Path;
use axum::http::Method;
use axum::routing::get;
use axum::Router;
use utoipa::openapi::OpenApi;

use crate::openapi::{docs_page, Documents, AMIGO, EVA, NATIVE, OUM};
use crate::state::AppState;
use crate::surface::{Finished, Policy, Registered, SurfaceRouter};

/// Every route the server answers.
pub fn router(max_csv_bytes: usize) -> Router<AppState> {
    build(max_csv_bytes).0
}

/// The documents people read are never refused.
const DOCS_POLICIES: &[(&str, Policy)] = &[
    ("docs", Policy::Open),
    ("docs-asset", Policy::Open),
    ("openapi-document", Policy::Open),
];

/// The routes, the OpenAPI documents generated as they were registered, and every route's
/// surface and rate-limit policy.
pub fn build(max_csv_bytes: usize) -> (Router<AppState>, Documents, Vec<Registered>) {
    let amigo = amigo::router();
    let eva = eva::router(max_csv_bytes);
    let oum = oum::router();
    let native = SurfaceRouter::new(native::SURFACE, crate::openapi::native_base(), &[])
        .merge(admin::router())
        .merge(admin_clients::router())
        .merge(admin_connections::router())
        .merge(admin_directory::router())
        .merge(events::router())
        .merge(webhooks::router())
        .merge(jobs::router())
        .merge(ingest::router())
        .merge(keycloak::router())
        .merge(native::operations())
        .finish();
    let oidc = oidc::router();
    let console = crate::console::router(max_csv_bytes);
    let scim = scim::router();
    // eva's other base path: what no eva route serves under it is still eva's 404.
    let eva_base = SurfaceRouter::new(eva::SURFACE, OpenApi::default(), &[])
        .owns("/eva-user/")
        .finish();
    let shapes = |reg: &[Registered]| {
        reg.iter()
            .map(|r| ((r.method.to_string(), r.path.clone()), r.shape))
            .collect()
    };
    let mut registered = Vec::new();
    let mut owned = Vec::new();
    let mut parts = |f: Finished| {
        let (router, doc) = f.router.split_for_parts();
        registered.extend(f.registered.iter().cloned());
        owned.extend(f.owned);
        (router, doc, f.registered)
    };
    let (amigo, amigo_doc, amigo_reg) = parts(amigo);
    let (eva, eva_doc, eva_reg) = parts(eva);
    let (oum, oum_doc, oum_reg) = parts(oum);
    let (native, native_doc, native_reg) = parts(native);
    let (oidc, _, _) = parts(oidc);
    let (console, _, _) = parts(console);
    let (scim, _, _) = parts(scim);
    let (eva_base, _, _) = parts(eva_base);
    let docs = Documents::new(vec![
        (AMIGO, amigo_doc, shapes(&amigo_reg)),
        (EVA, eva_doc, shapes(&eva_reg)),
        (OUM, oum_doc, shapes(&oum_reg)),
        (NATIVE, native_doc, shapes(&native_reg)),
    ]);
    let served = docs.clone();
    let documents = SurfaceRouter::new(native::SURFACE, OpenApi::default(), DOCS_POLICIES)
        .page("/docs", &[(Method::GET, "docs")], get(docs_page::page))
        .page(
            "/docs/{file}",
            &[(Method::GET, "docs-asset")],
            get(docs_page::asset),
        )
        .page(
            "/openapi/{file}",
            &[(Method::GET, "openapi-document")],
            get(move |Path(file): Path<String>| {
                let docs = served.clone();
                async move {
                    docs.response(&file)
                        .unwrap_or_else(crate::openapi::not_found)
                }
            }),
        )
        .finish();
    registered.extend(documents.registered);
    let owned = Arc::new(owned);
    let router = Router::new()
        .merge(amigo)
        // eva answers under both of its base paths (the document's `servers`).
        .nest("/eva-user", eva.clone())
        .merge(eva)
        .merge(eva_base)
        .merge(oum)
        .merge(native)
        .merge(oidc)
        .merge(console)
        .merge(scim)
        .merge(Router::from(documents.router))
        // A path no route serves: the 404 of the surface owning it, else the native one.
        .fallback(move |req: axum::extract::Request| {
            let owned = owned.clone();
            async move { crate::surface::unmatched(&owned, native::SURFACE, req).await }
        });
    (router, docs, registered)
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

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use axum::routing::get;
    use tower::ServiceExt;
    use tower_http::catch_panic::CatchPanicLayer;

    use crate::surface::{panic_response, Surface};

    async fn boom() -> &'static str {
        panic!("boom secret")
    }

    async fn panicking(surface: Surface, path: &str) -> (StatusCode, serde_json::Value) {
        let router: axum::Router = axum::Router::new()
            .route(path, get(boom))
            .layer(CatchPanicLayer::custom(panic_response))
            .layer(axum::middleware::from_fn(move |req, next| {
                surface.around(req, next)
            }));
        let resp = router
            .oneshot(Request::get(path).body(Body::empty()).expect("request"))
            .await
            .expect("answered");
        let status = resp.status();
        let bytes = axum::body::to_bytes(resp.into_body(), 1 << 16)
            .await
            .expect("body");
        (status, serde_json::from_slice(&bytes).expect("JSON"))
    }

    #[tokio::test]
    async fn a_panic_answers_in_the_shape_of_its_surface() {
        let (status, eva) = panicking(super::eva::SURFACE, "/org/x/users").await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(eva["errorType"], "API_ERROR");
        assert_eq!(eva["path"], "/org/x/users");
        assert!(!eva.to_string().contains("secret"));
        let (status, amigo) = panicking(super::amigo::SURFACE, "/v1/acme/user/").await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(amigo["detail"], "Internal server error.");
    }
}
