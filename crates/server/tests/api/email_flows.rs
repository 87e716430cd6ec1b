//! The email flows end to end: messages delivered to a real SMTP server on loopback, their
//! links followed to the pages and endpoints that complete each flow, one language each
//! (invitation pt, magic link es, password reset ja, email change en, welcome es). The helpers
//! here (open a link, submit a page's form) serve `email_rules` too.

use reqwest::Method;
use roster_domain::types::OrgId;
use roster_domain::types::UserId;
use serde_json::{json, Value};

use crate::helpers::{Org, TestApp};
use crate::smtp::SmtpServer;

pub(crate) const PUBLIC: &str = "https://roster.example.test";

/// A page or form answer: status, `Location`, body text.
pub(crate) struct Page {
    pub status: u16,
    pub location: Option<String>,
    pub body: String,
}

pub(crate) fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

impl TestApp {
    /// Opens an emailed link (whose base is the public URL) against this server.
    pub(crate) async fn open(&self, link: &str) -> Page {
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
    pub(crate) async fn submit(&self, path: &str, fields: &[(&str, &str)]) -> Page {
        let r = browser()
            .post(format!("{}{path}", self.base))
            .form(fields)
            .send()
            .await
            .expect("POST");
        self.state.core.deferred.idle().await;
        Page {
            status: r.status().as_u16(),
            location: r
                .headers()
                .get("location")
                .map(|v| v.to_str().expect("ascii").to_owned()),
            body: r.text().await.expect("body"),
        }
    }

    pub(crate) async fn anon(&self, path: &str, body: Value) -> crate::helpers::Resp {
        self.call(Method::POST, path, None, Some(body), &[]).await
    }

    /// Invites `email` (no email sent) and accepts through the JSON exchange, with an optional
    /// first password; returns the user id.
    pub(crate) async fn active_user(
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

    pub(crate) async fn identity_of(&self, org: &str, user_id: &str) -> String {
        self.state
            .core
            .store
            .get_user(&OrgId::from(org), &UserId::from(user_id))
            .await
            .expect("read")
            .expect("user")
            .identity_id
    }

    pub(crate) async fn password_matches(&self, org: &str, user_id: &str, password: &str) -> bool {
        let identity = self.identity_of(org, user_id).await;
        let hash = self
            .state
            .core
            .store
            .password_hash(&identity)
            .await
            .expect("read");
        self.state
            .core
            .passwords
            .verify(password, hash.as_deref())
            .await
            .expect("verify")
    }
}

pub(crate) fn token_of(link: &str) -> String {
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
    let queued = app
        .state
        .core
        .store
        .list_outbox(&OrgId::from("acme"))
        .await
        .unwrap();
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
    assert!(!done.body.contains("evil.example"), "{}", done.body);
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
    // A token issued after the reset works at once.
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
    let owner = app.owner_session(&acme).await;
    app.call(
        Method::PATCH,
        "/users/me",
        Some(&owner),
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
