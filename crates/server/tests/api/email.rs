//! Email end to end: messages delivered to a real SMTP server on loopback, their links followed
//! to the pages and endpoints that complete each flow (one language each), tokens used at the
//! same moment, several delivery workers on one database, a restart between queueing and
//! delivery, the same answer for known and unknown addresses, and the throttles.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{Org, TestApp};
use crate::smtp::SmtpServer;

const PUBLIC: &str = "https://roster.example.test";

/// A page or form answer: status, `Location`, body text.
struct Page {
    status: u16,
    location: Option<String>,
    body: String,
}

fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

impl TestApp {
    /// Opens an emailed link (whose base is the public URL) against this server.
    async fn open(&self, link: &str) -> Page {
        let path = link.strip_prefix(PUBLIC).expect("link on the public URL");
        let r = browser()
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .expect("GET");
        Page {
            status: r.status().as_u16(),
            location: None,
            body: r.text().await.expect("body"),
        }
    }

    /// Posts a landing page's form, as a browser would.
    async fn submit(&self, path: &str, fields: &[(&str, &str)]) -> Page {
        let r = browser()
            .post(format!("{}{path}", self.base))
            .form(fields)
            .send()
            .await
            .expect("POST");
        Page {
            status: r.status().as_u16(),
            location: r
                .headers()
                .get("location")
                .map(|v| v.to_str().expect("ascii").to_owned()),
            body: r.text().await.expect("body"),
        }
    }

    async fn anon(&self, path: &str, body: Value) -> crate::helpers::Resp {
        self.call(Method::POST, path, None, Some(body), &[]).await
    }

    /// Invites `email` (no email sent) and accepts through the JSON exchange, with an optional
    /// first password; returns the user id.
    async fn active_user(
        &self,
        org: &Org,
        email: &str,
        lang: &str,
        password: Option<&str>,
    ) -> String {
        let body = json!({
            "first_name": "Kim", "last_name": "Lee", "email": email, "role_name": "DefaultUserRole",
            "user_preferences": { "preferred_language": lang },
        });
        let out = self
            .post(&format!("/v1/{}/user/", org.id), &org.token, body)
            .await
            .expect(201);
        let token = token_of(out["verify_link"].as_str().expect("verify_link"));
        let mut exchange = json!({ "token": token });
        if let Some(p) = password {
            exchange["password"] = json!(p);
        }
        let r = self
            .anon(&format!("/v1/{}/user/verify", org.id), exchange)
            .await
            .expect(200);
        r["user_id"].as_str().expect("user_id").to_owned()
    }

    async fn identity_of(&self, org: &str, user_id: &str) -> String {
        self.state
            .core
            .store
            .get_user(org, user_id)
            .await
            .expect("read")
            .expect("user")
            .identity_id
    }

    async fn password_matches(&self, org: &str, user_id: &str, password: &str) -> bool {
        let identity = self.identity_of(org, user_id).await;
        let hash = self
            .state
            .core
            .store
            .password_hash(&identity)
            .await
            .expect("read");
        roster_domain::password::verify(password, hash.as_deref())
            .await
            .expect("verify")
    }

    async fn outbox_statuses(&self, org: &str) -> Vec<(String, String, i64)> {
        self.state
            .core
            .store
            .list_outbox(org)
            .await
            .expect("outbox")
            .into_iter()
            .map(|m| (m.kind, m.status, m.attempts))
            .collect()
    }
}

fn token_of(link: &str) -> String {
    link.split("token=")
        .nth(1)
        .expect("token in link")
        .to_owned()
}

fn fragment_value(location: &str, key: &str) -> String {
    let fragment = location.split_once('#').expect("fragment").1;
    form_urlencoded::parse(fragment.as_bytes())
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| panic!("no {key} in {location}"))
}

