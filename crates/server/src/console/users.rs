//! The users page: search (the indexed substring search of name and email), sort by every
//! field the listing documents, filter by status and role, keyset pages (a next-page token and
//! the last page read backwards, never a count by scanning), the total where a counter gives
//! it; and the same filtered list as a CSV export, streamed page by page.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use maud::{html, Markup};
use roster_domain::core::{ConsoleUserQuery, CONSOLE_SORT_FIELDS};
use roster_domain::model::{Role, User};

use super::i18n::when;
use super::layout;
use super::signin::{enter, View};
use crate::extract::Req;
use crate::state::AppState;

const PAGE_SIZE: u32 = 50;

fn sort_label(field: &str) -> &'static str {
    match field {
        "first_name" => "first_name",
        "last_name" => "last_name",
        "email" => "email",
        "created_at" => "created_at",
        "user_stats.last_message_time" => "last_message",
        _ => "name",
    }
}

/// The filters as the page's form sent them.
struct Filters {
    search: String,
    sort: String,
    status: String,
    role: String,
}

impl Filters {
    fn read(req: &Req) -> Self {
        let get = |k: &str| req.query.one(k).unwrap_or_default().trim().to_owned();
        Self {
            search: get("q"),
            sort: get("sort"),
            status: get("status"),
            role: get("role"),
        }
    }

    fn query(&self, after: i64, last: bool, limit: u32) -> ConsoleUserQuery {
        let opt = |s: &str| (!s.is_empty()).then(|| s.to_owned());
        ConsoleUserQuery {
            search: opt(&self.search),
            sort: opt(&self.sort),
            status: opt(&self.status),
            role: opt(&self.role),
            after,
            last,
            limit,
        }
    }

    /// The query string of these filters (for the pager and the export).
    fn params(&self) -> String {
        let mut q = form_urlencoded::Serializer::new(String::new());
        for (k, v) in [
            ("q", &self.search),
            ("sort", &self.sort),
            ("status", &self.status),
            ("role", &self.role),
        ] {
            if !v.is_empty() {
                q.append_pair(k, v);
            }
        }
        q.finish()
    }
}

fn role_names(roles: &[Role], u: &User) -> String {
    roles
        .iter()
        .filter(|r| u.role_ids.contains(&r.id))
        .map(|r| r.name.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

pub(super) fn status_key(u: &User) -> &'static str {
    match u.status {
        roster_domain::model::UserStatus::Active => "active",
        roster_domain::model::UserStatus::Invited => "invited",
        roster_domain::model::UserStatus::Inactive => "inactive",
    }
}

/// The table and its pager: the whole page's content, and what the search box's htmx request
/// swaps in.
fn results(
    v: &View,
    f: &Filters,
    roles: &[Role],
    found: &roster_domain::core::ConsoleUsers,
    last: bool,
) -> Markup {
    let base = v.path("users");
    let params = f.params();
    let join = if params.is_empty() { "" } else { "&" };
    html! {
        div #results {
            @if let Some(total) = found.total {
                p.muted role="status" { (total) " " (v.t("total")) }
            }
            @if found.page.items.is_empty() {
                p role="status" { (v.t("no_users")) }
            } @else {
                table {
                    caption.muted { (v.t("users")) }
                    thead { tr {
                        th scope="col" { (v.t("name")) }
                        th scope="col" { (v.t("email")) }
                        th scope="col" { (v.t("status")) }
                        th scope="col" { (v.t("roles")) }
                        th scope="col" { (v.t("created_at")) }
                    } }
                    tbody {
                        @for u in &found.page.items {
                            tr {
                                td { a href=(v.path(&format!("users/{}", u.id))) { (u.first_name) " " (u.last_name) } }
                                td { (u.email) }
                                td { (v.t(status_key(u))) }
                                td { (role_names(roles, u)) }
                                td { (when(u.created_at, v.timezone())) }
                            }
                        }
                    }
                }
            }
            nav.pager aria-label=(v.t("pages")) {
                a href=(format!("{base}?{params}")) { (v.t("first_page")) }
                @if let Some(next) = found.page.continuation_token.filter(|_| found.page.has_more) {
                    a href=(format!("{base}?{params}{join}after={next}")) rel="next" { (v.t("next_page")) }
                }
                @if !last {
                    a href=(format!("{base}?{params}{join}last=1")) { (v.t("last_page")) }
                }
                a href=(format!("{}?{params}", v.path("users.csv"))) download { (v.t("export")) }
            }
        }
    }
}

