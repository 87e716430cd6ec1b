//! The emailed links of the sign-in page: "email me a sign-in link" signs in and continues the
//! authorization request it was asked from; "forgot password" sets a new password and shows the
//! sign-in form of that request again. Landing pages never use a token on GET.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::Response;
use roster_domain::core::BrowserLink;
use roster_domain::model::Organization;
use roster_domain::secrets::random_secret;
use roster_domain::types::UserId;
use roster_domain::Error;
use serde_json::Value;

use super::authorize::{check_request, resolve, signed_in_continue};
use super::emailed::page_path;
use super::form::{form, form_key, link_form_token, link_form_token_ok};
use super::page::internal;
use super::page::{self, Lang, Text};
use super::{cookie, field, set_cookie, single_valued, BROWSER_COOKIE};
use crate::extract::Req;
use crate::state::AppState;

fn fields_of(request: &Value) -> Vec<(String, String)> {
    request
        .as_object()
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_owned())))
                .collect()
        })
        .unwrap_or_default()
}

async fn org_page(s: &AppState, realm: &str) -> Result<(Organization, Lang), Response> {
    match s.core.find_org(realm).await {
        Ok(o) => {
            let lang = Lang::choose(None, &o);
            Ok((o, lang))
        }
        Err(Error::NotFound(_)) => Err(page::error(
            StatusCode::NOT_FOUND,
            Lang::En,
            None,
            Text::NoSuchOrg,
        )),
        Err(e) => Err(internal(Lang::En, None, e)),
    }
}

fn token_of(query: Option<&str>, body: Option<&[u8]>) -> Option<String> {
    let bytes = body.unwrap_or_else(|| query.unwrap_or_default().as_bytes());
    let pairs = single_valued(form_urlencoded::parse(bytes).into_owned().collect()).ok()?;
    field(&pairs, "token").map(str::to_owned)
}

async fn landing(
    s: AppState,
    realm: String,
    query: Option<String>,
    headers: HeaderMap,
    kind: BrowserLink,
) -> Response {
    let (org, lang) = match org_page(&s, &realm).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let Some(token) = token_of(query.as_deref(), None) else {
        return page::error(StatusCode::GONE, lang, Some(&org), Text::LinkInvalid);
    };
    let link = match s.core.inspect_browser_link(&org, &token, kind).await {
        Ok(Some(l)) => l,
        Ok(None) => return page::error(StatusCode::GONE, lang, Some(&org), Text::LinkInvalid),
        Err(e) => return internal(lang, Some(&org), e),
    };
    let account = match s
        .core
        .store
        .get_user(&org.id, &UserId::from(&link.user_id))
        .await
    {
        Ok(Some(u)) => u.email,
        Ok(None) => return page::error(StatusCode::GONE, lang, Some(&org), Text::LinkInvalid),
        Err(e) => return internal(lang, Some(&org), e.into()),
    };
    let key = match form_key(&s).await {
        Ok(k) => k,
        Err(e) => return internal(lang, Some(&org), e),
    };
    let (browser, fresh) = match cookie(&headers, BROWSER_COOKIE) {
        Some(b) => (b, false),
        None => (random_secret(), true),
    };
    let csrf = link_form_token(&key, &browser, &org, &token);
    // A sign-in link's form answers with a redirect to the client: allowed by the page's CSP.
    let target = (kind == BrowserLink::SignIn)
        .then(|| fields_of(&link.request))
        .and_then(|f| field(&f, "redirect_uri").and_then(super::origin_of));
    let action = page_path(&org, kind);
    let mut resp = page::link_landing(
        lang,
        &org,
        page::LinkLanding {
            action: &action,
            token: &token,
            csrf: &csrf,
            account: &account,
            password: kind == BrowserLink::PasswordReset,
            form_target: target.as_deref(),
        },
    );
    if fresh {
        if let Some(c) = set_cookie(&s, BROWSER_COOKIE, &browser, 400 * 86_400) {
            resp.headers_mut().append(header::SET_COOKIE, c);
        }
    }
    resp
}

/// Refuses a link's form posted by a browser it was not shown to.
async fn link_form_checked(
    s: &AppState,
    org: &Organization,
    lang: Lang,
    headers: &HeaderMap,
    pairs: &[(String, String)],
    token: &str,
) -> Result<(), Response> {
    let key = form_key(s)
        .await
        .map_err(|e| internal(lang, Some(org), e))?;
    let browser = cookie(headers, BROWSER_COOKIE);
    if link_form_token_ok(&key, browser.as_deref(), org, token, field(pairs, "csrf")) {
        Ok(())
    } else {
        Err(page::error(
            StatusCode::BAD_REQUEST,
            lang,
            Some(org),
            Text::BadRequest,
        ))
    }
}

