//! The feedback queue: transitions through the store and the CLI, priority
//! order and its explanation, optimistic locking, bulk actions with a
//! conflict, the append-only audit log and its replay, and several agent
//! processes racing on one file.

mod common;

use common::*;
use crmtop::analytics::priority::SlaConfig;
use crmtop::analytics::workflow::Act;
use crmtop::ingest::Kind;
use crmtop::store::sql::{self, Sql};
use crmtop::store::workflow::{self, Outcome, Target};
use std::collections::HashMap;

/// Six items on three customers with known value at risk (K1: 0.9 x 5,000;
/// K2: 0.1 x 50; K3: none), all created in 2024, so all past their SLA.
fn queue_db() -> TempDb {
    let db = TempDb::new();
    db.import(Kind::Feedback, &fixture("queue_feedback.csv"))
        .expect("import feedback");
    let s = db.open();
    common::set_clv(&s.conn, &[("K1", 5000.0), ("K2", 50.0)]);
    common::set_churn(&s.conn, &[("K1", 0.9), ("K2", 0.1)]);
    crmtop::store::feedback::refresh_static_priority(&s.conn, None).unwrap();
    db.on_engine()
}

fn fid(db: &TempDb, id: &str) -> i64 {
    crmtop::store::feedback::fid_of(&db.db(), id)
        .unwrap()
        .unwrap()
}

fn json(o: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}\nstderr: {}", stdout(o), stderr(o)))
}

fn state_of(db: &TempDb, id: &str) -> (String, Option<String>, i64) {
    let r = db
        .db()
        .row(
            "SELECT status, assignee, version FROM feedback WHERE id = ?1",
            &[sql::text(id)],
        )
        .unwrap()
        .unwrap();
    (
        r.text(0).unwrap(),
        r.opt_text(1).unwrap(),
        r.i64(2).unwrap(),
    )
}

