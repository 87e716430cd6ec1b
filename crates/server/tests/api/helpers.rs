//! `TestApp`: the server built by the same `Application::build` as `main`, on port 0, plus typed
//! helpers for the calls tests make over and over.

use roster_domain::types::OrgId;
use roster_domain::types::UserId;
use std::path::PathBuf;

use reqwest::{Method, StatusCode};
use roster_server::{Application, Config};
use serde_json::{json, Value};
use tokio::sync::OnceCell;

use crate::schema;

/// The content type of the token endpoints' forms.
pub const FORM: &str = "application/x-www-form-urlencoded";

pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    pub state: roster_server::state::AppState,
    pub data_dir: PathBuf,
    /// The database this app uses, for a second app on the same one.
    pub database_url: String,
    _tmp: tempfile::TempDir,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

/// An organization made by `bootstrap`, with its administrator signed in.
#[derive(Debug, Clone)]
pub struct Org {
    pub id: String,
    pub uuid: String,
    pub admin_id: String,
    pub key_id: String,
    pub key: String,
    pub token: String,
}

#[derive(Debug)]
pub struct Resp {
    pub status: StatusCode,
    pub body: Value,
    pub headers: reqwest::header::HeaderMap,
}

impl Resp {
    #[track_caller]
    pub fn expect(self, status: u16) -> Value {
        assert_eq!(
            self.status.as_u16(),
            status,
            "unexpected status; body: {}",
            self.body
        );
        self.body
    }
}

static PG_READY: OnceCell<()> = OnceCell::const_new();

/// A database URL for one test: a fresh schema on PostgreSQL, or a file under `dir`.
pub async fn test_database_url(dir: &std::path::Path) -> String {
    match std::env::var("TEST_DATABASE_URL") {
        Ok(url) if url.starts_with("postgres") => {
            let admin = sqlx::PgPool::connect(&url)
                .await
                .expect("TEST_DATABASE_URL must be reachable");
            PG_READY
                .get_or_init(|| async {
                    // Extensions are per database; create it once, outside the test schemas.
                    let _ =
                        sqlx::query("CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public")
                            .execute(&admin)
                            .await;
                })
                .await;
            let schema = format!("t_{}", uuid::Uuid::new_v4().simple());
            sqlx::query(&format!("CREATE SCHEMA {schema}"))
                .execute(&admin)
                .await
                .expect("create schema");
            admin.close().await;
            let sep = if url.contains('?') { '&' } else { '?' };
            format!("{url}{sep}options=-c%20search_path%3D{schema},public")
        }
        _ => format!("sqlite:{}", dir.join("roster.db").display()),
    }
}

/// The migrated, empty SQLite database each `TestApp` starts from: migrating once per run and
/// copying the file costs a fraction of migrating every test's database. (Tests of the first
/// start and of `roster migrate` open their own empty files through `test_database_url`.)
static SQLITE_TEMPLATE: OnceCell<Vec<u8>> = OnceCell::const_new();

async fn seed_sqlite(file: &std::path::Path) {
    let template = SQLITE_TEMPLATE
        .get_or_init(|| async {
            let dir = tempfile::tempdir().expect("temp dir");
            let path = dir.path().join("template.db");
            let url = format!("sqlite:{}", path.display());
            let db = roster_store::Db::open(&url, &Default::default())
                .await
                .expect("the template migrates");
            // Everything in the WAL into the file, so that the file alone is the database.
            if let roster_store::Db::Sqlite { write, .. } = &db {
                sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
                    .execute(write)
                    .await
                    .expect("checkpoint");
            }
            db.close().await;
            std::fs::read(&path).expect("template read")
        })
        .await;
    use std::io::Write as _;
    #[cfg(unix)]
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    options.mode(0o600);
    let mut out = options.open(file).expect("test database created");
    out.write_all(template).expect("template copied");
}

