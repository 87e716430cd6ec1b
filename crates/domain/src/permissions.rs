//! Permission names, the built-in roles, grant evaluation and the outranking rule.
//!
//! Role A outranks role B when A's grants are a strict superset of B's. A caller can never grant,
//! invite into, or sign in as a role it does not outrank.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::model::{Condition, Grant};

/// Every permission name Roster checks; `docs/permissions.md` lists what each allows.
pub mod perm {
    pub const USER_GET_INFO: &str = "User:GetUserInfo";
    pub const USER_INVITE: &str = "User:InviteUser";
    pub const USER_UPDATE: &str = "User:UpdateUserInfo";
    pub const USER_DELETE: &str = "User:DeleteUser";
    pub const USER_GET_MODEL: &str = "User:GetUserModel";
    pub const CONVERSATION_GET_MESSAGE: &str = "Conversation:GetMessage";
    pub const ORG_GET_DETAILS: &str = "Organization:GetOrganizationDetails";
    pub const ORG_MODIFY: &str = "Organization:ModifyOrganization";
    pub const ORG_DELETE: &str = "Organization:DeleteOrganization";
    pub const ORG_CREATE: &str = "Organization:CreateOrganization";
    pub const API_KEY_CREATE: &str = "Organization:CreateAPIKey";
    pub const API_KEY_GET: &str = "Organization:GetAPIKey";
    pub const API_KEY_DELETE: &str = "Organization:DeleteAPIKey";
    pub const ROLE_CREATE: &str = "Role:CreateRole";
    pub const ROLE_GET: &str = "Role:GetRole";
    pub const ROLE_MODIFY: &str = "Role:ModifyRole";
    pub const ROLE_ASSIGN: &str = "Role:AssignRole";
    pub const TEMP_GRANT_CREATE: &str = "Role:CreateTemporaryPermissionGrant";
    pub const TEMP_GRANT_GET: &str = "Role:GetTemporaryPermissionGrant";
    pub const AUDIT_GET: &str = "Audit:GetAuditEvents";
    pub const PLATFORM_ADMINISTER: &str = "Platform:AdministerOrganizations";

    /// Permissions whose grants may be held by roles and temporary grants.
    pub const ALL: &[&str] = &[
        USER_GET_INFO,
        USER_INVITE,
        USER_UPDATE,
        USER_DELETE,
        USER_GET_MODEL,
        CONVERSATION_GET_MESSAGE,
        ORG_GET_DETAILS,
        ORG_MODIFY,
        ORG_DELETE,
        ORG_CREATE,
        API_KEY_CREATE,
        API_KEY_GET,
        API_KEY_DELETE,
        ROLE_CREATE,
        ROLE_GET,
        ROLE_MODIFY,
        ROLE_ASSIGN,
        TEMP_GRANT_CREATE,
        TEMP_GRANT_GET,
        AUDIT_GET,
        PLATFORM_ADMINISTER,
    ];
}

/// Attributes that conditions may test.
pub const CONDITION_ATTRIBUTES: &[&str] = &["is_self", "user_id", "role_name"];

pub const DEFAULT_USER_ROLE: &str = "DefaultUserRole";
pub const DEFAULT_ADMIN_ROLE: &str = "DefaultAdministratorRole";
pub const DEFAULT_SUPER_ADMIN_ROLE: &str = "DefaultSuperAdministratorRole";

/// A built-in role as created with each organization.
pub struct BuiltinRole {
    pub name: &'static str,
    pub description: &'static str,
    pub frontend_view: &'static str,
    pub grants: Vec<Grant>,
}

fn self_service() -> Vec<Grant> {
    vec![
        Grant::on_self(perm::USER_GET_INFO),
        Grant::on_self(perm::USER_UPDATE),
        Grant::on_self(perm::USER_GET_MODEL),
        Grant::on_self(perm::CONVERSATION_GET_MESSAGE),
        Grant::of(perm::ROLE_GET),
    ]
}

fn with(mut base: Vec<Grant>, extra: &[&str]) -> Vec<Grant> {
    base.extend(extra.iter().map(|p| Grant::of(p)));
    base
}

