//! Signing in through an upstream provider from the hosted sign-in page: the page's link
//! `…/auth/connections/{name}?<the authorization request>` sends the browser to the provider,
//! which sends it back to `/connections/{org}/{name}/callback` (one per organization and
//! connection; `google-oauth2`'s is `/connections/google-oauth2/callback`, one for the
//! deployment); the core decides who comes in, and
//! the flow then continues exactly as after a password (the client's redirect with a code).
//!
//! The `state` sent upstream is signed (HMAC, the deployment's form key) and carries the
//! organization, the connection, the authorization request, an expiry and the hash of a
//! cookie set on this browser (`roster_upstream`, `Path=/connections/`): a `state` that is
//! forged, changed, expired, or brought back by another browser is refused with a page. The
//! nonce and the PKCE verifier are derived from the state's random part with the same key, so
//! they are never in a URL and need no storage.

use std::collections::BTreeMap;

use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use roster_domain::connections::UpstreamConnection;
use roster_domain::model::{Connection, Organization};
use roster_domain::secrets::{constant_time_eq, hash_secret, random_secret};
use roster_domain::types::now_micros;
use serde::{Deserialize, Serialize};

use super::authorize::{check_request, redirect, resolve, signed_in_continue};
use super::buttons::GOOGLE;
use super::form::{form_key, CARRIED};
use super::page::{self, internal, Lang, Text};
use super::{cookie, field, single_valued};
use crate::extract::Req;
use crate::state::AppState;
use crate::upstream::{self, Provider, UpstreamError};

const BINDING_COOKIE: &str = "roster_upstream";
const STATE_TTL_SECS: i64 = 600;

/// The connection `name` of `org`: what it is, the organization's record of it, and how to
/// reach it; `None` when there is no such connection (or Google is not configured).
async fn provider(
    s: &AppState,
    org: &Organization,
    name: &str,
) -> Result<Option<(Connection, Option<UpstreamConnection>, Provider)>, roster_domain::Error> {
    let public = &s.core.config.public_url;
    if name == GOOGLE {
        let c = &s.config;
        return Ok(c.google_client_id.as_ref().map(|id| {
            let p = Provider {
                issuer: c.google_issuer.clone(),
                client_id: id.clone(),
                client_secret: c.google_client_secret.clone().unwrap_or_default(),
                redirect_uri: upstream::callback_uri(public, None, GOOGLE),
                allow_private: c.connection_allow_private,
            };
            (Connection::GoogleOauth2, None, p)
        }));
    }
    let Some(conn) = s.core.find_connection(org, name).await? else {
        return Ok(None);
    };
    let p = Provider {
        issuer: conn.issuer.clone(),
        client_id: conn.client_id.clone(),
        client_secret: conn.client_secret.clone(),
        redirect_uri: upstream::callback_uri(public, Some(&org.id), &conn.name),
        allow_private: s.config.connection_allow_private,
    };
    Ok(Some((Connection::Oidc(conn.name.clone()), Some(conn), p)))
}

/// What the signed `state` carries.
#[derive(Serialize, Deserialize)]
struct Carried {
    /// Organization id, connection name.
    o: String,
    c: String,
    /// The authorization request's carried fields.
    r: BTreeMap<String, String>,
    /// SHA-256 of the browser's binding cookie.
    b: String,
    /// Expiry, seconds since the epoch.
    e: i64,
    /// Random: what the nonce and PKCE verifier are derived from.
    n: String,
}

fn mac(key: &ring::hmac::Key, purpose: &str, data: &str) -> String {
    let msg = format!("upstream-{purpose}\n{data}");
    URL_SAFE_NO_PAD.encode(ring::hmac::sign(key, msg.as_bytes()).as_ref())
}

fn sign_state(key: &ring::hmac::Key, c: &Carried) -> String {
    let body = URL_SAFE_NO_PAD.encode(serde_json::to_vec(c).unwrap_or_default());
    let sig = mac(key, "state", &body);
    format!("{body}.{sig}")
}

