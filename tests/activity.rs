//! Orders, events and feedback summed by customer and day (schema 12):
//! the sums stay equal to the rows after any sequence of imports,
//! re-imports and workflow actions, and training's features and the CLV
//! summaries read from them equal the ones read from the rows.

mod common;

use common::*;
use crmtop::analytics::clv::summary;
use crmtop::analytics::features::{self, History, Raw};
use crmtop::analytics::workflow::Act;
use crmtop::ingest::Kind;
use crmtop::jobs::Ctl;
use crmtop::store::{self, activity, packs, workflow};
use proptest::prelude::*;

const DAY: i64 = 86_400;

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

/// Every accumulator of the two extractions: counts and times equal,
/// sums equal but for the order of the additions.
fn assert_same(rows: &Raw, days: &Raw) {
    assert_eq!(rows.event_kinds, days.event_kinds);
    assert_eq!(rows.orders.len(), days.orders.len());
    for (i, (a, b)) in rows.orders.iter().zip(&days.orders).enumerate() {
        let counts = |o: &features::OrderAcc| {
            (
                o.n_all,
                o.n_90,
                o.n_prev_90,
                o.n_365,
                o.n_after,
                o.first,
                o.last,
            )
        };
        assert_eq!(counts(a), counts(b), "orders of row {i}");
        assert!(close(a.spend_all, b.spend_all), "spend of row {i}");
        assert!(close(a.spend_90, b.spend_90), "90-day spend of row {i}");
        assert!(close(a.spend_365, b.spend_365), "365-day spend of row {i}");
    }
    assert_eq!(rows.events.len(), days.events.len());
    for (i, (a, b)) in rows.events.iter().zip(&days.events).enumerate() {
        assert!(
            (a - b).abs() <= 1e-5 * a.abs().max(1.0),
            "events at {i}: {a} vs {b}"
        );
    }
    assert_eq!(rows.feedback.len(), days.feedback.len());
    for (i, (a, b)) in rows.feedback.iter().zip(&days.feedback).enumerate() {
        let counts = |f: &features::FeedbackAcc| {
            (f.n_365, f.complaints_365, f.score_n, f.sentiment_n, f.last)
        };
        assert_eq!(counts(a), counts(b), "feedback of row {i}");
        assert!(close(a.score_sum, b.score_sum), "scores of row {i}");
        assert!(
            close(a.sentiment_sum, b.sentiment_sum),
            "sentiment of row {i}"
        );
    }
}

/// Training's cutoffs: the day after the last order, and 90 days before.
fn cutoffs(conn: &store::Conn) -> (Vec<i64>, Vec<i64>) {
    let last: i64 = conn
        .query_row("SELECT max(ts) FROM orders", [], |r| r.get(0))
        .expect("last order");
    let end = (last.div_euclid(DAY) + 1) * DAY;
    (vec![end - 90 * DAY, end], vec![end, end + 90 * DAY])
}

/// The rows' and the daily sums' extractions; the packed sums' extraction
/// is the daily sums' bit for bit (the same additions in the same order).
fn both(conn: &store::Conn) -> (Raw, Raw) {
    let (cuts, ends) = cutoffs(conn);
    let rows =
        features::extract_from(conn, &cuts, &ends, History::Rows, Ctl::silent()).expect("rows");
    let days =
        features::extract_from(conn, &cuts, &ends, History::Days, Ctl::silent()).expect("days");
    let packs =
        features::extract_from(conn, &cuts, &ends, History::Packs, Ctl::silent()).expect("packs");
    assert_identical(&days, &packs);
    (rows, days)
}

fn assert_identical(days: &Raw, packs: &Raw) {
    assert_eq!(days.event_kinds, packs.event_kinds);
    assert_eq!(days.orders, packs.orders);
    assert_eq!(days.events, packs.events);
    assert_eq!(days.feedback, packs.feedback);
}

