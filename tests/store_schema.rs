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
        "customer_attrs",
        "attribute_columns",
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

/// A database made by the previous release (schema 5, one row per
/// attribute) is migrated in place: every value keeps its type, features
/// read the same values, and the old table is gone.
#[test]
fn attributes_move_from_rows_to_columns_in_place() {
    use rusqlite::types::Value;
    let (_dir, s) = migrated_from(
        5,
        "INSERT INTO customers(cid, id) VALUES (1, 'C1'), (2, 'C2'), (3, 'C3');
             INSERT INTO customer_attributes(cid, name, num, txt) VALUES
               (1, 'devices', 2.0, NULL), (1, 'tier', NULL, 'gold'),
               (2, 'devices', 3.5, NULL),
               (3, 'tier', NULL, 'silver'), (3, 'mixed', NULL, '12 units'),
               (2, 'mixed', 7.0, NULL);",
    );
    let gone: i64 = s
        .conn
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE name = 'customer_attributes'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(gone, 0);
    use crmtop::store::attributes;
    assert_eq!(
        attributes::names(&s.conn).unwrap(),
        vec!["devices", "mixed", "tier"]
    );
    assert_eq!(
        attributes::of_customer(&s.conn, 1).unwrap(),
        vec![
            ("devices".to_string(), Value::Real(2.0)),
            ("tier".to_string(), Value::Text("gold".into()))
        ]
    );
    assert_eq!(
        attributes::of_customer(&s.conn, 3).unwrap(),
        vec![
            ("mixed".to_string(), Value::Text("12 units".into())),
            ("tier".to_string(), Value::Text("silver".into()))
        ]
    );
    let mut devices = attributes::numeric(&s.conn, "devices").unwrap();
    devices.sort_by_key(|d| d.0);
    assert_eq!(devices, vec![(1, 2.0), (2, 3.5)]);
    // A later import adds a column next to the migrated ones.
    let cols = attributes::ensure(&s.conn, &["plan_b".to_string()]).unwrap();
    assert_eq!(cols[0].pos, 4);
}

