//! What Okta and Microsoft Entra ID send, replayed byte for byte as their documentation shows
//! (Okta's "SCIM 2.0 provisioning" reference requests; Entra ID's "Tutorial: develop a sample
//! SCIM endpoint" request/response examples), each answered as the provider expects.

use reqwest::Method;
use roster_domain::types::OrgId;
use roster_domain::types::UserId;
use serde_json::{json, Value};

use crate::helpers::TestApp;
use crate::scim::{base, scim, token, USER};

async fn setup() -> (TestApp, crate::helpers::Org, String) {
    let app = TestApp::spawn().await;
    let org = app.bootstrap("acme").await;
    let t = token(&app, &org, None).await;
    (app, org, t)
}

fn id(v: &Value) -> String {
    v["id"].as_str().expect("id").to_owned()
}

#[tokio::test]
async fn okta_looks_up_before_creating_then_creates_replaces_and_deactivates() {
    let (app, org, t) = setup().await;
    let b = base(&org);
    // Okta's lookup: the filter as Okta encodes it, with startIndex=1&count=2.
    let lookup = format!(
        "{b}/Users?filter=userName%20eq%20%22test.user%40okta.local%22&startIndex=1&count=2"
    );
    let empty = scim(&app, Method::GET, &lookup, &t, None, &[])
        .await
        .expect(200);
    assert_eq!(empty["totalResults"], 0);
    assert_eq!(empty["Resources"], json!([]));
    assert_eq!(
        empty["schemas"],
        json!(["urn:ietf:params:scim:api:messages:2.0:ListResponse"])
    );
    let created = scim(
        &app,
        Method::POST,
        &format!("{b}/Users"),
        &t,
        Some(json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": "test.user@okta.local",
            "name": { "givenName": "Test", "familyName": "User" },
            "emails": [{ "primary": true, "value": "test.user@okta.local", "type": "work" }],
            "displayName": "Test User",
            "locale": "en-US",
            "externalId": "00ujl29u0le5T6Aj10h7",
            "groups": [],
            "password": "1mz050nq",
            "active": true
        })),
        &[],
    )
    .await
    .expect(201);
    let uid = id(&created);
    let found = scim(&app, Method::GET, &lookup, &t, None, &[])
        .await
        .expect(200);
    assert_eq!(found["totalResults"], 1);
    assert_eq!(found["Resources"][0]["id"], json!(uid));
    // Okta's full PUT, with `active`.
    let put = scim(
        &app,
        Method::PUT,
        &format!("{b}/Users/{uid}"),
        &t,
        Some(json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "id": uid,
            "userName": "test.user@okta.local",
            "name": { "givenName": "Another", "middleName": "Middle", "familyName": "User" },
            "emails": [{ "primary": true, "value": "test.user@okta.local", "type": "work" }],
            "displayName": "Another User",
            "locale": "en-US",
            "externalId": "00ujl29u0le5T6Aj10h7",
            "groups": [],
            "active": true,
            "meta": { "resourceType": "User" }
        })),
        &[],
    )
    .await
    .expect(200);
    assert_eq!(put["name"]["givenName"], "Another");
    // Okta's deactivation: PATCH without a path.
    let off = scim(
        &app,
        Method::PATCH,
        &format!("{b}/Users/{uid}"),
        &t,
        Some(json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{ "op": "replace", "value": { "active": false } }]
        })),
        &[],
    )
    .await
    .expect(200);
    assert_eq!(off["active"], false);
    let u = app
        .state
        .core
        .store
        .get_user(&OrgId::from(&org.id), &UserId::from(&uid))
        .await
        .expect("store")
        .expect("user");
    assert_eq!(u.status, roster_domain::model::UserStatus::Inactive);
    // And a PUT with active true brings them back.
    let on = scim(
        &app,
        Method::PUT,
        &format!("{b}/Users/{uid}"),
        &t,
        Some(json!({
            "schemas": [USER], "userName": "test.user@okta.local",
            "name": { "givenName": "Another", "familyName": "User" }, "active": true
        })),
        &[],
    )
    .await
    .expect(200);
    assert_eq!(on["active"], true);
}

