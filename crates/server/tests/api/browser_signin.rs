//! The hosted sign-in pages in a real browser: Debian's Chromium driven by playwright-core with
//! JavaScript disabled, axe-core on every page (npm, exact versions, `scripts/browser-setup`),
//! `scripts/browser/signin.mjs`. In four organizations, one per language (en, es, ja, pt), all
//! named `<script>alert(1)</script>`: the code flow with PKCE through the form found by its
//! labels, a wrong password, logout confirmed on its page, an emailed sign-in link and a reset
//! link taken from the real SMTP capture, an org-user-management invitation's landing page
//! (a first password, then on to the client), the error and signed-out pages. This test answers the
//! script's questions: it exchanges each code, checks the ID token, and shows that logout
//! withdrew the refresh token of the session. Screenshots go to `target/screenshots/`.

use std::collections::HashSet;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};

use crate::helpers::{Org, TestApp};
use crate::oidc_browser::{auth_path, claims, token, CHALLENGE, PASSWORD, VERIFIER};
use crate::smtp::SmtpServer;

const NAME: &str = "<script>alert(1)</script>";
const NEW_PASSWORD: &str = "Browser-new-pass2";

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// An organization named [`NAME`] speaking `language`, its administrator with [`PASSWORD`].
async fn org(app: &TestApp, id: &str, language: &str) -> (Org, String) {
    let made = app
        .state
        .core
        .bootstrap(
            roster_domain::core::NewOrgInput {
                id: id.into(),
                name: NAME.into(),
                default_preferences: roster_domain::model::Preferences {
                    preferred_language: Some(language.into()),
                    ..Default::default()
                },
                user_dimensions: json!([]),
                branding: json!({}),
                is_platform: false,
                cluster: None,
            },
            &format!("admin@{id}.example"),
            "Ada Admin",
            "test key",
            90,
        )
        .await
        .expect("bootstrap");
    let mut o = Org {
        id: made.org.id.into(),
        uuid: made.org.uuid,
        admin_id: made.user.id.into(),
        key_id: made.api_key.key_id,
        key: made.secret,
        token: String::new(),
    };
    o.token = app.sign_in(&o, &o.admin_id.clone()).await;
    let email = app.give_admin_password(&o, PASSWORD).await;
    (o, email)
}

fn request<'a>(client_id: &'a str, redirect: &'a str, state: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("client_id", client_id),
        ("redirect_uri", redirect),
        ("response_type", "code"),
        ("scope", "openid profile email"),
        ("state", state),
        ("nonce", "browser-nonce"),
        ("code_challenge", CHALLENGE),
        ("code_challenge_method", "S256"),
    ]
}