const ADMIN_PERMISSIONS: &[&str] = &[
    perm::USER_GET_INFO,
    perm::USER_INVITE,
    perm::USER_UPDATE,
    perm::USER_DELETE,
    perm::USER_GET_MODEL,
    perm::CONVERSATION_GET_MESSAGE,
    perm::ORG_GET_DETAILS,
    perm::ORG_MODIFY,
    perm::API_KEY_CREATE,
    perm::API_KEY_GET,
    perm::API_KEY_DELETE,
    perm::ROLE_CREATE,
    perm::ROLE_MODIFY,
    perm::ROLE_ASSIGN,
    perm::TEMP_GRANT_CREATE,
    perm::TEMP_GRANT_GET,
    perm::AUDIT_GET,
];

/// The roles every organization starts with. The platform organization's administrators also
/// administer other organizations.
pub fn builtin_roles(is_platform: bool) -> Vec<BuiltinRole> {
    let platform: &[&str] = if is_platform {
        &[perm::PLATFORM_ADMINISTER, perm::ORG_CREATE]
    } else {
        &[]
    };
    let admin = with(with(self_service(), ADMIN_PERMISSIONS), platform);
    let super_admin = with(admin.clone(), &[perm::ORG_DELETE]);
    let viewer = with(self_service(), &[perm::ORG_GET_DETAILS]);
    vec![
        BuiltinRole {
            name: DEFAULT_USER_ROLE,
            description: "A regular user: reads and updates their own profile.",
            frontend_view: "client",
            grants: self_service(),
        },
        BuiltinRole {
            name: DEFAULT_ADMIN_ROLE,
            description: "Administers the organization's users, roles and API keys.",
            frontend_view: "admin",
            grants: admin.clone(),
        },
        BuiltinRole {
            name: DEFAULT_SUPER_ADMIN_ROLE,
            description: "Everything an administrator can do, and deleting the organization. Outranks administrators.",
            frontend_view: "admin",
            grants: super_admin,
        },
        // org-user-management roles.
        BuiltinRole {
            name: "admin",
            description: "org-user-management administrator.",
            frontend_view: "admin",
            grants: admin.clone(),
        },
        BuiltinRole {
            name: "developer",
            description: "org-user-management developer: reads users and user models.",
            frontend_view: "client",
            grants: with(viewer.clone(), &[perm::USER_GET_INFO, perm::USER_GET_MODEL]),
        },
        BuiltinRole {
            name: "analyst",
            description: "org-user-management analyst: reads users.",
            frontend_view: "client",
            grants: with(viewer.clone(), &[perm::USER_GET_INFO]),
        },
        // eva roles; all but ADMIN are held per environment.
        BuiltinRole {
            name: "ADMIN",
            description: "eva administrator: manages users, environments and bots.",
            frontend_view: "admin",
            grants: admin,
        },
        BuiltinRole {
            name: "SUPERVISOR",
            description: "eva supervisor (Manager) of an environment.",
            frontend_view: "client",
            grants: with(viewer.clone(), &[perm::USER_GET_INFO, perm::USER_GET_MODEL, perm::CONVERSATION_GET_MESSAGE]),
        },
        BuiltinRole {
            name: "EDITOR",
            description: "eva editor of an environment's bots.",
            frontend_view: "client",
            grants: with(viewer.clone(), &[perm::USER_GET_INFO]),
        },
        BuiltinRole {
            name: "VIEWER",
            description: "eva viewer of an environment's bots.",
            frontend_view: "client",
            grants: viewer,
        },
    ]
}

/// An administrator, for the last-administrator rule: unconditionally invites, deletes and assigns.
pub fn is_admin_grants(grants: &[Grant]) -> bool {
    [perm::USER_INVITE, perm::USER_DELETE, perm::ROLE_ASSIGN]
        .iter()
        .all(|p| {
            grants
                .iter()
                .any(|g| g.permission_name == *p && g.conditions.is_empty())
        })
}

fn canonical(grants: &[Grant]) -> BTreeSet<String> {
    grants
        .iter()
        .map(|g| serde_json::to_string(g).unwrap_or_default())
        .collect()
}

/// A's grants are a strict superset of B's.
pub fn outranks(a: &[Grant], b: &[Grant]) -> bool {
    let (a, b) = (canonical(a), canonical(b));
    a.len() > b.len() && b.is_subset(&a)
}

/// A holds every grant of B (an equal role included): whoever holds A gives nobody a
/// permission it lacks by granting B.
pub fn covers(a: &[Grant], b: &[Grant]) -> bool {
    canonical(b).is_subset(&canonical(a))
}

