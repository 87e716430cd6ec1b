//! eva's catalogue: environments and bots, each user's access to them, configurations,
//! batches of new users with their access, user models and memories.

use roster_domain::types::OrgId;
use roster_domain::types::UserId;
use std::collections::{HashMap, HashSet};

use async_trait::async_trait;
use roster_domain::events::EventSeed;
use roster_domain::model::*;
use roster_domain::paging::MemoryQuery;
use roster_domain::store::{Effects, EvaStore, NewIdentity, OnJoin, StoreError};
use roster_domain::types::Micros;

use crate::bulk_rows::{insert_rows, select_in};
use crate::effects::{write_effects, write_events_about};
use crate::listing::{keyset_and_order, limit_offset};
use crate::rows::*;
use crate::sql::{bind_all, Arg, Sql};
use crate::stmt::{
    apply_join, count_admins, keep_an_admin, lock_org, replace_roles, update_user_row, user_values,
    write_env_access, AsTx, USER_INSERT,
};
use crate::{err, json_err, run, tx, SqlStore, R};

#[async_trait]
impl EvaStore for SqlStore {
    async fn insert_users(
        &self,
        mut rows: Vec<(NewIdentity, User, Vec<EnvAccess>)>,
        fx: Effects,
    ) -> R<Vec<bool>> {
        let Some(org) = rows.first().map(|r| r.1.org_id.clone()) else {
            self.scatter(fx).await?;
            return Ok(Vec::new());
        };
        if rows.iter().any(|r| r.1.org_id != org) {
            return Err(StoreError::Other(anyhow::anyhow!(
                "a bulk insert spans organizations"
            )));
        }
        let (db, fx, rest) = self.route_write(&org, fx).await?;
        // Each table's values are made from the rows as its statements take them, never all
        // of a batch at once: the rows are the batch's only full copy.
        let inserted = tx!(db, |t| {
            // New addresses get their identity; known addresses keep theirs.
            let identities = rows.iter().map(|(i, u, _)| {
                Ok(vec![
                    Arg::Text(i.id.clone()),
                    Arg::Text(i.email.clone()),
                    Arg::Text(i.email_lower.clone()),
                    Arg::Text(i.name.clone()),
                    Arg::OptText(i.password_hash.clone()),
                    Arg::Text(i.connection.as_str().to_owned()),
                    Arg::Bool(i.email_verified),
                    Arg::Int(0),
                    Arg::Int(u.created_at),
                    Arg::Int(u.created_at),
                ])
            });
            insert_rows(
                &mut t.tx(),
                "INSERT INTO identities (id, email, email_lower, name, password_hash, connection, email_verified, \
                 sessions_valid_after, created_at, updated_at)",
                Box::new(identities),
                "ON CONFLICT (email_lower) DO NOTHING",
                None,
            )
            .await?;
            let lowers: Vec<String> = rows.iter().map(|(i, _, _)| i.email_lower.clone()).collect();
            let owners: HashMap<String, String> = select_in(
                &mut t.tx(),
                "SELECT email_lower, id FROM identities WHERE ",
                "email_lower",
                &lowers,
            )
            .await?
            .into_iter()
            .collect();
            drop(lowers);
            for (i, u, _) in rows.iter_mut() {
                u.identity_id = owners.get(&i.email_lower).unwrap_or(&i.id).clone();
            }
            drop(owners);
            let done: HashSet<String> = insert_rows(
                &mut t.tx(),
                USER_INSERT,
                Box::new(rows.iter().map(|(_, u, _)| user_values(u))),
                "ON CONFLICT (org_id, email_lower) DO NOTHING",
                Some("RETURNING id"),
            )
            .await?
            .into_iter()
            .collect();
            // Joining an identity that exists: what the core decided it does (`OnJoin`).
            let mut joined: Vec<(OnJoin, Vec<String>)> = Vec::new();
            for (i, u, _) in &rows {
                if !done.contains(u.id.as_str()) || u.identity_id == i.id {
                    continue;
                }
                match joined.iter_mut().find(|(on, _)| *on == i.on_join) {
                    Some((_, ids)) => ids.push(u.identity_id.clone()),
                    None => joined.push((i.on_join, vec![u.identity_id.clone()])),
                }
            }
            for (on, ids) in &joined {
                apply_join(&mut t.tx(), ids, *on).await?;
            }
            let (mut roles, mut envs, mut bots) = (Vec::new(), Vec::new(), Vec::new());
            for (_, u, access) in &rows {
                if !done.contains(u.id.as_str()) {
                    continue;
                }
                let ids = || [Arg::Text(u.org_id.to_string()), Arg::Text(u.id.to_string())];
                for r in &u.role_ids {
                    roles.push(Ok([ids().to_vec(), vec![Arg::Text(r.clone())]].concat()));
                }
                for e in access {
                    let env = Arg::Text(e.environment_uuid.clone());
                    envs.push(Ok([
                        ids().to_vec(),
                        vec![env.clone(), Arg::Text(e.role.as_str().to_owned())],
                    ]
                    .concat()));
                    for b in &e.bots {
                        bots.push(Ok([
                            ids().to_vec(),
                            vec![env.clone(), Arg::Text(b.clone())],
                        ]
                        .concat()));
                    }
                }
            }
            for (head, values) in [
                ("INSERT INTO user_roles (org_id, user_id, role_id)", roles),
                ("INSERT INTO user_environments (org_id, user_id, environment_uuid, role_name)", envs),
                ("INSERT INTO user_environment_bots (org_id, user_id, environment_uuid, bot_uuid)", bots),
            ] {
                insert_rows(
                    &mut t.tx(),
                    head,
                    Box::new(values.into_iter()),
                    "ON CONFLICT DO NOTHING",
                    None,
                )
                .await?;
            }
            write_effects(&mut t.tx(), &fx).await?;
            // One event per user the insert took that no audit event already told of (a bulk
            // import's audit event counts its rows only).
            let told: HashSet<&str> = fx
                .audit
                .iter()
                .filter(|a| roster_domain::events::event_type(&a.action).is_some())
                .filter_map(|a| a.target_user_id.as_deref())
                .collect();
            if let Some(a) = fx.audit.first() {
                // The users as inserted are the users as stored: the events need not read them.
                let created: Vec<&User> = rows
                    .iter()
                    .map(|(_, u, _)| u)
                    .filter(|u| done.contains(u.id.as_str()) && !told.contains(u.id.as_str()))
                    .collect();
                write_events_about(
                    &mut t.tx(),
                    created
                        .iter()
                        .map(|u| EventSeed::about(a, "user.created", &u.id))
                        .collect(),
                    &created,
                )
                .await?;
            }
            rows.iter()
                .map(|(_, u, _)| done.contains(u.id.as_str()))
                .collect::<Vec<bool>>()
        });
        self.elsewhere(rest).await?;
        Ok(inserted)
    }

