//! Roster's tokens: the JWKS, the pinned algorithm, and forged or stale tokens refused.

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::Method;
use serde_json::json;

use crate::helpers::TestApp;

#[tokio::test]
async fn jwks_publishes_the_key_that_verifies_tokens() {
    let app = TestApp::spawn().await;
    let acme = app.bootstrap("acme").await;
    let jwks = app
        .call(Method::GET, "/.well-known/jwks.json", None, None, &[])
        .await
        .expect(200);
    let key = &jwks["keys"][0];
    assert_eq!(
        (
            key["kty"].as_str(),
            key["crv"].as_str(),
            key["alg"].as_str()
        ),
        (Some("OKP"), Some("Ed25519"), Some("EdDSA"))
    );
    let header = jsonwebtoken::decode_header(&acme.token).unwrap();
    assert_eq!(header.kid.as_deref(), key["kid"].as_str());
    let dk = jsonwebtoken::DecodingKey::from_ed_components(key["x"].as_str().unwrap()).unwrap();
    let mut v = jsonwebtoken::Validation::new(Algorithm::EdDSA);
    v.set_issuer(&["https://roster.example.test"]);
    let claims = jsonwebtoken::decode::<serde_json::Value>(&acme.token, &dk, &v)
        .unwrap()
        .claims;
    assert_eq!(claims["sub"], acme.admin_id.as_str());
    assert_eq!(claims["org"], "acme");
    for c in ["iat", "exp", "jti"] {
        assert!(claims.get(c).is_some(), "{c}");
    }
}

#[tokio::test]
async fn forged_and_stale_tokens_are_refused() {
    let app = TestApp::spawn().await;
    let acme = app.bootstrap("acme").await;
    let keys = app.state.core.store.signing_keys().await.unwrap();
    let k = &keys[0];
    let signing = EncodingKey::from_ed_der(&STANDARD.decode(&k.private_pkcs8).unwrap());
    let now = chrono::Utc::now().timestamp();
    let claims = |iat: i64, exp: i64, iss: &str| json!({ "iss": iss, "sub": acme.admin_id, "org": "acme", "iat": iat, "exp": exp, "jti": "x" });
    let mut header = Header::new(Algorithm::EdDSA);
    header.kid = Some(k.kid.clone());
    let sign = |h: &Header, c: serde_json::Value| jsonwebtoken::encode(h, &c, &signing).unwrap();
    let good = sign(
        &header,
        claims(now, now + 600, "https://roster.example.test"),
    );
    app.get("/v1/acme/role/", &good).await.expect(200);

    let expired = sign(
        &header,
        claims(now - 7200, now - 3600, "https://roster.example.test"),
    );
    let wrong_issuer = sign(&header, claims(now, now + 600, "https://evil.example"));
    let from_future = sign(
        &header,
        claims(now + 3600, now + 7200, "https://roster.example.test"),
    );
    let mut unknown_kid = header.clone();
    unknown_kid.kid = Some("nope".into());
    let unknown_kid = sign(
        &unknown_kid,
        claims(now, now + 600, "https://roster.example.test"),
    );
    let mut jku = header.clone();
    jku.jku = Some("https://evil.example/jwks.json".into());
    let with_jku = sign(&jku, claims(now, now + 600, "https://roster.example.test"));
    // alg=none, and HS256 keyed with the public key (the classic confusion attack).
    let body =
        URL_SAFE_NO_PAD.encode(claims(now, now + 600, "https://roster.example.test").to_string());
    let none = format!(
        "{}.{body}.",
        URL_SAFE_NO_PAD.encode(json!({ "alg": "none", "typ": "JWT", "kid": k.kid }).to_string())
    );
    let mut hs = Header::new(Algorithm::HS256);
    hs.kid = Some(k.kid.clone());
    let hs256 = jsonwebtoken::encode(
        &hs,
        &claims(now, now + 600, "https://roster.example.test"),
        &EncodingKey::from_secret(k.public_x.as_bytes()),
    )
    .unwrap();
    // A valid signature over changed claims.
    let mut parts: Vec<&str> = good.split('.').collect();
    let tampered_claims = URL_SAFE_NO_PAD.encode(json!({ "iss": "https://roster.example.test", "sub": acme.admin_id, "org": "beta", "iat": now, "exp": now + 600, "jti": "x" }).to_string());
    parts[1] = &tampered_claims;
    let tampered = parts.join(".");
    for (name, token) in [
        ("expired", expired),
        ("issuer", wrong_issuer),
        ("future", from_future),
        ("kid", unknown_kid),
        ("jku", with_jku),
        ("none", none),
        ("hs256", hs256),
        ("tampered", tampered),
    ] {
        let r = app.get("/v1/acme/role/", &token).await;
        assert_eq!(r.status, 401, "{name} token must be refused: {}", r.body);
    }
}

#[tokio::test]
async fn basic_form_carries_the_token_too() {
    let app = TestApp::spawn().await;
    let acme = app.bootstrap("acme").await;
    let basic = STANDARD.encode(format!("acme_{}:{}", acme.admin_id, acme.token));
    let basic = format!("Basic {basic}");
    app.call(
        Method::GET,
        "/v1/acme/role/",
        None,
        None,
        &[("authorization", &basic)],
    )
    .await
    .expect(200);
}

#[tokio::test]
async fn a_key_rotated_on_one_node_is_accepted_by_the_others_at_once() {
    let a = TestApp::spawn().await;
    let acme = a.bootstrap("acme").await;
    let url = a.state.config.database_url.clone();
    let b = TestApp::spawn_with(|c| c.database_url = url).await;
    // Node A rotates: a newer key appears in the shared database and A signs with it.
    let before = jsonwebtoken::decode_header(&acme.token).unwrap().kid;
    let rotated = crate::helpers::new_signing_key();
    assert!(a
        .state
        .core
        .store
        .insert_signing_key(&rotated, rotated.created_at)
        .await
        .unwrap());
    a.state.keys.refresh().await.unwrap();
    let fresh = a.sign_in(&acme, &acme.admin_id).await;
    assert_ne!(jsonwebtoken::decode_header(&fresh).unwrap().kid, before);
    // Node B has not reloaded yet; it learns the new key from the token's kid.
    b.get("/v1/acme/role/", &fresh).await.expect(200);
    // And the old key keeps verifying for a token lifetime.
    b.get("/v1/acme/role/", &acme.token).await.expect(200);
}
