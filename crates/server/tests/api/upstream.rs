//! Signing in through upstream providers, against one nobody here wrote: npm `oidc-provider`
//! (exact version, `scripts/oidc-upstream-setup`), started on loopback, standing in for Google
//! (`ROSTER_GOOGLE_ISSUER`) and for an organization's own connection. Its login form is
//! followed like a browser would (no redirects followed by the client, cookies kept).

use roster_domain::types::OrgId;
use roster_domain::types::UserId;
use std::collections::BTreeMap;
use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Mutex, OnceLock};

use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{Org, TestApp};
use crate::oidc_browser::{
    auth_path, claims, client, org_with_password, request, token, Browser, Page, REDIRECT, VERIFIER,
};

const GOOGLE_ID: &str = "roster-google";
pub(crate) const SSO_ID: &str = "roster-acme-sso";
pub(crate) const SECRET: &str = "upstream-client-secret";

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The process that serves every test's upstream provider (`server.mjs`: node and
/// oidc-provider take about a second to start, so the run starts them once, when a test first
/// asks). Its pipes are plain blocking ones, not a test runtime's: it outlives every test, and
/// stops when the test binary exits (its stdin closes).
struct Providers {
    stdin: std::process::ChildStdin,
    lines: std::io::Lines<std::io::BufReader<std::process::ChildStdout>>,
    /// The id of the next request; every answer carries its request's.
    next: u64,
    _child: std::process::Child,
}

static PROVIDERS: OnceLock<Mutex<Providers>> = OnceLock::new();

impl Providers {
    fn get() -> &'static Mutex<Providers> {
        PROVIDERS.get_or_init(|| {
            let ok = std::process::Command::new(workspace().join("scripts/oidc-upstream-setup"))
                .status()
                .expect("run scripts/oidc-upstream-setup");
            assert!(
                ok.success(),
                "scripts/oidc-upstream-setup failed (it installs oidc-provider from npm)"
            );
            let mut child = std::process::Command::new("node")
                .arg(workspace().join("target/oidc-upstream/server.mjs"))
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .expect("start node");
            Mutex::new(Providers {
                stdin: child.stdin.take().unwrap(),
                lines: std::io::BufReader::new(child.stdout.take().unwrap()).lines(),
                next: 0,
                _child: child,
            })
        })
    }

    /// Sends `msg` with a new request id, and returns the id.
    fn send(&mut self, mut msg: Value) -> std::io::Result<u64> {
        let id = self.next;
        self.next += 1;
        msg["id"] = id.into();
        writeln!(self.stdin, "{msg}")?;
        self.stdin.flush()?;
        Ok(id)
    }

    /// The answer to request `id`. The answers to earlier requests nobody waited for (a
    /// test's close) are passed over, their errors reported.
    fn answer(&mut self, id: u64) -> Value {
        self.answer_past(id).0
    }

    /// The answer to request `id`, and the answers passed over to reach it. An answer without
    /// an id is a panic: waiting on for another line would wait for ever if it was this one.
    fn answer_past(&mut self, id: u64) -> (Value, Vec<Value>) {
        let mut passed = Vec::new();
        loop {
            let line = self
                .lines
                .next()
                .expect("the providers run")
                .expect("read from the providers");
            let Ok(v) = serde_json::from_str::<Value>(&line) else {
                continue;
            };
            let Some(got) = v.get("id").filter(|i| !i.is_null()) else {
                panic!("the providers answered without an id (waiting for {id}): {v}");
            };
            if *got != id {
                if let Some(e) = v.get("error") {
                    eprintln!("the providers, request {got}: {e}");
                }
                passed.push(v);
                continue;
            }
            assert!(v.get("error").is_none(), "the providers: {v}");
            return (v, passed);
        }
    }

    /// The shared process's answer to `msg`, asked off the test's runtime.
    async fn ask(msg: Value) -> Value {
        tokio::task::spawn_blocking(move || {
            let mut p = Self::get().lock().unwrap_or_else(|e| e.into_inner());
            let id = p.send(msg).expect("write to the providers");
            p.answer(id)
        })
        .await
        .unwrap()
    }
}

/// The test's own upstream provider, on its own port of the shared process; its port closes
/// when the test ends.
pub struct Upstream {
    pub issuer: String,
}

