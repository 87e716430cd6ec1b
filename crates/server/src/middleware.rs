//! Cross-cutting request handling: request ids, maintenance mode, metrics, access logs, panics.

use std::time::Instant;

use axum::body::Body;
use axum::extract::{MatchedPath, Request, State};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use roster_domain::Error;
use tracing::Instrument;

use crate::error::{ApiError, REQUEST_PATH};
use crate::extract::RequestId;
use crate::routes::surface_of;
use crate::state::AppState;

const OPS_PATHS: &[&str] = &["/healthz", "/readyz", "/metrics", "/.well-known/jwks.json"];

/// A client's request id if it is sane (visible ASCII, at most 128 bytes), else a new one.
fn request_id(req: &Request) -> String {
    req.headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 128 && v.bytes().all(|b| b.is_ascii_graphic()))
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string())
}

pub async fn around(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let started = Instant::now();
    let rid = request_id(&req);
    let path = req.uri().path().to_owned();
    let method = req.method().clone();
    let surface = surface_of(&path);
    // The route template labels the metrics: the raw path would carry user ids.
    let route: std::sync::Arc<str> = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| std::sync::Arc::from(m.as_str()))
        .unwrap_or_else(|| std::sync::Arc::from(crate::metrics::UNMATCHED));
    req.extensions_mut().insert(RequestId(rid.clone()));
    let peer = req
        .extensions()
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip());
    let client = crate::extract::resolve_client_ip(peer, req.headers(), &state.trusted_proxies);
    req.extensions_mut()
        .insert(crate::extract::ClientIp(client));
    let span = tracing::info_span!("request", request_id = %rid, %method, %path);
    let inner_span = span.clone();
    let maintenance = state.in_maintenance() && !OPS_PATHS.contains(&path.as_str());
    // Errors render in the shape of the path's surface; the path travels in a task-local.
    let mut resp = REQUEST_PATH
        .scope(path.clone(), async move {
            if maintenance {
                ApiError(Error::Unavailable {
                    retry_after_secs: 60,
                    cause: roster_domain::error::Unavailability::Maintenance,
                })
                .into_response()
            } else {
                roster_domain::core::request_scope(next.run(req).instrument(inner_span)).await
            }
        })
        .await;
    // What this request wrote reaches the other nodes before its answer reaches the client.
    if let Some(redis) = &state.redis {
        redis.publish_writes().await;
    }
    if let Ok(v) = HeaderValue::from_str(&rid) {
        resp.headers_mut().insert("x-request-id", v);
    }
    let status = resp.status();
    let elapsed = started.elapsed();
    state.metrics.observe(
        surface,
        crate::metrics::method_label(&method),
        route,
        status.as_u16(),
        elapsed,
    );
    span.in_scope(|| {
        tracing::info!(
            status = status.as_u16(),
            elapsed_ms = elapsed.as_secs_f64() * 1e3,
            "request"
        )
    });
    resp
}

/// A request for which no route matches, in the shape of its surface.
pub async fn not_found(req: Request<Body>) -> Response {
    let path = req.uri().path().to_owned();
    REQUEST_PATH
        .scope(path, async {
            ApiError(Error::NotFound("route")).into_response()
        })
        .await
}

/// A panic becomes an opaque 500 in the shape of the request's surface (an eva client gets a
/// `StandardError`, as its OpenAPI document says); the cause is logged with the request id.
pub fn panic_response(err: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let cause = err
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| err.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default();
    ApiError(Error::Internal(anyhow::anyhow!(
        "handler panicked: {cause}"
    )))
    .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::StatusCode;

    async fn body_of(resp: Response) -> serde_json::Value {
        let bytes = axum::body::to_bytes(resp.into_body(), 1 << 16)
            .await
            .expect("body");
        serde_json::from_slice(&bytes).expect("JSON")
    }

    #[tokio::test]
    async fn a_panic_answers_in_the_shape_of_its_surface() {
        let eva = REQUEST_PATH.sync_scope("/org/x/users".into(), || {
            panic_response(Box::new("boom secret"))
        });
        assert_eq!(eva.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let body = body_of(eva).await;
        assert_eq!(body["errorType"], "API_ERROR");
        assert!(!body.to_string().contains("secret"));
        let amigo = REQUEST_PATH.sync_scope("/v1/acme/user/".into(), || {
            panic_response(Box::new(String::from("boom")))
        });
        assert_eq!(body_of(amigo).await["detail"], "Internal server error.");
    }
}
