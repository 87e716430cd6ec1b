//! The `Links` port: the core decides *that* a link is sent and what it lets its holder do; the
//! server decides what it looks like. Each way in has its own link shapes (an API exchange, a
//! hosted landing page, a console to come), so the shapes belong to the server, which configures
//! them in [`crate::CoreConfig::links`]; the core never writes a path.

use std::fmt::Debug;

use crate::model::Organization;

/// What a link lets its holder do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LinkKind {
    /// Accept an invitation (and set a first password, when the account needs one).
    Invitation,
    /// Sign in once, from an email.
    SignIn,
    /// Set a new password.
    PasswordReset,
    /// Confirm a new email address.
    EmailChange,
}

/// Which operations sent the link, so that the server can give each its own shapes: the
/// user operations (whose callers exchange a link's token at an API as well as open it) or
/// the member operations (whose links only a person opens).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LinkFamily {
    Users,
    Members,
}

/// Builds the URL of a link that carries `token` (a one-time secret) for `org`.
pub trait Links: Send + Sync + Debug {
    fn url(&self, family: LinkFamily, kind: LinkKind, org: &Organization, token: &str) -> String;
}

/// The links of a core that no server configured (tools and unit tests that send no email):
/// an opaque `roster-link:` URL that names the link and opens nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct Unconfigured;

impl Links for Unconfigured {
    fn url(&self, family: LinkFamily, kind: LinkKind, org: &Organization, token: &str) -> String {
        format!("roster-link:{family:?}/{kind:?}/{}?token={token}", org.id)
    }
}
