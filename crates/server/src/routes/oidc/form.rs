//! The sign-in form of the authorization endpoint, and its CSRF token: an HMAC, keyed by a
//! secret of the deployment, over the browser's cookie, the organization and every field of
//! the request the form carries. A form not served to this browser, or changed since (a forged
//! `state`, another `redirect_uri`), does not verify.

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

/// The deployment's key for form tokens, made on first use and shared by every node.
pub(super) async fn form_key(s: &AppState) -> Result<ring::hmac::Key, Error> {
    let store = &s.core.store;
    let secret = match store.get_setting(SECRET_SETTING).await? {
        Some(v) => v,
        None => {
            store.put_setting(SECRET_SETTING, &random_secret()).await?;
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

fn csrf_token(
    key: &ring::hmac::Key,
    browser: &str,
    org: &Organization,
    fields: &[(String, String)],
) -> String {
    let mut msg = format!(
        "authorize\n{}:{browser}\n{}:{}\n",
        browser.len(),
        org.id.len(),
        org.id
    );
    for name in CARRIED {
        let v = field(fields, name).unwrap_or_default();
        msg.push_str(&format!("{}:{v}\n", v.len()));
    }
    URL_SAFE_NO_PAD.encode(ring::hmac::sign(key, msg.as_bytes()).as_ref())
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
    hidden.push(("csrf", csrf_token(&key, browser, org, f)));
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

/// Whether `given` is the CSRF token of this browser for exactly this request.
pub(super) async fn csrf_valid(
    s: &AppState,
    browser: &str,
    org: &Organization,
    fields: &[(String, String)],
    given: &str,
) -> Result<bool, Error> {
    let key = form_key(s).await?;
    Ok(constant_time_eq(
        &csrf_token(&key, browser, org, fields),
        given,
    ))
}
