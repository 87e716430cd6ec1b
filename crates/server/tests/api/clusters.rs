//! Several database clusters: organizations placed on each (by `x-mongo-cluster-name` or
//! `bootstrap --cluster`), every request routed to its organization's cluster, nothing of one
//! organization on the other's database, and the placements kept across a restart.
//!
//! The second cluster is a second real database: another PostgreSQL database on the same server
//! in the PostgreSQL pass (dropped afterwards; `scripts/test` also drops any left behind), another
//! SQLite file in the SQLite pass.

use reqwest::Method;
use roster_domain::types::OrgId;
use roster_domain::types::UserId;
use serde_json::{json, Value};

use crate::amigo_orgs::platform;
use crate::helpers::{is_postgres, Org, TestApp};

/// A database standing for a second cluster.
struct Cluster {
    url: String,
    /// PostgreSQL: the server's maintenance URL and the database to drop.
    pg: Option<(String, String)>,
}

impl Cluster {
    async fn create(dir: &std::path::Path) -> Self {
        let Ok(main) = std::env::var("TEST_DATABASE_URL") else {
            return Self {
                url: format!("sqlite:{}", dir.join("east.db").display()),
                pg: None,
            };
        };
        assert!(is_postgres());
        let main = main.split('?').next().unwrap().to_owned();
        let (server, main_db) = main.rsplit_once('/').unwrap();
        let name = format!(
            "{main_db}_east_{}",
            &uuid::Uuid::new_v4().simple().to_string()[..8]
        );
        let admin = format!("{server}/postgres");
        let pool = sqlx::PgPool::connect(&admin).await.expect("PostgreSQL");
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&pool)
            .await
            .expect("create the second cluster's database");
        pool.close().await;
        Self {
            url: format!("{server}/{name}"),
            pg: Some((admin, name)),
        }
    }

    async fn drop_database(self) {
        if let Some((admin, name)) = self.pg {
            let pool = sqlx::PgPool::connect(&admin).await.expect("PostgreSQL");
            sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .execute(&pool)
                .await
                .expect("drop the second cluster's database");
            pool.close().await;
        }
    }
}

/// One text value read straight from a database, past Roster: `sql` takes the organization id.
async fn read_one(url: &str, sql: &str, org: &str) -> Option<String> {
    if url.starts_with("postgres") {
        let pool = sqlx::PgPool::connect(url).await.unwrap();
        let v = sqlx::query_scalar(sql)
            .bind(org)
            .fetch_optional(&pool)
            .await;
        pool.close().await;
        v.unwrap()
    } else {
        let pool = sqlx::SqlitePool::connect(url).await.unwrap();
        let v = sqlx::query_scalar(sql)
            .bind(org)
            .fetch_optional(&pool)
            .await;
        pool.close().await;
        v.unwrap()
    }
}

/// Counts rows of `table` for `org`.
async fn rows(url: &str, table: &str, org: &str) -> i64 {
    let sql = format!("SELECT CAST(COUNT(*) AS TEXT) FROM {table} WHERE org_id = $1");
    let n = read_one(url, &sql, org).await.unwrap();
    n.parse().unwrap()
}

/// The cluster the home database's directory names for `org`.
async fn placement(url: &str, org: &str) -> Option<String> {
    read_one(
        url,
        "SELECT cluster FROM org_placements WHERE org_id = $1",
        org,
    )
    .await
}

async fn spawn_on(home: Option<String>, east: &str) -> TestApp {
    let east = format!("east={east}");
    TestApp::spawn_with(move |c| {
        c.cluster_name = "west".into();
        c.clusters = vec![east];
        if let Some(home) = home {
            c.database_url = Some(home);
        }
    })
    .await
}

