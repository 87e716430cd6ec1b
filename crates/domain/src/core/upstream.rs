//! Who may come in through an upstream OpenID Connect provider (`google-oauth2` or one of the
//! organization's own connections), once the server has verified the provider's ID token.
//!
//! The rules: the provider must say the address is verified; an organization's connection
//! admits only its email domains; the person must be a member of the organization, found by
//! that verified address (case-insensitively, never by a name); a member invited with this
//! connection accepts the invitation by signing in; a member who signs in with a password here
//! is not taken over unless the connection's `link_password_accounts` says so (`google-oauth2`
//! never does: anyone can hold a Google account); deactivated members are refused; once an
//! upstream account has signed in as a member, only that account signs in as that member
//! through this connection. Every sign-in and every refusal is audited.

use serde_json::json;

use super::access::{Actor, Context};
use super::keys::{SignInMethod, SignedIn};
use super::Core;
use crate::connections::{Admission, UpstreamConnection, UpstreamLink};
use crate::error::Result;
use crate::model::{Connection, Organization, User, UserStatus};
use crate::paging::UserQuery;
use crate::store::{Effects, Refusal, StoreError};
use crate::types::Email;

/// What the verified ID token of the upstream provider says about the person.
#[derive(Debug, Clone)]
pub struct UpstreamClaims {
    pub issuer: String,
    pub subject: String,
    pub email: Option<String>,
    pub email_verified: bool,
}

/// Why an upstream sign-in was refused (the audit log's `reason`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpstreamRefusal {
    /// The provider sent no address, or did not say it is verified.
    EmailNotVerified,
    /// The address is not at one of the connection's domains.
    DomainNotAllowed,
    /// Nobody of this address is a member (deleted members are not).
    NotAMember,
    Deactivated,
    /// The member signs in with a password here, and the connection does not link those.
    PasswordAccount,
    /// The member signs in through another connection here.
    OtherConnection,
    /// This upstream account signed in as another member, or another upstream account as this
    /// member, before.
    OtherAccount,
}

impl UpstreamRefusal {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::EmailNotVerified => "email_not_verified",
            Self::DomainNotAllowed => "domain_not_allowed",
            Self::NotAMember => "not_a_member",
            Self::Deactivated => "deactivated",
            Self::PasswordAccount => "password_account",
            Self::OtherConnection => "other_connection",
            Self::OtherAccount => "other_account",
        }
    }
}

/// The decision, from what the store holds: the member of the verified address (if any), the
/// links of the upstream account and of that member through this connection.
pub fn decide(
    via: &Connection,
    conn: Option<&UpstreamConnection>,
    claims: &UpstreamClaims,
    member: Option<&User>,
    links: &[UpstreamLink],
) -> std::result::Result<bool, UpstreamRefusal> {
    // The store's normalisation (`Email`), never another one.
    let email = match claims.email.as_deref().map(Email::parse) {
        Some(Ok(e)) if claims.email_verified => e.lower,
        _ => return Err(UpstreamRefusal::EmailNotVerified),
    };
    if let Some(c) = conn {
        let domain = email.rsplit('@').next().unwrap_or_default();
        if !c.domains.iter().any(|d| d == domain) {
            return Err(UpstreamRefusal::DomainNotAllowed);
        }
    }
    let member = member.filter(|m| Email::parse(&m.email).is_ok_and(|e| e.lower == email));
    let linked_elsewhere = links
        .iter()
        .any(|l| (l.subject == claims.subject) != member.is_some_and(|m| m.id == l.user_id));
    let Some(member) = member else {
        return Err(UpstreamRefusal::NotAMember);
    };
    if linked_elsewhere {
        return Err(UpstreamRefusal::OtherAccount);
    }
    if member.status == UserStatus::Inactive {
        return Err(UpstreamRefusal::Deactivated);
    }
    let allowed = if member.connection == *via {
        true
    } else if member.connection == Connection::Password {
        conn.is_some_and(|c| c.link_password_accounts)
    } else {
        return Err(UpstreamRefusal::OtherConnection);
    };
    if !allowed {
        return Err(UpstreamRefusal::PasswordAccount);
    }
    Ok(member.status == UserStatus::Invited)
}

