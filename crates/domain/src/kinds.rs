//! Closed sets of names the model stores as text: what a one-time token is for, and the like.
//! Each keeps its stored spelling (`as_str`, `parse`), so no migration follows from the type.

use std::fmt;

use serde::{Deserialize, Serialize};

/// What a one-time token is for. Stored in `one_time_tokens.purpose` as [`TokenPurpose::as_str`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TokenPurpose {
    /// An invitation: following it activates the membership.
    Invite,
    /// A sign-in link the user operations email.
    MagicLink,
    /// A password reset link (the user operations' and the hosted pages' alike, so that a reset
    /// ends the other reset links).
    PasswordReset,
    /// The confirmation of a new email address.
    EmailChange,
    /// A hosted sign-in page's one-time sign-in link.
    SignInLink,
    /// A refresh token of the user operations' sign-in.
    Refresh,
    /// The OpenID provider's browser session.
    SsoSession,
    /// The OpenID provider's authorization code.
    OidcCode,
    /// The OpenID provider's refresh token.
    OidcRefresh,
}

impl TokenPurpose {
    pub const ALL: [Self; 9] = [
        Self::Invite,
        Self::MagicLink,
        Self::PasswordReset,
        Self::EmailChange,
        Self::SignInLink,
        Self::Refresh,
        Self::SsoSession,
        Self::OidcCode,
        Self::OidcRefresh,
    ];

    /// The stored spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Invite => "invite",
            Self::MagicLink => "magic_link",
            Self::PasswordReset => "password_reset",
            Self::EmailChange => "email_change",
            Self::SignInLink => "signin_link",
            Self::Refresh => "refresh",
            Self::SsoSession => "sso_session",
            Self::OidcCode => "oidc_code",
            Self::OidcRefresh => "oidc_refresh",
        }
    }

    /// The purpose of a stored spelling; `None` for a name no version of Roster wrote.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == s)
    }
}

impl fmt::Display for TokenPurpose {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A purpose as a caller names it: the type, or (for code written before it) its stored spelling.
pub trait PurposeName {
    fn purpose_name(&self) -> &str;
}

impl PurposeName for TokenPurpose {
    fn purpose_name(&self) -> &str {
        self.as_str()
    }
}

impl PurposeName for &str {
    fn purpose_name(&self) -> &str {
        self
    }
}

impl PartialEq<str> for TokenPurpose {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

/// So that code comparing with a stored spelling keeps compiling.
impl PartialEq<&str> for TokenPurpose {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

/// A user's eva role in one environment, highest first. Stored in `user_environments.role_name`
/// as [`EnvRole::as_str`], which is also the name of the built-in role holding its grants
/// (`permissions.rs`); a surface spells it on its own wire (eva's `routes/eva/words.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum EnvRole {
    /// The whole environment, no bot needed.
    Supervisor,
    /// The bots given.
    Editor,
    /// The bots given, read only.
    Viewer,
}

impl EnvRole {
    /// Highest first: a user's organization role is the highest of their environment roles.
    pub const ALL: [Self; 3] = [Self::Supervisor, Self::Editor, Self::Viewer];

    /// The stored spelling, and the name of the built-in role of the same grants.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Supervisor => "SUPERVISOR",
            Self::Editor => "EDITOR",
            Self::Viewer => "VIEWER",
        }
    }

    /// The role of a stored spelling (or built-in role name); `None` for any other name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// Whether access in an environment under this role is given bot by bot.
    pub const fn needs_bots(self) -> bool {
        !matches!(self, Self::Supervisor)
    }
}

impl fmt::Display for EnvRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_env_role_reads_back_from_its_stored_spelling_and_serializes_as_it() {
        for r in EnvRole::ALL {
            assert_eq!(EnvRole::parse(r.as_str()), Some(r));
            assert_eq!(
                serde_json::to_value(r).ok(),
                Some(serde_json::Value::from(r.as_str()))
            );
        }
        assert_eq!(EnvRole::parse("ADMIN"), None);
        assert_eq!(EnvRole::parse("supervisor"), None);
    }

    #[test]
    fn every_purpose_reads_back_from_its_stored_spelling() {
        for p in TokenPurpose::ALL {
            assert_eq!(TokenPurpose::parse(p.as_str()), Some(p));
        }
        assert_eq!(TokenPurpose::parse("Invite"), None);
        assert_eq!(TokenPurpose::parse(""), None);
    }
}
