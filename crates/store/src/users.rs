//! Users (memberships), their identities, roles, variables and statistics.

use roster_domain::model::*;
use roster_domain::paging::{Position, SortValue, UserQuery, Visibility};
use roster_domain::store::{Effects, NewIdentity, Refusal, StoreError};
use roster_domain::types::user_keys;
use serde_json::json;

use crate::orgs::{count_admins, lock_org};
use crate::rows::*;
use crate::sql::{bind_all, Arg, Sql};
use crate::{err, json_err, run, tx, Db, R};

/// Finds or creates the identity of a new user's email and returns the user attached to it.
macro_rules! attach_identity {
    ($t:expr, $identity:expr, $user:expr) => {{
        let i: &roster_domain::store::NewIdentity = $identity;
        sqlx::query(
            "INSERT INTO identities (id, email, email_lower, name, password_hash, connection, email_verified, \
             sessions_valid_after, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, 0, $8, $9) \
             ON CONFLICT (email_lower) DO NOTHING",
        )
        .bind(&i.id)
        .bind(&i.email)
        .bind(&i.email_lower)
        .bind(&i.name)
        .bind(&i.password_hash)
        .bind(i.connection.as_str())
        .bind(i.email_verified)
        .bind($user.created_at)
        .bind($user.created_at)
        .execute(&mut *$t)
        .await
        .map_err($crate::err)?;
        let id: String = sqlx::query_scalar("SELECT id FROM identities WHERE email_lower = $1")
            .bind(&i.email_lower)
            .fetch_one(&mut *$t)
            .await
            .map_err($crate::err)?;
        if id != i.id {
            // Joining an identity whose address nobody has proven: any password an organization
            // gave it stops working, so no organization can pre-claim a person's address. Its
            // epoch moves: links issued before the join set no credential any more. Sessions
            // that password opened end with it: they were never the person's.
            sqlx::query(
                "UPDATE identities SET epoch = epoch + 1, \
                 sessions_valid_after = CASE WHEN password_hash IS NOT NULL AND NOT email_verified THEN $1 \
                 ELSE sessions_valid_after END, \
                 password_hash = CASE WHEN email_verified THEN password_hash ELSE NULL END WHERE id = $2",
            )
                .bind(roster_domain::types::session_stamp())
                .bind(&id)
                .execute(&mut *$t)
                .await
                .map_err($crate::err)?;
        }
        let mut u: roster_domain::model::User = $user.clone();
        u.identity_id = id;
        u
    }};
}

macro_rules! insert_user_sql {
    ($t:expr, $u:expr) => {{
        let u: &roster_domain::model::User = $u;
        let sql = $crate::users::user_insert(&[u], false)?;
        $crate::sql::bind_all!(crate::sql::query(&sql), sql.args)
            .execute(&mut *$t)
            .await
            .map_err(|e| match $crate::err(e) {
                roster_domain::store::StoreError::Conflict { .. } => {
                    roster_domain::store::StoreError::Conflict { field: "email" }
                }
                e => e,
            })?;
        for role_id in &u.role_ids {
            sqlx::query("INSERT INTO user_roles (org_id, user_id, role_id) VALUES ($1, $2, $3)")
                .bind(&u.org_id)
                .bind(&u.id)
                .bind(role_id)
                .execute(&mut *$t)
                .await
                .map_err($crate::err)?;
        }
    }};
}

/// The UPDATE of a user's profile row with its optimistic-concurrency check, on an open transaction.
macro_rules! update_user_row {
    ($t:expr, $u:expr, $expected:expr) => {{
        let k = roster_domain::types::user_keys(&$u.email, &$u.first_name, &$u.last_name);
            let done = sqlx::query(
                "UPDATE users SET email = $1, email_lower = $2, first_name = $3, last_name = $4, first_key = $5, last_key = $6, \
                 name_key = $7, search_text = $8, status = $9, preferences = $10, additional_context = $11, company = $12, \
                 image = $13, updated_at = $14, company_key = $15, \
                 sessions_valid_after = CASE WHEN status <> 'inactive' AND $16 = 'inactive' THEN $17 ELSE sessions_valid_after END \
                 WHERE org_id = $18 AND id = $19 AND updated_at = $20",
            )
            .bind(&$u.email)
            .bind(&k.email_lower)
            .bind(&$u.first_name)
            .bind(&$u.last_name)
            .bind(&k.first_key)
            .bind(&k.last_key)
            .bind(&k.name_key)
            .bind(&k.search_text)
            .bind($u.status.as_str())
            .bind(serde_json::to_string(&$u.preferences).map_err($crate::json_err)?)
            .bind(serde_json::to_string(&$u.additional_context).map_err($crate::json_err)?)
            .bind(&$u.company)
            .bind(&$u.image)
            .bind($u.updated_at)
            .bind(roster_domain::types::fold($u.company.as_deref().unwrap_or("")))
            .bind($u.status.as_str())
            // A session stamp: a token minted before the deactivation is earlier, one minted
            // after it later, whatever the clock's resolution.
            .bind(roster_domain::types::session_stamp())
            .bind(&$u.org_id)
            .bind(&$u.id)
            .bind($expected)
            .execute(&mut *$t)
            .await
            .map_err(|e| match $crate::err(e) {
                roster_domain::store::StoreError::Conflict { .. } => roster_domain::store::StoreError::Conflict { field: "email" },
                e => e,
            })?;
            if done.rows_affected() == 0 {
                let exists: i64 =
                    sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE org_id = $1 AND id = $2")
                        .bind(&$u.org_id)
                        .bind(&$u.id)
                        .fetch_one(&mut *$t)
                        .await
                        .map_err($crate::err)?;
                return Err(if exists == 0 {
                    roster_domain::store::StoreError::NotFound
                } else {
                    roster_domain::store::StoreError::Refused(roster_domain::store::Refusal::Stale)
                });
            }
    }};
}

