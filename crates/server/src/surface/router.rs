//! [`SurfaceRouter`]: the only way a surface registers routes, so that each gets its surface's
//! layer and its operation's rate-limit policy.

use std::sync::Arc;

use axum::http::Method;
use axum::routing::MethodRouter;
use tower_http::catch_panic::CatchPanicLayer;
use utoipa::openapi::path::PathItem;
use utoipa::openapi::OpenApi;
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouter};

use super::policy::{charge, Policy};
use super::{pages_around, panic_response, PageRender, Surface};
use crate::openapi::errors::Shape;
use crate::state::AppState;

/// A route as registered: what the policy test and the documents' error responses read.
#[derive(Debug, Clone)]
pub struct Registered {
    pub surface: &'static str,
    pub shape: Shape,
    pub method: Method,
    /// The path template, as the surface's router matches it.
    pub path: String,
    /// The operation id (documented routes), or the name the policy table gives a page.
    pub operation: String,
    pub documented: bool,
    /// `None` when the surface's table has no entry for the operation (the test refuses that).
    pub policy: Option<Policy>,
}

/// A surface's routes with its layers, what was registered, and the path prefixes it owns.
pub struct Finished {
    pub router: OpenApiRouter<AppState>,
    pub registered: Vec<Registered>,
    /// Paths under these prefixes that no route matches get this surface's 404.
    pub owned: Vec<(String, Surface)>,
}

/// A surface's routes, its document, and its policy table keyed by operation id.
pub struct SurfaceRouter {
    surface: Surface,
    policies: &'static [(&'static str, Policy)],
    inner: OpenApiRouter<AppState>,
    registered: Vec<Registered>,
    owned: Vec<(String, Surface)>,
    /// Other surfaces' routes published in this document, already layered.
    merged: Vec<OpenApiRouter<AppState>>,
    /// Renders, as a page, an error no handler rendered on a route a browser opens.
    pages: Option<PageRender>,
}

fn operations(item: &PathItem) -> Vec<(Method, String)> {
    [
        (Method::GET, &item.get),
        (Method::PUT, &item.put),
        (Method::POST, &item.post),
        (Method::DELETE, &item.delete),
        (Method::PATCH, &item.patch),
    ]
    .into_iter()
    .filter_map(|(m, op)| {
        op.as_ref()
            .map(|op| (m, op.operation_id.clone().unwrap_or_default()))
    })
    .collect()
}

/// The same path with its trailing slash added or removed.
pub fn slash_twin(path: &str) -> String {
    match path.strip_suffix('/') {
        Some(trimmed) => trimmed.to_owned(),
        None => format!("{path}/"),
    }
}

impl SurfaceRouter {
    pub fn new(
        surface: Surface,
        document: OpenApi,
        policies: &'static [(&'static str, Policy)],
    ) -> Self {
        Self {
            surface,
            policies,
            inner: OpenApiRouter::with_openapi(document),
            registered: Vec::new(),
            owned: Vec::new(),
            merged: Vec::new(),
            pages: None,
        }
    }

    fn policy(&self, operation: &str) -> Option<Policy> {
        self.policies
            .iter()
            .find(|(op, _)| *op == operation)
            .map(|(_, p)| *p)
    }

    /// `method` with the policy layer of `ops` (method, operation), recorded at `paths`.
    fn limited(
        &mut self,
        method: MethodRouter<AppState>,
        ops: &[(Method, String)],
        paths: &[(String, bool)],
    ) -> MethodRouter<AppState> {
        let mut table = Vec::new();
        for (m, op) in ops {
            let policy = self.policy(op);
            if let Some(p) = policy {
                table.push((m.clone(), p));
            }
            for (path, documented) in paths {
                self.registered.push(Registered {
                    surface: self.surface.name,
                    shape: self.surface.shape,
                    method: m.clone(),
                    path: path.clone(),
                    operation: op.clone(),
                    documented: *documented,
                    policy,
                });
            }
        }
        let table = Arc::new(table);
        method.layer(axum::middleware::from_fn(move |req, next| {
            charge(table.clone(), req, next)
        }))
    }

    /// Documented operations (`utoipa_axum::routes!`), each under its policy.
    pub fn routes(self, r: UtoipaMethodRouter<AppState>) -> Self {
        self.register(r, false)
    }

    /// Documented operations, also served undocumented at their path's slash twin (Amigo's
    /// clients call both).
    pub fn routes_and_twins(self, r: UtoipaMethodRouter<AppState>) -> Self {
        self.register(r, true)
    }

    fn register(
        mut self,
        (schemas, paths, method): UtoipaMethodRouter<AppState>,
        twins: bool,
    ) -> Self {
        let mut ops = Vec::new();
        let mut at = Vec::new();
        for (path, item) in &paths.paths {
            ops.extend(operations(item));
            at.push((path.clone(), true));
            if twins {
                at.push((slash_twin(path), false));
            }
        }
        let method = self.limited(method, &ops, &at);
        let mut inner = self.inner.routes((schemas, paths, method.clone()));
        for (path, documented) in &at {
            if !documented {
                inner = inner.route(path, method.clone());
            }
        }
        self.inner = inner;
        self
    }

    /// Routes that are not API operations (HTML pages, probes, the OpenID provider's endpoints),
    /// each method named in the policy table by `ops`.
    pub fn page(
        mut self,
        path: &str,
        ops: &[(Method, &str)],
        method: MethodRouter<AppState>,
    ) -> Self {
        let ops: Vec<(Method, String)> = ops
            .iter()
            .map(|(m, o)| (m.clone(), (*o).to_owned()))
            .collect();
        let method = self.limited(method, &ops, &[(path.to_owned(), false)]);
        self.inner = self.inner.route(path, method);
        self
    }

    /// An HTML page at `path` and at its slash twin.
    pub fn page_and_twin(
        self,
        path: &str,
        ops: &[(Method, &str)],
        method: MethodRouter<AppState>,
    ) -> Self {
        let twin = slash_twin(path);
        self.page(path, ops, method.clone())
            .page(&twin, ops, method)
    }

    /// Unmatched paths under `prefix` are this surface's: their 404 has its shape. (The router
    /// cannot hold a catch-all beside a path parameter, so the server's fallback reads these.)
    pub fn owns(mut self, prefix: &str) -> Self {
        self.owned.push((prefix.to_owned(), self.surface));
        self
    }

    /// Errors that no handler rendered (a rate limit, a panic) on the routes a browser opens
    /// become the page `render` makes (it answers `None` for the other routes, which get the
    /// surface's shape).
    pub fn pages(mut self, render: PageRender) -> Self {
        self.pages = Some(render);
        self
    }

    /// Another surface's routes, published in this surface's document.
    pub fn merge(mut self, other: Finished) -> Self {
        self.merged.push(other.router);
        self.registered.extend(other.registered);
        self.owned.extend(other.owned);
        self
    }

    /// The routes with this surface's layer, and what was registered.
    pub fn finish(self) -> Finished {
        let surface = self.surface;
        let mut router = self.inner.layer(CatchPanicLayer::custom(panic_response));
        if let Some(render) = self.pages {
            router = router.layer(axum::middleware::from_fn(move |req, next| {
                pages_around(render, req, next)
            }));
        }
        let router = router.layer(axum::middleware::from_fn(move |req, next| {
            surface.around(req, next)
        }));
        Finished {
            router: self.merged.into_iter().fold(router, |r, m| r.merge(m)),
            registered: self.registered,
            owned: self.owned,
        }
    }
}
