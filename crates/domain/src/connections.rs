//! Upstream connections: the OpenID Connect providers people sign in through (the deployment's
//! `google-oauth2`, and each organization's own enterprise providers), what the storage keeps
//! of them, and the links between an upstream account and a membership.

use crate::types::OrgId;
use crate::types::UserId;
use async_trait::async_trait;

use crate::model::Connection;
use crate::store::{Effects, StoreResult};
use crate::types::Micros;

/// An organization's own OpenID Connect provider (enterprise single sign-on). Its `Debug`
/// never shows the client secret.
#[derive(Clone, PartialEq)]
pub struct UpstreamConnection {
    pub org_id: String,
    /// Lower-case letters, digits and dashes; part of the redirect URI
    /// (`{public_url}/connections/{name}/callback`) and what invitations name.
    pub name: String,
    /// The issuer, whose `/.well-known/openid-configuration` describes the provider.
    pub issuer: String,
    pub client_id: String,
    /// Kept to authenticate Roster at the provider's token endpoint; never shown again.
    pub client_secret: String,
    /// Only verified addresses at these domains (lower case) come in through it.
    pub domains: Vec<String>,
    /// Whether a member who signs in with a password here may also sign in through this
    /// provider with the same verified address (off: such a sign-in is refused).
    pub link_password_accounts: bool,
    pub created_at: Micros,
    pub updated_at: Micros,
}

impl std::fmt::Debug for UpstreamConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UpstreamConnection")
            .field("org_id", &self.org_id)
            .field("name", &self.name)
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field("client_secret", &"[redacted]")
            .field("domains", &self.domains)
            .field("link_password_accounts", &self.link_password_accounts)
            .field("created_at", &self.created_at)
            .field("updated_at", &self.updated_at)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn debug_never_shows_the_client_secret() {
        let c = super::UpstreamConnection {
            org_id: "acme".into(),
            name: "acme-sso".into(),
            issuer: "https://idp.example".into(),
            client_id: "c".into(),
            client_secret: "s3cr3t-value".into(),
            domains: vec!["acme.example".into()],
            link_password_accounts: false,
            created_at: 0,
            updated_at: 0,
        };
        let shown = format!("{c:?} {c:#?}");
        assert!(!shown.contains("s3cr3t-value"), "{shown}");
        assert!(shown.contains("acme-sso"));
    }
}

/// What the core decided to let in, applied by the store in one transaction.
#[derive(Debug, Clone)]
pub struct Admission {
    pub org_id: String,
    pub user_id: String,
    /// The connection the person came through.
    pub connection: Connection,
    /// The upstream account (`iss` and `sub` of its ID token).
    pub issuer: String,
    pub subject: String,
    /// An invited membership becomes active (the invitation is accepted).
    pub accept_invitation: bool,
    /// The identity's address counts as verified from now on (`identities.email_verified`,
    /// which every organization relies on): only for `google-oauth2`, never for an
    /// organization's own connection.
    pub vouches_for_email: bool,
}

/// A membership's link to an upstream account.
#[derive(Debug, Clone, PartialEq)]
pub struct UpstreamLink {
    pub org_id: String,
    pub connection: String,
    pub issuer: String,
    pub subject: String,
    pub user_id: String,
    pub created_at: Micros,
}

#[async_trait]
pub trait ConnectionStore: Send + Sync {
    async fn list_connections(&self, org_id: &OrgId) -> StoreResult<Vec<UpstreamConnection>>;
    async fn get_connection(
        &self,
        org_id: &OrgId,
        name: &str,
    ) -> StoreResult<Option<UpstreamConnection>>;
    /// `Conflict { field: "name" }` when the organization has one of that name.
    async fn insert_connection(&self, c: &UpstreamConnection, fx: Effects) -> StoreResult<()>;
    /// `NotFound` when there is no such connection.
    async fn update_connection(&self, c: &UpstreamConnection, fx: Effects) -> StoreResult<()>;
    /// `NotFound` when there is no such connection; its links go with it.
    async fn delete_connection(&self, org_id: &OrgId, name: &str, fx: Effects) -> StoreResult<()>;
    /// The links of this upstream account, or of this membership, through `connection`.
    async fn upstream_links(
        &self,
        org_id: &OrgId,
        connection: &str,
        subject: Option<&str>,
        user_id: Option<&UserId>,
    ) -> StoreResult<Vec<UpstreamLink>>;
    /// Applies an admission: the link (written once), the invitation accepted and the address
    /// marked verified when asked, with `fx`. `Refused(Stale)` when the membership is no
    /// longer in the state the core saw (deactivated, deleted, accepted meanwhile) or the
    /// upstream account was linked to another member meanwhile; nothing is written then.
    async fn admit_upstream(&self, a: &Admission, fx: Effects) -> StoreResult<()>;
}
