//! How a bulk load sets up the SQLite session it writes through (page
//! cache, sorter threads, foreign keys, checkpoints, the journal of a first
//! load), so that ingest names no engine.

use super::Conn;
use crate::error::Result;

/// Session settings for a load: a large page cache (pages are only
/// allocated when used) and a second sorter thread for the index builds.
/// Every customer key a load writes was just read or created by it in its
/// transaction, so SQLite's per-row foreign-key lookup (a random read into
/// the customers table, a fifth of a bulk load) is redundant; it cannot
/// change inside a transaction: off before, on again after. The checkpoint
/// runs once after the commit instead of during it.
pub fn begin(conn: &Conn) -> Result<()> {
    conn.execute_batch(
        "PRAGMA cache_size = -1048576; PRAGMA threads = 2;
         PRAGMA foreign_keys = OFF; PRAGMA wal_autocheckpoint = 0;",
    )?;
    Ok(())
}

/// Statement journals in memory (call before the load's transaction, after
/// `begin`). Each many-row insert keeps the pages it changes in a statement
/// journal, to undo it alone; a customers load changes a page of each index
/// it keeps up to date per statement, and those journals spilled to temp
/// files (1M customers: 0.9 s of writes). Not for the other kinds: with
/// temp storage in memory, SQLite sorts an index build on one thread, in
/// memory, and their loads build the indexes of millions of rows.
pub fn statement_journals_in_memory(conn: &Conn) -> Result<()> {
    conn.execute_batch("PRAGMA temp_store = MEMORY")?;
    Ok(())
}

/// The session's usual settings again (whatever the load's outcome).
pub fn end(conn: &Conn) {
    let _ = conn.execute_batch(
        "PRAGMA foreign_keys = ON; PRAGMA cache_size = -16384; PRAGMA threads = 0; PRAGMA wal_autocheckpoint = 1000;
         PRAGMA temp_store = DEFAULT;",
    );
}

/// A first load into an empty database writes through a rollback journal
/// instead of the WAL: its pages are written once, not to the WAL and again
/// at the checkpoint (10M orders: 5.7 s less). Pages beyond the old end of
/// the file need no journal, so the journal stays small; a kill leaves a
/// journal that restores the empty database at the next open. SQLite only
/// leaves WAL mode when no other connection has the file open, so an agent
/// already working on it keeps the WAL path. Returns whether it switched.
pub fn begin_first(conn: &Conn) -> Result<bool> {
    let empty: bool = conn.query_row(
        "SELECT NOT EXISTS (SELECT 1 FROM customers) AND NOT EXISTS (SELECT 1 FROM orders)
            AND NOT EXISTS (SELECT 1 FROM events) AND NOT EXISTS (SELECT 1 FROM feedback)",
        [],
        |r| r.get(0),
    )?;
    if !empty {
        return Ok(false);
    }
    let mode: String = match conn.query_row("PRAGMA journal_mode = TRUNCATE", [], |r| r.get(0)) {
        Ok(m) => m,
        // Busy: another connection holds the file; stay in WAL mode.
        Err(_) => return Ok(false),
    };
    Ok(mode.eq_ignore_ascii_case("truncate"))
}

/// Back to WAL mode after a first load (whatever its outcome).
pub fn end_first(conn: &Conn) {
    let _ = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get::<_, String>(0));
}

/// The next customer key (inside the load's write lock, nobody else adds
/// customers).
pub fn next_cid(conn: &Conn) -> Result<i64> {
    Ok(
        conn.query_row("SELECT COALESCE(max(cid), 0) + 1 FROM customers", [], |r| {
            r.get(0)
        })?,
    )
}

/// Copy the committed load from the WAL into the database (a no-op after
/// a first load, which has no WAL).
pub fn checkpoint(conn: &Conn) -> Result<()> {
    conn.execute_batch("PRAGMA wal_checkpoint(PASSIVE)")?;
    Ok(())
}
