//! The ingestion API: the conversation platform writes user statistics, user models and memories.
//! Authenticated service-to-service with the bearer secret `ROSTER_INGEST_TOKEN`; see `docs/ingestion.md`.

use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use roster_domain::core::{Actor, Context};
use roster_domain::model::{Dimension, UserStats};
use roster_domain::secrets::{constant_time_eq, hash_secret};
use roster_domain::types::UserId;
use roster_domain::{Error, Location};
use serde::{Deserialize, Serialize};
use utoipa::openapi::OpenApi;
use utoipa::ToSchema;
use utoipa_axum::routes;

use crate::error::{ApiError, Result};
use crate::extract::request_id;
use crate::extract::{Body, Path};
use crate::openapi::errors::Shape;
use crate::state::AppState;
use crate::surface::{Finished, Policy, Surface, SurfaceRouter};

/// The ingestion API's errors are FastAPI-shaped; its metrics have their own label.
pub const SURFACE: Surface = Surface {
    name: "ingest",
    render: super::amigo::render,
    shape: Shape::FastApi,
    closes_for_maintenance: true,
};

/// Its caller is the platform (one shared secret, not an account): counted per client address.
const POLICIES: &[(&str, Policy)] = &[
    ("ingest-user-stats", Policy::Client("ingest")),
    ("ingest-user-model", Policy::Client("ingest")),
    ("ingest-memories", Policy::Client("ingest")),
    ("ingest-environment", Policy::Client("ingest")),
    ("ingest-bot", Policy::Client("ingest")),
];

pub fn router() -> Finished {
    SurfaceRouter::new(SURFACE, OpenApi::default(), POLICIES)
        .routes(routes!(stats))
        .routes(routes!(user_model))
        .routes(routes!(memories))
        .routes(routes!(environment))
        .routes(routes!(bot))
        .owns("/ingest/")
        .finish()
}

/// The id of what was created.
#[derive(Serialize, ToSchema)]
struct Created {
    id: String,
}

/// The ids of what was created, in the request's order.
#[derive(Serialize, ToSchema)]
struct CreatedMany {
    ids: Vec<String>,
}

/// The conversation platform, authenticated by the shared ingestion secret.
pub struct Service(Context);

impl FromRequestParts<AppState> for Service {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, s: &AppState) -> Result<Self> {
        let expected = s
            .config
            .ingest_token
            .as_deref()
            .ok_or(Error::NotFound("ingestion API"))?;
        let presented = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, token)| token)
            .ok_or(Error::Unauthenticated)?;
        if !constant_time_eq(&hash_secret(presented.trim()), &hash_secret(expected)) {
            return Err(Error::Unauthenticated.into());
        }
        Ok(Self(Context::new(request_id(parts), Actor::Service)))
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct StatsIn {
    num_conversations: i64,
    num_messages: i64,
    last_message_time: Option<String>,
}

