//! Operations: `crmtop backup` while agents work, and `crmtop doctor`
//! finding (and fixing, without losing anything) what can go wrong.

mod common;
use common::*;
use std::os::unix::fs::PermissionsExt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

fn json(o: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {}", stdout(o)))
}

fn findings(v: &serde_json::Value) -> Vec<(String, String, bool)> {
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["check"].as_str().unwrap().to_string(),
                f["severity"].as_str().unwrap().to_string(),
                f["fixed"].as_bool().unwrap(),
            )
        })
        .collect()
}

fn problems(v: &serde_json::Value) -> Vec<String> {
    findings(v)
        .into_iter()
        .filter(|(_, s, fixed)| s != "ok" && !fixed)
        .map(|(c, _, _)| c)
        .collect()
}

#[test]
fn backup_is_a_consistent_private_copy_taken_while_agents_write() {
    let db = demo_db(1500, 3);
    let before = db.count("SELECT count(*) FROM audit_log");
    // An agent writes all the time the backup runs.
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let stop = Arc::clone(&stop);
        let path = db.path.clone();
        std::thread::spawn(move || {
            let s = crmtop::store::open(&path, crmtop::store::Mode::ReadWrite).unwrap();
            let mut n = 0;
            while !stop.load(Ordering::SeqCst) {
                crmtop::store::audit::append(
                    &s.conn, "writer", "note", "test", "x", None, None, None,
                )
                .unwrap();
                n += 1;
            }
            n
        })
    };
    std::thread::sleep(std::time::Duration::from_millis(50));
    let target = db.file("copy.db");
    let out = db.run(&["backup", "--to", target.to_str().unwrap(), "--json"]);
    stop.store(true, Ordering::SeqCst);
    let written = writer.join().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(written > 0);
    let s = json(&out);
    assert!(s["pages"].as_u64().unwrap() > 0, "{s}");
    // Private, whole, and a moment of the source: between before and after.
    let mode = std::fs::metadata(&target).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let copy = rusqlite::Connection::open(&target).unwrap();
    let ok: String = copy
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(ok, "ok");
    let n: i64 = copy
        .query_row("SELECT count(*) FROM audit_log", [], |r| r.get(0))
        .unwrap();
    assert!(
        n >= before && n <= before + written,
        "{n} {before} {written}"
    );
    let customers: i64 = copy
        .query_row("SELECT count(*) FROM customers", [], |r| r.get(0))
        .unwrap();
    assert_eq!(customers, 1500);
    // No partial file is left beside it.
    let leftovers: Vec<_> = std::fs::read_dir(db.dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains("partial"))
        .collect();
    assert!(leftovers.is_empty());
    // The copy opens in crmtop.
    let info = crmtop_cmd()
        .args(["--db", target.to_str().unwrap(), "info", "--json"])
        .output()
        .unwrap();
    assert_eq!(json(&info)["customers"], 1500);

    // An existing target is kept unless --force.
    let again = db.run(&["backup", "--to", target.to_str().unwrap()]);
    assert_eq!(again.status.code(), Some(2));
    assert!(stderr(&again).contains("--force"), "{}", stderr(&again));
    let forced = db.run(&["backup", "--to", target.to_str().unwrap(), "--force"]);
    assert_eq!(forced.status.code(), Some(0), "{}", stderr(&forced));
    // Read-only mode may back up (it writes nothing to the database).
    let ro = db.run(&[
        "--read-only",
        "backup",
        "--to",
        db.file("ro.db").to_str().unwrap(),
    ]);
    assert_eq!(ro.status.code(), Some(0), "{}", stderr(&ro));
    // A missing directory is a clear error.
    let bad = db.run(&["backup", "--to", "/nonexistent/dir/x.db"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(stderr(&bad).contains("does not exist"), "{}", stderr(&bad));
}

#[test]
fn doctor_finds_each_problem_and_fixes_it_without_losing_rows() {
    let db = demo_db(400, 9);
    let healthy = db.run(&["doctor", "--json"]);
    assert_eq!(healthy.status.code(), Some(0), "{}", stdout(&healthy));
    assert!(problems(&json(&healthy)).is_empty());

    let orders_before = db.count("SELECT count(*) FROM orders");
    {
        let s = db.open();
        s.conn
            .execute_batch(
                "PRAGMA foreign_keys = OFF;
                 INSERT INTO orders(order_key, cid, ts, amount, quantity) VALUES ('ORPHAN', 999999, 1700000000, 10, 1);
                 UPDATE customers SET n_orders = n_orders + 5 WHERE cid = 1;
                 DELETE FROM queue WHERE fid IN (SELECT fid FROM queue LIMIT 3);
                 INSERT INTO jobs(kind, agent, pid, started_at, status) VALUES ('train', 'gone', 2147483000, 1700000000, 'running');
                 DROP TRIGGER audit_log_no_delete;",
            )
            .unwrap();
    }
    std::fs::set_permissions(&db.path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let sick = db.run(&["doctor", "--json"]);
    assert_eq!(sick.status.code(), Some(6), "{}", stdout(&sick));
    let mut found = problems(&json(&sick));
    found.sort();
    assert_eq!(
        found,
        ["audit log", "orphan rows", "permissions", "queue", "totals"],
        "{}",
        stdout(&sick)
    );
    // The job whose process is gone is history, not a problem: recorded as
    // died (by doctor, as by any crmtop that opens the file for writing).
    assert_eq!(
        db.count("SELECT count(*) FROM jobs WHERE agent = 'gone' AND status = 'died'"),
        1
    );
    // Every finding says how to fix it.
    let text = db.run(&["doctor"]);
    assert_eq!(text.status.code(), Some(6));
    assert!(
        stdout(&text).matches("fix: ").count() >= 5,
        "{}",
        stdout(&text)
    );

    // --fix is refused in read-only mode.
    let ro = db.run(&["--read-only", "doctor", "--fix"]);
    assert_eq!(ro.status.code(), Some(2));

    let fixed = db.run(&["doctor", "--fix", "--json"]);
    assert_eq!(fixed.status.code(), Some(0), "{}", stdout(&fixed));
    assert!(problems(&json(&fixed)).is_empty(), "{}", stdout(&fixed));
    // Nothing was deleted: the orphan order kept its place, with a placeholder customer.
    assert_eq!(db.count("SELECT count(*) FROM orders"), orders_before + 1);
    assert_eq!(
        db.count("SELECT count(*) FROM customers WHERE id = 'restored-999999'"),
        1
    );
    let mode = std::fs::metadata(&db.path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    // And it stays healthy.
    let again = db.run(&["doctor", "--json"]);
    assert_eq!(again.status.code(), Some(0), "{}", stdout(&again));
}

#[test]
fn doctor_reports_files_it_cannot_use() {
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("junk.db");
    std::fs::write(&junk, b"this is not a database at all, not even close....").unwrap();
    let out = crmtop_cmd()
        .args(["--db", junk.to_str().unwrap(), "doctor", "--json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(6), "{}", stderr(&out));
    // (It is also world-readable, as std::fs::write made it.)
    assert_eq!(problems(&json(&out)), ["permissions", "database"]);
    let missing = crmtop_cmd()
        .args([
            "--db",
            dir.path().join("nope.db").to_str().unwrap(),
            "doctor",
        ])
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(2));
}

/// Customers imported after the active model have no score until the next
/// train (the README's "-"): doctor says so as information and stays
/// healthy, on either engine alike; only when most customers have no
/// score is it a warning. Every finding is a whole sentence.
#[test]
fn doctor_tells_of_unscored_customers_alike_on_either_engine() {
    use crmtop::ingest::Kind;
    let db = TempDb::new();
    let c = db.file("c.csv");
    std::fs::write(&c, "id,name\nK1,Ann\nK2,Bo\nK3,Cy\n").unwrap();
    db.import(Kind::Customers, &c).unwrap();
    set_churn(&db.open().conn, &[("K1", 0.1), ("K2", 0.2), ("K3", 0.9)]);
    let db = db.on_engine();
    let models = |out: &std::process::Output| -> (String, String) {
        let v = json(out);
        let f = v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["check"] == "models")
            .unwrap_or_else(|| panic!("no models finding: {v}"))
            .clone();
        for g in v["findings"].as_array().unwrap() {
            let m = g["message"].as_str().unwrap();
            assert!(!m.ends_with("'s"), "cut short: {m}");
        }
        (
            f["severity"].as_str().unwrap().to_string(),
            f["message"].as_str().unwrap().to_string(),
        )
    };
    std::fs::write(&c, "id,name\nN1,Di\n").unwrap();
    db.import(Kind::Customers, &c).unwrap();
    let out = db.run(&["doctor", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let (severity, message) = models(&out);
    assert_eq!(severity, "ok");
    assert!(message.starts_with("1 of 4 customers"), "{message}");
    // Most customers without a score: a warning (exit 6).
    std::fs::write(&c, "id,name\nN2,Ed\nN3,Flo\nN4,Gus\n").unwrap();
    db.import(Kind::Customers, &c).unwrap();
    let out = db.run(&["doctor", "--json"]);
    assert_eq!(out.status.code(), Some(6), "{}", stdout(&out));
    assert_eq!(problems(&json(&out)), ["models"]);
    let (severity, message) = models(&out);
    assert_eq!(severity, "warning");
    assert!(message.starts_with("4 of 7 customers"), "{message}");
}
