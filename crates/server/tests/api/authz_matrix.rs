//! Object-level authorization (OWASP API1 BOLA, API5 BFLA): every operation of every served
//! document × caller kind × target, with the statuses each cell may answer.
//!
//! Caller kinds: (a) another organization's administrator, signed in with a password (the
//! strongest session there is); (b) the same organization's plain user (`DefaultUserRole`),
//! signed in with a password; (c) the same organization's administrator with a token from
//! `signin_with_api_key`; (d) no token. Targets: (1) an object of the caller's own organization,
//! (2) the same kind of object in the other organization. Caller (a) belongs to `beta`, the
//! others to `acme`, so both organizations are a victim somewhere in the table.
//!
//! Every cell whose statuses are all 4xx is refused: those run first, between two snapshots of
//! both organizations (users, roles, API keys, temporary grants, the organization, the audit
//! count) that must be equal, and no refused answer may carry the victim's ids or emails that the
//! request did not itself name. Allowed cells run afterwards, destructive ones on objects made
//! for them; no allowed answer may carry the other organization's ids or emails, nor, for the
//! plain user, those of the other members of its own. The table must name exactly the operations
//! the documents serve.

use roster_domain::types::OrgId;
use roster_domain::types::UserId;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicUsize, Ordering};

use reqwest::Method;
use serde_json::{json, Value};

use crate::eva::{BOT, BOT2, PROD};
use crate::helpers::{Org, TestApp};

/// The statuses refused cross-organization cells may answer: 403 when the organization in the
/// path is not the caller's, 404 when the object named is not in the caller's organization.
const NO: &str = "403|404";

#[derive(Clone, Copy, Debug, PartialEq)]
enum Caller {
    ForeignAdmin,
    PlainUser,
    KeyToken,
    Anonymous,
}

const CALLERS: [Caller; 4] = [
    Caller::ForeignAdmin,
    Caller::PlainUser,
    Caller::KeyToken,
    Caller::Anonymous,
];

/// How the request of a cell is built, beyond its path.
#[derive(Clone, Copy)]
enum Body {
    None,
    Json(fn(&Ctx) -> Value),
    /// A multipart upload of one CSV file named `file`.
    Csv(fn(&Ctx) -> String),
    /// A CSV file as the whole body (`text/csv`).
    Raw(fn(&Ctx) -> String),
    /// The Keycloak password grant with the caller's own credentials.
    PasswordGrant,
    /// `signin_with_api_key` with the API key the caller holds (only (a) and (c) hold one).
    ApiKey,
}

/// What an allowed cell needs made for it, so that it can succeed and leave the shared objects
/// alone.
#[derive(Clone, Copy, PartialEq)]
enum Prep {
    None,
    /// A new user in the target organization (for deletes and role changes).
    User,
    /// A user made and then deleted (for eva's activate).
    DeletedUser,
    /// A new API key in the target organization.
    Key,
    /// A new OpenID Connect client in the target organization.
    Client,
    /// A new webhook endpoint in the target organization.
    Webhook,
    /// A new OpenID Connect connection in the target organization.
    Connection,
    /// A new SCIM token in the target organization.
    ScimToken,
    /// A new export job (running until it is downloaded) in the target organization.
    Job,
}

struct Row {
    document: &'static str,
    method: &'static str,
    /// The path template as the document writes it (eva's without its base).
    path: &'static str,
    query: &'static str,
    body: Body,
    prep: Prep,
    /// Per caller kind (a, b, c, d): the statuses for (own, other), as `200|204`.
    expect: [(&'static str, &'static str); 4],
}

/// Routes an organization's administrator may call and its plain users may not.
const fn admin(ok: &'static str) -> [(&'static str, &'static str); 4] {
    [(ok, NO), ("403", NO), (ok, NO), ("401", "401")]
}

/// Routes every member may call on their own organization.
const fn member(ok: &'static str) -> [(&'static str, &'static str); 4] {
    [(ok, NO), (ok, NO), (ok, NO), ("401", "401")]
}

/// Routes that take no organization and act on the caller's own (org-user-management's
/// collection routes): the "other" cell is the same request, so the same status and nothing
/// foreign in the answer.
const fn own_only(admin_ok: &'static str, user: &'static str) -> [(&'static str, &'static str); 4] {
    [
        (admin_ok, admin_ok),
        (user, user),
        (admin_ok, admin_ok),
        ("401", "401"),
    ]
}

/// `admin`, where a plain user is told 403 or 404.
const fn unseen(mut e: [(&'static str, &'static str); 4]) -> [(&'static str, &'static str); 4] {
    e[1].0 = NO;
    e
}

/// Public routes: anyone may call them and they answer the same whatever the caller.
const fn public(status: &'static str) -> [(&'static str, &'static str); 4] {
    [(status, status); 4]
}

macro_rules! row {
    ($doc:literal $method:literal $path:literal $(? $query:literal)?, $body:expr, $prep:expr, $expect:expr) => {
        Row {
            document: $doc,
            method: $method,
            path: $path,
            query: row!(@q $($query)?),
            body: $body,
            prep: $prep,
            expect: $expect,
        }
    };
    (@q) => { "" };
    (@q $q:literal) => { $q };
}

fn eva_user(c: &Ctx) -> Value {
    json!({ "name": "Eva Made", "email": c.fresh_email, "company": "Example Corp", "admin": false,
            "environments": [{ "role": "VIEWER", "environment": { "uuid": PROD }, "bots": [{ "uuid": BOT }] }],
            "password": "Secr3t!x", "passwordConfirmation": "Secr3t!x" })
}