/// Invitation in Portuguese: the emailed link opens a page that leaves the token unused, the
/// form sets the first password (policy-checked), activates the user and hands the token to
/// the application's `login_link`.
#[tokio::test]
async fn invitation_email_link_sets_a_password_and_signs_in_pt() {
    let smtp = SmtpServer::start().await;
    let app = TestApp::spawn_with_smtp(&smtp).await;
    let acme = app.bootstrap("acme").await;
    let body = json!({
        "first_name": "Ana", "last_name": "Souza", "email": "ana@example.com",
        "role_name": "DefaultUserRole", "login_link": "https://app.acme.example/welcome",
        "user_preferences": { "preferred_language": "por" },
    });
    let user_id = app
        .post("/v1/acme/user/", &acme.token, body)
        .await
        .expect(201)["user_id"]
        .as_str()
        .unwrap()
        .to_owned();

    let mail = smtp.wait_for("ana@example.com", |_| true).await;
    assert_eq!(mail.subject(), "Você foi convidado para acme Inc.");
    assert!(mail.text().starts_with("Olá, Ana!"), "{}", mail.text());
    assert!(mail.html().contains("lang=\"pt\""));
    assert!(mail
        .header("From")
        .unwrap()
        .contains("no-reply@roster.example.test"));
    assert_eq!(
        mail.from, "no-reply@roster.example.test",
        "the envelope sender"
    );
    assert_eq!(mail.header("Content-Language").as_deref(), Some("pt"));
    let queued = app.state.core.store.list_outbox("acme").await.unwrap();
    assert_eq!(
        mail.message_id(),
        format!("<{}@roster.example.test>", queued[0].id)
    );

    let link = mail.link(PUBLIC);
    assert!(link.starts_with(&format!("{PUBLIC}/v1/acme/user/verify?token=")));
    // Opening the link (twice, like a mail scanner and then the person) uses nothing.
    for _ in 0..2 {
        let page = app.open(&link).await;
        assert_eq!(page.status, 200, "{}", page.body);
        assert!(page.body.contains("name=\"password\""), "{}", page.body);
        assert!(page.body.contains("action=\"/v1/acme/user/verify\""));
    }
    let token = token_of(&link);

    // A weak password is refused and the link keeps working.
    let weak = app
        .submit(
            "/v1/acme/user/verify",
            &[("token", &token), ("password", "weak")],
        )
        .await;
    assert_eq!(weak.status, 422, "{}", weak.body);
    assert!(weak.body.contains("at least 6 characters"), "{}", weak.body);

    let done = app
        .submit(
            "/v1/acme/user/verify",
            &[("token", &token), ("password", "Secr3t-pass")],
        )
        .await;
    assert_eq!(done.status, 303, "{}", done.body);
    let location = done.location.expect("redirect");
    assert!(
        location.starts_with("https://app.acme.example/welcome#id_token="),
        "{location}"
    );
    assert_eq!(fragment_value(&location, "user_id"), user_id);
    let jwt = fragment_value(&location, "id_token");

    // The token signs the user in; the user is active and verified, with the password set.
    let me = app
        .call(Method::GET, "/users/me", Some(&jwt), None, &[])
        .await
        .expect(200);
    assert_eq!(me["email"], "ana@example.com");
    let page = app
        .list_users(&acme, &acme.token, "email=ana@example.com&is_verified=true")
        .await;
    assert_eq!(page["users"][0]["user_id"], user_id.as_str());
    assert!(app.password_matches("acme", &user_id, "Secr3t-pass").await);

    // The link worked once.
    assert_eq!(app.open(&link).await.status, 410);
    let again = app
        .submit(
            "/v1/acme/user/verify",
            &[("token", &token), ("password", "Secr3t-pass")],
        )
        .await;
    assert_eq!(again.status, 410);
}