/// The emails of an organization's users on each surface, sorted.
async fn emails_everywhere(app: &TestApp, org: &Org) -> [Vec<String>; 3] {
    let amigo = app.list_users(org, &org.token, "").await;
    let eva = app
        .get(
            &format!("/eva-user/org/{}/users?page=0&linesPerPage=50", org.uuid),
            &org.token,
        )
        .await
        .expect(200);
    let oum = app.get("/users?per_page=50", &org.token).await.expect(200);
    let pick = |items: &Value, field: &str| {
        let mut v: Vec<String> = items
            .as_array()
            .unwrap_or_else(|| panic!("a list: {items}"))
            .iter()
            .map(|u| u[field].as_str().unwrap().to_owned())
            .collect();
        v.sort();
        v
    };
    [
        pick(&amigo["users"], "email"),
        pick(&eva["content"], "email"),
        pick(&oum["items"], "email"),
    ]
}

#[tokio::test]
async fn organizations_live_on_their_cluster_and_requests_follow_them() {
    let dir = tempfile::tempdir().unwrap();
    let east = Cluster::create(dir.path()).await;
    let app = spawn_on(None, &east.url).await;
    let home = app.database_url.clone();

    // One organization on each cluster, each with a member invited through the API.
    let west_org = app.bootstrap("acme").await;
    let east_org = app.bootstrap_on("globex", Some("east")).await;
    app.invite(
        &west_org,
        "wendy@acme.example",
        "Wendy",
        "West",
        "DefaultUserRole",
    )
    .await;
    let eric = app
        .invite(
            &east_org,
            "eric@globex.example",
            "Eric",
            "East",
            "DefaultUserRole",
        )
        .await;

    // The directory names each placement, and each organization's rows are on its own database.
    assert_eq!(placement(&home, "acme").await.as_deref(), Some("west"));
    assert_eq!(placement(&home, "globex").await.as_deref(), Some("east"));
    for table in ["users", "roles", "api_keys", "audit_events"] {
        assert_eq!(
            rows(&home, table, "globex").await,
            0,
            "{table} of globex at home"
        );
        assert!(
            rows(&east.url, table, "globex").await > 0,
            "{table} of globex on east"
        );
        assert_eq!(
            rows(&east.url, table, "acme").await,
            0,
            "{table} of acme on east"
        );
        assert!(
            rows(&home, table, "acme").await > 0,
            "{table} of acme at home"
        );
    }

    // Every surface reads each organization from its own cluster (org-user-management lists
    // members, not pending invitations).
    let both = |a: &str, b: &str| vec![a.to_owned(), b.to_owned()];
    let west_emails = both("admin@acme.example", "wendy@acme.example");
    let east_emails = both("admin@globex.example", "eric@globex.example");
    let [amigo, eva, oum] = emails_everywhere(&app, &west_org).await;
    assert_eq!(
        (amigo, eva, oum),
        (
            west_emails.clone(),
            west_emails,
            vec!["admin@acme.example".to_owned()]
        )
    );
    let [amigo, eva, oum] = emails_everywhere(&app, &east_org).await;
    assert_eq!(
        (amigo, eva, oum),
        (
            east_emails.clone(),
            east_emails.clone(),
            vec!["admin@globex.example".to_owned()]
        )
    );

    // One organization's credentials reach nothing of the other's, across clusters.
    let r = app
        .get(&format!("/v1/globex/user/?user_id={eric}"), &west_org.token)
        .await;
    assert!(matches!(r.status.as_u16(), 401 | 403 | 404), "{r:?}");
    let r = app
        .get(
            &format!(
                "/eva-user/org/{}/users?page=0&linesPerPage=5",
                east_org.uuid
            ),
            &west_org.token,
        )
        .await;
    assert!(matches!(r.status.as_u16(), 401 | 403 | 404), "{r:?}");
    let r = app
        .delete(&format!("/v1/globex/user/{eric}"), &west_org.token)
        .await;
    assert!(matches!(r.status.as_u16(), 401 | 403 | 404), "{r:?}");
    assert_eq!(emails_everywhere(&app, &east_org).await[0], east_emails);

    // Writes go to the organization's cluster too: the member's deletion, with its audit event.
    let audit_before = rows(&east.url, "audit_events", "globex").await;
    app.delete(&format!("/v1/globex/user/{eric}"), &east_org.token)
        .await
        .expect(204);
    assert_eq!(rows(&east.url, "users", "globex").await, 1);
    assert_eq!(
        rows(&east.url, "audit_events", "globex").await,
        audit_before + 1
    );
    assert_eq!(rows(&home, "audit_events", "globex").await, 0);

    // The directory is the database's, not the process's: a restarted node routes the same way.
    let _kept = app.stop().await;
    let app = spawn_on(Some(home.clone()), &east.url).await;
    let east_org = Org {
        token: app.sign_in(&east_org, &east_org.admin_id.clone()).await,
        ..east_org
    };
    assert_eq!(
        emails_everywhere(&app, &east_org).await[0],
        ["admin@globex.example"]
    );
    app.get("/readyz", "").await.expect(200);
    app.stop().await;
    east.drop_database().await;
}