impl Upstream {
    pub async fn start() -> Self {
        let made = Providers::ask(json!({ "new": true })).await;
        Self {
            issuer: made["issuer"].as_str().unwrap().to_owned(),
        }
    }

    /// Registers Roster's clients (Google's and the organization's connection's) for `app`,
    /// and starts the provider.
    pub async fn register(&mut self, app: &TestApp) {
        let clients = json!({ "issuer": self.issuer, "clients": [
            { "client_id": GOOGLE_ID, "client_secret": SECRET,
              "redirect_uris": [format!("{}/connections/google-oauth2/callback", app.base)] },
            { "client_id": SSO_ID, "client_secret": SECRET,
              "redirect_uris": [format!("{}/connections/acme/acme-sso/callback", app.base)] },
        ]});
        assert_eq!(Providers::ask(clients).await["ready"], self.issuer);
    }
}

/// Closes the test's port without waiting for the answer, and without panicking: a failed
/// test unwinds through here, and a panic in a `Drop` while unwinding aborts the whole run.
impl Drop for Upstream {
    fn drop(&mut self) {
        let Some(providers) = PROVIDERS.get() else {
            return;
        };
        let mut p = providers.lock().unwrap_or_else(|e| e.into_inner());
        if let Err(e) = p.send(json!({ "close": self.issuer })) {
            eprintln!("closing the upstream provider {}: {e}", self.issuer);
        }
    }
}

/// An answer nobody waits for (a close's, or here a request that fails) is not taken for the
/// next request's: every answer carries its request's id. Both requests are sent under one
/// lock, so the failure's answer comes before the next one's and must be passed over.
#[tokio::test]
async fn an_unawaited_failure_is_not_taken_for_the_next_answer() {
    let (failed, made, passed) = tokio::task::spawn_blocking(|| {
        let mut p = Providers::get().lock().unwrap_or_else(|e| e.into_inner());
        // Clients for an issuer the process never made: it answers an error.
        let failed = p
            .send(json!({ "issuer": "http://127.0.0.1:1", "clients": [] }))
            .expect("write to the providers");
        let id = p
            .send(json!({ "new": true }))
            .expect("write to the providers");
        let (made, passed) = p.answer_past(id);
        (failed, made, passed)
    })
    .await
    .unwrap();
    let up = Upstream {
        issuer: made["issuer"].as_str().unwrap().to_owned(),
    };
    assert!(up.issuer.starts_with("http://127.0.0.1:"), "{}", up.issuer);
    assert!(
        passed
            .iter()
            .any(|v| v["id"] == failed && v.get("error").is_some()),
        "the failure's answer (request {failed}) was passed over: {passed:?}"
    );
}

/// A server whose `google-oauth2` is the upstream provider, and that provider.
pub async fn with_upstream() -> (TestApp, Upstream) {
    let mut up = Upstream::start().await;
    let issuer = up.issuer.clone();
    // The public URL is the server's own address: the provider sends the browser back there.
    let app = TestApp::spawn_with(|c| {
        c.public_url = None;
        c.google_client_id = Some(GOOGLE_ID.into());
        c.google_client_secret = Some(SECRET.into());
        c.google_issuer = issuer;
    })
    .await;
    up.register(&app).await;
    (app, up)
}

/// The upstream side of the browser: cookies by name, forms followed.
struct UpstreamBrowser {
    http: reqwest::Client,
    cookies: BTreeMap<String, String>,
}

impl UpstreamBrowser {
    fn new() -> Self {
        Self {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            cookies: BTreeMap::new(),
        }
    }

