//! The console's cookies and its signed-in caller: the session cookie (`{org}.{secret}`, the
//! organization it was signed in to and the secret whose hash the store keeps), the sign-in
//! flow's cookie (its `state` and PKCE verifier), the last organization and the language.

use axum::extract::Multipart;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use roster_domain::core::{ConsoleSignedIn, Context};
use roster_domain::secrets::constant_time_eq;
use roster_domain::types::OrgId;
use roster_domain::Error;

use crate::state::AppState;

pub const SESSION_COOKIE: &str = "roster_console";
pub const FLOW_COOKIE: &str = "roster_console_flow";
pub const LAST_ORG_COOKIE: &str = "roster_console_org";
pub const LANG_COOKIE: &str = "roster_console_lang";
/// The viewer's own time zone (`timezone.rs`).
pub const TZ_COOKIE: &str = "roster_console_tz";

pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
        .filter(|v| !v.is_empty())
}

/// The viewer's time zone from its cookie, when it names one: IANA names hold letters,
/// digits, `_`, `-`, `+` and `/`, never `.` or `~`, so `/` travels as `.` and `+` as `~`.
pub fn viewer_timezone(headers: &HeaderMap) -> Option<String> {
    cookie(headers, TZ_COOKIE)
        .map(|v| v.replace('.', "/").replace('~', "+"))
        .filter(|tz| tz.parse::<chrono_tz::Tz>().is_ok())
}

/// A `Set-Cookie` value scoped to `/console`: HttpOnly, SameSite=Lax, Secure on https.
/// `max_age` `None` is a browser-session cookie; `Some(0)` deletes it.
pub fn set_cookie(s: &AppState, name: &str, value: &str, max_age: Option<i64>) -> HeaderValue {
    let secure = if s.core.config.public_url.starts_with("https://") {
        "; Secure"
    } else {
        ""
    };
    let age = max_age
        .map(|a| format!("; Max-Age={a}"))
        .unwrap_or_default();
    // Values are ids and base64url secrets; anything else is dropped rather than sent.
    let value: String = value
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '~'))
        .collect();
    HeaderValue::from_str(&format!(
        "{name}={value}; Path=/console{age}; HttpOnly; SameSite=Lax{secure}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("roster_console_bad=; Max-Age=0"))
}

/// The signed-in member of this browser's console session, if it is live.
pub async fn signed_in(
    s: &AppState,
    headers: &HeaderMap,
) -> Result<Option<ConsoleSignedIn>, Error> {
    let Some(raw) = cookie(headers, SESSION_COOKIE) else {
        return Ok(None);
    };
    let Some((org_id, secret)) = raw.rsplit_once('.') else {
        return Ok(None);
    };
    if org_id.is_empty() || secret.len() < 32 {
        return Ok(None);
    }
    s.core.console_session(&OrgId::from(org_id), secret).await
}

/// A signed-in request: who, and the context its core calls run in.
pub struct Signed {
    pub who: ConsoleSignedIn,
    pub ctx: Context,
}

impl Signed {
    pub fn new(who: ConsoleSignedIn, request_id: &str) -> Self {
        let ctx = who.context(request_id);
        Self { who, ctx }
    }

    /// The form token of every form of this session.
    pub fn csrf(&self) -> &str {
        &self.who.session.csrf
    }

    /// Whether a posted form carries this session's token.
    pub fn csrf_ok(&self, fields: &[(String, String)]) -> bool {
        fields
            .iter()
            .find(|(k, _)| k == "csrf")
            .is_some_and(|(_, v)| constant_time_eq(v, &self.who.session.csrf))
    }
}

/// Form fields of a posted body, each as sent.
pub fn form(body: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(body).into_owned().collect()
}

pub fn field<'a>(f: &'a [(String, String)], name: &str) -> &'a str {
    f.iter()
        .rev()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .unwrap_or_default()
}

/// The parts of a posted `multipart/form-data` form (the bulk upload, the branding images),
/// each name with its bytes, in order; a part beyond the body limit is [`Error::TooLarge`].
pub async fn parts(form: &mut Multipart) -> Result<Vec<(String, Vec<u8>)>, Error> {
    let mut out = Vec::new();
    while let Some(part) = form
        .next_field()
        .await
        .map_err(|e| Error::BadRequest(format!("the form could not be read: {}", e.body_text())))?
    {
        let name = part.name().unwrap_or_default().to_owned();
        let bytes = part.bytes().await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                Error::TooLarge("the file is larger than the server accepts".into())
            } else {
                Error::BadRequest(format!("the file could not be read: {}", e.body_text()))
            }
        })?;
        out.push((name, bytes.to_vec()));
    }
    Ok(out)
}

/// The text of the part `name` of [`parts`] (empty when absent).
pub fn part_text(parts: &[(String, Vec<u8>)], name: &str) -> String {
    parts
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
        .unwrap_or_default()
}