#[test]
fn demo_features_from_daily_sums_equal_features_from_rows() {
    let db = demo_db(3000, 7);
    let s = db.open();
    assert!(activity::faults(&s.conn).expect("faults").is_empty());
    let (rows, days) = both(&s.conn);
    assert!(!rows.event_kinds.is_empty(), "the demo has events");
    assert!(rows.feedback.iter().any(|f| f.n_365 > 0));
    assert_same(&rows, &days);
    // Training reads the packed daily sums (whole-day cutoffs).
    let (cuts, ends) = cutoffs(&s.conn);
    assert_eq!(features::history_for(&cuts, &ends), History::Packs);
    let chosen = features::extract(&s.conn, &cuts, &ends, Ctl::silent()).expect("extract");
    assert_identical(&days, &chosen);
    assert_eq!(packs::faults(&s.conn).expect("packs"), 0);
    assert_eq!(packs::stale_count(&s.conn).expect("stale"), 0);
}

#[test]
fn cdnow_features_and_clv_summaries_from_daily_sums_equal_rows() {
    let db = TempDb::new();
    db.import(Kind::Orders, &fixture("cdnow_sample.csv"))
        .expect("import");
    let s = db.open();
    assert!(activity::faults(&s.conn).expect("faults").is_empty());
    let (rows, days) = both(&s.conn);
    assert_same(&rows, &days);
    // CDNOW's calibration end (1997-09-30) and the end of its data.
    for as_of in ["1997-09-30", "1998-06-30"] {
        let day = crmtop::timeutil::parse_timestamp(as_of).expect("date") / DAY;
        for unit in [1.0, 7.0] {
            let a = summary::summarise_rows(&s.conn, day, unit, Ctl::silent()).expect("rows");
            let b = summary::summarise(&s.conn, day, unit, Ctl::silent()).expect("days");
            assert!(a.len() > 100, "{} customers by {as_of}", a.len());
            assert_eq!(a.len(), b.len());
            for (x, y) in a.iter().zip(&b) {
                assert_eq!(
                    (x.cid, x.x, x.tx, x.t, x.recency_days, x.transactions),
                    (y.cid, y.x, y.tx, y.t, y.recency_days, y.transactions)
                );
                assert!(close(x.monetary, y.monetary) && close(x.total, y.total));
            }
        }
    }
}

/// One write to the database.
#[derive(Debug, Clone)]
enum Op {
    /// Orders (key, customer, day, second of the day, amount): a key seen
    /// before re-imports that order, moved or changed.
    Orders(Vec<(u8, u8, i64, i64, u16)>),
    /// Events (key, customer, day, kind, value).
    Events(Vec<(u8, u8, i64, u8, u8)>),
    /// Feedback (id, customer, day, kind, score).
    Feedback(Vec<(u8, u8, i64, u8, Option<u8>)>),
    /// An agent claims the next item and resolves it, or releases it.
    Work(bool),
    /// A write outside any load (the triggers' path): (what, row, customer,
    /// day) inserts, moves or deletes one order, event or feedback item.
    Direct(u8, u8, u8, i64),
}

fn op() -> impl Strategy<Value = Op> {
    let day = -3i64..40;
    prop_oneof![
        prop::collection::vec((0u8..12, 0u8..4, day.clone(), 0i64..DAY, 1u16..500), 1..8)
            .prop_map(Op::Orders),
        prop::collection::vec((0u8..12, 0u8..4, day.clone(), 0u8..3, 0u8..5), 1..8)
            .prop_map(Op::Events),
        prop::collection::vec(
            (0u8..8, 0u8..4, day, 0u8..6, prop::option::of(0u8..11)),
            1..6
        )
        .prop_map(Op::Feedback),
        any::<bool>().prop_map(Op::Work),
        (0u8..9, 0u8..12, 0u8..4, -3i64..40).prop_map(|(w, k, c, d)| Op::Direct(w, k, c, d)),
    ]
}

