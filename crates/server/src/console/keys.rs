//! The API keys page: the organization's keys, a new one (its secret shown this once, with a
//! copy button when scripts run), rotating one (a new id and secret, shown the same way; the
//! old ones stop working at once) and deleting one.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use maud::{html, Markup};
use roster_domain::core::CreatedApiKey;
use roster_domain::model::{ApiKey, Role};
use roster_domain::permissions::DEFAULT_USER_ROLE;
use roster_domain::{Error, FieldError};

use super::i18n::when;
use super::layout;
use super::posted::Posted;
use super::session::field;
use super::signin::{enter, View};
use crate::extract::Req;
use crate::state::AppState;

async fn page(s: &AppState, v: &View, created: Option<CreatedApiKey>, rotated: bool) -> Response {
    let shell = v.shell("api_keys");
    let (keys, roles) = match (
        s.core.list_api_keys(&v.signed.ctx, &v.org.id).await,
        s.core.list_roles(&v.signed.ctx, &v.org.id, &[], &[]).await,
    ) {
        (Ok(k), Ok(r)) => (k, r),
        (Err(e), _) | (_, Err(e)) => return v.done(layout::refusal(&shell, e, &v.path("users"))),
    };
    let body = html! {
        @if let Some(c) = &created {
            div role="status" {
                @if rotated { p { (v.t("rotated")) } }
                p { code { (c.key.key_id) } }
                p { (v.t("secret_once")) }
                p { span #secret .secret { (c.secret) } " "
                    button type="button" data-copy="secret" hidden { (v.t("copy")) } }
            }
        }
        h2 { (v.t("create_key")) }
        (create_form(v, &roles))
        h2 { (v.t("api_keys")) }
        (keys_table(v, &keys.iter().collect::<Vec<_>>(), &roles, true))
    };
    v.done(layout::send(
        StatusCode::OK,
        layout::page(&shell, v.t("api_keys"), body),
    ))
}

/// The keys as a table: name and id, role, created, expires and, with `actions`, the rotate and
/// delete forms of each; the user's page shows the keys they created without them.
pub(super) fn keys_table(v: &View, keys: &[&ApiKey], roles: &[Role], actions: bool) -> Markup {
    let role_name = |id: &str| {
        roles
            .iter()
            .find(|r| r.id == id)
            .map_or("—", |r| r.name.as_str())
    };
    html! {
        @if keys.is_empty() {
            p.muted { (v.t("no_keys")) }
        } @else {
            table {
                thead { tr {
                    th scope="col" { (v.t("key_name")) }
                    th scope="col" { (v.t("role")) }
                    th scope="col" { (v.t("created_at")) }
                    th scope="col" { (v.t("expires")) }
                    @if actions { th scope="col" { (v.t("action")) } }
                } }
                tbody {
                    @for k in keys {
                        tr {
                            td { (k.name.as_deref().unwrap_or("—")) br; code.muted { (k.key_id) } }
                            td { (role_name(&k.role_id)) }
                            td { (when(k.created_at, v.timezone())) }
                            td { (when(k.expires_at, v.timezone())) }
                            @if actions { td.actions { (key_actions(v, k)) } }
                        }
                    }
                }
            }
        }
    }
}

fn key_actions(v: &View, k: &ApiKey) -> Markup {
    let label =
        |action: &str| format!("{} {}", v.t(action), k.name.as_deref().unwrap_or(&k.key_id));
    html! {
        form method="post" action=(v.path(&format!("keys/{}/rotate", k.key_id))) {
            input type="hidden" name="csrf" value=(v.signed.csrf());
            button type="submit" aria-label=(label("rotate")) { (v.t("rotate")) }
        }
        form method="post" action=(v.path(&format!("keys/{}/delete", k.key_id))) {
            input type="hidden" name="csrf" value=(v.signed.csrf());
            button.danger type="submit" aria-label=(label("delete")) { (v.t("delete")) }
        }
    }
}

fn create_form(v: &View, roles: &[Role]) -> Markup {
    html! {
        form.stack method="post" action=(v.path("keys")) {
            input type="hidden" name="csrf" value=(v.signed.csrf());
            p {
                label for="key_name" { (v.t("key_name")) }
                input #key_name type="text" name="name";
            }
            p {
                label for="days" { (v.t("duration_days")) }
                input #days type="number" name="days" min="1" max="3650" value="90" required;
            }
            p {
                label for="role" { (v.t("role")) }
                select #role name="role" {
                    @for r in roles { option value=(r.name) selected[r.name == DEFAULT_USER_ROLE] { (r.name) } }
                }
            }
            p { button type="submit" { (v.t("create_key")) } }
        }
    }
}

pub async fn list(State(s): State<AppState>, Path(org): Path<String>, req: Req) -> Response {
    match enter(&s, &req, &org).await {
        Ok(v) => page(&s, &v, None, false).await,
        Err(r) => r,
    }
}

pub async fn create(State(s): State<AppState>, Posted { v, f }: Posted) -> Response {
    let days = match field(&f, "days").trim().parse::<i64>() {
        Ok(d) if (1..=3650).contains(&d) => d,
        _ => {
            let e = Error::Validation(vec![FieldError::body(
                "days",
                "value_error",
                "days must be a whole number from 1 to 3650",
            )]);
            return v.done(layout::refusal(&v.shell("api_keys"), e, &v.path("keys")));
        }
    };
    let name = Some(field(&f, "name").trim().to_owned()).filter(|n| !n.is_empty());
    match s
        .core
        .create_api_key(
            &v.signed.ctx,
            &v.org.id,
            name,
            days * 86_400,
            field(&f, "role"),
        )
        .await
    {
        Ok(created) => page(&s, &v, Some(created), false).await,
        Err(e) => v.done(layout::refusal(&v.shell("api_keys"), e, &v.path("keys"))),
    }
}

pub async fn delete(
    State(s): State<AppState>,
    Path((_, key)): Path<(String, String)>,
    Posted { v, .. }: Posted,
) -> Response {
    match s.core.delete_api_key(&v.signed.ctx, &v.org.id, &key).await {
        Ok(()) => v.done(layout::redirect(&v.path("keys"), vec![])),
        Err(e) => v.done(layout::refusal(&v.shell("api_keys"), e, &v.path("keys"))),
    }
}

/// A new id and secret for the key, in one transaction (`Core::rotate_api_key`).
pub async fn rotate(
    State(s): State<AppState>,
    Path((_, key)): Path<(String, String)>,
    Posted { v, .. }: Posted,
) -> Response {
    match s.core.rotate_api_key(&v.signed.ctx, &v.org.id, &key).await {
        Ok(rotated) => page(&s, &v, Some(rotated), true).await,
        Err(e) => v.done(layout::refusal(&v.shell("api_keys"), e, &v.path("keys"))),
    }
}
