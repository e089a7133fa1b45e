//! The list screens' part of the update (customers, churn, CLV): a window
//! of rows over a list of any length, paged, prefetched and kept in view;
//! jumps, sorts and reloads.

use super::app::{AppState, ListState, Screen, PAGE, WINDOW};
use super::update::Effect;
use super::worker::{Extra, PageKind, Request, Slot};
use crate::store::list::{CustomerRow, Seek, SortColumn};

pub(crate) fn slot_of(screen: Screen) -> Option<Slot> {
    match screen {
        Screen::Customers => Some(Slot::Customers),
        Screen::Churn => Some(Slot::Churn),
        Screen::Clv => Some(Slot::Clv),
        _ => None,
    }
}

pub(crate) fn list_mut(state: &mut AppState, slot: Slot) -> &mut ListState {
    match slot {
        Slot::Customers => &mut state.customers,
        Slot::Churn => &mut state.churn,
        Slot::Clv => &mut state.clv,
    }
}

/// The list shown now (None on screens without one, or under a detail view).
pub(crate) fn current_list(state: &mut AppState) -> Option<(&mut ListState, Slot)> {
    if state.detail.is_some() {
        return None;
    }
    let slot = slot_of(state.screen)?;
    Some((list_mut(state, slot), slot))
}

pub(crate) fn request(r: Request) -> Effect {
    Effect::Request(r)
}

pub(crate) fn reset_list(list: &mut ListState, slot: Slot) -> Vec<Effect> {
    list.gen += 1;
    list.rows.clear();
    list.extra.clear();
    list.cursor = 0;
    list.offset = 0;
    list.base = None;
    list.total = None;
    list.reached_start = false;
    list.reached_end = false;
    list.pending_move = 0;
    list.loading = true;
    list.quiet = false;
    let mut q = list.query.clone();
    q.seek = Seek::First;
    q.limit = PAGE;
    vec![
        request(Request::Page {
            slot,
            gen: list.gen,
            kind: PageKind::Reset,
            query: q.clone(),
        }),
        request(Request::Count {
            slot,
            gen: list.gen,
            query: q,
        }),
    ]
}

pub(crate) fn jump_to_end(list: &mut ListState, slot: Slot) -> Vec<Effect> {
    if list.reached_end {
        list.cursor = list.rows.len().saturating_sub(1);
        keep_visible(list);
        return vec![];
    }
    list.gen += 1;
    let total = list.total;
    list.rows.clear();
    list.extra.clear();
    list.cursor = 0;
    list.offset = 0;
    list.base = None;
    list.total = total;
    list.reached_start = false;
    list.reached_end = true;
    list.pending_move = 0;
    list.loading = true;
    list.quiet = false;
    let mut q = list.query.clone();
    q.seek = Seek::Last;
    q.limit = PAGE;
    let mut fx = vec![request(Request::Page {
        slot,
        gen: list.gen,
        kind: PageKind::Reset,
        query: q.clone(),
    })];
    if total.is_none() {
        fx.push(request(Request::Count {
            slot,
            gen: list.gen,
            query: q,
        }));
    }
    fx
}

pub(crate) fn keep_visible(list: &mut ListState) {
    let h = list.visible_rows.max(1);
    if list.cursor < list.offset {
        list.offset = list.cursor;
    } else if list.cursor >= list.offset + h {
        list.offset = list.cursor + 1 - h;
    }
    let max_offset = list.rows.len().saturating_sub(h);
    if list.offset > max_offset && list.reached_end {
        list.offset = max_offset;
    }
}

/// Ask for more rows in the direction the cursor is heading, if needed.
pub(crate) fn prefetch(list: &mut ListState, slot: Slot) -> Vec<Effect> {
    if list.loading || list.rows.is_empty() {
        return vec![];
    }
    let margin = list.visible_rows * 2;
    let mut q = list.query.clone();
    q.limit = PAGE;
    if !list.reached_end && list.rows.len() - list.cursor <= margin {
        if let Some(last) = list.rows.last() {
            q.seek = Seek::After(last.key.clone());
            // Ahead of the cursor: nobody waits for it, so the screen does
            // not announce it (a "loading" flash is a second redraw).
            list.loading = true;
            list.quiet = true;
            return vec![request(Request::Page {
                slot,
                gen: list.gen,
                kind: PageKind::Append,
                query: q,
            })];
        }
    }
    if !list.reached_start && list.cursor <= margin {
        if let Some(first) = list.rows.first() {
            q.seek = Seek::Before(first.key.clone());
            list.loading = true;
            list.quiet = true;
            return vec![request(Request::Page {
                slot,
                gen: list.gen,
                kind: PageKind::Prepend,
                query: q,
            })];
        }
    }
    vec![]
}

pub(crate) fn move_by(list: &mut ListState, slot: Slot, delta: i64) -> Vec<Effect> {
    if list.rows.is_empty() {
        // Keys pressed before the first page arrived still count.
        if list.loading {
            list.pending_move += delta;
        }
        return vec![];
    }
    let target = list.cursor as i64 + delta;
    let last = list.rows.len() as i64 - 1;
    if target < 0 {
        list.cursor = 0;
        if !list.reached_start {
            list.pending_move = target;
        }
    } else if target > last {
        list.cursor = last as usize;
        if !list.reached_end {
            list.pending_move = target - last;
        }
    } else {
        list.cursor = target as usize;
        list.pending_move = 0;
    }
    keep_visible(list);
    let fx = prefetch(list, slot);
    // The cursor wants rows that are not here yet: now someone waits.
    if list.pending_move != 0 && list.loading {
        list.quiet = false;
    }
    fx
}

