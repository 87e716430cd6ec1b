//! The console's management pages over real HTTP: roles created and edited (and the rank
//! rule's refusal explained in each language), an API key rotated (the old id and secret and
//! their sessions refused at once, the new ones working, the audit row), a deactivated user
//! activated, and a bulk upload run as an import job whose page shows its progress to the end
//! and its rejected rows, downloadable as `errors.csv`. Every new form refuses a missing or
//! wrong CSRF token, and another organization's administrator reaches none of it.

use roster_domain::types::OrgId;
use roster_domain::types::UserId;
use std::time::Duration;

use reqwest::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use serde_json::Value;

use crate::console::console_sign_in;
use crate::helpers::{Org, TestApp};
use crate::oidc_browser::{org_with_password, Browser, Page, PASSWORD};

async fn signed_in(app: &TestApp, org: &str, email: &str) -> Browser {
    let mut b = Browser::new(app);
    let cb = console_sign_in(&mut b, org, email, PASSWORD).await;
    assert_eq!(cb.status, 303, "{}", cb.body);
    b
}

fn csrf(page: &Page) -> String {
    page.hidden_fields()
        .into_iter()
        .find(|(k, _)| k == "csrf")
        .map(|(_, v)| v)
        .expect("a form with a csrf field")
}

fn fields(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

async fn audit(app: &TestApp, org: &Org, action: &str) -> Vec<Value> {
    let token = app.sign_in(org, &org.admin_id).await;
    let body = app
        .get(
            &format!("/admin/v1/orgs/{}/audit-events?action={action}", org.id),
            &token,
        )
        .await
        .expect(200);
    body["events"].as_array().cloned().unwrap_or_default()
}

fn from_console(events: &[Value]) -> bool {
    events.iter().any(|e| e["details"]["channel"] == "console")
}

async fn role_names(app: &TestApp, org: &str) -> Vec<String> {
    let roles = app
        .state
        .core
        .store
        .list_roles(&OrgId::from(org))
        .await
        .unwrap();
    roles.into_iter().map(|r| r.name).collect()
}

async fn role_id(app: &TestApp, org: &str, name: &str) -> String {
    let roles = app
        .state
        .core
        .store
        .list_roles(&OrgId::from(org))
        .await
        .unwrap();
    roles.into_iter().find(|r| r.name == name).expect(name).id
}

/// The rank rule's explanation in each language (a part of the sentence).
const RANK_RULE: [(&str, &str); 4] = [
    ("en", "a role with every permission of the other and more"),
    ("es", "un rol con todos los permisos del otro y alguno más"),
    ("ja", "自分のロールが上位にあるロール"),
    ("pt", "uma função com todas as permissões da outra e mais"),
];

#[tokio::test]
async fn roles_are_created_and_edited_and_the_rank_refusal_is_explained_in_every_language() {
    let app = TestApp::spawn().await;
    let (org, email) = org_with_password(&app, "acme").await;
    let mut b = signed_in(&app, &org.id, &email).await;
    let page = b.get(&format!("/console/{}/roles", org.id)).await;
    assert_eq!(page.status, 200, "{}", page.body);
    for label in ["Role name", "Description"] {
        assert!(page.body.contains(&format!(">{label}</label>")), "{label}");
    }
    assert!(page.body.contains("value=\"User:InviteUser\""));
    let t = csrf(&page);
    let path = format!("/console/{}/roles", org.id);
    let support = [
        ("name", "Support"),
        ("description", "Reads users"),
        ("grant", "User:GetUserInfo"),
        ("grant", "Role:GetRole"),
    ];
    // CSRF: missing, wrong.
    let before = role_names(&app, &org.id).await;
    assert_eq!(b.post(&path, &fields(&support)).await.status, 403);
    let mut wrong = fields(&support);
    wrong.push(("csrf".into(), format!("{t}x")));
    assert_eq!(b.post(&path, &wrong).await.status, 403);
    assert_eq!(role_names(&app, &org.id).await, before);
    // Created.
    let mut good = fields(&support);
    good.push(("csrf".into(), t.clone()));
    let made = b.post(&path, &good).await;
    assert_eq!(made.status, 303, "{}", made.body);
    let id = role_id(&app, &org.id, "Support").await;
    assert_eq!(
        made.location().unwrap(),
        format!("/console/{}/roles/{id}?done=1", org.id)
    );
    let edit = b.get(&made.location().unwrap()).await;
    assert_eq!(edit.status, 200, "{}", edit.body);
    assert!(edit.body.contains("The role was saved."));
    assert!(edit
        .body
        .contains("name=\"grant\" value=\"User:GetUserInfo\" checked"));
    assert!(!edit
        .body
        .contains("name=\"grant\" value=\"User:InviteUser\" checked"));
    assert!(from_console(&audit(&app, &org, "role.create").await));
    // Edited: its description and grants.
    let edit_path = format!("/console/{}/roles/{id}", org.id);
    let changes = [
        ("description", "Reads and invites users"),
        ("grant", "User:GetUserInfo"),
        ("grant", "User:InviteUser"),
    ];
    assert_eq!(b.post(&edit_path, &fields(&changes)).await.status, 403);
    let mut ok = fields(&changes);
    ok.push(("csrf".into(), t.clone()));
    let saved = b.post(&edit_path, &ok).await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    let roles = app
        .state
        .core
        .store
        .list_roles(&OrgId::from(&org.id))
        .await
        .unwrap();
    let support = roles.iter().find(|r| r.id == id).unwrap();
    assert_eq!(support.description, "Reads and invites users");
    let mut grants: Vec<&str> = support
        .grants
        .iter()
        .map(|g| g.permission_name.as_str())
        .collect();
    grants.sort_unstable();
    assert_eq!(grants, ["User:GetUserInfo", "User:InviteUser"]);
    assert!(from_console(&audit(&app, &org, "role.modify").await));
    // Bad input names the field and writes nothing.
    for (bad, named) in [
        (
            vec![
                ("name", "Empty"),
                ("description", " "),
                ("grant", "Role:GetRole"),
            ],
            "description",
        ),
        (
            vec![
                ("name", "Odd"),
                ("description", "d"),
                ("grant", "Nope:Nothing"),
            ],
            "permission_grants.0",
        ),
    ] {
        let mut f = fields(&bad);
        f.push(("csrf".into(), t.clone()));
        let refused = b.post(&path, &f).await;
        assert_eq!(refused.status, 422, "{}", refused.body);
        assert!(refused.body.contains(named), "{named}: {}", refused.body);
    }
    let after_bad = role_names(&app, &org.id).await;
    assert_eq!(after_bad.len(), before.len() + 1);
    // The rank rule: a role with a permission the administrator lacks, in each language, and
    // editing a role the administrator does not outrank.
    let superadmin = role_id(&app, &org.id, "DefaultSuperAdministratorRole").await;
    for (lang, sentence) in RANK_RULE {
        let page = b
            .get(&format!("/console/{}/roles?lang={lang}", org.id))
            .await;
        assert!(page.body.contains(&format!("<html lang=\"{lang}\"")));
        let name = format!("Boss {lang}");
        let f = fields(&[
            ("csrf", &t),
            ("name", &name),
            ("description", "Deletes the organization"),
            ("grant", "Organization:DeleteOrganization"),
        ]);
        let refused = b.post(&path, &f).await;
        assert_eq!(refused.status, 403, "{lang}: {}", refused.body);
        assert!(refused.body.contains(sentence), "{lang}: {}", refused.body);
        let f = fields(&[("csrf", &t), ("description", "Mine now")]);
        let refused = b
            .post(&format!("/console/{}/roles/{superadmin}", org.id), &f)
            .await;
        assert_eq!(refused.status, 403, "{lang}: {}", refused.body);
        assert!(refused.body.contains(sentence), "{lang}");
    }
    assert_eq!(role_names(&app, &org.id).await, after_bad);
    let roles = app
        .state
        .core
        .store
        .list_roles(&OrgId::from(&org.id))
        .await
        .unwrap();
    let sa = roles.iter().find(|r| r.id == superadmin).unwrap();
    assert_ne!(sa.description, "Mine now");
    // A built-in role's grants are fixed: its page shows them disabled.
    let builtin = role_id(&app, &org.id, "DefaultUserRole").await;
    let page = b
        .get(&format!("/console/{}/roles/{builtin}?lang=en", org.id))
        .await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("its permissions are fixed"));
    assert!(page.body.contains("disabled"));
    // An id that is not a role's id is a page naming the field.
    let bad = b.get(&format!("/console/{}/roles/nope", org.id)).await;
    assert_eq!(bad.status, 422, "{}", bad.body);
}

