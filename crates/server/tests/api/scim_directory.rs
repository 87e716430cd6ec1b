//! SCIM names, groups' external ids and group deletion (docs/scim.md): a member named by a
//! directory's own id rather than an email, a group refused whole, and what deleting a group
//! does to the role and its holders.

use reqwest::Method;
use roster_domain::types::OrgId;
use serde_json::{json, Value};

use crate::helpers::{Org, TestApp};
use crate::scim::{base, scim, token, PATCH_OP, USER};

pub const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";

pub async fn post(
    app: &TestApp,
    org: &Org,
    t: &str,
    what: &str,
    body: Value,
) -> crate::helpers::Resp {
    scim(
        app,
        Method::POST,
        &format!("{}/{what}", base(org)),
        t,
        Some(body),
        &[],
    )
    .await
}

pub async fn list(app: &TestApp, org: &Org, t: &str, what: &str, filter: &str) -> Value {
    let url = reqwest::Url::parse_with_params(
        &format!("{}{}/{what}", app.base, base(org)),
        [("filter", filter)],
    )
    .expect("url");
    crate::scim::raw(app.client.get(url).bearer_auth(t))
        .await
        .expect(200)
}

pub fn id(v: &Value) -> String {
    v["id"].as_str().expect("id").to_owned()
}

#[tokio::test]
async fn a_user_name_that_is_not_an_email_is_kept_and_the_login_email_comes_from_emails() {
    let app = TestApp::spawn().await;
    let org = app.bootstrap("acme").await;
    let t = token(&app, &org, None).await;
    let name = "6f1d4c2a-8b3e-4f5a-9c7d-0e1f2a3b4c5d";
    let made = post(
        &app,
        &org,
        &t,
        "Users",
        json!({
            "schemas": [USER], "userName": name, "active": true,
            "emails": [
                { "value": "home@acme.example", "type": "home" },
                { "value": "Ada@Acme.example", "type": "work", "primary": true },
            ],
        }),
    )
    .await
    .expect(201);
    assert_eq!(made["userName"], name);
    assert_eq!(
        made["emails"],
        json!([{ "value": "Ada@Acme.example", "type": "work", "primary": true }])
    );
    let uid = id(&made);
    let got = scim(
        &app,
        Method::GET,
        &format!("{}/Users/{uid}", base(&org)),
        &t,
        None,
        &[],
    )
    .await
    .expect(200);
    assert_eq!(got["userName"], name);
    // An ordinary member, whose login email is the primary address.
    let amigo = app
        .get(&format!("/v1/{}/user/?user_id={uid}", org.id), &org.token)
        .await
        .expect(200);
    let shown = amigo.to_string().to_lowercase();
    assert!(
        shown.contains("ada@acme.example") && !shown.contains("home@"),
        "{amigo}"
    );
    // `userName eq` finds it case-insensitively, by its name and not by its email.
    let by_name = list(
        &app,
        &org,
        &t,
        "Users",
        &format!("userName eq \"{}\"", name.to_uppercase()),
    )
    .await;
    assert_eq!(by_name["totalResults"], 1);
    assert_eq!(by_name["Resources"][0]["id"], json!(uid));
    let by_email = list(&app, &org, &t, "Users", "userName eq \"ada@acme.example\"").await;
    assert_eq!(by_email["totalResults"], 0);
    let by_address = list(
        &app,
        &org,
        &t,
        "Users",
        "emails.value eq \"ada@acme.example\"",
    )
    .await;
    assert_eq!(by_address["totalResults"], 1);
    // Sorted with the names that are emails.
    post(
        &app,
        &org,
        &t,
        "Users",
        json!({ "schemas": [USER], "userName": "zed@acme.example" }),
    )
    .await
    .expect(201);
    let sorted = crate::scim::raw(
        app.client
            .get(format!(
                "{}{}/Users?sortBy=userName&sortOrder=descending",
                app.base,
                base(&org)
            ))
            .bearer_auth(&t),
    )
    .await
    .expect(200);
    let names: Vec<&str> = sorted["Resources"]
        .as_array()
        .expect("list")
        .iter()
        .map(|r| r["userName"].as_str().expect("userName"))
        .collect();
    let mut expected = names.clone();
    expected.sort_by_key(|n| std::cmp::Reverse(n.to_lowercase()));
    assert_eq!(names, expected);
    assert!(names.contains(&name) && names.contains(&"zed@acme.example"));
    // The same name again (any case), with another email: 409 uniqueness.
    let again = post(
        &app,
        &org,
        &t,
        "Users",
        json!({
            "schemas": [USER], "userName": name.to_uppercase(),
            "emails": [{ "value": "other@acme.example", "primary": true }],
        }),
    )
    .await
    .expect(409);
    assert_eq!(again["scimType"], "uniqueness");
    // A name that is not an email and no email: 400 naming userName, nothing written.
    let bare = post(
        &app,
        &org,
        &t,
        "Users",
        json!({ "schemas": [USER], "userName": "no-email-here" }),
    )
    .await
    .expect(400);
    assert_eq!(bare["scimType"], "invalidValue");
    assert!(
        bare["detail"]
            .as_str()
            .expect("detail")
            .contains("userName"),
        "{bare}"
    );
    assert_eq!(
        list(&app, &org, &t, "Users", "userName eq \"no-email-here\"").await["totalResults"],
        0
    );
    // The name is set once: a PUT naming another is 400 mutability; the same name is kept.
    let path = format!("{}/Users/{uid}", base(&org));
    let moved = scim(
        &app,
        Method::PUT,
        &path,
        &t,
        Some(json!({
            "schemas": [USER], "userName": "someone-else", "active": true,
        })),
        &[],
    )
    .await
    .expect(400);
    assert_eq!(moved["scimType"], "mutability");
    let kept = scim(
        &app,
        Method::PUT,
        &path,
        &t,
        Some(json!({
            "schemas": [USER], "userName": name, "active": true,
            "name": { "givenName": "Ada" },
        })),
        &[],
    )
    .await
    .expect(200);
    assert_eq!(kept["userName"], name);
    assert_eq!(kept["name"], json!({ "givenName": "Ada" }));
}

