//! Each event type's JSON schema in the native OpenAPI document, held against the events the
//! suite emits: every feed page a test reads is checked by `openapi::check_response` (its
//! entries are one of the types' schemas), every webhook the receiver gets by `check_event`
//! (`webhooks::Receiver::log`), and here every type is made through a real path and checked
//! against its own schema. Also: an email change reaches every organization of the person.

use roster_domain::types::OrgId;
use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex, OnceLock};

use reqwest::Method;
use roster_domain::events::EVENT_TYPES;
use roster_server::routes::events::schemas::schema_name;
use serde_json::{json, Value};

use crate::eva::{BOT, PROD, STAGE};
use crate::events::{one_change_per_path, types_of};
use crate::helpers::{Org, TestApp};

/// The errors of an event (a webhook body, or a feed entry) against its type's schema.
pub fn event_errors(event: &Value) -> Vec<String> {
    static CACHE: OnceLock<Mutex<HashMap<String, Arc<jsonschema::Validator>>>> = OnceLock::new();
    let Some(t) = event["type"].as_str() else {
        return vec![format!("no type: {event}")];
    };
    let doc = crate::openapi::documents()
        .get("native")
        .expect("native document");
    let name = schema_name(t);
    if doc["components"]["schemas"].get(&name).is_none() {
        return vec![format!("no schema {name} for {t}")];
    }
    let validator = CACHE
        .get_or_init(Default::default)
        .lock()
        .expect("lock")
        .entry(name.clone())
        .or_insert_with(|| {
            let root = json!({
                "$schema": "https://json-schema.org/draft/2020-12/schema",
                "$ref": format!("#/components/schemas/{name}"),
                "components": doc["components"],
            });
            Arc::new(jsonschema::validator_for(&root).expect("schema compiles"))
        })
        .clone();
    validator
        .iter_errors(event)
        .map(|e| format!("{name}: {e} at {}", e.instance_path))
        .collect()
}

/// Panics unless `event` matches its type's schema.
#[track_caller]
pub fn check_event(event: &Value) {
    let errors = event_errors(event);
    assert!(errors.is_empty(), "{errors:?}\nevent: {event}");
}

async fn upload(app: &TestApp, org: &Org, method: Method, path: &str, csv: String) {
    let path = format!("/org/{}/users/{path}", org.uuid);
    app.upload_csv(method, &path, &org.token, csv)
        .await
        .expect(200);
}