#[tokio::test]
async fn okta_pushes_groups_and_removes_members_by_value_filter() {
    let (app, org, t) = setup().await;
    let b = base(&org);
    let mut ids = Vec::new();
    for n in ["one", "two"] {
        let u = scim(
            &app,
            Method::POST,
            &format!("{b}/Users"),
            &t,
            Some(json!({
                "schemas": [USER], "userName": format!("{n}@okta.local"),
                "name": { "givenName": n, "familyName": "Okta" }, "active": true
            })),
            &[],
        )
        .await
        .expect(201);
        ids.push(id(&u));
    }
    let g = scim(
        &app,
        Method::POST,
        &format!("{b}/Groups"),
        &t,
        Some(json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "displayName": "Test SCIMv2",
            "members": []
        })),
        &[],
    )
    .await
    .expect(201);
    let gid = id(&g);
    scim(
        &app,
        Method::PATCH,
        &format!("{b}/Groups/{gid}"),
        &t,
        Some(json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{ "op": "add", "path": "members", "value": [
                { "value": ids[0], "display": "one@okta.local" },
                { "value": ids[1], "display": "two@okta.local" }
            ] }]
        })),
        &[],
    )
    .await
    .expect(200);
    let removed = scim(
        &app,
        Method::PATCH,
        &format!("{b}/Groups/{gid}"),
        &t,
        Some(json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{ "op": "remove", "path": format!("members[value eq \"{}\"]", ids[0]) }]
        })),
        &[],
    )
    .await
    .expect(200);
    // A member is its id, its URI and its type (no `display`: a derived value a directory
    // could write and never read back).
    assert_eq!(
        removed["members"],
        json!([{
            "value": ids[1], "type": "User",
            "$ref": format!("{}{b}/Users/{}", app.state.core.config.public_url.trim_end_matches('/'), ids[1]),
        }])
    );
    // Okta's group lookup by name.
    let found = scim(
        &app,
        Method::GET,
        &format!("{b}/Groups?filter=displayName%20eq%20%22Test%20SCIMv2%22&startIndex=1&count=100"),
        &t,
        None,
        &[],
    )
    .await
    .expect(200);
    assert_eq!(found["totalResults"], 1);
}

#[tokio::test]
async fn entra_id_capitalized_ops_string_booleans_and_dotted_keys() {
    let (app, org, t) = setup().await;
    let b = base(&org);
    // Entra ID's create, with its `?aadOptscim062020` flag on every request.
    let created = scim(&app, Method::POST, &format!("{b}/Users?aadOptscim062020"), &t, Some(json!({
        "schemas": [
            "urn:ietf:params:scim:schemas:core:2.0:User",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
        ],
        "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
        "userName": "Test_User_ab6490ee-1e48-479e-a20b-2d77186b5dd1@testuser.com",
        "active": true,
        "emails": [{
            "primary": true,
            "type": "work",
            "value": "Test_User_ab6490ee-1e48-479e-a20b-2d77186b5dd1@testuser.com"
        }],
        "meta": { "resourceType": "User" },
        "name": { "formatted": "givenName familyName", "familyName": "familyName", "givenName": "givenName" },
        "roles": []
    })), &[]).await.expect(201);
    let uid = id(&created);
    // Entra's lookups: by userName, then by externalId.
    let by_name = scim(&app, Method::GET,
        &format!("{b}/Users?aadOptscim062020&filter=userName+eq+%22Test_User_ab6490ee-1e48-479e-a20b-2d77186b5dd1%40testuser.com%22"),
        &t, None, &[]).await.expect(200);
    assert_eq!(by_name["totalResults"], 1);
    let by_ext = scim(&app, Method::GET,
        &format!("{b}/Users?aadOptscim062020&filter=externalId+eq+%220a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef%22"),
        &t, None, &[]).await.expect(200);
    assert_eq!(by_ext["Resources"][0]["id"], json!(uid));
    // `Replace` with a boolean as a string.
    let off = scim(
        &app,
        Method::PATCH,
        &format!("{b}/Users/{uid}?aadOptscim062020"),
        &t,
        Some(json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{ "op": "Replace", "path": "active", "value": "False" }]
        })),
        &[],
    )
    .await
    .expect(200);
    assert_eq!(off["active"], false);
    // No-path `Replace` whose value has dotted keys and an extension's URN-prefixed key.
    let renamed = scim(&app, Method::PATCH, &format!("{b}/Users/{uid}?aadOptscim062020"), &t, Some(json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{
            "op": "Replace",
            "value": {
                "active": "True",
                "name.givenName": "Jane",
                "name.familyName": "Doe",
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:organization": "Contoso"
            }
        }]
    })), &[]).await.expect(200);
    assert_eq!(renamed["active"], true);
    assert_eq!(renamed["name"]["givenName"], "Jane");
    assert_eq!(renamed["name"]["familyName"], "Doe");
    assert_eq!(
        renamed["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]["organization"],
        "Contoso"
    );
    // `Add` of an attribute Roster does not keep is taken, and the user unchanged otherwise.
    scim(
        &app,
        Method::PATCH,
        &format!("{b}/Users/{uid}?aadOptscim062020"),
        &t,
        Some(json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{ "op": "Add", "path": "nickName", "value": "Babs" }]
        })),
        &[],
    )
    .await
    .expect(200);
    // `emails[type eq "work"].value` to the same address is accepted (the login email stays).
    scim(
        &app,
        Method::PATCH,
        &format!("{b}/Users/{uid}?aadOptscim062020"),
        &t,
        Some(json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{ "op": "Replace", "path": "emails[type eq \"work\"].value",
                "value": "Test_User_ab6490ee-1e48-479e-a20b-2d77186b5dd1@testuser.com" }]
        })),
        &[],
    )
    .await
    .expect(200);
    // Entra's probe for a user that does not exist.
    let none = scim(
        &app,
        Method::GET,
        &format!("{b}/Users?aadOptscim062020&filter=userName+eq+%22non-existent%40testuser.com%22"),
        &t,
        None,
        &[],
    )
    .await
    .expect(200);
    assert_eq!(none["totalResults"], 0);
    scim(
        &app,
        Method::DELETE,
        &format!("{b}/Users/{uid}?aadOptscim062020"),
        &t,
        None,
        &[],
    )
    .await
    .expect(204);
}