/// A database made by the previous release (schema 9, a row per campaign
/// member) is migrated in place: the assignment is packed with every
/// member's group, band, scores and rank; the members agents worked keep
/// their outcome, note, holder and version; `next` goes on from the first
/// untouched member; the old table is gone.
#[test]
fn campaign_members_move_to_a_packed_assignment_in_place() {
    use crmtop::store::campaigns;
    let (_dir, mut s) = migrated_from(9,
            "INSERT INTO customers(cid, id, name) VALUES
               (1, 'C1', 'Ann'), (2, 'C2', 'Bo'), (3, 'C3', 'Cy'), (4, 'C4', 'Di'), (5, 'C5', 'Ed');
             INSERT INTO campaigns(id, name, action, channel, cost, cost_share, target,
                                   control_share, start_day, window_days, seed, created_at, created_by)
               VALUES (1, 'save', 'call', 'phone', 5, 0, '', 0.2, 20000, 90, 42, 0, 'ann');
             INSERT INTO campaign_members(campaign_id, cid, grp, stratum, churn_prob, clv,
                                          value_at_risk, rank, outcome, note, outcome_by, claimed_by, version) VALUES
               (1, 4, 'treatment', 'high', 0.9, 100.0, 90.0, 1, 'accepted', 'glad', 'ann', NULL, 2),
               (1, 2, 'control', 'high', 0.8, 100.0, 80.0, 2, NULL, NULL, NULL, NULL, 1),
               (1, 5, 'treatment', 'medium', 0.5, 100.0, 50.0, 3, NULL, NULL, NULL, 'bob', 2),
               (1, 1, 'treatment', 'low', 0.1, 200.0, 20.0, 4, NULL, NULL, NULL, NULL, 1),
               (1, 3, 'treatment', 'unscored', NULL, NULL, 0.0, 5, NULL, NULL, NULL, NULL, 1);",
    );
    let gone: i64 = s
        .conn
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE name = 'campaign_members'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(gone, 0);
    let c = campaigns::get(&s.conn, "save").unwrap();
    assert_eq!((c.treatment, c.control, c.worked), (4, 1, 1));
    let m = campaigns::members(&s.conn, 1, 0, i64::MAX).unwrap();
    let seen: Vec<_> = m
        .iter()
        .map(|m| {
            (
                m.row.customer_id.as_str(),
                m.group.as_str(),
                m.row.stratum.as_str(),
                m.row.churn_prob,
                m.row.rank,
                m.row.outcome.as_deref(),
                m.row.note.as_deref(),
                m.row.claimed_by.as_deref(),
                m.row.version,
            )
        })
        .collect();
    assert_eq!(
        seen,
        vec![
            (
                "C4",
                "treatment",
                "high",
                Some(0.9),
                1,
                Some("accepted"),
                Some("glad"),
                None,
                2
            ),
            ("C2", "control", "high", Some(0.8), 2, None, None, None, 1),
            (
                "C5",
                "treatment",
                "medium",
                Some(0.5),
                3,
                None,
                None,
                Some("bob"),
                2
            ),
            ("C1", "treatment", "low", Some(0.1), 4, None, None, None, 1),
            ("C3", "treatment", "unscored", None, 5, None, None, None, 1),
        ]
    );
    // ann's next: not C4 (done), not C5 (bob's): C1, then C3, then none.
    let next = |s: &mut store::Store| {
        store::immediate(&mut s.conn, |tx| campaigns::claim_next(tx, 1, "ann")).unwrap()
    };
    assert_eq!(next(&mut s), Some(1));
    store::immediate(&mut s.conn, |tx| {
        campaigns::record_outcome(tx, 1, 1, "reached", None, "ann", Some(2))
    })
    .unwrap();
    // The outcome is in the customer's audit trail.
    let d = store::detail::load(&s.conn, 1).unwrap().unwrap();
    assert!(
        d.audit
            .iter()
            .any(|e| e.action == "campaign_outcome" && e.new_value.as_deref() == Some("reached")),
        "{:?}",
        d.audit
    );
    assert_eq!(next(&mut s), Some(3));
    store::immediate(&mut s.conn, |tx| {
        campaigns::record_outcome(tx, 1, 3, "declined", None, "ann", Some(2))
    })
    .unwrap();
    assert_eq!(next(&mut s), None);
    // The control member still has no outcome to record.
    let err = store::immediate(&mut s.conn, |tx| {
        campaigns::record_outcome(tx, 1, 2, "reached", None, "ann", None)
    })
    .unwrap_err();
    assert!(err.to_string().contains("control group"), "{err}");
}

