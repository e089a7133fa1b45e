//! The SQLite store: opening (pragmas, permissions, read-only), migrations, and
//! one module of queries per table family.

pub mod activity;
pub mod attributes;
pub mod audit;
pub mod backup;
mod bulk;
pub mod campaigns;
pub mod clusters;
pub mod clv;
pub mod clv_values;
pub mod customers;
pub mod dashboard;
mod db_error;
pub mod demo_load;
pub mod detail;
pub mod doctor;
pub mod drivers;
pub mod export;
pub mod feedback;
pub mod fold;
pub mod history;
pub mod jobs;
pub mod list;
pub mod load;
pub mod models;
mod open;
pub mod packs;
pub mod pg;
pub mod queue;
pub mod ranking;
pub mod retired;
pub(crate) mod row_writer;
pub mod salvage;
mod schema;
pub mod scores;
pub mod search;
pub mod segments;
pub mod sql;
pub mod survival;
mod varint;
pub mod workflow;

use crate::error::{Error, Result};
use rusqlite::{Connection, OptionalExtension};
use std::path::{Path, PathBuf};

pub use open::{
    check_regular, default_db_path, is_busy, open, open_raw, remove_readonly_leftovers, BUSY_WAIT,
};
pub use schema::{latest_version, migrate, user_version, MIGRATIONS};

/// How to open a database file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Read and write; the file is created (mode 0600) and migrated if needed.
    ReadWrite,
    /// Read-only at the SQLite level; the file must exist and be current.
    ReadOnly,
}

/// A crmtop database on either engine: a SQLite file, or a PostgreSQL
/// server (`--db postgres://...`).
// One per command, never in a collection: the size of a variant is moot.
#[allow(clippy::large_enum_variant)]
pub enum Db {
    File(Store),
    Server(pg::Pg),
}

impl Db {
    /// Open `target` (a file path or a PostgreSQL URL) in `mode`.
    pub fn open(target: &Path, mode: Mode) -> Result<Db> {
        match target.to_str().filter(|t| pg::is_url(t)) {
            Some(url) => Ok(Db::Server(pg::Pg::connect(url, mode == Mode::ReadOnly)?)),
            None => Ok(Db::File(open(target, mode)?)),
        }
    }

    pub fn read_only(&self) -> bool {
        match self {
            Db::File(s) => s.read_only,
            Db::Server(p) => p.read_only,
        }
    }

    fn sql(&self) -> &dyn sql::Sql {
        match self {
            Db::File(s) => &s.conn,
            Db::Server(p) => p,
        }
    }
}

impl sql::Sql for Db {
    fn engine(&self) -> sql::Engine {
        self.sql().engine()
    }
    fn exec(&self, q: &str, params: &[Value]) -> Result<usize> {
        self.sql().exec(q, params)
    }
    fn rows(&self, q: &str, params: &[Value]) -> Result<Vec<sql::Row>> {
        self.sql().rows(q, params)
    }
    // Streamed by the engine underneath (the default would read every row
    // into memory first: a million candidates' rows did, 3x slower).
    fn each(
        &self,
        q: &str,
        params: &[Value],
        f: &mut dyn FnMut(&sql::Row) -> Result<()>,
    ) -> Result<()> {
        self.sql().each(q, params, f)
    }
    fn sqlite(&self) -> Option<&Connection> {
        self.sql().sqlite()
    }
    fn postgres(&self) -> Option<&pg::Pg> {
        self.sql().postgres()
    }
}

impl sql::Writer for Db {
    fn write<T>(&mut self, f: &mut dyn FnMut(&dyn sql::Sql) -> Result<T>) -> Result<T> {
        match self {
            Db::File(s) => sql::Writer::write(&mut s.conn, f),
            Db::Server(p) => sql::Writer::write(p, f),
        }
    }
}

/// An open database with the mode it was opened in.
pub struct Store {
    pub conn: Connection,
    pub path: PathBuf,
    pub read_only: bool,
}

impl Store {
    /// Refuse a write in read-only mode with a message naming the action.
    pub fn require_writable(&self, what: &str) -> Result<()> {
        if self.read_only {
            Err(Error::ReadOnly(what.to_string()))
        } else {
            Ok(())
        }
    }
}

/// The connection the store works on (what callers outside the store name;
/// the PostgreSQL issue will make it an engine-neutral handle).
pub type Conn = rusqlite::Connection;
pub use bulk::{
    create_triggers, drop_indexes, drop_indexes_where, drop_table_triggers, drop_triggers,
    insert_bound, multi_row_insert_sql, rebuild_indexes, with_big_cache, BatchInsert,
};
pub use db_error::DbError;
/// A value bound to or read from a statement.
pub use rusqlite::types::Value;

