//! User endpoints: invite, list, search, sign-in, update, delete, variables, models, memories.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use roster_domain::core::{
    DeleteOutcome, InviteInput, ListUsersInput, MemoriesInput, UserUpdate, VariableChanges,
};
use roster_domain::types::format_micros;
use roster_domain::types::UserId;
use roster_domain::Error;
use serde_json::json;

use super::dto::*;
use crate::error::Result;
use crate::extract::{Body, Caller, Path, Req};
use crate::state::AppState;

fn check(problems: Vec<roster_domain::FieldError>) -> Result<()> {
    if problems.is_empty() {
        Ok(())
    } else {
        Err(Error::Validation(problems).into())
    }
}

/// Invite a user: created unverified with the role, a `verify_link` returned, and when
/// `login_link` is given an invitation email queued.
#[utoipa::path(
    post,
    path = "/v1/{organization}/user/",
    operation_id = "create-invited-user",
    tag = "User",
    params(("organization" = String, Path, description = "The organization's id."), crate::openapi::params::VendorHeaders),
    request_body = crate::openapi::vendor::CreateInvitedUserRequest,
    responses((status = 201, description = "Succeeded", body = crate::openapi::vendor::CreateInvitedUserResponse)),
    security(("Bearer-Authorization" = []), ("Bearer-Authorization" = [], "Bearer-Authorization-Organization" = []), ("Basic" = []))
)]
pub async fn invite(
    State(s): State<AppState>,
    Path(organization): Path<String>,
    caller: Caller,
    Body(b): Body<Invite>,
) -> Result<Response> {
    if b.login_link.is_some() {
        s.limits
            .check_address(&s.core.find_org(&organization).await?.id, &b.email)
            .await?;
    }
    let input = InviteInput {
        first_name: b.first_name,
        last_name: b.last_name,
        email: b.email,
        login_link: b.login_link,
        role_name: b.role_name,
        nonsensitive_variables: b.nonsensitive_user_variables,
        sensitive_variables: b.sensitive_user_variables,
        preferences: b.user_preferences.map(Into::into),
    };
    let (user, verify_link) = s
        .core
        .invite_user(&caller.ctx, &organization, input)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(Invited {
            user_id: user.id.into(),
            verify_link,
        }),
    )
        .into_response())
}

/// The users a listing is limited to: the `user_id` values of its query.
fn user_ids(req: &Req) -> Vec<UserId> {
    req.query
        .all("user_id")
        .into_iter()
        .map(UserId::from)
        .collect()
}

/// Get users, filtered, sorted on any documented field, paged by an integer continuation token.
#[utoipa::path(
    get,
    path = "/v1/{organization}/user/",
    operation_id = "get-users",
    tag = "User",
    params(("organization" = String, Path, description = "The organization's id."), ("user_id" = Option<Vec<String>>, Query, description = "The IDs of the users."), ("email" = Option<Vec<String>>, Query, description = "The emails of the users."), ("is_verified" = Option<bool>, Query, description = "Roster: only verified (true) or unverified (false) users."), ("limit" = Option<i64>, Query, description = "The maximum number of users to retrieve (0 to 100)."), ("continuation_token" = Option<i64>, Query, description = "The token from the previous request."), ("sort_by" = Option<Vec<String>>, Query, description = "Fields to sort by, `+` or `-` prefixed."), crate::openapi::params::VendorHeaders),
    responses((status = 200, description = "Succeeded", body = crate::openapi::vendor::GetUsersResponse)),
    security(("Bearer-Authorization" = []), ("Bearer-Authorization" = [], "Bearer-Authorization-Organization" = []), ("Basic" = []))
)]
pub async fn list(
    State(s): State<AppState>,
    Path(organization): Path<String>,
    caller: Caller,
    req: Req,
) -> Result<Response> {
    let q = &req.query;
    let mut problems = Vec::new();
    let (limit, token) = q.page(100, &mut problems);
    let is_verified = q.bool("is_verified", &mut problems);
    check(problems)?;
    let input = ListUsersInput {
        ids: user_ids(&req),
        emails: q.all("email"),
        is_verified,
        limit,
        continuation_token: token,
        sort_by: q.all("sort_by"),
    };
    let page = s.core.list_users(&caller.ctx, &organization, input).await?;
    Ok(Json(UsersPage {
        users: page
            .items
            .into_iter()
            .map(|u| UserInstance::new(u, true))
            .collect(),
        has_more: page.has_more,
        continuation_token: page.continuation_token,
    })
    .into_response())
}