/// The table. Add a row when adding a route; the test fails until the route has one.
fn table() -> Vec<Row> {
    use Body as B;
    use Prep as P;
    vec![
        // ---- Amigo: /v1/{organization}/...
        // Deleting an organization takes DefaultSuperAdministratorRole, which no caller here holds.
        row!("amigo" "DELETE" "/v1/{organization}/organization/", B::None, P::None,
            [("403", NO), ("403", NO), ("403", NO), ("401", "401")]),
        row!("amigo" "GET" "/v1/{organization}/organization/", B::None, P::None, public("200")),
        row!("amigo" "POST" "/v1/{organization}/organization/",
            B::Json(|_| json!({ "default_user_preferences": { "timezone": "Asia/Tokyo" } })),
            P::None, admin("204")),
        row!("amigo" "PUT" "/v1/{organization}/organization/",
            B::Json(|c| json!({ "org_name": format!("New {}", c.n), "user_dimensions": [],
                "logo": "iVBORw0KGgo=", "square_logo": "iVBORw0KGgo=", "favicon": "AAABAA==",
                "azure_devops_team_name": "team" })),
            P::None, admin("403")),
        // Plain users list only the keys they could use: none.
        row!("amigo" "GET" "/v1/{organization}/organization/api_key/", B::None, P::None, member("200")),
        row!("amigo" "POST" "/v1/{organization}/organization/api_key/",
            B::Json(|_| json!({ "name": "x", "duration": "P1D", "role_name": "DefaultUserRole" })),
            P::None, admin("201")),
        row!("amigo" "DELETE" "/v1/{organization}/organization/api_key/{api_key_id}/", B::None, P::Key, admin("200|204")),
        row!("amigo" "GET" "/v1/{organization}/role/", B::None, P::None, member("200")),
        row!("amigo" "POST" "/v1/{organization}/role/",
            B::Json(|c| json!({ "role_name": format!("Made{}", c.n), "description": "x", "permission_grants": [], "frontend_view": "client" })),
            P::None, admin("201")),
        row!("amigo" "POST" "/v1/{organization}/role/temporary_permission_grant/",
            B::Json(|c| json!({ "user_id": c.user, "duration": "PT1H",
                "permission_grant": { "permission_name": "User:GetUserInfo", "conditions": {} },
                "tags": {}, "justification": "long enough reason" })),
            P::None, admin("201")),
        row!("amigo" "GET" "/v1/{organization}/role/temporary_permission_grants/", B::None, P::None, member("200")),
        row!("amigo" "POST" "/v1/{organization}/role/{role_name}",
            B::Json(|_| json!({ "description": "changed" })), P::None, admin("200")),
        row!("amigo" "POST" "/v1/{organization}/role/{role_name}/assign",
            B::Json(|c| json!({ "user_id": c.user })), P::None, admin("200")),
        row!("amigo" "GET" "/v1/{organization}/user/", B::None, P::None, member("200")),
        row!("amigo" "POST" "/v1/{organization}/user/",
            B::Json(|c| json!({ "first_name": "M", "last_name": "Ade", "email": c.fresh_email, "role_name": "DefaultUserRole" })),
            P::None, admin("201")),
        row!("amigo" "POST" "/v1/{organization}/user/invite",
            B::Json(|c| json!({ "first_name": "M", "last_name": "Ade", "email": c.fresh_email, "role_name": "DefaultUserRole" })),
            P::None, admin("201")),
        row!("amigo" "POST" "/v1/{organization}/user/password-reset",
            B::Json(|_| json!({ "token": "not-a-token", "new_password": "N3w-pass-word!" })),
            P::None, public("400|401|422")),
        row!("amigo" "POST" "/v1/{organization}/user/password-reset/request",
            B::Json(|c| json!({ "email": c.email })), P::None, public("200|202|204")),
        row!("amigo" "GET" "/v1/{organization}/user/search/" ? "query=target", B::None, P::None, member("200")),
        row!("amigo" "POST" "/v1/{organization}/user/signin",
            B::Json(|c| json!({ "email": c.email, "redirect_link": "https://app.example.test/login" })),
            P::None, public("200|202|204")),
        row!("amigo" "POST" "/v1/{organization}/user/signin_with_api_key", B::ApiKey, P::None,
            [("200", "401"), ("401|422", "401|422"), ("200", "401"), ("401|422", "401|422")]),
        row!("amigo" "POST" "/v1/{organization}/user/verify",
            B::Json(|_| json!({ "token": "not-a-token" })), P::None, public("400|401|404|422")),
        row!("amigo" "DELETE" "/v1/{organization}/user/{requested_user_id}", B::None, P::User, admin("200|204")),
        row!("amigo" "POST" "/v1/{organization}/user/{requested_user_id}",
            B::Json(|_| json!({ "first_name": "Changed" })), P::None, admin("204")),
        row!("amigo" "POST" "/v1/{organization}/user/{requested_user_id}/user",
            B::Json(|_| json!({ "first_name": "Changed" })), P::None, admin("204")),
        row!("amigo" "POST" "/v1/{organization}/user/{requested_user_id}/variable",
            B::Json(|c| json!({ "upserts": [{ "name": format!("v{}", c.n), "value": "y", "is_secret": false }] })),
            P::None, admin("204")),
        // Memories and models are filtered by visibility: a plain user reads an empty page.
        row!("amigo" "GET" "/v1/{organization}/user/{user_id}/memory", B::None, P::None, member("200")),
        row!("amigo" "GET" "/v1/{organization}/user/{user_id}/user_model", B::None, P::None, admin("200")),
        // ---- eva: /org/{orgUUID}/..., served at `/` and `/eva-user`.
        row!("eva" "GET" "/org/{orgUUID}/configurations", B::None, P::None, member("200")),
        row!("eva" "POST" "/org/{orgUUID}/configurations",
            B::Json(|_| json!({ "key": "ui.theme", "value": "dark" })), P::None, member("200")),
        row!("eva" "GET" "/org/{orgUUID}/configurations/userHasConf" ? "key=ui.theme", B::None, P::None, member("200")),
        row!("eva" "GET" "/org/{orgUUID}/configurations/{botUUID}", B::None, P::None, member("200")),
        row!("eva" "GET" "/org/{orgUUID}/configurations/{botUUID}/userHasConf" ? "key=ui.theme", B::None, P::None, member("200")),
        // Listing is filtered by visibility, never refused (docs/compat.md): a plain user sees itself.
        row!("eva" "GET" "/org/{orgUUID}/users" ? "linesPerPage=100", B::None, P::None, member("200")),
        row!("eva" "POST" "/org/{orgUUID}/users", B::Json(eva_user), P::None, admin("200")),
        row!("eva" "PUT" "/org/{orgUUID}/users/activate", B::Json(|c| {
            let mut u = eva_user(c);
            let o = u.as_object_mut().expect("object");
            o.remove("password");
            o.remove("passwordConfirmation");
            u
        }), P::DeletedUser, admin("200")),
        row!("eva" "POST" "/org/{orgUUID}/users/bulk-create",
            B::Csv(|c| format!("{};Bulk Made;;VIEWER;;{PROD};Production;{BOT}\n", c.fresh_email)),
            P::None, admin("200")),
        row!("eva" "DELETE" "/org/{orgUUID}/users/bulk-delete",
            B::Csv(|c| format!("email\n{}\n", c.email)), P::User, admin("200")),
        row!("eva" "DELETE" "/org/{orgUUID}/users/bulk-permissions",
            B::Csv(|c| format!("{};;;VIEWER;;{PROD};Production;{BOT2}\n", c.email)), P::User, admin("200|422")),
        row!("eva" "POST" "/org/{orgUUID}/users/bulk-permissions",
            B::Csv(|c| format!("{};;;VIEWER;;{PROD};Production;{BOT2}\n", c.email)), P::User, admin("200")),
        row!("eva" "GET" "/org/{orgUUID}/users/identity-provider", B::None, P::None, member("200")),
        // Any member, names only.
        row!("eva" "GET" "/org/{orgUUID}/users/quicksearch" ? "name=ta", B::None, P::None, member("200")),
        row!("eva" "DELETE" "/org/{orgUUID}/users/{userId}", B::None, P::User, admin("204")),
        row!("eva" "GET" "/org/{orgUUID}/users/{userId}", B::None, P::None, admin("200")),
        row!("eva" "PUT" "/org/{orgUUID}/users/{userId}",
            B::Json(|c| json!({ "name": "Eva Changed", "email": c.email, "admin": false,
                "environments": [{ "role": "VIEWER", "environment": { "uuid": PROD }, "bots": [{ "uuid": BOT }] }] })),
            P::User, admin("200")),
        // ---- org-user-management: the organization is the token's.
        row!("oum" "GET" "/organization", B::None, P::None, own_only("200", "200")),
        // Filtered by visibility: a plain user lists itself.
        row!("oum" "GET" "/users", B::None, P::None, own_only("200", "200")),
        row!("oum" "POST" "/users/email-change/confirm",
            B::Json(|_| json!({ "token": "not-a-token" })), P::None, public("400|401|404|422")),
        row!("oum" "POST" "/users/invite",
            B::Json(|c| json!({ "email": c.fresh_email, "name": "Oum Made", "roles": ["analyst"], "connection": null })),
            P::None, own_only("204", "403")),
        row!("oum" "GET" "/users/me", B::None, P::None, own_only("200", "200")),
        row!("oum" "PATCH" "/users/me", B::Json(|_| json!({ "name": "Same Person" })), P::None,
            [("200", "200"), ("200", "200"), ("403", "403"), ("401", "401")]),
        // A user the caller may not see is not there (404) for org-user-management.
        row!("oum" "DELETE" "/users/{id}", B::None, P::User, unseen(admin("200|204"))),
        row!("oum" "GET" "/users/{id}", B::None, P::None, unseen(admin("200"))),
        row!("oum" "POST" "/users/{id}/password-reset", B::None, P::None, unseen(admin("200|202|204"))),
        row!("oum" "PUT" "/users/{id}/roles", B::Json(|_| json!(["analyst"])), P::User, unseen(admin("200|204"))),
        // ---- Roster's own: JWKS, the audit log, Keycloak-compatible tokens, ingestion (whose
        // only credential is the ingestion secret: no user token opens it).
        row!("native" "GET" "/.well-known/jwks.json", B::None, P::None, public("200")),
        row!("native" "GET" "/admin/v1/orgs/{org}/audit-events", B::None, P::None, admin("200")),
        row!("native" "GET" "/admin/v1/orgs/{org}/oidc-clients", B::None, P::None, admin("200")),
        row!("native" "POST" "/admin/v1/orgs/{org}/oidc-clients",
            B::Json(|c| json!({ "name": format!("App {}", c.n), "redirect_uris": ["https://app.example.test/cb"], "public": true })),
            P::None, admin("201")),
        row!("native" "DELETE" "/admin/v1/orgs/{org}/oidc-clients/{client_id}", B::None, P::Client, admin("204")),
        row!("native" "PATCH" "/admin/v1/orgs/{org}/oidc-clients/{client_id}",
            B::Json(|_| json!({ "name": "Renamed" })), P::Client, admin("200")),
        row!("native" "GET" "/admin/v1/orgs/{org}/scim-tokens", B::None, P::None, admin("200")),
        row!("native" "POST" "/admin/v1/orgs/{org}/scim-tokens",
            B::Json(|c| json!({ "name": format!("Directory {}", c.n) })), P::None, admin("201")),
        row!("native" "DELETE" "/admin/v1/orgs/{org}/scim-tokens/{token_id}", B::None, P::ScimToken, admin("204")),
        row!("native" "GET" "/admin/v1/orgs/{org}/connections", B::None, P::None, admin("200")),
        row!("native" "POST" "/admin/v1/orgs/{org}/connections",
            B::Json(|c| json!({ "name": format!("made-{}", c.n), "issuer": "https://idp.example.test",
                "client_id": "c", "client_secret": "s", "domains": ["example.test"] })),
            P::None, admin("201")),
        row!("native" "PATCH" "/admin/v1/orgs/{org}/connections/{name}",
            B::Json(|_| json!({ "client_id": "changed" })), P::None, admin("200")),
        row!("native" "DELETE" "/admin/v1/orgs/{org}/connections/{name}", B::None, P::Connection, admin("204")),
        row!("native" "GET" "/admin/v1/orgs/{org}/events", B::None, P::None, admin("200")),
        row!("native" "POST" "/admin/v1/orgs/{org}/webhooks", B::Json(|c| json!({ "url": format!("https://hooks{}.example/in", c.n) })), P::None, admin("201")),
        row!("native" "GET" "/admin/v1/orgs/{org}/webhooks", B::None, P::None, admin("200")),
        row!("native" "GET" "/admin/v1/orgs/{org}/webhooks/{webhook_id}", B::None, P::None, admin("200")),
        row!("native" "PATCH" "/admin/v1/orgs/{org}/webhooks/{webhook_id}", B::Json(|_| json!({ "description": "changed" })), P::None, admin("200")),
        row!("native" "DELETE" "/admin/v1/orgs/{org}/webhooks/{webhook_id}", B::None, P::Webhook, admin("204")),
        row!("native" "POST" "/admin/v1/orgs/{org}/webhooks/{webhook_id}/rotate-secret", B::Json(|_| json!({})), P::None, admin("200")),
        row!("native" "GET" "/admin/v1/orgs/{org}/webhooks/{webhook_id}/attempts", B::None, P::None, admin("200")),
        row!("native" "GET" "/admin/v1/orgs/{org}/jobs", B::None, P::None, admin("200")),
        row!("native" "POST" "/admin/v1/orgs/{org}/jobs/import",
            B::Raw(|c| format!("{};Job Made;;VIEWER;;{PROD};Production;{BOT}\n", c.fresh_email)), P::None, admin("201")),
        row!("native" "POST" "/admin/v1/orgs/{org}/jobs/export", B::Json(|_| json!({})), P::None, admin("201")),
        row!("native" "GET" "/admin/v1/orgs/{org}/jobs/{job_id}", B::None, P::None, admin("200")),
        row!("native" "DELETE" "/admin/v1/orgs/{org}/jobs/{job_id}", B::None, P::Job, admin("200")),
        row!("native" "POST" "/admin/v1/orgs/{org}/jobs/{job_id}/cancel", B::Json(|_| json!({})), P::Job, admin("200")),
        row!("native" "GET" "/admin/v1/orgs/{org}/jobs/{job_id}/result", B::None, P::Job, admin("200")),
        row!("native" "POST" "/admin/v1/orgs/{org}/webhooks/{webhook_id}/replay", B::Json(|_| json!({ "since": "2020-01-01T00:00:00Z" })), P::None, admin("202")),
        row!("native" "POST" "/auth/realms/{realm}/protocol/openid-connect/token", B::PasswordGrant, P::None,
            [("200", "401"), ("200", "401"), ("200", "401"), ("401", "401")]),
        row!("native" "POST" "/realms/{realm}/protocol/openid-connect/token", B::PasswordGrant, P::None,
            [("200", "401"), ("200", "401"), ("200", "401"), ("401", "401")]),
        row!("native" "PUT" "/ingest/v1/{org}/bots/{uuid}",
            B::Json(|_| json!({ "environment_uuid": PROD, "name": "Evil", "active": true })), P::None, public("401")),
        row!("native" "PUT" "/ingest/v1/{org}/environments/{uuid}",
            B::Json(|_| json!({ "name": "Evil", "active": true })), P::None, public("401")),
        row!("native" "POST" "/ingest/v1/{org}/users/{user_id}/memories",
            B::Json(|_| json!({ "memories": [{ "conversation_id": "0123456789abcdef01234567", "references": ["m2"], "content": "evil", "context": "chat" }] })), P::None, public("401")),
        row!("native" "PUT" "/ingest/v1/{org}/users/{user_id}/stats",
            B::Json(|_| json!({ "num_conversations": 1, "num_messages": 1, "last_message_time": null })),
            P::None, public("401")),
        row!("native" "POST" "/ingest/v1/{org}/users/{user_id}/user_models",
            B::Json(|_| json!({ "content": "evil", "insight_ids": [], "dimensions": [] })), P::None, public("401")),
    ]
}

