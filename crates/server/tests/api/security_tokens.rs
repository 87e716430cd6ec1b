//! Tokens under attack, on all three surfaces (Amigo, eva, org-user-management), each answering
//! 401 in its own error shape: forged algorithms and keys, bad signatures, stale or early times,
//! foreign issuers and audiences, key-fetching headers; key rotation's overlap window; and
//! sessions that end at once when what they rest on changes.

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use reqwest::Method;
use roster_domain::types::OrgId;
use serde_json::{json, Value};

use crate::helpers::{Org, TestApp};

const ISSUER: &str = "https://roster.example.test";

/// One authenticated read per surface; its 401 must be in that surface's shape.
async fn refused_everywhere(app: &TestApp, org: &Org, token: &str, what: &str) {
    let amigo = app.get("/v1/acme/role/", token).await;
    assert_eq!(amigo.status, 401, "amigo accepted {what}: {}", amigo.body);
    assert_eq!(
        amigo.body,
        json!({ "detail": "Invalid authorization credentials." }),
        "{what}"
    );
    let path = format!("/org/{}/users/identity-provider", org.uuid);
    let eva = app.eva(Method::GET, &path, token, None).await;
    assert_eq!(eva.status, 401, "eva accepted {what}: {}", eva.body);
    assert_eq!(
        (eva.body["errorCode"].as_str(), eva.body["path"].as_str()),
        (Some("USER-401"), Some(path.as_str())),
        "{what}"
    );
    let oum = app.get("/users/me", token).await;
    assert_eq!(oum.status, 401, "org-user-management accepted {what}");
    assert_eq!(
        oum.body,
        json!({ "detail": "Invalid authorization credentials." }),
        "{what}"
    );
}

async fn accepted_everywhere(app: &TestApp, org: &Org, token: &str, what: &str) {
    let amigo = app.get("/v1/acme/role/", token).await;
    assert_eq!(amigo.status, 200, "amigo refused {what}: {}", amigo.body);
    let path = format!("/org/{}/users/identity-provider", org.uuid);
    let eva = app.eva(Method::GET, &path, token, None).await;
    assert_eq!(eva.status, 200, "eva refused {what}: {}", eva.body);
    let oum = app.get("/users/me", token).await;
    assert_eq!(oum.status, 200, "oum refused {what}: {}", oum.body);
}

/// A token with exactly this header and these claims, signed with Ed25519 `pkcs8`.
fn signed(pkcs8: &[u8], header: &Value, claims: &Value) -> String {
    let pair = ring::signature::Ed25519KeyPair::from_pkcs8_maybe_unchecked(pkcs8).unwrap();
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let sig = pair.sign(input.as_bytes());
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig.as_ref()))
}

fn hs256(secret: &[u8], header: &Value, claims: &Value) -> String {
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret);
    let tag = ring::hmac::sign(&key, input.as_bytes());
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(tag.as_ref()))
}

