//! Tables of pruned versions (a churn version's scores, a CLV fit's values),
//! removed without holding the write lock for long.
//!
//! Dropping a table of a million rows reads every one of its pages; when they
//! are scattered and not cached that took 3-24 s, and a retrain held the
//! write lock all that time, while agents' claims wait 5 s at most. So a job
//! only *retires* a version's tables inside its transaction (renamed to
//! `retired_<name>`: instant, and the version reads as having no scores at
//! once), and after its commit [`clear`] reads each retired table through
//! as a reader (no lock that keeps writers out: the slow, cold reads happen
//! there), then drops it in a transaction of its own, which finds its pages
//! cached. A job killed while clearing leaves retired tables behind; the
//! next job's `clear` (or `doctor --fix`) finishes them.
//!
//! Those cold reads still made the job end seconds after its commit (2.9 s
//! of a 9.6 s retrain on the million-customer demo), so a job starts
//! [`warm`]ing the tables it will retire while it computes: a thread of its
//! own reads them through while the job reads and fits, and the clear after
//! the commit finds them cached.

use crate::error::Result;
use crate::jobs::Ctl;
use rusqlite::Connection;
use std::path::Path;

const PREFIX: &str = "retired_";

fn quoted(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Rename `table` (one of our own tables, if it exists) out of the way, to
/// be cleared after the commit. Call inside the job's transaction.
pub fn retire(conn: &Connection, table: &str) -> Result<()> {
    let exists: bool = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ?1)",
        [table],
        |r| r.get(0),
    )?;
    if !exists {
        return Ok(());
    }
    let to = format!("{PREFIX}{table}");
    // sql-format-ok: our own table names, quoted.
    conn.execute_batch(&format!(
        "DROP TABLE IF EXISTS {to}; ALTER TABLE {} RENAME TO {to};",
        quoted(table),
        to = quoted(&to)
    ))?;
    Ok(())
}

/// The retired tables waiting to be cleared.
pub fn pending(conn: &Connection) -> Result<Vec<String>> {
    let mut st = conn.prepare(
        "SELECT name FROM sqlite_schema WHERE type = 'table' AND name LIKE 'retired\\_%' ESCAPE '\\' ORDER BY name",
    )?;
    let rows = st.query_map([], |r| r.get(0))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Drop every retired table, each read first and dropped in a transaction
/// of its own. Returns how many were dropped. Call outside a transaction.
pub fn clear(conn: &Connection, ctl: Ctl) -> Result<usize> {
    let tables = pending(conn)?;
    for (k, t) in tables.iter().enumerate() {
        ctl.report("removing old scores", k as u64, tables.len() as u64);
        clear_one(conn, t, ctl)?;
    }
    Ok(tables.len())
}

fn clear_one(conn: &Connection, table: &str, ctl: Ctl) -> Result<()> {
    let t = quoted(table);
    // Counting the rows reads every page of the table, as a drop does, but
    // as a reader (no lock that keeps writers out): the drop that follows
    // finds them cached and holds the write lock for a fraction of a second.
    read(conn, table)?;
    ctl.check()?;
    super::immediate_on(conn, || {
        // sql-format-ok: our own table name, quoted.
        conn.execute_batch(&format!("DROP TABLE IF EXISTS {t}"))?;
        Ok(())
    })
}

/// The tables (`names` of each id) of the versions `ids_sql` picks with
/// `keep` bound, those that exist: what a prune will retire, read ahead of
/// it by [`warm`]. (Versions kept without their tables have none left.)
pub(super) fn tables_of(
    conn: &Connection,
    ids_sql: &str,
    keep: i64,
    names: impl Fn(i64) -> Vec<String>,
) -> Result<Vec<String>> {
    let mut st = conn.prepare(ids_sql)?;
    let ids = st.query_map([keep], |r| r.get::<_, i64>(0))?;
    let mut out = Vec::new();
    for id in ids {
        out.extend(names(id?));
    }
    super::existing_tables(conn, out)
}

/// Tables being read through on a thread of their own (see [`warm`]).
pub struct Warming(Option<std::thread::JoinHandle<()>>);

impl Warming {
    /// Wait until the tables are read (a no-op when nothing was warmed).
    pub fn wait(mut self) {
        if let Some(h) = self.0.take() {
            let _ = h.join();
        }
    }
}

/// Start reading through, on a thread with its own read-only connection,
/// the tables a job will clear after its commit: those already retired and
/// `soon` (the ones its prune will retire; see `store::models::soon_pruned`).
/// Best effort: a table that is gone or unreadable is skipped, and the job
/// does not depend on it. Nothing to read: no thread.
pub fn warm(conn: &Connection, soon: Vec<String>) -> Warming {
    let Ok(path) = super::history::path_of(conn) else {
        return Warming(None);
    };
    let mut tables = pending(conn).unwrap_or_default();
    tables.extend(soon);
    if tables.is_empty() {
        return Warming(None);
    }
    Warming(
        std::thread::Builder::new()
            .name("crmtop-warm".into())
            .spawn(move || read_through(&path, &tables))
            .ok(),
    )
}

/// Read every page of `table` (one of ours), as a reader: counting its rows
/// visits them all and takes no lock that keeps writers out.
fn read(conn: &Connection, table: &str) -> Result<()> {
    // sql-format-ok: our own table name, quoted.
    conn.query_row(
        &format!("SELECT count(*) FROM {}", quoted(table)),
        [],
        |_| Ok(()),
    )?;
    Ok(())
}

fn read_through(path: &Path, tables: &[String]) {
    let Ok(c) = super::history::read_conn(path) else {
        return;
    };
    for t in tables {
        let _ = read(&c, t);
    }
}