    /// No ORDER BY: the organization's unique email index answers the IN list directly.
    async fn set_user_access(
        &self,
        org_id: &OrgId,
        user_id: &UserId,
        role_ids: &[String],
        envs: &[EnvAccess],
        fx: Effects,
    ) -> R<()> {
        let (db, fx, rest) = self.route_write(org_id, fx).await?;
        tx!(db, |t| {
            lock_org(&mut t.tx(), org_id).await?;
            let before = count_admins(&mut t.tx(), org_id).await?;
            replace_roles(&mut t.tx(), org_id, user_id, role_ids).await?;
            write_env_access(&mut t.tx(), org_id, user_id, envs).await?;
            keep_an_admin(&mut t.tx(), org_id, before).await?;
            write_effects(&mut t.tx(), &fx).await?;
        });
        self.elsewhere(rest).await
    }

    async fn set_env_access(
        &self,
        u: &User,
        expected_updated_at: Micros,
        envs: &[EnvAccess],
        fx: Effects,
    ) -> R<()> {
        let (db, fx, rest) = self.route_write(&u.org_id, fx).await?;
        tx!(db, |t| {
            update_user_row(&mut t.tx(), u, expected_updated_at, None).await?;
            write_env_access(&mut t.tx(), &u.org_id, &u.id, envs).await?;
            write_effects(&mut t.tx(), &fx).await?;
        });
        self.elsewhere(rest).await
    }

    async fn update_user_access(
        &self,
        u: &User,
        expected_updated_at: Micros,
        sessions_end: Option<Micros>,
        role_ids: &[String],
        envs: &[EnvAccess],
        password: Option<&roster_domain::store::NewPassword>,
        fx: Effects,
    ) -> R<()> {
        let (db, fx, rest) = self.route_write(&u.org_id, fx).await?;
        tx!(db, |t| {
            lock_org(&mut t.tx(), &u.org_id).await?;
            let before = count_admins(&mut t.tx(), &u.org_id).await?;
            update_user_row(&mut t.tx(), u, expected_updated_at, sessions_end).await?;
            if let Some(pw) = password {
                sqlx::query(
                    "UPDATE identities SET password_hash = $1, updated_at = $2, epoch = epoch + 1, \
                     sessions_valid_after = CASE WHEN $3 THEN $4 ELSE sessions_valid_after END WHERE id = $5",
                )
                .bind(&pw.hash)
                .bind(pw.at)
                .bind(pw.revoke_sessions)
                .bind(pw.at)
                .bind(&u.identity_id)
                .execute(&mut *t)
                .await
                .map_err(err)?;
            }
            replace_roles(&mut t.tx(), &u.org_id, &u.id, role_ids).await?;
            write_env_access(&mut t.tx(), &u.org_id, &u.id, envs).await?;
            keep_an_admin(&mut t.tx(), &u.org_id, before).await?;
            write_effects(&mut t.tx(), &fx).await?;
        });
        self.elsewhere(rest).await
    }

