//! Request parts every surface reads: the request id, the bearer token's caller, query pairs,
//! and JSON bodies parsed with the path of any bad field.

use axum::http::request::Parts;
use axum::http::HeaderMap;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use roster_domain::core::{Actor, Context};
use roster_domain::types::OrgId;
use roster_domain::types::UserId;
use roster_domain::{Error, FieldError, Location};
use serde::de::DeserializeOwned;

use crate::state::AppState;

mod handler;

pub use handler::*;

/// The caller the policy layer authenticated, taken over by the [`Caller`] extractors so that
/// a request is authenticated once.
#[derive(Clone)]
pub struct Authenticated(pub Context);

/// The request id set by the request middleware.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

pub fn request_id(parts: &Parts) -> String {
    parts
        .extensions
        .get::<RequestId>()
        .map(|r| r.0.clone())
        .unwrap_or_default()
}

/// The token from `Authorization: Bearer` (or Amigo's Basic form, whose password is the token).
fn presented_token(headers: &HeaderMap) -> Option<String> {
    let value = headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .trim();
    let (scheme, rest) = value.split_once(' ')?;
    if scheme.eq_ignore_ascii_case("bearer") {
        return Some(rest.trim().to_owned());
    }
    if scheme.eq_ignore_ascii_case("basic") {
        let decoded = String::from_utf8(STANDARD.decode(rest.trim()).ok()?).ok()?;
        return decoded.split_once(':').map(|(_, token)| token.to_owned());
    }
    None
}

/// The caller of a request that must be authenticated.
pub async fn caller(state: &AppState, parts: &Parts) -> Result<Context, Error> {
    let token = presented_token(&parts.headers).ok_or(Error::Unauthenticated)?;
    let claims = state
        .keys
        .verify_fresh(&token)
        .await
        .ok_or(Error::Unauthenticated)?;
    let principal = state
        .core
        .authenticate_token(
            &OrgId::from(&claims.org),
            &UserId::from(&claims.sub),
            claims.issued_at_micros(),
            claims.api_key.as_deref(),
        )
        .await?;
    let mut ctx = Context::new(request_id(parts), Actor::User(principal));
    ctx.owner_session = roster_domain::core::SignInMethod::proves_ownership(&claims.amr);
    ctx.issuer_org = parts
        .headers
        .get("x-org-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    Ok(ctx)
}

/// The caller when one is presented; anonymous otherwise. A bad token is still an error.
pub async fn optional_caller(state: &AppState, parts: &Parts) -> Result<Context, Error> {
    if parts
        .headers
        .contains_key(axum::http::header::AUTHORIZATION)
    {
        caller(state, parts).await
    } else {
        Ok(Context::new(request_id(parts), Actor::Anonymous))
    }
}

/// Where rate limits count a request: the authenticated user, else the client address.
pub fn rate_key(ctx: &Context, parts: &Parts) -> String {
    match &ctx.actor {
        Actor::User(p) => format!("user:{}:{}", p.org_id, p.user_id),
        Actor::Directory {
            token_id,
            principal,
        } => {
            format!("directory:{}:{token_id}", principal.org_id)
        }
        _ => format!("ip:{}", client_ip(parts)),
    }
}

/// The client's address as the request middleware resolved it (see [`resolve_client_ip`]).
#[derive(Debug, Clone)]
pub struct ClientIp(pub String);

pub fn client_ip(parts: &Parts) -> String {
    parts
        .extensions
        .get::<ClientIp>()
        .map(|c| c.0.clone())
        .unwrap_or_else(|| "unknown".into())
}

/// The TCP peer, or, when the peer is a trusted proxy, the right-most `X-Forwarded-For` address
/// that is not itself a trusted proxy (addresses further left are the client's to forge).
pub fn resolve_client_ip(
    peer: Option<std::net::IpAddr>,
    headers: &HeaderMap,
    trusted: &[ipnet::IpNet],
) -> String {
    let Some(peer) = peer else {
        return "unknown".into();
    };
    let is_trusted = |ip: &std::net::IpAddr| trusted.iter().any(|n| n.contains(ip));
    if !is_trusted(&peer) {
        return peer.to_string();
    }
    let forwarded: Vec<std::net::IpAddr> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|a| a.trim().parse().ok())
        .collect();
    forwarded
        .iter()
        .rev()
        .find(|ip| !is_trusted(ip))
        .map(|ip| ip.to_string())
        .unwrap_or_else(|| peer.to_string())
}

/// Decoded query pairs, keeping repeated keys (`?user_id=a&user_id=b`).
#[derive(Debug, Clone, Default)]
pub struct Query(pub Vec<(String, String)>);