/// Sign in as a user with an organization API key; answers an access token.
#[utoipa::path(
    post,
    path = "/v1/{organization}/user/signin_with_api_key",
    operation_id = "sign-in-with-api-key",
    tag = "User",
    params(("organization" = String, Path, description = "The organization's id."), ("x-api-key" = String, Header, description = "The API key."), ("x-api-key-id" = String, Header, description = "The API key's id."), ("x-user-id" = String, Header, description = "The user to sign in as."), crate::openapi::params::VendorHeaders),
    responses((status = 200, description = "Succeeded", body = crate::openapi::vendor::SignInWithApiKeyResponse)),
    security(("API-Key-Authorization-Key" = [], "API-Key-Authorization-ID" = [], "API-Key-Authorization-UserID" = []))
)]
pub async fn sign_in_with_api_key(
    State(s): State<AppState>,
    Path(organization): Path<String>,
    req: Req,
) -> Result<Response> {
    let key = req.header("x-api-key")?;
    let key_id = req.header("x-api-key-id")?;
    let user_id = req.header("x-user-id")?;
    // A key's budget is spent only by requests that hold its secret: failures count against
    // the client that sent them (which is refused before any check once over its budget), so
    // nobody who merely knows a key id can block its holder.
    let client = format!("ip:{}", req.client_ip);
    s.limits.check_failures("sign-in-with-api-key", &client)?;
    let who = match s
        .core
        .sign_in_with_api_key(
            &req.request_id,
            &organization,
            &key_id,
            &key,
            &UserId::from(&user_id),
        )
        .await
    {
        Ok(who) => who,
        Err(e @ Error::Unauthenticated) => {
            s.limits
                .charge_failure("sign-in-with-api-key", &client)
                .await?;
            return Err(e.into());
        }
        Err(e) => return Err(e.into()),
    };
    s.limits
        .check("sign-in-with-api-key", &format!("key:{key_id}"))
        .await?;
    let (token, exp) = s.keys.sign_session(&who).map_err(Error::Internal)?;
    Ok(Json(SignedIn {
        id_token: token,
        expires_at: format_micros(exp * 1_000_000),
    })
    .into_response())
}

/// Email a one-time sign-in link to a verified user; unknown emails get the same answer.
#[utoipa::path(
    post,
    path = "/v1/{organization}/user/signin",
    operation_id = "sign-in-with-email",
    tag = "User",
    params(("organization" = String, Path, description = "The organization's id."), crate::openapi::params::VendorHeaders),
    request_body = crate::openapi::vendor::SignInWithEmailRequest,
    responses((status = 200, description = "Succeeded: always `null`, whether or not the email belongs to a user", body = crate::openapi::JsonNull)),
    security(())
)]
pub async fn sign_in_with_email(
    State(s): State<AppState>,
    Path(organization): Path<String>,
    req: Req,
    Body(b): Body<SignInWithEmail>,
) -> Result<Response> {
    s.limits
        .check_address(&s.core.find_org(&organization).await?.id, &b.email)
        .await?;
    s.core
        .sign_in_with_email(&req.request_id, &organization, &b.email, &b.redirect_link)
        .await?;
    Ok(Json(serde_json::Value::Null).into_response())
}

/// Search users whose name or email contains the query.
#[utoipa::path(
    get,
    path = "/v1/{organization}/user/search/",
    operation_id = "search-users",
    tag = "User",
    params(("organization" = String, Path, description = "The organization's id."), ("query" = String, Query, description = "Users whose name or email contains it."), ("user_id" = Option<Vec<String>>, Query, description = "The IDs of the users."), crate::openapi::params::VendorHeaders),
    responses((status = 200, description = "Succeeded; at most `ROSTER_SEARCH_LIMIT` users (100 by default), by name", body = crate::openapi::vendor::SearchUsersResponse, headers(
        ("X-Result-Truncated" = bool, description = "`true` when more users matched than the answer holds: narrow the query"),
        ("X-Result-Limit" = u32, description = "The most users one search returns on this server")
    ))),
    security(("Bearer-Authorization" = []), ("Bearer-Authorization" = [], "Bearer-Authorization-Organization" = []), ("Basic" = []))
)]
pub async fn search(
    State(s): State<AppState>,
    Path(organization): Path<String>,
    caller: Caller,
    req: Req,
) -> Result<Response> {
    let query = req
        .query
        .one("query")
        .ok_or_else(|| {
            Error::field(
                roster_domain::Location::Query,
                "query",
                "missing",
                "Field required",
            )
        })?
        .to_owned();
    let found = s
        .core
        .search_users(&caller.ctx, &organization, &query, user_ids(&req))
        .await?;
    let users: Vec<UserInstance> = found
        .users
        .into_iter()
        .map(|u| UserInstance::new(u, false))
        .collect();
    // The vendor's body has no room for it: whether the answer was cut goes in headers.
    let headers = [
        ("x-result-truncated", found.truncated.to_string()),
        ("x-result-limit", found.limit.to_string()),
    ];
    Ok((headers, Json(json!({ "users": users }))).into_response())
}