/// Replace a user's statistics.
#[utoipa::path(
    put,
    path = "/ingest/v1/{org}/users/{user_id}/stats",
    operation_id = "ingest-user-stats",
    tag = "Ingestion",
    params(("org" = String, Path, description = "The organization's id."), ("user_id" = String, Path, description = "The user.")),
    request_body = StatsIn,
    responses((status = 204, description = "Replaced")),
    security(("ingestToken" = []))
)]
async fn stats(
    State(s): State<AppState>,
    Path((org, user_id)): Path<(String, String)>,
    Service(ctx): Service,
    Body(b): Body<StatsIn>,
) -> Result<Response> {
    let last = match b.last_message_time {
        None => None,
        Some(t) => Some(
            chrono::DateTime::parse_from_rfc3339(&t)
                .map_err(|_| {
                    Error::field(
                        Location::Body,
                        "last_message_time",
                        "datetime_parsing",
                        "last_message_time must be an RFC 3339 date-time",
                    )
                })?
                .timestamp_micros(),
        ),
    };
    let stats = UserStats {
        num_conversations: b.num_conversations,
        num_messages: b.num_messages,
        last_message_at: last,
    };
    s.core
        .ingest_stats(&ctx, &org, &UserId::from(&user_id), stats)
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct UserModelIn {
    content: String,
    #[serde(default)]
    insight_ids: Vec<String>,
    /// `{"description": ..., "tags": [...]}` items.
    #[serde(default)]
    #[schema(value_type = Vec<Object>)]
    dimensions: Vec<Dimension>,
}

/// Add a user model; the newest ones are served by the Amigo `user_model` endpoint.
#[utoipa::path(
    post,
    path = "/ingest/v1/{org}/users/{user_id}/user_models",
    operation_id = "ingest-user-model",
    tag = "Ingestion",
    params(("org" = String, Path, description = "The organization's id."), ("user_id" = String, Path, description = "The user.")),
    request_body = UserModelIn,
    responses((status = 201, description = "Added", body = Created)),
    security(("ingestToken" = []))
)]
async fn user_model(
    State(s): State<AppState>,
    Path((org, user_id)): Path<(String, String)>,
    Service(ctx): Service,
    Body(b): Body<UserModelIn>,
) -> Result<Response> {
    let m = s
        .core
        .ingest_user_model(
            &ctx,
            &org,
            &UserId::from(&user_id),
            b.content,
            b.insight_ids,
            b.dimensions,
        )
        .await?;
    Ok((StatusCode::CREATED, Json(Created { id: m.id })).into_response())
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct MemoryIn {
    conversation_id: String,
    #[serde(default)]
    references: Vec<String>,
    content: String,
    #[serde(default)]
    context: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct MemoriesIn {
    memories: Vec<MemoryIn>,
}

/// Add memories of a user (1 to 500 at once, in one transaction).
#[utoipa::path(
    post,
    path = "/ingest/v1/{org}/users/{user_id}/memories",
    operation_id = "ingest-memories",
    tag = "Ingestion",
    params(("org" = String, Path, description = "The organization's id."), ("user_id" = String, Path, description = "The user.")),
    request_body = MemoriesIn,
    responses((status = 201, description = "Added", body = CreatedMany)),
    security(("ingestToken" = []))
)]
async fn memories(
    State(s): State<AppState>,
    Path((org, user_id)): Path<(String, String)>,
    Service(ctx): Service,
    Body(b): Body<MemoriesIn>,
) -> Result<Response> {
    let items = b
        .memories
        .into_iter()
        .map(|m| (m.conversation_id, m.references, m.content, m.context))
        .collect();
    let created = s
        .core
        .ingest_memories(&ctx, &org, &UserId::from(&user_id), items)
        .await?;
    let ids: Vec<String> = created.into_iter().map(|m| m.id).collect();
    Ok((StatusCode::CREATED, Json(CreatedMany { ids })).into_response())
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct EnvironmentIn {
    name: String,
    #[serde(default = "yes")]
    active: bool,
}

fn yes() -> bool {
    true
}

/// Create or update an environment (eva); users get roles in environments.
#[utoipa::path(
    put,
    path = "/ingest/v1/{org}/environments/{uuid}",
    operation_id = "ingest-environment",
    tag = "Ingestion",
    params(("org" = String, Path, description = "The organization's id."), ("uuid" = String, Path, description = "Its id in the conversation platform.")),
    request_body = EnvironmentIn,
    responses((status = 204, description = "Created or updated")),
    security(("ingestToken" = []))
)]
async fn environment(
    State(s): State<AppState>,
    Path((org, uuid)): Path<(String, String)>,
    Service(ctx): Service,
    Body(b): Body<EnvironmentIn>,
) -> Result<Response> {
    s.core
        .ingest_environment(&ctx, &org, &uuid, &b.name, b.active)
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct BotIn {
    environment_uuid: String,
    name: String,
    #[serde(default = "yes")]
    active: bool,
}

/// Create or update a bot of an environment (eva).
#[utoipa::path(
    put,
    path = "/ingest/v1/{org}/bots/{uuid}",
    operation_id = "ingest-bot",
    tag = "Ingestion",
    params(("org" = String, Path, description = "The organization's id."), ("uuid" = String, Path, description = "Its id in the conversation platform.")),
    request_body = BotIn,
    responses((status = 204, description = "Created or updated")),
    security(("ingestToken" = []))
)]
async fn bot(
    State(s): State<AppState>,
    Path((org, uuid)): Path<(String, String)>,
    Service(ctx): Service,
    Body(b): Body<BotIn>,
) -> Result<Response> {
    s.core
        .ingest_bot(&ctx, &org, &uuid, &b.environment_uuid, &b.name, b.active)
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