    async fn send(&mut self, method: Method, url: &str, form: Option<String>) -> Page {
        let jar = self
            .cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ");
        let mut r = self.http.request(method, url).header(COOKIE, jar);
        if let Some(body) = form {
            r = r
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body);
        }
        let r = r.send().await.unwrap();
        for c in r.headers().get_all(SET_COOKIE) {
            let c = c.to_str().unwrap();
            let (kv, attrs) = c.split_once(';').unwrap_or((c, ""));
            let (k, v) = kv.split_once('=').unwrap();
            if v.is_empty() || attrs.contains("1970") {
                self.cookies.remove(k);
            } else {
                self.cookies.insert(k.to_owned(), v.to_owned());
            }
        }
        Page {
            status: r.status().as_u16(),
            headers: r.headers().clone(),
            body: r.text().await.unwrap(),
        }
    }

    /// Follows the provider from its authorization URL, signing in as `login` on its form and
    /// confirming what it asks, until it sends the browser back to Roster (that URL).
    async fn sign_in(&mut self, issuer: &str, start: &str, login: &str, back_to: &str) -> String {
        let mut next = (Method::GET, start.to_owned(), None::<String>);
        for _ in 0..20 {
            let page = self.send(next.0.clone(), &next.1, next.2.take()).await;
            if let Some(loc) = page.headers.get(LOCATION) {
                let loc = loc.to_str().unwrap().to_owned();
                if loc.starts_with(back_to) {
                    return loc;
                }
                let abs = if loc.starts_with('/') {
                    format!("{issuer}{loc}")
                } else {
                    loc
                };
                next = (Method::GET, abs, None);
                continue;
            }
            assert_eq!(page.status, 200, "upstream page: {}", page.body);
            let form = &page.body[page.body.find("<form").expect("a form")..];
            let attr = |s: &str, name: &str| {
                let start = s.find(&format!("{name}=\"")).unwrap() + name.len() + 2;
                s[start..start + s[start..].find('"').unwrap()].replace("&amp;", "&")
            };
            let action = attr(form, "action");
            let form_end = &form[..form.find("</form>").unwrap()];
            let mut body = form_urlencoded::Serializer::new(String::new());
            for input in form_end.split("<input").skip(1) {
                if input.contains("type=\"hidden\"") {
                    body.append_pair(&attr(input, "name"), &attr(input, "value"));
                }
            }
            if form_end.contains("name=\"login\"") {
                body.append_pair("login", login);
                body.append_pair("password", "any password");
            }
            let url = if action.starts_with('/') {
                format!("{issuer}{action}")
            } else {
                action
            };
            next = (Method::POST, url, Some(body.finish()));
        }
        panic!("the provider never sent the browser back");
    }
}

/// The href of the sign-in page's link labelled `label`.
pub(crate) fn link(page: &Page, label: &str) -> String {
    let end = page
        .body
        .find(&format!(">{label}</a>"))
        .unwrap_or_else(|| panic!("a link '{label}': {}", page.body));
    let before = &page.body[..end];
    let start = before.rfind("href=\"").unwrap() + 6;
    before[start..before.len() - 1].replace("&amp;", "&")
}

/// A sign-in through the button `label` of `org`'s hosted page, as `login` upstream;
/// `tamper` may change the provider's authorization URL on its way (as a browser could).
/// Returns what Roster answers at its callback.
pub(crate) async fn through_button(
    app: &TestApp,
    up: &Upstream,
    org: &str,
    client_id: &str,
    label: &str,
    login: &str,
    tamper: impl Fn(String) -> String,
) -> (Browser, Page) {
    let (mut b, back) = to_callback(app, up, org, client_id, label, login, tamper).await;
    let page = b.get(&back[app.base.len()..]).await;
    (b, page)
}

/// As `through_button`, up to where the provider sends the browser back: that browser and URL.
pub(crate) async fn to_callback(
    app: &TestApp,
    up: &Upstream,
    org: &str,
    client_id: &str,
    label: &str,
    login: &str,
    tamper: impl Fn(String) -> String,
) -> (Browser, String) {
    let mut b = Browser::new(app);
    let page = b.get(&auth_path(org, &request(client_id, "st-up"))).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let go = b.get(&link(&page, label)).await;
    assert_eq!(go.status, 303, "{}", go.body);
    let to = tamper(go.location().unwrap());
    assert!(to.starts_with(&up.issuer), "{to}");
    let back = UpstreamBrowser::new()
        .sign_in(&up.issuer, &to, login, &app.base)
        .await;
    (b, back)
}

/// From the link `href` of a Roster page, through the provider as `login`, back to Roster in
/// the same browser: what Roster answers at its callback.
pub(crate) async fn follow_upstream(
    app: &TestApp,
    up: &Upstream,
    b: &mut Browser,
    href: &str,
    login: &str,
) -> Page {
    let go = b.get(href).await;
    assert_eq!(go.status, 303, "{}", go.body);
    let to = go.location().unwrap();
    assert!(to.starts_with(&up.issuer), "{to}");
    let back = UpstreamBrowser::new()
        .sign_in(&up.issuer, &to, login, &app.base)
        .await;
    b.get(&back[app.base.len()..]).await
}

