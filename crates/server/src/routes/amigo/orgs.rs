//! Organization and API-key endpoints.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use roster_domain::core::{NewOrgInput, OrgPatch};
use roster_domain::types::format_micros;
use roster_domain::{Error, FieldError, Location};
use serde_json::{json, Value};

use super::dto::*;
use crate::error::Result;
use crate::extract::parse_duration;
use crate::extract::{Body, Caller, MaybeCaller, Path, Req};
use crate::state::AppState;

fn check_base64(problems: &mut Vec<FieldError>, field: &str, value: &str) {
    if STANDARD.decode(value.trim()).is_err() {
        problems.push(FieldError::body(
            field,
            "base64_decode",
            format!("{field} must be base64-encoded bytes"),
        ));
    }
}

/// Get an organization: public details, plus preferences and tenant for callers with
/// `Organization:GetOrganizationDetails`.
#[utoipa::path(
    get,
    path = "/v1/{organization}/organization/",
    operation_id = "get-organization",
    tag = "Organization",
    params(("organization" = String, Path, description = "The organization's id."), crate::openapi::params::VendorHeaders),
    responses((status = 200, description = "Succeeded", body = crate::openapi::vendor::GetOrganizationResponse)),
    security((), ("Bearer-Authorization" = []), ("Basic" = []))
)]
pub async fn get_organization(
    State(s): State<AppState>,
    Path(organization): Path<String>,
    MaybeCaller(ctx): MaybeCaller,
) -> Result<Response> {
    let view = s.core.get_organization(&ctx, &organization).await?;
    let org = view.org;
    Ok(Json(OrganizationOut {
        org_id: org.id.into(),
        org_name: org.name,
        default_user_preferences: view.details.then_some(org.default_preferences),
        tenant_id: view.details.then_some(org.tenant_id),
    })
    .into_response())
}

/// Create an organization (platform administrators; `x-mongo-cluster-name` is required).
#[utoipa::path(
    put,
    path = "/v1/{organization}/organization/",
    operation_id = "create-organization",
    tag = "Organization",
    params(("organization" = String, Path, description = "The organization's id."), crate::openapi::params::VendorHeadersClusterRequired),
    request_body = crate::openapi::vendor::CreateOrganizationRequest,
    responses((status = 201, description = "Succeeded", body = crate::openapi::vendor::CreateOrganizationResponse)),
    security(("Bearer-Authorization" = []), ("Bearer-Authorization" = [], "Bearer-Authorization-Organization" = []), ("Basic" = []))
)]
pub async fn create_organization(
    State(s): State<AppState>,
    Path(organization): Path<String>,
    caller: Caller,
    req: Req,
    Body(b): Body<CreateOrganization>,
) -> Result<Response> {
    s.core
        .require_platform(&caller.ctx, roster_domain::permissions::perm::ORG_CREATE)?;
    let cluster = req.header("x-mongo-cluster-name")?;
    let mut problems = Vec::new();
    for (field, v) in [
        ("logo", &b.logo),
        ("square_logo", &b.square_logo),
        ("favicon", &b.favicon),
    ] {
        check_base64(&mut problems, field, v);
    }
    let team = b.azure_devops_team_name.trim();
    if team.is_empty()
        || team.len() > 20
        || !team.bytes().all(|c| c.is_ascii_lowercase() || c == b'-')
    {
        problems.push(FieldError::body(
            "azure_devops_team_name",
            "string_pattern_mismatch",
            "must match ^[a-z-]+$ and be at most 20 characters",
        ));
    }
    if !problems.is_empty() {
        return Err(Error::Validation(problems).into());
    }
    let input = NewOrgInput {
        id: organization.clone(),
        name: b.org_name,
        default_preferences: b
            .default_user_preferences
            .map(Into::into)
            .unwrap_or_default(),
        user_dimensions: dimensions_json(&b.user_dimensions),
        branding: json!({ "logo": b.logo, "square_logo": b.square_logo, "favicon": b.favicon, "azure_devops_team_name": team }),
        is_platform: false,
        cluster: Some(cluster),
    };
    let org = s
        .core
        .create_organization(&caller.ctx, input)
        .await
        .map_err(|e| e.field_moved("cluster", Location::Header, "x-mongo-cluster-name"))?;
    Ok((StatusCode::CREATED, Json(json!({ "org_id": org.id }))).into_response())
}

