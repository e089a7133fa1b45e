//! Opening a database file: where it is, private creation (0600), the
//! pragmas, write-ahead logging, read-only sessions and what they leave,
//! and the errors a user can act on (busy, not a database, a directory).

use super::schema::{check_not_newer, latest_version, migrate, user_version};
use super::{jobs, pg, search};
use super::{Mode, Store};
use crate::error::{Error, Result};
use rusqlite::{Connection, OpenFlags};
use std::path::{Path, PathBuf};
use std::time::Duration;

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
