//! The bulk page: upload an eva-format CSV (`email;name;company;role;password;...`), which
//! becomes an import job (the core's streamed import, the one eva's `bulk-create` and the
//! administration API's jobs use) whose page shows its progress and, at the end, every rejected
//! row (`jobs.rs`). The export of the filtered user list is on the users page (`users.rs`).

use axum::extract::{FromRequest, Multipart, Path, Request, State};
use axum::http::StatusCode;
use axum::response::Response;
use maud::html;
use roster_domain::Error;

use super::layout;
use super::signin::{enter, View};
use crate::extract::Req;
use crate::state::AppState;

fn upload_form(v: &View) -> maud::Markup {
    html! {
        form.stack method="post" action=(v.path("bulk")) enctype="multipart/form-data" {
            input type="hidden" name="csrf" value=(v.signed.csrf());
            p {
                label for="file" { (v.t("csv_file")) }
                input #file type="file" name="file" accept=".csv,text/csv" required;
            }
            p.muted { (v.t("csv_format")) }
            p { button type="submit" { (v.t("upload")) } }
        }
    }
}

pub async fn page(State(s): State<AppState>, Path(org): Path<String>, req: Req) -> Response {
    let v = match enter(&s, &req, &org).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let shell = v.shell("bulk");
    let recent = super::jobs::recent(&s, &v).await;
    let body = html! {
        (upload_form(&v))
        p { a href=(v.path("users.csv")) download { (v.t("export")) } }
        (recent)
    };
    v.done(layout::send(
        StatusCode::OK,
        layout::page(&shell, v.t("bulk"), body),
    ))
}

/// The form's token and file.
async fn read(form: &mut Multipart) -> Result<(String, Vec<u8>), Error> {
    let mut parts = super::session::parts(form).await?;
    let csrf = super::session::part_text(&parts, "csrf");
    let file = parts
        .iter()
        .position(|(k, _)| k == "file")
        .ok_or_else(roster_domain::core::missing_file)?;
    Ok((csrf, parts.swap_remove(file).1))
}

/// Starts an import job of the uploaded file and answers with its page (303), where its
/// progress shows while the server reads the file.
pub async fn upload(
    State(s): State<AppState>,
    Path(org): Path<String>,
    req: Req,
    request: Request,
) -> Response {
    let v = match enter(&s, &req, &org).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let shell = v.shell("bulk");
    let Ok(mut form) = Multipart::from_request(request, &s).await else {
        return v.done(layout::refusal(
            &shell,
            roster_domain::core::missing_file(),
            &v.path("bulk"),
        ));
    };
    let (csrf, file) = match read(&mut form).await {
        Ok(f) => f,
        Err(e) => return v.done(layout::refusal(&shell, e, &v.path("bulk"))),
    };
    if !v.signed.csrf_ok(&[("csrf".to_owned(), csrf)]) {
        return v.done(super::signin::bad_form(&v, &v.path("bulk")));
    }
    match super::jobs::start(&s, &v.signed.ctx, &v.org.id, file, v.lang.code()).await {
        Ok(job) => v.done(layout::redirect(&v.path(&format!("jobs/{job}")), vec![])),
        Err(e) => v.done(layout::refusal(&shell, e, &v.path("bulk"))),
    }
}
