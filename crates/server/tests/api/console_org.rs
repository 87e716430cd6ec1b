//! The console's organization pages (settings, connections, OIDC clients, SCIM tokens,
//! webhook endpoints), the platform page and the viewer's time zone, over real HTTP: each page
//! and form, secrets shown once, CSRF refused on every new form, bad input named, escaping,
//! a non-platform administrator refused on the platform page, another organization's
//! administrator refused on every new route, and dates following the time-zone cookie.

use roster_domain::core::{Context, NewOrgInput};
use roster_domain::types::OrgId;
use serde_json::{json, Value};

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

/// The one audited `action` came through the console.
async fn audited_from_console(app: &TestApp, org: &Org, action: &str) {
    let events = audit(app, org, action).await;
    assert_eq!(events.len(), 1, "{action}: {events:?}");
    assert_eq!(events[0]["details"]["channel"], "console", "{events:?}");
}

/// A 422 page naming `field`.
pub fn names_field(page: &Page, field: &str) {
    assert_eq!(page.status, 422, "{}", page.body);
    assert!(
        page.body.contains(&format!("<strong>{field}</strong>")),
        "{field}: {}",
        page.body
    );
}

/// The secret shown once on a page.
fn secret(page: &Page) -> String {
    let (_, rest) = page
        .body
        .split_once("id=\"secret\"")
        .expect("a secret on the page");
    let (_, rest) = rest.split_once('>').unwrap();
    rest.split('<').next().unwrap().to_owned()
}

#[tokio::test]
async fn organization_settings_change_through_the_core() {
    let app = TestApp::spawn().await;
    let (org, email) = org_with_password(&app, "acme").await;
    let mut b = signed_in(&app, &org.id, &email).await;
    let path = format!("/console/{}/organization", org.id);
    let page = b.get(&path).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("acme Inc."), "{}", page.body);
    let t = csrf(&page);
    for (f, field) in [
        (
            fields(&[
                ("csrf", &t),
                ("name", " "),
                ("language", ""),
                ("timezone", ""),
            ]),
            "name",
        ),
        (
            fields(&[
                ("csrf", &t),
                ("name", "X"),
                ("language", ""),
                ("timezone", "Mars/Base"),
            ]),
            "default_user_preferences.timezone",
        ),
        (
            fields(&[
                ("csrf", &t),
                ("name", "X"),
                ("language", "zz"),
                ("timezone", ""),
            ]),
            "default_user_preferences.preferred_language",
        ),
    ] {
        names_field(&b.post(&path, &f).await, field);
    }
    assert_eq!(
        app.state.core.find_org("acme").await.unwrap().name,
        "acme Inc.",
        "a refused form wrote nothing"
    );
    let saved = b
        .post(
            &path,
            &fields(&[
                ("csrf", &t),
                ("name", "Acme <b>Renamed</b>"),
                ("language", "spa"),
                ("timezone", "Asia/Tokyo"),
            ]),
        )
        .await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    let o = app.state.core.find_org("acme").await.unwrap();
    assert_eq!(o.name, "Acme <b>Renamed</b>");
    assert_eq!(
        o.default_preferences.preferred_language.as_deref(),
        Some("spa")
    );
    assert_eq!(
        o.default_preferences.timezone.as_deref(),
        Some("Asia/Tokyo")
    );
    let page = b.get(&format!("{path}?lang=en")).await;
    assert!(
        page.body.contains("Acme &lt;b&gt;Renamed&lt;/b&gt;"),
        "{}",
        page.body
    );
    assert!(!page.body.contains("<b>Renamed"), "escaped");
    audited_from_console(&app, &org, "organization.modify").await;
}

