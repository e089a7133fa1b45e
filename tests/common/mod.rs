//! Shared helpers of the integration tests.
#![allow(dead_code)]

use crmtop::ingest::{self, ImportOptions, ImportSummary, Kind};
use crmtop::jobs::Ctl;
use crmtop::store::{self, Mode, Store};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// A fresh database file in a temporary directory (kept alive by the guard).
pub struct TempDb {
    pub dir: tempfile::TempDir,
    pub path: PathBuf,
}

impl TempDb {
    pub fn new() -> TempDb {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("test.db");
        TempDb { dir, path }
    }

    pub fn open(&self) -> Store {
        store::open(&self.path, Mode::ReadWrite).expect("open db")
    }

    pub fn file(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn import(&self, kind: Kind, file: &Path) -> crmtop::Result<ImportSummary> {
        let mut s = self.open();
        let mut opts = ImportOptions::new(kind, file);
        opts.reject_file = Some(self.file("rejects.csv"));
        opts.agent = "tester".into();
        ingest::import(&mut s.conn, &opts, Ctl::silent())
    }

    pub fn count(&self, sql: &str) -> i64 {
        self.open()
            .conn
            .query_row(sql, [], |r| r.get(0))
            .expect(sql)
    }

    /// Run the crmtop binary against this database.
    pub fn run(&self, args: &[&str]) -> Output {
        crmtop_cmd()
            .arg("--db")
            .arg(&self.path)
            .args(args)
            .output()
            .expect("run crmtop")
    }
}

pub fn crmtop_cmd() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_crmtop"));
    c.env("CRMTOP_AGENT", "tester")
        .env("CRMTOP_CONFIG", "/nonexistent/crmtop-test-config.toml")
        .env_remove("CRMTOP_DB")
        .env_remove("CRMTOP_PROGRESS");
    c
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A small deterministic demo database.
pub fn demo_db(customers: usize, seed: u64) -> TempDb {
    let db = TempDb::new();
    let mut s = db.open();
    let opts = ingest::demo::DemoOptions {
        customers,
        seed,
        as_of: chrono::NaiveDate::from_ymd_opt(2025, 6, 30).expect("date"),
    };
    ingest::demo::generate(&mut s.conn, &opts, "tester", Ctl::silent()).expect("demo");
    db
}

/// Train a churn model and fit CLV with the defaults (as `crmtop train` and
/// `crmtop clv` would).
pub fn train_and_fit(db: &TempDb) {
    let mut s = db.open();
    crmtop::analytics::churn::train(
        &mut s.conn,
        &crmtop::analytics::churn::TrainOptions {
            agent: "tester".into(),
            ..Default::default()
        },
        Ctl::silent(),
    )
    .expect("train");
    crmtop::analytics::clv::fit(
        &mut s.conn,
        &crmtop::analytics::clv::ClvOptions {
            agent: "tester".into(),
            ..Default::default()
        },
        Ctl::silent(),
    )
    .expect("clv");
}

/// Give customers (by id) churn scores from an active model version, as a
/// trained model would; the others stay unscored.
pub fn set_churn(conn: &rusqlite::Connection, scores: &[(&str, f64)]) {
    let tx = conn.unchecked_transaction().expect("tx");
    let id = store::models::insert(
        &tx,
        &store::models::NewModel {
            kind: "logistic",
            agent: "tester",
            as_of: "2025-01-01",
            window_days: 90,
            label_source: "test",
            n_train: 0,
            n_test: 0,
            positive_rate: 0.0,
            duration_ms: 0,
            report: &serde_json::Value::Null,
            params: "{}",
        },
    )
    .expect("model");
    let rows: Vec<(i64, f64)> = scores
        .iter()
        .map(|(cust, p)| {
            let cid: i64 = tx
                .query_row("SELECT cid FROM customers WHERE id = ?1", [cust], |r| {
                    r.get(0)
                })
                .expect("customer");
            (cid, *p)
        })
        .collect();
    store::models::write_scores(&tx, id, rows.iter().map(|&(c, p)| (c, p, "[]"))).expect("scores");
    store::models::activate(&tx, id, Ctl::silent()).expect("activate");
    store::scores::rebuild_rank(&tx, id).expect("rank");
    tx.commit().expect("commit");
}

/// Make a CLV fit with these customers' values (by external id; the
/// others without one) the active one.
pub fn set_clv(conn: &rusqlite::Connection, values: &[(&str, f64)]) {
    let tx = conn.unchecked_transaction().expect("tx");
    tx.execute(
        "INSERT INTO clv_fits(created_at, agent, as_of, time_unit, customers, total_clv, duration_ms, report)
         VALUES (0, 'tester', '2025-01-01', 'days', 0, 0, 0, 'null')",
        [],
    )
    .expect("fit");
    let id = tx.last_insert_rowid();
    let rows: Vec<crmtop::analytics::clv::Value> = values
        .iter()
        .map(|(cust, v)| {
            let cid: i64 = tx
                .query_row("SELECT cid FROM customers WHERE id = ?1", [cust], |r| {
                    r.get(0)
                })
                .expect("customer");
            crmtop::analytics::clv::Value {
                clv: Some(*v),
                ..crmtop::analytics::clv::Value::unvalued(cid, "test")
            }
        })
        .collect();
    store::clv_values::write(&tx, id, &rows).expect("values");
    store::clv::activate(&tx, id, Ctl::silent()).expect("activate");
    tx.commit().expect("commit");
}