    async fn env_access(&self, org_id: &OrgId, user_ids: &[UserId]) -> R<Vec<(UserId, EnvAccess)>> {
        let db = self.route(org_id).await?;
        if user_ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut envs = Sql::new(
            "SELECT user_id, environment_uuid, role_name FROM user_environments WHERE org_id = ",
        );
        envs.text(org_id).push(" AND ").in_list("user_id", user_ids);
        let mut bots = Sql::new(
            "SELECT user_id, environment_uuid, bot_uuid FROM user_environment_bots WHERE org_id = ",
        );
        bots.text(org_id).push(" AND ").in_list("user_id", user_ids);
        type Rows = Vec<(String, String, String)>;
        // Sorted here, not in SQL: an ORDER BY lets the planner trade the primary-key lookups
        // of the page's users for a walk of a whole organization in the order asked.
        let (mut env_rows, mut bot_rows): (Rows, Rows) = run!(db, |p| {
            let e = bind_all!(crate::sql::query_as(&envs), envs.args)
                .fetch_all(p)
                .await
                .map_err(err)?;
            let b = bind_all!(crate::sql::query_as(&bots), bots.args)
                .fetch_all(p)
                .await
                .map_err(err)?;
            (e, b)
        });
        env_rows.sort();
        bot_rows.sort_by(|a, b| a.2.cmp(&b.2));
        let mut bots_of: std::collections::HashMap<(String, String), Vec<String>> =
            std::collections::HashMap::new();
        for (user, env, bot) in bot_rows {
            bots_of.entry((user, env)).or_default().push(bot);
        }
        env_rows
            .into_iter()
            .map(|(user, env, role)| {
                let role = EnvRole::parse(&role).ok_or_else(|| {
                    StoreError::Other(anyhow::anyhow!("unknown environment role {role:?}"))
                })?;
                let bots = bots_of
                    .remove(&(user.clone(), env.clone()))
                    .unwrap_or_default();
                Ok((
                    UserId::from(user),
                    EnvAccess {
                        environment_uuid: env,
                        role,
                        bots,
                    },
                ))
            })
            .collect()
    }

    async fn upsert_environment(&self, e: &Environment, now: Micros, fx: Effects) -> R<()> {
        let (db, fx, rest) = self.route_write(&e.org_id, fx).await?;
        tx!(db, |t| {
            sqlx::query(
                "INSERT INTO environments (org_id, uuid, name, active, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6) \
                 ON CONFLICT (org_id, uuid) DO UPDATE SET name = excluded.name, active = excluded.active, updated_at = excluded.updated_at",
            )
            .bind(&e.org_id)
            .bind(&e.uuid)
            .bind(&e.name)
            .bind(e.active)
            .bind(now)
            .bind(now)
            .execute(&mut *t)
            .await
            .map_err(err)?;
            write_effects(&mut t.tx(), &fx).await?;
        });
        self.elsewhere(rest).await
    }

    async fn upsert_bot(&self, b: &Bot, now: Micros, fx: Effects) -> R<()> {
        let (db, fx, rest) = self.route_write(&b.org_id, fx).await?;
        tx!(db, |t| {
            sqlx::query(
                "INSERT INTO bots (org_id, uuid, environment_uuid, name, active, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7) \
                 ON CONFLICT (org_id, uuid) DO UPDATE SET environment_uuid = excluded.environment_uuid, name = excluded.name, \
                 active = excluded.active, updated_at = excluded.updated_at",
            )
            .bind(&b.org_id)
            .bind(&b.uuid)
            .bind(&b.environment_uuid)
            .bind(&b.name)
            .bind(b.active)
            .bind(now)
            .bind(now)
            .execute(&mut *t)
            .await
            .map_err(err)?;
            write_effects(&mut t.tx(), &fx).await?;
        });
        self.elsewhere(rest).await
    }

