//! Signing in to the console: which organization, the code flow with PKCE against that
//! organization's hosted sign-in page (the console is the built-in public client
//! `roster-console`, whose one redirect URI is `{ROSTER_PUBLIC_URL}/console/{org}/callback`),
//! and the session it starts (signing out is `signout.rs`).

use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode};
use axum::response::Response;
use maud::html;
use roster_domain::core::{pkce_s256, CONSOLE_ABSOLUTE_SECS};
use roster_domain::model::Organization;
use roster_domain::secrets::{constant_time_eq, random_secret};
use roster_domain::Error;

use super::i18n::{self, Lang};
use super::layout::{self, Shell};
use super::session::{self, cookie, set_cookie, Signed};
use crate::extract::Req;
use crate::state::AppState;

/// A signed-in page's organization, session and language.
pub struct View {
    pub org: Organization,
    pub signed: Signed,
    pub lang: Lang,
    /// The language chosen with `?lang=`, kept in a cookie.
    set_lang: Option<HeaderValue>,
    /// The viewer's own time zone (the `roster_console_tz` cookie), when valid.
    viewer_tz: Option<String>,
}

impl View {
    pub fn shell<'a>(&'a self, current: &'a str) -> Shell<'a> {
        Shell {
            lang: self.lang,
            org: Some(&self.org),
            csrf: Some(self.signed.csrf()),
            current,
        }
    }

    pub fn t(&self, key: &str) -> &'static str {
        i18n::t(self.lang, key)
    }

    /// `r` with the language cookie, when one was chosen.
    pub fn done(&self, mut r: Response) -> Response {
        if let Some(c) = &self.set_lang {
            r.headers_mut()
                .append(axum::http::header::SET_COOKIE, c.clone());
        }
        r
    }

    /// The path of one of this organization's console pages.
    pub fn path(&self, rest: &str) -> String {
        format!("/console/{}/{rest}", self.org.id)
    }

    /// Where the viewer's dates are shown: their own time zone, else the organization's.
    pub fn timezone(&self) -> Option<&str> {
        self.viewer_tz
            .as_deref()
            .or(self.org.default_preferences.timezone.as_deref())
    }

    /// The viewer's own time zone, if they chose one.
    pub fn viewer_timezone(&self) -> Option<&str> {
        self.viewer_tz.as_deref()
    }
}

fn bare(lang: Lang, org: Option<&Organization>) -> Shell<'_> {
    Shell {
        lang,
        org,
        csrf: None,
        current: "",
    }
}

/// The organization `org_ref` names and the signed-in session that may use its console, or
/// the answer instead: its sign-in (no session), "no access", or "no such organization".
pub async fn enter(s: &AppState, req: &Req, org_ref: &str) -> Result<View, Response> {
    let query_lang = req.query.one("lang");
    let org = match s.core.find_org(org_ref).await {
        Ok(o) => o,
        Err(e) => {
            let lang = i18n::choose(query_lang, &req.headers, None);
            return Err(match e {
                Error::NotFound(_) => {
                    let shell = bare(lang, None);
                    layout::message(
                        StatusCode::NOT_FOUND,
                        &shell,
                        shell.t("no_org"),
                        shell.t("no_org"),
                        Some(("/console", shell.t("choose_org"))),
                    )
                }
                other => layout::refusal(&bare(lang, None), other, "/console"),
            });
        }
    };
    let lang = i18n::choose(query_lang, &req.headers, Some(&org));
    let set_lang = query_lang
        .and_then(Lang::parse)
        .map(|l| set_cookie(s, session::LANG_COOKIE, l.code(), Some(365 * 24 * 3600)));
    let who = match session::signed_in(s, &req.headers).await {
        Ok(Some(w)) => w,
        Ok(None) => {
            return Err(layout::redirect(
                &format!("/console/{}/signin", org.id),
                vec![],
            ))
        }
        Err(e) => return Err(layout::refusal(&bare(lang, Some(&org)), e, "/console")),
    };
    let signed = Signed::new(who, &req.request_id);
    match s.core.console_org(&signed.ctx, &org.id).await {
        Ok(_) => Ok(View {
            org,
            signed,
            lang,
            set_lang,
            viewer_tz: session::viewer_timezone(&req.headers),
        }),
        Err(Error::Forbidden(_) | Error::Unauthenticated) => {
            Err(layout::no_access(&bare(lang, Some(&org)), &org))
        }
        Err(e) => Err(layout::refusal(&bare(lang, Some(&org)), e, "/console")),
    }
}

/// The 403 page for a form without this session's token (or not a form of this console).
pub fn bad_form(v: &View, back: &str) -> Response {
    let shell = v.shell("");
    layout::message(
        StatusCode::FORBIDDEN,
        &shell,
        shell.t("refused"),
        shell.t("bad_form"),
        Some((back, shell.t("back"))),
    )
}

