//! The OpenAPI documents of the surfaces, generated from the handlers' `#[utoipa::path]`
//! annotations as `utoipa_axum::routes!` registers them (so routing and documentation cannot
//! drift), served at `/openapi/{amigo,eva,oum,native}.json`, with the `/docs` page.

pub mod docs_page;
pub mod errors;
pub mod params;
pub mod vendor;

use std::sync::Arc;

use axum::body::Bytes;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde_json::{json, Map, Value};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::{Components, ObjectBuilder, OpenApi, RefOr, Schema};

pub use errors::{EvaError, EvaValidationError, HttpError, HttpValidationError, OAuthError};

/// One published document: its file name (`/openapi/{name}.json`), title and surface.
#[derive(Debug, Clone, Copy)]
pub struct Spec {
    pub name: &'static str,
    pub title: &'static str,
    pub description: &'static str,
    /// Base paths the document's paths are served under (OpenAPI `servers`).
    pub servers: &'static [&'static str],
}

pub const AMIGO: Spec = Spec {
    name: "amigo",
    title: "Amigo classic User API (Roster)",
    description: "The Amigo classic User API as Roster serves it, under `/v1/{organization}/`. \
        Paths, parameters and component schemas are the vendor's; errors are FastAPI-shaped \
        (`{\"detail\": ...}`). Every path is also served with its trailing slash added or \
        removed. Operations tagged `Roster` are Roster's additions (emailed links, seed aliases).",
    servers: &["/"],
};

pub const EVA: Spec = Spec {
    name: "eva",
    title: "eva-user API (Roster)",
    description: "The eva-user API, served at two base paths: `/org/{orgUUID}/...` and \
        `/eva-user/org/{orgUUID}/...` (the `servers` of this document). Errors are eva's \
        `StandardError` / `ValidationError`. Tokens come from the Keycloak-compatible token \
        endpoint in the `native` document.",
    servers: &["/", "/eva-user"],
};

pub const OUM: Spec = Spec {
    name: "oum",
    title: "org-user-management API (Roster)",
    description: "The org-user-management API: the caller's organization and profile, members, \
        roles and invitations. Errors are FastAPI-shaped (`{\"detail\": ...}`).",
    servers: &["/"],
};

pub const NATIVE: Spec = Spec {
    name: "native",
    title: "Roster native API: administration, ingestion and tokens",
    description: "Roster's own endpoints: the audit log (`/admin/v1`), the ingestion API for \
        the conversation platform (`/ingest/v1`, bearer `ROSTER_INGEST_TOKEN`), the \
        Keycloak-compatible token endpoint eva clients sign in with (OAuth2 errors), and the \
        JWKS that verifies Roster's tokens.",
    servers: &["/"],
};

/// Every published document, in the order the `/docs` page offers them.
pub const SPECS: [Spec; 4] = [AMIGO, EVA, OUM, NATIVE];

/// The error shape of each operation of a document, by (method, path).
pub type Shapes = Vec<((String, String), errors::Shape)>;

/// The finished documents, serialized once at start-up.
#[derive(Clone)]
pub struct Documents {
    docs: Arc<Vec<(Spec, Value, Bytes)>>,
}

impl Documents {
    /// Each document with the error shape of each of its operations (method, path), as the
    /// surface serving it renders errors.
    pub fn new(docs: Vec<(Spec, OpenApi, Shapes)>) -> Self {
        let docs = docs
            .into_iter()
            .map(|(spec, api, shapes)| {
                let value = finish(spec, api, &shapes);
                let mut bytes = serde_json::to_vec_pretty(&value).unwrap_or_default();
                bytes.push(b'\n');
                (spec, value, bytes.into())
            })
            .collect();
        Self {
            docs: Arc::new(docs),
        }
    }

    /// The document named `name`, as JSON.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.docs
            .iter()
            .find(|(s, _, _)| s.name == name)
            .map(|(_, v, _)| v)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&Spec, &Value)> {
        self.docs.iter().map(|(s, v, _)| (s, v))
    }

    /// Every documented operation: (document, METHOD, path as served), one per base path.
    pub fn operations(&self) -> Vec<Operation> {
        let mut out = Vec::new();
        for (spec, doc, _) in self.docs.iter() {
            let Some(paths) = doc["paths"].as_object() else {
                continue;
            };
            for (path, item) in paths {
                let Some(item) = item.as_object() else {
                    continue;
                };
                for (method, op) in item {
                    if !METHODS.contains(&method.as_str()) {
                        continue;
                    }
                    for base in spec.servers {
                        out.push(Operation {
                            document: spec.name,
                            method: method.to_uppercase(),
                            path: format!("{}{path}", base.trim_end_matches('/')),
                            operation_id: op["operationId"].as_str().unwrap_or("").to_owned(),
                            secured: op["security"]
                                .as_array()
                                .is_some_and(|s| s.iter().all(|alt| alt != &json!({}))),
                        });
                    }
                }
            }
        }
        out
    }

    /// Serves `/openapi/{name}.json`.
    pub fn response(&self, file: &str) -> Option<Response> {
        let name = file.strip_suffix(".json")?;
        let (_, _, bytes) = self.docs.iter().find(|(s, _, _)| s.name == name)?;
        Some(
            (
                [
                    (header::CONTENT_TYPE, "application/json"),
                    (header::CACHE_CONTROL, "no-cache"),
                ],
                bytes.clone(),
            )
                .into_response(),
        )
    }
}

