//! Who is calling and what they may do in the organization they address.

use crate::error::{Error, Result};
use crate::model::{Grant, Organization, Role, User};
use crate::permissions::{self, perm, Target};
use crate::store::PrincipalRecord;
use crate::types::OrgId;
use crate::types::UserId;

/// Who made a record that names its creator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Creator {
    /// A principal of an organization: a member (or, for a directory, its token's id).
    User { org_id: OrgId, user_id: UserId },
    /// Roster itself: the operator, or a caller acting with no principal.
    System,
}

impl Creator {
    /// What records store for a creator with no principal, as its user id and its org.
    const SYSTEM: &'static str = "system";

    /// The stored form, `(creator_user_id, creator_org_id)`: the user's ids, or `system` in
    /// both for Roster itself (as records always stored it).
    pub fn stored(self) -> (String, String) {
        match self {
            Self::User { org_id, user_id } => (user_id.into(), org_id.into()),
            Self::System => (Self::SYSTEM.into(), Self::SYSTEM.into()),
        }
    }
}

#[derive(Debug, Clone)]
pub enum Actor {
    Anonymous,
    /// A user authenticated by a Roster JWT.
    User(PrincipalRecord),
    /// An organization API key (only while signing in with it).
    ApiKey {
        org_id: String,
        key_id: String,
    },
    /// An organization's directory, with one of its directory tokens: it acts with the grants
    /// of the token's role (`principal.user_id` is the token's id, so it is nobody's self).
    Directory {
        token_id: String,
        principal: PrincipalRecord,
    },
    /// The conversation platform, through the ingestion API.
    Service,
    /// The operator, through the CLI.
    System,
}

#[derive(Debug, Clone)]
pub struct Context {
    pub request_id: String,
    pub actor: Actor,
    /// Amigo's optional header naming the organization that issued the token.
    pub issuer_org: Option<String>,
    /// The session began with the account's password or an emailed link: the caller is the
    /// person, and may change what belongs to the account itself (credentials, login email).
    pub owner_session: bool,
    /// The way in when it is not an API (`console`): recorded in every audit event's details.
    pub channel: Option<&'static str>,
}

impl Context {
    pub fn new(request_id: impl Into<String>, actor: Actor) -> Self {
        Self {
            request_id: request_id.into(),
            actor,
            issuer_org: None,
            owner_session: false,
            channel: None,
        }
    }

    pub fn system() -> Self {
        Self::new(crate::types::new_uuid7(), Actor::System)
    }

    /// Refuses changes to the account itself from sessions that do not prove ownership.
    pub fn require_owner_session(&self) -> Result<()> {
        if self.owner_session {
            Ok(())
        } else {
            Err(Error::forbidden(
                "changing the account itself needs a session started with its password or a link emailed to it",
            ))
        }
    }

    pub fn principal(&self) -> Option<&PrincipalRecord> {
        match &self.actor {
            Actor::User(p) => Some(p),
            _ => None,
        }
    }

    /// What the caller may do in `org`. Credentials of another organization get 403 unless they
    /// belong to a platform administrator who names the issuing organization in the header.
    pub fn access(&self, org: &Organization) -> Result<Access<'_>> {
        match &self.actor {
            Actor::User(p) if p.org_id == org.id => Ok(Access {
                principal: Some(p),
                platform: false,
            }),
            Actor::User(p) => {
                let platform_admin = p.org_is_platform
                    && permissions::allows(
                        &p.grants,
                        perm::PLATFORM_ADMINISTER,
                        &Target::default(),
                    );
                if platform_admin && self.issuer_org.as_deref() == Some(p.org_id.as_str()) {
                    Ok(Access {
                        principal: Some(p),
                        platform: true,
                    })
                } else {
                    Err(Error::forbidden(
                        "the credentials were issued by another organization",
                    ))
                }
            }
            Actor::Directory { principal: p, .. } if p.org_id == org.id => Ok(Access {
                principal: Some(p),
                platform: false,
            }),
            Actor::Directory { .. } => Err(Error::forbidden(
                "the directory token belongs to another organization",
            )),
            Actor::System => Ok(Access {
                principal: None,
                platform: true,
            }),
            Actor::Anonymous | Actor::ApiKey { .. } | Actor::Service => Err(Error::Unauthenticated),
        }
    }
}

