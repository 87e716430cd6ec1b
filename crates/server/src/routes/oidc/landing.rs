//! The hosted landing pages of the links the member operations (org-user-management) email:
//! `/realms/{org}/login-actions/verify` (an invitation, or a sign-in link) and
//! `/realms/{org}/login-actions/reset-credentials` (a password reset).
//!
//! An invitation's or sign-in link's page offers the way its member signs in and no other: a
//! first password (an invitation), the sign-in link's button, or the button of their connection
//! ("Continue with Google"), which accepts the invitation, or signs in, by signing in there. Once accepted, the browser's single sign-on session starts and the flow
//! continues: to the client's redirect, when the link carries an authorization request (its
//! client and redirect URI checked exactly as the authorization endpoint checks them, before
//! anything is shown: never an open redirect); else to a page that says the person is signed
//! in, with a link to the invitation's `login_link` when it has one. A GET never uses a token
//! (mail scanners open links); the page's form posts it, bound to the browser that opened the
//! page, the link and the carried request.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::Response;
use roster_domain::core::{LinkView, SignedIn, SESSION_TTL_SECS};
use roster_domain::model::{Connection, OidcClient, Organization};
use roster_domain::secrets::random_secret;
use roster_domain::Error;

use super::authorize::{check_request, resolve, signed_in_continue};
use super::buttons::GOOGLE;
use super::form::{form, form_key, link_form_token, link_form_token_ok, CARRIED};
use super::landing_page::{self, done, Landing, Offer, Says};
use super::page::{self, internal, Lang, Text};
use super::{cookie, field, set_cookie, single_valued, BROWSER_COOKIE};
use crate::extract::Req;
use crate::state::AppState;

/// A landing page's link and what it carries, checked.
struct Opened {
    org: Organization,
    lang: Lang,
    token: String,
    /// The carried authorization request's fields (those of `CARRIED` that were sent).
    request: Vec<(String, String)>,
    /// The request's client, when the link carries a request.
    client: Option<OidcClient>,
}

impl Opened {
    /// The authorization request, form-encoded (the upstream button's query).
    fn query(&self) -> String {
        let mut q = form_urlencoded::Serializer::new(String::new());
        for (k, v) in &self.request {
            q.append_pair(k, v);
        }
        q.finish()
    }

    /// What the form token covers besides the browser and the organization: the link and
    /// every carried field, so that the form cannot be posted with another request.
    fn bound(&self) -> String {
        format!("{}\n{}", self.token, self.query())
    }

    fn target(&self) -> Option<String> {
        self.client.as_ref()?;
        field(&self.request, "redirect_uri").and_then(super::origin_of)
    }
}

/// The link's organization, token and carried request; a page when any of them is wrong. A
/// request is carried when any field of one other than `ui_locales` is sent: then its client
/// must be the organization's and its `redirect_uri` one the client registered, exactly.
async fn open(s: &AppState, realm: &str, raw: &[u8]) -> Result<Opened, Response> {
    let pairs = form_urlencoded::parse(raw).into_owned().collect();
    let Ok(pairs) = single_valued(pairs) else {
        return Err(page::error(
            StatusCode::BAD_REQUEST,
            Lang::En,
            None,
            Text::BadRequest,
        ));
    };
    let request: Vec<(String, String)> = CARRIED
        .iter()
        .filter_map(|n| field(&pairs, n).map(|v| ((*n).to_owned(), v.to_owned())))
        .collect();
    let carries = request.iter().any(|(k, _)| k != "ui_locales");
    let (org, client, lang) = if carries {
        let (org, client, lang) = resolve(s, realm, &request).await?;
        if check_request(&client, &request, true).is_err() {
            return Err(page::error(
                StatusCode::BAD_REQUEST,
                lang,
                Some(&org),
                Text::BadRequest,
            ));
        }
        (org, Some(client), lang)
    } else {
        let org = match s.core.find_org(realm).await {
            Ok(o) => o,
            Err(Error::NotFound(_)) => {
                return Err(page::error(
                    StatusCode::NOT_FOUND,
                    Lang::En,
                    None,
                    Text::NoSuchOrg,
                ))
            }
            Err(e) => return Err(internal(Lang::En, None, e)),
        };
        let lang = Lang::choose(field(&request, "ui_locales"), &org);
        (org, None, lang)
    };
    let Some(token) = field(&pairs, "token").map(str::to_owned) else {
        return Err(page::error(
            StatusCode::GONE,
            lang,
            Some(&org),
            Text::LinkInvalid,
        ));
    };
    Ok(Opened {
        org,
        lang,
        token,
        request,
        client,
    })
}

