//! Values parsed once at the edge: emails, organization and user ids, time zones, languages, ids and clocks.

use std::collections::HashSet;
use std::sync::OnceLock;

use rand::RngCore;
use serde::{Deserialize, Serialize};

use crate::error::FieldError;

/// Microseconds since the Unix epoch: the one time unit stored on both backends.
pub type Micros = i64;

pub fn now_micros() -> Micros {
    chrono::Utc::now().timestamp_micros()
}

/// The instant of a session event, a cut-off of sessions or the issue of a token: strictly
/// increasing within the process, whatever the clock's resolution, so that a token issued after
/// a cut-off is always later than it and one issued before always earlier.
pub fn session_stamp() -> Micros {
    static LAST: std::sync::atomic::AtomicI64 = std::sync::atomic::AtomicI64::new(0);
    next_stamp(&LAST, now_micros())
}

/// The stamp after `last` for a clock reading: the reading, or one past the last stamp when
/// the clock has not moved on (or went back).
fn next_stamp(last: &std::sync::atomic::AtomicI64, reading: Micros) -> Micros {
    use std::sync::atomic::Ordering;
    let mut prev = last.load(Ordering::Relaxed);
    loop {
        let next = reading.max(prev + 1);
        match last.compare_exchange_weak(prev, next, Ordering::AcqRel, Ordering::Relaxed) {
            Ok(_) => return next,
            Err(p) => prev = p,
        }
    }
}

/// RFC 3339 in UTC with microseconds and `Z` (the vendor examples show milliseconds; both are RFC 3339).
pub fn format_micros(t: Micros) -> String {
    chrono::DateTime::from_timestamp_micros(t)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

/// A new user or event id: UUIDv7, so ids sort by creation time.
pub fn new_uuid7() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// A 24-hex id in the shape of the vendor's document ids (roles, memories, grants).
pub fn new_object_id() -> String {
    let mut bytes = [0u8; 12];
    let secs = (now_micros() / 1_000_000) as u32;
    bytes[..4].copy_from_slice(&secs.to_be_bytes());
    rand::thread_rng().fill_bytes(&mut bytes[4..]);
    hex::encode(bytes)
}

pub fn is_object_id(s: &str) -> bool {
    s.len() == 24 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// An email address, trimmed, with its case-folded form used for uniqueness.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email {
    pub display: String,
    pub lower: String,
}

impl Email {
    /// Accepts what a person would type: one `@`, a non-empty local part, a dotted domain, no spaces.
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let s = raw.trim();
        if s.is_empty() {
            return Err("value is not a valid email address: it is empty");
        }
        if s.len() > 254 {
            return Err("value is not a valid email address: it is longer than 254 characters");
        }
        let Some((local, domain)) = s.rsplit_once('@') else {
            return Err("value is not a valid email address: an email address must have an @-sign");
        };
        if local.is_empty() || local.len() > 64 || local.contains('@') {
            return Err(
                "value is not a valid email address: the part before the @-sign is not valid",
            );
        }
        let domain_ok = domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains("..")
            && domain
                .chars()
                .all(|c| c.is_alphanumeric() || c == '-' || c == '.');
        if !domain_ok {
            return Err(
                "value is not a valid email address: the part after the @-sign is not valid",
            );
        }
        if s.chars().any(|c| {
            c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | ',' | ';' | '"')
        }) {
            return Err(
                "value is not a valid email address: it contains characters that are not allowed",
            );
        }
        Ok(Self {
            display: s.to_owned(),
            lower: s.to_lowercase(),
        })
    }

    pub fn field(raw: &str, field: &str, location: crate::Location) -> Result<Self, FieldError> {
        Self::parse(raw).map_err(|m| FieldError::new(location, field, "value_error", m))
    }
}

/// An organization's short id, as used in Amigo paths (`acme`).
pub fn validate_org_id(s: &str) -> Result<(), &'static str> {
    let ok = (2..=63).contains(&s.len())
        && s.bytes()
            .all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_'))
        && s.as_bytes()[0].is_ascii_alphanumeric();
    if uuid::Uuid::parse_str(s).is_ok() {
        return Err("organization id must not have the form of a UUID: UUIDs address organizations by their uuid");
    }
    if ok {
        Ok(())
    } else {
        Err("organization id must be 2-63 characters of a-z, 0-9, '-' or '_', starting with a letter or digit")
    }
}

