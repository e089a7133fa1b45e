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
pub mod export;
pub mod feedback;
pub mod history;
pub mod jobs;
pub mod list;
pub mod load;
pub mod models;
pub mod pg;
pub mod queue;
pub mod ranking;
pub(crate) mod row_writer;
pub mod salvage;
pub mod scores;
pub mod search;
pub mod segments;
pub mod sql;
pub mod survival;
pub mod workflow;

use crate::error::{Error, Result};
use rusqlite::{Connection, OpenFlags, OptionalExtension};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Numbered migrations, embedded at build time and applied in order.
/// `PRAGMA user_version` records how many have been applied.
pub const MIGRATIONS: &[(&str, &str)] = &[
    ("0001_init.sql", include_str!("../../schema/0001_init.sql")),
    (
        "0002_queue_order.sql",
        include_str!("../../schema/0002_queue_order.sql"),
    ),
    (
        "0003_jobs_died.sql",
        include_str!("../../schema/0003_jobs_died.sql"),
    ),
    (
        "0004_feedback_search.sql",
        include_str!("../../schema/0004_feedback_search.sql"),
    ),
    (
        "0005_sla_clock.sql",
        include_str!("../../schema/0005_sla_clock.sql"),
    ),
    (
        "0006_attribute_columns.sql",
        include_str!("../../schema/0006_attribute_columns.sql"),
    ),
    (
        "0007_cancelled_at.sql",
        include_str!("../../schema/0007_cancelled_at.sql"),
    ),
    (
        "0008_clusters.sql",
        include_str!("../../schema/0008_clusters.sql"),
    ),
    (
        "0009_campaigns.sql",
        include_str!("../../schema/0009_campaigns.sql"),
    ),
    (
        "0010_campaign_assignment.sql",
        include_str!("../../schema/0010_campaign_assignment.sql"),
    ),
    (
        "0011_churn_scores_per_version.sql",
        include_str!("../../schema/0011_churn_scores_per_version.sql"),
    ),
    (
        "0012_activity_by_day.sql",
        include_str!("../../schema/0012_activity_by_day.sql"),
    ),
    (
        "0013_clv_values_per_fit.sql",
        include_str!("../../schema/0013_clv_values_per_fit.sql"),
    ),
];

/// The second step of a migration, in the same transaction, where SQL alone
/// cannot do it.
type PostStep = fn(&Connection) -> Result<()>;
const POST_STEPS: &[(&str, PostStep)] = &[
    ("0006_attribute_columns.sql", attributes::migrate_from_rows),
    ("0010_campaign_assignment.sql", campaigns::migrate_members),
    (
        "0011_churn_scores_per_version.sql",
        scores::migrate_from_shared,
    ),
    ("0012_activity_by_day.sql", activity::rebuild),
    (
        "0013_clv_values_per_fit.sql",
        clv_values::migrate_from_shared,
    ),
];

/// The schema version this build writes.
pub fn latest_version() -> i64 {
    MIGRATIONS.len() as i64
}

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

/// Default database path: `$CRMTOP_DB`, else `./crmtop.db`.
pub fn default_db_path() -> PathBuf {
    std::env::var_os("CRMTOP_DB")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("crmtop.db"))
}

