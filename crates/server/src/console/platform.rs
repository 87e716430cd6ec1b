//! The platform page, for the platform's administrators only (anyone else gets a 403 page):
//! every organization in keyset pages by id (`Next page` carries the last id; no count), each
//! with its cluster and a link into its console, and a form that creates an organization on a
//! chosen cluster (the core's `create_organization`, as Amigo's API).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use maud::html;
use roster_domain::core::NewOrgInput;
use roster_domain::model::Organization;
use roster_domain::permissions::perm;
use serde_json::json;

use super::i18n::when;
use super::layout;
use super::posted::Posted;
use super::session::field;
use super::signin::{enter, View};
use crate::extract::Req;
use crate::state::AppState;

const PAGE_SIZE: usize = 50;

fn forbidden(v: &View) -> Response {
    let shell = v.shell("o_platform");
    v.done(layout::message(
        StatusCode::FORBIDDEN,
        &shell,
        v.t("no_access_title"),
        v.t("o_platform_only"),
        Some((&v.path("users"), v.t("back"))),
    ))
}

async fn page(s: &AppState, v: &View, after: &str, created: Option<Organization>) -> Response {
    let shell = v.shell("o_platform");
    let mut orgs = match s
        .core
        .list_organizations(&v.signed.ctx, after, PAGE_SIZE + 1)
        .await
    {
        Ok(o) => o,
        Err(e) => return v.done(layout::refusal(&shell, e, &v.path("users"))),
    };
    let more = orgs.len() > PAGE_SIZE;
    orgs.truncate(PAGE_SIZE);
    let clusters = s.core.clusters();
    let next = orgs.last().map(|(o, _)| o.id.clone()).filter(|_| more);
    let body = html! {
        @if let Some(o) = &created {
            p role="status" { (v.t("o_org_created")) " " a href=(format!("/console/{}/users", o.id)) { (o.name) } }
        }
        h2 { (v.t("o_orgs")) }
        table {
            thead { tr {
                th scope="col" { (v.t("org_id")) }
                th scope="col" { (v.t("name")) }
                th scope="col" { (v.t("o_cluster")) }
                th scope="col" { (v.t("created_at")) }
                th scope="col" { (v.t("action")) }
            } }
            tbody { @for (o, cluster) in &orgs { tr {
                td { code { (o.id) } }
                td { (o.name) }
                td { (cluster.as_deref().filter(|c| !c.is_empty()).unwrap_or(v.t("o_home_cluster"))) }
                td { (when(o.created_at, v.timezone())) }
                td { a href=(format!("/console/{}/users", o.id)) aria-label=(format!("{} {}", v.t("o_open_console"), o.id)) { (v.t("o_open_console")) } }
            } } }
        }
        @if let Some(n) = &next {
            p { a href=(format!("{}?after={}", v.path("platform"), n)) rel="next" { (v.t("next_page")) } }
        }
        h2 { (v.t("o_create_org")) }
        form.stack method="post" action=(v.path("platform")) {
            input type="hidden" name="csrf" value=(v.signed.csrf());
            p { label for="id" { (v.t("org_id")) } input #id type="text" name="id" required maxlength="63"; }
            p { label for="name" { (v.t("o_name")) } input #name type="text" name="name" required maxlength="200"; }
            @if !clusters.is_empty() {
                p {
                    label for="cluster" { (v.t("o_cluster")) }
                    select #cluster name="cluster" {
                        @for c in &clusters { option value=(c) { (if c.is_empty() { v.t("o_home_cluster") } else { c.as_str() }) } }
                    }
                }
            }
            p { button type="submit" { (v.t("o_create_org")) } }
        }
    };
    v.done(layout::send(
        StatusCode::OK,
        layout::page(&shell, v.t("o_platform"), body),
    ))
}

/// Every organization, a page at a time.
pub async fn show(State(s): State<AppState>, Path(org): Path<String>, req: Req) -> Response {
    let v = match enter(&s, &req, &org).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    if s.core
        .require_platform(&v.signed.ctx, perm::ORG_GET_DETAILS)
        .is_err()
    {
        return forbidden(&v);
    }
    let after = req.query.one("after").unwrap_or_default().to_owned();
    page(&s, &v, &after, None).await
}

/// Creates an organization (its built-in roles, no users) on the chosen cluster.
pub async fn create(State(s): State<AppState>, Posted { v, f }: Posted) -> Response {
    if s.core
        .require_platform(&v.signed.ctx, perm::ORG_CREATE)
        .is_err()
    {
        return forbidden(&v);
    }
    let cluster = Some(field(&f, "cluster").trim().to_owned()).filter(|c| !c.is_empty());
    let input = NewOrgInput {
        id: field(&f, "id").trim().to_owned(),
        name: field(&f, "name").to_owned(),
        default_preferences: Default::default(),
        user_dimensions: json!([]),
        branding: json!({}),
        is_platform: false,
        cluster,
    };
    match s.core.create_organization(&v.signed.ctx, input).await {
        Ok(o) => page(&s, &v, "", Some(o)).await,
        Err(e) => {
            let e = e
                .field_moved("organization", roster_domain::Location::Body, "id")
                .field_moved("org_name", roster_domain::Location::Body, "name");
            v.done(layout::refusal(
                &v.shell("o_platform"),
                e,
                &v.path("platform"),
            ))
        }
    }
}
