//! The emailed links of the hosted sign-in page land back in the authorization flow they were
//! asked from: "email me a sign-in link" signs in and returns to the client with a code;
//! "forgot password" sets a new password and shows that flow's sign-in form again.

use crate::helpers::TestApp;
use crate::oidc_browser::{
    auth_path, claims, client, org_with_password, request, token, Browser, Page, REDIRECT, VERIFIER,
};
use roster_domain::types::OrgId;

/// The newest emailed link of `kind` to `to`, as a path on the server.
async fn emailed(app: &TestApp, kind: &str, to: &str) -> Option<String> {
    let outbox = app
        .state
        .core
        .store
        .list_outbox(&OrgId::from("acme"))
        .await
        .unwrap();
    let m = outbox
        .iter()
        .rev()
        .find(|m| m.kind == kind && m.recipient == to)?;
    let link = m.payload["link"].as_str()?;
    Some(
        link.strip_prefix("https://roster.example.test")
            .expect("a link on the public URL")
            .to_owned(),
    )
}

async fn ask(b: &mut Browser, page: &Page, email: &str, action: &str) -> Page {
    let mut fields = page.hidden_fields();
    fields.push(("username".into(), email.into()));
    fields.push(("action".into(), action.into()));
    b.post("/realms/acme/protocol/openid-connect/auth", &fields)
        .await
}

#[tokio::test]
async fn an_emailed_sign_in_link_signs_in_and_returns_to_the_client() {
    let app = TestApp::spawn().await;
    let (acme, email) = org_with_password(&app, "acme").await;
    let (id, _) = client(&app, &acme, true, &[REDIRECT]).await;
    let mut b = Browser::new(&app);
    let page = b.get(&auth_path("acme", &request(&id, "via-mail"))).await;
    assert!(page.body.contains("value=\"email_link\"") && page.body.contains("value=\"reset\""));
    let sent = ask(&mut b, &page, &email, "email_link").await;
    assert_eq!(sent.status, 200, "{}", sent.body);
    // An unknown address gets the same page and no email.
    let unknown = ask(&mut b, &page, "nobody@acme.example", "email_link").await;
    assert_eq!(
        (unknown.status, unknown.body.clone()),
        (sent.status, sent.body.clone())
    );
    assert!(emailed(&app, "magic_link", "nobody@acme.example")
        .await
        .is_none());
    // A malformed address is refused naming nothing but the form.
    assert_eq!(
        ask(&mut b, &page, "not-an-email", "email_link")
            .await
            .status,
        400
    );

    let link = emailed(&app, "magic_link", &email)
        .await
        .expect("a link was emailed");
    assert!(
        link.starts_with("/realms/acme/protocol/openid-connect/auth/link?token="),
        "{link}"
    );
    // Another browser (the mail app's) opens it: a GET uses nothing.
    let mut mail = Browser::new(&app);
    let landing = mail.get(&link).await;
    assert_eq!(landing.status, 200);
    let again = mail.get(&link).await;
    assert_eq!(again.status, 200, "the GET did not use the link");
    let fields = landing.hidden_fields();
    let done = mail
        .post("/realms/acme/protocol/openid-connect/auth/link", &fields)
        .await;
    assert_eq!(done.status, 303, "{}", done.body);
    let p = done.redirect_params();
    assert_eq!(p["state"], "via-mail");
    let (status, t) = token(
        &app,
        "acme",
        &[
            ("grant_type", "authorization_code"),
            ("code", &p["code"]),
            ("redirect_uri", REDIRECT),
            ("client_id", &id),
            ("code_verifier", VERIFIER),
        ],
        None,
    )
    .await;
    assert_eq!(status, 200, "{t}");
    assert_eq!(
        claims(t["id_token"].as_str().unwrap())["amr"],
        serde_json::json!(["mail"])
    );
    // That browser is now signed in; the link works once.
    assert_eq!(
        mail.get(&auth_path("acme", &request(&id, "s2")))
            .await
            .status,
        303
    );
    let used = mail
        .post("/realms/acme/protocol/openid-connect/auth/link", &fields)
        .await;
    assert_eq!(used.status, 410);
    assert!(used.location().is_none());
}

