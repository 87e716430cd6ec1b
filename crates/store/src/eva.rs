//! eva-user storage: environments and bots, per-environment access, configurations, batches.

use std::collections::{HashMap, HashSet};

use roster_domain::model::*;
use roster_domain::store::{Effects, NewIdentity, Refusal, StoreError};

use crate::events::write_events;
use crate::orgs::{count_admins, lock_org};
use crate::rows::*;
use crate::sql::{bind_all, Arg, Sql};
use crate::users::{replace_roles, update_user_row, user_insert};
use crate::{err, run, tx, Db, R};
use roster_domain::events::EventSeed;

/// Replaces a user's environment access on the open transaction.
macro_rules! write_env_access {
    ($t:expr, $org:expr, $user:expr, $envs:expr) => {{
        for table in ["user_environments", "user_environment_bots"] {
            sqlx::query(&format!("DELETE FROM {table} WHERE org_id = $1 AND user_id = $2"))
                .bind($org)
                .bind($user)
                .execute(&mut *$t)
                .await
                .map_err($crate::err)?;
        }
        for e in $envs.iter() {
            let e: &roster_domain::model::EnvAccess = e;
            sqlx::query("INSERT INTO user_environments (org_id, user_id, environment_uuid, role_name) VALUES ($1, $2, $3, $4)")
                .bind($org)
                .bind($user)
                .bind(&e.environment_uuid)
                .bind(&e.role)
                .execute(&mut *$t)
                .await
                .map_err($crate::err)?;
            for b in &e.bots {
                sqlx::query(
                    "INSERT INTO user_environment_bots (org_id, user_id, environment_uuid, bot_uuid) VALUES ($1, $2, $3, $4) \
                     ON CONFLICT DO NOTHING",
                )
                .bind($org)
                .bind($user)
                .bind(&e.environment_uuid)
                .bind(b)
                .execute(&mut *$t)
                .await
                .map_err($crate::err)?;
            }
        }
    }};
}

