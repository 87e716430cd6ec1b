//! The emails the core queues: each kind with the payload its template fills in. The outbox
//! stores the kind as [`MailKind::as_str`] and the payload as JSON with these field names, so the
//! writer and the templates agree on every key by construction (no migration: the spellings are
//! the ones stored before these types).

use serde::Serialize;
use serde_json::Value;
use std::fmt;

/// Which email.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MailKind {
    Invitation,
    MagicLink,
    PasswordReset,
    EmailChange,
    Welcome,
    WebhookDisabled,
}

impl MailKind {
    pub const ALL: [Self; 6] = [
        Self::Invitation,
        Self::MagicLink,
        Self::PasswordReset,
        Self::EmailChange,
        Self::Welcome,
        Self::WebhookDisabled,
    ];

    /// The stored spelling (`outbox.kind`).
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Invitation => "invitation",
            Self::MagicLink => "magic_link",
            Self::PasswordReset => "password_reset",
            Self::EmailChange => "email_change",
            Self::Welcome => "welcome",
            Self::WebhookDisabled => "webhook_disabled",
        }
    }

    /// The kind of a stored spelling; `None` for one no version of Roster wrote.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// The payload field holding the link the email carries.
    pub const fn link_key(self) -> &'static str {
        match self {
            Self::Invitation => "verify_link",
            _ => "link",
        }
    }

    /// Whether the email exists for its link (a welcome may have none to give).
    pub const fn needs_link(self) -> bool {
        !matches!(self, Self::Welcome)
    }
}

impl fmt::Display for MailKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An invitation to join an organization.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Invitation {
    pub org_name: String,
    pub first_name: String,
    /// The link that accepts the invitation (only its recipient sees it).
    pub verify_link: String,
    /// Where the administrator asked the invitee to be sent after accepting.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub login_link: Option<String>,
    /// The connection the invitee signs in with, when not a password.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connection: Option<String>,
}

/// A sign-in link.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MagicLink {
    pub org_name: String,
    pub first_name: String,
    pub link: String,
    /// Where the link asked to go after signing in (the hosted pages' links carry their
    /// authorization request instead).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redirect_link: Option<String>,
}

/// An email whose only words are the organization, the person and a link: a password reset,
/// a welcome (whose link is the public address, possibly empty).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LinkMail {
    pub org_name: String,
    pub first_name: String,
    pub link: String,
}

/// The confirmation of a new email address, sent to the new address.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EmailChange {
    pub first_name: String,
    pub link: String,
    pub old_email: String,
}

/// An administrator told that a webhook endpoint was disabled.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WebhookDisabled {
    pub url: String,
    pub endpoint_id: String,
    pub org: String,
    pub org_name: String,
    pub first_name: String,
    pub reason: String,
    /// The API documentation.
    pub link: String,
}

/// One email and what its template needs.
#[derive(Debug, Clone, PartialEq)]
pub enum Mail {
    Invitation(Invitation),
    MagicLink(MagicLink),
    PasswordReset(LinkMail),
    EmailChange(EmailChange),
    Welcome(LinkMail),
    WebhookDisabled(WebhookDisabled),
}

impl Mail {
    pub fn kind(&self) -> MailKind {
        match self {
            Self::Invitation(_) => MailKind::Invitation,
            Self::MagicLink(_) => MailKind::MagicLink,
            Self::PasswordReset(_) => MailKind::PasswordReset,
            Self::EmailChange(_) => MailKind::EmailChange,
            Self::Welcome(_) => MailKind::Welcome,
            Self::WebhookDisabled(_) => MailKind::WebhookDisabled,
        }
    }

    /// The stored payload: the fields of the kind's struct.
    pub fn payload(&self) -> Value {
        let v = match self {
            Self::Invitation(m) => serde_json::to_value(m),
            Self::MagicLink(m) => serde_json::to_value(m),
            Self::PasswordReset(m) | Self::Welcome(m) => serde_json::to_value(m),
            Self::EmailChange(m) => serde_json::to_value(m),
            Self::WebhookDisabled(m) => serde_json::to_value(m),
        };
        // Structs of strings always serialize.
        v.unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_reads_back_from_its_stored_spelling() {
        for k in MailKind::ALL {
            assert_eq!(MailKind::parse(k.as_str()), Some(k));
        }
        assert_eq!(MailKind::parse("Invitation"), None);
    }

    #[test]
    fn the_payload_holds_the_link_under_its_kinds_key() {
        let m = Mail::Invitation(Invitation {
            org_name: "Acme".into(),
            first_name: "Ana".into(),
            verify_link: "https://r.example/v?token=t".into(),
            login_link: None,
            connection: None,
        });
        let p = m.payload();
        assert_eq!(p[m.kind().link_key()], "https://r.example/v?token=t");
        assert!(p.get("login_link").is_none() && p.get("connection").is_none());
    }
}
