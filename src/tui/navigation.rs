//! Moving around: the cursor in a list or the queue (loading the page it
//! reaches), scrolling a pane or a table sideways, opening the selected
//! row, the live filter's typing and the next match. Part of the pure
//! update (`update.rs` dispatches actions).

use super::action::{Action, InputKey};
use super::app::{AppState, Mode, Screen, Severity};
use super::update::{
    current_list, load_queue, move_by, open_detail, page_move, reset_list, Effect,
};

pub(super) fn queue_move(state: &mut AppState, delta: i64) -> Vec<Effect> {
    let q = &mut state.queue;
    if q.items.is_empty() {
        return vec![];
    }
    let pos = q.offset + q.cursor as i64 + delta;
    let total = q.total.unwrap_or(q.offset + q.items.len() as i64);
    let pos = pos.clamp(0, (total - 1).max(0));
    let local = pos - q.offset;
    if local >= 0 && (local as usize) < q.items.len() {
        q.cursor = local as usize;
        return vec![];
    }
    // Outside the loaded page: load the page around it.
    let start = (pos - q.visible_rows as i64).max(0);
    q.cursor = (pos - start) as usize;
    load_queue(state, start)
}

/// h/l: the list's columns scroll sideways (the pinned ones stay).
pub(super) fn scroll_sideways(state: &mut AppState, action: &Action) -> Vec<Effect> {
    if state.detail.is_some() || state.queue.opened.is_some() && state.screen == Screen::Feedback {
        return vec![];
    }
    let Some((key, defs)) = super::views::columns_of(state.screen) else {
        return vec![];
    };
    let chosen = state.config.columns.get(key).cloned();
    let width = state.width.saturating_sub(2);
    let max = super::views::table::max_hscroll(defs, chosen.as_deref(), width);
    let slot = match state.screen {
        Screen::Feedback => &mut state.queue.hscroll,
        _ => match current_list(state) {
            Some((list, _)) => &mut list.hscroll,
            None => return vec![],
        },
    };
    *slot = match action {
        Action::ScrollLeft => slot.saturating_sub(1),
        _ => (*slot + 1).min(max),
    };
    vec![]
}

/// A scroll key applied to a scrolled text (help, messages, detail, an
/// opened item), stopping at its end; `None` for keys that do not scroll.
pub(super) fn scroll_by(state: &AppState, scroll: u16, action: &Action) -> Option<u16> {
    let limit = super::views::scroll_limit(state);
    let page = state.height.saturating_sub(6).max(1);
    let s = match action {
        Action::Down => scroll.saturating_add(1),
        Action::Up => scroll.saturating_sub(1),
        Action::PageDown => scroll.saturating_add(page),
        Action::PageUp => scroll.saturating_sub(page),
        Action::HalfPageDown => scroll.saturating_add(page / 2),
        Action::HalfPageUp => scroll.saturating_sub(page / 2),
        Action::Top => 0,
        Action::Bottom => limit,
        _ => return None,
    };
    Some(s.min(limit))
}