/// A database made by the previous release (schema 10: every version's
/// scores in one table, the active one copied into customers.churn_prob)
/// is migrated in place: each version gets its own scores and ranking, the
/// views show the active one, the customers' column is gone; a customer
/// added afterwards is ranked unscored; activating the older version is a
/// flag and a re-pointing, and its ranking then holds the new customer too.
#[test]
fn churn_scores_move_to_tables_per_version_in_place() {
    use crmtop::store::{list, models, scores};
    let (_dir, s) = migrated_from(10,
            "INSERT INTO customers(cid, id, name, churn_prob) VALUES
               (1, 'C1', 'Ann', 0.8), (2, 'C2', 'Bo', 0.1), (3, 'C3', 'Cy', 0.5);
             INSERT INTO models(id, kind, created_at, agent, as_of, window_days, label_source, n_train,
                                n_test, positive_rate, duration_ms, active, report, params)
               VALUES (1, 'logistic', 0, 'ann', '2025-01-01', 90, 'lapse', 3, 0, 0.3, 1, 0, 'null', '{}'),
                      (2, 'logistic', 1, 'ann', '2025-02-01', 90, 'lapse', 3, 0, 0.3, 1, 1, 'null', '{}');
             INSERT INTO churn_scores(model_id, cid, prob, drivers) VALUES
               (1, 1, 0.2, '[[0,1,0.5]]'), (1, 2, 0.9, '[]'), (1, 3, 0.4, '[]'),
               (2, 1, 0.8, '[[0,2,0.7]]'), (2, 2, 0.1, '[]'), (2, 3, 0.5, '[]');",
    );
    let gone: i64 = s
        .conn
        .query_row(
            "SELECT count(*) FROM pragma_table_info('customers') WHERE name = 'churn_prob'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(gone, 0);
    assert_eq!(scores::versions(&s.conn).unwrap(), vec![1, 2]);
    assert_eq!(
        models::score_of(&s.conn, 1, 1).unwrap(),
        Some((0.2, "[[0,1,0.5]]".to_string()))
    );
    for id in [1, 2] {
        assert_eq!(
            scores::rank_faults(&s.conn, id).unwrap(),
            (0, 0, 0),
            "v{id}"
        );
    }
    let by_churn = |s: &store::Store| -> Vec<(String, Option<f64>)> {
        let q = list::ListQuery::new(list::SortColumn::Churn, true);
        list::page(&s.conn, &q)
            .unwrap()
            .into_iter()
            .map(|r| (r.id, r.churn_prob))
            .collect()
    };
    assert_eq!(
        by_churn(&s),
        vec![
            ("C1".to_string(), Some(0.8)),
            ("C3".to_string(), Some(0.5)),
            ("C2".to_string(), Some(0.1))
        ]
    );
    // A customer who comes later is listed, unscored, last when descending.
    s.conn
        .execute("INSERT INTO customers(id, name) VALUES ('C4', 'Di')", [])
        .unwrap();
    assert_eq!(by_churn(&s)[3], ("C4".to_string(), None));
    // The older version becomes active without rewriting anything.
    let tx = s.conn.unchecked_transaction().unwrap();
    models::activate(&tx, 1, crmtop::jobs::Ctl::silent()).unwrap();
    tx.commit().unwrap();
    assert_eq!(
        by_churn(&s),
        vec![
            ("C2".to_string(), Some(0.9)),
            ("C3".to_string(), Some(0.4)),
            ("C1".to_string(), Some(0.2)),
            ("C4".to_string(), None)
        ]
    );
    assert_eq!(scores::rank_faults(&s.conn, 1).unwrap(), (0, 0, 0));
    // Pruned versions lose their tables.
    scores::drop_version(&s.conn, 2).unwrap();
    assert!(!scores::has(&s.conn, 2).unwrap());
}

/// A file made by the release at schema `version` holding `rows` (SQL),
/// opened by this one: migrated to the latest schema.
fn migrated_from(version: usize, rows: &str) -> (tempfile::TempDir, store::Store) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        for (_, sql) in &store::MIGRATIONS[..version] {
            conn.execute_batch(sql).unwrap();
        }
        conn.pragma_update(None, "user_version", version as i64)
            .unwrap();
        conn.execute_batch(rows).unwrap();
    }
    let s = store::open(&path, store::Mode::ReadWrite).unwrap();
    assert_eq!(
        store::user_version(&s.conn).unwrap(),
        store::latest_version()
    );
    (dir, s)
}