pub fn is_postgres() -> bool {
    std::env::var("TEST_DATABASE_URL").is_ok_and(|u| u.starts_with("postgres"))
}

impl TestApp {
    pub async fn spawn() -> Self {
        Self::spawn_with(|_| {}).await
    }

    pub async fn spawn_with(adjust: impl FnOnce(&mut Config)) -> Self {
        let tmp = tempfile::tempdir().expect("temp dir");
        let url = test_database_url(tmp.path()).await;
        if !is_postgres() {
            seed_sqlite(&tmp.path().join("roster.db")).await;
        }
        let mut config = Config::for_tests(tmp.path().join("data"), url);
        adjust(&mut config);
        let app = Application::build(config.clone())
            .await
            .expect("application builds");
        let base = format!("http://127.0.0.1:{}", app.port());
        let state = app.state().clone();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(app.run_until(async {
            let _ = rx.await;
        }));
        Self {
            base,
            client: reqwest::Client::new(),
            state,
            data_dir: config.data_dir.clone(),
            database_url: config.database_url.clone().unwrap_or_default(),
            _tmp: tmp,
            shutdown: Some(tx),
            server: Some(server),
        }
    }

    /// The app's clock: a test moves it instead of sleeping.
    pub fn clock(&self) -> &roster_domain::clock::Clock {
        &self.state.core.config.clock
    }

    /// Moves the app's clock forward by `by`.
    pub fn advance(&self, by: std::time::Duration) {
        assert!(
            self.clock().advance(by),
            "the test app's clock is adjustable"
        );
    }

    /// An app that delivers its email to `smtp`, with one delivery worker.
    pub async fn spawn_with_smtp(smtp: &crate::smtp::SmtpServer) -> Self {
        let url = smtp.url();
        Self::spawn_with(|c| {
            c.smtp_url = Some(url);
            c.mail_workers = 1;
        })
        .await
    }

    /// Shuts the server down the way `roster serve` does on SIGTERM and waits until it has
    /// stopped; the returned directory keeps its SQLite file alive for a next app.
    pub async fn stop(mut self) -> tempfile::TempDir {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(server) = self.server.take() {
            server
                .await
                .expect("server task")
                .expect("server stops cleanly");
        }
        let tmp = tempfile::tempdir().expect("temp dir");
        std::mem::replace(&mut self._tmp, tmp)
    }

