//! The core operations. Every surface calls these; they validate, authorize, and write through the store.

mod access;
mod audit;
mod authorize;
mod browser_links;
mod bulk;
mod bulk_create;
mod cache;
mod commit;
mod connections;
mod console;
mod cursors;
mod deferred;
mod directory;
mod directory_groups;
mod directory_users;
mod eva;
mod eva_access;
mod eva_config;
mod eva_list;
mod eva_write;
mod feed;
mod ingest;
pub(crate) mod instructions;
mod jobs;
mod keys;
mod links;
mod members;
mod oidc;
mod orgs;
mod paging;
mod provider_logout;
mod provider_refresh;
mod roles;
mod signin;
mod totals;
mod upstream;
mod user_data;
mod users;
mod users_write;
mod webhooks;

use crate::types::{OrgId, UserId};
use std::sync::Arc;

pub use access::{Access, Actor, Context, Creator, Rank};
pub use audit::{AuditListInput, AuditPage, AUDIT_MAX_LIMIT};
pub use authorize::{pkce_s256, BrowserSession, CodeBinding, ProviderGrant, SESSION_TTL_SECS};
pub use browser_links::{BrowserLink, FollowedLink};
pub use bulk::{missing_file, BulkOutcome};
pub use bulk_create::{ImportRun, BATCH as IMPORT_BATCH};
pub use cache::{request_scope, SharedGeneration};
pub use connections::{issuer_problem, ConnectionInput, MAX_DOMAINS};
pub use console::{
    ConsoleSignedIn, ConsoleUserQuery, ConsoleUsers, FirstPartyClient, CONSOLE_ABSOLUTE_SECS,
    CONSOLE_IDLE_SECS, CONSOLE_SORT_FIELDS,
};
pub use deferred::Deferred;
pub use directory::{CreatedDirectoryToken, MAX_DIRECTORY_TOKENS};
pub use directory_groups::DirectoryGroup;
pub use directory_users::{
    DirectoryEmail, DirectoryMember, DirectoryQuery, RoleMembers, DIRECTORY_PAGE_MAX,
    ROLE_MEMBERS_MAX,
};
pub use eva::{
    EnvInput, EvaEnv, EvaListQuery, EvaPage, EvaUser, EvaUserInput, UserOrder, EMAIL_IS_LOGIN,
    EVA_ADMIN, LANGUAGES, LIST_PAGE_MAX,
};
pub use feed::{FeedInput, FeedPage, FEED_MAX_LIMIT};
pub use jobs::{ExportFilter, ImportJobInput, JobView, EXPORT_PAGE};
pub use keys::{CreatedApiKey, SignInMethod, SignedIn};
pub use links::{Accepted, LinkView};
pub use members::{Member, MemberPage, MEMBER_PAGE_MAX, MEMBER_ROLES};
pub use oidc::{redirect_uri_problem, CreatedOidcClient, OidcClientInput, MAX_REDIRECT_URIS};
pub use orgs::{Bootstrapped, NewOrgInput, OrgPatch, OrgView};
pub use roles::{GrantInput, RoleInput, RolePatch};
pub use upstream::{decide as decide_upstream, UpstreamClaims, UpstreamRefusal};
pub use users::{
    DeleteOutcome, InviteInput, ListUsersInput, MemoriesInput, Searched, Settable, UserUpdate,
    VariableChanges,
};
pub use webhooks::{WebhookInput, MAX_OVERLAP_SECS};

use crate::error::Error;
use crate::model::{ActorRef, AuditEvent, Role};
use crate::store::{Refusal, Store, StoreError};
use crate::types::new_uuid7;

