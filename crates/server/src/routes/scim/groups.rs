//! `/Groups`: the organization's roles. A group's members are the users holding its role;
//! creating a group creates a role with no grants, deleting one deletes a custom role. Roles
//! are not renamed through SCIM (a role's name is what grants and other surfaces refer to).

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::Response;
use roster_domain::core::{DirectoryGroup, RoleMembers};
use serde_json::Value;

use super::filter::{self, get_ci};
use super::params::ListParams;
use super::resource::{self, group_etag};
use super::users::{check_precondition, list_response};
use super::{answer, bad, json_body, patch, Directory, Result};
use crate::extract::Path;
use crate::state::AppState;

/// The `attributes` and `excludedAttributes` a listing names, each one the Group schema's.
pub fn projection(p: &ListParams) -> Result<(Vec<String>, Vec<String>)> {
    Ok((
        resource::attribute_list(p.attributes.as_deref(), "Group", "attributes")?,
        resource::attribute_list(p.excluded.as_deref(), "Group", "excludedAttributes")?,
    ))
}

/// Whether the members must be read: not when the client leaves them out.
fn wants_members(include: &[String], exclude: &[String]) -> bool {
    let named = |l: &[String]| {
        l.iter()
            .any(|a| a == "members" || a.starts_with("members."))
    };
    !named(exclude) && (include.is_empty() || named(include))
}

async fn one(s: &AppState, dir: &Directory, id: &str, members: bool) -> Result<RoleMembers> {
    s.core
        .directory_roles(&dir.ctx, &dir.org.id, members)
        .await?
        .into_iter()
        .find(|r| r.role.id == id)
        .ok_or_else(|| roster_domain::Error::NotFound("group").into())
}

/// The groups `p` asks for, `limit` of them from `offset` (projected as `names` say), and how
/// many match in all. An organization has few roles: they are filtered and sorted here.
pub async fn page(
    s: &AppState,
    dir: &Directory,
    p: &ListParams,
    names: &(Vec<String>, Vec<String>),
    offset: u64,
    limit: u32,
) -> Result<(Vec<Value>, i64)> {
    let (include, exclude) = names;
    let filter = match p.filter() {
        None => None,
        Some(f) => {
            let parsed = filter::parse(f).map_err(|m| bad("invalidFilter", "filter", m))?;
            check_names(&parsed)?;
            Some(parsed)
        }
    };
    if p.sort_by
        .as_deref()
        .is_some_and(|b| !b.eq_ignore_ascii_case("displayName"))
    {
        return Err(bad(
            "invalidValue",
            "sortBy",
            "groups are sorted by displayName only",
        ));
    }
    let filtered_on_members = filter.as_ref().is_some_and(names_members);
    let with_members = wants_members(include, exclude) || filtered_on_members;
    let mut roles = s
        .core
        .directory_roles(&dir.ctx, &dir.org.id, with_members)
        .await?;
    roles.sort_by_key(|a| a.role.name.to_lowercase());
    if p.sort_order
        .as_deref()
        .is_some_and(|o| o.eq_ignore_ascii_case("descending"))
    {
        roles.reverse();
    }
    let all: Vec<Value> = roles
        .iter()
        .map(|r| resource::group(&r.role, &r.members, with_members, &dir.base))
        .filter(|g| filter.as_ref().is_none_or(|f| filter::matches(f, g)))
        .collect();
    let total = all.len() as i64;
    let page: Vec<Value> = all
        .into_iter()
        .skip(offset as usize)
        .take(limit as usize)
        .map(|g| resource::project(g, include, exclude))
        .collect();
    Ok((page, total))
}

/// Lists the groups `p` asks for (a `GET`'s query or a `POST .search` body).
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

fn check_names(f: &filter::Filter) -> Result<()> {
    use filter::Filter as F;
    match f {
        F::And(a, b) | F::Or(a, b) => check_names(a).and_then(|_| check_names(b)),
        F::Not(a) => check_names(a),
        F::Values(p, _) => {
            if !p.attr.eq_ignore_ascii_case("members") {
                return Err(bad(
                    "invalidFilter",
                    "filter",
                    format!("groups cannot be filtered by {}", p.attr),
                ));
            }
            Ok(())
        }
        F::Compare { path, .. } => {
            let name = match &path.sub {
                Some(s) => format!("{}.{s}", path.attr),
                None => path.attr.clone(),
            };
            if super::schemas::known("Group", &name) || name.eq_ignore_ascii_case("value") {
                Ok(())
            } else {
                Err(bad(
                    "invalidFilter",
                    "filter",
                    format!("groups cannot be filtered by {name}"),
                ))
            }
        }
    }
}

fn names_members(f: &filter::Filter) -> bool {
    use filter::Filter as F;
    match f {
        F::And(a, b) | F::Or(a, b) => names_members(a) || names_members(b),
        F::Not(a) => names_members(a),
        F::Values(p, _) => p.attr.eq_ignore_ascii_case("members"),
        F::Compare { path, .. } => path.attr.eq_ignore_ascii_case("members"),
    }
}

/// The member ids of a `members` value.
fn member_ids(v: Option<&Value>) -> Result<Vec<String>> {
    let Some(v) = v.filter(|v| !v.is_null()) else {
        return Ok(Vec::new());
    };
    let Some(items) = v.as_array() else {
        return Err(bad("invalidValue", "members", "members must be an array"));
    };
    let mut out = Vec::with_capacity(items.len());
    for (i, m) in items.iter().enumerate() {
        let Some(id) = get_ci(m, "value").and_then(Value::as_str) else {
            return Err(bad(
                "invalidValue",
                &format!("members.{i}.value"),
                "a member needs its value (the user's id)",
            ));
        };
        if !out.iter().any(|o| o == id) {
            out.push(id.to_owned());
        }
    }
    Ok(out)
}