/// The one secret shown on the keys page.
fn shown_secret(page: &Page) -> String {
    let (_, rest) = page
        .body
        .split_once("id=\"secret\"")
        .expect("the secret is shown");
    let (_, rest) = rest.split_once('>').unwrap();
    rest.split_once('<').unwrap().0.trim().to_owned()
}

async fn key_named(app: &TestApp, org: &str, name: &str) -> String {
    let keys = app
        .state
        .core
        .store
        .list_api_keys(&OrgId::from(org))
        .await
        .unwrap();
    keys.into_iter()
        .find(|k| k.name.as_deref() == Some(name))
        .expect(name)
        .key_id
}

#[tokio::test]
async fn rotating_a_key_refuses_the_old_secret_and_its_sessions_at_once() {
    let app = TestApp::spawn().await;
    let (org, email) = org_with_password(&app, "acme").await;
    // A developer key signs in as an analyst (developer outranks analyst).
    let analyst = app
        .invite(&org, "an@acme.example", "Ana", "Lyst", "analyst")
        .await;
    let mut b = signed_in(&app, &org.id, &email).await;
    let keys = b.get(&format!("/console/{}/keys", org.id)).await;
    let t = csrf(&keys);
    let made = b
        .post(
            &format!("/console/{}/keys", org.id),
            &fields(&[
                ("csrf", &t),
                ("name", "ci"),
                ("days", "30"),
                ("role", "developer"),
            ]),
        )
        .await;
    assert_eq!(made.status, 200, "{}", made.body);
    let old = Org {
        key_id: key_named(&app, &org.id, "ci").await,
        key: shown_secret(&made),
        ..org.clone()
    };
    let token = app.sign_in(&old, &analyst).await;
    let me = format!("/org/{}/users/identity-provider", org.uuid);
    assert_eq!(app.get(&me, &token).await.status, 200);
    assert!(made.body.contains(&format!("keys/{}/rotate", old.key_id)));
    // CSRF: nothing rotates.
    let rotate = format!("/console/{}/keys/{}/rotate", org.id, old.key_id);
    assert_eq!(b.post(&rotate, &[]).await.status, 403);
    let wrong = fields(&[("csrf", "forged")]);
    assert_eq!(b.post(&rotate, &wrong).await.status, 403);
    assert_eq!(key_named(&app, &org.id, "ci").await, old.key_id);
    assert_eq!(app.sign_in_resp(&old, &analyst).await.status, 200);
    // Rotated: a new id and secret, shown once with the copy button (for scripts).
    let rotated = b.post(&rotate, &fields(&[("csrf", &t)])).await;
    assert_eq!(rotated.status, 200, "{}", rotated.body);
    assert!(rotated.body.contains("the old ones no longer work"));
    assert!(rotated.body.contains("data-copy=\"secret\" hidden"));
    let new = Org {
        key_id: key_named(&app, &org.id, "ci").await,
        key: shown_secret(&rotated),
        ..org.clone()
    };
    assert_ne!(new.key_id, old.key_id);
    assert_ne!(new.key, old.key);
    assert!(rotated.body.contains(&new.key_id));
    // The old id, the old secret and the old session: refused at once.
    assert_eq!(app.sign_in_resp(&old, &analyst).await.status, 401);
    let mixed = Org {
        key: new.key.clone(),
        ..old.clone()
    };
    assert_eq!(app.sign_in_resp(&mixed, &analyst).await.status, 401);
    let mixed = Org {
        key: old.key.clone(),
        ..new.clone()
    };
    assert_eq!(app.sign_in_resp(&mixed, &analyst).await.status, 401);
    assert_eq!(app.get(&me, &token).await.status, 401);
    // The new ones work.
    let fresh = app.sign_in(&new, &analyst).await;
    assert_eq!(app.get(&me, &fresh).await.status, 200);
    let keys = app
        .state
        .core
        .store
        .list_api_keys(&OrgId::from(&org.id))
        .await
        .unwrap();
    assert_eq!(keys.len(), 2, "the bootstrap key and the rotated one");
    let ci = keys.iter().find(|k| k.key_id == new.key_id).unwrap();
    assert_eq!(ci.name.as_deref(), Some("ci"));
    let events = audit(&app, &org, "api_key.rotate").await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0]["details"]["channel"], "console");
    assert_eq!(events[0]["details"]["previous_key_id"], old.key_id.as_str());
    assert_eq!(events[0]["details"]["key_id"], new.key_id.as_str());
    // A rotated-away id is gone: rotating it again is not found, and changes nothing.
    let again = b.post(&rotate, &fields(&[("csrf", &t)])).await;
    assert_eq!(again.status, 404, "{}", again.body);
    assert_eq!(key_named(&app, &org.id, "ci").await, new.key_id);
    // A key whose role the administrator does not outrank (the bootstrap key) is refused.
    let theirs = format!("/console/{}/keys/{}/rotate", org.id, org.key_id);
    let refused = b.post(&theirs, &fields(&[("csrf", &t)])).await;
    assert_eq!(refused.status, 403, "{}", refused.body);
    assert_eq!(app.sign_in_resp(&org, &analyst).await.status, 200);
}

