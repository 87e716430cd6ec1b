//! The roles page: each role and its grants, creating a custom role, and editing a role's
//! description and grants (the permission catalogue the APIs use). Each is the core operation
//! the APIs call (`list_roles`, `create_role`, `modify_role`), so the rank rule decides: a
//! refusal is a page that explains the rule in the viewer's language.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use maud::{html, Markup};
use roster_domain::core::{RoleInput, RolePatch};
use roster_domain::model::{Grant, Role};
use roster_domain::permissions::{is_admin_grants, perm};

use super::layout;
use super::posted::Posted;
use super::session::field;
use super::signin::{enter, View};
use crate::extract::Req;
use crate::state::AppState;

/// A grant as a checkbox value: its permission name, or the grant as JSON when it has
/// conditions (kept as it is when left checked).
fn grant_value(g: &Grant) -> String {
    if g.conditions.is_empty() {
        g.permission_name.clone()
    } else {
        serde_json::to_string(g).unwrap_or_default()
    }
}

/// The grants a posted form checked.
fn posted_grants(f: &[(String, String)]) -> Vec<Grant> {
    f.iter()
        .filter(|(k, _)| k == "grant")
        .map(|(_, v)| {
            if v.trim_start().starts_with('{') {
                serde_json::from_str(v).unwrap_or_else(|_| Grant::of(v))
            } else {
                Grant::of(v.trim())
            }
        })
        .collect()
}

/// One checkbox per permission of the catalogue, and one per conditional grant `current` has.
fn grant_boxes(v: &View, current: &[Grant], disabled: bool) -> Markup {
    let conditional: Vec<&Grant> = current
        .iter()
        .filter(|g| !g.conditions.is_empty())
        .collect();
    html! {
        fieldset.grants {
            legend { (v.t("permissions")) }
            @for (i, p) in perm::ALL.iter().enumerate() {
                @let held = current.iter().any(|g| g.permission_name == *p && g.conditions.is_empty());
                div {
                    input type="checkbox" id=(format!("grant-{i}")) name="grant" value=(p)
                        checked[held] disabled[disabled];
                    " "
                    label for=(format!("grant-{i}")) { code { (p) } }
                }
            }
            @for (i, g) in conditional.iter().enumerate() {
                div {
                    input type="checkbox" id=(format!("cond-{i}")) name="grant" value=(grant_value(g))
                        checked disabled[disabled];
                    " "
                    label for=(format!("cond-{i}")) {
                        code { (g.permission_name) } " "
                        span.muted { (serde_json::to_string(&g.conditions).unwrap_or_default()) }
                    }
                }
            }
        }
    }
}

