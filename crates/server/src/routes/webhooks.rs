//! Webhook endpoints in Roster's administration API: `/admin/v1/orgs/{org}/webhooks...`.
//! The secret is shown by create and rotate-secret only.

use axum::extract::State;
use roster_domain::core::WebhookInput;
use roster_domain::types::format_micros;
use roster_domain::webhooks::{WebhookAttempt, WebhookEndpoint};
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
    ("create-webhook", Policy::Caller("administer")),
    ("list-webhooks", Policy::Caller("administer")),
    ("get-webhook", Policy::Caller("administer")),
    ("update-webhook", Policy::Caller("administer")),
    ("delete-webhook", Policy::Caller("administer")),
    ("rotate-webhook-secret", Policy::Caller("administer")),
    ("list-webhook-attempts", Policy::Caller("administer")),
    ("replay-webhook", Policy::Caller("administer")),
];

pub fn router() -> Finished {
    SurfaceRouter::new(super::native::SURFACE, OpenApi::default(), POLICIES)
        .routes(routes!(create_webhook, list_webhooks))
        .routes(routes!(get_webhook, update_webhook, delete_webhook))
        .routes(routes!(rotate_secret))
        .routes(routes!(list_attempts))
        .routes(routes!(replay))
        .finish()
}

/// A new endpoint. `types` empty or absent: every event type.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookCreate {
    url: String,
    #[serde(default)]
    types: Option<Vec<String>>,
    #[serde(default)]
    enabled: Option<bool>,
    #[serde(default)]
    description: Option<String>,
}

/// The fields to change; those absent stay. Enabling clears the failure run.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookPatch {
    url: Option<String>,
    types: Option<Vec<String>>,
    enabled: Option<bool>,
    description: Option<String>,
}

/// An endpoint as listed: never its secret.
#[derive(Serialize, ToSchema)]
pub struct WebhookOut {
    id: String,
    url: String,
    description: String,
    /// Event types delivered; empty: every type.
    types: Vec<String>,
    enabled: bool,
    /// Why Roster disabled it (410 Gone, a run of failures).
    disabled_reason: Option<String>,
    /// Failed attempts since the last success.
    failure_run: i64,
    /// RFC 3339: until when the previous secret also signs, after a rotation.
    previous_secret_until: Option<String>,
    created_at: String,
    updated_at: String,
}

impl From<&WebhookEndpoint> for WebhookOut {
    fn from(w: &WebhookEndpoint) -> Self {
        Self {
            id: w.id.clone(),
            url: w.url.clone(),
            description: w.description.clone(),
            types: w.types.clone(),
            enabled: w.enabled,
            disabled_reason: w.disabled_reason.clone(),
            failure_run: w.failure_run,
            previous_secret_until: w.previous_secret_until.map(format_micros),
            created_at: format_micros(w.created_at),
            updated_at: format_micros(w.updated_at),
        }
    }
}

/// An endpoint with its signing secret, shown this once.
#[derive(Serialize, ToSchema)]
pub struct WebhookWithSecret {
    #[serde(flatten)]
    endpoint: WebhookOut,
    /// `whsec_...`: verifies the `webhook-signature` of every delivery.
    secret: String,
}

#[derive(Serialize, ToSchema)]
pub struct WebhookList {
    webhooks: Vec<WebhookOut>,
}

/// How long the old secret keeps signing after a rotation (default a day, at most a week).
#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct RotateIn {
    overlap_secs: Option<i64>,
}

/// What to send again: one event (`event_id`, as in the feed) or every event since a time.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplayIn {
    event_id: Option<String>,
    /// RFC 3339.
    since: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct ReplayOut {
    /// Messages queued.
    queued: u64,
}

/// One delivery attempt.
#[derive(Serialize, ToSchema)]
pub struct AttemptOut {
    /// The `webhook-id`.
    message_id: Option<String>,
    /// The event's position in the feed.
    cursor: String,
    attempt: i64,
    started_at: String,
    /// The receiver's status; null when no answer came (see `error`).
    status_code: Option<i64>,
    error: Option<String>,
    latency_ms: i64,
    /// The first 512 bytes of the answer.
    response_excerpt: String,
}

