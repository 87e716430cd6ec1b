//! `POST .search` (RFC 7644 section 3.4.3, docs/scim.md) on `/Users`, `/Groups` and the root.

use reqwest::Method;
use serde_json::json;

use crate::helpers::TestApp;
use crate::scim::{base, scim, search, token, USER};
use crate::scim_directory::{post, GROUP};

#[tokio::test]
async fn searches_are_posted_to_users_groups_and_the_root() {
    let app = TestApp::spawn().await;
    let org = app.bootstrap("acme").await;
    let t = token(&app, &org, None).await;
    let u = post(
        &app,
        &org,
        &t,
        "Users",
        json!({
            "schemas": [USER], "userName": "s@acme.example", "externalId": "u-ext",
            "name": { "givenName": "Sam" },
        }),
    )
    .await
    .expect(201);
    post(
        &app,
        &org,
        &t,
        "Groups",
        json!({ "schemas": [GROUP], "displayName": "Searchers", "externalId": "g-ext" }),
    )
    .await
    .expect(201);
    let b = base(&org);
    let mut body = search("userName eq \"S@acme.example\"");
    body["attributes"] = json!(["userName"]);
    let users = scim(
        &app,
        Method::POST,
        &format!("{b}/Users/.search"),
        &t,
        Some(body),
        &[],
    )
    .await
    .expect(200);
    assert_eq!(users["totalResults"], 1);
    assert_eq!(users["Resources"][0]["id"], u["id"]);
    assert_eq!(users["Resources"][0]["userName"], "s@acme.example");
    assert!(users["Resources"][0].get("name").is_none(), "{users}");
    let groups = scim(
        &app,
        Method::POST,
        &format!("{b}/Groups/.search"),
        &t,
        Some(search("displayName eq \"searchers\"")),
        &[],
    )
    .await
    .expect(200);
    assert_eq!(groups["totalResults"], 1);
    assert_eq!(groups["Resources"][0]["externalId"], "g-ext");
    // The root: users, then groups, one list; a filter only one type has matches that type's.
    let all = scim(
        &app,
        Method::POST,
        &format!("{b}/.search"),
        &t,
        Some(json!({ "schemas": [crate::scim::SEARCH], "attributes": ["externalId"] })),
        &[],
    )
    .await
    .expect(200);
    let resources = all["Resources"].as_array().expect("list");
    assert_eq!(all["totalResults"], json!(resources.len()));
    assert!(resources.iter().any(|r| r["externalId"] == "u-ext"));
    assert!(resources.iter().any(|r| r["externalId"] == "g-ext"));
    assert!(resources
        .iter()
        .all(|r| r.get("userName").is_none() && r.get("displayName").is_none()));
    let only_users = scim(
        &app,
        Method::POST,
        &format!("{b}/.search"),
        &t,
        Some(search("userName eq \"s@acme.example\"")),
        &[],
    )
    .await
    .expect(200);
    assert_eq!(only_users["totalResults"], 1);
    let paged = scim(
        &app,
        Method::POST,
        &format!("{b}/.search"),
        &t,
        Some(json!({ "schemas": [crate::scim::SEARCH], "startIndex": 2, "count": 1 })),
        &[],
    )
    .await
    .expect(200);
    assert_eq!(paged["itemsPerPage"], 1);
    assert_eq!(paged["totalResults"], all["totalResults"]);
    // What is not a SearchRequest: a SCIM 400.
    for bad in [
        json!({ "schemas": [crate::scim::SEARCH], "filter": "nope eq" }),
        json!({ "schemas": ["urn:other"] }),
        json!({ "schemas": [crate::scim::SEARCH], "sneaky": 1 }),
        json!({ "schemas": [crate::scim::SEARCH], "attributes": ["favouriteColour"] }),
        json!([1]),
    ] {
        for what in ["/.search", "/Users/.search", "/Groups/.search"] {
            scim(
                &app,
                Method::POST,
                &format!("{b}{what}"),
                &t,
                Some(bad.clone()),
                &[],
            )
            .await
            .expect(400);
        }
    }
}