/// The caller's rights in one organization.
#[derive(Debug, Clone, Copy)]
pub struct Access<'a> {
    principal: Option<&'a PrincipalRecord>,
    /// A platform administrator or the operator: every permission, outranks every role.
    platform: bool,
}

impl<'a> Access<'a> {
    pub fn user_id(&self) -> Option<&'a str> {
        self.principal
            .filter(|_| !self.platform)
            .map(|p| p.user_id.as_str())
    }

    pub fn is_platform(&self) -> bool {
        self.platform
    }

    /// Who the caller is as the creator of a record (an API key, a directory token, a lent
    /// grant).
    pub fn creator(&self) -> Creator {
        match self.principal {
            Some(p) => Creator::User {
                org_id: OrgId::from(&p.org_id),
                user_id: UserId::from(&p.user_id),
            },
            None => Creator::System,
        }
    }

    fn all_grants(&self) -> impl Iterator<Item = &'a Grant> {
        self.principal
            .into_iter()
            .flat_map(|p| p.grants.iter().chain(p.temporary_grants.iter()))
    }

    pub fn can(&self, permission: &str, target: &Target<'_>) -> bool {
        self.platform
            || self
                .all_grants()
                .any(|g| permissions::grant_applies(g, permission, target))
    }

    /// Permission on the organization itself (no target user).
    pub fn can_org(&self, permission: &str) -> bool {
        self.can(permission, &Target::default())
    }

    pub fn require_org(&self, permission: &str) -> Result<()> {
        if self.can_org(permission) {
            Ok(())
        } else {
            Err(Error::forbidden(format!(
                "missing required permission {permission}"
            )))
        }
    }

    pub fn target<'u>(&self, user: &'u User, role_names: &'u [String]) -> Target<'u> {
        Target {
            user_id: Some(&user.id),
            is_self: self.user_id() == Some(user.id.as_str()),
            role_names,
        }
    }

    pub fn require_on(&self, permission: &str, target: &Target<'_>) -> Result<()> {
        if self.can(permission, target) {
            Ok(())
        } else {
            Err(Error::forbidden(format!(
                "missing required permission {permission} on this user"
            )))
        }
    }

    /// Whether the caller's roles (not temporary grants) hold `grant` itself or the same
    /// permission unconditionally: only such grants may be lent to others.
    pub fn holds_grant(&self, grant: &Grant) -> bool {
        self.platform
            || self.principal.is_some_and(|p| {
                p.grants.iter().any(|h| {
                    h == grant
                        || (h.permission_name == grant.permission_name && h.conditions.is_empty())
                })
            })
    }

    /// Role grants only: temporary grants never count when ranks are compared.
    pub fn outranks(&self, grants: &[Grant]) -> bool {
        self.platform
            || self
                .principal
                .is_some_and(|p| permissions::outranks(&p.grants, grants))
    }

    pub fn require_outranks(&self, grants: &[Grant], what: &str) -> Result<()> {
        if self.outranks(grants) {
            Ok(())
        } else {
            Err(Error::forbidden(format!(
                "the authenticated user does not outrank {what}"
            )))
        }
    }

    /// The eva and org-user-management rule ([`permissions::appoints`]): administrators may
    /// grant and manage their equals. Role grants only, as for [`Access::outranks`].
    pub fn appoints(&self, grants: &[Grant]) -> bool {
        self.platform
            || self
                .principal
                .is_some_and(|p| permissions::appoints(&p.grants, grants))
    }

    pub fn require_appoints(&self, grants: &[Grant], what: &str) -> Result<()> {
        if self.appoints(grants) {
            Ok(())
        } else {
            Err(Error::forbidden(format!(
                "the authenticated user does not outrank {what}"
            )))
        }
    }

    /// [`Access::require_outranks`] or [`Access::require_appoints`], as `rank` says.
    pub fn require_rank(&self, rank: Rank, grants: &[Grant], what: &str) -> Result<()> {
        match rank {
            Rank::Outrank => self.require_outranks(grants, what),
            Rank::Appoint => self.require_appoints(grants, what),
        }
    }
}

