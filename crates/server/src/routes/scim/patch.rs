//! PATCH (RFC 7644 section 3.5.2) applied to a resource's JSON: `add`, `replace` and `remove`
//! in any letter case (Entra ID writes `Replace`), with a path or without one (a value object
//! whose keys may be dotted, `name.givenName`, or prefixed by a schema URN), with value paths
//! (`emails[type eq "work"].value`, `members[value eq "..."]`), on multi-valued attributes. The
//! caller reads the patched resource back as a whole replacement, so every rule of a PUT holds.

use serde_json::{Map, Value};

use super::filter::{self, attr_path, AttrPath, Filter};
use super::schemas::{self, PATCH_OP};
use super::{bad, Result};

/// Most operations one request holds.
pub const MAX_OPERATIONS: usize = 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Add,
    Replace,
    Remove,
}

#[derive(Debug, Clone)]
pub struct Op {
    pub kind: Kind,
    pub path: Option<String>,
    pub value: Option<Value>,
}

/// The operations of a `PatchOp` body.
pub fn operations(body: &Value) -> Result<Vec<Op>> {
    let schemas_ok = filter::get_ci(body, "schemas")
        .and_then(Value::as_array)
        .is_some_and(|a| {
            a.iter()
                .any(|s| s.as_str().is_some_and(|s| s.eq_ignore_ascii_case(PATCH_OP)))
        });
    if !schemas_ok {
        return Err(bad(
            "invalidSyntax",
            "schemas",
            format!("a PATCH body's schemas must be [\"{PATCH_OP}\"]"),
        ));
    }
    let Some(ops) = filter::get_ci(body, "Operations").and_then(Value::as_array) else {
        return Err(bad(
            "invalidSyntax",
            "Operations",
            "Operations must be an array",
        ));
    };
    if ops.is_empty() || ops.len() > MAX_OPERATIONS {
        return Err(bad(
            "invalidSyntax",
            "Operations",
            format!("Operations must hold 1 to {MAX_OPERATIONS} operations"),
        ));
    }
    let mut out = Vec::with_capacity(ops.len());
    for (i, op) in ops.iter().enumerate() {
        let field = format!("Operations.{i}");
        let kind = match filter::get_ci(op, "op").and_then(Value::as_str) {
            Some(k) if k.eq_ignore_ascii_case("add") => Kind::Add,
            Some(k) if k.eq_ignore_ascii_case("replace") => Kind::Replace,
            Some(k) if k.eq_ignore_ascii_case("remove") => Kind::Remove,
            _ => {
                return Err(bad(
                    "invalidSyntax",
                    &format!("{field}.op"),
                    "op must be add, replace or remove",
                ))
            }
        };
        let path = match filter::get_ci(op, "path") {
            None | Some(Value::Null) => None,
            Some(Value::String(p)) if !p.trim().is_empty() => Some(p.trim().to_owned()),
            Some(_) => {
                return Err(bad(
                    "invalidPath",
                    &format!("{field}.path"),
                    "path must be a non-empty string",
                ))
            }
        };
        let value = filter::get_ci(op, "value").cloned();
        if kind != Kind::Remove && value.is_none() {
            return Err(bad(
                "invalidValue",
                &format!("{field}.value"),
                "add and replace need a value",
            ));
        }
        if kind == Kind::Remove && path.is_none() {
            return Err(bad(
                "noTarget",
                &format!("{field}.path"),
                "remove needs a path",
            ));
        }
        out.push(Op { kind, path, value });
    }
    Ok(out)
}

/// A PATCH path: attribute, optional value filter, optional sub-attribute.
struct Target {
    attr: AttrPath,
    filter: Option<Filter>,
    sub: Option<String>,
}

