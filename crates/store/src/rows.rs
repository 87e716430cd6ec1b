//! Column lists and row decoders shared by both drivers (macros, so each driver's row type
//! fits). A leaf module: it names no other store module.

pub(crate) const ORG_COLS: &str =
    "id, uuid, name, short_name, is_platform, tenant_id, default_preferences, \
    user_dimensions, branding, created_at, updated_at";

pub(crate) const ROLE_COLS: &str = "org_id, id, name, description, frontend_view, grants, is_admin, builtin, created_at, updated_at, external_id";

pub(crate) const USER_COLS: &str = "org_id, id, identity_id, connection, email, first_name, last_name, status, is_admin, preferences, \
    additional_context, nonsensitive_variables, sensitive_names, company, image, enable_actions_access, \
    num_conversations, num_messages, last_message_at, created_at, updated_at, external_id, user_name";

pub(crate) const KEY_COLS: &str =
    "org_id, key_id, doc_id, name, secret_hash, role_id, creator_user_id, creator_org_id, \
    expires_at, created_at, updated_at";

pub(crate) const GRANT_COLS: &str =
    "org_id, id, user_id, permission_name, conditions, justification, tags, \
    creator_user_id, creator_org_id, expires_at, created_at, updated_at";

pub(crate) const TOKEN_COLS: &str =
    "token_hash, org_id, user_id, identity_id, purpose, payload, expires_at, created_at, identity_epoch";

/// Reads one column, mapping decode errors to the store's error.
macro_rules! get {
    ($r:expr, $c:literal) => {
        sqlx::Row::try_get($r, $c).map_err($crate::err)?
    };
}

/// Reads a JSON text column into any deserializable type.
macro_rules! get_json {
    ($r:expr, $c:literal) => {{
        let s: String = sqlx::Row::try_get($r, $c).map_err($crate::err)?;
        serde_json::from_str(&s).map_err($crate::json_err)?
    }};
}

/// A stored id column read as its typed id (`OrgId`, `UserId`).
macro_rules! get_id {
    ($r:expr, $c:literal) => {{
        let id: String = get!($r, $c);
        id.into()
    }};
}

macro_rules! org_from {
    ($r:expr) => {
        roster_domain::model::Organization {
            id: get_id!($r, "id"),
            uuid: get!($r, "uuid"),
            name: get!($r, "name"),
            short_name: get!($r, "short_name"),
            is_platform: get!($r, "is_platform"),
            tenant_id: get!($r, "tenant_id"),
            default_preferences: get_json!($r, "default_preferences"),
            user_dimensions: get_json!($r, "user_dimensions"),
            branding: get_json!($r, "branding"),
            created_at: get!($r, "created_at"),
            updated_at: get!($r, "updated_at"),
        }
    };
}

macro_rules! role_from {
    ($r:expr) => {
        roster_domain::model::Role {
            org_id: get!($r, "org_id"),
            id: get!($r, "id"),
            name: get!($r, "name"),
            description: get!($r, "description"),
            frontend_view: get!($r, "frontend_view"),
            grants: get_json!($r, "grants"),
            is_admin: get!($r, "is_admin"),
            builtin: get!($r, "builtin"),
            external_id: get!($r, "external_id"),
            created_at: get!($r, "created_at"),
            updated_at: get!($r, "updated_at"),
        }
    };
}

macro_rules! user_from {
    ($r:expr) => {{
        let status: String = get!($r, "status");
        let connection: String = get!($r, "connection");
        let last: i64 = get!($r, "last_message_at");
        roster_domain::model::User {
            org_id: get_id!($r, "org_id"),
            id: get_id!($r, "id"),
            identity_id: get!($r, "identity_id"),
            connection: roster_domain::model::Connection::parse(&connection)
                .unwrap_or(roster_domain::model::Connection::Password),
            email: get!($r, "email"),
            first_name: get!($r, "first_name"),
            last_name: get!($r, "last_name"),
            status: roster_domain::model::UserStatus::parse(&status),
            is_admin: get!($r, "is_admin"),
            preferences: get_json!($r, "preferences"),
            additional_context: get_json!($r, "additional_context"),
            nonsensitive_variables: get_json!($r, "nonsensitive_variables"),
            sensitive_names: get_json!($r, "sensitive_names"),
            company: get!($r, "company"),
            image: get!($r, "image"),
            enable_actions_access: get!($r, "enable_actions_access"),
            stats: roster_domain::model::UserStats {
                num_conversations: get!($r, "num_conversations"),
                num_messages: get!($r, "num_messages"),
                last_message_at: (last != 0).then_some(last),
            },
            role_ids: Vec::new(),
            external_id: get!($r, "external_id"),
            user_name: get!($r, "user_name"),
            created_at: get!($r, "created_at"),
            updated_at: get!($r, "updated_at"),
        }
    }};
}