/// An SQLite connection to `path` as it is: no migration, no pragmas, no
/// crmtop checks (backup, doctor and salvage read files that may be old,
/// damaged or busy), with the busy timeout.
pub fn open_raw(path: &Path, writable: bool) -> Result<Connection> {
    let flags = if writable {
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX
    } else {
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX
    };
    let conn = Connection::open_with_flags(path, flags).map_err(|e| Error::File {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    conn.busy_timeout(BUSY_WAIT)?;
    Ok(conn)
}

/// Refuse a database path that is not a regular file (a device, a FIFO,
/// a directory): SQLite would hang on a FIFO, and `doctor --fix` must
/// never chmod /dev/null.
pub fn check_regular(path: &Path) -> Result<()> {
    if path.to_str().is_some_and(pg::is_url) {
        return Err(Error::BadInput(
            "a PostgreSQL URL where a database file is needed".into(),
        ));
    }
    match std::fs::metadata(path) {
        Ok(m) if !m.is_file() => Err(Error::File {
            path: path.to_path_buf(),
            message: if m.is_dir() {
                "is a directory, not a database file".into()
            } else {
                "is a device, FIFO or socket, not a database file".into()
            },
        }),
        _ => Ok(()),
    }
}

/// Open (creating and migrating if needed) the database at `path`.
pub fn open(path: &Path, mode: Mode) -> Result<Store> {
    check_regular(path)?;
    let conn = match mode {
        Mode::ReadWrite => {
            create_private(path)?;
            let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX;
            Connection::open_with_flags(path, flags).map_err(|e| open_error(path, e))?
        }
        Mode::ReadOnly => {
            if !path.exists() {
                return Err(Error::File {
                    path: path.to_path_buf(),
                    message: "no such database (read-only mode does not create one)".into(),
                });
            }
            let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
            note_side_files(path);
            Connection::open_with_flags(path, flags).map_err(|e| open_error(path, e))?
        }
    };
    conn.busy_timeout(BUSY_WAIT)?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    search::register_functions(&conn)?;
    let store = Store {
        conn,
        path: path.to_path_buf(),
        read_only: mode == Mode::ReadOnly,
    };
    check_is_database(&store)?;
    match mode {
        Mode::ReadWrite => {
            let jm = switch_to_wal(&store.conn, path)?;
            if !jm.eq_ignore_ascii_case("wal") {
                return Err(Error::Other(format!(
                    "{}: could not switch to WAL journal mode (got {jm})",
                    path.display()
                )));
            }
            store.conn.pragma_update(None, "synchronous", "NORMAL")?;
            migrate(&store.conn, path)?;
            // Jobs whose process died (kill -9, power loss) become history.
            jobs::reap_dead(&store.conn)?;
        }
        Mode::ReadOnly => {
            let v = user_version(&store.conn)?;
            check_not_newer(v, path)?;
            if v == 0 {
                return Err(Error::File {
                    path: path.to_path_buf(),
                    message: "is empty: not a crmtop database yet (create one with `crmtop demo` or `crmtop import`)".into(),
                });
            }
            if v < latest_version() {
                return Err(Error::Schema(format!(
                    "{}: schema version {v} needs upgrading to {}; reading commands do not change the file: run `crmtop doctor --fix` (or any command that writes) once, without --read-only",
                    path.display(),
                    latest_version()
                )));
            }
        }
    }
    Ok(store)
}

/// Databases this process opened read-only while they had no `-wal`: the
/// files SQLite made for the session are removed at exit if nobody else
/// uses them (see [`remove_readonly_leftovers`]).
static READ_ONLY_OPENED: std::sync::Mutex<Vec<PathBuf>> = std::sync::Mutex::new(Vec::new());

fn side_file(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_os_string();
    name.push(suffix);
    PathBuf::from(name)
}

fn note_side_files(path: &Path) {
    if !side_file(path, "-wal").exists() {
        if let Ok(mut v) = READ_ONLY_OPENED.lock() {
            if !v.iter().any(|p| p == path) {
                v.push(path.to_path_buf());
            }
        }
    }
}

/// A read-only session on a WAL database makes a `-shm` (and an empty
/// `-wal`) it cannot remove through SQLite, since it may not checkpoint.
/// Left behind, owned by whoever read the file, they can block the next
/// writer. Called when the process is done with its databases: for each
/// file opened read-only that had no `-wal` before, if no other process
/// holds the shared memory (SQLite keeps a read lock on its byte 128 for
/// as long as a connection is open) and the `-wal` is empty, both are
/// removed under an exclusive lock.
pub fn remove_readonly_leftovers() {
    let paths = match READ_ONLY_OPENED.lock() {
        Ok(mut v) => std::mem::take(&mut *v),
        Err(_) => return,
    };
    for path in paths {
        let shm = side_file(&path, "-shm");
        let wal = side_file(&path, "-wal");
        let Ok(f) = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(&shm)
        else {
            continue;
        };
        use std::os::unix::io::AsRawFd;
        let mut lock = libc::flock {
            l_type: libc::F_WRLCK as libc::c_short,
            l_whence: libc::SEEK_SET as libc::c_short,
            l_start: 128,
            l_len: 1,
            l_pid: 0,
        };
        // SAFETY: a non-blocking fcntl lock on a descriptor we own.
        let locked = unsafe { libc::fcntl(f.as_raw_fd(), libc::F_SETLK, &mut lock) } == 0;
        if !locked {
            continue;
        }
        if std::fs::metadata(&wal)
            .map(|m| m.len() == 0)
            .unwrap_or(true)
        {
            let _ = std::fs::remove_file(&wal);
            let _ = std::fs::remove_file(&shm);
        }
        // The lock goes with the descriptor.
        drop(f);
    }
}

/// Create the file with mode 0600 if it does not exist, so that SQLite gives
/// its WAL and shared-memory files the same private mode.
fn create_private(path: &Path) -> Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    if path.exists() {
        return Ok(());
    }
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        if !parent.exists() {
            return Err(Error::File {
                path: path.to_path_buf(),
                message: format!("directory {} does not exist", parent.display()),
            });
        }
    }
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
    {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(Error::File {
            path: path.to_path_buf(),
            message: e.to_string(),
        }),
    }
}

/// How long an opener waits for a lock before it gives up.
pub const BUSY_WAIT: Duration = Duration::from_secs(5);

