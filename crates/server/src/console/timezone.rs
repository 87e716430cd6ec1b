//! The viewer's own time zone: a form that keeps an IANA name in the `roster_console_tz`
//! cookie (checked against chrono-tz when it is set and again whenever it is read), so that
//! every date on the console's pages is shown in it; without one, the organization's default
//! time zone, else UTC.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use maud::html;
use roster_domain::{Error, FieldError};

use super::i18n::when;
use super::layout;
use super::posted::Posted;
use super::session::{field, set_cookie, TZ_COOKIE};
use super::signin::{enter, View};
use crate::extract::Req;
use crate::state::AppState;

/// The cookie's spelling of a zone name (read back by `session::viewer_timezone`).
fn encode(tz: &str) -> String {
    tz.replace('/', ".").replace('+', "~")
}

fn valid(tz: &str) -> bool {
    tz.parse::<chrono_tz::Tz>().is_ok()
}

fn page(v: &View, saved: bool, at: i64) -> Response {
    let shell = v.shell("timezone");
    let now = when(at, v.timezone());
    let body = html! {
        @if saved { p role="status" { (v.t("o_saved")) } }
        p { (v.t("o_tz_help")) }
        p { (v.t("o_tz_now")) " " strong { (v.timezone().unwrap_or("UTC")) } " (" (now) ")" }
        form.stack method="post" action=(v.path("timezone")) {
            input type="hidden" name="csrf" value=(v.signed.csrf());
            p {
                label for="timezone" { (v.t("timezone")) }
                select #timezone name="timezone" {
                    option value="" selected[v.viewer_timezone().is_none()] {
                        (v.t("o_tz_default")) " (" (v.org.default_preferences.timezone.as_deref().unwrap_or("UTC")) ")"
                    }
                    @for z in chrono_tz::TZ_VARIANTS {
                        option value=(z.name()) selected[v.viewer_timezone() == Some(z.name())] { (z.name()) }
                    }
                }
            }
            p { button type="submit" { (v.t("save")) } }
        }
    };
    v.done(layout::send(
        StatusCode::OK,
        layout::page(&shell, v.t("o_tz_title"), body),
    ))
}

/// The form.
pub async fn show(State(s): State<AppState>, Path(org): Path<String>, req: Req) -> Response {
    match enter(&s, &req, &org).await {
        Ok(v) => page(&v, req.query.one("saved").is_some(), s.core.now()),
        Err(r) => r,
    }
}

/// Keeps the chosen zone in the cookie (an empty choice removes it); an unknown name is a 422
/// naming the field `timezone`.
pub async fn choose(State(s): State<AppState>, Posted { v, f }: Posted) -> Response {
    let tz = field(&f, "timezone").trim();
    let c = if tz.is_empty() {
        set_cookie(&s, TZ_COOKIE, "", Some(0))
    } else if valid(tz) {
        set_cookie(&s, TZ_COOKIE, &encode(tz), Some(365 * 24 * 3600))
    } else {
        let e = Error::Validation(vec![FieldError::body(
            "timezone",
            "enum",
            "timezone must be an IANA time zone name such as America/New_York",
        )]);
        return v.done(layout::refusal(
            &v.shell("timezone"),
            e,
            &v.path("timezone"),
        ));
    };
    v.done(layout::redirect(&v.path("timezone?saved=1"), vec![c]))
}

#[cfg(test)]
mod tests {
    use super::super::session::viewer_timezone;
    use super::*;
    use axum::http::{HeaderMap, HeaderValue};

    #[test]
    fn every_zone_name_survives_the_cookie() {
        for z in chrono_tz::TZ_VARIANTS {
            let e = encode(z.name());
            assert!(e
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '~')));
            let mut h = HeaderMap::new();
            let c = HeaderValue::from_str(&format!("{TZ_COOKIE}={e}")).expect("a cookie value");
            h.insert(axum::http::header::COOKIE, c);
            assert_eq!(viewer_timezone(&h).as_deref(), Some(z.name()));
        }
    }
}