impl Db {
    /// Inserts a batch of new users in one transaction with a handful of multi-row statements;
    /// a row whose email is already in its organization is skipped (`false` in the answer).
    pub(crate) async fn insert_users(
        &self,
        rows: Vec<(NewIdentity, User, Vec<EnvAccess>)>,
        fx: Effects,
    ) -> R<Vec<bool>> {
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let inserted = tx!(self, |t| {
            // New addresses get their identity; known addresses keep theirs.
            let mut sql = Sql::new(
                "INSERT INTO identities (id, email, email_lower, name, password_hash, connection, email_verified, \
                 sessions_valid_after, created_at, updated_at) VALUES ",
            );
            sql.values(rows.iter().map(|(i, u, _)| {
                vec![
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
                ]
            }))
            .push(" ON CONFLICT (email_lower) DO NOTHING");
            bind_all!(crate::sql::query(&sql), sql.args)
                .execute(&mut *t)
                .await
                .map_err(err)?;
            let lowers: Vec<String> = rows.iter().map(|(i, _, _)| i.email_lower.clone()).collect();
            let mut sql = Sql::new("SELECT email_lower, id FROM identities WHERE ");
            sql.in_list("email_lower", &lowers);
            let owners: HashMap<String, String> =
                bind_all!(crate::sql::query_as::<_, (String, String)>(&sql), sql.args)
                    .fetch_all(&mut *t)
                    .await
                    .map_err(err)?
                    .into_iter()
                    .collect();
            let users: Vec<User> = rows
                .iter()
                .map(|(i, u, _)| User {
                    identity_id: owners.get(&i.email_lower).unwrap_or(&i.id).clone(),
                    ..u.clone()
                })
                .collect();
            let refs: Vec<&User> = users.iter().collect();
            let sql = user_insert(&refs, true)?;
            let done: HashSet<String> =
                bind_all!(crate::sql::query_scalar::<_, String>(&sql), sql.args)
                    .fetch_all(&mut *t)
                    .await
                    .map_err(err)?
                    .into_iter()
                    .collect();
            // Joining an identity whose address nobody has proven: any password an organization
            // gave it stops working, as in `attach_identity!`.
            let joined: Vec<String> = rows
                .iter()
                .zip(&users)
                .filter(|((i, _, _), u)| done.contains(&u.id) && u.identity_id != i.id)
                .map(|(_, u)| u.identity_id.clone())
                .collect();
            if !joined.is_empty() {
                let mut sql = Sql::new(
                    "UPDATE identities SET epoch = epoch + 1, sessions_valid_after = CASE WHEN \
                     password_hash IS NOT NULL AND NOT email_verified THEN ",
                );
                sql.bind(Arg::Int(roster_domain::types::session_stamp()))
                    .push(
                        " ELSE sessions_valid_after END, password_hash = CASE WHEN email_verified \
                     THEN password_hash ELSE NULL END WHERE ",
                    );
                sql.in_list("id", &joined);
                bind_all!(crate::sql::query(&sql), sql.args)
                    .execute(&mut *t)
                    .await
                    .map_err(err)?;
            }
            let (mut roles, mut envs, mut bots) = (Vec::new(), Vec::new(), Vec::new());
            for ((_, _, access), u) in rows.iter().zip(&users) {
                if !done.contains(&u.id) {
                    continue;
                }
                let ids = || [Arg::Text(u.org_id.clone()), Arg::Text(u.id.clone())];
                for r in &u.role_ids {
                    roles.push([ids().to_vec(), vec![Arg::Text(r.clone())]].concat());
                }
                for e in access {
                    let env = Arg::Text(e.environment_uuid.clone());
                    envs.push(
                        [ids().to_vec(), vec![env.clone(), Arg::Text(e.role.clone())]].concat(),
                    );
                    for b in &e.bots {
                        bots.push(
                            [ids().to_vec(), vec![env.clone(), Arg::Text(b.clone())]].concat(),
                        );
                    }
                }
            }
            for (head, values) in [
                ("INSERT INTO user_roles (org_id, user_id, role_id) VALUES ", roles),
                ("INSERT INTO user_environments (org_id, user_id, environment_uuid, role_name) VALUES ", envs),
                ("INSERT INTO user_environment_bots (org_id, user_id, environment_uuid, bot_uuid) VALUES ", bots),
            ] {
                if values.is_empty() {
                    continue;
                }
                let mut sql = Sql::new(head);
                sql.values(values).push(" ON CONFLICT DO NOTHING");
                bind_all!(crate::sql::query(&sql), sql.args)
                    .execute(&mut *t)
                    .await
                    .map_err(err)?;
            }
            write_effects!(t, fx);
            // One event per user the insert took that no audit event already told of (a bulk
            // import's audit event counts its rows only).
            let told: HashSet<&str> = fx
                .audit
                .iter()
                .filter(|a| roster_domain::events::event_type(&a.action).is_some())
                .filter_map(|a| a.target_user_id.as_deref())
                .collect();
            if let Some(a) = fx.audit.first() {
                write_events!(
                    t,
                    users
                        .iter()
                        .filter(|u| done.contains(&u.id) && !told.contains(u.id.as_str()))
                        .map(|u| EventSeed::about(a, "user.created", &u.id))
                        .collect()
                );
            }
            users
                .iter()
                .map(|u| done.contains(&u.id))
                .collect::<Vec<bool>>()
        });
        Ok(inserted)
    }

    /// No ORDER BY: the organization's unique email index answers the IN list directly.
    pub(crate) async fn existing_emails(
        &self,
        org_id: &str,
        emails_lower: &[String],
    ) -> R<Vec<String>> {
        let mut sql = Sql::new("SELECT email_lower FROM users WHERE org_id = ");
        sql.text(org_id)
            .push(" AND ")
            .in_list("email_lower", emails_lower);
        run!(self, |p| bind_all!(
            crate::sql::query_scalar(&sql),
            sql.args
        )
        .fetch_all(p)
        .await
        .map_err(err))
    }

    /// PostgreSQL's autovacuum analyzes a table some time after it changed; a bulk import of
    /// thousands of users should not leave the planner guessing until then. SQLite's user
    /// queries do not depend on statistics (their plans are fixed), so it does nothing there.
    pub(crate) async fn refresh_statistics(&self) -> R<()> {
        if let Db::Postgres(pool) = self {
            sqlx::query(
                "ANALYZE users, identities, user_roles, user_environments, user_environment_bots",
            )
            .execute(pool)
            .await
            .map_err(err)?;
        }
        Ok(())
    }

    pub(crate) async fn set_user_access(
        &self,
        org_id: &str,
        user_id: &str,
        role_ids: &[String],
        envs: &[EnvAccess],
        fx: Effects,
    ) -> R<()> {
        tx!(self, |t| {
            lock_org!(t, org_id);
            let before = count_admins!(t, org_id);
            replace_roles!(t, org_id, user_id, role_ids);
            write_env_access!(t, org_id, user_id, envs);
            if before > 0 && count_admins!(t, org_id) == 0 {
                return Err(StoreError::Refused(Refusal::LastAdmin));
            }
            write_effects!(t, fx);
        });
        Ok(())
    }

