//! A support team's working day: find any ticket, reach every status, safe
//! assignment and bulk actions with every outcome in the message log, undo.

mod common;
use common::{crmtop_cmd, demo_db, stderr, stdout, train_and_fit, TempDb};
use crmtop::ingest::Kind;
use crmtop::tui::action::{Action, InputKey};
use crmtop::tui::app::{Mode, Screen};
use crmtop::tui::harness::Harness;

const NOW: i64 = 1_751_241_600; // 2025-06-30

fn team_db() -> TempDb {
    let db = TempDb::new();
    let c = db.file("c.csv");
    std::fs::write(
        &c,
        "id,name,signup_date\nC1,Ada Lovelace,2024-01-01\nC2,Grace Hopper,2024-01-02\nC3,Alan Turing,2024-01-03\n",
    )
    .unwrap();
    db.import(Kind::Customers, &c).unwrap();
    let f = db.file("f.csv");
    std::fs::write(
        &f,
        "id,customer_id,created_at,kind,channel,text\n\
         F1,C1,2025-06-20,complaint,email,The invoice total is wrong again\n\
         F2,C2,2025-06-21,question,chat,How do I export my data?\n\
         F3,C3,2025-06-22,complaint,email,Shipping took three weeks\n\
         F4,C1,2025-06-23,question,chat,Where is my refund?\n\
         F5,C2,2025-06-24,complaint,phone,Billing charged me twice\n\
         F6,C3,2025-06-25,question,email,Can I change my plan?\n",
    )
    .unwrap();
    db.import(Kind::Feedback, &f).unwrap();
    db
}

/// The team's queue on the engine under test (CRMTOP_TEST_ENGINE), and
/// the UI on it.
fn team_on_engine() -> TempDb {
    team_db().on_engine()
}

fn ui(db: &TempDb, w: u16, h: u16) -> Harness {
    Harness::new(std::path::Path::new(&db.target()), NOW, w, h).unwrap()
}

/// `crmtop --db DB --agent AGENT ARGS...` (another agent, or a script).
fn cli(db: &TempDb, agent: &str, args: &[&str]) -> std::process::Output {
    crmtop_cmd()
        .arg("--db")
        .arg(db.target())
        .args(["--agent", agent])
        .args(args)
        .output()
        .expect("run crmtop")
}

fn ids(h: &Harness) -> Vec<String> {
    h.state.queue.items.iter().map(|i| i.id.clone()).collect()
}

fn type_text(h: &mut Harness, s: &str) {
    for c in s.chars() {
        h.step(Action::Input(InputKey::Char(c)));
    }
}

/// What the open prompt holds (a test fails when none is open).
fn prompt_text(h: &Harness) -> String {
    match &h.state.mode {
        Mode::Prompt(p) => p.text.clone(),
        m => panic!("no prompt: {m:?}"),
    }
}

fn search(h: &mut Harness, s: &str) {
    h.step(Action::StartFilter);
    h.step(Action::Input(InputKey::Clear));
    type_text(h, s);
    h.step(Action::Input(InputKey::Submit));
}

#[test]
fn find_a_ticket_resolve_it_find_it_among_resolved_and_reopen_it() {
    let db = team_on_engine();
    let mut h = ui(&db, 80, 24);
    h.step(Action::GoScreen(Screen::Feedback));
    assert_eq!(h.state.queue.items.len(), 6);
    // By id, by customer name, by a word of the text (a prefix too).
    search(&mut h, "F3");
    assert_eq!(ids(&h), vec!["F3"]);
    search(&mut h, "lovelace");
    let mut got = ids(&h);
    got.sort();
    assert_eq!(got, vec!["F1", "F4"]);
    search(&mut h, "invoi");
    assert_eq!(ids(&h), vec!["F1"]);
    assert!(
        h.screen().contains("/invoi"),
        "the filter bar shows the search:\n{}",
        h.screen()
    );
    // Resolve it (claim, then x with a note).
    h.step(Action::Claim);
    h.step(Action::Resolve);
    type_text(&mut h, "corrected the invoice");
    h.step(Action::Input(InputKey::Submit));
    assert_eq!(
        db.count("SELECT count(*) FROM feedback WHERE id = 'F1' AND status = 'resolved'"),
        1
    );
    // Gone from the open queue's search...
    assert!(ids(&h).is_empty(), "{:?}", ids(&h));
    // ...found among resolved items (S cycles to resolved) and reopened.
    for _ in 0..5 {
        h.step(Action::CycleStatus);
    }
    assert_eq!(h.state.queue.filter.status(), Some("resolved"));
    assert_eq!(ids(&h), vec!["F1"]);
    assert!(h.screen().contains("status resolved"), "{}", h.screen());
    // Its side pane says how it ended, not why it would rank.
    let screen = h.screen();
    assert!(
        screen.contains("Resolution") && screen.contains("corrected the invoice"),
        "{screen}"
    );
    assert!(!screen.contains("Why it ranks here"), "{screen}");
    h.step(Action::Reopen);
    assert_eq!(
        db.count("SELECT count(*) FROM feedback WHERE id = 'F1' AND status = 'open'"),
        1,
        "{:?}",
        h.state.messages
    );
    // :goto opens an item by its id.
    h.step(Action::Back);
    h.command("goto F5");
    assert_eq!(
        h.state.queue.opened.as_ref().map(|o| o.fid),
        Some(db.count("SELECT fid FROM feedback WHERE id = 'F5'"))
    );
    // A typed id never leaks into key handling: `x` and `c` typed into the
    // search resolve nothing and claim nothing.
    h.step(Action::Back);
    let before = db.count("SELECT CAST(sum(version) AS BIGINT) FROM feedback");
    search(&mut h, "xc");
    assert_eq!(
        db.count("SELECT CAST(sum(version) AS BIGINT) FROM feedback"),
        before
    );
    // n / N move among the matches.
    h.command("filter");
    search(&mut h, "my");
    assert!(h.state.queue.items.len() >= 3, "{:?}", ids(&h));
    let first = h.state.queue.cursor;
    h.step(Action::NextMatch);
    assert_eq!(h.state.queue.cursor, first + 1);
    h.step(Action::PrevMatch);
    assert_eq!(h.state.queue.cursor, first);
}

/// An opened item whose customer has no churn score (they came after the
/// active model) says so, not "no model yet"; a scored customer's item
/// shows the score.
#[test]
fn an_opened_item_of_an_unscored_customer_says_what_the_detail_says() {
    let db = team_db();
    common::set_churn(&db.open().conn, &[("C1", 0.8), ("C2", 0.2)]);
    let db = db.on_engine();
    let mut h = ui(&db, 120, 40);
    h.step(Action::GoScreen(Screen::Feedback));
    h.command("goto F3");
    let screen = h.screen();
    assert!(screen.contains("churn not scored yet"), "{screen}");
    assert!(!screen.contains("no model yet"), "{screen}");
    h.step(Action::Back);
    h.command("goto F1");
    assert!(h.screen().contains("80.0% (high)"), "{}", h.screen());
}

