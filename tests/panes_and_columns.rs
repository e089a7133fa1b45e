//! 80x24 over SSH as a first-class size: every pane scrolls and stops at its
//! end, the wide tables scroll sideways and take a saved column choice, and
//! every open UI's headers follow what another process did to the data.

mod common;
use common::crmtop_cmd;
use crmtop::tui::action::Action;
use crmtop::tui::app::{Mode, Screen};
use crmtop::tui::harness::Harness;

/// The demo's as-of date, 2025-06-30, as the screens' "now".
const NOW: i64 = 1_751_241_600;

fn demo() -> common::TempDb {
    let db = common::demo_db(300, 1);
    common::train_and_fit(&db);
    db.on_engine()
}

#[test]
fn the_ticket_view_scrolls_to_its_end_and_stops_there() {
    let db = demo();
    let mut h = Harness::new(&db.target_path(), NOW, 80, 24).unwrap();
    h.step(Action::GoScreen(Screen::Feedback));
    h.step(Action::Open);
    assert!(h.state.queue.opened.is_some());
    insta::assert_snapshot!("ticket_80x24_top", h.screen());
    let limit = crmtop::tui::views::scroll_limit(&h.state);
    assert!(limit > 0, "at 80x24 the ticket and its customer do not fit");
    for _ in 0..(limit + 5) {
        h.step(Action::Down);
    }
    assert_eq!(h.state.queue.item_scroll, limit, "stops at the end");
    insta::assert_snapshot!("ticket_80x24_end", h.screen());
    // One key back up moves at once (no scrolling through empty space).
    h.step(Action::Up);
    assert_eq!(h.state.queue.item_scroll, limit - 1);
    h.step(Action::Top);
    assert_eq!(h.state.queue.item_scroll, 0);
    // The queue cursor did not move while the item scrolled.
    h.step(Action::Back);
    assert_eq!(h.state.queue.cursor, 0);
}

#[test]
fn the_customer_detail_scrolls_and_reads_its_audit_trail_as_sentences() {
    let db = demo();
    let mut h = Harness::new(&db.target_path(), NOW, 80, 24).unwrap();
    h.step(Action::GoScreen(Screen::Customers));
    h.step(Action::Open);
    let limit = crmtop::tui::views::scroll_limit(&h.state);
    assert!(limit > 0, "at 80x24 the detail does not fit");
    assert!(h.screen().contains("more (j)"), "{}", h.screen());
    h.step(Action::Bottom);
    assert_eq!(h.state.detail.as_ref().unwrap().scroll, limit);
    h.step(Action::Down);
    assert_eq!(h.state.detail.as_ref().unwrap().scroll, limit);
    insta::assert_snapshot!("detail_80x24_end", h.screen());
}

#[test]
fn the_help_stops_at_its_end() {
    let db = demo();
    let mut h = Harness::new(&db.target_path(), NOW, 80, 24).unwrap();
    h.step(Action::Help);
    let limit = crmtop::tui::views::scroll_limit(&h.state);
    assert!(limit > 0);
    for _ in 0..(limit + 20) {
        h.step(Action::Down);
    }
    assert_eq!(h.state.mode, Mode::Help(limit));
    let s = h.screen();
    assert!(
        s.contains("Keys can be remapped"),
        "the last line shows:\n{s}"
    );
    h.step(Action::Up);
    assert_eq!(h.state.mode, Mode::Help(limit - 1));
}

#[test]
fn wide_tables_scroll_sideways_and_keep_the_id() {
    let db = demo();
    let mut h = Harness::new(&db.target_path(), NOW, 80, 24).unwrap();
    h.step(Action::GoScreen(Screen::Customers));
    let s = h.screen();
    assert!(s.contains("cols →"), "hidden columns are announced:\n{s}");
    assert!(!s.contains("RFM segment"));
    for _ in 0..20 {
        h.step(Action::ScrollRight);
    }
    let s = h.screen();
    assert!(
        s.contains("RFM segment"),
        "the last column is reachable:\n{s}"
    );
    assert!(s.contains("C000001"), "the id column stays:\n{s}");
    insta::assert_snapshot!("customers_80x24_scrolled_right", s);
    for _ in 0..20 {
        h.step(Action::ScrollLeft);
    }
    assert_eq!(h.state.customers.hscroll, 0);
}