/// Magic link in Spanish: requested by email, delivered, its page opened, exchanged once.
#[tokio::test]
async fn magic_link_email_signs_in_once_es() {
    let smtp = SmtpServer::start().await;
    let app = TestApp::spawn_with_smtp(&smtp).await;
    let acme = app.bootstrap("acme").await;
    let user_id = app
        .active_user(&acme, "luis@example.com", "spa", None)
        .await;

    app.anon(
        "/v1/acme/user/signin",
        json!({ "email": "Luis@Example.com", "redirect_link": "https://app.acme.example/in" }),
    )
    .await
    .expect(200);
    let mail = smtp.wait_for("luis@example.com", |_| true).await;
    assert_eq!(mail.subject(), "Tu enlace para iniciar sesión en acme Inc.");
    assert!(mail.text().contains("caduca en 10 minutos"));
    let link = mail.link(PUBLIC);

    let page = app.open(&link).await;
    assert_eq!(page.status, 200);
    assert!(
        !page.body.contains("name=\"password\""),
        "a sign-in asks no password"
    );

    let r = app
        .anon("/v1/acme/user/verify", json!({ "token": token_of(&link) }))
        .await
        .expect(200);
    assert_eq!(r["user_id"], user_id.as_str());
    assert_eq!(r["redirect_link"], "https://app.acme.example/in");
    let jwt = r["id_token"].as_str().unwrap();
    app.call(Method::GET, "/users/me", Some(jwt), None, &[])
        .await
        .expect(200);

    app.anon("/v1/acme/user/verify", json!({ "token": token_of(&link) }))
        .await
        .expect(401);
    assert_eq!(app.open(&link).await.status, 410);

    // Through the page's form: whoever asked for the link chose `redirect_link`, so the token
    // is shown on Roster's page and never sent there.
    app.anon(
        "/v1/acme/user/signin",
        json!({ "email": "luis@example.com", "redirect_link": "https://evil.example/steal" }),
    )
    .await
    .expect(200);
    let second = smtp
        .wait_for("luis@example.com", |m| m.message_id() != mail.message_id())
        .await;
    let token = token_of(&second.link(PUBLIC));
    let done = app
        .submit("/v1/acme/user/verify", &[("token", &token)])
        .await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert!(done.location.is_none());
    assert!(done.body.contains("Your access token"));
    assert!(!done.body.contains("evil.example/steal#"), "{}", done.body);
}

/// Password reset in Japanese, asked for while signed out: the link's page sets the new
/// password, and the identity's older tokens stop working.
#[tokio::test]
async fn password_reset_email_sets_a_new_password_and_ends_other_sessions_ja() {
    let smtp = SmtpServer::start().await;
    let app = TestApp::spawn_with_smtp(&smtp).await;
    let acme = app.bootstrap("acme").await;
    let user_id = app
        .active_user(&acme, "yui@example.com", "jpn", Some("Old-pass1"))
        .await;
    let old_session = app.sign_in(&acme, &user_id).await;
    app.call(Method::GET, "/users/me", Some(&old_session), None, &[])
        .await
        .expect(200);
    // Tokens carry whole seconds: let the old one be from an earlier second than the reset.
    tokio::time::sleep(Duration::from_millis(1100)).await;

    app.anon(
        "/v1/acme/user/password-reset/request",
        json!({ "email": "yui@example.com" }),
    )
    .await
    .expect(200);
    let mail = smtp.wait_for("yui@example.com", |_| true).await;
    assert_eq!(mail.subject(), "パスワードの再設定");
    assert!(mail.text().starts_with("Kim 様"), "{}", mail.text());
    let link = mail.link(PUBLIC);
    assert!(link.starts_with(&format!("{PUBLIC}/v1/acme/user/password-reset?token=")));

    let page = app.open(&link).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("name=\"password\""));
    let token = token_of(&link);

    // JSON clients: a weak password is a 422 naming the field; the token survives it.
    let weak = app
        .anon(
            "/v1/acme/user/password-reset",
            json!({ "token": token, "password": "short" }),
        )
        .await
        .expect(422);
    assert_eq!(weak["detail"][0]["loc"], json!(["body", "password"]));

    let done = app
        .submit(
            "/v1/acme/user/password-reset",
            &[("token", &token), ("password", "New-pass2")],
        )
        .await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert!(app.password_matches("acme", &user_id, "New-pass2").await);
    assert!(!app.password_matches("acme", &user_id, "Old-pass1").await);
    app.call(Method::GET, "/users/me", Some(&old_session), None, &[])
        .await
        .expect(401);
    // A token issued after the reset works.
    let fresh = app.sign_in(&acme, &user_id).await;
    app.call(Method::GET, "/users/me", Some(&fresh), None, &[])
        .await
        .expect(200);

    app.anon(
        "/v1/acme/user/password-reset",
        json!({ "token": token, "password": "Other-pass3" }),
    )
    .await
    .expect(401);
    assert_eq!(app.open(&link).await.status, 410);
}

