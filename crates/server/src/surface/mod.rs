//! What makes a set of routes a surface: the shape of its error bodies, whether maintenance mode
//! closes it, its metrics label, and a rate-limit policy for each of its operations. A surface's
//! router carries all of them as layers ([`SurfaceRouter`]), so the router alone decides how a
//! request is answered: no handler renders its own errors or counts its own limit, and nothing
//! matches the path a second time.

mod policy;
mod router;

use axum::extract::{OriginalUri, Request};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Uri};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use roster_domain::Error;
use serde_json::Value;

pub use policy::Policy;
pub use router::{Finished, Registered, SurfaceRouter};

use crate::error::Unrendered;
use crate::openapi::errors::Shape;
use crate::state::AppState;

/// How a surface renders a domain error: a status and a JSON body, given the request's path.
pub type Render = fn(&Error, &str) -> (StatusCode, Value);

/// `Retry-After` on the answer to a rate limit or an unavailability, in whatever shape.
pub fn with_retry_after(resp: &mut Response, e: &Error) {
    if let Error::RateLimited {
        retry_after_secs, ..
    }
    | Error::Unavailable {
        retry_after_secs, ..
    } = e
    {
        resp.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(*retry_after_secs));
    }
}

/// How a surface renders, as a page, an error on a route a browser opens (`None`: not such a
/// route), given the request's URI and headers.
pub type PageRender = fn(&Error, &Uri, &HeaderMap) -> Option<Response>;

/// The layer of [`SurfaceRouter::pages`]: inside the surface's, so that it sees errors before
/// they are rendered in the surface's shape.
async fn pages_around(render: PageRender, req: Request, next: Next) -> Response {
    let uri = req
        .extensions()
        .get::<OriginalUri>()
        .map(|u| u.0.clone())
        .unwrap_or_else(|| req.uri().clone());
    let headers = req.headers().clone();
    let resp = next.run(req).await;
    if let Some(Unrendered(e)) = resp.extensions().get::<Unrendered>() {
        if let Some(page) = render(e, &uri, &headers) {
            if let Error::Internal(cause) = &**e {
                tracing::error!(error = ?cause, "request failed");
            }
            return page;
        }
    }
    resp
}

/// One way in.
#[derive(Clone, Copy)]
pub struct Surface {
    /// The metrics label (`roster_http_requests_total{surface=...}`).
    pub name: &'static str,
    pub render: Render,
    /// The error schemas its OpenAPI operations list.
    pub shape: Shape,
    /// Whether maintenance mode answers its requests with 503 (probes keep answering).
    pub closes_for_maintenance: bool,
}

impl std::fmt::Debug for Surface {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name)
    }
}

/// The surface that answered, left on the response for the access log and the metrics.
#[derive(Debug, Clone, Copy)]
pub struct Answered(pub &'static str);

/// A response for a path no route serves (the metrics label it `unmatched`).
#[derive(Debug, Clone, Copy)]
pub struct Unmatched;

impl Surface {
    /// `e` as this surface answers it on `path`, with `Retry-After` and `WWW-Authenticate`.
    pub fn error_response(&self, e: &Error, path: &str) -> Response {
        if let Error::Internal(cause) = e {
            tracing::error!(error = ?cause, "request failed");
        }
        let (status, body) = (self.render)(e, path);
        let mut resp = (status, Json(body)).into_response();
        with_retry_after(&mut resp, e);
        if status == StatusCode::UNAUTHORIZED {
            resp.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        resp
    }

    /// A response whose error is still to be rendered gets this surface's shape.
    fn finish(&self, path: &str, mut resp: Response) -> Response {
        if let Some(Unrendered(e)) = resp.extensions_mut().remove::<Unrendered>() {
            let marks = resp.extensions().get::<Unmatched>().copied();
            resp = self.error_response(&e, path);
            if let Some(m) = marks {
                resp.extensions_mut().insert(m);
            }
        }
        resp.extensions_mut().insert(Answered(self.name));
        resp
    }

    /// The layer every route of this surface runs in: maintenance mode, panics and errors
    /// answered in this surface's shape.
    pub async fn around(self, req: Request, next: Next) -> Response {
        self.serve(req, |req| next.run(req)).await
    }

    async fn serve<F, Fut>(self, req: Request, inner: F) -> Response
    where
        F: FnOnce(Request) -> Fut,
        Fut: std::future::Future<Output = Response>,
    {
        // Nested routers see their own part of the path; the body names the whole of it.
        let path = req
            .extensions()
            .get::<OriginalUri>()
            .map(|u| u.0.path().to_owned())
            .unwrap_or_else(|| req.uri().path().to_owned());
        let maintenance = self.closes_for_maintenance
            && req
                .extensions()
                .get::<AppState>()
                .is_some_and(AppState::in_maintenance);
        if maintenance {
            let e = Error::Unavailable {
                retry_after_secs: 60,
                cause: roster_domain::error::Unavailability::Maintenance,
            };
            return self.finish(&path, crate::error::ApiError(e).into_response());
        }
        let resp = inner(req).await;
        self.finish(&path, resp)
    }
}

/// A panic becomes an opaque 500 (in the shape of the surface that catches it); the cause is
/// logged with the request id.
pub fn panic_response(err: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let cause = err
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| err.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default();
    crate::error::ApiError(Error::Internal(anyhow::anyhow!(
        "handler panicked: {cause}"
    )))
    .into_response()
}

/// The server's fallback: a path no route serves gets `Not Found` in the shape of the surface
/// owning the longest prefix of it (from each surface's [`SurfaceRouter::owns`]), else of
/// `default`.
pub async fn unmatched(owned: &[(String, Surface)], default: Surface, req: Request) -> Response {
    let path = req.uri().path();
    let surface = owned
        .iter()
        .filter(|(prefix, _)| path.starts_with(prefix.as_str()))
        .max_by_key(|(prefix, _)| prefix.len())
        .map_or(default, |(_, s)| *s);
    surface
        .serve(req, |_| async {
            let mut resp = crate::error::ApiError(Error::NotFound("route")).into_response();
            resp.extensions_mut().insert(Unmatched);
            resp
        })
        .await
}