/// The live link of one of `purposes`, or the page saying it no longer works.
async fn view(s: &AppState, o: &Opened, purposes: &[&str]) -> Result<LinkView, Response> {
    match s
        .core
        .inspect_link(Some(&o.org.id), &o.token, purposes)
        .await
    {
        Ok(Some(v)) if v.account.is_some() => Ok(v),
        Ok(_) => Err(page::error(
            StatusCode::GONE,
            o.lang,
            Some(&o.org),
            Text::LinkInvalid,
        )),
        Err(e) => Err(internal(o.lang, Some(&o.org), e)),
    }
}

/// The connection the link's member signs in through, when it is not a password: its name in
/// paths and the provider's name on the button. Whatever the link's purpose: an invitation is
/// accepted by signing in there, and a sign-in link signs such a member in nowhere but there
/// (the core refuses to use one; the page offers the connection's button instead).
fn upstream_of(v: &LinkView) -> Option<(String, String)> {
    match v.upstream()? {
        Connection::GoogleOauth2 => Some((GOOGLE.into(), "Google".into())),
        Connection::Oidc(name) => Some((name.clone(), name.clone())),
        Connection::Password => None,
    }
}

/// The page of a link: `offer` decided from what the link is, its form bound to the browser.
async fn show(
    s: &AppState,
    o: &Opened,
    v: &LinkView,
    headers: &HeaderMap,
    status: StatusCode,
    notice: Option<Text>,
) -> Response {
    let key = match form_key(s).await {
        Ok(k) => k,
        Err(e) => return internal(o.lang, Some(&o.org), e),
    };
    let (browser, fresh) = match cookie(headers, BROWSER_COOKIE) {
        Some(b) => (b, false),
        None => (random_secret(), true),
    };
    let mut hidden: Vec<(&'static str, String)> = vec![("token", o.token.clone())];
    hidden.extend(
        CARRIED
            .iter()
            .filter_map(|n| field(&o.request, n).map(|v| (*n, v.to_owned()))),
    );
    hidden.push(("csrf", link_form_token(&key, &browser, &o.org, &o.bound())));
    let upstream = upstream_of(v);
    let href = upstream.as_ref().map(|(name, _)| {
        format!(
            "/realms/{}/protocol/openid-connect/auth/connections/{name}?{}",
            o.org.id,
            o.query()
        )
    });
    let offer = match (&upstream, &href) {
        (Some((_, provider)), Some(href)) => Offer::Upstream(provider, href),
        _ if v.purpose == "password_reset" => Offer::Password { reset: true },
        _ if v.needs_password => Offer::Password { reset: false },
        _ => Offer::Accept,
    };
    let action = format!("/realms/{}/login-actions/{}", o.org.id, path_tail(v));
    let target = o.target();
    let mut resp = landing_page::landing(
        status,
        &Landing {
            lang: o.lang,
            org: &o.org,
            account: v.account.as_deref().unwrap_or_default(),
            action: &action,
            hidden: &hidden,
            offer,
            notice,
            form_target: target.as_deref(),
        },
    );
    if fresh {
        if let Some(c) = set_cookie(s, BROWSER_COOKIE, &browser, 400 * 86_400) {
            resp.headers_mut().append(header::SET_COOKIE, c);
        }
    }
    resp
}

fn path_tail(v: &LinkView) -> &'static str {
    if v.purpose == "password_reset" {
        "reset-credentials"
    } else {
        "verify"
    }
}

