//! The event feed: one event per committed change, whichever surface or path made it, in commit
//! order, resumable, and one organization's only.

use reqwest::Method;
use serde_json::{json, Value};

use crate::eva::{BOT, PROD, STAGE};
use crate::helpers::{Org, TestApp};

impl TestApp {
    /// Every event of the organization after `after`, read page by page with `limit`.
    pub async fn feed(&self, org: &Org, after: &str, limit: u32) -> (Vec<Value>, String) {
        let mut events = Vec::new();
        let mut next = after.to_owned();
        loop {
            let page = self
                .get(
                    &format!(
                        "/admin/v1/orgs/{}/events?after={next}&limit={limit}",
                        org.id
                    ),
                    &org.token,
                )
                .await
                .expect(200);
            let got = page["events"].as_array().expect("events").clone();
            let n = page["next"].as_str().expect("next").to_owned();
            if got.is_empty() {
                assert_eq!(n, next, "an empty page leaves the cursor where it was");
                return (events, next);
            }
            events.extend(got);
            next = n;
        }
    }
}

pub fn types_of(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .map(|e| e["type"].as_str().expect("type").to_owned())
        .collect()
}

async fn bulk_create(app: &TestApp, org: &Org, csv: String) {
    let path = format!("/org/{}/users/bulk-create", org.uuid);
    app.upload_csv(Method::POST, &path, &org.token, csv)
        .await
        .expect(200);
}

/// Makes one change through each surface and path; returns the event types they must give, in
/// order, and the API key secret that must appear nowhere in the feed.
pub async fn one_change_per_path(
    app: &TestApp,
    org: &Org,
    tag: &str,
) -> (Vec<&'static str>, String) {
    let id = &org.id;
    // Amigo: an invitation, accepted through its link; an update; a role made and assigned.
    let invited = app
        .post(
            &format!("/v1/{id}/user/"),
            &org.token,
            json!({ "first_name": "Ana", "last_name": "Souza", "email": format!("ana-{tag}@x.example"), "role_name": "DefaultUserRole" }),
        )
        .await
        .expect(201);
    let ana = invited["user_id"].as_str().expect("user_id").to_owned();
    let token = invited["verify_link"]
        .as_str()
        .expect("verify_link")
        .split("token=")
        .nth(1)
        .expect("token")
        .to_owned();
    app.call(
        Method::POST,
        &format!("/v1/{id}/user/verify"),
        None,
        Some(json!({ "token": token })),
        &[],
    )
    .await
    .expect(200);
    app.post(
        &format!("/v1/{id}/user/{ana}"),
        &org.token,
        json!({ "timezone": "America/Sao_Paulo" }),
    )
    .await
    .expect(204);
    app.post(&format!("/v1/{id}/role/"), &org.token, json!({ "role_name": "Reader", "description": "r", "permission_grants": [{ "permission_name": "User:GetUserInfo", "conditions": {} }], "frontend_view": "client" }))
        .await
        .expect(201);
    app.post(
        &format!("/v1/{id}/role/Reader/assign"),
        &org.token,
        json!({ "user_id": ana }),
    )
    .await
    .expect(200);
    let key = app
        .post(
            &format!("/v1/{id}/organization/api_key/"),
            &org.token,
            json!({ "name": "k", "duration": "P30D", "role_name": "DefaultUserRole" }),
        )
        .await
        .expect(201);
    let secret = key["api_key"].as_str().expect("api_key").to_owned();
    // eva: a user created with a password; three rows of a bulk CSV.
    let eve = app.eva(
        Method::POST,
        &format!("/org/{}/users", org.uuid),
        &org.token,
        Some(json!({ "name": "Eve Editor", "email": format!("eve-{tag}@x.example"), "company": "C", "admin": false,
            "environments": [{ "role": "EDITOR", "environment": { "uuid": PROD }, "bots": [{ "uuid": BOT }] }],
            "password": "Secr3t!x", "passwordConfirmation": "Secr3t!x" })),
    )
    .await
    .expect(200)["uuid"]
        .as_str()
        .expect("uuid")
        .to_owned();
    let rows: String = (0..3)
        .map(|i| format!("bulk{i}-{tag}@x.example;Bulk {i};C;SUPERVISOR;;{STAGE};Staging;\r\n"))
        .collect();
    bulk_create(
        app,
        org,
        format!("EMAIL;NAME;COMPANY;ROLE;PASSWORD;ENVIRONMENTUUID;ENVIRONMENTNAME;BOT\r\n{rows}"),
    )
    .await;
    // org-user-management: an invitation.
    let r = app
        .call(Method::POST, "/users/invite", Some(&org.token), Some(json!({ "email": format!("olga-{tag}@x.example"), "name": "Olga", "roles": ["developer"], "connection": null })), &[])
        .await;
    assert!(r.status.is_success(), "{}", r.body);
    // Ingestion: statistics of a user; then Amigo deletes another.
    app.set_stats(id, &ana, 3, 9, None).await;
    app.delete(&format!("/v1/{id}/user/{eve}"), &org.token)
        .await
        .expect(204);
    let expected = vec![
        "invitation.created",
        "invitation.accepted",
        "user.updated",
        "role.created",
        "user.role_assigned",
        "api_key.created",
        "user.created",
        "user.created",
        "user.created",
        "user.created",
        "invitation.created",
        "user.updated",
        "user.deleted",
    ];
    (expected, secret)
}

