//! What a change writes besides itself, on its own transaction: audit events, queued emails,
//! withdrawn and new one-time tokens, and the events of the feed with their webhook messages.
//! A leaf module, as [`crate::stmt`] is (it uses only that, the SQL builder and the decoders).

use std::collections::HashMap;

use roster_domain::events::EventSeed;
use roster_domain::model::User;
use roster_domain::store::Effects;
use roster_domain::types::{OrgId, UserId};

use crate::bulk_rows::{insert_rows, Rows};
use crate::rows::*;
use crate::sql::{bind_all, Arg, Sql};
use crate::stmt::{on, Tx};
use crate::{err, json_err, R};

/// Writes a change's audit events, queued emails and one-time tokens, and the events of its
/// audit events.
pub(crate) async fn write_effects(t: &mut Tx<'_>, fx: &Effects) -> R<()> {
    on!(t, |c| {
        for a in &fx.audit {
            sqlx::query(
                "INSERT INTO audit_events (org_id, id, action, actor_kind, actor_user_id, actor_org_id, \
                 target_user_id, request_id, details, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            )
            .bind(&a.org_id)
            .bind(&a.id)
            .bind(&a.action)
            .bind(a.actor.kind)
            .bind(&a.actor.user_id)
            .bind(&a.actor.org_id)
            .bind(&a.target_user_id)
            .bind(&a.request_id)
            .bind(a.details.to_string())
            .bind(a.created_at)
            .execute(&mut *c)
            .await
            .map_err(err)?;
        }
        for r in &fx.revoke {
            sqlx::query("UPDATE one_time_tokens SET used_at = created_at WHERE org_id = $1 AND user_id = $2 AND purpose = $3 AND used_at IS NULL")
                .bind(&r.org_id)
                .bind(&r.user_id)
                .bind(r.purpose.as_str())
                .execute(&mut *c)
                .await
                .map_err(err)?;
        }
        for tk in &fx.tokens {
            sqlx::query(
                // The identity is the membership's as stored (a new user may have joined an
                // existing identity in this transaction), and its epoch is recorded as it is now.
                "INSERT INTO one_time_tokens (token_hash, org_id, user_id, identity_id, purpose, payload, \
                 expires_at, created_at, identity_epoch) SELECT $1, $2, $3, COALESCE(u.identity_id, $4), $5, $6, $7, $8, \
                 i.epoch FROM (SELECT 1 AS one) AS one LEFT JOIN users u ON u.org_id = $2 AND u.id = $3 \
                 LEFT JOIN identities i ON i.id = COALESCE(u.identity_id, $4)",
            )
            .bind(&tk.token_hash)
            .bind(&tk.org_id)
            .bind(&tk.user_id)
            .bind(&tk.identity_id)
            .bind(tk.purpose.as_str())
            .bind(tk.payload.to_string())
            .bind(tk.expires_at)
            .bind(tk.created_at)
            .execute(&mut *c)
            .await
            .map_err(err)?;
        }
    });
    // Queued emails in as few statements as the backend takes: a bulk import queues one per row.
    let outbox: Rows<'_> = Box::new(fx.outbox.iter().map(|m| {
        Ok(vec![
            Arg::Text(m.org_id.clone()),
            Arg::Text(m.id.clone()),
            Arg::Text(m.kind.clone()),
            Arg::Text(m.recipient.clone()),
            Arg::Text(m.language.clone()),
            Arg::Text(m.payload.to_string()),
            Arg::Text("pending".into()),
            Arg::Int(0),
            Arg::Int(m.created_at),
            Arg::Int(m.created_at),
        ])
    }));
    insert_rows(
        t,
        "INSERT INTO outbox (org_id, id, kind, recipient, language, payload, status, attempts, \
         next_attempt_at, created_at)",
        outbox,
        "",
        None,
    )
    .await?;
    // The job this change is a batch of counts it, or refuses it once the job has stopped.
    if let Some(progress) = &fx.job {
        if !write_job_progress(t, progress).await? {
            return Err(roster_domain::store::StoreError::Refused(
                roster_domain::store::Refusal::Stale,
            ));
        }
    }
    // The events of the change, from its audit events, in the same transaction.
    write_events(
        t,
        fx.audit.iter().filter_map(EventSeed::from_audit).collect(),
    )
    .await
}

