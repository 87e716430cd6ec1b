//! Two edits of the console over real HTTP. A user's eva environments and bots: shown on the
//! user's page and changed through `Core::set_user_environments` with eva's checks (read back through the eva API), audited
//! on the console, refused without `User:UpdateUserInfo`, without the session's CSRF token, for
//! another organization's user, and for bad input (each field named, nothing written). The
//! organization's branding images: uploaded and removed through the core's
//! `modify_organization` (read back on the hosted sign-in page, which shows the logo), audited,
//! refused for a member who may not modify the organization, without the token, and for a
//! file that is no image of its kind or too large. Another organization's administrator on
//! both routes is part of the tests that read every console route from the router
//! (`console.rs`, `console_org.rs`).

use reqwest::multipart::{Form, Part};
use reqwest::Method;
use roster_domain::types::{OrgId, UserId};
use serde_json::{json, Value};

use crate::console::{activate_with_password, audit, csrf, fields, signed_in};
use crate::console_org::names_field;
use crate::eva::{BOT, BOT2, OLD, PROD, STAGE, STAGE_BOT};
use crate::helpers::{Org, TestApp};
use crate::oidc_browser::{org_with_password, Browser, PASSWORD};

/// An eva token of the organization's administrator (who has `PASSWORD`).
async fn eva_token(app: &TestApp, org: &Org, email: &str) -> String {
    let t = app.password_token(org, email, PASSWORD).await;
    assert_eq!(t.status, 200, "{}", t.body);
    t.body["access_token"].as_str().unwrap().to_owned()
}

/// An EDITOR of Production with the bot Main, made through eva's API; returns its id.
async fn eva_editor(app: &TestApp, org: &Org, token: &str, email: &str) -> String {
    let body = json!({ "name": "Ana Souza", "email": email, "company": "Example Corp", "admin": false,
        "environments": [{ "role": "EDITOR", "environment": { "uuid": PROD }, "bots": [{ "uuid": BOT }] }],
        "password": "Secr3t!x", "passwordConfirmation": "Secr3t!x" });
    let path = format!("/eva-user/org/{}/users?language=en", org.uuid);
    let made = app
        .eva(Method::POST, &path, token, Some(body))
        .await
        .expect(200);
    made["uuid"].as_str().unwrap().to_owned()
}

