//! The pure update: `(state, action) -> effects`. Never touches SQLite, the
//! terminal or the clock; the worker and the main loop carry out the effects.

use super::action::{Action, InputKey};
use super::app::{AppState, ConfirmAction, ListState, Mode, Screen, Severity, PAGE, WINDOW};
use super::worker::{PageKind, Request, Response, Slot};
use crate::store::list::{Seek, SortColumn};

#[derive(Debug, Clone)]
pub enum Effect {
    Request(Request),
}

/// Screens that exist in this build, in tab order.
pub fn screens() -> &'static [Screen] {
    &[Screen::Customers]
}

/// Lines of chrome around a list on a screen of `height` rows: tab bar,
/// table border and header, footer, status bar.
pub fn list_rows(height: u16) -> usize {
    height.saturating_sub(6).max(1) as usize
}

/// What the program asks for at start.
pub fn init(state: &mut AppState) -> Vec<Effect> {
    let mut fx = vec![Effect::Request(Request::Probe)];
    fx.extend(reset_list(&mut state.customers, Slot::Customers));
    fx
}

fn reset_list(list: &mut ListState, slot: Slot) -> Vec<Effect> {
    list.gen += 1;
    list.rows.clear();
    list.cursor = 0;
    list.offset = 0;
    list.base = None;
    list.total = None;
    list.reached_start = false;
    list.reached_end = false;
    list.pending_move = 0;
    list.loading = true;
    let mut q = list.query.clone();
    q.seek = Seek::First;
    q.limit = PAGE;
    vec![
        Effect::Request(Request::Page {
            slot,
            gen: list.gen,
            kind: PageKind::Reset,
            query: q.clone(),
        }),
        Effect::Request(Request::Count {
            slot,
            gen: list.gen,
            query: q,
        }),
    ]
}

fn jump_to_end(list: &mut ListState, slot: Slot) -> Vec<Effect> {
    if list.reached_end {
        list.cursor = list.rows.len().saturating_sub(1);
        keep_visible(list);
        return vec![];
    }
    list.gen += 1;
    let total = list.total;
    list.rows.clear();
    list.cursor = 0;
    list.offset = 0;
    list.base = None;
    list.total = total;
    list.reached_start = false;
    list.reached_end = true;
    list.pending_move = 0;
    list.loading = true;
    let mut q = list.query.clone();
    q.seek = Seek::Last;
    q.limit = PAGE;
    vec![Effect::Request(Request::Page {
        slot,
        gen: list.gen,
        kind: PageKind::Reset,
        query: q,
    })]
}

fn keep_visible(list: &mut ListState) {
    let h = list.visible_rows.max(1);
    if list.cursor < list.offset {
        list.offset = list.cursor;
    } else if list.cursor >= list.offset + h {
        list.offset = list.cursor + 1 - h;
    }
    // Fill the view when near the end of the loaded rows.
    let max_offset = list.rows.len().saturating_sub(h);
    if list.offset > max_offset && list.reached_end {
        list.offset = max_offset;
    }
}