#[tokio::test]
async fn a_refused_group_leaves_no_role_behind() {
    let app = TestApp::spawn().await;
    let org = app.bootstrap("acme").await;
    let t = token(&app, &org, None).await;
    let u = post(
        &app,
        &org,
        &t,
        "Users",
        json!({ "schemas": [USER], "userName": "m@acme.example" }),
    )
    .await
    .expect(201);
    // A member that does not exist: 404.
    post(
        &app,
        &org,
        &t,
        "Groups",
        json!({
            "schemas": [GROUP], "displayName": "Ghosts",
            "members": [{ "value": id(&u) }, { "value": "nobody" }],
        }),
    )
    .await
    .expect(404);
    // A member the token does not outrank (the organization's administrator): 403.
    post(
        &app,
        &org,
        &t,
        "Groups",
        json!({
            "schemas": [GROUP], "displayName": "Bosses", "members": [{ "value": org.admin_id }],
        }),
    )
    .await
    .expect(403);
    for name in ["Ghosts", "Bosses"] {
        let found = list(
            &app,
            &org,
            &t,
            "Groups",
            &format!("displayName eq \"{name}\""),
        )
        .await;
        assert_eq!(found["totalResults"], 0, "{name}: {found}");
        let roles = app
            .get(&format!("/v1/{}/role/?name={name}", org.id), &org.token)
            .await
            .expect(200);
        assert_eq!(roles["roles"], json!([]), "{name}");
    }
    let still = scim(
        &app,
        Method::GET,
        &format!("{}/Users/{}", base(&org), id(&u)),
        &t,
        None,
        &[],
    )
    .await
    .expect(200);
    assert_eq!(still["groups"].as_array().expect("groups").len(), 1);
    // An external id another group has: 409, and no role either.
    post(
        &app,
        &org,
        &t,
        "Groups",
        json!({ "schemas": [GROUP], "displayName": "One", "externalId": "g-1" }),
    )
    .await
    .expect(201);
    post(
        &app,
        &org,
        &t,
        "Groups",
        json!({ "schemas": [GROUP], "displayName": "Two", "externalId": "g-1" }),
    )
    .await
    .expect(409);
    assert_eq!(
        list(&app, &org, &t, "Groups", "displayName eq \"Two\"").await["totalResults"],
        0
    );
}

#[tokio::test]
async fn a_group_keeps_its_external_id_and_is_found_by_it() {
    let app = TestApp::spawn().await;
    let org = app.bootstrap("acme").await;
    let t = token(&app, &org, None).await;
    let made = post(
        &app,
        &org,
        &t,
        "Groups",
        json!({
            "schemas": [GROUP], "displayName": "Sales", "externalId": "okta-00g1",
        }),
    )
    .await
    .expect(201);
    assert_eq!(made["externalId"], "okta-00g1");
    let path = format!("{}/Groups/{}", base(&org), id(&made));
    let got = scim(&app, Method::GET, &path, &t, None, &[])
        .await
        .expect(200);
    assert_eq!(got["externalId"], "okta-00g1");
    let found = list(&app, &org, &t, "Groups", "externalId eq \"okta-00g1\"").await;
    assert_eq!(found["totalResults"], 1);
    assert_eq!(found["Resources"][0]["id"], made["id"]);
    let patched = scim(
        &app,
        Method::PATCH,
        &path,
        &t,
        Some(json!({ "schemas": [PATCH_OP],
        "Operations": [{ "op": "replace", "path": "externalId", "value": "okta-00g2" }] })),
        &[],
    )
    .await
    .expect(200);
    assert_eq!(patched["externalId"], "okta-00g2");
    assert_ne!(patched["meta"]["version"], got["meta"]["version"]);
    assert_eq!(
        list(&app, &org, &t, "Groups", "externalId eq \"okta-00g1\"").await["totalResults"],
        0
    );
    let put = scim(
        &app,
        Method::PUT,
        &path,
        &t,
        Some(json!({
            "schemas": [GROUP], "displayName": "Sales",
        })),
        &[],
    )
    .await
    .expect(200);
    assert!(put.get("externalId").is_none(), "{put}");
    let audit = app
        .state
        .core
        .store
        .list_audit(&OrgId::from(&org.id), 100)
        .await
        .expect("audit");
    assert!(audit
        .iter()
        .any(|e| e.action == "role.modify" && e.actor.kind == "directory_token"));
}