#[tokio::test]
async fn connections_clients_scim_tokens_and_webhooks_each_secret_shown_once() {
    let app = TestApp::spawn().await;
    let (org, email) = org_with_password(&app, "acme").await;
    let mut b = signed_in(&app, &org.id, &email).await;
    let base = format!("/console/{}/organization", org.id);
    let store = &app.state.core.store;

    // Connections: the client secret is never shown.
    let conns = format!("{base}/connections");
    let t = csrf(&b.get(&conns).await);
    let conn = |issuer: &str, domains: &str| {
        fields(&[
            ("csrf", &t),
            ("name", "corp"),
            ("issuer", issuer),
            ("client_id", "corp-client"),
            ("client_secret", "upstream-secret-value"),
            ("domains", domains),
            ("link_password_accounts", "1"),
        ])
    };
    names_field(
        &b.post(&conns, &conn("ftp://idp.example.com", "corp.example.com"))
            .await,
        "issuer",
    );
    names_field(
        &b.post(&conns, &conn("https://idp.example.com", "not a domain"))
            .await,
        "domains.0",
    );
    let made = b
        .post(&conns, &conn("https://idp.example.com", "corp.example.com"))
        .await;
    assert_eq!(made.status, 303, "{}", made.body);
    let page = b.get(&conns).await;
    assert!(page.body.contains("corp.example.com") && page.body.contains("corp-client"));
    assert!(!page.body.contains("upstream-secret-value"));
    audited_from_console(&app, &org, "connection.created").await;
    let gone = b
        .post(&format!("{conns}/corp/delete"), &fields(&[("csrf", &t)]))
        .await;
    assert_eq!(gone.status, 303, "{}", gone.body);
    assert!(b.get(&conns).await.body.contains("None yet."));

    // OIDC clients: a confidential client's secret once.
    let clients = format!("{base}/clients");
    names_field(
        &b.post(
            &clients,
            &fields(&[("csrf", &t), ("name", "App"), ("redirect_uris", "")]),
        )
        .await,
        "redirect_uris",
    );
    let made = b
        .post(
            &clients,
            &fields(&[
                ("csrf", &t),
                ("name", "<script>alert(1)</script>"),
                (
                    "redirect_uris",
                    "https://app.example.com/cb\nhttps://app.example.com/cb2",
                ),
            ]),
        )
        .await;
    assert_eq!(made.status, 200, "{}", made.body);
    let client_secret = secret(&made);
    assert!(client_secret.len() >= 20, "{client_secret}");
    assert!(made.body.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(!made.body.contains("<script>alert"));
    let listed = store
        .list_oidc_clients(&OrgId::from(&org.id))
        .await
        .unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].redirect_uris.len(), 2);
    let page = b.get(&clients).await;
    assert!(page.body.contains(&listed[0].client_id));
    assert!(!page.body.contains(&client_secret), "shown once");
    audited_from_console(&app, &org, "oidc_client.created").await;
    let gone = b
        .post(
            &format!("{clients}/{}/delete", listed[0].client_id),
            &fields(&[("csrf", &t)]),
        )
        .await;
    assert_eq!(gone.status, 303, "{}", gone.body);
    assert!(store
        .list_oidc_clients(&OrgId::from(&org.id))
        .await
        .unwrap()
        .is_empty());

    // SCIM tokens: the token once, and it works.
    let scim = format!("{base}/scim-tokens");
    names_field(
        &b.post(
            &scim,
            &fields(&[("csrf", &t), ("name", " "), ("role", "DefaultUserRole")]),
        )
        .await,
        "name",
    );
    let made = b
        .post(
            &scim,
            &fields(&[
                ("csrf", &t),
                ("name", "okta"),
                ("role", "DefaultAdministratorRole"),
            ]),
        )
        .await;
    assert_eq!(made.status, 200, "{}", made.body);
    let token = secret(&made);
    let users = reqwest::Client::new()
        .get(format!("{}/scim/v2/{}/Users", app.base, org.id))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(users.status(), 200, "the token shown works");
    let page = b.get(&scim).await;
    assert!(
        page.body.contains("okta") && !page.body.contains(&token),
        "shown once"
    );
    audited_from_console(&app, &org, "directory_token.create").await;
    let (id, _) = app
        .state
        .core
        .list_directory_tokens(&Context::system(), &org.id)
        .await
        .unwrap()
        .remove(0);
    let gone = b
        .post(
            &format!("{scim}/{}/revoke", id.id),
            &fields(&[("csrf", &t)]),
        )
        .await;
    assert_eq!(gone.status, 303, "{}", gone.body);
    let refused = reqwest::Client::new()
        .get(format!("{}/scim/v2/{}/Users", app.base, org.id))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401, "revoked");

    // Webhook endpoints: the signing secret once.
    let hooks = format!("{base}/webhooks");
    let hook = |url: &str| {
        fields(&[
            ("csrf", &t),
            ("url", url),
            ("description", "<img src=x onerror=alert(1)>"),
            ("types", ""),
        ])
    };
    names_field(&b.post(&hooks, &hook("not a url")).await, "url");
    let made = b
        .post(&hooks, &hook("https://hooks.example.com/roster"))
        .await;
    assert_eq!(made.status, 200, "{}", made.body);
    let signing = secret(&made);
    let kept = store.list_webhooks(&OrgId::from(&org.id)).await.unwrap();
    assert_eq!(kept.len(), 1);
    assert_eq!(
        kept[0].secret, signing,
        "the secret shown is the one that signs"
    );
    assert!(made.body.contains("&lt;img src=x"), "{}", made.body);
    let page = b.get(&hooks).await;
    assert!(page.body.contains("hooks.example.com") && !page.body.contains(&signing));
    audited_from_console(&app, &org, "webhook.create").await;
    let gone = b
        .post(
            &format!("{hooks}/{}/delete", kept[0].id),
            &fields(&[("csrf", &t)]),
        )
        .await;
    assert_eq!(gone.status, 303, "{}", gone.body);
    assert!(store
        .list_webhooks(&OrgId::from(&org.id))
        .await
        .unwrap()
        .is_empty());
    audited_from_console(&app, &org, "webhook.delete").await;
}

