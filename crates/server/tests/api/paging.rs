//! Paging: 250 users through every sort field, both directions; keyset positions underneath.

use roster_domain::types::OrgId;
use std::cmp::Ordering;

use serde_json::Value;

use crate::helpers::{is_postgres, Org, TestApp};

struct Row {
    id: String,
    first: String,
    last: String,
    email: String,
    convs: i64,
    msgs: i64,
    last_msg: i64,
}

fn key(r: &Row, field: &str) -> (i64, String) {
    match field {
        "first_name" => (0, r.first.to_lowercase()),
        "last_name" => (0, r.last.to_lowercase()),
        "email" => (0, r.email.to_lowercase()),
        "user_stats.num_conversations" => (r.convs, String::new()),
        "user_stats.num_messages" => (r.msgs, String::new()),
        _ => (r.last_msg, String::new()),
    }
}

/// The order Roster promises: each key in its direction, then the id in the last key's direction.
fn expected(rows: &[Row], sort: &[(&str, bool)]) -> Vec<String> {
    let mut v: Vec<&Row> = rows.iter().collect();
    v.sort_by(|a, b| {
        for (field, desc) in sort {
            let o = key(a, field).cmp(&key(b, field));
            let o = if *desc { o.reverse() } else { o };
            if o != Ordering::Equal {
                return o;
            }
        }
        let o = a.id.cmp(&b.id);
        if sort.last().is_some_and(|s| s.1) {
            o.reverse()
        } else {
            o
        }
    });
    v.into_iter().map(|r| r.id.clone()).collect()
}

async fn walk(app: &TestApp, org: &Org, sort_query: &str, limit: usize) -> Vec<String> {
    let mut seen = Vec::new();
    let mut token = 0i64;
    loop {
        let page: Value = app
            .list_users(
                org,
                &org.token,
                &format!("limit={limit}&continuation_token={token}{sort_query}"),
            )
            .await;
        let users = page["users"].as_array().unwrap();
        assert!(users.len() <= limit);
        seen.extend(
            users
                .iter()
                .map(|u| u["user_id"].as_str().unwrap().to_owned()),
        );
        if !page["has_more"].as_bool().unwrap() {
            assert_eq!(page["continuation_token"], Value::Null);
            break;
        }
        token = page["continuation_token"].as_i64().unwrap();
        assert!(
            token >= 1 << 40,
            "tokens we issue name stored keyset positions, not offsets"
        );
    }
    seen
}

#[tokio::test]
async fn two_hundred_fifty_users_through_every_sort() {
    let app = TestApp::spawn().await;
    let acme = app.bootstrap("acme").await;
    let firsts = [
        "Ana", "bruno", "Carla", "diego", "Élodie", "ana", "Zoë", "carla",
    ];
    let lasts = [
        "Souza", "lima", "Nunes", "Kowalski", "Ørsted", "souza", "Abe",
    ];
    let mut rows = Vec::new();
    for i in 0..249 {
        let (first, last) = (firsts[i % firsts.len()], lasts[i % lasts.len()]);
        let email = format!(
            "user{:03}@{}.example",
            (i * 7919) % 1000,
            ["b", "a", "c"][i % 3]
        );
        let id = app
            .invite(&acme, &email, first, last, "DefaultUserRole")
            .await;
        // Few distinct values, so ties are common and the id must break them.
        let (convs, msgs) = ((i % 5) as i64, ((i * 3) % 11) as i64);
        let last_msg = if i % 4 == 0 {
            None
        } else {
            Some(format!("2026-0{}-1{}T10:00:00Z", 1 + i % 9, i % 10))
        };
        app.set_stats("acme", &id, convs, msgs, last_msg.as_deref())
            .await;
        let last_us = last_msg
            .map(|t| {
                chrono::DateTime::parse_from_rfc3339(&t)
                    .unwrap()
                    .timestamp_micros()
            })
            .unwrap_or(0);
        rows.push(Row {
            id,
            first: first.into(),
            last: last.into(),
            email,
            convs,
            msgs,
            last_msg: last_us,
        });
    }
    rows.push(Row {
        id: acme.admin_id.clone(),
        first: "Ada".into(),
        last: "Admin".into(),
        email: "admin@acme.example".into(),
        convs: 0,
        msgs: 0,
        last_msg: 0,
    });
    assert_eq!(rows.len(), 250);

    let fields = [
        "first_name",
        "last_name",
        "email",
        "user_stats.num_conversations",
        "user_stats.num_messages",
        "user_stats.last_message_time",
    ];
    for field in fields {
        for desc in [false, true] {
            let q = format!("&sort_by={}{field}", if desc { "-" } else { "%2B" });
            let got = walk(&app, &acme, &q, 37).await;
            assert_eq!(got.len(), 250, "{q}: every user exactly once");
            assert_eq!(got, expected(&rows, &[(field, desc)]), "{q}: order");
        }
    }
    // Several keys with mixed directions, and the default order (creation).
    let got = walk(
        &app,
        &acme,
        "&sort_by=%2Buser_stats.num_conversations&sort_by=-last_name&sort_by=first_name",
        50,
    )
    .await;
    assert_eq!(
        got,
        expected(
            &rows,
            &[
                ("user_stats.num_conversations", false),
                ("last_name", true),
                ("first_name", false)
            ]
        )
    );
    let by_creation = walk(&app, &acme, "", 100).await;
    let mut ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
    ids.sort();
    assert_eq!(by_creation, ids);
    // A token reused with another sort order is refused rather than misread.
    let first = app
        .list_users(&acme, &acme.token, "limit=5&sort_by=email")
        .await;
    let t = first["continuation_token"].as_i64().unwrap();
    app.get(
        &format!("/v1/acme/user/?continuation_token={t}&sort_by=last_name"),
        &acme.token,
    )
    .await
    .expect(422);
    app.get(
        &format!("/v1/acme/user/?continuation_token={}", (1i64 << 40) + 12345),
        &acme.token,
    )
    .await
    .expect(422);
    // Small tokens are offsets, for clients that compute them.
    let offset = app
        .list_users(&acme, &acme.token, "limit=10&continuation_token=240")
        .await;
    assert_eq!(offset["users"].as_array().unwrap().len(), 10);
    assert_eq!(offset["has_more"], false);
}