#[test]
fn daily_sums_are_filled_from_the_rows_of_a_schema_11_database() {
    use crmtop::store::activity;
    let (_dir, s) = migrated_from(
        11,
        "INSERT INTO customers(cid, id) VALUES (1, 'C1'), (2, 'C2');
         -- Two orders on one day (one of them before 1970), one on another.
         INSERT INTO orders(order_key, cid, ts, amount) VALUES
           ('a', 1, 1700000000, 10.0), ('b', 1, 1700003600, 5.5), ('c', 2, 1700200000, 7.0),
           ('d', 2, -100, 1.0), ('e', 2, -86000, 2.0);
         INSERT INTO events(event_key, cid, ts, kind, value) VALUES
           ('e1', 1, 1700000000, 'login', 2), ('e2', 1, 1700000100, 'login', 3),
           ('e3', 2, 1700000100, 'login', 1);
         INSERT INTO feedback(fid, id, cid, created_at, kind, score, sentiment) VALUES
           (1, 'F1', 1, 1700000000, 'nps', 6, 0.5), (2, 'F2', 1, 1700000500, 'complaint', NULL, -0.8),
           (3, 'F3', 2, 1700000000, 'csat', 5, NULL);",
    );
    assert!(activity::faults(&s.conn).unwrap().is_empty());
    let orders: Vec<(i64, i64, i64, f64, i64, i64)> = s
        .conn
        .prepare("SELECT cid, day, n, spend, first_ts, last_ts FROM order_days ORDER BY cid, day")
        .unwrap()
        .query_map([], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
            ))
        })
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(
        orders,
        vec![
            (1, 19675, 2, 15.5, 1700000000, 1700003600),
            (2, -1, 2, 3.0, -86000, -100),
            (2, 19678, 1, 7.0, 1700200000, 1700200000),
        ]
    );
    let kinds: Vec<(i64, String, i64)> = s
        .conn
        .prepare("SELECT day, kind, n FROM event_kind_days")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(kinds, vec![(19675, "login".to_string(), 3)]);
    let fb: (i64, i64, f64, i64, f64, i64) = s
        .conn
        .query_row(
            "SELECT n, complaints, score_sum, score_n, sentiment_sum, sentiment_n FROM feedback_days WHERE cid = 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?)),
        )
        .unwrap();
    assert_eq!(fb.0, 2);
    assert_eq!(fb.1, 1);
    assert!((fb.2 - 0.6).abs() < 1e-12 && fb.3 == 1);
    assert!((fb.4 + 0.3).abs() < 1e-12 && fb.5 == 2);
}

#[test]
fn each_customers_days_are_packed_from_a_schema_14_database() {
    use crmtop::store::packs::{self, CustomerDays, PackReader};
    let (dir, s) = migrated_from(
        14,
        "INSERT INTO customers(cid, id) VALUES (1, 'C1'), (2, 'C2'), (3, 'C3');
         INSERT INTO orders(order_key, cid, ts, amount) VALUES
           ('a', 1, 1700000000, 10.25), ('b', 1, 1700003600, 5.5), ('c', 2, -100, 1.0);
         INSERT INTO events(event_key, cid, ts, kind, value) VALUES
           ('e1', 1, 1700000000, 'login', 2), ('e2', 2, 1700000100, 'support_contact', 0.1);
         INSERT INTO feedback(fid, id, cid, created_at, kind, score, sentiment) VALUES
           (1, 'F1', 1, 1700000000, 'nps', 6, 0.5);",
    );
    assert_eq!(packs::faults(&s.conn).unwrap(), 0);
    assert_eq!(packs::stale_count(&s.conn).unwrap(), 0);
    // Customer 3 has no history and no pack.
    let n: i64 = s
        .conn
        .query_row("SELECT count(*) FROM history_packs", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 2);
    let mut reader = PackReader::open(&dir.path().join("old.db")).unwrap();
    let mut seen: Vec<CustomerDays> = Vec::new();
    reader
        .scan((i64::MIN, i64::MAX), crmtop::jobs::Ctl::silent(), |h| {
            seen.push(h.clone())
        })
        .unwrap();
    let kinds = reader.kinds().to_vec();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[0].cid, 1);
    let o = &seen[0].orders;
    assert_eq!(o.len(), 1);
    assert_eq!((o[0].day, o[0].n, o[0].spend), (19675, 2, 15.75));
    assert_eq!((o[0].first, o[0].last), (1700000000, 1700003600));
    assert_eq!(kinds[seen[0].events[0].kind as usize], "login");
    assert_eq!(seen[0].feedback[0].score_n, 1);
    assert_eq!((seen[1].orders[0].day, seen[1].orders[0].first), (-1, -100));
    assert_eq!(kinds[seen[1].events[0].kind as usize], "support_contact");
    assert_eq!(seen[1].events[0].value, 0.1);
}