/// One organization as a target: its objects that the table's paths name.
#[derive(Clone)]
struct Side {
    org: Org,
    /// An OpenID Connect client of the organization.
    client_id: String,
    /// The administrator's token, to make objects for allowed cells.
    admin_token: String,
    /// A plain user that rows read and change.
    user: String,
    email: String,
    /// A webhook endpoint that rows read and change.
    webhook: String,
    /// An OpenID Connect connection that rows change.
    connection: String,
    /// An export job that rows read.
    job: String,
    /// Everything a foreign answer must not show: user ids, emails, uuid, key ids.
    secrets: Vec<String>,
}

/// What a row's body and path are filled from.
struct Ctx {
    user: String,
    email: String,
    key_id: String,
    client_id: String,
    webhook: String,
    connection: String,
    /// A SCIM token's id: made for allowed cells, one of nobody's for refused ones.
    scim_token: String,
    job: String,
    fresh_email: String,
    n: usize,
}

struct World {
    app: TestApp,
    acme: Side,
    beta: Side,
    /// What the plain user may not see of its own organization: the other members and keys.
    unseen: Vec<String>,
    /// Per caller kind, its token.
    tokens: BTreeMap<&'static str, String>,
    counter: AtomicUsize,
}

fn name(c: Caller) -> &'static str {
    match c {
        Caller::ForeignAdmin => "a:other-org-admin",
        Caller::PlainUser => "b:plain-user",
        Caller::KeyToken => "c:api-key-token",
        Caller::Anonymous => "d:no-token",
    }
}