#[test]
fn queue_order_and_explanation() {
    let db = queue_db();
    let out = db.run(&["feedback", "list", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // A list's JSON: the page's items with the total of all matching ones.
    assert_eq!(json(&out)["total"], 6);
    let items = json(&out)["items"].clone();
    let ids: Vec<&str> = items
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["Q1", "Q6", "Q2", "Q3", "Q4", "Q5"]);
    // Every item carries what scripts rely on.
    for i in items.as_array().unwrap() {
        for key in [
            "id",
            "customer_id",
            "status",
            "assignee",
            "priority",
            "kind",
            "created_at",
        ] {
            assert!(i.get(key).is_some(), "{key} missing in {i}");
        }
        // Praise needs no response: no SLA clock, never overdue.
        assert_eq!(i["overdue"], i["kind"] != "praise", "{i}");
    }
    let prios: Vec<f64> = items
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["priority"].as_f64().unwrap())
        .collect();
    assert!(prios.windows(2).all(|w| w[0] >= w[1]), "{prios:?}");
    // Why Q1 ranks first, in words.
    let show = json(&db.run(&["feedback", "show", "Q1", "--json"]));
    let why = show["why"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w.as_str().unwrap().to_string())
        .collect::<Vec<_>>()
        .join("; ");
    assert!(
        why.starts_with("value at risk 4,500.00; sentiment -"),
        "{why}"
    );
    assert!(why.contains("kind complaint"), "{why}");
    assert!(why.contains("h past first-response SLA"), "{why}");
    // The detractor is named as one.
    let q4 = json(&db.run(&["feedback", "show", "Q4", "--json"]));
    assert!(
        q4["why"].to_string().contains("NPS 3 (detractor)"),
        "{}",
        q4["why"]
    );
    // Filters.
    let ids_of = |args: &[&str]| -> Vec<String> {
        let mut a = vec!["feedback", "list", "--json"];
        a.extend_from_slice(args);
        json(&db.run(&a))["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["id"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(ids_of(&["--kind", "question"]), ["Q6", "Q3"]);
    assert_eq!(ids_of(&["--channel", "email"]), ["Q1", "Q3", "Q5"]);
    assert_eq!(ids_of(&["--mine"]), Vec::<String>::new());
    assert_eq!(ids_of(&["--overdue", "--limit", "2"]), ["Q1", "Q6"]);
    // Finding a ticket: each word typed as the start of a word, in the
    // item's id, its customer's id or its text, in priority order.
    assert_eq!(ids_of(&["--search", "refund"]), ["Q1"]);
    assert_eq!(ids_of(&["--search", "arriv dama"]), ["Q2"]);
    assert_eq!(ids_of(&["--search", "K1"]), ["Q1", "Q6"]);
    assert_eq!(
        ids_of(&["--search", "my", "--kind", "question"]),
        ["Q6", "Q3"]
    );
    assert_eq!(
        ids_of(&["--search", "invoice parcel"]),
        Vec::<String>::new()
    );
}

/// A name or word typed without its accents finds the item on both
/// engines: letters FTS5 cannot take apart (Ł, ø, ß, æ) are folded as a
/// server's `unaccent` folds them, as a letter that decomposes (ü) was.
#[test]
fn a_search_folds_letters_that_do_not_decompose() {
    let db = TempDb::new();
    let c = db.file("c.csv");
    std::fs::write(
        &c,
        "id,name\nK1,Łukasz Nowak\nK2,Søren Ørsted\nK3,Anna Müller\nK4,Jens Straße\n",
    )
    .unwrap();
    db.import(Kind::Customers, &c).unwrap();
    let f = db.file("f.csv");
    std::fs::write(
        &f,
        "id,customer_id,created_at,kind,text\n\
         Q1,K1,2025-06-20,complaint,Invoice wrong\n\
         Q2,K2,2025-06-21,question,Export\n\
         Q3,K3,2025-06-22,question,Plan change\n\
         Q4,K4,2025-06-23,complaint,Bjørn from Łódź asked about Æble\n",
    )
    .unwrap();
    db.import(Kind::Feedback, &f).unwrap();
    let db = db.on_engine();
    for (typed, want) in [
        ("lukasz", "Q1"),
        ("Łukasz nowak", "Q1"),
        ("soren orsted", "Q2"),
        ("muller", "Q3"),
        ("strasse", "Q4"),
        ("bjorn lodz aeble", "Q4"),
    ] {
        let out = json(&db.run(&["feedback", "list", "--json", "--search", typed]));
        let ids: Vec<&str> = out["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["id"].as_str().unwrap())
            .collect();
        assert_eq!(ids, [want], "{typed}");
    }
    // The index follows a rename, folded too (the server's trigger does).
    db.exec("UPDATE customers SET name = 'Bjørg Nowak' WHERE id = 'K1'");
    let out = json(&db.run(&["feedback", "list", "--json", "--search", "bjorg"]));
    assert_eq!(out["total"], 1, "{out}");
}

/// Each action through the CLI, allowed and refused, with its exit code.
#[test]
fn transitions_through_the_cli() {
    let db = queue_db();
    let run = |agent: &str, args: &[&str]| {
        let mut a = vec!["--agent", agent, "feedback"];
        a.extend_from_slice(args);
        db.run(&a)
    };
    // new -> open (claim)
    let o = run("ann", &["claim", "Q2"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(state_of(&db, "Q2"), ("open".into(), Some("ann".into()), 2));
    // Another agent's claim is refused, naming the holder (exit 4).
    let o = run("bob", &["claim", "Q2"]);
    assert_eq!(o.status.code(), Some(4));
    assert!(stderr(&o).contains("held by ann"), "{}", stderr(&o));
    assert_eq!(state_of(&db, "Q2").2, 2, "a refused claim writes nothing");
    // Claiming one's own item again changes nothing.
    assert_eq!(run("ann", &["claim", "Q2"]).status.code(), Some(0));
    assert_eq!(state_of(&db, "Q2").2, 2);
    // open -> pending -> (claim) open
    assert_eq!(run("ann", &["pending", "Q2"]).status.code(), Some(0));
    assert_eq!(state_of(&db, "Q2").0, "pending");
    // Pending twice is refused (exit 2), as is resolving without a note.
    let o = run("ann", &["pending", "Q2"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("cannot set to pending an item that is pending"),
        "{}",
        stderr(&o)
    );
    let o = run("ann", &["resolve", "Q2", "--note", "  "]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("needs a note"));
    let o = run("ann", &["resolve", "Q2"]);
    assert_eq!(o.status.code(), Some(2), "clap requires --note");
    // pending -> resolved with a note
    assert_eq!(
        run("ann", &["resolve", "Q2", "--note", "replaced the parcel"])
            .status
            .code(),
        Some(0)
    );
    let (st, who, _) = state_of(&db, "Q2");
    assert_eq!((st.as_str(), who.as_deref()), ("resolved", Some("ann")));
    let note = db
        .db()
        .row("SELECT resolution_note FROM feedback WHERE id = 'Q2'", &[])
        .unwrap()
        .unwrap()
        .text(0)
        .unwrap();
    assert_eq!(note, "replaced the parcel");
    // A resolved item leaves the queue; claiming it asks to reopen first.
    assert_eq!(
        db.count("SELECT count(*) FROM queue q JOIN feedback f USING (fid) WHERE f.id = 'Q2'"),
        0
    );
    let o = run("bob", &["claim", "Q2"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("reopen it first"));
    // resolved -> open (reopen by bob, who then holds it) -> escalated
    assert_eq!(run("bob", &["reopen", "Q2"]).status.code(), Some(0));
    assert_eq!(state_of(&db, "Q2").1.as_deref(), Some("bob"));
    assert_eq!(
        db.count("SELECT count(*) FROM queue q JOIN feedback f USING (fid) WHERE f.id = 'Q2'"),
        1
    );
    let o = run("ann", &["escalate", "Q2", "--reason", "legal"]);
    assert_eq!(o.status.code(), Some(4), "held by bob");
    assert_eq!(
        run("bob", &["escalate", "Q2", "--reason", "legal threat"])
            .status
            .code(),
        Some(0)
    );
    assert_eq!(state_of(&db, "Q2").0, "escalated");
    // Escalating twice is refused.
    assert_eq!(
        run("bob", &["escalate", "Q2", "--reason", "x"])
            .status
            .code(),
        Some(2)
    );
    // assign to another agent, who may then act.
    assert_eq!(
        run("bob", &["assign", "Q2", "--to", "cy", "--new-agent"])
            .status
            .code(),
        Some(0)
    );
    assert_eq!(state_of(&db, "Q2").1.as_deref(), Some("cy"));
    assert_eq!(
        run("cy", &["resolve", "Q2", "--note", "settled"])
            .status
            .code(),
        Some(0)
    );
    assert_eq!(run("cy", &["close", "Q2"]).status.code(), Some(0));
    assert_eq!(state_of(&db, "Q2").0, "closed");
    // Unknown ids are bad input.
    let o = run("ann", &["claim", "NOPE"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("no feedback item 'NOPE'"));
    // Closed items are listed by status.
    let closed =
        json(&db.run(&["feedback", "list", "--status", "closed", "--json"]))["items"].clone();
    assert_eq!(closed[0]["id"], "Q2");
    assert_eq!(closed[0]["resolution_note"], "settled");
    // The history names every step.
    let show = json(&db.run(&["feedback", "show", "Q2", "--json"]));
    let actions: Vec<&str> = show["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        ["claim", "pending", "resolve", "reopen", "escalate", "assign", "resolve", "close"]
    );
    // Read-only mode refuses changes.
    let o = db.run(&["--read-only", "feedback", "claim", "Q3"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("read-only"));
}

#[test]
fn imported_states_another_system_left_are_kept_and_workable() {
    // Another helpdesk's export: an open ticket nobody holds (a group's,
    // say), one pending without an agent, one resolved without a note, one
    // escalated without a reason, one an agent holds. Each keeps its
    // status; the two nobody holds are taken by `feedback next` (and `t`)
    // like new ones, the held one is not.
    let db = TempDb::new().on_engine();
    let f = db.file("fb.csv");
    std::fs::write(
        &f,
        "id,customer_id,created_at,kind,text,status,assignee\n\
         F1,C1,2026-01-01,complaint,where is my order,open,\n\
         F2,C1,2026-01-02,question,any news,pending,\n\
         F3,C2,2026-01-03,complaint,broken,resolved,\n\
         F4,C2,2026-01-04,complaint,still broken,escalated,\n\
         F5,C3,2026-01-05,complaint,mine,open,bob\n\
         F6,C3,2026-01-06,question,assigned,new,carol\n",
    )
    .unwrap();
    let s = db.import(crmtop::ingest::Kind::Feedback, &f).unwrap();
    assert_eq!((s.inserted, s.rejected), (6, 0));
    // A new item with an agent is an assigned one: open, held by carol.
    for (id, status) in [
        ("F1", "open"),
        ("F2", "pending"),
        ("F3", "resolved"),
        ("F4", "escalated"),
        ("F5", "open"),
        ("F6", "open"),
    ] {
        assert_eq!(
            db.text(&format!("SELECT status FROM feedback WHERE id = '{id}'")),
            status
        );
    }
    let mut taken = Vec::new();
    loop {
        let o = db.run(&["--agent", "ann", "feedback", "next", "--json"]);
        if o.status.code() == Some(5) {
            break;
        }
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        let item = json(&o);
        assert_eq!(item["assignee"], "ann");
        taken.push(item["id"].as_str().unwrap().to_string());
    }
    taken.sort();
    assert_eq!(taken, ["F1", "F2", "F4"]);
    // carol's is not claimed from her without a word.
    let o = db.run(&["--agent", "ann", "feedback", "claim", "F6"]);
    assert_eq!(o.status.code(), Some(4), "{}", stderr(&o));
    assert!(stderr(&o).contains("carol"), "{}", stderr(&o));
}

#[test]
fn a_list_says_when_it_holds_only_a_texts_start_and_show_gives_it_whole() {
    let db = TempDb::new().on_engine();
    let long = "word ".repeat(400);
    let f = db.file("fb.csv");
    std::fs::write(
        &f,
        format!(
            "id,customer_id,created_at,kind,text,status,assignee\n\
             L1,C1,2026-01-01,complaint,{long},new,\n\
             S1,C2,2026-01-02,complaint,short,new,\n\
             B1,C3,2026-01-03,question,hi,open,bo\u{200b}b\n\
             B2,C3,2026-01-04,question,hi,open,a\u{1b}[31mb\n"
        ),
    )
    .unwrap();
    let mut opts = crmtop::ingest::ImportOptions::new(crmtop::ingest::Kind::Feedback, f);
    opts.reject_file = Some(db.file("rejects.csv"));
    let s = db.import_opts(&opts, crmtop::jobs::Ctl::silent()).unwrap();
    // An assignee that would show as someone else, or as no one, is refused
    // with its line and field.
    assert_eq!((s.inserted, s.rejected), (2, 2));
    let rejects = std::fs::read_to_string(db.file("rejects.csv")).unwrap();
    assert!(rejects.contains("4,assignee,"), "{rejects}");
    assert!(rejects.contains("5,assignee,"), "{rejects}");
    let o = db.run(&["feedback", "list", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let item = |id: &str| {
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["id"] == id)
            .cloned()
            .unwrap()
    };
    assert_eq!(item("L1")["text_cut"], true);
    assert_eq!(item("L1")["text"].as_str().unwrap().len(), 500);
    assert_eq!(item("S1")["text_cut"], false);
    let o = db.run(&["feedback", "show", "L1", "--json"]);
    let whole: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(whole["text"].as_str().unwrap(), long.trim());
    assert_eq!(whole["text_cut"], false);
}

#[test]
fn next_takes_the_top_item_and_exits_5_when_none_is_left() {
    let db = queue_db();
    let mut taken = Vec::new();
    for _ in 0..6 {
        let o = db.run(&["--agent", "ann", "feedback", "next", "--json"]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        let item = json(&o);
        assert_eq!(item["assignee"], "ann");
        assert_eq!(item["status"], "open");
        taken.push(item["id"].as_str().unwrap().to_string());
    }
    assert_eq!(taken, ["Q1", "Q6", "Q2", "Q3", "Q4", "Q5"]);
    let o = db.run(&["--agent", "ann", "feedback", "next"]);
    assert_eq!(o.status.code(), Some(5));
    assert!(stderr(&o).contains("nothing left"));
    // CRMTOP_AGENT names the agent when --agent is absent.
    let o = crmtop_cmd()
        .env("CRMTOP_AGENT", "zoe")
        .arg("--db")
        .arg(db.target())
        .args(["feedback", "list", "--mine", "--json"])
        .output()
        .unwrap();
    assert_eq!(json(&o)["items"].as_array().unwrap().len(), 0);
    let mine = json(&db.run(&["--agent", "ann", "feedback", "list", "--mine", "--json"]));
    assert_eq!(mine["items"].as_array().unwrap().len(), 6);
    assert_eq!(mine["total"], 6);
}

/// Optimistic locking: an action on a version another agent has changed is
/// refused with who and when; in a bulk action the others still happen.
#[test]
fn bulk_action_with_a_conflict_in_the_middle() {
    let db = queue_db();
    let (q1, q3, q6) = (fid(&db, "Q1"), fid(&db, "Q3"), fid(&db, "Q6"));
    // Ann's screen shows version 1 of each; meanwhile bob claims Q3.
    let mut s = db.db();
    let o = workflow::act(
        &mut s,
        &[Target {
            fid: q3,
            version: Some(1),
        }],
        &Act::Claim,
        "bob",
        2_000_000_000,
    )
    .unwrap();
    assert!(o[0].is_done());
    let outcomes = workflow::act(
        &mut s,
        &[
            Target {
                fid: q1,
                version: Some(1),
            },
            Target {
                fid: q3,
                version: Some(1),
            },
            Target {
                fid: q6,
                version: Some(1),
            },
        ],
        &Act::Claim,
        "ann",
        2_000_000_100,
    )
    .unwrap();
    assert!(outcomes[0].is_done());
    match &outcomes[1] {
        Outcome::Conflict {
            id,
            by,
            at,
            status,
            assignee,
        } => {
            assert_eq!(id, "Q3");
            assert_eq!(by.as_deref(), Some("bob"));
            assert_eq!(*at, Some(2_000_000_000));
            assert_eq!(status, "open");
            assert_eq!(assignee.as_deref(), Some("bob"));
            assert!(outcomes[1].message().contains("was changed by bob"));
        }
        other => panic!("expected a conflict, got {other:?}"),
    }
    assert!(outcomes[2].is_done());
    assert_eq!(state_of(&db, "Q1").1.as_deref(), Some("ann"));
    assert_eq!(state_of(&db, "Q3").1.as_deref(), Some("bob"));
    assert_eq!(state_of(&db, "Q6").1.as_deref(), Some("ann"));
    // A stale version is refused even when the action would be allowed.
    let o = workflow::act(
        &mut s,
        &[Target {
            fid: q1,
            version: Some(1),
        }],
        &Act::Pending,
        "ann",
        2_000_000_200,
    )
    .unwrap();
    assert!(matches!(o[0], Outcome::Conflict { .. }), "{o:?}");
}

#[test]
fn the_audit_log_is_append_only() {
    let db = queue_db();
    assert_eq!(
        db.run(&["--agent", "ann", "feedback", "claim", "Q1"])
            .status
            .code(),
        Some(0)
    );
    let s = db.db();
    let n = db.count("SELECT count(*) FROM audit_log");
    assert!(n >= 1);
    let e = s
        .exec("UPDATE audit_log SET agent = 'mallory'", &[])
        .unwrap_err();
    assert!(e.to_string().contains("append-only"), "{e}");
    let e = s.exec("DELETE FROM audit_log", &[]).unwrap_err();
    assert!(e.to_string().contains("append-only"), "{e}");
    assert_eq!(db.count("SELECT count(*) FROM audit_log"), n);
    assert_eq!(
        db.count("SELECT count(*) FROM audit_log WHERE agent = 'mallory'"),
        0
    );
}

/// Replays every item's audit entries (crmtop's own replay, which `crmtop
/// doctor` runs too): each entry starts where the last one ended (no update
/// lost), is a transition the rules allow, and the log ends where the table is.
fn replay_matches_table(db: &TempDb) -> usize {
    let r = crmtop::store::audit::replay_feedback(&db.db()).unwrap();
    assert!(r.problems.is_empty(), "{:#?}", r.problems);
    r.entries as usize
}

#[test]
fn the_audit_log_replays_to_the_final_state() {
    let db = queue_db();
    for args in [
        vec!["--agent", "ann", "feedback", "claim", "Q1", "Q2"],
        vec!["--agent", "ann", "feedback", "pending", "Q1"],
        vec![
            "--agent",
            "ann",
            "feedback",
            "assign",
            "Q2",
            "--to",
            "bob",
            "--new-agent",
        ],
        vec![
            "--agent", "bob", "feedback", "resolve", "Q2", "--note", "done",
        ],
        vec!["--agent", "cy", "feedback", "reopen", "Q2"],
        vec![
            "--agent", "cy", "feedback", "escalate", "Q3", "--reason", "vip",
        ],
    ] {
        assert_eq!(db.run(&args).status.code(), Some(0), "{args:?}");
    }
    assert_eq!(replay_matches_table(&db), 7);
    // A change made behind crmtop's back (no audit entry) breaks the replay.
    db.db()
        .exec("UPDATE feedback SET status = 'closed' WHERE id = 'Q3'", &[])
        .unwrap();
    let r = crmtop::store::audit::replay_feedback(&db.db()).unwrap();
    assert_eq!(r.problems.len(), 1, "{:?}", r.problems);
    assert!(r.problems[0].contains("Q3"), "{:?}", r.problems);
    // And so does a lost update: an entry that does not start where the last ended.
    crmtop::store::audit::append(
        &db.db(),
        "ghost",
        "claim",
        "feedback",
        "Q1",
        Some(r#"{"status":"new","assignee":null,"version":1}"#),
        Some(r#"{"status":"open","assignee":"ghost","version":2}"#),
        None,
    )
    .unwrap();
    let r = crmtop::store::audit::replay_feedback(&db.db()).unwrap();
    assert!(
        r.problems
            .iter()
            .any(|p| p.contains("Q1") && p.contains("starts from")),
        "{:?}",
        r.problems
    );
}

/// Eight agent processes race on 500 items: every claim goes to exactly
/// one agent, the audit log replays to the final state (no update lost),
/// and no "database is locked" reaches anyone.
#[test]
fn eight_agents_race_on_one_file() {
    let db = TempDb::new();
    let mut csv = String::from("id,customer_id,created_at,channel,kind,score,text\n");
    for i in 0..500 {
        csv.push_str(&format!(
            "R{i:03},K{},2025-01-{:02}T10:00:00Z,email,{},,Item number {i}\n",
            i % 37,
            1 + i % 28,
            ["complaint", "question", "praise", "other"][i % 4]
        ));
    }
    let file = db.file("race.csv");
    std::fs::write(&file, csv).unwrap();
    db.import(Kind::Feedback, &file).unwrap();
    let db = db.on_engine();
    let secs: u64 = std::env::var("RACE_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(6);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    let path = db.target();
    let handles: Vec<_> = (0..8)
        .map(|a| {
            let path = path.clone();
            std::thread::spawn(move || {
                let agent = format!("agent{a}");
                let mut log: Vec<(i32, String)> = Vec::new();
                let mut i = a * 61;
                while std::time::Instant::now() < deadline {
                    i += 1;
                    let item = format!("R{:03}", (i * 7 + a) % 500);
                    let args: Vec<String> = match i % 6 {
                        0 | 1 => vec!["feedback".into(), "next".into()],
                        2 => vec!["feedback".into(), "claim".into(), item],
                        3 => vec![
                            "feedback".into(),
                            "resolve".into(),
                            item,
                            "--note".into(),
                            format!("fixed by {agent}"),
                        ],
                        4 => vec![
                            "feedback".into(),
                            "assign".into(),
                            item,
                            "--to".into(),
                            format!("agent{}", (a + 1) % 8),
                            "--new-agent".into(),
                        ],
                        _ => vec!["feedback".into(), "pending".into(), item],
                    };
                    let out = crmtop_cmd()
                        .arg("--db")
                        .arg(&path)
                        .arg("--agent")
                        .arg(&agent)
                        .args(&args)
                        .output()
                        .expect("run crmtop");
                    log.push((out.status.code().unwrap_or(-1), stderr(&out)));
                }
                log
            })
        })
        .collect();
    let mut runs = 0;
    let mut codes: HashMap<i32, usize> = HashMap::new();
    for h in handles {
        for (code, err) in h.join().unwrap() {
            runs += 1;
            *codes.entry(code).or_default() += 1;
            assert!(!err.to_lowercase().contains("locked"), "a user saw: {err}");
            assert!(!err.to_lowercase().contains("busy"), "a user saw: {err}");
            // 0 done, 2 refused transition, 4 held by another, 5 queue empty.
            assert!(matches!(code, 0 | 2 | 4 | 5), "exit {code}: {err}");
        }
    }
    assert!(runs >= 80, "only {runs} actions ran");
    assert!(codes.get(&0).copied().unwrap_or(0) > 0, "{codes:?}");
    let n = replay_matches_table(&db);
    assert!(n > 0);
    // Exactly one agent took each item with a claim from new: an item's
    // first claim from `new` happens once, however many agents tried.
    let mut first_claims: HashMap<String, usize> = HashMap::new();
    for e in crmtop::store::audit::all_for(&db.db(), "feedback").unwrap() {
        let old: serde_json::Value =
            serde_json::from_str(e.old_value.as_deref().unwrap_or("null")).unwrap();
        if e.action == "claim" && old["status"] == "new" && old["version"] == 1 {
            *first_claims.entry(e.entity_id).or_default() += 1;
        }
    }
    assert!(!first_claims.is_empty());
    assert!(first_claims.values().all(|n| *n == 1), "{first_claims:?}");
    eprintln!(
        "race: {runs} actions by 8 agents in {secs} s, exit codes {codes:?}, {n} audit entries"
    );
}

#[test]
fn sla_settings_change_what_is_overdue() {
    let mut sla = SlaConfig::default();
    let now = 1_000_000;
    assert!(!crmtop::store::queue::is_overdue(
        &sla,
        "question",
        "new",
        now - 23 * 3600,
        now
    ));
    assert!(crmtop::store::queue::is_overdue(
        &sla,
        "question",
        "new",
        now - 24 * 3600,
        now
    ));
    // After the first response the resolution clock (72 h) applies.
    assert!(!crmtop::store::queue::is_overdue(
        &sla,
        "question",
        "open",
        now - 24 * 3600,
        now
    ));
    sla.question.resolution_hours = 12.0;
    assert!(crmtop::store::queue::is_overdue(
        &sla,
        "question",
        "open",
        now - 13 * 3600,
        now
    ));
}

/// Every queued item's time-independent priority, by item.
fn queue_prios(conn: &rusqlite::Connection) -> Vec<(i64, f64)> {
    conn.prepare("SELECT fid, prio_static FROM queue ORDER BY fid")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

/// Activating a model or a CLV fit recomputes every queued item's
/// priority (computed beside the scores in key order): the same values the
/// full SQL recomputation gives.
#[test]
fn activating_a_model_or_fit_recomputes_every_queued_priority() {
    let db = queue_db();
    let s = db.open();
    let before = queue_prios(&s.conn);
    common::set_churn(&s.conn, &[("K1", 0.2), ("K2", 0.95), ("K3", 0.5)]);
    common::set_clv(&s.conn, &[("K2", 9000.0), ("K3", 40.0)]);
    let after = queue_prios(&s.conn);
    assert_ne!(after, before);
    crmtop::store::feedback::refresh_static_priority(&s.conn, None).unwrap();
    assert_eq!(queue_prios(&s.conn), after);
}

/// A retrain reads the queue's items before its write lock and uses them
/// inside its transaction only if no other connection committed between:
/// an item's score changed by another agent in that gap reaches its
/// priority (the same values the full SQL recomputation gives).
#[test]
fn a_prefetched_priority_refresh_sees_changes_made_before_the_lock() {
    let db = queue_db();
    let s = db.open();
    let refresh = |changed: bool, ahead: bool| -> Vec<(i64, f64)> {
        // As a retrain does it: read on a thread of its own, started when
        // the retrain has read its data; or started only when collected.
        let p = crmtop::store::feedback::Prefetched::clv_ahead(&s.conn).unwrap();
        if ahead {
            p.start();
        }
        let pre = p.wait().unwrap();
        if changed {
            // Another agent's commit, on a connection of its own.
            let other = db.open();
            other
                .conn
                .execute(
                    "UPDATE feedback SET score = CASE WHEN score = 10 THEN 0 ELSE 10 END
                      WHERE kind = 'nps'",
                    [],
                )
                .unwrap();
        }
        let held = crmtop::store::scores::ActiveByCid::load(&s.conn).unwrap();
        let tx = s.conn.unchecked_transaction().unwrap();
        crmtop::store::feedback::refresh_priorities_prefetched(&tx, Some(held), None, Some(pre))
            .unwrap();
        tx.commit().unwrap();
        let got = queue_prios(&s.conn);
        crmtop::store::feedback::refresh_static_priority(&s.conn, None).unwrap();
        assert_eq!(got, queue_prios(&s.conn), "changed elsewhere: {changed}");
        got
    };
    for ahead in [false, true] {
        let before = refresh(false, ahead);
        let after = refresh(true, ahead);
        assert_ne!(before, after, "the other agent's change moves a priority");
        assert_eq!(refresh(false, ahead), after);
    }
}
