//! Reading the audit log: one organization's events, newest first, filtered, in keyset pages.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

use super::access::Context;
use super::Core;
use crate::error::{FieldError, Problems, Result};
use crate::model::AuditEvent;
use crate::paging::AuditQuery;
use crate::permissions::perm;
use crate::types::Micros;

pub const AUDIT_DEFAULT_LIMIT: u32 = 50;
pub const AUDIT_MAX_LIMIT: u32 = 100;

/// The filters as the caller wrote them; [`Core::list_audit_events`] parses and checks each.
#[derive(Debug, Clone, Default)]
pub struct AuditListInput {
    pub actor: Option<String>,
    pub target_user_id: Option<String>,
    pub action: Option<String>,
    /// RFC 3339, inclusive.
    pub from: Option<String>,
    /// RFC 3339, exclusive.
    pub to: Option<String>,
    pub cursor: Option<String>,
    pub limit: Option<i64>,
}

#[derive(Debug, Clone)]
pub struct AuditPage {
    pub events: Vec<AuditEvent>,
    /// Opaque; present when older events remain.
    pub next_cursor: Option<String>,
}

/// The position after `e`, as an opaque token.
fn cursor_of(e: &AuditEvent) -> String {
    URL_SAFE_NO_PAD.encode(format!("{}:{}", e.created_at, e.id))
}

fn parse_cursor(token: &str) -> Option<(Micros, String)> {
    let raw = String::from_utf8(URL_SAFE_NO_PAD.decode(token.trim()).ok()?).ok()?;
    let (at, id) = raw.split_once(':')?;
    let id_ok = !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_graphic());
    Some((at.parse().ok()?, id.to_owned())).filter(|_| id_ok)
}

fn parse_time(field: &str, value: &str) -> std::result::Result<Micros, FieldError> {
    chrono::DateTime::parse_from_rfc3339(value.trim())
        .map(|t| t.timestamp_micros())
        .map_err(|_| {
            FieldError::query(
                field,
                "datetime_parsing",
                format!("{field} must be an RFC 3339 date and time, e.g. 2026-01-31T12:00:00Z"),
            )
        })
}

/// A filter value that must be a short, printable string when given.
fn parse_id(field: &str, value: Option<String>, p: &mut Problems) -> Option<String> {
    let v = value?.trim().to_owned();
    if v.is_empty() || v.len() > 128 || !v.bytes().all(|b| b.is_ascii_graphic()) {
        p.push(FieldError::query(
            field,
            "value_error",
            format!("{field} must be 1 to 128 visible ASCII characters"),
        ));
        return None;
    }
    Some(v)
}

impl Core {
    /// The organization's audit events, newest first. Needs `Audit:GetAuditEvents` in that
    /// organization; credentials of another organization are refused before anything is read.
    pub async fn list_audit_events(
        &self,
        ctx: &Context,
        org_ref: &str,
        input: AuditListInput,
    ) -> Result<AuditPage> {
        let org = self.find_org(org_ref).await?;
        ctx.access(&org)?.require_org(perm::AUDIT_GET)?;
        let mut p = Problems::default();
        let limit = input.limit.unwrap_or(AUDIT_DEFAULT_LIMIT as i64);
        if !(1..=AUDIT_MAX_LIMIT as i64).contains(&limit) {
            p.push(FieldError::query(
                "limit",
                "less_than_equal",
                format!("limit must be between 1 and {AUDIT_MAX_LIMIT}"),
            ));
        }
        let from = input
            .from
            .as_deref()
            .and_then(|v| p.check(parse_time("from", v)));
        let to = input
            .to
            .as_deref()
            .and_then(|v| p.check(parse_time("to", v)));
        if let (Some(f), Some(t)) = (from, to) {
            if f > t {
                p.push(FieldError::query(
                    "to",
                    "value_error",
                    "to must not be before from",
                ));
            }
        }
        let before = input.cursor.as_deref().and_then(|c| {
            let parsed = parse_cursor(c);
            if parsed.is_none() {
                p.push(FieldError::query(
                    "cursor",
                    "value_error",
                    "cursor is not a token this listing returned",
                ));
            }
            parsed
        });
        let q = AuditQuery {
            actor: parse_id("actor", input.actor, &mut p),
            target_user_id: parse_id("target_user_id", input.target_user_id, &mut p),
            action: parse_id("action", input.action, &mut p),
            from,
            to,
            before,
            limit: limit.clamp(1, AUDIT_MAX_LIMIT as i64) as u32 + 1,
        };
        p.finish()?;
        let mut events = self.store.query_audit(&org.id, &q).await?;
        let next_cursor = if events.len() as i64 > limit {
            events.truncate(limit as usize);
            events.last().map(cursor_of)
        } else {
            None
        };
        Ok(AuditPage {
            events,
            next_cursor,
        })
    }

    /// Deletes audit events older than `days` in batches of `batch`; returns how many went.
    pub async fn purge_audit_events(&self, days: u32, batch: u32) -> Result<u64> {
        purge_in_batches(self.now(), days, batch, |before| {
            self.store.purge_audit(before, batch)
        })
        .await
    }
}

/// Deletes what is older than `days` by calling `purge(before)` (at most `batch` rows each)
/// until a call deletes fewer; returns how many went. Other writers get in between batches.
pub(crate) async fn purge_in_batches<'a, F, Fut>(
    now: crate::types::Micros,
    days: u32,
    batch: u32,
    purge: F,
) -> Result<u64>
where
    F: Fn(crate::types::Micros) -> Fut,
    Fut: std::future::Future<Output = crate::store::StoreResult<u64>> + 'a,
{
    let before = now - days as i64 * 24 * 3600 * 1_000_000;
    let mut total = 0;
    loop {
        let n = purge(before).await?;
        total += n;
        if n < batch as u64 {
            return Ok(total);
        }
        tokio::task::yield_now().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_refuse_garbage() {
        let e = AuditEvent {
            org_id: "acme".into(),
            id: "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b".into(),
            action: "user.invite".into(),
            actor: crate::model::ActorRef {
                kind: "system",
                user_id: None,
                org_id: None,
            },
            target_user_id: None,
            request_id: None,
            details: serde_json::Value::Null,
            created_at: 1_700_000_000_000_000,
        };
        assert_eq!(
            parse_cursor(&cursor_of(&e)),
            Some((e.created_at, e.id.clone()))
        );
        for bad in ["", "!!", "bm9jb2xvbg", &URL_SAFE_NO_PAD.encode("x:y")] {
            assert_eq!(parse_cursor(bad), None, "{bad}");
        }
    }
}
