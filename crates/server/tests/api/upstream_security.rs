//! What an organization's own upstream provider can never do: vouch for a person beyond that
//! organization, or stand in for another organization's provider of the same name.

use reqwest::Method;
use roster_domain::types::OrgId;
use serde_json::json;

use crate::helpers::TestApp;
use crate::upstream::{
    code_tokens, invite, member, no_tamper, setup, sso_connection, through_button, to_callback,
    with_upstream,
};

async fn email_verified(app: &TestApp, org: &str, email: &str) -> bool {
    let m = member(app, org, email).await;
    let store = &app.state.core.store;
    let identity = store.get_identity(&m.identity_id).await.unwrap().unwrap();
    identity.email_verified
}

/// Organization acme's administrator points a connection of their own at an address domain
/// they do not hold, invites a member of organization beta with it and signs in as them there.
/// The session is good for acme only: it changes nothing that belongs to the person (their one
/// password, login email, privacy choices), and beta's password still signs in.
#[tokio::test]
async fn an_organizations_provider_never_takes_over_the_person_elsewhere() {
    let (app, up) = with_upstream().await;
    let beta = app.bootstrap("beta").await;
    let victim = "vic@corp.test";
    // A member who took beta's emailed invitation: their address is proven, their password set.
    invite(&app, &beta, victim, json!(null)).await;
    let link = app.emailed_invitation("beta", victim).await;
    assert_eq!(
        app.verify_with_password("beta", &link, "Vics-pw-123").await,
        200
    );
    assert!(email_verified(&app, "beta", victim).await);
    // Someone beta invited who has not accepted yet: no address anyone proved.
    invite(&app, &beta, "pat@corp.test", json!(null)).await;
    assert!(!email_verified(&app, "beta", "pat@corp.test").await);

    let (acme, id, secret) = setup(&app).await;
    app.eva_catalog("acme").await;
    sso_connection(&app, &up, &acme, "corp.test", false).await;
    for email in [victim, "pat@corp.test"] {
        app.call(
            Method::POST,
            "/users/invite",
            Some(&acme.token),
            Some(
                json!({ "email": email, "name": "Vic Tim", "roles": ["admin"],
                         "connection": "acme-sso" }),
            ),
            &[],
        )
        .await
        .expect(204);
    }
    let (_, done) = through_button(
        &app,
        &up,
        "acme",
        &id,
        "Continue with acme-sso",
        "pat@corp.test",
        no_tamper,
    )
    .await;
    code_tokens(&app, "acme", &id, &secret, &done).await;
    assert!(
        !email_verified(&app, "acme", "pat@corp.test").await,
        "an organization's provider vouches for nobody's address beyond it"
    );

    let (_, done) = through_button(
        &app,
        &up,
        "acme",
        &id,
        "Continue with acme-sso",
        victim,
        no_tamper,
    )
    .await;
    let t = code_tokens(&app, "acme", &id, &secret, &done).await;
    let session = t["access_token"].as_str().unwrap().to_owned();
    let me = member(&app, "acme", victim).await;
    assert_eq!(
        crate::oidc_browser::claims(&session)["amr"],
        json!(["sso"]),
        "{t}"
    );

    // The one password of the person.
    let r = app
        .eva(
            Method::PUT,
            &format!("/eva-user/org/{}/users/{}", acme.uuid, me.id),
            &session,
            Some(json!({ "name": "Vic Tim", "email": victim, "admin": true,
                         "environments": [], "password": "Taken-over-pw1",
                         "passwordConfirmation": "Taken-over-pw1" })),
        )
        .await;
    assert_eq!(r.status, 403, "{}", r.body);
    // Their login email and name.
    let r = app
        .call(
            Method::PATCH,
            "/users/me",
            Some(&session),
            Some(json!({ "email": "vic@evil.test" })),
            &[],
        )
        .await;
    assert_eq!(r.status, 403, "{}", r.body);
    // Whether administrators see their model and conversations.
    let hide =
        json!({ "conversations_visible_to_admins": false, "user_model_visible_to_admins": false });
    app.post(&format!("/v1/acme/user/{}", me.id), &session, hide)
        .await
        .expect(403);

    app.password_token(&beta, victim, "Vics-pw-123")
        .await
        .expect(200);
    let r = app.password_token(&beta, victim, "Taken-over-pw1").await;
    assert!(r.status.is_client_error(), "{} {}", r.status, r.body);
}

