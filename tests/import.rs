//! CSV import: attributes, customer creation, every reject kind, idempotence.

mod common;
use common::{fixture, TempDb};
use crmtop::ingest::Kind;

/// The reject file's rows. It keeps the original bytes of each rejected row
/// (even invalid UTF-8), so it is read as bytes.
fn rejects(db: &TempDb) -> Vec<Vec<String>> {
    let mut r = csv::ReaderBuilder::new()
        .flexible(true)
        .from_path(db.file("rejects.csv"))
        .expect("reject file exists");
    r.byte_records()
        .map(|x| {
            x.expect("record")
                .iter()
                .map(|f| String::from_utf8_lossy(f).into_owned())
                .collect()
        })
        .collect()
}

/// Write `text` as a customers file and import it with its rejects in
/// `rejects.csv`.
fn import_customers_text(db: &TempDb, text: &str) -> crmtop::ingest::ImportSummary {
    let f = db.file("c.csv");
    std::fs::write(&f, text).unwrap();
    let mut opts = crmtop::ingest::ImportOptions::new(Kind::Customers, f);
    opts.reject_file = Some(db.file("rejects.csv"));
    db.import_opts(&opts, crmtop::jobs::Ctl::silent()).unwrap()
}

#[test]
fn extra_customer_columns_become_attributes() {
    let db = TempDb::new().on_engine();
    let s = db
        .import(Kind::Customers, &fixture("customers_extra.csv"))
        .unwrap();
    assert_eq!((s.read, s.inserted, s.rejected), (4, 4, 0));
    assert_eq!(s.attribute_columns, vec!["loyalty_tier", "devices"]);
    use crmtop::store::attributes;
    use rusqlite::types::Value;
    let conn = db.db();
    let cid =
        |id: &str| -> i64 { db.count(&format!("SELECT cid FROM customers WHERE id = '{id}'")) };
    let of = |id: &str| attributes::of_customer(&conn, cid(id)).unwrap();
    assert!(of("C1").contains(&("loyalty_tier".to_string(), Value::Text("gold".into()))));
    assert!(of("C3").contains(&("devices".to_string(), Value::Real(2.0))));
    assert_eq!(
        attributes::names(&conn).unwrap(),
        ["devices", "loyalty_tier"]
    );
    // Empty cells are not stored; the churn label is read in its three spellings.
    assert_eq!(attributes::numeric(&conn, "devices").unwrap().len(), 3);
    let tiers = attributes::values(&conn, "loyalty_tier").unwrap().unwrap();
    assert!(
        tiers.iter().all(|(_, v)| matches!(v, Value::Text(_))),
        "{tiers:?}"
    );
    assert_eq!(
        db.count("SELECT count(*) FROM customers WHERE churned = 1"),
        2
    );
    // Dates in all three accepted forms end up as calendar dates.
    assert_eq!(
        db.text("SELECT signup_date FROM customers WHERE id = 'C3'"),
        "2024-03-05"
    );
    assert_eq!(
        db.text("SELECT name FROM customers WHERE id = 'C4'"),
        "王芳"
    );
}

#[test]
fn an_orders_only_file_creates_its_customers_and_keeps_identical_rows() {
    let db = TempDb::new().on_engine();
    let s = db
        .import(Kind::Orders, &fixture("orders_only.csv"))
        .unwrap();
    assert_eq!(
        (s.read, s.inserted, s.rejected, s.customers_created),
        (5, 5, 0, 3)
    );
    assert_eq!(db.count("SELECT count(*) FROM customers"), 3);
    // Two identical lines are two purchases (the same mug bought twice that day).
    assert_eq!(
        db.count("SELECT count(*) FROM orders o JOIN customers c USING (cid) WHERE c.id = 'X100'"),
        3
    );
    assert_eq!(
        db.count("SELECT n_orders FROM customers WHERE id = 'X100'"),
        3
    );
    let revenue = db.real("SELECT revenue FROM customers WHERE id = 'X100'");
    assert!((revenue - 44.98).abs() < 1e-9);
    if common::engine_is_postgres() {
        // A server keeps no monthly totals (a file's dashboard reads them).
        return;
    }
    let months: f64 = db
        .open()
        .conn
        .query_row("SELECT sum(revenue) FROM monthly_revenue", [], |r| r.get(0))
        .unwrap();
    assert!((months - (19.99 * 2.0 + 5.0 + 120.5 + 42.0)).abs() < 1e-9);
}

