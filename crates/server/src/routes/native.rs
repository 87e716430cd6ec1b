//! Operations endpoints: health, readiness, JWKS and metrics. They answer during maintenance.

use axum::extract::State;
use axum::http::{header, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Json;
use serde_json::json;
use std::time::Duration;
use utoipa::openapi::OpenApi;
use utoipa::ToSchema;
use utoipa_axum::routes;

use crate::metrics::DbGauges;
use crate::openapi::errors::Shape;
use crate::state::AppState;
use crate::surface::{Finished, Policy, Surface, SurfaceRouter};

/// Roster's own APIs (administration, events, webhooks, OIDC clients): FastAPI-shaped errors.
pub const SURFACE: Surface = Surface {
    name: "native",
    render: super::amigo::render,
    shape: Shape::FastApi,
    closes_for_maintenance: true,
};

/// The probes and the JWKS: they answer during maintenance.
pub const OPERATIONS: Surface = Surface {
    closes_for_maintenance: false,
    ..SURFACE
};

/// A balancer, a scraper and a token verifier must always get an answer.
const POLICIES: &[(&str, Policy)] = &[
    ("healthz", Policy::Open),
    ("readyz", Policy::Open),
    ("metrics", Policy::Open),
    ("jwks", Policy::Open),
];

/// Health, readiness and metrics (for the operator's probes, not in any API document), and
/// the JWKS (in the native document).
pub fn operations() -> Finished {
    SurfaceRouter::new(OPERATIONS, OpenApi::default(), POLICIES)
        .page("/healthz", &[(Method::GET, "healthz")], get(healthz))
        .page("/readyz", &[(Method::GET, "readyz")], get(readyz))
        .page("/metrics", &[(Method::GET, "metrics")], get(metrics))
        .routes(routes!(jwks))
        .finish()
}

/// A JSON Web Key Set.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct Jwks {
    /// The public keys (RFC 7517 JWKs) that verify access tokens, the current one first.
    #[schema(value_type = Vec<Object>)]
    keys: Vec<serde_json::Value>,
}

/// The process is up.
async fn healthz() -> Response {
    Json(json!({ "status": "ok" })).into_response()
}

/// The database answers and its migrations are current. Redis, when configured, is reported but
/// does not make the node unready: without it the node still answers correctly (per-node rate
/// limits, no cache), and every node would be taken out of the balancer at once.
async fn readyz(State(s): State<AppState>) -> Response {
    let db = s.core.store.ping().await.is_ok();
    let mut migrations = db;
    for (_, cluster) in s.clusters.iter() {
        migrations = migrations && cluster.migrations_current().await.unwrap_or(false);
    }
    let status = if db && migrations {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let mut body = json!({ "database": db, "migrations_current": migrations, "maintenance": s.in_maintenance() });
    if let Some(redis) = &s.redis {
        body["redis"] = json!(redis.ping().await);
    }
    (status, Json(body)).into_response()
}

/// The public keys that verify Roster's tokens.
#[utoipa::path(
    get,
    path = "/.well-known/jwks.json",
    operation_id = "jwks",
    tag = "Tokens",
    responses(
        (status = 200, description = "The key set", body = Jwks),
        (status = 500, description = "Unexpected error", body = crate::openapi::HttpError)
    ),
    security(())
)]
async fn jwks(State(s): State<AppState>) -> Response {
    (
        [(header::CACHE_CONTROL, "public, max-age=300")],
        Json(s.keys.jwks()),
    )
        .into_response()
}

/// Prometheus metrics. The outbox depth is counted at scrape time, bounded so that a slow database
/// leaves the gauge out rather than the scrape hanging.
async fn metrics(State(s): State<AppState>) -> Response {
    let outbox = tokio::time::timeout(Duration::from_secs(2), s.db.outbox_depth()).await;
    let gauges = DbGauges {
        outbox_pending: outbox.ok().and_then(Result::ok),
        pools: s.db.pool_stats(),
    };
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        s.metrics.render(&gauges),
    )
        .into_response()
}
