//! The admin console over real HTTP: sign-in through the hosted page (code flow with PKCE),
//! the session cookie and its timeouts, CSRF on every form, escaping, the headers of every
//! page, "no access" for a member who is not an administrator, and another organization's
//! administrator reaching nothing of this organization through any console route.

use roster_domain::types::OrgId;
use roster_domain::types::UserId;
use std::time::Duration;

use reqwest::header::{CONTENT_SECURITY_POLICY, REFERRER_POLICY, SET_COOKIE};
use serde_json::Value;

use crate::helpers::{Org, TestApp};
use crate::oidc_browser::{org_with_password, sign_in_on, Browser, Page, PASSWORD};

/// Signs `email` in to the console of `org` through its hosted sign-in page; the browser then
/// holds the session cookie. Returns the callback's answer.
pub async fn console_sign_in(b: &mut Browser, org: &str, email: &str, password: &str) -> Page {
    let home = b.get(&format!("/console/{org}")).await;
    assert_eq!(home.status, 303, "{}", home.body);
    assert_eq!(home.location().unwrap(), format!("/console/{org}/signin"));
    let start = b.get(&home.location().unwrap()).await;
    assert_eq!(start.status, 303);
    let auth = start.location().unwrap();
    assert!(auth.starts_with(&format!("/realms/{org}/protocol/openid-connect/auth?")));
    let params = start.redirect_params();
    assert_eq!(params["client_id"], "roster-console");
    assert_eq!(params["code_challenge_method"], "S256");
    let form = b.get(&auth).await;
    assert!(form.body.contains("name=\"password\""), "{}", form.body);
    let done = sign_in_on(b, org, &form, email, password).await;
    assert_eq!(done.status, 303, "{}", done.body);
    let back = done.location().unwrap();
    let path = back
        .split_once("/console/")
        .map(|(_, rest)| format!("/console/{rest}"))
        .expect("back to the console");
    assert!(
        path.starts_with(&format!("/console/{org}/callback?")),
        "{path}"
    );
    b.get(&path).await
}

pub async fn signed_in(app: &TestApp, org: &str, email: &str) -> Browser {
    let mut b = Browser::new(app);
    let cb = console_sign_in(&mut b, org, email, PASSWORD).await;
    assert_eq!(cb.status, 303, "{}", cb.body);
    assert_eq!(cb.location().unwrap(), format!("/console/{org}/users"));
    b
}

/// The session's form token, read from a page.
pub fn csrf(page: &Page) -> String {
    page.hidden_fields()
        .into_iter()
        .find(|(k, _)| k == "csrf")
        .map(|(_, v)| v)
        .expect("a form with a csrf field")
}