/// Modify an organization's branding, user dimensions or default preferences.
#[utoipa::path(
    post,
    path = "/v1/{organization}/organization/",
    operation_id = "modify-organization",
    tag = "Organization",
    params(("organization" = String, Path, description = "The organization's id."), crate::openapi::params::VendorHeaders),
    request_body = crate::openapi::vendor::ModifyOrganizationRequest,
    responses((status = 204, description = "Succeeded")),
    security(("Bearer-Authorization" = []), ("Bearer-Authorization" = [], "Bearer-Authorization-Organization" = []), ("Basic" = []))
)]
pub async fn modify_organization(
    State(s): State<AppState>,
    Path(organization): Path<String>,
    caller: Caller,
    Body(b): Body<ModifyOrganization>,
) -> Result<Response> {
    let mut problems = Vec::new();
    let mut patch = OrgPatch::default();
    for (field, v) in [
        ("logo", &b.logo),
        ("square_logo", &b.square_logo),
        ("favicon", &b.favicon),
    ] {
        if let Some(v) = v {
            check_base64(&mut problems, field, v);
            patch
                .branding
                .insert(field.to_owned(), Value::String(v.clone()));
        }
    }
    if let Some(d) = &b.user_dimensions {
        if d.is_empty() {
            problems.push(FieldError::body(
                "user_dimensions",
                "too_short",
                "user_dimensions must hold at least one item",
            ));
        }
        patch.user_dimensions = Some(dimensions_json(d));
    }
    if !problems.is_empty() {
        return Err(Error::Validation(problems).into());
    }
    patch.default_preferences = b.default_user_preferences.map(Into::into);
    s.core
        .modify_organization(&caller.ctx, &organization, patch)
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Delete an organization and all of its data.
#[utoipa::path(
    delete,
    path = "/v1/{organization}/organization/",
    operation_id = "delete-organization",
    tag = "Organization",
    params(("organization" = String, Path, description = "The organization's id."), crate::openapi::params::VendorHeaders),
    responses((status = 204, description = "Succeeded")),
    security(("Bearer-Authorization" = []), ("Bearer-Authorization" = [], "Bearer-Authorization-Organization" = []), ("Basic" = []))
)]
pub async fn delete_organization(
    State(s): State<AppState>,
    Path(organization): Path<String>,
    caller: Caller,
) -> Result<Response> {
    s.core
        .delete_organization(&caller.ctx, &organization)
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Create an API key (1 to 90 days) for a role the caller outranks; the secret is shown once.
#[utoipa::path(
    post,
    path = "/v1/{organization}/organization/api_key/",
    operation_id = "create-api-key",
    tag = "Organization",
    params(("organization" = String, Path, description = "The organization's id."), crate::openapi::params::VendorHeaders),
    request_body = crate::openapi::vendor::CreateApiKeyRequest,
    responses((status = 201, description = "Succeeded", body = crate::openapi::vendor::CreateApiKeyResponse)),
    security(("Bearer-Authorization" = []), ("Bearer-Authorization" = [], "Bearer-Authorization-Organization" = []), ("Basic" = []))
)]
pub async fn create_api_key(
    State(s): State<AppState>,
    Path(organization): Path<String>,
    caller: Caller,
    Body(b): Body<CreateApiKey>,
) -> Result<Response> {
    let secs = parse_duration(&b.duration).ok_or_else(|| {
        Error::field(
            Location::Body,
            "duration",
            "duration_parsing",
            "duration must be an ISO 8601 duration such as P30D",
        )
    })?;
    let name = b.name.map(|n| n.trim().to_owned());
    if name.as_deref() == Some("") {
        return Err(Error::field(
            Location::Body,
            "name",
            "string_too_short",
            "name must not be empty",
        )
        .into());
    }
    let created = s
        .core
        .create_api_key(&caller.ctx, &organization, name, secs, &b.role_name)
        .await?;
    let out = CreatedApiKey {
        api_key_id: created.key.key_id,
        api_key: created.secret,
        expires_at: format_micros(created.key.expires_at),
    };
    Ok((StatusCode::CREATED, Json(out)).into_response())
}

/// The organization's API keys visible to the caller (never their secrets).
#[utoipa::path(
    get,
    path = "/v1/{organization}/organization/api_key/",
    operation_id = "get-api-keys",
    tag = "Organization",
    params(("organization" = String, Path, description = "The organization's id."), crate::openapi::params::VendorHeaders),
    responses((status = 200, description = "Succeeded", body = crate::openapi::vendor::GetApiKeysResponse)),
    security(("Bearer-Authorization" = []), ("Bearer-Authorization" = [], "Bearer-Authorization-Organization" = []), ("Basic" = []))
)]
pub async fn get_api_keys(
    State(s): State<AppState>,
    Path(organization): Path<String>,
    caller: Caller,
) -> Result<Response> {
    let keys = s.core.list_api_keys(&caller.ctx, &organization).await?;
    let keys: Vec<ApiKeyInstance> = keys.into_iter().map(Into::into).collect();
    Ok(Json(json!({ "api_keys": keys })).into_response())
}

/// Delete an API key; tokens it issued keep working until they expire.
#[utoipa::path(
    delete,
    path = "/v1/{organization}/organization/api_key/{api_key_id}/",
    operation_id = "delete-api-key",
    tag = "Organization",
    params(("organization" = String, Path, description = "The organization's id."), ("api_key_id" = String, Path, description = "The id of the API key."), crate::openapi::params::VendorHeaders),
    responses((status = 200, description = "Succeeded", body = crate::openapi::vendor::DeleteApiKeyResponse)),
    security(("Bearer-Authorization" = []), ("Bearer-Authorization" = [], "Bearer-Authorization-Organization" = []), ("Basic" = []))
)]
pub async fn delete_api_key(
    State(s): State<AppState>,
    Path((organization, api_key_id)): Path<(String, String)>,
    caller: Caller,
) -> Result<Response> {
    s.core
        .delete_api_key(&caller.ctx, &organization, &api_key_id)
        .await?;
    Ok(Json(json!({ "deleted_key_id": api_key_id })).into_response())
}
