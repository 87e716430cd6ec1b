//! The cost of password hashes. Tests run at `HashCost::Minimal` (`Config::for_tests`, as
//! `ROSTER_PASSWORD_HASH_COST=minimal` would set it); these check that a server at the
//! default, production cost stores OWASP-grade hashes and signs them in, and that a hash of
//! either cost signs in on a server of the other, since a hash carries its own parameters.

use std::time::Duration;

use roster_domain::password::{HashCost, Hasher};

use crate::helpers::TestApp;

const PRODUCTION_PHC: &str = "$argon2id$v=19$m=19456,t=2,p=1$";
const MINIMAL_PHC: &str = "$argon2id$v=19$m=8,t=1,p=1$";

async fn stored_hash(app: &TestApp, org: &str, user_id: &str) -> (String, String) {
    let identity = app.identity_of(org, user_id).await;
    let hash = app
        .state
        .core
        .store
        .password_hash(&identity)
        .await
        .expect("read")
        .expect("a password");
    (identity, hash)
}

/// Sets `hash` (made elsewhere, at another cost) as the identity's password.
async fn set_hash(app: &TestApp, identity: &str, hash: &str) {
    app.state
        .core
        .store
        .set_password(
            identity,
            hash,
            false,
            roster_domain::types::session_stamp(),
            Default::default(),
        )
        .await
        .expect("password set");
}

#[tokio::test]
async fn a_server_at_production_cost_stores_production_hashes_and_accepts_cheaper_ones() {
    assert_eq!(
        roster_domain::core::CoreConfig::default().password_hash_cost,
        HashCost::Production
    );
    let app = TestApp::spawn_with(|c| c.password_hash_cost = HashCost::Production).await;
    assert_eq!(app.state.core.passwords.cost(), HashCost::Production);
    let acme = app.bootstrap("acme").await;
    let id = app
        .active_user(&acme, "pw@example.com", "en", Some("Right-pass1"))
        .await;
    let (identity, hash) = stored_hash(&app, "acme", &id).await;
    assert!(hash.starts_with(PRODUCTION_PHC), "{hash}");
    app.password_token(&acme, "pw@example.com", "Right-pass1")
        .await
        .expect(200);
    app.password_token(&acme, "pw@example.com", "Wrong-pass1")
        .await
        .expect(401);
    // A hash made at the minimal cost (a test database moved to production) still signs in.
    let cheap = Hasher::new(1, Duration::from_secs(60), HashCost::Minimal)
        .hash("Cheap-pass1")
        .await
        .expect("hash");
    set_hash(&app, &identity, &cheap).await;
    app.password_token(&acme, "pw@example.com", "Cheap-pass1")
        .await
        .expect(200);
}

#[tokio::test]
async fn a_test_server_stores_minimal_hashes_and_accepts_production_ones() {
    let app = TestApp::spawn().await;
    assert_eq!(app.state.core.passwords.cost(), HashCost::Minimal);
    let acme = app.bootstrap("acme").await;
    let id = app
        .active_user(&acme, "pw@example.com", "en", Some("Right-pass1"))
        .await;
    let (identity, hash) = stored_hash(&app, "acme", &id).await;
    assert!(hash.starts_with(MINIMAL_PHC), "{hash}");
    let dear = roster_domain::password::hash("Dear-pass1")
        .await
        .expect("hash");
    assert!(dear.starts_with(PRODUCTION_PHC), "{dear}");
    set_hash(&app, &identity, &dear).await;
    app.password_token(&acme, "pw@example.com", "Dear-pass1")
        .await
        .expect(200);
    app.password_token(&acme, "pw@example.com", "Right-pass1")
        .await
        .expect(401);
}
