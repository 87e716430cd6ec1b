//! Roster's own administration API (not a vendor contract), under `/admin/v1`: the audit log.
//! Errors take the FastAPI shape of the Amigo surface (`{"detail": ...}`).

use axum::extract::State;
use roster_domain::core::AuditListInput;
use roster_domain::model::AuditEvent;
use roster_domain::types::format_micros;
use serde::Serialize;
use serde_json::Value;
use utoipa::openapi::OpenApi;
use utoipa::ToSchema;
use utoipa_axum::routes;

use crate::error::Result;
use crate::extract::{Caller, Path, Req};
use crate::reply::Reply;
use crate::state::AppState;
use crate::surface::{Finished, Policy, SurfaceRouter};

/// The administration API's operations share one budget per caller.
const POLICIES: &[(&str, Policy)] = &[("list-audit-events", Policy::Caller("administer"))];

pub fn router() -> Finished {
    SurfaceRouter::new(super::native::SURFACE, OpenApi::default(), POLICIES)
        .routes(routes!(list_audit_events))
        .finish()
}

/// Who did something.
#[derive(Serialize, ToSchema)]
pub struct ActorOut {
    /// `user`, `api_key`, `service`, `system` or `anonymous`.
    kind: String,
    user_id: Option<String>,
    org_id: Option<String>,
}

/// One audit event.
#[derive(Serialize, ToSchema)]
pub struct AuditEventOut {
    id: String,
    /// What happened, e.g. `user.invited`.
    action: String,
    actor: ActorOut,
    target_user_id: Option<String>,
    request_id: Option<String>,
    /// Action-specific details.
    #[schema(value_type = Object)]
    details: Value,
    /// RFC 3339.
    created_at: String,
}

impl From<&AuditEvent> for AuditEventOut {
    fn from(e: &AuditEvent) -> Self {
        Self {
            id: e.id.clone(),
            action: e.action.clone(),
            actor: ActorOut {
                kind: e.actor.kind.to_owned(),
                user_id: e.actor.user_id.clone(),
                org_id: e.actor.org_id.clone(),
            },
            target_user_id: e.target_user_id.clone(),
            request_id: e.request_id.clone(),
            // Events written before every action recorded an object may hold null.
            details: match &e.details {
                Value::Null => Value::Object(Default::default()),
                d => d.clone(),
            },
            created_at: format_micros(e.created_at),
        }
    }
}

/// A page of audit events, newest first.
#[derive(Serialize, ToSchema)]
pub struct AuditEventsPage {
    events: Vec<AuditEventOut>,
    /// Pass as `cursor` for the next page; null on the last one.
    next_cursor: Option<String>,
}

/// One organization's audit events, newest first. Filters: `actor` (acting user id),
/// `target_user_id`, `action`, `from` (inclusive) and `to` (exclusive) in RFC 3339; `limit` (1 to
/// 100, default 50) and `cursor` (the `next_cursor` of the previous page). Needs
/// `Audit:GetAuditEvents`.
#[utoipa::path(
    get,
    path = "/admin/v1/orgs/{org}/audit-events",
    operation_id = "list-audit-events",
    tag = "Administration",
    params(
        ("org" = String, Path, description = "The organization's id."),
        ("actor" = Option<String>, Query, description = "The acting user's id."),
        ("target_user_id" = Option<String>, Query, description = "The user acted on."),
        ("action" = Option<String>, Query, description = "The action, e.g. `user.invited`."),
        ("from" = Option<String>, Query, description = "RFC 3339, inclusive."),
        ("to" = Option<String>, Query, description = "RFC 3339, exclusive."),
        ("limit" = Option<i64>, Query, description = "1 to 100, default 50."),
        ("cursor" = Option<String>, Query, description = "The `next_cursor` of the previous page."),
    ),
    responses((status = 200, description = "A page of events", body = AuditEventsPage)),
    security(("bearerAuth" = []))
)]
async fn list_audit_events(
    State(s): State<AppState>,
    caller: Caller,
    Path(org): Path<String>,
    req: Req,
) -> Result<Reply<200, AuditEventsPage>> {
    let q = &req.query;
    let limit = q.opt_int("limit")?;
    let input = AuditListInput {
        actor: q.one("actor").map(str::to_owned),
        target_user_id: q.one("target_user_id").map(str::to_owned),
        action: q.one("action").map(str::to_owned),
        from: q.one("from").map(str::to_owned),
        to: q.one("to").map(str::to_owned),
        cursor: q.one("cursor").map(str::to_owned),
        limit,
    };
    let page = s.core.list_audit_events(&caller.ctx, &org, input).await?;
    Ok(Reply(AuditEventsPage {
        events: page.events.iter().map(AuditEventOut::from).collect(),
        next_cursor: page.next_cursor,
    }))
}
