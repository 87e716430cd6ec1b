//! eva's bulk CSV operations: a 10,000-row import with every rule broken, hostile files, size
//! limits, re-imports, bulk delete and permissions, and a server killed in the middle of an import.

use roster_domain::types::{OrgId, UserId};
use std::collections::HashMap;

use reqwest::Method;
use serde_json::{json, Value};

use crate::eva::{BOT, BOT2, OFF_BOT, OLD, PROD, STAGE, STAGE_BOT};
use crate::helpers::{Org, TestApp};

async fn upload(
    app: &TestApp,
    org: &Org,
    method: Method,
    path: &str,
    bytes: Vec<u8>,
) -> (u16, Value) {
    let path = format!("/org/{}/users/{path}", org.uuid);
    let r = app.upload_csv(method, &path, &org.token, bytes).await;
    (r.status.as_u16(), r.body)
}

/// The failed rows of a bulk answer, in order: from `errors` (200) or `details` (422).
fn failure_list(body: &Value) -> Vec<(String, String)> {
    if let Some(errors) = body.get("errors") {
        return errors
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|e| {
                e.as_object()
                    .unwrap()
                    .iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
            })
            .collect();
    }
    body["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["fieldName"].as_str().unwrap().to_owned(),
                d["message"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// The same, by key (rows sharing a key keep the last reason).
fn failures(body: &Value) -> HashMap<String, String> {
    failure_list(body).into_iter().collect()
}

/// 10,000 rows; every hundredth breaks one rule, each rule at least once.
fn big_file() -> (String, HashMap<String, &'static str>) {
    let bad: &[(&str, &str)] = &[
        ("{e};Dup Licate;;ADMIN;;;;", "more than once"),
        ("{e};No Role;;;;;;", "Column 'role' is mandatory"),
        ("{e};Bad Role;;OWNER;;;;", "is not one of"),
        ("{e};Two Roles;;ADMIN,VIEWER;;;;", "exactly one role"),
        ("{e};Weak Pass;;ADMIN;weak;;;", "password policy"),
        (
            "{e};No Env;;SUPERVISOR;;;;",
            "Column 'environmentUuid' is mandatory for role SUPERVISOR",
        ),
        (
            "{e};No Env Name;;SUPERVISOR;;{prod};;",
            "Column 'environmentName' is mandatory",
        ),
        (
            "{e};No Bot;;VIEWER;;{prod};Production;",
            "Column 'bot' is mandatory for role VIEWER",
        ),
        (
            "{e};Ghost Env;;SUPERVISOR;;00000000-0000-4000-8000-000000000000;Ghost;",
            "does not exist",
        ),
        ("{e};Old Env;;SUPERVISOR;;{old};Old;", "is not active"),
        (
            "{e};Wrong Name;;SUPERVISOR;;{prod};Staging;",
            "does not belong to environment",
        ),
        (
            "{e};Foreign Bot;;EDITOR;;{prod};Production;{stagebot}",
            "does not belong to environment",
        ),
        (
            "{e};Off Bot;;EDITOR;;{prod};Production;{offbot}",
            "is not active",
        ),
        ("bad-email;Bad Email;;ADMIN;;;;", "email"),
        ("{e};Short Row;;ADMIN", "columns"),
        ("{e};;;ADMIN;;;;", "Column 'name' is mandatory"),
    ];
    let mut lines =
        vec!["email;name;company;role;password;environmentUuid;environmentName;bot".to_owned()];
    let mut expected = HashMap::new();
    for i in 0..10_000 {
        let email = format!("user{i:05}@bulk.example");
        if i % 100 == 99 {
            let (tpl, reason) = bad[(i / 100) % bad.len()];
            let row = tpl
                .replace(
                    "{e}",
                    &if tpl.starts_with("{e};Dup") {
                        "user00000@bulk.example".to_owned()
                    } else {
                        email.clone()
                    },
                )
                .replace("{prod}", PROD)
                .replace("{old}", OLD)
                .replace("{stagebot}", STAGE_BOT)
                .replace("{offbot}", OFF_BOT);
            let key = if tpl.starts_with("bad-email") {
                "bad-email".to_owned()
            } else if tpl.starts_with("{e};Dup") {
                "user00000@bulk.example".to_owned()
            } else {
                email
            };
            expected.insert(key, reason);
            lines.push(row);
            continue;
        }
        let row = match i % 4 {
            0 => format!("{email};Admin {i};Corp;ADMIN;;;;"),
            1 => format!("{email};Super {i};;SUPERVISOR;;{STAGE};Staging;"),
            2 => format!("{email};Editor {i};Corp;EDITOR;;{PROD};Production;{BOT}"),
            _ => format!(
                "{email};Viewer {i};;VIEWER;{};{PROD};Production;{BOT2}",
                if i % 1000 == 3 { "Vi3wer!" } else { "" }
            ),
        };
        lines.push(row);
    }
    (lines.join("\r\n") + "\r\n", expected)
}

#[tokio::test]
async fn ten_thousand_rows_with_one_percent_bad() {
    let app = TestApp::spawn_with(|c| c.max_csv_bytes = 8 * 1024 * 1024).await;
    let acme = app.bootstrap("acme").await;
    app.eva_catalog("acme").await;
    // ADMIN rows need a caller above ADMIN: the platform administrator does this import.
    let root = crate::amigo_orgs::platform(&app).await;
    let acme_as_root = Org {
        token: root.token.clone(),
        ..acme.clone()
    };
    let (file, expected) = big_file();
    let started = std::time::Instant::now();
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(file.clone().into_bytes()).file_name("u.csv"),
    );
    let path = format!("/org/{}/users/bulk-create?language=pt", acme.uuid);
    let r = app
        .call_with(Method::POST, &path, |r| {
            r.bearer_auth(&acme_as_root.token)
                .header("x-org-id", "platform")
                .multipart(form)
        })
        .await;
    eprintln!("import took {:?}", started.elapsed());
    assert_eq!(r.status, 200);
    let body = r.body;
    assert_eq!(
        failure_list(&body).len(),
        100,
        "every bad row reported once"
    );
    let got = failures(&body);
    for (key, reason) in &expected {
        let msg = got.get(key).unwrap_or_else(|| panic!("{key} not reported"));
        assert!(
            msg.contains(reason),
            "{key}: '{msg}' should name the rule '{reason}'"
        );
    }
    let good = 10_000 - 100;
    assert_eq!(
        app.count_users("acme").await,
        good + 1,
        "every good row imported, plus the administrator"
    );
    // Every imported non-admin holds its environment; every user a role.
    let mut q = roster_domain::paging::UserQuery::new(20_000);
    q.page.limit = 20_000;
    let users = app
        .state
        .core
        .store
        .list_users(&OrgId::from("acme"), &q)
        .await
        .unwrap();
    let ids: Vec<UserId> = users.iter().map(|u| u.id.clone()).collect();
    let with_env: std::collections::HashSet<UserId> = app
        .state
        .core
        .store
        .env_access(&OrgId::from("acme"), &ids)
        .await
        .unwrap()
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    for u in &users {
        assert!(!u.role_ids.is_empty(), "{} has a role", u.email);
        if !u.is_admin {
            assert!(with_env.contains(&u.id), "{} has its environment", u.email);
        }
    }
    // A row's password signs in.
    let t = app
        .password_token(&acme, "user00003@bulk.example", "Vi3wer!")
        .await;
    assert_eq!(t.status, 200, "{}", t.body);
    let welcome = app
        .state
        .core
        .store
        .list_outbox(&OrgId::from("acme"))
        .await
        .unwrap()
        .into_iter()
        .filter(|m| m.kind == "welcome")
        .count();
    assert_eq!(welcome, good);

    // The same file again: nothing created, every row reported (as already present or as before).
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(file.into_bytes()).file_name("u.csv"),
    );
    let path = format!("/org/{}/users/bulk-create", acme.uuid);
    let r = app
        .call_with(Method::POST, &path, |r| {
            r.bearer_auth(&root.token)
                .header("x-org-id", "platform")
                .multipart(form)
        })
        .await;
    assert_eq!(r.status, 422);
    let body = r.body;
    assert_eq!(failure_list(&body).len(), 10_000, "every row reported");
    let again = failures(&body);
    assert_eq!(
        again["user00000@bulk.example"],
        "A user with this email already exists in the organization"
    );
    assert!(again["user00001@bulk.example"].contains("already exists"));
    assert_eq!(app.count_users("acme").await, good + 1);
}