/// Update a user: absent fields (and `{}` for the language and time zone) are left alone.
#[utoipa::path(
    post,
    path = "/v1/{organization}/user/{requested_user_id}",
    operation_id = "update-user-info",
    tag = "User",
    params(("requested_user_id" = String, Path, description = "The user to update."), ("organization" = String, Path, description = "The organization's id."), crate::openapi::params::VendorHeaders),
    request_body = crate::openapi::vendor::UpdateUserInfoRequest,
    responses((status = 204, description = "Succeeded")),
    security(("Bearer-Authorization" = []), ("Bearer-Authorization" = [], "Bearer-Authorization-Organization" = []), ("Basic" = []))
)]
pub async fn update(
    State(s): State<AppState>,
    Path((organization, requested_user_id)): Path<(String, String)>,
    caller: Caller,
    Body(b): Body<UpdateUser>,
) -> Result<Response> {
    let update = UserUpdate {
        first_name: b.first_name,
        last_name: b.last_name,
        enable_response_recommendation: b.enable_response_recommendation,
        preferred_language: b.preferred_language,
        timezone: b.timezone,
        conversations_visible_to_admins: b.conversations_visible_to_admins,
        user_model_visible_to_admins: b.user_model_visible_to_admins,
        additional_context: b.additional_context,
        audio_keyterms: b.audio_keyterms,
    };
    s.core
        .update_user(
            &caller.ctx,
            &organization,
            &UserId::from(&requested_user_id),
            update,
        )
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Delete a user: 204 when erased; 200 with `not_deletable_reasons` when kept as a soft delete.
#[utoipa::path(
    delete,
    path = "/v1/{organization}/user/{requested_user_id}",
    operation_id = "delete-user",
    tag = "User",
    params(("requested_user_id" = String, Path, description = "The user to delete."), ("organization" = String, Path, description = "The organization's id."), crate::openapi::params::VendorHeaders),
    responses((status = 204, description = "Erased"), (status = 200, description = "Kept as a soft delete (Roster)", body = NotDeletable)),
    security(("Bearer-Authorization" = []), ("Bearer-Authorization" = [], "Bearer-Authorization-Organization" = []), ("Basic" = []))
)]
pub async fn delete(
    State(s): State<AppState>,
    Path((organization, requested_user_id)): Path<(String, String)>,
    caller: Caller,
) -> Result<Response> {
    match s
        .core
        .delete_user(
            &caller.ctx,
            &organization,
            &UserId::from(&requested_user_id),
        )
        .await?
    {
        DeleteOutcome::Hard => Ok(StatusCode::NO_CONTENT.into_response()),
        DeleteOutcome::Soft(reasons) => Ok(Json(NotDeletable {
            not_deletable_reasons: reasons,
        })
        .into_response()),
    }
}

/// Upsert or delete a user's variables; secret values are never returned.
#[utoipa::path(
    post,
    path = "/v1/{organization}/user/{requested_user_id}/variable",
    operation_id = "modify-user-variables",
    tag = "User",
    params(("organization" = String, Path, description = "The organization's id."), ("requested_user_id" = String, Path, description = "The user whose variables change."), crate::openapi::params::VendorHeaders),
    request_body = crate::openapi::vendor::ModifyUserVariablesRequest,
    responses((status = 204, description = "Succeeded")),
    security(("Bearer-Authorization" = []), ("Bearer-Authorization" = [], "Bearer-Authorization-Organization" = []), ("Basic" = []))
)]
pub async fn variables(
    State(s): State<AppState>,
    Path((organization, requested_user_id)): Path<(String, String)>,
    caller: Caller,
    Body(b): Body<ModifyVariables>,
) -> Result<Response> {
    let changes = VariableChanges {
        upserts: b
            .upserts
            .into_iter()
            .map(|u| (u.name, u.value, u.is_secret))
            .collect(),
        deletes: b.deletes.into_iter().map(|d| d.name).collect(),
    };
    s.core
        .modify_variables(
            &caller.ctx,
            &organization,
            &UserId::from(&requested_user_id),
            changes,
        )
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// The latest user models of a user and their additional context.
#[utoipa::path(
    get,
    path = "/v1/{organization}/user/{user_id}/user_model",
    operation_id = "get-user-model",
    tag = "User",
    params(("organization" = String, Path, description = "The organization's id."), ("user_id" = String, Path, description = "The user."), crate::openapi::params::VendorHeaders),
    responses((status = 200, description = "Succeeded", body = crate::openapi::vendor::GetUserModelResponse)),
    security(("Bearer-Authorization" = []), ("Bearer-Authorization" = [], "Bearer-Authorization-Organization" = []), ("Basic" = []))
)]
pub async fn user_model(
    State(s): State<AppState>,
    Path((organization, user_id)): Path<(String, String)>,
    caller: Caller,
) -> Result<Response> {
    let (models, additional_context) = s
        .core
        .get_user_model(&caller.ctx, &organization, &UserId::from(&user_id))
        .await?;
    let user_models = models
        .into_iter()
        .map(|m| UserModelOut {
            content: m.content,
            insight_ids: m.insight_ids,
            dimensions: m.dimensions,
        })
        .collect();
    Ok(Json(UserModels {
        user_models,
        additional_context,
    })
    .into_response())
}

