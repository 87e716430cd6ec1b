//! RFC 7644's filter grammar (section 3.4.2.2), parsed into a tree, evaluated on a JSON
//! resource (groups, value paths of PATCH), or translated into the core's [`UserFilter`] for
//! the users listing. Attribute names compare case-insensitively; a filter is at most
//! [`MAX_FILTER_LEN`] bytes and [`MAX_DEPTH`] levels deep, so hostile input costs nothing.

use roster_domain::paging::{Comparison, FilterValue, UserField, UserFilter};
use serde_json::Value;

pub const MAX_FILTER_LEN: usize = 4096;
const MAX_DEPTH: usize = 32;

/// An attribute path: an optional schema URN, an attribute, an optional sub-attribute.
#[derive(Debug, Clone, PartialEq)]
pub struct AttrPath {
    pub urn: Option<String>,
    pub attr: String,
    pub sub: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    Compare {
        path: AttrPath,
        op: Comparison,
        value: Option<Value>,
    },
    And(Box<Filter>, Box<Filter>),
    Or(Box<Filter>, Box<Filter>),
    Not(Box<Filter>),
    /// `attr[filter]`: some value of the multi-valued `attr` matches.
    Values(AttrPath, Box<Filter>),
}

/// Splits `urn:...:Schema:attr.sub` into its parts (the URN is everything up to the last `:`).
pub fn attr_path(raw: &str) -> Result<AttrPath, String> {
    let (urn, rest) = match raw.rfind(':') {
        Some(i) if raw[..i].to_ascii_lowercase().starts_with("urn:") => {
            (Some(raw[..i].to_owned()), &raw[i + 1..])
        }
        _ => (None, raw),
    };
    let mut parts = rest.splitn(2, '.');
    let attr = parts.next().unwrap_or_default().to_owned();
    let sub = parts.next().map(str::to_owned);
    let ok = |s: &str| {
        !s.is_empty()
            && s.len() <= 128
            && s.starts_with(|c: char| c.is_ascii_alphabetic() || c == '$')
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '$')
    };
    if !ok(&attr) || sub.as_deref().is_some_and(|s| !ok(s)) {
        return Err(format!("'{raw}' is not an attribute path"));
    }
    Ok(AttrPath { urn, attr, sub })
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Word(String),
    Str(String),
    Open,
    Close,
    LBracket,
    RBracket,
}

fn lex(s: &str) -> Result<Vec<Tok>, String> {
    let mut out = Vec::new();
    let mut chars = s.char_indices().peekable();
    while let Some(&(i, c)) = chars.peek() {
        match c {
            c if c.is_whitespace() => {
                chars.next();
            }
            '(' | ')' | '[' | ']' => {
                chars.next();
                out.push(match c {
                    '(' => Tok::Open,
                    ')' => Tok::Close,
                    '[' => Tok::LBracket,
                    _ => Tok::RBracket,
                });
            }
            '"' => {
                chars.next();
                let mut text = String::new();
                let mut closed = false;
                while let Some((_, c)) = chars.next() {
                    match c {
                        '"' => {
                            closed = true;
                            break;
                        }
                        '\\' => {
                            let (_, e) = chars.next().ok_or("an unfinished escape")?;
                            match e {
                                '"' | '\\' | '/' => text.push(e),
                                'n' => text.push('\n'),
                                't' => text.push('\t'),
                                'r' => text.push('\r'),
                                'b' => text.push('\u{8}'),
                                'f' => text.push('\u{c}'),
                                'u' => {
                                    let hex: String =
                                        (0..4).filter_map(|_| chars.next().map(|c| c.1)).collect();
                                    let ch = u32::from_str_radix(&hex, 16)
                                        .ok()
                                        .and_then(char::from_u32)
                                        .ok_or("a bad \\u escape")?;
                                    text.push(ch);
                                }
                                _ => return Err(format!("an unknown escape \\{e}")),
                            }
                        }
                        c => text.push(c),
                    }
                }
                if !closed {
                    return Err("a string without its closing quote".into());
                }
                out.push(Tok::Str(text));
            }
            _ => {
                let start = i;
                let mut end = s.len();
                while let Some(&(j, c)) = chars.peek() {
                    if c.is_whitespace() || matches!(c, '(' | ')' | '[' | ']' | '"') {
                        end = j;
                        break;
                    }
                    chars.next();
                }
                out.push(Tok::Word(s[start..end].to_owned()));
            }
        }
    }
    Ok(out)
}

struct Parser {
    toks: Vec<Tok>,
    at: usize,
    depth: usize,
}

