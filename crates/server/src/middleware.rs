//! Cross-cutting request handling: request ids, client addresses, access logs, metrics, and the
//! request scope of deferred work. What depends on the surface (error shapes, maintenance mode,
//! rate limits) is in the surface's own layers (`crate::surface`).

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;

use crate::error::Unrendered;
use crate::extract::RequestId;
use crate::state::AppState;
use crate::surface::{Answered, Unmatched};

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
    // The surface layers read the maintenance switch and the limits from the state.
    req.extensions_mut().insert(state.clone());
    let span = tracing::info_span!("request", request_id = %rid, %method, %path);
    let inner_span = span.clone();
    let mut resp = roster_domain::core::request_scope(next.run(req).instrument(inner_span)).await;
    // Only a panic outside every surface's layer leaves an error unrendered: the native shape.
    if let Some(Unrendered(e)) = resp.extensions_mut().remove::<Unrendered>() {
        resp = crate::routes::native::SURFACE.error_response(&e, &path);
    }
    let surface = resp
        .extensions()
        .get::<Answered>()
        .map_or("native", |a| a.0);
    let route = if resp.extensions().get::<Unmatched>().is_some() {
        std::sync::Arc::from(crate::metrics::UNMATCHED)
    } else {
        route
    };
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
