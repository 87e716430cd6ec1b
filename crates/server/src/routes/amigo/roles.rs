//! Role endpoints: create, list, modify, assign, and temporary permission grants.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use roster_domain::core::{GrantInput, RoleInput, RolePatch};
use roster_domain::paging::{GrantQuery, PageRequest, Position};
use roster_domain::types::UserId;
use roster_domain::types::{format_micros, now_micros};
use roster_domain::{Error, FieldError, Location};
use serde_json::json;

use super::dto::*;
use crate::error::Result;
use crate::extract::parse_duration;
use crate::extract::{Body, Caller, Path, Req};
use crate::state::AppState;

/// Create a role the caller outranks.
#[utoipa::path(
    post,
    path = "/v1/{organization}/role/",
    operation_id = "create-role",
    tag = "Role",
    params(("organization" = String, Path, description = "The organization's id."), crate::openapi::params::VendorHeaders),
    request_body = crate::openapi::vendor::CreateRoleRequest,
    responses((status = 201, description = "Succeeded", body = crate::openapi::vendor::CreateRoleResponse)),
    security(("Bearer-Authorization" = []), ("Bearer-Authorization" = [], "Bearer-Authorization-Organization" = []), ("Basic" = []))
)]
pub async fn create(
    State(s): State<AppState>,
    Path(organization): Path<String>,
    caller: Caller,
    Body(b): Body<CreateRole>,
) -> Result<Response> {
    let input = RoleInput {
        name: b.role_name,
        description: b.description,
        grants: b.permission_grants,
        frontend_view: b.frontend_view,
    };
    let role = s
        .core
        .create_role(&caller.ctx, &organization, input)
        .await?;
    Ok((StatusCode::CREATED, Json(RoleId { role_id: role.id })).into_response())
}

/// The organization's roles, with their grants when `return_permission_grants` is true.
#[utoipa::path(
    get,
    path = "/v1/{organization}/role/",
    operation_id = "get_roles_v1__organization__role__get",
    tag = "Role",
    params(("organization" = String, Path, description = "The organization's id."), ("return_permission_grants" = Option<bool>, Query, description = "Whether to return permission grants."), ("id" = Option<Vec<String>>, Query, description = "The IDs of the roles."), ("name" = Option<Vec<String>>, Query, description = "The names of the roles."), crate::openapi::params::VendorHeaders),
    responses((status = 200, description = "Succeeded", body = crate::openapi::vendor::GetRolesResponse)),
    security(("Bearer-Authorization" = []), ("Bearer-Authorization" = [], "Bearer-Authorization-Organization" = []), ("Basic" = []))
)]
pub async fn list(
    State(s): State<AppState>,
    Path(organization): Path<String>,
    caller: Caller,
    req: Req,
) -> Result<Response> {
    let mut problems = Vec::new();
    let with_grants = req
        .query
        .bool("return_permission_grants", &mut problems)
        .unwrap_or(false);
    if !problems.is_empty() {
        return Err(Error::Validation(problems).into());
    }
    let roles = s
        .core
        .list_roles(
            &caller.ctx,
            &organization,
            &req.query.all("id"),
            &req.query.all("name"),
        )
        .await?;
    let roles: Vec<RoleInstance> = roles
        .into_iter()
        .map(|r| RoleInstance {
            id: r.id,
            name: r.name,
            description: r.description,
            frontend_view: r.frontend_view,
            permission_grants: if with_grants { r.grants } else { Vec::new() },
        })
        .collect();
    Ok(Json(json!({ "roles": roles })).into_response())
}

/// Modify a role's description, grants or frontend view. The role keeps its id.
#[utoipa::path(
    post,
    path = "/v1/{organization}/role/{role_name}",
    operation_id = "modify-role",
    tag = "Role",
    params(("role_name" = String, Path, description = "The role to modify."), ("organization" = String, Path, description = "The organization's id."), crate::openapi::params::VendorHeaders),
    request_body = crate::openapi::vendor::ModifyRoleRequest,
    responses((status = 200, description = "Succeeded", body = crate::openapi::vendor::ModifyRoleResponse)),
    security(("Bearer-Authorization" = []), ("Bearer-Authorization" = [], "Bearer-Authorization-Organization" = []), ("Basic" = []))
)]
pub async fn modify(
    State(s): State<AppState>,
    Path((organization, role_name)): Path<(String, String)>,
    caller: Caller,
    Body(b): Body<ModifyRole>,
) -> Result<Response> {
    let patch = RolePatch {
        description: b.description,
        grants: b.permission_grants,
        frontend_view: b.frontend_view,
    };
    let role = s
        .core
        .modify_role(&caller.ctx, &organization, &role_name, patch)
        .await?;
    Ok(Json(RoleId { role_id: role.id }).into_response())
}

/// Assign a role to a user, replacing their current one.
#[utoipa::path(
    post,
    path = "/v1/{organization}/role/{role_name}/assign",
    operation_id = "assign-role",
    tag = "Role",
    params(("organization" = String, Path, description = "The organization's id."), ("role_name" = String, Path, description = "The role to assign."), crate::openapi::params::VendorHeaders),
    request_body = crate::openapi::vendor::AssignRoleRequest,
    responses((status = 200, description = "Succeeded", body = crate::openapi::vendor::AssignRoleResponse)),
    security(("Bearer-Authorization" = []), ("Bearer-Authorization" = [], "Bearer-Authorization-Organization" = []), ("Basic" = []))
)]
pub async fn assign(
    State(s): State<AppState>,
    Path((organization, role_name)): Path<(String, String)>,
    caller: Caller,
    Body(b): Body<AssignRole>,
) -> Result<Response> {
    let role = s
        .core
        .assign_role(
            &caller.ctx,
            &organization,
            &role_name,
            &UserId::from(&b.user_id),
        )
        .await?;
    Ok(Json(RoleId { role_id: role.id }).into_response())
}

