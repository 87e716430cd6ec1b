//! Administrators appoint administrators on eva and org-user-management (equal rank suffices
//! there), Amigo's invitation keeps its strict rule, nobody grants what it lacks, and the
//! last-administrator guard holds under concurrency on every surface.

use reqwest::Method;
use roster_domain::types::OrgId;
use roster_domain::types::UserId;
use serde_json::{json, Value};

use crate::helpers::{Org, TestApp};

fn eva_admin(email: &str) -> Value {
    json!({ "name": "Second Admin", "email": email, "admin": true,
            "password": "Adm1n-pass", "passwordConfirmation": "Adm1n-pass" })
}

/// Creates an eva administrator as the organization's administrator; returns its id and token.
pub(crate) async fn second_admin(app: &TestApp, org: &Org, email: &str) -> (String, String) {
    let made = app
        .eva(
            Method::POST,
            &format!("/org/{}/users", org.uuid),
            &org.token,
            Some(eva_admin(email)),
        )
        .await
        .expect(200);
    assert_eq!(made["admin"], json!(true));
    let id = made["uuid"].as_str().unwrap().to_owned();
    let token = app.sign_in(org, &id).await;
    (id, token)
}

async fn active_admins(app: &TestApp, org: &str) -> i64 {
    app.state
        .core
        .store
        .count_active_admins(&OrgId::from(org))
        .await
        .unwrap()
}

#[tokio::test]
async fn eva_administrators_create_promote_demote_and_delete_administrators() {
    let app = TestApp::spawn().await;
    let acme = app.bootstrap("acme").await;
    app.eva_catalog("acme").await;
    let base = format!("/org/{}", acme.uuid);
    // Create: the bootstrap administrator (DefaultAdministratorRole) makes an ADMIN.
    let (second, second_token) = second_admin(&app, &acme, "two@acme.example").await;
    // Its own record, with `admin: true` as read: it keeps its role (compat §2.10).
    let mine = app
        .eva(
            Method::GET,
            &format!("{base}/users/{}", acme.admin_id),
            &acme.token,
            None,
        )
        .await
        .expect(200);
    assert_eq!(mine["admin"], json!(true));
    let own = json!({ "name": "Ada Admin", "email": mine["email"], "admin": true });
    let kept = app
        .eva(
            Method::PUT,
            &format!("{base}/users/{}", acme.admin_id),
            &acme.token,
            Some(own),
        )
        .await
        .expect(200);
    assert_eq!(kept["admin"], json!(true));
    // Promote a supervisor, then demote it again; an administrator demotes another one.
    let sup = json!({ "name": "Sue Per", "email": "sue@acme.example", "admin": false,
        "password": "Sup3r-pass", "passwordConfirmation": "Sup3r-pass",
        "environments": [{ "role": "SUPERVISOR", "environment": { "uuid": crate::eva::PROD } }] });
    let sue = app
        .eva(
            Method::POST,
            &format!("{base}/users"),
            &acme.token,
            Some(sup),
        )
        .await
        .expect(200);
    let sue_id = sue["uuid"].as_str().unwrap();
    let promote = json!({ "name": "Sue Per", "email": "sue@acme.example", "admin": true });
    let promoted = app
        .eva(
            Method::PUT,
            &format!("{base}/users/{sue_id}"),
            &second_token,
            Some(promote),
        )
        .await
        .expect(200);
    assert_eq!(promoted["admin"], json!(true));
    let demote = json!({ "name": "Sue Per", "email": "sue@acme.example", "admin": false,
        "environments": [{ "role": "VIEWER", "environment": { "uuid": crate::eva::PROD }, "bots": [{ "uuid": crate::eva::BOT }] }] });
    let demoted = app
        .eva(
            Method::PUT,
            &format!("{base}/users/{sue_id}"),
            &acme.token,
            Some(demote),
        )
        .await
        .expect(200);
    assert_eq!(demoted["admin"], json!(false));
    // Bulk-create imports ADMIN rows.
    let csv = "email;name;company;role;password;environmentUuid;environmentName;bot\nthree@acme.example;Third Admin;;ADMIN;;;;\n";
    let r = app
        .upload_csv(
            Method::POST,
            &format!("{base}/users/bulk-create"),
            &acme.token,
            csv,
        )
        .await;
    assert_eq!(r.expect(200), json!({ "errors": [] }));
    // Delete (deactivate) another administrator.
    app.eva(
        Method::DELETE,
        &format!("{base}/users/{second}"),
        &acme.token,
        None,
    )
    .await
    .expect(204);
    // Equal rank is for administrators only: a supervisor cannot make a supervisor.
    let (_, sup_token) = app.user(&acme, "s2@acme.example", "SUPERVISOR").await;
    let twin = json!({ "name": "Twin Sup", "email": "twin@acme.example", "admin": false,
        "password": "Sup3r-pass", "passwordConfirmation": "Sup3r-pass",
        "environments": [{ "role": "SUPERVISOR", "environment": { "uuid": crate::eva::PROD } }] });
    app.eva(
        Method::POST,
        &format!("{base}/users"),
        &sup_token,
        Some(twin),
    )
    .await
    .expect(403);
}