/// The purposes of the links each landing page takes.
const INVITATION: &[&str] = &["invite", "magic_link"];
const RESET: &[&str] = &["password_reset"];

/// The page of a live link of one of `purposes`.
async fn page_of(
    s: &AppState,
    realm: &str,
    query: Option<String>,
    headers: &HeaderMap,
    purposes: &[&str],
) -> Response {
    let o = match open(s, realm, query.unwrap_or_default().as_bytes()).await {
        Ok(o) => o,
        Err(page) => return page,
    };
    match view(s, &o, purposes).await {
        Ok(v) => show(s, &o, &v, headers, StatusCode::OK, None).await,
        Err(page) => page,
    }
}

/// A landing page's form, with its fields and its live link of one of `purposes`; refused when
/// this browser was not shown it, for this link and request.
async fn posted(
    s: &AppState,
    realm: &str,
    req: &Req,
    body: &[u8],
    purposes: &[&str],
) -> Result<(Opened, Vec<(String, String)>, LinkView), Response> {
    let o = open(s, realm, body).await?;
    let pairs =
        single_valued(form_urlencoded::parse(body).into_owned().collect()).unwrap_or_default();
    let key = form_key(s)
        .await
        .map_err(|e| internal(o.lang, Some(&o.org), e))?;
    let browser = cookie(&req.headers, BROWSER_COOKIE);
    if !link_form_token_ok(
        &key,
        browser.as_deref(),
        &o.org,
        &o.bound(),
        field(&pairs, "csrf"),
    ) {
        return Err(page::error(
            StatusCode::BAD_REQUEST,
            o.lang,
            Some(&o.org),
            Text::BadRequest,
        ));
    }
    let v = view(s, &o, purposes).await?;
    Ok((o, pairs, v))
}

/// The browser's session starts here with no client waiting: the page saying so, with a link
/// to `next` (an invitation's `login_link`) when there is one.
pub(super) async fn signed_in_here(
    s: &AppState,
    org: &Organization,
    req: &Req,
    who: SignedIn,
    lang: Lang,
    next: Option<&str>,
) -> Response {
    let secret = match s.core.start_browser_session(&req.request_id, &who).await {
        Ok(v) => v,
        Err(e) => return internal(lang, Some(org), e),
    };
    // Only a web address: a login_link was checked when the invitation was made; this is the
    // last line of defence against a `javascript:` link on a page.
    let next = next.filter(|n| n.starts_with("https://") || n.starts_with("http://"));
    let mut resp = done(lang, org, Says::SignedIn, next);
    if let Some(c) = set_cookie(
        s,
        &super::session_cookie_name(org),
        &secret,
        SESSION_TTL_SECS,
    ) {
        resp.headers_mut().append(header::SET_COOKIE, c);
    }
    resp
}

/// The landing page of an invitation or a sign-in link of the member operations.
pub async fn invitation_page(
    State(s): State<AppState>,
    Path(realm): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    page_of(&s, &realm, query, &headers, INVITATION).await
}