/// Settings the core needs from the server configuration.
#[derive(Debug, Clone)]
pub struct CoreConfig {
    /// Base of every link Roster sends (never taken from request headers).
    pub public_url: String,
    pub max_api_keys_per_org: usize,
    pub invitation_ttl_secs: i64,
    pub magic_link_ttl_secs: i64,
    pub cursor_ttl_secs: i64,
    /// Most users a search returns (the Amigo search has no paging).
    pub search_limit: u32,
    /// How long organizations, role lists and principals are served from memory at most: the
    /// longest another process's change goes unseen here (without a shared generation). Zero
    /// turns the cache off.
    pub cache_ttl: std::time::Duration,
    /// Most entries of each kind the cache holds.
    pub cache_entries: usize,
    /// Brute-force protection of password sign-in.
    pub sign_in_throttle: crate::throttle::SignInThrottle,
    /// argon2 runs in flight at once, and how long a request waits for one before a 503.
    pub argon2_concurrency: usize,
    pub argon2_queue_wait: std::time::Duration,
    /// The cost of the password hashes this server makes (production's, but in tests).
    pub password_hash_cost: crate::password::HashCost,
    /// The shapes of the links Roster sends (see [`crate::links`]).
    pub links: std::sync::Arc<dyn crate::links::Links>,
    /// The time the core reads (the system clock; an adjustable one in tests). Session stamps
    /// and the tokens' own times stay on the system clock, which the key ring reads too.
    pub clock: crate::clock::Clock,
    /// How often a running import says it is alive; a job silent for
    /// `jobs::STALE_BEATS` of these is taken for interrupted.
    pub job_heartbeat: std::time::Duration,
    /// `ROSTER_CONNECTION_ALLOW_PRIVATE`: an organization's connection may name an issuer over
    /// plain http or at a non-public address (a provider on loopback or the local network).
    pub connection_allow_private: bool,
    /// Clients built into the server (the admin console), known to every organization.
    pub first_party_clients: Vec<console::FirstPartyClient>,
}

impl Default for CoreConfig {
    fn default() -> Self {
        Self {
            public_url: "http://127.0.0.1:8080".into(),
            max_api_keys_per_org: 20,
            invitation_ttl_secs: 7 * 24 * 3600,
            magic_link_ttl_secs: 10 * 60,
            cursor_ttl_secs: 24 * 3600,
            search_limit: 100,
            cache_ttl: std::time::Duration::from_secs(1),
            cache_entries: 10_000,
            sign_in_throttle: crate::throttle::SignInThrottle::default(),
            argon2_concurrency: crate::password::default_concurrency(),
            argon2_queue_wait: std::time::Duration::from_secs(2),
            password_hash_cost: crate::password::HashCost::Production,
            links: std::sync::Arc::new(crate::links::Unconfigured),
            clock: crate::clock::Clock::system(),
            job_heartbeat: std::time::Duration::from_secs(2),
            connection_allow_private: false,
            first_party_clients: Vec::new(),
        }
    }
}

#[derive(Clone)]
pub struct Core {
    pub store: Arc<dyn Store>,
    pub config: Arc<CoreConfig>,
    cache: Arc<cache::ReadCache>,
    /// Exact totals of substring searches, remembered at their organization's user version.
    totals: Arc<totals::Totals>,
    /// Continuation tokens this node stored recently, handed out again for the same position.
    cursors: Arc<cursors::IssuedCursors>,
    effects: Arc<commit::GroupCommit>,
    /// This server's bounded argon2 workers.
    pub passwords: Arc<crate::password::Hasher>,
    /// Work that runs after its request was answered.
    pub deferred: Arc<deferred::Deferred>,
}

impl Core {
    /// Inside a Tokio runtime, also starts the writer that group-commits sign-ins' audit events
    /// ([`Core::close`] stops it).
    pub fn new(store: Arc<dyn Store>, config: CoreConfig) -> Self {
        Self::with_shared_generation(store, config, None)
    }

    /// Like [`Core::new`], with a cache that also checks the write generation `shared` by every
    /// node (see [`SharedGeneration`]), so that other nodes' changes are seen at once too.
    pub fn with_shared_generation(
        store: Arc<dyn Store>,
        config: CoreConfig,
        shared: Option<Arc<dyn SharedGeneration>>,
    ) -> Self {
        Self {
            cache: Arc::new(cache::ReadCache::new(
                config.cache_ttl,
                config.cache_entries,
                shared,
            )),
            totals: Arc::new(totals::Totals::new(config.cache_entries)),
            cursors: Arc::default(),
            effects: Arc::new(commit::GroupCommit::start(store.clone())),
            passwords: Arc::new(crate::password::Hasher::new(
                config.argon2_concurrency,
                config.argon2_queue_wait,
                config.password_hash_cost,
            )),
            store,
            config: Arc::new(config),
            deferred: Arc::default(),
        }
    }

    /// Commits the effects still queued for group commit and stops its writer; effects written
    /// afterwards get a transaction each.
    pub async fn close(&self) {
        self.deferred.idle().await;
        self.effects.close().await;
    }

    /// The URL of a link carrying `token`, in the shape the server configured.
    pub(crate) fn link(
        &self,
        family: crate::links::LinkFamily,
        kind: crate::links::LinkKind,
        org: &crate::model::Organization,
        token: &str,
    ) -> String {
        self.config.links.url(family, kind, org, token)
    }