#[test]
fn columns_are_chosen_with_a_command_and_saved_per_screen() {
    let db = demo();
    let mut h = Harness::new(&db.target_path(), NOW, 80, 24).unwrap();
    h.step(Action::GoScreen(Screen::Customers));
    h.command("columns id clv name");
    let s = h.screen();
    let header = s.lines().nth(2).unwrap_or_default().to_string();
    let (clv, name) = (header.find("CLV"), header.find("name"));
    assert!(
        clv.is_some() && name.is_some() && clv < name,
        "CLV before name: {header}"
    );
    assert!(!header.contains("revenue"), "{header}");
    // Saved in the config file, per screen, and read back by a new session.
    let file = h.state.config_path.clone().unwrap();
    let cfg = crmtop::config::Config::load(Some(&file)).unwrap();
    assert_eq!(
        cfg.columns.get("customers"),
        Some(&vec!["id".to_string(), "clv".into(), "name".into()])
    );
    assert!(!cfg.columns.contains_key("queue"));
    // Adding and removing.
    h.command("columns +plan -clv");
    let cfg = crmtop::config::Config::load(Some(&file)).unwrap();
    assert_eq!(
        cfg.columns.get("customers"),
        Some(&vec!["name".to_string(), "plan".into()])
    );
    // A typo is refused with the names that exist; nothing changes.
    h.command("columns id nmae");
    let last = h.state.messages.last().map(|m| m.text.clone()).unwrap();
    assert!(
        last.contains("no column 'nmae'") && last.contains("revenue"),
        "{last}"
    );
    assert_eq!(
        h.state.config.columns.get("customers"),
        Some(&vec!["name".to_string(), "plan".into()])
    );
    // The queue has its own choice.
    h.step(Action::GoScreen(Screen::Feedback));
    h.command("columns id channel text");
    assert!(h.screen().contains("channel"));
    h.command("columns reset");
    let cfg = crmtop::config::Config::load(Some(&file)).unwrap();
    assert!(!cfg.columns.contains_key("queue"));
    assert!(cfg.columns.contains_key("customers"));
}

#[test]
fn saving_columns_keeps_the_rest_of_the_config_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("config.toml");
    std::fs::write(
        &file,
        "# my settings\nrefresh_secs = 5 # seconds\n\n[thresholds]\nhigh = 0.7\n",
    )
    .unwrap();
    let cols = vec!["id".to_string(), "text".into()];
    crmtop::config::save_columns(Some(&file), "queue", Some(&cols), &[]).unwrap();
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(
        text.contains("# my settings") && text.contains("# seconds"),
        "{text}"
    );
    let cfg = crmtop::config::Config::load(Some(&file)).unwrap();
    assert_eq!(cfg.refresh_secs, 5);
    assert_eq!(cfg.thresholds.high, 0.7);
    assert_eq!(cfg.columns.get("queue"), Some(&cols));
}

#[test]
fn the_queue_at_80x24_shows_text_the_sla_and_who_holds_an_item() {
    let db = demo();
    let mut h = Harness::new(&db.target_path(), NOW, 80, 24).unwrap();
    h.step(Action::GoScreen(Screen::Feedback));
    let s = h.screen();
    let header = s.lines().nth(2).unwrap_or_default().to_string();
    // Agents share the queue: who holds an item shows at 80 columns.
    assert!(
        header.contains("SLA") && header.contains("text") && header.contains("assignee"),
        "{header}"
    );
    let text_at = header.find("text").unwrap();
    // At least 20 columns of the item's text on each row.
    assert!(
        78 - crmtop::tui::views::format::width(&header[..text_at]) >= 20,
        "{header}"
    );
    insta::assert_snapshot!("queue_80x24", s);
}