/// `/console`: which organization (the last one remembered), or straight to `?org=`.
pub async fn choose(State(s): State<AppState>, req: Req) -> Response {
    let lang = i18n::choose(req.query.one("lang"), &req.headers, None);
    let shell = bare(lang, None);
    let mut notice = None;
    if let Some(org_ref) = req
        .query
        .one("org")
        .map(str::trim)
        .filter(|o| !o.is_empty())
    {
        match s.core.find_org(org_ref).await {
            Ok(org) => return layout::redirect(&format!("/console/{}", org.id), vec![]),
            Err(Error::NotFound(_)) => notice = Some(shell.t("no_org")),
            Err(e) => return layout::refusal(&shell, e, "/console"),
        }
    }
    let last = cookie(&req.headers, session::LAST_ORG_COOKIE);
    let body = html! {
        @if let Some(n) = notice { p role="alert" { (n) } }
        form.stack method="get" action="/console" {
            p {
                label for="org" { (shell.t("org_id")) }
                input #org type="text" name="org" required value=[last.as_deref()] autocomplete="organization";
            }
            p { button type="submit" { (shell.t("continue")) } }
        }
        @if let Some(l) = &last {
            p { (shell.t("last_org")) ": " a href=(format!("/console/{l}")) { (l) } }
        }
    };
    let status = if notice.is_some() {
        StatusCode::NOT_FOUND
    } else {
        StatusCode::OK
    };
    layout::send(status, layout::page(&shell, shell.t("choose_org"), body))
}

/// `/console/{org}`: the users page when signed in, else the organization's sign-in.
pub async fn home(State(s): State<AppState>, Path(org): Path<String>, req: Req) -> Response {
    match enter(&s, &req, &org).await {
        Ok(v) => v.done(layout::redirect(&v.path("users"), vec![])),
        Err(r) => r,
    }
}

/// Starts the code flow at the organization's hosted sign-in page.
pub async fn start(State(s): State<AppState>, Path(org_ref): Path<String>, req: Req) -> Response {
    let lang = i18n::choose(req.query.one("lang"), &req.headers, None);
    let org = match s.core.find_org(&org_ref).await {
        Ok(o) => o,
        Err(e) => return layout::refusal(&bare(lang, None), e, "/console"),
    };
    let lang = i18n::choose(req.query.one("lang"), &req.headers, Some(&org));
    let client = super::first_party_client(&s.core.config.public_url).client(&org);
    let (state, verifier) = (random_secret(), random_secret());
    let mut q = form_urlencoded::Serializer::new(String::new());
    q.append_pair("client_id", super::CLIENT_ID)
        .append_pair("redirect_uri", &client.redirect_uris[0])
        .append_pair("response_type", "code")
        .append_pair("scope", "openid")
        .append_pair("state", &state)
        .append_pair("code_challenge", &pkce_s256(&verifier))
        .append_pair("code_challenge_method", "S256")
        .append_pair("ui_locales", lang.code())
        // An administrator proves who they are for every console session: a sign-on session
        // at the provider (another app's, or the one before a sign-out) is not enough.
        .append_pair("prompt", "login");
    let flow = set_cookie(
        &s,
        session::FLOW_COOKIE,
        &format!("{state}.{verifier}"),
        Some(600),
    );
    layout::redirect(
        &format!(
            "/realms/{}/protocol/openid-connect/auth?{}",
            org.id,
            q.finish()
        ),
        vec![flow],
    )
}

/// The provider's answer: the code is redeemed in-process (the same core operation as the
/// token endpoint's, bound to the PKCE verifier this browser kept) and a console session begins.
pub async fn callback(
    State(s): State<AppState>,
    Path(org_ref): Path<String>,
    req: Req,
) -> Response {
    let lang = i18n::choose(None, &req.headers, None);
    let org = match s.core.find_org(&org_ref).await {
        Ok(o) => o,
        Err(e) => return layout::refusal(&bare(lang, None), e, "/console"),
    };
    let lang = i18n::choose(None, &req.headers, Some(&org));
    let shell = bare(lang, Some(&org));
    let failed = |status| {
        layout::message(
            status,
            &shell,
            shell.t("refused"),
            shell.t("sign_in_failed"),
            Some((
                &format!("/console/{}/signin", org.id),
                shell.t("sign_in_here"),
            )),
        )
    };
    let flow = cookie(&req.headers, session::FLOW_COOKIE);
    let Some((state, verifier)) = flow.as_deref().and_then(|f| f.split_once('.')) else {
        return failed(StatusCode::BAD_REQUEST);
    };
    let state_ok = req
        .query
        .one("state")
        .is_some_and(|st| constant_time_eq(st, state));
    let (Some(code), true) = (req.query.one("code"), state_ok) else {
        return failed(StatusCode::BAD_REQUEST);
    };
    let client = super::first_party_client(&s.core.config.public_url).client(&org);
    let grant = match s
        .core
        .redeem_authorization_code(
            &req.request_id,
            &client,
            code,
            Some(&client.redirect_uris[0]),
            Some(verifier),
        )
        .await
    {
        Ok(g) => g,
        Err(Error::Unauthenticated) => return failed(StatusCode::BAD_REQUEST),
        Err(e) => return layout::refusal(&shell, e, "/console"),
    };
    let secret = match s
        .core
        .start_console_session(&req.request_id, &grant.who)
        .await
    {
        Ok(secret) => secret,
        Err(e) => return layout::refusal(&shell, e, "/console"),
    };
    let cookies = vec![
        set_cookie(
            &s,
            session::SESSION_COOKIE,
            &format!("{}.{secret}", org.id),
            Some(CONSOLE_ABSOLUTE_SECS),
        ),
        set_cookie(&s, session::FLOW_COOKIE, "", Some(0)),
        set_cookie(&s, session::LAST_ORG_COOKIE, &org.id, Some(365 * 24 * 3600)),
    ];
    layout::redirect(&format!("/console/{}/users", org.id), cookies)
}