/// Replaces a user's organization roles and admin flag on an open transaction.
macro_rules! replace_roles {
    ($t:expr, $org:expr, $user:expr, $role_ids:expr) => {{
        // Bumping updated_at makes a concurrent optimistic update of this user stale.
        let done = sqlx::query("UPDATE users SET updated_at = updated_at + 1 WHERE org_id = $1 AND id = $2")
            .bind($org)
            .bind($user)
            .execute(&mut *$t)
            .await
            .map_err($crate::err)?;
        if done.rows_affected() == 0 {
            return Err(roster_domain::store::StoreError::NotFound);
        }
        sqlx::query("DELETE FROM user_roles WHERE org_id = $1 AND user_id = $2")
            .bind($org)
            .bind($user)
            .execute(&mut *$t)
            .await
            .map_err($crate::err)?;
        for r in $role_ids.iter() {
            sqlx::query("INSERT INTO user_roles (org_id, user_id, role_id) VALUES ($1, $2, $3)")
                .bind($org)
                .bind($user)
                .bind(r)
                .execute(&mut *$t)
                .await
                .map_err($crate::err)?;
        }
        // The admin flag follows the roles as they are now, read inside this transaction.
        sqlx::query(
            "UPDATE users SET is_admin = EXISTS (SELECT 1 FROM user_roles ur JOIN roles r ON r.org_id = ur.org_id \
             AND r.id = ur.role_id WHERE ur.org_id = users.org_id AND ur.user_id = users.id AND r.is_admin) \
             WHERE org_id = $1 AND id = $2",
        )
        .bind($org)
        .bind($user)
        .execute(&mut *$t)
        .await
        .map_err($crate::err)?;
    }};
}

pub(crate) use {attach_identity, insert_user_sql, replace_roles, update_user_row};

/// The indexed column behind a sort field name.
fn user_sort_column(field: &str) -> Option<&'static str> {
    Some(match field {
        "first_name" => "first_key",
        "last_name" => "last_key",
        "name" => "name_key",
        "email" => "email_lower",
        "user_stats.num_conversations" => "num_conversations",
        "user_stats.num_messages" => "num_messages",
        "user_stats.last_message_time" => "last_message_at",
        "created_at" => "created_at",
        "company" => "company_key",
        _ => return None,
    })
}