macro_rules! key_from {
    ($r:expr) => {
        roster_domain::model::ApiKey {
            org_id: get!($r, "org_id"),
            key_id: get!($r, "key_id"),
            doc_id: get!($r, "doc_id"),
            name: get!($r, "name"),
            secret_hash: get!($r, "secret_hash"),
            role_id: get!($r, "role_id"),
            creator_user_id: get!($r, "creator_user_id"),
            creator_org_id: get!($r, "creator_org_id"),
            expires_at: get!($r, "expires_at"),
            created_at: get!($r, "created_at"),
            updated_at: get!($r, "updated_at"),
        }
    };
}

macro_rules! grant_from {
    ($r:expr) => {
        roster_domain::model::TemporaryGrant {
            org_id: get!($r, "org_id"),
            id: get!($r, "id"),
            user_id: get!($r, "user_id"),
            grant: roster_domain::model::Grant {
                permission_name: get!($r, "permission_name"),
                conditions: get_json!($r, "conditions"),
            },
            justification: get!($r, "justification"),
            tags: get_json!($r, "tags"),
            creator_user_id: get!($r, "creator_user_id"),
            creator_org_id: get!($r, "creator_org_id"),
            expires_at: get!($r, "expires_at"),
            created_at: get!($r, "created_at"),
            updated_at: get!($r, "updated_at"),
        }
    };
}

macro_rules! token_from {
    ($r:expr) => {
        roster_domain::model::OneTimeToken {
            token_hash: get!($r, "token_hash"),
            org_id: get!($r, "org_id"),
            user_id: get!($r, "user_id"),
            identity_id: get!($r, "identity_id"),
            purpose: {
                let s: String = get!($r, "purpose");
                roster_domain::model::TokenPurpose::parse(&s).ok_or_else(|| {
                    roster_domain::store::StoreError::Other(anyhow::anyhow!(
                        "unknown token purpose {s:?}"
                    ))
                })?
            },
            payload: get_json!($r, "payload"),
            expires_at: get!($r, "expires_at"),
            created_at: get!($r, "created_at"),
            identity_epoch: get!($r, "identity_epoch"),
        }
    };
}

pub(crate) use {
    get, get_id, get_json, grant_from, key_from, org_from, role_from, token_from, user_from,
};

pub(crate) const AUDIT_COLS: &str = "org_id, id, action, actor_kind, actor_user_id, actor_org_id, \
    target_user_id, request_id, details, created_at";

/// The actor kind of a stored audit event, as the model's `&'static str`.
pub(crate) fn actor_kind(kind: &str) -> &'static str {
    match kind {
        "user" => "user",
        "api_key" => "api_key",
        "directory_token" => "directory_token",
        "service" => "service",
        "system" => "system",
        _ => "anonymous",
    }
}

macro_rules! audit_from {
    ($r:expr) => {{
        let kind: String = get!($r, "actor_kind");
        roster_domain::model::AuditEvent {
            org_id: get!($r, "org_id"),
            id: get!($r, "id"),
            action: get!($r, "action"),
            actor: roster_domain::model::ActorRef {
                kind: $crate::rows::actor_kind(&kind),
                user_id: get!($r, "actor_user_id"),
                org_id: get!($r, "actor_org_id"),
            },
            target_user_id: get!($r, "target_user_id"),
            request_id: get!($r, "request_id"),
            details: get_json!($r, "details"),
            created_at: get!($r, "created_at"),
        }
    }};
}

macro_rules! outbox_from {
    ($r:expr) => {
        roster_domain::model::OutboxMessage {
            org_id: get!($r, "org_id"),
            id: get!($r, "id"),
            kind: get!($r, "kind"),
            recipient: get!($r, "recipient"),
            language: get!($r, "language"),
            payload: get_json!($r, "payload"),
            status: get!($r, "status"),
            attempts: get!($r, "attempts"),
            created_at: get!($r, "created_at"),
        }
    };
}

pub(crate) const OUTBOX_COLS: &str =
    "org_id, id, kind, recipient, language, payload, status, attempts, created_at";

pub(crate) use {audit_from, outbox_from};
