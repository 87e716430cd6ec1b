//! The native administration of an organization's SCIM tokens, under
//! `/admin/v1/orgs/{org}/scim-tokens` (errors in the Amigo FastAPI shape, like the rest of
//! `/admin/v1`). Needs `Organization:ModifyOrganization`; a token acts with the role it is
//! created with, which its creator must hold every grant of (docs/scim.md, "Tokens").

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use roster_domain::directory::DirectoryToken;
use roster_domain::types::format_micros;
use serde::{Deserialize, Serialize};
use utoipa::openapi::OpenApi;
use utoipa::ToSchema;
use utoipa_axum::routes;

use crate::error::Result;
use crate::extract::{Body, Caller, Path};
use crate::state::AppState;
use crate::surface::{Finished, Policy, SurfaceRouter};

/// The administration API's operations share one budget per caller.
const POLICIES: &[(&str, Policy)] = &[
    ("list-scim-tokens", Policy::Caller("administer")),
    ("create-scim-token", Policy::Caller("administer")),
    ("revoke-scim-token", Policy::Caller("administer")),
];

pub fn router() -> Finished {
    SurfaceRouter::new(super::native::SURFACE, OpenApi::default(), POLICIES)
        .routes(routes!(list_tokens, create_token))
        .routes(routes!(revoke_token))
        .finish()
}

/// A token to create.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScimTokenIn {
    /// What the token is for (the directory's name); 1 to 100 characters.
    name: String,
    /// The role whose grants the token acts with; the caller must hold every grant of it.
    /// `DefaultAdministratorRole` when left out.
    #[serde(default)]
    role: Option<String>,
}

/// A SCIM token (never its secret but in the answer that created it).
#[derive(Serialize, ToSchema)]
pub struct ScimTokenOut {
    id: String,
    name: String,
    role: String,
    /// RFC 3339.
    created_at: String,
    /// The bearer token, only in the answer that created it: it is not shown again.
    #[serde(skip_serializing_if = "Option::is_none")]
    token: Option<String>,
}

impl ScimTokenOut {
    fn new(t: &DirectoryToken, role: String, token: Option<String>) -> Self {
        Self {
            id: t.id.clone(),
            name: t.name.clone(),
            role,
            created_at: format_micros(t.created_at),
            token,
        }
    }
}

/// The organization's SCIM tokens.
#[derive(Serialize, ToSchema)]
pub struct ScimTokenList {
    tokens: Vec<ScimTokenOut>,
}

/// The organization's SCIM tokens, oldest first.
#[utoipa::path(
    get,
    path = "/admin/v1/orgs/{org}/scim-tokens",
    operation_id = "list-scim-tokens",
    tag = "Administration",
    params(("org" = String, Path, description = "The organization's id.")),
    responses((status = 200, description = "The tokens", body = ScimTokenList)),
    security(("bearerAuth" = []))
)]
async fn list_tokens(
    State(s): State<AppState>,
    caller: Caller,
    Path(org): Path<String>,
) -> Result<Response> {
    let tokens = s.core.list_directory_tokens(&caller.ctx, &org).await?;
    Ok(Json(ScimTokenList {
        tokens: tokens
            .into_iter()
            .map(|(t, role)| ScimTokenOut::new(&t, role, None))
            .collect(),
    })
    .into_response())
}

/// Create a token for the organization's SCIM base URL; `token` is in this answer only.
#[utoipa::path(
    post,
    path = "/admin/v1/orgs/{org}/scim-tokens",
    operation_id = "create-scim-token",
    tag = "Administration",
    params(("org" = String, Path, description = "The organization's id.")),
    request_body = ScimTokenIn,
    responses((status = 201, description = "Created", body = ScimTokenOut)),
    security(("bearerAuth" = []))
)]
async fn create_token(
    State(s): State<AppState>,
    caller: Caller,
    Path(org): Path<String>,
    Body(b): Body<ScimTokenIn>,
) -> Result<Response> {
    let made = s
        .core
        .create_directory_token(&caller.ctx, &org, &b.name, b.role.as_deref())
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(ScimTokenOut::new(
            &made.token,
            made.role_name,
            Some(made.secret),
        )),
    )
        .into_response())
}

/// Revoke a token: the directory's next request with it is refused.
#[utoipa::path(
    delete,
    path = "/admin/v1/orgs/{org}/scim-tokens/{token_id}",
    operation_id = "revoke-scim-token",
    tag = "Administration",
    params(
        ("org" = String, Path, description = "The organization's id."),
        ("token_id" = String, Path, description = "The token's id."),
    ),
    responses((status = 204, description = "Revoked")),
    security(("bearerAuth" = []))
)]
async fn revoke_token(
    State(s): State<AppState>,
    caller: Caller,
    Path((org, token_id)): Path<(String, String)>,
) -> Result<Response> {
    s.core
        .revoke_directory_token(&caller.ctx, &org, &token_id)
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
