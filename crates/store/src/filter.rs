//! A [`UserFilter`] as a SQL condition on `users`. A leaf module: it names only the SQL
//! builder. Each test yields true or false, never NULL, so that `NOT` of a test on an empty
//! external id is true. An equality on the user name, the email or the external id is a plain
//! `column = $n`, which the indexes `users_user_name`, `users_org_email` and `users_external_id`
//! serve.

use roster_domain::paging::{Comparison, FilterValue, UserField, UserFilter};
use roster_domain::types::fold;

use crate::sql::{Arg, Sql};

/// The column a text field is compared on, and how a value is made comparable to it.
fn text_column(field: UserField) -> Option<(&'static str, bool)> {
    Some(match field {
        UserField::Id => ("id", false),
        UserField::Email => ("email_lower", true),
        UserField::UserName => ("user_name_key", true),
        UserField::ExternalId => ("external_id", false),
        UserField::FirstName => ("first_key", true),
        UserField::LastName => ("last_key", true),
        _ => return None,
    })
}

fn like_escaped(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

/// Appends the condition `f`, parenthesized.
pub(crate) fn user_filter(sql: &mut Sql, f: &UserFilter) {
    match f {
        UserFilter::All(items) | UserFilter::Any(items) if items.is_empty() => {
            sql.push(if matches!(f, UserFilter::All(_)) {
                "(1 = 1)"
            } else {
                "(1 = 0)"
            });
        }
        UserFilter::All(items) | UserFilter::Any(items) => {
            let join = if matches!(f, UserFilter::All(_)) {
                " AND "
            } else {
                " OR "
            };
            sql.push("(");
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    sql.push(join);
                }
                user_filter(sql, item);
            }
            sql.push(")");
        }
        UserFilter::Not(inner) => {
            sql.push("(NOT ");
            user_filter(sql, inner);
            sql.push(")");
        }
        UserFilter::Test { field, op, value } => test(sql, *field, *op, value.as_ref()),
    }
}

fn test(sql: &mut Sql, field: UserField, op: Comparison, value: Option<&FilterValue>) {
    match field {
        UserField::Active => {
            let active = match (op, value) {
                (Comparison::Present, _) => {
                    sql.push("(1 = 1)");
                    return;
                }
                (Comparison::Equal, Some(FilterValue::Bool(b))) => *b,
                (Comparison::NotEqual, Some(FilterValue::Bool(b))) => !*b,
                // The surface accepts nothing else for a boolean.
                _ => {
                    sql.push("(1 = 0)");
                    return;
                }
            };
            sql.push(if active {
                "(status <> 'inactive')"
            } else {
                "(status = 'inactive')"
            });
        }
        UserField::CreatedAt | UserField::UpdatedAt => {
            let col = if field == UserField::CreatedAt {
                "created_at"
            } else {
                "updated_at"
            };
            let Some(FilterValue::Time(t)) = value else {
                sql.push(if op == Comparison::Present {
                    "(1 = 1)"
                } else {
                    "(1 = 0)"
                });
                return;
            };
            let cmp = match op {
                Comparison::Equal => " = ",
                Comparison::NotEqual => " <> ",
                Comparison::Greater => " > ",
                Comparison::GreaterOrEqual => " >= ",
                Comparison::Less => " < ",
                Comparison::LessOrEqual => " <= ",
                _ => {
                    sql.push("(1 = 0)");
                    return;
                }
            };
            sql.push("(").push(col).push(cmp);
            sql.bind(Arg::Int(*t)).push(")");
        }
        _ => {
            let Some((col, folded)) = text_column(field) else {
                sql.push("(1 = 0)");
                return;
            };
            if op == Comparison::Present {
                sql.push("(")
                    .push(col)
                    .push(" IS NOT NULL AND ")
                    .push(col)
                    .push(" <> '')");
                return;
            }
            let raw = match value {
                Some(FilterValue::Text(s)) => s.clone(),
                _ => {
                    sql.push("(1 = 0)");
                    return;
                }
            };
            let v = if folded { fold(&raw) } else { raw };
            // `external_id` may be NULL: the test is false then, whatever the operator.
            sql.push("(").push(col).push(" IS NOT NULL AND ");
            match op {
                Comparison::Equal => {
                    sql.push(col).push(" = ");
                    sql.text(&v);
                }
                Comparison::NotEqual => {
                    sql.push(col).push(" <> ");
                    sql.text(&v);
                }
                Comparison::Contains | Comparison::StartsWith | Comparison::EndsWith => {
                    let e = like_escaped(&v);
                    let pattern = match op {
                        Comparison::Contains => format!("%{e}%"),
                        Comparison::StartsWith => format!("{e}%"),
                        _ => format!("%{e}"),
                    };
                    sql.push(col).push(" LIKE ");
                    sql.text(&pattern).push(" ESCAPE '\\'");
                }
                Comparison::Greater => {
                    sql.push(col).push(" > ");
                    sql.text(&v);
                }
                Comparison::GreaterOrEqual => {
                    sql.push(col).push(" >= ");
                    sql.text(&v);
                }
                Comparison::Less => {
                    sql.push(col).push(" < ");
                    sql.text(&v);
                }
                Comparison::LessOrEqual => {
                    sql.push(col).push(" <= ");
                    sql.text(&v);
                }
                Comparison::Present => {}
            }
            sql.push(")");
        }
    }
}
