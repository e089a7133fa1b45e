//! kill -9 at exact points of an import, a training and a CLV fit (a real
//! child process, stopped at a phase by the CRMTOP_TEST_STALL_AT hook and
//! killed there): the file passes integrity_check (a server: doctor finds
//! nothing wrong), the active model and fit keep their scores, and an import
//! cut short and run again gives exactly the rows of one clean import. On
//! the engine under test.

mod common;
use common::*;
use std::io::{BufRead, BufReader};
use std::process::Stdio;

/// Run crmtop until it reports a phase containing `phase`, then SIGKILL it.
fn kill_at(db: &TempDb, args: &[&str], phase: &str) {
    let mut child = crmtop_cmd()
        .arg("--db")
        .arg(db.target())
        .args(args)
        .env("CRMTOP_PROGRESS", "json")
        .env("CRMTOP_TEST_STALL_AT", phase)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start crmtop");
    let err = child.stderr.take().expect("stderr");
    let mut seen = Vec::new();
    for line in BufReader::new(err).lines() {
        let line = line.expect("stderr line");
        let v: serde_json::Value = match serde_json::from_str(&line) {
            Ok(v) => v,
            Err(_) => {
                seen.push(line);
                continue;
            }
        };
        let p = v["phase"].as_str().unwrap_or("").to_string();
        if p.contains(phase) {
            child.kill().expect("kill -9");
            let st = child.wait().expect("wait");
            assert_eq!(
                std::os::unix::process::ExitStatusExt::signal(&st),
                Some(9),
                "{args:?} at {phase}: ended by itself"
            );
            return;
        }
        seen.push(p);
    }
    let st = child.wait().expect("wait");
    panic!("{args:?} finished ({st}) without reaching '{phase}'; it reported {seen:?}");
}

/// The file is whole and its daily sums agree with its rows (opened read-write first: a journal left by the kill
/// is played back, as any crmtop command would).
fn assert_intact(db: &TempDb) {
    if engine_is_postgres() {
        // The server keeps its own pages whole; what crmtop stores on it
        // must still agree with itself (counts, totals, the queue, the
        // audit log's replay).
        let doc = db.run(&["doctor", "--json"]);
        let v: serde_json::Value = serde_json::from_slice(&doc.stdout).unwrap();
        let bad: Vec<&serde_json::Value> = v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["severity"] != "ok")
            .collect();
        assert!(bad.is_empty(), "doctor after a kill: {bad:?}");
        return;
    }
    let s = db.open();
    let r: String = s
        .conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(r, "ok");
    let fk: i64 = s
        .conn
        .query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(fk, 0);
    // The daily sums are those of the rows that survived.
    assert_eq!(
        crmtop::store::activity::faults(&s.conn).unwrap(),
        Vec::<(&str, i64)>::new()
    );
}

/// What an import leaves, by content (not by internal keys).
fn rows(db: &TempDb) -> String {
    let mut out = String::new();
    let (monthly, indexes) = if engine_is_postgres() {
        (
            "SELECT to_char(to_timestamp(ts) AT TIME ZONE 'UTC', 'YYYY-MM') AS month,
                    CAST(round(CAST(sum(amount) AS NUMERIC), 2) AS DOUBLE PRECISION), count(*)
               FROM orders GROUP BY 1 ORDER BY 1",
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() ORDER BY 1",
        )
    } else {
        (
            "SELECT month, round(revenue, 2), orders FROM monthly_revenue ORDER BY month",
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' ORDER BY name",
        )
    };
    for sql in [
        "SELECT o.order_key, c.id, o.ts, o.amount, o.quantity, o.product, o.category
         FROM orders o JOIN customers c ON c.cid = o.cid ORDER BY o.order_key",
        "SELECT id, name, n_orders, CAST(round(CAST(revenue AS NUMERIC), 2) AS DOUBLE PRECISION),
                first_order, last_order, since FROM customers ORDER BY id",
        monthly,
        indexes,
    ] {
        for r in db.dump_rows(sql) {
            out.push_str(&r);
            out.push('\n');
        }
    }
    out
}