impl Query {
    pub fn parse(parts: &Parts) -> Self {
        let raw = parts.uri.query().unwrap_or("");
        Self(
            form_urlencoded::parse(raw.as_bytes())
                .into_owned()
                .collect(),
        )
    }

    pub fn all(&self, key: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
            .collect()
    }

    pub fn one(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// An optional integer parameter: absent is `None`, anything but an integer a 422 naming it.
    pub fn opt_int(&self, key: &str) -> Result<Option<i64>, roster_domain::Error> {
        self.one(key)
            .map(|v| {
                v.trim().parse::<i64>().map_err(|_| {
                    roster_domain::Error::Validation(vec![FieldError::query(
                        key,
                        "int_parsing",
                        format!("{key} must be an integer"),
                    )])
                })
            })
            .transpose()
    }

    pub fn int(&self, key: &str, default: i64, problems: &mut Vec<FieldError>) -> i64 {
        match self.one(key) {
            None => default,
            Some(v) => v.trim().parse().unwrap_or_else(|_| {
                problems.push(FieldError::query(
                    key,
                    "int_parsing",
                    format!("{key} must be an integer"),
                ));
                default
            }),
        }
    }

    /// `limit` and `continuation_token`; the core checks the upper bound of its own listing.
    pub fn page(&self, default_limit: i64, problems: &mut Vec<FieldError>) -> (u32, i64) {
        let limit = self.int("limit", default_limit, problems);
        let token = self.int("continuation_token", 0, problems);
        if limit < 0 {
            problems.push(FieldError::query(
                "limit",
                "greater_than_equal",
                "limit must not be negative",
            ));
        }
        (limit.clamp(0, u32::MAX as i64) as u32, token)
    }

    pub fn bool(&self, key: &str, problems: &mut Vec<FieldError>) -> Option<bool> {
        let v = self.one(key)?;
        match v.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "on" | "t" | "y" => Some(true),
            "false" | "0" | "no" | "off" | "f" | "n" => Some(false),
            _ => {
                problems.push(FieldError::query(
                    key,
                    "bool_parsing",
                    format!("{key} must be a boolean"),
                ));
                None
            }
        }
    }
}

/// Deepest nesting of arrays and objects a JSON body may have; no request needs more, and a
/// deeper one is refused before any parser recurses into it.
pub const MAX_JSON_DEPTH: usize = 32;

/// How deeply `body` nests arrays and objects (brackets inside strings do not count).
fn json_depth(body: &[u8]) -> usize {
    let (mut depth, mut deepest, mut in_string, mut escaped) = (0usize, 0usize, false, false);
    for &b in body {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}

/// Parses a JSON body; a bad field is reported with its path, like any other validation error.
pub fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, Error> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(Error::field(
            Location::Body,
            "",
            "missing",
            "Field required",
        ));
    }
    if json_depth(body) > MAX_JSON_DEPTH {
        return Err(Error::field(
            Location::Body,
            "",
            "json_too_deep",
            format!("the body nests arrays and objects more than {MAX_JSON_DEPTH} levels deep"),
        ));
    }
    let de = &mut serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let mut path = e.path().to_string();
        let inner = e.into_inner();
        let msg = inner.to_string();
        let code = if msg.starts_with("missing field") {
            // The missing field's name is in the message; the path stops at its parent.
            if let Some(name) = msg.split('`').nth(1) {
                path = if path == "." {
                    name.to_owned()
                } else {
                    format!("{path}.{name}")
                };
            }
            "missing"
        } else if msg.starts_with("unknown field") {
            // The path already ends at the unknown field.
            "extra_forbidden"
        } else if inner.is_syntax() || inner.is_eof() {
            path = String::new();
            "json_invalid"
        } else {
            "type_error"
        };
        let path = if path == "." {
            String::new()
        } else {
            path.replace('[', ".").replace(']', "")
        };
        let msg = msg.split(" at line ").next().unwrap_or(&msg).to_owned();
        Error::field(Location::Body, &path, code, msg)
    })
}

/// The whole body, with the server's size limit turned into a 413.
pub async fn body_bytes(
    req: axum::extract::Request,
    state: &AppState,
) -> Result<axum::body::Bytes, Error> {
    use axum::extract::FromRequest;
    axum::body::Bytes::from_request(req, state)
        .await
        .map_err(|r| {
            if r.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                Error::TooLarge("the request body is larger than the server accepts".into())
            } else {
                Error::field(
                    Location::Body,
                    "",
                    "body_unreadable",
                    "the request body could not be read",
                )
            }
        })
}