/// Ask for more rows in the direction the cursor is heading, if needed.
fn prefetch(list: &mut ListState, slot: Slot) -> Vec<Effect> {
    if list.loading || list.rows.is_empty() {
        return vec![];
    }
    let margin = list.visible_rows * 2;
    let mut q = list.query.clone();
    q.limit = PAGE;
    if !list.reached_end && list.rows.len() - list.cursor <= margin {
        if let Some(last) = list.rows.last() {
            q.seek = Seek::After(last.key.clone());
            list.loading = true;
            return vec![Effect::Request(Request::Page {
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
            return vec![Effect::Request(Request::Page {
                slot,
                gen: list.gen,
                kind: PageKind::Prepend,
                query: q,
            })];
        }
    }
    vec![]
}

fn move_by(list: &mut ListState, slot: Slot, delta: i64) -> Vec<Effect> {
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
    // A page key moves the view with the cursor, as pagers do.
    keep_visible(list);
    prefetch(list, slot)
}

fn page_move(list: &mut ListState, slot: Slot, delta: i64) -> Vec<Effect> {
    let fx = move_by(list, slot, delta);
    let h = list.visible_rows as i64;
    let off = (list.offset as i64 + delta).clamp(0, (list.rows.len() as i64 - h).max(0));
    list.offset = off as usize;
    keep_visible(list);
    fx
}

/// Apply a page that arrived from the worker.
fn apply_page(
    list: &mut ListState,
    slot: Slot,
    kind: PageKind,
    rows: Vec<crate::store::list::CustomerRow>,
) -> Vec<Effect> {
    list.loading = false;
    let full = rows.len() >= PAGE;
    match kind {
        PageKind::Reload => {
            let asked = list.rows.len().clamp(PAGE, WINDOW);
            let selected = list.selected().map(|r| r.cid);
            list.reached_end = rows.len() < asked;
            list.rows = rows;
            // Stay on the same customer if it is still there.
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
            if list.rows.len() > WINDOW {
                let drop =
                    (list.rows.len() - WINDOW).min(list.cursor.saturating_sub(list.visible_rows));
                if drop > 0 {
                    list.rows.drain(..drop);
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

fn sort_next(list: &mut ListState, slot: Slot, columns: &[SortColumn]) -> Vec<Effect> {
    let i = columns
        .iter()
        .position(|c| *c == list.query.sort)
        .unwrap_or(0);
    list.query.sort = columns[(i + 1) % columns.len()];
    list.query.descending = matches!(
        list.query.sort,
        SortColumn::Revenue
            | SortColumn::Orders
            | SortColumn::Churn
            | SortColumn::Clv
            | SortColumn::LastOrder
            | SortColumn::Tenure
    );
    reset_list(list, slot)
}

fn current_list(state: &mut AppState) -> Option<(&mut ListState, Slot)> {
    match state.screen {
        Screen::Customers => Some((&mut state.customers, Slot::Customers)),
        _ => None,
    }
}

/// Handle one action.
pub fn update(state: &mut AppState, action: Action) -> Vec<Effect> {
    match action {
        Action::Tick => {
            state.tick += 1;
            if let Some(s) = &state.status {
                // Messages fade after about 8 seconds (4 ticks of 2 s).
                if state.tick.saturating_sub(s.at_tick) > 4 && state.job.is_none() {
                    state.status = None;
                }
            }
            return vec![];
        }
        Action::Resize(w, h) => {
            state.width = w;
            state.height = h;
            state.customers.visible_rows = list_rows(h);
            keep_visible(&mut state.customers);
            return vec![];
        }
        _ => {}
    }
    match state.mode.clone() {
        Mode::Filter => return filter_input(state, action),
        Mode::Command(text) => return command_input(state, action, text),
        Mode::Help(scroll) => {
            state.mode = match action {
                Action::Down => Mode::Help(scroll.saturating_add(1)),
                Action::Up => Mode::Help(scroll.saturating_sub(1)),
                Action::PageDown | Action::HalfPageDown => Mode::Help(scroll.saturating_add(10)),
                Action::PageUp | Action::HalfPageUp => Mode::Help(scroll.saturating_sub(10)),
                Action::Top => Mode::Help(0),
                _ => Mode::Normal,
            };
            return vec![];
        }
        Mode::Confirm(c) => {
            state.mode = Mode::Normal;
            if let Action::Input(InputKey::Char('y' | 'Y')) = action {
                return confirmed(state, c.on_yes);
            }
            state.say(Severity::Info, "cancelled");
            return vec![];
        }
        Mode::Prompt(_) | Mode::Normal => {}
    }
    match action {
        Action::Quit => {
            if state.job.is_some() {
                state.mode = Mode::Confirm(super::app::Confirm {
                    question: "A job is running. Quit and cancel it? (y/n)".into(),
                    on_yes: ConfirmAction::Quit,
                });
            } else {
                state.quit = true;
            }
            vec![]
        }
        Action::CancelJob => {
            if state.job.is_some() {
                state.mode = Mode::Confirm(super::app::Confirm {
                    question: "Cancel the running job? Nothing it did is kept. (y/n)".into(),
                    on_yes: ConfirmAction::CancelJob,
                });
            } else {
                state.quit = true;
            }
            vec![]
        }
        Action::Help => {
            state.mode = Mode::Help(0);
            vec![]
        }
        Action::GoScreen(s) => {
            if screens().contains(&s) {
                state.screen = s;
            }
            vec![]
        }
        Action::NextScreen | Action::PrevScreen => {
            let all = screens();
            let i = all.iter().position(|s| *s == state.screen).unwrap_or(0);
            let n = all.len();
            let j = if action == Action::NextScreen {
                (i + 1) % n
            } else {
                (i + n - 1) % n
            };
            state.screen = all[j];
            vec![]
        }
        Action::StartFilter => {
            if current_list(state).is_some() {
                state.mode = Mode::Filter;
            }
            vec![]
        }
        Action::StartCommand => {
            state.mode = Mode::Command(String::new());
            vec![]
        }
        Action::Back => {
            if let Some((list, slot)) = current_list(state) {
                if list.query.filter.is_some() {
                    list.query.filter = None;
                    return reset_list(list, slot);
                }
            }
            vec![]
        }
        Action::Up
        | Action::Down
        | Action::PageUp
        | Action::PageDown
        | Action::HalfPageUp
        | Action::HalfPageDown => {
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
        Action::Top => match current_list(state) {
            Some((list, slot)) if list.reached_start => {
                list.cursor = 0;
                list.offset = 0;
                prefetch(list, slot)
            }
            Some((list, slot)) => reset_list(list, slot),
            None => vec![],
        },
        Action::Bottom => match current_list(state) {
            Some((list, slot)) => jump_to_end(list, slot),
            None => vec![],
        },
        Action::SortNext => match current_list(state) {
            Some((list, slot)) => sort_next(list, slot, &SortColumn::ALL),
            None => vec![],
        },
        Action::SortReverse => match current_list(state) {
            Some((list, slot)) => {
                list.query.descending = !list.query.descending;
                reset_list(list, slot)
            }
            None => vec![],
        },
        Action::Yank => {
            let id = current_list(state).and_then(|(l, _)| l.selected().map(|r| r.id.clone()));
            match id {
                Some(id) => {
                    state.say(
                        Severity::Success,
                        format!("copied {id} to the clipboard (OSC 52)"),
                    );
                    state.clipboard = Some(id);
                }
                None => state.say(Severity::Warning, "nothing selected to copy"),
            }
            vec![]
        }
        Action::Refresh => refresh(state),
        _ => vec![],
    }
}

/// Reload what the current screen shows (other agents' changes).
pub fn refresh(state: &mut AppState) -> Vec<Effect> {
    let mut fx = vec![Effect::Request(Request::Probe)];
    if let Some((list, slot)) = current_list(state) {
        if list.loading {
            return fx;
        }
        // Reload the window from its first row, keeping the cursor where it is.
        let mut q = list.query.clone();
        q.limit = list.rows.len().clamp(PAGE, WINDOW);
        q.seek = match list.rows.first() {
            Some(first) => Seek::From(first.key.clone()),
            None => Seek::First,
        };
        list.loading = true;
        fx.push(Effect::Request(Request::Page {
            slot,
            gen: list.gen,
            kind: PageKind::Reload,
            query: q.clone(),
        }));
        fx.push(Effect::Request(Request::Count {
            slot,
            gen: list.gen,
            query: q,
        }));
    }
    fx
}

fn confirmed(state: &mut AppState, what: ConfirmAction) -> Vec<Effect> {
    match what {
        ConfirmAction::Quit => {
            state.quit = true;
            vec![]
        }
        ConfirmAction::CancelJob | ConfirmAction::ActivateModel(_) => vec![],
    }
}

fn filter_input(state: &mut AppState, action: Action) -> Vec<Effect> {
    if matches!(action, Action::Input(InputKey::Submit | InputKey::Cancel)) {
        state.mode = Mode::Normal;
    }
    let Some((list, slot)) = current_list(state) else {
        state.mode = Mode::Normal;
        return vec![];
    };
    let mut text = list.query.filter.clone().unwrap_or_default();
    match action {
        Action::Input(InputKey::Char(c)) => text.push(c),
        Action::Input(InputKey::Backspace) => {
            text.pop();
        }
        Action::Input(InputKey::Clear) => text.clear(),
        Action::Input(InputKey::Submit) => return vec![],
        Action::Input(InputKey::Cancel) => {
            if list.query.filter.is_some() {
                list.query.filter = None;
                return reset_list(list, slot);
            }
            return vec![];
        }
        _ => return vec![],
    }
    list.query.filter = if text.is_empty() { None } else { Some(text) };
    reset_list(list, slot)
}

fn command_input(state: &mut AppState, action: Action, mut text: String) -> Vec<Effect> {
    match action {
        Action::Input(InputKey::Char(c)) => text.push(c),
        Action::Input(InputKey::Backspace) if text.pop().is_none() => {
            state.mode = Mode::Normal;
            return vec![];
        }
        Action::Input(InputKey::Clear) => text.clear(),
        Action::Input(InputKey::Cancel) => {
            state.mode = Mode::Normal;
            return vec![];
        }
        Action::Input(InputKey::Submit) => {
            state.mode = Mode::Normal;
            return run_command(state, text.trim());
        }
        _ => {}
    }
    state.mode = Mode::Command(text);
    vec![]
}

/// `:` commands.
pub fn run_command(state: &mut AppState, line: &str) -> Vec<Effect> {
    let mut words = line.split_whitespace();
    let Some(cmd) = words.next() else {
        return vec![];
    };
    let rest: Vec<&str> = words.collect();
    match cmd {
        "q" | "quit" => update(state, Action::Quit),
        "help" | "h" => {
            state.mode = Mode::Help(0);
            vec![]
        }
        "sort" => {
            let Some((list, slot)) = current_list(state) else {
                return vec![];
            };
            let want = rest.join(" ");
            match SortColumn::ALL
                .iter()
                .find(|c| c.title().eq_ignore_ascii_case(&want))
            {
                Some(c) => {
                    list.query.sort = *c;
                    reset_list(list, slot)
                }
                None => {
                    let names: Vec<&str> = SortColumn::ALL.iter().map(|c| c.title()).collect();
                    state.say(
                        Severity::Warning,
                        format!("sort by one of: {}", names.join(", ")),
                    );
                    vec![]
                }
            }
        }
        "filter" => {
            let Some((list, slot)) = current_list(state) else {
                return vec![];
            };
            let text = rest.join(" ");
            list.query.filter = if text.is_empty() { None } else { Some(text) };
            reset_list(list, slot)
        }
        other => {
            state.say(
                Severity::Warning,
                format!("unknown command :{other} (try :help)"),
            );
            vec![]
        }
    }
}

/// Handle a reply from the worker.
pub fn on_response(state: &mut AppState, resp: Response) -> Vec<Effect> {
    match resp {
        Response::Probe { customers } => {
            state.empty_db = Some(customers == 0);
            vec![]
        }
        Response::Page {
            slot,
            gen,
            kind,
            rows,
        } => {
            let list = match slot {
                Slot::Customers => &mut state.customers,
            };
            if gen != list.gen {
                return vec![];
            }
            apply_page(list, slot, kind, rows)
        }
        Response::Count { slot, gen, total } => {
            let list = match slot {
                Slot::Customers => &mut state.customers,
            };
            if gen == list.gen {
                list.total = Some(total);
                if list.base.is_none() && list.reached_end {
                    list.base = Some(total - list.rows.len() as i64);
                }
            }
            vec![]
        }
        Response::Failed { what, message } => {
            state.customers.loading = false;
            state.say(Severity::Error, format!("{what}: {message}"));
            vec![]
        }
    }
}