fn comparison(w: &str) -> Option<Comparison> {
    Some(match w.to_ascii_lowercase().as_str() {
        "eq" => Comparison::Equal,
        "ne" => Comparison::NotEqual,
        "co" => Comparison::Contains,
        "sw" => Comparison::StartsWith,
        "ew" => Comparison::EndsWith,
        "pr" => Comparison::Present,
        "gt" => Comparison::Greater,
        "ge" => Comparison::GreaterOrEqual,
        "lt" => Comparison::Less,
        "le" => Comparison::LessOrEqual,
        _ => return None,
    })
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.at)
    }

    fn next(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.at).cloned();
        self.at += 1;
        t
    }

    fn keyword(&self, k: &str) -> bool {
        matches!(self.peek(), Some(Tok::Word(w)) if w.eq_ignore_ascii_case(k))
    }

    fn or(&mut self) -> Result<Filter, String> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err("the filter is nested too deeply".into());
        }
        let mut left = self.and()?;
        while self.keyword("or") {
            self.next();
            let right = self.and()?;
            left = Filter::Or(Box::new(left), Box::new(right));
        }
        self.depth -= 1;
        Ok(left)
    }

    fn and(&mut self) -> Result<Filter, String> {
        let mut left = self.unary()?;
        while self.keyword("and") {
            self.next();
            let right = self.unary()?;
            left = Filter::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Filter, String> {
        if self.keyword("not") {
            self.next();
            if self.next() != Some(Tok::Open) {
                return Err("'not' must be followed by a parenthesized filter".into());
            }
            let inner = self.or()?;
            if self.next() != Some(Tok::Close) {
                return Err("a parenthesis is not closed".into());
            }
            return Ok(Filter::Not(Box::new(inner)));
        }
        if self.peek() == Some(&Tok::Open) {
            self.next();
            let inner = self.or()?;
            if self.next() != Some(Tok::Close) {
                return Err("a parenthesis is not closed".into());
            }
            return Ok(inner);
        }
        let Some(Tok::Word(word)) = self.next() else {
            return Err("an attribute path was expected".into());
        };
        if self.peek() == Some(&Tok::LBracket) {
            self.next();
            let path = attr_path(&word)?;
            let inner = self.or()?;
            if self.next() != Some(Tok::RBracket) {
                return Err("a '[' is not closed".into());
            }
            // `emails[type eq "work"].value` has no place in a filter; a value path ends here.
            return Ok(Filter::Values(path, Box::new(inner)));
        }
        let path = attr_path(&word)?;
        let Some(Tok::Word(op)) = self.next() else {
            return Err(format!("an operator was expected after '{word}'"));
        };
        let op = comparison(&op).ok_or_else(|| format!("'{op}' is not an operator"))?;
        if op == Comparison::Present {
            return Ok(Filter::Compare {
                path,
                op,
                value: None,
            });
        }
        let value = match self.next() {
            Some(Tok::Str(s)) => Value::String(s),
            Some(Tok::Word(w)) => match w.as_str() {
                "true" => Value::Bool(true),
                "false" => Value::Bool(false),
                "null" => Value::Null,
                n => serde_json::from_str::<serde_json::Number>(n)
                    .map(Value::Number)
                    .map_err(|_| format!("'{n}' is not a value"))?,
            },
            _ => return Err("a value was expected".into()),
        };
        Ok(Filter::Compare {
            path,
            op,
            value: Some(value),
        })
    }
}

/// Parses a whole filter.
pub fn parse(s: &str) -> Result<Filter, String> {
    if s.len() > MAX_FILTER_LEN {
        return Err(format!("the filter is longer than {MAX_FILTER_LEN} bytes"));
    }
    let toks = lex(s)?;
    let mut p = Parser {
        toks,
        at: 0,
        depth: 0,
    };
    let f = p.or()?;
    if p.at != p.toks.len() {
        return Err("the filter has more after its end".into());
    }
    Ok(f)
}

/// Parses the filter inside a PATCH path's brackets.
pub fn parse_inner(s: &str) -> Result<Filter, String> {
    parse(s)
}

/// The member of an object named `name`, case-insensitively.
pub fn get_ci<'a>(obj: &'a Value, name: &str) -> Option<&'a Value> {
    obj.as_object()?
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
}

