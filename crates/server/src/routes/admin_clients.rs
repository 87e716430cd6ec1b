//! The native administration of an organization's OpenID Connect clients, under
//! `/admin/v1/orgs/{org}/oidc-clients` (errors in the Amigo FastAPI shape, like the rest of
//! `/admin/v1`). Needs `Organization:ModifyOrganization`.

use axum::extract::State;
use roster_domain::core::OidcClientInput;
use roster_domain::model::OidcClient;
use roster_domain::types::format_micros;
use serde::{Deserialize, Serialize};
use utoipa::openapi::OpenApi;
use utoipa::ToSchema;
use utoipa_axum::routes;

use crate::error::Result;
use crate::extract::{Body, Caller, Path};
use crate::reply::{NoContent, Reply};
use crate::state::AppState;
use crate::surface::{Finished, Policy, SurfaceRouter};

/// The administration API's operations share one budget per caller.
const POLICIES: &[(&str, Policy)] = &[
    ("list-oidc-clients", Policy::Caller("administer")),
    ("create-oidc-client", Policy::Caller("administer")),
    ("update-oidc-client", Policy::Caller("administer")),
    ("delete-oidc-client", Policy::Caller("administer")),
];

pub fn router() -> Finished {
    SurfaceRouter::new(super::native::SURFACE, OpenApi::default(), POLICIES)
        .routes(routes!(list_clients, create_client))
        .routes(routes!(update_client, delete_client))
        .finish()
}

/// A client to register.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClientIn {
    /// Shown on the sign-in page; 1 to 100 characters.
    name: String,
    /// Where the provider may send the browser back; matched exactly. `https://`, or
    /// `http://` on a loopback host; no fragment. 1 to 20 of them.
    redirect_uris: Vec<String>,
    /// A public client (browser or native app) gets no secret and must use PKCE (S256).
    #[serde(default)]
    public: bool,
}

/// The fields to change; those left out stay as they are.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClientPatch {
    name: Option<String>,
    redirect_uris: Option<Vec<String>>,
}

/// A registered client.
#[derive(Serialize, ToSchema)]
pub struct ClientOut {
    client_id: String,
    name: String,
    public: bool,
    redirect_uris: Vec<String>,
    /// RFC 3339.
    created_at: String,
    /// RFC 3339.
    updated_at: String,
    /// Only in the answer that created a confidential client: it is not shown again.
    #[serde(skip_serializing_if = "Option::is_none")]
    client_secret: Option<String>,
}

impl ClientOut {
    fn new(c: &OidcClient, secret: Option<String>) -> Self {
        Self {
            client_id: c.client_id.clone(),
            name: c.name.clone(),
            public: c.is_public(),
            redirect_uris: c.redirect_uris.clone(),
            created_at: format_micros(c.created_at),
            updated_at: format_micros(c.updated_at),
            client_secret: secret,
        }
    }
}

/// The organization's clients.
#[derive(Serialize, ToSchema)]
pub struct ClientList {
    clients: Vec<ClientOut>,
}

/// The organization's OpenID Connect clients, oldest first.
#[utoipa::path(
    get,
    path = "/admin/v1/orgs/{org}/oidc-clients",
    operation_id = "list-oidc-clients",
    tag = "Administration",
    params(("org" = String, Path, description = "The organization's id.")),
    responses((status = 200, description = "The clients", body = ClientList)),
    security(("bearerAuth" = []))
)]
async fn list_clients(
    State(s): State<AppState>,
    caller: Caller,
    Path(org): Path<String>,
) -> Result<Reply<200, ClientList>> {
    let clients = s.core.list_oidc_clients(&caller.ctx, &org).await?;
    Ok(Reply(ClientList {
        clients: clients.iter().map(|c| ClientOut::new(c, None)).collect(),
    }))
}

/// Register a client; a confidential client's `client_secret` is in this answer only.
#[utoipa::path(
    post,
    path = "/admin/v1/orgs/{org}/oidc-clients",
    operation_id = "create-oidc-client",
    tag = "Administration",
    params(("org" = String, Path, description = "The organization's id.")),
    request_body = ClientIn,
    responses((status = 201, description = "Registered", body = ClientOut)),
    security(("bearerAuth" = []))
)]
async fn create_client(
    State(s): State<AppState>,
    caller: Caller,
    Path(org): Path<String>,
    Body(b): Body<ClientIn>,
) -> Result<Reply<201, ClientOut>> {
    let input = OidcClientInput {
        name: Some(b.name),
        redirect_uris: Some(b.redirect_uris),
        public: b.public,
    };
    let made = s.core.create_oidc_client(&caller.ctx, &org, input).await?;
    Ok(Reply(ClientOut::new(&made.client, made.secret)))
}

/// Rename a client or replace its redirect URIs.
#[utoipa::path(
    patch,
    path = "/admin/v1/orgs/{org}/oidc-clients/{client_id}",
    operation_id = "update-oidc-client",
    tag = "Administration",
    params(
        ("org" = String, Path, description = "The organization's id."),
        ("client_id" = String, Path, description = "The client's id."),
    ),
    request_body = ClientPatch,
    responses((status = 200, description = "Changed", body = ClientOut)),
    security(("bearerAuth" = []))
)]
async fn update_client(
    State(s): State<AppState>,
    caller: Caller,
    Path((org, client_id)): Path<(String, String)>,
    Body(b): Body<ClientPatch>,
) -> Result<Reply<200, ClientOut>> {
    let input = OidcClientInput {
        name: b.name,
        redirect_uris: b.redirect_uris,
        public: false,
    };
    let c = s
        .core
        .update_oidc_client(&caller.ctx, &org, &client_id, input)
        .await?;
    Ok(Reply(ClientOut::new(&c, None)))
}

/// Delete a client: its codes and refresh tokens stop working.
#[utoipa::path(
    delete,
    path = "/admin/v1/orgs/{org}/oidc-clients/{client_id}",
    operation_id = "delete-oidc-client",
    tag = "Administration",
    params(
        ("org" = String, Path, description = "The organization's id."),
        ("client_id" = String, Path, description = "The client's id."),
    ),
    responses((status = 204, description = "Deleted")),
    security(("bearerAuth" = []))
)]
async fn delete_client(
    State(s): State<AppState>,
    caller: Caller,
    Path((org, client_id)): Path<(String, String)>,
) -> Result<NoContent> {
    s.core
        .delete_oidc_client(&caller.ctx, &org, &client_id)
        .await?;
    Ok(NoContent)
}