#[tokio::test]
async fn every_write_path_gives_exactly_one_event_per_change_in_commit_order() {
    let app = TestApp::spawn().await;
    let acme = app.bootstrap("acme").await;
    let beta = app.bootstrap("beta").await;
    app.eva_catalog("acme").await;
    let (start, after_bootstrap) = app.feed(&acme, "0", 100).await;
    // Bootstrap: the organization, and its first API key.
    assert_eq!(
        types_of(&start),
        ["organization.created", "api_key.created"]
    );
    let (expected, secret) = one_change_per_path(&app, &acme, "a").await;
    let (events, next) = app.feed(&acme, &after_bootstrap, 100).await;
    assert_eq!(types_of(&events), expected);
    // Read again in pages of two from the same cursor: the same events, the same end.
    let (paged, next2) = app.feed(&acme, &after_bootstrap, 2).await;
    assert_eq!(paged, events);
    assert_eq!(next2, next);
    // Cursors increase by one in commit order; every event names its organization and request.
    for (i, e) in events.iter().enumerate() {
        let cursor: i64 = e["cursor"].as_str().unwrap().parse().unwrap();
        assert_eq!(
            cursor,
            after_bootstrap.parse::<i64>().unwrap() + 1 + i as i64,
            "{e}"
        );
        assert_eq!(e["data"]["organization"]["id"], "acme");
        assert!(
            e["data"]["request_id"]
                .as_str()
                .is_some_and(|r| !r.is_empty()),
            "{e}"
        );
    }
    // The resource as committed: the assigned role is in the user's roles; the deleted user
    // is named but no longer shown.
    let assigned = &events[4];
    assert!(
        !assigned["data"]["user"]["role_ids"]
            .as_array()
            .unwrap()
            .is_empty(),
        "{assigned}"
    );
    assert!(events[12]["data"].get("user").is_none(), "{}", events[12]);
    assert!(events[12]["data"]["user_id"].is_string());
    // No secret: not the API key's, not the eva password.
    let text = serde_json::to_string(&events).unwrap();
    assert!(
        !text.contains(&secret) && !text.contains("Secr3t!x"),
        "a secret leaked into the feed"
    );
    // The other organization's feed holds only its own bootstrap.
    let (theirs, _) = app.feed(&beta, "0", 100).await;
    assert_eq!(
        types_of(&theirs),
        ["organization.created", "api_key.created"]
    );
    // And its administrator cannot read this one's.
    let r = app.get("/admin/v1/orgs/acme/events", &beta.token).await;
    assert!(matches!(r.status.as_u16(), 403 | 404), "{}", r.status);
}

#[tokio::test]
async fn the_feed_filters_by_type_and_names_bad_input() {
    let app = TestApp::spawn().await;
    let acme = app.bootstrap("acme").await;
    app.invite(&acme, "a@x.example", "A", "B", "DefaultUserRole")
        .await;
    let page = app
        .get(
            "/admin/v1/orgs/acme/events?types=invitation.created,user.deleted",
            &acme.token,
        )
        .await
        .expect(200);
    assert_eq!(
        types_of(page["events"].as_array().unwrap()),
        ["invitation.created"]
    );
    for (q, field) in [
        ("after=abc", "after"),
        ("types=user.nope", "types"),
        ("limit=0", "limit"),
        ("limit=x", "limit"),
    ] {
        let r = app
            .get(&format!("/admin/v1/orgs/acme/events?{q}"), &acme.token)
            .await;
        assert_eq!(r.status.as_u16(), 422, "{q}: {}", r.body);
        assert!(r.body.to_string().contains(field), "{q}: {}", r.body);
    }
}
