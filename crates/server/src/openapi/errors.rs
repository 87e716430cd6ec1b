//! The error bodies of each surface as schemas, and the error responses every operation gets in
//! its document. Each surface names its [`Shape`] (`crate::surface::Surface`), which its routes'
//! operations list.

use serde::Serialize;
use serde_json::{json, Map, Value};
use utoipa::ToSchema;

/// A FastAPI error (Amigo, org-user-management, administration, ingestion).
#[derive(Serialize, ToSchema)]
#[schema(as = HTTPError)]
pub struct HttpError {
    /// What went wrong, as a sentence.
    pub detail: String,
}

/// One field error of a FastAPI 422.
#[derive(Serialize, ToSchema)]
#[schema(as = ValidationError)]
pub struct HttpValidationItem {
    /// Where the field is: `body`, `query`, `path` or `header`, then the field's path.
    pub loc: Vec<LocItem>,
    pub msg: String,
    #[serde(rename = "type")]
    pub kind: String,
}

/// A location step: a name, or the index in a list.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub enum LocItem {
    Name(String),
    Index(i64),
}

/// A FastAPI 422: the list of rejected fields.
#[derive(Serialize, ToSchema)]
#[schema(as = HTTPValidationError)]
pub struct HttpValidationError {
    pub detail: Vec<HttpValidationItem>,
}

/// eva's `StandardError`.
#[derive(Serialize, ToSchema)]
#[schema(as = StandardError)]
#[serde(rename_all = "camelCase")]
pub struct EvaError {
    /// Milliseconds since the epoch.
    pub timestamp: i64,
    /// `USER-` and the status code.
    pub error_code: String,
    /// `USER_ERROR`, or `API_ERROR` for 5xx.
    pub error_type: String,
    pub message: String,
    /// The request's path.
    pub path: String,
}

/// One rejected field of an eva `ValidationError`.
#[derive(Serialize, ToSchema)]
#[schema(as = FieldErrorDetail)]
#[serde(rename_all = "camelCase")]
pub struct EvaFieldError {
    pub field_name: String,
    pub message: String,
    pub error_code: String,
}

/// eva's `ValidationError`: a `StandardError` with the rejected fields (`details` only when a
/// field is at fault).
#[derive(Serialize, ToSchema)]
#[schema(as = ValidationError)]
#[serde(rename_all = "camelCase")]
pub struct EvaValidationError {
    pub timestamp: i64,
    pub error_code: String,
    pub error_type: String,
    pub message: String,
    pub path: String,
    pub details: Option<Vec<EvaFieldError>>,
}

/// An OAuth2 error, as Keycloak's token endpoint answers.
#[derive(Serialize, ToSchema)]
#[schema(as = OAuthError)]
pub struct OAuthError {
    /// `invalid_request`, `invalid_grant`, `unsupported_grant_type`, `slow_down`,
    /// `temporarily_unavailable` or `server_error`.
    pub error: String,
    pub error_description: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    FastApi,
    Eva,
    /// RFC 7644's error (the SCIM surface publishes no OpenAPI document: its discovery
    /// endpoints describe it).
    Scim,
}

fn add<T: ToSchema>(out: &mut Map<String, Value>) {
    let mut all = vec![(T::name().into_owned(), T::schema())];
    T::schemas(&mut all);
    for (name, schema) in all {
        out.entry(name)
            .or_insert_with(|| serde_json::to_value(schema).unwrap_or(Value::Null));
    }
}

impl Shape {
    pub fn add_schemas(self, out: &mut Map<String, Value>) {
        match self {
            Self::FastApi => {
                add::<HttpError>(out);
                add::<HttpValidationError>(out);
            }
            Self::Eva => {
                add::<EvaError>(out);
                add::<EvaValidationError>(out);
            }
            Self::Scim => {}
        }
    }

    fn schema(self, status: u16) -> &'static str {
        match (self, status) {
            (Self::FastApi, 422) => "HTTPValidationError",
            (Self::FastApi, _) => "HTTPError",
            (Self::Eva, 400 | 422) => "ValidationError",
            (Self::Eva, _) => "StandardError",
            (Self::Scim, _) => "ScimError",
        }
    }
}

fn describe(status: u16) -> &'static str {
    match status {
        400 => "The request is malformed or breaks a rule.",
        401 => "Missing, invalid or expired credentials.",
        403 => "The caller lacks the permission or rank.",
        404 => "The organization or resource does not exist (or is not visible to the caller).",
        409 => "Conflicts with the current state (a duplicate, or a concurrent change).",
        413 => "The request body is larger than the server accepts.",
        422 => "A parameter or body field is invalid.",
        429 => "Rate limit exceeded; `Retry-After` says when to try again.",
        500 => "Unexpected error (the cause is in the server log, with the request id).",
        503 => "Maintenance mode or a dependency is unavailable; `Retry-After` is set.",
        _ => "Error.",
    }
}

/// Reads that answer 409 for the state of what they read: a cancelled or failed job has no
/// file to download.
const GETS_THAT_CONFLICT: &[&str] = &["get-job-result"];

/// Adds the surface's error responses to an operation that lists none of its own; returns
/// whether it did. Statuses: those any operation can answer, 403 when it needs credentials, 409
/// when it writes, 413 when it takes a body.
pub fn add_responses(method: &str, op: &mut Value, shape: Shape) -> bool {
    let Some(responses) = op["responses"].as_object() else {
        return false;
    };
    if responses
        .keys()
        .any(|k| k.starts_with('4') || k.starts_with('5'))
    {
        return false;
    }
    let secured = op["security"]
        .as_array()
        .is_some_and(|alts| alts.iter().all(|a| a != &json!({})));
    let mut statuses = vec![400, 401, 404, 422, 429, 500, 503];
    if secured {
        statuses.push(403);
    }
    if method != "get" || GETS_THAT_CONFLICT.contains(&op["operationId"].as_str().unwrap_or("")) {
        statuses.push(409);
    }
    if op.get("requestBody").is_some() {
        statuses.push(413);
    }
    statuses.sort_unstable();
    for status in statuses {
        op["responses"][status.to_string()] = json!({
            "description": describe(status),
            "content": { "application/json": { "schema": {
                "$ref": format!("#/components/schemas/{}", shape.schema(status))
            } } },
        });
    }
    true
}
