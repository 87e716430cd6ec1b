//! The hosted landing pages of org-user-management's emailed links continue into the sign-in
//! flow: an invitation sets a first password (or offers its connection's button, and no
//! password form) and goes on to the client's redirect when the link carries an authorization
//! request, to the invitation's `login_link`, or to a page saying the person is signed in; a
//! reset link sets the password and shows the sign-in form of the carried request. No
//! URL-carrying parameter redirects anywhere unregistered, and every form is bound to the
//! browser, the link and the request.

use reqwest::Method;
use roster_domain::types::OrgId;
use serde_json::{json, Value};

use crate::helpers::{Org, TestApp};
use crate::oidc_browser::{
    auth_path, claims, client, org_with_password, request, sign_in_on, token, Browser, Page,
    REDIRECT, VERIFIER,
};
use crate::upstream::{
    code_tokens, follow_upstream, invite, link, member, setup, with_upstream, Upstream,
};

const NEW_PASSWORD: &str = "Ivys-pass-123";

/// The path of an emailed link with `extra` (an authorization request) added to its query.
fn landing(link: &str, extra: &[(&str, &str)]) -> String {
    let path = &link[link.find("/realms/").expect("a hosted link")..];
    let mut q = form_urlencoded::Serializer::new(String::new());
    for (k, v) in extra {
        q.append_pair(k, v);
    }
    let extra = q.finish();
    if extra.is_empty() {
        path.to_owned()
    } else {
        format!("{path}&{extra}")
    }
}

/// The last link of `kind` emailed to `to` in `org`, as the email says it.
async fn emailed(app: &TestApp, org: &str, kind: &str, to: &str) -> String {
    let mail = app
        .state
        .core
        .store
        .list_outbox(&OrgId::from(org))
        .await
        .unwrap();
    let m = mail
        .iter()
        .rev()
        .find(|m| m.kind == kind && m.recipient.eq_ignore_ascii_case(to))
        .unwrap_or_else(|| panic!("a {kind} email to {to}"));
    let p = &m.payload;
    p["verify_link"]
        .as_str()
        .or(p["link"].as_str())
        .unwrap()
        .to_owned()
}

/// Accepts the invitation last emailed to `email` in `org` the one way a `google-oauth2`
/// member's invitation is accepted: its hosted page's button, signing in upstream as `email`,
/// with a request of a client of `org` (made here) carried. The member's id and access token.
pub(crate) async fn accept_upstream(
    app: &TestApp,
    up: &Upstream,
    org: &Org,
    email: &str,
) -> (String, String) {
    let (id, secret) = client(app, org, false, &[REDIRECT]).await;
    let mailed = emailed(app, &org.id, "invitation", email).await;
    let mut b = Browser::new(app);
    let page = b.get(&landing(&mailed, &request(&id, "st-up"))).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let href = link(&page, "Continue with Google");
    let back = follow_upstream(app, up, &mut b, &href, email).await;
    let t = code_tokens(app, &org.id, &id, &secret.unwrap(), &back).await;
    let sub = claims(t["id_token"].as_str().unwrap())["sub"]
        .as_str()
        .unwrap()
        .to_owned();
    (sub, t["access_token"].as_str().unwrap().to_owned())
}

/// The form of a landing page, with `password` when given, posted to its action.
async fn post_form(b: &mut Browser, page: &Page, password: Option<&str>) -> Page {
    let start = page.body.find("action=\"").expect("a form") + 8;
    let action = page.body[start..start + page.body[start..].find('"').unwrap()].to_owned();
    let mut fields = page.hidden_fields();
    if let Some(p) = password {
        fields.push(("password".into(), p.into()));
    }
    b.post(&action.replace("&amp;", "&"), &fields).await
}

fn assert_hosted_page(page: &Page) {
    let h = |n: &str| {
        page.headers
            .get(n)
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default()
    };
    assert!(h("content-security-policy").contains("default-src 'none'"));
    assert_eq!(h("x-frame-options"), "DENY");
    assert_eq!(h("referrer-policy"), "no-referrer");
    assert_eq!(h("cache-control"), "no-store");
    assert!(!page.body.contains("<script"));
}

