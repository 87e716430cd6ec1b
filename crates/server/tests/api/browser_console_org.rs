//! The console's organization, platform and time-zone pages in a real browser (Debian's
//! Chromium through playwright-core, JavaScript off, axe-core on every page):
//! `scripts/browser/console-org.mjs`. The platform administrator signs in, creates an
//! organization, switches into another one's console, renames it, adds a connection, an OIDC
//! client, a SCIM token and a webhook endpoint, and chooses a time zone; this test then checks
//! what the database holds. Screenshots go to `target/screenshots/console-org-*.png`.

use roster_domain::types::OrgId;
use std::path::PathBuf;
use std::time::Duration;

use serde_json::{json, Value};

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
    let (org, _) = org_with_password(&app, "managed").await;
    let screenshots = root.join("target/screenshots");
    let plan = json!({
        "base": app.base,
        "chromium": std::env::var("ROSTER_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into()),
        "screenshots": screenshots,
        "platform": platform.id,
        "email": email,
        "password": PASSWORD,
        "org": org.id,
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
    assert!(done["audited"].as_array().unwrap().len() >= 11, "{done:#}");
    for page in ["platform", "settings", "client-created", "timezone"] {
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
