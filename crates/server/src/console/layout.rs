//! The console's page shell and headers: one stylesheet and two scripts served by the binary
//! (`assets.rs`), a strict Content-Security-Policy with no inline script or style, no frames,
//! no referrer, no caching; the pages for errors and for a member without access.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use maud::{html, Markup, DOCTYPE};
use roster_domain::model::Organization;
use roster_domain::Error;

use super::assets;
use super::i18n::{t, Lang};

/// The policy of every console page.
pub const CSP: &str =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// What the shell of a page needs to know.
pub struct Shell<'a> {
    pub lang: Lang,
    /// The organization the page is about (the navigation is shown with it).
    pub org: Option<&'a Organization>,
    /// The session's form token (the sign-out forms); `None` before sign-in.
    pub csrf: Option<&'a str>,
    /// The navigation entry of this page.
    pub current: &'a str,
}

impl Shell<'_> {
    pub fn t(&self, key: &str) -> &'static str {
        t(self.lang, key)
    }
}

/// The headers every console answer carries.
pub fn secure_headers(r: &mut Response) {
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
}

pub fn send(status: StatusCode, markup: Markup) -> Response {
    let mut r = (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        markup.into_string(),
    )
        .into_response();
    secure_headers(&mut r);
    r
}

/// A 303 to `location` (same-origin paths only), with cookies.
pub fn redirect(location: &str, cookies: Vec<HeaderValue>) -> Response {
    let mut r = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(location) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    for c in cookies {
        r.headers_mut().append(header::SET_COOKIE, c);
    }
    secure_headers(&mut r);
    r
}

pub fn page(shell: &Shell<'_>, title: &str, body: Markup) -> Markup {
    page_with_head(shell, title, html! {}, body)
}

/// [`page`] with more in its head (a job page's `<noscript>` refresh).
pub fn page_with_head(shell: &Shell<'_>, title: &str, head: Markup, body: Markup) -> Markup {
    let lang = shell.lang;
    html! {
        (DOCTYPE)
        html lang=(lang.code()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="htmx-config" content=r#"{"includeIndicatorStyles":false,"allowEval":false,"allowScriptTags":false}"#;
                title { (title) " · Roster " (shell.t("console")) }
                link rel="stylesheet" href=(assets::href("console.css"));
                script src=(assets::href("htmx.min.js")) defer {}
                script src=(assets::href("console.js")) defer {}
                (head)
            }
            body {
                a.skip href="#main" { (shell.t("skip")) }
                header {
                    p.brand {
                        "Roster " (shell.t("console"))
                        @if let Some(o) = shell.org { " · " strong { (o.name) } }
                    }
                    @if let Some(o) = shell.org {
                        @if let Some(csrf) = shell.csrf {
                            nav aria-label=(shell.t("main_nav")) {
                                ul {
                                    @for (key, path) in [("users", "users"), ("roles", "roles"), ("api_keys", "keys"), ("audit", "audit"), ("bulk", "bulk"), ("o_org", "organization"), ("timezone", "timezone")] {
                                        li {
                                            a href=(format!("/console/{}/{path}", o.id))
                                                aria-current=[(shell.current == key).then_some("page")] { (shell.t(key)) }
                                        }
                                    }
                                }
                            }
                            div.account {
                                form method="post" action=(format!("/console/{}/signout", o.id)) {
                                    input type="hidden" name="csrf" value=(csrf);
                                    button type="submit" { (shell.t("sign_out")) }
                                }
                                form method="post" action=(format!("/console/{}/signout-everywhere", o.id)) {
                                    input type="hidden" name="csrf" value=(csrf);
                                    button type="submit" { (shell.t("sign_out_everywhere")) }
                                }
                            }
                        }
                    }
                    p.langs {
                        @for l in [Lang::En, Lang::Es, Lang::Ja, Lang::Pt] {
                            a href=(format!("?lang={}", l.code())) lang=(l.code()) hreflang=(l.code())
                                aria-current=[(l == lang).then_some("true")] { (l.code()) }
                            " "
                        }
                    }
                }
                main #main {
                    h1 { (title) }
                    (body)
                }
            }
        }
    }
}

/// A page that says one thing, with a link onwards.
pub fn message(
    status: StatusCode,
    shell: &Shell<'_>,
    title: &str,
    text: &str,
    link: Option<(&str, &str)>,
) -> Response {
    let body = html! {
        p role=(if status.is_success() { "status" } else { "alert" }) { (text) }
        @if let Some((href, label)) = link { p { a href=(href) { (label) } } }
    };
    send(status, page(shell, title, body))
}

/// The page for a core refusal: what was wrong, in the viewer's language (the core's message
/// names the field or the rule).
pub fn refusal(shell: &Shell<'_>, e: Error, back: &str) -> Response {
    let back_link = Some((back, shell.t("back")));
    match e {
        Error::Validation(problems) => {
            let body = html! {
                div role="alert" {
                    p { (shell.t("invalid")) }
                    ul { @for p in &problems { li { strong { (p.field_name()) } ": " (p.message) } } }
                }
                p { a href=(back) { (shell.t("back")) } }
            };
            send(
                StatusCode::UNPROCESSABLE_ENTITY,
                page(shell, shell.t("refused"), body),
            )
        }
        Error::Forbidden(why) => {
            let rank = why.contains("outrank");
            let body = html! {
                div role="alert" {
                    p { (why) }
                    @if rank { p { (shell.t("rank_rule")) } }
                }
                p { a href=(back) { (shell.t("back")) } }
            };
            send(StatusCode::FORBIDDEN, page(shell, shell.t("refused"), body))
        }
        Error::NotFound(_) => message(
            StatusCode::NOT_FOUND,
            shell,
            shell.t("not_found"),
            shell.t("not_found"),
            back_link,
        ),
        Error::Conflict(why) => message(
            StatusCode::CONFLICT,
            shell,
            shell.t("refused"),
            &why,
            back_link,
        ),
        Error::BadRequest(why) => message(
            StatusCode::BAD_REQUEST,
            shell,
            shell.t("refused"),
            &why,
            back_link,
        ),
        // docs/security.md: a body above ROSTER_MAX_BODY_BYTES is a 413 on every surface.
        Error::TooLarge(why) => message(
            StatusCode::PAYLOAD_TOO_LARGE,
            shell,
            shell.t("refused"),
            &why,
            back_link,
        ),
        Error::Unauthenticated => message(
            StatusCode::UNAUTHORIZED,
            shell,
            shell.t("no_access_title"),
            shell.t("no_access"),
            None,
        ),
        Error::RateLimited { .. } => message(
            StatusCode::TOO_MANY_REQUESTS,
            shell,
            shell.t("refused"),
            shell.t("unavailable"),
            back_link,
        ),
        other => {
            if let Error::Internal(cause) = &other {
                tracing::error!(error = ?cause, "console request failed");
            }
            message(
                StatusCode::SERVICE_UNAVAILABLE,
                shell,
                shell.t("refused"),
                shell.t("unavailable"),
                back_link,
            )
        }
    }
}

/// A member who is not an administrator here, or another organization's session.
pub fn no_access(shell: &Shell<'_>, org: &Organization) -> Response {
    let href = format!("/console/{}/signin", org.id);
    message(
        StatusCode::FORBIDDEN,
        shell,
        shell.t("no_access_title"),
        shell.t("no_access"),
        Some((&href, shell.t("sign_in_here"))),
    )
}