fn orders_file(db: &TempDb) -> std::path::PathBuf {
    // Big enough (relative to the tables) for the bulk path: indexes
    // dropped and built again, customer totals in a pass of their own.
    let path = db.file("orders.csv");
    let mut s = String::from("id,customer_id,timestamp,amount,quantity,product,category\n");
    for i in 0..110_000u32 {
        s.push_str(&format!(
            "O{i:07},C{:05},2024-{:02}-{:02}T10:00:00Z,{}.{:02},{},P{},Cat{}\n",
            i % 9_000,
            1 + i % 12,
            1 + i % 28,
            10 + i % 500,
            i % 100,
            1 + i % 3,
            i % 50,
            i % 7
        ));
    }
    std::fs::write(&path, s).unwrap();
    path
}

#[test]
fn an_import_killed_anywhere_leaves_nothing_and_runs_again_cleanly() {
    // Both write paths: a first load into an empty file (rollback journal)
    // and a load into a file that already has customers (WAL).
    for with_customers in [false, true] {
        let clean = TempDb::new().on_engine();
        if with_customers {
            clean
                .import(
                    crmtop::ingest::Kind::Customers,
                    &fixture("customers_extra.csv"),
                )
                .unwrap();
        }
        let file = orders_file(&clean);
        let out = clean.run(&["import", "orders", file.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let want = rows(&clean);
        let phases: &[&str] = if engine_is_postgres() {
            &["import", "finishing", "committing"]
        } else {
            &[
                "import",
                "building index orders",
                "updating customer totals",
                "building index customers",
                "committing",
            ]
        };
        for &phase in phases {
            let db = TempDb::new().on_engine();
            if with_customers {
                db.import(
                    crmtop::ingest::Kind::Customers,
                    &fixture("customers_extra.csv"),
                )
                .unwrap();
            }
            let before = rows(&db);
            kill_at(&db, &["import", "orders", file.to_str().unwrap()], phase);
            assert_intact(&db);
            assert_eq!(rows(&db), before, "killed at {phase}: the file changed");
            // The dead job is history: recorded as died by the next opening
            // for writing, shown by doctor, which stays healthy (exit 0).
            let doc = db.run(&["doctor", "--json"]);
            assert_eq!(
                doc.status.code(),
                Some(0),
                "killed at {phase}: {}",
                stderr(&doc)
            );
            let v: serde_json::Value = serde_json::from_slice(&doc.stdout).unwrap();
            let jobs = v["findings"]
                .as_array()
                .unwrap()
                .iter()
                .find(|f| f["check"] == "jobs")
                .unwrap()
                .clone();
            assert_eq!(jobs["severity"], "ok", "{v}");
            assert!(
                jobs["message"].as_str().unwrap_or("").contains("import #"),
                "the died job is shown as an event: {v}"
            );
            // Run again: exactly one clean import.
            let again = db.run(&["import", "orders", file.to_str().unwrap()]);
            assert_eq!(again.status.code(), Some(0), "{}", stderr(&again));
            assert!(
                rows(&db) == want,
                "killed at {phase}: the re-run differs from a clean import"
            );
        }
    }
}

fn scores(db: &TempDb) -> (i64, i64, i64, String) {
    let models = db.count("SELECT count(*) FROM models");
    let active = db.count("SELECT COALESCE(max(CASE WHEN active THEN id END), 0) FROM models");
    let scored = db.count("SELECT count(*) FROM active_churn");
    let probs = db
        .dump_rows("SELECT s.prob FROM customers c LEFT JOIN active_churn s ON s.cid = c.cid ORDER BY c.cid")
        .join(",");
    (models, active, scored, probs)
}

#[test]
fn a_training_killed_anywhere_keeps_the_active_model_and_its_scores() {
    let db = demo_db(1200, 4).on_engine();
    let out = db.run(&["train"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let before = scores(&db);
    assert_eq!((before.0, before.1, before.2), (1, 1, 1200));
    for phase in [
        "reading the history",
        "fitting",
        "scoring customers",
        "writing scores",
        "updating queue priorities",
        // A file's job computes the dashboard inside its transaction.
        "computing the dashboard",
        "committing",
    ] {
        if phase == "computing the dashboard" && engine_is_postgres() {
            continue;
        }
        kill_at(&db, &["train", "--activate"], phase);
        assert_intact(&db);
        assert_eq!(scores(&db), before, "killed at {phase}");
    }
    // Killed after its commit (a file's job computed its dashboard before
    // it; a server's warms it after): the version is there, and its record
    // says done, not died with nothing written.
    let after_commit = if engine_is_postgres() {
        "preparing the dashboard"
    } else {
        "end"
    };
    kill_at(&db, &["train", "--activate"], after_commit);
    assert_intact(&db);
    let (models, active, _, _) = scores(&db);
    assert_eq!(models, 2, "the committed version is kept");
    assert_eq!(
        db.text("SELECT status FROM jobs WHERE kind = 'train' ORDER BY id DESC LIMIT 1"),
        "done"
    );
    assert_eq!(
        db.count("SELECT id FROM models ORDER BY id DESC LIMIT 1"),
        active
    );
    // And it trains again afterwards.
    let out = db.run(&["train", "--activate", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // Nothing of the killed ones was kept: the next version is v3, after
    // the one committed before its kill (on a server, whose sequences never
    // go back, the versions the killed jobs drew are skipped).
    let (models, active, _, _) = scores(&db);
    assert_eq!(models, 3);
    if engine_is_postgres() {
        assert!(active > 2, "{active}");
    } else {
        assert_eq!(active, 3);
    }
}

fn values(db: &TempDb) -> (i64, i64, i64, String) {
    let fits = db.count("SELECT count(*) FROM clv_fits");
    let active = db.count("SELECT COALESCE(max(CASE WHEN active THEN id END), 0) FROM clv_fits");
    let valued = db.count("SELECT count(*) FROM active_clv");
    let clv = db
        .dump_rows(
            "SELECT v.clv, v.segment FROM customers c LEFT JOIN active_clv v ON v.cid = c.cid ORDER BY c.cid",
        )
        .join(",");
    (fits, active, valued, clv)
}

#[test]
fn a_clv_fit_killed_anywhere_keeps_the_active_fit_and_its_values() {
    let db = demo_db(1200, 6).on_engine();
    let out = db.run(&["clv", "--as-of", "2025-06-30"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let before = values(&db);
    assert_eq!((before.0, before.1, before.2), (1, 1, 1200));
    for phase in [
        "summarising orders",
        "fitting BG/NBD",
        "computing CLV",
        "writing values",
        "updating queue priorities",
        "committing",
    ] {
        kill_at(
            &db,
            &["clv", "--as-of", "2025-06-30", "--horizon-months", "24"],
            phase,
        );
        assert_intact(&db);
        assert_eq!(values(&db), before, "killed at {phase}");
    }
}

/// A job the UI runs, cancelled (SIGTERM) while it is still starting (here:
/// waiting for another writer's lock on the file): recorded as cancelled
/// once it gets the file, never left `running` for doctor to find, nor
/// ended by the signal's default action.
#[test]
fn a_job_cancelled_while_it_starts_is_recorded_as_cancelled() {
    if engine_is_postgres() {
        return; // the wait for the file's single writer is the file's
    }
    let db = demo_db(2000, 5);
    let holder = rusqlite::Connection::open(db.target()).expect("open");
    holder.execute_batch("BEGIN IMMEDIATE").expect("lock");
    let mut child = crmtop_cmd()
        .arg("--db")
        .arg(db.target())
        .arg("train")
        .env("CRMTOP_PROGRESS", "json")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    std::thread::sleep(std::time::Duration::from_millis(500));
    // SAFETY: kill(2) on our own child, not yet reaped.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGTERM);
    }
    std::thread::sleep(std::time::Duration::from_millis(200));
    holder.execute_batch("COMMIT").expect("unlock");
    let status = child.wait().expect("wait");
    assert_eq!(status.code(), Some(130), "{status:?}");
    assert_eq!(
        db.count("SELECT count(*) FROM jobs WHERE status = 'running'"),
        0
    );
    assert_eq!(
        db.count("SELECT count(*) FROM jobs WHERE status = 'cancelled'"),
        1
    );
}
