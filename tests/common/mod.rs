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

/// A fresh database file in a temporary directory (kept alive by the guard),
/// and for the engine-parameterised tests its copy on a PostgreSQL server.
pub struct TempDb {
    pub dir: tempfile::TempDir,
    pub path: PathBuf,
    pub server: Option<Server>,
}

/// A database of its own on the test server, dropped with the test.
pub struct Server {
    pub url: String,
    admin: String,
    name: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(mut c) = postgres::Client::connect(&self.admin, postgres::NoTls) {
            let _ = c.batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ));
        }
    }
}

/// The engine the engine-parameterised tests run on: `CRMTOP_TEST_ENGINE`
/// = `postgres` (with `CRMTOP_TEST_PG`, the URL of a server's database
/// this user may create databases from; `.ci/pg start` gives one), else
/// SQLite.
pub fn engine_is_postgres() -> bool {
    std::env::var("CRMTOP_TEST_ENGINE").is_ok_and(|e| e == "postgres")
}

impl TempDb {
    pub fn new() -> TempDb {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("test.db");
        TempDb {
            dir,
            path,
            server: None,
        }
    }

    /// This database on the engine under test: on PostgreSQL, copied into
    /// a new database with `crmtop migrate`; every later `run`, `count`
    /// and `db` works there.
    pub fn on_engine(mut self) -> TempDb {
        if !engine_is_postgres() {
            return self;
        }
        if !self.path.exists() {
            drop(self.open());
        }
        let admin = std::env::var("CRMTOP_TEST_PG")
            .expect("CRMTOP_TEST_ENGINE=postgres needs CRMTOP_TEST_PG (eval \"$(.ci/pg start)\")");
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let name = format!(
            "crmtop_t{}_{}",
            std::process::id(),
            N.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
        );
        let mut c =
            postgres::Client::connect(&admin, postgres::NoTls).expect("connect to CRMTOP_TEST_PG");
        c.batch_execute(&format!("CREATE DATABASE {name}"))
            .expect("create database");
        let base = admin.rsplit_once('/').expect("a URL with a database").0;
        let url = format!("{base}/{name}");
        let out = crmtop_cmd()
            .args(["migrate", "--from"])
            .arg(&self.path)
            .args(["--to", &url])
            .output()
            .expect("run crmtop migrate");
        assert!(out.status.success(), "migrate: {}", stderr(&out));
        self.server = Some(Server { url, admin, name });
        self
    }

    /// What `--db` names: the file, or the server's URL.
    pub fn target(&self) -> std::ffi::OsString {
        match &self.server {
            Some(s) => s.url.clone().into(),
            None => self.path.clone().into(),
        }
    }

    /// Where the analytics read this database (on the engine under test).
    pub fn source(&self) -> store::history::Source {
        match &self.server {
            Some(s) => store::history::Source::Server(s.url.clone()),
            None => store::history::Source::File(self.path.clone()),
        }
    }

    /// What `--db` names, as a path (a TUI harness opens either).
    pub fn target_path(&self) -> PathBuf {
        PathBuf::from(self.target())
    }

    /// The database on the engine under test.
    pub fn db(&self) -> store::Db {
        store::Db::open(Path::new(&self.target()), Mode::ReadWrite).expect("open db")
    }

    pub fn open(&self) -> Store {
        store::open(&self.path, Mode::ReadWrite).expect("open db")
    }