impl World {
    fn home(&self, c: Caller) -> &Side {
        if c == Caller::ForeignAdmin {
            &self.beta
        } else {
            &self.acme
        }
    }

    fn away(&self, c: Caller) -> &Side {
        if c == Caller::ForeignAdmin {
            &self.acme
        } else {
            &self.beta
        }
    }

    fn token(&self, c: Caller) -> Option<&str> {
        self.tokens.get(name(c)).map(String::as_str)
    }

    /// The (email, password) caller `c` can sign in with.
    fn credentials(&self, c: Caller) -> (String, String) {
        match c {
            Caller::ForeignAdmin => ("admin@beta.example".into(), PASSWORD.into()),
            Caller::PlainUser => ("plain@acme.example".into(), PASSWORD.into()),
            Caller::KeyToken => ("admin@acme.example".into(), PASSWORD.into()),
            Caller::Anonymous => ("admin@acme.example".into(), "Wrong-pass1".into()),
        }
    }

    fn n(&self) -> usize {
        self.counter.fetch_add(1, Ordering::Relaxed)
    }

    async fn fresh_user(&self, side: &Side) -> (String, String) {
        let n = self.n();
        let email = format!("made{n}@{}.example", side.org.id);
        let id = plain_user(&self.app, &side.org.id, &side.admin_token, &email).await;
        (id, email)
    }