#[test]
fn bad_rows_are_rejected_with_line_field_and_reason_and_good_rows_kept() {
    let db = TempDb::new().on_engine();
    let s = db.import(Kind::Orders, &fixture("orders_bad.csv")).unwrap();
    assert_eq!(s.read, 9);
    assert_eq!(s.inserted, 2, "{s:?}");
    assert_eq!(s.rejected, 7);
    let r = rejects(&db);
    let got: Vec<(String, String)> = r
        .iter()
        .map(|x| (x[0].to_string(), x[1].to_string()))
        .collect();
    assert_eq!(
        got,
        vec![
            ("3".into(), "customer_id".into()),
            ("4".into(), "timestamp".into()),
            ("5".into(), "amount".into()),
            ("6".into(), "quantity".into()),
            ("7".into(), "".into()),
            ("8".into(), "product".into()),
            ("9".into(), "id".into()),
        ]
    );
    let reasons: Vec<&str> = r.iter().map(|x| x[2].as_str()).collect();
    assert!(reasons[0].contains("missing"));
    assert!(reasons[1].contains("not a date"));
    assert!(reasons[2].contains("not a decimal number"));
    assert!(reasons[3].contains("negative quantity"));
    assert!(reasons[4].contains("expected 6 columns, found 4"));
    assert!(reasons[5].contains("UTF-8"));
    assert!(reasons[6].contains("duplicate id"));
    // The rejected rows' original cells follow the reason.
    assert_eq!(&r[1][3], "O3");
    // Even the row with invalid UTF-8 is kept byte for byte.
    let raw = std::fs::read(db.file("rejects.csv")).unwrap();
    assert!(raw.windows(4).any(|w| w == b"T\xe9a\n" || w == b"T\xe9a\r"));
    assert_eq!(db.count("SELECT count(*) FROM orders"), 2);
    // The rejected rows hold customer data: the file is private.
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(db.file("rejects.csv"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
}

#[test]
fn re_import_changes_nothing() {
    let db = TempDb::new().on_engine();
    for (kind, file) in [
        (Kind::Customers, "customers_extra.csv"),
        (Kind::Orders, "orders_only.csv"),
        (Kind::Orders, "orders_bad.csv"),
        (Kind::Feedback, "feedback.csv"),
        (Kind::Events, "events.csv"),
    ] {
        let first = db.import(kind, &fixture(file)).unwrap();
        let snapshot = dump(&db);
        let again = db.import(kind, &fixture(file)).unwrap();
        assert_eq!(again.inserted, 0, "{file}: {again:?}");
        assert_eq!(again.updated, 0, "{file}: {again:?}");
        assert_eq!(
            again.unchanged,
            first.inserted + first.updated + first.unchanged,
            "{file}"
        );
        assert_eq!(again.rejected, first.rejected, "{file}");
        assert_eq!(
            dump(&db),
            snapshot,
            "{file}: a re-import changed the database"
        );
    }
}

/// Every table's rows, for before/after comparisons (on the engine under
/// test; monthly totals are a file's).
fn dump(db: &TempDb) -> String {
    let mut out = String::new();
    let mut queries = vec![
        "SELECT * FROM customers ORDER BY cid",
        "SELECT * FROM orders ORDER BY oid",
        "SELECT * FROM events ORDER BY eid",
        "SELECT fid, id, cid, created_at, channel, kind, score, text, sentiment, status, assignee, version FROM feedback ORDER BY fid",
        "SELECT * FROM queue ORDER BY fid",
        "SELECT count(*) FROM audit_log",
        "SELECT * FROM customer_attrs ORDER BY cid",
    ];
    if !common::engine_is_postgres() {
        queries.push("SELECT * FROM monthly_revenue ORDER BY month");
    }
    for sql in queries {
        for row in db.dump_rows(sql) {
            out.push_str(&row);
            out.push('\n');
        }
    }
    out
}

#[test]
fn changed_rows_are_updated_and_empty_cells_keep_stored_values() {
    let db = TempDb::new().on_engine();
    db.import(Kind::Customers, &fixture("customers_extra.csv"))
        .unwrap();
    let f = db.file("update.csv");
    std::fs::write(&f, "id,name,email,plan,loyalty_tier\nC1,Ada King,,basic,gold\nC2,Alan Turing,,,\nC9,New Person,new@example.com,basic,\n").unwrap();
    let s = db.import(Kind::Customers, &f).unwrap();
    // C2's row is unchanged (its attribute cell is empty).
    assert_eq!((s.inserted, s.updated, s.unchanged), (1, 1, 1), "{s:?}");
    assert_eq!(
        db.dump_rows("SELECT name, email, plan FROM customers WHERE id = 'C1'"),
        ["\"Ada King\"|\"ada@example.com\"|\"basic\""]
    );
    // A row whose only change is an attribute is updated; an empty cell
    // keeps the stored value; a number may become a text.
    std::fs::write(&f, "id,loyalty_tier,devices\nC1,silver,\nC2,,\nC3,,many\n").unwrap();
    let s = db.import(Kind::Customers, &f).unwrap();
    assert_eq!((s.inserted, s.updated, s.unchanged), (0, 2, 1), "{s:?}");
    use crmtop::store::attributes;
    use rusqlite::types::Value;
    let conn = db.db();
    let cid = |id: &str| db.count(&format!("SELECT cid FROM customers WHERE id = '{id}'"));
    let c1 = attributes::of_customer(&conn, cid("C1")).unwrap();
    assert!(
        c1.contains(&("loyalty_tier".into(), Value::Text("silver".into()))),
        "{c1:?}"
    );
    let c3 = attributes::of_customer(&conn, cid("C3")).unwrap();
    assert!(
        c3.contains(&("devices".into(), Value::Text("many".into()))),
        "{c3:?}"
    );
    assert_eq!(attributes::numeric(&conn, "devices").unwrap().len(), 2);
    // The same file again changes nothing.
    let s = db.import(Kind::Customers, &f).unwrap();
    assert_eq!((s.inserted, s.updated, s.unchanged), (0, 0, 3), "{s:?}");
}

#[test]
fn feedback_and_events_import_with_sentiment_and_normalised_kinds() {
    let db = TempDb::new().on_engine();
    let s = db.import(Kind::Feedback, &fixture("feedback.csv")).unwrap();
    assert_eq!((s.inserted, s.rejected, s.customers_created), (5, 0, 4));
    let sent = db.real("SELECT sentiment FROM feedback WHERE id = 'F1'");
    assert!(sent < -0.5, "{sent}");
    let sent = db.real("SELECT sentiment FROM feedback WHERE id = 'F3'");
    assert!(sent > 0.3, "{sent}");
    assert_eq!(
        db.count("SELECT count(*) FROM feedback WHERE status = 'new'"),
        5
    );
    // The complaint at risk ranks above the praise.
    let top = db.text(
        "SELECT f.id FROM feedback f JOIN queue q USING (fid) ORDER BY q.prio_static DESC LIMIT 1",
    );
    assert_eq!(top, "F1");

    let s = db.import(Kind::Events, &fixture("events.csv")).unwrap();
    assert_eq!((s.inserted, s.rejected), (4, 0));
    assert_eq!(
        db.count("SELECT count(*) FROM events WHERE kind = 'support_contact'"),
        1
    );
    assert_eq!(
        db.count("SELECT count(*) FROM events WHERE kind = 'login'"),
        2
    );
    assert_eq!(
        db.count("SELECT CAST(sum(value) AS INTEGER) FROM events WHERE kind = 'social_like'"),
        1
    );
}

#[test]
fn files_that_cannot_be_read_at_all_write_nothing() {
    let db = TempDb::new();
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("empty.csv", vec![], "empty"),
        (
            "no_id.csv",
            b"name,email\nAda,ada@example.com\n".to_vec(),
            "missing required column(s) id",
        ),
        (
            "semicolon.csv",
            b"customer_id;timestamp;amount\nC1;2024-01-01;3\n".to_vec(),
            "--delimiter ;",
        ),
        (
            "dup.csv",
            b"id,name,name\nC1,a,b\n".to_vec(),
            "duplicate column 'name'",
        ),
        (
            "alias.csv",
            b"id,customer_id,order_id,timestamp,amount\n".to_vec(),
            "both mean 'id'",
        ),
        (
            "binary.csv",
            vec![0xff, 0xfe, 0x00, 0x41, b'\n'],
            "not valid UTF-8",
        ),
    ];
    for (name, bytes, want) in cases {
        let f = db.file(name);
        std::fs::write(&f, bytes).unwrap();
        let kind = if name == "no_id.csv" || name == "dup.csv" {
            Kind::Customers
        } else {
            Kind::Orders
        };
        let err = db
            .import(kind, &f)
            .err()
            .unwrap_or_else(|| panic!("{name} should fail"));
        assert!(err.to_string().contains(want), "{name}: {err}");
        assert_eq!(err.exit_code(), 2, "{name}");
    }
    let err = db
        .import(Kind::Orders, &db.file("missing.csv"))
        .err()
        .unwrap();
    assert_eq!(err.exit_code(), 2);
    assert_eq!(db.count("SELECT count(*) FROM customers"), 0);
    assert_eq!(db.count("SELECT count(*) FROM audit_log"), 0);
}

#[test]
fn customers_file_rejects_each_kind_of_bad_value() {
    let db = TempDb::new().on_engine();
    let long = "x".repeat(10_000);
    let text = format!(
        "id,name,email,signup_date,age,income,churned\n\
         ,Nobody,a@b.c,2024-01-01,30,1,0\n\
         K1,Bad Mail,not-an-email,2024-01-01,30,1,0\n\
         K2,Bad Date,a@b.c,01/02/2024,30,1,0\n\
         K3,Bad Age,a@b.c,2024-01-01,300,1,0\n\
         K4,Bad Income,a@b.c,2024-01-01,30,-5,0\n\
         K5,Bad Label,a@b.c,2024-01-01,30,1,maybe\n\
         K6,{long},a@b.c,2024-01-01,30,1,0\n\
         K7,\"Quoted, with comma\nand newline\",a@b.c,2024-01-01,30,1,yes\n"
    );
    let f = db.file("bad_customers.csv");
    std::fs::write(&f, text).unwrap();
    let s = db.import(Kind::Customers, &f).unwrap();
    assert_eq!((s.inserted, s.rejected), (1, 7), "{s:?}");
    let fields: Vec<String> = rejects(&db).iter().map(|r| r[1].to_string()).collect();
    assert_eq!(
        fields,
        vec![
            "id",
            "email",
            "signup_date",
            "age",
            "income",
            "churned",
            "name"
        ]
    );
    let name = db.text("SELECT name FROM customers WHERE id = 'K7'");
    assert_eq!(name, "Quoted, with comma\nand newline");
}

#[test]
fn bom_crlf_and_blank_lines_are_handled() {
    let db = TempDb::new().on_engine();
    let f = db.file("bom.csv");
    std::fs::write(
        &f,
        b"\xef\xbb\xbfid,name\r\nB1,Bom One\r\n\r\nB2,Bom Two\r\n",
    )
    .unwrap();
    let s = db.import(Kind::Customers, &f).unwrap();
    assert_eq!((s.read, s.inserted, s.rejected), (2, 2, 0), "{s:?}");
    assert_eq!(
        db.count("SELECT count(*) FROM customers WHERE name LIKE 'Bom%'"),
        2
    );
}

#[test]
fn dry_run_counts_but_writes_nothing() {
    let db = TempDb::new().on_engine();
    let mut opts = crmtop::ingest::ImportOptions::new(Kind::Orders, fixture("orders_bad.csv"));
    opts.dry_run = true;
    opts.reject_file = Some(db.file("rejects.csv"));
    let sum = db.import_opts(&opts, crmtop::jobs::Ctl::silent()).unwrap();
    assert_eq!((sum.inserted, sum.rejected), (2, 7));
    assert_eq!(db.count("SELECT count(*) FROM orders"), 0);
    assert_eq!(db.count("SELECT count(*) FROM customers"), 0);
    assert_eq!(rejects(&db).len(), 7);
}

#[test]
fn a_cancelled_import_leaves_the_database_unchanged() {
    use std::sync::atomic::AtomicBool;
    let db = TempDb::new().on_engine();
    db.import(Kind::Orders, &fixture("orders_only.csv"))
        .unwrap();
    let before = db.count("SELECT count(*) FROM orders");
    let cancel = AtomicBool::new(true);
    let mut opts = crmtop::ingest::ImportOptions::new(Kind::Orders, fixture("orders_bad.csv"));
    opts.reject_file = Some(db.file("rejects.csv"));
    let err = db
        .import_opts(&opts, crmtop::jobs::Ctl::new(&|_| {}, &cancel))
        .unwrap_err();
    assert!(matches!(err, crmtop::Error::Cancelled));
    assert_eq!(db.count("SELECT count(*) FROM orders"), before);
}

/// Orders and events go in many rows per statement; a statement that meets
/// existing keys falls back to the row-by-row rules. Files far longer than a
/// statement, with duplicates inside one statement's rows and across them,
/// changed and unchanged rows on re-import, must give exactly the verdicts
/// (and reject lines) of one row at a time.
/// `n` order lines `O{id},C{i % 37},{month}-{day},{i}.{cents}`, the id of
/// row `i` being `id_of(i)` (repeats make duplicates).
fn numbered_orders(n: usize, id_of: impl Fn(usize) -> usize, month: &str, cents: &str) -> String {
    (0..n)
        .map(|i| {
            format!(
                "O{},C{},{month}-{:02},{i}.{cents}\n",
                id_of(i),
                i % 37,
                1 + i % 28
            )
        })
        .collect()
}

#[test]
fn batched_inserts_give_the_row_by_row_verdicts() {
    let db = TempDb::new().on_engine();
    let orders = db.file("many_orders.csv");
    let mut text = String::from("id,customer_id,timestamp,amount\n");
    // 1,000 rows; ids repeat at rows 10 (same statement as row 5), 200
    // (another statement) and 999 (the short tail).
    let id_of = |i: usize| match i {
        10 => 5,
        200 => 7,
        999 => 100,
        i => i,
    };
    text.push_str(&numbered_orders(1000, id_of, "2024-01", "50"));
    std::fs::write(&orders, &text).unwrap();
    let s = db.import(Kind::Orders, &orders).unwrap();
    assert_eq!((s.read, s.inserted, s.rejected), (1000, 997, 3), "{s:?}");
    let r = rejects(&db);
    let lines: Vec<&str> = r.iter().map(|row| row[0].as_str()).collect();
    // Line = row + 2 (the header is line 1), in file order.
    assert_eq!(lines, ["12", "202", "1001"]);
    assert!(r[0][2].contains("duplicate id"), "{:?}", r[0]);
    assert_eq!(db.count("SELECT count(*) FROM orders"), 997);
    assert_eq!(db.count("SELECT count(*) FROM customers"), 37);
    // The first row with an id wins.
    assert_eq!(
        db.count("SELECT CAST(amount * 100 AS INTEGER) FROM orders WHERE order_key = 'O5'"),
        550
    );
    // Totals follow the orders.
    assert_eq!(
        db.count("SELECT CAST(sum(n_orders) AS BIGINT) FROM customers"),
        db.count("SELECT count(*) FROM orders")
    );

    // Re-import with every 50th amount changed (19 rows, the duplicate at
    // row 200 left alone): those are updated, the others unchanged, the
    // duplicates still rejected.
    let changed: String = text
        .lines()
        .enumerate()
        .map(|(n, l)| {
            if n > 0 && (n - 1) % 50 == 0 && ![11, 201, 1000].contains(&n) {
                format!("{}\n", l.replace(".50", ".75"))
            } else {
                format!("{l}\n")
            }
        })
        .collect();
    std::fs::write(&orders, changed).unwrap();
    let again = db.import(Kind::Orders, &orders).unwrap();
    assert_eq!(
        (
            again.inserted,
            again.updated,
            again.unchanged,
            again.rejected
        ),
        (0, 19, 978, 3),
        "{again:?}"
    );
    assert_eq!(
        db.count("SELECT count(*) FROM orders WHERE CAST(amount * 100 AS INTEGER) % 100 = 75"),
        19
    );

    // Events: the same path, with keys from content for rows without an id.
    let events = db.file("many_events.csv");
    let mut text = String::from("customer_id,occurred_at,kind,value\n");
    for i in 0..300 {
        // Rows 100 and 101 are identical: two events, both kept.
        let k = if i == 101 { 100 } else { i };
        text.push_str(&format!(
            "C{},2024-02-{:02},login,{}\n",
            k % 11,
            1 + k % 28,
            k
        ));
    }
    std::fs::write(&events, &text).unwrap();
    let s = db.import(Kind::Events, &events).unwrap();
    assert_eq!((s.read, s.inserted, s.rejected), (300, 300, 0), "{s:?}");
    let again = db.import(Kind::Events, &events).unwrap();
    assert_eq!((again.inserted, again.unchanged), (0, 300), "{again:?}");
}

/// A file of several batches gives the row-by-row verdicts too, where a
/// server prepares a batch while the previous one is still being sent: a
/// key repeated within a batch, from the batch before (not yet sent when
/// it is met), and from the first batch, is each a duplicate, the first
/// row winning; every other row is inserted once, and totals follow.
#[test]
fn several_batches_give_the_row_by_row_verdicts() {
    let db = TempDb::new().on_engine();
    let orders = db.file("batches.csv");
    let mut text = String::from("id,customer_id,timestamp,amount\n");
    // Batches hold 4,096 rows: 0-4095 (its customers new), 4096-8191 and
    // 8192-12287 (prepared while the one before is sent), 12288-14999.
    let id_of = |i: usize| match i {
        8300 => 8200,   // the same batch
        13000 => 12000, // the batch before, still waiting to be sent
        14000 => 100,   // the first batch
        i => i,
    };
    text.push_str(&numbered_orders(15_000, id_of, "2024-03", "25"));
    std::fs::write(&orders, &text).unwrap();
    // Cancelled once the third batch is on its way: nothing is kept.
    {
        use std::sync::atomic::{AtomicBool, Ordering};
        let cancel = AtomicBool::new(false);
        let cb = |p: crmtop::jobs::Progress| {
            // (The third batch ends at byte 355,416, the second at 233,160.)
            if p.done >= 300_000 {
                cancel.store(true, Ordering::SeqCst);
            }
        };
        let opts = crmtop::ingest::ImportOptions::new(Kind::Orders, orders.clone());
        let err = db
            .import_opts(&opts, crmtop::jobs::Ctl::new(&cb, &cancel))
            .unwrap_err();
        assert!(matches!(err, crmtop::Error::Cancelled), "{err}");
        assert_eq!(db.count("SELECT count(*) FROM orders"), 0);
        assert_eq!(db.count("SELECT count(*) FROM customers"), 0);
    }
    let s = db.import(Kind::Orders, &orders).unwrap();
    assert_eq!(
        (s.read, s.inserted, s.rejected),
        (15_000, 14_997, 3),
        "{s:?}"
    );
    let r = rejects(&db);
    let lines: Vec<&str> = r.iter().map(|row| row[0].as_str()).collect();
    assert_eq!(lines, ["8302", "13002", "14002"]);
    assert!(r.iter().all(|row| row[2].contains("duplicate id")), "{r:?}");
    assert_eq!(db.count("SELECT count(*) FROM orders"), 14_997);
    for (key, cents) in [
        ("O8200", 820_025),
        ("O12000", 1_200_025),
        ("O100", 10_025),
        ("O4096", 409_625),
        ("O14999", 1_499_925),
    ] {
        assert_eq!(
            db.count(&format!(
                "SELECT CAST(amount * 100 AS INTEGER) FROM orders WHERE order_key = '{key}'"
            )),
            cents,
            "{key}"
        );
    }
    assert_eq!(
        db.count("SELECT CAST(sum(n_orders) AS BIGINT) FROM customers"),
        14_997
    );
    let again = db.import(Kind::Orders, &orders).unwrap();
    assert_eq!(
        (again.inserted, again.unchanged, again.rejected),
        (0, 14_997, 3),
        "{again:?}"
    );
}

/// A first load large enough to set indexes and keys aside while it copies
/// (and, on a server, to create its customers at its end) builds them all
/// again: the same rows and totals on both engines, customer ids still
/// unique, and every order's customer there.
#[test]
fn a_large_first_load_builds_again_what_it_set_aside() {
    let db = TempDb::new().on_engine();
    let orders = db.file("large.csv");
    let mut text = String::from("id,customer_id,timestamp,amount,product,category\n");
    let n = 150_000;
    for i in 0..n {
        text.push_str(&format!(
            "ORDER-{i:08},CUSTOMER-{:06},2024-{:02}-{:02},{}.5,P{},Category {}\n",
            (i * 7919) % 20_000,
            1 + i % 12,
            1 + i % 28,
            i % 500,
            i % 40,
            i % 6
        ));
    }
    std::fs::write(&orders, &text).unwrap();
    let s = db.import(Kind::Orders, &orders).unwrap();
    assert_eq!(
        (s.inserted, s.rejected, s.customers_created),
        (n as u64, 0, 20_000),
        "{s:?}"
    );
    assert_eq!(db.count("SELECT count(*) FROM orders"), n as i64);
    assert_eq!(db.count("SELECT count(*) FROM customers"), 20_000);
    assert_eq!(db.count("SELECT count(DISTINCT id) FROM customers"), 20_000);
    // Every order's customer is there, and the totals follow the orders.
    assert_eq!(
        db.count("SELECT count(*) FROM orders o LEFT JOIN customers c ON c.cid = o.cid WHERE c.cid IS NULL"),
        0
    );
    assert_eq!(
        db.count("SELECT CAST(sum(n_orders) AS BIGINT) FROM customers"),
        n as i64
    );
    // The keys are back: a second customer with an existing id is refused.
    let refused = |sql: &str| {
        use crmtop::store::sql::Sql;
        db.db().exec(sql, &[]).is_err()
    };
    assert!(
        refused("INSERT INTO customers (cid, id) VALUES (999999, 'CUSTOMER-000001')"),
        "a duplicate customer id was accepted"
    );
    assert!(
        refused("INSERT INTO orders (oid, order_key, cid, ts, amount) VALUES (999999999, 'X', 999999, 0, 1)"),
        "an order without its customer was accepted"
    );
    // Loading it again changes nothing.
    let again = db.import(Kind::Orders, &orders).unwrap();
    assert_eq!(
        (again.inserted, again.unchanged),
        (0, n as u64),
        "{again:?}"
    );
}

/// Quoted newlines do not shift the line numbers of later rejects; a long
/// free text (10,000 characters) is kept whole; a row with invalid UTF-8
/// in one field is rejected naming that field, the others kept.
#[test]
fn quoted_newlines_long_texts_and_bad_bytes_in_one_file() {
    let db = TempDb::new().on_engine();
    let long = "word ".repeat(2_000);
    let mut bytes = format!(
        "id,customer_id,created_at,kind,text\r\n\
         F1,C1,2024-05-01,complaint,\"first line\r\nsecond line\r\nthird\"\r\n\
         F2,C1,2024-05-02,question,{long}\r\n\
         F3,C2,not-a-date,praise,thanks\r\n"
    )
    .into_bytes();
    bytes.extend_from_slice(b"F4,C2,2024-05-03,other,caf\xe9 au lait\r\n");
    bytes.extend_from_slice(b"F5,C3,2024-05-04,praise,\"quoted \"\"twice\"\"\"\r\n");
    let f = db.file("mixed.csv");
    std::fs::write(&f, bytes).unwrap();
    let s = db.import(Kind::Feedback, &f).unwrap();
    assert_eq!((s.read, s.inserted, s.rejected), (5, 3, 2), "{s:?}");
    let r = rejects(&db);
    // F3 starts on line 6 (the header is line 1, F1 spans lines 2-4).
    assert_eq!((r[0][0].as_str(), r[0][1].as_str()), ("6", "created_at"));
    assert_eq!((r[1][0].as_str(), r[1][1].as_str()), ("7", "text"));
    assert!(r[1][2].contains("UTF-8"), "{:?}", r[1]);
    // COPY's text format carries the carriage returns and quotes unchanged.
    let text =
        |id: &str| -> String { db.text(&format!("SELECT text FROM feedback WHERE id = '{id}'")) };
    assert_eq!(text("F1"), "first line\r\nsecond line\r\nthird");
    assert_eq!(text("F2").chars().count(), 10_000 - 1);
    assert_eq!(text("F5"), "quoted \"twice\"");
}

/// A quote left open swallows the lines after it into one record: the
/// reject names the line, the open quote and how many lines it took, and
/// every one of those lines is in the rejects file, to be fixed and
/// imported again; the rows after the record are imported.
#[test]
fn an_unclosed_quote_says_which_lines_it_swallowed_and_keeps_them() {
    let db = TempDb::new().on_engine();
    let s = import_customers_text(
        &db,
        "id,name,email,plan,signup_date\n\
         X1,Ann,a@x.com,basic,2024-01-01\n\
         X2,\"Broken quote,b@x.com,basic,2024-01-02\n\
         X3,Cid,c@x.com,basic,2024-01-03\n\
         X4,Dee,\"d@x.com\",basic,2024-01-04\n\
         X5,Eve,e@x.com,basic,2024-01-05\n",
    );
    assert_eq!((s.inserted, s.rejected), (2, 1), "{s:?}");
    let r = rejects(&db);
    assert_eq!(r.len(), 1, "{r:?}");
    assert_eq!(r[0][0], "3");
    assert!(
        r[0][2].contains("a quote opened on this line is not closed")
            && r[0][2].contains("this line and the 2 after it"),
        "{}",
        r[0][2]
    );
    // The swallowed line is in the reject's cells, whole.
    assert!(
        r[0][4].contains("X3,Cid,c@x.com,basic,2024-01-03"),
        "{:?}",
        r[0]
    );
    assert_eq!(
        db.count("SELECT count(*) FROM customers WHERE id IN ('X1', 'X4', 'X5')"),
        2
    );
}

/// A quote left open that a later field's quote closes: the record has the
/// right width, but the rows between were read as one field's text. It is
/// rejected (it was imported as one garbled row, and the rows swallowed
/// were lost without a word); a real multi-line text is imported.
#[test]
fn rows_swallowed_by_a_quote_closed_late_are_rejected_not_merged() {
    let db = TempDb::new().on_engine();
    let s = import_customers_text(
        &db,
        "id,name,email,region\n\
         X1,Good One,g1@x.com,north\n\
         X2,\"Broken quote,b@x.com,south\n\
         X3,Good Three,g3@x.com,east\n\
         X4,\"Four Jr\",g4@x.com,west\n\
         X5,\"Five, on\ntwo lines\",g5@x.com,north\n",
    );
    assert_eq!((s.inserted, s.rejected), (2, 1), "{s:?}");
    let r = rejects(&db);
    assert_eq!(r[0][0], "3");
    assert!(
        r[0][2].contains("seems to close only 2 lines later")
            && r[0][2].contains("one of them holds as many separators"),
        "{}",
        r[0][2]
    );
    assert!(r[0][4].contains("X3,Good Three"), "{:?}", r[0]);
    assert_eq!(
        db.dump_rows("SELECT id FROM customers ORDER BY id"),
        vec!["\"X1\"", "\"X5\""]
    );
}

/// A customers file is written many customers per statement, with their
/// attributes: the verdicts, the first row of an id winning, empty cells
/// left empty, and the indexes kept in place (a file without names leaves
/// the name index live) are those of the row-by-row path; a re-import of
/// changed, unchanged and new customers mixed within one statement too.
#[test]
fn batched_customers_give_the_row_by_row_verdicts() {
    let db = TempDb::new().on_engine();
    let row =
        |i: usize, name: &str, score: &str| format!("C{i},{name},S{},{score},n{}\n", i % 3, i % 5);
    let score = |i: usize| {
        if i.is_multiple_of(7) {
            String::new()
        } else {
            format!("{i}.5")
        }
    };
    // 1,000 rows; ids repeat at rows 10 (in row 5's statement), 200 and
    // 999 (the short tail), each with another name.
    let mut text = String::from("id,name,segment,score,note\n");
    for i in 0..1000 {
        let (id, name) = match i {
            10 => (5, "Second"),
            200 => (7, "Second"),
            999 => (100, "Second"),
            i => (i, "Name"),
        };
        text.push_str(&row(id, &format!("{name} {id}"), &score(id)));
    }
    let s = import_customers_text(&db, &text);
    assert_eq!((s.read, s.inserted, s.rejected), (1000, 997, 3), "{s:?}");
    let lines: Vec<String> = rejects(&db).iter().map(|r| r[0].clone()).collect();
    assert_eq!(lines, ["12", "202", "1001"]);
    assert_eq!(db.count("SELECT count(*) FROM customers"), 997);
    for id in [5, 7, 100] {
        assert_eq!(
            db.text(&format!("SELECT name FROM customers WHERE id = 'C{id}'")),
            format!("Name {id}")
        );
    }
    // Every customer has their own attributes (scores are i + 0.5), empty
    // cells stay empty.
    assert_eq!(
        db.count("SELECT count(*) FROM customers c JOIN customer_attrs a ON a.cid = c.cid"),
        997
    );
    let col = |name: &str| {
        let pos = db.count(&format!(
            "SELECT pos FROM attribute_columns WHERE name = '{name}'"
        ));
        if common::engine_is_postgres() {
            (format!("a.n{pos}"), format!("a.t{pos}"))
        } else {
            (format!("a.a{pos}"), format!("a.a{pos}"))
        }
    };
    let (score_col, _) = col("score");
    let (_, note_col) = col("note");
    assert_eq!(
        db.count(&format!(
            "SELECT count(*) FROM customers c JOIN customer_attrs a ON a.cid = c.cid
             WHERE {score_col} = CAST(substr(c.id, 2) AS INTEGER) + 0.5"
        )),
        997 - 143
    );
    assert_eq!(
        db.count(&format!(
            "SELECT count(*) FROM customer_attrs a WHERE {score_col} IS NULL"
        )),
        143
    );
    assert_eq!(
        db.count(&format!(
            "SELECT count(*) FROM customers c JOIN customer_attrs a ON a.cid = c.cid
             WHERE {note_col} = 'n' || (CAST(substr(c.id, 2) AS INTEGER) % 5)"
        )),
        997
    );
    if !common::engine_is_postgres() {
        assert_eq!(db.text("PRAGMA integrity_check"), "ok");
    }

    // Again with names 300-349 changed, 400's score changed, 401's score
    // emptied (an empty cell keeps the stored value), and 100 new customers
    // after the last, the first 24 of them in a statement with 40 known
    // (and 10, 200 and 999 new: the first file had only their duplicates).
    let mut again = String::from("id,name,segment,score,note\n");
    for i in 0..1100 {
        let name = if (300..350).contains(&i) {
            format!("Renamed {i}")
        } else {
            format!("Name {i}")
        };
        let sc = match i {
            400 => "9.25".to_string(),
            401 => String::new(),
            i => score(i),
        };
        again.push_str(&row(i, &name, &sc));
    }
    let s = import_customers_text(&db, &again);
    assert_eq!(
        (s.inserted, s.updated, s.unchanged, s.rejected),
        (103, 51, 946, 0),
        "{s:?}"
    );
    assert_eq!(db.count("SELECT count(*) FROM customers"), 1100);
    assert_eq!(
        db.count("SELECT count(*) FROM customers WHERE name LIKE 'Renamed %'"),
        50
    );
    assert_eq!(db.real(&format!("SELECT {score_col} FROM customer_attrs a JOIN customers c ON c.cid = a.cid WHERE c.id = 'C400'")), 9.25);
    assert_eq!(db.real(&format!("SELECT {score_col} FROM customer_attrs a JOIN customers c ON c.cid = a.cid WHERE c.id = 'C401'")), 401.5);
    assert_eq!(db.real(&format!("SELECT {score_col} FROM customer_attrs a JOIN customers c ON c.cid = a.cid WHERE c.id = 'C1051'")), 1051.5);
    // Keys follow the files' order: the new customers of the second come
    // after the first's, C10 first (the one step down).
    assert_eq!(
        db.count(
            "SELECT count(*) FROM customers c JOIN customers d ON d.cid = c.cid + 1
                  WHERE CAST(substr(d.id, 2) AS INTEGER) < CAST(substr(c.id, 2) AS INTEGER)"
        ),
        1
    );
    if !common::engine_is_postgres() {
        assert_eq!(db.text("PRAGMA integrity_check"), "ok");
    }
}

/// A large first load builds the indexes on the columns its file has after
/// the rows, and keeps the others up to date row by row: both kinds are
/// whole and consistent after it, after a second large load of new
/// customers with names, and after orders that introduce as many again.
#[test]
fn a_large_customers_load_leaves_every_index_whole() {
    let db = TempDb::new();
    // (Rows of over 40 bytes: a load is large from 100,000 rows of 40.)
    let pad = "a note long enough to make the row large";
    let mut text = String::from("id,segment,churned,x,note\n");
    for i in 0..110_000 {
        text.push_str(&format!(
            "C{i:06},S{},{},{}.25,{pad}\n",
            i % 4,
            i % 2,
            i % 1000
        ));
    }
    let s = import_customers_text(&db, &text);
    assert_eq!(s.inserted, 110_000, "{s:?}");
    let mut more = String::from("id,name,plan,signup_date\n");
    for i in 110_000..220_000 {
        more.push_str(&format!(
            "C{i:06},Name {},P{},2024-01-{:02}\n",
            220_000 - i,
            i % 3,
            1 + i % 28
        ));
    }
    let s = import_customers_text(&db, &more);
    assert_eq!(s.inserted, 110_000, "{s:?}");
    // Orders that introduce 110,000 more customers, created many per
    // statement with the name, segment and plan indexes kept up to date.
    let orders = db.file("o.csv");
    let mut text = String::from("id,customer_id,timestamp,amount,quantity,product,category\n");
    for i in 0..110_000 {
        text.push_str(&format!(
            "O{i:06},N{i:06},2024-02-{:02},10.50,1,a product name of some length,Books\n",
            1 + i % 28
        ));
    }
    std::fs::write(&orders, text).unwrap();
    let s = db.import(Kind::Orders, &orders).unwrap();
    assert_eq!(
        (s.inserted, s.customers_created),
        (110_000, 110_000),
        "{s:?}"
    );
    assert_eq!(db.text("PRAGMA integrity_check"), "ok");
    for (index, rows) in [
        ("customers_name", 330_000),
        ("customers_segment", 330_000),
        ("customers_plan", 330_000),
        ("customers_since", 330_000),
        ("customers_n_orders", 330_000),
    ] {
        assert_eq!(
            db.count(&format!(
                "SELECT count(*) FROM customers INDEXED BY {index}"
            )),
            rows,
            "{index}"
        );
    }
    assert_eq!(
        db.text("SELECT id FROM customers INDEXED BY customers_name WHERE name IS NOT NULL ORDER BY name COLLATE NOCASE, cid LIMIT 1"),
        "C219999"
    );
}

/// A load whose transaction SQLite itself ends half-way (what an `OR
/// ROLLBACK` statement does on a failure: the batched inserts keep no
/// statement journal) fails with the reason and leaves nothing: no orders,
/// no customers, the paused triggers back; the same file loads whole after.
#[test]
fn a_load_rolled_back_by_sqlite_half_way_leaves_nothing() {
    let db = TempDb::new();
    let orders = db.file("o.csv");
    let mut text = String::from("id,customer_id,timestamp,amount\n");
    // A large first load: indexes set aside, daily-sum triggers paused,
    // written without the WAL (170,000 rows of ~25 bytes).
    text.push_str(&numbered_orders(170_000, |i| i, "2024-05", "10"));
    std::fs::write(&orders, &text).unwrap();
    let triggers = db.count("SELECT count(*) FROM sqlite_master WHERE type = 'trigger'");
    db.exec(
        "CREATE TRIGGER boom BEFORE INSERT ON orders WHEN new.order_key = 'O150000'
         BEGIN SELECT RAISE(ROLLBACK, 'boom at O150000'); END",
    );
    let err = db.import(Kind::Orders, &orders).unwrap_err();
    assert!(err.to_string().contains("boom at O150000"), "{err}");
    assert_eq!(db.count("SELECT count(*) FROM orders"), 0);
    assert_eq!(db.count("SELECT count(*) FROM customers"), 0);
    assert_eq!(db.count("SELECT count(*) FROM order_days"), 0);
    db.exec("DROP TRIGGER boom");
    assert_eq!(
        db.count("SELECT count(*) FROM sqlite_master WHERE type = 'trigger'"),
        triggers
    );
    let s = db.import(Kind::Orders, &orders).unwrap();
    assert_eq!((s.inserted, s.rejected), (170_000, 0), "{s:?}");
    assert_eq!(db.text("PRAGMA integrity_check"), "ok");
    assert_eq!(
        db.count("SELECT CAST(sum(n) AS INTEGER) FROM order_days"),
        170_000
    );
}

/// An empty cell, or a column the file leaves out, never erases a stored
/// value, for orders, events and feedback as for customers: a re-import
/// that changes one order's amount updates that order only and keeps its
/// quantity, product and category (they were set to 1 and empty).
#[test]
fn an_empty_cell_keeps_the_stored_value_for_every_kind() {
    let db = TempDb::new().on_engine();
    let write = |name: &str, text: &str| {
        let f = db.file(name);
        std::fs::write(&f, text).unwrap();
        f
    };
    let o1 = write(
        "o1.csv",
        "id,customer_id,timestamp,amount,quantity,product,category\n\
         X1,C1,2025-01-01,10,3,Tea,Grocery\nX2,C1,2025-01-02,20,2,Mug,Home\n",
    );
    db.import(Kind::Orders, &o1).unwrap();
    let o2 = write(
        "o2.csv",
        "id,customer_id,timestamp,amount,quantity,product,category\n\
         X1,C1,2025-01-01,10,,,\nX2,C1,2025-01-02,25,,,\n",
    );
    let s = db.import(Kind::Orders, &o2).unwrap();
    assert_eq!((s.updated, s.unchanged), (1, 1), "{s:?}");
    let o3 = write(
        "o3.csv",
        "id,customer_id,timestamp,amount\nX1,C1,2025-01-01,10\nX2,C1,2025-01-02,25\n",
    );
    let s = db.import(Kind::Orders, &o3).unwrap();
    assert_eq!((s.updated, s.unchanged), (0, 2), "{s:?}");
    assert_eq!(
        db.dump_rows(
            "SELECT order_key, CAST(amount AS BIGINT), quantity, product, category FROM orders ORDER BY order_key"
        ),
        [r#""X1"|10|3|"Tea"|"Grocery""#, r#""X2"|25|2|"Mug"|"Home""#]
    );
    // A quantity given again is written.
    let o4 = write(
        "o4.csv",
        "id,customer_id,timestamp,amount,quantity\nX1,C1,2025-01-01,10,5\n",
    );
    let s = db.import(Kind::Orders, &o4).unwrap();
    assert_eq!(s.updated, 1, "{s:?}");
    assert_eq!(
        db.count("SELECT quantity FROM orders WHERE order_key = 'X1'"),
        5
    );

    let e1 = write(
        "e1.csv",
        "id,customer_id,occurred_at,kind,value\nE1,C1,2025-01-03,login,7\n",
    );
    db.import(Kind::Events, &e1).unwrap();
    let e2 = write(
        "e2.csv",
        "id,customer_id,occurred_at,kind,value\nE1,C1,2025-01-03,login,\n",
    );
    let s = db.import(Kind::Events, &e2).unwrap();
    assert_eq!(s.unchanged, 1, "{s:?}");
    assert_eq!(
        db.real("SELECT value FROM events WHERE event_key = 'E1'"),
        7.0
    );

    let f1 = write(
        "f1.csv",
        "id,customer_id,created_at,kind,channel,score,text\n\
         F1,C1,2025-01-04,nps,email,9,Great support from the team\n",
    );
    db.import(Kind::Feedback, &f1).unwrap();
    let sentiment = db.real("SELECT sentiment FROM feedback WHERE id = 'F1'");
    let f2 = write(
        "f2.csv",
        "id,customer_id,created_at,kind,channel,score,text\nF1,C1,2025-01-04,nps,,,\n",
    );
    let s = db.import(Kind::Feedback, &f2).unwrap();
    assert_eq!(s.unchanged, 1, "{s:?}");
    let f3 = write(
        "f3.csv",
        "id,customer_id,created_at,kind,channel,score,text\nF1,C1,2025-01-04,nps,chat,,\n",
    );
    let s = db.import(Kind::Feedback, &f3).unwrap();
    assert_eq!(s.updated, 1, "{s:?}");
    assert_eq!(
        db.dump_rows("SELECT channel, CAST(score AS BIGINT), text FROM feedback WHERE id = 'F1'"),
        [r#""chat"|9|"Great support from the team""#]
    );
    assert_eq!(
        db.real("SELECT sentiment FROM feedback WHERE id = 'F1'"),
        sentiment
    );
}

/// A row rejected as a duplicate writes nothing, not even the new customer
/// it names: that customer is created by the first row naming it that is
/// written, and never if none is (orders, events and feedback, both
/// engines; within a batch, across batches, and into a table not empty).
#[test]
fn a_rejected_duplicate_creates_no_customer() {
    let db = TempDb::new().on_engine();
    let write = |name: &str, text: &str| {
        let f = db.file(name);
        std::fs::write(&f, text).unwrap();
        f
    };
    // A1's second row names U2 (nothing else does); U3's first row is a
    // duplicate, its second is written.
    let o = write(
        "o.csv",
        "id,customer_id,timestamp,amount\n\
         A1,U1,2025-01-01,5\nA1,U2,2025-01-02,7\nA2,U1,2025-01-03,9\n\
         A2,U3,2025-01-04,3\nA3,U3,2025-01-05,4\n",
    );
    let s = db.import(Kind::Orders, &o).unwrap();
    assert_eq!(
        (s.inserted, s.rejected, s.customers_created),
        (3, 2, 2),
        "{s:?}"
    );
    assert_eq!(
        db.dump_rows("SELECT id, n_orders FROM customers ORDER BY id"),
        [r#""U1"|2"#, r#""U3"|1"#]
    );
    // Again, into a table that holds A1: its duplicate names U4.
    let o2 = write(
        "o2.csv",
        "id,customer_id,timestamp,amount\nA1,U1,2025-01-01,5\nA1,U4,2025-01-09,1\n",
    );
    let s = db.import(Kind::Orders, &o2).unwrap();
    assert_eq!(
        (s.unchanged, s.rejected, s.customers_created),
        (1, 1, 0),
        "{s:?}"
    );
    let e = write(
        "e.csv",
        "id,customer_id,occurred_at,kind\nE1,U1,2025-01-01,login\nE1,U5,2025-01-02,login\n",
    );
    let s = db.import(Kind::Events, &e).unwrap();
    assert_eq!(
        (s.inserted, s.rejected, s.customers_created),
        (1, 1, 0),
        "{s:?}"
    );
    let f = write(
        "f.csv",
        "id,customer_id,created_at,kind,text\n\
         F1,U1,2025-01-01,question,Where is it?\nF1,U6,2025-01-02,question,And now?\n\
         F2,U7,2025-01-03,praise,Thanks\n",
    );
    let s = db.import(Kind::Feedback, &f).unwrap();
    assert_eq!(
        (s.inserted, s.rejected, s.customers_created),
        (2, 1, 1),
        "{s:?}"
    );
    assert_eq!(
        db.dump_rows("SELECT id FROM customers ORDER BY id"),
        [r#""U1""#, r#""U3""#, r#""U7""#]
    );
    // A large load of orders across several batches (set-aside path on a
    // server, batched path on a file): the duplicates' customers are not
    // created, the others are, with their totals.
    let mut text = String::from("id,customer_id,timestamp,amount\n");
    for i in 0..12_000 {
        text.push_str(&format!("B{i},V{i},2025-02-01,1.5\n"));
    }
    for i in 0..50 {
        text.push_str(&format!("B{},W{i},2025-02-02,2\n", i * 200));
    }
    let big = write("big.csv", &text);
    let s = db.import(Kind::Orders, &big).unwrap();
    assert_eq!(
        (s.inserted, s.rejected, s.customers_created),
        (12_000, 50, 12_000),
        "{s:?}"
    );
    assert_eq!(
        db.count("SELECT count(*) FROM customers WHERE id LIKE 'W%'"),
        0
    );
    assert_eq!(
        db.count("SELECT count(*) FROM customers WHERE id LIKE 'V%' AND n_orders = 1"),
        12_000
    );
}
