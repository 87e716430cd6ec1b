//! The event feed and webhooks' vocabulary: which committed changes are events, their dotted
//! types, and the payload each carries. The store writes one event per audit event whose action
//! is listed here (and one per row of a bulk insert, one per accepted invitation), in the
//! transaction of the change, so every path that changes something emits by construction.

use serde_json::{json, Value};

use crate::model::{ActorRef, AuditEvent, User};
use crate::types::{format_micros, Micros};

/// Every event type, as documented in docs/webhooks.md.
pub const EVENT_TYPES: &[&str] = &[
    "organization.created",
    "organization.updated",
    "organization.deleted",
    "user.created",
    "user.updated",
    "user.activated",
    "user.deactivated",
    "user.deleted",
    "user.role_assigned",
    "user.role_revoked",
    "invitation.created",
    "invitation.accepted",
    "role.created",
    "role.updated",
    "role.deleted",
    "api_key.created",
    "api_key.deleted",
    "grant.created",
];

/// The event type of an audit action, when the action is a change a product should hear of.
/// Sign-ins, token exchanges and requests for emails change nothing a product holds; password
/// changes are credentials and stay in the audit log only. `user.bulk_create` has no target:
/// its rows are told one by one by the store.
pub fn event_type(action: &str) -> Option<&'static str> {
    Some(match action {
        "organization.create" | "organization.bootstrap" => "organization.created",
        "organization.modify" => "organization.updated",
        "organization.delete" => "organization.deleted",
        "user.create" => "user.created",
        "user.update"
        | "user.variables"
        | "user.privacy_override"
        | "identity.rename"
        | "identity.email_changed"
        | "ingest.user_stats" => "user.updated",
        "user.activate" => "user.activated",
        "user.deactivate" => "user.deactivated",
        "user.delete" => "user.deleted",
        "role.assign" | "user.roles_replaced" | "user.bulk_grant" => "user.role_assigned",
        "user.bulk_revoke" | "user.role_revoke" => "user.role_revoked",
        "user.invite" => "invitation.created",
        "role.create" => "role.created",
        "role.modify" => "role.updated",
        "role.delete" => "role.deleted",
        "api_key.create" => "api_key.created",
        "api_key.delete" => "api_key.deleted",
        "grant.create" => "grant.created",
        _ => return None,
    })
}

/// What the store needs to write one event; the user, when there is one, is read in the same
/// transaction so that the payload shows it as committed.
#[derive(Debug, Clone, PartialEq)]
pub struct EventSeed {
    pub org_id: String,
    /// The event's id, reused as every delivery's `webhook-id` (`msg_<id>`).
    pub id: String,
    pub event_type: &'static str,
    pub actor: ActorRef,
    pub request_id: Option<String>,
    pub target_user_id: Option<String>,
    /// The audit event's details (they never hold a secret: the audit log shows them).
    pub details: Value,
    pub occurred_at: Micros,
}

impl EventSeed {
    /// The event an audit event stands for, if any. The event id is the audit event's, so the
    /// two records name each other.
    pub fn from_audit(a: &AuditEvent) -> Option<Self> {
        let event_type = event_type(&a.action)?;
        if a.org_id.is_empty() {
            return None;
        }
        Some(Self {
            org_id: a.org_id.clone(),
            id: a.id.clone(),
            event_type,
            actor: a.actor.clone(),
            request_id: a.request_id.clone(),
            target_user_id: a.target_user_id.clone(),
            details: a.details.clone(),
            occurred_at: a.created_at,
        })
    }

    /// An event of the change an audit event records, about one user the store alone knows
    /// of (a row a bulk insert took, the user an invitation token names).
    pub fn about(a: &AuditEvent, event_type: &'static str, user_id: &str) -> Self {
        Self {
            org_id: a.org_id.clone(),
            id: crate::types::new_uuid7(),
            event_type,
            actor: a.actor.clone(),
            request_id: a.request_id.clone(),
            target_user_id: Some(user_id.to_owned()),
            details: json!({}),
            occurred_at: a.created_at,
        }
    }

    /// The payload: the `data` of a webhook body and of a feed entry.
    pub fn data(&self, user: Option<&User>) -> Value {
        let mut data = json!({
            "organization": { "id": self.org_id },
            "actor": self.actor,
            "request_id": self.request_id,
            "details": match &self.details { Value::Null => json!({}), d => d.clone() },
        });
        if let Some(id) = &self.target_user_id {
            data["user_id"] = json!(id);
        }
        if let Some(u) = user {
            data["user"] = user_resource(u);
        }
        data
    }
}

/// A user as events show it: profile, status and roles; never a credential, never a sensitive
/// variable's value (only non-sensitive variables, as every surface returns them).
pub fn user_resource(u: &User) -> Value {
    json!({
        "id": u.id,
        "email": u.email,
        "first_name": u.first_name,
        "last_name": u.last_name,
        "status": u.status.as_str(),
        "is_admin": u.is_admin,
        "role_ids": u.role_ids,
        "preferences": u.preferences,
        "variables": u.nonsensitive_variables,
        "created_at": format_micros(u.created_at),
        "updated_at": format_micros(u.updated_at),
    })
}

/// An event as stored and served by the feed.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub org_id: String,
    /// Position in the organization's commit order, from 1.
    pub seq: i64,
    pub id: String,
    pub event_type: String,
    pub data: Value,
    pub occurred_at: Micros,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_mapped_action_has_a_documented_type() {
        for action in [
            "organization.create",
            "user.create",
            "user.update",
            "user.delete",
            "user.deactivate",
            "role.assign",
            "user.invite",
            "api_key.create",
            "user.bulk_revoke",
        ] {
            let t = event_type(action).expect(action);
            assert!(EVENT_TYPES.contains(&t), "{t}");
        }
        for silent in [
            "user.sign_in.password",
            "user.token_exchange",
            "user.bulk_create",
        ] {
            assert_eq!(event_type(silent), None, "{silent}");
        }
    }
}
