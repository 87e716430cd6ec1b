//! org-user-management's words for the member list: `page_number` (from 1), `page_size`
//! (0 to 100, more read as 100) and `name_search`, read into the core's typed page.

use roster_domain::core::{MemberPage, MEMBER_PAGE_MAX};
use roster_domain::{Error, FieldError};

use crate::extract::Query;

pub(super) fn member_page(q: &Query) -> Result<MemberPage, Error> {
    let mut problems = Vec::new();
    let number = q.int("page_number", 1, &mut problems);
    let size = q.int("page_size", 100, &mut problems);
    if !problems.is_empty() {
        return Err(Error::Validation(problems));
    }
    if number < 1 {
        problems.push(FieldError::query(
            "page_number",
            "greater_than_equal",
            "page_number must be at least 1",
        ));
    }
    if size < 0 {
        problems.push(FieldError::query(
            "page_size",
            "greater_than_equal",
            "page_size must be at least 0",
        ));
    }
    let name = q.one("name_search").map(str::to_owned);
    if let Some(s) = &name {
        if s.chars().count() < 3 || !s.chars().all(|c| c.is_ascii_alphabetic() || c == ' ') {
            problems.push(FieldError::query(
                "name_search",
                "string_pattern_mismatch",
                "String should match pattern '^[a-zA-Z ]{3,}$'",
            ));
        }
    }
    if !problems.is_empty() {
        return Err(Error::Validation(problems));
    }
    Ok(MemberPage {
        number: u64::try_from(number).unwrap_or(1),
        size: u32::try_from(size.min(i64::from(MEMBER_PAGE_MAX))).unwrap_or(MEMBER_PAGE_MAX),
        name,
    })
}