    async fn fresh_key(&self, side: &Side) -> String {
        let body = json!({ "name": "made", "duration": "P1D", "role_name": "DefaultUserRole" });
        let r = self
            .app
            .post(
                &format!("/v1/{}/organization/api_key/", side.org.id),
                &side.admin_token,
                body,
            )
            .await
            .expect(201);
        r["api_key_id"].as_str().expect("api_key_id").to_owned()
    }

    /// The context of a cell: the shared objects for refused cells, made ones for allowed cells
    /// of rows that need them.
    async fn ctx(&self, side: &Side, prep: Prep, allowed: bool) -> Ctx {
        let n = self.n();
        let mut ctx = Ctx {
            user: side.user.clone(),
            email: side.email.clone(),
            key_id: side.org.key_id.clone(),
            client_id: side.client_id.clone(),
            webhook: side.webhook.clone(),
            connection: side.connection.clone(),
            scim_token: "0190a8f2-0000-7000-8000-000000000000".into(),
            job: side.job.clone(),
            fresh_email: format!("new{n}@{}.example", side.org.id),
            n,
        };
        if !allowed {
            return ctx;
        }
        match prep {
            Prep::None => {}
            Prep::User => (ctx.user, ctx.email) = self.fresh_user(side).await,
            Prep::DeletedUser => {
                let (id, email) = self.fresh_user(side).await;
                let path = format!("/org/{}/users/{id}", side.org.uuid);
                let r = self.app.delete(&path, &side.admin_token).await;
                assert!(r.status.is_success(), "{path}: {}", r.body);
                ctx.fresh_email = email;
            }
            Prep::Key => ctx.key_id = self.fresh_key(side).await,
            Prep::Client => {
                ctx.client_id = new_client(&self.app, &side.org.id, &side.admin_token).await
            }
            Prep::Webhook => ctx.webhook = make_webhook(&self.app, side).await,
            Prep::Connection => {
                ctx.connection = make_connection(&self.app, side, &format!("made-{n}")).await
            }
            Prep::ScimToken => {
                let made = self
                    .app
                    .post(
                        &format!("/admin/v1/orgs/{}/scim-tokens", side.org.id),
                        &side.admin_token,
                        json!({ "name": format!("Directory {n}") }),
                    )
                    .await
                    .expect(201);
                ctx.scim_token = made["id"].as_str().expect("id").to_owned();
            }
            Prep::Job => ctx.job = make_job(&self.app, side).await,
        }
        ctx
    }
}

const PASSWORD: &str = "Matrix-pass1";

async fn give_password(app: &TestApp, org: &str, user: &str) {
    let hash = app.state.core.passwords.hash(PASSWORD).await.expect("hash");
    let u = app
        .state
        .core
        .store
        .get_user(&OrgId::from(org), &UserId::from(user))
        .await
        .expect("store")
        .expect("user");
    app.state
        .core
        .store
        .set_password(
            &u.identity_id,
            &hash,
            false,
            roster_domain::types::session_stamp(),
            Default::default(),
        )
        .await
        .expect("password");
}

/// Invites a plain user into `org` and follows the verify link, as the person would: an active
/// member that every surface shows.
async fn plain_user(app: &TestApp, org: &str, admin_token: &str, email: &str) -> String {
    let body = json!({ "first_name": "Plain", "last_name": "User", "email": email, "role_name": "DefaultUserRole" });
    let made = app
        .post(&format!("/v1/{org}/user/"), admin_token, body)
        .await
        .expect(201);
    let token = made["verify_link"]
        .as_str()
        .and_then(|l| l.split("token=").nth(1))
        .expect("token in the verify link");
    let path = format!("/v1/{org}/user/verify");
    app.call(
        Method::POST,
        &path,
        None,
        Some(json!({ "token": token })),
        &[],
    )
    .await
    .expect(200);
    made["user_id"].as_str().expect("user_id").to_owned()
}

/// Registers a confidential client through the admin API; returns its id.
async fn new_client(app: &TestApp, org: &str, admin_token: &str) -> String {
    let body = json!({ "name": "Matrix app", "redirect_uris": ["https://app.example.test/cb"] });
    let made = app
        .post(
            &format!("/admin/v1/orgs/{org}/oidc-clients"),
            admin_token,
            body,
        )
        .await
        .expect(201);
    made["client_id"].as_str().expect("client_id").to_owned()
}

async fn password_session(app: &TestApp, org: &Org, email: &str) -> String {
    app.password_token(org, email, PASSWORD).await.expect(200)["access_token"]
        .as_str()
        .expect("access_token")
        .to_owned()
}

