//! `/Users`: the organization's members.

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::Response;
use roster_domain::core::{DirectoryMember, DirectoryQuery};
use roster_domain::model::User;
use roster_domain::paging::SortKey;
use roster_domain::types::UserId;
use serde_json::{json, Value};

use super::params::ListParams;
use super::resource::{self, user_etag};
use super::schemas::LIST;
use super::{answer, bad, filter, json_body, patch, refusal, Directory, Result};
use crate::extract::Path;
use crate::state::AppState;

fn sort(p: &ListParams) -> Result<Option<SortKey>> {
    let descending = match p
        .sort_order
        .as_deref()
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        None | Some("ascending") => false,
        Some("descending") => true,
        Some(o) => {
            return Err(bad(
                "invalidValue",
                "sortOrder",
                format!("sortOrder must be ascending or descending, not {o}"),
            ))
        }
    };
    let Some(by) = p.sort_by.as_deref() else {
        return Ok(None);
    };
    let field = match by.to_ascii_lowercase().as_str() {
        "username" => "user_name",
        "emails" | "emails.value" => "email",
        "name.givenname" => "first_name",
        "name.familyname" => "last_name",
        "meta.created" | "id" => "created_at",
        _ => {
            return Err(bad(
                "invalidValue",
                "sortBy",
                format!("users cannot be sorted by {by}"),
            ))
        }
    };
    Ok(Some(SortKey {
        field: field.into(),
        descending,
    }))
}

/// The `attributes` and `excludedAttributes` a listing names, each one the User schema's.
pub fn projection(p: &ListParams) -> Result<(Vec<String>, Vec<String>)> {
    Ok((
        resource::attribute_list(p.attributes.as_deref(), "User", "attributes")?,
        resource::attribute_list(p.excluded.as_deref(), "User", "excludedAttributes")?,
    ))
}

async fn shown(s: &AppState, dir: &Directory, u: &User) -> Result<Value> {
    let roles = s.core.directory_roles(&dir.ctx, &dir.org.id, false).await;
    let roles: Vec<_> = roles
        .map(|rs| rs.into_iter().map(|r| r.role).collect())
        .unwrap_or_default();
    Ok(resource::user(u, &roles, &dir.base))
}

/// The users `p` asks for, `limit` of them from `offset` (projected as `names` say), and how
/// many match in all.
pub async fn page(
    s: &AppState,
    dir: &Directory,
    p: &ListParams,
    names: &(Vec<String>, Vec<String>),
    offset: u64,
    limit: u32,
) -> Result<(Vec<Value>, i64)> {
    let filter = match p.filter() {
        None => None,
        Some(f) => Some(
            filter::parse(f)
                .and_then(|f| filter::users(&f))
                .map_err(|m| bad("invalidFilter", "filter", m))?,
        ),
    };
    let dq = DirectoryQuery {
        filter,
        sort: sort(p)?,
        offset,
        limit,
    };
    let (users, total) = s.core.directory_list(&dir.ctx, &dir.org.id, dq).await?;
    let roles: Vec<_> = s
        .core
        .directory_roles(&dir.ctx, &dir.org.id, false)
        .await
        .map(|rs| rs.into_iter().map(|r| r.role).collect())
        .unwrap_or_default();
    let resources: Vec<Value> = users
        .iter()
        .map(|u| resource::project(resource::user(u, &roles, &dir.base), &names.0, &names.1))
        .collect();
    Ok((resources, total))
}

/// A `ListResponse` of one page.
pub fn list_response(resources: Vec<Value>, total: i64, start: u64) -> Response {
    let body = json!({
        "schemas": [LIST],
        "totalResults": total,
        "startIndex": start,
        "itemsPerPage": resources.len(),
        "Resources": resources,
    });
    answer(StatusCode::OK, &body, None)
}

/// Lists the users `p` asks for (a `GET`'s query or a `POST .search` body).
pub async fn respond(s: &AppState, dir: &Directory, p: &ListParams) -> Result<Response> {
    let names = projection(p)?;
    let (resources, total) = page(s, dir, p, &names, p.start - 1, p.count).await?;
    Ok(list_response(resources, total, p.start))
}

pub async fn list(State(s): State<AppState>, dir: Directory, req: Request) -> Result<Response> {
    let (parts, _) = req.into_parts();
    let p = ListParams::from_query(&super::query(&parts))?;
    respond(&s, &dir, &p).await
}

pub async fn create(State(s): State<AppState>, dir: Directory, req: Request) -> Result<Response> {
    let body = json_body(&s, req).await?;
    let m: DirectoryMember = resource::member(&body)?;
    let u = s
        .core
        .directory_create(&dir.ctx, &dir.org.id, m)
        .await
        .map_err(resource::rename)?;
    let v = shown(&s, &dir, &u).await?;
    let mut resp = answer(StatusCode::CREATED, &v, Some(&user_etag(&u)));
    if let Ok(loc) = header::HeaderValue::from_str(&format!("{}/Users/{}", dir.base, u.id)) {
        resp.headers_mut().insert(header::LOCATION, loc);
    }
    Ok(resp)
}