/// A user's memories, filtered by id or conversation, paged by an integer token.
#[utoipa::path(
    get,
    path = "/v1/{organization}/user/{user_id}/memory",
    operation_id = "get-memories",
    tag = "User",
    params(("organization" = String, Path, description = "The organization's id."), ("user_id" = String, Path, description = "The user."), ("id" = Option<Vec<String>>, Query, description = "The IDs of the memories."), ("conversation_id" = Option<Vec<String>>, Query, description = "The conversations of the memories."), ("limit" = Option<i64>, Query, description = "The maximum number of memories (0 to 50)."), ("continuation_token" = Option<i64>, Query, description = "The token from the previous request."), ("sort_by" = Option<Vec<String>>, Query, description = "Fields to sort by, `+` or `-` prefixed."), crate::openapi::params::VendorHeaders),
    responses((status = 200, description = "Succeeded", body = crate::openapi::vendor::GetMemoriesResponse)),
    security(("Bearer-Authorization" = []), ("Bearer-Authorization" = [], "Bearer-Authorization-Organization" = []), ("Basic" = []))
)]
pub async fn memories(
    State(s): State<AppState>,
    Path((organization, user_id)): Path<(String, String)>,
    caller: Caller,
    req: Req,
) -> Result<Response> {
    let q = &req.query;
    let mut problems = Vec::new();
    let (limit, token) = q.page(50, &mut problems);
    check(problems)?;
    let input = MemoriesInput {
        ids: q.all("id"),
        conversation_ids: q.all("conversation_id"),
        limit,
        continuation_token: token,
        sort_by: q.all("sort_by"),
    };
    let page = s
        .core
        .get_memories(&caller.ctx, &organization, &UserId::from(&user_id), input)
        .await?;
    let memories = page
        .items
        .into_iter()
        .map(|m| MemoryInstance {
            id: m.id,
            created_at: format_micros(m.created_at),
            conversation_id: m.conversation_id,
            references: m.references,
            content: m.content,
            context: m.context,
        })
        .collect();
    Ok(Json(Memories {
        memories,
        has_more: page.has_more,
        continuation_token: page.continuation_token,
    })
    .into_response())
}

/// The seed's path for create-invited-user: the same operation.
#[utoipa::path(
    post,
    path = "/v1/{organization}/user/invite",
    operation_id = "create-invited-user-at-invite",
    tag = "Roster",
    params(("organization" = String, Path, description = "The organization's id."), crate::openapi::params::VendorHeaders),
    request_body = crate::openapi::vendor::CreateInvitedUserRequest,
    responses((status = 201, description = "Succeeded", body = crate::openapi::vendor::CreateInvitedUserResponse)),
    security(("Bearer-Authorization" = []), ("Bearer-Authorization" = [], "Bearer-Authorization-Organization" = []), ("Basic" = []))
)]
pub async fn invite_at_invite(
    s: State<AppState>,
    p: Path<String>,
    caller: Caller,
    b: Body<Invite>,
) -> Result<Response> {
    invite(s, p, caller, b).await
}

/// The seed's path for update-user-info: the same operation.
#[utoipa::path(
    post,
    path = "/v1/{organization}/user/{requested_user_id}/user",
    operation_id = "update-user-info-at-user",
    tag = "Roster",
    params(("organization" = String, Path, description = "The organization's id."), ("requested_user_id" = String, Path, description = "The user to update."), crate::openapi::params::VendorHeaders),
    request_body = crate::openapi::vendor::UpdateUserInfoRequest,
    responses((status = 204, description = "Succeeded")),
    security(("Bearer-Authorization" = []), ("Bearer-Authorization" = [], "Bearer-Authorization-Organization" = []), ("Basic" = []))
)]
pub async fn update_at_user(
    s: State<AppState>,
    p: Path<(String, String)>,
    caller: Caller,
    b: Body<UpdateUser>,
) -> Result<Response> {
    update(s, p, caller, b).await
}