async fn side(app: &TestApp, id: &str) -> Side {
    let org = app.bootstrap(id).await;
    app.eva_catalog(id).await;
    let email = format!("target@{id}.example");
    let user = plain_user(app, id, &org.token, &email).await;
    // Something to read in the target's memory and user model.
    let auth = [("authorization", "Bearer ingest-secret-for-tests")];
    for (kind, body) in [
        (
            "memories",
            json!({ "memories": [{ "conversation_id": "0123456789abcdef01234567",
            "references": ["m1"], "content": "likes tea", "context": "chat" }] }),
        ),
        (
            "user_models",
            json!({ "content": "Prefers mornings", "insight_ids": ["i1"], "dimensions": [] }),
        ),
    ] {
        let path = format!("/ingest/v1/{id}/users/{user}/{kind}");
        let r = app.call(Method::POST, &path, None, Some(body), &auth).await;
        assert!(r.status.is_success(), "{path}: {}", r.body);
    }
    give_password(app, id, &org.admin_id).await;
    let client_id = new_client(app, id, &org.token).await;
    let mut side = Side {
        client_id,
        admin_token: org.token.clone(),
        secrets: Vec::new(),
        org,
        user,
        email,
        webhook: String::new(),
        connection: String::new(),
        job: String::new(),
    };
    side.webhook = make_webhook(app, &side).await;
    // Named after its organization, so that a name is another organization's object there.
    let name = format!("sso-{}", side.org.id);
    side.connection = make_connection(app, &side, &name).await;
    side.job = make_job(app, &side).await;
    side
}

/// A webhook endpoint of the side's organization, made by its administrator.
async fn make_webhook(app: &TestApp, side: &Side) -> String {
    let r = app
        .post(
            &format!("/admin/v1/orgs/{}/webhooks", side.org.id),
            &side.admin_token,
            json!({ "url": "https://hooks.example/in" }),
        )
        .await
        .expect(201);
    r["id"].as_str().expect("id").to_owned()
}

/// An export job of the side's organization, made by its administrator.
async fn make_job(app: &TestApp, side: &Side) -> String {
    let r = app
        .post(
            &format!("/admin/v1/orgs/{}/jobs/export", side.org.id),
            &side.admin_token,
            json!({}),
        )
        .await
        .expect(201);
    r["id"].as_str().expect("id").to_owned()
}

/// An OpenID Connect connection of the side's organization, made by its administrator.
async fn make_connection(app: &TestApp, side: &Side, name: &str) -> String {
    app.post(
        &format!("/admin/v1/orgs/{}/connections", side.org.id),
        &side.admin_token,
        json!({ "name": name, "issuer": "https://idp.example.test", "client_id": "c",
                "client_secret": "s", "domains": ["example.test"] }),
    )
    .await
    .expect(201);
    name.to_owned()
}

/// Ids and emails of everything in the organization now.
async fn secrets(app: &TestApp, side: &Side) -> Vec<String> {
    let mut q = roster_domain::paging::UserQuery::new(100_000);
    q.page.limit = 100_000;
    let store = &app.state.core.store;
    let mut out = vec![side.org.uuid.clone()];
    for u in store
        .list_users(&OrgId::from(&side.org.id), &q)
        .await
        .expect("users")
    {
        out.push(u.id.to_string());
        out.push(u.email.clone());
    }
    for k in store
        .list_api_keys(&OrgId::from(&side.org.id))
        .await
        .expect("keys")
    {
        out.push(k.key_id.clone());
    }
    for c in store
        .list_oidc_clients(&OrgId::from(&side.org.id))
        .await
        .expect("clients")
    {
        out.push(c.client_id.clone());
    }
    for w in store
        .list_webhooks(&OrgId::from(&side.org.id))
        .await
        .expect("webhooks")
    {
        out.push(w.id.clone());
    }
    out
}

/// Everything about an organization a refused cell must leave as it was.
async fn snapshot(app: &TestApp, side: &Side) -> Value {
    let (id, t) = (&side.org.id, &side.admin_token);
    json!({
        "org": app.get(&format!("/v1/{id}/organization/"), t).await.expect(200),
        "users": app.list_users(&side.org, t, "").await,
        "roles": app.get(&format!("/v1/{id}/role/?return_permission_grants=true"), t).await.expect(200),
        "keys": app.get(&format!("/v1/{id}/organization/api_key/"), t).await.expect(200),
        "oidc_clients": app.get(&format!("/admin/v1/orgs/{id}/oidc-clients"), t).await.expect(200),
        "webhooks": app.get(&format!("/admin/v1/orgs/{id}/webhooks"), t).await.expect(200),
        "connections": app.get(&format!("/admin/v1/orgs/{id}/connections"), t).await.expect(200),
        "scim_tokens": app.get(&format!("/admin/v1/orgs/{id}/scim-tokens"), t).await.expect(200),
        "jobs": app.get(&format!("/admin/v1/orgs/{id}/jobs"), t).await.expect(200),
        "grants": app.get(&format!("/v1/{id}/role/temporary_permission_grants/"), t).await.expect(200),
        // Failed sign-ins are recorded in the organization they aimed at: that is the record
        // of the attempt, not a change.
        "audit": app.state.core.store.list_audit(&OrgId::from(id), 1_000_000).await.expect("audit")
            .iter().filter(|e| !e.action.ends_with("_failed")).map(|e| e.action.clone())
            .collect::<Vec<_>>(),
    })
}

struct Answer {
    status: u16,
    text: String,
    sent: String,
}