    /// Any request; every response is checked against Roster's OpenAPI documents, and Amigo's
    /// also against the vendor's.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> Resp {
        self.call_with(method, path, |mut req| {
            if let Some(t) = token {
                req = req.bearer_auth(t);
            }
            for (k, v) in headers {
                req = req.header(*k, *v);
            }
            if let Some(b) = body {
                req = req.json(&b);
            }
            req
        })
        .await
    }

    /// A request whose body or headers [`TestApp::call`] cannot express (a form, a multipart
    /// upload, raw bytes): `build` completes it; the response is checked the same way.
    pub async fn call_with(
        &self,
        method: Method,
        path: &str,
        build: impl FnOnce(reqwest::RequestBuilder) -> reqwest::RequestBuilder,
    ) -> Resp {
        let req = build(
            self.client
                .request(method.clone(), format!("{}{path}", self.base)),
        );
        let resp = req.send().await.expect("request sent");
        let status = resp.status();
        let headers = resp.headers().clone();
        let content_type = headers
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        let text = resp.text().await.expect("body read");
        // What the request left to do after its answer (a requested email) is done before the
        // test looks at the outcome.
        self.state.core.deferred.idle().await;
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        if path.starts_with("/v1/") {
            schema::check_amigo_response(&method, path, status.as_u16(), &body);
        }
        crate::openapi::check_response(&method, path, status.as_u16(), &content_type, &body);
        Resp {
            status,
            body,
            headers,
        }
    }

    /// Uploads `csv` as the multipart `file` of a bulk operation, through the OpenAPI check.
    pub async fn upload_csv(
        &self,
        method: Method,
        path: &str,
        token: &str,
        csv: impl Into<Vec<u8>>,
    ) -> Resp {
        let form = reqwest::multipart::Form::new().part(
            "file",
            reqwest::multipart::Part::bytes(csv.into()).file_name("users.csv"),
        );
        self.call_with(method, path, |r| r.bearer_auth(token).multipart(form))
            .await
    }

    /// POSTs `body` as it is, with `content_type` if given (the token endpoints' forms).
    pub async fn post_raw(&self, path: &str, content_type: Option<&str>, body: String) -> Resp {
        self.call_with(Method::POST, path, |mut r| {
            if let Some(t) = content_type {
                r = r.header("content-type", t);
            }
            r.body(body)
        })
        .await
    }

    pub async fn get(&self, path: &str, token: &str) -> Resp {
        self.call(Method::GET, path, Some(token), None, &[]).await
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> Resp {
        self.call(Method::POST, path, Some(token), Some(body), &[])
            .await
    }

    pub async fn delete(&self, path: &str, token: &str) -> Resp {
        self.call(Method::DELETE, path, Some(token), None, &[])
            .await
    }

    /// Creates an organization the way `roster bootstrap` does, and signs its administrator in.
    pub async fn bootstrap(&self, org: &str) -> Org {
        self.bootstrap_on(org, None).await
    }

    /// [`TestApp::bootstrap`] on a named database cluster (`roster bootstrap --cluster`).
    pub async fn bootstrap_on(&self, org: &str, cluster: Option<&str>) -> Org {
        let input = roster_domain::core::NewOrgInput {
            id: org.into(),
            name: format!("{org} Inc."),
            default_preferences: Default::default(),
            user_dimensions: json!([]),
            branding: json!({}),
            is_platform: false,
            cluster: cluster.map(str::to_owned),
        };
        let made = self
            .state
            .core
            .bootstrap(
                input,
                &format!("admin@{org}.example"),
                "Ada Admin",
                "test key",
                90,
            )
            .await
            .expect("bootstrap");
        let mut o = Org {
            id: made.org.id.into(),
            uuid: made.org.uuid,
            admin_id: made.user.id.into(),
            key_id: made.api_key.key_id,
            key: made.secret,
            token: String::new(),
        };
        o.token = self.sign_in(&o, &o.admin_id.clone()).await;
        o
    }

    pub async fn sign_in_resp(&self, org: &Org, user_id: &str) -> Resp {
        let path = format!("/v1/{}/user/signin_with_api_key", org.id);
        let headers = [
            ("x-api-key", org.key.as_str()),
            ("x-api-key-id", org.key_id.as_str()),
            ("x-user-id", user_id),
        ];
        self.call(Method::POST, &path, None, None, &headers).await
    }

    pub async fn sign_in(&self, org: &Org, user_id: &str) -> String {
        let body = self.sign_in_resp(org, user_id).await.expect(200);
        body["id_token"].as_str().expect("id_token").to_owned()
    }

    /// Invites a user into `role` as the organization's administrator; returns the user id.
    pub async fn invite(
        &self,
        org: &Org,
        email: &str,
        first: &str,
        last: &str,
        role: &str,
    ) -> String {
        let body =
            json!({ "first_name": first, "last_name": last, "email": email, "role_name": role });
        let out = self
            .post(&format!("/v1/{}/user/", org.id), &org.token, body)
            .await
            .expect(201);
        out["user_id"].as_str().expect("user_id").to_owned()
    }

    /// Invites a user and signs them in with the organization's key.
    pub async fn user(&self, org: &Org, email: &str, role: &str) -> (String, String) {
        let id = self.invite(org, email, "Test", "User", role).await;
        let token = self.sign_in(org, &id).await;
        (id, token)
    }

    pub async fn list_users(&self, org: &Org, token: &str, query: &str) -> Value {
        self.get(&format!("/v1/{}/user/?{query}", org.id), token)
            .await
            .expect(200)
    }

    /// Ingestion: sets a user's statistics.
    pub async fn set_stats(
        &self,
        org: &str,
        user_id: &str,
        conversations: i64,
        messages: i64,
        last: Option<&str>,
    ) {
        let path = format!("/ingest/v1/{org}/users/{user_id}/stats");
        let body = json!({ "num_conversations": conversations, "num_messages": messages, "last_message_time": last });
        let r = self
            .call(
                Method::PUT,
                &path,
                None,
                Some(body),
                &[("authorization", "Bearer ingest-secret-for-tests")],
            )
            .await;
        assert_eq!(r.status.as_u16(), 204, "{}", r.body);
    }

    pub async fn count_users(&self, org: &str) -> usize {
        let mut q = roster_domain::paging::UserQuery::new(100_000);
        q.page.limit = 100_000;
        self.state
            .core
            .store
            .list_users(&OrgId::from(org), &q)
            .await
            .expect("list")
            .len()
    }
}