/// The user's environments as eva's API shows them, sorted by environment.
async fn eva_envs(app: &TestApp, org: &Org, token: &str, user: &str) -> Vec<Value> {
    let path = format!("/eva-user/org/{}/users/{user}", org.uuid);
    let got = app.eva(Method::GET, &path, token, None).await.expect(200);
    let mut envs = got["environments"].as_array().cloned().unwrap_or_default();
    envs.sort_by_key(|e| {
        e["environment"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    });
    envs
}

fn with_csrf(pairs: &[(&str, &str)], token: &str) -> Vec<(String, String)> {
    let mut f = fields(pairs);
    f.push(("csrf".into(), token.into()));
    f
}

#[tokio::test]
async fn a_users_environments_are_shown_and_changed_with_evas_checks() {
    let app = TestApp::spawn().await;
    let (org, email) = org_with_password(&app, "acme").await;
    app.eva_catalog(&org.id).await;
    let token = eva_token(&app, &org, &email).await;
    let ana = eva_editor(&app, &org, &token, "ana@acme.example").await;
    let mut b = signed_in(&app, &org.id, &email).await;
    let path = format!("/console/{}/users/{ana}", org.id);
    let page = b.get(&format!("{path}?lang=en")).await;
    assert_eq!(page.status, 200, "{}", page.body);
    // The table: environment, role, bots.
    assert!(page
        .body
        .contains("<h2 id=\"environments\">Environments and bots</h2>"));
    assert!(
        page.body
            .contains("<td>Production</td><td>EDITOR</td><td>Main</td>"),
        "{}",
        page.body
    );
    // The form: every environment of the catalogue, what the user holds chosen.
    assert!(page.body.contains(&format!("name=\"env_role.{PROD}\"")));
    assert!(page
        .body
        .contains("<option value=\"EDITOR\" selected>EDITOR</option>"));
    assert!(page
        .body
        .contains(&format!("name=\"env_bot.{PROD}\" value=\"{BOT}\" checked")));
    assert!(page
        .body
        .contains(&format!("name=\"env_bot.{PROD}\" value=\"{BOT2}\">")));
    assert!(page.body.contains("<legend>Old (inactive)</legend>"));
    let t = csrf(&page);
    let save = format!("{path}/environments");
    let change = [
        (format!("env_role.{PROD}"), "VIEWER".to_owned()),
        (format!("env_bot.{PROD}"), BOT2.to_owned()),
        (format!("env_role.{STAGE}"), "SUPERVISOR".to_owned()),
        (format!("env_bot.{STAGE}"), STAGE_BOT.to_owned()),
        (format!("env_role.{OLD}"), String::new()),
        ("csrf".to_owned(), t.clone()),
    ];
    let saved = b.post(&save, &change).await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    assert_eq!(
        saved.location().unwrap(),
        format!("{path}?done=environments#environments")
    );
    // Read back through eva's API: what the form chose (a SUPERVISOR's bots are all of them).
    assert_eq!(
        eva_envs(&app, &org, &token, &ana).await,
        vec![
            json!({ "role": "VIEWER", "environment": { "uuid": PROD, "name": "Production" },
                    "bots": [{ "uuid": BOT2, "name": "Second" }] }),
            json!({ "role": "SUPERVISOR", "environment": { "uuid": STAGE, "name": "Staging" }, "bots": [] }),
        ]
    );
    let events = audit(&app, &org, "user.update").await;
    assert!(
        events
            .iter()
            .any(|e| e["details"]["channel"] == "console" && e["target_user_id"] == ana.as_str()),
        "{events:?}"
    );
    let page = b.get(&format!("{path}?done=environments")).await;
    assert!(page.body.contains("The environments were saved."));
    assert!(page
        .body
        .contains("<td>Staging</td><td>SUPERVISOR</td><td>—</td>"));
    // The page in the other languages.
    for (lang, heading) in [
        ("es", "Entornos y bots"),
        ("ja", "環境とボット"),
        ("pt", "Ambientes e bots"),
    ] {
        let p = b.get(&format!("{path}?lang={lang}")).await;
        assert!(p.body.contains(heading), "{lang}");
    }
}

#[tokio::test]
async fn a_bad_environment_form_names_the_field_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let (org, email) = org_with_password(&app, "acme").await;
    app.eva_catalog(&org.id).await;
    let token = eva_token(&app, &org, &email).await;
    let ana = eva_editor(&app, &org, &token, "ana@acme.example").await;
    let before = eva_envs(&app, &org, &token, &ana).await;
    let mut b = signed_in(&app, &org.id, &email).await;
    let path = format!("/console/{}/users/{ana}", org.id);
    let t = csrf(&b.get(&path).await);
    let save = format!("{path}/environments");
    let (prod_role, prod_bot) = (format!("env_role.{PROD}"), format!("env_bot.{PROD}"));
    let old_role = format!("env_role.{OLD}");
    for (form, field) in [
        // EDITOR needs a bot.
        (
            vec![(prod_role.as_str(), "EDITOR")],
            "environments.Production.bots",
        ),
        // No such environment role.
        (
            vec![(prod_role.as_str(), "OWNER"), (prod_bot.as_str(), BOT)],
            "environments.Production.role",
        ),
        // An inactive environment.
        (
            vec![(old_role.as_str(), "SUPERVISOR")],
            "environments.Old.environment.uuid",
        ),
        // A bot of another environment.
        (
            vec![
                (prod_role.as_str(), "VIEWER"),
                (prod_bot.as_str(), STAGE_BOT),
            ],
            "environments.Production.bots.0.uuid",
        ),
        // No environment at all, for a user who is not an administrator.
        (vec![], "environments"),
    ] {
        names_field(&b.post(&save, &with_csrf(&form, &t)).await, field);
    }
    // Without the session's token, or with a wrong one: refused.
    let good = [(prod_role.as_str(), "VIEWER"), (prod_bot.as_str(), BOT2)];
    assert_eq!(b.post(&save, &fields(&good)).await.status, 403);
    assert_eq!(
        b.post(&save, &with_csrf(&good, &format!("{t}x")))
            .await
            .status,
        403
    );
    let mut other = signed_in(&app, &org.id, &email).await;
    let others = csrf(&other.get(&format!("/console/{}/users", org.id)).await);
    assert_eq!(b.post(&save, &with_csrf(&good, &others)).await.status, 403);
    assert_eq!(
        eva_envs(&app, &org, &token, &ana).await,
        before,
        "nothing written"
    );
    assert!(audit(&app, &org, "user.update").await.is_empty());
    // A user of another organization is not found here.
    let (globex, globex_email) = org_with_password(&app, "globex").await;
    app.eva_catalog(&globex.id).await;
    let g_token = eva_token(&app, &globex, &globex_email).await;
    let stranger = eva_editor(&app, &globex, &g_token, "g@globex.example").await;
    let theirs = format!("/console/{}/users/{stranger}", org.id);
    assert_eq!(b.get(&theirs).await.status, 404);
    let refused = b
        .post(&format!("{theirs}/environments"), &with_csrf(&good, &t))
        .await;
    assert_eq!(refused.status, 404, "{}", refused.body);
    assert_eq!(
        eva_envs(&app, &globex, &g_token, &stranger).await[0]["role"],
        "EDITOR"
    );
}

