//! The records Roster keeps: organizations, identities, users (memberships), roles, keys and the rest.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use crate::kinds::{EnvRole, TokenPurpose};
use crate::mail::{Mail, MailKind};
use crate::types::{Micros, OrgId, UserId};

#[derive(Debug, Clone, PartialEq)]
pub struct Organization {
    pub id: OrgId,
    pub uuid: String,
    pub name: String,
    pub short_name: String,
    pub is_platform: bool,
    pub tenant_id: String,
    pub default_preferences: Preferences,
    pub user_dimensions: Value,
    /// Logos and other presentation data the Amigo surface stores as given.
    pub branding: Value,
    pub created_at: Micros,
    pub updated_at: Micros,
}

/// A user's preferences; also an organization's defaults for new users.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Preferences {
    pub enable_response_recommendation: bool,
    pub preferred_language: Option<String>,
    pub conversations_visible_to_admins: bool,
    pub user_model_visible_to_admins: bool,
    pub timezone: Option<String>,
    pub audio_keyterms: Vec<String>,
}

impl Default for Preferences {
    fn default() -> Self {
        Self {
            enable_response_recommendation: false,
            preferred_language: None,
            conversations_visible_to_admins: true,
            user_model_visible_to_admins: true,
            timezone: None,
            audio_keyterms: Vec::new(),
        }
    }
}

/// How an identity signs in. `password` covers identities without any credential yet;
/// `Oidc` names one of the organization's own OpenID Connect connections.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Connection {
    Password,
    GoogleOauth2,
    Oidc(String),
}

impl Connection {
    pub fn as_str(&self) -> &str {
        match self {
            Self::Password => "password",
            Self::GoogleOauth2 => "google-oauth2",
            Self::Oidc(name) => name,
        }
    }

    /// `password`, `google-oauth2`, or the name of an organization's connection (lower-case
    /// letters, digits and dashes, 1 to 40, starting with a letter).
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "password" => Some(Self::Password),
            "google-oauth2" => Some(Self::GoogleOauth2),
            other if connection_name_ok(other) => Some(Self::Oidc(other.to_owned())),
            _ => None,
        }
    }
}

/// Whether `name` can name an organization's own connection.
pub fn connection_name_ok(name: &str) -> bool {
    (1..=40).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !matches!(name, "password" | "google-oauth2")
}