fn target(raw: &str, resource: &str) -> Result<Target> {
    let invalid = |m: String| bad("invalidPath", "path", m);
    let (head, filter, tail) = match raw.find('[') {
        Some(open) => {
            let close = raw
                .rfind(']')
                .filter(|c| *c > open)
                .ok_or_else(|| invalid(format!("'{raw}' has an unclosed '['")))?;
            let inner = filter::parse_inner(&raw[open + 1..close])
                .map_err(|m| invalid(format!("'{raw}': {m}")))?;
            let tail = &raw[close + 1..];
            let sub = match tail.strip_prefix('.') {
                Some(s) if !s.is_empty() => Some(s.to_owned()),
                None if tail.is_empty() => None,
                _ => return Err(invalid(format!("'{raw}' is not a path"))),
            };
            (&raw[..open], Some(inner), sub)
        }
        None => (raw, None, None),
    };
    let mut attr = attr_path(head).map_err(invalid)?;
    if let Some(urn) = &attr.urn {
        let core = [schemas::USER, schemas::GROUP];
        if core.iter().any(|c| c.eq_ignore_ascii_case(urn)) {
            attr.urn = None;
        } else if !(resource == "User" && urn.eq_ignore_ascii_case(schemas::ENTERPRISE)) {
            return Err(invalid(format!("'{raw}' names an unknown schema")));
        }
    }
    let sub = match (attr.sub.take(), tail) {
        (Some(_), Some(_)) => return Err(invalid(format!("'{raw}' is not a path"))),
        (a, b) => a.or(b),
    };
    let known_name = match (&attr.urn, &sub) {
        (Some(urn), _) => format!("{urn}:{}", attr.attr),
        (None, Some(s)) => format!("{}.{s}", attr.attr),
        (None, None) => attr.attr.clone(),
    };
    if !schemas::known(resource, &known_name) && !schemas::known(resource, &attr.attr) {
        return Err(invalid(format!(
            "'{raw}' is not an attribute of the {resource} schema"
        )));
    }
    Ok(Target { attr, filter, sub })
}

/// The key of `obj` equal to `name` in any case, else `name` itself.
fn key_of(obj: &Map<String, Value>, name: &str) -> String {
    obj.keys()
        .find(|k| k.eq_ignore_ascii_case(name))
        .cloned()
        .unwrap_or_else(|| name.to_owned())
}

fn container<'a>(res: &'a mut Value, urn: Option<&str>) -> Result<&'a mut Map<String, Value>> {
    let root = res
        .as_object_mut()
        .ok_or_else(|| bad("invalidSyntax", "", "the resource is not an object"))?;
    let Some(urn) = urn else {
        return Ok(root);
    };
    let key = key_of(root, urn);
    let ext = root.entry(key).or_insert_with(|| Value::Object(Map::new()));
    if !ext.is_object() {
        *ext = Value::Object(Map::new());
    }
    ext.as_object_mut()
        .ok_or_else(|| bad("invalidSyntax", urn, "the extension is not an object"))
}

fn same_item(a: &Value, b: &Value) -> bool {
    match (filter::get_ci(a, "value"), filter::get_ci(b, "value")) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}

/// The simple `attr eq "value"` of a value filter, which an add can create an item from.
fn creatable(f: &Filter) -> Option<(String, Value)> {
    match f {
        Filter::Compare {
            path,
            op: roster_domain::paging::Comparison::Equal,
            value: Some(v),
        } if path.urn.is_none() && path.sub.is_none() => Some((path.attr.clone(), v.clone())),
        _ => None,
    }
}