/// `If-Match` (a stale one is a 412) and `If-None-Match` (a current one is a 304).
pub fn check_precondition(headers: &HeaderMap, current: &str, reading: bool) -> Option<Response> {
    let get = |h| {
        headers
            .get(h)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let listed = |v: &str| {
        v.split(',')
            .map(str::trim)
            .any(|t| t == "*" || t == current)
    };
    if let Some(m) = get(header::IF_MATCH) {
        if !listed(&m) {
            return Some(refusal(
                StatusCode::PRECONDITION_FAILED,
                None,
                "the resource changed since that version (If-Match)",
            ));
        }
    }
    if reading {
        if let Some(m) = get(header::IF_NONE_MATCH) {
            if listed(&m) {
                let mut r = answer(StatusCode::NOT_MODIFIED, &Value::Null, Some(current));
                *r.body_mut() = axum::body::Body::empty();
                return Some(r);
            }
        }
    }
    None
}

pub async fn get(
    State(s): State<AppState>,
    dir: Directory,
    Path((_, id)): Path<(String, String)>,
    req: Request,
) -> Result<Response> {
    let (parts, _) = req.into_parts();
    let p = ListParams::from_query(&super::query(&parts))?;
    let (include, exclude) = projection(&p)?;
    let u = s
        .core
        .directory_get(&dir.ctx, &dir.org.id, &UserId::from(&id))
        .await?;
    let tag = user_etag(&u);
    if let Some(r) = check_precondition(&parts.headers, &tag, true) {
        return Ok(r);
    }
    let v = resource::project(shown(&s, &dir, &u).await?, &include, &exclude);
    Ok(answer(StatusCode::OK, &v, Some(&tag)))
}

/// Writes `m` over the user `current` (whose version the request was checked against).
async fn write(
    s: &AppState,
    dir: &Directory,
    current: &User,
    m: DirectoryMember,
) -> Result<Response> {
    let u = s
        .core
        .directory_replace(
            &dir.ctx,
            &dir.org.id,
            &current.id,
            m,
            Some(current.updated_at),
        )
        .await
        .map_err(resource::rename)?;
    let v = shown(s, dir, &u).await?;
    Ok(answer(StatusCode::OK, &v, Some(&user_etag(&u))))
}

pub async fn replace(
    State(s): State<AppState>,
    dir: Directory,
    Path((_, id)): Path<(String, String)>,
    req: Request,
) -> Result<Response> {
    let headers = req.headers().clone();
    let body = json_body(&s, req).await?;
    let m = resource::member(&body)?;
    let current = s
        .core
        .directory_get(&dir.ctx, &dir.org.id, &UserId::from(&id))
        .await?;
    if let Some(r) = check_precondition(&headers, &user_etag(&current), false) {
        return Ok(r);
    }
    write(&s, &dir, &current, m).await
}

pub async fn patch(
    State(s): State<AppState>,
    dir: Directory,
    Path((_, id)): Path<(String, String)>,
    req: Request,
) -> Result<Response> {
    let headers = req.headers().clone();
    let body = json_body(&s, req).await?;
    let ops = patch::operations(&body)?;
    let current = s
        .core
        .directory_get(&dir.ctx, &dir.org.id, &UserId::from(&id))
        .await?;
    if let Some(r) = check_precondition(&headers, &user_etag(&current), false) {
        return Ok(r);
    }
    let mut res = shown(&s, &dir, &current).await?;
    for op in &ops {
        patch::apply(&mut res, op, "User")?;
    }
    // What only Roster writes is read back from the record, whatever the operations did.
    for read_only in ["id", "meta", "groups", "displayName"] {
        if let Some(o) = res.as_object_mut() {
            o.remove(read_only);
        }
    }
    if let Some(name) = res.get_mut("name").and_then(Value::as_object_mut) {
        name.remove("formatted");
    }
    let m = resource::member(&res)?;
    write(&s, &dir, &current, m).await
}

pub async fn delete(
    State(s): State<AppState>,
    dir: Directory,
    Path((_, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response> {
    let current = s
        .core
        .directory_get(&dir.ctx, &dir.org.id, &UserId::from(&id))
        .await?;
    if let Some(r) = check_precondition(&headers, &user_etag(&current), false) {
        return Ok(r);
    }
    s.core
        .directory_remove(&dir.ctx, &dir.org.id, &UserId::from(&id))
        .await?;
    Ok(answer(StatusCode::NO_CONTENT, &Value::Null, None)).map(|mut r| {
        *r.body_mut() = axum::body::Body::empty();
        r.headers_mut().remove(header::CONTENT_TYPE);
        r
    })
}