pub async fn list(State(s): State<AppState>, Path(org): Path<String>, req: Req) -> Response {
    let v = match enter(&s, &req, &org).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let shell = v.shell("users");
    let f = Filters::read(&req);
    let after = req
        .query
        .one("after")
        .and_then(|a| a.parse().ok())
        .unwrap_or(0);
    let last = req.query.one("last") == Some("1");
    let roles = match s.core.list_roles(&v.signed.ctx, &v.org.id, &[], &[]).await {
        Ok(r) => r,
        Err(e) => return v.done(layout::refusal(&shell, e, &v.path("users"))),
    };
    let found = match s
        .core
        .console_users(&v.signed.ctx, &v.org.id, f.query(after, last, PAGE_SIZE))
        .await
    {
        Ok(found) => found,
        Err(e) => return v.done(layout::refusal(&shell, e, &v.path("users"))),
    };
    let table = results(&v, &f, &roles, &found, last);
    // The search box asks for the results only (htmx); everything else gets the page.
    if req.headers.get("hx-request").is_some() && req.headers.get("hx-boosted").is_none() {
        return v.done(layout::send(StatusCode::OK, table));
    }
    let body = html! {
        p { a href=(v.path("invite")) { (v.t("invite")) } }
        form.filters method="get" action=(v.path("users")) role="search" {
            div {
                label for="q" { (v.t("search")) }
                input #q type="search" name="q" value=(f.search)
                    hx-get=(v.path("users")) hx-trigger="input changed delay:300ms, search"
                    hx-target="#results" hx-swap="outerHTML" hx-include="closest form";
            }
            div {
                label for="sort" { (v.t("sort")) }
                select #sort name="sort" {
                    @for field in CONSOLE_SORT_FIELDS {
                        @for desc in [false, true] {
                            @let value = if desc { format!("-{field}") } else { (*field).to_owned() };
                            option value=(value) selected[f.sort == value] {
                                (v.t(sort_label(field))) " (" (v.t(if desc { "descending" } else { "ascending" })) ")"
                            }
                        }
                    }
                }
            }
            div {
                label for="status" { (v.t("status")) }
                select #status name="status" {
                    option value="" { (v.t("any")) }
                    @for st in ["active", "invited", "inactive"] {
                        option value=(st) selected[f.status == st] { (v.t(st)) }
                    }
                }
            }
            div {
                label for="role" { (v.t("role")) }
                select #role name="role" {
                    option value="" { (v.t("any")) }
                    @for r in &roles {
                        option value=(r.name) selected[f.role == r.name] { (r.name) }
                    }
                }
            }
            div { button type="submit" { (v.t("apply")) } }
        }
        (table)
    };
    v.done(layout::send(
        StatusCode::OK,
        layout::page(&shell, v.t("users"), body),
    ))
}

fn csv_cell(s: &str) -> String {
    // A leading formula character is neutralised so that a spreadsheet shows text.
    let s = if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_owned()
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

fn csv_line(roles: &[Role], u: &User) -> String {
    let cells = [
        u.id.as_str(),
        u.email.as_str(),
        u.first_name.as_str(),
        u.last_name.as_str(),
        u.status.as_str(),
        &role_names(roles, u),
    ]
    .map(csv_cell);
    format!("{}\n", cells.join(","))
}

/// The filtered list as CSV, read through the same listing a page at a time while it is sent.
pub async fn export(State(s): State<AppState>, Path(org): Path<String>, req: Req) -> Response {
    let v = match enter(&s, &req, &org).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let f = Filters::read(&req);
    let shell = v.shell("users");
    let roles = match s.core.list_roles(&v.signed.ctx, &v.org.id, &[], &[]).await {
        Ok(r) => r,
        Err(e) => return v.done(layout::refusal(&shell, e, &v.path("users"))),
    };
    // The first page is read before answering, so that a bad filter is a page, not a cut file.
    let first = match s
        .core
        .console_users(&v.signed.ctx, &v.org.id, f.query(0, false, 100))
        .await
    {
        Ok(p) => p.page,
        Err(e) => return v.done(layout::refusal(&shell, e, &v.path("users"))),
    };
    let (core, ctx, org_id) = (s.core.clone(), v.signed.ctx.clone(), v.org.id.clone());
    let header_line = "id,email,first_name,last_name,status,roles\n".to_owned();
    let stream = futures::stream::unfold(Some(first), move |page| {
        let (core, ctx, org_id, roles) = (core.clone(), ctx.clone(), org_id.clone(), roles.clone());
        let q = f.query(0, false, 100);
        async move {
            let page = page?;
            let mut chunk = String::new();
            for u in &page.items {
                chunk.push_str(&csv_line(&roles, u));
            }
            let next = match page.continuation_token.filter(|_| page.has_more) {
                None => None,
                Some(after) => {
                    let q = ConsoleUserQuery { after, ..q };
                    match core.console_users(&ctx, &org_id, q).await {
                        Ok(n) => Some(n.page),
                        Err(e) => {
                            // The file ends short of its rows: the client sees a broken download.
                            tracing::error!(error = ?e, "console export stopped");
                            return Some((Err(std::io::Error::other("export failed")), None));
                        }
                    }
                }
            };
            Some((Ok::<_, std::io::Error>(chunk), next))
        }
    });
    let body = Body::from_stream(
        futures::stream::once(async move { Ok::<_, std::io::Error>(header_line) }).chain(stream),
    );
    let mut r = (StatusCode::OK, body).into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    h.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static("attachment; filename=\"users.csv\""),
    );
    layout::secure_headers(&mut r);
    v.done(r)
}