/// Defines a string id newtype: what a store keeps as text and a surface reads from its
/// request, typed so that an organization's id and a user's cannot be passed for each other.
macro_rules! string_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// The id as stored or as a surface read it (a path segment, a token's claim).
            pub fn new(id: impl Into<String>) -> Self {
                Self(id.into())
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }

            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl std::ops::Deref for $name {
            type Target = str;
            fn deref(&self) -> &str {
                &self.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl std::borrow::Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<String> for $name {
            fn from(id: String) -> Self {
                Self(id)
            }
        }

        impl From<&String> for $name {
            fn from(id: &String) -> Self {
                Self(id.clone())
            }
        }

        impl From<&str> for $name {
            fn from(id: &str) -> Self {
                Self(id.to_owned())
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> Self {
                id.0
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }

        impl PartialEq<String> for $name {
            fn eq(&self, other: &String) -> bool {
                &self.0 == other
            }
        }

        impl PartialEq<$name> for String {
            fn eq(&self, other: &$name) -> bool {
                self == &other.0
            }
        }

        impl PartialEq<$name> for str {
            fn eq(&self, other: &$name) -> bool {
                self == other.0
            }
        }

        impl PartialEq<$name> for &str {
            fn eq(&self, other: &$name) -> bool {
                *self == other.0
            }
        }
    };
}

string_id!(
    /// An organization's id (`acme`): what the store keys every tenant's rows by. Built from a
    /// stored value or from a surface's input (a path, a claim) once it names an organization.
    OrgId
);

string_id!(
    /// A user's id (a membership's UUIDv7), within its organization: always travels with an
    /// [`OrgId`].
    UserId
);

/// An IANA time zone name, as chrono-tz knows it.
pub fn validate_timezone(s: &str) -> Result<(), &'static str> {
    s.parse::<chrono_tz::Tz>()
        .map(|_| ())
        .map_err(|_| "timezone must be an IANA time zone name such as America/New_York")
}

fn iso639_3() -> &'static HashSet<&'static str> {
    static SET: OnceLock<HashSet<&'static str>> = OnceLock::new();
    SET.get_or_init(|| include_str!("../data/iso639-3.txt").lines().collect())
}

/// A three-letter ISO 639-3 code (`eng`, `spa`, `jpn`, `por`).
pub fn validate_iso639_3(s: &str) -> Result<(), &'static str> {
    if iso639_3().contains(s) {
        Ok(())
    } else {
        Err("preferred_language must be an ISO 639-3 code such as eng, spa, jpn or por")
    }
}

/// Lower-cased sort and search key of a name part.
pub fn fold(s: &str) -> String {
    s.trim().to_lowercase()
}

/// A display name from Amigo's two parts, as the single-name surfaces show it.
pub fn full_name(first: &str, last: &str) -> String {
    match (first.trim(), last.trim()) {
        (f, "") => f.to_owned(),
        ("", l) => l.to_owned(),
        (f, l) => format!("{f} {l}"),
    }
}

/// The lower-cased keys a user is sorted and searched by; the store writes them, listings read them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserKeys {
    pub email_lower: String,
    pub first_key: String,
    pub last_key: String,
    pub name_key: String,
    pub search_text: String,
}

pub fn user_keys(email: &str, first: &str, last: &str) -> UserKeys {
    let name_key = fold(&full_name(first, last));
    let email_lower = email.trim().to_lowercase();
    UserKeys {
        search_text: format!("{name_key} {email_lower}"),
        email_lower,
        first_key: fold(first),
        last_key: fold(last),
        name_key,
    }
}

/// Splits a single display name into Amigo's first and last name at the first space.
pub fn split_name(name: &str) -> (String, String) {
    let name = name.trim();
    match name.split_once(char::is_whitespace) {
        Some((f, l)) => (f.to_owned(), l.trim().to_owned()),
        None => (name.to_owned(), String::new()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_stamps_order_events_even_on_a_coarse_clock() {
        let last = std::sync::atomic::AtomicI64::new(0);
        // A clock of one-second resolution: every reading of this second is the same.
        let second = 1_700_000_000_000_000;
        let issued_before = next_stamp(&last, second);
        let cut_off = next_stamp(&last, second);
        let issued_after = next_stamp(&last, second);
        assert!(issued_before < cut_off && cut_off < issued_after);
        // A clock that steps back still never repeats a stamp.
        assert!(next_stamp(&last, second - 5_000_000) > issued_after);
        assert_eq!(next_stamp(&last, second + 1_000_000), second + 1_000_000);
    }

    #[test]
    fn emails() {
        assert_eq!(
            Email::parse(" Ana@Example.com ").map(|e| e.lower),
            Ok("ana@example.com".into())
        );
        for bad in [
            "",
            "ana",
            "ana@",
            "@x.com",
            "a b@x.com",
            "a@x",
            "a@.x.com",
            "a@x..com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn languages_and_zones() {
        assert!(validate_iso639_3("eng").is_ok());
        assert!(validate_iso639_3("en").is_err());
        assert!(validate_timezone("America/New_York").is_ok());
        assert!(validate_timezone("Mars/Base").is_err());
    }

    #[test]
    fn object_ids() {
        let id = new_object_id();
        assert!(is_object_id(&id), "{id}");
    }

    #[test]
    fn names() {
        assert_eq!(
            split_name("Ana Souza Lima"),
            ("Ana".into(), "Souza Lima".into())
        );
        assert_eq!(full_name("Cher", ""), "Cher");
    }
}