#[test]
fn headers_refresh_in_every_open_ui_when_another_process_trains() {
    let db = demo();
    let mut churn = Harness::new(&db.target_path(), NOW, 100, 30).unwrap();
    churn.step(Action::GoScreen(Screen::Churn));
    let mut dash = Harness::new(&db.target_path(), NOW, 100, 30).unwrap();
    dash.step(Action::GoScreen(Screen::Dashboard));
    let first_model = churn
        .state
        .dashboard
        .as_ref()
        .unwrap()
        .agg
        .model
        .as_ref()
        .unwrap()
        .id;
    assert!(churn.screen().contains(&format!("model v{first_model} ")));
    assert!(dash.screen().contains(&format!("v{first_model}")));
    // Another terminal trains a new version and activates it.
    let out = crmtop_cmd()
        .args(["train", "--activate", "--db"])
        .arg(db.target())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", common::stderr(&out));
    let new_model = first_model + 1;
    // The next background refresh (every few seconds) notices.
    churn.step(Action::Refresh);
    dash.step(Action::Refresh);
    let s = churn.screen();
    assert!(
        s.contains(&format!("model v{new_model} ")),
        "churn header:\n{s}"
    );
    let s = dash.screen();
    assert!(s.contains(&format!("v{new_model}")), "dashboard:\n{s}");
    assert!(
        churn
            .state
            .messages
            .iter()
            .any(|m| m.text.contains("the data changed elsewhere")),
        "the reload is said"
    );
    // And what arrived with it, once the new figures are in.
    let said: Vec<&str> = churn
        .state
        .messages
        .iter()
        .map(|m| m.text.as_str())
        .collect();
    assert!(
        said.contains(&format!("changed elsewhere: model v{new_model} active").as_str()),
        "{said:?}"
    );
    // A refresh with nothing new reloads nothing and says nothing.
    let n = churn.state.messages.len();
    churn.step(Action::Refresh);
    assert_eq!(churn.state.messages.len(), n);
}

#[test]
fn keys_typed_while_a_question_is_open_do_not_carry_on() {
    use crmtop::tui::action::InputKey;
    let db = demo();
    let before = db.count("SELECT count(*) FROM audit_log");
    let mut h = Harness::new(&db.target_path(), NOW, 80, 24).unwrap();
    h.step(Action::GoScreen(Screen::Feedback));
    h.step(Action::Assign);
    for c in "anm".chars() {
        h.step(Action::Input(InputKey::Char(c)));
    }
    h.step(Action::Input(InputKey::Submit));
    assert!(
        matches!(h.state.mode, Mode::Confirm(_)),
        "{:?}",
        h.state.mode
    );
    // An agent typing on (":messages") without reading: nothing happens.
    for c in ":messages".chars() {
        h.step(Action::Input(InputKey::Char(c)));
    }
    assert!(
        matches!(h.state.mode, Mode::Confirm(_)),
        "{:?}",
        h.state.mode
    );
    h.step(Action::Input(InputKey::Char('n')));
    assert_eq!(h.state.mode, Mode::Normal);
    assert!(
        h.state
            .queue
            .items
            .iter()
            .all(|i| i.status != "escalated" || i.assignee.as_deref() != Some("tester")),
        "no escalation slipped through"
    );
    assert_eq!(
        db.count("SELECT count(*) FROM audit_log"),
        before,
        "nothing was changed"
    );
}

#[test]
fn resolving_an_unclaimed_item_is_refused_before_the_note_is_typed() {
    let db = demo();
    let mut h = Harness::new(&db.target_path(), NOW, 80, 24).unwrap();
    h.step(Action::GoScreen(Screen::Feedback));
    let first = h.state.queue.selected().unwrap().clone();
    assert_eq!(first.status, "new");
    h.step(Action::Resolve);
    assert_eq!(h.state.mode, Mode::Normal, "no prompt for a note");
    let said = h.status_text();
    assert!(said.contains("claim it first"), "{said}");
    // Claimed, it asks for the note.
    h.step(Action::Claim);
    h.step(Action::Top);
    for _ in 0..h.state.queue.items.len() {
        if h.state.queue.selected().map(|i| i.fid) == Some(first.fid) {
            break;
        }
        h.step(Action::Down);
    }
    assert_eq!(h.state.queue.selected().map(|i| i.fid), Some(first.fid));
    h.step(Action::Resolve);
    assert!(
        matches!(h.state.mode, Mode::Prompt(_)),
        "{:?}",
        h.state.mode
    );
}