/// Email change in English: nothing changes until the link sent to the new address is
/// followed; its page leaves the token unused, its form completes the change.
#[tokio::test]
async fn email_change_takes_effect_when_the_emailed_link_is_followed_en() {
    let smtp = SmtpServer::start().await;
    let app = TestApp::spawn_with_smtp(&smtp).await;
    let acme = app.bootstrap("acme").await;
    app.call(
        Method::PATCH,
        "/users/me",
        Some(&acme.token),
        Some(json!({ "email": "ada@new.example" })),
        &[],
    )
    .await
    .expect(200);
    let mail = smtp.wait_for("ada@new.example", |_| true).await;
    assert_eq!(mail.subject(), "Confirm your new email address");
    assert!(mail.text().contains("from admin@acme.example to this one"));
    let link = mail.link(PUBLIC);
    assert!(link.starts_with(&format!("{PUBLIC}/users/email-change/confirm?token=")));

    for _ in 0..2 {
        let page = app.open(&link).await;
        assert_eq!(page.status, 200);
        assert!(page.body.contains("ada@new.example"));
    }
    let me = app
        .call(Method::GET, "/users/me", Some(&acme.token), None, &[])
        .await
        .expect(200);
    assert_eq!(
        me["email"], "admin@acme.example",
        "not before the link is followed"
    );

    let done = app
        .submit(
            "/users/email-change/confirm",
            &[("token", &token_of(&link))],
        )
        .await;
    assert_eq!(done.status, 200, "{}", done.body);
    let me = app
        .call(Method::GET, "/users/me", Some(&acme.token), None, &[])
        .await
        .expect(200);
    assert_eq!(me["email"], "ada@new.example");
    assert_eq!(app.open(&link).await.status, 410);
}

/// One token, two uses at the same moment: exactly one succeeds (invitation and reset).
#[tokio::test]
async fn one_token_used_twice_at_once_succeeds_once() {
    let app = TestApp::spawn().await;
    let acme = app.bootstrap("acme").await;
    for round in 0..3 {
        let body = json!({ "first_name": "C", "last_name": "C", "email": format!("c{round}@example.com"), "role_name": "DefaultUserRole" });
        let out = app
            .post("/v1/acme/user/", &acme.token, body)
            .await
            .expect(201);
        let token = token_of(out["verify_link"].as_str().unwrap());
        let (a, b) = tokio::join!(
            app.anon(
                "/v1/acme/user/verify",
                json!({ "token": token, "password": "Both-try1" })
            ),
            app.anon(
                "/v1/acme/user/verify",
                json!({ "token": token, "password": "Both-try2" })
            ),
        );
        let mut codes = [a.status.as_u16(), b.status.as_u16()];
        codes.sort();
        assert_eq!(codes, [200, 401], "round {round}");
    }

    let user_id = app
        .active_user(&acme, "r@example.com", "eng", Some("First-1"))
        .await;
    app.anon(
        "/v1/acme/user/password-reset/request",
        json!({ "email": "r@example.com" }),
    )
    .await
    .expect(200);
    let reset = app
        .state
        .core
        .store
        .list_outbox("acme")
        .await
        .unwrap()
        .into_iter()
        .find(|m| m.kind == "password_reset")
        .expect("queued");
    let token = token_of(reset.payload["link"].as_str().unwrap());
    let (a, b) = tokio::join!(
        app.anon(
            "/v1/acme/user/password-reset",
            json!({ "token": token, "password": "Winner-1" })
        ),
        app.anon(
            "/v1/acme/user/password-reset",
            json!({ "token": token, "password": "Winner-2" })
        ),
    );
    let mut codes = [a.status.as_u16(), b.status.as_u16()];
    codes.sort();
    assert_eq!(codes, [204, 401]);
    let winner = if a.status == StatusCode::NO_CONTENT {
        "Winner-1"
    } else {
        "Winner-2"
    };
    assert!(app.password_matches("acme", &user_id, winner).await);
}

