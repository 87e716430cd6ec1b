//! Roster's own administration API (not a vendor contract), under `/admin/v1`: the audit log.
//! Errors take the FastAPI shape of the Amigo surface (`{"detail": ...}`).

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use roster_domain::core::AuditListInput;
use roster_domain::model::AuditEvent;
use roster_domain::types::format_micros;
use roster_domain::{Error, FieldError};
use serde_json::{json, Value};

use crate::routes::amigo::{Caller, Req, Result};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/admin/v1/orgs/{org}/audit-events", get(list_audit_events))
}

fn event_json(e: &AuditEvent) -> Value {
    json!({
        "id": e.id,
        "action": e.action,
        "actor": e.actor,
        "target_user_id": e.target_user_id,
        "request_id": e.request_id,
        "details": e.details,
        "created_at": format_micros(e.created_at),
    })
}

/// One organization's audit events, newest first. Filters: `actor` (acting user id),
/// `target_user_id`, `action`, `from` (inclusive) and `to` (exclusive) in RFC 3339; `limit` (1 to
/// 100, default 50) and `cursor` (the `next_cursor` of the previous page). Needs
/// `Audit:GetAuditEvents`.
async fn list_audit_events(
    State(s): State<AppState>,
    caller: Caller,
    Path(org): Path<String>,
    req: Req,
) -> Result<Response> {
    let q = &req.query;
    let limit = match q.one("limit") {
        None => None,
        Some(v) => Some(v.trim().parse::<i64>().map_err(|_| {
            Error::Validation(vec![FieldError::query(
                "limit",
                "int_parsing",
                "limit must be an integer",
            )])
        })?),
    };
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
    let events: Vec<Value> = page.events.iter().map(event_json).collect();
    Ok(Json(json!({ "events": events, "next_cursor": page.next_cursor })).into_response())
}
