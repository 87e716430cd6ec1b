//! The native administration of an organization's own OpenID Connect connections (enterprise
//! single sign-on), under `/admin/v1/orgs/{org}/connections` (errors in the Amigo FastAPI
//! shape, like the rest of `/admin/v1`). Needs `Organization:ModifyOrganization`. A
//! connection's client secret is written, never read back.

use axum::extract::State;
use roster_domain::connections::UpstreamConnection;
use roster_domain::core::ConnectionInput;
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
    ("list-connections", Policy::Caller("administer")),
    ("create-connection", Policy::Caller("administer")),
    ("update-connection", Policy::Caller("administer")),
    ("delete-connection", Policy::Caller("administer")),
];

pub fn router() -> Finished {
    SurfaceRouter::new(super::native::SURFACE, OpenApi::default(), POLICIES)
        .routes(routes!(list_connections, create_connection))
        .routes(routes!(update_connection, delete_connection))
        .finish()
}

/// A connection to add.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConnectionIn {
    /// 1 to 40 lower-case letters, digits or dashes, starting with a letter (not `password`
    /// or `google-oauth2`): what invitations name as their `connection`, and part of the
    /// redirect URI to register at the provider,
    /// `{public URL}/connections/{organization id}/{name}/callback`.
    name: String,
    /// The provider's issuer (`https://`, or `http://` on a loopback host), where
    /// `/.well-known/openid-configuration` is served.
    issuer: String,
    client_id: String,
    /// Never shown again.
    client_secret: String,
    /// The email domains it admits (1 to 50): an address elsewhere is refused.
    domains: Vec<String>,
    /// Whether a member who signs in with a password here may also sign in through this
    /// provider with the same verified address. Default false: refused.
    #[serde(default)]
    link_password_accounts: bool,
}

/// The fields to change; those left out stay as they are (the name never changes).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConnectionPatch {
    issuer: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
    domains: Option<Vec<String>>,
    link_password_accounts: Option<bool>,
}

/// A connection, without its secret.
#[derive(Serialize, ToSchema)]
pub struct ConnectionOut {
    name: String,
    issuer: String,
    client_id: String,
    domains: Vec<String>,
    link_password_accounts: bool,
    /// The redirect URI to register at the provider.
    redirect_uri: String,
    /// RFC 3339.
    created_at: String,
    /// RFC 3339.
    updated_at: String,
}

impl ConnectionOut {
    fn new(s: &AppState, c: &UpstreamConnection) -> Self {
        Self {
            name: c.name.clone(),
            issuer: c.issuer.clone(),
            client_id: c.client_id.clone(),
            domains: c.domains.clone(),
            link_password_accounts: c.link_password_accounts,
            redirect_uri: crate::upstream::callback_uri(
                &s.core.config.public_url,
                Some(&c.org_id),
                &c.name,
            ),
            created_at: format_micros(c.created_at),
            updated_at: format_micros(c.updated_at),
        }
    }
}

/// The organization's connections.
#[derive(Serialize, ToSchema)]
pub struct ConnectionList {
    connections: Vec<ConnectionOut>,
}

/// The organization's OpenID Connect connections, by name.
#[utoipa::path(
    get,
    path = "/admin/v1/orgs/{org}/connections",
    operation_id = "list-connections",
    tag = "Administration",
    params(("org" = String, Path, description = "The organization's id.")),
    responses((status = 200, description = "The connections", body = ConnectionList)),
    security(("bearerAuth" = []))
)]
async fn list_connections(
    State(s): State<AppState>,
    caller: Caller,
    Path(org): Path<String>,
) -> Result<Reply<200, ConnectionList>> {
    let list = s.core.list_connections(&caller.ctx, &org).await?;
    Ok(Reply(ConnectionList {
        connections: list.iter().map(|c| ConnectionOut::new(&s, c)).collect(),
    }))
}

/// Add a connection; members invited with its name sign in through it.
#[utoipa::path(
    post,
    path = "/admin/v1/orgs/{org}/connections",
    operation_id = "create-connection",
    tag = "Administration",
    params(("org" = String, Path, description = "The organization's id.")),
    request_body = ConnectionIn,
    responses((status = 201, description = "Added", body = ConnectionOut)),
    security(("bearerAuth" = []))
)]
async fn create_connection(
    State(s): State<AppState>,
    caller: Caller,
    Path(org): Path<String>,
    Body(b): Body<ConnectionIn>,
) -> Result<Reply<201, ConnectionOut>> {
    let input = ConnectionInput {
        name: Some(b.name),
        issuer: Some(b.issuer),
        client_id: Some(b.client_id),
        client_secret: Some(b.client_secret),
        domains: Some(b.domains),
        link_password_accounts: Some(b.link_password_accounts),
    };
    let c = s.core.create_connection(&caller.ctx, &org, input).await?;
    Ok(Reply(ConnectionOut::new(&s, &c)))
}

/// Change a connection.
#[utoipa::path(
    patch,
    path = "/admin/v1/orgs/{org}/connections/{name}",
    operation_id = "update-connection",
    tag = "Administration",
    params(
        ("org" = String, Path, description = "The organization's id."),
        ("name" = String, Path, description = "The connection's name."),
    ),
    request_body = ConnectionPatch,
    responses((status = 200, description = "Changed", body = ConnectionOut)),
    security(("bearerAuth" = []))
)]
async fn update_connection(
    State(s): State<AppState>,
    caller: Caller,
    Path((org, name)): Path<(String, String)>,
    Body(b): Body<ConnectionPatch>,
) -> Result<Reply<200, ConnectionOut>> {
    let input = ConnectionInput {
        name: None,
        issuer: b.issuer,
        client_id: b.client_id,
        client_secret: b.client_secret,
        domains: b.domains,
        link_password_accounts: b.link_password_accounts,
    };
    let c = s
        .core
        .update_connection(&caller.ctx, &org, &name, input)
        .await?;
    Ok(Reply(ConnectionOut::new(&s, &c)))
}

/// Remove a connection: nobody signs in through it any more, and its links to upstream
/// accounts go with it.
#[utoipa::path(
    delete,
    path = "/admin/v1/orgs/{org}/connections/{name}",
    operation_id = "delete-connection",
    tag = "Administration",
    params(
        ("org" = String, Path, description = "The organization's id."),
        ("name" = String, Path, description = "The connection's name."),
    ),
    responses((status = 204, description = "Removed")),
    security(("bearerAuth" = []))
)]
async fn delete_connection(
    State(s): State<AppState>,
    caller: Caller,
    Path((org, name)): Path<(String, String)>,
) -> Result<NoContent> {
    s.core.delete_connection(&caller.ctx, &org, &name).await?;
    Ok(NoContent)
}
