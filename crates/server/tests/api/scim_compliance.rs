//! The SCIM compliance checker nobody here wrote: `scim2 … test` (PyPI scim2-cli, which runs
//! scim2-tester; exact versions from `scripts/scim-setup`) against an organization's base URL on
//! a live server, with a SCIM token.
//!
//! Every check must succeed, on each backend: no failure, and no check skipped (scim2-tester
//! skips what a server says it does not support, so a skip is a missing feature). The checker
//! names users by random UUIDs (`userName`), creates, reads, lists, searches (`POST /.search`),
//! replaces, patches and deletes users and groups, with members, external ids and projections
//! (docs/scim.md, "The compliance run").

use std::path::PathBuf;
use std::process::Command;

use crate::helpers::TestApp;

/// Every status scim2-cli prints before a check's title (scim2-tester's `Status`).
const STATUSES: &[&str] = &[
    "SUCCESS",
    "COMPLIANT",
    "ACCEPTABLE",
    "DEVIATION",
    "SKIPPED",
    "ERROR",
    "CRITICAL",
    "FAILURE",
];

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[tokio::test]
async fn scim2_tester_finds_nothing_wrong_and_skips_nothing() {
    let root = workspace();
    let setup = Command::new(root.join("scripts/scim-setup"))
        .status()
        .expect("run scripts/scim-setup");
    assert!(
        setup.success(),
        "scripts/scim-setup failed (it installs scim2-cli from PyPI)"
    );
    // The public URL is the server's own address, so that every `location` answers.
    let app = TestApp::spawn_with(|c| c.public_url = None).await;
    let org = app.bootstrap("acme").await;
    let token = crate::scim::token(&app, &org, None).await;
    let url = format!("{}/scim/v2/{}", app.base, org.id);
    let out = tokio::task::spawn_blocking(move || {
        Command::new(root.join("target/scim-venv/bin/scim2"))
            .args(["--url", &url, "test"])
            // The token in the environment, not on a command line others can read.
            .env("SCIM_CLI_HEADERS", format!("Authorization: Bearer {token}"))
            .output()
            .expect("run scim2")
    })
    .await
    .expect("joined");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let lines: Vec<&str> = text.lines().collect();
    let mut passed = 0;
    let mut other = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let Some((status, check)) = line.split_once(' ') else {
            continue;
        };
        if !STATUSES.contains(&status) {
            continue;
        }
        if status == "SUCCESS" {
            passed += 1;
        } else {
            let detail = lines.get(i + 1).copied().unwrap_or("").trim();
            other.push(format!("{status} {check}: {detail}"));
        }
    }
    eprintln!("scim2-tester: {passed} checks succeeded");
    assert!(
        passed >= 66,
        "the checker ran its checks ({passed} passed):\n{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        other.is_empty(),
        "checks that did not succeed:\n{}\n\nfull output:\n{text}",
        other.join("\n")
    );
    assert!(
        out.status.success(),
        "scim2 exited with {}:\n{text}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}