impl From<&WebhookAttempt> for AttemptOut {
    fn from(a: &WebhookAttempt) -> Self {
        Self {
            message_id: a.event_id.as_ref().map(|id| format!("msg_{id}")),
            cursor: a.event_seq.to_string(),
            attempt: a.attempt,
            started_at: format_micros(a.started_at),
            status_code: a.status_code,
            error: a.error.clone(),
            latency_ms: a.latency_ms,
            response_excerpt: a.response_excerpt.clone(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct AttemptList {
    attempts: Vec<AttemptOut>,
}

/// Creates a webhook endpoint; the answer holds its secret, shown only here. Needs
/// `Organization:ModifyOrganization`.
#[utoipa::path(post, path = "/admin/v1/orgs/{org}/webhooks", operation_id = "create-webhook", tag = "Webhooks",
    params(("org" = String, Path, description = "The organization's id.")),
    request_body = WebhookCreate,
    responses((status = 201, description = "Created", body = WebhookWithSecret)),
    security(("bearerAuth" = [])))]
async fn create_webhook(
    State(s): State<AppState>,
    caller: Caller,
    Path(org): Path<String>,
    Body(b): Body<WebhookCreate>,
) -> Result<Reply<201, WebhookWithSecret>> {
    let input = WebhookInput {
        url: Some(b.url),
        types: b.types,
        enabled: b.enabled,
        description: b.description,
    };
    let w = s.core.create_webhook(&caller.ctx, &org, input).await?;
    let out = WebhookWithSecret {
        endpoint: WebhookOut::from(&w),
        secret: w.secret.clone(),
    };
    Ok(Reply(out))
}

/// The organization's webhook endpoints. Needs `Audit:GetAuditEvents`.
#[utoipa::path(get, path = "/admin/v1/orgs/{org}/webhooks", operation_id = "list-webhooks", tag = "Webhooks",
    params(("org" = String, Path, description = "The organization's id.")),
    responses((status = 200, description = "The endpoints", body = WebhookList)),
    security(("bearerAuth" = [])))]
async fn list_webhooks(
    State(s): State<AppState>,
    caller: Caller,
    Path(org): Path<String>,
) -> Result<Reply<200, WebhookList>> {
    let list = s.core.list_webhooks(&caller.ctx, &org).await?;
    Ok(Reply(WebhookList {
        webhooks: list.iter().map(WebhookOut::from).collect(),
    }))
}

/// One webhook endpoint. Needs `Audit:GetAuditEvents`.
#[utoipa::path(get, path = "/admin/v1/orgs/{org}/webhooks/{webhook_id}", operation_id = "get-webhook", tag = "Webhooks",
    params(("org" = String, Path, description = "The organization's id."), ("webhook_id" = String, Path, description = "The endpoint's id.")),
    responses((status = 200, description = "The endpoint", body = WebhookOut)),
    security(("bearerAuth" = [])))]
async fn get_webhook(
    State(s): State<AppState>,
    caller: Caller,
    Path((org, webhook_id)): Path<(String, String)>,
) -> Result<Reply<200, WebhookOut>> {
    let w = s.core.get_webhook(&caller.ctx, &org, &webhook_id).await?;
    Ok(Reply(WebhookOut::from(&w)))
}

/// Changes an endpoint's URL, types, description or enabled flag. Needs
/// `Organization:ModifyOrganization`.
#[utoipa::path(patch, path = "/admin/v1/orgs/{org}/webhooks/{webhook_id}", operation_id = "update-webhook", tag = "Webhooks",
    params(("org" = String, Path, description = "The organization's id."), ("webhook_id" = String, Path, description = "The endpoint's id.")),
    request_body = WebhookPatch,
    responses((status = 200, description = "The endpoint", body = WebhookOut)),
    security(("bearerAuth" = [])))]
async fn update_webhook(
    State(s): State<AppState>,
    caller: Caller,
    Path((org, webhook_id)): Path<(String, String)>,
    Body(b): Body<WebhookPatch>,
) -> Result<Reply<200, WebhookOut>> {
    let input = WebhookInput {
        url: b.url,
        types: b.types,
        enabled: b.enabled,
        description: b.description,
    };
    let w = s
        .core
        .update_webhook(&caller.ctx, &org, &webhook_id, input)
        .await?;
    Ok(Reply(WebhookOut::from(&w)))
}