/// A server with its provider; organization acme with a confidential client (id, secret); and
/// gina@acme.test invited with `google-oauth2`.
async fn gina_invited() -> (TestApp, Upstream, Org, String, String) {
    let (app, up) = with_upstream().await;
    let (acme, id, secret) = setup(&app).await;
    invite(&app, &acme, "gina@acme.test", json!("google-oauth2")).await;
    (app, up, acme, id, secret)
}

/// A sign-in through acme's "Continue with Google" for client `id`, as `login` upstream, its
/// authorization URL changed by `tamper`: what Roster answers at its callback.
async fn via_google(
    app: &TestApp,
    up: &Upstream,
    id: &str,
    login: &str,
    tamper: impl Fn(String) -> String,
) -> Page {
    through_button(app, up, "acme", id, "Continue with Google", login, tamper)
        .await
        .1
}

pub(crate) fn no_tamper(u: String) -> String {
    u
}

/// The member's JWT subject, through the code the flow ended with.
async fn code_signs_in(
    app: &TestApp,
    org: &str,
    client_id: &str,
    secret: &str,
    done: &Page,
) -> Value {
    let t = code_tokens(app, org, client_id, secret, done).await;
    claims(t["id_token"].as_str().unwrap())
}

/// The tokens the code the flow ended with is exchanged for.
pub(crate) async fn code_tokens(
    app: &TestApp,
    org: &str,
    client_id: &str,
    secret: &str,
    done: &Page,
) -> Value {
    assert_eq!(done.status, 303, "{}", done.body);
    assert!(done.location().unwrap().starts_with(REDIRECT));
    let p = done.redirect_params();
    assert_eq!(p["state"], "st-up");
    let (status, t) = token(
        app,
        org,
        &[
            ("grant_type", "authorization_code"),
            ("code", &p["code"]),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
        ],
        Some((client_id, secret)),
    )
    .await;
    assert_eq!(status, 200, "{t}");
    t
}

pub(crate) async fn invite(app: &TestApp, org: &Org, email: &str, connection: Value) {
    let r = app
        .call(
            Method::POST,
            "/users/invite",
            Some(&org.token),
            Some(json!({ "email": email, "name": "In Vitee", "roles": ["analyst"], "connection": connection })),
            &[],
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.body);
}

pub(crate) async fn member(app: &TestApp, org: &str, email: &str) -> roster_domain::model::User {
    let mut q = roster_domain::paging::UserQuery::new(1);
    q.emails_lower = vec![email.to_lowercase()];
    let store = &app.state.core.store;
    store
        .list_users(&OrgId::from(org), &q)
        .await
        .unwrap()
        .remove(0)
}

/// The `reason`s of the organization's refused upstream sign-ins, oldest first.
pub(crate) async fn refusals(app: &TestApp, org: &str) -> Vec<String> {
    let mut events = app
        .state
        .core
        .store
        .list_audit(&OrgId::from(org), 500)
        .await
        .unwrap();
    events.sort_by_key(|e| e.created_at);
    events
        .iter()
        .filter(|e| e.action == "user.sign_in.upstream_refused")
        .map(|e| e.details["reason"].as_str().unwrap_or_default().to_owned())
        .collect()
}

pub(crate) async fn setup(app: &TestApp) -> (Org, String, String) {
    let (acme, _) = org_with_password(app, "acme").await;
    let (id, secret) = client(app, &acme, false, &[REDIRECT]).await;
    (acme, id, secret.unwrap())
}

/// `roster` on the test's database, with none of the environment's `ROSTER_` settings and the
/// public URL `https://id.example.test`.
pub(crate) fn roster_cli(app: &TestApp) -> std::process::Command {
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_roster"));
    for (k, _) in std::env::vars() {
        if k.starts_with("ROSTER_") {
            c.env_remove(k);
        }
    }
    c.env("ROSTER_DATA_DIR", &app.data_dir)
        .env("ROSTER_DATABASE_URL", &app.database_url)
        .env("ROSTER_PUBLIC_URL", "https://id.example.test");
    c
}