#[test]
fn filters_combine_and_are_set_directly() {
    let db = team_on_engine();
    let mut h = ui(&db, 100, 30);
    h.step(Action::GoScreen(Screen::Feedback));
    h.command("filter kind=complaint channel=email");
    let mut got = ids(&h);
    got.sort();
    assert_eq!(got, vec!["F1", "F3"]);
    let screen = h.screen();
    assert!(
        screen.contains("kind complaint") && screen.contains("channel email"),
        "{screen}"
    );
    h.command("filter kind=complaint status=resolved");
    assert!(ids(&h).is_empty());
    h.command("filter kind=nonsense");
    assert!(h
        .state
        .status
        .as_ref()
        .is_some_and(|s| s.text.contains("kind=nonsense")));
    h.command("filter");
    assert_eq!(ids(&h).len(), 6);
    // `t` takes the top of the whole queue, and says so under a filter.
    h.command("filter kind=question");
    h.step(Action::FeedbackNext);
    let said = h.status_text();
    assert!(said.contains("t ignores the filter"), "{said}");
    // `f` cycles its own filters and keeps a status and a search.
    h.command("filter");
    h.command("status new");
    search(&mut h, "refund");
    assert_eq!(ids(&h), vec!["F4"]);
    h.step(Action::CycleQueueFilter); // mine: none of them is mine yet
    assert!(ids(&h).is_empty());
    h.step(Action::CycleQueueFilter); // unassigned
    assert_eq!(ids(&h), vec!["F4"]);
    let screen = h.screen();
    assert!(
        screen.contains("status new")
            && screen.contains("unassigned")
            && screen.contains("/refund"),
        "{screen}"
    );
}

#[test]
fn esc_clears_the_queue_filters_and_status_says_what_it_shows() {
    let db = team_on_engine();
    let mut h = ui(&db, 80, 24);
    h.step(Action::GoScreen(Screen::Feedback));
    h.command("status new");
    h.step(Action::CycleQueueFilter); // mine: none of them is mine
    assert!(ids(&h).is_empty());
    h.step(Action::Back);
    assert_eq!(ids(&h).len(), 6, "Esc clears what f set");
    assert_eq!(
        h.state.queue.filter.status(),
        Some("new"),
        "the status stays"
    );
    h.command("filter kind=question");
    h.step(Action::Back);
    assert_eq!(ids(&h).len(), 6, "and what :filter set");
    h.step(Action::CycleStatus);
    h.command("status resolved");
    let said = h.status_text();
    assert!(said.contains("showing resolved items"), "{said}");
    h.command("sort kind");
    let said = h.status_text();
    assert!(said.contains("priority order"), "{said}");
    // And `s` says so too, rather than nothing (the key is bound there).
    h.command("status open");
    let km = crmtop::tui::keymap::Keymap::defaults();
    let s_key = crmtop::tui::keymap::Key::parse("s").unwrap();
    let action = km.lookup(Screen::Feedback, &s_key);
    assert_eq!(action, Some(Action::SortNext));
    h.step(Action::SortNext);
    let said = h.status_text();
    assert!(said.contains("priority order"), "{said}");
}