/// `PRAGMA journal_mode = WAL`, waiting like the busy timeout does: while a
/// first load writes the file with a rollback journal (see
/// `ingest::import`), the switch needs a lock SQLite does not wait for.
fn switch_to_wal(conn: &Connection, path: &Path) -> Result<String> {
    let started = std::time::Instant::now();
    loop {
        match conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get::<_, String>(0)) {
            Ok(m) => return Ok(m),
            Err(e) if is_busy(&e) && started.elapsed() < BUSY_WAIT => {
                std::thread::sleep(Duration::from_millis(50));
            }
            Err(e) if is_busy(&e) => {
                let journal = side_file(path, "-journal").exists();
                return Err(Error::Busy(if journal {
                    format!(
                        "{}: another import is loading this file; try again in a moment",
                        crate::term::safe(&path.display().to_string())
                    )
                } else {
                    busy_message(path)
                }));
            }
            Err(e) => return Err(open_error(path, e)),
        }
    }
}

/// Whether an SQLite error is a lock held by someone else.
pub fn is_busy(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _)
        if matches!(f.code, rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked))
}

fn busy_message(path: &Path) -> String {
    format!(
        "{}: another crmtop is writing this file and kept it locked for more than {} s; try again in a moment",
        crate::term::safe(&path.display().to_string()),
        BUSY_WAIT.as_secs()
    )
}

fn open_error(path: &Path, e: rusqlite::Error) -> Error {
    if is_busy(&e) {
        return Error::Busy(busy_message(path));
    }
    if matches!(&e, rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::DatabaseCorrupt)
    {
        return Error::Damaged(format!(
            "{}: {e}",
            crate::term::safe(&path.display().to_string())
        ));
    }
    let message = match &e {
        rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::NotADatabase => {
            "not an SQLite database".to_string()
        }
        rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::CannotOpen => {
            "cannot open (check the path and its permissions)".to_string()
        }
        _ => e.to_string(),
    };
    Error::File {
        path: path.to_path_buf(),
        message,
    }
}

fn check_is_database(store: &Store) -> Result<()> {
    // Reading the schema forces SQLite to look at the file header.
    let n: i64 = store
        .conn
        .query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))
        .map_err(|e| open_error(&store.path, e))?;
    let v = user_version(&store.conn)?;
    if v == 0 && n > 0 {
        return Err(Error::File {
            path: store.path.clone(),
            message:
                "this SQLite file is not a crmtop database (it has tables but no crmtop schema)"
                    .into(),
        });
    }
    Ok(())
}

pub fn user_version(conn: &Connection) -> Result<i64> {
    Ok(conn.query_row("PRAGMA user_version", [], |r| r.get(0))?)
}

fn check_not_newer(v: i64, path: &Path) -> Result<()> {
    if v > latest_version() {
        return Err(Error::Schema(format!(
            "{}: written by a newer crmtop (schema version {v}; this crmtop knows up to {}). \
             Upgrade crmtop to open it; it will not be downgraded.",
            path.display(),
            latest_version()
        )));
    }
    Ok(())
}

/// Apply the migrations the file lacks, each in its own immediate transaction,
/// re-checking the version inside the lock so concurrent openers do not race.
pub fn migrate(conn: &Connection, path: &Path) -> Result<()> {
    loop {
        let v = user_version(conn)?;
        check_not_newer(v, path)?;
        if v >= latest_version() {
            return Ok(());
        }
        conn.execute_batch("BEGIN IMMEDIATE")?;
        let result = (|| -> Result<()> {
            let v = user_version(conn)?;
            check_not_newer(v, path)?;
            if v >= latest_version() {
                return Ok(());
            }
            let (name, sql) = MIGRATIONS[v as usize];
            conn.execute_batch(sql)
                .map_err(|e| Error::Schema(format!("migration {name} failed: {e}")))?;
            // Steps SQL alone cannot take (columns named after the data,
            // tables per version, sums filled from the rows).
            if let Some((_, step)) = POST_STEPS.iter().find(|(n, _)| *n == name) {
                step(conn).map_err(|e| Error::Schema(format!("migration {name} failed: {e}")))?;
            }
            // PRAGMA cannot take a bound parameter; the value is our own integer.
            conn.pragma_update(None, "user_version", v + 1)?;
            Ok(())
        })();
        match result {
            Ok(()) => conn.execute_batch("COMMIT")?,
            Err(e) => {
                let _ = conn.execute_batch("ROLLBACK");
                return Err(e);
            }
        }
    }
}

/// The connection the store works on (what callers outside the store name;
/// the PostgreSQL issue will make it an engine-neutral handle).
pub type Conn = rusqlite::Connection;
pub use bulk::{
    create_triggers, drop_indexes, drop_indexes_where, drop_triggers, multi_row_insert_sql,
    rebuild_indexes, with_big_cache, BatchInsert,
};
pub use db_error::DbError;
/// A value bound to or read from a statement.
pub use rusqlite::types::Value;

/// A transaction of the store (committed by `commit`, rolled back when
/// dropped without it).
pub type Tx<'a> = rusqlite::Transaction<'a>;

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
