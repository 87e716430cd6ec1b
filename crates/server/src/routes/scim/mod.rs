//! SCIM 2.0 (RFC 7643 and 7644) per organization, under `/scim/v2/{org}` (`{org}` its id or
//! uuid): an organization's directory (Okta, Entra ID) provisions, updates, deactivates and
//! groups its members. A thin surface: it reads SCIM's shapes, its filter grammar and its PATCH
//! operations, and calls the core's directory operations (`core/directory_users.rs`), which
//! decide and audit as for any other surface. Only the organization's SCIM tokens are accepted
//! here (docs/scim.md).

mod discovery;
mod filter;
mod groups;
mod params;
mod patch;
mod resource;
pub mod schemas;
mod search;
mod users;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use roster_domain::core::Context;
use roster_domain::model::Organization;
use roster_domain::Error;
use serde_json::{json, Value};

use crate::error::{ApiError, Result};
use crate::openapi::errors::Shape;
use crate::state::AppState;
use crate::surface::{Finished, Policy, Surface, SurfaceRouter};

pub const SURFACE: Surface = Surface {
    name: "scim",
    render,
    shape: Shape::Scim,
    closes_for_maintenance: true,
};

pub const CONTENT_TYPE: &str = "application/scim+json";

/// Reads and writes are counted per token (the handler charges once it knows the token).
const READ: Policy = Policy::Handler(&["directory-read"]);
const WRITE: Policy = Policy::Handler(&["directory-write"]);

const POLICIES: &[(&str, Policy)] = &[
    ("scim-service-provider-config", READ),
    ("scim-resource-types", READ),
    ("scim-resource-type", READ),
    ("scim-schemas", READ),
    ("scim-schema", READ),
    ("scim-list-users", READ),
    ("scim-create-user", WRITE),
    ("scim-get-user", READ),
    ("scim-replace-user", WRITE),
    ("scim-patch-user", WRITE),
    ("scim-delete-user", WRITE),
    ("scim-list-groups", READ),
    ("scim-create-group", WRITE),
    ("scim-get-group", READ),
    ("scim-replace-group", WRITE),
    ("scim-patch-group", WRITE),
    ("scim-delete-group", WRITE),
    ("scim-search", READ),
    ("scim-search-users", READ),
    ("scim-search-groups", READ),
];

pub fn router() -> Finished {
    use axum::routing::{get, post};
    let b = "/scim/v2/{org}";
    SurfaceRouter::new(SURFACE, utoipa::openapi::OpenApi::default(), POLICIES)
        .page(
            &format!("{b}/ServiceProviderConfig"),
            &[(Method::GET, "scim-service-provider-config")],
            get(discovery::config),
        )
        .page(
            &format!("{b}/ResourceTypes"),
            &[(Method::GET, "scim-resource-types")],
            get(discovery::resource_types),
        )
        .page(
            &format!("{b}/ResourceTypes/{{id}}"),
            &[(Method::GET, "scim-resource-type")],
            get(discovery::resource_type),
        )
        .page(
            &format!("{b}/Schemas"),
            &[(Method::GET, "scim-schemas")],
            get(discovery::schemas),
        )
        .page(
            &format!("{b}/Schemas/{{id}}"),
            &[(Method::GET, "scim-schema")],
            get(discovery::schema),
        )
        .page(
            &format!("{b}/.search"),
            &[(Method::POST, "scim-search")],
            post(search::all),
        )
        .page(
            &format!("{b}/Users/.search"),
            &[(Method::POST, "scim-search-users")],
            post(search::users),
        )
        .page(
            &format!("{b}/Groups/.search"),
            &[(Method::POST, "scim-search-groups")],
            post(search::groups),
        )
        .page(
            &format!("{b}/Users"),
            &[
                (Method::GET, "scim-list-users"),
                (Method::POST, "scim-create-user"),
            ],
            get(users::list).post(users::create),
        )
        .page(
            &format!("{b}/Users/{{id}}"),
            &[
                (Method::GET, "scim-get-user"),
                (Method::PUT, "scim-replace-user"),
                (Method::PATCH, "scim-patch-user"),
                (Method::DELETE, "scim-delete-user"),
            ],
            get(users::get)
                .put(users::replace)
                .patch(users::patch)
                .delete(users::delete),
        )
        .page(
            &format!("{b}/Groups"),
            &[
                (Method::GET, "scim-list-groups"),
                (Method::POST, "scim-create-group"),
            ],
            get(groups::list).post(groups::create),
        )
        .page(
            &format!("{b}/Groups/{{id}}"),
            &[
                (Method::GET, "scim-get-group"),
                (Method::PUT, "scim-replace-group"),
                (Method::PATCH, "scim-patch-group"),
                (Method::DELETE, "scim-delete-group"),
            ],
            get(groups::get)
                .put(groups::replace)
                .patch(groups::patch)
                .delete(groups::delete),
        )
        .owns("/scim/")
        .finish()
}

/// SCIM's `scimType` for a field error's code.
fn scim_type(code: &str) -> &'static str {
    match code {
        "json_invalid" | "invalidSyntax" | "extra_forbidden" | "missing" | "type_error" => {
            "invalidSyntax"
        }
        "invalidFilter" => "invalidFilter",
        "invalidPath" => "invalidPath",
        "noTarget" => "noTarget",
        "immutable" | "mutability" => "mutability",
        "tooMany" => "tooMany",
        "uniqueness" => "uniqueness",
        _ => "invalidValue",
    }
}