/// Deletes an endpoint, its queued messages and its delivery log. Needs
/// `Organization:ModifyOrganization`.
#[utoipa::path(delete, path = "/admin/v1/orgs/{org}/webhooks/{webhook_id}", operation_id = "delete-webhook", tag = "Webhooks",
    params(("org" = String, Path, description = "The organization's id."), ("webhook_id" = String, Path, description = "The endpoint's id.")),
    responses((status = 204, description = "Deleted")),
    security(("bearerAuth" = [])))]
async fn delete_webhook(
    State(s): State<AppState>,
    caller: Caller,
    Path((org, webhook_id)): Path<(String, String)>,
) -> Result<NoContent> {
    s.core
        .delete_webhook(&caller.ctx, &org, &webhook_id)
        .await?;
    Ok(NoContent)
}

/// A new signing secret, shown this once; the previous one keeps signing for `overlap_secs`
/// (both signatures are sent meanwhile). Needs `Organization:ModifyOrganization`.
#[utoipa::path(post, path = "/admin/v1/orgs/{org}/webhooks/{webhook_id}/rotate-secret", operation_id = "rotate-webhook-secret", tag = "Webhooks",
    params(("org" = String, Path, description = "The organization's id."), ("webhook_id" = String, Path, description = "The endpoint's id.")),
    request_body = RotateIn,
    responses((status = 200, description = "The endpoint and its new secret", body = WebhookWithSecret)),
    security(("bearerAuth" = [])))]
async fn rotate_secret(
    State(s): State<AppState>,
    caller: Caller,
    Path((org, webhook_id)): Path<(String, String)>,
    Body(b): Body<RotateIn>,
) -> Result<Reply<200, WebhookWithSecret>> {
    let w = s
        .core
        .rotate_webhook_secret(&caller.ctx, &org, &webhook_id, b.overlap_secs)
        .await?;
    Ok(Reply(WebhookWithSecret {
        endpoint: WebhookOut::from(&w),
        secret: w.secret.clone(),
    }))
}

/// The endpoint's last 100 delivery attempts, newest first. Needs `Audit:GetAuditEvents`.
#[utoipa::path(get, path = "/admin/v1/orgs/{org}/webhooks/{webhook_id}/attempts", operation_id = "list-webhook-attempts", tag = "Webhooks",
    params(("org" = String, Path, description = "The organization's id."), ("webhook_id" = String, Path, description = "The endpoint's id.")),
    responses((status = 200, description = "The delivery log", body = AttemptList)),
    security(("bearerAuth" = [])))]
async fn list_attempts(
    State(s): State<AppState>,
    caller: Caller,
    Path((org, webhook_id)): Path<(String, String)>,
) -> Result<Reply<200, AttemptList>> {
    let list = s
        .core
        .webhook_attempts(&caller.ctx, &org, &webhook_id, 100)
        .await?;
    Ok(Reply(AttemptList {
        attempts: list.iter().map(AttemptOut::from).collect(),
    }))
}

/// Sends again one event, or every event since a time, to this endpoint (same `webhook-id`).
/// Needs `Organization:ModifyOrganization`.
#[utoipa::path(post, path = "/admin/v1/orgs/{org}/webhooks/{webhook_id}/replay", operation_id = "replay-webhook", tag = "Webhooks",
    params(("org" = String, Path, description = "The organization's id."), ("webhook_id" = String, Path, description = "The endpoint's id.")),
    request_body = ReplayIn,
    responses((status = 202, description = "Queued", body = ReplayOut)),
    security(("bearerAuth" = [])))]
async fn replay(
    State(s): State<AppState>,
    caller: Caller,
    Path((org, webhook_id)): Path<(String, String)>,
    Body(b): Body<ReplayIn>,
) -> Result<Reply<202, ReplayOut>> {
    let queued = s
        .core
        .replay_webhook(&caller.ctx, &org, &webhook_id, b.event_id, b.since)
        .await?;
    Ok(Reply(ReplayOut { queued }))
}
