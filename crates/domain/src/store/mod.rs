//! The storage contract. Each write is one transaction that also writes its [`Effects`]
//! (audit events, queued emails, one-time tokens), so nothing is recorded without its cause.
//!
//! One trait per aggregate, each in its own file here and implemented in the file of the same
//! name in `crates/store/src`; [`Store`] is all of them at once (every type that implements
//! them all is a `Store`). The store applies what the core decided, atomically, and reports
//! conflicts ([`StoreError::Refused`]); it decides no rule and reads no clock: every method that
//! needs the time takes it (`now`, or a session stamp) from the caller.

use crate::kinds::TokenPurpose;
use crate::model::*;
use crate::types::Micros;
use crate::types::OrgId;
use crate::types::UserId;

mod audit;
mod console;
mod eva;
mod exports;
mod identities;
mod jobs;
mod keys;
mod oidc;
mod ops;
mod orgs;
mod outbox;
mod roles;
mod test_reads;
mod throttle;
mod tokens;
mod users;
mod webhooks;

pub use audit::AuditStore;
pub use console::{ConsoleSession, ConsoleStore};
pub use eva::EvaStore;
pub use exports::{ExportStore, ExportedUser};
pub use identities::IdentityStore;
pub use jobs::{Job, JobEnd, JobError, JobFormat, JobKind, JobProgress, JobState, JobStore};
pub use keys::KeyStore;
pub use oidc::OidcStore;
pub use ops::OpsStore;
pub use orgs::OrgStore;
pub use outbox::OutboxStore;
pub use roles::RoleStore;
pub use test_reads::TestReads;
pub use throttle::ThrottleStore;
pub use tokens::{DecideUse, LinkUse, TokenStore};
pub use users::UserStore;
pub use webhooks::WebhookStore;

/// Everything the core stores, one aggregate per trait.
pub trait Store:
    crate::connections::ConnectionStore
    + ConsoleStore
    + crate::directory::DirectoryStore
    + OpsStore
    + OrgStore
    + RoleStore
    + UserStore
    + ExportStore
    + IdentityStore
    + JobStore
    + KeyStore
    + TokenStore
    + OutboxStore
    + AuditStore
    + EvaStore
    + OidcStore
    + WebhookStore
    + ThrottleStore
    + TestReads
{
}

impl<T> Store for T where
    T: crate::connections::ConnectionStore
        + ConsoleStore
        + crate::directory::DirectoryStore
        + OpsStore
        + OrgStore
        + RoleStore
        + UserStore
        + ExportStore
        + IdentityStore
        + JobStore
        + KeyStore
        + TokenStore
        + OutboxStore
        + AuditStore
        + EvaStore
        + OidcStore
        + WebhookStore
        + ThrottleStore
        + TestReads
{
}

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
    /// The record is still referred to (a role an API key or a directory token acts with).
    InUse,
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Records written in the same transaction as the change that caused them.
#[derive(Debug, Clone, Default)]
pub struct Effects {
    pub audit: Vec<AuditEvent>,
    pub outbox: Vec<OutboxMessage>,
    /// Unused tokens these name are withdrawn before `tokens` are written.
    pub revoke: Vec<Revocation>,
    pub tokens: Vec<OneTimeToken>,
    /// The progress of the job this change is a batch of.
    pub job: Option<JobProgress>,
}

/// The unused tokens of one purpose that a membership holds, withdrawn by a change (a newer
/// invitation voids the older ones; deactivation ends refresh tokens).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revocation {
    pub org_id: String,
    pub user_id: String,
    pub purpose: TokenPurpose,
}

impl Revocation {
    pub fn new(org_id: &OrgId, user_id: &UserId, purpose: TokenPurpose) -> Self {
        Self {
            org_id: String::from(org_id.to_owned()),
            user_id: String::from(user_id.to_owned()),
            purpose,
        }
    }
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
    /// Tokens issued before `at` stop working (a reset: the other sessions end).
    pub revoke_sessions: bool,
    /// The session stamp of the change (`types::session_stamp`): the identity's `updated_at`
    /// and, with `revoke_sessions`, the cut-off of its sessions.
    pub at: Micros,
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
    /// What joining the identity of this email, when one exists, does to it.
    pub on_join: OnJoin,
}

/// What a new membership does to an identity that already exists, as the core decided
/// (`core::users::on_join`). The store applies it in the insert's transaction and moves the
/// identity's epoch (a membership more is a change of the identity).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OnJoin {
    /// Clear the identity's password unless its address is verified, and end at this session
    /// stamp the sessions of an identity whose password is cleared.
    pub clear_unproven_password: Option<Micros>,
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
            on_join: crate::core::instructions::on_join(),
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