    /// Now, by the core's clock.
    pub fn now(&self) -> crate::types::Micros {
        self.config.clock.now()
    }

    /// The organization's roles, from the cache when it is current.
    pub(crate) async fn roles(&self, org_id: &OrgId) -> Result<Arc<Vec<Role>>, Error> {
        Ok(self.cache.roles(self.store.as_ref(), org_id).await?)
    }

    /// How many users of `org_id` match `q` (its page ignored), exact: see [`totals`].
    pub(crate) async fn count_users(
        &self,
        org_id: &OrgId,
        q: &crate::paging::UserQuery,
    ) -> Result<i64, Error> {
        Ok(self.totals.count(self.store.as_ref(), org_id, q).await?)
    }

    fn audit(
        &self,
        ctx: &Context,
        org_id: &OrgId,
        action: &str,
        target: Option<&UserId>,
        mut details: serde_json::Value,
    ) -> AuditEvent {
        if let (Some(channel), Some(d)) = (ctx.channel, details.as_object_mut()) {
            d.insert("channel".into(), channel.into());
        }
        let actor = match &ctx.actor {
            Actor::User(p) => ActorRef {
                kind: "user",
                user_id: Some(p.user_id.clone()),
                org_id: Some(p.org_id.clone()),
            },
            Actor::ApiKey { org_id, key_id } => ActorRef {
                kind: "api_key",
                user_id: Some(key_id.clone()),
                org_id: Some(org_id.clone()),
            },
            Actor::Directory {
                token_id,
                principal,
            } => ActorRef {
                kind: "directory_token",
                user_id: Some(token_id.clone()),
                org_id: Some(principal.org_id.clone()),
            },
            Actor::Service => ActorRef {
                kind: "service",
                user_id: None,
                org_id: None,
            },
            Actor::System => ActorRef {
                kind: "system",
                user_id: None,
                org_id: None,
            },
            Actor::Anonymous => ActorRef {
                kind: "anonymous",
                user_id: None,
                org_id: None,
            },
        };
        AuditEvent {
            org_id: org_id.to_string(),
            id: new_uuid7(),
            action: action.to_owned(),
            actor,
            target_user_id: target.map(UserId::to_string),
            request_id: Some(ctx.request_id.clone()),
            details,
            created_at: self.now(),
        }
    }

    /// An event of `org_id` about a change the person made to their own account from another
    /// organization: its actor is the person's own membership here, so that each organization's
    /// log names only its own ids.
    fn audit_by_member(
        &self,
        ctx: &Context,
        org_id: &OrgId,
        user_id: &UserId,
        action: &str,
        details: serde_json::Value,
    ) -> AuditEvent {
        AuditEvent {
            actor: ActorRef {
                kind: "user",
                user_id: Some(user_id.to_string()),
                org_id: Some(org_id.to_string()),
            },
            ..self.audit(ctx, org_id, action, Some(user_id), details)
        }
    }
}

/// How store errors read to a caller when an operation has no more specific wording.
impl From<StoreError> for Error {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => Error::NotFound("resource"),
            StoreError::Conflict { field } => {
                Error::Conflict(format!("a record with the same {field} already exists"))
            }
            StoreError::Refused(Refusal::LastAdmin) => Error::Conflict(
                "the organization's last administrator cannot be removed or demoted".into(),
            ),
            StoreError::Refused(Refusal::CredentialRefused) => Error::Conflict(
                "this link no longer sets a password: the account changed since it was sent, \
                 or is shared with other organizations"
                    .into(),
            ),
            StoreError::Refused(Refusal::Stale) => {
                Error::Conflict("a related operation is in progress".into())
            }
            StoreError::Refused(Refusal::InUse) => Error::Conflict(
                "the role is in use: API keys or directory tokens act with it".into(),
            ),
            StoreError::Refused(Refusal::ApiKeyLimit) => {
                Error::BadRequest("the organization has reached the maximum API key limit".into())
            }
            StoreError::Refused(Refusal::VariableMissing(name)) => {
                Error::BadRequest(format!("variable '{name}' to delete does not exist"))
            }
            StoreError::Refused(Refusal::VariableLimit) => Error::BadRequest(
                "the user has exceeded the limit of 20 variables of one kind".into(),
            ),
            StoreError::Unavailable(m) => {
                tracing::warn!(error = %m, "database unavailable");
                Error::Unavailable {
                    retry_after_secs: 5,
                    cause: crate::error::Unavailability::Database,
                }
            }
            StoreError::Other(e) => Error::Internal(e),
        }
    }
}
