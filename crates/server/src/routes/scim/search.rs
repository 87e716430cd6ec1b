//! `POST .search` (RFC 7644 section 3.4.3): a listing whose query is a `SearchRequest` body,
//! on `/Users`, on `/Groups`, or at the root over both (users first, then groups, paged as one
//! list). The listings themselves are `users`' and `groups'`; this module only reads the body
//! and joins them, so neither of them depends on it.

use axum::extract::{Request, State};
use axum::response::Response;
use roster_domain::Error;

use super::params::ListParams;
use super::{bad, groups, json_body, schemas, users, Directory, Result};
use crate::error::ApiError;
use crate::state::AppState;

async fn params(s: &AppState, req: Request) -> Result<ListParams> {
    ListParams::from_body(&json_body(s, req).await?)
}

pub async fn users(State(s): State<AppState>, dir: Directory, req: Request) -> Result<Response> {
    let p = params(&s, req).await?;
    users::respond(&s, &dir, &p).await
}

pub async fn groups(State(s): State<AppState>, dir: Directory, req: Request) -> Result<Response> {
    let p = params(&s, req).await?;
    groups::respond(&s, &dir, &p).await
}

/// The names of a comma-separated list that `resource` knows; `None` when the list names none
/// of them (then that resource type is projected to nothing but its id).
fn known_to(raw: Option<&str>, resource: &str) -> Option<String> {
    let names: Vec<&str> = raw?
        .split(',')
        .map(str::trim)
        .filter(|a| schemas::known(resource, a))
        .collect();
    Some(names.join(","))
}

/// The root search: a name of `attributes` or `excludedAttributes` must be known to one of the
/// resource types, and a filter that names what a type does not have matches none of its
/// resources.
pub async fn all(State(s): State<AppState>, dir: Directory, req: Request) -> Result<Response> {
    let p = params(&s, req).await?;
    for (param, raw) in [
        ("attributes", &p.attributes),
        ("excludedAttributes", &p.excluded),
    ] {
        for a in raw.iter().flat_map(|r| r.split(',')).map(str::trim) {
            if !a.is_empty() && !schemas::known("User", a) && !schemas::known("Group", a) {
                return Err(bad(
                    "invalidValue",
                    param,
                    format!("{a} is not an attribute of any resource type"),
                ));
            }
        }
    }
    let for_type = |resource: &str| ListParams {
        attributes: known_to(p.attributes.as_deref(), resource).or(p.attributes.clone()),
        excluded: known_to(p.excluded.as_deref(), resource).or(p.excluded.clone()),
        // Each type sorts by what it has.
        sort_by: p
            .sort_by
            .clone()
            .filter(|b| resource == "User" || b.eq_ignore_ascii_case("displayName")),
        ..p.clone()
    };
    let (up, gp) = (for_type("User"), for_type("Group"));
    let only_id = |l: &ListParams, names: (Vec<String>, Vec<String>)| {
        // Attributes were asked for and this type has none of them: its id only.
        if p.attributes.is_some() && l.attributes.as_deref() == Some("") {
            (vec!["id".to_owned()], names.1)
        } else {
            names
        }
    };
    let user_names = only_id(&up, users::projection(&up)?);
    let group_names = only_id(&gp, groups::projection(&gp)?);
    let offset = p.start - 1;
    let refused = |e: &ApiError| matches!(e.0, Error::Validation(_));
    let counted = users::page(&s, &dir, &up, &user_names, offset, p.count).await;
    let mut users_ok = true;
    let (mut resources, user_total) = match counted {
        Ok(r) => r,
        Err(e) if refused(&e) && p.filter().is_some() => {
            users_ok = false;
            (Vec::new(), 0)
        }
        Err(e) => return Err(e),
    };
    let left = p.count.saturating_sub(resources.len() as u32);
    let group_offset = offset.saturating_sub(user_total.max(0) as u64);
    let (more, group_total) =
        match groups::page(&s, &dir, &gp, &group_names, group_offset, left).await {
            Ok(r) => r,
            Err(e) if refused(&e) && p.filter().is_some() && users_ok => (Vec::new(), 0),
            Err(e) => return Err(e),
        };
    resources.extend(more);
    Ok(users::list_response(
        resources,
        user_total + group_total,
        p.start,
    ))
}