pub(crate) async fn sso_connection(
    app: &TestApp,
    up: &Upstream,
    org: &Org,
    domain: &str,
    link: bool,
) {
    app.post(
        "/admin/v1/orgs/acme/connections",
        &org.token,
        json!({ "name": "acme-sso", "issuer": up.issuer, "client_id": SSO_ID,
                "client_secret": SECRET, "domains": [domain],
                "link_password_accounts": link }),
    )
    .await
    .expect(201);
}

#[tokio::test]
async fn a_google_invitation_is_accepted_upstream_and_the_same_button_signs_in_again() {
    let (app, up, _, id, secret) = gina_invited().await;
    let invited = member(&app, "acme", "gina@acme.test").await;
    assert_eq!(invited.status, roster_domain::model::UserStatus::Invited);
    // The provider's address differs in case only: the same person.
    let done = via_google(&app, &up, &id, "Gina@ACME.test", no_tamper).await;
    let first = code_signs_in(&app, "acme", &id, &secret, &done).await;
    assert_eq!(first["sub"], invited.id.as_str());
    assert_eq!(first["amr"], json!(["fed"]));
    let now = member(&app, "acme", "gina@acme.test").await;
    assert_eq!(now.status, roster_domain::model::UserStatus::Active);
    let identity = app
        .state
        .core
        .store
        .get_identity(&now.identity_id)
        .await
        .unwrap()
        .unwrap();
    assert!(identity.email_verified);
    // Again, from another browser: a sign-in, not an acceptance.
    let again = via_google(&app, &up, &id, "Gina@ACME.test", no_tamper).await;
    let second = code_signs_in(&app, "acme", &id, &secret, &again).await;
    assert_eq!(second["sub"], invited.id.as_str());
    let events = app
        .state
        .core
        .store
        .list_audit(&OrgId::from("acme"), 500)
        .await
        .unwrap();
    let accepted: Vec<bool> = events
        .iter()
        .filter(|e| e.action == "user.sign_in.upstream")
        .map(|e| e.details["invitation_accepted"].as_bool().unwrap())
        .collect();
    assert_eq!(accepted.len(), 2);
    assert_eq!(accepted.iter().filter(|a| **a).count(), 1);
    assert!(refusals(&app, "acme").await.is_empty());
}

#[tokio::test]
async fn a_forged_state_is_refused_and_never_redirects() {
    let (app, up, _, id, _) = gina_invited().await;
    let mut b = Browser::new(&app);
    let page = b.get(&auth_path("acme", &request(&id, "st-up"))).await;
    let go = b.get(&link(&page, "Continue with Google")).await;
    let back = UpstreamBrowser::new()
        .sign_in(
            &up.issuer,
            &go.location().unwrap(),
            "gina@acme.test",
            &app.base,
        )
        .await;
    let path = back[app.base.len()..].to_owned();
    let query: BTreeMap<String, String> =
        form_urlencoded::parse(path.split_once('?').unwrap().1.as_bytes())
            .into_owned()
            .collect();
    let state = &query["state"];
    let (body, sig) = state.split_once('.').unwrap();
    let with_state = |st: &str| {
        let q = form_urlencoded::Serializer::new(String::new())
            .append_pair("code", &query["code"])
            .append_pair("state", st)
            .finish();
        format!("/connections/google-oauth2/callback?{q}")
    };
    let flipped = format!("{}{}", &body[..body.len() - 2], "AA");
    for forged in [
        format!("{flipped}.{sig}"),
        format!("{body}.{}", &sig[1..]),
        "x".into(),
    ] {
        let r = b.get(&with_state(&forged)).await;
        assert_eq!(r.status, 400, "{forged}: {}", r.body);
        assert!(r.location().is_none());
    }
    // The genuine state, brought back by another browser: refused too.
    let mut other = Browser::new(&app);
    let r = other.get(&with_state(state)).await;
    assert_eq!(r.status, 400);
    assert!(r.location().is_none());
    assert_eq!(
        member(&app, "acme", "gina@acme.test").await.status,
        roster_domain::model::UserStatus::Invited
    );
    // And by this browser, still good.
    let ok = b.get(&path).await;
    assert_eq!(ok.status, 303, "{}", ok.body);
}