/// Two organizations each have a connection of the same name; their providers send the
/// browser back to different callbacks. A response to acme's sign-in brought to beta's callback
/// (where beta's provider, say, would be trusted) is refused; so is one whose `iss` (RFC 9207,
/// which this provider sends) names another issuer, or none.
#[tokio::test]
async fn a_state_for_one_organizations_connection_is_refused_at_anothers_callback() {
    let (app, up) = with_upstream().await;
    let (acme, id, secret) = setup(&app).await;
    sso_connection(&app, &up, &acme, "acme.test", false).await;
    invite(&app, &acme, "ed@acme.test", json!("acme-sso")).await;
    let beta = app.bootstrap("beta").await;
    app.post(
        "/admin/v1/orgs/beta/connections",
        &beta.token,
        json!({ "name": "acme-sso", "issuer": "https://idp.beta.test", "client_id": "b",
                "client_secret": "b-secret", "domains": ["acme.test"] }),
    )
    .await
    .expect(201);
    let ed = |tamper: fn(String) -> String| {
        let (app, up, id) = (&app, &up, id.clone());
        async move {
            let (mut b, back) = to_callback(
                app,
                up,
                "acme",
                &id,
                "Continue with acme-sso",
                "ed@acme.test",
                no_tamper,
            )
            .await;
            let back = tamper(back);
            let page = b.get(&back[app.base.len()..]).await;
            (b, back, page)
        }
    };
    let (_, back, page) = ed(|u| u.replace("/connections/acme/", "/connections/beta/")).await;
    assert!(
        back.contains("/connections/beta/acme-sso/callback?"),
        "{back}"
    );
    assert_eq!(page.status, 400, "{}", page.body);
    let (_, back, page) =
        ed(|u| u.replace("/connections/acme/acme-sso/", "/connections/google-oauth2/")).await;
    assert!(
        back.contains("/connections/google-oauth2/callback?"),
        "{back}"
    );
    assert_eq!(page.status, 400, "{}", page.body);
    // The provider's own issuer in `iss`, and the callback it was given: in.
    let (_, back, page) = ed(no_tamper).await;
    assert!(back.contains("iss="), "the provider sends iss: {back}");
    code_tokens(&app, "acme", &id, &secret, &page).await;
    // Another issuer in `iss`, or none.
    let (_, _, page) = ed(|u| {
        let (path, q) = u.split_once('?').unwrap();
        let q: Vec<(String, String)> = form_urlencoded::parse(q.as_bytes())
            .into_owned()
            .map(|(k, v)| {
                if k == "iss" {
                    (k, "https://idp.beta.test".into())
                } else {
                    (k, v)
                }
            })
            .collect();
        format!(
            "{path}?{}",
            form_urlencoded::Serializer::new(String::new())
                .extend_pairs(q)
                .finish()
        )
    })
    .await;
    assert_eq!(page.status, 400, "{}", page.body);
    let (_, _, page) = ed(|u| {
        let (path, q) = u.split_once('?').unwrap();
        let q: Vec<(String, String)> = form_urlencoded::parse(q.as_bytes())
            .into_owned()
            .filter(|(k, _)| k != "iss")
            .collect();
        format!(
            "{path}?{}",
            form_urlencoded::Serializer::new(String::new())
                .extend_pairs(q)
                .finish()
        )
    })
    .await;
    assert_eq!(page.status, 400, "{}", page.body);
    assert_eq!(
        crate::upstream::refusals(&app, "acme").await,
        ["iss_mismatch", "iss_missing"]
    );
}

