//! One way to run a statement on either engine.
//!
//! The store's SQL is written once, in the dialect both engines accept
//! (numbered `?N` or bare `?` placeholders, `CAST(? AS TEXT)` where a
//! parameter's type cannot be inferred, `RETURNING`, `ON CONFLICT`), and
//! run through [`Sql`]: SQLite runs it as it is, PostgreSQL after its
//! placeholders become `$N` (see [`numbered`]). What only one engine can
//! do (FTS5, `INDEXED BY`, `FOR UPDATE SKIP LOCKED`) stays in that engine's
//! own functions.

use crate::error::{Error, Result};
use rusqlite::types::Value;

/// Which engine runs the statements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

/// A connection (or a transaction on one) that runs statements.
pub trait Sql {
    fn engine(&self) -> Engine;
    /// Run a statement; the rows it changed.
    fn exec(&self, sql: &str, params: &[Value]) -> Result<usize>;
    /// Run a query; every row it returns.
    fn rows(&self, sql: &str, params: &[Value]) -> Result<Vec<Row>>;
    /// The first row of a query, if any.
    fn row(&self, sql: &str, params: &[Value]) -> Result<Option<Row>> {
        Ok(self.rows(sql, params)?.into_iter().next())
    }
    /// The single number a query gives (`SELECT count(*) ...`), 0 for no row.
    fn count(&self, sql: &str, params: &[Value]) -> Result<i64> {
        Ok(self
            .row(sql, params)?
            .map(|r| r.i64(0))
            .transpose()?
            .unwrap_or(0))
    }
    /// Each row of a query in turn, without holding them all (where the
    /// engine streams; else read whole).
    fn each(
        &self,
        sql: &str,
        params: &[Value],
        f: &mut dyn FnMut(&Row) -> Result<()>,
    ) -> Result<()> {
        for r in self.rows(sql, params)? {
            f(&r)?;
        }
        Ok(())
    }
    /// The SQLite connection underneath, for what only SQLite runs.
    fn sqlite(&self) -> Option<&rusqlite::Connection> {
        None
    }
    /// The PostgreSQL connection underneath, for what only it runs.
    fn postgres(&self) -> Option<&super::pg::Pg> {
        None
    }
}

/// A connection that can run a write transaction (retried when the engine
/// says another writer got in the way).
pub trait Writer: Sql {
    fn write<T>(&mut self, f: &mut dyn FnMut(&dyn Sql) -> Result<T>) -> Result<T>;
}

/// One row of a result, its values as the engine gave them.
#[derive(Debug, Clone, PartialEq)]
pub struct Row(pub Vec<Value>);

impl Row {
    fn at(&self, i: usize) -> Result<&Value> {
        self.0
            .get(i)
            .ok_or_else(|| Error::Other(format!("query returned no column {i}")))
    }

    fn wrong(&self, i: usize, want: &str) -> Error {
        Error::Other(format!(
            "column {i}: expected {want}, found {:?}",
            self.0.get(i)
        ))
    }

    pub fn opt_i64(&self, i: usize) -> Result<Option<i64>> {
        match self.at(i)? {
            Value::Null => Ok(None),
            Value::Integer(v) => Ok(Some(*v)),
            _ => Err(self.wrong(i, "an integer")),
        }
    }

    pub fn i64(&self, i: usize) -> Result<i64> {
        self.opt_i64(i)?.ok_or_else(|| self.wrong(i, "an integer"))
    }

    pub fn opt_f64(&self, i: usize) -> Result<Option<f64>> {
        match self.at(i)? {
            Value::Null => Ok(None),
            Value::Real(v) => Ok(Some(*v)),
            Value::Integer(v) => Ok(Some(*v as f64)),
            _ => Err(self.wrong(i, "a number")),
        }
    }

    pub fn f64(&self, i: usize) -> Result<f64> {
        self.opt_f64(i)?.ok_or_else(|| self.wrong(i, "a number"))
    }

    pub fn opt_text(&self, i: usize) -> Result<Option<String>> {
        match self.at(i)? {
            Value::Null => Ok(None),
            Value::Text(v) => Ok(Some(v.clone())),
            _ => Err(self.wrong(i, "text")),
        }
    }

    pub fn text(&self, i: usize) -> Result<String> {
        self.opt_text(i)?.ok_or_else(|| self.wrong(i, "text"))
    }
}

/// A row's cells read where they lie: a fetched `Row`, or a row a server
/// streams (`pg::stream`).
pub trait Cells {
    fn opt_i64(&self, i: usize) -> Result<Option<i64>>;
    fn opt_f64(&self, i: usize) -> Result<Option<f64>>;
    /// A text cell, borrowed; `None` for a NULL or another type.
    fn text_at(&self, i: usize) -> Option<&str>;
    fn i64(&self, i: usize) -> Result<i64> {
        self.opt_i64(i)?
            .ok_or_else(|| Error::Other(format!("column {i}: expected an integer, found NULL")))
    }
}