/// A person, global across organizations: login email and credentials live here.
#[derive(Debug, Clone, PartialEq)]
pub struct Identity {
    pub id: String,
    pub email: String,
    pub email_lower: String,
    pub name: String,
    pub connection: Connection,
    pub email_verified: bool,
    /// Tokens issued before this instant are rejected (password reset, forced sign-out).
    pub sessions_valid_after: Micros,
    /// Moves with every change to the identity's memberships and credentials: a link sets a
    /// credential only on the identity as it was when the link was issued.
    pub epoch: i64,
    pub created_at: Micros,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserStatus {
    Invited,
    Active,
    Inactive,
}

impl UserStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Invited => "invited",
            Self::Active => "active",
            Self::Inactive => "inactive",
        }
    }

    pub fn parse(s: &str) -> Self {
        match s {
            "active" => Self::Active,
            "inactive" => Self::Inactive,
            _ => Self::Invited,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct UserStats {
    pub num_conversations: i64,
    pub num_messages: i64,
    pub last_message_at: Option<Micros>,
}

/// A membership of an identity in one organization: what every surface calls a user.
#[derive(Debug, Clone, PartialEq)]
pub struct User {
    pub org_id: OrgId,
    pub id: UserId,
    pub identity_id: String,
    /// How this organization lets the person sign in (its invitation's connection); another
    /// organization of the same identity may use another.
    pub connection: Connection,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub status: UserStatus,
    pub is_admin: bool,
    pub preferences: Preferences,
    pub additional_context: Vec<String>,
    pub nonsensitive_variables: BTreeMap<String, String>,
    pub sensitive_names: Vec<String>,
    pub company: Option<String>,
    pub image: Option<String>,
    pub enable_actions_access: bool,
    pub stats: UserStats,
    pub role_ids: Vec<String>,
    /// The organization's directory's id of the person, as its provisioning wrote it.
    pub external_id: Option<String>,
    /// The directory's name of the person when it is not the login email (a directory may name
    /// people by an opaque id); `None` when the login email is the name.
    pub user_name: Option<String>,
    pub created_at: Micros,
    pub updated_at: Micros,
}

impl User {
    /// A new membership with fresh ids, no roles, default preferences and empty profile data;
    /// callers set what differs with struct update syntax.
    pub fn new(
        org_id: &OrgId,
        email: &str,
        first_name: &str,
        last_name: &str,
        now: Micros,
    ) -> Self {
        Self {
            org_id: org_id.clone(),
            id: UserId::new(crate::types::new_uuid7()),
            identity_id: crate::types::new_uuid7(),
            connection: Connection::Password,
            email: email.trim().to_owned(),
            first_name: first_name.trim().to_owned(),
            last_name: last_name.trim().to_owned(),
            status: UserStatus::Invited,
            is_admin: false,
            preferences: Preferences::default(),
            additional_context: Vec::new(),
            nonsensitive_variables: BTreeMap::new(),
            sensitive_names: Vec::new(),
            company: None,
            image: None,
            enable_actions_access: false,
            stats: UserStats::default(),
            role_ids: Vec::new(),
            external_id: None,
            user_name: None,
            created_at: now,
            updated_at: now,
        }
    }

    pub fn is_verified(&self) -> bool {
        self.status != UserStatus::Invited
    }
}

/// A condition on an attribute of the request that a grant applies to. As in the vendor schema,
/// `type` may be left out: it is then `In` when `values` is given, else `Equals`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type")]
pub enum Condition {
    Equals { value: Value },
    In { values: Vec<Value> },
    NotEquals { value: Value },
}

impl<'de> Deserialize<'de> for Condition {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error as _;
        let mut m = serde_json::Map::deserialize(d)?;
        let kind = match m.remove("type") {
            None => {
                if m.contains_key("values") {
                    "In".to_owned()
                } else {
                    "Equals".to_owned()
                }
            }
            Some(Value::String(s)) => s,
            Some(_) => {
                return Err(D::Error::custom(
                    "condition type must be Equals, In or NotEquals",
                ))
            }
        };
        let cond = match kind.as_str() {
            "Equals" => Condition::Equals {
                value: m
                    .remove("value")
                    .ok_or_else(|| D::Error::missing_field("value"))?,
            },
            "NotEquals" => Condition::NotEquals {
                value: m
                    .remove("value")
                    .ok_or_else(|| D::Error::missing_field("value"))?,
            },
            "In" => match m.remove("values") {
                Some(Value::Array(values)) => Condition::In { values },
                Some(_) => return Err(D::Error::custom("values must be a list")),
                None => return Err(D::Error::missing_field("values")),
            },
            other => {
                return Err(D::Error::custom(format!(
                    "unknown condition type '{other}': use Equals, In or NotEquals"
                )))
            }
        };
        if let Some(extra) = m.keys().next() {
            return Err(D::Error::unknown_field(extra, &["type", "value", "values"]));
        }
        Ok(cond)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Grant {
    pub permission_name: String,
    #[serde(default)]
    pub conditions: BTreeMap<String, Condition>,
}

impl Grant {
    pub fn of(permission_name: &str) -> Self {
        Self {
            permission_name: permission_name.to_owned(),
            conditions: BTreeMap::new(),
        }
    }

    /// The grant limited to the caller's own user.
    pub fn on_self(permission_name: &str) -> Self {
        let mut g = Self::of(permission_name);
        g.conditions.insert(
            "is_self".to_owned(),
            Condition::Equals {
                value: Value::Bool(true),
            },
        );
        g
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Role {
    pub org_id: String,
    pub id: String,
    pub name: String,
    pub description: String,
    pub frontend_view: String,
    pub grants: Vec<Grant>,
    pub is_admin: bool,
    pub builtin: bool,
    /// The organization's directory's id of the group this role is, as its provisioning wrote it.
    pub external_id: Option<String>,
    pub created_at: Micros,
    pub updated_at: Micros,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ApiKey {
    pub org_id: String,
    pub key_id: String,
    pub doc_id: String,
    pub name: Option<String>,
    pub secret_hash: String,
    pub role_id: String,
    pub creator_user_id: String,
    pub creator_org_id: String,
    pub expires_at: Micros,
    pub created_at: Micros,
    pub updated_at: Micros,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TemporaryGrant {
    pub org_id: String,
    pub id: String,
    pub user_id: String,
    pub grant: Grant,
    pub justification: String,
    pub tags: BTreeMap<String, Option<String>>,
    pub creator_user_id: String,
    pub creator_org_id: String,
    pub expires_at: Micros,
    pub created_at: Micros,
    pub updated_at: Micros,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dimension {
    pub description: String,
    pub tags: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct UserModel {
    pub org_id: String,
    pub user_id: String,
    pub id: String,
    pub content: String,
    pub insight_ids: Vec<String>,
    pub dimensions: Vec<Dimension>,
    pub created_at: Micros,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Memory {
    pub org_id: String,
    pub user_id: String,
    pub id: String,
    pub conversation_id: String,
    pub references: Vec<String>,
    pub content: String,
    pub context: String,
    pub created_at: Micros,
}

/// An eva environment; environments and bots come from the conversation platform (ingestion).
#[derive(Debug, Clone, PartialEq)]
pub struct Environment {
    pub org_id: String,
    pub uuid: String,
    pub name: String,
    pub active: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Bot {
    pub org_id: String,
    pub uuid: String,
    pub environment_uuid: String,
    pub name: String,
    pub active: bool,
}

/// A user's eva role in one environment, with the bots it reaches there.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EnvAccess {
    pub environment_uuid: String,
    pub role: EnvRole,
    pub bots: Vec<String>,
}

/// A per-user configuration value, global or for one bot.
#[derive(Debug, Clone, PartialEq)]
pub struct Configuration {
    pub key: String,
    pub value: String,
    pub bot_uuid: Option<String>,
}

/// Who did something, as recorded in audit events.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ActorRef {
    pub kind: &'static str,
    pub user_id: Option<String>,
    pub org_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AuditEvent {
    pub org_id: String,
    pub id: String,
    pub action: String,
    pub actor: ActorRef,
    pub target_user_id: Option<String>,
    pub request_id: Option<String>,
    pub details: Value,
    pub created_at: Micros,
}

/// An email waiting in the durable outbox, written in the same transaction as its cause.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxMessage {
    pub org_id: String,
    pub id: String,
    /// A [`MailKind`]'s stored spelling, kept as read so that a row no version of Roster wrote
    /// fails to render alone (see [`OutboxMessage::mail_kind`]).
    pub kind: String,
    pub recipient: String,
    pub language: String,
    pub payload: Value,
    pub status: String,
    pub attempts: i64,
    pub created_at: Micros,
}

impl OutboxMessage {
    /// The kind of email, if it is one this version knows.
    pub fn mail_kind(&self) -> Option<MailKind> {
        MailKind::parse(&self.kind)
    }

    /// `mail`, queued now for `recipient`, waiting for delivery.
    pub fn queued(org_id: &str, mail: Mail, recipient: &str, language: &str, now: Micros) -> Self {
        Self {
            org_id: org_id.to_owned(),
            id: crate::types::new_uuid7(),
            kind: mail.kind().as_str().to_owned(),
            recipient: recipient.to_owned(),
            language: language.to_owned(),
            payload: mail.payload(),
            status: "pending".into(),
            attempts: 0,
            created_at: now,
        }
    }
}

/// Whose a one-time token is: the user of an organization and its identity.
#[derive(Debug, Clone, Copy)]
pub struct TokenOwner<'a> {
    pub org_id: &'a str,
    pub user_id: &'a str,
    pub identity_id: &'a str,
}

impl<'a> From<&'a User> for TokenOwner<'a> {
    fn from(u: &'a User) -> Self {
        Self {
            org_id: &u.org_id,
            user_id: &u.id,
            identity_id: &u.identity_id,
        }
    }
}

/// A single-use secret (invitation, magic link, reset), stored only as a hash.
#[derive(Debug, Clone, PartialEq)]
pub struct OneTimeToken {
    pub token_hash: String,
    pub org_id: String,
    pub user_id: String,
    pub identity_id: String,
    pub purpose: TokenPurpose,
    pub payload: Value,
    pub expires_at: Micros,
    pub created_at: Micros,
    /// The identity's epoch when the token was written (recorded by the store; `None` for
    /// tokens older than the epoch): see [`Identity::epoch`].
    pub identity_epoch: Option<i64>,
}

impl OneTimeToken {
    /// The stored record of `secret` (only its hash is kept), valid for `ttl_secs` from `now`.
    pub fn new(
        secret: &str,
        owner: TokenOwner<'_>,
        purpose: TokenPurpose,
        payload: Value,
        ttl_secs: i64,
        now: Micros,
    ) -> Self {
        Self {
            token_hash: crate::secrets::hash_secret(secret),
            org_id: owner.org_id.to_owned(),
            user_id: owner.user_id.to_owned(),
            identity_id: owner.identity_id.to_owned(),
            purpose,
            payload,
            expires_at: now + ttl_secs * 1_000_000,
            created_at: now,
            identity_epoch: None,
        }
    }
}

/// An Ed25519 signing key; `retire_at` bounds how long tokens it signed stay valid.
#[derive(Debug, Clone, PartialEq)]
pub struct SigningKey {
    pub kid: String,
    pub alg: String,
    pub private_pkcs8: String,
    pub public_x: String,
    pub created_at: Micros,
    pub retire_at: Option<Micros>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn condition_type_defaults_like_the_vendor_schema() {
        let c: Condition = serde_json::from_value(json!({ "value": 1 })).expect("equals");
        assert_eq!(c, Condition::Equals { value: json!(1) });
        let c: Condition = serde_json::from_value(json!({ "values": [1, 2] })).expect("in");
        assert_eq!(
            c,
            Condition::In {
                values: vec![json!(1), json!(2)]
            }
        );
        assert!(
            serde_json::from_value::<Condition>(json!({ "type": "Like", "value": 1 })).is_err()
        );
        assert!(serde_json::from_value::<Condition>(json!({ "type": "Equals" })).is_err());
        assert!(serde_json::from_value::<Condition>(json!({ "value": 1, "extra": 2 })).is_err());
        assert_eq!(
            serde_json::to_value(Condition::Equals { value: json!(true) }).expect("ser"),
            json!({ "type": "Equals", "value": true })
        );
    }
}

/// A relying party of an organization's OpenID Connect provider.
#[derive(Debug, Clone, PartialEq)]
pub struct OidcClient {
    pub org_id: String,
    pub client_id: String,
    pub name: String,
    /// SHA-256 of the client secret (shown once); `None` for a public client, which proves
    /// itself with PKCE instead.
    pub secret_hash: Option<String>,
    /// Matched exactly, character for character, against a request's `redirect_uri`.
    pub redirect_uris: Vec<String>,
    pub created_at: Micros,
    pub updated_at: Micros,
}

impl OidcClient {
    pub fn is_public(&self) -> bool {
        self.secret_hash.is_none()
    }
}
