//! The eva-user API, mounted at `/eva-user/org/{orgUUID}/...` and `/org/{orgUUID}/...`: a thin
//! adapter over the core, with eva's `StandardError` / `ValidationError` bodies.

mod dto;
mod error;

use axum::extract::{DefaultBodyLimit, FromRequest, Multipart, Request, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use axum::{Json, Router};
use roster_domain::core::{missing_file, BulkOutcome, EvaListQuery};
use roster_domain::model::Configuration;
use roster_domain::{Error, FieldError, Location};
use serde_json::{json, Value};

pub use error::render;

use super::amigo::{Body, Caller, PathArgs, Req, Result};
use crate::error::ApiError;
use crate::state::AppState;
use dto::*;

fn routes(max_csv: usize) -> Router<AppState> {
    let bulk = Router::new()
        .route("/org/{org}/users/bulk-create", post(bulk_create))
        .route("/org/{org}/users/bulk-delete", delete(bulk_delete))
        .route(
            "/org/{org}/users/bulk-permissions",
            post(bulk_grant).delete(bulk_revoke),
        )
        .layer(DefaultBodyLimit::max(max_csv));
    Router::new()
        .route("/org/{org}/users", get(list).post(create))
        .route("/org/{org}/users/quicksearch", get(quicksearch))
        .route("/org/{org}/users/identity-provider", get(identity_provider))
        .route("/org/{org}/users/activate", put(activate))
        .route(
            "/org/{org}/users/{user}",
            get(get_user).put(update).delete(remove),
        )
        .route("/org/{org}/configurations", post(set_config).get(configs))
        .route("/org/{org}/configurations/userHasConf", get(has_config))
        .route("/org/{org}/configurations/{bot}", get(bot_configs))
        .route(
            "/org/{org}/configurations/{bot}/userHasConf",
            get(bot_has_config),
        )
        .merge(bulk)
}

/// Both mount points of the surface.
pub fn router(max_csv: usize) -> Router<AppState> {
    Router::new()
        .nest("/eva-user", routes(max_csv))
        .merge(routes(max_csv))
}

/// The `language` query parameter (default `en`); the core checks it.
fn language(req: &Req) -> String {
    req.query.one("language").unwrap_or("en").to_owned()
}

/// List users: a Spring page (`page` from 0, `linesPerPage`, `orderBy` name|email|company|createdAt,
/// `direction` ASC|DESC, `searchTerms` in name, email or company).
async fn list(
    State(s): State<AppState>,
    PathArgs(p): PathArgs,
    caller: Caller,
    req: Req,
) -> Result<Response> {
    caller.limit(&s, "get-users").await?;
    let q = &req.query;
    let mut problems = Vec::new();
    let page = q.int("page", 0, &mut problems);
    let lines = q.int("linesPerPage", 5, &mut problems);
    let direction = q.one("direction").unwrap_or("DESC").to_ascii_uppercase();
    if direction != "ASC" && direction != "DESC" {
        problems.push(FieldError::query(
            "direction",
            "enum",
            "direction must be ASC or DESC",
        ));
    }
    if !problems.is_empty() {
        return Err(Error::Validation(problems).into());
    }
    let query = EvaListQuery {
        page,
        lines_per_page: lines,
        order_by: q.one("orderBy").unwrap_or("createdAt").to_owned(),
        descending: direction == "DESC",
        search: q.one("searchTerms").map(str::to_owned),
    };
    let result = s.core.eva_list(&caller.ctx, &p[0], &query).await?;
    let content = result.items.into_iter().map(UserOut::new).collect();
    Ok(Json(page_body(content, page, lines, result.total)).into_response())
}

fn page_body(content: Vec<UserOut>, page: i64, lines: i64, total: i64) -> Value {
    dto::page(content, page, lines, total, true)
}

/// Names that start with `name`, alphabetical, at most `limit` (default 6).
async fn quicksearch(
    State(s): State<AppState>,
    PathArgs(p): PathArgs,
    caller: Caller,
    req: Req,
) -> Result<Response> {
    caller.limit(&s, "search-users").await?;
    let mut problems = Vec::new();
    let limit = req.query.int("limit", 6, &mut problems);
    if !problems.is_empty() {
        return Err(Error::Validation(problems).into());
    }
    let name = req.query.one("name").unwrap_or("").to_owned();
    Ok(Json(s.core.quicksearch(&caller.ctx, &p[0], &name, limit).await?).into_response())
}

/// Create a user with a password (and its confirmation); a welcome email goes out in `language`.
async fn create(
    State(s): State<AppState>,
    PathArgs(p): PathArgs,
    caller: Caller,
    req: Req,
    Body(b): Body<UserWrite>,
) -> Result<Response> {
    caller.limit(&s, "create-invited-user").await?;
    s.limits.check_address(&b.email, caller.key()).await?;
    let lang = language(&req);
    let user = s
        .core
        .eva_create(&caller.ctx, &p[0], b.into(), &lang)
        .await?;
    Ok(Json(UserOut::new(user)).into_response())
}

async fn get_user(
    State(s): State<AppState>,
    PathArgs(p): PathArgs,
    caller: Caller,
) -> Result<Response> {
    caller.limit(&s, "get-users").await?;
    let user = s.core.eva_get(&caller.ctx, &p[0], &p[1]).await?;
    Ok(Json(UserOut::new(user)).into_response())
}

/// Replace a user's data; `password` only for one's own account, the email not at all.
async fn update(
    State(s): State<AppState>,
    PathArgs(p): PathArgs,
    caller: Caller,
    Body(b): Body<UserWrite>,
) -> Result<Response> {
    caller.limit(&s, "update-user-info").await?;
    let user = s
        .core
        .eva_update(&caller.ctx, &p[0], &p[1], b.into())
        .await?;
    Ok(Json(UserOut::new(user)).into_response())
}

/// Re-activate a deleted (deactivated) user found by email, with the given data.
async fn activate(
    State(s): State<AppState>,
    PathArgs(p): PathArgs,
    caller: Caller,
    req: Req,
    Body(b): Body<UserWrite>,
) -> Result<Response> {
    caller.limit(&s, "update-user-info").await?;
    s.limits.check_address(&b.email, caller.key()).await?;
    let lang = language(&req);
    let user = s
        .core
        .eva_activate(&caller.ctx, &p[0], b.into(), &lang)
        .await?;
    Ok(Json(UserOut::new(user)).into_response())
}

/// Delete (deactivate) a user; 204.
async fn remove(
    State(s): State<AppState>,
    PathArgs(p): PathArgs,
    caller: Caller,
) -> Result<Response> {
    caller.limit(&s, "delete-user").await?;
    s.core.eva_delete(&caller.ctx, &p[0], &p[1]).await?;
    Ok(axum::http::StatusCode::NO_CONTENT.into_response())
}

/// The caller's own user, from the token.
async fn identity_provider(
    State(s): State<AppState>,
    PathArgs(p): PathArgs,
    caller: Caller,
) -> Result<Response> {
    let user = s.core.identity_provider(&caller.ctx, &p[0]).await?;
    Ok(Json(UserOut::new(user)).into_response())
}

/// Set one of the caller's configuration values (for one bot with `botUUID`).
async fn set_config(
    State(s): State<AppState>,
    PathArgs(p): PathArgs,
    caller: Caller,
    Body(b): Body<ConfigIn>,
) -> Result<Response> {
    let c = Configuration {
        key: b.key,
        value: b.value,
        bot_uuid: b.bot_uuid.filter(|x| !x.is_empty()),
    };
    let c = s.core.set_configuration(&caller.ctx, &p[0], c).await?;
    Ok(Json(config_out(&c)).into_response())
}

async fn configs(
    State(s): State<AppState>,
    PathArgs(p): PathArgs,
    caller: Caller,
) -> Result<Response> {
    let list = s.core.configurations(&caller.ctx, &p[0], None).await?;
    Ok(Json(list.iter().map(config_out).collect::<Vec<_>>()).into_response())
}

async fn bot_configs(
    State(s): State<AppState>,
    PathArgs(p): PathArgs,
    caller: Caller,
) -> Result<Response> {
    let list = s
        .core
        .configurations(&caller.ctx, &p[0], Some(&p[1]))
        .await?;
    Ok(Json(list.iter().map(config_out).collect::<Vec<_>>()).into_response())
}

fn key(req: &Req) -> String {
    req.query.one("key").unwrap_or("").to_owned()
}

async fn has_config(
    State(s): State<AppState>,
    PathArgs(p): PathArgs,
    caller: Caller,
    req: Req,
) -> Result<Response> {
    Ok(Json(
        s.core
            .has_configuration(&caller.ctx, &p[0], None, &key(&req))
            .await?,
    )
    .into_response())
}

async fn bot_has_config(
    State(s): State<AppState>,
    PathArgs(p): PathArgs,
    caller: Caller,
    req: Req,
) -> Result<Response> {
    Ok(Json(
        s.core
            .has_configuration(&caller.ctx, &p[0], Some(&p[1]), &key(&req))
            .await?,
    )
    .into_response())
}

/// The `file` part of a multipart request, read within the CSV size limit (413 beyond it).
async fn csv_file(req: Request, s: &AppState) -> std::result::Result<Vec<u8>, ApiError> {
    let mut form = Multipart::from_request(req, s)
        .await
        .map_err(|_| ApiError(missing_file()))?;
    loop {
        match form.next_field().await {
            Ok(Some(field)) if field.name() == Some("file") => {
                return field.bytes().await.map(|b| b.to_vec()).map_err(|e| {
                    if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                        ApiError(Error::TooLarge(
                            "the file is larger than the server accepts".into(),
                        ))
                    } else {
                        ApiError(Error::BadRequest(format!(
                            "the file could not be read: {}",
                            e.body_text()
                        )))
                    }
                });
            }
            Ok(Some(_)) => continue,
            Ok(None) => return Err(missing_file().into()),
            Err(e) if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE => {
                return Err(
                    Error::TooLarge("the file is larger than the server accepts".into()).into(),
                )
            }
            Err(e) => {
                return Err(Error::BadRequest(format!(
                    "the multipart body could not be read: {}",
                    e.body_text()
                ))
                .into())
            }
        }
    }
}

