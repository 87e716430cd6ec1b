//! User endpoints: invite, list, search, sign-in, update, delete, variables, models, memories.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use roster_domain::core::{
    DeleteOutcome, InviteInput, ListUsersInput, MemoriesInput, UserUpdate, VariableChanges,
};
use roster_domain::types::format_micros;
use roster_domain::Error;
use serde_json::json;

use super::dto::*;
use super::{Body, Caller, PathArgs, Req, Result};
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
pub async fn invite(
    State(s): State<AppState>,
    PathArgs(p): PathArgs,
    caller: Caller,
    Body(b): Body<Invite>,
) -> Result<Response> {
    caller.limit(&s, "create-invited-user").await?;
    if b.login_link.is_some() {
        s.limits.check_address(&b.email, caller.key()).await?;
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
    let (user, verify_link) = s.core.invite_user(&caller.ctx, &p[0], input).await?;
    Ok((
        StatusCode::CREATED,
        Json(Invited {
            user_id: user.id,
            verify_link,
        }),
    )
        .into_response())
}

/// Get users, filtered, sorted on any documented field, paged by an integer continuation token.
pub async fn list(
    State(s): State<AppState>,
    PathArgs(p): PathArgs,
    caller: Caller,
    req: Req,
) -> Result<Response> {
    caller.limit(&s, "get-users").await?;
    let q = &req.query;
    let mut problems = Vec::new();
    let (limit, token) = q.page(100, &mut problems);
    let is_verified = q.bool("is_verified", &mut problems);
    check(problems)?;
    let input = ListUsersInput {
        ids: q.all("user_id"),
        emails: q.all("email"),
        is_verified,
        limit,
        continuation_token: token,
        sort_by: q.all("sort_by"),
    };
    let page = s.core.list_users(&caller.ctx, &p[0], input).await?;
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
pub async fn sign_in_with_api_key(
    State(s): State<AppState>,
    PathArgs(p): PathArgs,
    req: Req,
) -> Result<Response> {
    let key = req.header("x-api-key")?;
    let key_id = req.header("x-api-key-id")?;
    let user_id = req.header("x-user-id")?;
    s.limits
        .check("sign-in-with-api-key", &format!("key:{key_id}"))
        .await?;
    let who = s
        .core
        .sign_in_with_api_key(&req.request_id, &p[0], &key_id, &key, &user_id)
        .await?;
    let (token, exp) = s
        .keys
        .sign(&who.org_id, &who.user_id, who.method.amr())
        .map_err(Error::Internal)?;
    Ok(Json(SignedIn {
        id_token: token,
        expires_at: format_micros(exp * 1_000_000),
    })
    .into_response())
}

/// Email a one-time sign-in link to a verified user; unknown emails get the same answer.
pub async fn sign_in_with_email(
    State(s): State<AppState>,
    PathArgs(p): PathArgs,
    req: Req,
    Body(b): Body<SignInWithEmail>,
) -> Result<Response> {
    s.limits
        .check("sign-in-with-email", &format!("ip:{}", req.client_ip))
        .await?;
    s.limits
        .check_address(&b.email, &format!("ip:{}", req.client_ip))
        .await?;
    s.core
        .sign_in_with_email(&req.request_id, &p[0], &b.email, &b.redirect_link)
        .await?;
    Ok(Json(serde_json::Value::Null).into_response())
}

/// Search users whose name or email contains the query.
pub async fn search(
    State(s): State<AppState>,
    PathArgs(p): PathArgs,
    caller: Caller,
    req: Req,
) -> Result<Response> {
    caller.limit(&s, "search-users").await?;
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
    let users = s
        .core
        .search_users(&caller.ctx, &p[0], &query, req.query.all("user_id"))
        .await?;
    let users: Vec<UserInstance> = users
        .into_iter()
        .map(|u| UserInstance::new(u, false))
        .collect();
    Ok(Json(json!({ "users": users })).into_response())
}

/// Update a user: absent fields (and `{}` for the language and time zone) are left alone.
pub async fn update(
    State(s): State<AppState>,
    PathArgs(p): PathArgs,
    caller: Caller,
    Body(b): Body<UpdateUser>,
) -> Result<Response> {
    caller.limit(&s, "update-user-info").await?;
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
        .update_user(&caller.ctx, &p[0], &p[1], update)
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Delete a user: 204 when erased; 200 with `not_deletable_reasons` when kept as a soft delete.
pub async fn delete(
    State(s): State<AppState>,
    PathArgs(p): PathArgs,
    caller: Caller,
) -> Result<Response> {
    caller.limit(&s, "delete-user").await?;
    match s.core.delete_user(&caller.ctx, &p[0], &p[1]).await? {
        DeleteOutcome::Hard => Ok(StatusCode::NO_CONTENT.into_response()),
        DeleteOutcome::Soft(reasons) => {
            Ok(Json(json!({ "not_deletable_reasons": reasons })).into_response())
        }
    }
}

/// Upsert or delete a user's variables; secret values are never returned.
pub async fn variables(
    State(s): State<AppState>,
    PathArgs(p): PathArgs,
    caller: Caller,
    Body(b): Body<ModifyVariables>,
) -> Result<Response> {
    caller.limit(&s, "modify-user-variables").await?;
    let changes = VariableChanges {
        upserts: b
            .upserts
            .into_iter()
            .map(|u| (u.name, u.value, u.is_secret))
            .collect(),
        deletes: b.deletes.into_iter().map(|d| d.name).collect(),
    };
    s.core
        .modify_variables(&caller.ctx, &p[0], &p[1], changes)
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// The latest user models of a user and their additional context.
pub async fn user_model(
    State(s): State<AppState>,
    PathArgs(p): PathArgs,
    caller: Caller,
) -> Result<Response> {
    caller.limit(&s, "get-user-model").await?;
    let (models, additional_context) = s.core.get_user_model(&caller.ctx, &p[0], &p[1]).await?;
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
pub async fn memories(
    State(s): State<AppState>,
    PathArgs(p): PathArgs,
    caller: Caller,
    req: Req,
) -> Result<Response> {
    caller.limit(&s, "get-memories").await?;
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
        .get_memories(&caller.ctx, &p[0], &p[1], input)
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
