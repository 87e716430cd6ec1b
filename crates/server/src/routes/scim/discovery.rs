//! `/ServiceProviderConfig`, `/ResourceTypes` and `/Schemas` (RFC 7644 section 4).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{json, Value};

use super::schemas::{self, LIST};
use super::{answer, Directory, Result};
use crate::extract::Path;
use crate::state::AppState;

fn listing(items: Vec<Value>) -> Value {
    json!({
        "schemas": [LIST],
        "totalResults": items.len(),
        "startIndex": 1,
        "itemsPerPage": items.len(),
        "Resources": items,
    })
}

pub async fn config(State(_): State<AppState>, dir: Directory) -> Result<Response> {
    Ok(answer(
        StatusCode::OK,
        &schemas::service_provider_config(&dir.base),
        None,
    ))
}

pub async fn resource_types(State(_): State<AppState>, dir: Directory) -> Result<Response> {
    Ok(answer(
        StatusCode::OK,
        &listing(schemas::resource_types(&dir.base)),
        None,
    ))
}

pub async fn resource_type(
    State(_): State<AppState>,
    dir: Directory,
    Path((_, id)): Path<(String, String)>,
) -> Result<Response> {
    let found = schemas::resource_types(&dir.base)
        .into_iter()
        .find(|t| {
            t["id"]
                .as_str()
                .is_some_and(|i| i.eq_ignore_ascii_case(&id))
        })
        .ok_or(roster_domain::Error::NotFound("resource type"))?;
    Ok(answer(StatusCode::OK, &found, None))
}

pub async fn schemas(State(_): State<AppState>, dir: Directory) -> Result<Response> {
    Ok(answer(
        StatusCode::OK,
        &listing(schemas::schemas(&dir.base)),
        None,
    ))
}

pub async fn schema(
    State(_): State<AppState>,
    dir: Directory,
    Path((_, id)): Path<(String, String)>,
) -> Result<Response> {
    let found = schemas::schemas(&dir.base)
        .into_iter()
        .find(|t| {
            t["id"]
                .as_str()
                .is_some_and(|i| i.eq_ignore_ascii_case(&id))
        })
        .ok_or(roster_domain::Error::NotFound("schema"))?;
    Ok(answer(StatusCode::OK, &found, None))
}