pub(crate) fn page_move(list: &mut ListState, slot: Slot, delta: i64) -> Vec<Effect> {
    let fx = move_by(list, slot, delta);
    let h = list.visible_rows as i64;
    let off = (list.offset as i64 + delta).clamp(0, (list.rows.len() as i64 - h).max(0));
    list.offset = off as usize;
    keep_visible(list);
    fx
}

/// Apply a page that arrived from the worker.
pub(crate) fn apply_page(
    list: &mut ListState,
    slot: Slot,
    kind: PageKind,
    rows: Vec<CustomerRow>,
    extra: Vec<Extra>,
) -> Vec<Effect> {
    list.loading = false;
    list.quiet = false;
    let full = rows.len() >= PAGE;
    match kind {
        PageKind::Reload => {
            let asked = list.rows.len().clamp(PAGE, WINDOW);
            let selected = list.selected().map(|r| r.cid);
            list.reached_end = rows.len() < asked;
            list.rows = rows;
            list.extra = extra;
            if let Some(i) = selected.and_then(|cid| list.rows.iter().position(|r| r.cid == cid)) {
                list.cursor = i;
            }
            list.cursor = list.cursor.min(list.rows.len().saturating_sub(1));
        }
        PageKind::Reset => {
            let from_end = list.reached_end
                && list.base.is_none()
                && list.rows.is_empty()
                && !list.reached_start;
            list.rows = rows;
            list.extra = extra;
            if from_end {
                list.reached_start = !full;
                list.reached_end = true;
                list.cursor = list.rows.len().saturating_sub(1);
                list.base = match (list.reached_start, list.total) {
                    (true, _) => Some(0),
                    (false, Some(t)) => Some(t - list.rows.len() as i64),
                    _ => None,
                };
            } else {
                list.reached_start = true;
                list.reached_end = !full;
                list.base = Some(0);
                list.cursor = 0;
            }
            list.offset = 0;
        }
        PageKind::Append => {
            if !full {
                list.reached_end = true;
            }
            list.rows.extend(rows);
            list.extra.extend(extra);
            if list.rows.len() > WINDOW {
                let drop =
                    (list.rows.len() - WINDOW).min(list.cursor.saturating_sub(list.visible_rows));
                if drop > 0 {
                    list.rows.drain(..drop);
                    list.extra.drain(..drop.min(list.extra.len()));
                    list.cursor -= drop;
                    list.offset = list.offset.saturating_sub(drop);
                    list.base = list.base.map(|b| b + drop as i64);
                    list.reached_start = false;
                }
            }
        }
        PageKind::Prepend => {
            let n = rows.len();
            if !full {
                list.reached_start = true;
            }
            let mut merged = rows;
            merged.append(&mut list.rows);
            list.rows = merged;
            let mut ex = extra;
            ex.append(&mut list.extra);
            list.extra = ex;
            list.cursor += n;
            list.offset += n;
            list.base = if list.reached_start {
                Some(0)
            } else {
                list.base.map(|b| b - n as i64)
            };
            if list.rows.len() > WINDOW {
                let keep = WINDOW.max(list.cursor + list.visible_rows + 1);
                if keep < list.rows.len() {
                    list.rows.truncate(keep);
                    list.extra.truncate(keep);
                    list.reached_end = false;
                }
            }
        }
    }
    if list.base.is_none() {
        if let (true, Some(t)) = (list.reached_end, list.total) {
            list.base = Some(t - list.rows.len() as i64);
        }
    }
    let pending = std::mem::take(&mut list.pending_move);
    let mut fx = if pending != 0 {
        move_by(list, slot, pending)
    } else {
        vec![]
    };
    keep_visible(list);
    if fx.is_empty() {
        fx = prefetch(list, slot);
    }
    fx
}

/// Appended CLV shares were computed from the page's own start: the worker
/// already includes the value above the first row, so they need no change.
pub(crate) fn sort_next(list: &mut ListState, slot: Slot) -> Vec<Effect> {
    let columns = SortColumn::ALL;
    let i = columns
        .iter()
        .position(|c| *c == list.query.sort)
        .unwrap_or(0);
    list.query.sort = columns[(i + 1) % columns.len()];
    list.query.descending = list.query.sort.descending_first();
    resort_list(list, slot)
}

/// The same rows in another order: reloaded from the top, but the count
/// stays (it does not depend on the order), so the footer does not change
/// a second time when a count arrives.
pub(crate) fn resort_list(list: &mut ListState, slot: Slot) -> Vec<Effect> {
    let total = list.total;
    let mut fx = reset_list(list, slot);
    if total.is_some() {
        list.total = total;
        fx.retain(|e| !matches!(e, Effect::Request(Request::Count { .. })));
    }
    fx
}