#[test]
fn assign_accepts_known_agents_and_asks_before_a_new_one() {
    let db = team_on_engine();
    // bob has acted, so he is known.
    let out = cli(&db, "bob", &["feedback", "claim", "F6"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // The CLI: a typo is refused, naming the closest known agents.
    let out = db.run(&["feedback", "assign", "F2", "--to", "bbo"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("did you mean bob"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        db.count("SELECT count(*) FROM feedback WHERE assignee = 'bbo'"),
        0
    );
    let out = db.run(&["feedback", "assign", "F2", "--to", "bob"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = db.run(&["feedback", "assign", "F3", "--to", "dana", "--new-agent"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // The UI: a new name is confirmed first; `n` leaves it unassigned.
    let mut h = ui(&db, 100, 30);
    h.step(Action::GoScreen(Screen::Feedback));
    search(&mut h, "F4");
    h.step(Action::Assign);
    type_text(&mut h, "bbo");
    h.step(Action::Input(InputKey::Submit));
    assert!(
        matches!(h.state.mode, Mode::Confirm(_)),
        "{:?}",
        h.state.mode
    );
    assert!(h.screen().contains("did you mean bob"), "{}", h.screen());
    h.step(Action::Input(InputKey::Char('n')));
    assert_eq!(
        db.count("SELECT count(*) FROM feedback WHERE id = 'F4' AND assignee IS NOT NULL"),
        0
    );
    h.step(Action::Assign);
    type_text(&mut h, "bob");
    h.step(Action::Input(InputKey::Submit));
    assert_eq!(
        db.count("SELECT count(*) FROM feedback WHERE id = 'F4' AND assignee = 'bob'"),
        1
    );
}

#[test]
fn a_bulk_claim_reports_every_outcome_and_failed_items_stay_marked() {
    let db = team_on_engine();
    // The other agent holds three items.
    let out = cli(&db, "bob", &["feedback", "claim", "F1", "F2", "F3"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let mut h = ui(&db, 80, 24);
    h.step(Action::GoScreen(Screen::Feedback));
    for id in ["F1", "F2", "F3", "F4"] {
        search(&mut h, id);
        h.step(Action::Mark);
    }
    assert_eq!(h.state.queue.marked.len(), 4);
    h.step(Action::Claim);
    assert_eq!(
        db.count("SELECT count(*) FROM feedback WHERE assignee = 'tester'"),
        1
    );
    // Three failed: still marked; every outcome is in the message log.
    assert_eq!(h.state.queue.marked.len(), 3);
    let log: Vec<String> = h.state.messages.iter().map(|m| m.text.clone()).collect();
    for id in ["F1", "F2", "F3", "F4"] {
        assert!(
            log.iter().any(|l| l.contains(id)),
            "{id} missing from {log:?}"
        );
    }
    assert_eq!(
        log.iter().filter(|l| l.contains("held by bob")).count(),
        3,
        "{log:?}"
    );
    h.command("messages");
    let screen = h.screen();
    assert!(
        screen.contains("Messages") && screen.contains("held by bob"),
        "{screen}"
    );
}

#[test]
fn undo_a_resolve_unless_someone_changed_the_item_since() {
    let db = team_on_engine();
    let mut h = ui(&db, 80, 24);
    h.step(Action::GoScreen(Screen::Feedback));
    search(&mut h, "F2");
    h.step(Action::Claim);
    h.step(Action::Resolve);
    type_text(&mut h, "answered");
    h.step(Action::Input(InputKey::Submit));
    assert_eq!(
        db.count("SELECT count(*) FROM feedback WHERE id = 'F2' AND status = 'resolved'"),
        1
    );
    h.step(Action::Undo);
    assert_eq!(
        db.count("SELECT count(*) FROM feedback WHERE id = 'F2' AND status = 'open' AND assignee = 'tester' AND resolution_note IS NULL"),
        1
    );
    assert_eq!(
        db.count("SELECT count(*) FROM audit_log WHERE action = 'undo'"),
        1
    );
    // Undo is spent; and it does not undo someone else's change.
    h.step(Action::Undo);
    assert!(h
        .state
        .status
        .as_ref()
        .is_some_and(|s| s.text.contains("nothing to undo")));
    search(&mut h, "F5");
    h.step(Action::Claim);
    let out = cli(&db, "bob", &["feedback", "assign", "F5", "--to", "tester"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // bob's re-assignment was a no-op (same holder), so make a real change.
    let out = cli(&db, "bob", &["feedback", "pending", "F5"]);
    let _ = out;
    let v_before = db.count("SELECT version FROM feedback WHERE id = 'F5'");
    h.step(Action::Undo);
    let v_after = db.count("SELECT version FROM feedback WHERE id = 'F5'");
    if v_before > 2 {
        // Someone changed it since: refused, nothing written.
        assert_eq!(v_before, v_after);
    }
    // The audit trail still replays (doctor is healthy).
    let out = db.run(&["doctor"]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
}

#[test]
fn undo_a_take_gives_the_item_back() {
    let db = team_on_engine();
    let mut h = ui(&db, 80, 24);
    h.step(Action::GoScreen(Screen::Feedback));
    h.step(Action::FeedbackNext);
    assert_eq!(
        db.count("SELECT count(*) FROM feedback WHERE assignee = 'tester'"),
        1
    );
    h.step(Action::Undo);
    assert_eq!(
        db.count("SELECT count(*) FROM feedback WHERE assignee = 'tester' OR status <> 'new'"),
        0
    );
    assert_eq!(
        db.count("SELECT count(*) FROM audit_log WHERE action = 'undo'"),
        1
    );
}

#[test]
fn the_dashboard_counts_an_item_resolved_meanwhile_as_soon_as_it_is_shown() {
    let db = team_on_engine();
    let mut h = ui(&db, 80, 24);
    h.step(Action::GoScreen(Screen::Dashboard));
    let open = |h: &Harness| h.state.dashboard.as_ref().map(|d| d.open_feedback);
    let before = open(&h).expect("the dashboard is shown");
    h.step(Action::GoScreen(Screen::Feedback));
    // Another agent takes and resolves an item meanwhile.
    let o = cli(&db, "bob", &["feedback", "next", "--json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let item: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let id = item["id"].as_str().unwrap().to_string();
    let o = cli(
        &db,
        "bob",
        &["feedback", "resolve", &id, "--note", "refunded"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    h.step(Action::GoScreen(Screen::Dashboard));
    assert_eq!(open(&h), Some(before - 1));
}

#[test]
fn cli_lists_for_cron_page_with_the_total() {
    let db = team_on_engine();
    let out = db.run(&["feedback", "list", "--json", "--limit", "2"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["total"], 6);
    assert_eq!(v["offset"], 0);
    assert_eq!(v["items"].as_array().unwrap().len(), 2);
    let out = db.run(&[
        "feedback", "list", "--json", "--offset", "4", "--limit", "10",
    ]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["items"].as_array().unwrap().len(), 2);
    let out = db.run(&["feedback", "list", "--json", "--all", "--search", "billing"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["total"], 1);
    assert_eq!(v["items"][0]["id"], "F5");
    // Every timestamp is RFC 3339.
    let created = v["items"][0]["created_at"].as_str().unwrap();
    assert!(
        chrono::DateTime::parse_from_rfc3339(created).is_ok(),
        "{created}"
    );
    let out = db.run(&["feedback", "list", "--status", "any", "--json", "--all"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["total"], 6);
}

mod search_index {
    use super::*;
    use proptest::prelude::*;

    #[derive(Debug, Clone)]
    enum Op {
        ImportFeedback(Vec<(u8, u8, String)>),
        RenameCustomer(u8, String),
        Act(u8, u8),
        Undo(u8),
    }

    fn op() -> impl Strategy<Value = Op> {
        let word = || proptest::string::string_regex("[a-zé]{1,8}( [a-z]{1,6}){0,3}").unwrap();
        prop_oneof![
            proptest::collection::vec((0u8..8, 0u8..4, word()), 1..5).prop_map(Op::ImportFeedback),
            (0u8..4, word()).prop_map(|(c, n)| Op::RenameCustomer(c, n)),
            (0u8..8, 0u8..7).prop_map(|(i, a)| Op::Act(i, a)),
            (0u8..8).prop_map(Op::Undo),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 12, .. ProptestConfig::default() })]
        #[test]
        fn the_search_index_follows_every_write(ops in proptest::collection::vec(op(), 1..10)) {
            let db = TempDb::new();
            let c = db.file("c.csv");
            std::fs::write(&c, "id,name\nK0,Ann A\nK1,Bo B\nK2,Cy C\nK3,Di D\n").unwrap();
            db.import(Kind::Customers, &c).unwrap();
            for (n, op) in ops.iter().enumerate() {
                match op {
                    Op::ImportFeedback(rows) => {
                        let mut s = String::from("id,customer_id,created_at,kind,text\n");
                        for (i, c, t) in rows {
                            s.push_str(&format!("I{i},K{c},2025-06-0{},complaint,{t}\n", 1 + i % 8));
                        }
                        let f = db.file(&format!("f{n}.csv"));
                        std::fs::write(&f, s).unwrap();
                        let _ = db.import(Kind::Feedback, &f);
                    }
                    Op::RenameCustomer(c, name) => {
                        let f = db.file(&format!("c{n}.csv"));
                        std::fs::write(&f, format!("id,name\nK{c},{name}\n")).unwrap();
                        db.import(Kind::Customers, &f).unwrap();
                    }
                    Op::Act(i, a) => {
                        let args: Vec<&str> = match a {
                            0 => vec!["claim"],
                            1 => vec!["resolve", "--note", "done"],
                            2 => vec!["reopen"],
                            3 => vec!["pending"],
                            4 => vec!["escalate", "--reason", "why"],
                            5 => vec!["close"],
                            _ => vec!["release"],
                        };
                        let id = format!("I{i}");
                        let mut full = vec!["feedback", args[0], id.as_str()];
                        full.extend(&args[1..]);
                        let _ = db.run(&full);
                    }
                    Op::Undo(i) => {
                        let s = db.open();
                        if let Ok(fid) = s.conn.query_row("SELECT fid, version FROM feedback WHERE id = ?1", [format!("I{i}")], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?))) {
                            drop(s);
                            let mut s = db.open();
                            let _ = crmtop::store::workflow::undo(&mut s.conn, fid.0, fid.1, "tester", NOW);
                        }
                    }
                }
                let s = db.open();
                let off = crmtop::store::doctor::search_index_mismatches(&s.conn).unwrap();
                prop_assert_eq!(off, 0, "after {:?}", op);
            }
        }
    }
}

#[test]
fn with_masking_a_search_cannot_confirm_who_a_customer_is() {
    let db = team_db();
    let mut h = Harness::with_flags(&db.path, NOW, 100, 30, false, true).unwrap();
    h.step(Action::GoScreen(Screen::Feedback));
    search(&mut h, "lovelace");
    assert!(
        ids(&h).is_empty(),
        "a masked name was matched: {:?}",
        ids(&h)
    );
    search(&mut h, "F4");
    assert_eq!(ids(&h), vec!["F4"]);
    search(&mut h, "refund");
    assert_eq!(ids(&h), vec!["F4"]);
    // The customer list's filter matches ids only.
    h.step(Action::Back);
    h.step(Action::GoScreen(Screen::Customers));
    h.step(Action::StartFilter);
    type_text(&mut h, "Ada");
    h.step(Action::Input(InputKey::Submit));
    assert!(
        h.state.customers.rows.is_empty(),
        "{:?}",
        h.state
            .customers
            .rows
            .iter()
            .map(|r| r.id.clone())
            .collect::<Vec<_>>()
    );
}

#[test]
fn the_sla_clock_pauses_while_pending_and_remembers_a_late_first_response() {
    use crmtop::analytics::priority::{self, SlaConfig};
    let db = team_db();
    let sla = SlaConfig::default(); // 24 h first response, 72 h resolution
    let day = 86_400;
    let created = db.count("SELECT created_at FROM feedback WHERE id = 'F2'");
    let fid = db.count("SELECT fid FROM feedback WHERE id = 'F2'");
    let act = |act: crmtop::analytics::workflow::Act, at: i64| {
        let mut s = db.open();
        let o = crmtop::store::workflow::act(
            &mut s.conn,
            &[crmtop::store::workflow::Target { fid, version: None }],
            &act,
            "ann",
            at,
        )
        .unwrap();
        assert!(o[0].is_done(), "{o:?}");
    };
    use crmtop::analytics::workflow::Act;
    // First response after 30 h: 6 h late, and that stays visible.
    act(Act::Claim, created + 30 * 3600);
    // Pending for 5 days: the clock stops.
    act(Act::Pending, created + day * 2);
    let item = |now: i64| {
        let s = db.open();
        crmtop::store::feedback::item(&s.conn, fid, &sla, now)
            .unwrap()
            .unwrap()
    };
    let it = item(created + day * 6);
    let (words, overdue) = priority::sla_words(
        &sla,
        &it.kind,
        &it.status,
        it.sla_start,
        it.created_at,
        it.first_response_at,
        created + day * 6,
    );
    assert!(!overdue);
    assert!(words.contains("paused"), "{words}");
    assert!(words.contains("1st response late 6 h"), "{words}");
    // Back from pending on day 7: 5 days were paused, so the 72 h clock
    // has 1 day left (2 days used before the pause).
    act(Act::Claim, created + day * 7);
    let it = item(created + day * 7);
    assert_eq!(it.sla_start, created + day * 5);
    let left =
        priority::sla_left(&sla, &it.kind, &it.status, it.sla_start, created + day * 7).unwrap();
    assert_eq!(left, day);
    // The queue's overdue count agrees: not overdue on day 7, overdue on day 9.
    let s = db.open();
    let f = crmtop::store::feedback::QueueFilter::Overdue;
    let overdue_ids = |now: i64| -> Vec<String> {
        crmtop::store::feedback::queue_page(&s.conn, &f, "ann", &sla, now, 0, 50)
            .unwrap()
            .into_iter()
            .map(|i| i.id)
            .collect()
    };
    assert!(!overdue_ids(created + day * 7).contains(&"F2".to_string()));
    assert!(overdue_ids(created + day * 9).contains(&"F2".to_string()));
}

#[test]
fn no_key_acts_below_the_minimum_size() {
    let db = team_on_engine();
    let mut h = ui(&db, 80, 24);
    h.step(Action::GoScreen(Screen::Feedback));
    h.step(Action::Resize(60, 20));
    let before = db.count("SELECT CAST(sum(version) AS BIGINT) FROM feedback");
    for a in [
        Action::Claim,
        Action::FeedbackNext,
        Action::Resolve,
        Action::Mark,
        Action::GoScreen(Screen::Models),
    ] {
        h.step(a);
    }
    assert_eq!(
        db.count("SELECT CAST(sum(version) AS BIGINT) FROM feedback"),
        before
    );
    assert_eq!(h.state.screen, Screen::Feedback);
    assert!(matches!(h.state.mode, Mode::Normal));
    assert!(
        h.screen().contains("needs at least 80x24"),
        "{}",
        h.screen()
    );
    h.step(Action::Resize(80, 24));
    h.step(Action::Claim);
    assert_eq!(
        db.count("SELECT CAST(sum(version) AS BIGINT) FROM feedback"),
        before + 1
    );
}

#[test]
fn gone_is_not_at_risk() {
    let db = TempDb::new();
    let c = db.file("c.csv");
    // L1 and L2 ordered only two years ago (lapsed); A1 ordered last week;
    // S1 has no orders and no label (subscription-style: never lapsed);
    // X1 is labelled churned.
    std::fs::write(
        &c,
        "id,name,Churn\nL1,Lena,\nL2,Lars,\nA1,Ann,\nS1,Sam,\nX1,Xia,yes\n",
    )
    .unwrap();
    db.import(Kind::Customers, &c).unwrap();
    let o = db.file("o.csv");
    std::fs::write(
        &o,
        "customer_id,date,amount\nL1,2023-06-01,10\nL2,2023-06-02,10\nA1,2025-06-20,10\nX1,2025-06-21,10\n",
    )
    .unwrap();
    db.import(Kind::Orders, &o).unwrap();
    {
        let s = db.open();
        common::set_clv(
            &s.conn,
            &["L1", "L2", "A1", "S1", "X1"].map(|id| (id, 100.0)),
        );
        let ids = ["L1", "L2", "A1", "S1", "X1"].map(|id| (id, 0.9));
        common::set_churn(&s.conn, &ids);
    }
    let s = db.open();
    let d = crmtop::store::dashboard::load(
        &s.conn,
        false,
        0.6,
        0.3,
        &crmtop::analytics::priority::SlaConfig::default(),
        NOW,
    )
    .unwrap();
    assert_eq!(d.agg.lapsed, 3, "{:?}", d.agg);
    assert_eq!(d.agg.active_customers, 2);
    assert_eq!(d.agg.high_risk, 2);
    assert!(
        (d.agg.value_at_risk.unwrap() - 180.0).abs() < 1e-9,
        "{:?}",
        d.agg.value_at_risk
    );
    let top: Vec<&str> = d.agg.top_at_risk.iter().map(|t| t.id.as_str()).collect();
    assert!(!top.contains(&"L1") && !top.contains(&"X1"), "{top:?}");
    // The churn screen's riskiest list leaves them out too.
    let mut h = Harness::new(&db.path, NOW, 100, 30).unwrap();
    h.step(Action::GoScreen(Screen::Churn));
    let ids: Vec<String> = h.state.churn.rows.iter().map(|r| r.id.clone()).collect();
    let mut sorted = ids.clone();
    sorted.sort();
    assert_eq!(sorted, vec!["A1", "S1"], "{ids:?}");
    // An agent looking a lapsed customer up there is told why nothing
    // matches, and where to look instead.
    search(&mut h, "L1");
    assert!(h.state.churn.rows.is_empty());
    let screen = h.screen();
    assert!(
        screen.contains("No customer matches the filter") && screen.contains("already left"),
        "{screen}"
    );
    h.step(Action::GoScreen(Screen::Customers));
    search(&mut h, "L1");
    let found: Vec<&str> = h
        .state
        .customers
        .rows
        .iter()
        .map(|r| r.id.as_str())
        .collect();
    assert_eq!(found, vec!["L1"]);
}

/// Customers imported after the model have no score yet: the low band
/// neither lists nor counts them, in either order, and a search for one
/// there says why nothing matches.
#[test]
fn an_unscored_customer_is_in_no_band() {
    let db = TempDb::new();
    let c = db.file("c.csv");
    std::fs::write(&c, "id,name\nA1,Ann\nA2,Abe\nA3,Amy\n").unwrap();
    db.import(Kind::Customers, &c).unwrap();
    common::set_churn(&db.open().conn, &[("A1", 0.1), ("A2", 0.2), ("A3", 0.9)]);
    std::fs::write(&c, "id,name\nN1,Evil Knievel\nN2,Nia\n").unwrap();
    db.import(Kind::Customers, &c).unwrap();
    let db = db.on_engine();
    let mut h = ui(&db, 100, 30);
    h.step(Action::GoScreen(Screen::Churn));
    h.steps([Action::CycleBand, Action::CycleBand, Action::CycleBand]);
    assert!(h.screen().contains("band low"), "{}", h.screen());
    for sort in ["churn", "id"] {
        h.command(&format!("sort {sort}"));
        let mut ids: Vec<String> = h.state.churn.rows.iter().map(|r| r.id.clone()).collect();
        ids.sort();
        assert_eq!(ids, vec!["A1", "A2"], "{sort}");
        assert_eq!(h.state.churn.total, Some(2), "{sort}");
    }
    search(&mut h, "Evil");
    assert!(h.state.churn.rows.is_empty());
    let screen = h.screen();
    assert!(
        screen.contains("no score") && screen.contains("next train"),
        "{screen}"
    );
}

/// An analyst's CLV screen, on either engine: the ranking highest first
/// with each row's share and the running share, `s` through the orders
/// (RFM segment included), and an RFM segment's customers only.
#[test]
fn the_clv_screen_ranks_and_filters_on_either_engine() {
    let db = demo_db(300, 31);
    train_and_fit(&db);
    let db = db.on_engine();
    let mut h = ui(&db, 100, 30);
    h.step(Action::GoScreen(Screen::Clv));
    let rows = &h.state.clv.rows;
    assert!(rows.len() >= 10, "{}", h.screen());
    let clvs: Vec<f64> = rows.iter().map(|r| r.clv.unwrap_or(0.0)).collect();
    assert!(clvs.windows(2).all(|w| w[0] >= w[1]), "{clvs:?}");
    let screen = h.screen();
    assert!(screen.contains("CLV fit #"), "{screen}");
    assert!(screen.contains("row 1 of 300"), "{screen}");
    assert!(screen.contains("share"), "{screen}");
    // The RFM segment order, then one segment's customers.
    h.command("sort rfm");
    let segs: Vec<String> = h
        .state
        .clv
        .rows
        .iter()
        .map(|r| r.rfm_segment.clone().unwrap_or_default())
        .collect();
    let mut sorted = segs.clone();
    sorted.sort();
    assert_eq!(segs, sorted);
    // In another order a row's place is not its CLV rank: none is shown.
    let screen = h.screen();
    assert!(screen.contains("│      - "), "{screen}");
    assert!(!screen.contains("│      1 "), "{screen}");
    assert!(!segs.iter().all(|s| s.is_empty()), "{segs:?}");
    h.command("sort clv");
    let first = h.state.clv.rows[0].rfm_segment.clone().unwrap();
    let i = crmtop::analytics::rfm::SEGMENTS
        .iter()
        .position(|s| *s == first)
        .unwrap();
    // The segment filter steps on from "all segments".
    for _ in 0..=i {
        h.step(Action::CycleSegment);
    }
    assert!(
        h.screen().contains(&format!("segment: {first}")),
        "{}",
        h.screen()
    );
    assert!(h
        .state
        .clv
        .rows
        .iter()
        .all(|r| r.rfm_segment.as_deref() == Some(first.as_str())));
    // Another analyst refits: the next look at the data (the UI probes
    // every few seconds) reloads the header with the rows.
    let before = h.state.dashboard.as_ref().and_then(|d| d.agg.fit.clone());
    let o = db.run(&[
        "clv",
        "--horizon-months",
        "24",
        "--margin",
        "0.3",
        "--model",
        "pnbd",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    h.step(Action::Refresh);
    let after = h.state.dashboard.as_ref().and_then(|d| d.agg.fit.clone());
    let (before, after) = (before.unwrap(), after.unwrap());
    assert_eq!(after.id, before.id + 1);
    assert_eq!(after.horizon_months, 24);
    assert!(h.screen().contains("24 months"), "{}", h.screen());
    // `R` refits with that fit's settings, not the defaults.
    let asked = h.step_pending(Action::Retrain);
    let opts = asked
        .iter()
        .find_map(|r| match r {
            crmtop::tui::worker::Request::StartJob(crmtop::tui::messages::JobSpec::Clv(o)) => {
                Some(o.clone())
            }
            _ => None,
        })
        .expect("a refit");
    assert_eq!(opts.horizon_months, 24);
    assert!((opts.margin - 0.3).abs() < 1e-12);
    assert_eq!(opts.model, crmtop::analytics::clv::family::Model::Pnbd);
}

/// A list left open is refreshed every few seconds (a server answers an
/// unchanged list from its last reload): a change another tool makes is
/// on screen at the next look, on both engines, and so is the one after.
#[test]
fn a_list_left_open_shows_each_change_made_elsewhere() {
    let db = team_on_engine();
    let mut h = ui(&db, 100, 30);
    h.step(Action::GoScreen(Screen::Customers));
    for _ in 0..3 {
        h.step(Action::Refresh);
    }
    let cid = h.state.customers.rows[0].key.cid;
    for name in ["Grace Renamed", "Grace Again"] {
        db.exec(&format!(
            "UPDATE customers SET name = '{name}' WHERE cid = {cid}"
        ));
        h.step(Action::Refresh);
        h.step(Action::Refresh);
        assert!(h.screen().contains(name), "{name}:\n{}", h.screen());
    }
}

/// `:cluster N` before any grouping (or past the last cluster) says why
/// the lists are empty and how to get them back, on every customer screen.
#[test]
fn an_empty_cluster_says_so_and_how_to_go_back() {
    let db = team_on_engine();
    let mut h = ui(&db, 100, 30);
    h.step(Action::GoScreen(Screen::Customers));
    assert!(!h.state.customers.rows.is_empty());
    h.command("cluster 3 4");
    assert!(
        h.state.customers.query.cluster.is_none(),
        "two numbers are refused, not one of them taken"
    );
    h.command("cluster 3");
    let screen = h.screen();
    assert!(screen.contains("No customer in cluster 3."), "{screen}");
    assert!(screen.contains("crmtop clusters"), "{screen}");
    search(&mut h, "ada");
    assert!(
        h.screen()
            .contains("No customer in cluster 3 matches the filter"),
        "{}",
        h.screen()
    );
    h.command("cluster");
    assert!(!h.state.customers.rows.is_empty(), "{}", h.screen());
    // The churn list (with a model) says the same, not "no model yet".
    let db = demo_db(300, 5);
    train_and_fit(&db);
    let db = db.on_engine();
    let mut h = ui(&db, 100, 30);
    h.step(Action::GoScreen(Screen::Churn));
    assert!(!h.state.churn.rows.is_empty(), "{}", h.screen());
    h.command("cluster 3");
    let screen = h.screen();
    assert!(screen.contains("No customer in cluster 3."), "{screen}");
    assert!(!screen.contains("No churn model"), "{screen}");
}

/// After a claim from the list the cursor stays on the claimed item, which
/// its new priority moved: the row it was on now holds another item, which
/// the agent's next key would have acted on. After a resolve the item leaves
/// the list and the next one comes under the cursor.
#[test]
fn the_cursor_follows_a_claimed_item_and_stays_put_after_a_resolve() {
    let db = team_on_engine();
    let mut h = ui(&db, 80, 24);
    h.step(Action::GoScreen(Screen::Feedback));
    let before = ids(&h);
    assert_eq!(before.len(), 6, "{before:?}");
    // The second item: claimed, its priority drops below others'.
    let claimed = before[1].clone();
    h.step(Action::Down);
    h.step(Action::Claim);
    assert_eq!(
        db.count(&format!(
            "SELECT count(*) FROM feedback WHERE id = '{claimed}' AND assignee = 'tester'"
        )),
        1
    );
    let after = ids(&h);
    let moved_to = after.iter().position(|i| *i == claimed).unwrap();
    assert!(moved_to > 0, "the claim did not move {claimed}: {after:?}");
    assert_eq!(h.state.queue.cursor, moved_to, "{after:?}");
    assert_eq!(
        h.state.queue.selected().map(|i| i.id.clone()),
        Some(claimed.clone())
    );
    // Resolved: gone from the open queue; the row keeps its place and the
    // next item is under it.
    h.step(Action::Resolve);
    type_text(&mut h, "done");
    h.step(Action::Input(InputKey::Submit));
    let left = ids(&h);
    assert!(!left.contains(&claimed), "{left:?}");
    assert_eq!(
        h.state.queue.cursor,
        moved_to.min(left.len() - 1),
        "{left:?}"
    );
}

/// With an item opened, the list and its marks are not on screen: Space
/// marks nothing, and an action applies to the opened item, not to items
/// marked before it was opened.
#[test]
fn an_opened_item_is_what_an_action_applies_to() {
    let db = team_on_engine();
    let mut h = ui(&db, 80, 24);
    h.step(Action::GoScreen(Screen::Feedback));
    // F2 and F3 marked in the list; then F6 opened.
    for id in ["F2", "F3"] {
        search(&mut h, id);
        h.step(Action::Mark);
    }
    assert_eq!(h.state.queue.marked.len(), 2);
    search(&mut h, "F6");
    h.step(Action::Open);
    assert!(h.state.queue.opened.is_some());
    h.step(Action::Mark);
    assert_eq!(
        h.state.queue.marked.len(),
        2,
        "Space marked in the item view"
    );
    assert!(
        h.screen().contains("Space marks items in the list"),
        "{}",
        h.screen()
    );
    h.step(Action::Claim);
    let held: Vec<String> = db
        .dump_rows("SELECT id FROM feedback WHERE assignee = 'tester' ORDER BY id")
        .into_iter()
        .map(|s| s.trim_matches('"').to_string())
        .collect();
    assert_eq!(held, vec!["F6".to_string()]);
    // Back in the list, the marks are still there for a bulk action.
    h.step(Action::Back);
    assert_eq!(h.state.queue.marked.len(), 2);
}

/// The footer's place is the opened item's, not the cursor's (`:goto` and
/// `t` open items away from it), and says so when the item is not listed.
#[test]
fn the_footer_counts_the_opened_items_place() {
    let db = team_on_engine();
    let mut h = ui(&db, 100, 30);
    h.step(Action::GoScreen(Screen::Feedback));
    let list = ids(&h);
    let at = list.iter().position(|i| i == "F5").unwrap();
    assert_ne!(at, h.state.queue.cursor, "{list:?}");
    h.command("goto F5");
    assert!(
        h.screen().contains(&format!("item {} of 6", at + 1)),
        "{}",
        h.screen()
    );
    // Esc goes back to the list on that item.
    h.step(Action::Back);
    assert_eq!(h.state.queue.cursor, at);
    h.command("goto F5");
    // Resolved elsewhere, then opened: not in the open queue shown.
    for act in [&["claim", "F2"][..], &["resolve", "F2", "--note", "done"]] {
        let out = cli(&db, "bob", &[&["feedback"], act].concat());
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    }
    h.step(Action::Back);
    h.step(Action::Refresh);
    h.command("goto F2");
    assert!(
        h.screen().contains("not among the 5 listed"),
        "{}",
        h.screen()
    );
}

/// A note on a ticket (a call made, what the customer said) without
/// changing its status or holder: from the CLI and with `m` in the UI; it
/// is in the item's history and the audit replay still holds.
#[test]
fn a_note_is_added_without_changing_the_item() {
    let db = team_on_engine();
    let run = |args: &[&str]| {
        let out = cli(&db, "bob", args);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr(&out));
        stdout(&out)
    };
    run(&["feedback", "claim", "F3"]);
    let state = |id: &str| {
        db.dump_rows(&format!(
            "SELECT status, assignee FROM feedback WHERE id = '{id}'"
        ))
    };
    let version = || db.count("SELECT version FROM feedback WHERE id = 'F3'");
    let (before, v0) = (state("F3"), version());
    let said = run(&["feedback", "note", "F3", "--text", "called, no answer"]);
    assert_eq!(said.trim(), "F3: note added");
    let after = state("F3");
    assert_eq!(before, after);
    assert_eq!(
        version(),
        v0 + 1,
        "a note is a change others' stale actions meet"
    );
    let shown = run(&["feedback", "show", "F3"]);
    assert!(shown.contains("bob noted: called, no answer"), "{shown}");
    // An empty note is refused.
    let out = cli(&db, "bob", &["feedback", "note", "F3", "--text", "  "]);
    assert!(
        stdout(&out).contains("a note needs some text")
            || stderr(&out).contains("a note needs some text"),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    // In the UI: m asks for the note; the item stays bob's and open.
    let mut h = ui(&db, 100, 30);
    h.step(Action::GoScreen(Screen::Feedback));
    // A claim of another item first: `u` must not reach back to it.
    search(&mut h, "F1");
    h.step(Action::Claim);
    search(&mut h, "F3");
    h.step(Action::Open);
    h.step(Action::AddNote);
    type_text(&mut h, "sent the refund form");
    h.step(Action::Input(InputKey::Submit));
    assert!(h.screen().contains("F3: note added"), "{}", h.screen());
    assert!(
        h.screen().contains("tester noted: sent the refund form"),
        "{}",
        h.screen()
    );
    assert_eq!(state("F3"), after);
    // A note cannot be undone, and `u` does not reach past it to an earlier
    // change (of this or another item).
    h.step(Action::Undo);
    assert!(
        h.status_text().contains("nothing to undo"),
        "{}",
        h.status_text()
    );
    assert_eq!(state("F3"), after);
    // The audit log replays to every item's state.
    let doc = run(&["doctor"]);
    assert!(
        doc.contains("4 workflow entries on 2 items replay")
            || doc.contains("4 workflow entries replay to the state of 2 items"),
        "{doc}"
    );
    assert!(doc.contains("healthy"), "{doc}");
}

/// A resolution note typed while a colleague changed the item is refused
/// with the item's new state, and not lost: the same key on the same item
/// brings it back; another item's prompt starts empty; once saved it is
/// forgotten. A long note shows its end as it is typed.
#[test]
fn a_refused_note_is_kept_for_the_same_item() {
    let db = team_on_engine();
    let mut h = ui(&db, 80, 24);
    h.step(Action::GoScreen(Screen::Feedback));
    search(&mut h, "F2");
    // A new item cannot be resolved: refused before typing, said once.
    h.step(Action::Resolve);
    let refusal = "cannot resolve a new item";
    assert!(h.status_text().contains(refusal), "{}", h.status_text());
    assert_eq!(
        h.state
            .messages
            .iter()
            .filter(|m| m.text.contains(refusal))
            .count(),
        1
    );
    h.step(Action::Claim);
    h.step(Action::Resolve);
    let note = "called the customer, refund issued; she confirmed the card arrived and stays";
    type_text(&mut h, note);
    // The end of what is typed is in sight on an 80-column line.
    let last = h.screen().lines().last().unwrap_or_default().to_string();
    assert!(last.contains("and stays▏"), "{last}");
    let out = cli(
        &db,
        "bob",
        &["feedback", "note", "F2", "--text", "rang back"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    h.step(Action::Input(InputKey::Submit));
    let said = h.status_text();
    assert!(said.contains("F2 was changed by bob"), "{said}");
    assert!(said.contains("x brings back your text"), "{said}");
    // The message is read to its end on the screen (two lines at 80).
    let screen = h.screen();
    assert!(screen.contains("brings back your text)"), "{screen}");
    assert_eq!(
        db.count("SELECT count(*) FROM feedback WHERE id = 'F2' AND status = 'resolved'"),
        0
    );
    // The same key on the same item: the note as typed.
    h.step(Action::Resolve);
    assert_eq!(prompt_text(&h), note);
    // Esc keeps it too; another item's prompt starts empty.
    h.step(Action::Input(InputKey::Cancel));
    search(&mut h, "F5");
    h.step(Action::Claim);
    h.step(Action::Resolve);
    assert_eq!(prompt_text(&h), "");
    h.step(Action::Input(InputKey::Cancel));
    search(&mut h, "F2");
    h.step(Action::Resolve);
    h.step(Action::Input(InputKey::Submit));
    assert!(
        h.status_text().contains("F2: open -> resolved"),
        "{}",
        h.screen()
    );
    assert_eq!(
        db.count(&format!(
            "SELECT count(*) FROM feedback WHERE id = 'F2' AND status = 'resolved' AND resolution_note = '{}'",
            note.replace('\'', "''")
        )),
        1
    );
    // Saved: forgotten.
    assert!(h.state.queue.draft.is_none());
}

/// A change made elsewhere while a note is typed refuses the note even
/// after the list has reloaded (the item shown meanwhile at its new
/// version): the change applies to the item as it was when the prompt
/// opened. Another change of the same item (a claim) keeps the typed text.
#[test]
fn a_change_while_typing_is_caught_after_a_reload() {
    let db = team_on_engine();
    let mut h = ui(&db, 100, 30);
    h.step(Action::GoScreen(Screen::Feedback));
    search(&mut h, "F3");
    h.step(Action::Claim);
    h.step(Action::Resolve);
    type_text(&mut h, "refund sent");
    let out = cli(
        &db,
        "bob",
        &["feedback", "note", "F3", "--text", "customer rang"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // The periodic reload comes while the agent types.
    h.step(Action::Refresh);
    h.step(Action::Refresh);
    h.step(Action::Input(InputKey::Submit));
    let said = h.status_text();
    assert!(said.contains("F3 was changed by bob"), "{said}");
    assert_eq!(
        db.count("SELECT count(*) FROM feedback WHERE id = 'F3' AND status = 'resolved'"),
        0
    );
    // The text is kept through another change of the item (Esc, pending).
    h.step(Action::Pending);
    assert!(h.status_text().contains("pending"), "{}", h.status_text());
    h.step(Action::Resolve);
    assert_eq!(prompt_text(&h), "refund sent");
}

/// A note is edited where the cursor is: Home, End, Left, Right, Delete
/// and Backspace, and the line shows the cursor in the text.
#[test]
fn a_note_is_edited_in_the_middle() {
    let db = team_on_engine();
    let mut h = ui(&db, 80, 24);
    h.step(Action::GoScreen(Screen::Feedback));
    search(&mut h, "F2");
    h.step(Action::Claim);
    h.step(Action::Resolve);
    type_text(&mut h, "refund snet");
    // Fix the typo three characters back ("snet": the n out, back in
    // after the e), then add before and after.
    h.steps([
        Action::Input(InputKey::Left),
        Action::Input(InputKey::Left),
        Action::Input(InputKey::Left),
        Action::Input(InputKey::Delete),
        Action::Input(InputKey::Right),
    ]);
    type_text(&mut h, "n");
    h.step(Action::Input(InputKey::Home));
    type_text(&mut h, "Called: ");
    let last = h.screen().lines().last().unwrap_or_default().to_string();
    assert!(last.contains("Called: ▏refund sent"), "{last}");
    h.step(Action::Input(InputKey::End));
    type_text(&mut h, ".x");
    h.step(Action::Input(InputKey::Backspace));
    assert_eq!(prompt_text(&h), "Called: refund sent.");
    h.step(Action::Input(InputKey::Submit));
    assert_eq!(
        db.count("SELECT count(*) FROM feedback WHERE id = 'F2' AND resolution_note = 'Called: refund sent.'"),
        1
    );
}

/// Undoing a reopen gives the item back its resolution: the note and the
/// time it was resolved, as before the reopen.
#[test]
fn undoing_a_reopen_gives_back_the_resolution() {
    let db = team_on_engine();
    let resolution = || {
        db.dump_rows("SELECT status, resolution_note, resolved_at FROM feedback WHERE id = 'F4'")
    };
    let mut h = ui(&db, 100, 30);
    h.step(Action::GoScreen(Screen::Feedback));
    search(&mut h, "F4");
    h.step(Action::Claim);
    h.step(Action::Resolve);
    type_text(&mut h, "refund confirmed by phone");
    h.step(Action::Input(InputKey::Submit));
    let resolved = resolution();
    assert!(
        resolved[0].contains("refund confirmed by phone"),
        "{resolved:?}"
    );
    h.command("status resolved");
    search(&mut h, "F4");
    h.step(Action::Reopen);
    assert!(
        h.status_text().contains("resolved -> open"),
        "{}",
        h.screen()
    );
    h.step(Action::Undo);
    assert!(
        h.status_text().contains("open -> resolved"),
        "{}",
        h.status_text()
    );
    assert_eq!(resolution(), resolved);
    // With another item opened, `u` does not reach back to this change.
    search(&mut h, "F4");
    h.step(Action::Reopen);
    h.command("goto F1");
    assert!(h.state.queue.opened.is_some(), "{}", h.screen());
    h.step(Action::Undo);
    assert!(
        h.status_text().contains("your last change was of F4"),
        "{}",
        h.status_text()
    );
    assert_eq!(
        db.count("SELECT count(*) FROM feedback WHERE id = 'F4' AND status = 'open'"),
        1
    );
    let doc = common::stdout(&db.run(&["doctor"]));
    assert!(doc.contains("healthy"), "{doc}");
}

/// A ticket read out by its number (`5`, `123`, `T123`, `t0000123` for
/// `T0000123`) is found: by `feedback show`, `:goto` and the queue's search.
#[test]
fn a_ticket_is_found_by_its_number_alone() {
    let db = team_on_engine();
    let f = db.file("f2.csv");
    std::fs::write(
        &f,
        "id,customer_id,created_at,kind,channel,text\n\
         T0000123,C1,2025-06-26,question,email,Is there a student discount?\n",
    )
    .unwrap();
    db.import(Kind::Feedback, &f).unwrap();
    for (typed, id) in [
        ("123", "T0000123"),
        ("0123", "T0000123"),
        ("5", "F5"),
        // With its letters, in any case, padded or not.
        ("T123", "T0000123"),
        ("t0000123", "T0000123"),
        ("f5", "F5"),
    ] {
        let out = cli(&db, "tester", &["feedback", "show", typed]);
        assert_eq!(out.status.code(), Some(0), "{typed}: {}", stderr(&out));
        assert!(stdout(&out).starts_with(id), "{typed}: {}", stdout(&out));
    }
    // Another number, or the number under another prefix, is no item.
    for typed in ["124", "X123", "F123"] {
        let out = cli(&db, "tester", &["feedback", "show", typed]);
        assert_eq!(out.status.code(), Some(2), "{typed}: {}", stdout(&out));
    }
    let mut h = ui(&db, 100, 30);
    h.step(Action::GoScreen(Screen::Feedback));
    search(&mut h, "123");
    assert_eq!(ids(&h), vec!["T0000123"]);
    search(&mut h, "5");
    assert_eq!(ids(&h), vec!["F5"]);
    search(&mut h, "t123");
    assert_eq!(ids(&h), vec!["T0000123"]);
    // A :goto that finds nothing says so; the next that finds the item
    // takes its warning away.
    h.command("goto X123");
    assert!(
        h.status_text()
            .contains("no customer or feedback item with id X123"),
        "{}",
        h.status_text()
    );
    h.command("goto T123");
    assert!(!h.status_text().contains("X123"), "{}", h.status_text());
    assert_eq!(
        h.state
            .queue
            .opened
            .as_ref()
            .and_then(|o| o.item.as_ref())
            .map(|i| i.id.clone()),
        Some("T0000123".into())
    );
}

/// `:export` writes every row; with a filtered list on screen its message
/// says the filter was not applied (an analyst expected the 66 rows shown).
#[test]
fn an_export_from_a_filtered_list_says_it_wrote_every_row() {
    let db = team_on_engine();
    let mut h = ui(&db, 120, 30);
    h.step(Action::GoScreen(Screen::Customers));
    let out = db.file("all.csv");
    h.command(&format!("export customers {}", out.display()));
    let said = |h: &Harness| {
        h.state
            .messages
            .last()
            .map(|m| m.text.clone())
            .unwrap_or_default()
    };
    assert!(said(&h).starts_with("exported 3 rows"), "{}", said(&h));
    assert!(!said(&h).contains("not applied"), "{}", said(&h));
    h.step(Action::StartFilter);
    type_text(&mut h, "ada");
    h.step(Action::Input(InputKey::Submit));
    assert_eq!(h.state.customers.total, Some(1));
    h.command(&format!("export customers {}", out.display()));
    assert!(
        said(&h).starts_with("exported 3 rows")
            && said(&h).contains("(all rows: the filter is not applied)"),
        "{}",
        said(&h)
    );
}

/// A typo at the start of a filter, a search or a command is fixed where it
/// is (Home, Delete, Left, Ctrl-W), not by retyping the rest; the line
/// shows the cursor there.
#[test]
fn a_typo_in_a_filter_or_a_command_is_fixed_where_it_is() {
    let db = team_on_engine();
    let mut h = ui(&db, 80, 24);
    h.step(Action::GoScreen(Screen::Customers));
    h.step(Action::StartFilter);
    type_text(&mut h, "xlovelace");
    assert!(!h.screen().contains("Ada Lovelace"), "{}", h.screen());
    h.step(Action::Input(InputKey::Home));
    h.step(Action::Input(InputKey::Delete));
    assert_eq!(h.state.customers.query.filter.as_deref(), Some("lovelace"));
    assert_eq!(h.state.mode, Mode::Filter(0));
    assert!(h.screen().contains("Ada Lovelace"), "{}", h.screen());
    assert!(!h.screen().contains("Grace Hopper"), "{}", h.screen());
    // Typed where the cursor is; Ctrl-W takes the word before it.
    h.step(Action::Input(InputKey::End));
    type_text(&mut h, " zz");
    h.step(Action::Input(InputKey::DeleteWord));
    h.step(Action::Input(InputKey::Backspace));
    assert_eq!(h.state.customers.query.filter.as_deref(), Some("lovelace"));
    h.step(Action::Input(InputKey::Submit));
    assert!(h.screen().contains("Ada Lovelace"), "{}", h.screen());

    // The queue's search.
    h.step(Action::GoScreen(Screen::Feedback));
    h.step(Action::StartFilter);
    type_text(&mut h, "qinvoi");
    h.step(Action::Input(InputKey::Home));
    h.step(Action::Input(InputKey::Right));
    h.step(Action::Input(InputKey::Backspace));
    assert_eq!(h.state.mode, Mode::Filter(0));
    h.step(Action::Input(InputKey::Submit));
    assert_eq!(ids(&h), vec!["F1"]);

    // A command: `oto F3`, then the missing g typed at its start.
    h.step(Action::StartCommand);
    type_text(&mut h, "oto F3");
    h.step(Action::Input(InputKey::Home));
    type_text(&mut h, "g");
    match &h.state.mode {
        Mode::Command(c) => assert_eq!((c.text.as_str(), c.cursor), ("goto F3", 1)),
        m => panic!("not the command line: {m:?}"),
    }
    // (The bar draws the cursor after the g.)
    assert!(h.screen().contains(":g▏oto F3"), "{}", h.screen());
    h.step(Action::Input(InputKey::Submit));
    assert_eq!(h.state.mode, Mode::Normal);
    assert!(h.screen().contains("F3"), "{}", h.screen());
    assert!(
        h.screen().contains("Shipping took three weeks"),
        "{}",
        h.screen()
    );
}
