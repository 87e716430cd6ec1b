//! The organization page: its name, default language and time zone, and its branding images
//! (each through the core's `modify_organization`, as Amigo's organization API); and what its
//! sub-pages (`org_parts.rs`, `org_tokens.rs`) share.

use axum::extract::{FromRequest, Multipart, Path, Request, State};
use axum::http::StatusCode;
use axum::response::Response;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use maud::{html, Markup};
use roster_domain::core::OrgPatch;
use roster_domain::{Error, FieldError};
use serde_json::{Map, Value};

use super::i18n::when;
use super::layout;
use super::posted::Posted;
use super::session::{field, part_text, parts};
use super::signin::{bad_form, enter, View};
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

/// The branding images Amigo's organization API keeps (base64 bytes, as its `logo`,
/// `square_logo` and `favicon`), with their labels and the kinds of image each may be.
const IMAGES: [(&str, &str, &[Kind]); 3] = [
    ("logo", "o_logo", &[Kind::Png]),
    ("square_logo", "o_square_logo", &[Kind::Png]),
    ("favicon", "o_favicon", &[Kind::Png, Kind::Ico]),
];

/// The most an image may hold: its base64 stays under what the hosted sign-in page shows.
const IMAGE_MAX: usize = 128 * 1024;

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Png,
    Ico,
}

impl Kind {
    fn of(bytes: &[u8]) -> Option<Self> {
        if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
            Some(Self::Png)
        } else if bytes.starts_with(&[0, 0, 1, 0]) {
            Some(Self::Ico)
        } else {
            None
        }
    }

    fn mime(self) -> &'static str {
        match self {
            Self::Png => "image/png",
            Self::Ico => "image/x-icon",
        }
    }
}

/// A stored image as a `data:` address: an ICO as one, anything else as a PNG (as before
/// the console could set images, what Amigo's API stored is shown as it is).
fn data_url(b64: &str) -> String {
    let head = b64.get(..b64.len().min(12) / 4 * 4).unwrap_or_default();
    let kind = STANDARD.decode(head).ok().and_then(|b| Kind::of(&b));
    let mime = kind.map_or("image/png", Kind::mime);
    format!("data:{mime};base64,{b64}")
}

fn branding(v: &View) -> Markup {
    let item = |key: &str| -> Option<String> {
        match v.org.branding.get(key) {
            Some(Value::String(s)) if !s.is_empty() => Some(data_url(s)),
            _ => None,
        }
    };
    html! {
        h2 #branding { (v.t("o_branding")) }
        p.muted { (v.t("o_branding_help")) }
        form.stack method="post" action=(v.path("organization/branding")) enctype="multipart/form-data" {
            input type="hidden" name="csrf" value=(v.signed.csrf());
            @for (key, label, kinds) in IMAGES {
                @let accept = if kinds.contains(&Kind::Ico) { "image/png,image/x-icon,.ico" } else { "image/png" };
                fieldset.grants {
                    legend { (v.t(label)) }
                    p {
                        span.muted { (v.t("o_current")) ": " }
                        @match item(key) {
                            Some(src) => { img.logo src=(src) alt=(v.t(label)); }
                            None => { span.muted { (v.t("o_not_set")) } }
                        }
                    }
                    p {
                        label for=(key) { (v.t(label)) }
                        input id=(key) type="file" name=(key) accept=(accept);
                    }
                    div {
                        input type="checkbox" id=(format!("remove_{key}")) name=(format!("remove_{key}")) value="1";
                        label for=(format!("remove_{key}")) { (v.t("o_remove")) " " (v.t(label)) }
                    }
                }
            }
            p { button type="submit" { (v.t("o_branding_save")) } }
        }
    }
}

/// The branding a posted form changes: each uploaded image checked (its kind and size, the
/// field named when it is wrong) and encoded as Amigo's API takes it; a ticked `remove_…`
/// without a file clears the image.
fn branding_patch(parts: &[(String, Vec<u8>)]) -> Result<Map<String, Value>, Error> {
    let mut patch = Map::new();
    let mut problems = Vec::new();
    for (key, _, kinds) in IMAGES {
        let file = parts
            .iter()
            .find(|(k, v)| k == key && !v.is_empty())
            .map(|(_, v)| v.as_slice());
        match file {
            Some(bytes) if bytes.len() > IMAGE_MAX => problems.push(FieldError::body(
                key,
                "too_long",
                format!("{key} must be at most {} KiB", IMAGE_MAX / 1024),
            )),
            Some(bytes) if !Kind::of(bytes).is_some_and(|k| kinds.contains(&k)) => {
                let what = if kinds.contains(&Kind::Ico) {
                    "a PNG or ICO image"
                } else {
                    "a PNG image"
                };
                problems.push(FieldError::body(
                    key,
                    "image_type",
                    format!("{key} must be {what}"),
                ));
            }
            Some(bytes) => {
                patch.insert(key.to_owned(), Value::String(STANDARD.encode(bytes)));
            }
            None if part_text(parts, &format!("remove_{key}")) == "1" => {
                patch.insert(key.to_owned(), Value::String(String::new()));
            }
            None => {}
        }
    }
    if problems.is_empty() {
        Ok(patch)
    } else {
        Err(Error::Validation(problems))
    }
}

/// Changes the branding images through the core's `modify_organization`, as Amigo's
/// modify-organization does with its `logo`, `square_logo` and `favicon`.
pub async fn save_branding(
    State(s): State<AppState>,
    Path(org): Path<String>,
    req: Req,
    request: Request,
) -> Response {
    let v = match enter(&s, &req, &org).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let back = v.path("organization");
    let parts = match Multipart::from_request(request, &s).await {
        Ok(mut form) => parts(&mut form).await,
        Err(_) => return v.done(bad_form(&v, &back)),
    };
    let parts = match parts {
        Ok(p) => p,
        Err(e) => return v.done(layout::refusal(&v.shell("o_org"), e, &back)),
    };
    if !v
        .signed
        .csrf_ok(&[("csrf".to_owned(), part_text(&parts, "csrf"))])
    {
        return v.done(bad_form(&v, &back));
    }
    let saved = v.path("organization?saved=1#branding");
    let patch = match branding_patch(&parts) {
        // No file and no image to remove: nothing to write, nor to audit.
        Ok(branding) if branding.is_empty() => return v.done(layout::redirect(&saved, vec![])),
        Ok(branding) => OrgPatch {
            branding,
            ..OrgPatch::default()
        },
        Err(e) => return v.done(layout::refusal(&v.shell("o_org"), e, &back)),
    };
    match s
        .core
        .modify_organization(&v.signed.ctx, &v.org.id, patch)
        .await
    {
        Ok(()) => v.done(layout::redirect(&saved, vec![])),
        Err(e) => v.done(layout::refusal(&v.shell("o_org"), e, &back)),
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
pub async fn save(State(s): State<AppState>, Posted { v, f }: Posted) -> Response {
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
