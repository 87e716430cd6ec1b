//! The organization's SCIM tokens (what an identity provider's directory sync presents) and
//! its webhook endpoints: list, create (the token or the signing secret shown this once),
//! revoke or delete; through the same core operations as the administration API.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use maud::{html, Markup};
use roster_domain::core::{CreatedDirectoryToken, WebhookInput};
use roster_domain::permissions::DEFAULT_ADMIN_ROLE;
use roster_domain::webhooks::WebhookEndpoint;
use roster_domain::Error;

use super::i18n::when;
use super::layout;
use super::org_parts::items;
use super::organization::{button_form, sections, shown_once};
use super::posted::Posted;
use super::session::field;
use super::signin::{enter, View};
use crate::extract::Req;
use crate::state::AppState;

fn send(v: &View, key: &str, body: Markup) -> Response {
    let shell = v.shell("o_org");
    v.done(layout::send(
        StatusCode::OK,
        layout::page(&shell, v.t(key), body),
    ))
}

fn refused(v: &View, e: Error, back: &str) -> Response {
    v.done(layout::refusal(&v.shell("o_org"), e, &v.path(back)))
}

async fn scim_page(s: &AppState, v: &View, made: Option<CreatedDirectoryToken>) -> Response {
    let back = v.path("organization/scim-tokens");
    let (tokens, roles) = match (
        s.core.list_directory_tokens(&v.signed.ctx, &v.org.id).await,
        s.core.list_roles(&v.signed.ctx, &v.org.id, &[], &[]).await,
    ) {
        (Ok(t), Ok(r)) => (t, r),
        (Err(e), _) | (_, Err(e)) => return refused(v, e, "users"),
    };
    let body = html! {
        (sections(v, "o_scim"))
        @if let Some(m) = &made { (shown_once(v.t("o_token_once"), &m.secret, v.t("copy"))) }
        @if tokens.is_empty() { p.muted { (v.t("o_none")) } } @else {
            table {
                thead { tr {
                    th scope="col" { (v.t("o_token_name")) }
                    th scope="col" { (v.t("role")) }
                    th scope="col" { (v.t("created_at")) }
                    th scope="col" { (v.t("action")) }
                } }
                tbody { @for (t, role) in &tokens { tr {
                    td { (t.name) br; code.muted { (t.id) } }
                    td { (role) }
                    td { (when(t.created_at, v.timezone())) }
                    td { (button_form(v, &format!("{back}/{}/revoke", t.id), v.t("o_revoke"), &t.name)) }
                } } }
            }
        }
        h2 { (v.t("o_create")) }
        form.stack method="post" action=(back) {
            input type="hidden" name="csrf" value=(v.signed.csrf());
            p { label for="name" { (v.t("o_token_name")) } input #name type="text" name="name" required maxlength="100"; }
            p {
                label for="role" { (v.t("role")) }
                select #role name="role" {
                    @for r in &roles { option value=(r.name) selected[r.name == DEFAULT_ADMIN_ROLE] { (r.name) } }
                }
            }
            p { button type="submit" { (v.t("o_create")) } }
        }
    };
    send(v, "o_scim", body)
}

/// The organization's SCIM tokens.
pub async fn scim_tokens(State(s): State<AppState>, Path(org): Path<String>, req: Req) -> Response {
    match enter(&s, &req, &org).await {
        Ok(v) => scim_page(&s, &v, None).await,
        Err(r) => r,
    }
}

/// Creates one (`create_directory_token`); the token is on this answer only.
pub async fn add_scim_token(State(s): State<AppState>, Posted { v, f }: Posted) -> Response {
    let role = Some(field(&f, "role").trim()).filter(|r| !r.is_empty());
    match s
        .core
        .create_directory_token(&v.signed.ctx, &v.org.id, field(&f, "name"), role)
        .await
    {
        Ok(made) => scim_page(&s, &v, Some(made)).await,
        Err(e) => refused(&v, e, "organization/scim-tokens"),
    }
}