#[tokio::test]
async fn oum_administrators_invite_promote_demote_and_remove_administrators() {
    let app = TestApp::spawn().await;
    let acme = app.bootstrap("acme").await;
    let invite = json!({ "connection": null, "email": "inv@acme.example", "name": "In Vited", "roles": ["admin"] });
    app.call(
        Method::POST,
        "/users/invite",
        Some(&acme.token),
        Some(invite),
        &[],
    )
    .await
    .expect(204);
    let (dev, _) = app.user(&acme, "dev@acme.example", "developer").await;
    let (second, second_token) = second_admin(&app, &acme, "two@acme.example").await;
    let roles = |id: &str, roles: Value, token: &str| {
        let (app, path, token) = (&app, format!("/users/{id}/roles"), token.to_owned());
        async move {
            app.call(Method::PUT, &path, Some(&token), Some(roles), &[])
                .await
        }
    };
    // `app.user` leaves the developer invited; org-user-management acts on members only.
    app.state
        .core
        .store
        .get_user(&OrgId::from("acme"), &UserId::from(&dev))
        .await
        .unwrap()
        .map(|u| u.status)
        .expect("stored");
    let accept = |id: String| {
        let app = &app;
        async move {
            let u = app
                .state
                .core
                .store
                .get_user(&OrgId::from("acme"), &UserId::from(&id))
                .await
                .unwrap()
                .unwrap();
            let active = roster_domain::model::User {
                status: roster_domain::model::UserStatus::Active,
                ..u.clone()
            };
            app.state
                .core
                .store
                .update_user(&active, u.updated_at, None, Default::default())
                .await
                .unwrap();
        }
    };
    accept(dev.clone()).await;
    roles(&dev, json!(["admin"]), &second_token)
        .await
        .expect(204);
    roles(&dev, json!(["developer"]), &acme.token)
        .await
        .expect(204);
    roles(&second, json!(["analyst"]), &acme.token)
        .await
        .expect(204);
    let removed = app
        .call(
            Method::DELETE,
            &format!("/users/{dev}"),
            Some(&acme.token),
            None,
            &[],
        )
        .await;
    assert_eq!(removed.status, 204, "{}", removed.body);
    // Never a role with a permission the caller lacks: not the super-administrator's, and not
    // the roles of one.
    let input = roster_domain::core::InviteInput {
        first_name: "Big".into(),
        last_name: "Boss".into(),
        email: "boss@acme.example".into(),
        role_name: "DefaultSuperAdministratorRole".into(),
        ..Default::default()
    };
    let (boss, _) = app
        .state
        .core
        .invite_user(&roster_domain::core::Context::system(), "acme", input)
        .await
        .unwrap();
    let boss = boss.id;
    accept(boss.to_string()).await;
    roles(&boss, json!(["admin"]), &acme.token)
        .await
        .expect(403);
    app.call(
        Method::DELETE,
        &format!("/users/{boss}"),
        Some(&acme.token),
        None,
        &[],
    )
    .await
    .expect(403);
}

/// Amigo's `InviteUser` keeps the vendor's "greater privileges than the role assigned".
#[tokio::test]
async fn amigo_invitations_keep_the_strict_rule() {
    let app = TestApp::spawn().await;
    let acme = app.bootstrap("acme").await;
    let body = json!({ "first_name": "A", "last_name": "B", "email": "a@acme.example",
                       "role_name": "DefaultAdministratorRole" });
    app.post("/v1/acme/user/", &acme.token, body)
        .await
        .expect(403);
    let body = json!({ "first_name": "A", "last_name": "B", "email": "a@acme.example",
                       "role_name": "ADMIN" });
    app.post("/v1/acme/user/", &acme.token, body)
        .await
        .expect(403);
}

