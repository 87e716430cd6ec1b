//! A small builder for dynamic SQL with numbered placeholders, bound the same way on both drivers.

/// A bind value of a dynamic query.
#[derive(Debug, Clone)]
pub(crate) enum Arg {
    Text(String),
    Int(i64),
    Bool(bool),
    OptText(Option<String>),
}

/// SQL text with placeholders in order of appearance, never reused or reordered: `$n` for
/// PostgreSQL, and plain `?` for SQLite, whose binding of named parameters looks each name up
/// in a list (quadratic in a multi-row INSERT of thousands of values).
#[derive(Debug, Default)]
pub(crate) struct Sql {
    pub text: String,
    lite: String,
    pub args: Vec<Arg>,
}

/// The text of `sql` in the dialect of `DB`.
fn dialect<DB: sqlx::Database>(sql: &Sql) -> &str {
    if DB::NAME == "SQLite" {
        &sql.lite
    } else {
        &sql.text
    }
}

/// `sqlx::query` over a [`Sql`], in the dialect of the executor it runs on.
pub(crate) fn query<DB: sqlx::Database>(
    sql: &Sql,
) -> sqlx::query::Query<'_, DB, <DB as sqlx::Database>::Arguments<'_>> {
    sqlx::query(dialect::<DB>(sql))
}

/// `sqlx::query_as` over a [`Sql`].
pub(crate) fn query_as<DB, O>(
    sql: &Sql,
) -> sqlx::query::QueryAs<'_, DB, O, <DB as sqlx::Database>::Arguments<'_>>
where
    DB: sqlx::Database,
    O: for<'r> sqlx::FromRow<'r, DB::Row>,
{
    sqlx::query_as(dialect::<DB>(sql))
}

/// `sqlx::query_scalar` over a [`Sql`].
pub(crate) fn query_scalar<DB, O>(
    sql: &Sql,
) -> sqlx::query::QueryScalar<'_, DB, O, <DB as sqlx::Database>::Arguments<'_>>
where
    DB: sqlx::Database,
    (O,): for<'r> sqlx::FromRow<'r, DB::Row>,
{
    sqlx::query_scalar(dialect::<DB>(sql))
}

impl Sql {
    pub fn new(text: &str) -> Self {
        Self {
            text: text.to_owned(),
            lite: text.to_owned(),
            args: Vec::new(),
        }
    }

    pub fn push(&mut self, s: &str) -> &mut Self {
        self.text.push_str(s);
        self.lite.push_str(s);
        self
    }

    /// Prepends `s` (an `EXPLAIN`, say) to the statement.
    pub fn prefixed(&self, s: &str) -> Sql {
        Sql {
            text: format!("{s}{}", self.text),
            lite: format!("{s}{}", self.lite),
            args: self.args.clone(),
        }
    }

    pub fn bind(&mut self, a: Arg) -> &mut Self {
        self.args.push(a);
        self.text.push('$');
        self.text.push_str(&self.args.len().to_string());
        self.lite.push('?');
        self
    }

    pub fn text(&mut self, s: &str) -> &mut Self {
        self.bind(Arg::Text(s.to_owned()))
    }

    /// `(...), (...)`: the VALUES of a multi-row INSERT, one tuple per row.
    pub fn values(&mut self, rows: impl IntoIterator<Item = Vec<Arg>>) -> &mut Self {
        for (i, row) in rows.into_iter().enumerate() {
            self.push(if i == 0 { "(" } else { ", (" });
            for (j, a) in row.into_iter().enumerate() {
                if j > 0 {
                    self.push(", ");
                }
                self.bind(a);
            }
            self.push(")");
        }
        self
    }

    /// `col IN ($a, $b, ...)`; an empty list matches nothing.
    pub fn in_list<T: AsRef<str>>(&mut self, col: &str, items: &[T]) -> &mut Self {
        if items.is_empty() {
            return self.push("1 = 0");
        }
        self.push(col).push(" IN (");
        for (i, it) in items.iter().enumerate() {
            if i > 0 {
                self.push(", ");
            }
            self.text(it.as_ref());
        }
        self.push(")")
    }
}

/// Binds every argument of a [`Sql`] to a `sqlx::query` / `query_as` of either driver.
macro_rules! bind_all {
    ($q:expr, $args:expr) => {{
        let mut q = $q;
        for a in $args.iter() {
            q = match a {
                $crate::sql::Arg::Text(s) => q.bind(s.clone()),
                $crate::sql::Arg::Int(i) => q.bind(*i),
                $crate::sql::Arg::Bool(b) => q.bind(*b),
                $crate::sql::Arg::OptText(s) => q.bind(s.clone()),
            };
        }
        q
    }};
}
pub(crate) use bind_all;