#[tokio::test]
async fn the_cluster_header_places_a_new_organization() {
    let dir = tempfile::tempdir().unwrap();
    let east = Cluster::create(dir.path()).await;
    let app = spawn_on(None, &east.url).await;
    let home = app.database_url.clone();
    let root = platform(&app).await;
    let body = json!({
        "org_name": "Initech", "user_dimensions": [],
        "logo": "iVBORw0KGgo=", "square_logo": "iVBORw0KGgo=", "favicon": "AAABAA==",
        "azure_devops_team_name": "initech",
    });
    let create = |org: &'static str, cluster: &'static str| {
        let (app, token, body) = (&app, root.token.clone(), body.clone());
        async move {
            app.call(
                Method::PUT,
                &format!("/v1/{org}/organization/"),
                Some(&token),
                Some(body),
                &[("x-mongo-cluster-name", cluster)],
            )
            .await
        }
    };

    // An unknown cluster is refused, naming the header, and nothing is written anywhere.
    let r = create("initech", "nowhere").await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert!(
        r.body.to_string().contains("x-mongo-cluster-name"),
        "{}",
        r.body
    );
    assert!(
        r.body.to_string().contains("east"),
        "names the clusters: {}",
        r.body
    );
    assert_eq!(placement(&home, "initech").await, None);
    assert_eq!(rows(&east.url, "roles", "initech").await, 0);
    assert_eq!(rows(&home, "roles", "initech").await, 0);

    create("initech", "east").await.expect(201);
    create("hooli", "west").await.expect(201);
    assert_eq!(placement(&home, "initech").await.as_deref(), Some("east"));
    assert_eq!(placement(&home, "hooli").await.as_deref(), Some("west"));
    assert!(rows(&east.url, "roles", "initech").await > 0);
    assert_eq!(rows(&home, "roles", "initech").await, 0);
    assert!(rows(&home, "roles", "hooli").await > 0);
    assert_eq!(rows(&east.url, "roles", "hooli").await, 0);

    // An organization id is unique across clusters.
    let r = create("initech", "west").await;
    assert_eq!(r.status, 409, "{}", r.body);
    let r = create("hooli", "east").await;
    assert_eq!(r.status, 409, "{}", r.body);
    assert_eq!(rows(&east.url, "roles", "hooli").await, 0);

    // Reading and deleting go to the organization's cluster; deletion frees its placement.
    app.call(Method::GET, "/v1/initech/organization/", None, None, &[])
        .await
        .expect(200);
    app.call(
        Method::DELETE,
        "/v1/initech/organization/",
        Some(&root.token),
        None,
        &[("x-org-id", root.id.as_str())],
    )
    .await
    .expect(204);
    assert_eq!(placement(&home, "initech").await, None);
    assert_eq!(rows(&east.url, "roles", "initech").await, 0);
    app.call(Method::GET, "/v1/initech/organization/", None, None, &[])
        .await
        .expect(404);
    app.stop().await;
    east.drop_database().await;
}