#[tokio::test]
async fn entra_id_groups_without_members_and_remove_with_a_value_array() {
    let (app, org, t) = setup().await;
    let b = base(&org);
    let u = scim(&app, Method::POST, &format!("{b}/Users?aadOptscim062020"), &t, Some(json!({
        "schemas": [USER], "userName": "member@contoso.example", "externalId": "e-1", "active": true
    })), &[]).await.expect(201);
    let uid = id(&u);
    // Entra's group create, with the group's externalId (taken; a role keeps none).
    let g = scim(
        &app,
        Method::POST,
        &format!("{b}/Groups?aadOptscim062020"),
        &t,
        Some(json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
            "displayName": "Group2",
            "meta": { "resourceType": "Group" }
        })),
        &[],
    )
    .await
    .expect(201);
    let gid = id(&g);
    scim(
        &app,
        Method::PATCH,
        &format!("{b}/Groups/{gid}?aadOptscim062020"),
        &t,
        Some(json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{ "op": "Add", "path": "members", "value": [{ "value": uid }] }]
        })),
        &[],
    )
    .await
    .expect(200);
    // `excludedAttributes=members`, as Entra reads groups.
    let read = scim(
        &app,
        Method::GET,
        &format!("{b}/Groups/{gid}?excludedAttributes=members"),
        &t,
        None,
        &[],
    )
    .await
    .expect(200);
    assert!(read.get("members").is_none());
    assert_eq!(read["displayName"], "Group2");
    let listed = scim(
        &app,
        Method::GET,
        &format!("{b}/Groups?excludedAttributes=members&filter=displayName+eq+%22Group2%22"),
        &t,
        None,
        &[],
    )
    .await
    .expect(200);
    assert_eq!(listed["totalResults"], 1);
    assert!(listed["Resources"][0].get("members").is_none());
    // `Remove` with a value array.
    let after = scim(
        &app,
        Method::PATCH,
        &format!("{b}/Groups/{gid}?aadOptscim062020"),
        &t,
        Some(json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{ "op": "Remove", "path": "members", "value": [{ "value": uid }] }]
        })),
        &[],
    )
    .await
    .expect(200);
    assert_eq!(after["members"], json!([]));
    let user = scim(
        &app,
        Method::GET,
        &format!("{b}/Users/{uid}"),
        &t,
        None,
        &[],
    )
    .await
    .expect(200);
    assert!(!user["groups"]
        .as_array()
        .expect("groups")
        .iter()
        .any(|x| x["display"] == "Group2"));
}