/// Without `ROSTER_CONNECTION_ALLOW_PRIVATE` Roster calls no provider over plain http or at a
/// non-public address: the issuer an organization's administrator typed is not a way into the
/// deployment's network. Such an issuer is refused when the connection is made or changed (the
/// admin API and the CLI, naming the field); one already stored (made while the operator
/// allowed it) and the deployment's Google issuer are refused at their use: the sign-in ends on
/// the "provider unavailable" page.
#[tokio::test]
async fn no_provider_is_called_at_a_private_address_unless_the_operator_allows_it() {
    let mut up = crate::upstream::Upstream::start().await;
    let issuer = up.issuer.clone();
    assert!(issuer.starts_with("http://127.0.0.1"), "{issuer}");
    let app = TestApp::spawn_with(|c| {
        c.public_url = None;
        c.google_client_id = Some("roster-google".into());
        c.google_client_secret = Some("upstream-client-secret".into());
        c.google_issuer = issuer.clone();
        c.connection_allow_private = false;
    })
    .await;
    up.register(&app).await;
    let (acme, id, _) = setup(&app).await;
    let path = "/admin/v1/orgs/acme/connections";
    let private = [
        issuer.as_str(),
        "http://idp.acme.test",
        "https://127.0.0.1:8443",
        "https://localhost/realms/x",
        "https://idp.localhost",
        "https://10.0.0.7",
        "https://192.168.1.20/oidc",
        "https://169.254.169.254",
        "https://100.64.0.1",
        "https://[::1]:9443",
        "https://[fe80::1]",
        "https://[fd00::5]",
        "https://[::ffff:10.0.0.1]",
        "https://0.0.0.0",
        // IPv6 forms that carry or reach an IPv4 address by themselves, and site-local:
        // IPv4-compatible (`::/96`), IPv4-translated (`::ffff:0:0/96`), 6to4, Teredo.
        "https://[::a00:1]",
        "https://[::ffff:0:a00:1]",
        "https://[2002:a00:1::]",
        "https://[2001:0:4136:e378:8000:63bf:3fff:fdd2]",
        "https://[fec0::1]",
        // Every IPv4 spelling a client accepts of this machine.
        "https://127.1",
        "https://0x7f000001",
        "https://2130706433",
        "https://0",
    ];
    for bad in private {
        let r = app
            .call(
                Method::POST,
                path,
                Some(&acme.token),
                Some(
                    json!({ "name": "acme-sso", "issuer": bad, "client_id": "c1",
                             "client_secret": "s3cr3t", "domains": ["acme.test"] }),
                ),
                &[],
            )
            .await;
        assert_eq!(r.status, 422, "{bad}: {}", r.body);
        assert_eq!(
            r.body["detail"][0]["loc"],
            json!(["body", "issuer"]),
            "{bad}"
        );
        // (Plain http at a name other than loopback's is never an issuer, allowed or not.)
        let says = r.body.to_string();
        assert!(
            says.contains("ROSTER_CONNECTION_ALLOW_PRIVATE") || says.contains("use https://"),
            "{bad}: {says}"
        );
    }
    // A public issuer is taken, and cannot be changed to a private one either.
    app.post(
        path,
        &acme.token,
        json!({ "name": "acme-pub", "issuer": "https://idp.acme.test", "client_id": "c1",
                "client_secret": "s3cr3t", "domains": ["acme.test"] }),
    )
    .await
    .expect(201);
    let r = app
        .call(
            Method::PATCH,
            &format!("{path}/acme-pub"),
            Some(&acme.token),
            Some(json!({ "issuer": "https://10.1.2.3" })),
            &[],
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert_eq!(r.body["detail"][0]["loc"], json!(["body", "issuer"]));
    let kept = app
        .state
        .core
        .store
        .get_connection(&OrgId::from("acme"), "acme-pub")
        .await;
    assert_eq!(kept.unwrap().unwrap().issuer, "https://idp.acme.test");
    // The CLI refuses it too, naming the field, and writes nothing.
    let out = crate::upstream::roster_cli(&app)
        .env("ROSTER_CONNECTION_ALLOW_PRIVATE", "false")
        .env("ROSTER_CONNECTION_CLIENT_SECRET", "env-s3cr3t")
        .args([
            "connection",
            "create",
            "--org",
            "acme",
            "--name",
            "acme-sso",
        ])
        .args(["--issuer", "https://[::1]:9443", "--client-id", "cid"])
        .args(["--domain", "acme.test", "--json"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("issuer"), "{err}");
    assert!(err.contains("ROSTER_CONNECTION_ALLOW_PRIVATE"), "{err}");
    let none = app
        .state
        .core
        .store
        .get_connection(&OrgId::from("acme"), "acme-sso")
        .await;
    assert!(none.unwrap().is_none());

    // One stored while the operator allowed private providers is still not called.
    let now = roster_domain::types::now_micros();
    let stored = roster_domain::connections::UpstreamConnection {
        org_id: "acme".into(),
        name: "acme-sso".into(),
        issuer: issuer.clone(),
        client_id: crate::upstream::SSO_ID.into(),
        client_secret: crate::upstream::SECRET.into(),
        domains: vec!["acme.test".into()],
        link_password_accounts: false,
        created_at: now,
        updated_at: now,
    };
    app.state
        .core
        .store
        .insert_connection(&stored, roster_domain::store::Effects::default())
        .await
        .unwrap();
    for label in ["Continue with Google", "Continue with acme-sso"] {
        let mut b = crate::oidc_browser::Browser::new(&app);
        let page = b
            .get(&crate::oidc_browser::auth_path(
                "acme",
                &crate::oidc_browser::request(&id, "st-up"),
            ))
            .await;
        assert_eq!(page.status, 200, "{}", page.body);
        let go = b.get(&crate::upstream::link(&page, label)).await;
        assert_eq!(go.status, 502, "{label}: {}", go.body);
        assert!(go.location().is_none());
    }
}

/// What an update of a connection changed is in its audit event (never the secret), and the
/// CLI takes the secret from the environment or standard input instead of its command line.
#[tokio::test]
async fn connection_changes_are_audited_and_the_cli_reads_the_secret_off_the_command_line() {
    let app = TestApp::spawn_with(|c| c.public_url = Some("https://id.example.test".into())).await;
    let acme = app.bootstrap("acme").await;
    let path = "/admin/v1/orgs/acme/connections";
    app.post(
        path,
        &acme.token,
        json!({ "name": "acme-sso", "issuer": "https://idp.acme.test", "client_id": "c1",
                "client_secret": "s3cr3t", "domains": ["acme.test"] }),
    )
    .await
    .expect(201);
    app.call(
        Method::PATCH,
        &format!("{path}/acme-sso"),
        Some(&acme.token),
        Some(
            json!({ "issuer": "https://evil.acme.test", "client_secret": "n3w",
                     "link_password_accounts": true }),
        ),
        &[],
    )
    .await
    .expect(200);
    let events = app
        .state
        .core
        .store
        .list_audit(&OrgId::from("acme"), 500)
        .await
        .unwrap();
    let e = events
        .iter()
        .find(|e| e.action == "connection.updated")
        .expect("audited");
    assert_eq!(
        e.details["changes"],
        json!({ "issuer": { "from": "https://idp.acme.test", "to": "https://evil.acme.test" },
                "link_password_accounts": { "from": false, "to": true } })
    );
    assert_eq!(e.details["client_secret_changed"], true);
    assert!(!e.details.to_string().contains("n3w"));

    for (name, via_env) in [("okta", true), ("entra", false)] {
        let mut c = crate::upstream::roster_cli(&app);
        c.args(["connection", "create", "--org", "acme", "--name", name])
            .args(["--issuer", "https://acme.okta.test", "--client-id", "cid"])
            .args(["--domain", "acme.test", "--json"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        if via_env {
            c.env("ROSTER_CONNECTION_CLIENT_SECRET", "env-s3cr3t");
        } else {
            c.arg("--client-secret-stdin");
        }
        let mut child = c.spawn().unwrap();
        {
            use std::io::Write;
            let mut stdin = child.stdin.take().unwrap();
            if !via_env {
                stdin.write_all(b"stdin-s3cr3t\n").unwrap();
            }
        }
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let stored = app
            .state
            .core
            .store
            .get_connection(&OrgId::from("acme"), name)
            .await
            .unwrap()
            .unwrap();
        let want = if via_env {
            "env-s3cr3t"
        } else {
            "stdin-s3cr3t"
        };
        assert_eq!(stored.client_secret, want);
    }
}