/// Lend a user one permission for a limited time.
#[utoipa::path(
    post,
    path = "/v1/{organization}/role/temporary_permission_grant/",
    operation_id = "create-temporary-permission-grant",
    tag = "Role",
    params(("organization" = String, Path, description = "The organization's id."), crate::openapi::params::VendorHeaders),
    request_body = crate::openapi::vendor::CreateGrantRequest,
    responses((status = 201, description = "Succeeded", body = crate::openapi::vendor::CreateGrantResponse)),
    security(("Bearer-Authorization" = []), ("Bearer-Authorization" = [], "Bearer-Authorization-Organization" = []), ("Basic" = []))
)]
pub async fn create_grant(
    State(s): State<AppState>,
    Path(organization): Path<String>,
    caller: Caller,
    Body(b): Body<CreateGrant>,
) -> Result<Response> {
    let secs = parse_duration(&b.duration).ok_or_else(|| {
        Error::field(
            Location::Body,
            "duration",
            "duration_parsing",
            "duration must be an ISO 8601 duration such as PT12H",
        )
    })?;
    let input = GrantInput {
        user_id: b.user_id,
        duration_secs: secs,
        grant: b.permission_grant,
        tags: b.tags,
        justification: b.justification,
    };
    let g = s
        .core
        .create_temporary_grant(&caller.ctx, &organization, input)
        .await?;
    let out = CreatedGrant {
        temporary_permission_grant_id: g.id,
        expires_at: format_micros(g.expires_at),
    };
    Ok((StatusCode::CREATED, Json(out)).into_response())
}

/// Temporary permission grants, filtered and paged.
#[utoipa::path(
    get,
    path = "/v1/{organization}/role/temporary_permission_grants/",
    operation_id = "get-temporary-permission-grants",
    tag = "Role",
    params(("organization" = String, Path, description = "The organization's id."), ("id" = Option<Vec<String>>, Query, description = "The IDs of the grants."), ("user_id" = Option<Vec<String>>, Query, description = "The users of the grants."), ("permission_grant_name" = Option<String>, Query, description = "The permission name of the grants."), ("is_expired" = Option<bool>, Query, description = "Only expired (true) or unexpired (false) grants."), ("limit" = Option<i64>, Query, description = "The maximum number of grants (0 to 10)."), ("continuation_token" = Option<i64>, Query, description = "The token from the previous request."), ("creator" = Option<Vec<String>>, Query, description = "The creators of the grants."), ("tag" = Option<Vec<String>>, Query, description = "Tags, `key:value` or `key:`."), ("sort_by" = Option<Vec<String>>, Query, description = "Fields to sort by, `+` or `-` prefixed."), crate::openapi::params::VendorHeaders),
    responses((status = 200, description = "Succeeded", body = crate::openapi::vendor::GetGrantsResponse)),
    security(("Bearer-Authorization" = []), ("Bearer-Authorization" = [], "Bearer-Authorization-Organization" = []), ("Basic" = []))
)]
pub async fn list_grants(
    State(s): State<AppState>,
    Path(organization): Path<String>,
    caller: Caller,
    req: Req,
) -> Result<Response> {
    let q = &req.query;
    let mut problems = Vec::new();
    let (limit, token) = q.page(10, &mut problems);
    let expired = q.bool("is_expired", &mut problems);
    let mut tags = Vec::new();
    for t in q.all("tag") {
        match t.split_once(':') {
            Some((k, "*")) => tags.push((k.to_owned(), None)),
            Some((k, "")) => tags.push((k.to_owned(), Some(None))),
            Some((k, v)) => tags.push((k.to_owned(), Some(Some(v.to_owned())))),
            None => problems.push(FieldError::query(
                "tag",
                "value_error",
                format!("tag '{t}' must be written key:value"),
            )),
        }
    }
    for bad in q
        .all("id")
        .iter()
        .filter(|i| !roster_domain::types::is_object_id(i))
    {
        problems.push(FieldError::query(
            "id",
            "string_pattern_mismatch",
            format!("'{bad}' must match ^[a-f0-9]{{24}}$"),
        ));
    }
    if !problems.is_empty() {
        return Err(Error::Validation(problems).into());
    }
    let query = GrantQuery {
        ids: q.all("id"),
        user_ids: q.all("user_id"),
        permission_name: q.one("permission_grant_name").map(str::to_owned),
        creators: q.all("creator"),
        expired,
        now: now_micros(),
        tags,
        page: PageRequest {
            sort: Vec::new(),
            position: Position::Start,
            limit,
        },
    };
    let page = s
        .core
        .list_temporary_grants(&caller.ctx, &organization, query, token, &q.all("sort_by"))
        .await?;
    Ok(Json(Grants {
        temporary_permission_grants: page.items.into_iter().map(Into::into).collect(),
        has_more: page.has_more,
        continuation_token: page.continuation_token,
    })
    .into_response())
}
