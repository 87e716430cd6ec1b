//! Exact totals of substring searches: eva's `totalElements` and org-user-management's `count`
//! are remembered per organization and search at the organization's user version (migration
//! 0018, `core/totals.rs`). These tests make every kind of write a count can see, through one
//! node and through another on the same database, and check that each total is still exact.

use serde_json::{json, Value};

use crate::helpers::{Org, TestApp};

/// Long enough that no cache entry expires during a test: only the version can explain a
/// total that follows a write.
const TEN_MINUTES_MS: u64 = 600_000;

async fn spawn(database_url: Option<String>) -> TestApp {
    TestApp::spawn_with(|c| {
        c.cache_ttl_ms = TEN_MINUTES_MS;
        if let Some(url) = database_url {
            c.database_url = Some(url);
        }
    })
    .await
}

/// Creates active users through eva's bulk import: `(email, name, company)`.
async fn bulk_create(app: &TestApp, org: &Org, rows: &[(&str, &str, &str)]) {
    let env = app
        .call(
            reqwest::Method::PUT,
            &format!("/ingest/v1/{}/environments/env-1", org.id),
            None,
            Some(json!({ "name": "Env" })),
            &[("authorization", "Bearer ingest-secret-for-tests")],
        )
        .await;
    assert_eq!(env.status.as_u16(), 204, "{}", env.body);
    let mut csv =
        String::from("email;name;company;role;password;environmentUuid;environmentName;bot\n");
    for (email, name, company) in rows {
        csv.push_str(&format!(
            "{email};{name};{company};SUPERVISOR;;env-1;Env;\n"
        ));
    }
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(csv.into_bytes()).file_name("users.csv"),
    );
    let r = app
        .client
        .post(format!("{}/org/{}/users/bulk-create", app.base, org.uuid))
        .bearer_auth(&org.token)
        .multipart(form)
        .send()
        .await
        .expect("upload");
    assert_eq!(r.status().as_u16(), 200, "{:?}", r.text().await);
}

/// eva's `totalElements` and org-user-management's `count` for `term`, each asked twice (the
/// second answer is the remembered one) and checked against the rows of a page of 100.
async fn totals(app: &TestApp, org: &Org, term: &str) -> (i64, i64) {
    let mut seen = Vec::new();
    for _ in 0..2 {
        let eva = app
            .get(
                &format!(
                    "/org/{}/users?linesPerPage=100&page=0&searchTerms={term}",
                    org.uuid
                ),
                &org.token,
            )
            .await
            .expect(200);
        let oum = app
            .get(
                &format!("/users?page_size=100&page_number=1&name_search={term}"),
                &org.token,
            )
            .await
            .expect(200);
        let total = eva["totalElements"].as_i64().expect("totalElements");
        let count = oum["count"].as_i64().expect("count");
        let len = |v: &Value, k: &str| v[k].as_array().expect(k).len() as i64;
        assert_eq!(
            total,
            len(&eva, "content"),
            "eva's total is its rows: {eva}"
        );
        assert_eq!(count, len(&oum, "items"), "oum's count is its rows: {oum}");
        seen.push((total, count));
    }
    assert_eq!(seen[0], seen[1], "asked twice, the same totals");
    seen[0]
}

fn user_id_of(app_page: &Value, email: &str) -> String {
    app_page["users"]
        .as_array()
        .expect("users")
        .iter()
        .find(|u| u["email"] == email)
        .and_then(|u| u["user_id"].as_str())
        .unwrap_or_else(|| panic!("{email} listed: {app_page}"))
        .to_owned()
}

async fn id_of(app: &TestApp, org: &Org, email: &str) -> String {
    let page = app.list_users(org, &org.token, "limit=100").await;
    user_id_of(&page, email)
}