/// The changes `one_change_per_path` does not make, one of each remaining event type.
async fn the_other_changes(app: &TestApp, acme: &Org, ana: &str) {
    let base = format!("/org/{}", acme.uuid);
    app.post(
        "/v1/acme/organization/",
        &acme.token,
        json!({ "default_user_preferences": { "timezone": "Asia/Tokyo" } }),
    )
    .await
    .expect(204);
    app.post(
        "/v1/acme/role/Reader",
        &acme.token,
        json!({ "description": "reads more" }),
    )
    .await
    .expect(200);
    let key = app
        .post(
            "/v1/acme/organization/api_key/",
            &acme.token,
            json!({ "name": "short", "duration": "P1D", "role_name": "DefaultUserRole" }),
        )
        .await
        .expect(201);
    app.delete(
        &format!(
            "/v1/acme/organization/api_key/{}",
            key["api_key_id"].as_str().unwrap()
        ),
        &acme.token,
    )
    .await
    .expect(200);
    app.post(
        "/v1/acme/role/temporary_permission_grant/",
        &acme.token,
        json!({ "user_id": ana, "duration": "PT1H",
                "permission_grant": { "permission_name": "User:GetUserInfo", "conditions": {} },
                "tags": {}, "justification": "a support ticket needs it" }),
    )
    .await
    .expect(201);
    // A directory's group, deleted.
    let t = crate::scim::token(app, acme, None).await;
    let groups = format!("{}/Groups", crate::scim::base(acme));
    let g = crate::scim::scim(
        app,
        Method::POST,
        &groups,
        &t,
        Some(json!({ "displayName": "Short-lived" })),
        &[],
    )
    .await
    .expect(201);
    let gone = format!("{groups}/{}", g["id"].as_str().unwrap());
    crate::scim::scim(app, Method::DELETE, &gone, &t, None, &[])
        .await
        .expect(204);
    // eva: a user deactivated, then activated again.
    let body = json!({ "name": "Dee Active", "email": "dee@x.example", "company": "C", "admin": false,
        "environments": [{ "role": "EDITOR", "environment": { "uuid": PROD }, "bots": [{ "uuid": BOT }] }],
        "password": "Secr3t!x", "passwordConfirmation": "Secr3t!x" });
    let dee = app
        .eva(
            Method::POST,
            &format!("{base}/users"),
            &acme.token,
            Some(body.clone()),
        )
        .await
        .expect(200)["uuid"]
        .as_str()
        .unwrap()
        .to_owned();
    app.eva(
        Method::DELETE,
        &format!("{base}/users/{dee}"),
        &acme.token,
        None,
    )
    .await
    .expect(204);
    let mut again = body;
    for k in ["password", "passwordConfirmation"] {
        again.as_object_mut().unwrap().remove(k);
    }
    app.eva(
        Method::PUT,
        &format!("{base}/users/activate"),
        &acme.token,
        Some(again),
    )
    .await
    .expect(200);
    // eva bulk permissions: a production environment granted, the staging one revoked.
    upload(
        app,
        acme,
        Method::POST,
        "bulk-permissions",
        format!("bulk0-s@x.example;;;VIEWER;;{PROD};Production;{BOT}\n"),
    )
    .await;
    upload(
        app,
        acme,
        Method::DELETE,
        "bulk-permissions",
        format!("bulk0-s@x.example;;;SUPERVISOR;;{STAGE};Staging;\n"),
    )
    .await;
}

#[tokio::test]
async fn every_event_type_is_emitted_and_matches_its_own_schema() {
    let app = TestApp::spawn().await;
    let acme = app.bootstrap("acme").await;
    app.eva_catalog("acme").await;
    let (_, secret) = one_change_per_path(&app, &acme, "s").await;
    let (first, _) = app.feed(&acme, "0", 100).await;
    let ana = first
        .iter()
        .find(|e| e["type"] == "invitation.accepted")
        .and_then(|e| e["data"]["user_id"].as_str())
        .expect("ana")
        .to_owned();
    the_other_changes(&app, &acme, &ana).await;
    // organization.deleted is told in the platform organization's feed.
    let root = crate::amigo_orgs::platform(&app).await;
    let gone = app.bootstrap("gone").await;
    app.call(
        Method::DELETE,
        "/v1/gone/organization/",
        Some(&root.token),
        None,
        &[("x-org-id", root.id.as_str())],
    )
    .await
    .expect(204);
    let (mut events, _) = app.feed(&acme, "0", 100).await;
    let (platform, _) = app.feed(&root, "0", 100).await;
    events.extend(platform);
    let _ = gone;
    for e in &events {
        check_event(e);
        assert!(!e.to_string().contains(&secret), "a secret in {e}");
    }
    let seen: BTreeSet<String> = types_of(&events).into_iter().collect();
    let all: BTreeSet<String> = EVENT_TYPES.iter().map(|t| t.to_string()).collect();
    assert_eq!(
        all.difference(&seen).collect::<Vec<_>>(),
        Vec::<&String>::new(),
        "types this test did not make"
    );
    // One schema per type, and no other event schema.
    let schemas = crate::openapi::documents().get("native").unwrap()["components"]["schemas"]
        .as_object()
        .unwrap()
        .keys()
        .filter(|k| k.ends_with("Event") && !k.starts_with("Audit"))
        .cloned()
        .collect::<BTreeSet<_>>();
    let named: BTreeSet<String> = EVENT_TYPES.iter().map(|t| schema_name(t)).collect();
    assert_eq!(schemas, named);
    // The schemas refuse what an event must not be: a field nobody documented (a password, say),
    // a user event without its user, a deleted user still shown, a type given another's shape.
    let created = events
        .iter()
        .find(|e| e["type"] == "user.created")
        .unwrap()
        .clone();
    let deleted = events
        .iter()
        .find(|e| e["type"] == "user.deleted")
        .unwrap()
        .clone();
    let mut leaked = created.clone();
    leaked["data"]["user"]["password"] = json!("Secr3t!x");
    let mut bare = created.clone();
    bare["data"].as_object_mut().unwrap().remove("user");
    let mut shown = deleted.clone();
    shown["data"]["user"] = created["data"]["user"].clone();
    let mut extra = created.clone();
    extra["data"]["secret"] = json!("whsec_x");
    for (what, bad) in [
        ("a password", leaked),
        ("no user", bare),
        ("a deleted user shown", shown),
        ("an undocumented field", extra),
    ] {
        assert!(!event_errors(&bad).is_empty(), "{what} passed: {bad}");
    }
}