/// Every new form, with a body that would change something.
fn new_forms(org: &str) -> Vec<(String, Vec<(&'static str, &'static str)>)> {
    let base = format!("/console/{org}/organization");
    vec![
        (
            base.clone(),
            vec![
                ("name", "Planted"),
                ("language", "eng"),
                ("timezone", "UTC"),
            ],
        ),
        (
            format!("{base}/connections"),
            vec![
                ("name", "planted"),
                ("issuer", "https://idp.example.com"),
                ("client_id", "c"),
                ("client_secret", "s"),
                ("domains", "planted.example.com"),
            ],
        ),
        (format!("{base}/connections/corp/delete"), vec![]),
        (
            format!("{base}/clients"),
            vec![("name", "P"), ("redirect_uris", "https://p.example.com/cb")],
        ),
        (format!("{base}/scim-tokens"), vec![("name", "planted")]),
        (
            format!("{base}/webhooks"),
            vec![("url", "https://planted.example.com/")],
        ),
        (
            format!("/console/{org}/platform"),
            vec![("id", "planted"), ("name", "Planted")],
        ),
        (
            format!("/console/{org}/timezone"),
            vec![("timezone", "Asia/Tokyo")],
        ),
    ]
}

#[tokio::test]
async fn every_new_form_refuses_a_missing_or_wrong_csrf_token() {
    let app = TestApp::spawn().await;
    let (org, email) = org_with_password(&app, "acme").await;
    let mut b = signed_in(&app, &org.id, &email).await;
    let mut other = signed_in(&app, &org.id, &email).await;
    let others = csrf(&other.get(&format!("/console/{}/users", org.id)).await);
    for (path, body) in new_forms(&org.id) {
        for token in [None, Some("wrong"), Some(others.as_str())] {
            let mut f = fields(&body);
            if let Some(t) = token {
                f.push(("csrf".into(), t.into()));
            }
            let page = b.post(&path, &f).await;
            assert_eq!(page.status, 403, "{path} {token:?}: {}", page.body);
            assert!(page.headers.get("set-cookie").is_none(), "{path}");
        }
    }
    let o = app.state.core.find_org("acme").await.unwrap();
    assert_eq!(o.name, "acme Inc.");
    let store = &app.state.core.store;
    assert!(store
        .list_oidc_clients(&OrgId::from(&org.id))
        .await
        .unwrap()
        .is_empty());
    assert!(store
        .list_webhooks(&OrgId::from(&org.id))
        .await
        .unwrap()
        .is_empty());
    assert!(app.state.core.find_org("planted").await.is_err());
    let none = app
        .state
        .core
        .list_directory_tokens(&Context::system(), &org.id)
        .await
        .unwrap();
    assert!(none.is_empty());
}

async fn make_org(app: &TestApp, id: &str) {
    let input = NewOrgInput {
        id: id.into(),
        name: format!("{id} Ltd."),
        default_preferences: Default::default(),
        user_dimensions: json!([]),
        branding: json!({}),
        is_platform: false,
        cluster: None,
    };
    app.state
        .core
        .create_organization(&Context::system(), input)
        .await
        .unwrap();
}