/// The landing page of an emailed sign-in link.
pub async fn sign_in_link_page(
    State(s): State<AppState>,
    Path(realm): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    landing(s, realm, query, headers, BrowserLink::SignIn).await
}

/// The landing page of an emailed reset link.
pub async fn reset_page(
    State(s): State<AppState>,
    Path(realm): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    landing(s, realm, query, headers, BrowserLink::PasswordReset).await
}

/// Uses a sign-in link: signs in and continues the flow it was asked from.
pub async fn use_sign_in_link(
    State(s): State<AppState>,
    Path(realm): Path<String>,
    req: Req,
    body: Bytes,
) -> Response {
    let (org, lang) = match org_page(&s, &realm).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let pairs =
        single_valued(form_urlencoded::parse(&body).into_owned().collect()).unwrap_or_default();
    let Some(token) = field(&pairs, "token").map(str::to_owned) else {
        return page::error(StatusCode::GONE, lang, Some(&org), Text::LinkInvalid);
    };
    if let Err(refused) = link_form_checked(&s, &org, lang, &req.headers, &pairs, &token).await {
        return refused;
    }
    let (who, request) = match s.core.use_sign_in_link(&req.request_id, &org, &token).await {
        Ok(v) => v,
        Err(Error::Unauthenticated) => {
            return page::error(StatusCode::GONE, lang, Some(&org), Text::LinkInvalid)
        }
        Err(e) => return internal(lang, Some(&org), e),
    };
    let f = fields_of(&request);
    // The client and its redirect URI are checked again: either may have changed since.
    let (org, client, lang) = match resolve(&s, &org.id, &f).await {
        Ok(v) => v,
        Err(page) => return page,
    };
    let Ok(binding) = check_request(&client, &f, false) else {
        return page::error(StatusCode::BAD_REQUEST, lang, Some(&org), Text::BadRequest);
    };
    signed_in_continue(&s, &org, &req, who, &binding, field(&f, "state"), lang).await
}

/// Sets the new password of a reset link (ending the account's other sessions), then shows the
/// sign-in form of the flow it was asked from, where the new password signs in.
pub async fn use_reset_link(
    State(s): State<AppState>,
    Path(realm): Path<String>,
    req: Req,
    body: Bytes,
) -> Response {
    let (org, lang) = match org_page(&s, &realm).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let pairs =
        single_valued(form_urlencoded::parse(&body).into_owned().collect()).unwrap_or_default();
    let (Some(token), Some(password)) = (field(&pairs, "token"), field(&pairs, "password")) else {
        return page::error(
            StatusCode::BAD_REQUEST,
            lang,
            Some(&org),
            Text::PasswordRules,
        );
    };
    if let Err(refused) = link_form_checked(&s, &org, lang, &req.headers, &pairs, token).await {
        return refused;
    }
    let link = match s
        .core
        .inspect_browser_link(&org, token, BrowserLink::PasswordReset)
        .await
    {
        Ok(Some(l)) => l,
        Ok(None) => return page::error(StatusCode::GONE, lang, Some(&org), Text::LinkInvalid),
        Err(e) => return internal(lang, Some(&org), e),
    };
    match s
        .core
        .complete_password_reset(&req.request_id, &org.id, token, password)
        .await
    {
        Ok(()) => {}
        Err(Error::Validation(_)) => {
            return page::error(
                StatusCode::BAD_REQUEST,
                lang,
                Some(&org),
                Text::PasswordRules,
            )
        }
        Err(Error::Unauthenticated) => {
            return page::error(StatusCode::GONE, lang, Some(&org), Text::LinkInvalid)
        }
        Err(e) => return internal(lang, Some(&org), e),
    }
    let f = fields_of(&link.request);
    let (org, client, lang) = match resolve(&s, &org.id, &f).await {
        Ok(v) => v,
        Err(page) => return page,
    };
    let (browser, fresh) = match cookie(&req.headers, BROWSER_COOKIE) {
        Some(b) => (b, false),
        None => (random_secret(), true),
    };
    let mut resp = form(
        &s,
        &org,
        &client,
        lang,
        &browser,
        &f,
        StatusCode::OK,
        Some(Text::PasswordSet),
    )
    .await;
    if fresh {
        if let Some(c) = set_cookie(&s, BROWSER_COOKIE, &browser, 400 * 86_400) {
            resp.headers_mut().append(header::SET_COOKIE, c);
        }
    }
    resp
}
