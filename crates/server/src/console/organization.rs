//! The organization page: its name, default language and time zone (the core's
//! `modify_organization`, as Amigo's organization API), its branding as stored; and what its
//! sub-pages (`org_parts.rs`, `org_tokens.rs`) share.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use maud::{html, Markup};
use roster_domain::core::OrgPatch;
use serde_json::Value;

use super::i18n::when;
use super::layout;
use super::session::{field, form};
use super::signin::{enter, enter_form, View};
use crate::extract::Req;
use crate::state::AppState;

/// The links between the organization's pages, `current` marked.
pub fn sections(v: &View, current: &str) -> Markup {
    let entries = [
        ("o_settings", "organization"),
        ("o_connections", "organization/connections"),
        ("o_clients", "organization/clients"),
        ("o_scim", "organization/scim-tokens"),
        ("o_webhooks", "organization/webhooks"),
    ];
    html! {
        nav.sections aria-label=(v.t("o_sections")) {
            ul {
                @for (key, path) in entries {
                    li { a href=(v.path(path)) aria-current=[(key == current).then_some("page")] { (v.t(key)) } }
                }
                @if v.signed.who.principal.org_is_platform {
                    li { a href=(v.path("platform")) { (v.t("o_platform")) } }
                }
            }
        }
    }
}

/// A secret shown this once, with a copy button when scripts run.
pub fn shown_once(label: &str, secret: &str, copy: &str) -> Markup {
    html! {
        div role="status" {
            p { (label) }
            p { span #secret .secret { (secret) } " "
                button type="button" data-copy="secret" hidden { (copy) } }
        }
    }
}

/// A hidden CSRF field and one submit button posting to `action`.
pub fn button_form(v: &View, action: &str, label: &str, name: &str) -> Markup {
    html! {
        form method="post" action=(action) {
            input type="hidden" name="csrf" value=(v.signed.csrf());
            button.danger type="submit" aria-label=(format!("{label} {name}")) { (label) }
        }
    }
}

fn branding(v: &View) -> Markup {
    let item = |key: &str| -> Option<String> {
        match v.org.branding.get(key) {
            Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
            _ => None,
        }
    };
    html! {
        h2 { (v.t("o_branding")) }
        p.muted { (v.t("o_branding_help")) }
        dl {
            @for (key, label) in [("logo", "o_logo"), ("square_logo", "o_square_logo"), ("favicon", "o_favicon")] {
                dt { (v.t(label)) }
                dd {
                    @match item(key) {
                        Some(data) => { img.logo src=(format!("data:image/png;base64,{data}")) alt=(v.t(label)); }
                        None => { span.muted { (v.t("o_not_set")) } }
                    }
                }
            }
        }
    }
}

fn page(v: &View, saved: bool) -> Response {
    let shell = v.shell("o_org");
    let o = &v.org;
    let p = &o.default_preferences;
    let body = html! {
        (sections(v, "o_settings"))
        @if saved { p role="status" { (v.t("o_saved")) } }
        dl {
            dt { (v.t("org_id")) } dd { code { (o.id) } }
            dt { "UUID" } dd { code { (o.uuid) } }
            dt { (v.t("created_at")) } dd { (when(o.created_at, v.timezone())) }
        }
        form.stack method="post" action=(v.path("organization")) {
            input type="hidden" name="csrf" value=(v.signed.csrf());
            p {
                label for="name" { (v.t("o_name")) }
                input #name type="text" name="name" required maxlength="200" value=(o.name);
            }
            p {
                label for="language" { (v.t("o_language")) }
                input #language type="text" name="language" maxlength="3" value=[p.preferred_language.as_deref()];
            }
            p {
                label for="timezone" { (v.t("o_timezone")) }
                input #timezone type="text" name="timezone" list="zones" value=[p.timezone.as_deref()];
                datalist #zones { @for z in chrono_tz::TZ_VARIANTS { option value=(z.name()) {} } }
            }
            p { button type="submit" { (v.t("save")) } }
        }
        (branding(v))
    };
    v.done(layout::send(
        StatusCode::OK,
        layout::page(&shell, v.t("o_org"), body),
    ))
}

/// The organization's settings.
pub async fn show(State(s): State<AppState>, Path(org): Path<String>, req: Req) -> Response {
    match enter(&s, &req, &org).await {
        Ok(v) => page(&v, req.query.one("saved").is_some()),
        Err(r) => r,
    }
}

/// Changes the name and default preferences through the core (empty language or time zone:
/// none).
pub async fn save(
    State(s): State<AppState>,
    Path(org): Path<String>,
    req: Req,
    body: Bytes,
) -> Response {
    let f = form(&body);
    let v = match enter_form(&s, &req, &org, &f).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let opt = |name: &str| Some(field(&f, name).trim().to_owned()).filter(|x| !x.is_empty());
    let mut prefs = v.org.default_preferences.clone();
    prefs.preferred_language = opt("language");
    prefs.timezone = opt("timezone");
    let patch = OrgPatch {
        name: Some(field(&f, "name").to_owned()),
        default_preferences: Some(prefs),
        ..OrgPatch::default()
    };
    match s
        .core
        .modify_organization(&v.signed.ctx, &v.org.id, patch)
        .await
    {
        Ok(()) => v.done(layout::redirect(&v.path("organization?saved=1"), vec![])),
        Err(e) => v.done(layout::refusal(
            &v.shell("o_org"),
            e,
            &v.path("organization"),
        )),
    }
}
