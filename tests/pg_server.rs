//! What only a PostgreSQL server has: `crmtop migrate` there and back
//! (every table's rows and checksums equal), the refusal of a schema
//! written by a newer crmtop, the audit log's guard against TRUNCATE, and
//! another agent's change reaching a listener (NOTIFY). These run with
//! CRMTOP_TEST_ENGINE=postgres (as `.ci/run` does); on SQLite they have
//! nothing to test and say so.

mod common;

use common::*;
use crmtop::ingest::Kind;
use crmtop::store::sql::Sql;

fn skip() -> bool {
    if !engine_is_postgres() {
        eprintln!("skipped: CRMTOP_TEST_ENGINE is not postgres");
        return true;
    }
    false
}

fn n_customers(db: &TempDb) -> i64 {
    db.count("SELECT count(*) FROM customers")
}

#[test]
fn a_demo_goes_to_the_server_and_back_whole() {
    if skip() {
        return;
    }
    // With a model and a CLV fit: the queue's priorities on the server
    // count each customer's value at risk.
    let db = demo_db(300, 11);
    train_and_fit(&db);
    let db = db.on_engine();
    let back = db.file("back.db");
    let out = crmtop_cmd()
        .args(["migrate", "--json", "--from"])
        .arg(db.target())
        .arg("--to")
        .arg(&back)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let tables = report["tables"].as_array().unwrap();
    assert!(tables.iter().any(|t| t["table"] == "feedback"));
    // The same rows in the original file, on the server and in the copy.
    let original = db.open();
    let copy = crmtop::store::open(&back, crmtop::store::Mode::ReadWrite).unwrap();
    let server = db.db();
    for t in [
        "customers",
        "orders",
        "events",
        "feedback",
        "queue",
        "audit_log",
        "customer_attrs",
        "campaigns",
        "campaign_assignment",
        "campaign_work",
    ] {
        let q = format!("SELECT count(*) FROM {t}");
        let n = |c: &dyn Sql| c.row(&q, &[]).unwrap().unwrap().i64(0).unwrap();
        let (a, b, c) = (n(&original.conn), n(&server), n(&copy.conn));
        assert!(a > 0 || t == "audit_log", "{t} is empty");
        assert_eq!((a, a), (b, c), "{t}: file, server, copy");
        let rows = tables.iter().find(|x| x["table"] == t).unwrap()["rows"]
            .as_i64()
            .unwrap();
        assert_eq!(rows, a, "{t}");
    }
    // Training's packed history is whole in the copy, none left stale.
    assert_eq!(crmtop::store::packs::faults(&copy.conn).unwrap(), 0);
    assert_eq!(crmtop::store::packs::stale_count(&copy.conn).unwrap(), 0);
    let packed = |c: &rusqlite::Connection| -> i64 {
        c.query_row("SELECT count(*) FROM history_packs", [], |r| r.get(0))
            .unwrap()
    };
    assert_eq!(packed(&copy.conn), packed(&original.conn));
    // The queue's priorities are the copy's own (its churn scores and CLV
    // stay on the server): a recomputation changes none of them.
    let open: i64 = copy
        .conn
        .query_row("SELECT count(*) FROM queue", [], |r| r.get(0))
        .unwrap();
    assert!(open > 0);
    assert_eq!(
        crmtop::store::feedback::refresh_priorities(&copy.conn).unwrap(),
        0,
        "queued items whose priority still counts the server's scores"
    );
    // Each customer's attributes came back as they were.
    for cid in [1i64, 2, 150, 300] {
        assert_eq!(
            crmtop::store::attributes::of_customer(&original.conn, cid).unwrap(),
            crmtop::store::attributes::of_customer(&copy.conn, cid).unwrap(),
            "{cid}"
        );
    }
    // `info` reads the server like a file.
    let o = db.run(&["info", "--json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let info: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(info["customers"], n_customers(&db));
    assert_eq!(info["schema_version"], crmtop::store::pg::latest_version());
    // A backup there is PostgreSQL's own tool's job: said, with the command.
    let o = db.run(&["backup", "--to", "/tmp/never.db"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("pg_dump -Fc"), "{}", stderr(&o));
    // The copy is a sound crmtop file.
    let o = crmtop_cmd()
        .arg("--db")
        .arg(&back)
        .arg("doctor")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    // A second copy into the same file is refused, and the file kept.
    let o = crmtop_cmd()
        .args(["migrate", "--from"])
        .arg(db.target())
        .arg("--to")
        .arg(&back)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(back.exists());
    // And into a server database that already holds data.
    let o = crmtop_cmd()
        .args(["migrate", "--from"])
        .arg(&db.path)
        .arg("--to")
        .arg(db.target())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("already holds data"), "{}", stderr(&o));
}

#[test]
fn the_servers_fold_is_the_searchs_letter_for_letter() {
    if skip() {
        return;
    }
    // The server's crmtop_fold (schema pg 16) answers a filter asked by its
    // text; the in-memory search folds with store::fold. Every letter of
    // Latin, Greek, Cyrillic and their extensions, and the punctuation
    // around them, folds the same on both (1,343 of them when written).
    let db = TempDb::new().on_engine();
    let crmtop::store::Db::Server(pg) = db.db() else {
        panic!("not on a server");
    };
    let mut differ = Vec::new();
    let mut n = 0;
    for r in [
        0x20u32..0x7f,
        0xa0..0x250,
        0x370..0x400,
        0x400..0x530,
        0x1e00..0x1f00,
        0x2000..0x2070,
    ] {
        for c in r.filter_map(char::from_u32) {
            let s = c.to_string();
            let rows = pg
                .rows("SELECT crmtop_fold(?1)", &[crmtop::store::sql::text(&s)])
                .unwrap();
            let server = match rows.first().and_then(|r| r.0.first()) {
                Some(rusqlite::types::Value::Text(t)) => t.clone(),
                other => format!("{other:?}"),
            };
            let ours = crmtop::store::fold::fold(&s);
            if ours != server {
                differ.push(format!(
                    "U+{:04X}: {ours:?} here, {server:?} on the server",
                    c as u32
                ));
            }
            n += 1;
        }
    }
    assert!(n > 1300, "{n}");
    assert!(differ.is_empty(), "{}", differ.join("\n"));
}

#[test]
fn a_schema_from_a_newer_crmtop_is_refused() {
    if skip() {
        return;
    }
    let db = demo_db(50, 3).on_engine();
    db.db()
        .exec(
            "INSERT INTO crmtop_schema(version, name) VALUES (99, 'from the future')",
            &[],
        )
        .unwrap();
    let o = db.run(&["feedback", "list"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("newer crmtop"), "{}", stderr(&o));
    // doctor reports it (exit 6) and changes nothing.
    let o = db.run(&["doctor"]);
    assert_eq!(o.status.code(), Some(6), "{}{}", stdout(&o), stderr(&o));
    assert!(
        stdout(&o).contains("written by a newer crmtop"),
        "{}",
        stdout(&o)
    );
    let url = db.target().into_string().unwrap();
    let raw = crmtop::store::pg::Pg::connect_as_is(&url, true).unwrap();
    let v = raw
        .row("SELECT max(version) FROM crmtop_schema", &[])
        .unwrap()
        .unwrap()
        .i64(0)
        .unwrap();
    assert_eq!(v, 99);
}

#[test]
fn the_audit_log_cannot_be_truncated_and_doctor_sees_a_disabled_guard() {
    if skip() {
        return;
    }
    let db = demo_db(50, 4).on_engine();
    let s = db.db();
    let e = s.exec("TRUNCATE audit_log", &[]).unwrap_err();
    assert!(e.to_string().contains("append-only"), "{e}");
    assert_eq!(db.run(&["doctor"]).status.code(), Some(0));
    s.exec(
        "ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_delete",
        &[],
    )
    .unwrap();
    let o = db.run(&["doctor"]);
    assert_eq!(o.status.code(), Some(6), "{}", stdout(&o));
    assert!(
        stdout(&o).contains("2 of the audit log's 3 guard triggers"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn another_agents_claim_is_heard_within_a_second() {
    if skip() {
        return;
    }
    let db = demo_db(300, 5).on_engine();
    let url = db.target().into_string().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    crmtop::store::pg::listen(&url, move || tx.send(std::time::Instant::now()).is_ok()).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(200));
    while rx.try_recv().is_ok() {}
    let o = db.run(&["--agent", "zed", "feedback", "next", "--json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let done = std::time::Instant::now();
    let heard = rx
        .recv_timeout(std::time::Duration::from_secs(1))
        .expect("no notification within a second of the claim");
    assert!(heard.duration_since(done) < std::time::Duration::from_secs(1));
}

#[test]
fn search_follows_an_item_and_its_customer_as_they_change() {
    if skip() {
        return;
    }
    let db = demo_db(200, 6).on_engine();
    let s = db.db();
    let ids = |q: &str| -> Vec<String> {
        let o = db.run(&[
            "feedback", "list", "--status", "any", "--all", "--json", "--search", q,
        ]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["id"].as_str().unwrap().to_string())
            .collect()
    };
    let first = s
        .row(
            "SELECT f.id, f.cid FROM feedback f ORDER BY f.fid LIMIT 1",
            &[],
        )
        .unwrap()
        .unwrap();
    let (fid, cid) = (first.text(0).unwrap(), first.i64(1).unwrap());
    assert!(ids("Quetzalcoatlus").is_empty());
    // A customer renamed: every one of their items is found by the new name.
    s.exec(
        "UPDATE customers SET name = 'Quetzalcóatlus Northropi' WHERE cid = ?1",
        &[crmtop::store::sql::int(cid)],
    )
    .unwrap();
    let n_items = s
        .row(
            "SELECT count(*) FROM feedback WHERE cid = ?1",
            &[crmtop::store::sql::int(cid)],
        )
        .unwrap()
        .unwrap()
        .i64(0)
        .unwrap();
    let found = ids("quetzalcoatl northr"); // accents aside, as on a file
    assert_eq!(found.len() as i64, n_items, "{found:?}");
    assert!(found.contains(&fid));
    // An item's text changed: found by its new words, not its old ones.
    s.exec(
        "UPDATE feedback SET text = 'xylophone delivered broken' WHERE id = ?1",
        &[crmtop::store::sql::text(&fid)],
    )
    .unwrap();
    assert_eq!(ids("xyloph"), vec![fid]);
}

/// `crmtop import` on a server: new tickets reach the queue (an open UI
/// hears of them, `next` hands out the urgent one), a re-import changes
/// nothing, and two imports of different files at once both land whole
/// (the advisory lock queues them; their keys never collide).
#[test]
fn imported_tickets_reach_the_queue_and_two_imports_at_once_both_land() {
    if skip() {
        return;
    }
    let db = demo_db(200, 8).on_engine();
    let url = db.target().into_string().unwrap();
    let before = db.count("SELECT count(*) FROM feedback");
    let f = db.file("new_tickets.csv");
    std::fs::write(
        &f,
        "id,customer_id,created_at,channel,kind,text\n\
         NEW1,NEWCUST,2024-05-01T10:00:00Z,email,complaint,Charged twice and nobody answers. Furious; cancelling today!\n\
         NEW2,NEWCUST,2024-05-01T10:05:00Z,chat,praise,Lovely people\n\
         NEW1,NEWCUST,2024-05-01T10:00:00Z,email,complaint,again\n",
    )
    .unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    crmtop::store::pg::listen(&url, move || tx.send(()).is_ok()).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(200));
    while rx.try_recv().is_ok() {}
    let o = db.run(&["import", "feedback"]);
    assert_eq!(o.status.code(), Some(2), "no file: {}", stderr(&o));
    let o = crmtop_cmd()
        .arg("--db")
        .arg(&url)
        .args(["import", "feedback"])
        .arg(&f)
        .output()
        .unwrap();
    // One duplicate rejected: exit 3, as on a file.
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("read 3, inserted 2, updated 0, unchanged 0, rejected 1"),
        "{}",
        stdout(&o)
    );
    assert!(stdout(&o).contains("customers created for unknown ids: 1"));
    rx.recv_timeout(std::time::Duration::from_secs(1))
        .expect("an open UI hears of the new tickets");
    assert_eq!(db.count("SELECT count(*) FROM feedback"), before + 2);
    assert_eq!(
        db.count("SELECT count(*) FROM queue q JOIN feedback f USING (fid) WHERE f.id IN ('NEW1', 'NEW2')"),
        2
    );
    // Found by its words, and the furious complaint outranks the praise.
    let o = db.run(&["feedback", "list", "--json", "--search", "charged"]);
    assert!(stdout(&o).contains("NEW1"), "{}", stdout(&o));
    assert!(
        db.real(
            "SELECT q.prio_static FROM queue q JOIN feedback f USING (fid) WHERE f.id = 'NEW1'"
        ) > db.real(
            "SELECT q.prio_static FROM queue q JOIN feedback f USING (fid) WHERE f.id = 'NEW2'"
        )
    );
    // A NUL character (a file stores it; a server's text cannot) rejects
    // its row, not the file.
    let nul = db.file("nul.csv");
    std::fs::write(
        &nul,
        "id,customer_id,created_at,kind,text\nNUL1,NEWCUST,2024-05-02,question,bad\0byte\nNUL2,NEWCUST,2024-05-02,question,fine\n",
    )
    .unwrap();
    let o = db.run(&["import", "feedback", nul.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("inserted 1, updated 0, unchanged 0, rejected 1"),
        "{}",
        stdout(&o)
    );
    assert_eq!(
        db.count("SELECT count(*) FROM feedback WHERE id = 'NUL2'"),
        1
    );
    // A re-import changes nothing.
    let o = db.run(&["import", "feedback", f.to_str().unwrap(), "--json"]);
    let s: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        (s["inserted"].as_i64(), s["unchanged"].as_i64()),
        (Some(0), Some(2))
    );

    // Two order files at once, each with its own new customers.
    let files: Vec<std::path::PathBuf> = (0..2)
        .map(|k| {
            let p = db.file(&format!("orders{k}.csv"));
            let mut t = String::from("id,customer_id,timestamp,amount\n");
            for i in 0..3000 {
                t.push_str(&format!(
                    "P{k}-{i},N{k}-{},2024-03-01,{}.25\n",
                    i % 50,
                    i % 90
                ));
            }
            std::fs::write(&p, t).unwrap();
            p
        })
        .collect();
    let orders = db.count("SELECT count(*) FROM orders");
    let customers = n_customers(&db);
    let runs: Vec<_> = files
        .iter()
        .map(|p| {
            crmtop_cmd()
                .arg("--db")
                .arg(&url)
                .args(["import", "orders"])
                .arg(p)
                .stdout(std::process::Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    for mut r in runs {
        assert!(r.wait().unwrap().success());
    }
    assert_eq!(db.count("SELECT count(*) FROM orders"), orders + 6000);
    assert_eq!(n_customers(&db), customers + 100);
    assert_eq!(
        db.count("SELECT CAST(sum(n_orders) AS BIGINT) FROM customers WHERE id LIKE 'N%'"),
        6000
    );
    let o = db.run(&["doctor"]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
}

/// A load large against the table (its index by customer and foreign key
/// set aside, new customers written at its end with their totals) leaves
/// the server exactly as the same files leave a file: a first load, then
/// one that updates, keeps and adds orders and customers.
#[test]
fn a_large_load_on_the_server_equals_the_same_load_into_a_file() {
    if skip() {
        return;
    }
    let server = TempDb::new().on_engine();
    let file = TempDb::new();
    let write = |name: &str, rows: &mut dyn Iterator<Item = String>| {
        let p = file.file(name);
        let mut t = String::from("id,customer_id,timestamp,amount,quantity\n");
        rows.for_each(|r| t.push_str(&r));
        std::fs::write(&p, t).unwrap();
        p
    };
    let order = |i: usize, q: usize| {
        format!(
            "ORDER{i:07},CUST{:06},2024-{:02}-{:02},{}.{:02},{q}\n",
            i % 45_000,
            1 + i % 12,
            1 + i % 28,
            i % 500,
            i % 100
        )
    };
    let first = write("first.csv", &mut (0..140_000).map(|i| order(i, 1)));
    // The customers' indexes as the schema made them (a load into a
    // database without customers sets them aside and builds them again).
    let index_defs = "SELECT indexname || ' ' || indexdef FROM pg_indexes WHERE tablename = 'customers' ORDER BY indexname";
    let indexes = server.dump_rows(index_defs);
    assert!(indexes.len() > 10, "{indexes:?}");
    // 40,000 earlier orders again (every other one changed), 100,000 new.
    let second = write(
        "second.csv",
        &mut (100_000..240_000).map(|i| order(i, if i < 140_000 && i % 2 == 0 { 2 } else { 1 })),
    );
    for (p, verdicts) in [
        (&first, (140_000, 0, 0)),
        (&second, (100_000, 20_000, 20_000)),
    ] {
        for db in [&server, &file] {
            let s = db.import(crmtop::ingest::Kind::Orders, p).unwrap();
            assert_eq!((s.inserted, s.updated, s.unchanged), verdicts, "{s:?}");
        }
    }
    for q in [
        "SELECT cid, id, n_orders, CAST(round(revenue * 100) AS BIGINT), first_order, last_order, since FROM customers ORDER BY cid",
        "SELECT oid, order_key, cid, ts, CAST(round(amount * 100) AS BIGINT), quantity FROM orders ORDER BY oid",
    ] {
        assert!(server.dump_rows(q) == file.dump_rows(q), "{q}");
    }
    assert_eq!(server.dump_rows(index_defs), indexes);
    let o = server.run(&["doctor"]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
}

/// `crmtop train` on a server: the same report and scores as on the file
/// (the customers' attributes among the features), the new version active, its probabilities in the
/// active figures, the queue's priorities following; a second version is
/// judged against the first.
#[test]
fn training_on_the_server_equals_training_on_the_file() {
    if skip() {
        return;
    }
    let file = demo_db(600, 12);
    let server = demo_db(600, 12).on_engine();
    // Stale figures on the server: training puts them right.
    server
        .db()
        .exec("UPDATE queue SET prio_static = 0", &[])
        .unwrap();
    let train = |db: &TempDb| -> serde_json::Value {
        let o = db.run(&["train", "--json"]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        serde_json::from_slice(&o.stdout).unwrap()
    };
    let (a, b) = (train(&file), train(&server));
    for k in [
        "n_train",
        "n_test",
        "positive_rate",
        "iterations",
        "features",
        "scored",
    ] {
        assert_eq!(a[k], b[k], "{k}");
    }
    assert!(
        (a["log_likelihood"].as_f64().unwrap() - b["log_likelihood"].as_f64().unwrap()).abs()
            < 1e-6
    );
    assert_eq!(a["metrics"]["auc"], b["metrics"]["auc"]);
    assert_eq!(b["active"], true);
    // Every customer's probability, as the file's active view holds it.
    let q = "SELECT cid, CAST(round(prob * 1000000) AS BIGINT) FROM active_churn ORDER BY cid";
    assert_eq!(server.dump_rows(q), file.dump_rows(q));
    assert_eq!(
        server.count("SELECT count(*) FROM churn_scores"),
        server.count("SELECT count(*) FROM customers")
    );
    // The queue's priorities follow the new probabilities, as on the file.
    let q = "SELECT fid, CAST(round(prio_static * 1000000) AS BIGINT) FROM queue ORDER BY fid";
    assert_eq!(server.dump_rows(q), file.dump_rows(q));
    // A second version is judged against the active one, and audited;
    // open UIs hear of the new priorities.
    let url = server.target().into_string().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    crmtop::store::pg::listen(&url, move || tx.send(()).is_ok()).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(200));
    while rx.try_recv().is_ok() {}
    let c = train(&server);
    rx.recv_timeout(std::time::Duration::from_secs(1))
        .expect("a UI hears of an activation");
    assert_eq!(c["model_id"], 2);
    assert!(c["activation"].as_str().unwrap().contains("of v1"), "{c}");
    assert_eq!(server.count("SELECT count(*) FROM models WHERE active"), 1);
    assert_eq!(
        server.count("SELECT count(*) FROM audit_log WHERE action = 'train'"),
        2
    );
    // The versions on the server, listed, shown and activated back.
    let o = server.run(&["model", "list", "--json"]);
    let l: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(l["total"], 2, "{l}");
    let o = server.run(&["model", "activate", "1"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(server.count("SELECT id FROM models WHERE active"), 1);
    let o = server.run(&["model", "show", "--json"]);
    let m: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        (m["model_id"].as_i64(), m["active"].as_bool()),
        (Some(1), Some(true))
    );
    assert_eq!(
        server.count(
            "SELECT count(*) FROM active_churn a JOIN churn_scores s ON s.cid = a.cid AND s.model_id = 1 WHERE s.prob = a.prob"
        ),
        server.count("SELECT count(*) FROM customers")
    );
    let o = server.run(&["model", "activate", "9"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    // Doctor finds figures or totals changed behind crmtop's back, and
    // --fix puts them right.
    let db = server.db();
    db.exec(
        "UPDATE active_churn SET prob = 0.5 WHERE cid IN (SELECT cid FROM active_churn LIMIT 3)",
        &[],
    )
    .unwrap();
    db.exec("UPDATE customers SET n_orders = n_orders + 1 WHERE cid IN (SELECT cid FROM customers LIMIT 2)", &[])
        .unwrap();
    let o = server.run(&["doctor"]);
    assert_ne!(o.status.code(), Some(0));
    assert!(
        stdout(&o).contains("3 customers' active churn probability"),
        "{}",
        stdout(&o)
    );
    assert!(
        stdout(&o).contains("2 customers' order count"),
        "{}",
        stdout(&o)
    );
    let o = server.run(&["doctor", "--fix"]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    let o = server.run(&["doctor"]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
}

/// A customer's detail (what an opened ticket and `:goto` show) read from
/// a server equals the file's: profile, spend by month, latest orders,
/// earlier feedback and audit trail (attributes and the CLV fit's detail
/// are a file's).
#[test]
fn a_customers_detail_on_the_server_equals_the_files() {
    if skip() {
        return;
    }
    // The same demo (one seed) in a file and on the server.
    let file_db = demo_db(300, 14);
    let file = file_db.open();
    let server = demo_db(300, 14).on_engine();
    let pg = server.db();
    let mut compared = 0;
    for cid in [1i64, 2, 17, 150, 299] {
        let a = crmtop::store::detail::load(&file.conn, cid).unwrap();
        let b = crmtop::store::detail::load(&pg, cid).unwrap();
        let (Some(a), Some(b)) = (a, b) else {
            panic!("customer {cid} missing");
        };
        assert_eq!(a.profile, b.profile, "{cid}");
        assert_eq!(a.attributes, b.attributes, "{cid}");
        assert_eq!(a.attributes.len(), 2, "{cid}");
        assert_eq!(a.latest_orders, b.latest_orders, "{cid}");
        assert_eq!(a.feedback, b.feedback, "{cid}");
        assert_eq!(a.monthly.len(), b.monthly.len(), "{cid}");
        for ((ma, va), (mb, vb)) in a.monthly.iter().zip(&b.monthly) {
            assert_eq!(ma, mb);
            assert!((va - vb).abs() < 1e-9);
        }
        assert_eq!(a.audit, b.audit, "{cid}");
        assert_eq!(a.lapsed, b.lapsed, "{cid}");
        // The CLV fit's detail came along with the migration.
        assert_eq!(a.clv, b.clv, "{cid}");
        compared += 1;
    }
    assert_eq!(compared, 5);
    assert!(crmtop::store::detail::load(&pg, 999_999).unwrap().is_none());
}

/// Every row of a list, page after page forward from the top, and the
/// same backward from the end (each engine seeks by its own keys).
fn walk_both_ways(
    q: &crmtop::store::list::ListQuery,
    page: &dyn Fn(&crmtop::store::list::ListQuery) -> Vec<crmtop::store::list::CustomerRow>,
) -> (Vec<i64>, Vec<i64>) {
    use crmtop::store::list::Seek;
    let mut fwd = Vec::new();
    let mut q1 = q.clone();
    q1.seek = Seek::First;
    loop {
        let rows = page(&q1);
        fwd.extend(rows.iter().map(|r| r.cid));
        match rows.last() {
            Some(last) if rows.len() == q1.limit => q1.seek = Seek::After(last.key.clone()),
            _ => break,
        }
    }
    let mut back = Vec::new();
    let mut q2 = q.clone();
    q2.seek = Seek::Last;
    loop {
        let rows = page(&q2);
        back.splice(0..0, rows.iter().map(|r| r.cid));
        match rows.first() {
            Some(first) if rows.len() == q2.limit => q2.seek = Seek::Before(first.key.clone()),
            _ => break,
        }
    }
    (fwd, back)
}

#[test]
fn the_customer_lists_on_the_server_equal_the_files() {
    if skip() {
        return;
    }
    use crmtop::store::list::{self, ListQuery, SortColumn};
    use crmtop::store::pg::list as pg_list;
    // Scored and valued in the file, then carried to the server.
    let file_db = demo_db(400, 15);
    train_and_fit(&file_db);
    let file = file_db.open();
    let server = demo_db(400, 15);
    train_and_fit(&server);
    let server = server.on_engine();
    let crmtop::store::Db::Server(pg) = server.db() else {
        panic!("not on a server");
    };
    let cut = crmtop::store::dashboard::lapsed_cutoff_now(&file.conn).unwrap();
    assert_eq!(
        cut,
        crmtop::store::dashboard::lapsed_cutoff(pg_list::latest_order(&pg).unwrap())
    );
    assert!(cut.is_some());
    // The live filter's in-memory search, as the TUI's worker holds it.
    let search = crmtop::store::pg::search::build(&pg, false).unwrap();
    let mut walked = 0;
    // Every order, with the Churn screen's band, the CLV screen's segment
    // and the typed filter (by its text, and by its matches' keys).
    for sort in SortColumn::ALL {
        for descending in [false, true] {
            for (filter, band, lapsed, segment) in [
                (None, None, None, None),
                (Some("an"), None, None, None),
                (None, Some((0.6, 1.01)), cut, None),
                (None, None, None, Some("Champions")),
                (Some("e"), None, None, Some("Hibernating")),
            ] {
                let mut q = ListQuery::new(sort, descending);
                q.limit = 37;
                q.filter = filter.map(String::from);
                q.churn_band = band;
                q.skip_lapsed = lapsed;
                q.rfm_segment = segment.map(String::from);
                let what = format!(
                    "{sort:?} desc={descending} filter={filter:?} band={band:?} segment={segment:?}"
                );
                let (f_fwd, f_back) = walk_both_ways(&q, &|q| list::page(&file.conn, q).unwrap());
                let (s_fwd, s_back) = walk_both_ways(&q, &|q| pg_list::page(&pg, q, None).unwrap());
                assert_eq!(f_fwd, s_fwd, "{what}: forward");
                assert_eq!(f_back, s_back, "{what}: backward");
                assert_eq!(f_fwd, f_back, "{what}: the file's two ways");
                let n = list::count(&file.conn, &q).unwrap();
                assert_eq!(n, f_fwd.len() as i64, "{what}");
                assert_eq!(pg_list::count(&pg, &q, None).unwrap(), n, "{what}: count");
                if let Some(text) = filter {
                    let hits = search.search(text);
                    let by_keys = |q: &ListQuery| pg_list::page(&pg, q, Some(&hits)).unwrap();
                    let (k_fwd, k_back) = walk_both_ways(&q, &by_keys);
                    assert_eq!(f_fwd, k_fwd, "{what}: forward by the matches' keys");
                    assert_eq!(f_back, k_back, "{what}: backward by the matches' keys");
                    let k = pg_list::count(&pg, &q, Some(&hits)).unwrap();
                    assert_eq!(k, n, "{what}: count of the matches");
                    let b = pg_list::count_by_bits(&pg, &q, &hits).unwrap();
                    assert_eq!(b, n, "{what}: count by the matches' bitmap");
                    let by_bits = |q: &ListQuery| {
                        pg_list::page_by(&pg, q, pg_list::TextBy::Bits(&hits)).unwrap()
                    };
                    let (b_fwd, b_back) = walk_both_ways(&q, &by_bits);
                    assert_eq!(f_fwd, b_fwd, "{what}: forward by the matches' bitmap");
                    assert_eq!(f_back, b_back, "{what}: backward by the matches' bitmap");
                }
                assert!(n > 0, "{what}: nothing to compare");
                walked += 1;
            }
        }
    }
    assert_eq!(walked, 110);
    // Counts are remembered per data version: a customer who arrives is
    // counted at once.
    let all = ListQuery::new(SortColumn::Id, false);
    assert_eq!(pg_list::count(&pg, &all, None).unwrap(), 400);
    // A customer who arrives after the scores and values ranks below every
    // score, value and segment on both engines, and is listed.
    file.conn
        .execute(
            "INSERT INTO customers(cid, id, name) VALUES (100000, 'CNEW', 'Newcomer')",
            [],
        )
        .unwrap();
    pg.exec(
        "INSERT INTO customers(cid, id, name) VALUES (100000, 'CNEW', 'Newcomer')",
        &[],
    )
    .unwrap();
    assert_eq!(pg_list::count(&pg, &all, None).unwrap(), 401);
    for sort in [SortColumn::Churn, SortColumn::Clv, SortColumn::Rfm] {
        for descending in [false, true] {
            let mut q = ListQuery::new(sort, descending);
            q.limit = 50;
            let (f, fb) = walk_both_ways(&q, &|q| list::page(&file.conn, q).unwrap());
            let (s, sb) = walk_both_ways(&q, &|q| pg_list::page(&pg, q, None).unwrap());
            assert_eq!(f, s, "{sort:?} desc={descending}");
            assert_eq!(fb, sb, "{sort:?} desc={descending}");
            assert_eq!(f.len(), 401);
            assert!(s.contains(&100000), "{sort:?} desc={descending}");
            if sort != SortColumn::Rfm {
                let at = if descending { 400 } else { 0 };
                assert_eq!(s[at], 100000, "{sort:?} desc={descending}");
            }
        }
    }
    // A filter's matches in id order, picked from the in-memory search by
    // the ids' bytes (upper case before lower, beyond ASCII last) and read
    // by key, walk as the file walks them, pages of every size.
    for (cid, id) in [
        (100001, "an-lower"),
        (100002, "AN-UPPER"),
        (100003, "Ängan"),
        (100004, "_an_"),
        (100005, "CNEW-an"),
    ] {
        let sql = "INSERT INTO customers(cid, id) VALUES (?1, ?2)";
        file.conn.execute(sql, rusqlite::params![cid, id]).unwrap();
        pg.exec(
            sql,
            &[crmtop::store::sql::int(cid), crmtop::store::sql::text(id)],
        )
        .unwrap();
    }
    let search = crmtop::store::pg::search::build(&pg, false).unwrap();
    let mut compared = 0;
    for text in ["an", "C0", "an-", "zzz"] {
        let hits = search.search(text);
        for descending in [false, true] {
            for limit in [1, 7, 50] {
                let mut q = ListQuery::new(SortColumn::Id, descending);
                q.limit = limit;
                q.filter = Some(text.into());
                let what = format!("{text:?} desc={descending} limit={limit}");
                let (f_fwd, f_back) = walk_both_ways(&q, &|q| list::page(&file.conn, q).unwrap());
                let picked = |q: &ListQuery| {
                    pg_list::page_from_index(&pg, q, &search, &hits)
                        .unwrap()
                        .expect("picked from the index")
                };
                let (p_fwd, p_back) = walk_both_ways(&q, &picked);
                assert_eq!(f_fwd, p_fwd, "{what}: forward");
                assert_eq!(f_back, p_back, "{what}: backward");
                assert_eq!(f_fwd.len(), hits.len(), "{what}");
                compared += f_fwd.len();
            }
        }
    }
    assert!(compared > 1000, "{compared}");
    // Accents are folded on every path of both engines (the file's LIKE
    // before its search is ready, its search, the server's folded trigram
    // text, the server's matches by key): `lukasz` finds Łukasz.
    for (cid, id, name) in [
        (100006, "CX-1", "Łukasz Wiśniewski"),
        (100007, "CX-2", "José MÜLLER"),
        (100008, "CX-3", "Jose Muller"),
        (100009, "CX-4", "Søren Ærø"),
    ] {
        let sql = "INSERT INTO customers(cid, id, name) VALUES (?1, ?2, ?3)";
        file.conn
            .execute(sql, rusqlite::params![cid, id, name])
            .unwrap();
        pg.exec(
            sql,
            &[
                crmtop::store::sql::int(cid),
                crmtop::store::sql::text(id),
                crmtop::store::sql::text(name),
            ],
        )
        .unwrap();
    }
    let search = crmtop::store::pg::search::build(&pg, false).unwrap();
    let file_search = crmtop::store::search::SearchIndex::build(&file.conn).unwrap();
    for (text, must) in [
        ("lukasz wis", vec![100006]),
        ("WISNIEWSKI", vec![100006]),
        ("müller", vec![100007, 100008]),
        ("jose m", vec![100007, 100008]),
        ("soren aero", vec![100009]),
        ("ærø", vec![100009]),
    ] {
        let hits = search.search(text);
        assert_eq!(hits, file_search.search(text), "{text}: the two searches");
        for sort in [SortColumn::Id, SortColumn::Name, SortColumn::Churn] {
            let mut q = ListQuery::new(sort, false);
            q.limit = 50;
            q.filter = Some(text.into());
            let what = format!("{text:?} {sort:?}");
            let like = walk_both_ways(&q, &|q| list::page(&file.conn, q).unwrap()).0;
            let by_search = walk_both_ways(&q, &|q| {
                list::page_with(&file.conn, q, Some(&hits)).unwrap()
            })
            .0;
            let server = walk_both_ways(&q, &|q| pg_list::page(&pg, q, None).unwrap()).0;
            let keyed = walk_both_ways(&q, &|q| pg_list::page(&pg, q, Some(&hits)).unwrap()).0;
            assert_eq!(like, by_search, "{what}: the file's two ways");
            assert_eq!(like, server, "{what}: the server's text");
            assert_eq!(like, keyed, "{what}: the server's keys");
            assert_eq!(
                list::count(&file.conn, &q).unwrap(),
                hits.len() as i64,
                "{what}"
            );
            assert_eq!(
                pg_list::count(&pg, &q, None).unwrap(),
                hits.len() as i64,
                "{what}"
            );
            for c in &must {
                assert!(like.contains(c), "{what}: {c} not found in {like:?}");
            }
        }
    }
    // Anything beyond the text is walked on the server.
    let mut q = ListQuery::new(SortColumn::Id, false);
    q.filter = Some("an".into());
    q.churn_band = Some((0.5, 1.01));
    assert!(
        pg_list::page_from_index(&pg, &q, &search, &search.search("an"))
            .unwrap()
            .is_none()
    );
}

#[test]
fn the_dashboard_on_the_server_counts_as_the_files() {
    if skip() {
        return;
    }
    let file_db = demo_db(400, 16);
    train_and_fit(&file_db);
    let file = file_db.open();
    let server = demo_db(400, 16);
    train_and_fit(&server);
    let server = server.on_engine();
    let crmtop::store::Db::Server(pg) = server.db() else {
        panic!("not on a server");
    };
    let sla = crmtop::analytics::priority::SlaConfig::default();
    let now = 1_900_000_000;
    let a = crmtop::store::dashboard::load(&file.conn, false, 0.7, 0.4, &sla, now).unwrap();
    let agg = crmtop::store::pg::dashboard::compute(&pg, 0.7, 0.4).unwrap();
    let b = crmtop::store::pg::dashboard::with_queue(&pg, agg, &sla, now).unwrap();
    assert_eq!(a.open_feedback, b.open_feedback);
    assert_eq!(a.overdue_feedback, b.overdue_feedback);
    let (x, y) = (&a.agg, &b.agg);
    assert_eq!(x.customers, y.customers);
    assert_eq!(x.lapsed, y.lapsed);
    assert_eq!(x.latest_order, y.latest_order);
    assert_eq!(x.scored, y.scored);
    assert_eq!(x.high_risk, y.high_risk);
    assert_eq!(x.medium_risk, y.medium_risk);
    assert_eq!(x.histogram, y.histogram);
    assert_eq!(x.heatmap.len(), y.heatmap.len());
    let close = |p: Option<f64>, q: Option<f64>| match (p, q) {
        (Some(p), Some(q)) => (p - q).abs() <= 1e-9 * p.abs().max(1.0),
        (None, None) => true,
        _ => false,
    };
    assert!(close(x.mean_churn, y.mean_churn));
    assert!(close(x.value_at_risk, y.value_at_risk));
    assert!(close(x.total_clv, y.total_clv));
    let ids = |v: &[crmtop::store::dashboard::TopRow]| v.iter().map(|r| r.cid).collect::<Vec<_>>();
    assert_eq!(ids(&x.top_at_risk), ids(&y.top_at_risk));
    assert_eq!(x.monthly_revenue.len(), y.monthly_revenue.len());
    for ((ma, va), (mb, vb)) in x.monthly_revenue.iter().zip(&y.monthly_revenue) {
        assert_eq!(ma, mb);
        assert!((va - vb).abs() < 1e-6 * va.abs().max(1.0), "{ma}");
    }
    assert!(x.scored > 0 && x.total_clv.is_some());
    // The active CLV fit came along, and is briefed as on the file.
    assert!(y.fit.is_some());
    assert_eq!(x.fit, y.fit);
    // Cached on the server under its data version, and stale at no change:
    // a customer labelled churned (as a re-import would) is lapsed at once.
    use crmtop::store::pg::dashboard::aggregates;
    let first = aggregates(&pg, true, 0.7, 0.4).unwrap();
    // (Read back from the cache: a figure changed there is what comes back.)
    pg.exec(
        "UPDATE meta SET value = replace(value, '\"customers\":400,', '\"customers\":12345,')
          WHERE key = 'dashboard_cache'",
        &[],
    )
    .unwrap();
    assert_eq!(aggregates(&pg, true, 0.7, 0.4).unwrap().customers, 12345);
    let cut = crmtop::store::dashboard::lapsed_cutoff(first.latest_order).unwrap();
    let cid = pg
        .count(
            "SELECT min(cid) FROM customers WHERE churned IS NULL AND last_order >= ?1",
            &[crmtop::store::sql::int(cut)],
        )
        .unwrap();
    assert!(cid > 0);
    pg.exec(
        "UPDATE customers SET churned = 1 WHERE cid = ?1",
        &[crmtop::store::sql::int(cid)],
    )
    .unwrap();
    let after = aggregates(&pg, true, 0.7, 0.4).unwrap();
    assert_eq!(after.customers, 400);
    assert_eq!(after.lapsed, first.lapsed + 1);
    assert_ne!(after.version, first.version);
    // The customers without each figure (a ranking's lists ask), counted
    // by the tally and answered from the cache while the data stand.
    use crmtop::store::pg::dashboard::cached_unvalued;
    let missing = |sql: &str| pg.count(sql, &[]).unwrap();
    let counted = |pg: &crmtop::store::pg::Pg| {
        let u = cached_unvalued(pg)
            .unwrap()
            .expect("counted at this version");
        (u.churn, u.clv, u.segment)
    };
    let by_sql = || {
        (
            missing("SELECT count(*) FROM customers c WHERE NOT EXISTS (SELECT 1 FROM active_churn a WHERE a.cid = c.cid AND a.prob IS NOT NULL)"),
            missing("SELECT count(*) FROM customers c WHERE NOT EXISTS (SELECT 1 FROM active_clv a WHERE a.cid = c.cid AND a.clv IS NOT NULL)"),
            missing("SELECT count(*) FROM customers c WHERE NOT EXISTS (SELECT 1 FROM active_clv a WHERE a.cid = c.cid AND a.segment IS NOT NULL)"),
        )
    };
    assert_eq!(counted(&pg), by_sql());
    // A customer who came after the model and the fit has none of them:
    // the cache no longer answers, the next tally counts them.
    pg.exec(
        "INSERT INTO customers(cid, id) VALUES (100000, 'NEWCOMER')",
        &[],
    )
    .unwrap();
    assert_eq!(cached_unvalued(&pg).unwrap(), None);
    let before = by_sql();
    aggregates(&pg, true, 0.7, 0.4).unwrap();
    assert_eq!(counted(&pg), before);
    let (c, v, g) = counted(&pg);
    assert!(c >= 1 && v >= 1 && g >= 1, "{:?}", (c, v, g));
}

/// `migrate` carries the file's active churn model to the server with every
/// customer's score and drivers: the server explains customers with it and
/// judges its next training against it.
#[test]
fn the_active_model_goes_to_the_server_with_its_scores() {
    if skip() {
        return;
    }
    let file = demo_db(300, 17);
    train_and_fit(&file);
    let server = demo_db(300, 17);
    train_and_fit(&server);
    let server = server.on_engine();
    let id = file.count("SELECT id FROM models WHERE active = 1");
    assert!(id > 0);
    assert_eq!(server.count("SELECT id FROM models WHERE active"), id);
    assert_eq!(server.count("SELECT count(*) FROM models"), 1);
    // The drivers packed in the file (store::drivers) arrive as their text.
    let q = "SELECT cid, CAST(round(prob * 1000000) AS BIGINT), drivers FROM {} ORDER BY cid";
    let scores = |db: &crmtop::store::Db, table: &str| {
        use crmtop::store::sql::Sql;
        db.rows(&q.replace("{}", table), &[])
            .expect("scores")
            .into_iter()
            .map(|r| {
                let mut v = r.0.into_iter();
                let (cid, p) = (v.next(), v.next());
                let drivers = crmtop::store::drivers::text_of(v.next().expect("drivers"));
                (format!("{cid:?}"), format!("{p:?}"), drivers)
            })
            .collect::<Vec<_>>()
    };
    let on_server = scores(&server.db(), "churn_scores");
    assert!(
        on_server.iter().all(|r| r.2.starts_with("[[")),
        "{:?}",
        on_server.first()
    );
    assert_eq!(on_server, scores(&file.db(), "active_churn"));
    let crmtop::store::Db::Server(pg) = server.db() else {
        panic!("not on a server");
    };
    let d = crmtop::store::detail::load(&pg, 5).unwrap().unwrap();
    assert_eq!(d.churn.as_ref().map(|c| c.0), Some(id));
    let o = server.run(&["train", "--json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let r: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(r["model_id"].as_i64(), Some(id + 1), "{r}");
    assert!(
        r["activation"]
            .as_str()
            .unwrap()
            .contains(&format!("of v{id}")),
        "{r}"
    );
}

/// `crmtop export` on a server writes what the same data's file writes
/// (customers with their attributes).
#[test]
fn exports_from_the_server_equal_the_files() {
    if skip() {
        return;
    }
    let file = demo_db(300, 18);
    train_and_fit(&file);
    let server = demo_db(300, 18);
    train_and_fit(&server);
    let server = server.on_engine();
    let export = |db: &TempDb, what: &str| -> String {
        let o = db.run(&["export", what]);
        assert_eq!(o.status.code(), Some(0), "{what}: {}", stderr(&o));
        String::from_utf8(o.stdout).unwrap()
    };
    for what in ["customers", "orders", "feedback", "churn", "clv"] {
        let (a, b) = (export(&file, what), export(&server, what));
        assert!(a.lines().count() > 100, "{what}");
        assert_eq!(a, b, "{what}");
    }
    // The demo's two attributes are among the customers' columns.
    let head = export(&server, "customers");
    assert!(
        head.lines()
            .next()
            .unwrap()
            .ends_with(",newsletter,referral_source"),
        "{}",
        head.lines().next().unwrap()
    );
}

/// Numbers equal to a few units in the last place (the engines sum a
/// day's amounts in their own order), anything else exactly.
fn same_json(a: &serde_json::Value, b: &serde_json::Value, at: &str) {
    use serde_json::Value as J;
    match (a, b) {
        (J::Number(x), J::Number(y)) => {
            let (x, y) = (x.as_f64().unwrap(), y.as_f64().unwrap());
            assert!(
                (x - y).abs() <= 1e-7 * x.abs().max(y.abs()).max(1e-6),
                "{at}: {x} against {y}"
            );
        }
        (J::Object(x), J::Object(y)) => {
            assert_eq!(
                x.keys().collect::<Vec<_>>(),
                y.keys().collect::<Vec<_>>(),
                "{at}"
            );
            for (k, v) in x {
                if k != "duration_ms" {
                    same_json(v, &y[k], &format!("{at}.{k}"));
                }
            }
        }
        (J::Array(x), J::Array(y)) => {
            assert_eq!(x.len(), y.len(), "{at}");
            for (i, (v, w)) in x.iter().zip(y).enumerate() {
                same_json(v, w, &format!("{at}[{i}]"));
            }
        }
        _ => assert_eq!(a, b, "{at}"),
    }
}

/// `crmtop clv` on a server fits, values and ranks as on the file (the
/// report, every customer's values, the shares' sums), numbered after the
/// fit the migration carried; the holdout check agrees too.
#[test]
fn a_clv_fit_on_the_server_equals_the_files() {
    if skip() {
        return;
    }
    use crmtop::store::clv::Shares;
    let file = demo_db(400, 19);
    train_and_fit(&file);
    let server = demo_db(400, 19);
    train_and_fit(&server);
    let server = server.on_engine();
    let json = |db: &TempDb, args: &[&str]| -> serde_json::Value {
        let o = db.run(args);
        assert_eq!(o.status.code(), Some(0), "{args:?}: {}", stderr(&o));
        serde_json::from_slice(&o.stdout).unwrap()
    };
    for args in [
        &["segments", "--json"][..],
        &["clv", "--json"],
        &["clv", "--json", "--model", "pnbd", "--time-unit", "day"],
        &["clv", "--json", "--holdout-from", "2025-01-01"],
    ] {
        let (a, b) = (json(&file, args), json(&server, args));
        same_json(&a, &b, &format!("{args:?}"));
    }
    // The last fit is the migrated one's successor on both.
    let fit_id = json(&server, &["clv", "--json"])["fit_id"]
        .as_i64()
        .unwrap();
    assert_eq!(
        fit_id,
        json(&file, &["clv", "--json"])["fit_id"].as_i64().unwrap()
    );
    // Every customer's values, in the export's order.
    let export = |db: &TempDb| -> Vec<Vec<String>> {
        let o = db.run(&["export", "clv"]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        String::from_utf8(o.stdout)
            .unwrap()
            .lines()
            .map(|l| l.split(',').map(String::from).collect())
            .collect()
    };
    let (a, b) = (export(&file), export(&server));
    assert!(a.len() > 300);
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(x.len(), y.len());
        for (u, v) in x.iter().zip(y) {
            match (u.parse::<f64>(), v.parse::<f64>()) {
                (Ok(p), Ok(q)) => assert!((p - q).abs() <= 1e-6 * p.abs().max(1.0), "{x:?} {y:?}"),
                _ => assert_eq!(u, v),
            }
        }
    }
    // The shares' sums.
    let f = file.open();
    let crmtop::store::Db::Server(pg) = server.db() else {
        panic!("not on a server");
    };
    let close = |x: f64, y: f64| (x - y).abs() <= 1e-6 * x.abs().max(1.0);
    assert!(close(f.conn.total_clv().unwrap(), pg.total_clv().unwrap()));
    for (clv, cid) in [(Some(500.0), 17), (Some(50.0), 3), (None, 1)] {
        assert!(close(
            f.conn.clv_above(clv, cid).unwrap(),
            pg.clv_above(clv, cid).unwrap()
        ));
        assert!(close(
            f.conn.segment_clv("Champions", Some((clv, cid))).unwrap(),
            pg.segment_clv("Champions", Some((clv, cid))).unwrap()
        ));
    }
    assert!(close(
        f.conn.segment_clv("Champions", None).unwrap(),
        pg.segment_clv("Champions", None).unwrap()
    ));
    // doctor checks the values against the fit.
    let o = server.run(&["doctor"]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    assert!(
        stdout(&o).contains(&format!("fit #{fit_id}'s values")),
        "{}",
        stdout(&o)
    );
    pg.exec("DELETE FROM active_clv WHERE cid IN (SELECT cid FROM active_clv WHERE clv IS NOT NULL LIMIT 3)", &[])
        .unwrap();
    let o = server.run(&["doctor"]);
    assert_ne!(o.status.code(), Some(0), "{}", stdout(&o));
    assert!(stdout(&o).contains("have a CLV"), "{}", stdout(&o));
}

/// `crmtop survival` and the Churn screen's `:survival` and `:cohorts` on
/// a server give the file's curves and cohorts, by a core column or an
/// attribute; an unknown column is refused with the columns there are.
#[test]
fn survival_curves_and_cohorts_on_the_server_equal_the_files() {
    if skip() {
        return;
    }
    let file = demo_db(400, 20);
    let server = demo_db(400, 20).on_engine();
    for args in [
        &["survival", "--json"][..],
        &["survival", "--json", "--by", "plan"],
        &["survival", "--json", "--by", "referral_source"],
    ] {
        let a = file.run(args);
        let b = server.run(args);
        assert_eq!(a.status.code(), Some(0), "{args:?}: {}", stderr(&a));
        assert_eq!(b.status.code(), Some(0), "{args:?}: {}", stderr(&b));
        assert!(a.stdout.len() > 500, "{args:?}");
        assert_eq!(
            String::from_utf8(a.stdout).unwrap(),
            String::from_utf8(b.stdout).unwrap(),
            "{args:?}"
        );
    }
    let o = server.run(&["survival", "--by", "tenure_band"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("there are: plan, segment, region, newsletter, referral_source"),
        "{}",
        stderr(&o)
    );
    let f = file.open();
    let crmtop::store::Db::Server(pg) = server.db() else {
        panic!("not on a server");
    };
    let a = crmtop::analytics::survival::cohort_table(&f.conn, 12).unwrap();
    let b = crmtop::analytics::survival::cohort_table(&pg, 12).unwrap();
    assert!(!a.cohorts.is_empty());
    assert_eq!(
        serde_json::to_string(&a).unwrap(),
        serde_json::to_string(&b).unwrap()
    );
}

/// `crmtop rules` and `crmtop recommend` on a server learn from the same
/// baskets as on the file and say the same.
#[test]
fn rules_and_recommendations_on_the_server_equal_the_files() {
    if skip() {
        return;
    }
    let file = demo_db(400, 21);
    let server = demo_db(400, 21).on_engine();
    for args in [
        &["rules", "--json", "--min-support", "0.01"][..],
        &["recommend", "--json"],
        &["recommend", "--json", "C000007", "--n", "5"],
    ] {
        let a = file.run(args);
        let b = server.run(args);
        assert_eq!(a.status.code(), Some(0), "{args:?}: {}", stderr(&a));
        assert_eq!(b.status.code(), Some(0), "{args:?}: {}", stderr(&b));
        assert!(a.stdout.len() > 200, "{args:?}");
        assert_eq!(
            String::from_utf8(a.stdout).unwrap(),
            String::from_utf8(b.stdout).unwrap(),
            "{args:?}"
        );
    }
}

/// `crmtop clusters` on a server clusters the same behaviour into the
/// same clusters as on the file, and `:cluster N` lists the same customers.
#[test]
fn clusters_on_the_server_equal_the_files() {
    if skip() {
        return;
    }
    use crmtop::store::list::{self, ListQuery, SortColumn};
    use crmtop::store::pg::list as pg_list;
    let file = demo_db(400, 22);
    train_and_fit(&file);
    let server = demo_db(400, 22);
    train_and_fit(&server);
    let server = server.on_engine();
    let args = ["clusters", "--json", "--k", "4"];
    let (a, b) = (file.run(&args), server.run(&args));
    assert_eq!(a.status.code(), Some(0), "{}", stderr(&a));
    assert_eq!(b.status.code(), Some(0), "{}", stderr(&b));
    same_json(
        &serde_json::from_slice(&a.stdout).unwrap(),
        &serde_json::from_slice(&b.stdout).unwrap(),
        "clusters",
    );
    let f = file.open();
    let crmtop::store::Db::Server(pg) = server.db() else {
        panic!("not on a server");
    };
    let q = "SELECT cid, cluster FROM customer_clusters ORDER BY cid";
    let (x, y) = (f.conn.rows(q, &[]).unwrap(), pg.rows(q, &[]).unwrap());
    assert_eq!(x.len(), 400);
    assert_eq!(x, y);
    for sort in [SortColumn::Name, SortColumn::Churn, SortColumn::Clv] {
        let mut q = ListQuery::new(sort, true);
        q.limit = 23;
        q.cluster = Some(2);
        let (ff, fb) = walk_both_ways(&q, &|q| list::page(&f.conn, q).unwrap());
        let (sf, sb) = walk_both_ways(&q, &|q| pg_list::page(&pg, q, None).unwrap());
        assert!(!ff.is_empty());
        assert_eq!((ff, fb), (sf, sb), "{sort:?}");
        assert_eq!(
            list::count(&f.conn, &q).unwrap(),
            pg_list::count(&pg, &q, None).unwrap()
        );
    }
}

/// A subscription business's customers file with numeric attributes
/// (Telco) on a server: the import keeps them by column, training uses
/// them, retention CLV takes the monthly charge from one (`--revenue-attr`),
/// all as on a file; doctor finds an attribute row without its customer
/// and gives it a placeholder.
#[test]
fn attributes_on_the_server_train_and_value_as_on_the_file() {
    if skip() {
        return;
    }
    let file = TempDb::new();
    let server = TempDb::new().on_engine();
    for db in [&file, &server] {
        let s = db
            .import(Kind::Customers, &common::fixture("telco_numeric.csv"))
            .unwrap();
        assert_eq!(s.inserted, 7043);
        assert!(s.attribute_columns.contains(&"MonthlyCharges".to_string()));
    }
    let train = |db: &TempDb| -> serde_json::Value {
        let o = db.run(&["train", "--json"]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        let mut r: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        // What differs between two runs of the same training.
        for k in ["duration_ms", "created_at", "id", "phases"] {
            r.as_object_mut().unwrap().remove(k);
        }
        r
    };
    let (a, b) = (train(&file), train(&server));
    assert!(
        a.to_string().contains("MonthlyCharges"),
        "attributes among the features: {a}"
    );
    same_json(&a, &b, "train");
    let clv = |db: &TempDb| -> String {
        let o = db.run(&["clv", "--revenue-attr", "MonthlyCharges", "--json"]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        let o = db.run(&["export", "clv"]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        String::from_utf8(o.stdout).unwrap()
    };
    let (a, b) = (clv(&file), clv(&server));
    assert_eq!(a.lines().count(), 7044);
    assert_eq!(a, b);
    // A stray attribute row (written by another tool) is found and given a
    // placeholder customer.
    server
        .db()
        .exec("INSERT INTO customer_attrs(cid) VALUES (999999)", &[])
        .unwrap();
    let o = server.run(&["doctor"]);
    assert_ne!(o.status.code(), Some(0), "{}", stdout(&o));
    assert!(
        stdout(&o).contains("belong to no customer"),
        "{}",
        stdout(&o)
    );
    let o = server.run(&["doctor", "--fix"]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    assert_eq!(
        server.text("SELECT id FROM customers WHERE cid = 999999"),
        "restored-999999"
    );
}

/// `crmtop --db URL demo` makes the same company a file's demo has (made
/// in a scratch file and copied), and refuses a database with customers;
/// `crmtop score --as-of` rescoring the active version there equals a
/// file's.
#[test]
fn the_demo_on_a_server_equals_the_files() {
    if skip() {
        return;
    }
    let file = TempDb::new();
    let server = TempDb::new().on_engine();
    for db in [&file, &server] {
        let o = db.run(&[
            "demo",
            "--customers",
            "300",
            "--seed",
            "3",
            "--as-of",
            "2026-06-30",
        ]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    }
    for what in ["customers", "orders", "feedback", "churn"] {
        let a = file.run(&["export", what]);
        let b = server.run(&["export", what]);
        assert!(a.stdout.len() > 1000, "{what}");
        assert_eq!(stdout(&a), stdout(&b), "{what}");
    }
    // The active version scored as of another day: the same there too.
    let before = stdout(&server.run(&["export", "churn"]));
    for db in [&file, &server] {
        let o = db.run(&["score", "--as-of", "2026-03-31"]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        assert!(
            stdout(&o).contains("scored 300 customers"),
            "{}",
            stdout(&o)
        );
    }
    let after = stdout(&server.run(&["export", "churn"]));
    assert_ne!(before, after);
    assert_eq!(stdout(&file.run(&["export", "churn"])), after);
    let o = server.run(&["demo", "--customers", "10"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("already holds data"), "{}", stderr(&o));
}

/// The README's role for agents, run as it is written: an agent logged in
/// with it works the queue and the campaigns and reads every screen's
/// data, and cannot change the audit log, its guard triggers or the
/// customers.
#[test]
fn the_readmes_agent_role_works_the_queue_and_campaigns_and_no_more() {
    if skip() {
        return;
    }
    let db = demo_db(400, 31);
    train_and_fit(&db);
    let db = db.on_engine();
    let o = db.run(&[
        "campaign",
        "create",
        "save",
        "--action",
        "call",
        "--start",
        "2025-03-01",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    // The README's block, with this test's names for the roles and database.
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let start = readme
        .find("CREATE ROLE agents NOLOGIN;")
        .expect("the README's role block");
    let end = start + readme[start..].find("```").unwrap();
    let url = db.target().into_string().unwrap();
    let (base, dbname) = url.rsplit_once('/').unwrap();
    let pid = std::process::id();
    let (group, login) = (format!("agents_t{pid}"), format!("ann_t{pid}"));
    let block = readme[start..end]
        .replace("ON DATABASE crmtop", &format!("ON DATABASE {dbname}"))
        .replace("ROLE agents", &format!("ROLE {group}"))
        .replace("TO agents", &format!("TO {group}"))
        .replace("ROLE ann", &format!("ROLE {login}"));
    for word in [" agents;", " agents ", " ann "] {
        assert!(!block.contains(word), "{block}");
    }
    let mut admin = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    admin.batch_execute(&block).unwrap();
    let (_, host) = base.split_once('@').unwrap();
    let agent_url = format!("postgres://{login}@{host}/{dbname}");
    let agent = |args: &[&str]| {
        crmtop_cmd()
            .args(["--db", &agent_url, "--agent", "ann"])
            .args(args)
            .output()
            .unwrap()
    };
    // The queue, the campaigns and every screen's reads.
    for args in [
        &["feedback", "next", "--json"][..],
        &["feedback", "list", "--mine"],
        &["campaign", "list"],
        &["next-action", "--limit", "3"],
        &["info"],
        &["export", "customers"],
        &["segments"],
        &["doctor"],
    ] {
        let o = agent(args);
        assert_eq!(o.status.code(), Some(0), "{args:?}: {}", stderr(&o));
    }
    let next = agent(&["campaign", "next", "save", "--json"]);
    assert_eq!(next.status.code(), Some(0), "{}", stderr(&next));
    let m: serde_json::Value = serde_json::from_slice(&next.stdout).unwrap();
    let who = m["customer_id"].as_str().unwrap();
    let o = agent(&["campaign", "outcome", "save", who, "accepted"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = agent(&["campaign", "close", "save"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    // Not the audit log, its triggers or the customers.
    let mut as_agent = postgres::Client::connect(&agent_url, postgres::NoTls).unwrap();
    for sql in [
        "UPDATE audit_log SET agent = 'mallory'",
        "DELETE FROM audit_log",
        "ALTER TABLE audit_log DISABLE TRIGGER ALL",
        "DROP TRIGGER audit_log_no_update ON audit_log",
        "UPDATE customers SET name = 'x'",
    ] {
        assert!(as_agent.batch_execute(sql).is_err(), "{sql} was allowed");
    }
    let o = agent(&[
        "import",
        "customers",
        common::fixture("customers_extra.csv").to_str().unwrap(),
    ]);
    assert_ne!(o.status.code(), Some(0));
    drop(as_agent);
    admin
        .batch_execute(&format!(
            "DROP OWNED BY {login}, {group}; DROP ROLE {login}; DROP ROLE {group};"
        ))
        .unwrap();
}

/// A server keeps the newest versions' scores (each version's in a
/// partition of its own) and drops the older ones' after the commit: a
/// pruned version cannot be activated, a kept one can.
#[test]
fn old_versions_scores_are_dropped_partition_by_partition() {
    if skip() {
        return;
    }
    let db = demo_db(300, 41).on_engine();
    for _ in 0..7 {
        let o = db.run(&["train", "--json"]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    }
    let parts =
        db.count("SELECT count(*) FROM pg_inherits WHERE inhparent = 'churn_scores'::regclass");
    let kept = crmtop::store::models::KEEP_SCORES;
    assert!(parts <= kept + 1 && parts >= kept, "{parts} partitions");
    assert_eq!(
        db.count("SELECT count(DISTINCT model_id) FROM churn_scores"),
        parts
    );
    let newest = db.count("SELECT max(id) FROM models");
    let oldest = db.count("SELECT min(id) FROM models");
    let o = db.run(&["model", "activate", &oldest.to_string()]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("pruned"), "{}", stderr(&o));
    let o = db.run(&["model", "activate", &(newest - 1).to_string()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(
        db.count("SELECT count(*) FROM active_churn"),
        db.count(&format!(
            "SELECT count(*) FROM churn_scores WHERE model_id = {}",
            newest - 1
        ))
    );
}

/// A read given a time budget is stopped at it (a filtered page then asks
/// the other way round), and leaves the connection as it was; one within
/// its budget gives its rows.
#[test]
fn a_read_past_its_budget_is_stopped_and_the_connection_goes_on() {
    if skip() {
        return;
    }
    let db = demo_db(50, 51).on_engine();
    let crmtop::store::Db::Server(pg) = db.db() else {
        panic!("not on a server");
    };
    let slow = pg
        .rows_within(
            "SELECT pg_sleep(0.5)::text",
            &[],
            std::time::Duration::from_millis(20),
            "",
        )
        .unwrap();
    assert!(slow.is_none());
    let quick = pg
        .rows_within(
            "SELECT count(*) FROM customers",
            &[],
            std::time::Duration::from_secs(5),
            "SET LOCAL enable_indexscan = off",
        )
        .unwrap()
        .unwrap();
    assert_eq!(quick[0].i64(0).unwrap(), 50);
    // No transaction left open, no setting left behind.
    assert_eq!(pg.count("SELECT count(*) FROM customers", &[]).unwrap(), 50);
    let t = pg.row("SHOW statement_timeout", &[]).unwrap().unwrap();
    assert_eq!(t.text(0).unwrap(), "0");
}

/// A job whose process died while the server ran one of its statements:
/// the server goes on with its transaction (and its locks) until it next
/// talks to the process. doctor says so, `--fix` ends it, and it then
/// reads as died; a job running in a live process reads as running.
#[test]
fn doctor_names_a_jobs_transaction_its_dead_process_left_running() {
    if skip() {
        return;
    }
    let db = TempDb::new().on_engine();
    let url = db.server.as_ref().unwrap().url.clone();
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .unwrap()
        .trim()
        .to_string();
    // A pid no process of this host has.
    let dead = (400_000..4_000_000)
        .find(|p| !std::path::Path::new(&format!("/proc/{p}")).exists())
        .unwrap();
    let live = std::process::id();
    let job = |id: i64, pid: u32| {
        let mut c = postgres::Client::connect(&url, postgres::NoTls).unwrap();
        c.batch_execute(&format!(
            "INSERT INTO jobs(id, kind, agent, host, pid, started_at, status, backend)
             VALUES ({id}, 'import', 'ann', '{host}', {pid}, 1765000000, 'running', pg_backend_pid());
             SELECT pg_advisory_lock(7243003, {id});"
        ))
        .unwrap();
        // The job's statement, running on the server.
        std::thread::spawn(move || c.batch_execute("SELECT pg_sleep(60)").is_err())
    };
    let orphan = job(7, dead);
    let running = job(8, live);
    std::thread::sleep(std::time::Duration::from_millis(300));
    let findings = |args: &[&str]| -> serde_json::Value {
        let out = db.run(args);
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["check"] == "jobs")
            .unwrap()
            .clone()
    };
    let f = findings(&["doctor", "--json"]);
    assert_eq!(f["severity"], "warning", "{f}");
    let m = f["message"].as_str().unwrap();
    assert!(
        m.contains("import #7 by ann") && m.contains("still runs its transaction"),
        "{m}"
    );
    assert!(
        !m.contains("#8"),
        "a live process's job is not a problem: {m}"
    );
    let f = findings(&["doctor", "--fix", "--json"]);
    assert_eq!(f["fixed"], true, "{f}");
    assert!(orphan.join().unwrap(), "the orphan's statement was ended");
    std::thread::sleep(std::time::Duration::from_millis(300));
    let f = findings(&["doctor", "--json"]);
    assert_eq!(f["severity"], "ok", "{f}");
    let m = f["message"].as_str().unwrap();
    assert!(m.contains("running now: import #8 by ann"), "{m}");
    assert!(
        m.contains("import #7 by ann (started"),
        "died, in the history: {m}"
    );
    assert_eq!(db.text("SELECT status FROM jobs WHERE id = 7"), "died");
    // The live one's statement is ended by the test (its database goes).
    let _ = crmtop::store::pg::Pg::connect(&url, false).map(|pg| {
        let _ = pg.rows(
            "SELECT pg_terminate_backend(backend) FROM jobs WHERE id = 8",
            &[],
        );
    });
    assert!(running.join().unwrap());
}