/// Writes events: for each organization, takes the next numbers from its counter (whose row
/// lock orders concurrent writers by commit), reads the users they name as they now are,
/// inserts the events and queues their webhook messages.
pub(crate) async fn write_events(t: &mut Tx<'_>, seeds: Vec<EventSeed>) -> R<()> {
    write_events_about(t, seeds, &[]).await
}

/// [`write_events`], where `known` are users as this transaction stored them: they are not
/// read again (a bulk import's events name thousands of users it has just inserted).
pub(crate) async fn write_events_about(
    t: &mut Tx<'_>,
    seeds: Vec<EventSeed>,
    known: &[&User],
) -> R<()> {
    let known: HashMap<&str, &User> = known.iter().map(|u| (u.id.as_str(), *u)).collect();
    let mut orgs: Vec<OrgId> = Vec::new();
    for s in &seeds {
        if !orgs.iter().any(|o| *o == s.org_id) {
            orgs.push(OrgId::from(&s.org_id));
        }
    }
    for org in &orgs {
        let mine: Vec<&EventSeed> = seeds.iter().filter(|s| &s.org_id == org).collect();
        let n = mine.len() as i64;
        let mut ids: Vec<UserId> = mine
            .iter()
            .filter_map(|s| s.target_user_id.as_deref().map(UserId::from))
            .filter(|id| !known.contains_key(id.as_str()))
            .collect();
        ids.sort();
        ids.dedup();
        let mut users: HashMap<String, User> = HashMap::new();
        let last = on!(t, |c| {
            let last: i64 = sqlx::query_scalar(
                "INSERT INTO event_counters (org_id, seq) VALUES ($1, $2) ON CONFLICT (org_id) \
                 DO UPDATE SET seq = event_counters.seq + $2 RETURNING seq",
            )
            .bind(org.as_str())
            .bind(n)
            .fetch_one(&mut *c)
            .await
            .map_err(err)?;
            for chunk in ids.chunks(500) {
                let sql = users_sql(org, chunk);
                let rows = bind_all!(crate::sql::query(&sql), sql.args)
                    .fetch_all(&mut *c)
                    .await
                    .map_err(err)?;
                for r in &rows {
                    let u = user_from!(r);
                    users.insert(u.id.to_string(), u);
                }
                let sql = user_roles_sql(org, chunk);
                let pairs: Vec<(String, String)> = bind_all!(crate::sql::query_as(&sql), sql.args)
                    .fetch_all(&mut *c)
                    .await
                    .map_err(err)?;
                for (user_id, role_id) in pairs {
                    if let Some(u) = users.get_mut(&user_id) {
                        u.role_ids.push(role_id);
                    }
                }
            }
            last
        });
        let first = last - n + 1;
        let user = |id: &str| known.get(id).copied().or_else(|| users.get(id));
        let rows = mine
            .iter()
            .enumerate()
            .map(move |(i, s)| event_values(s, first + i as i64, user));
        insert_rows(
            t,
            "INSERT INTO events (org_id, seq, id, type, data, occurred_at)",
            Box::new(rows),
            "",
            None,
        )
        .await?;
        let sql = fan_out_sql(org, first, last);
        on!(t, |c| bind_all!(crate::sql::query(&sql), sql.args)
            .execute(&mut *c)
            .await
            .map(|_| ())
            .map_err(err))?;
    }
    Ok(())
}

/// The users an event batch names, as `(user id, role id)` pairs are attached afterwards.
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

