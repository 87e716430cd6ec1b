//! The organization's upstream connections (OpenID Connect providers its members sign in
//! through) and its OpenID Connect clients (applications that sign people in through Roster):
//! list, add (a confidential client's secret shown this once), delete; through the same core
//! operations as the administration API.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use maud::{html, Markup};
use roster_domain::core::{ConnectionInput, CreatedOidcClient, OidcClientInput};
use roster_domain::Error;

use super::i18n::when;
use super::layout;
use super::organization::{button_form, sections, shown_once};
use super::posted::Posted;
use super::session::field;
use super::signin::{enter, View};
use crate::extract::Req;
use crate::state::AppState;

/// Items of a free-text list: separated by commas or white space.
pub fn items(text: &str) -> Vec<String> {
    text.split(|c: char| c == ',' || c.is_whitespace())
        .filter(|x| !x.is_empty())
        .map(str::to_owned)
        .collect()
}

fn checked(f: &[(String, String)], name: &str) -> bool {
    f.iter().any(|(k, v)| k == name && !v.is_empty())
}

fn shell_page(v: &View, key: &str, body: Markup) -> Response {
    let shell = v.shell("o_org");
    v.done(layout::send(
        StatusCode::OK,
        layout::page(&shell, v.t(key), body),
    ))
}