/// Appends ` AND <keyset predicate>` and ` ORDER BY ...` for sort keys with an `id` tie-break that
/// follows the last key's direction, so a single-key sort is one index scan either way.
pub(crate) fn keyset_and_order(
    sql: &mut Sql,
    sort: &[(String, bool)],
    position: &Position,
    column: impl Fn(&str) -> Option<&'static str>,
) -> R<()> {
    let mut cols: Vec<(&'static str, bool)> = Vec::new();
    for (field, desc) in sort {
        let c = column(field)
            .ok_or_else(|| StoreError::Other(anyhow::anyhow!("unsorted field {field}")))?;
        cols.push((c, *desc));
    }
    let tie_desc = cols.last().map(|c| c.1).unwrap_or(false);
    cols.push(("id", tie_desc));
    if let Position::After(k) = position {
        let mut values: Vec<Arg> = k
            .values
            .iter()
            .map(|v| match v {
                SortValue::Int(i) => Arg::Int(*i),
                SortValue::Text(s) => Arg::Text(s.clone()),
            })
            .collect();
        values.push(Arg::Text(k.last_id.clone()));
        if values.len() != cols.len() {
            return Err(StoreError::Other(anyhow::anyhow!(
                "cursor does not match its sort"
            )));
        }
        sql.push(" AND (");
        if cols.iter().all(|c| c.1 == tie_desc) {
            let names: Vec<&str> = cols.iter().map(|c| c.0).collect();
            sql.push("(")
                .push(&names.join(", "))
                .push(if tie_desc { ") < (" } else { ") > (" });
            for (i, v) in values.into_iter().enumerate() {
                if i > 0 {
                    sql.push(", ");
                }
                sql.bind(v);
            }
            sql.push(")");
        } else {
            for i in 0..cols.len() {
                if i > 0 {
                    sql.push(" OR ");
                }
                sql.push("(");
                for (j, col) in cols.iter().enumerate().take(i) {
                    sql.push(col.0).push(" = ");
                    sql.bind(values[j].clone());
                    sql.push(" AND ");
                }
                sql.push(cols[i].0)
                    .push(if cols[i].1 { " < " } else { " > " });
                sql.bind(values[i].clone());
                sql.push(")");
            }
        }
        sql.push(")");
    }
    sql.push(" ORDER BY ");
    let order: Vec<String> = cols
        .iter()
        .map(|(c, d)| format!("{c} {}", if *d { "DESC" } else { "ASC" }))
        .collect();
    sql.push(&order.join(", "));
    Ok(())
}

/// `INSERT INTO users ... VALUES (...), (...)` for `users`; with `skip_taken`, a row whose email
/// is already in its organization is skipped and the ids of the inserted rows are returned.
pub(crate) fn user_insert(users: &[&User], skip_taken: bool) -> R<Sql> {
    let mut sql = Sql::new(
        "INSERT INTO users (org_id, id, identity_id, email, email_lower, first_name, last_name, first_key, last_key, \
         name_key, search_text, status, is_admin, preferences, additional_context, nonsensitive_variables, \
         sensitive_names, company, image, enable_actions_access, num_conversations, num_messages, last_message_at, \
         created_at, updated_at, company_key, connection) VALUES ",
    );
    let mut rows = Vec::with_capacity(users.len());
    for u in users {
        let k = user_keys(&u.email, &u.first_name, &u.last_name);
        rows.push(vec![
            Arg::Text(u.org_id.clone()),
            Arg::Text(u.id.clone()),
            Arg::Text(u.identity_id.clone()),
            Arg::Text(u.email.clone()),
            Arg::Text(k.email_lower),
            Arg::Text(u.first_name.clone()),
            Arg::Text(u.last_name.clone()),
            Arg::Text(k.first_key),
            Arg::Text(k.last_key),
            Arg::Text(k.name_key),
            Arg::Text(k.search_text),
            Arg::Text(u.status.as_str().to_owned()),
            Arg::Bool(u.is_admin),
            Arg::Text(serde_json::to_string(&u.preferences).map_err(json_err)?),
            Arg::Text(serde_json::to_string(&u.additional_context).map_err(json_err)?),
            Arg::Text(serde_json::to_string(&u.nonsensitive_variables).map_err(json_err)?),
            Arg::Text(serde_json::to_string(&u.sensitive_names).map_err(json_err)?),
            Arg::OptText(u.company.clone()),
            Arg::OptText(u.image.clone()),
            Arg::Bool(u.enable_actions_access),
            Arg::Int(u.stats.num_conversations),
            Arg::Int(u.stats.num_messages),
            Arg::Int(u.stats.last_message_at.unwrap_or(0)),
            Arg::Int(u.created_at),
            Arg::Int(u.updated_at),
            Arg::Text(roster_domain::types::fold(
                u.company.as_deref().unwrap_or(""),
            )),
            Arg::Text(u.connection.as_str().to_owned()),
        ]);
    }
    sql.values(rows);
    if skip_taken {
        sql.push(" ON CONFLICT (org_id, email_lower) DO NOTHING RETURNING id");
    }
    Ok(sql)
}

/// Between the role ids of a user in a listing row (ASCII unit separator).
const ROLE_SEPARATOR: char = '\u{1f}';

/// Below this many trigram matches in all organizations, a search term is selective.
const SELECTIVE_MATCHES: i64 = 5_000;

/// How a user listing reaches its rows; see [`Db::search_plan`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Plan {
    /// Whatever the indexes and the planner choose (no substring search, or PostgreSQL).
    Indexes,
    /// The trigram matches first, by rowid, then the other filters and the sort.
    MatchesFirst,
    /// Rows in the sort index's order, each checked with `LIKE`.
    Filter,
}

/// The indexed columns a substring search of the query goes through, and its needle: Amigo's
/// matches name and email, eva's the company too, and a name search narrows by name and email
/// before `name_key` decides. `None` without a substring filter.
fn search_columns(q: &UserQuery) -> Option<(&'static [&'static str], &str)> {
    match (&q.contains, &q.name_contains) {
        (Some(n), _) if q.contains_company => Some((&["search_text", "company_key"], n)),
        (Some(n), _) | (None, Some(n)) => Some((&["search_text"], n)),
        (None, None) => None,
    }
}

/// The FTS5 query for a substring of one of `columns`: a quoted phrase, with a column filter.
fn fts_query(columns: &[&str], needle: &str) -> String {
    let phrase = format!("\"{}\"", needle.replace('"', "\"\""));
    format!("{{{}}} : {phrase}", columns.join(" "))
}

/// `LIKE` pattern for a substring, with the wildcards of the needle escaped.
fn like_contains(needle: &str) -> String {
    let escaped = needle
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}

impl Db {
    pub(crate) async fn get_identity(&self, id: &str) -> R<Option<Identity>> {
        run!(self, |p| {
            let row = sqlx::query(
                "SELECT id, email, email_lower, name, connection, email_verified, sessions_valid_after, epoch, created_at FROM identities WHERE id = $1",
            )
            .bind(id)
            .fetch_optional(p)
            .await
            .map_err(err)?;
            let Some(r) = row else { return Ok(None) };
            let connection: String = get!(&r, "connection");
            Ok(Some(Identity {
                id: get!(&r, "id"),
                email: get!(&r, "email"),
                email_lower: get!(&r, "email_lower"),
                name: get!(&r, "name"),
                connection: Connection::parse(&connection).unwrap_or(Connection::Password),
                email_verified: get!(&r, "email_verified"),
                sessions_valid_after: get!(&r, "sessions_valid_after"),
                epoch: get!(&r, "epoch"),
                created_at: get!(&r, "created_at"),
            }))
        })
    }

