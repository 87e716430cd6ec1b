//! Events (the feed) and their webhook messages, written on the transaction of the change that
//! caused them; reading the feed; retention.

use std::collections::HashMap;

use roster_domain::events::{Event, EventSeed};
use roster_domain::model::User;

use crate::sql::{bind_all, Arg, Sql};
use crate::{err, run, tx, Db, R};

/// The users an event batch names, as `(user id, role id)` pairs are attached afterwards.
pub(crate) fn users_sql(org_id: &str, ids: &[String]) -> Sql {
    let mut sql = Sql::new(&format!(
        "SELECT {} FROM users WHERE org_id = ",
        crate::rows::USER_COLS
    ));
    sql.text(org_id).push(" AND ").in_list("id", ids);
    sql
}

pub(crate) fn user_roles_sql(org_id: &str, ids: &[String]) -> Sql {
    let mut sql = Sql::new("SELECT user_id, role_id FROM user_roles WHERE org_id = ");
    sql.text(org_id).push(" AND ").in_list("user_id", ids);
    sql.push(" ORDER BY user_id, role_id");
    sql
}

/// Copies of `audit` for each other membership `(org, user, ..)` of an identity whose change
/// reaches them all (an email change), each with its own id.
pub(crate) fn for_each_membership(
    audit: &[roster_domain::model::AuditEvent],
    members: &[(String, String, String, String)],
    (org_id, user_id): (&str, &str),
) -> Vec<roster_domain::model::AuditEvent> {
    let mut out = Vec::new();
    for (m_org, m_id, _, _) in members {
        if m_org == org_id && m_id == user_id {
            continue;
        }
        for a in audit {
            let mut other = a.clone();
            other.id = roster_domain::types::new_uuid7();
            other.org_id = m_org.clone();
            other.target_user_id = Some(m_id.clone());
            out.push(other);
        }
    }
    out
}

/// The multi-row INSERT of events numbered from `first`.
pub(crate) fn events_insert(
    seeds: &[&EventSeed],
    first: i64,
    users: &HashMap<String, User>,
) -> R<Sql> {
    let mut sql = Sql::new("INSERT INTO events (org_id, seq, id, type, data, occurred_at) VALUES ");
    let mut rows = Vec::with_capacity(seeds.len());
    for (i, s) in seeds.iter().enumerate() {
        let user = s.target_user_id.as_ref().and_then(|id| users.get(id));
        rows.push(vec![
            Arg::Text(s.org_id.clone()),
            Arg::Int(first + i as i64),
            Arg::Text(s.id.clone()),
            Arg::Text(s.event_type.to_owned()),
            Arg::Text(serde_json::to_string(&s.data(user)).map_err(crate::json_err)?),
            Arg::Int(s.occurred_at),
        ]);
    }
    sql.values(rows);
    Ok(sql)
}

/// Queues one message per event of `org_id` numbered `first..=last` for each enabled endpoint
/// whose filter takes its type: the webhook outbox is filled in the change's transaction.
pub(crate) fn fan_out_sql(org_id: &str, first: i64, last: i64) -> Sql {
    let mut sql = Sql::new(
        "INSERT INTO webhook_messages (org_id, endpoint_id, event_seq, status, attempts, \
         next_attempt_at, created_at) SELECT e.org_id, w.id, e.seq, 'pending', 0, e.occurred_at, \
         e.occurred_at FROM events e JOIN webhook_endpoints w ON w.org_id = e.org_id \
         WHERE e.org_id = ",
    );
    sql.text(org_id).push(" AND e.seq >= ");
    sql.bind(Arg::Int(first)).push(" AND e.seq <= ");
    sql.bind(Arg::Int(last)).push(" AND w.enabled = ");
    sql.bind(Arg::Bool(true))
        .push(" AND (w.types = '' OR w.types LIKE '%,' || e.type || ',%')");
    sql
}

