//! Customer attributes (the extra columns of a customers file), stored by
//! column: one row per customer in `customer_attrs`, one column per
//! attribute, added with `ALTER TABLE` the first time a file brings it
//! (cheap in SQLite and PostgreSQL: no rewrite). `attribute_columns` maps
//! each attribute's name to its column, so a name from a file never becomes
//! SQL text: columns are called `a1`, `a2`, ... after their position.
//!
//! The columns have no declared type, so each value keeps the type it was
//! written with: a number (REAL) or a text. Reading twenty numeric
//! attributes of a million customers is one scan of one table, and
//! importing a wide customers file is one row write per customer (it was a
//! row per attribute and customer).

use super::sql::{Engine, Row, Sql};
use crate::Result;
use rusqlite::types::{Value, ValueRef};
use rusqlite::{Connection, OptionalExtension};

/// An attribute: its name and its column (`a<pos>`).
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    pub pos: i64,
    pub name: String,
}

impl Column {
    /// The SQL column name: from our own integer, never from the data.
    pub fn sql(&self) -> String {
        format!("a{}", self.pos)
    }
}

/// Every attribute, by name (in bytes, whatever the server's collation),
/// on either engine.
pub fn columns(conn: &dyn Sql) -> Result<Vec<Column>> {
    let mut cols = conn
        .rows("SELECT pos, name FROM attribute_columns", &[])?
        .iter()
        .map(|r| {
            Ok(Column {
                pos: r.i64(0)?,
                name: r.text(1)?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    cols.sort_by(|a, b| a.name.as_bytes().cmp(b.name.as_bytes()));
    Ok(cols)
}

/// Attribute names, sorted.
pub fn names(conn: &dyn Sql) -> Result<Vec<String>> {
    Ok(columns(conn)?.into_iter().map(|c| c.name).collect())
}

impl Column {
    /// The columns holding this attribute's value on `engine`, after the
    /// table alias `t`: `t.a<pos>` in a file (untyped: the value keeps its
    /// type), `t.n<pos>, t.t<pos>` on a server (a number or a text).
    pub fn select(&self, engine: Engine, t: &str) -> String {
        match engine {
            Engine::Sqlite => format!("{t}.a{}", self.pos),
            Engine::Postgres => format!("{t}.n{p}, {t}.t{p}", p = self.pos),
        }
    }
}

/// How many result columns an attribute takes on `engine`.
pub fn width(engine: Engine) -> usize {
    match engine {
        Engine::Sqlite => 1,
        Engine::Postgres => 2,
    }
}

/// Attribute `j`'s value in a row whose attribute columns start at `at`
/// (selected with [`Column::select`]).
pub fn cell(row: &Row, engine: Engine, at: usize, j: usize) -> Value {
    let get = |i: usize| row.0.get(i).cloned().unwrap_or(Value::Null);
    match engine {
        Engine::Sqlite => get(at + j),
        Engine::Postgres => match get(at + 2 * j) {
            Value::Null => get(at + 2 * j + 1),
            n => n,
        },
    }
}

/// The columns of `names` (in that order), adding those that do not exist
/// yet. Call inside the import's transaction (DDL is transactional).
pub fn ensure(conn: &Connection, names: &[String]) -> Result<Vec<Column>> {
    let mut out = Vec::with_capacity(names.len());
    for name in names {
        let pos: Option<i64> = conn
            .query_row(
                "SELECT pos FROM attribute_columns WHERE name = ?1",
                [name],
                |r| r.get(0),
            )
            .optional()?;
        let pos = match pos {
            Some(p) => p,
            None => {
                conn.execute(
                    "INSERT INTO attribute_columns(pos, name)
                     VALUES ((SELECT coalesce(max(pos), 0) + 1 FROM attribute_columns), ?1)",
                    [name],
                )?;
                let pos = conn.last_insert_rowid();
                // sql-format-ok: the column is named after our own integer.
                conn.execute_batch(&format!("ALTER TABLE customer_attrs ADD COLUMN a{pos}"))?;
                pos
            }
        };
        out.push(Column {
            pos,
            name: name.clone(),
        });
    }
    Ok(out)
}

/// Register attribute `name` at column `pos` (a copy from a server keeps
/// the server's positions). Inside the copy's transaction.
pub fn register_at(conn: &Connection, pos: i64, name: &str) -> Result<()> {
    conn.execute(
        "INSERT INTO attribute_columns(pos, name) VALUES (?1, ?2)",
        rusqlite::params![pos, name],
    )?;
    // sql-format-ok: the column is named after our own integer.
    conn.execute_batch(&format!("ALTER TABLE customer_attrs ADD COLUMN a{pos}"))?;
    Ok(())
}

/// A value as written: a number, or else a text.
pub fn value(num: Option<f64>, txt: Option<&str>) -> Value {
    match (num, txt) {
        (Some(x), _) => Value::Real(x),
        (None, Some(t)) => Value::Text(t.to_string()),
        _ => Value::Null,
    }
}

/// Write some attributes of one customer (others keep their values).
/// Returns whether anything changed (a new row or a different value).
pub fn upsert(conn: &Connection, cid: i64, values: &[(&Column, Value)]) -> Result<bool> {
    if values.is_empty() {
        return Ok(false);
    }
    // The statement depends only on which columns are written, which is
    // the same for every row of a file: built once per thread and shape.
    thread_local! {
        static SQL: std::cell::RefCell<(Vec<i64>, String)> = const {
            std::cell::RefCell::new((Vec::new(), String::new()))
        };
    }
    let shape: Vec<i64> = values.iter().map(|(c, _)| c.pos).collect();
    let sql = SQL.with(|cell| {
        let mut cached = cell.borrow_mut();
        if cached.0 != shape || cached.1.is_empty() {
            let cols: Vec<String> = values.iter().map(|(c, _)| c.sql()).collect();
            let marks: Vec<String> = (2..=cols.len() + 1).map(|i| format!("?{i}")).collect();
            let set: Vec<String> = cols.iter().map(|c| format!("{c} = excluded.{c}")).collect();
            let differ: Vec<String> = cols
                .iter()
                .map(|c| format!("{c} IS NOT excluded.{c}"))
                .collect();
            // sql-format-ok: columns named after our own integers, values bound.
            let sql = format!(
                "INSERT INTO customer_attrs(cid, {}) VALUES (?1, {}) ON CONFLICT(cid) DO UPDATE SET {} WHERE {}",
                cols.join(", "),
                marks.join(", "),
                set.join(", "),
                differ.join(" OR ")
            );
            *cached = (shape, sql);
        }
        cached.1.clone()
    });
    let mut st = conn.prepare_cached(&sql)?;
    let mut args: Vec<&dyn rusqlite::ToSql> = Vec::with_capacity(values.len() + 1);
    args.push(&cid);
    for (_, v) in values {
        args.push(v);
    }
    Ok(st.execute(args.as_slice())? > 0)
}

/// The insert of `rows` customers' values of `cols` (each row: the key,
/// then a value per column), where an empty value (NULL) never erases a
/// stored one.
pub fn insert_many_sql(cols: &[Column], rows: usize) -> String {
    let names: Vec<String> = cols.iter().map(Column::sql).collect();
    let set: Vec<String> = names
        .iter()
        .map(|c| format!("{c} = COALESCE(excluded.{c}, {c})"))
        .collect();
    // sql-format-ok: columns named after our own integers, values bound.
    format!(
        "{} ON CONFLICT(cid) DO UPDATE SET {}",
        super::multi_row_insert_sql(
            // sql-format-ok: columns named after our own integers.
            &format!("INSERT INTO customer_attrs(cid, {})", names.join(", ")),
            names.len() + 1,
            rows
        ),
        set.join(", ")
    )
}

/// `SELECT a.cid, <the columns of `cols` on `engine`> FROM customer_attrs a`,
/// in key order when `ordered`.
pub fn select_all(cols: &[Column], engine: Engine, ordered: bool) -> String {
    let list: String = cols
        .iter()
        .map(|c| format!(", {}", c.select(engine, "a")))
        .collect();
    // sql-format-ok: columns named after our own integers.
    format!(
        "SELECT a.cid{list} FROM customer_attrs a{}",
        if ordered { " ORDER BY a.cid" } else { "" }
    )
}

/// Attribute `name`'s column, if it exists.
fn column(conn: &dyn Sql, name: &str) -> Result<Option<Column>> {
    Ok(conn
        .row(
            "SELECT pos FROM attribute_columns WHERE name = ?1",
            &[Value::Text(name.to_string())],
        )?
        .map(|r| r.i64(0))
        .transpose()?
        .map(|pos| Column {
            pos,
            name: name.to_string(),
        }))
}

/// Every present attribute value: `each(cid, j, value)` with `j` the
/// position in the returned list of columns (sorted by name); missing
/// values (NULL) are skipped. With `cids` (first, last), only those
/// customers' (a range of the table's key: a part of the table to read
/// beside the others).
pub fn scan(
    conn: &Connection,
    cids: Option<(i64, i64)>,
    mut each: impl FnMut(i64, usize, ValueRef) -> Result<()>,
) -> Result<Vec<Column>> {
    let cols = columns(conn)?;
    let (lo, hi) = cids.unwrap_or((i64::MIN, i64::MAX));
    // sql-format-ok: columns named after our own integers; the range is bound.
    let sql = format!(
        "{} WHERE a.cid >= ?1 AND a.cid <= ?2",
        select_all(&cols, Engine::Sqlite, false)
    );
    let mut st = conn.prepare(&sql)?;
    let mut rows = st.query([lo, hi])?;
    while let Some(r) = rows.next()? {
        let cid: i64 = r.get(0)?;
        for j in 0..cols.len() {
            let v = r.get_ref(j + 1)?;
            if v != ValueRef::Null {
                each(cid, j, v)?;
            }
        }
    }
    Ok(cols)
}

/// One customer's attributes that have a value, sorted by name.
pub fn of_customer(conn: &dyn Sql, cid: i64) -> Result<Vec<(String, Value)>> {
    let cols = columns(conn)?;
    if cols.is_empty() {
        return Ok(Vec::new());
    }
    let engine = conn.engine();
    let list: Vec<String> = cols.iter().map(|c| c.select(engine, "a")).collect();
    // sql-format-ok: columns named after our own integers; the customer is bound.
    let sql = format!(
        "SELECT {} FROM customer_attrs a WHERE a.cid = ?1",
        list.join(", ")
    );
    let Some(row) = conn.row(&sql, &[Value::Integer(cid)])? else {
        return Ok(Vec::new());
    };
    Ok(cols
        .into_iter()
        .enumerate()
        .map(|(j, c)| (c.name, cell(&row, engine, 0, j)))
        .filter(|(_, v)| *v != Value::Null)
        .collect())
}

/// The customers with a numeric value of attribute `name`.
pub fn numeric(conn: &dyn Sql, name: &str) -> Result<Vec<(i64, f64)>> {
    let Some(col) = column(conn, name)? else {
        return Ok(Vec::new());
    };
    let pos = col.pos;
    let sql = match conn.engine() {
        // sql-format-ok: the column is named after our own integer.
        Engine::Sqlite => format!(
            "SELECT cid, a{pos} FROM customer_attrs WHERE typeof(a{pos}) IN ('real', 'integer')"
        ),
        // sql-format-ok: the column is named after our own integer.
        Engine::Postgres => {
            format!("SELECT cid, n{pos} FROM customer_attrs WHERE n{pos} IS NOT NULL")
        }
    };
    let mut out = Vec::new();
    conn.each(&sql, &[], &mut |r| {
        out.push((r.i64(0)?, r.f64(1)?));
        Ok(())
    })?;
    Ok(out)
}

/// Schema 6: move the one-row-per-attribute table into columns, in one
/// pass, then drop it (inside the migration's transaction).
pub fn migrate_from_rows(conn: &Connection) -> Result<()> {
    let names: Vec<String> = {
        let mut st = conn.prepare("SELECT DISTINCT name FROM customer_attributes ORDER BY name")?;
        let v = st
            .query_map([], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        v
    };
    let cols = ensure(conn, &names)?;
    if !cols.is_empty() {
        // One value per (cid, name) at most: max() picks it, whatever its type.
        let picks: Vec<String> = cols
            .iter()
            .enumerate()
            .map(|(i, _)| {
                format!(
                    "max(CASE WHEN name = ?{} THEN coalesce(num, txt) END)",
                    i + 1
                )
            })
            .collect();
        let list: Vec<String> = cols.iter().map(Column::sql).collect();
        // sql-format-ok: columns named after our own integers, names bound.
        let sql = format!(
            "INSERT INTO customer_attrs(cid, {}) SELECT cid, {} FROM customer_attributes GROUP BY cid",
            list.join(", "),
            picks.join(", ")
        );
        let args: Vec<&dyn rusqlite::ToSql> =
            names.iter().map(|n| n as &dyn rusqlite::ToSql).collect();
        conn.execute(&sql, args.as_slice())?;
    }
    conn.execute_batch("DROP TABLE customer_attributes")?;
    Ok(())
}

/// Rows of attributes whose customer does not exist (doctor).
pub fn orphans(conn: &Connection) -> Result<i64> {
    Ok(conn.query_row(
        "SELECT count(*) FROM customer_attrs a WHERE NOT EXISTS (SELECT 1 FROM customers c WHERE c.cid = a.cid)",
        [],
        |r| r.get(0),
    )?)
}

/// Register the attributes and give one customer values (demo, tests).
pub fn set(conn: &Connection, cid: i64, values: &[(&str, Value)]) -> Result<()> {
    let names: Vec<String> = values.iter().map(|(n, _)| n.to_string()).collect();
    let cols = ensure(conn, &names)?;
    let pairs: Vec<(&Column, Value)> = cols
        .iter()
        .zip(values.iter().map(|(_, v)| v.clone()))
        .collect();
    upsert(conn, cid, &pairs)?;
    Ok(())
}

/// Every value of attribute `name`, by customer (None: no such attribute).
pub fn values(conn: &dyn Sql, name: &str) -> Result<Option<Vec<(i64, Value)>>> {
    let Some(col) = column(conn, name)? else {
        return Ok(None);
    };
    let engine = conn.engine();
    // sql-format-ok: the column is named after our own integer.
    let sql = format!(
        "SELECT a.cid, {} FROM customer_attrs a",
        col.select(engine, "a")
    );
    let mut out = Vec::new();
    conn.each(&sql, &[], &mut |r| {
        let v = cell(r, engine, 1, 0);
        if v != Value::Null {
            out.push((r.i64(0)?, v));
        }
        Ok(())
    })?;
    Ok(Some(out))
}