/// Two administrators remove each other at the same moment, through eva and
/// org-user-management, again and again: exactly one wins, and an administrator always remains.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_last_administrator_survives_administrators_removing_each_other_at_once() {
    let app = TestApp::spawn().await;
    for round in 0..6 {
        let org = app.bootstrap(&format!("race{round}")).await;
        let (b, b_token) = second_admin(&app, &org, &format!("b{round}@race.example")).await;
        // The bootstrap administrator is active already; the eva-made one is too.
        let a = org.admin_id.clone();
        let (eva_path, roles_path) = (
            format!("/org/{}/users/{a}", org.uuid),
            format!("/users/{b}/roles"),
        );
        // B deactivates A through eva while A demotes B through org-user-management: either
        // alone is allowed, both together would leave nobody.
        let eva_delete = app.eva(Method::DELETE, &eva_path, &b_token, None);
        let demote = app.call(
            Method::PUT,
            &roles_path,
            Some(&org.token),
            Some(json!(["analyst"])),
            &[],
        );
        let (x, y) = tokio::join!(eva_delete, demote);
        let codes = [x.status.as_u16(), y.status.as_u16()];
        assert!(
            active_admins(&app, &org.id).await >= 1,
            "round {round}: no administrator left after {codes:?}"
        );
        // The loser is refused by the guard (409), or, when it started after the winner
        // finished, no longer signed in or no longer an administrator.
        assert_eq!(
            codes.iter().filter(|c| **c == 204).count(),
            1,
            "round {round}: {codes:?}"
        );
        for c in codes {
            assert!(
                [204, 401, 403, 409].contains(&c),
                "round {round}: {codes:?}"
            );
        }
    }
}

/// The same on Amigo, where only a super-administrator acts on administrators: it deletes the
/// administrator while stepping itself down, at once, round after round. Either alone is
/// allowed; together they would leave nobody.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn amigo_deletion_and_step_down_racing_leave_an_administrator() {
    let app = TestApp::spawn().await;
    for round in 0..6 {
        let org = app.bootstrap(&format!("amigo{round}")).await;
        let email = format!("super{round}@race.example");
        let input = roster_domain::core::InviteInput {
            first_name: "Sue".into(),
            last_name: "Per".into(),
            email: email.clone(),
            role_name: "DefaultSuperAdministratorRole".into(),
            ..Default::default()
        };
        let core = &app.state.core;
        let (s, _) = core
            .invite_user(&roster_domain::core::Context::system(), &org.id, input)
            .await
            .unwrap();
        let active = roster_domain::model::User {
            status: roster_domain::model::UserStatus::Active,
            ..s.clone()
        };
        core.store
            .update_user(&active, s.updated_at, None, Default::default())
            .await
            .unwrap();
        let hash = core.passwords.hash("Sup3r-pass").await.unwrap();
        core.store
            .set_password(
                &s.identity_id,
                &hash,
                false,
                roster_domain::types::session_stamp(),
                Default::default(),
            )
            .await
            .unwrap();
        let token = app
            .password_token(&org, &email, "Sup3r-pass")
            .await
            .expect(200)["access_token"]
            .as_str()
            .unwrap()
            .to_owned();
        let (delete_path, assign_path) = (
            format!("/v1/{}/user/{}", org.id, org.admin_id),
            format!("/v1/{}/role/DefaultUserRole/assign", org.id),
        );
        let delete = app.delete(&delete_path, &token);
        let step_down = app.post(&assign_path, &token, json!({ "user_id": s.id }));
        let (x, y) = tokio::join!(delete, step_down);
        let codes = [x.status.as_u16(), y.status.as_u16()];
        assert!(
            active_admins(&app, &org.id).await >= 1,
            "round {round}: no administrator left after {codes:?}"
        );
        let won = codes.iter().filter(|c| [200, 204].contains(*c)).count();
        assert_eq!(won, 1, "round {round}: {codes:?}");
        for c in codes {
            assert!(
                [200, 204, 401, 403, 409].contains(&c),
                "round {round}: {codes:?}"
            );
        }
    }
}