#[tokio::test]
async fn forged_tokens_are_refused_on_every_surface_in_its_own_shape() {
    let app = TestApp::spawn().await;
    let acme = app.bootstrap("acme").await;
    app.eva_catalog("acme").await;
    let keys = app.state.core.store.signing_keys().await.unwrap();
    let k = &keys[0];
    let pkcs8 = STANDARD.decode(&k.private_pkcs8).unwrap();
    let now = chrono::Utc::now().timestamp();
    let claims = |extra: Value| {
        let mut c = json!({ "iss": ISSUER, "sub": acme.admin_id, "org": "acme", "iat": now, "exp": now + 600, "jti": "j" });
        for (key, v) in extra.as_object().unwrap() {
            c[key] = v.clone();
        }
        c
    };
    let header = |extra: Value| {
        let mut h = json!({ "alg": "EdDSA", "typ": "JWT", "kid": k.kid });
        for (key, v) in extra.as_object().unwrap() {
            h[key] = v.clone();
        }
        h
    };
    // The control: our own construction of a genuine token is accepted everywhere.
    let good = signed(&pkcs8, &header(json!({})), &claims(json!({})));
    accepted_everywhere(&app, &acme, &good, "a genuine token").await;

    let attacker =
        ring::signature::Ed25519KeyPair::generate_pkcs8(&ring::rand::SystemRandom::new()).unwrap();
    let public = URL_SAFE_NO_PAD.decode(&k.public_x).unwrap();
    let body = URL_SAFE_NO_PAD.encode(claims(json!({})).to_string());
    let none = format!(
        "{}.{body}.",
        URL_SAFE_NO_PAD.encode(json!({ "alg": "none", "typ": "JWT", "kid": k.kid }).to_string())
    );
    let mut parts: Vec<String> = good.split('.').map(str::to_owned).collect();
    parts[2] = URL_SAFE_NO_PAD.encode([7u8; 64]);
    let bad_signature = parts.join(".");
    let mut parts: Vec<String> = good.split('.').map(str::to_owned).collect();
    parts[1] = URL_SAFE_NO_PAD.encode(claims(json!({ "org": "beta" })).to_string());
    let tampered = parts.join(".");
    let jwk = json!({ "kty": "OKP", "crv": "Ed25519", "x": URL_SAFE_NO_PAD.encode(
        ring::signature::KeyPair::public_key(
            &ring::signature::Ed25519KeyPair::from_pkcs8(attacker.as_ref()).unwrap()
        ).as_ref()) });
    let cases: Vec<(&str, String)> = vec![
        ("alg none", none),
        (
            "HS256 keyed with the public key (base64url text)",
            hs256(
                k.public_x.as_bytes(),
                &header(json!({ "alg": "HS256" })),
                &claims(json!({})),
            ),
        ),
        (
            "HS256 keyed with the public key (raw bytes)",
            hs256(
                &public,
                &header(json!({ "alg": "HS256" })),
                &claims(json!({})),
            ),
        ),
        ("a signature of random bytes", bad_signature),
        ("claims changed under a valid signature", tampered),
        (
            "signed by another key under our kid",
            signed(attacker.as_ref(), &header(json!({})), &claims(json!({}))),
        ),
        (
            "expired",
            signed(
                &pkcs8,
                &header(json!({})),
                &claims(json!({ "iat": now - 7200, "exp": now - 3600 })),
            ),
        ),
        (
            "not valid before a future time",
            signed(
                &pkcs8,
                &header(json!({})),
                &claims(json!({ "nbf": now + 3600 })),
            ),
        ),
        (
            "issued in the future",
            signed(
                &pkcs8,
                &header(json!({})),
                &claims(json!({ "iat": now + 3600, "exp": now + 7200 })),
            ),
        ),
        (
            "another issuer",
            signed(
                &pkcs8,
                &header(json!({})),
                &claims(json!({ "iss": "https://evil.example" })),
            ),
        ),
        (
            "an audience that is not Roster",
            signed(
                &pkcs8,
                &header(json!({})),
                &claims(json!({ "aud": "https://other-service.example" })),
            ),
        ),
        (
            "an unknown kid",
            signed(
                &pkcs8,
                &header(json!({ "kid": "no-such-key" })),
                &claims(json!({})),
            ),
        ),
        (
            "no kid",
            signed(
                &pkcs8,
                &json!({ "alg": "EdDSA", "typ": "JWT" }),
                &claims(json!({})),
            ),
        ),
        (
            "a jku header",
            signed(
                &pkcs8,
                &header(json!({ "jku": "https://evil.example/jwks.json" })),
                &claims(json!({})),
            ),
        ),
        (
            "an embedded jwk header",
            signed(
                attacker.as_ref(),
                &header(json!({ "jwk": jwk })),
                &claims(json!({})),
            ),
        ),
        (
            "an x5u header",
            signed(
                &pkcs8,
                &header(json!({ "x5u": "https://evil.example/cert.pem" })),
                &claims(json!({})),
            ),
        ),
        (
            "no expiry",
            signed(&pkcs8, &header(json!({})), &{
                let mut c = claims(json!({}));
                c.as_object_mut().unwrap().remove("exp");
                c
            }),
        ),
        ("not a token at all", "garbage".into()),
    ];
    for (what, token) in cases {
        refused_everywhere(&app, &acme, &token, what).await;
    }
    // The genuine token still works: nothing above poisoned the key ring's memory.
    accepted_everywhere(&app, &acme, &good, "a genuine token, again").await;
}

#[tokio::test]
async fn a_rotated_out_key_verifies_during_its_overlap_window_only() {
    // A 2-second token lifetime makes the overlap window (one lifetime) short; the test moves the
    // clock the key ring reads past it.
    let app = TestApp::spawn_with(|c| c.token_ttl_secs = 2).await;
    let acme = app.bootstrap("acme").await;
    app.eva_catalog("acme").await;
    let old_kid = jsonwebtoken::decode_header(&acme.token).unwrap().kid;
    // The successor key appears (as a rotation on any node would write it).
    let successor = crate::helpers::new_signing_key();
    assert!(app
        .state
        .core
        .store
        .insert_signing_key(&successor, successor.created_at)
        .await
        .unwrap());
    app.state.keys.refresh().await.unwrap();
    let fresh = app.sign_in(&acme, &acme.admin_id).await;
    assert_eq!(
        jsonwebtoken::decode_header(&fresh).unwrap().kid.as_deref(),
        Some(successor.kid.as_str()),
        "new tokens are signed with the successor"
    );
    // Within the window the old key still verifies, and both keys are published.
    accepted_everywhere(&app, &acme, &acme.token, "an old-key token in the window").await;
    let jwks = app
        .call(Method::GET, "/.well-known/jwks.json", None, None, &[])
        .await
        .expect(200);
    let kids: Vec<&str> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|k| k["kid"].as_str())
        .collect();
    assert!(kids.contains(&old_kid.as_deref().unwrap()) && kids.contains(&successor.kid.as_str()));
    // After the window the old key is gone: its token is refused although the token's own
    // expiry, with the 5 s leeway, has not passed yet.
    app.advance(std::time::Duration::from_millis(2500));
    app.state.keys.refresh().await.unwrap();
    refused_everywhere(
        &app,
        &acme,
        &acme.token,
        "an old-key token after the window",
    )
    .await;
    let jwks = app
        .call(Method::GET, "/.well-known/jwks.json", None, None, &[])
        .await
        .expect(200);
    assert_eq!(jwks["keys"].as_array().unwrap().len(), 1, "{jwks}");
    let fresh = app.sign_in(&acme, &acme.admin_id).await;
    accepted_everywhere(&app, &acme, &fresh, "a successor-key token").await;
}