fn without_nonce(u: String) -> String {
    let (base, q) = u.split_once('?').unwrap();
    let kept: Vec<(String, String)> = form_urlencoded::parse(q.as_bytes())
        .into_owned()
        .filter(|(k, _)| k != "nonce")
        .collect();
    let q = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(kept)
        .finish();
    format!("{base}?{q}")
}

fn other_nonce(u: String) -> String {
    format!("{}&nonce=chosen-by-someone-else", without_nonce(u))
}

#[tokio::test]
async fn an_id_token_without_the_nonce_is_refused() {
    let (app, up, _, id, _) = gina_invited().await;
    let done = via_google(&app, &up, &id, "gina@acme.test", without_nonce).await;
    assert_eq!(done.status, 400, "{}", done.body);
    assert!(done.location().is_none());
    assert_eq!(refusals(&app, "acme").await, ["nonce"]);
    assert_eq!(
        member(&app, "acme", "gina@acme.test").await.status,
        roster_domain::model::UserStatus::Invited
    );
}

#[tokio::test]
async fn an_id_token_with_another_nonce_is_refused() {
    let (app, up, _, id, _) = gina_invited().await;
    let done = via_google(&app, &up, &id, "gina@acme.test", other_nonce).await;
    assert_eq!(done.status, 400, "{}", done.body);
    assert_eq!(refusals(&app, "acme").await, ["nonce"]);
}

#[tokio::test]
async fn an_unverified_upstream_email_is_refused() {
    google_invitee_refused("unverified:gina@acme.test", "email_not_verified").await;
}

#[tokio::test]
async fn an_upstream_account_of_another_person_is_refused() {
    google_invitee_refused("mallory@acme.test", "not_a_member").await;
}

#[tokio::test]
async fn a_deactivated_or_deleted_member_is_refused() {
    let (app, up, acme, id, secret) = gina_invited().await;
    let done = via_google(&app, &up, &id, "gina@acme.test", no_tamper).await;
    code_signs_in(&app, "acme", &id, &secret, &done).await;
    let mut u = member(&app, "acme", "gina@acme.test").await;
    let before = u.updated_at;
    u.status = roster_domain::model::UserStatus::Inactive;
    u.updated_at += 1;
    app.state
        .core
        .store
        .update_user(
            &u,
            before,
            Some(roster_domain::types::session_stamp()),
            Default::default(),
        )
        .await
        .unwrap();
    let done = via_google(&app, &up, &id, "gina@acme.test", no_tamper).await;
    assert_eq!(done.status, 403, "{}", done.body);
    app.delete(&format!("/v1/acme/user/{}", u.id), &acme.token)
        .await
        .expect(204);
    let done = via_google(&app, &up, &id, "gina@acme.test", no_tamper).await;
    assert_eq!(done.status, 403, "{}", done.body);
    let reasons = refusals(&app, "acme").await;
    assert_eq!(reasons[0], "deactivated");
    assert!(
        matches!(reasons[1].as_str(), "deactivated" | "not_a_member"),
        "{reasons:?}"
    );
}

#[tokio::test]
async fn a_password_identity_of_the_same_email_is_not_taken_over_by_default() {
    let (app, up) = with_upstream().await;
    let (acme, id, secret) = setup(&app).await;
    let admin = app
        .state
        .core
        .store
        .get_user(&OrgId::from("acme"), &UserId::from(&acme.admin_id))
        .await
        .unwrap()
        .unwrap();
    // Google never links a password account.
    let done = via_google(&app, &up, &id, &admin.email, no_tamper).await;
    assert_eq!(done.status, 403, "{}", done.body);
    assert_eq!(refusals(&app, "acme").await, ["password_account"]);
    // Nor does an organization's connection, unless its policy says so.
    let domain = admin.email.rsplit('@').next().unwrap().to_lowercase();
    sso_connection(&app, &up, &acme, &domain, false).await;
    let (_, done) = through_button(
        &app,
        &up,
        "acme",
        &id,
        "Continue with acme-sso",
        &admin.email,
        no_tamper,
    )
    .await;
    assert_eq!(done.status, 403, "{}", done.body);
    assert_eq!(
        refusals(&app, "acme").await,
        ["password_account", "password_account"]
    );
    app.call(
        Method::PATCH,
        "/admin/v1/orgs/acme/connections/acme-sso",
        Some(&acme.token),
        Some(json!({ "link_password_accounts": true })),
        &[],
    )
    .await
    .expect(200);
    let (_, done) = through_button(
        &app,
        &up,
        "acme",
        &id,
        "Continue with acme-sso",
        &admin.email,
        no_tamper,
    )
    .await;
    let c = code_signs_in(&app, "acme", &id, &secret, &done).await;
    assert_eq!(c["sub"], acme.admin_id.as_str());
}