fn fill(template: &str, side: &Side, ctx: &Ctx) -> String {
    template
        .replace("{organization}", &side.org.id)
        .replace("{org}", &side.org.id)
        .replace("{realm}", &side.org.id)
        .replace("{orgUUID}", &side.org.uuid)
        .replace("{requested_user_id}", &ctx.user)
        .replace("{user_id}", &ctx.user)
        .replace("{userId}", &ctx.user)
        .replace("{id}", &ctx.user)
        .replace("{api_key_id}", &ctx.key_id)
        .replace("{client_id}", &ctx.client_id)
        .replace("{webhook_id}", &ctx.webhook)
        .replace("{job_id}", &ctx.job)
        .replace("{name}", &ctx.connection)
        .replace("{token_id}", &ctx.scim_token)
        .replace("{role_name}", "DefaultUserRole")
        .replace("{botUUID}", BOT)
        .replace("{uuid}", BOT)
}

async fn send(
    w: &World,
    row: &Row,
    base: &str,
    caller: Caller,
    side: &Side,
    ctx: &Ctx,
    extra: &[(&str, &str)],
) -> Answer {
    let app = &w.app;
    let mut path = format!("{base}{}", fill(row.path, side, ctx));
    if !row.query.is_empty() {
        path = format!("{path}?{}", row.query);
    }
    let method = Method::from_bytes(row.method.as_bytes()).expect("method");
    let token = w.token(caller);
    let mut sent = path.clone();
    let (status, text) = match row.body {
        Body::None | Body::Json(_) | Body::ApiKey => {
            let body = match row.body {
                Body::Json(f) => Some(f(ctx)),
                _ => None,
            };
            sent.push_str(&body.as_ref().map(Value::to_string).unwrap_or_default());
            let mut headers: Vec<(&str, &str)> = extra.to_vec();
            let home = w.home(caller);
            if matches!(row.body, Body::ApiKey)
                && matches!(caller, Caller::ForeignAdmin | Caller::KeyToken)
            {
                headers.push(("x-api-key", &home.org.key));
                headers.push(("x-api-key-id", &home.org.key_id));
                headers.push(("x-user-id", &ctx.user));
            }
            let r = app.call(method, &path, token, body, &headers).await;
            (r.status.as_u16(), r.body.to_string())
        }
        Body::Raw(f) => {
            let csv = f(ctx);
            sent.push_str(&csv);
            let r = app
                .call_with(method, &path, |req| {
                    let req = req.header("content-type", "text/csv").body(csv);
                    match token {
                        Some(t) => req.bearer_auth(t),
                        None => req,
                    }
                })
                .await;
            (r.status.as_u16(), r.body.to_string())
        }
        Body::Csv(f) => {
            let csv = f(ctx);
            sent.push_str(&csv);
            let form = reqwest::multipart::Form::new().part(
                "file",
                reqwest::multipart::Part::bytes(csv.into_bytes()).file_name("users.csv"),
            );
            let r = app
                .call_with(method, &path, |req| match token {
                    Some(t) => req.bearer_auth(t).multipart(form),
                    None => req.multipart(form),
                })
                .await;
            (r.status.as_u16(), r.body.to_string())
        }
        Body::PasswordGrant => {
            let (email, password) = w.credentials(caller);
            let form = format!(
                "grant_type=password&client_id=eva-cockpit&username={}&password={password}",
                email.replace('@', "%40")
            );
            sent.push_str(&email);
            let r = app
                .call_with(method, &path, |req| {
                    let req = req.header("content-type", crate::helpers::FORM).body(form);
                    match token {
                        Some(t) => req.bearer_auth(t),
                        None => req,
                    }
                })
                .await;
            (r.status.as_u16(), r.body.to_string())
        }
    };
    Answer { status, text, sent }
}

fn allowed(expect: &str) -> bool {
    expect.split('|').any(|s| s.starts_with('2'))
}

fn matches(expect: &str, status: u16) -> bool {
    expect.split('|').any(|s| s == status.to_string())
}

/// The served bases of a row: eva's document is served at `/` and `/eva-user`.
fn bases(row: &Row) -> &'static [&'static str] {
    if row.document == "eva" {
        &["", "/eva-user"]
    } else {
        &[""]
    }
}

/// Whether the row's path names the target at all; the other rows act on the caller's own
/// organization whatever the cell.
fn names_target(row: &Row) -> bool {
    row.path.contains('{')
}

/// Whether the row names a user or an API key, in its path or its body.
fn names_object(row: &Row) -> bool {
    [
        "{requested_user_id}",
        "{user_id}",
        "{userId}",
        "{id}",
        "{api_key_id}",
        "{client_id}",
        "{webhook_id}",
        "{job_id}",
        "{name}",
        "{token_id}",
    ]
    .iter()
    .any(|p| row.path.contains(p))
        || row.path.ends_with("/assign")
        || row.path.ends_with("/temporary_permission_grant/")
}

/// Checks one answer; returns what is wrong with it.
fn judge(
    (row, caller, own): (&Row, Caller, bool),
    expect: &str,
    a: &Answer,
    victim: &Side,
    foreign: &Side,
    hidden: &[String],
) -> Vec<String> {
    let cell = format!(
        "{} {} {}{} as {} on {}",
        row.document,
        row.method,
        row.path,
        if a.sent.starts_with("/eva-user") {
            " (/eva-user)"
        } else {
            ""
        },
        name(caller),
        if own { "own" } else { "other" }
    );
    let mut out = Vec::new();
    if !matches(expect, a.status) {
        out.push(format!(
            "{cell}: {} (expected {expect}): {}",
            a.status, a.text
        ));
    }
    // A refused answer shows nothing of the victim the request did not name; an allowed one
    // nothing of the other organization.
    let watched = if allowed(expect) {
        foreign.secrets.iter().chain(hidden)
    } else {
        victim.secrets.iter().chain(&[])
    };
    for s in watched {
        if !a.sent.contains(s.as_str()) && a.text.contains(s.as_str()) {
            out.push(format!("{cell}: the answer shows {s}: {}", a.text));
        }
    }
    out
}