/// The state's contents, if this deployment signed it, for this connection (of this
/// organization, `org`, unless it is `google-oauth2`), for this browser, and it has not
/// expired.
fn open_state(
    key: &ring::hmac::Key,
    state: &str,
    org: Option<&str>,
    name: &str,
    binding: Option<&str>,
) -> Option<Carried> {
    let (body, sig) = state.split_once('.')?;
    if !constant_time_eq(&mac(key, "state", body), sig) {
        return None;
    }
    let c: Carried = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(body).ok()?).ok()?;
    let bound = binding.is_some_and(|b| constant_time_eq(&hash_secret(b), &c.b));
    let here = c.c == name && org.is_none_or(|o| o == c.o);
    (bound && here && c.e > now_micros() / 1_000_000).then_some(c)
}

fn binding_cookie(s: &AppState, value: &str, max_age: i64) -> Option<HeaderValue> {
    let secure = if s.core.config.public_url.starts_with("https://") {
        "; Secure"
    } else {
        ""
    };
    HeaderValue::from_str(&format!(
        "{BINDING_COOKIE}={value}; Path=/connections/; Max-Age={max_age}; HttpOnly; SameSite=Lax{secure}"
    ))
    .ok()
}

fn unreachable_page(lang: Lang, org: &Organization, e: &UpstreamError) -> Response {
    tracing::warn!(org = %org.id, error = ?e, "upstream provider failed");
    page::error(
        StatusCode::BAD_GATEWAY,
        lang,
        Some(org),
        Text::UpstreamFailed,
    )
}

/// The organization and the page's language of a sign-in that starts here. With an
/// authorization request (any of its fields but `ui_locales`), its client and redirect URI are
/// checked as the authorization endpoint checks them; without one (an invitation's page, when
/// no client is waiting) the sign-in ends on the page saying the person is signed in.
async fn requested(
    s: &AppState,
    realm: &str,
    f: &[(String, String)],
) -> Result<(Organization, Lang), Response> {
    let carries = f
        .iter()
        .any(|(k, _)| k != "ui_locales" && CARRIED.contains(&k.as_str()));
    if carries {
        let (org, client, lang) = resolve(s, realm, f).await?;
        if check_request(&client, f, true).is_err() {
            return Err(page::error(
                StatusCode::BAD_REQUEST,
                lang,
                Some(&org),
                Text::BadRequest,
            ));
        }
        return Ok((org, lang));
    }
    match s.core.find_org(realm).await {
        Ok(org) => {
            let lang = Lang::choose(field(f, "ui_locales"), &org);
            Ok((org, lang))
        }
        Err(roster_domain::Error::NotFound(_)) => Err(page::error(
            StatusCode::NOT_FOUND,
            Lang::En,
            None,
            Text::NoSuchOrg,
        )),
        Err(e) => Err(internal(Lang::En, None, e)),
    }
}