/// An error as RFC 7644 section 3.12 shapes it.
pub fn body(status: StatusCode, scim_type: Option<&str>, detail: &str) -> Value {
    let mut v = json!({
        "schemas": [schemas::ERROR],
        "status": status.as_u16().to_string(),
        "detail": detail,
    });
    if let Some(t) = scim_type {
        v["scimType"] = json!(t);
    }
    v
}

fn render(e: &Error, _path: &str) -> (StatusCode, Value) {
    let (status, kind, detail) = match e {
        Error::Validation(errs) => {
            let first = errs.first().map(|f| f.code).unwrap_or("invalidValue");
            let detail = errs
                .iter()
                .map(|f| {
                    let name = f.field_name();
                    if name.is_empty() {
                        f.message.clone()
                    } else {
                        format!("{name}: {}", f.message)
                    }
                })
                .collect::<Vec<_>>()
                .join("; ");
            (StatusCode::BAD_REQUEST, Some(scim_type(first)), detail)
        }
        Error::BadRequest(m) => (StatusCode::BAD_REQUEST, Some("invalidValue"), m.clone()),
        Error::NotFound(what) => (StatusCode::NOT_FOUND, None, format!("{what} not found")),
        Error::Conflict(m) if m.contains("already exists") => {
            (StatusCode::CONFLICT, Some("uniqueness"), m.clone())
        }
        Error::Conflict(m) => (StatusCode::CONFLICT, None, m.clone()),
        Error::Unauthenticated => (
            StatusCode::UNAUTHORIZED,
            None,
            "a SCIM token of this organization is required".into(),
        ),
        Error::Forbidden(m) => (StatusCode::FORBIDDEN, None, m.clone()),
        Error::TooLarge(m) => (StatusCode::PAYLOAD_TOO_LARGE, None, m.clone()),
        Error::RateLimited { .. } => (
            StatusCode::TOO_MANY_REQUESTS,
            None,
            "rate limit exceeded".into(),
        ),
        Error::Unavailable { cause, .. } => (
            StatusCode::SERVICE_UNAVAILABLE,
            None,
            cause.message().into(),
        ),
        Error::Internal(_) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            None,
            "internal server error".into(),
        ),
    };
    (status, body(status, kind, &detail))
}

/// A SCIM answer: `application/scim+json`, with an `ETag` when given.
pub fn answer(status: StatusCode, v: &Value, etag: Option<&str>) -> Response {
    let mut resp = (status, v.to_string()).into_response();
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
    if let Some(tag) = etag.and_then(|t| HeaderValue::from_str(t).ok()) {
        resp.headers_mut().insert(header::ETAG, tag);
    }
    resp
}

/// A refusal the surface itself decides (a failed precondition): in SCIM's shape.
pub fn refusal(status: StatusCode, scim_type: Option<&str>, detail: &str) -> Response {
    answer(status, &body(status, scim_type, detail), None)
}

/// A 400 naming what in the request is wrong, in SCIM's words.
pub fn bad(scim_type: &'static str, field: &str, message: impl Into<String>) -> ApiError {
    ApiError(Error::field(
        roster_domain::Location::Body,
        field,
        scim_type,
        message,
    ))
}

/// The organization's directory, authenticated by one of its SCIM tokens and charged to the
/// operation's bucket.
pub struct Directory {
    pub ctx: Context,
    pub org: Organization,
    /// `{public_url}/scim/v2/{org id}`, for `location`s.
    pub base: String,
}

fn bearer(parts: &Parts) -> Option<&str> {
    let v = parts
        .headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .trim();
    let (scheme, token) = v.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

impl FromRequestParts<AppState> for Directory {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self> {
        // `/scim/v2/{org}/...`: the organization is the third segment.
        let org_ref = parts
            .uri
            .path()
            .split('/')
            .nth(3)
            .map(|s| {
                form_urlencoded::parse(format!("o={s}").as_bytes())
                    .next()
                    .map(|(_, v)| v.into_owned())
                    .unwrap_or_default()
            })
            .unwrap_or_default();
        let token = bearer(parts).ok_or(Error::Unauthenticated)?.to_owned();
        let request_id = crate::extract::request_id(parts);
        let (org, ctx) = state
            .core
            .authenticate_directory(&request_id, &org_ref, &token)
            .await?;
        // A search is a read, though it is POSTed (RFC 7644 section 3.4.3).
        let bucket = if parts.method == Method::GET || parts.uri.path().ends_with("/.search") {
            "directory-read"
        } else {
            "directory-write"
        };
        let key = crate::extract::rate_key(&ctx, parts);
        state.limits.check(bucket, &key).await?;
        let base = format!(
            "{}/scim/v2/{}",
            state.core.config.public_url.trim_end_matches('/'),
            org.id
        );
        Ok(Self { ctx, org, base })
    }
}

/// The request body as JSON: at most the server's body limit, any syntax error a 400.
pub async fn json_body(state: &AppState, req: axum::extract::Request) -> Result<Value> {
    let bytes = crate::extract::body_bytes(req, state).await?;
    serde_json::from_slice::<Value>(&bytes).map_err(|e| {
        let msg = e.to_string();
        let msg = msg.split(" at line ").next().unwrap_or(&msg).to_owned();
        bad("invalidSyntax", "", format!("the body is not JSON: {msg}"))
    })
}

/// The query's pairs.
pub fn query(parts: &Parts) -> crate::extract::Query {
    crate::extract::Query::parse(parts)
}

/// A users filter as the store receives it (for tests that read the listing's query plan).
pub fn users_filter(
    filter: &str,
) -> std::result::Result<roster_domain::paging::UserFilter, String> {
    filter::parse(filter).and_then(|f| filter::users(&f))
}
