//! Listing queries: sort keys, filters and keyset positions behind every surface's paging shape.

use serde::{Deserialize, Serialize};

/// One sort key: a field name of the listing (as the surface names it) and a direction.
/// The store maps field names to indexed columns through an allow-list per listing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SortKey {
    pub field: String,
    pub descending: bool,
}

/// User fields with a sort index, by their Amigo names plus the single-name surfaces' ones.
pub const USER_SORT_FIELDS: &[&str] = &[
    "first_name",
    "last_name",
    "email",
    "user_stats.num_conversations",
    "user_stats.num_messages",
    "user_stats.last_message_time",
    "name",
    "created_at",
    "company",
    "user_name",
];

/// Parses `+field` / `-field` / `field` items, keeping only allowed fields.
pub fn parse_sort(items: &[String], allowed: &[&str]) -> Result<Vec<SortKey>, String> {
    let mut keys: Vec<SortKey> = Vec::new();
    for item in items {
        let item = item.trim();
        let (descending, field) = match item.as_bytes().first() {
            Some(b'-') => (true, &item[1..]),
            Some(b'+') => (false, &item[1..]),
            _ => (false, item),
        };
        if !allowed.contains(&field) {
            return Err(format!(
                "unsupported sort field '{field}'; supported fields are {}",
                allowed.join(", ")
            ));
        }
        if keys.iter().any(|k| k.field == field) {
            return Err(format!("sort field '{field}' is given more than once"));
        }
        keys.push(SortKey {
            field: field.to_owned(),
            descending,
        });
    }
    Ok(keys)
}

/// A value of a sort key, taken from the last row of a page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum SortValue {
    Int(i64),
    Text(String),
}

/// Where the previous page ended: the sort values of its last row and that row's id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Keyset {
    pub sort: Vec<SortKey>,
    pub values: Vec<SortValue>,
    pub last_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Position {
    Start,
    /// A plain offset, for clients that compute tokens themselves.
    Offset(u64),
    After(Keyset),
}

/// Which users a caller may see in a listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Visibility {
    All,
    /// Only these users, or users holding one of these roles.
    Only {
        user_ids: Vec<String>,
        role_ids: Vec<String>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserQuery {
    /// Only these users.
    pub ids: Vec<crate::types::UserId>,
    pub emails_lower: Vec<String>,
    pub is_verified: Option<bool>,
    /// Lower-cased substring of name or email.
    pub contains: Option<String>,
    /// Leave out deactivated users.
    pub exclude_inactive: bool,
    /// Only users of this status.
    pub status: Option<crate::model::UserStatus>,
    /// With `contains`: also match the company.
    pub contains_company: bool,
    /// Lower-cased substring of the full name only.
    pub name_contains: Option<String>,
    /// Lower-cased prefix of the full name.
    pub name_prefix: Option<String>,
    /// A condition on the users' fields, for surfaces whose clients send a filter expression.
    pub filter: Option<UserFilter>,
    pub visibility: Visibility,
    pub page: PageRequest,
}

impl UserQuery {
    pub fn new(limit: u32) -> Self {
        Self {
            ids: Vec::new(),
            emails_lower: Vec::new(),
            is_verified: None,
            contains: None,
            contains_company: false,
            exclude_inactive: false,
            status: None,
            name_contains: None,
            name_prefix: None,
            filter: None,
            visibility: Visibility::All,
            page: PageRequest {
                sort: Vec::new(),
                position: Position::Start,
                limit,
            },
        }
    }
}

/// A user field that a [`UserFilter`] tests. Text fields compare case-insensitively, but for
/// the external id, which is the directory's and compares exactly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserField {
    Id,
    Email,
    /// What a directory names the person by: its own name for them, else the login email.
    UserName,
    ExternalId,
    FirstName,
    LastName,
    /// Not deactivated.
    Active,
    CreatedAt,
    UpdatedAt,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Comparison {
    Equal,
    NotEqual,
    Contains,
    StartsWith,
    EndsWith,
    /// Has a non-empty value (no operand).
    Present,
    Greater,
    GreaterOrEqual,
    Less,
    LessOrEqual,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FilterValue {
    Text(String),
    Bool(bool),
    /// Microseconds since the epoch.
    Time(i64),
}

/// A condition on users, as a tree: the store evaluates it in SQL, an equality on the email
/// or the external id through their indexes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserFilter {
    Test {
        field: UserField,
        op: Comparison,
        value: Option<FilterValue>,
    },
    All(Vec<UserFilter>),
    Any(Vec<UserFilter>),
    Not(Box<UserFilter>),
}

/// Tokens we issue are at least this large, so smaller integers can only be offsets a client computed.
pub const CURSOR_TOKEN_MIN: i64 = 1 << 40;
/// And below 2^53 so that JavaScript clients keep them exact.
pub const CURSOR_TOKEN_MAX: i64 = (1 << 53) - 1;

/// Sort, position and size of one page of any listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRequest {
    pub sort: Vec<SortKey>,
    pub position: Position,
    /// Rows to return; the store is asked for one more to learn whether more exist.
    pub limit: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemoryQuery {
    pub user_id: String,
    pub ids: Vec<String>,
    pub conversation_ids: Vec<String>,
    pub page: PageRequest,
}

pub const MEMORY_SORT_FIELDS: &[&str] = &["conversation_id", "created_at"];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantQuery {
    pub ids: Vec<String>,
    pub user_ids: Vec<String>,
    pub permission_name: Option<String>,
    pub creators: Vec<String>,
    /// `Some(true)`: only expired; `Some(false)`: only unexpired.
    pub expired: Option<bool>,
    pub now: i64,
    /// `(key, None)` matches any value, `(key, Some(None))` a null value.
    pub tags: Vec<(String, Option<Option<String>>)>,
    pub page: PageRequest,
}

pub const GRANT_SORT_FIELDS: &[&str] =
    &["user_id", "expires_at", "permission_grant.permission_name"];

/// A page of results and whether more follow.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub has_more: bool,
    pub continuation_token: Option<i64>,
}

/// One organization's audit events, newest first, with optional filters and a keyset position.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AuditQuery {
    /// The acting user.
    pub actor: Option<String>,
    pub target_user_id: Option<String>,
    pub action: Option<String>,
    /// Events at or after this time (microseconds).
    pub from: Option<i64>,
    /// Events strictly before this time (microseconds).
    pub to: Option<i64>,
    /// Only events strictly older than this `(created_at, id)`: the last one of the page before.
    pub before: Option<(i64, String)>,
    /// Most events returned.
    pub limit: u32,
}