fn external_id(body: &Value) -> Result<Option<String>> {
    match get_ci(body, "externalId") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(x)) => Ok(Some(x.clone())),
        Some(other) => Err(bad(
            "invalidValue",
            "externalId",
            format!("externalId must be a string, not {other}"),
        )),
    }
}

fn display_name(body: &Value) -> Result<String> {
    get_ci(body, "displayName")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(str::to_owned)
        .ok_or_else(|| bad("invalidValue", "displayName", "displayName is required"))
}

fn check_body(body: &Value) -> Result<()> {
    let Some(obj) = body.as_object() else {
        return Err(bad("invalidSyntax", "", "the body must be a JSON object"));
    };
    for k in obj.keys() {
        if !(k.eq_ignore_ascii_case("schemas") || super::schemas::known("Group", k)) {
            return Err(bad(
                "invalidSyntax",
                k,
                format!("{k} is not an attribute of the Group schema"),
            ));
        }
    }
    Ok(())
}

pub async fn create(State(s): State<AppState>, dir: Directory, req: Request) -> Result<Response> {
    let body = json_body(&s, req).await?;
    check_body(&body)?;
    let g = DirectoryGroup {
        name: display_name(&body)?,
        external_id: external_id(&body)?,
        members: member_ids(get_ci(&body, "members"))?,
    };
    // The core checks everything before it writes the role and its holders as one.
    let role = s
        .core
        .directory_create_group(&dir.ctx, &dir.org.id, g)
        .await
        .map_err(resource::rename)?;
    let made = one(&s, &dir, &role.id, true).await?;
    let v = resource::group(&made.role, &made.members, true, &dir.base);
    let mut resp = answer(
        StatusCode::CREATED,
        &v,
        Some(&group_etag(&made.role, &made.members)),
    );
    if let Ok(loc) = header::HeaderValue::from_str(&format!("{}/Groups/{}", dir.base, role.id)) {
        resp.headers_mut().insert(header::LOCATION, loc);
    }
    Ok(resp)
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
    let with_members = wants_members(&include, &exclude);
    let r = one(&s, &dir, &id, true).await?;
    let tag = group_etag(&r.role, &r.members);
    if let Some(resp) = check_precondition(&parts.headers, &tag, true) {
        return Ok(resp);
    }
    let v = resource::group(&r.role, &r.members, with_members, &dir.base);
    Ok(answer(
        StatusCode::OK,
        &resource::project(v, &include, &exclude),
        Some(&tag),
    ))
}

/// Makes the role's holders `wanted` and its external id `external_id`, as one write (and
/// refuses a new name).
async fn converge(
    s: &AppState,
    dir: &Directory,
    current: &RoleMembers,
    name: Option<String>,
    external_id: Option<String>,
    wanted: Vec<String>,
) -> Result<Response> {
    if name.is_some_and(|n| n != current.role.name) {
        return Err(bad(
            "mutability",
            "displayName",
            "a role is not renamed; create another group",
        ));
    }
    let have: Vec<String> = current.members.iter().map(|u| u.id.to_string()).collect();
    let add: Vec<String> = wanted
        .iter()
        .filter(|w| !have.contains(w))
        .cloned()
        .collect();
    let remove: Vec<String> = have
        .iter()
        .filter(|h| !wanted.contains(h))
        .cloned()
        .collect();
    s.core
        .directory_update_group(
            &dir.ctx,
            &dir.org.id,
            &current.role.id,
            external_id,
            &add,
            &remove,
            Some(current.role.updated_at),
        )
        .await
        .map_err(resource::rename)?;
    let after = one(s, dir, &current.role.id, true).await?;
    let v = resource::group(&after.role, &after.members, true, &dir.base);
    Ok(answer(
        StatusCode::OK,
        &v,
        Some(&group_etag(&after.role, &after.members)),
    ))
}

pub async fn replace(
    State(s): State<AppState>,
    dir: Directory,
    Path((_, id)): Path<(String, String)>,
    req: Request,
) -> Result<Response> {
    let headers = req.headers().clone();
    let body = json_body(&s, req).await?;
    check_body(&body)?;
    let name = display_name(&body)?;
    let external = external_id(&body)?;
    let wanted = member_ids(get_ci(&body, "members"))?;
    let current = one(&s, &dir, &id, true).await?;
    if let Some(r) = check_precondition(
        &headers,
        &group_etag(&current.role, &current.members),
        false,
    ) {
        return Ok(r);
    }
    converge(&s, &dir, &current, Some(name), external, wanted).await
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
    let current = one(&s, &dir, &id, true).await?;
    if let Some(r) = check_precondition(
        &headers,
        &group_etag(&current.role, &current.members),
        false,
    ) {
        return Ok(r);
    }
    let mut res = resource::group(&current.role, &current.members, true, &dir.base);
    for op in &ops {
        patch::apply(&mut res, op, "Group")?;
    }
    let name = get_ci(&res, "displayName")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let external = external_id(&res)?;
    let wanted = member_ids(get_ci(&res, "members"))?;
    converge(&s, &dir, &current, name, external, wanted).await
}

pub async fn delete(
    State(s): State<AppState>,
    dir: Directory,
    Path((_, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response> {
    let current = one(&s, &dir, &id, true).await?;
    if let Some(r) = check_precondition(
        &headers,
        &group_etag(&current.role, &current.members),
        false,
    ) {
        return Ok(r);
    }
    s.core
        .directory_delete_role(&dir.ctx, &dir.org.id, &id)
        .await?;
    let mut r = answer(StatusCode::NO_CONTENT, &Value::Null, None);
    *r.body_mut() = axum::body::Body::empty();
    r.headers_mut().remove(header::CONTENT_TYPE);
    Ok(r)
}