/// Revokes one (`revoke_directory_token`).
pub async fn revoke_scim_token(
    State(s): State<AppState>,
    Path((_, token)): Path<(String, String)>,
    Posted { v, .. }: Posted,
) -> Response {
    match s
        .core
        .revoke_directory_token(&v.signed.ctx, &v.org.id, &token)
        .await
    {
        Ok(()) => v.done(layout::redirect(
            &v.path("organization/scim-tokens"),
            vec![],
        )),
        Err(e) => refused(&v, e, "organization/scim-tokens"),
    }
}

async fn webhooks_page(s: &AppState, v: &View, made: Option<WebhookEndpoint>) -> Response {
    let back = v.path("organization/webhooks");
    let list = match s.core.list_webhooks(&v.signed.ctx, &v.org.id).await {
        Ok(l) => l,
        Err(e) => return refused(v, e, "users"),
    };
    let body = html! {
        (sections(v, "o_webhooks"))
        @if let Some(m) = &made { (shown_once(v.t("o_signing_once"), &m.secret, v.t("copy"))) }
        @if list.is_empty() { p.muted { (v.t("o_none")) } } @else {
            table {
                thead { tr {
                    th scope="col" { (v.t("o_url")) }
                    th scope="col" { (v.t("o_description")) }
                    th scope="col" { (v.t("o_types")) }
                    th scope="col" { (v.t("o_enabled")) }
                    th scope="col" { (v.t("created_at")) }
                    th scope="col" { (v.t("action")) }
                } }
                tbody { @for w in &list { tr {
                    td { code { (w.url) } br; code.muted { (w.id) } }
                    td { (w.description) }
                    td { @if w.types.is_empty() { "*" } @else { (w.types.join(", ")) } }
                    td { (v.t(if w.enabled { "o_yes" } else { "o_no" })) }
                    td { (when(w.created_at, v.timezone())) }
                    td { (button_form(v, &format!("{back}/{}/delete", w.id), v.t("delete"), &w.url)) }
                } } }
            }
        }
        h2 { (v.t("o_add")) }
        form.stack method="post" action=(back) {
            input type="hidden" name="csrf" value=(v.signed.csrf());
            p { label for="url" { (v.t("o_url")) } input #url type="url" name="url" required; }
            p { label for="description" { (v.t("o_description")) } input #description type="text" name="description"; }
            p {
                label for="types" { (v.t("o_types")) }
                input #types type="text" name="types" aria-describedby="types_help";
                small #types_help { (v.t("o_types_help")) }
            }
            p { button type="submit" { (v.t("o_add")) } }
        }
    };
    send(v, "o_webhooks", body)
}

/// The organization's webhook endpoints.
pub async fn webhooks(State(s): State<AppState>, Path(org): Path<String>, req: Req) -> Response {
    match enter(&s, &req, &org).await {
        Ok(v) => webhooks_page(&s, &v, None).await,
        Err(r) => r,
    }
}

/// Adds one (`create_webhook`); its signing secret is on this answer only.
pub async fn add_webhook(State(s): State<AppState>, Posted { v, f }: Posted) -> Response {
    let input = WebhookInput {
        url: Some(field(&f, "url").trim().to_owned()),
        types: Some(items(field(&f, "types"))),
        enabled: Some(true),
        description: Some(field(&f, "description").trim().to_owned()),
    };
    match s.core.create_webhook(&v.signed.ctx, &v.org.id, input).await {
        Ok(made) => webhooks_page(&s, &v, Some(made)).await,
        Err(e) => refused(&v, e, "organization/webhooks"),
    }
}

/// Deletes one (`delete_webhook`).
pub async fn delete_webhook(
    State(s): State<AppState>,
    Path((_, webhook)): Path<(String, String)>,
    Posted { v, .. }: Posted,
) -> Response {
    match s
        .core
        .delete_webhook(&v.signed.ctx, &v.org.id, &webhook)
        .await
    {
        Ok(()) => v.done(layout::redirect(&v.path("organization/webhooks"), vec![])),
        Err(e) => refused(&v, e, "organization/webhooks"),
    }
}