#[tokio::test]
async fn hostile_files() {
    let app = TestApp::spawn_with(|c| c.max_csv_bytes = 64 * 1024).await;
    let acme = app.bootstrap("acme").await;
    app.eva_catalog("acme").await;
    let file = format!(
        "\u{feff}EMAIL;NAME;COMPANY;ROLE;PASSWORD;ENVIRONMENTUUID;ENVIRONMENTNAME;BOT\r\n\
         quoted@x.example;\"Souza; Ana\";\"Corp; Inc\";SUPERVISOR;;{STAGE};Staging;\r\n\
         \r\n\
         short@x.example;Only Two\r\n\
         long@x.example;A;B;SUPERVISOR;;{STAGE};Staging;;extra;columns\r\n"
    );
    let mut bytes = file.into_bytes();
    bytes.extend_from_slice(b"latin@x.example;Jos\xe9;;SUPERVISOR;;");
    bytes.extend_from_slice(STAGE.as_bytes());
    bytes.extend_from_slice(b";Staging;\n");
    let (status, body) = upload(&app, &acme, Method::POST, "bulk-create", bytes).await;
    assert_eq!(status, 200, "{body}");
    let got = failures(&body);
    assert_eq!(got.len(), 3, "{got:?}");
    assert!(got["short@x.example"].contains("columns"));
    assert!(got["long@x.example"].contains("columns"));
    assert!(got["latin@x.example"].contains("UTF-8"));
    let listed = app
        .eva(
            Method::GET,
            &format!("/org/{}/users?searchTerms=quoted", acme.uuid),
            &acme.token,
            None,
        )
        .await
        .expect(200);
    assert_eq!(listed["content"][0]["name"], "Souza; Ana");
    assert_eq!(listed["content"][0]["company"], "Corp; Inc");

    // Nothing usable: 422 with the rows; an empty file and a missing part: clear 4xx.
    let (status, body) = upload(&app, &acme, Method::POST, "bulk-create", b"a;b\n".to_vec()).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["details"][0]["fieldName"], "a");
    let (status, body) = upload(&app, &acme, Method::POST, "bulk-create", Vec::new()).await;
    assert_eq!(
        (status, body["details"][0]["fieldName"].as_str()),
        (422, Some("file"))
    );
    app.post(
        &format!("/org/{}/users/bulk-create", acme.uuid),
        &acme.token,
        json!({}),
    )
    .await
    .expect(422);
    // Over the limit: 413 before the whole file is read.
    let huge = vec![b'x'; 200 * 1024];
    let (status, _) = upload(&app, &acme, Method::POST, "bulk-create", huge).await;
    assert_eq!(status, 413);
    assert_eq!(app.count_users("acme").await, 2);
}

