//! Opening databases: migrations from empty, newer files, other files, modes.

mod common;
use common::TempDb;
use crmtop::store::{self, Mode};

#[test]
fn a_new_file_gets_every_migration_and_private_permissions() {
    use std::os::unix::fs::PermissionsExt;
    let db = TempDb::new();
    let s = db.open();
    assert_eq!(
        store::user_version(&s.conn).unwrap(),
        store::latest_version()
    );
    for table in [
        "customers",
        "customer_attributes",
        "orders",
        "events",
        "feedback",
        "audit_log",
        "models",
        "clv_fits",
    ] {
        let n: i64 = s
            .conn
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?1",
                [table],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(n, 1, "{table}");
    }
    let jm: String = s
        .conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(jm, "wal");
    let fk: i64 = s
        .conn
        .query_row("PRAGMA foreign_keys", [], |r| r.get(0))
        .unwrap();
    assert_eq!(fk, 1);
    let bt: i64 = s
        .conn
        .query_row("PRAGMA busy_timeout", [], |r| r.get(0))
        .unwrap();
    assert_eq!(bt, 5000);
    // Write something so the WAL and shared-memory files exist.
    s.conn
        .execute("INSERT INTO customers(id) VALUES ('x')", [])
        .unwrap();
    for suffix in ["", "-wal", "-shm"] {
        let p = format!("{}{suffix}", db.path.display());
        let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{p}");
    }
    drop(s);
    // Opening again applies nothing and keeps the data.
    let s = db.open();
    assert_eq!(
        store::user_version(&s.conn).unwrap(),
        store::latest_version()
    );
    assert_eq!(db.count("SELECT count(*) FROM customers"), 1);
}

#[test]
fn a_file_from_a_newer_crmtop_is_refused_not_downgraded() {
    let db = TempDb::new();
    let s = db.open();
    s.conn
        .pragma_update(None, "user_version", store::latest_version() + 1)
        .unwrap();
    drop(s);
    for mode in [Mode::ReadWrite, Mode::ReadOnly] {
        let err = store::open(&db.path, mode).err().expect("refused");
        let msg = err.to_string();
        assert!(msg.contains("newer crmtop"), "{msg}");
        assert_eq!(err.exit_code(), 2);
    }
    let v: i64 = rusqlite::Connection::open(&db.path)
        .unwrap()
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(v, store::latest_version() + 1);
}

#[test]
fn other_files_get_clear_errors() {
    let db = TempDb::new();
    let text = db.file("notes.txt");
    std::fs::write(
        &text,
        "this is not a database, just some text that is long enough".repeat(20),
    )
    .unwrap();
    let msg = store::open(&text, Mode::ReadWrite)
        .err()
        .unwrap()
        .to_string();
    assert!(msg.contains("not an SQLite database"), "{msg}");

    let other = db.file("other.db");
    rusqlite::Connection::open(&other)
        .unwrap()
        .execute_batch("CREATE TABLE t(x)")
        .unwrap();
    let msg = store::open(&other, Mode::ReadWrite)
        .err()
        .unwrap()
        .to_string();
    assert!(msg.contains("not a crmtop database"), "{msg}");

    let missing = db.file("missing.db");
    let msg = store::open(&missing, Mode::ReadOnly)
        .err()
        .unwrap()
        .to_string();
    assert!(msg.contains("no such database"), "{msg}");
    assert!(!missing.exists());

    let msg = store::open(&db.file("no/such/dir/x.db"), Mode::ReadWrite)
        .err()
        .unwrap()
        .to_string();
    assert!(msg.contains("does not exist"), "{msg}");
}

#[test]
fn read_only_refuses_writes_at_the_sqlite_level() {
    let db = TempDb::new();
    drop(db.open());
    let s = store::open(&db.path, Mode::ReadOnly).unwrap();
    let err = s
        .conn
        .execute("INSERT INTO customers(id) VALUES ('x')", [])
        .unwrap_err();
    assert!(err.to_string().contains("readonly"), "{err}");
    assert!(s.require_writable("import").is_err());
}