/// A member of `org` in a role of `grants`, signed in to the console.
async fn member_with(app: &TestApp, org: &Org, role: &str, grants: &[&str]) -> Browser {
    let grants: Vec<Value> = grants
        .iter()
        .map(|g| json!({ "permission_name": g, "conditions": {} }))
        .collect();
    app.post(
        &format!("/v1/{}/role/", org.id),
        &org.token,
        json!({ "role_name": role, "description": "test", "permission_grants": grants, "frontend_view": "client" }),
    )
    .await
    .expect(201);
    let email = format!("{}@{}.example", role.to_lowercase(), org.id);
    let id = app.invite(org, &email, "Sam", "Member", role).await;
    let email = activate_with_password(app, &org.id, &id).await;
    signed_in(app, &org.id, &email).await
}

#[tokio::test]
async fn a_member_without_the_permission_sees_the_environments_but_cannot_change_them() {
    let app = TestApp::spawn().await;
    let (org, email) = org_with_password(&app, "acme").await;
    app.eva_catalog(&org.id).await;
    let token = eva_token(&app, &org, &email).await;
    let ana = eva_editor(&app, &org, &token, "ana@acme.example").await;
    let before = eva_envs(&app, &org, &token, &ana).await;
    let mut b = member_with(&app, &org, "Support", &["User:GetUserInfo", "Role:GetRole"]).await;
    let path = format!("/console/{}/users/{ana}", org.id);
    let page = b.get(&path).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page
        .body
        .contains("<td>Production</td><td>EDITOR</td><td>Main</td>"));
    let f = with_csrf(&[(&format!("env_role.{PROD}"), "SUPERVISOR")], &csrf(&page));
    let refused = b.post(&format!("{path}/environments"), &f).await;
    assert_eq!(refused.status, 403, "{}", refused.body);
    assert!(
        refused.body.contains("User:UpdateUserInfo"),
        "{}",
        refused.body
    );
    assert_eq!(eva_envs(&app, &org, &token, &ana).await, before);
}

/// The eight bytes every PNG begins with, then some of its body.
fn png(len: usize) -> Vec<u8> {
    let mut v = b"\x89PNG\r\n\x1a\n".to_vec();
    v.resize(len.max(8), 7);
    v
}

fn branding_form(token: Option<&str>, files: &[(&str, Vec<u8>)], remove: &[&str]) -> Form {
    let mut form = Form::new();
    if let Some(t) = token {
        form = form.text("csrf", t.to_owned());
    }
    for (name, bytes) in files {
        form = form.part(
            (*name).to_owned(),
            Part::bytes(bytes.clone()).file_name(format!("{name}.png")),
        );
    }
    for r in remove {
        form = form.text(format!("remove_{r}"), "1");
    }
    form
}

async fn branding(app: &TestApp, org: &str) -> Value {
    app.state.core.find_org(org).await.unwrap().branding
}

