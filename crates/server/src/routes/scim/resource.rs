//! Roster's records as SCIM resources and back: a user as a `User` (with the enterprise
//! extension), a role as a `Group`, and the `attributes` / `excludedAttributes` projection.

use roster_domain::core::{DirectoryEmail, DirectoryMember};
use roster_domain::model::{Role, User, UserStatus};
use roster_domain::types::format_micros;
use serde_json::{json, Map, Value};

use super::filter::get_ci;
use super::schemas::{self, ENTERPRISE, GROUP, USER};
use super::{bad, Result};

/// A user's version: its `updated_at`, which every change moves.
pub fn user_etag(u: &User) -> String {
    format!("W/\"{}\"", u.updated_at)
}

pub fn user(u: &User, roles: &[Role], base: &str) -> Value {
    let display = roster_domain::types::full_name(&u.first_name, &u.last_name);
    let groups: Vec<Value> = roles
        .iter()
        .filter(|r| u.role_ids.contains(&r.id))
        .map(|r| {
            json!({
                "value": r.id, "display": r.name,
                "$ref": format!("{base}/Groups/{}", r.id), "type": "direct",
            })
        })
        .collect();
    let mut name = Map::new();
    for (k, v) in [("givenName", &u.first_name), ("familyName", &u.last_name)] {
        if !v.is_empty() {
            name.insert(k.into(), json!(v));
        }
    }
    let mut v = json!({
        "schemas": [USER, ENTERPRISE],
        "id": u.id,
        "userName": u.user_name.as_deref().unwrap_or(&u.email),
        "name": name,
        "displayName": display,
        "emails": [{ "value": u.email, "type": "work", "primary": true }],
        "active": u.status != UserStatus::Inactive,
        "groups": groups,
        ENTERPRISE: { "organization": u.company },
        "meta": {
            "resourceType": "User",
            "created": format_micros(u.created_at),
            "lastModified": format_micros(u.updated_at),
            "version": user_etag(u),
            "location": format!("{base}/Users/{}", u.id),
        },
    });
    if let Some(x) = &u.external_id {
        v["externalId"] = json!(x);
    }
    // An attribute without a value is left out (RFC 7643 section 2.5): no empty name.
    if let Some(o) = v.as_object_mut() {
        if name_empty(o) {
            o.remove("name");
            o.remove("displayName");
        }
    }
    if u.company.is_none() {
        if let Some(o) = v.as_object_mut() {
            o.remove(ENTERPRISE);
        }
        v["schemas"] = json!([USER]);
    }
    v
}

fn name_empty(o: &Map<String, Value>) -> bool {
    o.get("name")
        .and_then(Value::as_object)
        .is_some_and(Map::is_empty)
}

/// A boolean as directories send it: `true`, or Entra ID's `"True"`.
pub fn boolean(v: &Value, field: &str) -> Result<bool> {
    match v {
        Value::Bool(b) => Ok(*b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Ok(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Ok(false),
        other => Err(bad(
            "invalidValue",
            field,
            format!("{field} must be true or false, not {other}"),
        )),
    }
}

fn text(v: Option<&Value>, field: &str) -> Result<Option<String>> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(bad(
            "invalidValue",
            field,
            format!("{field} must be a string, not {other}"),
        )),
    }
}

/// Every top-level key is an attribute of the User schema (or a declared extension).
fn check_keys(v: &Map<String, Value>, resource: &str) -> Result<()> {
    for k in v.keys() {
        if k.eq_ignore_ascii_case("schemas") || schemas::known(resource, k) {
            continue;
        }
        return Err(bad(
            "invalidSyntax",
            k,
            format!("{k} is not an attribute of the {resource} schema"),
        ));
    }
    Ok(())
}