fn roles_table(v: &View, roles: &[Role]) -> Markup {
    html! {
        table {
            thead { tr {
                th scope="col" { (v.t("name")) }
                th scope="col" { (v.t("permissions")) }
            } }
            tbody {
                @for r in roles {
                    tr {
                        td {
                            a href=(v.path(&format!("roles/{}", r.id))) { strong { (r.name) } }
                            br; span.muted { (r.description) }
                        }
                        td {
                            ul {
                                @for g in &r.grants {
                                    li {
                                        code { (g.permission_name) }
                                        @if !g.conditions.is_empty() {
                                            " " span.muted { (serde_json::to_string(&g.conditions).unwrap_or_default()) }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

pub async fn list(State(s): State<AppState>, Path(org): Path<String>, req: Req) -> Response {
    let v = match enter(&s, &req, &org).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let shell = v.shell("roles");
    let roles = match s.core.list_roles(&v.signed.ctx, &v.org.id, &[], &[]).await {
        Ok(r) => r,
        Err(e) => return v.done(layout::refusal(&shell, e, &v.path("users"))),
    };
    let body = html! {
        p.muted { (v.t("rank_rule")) }
        (roles_table(&v, &roles))
        h2 { (v.t("create_role")) }
        form.stack method="post" action=(v.path("roles")) {
            input type="hidden" name="csrf" value=(v.signed.csrf());
            p {
                label for="role_name" { (v.t("role_name")) }
                input #role_name type="text" name="name" required maxlength="256";
            }
            p {
                label for="description" { (v.t("description")) }
                input #description type="text" name="description" required;
            }
            (grant_boxes(&v, &[], false))
            p { button type="submit" { (v.t("create_role")) } }
        }
    };
    v.done(layout::send(
        StatusCode::OK,
        layout::page(&shell, v.t("roles"), body),
    ))
}

pub async fn create(State(s): State<AppState>, Posted { v, f }: Posted) -> Response {
    let grants = posted_grants(&f);
    let view = if is_admin_grants(&grants) {
        "admin"
    } else {
        "client"
    };
    let input = RoleInput {
        name: field(&f, "name").to_owned(),
        description: field(&f, "description").to_owned(),
        grants,
        frontend_view: view.to_owned(),
    };
    match s.core.create_role(&v.signed.ctx, &v.org.id, input).await {
        Ok(role) => v.done(layout::redirect(
            &v.path(&format!("roles/{}?done=1", role.id)),
            vec![],
        )),
        Err(e) => v.done(layout::refusal(&v.shell("roles"), e, &v.path("roles"))),
    }
}

/// The role `id` names, if the caller may see it.
async fn find(s: &AppState, v: &View, id: &str) -> Result<Role, roster_domain::Error> {
    s.core
        .list_roles(&v.signed.ctx, &v.org.id, &[id.to_owned()], &[])
        .await?
        .into_iter()
        .next()
        .ok_or(roster_domain::Error::NotFound("role"))
}

pub async fn edit_page(
    State(s): State<AppState>,
    Path((org, role_id)): Path<(String, String)>,
    req: Req,
) -> Response {
    let v = match enter(&s, &req, &org).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let shell = v.shell("roles");
    let role = match find(&s, &v, &role_id).await {
        Ok(r) => r,
        Err(e) => return v.done(layout::refusal(&shell, e, &v.path("roles"))),
    };
    let body = html! {
        @if req.query.one("done").is_some() { p role="status" { (v.t("role_saved")) } }
        p.muted { (v.t("rank_rule")) }
        form.stack method="post" action=(v.path(&format!("roles/{}", role.id))) {
            input type="hidden" name="csrf" value=(v.signed.csrf());
            p {
                label for="description" { (v.t("description")) }
                input #description type="text" name="description" value=(role.description) required;
            }
            @if role.builtin { p.muted { (v.t("builtin_fixed")) } }
            (grant_boxes(&v, &role.grants, role.builtin))
            p { button type="submit" { (v.t("save")) } }
        }
        p { a href=(v.path("roles")) { (v.t("roles")) } }
    };
    let title = format!("{}: {}", v.t("edit_role"), role.name);
    v.done(layout::send(
        StatusCode::OK,
        layout::page(&shell, &title, body),
    ))
}

pub async fn modify(
    State(s): State<AppState>,
    Path((_, role_id)): Path<(String, String)>,
    Posted { v, f }: Posted,
) -> Response {
    let shell = v.shell("roles");
    let page = v.path(&format!("roles/{role_id}"));
    let role = match find(&s, &v, &role_id).await {
        Ok(r) => r,
        Err(e) => return v.done(layout::refusal(&shell, e, &v.path("roles"))),
    };
    // A built-in role's grants are fixed: its form sends none, and none are changed.
    let patch = RolePatch {
        description: Some(field(&f, "description").to_owned()),
        grants: (!role.builtin).then(|| posted_grants(&f)),
        frontend_view: None,
    };
    match s
        .core
        .modify_role(&v.signed.ctx, &v.org.id, &role.name, patch)
        .await
    {
        Ok(_) => v.done(layout::redirect(&format!("{page}?done=1"), vec![])),
        Err(e) => v.done(layout::refusal(&shell, e, &page)),
    }
}