#[tokio::test]
async fn a_deactivated_user_is_activated_from_their_page() {
    let app = TestApp::spawn().await;
    let (org, email) = org_with_password(&app, "acme").await;
    let member = app
        .invite(&org, "m@acme.example", "Mo", "Ember", "DefaultUserRole")
        .await;
    let mut b = signed_in(&app, &org.id, &email).await;
    let page = b.get(&format!("/console/{}/users/{member}", org.id)).await;
    let t = csrf(&page);
    assert!(!page.body.contains(&format!("users/{member}/activate")));
    let off = b
        .post(
            &format!("/console/{}/users/{member}/deactivate", org.id),
            &fields(&[("csrf", &t)]),
        )
        .await;
    assert_eq!(off.status, 303, "{}", off.body);
    let status = |app: &TestApp| {
        let (store, org) = (app.state.core.store.clone(), org.id.clone());
        let member = member.clone();
        async move {
            store
                .get_user(&OrgId::from(&org), &UserId::from(&member))
                .await
                .unwrap()
                .unwrap()
                .status
        }
    };
    use roster_domain::model::UserStatus;
    assert_eq!(status(&app).await, UserStatus::Inactive);
    let page = b.get(&format!("/console/{}/users/{member}", org.id)).await;
    let activate = format!("/console/{}/users/{member}/activate", org.id);
    assert!(
        page.body.contains(&format!("action=\"{activate}\"")),
        "{}",
        page.body
    );
    assert!(page.body.contains(">Activate</button>"));
    // CSRF: still deactivated.
    assert_eq!(b.post(&activate, &[]).await.status, 403);
    assert_eq!(
        b.post(&activate, &fields(&[("csrf", "x")])).await.status,
        403
    );
    assert_eq!(status(&app).await, UserStatus::Inactive);
    let on = b.post(&activate, &fields(&[("csrf", &t)])).await;
    assert_eq!(on.status, 303, "{}", on.body);
    assert_eq!(status(&app).await, UserStatus::Active);
    let events = audit(&app, &org, "user.activate").await;
    assert!(from_console(&events), "{events:?}");
    // Activating an active user is a conflict, and changes nothing.
    let again = b.post(&activate, &fields(&[("csrf", &t)])).await;
    assert_eq!(again.status, 409, "{}", again.body);
    assert_eq!(audit(&app, &org, "user.activate").await.len(), 1);
}

