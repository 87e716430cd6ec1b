//! The vendor's request and response bodies, with the vendor's field names and required fields.

use std::collections::BTreeMap;

use roster_domain::core::Settable;
use roster_domain::model::{self, Grant, Preferences, TemporaryGrant, User};
use roster_domain::types::format_micros;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use crate::routes::ReadOnly;

/// Preferences as the create/invite/modify requests take them; absent fields take the defaults.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PreferencesIn {
    #[serde(default)]
    pub enable_response_recommendation: bool,
    #[serde(default)]
    pub preferred_language: Option<String>,
    #[serde(default = "yes")]
    pub conversations_visible_to_admins: bool,
    #[serde(default = "yes")]
    pub user_model_visible_to_admins: bool,
    #[serde(default)]
    pub timezone: Option<String>,
    #[serde(default)]
    pub audio_keyterms: Vec<String>,
}

fn yes() -> bool {
    true
}

impl From<PreferencesIn> for Preferences {
    fn from(p: PreferencesIn) -> Self {
        Self {
            enable_response_recommendation: p.enable_response_recommendation,
            preferred_language: p.preferred_language,
            conversations_visible_to_admins: p.conversations_visible_to_admins,
            user_model_visible_to_admins: p.user_model_visible_to_admins,
            timezone: p.timezone,
            audio_keyterms: p.audio_keyterms,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserDimensionIn {
    pub description: String,
    pub tags: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateOrganization {
    pub org_name: String,
    pub user_dimensions: Vec<UserDimensionIn>,
    pub logo: String,
    pub square_logo: String,
    pub favicon: String,
    pub default_user_preferences: Option<PreferencesIn>,
    pub azure_devops_team_name: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModifyOrganization {
    #[serde(default)]
    pub logo: Option<String>,
    #[serde(default)]
    pub square_logo: Option<String>,
    #[serde(default)]
    pub favicon: Option<String>,
    #[serde(default)]
    pub user_dimensions: Option<Vec<UserDimensionIn>>,
    #[serde(default)]
    pub default_user_preferences: Option<PreferencesIn>,
    /// Read-only fields of `GET /organization/`, accepted so that it can be sent back; ignored.
    #[serde(default, rename = "org_id")]
    pub _org_id: ReadOnly,
    #[serde(default, rename = "org_name")]
    pub _org_name: ReadOnly,
    #[serde(default, rename = "tenant_id")]
    pub _tenant_id: ReadOnly,
}

pub fn dimensions_json(d: &[UserDimensionIn]) -> Value {
    Value::Array(
        d.iter()
            .map(|d| serde_json::json!({ "description": d.description.trim(), "tags": d.tags }))
            .collect(),
    )
}

#[derive(Debug, Serialize)]
pub struct OrganizationOut {
    pub org_id: String,
    pub org_name: String,
    pub default_user_preferences: Option<Preferences>,
    pub tenant_id: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateApiKey {
    pub name: Option<String>,
    pub duration: String,
    #[serde(default = "default_key_role")]
    pub role_name: String,
}

fn default_key_role() -> String {
    roster_domain::permissions::DEFAULT_ADMIN_ROLE.into()
}

#[derive(Debug, Serialize)]
pub struct CreatedApiKey {
    pub api_key_id: String,
    pub api_key: String,
    pub expires_at: String,
}

#[derive(Debug, Serialize)]
pub struct Creator {
    pub user_id: String,
    pub org_id: String,
}

#[derive(Debug, Serialize)]
pub struct ApiKeyInstance {
    pub _id: String,
    pub name: Option<String>,
    pub org_id: String,
    pub created_at: String,
    pub updated_at: String,
    pub key_id: String,
    pub expires_at: String,
    pub creator: Creator,
    pub role_id: String,
}

impl From<model::ApiKey> for ApiKeyInstance {
    fn from(k: model::ApiKey) -> Self {
        Self {
            _id: k.doc_id,
            name: k.name,
            org_id: k.org_id,
            created_at: format_micros(k.created_at),
            updated_at: format_micros(k.updated_at),
            key_id: k.key_id,
            expires_at: format_micros(k.expires_at),
            creator: Creator {
                user_id: k.creator_user_id,
                org_id: k.creator_org_id,
            },
            role_id: k.role_id,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Invite {
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    #[serde(default)]
    pub login_link: Option<String>,
    pub role_name: String,
    #[serde(default)]
    pub nonsensitive_user_variables: BTreeMap<String, String>,
    #[serde(default)]
    pub sensitive_user_variables: BTreeMap<String, String>,
    #[serde(default)]
    pub user_preferences: Option<PreferencesIn>,
}

#[derive(Debug, Serialize)]
pub struct Invited {
    pub user_id: String,
    pub verify_link: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct UserStatsOut {
    pub num_conversations: i64,
    pub num_messages: i64,
    pub last_message_time: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct UserInstance {
    pub org_id: String,
    pub user_id: String,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub user_stats: UserStatsOut,
    pub role: String,
    pub preferences: Preferences,
    pub nonsensitive_variables: BTreeMap<String, String>,
    pub sensitive_variables: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enable_actions_access: Option<bool>,
}

impl UserInstance {
    /// `with_actions`: the listing shape carries `enable_actions_access`, the search shape does not.
    pub fn new(u: User, with_actions: bool) -> Self {
        Self {
            org_id: u.org_id.into(),
            user_id: u.id.into(),
            first_name: u.first_name,
            last_name: u.last_name,
            email: u.email,
            user_stats: UserStatsOut {
                num_conversations: u.stats.num_conversations,
                num_messages: u.stats.num_messages,
                last_message_time: u.stats.last_message_at.map(format_micros),
            },
            role: u.role_ids.first().cloned().unwrap_or_default(),
            preferences: u.preferences,
            nonsensitive_variables: u.nonsensitive_variables,
            sensitive_variables: u.sensitive_names,
            enable_actions_access: with_actions.then_some(u.enable_actions_access),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct UsersPage {
    pub users: Vec<UserInstance>,
    pub has_more: bool,
    pub continuation_token: Option<i64>,
}

#[derive(Debug, Serialize)]
pub struct SignedIn {
    pub id_token: String,
    pub expires_at: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignInWithEmail {
    pub redirect_link: String,
    pub email: String,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[schema(as = VerifyIn)]
#[serde(deny_unknown_fields)]
pub struct Verify {
    pub token: String,
    /// An invitation's first password, for an account that signs in with one.
    #[serde(default)]
    pub password: Option<String>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[schema(as = PasswordResetRequestIn)]
#[serde(deny_unknown_fields)]
pub struct PasswordResetRequest {
    pub email: String,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[schema(as = PasswordResetIn)]
#[serde(deny_unknown_fields)]
pub struct PasswordReset {
    pub token: String,
    pub password: String,
}

/// Amigo's tri-state: absent or `{}` keeps, `null` clears, a string sets.
fn tri<'de, D: Deserializer<'de>>(d: D) -> Result<Settable<String>, D::Error> {
    match Value::deserialize(d)? {
        Value::Null => Ok(Settable::Clear),
        Value::Object(m) if m.is_empty() => Ok(Settable::Keep),
        Value::String(s) => Ok(Settable::Set(s)),
        _ => Err(serde::de::Error::custom(
            "expected a string, null, or {} to leave the field unchanged",
        )),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateUser {
    #[serde(default)]
    pub first_name: Option<String>,
    #[serde(default)]
    pub last_name: Option<String>,
    #[serde(default)]
    pub enable_response_recommendation: Option<bool>,
    #[serde(default, deserialize_with = "tri")]
    pub preferred_language: Settable<String>,
    #[serde(default, deserialize_with = "tri")]
    pub timezone: Settable<String>,
    #[serde(default)]
    pub conversations_visible_to_admins: Option<bool>,
    #[serde(default)]
    pub user_model_visible_to_admins: Option<bool>,
    #[serde(default)]
    pub additional_context: Option<Vec<String>>,
    #[serde(default)]
    pub audio_keyterms: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Upsert {
    pub name: String,
    pub value: String,
    pub is_secret: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Delete {
    pub name: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModifyVariables {
    #[serde(default)]
    pub upserts: Vec<Upsert>,
    #[serde(default)]
    pub deletes: Vec<Delete>,
}

#[derive(Debug, Serialize)]
pub struct UserModelOut {
    pub content: String,
    pub insight_ids: Vec<String>,
    pub dimensions: Vec<model::Dimension>,
}

#[derive(Debug, Serialize)]
pub struct UserModels {
    pub user_models: Vec<UserModelOut>,
    pub additional_context: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct MemoryInstance {
    pub id: String,
    pub created_at: String,
    pub conversation_id: String,
    pub references: Vec<String>,
    pub content: String,
    pub context: String,
}

#[derive(Debug, Serialize)]
pub struct Memories {
    pub memories: Vec<MemoryInstance>,
    pub has_more: bool,
    pub continuation_token: Option<i64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateRole {
    pub role_name: String,
    pub description: String,
    pub permission_grants: Vec<Grant>,
    pub frontend_view: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModifyRole {
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub permission_grants: Option<Vec<Grant>>,
    #[serde(default)]
    pub frontend_view: Option<String>,
    /// Read-only fields of `GET /role/`, accepted so that a listed role can be sent back; the
    /// path names the role.
    #[serde(default, rename = "id")]
    pub _id: ReadOnly,
    #[serde(default, rename = "name")]
    pub _name: ReadOnly,
}

#[derive(Debug, Serialize)]
pub struct RoleId {
    pub role_id: String,
}

#[derive(Debug, Serialize)]
pub struct RoleInstance {
    pub id: String,
    pub name: String,
    pub description: String,
    pub frontend_view: String,
    pub permission_grants: Vec<Grant>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssignRole {
    pub user_id: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateGrant {
    pub user_id: String,
    pub duration: String,
    pub permission_grant: Grant,
    pub tags: BTreeMap<String, Option<String>>,
    pub justification: String,
}

#[derive(Debug, Serialize)]
pub struct CreatedGrant {
    pub temporary_permission_grant_id: String,
    pub expires_at: String,
}

#[derive(Debug, Serialize)]
pub struct GrantInstance {
    pub _id: String,
    pub org_id: String,
    pub created_at: String,
    pub updated_at: String,
    pub user_id: String,
    pub expires_at: String,
    pub permission_grant: Grant,
    pub justification: String,
    pub creator: Creator,
    pub tags: BTreeMap<String, Option<String>>,
}

impl From<TemporaryGrant> for GrantInstance {
    fn from(g: TemporaryGrant) -> Self {
        Self {
            _id: g.id,
            org_id: g.org_id,
            created_at: format_micros(g.created_at),
            updated_at: format_micros(g.updated_at),
            user_id: g.user_id,
            expires_at: format_micros(g.expires_at),
            permission_grant: g.grant,
            justification: g.justification,
            creator: Creator {
                user_id: g.creator_user_id,
                org_id: g.creator_org_id,
            },
            tags: g.tags,
        }
    }
}

#[derive(Debug, Serialize)]
pub struct Grants {
    pub temporary_permission_grants: Vec<GrantInstance>,
    pub has_more: bool,
    pub continuation_token: Option<i64>,
}

/// A user kept as a soft delete (Roster), with why it could not be erased.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct NotDeletable {
    pub not_deletable_reasons: Vec<String>,
}

/// The answer to a JSON `verify`: an access token for the user the link signed in.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct VerifiedOut {
    pub id_token: String,
    /// RFC 3339.
    pub expires_at: String,
    pub user_id: String,
    /// Where the link asked to send the user; null when it did not say.
    pub redirect_link: Option<String>,
}
