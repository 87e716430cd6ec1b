//! The event feed of Roster's administration API: `GET /admin/v1/orgs/{org}/events`, each
//! committed change of one organization in commit order after a cursor the client keeps.

use axum::extract::State;
use roster_domain::core::FeedInput;
use roster_domain::events::Event;
use roster_domain::types::format_micros;
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;
use utoipa_axum::routes;

use crate::error::Result;
use crate::extract::{Caller, Path, Req};
use crate::reply::Reply;
use crate::state::AppState;
use crate::surface::{Finished, Policy, SurfaceRouter};

/// The administration API's operations share one budget per caller.
const POLICIES: &[(&str, Policy)] = &[("list-events", Policy::Caller("administer"))];

pub mod schemas;

pub fn router() -> Finished {
    SurfaceRouter::new(super::native::SURFACE, schemas::document(), POLICIES)
        .routes(routes!(list_events))
        .finish()
}

/// One event: the body a webhook delivers, with the event's id and position. Its schema, one
/// per type, is in `schemas.rs`.
#[derive(Serialize)]
pub struct EventOut {
    /// The event's id; webhook deliveries carry it as `webhook-id: msg_<id>`.
    pub id: String,
    /// Its position in the organization's commit order (what `after` takes).
    pub cursor: String,
    /// A dotted type, e.g. `user.created` (see docs/webhooks.md).
    #[serde(rename = "type")]
    pub event_type: String,
    /// RFC 3339: when the change was made.
    pub timestamp: String,
    pub data: EventData,
}

/// What every event carries.
#[derive(Serialize)]
pub struct EventData {
    /// `{"id": ...}` of the organization.
    pub organization: Value,
    /// Who made the change: `{kind, user_id, org_id}` as in the audit log.
    pub actor: Value,
    pub request_id: Option<String>,
    /// The user the change is about, when it is about one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// The user as committed by the change (absent once deleted).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<Value>,
    /// The change's details as the audit log shows them (a role's name, a key's id...).
    pub details: Value,
}

impl From<&Event> for EventOut {
    fn from(e: &Event) -> Self {
        let field = |k: &str| e.data.get(k).cloned().unwrap_or(Value::Null);
        Self {
            id: e.id.clone(),
            cursor: e.seq.to_string(),
            event_type: e.event_type.clone(),
            timestamp: format_micros(e.occurred_at),
            data: EventData {
                organization: field("organization"),
                actor: field("actor"),
                request_id: field("request_id").as_str().map(str::to_owned),
                user_id: field("user_id").as_str().map(str::to_owned),
                user: e.data.get("user").cloned(),
                details: field("details"),
            },
        }
    }
}

/// A page of the feed, oldest first.
#[derive(Serialize, ToSchema)]
pub struct EventsPage {
    /// Each entry is one of the event types' schemas (`UserCreatedEvent`, ...).
    #[schema(schema_with = schemas::feed_entries)]
    pub events: Vec<EventOut>,
    /// Pass as `after` to continue; equal to `after` when nothing newer was committed yet.
    pub next: String,
}

/// One organization's events in commit order, after `after` (the `next` of the previous page;
/// absent: from the oldest event kept). `types` filters by type (comma-separated or repeated);
/// `limit` is 1 to 1000 (default 100). A client that stores `next` only after handling a page
/// resumes after any failure without missing or repeating an event. Needs
/// `Audit:GetAuditEvents`.
#[utoipa::path(
    get,
    path = "/admin/v1/orgs/{org}/events",
    operation_id = "list-events",
    tag = "Administration",
    params(
        ("org" = String, Path, description = "The organization's id."),
        ("after" = Option<String>, Query, description = "The `next` of the previous page."),
        ("types" = Option<String>, Query, description = "Event types, comma-separated."),
        ("limit" = Option<i64>, Query, description = "1 to 1000, default 100."),
    ),
    responses((status = 200, description = "A page of events", body = EventsPage)),
    security(("bearerAuth" = []))
)]
async fn list_events(
    State(s): State<AppState>,
    caller: Caller,
    Path(org): Path<String>,
    req: Req,
) -> Result<Reply<200, EventsPage>> {
    let q = &req.query;
    let limit = q.opt_int("limit")?;
    let input = FeedInput {
        after: q.one("after").map(str::to_owned),
        types: q.all("types"),
        limit,
    };
    let page = s.core.list_events(&caller.ctx, &org, input).await?;
    Ok(Reply(EventsPage {
        events: page.events.iter().map(EventOut::from).collect(),
        next: page.next,
    }))
}
