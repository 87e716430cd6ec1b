//! Export files byte for byte where a value needs escaping (quotes, separators, line breaks,
//! non-ASCII), and the store's export pages by keyset and by offset.

use reqwest::Method;
use roster_domain::paging::{Keyset, Position, UserQuery};
use roster_domain::types::{format_micros, OrgId, UserId};
use serde_json::{json, Value};

use crate::eva::{BOT, PROD};
use crate::helpers::{Org, TestApp};

fn jobs(org: &Org) -> String {
    format!("/admin/v1/orgs/{}/jobs", org.id)
}

/// An export of the organization's users, downloaded whole.
async fn export(app: &TestApp, org: &Org, format: &str) -> String {
    let job = app
        .post(
            &format!("{}/export", jobs(org)),
            &org.token,
            json!({ "format": format }),
        )
        .await
        .expect(201);
    let id = job["id"].as_str().expect("id");
    let r = app
        .client
        .get(format!("{}{}/{id}/result", app.base, jobs(org)))
        .bearer_auth(&org.token)
        .send()
        .await
        .expect("download");
    assert_eq!(r.status(), 200);
    r.text().await.expect("body")
}

/// Imports one user per `(email, name, company)`, as eva's CSV (quoted where it must be).
async fn import(app: &TestApp, org: &Org, users: &[(&str, &str, &str)]) {
    let quote = |v: &str| format!("\"{}\"", v.replace('"', "\"\""));
    let file: String = users
        .iter()
        .map(|(email, name, company)| {
            format!(
                "{email};{};{};VIEWER;;{PROD};Production;{BOT}\n",
                quote(name),
                quote(company)
            )
        })
        .collect();
    let r = app
        .client
        .request(Method::POST, format!("{}{}/import", app.base, jobs(org)))
        .bearer_auth(&org.token)
        .header("content-type", "text/csv")
        .body(file)
        .send()
        .await
        .expect("import");
    let status = r.status();
    let job: Value = r.json().await.expect("job");
    assert_eq!(status, 201, "{job}");
    assert_eq!(
        job["rows_applied"].as_u64(),
        Some(users.len() as u64),
        "{job}"
    );
}

#[tokio::test]
async fn exported_values_that_need_escaping_are_written_byte_for_byte() {
    let app = TestApp::spawn().await;
    let acme = app.bootstrap("acme").await;
    app.eva_catalog("acme").await;
    let users = [
        ("quotes@x.example", "Zoë \"Q\"", "Co; \"Inc\", Ltd"),
        ("lines@x.example", "Ünï Côdé", "Two\nlines\r\nand a\ttab"),
        ("cjk@x.example", "日本 語", "株式会社 😀 \\ back"),
        ("formula@x.example", "Plus Sign", "+1;2"),
    ];
    import(&app, &acme, &users).await;
    let (csv, jsonl) = (
        export(&app, &acme, "csv").await,
        export(&app, &acme, "jsonl").await,
    );
    let org = OrgId::from(acme.id.as_str());
    for (email, _, company) in users {
        let stored = app
            .state
            .core
            .store
            .list_users(&org, &{
                let mut q = UserQuery::new(2);
                q.emails_lower = vec![email.to_owned()];
                q
            })
            .await
            .expect("read");
        let u = &stored[0];
        let created = format_micros(u.created_at);
        // JSON lines: exactly what `json!` renders of the fields (keys by name, serde_json's
        // escapes, non-ASCII as it is).
        let line = json!({
            "id": u.id.as_str(),
            "email": email,
            "first_name": u.first_name,
            "last_name": u.last_name,
            "company": company,
            "status": u.status.as_str(),
            "is_admin": false,
            "roles": ["VIEWER"],
            "created_at": created,
        })
        .to_string();
        assert!(jsonl.lines().any(|l| l == line), "{line} not in\n{jsonl}");
        // CSV: quoted where it holds `;`, a quote or a line break, a formula behind a `'`.
        let field = |v: &str| {
            let formula = v.starts_with(['=', '+', '-', '@', '\t', '\r']);
            if formula || v.contains([';', '"', '\n', '\r']) {
                format!(
                    "\"{}{}\"",
                    if formula { "'" } else { "" },
                    v.replace('"', "\"\"")
                )
            } else {
                v.to_owned()
            }
        };
        let row = [
            u.id.as_str(),
            email,
            &u.first_name,
            &u.last_name,
            company,
            u.status.as_str(),
            "false",
            "VIEWER",
            &created,
        ]
        .map(field)
        .join(";");
        assert!(csv.contains(&format!("\n{row}\n")), "{row:?} not in\n{csv}");
    }
    // The values as given, read back by a CSV reader.
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(b';')
        .from_reader(csv.as_bytes());
    let records: Vec<csv::StringRecord> = reader.records().map(|r| r.expect("record")).collect();
    for (email, name, company) in users {
        let r = records.iter().find(|r| &r[1] == email).expect(email);
        assert_eq!(format!("{} {}", &r[2], &r[3]), name);
        let expected = if company.starts_with('+') {
            format!("'{company}")
        } else {
            company.to_owned()
        };
        assert_eq!(&r[4], expected);
    }
}

#[tokio::test]
async fn the_store_pages_an_export_by_keyset_and_by_offset() {
    let app = TestApp::spawn().await;
    let acme = app.bootstrap("acme").await;
    crate::browser_console::seed(&app, &acme.id, 30).await;
    let org = OrgId::from(acme.id.as_str());
    let store = &app.state.core.store;
    let upto = UserId::from("~");
    let all = store
        .export_users(&org, &UserQuery::new(1000), &upto)
        .await
        .expect("all");
    assert!(all.len() > 30, "{}", all.len());
    assert!(all.windows(2).all(|w| w[0].id < w[1].id), "in id order");
    let mut q = UserQuery::new(10);
    q.page.position = Position::Offset(7);
    let by_offset = store.export_users(&org, &q, &upto).await.expect("offset");
    assert_eq!(by_offset, all[7..17], "ten users after the first seven");
    q.page.position = Position::After(Keyset {
        sort: Vec::new(),
        values: Vec::new(),
        last_id: all[6].id.to_string(),
    });
    let by_keyset = store.export_users(&org, &q, &upto).await.expect("keyset");
    assert_eq!(by_keyset, by_offset);
    // The bound leaves out the users after it.
    let upto = all[11].id.clone();
    let bounded = store.export_users(&org, &q, &upto).await.expect("bounded");
    assert_eq!(bounded, all[7..12]);
}
