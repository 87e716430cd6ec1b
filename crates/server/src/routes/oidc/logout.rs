//! RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0): ends the browser's sign-on
//! session in the organization, and with it the codes and refresh tokens that session started.
//!
//! A request carrying a valid `id_token_hint` (an ID token this realm issued to the signed-in
//! person, expired or not) ends the session at once. Any other request could come from any
//! site, so the person is asked first: a "Sign out?" page whose form, bound to this browser,
//! posts the request back. The browser goes back to `post_logout_redirect_uri` only when the
//! client (named by `client_id` or the hint's audience) registered it exactly.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use roster_domain::model::Organization;
use roster_domain::secrets::random_secret;
use serde_json::Value;

use super::form::{check_stamped, form_key, stamped_token, Stamp};
use super::page::{self, Lang, Text};
use super::{cookie, field, issuer, set_cookie, single_valued, with_params, BROWSER_COOKIE};
use crate::extract::Req;
use crate::state::AppState;

/// The fields the confirmation form carries (its token covers them), in that order.
const CARRIED: [&str; 4] = [
    "client_id",
    "post_logout_redirect_uri",
    "state",
    "ui_locales",
];

/// The single audience of an ID token's claims.
fn audience(claims: &Value) -> Option<String> {
    match &claims["aud"] {
        Value::String(a) => Some(a.clone()),
        Value::Array(a) if a.len() == 1 => a[0].as_str().map(str::to_owned),
        _ => None,
    }
}

/// What the request says, once checked: the client it names, and whose a valid hint is.
struct Asked {
    client_id: Option<String>,
    /// The hint's `sub`, when the hint verifies against this realm.
    hint_sub: Option<String>,
}

fn asked(s: &AppState, org: &Organization, f: &[(String, String)]) -> Asked {
    let hinted =
        field(f, "id_token_hint").and_then(|h| s.keys.verify_id_token_hint(h, &issuer(s, org)));
    let hint_client = hinted.as_ref().and_then(audience);
    let hint_sub = hinted
        .as_ref()
        .and_then(|c| c["sub"].as_str().map(str::to_owned));
    match (hint_client, field(f, "client_id")) {
        // A client_id other than the hint's audience: the request contradicts itself, so it
        // names no client to return to and its hint proves nothing (RP-Initiated Logout §2).
        (Some(h), Some(c)) if h != c => Asked {
            client_id: None,
            hint_sub: None,
        },
        (Some(h), _) => Asked {
            client_id: Some(h),
            hint_sub,
        },
        (None, c) => Asked {
            client_id: c.map(str::to_owned),
            hint_sub: None,
        },
    }
}

/// `post_logout_redirect_uri`, if the named client of this organization registered it exactly.
async fn registered_target(
    s: &AppState,
    org: &Organization,
    client_id: Option<&str>,
    uri: Option<&str>,
) -> Option<String> {
    let (uri, id) = (uri?, client_id?);
    match s.core.find_oidc_client(org, id).await {
        Ok(Some(c)) if c.redirect_uris.iter().any(|r| r == uri) => Some(uri.to_owned()),
        _ => None,
    }
}

fn confirm_parts<'a>(
    browser: &'a str,
    org: &'a Organization,
    f: &'a [(String, String)],
) -> Vec<&'a str> {
    let mut parts = vec![browser, org.id.as_str()];
    parts.extend(CARRIED.iter().map(|n| field(f, n).unwrap_or_default()));
    parts
}

