//! The shapes of the links Roster sends, by the operations that send them: the server's side of
//! the core's `Links` port. Every link starts with `ROSTER_PUBLIC_URL` (never a request's Host)
//! and opens a page that uses nothing on GET (mail scanners open links before people do).
//!
//! - The user operations (the Amigo and eva surfaces) keep the shapes their contract clients
//!   know: the landing pages of the Roster-defined exchange, `/v1/{org}/user/verify` and
//!   `/v1/{org}/user/password-reset`, whose token a client may also post itself.
//! - The member operations (org-user-management) send links that only a person opens, so they
//!   open the hosted pages under `/realms/{org}/login-actions/`; an email change is confirmed
//!   at org-user-management's own `/users/email-change/confirm`.

use roster_domain::links::{LinkFamily, LinkKind, Links};
use roster_domain::model::Organization;

/// The hosted landing page of an invitation or a sign-in link.
pub const HOSTED_VERIFY: &str = "/realms/{realm}/login-actions/verify";
/// The hosted landing page of a password-reset link.
pub const HOSTED_RESET: &str = "/realms/{realm}/login-actions/reset-credentials";

#[derive(Debug, Clone)]
pub struct SurfaceLinks {
    /// `ROSTER_PUBLIC_URL` without a trailing slash.
    base: String,
}

impl SurfaceLinks {
    pub fn new(public_url: &str) -> Self {
        Self {
            base: public_url.trim_end_matches('/').to_owned(),
        }
    }
}

impl Links for SurfaceLinks {
    fn url(&self, family: LinkFamily, kind: LinkKind, org: &Organization, token: &str) -> String {
        let org_id = org.id.as_str();
        let path = match (family, kind) {
            (LinkFamily::Users, LinkKind::Invitation | LinkKind::SignIn) => {
                format!("/v1/{org_id}/user/verify")
            }
            (LinkFamily::Users, LinkKind::PasswordReset) => {
                format!("/v1/{org_id}/user/password-reset")
            }
            (LinkFamily::Members, LinkKind::Invitation | LinkKind::SignIn) => {
                HOSTED_VERIFY.replace("{realm}", org_id)
            }
            (LinkFamily::Members, LinkKind::PasswordReset) => {
                HOSTED_RESET.replace("{realm}", org_id)
            }
            (_, LinkKind::EmailChange) => "/users/email-change/confirm".to_owned(),
        };
        format!("{}{path}?token={token}", self.base)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_family_gets_its_own_shapes() {
        let links = SurfaceLinks::new("https://id.example.test/");
        let org = Organization {
            id: "acme".into(),
            uuid: "0190a0c0-0000-7000-8000-000000000001".into(),
            name: "Acme".into(),
            short_name: "acme".into(),
            is_platform: false,
            tenant_id: "acme".into(),
            default_preferences: Default::default(),
            user_dimensions: serde_json::Value::Null,
            branding: serde_json::Value::Null,
            created_at: 0,
            updated_at: 0,
        };
        let url = |f, k| links.url(f, k, &org, "s3cret");
        assert_eq!(
            url(LinkFamily::Users, LinkKind::Invitation),
            "https://id.example.test/v1/acme/user/verify?token=s3cret"
        );
        assert_eq!(
            url(LinkFamily::Users, LinkKind::PasswordReset),
            "https://id.example.test/v1/acme/user/password-reset?token=s3cret"
        );
        assert_eq!(
            url(LinkFamily::Members, LinkKind::Invitation),
            "https://id.example.test/realms/acme/login-actions/verify?token=s3cret"
        );
        assert_eq!(
            url(LinkFamily::Members, LinkKind::PasswordReset),
            "https://id.example.test/realms/acme/login-actions/reset-credentials?token=s3cret"
        );
        assert_eq!(
            url(LinkFamily::Members, LinkKind::EmailChange),
            "https://id.example.test/users/email-change/confirm?token=s3cret"
        );
    }
}
