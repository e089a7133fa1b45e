//! Bulk writing: many rows per statement, and indexes and triggers set
//! aside during a load and built again once at its end.

use crate::error::Result;
use rusqlite::Connection;

/// `INSERT ... VALUES (?, ?), (?, ?), ...` for `rows` rows of `cols` columns.
/// Only placeholders are generated; values are always bound.
pub fn multi_row_insert_sql(head: &str, cols: usize, rows: usize) -> String {
    let one = format!("({})", vec!["?"; cols].join(", "));
    // sql-format-ok: placeholders only, from constants.
    format!("{head} VALUES {}", vec![one; rows].join(", "))
}

/// Buffers rows and inserts them `BATCH` at a time with one prepared
/// multi-row statement (bulk loads spend most of their time per statement).
pub struct BatchInsert<'c> {
    many: rusqlite::Statement<'c>,
    one: rusqlite::Statement<'c>,
    cols: usize,
    buf: Vec<rusqlite::types::Value>,
}

impl<'c> BatchInsert<'c> {
    pub const BATCH: usize = 64;

    pub fn new(conn: &'c Connection, head: &str, cols: usize) -> Result<Self> {
        Self::with_tail(conn, head, cols, "")
    }

    /// With a clause after the rows (`ON CONFLICT ... DO UPDATE ...`).
    pub fn with_tail(conn: &'c Connection, head: &str, cols: usize, tail: &str) -> Result<Self> {
        let sql = |rows| format!("{} {tail}", multi_row_insert_sql(head, cols, rows));
        Ok(BatchInsert {
            // sql-format-ok: placeholders and clauses of our own.
            many: conn.prepare(&sql(Self::BATCH))?,
            one: conn.prepare(&sql(1))?,
            cols,
            buf: Vec::with_capacity(cols * Self::BATCH),
        })
    }

    pub fn push(&mut self, row: impl IntoIterator<Item = rusqlite::types::Value>) -> Result<()> {
        self.buf.extend(row);
        if self.buf.len() >= self.cols * Self::BATCH {
            self.many
                .execute(rusqlite::params_from_iter(self.buf.drain(..)))?;
        }
        Ok(())
    }

    pub fn finish(mut self) -> Result<()> {
        let rest: Vec<_> = self.buf.drain(..).collect();
        for row in rest.chunks(self.cols) {
            self.one.execute(rusqlite::params_from_iter(row.iter()))?;
        }
        Ok(())
    }
}