fn compare_values(op: Comparison, actual: &Value, wanted: Option<&Value>) -> bool {
    let Some(wanted) = wanted else {
        return match actual {
            Value::Null => false,
            Value::String(s) => !s.is_empty(),
            Value::Array(a) => !a.is_empty(),
            Value::Object(o) => !o.is_empty(),
            _ => true,
        };
    };
    match (actual, wanted) {
        (Value::String(a), Value::String(w)) => {
            let (a, w) = (a.to_lowercase(), w.to_lowercase());
            match op {
                Comparison::Equal => a == w,
                Comparison::NotEqual => a != w,
                Comparison::Contains => a.contains(&w),
                Comparison::StartsWith => a.starts_with(&w),
                Comparison::EndsWith => a.ends_with(&w),
                Comparison::Greater => a > w,
                Comparison::GreaterOrEqual => a >= w,
                Comparison::Less => a < w,
                Comparison::LessOrEqual => a <= w,
                Comparison::Present => true,
            }
        }
        (Value::Bool(a), Value::Bool(w)) => match op {
            Comparison::Equal => a == w,
            Comparison::NotEqual => a != w,
            _ => false,
        },
        (Value::Number(a), Value::Number(w)) => {
            let (a, w) = (a.as_f64().unwrap_or(0.0), w.as_f64().unwrap_or(0.0));
            match op {
                Comparison::Equal => a == w,
                Comparison::NotEqual => a != w,
                Comparison::Greater => a > w,
                Comparison::GreaterOrEqual => a >= w,
                Comparison::Less => a < w,
                Comparison::LessOrEqual => a <= w,
                _ => false,
            }
        }
        (Value::Null, _) | (_, Value::Null) => op == Comparison::NotEqual,
        _ => op == Comparison::NotEqual,
    }
}

/// The values an attribute path reaches in a resource (several through a multi-valued one).
fn reach<'a>(resource: &'a Value, path: &AttrPath) -> Vec<&'a Value> {
    let base = match &path.urn {
        Some(urn) => get_ci(resource, urn).and_then(|ext| get_ci(ext, &path.attr)),
        None => get_ci(resource, &path.attr),
    };
    let Some(base) = base else {
        return Vec::new();
    };
    let items: Vec<&Value> = match base {
        Value::Array(a) => a.iter().collect(),
        v => vec![v],
    };
    match &path.sub {
        None => items
            .into_iter()
            .map(|v| get_ci(v, "value").filter(|_| v.is_object()).unwrap_or(v))
            .collect(),
        Some(sub) => items.into_iter().filter_map(|v| get_ci(v, sub)).collect(),
    }
}

/// Whether a resource (or a value of a multi-valued attribute) matches.
pub fn matches(f: &Filter, resource: &Value) -> bool {
    match f {
        Filter::And(a, b) => matches(a, resource) && matches(b, resource),
        Filter::Or(a, b) => matches(a, resource) || matches(b, resource),
        Filter::Not(a) => !matches(a, resource),
        Filter::Values(path, inner) => {
            let base = get_ci(resource, &path.attr);
            match base {
                Some(Value::Array(items)) => items.iter().any(|i| matches(inner, i)),
                Some(v @ Value::Object(_)) => matches(inner, v),
                _ => false,
            }
        }
        Filter::Compare { path, op, value } => {
            let found = reach(resource, path);
            if *op == Comparison::Present {
                return found.iter().any(|v| compare_values(*op, v, None));
            }
            if found.is_empty() {
                return *op == Comparison::NotEqual;
            }
            found.iter().any(|v| compare_values(*op, v, value.as_ref()))
        }
    }
}

/// The core's filter for a users listing. Attributes that no index or column holds are a
/// 400 (`invalidFilter`) rather than a scan.
pub fn users(f: &Filter) -> Result<UserFilter, String> {
    to_user(f, None)
}