#[test]
fn the_clv_holdout_check_opens_from_the_command_line() {
    let db = demo();
    let mut h = Harness::new(&db.target_path(), NOW, 80, 24).unwrap();
    h.step(Action::GoScreen(Screen::Clv));
    h.command("holdout 2025-01-31");
    assert_eq!(h.state.mode, Mode::Holdout);
    let r = h.state.holdout.as_ref().unwrap();
    assert_eq!(r.calibration_end, "2025-01-31");
    assert!(r.total_actual > 0.0 && r.total_predicted > 0.0);
    let s = h.screen();
    assert!(s.contains("CLV holdout (bgnbd): fit to 2025-01-31"), "{s}");
    assert!(s.contains("0 in calibration"), "{s}");
    insta::assert_snapshot!("holdout_80x24", s);
    // Keys typed on do nothing; Esc closes it; a bad date is refused.
    h.step(Action::Down);
    h.step(Action::StartCommand);
    assert_eq!(h.state.mode, Mode::Holdout);
    h.step(Action::Back);
    assert_eq!(h.state.mode, Mode::Normal);
    h.command("holdout yesterday-ish");
    assert!(h.state.status.as_ref().unwrap().text.contains("not a date"));
}

#[test]
fn the_clv_matrices_show_as_heatmaps() {
    let db = demo();
    let mut h = Harness::new(&db.target_path(), NOW, 80, 24).unwrap();
    h.step(Action::GoScreen(Screen::Clv));
    h.command("matrix");
    assert_eq!(h.state.mode, Mode::Matrices);
    let m = h.state.matrices.as_ref().unwrap();
    // P(alive) of a customer without repeat purchases is 1; with repeat
    // purchases it grows with recency (a recent last purchase).
    assert!(m.p_alive[0].iter().all(|p| (*p - 1.0).abs() < 1e-12));
    let row = &m.p_alive[2];
    assert!(row.windows(2).all(|w| w[1] >= w[0] - 1e-12), "{row:?}");
    let s = h.screen();
    assert!(
        s.contains("P(alive)") && s.contains("Expected purchases"),
        "{s}"
    );
    insta::assert_snapshot!("clv_matrices_80x24", s);
    h.step(Action::Back);
    assert_eq!(h.state.mode, Mode::Normal);
}

#[test]
fn retention_curves_open_from_the_command_line() {
    let db = demo();
    let mut h = Harness::new(&db.target_path(), NOW, 80, 24).unwrap();
    // Over the dashboard (a team on a server starts on its queue).
    h.step(Action::GoScreen(Screen::Dashboard));
    h.command("survival plan");
    assert_eq!(h.state.mode, Mode::Survival);
    let r = h.state.survival.as_ref().unwrap();
    assert!(r.groups.len() >= 2, "{:?}", r.groups.len());
    assert!(r.logrank.is_some());
    let s = h.screen();
    assert!(
        s.contains("Retention by plan") && s.contains("log-rank"),
        "{s}"
    );
    insta::assert_snapshot!("survival_80x24", s);
    h.step(Action::Back);
    assert_eq!(h.state.mode, Mode::Normal);
    h.command("survival nosuch");
    assert!(h
        .state
        .status
        .as_ref()
        .unwrap()
        .text
        .contains("no such column"));
}

#[test]
fn cohort_retention_shows_as_a_table() {
    let db = demo();
    let mut h = Harness::new(&db.target_path(), NOW, 80, 24).unwrap();
    // Over the dashboard (a team on a server starts on its queue).
    h.step(Action::GoScreen(Screen::Dashboard));
    h.command("cohorts");
    assert_eq!(h.state.mode, Mode::Cohorts);
    let t = h.state.cohorts.as_ref().unwrap();
    assert_eq!(t.cohorts.len(), 12);
    assert!(t.cohorts.iter().all(|c| c.active[0] == Some(1.0)));
    // The newest cohort has not reached its later months.
    assert_eq!(t.cohorts.last().unwrap().active[1], None);
    let s = h.screen();
    assert!(s.contains("Cohort retention") && s.contains("100%"), "{s}");
    insta::assert_snapshot!("cohorts_80x24", s);
}