/// A documented operation, for tests that walk every route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operation {
    pub document: &'static str,
    pub method: String,
    /// The path template as the server matches it (base path included).
    pub path: String,
    pub operation_id: String,
    /// Whether every alternative of its security requirement needs credentials.
    pub secured: bool,
}

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// Turns a generated document into the published one: title and servers, the surface's error
/// responses on every operation that does not list its own, and (Amigo) the vendor's schemas.
fn finish(spec: Spec, api: OpenApi, shapes: &Shapes) -> Value {
    let mut doc = serde_json::to_value(&api).unwrap_or_else(|_| json!({}));
    doc["info"] = json!({
        "title": spec.title,
        "description": spec.description,
        "version": env!("CARGO_PKG_VERSION"),
        "license": { "name": "Apache-2.0", "identifier": "Apache-2.0" },
    });
    doc["servers"] = Value::Array(spec.servers.iter().map(|s| json!({ "url": s })).collect());
    let mut used_shapes = Vec::new();
    if let Some(paths) = doc["paths"].as_object_mut() {
        for (path, item) in paths.iter_mut() {
            let Some(item) = item.as_object_mut() else {
                continue;
            };
            for (method, op) in item.iter_mut() {
                if METHODS.contains(&method.as_str()) {
                    let shape = shapes
                        .iter()
                        .find(|((m, p), _)| m.eq_ignore_ascii_case(method) && p == path)
                        .map_or(errors::Shape::FastApi, |(_, shape)| *shape);
                    if errors::add_responses(method, op, shape) {
                        used_shapes.push(shape);
                    }
                }
            }
        }
    }
    let schemas = doc["components"]["schemas"]
        .as_object_mut()
        .map(std::mem::take)
        .unwrap_or_default();
    let mut schemas: Map<String, Value> = schemas;
    for shape in used_shapes {
        shape.add_schemas(&mut schemas);
    }
    if spec.name == AMIGO.name {
        vendor::fill(&mut schemas);
    }
    doc["components"]["schemas"] = Value::Object(schemas);
    canonical(doc)
}

/// Every object's keys sorted, so a document is byte-for-byte the same from one build to the
/// next whatever `serde_json` features the build unifies.
fn canonical(v: Value) -> Value {
    match v {
        Value::Object(m) => {
            let sorted: std::collections::BTreeMap<String, Value> =
                m.into_iter().map(|(k, v)| (k, canonical(v))).collect();
            Value::Object(sorted.into_iter().collect())
        }
        Value::Array(a) => Value::Array(a.into_iter().map(canonical).collect()),
        other => other,
    }
}

fn bearer(description: &str) -> SecurityScheme {
    let mut http = Http::new(HttpAuthScheme::Bearer);
    http.bearer_format = Some("JWT".into());
    http.description = Some(description.into());
    SecurityScheme::Http(http)
}

fn header_key(name: &str, description: &str) -> SecurityScheme {
    SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
        name,
        description,
    )))
}

fn with_schemes(schemes: Vec<(&str, SecurityScheme)>) -> OpenApi {
    let mut components = Components::new();
    for (name, scheme) in schemes {
        components.add_security_scheme(name, scheme);
    }
    let mut api = OpenApi::default();
    api.components = Some(components);
    api
}

const TOKEN: &str = "An access token (a JWT) from sign-in-with-api-key, an emailed link, or the \
    token endpoint.";

/// The Amigo document before its operations: the vendor's security schemes.
pub fn amigo_base() -> OpenApi {
    with_schemes(vec![
        ("Bearer-Authorization", bearer(TOKEN)),
        (
            "Bearer-Authorization-Organization",
            header_key(
                "X-ORG-ID",
                "The organization that issued the token, when it differs from the path's.",
            ),
        ),
        (
            "Basic",
            SecurityScheme::Http({
                let mut h = Http::new(HttpAuthScheme::Basic);
                h.description =
                    Some("Username `{org_id}_{user_id}`, password the access token.".into());
                h
            }),
        ),
        (
            "API-Key-Authorization-Key",
            header_key("x-api-key", "The API key."),
        ),
        (
            "API-Key-Authorization-ID",
            header_key("x-api-key-id", "The API key's id."),
        ),
        (
            "API-Key-Authorization-UserID",
            header_key("x-user-id", "The user the key signs in as."),
        ),
    ])
}

/// The eva and org-user-management documents before their operations.
pub fn bearer_base() -> OpenApi {
    with_schemes(vec![("bearerAuth", bearer(TOKEN))])
}

/// The native document before its operations.
pub fn native_base() -> OpenApi {
    with_schemes(vec![
        ("bearerAuth", bearer(TOKEN)),
        ("ingestToken", {
            let mut h = Http::new(HttpAuthScheme::Bearer);
            h.description = Some("The shared secret `ROSTER_INGEST_TOKEN`.".into());
            SecurityScheme::Http(h)
        }),
    ])
}

/// A JSON `null` body.
pub struct JsonNull;

impl utoipa::PartialSchema for JsonNull {
    fn schema() -> RefOr<Schema> {
        RefOr::T(Schema::Object(
            ObjectBuilder::new()
                .schema_type(utoipa::openapi::schema::Type::Null)
                .build(),
        ))
    }
}

impl utoipa::ToSchema for JsonNull {
    fn name() -> std::borrow::Cow<'static, str> {
        std::borrow::Cow::Borrowed("Null")
    }
}

/// An unknown document or asset.
pub fn not_found() -> Response {
    crate::error::ApiError(roster_domain::Error::NotFound("document")).into_response()
}
