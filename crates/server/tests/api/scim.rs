//! SCIM 2.0 per organization (docs/scim.md): tokens, discovery, users, groups, filters,
//! paging, projections, versions, errors, and tenant isolation on every SCIM route.

use reqwest::Method;
use roster_domain::types::OrgId;
use serde_json::{json, Value};

use crate::helpers::{Org, Resp, TestApp};

pub const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
pub const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const ERROR: &str = "urn:ietf:params:scim:api:messages:2.0:Error";
pub const SEARCH: &str = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";

/// A SCIM token of the organization, made through the admin API (as `role` when given).
pub async fn token(app: &TestApp, org: &Org, role: Option<&str>) -> String {
    let mut body = json!({ "name": "Directory" });
    if let Some(r) = role {
        body["role"] = json!(r);
    }
    let made = app
        .post(
            &format!("/admin/v1/orgs/{}/scim-tokens", org.id),
            &org.token,
            body,
        )
        .await
        .expect(201);
    made["token"].as_str().expect("token").to_owned()
}

/// A SCIM request as a directory sends it (`application/scim+json`).
pub async fn scim(
    app: &TestApp,
    method: Method,
    path: &str,
    token: &str,
    body: Option<Value>,
    headers: &[(&str, &str)],
) -> Resp {
    let mut req = app
        .client
        .request(method, format!("{}{path}", app.base))
        .bearer_auth(token)
        .header("accept", "application/scim+json");
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    if let Some(b) = body {
        req = req
            .header("content-type", "application/scim+json")
            .body(b.to_string());
    }
    raw(req).await
}

pub async fn raw(req: reqwest::RequestBuilder) -> Resp {
    let resp = req.send().await.expect("sent");
    let status = resp.status();
    let headers = resp.headers().clone();
    let text = resp.text().await.expect("body");
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    };
    if status.as_u16() >= 400 {
        // Every refusal is SCIM's error, as SCIM's media type.
        assert_eq!(body["schemas"], json!([ERROR]), "{status}: {body}");
        assert_eq!(body["status"], json!(status.as_u16().to_string()), "{body}");
        let ct = headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        assert!(ct.starts_with("application/scim+json"), "{ct}");
    }
    assert_ne!(status.as_u16(), 500, "never a 500: {body}");
    Resp {
        status,
        body,
        headers,
    }
}

pub fn base(org: &Org) -> String {
    format!("/scim/v2/{}", org.id)
}

async fn make_user(app: &TestApp, org: &Org, t: &str, email: &str, ext: &str) -> Value {
    let body = json!({
        "schemas": [USER], "userName": email, "externalId": ext,
        "name": { "givenName": "Grace", "familyName": "Hopper" }, "active": true,
    });
    scim(
        app,
        Method::POST,
        &format!("{}/Users", base(org)),
        t,
        Some(body),
        &[],
    )
    .await
    .expect(201)
}

#[tokio::test]
async fn tokens_are_created_once_listed_without_secrets_and_revoked() {
    let app = TestApp::spawn().await;
    let org = app.bootstrap("acme").await;
    let path = format!("/admin/v1/orgs/{}/scim-tokens", org.id);
    let made = app
        .post(&path, &org.token, json!({ "name": "Okta" }))
        .await
        .expect(201);
    let secret = made["token"].as_str().expect("token").to_owned();
    assert!(secret.starts_with("rdt_"));
    assert_eq!(made["role"], "DefaultAdministratorRole");
    let listed = app.get(&path, &org.token).await.expect(200);
    assert_eq!(listed["tokens"].as_array().expect("tokens").len(), 1);
    assert!(
        !listed.to_string().contains(&secret),
        "listed without the secret"
    );
    scim(
        &app,
        Method::GET,
        &format!("{}/Users", base(&org)),
        &secret,
        None,
        &[],
    )
    .await
    .expect(200);
    // Only the secret's hash is stored.
    let stored = app
        .state
        .core
        .store
        .list_directory_tokens(&OrgId::from(&org.id))
        .await
        .expect("tokens");
    assert_ne!(stored[0].secret_hash, secret);
    assert!(!stored[0].secret_hash.contains(&secret[4..]));
    let id = made["id"].as_str().expect("id");
    app.delete(&format!("{path}/{id}"), &org.token)
        .await
        .expect(204);
    scim(
        &app,
        Method::GET,
        &format!("{}/Users", base(&org)),
        &secret,
        None,
        &[],
    )
    .await
    .expect(401);
    // A role the creator does not cover is refused; an unknown role is a 404; a bad name a 422.
    app.post(
        &path,
        &org.token,
        json!({ "name": "x", "role": "NoSuchRole" }),
    )
    .await
    .expect(404);
    app.post(&path, &org.token, json!({ "name": " " }))
        .await
        .expect(422);
    app.post(&path, &org.token, json!({ "name": "x", "extra": 1 }))
        .await
        .expect(422);
    let (_, plain) = app
        .user(&org, "plain@acme.example", "DefaultUserRole")
        .await;
    app.post(&path, &plain, json!({ "name": "x" }))
        .await
        .expect(403);
    let audit = app
        .state
        .core
        .store
        .list_audit(&OrgId::from(&org.id), 100)
        .await
        .expect("audit");
    assert!(audit.iter().any(|e| e.action == "directory_token.create"));
    assert!(audit.iter().any(|e| e.action == "directory_token.revoke"));
}