async fn invite_with_email(app: &TestApp, org: &Org, email: &str) {
    let body = json!({
        "first_name": "M", "last_name": "N", "email": email, "role_name": "DefaultUserRole",
        "login_link": "https://app.example/login",
    });
    app.post(&format!("/v1/{}/user/", org.id), &org.token, body)
        .await
        .expect(201);
}

/// Three workers in two server processes on one database deliver every message exactly once.
#[tokio::test]
async fn outbox_with_several_workers_delivers_each_message_exactly_once() {
    let smtp = SmtpServer::start().await;
    let first = TestApp::spawn_with_smtp(&smtp).await;
    let url = first.database_url.clone();
    let smtp_url = smtp.url();
    let second = TestApp::spawn_with(|c| {
        c.database_url = Some(url);
        c.smtp_url = Some(smtp_url);
        c.mail_workers = 2;
    })
    .await;
    let acme = first.bootstrap("acme").await;
    const N: usize = 24;
    for i in 0..N {
        // Half through each server.
        let app = if i % 2 == 0 { &first } else { &second };
        invite_with_email(app, &acme, &format!("m{i}@example.com")).await;
    }
    smtp.wait_for_count(N).await;
    // Anything sent twice would arrive within the poll interval.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let got = smtp.messages();
    assert_eq!(got.len(), N);
    let mut ids: Vec<String> = got.iter().map(|m| m.message_id()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), N, "every Message-ID once");
    let mut to: Vec<String> = got.iter().flat_map(|m| m.to.clone()).collect();
    to.sort();
    to.dedup();
    assert_eq!(to.len(), N, "every recipient once");
    for (kind, status, attempts) in first.outbox_statuses("acme").await {
        assert_eq!(
            (kind.as_str(), status.as_str(), attempts),
            ("invitation", "sent", 1)
        );
    }

    // Claims at the same moment on the store never share a message.
    for i in 0..6 {
        invite_with_email(&first, &acme, &format!("late{i}@example.com")).await;
    }
    let store = &first.state.core.store;
    let now = roster_domain::types::now_micros();
    let far = now + 3_600_000_000;
    let (a, b) = tokio::join!(
        store.claim_outbox("claimer-a", now + 1_000_000, far, 4),
        store.claim_outbox("claimer-b", now + 1_000_000, far, 4),
    );
    let (a, b) = (a.expect("claim"), b.expect("claim"));
    assert!(
        a.iter().all(|m| b.iter().all(|n| n.id != m.id)),
        "disjoint claims"
    );
}