    pub(crate) async fn count_active_admins(&self, org_id: &str) -> R<i64> {
        run!(self, |p| sqlx::query_scalar(
            "SELECT COUNT(*) FROM users WHERE org_id = $1 AND is_admin AND status = 'active'"
        )
        .bind(org_id)
        .fetch_one(p)
        .await
        .map_err(err))
    }

    pub(crate) async fn update_user_access(
        &self,
        u: &User,
        expected_updated_at: i64,
        role_ids: &[String],
        envs: &[EnvAccess],
        password: Option<&roster_domain::store::NewPassword>,
        fx: Effects,
    ) -> R<()> {
        tx!(self, |t| {
            lock_org!(t, &u.org_id);
            let before = count_admins!(t, &u.org_id);
            update_user_row!(t, u, expected_updated_at);
            if let Some(pw) = password {
                let now = roster_domain::types::now_micros();
                sqlx::query(
                    "UPDATE identities SET password_hash = $1, updated_at = $2, epoch = epoch + 1, \
                     sessions_valid_after = CASE WHEN $3 THEN $4 ELSE sessions_valid_after END WHERE id = $5",
                )
                .bind(&pw.hash)
                .bind(now)
                .bind(pw.revoke_sessions)
                .bind(roster_domain::types::session_stamp())
                .bind(&u.identity_id)
                .execute(&mut *t)
                .await
                .map_err(err)?;
            }
            replace_roles!(t, &u.org_id, &u.id, role_ids);
            write_env_access!(t, &u.org_id, &u.id, envs);
            if before > 0 && count_admins!(t, &u.org_id) == 0 {
                return Err(StoreError::Refused(Refusal::LastAdmin));
            }
            write_effects!(t, fx);
        });
        Ok(())
    }

    pub(crate) async fn env_access(
        &self,
        org_id: &str,
        user_ids: &[String],
    ) -> R<Vec<(String, EnvAccess)>> {
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
        let (mut env_rows, mut bot_rows): (Rows, Rows) = run!(self, |p| {
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
        Ok(env_rows
            .into_iter()
            .map(|(user, env, role)| {
                let bots = bots_of
                    .remove(&(user.clone(), env.clone()))
                    .unwrap_or_default();
                (
                    user,
                    EnvAccess {
                        environment_uuid: env,
                        role,
                        bots,
                    },
                )
            })
            .collect())
    }

    pub(crate) async fn upsert_environment(&self, e: &Environment, fx: Effects) -> R<()> {
        let now = roster_domain::types::now_micros();
        tx!(self, |t| {
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
            write_effects!(t, fx);
        });
        Ok(())
    }

    pub(crate) async fn upsert_bot(&self, b: &Bot, fx: Effects) -> R<()> {
        let now = roster_domain::types::now_micros();
        tx!(self, |t| {
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
            write_effects!(t, fx);
        });
        Ok(())
    }

    pub(crate) async fn list_environments(&self, org_id: &str) -> R<Vec<Environment>> {
        run!(self, |p| {
            let rows = sqlx::query("SELECT org_id, uuid, name, active FROM environments WHERE org_id = $1 ORDER BY name, uuid")
                .bind(org_id)
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

    pub(crate) async fn list_bots(&self, org_id: &str) -> R<Vec<Bot>> {
        run!(self, |p| {
            let rows = sqlx::query("SELECT org_id, uuid, environment_uuid, name, active FROM bots WHERE org_id = $1 ORDER BY name, uuid")
                .bind(org_id)
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

    pub(crate) async fn set_configuration(
        &self,
        org_id: &str,
        user_id: &str,
        c: &Configuration,
    ) -> R<()> {
        let now = roster_domain::types::now_micros();
        tx!(self, |t| {
            sqlx::query(
                "INSERT INTO configurations (org_id, user_id, bot_uuid, key, value, updated_at) VALUES ($1, $2, $3, $4, $5, $6) \
                 ON CONFLICT (org_id, user_id, bot_uuid, key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
            )
            .bind(org_id)
            .bind(user_id)
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

    pub(crate) async fn configurations(
        &self,
        org_id: &str,
        user_id: &str,
        bot: Option<&str>,
    ) -> R<Vec<Configuration>> {
        let rows: Vec<(String, String, String)> = run!(self, |p| {
            sqlx::query_as(
            "SELECT key, value, bot_uuid FROM configurations WHERE org_id = $1 AND user_id = $2 AND bot_uuid = $3 ORDER BY key"
        )
        .bind(org_id)
        .bind(user_id)
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
}