fn date(day: i64, secs: i64) -> String {
    let t = day * DAY + 1_700_006_400 + secs; // 2023-11-15 plus the day
    chrono::DateTime::from_timestamp(t, 0)
        .expect("time")
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

fn apply(db: &TempDb, step: usize, op: &Op) {
    let file = db.file(&format!("step{step}.csv"));
    let kind = match op {
        Op::Orders(rows) => {
            let mut t = String::from("order_id,customer_id,date,amount\n");
            for (k, c, d, s, a) in rows {
                t += &format!("O{k},C{c},{},{}.{}\n", date(*d, *s), a, a % 100);
            }
            std::fs::write(&file, t).expect("write");
            Kind::Orders
        }
        Op::Events(rows) => {
            let mut t = String::from("event_id,customer_id,occurred_at,kind,value\n");
            for (k, c, d, kind, v) in rows {
                let kind = ["login", "support_contact", "social_like"][*kind as usize];
                t += &format!("E{k},C{c},{},{kind},{v}\n", date(*d, 3600));
            }
            std::fs::write(&file, t).expect("write");
            Kind::Events
        }
        Op::Feedback(rows) => {
            let mut t = String::from("id,customer_id,created_at,kind,score,text\n");
            for (k, c, d, kind, score) in rows {
                let kind =
                    ["complaint", "question", "praise", "nps", "csat", "other"][*kind as usize];
                let score = match (kind, score) {
                    ("nps", Some(s)) => s.to_string(),
                    ("csat", Some(s)) => (1 + s % 5).to_string(),
                    _ => String::new(),
                };
                let text = ["great service", "still broken, refund me", ""][(*k % 3) as usize];
                t += &format!("F{k},C{c},{},{kind},{score},{text}\n", date(*d, 7200));
            }
            std::fs::write(&file, t).expect("write");
            Kind::Feedback
        }
        Op::Work(resolve) => {
            let mut s = db.open();
            let sla = Default::default();
            if let Some((fid, _)) =
                workflow::next(&mut s.conn, "ann", &sla, 1_800_000_000).expect("next")
            {
                let act = if *resolve {
                    Act::Resolve("done".into())
                } else {
                    Act::Release
                };
                let t = workflow::Target { fid, version: None };
                workflow::act(&mut s.conn, &[t], &act, "ann", 1_800_000_000).expect("act");
            }
            return;
        }
        Op::Direct(what, k, c, d) => {
            let s = db.open();
            let ts = d * DAY + 1_700_006_400 + i64::from(*k) * 977;
            s.conn
                .execute(
                    "INSERT OR IGNORE INTO customers(id) VALUES ('C' || ?1)",
                    [c],
                )
                .expect("customer");
            let cid: i64 = s
                .conn
                .query_row("SELECT cid FROM customers WHERE id = 'C' || ?1", [c], |r| {
                    r.get(0)
                })
                .expect("cid");
            let k = i64::from(*k);
            let sql = match what {
                0 => "INSERT OR IGNORE INTO orders(order_key, cid, ts, amount) VALUES ('D' || ?1, ?2, ?3, ?1 + 0.25)",
                1 => "UPDATE orders SET cid = ?2, ts = ?3, amount = amount + 1 WHERE oid = (SELECT oid FROM orders ORDER BY oid LIMIT 1 OFFSET ?1 % 5)",
                2 => "DELETE FROM orders WHERE oid = (SELECT oid FROM orders ORDER BY oid LIMIT 1 OFFSET ?1 % 5) AND ?2 = ?2 AND ?3 = ?3",
                3 => "INSERT OR IGNORE INTO events(event_key, cid, ts, kind, value) VALUES ('D' || ?1, ?2, ?3, 'login', ?1)",
                4 => "UPDATE events SET cid = ?2, ts = ?3, kind = 'support_contact' WHERE eid = (SELECT eid FROM events ORDER BY eid LIMIT 1 OFFSET ?1 % 5)",
                5 => "DELETE FROM events WHERE eid = (SELECT eid FROM events ORDER BY eid LIMIT 1 OFFSET ?1 % 5) AND ?2 = ?2 AND ?3 = ?3",
                6 => "INSERT OR IGNORE INTO feedback(id, cid, created_at, kind, score, sentiment) VALUES ('D' || ?1, ?2, ?3, 'nps', ?1 % 11, 0.5)",
                7 => "UPDATE feedback SET cid = ?2, created_at = ?3, kind = 'complaint', sentiment = -0.5 WHERE fid = (SELECT fid FROM feedback ORDER BY fid LIMIT 1 OFFSET ?1 % 5)",
                _ => "DELETE FROM feedback WHERE fid = (SELECT fid FROM feedback ORDER BY fid LIMIT 1 OFFSET ?1 % 5) AND ?2 = ?2 AND ?3 = ?3",
            };
            s.conn
                .execute(sql, rusqlite::params![k, cid, ts])
                .expect(sql);
            return;
        }
    };
    // A rejected row (a day moved) is reported, not fatal: the rest loads.
    db.import(kind, &file).expect("import");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn daily_sums_equal_their_rows_after_any_writes(ops in prop::collection::vec(op(), 1..10)) {
        let db = TempDb::new();
        for (i, op) in ops.iter().enumerate() {
            apply(&db, i, op);
        }
        let s = db.open();
        let faults = activity::faults(&s.conn).expect("faults");
        prop_assert!(faults.is_empty(), "{faults:?} after {ops:?}");
        // Every pack not marked stale equals its customer's days (the
        // readers take the marked ones from the days).
        let bad = packs::faults(&s.conn).expect("packs");
        prop_assert_eq!(bad, 0, "packs after {:?}", ops);
        let direct = ops.iter().any(|o| matches!(o, Op::Direct(..)));
        let stale = packs::stale_count(&s.conn).expect("stale");
        prop_assert!(direct || stale == 0, "{} stale without a direct write", stale);
        // And what training would read from them is what the rows give.
        let n: i64 = s.conn.query_row("SELECT count(*) FROM orders", [], |r| r.get(0)).expect("n");
        if n > 0 {
            let (rows, days) = both(&s.conn);
            assert_same(&rows, &days);
        }
        // Packing the stale customers leaves none stale and every pack right.
        packs::refresh(&s.conn, packs::Scope::Stale, Ctl::silent()).expect("refresh");
        prop_assert_eq!(packs::stale_count(&s.conn).expect("stale"), 0);
        prop_assert_eq!(packs::faults(&s.conn).expect("packs"), 0);
        if n > 0 {
            // (which compares the packed read with the daily sums' again)
            both(&s.conn);
        }
    }
}

#[test]
fn doctor_finds_and_fixes_daily_sums_that_drifted() {
    let db = TempDb::new();
    db.import(Kind::Orders, &fixture("cdnow_sample.csv"))
        .expect("import");
    db.import(Kind::Events, &fixture("events.csv"))
        .expect("events");
    db.import(Kind::Feedback, &fixture("feedback.csv"))
        .expect("feedback");
    {
        let s = db.open();
        s.conn
            .execute_batch(
                "UPDATE order_days SET n = n + 1 WHERE cid IN (SELECT cid FROM order_days LIMIT 3);
                 DELETE FROM event_kind_days;
                 UPDATE feedback_days SET score_sum = score_sum + 1;",
            )
            .expect("damage");
        let faults = activity::faults(&s.conn).expect("faults");
        let tables: Vec<&str> = faults.iter().map(|f| f.0).collect();
        assert_eq!(tables, ["order_days", "event_kind_days", "feedback_days"]);
    }
    let out = db.run(&["doctor"]);
    let text = stdout(&out);
    assert!(!out.status.success(), "{text}");
    assert!(text.contains("daily sums"), "{text}");
    assert!(text.contains("in order_days"), "{text}");
    let out = db.run(&["doctor", "--fix"]);
    assert!(out.status.success(), "{}", stdout(&out));
    let s = db.open();
    assert!(activity::faults(&s.conn).expect("faults").is_empty());
    assert_eq!(packs::faults(&s.conn).expect("packs"), 0);
}

#[test]
fn doctor_finds_and_fixes_packed_history_that_drifted() {
    let db = TempDb::new();
    db.import(Kind::Orders, &fixture("cdnow_sample.csv"))
        .expect("import");
    db.import(Kind::Events, &fixture("events.csv"))
        .expect("events");
    {
        let s = db.open();
        assert_eq!(packs::faults(&s.conn).expect("packs"), 0);
        // One pack changed, one lost, one unreadable; a stale mark is no fault.
        s.conn
            .execute_batch(
                "UPDATE history_packs SET pack = (SELECT pack FROM history_packs ORDER BY cid DESC LIMIT 1)
                  WHERE cid = (SELECT min(cid) FROM history_packs);
                 DELETE FROM history_packs WHERE cid = (SELECT max(cid) FROM history_packs);
                 UPDATE history_packs SET pack = x'0907'
                  WHERE cid = (SELECT cid FROM history_packs ORDER BY cid LIMIT 1 OFFSET 5);",
            )
            .expect("damage");
        assert_eq!(packs::faults(&s.conn).expect("packs"), 3);
        // Training refuses an unreadable pack with a way out, not a panic.
        let (cuts, ends) = cutoffs(&s.conn);
        let err = features::extract_from(&s.conn, &cuts, &ends, History::Packs, Ctl::silent())
            .err()
            .expect("damaged pack");
        assert!(err.to_string().contains("doctor --fix"), "{err}");
    }
    let out = db.run(&["doctor"]);
    let text = stdout(&out);
    assert!(!out.status.success(), "{text}");
    assert!(text.contains("packed history"), "{text}");
    assert!(text.contains("3 customers"), "{text}");
    let out = db.run(&["doctor", "--fix"]);
    assert!(out.status.success(), "{}", stdout(&out));
    let s = db.open();
    assert_eq!(packs::faults(&s.conn).expect("packs"), 0);
    let (rows, days) = both(&s.conn);
    assert_same(&rows, &days);
}

#[test]
fn plain_writes_outside_a_load_mark_the_customer_and_read_the_same() {
    let db = TempDb::new();
    db.import(Kind::Orders, &fixture("cdnow_sample.csv"))
        .expect("import");
    let s = db.open();
    assert_eq!(packs::stale_count(&s.conn).expect("stale"), 0);
    // Plain statements (no OR clause), as another tool would write: two
    // orders on one day (the second updates that day's sums), an event, a
    // feedback item, a move and a delete.
    s.conn
        .execute_batch(
            "INSERT INTO orders(order_key, cid, ts, amount)
               SELECT 'x1', min(cid), max(ts), 3.5 FROM orders;
             INSERT INTO orders(order_key, cid, ts, amount)
               SELECT 'x2', min(cid), max(ts), 4.25 FROM orders;
             INSERT INTO events(event_key, cid, ts, kind, value)
               SELECT 'x3', min(cid), max(ts), 'login', 1 FROM orders;
             INSERT INTO feedback(id, cid, created_at, kind, score)
               SELECT 'x4', min(cid), max(ts), 'nps', 9 FROM orders;
             UPDATE orders SET cid = (SELECT max(cid) FROM customers) WHERE order_key = 'x1';
             DELETE FROM orders WHERE oid = (SELECT min(oid) FROM orders);",
        )
        .expect("plain writes");
    let stale = packs::stale_count(&s.conn).expect("stale");
    assert!((2..=3).contains(&stale), "{stale} customers marked");
    assert_eq!(packs::faults(&s.conn).expect("packs"), 0);
    let (rows, days) = both(&s.conn);
    assert_same(&rows, &days);
}