#[tokio::test]
async fn an_organizations_own_connection_admits_its_invitees_at_its_domains_only() {
    let (app, up) = with_upstream().await;
    let (acme, id, secret) = setup(&app).await;
    sso_connection(&app, &up, &acme, "acme.test", false).await;
    invite(&app, &acme, "ed@acme.test", json!("acme-sso")).await;
    invite(&app, &acme, "olga@other.test", json!("acme-sso")).await;
    let (_, done) = through_button(
        &app,
        &up,
        "acme",
        &id,
        "Continue with acme-sso",
        "ed@acme.test",
        no_tamper,
    )
    .await;
    let c = code_signs_in(&app, "acme", &id, &secret, &done).await;
    assert_eq!(
        c["sub"],
        member(&app, "acme", "ed@acme.test").await.id.as_str()
    );
    // A domain the connection does not allow.
    let (_, done) = through_button(
        &app,
        &up,
        "acme",
        &id,
        "Continue with acme-sso",
        "olga@other.test",
        no_tamper,
    )
    .await;
    assert_eq!(done.status, 403, "{}", done.body);
    assert_eq!(refusals(&app, "acme").await, ["domain_not_allowed"]);
    // Google is no way in for a member of the organization's own provider.
    let done = via_google(&app, &up, &id, "ed@acme.test", no_tamper).await;
    assert_eq!(done.status, 403, "{}", done.body);
    assert_eq!(
        refusals(&app, "acme").await,
        ["domain_not_allowed", "other_connection"]
    );
}

#[tokio::test]
async fn without_a_google_client_id_there_is_no_button_and_the_connection_says_so() {
    let app = TestApp::spawn_with(|c| c.public_url = None).await;
    let (_, id, _) = setup(&app).await;
    let mut b = Browser::new(&app);
    let page = b.get(&auth_path("acme", &request(&id, "st-up"))).await;
    assert_eq!(page.status, 200);
    assert!(!page.body.contains("Google"), "{}", page.body);
    let q = auth_path("acme", &request(&id, "st-up"));
    let start = q.replace("/auth?", "/auth/connections/google-oauth2?");
    let r = b.get(&start).await;
    assert_eq!(r.status, 404);
    assert!(r.location().is_none());
    assert!(r.body.contains("not available"), "{}", r.body);
}

#[tokio::test]
async fn the_buttons_speak_the_pages_language() {
    let (app, _up) = with_upstream().await;
    let (acme, id, _) = setup(&app).await;
    sso_connection(&app, &_up, &acme, "acme.test", false).await;
    let mut q = request(&id, "st-up");
    q.push(("ui_locales", "ja"));
    let page = Browser::new(&app).get(&auth_path("acme", &q)).await;
    assert!(page.body.contains(">Googleで続行</a>"), "{}", page.body);
    assert!(page.body.contains(">acme-ssoで続行</a>"), "{}", page.body);
    for (lang, label) in [
        ("es", "Continuar con Google"),
        ("pt", "Continuar com Google"),
    ] {
        let mut q = request(&id, "st-up");
        q.push(("ui_locales", lang));
        let page = Browser::new(&app).get(&auth_path("acme", &q)).await;
        assert!(
            page.body.contains(&format!(">{label}</a>")),
            "{}",
            page.body
        );
    }
}