    pub fn file(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Import a file (on the engine under test), rejects to `rejects.csv`.
    pub fn import(&self, kind: Kind, file: &Path) -> crmtop::Result<ImportSummary> {
        let mut opts = ImportOptions::new(kind, file);
        opts.reject_file = Some(self.file("rejects.csv"));
        opts.agent = "tester".into();
        self.import_opts(&opts, Ctl::silent())
    }

    /// Import with the given options (on the engine under test).
    pub fn import_opts(&self, opts: &ImportOptions, ctl: Ctl) -> crmtop::Result<ImportSummary> {
        match self.server {
            Some(_) => match self.db() {
                store::Db::Server(pg) => {
                    let prepared = ingest::prepare(opts)?;
                    ingest::import_into(ingest::Target::Server(&pg), opts, prepared, ctl)
                }
                store::Db::File(_) => panic!("a server's URL opened a file"),
            },
            None => {
                let mut s = self.open();
                ingest::import(&mut s.conn, opts, ctl)
            }
        }
    }

    /// Each row of a query as text (`v1|v2|...`), on the engine under test;
    /// numbers as the same text on both engines.
    pub fn dump_rows(&self, sql: &str) -> Vec<String> {
        use crmtop::store::sql::Sql;
        use rusqlite::types::Value;
        self.db()
            .rows(sql, &[])
            .expect(sql)
            .iter()
            .map(|r| {
                r.0.iter()
                    .map(|v| match v {
                        Value::Null => "NULL".to_string(),
                        Value::Integer(i) => i.to_string(),
                        Value::Real(f) => format!("{f:?}"),
                        Value::Text(t) => format!("{t:?}"),
                        Value::Blob(b) => format!("{b:?}"),
                    })
                    .collect::<Vec<_>>()
                    .join("|")
            })
            .collect()
    }

    /// A number, on the engine under test.
    pub fn real(&self, sql: &str) -> f64 {
        use crmtop::store::sql::Sql;
        self.db()
            .row(sql, &[])
            .expect(sql)
            .expect("a row")
            .f64(0)
            .expect(sql)
    }

    /// A text, on the engine under test.
    pub fn text(&self, sql: &str) -> String {
        use crmtop::store::sql::Sql;
        self.db()
            .row(sql, &[])
            .expect(sql)
            .expect("a row")
            .text(0)
            .expect(sql)
    }

    /// A count, on the engine under test.
    pub fn count(&self, sql: &str) -> i64 {
        use crmtop::store::sql::Sql;
        self.db()
            .row(sql, &[])
            .expect(sql)
            .expect("a row")
            .i64(0)
            .expect(sql)
    }

    /// A statement, on the engine under test; the rows it changed.
    pub fn exec(&self, sql: &str) -> usize {
        use crmtop::store::sql::Sql;
        self.db().exec(sql, &[]).expect(sql)
    }

    /// Train a churn model on the engine under test, as `crmtop train` does.
    pub fn train(
        &self,
        o: &crmtop::analytics::churn::TrainOptions,
        ctl: Ctl,
    ) -> crmtop::Result<crmtop::analytics::churn::TrainReport> {
        use crmtop::analytics::churn;
        match (self.db(), &self.server) {
            (store::Db::Server(pg), Some(s)) => churn::train_on_server(&pg, &s.url, o, ctl),
            (store::Db::File(mut f), _) => churn::train(&mut f.conn, o, ctl),
            (store::Db::Server(_), None) => panic!("a file opened as a server"),
        }
    }

    /// Fit CLV on the engine under test, as `crmtop clv` does.
    pub fn fit_clv(
        &self,
        o: &crmtop::analytics::clv::ClvOptions,
        ctl: Ctl,
    ) -> crmtop::Result<crmtop::analytics::clv::ClvReport> {
        use crmtop::analytics::clv;
        match self.db() {
            store::Db::Server(pg) => clv::fit_on_server(&pg, o, ctl),
            store::Db::File(mut f) => clv::fit(&mut f.conn, o, ctl),
        }
    }

    /// Run the crmtop binary against this database (on the engine under test).
    pub fn run(&self, args: &[&str]) -> Output {
        crmtop_cmd()
            .arg("--db")
            .arg(self.target())
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
    store::models::write_scores(&tx, id, rows.iter().map(|&(c, p)| (c, p, &[1u8][..])))
        .expect("scores");
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

/// The names in `before` that are not in `after` (tables a job removed).
pub fn removed(
    before: &std::collections::BTreeSet<String>,
    after: &std::collections::BTreeSet<String>,
) -> std::collections::BTreeSet<String> {
    before.difference(after).cloned().collect()
}

/// The dashboard's aggregates as cached, and as computed afresh (equal).
pub fn cached_and_fresh(db: &TempDb) -> (serde_json::Value, serde_json::Value) {
    let s = db.open();
    let cached = crmtop::store::meta_get(&s.conn, "dashboard_cache")
        .unwrap()
        .expect("the job cached the dashboard");
    s.conn
        .execute("DELETE FROM meta WHERE key = 'dashboard_cache'", [])
        .unwrap();
    let sla = crmtop::analytics::priority::SlaConfig::default();
    let fresh = crmtop::store::dashboard::load(&s.conn, false, 0.7, 0.4, &sla, 1_900_000_000)
        .unwrap()
        .agg;
    // The same text, figure for figure (a parse could round the last bit).
    let fresh = serde_json::to_string(&fresh).unwrap();
    assert_eq!(cached, fresh);
    (
        serde_json::from_str(&cached).unwrap(),
        serde_json::from_str(&fresh).unwrap(),
    )
}

/// For the tests of a job that computes the dashboard in its transaction:
/// a trained and fitted 400-customer demo in a file, and the thresholds;
/// None on a server (whose aggregates are cached by its own reader).
pub fn dashboard_job_db() -> Option<(TempDb, crmtop::config::Thresholds)> {
    if engine_is_postgres() {
        return None;
    }
    let db = demo_db(400, 16);
    train_and_fit(&db);
    Some((
        db,
        crmtop::config::Thresholds {
            high: 0.7,
            medium: 0.4,
        },
    ))
}
