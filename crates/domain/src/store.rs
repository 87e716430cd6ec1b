//! The storage contract. Each write is one transaction that also writes its [`Effects`]
//! (audit events, queued emails, one-time tokens), so nothing is recorded without its cause.

use async_trait::async_trait;

use crate::model::*;
use crate::paging::{AuditQuery, GrantQuery, MemoryQuery, UserQuery};
use crate::types::Micros;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    #[error("conflict on {field}")]
    Conflict { field: &'static str },
    /// A guarded write that would break an invariant; nothing was written.
    #[error("refused: {0:?}")]
    Refused(Refusal),
    /// The database cannot be reached or is read-only or busy: worth a retry later.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The organization would be left without an active administrator.
    LastAdmin,
    /// The credential was not set: the identity changed, or is not what the instruction needs.
    CredentialRefused,
    ApiKeyLimit,
    VariableMissing(String),
    VariableLimit,
    /// The record changed since it was read (optimistic concurrency).
    Stale,
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Records written in the same transaction as the change that caused them.
#[derive(Debug, Clone, Default)]
pub struct Effects {
    pub audit: Vec<AuditEvent>,
    pub outbox: Vec<OutboxMessage>,
    /// Unused tokens of these `(org_id, user_id, purpose)` are withdrawn before `tokens` are written.
    pub revoke: Vec<(String, String, String)>,
    pub tokens: Vec<OneTimeToken>,
}

impl Effects {
    pub fn audit(event: AuditEvent) -> Self {
        Self {
            audit: vec![event],
            ..Self::default()
        }
    }
}

/// A password set by following an emailed link, in the transaction that uses the link's token.
#[derive(Debug, Clone)]
pub struct NewPassword {
    /// The argon2 PHC string.
    pub hash: String,
    /// Keep a password the identity already has (an invitation into a second organization).
    pub only_if_unset: bool,
    /// Tokens issued before now stop working (a reset: the other sessions end).
    pub revoke_sessions: bool,
    /// Only while the identity's epoch is the one the token recorded: its memberships and
    /// credentials unchanged since the link was issued.
    pub unchanged_since_issued: bool,
    /// Only while the token's membership is the identity's only one (a link its inviter was
    /// shown proves nothing about the address: it may set a password no other organization
    /// relies on).
    pub sole_membership: bool,
}

/// What became of one delivery attempt of an outbox message.
#[derive(Debug, Clone, PartialEq)]
pub enum Delivery {
    Sent {
        at: Micros,
    },
    /// A transient failure: the message is due again at `at`.
    Retry {
        at: Micros,
        error: String,
    },
    /// A permanent failure, or too many attempts: the message is given up.
    Failed {
        error: String,
    },
}

/// The identity a new user is attached to; reused when one with this email exists.
#[derive(Debug, Clone)]
pub struct NewIdentity {
    pub id: String,
    pub email: String,
    pub email_lower: String,
    pub name: String,
    pub connection: Connection,
    pub password_hash: Option<String>,
    pub email_verified: bool,
}

impl NewIdentity {
    /// The identity a new user's email would get, with a password connection and no password yet.
    pub fn for_user(user: &User, email_verified: bool) -> Self {
        Self {
            id: user.identity_id.clone(),
            email: user.email.clone(),
            email_lower: user.email.to_lowercase(),
            name: crate::types::full_name(&user.first_name, &user.last_name),
            connection: Connection::Password,
            password_hash: None,
            email_verified,
        }
    }
}

#[derive(Debug, Clone)]
pub struct NewOrganization {
    pub org: Organization,
    pub roles: Vec<Role>,
    /// A first user, its identity and roles (bootstrap).
    pub first_user: Option<(NewIdentity, User)>,
    pub api_key: Option<ApiKey>,
    /// The database cluster to place the organization on; `None` is the home cluster.
    pub cluster: Option<String>,
}

/// What authentication needs to know about a token's user, loaded in one go.
#[derive(Debug, Clone)]
pub struct PrincipalRecord {
    pub org_id: String,
    pub org_is_platform: bool,
    pub user_id: String,
    pub identity_id: String,
    pub status: UserStatus,
    pub sessions_valid_after: Micros,
    pub role_names: Vec<String>,
    pub grants: Vec<Grant>,
    pub temporary_grants: Vec<Grant>,
}

#[async_trait]
pub trait Store: crate::connections::ConnectionStore + Send + Sync + 'static {
    /// `sqlite` or `postgres`.
    fn backend(&self) -> &'static str;
    async fn ping(&self) -> StoreResult<()>;
    /// Moves whenever a write of this process that could change anything but the logs (audit
    /// events, outbox, one-time tokens, page cursors) commits. A value read before a read and
    /// unchanged after means the read is still what the database holds, as far as this process
    /// can tell (other processes' writes are not counted).
    fn write_generation(&self) -> u64;
    /// The names of the database clusters an organization can be placed on; empty when there is
    /// one database and placement does not apply.
    fn clusters(&self) -> Vec<String> {
        Vec::new()
    }

    async fn get_setting(&self, key: &str) -> StoreResult<Option<String>>;
    async fn put_setting(&self, key: &str, value: &str) -> StoreResult<()>;

    async fn signing_keys(&self) -> StoreResult<Vec<SigningKey>>;
    /// Inserts the key unless one newer than `newer_than` exists (several nodes starting at once).
    async fn insert_signing_key(&self, key: &SigningKey, newer_than: Micros) -> StoreResult<bool>;

    async fn any_organization(&self) -> StoreResult<bool>;
    async fn find_organization(&self, id_or_uuid: &str) -> StoreResult<Option<Organization>>;
    async fn create_organization(&self, new: NewOrganization, fx: Effects) -> StoreResult<()>;
    async fn update_organization(&self, org: &Organization, fx: Effects) -> StoreResult<()>;
    /// Erases the organization and everything in it; `fx` is written afterwards (to other orgs).
    async fn delete_organization(&self, org_id: &str, fx: Effects) -> StoreResult<()>;

    async fn list_roles(&self, org_id: &str) -> StoreResult<Vec<Role>>;
    async fn insert_role(&self, role: &Role, fx: Effects) -> StoreResult<()>;
    /// Rewrites a role and the admin flag of its holders; refuses to leave no administrator.
    /// Writes the role if it is still as it was read (`updated_at == expected_updated_at`).
    async fn update_role(
        &self,
        role: &Role,
        expected_updated_at: Micros,
        fx: Effects,
    ) -> StoreResult<()>;

    async fn get_identity(&self, id: &str) -> StoreResult<Option<Identity>>;
    /// Inserts the user, reusing the identity of the same email if there is one.
    async fn insert_user(
        &self,
        identity: NewIdentity,
        user: User,
        secrets: &[(String, String)],
        fx: Effects,
    ) -> StoreResult<User>;
    /// Inserts users with their roles and environments in one transaction; a user whose email is
    /// already in the organization is skipped. Returns, per row, whether it was inserted.
    async fn insert_users(
        &self,
        rows: Vec<(NewIdentity, User, Vec<EnvAccess>)>,
        fx: Effects,
    ) -> StoreResult<Vec<bool>>;
    /// Which of these lower-cased emails already belong to users of the organization.
    async fn existing_emails(
        &self,
        org_id: &str,
        emails_lower: &[String],
    ) -> StoreResult<Vec<String>>;
    /// Refreshes the planner's statistics of the user tables after a large bulk change.
    async fn refresh_statistics(&self) -> StoreResult<()>;
    /// Replaces a user's organization roles and environment access at once (last-admin guarded).
    async fn count_active_admins(&self, org_id: &str) -> StoreResult<i64>;
    /// `update_user` and `set_user_access` in one transaction.
    async fn update_user_access(
        &self,
        user: &User,
        expected_updated_at: Micros,
        role_ids: &[String],
        environments: &[EnvAccess],
        password: Option<&NewPassword>,
        fx: Effects,
    ) -> StoreResult<()>;
    async fn set_user_access(
        &self,
        org_id: &str,
        user_id: &str,
        role_ids: &[String],
        environments: &[EnvAccess],
        fx: Effects,
    ) -> StoreResult<()>;
    /// Environment access of users, as `(user_id, access)`.
    async fn env_access(
        &self,
        org_id: &str,
        user_ids: &[String],
    ) -> StoreResult<Vec<(String, EnvAccess)>>;
    async fn upsert_environment(&self, env: &Environment, fx: Effects) -> StoreResult<()>;
    async fn upsert_bot(&self, bot: &Bot, fx: Effects) -> StoreResult<()>;
    async fn list_environments(&self, org_id: &str) -> StoreResult<Vec<Environment>>;
    async fn list_bots(&self, org_id: &str) -> StoreResult<Vec<Bot>>;
    async fn set_configuration(
        &self,
        org_id: &str,
        user_id: &str,
        c: &Configuration,
    ) -> StoreResult<()>;
    /// The user's configurations for one bot, or the global ones with `None`.
    async fn configurations(
        &self,
        org_id: &str,
        user_id: &str,
        bot_uuid: Option<&str>,
    ) -> StoreResult<Vec<Configuration>>;
    async fn get_user(&self, org_id: &str, user_id: &str) -> StoreResult<Option<User>>;
    async fn list_users(&self, org_id: &str, q: &UserQuery) -> StoreResult<Vec<User>>;
    /// How many users match the query's filters (its page is ignored).
    async fn count_users(&self, org_id: &str, q: &UserQuery) -> StoreResult<i64>;
    /// Every membership of an identity, as `(org_id, user_id)`.
    async fn memberships(&self, identity_id: &str) -> StoreResult<Vec<(String, String)>>;
    async fn identity_by_email(&self, email_lower: &str) -> StoreResult<Option<Identity>>;
    /// The stored argon2 hash of an identity's password, if it has one.
    async fn password_hash(&self, identity_id: &str) -> StoreResult<Option<String>>;
    /// Sets an identity's password; with `revoke_sessions`, tokens issued before now stop working.
    async fn set_password(
        &self,
        identity_id: &str,
        hash: &str,
        revoke_sessions: bool,
        fx: Effects,
    ) -> StoreResult<()>;
    /// Ends every session of one membership begun before `at` (a session stamp): its tokens stop
    /// working at once, on every surface, the identity's other memberships untouched.
    async fn end_member_sessions(
        &self,
        org_id: &str,
        user_id: &str,
        at: Micros,
        fx: Effects,
    ) -> StoreResult<()>;
    /// Renames an identity and every one of its memberships.
    async fn rename_identity(
        &self,
        identity_id: &str,
        first_name: &str,
        last_name: &str,
        fx: Effects,
    ) -> StoreResult<()>;
    /// Consumes an `email_change` token and moves the identity and all its memberships to the
    /// new address, in one transaction. `Conflict` when the address is taken meanwhile.
    async fn apply_email_change(
        &self,
        token_hash: &str,
        now: Micros,
        fx: Effects,
    ) -> StoreResult<Option<(String, String)>>;
    /// Writes the user's profile fields if `updated_at` still equals `expected_updated_at`.
    async fn update_user(
        &self,
        user: &User,
        expected_updated_at: Micros,
        fx: Effects,
    ) -> StoreResult<()>;
    /// Replaces a user's organization roles; of its eva environment roles, only those named in
    /// `env_roles_kept` stay (with their bots).
    async fn set_user_roles(
        &self,
        org_id: &str,
        user_id: &str,
        role_ids: &[String],
        env_roles_kept: &[String],
        fx: Effects,
    ) -> StoreResult<()>;
    /// Hard delete, or with `soft_reasons` a soft delete that keeps a snapshot.
    async fn delete_user(
        &self,
        org_id: &str,
        user_id: &str,
        soft_reasons: Option<Vec<String>>,
        fx: Effects,
    ) -> StoreResult<()>;
    async fn modify_variables(
        &self,
        org_id: &str,
        user_id: &str,
        upserts: &[(String, String, bool)],
        deletes: &[String],
        max_each: usize,
        fx: Effects,
    ) -> StoreResult<()>;
    async fn set_user_stats(
        &self,
        org_id: &str,
        user_id: &str,
        stats: &UserStats,
        fx: Effects,
    ) -> StoreResult<()>;

    async fn load_principal(
        &self,
        org_id: &str,
        user_id: &str,
        now: Micros,
    ) -> StoreResult<Option<PrincipalRecord>>;

    async fn get_api_key(&self, org_id: &str, key_id: &str) -> StoreResult<Option<ApiKey>>;
    async fn list_api_keys(&self, org_id: &str) -> StoreResult<Vec<ApiKey>>;
    async fn insert_api_key(
        &self,
        key: &ApiKey,
        max_per_org: usize,
        fx: Effects,
    ) -> StoreResult<()>;
    async fn delete_api_key(&self, org_id: &str, key_id: &str, fx: Effects) -> StoreResult<()>;

    /// Writes effects that belong to no other change (a magic link request).
    async fn write_effects(&self, fx: Effects) -> StoreResult<()>;
    /// Charges one password attempt to `key` (`account:EMAIL`, `client:ADDRESS`) unless the key
    /// is blocked at `now`; false when blocked (nothing is charged then). One transaction holds
    /// the key's row from read to write, so concurrent attempts on every node count one by one.
    async fn charge_sign_in_attempt(
        &self,
        key: &str,
        now: Micros,
        policy: &crate::throttle::Throttle,
    ) -> StoreResult<bool>;
    /// After a correct password: `reset` clears the key, otherwise one charge is taken back.
    async fn forgive_sign_in_attempt(&self, key: &str, reset: bool) -> StoreResult<()>;
    /// Several [`Store::write_effects`] in one transaction, in order; all or none are written.
    async fn write_effects_batch(&self, batch: &[Effects]) -> StoreResult<()>;
    /// Marks an unused, unexpired token of `org_id` with one of `purposes` used and returns it.
    /// An invitation token also makes its invited user active and the identity verified, in the
    /// same transaction. Of two concurrent uses, one wins.
    async fn consume_token(
        &self,
        org_id: &str,
        token_hash: &str,
        purposes: &[&str],
        now: Micros,
        fx: Effects,
    ) -> StoreResult<Option<OneTimeToken>>;

    async fn insert_temporary_grant(&self, grant: &TemporaryGrant, fx: Effects) -> StoreResult<()>;
    async fn list_temporary_grants(
        &self,
        org_id: &str,
        q: &GrantQuery,
    ) -> StoreResult<Vec<TemporaryGrant>>;

    async fn insert_user_model(&self, model: &UserModel, fx: Effects) -> StoreResult<()>;
    async fn latest_user_models(
        &self,
        org_id: &str,
        user_id: &str,
        limit: u32,
    ) -> StoreResult<Vec<UserModel>>;
    async fn insert_memories(&self, memories: &[Memory], fx: Effects) -> StoreResult<()>;
    async fn list_memories(&self, org_id: &str, q: &MemoryQuery) -> StoreResult<Vec<Memory>>;

    async fn put_cursor(
        &self,
        org_id: &str,
        id: i64,
        position: &str,
        expires_at: Micros,
    ) -> StoreResult<()>;
    async fn get_cursor(&self, org_id: &str, id: i64, now: Micros) -> StoreResult<Option<String>>;

    /// The unused, unexpired token with this hash, left unused (what a landing page shows).
    async fn find_token(&self, token_hash: &str, now: Micros) -> StoreResult<Option<OneTimeToken>>;
    /// [`Store::consume_token`], and in the same transaction the token's identity gets
    /// `password` when it signs in with a password. Of two concurrent uses, one wins.
    async fn consume_token_with_password(
        &self,
        org_id: &str,
        token_hash: &str,
        purposes: &[&str],
        now: Micros,
        password: &NewPassword,
        fx: Effects,
    ) -> StoreResult<Option<OneTimeToken>>;
    /// Leases to `worker`, until `lease_until`, up to `limit` messages that are due: pending and
    /// past their next attempt, or leased by a worker whose lease ran out. Each lease counts as
    /// an attempt. Concurrent claimers never get the same message.
    async fn claim_outbox(
        &self,
        worker: &str,
        now: Micros,
        lease_until: Micros,
        limit: u32,
    ) -> StoreResult<Vec<OutboxMessage>>;
    /// Records the outcome of a delivery; false when `worker` no longer holds the lease. A sent
    /// or failed message's payload (links with live tokens) is erased.
    async fn finish_outbox(
        &self,
        org_id: &str,
        id: &str,
        worker: &str,
        outcome: &Delivery,
    ) -> StoreResult<bool>;
    async fn list_outbox(&self, org_id: &str) -> StoreResult<Vec<OutboxMessage>>;
    async fn list_audit(&self, org_id: &str, limit: u32) -> StoreResult<Vec<AuditEvent>>;
    /// One organization's audit events matching `q`, newest first (`created_at`, then `id`).
    async fn query_audit(&self, org_id: &str, q: &AuditQuery) -> StoreResult<Vec<AuditEvent>>;
    /// Deletes up to `batch` audit events (of any organization) older than `before`; returns
    /// how many went. Retention calls it until it returns less than `batch`.
    async fn purge_audit(&self, before: Micros, batch: u32) -> StoreResult<u64>;

    /// The organization's OpenID Connect clients, oldest first.
    async fn list_oidc_clients(&self, org_id: &str) -> StoreResult<Vec<OidcClient>>;
    async fn get_oidc_client(
        &self,
        org_id: &str,
        client_id: &str,
    ) -> StoreResult<Option<OidcClient>>;
    /// `Conflict { field: "client_id" }` when the id is taken.
    async fn insert_oidc_client(&self, client: &OidcClient, fx: Effects) -> StoreResult<()>;
    /// Rewrites name and redirect URIs; `NotFound` when the client is gone.
    async fn update_oidc_client(&self, client: &OidcClient, fx: Effects) -> StoreResult<()>;
    async fn delete_oidc_client(
        &self,
        org_id: &str,
        client_id: &str,
        fx: Effects,
    ) -> StoreResult<()>;
    /// The token with this hash if it was already used (refresh-token reuse detection).
    async fn spent_token(
        &self,
        org_id: &str,
        token_hash: &str,
    ) -> StoreResult<Option<OneTimeToken>>;
    /// One organization's events after position `after`, in commit order, of `types` (every
    /// type when empty), at most `limit`.
    async fn list_events(
        &self,
        org_id: &str,
        after: i64,
        types: &[String],
        limit: u32,
    ) -> StoreResult<Vec<crate::events::Event>>;
    /// Deletes up to `batch` events (of any organization) that occurred before `before`.
    async fn purge_events(&self, before: Micros, batch: u32) -> StoreResult<u64>;

    async fn insert_webhook(
        &self,
        w: &crate::webhooks::WebhookEndpoint,
        fx: Effects,
    ) -> StoreResult<()>;
    async fn list_webhooks(
        &self,
        org_id: &str,
    ) -> StoreResult<Vec<crate::webhooks::WebhookEndpoint>>;
    async fn get_webhook(
        &self,
        org_id: &str,
        id: &str,
    ) -> StoreResult<Option<crate::webhooks::WebhookEndpoint>>;
    /// Rewrites the endpoint; `NotFound` when it is gone.
    async fn update_webhook(
        &self,
        w: &crate::webhooks::WebhookEndpoint,
        fx: Effects,
    ) -> StoreResult<()>;
    /// Deletes the endpoint, its queued messages and its delivery log.
    async fn delete_webhook(&self, org_id: &str, id: &str, fx: Effects) -> StoreResult<()>;
    /// Leases due webhook messages to `worker` until `lease_until`, as [`Store::claim_outbox`]
    /// does for emails: concurrent claimers never get the same message; each lease counts as
    /// an attempt.
    async fn claim_webhooks(
        &self,
        worker: &str,
        now: Micros,
        lease_until: Micros,
        limit: u32,
    ) -> StoreResult<Vec<crate::webhooks::WebhookJob>>;
    /// Records an attempt and its outcome while `worker` holds the lease (false otherwise).
    /// A failure lengthens the endpoint's failure run, and a run of `disable_after` disables
    /// it; the second value is true when this call disabled it.
    async fn finish_webhook(
        &self,
        job: &crate::webhooks::WebhookJob,
        worker: &str,
        attempt: &crate::webhooks::WebhookAttempt,
        outcome: &crate::webhooks::WebhookOutcome,
        disable_after: i64,
        fx: Effects,
    ) -> StoreResult<(bool, bool)>;
    async fn list_webhook_attempts(
        &self,
        org_id: &str,
        endpoint_id: &str,
        limit: u32,
    ) -> StoreResult<Vec<crate::webhooks::WebhookAttempt>>;
    /// Queues again the endpoint's message of one event, or of every event since a time.
    async fn replay_webhook(
        &self,
        org_id: &str,
        endpoint_id: &str,
        event_id: Option<&str>,
        since: Option<Micros>,
        now: Micros,
    ) -> StoreResult<u64>;
}