/// Which rank rule an operation applies (docs/permissions.md, "Outranking").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rank {
    /// A strict superset of grants: Amigo, API keys, roles.
    Outrank,
    /// Equal grants suffice for administrators: eva and org-user-management.
    Appoint,
}

/// The union of the grants of the given roles.
pub fn grants_of(roles: &[Role], role_ids: &[String]) -> Vec<Grant> {
    let mut out: Vec<Grant> = Vec::new();
    for r in roles.iter().filter(|r| role_ids.contains(&r.id)) {
        for g in &r.grants {
            if !out.contains(g) {
                out.push(g.clone());
            }
        }
    }
    out
}

pub fn names_of(roles: &[Role], role_ids: &[String]) -> Vec<String> {
    roles
        .iter()
        .filter(|r| role_ids.contains(&r.id))
        .map(|r| r.name.clone())
        .collect()
}

impl Access<'_> {
    /// Which users the caller may see with `permission`, as a filter a listing can apply.
    /// Grants whose conditions cannot be expressed as a filter are left out (never widened).
    pub fn visibility(&self, permission: &str, roles: &[Role]) -> crate::paging::Visibility {
        use crate::model::Condition;
        use crate::paging::Visibility;
        use serde_json::Value;
        if self.platform {
            return Visibility::All;
        }
        let (mut user_ids, mut role_ids) = (Vec::new(), Vec::new());
        let values = |c: &Condition| -> Vec<String> {
            match c {
                Condition::Equals {
                    value: Value::String(s),
                } => vec![s.clone()],
                Condition::In { values } => values
                    .iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect(),
                _ => Vec::new(),
            }
        };
        for g in self
            .all_grants()
            .filter(|g| g.permission_name == permission)
        {
            let mut conds = g.conditions.iter();
            match (conds.next(), conds.next()) {
                (None, _) => return Visibility::All,
                (Some((attr, cond)), None) => match attr.as_str() {
                    "is_self"
                        if *cond
                            == (Condition::Equals {
                                value: Value::Bool(true),
                            }) =>
                    {
                        user_ids.extend(self.user_id().map(str::to_owned))
                    }
                    "user_id" => user_ids.extend(values(cond)),
                    "role_name" => {
                        let names = values(cond);
                        role_ids.extend(
                            roles
                                .iter()
                                .filter(|r| names.contains(&r.name))
                                .map(|r| r.id.clone()),
                        );
                    }
                    _ => {}
                },
                _ => {}
            }
        }
        Visibility::Only { user_ids, role_ids }
    }
}

impl super::Core {
    /// Turns verified token claims into the caller. The user must still exist and not be
    /// deactivated, and the token (`issued_at`, a session stamp) must be newer than the
    /// identity's last credential reset:
    /// this runs on every request, so deletion and deactivation take effect at once (the cache
    /// serves a principal only until this node's next write, see `cache.rs`).
    pub async fn authenticate(
        &self,
        org_id: &OrgId,
        user_id: &UserId,
        issued_at: crate::types::Micros,
    ) -> Result<PrincipalRecord> {
        let now = self.now();
        let rec = self
            .cache
            .principal(self.store.as_ref(), org_id, user_id, now)
            .await?
            .ok_or(Error::Unauthenticated)?;
        if rec.status == crate::model::UserStatus::Inactive || issued_at < rec.sessions_valid_after
        {
            return Err(Error::Unauthenticated);
        }
        Ok(rec)
    }

    /// [`Core::authenticate`] for a token; one started with an API key also needs the key to
    /// be there still and unexpired, so that deleting a leaked key ends its sessions at once.
    pub async fn authenticate_token(
        &self,
        org_id: &OrgId,
        user_id: &UserId,
        issued_at: crate::types::Micros,
        api_key_id: Option<&str>,
    ) -> Result<PrincipalRecord> {
        if let Some(key_id) = api_key_id {
            let alive = self
                .cache
                .api_key(self.store.as_ref(), org_id, key_id)
                .await?
                .is_some_and(|k| k.expires_at > self.now());
            if !alive {
                return Err(Error::Unauthenticated);
            }
        }
        self.authenticate(org_id, user_id, issued_at).await
    }
}