/// 200 with the failed rows when at least one row was applied; else 422 listing them all.
fn bulk_response(out: BulkOutcome) -> Result<Response> {
    if out.applied == 0 {
        let details = out
            .errors
            .into_iter()
            .map(|(k, reason)| FieldError {
                location: Location::Body,
                path: vec![k],
                message: reason,
                code: "row_rejected",
            })
            .collect();
        return Err(Error::Validation(details).into());
    }
    let errors: Vec<Value> = out
        .errors
        .into_iter()
        .map(|(k, reason)| json!({ k: reason }))
        .collect();
    Ok(Json(json!({ "errors": errors })).into_response())
}

/// Create users from a `;`-separated CSV `file`
/// (`email;name;company;role;password;environmentUuid;environmentName;bot`).
async fn bulk_create(
    State(s): State<AppState>,
    PathArgs(p): PathArgs,
    caller: Caller,
    req_parts: Req,
    req: Request,
) -> Result<Response> {
    caller.limit(&s, "bulk-users").await?;
    let lang = language(&req_parts);
    let file = csv_file(req, &s).await?;
    bulk_response(s.core.bulk_create(&caller.ctx, &p[0], &file, &lang).await?)
}

/// Delete (deactivate) users listed by email: a CSV `file` (first column) or a JSON array.
async fn bulk_delete(
    State(s): State<AppState>,
    PathArgs(p): PathArgs,
    caller: Caller,
    req: Request,
) -> Result<Response> {
    caller.limit(&s, "bulk-users").await?;
    let json = req
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|c| c.starts_with("application/json"));
    let lines = if json {
        let bytes = crate::extract::body_bytes(req, &s).await?;
        let emails: Vec<String> = crate::extract::parse_json(&bytes)?;
        emails
            .into_iter()
            .enumerate()
            .map(|(i, e)| roster_domain::import::Line {
                number: i as u64 + 1,
                email: e.trim().to_owned(),
                fields: Ok(vec![e]),
            })
            .collect()
    } else {
        roster_domain::import::parse(&csv_file(req, &s).await?, 1)
    };
    bulk_response(s.core.bulk_delete(&caller.ctx, &p[0], lines).await?)
}

/// Grant environment roles and bots from a bulk-create-shaped CSV `file`.
async fn bulk_grant(
    State(s): State<AppState>,
    PathArgs(p): PathArgs,
    caller: Caller,
    req: Request,
) -> Result<Response> {
    caller.limit(&s, "bulk-users").await?;
    let file = csv_file(req, &s).await?;
    bulk_response(
        s.core
            .bulk_permissions(&caller.ctx, &p[0], &file, true)
            .await?,
    )
}

/// Revoke bots, or whole environments when `bot` is empty, from a CSV `file`.
async fn bulk_revoke(
    State(s): State<AppState>,
    PathArgs(p): PathArgs,
    caller: Caller,
    req: Request,
) -> Result<Response> {
    caller.limit(&s, "bulk-users").await?;
    let file = csv_file(req, &s).await?;
    bulk_response(
        s.core
            .bulk_permissions(&caller.ctx, &p[0], &file, false)
            .await?,
    )
}