#[tokio::test]
async fn every_sort_is_an_index_scan_whatever_the_page() {
    if is_postgres() {
        // PostgreSQL's planner picks sequential scans on tiny tables; the benchmark measures it at scale.
        return;
    }
    use roster_domain::paging::{Keyset, Position, SortKey, SortValue, UserQuery};
    use roster_store::Db;
    let app = TestApp::spawn().await;
    app.bootstrap("acme").await;
    let db: &Db = &app.state.db;
    for field in [
        "first_name",
        "last_name",
        "email",
        "user_stats.num_conversations",
        "user_stats.num_messages",
        "user_stats.last_message_time",
        "name",
    ] {
        for descending in [false, true] {
            let mut q = UserQuery::new(100);
            q.page.sort = vec![SortKey {
                field: field.into(),
                descending,
            }];
            let value = if field.starts_with("user_stats") {
                SortValue::Int(5)
            } else {
                SortValue::Text("m".into())
            };
            q.page.position = Position::After(Keyset {
                sort: q.page.sort.clone(),
                values: vec![value],
                last_id: "0".into(),
            });
            let plan = db
                .explain_list_users(&OrgId::from("acme"), &q)
                .await
                .unwrap()
                .join(" | ");
            assert!(
                plan.contains("USING INDEX") || plan.contains("USING COVERING INDEX"),
                "{field} {descending}: {plan}"
            );
            assert!(
                !plan.contains("TEMP B-TREE"),
                "{field} {descending}: sorted by the index, not afterwards: {plan}"
            );
        }
    }
}

