//! The screens on ratatui's TestBackend, driven action by action on a small
//! deterministic demo database.

mod common;
use crmtop::tui::action::{Action, InputKey};
use crmtop::tui::harness::Harness;

/// The demo's as-of date, 2025-06-30, as the screens' "now".
const NOW: i64 = 1_751_241_600;

fn harness(w: u16, h: u16) -> (common::TempDb, Harness) {
    let db = common::demo_db(300, 1).on_engine();
    let mut h = Harness::new(&db.target_path(), NOW, w, h).expect("harness");
    h.step(Action::GoScreen(crmtop::tui::app::Screen::Customers));
    (db, h)
}

#[test]
fn customer_list_80x24() {
    let (_db, h) = harness(80, 24);
    insta::assert_snapshot!("customers_80x24", h.screen());
}

#[test]
fn customer_list_120x40() {
    let (_db, h) = harness(120, 40);
    insta::assert_snapshot!("customers_120x40", h.screen());
}

#[test]
fn sorting_and_reversing() {
    let (_db, mut h) = harness(100, 30);
    // id -> name -> segment -> plan -> tenure -> last order -> orders -> revenue
    for _ in 0..7 {
        h.step(Action::SortNext);
    }
    assert_eq!(
        h.state.customers.query.sort,
        crmtop::store::list::SortColumn::Revenue
    );
    let rev: Vec<f64> = h.state.customers.rows.iter().map(|r| r.revenue).collect();
    assert!(rev.windows(2).all(|w| w[0] >= w[1]), "revenue descending");
    assert!(h.screen().contains("revenue▼"));
    h.step(Action::SortReverse);
    let rev: Vec<f64> = h.state.customers.rows.iter().map(|r| r.revenue).collect();
    assert!(rev.windows(2).all(|w| w[0] <= w[1]), "revenue ascending");
    assert!(h.screen().contains("revenue▲"));
}

#[test]
fn scrolling_pages_and_ends() {
    let (_db, mut h) = harness(100, 30);
    let rows = h.state.customers.visible_rows as i64;
    h.step(Action::PageDown);
    h.step(Action::Down);
    assert_eq!(h.state.customers.position(), Some(rows + 1));
    h.step(Action::Bottom);
    assert_eq!(h.state.customers.position(), Some(299));
    assert!(h.screen().contains("row 300 of 300"));
    h.step(Action::Top);
    assert_eq!(h.state.customers.position(), Some(0));
    h.step(Action::Up);
    assert_eq!(h.state.customers.position(), Some(0));
}

#[test]
fn live_filter_and_clearing_it() {
    let (_db, mut h) = harness(100, 30);
    h.step(Action::StartFilter);
    for c in "C00012".chars() {
        h.step(Action::Input(InputKey::Char(c)));
    }
    let ids: Vec<String> = h
        .state
        .customers
        .rows
        .iter()
        .map(|r| r.id.clone())
        .collect();
    assert_eq!(ids.len(), 10, "{ids:?}"); // C000120..C000129
    assert!(ids.iter().all(|i| i.contains("C00012")));
    assert!(h.screen().contains("filter: C00012"));
    h.step(Action::Input(InputKey::Cancel));
    assert_eq!(h.state.customers.total, Some(300));
}

#[test]
fn too_small_terminal_says_what_it_needs() {
    for (w, hgt) in [(79, 24), (80, 23), (20, 5), (1, 1)] {
        let (_db, mut h) = harness(100, 30);
        h.step(Action::Resize(w, hgt));
        let s = h.screen();
        let first = s.lines().next().unwrap_or("");
        assert!(
            first.starts_with(&"crmtop needs at least 80x24"[..(w as usize).min(27)]),
            "{w}x{hgt}: {s:?}"
        );
    }
}

#[test]
fn the_help_is_generated_from_the_keymap() {
    let (_db, mut h) = harness(100, 40);
    h.step(Action::Help);
    // Every binding's line is on the help, scrolled through to its end.
    let mut seen = h.screen();
    for _ in 0..100 {
        h.step(Action::Down);
        seen.push_str(&h.screen());
    }
    for b in h.state.keymap.help(h.state.screen) {
        assert!(seen.contains(b.3), "{}", b.3);
    }
    assert!(seen.contains("sort by the next column"));
    h.step(Action::Back);
    assert!(!h.screen().contains("Help:"));
}