#[tokio::test]
async fn bulk_delete_and_permissions() {
    let app = TestApp::spawn().await;
    let acme = app.bootstrap("acme").await;
    app.eva_catalog("acme").await;
    let rows = format!(
        "v1@x.example;View One;;VIEWER;;{PROD};Production;{BOT}\n\
         v2@x.example;View Two;;VIEWER;;{PROD};Production;{BOT}\n\
         v3@x.example;View Three;;VIEWER;;{PROD};Production;{BOT}\n"
    );
    assert_eq!(
        upload(&app, &acme, Method::POST, "bulk-create", rows.into_bytes())
            .await
            .0,
        200
    );
    // Grant: a second bot in Production, and Staging as supervisor; revoke: one bot, one environment.
    let grant = format!(
        "v1@x.example;;;VIEWER;;{PROD};Production;{BOT2}\n\
         v1@x.example;;;SUPERVISOR;;{STAGE};Staging;\n\
         ghost@x.example;;;VIEWER;;{PROD};Production;{BOT}\n\
         v2@x.example;;;VIEWER;;{PROD};Production;{STAGE_BOT}\n"
    );
    let (status, body) = upload(
        &app,
        &acme,
        Method::POST,
        "bulk-permissions",
        grant.into_bytes(),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let f = failures(&body);
    assert_eq!(f.len(), 2);
    assert!(f["ghost@x.example"].contains("not found"));
    assert!(f["v2@x.example"].contains("does not belong"));
    let find = |email: &'static str| {
        let app = &app;
        let acme = acme.clone();
        async move {
            let l = app
                .eva(
                    Method::GET,
                    &format!("/org/{}/users?searchTerms={email}", acme.uuid),
                    &acme.token,
                    None,
                )
                .await
                .expect(200);
            l["content"][0].clone()
        }
    };
    let v1 = find("v1@x.example").await;
    let envs = v1["environments"].as_array().unwrap();
    assert_eq!(envs.len(), 2);
    let prod = envs
        .iter()
        .find(|e| e["environment"]["uuid"] == PROD)
        .unwrap();
    assert_eq!(prod["bots"].as_array().unwrap().len(), 2);
    let revoke = format!("v1@x.example;;;VIEWER;;{PROD};Production;{BOT}\nv1@x.example;;;SUPERVISOR;;{STAGE};Staging;\n");
    assert_eq!(
        upload(
            &app,
            &acme,
            Method::DELETE,
            "bulk-permissions",
            revoke.into_bytes()
        )
        .await
        .0,
        200
    );
    let v1 = find("v1@x.example").await;
    assert_eq!(
        v1["environments"],
        json!([{ "role": "VIEWER", "environment": { "uuid": PROD, "name": "Production" }, "bots": [{ "uuid": BOT2, "name": "Second" }] }])
    );

    // Revoking a viewer's last bot removes the environment; revoking the last environment is refused.
    let last = format!("v3@x.example;;;VIEWER;;{PROD};Production;{BOT}\n");
    let (status, body) = upload(
        &app,
        &acme,
        Method::DELETE,
        "bulk-permissions",
        last.into_bytes(),
    )
    .await;
    assert_eq!(status, 422, "{body}");
    assert!(failures(&body)["v3@x.example"].contains("without any environment"));
    assert_eq!(
        find("v3@x.example").await["environments"][0]["bots"][0]["uuid"],
        BOT
    );

    // Bulk delete from a CSV file and from a JSON array.
    let (status, body) = upload(
        &app,
        &acme,
        Method::DELETE,
        "bulk-delete",
        b"email\nv1@x.example\nghost@x.example\n".to_vec(),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(failures(&body)["ghost@x.example"].contains("not found"));
    let r = app
        .eva(
            Method::DELETE,
            &format!("/org/{}/users/bulk-delete", acme.uuid),
            &acme.token,
            Some(json!(["v2@x.example", "admin@acme.example"])),
        )
        .await
        .expect(200);
    assert!(failures(&r)["admin@acme.example"].contains("themselves"));
    let r = app
        .eva(
            Method::DELETE,
            &format!("/org/{}/users/bulk-delete", acme.uuid),
            &acme.token,
            Some(json!(["nobody@x.example"])),
        )
        .await;
    assert_eq!(r.status, 422);
    assert_eq!(
        app.eva(
            Method::GET,
            &format!("/org/{}/users", acme.uuid),
            &acme.token,
            None
        )
        .await
        .expect(200)["totalElements"],
        2
    );
}

/// A `roster serve` process, killed (SIGKILL) when dropped.
struct Server(std::process::Child);

impl Server {
    fn kill(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A `roster serve` process on `url`, with the address it listens on.
async fn serve(url: &str, data: &std::path::Path) -> (Server, String) {
    use std::io::{BufRead, BufReader};
    let mut child = Server(
        std::process::Command::new(env!("CARGO_BIN_EXE_roster"))
            .args(["serve", "--bind", "127.0.0.1:0"])
            .env("ROSTER_DATA_DIR", data)
            .env("ROSTER_DATABASE_URL", url)
            .env("ROSTER_LOG_FORMAT", "json")
            .env("ROSTER_RATE_LIMITS", "off")
            .env("ROSTER_INGEST_TOKEN", "ingest-secret-for-tests")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let stderr = child.0.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    loop {
        let line = rx
            .recv_timeout(std::time::Duration::from_secs(60))
            .expect("the server logs its address");
        let v: Value = serde_json::from_str(&line).unwrap_or(Value::Null);
        if v["message"] == "roster listening" {
            return (child, format!("http://{}", v["bind"].as_str().unwrap()));
        }
    }
}

#[tokio::test]
async fn a_server_killed_mid_import_leaves_no_partial_user() {
    let tmp = tempfile::tempdir().unwrap();
    let url = crate::helpers::test_database_url(tmp.path()).await;
    let data = tmp.path().join("data");
    let (mut server, base) = serve(&url, &data).await;
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_roster"))
        .args([
            "bootstrap",
            "--org",
            "acme",
            "--org-name",
            "Acme",
            "--admin-email",
            "admin@acme.example",
            "--json",
        ])
        .env("ROSTER_DATABASE_URL", &url)
        .output()
        .unwrap();
    let made: Value = serde_json::from_slice(&out.stdout).unwrap();
    let client = reqwest::Client::new();
    let ingest = |path: String, body: Value| {
        client
            .put(format!("{base}{path}"))
            .bearer_auth("ingest-secret-for-tests")
            .json(&body)
            .send()
    };
    assert_eq!(
        ingest(
            format!("/ingest/v1/acme/environments/{PROD}"),
            json!({ "name": "Production" })
        )
        .await
        .unwrap()
        .status(),
        204
    );
    assert_eq!(
        ingest(
            format!("/ingest/v1/acme/bots/{BOT}"),
            json!({ "environment_uuid": PROD, "name": "Main" })
        )
        .await
        .unwrap()
        .status(),
        204
    );
    let token: Value = client
        .post(format!("{base}/v1/acme/user/signin_with_api_key"))
        .header("x-api-key", made["api_key"].as_str().unwrap())
        .header("x-api-key-id", made["api_key_id"].as_str().unwrap())
        .header("x-user-id", made["user_id"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = token["id_token"].as_str().unwrap().to_owned();
    let rows: String = (0..30_000)
        .map(|i| format!("k{i:05}@kill.example;Kill {i};;EDITOR;;{PROD};Production;{BOT}\n"))
        .collect();
    let upload = crate::helpers::spawn_bulk_create(
        &client,
        &base,
        made["org_uuid"].as_str().unwrap(),
        &token,
        rows,
    );
    // Kill -9 as soon as some batches have committed.
    let db = roster_store::Db::connect(&url, &Default::default())
        .await
        .unwrap();
    let store = roster_store::SqlStore::single(db.clone());
    let store: &dyn roster_domain::store::Store = &store;
    let count = || async {
        let mut q = roster_domain::paging::UserQuery::new(100_000);
        q.page.limit = 100_000;
        store.list_users(&OrgId::from("acme"), &q).await.unwrap()
    };
    let started = std::time::Instant::now();
    while count().await.len() < 600 {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(120),
            "the import never committed a batch"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    server.kill();
    // The client sees its connection drop; what matters is what the database holds.
    let _ = upload.await;
    let before = count().await;
    assert!(
        before.len() > 1 && before.len() < 30_001,
        "killed in the middle: {} users",
        before.len()
    );
    // Every user that exists is whole: its role and its environment with its bot.
    let ids: Vec<UserId> = before.iter().map(|u| u.id.clone()).collect();
    let envs: HashMap<UserId, roster_domain::model::EnvAccess> = store
        .env_access(&OrgId::from("acme"), &ids)
        .await
        .unwrap()
        .into_iter()
        .collect();
    for u in before.iter().filter(|u| u.email.ends_with("@kill.example")) {
        assert_eq!(u.role_ids.len(), 1, "{} has its role", u.email);
        let e = envs
            .get(&u.id)
            .unwrap_or_else(|| panic!("{} has its environment", u.email));
        assert_eq!(e.bots, vec![BOT.to_owned()]);
    }
    // The server comes back on the same database, and the rest of the file can be imported again.
    let (mut again, base2) = serve(&url, &data).await;
    let ready = client.get(format!("{base2}/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 200);
    again.kill();
    db.close().await;
}

#[tokio::test]
async fn a_row_in_a_role_the_caller_may_not_invite_into_is_reported() {
    let app = TestApp::spawn().await;
    let acme = app.bootstrap("acme").await;
    app.eva_catalog("acme").await;
    // Outranks supervisors and viewers, and may invite viewers only.
    let supervisor = roster_domain::permissions::builtin_roles(false)
        .into_iter()
        .find(|r| r.name == "SUPERVISOR")
        .unwrap();
    let mut grants = serde_json::to_value(supervisor.grants)
        .unwrap()
        .as_array()
        .unwrap()
        .clone();
    grants.push(json!({ "permission_name": "User:InviteUser",
        "conditions": { "role_name": { "type": "Equals", "value": "VIEWER" } } }));
    let role = json!({ "role_name": "ViewerInviter", "description": "invites viewers",
        "permission_grants": grants, "frontend_view": "client" });
    let (_, token) =
        crate::amigo_roles::holder_of_platform_role(&app, &acme, role, "inviter@x.example").await;
    let inviter = Org {
        token,
        ..acme.clone()
    };
    let rows = format!(
        "view@x.example;View Er;;VIEWER;;{PROD};Production;{BOT}\n\
         boss@x.example;Super Visor;;SUPERVISOR;;{PROD};Production;\n"
    );
    let (status, body) = upload(
        &app,
        &inviter,
        Method::POST,
        "bulk-create",
        rows.into_bytes(),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let f = failures(&body);
    assert_eq!(f.len(), 1, "{body}");
    assert!(f["boss@x.example"].contains("may not invite into role SUPERVISOR"));
    let users = |email: &str| {
        let q = format!("email={email}");
        let app = &app;
        let acme = &acme;
        async move {
            app.list_users(acme, &acme.token, &q).await["users"]
                .as_array()
                .unwrap()
                .len()
        }
    };
    assert_eq!(users("view@x.example").await, 1);
    assert_eq!(users("boss@x.example").await, 0);
}

/// Every index of `users` is written by every imported row, so the schema carries none that
/// another already serves: on SQLite the sort by email, first page and after a cursor, either
/// way, is read from the unique `(org_id, email_lower)` index in order, with no sort step
/// (migration 0020 dropped the `(org_id, email_lower, id)` index that repeated it).
#[tokio::test]
async fn the_email_sort_reads_the_unique_email_index_in_order() {
    if crate::helpers::is_postgres() {
        // PostgreSQL keeps its email sort index (migration 0020 says why), and its planner
        // picks sequential scans on tiny tables.
        return;
    }
    use roster_domain::paging::{Keyset, Position, SortKey, SortValue, UserQuery};
    let app = TestApp::spawn().await;
    let org = app.bootstrap("acme").await;
    for descending in [false, true] {
        let sort = vec![SortKey {
            field: "email".into(),
            descending,
        }];
        for position in [
            Position::Start,
            Position::After(Keyset {
                sort: sort.clone(),
                values: vec![SortValue::Text("m@acme.example".into())],
                last_id: "x".into(),
            }),
        ] {
            let mut q = UserQuery::new(50);
            q.page.sort = sort.clone();
            q.page.position = position;
            let plan = app
                .state
                .db
                .explain_list_users(&OrgId::from(&org.id), &q)
                .await
                .expect("plan")
                .join("\n");
            assert!(plan.contains("USING INDEX users_org_email"), "{plan}");
            assert!(!plan.contains("TEMP B-TREE"), "{plan}");
        }
    }
}