#[tokio::test]
async fn discovery_documents_say_what_is_supported() {
    let app = TestApp::spawn().await;
    let org = app.bootstrap("acme").await;
    let t = token(&app, &org, None).await;
    let b = base(&org);
    let r = scim(
        &app,
        Method::GET,
        &format!("{b}/ServiceProviderConfig"),
        &t,
        None,
        &[],
    )
    .await;
    assert!(r.headers["content-type"]
        .to_str()
        .expect("ct")
        .starts_with("application/scim+json"));
    let c = r.expect(200);
    assert_eq!(c["patch"]["supported"], true);
    assert_eq!(c["bulk"]["supported"], false);
    assert_eq!(c["filter"]["supported"], true);
    assert_eq!(c["filter"]["maxResults"], 200);
    assert_eq!(c["changePassword"]["supported"], false);
    assert_eq!(c["sort"]["supported"], true);
    assert_eq!(c["etag"]["supported"], true);
    let types = scim(
        &app,
        Method::GET,
        &format!("{b}/ResourceTypes"),
        &t,
        None,
        &[],
    )
    .await
    .expect(200);
    assert_eq!(types["totalResults"], 2);
    scim(
        &app,
        Method::GET,
        &format!("{b}/ResourceTypes/User"),
        &t,
        None,
        &[],
    )
    .await
    .expect(200);
    let schemas = scim(&app, Method::GET, &format!("{b}/Schemas"), &t, None, &[])
        .await
        .expect(200);
    let ids: Vec<&str> = schemas["Resources"]
        .as_array()
        .expect("list")
        .iter()
        .map(|s| s["id"].as_str().expect("id"))
        .collect();
    assert!(ids.contains(&USER));
    assert!(ids.contains(&"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"));
    assert!(ids.contains(&"urn:ietf:params:scim:schemas:core:2.0:Group"));
    scim(
        &app,
        Method::GET,
        &format!("{b}/Schemas/{USER}"),
        &t,
        None,
        &[],
    )
    .await
    .expect(200);
    scim(
        &app,
        Method::GET,
        &format!("{b}/Schemas/urn:nope"),
        &t,
        None,
        &[],
    )
    .await
    .expect(404);
    scim(
        &app,
        Method::GET,
        &format!("{b}/NoSuchEndpoint"),
        &t,
        None,
        &[],
    )
    .await
    .expect(404);
}