/// The rank rule of eva and org-user-management, where administrators appoint and remove
/// administrators: an administrator needs only to cover B, anyone else must outrank it. Never
/// an escalation: either way B holds nothing A lacks.
pub fn appoints(a: &[Grant], b: &[Grant]) -> bool {
    outranks(a, b) || (is_admin_grants(a) && covers(a, b))
}

/// The request attributes that conditions are evaluated against.
#[derive(Debug, Default, Clone)]
pub struct Target<'a> {
    pub user_id: Option<&'a str>,
    pub is_self: bool,
    pub role_names: &'a [String],
}

fn matches(cond: &Condition, actual: &[Value]) -> bool {
    match cond {
        Condition::Equals { value } => actual.iter().any(|a| a == value),
        Condition::In { values } => actual.iter().any(|a| values.contains(a)),
        Condition::NotEquals { value } => !actual.iter().any(|a| a == value),
    }
}

fn attribute(target: &Target<'_>, name: &str) -> Vec<Value> {
    match name {
        "is_self" => vec![Value::Bool(target.is_self)],
        "user_id" => target
            .user_id
            .map(|u| Value::String(u.to_owned()))
            .into_iter()
            .collect(),
        "role_name" => target
            .role_names
            .iter()
            .map(|r| Value::String(r.clone()))
            .collect(),
        _ => Vec::new(),
    }
}

/// Whether one grant applies to the target: every condition holds. Unknown attributes never hold.
pub fn grant_applies(grant: &Grant, permission: &str, target: &Target<'_>) -> bool {
    grant.permission_name == permission
        && grant
            .conditions
            .iter()
            .all(|(attr, cond)| matches(cond, &attribute(target, attr)))
}

pub fn allows(grants: &[Grant], permission: &str, target: &Target<'_>) -> bool {
    grants.iter().any(|g| grant_applies(g, permission, target))
}

/// Validates grants written by a caller: known permission names and condition attributes.
pub fn validate_grant(g: &Grant) -> Result<(), String> {
    if !perm::ALL.contains(&g.permission_name.as_str()) {
        return Err(format!("unknown permission name '{}'", g.permission_name));
    }
    for attr in g.conditions.keys() {
        if !CONDITION_ATTRIBUTES.contains(&attr.as_str()) {
            return Err(format!(
                "unknown condition attribute '{attr}'; supported: {}",
                CONDITION_ATTRIBUTES.join(", ")
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn role(name: &str) -> Vec<Grant> {
        builtin_roles(false)
            .into_iter()
            .find(|r| r.name == name)
            .map(|r| r.grants)
            .unwrap_or_default()
    }

    #[test]
    fn builtin_ranks() {
        let (user, admin, sup) = (
            role(DEFAULT_USER_ROLE),
            role(DEFAULT_ADMIN_ROLE),
            role(DEFAULT_SUPER_ADMIN_ROLE),
        );
        assert!(outranks(&admin, &user));
        assert!(outranks(&sup, &admin));
        assert!(!outranks(&admin, &admin), "a role never outranks itself");
        assert!(!outranks(&user, &admin));
        assert!(outranks(&role("developer"), &role("analyst")));
        assert!(is_admin_grants(&admin) && !is_admin_grants(&user));
    }

    #[test]
    fn administrators_appoint_their_equals_and_nobody_else_does() {
        let (user, admin, sup) = (
            role(DEFAULT_USER_ROLE),
            role(DEFAULT_ADMIN_ROLE),
            role(DEFAULT_SUPER_ADMIN_ROLE),
        );
        assert!(appoints(&admin, &role("ADMIN")) && appoints(&admin, &role("admin")));
        assert!(appoints(&admin, &user));
        assert!(
            !appoints(&admin, &sup),
            "never a role with a permission A lacks"
        );
        let supervisor = role("SUPERVISOR");
        assert!(
            !appoints(&supervisor, &supervisor),
            "equal rank is for administrators only"
        );
        assert!(appoints(&supervisor, &role("VIEWER")));
    }

    #[test]
    fn conditions() {
        let g = Grant::on_self(perm::USER_GET_INFO);
        let me = Target {
            user_id: Some("u1"),
            is_self: true,
            role_names: &[],
        };
        let other = Target {
            user_id: Some("u2"),
            is_self: false,
            role_names: &[],
        };
        assert!(grant_applies(&g, perm::USER_GET_INFO, &me));
        assert!(!grant_applies(&g, perm::USER_GET_INFO, &other));
        assert!(!grant_applies(&g, perm::USER_DELETE, &me));
    }
}
