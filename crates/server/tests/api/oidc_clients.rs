//! OpenID Connect clients of an organization: the native admin API and
//! `roster oidc-client create`.

use roster_domain::types::OrgId;
use std::process::Command;

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::TestApp;

fn clients_path(org: &str) -> String {
    format!("/admin/v1/orgs/{org}/oidc-clients")
}

#[tokio::test]
async fn clients_are_registered_listed_changed_and_deleted_and_secrets_shown_once() {
    let app = TestApp::spawn().await;
    let acme = app.bootstrap("acme").await;
    let path = clients_path("acme");
    let made = app
        .post(
            &path,
            &acme.token,
            json!({ "name": "Web app", "redirect_uris": ["https://app.example.test/cb", "http://127.0.0.1:9000/cb"] }),
        )
        .await
        .expect(201);
    let id = made["client_id"].as_str().unwrap().to_owned();
    let secret = made["client_secret"].as_str().unwrap().to_owned();
    assert!(secret.len() >= 40, "a long random secret: {made}");
    assert_eq!(made["public"], false);
    let spa = app
        .post(
            &path,
            &acme.token,
            json!({ "name": "SPA", "redirect_uris": ["https://spa.example.test/"], "public": true }),
        )
        .await
        .expect(201);
    assert!(
        spa.get("client_secret").is_none(),
        "a public client has no secret: {spa}"
    );

    // Listed without secrets; stored as a hash only.
    let list = app.get(&path, &acme.token).await.expect(200);
    let text = list.to_string();
    assert!(!text.contains(&secret), "{text}");
    assert_eq!(list["clients"].as_array().unwrap().len(), 2);
    let stored = app
        .state
        .core
        .store
        .get_oidc_client(&OrgId::from("acme"), &id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        stored.secret_hash.as_deref(),
        Some(roster_domain::secrets::hash_secret(&secret).as_str())
    );

    // Changed: only what is given.
    let changed = app
        .call(
            Method::PATCH,
            &format!("{path}/{id}"),
            Some(&acme.token),
            Some(json!({ "redirect_uris": ["https://app.example.test/callback"] })),
            &[],
        )
        .await
        .expect(200);
    assert_eq!(changed["name"], "Web app");
    assert_eq!(
        changed["redirect_uris"],
        json!(["https://app.example.test/callback"])
    );

    // Deleted, then gone.
    let gone = app.delete(&format!("{path}/{id}"), &acme.token).await;
    assert_eq!(gone.status, 204);
    assert_eq!(
        app.delete(&format!("{path}/{id}"), &acme.token)
            .await
            .status,
        404
    );
    let list = app.get(&path, &acme.token).await.expect(200);
    assert_eq!(list["clients"].as_array().unwrap().len(), 1);
    let audit: Vec<String> = app
        .state
        .core
        .store
        .list_audit(&OrgId::from("acme"), 100)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect();
    for a in [
        "oidc_client.created",
        "oidc_client.updated",
        "oidc_client.deleted",
    ] {
        assert!(audit.iter().any(|x| x == a), "{a} in {audit:?}");
    }
}

#[tokio::test]
async fn bad_clients_get_422_naming_the_field_and_nothing_is_stored() {
    let app = TestApp::spawn().await;
    let acme = app.bootstrap("acme").await;
    let path = clients_path("acme");
    let cases: [(Value, &str); 9] = [
        (
            json!({ "name": "x", "redirect_uris": ["http://app.example.test/cb"] }),
            "redirect_uris.0",
        ),
        (
            json!({ "name": "x", "redirect_uris": ["https://app.example.test/cb#frag"] }),
            "redirect_uris.0",
        ),
        (
            json!({ "name": "x", "redirect_uris": ["https://ok.example.test/", "https://user@evil.example.test/"] }),
            "redirect_uris.1",
        ),
        (
            json!({ "name": "x", "redirect_uris": ["javascript:alert(1)"] }),
            "redirect_uris.0",
        ),
        (
            json!({ "name": "x", "redirect_uris": ["/relative"] }),
            "redirect_uris.0",
        ),
        (json!({ "name": "x", "redirect_uris": [] }), "redirect_uris"),
        (
            json!({ "name": "  ", "redirect_uris": ["https://a.example.test/"] }),
            "name",
        ),
        (
            json!({ "redirect_uris": ["https://a.example.test/"] }),
            "name",
        ),
        (
            json!({ "name": "x", "redirect_uris": ["https://a.example.test/"], "secret_hash": "x" }),
            "secret_hash",
        ),
    ];
    for (body, field) in cases {
        let r = app.post(&path, &acme.token, body.clone()).await;
        assert_eq!(r.status, 422, "{body}: {}", r.body);
        let names: Vec<String> = r.body["detail"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| {
                d["loc"].as_array().unwrap()[1..]
                    .iter()
                    .map(|p| {
                        p.as_str()
                            .map(str::to_owned)
                            .unwrap_or_else(|| p.to_string())
                    })
                    .collect::<Vec<_>>()
                    .join(".")
            })
            .collect();
        assert!(
            names.iter().any(|n| n == field),
            "{body}: {field} in {names:?}"
        );
    }
    let list = app.get(&path, &acme.token).await.expect(200);
    assert_eq!(list["clients"], json!([]));
}

#[tokio::test]
async fn the_cli_creates_a_client_and_prints_its_secret_once() {
    let app = TestApp::spawn().await;
    app.bootstrap("acme").await;
    let run = |public: bool| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_roster"));
        for (k, _) in std::env::vars() {
            if k.starts_with("ROSTER_") {
                c.env_remove(k);
            }
        }
        c.env("ROSTER_DATA_DIR", &app.data_dir)
            .env("ROSTER_DATABASE_URL", &app.database_url)
            .env("ROSTER_PUBLIC_URL", "https://id.example.test")
            .args([
                "oidc-client",
                "create",
                "--org",
                "acme",
                "--name",
                "CLI app",
            ])
            .args(["--redirect-uri", "https://cli.example.test/cb"])
            .args(["--redirect-uri", "http://localhost:8000/cb", "--json"]);
        if public {
            c.arg("--public");
        }
        let out = c.output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice::<Value>(&out.stdout).unwrap()
    };
    let confidential = run(false);
    assert_eq!(
        confidential["issuer"],
        "https://id.example.test/realms/acme"
    );
    let secret = confidential["client_secret"].as_str().unwrap();
    let id = confidential["client_id"].as_str().unwrap();
    let stored = app
        .state
        .core
        .store
        .get_oidc_client(&OrgId::from("acme"), id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        stored.redirect_uris,
        ["https://cli.example.test/cb", "http://localhost:8000/cb"]
    );
    assert_eq!(
        stored.secret_hash.as_deref(),
        Some(roster_domain::secrets::hash_secret(secret).as_str())
    );
    let public = run(true);
    assert_eq!(public["public"], true);
    assert!(public.get("client_secret").is_none(), "{public}");

    // A bad redirect URI stops the command with the reason.
    let out = Command::new(env!("CARGO_BIN_EXE_roster"))
        .env("ROSTER_DATA_DIR", &app.data_dir)
        .env("ROSTER_DATABASE_URL", &app.database_url)
        .args([
            "oidc-client",
            "create",
            "--org",
            "acme",
            "--name",
            "x",
            "--redirect-uri",
            "http://evil.example/cb",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("redirect_uris"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