/// A message queued by one server that stopped before delivering it is delivered by the next
/// one on the same database; so is one whose worker died mid-send, once its lease runs out.
#[tokio::test]
async fn a_restart_between_queueing_and_delivery_loses_nothing() {
    let smtp = SmtpServer::start().await;
    let smtp_url = smtp.url();
    let su = smtp_url.clone();
    let first = TestApp::spawn_with(|c| {
        c.smtp_url = Some(su);
        c.mail_workers = 0;
    })
    .await;
    let acme = first.bootstrap("acme").await;
    invite_with_email(&first, &acme, "queued@example.com").await;
    invite_with_email(&first, &acme, "leased@example.com").await;
    // A worker that crashed right after claiming the second one: its lease has run out.
    let now = roster_domain::types::now_micros();
    let claimed = first
        .state
        .core
        .store
        .claim_outbox("crashed-worker", now, now, 1)
        .await
        .expect("claim");
    assert_eq!(claimed.len(), 1);
    let statuses = first.outbox_statuses("acme").await;
    assert_eq!(statuses.len(), 2);
    assert!(smtp.messages().is_empty());

    let url = first.database_url.clone();
    let _files = first.stop().await;
    let second = TestApp::spawn_with(|c| {
        c.database_url = Some(url);
        c.smtp_url = Some(smtp_url);
    })
    .await;
    let queued = smtp.wait_for("queued@example.com", |_| true).await;
    smtp.wait_for("leased@example.com", |_| true).await;
    // The message as composed: envelope, both parts, the link from the public URL.
    assert_eq!(queued.from, "no-reply@roster.example.test");
    assert!(queued.text().starts_with("Hello M,"), "{}", queued.text());
    assert!(queued.html().contains("<html lang=\"en\">"));
    assert!(queued
        .link("https://roster.example.test/")
        .starts_with("https://roster.example.test/v1/acme/user/verify?token="));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(smtp.messages().len(), 2);
    let statuses = second.outbox_statuses("acme").await;
    assert!(statuses.iter().all(|(_, s, _)| s == "sent"), "{statuses:?}");
    // The crashed worker's late report changes nothing.
    let m = &claimed[0];
    let late = second
        .state
        .core
        .store
        .finish_outbox(
            &m.org_id,
            &m.id,
            "crashed-worker",
            &roster_domain::store::Delivery::Failed {
                error: "late".into(),
            },
        )
        .await
        .expect("finish");
    assert!(!late);
}

/// Without ROSTER_SMTP_URL, messages become `.eml` files in the data directory.
#[tokio::test]
async fn without_smtp_messages_are_written_as_eml_files() {
    let app = TestApp::spawn().await;
    let acme = app.bootstrap("acme").await;
    invite_with_email(&app, &acme, "file@example.com").await;
    let id = app.state.core.store.list_outbox("acme").await.unwrap()[0]
        .id
        .clone();
    let path = app.data_dir.join("mail").join(format!("{id}.eml"));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !path.exists() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{} not written",
            path.display()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let eml = std::fs::read_to_string(&path).unwrap();
    assert!(
        eml.contains(&format!("Message-ID: <{id}@roster.example.test>")),
        "{eml}"
    );
    assert!(eml.contains("To: file@example.com"));
}

/// Sign-in by email, magic link and reset requests answer a known and an unknown address alike.
#[tokio::test]
async fn known_and_unknown_emails_get_the_same_answer() {
    let app = TestApp::spawn().await;
    let acme = app.bootstrap("acme").await;
    app.active_user(&acme, "known@example.com", "eng", Some("Known-pass1"))
        .await;
    let requests = [
        (
            "/v1/acme/user/signin",
            json!({ "redirect_link": "https://app.example/in" }),
        ),
        ("/v1/acme/user/password-reset/request", json!({})),
    ];
    for (path, base) in requests {
        let mut answers = Vec::new();
        for email in ["known@example.com", "unknown@example.com"] {
            let mut body = base.clone();
            body["email"] = json!(email);
            let r = app.anon(path, body).await;
            answers.push((r.status, r.body));
        }
        assert_eq!(answers[0].0, answers[1].0, "{path}: same status");
        assert_eq!(answers[0].1, answers[1].1, "{path}: same body");
        assert_eq!(answers[0].0, 200);
    }
    // Only the known address got mail.
    let mail = app.state.core.store.list_outbox("acme").await.unwrap();
    assert_eq!(mail.len(), 2);
    assert!(mail.iter().all(|m| m.recipient == "known@example.com"));
}

