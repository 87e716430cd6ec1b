//! The console's organization, platform and time-zone pages in a real browser (Debian's
//! Chromium through playwright-core, JavaScript off, axe-core on every page):
//! `scripts/browser/console-org.mjs`. The platform administrator signs in, creates an
//! organization, switches into another one's console, renames it, uploads its logo, adds a
//! connection, an OIDC client, a SCIM token and a webhook endpoint, chooses a time zone, and
//! changes an eva user's environments on the user's page; this test then checks what the
//! database holds. Screenshots go to `target/screenshots/console-org-*.png`.

use roster_domain::types::{OrgId, UserId};
use std::path::PathBuf;
use std::time::Duration;

use serde_json::{json, Value};

use crate::eva::{BOT, BOT2, PROD, STAGE};
use crate::helpers::TestApp;
use crate::oidc_browser::{org_with_password, PASSWORD};

#[tokio::test]
async fn the_organization_pages_work_in_a_real_browser_and_pass_axe() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let setup = std::process::Command::new(root.join("scripts/browser-setup"))
        .status()
        .expect("run scripts/browser-setup");
    assert!(setup.success(), "scripts/browser-setup failed");
    let app = TestApp::spawn_with(|c| c.public_url = None).await;
    let platform = crate::amigo_orgs::platform(&app).await;
    let email = app.give_admin_password(&platform, PASSWORD).await;
    let (org, admin_email) = org_with_password(&app, "managed").await;
    // An eva user of the managed organization, an EDITOR of Production with the bot Main.
    app.eva_catalog(&org.id).await;
    let token = app.password_token(&org, &admin_email, PASSWORD).await;
    let token = token.body["access_token"].as_str().unwrap().to_owned();
    let eva_user = app
        .eva(
            reqwest::Method::POST,
            &format!("/eva-user/org/{}/users?language=en", org.uuid),
            &token,
            Some(json!({ "name": "Eva Editor", "email": "eva@managed.example", "admin": false,
                "environments": [{ "role": "EDITOR", "environment": { "uuid": PROD }, "bots": [{ "uuid": BOT }] }],
                "password": "Secr3t!x", "passwordConfirmation": "Secr3t!x" })),
        )
        .await
        .expect(200)["uuid"]
        .as_str()
        .unwrap()
        .to_owned();
    let screenshots = root.join("target/screenshots");
    let plan = json!({
        "base": app.base,
        "chromium": std::env::var("ROSTER_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into()),
        "screenshots": screenshots,
        "platform": platform.id,
        "email": email,
        "password": PASSWORD,
        "org": org.id,
        "eva_user": eva_user,
        "logo": root.join("scripts/browser/logo.png"),
    });
    let run = tokio::process::Command::new("node")
        .arg(root.join("scripts/browser/console-org.mjs"))
        .env("CONSOLE_PLAN", plan.to_string())
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(Duration::from_secs(240), run)
        .await
        .expect("the browser test finished within 240 s")
        .expect("run node");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let done: Value = stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find_map(|v| v.get("done").cloned())
        .unwrap_or(Value::Null);
    assert!(
        out.status.success() && done["failures"].as_array().is_some_and(Vec::is_empty),
        "the browser found problems:\n{}\n{done:#}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(done["audited"].as_array().unwrap().len() >= 14, "{done:#}");
    for page in [
        "platform",
        "settings",
        "branding-saved",
        "client-created",
        "timezone",
        "user-envs",
        "user-envs-saved",
    ] {
        assert!(
            screenshots
                .join(format!("console-org-{page}.png"))
                .is_file(),
            "{page}"
        );
    }
    let core = &app.state.core;
    assert_eq!(core.find_org("browserco").await.unwrap().name, "Browser Co");
    let managed = core.find_org("managed").await.unwrap();
    assert_eq!(managed.name, "Managed <b>Org</b>");
    assert_eq!(
        managed.default_preferences.timezone.as_deref(),
        Some("Europe/Lisbon")
    );
    assert_eq!(
        core.store
            .list_oidc_clients(&OrgId::from("managed"))
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        core.store
            .list_webhooks(&OrgId::from("managed"))
            .await
            .unwrap()
            .len(),
        1
    );
    let logo = std::fs::read(root.join("scripts/browser/logo.png")).unwrap();
    use base64::Engine;
    assert_eq!(
        managed.branding["logo"],
        base64::engine::general_purpose::STANDARD.encode(logo)
    );
    let envs = core
        .store
        .env_access(&OrgId::from(org.id.as_str()), &[UserId::from(&eva_user)])
        .await
        .unwrap();
    let mut envs: Vec<_> = envs.into_iter().map(|(_, a)| a).collect();
    envs.sort_by(|a, b| a.environment_uuid.cmp(&b.environment_uuid));
    assert_eq!(envs.len(), 2, "{envs:?}");
    assert!(envs
        .iter()
        .any(|e| e.environment_uuid == PROD && e.bots == [BOT.to_owned(), BOT2.to_owned()]));
    assert!(envs
        .iter()
        .any(|e| e.environment_uuid == STAGE && e.role.as_str() == "SUPERVISOR"));
    let events = app
        .get(
            "/admin/v1/orgs/managed/audit-events?action=organization.modify",
            &org.token,
        )
        .await
        .expect(200);
    assert_eq!(
        events["events"][0]["details"]["channel"], "console",
        "{events}"
    );
}