#[tokio::test]
async fn branding_images_are_uploaded_checked_and_removed_through_the_core() {
    use base64::Engine;
    let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
    let app = TestApp::spawn().await;
    let (org, email) = org_with_password(&app, "acme").await;
    let mut b = signed_in(&app, &org.id, &email).await;
    let path = format!("/console/{}/organization", org.id);
    let page = b.get(&format!("{path}?lang=en")).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("enctype=\"multipart/form-data\""));
    for label in ["Logo", "Square logo", "Favicon"] {
        assert!(page.body.contains(&format!(">{label}</label>")), "{label}");
    }
    let t = csrf(&page);
    let save = format!("{path}/branding");
    // Bad files: each names its field, and nothing is written.
    let before = branding(&app, &org.id).await;
    let bad = b
        .post_multipart(
            &save,
            branding_form(
                Some(&t),
                &[
                    ("logo", b"GIF89a not a png".to_vec()),
                    ("square_logo", png(128 * 1024 + 1)),
                    ("favicon", b"<svg/>".to_vec()),
                ],
                &[],
            ),
        )
        .await;
    for field in ["logo", "square_logo", "favicon"] {
        names_field(&bad, field);
    }
    assert!(
        bad.body.contains("square_logo must be at most 128 KiB"),
        "{}",
        bad.body
    );
    assert_eq!(branding(&app, &org.id).await, before);
    // Without the token, a wrong one, or not a form of the console: refused, nothing written.
    let logo = png(300);
    for form in [
        branding_form(None, &[("logo", logo.clone())], &[]),
        branding_form(Some("wrong"), &[("logo", logo.clone())], &[]),
    ] {
        assert_eq!(b.post_multipart(&save, form).await.status, 403);
    }
    assert_eq!(b.post(&save, &fields(&[("csrf", &t)])).await.status, 403);
    assert_eq!(branding(&app, &org.id).await, before);
    // Uploaded: a PNG logo and an ICO favicon.
    let ico = [0u8, 0, 1, 0, 1, 0, 16, 16].to_vec();
    let saved = b
        .post_multipart(
            &save,
            branding_form(
                Some(&t),
                &[("logo", logo.clone()), ("favicon", ico.clone())],
                &[],
            ),
        )
        .await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    let stored = branding(&app, &org.id).await;
    assert_eq!(stored["logo"], b64(&logo));
    assert_eq!(stored["favicon"], b64(&ico));
    let shown = b.get(&path).await;
    assert!(shown
        .body
        .contains(&format!("src=\"data:image/png;base64,{}\"", b64(&logo))));
    assert!(shown
        .body
        .contains(&format!("src=\"data:image/x-icon;base64,{}\"", b64(&ico))));
    // The hosted sign-in page (which shows the logo that Amigo's API sets) shows it.
    let mut fresh = Browser::new(&app);
    let start = fresh.get(&format!("/console/{}/signin", org.id)).await;
    let signin = fresh.get(&start.location().unwrap()).await;
    assert!(signin.body.contains("name=\"password\""), "{}", signin.body);
    assert!(
        signin
            .body
            .contains(&format!("data:image/png;base64,{}", b64(&logo))),
        "{}",
        signin.body
    );
    let events = audit(&app, &org, "organization.modify").await;
    assert!(
        events.iter().any(|e| e["details"]["channel"] == "console"),
        "{events:?}"
    );
    // An Amigo change is shown, and the console removes what it set.
    app.post(
        &format!("/v1/{}/organization/", org.id),
        &org.token,
        json!({ "square_logo": "iVBORw0KGgo=" }),
    )
    .await
    .expect(204);
    let shown = b.get(&path).await;
    assert!(shown
        .body
        .contains("src=\"data:image/png;base64,iVBORw0KGgo=\""));
    let removed = b
        .post_multipart(&save, branding_form(Some(&t), &[], &["logo"]))
        .await;
    assert_eq!(removed.status, 303, "{}", removed.body);
    let stored = branding(&app, &org.id).await;
    assert_eq!(stored["logo"], "");
    assert_eq!(
        stored["square_logo"], "iVBORw0KGgo=",
        "an image left empty stays"
    );
    assert_eq!(stored["favicon"], b64(&ico));
}

#[tokio::test]
async fn a_member_who_may_not_modify_the_organization_cannot_change_its_branding() {
    let app = TestApp::spawn().await;
    let (org, _) = org_with_password(&app, "acme").await;
    let before = branding(&app, &org.id).await;
    let mut b = member_with(&app, &org, "Support", &["User:GetUserInfo"]).await;
    let page = b.get(&format!("/console/{}/organization", org.id)).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let refused = b
        .post_multipart(
            &format!("/console/{}/organization/branding", org.id),
            branding_form(Some(&csrf(&page)), &[("logo", png(100))], &[]),
        )
        .await;
    assert_eq!(refused.status, 403, "{}", refused.body);
    assert!(
        refused.body.contains("Organization:ModifyOrganization"),
        "{}",
        refused.body
    );
    assert_eq!(branding(&app, &org.id).await, before);
}