    pub(crate) async fn insert_user(
        &self,
        identity: NewIdentity,
        user: User,
        secrets: &[(String, String)],
        fx: Effects,
    ) -> R<User> {
        let user = tx!(self, |t| {
            let user = attach_identity!(t, &identity, &user);
            insert_user_sql!(t, &user);
            for (name, value) in secrets {
                sqlx::query("INSERT INTO user_secrets (org_id, user_id, name, value) VALUES ($1, $2, $3, $4)")
                    .bind(&user.org_id)
                    .bind(&user.id)
                    .bind(name)
                    .bind(value)
                    .execute(&mut *t)
                    .await
                    .map_err(err)?;
            }
            write_effects!(t, fx);
            user
        });
        Ok(user)
    }

    pub(crate) async fn get_user(&self, org_id: &str, user_id: &str) -> R<Option<User>> {
        let mut q = UserQuery::new(1);
        q.ids = vec![user_id.to_owned()];
        Ok(self.list_users(org_id, &q).await?.into_iter().next())
    }

    /// `SELECT <what> FROM users WHERE <the query's filters>`, without order or limit.
    fn users_filtered(&self, what: &str, org_id: &str, q: &UserQuery, plan: Plan) -> Sql {
        let from = match plan {
            // No index of `users` but the rowid: the trigram matches are looked up one by one.
            Plan::MatchesFirst => "users NOT INDEXED",
            Plan::Indexes | Plan::Filter => "users",
        };
        let mut sql = Sql::new(&format!("SELECT {what} FROM {from} WHERE org_id = "));
        sql.text(org_id);
        if !q.ids.is_empty() {
            sql.push(" AND ").in_list("id", &q.ids);
        }
        if !q.emails_lower.is_empty() {
            sql.push(" AND ").in_list("email_lower", &q.emails_lower);
        }
        match q.is_verified {
            Some(true) => sql.push(" AND status <> 'invited'"),
            Some(false) => sql.push(" AND status = 'invited'"),
            None => &mut sql,
        };
        if q.exclude_inactive {
            sql.push(" AND status <> 'inactive'");
        }
        if let Visibility::Only { user_ids, role_ids } = &q.visibility {
            sql.push(" AND (").in_list("id", user_ids);
            if !role_ids.is_empty() {
                sql.push(" OR id IN (SELECT user_id FROM user_roles WHERE org_id = ");
                sql.text(org_id)
                    .push(" AND ")
                    .in_list("role_id", role_ids)
                    .push(")");
            }
            sql.push(")");
        }
        if let Some((columns, needle)) = search_columns(q) {
            sql.push(" AND ");
            self.contains(&mut sql, columns, needle, plan);
        }
        if let Some(needle) = &q.name_contains {
            // The name is part of `search_text`: its index narrowed the rows, the name decides.
            sql.push(" AND name_key LIKE ");
            sql.text(&like_contains(needle)).push(" ESCAPE '\\'");
        }
        if let Some(prefix) = &q.name_prefix {
            sql.push(" AND name_key >= ");
            sql.text(prefix);
            sql.push(" AND name_key < ");
            sql.text(&format!("{prefix}\u{10FFFF}"));
        }
        sql
    }

    /// `(<one of columns> contains needle)`: through SQLite's FTS5 trigram table for three
    /// characters or more (unless the plan is to filter rows met in index order), through
    /// PostgreSQL's `pg_trgm` GIN indexes behind `LIKE`.
    fn contains(&self, sql: &mut Sql, columns: &[&str], needle: &str, plan: Plan) {
        match self {
            Db::Sqlite { .. } if plan != Plan::Filter && needle.chars().count() >= 3 => {
                sql.push("seq IN (SELECT rowid FROM users_fts WHERE users_fts MATCH ");
                sql.text(&fts_query(columns, needle)).push(")");
            }
            _ => {
                sql.push("(");
                for (i, c) in columns.iter().enumerate() {
                    if i > 0 {
                        sql.push(" OR ");
                    }
                    sql.push(c).push(" LIKE ");
                    sql.text(&like_contains(needle)).push(" ESCAPE '\\'");
                }
                sql.push(")");
            }
        }
    }