/// A transaction of the store (committed by `commit`, rolled back when
/// dropped without it).
pub type Tx<'a> = rusqlite::Transaction<'a>;

/// Run `f` in one IMMEDIATE transaction on a shared connection (what
/// `immediate` does where no `&mut` is at hand): committed if `f`
/// succeeds, rolled back if not.
pub fn immediate_on<T>(conn: &Connection, f: impl FnOnce() -> Result<T>) -> Result<T> {
    conn.execute_batch("BEGIN IMMEDIATE")?;
    match f() {
        Ok(v) => {
            conn.execute_batch("COMMIT")?;
            Ok(v)
        }
        Err(e) => {
            let _ = conn.execute_batch("ROLLBACK");
            Err(e)
        }
    }
}

/// Begin an IMMEDIATE transaction (the write lock taken at once), for a job
/// whose writes span more than one closure (`immediate` is the usual way).
pub fn begin_immediate(conn: &mut Conn) -> Result<Tx<'_>> {
    Ok(conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?)
}

/// Run `f` in one IMMEDIATE transaction (the write lock taken at once, so a
/// writer queued behind another waits instead of failing on upgrade),
/// committed if `f` succeeds, rolled back if not.
pub fn immediate<T>(
    conn: &mut Connection,
    f: impl FnOnce(&rusqlite::Transaction) -> Result<T>,
) -> Result<T> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let v = f(&tx)?;
    tx.commit()?;
    Ok(v)
}

/// Run `f` with foreign-key checks off: for a bulk insert of rows whose
/// parents are known to exist (read from their table in this process, and
/// crmtop never deletes them). On a million campaign members the per-row
/// parent lookups took 1.8 s of 4.3. `doctor` still checks every key.
/// Call outside a transaction (the pragma is a no-op inside one).
pub fn without_foreign_keys<T>(
    conn: &mut Connection,
    f: impl FnOnce(&mut Connection) -> Result<T>,
) -> Result<T> {
    conn.pragma_update(None, "foreign_keys", "OFF")?;
    let r = f(conn);
    let on = conn.pragma_update(None, "foreign_keys", "ON");
    let v = r?;
    on?;
    Ok(v)
}

/// A value from the `meta` table.
/// The names among `names` that are tables of the file, in their order.
pub fn existing_tables(conn: &Connection, names: Vec<String>) -> Result<Vec<String>> {
    let mut st = conn.prepare_cached(
        "SELECT EXISTS (SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ?1)",
    )?;
    let mut out = Vec::with_capacity(names.len());
    for n in names {
        if st.query_row([&n], |r| r.get::<_, bool>(0))? {
            out.push(n);
        }
    }
    Ok(out)
}

pub fn meta_get(conn: &Connection, key: &str) -> Result<Option<String>> {
    Ok(conn
        .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
        .optional()?)
}

pub fn meta_set(conn: &Connection, key: &str, value: &str) -> Result<()> {
    conn.execute(
        "INSERT INTO meta(key, value) VALUES (?1, ?2)
         ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        [key, value],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_schema_file_is_embedded_in_order() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("schema");
        let mut files: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".sql"))
            .collect();
        files.sort();
        let embedded: Vec<&str> = MIGRATIONS.iter().map(|(n, _)| *n).collect();
        assert_eq!(files, embedded);
        for (i, name) in embedded.iter().enumerate() {
            assert!(name.starts_with(&format!("{:04}_", i + 1)), "{name}");
        }
    }
}

/// What changes when another process finishes a job (import, training, a
/// CLV fit) or activates a model or fit: a UI that sees it change reloads
/// its screens and headers. Cheap: a few indexed lookups.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DataStamp {
    pub jobs_finished: i64,
    pub active_model: i64,
    pub active_fit: i64,
}

pub fn data_stamp(conn: &Connection) -> Result<DataStamp> {
    Ok(conn.query_row(
        "SELECT (SELECT count(*) FROM jobs WHERE finished_at IS NOT NULL),
                (SELECT coalesce(max(id), 0) FROM models WHERE active = 1),
                (SELECT coalesce(max(id), 0) FROM clv_fits WHERE active = 1)",
        [],
        |r| {
            Ok(DataStamp {
                jobs_finished: r.get(0)?,
                active_model: r.get(1)?,
                active_fit: r.get(2)?,
            })
        },
    )?)
}

/// Whether orders (or feedback) have any row: an empty history needs no
/// per-customer accumulators.
pub fn has_orders(conn: &dyn sql::Sql) -> Result<bool> {
    Ok(conn.row("SELECT 1 FROM orders LIMIT 1", &[])?.is_some())
}

pub fn has_feedback(conn: &Connection) -> Result<bool> {
    Ok(conn.query_row("SELECT EXISTS (SELECT 1 FROM feedback)", [], |r| r.get(0))?)
}