/// What a `User` body says, as the core's [`DirectoryMember`] (the company from the
/// enterprise extension's `organization`). Attributes Roster does not keep are taken and ignored.
pub fn member(v: &Value) -> Result<DirectoryMember> {
    let Some(obj) = v.as_object() else {
        return Err(bad("invalidSyntax", "", "the body must be a JSON object"));
    };
    check_keys(obj, "User")?;
    if let Some(s) = get_ci(v, "schemas") {
        let ok = s.as_array().is_some_and(|a| {
            a.iter()
                .any(|x| x.as_str().is_some_and(|x| x.eq_ignore_ascii_case(USER)))
        });
        if !ok {
            return Err(bad(
                "invalidValue",
                "schemas",
                format!("schemas must include {USER}"),
            ));
        }
    }
    let user_name = text(get_ci(v, "userName"), "userName")?
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| bad("invalidValue", "userName", "userName is required"))?;
    let emails = emails(get_ci(v, "emails"))?;
    let name = get_ci(v, "name").cloned().unwrap_or(Value::Null);
    if !(name.is_object() || name.is_null()) {
        return Err(bad("invalidValue", "name", "name must be an object"));
    }
    let mut first = text(get_ci(&name, "givenName"), "name.givenName")?;
    let mut last = text(get_ci(&name, "familyName"), "name.familyName")?;
    if first.is_none() && last.is_none() {
        // Only a display name: split it as the single-name surfaces do.
        if let Some(d) = text(get_ci(v, "displayName"), "displayName")? {
            let (f, l) = roster_domain::types::split_name(&d);
            first = Some(f);
            last = Some(l);
        }
    }
    let active = match get_ci(v, "active") {
        None | Some(Value::Null) => true,
        Some(a) => boolean(a, "active")?,
    };
    let company = match get_ci(v, ENTERPRISE) {
        None | Some(Value::Null) => None,
        Some(e @ Value::Object(_)) => text(get_ci(e, "organization"), "organization")?,
        Some(_) => {
            return Err(bad(
                "invalidValue",
                ENTERPRISE,
                "the extension must be an object",
            ))
        }
    };
    let external_id = text(get_ci(v, "externalId"), "externalId")?;
    Ok(DirectoryMember {
        user_name,
        emails,
        first_name: first.unwrap_or_default(),
        last_name: last.unwrap_or_default(),
        external_id,
        company,
        active,
    })
}

/// The addresses of `emails`, as the core chooses the login email among them.
fn emails(v: Option<&Value>) -> Result<Vec<DirectoryEmail>> {
    let items = match v {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(items)) => items,
        Some(_) => return Err(bad("invalidValue", "emails", "emails must be an array")),
    };
    let mut out = Vec::with_capacity(items.len());
    for (i, e) in items.iter().enumerate() {
        let Some(address) = get_ci(e, "value").and_then(Value::as_str) else {
            return Err(bad(
                "invalidValue",
                &format!("emails.{i}.value"),
                "an email needs its value",
            ));
        };
        let primary = match get_ci(e, "primary") {
            None | Some(Value::Null) => false,
            Some(p) => boolean(p, "emails.primary")?,
        };
        let work = get_ci(e, "type")
            .and_then(Value::as_str)
            .is_some_and(|t| t.eq_ignore_ascii_case("work"));
        out.push(DirectoryEmail {
            address: address.to_owned(),
            work,
            primary,
        });
    }
    Ok(out)
}

/// The core's field names as SCIM's.
pub fn rename(e: roster_domain::Error) -> roster_domain::Error {
    e.map_fields(|f| {
        let wire = match f.field_name().as_str() {
            "email" | "user_name" => "userName",
            "first_name" => "name.givenName",
            "last_name" => "name.familyName",
            "external_id" => "externalId",
            "company" => "organization",
            "role_name" | "name" => "displayName",
            _ => return,
        };
        f.path = wire.split('.').map(str::to_owned).collect();
    })
}

pub fn group_etag(r: &Role, members: &[User]) -> String {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    r.name.hash(&mut h);
    r.updated_at.hash(&mut h);
    for m in members {
        m.id.hash(&mut h);
    }
    format!("W/\"{:x}\"", h.finish())
}

