//! Interoperability: Python authlib (PyPI, exact version, `scripts/authlib-venv`), a relying
//! party nobody here wrote, signs in against a live server through discovery, the hosted form
//! and the code flow with PKCE, verifies the ID token against the JWKS, calls userinfo,
//! refreshes, and uses the access token on the three surfaces (`scripts/oidc/rp.py`).

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

use crate::helpers::TestApp;
use crate::oidc_browser::{client, org_with_password, PASSWORD};

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[tokio::test]
async fn authlib_signs_in_with_the_code_flow_and_uses_the_tokens_on_every_surface() {
    let root = workspace();
    let venv = Command::new(root.join("scripts/authlib-venv"))
        .status()
        .expect("run scripts/authlib-venv");
    assert!(
        venv.success(),
        "scripts/authlib-venv failed (it installs authlib from PyPI)"
    );
    // The public URL is the server's own address, so that the discovered endpoints answer.
    let app = TestApp::spawn_with(|c| c.public_url = None).await;
    let (acme, email) = org_with_password(&app, "acme").await;
    let redirect = "http://127.0.0.1:9/callback";
    let (id, secret) = client(&app, &acme, false, &[redirect]).await;
    let mut rp = Command::new(root.join("target/authlib-venv/bin/python"));
    rp.arg(root.join("scripts/oidc/rp.py"))
        .env("RP_ISSUER", format!("{}/realms/acme", app.base))
        .env("RP_CLIENT_ID", &id)
        .env("RP_CLIENT_SECRET", secret.unwrap())
        .env("RP_REDIRECT_URI", redirect)
        .env("RP_ORG_UUID", &acme.uuid)
        .env("RP_USERNAME", &email)
        .env("RP_PASSWORD", PASSWORD);
    // Off the runtime's thread: the server answers on it meanwhile.
    let out = tokio::task::spawn_blocking(move || rp.output())
        .await
        .unwrap()
        .expect("run the relying party");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_str(stdout.trim()).expect("one JSON object");
    assert_eq!(v["sub"], acme.admin_id.as_str());
    assert_eq!(v["email"], email.as_str());
    assert_eq!(v["userinfo_email"], email.as_str());
    assert_eq!(v["org"], "acme");
    for surface in ["amigo", "eva", "oum", "refreshed_amigo"] {
        assert_eq!(v[surface], 200, "{surface}: {v}");
    }
    assert_eq!(v["tampered_id_token"], "refused");
    assert_eq!(v["wrong_verifier"], "invalid_grant");
    assert_eq!(v["forged_state"], "refused");
}