fn to_user(f: &Filter, within: Option<&str>) -> Result<UserFilter, String> {
    Ok(match f {
        Filter::And(a, b) => UserFilter::All(vec![to_user(a, within)?, to_user(b, within)?]),
        Filter::Or(a, b) => UserFilter::Any(vec![to_user(a, within)?, to_user(b, within)?]),
        Filter::Not(a) => UserFilter::Not(Box::new(to_user(a, within)?)),
        Filter::Values(path, inner) => {
            if within.is_some() || path.sub.is_some() {
                return Err("value filters do not nest".into());
            }
            to_user(inner, Some(&path.attr.to_ascii_lowercase()))?
        }
        Filter::Compare { path, op, value } => {
            let name = match within {
                Some(parent) => format!("{parent}.{}", path.attr.to_ascii_lowercase()),
                None => match &path.sub {
                    Some(s) => format!("{}.{}", path.attr, s).to_ascii_lowercase(),
                    None => path.attr.to_ascii_lowercase(),
                },
            };
            if let Some(urn) = &path.urn {
                if !urn.eq_ignore_ascii_case(super::schemas::USER) {
                    return Err(format!("users cannot be filtered by {urn}:{}", path.attr));
                }
            }
            let field = match name.as_str() {
                "id" => UserField::Id,
                "username" => UserField::UserName,
                "emails" | "emails.value" => UserField::Email,
                "externalid" => UserField::ExternalId,
                "name.givenname" => UserField::FirstName,
                "name.familyname" => UserField::LastName,
                "active" => UserField::Active,
                "meta.created" => UserField::CreatedAt,
                "meta.lastmodified" => UserField::UpdatedAt,
                // Every user has one email, of type work, primary.
                "emails.type" => {
                    let holds = compare_values(*op, &Value::String("work".into()), value.as_ref());
                    return Ok(UserFilter::All(Vec::new()).or_none(holds));
                }
                "emails.primary" => {
                    let holds = compare_values(*op, &Value::Bool(true), value.as_ref());
                    return Ok(UserFilter::All(Vec::new()).or_none(holds));
                }
                other => return Err(format!("users cannot be filtered by {other}")),
            };
            let value = match (field, value) {
                (_, None) => None,
                (UserField::Active, Some(Value::Bool(b))) => Some(FilterValue::Bool(*b)),
                (UserField::Active, Some(v)) => {
                    return Err(format!("active compares with true or false, not {v}"))
                }
                (UserField::CreatedAt | UserField::UpdatedAt, Some(Value::String(s))) => {
                    let t = chrono::DateTime::parse_from_rfc3339(s)
                        .map_err(|_| format!("'{s}' is not an RFC 3339 date-time"))?;
                    Some(FilterValue::Time(t.timestamp_micros()))
                }
                (_, Some(Value::String(s))) => Some(FilterValue::Text(s.clone())),
                (_, Some(Value::Null)) => {
                    // `eq null` is "not present", `ne null` is "present".
                    let present = UserFilter::Test {
                        field,
                        op: Comparison::Present,
                        value: None,
                    };
                    return Ok(match op {
                        Comparison::Equal => UserFilter::Not(Box::new(present)),
                        Comparison::NotEqual => present,
                        _ => return Err("null compares with eq or ne only".into()),
                    });
                }
                (_, Some(v)) => return Err(format!("{name} compares with a string, not {v}")),
            };
            let text_only = matches!(
                op,
                Comparison::Contains | Comparison::StartsWith | Comparison::EndsWith
            );
            if text_only && !matches!(value, Some(FilterValue::Text(_))) {
                return Err(format!("{name} cannot be compared with that operator"));
            }
            if field == UserField::Active
                && !matches!(
                    op,
                    Comparison::Equal | Comparison::NotEqual | Comparison::Present
                )
            {
                return Err("active compares with eq, ne or pr".into());
            }
            UserFilter::Test {
                field,
                op: *op,
                value,
            }
        }
    })
}

trait OrNone {
    fn or_none(self, holds: bool) -> UserFilter;
}

impl OrNone for UserFilter {
    /// This filter (always true) when `holds`, else the filter that matches nobody.
    fn or_none(self, holds: bool) -> UserFilter {
        if holds {
            self
        } else {
            UserFilter::Any(Vec::new())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_precedence_grouping_and_value_paths() {
        let f = parse(r#"userName eq "a" or not (active eq false) and emails[type eq "work" and value co "@x"]"#)
            .expect("parses");
        assert!(matches!(f, Filter::Or(_, _)));
        let u =
            json!({"userName": "b", "active": true, "emails": [{"type": "work", "value": "b@x"}]});
        assert!(matches(&f, &u));
        assert!(users(&f).is_ok());
    }

    #[test]
    fn refuses_hostile_and_malformed_filters() {
        for bad in [
            "",
            "userName",
            "userName eq",
            "userName xx \"a\"",
            "(userName eq \"a\"",
            "userName eq \"a",
            "not userName eq \"a\"",
            "userName eq \"a\" extra",
            "a[b[c eq 1]]",
        ] {
            assert!(parse(bad).and_then(|f| users(&f)).is_err(), "{bad}");
        }
        let deep = format!("{}userName eq \"a\"{}", "(".repeat(200), ")".repeat(200));
        assert!(parse(&deep).is_err());
        assert!(parse(&"x".repeat(MAX_FILTER_LEN + 1)).is_err());
        assert!(users(&parse("nickName eq \"a\"").expect("parses")).is_err());
    }
}