#[tokio::test]
async fn forgot_password_sets_a_new_one_and_returns_to_the_sign_in_form() {
    let app = TestApp::spawn().await;
    let (acme, email) = org_with_password(&app, "acme").await;
    let (id, _) = client(&app, &acme, true, &[REDIRECT]).await;
    let mut b = Browser::new(&app);
    let page = b
        .get(&auth_path("acme", &request(&id, "after-reset")))
        .await;
    assert_eq!(ask(&mut b, &page, &email, "reset").await.status, 200);
    let link = emailed(&app, "password_reset", &email)
        .await
        .expect("a reset link");
    assert!(
        link.starts_with("/realms/acme/protocol/openid-connect/auth/reset?token="),
        "{link}"
    );
    let landing = b.get(&link).await;
    assert!(
        landing.body.contains("<label for=\"password\""),
        "{}",
        landing.body
    );
    let mut fields = landing.hidden_fields();
    fields.push(("password".into(), "short".into()));
    let weak = b
        .post("/realms/acme/protocol/openid-connect/auth/reset", &fields)
        .await;
    assert_eq!(weak.status, 400, "the policy applies; the link still works");
    let mut fields = landing.hidden_fields();
    fields.push(("password".into(), "Brand-new-pass2".into()));
    let set = b
        .post("/realms/acme/protocol/openid-connect/auth/reset", &fields)
        .await;
    assert_eq!(set.status, 200, "{}", set.body);
    assert!(set.body.contains("Your new password is set."));
    // The sign-in form of the same request, for this browser.
    let carried: Vec<(String, String)> = set.hidden_fields();
    assert!(
        carried
            .iter()
            .any(|(k, v)| k == "state" && v == "after-reset"),
        "{carried:?}"
    );
    // The reset ended the old password; the new one signs in at once and the flow goes on.
    let old = crate::oidc_browser::sign_in_on(
        &mut b,
        "acme",
        &set,
        &email,
        crate::oidc_browser::PASSWORD,
    )
    .await;
    assert_eq!(old.status, 401);
    let done =
        crate::oidc_browser::sign_in_on(&mut b, "acme", &set, &email, "Brand-new-pass2").await;
    assert_eq!(done.status, 303, "{}", done.body);
    assert_eq!(done.redirect_params()["state"], "after-reset");
    let used = b
        .post("/realms/acme/protocol/openid-connect/auth/reset", &fields)
        .await;
    assert_eq!(used.status, 410);
}

/// A sign-in link posted by a browser that was never shown its page (another site's form
/// auto-submitting an attacker's own link) signs nobody in: the landing page's form is bound to
/// the browser that opened it, and names the account the link opens.
#[tokio::test]
async fn a_sign_in_link_works_only_in_the_browser_that_opened_it() {
    let app = TestApp::spawn().await;
    let (acme, email) = org_with_password(&app, "acme").await;
    let (id, _) = client(&app, &acme, true, &[REDIRECT]).await;
    let mut b = Browser::new(&app);
    let page = b.get(&auth_path("acme", &request(&id, "csrf"))).await;
    ask(&mut b, &page, &email, "email_link").await;
    let link = emailed(&app, "magic_link", &email).await.expect("emailed");
    let mut opener = Browser::new(&app);
    let landing = opener.get(&link).await;
    assert!(landing.body.contains(&email), "the page names the account");
    let fields = landing.hidden_fields();
    // The victim's browser, made to post the form's fields by another site.
    let mut victim = Browser::new(&app);
    let forged = victim
        .post("/realms/acme/protocol/openid-connect/auth/link", &fields)
        .await;
    assert_eq!(forged.status, 400, "{}", forged.body);
    let bare: Vec<(String, String)> = fields
        .iter()
        .filter(|(k, _)| k != "csrf")
        .cloned()
        .collect();
    let forged = victim
        .post("/realms/acme/protocol/openid-connect/auth/link", &bare)
        .await;
    assert_eq!(forged.status, 400);
    // The link still works where it was opened.
    let done = opener
        .post("/realms/acme/protocol/openid-connect/auth/link", &fields)
        .await;
    assert_eq!(done.status, 303, "{}", done.body);
    // Its form answers with a redirect to the client, which the page's CSP allows.
    let csp = landing.headers["content-security-policy"].to_str().unwrap();
    let origin = REDIRECT.split('/').take(3).collect::<Vec<_>>().join("/");
    assert!(
        csp.contains(&format!("form-action 'self' {origin}")),
        "{csp}"
    );
}
