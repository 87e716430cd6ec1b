//! The rows of a bulk write, inserted in each backend's fastest form. On SQLite: multi-row
//! `VALUES` statements of at most [`ROWS_PER_STATEMENT`] rows; a full-sized statement is kept
//! prepared in the connection's cache (every full chunk of every batch reuses it), a shorter
//! one is not (a statement of tens of thousands of values per distinct length would fill the
//! cache). On PostgreSQL: one `INSERT … SELECT FROM UNNEST(...)` of one array per column,
//! whatever the number of rows: a single statement shape per table, prepared once, no bound on
//! the values, and the rows decoded by the server as arrays rather than parsed as SQL text.
//! A leaf module, as [`crate::stmt`] is.

use crate::sql::{bind_all, Arg, Sql};
use crate::stmt::Tx;
use crate::{err, R};

/// Rows per statement on SQLite: 1,000 user rows of 30 columns stay under SQLite's 32,766
/// bound values.
pub(crate) const ROWS_PER_STATEMENT: usize = 1000;

/// The rows of a bulk insert, made as they are taken. Boxed: a closure's iterator held across
/// the statements' awaits would otherwise defeat the `Send` proof of the store's futures.
pub(crate) type Rows<'a> = Box<dyn Iterator<Item = R<Vec<Arg>>> + Send + 'a>;

/// One column of the rows, as PostgreSQL takes it: an array of its values.
enum Column {
    Text(Vec<Option<String>>),
    Int(Vec<i64>),
    Bool(Vec<bool>),
}

impl Column {
    fn of(first: &Arg, rows: usize) -> Self {
        match first {
            Arg::Text(_) | Arg::OptText(_) => Column::Text(Vec::with_capacity(rows)),
            Arg::Int(_) => Column::Int(Vec::with_capacity(rows)),
            Arg::Bool(_) => Column::Bool(Vec::with_capacity(rows)),
        }
    }

    fn cast(&self) -> &'static str {
        match self {
            Column::Text(_) => "text[]",
            Column::Int(_) => "int8[]",
            Column::Bool(_) => "bool[]",
        }
    }

    fn push(&mut self, a: Arg) -> R<()> {
        match (self, a) {
            (Column::Text(v), Arg::Text(s)) => v.push(Some(s)),
            (Column::Text(v), Arg::OptText(s)) => v.push(s),
            (Column::Int(v), Arg::Int(i)) => v.push(i),
            (Column::Bool(v), Arg::Bool(b)) => v.push(b),
            _ => {
                return Err(roster_domain::store::StoreError::Other(anyhow::anyhow!(
                    "a bulk insert's column mixes types"
                )))
            }
        }
        Ok(())
    }
}

/// The rows turned into columns as they come, and the `UNNEST(...)` that reads them back as
/// rows.
fn columns(rows: impl Iterator<Item = R<Vec<Arg>>>) -> R<(String, Vec<Column>)> {
    let (n, _) = rows.size_hint();
    let mut cols: Option<Vec<Column>> = None;
    for row in rows {
        let row = row?;
        let cols = cols.get_or_insert_with(|| row.iter().map(|a| Column::of(a, n)).collect());
        if row.len() != cols.len() {
            return Err(roster_domain::store::StoreError::Other(anyhow::anyhow!(
                "a bulk insert's rows differ in length"
            )));
        }
        for (c, a) in cols.iter_mut().zip(row) {
            c.push(a)?;
        }
    }
    let cols = cols.unwrap_or_default();
    let list: Vec<String> = cols
        .iter()
        .enumerate()
        .map(|(i, c)| format!("${}::{}", i + 1, c.cast()))
        .collect();
    Ok((format!("SELECT * FROM UNNEST({})", list.join(", ")), cols))
}

/// Binds each column's array to a PostgreSQL query.
macro_rules! bind_columns {
    ($q:expr, $cols:expr) => {{
        let mut q = $q;
        for c in $cols {
            q = match c {
                Column::Text(v) => q.bind(v),
                Column::Int(v) => q.bind(v),
                Column::Bool(v) => q.bind(v),
            };
        }
        q
    }};
}

/// `head` (`INSERT INTO t (a, b, ...)`) of `rows`, then `tail` (an `ON CONFLICT` clause). With
/// `returning` (`RETURNING id`), the values it returns, of every statement. The rows are
/// taken as they are made: on SQLite a statement's worth at a time, on PostgreSQL straight
/// into the columns, so a batch's values are never all held at once as well as its rows.
pub(crate) async fn insert_rows(
    t: &mut Tx<'_>,
    head: &str,
    rows: Rows<'_>,
    tail: &str,
    returning: Option<&str>,
) -> R<Vec<String>> {
    let mut out = Vec::new();
    let mut rows = rows.peekable();
    if rows.peek().is_none() {
        return Ok(out);
    }
    match t {
        Tx::Postgres(c) => {
            let (select, cols) = columns(rows)?;
            let mut text = format!("{head} {select} {tail}");
            match returning {
                Some(r) => {
                    text.push(' ');
                    text.push_str(r);
                    out = bind_columns!(sqlx::query_scalar::<_, String>(&text), cols)
                        .fetch_all(&mut **c)
                        .await
                        .map_err(err)?;
                }
                None => {
                    bind_columns!(sqlx::query(&text), cols)
                        .execute(&mut **c)
                        .await
                        .map_err(err)?;
                }
            }
        }
        Tx::Sqlite(c) => loop {
            let chunk = rows
                .by_ref()
                .take(ROWS_PER_STATEMENT)
                .collect::<R<Vec<_>>>()?;
            if chunk.is_empty() {
                break;
            }
            let full = chunk.len() == ROWS_PER_STATEMENT;
            let mut sql = Sql::new(head);
            sql.push(" VALUES ").values(chunk).push(" ").push(tail);
            match returning {
                Some(r) => {
                    sql.push(" ").push(r);
                    let q = crate::sql::query_scalar::<sqlx::Sqlite, String>(&sql);
                    out.extend(
                        bind_all!(q, sql.args)
                            .persistent(full)
                            .fetch_all(&mut **c)
                            .await
                            .map_err(err)?,
                    );
                }
                None => {
                    bind_all!(crate::sql::query::<sqlx::Sqlite>(&sql), sql.args)
                        .persistent(full)
                        .execute(&mut **c)
                        .await
                        .map_err(err)?;
                }
            }
        },
    }
    Ok(out)
}

/// `head` then `col IN (...)` over `items`, the pairs it selects: on SQLite in statements of at
/// most [`ROWS_PER_STATEMENT`] items, on PostgreSQL in one, `col = ANY($1)`.
pub(crate) async fn select_in(
    t: &mut Tx<'_>,
    head: &str,
    col: &str,
    items: &[String],
) -> R<Vec<(String, String)>> {
    match t {
        Tx::Postgres(c) => sqlx::query_as(&format!("{head}{col} = ANY($1)"))
            .bind(items)
            .fetch_all(&mut **c)
            .await
            .map_err(err),
        Tx::Sqlite(c) => {
            let mut out = Vec::new();
            for chunk in items.chunks(ROWS_PER_STATEMENT) {
                let mut sql = Sql::new(head);
                sql.in_list(col, chunk);
                let q = crate::sql::query_as::<sqlx::Sqlite, (String, String)>(&sql);
                out.extend(
                    bind_all!(q, sql.args)
                        .persistent(chunk.len() == ROWS_PER_STATEMENT)
                        .fetch_all(&mut **c)
                        .await
                        .map_err(err)?,
                );
            }
            Ok(out)
        }
    }
}