pub fn fields(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

pub async fn audit(app: &TestApp, org: &Org, action: &str) -> Vec<Value> {
    // Signed in afresh: a test that moves the clock by hours outlives the organization's token.
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

/// Makes an invited member active with `PASSWORD` (as accepting the invitation would).
pub async fn activate_with_password(app: &TestApp, org: &str, user_id: &str) -> String {
    let store = &app.state.core.store;
    let mut u = store
        .get_user(&OrgId::from(org), &UserId::from(user_id))
        .await
        .unwrap()
        .unwrap();
    let hash = roster_domain::password::hash(PASSWORD).await.unwrap();
    store
        .set_password(
            &u.identity_id,
            &hash,
            false,
            roster_domain::types::session_stamp(),
            Default::default(),
        )
        .await
        .unwrap();
    let expected = u.updated_at;
    u.status = roster_domain::model::UserStatus::Active;
    u.updated_at = expected + 1;
    store
        .update_user(&u, expected, None, Default::default())
        .await
        .unwrap();
    u.email
}

#[tokio::test]
async fn signs_in_through_the_hosted_page_with_a_safe_cookie_and_lists_users() {
    let app = TestApp::spawn().await;
    let (org, email) = org_with_password(&app, "acme").await;
    let mut b = Browser::new(&app);
    let cb = console_sign_in(&mut b, &org.id, &email, PASSWORD).await;
    assert_eq!(cb.status, 303, "{}", cb.body);
    let cookie = cb
        .headers
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|c| c.starts_with("roster_console="))
        .expect("a session cookie");
    for part in ["HttpOnly", "SameSite=Lax", "Path=/console"] {
        assert!(cookie.contains(part), "{cookie}");
    }
    let https = app.state.core.config.public_url.starts_with("https://");
    assert_eq!(cookie.contains("; Secure"), https, "{cookie}");
    let users = b.get(&format!("/console/{}/users", org.id)).await;
    assert_eq!(users.status, 200, "{}", users.body);
    assert!(users.body.contains(&email));
    assert!(users.body.contains(">Users</a>"));
    assert!(users.body.contains("type=\"search\""));
    assert!(users.body.contains("<label for=\"q\">Search</label>"));
    // The uuid names the organization too; `/console` remembers the last one.
    let by_uuid = b.get(&format!("/console/{}", org.uuid)).await;
    assert_eq!(
        by_uuid.location().unwrap(),
        format!("/console/{}/users", org.id)
    );
    let choose = b.get("/console").await;
    assert_eq!(choose.status, 200);
    assert!(choose
        .body
        .contains(&format!("href=\"/console/{}\"", org.id)));
    let go = b.get(&format!("/console?org={}", org.uuid)).await;
    assert_eq!(go.location().unwrap(), format!("/console/{}", org.id));
    // The sign-in is audited on the console's channel.
    let started = audit(&app, &org, "user.console_session.started").await;
    assert_eq!(started.len(), 1);
    assert_eq!(started[0]["details"]["channel"], "console");
    // A code that is not this browser's flow starts nothing.
    let mut other = Browser::new(&app);
    let forged = other
        .get(&format!("/console/{}/callback?code=x&state=y", org.id))
        .await;
    assert_eq!(forged.status, 400);
    assert!(!other.cookies.contains_key("roster_console"));
}

#[tokio::test]
async fn forms_without_the_session_token_are_refused_and_change_nothing() {
    let app = TestApp::spawn().await;
    let (org, email) = org_with_password(&app, "acme").await;
    let mut b = signed_in(&app, &org.id, &email).await;
    let invite = b.get(&format!("/console/{}/invite", org.id)).await;
    assert_eq!(invite.status, 200);
    for label in ["Email", "First name", "Last name"] {
        assert!(
            invite.body.contains(&format!(">{label}</label>")),
            "{label}"
        );
    }
    let token = csrf(&invite);
    let before = app.count_users(&org.id).await;
    let path = format!("/console/{}/invite", org.id);
    let user = [
        ("email", "new@acme.example"),
        ("first_name", "New"),
        ("last_name", "Person"),
        ("role", "DefaultUserRole"),
    ];
    let missing = b.post(&path, &fields(&user)).await;
    assert_eq!(missing.status, 403, "{}", missing.body);
    let mut wrong = fields(&user);
    wrong.push(("csrf".into(), format!("{token}x")));
    assert_eq!(b.post(&path, &wrong).await.status, 403);
    // Another browser's session token is not this one's.
    let mut other = signed_in(&app, &org.id, &email).await;
    let their = csrf(&other.get(&format!("/console/{}/invite", org.id)).await);
    assert_ne!(their, token);
    let mut theirs = fields(&user);
    theirs.push(("csrf".into(), their));
    assert_eq!(b.post(&path, &theirs).await.status, 403);
    assert_eq!(app.count_users(&org.id).await, before);
    let mut good = fields(&user);
    good.push(("csrf".into(), token));
    let done = b.post(&path, &good).await;
    assert_eq!(done.status, 303, "{}", done.body);
    assert_eq!(app.count_users(&org.id).await, before + 1);
    let invited = audit(&app, &org, "user.invite").await;
    assert!(
        invited.iter().any(|e| e["details"]["channel"] == "console"),
        "{invited:?}"
    );
    // Bad input is a page naming the field, and writes nothing.
    let page = b.get(&format!("/console/{}/invite", org.id)).await;
    let bad = fields(&[
        ("csrf", &csrf(&page)),
        ("email", "not-an-address"),
        ("first_name", "A"),
        ("last_name", "B"),
        ("role", "DefaultUserRole"),
    ]);
    let refused = b.post(&path, &bad).await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert!(refused.body.contains("email"));
    assert_eq!(app.count_users(&org.id).await, before + 1);
    drop(other.get("/console").await);
}

#[tokio::test]
async fn a_user_named_script_shows_as_text() {
    let app = TestApp::spawn().await;
    let (org, email) = org_with_password(&app, "acme").await;
    let id = app
        .invite(
            &org,
            "x@acme.example",
            "<script>alert(1)</script>",
            "\"><img src=x>",
            "DefaultUserRole",
        )
        .await;
    let mut b = signed_in(&app, &org.id, &email).await;
    for path in [
        format!("/console/{}/users", org.id),
        format!("/console/{}/users/{id}", org.id),
        format!("/console/{}/users?q=%3Cscript", org.id),
    ] {
        let page = b.get(&path).await;
        assert_eq!(page.status, 200, "{path}: {}", page.body);
        assert!(
            page.body.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
            "{path}"
        );
        assert!(!page.body.contains("<script>alert"), "{path}");
        assert!(!page.body.contains("<img src=x>"), "{path}");
    }
}

#[tokio::test]
async fn a_member_who_is_not_an_administrator_sees_no_access() {
    let app = TestApp::spawn().await;
    let (org, _) = org_with_password(&app, "acme").await;
    let id = app
        .invite(
            &org,
            "member@acme.example",
            "Mo",
            "Member",
            "DefaultUserRole",
        )
        .await;
    let email = activate_with_password(&app, &org.id, &id).await;
    let mut b = signed_in(&app, &org.id, &email).await;
    for page in [
        "users",
        "roles",
        "keys",
        "audit",
        "invite",
        &format!("users/{}", org.admin_id),
    ] {
        let p = b.get(&format!("/console/{}/{page}", org.id)).await;
        assert_eq!(p.status, 403, "{page}: {}", p.body);
        assert!(p.body.contains("No access"), "{page}");
        assert!(!p.body.contains("admin@acme.example"), "{page}");
    }
}

/// Every console route (from the server's own route table) with the organization and a user
/// of it filled in.
/// What the route list names a role and a job by: ids of no role and no job (every check of
/// another organization's caller comes before the lookup).
const ROLE_PLACEHOLDER: &str = "000000000000000000000000";
const JOB_PLACEHOLDER: &str = "00000000-0000-7000-8000-000000000000";

fn console_routes(org: &str, user: &str, key: &str) -> Vec<(reqwest::Method, String)> {
    let registered = roster_server::routes::build(1024).2;
    let mut out = Vec::new();
    for r in registered.iter().filter(|r| r.surface == "console") {
        if !r.path.contains("{org}") {
            continue;
        }
        let path = r
            .path
            .replace("{org}", org)
            .replace("{user}", user)
            .replace("{key}", key)
            .replace("{role}", ROLE_PLACEHOLDER)
            .replace("{job}", JOB_PLACEHOLDER)
            .replace("{action}", "delete");
        out.push((r.method.clone(), path));
    }
    out
}

#[tokio::test]
async fn another_organizations_administrator_reaches_nothing_through_any_console_route() {
    let app = TestApp::spawn().await;
    let (acme, _) = org_with_password(&app, "acme").await;
    let (other, other_email) = org_with_password(&app, "globex").await;
    let victim = app
        .invite(
            &acme,
            "victim@acme.example",
            "Vic",
            "Tim",
            "DefaultUserRole",
        )
        .await;
    let mut b = signed_in(&app, &other.id, &other_email).await;
    let token = csrf(&b.get(&format!("/console/{}/users", other.id)).await);
    let users_before = app.count_users(&acme.id).await;
    let routes = console_routes(&acme.id, &victim, &acme.key_id);
    assert!(routes.len() >= 14, "{routes:?}");
    for (method, path) in &routes {
        let page = if *method == reqwest::Method::POST {
            let f = fields(&[
                ("csrf", &token),
                ("email", "planted@acme.example"),
                ("first_name", "P"),
                ("last_name", "L"),
                ("role", "DefaultSuperAdministratorRole"),
                ("days", "1"),
            ]);
            b.post(path, &f).await
        } else {
            b.get(path).await
        };
        if path.ends_with("/signin") {
            // Starts a sign-in at acme's own page: nothing of acme is shown.
            assert_eq!(page.status, 303, "{path}");
            continue;
        }
        if path.ends_with("/callback") {
            assert_eq!(page.status, 400, "{path}");
            continue;
        }
        assert_eq!(page.status, 403, "{method} {path}: {}", page.body);
        assert!(!page.body.contains("victim@acme.example"), "{path}");
        assert!(!page.body.contains("admin@acme.example"), "{path}");
    }
    assert_eq!(app.count_users(&acme.id).await, users_before);
    let keys = app
        .state
        .core
        .store
        .list_api_keys(&OrgId::from(&acme.id))
        .await
        .unwrap();
    assert_eq!(keys.len(), 1, "no key was made or deleted");
    // The session of globex still works at globex.
    assert_eq!(
        b.get(&format!("/console/{}/users", other.id)).await.status,
        200
    );
}

#[tokio::test]
async fn sessions_end_when_idle_too_long_and_after_twelve_hours() {
    let app = TestApp::spawn().await;
    let (org, email) = org_with_password(&app, "acme").await;
    let users = format!("/console/{}/users", org.id);
    // Both sign in now (an authorization code lives 60 s of the provider's own clock).
    let mut idle = signed_in(&app, &org.id, &email).await;
    let mut busy = signed_in(&app, &org.id, &email).await;
    app.advance(Duration::from_secs(29 * 60));
    assert_eq!(idle.get(&users).await.status, 200);
    assert_eq!(busy.get(&users).await.status, 200);
    app.advance(Duration::from_secs(29 * 60));
    assert_eq!(
        idle.get(&users).await.status,
        200,
        "a request keeps the session"
    );
    assert_eq!(busy.get(&users).await.status, 200);
    // 58 minutes in: `idle` rests from here; `busy` comes back every 25 minutes.
    for step in 1..=26 {
        app.advance(Duration::from_secs(25 * 60));
        assert_eq!(busy.get(&users).await.status, 200, "step {step}");
        if step == 2 {
            let gone = idle.get(&users).await;
            assert_eq!(gone.status, 303, "idle for 50 minutes");
            assert_eq!(
                gone.location().unwrap(),
                format!("/console/{}/signin", org.id)
            );
        }
    }
    // 58 + 26 × 25 = 708 minutes; 25 more is past 12 hours.
    app.advance(Duration::from_secs(25 * 60));
    assert_eq!(busy.get(&users).await.status, 303, "12 hours at most");
    let expired = audit(&app, &org, "user.console_session.expired").await;
    assert_eq!(expired.len(), 2, "{expired:?}");
}

#[tokio::test]
async fn signing_out_here_and_everywhere() {
    let app = TestApp::spawn().await;
    let (org, email) = org_with_password(&app, "acme").await;
    let users = format!("/console/{}/users", org.id);
    let mut one = signed_in(&app, &org.id, &email).await;
    let mut two = signed_in(&app, &org.id, &email).await;
    let mut three = signed_in(&app, &org.id, &email).await;
    let t = csrf(&one.get(&users).await);
    let out = one
        .post(
            &format!("/console/{}/signout", org.id),
            &fields(&[("csrf", &t)]),
        )
        .await;
    assert_eq!(out.status, 200, "{}", out.body);
    assert!(!one.cookies.contains_key("roster_console"));
    assert_eq!(two.get(&users).await.status, 200);
    let t = csrf(&two.get(&users).await);
    let everywhere = two
        .post(
            &format!("/console/{}/signout-everywhere", org.id),
            &fields(&[("csrf", &t)]),
        )
        .await;
    assert_eq!(everywhere.status, 200);
    assert_eq!(three.get(&users).await.status, 303);
    // Ending a member's sessions ends their console sessions too.
    let mut four = signed_in(&app, &org.id, &email).await;
    let page = four.get(&users).await;
    let t = csrf(&page);
    let end = four
        .post(
            &format!("/console/{}/users/{}/end-sessions", org.id, org.admin_id),
            &fields(&[("csrf", &t)]),
        )
        .await;
    assert_eq!(end.status, 303, "{}", end.body);
    assert_eq!(four.get(&users).await.status, 303);
}

#[tokio::test]
async fn every_page_has_a_strict_policy_and_no_referrer() {
    let app = TestApp::spawn().await;
    let (org, email) = org_with_password(&app, "acme").await;
    let mut b = signed_in(&app, &org.id, &email).await;
    // A real role and a real (finished) import job, for the pages that show one.
    let roles = app
        .state
        .core
        .store
        .list_roles(&OrgId::from(&org.id))
        .await
        .unwrap();
    let role = roles[0].id.clone();
    let job: Value = app
        .client
        .post(format!("{}/admin/v1/orgs/{}/jobs/import", app.base, org.id))
        .bearer_auth(&org.token)
        .header("content-type", "text/csv")
        .body("email;name;company;role;password;environmentUuid;environmentName;bot\nbad;Bad;;ADMIN;;;;\n")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let job = job["id"].as_str().expect("a job").to_owned();
    let mut paths = vec!["/console".to_owned()];
    for (method, path) in console_routes(&org.id, &org.admin_id, &org.key_id) {
        if method == reqwest::Method::GET
            && !path.ends_with("/signin")
            && !path.ends_with("/callback")
        {
            paths.push(
                path.replace(ROLE_PLACEHOLDER, &role)
                    .replace(JOB_PLACEHOLDER, &job),
            );
        }
    }
    for path in &paths {
        let page = b.get(path).await;
        // The platform page is for the platform's administrators: this one gets its 403 page.
        let refused = path.ends_with("/platform") && page.status == 403;
        assert!(page.status < 400 || refused, "{path}: {}", page.status);
        let csp = page.headers[CONTENT_SECURITY_POLICY].to_str().unwrap();
        assert!(csp.contains("frame-ancestors 'none'"), "{path}");
        assert!(csp.contains("script-src 'self'"), "{path}");
        assert!(!csp.contains("unsafe"), "{path}");
        assert_eq!(page.headers[REFERRER_POLICY], "no-referrer", "{path}");
        assert!(!page.body.contains("<script>"), "{path}: an inline script");
        assert!(!page.body.contains(" style="), "{path}: an inline style");
    }
    // The assets: from the binary, long-cached, with their types.
    let users = b.get(&format!("/console/{}/users", org.id)).await;
    let htmx = users
        .body
        .split("src=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap()
        .to_owned();
    assert!(htmx.starts_with("/console/assets/htmx.min-"), "{htmx}");
    let js = b.get(&htmx).await;
    assert_eq!(js.status, 200);
    assert_eq!(js.headers["content-type"], "text/javascript; charset=utf-8");
    assert!(js.headers["cache-control"]
        .to_str()
        .unwrap()
        .contains("max-age=31536000"));
    assert_eq!(b.get("/console/assets/nope.js").await.status, 404);
}

#[tokio::test]
async fn users_are_searched_sorted_filtered_and_paged_by_keyset() {
    let app = TestApp::spawn().await;
    let (org, email) = org_with_password(&app, "acme").await;
    for i in 0..60 {
        app.invite(
            &org,
            &format!("p{i:02}@acme.example"),
            &format!("Person{i:02}"),
            "Zed",
            "DefaultUserRole",
        )
        .await;
    }
    app.invite(
        &org,
        "needle@acme.example",
        "Nina",
        "Needle",
        "DefaultUserRole",
    )
    .await;
    let mut b = signed_in(&app, &org.id, &email).await;
    let base = format!("/console/{}/users", org.id);
    let found = b.get(&format!("{base}?q=needl")).await;
    assert_eq!(found.status, 200);
    assert!(found.body.contains("needle@acme.example"));
    assert!(!found.body.contains("p01@acme.example"));
    // Sorted by email, descending: the last address first.
    let sorted = b.get(&format!("{base}?sort=-email")).await;
    let first_p59 = sorted.body.find("p59@acme.example").unwrap();
    let first_p00 = sorted.body.find("p10@acme.example").unwrap();
    assert!(first_p59 < first_p00);
    assert!(
        sorted.body.contains("62 users in all"),
        "a counter gives the total"
    );
    // Next page by keyset, then the last page.
    let next = sorted
        .body
        .split("rel=\"next\"")
        .next()
        .and_then(|s| s.rsplit("href=\"").next())
        .map(|s| s.split('"').next().unwrap().replace("&amp;", "&"))
        .unwrap();
    assert!(next.contains("after="), "{next}");
    let page2 = b.get(&next).await;
    assert!(
        page2.body.contains("admin@acme.example"),
        "the 51st..63rd by -email"
    );
    assert!(!page2.body.contains("rel=\"next\""));
    let last = b.get(&format!("{base}?sort=-email&last=1")).await;
    assert!(last.body.contains("admin@acme.example"));
    // Filters: invited members only, one role only.
    let invited = b.get(&format!("{base}?status=invited&q=acme")).await;
    assert!(!invited.body.contains("admin@acme.example"));
    let admins = b
        .get(&format!("{base}?role=DefaultAdministratorRole"))
        .await;
    assert!(
        admins.body.contains("admin@acme.example"),
        "{}",
        admins.body
    );
    assert!(!admins.body.contains("p01@acme.example"));
    // A bad filter names its field.
    let bad = b.get(&format!("{base}?sort=password")).await;
    assert_eq!(bad.status, 422);
    assert!(bad.body.contains("sort"));
    // The export holds every filtered row, streamed.
    let csv = b.get(&format!("/console/{}/users.csv?q=zed", org.id)).await;
    assert_eq!(csv.status, 200);
    assert_eq!(csv.body.lines().count(), 61, "a header and 60 people");
}

#[tokio::test]
async fn roles_change_within_the_rank_rule_and_a_refusal_explains_it() {
    let app = TestApp::spawn().await;
    // The first administrator holds DefaultAdministratorRole, which does not outrank the
    // super-administrator role.
    let (org, email) = org_with_password(&app, "acme").await;
    let member = app
        .invite(&org, "m@acme.example", "M", "Ember", "DefaultUserRole")
        .await;
    let mut b = signed_in(&app, &org.id, &email).await;
    let page = b.get(&format!("/console/{}/users/{member}", org.id)).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let t = csrf(&page);
    let role = format!("/console/{}/users/{member}/role", org.id);
    let refused = b
        .post(
            &role,
            &fields(&[("csrf", &t), ("role", "DefaultSuperAdministratorRole")]),
        )
        .await;
    assert_eq!(refused.status, 403, "{}", refused.body);
    assert!(refused.body.contains("outrank"));
    assert!(refused
        .body
        .contains("a role with every permission of the other and more"));
    // Edit, then delete: the soft-delete reasons are shown when records are kept.
    let edit = b
        .post(
            &format!("/console/{}/users/{member}/edit", org.id),
            &fields(&[
                ("csrf", &t),
                ("first_name", "Mia"),
                ("last_name", "Ember"),
                ("timezone", "Europe/Lisbon"),
                ("preferred_language", ""),
            ]),
        )
        .await;
    assert_eq!(edit.status, 303, "{}", edit.body);
    let shown = b.get(&format!("/console/{}/users/{member}", org.id)).await;
    assert!(shown.body.contains("value=\"Mia\""));
    assert!(shown.body.contains("user.update"), "the user's audit trail");
    app.set_stats(&org.id, &member, 2, 5, None).await;
    let deleted = b
        .post(
            &format!("/console/{}/users/{member}/delete", org.id),
            &fields(&[("csrf", &t)]),
        )
        .await;
    assert_eq!(deleted.status, 200, "{}", deleted.body);
    assert!(deleted.body.contains("conversation history"));
}

#[tokio::test]
async fn a_csv_upload_applies_the_good_rows_and_lists_the_bad_ones() {
    let app = TestApp::spawn().await;
    let (org, email) = org_with_password(&app, "acme").await;
    let mut b = signed_in(&app, &org.id, &email).await;
    let page = b.get(&format!("/console/{}/bulk", org.id)).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains(">CSV file</label>"));
    let token = csrf(&page);
    let csv = "email;name;company;role;password;environmentUuid;environmentName;bot\n\
               good@acme.example;Good Row;;ADMIN;;;;\n\
               not-an-email;Bad Row;;VIEWER;;;;\n\
               short@acme.example;Only Two\n";
    let cookies = b
        .cookies
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("; ");
    let no_redirect = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let upload = |token: String| {
        let form = reqwest::multipart::Form::new().text("csrf", token).part(
            "file",
            reqwest::multipart::Part::bytes(csv.as_bytes().to_vec()).file_name("u.csv"),
        );
        no_redirect
            .post(format!("{}/console/{}/bulk", app.base, org.id))
            .header("cookie", cookies.clone())
            .multipart(form)
            .send()
    };
    let before = app.count_users(&org.id).await;
    let forged = upload("wrong".into()).await.unwrap();
    assert_eq!(forged.status(), 403);
    assert_eq!(app.count_users(&org.id).await, before);
    // The upload becomes an import job; its page shows the outcome when it ends.
    let started = upload(token).await.unwrap();
    assert_eq!(started.status(), 303);
    let job = started.headers()["location"].to_str().unwrap().to_owned();
    let mut body = String::new();
    for _ in 0..300 {
        body = b.get(&job).await.body;
        if !body.contains(">Running</dd>") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(body.contains("1 rows applied, 2 rows rejected"), "{body}");
    assert!(body.contains("not-an-email"), "{body}");
    assert!(body.contains("download=\"errors.csv\""));
    assert_eq!(app.count_users(&org.id).await, before + 1);
}

/// A platform administrator in another organization's console: resending an invitation and
/// sending a password reset act in the organization of the page, never in the platform's own
/// (where an invitation with the page's role names would make an administrator of it).
#[tokio::test]
async fn a_platform_administrators_actions_land_in_the_organization_of_the_page() {
    let app = TestApp::spawn().await;
    let platform = crate::amigo_orgs::platform(&app).await;
    let email = app.give_admin_password(&platform, PASSWORD).await;
    let (org, _) = org_with_password(&app, "acme").await;
    let invited = app
        .invite(
            &org,
            "newcomer@evil.example",
            "New",
            "Comer",
            "DefaultUserRole",
        )
        .await;
    let member = app
        .invite(&org, "member@acme.example", "Mem", "Ber", "DefaultUserRole")
        .await;
    activate_with_password(&app, &org.id, &member).await;
    let mut b = signed_in(&app, &platform.id, &email).await;
    let (in_platform, in_org) = (
        app.count_users(&platform.id).await,
        app.count_users(&org.id).await,
    );
    for (user, action) in [(&invited, "resend"), (&member, "reset-password")] {
        let page = b.get(&format!("/console/{}/users/{user}", org.id)).await;
        assert_eq!(page.status, 200, "{}", page.body);
        let form = fields(&[("csrf", &csrf(&page))]);
        let done = b
            .post(&format!("/console/{}/users/{user}/{action}", org.id), &form)
            .await;
        assert_eq!(done.status, 303, "{action}: {}", done.body);
    }
    assert_eq!(app.count_users(&platform.id).await, in_platform);
    assert_eq!(app.count_users(&org.id).await, in_org);
    let resent = audit(&app, &org, "user.invite").await;
    assert!(
        resent.iter().any(|e| e["details"]["channel"] == "console"),
        "{resent:?}"
    );
    let reset = audit(&app, &org, "user.password_reset_requested").await;
    assert!(
        !reset.is_empty(),
        "the reset is the organization's: {reset:?}"
    );
}