#[tokio::test]
async fn users_are_created_read_replaced_patched_and_deleted_as_ordinary_users() {
    let app = TestApp::spawn().await;
    let org = app.bootstrap("acme").await;
    let t = token(&app, &org, None).await;
    let b = base(&org);
    let r = scim(&app, Method::POST, &format!("{b}/Users"), &t, Some(json!({
        "schemas": [USER], "userName": "grace@acme.example", "externalId": "ext-1",
        "name": { "givenName": "Grace", "familyName": "Hopper" }, "active": true,
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": { "organization": "Navy" },
    })), &[]).await;
    let etag = r.headers["etag"].to_str().expect("etag").to_owned();
    let location = r.headers["location"].to_str().expect("location").to_owned();
    let made = r.expect(201);
    let id = made["id"].as_str().expect("id").to_owned();
    assert!(location.ends_with(&format!("{b}/Users/{id}")), "{location}");
    assert_eq!(made["userName"], "grace@acme.example");
    assert_eq!(made["externalId"], "ext-1");
    assert_eq!(made["active"], true);
    assert_eq!(made["meta"]["version"], json!(etag));
    assert_eq!(made["groups"][0]["display"], "DefaultUserRole");
    assert_eq!(
        made["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]["organization"],
        "Navy"
    );
    // An ordinary Roster user, on the other surfaces too.
    let amigo = app
        .list_users(&org, &org.token, &format!("user_id={id}"))
        .await;
    assert_eq!(amigo["users"][0]["email"], "grace@acme.example");
    // The same email again: 409 uniqueness.
    let dup = scim(
        &app,
        Method::POST,
        &format!("{b}/Users"),
        &t,
        Some(json!({
        "schemas": [USER], "userName": "GRACE@acme.example" })),
        &[],
    )
    .await
    .expect(409);
    assert_eq!(dup["scimType"], "uniqueness");
    let got = scim(&app, Method::GET, &format!("{b}/Users/{id}"), &t, None, &[])
        .await
        .expect(200);
    assert_eq!(got["name"]["familyName"], "Hopper");
    // Replace: names and external id change; the login email does not.
    let put = scim(
        &app,
        Method::PUT,
        &format!("{b}/Users/{id}"),
        &t,
        Some(json!({
            "schemas": [USER], "userName": "grace@acme.example", "externalId": "ext-2",
            "name": { "givenName": "Amazing", "familyName": "Grace" }, "active": true,
        })),
        &[],
    )
    .await
    .expect(200);
    assert_eq!(put["externalId"], "ext-2");
    assert_eq!(put["name"]["givenName"], "Amazing");
    let moved = scim(
        &app,
        Method::PUT,
        &format!("{b}/Users/{id}"),
        &t,
        Some(json!({
        "schemas": [USER], "userName": "other@acme.example" })),
        &[],
    )
    .await
    .expect(400);
    assert_eq!(moved["scimType"], "mutability");
    // PATCH deactivates: the user's sessions end; PATCH reactivates.
    let (_, session) = (id.clone(), app.sign_in(&org, &id).await);
    let mine = format!("/v1/{}/user/?user_id={id}", org.id);
    app.get(&mine, &session).await.expect(200);
    let off = scim(&app, Method::PATCH, &format!("{b}/Users/{id}"), &t, Some(json!({
        "schemas": [PATCH_OP], "Operations": [{ "op": "replace", "path": "active", "value": false }],
    })), &[]).await.expect(200);
    assert_eq!(off["active"], false);
    let r = app.get(&mine, &session).await;
    assert_eq!(
        r.status, 401,
        "a deactivated user's session ends: {}",
        r.body
    );
    let on = scim(
        &app,
        Method::PATCH,
        &format!("{b}/Users/{id}"),
        &t,
        Some(json!({
            "schemas": [PATCH_OP], "Operations": [{ "op": "replace", "value": { "active": true } }],
        })),
        &[],
    )
    .await
    .expect(200);
    assert_eq!(on["active"], true);
    // Every change is audited as the token's, and told as an event.
    let audit = app
        .state
        .core
        .store
        .list_audit(&OrgId::from(&org.id), 100)
        .await
        .expect("audit");
    for action in [
        "user.create",
        "user.update",
        "user.deactivate",
        "user.activate",
    ] {
        let e = audit
            .iter()
            .find(|e| e.action == action)
            .unwrap_or_else(|| panic!("{action}"));
        assert_eq!(e.actor.kind, "directory_token", "{action}");
    }
    let events = app
        .get(&format!("/admin/v1/orgs/{}/events", org.id), &org.token)
        .await
        .expect(200);
    let text = events.to_string();
    for ty in ["user.created", "user.deactivated", "user.activated"] {
        assert!(text.contains(ty), "{ty}: {text}");
    }
    // DELETE removes the membership.
    scim(
        &app,
        Method::DELETE,
        &format!("{b}/Users/{id}"),
        &t,
        None,
        &[],
    )
    .await
    .expect(204);
    scim(&app, Method::GET, &format!("{b}/Users/{id}"), &t, None, &[])
        .await
        .expect(404);
    let gone = app
        .list_users(&org, &org.token, &format!("user_id={id}"))
        .await;
    assert_eq!(gone["users"], json!([]));
}

#[tokio::test]
async fn filters_paging_sorting_and_projections() {
    let app = TestApp::spawn().await;
    let org = app.bootstrap("acme").await;
    let t = token(&app, &org, None).await;
    let b = base(&org);
    for (i, n) in ["ann", "bob", "cid", "dee", "eve"].iter().enumerate() {
        make_user(
            &app,
            &org,
            &t,
            &format!("{n}@corp.example"),
            &format!("E{i}"),
        )
        .await;
    }
    let list = |q: &str| {
        let (app, t, b) = (&app, &t, &b);
        let q = q.to_owned();
        async move {
            let url = reqwest::Url::parse_with_params(
                &format!("{}{b}/Users", app.base),
                [("filter", q.as_str())],
            )
            .expect("url");
            let path = format!("{}?{}", url.path(), url.query().unwrap_or(""));
            scim(app, Method::GET, &path, t, None, &[]).await
        }
    };
    let names = |v: &Value| -> Vec<String> {
        let mut n: Vec<String> = v["Resources"]
            .as_array()
            .expect("list")
            .iter()
            .map(|r| r["userName"].as_str().expect("userName").to_owned())
            .collect();
        n.sort();
        n
    };
    assert_eq!(
        names(&list(r#"userName eq "BOB@corp.example""#).await.expect(200)),
        ["bob@corp.example"]
    );
    assert_eq!(
        names(&list(r#"externalId eq "E2""#).await.expect(200)),
        ["cid@corp.example"]
    );
    assert!(
        names(&list(r#"externalId eq "e2""#).await.expect(200)).is_empty(),
        "externalId is case-exact"
    );
    assert_eq!(
        names(&list(r#"userName co "ve@""#).await.expect(200)),
        ["eve@corp.example"]
    );
    assert_eq!(
        names(&list(r#"userName sw "a""#).await.expect(200)),
        ["admin@acme.example", "ann@corp.example"]
    );
    assert_eq!(
        names(
            &list(r#"userName ew "corp.example" and not (userName sw "a" or userName sw "b")"#)
                .await
                .expect(200)
        ),
        ["cid@corp.example", "dee@corp.example", "eve@corp.example"]
    );
    assert_eq!(list("externalId pr").await.expect(200)["totalResults"], 5);
    assert_eq!(
        list(r#"userName ne "ann@corp.example" and externalId pr"#)
            .await
            .expect(200)["totalResults"],
        4
    );
    assert_eq!(
        list(r#"emails[type eq "work" and value eq "dee@corp.example"]"#)
            .await
            .expect(200)["totalResults"],
        1
    );
    assert_eq!(
        list(r#"meta.created gt "2000-01-01T00:00:00Z""#)
            .await
            .expect(200)["totalResults"],
        6
    );
    assert_eq!(
        list(r#"meta.lastModified lt "2000-01-01T00:00:00Z""#)
            .await
            .expect(200)["totalResults"],
        0
    );
    assert_eq!(list("active eq true").await.expect(200)["totalResults"], 6);
    // Paging: startIndex from 1, count, totalResults over all.
    let page = scim(
        &app,
        Method::GET,
        &format!("{b}/Users?sortBy=userName&startIndex=2&count=2"),
        &t,
        None,
        &[],
    )
    .await
    .expect(200);
    assert_eq!(page["totalResults"], 6);
    assert_eq!(page["startIndex"], 2);
    assert_eq!(page["itemsPerPage"], 2);
    assert_eq!(page["Resources"][0]["userName"], "ann@corp.example");
    // Every window of every order is the matching slice of the whole list: pages past the
    // middle are read from the other end (and at an offset by id first), which must not show.
    for order in [
        "",
        "&sortBy=userName",
        "&sortBy=userName&sortOrder=descending",
    ] {
        let names = |v: &serde_json::Value| -> Vec<String> {
            v["Resources"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["userName"].as_str().unwrap().to_owned())
                .collect()
        };
        let get = |start: usize, count: usize| {
            let url = format!("{b}/Users?startIndex={start}&count={count}{order}");
            let (app, t) = (&app, &t);
            async move { scim(app, Method::GET, &url, t, None, &[]).await.expect(200) }
        };
        let all = names(&get(1, 100).await);
        assert_eq!(all.len(), 6, "{order}");
        for start in 1..=7 {
            for count in 1..=3 {
                let window = names(&get(start, count).await);
                let want: Vec<String> = all.iter().skip(start - 1).take(count).cloned().collect();
                assert_eq!(window, want, "startIndex={start}&count={count}{order}");
            }
        }
    }
    let desc = scim(
        &app,
        Method::GET,
        &format!("{b}/Users?sortBy=userName&sortOrder=descending&count=1"),
        &t,
        None,
        &[],
    )
    .await
    .expect(200);
    assert_eq!(desc["Resources"][0]["userName"], "eve@corp.example");
    let none = scim(
        &app,
        Method::GET,
        &format!("{b}/Users?count=0"),
        &t,
        None,
        &[],
    )
    .await
    .expect(200);
    assert_eq!(none["totalResults"], 6);
    assert_eq!(none["Resources"], json!([]));
    // Projections.
    let only = scim(
        &app,
        Method::GET,
        &format!("{b}/Users?attributes=userName,name.givenName&count=1"),
        &t,
        None,
        &[],
    )
    .await
    .expect(200);
    let r = &only["Resources"][0];
    assert!(r.get("id").is_some() && r.get("userName").is_some());
    assert!(r["name"].get("givenName").is_some() && r["name"].get("familyName").is_none());
    assert!(r.get("emails").is_none() && r.get("meta").is_none());
    let without = scim(
        &app,
        Method::GET,
        &format!("{b}/Users?excludedAttributes=emails,meta&count=1"),
        &t,
        None,
        &[],
    )
    .await
    .expect(200);
    assert!(without["Resources"][0].get("emails").is_none());
    assert!(without["Resources"][0].get("userName").is_some());
}

#[tokio::test]
async fn versions_are_checked_with_if_match() {
    let app = TestApp::spawn().await;
    let org = app.bootstrap("acme").await;
    let t = token(&app, &org, None).await;
    let b = base(&org);
    let made = make_user(&app, &org, &t, "v@acme.example", "V").await;
    let id = made["id"].as_str().expect("id");
    let v1 = made["meta"]["version"]
        .as_str()
        .expect("version")
        .to_owned();
    let path = format!("{b}/Users/{id}");
    let r = scim(
        &app,
        Method::GET,
        &path,
        &t,
        None,
        &[("if-none-match", &v1)],
    )
    .await;
    assert_eq!(r.status, 304);
    let body = json!({ "schemas": [PATCH_OP], "Operations": [{ "op": "replace", "path": "name.givenName", "value": "Vera" }] });
    let changed = scim(
        &app,
        Method::PATCH,
        &path,
        &t,
        Some(body.clone()),
        &[("if-match", &v1)],
    )
    .await
    .expect(200);
    assert_ne!(changed["meta"]["version"], json!(v1));
    // The same version again is stale now: 412, nothing written.
    let body2 = json!({ "schemas": [PATCH_OP], "Operations": [{ "op": "replace", "path": "name.givenName", "value": "Nope" }] });
    scim(
        &app,
        Method::PATCH,
        &path,
        &t,
        Some(body2),
        &[("if-match", &v1)],
    )
    .await
    .expect(412);
    scim(
        &app,
        Method::PUT,
        &path,
        &t,
        Some(json!({ "schemas": [USER], "userName": "v@acme.example" })),
        &[("if-match", &v1)],
    )
    .await
    .expect(412);
    scim(&app, Method::DELETE, &path, &t, None, &[("if-match", &v1)])
        .await
        .expect(412);
    let now = scim(&app, Method::GET, &path, &t, None, &[])
        .await
        .expect(200);
    assert_eq!(now["name"]["givenName"], "Vera");
}

#[tokio::test]
async fn bad_and_hostile_input_is_a_scim_400_never_a_500() {
    let app = TestApp::spawn().await;
    let org = app.bootstrap("acme").await;
    let t = token(&app, &org, None).await;
    let b = base(&org);
    let made = make_user(&app, &org, &t, "h@acme.example", "H").await;
    let id = made["id"].as_str().expect("id").to_owned();
    for (filter, kind) in [
        ("userName eq", "invalidFilter"),
        ("userName xx \"a\"", "invalidFilter"),
        ("(userName eq \"a\"", "invalidFilter"),
        ("nickName eq \"a\"", "invalidFilter"),
        ("meta.created gt \"yesterday\"", "invalidFilter"),
        ("active eq \"maybe\"", "invalidFilter"),
        ("userName eq \"\\u12\"", "invalidFilter"),
        ("'; DROP TABLE users; --", "invalidFilter"),
    ] {
        let url = reqwest::Url::parse_with_params(
            &format!("{}{b}/Users", app.base),
            [("filter", filter)],
        )
        .expect("url");
        let r = raw(app.client.get(url).bearer_auth(&t)).await.expect(400);
        assert_eq!(r["scimType"], kind, "{filter}: {r}");
    }
    let deep = format!("{}userName eq \"a\"{}", "(".repeat(500), ")".repeat(500));
    let url = reqwest::Url::parse_with_params(
        &format!("{}{b}/Users", app.base),
        [("filter", deep.as_str())],
    )
    .expect("url");
    raw(app.client.get(url).bearer_auth(&t)).await.expect(400);
    for q in [
        "startIndex=x",
        "count=1e9",
        "sortBy=password",
        "sortOrder=sideways",
        "attributes=nope",
        "excludedAttributes=a.b.c",
    ] {
        scim(&app, Method::GET, &format!("{b}/Users?{q}"), &t, None, &[])
            .await
            .expect(400);
    }
    // Bodies: not JSON, not an object, unknown attributes, wrong types, control characters.
    let users = format!("{b}/Users");
    for body in [
        json!("a string"),
        json!({ "schemas": [USER] }),
        json!({ "schemas": [USER], "userName": "x@acme.example", "favouriteColour": "blue" }),
        json!({ "schemas": [USER], "userName": "x@acme.example", "active": "perhaps" }),
        json!({ "schemas": [USER], "userName": 7 }),
        json!({ "schemas": [USER], "userName": "not an email" }),
        json!({ "schemas": [USER], "userName": "x@acme.example", "externalId": "a\u{0}b" }),
        json!({ "schemas": [USER], "userName": "x@acme.example", "name": "flat" }),
        json!({ "schemas": ["urn:other"], "userName": "x@acme.example" }),
    ] {
        scim(&app, Method::POST, &users, &t, Some(body), &[])
            .await
            .expect(400);
    }
    let r = raw(app
        .client
        .post(format!("{}{users}", app.base))
        .bearer_auth(&t)
        .header("content-type", "application/scim+json")
        .body("{\"userName\": "))
    .await
    .expect(400);
    assert_eq!(r["scimType"], "invalidSyntax");
    let nested = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    raw(app
        .client
        .post(format!("{}{users}", app.base))
        .bearer_auth(&t)
        .body(nested))
    .await
    .expect(400);
    // PATCH: bad ops, paths and values.
    let path = format!("{b}/Users/{id}");
    for ops in [
        json!({ "Operations": [{ "op": "replace", "path": "active", "value": false }] }),
        json!({ "schemas": [PATCH_OP], "Operations": [] }),
        json!({ "schemas": [PATCH_OP], "Operations": [{ "op": "move", "path": "active", "value": false }] }),
        json!({ "schemas": [PATCH_OP], "Operations": [{ "op": "remove" }] }),
        json!({ "schemas": [PATCH_OP], "Operations": [{ "op": "replace", "path": "nope", "value": 1 }] }),
        json!({ "schemas": [PATCH_OP], "Operations": [{ "op": "replace", "path": "emails[type eq", "value": 1 }] }),
        json!({ "schemas": [PATCH_OP], "Operations": [{ "op": "replace", "path": "active", "value": "sometimes" }] }),
        json!({ "schemas": [PATCH_OP], "Operations": [{ "op": "replace", "value": [1, 2] }] }),
        json!({ "schemas": [PATCH_OP], "Operations": [{ "op": "replace", "path": "emails[type gt \"x\"].value", "value": "a@b.c" }] }),
    ] {
        scim(&app, Method::PATCH, &path, &t, Some(ops), &[])
            .await
            .expect(400);
    }
    // Oversized: 413 in SCIM's shape.
    let huge = json!({ "schemas": [USER], "userName": "big@acme.example", "displayName": "x".repeat(3 << 20) });
    scim(&app, Method::POST, &users, &t, Some(huge), &[])
        .await
        .expect(413);
    // Nothing was written by any of it.
    let all = scim(&app, Method::GET, &format!("{b}/Users"), &t, None, &[])
        .await
        .expect(200);
    assert_eq!(all["totalResults"], 2);
    let still = scim(&app, Method::GET, &path, &t, None, &[])
        .await
        .expect(200);
    assert_eq!(still["active"], true);
}

#[tokio::test]
async fn groups_are_roles_whose_members_follow_the_rank_rules_of_the_token() {
    let app = TestApp::spawn().await;
    let org = app.bootstrap("acme").await;
    let t = token(&app, &org, None).await;
    let b = base(&org);
    let u1 = make_user(&app, &org, &t, "g1@acme.example", "G1").await["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let u2 = make_user(&app, &org, &t, "g2@acme.example", "G2").await["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let made = scim(&app, Method::POST, &format!("{b}/Groups"), &t, Some(json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Engineering",
        "members": [{ "value": u1 }],
    })), &[]).await.expect(201);
    let gid = made["id"].as_str().expect("id").to_owned();
    assert_eq!(made["members"][0]["value"], json!(u1));
    // The role exists, with no grants, on the other surfaces.
    let roles = app
        .get(
            &format!(
                "/v1/{}/role/?return_permission_grants=true&name=Engineering",
                org.id
            ),
            &org.token,
        )
        .await
        .expect(200);
    assert_eq!(roles["roles"][0]["id"], json!(gid));
    assert_eq!(roles["roles"][0]["permission_grants"], json!([]));
    let gpath = format!("{b}/Groups/{gid}");
    scim(
        &app,
        Method::PATCH,
        &gpath,
        &t,
        Some(json!({ "schemas": [PATCH_OP], "Operations": [
            { "op": "add", "path": "members", "value": [{ "value": u2 }] },
            { "op": "remove", "path": format!("members[value eq \"{u1}\"]") },
        ]})),
        &[],
    )
    .await
    .expect(200);
    let g = scim(&app, Method::GET, &gpath, &t, None, &[])
        .await
        .expect(200);
    assert_eq!(g["members"].as_array().expect("members").len(), 1);
    assert_eq!(g["members"][0]["value"], json!(u2));
    let user2 = scim(&app, Method::GET, &format!("{b}/Users/{u2}"), &t, None, &[])
        .await
        .expect(200);
    assert!(user2["groups"]
        .as_array()
        .expect("groups")
        .iter()
        .any(|x| x["display"] == "Engineering"));
    // Listing: by displayName, without members.
    let url = reqwest::Url::parse_with_params(
        &format!("{}{b}/Groups", app.base),
        [
            ("filter", "displayName eq \"engineering\""),
            ("excludedAttributes", "members"),
        ],
    )
    .expect("url");
    let l = raw(app.client.get(url).bearer_auth(&t)).await.expect(200);
    assert_eq!(l["totalResults"], 1);
    assert!(l["Resources"][0].get("members").is_none());
    // Unknown members: 404 and nothing written. A rename is refused.
    scim(
        &app,
        Method::PATCH,
        &gpath,
        &t,
        Some(json!({ "schemas": [PATCH_OP], "Operations": [
        { "op": "add", "path": "members", "value": [{ "value": u1 }, { "value": "nobody" }] }]})),
        &[],
    )
    .await
    .expect(404);
    let g = scim(&app, Method::GET, &gpath, &t, None, &[])
        .await
        .expect(200);
    assert_eq!(g["members"].as_array().expect("members").len(), 1);
    let r = scim(
        &app,
        Method::PATCH,
        &gpath,
        &t,
        Some(json!({ "schemas": [PATCH_OP], "Operations": [
        { "op": "replace", "value": { "displayName": "Renamed" } }]})),
        &[],
    )
    .await
    .expect(400);
    assert_eq!(r["scimType"], "mutability");
    // A token acting as a plain user's role reads nothing and assigns nothing.
    let weak = token(&app, &org, Some("DefaultUserRole")).await;
    scim(
        &app,
        Method::PATCH,
        &gpath,
        &weak,
        Some(json!({ "schemas": [PATCH_OP], "Operations": [
        { "op": "add", "path": "members", "value": [{ "value": u1 }] }]})),
        &[],
    )
    .await
    .expect(403);
    scim(
        &app,
        Method::POST,
        &format!("{b}/Users"),
        &weak,
        Some(json!({ "schemas": [USER], "userName": "w@acme.example" })),
        &[],
    )
    .await
    .expect(403);
    // The administrator token does not outrank the administrator role: it cannot grant it,
    // nor change the organization's administrator.
    let admins = scim(&app, Method::GET, &format!("{b}/Groups"), &t, None, &[])
        .await
        .expect(200);
    let admin_group = admins["Resources"]
        .as_array()
        .expect("groups")
        .iter()
        .find(|g| g["displayName"] == "DefaultAdministratorRole")
        .expect("admin group")["id"]
        .as_str()
        .expect("id")
        .to_owned();
    scim(
        &app,
        Method::PATCH,
        &format!("{b}/Groups/{admin_group}"),
        &t,
        Some(json!({ "schemas": [PATCH_OP], "Operations": [
        { "op": "add", "path": "members", "value": [{ "value": u1 }] }]})),
        &[],
    )
    .await
    .expect(403);
    scim(
        &app,
        Method::PATCH,
        &format!("{b}/Users/{}", org.admin_id),
        &t,
        Some(json!({ "schemas": [PATCH_OP], "Operations": [
        { "op": "replace", "path": "active", "value": false }]})),
        &[],
    )
    .await
    .expect(403);
    let audit = app
        .state
        .core
        .store
        .list_audit(&OrgId::from(&org.id), 100)
        .await
        .expect("audit");
    assert!(audit
        .iter()
        .any(|e| e.action == "role.create" && e.actor.kind == "directory_token"));
    assert!(audit.iter().any(|e| e.action == "user.role_revoke"));
}

/// Every SCIM route, as (method, path under the base, body).
fn routes(user: &str, group: &str) -> Vec<(Method, String, Option<Value>)> {
    let patch = json!({ "schemas": [PATCH_OP], "Operations": [{ "op": "replace", "path": "active", "value": false }] });
    let gpatch = json!({ "schemas": [PATCH_OP], "Operations": [{ "op": "add", "path": "members", "value": [] }] });
    vec![
        (Method::GET, "/ServiceProviderConfig".into(), None),
        (Method::GET, "/ResourceTypes".into(), None),
        (Method::GET, "/ResourceTypes/User".into(), None),
        (Method::GET, "/Schemas".into(), None),
        (Method::GET, format!("/Schemas/{USER}"), None),
        (Method::GET, "/Users".into(), None),
        (
            Method::POST,
            "/Users".into(),
            Some(json!({ "schemas": [USER], "userName": "intruder@x.example" })),
        ),
        (Method::GET, format!("/Users/{user}"), None),
        (
            Method::PUT,
            format!("/Users/{user}"),
            Some(json!({ "schemas": [USER], "userName": "intruder@x.example" })),
        ),
        (Method::PATCH, format!("/Users/{user}"), Some(patch)),
        (Method::DELETE, format!("/Users/{user}"), None),
        (Method::GET, "/Groups".into(), None),
        (
            Method::POST,
            "/Groups".into(),
            Some(json!({ "displayName": "Intruders" })),
        ),
        (Method::GET, format!("/Groups/{group}"), None),
        (
            Method::PUT,
            format!("/Groups/{group}"),
            Some(json!({ "displayName": "Intruders" })),
        ),
        (Method::PATCH, format!("/Groups/{group}"), Some(gpatch)),
        (Method::DELETE, format!("/Groups/{group}"), None),
        (
            Method::POST,
            "/.search".into(),
            Some(search(&format!("id eq \"{user}\""))),
        ),
        (
            Method::POST,
            "/Users/.search".into(),
            Some(search(&format!("id eq \"{user}\""))),
        ),
        (
            Method::POST,
            "/Groups/.search".into(),
            Some(search(&format!("id eq \"{group}\""))),
        ),
    ]
}

/// A `SearchRequest` body with `filter`.
pub fn search(filter: &str) -> Value {
    json!({ "schemas": [SEARCH], "filter": filter })
}

#[tokio::test]
async fn a_token_of_one_organization_reaches_nothing_of_another_and_no_other_credential_opens_scim()
{
    let app = TestApp::spawn().await;
    let acme = app.bootstrap("acme").await;
    let beta = app.bootstrap("beta").await;
    let ta = token(&app, &acme, None).await;
    let tb = token(&app, &beta, None).await;
    let victim = make_user(&app, &beta, &tb, "victim@beta.example", "V").await;
    let victim_id = victim["id"].as_str().expect("id").to_owned();
    let groups = scim(
        &app,
        Method::GET,
        &format!("{}/Groups", base(&beta)),
        &tb,
        None,
        &[],
    )
    .await
    .expect(200);
    let group = groups["Resources"][0]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let (_, beta_user_session) = app
        .user(&beta, "member@beta.example", "DefaultUserRole")
        .await;
    let before = scim(
        &app,
        Method::GET,
        &format!("{}/Users", base(&beta)),
        &tb,
        None,
        &[],
    )
    .await
    .expect(200);
    let roles_before = scim(
        &app,
        Method::GET,
        &format!("{}/Groups", base(&beta)),
        &tb,
        None,
        &[],
    )
    .await
    .expect(200);
    for (method, path, body) in routes(&victim_id, &group) {
        // By short id and by uuid, with acme's token, beta's administrator's session, beta's
        // API key, and nothing.
        for org_ref in [&beta.id, &beta.uuid] {
            let url = format!("/scim/v2/{org_ref}{path}");
            for credential in [
                ta.as_str(),
                beta.token.as_str(),
                beta.key.as_str(),
                beta_user_session.as_str(),
                "rdt_forged",
            ] {
                let r = scim(&app, method.clone(), &url, credential, body.clone(), &[]).await;
                assert_eq!(r.status, 401, "{method} {url}: {}", r.body);
                assert!(!r.body.to_string().contains("victim"), "{}", r.body);
            }
            let r = raw(app
                .client
                .request(method.clone(), format!("{}{url}", app.base)))
            .await;
            assert_eq!(r.status, 401, "{method} {url} anonymous");
        }
        // Acme's own token searching acme's base for beta's objects finds nothing.
        if path.ends_with(".search") {
            let r = scim(
                &app,
                method.clone(),
                &format!("{}{path}", base(&acme)),
                &ta,
                body.clone(),
                &[],
            )
            .await
            .expect(200);
            assert_eq!(r["totalResults"], 0, "{path}: {r}");
            assert!(!r.to_string().contains(&victim_id), "{r}");
            continue;
        }
        // Acme's own token on acme's base names beta's objects: not found.
        if path.contains(&victim_id) || path.contains(&group) {
            let r = scim(
                &app,
                method.clone(),
                &format!("{}{path}", base(&acme)),
                &ta,
                body.clone(),
                &[],
            )
            .await;
            assert!(
                matches!(r.status.as_u16(), 404),
                "{method} {path}: {} {}",
                r.status,
                r.body
            );
        }
    }
    // An unknown organization says no more than a wrong token does.
    scim(&app, Method::GET, "/scim/v2/nope/Users", &ta, None, &[])
        .await
        .expect(401);
    // A SCIM token opens nothing else.
    for path in [
        format!("/v1/{}/user/", acme.id),
        format!("/admin/v1/orgs/{}/audit-events", acme.id),
    ] {
        let r = app.get(&path, &ta).await;
        assert_eq!(r.status, 401, "{path}: {}", r.body);
    }
    let after = scim(
        &app,
        Method::GET,
        &format!("{}/Users", base(&beta)),
        &tb,
        None,
        &[],
    )
    .await
    .expect(200);
    assert_eq!(before, after, "beta's users unchanged");
    let roles_after = scim(
        &app,
        Method::GET,
        &format!("{}/Groups", base(&beta)),
        &tb,
        None,
        &[],
    )
    .await
    .expect(200);
    assert_eq!(roles_before["totalResults"], roles_after["totalResults"]);
}

#[tokio::test]
async fn users_lookups_by_user_name_and_external_id_use_their_indexes() {
    if crate::helpers::is_postgres() {
        // PostgreSQL's planner picks sequential scans on tiny tables; roster-bench's scim
        // rounds measure the lookups at scale.
        return;
    }
    let app = TestApp::spawn().await;
    let org = app.bootstrap("acme").await;
    let db = &app.state.db;
    for (filter, index) in [
        ("userName eq \"a@b.example\"", "users_user_name"),
        (
            "userName eq \"0b7c1c1e-5a4b-4b8e-9d0a-3c2f1e0d9c8b\"",
            "users_user_name",
        ),
        ("emails.value eq \"a@b.example\"", "users_org_email"),
        ("externalId eq \"x\"", "users_external_id"),
    ] {
        let f = roster_server::routes::scim::users_filter(filter).expect("filter");
        let mut q = roster_domain::paging::UserQuery::new(2);
        q.filter = Some(f);
        let plan = db
            .explain_list_users(&OrgId::from(&org.id), &q)
            .await
            .expect("plan")
            .join("\n");
        assert!(plan.contains(index), "{filter}: {plan}");
    }
}
