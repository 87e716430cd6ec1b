//! What authentication reads (principals, API keys, one-time tokens), temporary grants, user
//! models, memories, page cursors, and the outbox and audit listings.

use roster_domain::model::*;
use roster_domain::paging::{GrantQuery, MemoryQuery, Position};
use roster_domain::store::{Effects, NewPassword, PrincipalRecord, Refusal, StoreError};

use crate::events::write_events;
use crate::rows::*;
use crate::sql::{bind_all, Arg, Sql};
use crate::users::keyset_and_order;
use crate::{err, json_err, run, tx, Db, R};
use roster_domain::events::EventSeed;

macro_rules! insert_key_sql {
    ($t:expr, $k:expr) => {{
        let k: &roster_domain::model::ApiKey = $k;
        sqlx::query(
            "INSERT INTO api_keys (org_id, key_id, doc_id, name, secret_hash, role_id, creator_user_id, creator_org_id, \
             expires_at, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(&k.org_id)
        .bind(&k.key_id)
        .bind(&k.doc_id)
        .bind(&k.name)
        .bind(&k.secret_hash)
        .bind(&k.role_id)
        .bind(&k.creator_user_id)
        .bind(&k.creator_org_id)
        .bind(k.expires_at)
        .bind(k.created_at)
        .bind(k.updated_at)
        .execute(&mut *$t)
        .await
        .map_err($crate::err)?;
    }};
}
pub(crate) use insert_key_sql;

impl Db {
    pub(crate) async fn load_principal(
        &self,
        org_id: &str,
        user_id: &str,
        now: i64,
    ) -> R<Option<PrincipalRecord>> {
        run!(self, |p| {
            let row = sqlx::query(
                "SELECT u.identity_id, u.status, CASE WHEN u.sessions_valid_after > i.sessions_valid_after THEN u.sessions_valid_after \
                 ELSE i.sessions_valid_after END AS sessions_valid_after, o.is_platform FROM users u \
                 JOIN identities i ON i.id = u.identity_id JOIN organizations o ON o.id = u.org_id \
                 WHERE u.org_id = $1 AND u.id = $2",
            )
            .bind(org_id)
            .bind(user_id)
            .fetch_optional(p)
            .await
            .map_err(err)?;
            let Some(r) = row else { return Ok(None) };
            let status: String = get!(&r, "status");
            let roles: Vec<(String, String)> = sqlx::query_as(
                "SELECT r.name, r.grants FROM user_roles ur JOIN roles r ON r.org_id = ur.org_id AND r.id = ur.role_id \
                 WHERE ur.org_id = $1 AND ur.user_id = $2 ORDER BY r.name",
            )
            .bind(org_id)
            .bind(user_id)
            .fetch_all(p)
            .await
            .map_err(err)?;
            let temp: Vec<(String, String)> = sqlx::query_as(
                "SELECT permission_name, conditions FROM temporary_grants WHERE org_id = $1 AND user_id = $2 AND expires_at > $3",
            )
            .bind(org_id)
            .bind(user_id)
            .bind(now)
            .fetch_all(p)
            .await
            .map_err(err)?;
            let mut grants: Vec<Grant> = Vec::new();
            for (_, g) in &roles {
                for g in serde_json::from_str::<Vec<Grant>>(g).map_err(json_err)? {
                    if !grants.contains(&g) {
                        grants.push(g);
                    }
                }
            }
            let mut temporary_grants = Vec::new();
            for (name, conditions) in temp {
                temporary_grants.push(Grant {
                    permission_name: name,
                    conditions: serde_json::from_str(&conditions).map_err(json_err)?,
                });
            }
            Ok(Some(PrincipalRecord {
                org_id: org_id.to_owned(),
                org_is_platform: get!(&r, "is_platform"),
                user_id: user_id.to_owned(),
                identity_id: get!(&r, "identity_id"),
                status: UserStatus::parse(&status),
                sessions_valid_after: get!(&r, "sessions_valid_after"),
                role_names: roles.into_iter().map(|r| r.0).collect(),
                grants,
                temporary_grants,
            }))
        })
    }

    pub(crate) async fn get_api_key(&self, org_id: &str, key_id: &str) -> R<Option<ApiKey>> {
        let sql = format!("SELECT {KEY_COLS} FROM api_keys WHERE org_id = $1 AND key_id = $2");
        run!(self, |p| {
            let row = sqlx::query(&sql)
                .bind(org_id)
                .bind(key_id)
                .fetch_optional(p)
                .await
                .map_err(err)?;
            match row {
                Some(r) => Ok(Some(key_from!(&r))),
                None => Ok(None),
            }
        })
    }

    pub(crate) async fn list_api_keys(&self, org_id: &str) -> R<Vec<ApiKey>> {
        let sql = format!(
            "SELECT {KEY_COLS} FROM api_keys WHERE org_id = $1 ORDER BY created_at, key_id"
        );
        run!(self, |p| {
            let rows = sqlx::query(&sql)
                .bind(org_id)
                .fetch_all(p)
                .await
                .map_err(err)?;
            let mut out = Vec::with_capacity(rows.len());
            for r in &rows {
                out.push(key_from!(r));
            }
            Ok(out)
        })
    }

    pub(crate) async fn insert_api_key(&self, key: &ApiKey, max: usize, fx: Effects) -> R<()> {
        tx!(self, |t| {
            crate::orgs::lock_org!(t, &key.org_id);
            let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM api_keys WHERE org_id = $1")
                .bind(&key.org_id)
                .fetch_one(&mut *t)
                .await
                .map_err(err)?;
            if n as usize >= max {
                return Err(StoreError::Refused(Refusal::ApiKeyLimit));
            }
            insert_key_sql!(t, key);
            write_effects!(t, fx);
        });
        Ok(())
    }

    pub(crate) async fn delete_api_key(&self, org_id: &str, key_id: &str, fx: Effects) -> R<()> {
        tx!(self, |t| {
            let done = sqlx::query("DELETE FROM api_keys WHERE org_id = $1 AND key_id = $2")
                .bind(org_id)
                .bind(key_id)
                .execute(&mut *t)
                .await
                .map_err(err)?;
            if done.rows_affected() == 0 {
                return Err(StoreError::NotFound);
            }
            write_effects!(t, fx);
        });
        Ok(())
    }

    pub(crate) async fn write_effects(&self, fx: Effects) -> R<()> {
        tx!(untracked self, |t| {
            write_effects!(t, fx);
        });
        Ok(())
    }

    /// Several callers' effects in one transaction, each written as `write_effects` would, in
    /// order: the same rows as one transaction each, for one commit.
    pub(crate) async fn write_effects_batch(&self, batch: &[Effects]) -> R<()> {
        tx!(untracked self, |t| {
            for fx in batch {
                write_effects!(t, *fx);
            }
        });
        Ok(())
    }

    pub(crate) async fn consume_token(
        &self,
        org_id: &str,
        hash: &str,
        purposes: &[&str],
        now: i64,
        password: Option<&NewPassword>,
        fx: Effects,
    ) -> R<Option<OneTimeToken>> {
        let purposes: Vec<String> = purposes.iter().map(|p| p.to_string()).collect();
        let mut sql = Sql::new("UPDATE one_time_tokens SET used_at = ");
        sql.bind(Arg::Int(now)).push(" WHERE token_hash = ");
        sql.text(hash).push(" AND org_id = ");
        sql.text(org_id)
            .push(" AND used_at IS NULL AND expires_at > ");
        sql.bind(Arg::Int(now))
            .push(" AND ")
            .in_list("purpose", &purposes);
        // An invitation works only while its user is still invited: once accepted, older links are void.
        sql.push(
            " AND (purpose <> 'invite' OR EXISTS (SELECT 1 FROM users u WHERE u.org_id = one_time_tokens.org_id \
             AND u.id = one_time_tokens.user_id AND u.status = 'invited'))",
        );
        sql.push(&format!(" RETURNING {TOKEN_COLS}"));
        let token = tx!(self, |t| {
            let row = bind_all!(crate::sql::query(&sql), sql.args)
                .fetch_optional(&mut *t)
                .await
                .map_err(err)?;
            let Some(r) = row else { return Ok(None) };
            let token = token_from!(&r);
            if token.purpose == "invite" {
                sqlx::query("UPDATE users SET status = 'active', updated_at = updated_at + 1 WHERE org_id = $1 AND id = $2 AND status = 'invited'")
                    .bind(&token.org_id)
                    .bind(&token.user_id)
                    .execute(&mut *t)
                    .await
                    .map_err(err)?;
                // Following a link that was only emailed proves the address; one the inviter was
                // also shown (Amigo's verify_link) does not. The user's own identity is meant:
                // an invitation made before the identity existed names another id.
                if token.payload.get("shown_to_inviter") != Some(&serde_json::Value::Bool(true)) {
                    sqlx::query("UPDATE identities SET email_verified = $1 WHERE id = (SELECT identity_id FROM users WHERE org_id = $2 AND id = $3)")
                        .bind(true)
                        .bind(&token.org_id)
                        .bind(&token.user_id)
                        .execute(&mut *t)
                        .await
                        .map_err(err)?;
                }
            }
            if let Some(pw) = password {
                // The membership's identity, as stored; the core decided the conditions, applied
                // here atomically with the token's use. Not applied: nothing is (rollback).
                let done = sqlx::query(
                    "UPDATE identities SET password_hash = $1, updated_at = $2, epoch = epoch + 1, \
                     sessions_valid_after = CASE WHEN $3 THEN $4 ELSE sessions_valid_after END \
                     WHERE id = (SELECT identity_id FROM users WHERE org_id = $5 AND id = $6) \
                     AND ($7 = FALSE OR password_hash IS NULL) \
                     AND ($8 = FALSE OR epoch = $9) \
                     AND ($10 = FALSE OR (NOT email_verified AND NOT EXISTS (SELECT 1 FROM users o \
                          WHERE o.identity_id = identities.id AND NOT (o.org_id = $5 AND o.id = $6))))",
                )
                .bind(&pw.hash)
                .bind(now)
                .bind(pw.revoke_sessions)
                // The cut-off is a session stamp, as tokens carry one.
                .bind(roster_domain::types::session_stamp())
                .bind(&token.org_id)
                .bind(&token.user_id)
                .bind(pw.only_if_unset)
                .bind(pw.unchanged_since_issued)
                .bind(token.identity_epoch.unwrap_or(-1))
                .bind(pw.sole_membership)
                .execute(&mut *t)
                .await
                .map_err(err)?;
                if done.rows_affected() == 0 {
                    return Err(StoreError::Refused(Refusal::CredentialRefused));
                }
            }
            write_effects!(t, fx);
            if token.purpose == "invite" {
                if let Some(a) = fx.audit.first() {
                    let mut seed = EventSeed::about(a, "invitation.accepted", &token.user_id);
                    // The person who followed the link accepted it.
                    seed.actor = roster_domain::model::ActorRef {
                        kind: "user",
                        user_id: Some(token.user_id.clone()),
                        org_id: Some(token.org_id.clone()),
                    };
                    write_events!(t, vec![seed]);
                }
            }
            token
        });
        Ok(Some(token))
    }

    pub(crate) async fn insert_temporary_grant(&self, g: &TemporaryGrant, fx: Effects) -> R<()> {
        tx!(self, |t| {
            sqlx::query(&format!("INSERT INTO temporary_grants ({GRANT_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"))
                .bind(&g.org_id)
                .bind(&g.id)
                .bind(&g.user_id)
                .bind(&g.grant.permission_name)
                .bind(serde_json::to_string(&g.grant.conditions).map_err(json_err)?)
                .bind(&g.justification)
                .bind(serde_json::to_string(&g.tags).map_err(json_err)?)
                .bind(&g.creator_user_id)
                .bind(&g.creator_org_id)
                .bind(g.expires_at)
                .bind(g.created_at)
                .bind(g.updated_at)
                .execute(&mut *t)
                .await
                .map_err(err)?;
            write_effects!(t, fx);
        });
        Ok(())
    }

    pub(crate) async fn list_temporary_grants(
        &self,
        org_id: &str,
        q: &GrantQuery,
    ) -> R<Vec<TemporaryGrant>> {
        let mut sql = Sql::new(&format!(
            "SELECT {GRANT_COLS} FROM temporary_grants WHERE org_id = "
        ));
        sql.text(org_id);
        if !q.ids.is_empty() {
            sql.push(" AND ").in_list("id", &q.ids);
        }
        if !q.user_ids.is_empty() {
            sql.push(" AND ").in_list("user_id", &q.user_ids);
        }
        if let Some(name) = &q.permission_name {
            sql.push(" AND permission_name = ");
            sql.text(name);
        }
        if !q.creators.is_empty() {
            sql.push(" AND ").in_list("creator_user_id", &q.creators);
        }
        match q.expired {
            Some(true) => {
                sql.push(" AND expires_at <= ");
                sql.bind(Arg::Int(q.now));
            }
            Some(false) => {
                sql.push(" AND expires_at > ");
                sql.bind(Arg::Int(q.now));
            }
            None => {}
        }
        let sqlite = matches!(self, Db::Sqlite { .. });
        for (key, value) in &q.tags {
            let path = format!("$.\"{}\"", key.replace('"', ""));
            match (sqlite, value) {
                (true, None) => {
                    sql.push(" AND json_type(tags, ");
                    sql.text(&path).push(") IS NOT NULL");
                }
                (true, Some(None)) => {
                    sql.push(" AND json_type(tags, ");
                    sql.text(&path).push(") = 'null'");
                }
                (true, Some(Some(v))) => {
                    sql.push(" AND json_extract(tags, ");
                    sql.text(&path).push(") = ");
                    sql.text(v);
                }
                (false, None) => {
                    sql.push(" AND jsonb_exists(tags::jsonb, ");
                    sql.text(key).push(")");
                }
                (false, Some(None)) => {
                    sql.push(" AND jsonb_typeof(tags::jsonb -> ");
                    sql.text(key).push(") = 'null'");
                }
                (false, Some(Some(v))) => {
                    sql.push(" AND tags::jsonb ->> ");
                    sql.text(key).push(" = ");
                    sql.text(v);
                }
            }
        }
        let sort: Vec<(String, bool)> = q
            .page
            .sort
            .iter()
            .map(|k| (k.field.clone(), k.descending))
            .collect();
        keyset_and_order(&mut sql, &sort, &q.page.position, |f| match f {
            "user_id" => Some("user_id"),
            "expires_at" => Some("expires_at"),
            "permission_grant.permission_name" => Some("permission_name"),
            _ => None,
        })?;
        limit_offset(&mut sql, q.page.limit, &q.page.position);
        run!(self, |p| {
            let rows = bind_all!(crate::sql::query(&sql), sql.args)
                .fetch_all(p)
                .await
                .map_err(err)?;
            let mut out = Vec::with_capacity(rows.len());
            for r in &rows {
                out.push(grant_from!(r));
            }
            Ok(out)
        })
    }

    pub(crate) async fn insert_user_model(&self, m: &UserModel, fx: Effects) -> R<()> {
        tx!(self, |t| {
            sqlx::query("INSERT INTO user_models (org_id, user_id, id, content, insight_ids, dimensions, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)")
                .bind(&m.org_id)
                .bind(&m.user_id)
                .bind(&m.id)
                .bind(&m.content)
                .bind(serde_json::to_string(&m.insight_ids).map_err(json_err)?)
                .bind(serde_json::to_string(&m.dimensions).map_err(json_err)?)
                .bind(m.created_at)
                .execute(&mut *t)
                .await
                .map_err(err)?;
            write_effects!(t, fx);
        });
        Ok(())
    }

    pub(crate) async fn latest_user_models(
        &self,
        org_id: &str,
        user_id: &str,
        limit: u32,
    ) -> R<Vec<UserModel>> {
        run!(self, |p| {
            let rows = sqlx::query(
                "SELECT org_id, user_id, id, content, insight_ids, dimensions, created_at FROM user_models \
                 WHERE org_id = $1 AND user_id = $2 ORDER BY created_at DESC, id DESC LIMIT $3",
            )
            .bind(org_id)
            .bind(user_id)
            .bind(limit as i64)
            .fetch_all(p)
            .await
            .map_err(err)?;
            let mut out = Vec::new();
            for r in &rows {
                out.push(UserModel {
                    org_id: get!(r, "org_id"),
                    user_id: get!(r, "user_id"),
                    id: get!(r, "id"),
                    content: get!(r, "content"),
                    insight_ids: get_json!(r, "insight_ids"),
                    dimensions: get_json!(r, "dimensions"),
                    created_at: get!(r, "created_at"),
                });
            }
            Ok(out)
        })
    }

    pub(crate) async fn insert_memories(&self, ms: &[Memory], fx: Effects) -> R<()> {
        tx!(self, |t| {
            for m in ms {
                sqlx::query(
                    "INSERT INTO memories (org_id, user_id, id, conversation_id, refs, content, context, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                )
                .bind(&m.org_id)
                .bind(&m.user_id)
                .bind(&m.id)
                .bind(&m.conversation_id)
                .bind(serde_json::to_string(&m.references).map_err(json_err)?)
                .bind(&m.content)
                .bind(&m.context)
                .bind(m.created_at)
                .execute(&mut *t)
                .await
                .map_err(err)?;
            }
            write_effects!(t, fx);
        });
        Ok(())
    }

    pub(crate) async fn list_memories(&self, org_id: &str, q: &MemoryQuery) -> R<Vec<Memory>> {
        let mut sql = Sql::new("SELECT org_id, user_id, id, conversation_id, refs, content, context, created_at FROM memories WHERE org_id = ");
        sql.text(org_id).push(" AND user_id = ");
        sql.text(&q.user_id);
        if !q.ids.is_empty() {
            sql.push(" AND ").in_list("id", &q.ids);
        }
        if !q.conversation_ids.is_empty() {
            sql.push(" AND ")
                .in_list("conversation_id", &q.conversation_ids);
        }
        let sort: Vec<(String, bool)> = q
            .page
            .sort
            .iter()
            .map(|k| (k.field.clone(), k.descending))
            .collect();
        keyset_and_order(&mut sql, &sort, &q.page.position, |f| match f {
            "conversation_id" => Some("conversation_id"),
            "created_at" => Some("created_at"),
            _ => None,
        })?;
        limit_offset(&mut sql, q.page.limit, &q.page.position);
        run!(self, |p| {
            let rows = bind_all!(crate::sql::query(&sql), sql.args)
                .fetch_all(p)
                .await
                .map_err(err)?;
            let mut out = Vec::new();
            for r in &rows {
                out.push(Memory {
                    org_id: get!(r, "org_id"),
                    user_id: get!(r, "user_id"),
                    id: get!(r, "id"),
                    conversation_id: get!(r, "conversation_id"),
                    references: get_json!(r, "refs"),
                    content: get!(r, "content"),
                    context: get!(r, "context"),
                    created_at: get!(r, "created_at"),
                });
            }
            Ok(out)
        })
    }

    pub(crate) async fn put_cursor(
        &self,
        org_id: &str,
        id: i64,
        position: &str,
        expires_at: i64,
    ) -> R<()> {
        let now = roster_domain::types::now_micros();
        tx!(untracked self, |t| {
            sqlx::query("INSERT INTO page_cursors (org_id, id, position, expires_at) VALUES ($1, $2, $3, $4)")
                .bind(org_id)
                .bind(id)
                .bind(position)
                .bind(expires_at)
                .execute(&mut *t)
                .await
                .map_err(err)?;
            // Expired cursors are swept now and then by the writers themselves.
            if id % 64 == 0 {
                sqlx::query("DELETE FROM page_cursors WHERE expires_at < $1")
                    .bind(now)
                    .execute(&mut *t)
                    .await
                    .map_err(err)?;
            }
        });
        Ok(())
    }

    pub(crate) async fn get_cursor(&self, org_id: &str, id: i64, now: i64) -> R<Option<String>> {
        run!(self, |p| sqlx::query_scalar(
            "SELECT position FROM page_cursors WHERE org_id = $1 AND id = $2 AND expires_at > $3"
        )
        .bind(org_id)
        .bind(id)
        .bind(now)
        .fetch_optional(p)
        .await
        .map_err(err))
    }

    pub(crate) async fn list_audit(&self, org_id: &str, limit: u32) -> R<Vec<AuditEvent>> {
        run!(self, |p| {
            let rows = sqlx::query(
                "SELECT org_id, id, action, actor_kind, actor_user_id, actor_org_id, target_user_id, request_id, details, created_at \
                 FROM audit_events WHERE org_id = $1 ORDER BY id DESC LIMIT $2",
            )
            .bind(org_id)
            .bind(limit as i64)
            .fetch_all(p)
            .await
            .map_err(err)?;
            let mut out = Vec::new();
            for r in &rows {
                let kind: String = get!(r, "actor_kind");
                out.push(AuditEvent {
                    org_id: get!(r, "org_id"),
                    id: get!(r, "id"),
                    action: get!(r, "action"),
                    actor: ActorRef {
                        kind: match kind.as_str() {
                            "user" => "user",
                            "api_key" => "api_key",
                            "service" => "service",
                            "system" => "system",
                            _ => "anonymous",
                        },
                        user_id: get!(r, "actor_user_id"),
                        org_id: get!(r, "actor_org_id"),
                    },
                    target_user_id: get!(r, "target_user_id"),
                    request_id: get!(r, "request_id"),
                    details: get_json!(r, "details"),
                    created_at: get!(r, "created_at"),
                });
            }
            Ok(out)
        })
    }
}

fn limit_offset(sql: &mut Sql, limit: u32, position: &Position) {
    sql.push(" LIMIT ");
    sql.bind(Arg::Int(limit as i64 + 1));
    if let Position::Offset(o) = position {
        sql.push(" OFFSET ");
        sql.bind(Arg::Int(*o as i64));
    }
}