/// The user's row version (`updated_at`), which every change of theirs moves on.
async fn updated_at(app: &TestApp, org: &str, id: &str) -> i64 {
    let store = &app.state.core.store;
    let u = store.get_user(&OrgId::from(org), &UserId::from(id)).await;
    u.unwrap().unwrap().updated_at
}

/// The user as stored: status, organization roles and names.
async fn stored(app: &TestApp, org: &str, id: &str) -> (String, Vec<String>, String, String) {
    let u = app
        .state
        .core
        .store
        .get_user(&OrgId::from(org), &UserId::from(id))
        .await
        .unwrap()
        .unwrap();
    (
        format!("{:?}", u.status),
        u.role_ids,
        u.first_name,
        u.last_name,
    )
}

#[tokio::test]
async fn saving_environments_changes_nothing_else_of_the_user() {
    let app = TestApp::spawn().await;
    let (org, email) = org_with_password(&app, "acme").await;
    app.eva_catalog(&org.id).await;
    app.post(
        &format!("/v1/{}/role/", org.id),
        &org.token,
        json!({ "role_name": "Auditor", "description": "test", "frontend_view": "client",
                "permission_grants": [{ "permission_name": "User:GetUserInfo", "conditions": {} }] }),
    )
    .await
    .expect(201);
    // An invited user of a custom role whose first name holds a space.
    let mary = app
        .invite(&org, "mary@acme.example", "Mary Ann", "Smith", "Auditor")
        .await;
    let before = stored(&app, &org.id, &mary).await;
    assert_eq!(before.0, "Invited");
    let mut b = signed_in(&app, &org.id, &email).await;
    let path = format!("/console/{}/users/{mary}", org.id);
    let t = csrf(&b.get(&path).await);
    let give = [
        (format!("env_role.{PROD}"), "VIEWER".to_owned()),
        (format!("env_bot.{PROD}"), BOT.to_owned()),
        ("csrf".to_owned(), t.clone()),
    ];
    let moved_from = updated_at(&app, &org.id, &mary).await;
    let saved = b.post(&format!("{path}/environments"), &give).await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    assert_eq!(
        stored(&app, &org.id, &mary).await,
        before,
        "still invited, still an Auditor, still Mary Ann Smith"
    );
    // The row moves on with its access: a write that read it before is refused as stale.
    assert!(updated_at(&app, &org.id, &mary).await > moved_from);
    let token = eva_token(&app, &org, &email).await;
    assert_eq!(
        eva_envs(&app, &org, &token, &mary).await[0]["role"],
        "VIEWER"
    );
    // The administrator's own no-change save keeps their role.
    let admin_before = stored(&app, &org.id, &org.admin_id).await;
    let own = format!("/console/{}/users/{}", org.id, org.admin_id);
    let t = csrf(&b.get(&own).await);
    let saved = b
        .post(&format!("{own}/environments"), &fields(&[("csrf", &t)]))
        .await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    assert_eq!(stored(&app, &org.id, &org.admin_id).await, admin_before);
    // eva's own update still makes the role eva's (its contract).
    let put = json!({ "name": "Mary Ann Smith", "email": "mary@acme.example", "admin": false,
        "environments": [{ "role": "VIEWER", "environment": { "uuid": PROD }, "bots": [{ "uuid": BOT }] }] });
    app.eva(
        Method::PUT,
        &format!("/eva-user/org/{}/users/{mary}", org.uuid),
        &token,
        Some(put),
    )
    .await
    .expect(200);
    let after = stored(&app, &org.id, &mary).await;
    assert_eq!((after.0.as_str(), after.2.as_str()), ("Active", "Mary"));
}