/// The cookies of a console browser, for a multipart request.
fn cookie_header(b: &Browser) -> String {
    b.cookies
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("; ")
}

async fn upload(
    app: &TestApp,
    b: &Browser,
    org: &str,
    token: &str,
    csv: String,
) -> reqwest::Response {
    let form = reqwest::multipart::Form::new()
        .text("csrf", token.to_owned())
        .part(
            "file",
            reqwest::multipart::Part::bytes(csv.into_bytes()).file_name("u.csv"),
        );
    // Not following the redirect: its location is the job's page.
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    client
        .post(format!("{}/console/{org}/bulk", app.base))
        .header("cookie", cookie_header(b))
        .multipart(form)
        .send()
        .await
        .unwrap()
}

/// The job page until its job ends (at most a minute); every page seen.
async fn follow(b: &mut Browser, path: &str) -> Vec<Page> {
    let mut seen = Vec::new();
    for _ in 0..600 {
        let page = b.get(path).await;
        assert_eq!(page.status, 200, "{}", page.body);
        let running = page.body.contains(">Running</dd>");
        seen.push(page);
        if !running {
            return seen;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the job did not end");
}

const HEADER: &str = "email;name;company;role;password;environmentUuid;environmentName;bot\n";

#[tokio::test]
async fn a_bulk_upload_is_a_job_whose_page_shows_progress_to_the_end_and_the_errors() {
    let app = TestApp::spawn().await;
    let (org, email) = org_with_password(&app, "acme").await;
    let mut b = signed_in(&app, &org.id, &email).await;
    let page = b.get(&format!("/console/{}/bulk", org.id)).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let t = csrf(&page);
    let mut csv = String::from(HEADER);
    for i in 0..2500 {
        csv.push_str(&format!("u{i}@acme.example;User {i};;ADMIN;;;;\n"));
    }
    csv.push_str("not-an-email;Bad Row;;ADMIN;;;;\n");
    csv.push_str("short@acme.example;Only Two\n");
    csv.push_str("u7@acme.example;Twice;;ADMIN;;;;\n");
    let before = app.count_users(&org.id).await;
    // A forged token starts nothing.
    let forged = upload(&app, &b, &org.id, "forged", csv.clone()).await;
    assert_eq!(forged.status(), 403);
    let ctx = roster_domain::core::Context::system();
    assert!(app.state.core.jobs(&ctx, &org.id).await.unwrap().is_empty());
    let started = upload(&app, &b, &org.id, &t, csv).await;
    assert_eq!(started.status(), 303);
    let location = started.headers()["location"].to_str().unwrap().to_owned();
    let prefix = format!("/console/{}/jobs/", org.id);
    assert!(location.starts_with(&prefix), "{location}");
    let pages = follow(&mut b, &location).await;
    for p in &pages {
        assert!(
            p.body.contains("<progress id=\"progress\" max=\"2503\""),
            "{}",
            p.body
        );
        assert!(p.body.contains("<label for=\"progress\">Progress</label>"));
        if p.body.contains(">Running</dd>") {
            // Scripts off: the page reloads itself; on: htmx polls the same page.
            assert!(p
                .body
                .contains("<noscript><meta http-equiv=\"refresh\" content=\"2\"></noscript>"));
            assert!(p.body.contains("hx-trigger=\"every 2s\""));
            assert!(p.body.contains(">Cancel</button>"));
        }
    }
    let last = pages.last().unwrap();
    assert!(last.body.contains(">Finished</dd>"), "{}", last.body);
    assert!(last.body.contains("value=\"2503\""), "{}", last.body);
    assert!(
        last.body
            .contains("2503 of 2503 rows read; 2500 rows applied, 3 rows rejected"),
        "{}",
        last.body
    );
    assert!(!last.body.contains("http-equiv"));
    assert!(!last.body.contains("hx-trigger"));
    assert!(last.body.contains("not-an-email"));
    assert!(last.body.contains("download=\"errors.csv\""));
    assert_eq!(app.count_users(&org.id).await, before + 2500);
    // The rejected rows, all of them, as a file.
    let errors = b.get(&format!("{location}/errors.csv")).await;
    assert_eq!(errors.status, 200, "{}", errors.body);
    assert!(errors.headers[CONTENT_TYPE]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    assert!(errors.headers[CONTENT_DISPOSITION]
        .to_str()
        .unwrap()
        .contains("errors.csv"));
    let rows: Vec<&str> = errors.body.lines().collect();
    assert_eq!(rows.len(), 4, "{}", errors.body);
    assert!(rows[0].starts_with("line;key;reason"), "{}", rows[0]);
    assert!(rows.iter().any(|r| r.contains("not-an-email")));
    assert!(rows.iter().any(|r| r.contains("u7@acme.example")));
    // The job is on the bulk page; an ended job cannot be cancelled.
    let bulk = b.get(&format!("/console/{}/bulk", org.id)).await;
    assert!(bulk.body.contains(&format!("href=\"{location}\"")));
    let cancel = format!("{location}/cancel");
    assert_eq!(b.post(&cancel, &[]).await.status, 403);
    let ended = b.post(&cancel, &fields(&[("csrf", &t)])).await;
    assert_eq!(ended.status, 409, "{}", ended.body);
    let audit_rows = audit(&app, &org, "job.started").await;
    assert!(from_console(&audit_rows), "{audit_rows:?}");
}

#[tokio::test]
async fn a_running_import_is_cancelled_from_its_page() {
    let app = TestApp::spawn().await;
    let (org, email) = org_with_password(&app, "acme").await;
    let mut b = signed_in(&app, &org.id, &email).await;
    let t = csrf(&b.get(&format!("/console/{}/bulk", org.id)).await);
    // Rows with passwords are slow to apply (each is hashed): the job runs long enough.
    let mut csv = String::from(HEADER);
    for i in 0..3000 {
        csv.push_str(&format!(
            "p{i}@acme.example;User {i};;ADMIN;Correct-Horse-{i};;;\n"
        ));
    }
    let started = upload(&app, &b, &org.id, &t, csv).await;
    assert_eq!(started.status(), 303);
    let location = started.headers()["location"].to_str().unwrap().to_owned();
    let cancel = format!("{location}/cancel");
    let wrong = b.post(&cancel, &fields(&[("csrf", "forged")])).await;
    assert_eq!(wrong.status, 403);
    let done = b.post(&cancel, &fields(&[("csrf", &t)])).await;
    assert_eq!(done.status, 303, "{}", done.body);
    assert_eq!(done.location().unwrap(), location);
    let pages = follow(&mut b, &location).await;
    let last = pages.last().unwrap();
    assert!(last.body.contains(">Cancelled</dd>"), "{}", last.body);
    let applied = app.count_users(&org.id).await;
    assert!(applied < 3000, "{applied}");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        app.count_users(&org.id).await,
        applied,
        "nothing after the cancel"
    );
    assert!(from_console(&audit(&app, &org, "job.cancelled").await));
}

/// Another organization's administrator, naming this organization's real role, key and job,
/// reaches none of them; and this organization's job is not found under their own.
#[tokio::test]
async fn another_organizations_administrator_reaches_no_role_key_or_job() {
    let app = TestApp::spawn().await;
    let (acme, acme_email) = org_with_password(&app, "acme").await;
    let (globex, globex_email) = org_with_password(&app, "globex").await;
    let mut a = signed_in(&app, &acme.id, &acme_email).await;
    let t = csrf(&a.get(&format!("/console/{}/bulk", acme.id)).await);
    let csv = format!("{HEADER}bad;Bad;;ADMIN;;;;\n");
    let started = upload(&app, &a, &acme.id, &t, csv).await;
    let location = started.headers()["location"].to_str().unwrap().to_owned();
    let job = location.rsplit('/').next().unwrap().to_owned();
    follow(&mut a, &location).await;
    let role = role_id(&app, &acme.id, "analyst").await;
    let mut g = signed_in(&app, &globex.id, &globex_email).await;
    let gt = csrf(&g.get(&format!("/console/{}/users", globex.id)).await);
    let keys_before = app
        .state
        .core
        .store
        .list_api_keys(&OrgId::from(&acme.id))
        .await
        .unwrap();
    let roles_before = app
        .state
        .core
        .store
        .list_roles(&OrgId::from(&acme.id))
        .await
        .unwrap();
    let a_org = &acme.id;
    for path in [
        format!("/console/{a_org}/roles"),
        format!("/console/{a_org}/roles/{role}"),
        format!("/console/{a_org}/jobs/{job}"),
        format!("/console/{a_org}/jobs/{job}/errors.csv"),
    ] {
        let page = g.get(&path).await;
        assert_eq!(page.status, 403, "{path}: {}", page.body);
        assert!(!page.body.contains("bad"), "{path}");
    }
    let form = fields(&[
        ("csrf", &gt),
        ("name", "Planted"),
        ("description", "Planted"),
        ("grant", "User:GetUserInfo"),
    ]);
    for path in [
        format!("/console/{a_org}/roles"),
        format!("/console/{a_org}/roles/{role}"),
        format!("/console/{a_org}/keys/{}/rotate", acme.key_id),
        format!("/console/{a_org}/jobs/{job}/cancel"),
    ] {
        let page = g.post(&path, &form).await;
        assert_eq!(page.status, 403, "{path}: {}", page.body);
    }
    let keys_after = app
        .state
        .core
        .store
        .list_api_keys(&OrgId::from(&acme.id))
        .await
        .unwrap();
    assert_eq!(keys_after.len(), keys_before.len());
    assert_eq!(keys_after[0].key_id, keys_before[0].key_id);
    let roles_after = app
        .state
        .core
        .store
        .list_roles(&OrgId::from(&acme.id))
        .await
        .unwrap();
    assert_eq!(roles_after.len(), roles_before.len());
    // acme's job under globex's own console: not found there.
    for path in [
        format!("/console/{}/jobs/{job}", globex.id),
        format!("/console/{}/jobs/{job}/errors.csv", globex.id),
    ] {
        let page = g.get(&path).await;
        assert_eq!(page.status, 404, "{path}: {}", page.body);
    }
    let cancel = g
        .post(
            &format!("/console/{}/jobs/{job}/cancel", globex.id),
            &fields(&[("csrf", &gt)]),
        )
        .await;
    assert_eq!(cancel.status, 404, "{}", cancel.body);
}