#[tokio::test]
async fn the_platform_page_pages_every_organization_and_creates_one() {
    let app = TestApp::spawn().await;
    let platform = crate::amigo_orgs::platform(&app).await;
    let p_email = app.give_admin_password(&platform, PASSWORD).await;
    let (acme, acme_email) = org_with_password(&app, "acme").await;
    for i in 0..55 {
        make_org(&app, &format!("org-{i:02}")).await;
    }
    let mut b = signed_in(&app, &platform.id, &p_email).await;
    let path = format!("/console/{}/platform", platform.id);
    let first = b.get(&path).await;
    assert_eq!(first.status, 200, "{}", first.body);
    assert!(first.body.contains("acme Inc.") && first.body.contains("org-00 Ltd."));
    assert!(first.body.contains("href=\"/console/acme/users\""));
    let next = first
        .body
        .split("href=\"")
        .find(|s| s.contains("?after="))
        .map(|s| s.split('"').next().unwrap().replace("&amp;", "&"))
        .expect("a next page");
    let second = b.get(&next).await;
    assert_eq!(second.status, 200);
    let rows = |p: &Page| p.body.matches("Open its console</a>").count();
    assert_eq!(rows(&first), 50);
    // acme, 55 orgs, the platform organization itself: 57 in all.
    assert_eq!(rows(&second), 7, "{}", second.body);
    assert!(!second.body.contains("rel=\"next\""));
    // Switch into acme's console with the platform session.
    assert_eq!(b.get("/console/acme/users").await.status, 200);

    let t = csrf(&first);
    names_field(
        &b.post(
            &path,
            &fields(&[("csrf", &t), ("id", "Bad Id!"), ("name", "X")]),
        )
        .await,
        "id",
    );
    names_field(
        &b.post(
            &path,
            &fields(&[("csrf", &t), ("id", "newco"), ("name", " ")]),
        )
        .await,
        "name",
    );
    assert!(app.state.core.find_org("newco").await.is_err());
    let made = b
        .post(
            &path,
            &fields(&[("csrf", &t), ("id", "newco"), ("name", "New <Co>")]),
        )
        .await;
    assert_eq!(made.status, 200, "{}", made.body);
    assert!(made.body.contains("New &lt;Co&gt;"));
    assert_eq!(
        app.state.core.find_org("newco").await.unwrap().name,
        "New <Co>"
    );
    let again = b
        .post(
            &path,
            &fields(&[("csrf", &t), ("id", "newco"), ("name", "Twice")]),
        )
        .await;
    assert_eq!(again.status, 409, "{}", again.body);

    // An organization's administrator is not a platform administrator.
    let mut a = signed_in(&app, &acme.id, &acme_email).await;
    let mine = format!("/console/{}/platform", acme.id);
    let refused = a.get(&mine).await;
    assert_eq!(refused.status, 403, "{}", refused.body);
    assert!(!refused.body.contains("org-00"));
    let at = csrf(&a.get(&format!("/console/{}/users", acme.id)).await);
    let refused = a
        .post(
            &mine,
            &fields(&[("csrf", &at), ("id", "sneaky"), ("name", "S")]),
        )
        .await;
    assert_eq!(refused.status, 403, "{}", refused.body);
    assert!(app.state.core.find_org("sneaky").await.is_err());
}