#[tokio::test]
async fn lowering_a_role_takes_effect_on_existing_tokens_at_once() {
    let app = TestApp::spawn().await;
    let acme = app.bootstrap("acme").await;
    let (id, token) = app.user(&acme, "dev@x.example", "developer").await;
    let admin = format!("/users/{}", acme.admin_id);
    app.get(&admin, &token).await.expect(200);
    app.post(
        "/v1/acme/role/DefaultUserRole/assign",
        &acme.token,
        json!({ "user_id": id }),
    )
    .await
    .expect(200);
    // The same token, unchanged, now carries only the lower role's rights.
    let r = app.get(&admin, &token).await;
    assert_eq!(r.status, 403, "{}", r.body);
    // Its own profile it still reads: the token itself is valid.
    app.get("/users/me", &token).await.expect(200);
}

#[tokio::test]
async fn deleting_an_api_key_ends_the_sessions_it_started_at_once() {
    let app = TestApp::spawn().await;
    let acme = app.bootstrap("acme").await;
    app.eva_catalog("acme").await;
    let made = app
        .post(
            "/v1/acme/organization/api_key/",
            &acme.token,
            json!({ "name": "ci", "duration": "P7D", "role_name": "developer" }),
        )
        .await
        .expect(201);
    let key = Org {
        key_id: made["api_key_id"].as_str().unwrap().into(),
        key: made["api_key"].as_str().unwrap().into(),
        ..acme.clone()
    };
    let (user, _) = app
        .user(&acme, "bot-user@x.example", "DefaultUserRole")
        .await;
    let by_key = app.sign_in(&key, &user).await;
    accepted_everywhere(&app, &acme, &by_key, "a session of a live key").await;
    let by_other_key = app.sign_in(&acme, &user).await;
    app.delete(
        &format!("/v1/acme/organization/api_key/{}/", key.key_id),
        &acme.token,
    )
    .await
    .expect(200);
    // The deleted key's session ends on every surface; the key itself signs nobody in.
    refused_everywhere(&app, &acme, &by_key, "a session of a deleted key").await;
    assert_eq!(app.sign_in_resp(&key, &user).await.status, 401);
    // Sessions of the same user started otherwise go on.
    accepted_everywhere(&app, &acme, &by_other_key, "a session of another key").await;
}

/// A password reset through the emailed link cuts the account's sessions: a token issued
/// before it never works again, and one issued right after it (the same second, the same
/// clock tick) always works. No sleeping: each round signs in at once on either side.
#[tokio::test]
async fn a_token_issued_right_after_a_password_reset_works_and_one_from_before_never() {
    let app = TestApp::spawn().await;
    let acme = app.bootstrap("acme").await;
    let user_id = app
        .active_user(&acme, "tick@example.com", "eng", Some("First-pass1"))
        .await;
    for round in 0..5 {
        let before = app.sign_in(&acme, &user_id).await;
        app.anon(
            "/v1/acme/user/password-reset/request",
            json!({ "email": "tick@example.com" }),
        )
        .await
        .expect(200);
        let reset = app
            .state
            .core
            .store
            .list_outbox(&OrgId::from("acme"))
            .await
            .unwrap()
            .into_iter()
            .rfind(|m| m.kind == "password_reset")
            .expect("queued");
        let token = crate::email_flows::token_of(reset.payload["link"].as_str().unwrap());
        app.anon(
            "/v1/acme/user/password-reset",
            json!({ "token": token, "password": format!("Round-pass{round}") }),
        )
        .await
        .expect(204);
        let after = app.sign_in(&acme, &user_id).await;
        let fresh = app
            .call(Method::GET, "/users/me", Some(&after), None, &[])
            .await;
        assert_eq!(
            fresh.status, 200,
            "round {round}: the new token: {}",
            fresh.body
        );
        let stale = app
            .call(Method::GET, "/users/me", Some(&before), None, &[])
            .await;
        assert_eq!(
            stale.status, 401,
            "round {round}: the token from before the reset"
        );
    }
}