#[tokio::test]
async fn an_inactive_environment_or_bot_already_held_is_kept_by_a_save() {
    let app = TestApp::spawn().await;
    let (org, email) = org_with_password(&app, "acme").await;
    app.eva_catalog(&org.id).await;
    let token = eva_token(&app, &org, &email).await;
    let ana = eva_editor(&app, &org, &token, "ana@acme.example").await;
    let mut b = signed_in(&app, &org.id, &email).await;
    let path = format!("/console/{}/users/{ana}", org.id);
    let save = format!("{path}/environments");
    let t = csrf(&b.get(&path).await);
    let form = [
        (format!("env_role.{PROD}"), "EDITOR".to_owned()),
        (format!("env_bot.{PROD}"), BOT.to_owned()),
        (format!("env_role.{STAGE}"), "SUPERVISOR".to_owned()),
        ("csrf".to_owned(), t.clone()),
    ];
    assert_eq!(b.post(&save, &form).await.status, 303);
    // Staging and the bot Main are deactivated since.
    app.ingest(
        Method::PUT,
        &format!("/ingest/v1/{}/environments/{STAGE}", org.id),
        json!({ "name": "Staging", "active": false }),
    )
    .await;
    app.ingest(
        Method::PUT,
        &format!("/ingest/v1/{}/bots/{BOT}", org.id),
        json!({ "environment_uuid": PROD, "name": "Main", "active": false }),
    )
    .await;
    let before = eva_envs(&app, &org, &token, &ana).await;
    let page = b.get(&format!("{path}?lang=en")).await;
    assert!(page.body.contains("<legend>Staging (inactive)</legend>"));
    assert!(page
        .body
        .contains(&format!("name=\"env_bot.{PROD}\" value=\"{BOT}\" checked")));
    assert!(page.body.contains("can be kept, not newly given"));
    // The form as shown, sent unchanged: accepted, nothing lost.
    let kept = b.post(&save, &form).await;
    assert_eq!(kept.status, 303, "{}", kept.body);
    assert_eq!(eva_envs(&app, &org, &token, &ana).await, before);
    // A held inactive environment under another role, or an inactive bot newly given: refused.
    let other_role = [
        (format!("env_role.{PROD}"), "EDITOR".to_owned()),
        (format!("env_bot.{PROD}"), BOT.to_owned()),
        (format!("env_role.{STAGE}"), "VIEWER".to_owned()),
        (format!("env_bot.{STAGE}"), STAGE_BOT.to_owned()),
        ("csrf".to_owned(), t.clone()),
    ];
    names_field(
        &b.post(&save, &other_role).await,
        "environments.Staging.environment.uuid",
    );
    let new_bot = [
        (format!("env_role.{PROD}"), "EDITOR".to_owned()),
        (format!("env_bot.{PROD}"), crate::eva::OFF_BOT.to_owned()),
        ("csrf".to_owned(), t.clone()),
    ];
    names_field(
        &b.post(&save, &new_bot).await,
        "environments.Production.bots.0.uuid",
    );
    assert_eq!(eva_envs(&app, &org, &token, &ana).await, before);
}

/// The console's answer to a session of another organization: 403, its no-access page.
fn no_access(page: &crate::oidc_browser::Page) {
    assert_eq!(page.status, 403, "{}", page.body);
    assert!(
        page.body
            .contains("may not use the console of this organization"),
        "{}",
        page.body
    );
}

#[tokio::test]
async fn another_organizations_session_changes_neither_environments_nor_branding() {
    let app = TestApp::spawn().await;
    let (acme, email) = org_with_password(&app, "acme").await;
    app.eva_catalog(&acme.id).await;
    let token = eva_token(&app, &acme, &email).await;
    let ana = eva_editor(&app, &acme, &token, "ana@acme.example").await;
    let envs_before = eva_envs(&app, &acme, &token, &ana).await;
    let branding_before = branding(&app, &acme.id).await;
    let (globex, g_email) = org_with_password(&app, "globex").await;
    app.eva_catalog(&globex.id).await;
    let mut g = signed_in(&app, &globex.id, &g_email).await;
    let t = csrf(&g.get(&format!("/console/{}/organization", globex.id)).await);
    // A valid form for acme's environment, with globex's session and token.
    let form = [
        (format!("env_role.{PROD}"), "VIEWER".to_owned()),
        (format!("env_bot.{PROD}"), BOT2.to_owned()),
        ("csrf".to_owned(), t.clone()),
    ];
    let refused = g
        .post(
            &format!("/console/{}/users/{ana}/environments", acme.id),
            &form,
        )
        .await;
    no_access(&refused);
    // A valid PNG, as a real multipart upload.
    let refused = g
        .post_multipart(
            &format!("/console/{}/organization/branding", acme.id),
            branding_form(Some(&t), &[("logo", png(300))], &[]),
        )
        .await;
    no_access(&refused);
    assert_eq!(eva_envs(&app, &acme, &token, &ana).await, envs_before);
    assert_eq!(branding(&app, &acme.id).await, branding_before);
    assert!(audit(&app, &acme, "user.update").await.is_empty());
    assert!(audit(&app, &acme, "organization.modify").await.is_empty());
}