#[tokio::test]
async fn another_organizations_administrator_is_refused_on_every_new_route() {
    let app = TestApp::spawn().await;
    let (acme, _) = org_with_password(&app, "acme").await;
    let (other, other_email) = org_with_password(&app, "globex").await;
    let core = &app.state.core;
    let sys = Context::system();
    let client = core
        .create_oidc_client(
            &sys,
            &acme.id,
            roster_domain::core::OidcClientInput {
                name: Some("Victim app".into()),
                redirect_uris: Some(vec!["https://victim.example.com/cb".into()]),
                public: true,
            },
        )
        .await
        .unwrap();
    let hook = core
        .create_webhook(
            &sys,
            &acme.id,
            roster_domain::core::WebhookInput {
                url: Some("https://victim.example.com/hook".into()),
                types: None,
                enabled: None,
                description: None,
            },
        )
        .await
        .unwrap();
    let mut b = signed_in(&app, &other.id, &other_email).await;
    let token = csrf(&b.get(&format!("/console/{}/users", other.id)).await);
    let registered = roster_server::routes::build(1024).2;
    let mut n = 0;
    for r in registered.iter().filter(|r| {
        r.surface == "console"
            && ["/organization", "/platform", "/timezone"]
                .iter()
                .any(|p| r.path.contains(p))
    }) {
        let path = r
            .path
            .replace("{org}", &acme.id)
            .replace("{name}", "corp")
            .replace("{client}", &client.client.client_id)
            .replace("{token}", "t")
            .replace("{webhook}", &hook.id);
        let page = if r.method == reqwest::Method::POST {
            let f = fields(&[
                ("csrf", &token),
                ("name", "Planted"),
                ("id", "planted"),
                ("url", "https://planted.example.com/"),
                ("timezone", "UTC"),
            ]);
            b.post(&path, &f).await
        } else {
            b.get(&path).await
        };
        assert_eq!(page.status, 403, "{} {path}: {}", r.method, page.body);
        assert!(!page.body.contains("victim.example.com"), "{path}");
        n += 1;
    }
    assert!(n >= 16, "{n} routes");
    assert_eq!(core.find_org("acme").await.unwrap().name, "acme Inc.");
    assert_eq!(
        core.store
            .list_oidc_clients(&OrgId::from(&acme.id))
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        core.store
            .list_webhooks(&OrgId::from(&acme.id))
            .await
            .unwrap()
            .len(),
        1
    );
    assert!(core.find_org("planted").await.is_err());
}

#[tokio::test]
async fn dates_follow_the_viewers_time_zone_cookie() {
    let app = TestApp::spawn().await;
    let (org, email) = org_with_password(&app, "acme").await;
    let mut b = signed_in(&app, &org.id, &email).await;
    let keys = format!("/console/{}/keys", org.id);
    let tz = format!("/console/{}/timezone", org.id);
    let page = b.get(&keys).await;
    assert!(page.body.contains(" UTC</td>"), "{}", page.body);
    assert!(!page.body.contains(" JST</td>"));
    let form = b.get(&tz).await;
    assert_eq!(form.status, 200);
    let t = csrf(&form);
    let bad = b
        .post(&tz, &fields(&[("csrf", &t), ("timezone", "Nowhere/Land")]))
        .await;
    names_field(&bad, "timezone");
    assert!(
        bad.headers.get("set-cookie").is_none(),
        "the cookie is kept"
    );
    let set = b
        .post(&tz, &fields(&[("csrf", &t), ("timezone", "Asia/Tokyo")]))
        .await;
    assert_eq!(set.status, 303, "{}", set.body);
    let cookie = set.headers["set-cookie"].to_str().unwrap().to_owned();
    assert!(
        cookie.starts_with("roster_console_tz=Asia.Tokyo;"),
        "{cookie}"
    );
    assert!(cookie.contains("HttpOnly") && cookie.contains("Path=/console"));
    assert!(b.get(&keys).await.body.contains(" JST</td>"));
    assert!(b
        .get(&format!("/console/{}/audit", org.id))
        .await
        .body
        .contains(" JST</td>"));
    assert!(b
        .get(&format!("/console/{}/organization", org.id))
        .await
        .body
        .contains(" JST"));
    // Etc/GMT+5 survives the cookie.
    b.post(&tz, &fields(&[("csrf", &t), ("timezone", "Etc/GMT+5")]))
        .await;
    assert!(b.get(&keys).await.body.contains(" -05</td>"), "Etc/GMT+5");
    // Back to the organization's default, which is now New York's.
    let mut o = app.state.core.find_org("acme").await.unwrap();
    o.default_preferences.timezone = Some("America/New_York".into());
    let patch = roster_domain::core::OrgPatch {
        default_preferences: Some(o.default_preferences.clone()),
        ..Default::default()
    };
    app.state
        .core
        .modify_organization(&Context::system(), "acme", patch)
        .await
        .unwrap();
    let cleared = b
        .post(&tz, &fields(&[("csrf", &t), ("timezone", "")]))
        .await;
    assert_eq!(cleared.status, 303);
    let page = b.get(&keys).await;
    assert!(
        page.body.contains(" EST</td>") || page.body.contains(" EDT</td>"),
        "{}",
        page.body
    );
}