/// eva's and org-user-management's numbered pages: pages past the middle are read from the other
/// end in reverse; together, page after page, they must make exactly the whole ordered list.
#[tokio::test]
async fn numbered_pages_from_either_end_make_the_whole_list() {
    let app = TestApp::spawn().await;
    let org = app.bootstrap("acme").await;
    let env = app
        .call(
            reqwest::Method::PUT,
            "/ingest/v1/acme/environments/env-1",
            None,
            Some(serde_json::json!({ "name": "Env" })),
            &[("authorization", "Bearer ingest-secret-for-tests")],
        )
        .await;
    assert_eq!(env.status.as_u16(), 204, "{}", env.body);
    let mut csv =
        String::from("email;name;company;role;password;environmentUuid;environmentName;bot\n");
    // Few distinct names and companies: ties that the id has to break.
    for i in 0..23 {
        let first = ["Ann", "Bob", "Cy"][i % 3];
        csv.push_str(&format!(
            "p{i}@acme.example;{first} Same{};Co {};SUPERVISOR;;env-1;Env;\n",
            i % 4,
            i % 5
        ));
    }
    let path = format!("/org/{}/users/bulk-create", org.uuid);
    app.upload_csv(reqwest::Method::POST, &path, &org.token, csv)
        .await
        .expect(200);
    let ids = |v: &Value, list: &str, id: &str| -> Vec<String> {
        v[list]
            .as_array()
            .expect("items")
            .iter()
            .map(|u| u[id].as_str().expect("id").to_owned())
            .collect()
    };
    for order in ["name", "email", "company", "createdAt"] {
        for direction in ["ASC", "DESC"] {
            let base = format!(
                "/org/{}/users?orderBy={order}&direction={direction}",
                org.uuid
            );
            let all = app
                .get(&format!("{base}&page=0&linesPerPage=100"), &org.token)
                .await
                .expect(200);
            assert_eq!(all["totalElements"], 24);
            let whole = ids(&all, "content", "uuid");
            let mut paged = Vec::new();
            for page in 0..7 {
                let p = app
                    .get(&format!("{base}&page={page}&linesPerPage=4"), &org.token)
                    .await
                    .expect(200);
                paged.extend(ids(&p, "content", "uuid"));
            }
            assert_eq!(paged, whole, "eva pages by {order} {direction}");
        }
    }
    let all = app
        .get("/users?page_size=100&page_number=1", &org.token)
        .await
        .expect(200);
    assert_eq!(all["count"], 24);
    let whole = ids(&all, "items", "id");
    let mut paged = Vec::new();
    for page in 1..=7 {
        let p = app
            .get(
                &format!("/users?page_size=5&page_number={page}"),
                &org.token,
            )
            .await
            .expect(200);
        paged.extend(ids(&p, "items", "id"));
    }
    assert_eq!(paged, whole, "org-user-management pages");
}

/// Cursor rows of `org` stored in the database.
async fn stored_cursors(app: &TestApp, org: &str) -> i64 {
    let sql = "SELECT COUNT(*) FROM page_cursors WHERE org_id = $1";
    match &app.state.db {
        roster_store::Db::Sqlite { write, .. } => sqlx::query_scalar(sql)
            .bind(org)
            .fetch_one(write)
            .await
            .unwrap(),
        roster_store::Db::Postgres(p) => sqlx::query_scalar(sql)
            .bind(org)
            .fetch_one(p)
            .await
            .unwrap(),
    }
}

/// A client polling the first page gets the token already stored for its position (on SQLite
/// each stored token is a write on the one writer), for as long as it has at least half its
/// lifetime left; the token reads the same page, and only in its own organization.
#[tokio::test]
async fn the_same_page_asked_again_gets_the_token_already_stored() {
    let app = TestApp::spawn().await;
    let acme = app.bootstrap("acme").await;
    let beta = app.bootstrap("beta").await;
    for i in 0..4 {
        app.invite(
            &acme,
            &format!("u{i}@acme.example"),
            "U",
            "Ser",
            "DefaultUserRole",
        )
        .await;
    }
    let first = || app.list_users(&acme, &acme.token, "limit=2&sort_by=email");
    let token = first().await["continuation_token"].as_i64().unwrap();
    let before = stored_cursors(&app, "acme").await;
    for _ in 0..3 {
        assert_eq!(first().await["continuation_token"].as_i64(), Some(token));
    }
    assert_eq!(stored_cursors(&app, "acme").await, before, "no new row");
    let second = app
        .list_users(
            &acme,
            &acme.token,
            &format!("limit=2&sort_by=email&continuation_token={token}"),
        )
        .await;
    assert_eq!(second["users"].as_array().unwrap().len(), 2);
    // acme's token is not beta's.
    app.get(
        &format!("/v1/beta/user/?limit=2&sort_by=email&continuation_token={token}"),
        &beta.token,
    )
    .await
    .expect(422);
    // Past half its lifetime the token is no longer handed out; it still reads its page until
    // it expires, and the new one then still does. (Sessions expire too: sign in again.)
    let ttl = app.state.core.config.cursor_ttl_secs as u64;
    app.advance(std::time::Duration::from_secs(ttl / 2 + 1));
    let admin = app.sign_in(&acme, &acme.admin_id).await;
    let page = |t: i64| format!("limit=2&sort_by=email&continuation_token={t}");
    let renewed = app.list_users(&acme, &admin, &page(0)).await["continuation_token"]
        .as_i64()
        .unwrap();
    assert_ne!(renewed, token);
    let again = app.list_users(&acme, &admin, &page(token)).await;
    assert_eq!(again["users"], second["users"]);
    app.advance(std::time::Duration::from_secs(ttl / 2));
    let admin = app.sign_in(&acme, &acme.admin_id).await;
    app.get(&format!("/v1/acme/user/?{}", page(token)), &admin)
        .await
        .expect(422);
    app.list_users(&acme, &admin, &page(renewed)).await;
}