#[test]
fn clv_values_move_to_tables_per_fit_in_place() {
    use crmtop::store::{clv, clv_values, list};
    let (_dir, s) = migrated_from(
        12,
        // (The churn views as schema 11's second step leaves them without a model.)
        "CREATE VIEW active_churn(cid, prob, drivers) AS SELECT NULL, NULL, NULL WHERE 0;
         CREATE VIEW active_rank(prob, cid) AS SELECT NULL, NULL WHERE 0;
         INSERT INTO customers(cid, id, name, clv, rfm_segment) VALUES
           (1, 'C1', 'Ann', 120.0, 'Champions'), (2, 'C2', 'Bo', 15.0, 'At risk'), (3, 'C3', 'Cy', NULL, NULL);
         INSERT INTO clv_fits(id, created_at, agent, as_of, time_unit, customers, total_clv, duration_ms, active, report)
           VALUES (1, 0, 'ann', '1997-09-30', 'weeks', 3, 40, 1, 0, 'null'),
                  (2, 1, 'ann', '1997-09-30', 'weeks', 2, 135, 1, 1, 'null');
         INSERT INTO clv_values(fit_id, cid, frequency, recency, t, monetary, p_alive, exp_txn, exp_spend, clv,
                                method, r_score, f_score, m_score, segment) VALUES
           (1, 1, 1, 2, 3, 4, 0.5, 1.0, 10.0, 10.0, 'bgnbd', 3, 3, 3, 'Loyal'),
           (1, 2, 0, 0, 3, NULL, 0.9, 1.0, 30.0, 30.0, 'bgnbd', 1, 1, 1, 'Lost'),
           (2, 1, 2, 3, 4, 5, 0.8, 2.0, 60.0, 120.0, 'bgnbd', 5, 5, 5, 'Champions'),
           (2, 2, 1, 1, 4, 5, 0.3, 0.5, 30.0, 15.0, 'bgnbd', 2, 1, 2, 'At risk');",
    );
    for gone in ["clv", "rfm_segment"] {
        let n: i64 = s
            .conn
            .query_row(
                "SELECT count(*) FROM pragma_table_info('customers') WHERE name = ?1",
                [gone],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(n, 0, "{gone}");
    }
    assert_eq!(clv_values::fits(&s.conn).unwrap(), vec![1, 2]);
    for id in [1, 2] {
        assert_eq!(
            clv_values::rank_faults(&s.conn, id).unwrap(),
            (0, 0, 0),
            "fit {id}"
        );
    }
    let v = clv::customer_value(&s.conn, 1).unwrap().unwrap();
    assert_eq!(
        (v.clv, v.segment.as_deref(), v.rfm),
        (Some(120.0), Some("Champions"), Some((5, 5, 5)))
    );
    assert_eq!(clv::customer_value(&s.conn, 3).unwrap(), None);
    let by_clv = |s: &store::Store| -> Vec<(String, Option<f64>, Option<String>)> {
        let q = list::ListQuery::new(list::SortColumn::Clv, true);
        list::page(&s.conn, &q)
            .unwrap()
            .into_iter()
            .map(|r| (r.id, r.clv, r.rfm_segment))
            .collect()
    };
    let t =
        |id: &str, v: Option<f64>, seg: Option<&str>| (id.to_string(), v, seg.map(String::from));
    assert_eq!(
        by_clv(&s),
        vec![
            t("C1", Some(120.0), Some("Champions")),
            t("C2", Some(15.0), Some("At risk")),
            t("C3", None, None)
        ]
    );
    assert_eq!(clv::total_clv(&s.conn).unwrap(), 135.0);
    // A customer who comes later is listed without a value.
    s.conn
        .execute("INSERT INTO customers(id, name) VALUES ('C4', 'Di')", [])
        .unwrap();
    assert_eq!(by_clv(&s)[2], t("C4", None, None));
    assert_eq!(clv_values::rank_faults(&s.conn, 2).unwrap(), (0, 0, 0));
    // The older fit becomes active by re-pointing the views.
    let tx = s.conn.unchecked_transaction().unwrap();
    clv::activate(&tx, 1, crmtop::jobs::Ctl::silent()).unwrap();
    tx.commit().unwrap();
    assert_eq!(
        by_clv(&s),
        vec![
            t("C2", Some(30.0), Some("Lost")),
            t("C1", Some(10.0), Some("Loyal")),
            t("C4", None, None),
            t("C3", None, None)
        ]
    );
    // Pruned fits lose their tables.
    clv_values::drop_fit(&s.conn, 2).unwrap();
    assert!(!clv_values::has(&s.conn, 2).unwrap());
}