#[tokio::test]
async fn an_email_change_is_told_to_every_organization_of_the_person() {
    let app = TestApp::spawn().await;
    let acme = app.bootstrap("acme").await;
    let beta = app.bootstrap("beta").await;
    let in_acme = app
        .invite(&acme, "sam@x.example", "Sam", "Old", "DefaultUserRole")
        .await;
    let _ = app.sign_in(&acme, &in_acme).await;
    assert_eq!(
        app.oum_invite(
            &beta,
            "sam@x.example",
            "Sam Old",
            json!(["analyst"]),
            Value::Null
        )
        .await,
        204
    );
    let (in_beta, sam_beta) = app.accept_invitation("beta", "sam@x.example").await;
    let (_, acme_after) = app.feed(&acme, "0", 100).await;
    let (_, beta_after) = app.feed(&beta, "0", 100).await;
    app.oum(
        Method::PATCH,
        "/users/me",
        &sam_beta,
        Some(json!({ "email": "samantha@new.example" })),
    )
    .await
    .expect(200);
    let mail = app
        .state
        .core
        .store
        .list_outbox(&OrgId::from("beta"))
        .await
        .unwrap();
    let token = mail
        .iter()
        .find(|m| m.kind == "email_change")
        .expect("confirmation queued")
        .payload["link"]
        .as_str()
        .unwrap()
        .split("token=")
        .nth(1)
        .unwrap()
        .to_owned();
    app.call(
        Method::POST,
        "/users/email-change/confirm",
        None,
        Some(json!({ "token": token })),
        &[],
    )
    .await
    .expect(204);
    for (org, after, user) in [(&acme, acme_after, &in_acme), (&beta, beta_after, &in_beta)] {
        let (events, _) = app.feed(org, &after, 100).await;
        assert_eq!(
            types_of(&events),
            ["user.updated"],
            "{}: {events:#?}",
            org.id
        );
        let e = &events[0];
        check_event(e);
        assert_eq!(e["data"]["user_id"], user.as_str(), "{e}");
        assert_eq!(e["data"]["user"]["email"], "samantha@new.example", "{e}");
        assert_eq!(e["data"]["organization"]["id"], org.id.as_str());
    }
    // And each organization's audit log records it for its own member.
    for (org, user) in [(&acme, &in_acme), (&beta, &in_beta)] {
        let log = app
            .get(
                &format!(
                    "/admin/v1/orgs/{}/audit-events?action=identity.email_changed",
                    org.id
                ),
                &org.token,
            )
            .await
            .expect(200);
        let mine: Vec<&Value> = log["events"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|a| a["action"] == "identity.email_changed")
            .collect();
        assert_eq!(mine.len(), 1, "{}: {log}", org.id);
        assert_eq!(mine[0]["target_user_id"], user.as_str());
    }
}