#[tokio::test]
async fn totals_stay_exact_after_every_write_that_changes_them() {
    let app = spawn(None).await;
    let acme = app.bootstrap("acme").await;
    bulk_create(
        &app,
        &acme,
        &[
            ("a@acme.example", "Ana Rosales", "Co"),
            ("b@acme.example", "Bo Rossi", "Co"),
            ("c@acme.example", "Cy Lind", "Co"),
            ("d@acme.example", "Di Lind", "Rosco"),
        ],
    )
    .await;
    // eva matches name, email and company; org-user-management the name only.
    assert_eq!(totals(&app, &acme, "ros").await, (3, 2));
    // Another organization's users are never counted, nor do its writes disturb acme's totals.
    let other = app.bootstrap("other").await;
    bulk_create(&app, &other, &[("r@other.example", "Ros Other", "Co")]).await;
    assert_eq!(totals(&app, &other, "ros").await, (1, 1));
    assert_eq!(totals(&app, &acme, "ros").await, (3, 2));

    // A new matching user (created, then invited: invitees are in eva's total, not in oum's).
    bulk_create(&app, &acme, &[("e@acme.example", "Eve Rosen", "Co")]).await;
    assert_eq!(totals(&app, &acme, "ros").await, (4, 3));
    app.invite(&acme, "f@acme.example", "Fay", "Rosa", "DefaultUserRole")
        .await;
    assert_eq!(totals(&app, &acme, "ros").await, (5, 3));

    // A rename out of the term, and one into it.
    let b = id_of(&app, &acme, "b@acme.example").await;
    app.post(
        &format!("/v1/acme/user/{b}"),
        &acme.token,
        json!({ "last_name": "Berg" }),
    )
    .await
    .expect(204);
    assert_eq!(totals(&app, &acme, "ros").await, (4, 2));
    let c = id_of(&app, &acme, "c@acme.example").await;
    app.post(
        &format!("/v1/acme/user/{c}"),
        &acme.token,
        json!({ "first_name": "Rosalind" }),
    )
    .await
    .expect(204);
    assert_eq!(totals(&app, &acme, "ros").await, (5, 3));
    // An update that changes nothing a count sees leaves the totals as they are.
    app.post(
        &format!("/v1/acme/user/{c}"),
        &acme.token,
        json!({ "timezone": "Asia/Tokyo" }),
    )
    .await
    .expect(204);
    assert_eq!(totals(&app, &acme, "ros").await, (5, 3));

    // A deletion.
    let a = id_of(&app, &acme, "a@acme.example").await;
    app.delete(&format!("/v1/acme/user/{a}"), &acme.token)
        .await
        .expect(204);
    assert_eq!(totals(&app, &acme, "ros").await, (4, 2));
    // Other terms are counted on their own, and the match is case-insensitive.
    assert_eq!(totals(&app, &acme, "LIND").await, (2, 2));
    assert_eq!(totals(&app, &acme, "ros").await, (4, 2));
}

#[tokio::test]
async fn a_total_remembered_on_one_node_follows_writes_made_through_another() {
    // Two nodes on one database, without a shared generation: the user version is in the
    // database, so neither node's remembered total can outlive the other's write.
    let a = spawn(None).await;
    let acme = a.bootstrap("acme").await;
    let b = spawn(Some(a.database_url.clone())).await;
    bulk_create(&a, &acme, &[("a@acme.example", "Ana Rosales", "Co")]).await;
    assert_eq!(totals(&b, &acme, "ros").await, (1, 1));
    assert_eq!(totals(&a, &acme, "ros").await, (1, 1));
    bulk_create(&a, &acme, &[("b@acme.example", "Bo Rossi", "Co")]).await;
    assert_eq!(totals(&b, &acme, "ros").await, (2, 2));
    let id = id_of(&b, &acme, "a@acme.example").await;
    b.post(
        &format!("/v1/acme/user/{id}"),
        &acme.token,
        json!({ "last_name": "Berg" }),
    )
    .await
    .expect(204);
    assert_eq!(totals(&a, &acme, "ros").await, (1, 1));
    b.delete(&format!("/v1/acme/user/{id}"), &acme.token)
        .await
        .expect(204);
    let bo = id_of(&b, &acme, "b@acme.example").await;
    b.delete(&format!("/v1/acme/user/{bo}"), &acme.token)
        .await
        .expect(204);
    assert_eq!(totals(&a, &acme, "ros").await, (0, 0));
}
