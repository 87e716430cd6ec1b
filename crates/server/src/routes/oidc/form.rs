//! The sign-in form of the authorization endpoint, and its CSRF token: an HMAC, keyed by a
//! secret of the deployment, over the time it was served, the browser's cookie, the
//! organization and every field of the request the form carries. A form not served to this
//! browser, or changed since (a forged `state`, another `redirect_uri`), does not verify; one
//! served more than [`FORM_TTL_SECS`] ago has expired.

use axum::http::StatusCode;
use axum::response::Response;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use roster_domain::model::{OidcClient, Organization};
use roster_domain::secrets::{constant_time_eq, random_secret};
use roster_domain::Error;

use super::field;
use super::page::{self, internal, Lang, SignInForm, Text};
use crate::state::AppState;

/// The request's fields that the form carries, in the order the CSRF token covers them.
pub(super) const CARRIED: [&str; 9] = [
    "client_id",
    "redirect_uri",
    "response_type",
    "scope",
    "state",
    "nonce",
    "code_challenge",
    "code_challenge_method",
    "ui_locales",
];

const SECRET_SETTING: &str = "oidc_form_secret";

/// How long a served form can be posted (as Keycloak's default login timeout).
pub(super) const FORM_TTL_SECS: i64 = 30 * 60;

/// What a presented form token is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Stamp {
    /// Served to this browser for exactly these fields, less than [`FORM_TTL_SECS`] ago.
    Valid,
    /// Served to this browser for these fields, but too long ago.
    Expired,
    /// Missing, altered, for other fields or another browser.
    Invalid,
}

fn now_secs() -> i64 {
    roster_domain::types::now_micros() / 1_000_000
}

/// `{issued}.{mac}`: an HMAC over what the token is for (`kind`), when it was issued and each
/// of `parts` (length-prefixed, so that no two lists of parts read alike).
pub(super) fn stamped_token(
    key: &ring::hmac::Key,
    kind: &str,
    issued: i64,
    parts: &[&str],
) -> String {
    let mut msg = format!("{kind}\n{issued}\n");
    for p in parts {
        msg.push_str(&format!("{}:{p}\n", p.len()));
    }
    let mac = URL_SAFE_NO_PAD.encode(ring::hmac::sign(key, msg.as_bytes()).as_ref());
    format!("{issued}.{mac}")
}

/// Checks a [`stamped_token`]: its MAC first, then its age.
pub(super) fn check_stamped(
    key: &ring::hmac::Key,
    kind: &str,
    parts: &[&str],
    presented: Option<&str>,
) -> Stamp {
    let Some((issued, _)) = presented.and_then(|p| p.split_once('.')) else {
        return Stamp::Invalid;
    };
    let Ok(issued) = issued.parse::<i64>() else {
        return Stamp::Invalid;
    };
    let expected = stamped_token(key, kind, issued, parts);
    if !constant_time_eq(&expected, presented.unwrap_or_default()) {
        return Stamp::Invalid;
    }
    let age = now_secs() - issued;
    // A token from the future was not made by this deployment's clocks (a minute of skew).
    if (-60..=FORM_TTL_SECS).contains(&age) {
        Stamp::Valid
    } else {
        Stamp::Expired
    }
}

/// The deployment's key for form tokens, made on first use and shared by every node.
pub(super) async fn form_key(s: &AppState) -> Result<ring::hmac::Key, Error> {
    let store = &s.core.store;
    let secret = match store.get_setting(SECRET_SETTING).await? {
        Some(v) => v,
        None => {
            let now = roster_domain::types::now_micros();
            store
                .put_setting(SECRET_SETTING, &random_secret(), now)
                .await?;
            // Read back: of two nodes making one at once, both use the one that stayed.
            store
                .get_setting(SECRET_SETTING)
                .await?
                .ok_or_else(|| Error::Internal(anyhow::anyhow!("form secret not stored")))?
        }
    };
    Ok(ring::hmac::Key::new(
        ring::hmac::HMAC_SHA256,
        secret.as_bytes(),
    ))
}