#[tokio::test]
async fn deleting_a_group_deletes_a_custom_role_and_nothing_else() {
    let app = TestApp::spawn().await;
    let org = app.bootstrap("acme").await;
    let t = token(&app, &org, None).await;
    let u = post(
        &app,
        &org,
        &t,
        "Users",
        json!({ "schemas": [USER], "userName": "d@acme.example" }),
    )
    .await
    .expect(201);
    let g = post(
        &app,
        &org,
        &t,
        "Groups",
        json!({
            "schemas": [GROUP], "displayName": "Temporary", "members": [{ "value": id(&u) }],
        }),
    )
    .await
    .expect(201);
    let b = base(&org);
    let gpath = format!("{b}/Groups/{}", id(&g));
    // A stale version: 412, nothing deleted.
    scim(
        &app,
        Method::DELETE,
        &gpath,
        &t,
        None,
        &[("if-match", "W/\"stale\"")],
    )
    .await
    .expect(412);
    scim(&app, Method::DELETE, &gpath, &t, None, &[])
        .await
        .expect(204);
    scim(&app, Method::GET, &gpath, &t, None, &[])
        .await
        .expect(404);
    scim(&app, Method::DELETE, &gpath, &t, None, &[])
        .await
        .expect(404);
    let member = scim(
        &app,
        Method::GET,
        &format!("{b}/Users/{}", id(&u)),
        &t,
        None,
        &[],
    )
    .await
    .expect(200);
    let held: Vec<&Value> = member["groups"]
        .as_array()
        .expect("groups")
        .iter()
        .collect();
    assert!(held.iter().all(|x| x["display"] != "Temporary"), "{member}");
    assert_eq!(held.len(), 1, "the member keeps its other roles: {member}");
    let roles = app
        .get(&format!("/v1/{}/role/?name=Temporary", org.id), &org.token)
        .await
        .expect(200);
    assert_eq!(roles["roles"], json!([]));
    let audit = app
        .state
        .core
        .store
        .list_audit(&OrgId::from(&org.id), 100)
        .await
        .expect("audit");
    assert!(audit
        .iter()
        .any(|e| e.action == "role.delete" && e.actor.kind == "directory_token"));
    // A built-in role: 400 mutability.
    let all = scim(&app, Method::GET, &format!("{b}/Groups"), &t, None, &[])
        .await
        .expect(200);
    let builtin = all["Resources"]
        .as_array()
        .expect("groups")
        .iter()
        .find(|g| g["displayName"] == "DefaultUserRole")
        .expect("user role")
        .clone();
    let r = scim(
        &app,
        Method::DELETE,
        &format!("{b}/Groups/{}", id(&builtin)),
        &t,
        None,
        &[],
    )
    .await
    .expect(400);
    assert_eq!(r["scimType"], "mutability");
    // A role a directory token acts with: 409, and it stays.
    let used = post(
        &app,
        &org,
        &t,
        "Groups",
        json!({ "schemas": [GROUP], "displayName": "Directory" }),
    )
    .await
    .expect(201);
    token(&app, &org, Some("Directory")).await;
    let upath = format!("{b}/Groups/{}", id(&used));
    scim(&app, Method::DELETE, &upath, &t, None, &[])
        .await
        .expect(409);
    scim(&app, Method::GET, &upath, &t, None, &[])
        .await
        .expect(200);
    // A token that may not modify roles deletes nothing.
    let weak = token(&app, &org, Some("DefaultUserRole")).await;
    let other = post(
        &app,
        &org,
        &t,
        "Groups",
        json!({ "schemas": [GROUP], "displayName": "Kept" }),
    )
    .await
    .expect(201);
    let opath = format!("{b}/Groups/{}", id(&other));
    scim(&app, Method::DELETE, &opath, &weak, None, &[])
        .await
        .expect(403);
    scim(&app, Method::GET, &opath, &t, None, &[])
        .await
        .expect(200);
}