async fn exchange(app: &TestApp, id: &str, done: &Page, state: &str) -> Value {
    assert_eq!(done.status, 303, "{}", done.body);
    assert!(done
        .location()
        .unwrap()
        .starts_with(&format!("{REDIRECT}?")));
    let p = done.redirect_params();
    assert_eq!(p["state"], state);
    let (status, t) = token(
        app,
        "acme",
        &[
            ("grant_type", "authorization_code"),
            ("code", &p["code"]),
            ("client_id", id),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
        ],
        None,
    )
    .await;
    assert_eq!(status, 200, "{t}");
    claims(t["id_token"].as_str().unwrap())
}

#[tokio::test]
async fn an_invitation_sets_a_first_password_and_continues_to_the_clients_redirect() {
    let app = TestApp::spawn().await;
    let (acme, _) = org_with_password(&app, "acme").await;
    let (id, _) = client(&app, &acme, true, &[REDIRECT]).await;
    invite(&app, &acme, "ivy@acme.test", json!(null)).await;
    let link = emailed(&app, "acme", "invitation", "ivy@acme.test").await;
    assert!(
        link.contains("/realms/acme/login-actions/verify?token="),
        "{link}"
    );
    let mut b = Browser::new(&app);
    let path = landing(&link, &request(&id, "st-inv"));
    let page = b.get(&path).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert_hosted_page(&page);
    assert!(page.body.contains("ivy@acme.test"));
    assert!(page
        .body
        .contains("<label for=\"password\">New password</label>"));
    assert!(!page.body.contains("Continue with"), "{}", page.body);
    // A GET used nothing: the page opens again.
    assert_eq!(b.get(&path).await.status, 200);
    // A password the policy refuses shows the form again; the link still works.
    let weak = post_form(&mut b, &page, Some("short")).await;
    assert_eq!(weak.status, 400, "{}", weak.body);
    assert!(weak.body.contains("role=\"alert\""));
    assert!(weak.body.contains("name=\"password\""));
    let done = post_form(&mut b, &weak, Some(NEW_PASSWORD)).await;
    let c = exchange(&app, &id, &done, "st-inv").await;
    let ivy = member(&app, "acme", "ivy@acme.test").await;
    assert_eq!(c["sub"], ivy.id.as_str());
    assert_eq!(c["nonce"], "n-0S6_WzA2Mj");
    assert_eq!(ivy.status, roster_domain::model::UserStatus::Active);
    // The link is spent; the browser's session signs in at once; the password works.
    assert_eq!(b.get(&path).await.status, 410);
    let again = b.get(&auth_path("acme", &request(&id, "st-2"))).await;
    assert_eq!(again.status, 303, "{}", again.body);
    let mut other = Browser::new(&app);
    let form = other.get(&auth_path("acme", &request(&id, "st-3"))).await;
    let signed = sign_in_on(&mut other, "acme", &form, "ivy@acme.test", NEW_PASSWORD).await;
    assert_eq!(signed.status, 303, "{}", signed.body);
}

#[tokio::test]
async fn without_a_client_an_invitation_ends_signed_in_and_that_session_serves_the_next_client() {
    let app = TestApp::spawn().await;
    let (acme, _) = org_with_password(&app, "acme").await;
    let (id, _) = client(&app, &acme, true, &[REDIRECT]).await;
    invite(&app, &acme, "ivy@acme.test", json!(null)).await;
    let link = emailed(&app, "acme", "invitation", "ivy@acme.test").await;
    let mut b = Browser::new(&app);
    let page = b.get(&landing(&link, &[("ui_locales", "es")])).await;
    assert!(page.body.contains("<html lang=\"es\""), "{}", page.body);
    let done = post_form(&mut b, &page, Some(NEW_PASSWORD)).await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert_hosted_page(&done);
    assert!(done.body.contains("Ha iniciado sesión"), "{}", done.body);
    assert!(done.location().is_none());
    assert!(b.cookies.contains_key("roster_sso_acme"), "{:?}", b.cookies);
    let next = b.get(&auth_path("acme", &request(&id, "st-n"))).await;
    let c = exchange(&app, &id, &next, "st-n").await;
    assert_eq!(c["email"], "ivy@acme.test");
}