/// ISO 8601 durations (`P30D`, `PT12H`, `P1W`, `P1DT2H30M`) or plain seconds, in seconds.
pub fn parse_duration(s: &str) -> Option<i64> {
    let s = s.trim();
    if let Ok(secs) = s.parse::<i64>() {
        return Some(secs);
    }
    let rest = s.strip_prefix('P').or_else(|| s.strip_prefix('p'))?;
    let (date, time) = match rest.split_once(['T', 't']) {
        Some((d, t)) => (d, Some(t)),
        None => (rest, None),
    };
    let mut total: i64 = 0;
    let mut any = false;
    let mut take = |part: &str, units: &[(char, i64)]| -> Option<()> {
        let mut num = String::new();
        for c in part.chars() {
            if c.is_ascii_digit() {
                num.push(c);
            } else {
                let mult = units.iter().find(|(u, _)| u.eq_ignore_ascii_case(&c))?.1;
                total = total.checked_add(num.parse::<i64>().ok()?.checked_mul(mult)?)?;
                num.clear();
                any = true;
            }
        }
        num.is_empty().then_some(())
    };
    take(date, &[('W', 7 * 86_400), ('D', 86_400)])?;
    if let Some(t) = time {
        if t.is_empty() {
            return None;
        }
        take(t, &[('H', 3600), ('M', 60), ('S', 1)])?;
    }
    any.then_some(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("P30D"), Some(30 * 86_400));
        assert_eq!(parse_duration("PT12H"), Some(12 * 3600));
        assert_eq!(parse_duration("P1DT2H30M"), Some(86_400 + 2 * 3600 + 1800));
        assert_eq!(parse_duration("P2W"), Some(14 * 86_400));
        assert_eq!(parse_duration("86400"), Some(86_400));
        for bad in ["", "P", "PT", "30D", "P1Y", "P1X", "PD"] {
            assert_eq!(parse_duration(bad), None, "{bad}");
        }
    }

    #[derive(serde::Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Probe {
        name: String,
        inner: Option<Inner>,
    }

    #[derive(serde::Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Inner {
        n: u32,
    }

    fn field_of(body: &str) -> (String, &'static str) {
        match parse_json::<Probe>(body.as_bytes()) {
            Err(Error::Validation(v)) => (v[0].field_name(), v[0].code),
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn json_errors_name_the_field() {
        assert_eq!(field_of("{}"), ("name".into(), "missing"));
        assert_eq!(field_of(r#"{"name": 1}"#), ("name".into(), "type_error"));
        assert_eq!(
            field_of(r#"{"name": "a", "inner": {"n": "x"}}"#),
            ("inner.n".into(), "type_error")
        );
        assert_eq!(
            field_of(r#"{"name": "a", "org_id": "x"}"#),
            ("org_id".into(), "extra_forbidden")
        );
        assert_eq!(field_of("{not json"), ("".into(), "json_invalid"));
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        assert_eq!(field_of(&deep), ("".into(), "json_too_deep"));
        // Brackets inside strings are text, not nesting.
        let quoted = format!(r#"{{"name": "{}\"{}"}}"#, "[".repeat(100), "{".repeat(100));
        assert!(parse_json::<Probe>(quoted.as_bytes()).is_ok());
        assert_eq!(field_of(""), ("".into(), "missing"));
    }
}

#[cfg(test)]
mod proxy_tests {
    use super::*;

    #[test]
    fn forwarded_addresses_count_only_behind_trusted_proxies() {
        let trusted: Vec<ipnet::IpNet> = vec!["10.0.0.0/8".parse().expect("cidr")];
        let mut h = HeaderMap::new();
        h.insert(
            "x-forwarded-for",
            "203.0.113.9, 198.51.100.7, 10.1.2.3"
                .parse()
                .expect("header"),
        );
        let proxy = Some("10.0.0.5".parse().expect("ip"));
        let stranger = Some("192.0.2.1".parse().expect("ip"));
        // Behind the proxy: the right-most address that is not a proxy; forged ones further left lose.
        assert_eq!(resolve_client_ip(proxy, &h, &trusted), "198.51.100.7");
        // From anywhere else, the header is ignored.
        assert_eq!(resolve_client_ip(stranger, &h, &trusted), "192.0.2.1");
        assert_eq!(
            resolve_client_ip(proxy, &HeaderMap::new(), &trusted),
            "10.0.0.5"
        );
        assert_eq!(resolve_client_ip(None, &h, &trusted), "unknown");
    }
}
