//! What a listing asks for, from a `GET`'s query or a `POST .search` body (RFC 7644 sections
//! 3.4.2 and 3.4.3): the filter, the sort, the page and the projection, the same either way.

use serde_json::Value;

use super::filter::get_ci;
use super::schemas::MAX_RESULTS;
use super::{bad, Result};

pub const SEARCH_REQUEST: &str = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";

#[derive(Debug, Clone, Default)]
pub struct ListParams {
    pub filter: Option<String>,
    pub sort_by: Option<String>,
    pub sort_order: Option<String>,
    /// From 1.
    pub start: u64,
    /// At most [`MAX_RESULTS`].
    pub count: u32,
    /// Comma-separated names, as the query gives them.
    pub attributes: Option<String>,
    pub excluded: Option<String>,
}

fn page(start: Option<i64>, count: Option<i64>) -> (u64, u32) {
    (
        start.unwrap_or(1).max(1) as u64,
        count
            .unwrap_or(i64::from(MAX_RESULTS))
            .clamp(0, i64::from(MAX_RESULTS)) as u32,
    )
}

impl ListParams {
    pub fn from_query(q: &crate::extract::Query) -> Result<Self> {
        let int =
            |name: &str| -> Result<Option<i64>> {
                match q.one(name) {
                    None => Ok(None),
                    Some(v) => v.trim().parse::<i64>().map(Some).map_err(|_| {
                        bad("invalidValue", name, format!("{name} must be an integer"))
                    }),
                }
            };
        let (start, count) = page(int("startIndex")?, int("count")?);
        let text = |name: &str| q.one(name).map(str::to_owned);
        Ok(Self {
            filter: text("filter"),
            sort_by: text("sortBy"),
            sort_order: text("sortOrder"),
            start,
            count,
            attributes: text("attributes"),
            excluded: text("excludedAttributes"),
        })
    }

    /// A `SearchRequest` body: its `schemas` must name it; every other key is one of its own.
    pub fn from_body(v: &Value) -> Result<Self> {
        let Some(obj) = v.as_object() else {
            return Err(bad("invalidSyntax", "", "the body must be a JSON object"));
        };
        let known = [
            "schemas",
            "filter",
            "sortby",
            "sortorder",
            "startindex",
            "count",
            "attributes",
            "excludedattributes",
        ];
        for k in obj.keys() {
            if !known.contains(&k.to_ascii_lowercase().as_str()) {
                return Err(bad(
                    "invalidSyntax",
                    k,
                    format!("{k} is not an attribute of a SearchRequest"),
                ));
            }
        }
        if let Some(s) = get_ci(v, "schemas") {
            let ok = s.as_array().is_some_and(|a| {
                a.iter().any(|x| {
                    x.as_str()
                        .is_some_and(|x| x.eq_ignore_ascii_case(SEARCH_REQUEST))
                })
            });
            if !ok {
                return Err(bad(
                    "invalidValue",
                    "schemas",
                    format!("schemas must include {SEARCH_REQUEST}"),
                ));
            }
        }
        let text = |name: &str| -> Result<Option<String>> {
            match get_ci(v, name) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(other) => Err(bad(
                    "invalidValue",
                    name,
                    format!("{name} must be a string, not {other}"),
                )),
            }
        };
        let int =
            |name: &str| -> Result<Option<i64>> {
                match get_ci(v, name) {
                    None | Some(Value::Null) => Ok(None),
                    Some(Value::Number(n)) if n.is_i64() => Ok(n.as_i64()),
                    Some(Value::String(s)) => s.trim().parse::<i64>().map(Some).map_err(|_| {
                        bad("invalidValue", name, format!("{name} must be an integer"))
                    }),
                    Some(_) => Err(bad(
                        "invalidValue",
                        name,
                        format!("{name} must be an integer"),
                    )),
                }
            };
        // Names as an array (RFC 7644) or, leniently, as the query's comma-separated string.
        let names = |name: &str| -> Result<Option<String>> {
            match get_ci(v, name) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(Value::Array(items)) => {
                    let mut out = Vec::with_capacity(items.len());
                    for i in items {
                        let Some(s) = i.as_str() else {
                            return Err(bad(
                                "invalidValue",
                                name,
                                format!("{name} must be an array of attribute names"),
                            ));
                        };
                        out.push(s.to_owned());
                    }
                    Ok((!out.is_empty()).then(|| out.join(",")))
                }
                Some(_) => Err(bad(
                    "invalidValue",
                    name,
                    format!("{name} must be an array of attribute names"),
                )),
            }
        };
        let (start, count) = page(int("startIndex")?, int("count")?);
        Ok(Self {
            filter: text("filter")?,
            sort_by: text("sortBy")?,
            sort_order: text("sortOrder")?,
            start,
            count,
            attributes: names("attributes")?,
            excluded: names("excludedAttributes")?,
        })
    }

    /// The filter, when there is a non-blank one.
    pub fn filter(&self) -> Option<&str> {
        self.filter
            .as_deref()
            .map(str::trim)
            .filter(|f| !f.is_empty())
    }
}