/// Amigo's invitation carries the application's `login_link`: once accepted on the hosted
/// page, the page leads there (a link, never with a token).
#[tokio::test]
async fn an_invitation_with_a_login_link_leads_there_once_accepted() {
    let app = TestApp::spawn().await;
    let acme = app.bootstrap("acme").await;
    let body = json!({
        "first_name": "Ana", "last_name": "Souza", "email": "ana@acme.test",
        "role_name": "DefaultUserRole", "login_link": "https://app.example.com/login?x=1&y=2",
    });
    app.post("/v1/acme/user/", &acme.token, body)
        .await
        .expect(201);
    let mailed = emailed(&app, "acme", "invitation", "ana@acme.test").await;
    let token = &mailed[mailed.find("token=").unwrap() + 6..];
    let mut b = Browser::new(&app);
    let page = b
        .get(&format!("/realms/acme/login-actions/verify?token={token}"))
        .await;
    let done = post_form(&mut b, &page, Some(NEW_PASSWORD)).await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert!(
        done.body
            .contains("href=\"https://app.example.com/login?x=1&amp;y=2\""),
        "{}",
        done.body
    );
    assert!(!done.body.contains("access_token"));
}

/// Nothing a landing link carries redirects anywhere unregistered; the form is refused when it
/// is missing its token, comes from another browser, or was changed since it was served; and
/// none of that spends the invitation.
#[tokio::test]
async fn a_landing_link_never_redirects_anywhere_unregistered_and_its_form_is_bound() {
    let app = TestApp::spawn().await;
    let (acme, _) = org_with_password(&app, "acme").await;
    const OTHER: &str = "https://app.example.test/other";
    let (id, _) = client(&app, &acme, true, &[REDIRECT, OTHER]).await;
    let (globex, _) = org_with_password(&app, "globex").await;
    let (foreign, _) = client(&app, &globex, true, &[REDIRECT]).await;
    invite(&app, &acme, "ivy@acme.test", json!(null)).await;
    let link = emailed(&app, "acme", "invitation", "ivy@acme.test").await;
    let with = |k: &'static str, v: &'static str| {
        let mut r = request(&id, "st-x");
        r.retain(|(name, _)| *name != k);
        r.push((k, v));
        r
    };
    let foreign_request = request(&foreign, "st-x");
    let mut b = Browser::new(&app);
    for (what, extra) in [
        (
            "unregistered",
            with("redirect_uri", "https://evil.example.test/cb"),
        ),
        (
            "look-alike",
            with("redirect_uri", "https://app.example.test/cb/"),
        ),
        ("unknown client", with("client_id", "nobody")),
        ("another organization's client", foreign_request.clone()),
        ("no PKCE", {
            let mut r = request(&id, "st-x");
            r.retain(|(k, _)| !k.starts_with("code_challenge"));
            r
        }),
    ] {
        let page = b.get(&landing(&link, &extra)).await;
        assert_eq!(page.status, 400, "{what}: {}", page.body);
        assert!(page.location().is_none(), "{what}");
        assert!(!page.body.contains("name=\"password\""), "{what}");
    }
    let repeated = b
        .get(&format!(
            "{}&redirect_uri={REDIRECT}",
            landing(&link, &request(&id, "s"))
        ))
        .await;
    assert_eq!(repeated.status, 400);

    let page = b.get(&landing(&link, &request(&id, "st-ok"))).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let action = "/realms/acme/login-actions/verify";
    let base = || {
        let mut f = page.hidden_fields();
        f.push(("password".into(), NEW_PASSWORD.into()));
        f
    };
    let changed = |name: &str, value: &str| {
        let mut f = base();
        for (k, v) in f.iter_mut() {
            if k == name {
                *v = value.to_owned();
            }
        }
        f
    };
    for (what, fields) in [
        (
            "no csrf",
            base().into_iter().filter(|(k, _)| k != "csrf").collect(),
        ),
        (
            "another registered redirect",
            changed("redirect_uri", OTHER),
        ),
        (
            "unregistered redirect",
            changed("redirect_uri", "https://evil.example.test/cb"),
        ),
        ("forged state", changed("state", "forged")),
        ("forged csrf", changed("csrf", "AAAA")),
    ] {
        let r = b.post(action, &fields).await;
        assert_eq!(r.status, 400, "{what}: {}", r.body);
        assert!(r.location().is_none(), "{what}");
    }
    let mut elsewhere = Browser::new(&app);
    let r = elsewhere.post(action, &base()).await;
    assert_eq!(r.status, 400, "{}", r.body);
    // Under another organization's realm the link is no link at all.
    let g = b
        .get(&landing(&link, &[]).replace("/realms/acme/", "/realms/globex/"))
        .await;
    assert_eq!(g.status, 410, "{}", g.body);
    // The invitation still works, once.
    let done = b.post(action, &base()).await;
    assert_eq!(done.status, 303, "{}", done.body);
    assert!(done
        .location()
        .unwrap()
        .starts_with(&format!("{REDIRECT}?")));
    assert_eq!(b.post(action, &base()).await.status, 410);
}