    async fn list_environments(&self, org_id: &OrgId) -> R<Vec<Environment>> {
        let db = self.route(org_id).await?;
        run!(db, |p| {
            let rows = sqlx::query("SELECT org_id, uuid, name, active FROM environments WHERE org_id = $1 ORDER BY name, uuid")
                .bind(org_id.as_str())
                .fetch_all(p)
                .await
                .map_err(err)?;
            let mut out = Vec::new();
            for r in &rows {
                out.push(Environment {
                    org_id: get!(r, "org_id"),
                    uuid: get!(r, "uuid"),
                    name: get!(r, "name"),
                    active: get!(r, "active"),
                });
            }
            Ok(out)
        })
    }

    async fn list_bots(&self, org_id: &OrgId) -> R<Vec<Bot>> {
        let db = self.route(org_id).await?;
        run!(db, |p| {
            let rows = sqlx::query("SELECT org_id, uuid, environment_uuid, name, active FROM bots WHERE org_id = $1 ORDER BY name, uuid")
                .bind(org_id.as_str())
                .fetch_all(p)
                .await
                .map_err(err)?;
            let mut out = Vec::new();
            for r in &rows {
                out.push(Bot {
                    org_id: get!(r, "org_id"),
                    uuid: get!(r, "uuid"),
                    environment_uuid: get!(r, "environment_uuid"),
                    name: get!(r, "name"),
                    active: get!(r, "active"),
                });
            }
            Ok(out)
        })
    }

    async fn set_configuration(
        &self,
        org_id: &OrgId,
        user_id: &UserId,
        c: &Configuration,
        now: Micros,
    ) -> R<()> {
        let db = self.route(org_id).await?;
        tx!(db, |t| {
            sqlx::query(
                "INSERT INTO configurations (org_id, user_id, bot_uuid, key, value, updated_at) VALUES ($1, $2, $3, $4, $5, $6) \
                 ON CONFLICT (org_id, user_id, bot_uuid, key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
            )
            .bind(org_id.as_str())
            .bind(user_id.as_str())
            .bind(c.bot_uuid.as_deref().unwrap_or(""))
            .bind(&c.key)
            .bind(&c.value)
            .bind(now)
            .execute(&mut *t)
            .await
            .map_err(err)?;
        });
        Ok(())
    }

    async fn configurations(
        &self,
        org_id: &OrgId,
        user_id: &UserId,
        bot: Option<&str>,
    ) -> R<Vec<Configuration>> {
        let db = self.route(org_id).await?;
        let rows: Vec<(String, String, String)> = run!(db, |p| {
            sqlx::query_as(
            "SELECT key, value, bot_uuid FROM configurations WHERE org_id = $1 AND user_id = $2 AND bot_uuid = $3 ORDER BY key"
        )
        .bind(org_id.as_str())
        .bind(user_id.as_str())
        .bind(bot.unwrap_or(""))
        .fetch_all(p)
        .await
        .map_err(err)?
        });
        Ok(rows
            .into_iter()
            .map(|(key, value, b)| Configuration {
                key,
                value,
                bot_uuid: (!b.is_empty()).then_some(b),
            })
            .collect())
    }

    async fn insert_user_model(&self, m: &UserModel, fx: Effects) -> R<()> {
        let (db, fx, rest) = self.route_write(&m.org_id, fx).await?;
        tx!(db, |t| {
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
            write_effects(&mut t.tx(), &fx).await?;
        });
        self.elsewhere(rest).await
    }

    async fn latest_user_models(
        &self,
        org_id: &OrgId,
        user_id: &UserId,
        limit: u32,
    ) -> R<Vec<UserModel>> {
        let db = self.route(org_id).await?;
        run!(db, |p| {
            let rows = sqlx::query(
                "SELECT org_id, user_id, id, content, insight_ids, dimensions, created_at FROM user_models \
                 WHERE org_id = $1 AND user_id = $2 ORDER BY created_at DESC, id DESC LIMIT $3",
            )
            .bind(org_id.as_str())
            .bind(user_id.as_str())
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

    async fn insert_memories(&self, ms: &[Memory], fx: Effects) -> R<()> {
        let Some(org) = ms.first().map(|m| m.org_id.clone()) else {
            return self.scatter(fx).await;
        };
        if ms.iter().any(|m| m.org_id != org) {
            return Err(StoreError::Other(anyhow::anyhow!(
                "memories of several organizations in one insert"
            )));
        }
        let (db, fx, rest) = self.route_write(&org, fx).await?;
        tx!(db, |t| {
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
            write_effects(&mut t.tx(), &fx).await?;
        });
        self.elsewhere(rest).await
    }

    async fn list_memories(&self, org_id: &OrgId, q: &MemoryQuery) -> R<Vec<Memory>> {
        let db = self.route(org_id).await?;
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
        run!(db, |p| {
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
}
