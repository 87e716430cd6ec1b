//! The small HTML pages that emailed links open. A GET never uses a link's token (mail
//! scanners fetch links before people do); the page's form POSTs it. Every value is escaped,
//! and form actions are paths, never URLs built from the request's Host.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};

use crate::mail::escape;

/// A whole page with a status.
pub fn page(status: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta name=\"referrer\" content=\"no-referrer\"><title>{}</title></head>\n\
         <body style=\"font-family: sans-serif; max-width: 32em; margin: 3em auto; line-height: 1.5;\">\n\
         <h1>{}</h1>\n{body}\n</body>\n</html>\n",
        escape(title),
        escape(title)
    );
    let mut resp = (status, Html(html)).into_response();
    // The token is in the URL: keep the page out of caches and the link out of Referer headers.
    let h = resp.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    resp
}

pub fn paragraph(text: &str) -> String {
    format!("<p>{}</p>\n", escape(text))
}

/// A paragraph that is one link to the path `href`.
pub fn link_paragraph(href: &str, text: &str) -> String {
    format!("<p><a href=\"{}\">{}</a></p>\n", escape(href), escape(text))
}

/// A form that posts `token` (hidden) and, when asked, a new password, to `action`.
pub fn token_form(action: &str, token: &str, with_password: bool, button: &str) -> String {
    let password = if with_password {
        "<p><label>New password<br><input type=\"password\" name=\"password\" \
         autocomplete=\"new-password\" required minlength=\"6\"></label></p>\n\
         <p style=\"font-size: 0.9em; color: #555;\">At least 6 characters, with an upper-case and \
         a lower-case letter and a digit or another sign.</p>\n"
    } else {
        ""
    };
    format!(
        "<form method=\"post\" action=\"{}\">\n<input type=\"hidden\" name=\"token\" value=\"{}\">\n\
         {password}<p><button type=\"submit\">{}</button></p>\n</form>\n",
        escape(action),
        escape(token),
        escape(button)
    )
}

/// The page of a link that is unknown, used or expired.
pub fn link_invalid() -> Response {
    page(
        StatusCode::GONE,
        "This link no longer works",
        &paragraph(
            "The link was already used, has expired, or is not complete. Ask for a new one.",
        ),
    )
}