async fn connections_page(s: &AppState, v: &View) -> Response {
    let back = v.path("organization/connections");
    let list = match s.core.list_connections(&v.signed.ctx, &v.org.id).await {
        Ok(l) => l,
        Err(e) => return v.done(layout::refusal(&v.shell("o_org"), e, &v.path("users"))),
    };
    let body = html! {
        (sections(v, "o_connections"))
        @if list.is_empty() { p.muted { (v.t("o_none")) } } @else {
            table {
                thead { tr {
                    th scope="col" { (v.t("o_conn_name")) }
                    th scope="col" { (v.t("o_issuer")) }
                    th scope="col" { (v.t("o_client_id")) }
                    th scope="col" { (v.t("o_domains")) }
                    th scope="col" { (v.t("o_redirect_uri")) }
                    th scope="col" { (v.t("created_at")) }
                    th scope="col" { (v.t("action")) }
                } }
                tbody { @for c in &list { tr {
                    td { code { (c.name) } }
                    td { (c.issuer) }
                    td { code { (c.client_id) } }
                    td { (c.domains.join(", ")) }
                    td { code { (crate::upstream::callback_uri(&s.core.config.public_url, Some(&c.org_id), &c.name)) } }
                    td { (when(c.created_at, v.timezone())) }
                    td { (button_form(v, &format!("{back}/{}/delete", c.name), v.t("delete"), &c.name)) }
                } } }
            }
        }
        h2 { (v.t("o_add")) }
        form.stack method="post" action=(back) {
            input type="hidden" name="csrf" value=(v.signed.csrf());
            p { label for="name" { (v.t("o_conn_name")) } input #name type="text" name="name" required maxlength="40"; }
            p { label for="issuer" { (v.t("o_issuer")) } input #issuer type="url" name="issuer" required; }
            p { label for="client_id" { (v.t("o_client_id")) } input #client_id type="text" name="client_id" required; }
            p { label for="client_secret" { (v.t("o_client_secret")) } input #client_secret type="password" name="client_secret" required autocomplete="off"; }
            p {
                label for="domains" { (v.t("o_domains")) }
                input #domains type="text" name="domains" required aria-describedby="domains_help";
                small #domains_help { (v.t("o_domains_help")) }
            }
            p { input #link type="checkbox" name="link_password_accounts" value="1"; " " label for="link" { (v.t("o_link_password")) } }
            p { button type="submit" { (v.t("o_add")) } }
        }
    };
    shell_page(v, "o_connections", body)
}

/// The organization's connections.
pub async fn connections(State(s): State<AppState>, Path(org): Path<String>, req: Req) -> Response {
    match enter(&s, &req, &org).await {
        Ok(v) => connections_page(&s, &v).await,
        Err(r) => r,
    }
}

/// Adds one (`create_connection`).
pub async fn add_connection(State(s): State<AppState>, Posted { v, f }: Posted) -> Response {
    let input = ConnectionInput {
        name: Some(field(&f, "name").trim().to_owned()),
        issuer: Some(field(&f, "issuer").trim().to_owned()),
        client_id: Some(field(&f, "client_id").trim().to_owned()),
        client_secret: Some(field(&f, "client_secret").to_owned()),
        domains: Some(items(field(&f, "domains"))),
        link_password_accounts: Some(checked(&f, "link_password_accounts")),
    };
    match s
        .core
        .create_connection(&v.signed.ctx, &v.org.id, input)
        .await
    {
        Ok(_) => v.done(layout::redirect(
            &v.path("organization/connections"),
            vec![],
        )),
        Err(e) => refused(&v, e, "organization/connections"),
    }
}

fn refused(v: &View, e: Error, back: &str) -> Response {
    v.done(layout::refusal(&v.shell("o_org"), e, &v.path(back)))
}

/// Removes one (`delete_connection`).
pub async fn delete_connection(
    State(s): State<AppState>,
    Path((_, name)): Path<(String, String)>,
    Posted { v, .. }: Posted,
) -> Response {
    match s
        .core
        .delete_connection(&v.signed.ctx, &v.org.id, &name)
        .await
    {
        Ok(()) => v.done(layout::redirect(
            &v.path("organization/connections"),
            vec![],
        )),
        Err(e) => refused(&v, e, "organization/connections"),
    }
}

async fn clients_page(s: &AppState, v: &View, made: Option<CreatedOidcClient>) -> Response {
    let back = v.path("organization/clients");
    let list = match s.core.list_oidc_clients(&v.signed.ctx, &v.org.id).await {
        Ok(l) => l,
        Err(e) => return v.done(layout::refusal(&v.shell("o_org"), e, &v.path("users"))),
    };
    let body = html! {
        (sections(v, "o_clients"))
        @if let Some(secret) = made.as_ref().and_then(|m| m.secret.as_deref()) {
            (shown_once(v.t("o_client_secret_once"), secret, v.t("copy")))
        }
        @if list.is_empty() { p.muted { (v.t("o_none")) } } @else {
            table {
                thead { tr {
                    th scope="col" { (v.t("o_client_name")) }
                    th scope="col" { (v.t("o_client_id")) }
                    th scope="col" { (v.t("o_kind")) }
                    th scope="col" { (v.t("o_redirect_uris")) }
                    th scope="col" { (v.t("created_at")) }
                    th scope="col" { (v.t("action")) }
                } }
                tbody { @for c in &list { tr {
                    td { (c.name) }
                    td { code { (c.client_id) } }
                    td { (v.t(if c.is_public() { "o_public_kind" } else { "o_confidential" })) }
                    td { @for u in &c.redirect_uris { code { (u) } br; } }
                    td { (when(c.created_at, v.timezone())) }
                    td { (button_form(v, &format!("{back}/{}/delete", c.client_id), v.t("delete"), &c.name)) }
                } } }
            }
        }
        h2 { (v.t("o_add")) }
        form.stack method="post" action=(back) {
            input type="hidden" name="csrf" value=(v.signed.csrf());
            p { label for="name" { (v.t("o_client_name")) } input #name type="text" name="name" required; }
            p {
                label for="redirect_uris" { (v.t("o_redirect_uris")) }
                textarea #redirect_uris name="redirect_uris" rows="3" required aria-describedby="uris_help" {}
                small #uris_help { (v.t("o_uris_help")) }
            }
            p { input #public type="checkbox" name="public" value="1"; " " label for="public" { (v.t("o_public")) } }
            p { button type="submit" { (v.t("o_add")) } }
        }
    };
    shell_page(v, "o_clients", body)
}

/// The organization's OpenID Connect clients.
pub async fn clients(State(s): State<AppState>, Path(org): Path<String>, req: Req) -> Response {
    match enter(&s, &req, &org).await {
        Ok(v) => clients_page(&s, &v, None).await,
        Err(r) => r,
    }
}

/// Registers one (`create_oidc_client`); a confidential client's secret is on this answer only.
pub async fn add_client(State(s): State<AppState>, Posted { v, f }: Posted) -> Response {
    let input = OidcClientInput {
        name: Some(field(&f, "name").trim().to_owned()),
        redirect_uris: Some(items(field(&f, "redirect_uris"))),
        public: checked(&f, "public"),
    };
    match s
        .core
        .create_oidc_client(&v.signed.ctx, &v.org.id, input)
        .await
    {
        Ok(made) => clients_page(&s, &v, Some(made)).await,
        Err(e) => refused(&v, e, "organization/clients"),
    }
}

/// Deletes one (`delete_oidc_client`).
pub async fn delete_client(
    State(s): State<AppState>,
    Path((_, client)): Path<(String, String)>,
    Posted { v, .. }: Posted,
) -> Response {
    match s
        .core
        .delete_oidc_client(&v.signed.ctx, &v.org.id, &client)
        .await
    {
        Ok(()) => v.done(layout::redirect(&v.path("organization/clients"), vec![])),
        Err(e) => refused(&v, e, "organization/clients"),
    }
}