#[tokio::test]
async fn a_reset_link_sets_the_password_and_shows_the_sign_in_form_of_the_carried_request() {
    let app = TestApp::spawn().await;
    let (acme, _) = org_with_password(&app, "acme").await;
    let (id, _) = client(&app, &acme, true, &[REDIRECT]).await;
    // A member with a password (a reset ends the member's sessions: not the administrator's).
    let email = "rita@acme.test";
    invite(&app, &acme, email, json!(null)).await;
    let invited = app.emailed_invitation("acme", email).await;
    assert_eq!(
        app.verify_with_password("acme", &invited, "Ritas-pass-1")
            .await,
        200
    );
    let rita = member(&app, "acme", email).await;
    let reset_path = format!("/users/{}/password-reset", rita.id);
    let reset = || app.oum(Method::POST, &reset_path, &acme.token, None);
    reset().await.expect(204);
    let link = emailed(&app, "acme", "password_reset", email).await;
    assert!(
        link.contains("/login-actions/reset-credentials?token="),
        "{link}"
    );
    // Without a request: the page sets it and says so.
    let mut b = Browser::new(&app);
    let page = b.get(&landing(&link, &[("ui_locales", "ja")])).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert_hosted_page(&page);
    assert!(page.body.contains("<html lang=\"ja\""));
    let weak = post_form(&mut b, &page, Some("short")).await;
    assert_eq!(weak.status, 400, "{}", weak.body);
    let done = post_form(&mut b, &weak, Some("First-new-pass1")).await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert!(done.body.contains("role=\"status\""), "{}", done.body);
    assert_eq!(b.get(&landing(&link, &[])).await.status, 410);

    // With one: the sign-in form of that request, where the new password signs in.
    reset().await.expect(204);
    let link = emailed(&app, "acme", "password_reset", email).await;
    let mut b = Browser::new(&app);
    let page = b.get(&landing(&link, &request(&id, "st-r"))).await;
    let form = post_form(&mut b, &page, Some("Second-new-pass1")).await;
    assert_eq!(form.status, 200, "{}", form.body);
    assert!(
        form.body.contains("Your new password is set"),
        "{}",
        form.body
    );
    let done = sign_in_on(&mut b, "acme", &form, email, "Second-new-pass1").await;
    exchange(&app, &id, &done, "st-r").await;
}