/// Accepts the invitation (with its first password, when it sets one) or uses the sign-in
/// link, starts the browser's session and continues.
pub async fn accept_invitation(
    State(s): State<AppState>,
    Path(realm): Path<String>,
    req: Req,
    body: Bytes,
) -> Response {
    let (o, pairs, v) = match posted(&s, &realm, &req, &body, INVITATION).await {
        Ok(v) => v,
        Err(page) => return page,
    };
    let password = field(&pairs, "password").filter(|_| v.needs_password);
    if v.needs_password && password.is_none() {
        let (status, notice) = (StatusCode::BAD_REQUEST, Some(Text::PasswordRules));
        return show(&s, &o, &v, &req.headers, status, notice).await;
    }
    let accepted = match s
        .core
        .accept_link(&req.request_id, &o.org.id, &o.token, password)
        .await
    {
        Ok(a) => a,
        Err(Error::Validation(_)) => {
            let (status, notice) = (StatusCode::BAD_REQUEST, Some(Text::PasswordRules));
            return show(&s, &o, &v, &req.headers, status, notice).await;
        }
        // The core uses no link of a connection's member, and leaves it working: the page
        // again, with the connection's button that accepts the invitation (or signs in).
        Err(Error::Unauthenticated) if upstream_of(&v).is_some() => {
            return show(&s, &o, &v, &req.headers, StatusCode::BAD_REQUEST, None).await;
        }
        Err(Error::Unauthenticated) => {
            return page::error(StatusCode::GONE, o.lang, Some(&o.org), Text::LinkInvalid)
        }
        Err(Error::Conflict(_)) => {
            return page::error(StatusCode::CONFLICT, o.lang, Some(&o.org), Text::BadRequest)
        }
        Err(e) => return internal(o.lang, Some(&o.org), e),
    };
    let who = accepted.signed_in;
    continue_after(&s, &o, &req, who, accepted.token_destination.as_deref()).await
}

/// After the link was used: back to the client with a code when a request is carried (its
/// client and redirect URI checked again: either may have changed since), else the signed-in
/// page.
async fn continue_after(
    s: &AppState,
    o: &Opened,
    req: &Req,
    who: SignedIn,
    next: Option<&str>,
) -> Response {
    let Some(client) = &o.client else {
        return signed_in_here(s, &o.org, req, who, o.lang, next).await;
    };
    let Ok(binding) = check_request(client, &o.request, false) else {
        return page::error(
            StatusCode::BAD_REQUEST,
            o.lang,
            Some(&o.org),
            Text::BadRequest,
        );
    };
    let state = field(&o.request, "state");
    signed_in_continue(s, &o.org, req, who, &binding, state, o.lang).await
}

/// The landing page of a password reset of the member operations.
pub async fn reset_page(
    State(s): State<AppState>,
    Path(realm): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    page_of(&s, &realm, query, &headers, RESET).await
}

/// Sets the new password (ending the account's other sessions), then shows the sign-in form of
/// the carried request, where it signs in, or a page saying it is set.
pub async fn use_reset(
    State(s): State<AppState>,
    Path(realm): Path<String>,
    req: Req,
    body: Bytes,
) -> Response {
    let (o, pairs, v) = match posted(&s, &realm, &req, &body, RESET).await {
        Ok(v) => v,
        Err(page) => return page,
    };
    let password = field(&pairs, "password").unwrap_or_default();
    match s
        .core
        .complete_password_reset(&req.request_id, &o.org.id, &o.token, password)
        .await
    {
        Ok(()) => {}
        Err(Error::Validation(_)) => {
            let (status, notice) = (StatusCode::BAD_REQUEST, Some(Text::PasswordRules));
            return show(&s, &o, &v, &req.headers, status, notice).await;
        }
        Err(Error::Unauthenticated) => {
            return page::error(StatusCode::GONE, o.lang, Some(&o.org), Text::LinkInvalid)
        }
        Err(e) => return internal(o.lang, Some(&o.org), e),
    }
    let Some(client) = &o.client else {
        return done(o.lang, &o.org, Says::PasswordSetDone, None);
    };
    // The form was posted by this browser (checked above), which has its cookie.
    let browser = cookie(&req.headers, BROWSER_COOKIE).unwrap_or_default();
    form(
        &s,
        &o.org,
        client,
        o.lang,
        &browser,
        &o.request,
        StatusCode::OK,
        Some(Text::PasswordSet),
    )
    .await
}
