//! Exports: an organization's users a page at a time, as the export job writes them.
//!
//! The database renders each user as one JSON array and a page as one text of such lines, so
//! that a page of 1,000 users crosses from the driver as one value: sqlx copies every column
//! value out of the database (on SQLite, with a `malloc` on its worker thread and a `free` on
//! another) and hands rows over one by one, which cost more than reading them.

use std::borrow::Cow;

use async_trait::async_trait;
use roster_domain::model::UserStatus;
use roster_domain::paging::{Position, UserQuery};
use roster_domain::store::{ExportStore, ExportedUser, StoreError};
use roster_domain::types::{OrgId, UserId};
use serde::Deserialize;

use crate::listing::{keyset_and_order, search_plan, users_filtered, Plan, ROLE_SEPARATOR};
use crate::sql::{bind_all, Arg, Sql};
use crate::{err, json_err, run, Db, SqlStore, R};

#[async_trait]
impl ExportStore for SqlStore {
    async fn export_users(
        &self,
        org_id: &OrgId,
        q: &UserQuery,
        upto: &UserId,
    ) -> R<Vec<ExportedUser>> {
        let db = self.route(org_id).await?;
        let plan = search_plan(db, q, false).await?;
        let sql = export_sql(db, org_id, q, plan, upto)?;
        let page: Option<String> = run!(db, |p| {
            bind_all!(crate::sql::query_scalar(&sql), sql.args)
                .fetch_one(p)
                .await
                .map_err(err)?
        });
        page.as_deref().map_or(Ok(Vec::new()), parse_page)
    }
}

/// One user of a page, as the database wrote it: the fields in [`user_line`]'s order.
#[derive(Deserialize)]
struct Line<'a>(
    String,
    String,
    String,
    String,
    Option<String>,
    #[serde(borrow)] Cow<'a, str>,
    Flag,
    i64,
    #[serde(borrow)] Option<Cow<'a, str>>,
);

/// A boolean as either database writes it in JSON: SQLite's integer, PostgreSQL's `true`.
#[derive(Deserialize)]
#[serde(untagged)]
enum Flag {
    Bool(bool),
    Int(i64),
}

/// The users of a page's text, in id order.
fn parse_page(text: &str) -> R<Vec<ExportedUser>> {
    let mut out = Vec::with_capacity(1024);
    for line in serde_json::Deserializer::from_str(text).into_iter::<Line>() {
        let Line(id, email, first_name, last_name, company, status, admin, created_at, roles) =
            line.map_err(json_err)?;
        let mut role_ids: Vec<String> = roles
            .map(|l| l.split(ROLE_SEPARATOR).map(str::to_owned).collect())
            .unwrap_or_default();
        role_ids.sort();
        out.push(ExportedUser {
            id: UserId::from(id),
            email,
            first_name,
            last_name,
            company,
            status: UserStatus::parse(&status),
            is_admin: match admin {
                Flag::Bool(b) => b,
                Flag::Int(i) => i != 0,
            },
            role_ids,
            created_at,
        });
    }
    // The aggregate's order is the page's in practice, but no dialect promises it.
    if !out.is_sorted_by(|a, b| a.id <= b.id) {
        out.sort_by(|a, b| a.id.cmp(&b.id));
    }
    Ok(out)
}

/// A user as one JSON array of the fields an export writes, its role ids last (one text,
/// separated by [`ROLE_SEPARATOR`], or null).
fn user_line(db: &Db) -> &'static str {
    match db {
        Db::Sqlite { .. } => {
            "json_array(id, email, first_name, last_name, company, status, is_admin, created_at, \
             (SELECT group_concat(role_id, char(31)) FROM user_roles ur \
             WHERE ur.org_id = users.org_id AND ur.user_id = users.id)) AS line"
        }
        // `users.id` is `COLLATE "C"` and `user_roles.user_id` is not: compared as they are,
        // the primary key of `user_roles` cannot serve (see `listing::users_with_roles`).
        Db::Postgres(_) => {
            "json_build_array(id, email, first_name, last_name, company, status, is_admin, \
             created_at, (SELECT string_agg(role_id, chr(31)) FROM user_roles ur \
             WHERE ur.org_id = users.org_id AND ur.user_id = users.id COLLATE \"default\"))::text \
             AS line"
        }
    }
}

/// An export's page as one text: the users up to the id `upto` matching the query's filters,
/// by id after its position (a keyset by id, or an offset), exactly its limit, one JSON array
/// a line.
fn export_sql(db: &Db, org_id: &OrgId, q: &UserQuery, plan: Plan, upto: &UserId) -> R<Sql> {
    if !q.page.sort.is_empty() {
        return Err(StoreError::Other(anyhow::anyhow!(
            "an export is in id order only"
        )));
    }
    let mut page = users_filtered(db, user_line(db), org_id, q, plan);
    page.push(" AND id <= ").text(upto.as_str());
    let position = match &q.page.position {
        Position::Offset(_) => &Position::Start,
        other => other,
    };
    keyset_and_order(&mut page, &[], position, |_| None)?;
    page.push(" LIMIT ");
    page.bind(Arg::Int(q.page.limit as i64));
    if let Position::Offset(o) = q.page.position {
        page.push(" OFFSET ");
        page.bind(Arg::Int(o as i64));
    }
    let all = match db {
        Db::Sqlite { .. } => "SELECT group_concat(line, char(10)) FROM (",
        Db::Postgres(_) => "SELECT string_agg(line, chr(10)) FROM (",
    };
    let mut sql = page.prefixed(all);
    sql.push(") AS page");
    Ok(sql)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_of_either_dialect_reads_back_in_id_order() {
        let text = "[\"b\",\"b@x\",\"B\\\"q\",\"\u{e9}\\n\",null,\"active\",1,5,\"r2\\u001fr1\"]\n\
                    [\"a\", \"a@x\", \"A\", \"A\", \"Co; x\", \"invited\", false, 7, null]";
        let users = parse_page(text).expect("page");
        assert_eq!(users.len(), 2);
        assert_eq!((users[0].id.as_str(), users[1].id.as_str()), ("a", "b"));
        let (a, b) = (&users[0], &users[1]);
        assert_eq!(
            (
                a.company.as_deref(),
                a.is_admin,
                a.created_at,
                a.role_ids.len()
            ),
            (Some("Co; x"), false, 7, 0)
        );
        assert_eq!(
            (b.first_name.as_str(), b.last_name.as_str()),
            ("B\"q", "\u{e9}\n")
        );
        assert_eq!((b.is_admin, b.status), (true, UserStatus::Active));
        assert_eq!(b.role_ids, ["r1", "r2"]);
    }
}