pub fn group(r: &Role, members: &[User], with_members: bool, base: &str) -> Value {
    let mut v = json!({
        "schemas": [GROUP],
        "id": r.id,
        "displayName": r.name,
        "externalId": r.external_id,
        "meta": {
            "resourceType": "Group",
            "created": format_micros(r.created_at),
            "lastModified": format_micros(r.updated_at),
            "version": group_etag(r, members),
            "location": format!("{base}/Groups/{}", r.id),
        },
    });
    if r.external_id.is_none() {
        if let Some(o) = v.as_object_mut() {
            o.remove("externalId");
        }
    }
    if with_members {
        v["members"] = members
            .iter()
            .map(|u| {
                json!({
                    "value": u.id, "type": "User",
                    "$ref": format!("{base}/Users/{}", u.id),
                })
            })
            .collect();
    }
    v
}

/// The names of `attributes` or `excludedAttributes`, each one the resource type knows.
pub fn attribute_list(raw: Option<&str>, resource: &str, param: &str) -> Result<Vec<String>> {
    let Some(raw) = raw else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for a in raw.split(',').map(str::trim).filter(|a| !a.is_empty()) {
        if a.len() > 200 || !schemas::known(resource, a) {
            return Err(bad(
                "invalidValue",
                param,
                format!("{a} is not an attribute of the {resource} schema"),
            ));
        }
        let a = a.to_ascii_lowercase();
        let a = a
            .strip_prefix(&format!("{}:", USER.to_ascii_lowercase()))
            .or_else(|| a.strip_prefix(&format!("{}:", GROUP.to_ascii_lowercase())))
            .map(str::to_owned)
            .unwrap_or(a);
        out.push(a);
    }
    Ok(out)
}

fn named(list: &[String], key: &str, sub: Option<&str>) -> bool {
    let key = key.to_ascii_lowercase();
    list.iter().any(|a| match sub {
        None => *a == key,
        Some(s) => *a == format!("{key}.{}", s.to_ascii_lowercase()),
    })
}

/// `v` with only `include` (and what is always returned), or without `exclude`.
pub fn project(mut v: Value, include: &[String], exclude: &[String]) -> Value {
    let always = ["id", "schemas"];
    let Some(obj) = v.as_object_mut() else {
        return v;
    };
    if !include.is_empty() {
        let keys: Vec<String> = obj.keys().cloned().collect();
        for k in keys {
            if always.contains(&k.as_str()) || named(include, &k, None) {
                continue;
            }
            let subs: Vec<&String> = include
                .iter()
                .filter(|a| a.starts_with(&format!("{}.", k.to_ascii_lowercase())))
                .collect();
            if subs.is_empty() {
                obj.remove(&k);
                continue;
            }
            if let Some(inner) = obj.get_mut(&k) {
                keep_subs(inner, include, &k);
            }
        }
    }
    for k in obj.keys().cloned().collect::<Vec<_>>() {
        if always.contains(&k.as_str()) {
            continue;
        }
        if named(exclude, &k, None) {
            obj.remove(&k);
        } else if let Some(inner) = obj.get_mut(&k) {
            drop_subs(inner, exclude, &k);
        }
    }
    v
}

fn keep_subs(inner: &mut Value, include: &[String], parent: &str) {
    let each = |o: &mut Map<String, Value>| {
        o.retain(|sub, _| named(include, parent, Some(sub)));
    };
    match inner {
        Value::Object(o) => each(o),
        Value::Array(items) => items
            .iter_mut()
            .filter_map(Value::as_object_mut)
            .for_each(each),
        _ => {}
    }
}

fn drop_subs(inner: &mut Value, exclude: &[String], parent: &str) {
    let each = |o: &mut Map<String, Value>| {
        o.retain(|sub, _| !named(exclude, parent, Some(sub)));
    };
    match inner {
        Value::Object(o) => each(o),
        Value::Array(items) => items
            .iter_mut()
            .filter_map(Value::as_object_mut)
            .for_each(each),
        _ => {}
    }
}