/// A person invited with `google-oauth2` sees its button and no password form; signing in
/// there accepts the invitation and continues: to the client when the link carries a request,
/// else to the signed-in page.
#[tokio::test]
async fn a_connection_invitation_offers_its_button_and_no_password_form() {
    let (app, up) = with_upstream().await;
    let (acme, id, secret) = setup(&app).await;
    for (who, carried) in [("gina@acme.test", true), ("gus@acme.test", false)] {
        invite(&app, &acme, who, json!("google-oauth2")).await;
        let mailed = emailed(&app, "acme", "invitation", who).await;
        let extra = if carried {
            request(&id, "st-up")
        } else {
            vec![]
        };
        let mut b = Browser::new(&app);
        let page = b.get(&landing(&mailed, &extra)).await;
        assert_eq!(page.status, 200, "{}", page.body);
        assert_hosted_page(&page);
        assert!(!page.body.contains("name=\"password\""), "{}", page.body);
        assert!(!page.body.contains("<form"), "{}", page.body);
        let href = link(&page, "Continue with Google");
        assert!(href
            .starts_with("/realms/acme/protocol/openid-connect/auth/connections/google-oauth2?"));
        // No form to post: a post of the token alone accepts nothing.
        let refused = b
            .post(
                "/realms/acme/login-actions/verify",
                &[(
                    "token".to_owned(),
                    mailed[mailed.find("token=").unwrap() + 6..].to_owned(),
                )],
            )
            .await;
        assert_eq!(refused.status, 400, "{}", refused.body);
        let back = follow_upstream(&app, &up, &mut b, &href, who).await;
        if carried {
            assert_eq!(back.status, 303, "{}", back.body);
            let p = back.redirect_params();
            let (status, t) = token(
                &app,
                "acme",
                &[
                    ("grant_type", "authorization_code"),
                    ("code", &p["code"]),
                    ("redirect_uri", REDIRECT),
                    ("code_verifier", VERIFIER),
                ],
                Some((&id, &secret)),
            )
            .await;
            assert_eq!(status, 200, "{t}");
        } else {
            assert_eq!(back.status, 200, "{}", back.body);
            assert!(back.body.contains("You are signed in"), "{}", back.body);
            assert!(b.cookies.contains_key("roster_sso_acme"));
        }
        let m = member(&app, "acme", who).await;
        assert_eq!(m.status, roster_domain::model::UserStatus::Active, "{who}");
    }
}

/// A member of a connection (`google-oauth2` here; an organization's SSO alike) signs in there
/// and nowhere else: no sign-in link is emailed to them, and one they hold (sent before their
/// organization moved them to the connection, say) starts no session on the landing page,
/// which offers the connection's button and no form, nor through any surface: the core
/// refuses to use it, and leaves it unused.
#[tokio::test]
async fn a_connection_members_sign_in_link_starts_no_session() {
    use roster_domain::model::{OneTimeToken, TokenOwner, UserStatus};
    use roster_domain::store::Effects;

    let (app, up) = with_upstream().await;
    let (acme, id, _) = setup(&app).await;
    let who = "gwen@acme.test";
    invite(&app, &acme, who, json!("google-oauth2")).await;
    accept_upstream(&app, &up, &acme, who).await;
    let gwen = member(&app, "acme", who).await;
    assert_eq!(gwen.status, UserStatus::Active);

    app.anon(
        "/v1/acme/user/signin",
        json!({ "email": who, "redirect_link": "https://app.acme.example/in" }),
    )
    .await
    .expect(200);
    let mail = app
        .state
        .core
        .store
        .list_outbox(&OrgId::from("acme"))
        .await
        .unwrap();
    assert!(
        !mail.iter().any(|m| m.kind == "magic_link"),
        "a sign-in link was emailed to a google-oauth2 member"
    );

    let secret = "a-sign-in-link-gwen-held-0123456789abcdef";
    let mut fx = Effects::default();
    fx.tokens.push(OneTimeToken::new(
        secret,
        TokenOwner::from(&gwen),
        roster_domain::kinds::TokenPurpose::MagicLink,
        json!({ "redirect_link": "https://app.acme.example/in" }),
        600,
        roster_domain::types::session_stamp(),
    ));
    app.state.core.store.write_effects(fx).await.unwrap();

    let mut b = Browser::new(&app);
    let path = format!("/realms/acme/login-actions/verify?token={secret}");
    let page = b.get(&landing(&path, &request(&id, "st-ml"))).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(!page.body.contains("<form"), "{}", page.body);
    let href = link(&page, "Continue with Google");
    assert!(
        href.starts_with("/realms/acme/protocol/openid-connect/auth/connections/google-oauth2?")
    );

    // The core uses it through no route: not the API's exchange, not a direct call.
    app.anon("/v1/acme/user/verify", json!({ "token": secret }))
        .await
        .expect(401);
    let used = app
        .state
        .core
        .accept_link("req-ml", "acme", secret, None)
        .await;
    assert!(
        matches!(used, Err(roster_domain::Error::Unauthenticated)),
        "{used:?}"
    );
    assert!(!b.cookies.contains_key("roster_sso_acme"));
    // Refused, not spent: the page still opens (and still offers only the button).
    let again = b.get(&path).await;
    assert_eq!(again.status, 200, "{}", again.body);
    assert!(!again.body.contains("<form"), "{}", again.body);
}