#[tokio::test]
async fn connections_are_managed_through_the_admin_api_and_the_cli_and_secrets_never_shown() {
    let app = TestApp::spawn().await;
    let acme = app.bootstrap("acme").await;
    let path = "/admin/v1/orgs/acme/connections";
    let made = app
        .post(
            path,
            &acme.token,
            json!({ "name": "acme-sso", "issuer": "https://idp.acme.test", "client_id": "c1",
                    "client_secret": "s3cr3t", "domains": ["Acme.TEST"] }),
        )
        .await
        .expect(201);
    assert_eq!(made["domains"], json!(["acme.test"]));
    assert_eq!(made["link_password_accounts"], false);
    assert_eq!(
        made["redirect_uri"],
        "https://roster.example.test/connections/acme/acme-sso/callback"
    );
    assert!(!made.to_string().contains("s3cr3t"));
    let list = app.get(path, &acme.token).await.expect(200);
    assert_eq!(list["connections"].as_array().unwrap().len(), 1);
    assert!(!list.to_string().contains("s3cr3t"));
    // Bad input: 422 naming each field, nothing stored.
    let bad = app
        .post(
            path,
            &acme.token,
            json!({ "name": "Bad Name", "issuer": "http://idp.example.test", "client_id": "",
                    "client_secret": "x", "domains": ["nodot"] }),
        )
        .await
        .expect(422);
    let mut fields: Vec<String> = bad["detail"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            let loc = d["loc"].as_array().unwrap();
            loc[1..]
                .iter()
                .map(|p| p.as_str().map_or_else(|| p.to_string(), str::to_owned))
                .collect::<Vec<_>>()
                .join(".")
        })
        .collect();
    fields.sort();
    assert_eq!(
        fields,
        ["client_id", "domains.0", "issuer", "name"],
        "{bad}"
    );
    assert_eq!(
        app.get(path, &acme.token).await.expect(200)["connections"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    // The name is taken.
    app.post(
        path,
        &acme.token,
        json!({ "name": "acme-sso", "issuer": "https://idp.acme.test", "client_id": "c1",
                "client_secret": "s", "domains": ["acme.test"] }),
    )
    .await
    .expect(422);
    let changed = app
        .call(
            Method::PATCH,
            &format!("{path}/acme-sso"),
            Some(&acme.token),
            Some(json!({ "client_secret": "n3w", "link_password_accounts": true })),
            &[],
        )
        .await
        .expect(200);
    assert_eq!(changed["link_password_accounts"], true);
    let stored = app
        .state
        .core
        .store
        .get_connection(&OrgId::from("acme"), "acme-sso")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.client_secret, "n3w");
    app.call(
        Method::PATCH,
        &format!("{path}/nope"),
        Some(&acme.token),
        Some(json!({ "client_id": "x" })),
        &[],
    )
    .await
    .expect(404);
    app.delete(&format!("{path}/acme-sso"), &acme.token)
        .await
        .expect(204);
    app.delete(&format!("{path}/acme-sso"), &acme.token)
        .await
        .expect(404);
    // An invitation may name only a connection the organization has.
    let r = app
        .call(
            Method::POST,
            "/users/invite",
            Some(&acme.token),
            Some(json!({ "email": "x@acme.test", "name": "X Y", "roles": ["analyst"], "connection": "acme-sso" })),
            &[],
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert!(r.body.to_string().contains("connection"), "{}", r.body);

    // The CLI.
    let out = roster_cli(&app)
        .args(["connection", "create", "--org", "acme", "--name", "okta"])
        .args(["--issuer", "https://acme.okta.test", "--client-id", "cid"])
        .args(["--client-secret", "cli-s3cr3t", "--domain", "acme.test"])
        .args(["--domain", "acme.example", "--json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        printed["redirect_uri"],
        "https://id.example.test/connections/acme/okta/callback"
    );
    assert_eq!(printed["domains"], json!(["acme.example", "acme.test"]));
    assert!(!String::from_utf8_lossy(&out.stdout).contains("cli-s3cr3t"));
    let stored = app
        .state
        .core
        .store
        .get_connection(&OrgId::from("acme"), "okta")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.client_secret, "cli-s3cr3t");
}

/// Gina, invited with google-oauth2, comes back from the upstream as `account`: refused with
/// `reason` (403, audited), and her membership is still an invitation.
async fn google_invitee_refused(account: &str, reason: &str) {
    let (app, up, _, id, _) = gina_invited().await;
    let done = via_google(&app, &up, &id, account, no_tamper).await;
    assert_eq!(done.status, 403, "{}", done.body);
    assert_eq!(refusals(&app, "acme").await, [reason]);
    assert_eq!(
        member(&app, "acme", "gina@acme.test").await.status,
        roster_domain::model::UserStatus::Invited
    );
}