/// An operation whose path is the enterprise extension itself: `remove` drops it, `add` sets
/// the attributes its value names, `replace` makes them the extension's only ones.
fn whole_extension(res: &mut Value, op: &Op) -> Result<()> {
    let Some(obj) = res.as_object_mut() else {
        return Err(bad("invalidSyntax", "", "the resource is not an object"));
    };
    let key = key_of(obj, schemas::ENTERPRISE);
    if op.kind == Kind::Remove {
        obj.remove(&key);
        return Ok(());
    }
    let Some(Value::Object(more)) = &op.value else {
        return Err(bad(
            "invalidValue",
            "value",
            "the extension's value must be an object",
        ));
    };
    if op.kind == Kind::Replace {
        obj.remove(&key);
    }
    for (k, v) in more {
        let sub = Op {
            kind: Kind::Add,
            path: Some(format!("{}:{k}", schemas::ENTERPRISE)),
            value: Some(v.clone()),
        };
        apply(res, &sub, "User")?;
    }
    Ok(())
}

/// Applies one operation.
pub fn apply(res: &mut Value, op: &Op, resource: &str) -> Result<()> {
    let Some(path) = &op.path else {
        // No path: the value's members are the targets.
        let Some(Value::Object(members)) = &op.value else {
            return Err(bad(
                "invalidValue",
                "value",
                "without a path, the value must be an object",
            ));
        };
        for (k, v) in members {
            let is_ext = k.eq_ignore_ascii_case(schemas::ENTERPRISE);
            match v {
                Value::Object(inner) if is_ext => {
                    for (k2, v2) in inner {
                        let sub = Op {
                            kind: op.kind,
                            path: Some(format!("{k}:{k2}")),
                            value: Some(v2.clone()),
                        };
                        apply(res, &sub, resource)?;
                    }
                }
                _ if k.eq_ignore_ascii_case("schemas") || k.eq_ignore_ascii_case("id") => {}
                _ => {
                    let sub = Op {
                        kind: op.kind,
                        path: Some(k.clone()),
                        value: Some(v.clone()),
                    };
                    apply(res, &sub, resource)?;
                }
            }
        }
        return Ok(());
    };
    if resource == "User" && path.trim().eq_ignore_ascii_case(schemas::ENTERPRISE) {
        return whole_extension(res, op);
    }
    let t = target(path, resource)?;
    let obj = container(res, t.attr.urn.as_deref())?;
    let key = key_of(obj, &t.attr.attr);
    let value = op.value.clone().unwrap_or(Value::Null);
    match (&t.filter, &t.sub) {
        (None, None) => match op.kind {
            Kind::Remove => match (obj.get_mut(&key), &op.value) {
                // Entra ID: `Remove` of `members` with the members to remove as its value.
                (Some(Value::Array(items)), Some(v)) => {
                    let gone: Vec<Value> = match v {
                        Value::Array(a) => a.clone(),
                        one => vec![one.clone()],
                    };
                    items.retain(|i| !gone.iter().any(|g| same_item(i, g)));
                }
                _ => {
                    obj.remove(&key);
                }
            },
            Kind::Add => match (obj.get_mut(&key), value) {
                (Some(Value::Array(items)), v) => {
                    let new: Vec<Value> = match v {
                        Value::Array(a) => a,
                        one => vec![one],
                    };
                    for n in new {
                        if !items.iter().any(|i| same_item(i, &n)) {
                            items.push(n);
                        }
                    }
                }
                (Some(Value::Object(existing)), Value::Object(more)) => {
                    for (k, v) in more {
                        let k = key_of(existing, &k);
                        existing.insert(k, v);
                    }
                }
                (_, v) => {
                    obj.insert(key, v);
                }
            },
            Kind::Replace => match (obj.get_mut(&key), value) {
                (Some(Value::Object(existing)), Value::Object(more)) => {
                    for (k, v) in more {
                        let k = key_of(existing, &k);
                        existing.insert(k, v);
                    }
                }
                (_, v) => {
                    obj.insert(key, v);
                }
            },
        },
        (None, Some(sub)) => {
            let entry = obj.entry(key).or_insert_with(|| Value::Object(Map::new()));
            let each = |o: &mut Map<String, Value>| {
                let k = key_of(o, sub);
                if op.kind == Kind::Remove {
                    o.remove(&k);
                } else {
                    o.insert(k, value.clone());
                }
            };
            match entry {
                Value::Object(o) => each(o),
                Value::Array(items) => items
                    .iter_mut()
                    .filter_map(Value::as_object_mut)
                    .for_each(each),
                other => {
                    let mut o = Map::new();
                    each(&mut o);
                    *other = Value::Object(o);
                }
            }
        }
        (Some(f), sub) => {
            let entry = obj.entry(key).or_insert_with(|| Value::Array(Vec::new()));
            if !entry.is_array() {
                return Err(bad(
                    "invalidPath",
                    "path",
                    format!("'{path}' is not multi-valued"),
                ));
            }
            let items = entry.as_array_mut().expect("checked to be an array");
            let hits: Vec<usize> = items
                .iter()
                .enumerate()
                .filter(|(_, i)| filter::matches(f, i))
                .map(|(n, _)| n)
                .collect();
            match (op.kind, sub) {
                (Kind::Remove, None) => {
                    let mut n = 0;
                    items.retain(|_| {
                        let keep = !hits.contains(&n);
                        n += 1;
                        keep
                    });
                }
                (Kind::Remove, Some(s)) => {
                    for &n in &hits {
                        if let Some(o) = items[n].as_object_mut() {
                            let k = key_of(o, s);
                            o.remove(&k);
                        }
                    }
                }
                (_, Some(s)) if hits.is_empty() => {
                    let Some((attr, v)) = creatable(f) else {
                        return Err(bad("noTarget", "path", format!("nothing matches '{path}'")));
                    };
                    let mut o = Map::new();
                    o.insert(attr, v);
                    o.insert(s.clone(), value);
                    items.push(Value::Object(o));
                }
                (_, Some(s)) => {
                    for &n in &hits {
                        if let Some(o) = items[n].as_object_mut() {
                            let k = key_of(o, s);
                            o.insert(k, value.clone());
                        }
                    }
                }
                (_, None) if hits.is_empty() => {
                    return Err(bad("noTarget", "path", format!("nothing matches '{path}'")));
                }
                (_, None) => {
                    for &n in &hits {
                        match (&mut items[n], &value) {
                            (Value::Object(o), Value::Object(more)) => {
                                for (k, v) in more {
                                    let k = key_of(o, k);
                                    o.insert(k, v.clone());
                                }
                            }
                            (slot, v) => *slot = v.clone(),
                        }
                    }
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run(res: &mut Value, body: Value) {
        for op in operations(&body).expect("operations") {
            apply(res, &op, "User").expect("applies");
        }
    }

    #[test]
    fn value_paths_dotted_keys_and_capitalized_ops() {
        let mut u = json!({"userName": "a@x", "name": {"givenName": "A"}, "active": true,
            "emails": [{"value": "a@x", "type": "work", "primary": true}]});
        run(
            &mut u,
            json!({"schemas": [PATCH_OP], "Operations": [
                {"op": "Replace", "value": {"name.givenName": "B", "active": "False"}},
                {"op": "replace", "path": "emails[type eq \"work\"].value", "value": "b@x"},
                {"op": "Add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:organization", "value": "Acme"},
            ]}),
        );
        assert_eq!(u["name"]["givenName"], "B");
        assert_eq!(u["active"], "False");
        assert_eq!(u["emails"][0]["value"], "b@x");
        assert_eq!(u[schemas::ENTERPRISE]["organization"], "Acme");
    }

    #[test]
    fn bad_paths_are_refused() {
        let mut u = json!({"userName": "a@x"});
        for path in [
            "nope",
            "emails[type eq]",
            "emails[type eq \"w\"",
            "urn:x:y:attr",
            "a..b",
        ] {
            let op = Op {
                kind: Kind::Replace,
                path: Some(path.into()),
                value: Some(json!(1)),
            };
            assert!(apply(&mut u, &op, "User").is_err(), "{path}");
        }
    }
}