/// A `google-oauth2` member's invitation is accepted by signing in upstream and nowhere else:
/// every surface that exchanges an invitation's token for a session refuses this one (the
/// API's exchange as JSON and as a form, and the core itself, which the hosted page's form
/// calls too; that page offers no form) as it refuses an unusable link, and leaves it unused,
/// so that the same link then accepts the invitation through the connection's button.
#[tokio::test]
async fn a_connection_members_invitation_link_is_not_exchanged_for_tokens() {
    use roster_domain::model::UserStatus;

    let (app, up) = with_upstream().await;
    let (acme, id, secret) = setup(&app).await;
    let who = "gail@acme.test";
    invite(&app, &acme, who, json!("google-oauth2")).await;
    let mailed = emailed(&app, "acme", "invitation", who).await;
    let held = mailed[mailed.find("token=").unwrap() + 6..].to_owned();

    // The API's exchange: as JSON, with a password or without; as the page's form.
    for body in [
        json!({ "token": held }),
        json!({ "token": held, "password": NEW_PASSWORD }),
    ] {
        app.anon("/v1/acme/user/verify", body).await.expect(401);
    }
    let mut b = Browser::new(&app);
    let posted = b
        .post(
            "/v1/acme/user/verify",
            &[("token".to_owned(), held.clone())],
        )
        .await;
    assert_eq!(posted.status, 410, "{}", posted.body);
    // The API's page of the link offers no form, only the hosted page.
    let api_page = b.get(&format!("/v1/acme/user/verify?token={held}")).await;
    assert_eq!(api_page.status, 200, "{}", api_page.body);
    assert!(!api_page.body.contains("<form"), "{}", api_page.body);
    let hosted = link(&api_page, "Continue to the sign-in page");
    assert_eq!(
        hosted,
        format!("/realms/acme/login-actions/verify?token={held}")
    );
    // The core, called directly, with or without a first password.
    for password in [None, Some(NEW_PASSWORD)] {
        let used = app
            .state
            .core
            .accept_link("req-inv", "acme", &held, password)
            .await;
        assert!(
            matches!(used, Err(roster_domain::Error::Unauthenticated)),
            "{used:?}"
        );
    }
    let still = member(&app, "acme", who).await;
    assert_eq!(still.status, UserStatus::Invited);
    assert!(app
        .state
        .core
        .store
        .password_hash(&still.identity_id)
        .await
        .unwrap()
        .is_none());

    // Not spent: the same link's page still offers the button, which accepts it upstream.
    let page = b.get(&landing(&mailed, &request(&id, "st-up"))).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let href = link(&page, "Continue with Google");
    let back = follow_upstream(&app, &up, &mut b, &href, who).await;
    let t = code_tokens(&app, "acme", &id, &secret, &back).await;
    assert_eq!(
        claims(t["id_token"].as_str().unwrap())["sub"],
        still.id.as_str()
    );
    assert_eq!(member(&app, "acme", who).await.status, UserStatus::Active);
}