#[tokio::test]
async fn the_hosted_pages_work_in_a_real_browser_without_javascript_and_pass_axe() {
    let root = workspace();
    let setup = std::process::Command::new(root.join("scripts/browser-setup"))
        .status()
        .expect("run scripts/browser-setup");
    assert!(
        setup.success(),
        "scripts/browser-setup failed (it needs /usr/bin/chromium and npm)"
    );
    // The client's callback: a loopback port the script listens on (Chromium refuses some).
    let client_port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let redirect = format!("http://127.0.0.1:{client_port}/cb");
    let bye = format!("http://127.0.0.1:{client_port}/bye");
    let (redirect_uri, bye_uri) = (redirect.as_str(), bye.as_str());
    let smtp = SmtpServer::start().await;
    let smtp_url = smtp.url();
    // The public URL is the server's own address, so that emailed links open in the browser.
    let app = TestApp::spawn_with(|c| {
        c.public_url = None;
        c.smtp_url = Some(smtp_url);
        c.mail_workers = 1;
    })
    .await;

    let mut orgs = Vec::new();
    let mut clients = std::collections::HashMap::new();
    let mut invitees = std::collections::HashMap::new();
    for (lang, language) in [("en", "eng"), ("es", "spa"), ("ja", "jpn"), ("pt", "por")] {
        let id = format!("browser-{lang}");
        let (o, email) = org(&app, &id, language).await;
        let made = app
            .post(
                &format!("/admin/v1/orgs/{id}/oidc-clients"),
                &o.token,
                json!({ "name": "Example app", "redirect_uris": [redirect_uri, bye_uri], "public": true }),
            )
            .await
            .expect(201);
        let client_id = made["client_id"].as_str().unwrap().to_owned();
        let logout = format!(
            "/realms/{id}/protocol/openid-connect/logout?{}",
            form_urlencoded::Serializer::new(String::new())
                .append_pair("client_id", &client_id)
                .append_pair("post_logout_redirect_uri", bye_uri)
                .append_pair("state", "st-bye")
                .finish()
        );
        orgs.push(json!({
            "lang": lang,
            "org": id,
            "email": email,
            "password": PASSWORD,
            "new_password": NEW_PASSWORD,
            "redirect_uri": redirect_uri,
            "logout_target": bye_uri,
            "urls": {
                "password": auth_path(&id, &request(&client_id, redirect_uri, "st-password")),
                "mail": auth_path(&id, &request(&client_id, redirect_uri, "st-mail")),
                "reset": auth_path(&id, &request(&client_id, redirect_uri, "st-reset")),
                "unknown_client": auth_path(&id, &request("no-such-client", redirect_uri, "st-x")),
                "logout": logout,
                "logout_silent": format!("/realms/{id}/protocol/openid-connect/logout"),
            },
        }));
        // A person invited through org-user-management: the emailed link's page, carrying an
        // authorization request, sets a first password and lands at the client.
        let invitee = format!("invitee@{id}.example");
        crate::upstream::invite(&app, &o, &invitee, json!(null)).await;
        let carried = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(request(&client_id, redirect_uri, "st-invite"))
            .finish();
        orgs.last_mut().unwrap()["invitee"] = json!(invitee);
        orgs.last_mut().unwrap()["invitation_request"] = json!(carried);
        invitees.insert(lang.to_owned(), invitee);
        clients.insert(lang.to_owned(), (id, client_id, email));
    }
    let screenshots = root.join("target/screenshots");
    let plan = json!({
        "base": app.base,
        "chromium": std::env::var("ROSTER_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into()),
        "screenshots": screenshots,
        "name": NAME,
        "client_port": client_port,
        "orgs": orgs,
    });

    let mut child = tokio::process::Command::new("node")
        .arg(root.join("scripts/browser/signin.mjs"))
        .env("BROWSER_PLAN", plan.to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("run node");
    let mut stdin = child.stdin.take().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut stderr = child.stderr.take().unwrap();
    let errors = tokio::spawn(async move {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s).await;
        s
    });

    let mut handed = HashSet::new();
    let mut refresh_of_session = std::collections::HashMap::new();
    let mut exchanged = Vec::new();
    let done: Value = tokio::time::timeout(Duration::from_secs(240), async {
        while let Some(line) = lines.next_line().await.expect("read the script") {
            let msg: Value = serde_json::from_str(&line).unwrap_or_else(|_| json!({ "log": line }));
            if let Some(d) = msg.get("done") {
                return d.clone();
            }
            let Some(q) = msg.get("ask") else { continue };
            let answer = if let Some(code) = q["code"].as_str() {
                // A code at the client: exchanged as the client would, its ID token checked.
                let lang = q["lang"].as_str().unwrap();
                let (org_id, client_id, email) = &clients[lang];
                let issuer = format!("{}/realms/{org_id}", app.base);
                assert_eq!(q["iss"], issuer.as_str(), "{q}");
                let (status, t) = token(
                    &app,
                    org_id,
                    &[
                        ("grant_type", "authorization_code"),
                        ("code", code),
                        ("redirect_uri", redirect_uri),
                        ("client_id", client_id),
                        ("code_verifier", VERIFIER),
                    ],
                    None,
                )
                .await;
                assert_eq!(status, 200, "{lang} {}: {t}", q["flow"]);
                let id = claims(t["id_token"].as_str().unwrap());
                assert_eq!(id["iss"], issuer.as_str());
                assert_eq!(id["aud"], client_id.as_str());
                assert_eq!(id["nonce"], "browser-nonce");
                let flow = q["flow"].as_str().unwrap();
                let person = if flow == "invitation" {
                    &invitees[lang]
                } else {
                    email
                };
                assert_eq!(id["email"], person.as_str());
                let amr = if matches!(flow, "mail" | "invitation") {
                    "mail"
                } else {
                    "pwd"
                };
                assert_eq!(id["amr"], json!([amr]), "{flow}");
                app.get(
                    &format!("/realms/{org_id}/protocol/openid-connect/userinfo"),
                    t["access_token"].as_str().unwrap(),
                )
                .await
                .expect(200);
                if flow == "password" {
                    refresh_of_session.insert(
                        lang.to_owned(),
                        t["refresh_token"].as_str().unwrap().to_owned(),
                    );
                }
                exchanged.push(format!("{lang}/{flow}"));
                json!({ "ok": true })
            } else if let Some(lang) = q["logged_out"].as_str() {
                // The session the refresh token came from was ended by logout in the browser.
                let (org_id, client_id, _) = &clients[lang];
                let (status, e) = token(
                    &app,
                    org_id,
                    &[
                        ("grant_type", "refresh_token"),
                        ("refresh_token", &refresh_of_session[lang]),
                        ("client_id", client_id),
                    ],
                    None,
                )
                .await;
                assert_eq!(
                    (status, e["error"].as_str()),
                    (400, Some("invalid_grant")),
                    "{lang}: logout withdrew the session's refresh token"
                );
                json!({ "refresh_after_logout": status })
            } else if let Some(page) = q["link"].as_str() {
                // The newest emailed link to that page, as the real SMTP capture received it.
                let to = q["to"].as_str().unwrap();
                let base = format!("{}/realms/", app.base);
                // The sign-in page's own links, or a landing page of the member operations.
                let shape = if page.starts_with("login-actions/") {
                    format!("/{page}?token=")
                } else {
                    format!("/protocol/openid-connect/{page}?token=")
                };
                let mail = smtp
                    .wait_for(to, |m| {
                        !handed.contains(&m.message_id()) && m.text().contains(&shape)
                    })
                    .await;
                handed.insert(mail.message_id());
                json!({ "url": mail.link(&base) })
            } else {
                panic!("an unknown question: {q}");
            };
            stdin
                .write_all(format!("{answer}\n").as_bytes())
                .await
                .expect("answer the script");
        }
        Value::Null
    })
    .await
    .expect("the browser test finished within 240 s");
    let status = child.wait().await.expect("node exits");
    let errors = errors.await.unwrap();
    assert!(
        status.success() && done["failures"].as_array().is_some_and(Vec::is_empty),
        "the browser found problems:\n{errors}\n{done:#}"
    );
    // Every page of every language was seen, audited and photographed.
    let audited = done["audited"].as_array().unwrap();
    eprintln!(
        "browser: {} pages checked in {} s",
        audited.len(),
        done["seconds"]
    );
    assert_eq!(audited.len(), 4 * 11, "{done:#}");
    for lang in ["en", "es", "ja", "pt"] {
        for flow in ["password", "mail", "reset", "invitation"] {
            assert!(
                exchanged.contains(&format!("{lang}/{flow}")),
                "{exchanged:?}"
            );
        }
        assert!(screenshots.join(format!("{lang}-sign-in.png")).is_file());
        assert!(screenshots.join(format!("{lang}-invitation.png")).is_file());
    }
}