fn users_sql(org_id: &OrgId, user_ids: &[UserId]) -> Sql {
    let mut sql = Sql::new(&format!("SELECT {USER_COLS} FROM users WHERE org_id = "));
    sql.text(org_id).push(" AND ").in_list("id", user_ids);
    sql
}

fn user_roles_sql(org_id: &OrgId, user_ids: &[UserId]) -> Sql {
    let mut sql = Sql::new("SELECT user_id, role_id FROM user_roles WHERE org_id = ");
    sql.text(org_id).push(" AND ").in_list("user_id", user_ids);
    sql.push(" ORDER BY user_id, role_id");
    sql
}

/// The values of event `seq`; `user` finds the user it names, as now stored.
fn event_values<'u>(
    s: &EventSeed,
    seq: i64,
    user: impl Fn(&str) -> Option<&'u User>,
) -> R<Vec<Arg>> {
    let user = s.target_user_id.as_deref().and_then(user);
    Ok(vec![
        Arg::Text(s.org_id.clone()),
        Arg::Int(seq),
        Arg::Text(s.id.clone()),
        Arg::Text(s.event_type.to_owned()),
        Arg::Text(serde_json::to_string(&s.data(user)).map_err(json_err)?),
        Arg::Int(s.occurred_at),
    ])
}

/// Queues one message per event of `org_id` numbered `first..=last` for each enabled endpoint
/// whose filter takes its type: the webhook outbox is filled in the change's transaction.
fn fan_out_sql(org_id: &OrgId, first: i64, last: i64) -> Sql {
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

/// A count as the database stores it.
pub(crate) fn int(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// Adds a batch's progress to its job, numbering its errors after the job's; false (nothing
/// written) when the job is no longer running.
pub(crate) async fn write_job_progress(
    t: &mut Tx<'_>,
    p: &roster_domain::store::JobProgress,
) -> R<bool> {
    let errors = int(p.errors.len() as u64);
    on!(t, |c| {
        // The row's lock (an UPDATE) orders batches of one job; its count numbers the errors.
        let before: Option<i64> = sqlx::query_scalar(
            "UPDATE jobs SET rows_done = CASE WHEN $9 IS NULL THEN rows_done + $1 \
             WHEN $9 > rows_done THEN $9 ELSE rows_done END, rows_applied = rows_applied + $2 - $3, \
             error_count = error_count + $4, bytes_done = CASE WHEN $5 > bytes_done THEN $5 ELSE bytes_done END, \
             updated_at = $6 WHERE org_id = $7 AND id = $8 AND state = 'running' \
             RETURNING error_count - $4",
        )
        .bind(int(p.rows_done))
        .bind(int(p.rows_applied))
        .bind(int(p.unapplied))
        .bind(errors)
        .bind(int(p.bytes_done))
        .bind(p.at)
        .bind(&p.org_id)
        .bind(&p.job_id)
        .bind(p.rows_reached.map(int))
        .fetch_optional(&mut *c)
        .await
        .map_err(err)?;
        let Some(before) = before else {
            return Ok(false);
        };
        for (i, chunk) in p.errors.chunks(500).enumerate() {
            let mut sql = Sql::new(
                "INSERT INTO job_errors (org_id, job_id, seq, line, row_key, reason) VALUES ",
            );
            sql.values(chunk.iter().enumerate().map(|(j, (line, key, reason))| {
                vec![
                    Arg::Text(p.org_id.clone()),
                    Arg::Text(p.job_id.clone()),
                    Arg::Int(before + (i * 500 + j) as i64 + 1),
                    Arg::Int(int(*line)),
                    Arg::Text(key.clone()),
                    Arg::Text(reason.clone()),
                ]
            }));
            bind_all!(crate::sql::query(&sql), sql.args)
                .execute(&mut *c)
                .await
                .map_err(err)?;
        }
        Ok(true)
    })
}
