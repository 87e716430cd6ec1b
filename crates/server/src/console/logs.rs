//! The audit log page (filter by actor, action, user and time; older events through the
//! core's cursor).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use maud::{html, Markup};
use roster_domain::core::AuditListInput;
use roster_domain::model::AuditEvent;

use super::i18n::when;
use super::layout;
use super::signin::{enter, View};
use crate::extract::Req;
use crate::state::AppState;

pub fn events_table(v: &View, events: &[AuditEvent]) -> Markup {
    let tz = v.timezone();
    html! {
        @if events.is_empty() {
            p.muted { (v.t("no_events")) }
        } @else {
            table {
                thead { tr {
                    th scope="col" { (v.t("time")) }
                    th scope="col" { (v.t("action")) }
                    th scope="col" { (v.t("actor")) }
                    th scope="col" { (v.t("user_id")) }
                    th scope="col" { (v.t("details")) }
                } }
                tbody {
                    @for e in events {
                        tr {
                            td { (when(e.created_at, tz)) }
                            td { code { (e.action) } }
                            td { (e.actor.kind) @if let Some(u) = &e.actor.user_id { " " code { (u) } } }
                            td {
                                @if let Some(u) = &e.target_user_id {
                                    a href=(v.path(&format!("users/{u}"))) { code { (u) } }
                                }
                            }
                            td { pre { (e.details.to_string()) } }
                        }
                    }
                }
            }
        }
    }
}

/// A `datetime-local` value (or RFC 3339 text) as RFC 3339, read in UTC.
fn rfc3339(v: &str) -> Option<String> {
    let v = v.trim();
    if v.is_empty() {
        return None;
    }
    if chrono::DateTime::parse_from_rfc3339(v).is_ok() {
        return Some(v.to_owned());
    }
    for fmt in ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"] {
        if let Ok(t) = chrono::NaiveDateTime::parse_from_str(v, fmt) {
            return Some(t.and_utc().to_rfc3339());
        }
    }
    // Left as typed: the core names the field in its refusal.
    Some(v.to_owned())
}

pub async fn audit(State(s): State<AppState>, Path(org): Path<String>, req: Req) -> Response {
    let v = match enter(&s, &req, &org).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let shell = v.shell("audit");
    let get = |k: &str| req.query.one(k).unwrap_or_default().trim().to_owned();
    let (actor, action, user, from, to) = (
        get("actor"),
        get("action"),
        get("user"),
        get("from"),
        get("to"),
    );
    let opt = |s: &str| (!s.is_empty()).then(|| s.to_owned());
    let input = AuditListInput {
        actor: opt(&actor),
        action: opt(&action),
        target_user_id: opt(&user),
        from: rfc3339(&from),
        to: rfc3339(&to),
        cursor: opt(&get("cursor")),
        limit: Some(50),
    };
    let found = match s
        .core
        .list_audit_events(&v.signed.ctx, &v.org.id, input)
        .await
    {
        Ok(p) => p,
        Err(e) => return v.done(layout::refusal(&shell, e, &v.path("audit"))),
    };
    let mut next = form_urlencoded::Serializer::new(String::new());
    for (k, val) in [
        ("actor", &actor),
        ("action", &action),
        ("user", &user),
        ("from", &from),
        ("to", &to),
    ] {
        if !val.is_empty() {
            next.append_pair(k, val);
        }
    }
    if let Some(c) = &found.next_cursor {
        next.append_pair("cursor", c);
    }
    let next = next.finish();
    let body = html! {
        form.filters method="get" action=(v.path("audit")) {
            @for (id, key, value, kind) in [("actor", "actor", &actor, "text"), ("action", "action", &action, "text"), ("user", "user_id", &user, "text"), ("from", "from", &from, "datetime-local"), ("to", "to", &to, "datetime-local")] {
                div {
                    label for=(id) { (v.t(key)) }
                    input id=(id) name=(id) type=(kind) value=(value);
                }
            }
            div { button type="submit" { (v.t("apply")) } }
        }
        (events_table(&v, &found.events))
        @if found.next_cursor.is_some() {
            nav.pager aria-label=(v.t("pages")) {
                a href=(format!("{}?{next}", v.path("audit"))) rel="next" { (v.t("older")) }
            }
        }
    };
    v.done(layout::send(
        StatusCode::OK,
        layout::page(&shell, v.t("audit"), body),
    ))
}