/// Links are built from ROSTER_PUBLIC_URL whatever Host and X-Forwarded-Host say.
#[tokio::test]
async fn links_ignore_hostile_host_headers() {
    let smtp = SmtpServer::start().await;
    let app = TestApp::spawn_with_smtp(&smtp).await;
    let acme = app.bootstrap("acme").await;
    app.active_user(&acme, "h@example.com", "eng", None).await;
    let hostile = [
        ("host", "evil.example"),
        ("x-forwarded-host", "evil.example"),
        ("x-forwarded-proto", "http"),
        ("forwarded", "host=evil.example;proto=http"),
    ];
    app.call(
        Method::POST,
        "/v1/acme/user/signin",
        None,
        Some(json!({ "email": "h@example.com", "redirect_link": "https://app.example/in" })),
        &hostile,
    )
    .await
    .expect(200);
    app.call(
        Method::POST,
        "/v1/acme/user/password-reset/request",
        None,
        Some(json!({ "email": "h@example.com" })),
        &hostile,
    )
    .await
    .expect(200);
    for m in app.state.core.store.list_outbox("acme").await.unwrap() {
        let link = m.payload["link"].as_str().expect("link");
        assert!(
            link.starts_with(&format!("{PUBLIC}/v1/acme/user/")),
            "{link}"
        );
    }
    smtp.wait_for_count(2).await;
    for m in smtp.messages() {
        assert!(!m.data.contains("evil"), "{}", m.data);
    }
}

/// Every endpoint that sends mail is throttled per address (whoever asks, known or not) and
/// per client.
#[tokio::test]
async fn mail_sending_endpoints_are_throttled_per_address_and_per_client() {
    let app = TestApp::spawn_with(|c| {
        c.rate_limits = "email-per-address=2,request-password-reset-email=2".into();
    })
    .await;
    let acme = app.bootstrap("acme").await;
    for email in ["known-t@example.com", "nobody@example.com"] {
        let body = json!({ "email": email, "redirect_link": "https://app.example/in" });
        app.anon("/v1/acme/user/signin", body.clone())
            .await
            .expect(200);
        app.anon(
            "/v1/acme/user/password-reset/request",
            json!({ "email": email }),
        )
        .await
        .expect(200);
        let r = app.anon("/v1/acme/user/signin", body).await;
        assert_eq!(r.status.as_u16(), 429, "{email}: {}", r.body);
        assert!(r.headers.get("retry-after").is_some());
    }
    // Per client: the reset request allows 2 a minute from one client, whatever the email.
    let r = app
        .anon(
            "/v1/acme/user/password-reset/request",
            json!({ "email": "third@example.com" }),
        )
        .await;
    assert_eq!(r.status.as_u16(), 429, "{}", r.body);
    // An administrator inviting (with an email) is throttled per address too.
    invite_with_email(&app, &acme, "inv-t@example.com").await;
    app.call(
        Method::PATCH,
        "/users/me",
        Some(&acme.token),
        Some(json!({ "email": "inv-t@example.com" })),
        &[],
    )
    .await
    .expect(409);
    let r = app
        .call(
            Method::POST,
            "/users/invite",
            Some(&acme.token),
            Some(json!({ "email": "inv-t@example.com", "name": "X", "roles": ["analyst"], "connection": null })),
            &[],
        )
        .await;
    assert_eq!(r.status.as_u16(), 429, "{}", r.body);
}