/// The "Sign out?" page, its form bound to this browser and to exactly this request.
async fn confirm_page(
    s: &AppState,
    org: &Organization,
    lang: Lang,
    req: &Req,
    f: &[(String, String)],
    target: Option<&str>,
) -> Response {
    let key = match form_key(s).await {
        Ok(k) => k,
        Err(e) => return page::internal(lang, Some(org), e),
    };
    let (browser, fresh) = match cookie(&req.headers, BROWSER_COOKIE) {
        Some(b) => (b, false),
        None => (random_secret(), true),
    };
    let now = roster_domain::types::now_micros() / 1_000_000;
    let mut hidden: Vec<(&'static str, String)> = CARRIED
        .iter()
        .filter_map(|n| field(f, n).map(|v| (*n, v.to_owned())))
        .collect();
    hidden.push((
        "csrf",
        stamped_token(&key, "logout", now, &confirm_parts(&browser, org, f)),
    ));
    let action = format!("/realms/{}/protocol/openid-connect/logout", org.id);
    let origin = target.and_then(super::origin_of);
    let mut resp = page::sign_out_confirm(lang, org, &action, &hidden, origin.as_deref());
    if fresh {
        if let Some(c) = set_cookie(s, BROWSER_COOKIE, &browser, 400 * 86_400) {
            resp.headers_mut().append(header::SET_COOKIE, c);
        }
    }
    resp
}

async fn end_session(
    s: AppState,
    realm: String,
    req: Req,
    pairs: Vec<(String, String)>,
    posted: bool,
) -> Response {
    let Ok(mut f) = single_valued(pairs) else {
        return page::error(StatusCode::BAD_REQUEST, Lang::En, None, Text::BadRequest);
    };
    let org = match s.core.find_org(&realm).await {
        Ok(o) => o,
        Err(_) => return page::error(StatusCode::NOT_FOUND, Lang::En, None, Text::NoSuchOrg),
    };
    let lang = Lang::choose(field(&f, "ui_locales"), &org);
    let a = asked(&s, &org, &f);
    // From here on the client is the one the request was checked to name.
    f.retain(|(k, _)| k != "client_id" && k != "id_token_hint");
    if let Some(id) = &a.client_id {
        f.push(("client_id".into(), id.clone()));
    }
    let target = registered_target(
        &s,
        &org,
        a.client_id.as_deref(),
        field(&f, "post_logout_redirect_uri"),
    )
    .await;
    let name = super::session_cookie_name(&org);
    let secret = cookie(&req.headers, &name);
    let session = match &secret {
        Some(secret) => s.core.browser_session(&org, secret).await.unwrap_or(None),
        None => None,
    };
    if let (Some(sess), Some(secret)) = (&session, &secret) {
        let hinted = a.hint_sub.as_deref() == Some(sess.who.user_id.as_str());
        let confirmed = posted && {
            match form_key(&s).await {
                Ok(key) => {
                    let browser = cookie(&req.headers, BROWSER_COOKIE).unwrap_or_default();
                    !browser.is_empty()
                        && check_stamped(
                            &key,
                            "logout",
                            &confirm_parts(&browser, &org, &f),
                            field(&f, "csrf"),
                        ) == Stamp::Valid
                }
                Err(e) => return page::internal(lang, Some(&org), e),
            }
        };
        if !hinted && !confirmed {
            return confirm_page(&s, &org, lang, &req, &f, target.as_deref()).await;
        }
        if let Err(e) = s
            .core
            .end_browser_session(&req.request_id, &org, secret)
            .await
        {
            tracing::error!(error = ?e, "logout failed");
            return page::error(
                StatusCode::SERVICE_UNAVAILABLE,
                lang,
                Some(&org),
                Text::Unavailable,
            );
        }
    }
    let mut resp = match target {
        Some(uri) => {
            let location = match field(&f, "state") {
                Some(st) => with_params(&uri, &[("state", st)]),
                None => uri,
            };
            let mut r = StatusCode::SEE_OTHER.into_response();
            let h = r.headers_mut();
            if let Ok(v) = HeaderValue::from_str(&location) {
                h.insert(header::LOCATION, v);
            }
            h.insert(
                header::REFERRER_POLICY,
                HeaderValue::from_static("no-referrer"),
            );
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            r
        }
        None => page::signed_out(lang, &org),
    };
    if let Some(c) = set_cookie(&s, &name, "", 0) {
        resp.headers_mut().append(header::SET_COOKIE, c);
    }
    resp
}

/// RP-initiated logout by a GET (the usual browser redirect from the client).
pub async fn logout(
    State(s): State<AppState>,
    Path(realm): Path<String>,
    RawQuery(query): RawQuery,
    req: Req,
) -> Response {
    let pairs = form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .into_owned()
        .collect();
    end_session(s, realm, req, pairs, false).await
}

/// Logout with the parameters in a form body: a client's form post, or the "Sign out?" page's
/// confirmation.
pub async fn logout_form(
    State(s): State<AppState>,
    Path(realm): Path<String>,
    req: Req,
    body: Bytes,
) -> Response {
    let pairs = form_urlencoded::parse(&body).into_owned().collect();
    end_session(s, realm, req, pairs, true).await
}
