//! Operations endpoints: health, readiness, JWKS and metrics. They answer during maintenance.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;
use std::time::Duration;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::metrics::DbGauges;

use crate::state::AppState;

/// Health, readiness and metrics: for the operator's probes, not in any API document.
pub fn operations() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
}

/// The JWKS, in the native document.
pub fn documented() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(jwks))
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
