//! How user listings and other keyset-paged queries are built: filters, sorts, keyset
//! predicates and the search plan. A leaf module: it names no other store module but the SQL
//! builder and the column lists.

use roster_domain::paging::{Position, SortValue, UserQuery, Visibility};
use roster_domain::store::StoreError;
use roster_domain::types::OrgId;

use crate::rows::USER_COLS;
use crate::sql::{bind_all, Arg, Sql};
use crate::{err, Db, R};

/// The indexed column behind a sort field name.
pub(crate) fn user_sort_column(field: &str) -> Option<&'static str> {
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
        "user_name" => "user_name_key",
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

/// Between the role ids of a user in a listing row (ASCII unit separator).
pub(crate) const ROLE_SEPARATOR: char = '\u{1f}';

/// Below this many trigram matches in all organizations, a search term is selective.
const SELECTIVE_MATCHES: i64 = 5_000;

/// How a user listing reaches its rows; see [`search_plan`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Plan {
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

/// `SELECT <what> FROM users WHERE <the query's filters>`, without order or limit.
pub(crate) fn users_filtered(
    db: &Db,
    what: &str,
    org_id: &OrgId,
    q: &UserQuery,
    plan: Plan,
) -> Sql {
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
    if let Some(s) = q.status {
        sql.push(" AND status = ").text(s.as_str());
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
        contains(db, &mut sql, columns, needle, plan);
    }
    if let Some(needle) = &q.name_contains {
        // The name is part of `search_text`: its index narrowed the rows, the name decides.
        sql.push(" AND name_key LIKE ");
        sql.text(&like_contains(needle)).push(" ESCAPE '\\'");
    }
    if let Some(f) = &q.filter {
        sql.push(" AND ");
        crate::filter::user_filter(&mut sql, f);
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
fn contains(db: &Db, sql: &mut Sql, columns: &[&str], needle: &str, plan: Plan) {
    match db {
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
pub(crate) async fn search_plan(db: &Db, q: &UserQuery, counting: bool) -> R<Plan> {
    let Some((columns, needle)) = search_columns(q) else {
        return Ok(Plan::Indexes);
    };
    let Db::Sqlite { read, .. } = db else {
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

pub(crate) fn users_sql(db: &Db, org_id: &OrgId, q: &UserQuery, plan: Plan) -> R<Sql> {
    if let (Position::Offset(o), Db::Postgres(_)) = (&q.page.position, db) {
        if *o > 0 {
            return users_at_offset_sql(db, org_id, q, plan, *o);
        }
    }
    let mut sql = users_with_roles(db, USER_COLS, org_id, q, plan);
    keyset_and_order(&mut sql, &sort_of(q), &q.page.position, user_sort_column)?;
    sql.push(" LIMIT ");
    sql.bind(Arg::Int(q.page.limit as i64 + 1));
    if let Position::Offset(o) = q.page.position {
        sql.push(" OFFSET ");
        sql.bind(Arg::Int(o as i64));
    }
    Ok(sql)
}

/// A page at an offset on PostgreSQL, as a deferred join: the rows skipped are counted off the
/// sort index by id alone, and only the page's own rows are read whole with their roles.
/// Selecting the whole row (and its roles' subquery) for every skipped row cost PostgreSQL
/// seconds at an offset near the end of 1,000,000 users. Not on SQLite: its planner serves the
/// outer `ORDER BY` from the sort index and tests every row of the organization against the
/// `IN` list (eva's and oum's pages near the end went from 3 to 386 ms p50 at 1,000,000 users),
/// while its plain offsets met their targets (SCIM's near the end: 96.71 ms p99).
fn users_at_offset_sql(db: &Db, org_id: &OrgId, q: &UserQuery, plan: Plan, offset: u64) -> R<Sql> {
    let sort = sort_of(q);
    let mut ids = users_filtered(db, "id", org_id, q, plan);
    keyset_and_order(&mut ids, &sort, &Position::Start, user_sort_column)?;
    ids.push(" LIMIT ");
    ids.bind(Arg::Int(q.page.limit as i64 + 1));
    ids.push(" OFFSET ");
    ids.bind(Arg::Int(offset as i64));
    let mut sql = ids.prefixed(&format!(
        "SELECT {} FROM users WHERE id IN (",
        with_roles(db, USER_COLS)
    ));
    sql.push(") AND org_id = ");
    sql.text(org_id);
    keyset_and_order(&mut sql, &sort, &Position::Start, user_sort_column)?;
    Ok(sql)
}

fn sort_of(q: &UserQuery) -> Vec<(String, bool)> {
    q.page
        .sort
        .iter()
        .map(|k| (k.field.clone(), k.descending))
        .collect()
}

/// `SELECT <cols>, role_list FROM users WHERE <filters>`: each user's role ids come with the
/// row, from the primary key of `user_roles`: one query per page rather than two (a round
/// trip to a SQLite worker thread each).
fn users_with_roles(db: &Db, cols: &str, org_id: &OrgId, q: &UserQuery, plan: Plan) -> Sql {
    users_filtered(db, &with_roles(db, cols), org_id, q, plan)
}

/// `<cols>, role_list`, where `role_list` is a user's role ids from the primary key of
/// `user_roles`, for a query over `users`.
fn with_roles(db: &Db, cols: &str) -> String {
    // On PostgreSQL `users.id` is `COLLATE "C"` and `user_roles.user_id` is not: compared
    // as they are, the primary key of `user_roles` cannot serve and every row's subquery
    // scans the organization's roles (seconds per page at 1,000,000 users).
    let (roles, user_id) = match db {
        Db::Sqlite { .. } => ("group_concat(role_id, char(31))", "users.id"),
        Db::Postgres(_) => (
            "string_agg(role_id, chr(31))",
            "users.id COLLATE \"default\"",
        ),
    };
    format!(
        "{cols}, (SELECT {roles} FROM user_roles ur WHERE ur.org_id = users.org_id \
         AND ur.user_id = {user_id}) AS role_list"
    )
}

/// ` LIMIT <limit + 1>` (one more, to tell whether a next page exists) and the offset, if any.
pub(crate) fn limit_offset(sql: &mut Sql, limit: u32, position: &Position) {
    sql.push(" LIMIT ");
    sql.bind(Arg::Int(limit as i64 + 1));
    if let Position::Offset(o) = position {
        sql.push(" OFFSET ");
        sql.bind(Arg::Int(*o as i64));
    }
}

impl Db {
    /// The query plan of a user listing, one line per step (SQLite `EXPLAIN QUERY PLAN`,
    /// PostgreSQL `EXPLAIN`): tests use it to prove that sorts and pages are index scans.
    pub async fn explain_list_users(&self, org_id: &OrgId, q: &UserQuery) -> R<Vec<String>> {
        let plan = search_plan(self, q, false).await?;
        let sql = users_sql(self, org_id, q, plan)?;
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
}