#[tokio::test]
async fn one_person_on_two_clusters_signs_in_to_each_with_its_own_password() {
    let dir = tempfile::tempdir().unwrap();
    let east = Cluster::create(dir.path()).await;
    let app = spawn_on(None, &east.url).await;
    // The same address administers an organization on each cluster: an identity on each.
    let mut orgs = Vec::new();
    for (id, cluster) in [("acme", None), ("globex", Some("east"))] {
        let input = roster_domain::core::NewOrgInput {
            id: id.into(),
            name: id.into(),
            default_preferences: Default::default(),
            user_dimensions: json!([]),
            branding: json!({}),
            is_platform: false,
            cluster: cluster.map(str::to_owned),
        };
        let made = app
            .state
            .core
            .bootstrap(input, "pat@x.example", "Pat Doe", "key", 30)
            .await
            .unwrap();
        orgs.push(Org {
            id: made.org.id.into(),
            uuid: made.org.uuid,
            admin_id: made.user.id.into(),
            key_id: made.api_key.key_id,
            key: made.secret,
            token: String::new(),
        });
    }
    let (acme, globex) = (&orgs[0], &orgs[1]);
    let west_identity = {
        let u = app
            .state
            .core
            .store
            .get_user(&OrgId::from("acme"), &UserId::from(&acme.admin_id))
            .await;
        u.unwrap().unwrap().identity_id
    };
    let east_identity = {
        let u = app
            .state
            .core
            .store
            .get_user(&OrgId::from("globex"), &UserId::from(&globex.admin_id))
            .await;
        u.unwrap().unwrap().identity_id
    };
    assert_ne!(west_identity, east_identity, "identities are per cluster");
    for (identity, password) in [
        (&west_identity, "West-Pass-1"),
        (&east_identity, "East-Pass-2"),
    ] {
        let hash = app.state.core.passwords.hash(password).await.unwrap();
        app.state
            .core
            .store
            .set_password(
                identity,
                &hash,
                false,
                roster_domain::types::session_stamp(),
                Default::default(),
            )
            .await
            .unwrap();
    }
    // Each organization checks the password of the identity on its own cluster.
    app.password_token(acme, "pat@x.example", "West-Pass-1")
        .await
        .expect(200);
    app.password_token(globex, "pat@x.example", "East-Pass-2")
        .await
        .expect(200);
    assert_eq!(
        app.password_token(globex, "pat@x.example", "West-Pass-1")
            .await
            .status,
        401
    );
    assert_eq!(
        app.password_token(acme, "pat@x.example", "East-Pass-2")
            .await
            .status,
        401
    );
    // The weaker promise of docs/operations.md: "everywhere at once" is every membership on
    // the cluster of the organization asked through. A rename through globex (east) renames
    // the east identity and its memberships; acme's membership and west identity keep theirs.
    let session = app
        .password_token(globex, "pat@x.example", "East-Pass-2")
        .await
        .expect(200)["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    app.oum(
        Method::PATCH,
        "/users/me",
        &session,
        Some(json!({ "name": "Pat East" })),
    )
    .await
    .expect(200);
    let store = &app.state.core.store;
    let name = |u: roster_domain::model::User| format!("{} {}", u.first_name, u.last_name);
    let on_east = store
        .get_user(&OrgId::from("globex"), &UserId::from(&globex.admin_id))
        .await
        .unwrap();
    let on_west = store
        .get_user(&OrgId::from("acme"), &UserId::from(&acme.admin_id))
        .await
        .unwrap();
    assert_eq!(name(on_east.unwrap()), "Pat East");
    assert_eq!(name(on_west.unwrap()), "Pat Doe");
    let west = store.get_identity(&west_identity).await.unwrap().unwrap();
    let east_now = store.get_identity(&east_identity).await.unwrap().unwrap();
    assert_eq!(
        (west.name.as_str(), east_now.name.as_str()),
        ("Pat Doe", "Pat East")
    );
    app.stop().await;
    east.drop_database().await;
}