    /// How to run a substring search on SQLite, whose planner cannot tell a term that matches a
    /// hundred rows from one that matches a hundred thousand: ask the trigram index, up to
    /// [`SELECTIVE_MATCHES`]. A selective term's matches are fetched by rowid and sorted; an
    /// unselective one is checked on rows met in the sort index's order, which finds a page
    /// after reading a few rows per match. Counting always goes through the matches.
    async fn search_plan(&self, q: &UserQuery, counting: bool) -> R<Plan> {
        let Some((columns, needle)) = search_columns(q) else {
            return Ok(Plan::Indexes);
        };
        let Db::Sqlite { read, .. } = self else {
            return Ok(Plan::Indexes);
        };
        if needle.chars().count() < 3 {
            return Ok(Plan::Indexes);
        }
        if counting {
            return Ok(Plan::MatchesFirst);
        }
        let found: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM (SELECT rowid FROM users_fts WHERE users_fts MATCH ? LIMIT ?)",
        )
        .bind(fts_query(columns, needle))
        .bind(SELECTIVE_MATCHES)
        .fetch_one(read)
        .await
        .map_err(err)?;
        Ok(if found < SELECTIVE_MATCHES {
            Plan::MatchesFirst
        } else {
            Plan::Filter
        })
    }

    fn users_sql(&self, org_id: &str, q: &UserQuery, plan: Plan) -> R<Sql> {
        // Each user's role ids come with the row, from the primary key of `user_roles`: one
        // query per page rather than two (a round trip to a SQLite worker thread each).
        // On PostgreSQL `users.id` is `COLLATE "C"` and `user_roles.user_id` is not: compared
        // as they are, the primary key of `user_roles` cannot serve and every row's subquery
        // scans the organization's roles (seconds per page at 1,000,000 users).
        let (roles, user_id) = match self {
            Db::Sqlite { .. } => ("group_concat(role_id, char(31))", "users.id"),
            Db::Postgres(_) => (
                "string_agg(role_id, chr(31))",
                "users.id COLLATE \"default\"",
            ),
        };
        let what = format!(
            "{USER_COLS}, (SELECT {roles} FROM user_roles ur WHERE ur.org_id = users.org_id \
             AND ur.user_id = {user_id}) AS role_list"
        );
        let mut sql = self.users_filtered(&what, org_id, q, plan);
        let sort: Vec<(String, bool)> = q
            .page
            .sort
            .iter()
            .map(|k| (k.field.clone(), k.descending))
            .collect();
        keyset_and_order(&mut sql, &sort, &q.page.position, user_sort_column)?;
        sql.push(" LIMIT ");
        sql.bind(Arg::Int(q.page.limit as i64 + 1));
        if let Position::Offset(o) = q.page.position {
            sql.push(" OFFSET ");
            sql.bind(Arg::Int(o as i64));
        }
        Ok(sql)
    }

    pub(crate) async fn count_users(&self, org_id: &str, q: &UserQuery) -> R<i64> {
        // Every filter is named here, so that a new one cannot slip past the counters.
        let UserQuery {
            ids,
            emails_lower,
            is_verified,
            contains,
            exclude_inactive,
            contains_company: _,
            name_contains,
            name_prefix,
            visibility,
            page: _,
        } = q;
        let by_status_only = ids.is_empty()
            && emails_lower.is_empty()
            && contains.is_none()
            && name_contains.is_none()
            && name_prefix.is_none()
            && matches!(visibility, Visibility::All);
        if by_status_only {
            // The counters the triggers of migration 0006 keep per organization and status.
            let mut sql = Sql::new(
                "SELECT CAST(COALESCE(SUM(n), 0) AS BIGINT) FROM user_counts WHERE org_id = ",
            );
            sql.text(org_id);
            match is_verified {
                Some(true) => sql.push(" AND status <> 'invited'"),
                Some(false) => sql.push(" AND status = 'invited'"),
                None => &mut sql,
            };
            if *exclude_inactive {
                sql.push(" AND status <> 'inactive'");
            }
            return run!(self, |p| bind_all!(
                crate::sql::query_scalar::<_, i64>(&sql),
                sql.args
            )
            .fetch_one(p)
            .await
            .map_err(err));
        }
        let plan = self.search_plan(q, true).await?;
        let sql = self.users_filtered("COUNT(*)", org_id, q, plan);
        run!(self, |p| bind_all!(
            crate::sql::query_scalar(&sql),
            sql.args
        )
        .fetch_one(p)
        .await
        .map_err(err))
    }

    pub(crate) async fn memberships(&self, identity_id: &str) -> R<Vec<(String, String)>> {
        run!(self, |p| sqlx::query_as(
            "SELECT org_id, id FROM users WHERE identity_id = $1 ORDER BY org_id"
        )
        .bind(identity_id)
        .fetch_all(p)
        .await
        .map_err(err))
    }

    pub(crate) async fn identity_by_email(&self, email_lower: &str) -> R<Option<Identity>> {
        let id: Option<String> = run!(self, |p| sqlx::query_scalar(
            "SELECT id FROM identities WHERE email_lower = $1"
        )
        .bind(email_lower)
        .fetch_optional(p)
        .await
        .map_err(err)?);
        match id {
            Some(id) => self.get_identity(&id).await,
            None => Ok(None),
        }
    }

    pub(crate) async fn password_hash(&self, identity_id: &str) -> R<Option<String>> {
        let h: Option<Option<String>> = run!(self, |p| sqlx::query_scalar(
            "SELECT password_hash FROM identities WHERE id = $1"
        )
        .bind(identity_id)
        .fetch_optional(p)
        .await
        .map_err(err)?);
        Ok(h.flatten())
    }

    pub(crate) async fn end_member_sessions(
        &self,
        org_id: &str,
        user_id: &str,
        at: i64,
        fx: Effects,
    ) -> R<()> {
        tx!(self, |t| {
            sqlx::query(
                "UPDATE users SET sessions_valid_after = CASE WHEN sessions_valid_after > $1 \
                 THEN sessions_valid_after ELSE $2 END WHERE org_id = $3 AND id = $4",
            )
            .bind(at)
            .bind(at)
            .bind(org_id)
            .bind(user_id)
            .execute(&mut *t)
            .await
            .map_err(err)?;
            write_effects!(t, fx);
        });
        Ok(())
    }

    pub(crate) async fn set_password(
        &self,
        identity_id: &str,
        hash: &str,
        revoke_sessions: bool,
        fx: Effects,
    ) -> R<()> {
        let now = roster_domain::types::now_micros();
        tx!(self, |t| {
            let done = sqlx::query(
                "UPDATE identities SET password_hash = $1, updated_at = $2, epoch = epoch + 1, \
                 sessions_valid_after = CASE WHEN $3 THEN $4 ELSE sessions_valid_after END WHERE id = $5",
            )
            .bind(hash)
            .bind(now)
            .bind(revoke_sessions)
            // A session stamp: tokens issued before the reset are earlier, every token issued
            // after it later (tokens carry their own stamp, `iat_us`).
            .bind(roster_domain::types::session_stamp())
            .bind(identity_id)
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

    pub(crate) async fn rename_identity(
        &self,
        identity_id: &str,
        first: &str,
        last: &str,
        fx: Effects,
    ) -> R<()> {
        let name = roster_domain::types::full_name(first, last);
        let now = roster_domain::types::now_micros();
        let members = self.memberships(identity_id).await?;
        tx!(self, |t| {
            sqlx::query("UPDATE identities SET name = $1, updated_at = $2 WHERE id = $3")
                .bind(&name)
                .bind(now)
                .bind(identity_id)
                .execute(&mut *t)
                .await
                .map_err(err)?;
            for (org_id, user_id) in &members {
                let email: String =
                    sqlx::query_scalar("SELECT email FROM users WHERE org_id = $1 AND id = $2")
                        .bind(org_id)
                        .bind(user_id)
                        .fetch_one(&mut *t)
                        .await
                        .map_err(err)?;
                let k = user_keys(&email, first, last);
                sqlx::query(
                    "UPDATE users SET first_name = $1, last_name = $2, first_key = $3, last_key = $4, name_key = $5, \
                     search_text = $6, updated_at = updated_at + 1 WHERE org_id = $7 AND id = $8",
                )
                .bind(first)
                .bind(last)
                .bind(&k.first_key)
                .bind(&k.last_key)
                .bind(&k.name_key)
                .bind(&k.search_text)
                .bind(org_id)
                .bind(user_id)
                .execute(&mut *t)
                .await
                .map_err(err)?;
            }
            write_effects!(t, fx);
        });
        Ok(())
    }

    pub(crate) async fn apply_email_change(
        &self,
        token_hash: &str,
        now: i64,
        mut fx: Effects,
    ) -> R<Option<(String, String)>> {
        tx!(self, |t| {
            let row: Option<(String, String, String, String)> = sqlx::query_as(
                // Only while the identity is as it was when the change was asked for (its epoch):
                // a request made before the account joined another organization, or before
                // another credential change, is void.
                "UPDATE one_time_tokens SET used_at = $1 WHERE token_hash = $2 AND purpose = 'email_change' \
                 AND used_at IS NULL AND expires_at > $3 \
                 AND identity_epoch = (SELECT i.epoch FROM identities i WHERE i.id = one_time_tokens.identity_id) \
                 RETURNING identity_id, payload, org_id, user_id",
            )
            .bind(now)
            .bind(token_hash)
            .bind(now)
            .fetch_optional(&mut *t)
            .await
            .map_err(err)?;
            let Some((identity_id, payload, org_id, user_id)) = row else {
                return Ok(None);
            };
            let payload: serde_json::Value = serde_json::from_str(&payload).map_err(json_err)?;
            let email = payload["email"].as_str().unwrap_or_default().to_owned();
            let lower = email.to_lowercase();
            let conflict = |e| match err(e) {
                StoreError::Conflict { .. } => StoreError::Conflict { field: "email" },
                e => e,
            };
            sqlx::query("UPDATE identities SET email = $1, email_lower = $2, email_verified = $3, updated_at = $4, epoch = epoch + 1 WHERE id = $5")
                .bind(&email)
                .bind(&lower)
                .bind(true)
                .bind(now)
                .bind(&identity_id)
                .execute(&mut *t)
                .await
                .map_err(conflict)?;
            let members: Vec<(String, String, String, String)> = sqlx::query_as(
                "SELECT org_id, id, first_name, last_name FROM users WHERE identity_id = $1",
            )
            .bind(&identity_id)
            .fetch_all(&mut *t)
            .await
            .map_err(err)?;
            for (m_org, m_id, first, last) in &members {
                let k = user_keys(&email, first, last);
                sqlx::query(
                    "UPDATE users SET email = $1, email_lower = $2, search_text = $3, updated_at = updated_at + 1 \
                     WHERE org_id = $4 AND id = $5",
                )
                .bind(&email)
                .bind(&k.email_lower)
                .bind(&k.search_text)
                .bind(m_org)
                .bind(m_id)
                .execute(&mut *t)
                .await
                .map_err(conflict)?;
            }
            for a in fx.audit.iter_mut() {
                a.org_id = org_id.clone();
                a.target_user_id = Some(user_id.clone());
            }
            write_effects!(t, fx);
            Ok(Some((identity_id, email)))
        })
    }

    /// The query plan of a user listing, one line per step (SQLite `EXPLAIN QUERY PLAN`,
    /// PostgreSQL `EXPLAIN`): tests use it to prove that sorts and pages are index scans.
    pub async fn explain_list_users(&self, org_id: &str, q: &UserQuery) -> R<Vec<String>> {
        let plan = self.search_plan(q, false).await?;
        let sql = self.users_sql(org_id, q, plan)?;
        Ok(match self {
            Db::Sqlite { read, .. } => {
                let text = sql.prefixed("EXPLAIN QUERY PLAN ");
                let rows: Vec<(i64, i64, i64, String)> =
                    bind_all!(crate::sql::query_as(&text), text.args)
                        .fetch_all(read)
                        .await
                        .map_err(err)?;
                rows.into_iter().map(|r| r.3).collect()
            }
            Db::Postgres(pool) => {
                let text = sql.prefixed("EXPLAIN ");
                bind_all!(crate::sql::query_scalar(&text), text.args)
                    .fetch_all(pool)
                    .await
                    .map_err(err)?
            }
        })
    }

    pub(crate) async fn list_users(&self, org_id: &str, q: &UserQuery) -> R<Vec<User>> {
        let plan = self.search_plan(q, false).await?;
        let sql = self.users_sql(org_id, q, plan)?;
        let users = run!(self, |p| {
            let rows = bind_all!(crate::sql::query(&sql), sql.args)
                .fetch_all(p)
                .await
                .map_err(err)?;
            let mut out = Vec::with_capacity(rows.len());
            for r in &rows {
                let mut u = user_from!(r);
                let roles: Option<String> = get!(r, "role_list");
                u.role_ids = roles
                    .map(|l| l.split(ROLE_SEPARATOR).map(str::to_owned).collect())
                    .unwrap_or_default();
                u.role_ids.sort();
                out.push(u);
            }
            out
        });
        Ok(users)
    }

    pub(crate) async fn update_user(
        &self,
        u: &User,
        expected_updated_at: i64,
        fx: Effects,
    ) -> R<()> {
        tx!(self, |t| {
            // Always under the organization's lock: whether this user is an administrator is
            // read now, not from the copy the caller loaded earlier.
            lock_org!(t, &u.org_id);
            let before = count_admins!(t, &u.org_id);
            update_user_row!(t, u, expected_updated_at);
            if before > 0 && count_admins!(t, &u.org_id) == 0 {
                return Err(StoreError::Refused(Refusal::LastAdmin));
            }
            write_effects!(t, fx);
        });
        Ok(())
    }

    pub(crate) async fn set_user_roles(
        &self,
        org_id: &str,
        user_id: &str,
        role_ids: &[String],
        env_roles_kept: &[String],
        fx: Effects,
    ) -> R<()> {
        tx!(self, |t| {
            lock_org!(t, org_id);
            let before = count_admins!(t, org_id);
            replace_roles!(t, org_id, user_id, role_ids);
            // The environments whose role goes, and their bots.
            let mut gone =
                Sql::new("SELECT environment_uuid FROM user_environments WHERE org_id = ");
            gone.text(org_id).push(" AND user_id = ");
            gone.text(user_id);
            if !env_roles_kept.is_empty() {
                let kept: Vec<String> = env_roles_kept.to_vec();
                gone.push(" AND NOT ").in_list("role_name", &kept);
            }
            let envs: Vec<String> =
                bind_all!(crate::sql::query_scalar::<_, String>(&gone), gone.args)
                    .fetch_all(&mut *t)
                    .await
                    .map_err(err)?;
            for env in &envs {
                for table in ["user_environment_bots", "user_environments"] {
                    sqlx::query(&format!(
                        "DELETE FROM {table} WHERE org_id = $1 AND user_id = $2 AND environment_uuid = $3"
                    ))
                    .bind(org_id)
                    .bind(user_id)
                    .bind(env)
                    .execute(&mut *t)
                    .await
                    .map_err(err)?;
                }
            }
            if before > 0 && count_admins!(t, org_id) == 0 {
                return Err(StoreError::Refused(Refusal::LastAdmin));
            }
            write_effects!(t, fx);
        });
        Ok(())
    }

    pub(crate) async fn delete_user(
        &self,
        org_id: &str,
        user_id: &str,
        soft: Option<Vec<String>>,
        fx: Effects,
    ) -> R<()> {
        let snapshot = match &soft {
            Some(_) => self.get_user(org_id, user_id).await?.map(|u| {
                json!({
                    "first_name": u.first_name, "last_name": u.last_name, "email": u.email,
                    "role_ids": u.role_ids, "created_at": u.created_at,
                    "user_stats": { "num_conversations": u.stats.num_conversations, "num_messages": u.stats.num_messages,
                                    "last_message_at": u.stats.last_message_at },
                })
            }),
            None => None,
        };
        let now = roster_domain::types::now_micros();
        tx!(self, |t| {
            lock_org!(t, org_id);
            let before = count_admins!(t, org_id);
            let identity: Option<String> =
                sqlx::query_scalar("SELECT identity_id FROM users WHERE org_id = $1 AND id = $2")
                    .bind(org_id)
                    .bind(user_id)
                    .fetch_optional(&mut *t)
                    .await
                    .map_err(err)?;
            let Some(identity) = identity else {
                return Err(StoreError::NotFound);
            };
            if let (Some(reasons), Some(snap)) = (&soft, &snapshot) {
                let email = snap["email"].as_str().unwrap_or_default().to_owned();
                sqlx::query(
                    "INSERT INTO deleted_users (org_id, id, identity_id, email, snapshot, not_deletable_reasons, deleted_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(org_id)
                .bind(user_id)
                .bind(&identity)
                .bind(email)
                .bind(snap.to_string())
                .bind(serde_json::to_string(reasons).map_err(json_err)?)
                .bind(now)
                .execute(&mut *t)
                .await
                .map_err(err)?;
            }
            let mut tables = vec![
                "user_roles",
                "user_environments",
                "user_environment_bots",
                "configurations",
                "user_secrets",
                "one_time_tokens",
                "temporary_grants",
                "upstream_links",
            ];
            if soft.is_none() {
                tables.extend(["memories", "user_models"]);
            }
            for table in tables {
                sqlx::query(&format!(
                    "DELETE FROM {table} WHERE org_id = $1 AND user_id = $2"
                ))
                .bind(org_id)
                .bind(user_id)
                .execute(&mut *t)
                .await
                .map_err(err)?;
            }
            sqlx::query("DELETE FROM users WHERE org_id = $1 AND id = $2")
                .bind(org_id)
                .bind(user_id)
                .execute(&mut *t)
                .await
                .map_err(err)?;
            // A membership fewer is a change of the identity too (see `attach_identity!`).
            sqlx::query("UPDATE identities SET epoch = epoch + 1 WHERE id = $1")
                .bind(&identity)
                .execute(&mut *t)
                .await
                .map_err(err)?;
            sqlx::query(
                "DELETE FROM identities WHERE id = $1 AND NOT EXISTS (SELECT 1 FROM users WHERE identity_id = $2) \
                 AND NOT EXISTS (SELECT 1 FROM deleted_users WHERE identity_id = $3)",
            )
            .bind(&identity)
            .bind(&identity)
            .bind(&identity)
            .execute(&mut *t)
            .await
            .map_err(err)?;
            if before > 0 && count_admins!(t, org_id) == 0 {
                return Err(StoreError::Refused(Refusal::LastAdmin));
            }
            write_effects!(t, fx);
        });
        Ok(())
    }

    pub(crate) async fn modify_variables(
        &self,
        org_id: &str,
        user_id: &str,
        upserts: &[(String, String, bool)],
        deletes: &[String],
        max_each: usize,
        fx: Effects,
    ) -> R<()> {
        tx!(self, |t| {
            // Takes the row lock on PostgreSQL before reading.
            sqlx::query("UPDATE users SET updated_at = updated_at WHERE org_id = $1 AND id = $2")
                .bind(org_id)
                .bind(user_id)
                .execute(&mut *t)
                .await
                .map_err(err)?;
            let row: Option<(String, String)> =
                sqlx::query_as("SELECT nonsensitive_variables, sensitive_names FROM users WHERE org_id = $1 AND id = $2")
                    .bind(org_id)
                    .bind(user_id)
                    .fetch_optional(&mut *t)
                    .await
                    .map_err(err)?;
            let Some((plain, secret)) = row else {
                return Err(StoreError::NotFound);
            };
            let mut plain: std::collections::BTreeMap<String, String> =
                serde_json::from_str(&plain).map_err(json_err)?;
            let mut secret: Vec<String> = serde_json::from_str(&secret).map_err(json_err)?;
            for name in deletes {
                let had = plain.remove(name).is_some() | secret.contains(name);
                if !had {
                    return Err(StoreError::Refused(Refusal::VariableMissing(name.clone())));
                }
                secret.retain(|s| s != name);
            }
            for (name, value, is_secret) in upserts {
                if *is_secret {
                    plain.remove(name);
                    if !secret.contains(name) {
                        secret.push(name.clone());
                    }
                } else {
                    secret.retain(|s| s != name);
                    plain.insert(name.clone(), value.clone());
                }
            }
            if plain.len() > max_each || secret.len() > max_each {
                return Err(StoreError::Refused(Refusal::VariableLimit));
            }
            secret.sort();
            sqlx::query("UPDATE users SET nonsensitive_variables = $1, sensitive_names = $2 WHERE org_id = $3 AND id = $4")
                .bind(serde_json::to_string(&plain).map_err(json_err)?)
                .bind(serde_json::to_string(&secret).map_err(json_err)?)
                .bind(org_id)
                .bind(user_id)
                .execute(&mut *t)
                .await
                .map_err(err)?;
            let mut gone: Vec<&String> = deletes.iter().collect();
            gone.extend(upserts.iter().filter(|u| !u.2).map(|u| &u.0));
            for name in gone {
                sqlx::query(
                    "DELETE FROM user_secrets WHERE org_id = $1 AND user_id = $2 AND name = $3",
                )
                .bind(org_id)
                .bind(user_id)
                .bind(name)
                .execute(&mut *t)
                .await
                .map_err(err)?;
            }
            for (name, value, _) in upserts.iter().filter(|u| u.2) {
                sqlx::query(
                    "INSERT INTO user_secrets (org_id, user_id, name, value) VALUES ($1, $2, $3, $4) \
                     ON CONFLICT (org_id, user_id, name) DO UPDATE SET value = excluded.value",
                )
                .bind(org_id)
                .bind(user_id)
                .bind(name)
                .bind(value)
                .execute(&mut *t)
                .await
                .map_err(err)?;
            }
            write_effects!(t, fx);
        });
        Ok(())
    }

    pub(crate) async fn set_user_stats(
        &self,
        org_id: &str,
        user_id: &str,
        s: &UserStats,
        fx: Effects,
    ) -> R<()> {
        tx!(self, |t| {
            let done = sqlx::query("UPDATE users SET num_conversations = $1, num_messages = $2, last_message_at = $3 WHERE org_id = $4 AND id = $5")
                .bind(s.num_conversations)
                .bind(s.num_messages)
                .bind(s.last_message_at.unwrap_or(0))
                .bind(org_id)
                .bind(user_id)
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
}