impl Cells for Row {
    fn opt_i64(&self, i: usize) -> Result<Option<i64>> {
        Row::opt_i64(self, i)
    }
    fn opt_f64(&self, i: usize) -> Result<Option<f64>> {
        Row::opt_f64(self, i)
    }
    fn text_at(&self, i: usize) -> Option<&str> {
        match self.0.get(i) {
            Some(Value::Text(t)) => Some(t.as_str()),
            _ => None,
        }
    }
}

/// Shorthands for parameters.
pub fn int(v: i64) -> Value {
    Value::Integer(v)
}
pub fn text(v: &str) -> Value {
    Value::Text(v.to_string())
}
pub fn opt_text(v: Option<&str>) -> Value {
    v.map(text).unwrap_or(Value::Null)
}
pub fn opt_int(v: Option<i64>) -> Value {
    v.map(Value::Integer).unwrap_or(Value::Null)
}

/// The statement with PostgreSQL's placeholders: `?N` becomes `$N`, and a
/// bare `?` the next number after the largest seen so far (SQLite's own
/// rule), outside quoted strings and identifiers.
pub fn numbered(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 8);
    let mut max = 0u32;
    let mut quote: Option<char> = None;
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        if let Some(q) = quote {
            out.push(c);
            if c == q {
                quote = None;
            }
            continue;
        }
        match c {
            '\'' | '"' => {
                quote = Some(c);
                out.push(c);
            }
            '?' => {
                let mut digits = String::new();
                while let Some(d) = chars.peek().filter(|d| d.is_ascii_digit()) {
                    digits.push(*d);
                    chars.next();
                }
                let n = digits.parse::<u32>().unwrap_or(max + 1);
                max = max.max(n);
                out.push('$');
                out.push_str(&n.to_string());
            }
            _ => out.push(c),
        }
    }
    out
}

fn lite_rows(st: &mut rusqlite::CachedStatement<'_>, params: &[Value]) -> Result<Vec<Row>> {
    let n = st.column_count();
    let mut rows = st.query(rusqlite::params_from_iter(params))?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        let mut v = Vec::with_capacity(n);
        for i in 0..n {
            v.push(r.get::<_, Value>(i)?);
        }
        out.push(Row(v));
    }
    Ok(out)
}

impl Sql for rusqlite::Connection {
    fn engine(&self) -> Engine {
        Engine::Sqlite
    }

    fn exec(&self, sql: &str, params: &[Value]) -> Result<usize> {
        Ok(self
            .prepare_cached(sql)?
            .execute(rusqlite::params_from_iter(params))?)
    }

    fn rows(&self, sql: &str, params: &[Value]) -> Result<Vec<Row>> {
        lite_rows(&mut self.prepare_cached(sql)?, params)
    }

    fn each(
        &self,
        sql: &str,
        params: &[Value],
        f: &mut dyn FnMut(&Row) -> Result<()>,
    ) -> Result<()> {
        let mut st = self.prepare(sql)?;
        let n = st.column_count();
        let mut rows = st.query(rusqlite::params_from_iter(params))?;
        let mut row = Row(Vec::with_capacity(n));
        while let Some(r) = rows.next()? {
            row.0.clear();
            for i in 0..n {
                row.0.push(r.get::<_, Value>(i)?);
            }
            f(&row)?;
        }
        Ok(())
    }

    fn sqlite(&self) -> Option<&rusqlite::Connection> {
        Some(self)
    }
}

impl Sql for rusqlite::Transaction<'_> {
    fn engine(&self) -> Engine {
        Engine::Sqlite
    }

    fn exec(&self, sql: &str, params: &[Value]) -> Result<usize> {
        (**self).exec(sql, params)
    }

    fn rows(&self, sql: &str, params: &[Value]) -> Result<Vec<Row>> {
        (**self).rows(sql, params)
    }

    fn each(
        &self,
        sql: &str,
        params: &[Value],
        f: &mut dyn FnMut(&Row) -> Result<()>,
    ) -> Result<()> {
        (**self).each(sql, params, f)
    }

    fn sqlite(&self) -> Option<&rusqlite::Connection> {
        Some(self)
    }
}

impl Writer for rusqlite::Connection {
    /// `BEGIN IMMEDIATE` (one writer at a time), retried while busy.
    fn write<T>(&mut self, f: &mut dyn FnMut(&dyn Sql) -> Result<T>) -> Result<T> {
        super::workflow::immediate(self, |tx| f(tx))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_numbered_as_sqlite_numbers_them() {
        assert_eq!(
            numbered("SELECT a FROM t WHERE b = ?1 AND c = ?2 OR d = ?1"),
            "SELECT a FROM t WHERE b = $1 AND c = $2 OR d = $1"
        );
        assert_eq!(
            numbered("UPDATE t SET a = ? WHERE b = ? AND c = '?' AND \"?x\" = ?"),
            "UPDATE t SET a = $1 WHERE b = $2 AND c = '?' AND \"?x\" = $3"
        );
        assert_eq!(numbered("x = ?3 AND y = ?"), "x = $3 AND y = $4");
    }
}