/// The form token of an emailed link's landing page: binds the form to the browser that opened
/// the page, so that no other site can make a browser post a link it was never shown (a
/// sign-in link of the attacker's own account, signing the victim's browser in as the attacker).
pub(super) fn link_form_token(
    key: &ring::hmac::Key,
    browser: &str,
    org: &Organization,
    link_token: &str,
) -> String {
    let msg = format!(
        "link\n{}:{browser}\n{}:{}\n{}:{link_token}\n",
        browser.len(),
        org.id.len(),
        org.id,
        link_token.len()
    );
    URL_SAFE_NO_PAD.encode(ring::hmac::sign(key, msg.as_bytes()).as_ref())
}

/// Whether `presented` is the form token of this browser, organization and link.
pub(super) fn link_form_token_ok(
    key: &ring::hmac::Key,
    browser: Option<&str>,
    org: &Organization,
    link_token: &str,
    presented: Option<&str>,
) -> bool {
    match (browser, presented) {
        (Some(b), Some(p)) => constant_time_eq(&link_form_token(key, b, org, link_token), p),
        _ => false,
    }
}

/// What the sign-in form's token covers: the browser, the organization and the carried fields.
fn csrf_parts<'a>(
    browser: &'a str,
    org: &'a Organization,
    fields: &'a [(String, String)],
) -> Vec<&'a str> {
    let mut parts = vec![browser, org.id.as_str()];
    parts.extend(CARRIED.iter().map(|n| field(fields, n).unwrap_or_default()));
    parts
}

#[allow(clippy::too_many_arguments)]
pub(super) async fn form(
    s: &AppState,
    org: &Organization,
    client: &OidcClient,
    lang: Lang,
    browser: &str,
    f: &[(String, String)],
    status: StatusCode,
    notice: Option<Text>,
) -> Response {
    let key = match form_key(s).await {
        Ok(k) => k,
        Err(e) => return internal(lang, Some(org), e),
    };
    let mut hidden: Vec<(&'static str, String)> = CARRIED
        .iter()
        .filter_map(|n| field(f, n).map(|v| (*n, v.to_owned())))
        .collect();
    let csrf = stamped_token(&key, "authorize", now_secs(), &csrf_parts(browser, org, f));
    hidden.push(("csrf", csrf));
    let action = format!("/realms/{}/protocol/openid-connect/auth", org.id);
    let redirect_uri = field(f, "redirect_uri").unwrap_or_default();
    // The serializer is not `Send`: gone before anything is awaited.
    let query = {
        let mut q = form_urlencoded::Serializer::new(String::new());
        for name in CARRIED {
            if let Some(v) = field(f, name) {
                q.append_pair(name, v);
            }
        }
        q.finish()
    };
    let connections = super::buttons::buttons(s, org, lang, &query).await;
    page::sign_in(
        status,
        &SignInForm {
            lang,
            org,
            client_name: &client.name,
            action: &action,
            hidden: &hidden,
            username: field(f, "username")
                .or(field(f, "login_hint"))
                .unwrap_or_default(),
            notice,
            target_origin: super::origin_of(redirect_uri).as_deref(),
            connections: &connections,
        },
    )
}

/// Whether `given` is the CSRF token of this browser for exactly this request, and still fresh.
pub(super) async fn csrf_check(
    s: &AppState,
    browser: Option<&str>,
    org: &Organization,
    fields: &[(String, String)],
    given: Option<&str>,
) -> Result<Stamp, Error> {
    let Some(browser) = browser else {
        return Ok(Stamp::Invalid);
    };
    let key = form_key(s).await?;
    Ok(check_stamped(
        &key,
        "authorize",
        &csrf_parts(browser, org, fields),
        given,
    ))
}