/// Bad input to the new endpoints is a 4xx naming the field, in the surface's error shape.
#[tokio::test]
async fn bad_input_names_the_field() {
    let app = TestApp::spawn().await;
    app.bootstrap("acme").await;
    let r = app
        .call(Method::GET, "/v1/acme/user/verify", None, None, &[])
        .await
        .expect(422);
    assert_eq!(r["detail"][0]["loc"], json!(["query", "token"]));
    let r = app
        .call(
            Method::GET,
            "/v1/acme/user/password-reset?token=",
            None,
            None,
            &[],
        )
        .await
        .expect(422);
    assert_eq!(r["detail"][0]["loc"], json!(["query", "token"]));
    let r = app
        .call(Method::GET, "/users/email-change/confirm", None, None, &[])
        .await
        .expect(422);
    assert_eq!(r["detail"][0]["loc"], json!(["query", "token"]));
    let r = app
        .anon("/v1/acme/user/password-reset", json!({ "token": "x" }))
        .await
        .expect(422);
    assert_eq!(r["detail"][0]["loc"], json!(["body", "password"]));
    let r = app
        .anon(
            "/v1/acme/user/password-reset/request",
            json!({ "email": "not-an-address" }),
        )
        .await
        .expect(422);
    assert_eq!(r["detail"][0]["loc"], json!(["body", "email"]));
    let r = app
        .anon(
            "/v1/acme/user/verify",
            json!({ "token": "x", "password": "weak" }),
        )
        .await
        .expect(422);
    assert_eq!(r["detail"][0]["loc"], json!(["body", "password"]));
    // Unknown or used tokens: 401 for JSON clients, a "no longer works" page for browsers.
    app.anon(
        "/v1/acme/user/password-reset",
        json!({ "token": "nope", "password": "Good-pass1" }),
    )
    .await
    .expect(401);
    assert_eq!(
        app.open(&format!("{PUBLIC}/v1/acme/user/verify?token=nope"))
            .await
            .status,
        410
    );
    app.anon(
        "/v1/nope/user/password-reset/request",
        json!({ "email": "a@b.example" }),
    )
    .await
    .expect(404);
}

/// The eva surface's welcome email, in the request's `language`, through SMTP.
#[tokio::test]
async fn eva_create_sends_a_welcome_email_in_the_requested_language() {
    let smtp = SmtpServer::start().await;
    let app = TestApp::spawn_with_smtp(&smtp).await;
    let acme = app.bootstrap("acme").await;
    let env = "0f0e0d0c-0b0a-4909-8807-060504030201";
    app.call(
        Method::PUT,
        &format!("/ingest/v1/acme/environments/{env}"),
        None,
        Some(json!({ "name": "Production" })),
        &[("authorization", "Bearer ingest-secret-for-tests")],
    )
    .await
    .expect(204);
    app.call(
        Method::POST,
        &format!("/org/{}/users?language=es", acme.uuid),
        Some(&acme.token),
        Some(json!({
            "name": "Sofía Ruiz", "email": "sofia@example.com",
            "environments": [{ "role": "SUPERVISOR", "environment": { "uuid": env } }],
            "password": "Welcome-1", "passwordConfirmation": "Welcome-1",
        })),
        &[],
    )
    .await
    .expect(200);
    let mail = smtp.wait_for("sofia@example.com", |_| true).await;
    assert_eq!(mail.subject(), "Te damos la bienvenida a acme Inc.");
    assert!(mail.text().starts_with("Hola, Sofía:"), "{}", mail.text());
    assert_eq!(mail.link(PUBLIC), PUBLIC);
}

/// Password sign-in (the token endpoint) answers a wrong password of a known account and any
/// password of an unknown one alike; both are checked against a hash, so both take argon2 time.
#[tokio::test]
async fn password_sign_in_answers_known_and_unknown_emails_alike() {
    let app = TestApp::spawn().await;
    let acme = app.bootstrap("acme").await;
    app.active_user(&acme, "pw@example.com", "eng", Some("Right-pass1"))
        .await;
    let mut answers = Vec::new();
    for username in ["pw@example.com", "nobody@example.com"] {
        let r = browser()
            .post(format!(
                "{}/realms/acme/protocol/openid-connect/token",
                app.base
            ))
            .form(&[
                ("grant_type", "password"),
                ("username", username),
                ("password", "Wrong-pass1"),
            ])
            .send()
            .await
            .expect("POST");
        answers.push((r.status().as_u16(), r.text().await.expect("body")));
    }
    assert_eq!(answers[0], answers[1]);
    assert_eq!(answers[0].0, 401, "{}", answers[0].1);
}