pub(super) fn navigate(state: &mut AppState, action: Action) -> Vec<Effect> {
    if let Some(scroll) = state.detail.as_ref().map(|d| d.scroll) {
        if let Some(s) = scroll_by(state, scroll, &action) {
            if let Some(d) = state.detail.as_mut() {
                d.scroll = s;
            }
        }
        return vec![];
    }
    if state.screen == Screen::Feedback && state.queue.opened.is_some() {
        if let Some(s) = scroll_by(state, state.queue.item_scroll, &action) {
            state.queue.item_scroll = s;
        }
        return vec![];
    }
    match state.screen {
        Screen::Feedback => {
            let h = state.queue.visible_rows.max(1) as i64;
            let d = match action {
                Action::Up => -1,
                Action::Down => 1,
                Action::PageUp => -h,
                Action::PageDown => h,
                Action::HalfPageUp => -(h / 2).max(1),
                _ => (h / 2).max(1),
            };
            queue_move(state, d)
        }
        Screen::Models => {
            let m = &mut state.models;
            if m.comparing || m.rows.is_empty() {
                // Up and down scroll the coefficient table when nothing else moves.
                m.scroll = match action {
                    Action::Down | Action::PageDown | Action::HalfPageDown if m.comparing => {
                        m.scroll.saturating_add(1)
                    }
                    Action::Up | Action::PageUp | Action::HalfPageUp if m.comparing => {
                        m.scroll.saturating_sub(1)
                    }
                    _ => m.scroll,
                };
                return vec![];
            }
            let last = m.rows.len() - 1;
            m.cursor = match action {
                Action::Up => m.cursor.saturating_sub(1),
                Action::Down => (m.cursor + 1).min(last),
                Action::PageUp | Action::HalfPageUp => m.cursor.saturating_sub(5),
                _ => (m.cursor + 5).min(last),
            };
            m.scroll = 0;
            vec![]
        }
        Screen::Dashboard => vec![],
        Screen::Campaigns => super::campaign_update::navigate(state, &action),
        _ => {
            let Some((list, slot)) = current_list(state) else {
                return vec![];
            };
            let h = list.visible_rows.max(1) as i64;
            match action {
                Action::Up => move_by(list, slot, -1),
                Action::Down => move_by(list, slot, 1),
                Action::PageUp => page_move(list, slot, -h),
                Action::PageDown => page_move(list, slot, h),
                Action::HalfPageUp => page_move(list, slot, -(h / 2).max(1)),
                _ => page_move(list, slot, (h / 2).max(1)),
            }
        }
    }
}

pub(super) fn open(state: &mut AppState) -> Vec<Effect> {
    match state.screen {
        Screen::Dashboard => {
            let top = state
                .dashboard
                .as_ref()
                .and_then(|d| d.agg.top_at_risk.first().map(|t| t.cid));
            match top {
                Some(cid) => open_detail(state, cid),
                None => vec![],
            }
        }
        Screen::Feedback => match state.queue.selected().map(|i| i.fid) {
            Some(fid) => super::queue_update::open_item(state, fid),
            None => vec![],
        },
        Screen::Models => vec![],
        Screen::Campaigns => super::campaign_update::open(state),
        _ => {
            let cid = current_list(state).and_then(|(l, _)| l.selected().map(|r| r.cid));
            match cid {
                Some(cid) => open_detail(state, cid),
                None => vec![],
            }
        }
    }
}

pub(super) fn filter_input(state: &mut AppState, action: Action, cursor: usize) -> Vec<Effect> {
    if matches!(action, Action::Input(InputKey::Submit | InputKey::Cancel)) {
        state.mode = Mode::Normal;
    }
    if state.screen == Screen::Feedback && state.detail.is_none() {
        return super::queue_filter::search_input(state, action, cursor);
    }
    let Some((list, slot)) = current_list(state) else {
        state.mode = Mode::Normal;
        return vec![];
    };
    let mut text = list.query.filter.clone().unwrap_or_default();
    let mut cursor = cursor;
    let edit = match &action {
        Action::Input(InputKey::Submit) => return vec![],
        Action::Input(InputKey::Cancel) => {
            if list.query.filter.is_some() {
                list.query.filter = None;
                return reset_list(list, slot);
            }
            return vec![];
        }
        Action::Input(key) => super::line::apply(&mut text, &mut cursor, key),
        _ => return vec![],
    };
    if edit != super::line::Edit::Changed {
        state.mode = Mode::Filter(cursor);
        return vec![];
    }
    list.query.filter = if text.is_empty() { None } else { Some(text) };
    let effects = reset_list(list, slot);
    state.mode = Mode::Filter(cursor);
    effects
}

/// `n` / `N`: the next or previous row among the matches (the list or
/// queue shows only matches while a search or filter is on).
pub(super) fn next_match(state: &mut AppState, forward: bool) -> Vec<Effect> {
    let searching = match current_list(state) {
        Some((list, _)) => list.query.filter.is_some(),
        None => {
            state.screen == Screen::Feedback
                && state.queue.filter.parts().iter().any(|p| {
                    matches!(
                        p,
                        crate::store::feedback::QueueFilter::Text(_)
                            | crate::store::feedback::QueueFilter::TextNoNames(_)
                    )
                })
        }
    };
    if !searching {
        state.say(Severity::Info, "no search: press / and type what to find");
        return vec![];
    }
    navigate(state, if forward { Action::Down } else { Action::Up })
}