impl Core {
    /// Audits a sign-in through `via` that failed before anyone could be identified: the
    /// provider refused the code, or its ID token did not verify (`reason`).
    pub async fn upstream_failed(
        &self,
        request_id: &str,
        org: &Organization,
        via: &Connection,
        reason: &str,
    ) -> Result<()> {
        let ctx = Context::new(request_id, Actor::Anonymous);
        let fx = Effects::audit(self.audit(
            &ctx,
            &org.id,
            "user.sign_in.upstream_refused",
            None,
            json!({ "connection": via.as_str(), "reason": reason }),
        ));
        Ok(self.store.write_effects(fx).await?)
    }

    /// Lets the person of `claims` (an ID token the server verified) in to `org` through `via`
    /// (`conn` is the organization's connection it names, none for `google-oauth2`), or says
    /// why not. Accepting an invitation, the link and the audit event are one transaction.
    pub async fn sign_in_upstream(
        &self,
        request_id: &str,
        org: &Organization,
        via: &Connection,
        conn: Option<&UpstreamConnection>,
        claims: &UpstreamClaims,
    ) -> Result<std::result::Result<SignedIn, UpstreamRefusal>> {
        let ctx = Context::new(request_id, Actor::Anonymous);
        let member = match (
            claims.email.as_deref().map(Email::parse),
            claims.email_verified,
        ) {
            (Some(Ok(e)), true) => {
                let mut q = UserQuery::new(1);
                q.emails_lower = vec![e.lower];
                self.store.list_users(&org.id, &q).await?.into_iter().next()
            }
            _ => None,
        };
        let mut links = self
            .store
            .upstream_links(&org.id, via.as_str(), Some(&claims.subject), None)
            .await?;
        if let Some(m) = &member {
            links.extend(
                self.store
                    .upstream_links(&org.id, via.as_str(), None, Some(&m.id))
                    .await?,
            );
        }
        let details = |extra: serde_json::Value| {
            let mut d = json!({ "connection": via.as_str(), "issuer": claims.issuer,
                                "subject": claims.subject });
            if let (Some(m), Some(e)) = (d.as_object_mut(), extra.as_object()) {
                m.extend(e.clone());
            }
            d
        };
        let target = member.as_ref().map(|m| &m.id);
        let accept = match decide(via, conn, claims, member.as_ref(), &links) {
            Ok(accept) => accept,
            Err(why) => {
                let fx = Effects::audit(self.audit(
                    &ctx,
                    &org.id,
                    "user.sign_in.upstream_refused",
                    target,
                    details(json!({ "reason": why.as_str() })),
                ));
                self.store.write_effects(fx).await?;
                return Ok(Err(why));
            }
        };
        let Some(member) = member else {
            return Ok(Err(UpstreamRefusal::NotAMember));
        };
        let fx = Effects::audit(self.audit(
            &ctx,
            &org.id,
            "user.sign_in.upstream",
            Some(&member.id),
            details(json!({ "invitation_accepted": accept })),
        ));
        let admission = Admission {
            org_id: org.id.to_string(),
            user_id: member.id.to_string(),
            connection: via.clone(),
            issuer: claims.issuer.clone(),
            subject: claims.subject.clone(),
            accept_invitation: accept,
            // Only the operator's provider vouches for the address beyond this organization.
            vouches_for_email: accept && conn.is_none(),
        };
        match self.store.admit_upstream(&admission, fx).await {
            Ok(()) => {}
            // Changed since it was read (deactivated, deleted, linked meanwhile): refused, as
            // it would be now.
            Err(StoreError::Refused(Refusal::Stale)) => {
                let fx = Effects::audit(self.audit(
                    &ctx,
                    &org.id,
                    "user.sign_in.upstream_refused",
                    Some(&member.id),
                    details(json!({ "reason": "changed" })),
                ));
                self.store.write_effects(fx).await?;
                return Ok(Err(UpstreamRefusal::OtherAccount));
            }
            Err(e) => return Err(e.into()),
        }
        Ok(Ok(SignedIn {
            org_id: org.id.to_string(),
            user_id: member.id.into(),
            identity_id: member.identity_id,
            method: if conn.is_some() {
                SignInMethod::Sso
            } else {
                SignInMethod::Upstream
            },
            api_key_id: None,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::OrgId;

    fn member(connection: Connection, status: UserStatus) -> User {
        User {
            connection,
            status,
            ..User::new(&OrgId::from("acme"), "Ana@Acme.example", "Ana", "B", 1)
        }
    }

    fn claims(email: &str, verified: bool) -> UpstreamClaims {
        UpstreamClaims {
            issuer: "https://idp.example".into(),
            subject: "sub-1".into(),
            email: Some(email.into()),
            email_verified: verified,
        }
    }

    fn conn(link_password_accounts: bool) -> UpstreamConnection {
        UpstreamConnection {
            org_id: "acme".into(),
            name: "acme-sso".into(),
            issuer: "https://idp.example".into(),
            client_id: "c".into(),
            client_secret: "s".into(),
            domains: vec!["acme.example".into()],
            link_password_accounts,
            created_at: 0,
            updated_at: 0,
        }
    }

    #[test]
    fn the_rules_decide_in_order() {
        let g = Connection::GoogleOauth2;
        let invited = member(g.clone(), UserStatus::Invited);
        let c = claims("ana@acme.EXAMPLE", true);
        assert_eq!(decide(&g, None, &c, Some(&invited), &[]), Ok(true));
        let active = member(g.clone(), UserStatus::Active);
        assert_eq!(decide(&g, None, &c, Some(&active), &[]), Ok(false));
        let unverified = claims("ana@acme.example", false);
        assert_eq!(
            decide(&g, None, &unverified, Some(&active), &[]),
            Err(UpstreamRefusal::EmailNotVerified)
        );
        assert_eq!(
            decide(&g, None, &c, None, &[]),
            Err(UpstreamRefusal::NotAMember)
        );
        let gone = member(g.clone(), UserStatus::Inactive);
        assert_eq!(
            decide(&g, None, &c, Some(&gone), &[]),
            Err(UpstreamRefusal::Deactivated)
        );
        let pw = member(Connection::Password, UserStatus::Active);
        assert_eq!(
            decide(&g, None, &c, Some(&pw), &[]),
            Err(UpstreamRefusal::PasswordAccount)
        );
        let sso = Connection::Oidc("acme-sso".into());
        assert_eq!(
            decide(&sso, Some(&conn(false)), &c, Some(&pw), &[]),
            Err(UpstreamRefusal::PasswordAccount)
        );
        assert_eq!(
            decide(&sso, Some(&conn(true)), &c, Some(&pw), &[]),
            Ok(false)
        );
        let other = claims("ana@other.example", true);
        assert_eq!(
            decide(&sso, Some(&conn(true)), &other, Some(&pw), &[]),
            Err(UpstreamRefusal::DomainNotAllowed)
        );
        assert_eq!(
            decide(&sso, Some(&conn(true)), &c, Some(&active), &[]),
            Err(UpstreamRefusal::OtherConnection)
        );
    }

    #[test]
    fn a_linked_account_signs_in_only_as_its_member() {
        let g = Connection::GoogleOauth2;
        let ana = member(g.clone(), UserStatus::Active);
        let link = |subject: &str, user_id: &str| UpstreamLink {
            org_id: "acme".into(),
            connection: "google-oauth2".into(),
            issuer: "https://idp.example".into(),
            subject: subject.into(),
            user_id: user_id.into(),
            created_at: 0,
        };
        let c = claims("ana@acme.example", true);
        assert_eq!(
            decide(&g, None, &c, Some(&ana), &[link("sub-1", &ana.id)]),
            Ok(false)
        );
        // Another upstream account of the same (recycled) address.
        assert_eq!(
            decide(&g, None, &c, Some(&ana), &[link("sub-0", &ana.id)]),
            Err(UpstreamRefusal::OtherAccount)
        );
        // This upstream account signed in as somebody else before.
        assert_eq!(
            decide(&g, None, &c, Some(&ana), &[link("sub-1", "someone-else")]),
            Err(UpstreamRefusal::OtherAccount)
        );
    }
}