/// Sends the browser to the upstream provider, with the authorization request in `state`.
pub async fn start(
    State(s): State<AppState>,
    Path((realm, name)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    req: Req,
) -> Response {
    let pairs = form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .into_owned()
        .collect();
    let Ok(f) = single_valued(pairs) else {
        return page::error(StatusCode::BAD_REQUEST, Lang::En, None, Text::BadRequest);
    };
    let (org, lang) = match requested(&s, &realm, &f).await {
        Ok(v) => v,
        Err(page) => return page,
    };
    // Unauthenticated, and each start may make Roster call the provider: the limit of
    // password sign-in per address.
    if let Err(e) = s
        .limits
        .check("password-grant", &format!("ip:{}", req.client_ip))
        .await
    {
        return internal(lang, Some(&org), e);
    }
    let (_, _, p) = match provider(&s, &org, &name).await {
        Ok(Some(v)) => v,
        Ok(None) => {
            return page::error(
                StatusCode::NOT_FOUND,
                lang,
                Some(&org),
                Text::NoSuchConnection,
            )
        }
        Err(e) => return internal(lang, Some(&org), e),
    };
    let key = match form_key(&s).await {
        Ok(k) => k,
        Err(e) => return internal(lang, Some(&org), e),
    };
    let binding = random_secret();
    let carried = Carried {
        o: org.id.to_string(),
        c: name.clone(),
        r: CARRIED
            .iter()
            .filter_map(|n| field(&f, n).map(|v| ((*n).to_owned(), v.to_owned())))
            .collect(),
        b: hash_secret(&binding),
        e: now_micros() / 1_000_000 + STATE_TTL_SECS,
        n: random_secret(),
    };
    let state = sign_state(&key, &carried);
    let (nonce, verifier) = (
        mac(&key, "nonce", &carried.n),
        mac(&key, "pkce", &carried.n),
    );
    match upstream::authorization_url(&p, &state, &nonce, &verifier).await {
        Ok(url) => redirect(
            &url,
            binding_cookie(&s, &binding, STATE_TTL_SECS)
                .into_iter()
                .collect(),
        ),
        Err(e) => unreachable_page(lang, &org, &e),
    }
}

/// `google-oauth2`'s callback, the one of the whole deployment.
pub async fn google_callback(
    State(s): State<AppState>,
    Path(name): Path<String>,
    RawQuery(query): RawQuery,
    req: Req,
) -> Response {
    if name != GOOGLE {
        return page::error(
            StatusCode::NOT_FOUND,
            Lang::En,
            None,
            Text::NoSuchConnection,
        );
    }
    callback(s, None, name, query, req).await
}

/// The callback of an organization's own connection.
pub async fn org_callback(
    State(s): State<AppState>,
    Path((org, name)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    req: Req,
) -> Response {
    if name == GOOGLE {
        return page::error(
            StatusCode::NOT_FOUND,
            Lang::En,
            None,
            Text::NoSuchConnection,
        );
    }
    callback(s, Some(org), name, query, req).await
}

/// The error codes of RFC 6749 §4.1.2.1 and OpenID Connect Core §3.1.2.6: the only provider
/// `error` values the audit log takes as given (anything else is `other`).
const ERROR_CODES: &[&str] = &[
    "invalid_request",
    "unauthorized_client",
    "access_denied",
    "unsupported_response_type",
    "invalid_scope",
    "server_error",
    "temporarily_unavailable",
    "interaction_required",
    "login_required",
    "account_selection_required",
    "consent_required",
    "invalid_request_uri",
    "invalid_request_object",
    "request_not_supported",
    "request_uri_not_supported",
    "registration_not_supported",
];

/// Where the upstream provider sends the browser back: the state is checked (made for this
/// callback's organization and connection), the response's `iss` (RFC 9207), the code
/// exchanged and the ID token verified, the core decides, and the flow continues.
async fn callback(
    s: AppState,
    org_path: Option<String>,
    name: String,
    query: Option<String>,
    req: Req,
) -> Response {
    let pairs = form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .into_owned()
        .collect();
    let Ok(q) = single_valued(pairs) else {
        return page::error(StatusCode::BAD_REQUEST, Lang::En, None, Text::BadRequest);
    };
    let key = match form_key(&s).await {
        Ok(k) => k,
        Err(e) => return internal(Lang::En, None, e),
    };
    let binding = cookie(&req.headers, BINDING_COOKIE);
    let Some(carried) = field(&q, "state")
        .and_then(|st| open_state(&key, st, org_path.as_deref(), &name, binding.as_deref()))
    else {
        tracing::warn!(connection = %name, "upstream callback with a state this browser was not given");
        return page::error(StatusCode::BAD_REQUEST, Lang::En, None, Text::FormExpired);
    };
    let org = match s.core.find_org(&carried.o).await {
        Ok(o) => o,
        // Deleted since the sign-in began.
        Err(roster_domain::Error::NotFound(_)) => {
            return page::error(StatusCode::NOT_FOUND, Lang::En, None, Text::NoSuchOrg)
        }
        Err(e) => return internal(Lang::En, None, e),
    };
    let fields: Vec<(String, String)> = carried.r.clone().into_iter().collect();
    let lang = Lang::choose(field(&fields, "ui_locales"), &org);
    let done = |r: Response| clear_binding(&s, r);
    let (via, conn, p) = match provider(&s, &org, &name).await {
        Ok(Some(v)) => v,
        Ok(None) => {
            return done(page::error(
                StatusCode::NOT_FOUND,
                lang,
                Some(&org),
                Text::NoSuchConnection,
            ))
        }
        Err(e) => return done(internal(lang, Some(&org), e)),
    };
    if let Err(e) = s
        .limits
        .check("password-grant", &format!("ip:{}", req.client_ip))
        .await
    {
        return done(internal(lang, Some(&org), e));
    }
    let Some(code) = field(&q, "code") else {
        // The provider's own refusal (the person cancelled, say).
        let reason = match field(&q, "error") {
            Some(e) if ERROR_CODES.contains(&e) => e.to_owned(),
            Some(_) => "other".to_owned(),
            None => "no_code".to_owned(),
        };
        let _ = s
            .core
            .upstream_failed(&req.request_id, &org, &via, &reason)
            .await;
        return done(page::error(
            StatusCode::BAD_REQUEST,
            lang,
            Some(&org),
            Text::UpstreamFailed,
        ));
    };
    let (nonce, verifier) = (
        mac(&key, "nonce", &carried.n),
        mac(&key, "pkce", &carried.n),
    );
    let checked = match upstream::check_iss(&p, field(&q, "iss")).await {
        Ok(()) => upstream::exchange(&p, code, &nonce, &verifier).await,
        Err(e) => Err(e),
    };
    let claims = match checked {
        Ok(c) => c,
        Err(e) => {
            let reason = match &e {
                UpstreamError::Token(r, _) => *r,
                UpstreamError::Unreachable(_) => "unreachable",
            };
            if let Err(err) = s
                .core
                .upstream_failed(&req.request_id, &org, &via, reason)
                .await
            {
                return done(internal(lang, Some(&org), err));
            }
            return done(match &e {
                UpstreamError::Token(..) => {
                    tracing::info!(org = %org.id, error = ?e, "upstream ID token refused");
                    page::error(
                        StatusCode::BAD_REQUEST,
                        lang,
                        Some(&org),
                        Text::UpstreamFailed,
                    )
                }
                UpstreamError::Unreachable(_) => unreachable_page(lang, &org, &e),
            });
        }
    };
    let who = match s
        .core
        .sign_in_upstream(&req.request_id, &org, &via, conn.as_ref(), &claims)
        .await
    {
        Ok(Ok(who)) => who,
        Ok(Err(why)) => {
            tracing::info!(org = %org.id, reason = why.as_str(), "upstream sign-in refused");
            return done(page::error(
                StatusCode::FORBIDDEN,
                lang,
                Some(&org),
                Text::UpstreamRefused,
            ));
        }
        Err(e) => return done(internal(lang, Some(&org), e)),
    };
    if field(&fields, "client_id").is_none() {
        // Begun with no client waiting (an invitation's page): signed in, and said so.
        return done(super::landing::signed_in_here(&s, &org, &req, who, lang, None).await);
    }
    // The client and its redirect URI are checked again: either may have changed since.
    let (org, client, lang) = match resolve(&s, &org.id, &fields).await {
        Ok(v) => v,
        Err(page) => return done(page),
    };
    let Ok(binding) = check_request(&client, &fields, false) else {
        return done(page::error(
            StatusCode::BAD_REQUEST,
            lang,
            Some(&org),
            Text::BadRequest,
        ));
    };
    let state = field(&fields, "state").map(str::to_owned);
    done(signed_in_continue(&s, &org, &req, who, &binding, state.as_deref(), lang).await)
}

/// The binding cookie has done its work once the browser is back.
fn clear_binding(s: &AppState, mut r: Response) -> Response {
    if let Some(c) = binding_cookie(s, "", 0) {
        r.headers_mut().append(header::SET_COOKIE, c);
    }
    r
}