impl TestApp {
    /// A session of the organization's administrator that proves ownership of the account (a
    /// password sign-in), as changes to the account itself require.
    pub async fn owner_session(&self, org: &Org) -> String {
        let hash = self
            .state
            .core
            .passwords
            .hash("Owner-pass1")
            .await
            .expect("hash");
        let admin = self
            .state
            .core
            .store
            .get_user(&OrgId::from(&org.id), &UserId::from(&org.admin_id))
            .await
            .expect("store")
            .expect("admin");
        self.state
            .core
            .store
            .set_password(
                &admin.identity_id,
                &hash,
                false,
                roster_domain::types::session_stamp(),
                Default::default(),
            )
            .await
            .expect("password");
        let t = self
            .password_token(org, &admin.email, "Owner-pass1")
            .await
            .expect(200);
        t["access_token"].as_str().expect("access_token").to_owned()
    }
}

/// Starts an eva bulk-create upload of `csv` in the background, for tests that stop or kill the
/// server while it runs.
pub fn spawn_bulk_create(
    client: &reqwest::Client,
    base: &str,
    org_uuid: &str,
    token: &str,
    csv: String,
) -> tokio::task::JoinHandle<reqwest::Result<reqwest::Response>> {
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(csv.into_bytes()).file_name("u.csv"),
    );
    tokio::spawn(
        client
            .post(format!("{base}/org/{org_uuid}/users/bulk-create"))
            .bearer_auth(token)
            .multipart(form)
            .send(),
    )
}

impl TestApp {
    /// Gives the organization's administrator `password`; returns its email.
    pub async fn give_admin_password(&self, org: &Org, password: &str) -> String {
        let hash = self.state.core.passwords.hash(password).await.unwrap();
        let store = &self.state.core.store;
        let admin = store
            .get_user(&OrgId::from(&org.id), &UserId::from(&org.admin_id))
            .await
            .unwrap()
            .unwrap();
        store
            .set_password(
                &admin.identity_id,
                &hash,
                false,
                roster_domain::types::session_stamp(),
                Default::default(),
            )
            .await
            .unwrap();
        admin.email
    }
}

/// A fresh Ed25519 signing key, newer than every key made before it.
pub fn new_signing_key() -> roster_domain::model::SigningKey {
    use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
    use base64::Engine;
    use ring::signature::KeyPair;
    let rng = ring::rand::SystemRandom::new();
    let pkcs8 = ring::signature::Ed25519KeyPair::generate_pkcs8(&rng).unwrap();
    let pair = ring::signature::Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap();
    roster_domain::model::SigningKey {
        kid: roster_domain::types::new_object_id(),
        alg: "EdDSA".into(),
        private_pkcs8: STANDARD.encode(pkcs8.as_ref()),
        public_x: URL_SAFE_NO_PAD.encode(pair.public_key().as_ref()),
        created_at: chrono::Utc::now().timestamp_micros() + 1,
        retire_at: None,
    }
}
