//! The authorization endpoint (`/realms/{org}/protocol/openid-connect/auth`): the code flow
//! with PKCE, `state`, `nonce`, `prompt` and `max_age`, and the hosted sign-in form it shows.
//!
//! Until the client and its exact redirect URI are known, every problem is a page and never a
//! redirect (no open redirect); afterwards, errors go back to the client as OAuth says. The
//! form's hidden fields carry the request, bound to the browser by its CSRF token (`form.rs`).

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use roster_domain::core::{BrowserLink, BrowserSession, CodeBinding, SESSION_TTL_SECS};
use roster_domain::model::{OidcClient, Organization};
use roster_domain::secrets::random_secret;
use roster_domain::types::now_micros;
use roster_domain::Error;

use super::form::{csrf_valid, form};
use super::page::{self, internal, Lang, Text};
use super::{cookie, field, issuer, set_cookie, single_valued, with_params, BROWSER_COOKIE};
use crate::extract::Req;
use crate::state::AppState;

/// An OAuth error for the client, sent back to its (registered) redirect URI.
pub(super) struct Refusal(&'static str, &'static str);

pub(super) fn check_request(
    client: &OidcClient,
    f: &[(String, String)],
    get: bool,
) -> Result<CodeBinding, Refusal> {
    if field(f, "request").is_some() || field(f, "request_uri").is_some() {
        return Err(Refusal(
            "request_not_supported",
            "request objects are not supported",
        ));
    }
    if field(f, "response_type") != Some("code") {
        return Err(Refusal(
            "unsupported_response_type",
            "response_type must be code",
        ));
    }
    let challenge = field(f, "code_challenge");
    match (challenge, field(f, "code_challenge_method")) {
        (Some(c), Some("S256")) => {
            if c.len() != 43
                || !c
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            {
                return Err(Refusal(
                    "invalid_request",
                    "code_challenge must be a base64url SHA-256",
                ));
            }
        }
        (Some(_), _) => {
            return Err(Refusal(
                "invalid_request",
                "code_challenge_method must be S256",
            ))
        }
        (None, Some(_)) => {
            return Err(Refusal(
                "invalid_request",
                "code_challenge_method without code_challenge",
            ))
        }
        (None, None) if client.is_public() => {
            return Err(Refusal(
                "invalid_request",
                "code_challenge (PKCE, S256) is required for this client",
            ))
        }
        (None, None) => {}
    }
    if get {
        if let Some(m) = field(f, "max_age") {
            if m.parse::<u32>().is_err() {
                return Err(Refusal(
                    "invalid_request",
                    "max_age must be a number of seconds",
                ));
            }
        }
        if let Some(p) = field(f, "prompt") {
            let values: Vec<&str> = p.split(' ').collect();
            if values
                .iter()
                .any(|v| !matches!(*v, "none" | "login" | "consent" | "select_account"))
                || (values.contains(&"none") && values.len() > 1)
            {
                return Err(Refusal("invalid_request", "prompt is not valid"));
            }
        }
    }
    Ok(CodeBinding {
        client_id: client.client_id.clone(),
        redirect_uri: field(f, "redirect_uri").unwrap_or_default().to_owned(),
        code_challenge: challenge.map(str::to_owned),
        nonce: field(f, "nonce").map(str::to_owned),
        scope: field(f, "scope").unwrap_or("openid").to_owned(),
    })
}