/// Writes events on the open transaction: for each organization, takes the next numbers from
/// its counter (whose row lock orders concurrent writers by commit), reads the users they name
/// as they now are, inserts the events and queues their webhook messages.
macro_rules! write_events {
    ($tx:expr, $seeds:expr) => {{
        let seeds: Vec<roster_domain::events::EventSeed> = $seeds;
        let mut orgs: Vec<String> = Vec::new();
        for s in &seeds {
            if !orgs.contains(&s.org_id) {
                orgs.push(s.org_id.clone());
            }
        }
        for org in &orgs {
            let mine: Vec<&roster_domain::events::EventSeed> =
                seeds.iter().filter(|s| &s.org_id == org).collect();
            let n = mine.len() as i64;
            let last: i64 = sqlx::query_scalar(
                "INSERT INTO event_counters (org_id, seq) VALUES ($1, $2) ON CONFLICT (org_id) \
                 DO UPDATE SET seq = event_counters.seq + $2 RETURNING seq",
            )
            .bind(org)
            .bind(n)
            .fetch_one(&mut *$tx)
            .await
            .map_err($crate::err)?;
            let first = last - n + 1;
            let mut ids: Vec<String> = mine
                .iter()
                .filter_map(|s| s.target_user_id.clone())
                .collect();
            ids.sort();
            ids.dedup();
            let mut users: std::collections::HashMap<String, roster_domain::model::User> =
                std::collections::HashMap::new();
            for chunk in ids.chunks(500) {
                let sql = $crate::events::users_sql(org, chunk);
                let rows = $crate::sql::bind_all!($crate::sql::query(&sql), sql.args)
                    .fetch_all(&mut *$tx)
                    .await
                    .map_err($crate::err)?;
                for r in &rows {
                    let u = $crate::rows::user_from!(r);
                    users.insert(u.id.clone(), u);
                }
                let sql = $crate::events::user_roles_sql(org, chunk);
                let pairs: Vec<(String, String)> =
                    $crate::sql::bind_all!($crate::sql::query_as(&sql), sql.args)
                        .fetch_all(&mut *$tx)
                        .await
                        .map_err($crate::err)?;
                for (user_id, role_id) in pairs {
                    if let Some(u) = users.get_mut(&user_id) {
                        u.role_ids.push(role_id);
                    }
                }
            }
            for (k, chunk) in mine.chunks(1000).enumerate() {
                let sql = $crate::events::events_insert(chunk, first + k as i64 * 1000, &users)?;
                $crate::sql::bind_all!($crate::sql::query(&sql), sql.args)
                    .execute(&mut *$tx)
                    .await
                    .map_err($crate::err)?;
            }
            let sql = $crate::events::fan_out_sql(org, first, last);
            $crate::sql::bind_all!($crate::sql::query(&sql), sql.args)
                .execute(&mut *$tx)
                .await
                .map_err($crate::err)?;
        }
    }};
}
pub(crate) use write_events;

/// One event row of either driver.
macro_rules! event_from {
    ($r:expr) => {
        Event {
            org_id: crate::rows::get!($r, "org_id"),
            seq: crate::rows::get!($r, "seq"),
            id: crate::rows::get!($r, "id"),
            event_type: crate::rows::get!($r, "type"),
            data: crate::rows::get_json!($r, "data"),
            occurred_at: crate::rows::get!($r, "occurred_at"),
        }
    };
}

impl Db {
    /// One organization's events after `after`, in commit order, of `types` (all when empty).
    pub(crate) async fn list_events(
        &self,
        org_id: &str,
        after: i64,
        types: &[String],
        limit: u32,
    ) -> R<Vec<Event>> {
        let mut sql =
            Sql::new("SELECT org_id, seq, id, type, data, occurred_at FROM events WHERE org_id = ");
        sql.text(org_id).push(" AND seq > ");
        sql.bind(Arg::Int(after));
        if !types.is_empty() {
            sql.push(" AND ").in_list("type", types);
        }
        sql.push(" ORDER BY seq LIMIT ");
        sql.bind(Arg::Int(limit as i64));
        run!(self, |p| {
            let rows = bind_all!(crate::sql::query(&sql), sql.args)
                .fetch_all(p)
                .await
                .map_err(err)?;
            let mut out = Vec::with_capacity(rows.len());
            for r in &rows {
                out.push(event_from!(r));
            }
            Ok(out)
        })
    }

    /// Deletes up to `batch` events (of any organization) older than `before`.
    pub(crate) async fn purge_events(&self, before: i64, batch: u32) -> R<u64> {
        let n = tx!(untracked self, |t| {
            sqlx::query(
                "DELETE FROM events WHERE (org_id, seq) IN (SELECT org_id, seq FROM events \
                 WHERE occurred_at < $1 LIMIT $2)",
            )
            .bind(before)
            .bind(batch as i64)
            .execute(&mut *t)
            .await
            .map_err(err)?
            .rows_affected()
        });
        Ok(n)
    }
}
