//! eva's bulk endpoints: CSV (or, for deletes, JSON) uploads applied row by row, within their
//! own body limit (`ROSTER_MAX_CSV_BYTES`).

use axum::extract::{DefaultBodyLimit, FromRequest, Multipart, Request, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use roster_domain::core::{missing_file, BulkOutcome};
use roster_domain::{Error, FieldError, Location};
use utoipa::openapi::OpenApi;
use utoipa::ToSchema;
use utoipa_axum::routes;

use super::dto::BulkResult;
use super::language;
use crate::error::ApiError;
use crate::error::Result;
use crate::extract::{Caller, Path, Req};
use crate::state::AppState;
use crate::surface::{Finished, SurfaceRouter};

/// The bulk operations, whose bodies may be as large as the CSV limit.
pub(super) fn router(max_csv: usize) -> Finished {
    let mut bulk = SurfaceRouter::new(super::SURFACE, OpenApi::default(), super::POLICIES)
        .routes(routes!(bulk_create))
        .routes(routes!(bulk_delete))
        .routes(routes!(bulk_grant, bulk_revoke))
        .finish();
    bulk.router = bulk.router.layer(DefaultBodyLimit::max(max_csv));
    bulk
}

/// The `file` part of a multipart request, read within the CSV size limit (413 beyond it). The
/// bytes are kept as received, not copied: a bulk-create's file is held whole while its rows are
/// written (its row limit is checked before any is).
async fn csv_file(req: Request, s: &AppState) -> std::result::Result<axum::body::Bytes, ApiError> {
    let mut form = Multipart::from_request(req, s)
        .await
        .map_err(|_| ApiError(missing_file()))?;
    loop {
        match form.next_field().await {
            Ok(Some(field)) if field.name() == Some("file") => {
                let bytes = field.bytes().await.map_err(|e| {
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
                })?;
                let max = s.config.max_csv_rows;
                if csv_lines(&bytes) > max {
                    return Err(Error::TooLarge(format!(
                        "the file has more than {max} lines; split it into several uploads"
                    ))
                    .into());
                }
                return Ok(bytes);
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

/// Lines of a file (LF, CRLF or a lone CR end one): an upper bound of its rows, counted before
/// any is parsed.
fn csv_lines(bytes: &[u8]) -> usize {
    let breaks = (0..bytes.len())
        .filter(|&i| roster_domain::import::is_line_break(bytes, i))
        .count();
    let unterminated = !bytes.is_empty() && !bytes.ends_with(b"\n") && !bytes.ends_with(b"\r");
    breaks + usize::from(unterminated)
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
    let errors = out
        .errors
        .into_iter()
        .map(|(k, reason)| std::iter::once((k, reason)).collect())
        .collect();
    Ok(Json(BulkResult { errors }).into_response())
}

/// Create users from a `;`-separated CSV `file`
/// (`email;name;company;role;password;environmentUuid;environmentName;bot`).
#[utoipa::path(
    post,
    path = "/org/{orgUUID}/users/bulk-create",
    operation_id = "bulkCreateUsers",
    tag = "eva-user",
    params(("orgUUID" = String, Path, description = "The organization's UUID."), ("language" = Option<String>, Query, description = "Language of the welcome email (default `en`).")),
    request_body(content = CsvUpload, content_type = "multipart/form-data", description = "A `file` part: `;`-separated CSV"),
    responses((status = 200, description = "At least one row was applied; the rejected rows", body = BulkResult)),
    security(("bearerAuth" = []))
)]
async fn bulk_create(
    State(s): State<AppState>,
    Path(org_uuid): Path<String>,
    caller: Caller,
    req_parts: Req,
    req: Request,
) -> Result<Response> {
    let lang = language(&req_parts);
    let file = csv_file(req, &s).await?;
    bulk_response(
        s.core
            .bulk_create(&caller.ctx, &org_uuid, &file, &lang)
            .await?,
    )
}

/// Delete (deactivate) users listed by email: a CSV `file` (first column) or a JSON array.
#[utoipa::path(
    delete,
    path = "/org/{orgUUID}/users/bulk-delete",
    operation_id = "bulkDeleteUsers",
    tag = "eva-user",
    params(("orgUUID" = String, Path, description = "The organization's UUID.")),
    request_body(content((CsvUpload = "multipart/form-data"), (Vec<String> = "application/json")), description = "A CSV `file` part (emails in the first column), or a JSON array of emails"),
    responses((status = 200, description = "At least one row was applied; the rejected rows", body = BulkResult)),
    security(("bearerAuth" = []))
)]
async fn bulk_delete(
    State(s): State<AppState>,
    Path(org_uuid): Path<String>,
    caller: Caller,
    req: Request,
) -> Result<Response> {
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
    bulk_response(s.core.bulk_delete(&caller.ctx, &org_uuid, lines).await?)
}

/// Grant environment roles and bots from a bulk-create-shaped CSV `file`.
#[utoipa::path(
    post,
    path = "/org/{orgUUID}/users/bulk-permissions",
    operation_id = "bulkGrantPermissions",
    tag = "eva-user",
    params(("orgUUID" = String, Path, description = "The organization's UUID.")),
    request_body(content = CsvUpload, content_type = "multipart/form-data", description = "A `file` part: `;`-separated CSV"),
    responses((status = 200, description = "At least one row was applied; the rejected rows", body = BulkResult)),
    security(("bearerAuth" = []))
)]
async fn bulk_grant(
    State(s): State<AppState>,
    Path(org_uuid): Path<String>,
    caller: Caller,
    req: Request,
) -> Result<Response> {
    bulk_permissions(s, &org_uuid, caller, req, true).await
}

/// Revoke bots, or whole environments when `bot` is empty, from a CSV `file`.
#[utoipa::path(
    delete,
    path = "/org/{orgUUID}/users/bulk-permissions",
    operation_id = "bulkRevokePermissions",
    tag = "eva-user",
    params(("orgUUID" = String, Path, description = "The organization's UUID.")),
    request_body(content = CsvUpload, content_type = "multipart/form-data", description = "A `file` part: `;`-separated CSV"),
    responses((status = 200, description = "At least one row was applied; the rejected rows", body = BulkResult)),
    security(("bearerAuth" = []))
)]
async fn bulk_revoke(
    State(s): State<AppState>,
    Path(org_uuid): Path<String>,
    caller: Caller,
    req: Request,
) -> Result<Response> {
    bulk_permissions(s, &org_uuid, caller, req, false).await
}

/// Both bulk-permission operations: `grant` or revoke the CSV file's rows.
async fn bulk_permissions(
    s: AppState,
    org: &str,
    caller: Caller,
    req: Request,
    grant: bool,
) -> Result<Response> {
    let file = csv_file(req, &s).await?;
    bulk_response(
        s.core
            .bulk_permissions(&caller.ctx, org, &file, grant)
            .await?,
    )
}

/// A multipart upload with a CSV `file`.
#[derive(ToSchema)]
#[allow(dead_code)]
struct CsvUpload {
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
}
