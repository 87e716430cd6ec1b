//! The sign-in form's emailed links: where a link leads and what it carries, and sending one.

use axum::http::StatusCode;
use axum::response::Response;
use roster_domain::core::BrowserLink;
use roster_domain::model::{OidcClient, Organization};
use roster_domain::Error;
use serde_json::{Map, Value};

use super::field;
use super::form::{form, CARRIED};
use super::page::{self, internal, Lang, Text};
use crate::extract::Req;
use crate::state::AppState;

/// The page a link of `kind` opens.
pub(super) fn page_path(org: &Organization, kind: BrowserLink) -> String {
    let tail = match kind {
        BrowserLink::SignIn => "link",
        BrowserLink::PasswordReset => "reset",
    };
    format!("/realms/{}/protocol/openid-connect/auth/{tail}", org.id)
}

/// The request's carried fields, as the link keeps them.
fn request_of(f: &[(String, String)]) -> Value {
    let mut m = Map::new();
    for name in CARRIED {
        if let Some(v) = field(f, name) {
            m.insert(name.to_owned(), Value::String(v.to_owned()));
        }
    }
    Value::Object(m)
}

/// The sign-in form asked for a link: emailed if the address is a member's, the same page
/// either way.
#[allow(clippy::too_many_arguments)]
pub(super) async fn email_link(
    s: &AppState,
    org: &Organization,
    client: &OidcClient,
    lang: Lang,
    browser: &str,
    req: &Req,
    f: &[(String, String)],
    kind: BrowserLink,
) -> Response {
    let email = field(f, "username").unwrap_or_default();
    let limited = async {
        s.limits
            .check("sign-in-with-email", &format!("ip:{}", req.client_ip))
            .await?;
        s.limits
            .check("email-per-address", &email.trim().to_lowercase())
            .await
    }
    .await;
    let sent = match limited {
        Ok(()) => {
            s.core
                .email_browser_link(
                    &req.request_id,
                    org,
                    email,
                    kind,
                    &page_path(org, kind),
                    request_of(f),
                )
                .await
        }
        Err(e) => Err(e),
    };
    match sent {
        Ok(()) => page::link_sent(lang, org),
        Err(Error::Validation(_)) => {
            form(
                s,
                org,
                client,
                lang,
                browser,
                f,
                StatusCode::BAD_REQUEST,
                Some(Text::EnterEmail),
            )
            .await
        }
        Err(e) => internal(lang, Some(org), e),
    }
}