#[tokio::test]
async fn every_route_refuses_every_caller_it_must() {
    let table = table();

    // The table names exactly the served operations.
    let served: BTreeSet<(String, String, String)> = crate::openapi::documents()
        .operations()
        .into_iter()
        .map(|o| {
            let path = o
                .path
                .strip_prefix("/eva-user")
                .unwrap_or(&o.path)
                .to_owned();
            (o.document.to_owned(), o.method, path)
        })
        .collect();
    let rows: BTreeSet<(String, String, String)> = table
        .iter()
        .map(|r| (r.document.into(), r.method.into(), r.path.into()))
        .collect();
    assert_eq!(rows.len(), table.len(), "a row appears twice");
    let missing: Vec<_> = served.difference(&rows).collect();
    assert!(
        missing.is_empty(),
        "operations without a row in the authorization matrix: {missing:?}"
    );
    let stale: Vec<_> = rows.difference(&served).collect();
    assert!(
        stale.is_empty(),
        "rows for operations no longer served: {stale:?}"
    );

    let app = TestApp::spawn().await;
    let mut acme = side(&app, "acme").await;
    let mut beta = side(&app, "beta").await;
    let plain = plain_user(&app, "acme", &acme.admin_token, "plain@acme.example").await;
    give_password(&app, "acme", &plain).await;
    let mut tokens = BTreeMap::new();
    tokens.insert(
        name(Caller::ForeignAdmin),
        password_session(&app, &beta.org, "admin@beta.example").await,
    );
    tokens.insert(
        name(Caller::PlainUser),
        password_session(&app, &acme.org, "plain@acme.example").await,
    );
    tokens.insert(name(Caller::KeyToken), acme.org.token.clone());
    acme.secrets = secrets(&app, &acme).await;
    beta.secrets = secrets(&app, &beta).await;
    let unseen = acme
        .secrets
        .iter()
        .filter(|s| ![&acme.org.uuid, &plain, "plain@acme.example"].contains(&s.as_str()))
        .cloned()
        .collect();
    let w = World {
        unseen,
        app,
        acme,
        beta,
        tokens,
        counter: AtomicUsize::new(0),
    };
    let mut wrong = Vec::new();

    // Refused cells, between two snapshots of both organizations.
    let before = (
        snapshot(&w.app, &w.acme).await,
        snapshot(&w.app, &w.beta).await,
    );
    let mut refused = 0;
    for row in &table {
        for (i, &caller) in CALLERS.iter().enumerate() {
            for own in [true, false] {
                let expect = if own {
                    row.expect[i].0
                } else {
                    row.expect[i].1
                };
                if allowed(expect) {
                    continue;
                }
                let (victim, other) = if own || !names_target(row) {
                    (w.home(caller), w.away(caller))
                } else {
                    (w.away(caller), w.home(caller))
                };
                let ctx = w.ctx(victim, row.prep, false).await;
                for base in bases(row) {
                    refused += 1;
                    let a = send(&w, row, base, caller, victim, &ctx, &[]).await;
                    wrong.extend(judge((row, caller, own), expect, &a, victim, other, &[]));
                    // Naming the caller's own organization in Amigo's organization header
                    // changes nothing for a caller that is not a platform administrator.
                    if row.document == "amigo" && !own && caller != Caller::Anonymous {
                        let header = [("x-org-id", w.home(caller).org.id.as_str())];
                        let a = send(&w, row, base, caller, victim, &ctx, &header).await;
                        wrong.extend(judge((row, caller, own), expect, &a, victim, other, &[]));
                    }
                }
            }
        }
    }
    // An administrator naming another organization's object under its own organization's path
    // finds nothing there.
    for row in table.iter().filter(|r| names_object(r)) {
        for (i, &caller) in CALLERS.iter().enumerate() {
            if !allowed(row.expect[i].0) || caller == Caller::PlainUser {
                continue;
            }
            let (home, away) = (w.home(caller), w.away(caller));
            let ctx = w.ctx(away, Prep::None, false).await;
            for base in bases(row) {
                refused += 1;
                let a = send(&w, row, base, caller, home, &ctx, &[]).await;
                let mut verdict = judge((row, caller, true), "404", &a, away, home, &[]);
                if let Some(first) = verdict.first_mut() {
                    first.insert_str(0, "with the other organization's object: ");
                }
                wrong.extend(verdict);
            }
        }
    }
    let after = (
        snapshot(&w.app, &w.acme).await,
        snapshot(&w.app, &w.beta).await,
    );
    for (org, before, after) in [("acme", &before.0, &after.0), ("beta", &before.1, &after.1)] {
        for (part, was) in before.as_object().expect("snapshot") {
            if after[part] != *was {
                let change = match (was.as_array(), after[part].as_array()) {
                    (Some(a), Some(b)) if b.ends_with(a) => {
                        format!("gained {:?}", &b[..b.len() - a.len()])
                    }
                    _ => format!("{was} became {}", after[part]),
                };
                wrong.push(format!(
                    "{org}'s {part} changed under refused calls: {change}"
                ));
            }
        }
    }

    // Allowed cells: destructive ones on objects made for them.
    let mut allowed_cells = 0;
    for row in &table {
        for (i, &caller) in CALLERS.iter().enumerate() {
            for own in [true, false] {
                let expect = if own {
                    row.expect[i].0
                } else {
                    row.expect[i].1
                };
                if !allowed(expect) {
                    continue;
                }
                let (target, other) = if own || !names_target(row) {
                    (w.home(caller), w.away(caller))
                } else {
                    (w.away(caller), w.home(caller))
                };
                for base in bases(row) {
                    allowed_cells += 1;
                    let ctx = w.ctx(target, row.prep, true).await;
                    let a = send(&w, row, base, caller, target, &ctx, &[]).await;
                    let hidden: &[String] = if caller == Caller::PlainUser {
                        &w.unseen
                    } else {
                        &[]
                    };
                    wrong.extend(judge((row, caller, own), expect, &a, target, other, hidden));
                }
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {} cells are wrong:\n{}",
        wrong.len(),
        refused + allowed_cells,
        wrong.join("\n")
    );
}
