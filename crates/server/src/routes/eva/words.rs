//! eva's words for what the core names in Roster's: the list's query (`page`, `linesPerPage`,
//! `orderBy`, `direction`, `searchTerms`) read into the core's typed page, and the core's field
//! names written as eva's camelCase ones.

use roster_domain::core::{EvaListQuery, UserOrder, EMAIL_IS_LOGIN, LIST_PAGE_MAX};
use roster_domain::model::EnvRole;
use roster_domain::{Error, FieldError};

use crate::extract::Query;

/// The list query's integers and `direction` (checked before the organization is looked up).
pub(super) struct ListQuery {
    pub page: i64,
    pub lines: i64,
    pub descending: bool,
}

pub(super) fn list_query(q: &Query) -> Result<ListQuery, Error> {
    let mut problems = Vec::new();
    let page = q.int("page", 0, &mut problems);
    let lines = q.int("linesPerPage", 5, &mut problems);
    let direction = q.one("direction").unwrap_or("DESC").to_ascii_uppercase();
    if direction != "ASC" && direction != "DESC" {
        problems.push(FieldError::query(
            "direction",
            "enum",
            "direction must be ASC or DESC",
        ));
    }
    if !problems.is_empty() {
        return Err(Error::Validation(problems));
    }
    Ok(ListQuery {
        page,
        lines,
        descending: direction == "DESC",
    })
}

/// The ranges and `orderBy` (checked once the caller may see the organization).
pub(super) fn list_page(q: &Query, l: &ListQuery) -> Result<EvaListQuery, Error> {
    let mut problems = Vec::new();
    if l.page < 0 {
        problems.push(FieldError::query(
            "page",
            "greater_than_equal",
            "page must be at least 0",
        ));
    }
    if !(1..=i64::from(LIST_PAGE_MAX)).contains(&l.lines) {
        problems.push(FieldError::query(
            "linesPerPage",
            "range",
            "linesPerPage must be between 1 and 100",
        ));
    }
    let order = match q.one("orderBy").unwrap_or("createdAt") {
        "name" => UserOrder::Name,
        "email" => UserOrder::Email,
        "company" => UserOrder::Company,
        "createdAt" => UserOrder::CreatedAt,
        _ => {
            problems.push(FieldError::query(
                "orderBy",
                "enum",
                "orderBy must be name, email, company or createdAt",
            ));
            UserOrder::CreatedAt
        }
    };
    if !problems.is_empty() {
        return Err(Error::Validation(problems));
    }
    Ok(EvaListQuery {
        page: u64::try_from(l.page).unwrap_or_default(),
        size: u32::try_from(l.lines).unwrap_or(LIST_PAGE_MAX),
        order,
        descending: l.descending,
        search: q.one("searchTerms").map(str::to_owned),
    })
}

/// The core's field names and wordings as eva writes them.
pub(super) fn eva_fields(e: Error) -> Error {
    if let Error::Conflict(m) = &e {
        if m == EMAIL_IS_LOGIN {
            // Where the owner changes it: org-user-management's own operation.
            return Error::Conflict(format!("{m} (PATCH /users/me)"));
        }
    }
    e.map_fields(|f| {
        for part in f.path.iter_mut() {
            if part == "password_confirmation" {
                *part = "passwordConfirmation".into();
            }
        }
        f.message = f
            .message
            .replace("password_confirmation", "passwordConfirmation");
    })
}

/// eva's spelling of an environment role (the same as Roster's stored one today, but the
/// contract's own): `None` for any other word, which the core reports as the field's error.
pub(super) fn env_role(word: &str) -> Option<EnvRole> {
    EnvRole::ALL.into_iter().find(|r| env_role_word(*r) == word)
}

pub(super) fn env_role_word(role: EnvRole) -> &'static str {
    match role {
        EnvRole::Supervisor => "SUPERVISOR",
        EnvRole::Editor => "EDITOR",
        EnvRole::Viewer => "VIEWER",
    }
}