/// Insert `rows` many per statement (as [`BatchInsert`]), each row's values
/// bound in place by `bind(statement, first parameter index, row)`: nothing
/// copied into owned values (a million scores: 1M allocations fewer).
pub fn insert_bound<T>(
    conn: &Connection,
    head: &str,
    cols: usize,
    rows: &[T],
    mut bind: impl FnMut(&mut rusqlite::Statement<'_>, usize, &T) -> rusqlite::Result<()>,
) -> Result<()> {
    const BATCH: usize = BatchInsert::BATCH;
    let mut many = conn.prepare(&multi_row_insert_sql(head, cols, BATCH))?;
    let mut chunks = rows.chunks_exact(BATCH);
    for chunk in &mut chunks {
        for (k, row) in chunk.iter().enumerate() {
            bind(&mut many, k * cols + 1, row)?;
        }
        many.raw_execute()?;
    }
    let mut one = conn.prepare(&multi_row_insert_sql(head, cols, 1))?;
    for row in chunks.remainder() {
        bind(&mut one, 1, row)?;
        one.raw_execute()?;
    }
    Ok(())
}

/// Indexes a bulk load keeps up to date as it goes rather than building
/// again after: partial ones that most rows never touch (the labelled
/// customers: nothing to write for order data, an append per labelled row).
const KEPT_LIVE: &[&str] = &["customers_labelled"];

/// Drop the secondary indexes of `tables` (optionally also the unique ones)
/// for a bulk load, returning what is needed to build them again. Call inside
/// the load's transaction: DDL is transactional, a rollback restores them.
/// The indexes of `KEPT_LIVE` stay.
pub fn drop_indexes(
    conn: &Connection,
    tables: &[&str],
    include_unique: bool,
) -> Result<Vec<(String, String)>> {
    drop_indexes_where(conn, tables, include_unique, |_| true)
}

/// `drop_indexes` for the indexes whose name passes `keep`.
pub fn drop_indexes_where(
    conn: &Connection,
    tables: &[&str],
    include_unique: bool,
    select: impl Fn(&str) -> bool,
) -> Result<Vec<(String, String)>> {
    let mut st = conn.prepare(
        "SELECT name, sql, tbl_name FROM sqlite_master
         WHERE type = 'index' AND sql IS NOT NULL AND (?1 OR sql NOT LIKE 'CREATE UNIQUE%')",
    )?;
    let all: Vec<(String, String, String)> = st
        .query_map([include_unique], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let mut dropped = Vec::new();
    for (name, sql, table) in all {
        if tables.contains(&table.as_str()) && select(&name) && !KEPT_LIVE.contains(&name.as_str())
        {
            // sql-format-ok: an index name read from our own schema, quoted.
            conn.execute_batch(&format!("DROP INDEX \"{}\"", name.replace('"', "\"\"")))?;
            dropped.push((name, sql));
        }
    }
    Ok(dropped)
}

/// Drop the triggers whose name starts with `prefix` for a bulk load,
/// returning their SQL to create them again. Inside the load's transaction.
pub fn drop_triggers(conn: &Connection, prefix: &str) -> Result<Vec<String>> {
    drop_triggers_of(conn, None, prefix)
}

/// `drop_triggers`, of the triggers on `table` only.
pub fn drop_table_triggers(conn: &Connection, table: &str, prefix: &str) -> Result<Vec<String>> {
    drop_triggers_of(conn, Some(table), prefix)
}

fn drop_triggers_of(conn: &Connection, table: Option<&str>, prefix: &str) -> Result<Vec<String>> {
    let mut st = conn.prepare(
        "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND substr(name, 1, length(?1)) = ?1
            AND (?2 IS NULL OR tbl_name = ?2)",
    )?;
    let all: Vec<(String, String)> = st
        .query_map(rusqlite::params![prefix, table], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?
        .collect::<rusqlite::Result<_>>()?;
    let mut out = Vec::new();
    for (name, sql) in all {
        // sql-format-ok: a trigger name read from our own schema, quoted.
        conn.execute_batch(&format!("DROP TRIGGER \"{}\"", name.replace('"', "\"\"")))?;
        out.push(sql);
    }
    Ok(out)
}

/// Create again the triggers `drop_triggers` dropped.
pub fn create_triggers(conn: &Connection, sqls: &[String]) -> Result<()> {
    for sql in sqls {
        conn.execute_batch(sql)?;
    }
    Ok(())
}

/// Build indexes dropped by `drop_indexes`, reporting each.
pub fn rebuild_indexes(
    conn: &Connection,
    indexes: &[(String, String)],
    ctl: crate::jobs::Ctl,
) -> Result<()> {
    if indexes.is_empty() {
        return Ok(());
    }
    // SQLite sorts in runs of at most the page cache's size, and only sorts
    // several runs in parallel (PRAGMA threads): a small cache lets both cores
    // work. Measured on 10M rows: 13.4 s with a 1 GB cache, 5.6 s with 16 MB.
    let cache: i64 = conn.query_row("PRAGMA cache_size", [], |r| r.get(0))?;
    conn.execute_batch("PRAGMA cache_size = -16384; PRAGMA threads = 2;")?;
    let result = build_indexes(conn, indexes, ctl);
    conn.pragma_update(None, "cache_size", cache)?;
    result
}

fn build_indexes(
    conn: &Connection,
    indexes: &[(String, String)],
    ctl: crate::jobs::Ctl,
) -> Result<()> {
    for (i, (name, sql)) in indexes.iter().enumerate() {
        ctl.check()?;
        ctl.report(
            &format!("building index {name}"),
            i as u64,
            indexes.len() as u64,
        );
        conn.execute_batch(sql)?;
    }
    Ok(())
}

/// Run `f` with a large page cache (big write transactions: a small cache
/// spills dirty pages into the WAL mid-transaction and reads them back from
/// it, which made a million-row write ten times slower). Pages are only
/// allocated as they are used.
pub fn with_big_cache<T>(
    conn: &mut Connection,
    f: impl FnOnce(&mut Connection) -> Result<T>,
) -> Result<T> {
    let before: i64 = conn.query_row("PRAGMA cache_size", [], |r| r.get(0))?;
    conn.execute_batch("PRAGMA cache_size = -524288")?;
    let r = f(conn);
    let _ = conn.pragma_update(None, "cache_size", before);
    r
}