pub(super) fn redirect(location: &str, cookies: Vec<HeaderValue>) -> Response {
    let mut r = StatusCode::SEE_OTHER.into_response();
    let h = r.headers_mut();
    if let Ok(v) = HeaderValue::from_str(location) {
        h.insert(header::LOCATION, v);
    }
    for c in cookies {
        h.append(header::SET_COOKIE, c);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    r
}

fn refuse_to_client(
    s: &AppState,
    org: &Organization,
    f: &[(String, String)],
    r: Refusal,
) -> Response {
    let redirect_uri = field(f, "redirect_uri").unwrap_or_default();
    let iss = issuer(s, org);
    let mut params = vec![("error", r.0), ("error_description", r.1)];
    if let Some(state) = field(f, "state") {
        params.push(("state", state));
    }
    params.push(("iss", &iss));
    redirect(&with_params(redirect_uri, &params), vec![])
}

/// The organization, the client and its redirect URI, or the page that says which is wrong.
pub(super) async fn resolve(
    s: &AppState,
    realm: &str,
    f: &[(String, String)],
) -> Result<(Organization, OidcClient, Lang), Response> {
    let ui = field(f, "ui_locales");
    let org = match s.core.find_org(realm).await {
        Ok(o) => o,
        Err(Error::NotFound(_)) => {
            let lang = ui
                .and_then(|l| l.split(' ').find_map(Lang::parse))
                .unwrap_or(Lang::En);
            return Err(page::error(
                StatusCode::NOT_FOUND,
                lang,
                None,
                Text::NoSuchOrg,
            ));
        }
        Err(e) => return Err(internal(Lang::En, None, e)),
    };
    let lang = Lang::choose(ui, &org);
    let client = match field(f, "client_id") {
        Some(id) => s
            .core
            .find_oidc_client(&org, id)
            .await
            .map_err(|e| internal(lang, Some(&org), e))?,
        None => None,
    };
    let Some(client) = client else {
        return Err(page::error(
            StatusCode::BAD_REQUEST,
            lang,
            Some(&org),
            Text::UnknownClient,
        ));
    };
    let registered =
        field(f, "redirect_uri").is_some_and(|u| client.redirect_uris.iter().any(|r| r == u));
    if !registered {
        return Err(page::error(
            StatusCode::BAD_REQUEST,
            lang,
            Some(&org),
            Text::BadRedirect,
        ));
    }
    Ok((org, client, lang))
}

/// Sends the browser back to the client with a fresh code.
pub(super) async fn grant(
    s: &AppState,
    org: &Organization,
    session: &BrowserSession,
    binding: &CodeBinding,
    state: Option<&str>,
    cookies: Vec<HeaderValue>,
    lang: Lang,
) -> Response {
    let code = match s.core.issue_authorization_code(session, binding).await {
        Ok(c) => c,
        Err(e) => return internal(lang, Some(org), e),
    };
    let iss = issuer(s, org);
    let mut params = vec![("code", code.as_str())];
    if let Some(st) = state {
        params.push(("state", st));
    }
    params.push(("iss", &iss));
    redirect(&with_params(&binding.redirect_uri, &params), cookies)
}

/// Start of the code flow: signs in at once with a live session (unless `prompt=login` or
/// `max_age` asks for a fresh sign-in), else shows the sign-in form.
pub async fn show(
    State(s): State<AppState>,
    Path(realm): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let pairs = form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .into_owned()
        .collect();
    let Ok(f) = single_valued(pairs) else {
        return page::error(StatusCode::BAD_REQUEST, Lang::En, None, Text::BadRequest);
    };
    let (org, client, lang) = match resolve(&s, &realm, &f).await {
        Ok(v) => v,
        Err(page) => return page,
    };
    let binding = match check_request(&client, &f, true) {
        Ok(b) => b,
        Err(r) => return refuse_to_client(&s, &org, &f, r),
    };
    let prompt: Vec<&str> = field(&f, "prompt")
        .map(|p| p.split(' ').collect())
        .unwrap_or_default();
    let max_age = field(&f, "max_age").and_then(|m| m.parse::<i64>().ok());
    let session = match cookie(&headers, &super::session_cookie_name(&org)) {
        Some(secret) => s.core.browser_session(&org, &secret).await.unwrap_or(None),
        None => None,
    };
    let now = now_micros() / 1_000_000;
    let usable = session.filter(|sess| {
        !prompt.contains(&"login") && max_age.is_none_or(|m| now - sess.auth_time <= m)
    });
    if let Some(sess) = usable {
        return grant(&s, &org, &sess, &binding, field(&f, "state"), vec![], lang).await;
    }
    if prompt.contains(&"none") {
        return refuse_to_client(
            &s,
            &org,
            &f,
            Refusal("login_required", "the user is not signed in"),
        );
    }
    let (browser, fresh) = match cookie(&headers, BROWSER_COOKIE) {
        Some(b) => (b, false),
        None => (random_secret(), true),
    };
    let mut resp = form(&s, &org, &client, lang, &browser, &f, StatusCode::OK, None).await;
    if fresh {
        if let Some(c) = set_cookie(&s, BROWSER_COOKIE, &browser, 400 * 86_400) {
            resp.headers_mut().append(header::SET_COOKIE, c);
        }
    }
    resp
}

/// The posted sign-in form: the CSRF token must be this browser's for exactly this request;
/// the password check is the core's (throttle, lockout and timing shared with the token
/// endpoint).
pub async fn submit(
    State(s): State<AppState>,
    Path(realm): Path<String>,
    req: Req,
    body: Bytes,
) -> Response {
    let pairs = form_urlencoded::parse(&body).into_owned().collect();
    let Ok(f) = single_valued(pairs) else {
        return page::error(StatusCode::BAD_REQUEST, Lang::En, None, Text::BadRequest);
    };
    let (org, client, lang) = match resolve(&s, &realm, &f).await {
        Ok(v) => v,
        Err(page) => return page,
    };
    let browser = cookie(&req.headers, BROWSER_COOKIE);
    let csrf_ok = match (&browser, field(&f, "csrf")) {
        (Some(b), Some(given)) => match csrf_valid(&s, b, &org, &f, given).await {
            Ok(ok) => ok,
            Err(e) => return internal(lang, Some(&org), e),
        },
        _ => false,
    };
    let binding = match (csrf_ok, check_request(&client, &f, false)) {
        (true, Ok(b)) => b,
        (true, Err(_)) => {
            return page::error(StatusCode::BAD_REQUEST, lang, Some(&org), Text::BadRequest)
        }
        (false, _) => {
            return page::error(StatusCode::BAD_REQUEST, lang, Some(&org), Text::FormExpired)
        }
    };
    let browser = browser.unwrap_or_default();
    let link = match field(&f, "action") {
        Some("email_link") => Some(BrowserLink::SignIn),
        Some("reset") => Some(BrowserLink::PasswordReset),
        _ => None,
    };
    if let Some(kind) = link {
        return super::emailed::email_link(&s, &org, &client, lang, &browser, &req, &f, kind).await;
    }
    let wrong = Some(Text::WrongCredentials);
    let (Some(user), Some(password)) = (field(&f, "username"), field(&f, "password")) else {
        return form(
            &s,
            &org,
            &client,
            lang,
            &browser,
            &f,
            StatusCode::BAD_REQUEST,
            wrong,
        )
        .await;
    };
    let signed_in = async {
        s.limits
            .check("password-grant", &format!("ip:{}", req.client_ip))
            .await?;
        s.limits
            .check(
                "password-grant",
                &format!("user:{}:{}", org.id, user.trim().to_lowercase()),
            )
            .await?;
        s.core
            .sign_in_with_password(&req.request_id, &org.id, user, password, &req.client_ip)
            .await
    }
    .await;
    let who = match signed_in {
        Ok(w) => w,
        Err(Error::Unauthenticated | Error::Validation(_)) => {
            return form(
                &s,
                &org,
                &client,
                lang,
                &browser,
                &f,
                StatusCode::UNAUTHORIZED,
                wrong,
            )
            .await
        }
        Err(e) => return internal(lang, Some(&org), e),
    };
    signed_in_continue(&s, &org, &req, who, &binding, field(&f, "state"), lang).await
}

/// After a sign-in: starts the browser's session and sends it back to the client with a code.
pub(super) async fn signed_in_continue(
    s: &AppState,
    org: &Organization,
    req: &Req,
    who: roster_domain::core::SignedIn,
    binding: &CodeBinding,
    state: Option<&str>,
    lang: Lang,
) -> Response {
    let secret = match s.core.start_browser_session(&req.request_id, &who).await {
        Ok(v) => v,
        Err(e) => return internal(lang, Some(org), e),
    };
    let cookies = set_cookie(
        s,
        &super::session_cookie_name(org),
        &secret,
        SESSION_TTL_SECS,
    )
    .into_iter()
    .collect();
    let session = BrowserSession {
        who,
        auth_time: now_micros() / 1_000_000,
        since: roster_domain::types::session_stamp(),
    };
    grant(s, org, &session, binding, state, cookies, lang).await
}
