//! The admin console in a real browser: Debian's Chromium driven by playwright-core with
//! JavaScript disabled, axe-core on every page (`scripts/browser-setup`), the script
//! `scripts/browser/console.mjs`. An organization of 100,000 users, as issue 17 asks (seeded
//! through the store's bulk insert, as eva's import writes them); the script signs in through
//! the hosted page, finds one user by search, sorts, pages to the end, invites and edits
//! someone, sees the rank refusal, deactivates and activates them, uploads a CSV with bad rows (an import job whose
//! page it follows to the end), exports, creates and rotates an API key, creates a role and
//! edits its grants (and sees a rank refusal), reads the audit log and signs out. This test
//! then checks what the database holds. Screenshots go to `target/screenshots/console-*.png`.

use roster_domain::types::OrgId;
use std::path::PathBuf;
use std::time::Duration;

use roster_domain::model::User;
use roster_domain::store::{Effects, NewIdentity};
use serde_json::{json, Value};

use crate::helpers::TestApp;
use crate::oidc_browser::{org_with_password, PASSWORD};

const SEEDED: usize = 100_000;

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `n` users in `org`, in transactions of a thousand (as eva's import batches them), through the store's bulk insert.
pub(crate) async fn seed(app: &TestApp, org: &str, n: usize) {
    let roles = app
        .state
        .core
        .store
        .list_roles(&OrgId::from(org))
        .await
        .unwrap();
    let member = roles
        .iter()
        .find(|r| r.name == "DefaultUserRole")
        .unwrap()
        .id
        .clone();
    let now = roster_domain::types::now_micros();
    let mut i = 0;
    while i < n {
        let mut rows = Vec::new();
        for j in i..(i + 1_000).min(n) {
            let (first, last, email) = if j == n / 2 {
                (
                    "Zanzibar".to_owned(),
                    "Quillfeather".to_owned(),
                    "quill@seed.example".to_owned(),
                )
            } else {
                (
                    format!("Person{j:06}"),
                    "Seed".to_owned(),
                    format!("p{j:06}@seed.example"),
                )
            };
            let user = User {
                status: roster_domain::model::UserStatus::Active,
                role_ids: vec![member.clone()],
                ..User::new(&OrgId::from(org), &email, &first, &last, now + j as i64)
            };
            let identity = NewIdentity::for_user(&user, true);
            rows.push((identity, user, Vec::new()));
        }
        let done = app
            .state
            .core
            .store
            .insert_users(rows, Effects::default())
            .await
            .unwrap();
        assert!(done.iter().all(|d| *d));
        i += 1_000;
    }
}

#[tokio::test]
async fn the_console_works_in_a_real_browser_at_100000_users_and_passes_axe() {
    let root = workspace();
    let setup = std::process::Command::new(root.join("scripts/browser-setup"))
        .status()
        .expect("run scripts/browser-setup");
    assert!(
        setup.success(),
        "scripts/browser-setup failed (it needs /usr/bin/chromium and npm)"
    );
    // The public URL is the server's own address: the console's redirect URI is there.
    let app = TestApp::spawn_with(|c| c.public_url = None).await;
    let (org, email) = org_with_password(&app, "cons").await;
    let t = std::time::Instant::now();
    seed(&app, &org.id, SEEDED).await;
    eprintln!(
        "browser_console: {SEEDED} users seeded in {:?}",
        t.elapsed()
    );
    let csv = root.join("target/console-bulk.csv");
    std::fs::write(
        &csv,
        "email;name;company;role;password;environmentUuid;environmentName;bot\n\
         one@browser.example;Bulk One;;ADMIN;;;;\n\
         two@browser.example;Bulk Two;;ADMIN;;;;\n\
         not-an-email;Bad Row;;ADMIN;;;;\n\
         short@browser.example;Only Two\n",
    )
    .unwrap();
    let screenshots = root.join("target/screenshots");
    let plan = json!({
        "base": app.base,
        "chromium": std::env::var("ROSTER_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into()),
        "screenshots": screenshots,
        "org": org.id,
        "email": email,
        "password": PASSWORD,
        "needle": "quillfea",
        "needle_email": "quill@seed.example",
        "last_email": email,
        "csv": csv,
    });
    let run = tokio::process::Command::new("node")
        .arg(root.join("scripts/browser/console.mjs"))
        .env("CONSOLE_PLAN", plan.to_string())
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(Duration::from_secs(300), run)
        .await
        .expect("the browser test finished within 300 s")
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
    eprintln!(
        "browser_console: {} pages checked in {} s; {}",
        done["audited"].as_array().map_or(0, Vec::len),
        done["seconds"],
        done["timed"]
    );
    assert!(done["audited"].as_array().unwrap().len() >= 18, "{done:#}");
    for page in [
        "users",
        "search",
        "user",
        "refused",
        "bulk-done",
        "key-created",
        "key-rotated",
        "activated",
        "role",
        "role-refused",
        "audit",
    ] {
        assert!(
            screenshots.join(format!("console-{page}.png")).is_file(),
            "{page}"
        );
    }
    // What the browser did is in the database, done by the core, audited on the console.
    let store = &app.state.core.store;
    let mut q = roster_domain::paging::UserQuery::new(10);
    q.emails_lower = vec!["invited@browser.example".into()];
    let invited = store.list_users(&OrgId::from(&org.id), &q).await.unwrap();
    assert_eq!(invited.len(), 1);
    assert_eq!(invited[0].first_name, "Ivy");
    assert_eq!(
        invited[0].preferences.timezone.as_deref(),
        Some("Asia/Tokyo")
    );
    assert_eq!(
        invited[0].status,
        roster_domain::model::UserStatus::Active,
        "activated again"
    );
    let roles = store.list_roles(&OrgId::from(&org.id)).await.unwrap();
    let made = roles
        .iter()
        .find(|r| r.name == "Browser readers")
        .expect("the role made in the browser");
    assert_eq!(made.grants.len(), 2, "{:?}", made.grants);
    assert!(!roles.iter().any(|r| r.name == "Browser owners"));
    let keys = store.list_api_keys(&OrgId::from(&org.id)).await.unwrap();
    assert!(keys
        .iter()
        .any(|k| k.name.as_deref() == Some("browser key")));
    let events = app
        .get(
            &format!(
                "/admin/v1/orgs/{}/audit-events?action=api_key.create",
                org.id
            ),
            &org.token,
        )
        .await
        .expect(200);
    assert_eq!(
        events["events"][0]["details"]["channel"], "console",
        "{events}"
    );
    let rotated = app
        .get(
            &format!(
                "/admin/v1/orgs/{}/audit-events?action=api_key.rotate",
                org.id
            ),
            &org.token,
        )
        .await
        .expect(200);
    assert_eq!(
        rotated["events"][0]["details"]["channel"], "console",
        "{rotated}"
    );
}