#[tokio::test]
async fn a_branding_file_at_the_image_limit_is_taken_and_one_over_the_body_limit_is_413() {
    let app = TestApp::spawn().await;
    let (org, email) = org_with_password(&app, "acme").await;
    let mut b = signed_in(&app, &org.id, &email).await;
    let path = format!("/console/{}/organization", org.id);
    let t = csrf(&b.get(&path).await);
    let save = format!("{path}/branding");
    let before = branding(&app, &org.id).await;
    let over = app.state.config.max_body_bytes + 1;
    let refused = b
        .post_multipart(&save, branding_form(Some(&t), &[("logo", png(over))], &[]))
        .await;
    assert_eq!(refused.status, 413, "{}", refused.body);
    assert_eq!(branding(&app, &org.id).await, before);
    // Nothing chosen: nothing written, nothing audited.
    let nothing = b
        .post_multipart(&save, branding_form(Some(&t), &[], &[]))
        .await;
    assert_eq!(nothing.status, 303, "{}", nothing.body);
    assert!(audit(&app, &org, "organization.modify").await.is_empty());
    let exact = png(128 * 1024);
    let saved = b
        .post_multipart(&save, branding_form(Some(&t), &[("logo", exact)], &[]))
        .await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    assert_ne!(branding(&app, &org.id).await, before);
}

#[tokio::test]
async fn a_users_page_lists_the_api_keys_they_created_and_no_one_elses() {
    let app = TestApp::spawn().await;
    let (org, email) = org_with_password(&app, "acme").await;
    let key = app
        .post(
            &format!("/v1/{}/organization/api_key/", org.id),
            &org.token,
            json!({ "name": "deploy bot", "duration": "P30D", "role_name": "DefaultUserRole" }),
        )
        .await
        .expect(201);
    let key_id = key["api_key_id"].as_str().unwrap().to_owned();
    let (globex, _) = org_with_password(&app, "globex").await;
    let theirs = app
        .post(
            &format!("/v1/{}/organization/api_key/", globex.id),
            &globex.token,
            json!({ "name": "globex key", "duration": "P30D", "role_name": "DefaultUserRole" }),
        )
        .await
        .expect(201);
    let other = app
        .invite(&org, "sam@acme.example", "Sam", "Other", "DefaultUserRole")
        .await;
    let mut b = signed_in(&app, &org.id, &email).await;
    let page = b
        .get(&format!(
            "/console/{}/users/{}?lang=en",
            org.id, org.admin_id
        ))
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page
        .body
        .contains("<h2 id=\"api-keys\">API keys this user created</h2>"));
    assert!(page.body.contains("deploy bot"), "{}", page.body);
    assert!(page.body.contains(&key_id));
    assert!(page.body.contains("<td>DefaultUserRole</td>"));
    assert!(page
        .body
        .contains(&format!("href=\"/console/{}/keys\"", org.id)));
    assert!(!page.body.contains("globex key"));
    assert!(!page.body.contains(theirs["api_key_id"].as_str().unwrap()));
    let sams = b.get(&format!("/console/{}/users/{other}", org.id)).await;
    assert!(!sams.body.contains(&key_id), "not on another user's page");
    assert!(sams.body.contains("No API keys."));
    for (lang, heading) in [
        ("es", "Claves de API que creó este usuario"),
        ("ja", "このユーザーが作成した API キー"),
        ("pt", "Chaves de API que este usuário criou"),
    ] {
        let p = b
            .get(&format!(
                "/console/{}/users/{}?lang={lang}",
                org.id, org.admin_id
            ))
            .await;
        assert!(p.body.contains(heading), "{lang}");
    }
}
