//! The SCIM compliance checker nobody here wrote: `scim2 … test` (PyPI scim2-cli, which runs
//! scim2-tester; exact versions from `scripts/scim-setup`) against an organization's base URL on
//! a live server, with a SCIM token.
//!
//! Every check must succeed but those Roster refuses by design, each listed in [`BY_DESIGN`]
//! with why (docs/scim.md, "The compliance run"): the list must match what fails exactly, so a
//! regression fails this test and so does a check that starts to pass.

use std::path::PathBuf;
use std::process::Command;

use crate::helpers::TestApp;

/// `(check, what its failure says)`: failures Roster answers on purpose.
const BY_DESIGN: &[(&str, &str, &str)] = &[
    // scim2-tester fills `userName` with a random UUID; Roster's userName is the login email,
    // so it refuses the user (400 invalidValue), and every User check that needs one fails.
    ("object_creation", "userName", "userName is the login email"),
    ("object_query", "userName", "userName is the login email"),
    (
        "object_query_without_id",
        "userName",
        "userName is the login email",
    ),
    (
        "object_query_with_attributes",
        "userName",
        "userName is the login email",
    ),
    (
        "object_list_with_attributes",
        "userName",
        "userName is the login email",
    ),
    (
        "search_with_attributes",
        "userName",
        "userName is the login email",
    ),
    (
        "object_replacement",
        "userName",
        "userName is the login email",
    ),
    ("object_deletion", "userName", "userName is the login email"),
    (
        "check_add_attribute",
        "userName",
        "userName is the login email",
    ),
    (
        "check_remove_attribute",
        "userName",
        "userName is the login email",
    ),
    (
        "check_replace_attribute",
        "userName",
        "userName is the login email",
    ),
    // Its Group checks add members it creates as Users with random userNames (see above).
    (
        "object_query_with_attributes",
        "user not found",
        "its members are such users",
    ),
    (
        "object_list_with_attributes",
        "user not found",
        "its members are such users",
    ),
    (
        "search_with_attributes",
        "user not found",
        "its members are such users",
    ),
    (
        "object_replacement",
        "user not found",
        "its members are such users",
    ),
    (
        "check_add_attribute",
        "user not found",
        "its members are such users",
    ),
    (
        "check_remove_attribute",
        "user not found",
        "its members are such users",
    ),
    (
        "check_replace_attribute",
        "user not found",
        "its members are such users",
    ),
    // Roles are not deleted through SCIM (grants and other surfaces name them).
    (
        "object_deletion",
        "roles are not deleted",
        "roles are not deleted",
    ),
    // A role keeps no externalId.
    (
        "check_add_attribute",
        "'externalId'",
        "a role keeps no externalId",
    ),
    (
        "check_replace_attribute",
        "'externalId'",
        "a role keeps no externalId",
    ),
];

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[tokio::test]
async fn scim2_tester_finds_nothing_wrong_but_what_roster_refuses_by_design() {
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
    let mut unexpected = Vec::new();
    let mut expected_seen = vec![0usize; BY_DESIGN.len()];
    for (i, line) in lines.iter().enumerate() {
        let Some((status, check)) = line.split_once(' ') else {
            continue;
        };
        let detail = lines.get(i + 1).copied().unwrap_or("").trim();
        match status {
            "SUCCESS" => passed += 1,
            "ERROR" | "CRITICAL" | "FAILURE" => {
                match BY_DESIGN
                    .iter()
                    .position(|(c, says, _)| *c == check && detail.contains(says))
                {
                    Some(n) => expected_seen[n] += 1,
                    None => unexpected.push(format!("{check}: {detail}")),
                }
            }
            _ => {}
        }
    }
    assert!(
        passed >= 25,
        "the checker ran its checks:\n{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        unexpected.is_empty(),
        "failures Roster does not intend:\n{}\n\nfull output:\n{text}",
        unexpected.join("\n")
    );
    let missing: Vec<String> = BY_DESIGN
        .iter()
        .zip(&expected_seen)
        .filter(|(_, n)| **n == 0)
        .map(|((c, says, why), _)| format!("{c} ({says}): {why}"))
        .collect();
    assert!(missing.is_empty(), "listed as refused by design but not failing any more (update BY_DESIGN and docs/scim.md):\n{}\n\n{text}", missing.join("\n"));
}
