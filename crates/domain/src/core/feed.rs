//! The event feed: one organization's events in commit order, after a cursor a client keeps.

use super::access::Context;
use super::Core;
use crate::error::{FieldError, Problems, Result};
use crate::events::{Event, EVENT_TYPES};
use crate::permissions::perm;

pub const FEED_DEFAULT_LIMIT: u32 = 100;
pub const FEED_MAX_LIMIT: u32 = 1000;

/// The feed's query as the caller wrote it.
#[derive(Debug, Clone, Default)]
pub struct FeedInput {
    /// The `next` of an earlier page; absent: from the oldest event kept.
    pub after: Option<String>,
    /// Comma-separated or repeated types; empty: every type.
    pub types: Vec<String>,
    pub limit: Option<i64>,
}

#[derive(Debug, Clone)]
pub struct FeedPage {
    pub events: Vec<Event>,
    /// Where the next call starts: the last event's position, or `after` again when none came.
    pub next: String,
}

/// Parses a cursor: a position, `0` being before the first event.
fn parse_after(v: &str) -> Option<i64> {
    let v = v.trim();
    (!v.is_empty() && v.len() <= 19 && v.bytes().all(|b| b.is_ascii_digit()))
        .then(|| v.parse().ok())
        .flatten()
}

impl Core {
    /// The organization's events after `after`, oldest first. Needs `Audit:GetAuditEvents`.
    pub async fn list_events(
        &self,
        ctx: &Context,
        org_ref: &str,
        input: FeedInput,
    ) -> Result<FeedPage> {
        let org = self.find_org(org_ref).await?;
        ctx.access(&org)?.require_org(perm::AUDIT_GET)?;
        let mut p = Problems::default();
        let after = match input.after.as_deref() {
            None => 0,
            Some(v) => parse_after(v).unwrap_or_else(|| {
                p.push(FieldError::query(
                    "after",
                    "value_error",
                    "after must be the `next` of an earlier page (digits)",
                ));
                0
            }),
        };
        let mut types: Vec<String> = Vec::new();
        for t in input.types.iter().flat_map(|t| t.split(',')) {
            let t = t.trim();
            if t.is_empty() {
                continue;
            }
            if !EVENT_TYPES.contains(&t) {
                p.push(FieldError::query(
                    "types",
                    "value_error",
                    format!(
                        "unknown event type '{}'",
                        t.chars().take(64).collect::<String>()
                    ),
                ));
            } else if !types.iter().any(|x| x == t) {
                types.push(t.to_owned());
            }
        }
        let limit = input.limit.unwrap_or(FEED_DEFAULT_LIMIT as i64);
        if !(1..=FEED_MAX_LIMIT as i64).contains(&limit) {
            p.push(FieldError::query(
                "limit",
                "less_than_equal",
                format!("limit must be between 1 and {FEED_MAX_LIMIT}"),
            ));
        }
        p.finish()?;
        let events = self
            .store
            .list_events(&org.id, after, &types, limit as u32)
            .await?;
        let next = events.last().map_or(after, |e| e.seq).to_string();
        Ok(FeedPage { events, next })
    }

    /// Deletes events older than `days` in batches of `batch`; returns how many went.
    pub async fn purge_events(&self, days: u32, batch: u32) -> Result<u64> {
        super::audit::purge_in_batches(self.now(), days, batch, |before| {
            self.store.purge_events(before, batch)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::parse_after;

    #[test]
    fn cursors_are_positions() {
        assert_eq!(parse_after("0"), Some(0));
        assert_eq!(parse_after(" 42 "), Some(42));
        for bad in ["", "-1", "1e3", "abc", "99999999999999999999"] {
            assert_eq!(parse_after(bad), None, "{bad}");
        }
    }
}
