//! What the feedback queue shows: its search (`/`), its status (`S`,
//! `:status`), its filters (`f`, `:filter kind=… mine overdue`), each a
//! part of one `QueueFilter` the filter bar shows.

use super::action::{Action, InputKey};
use super::app::{AppState, Screen, Severity};
use super::update::{load_queue, Effect};

/// `/` on the queue: the search, live, over item ids, customer ids and
/// names and the items' text (full-text index), within the status shown.
pub fn search_input(state: &mut AppState, action: Action, cursor: usize) -> Vec<Effect> {
    let fresh = std::mem::take(&mut state.queue.search_fresh);
    let mut text = state.queue.search.clone();
    let mut cursor = cursor;
    match &action {
        // A new `/` starts a new search, as in less and vi.
        Action::Input(InputKey::Char(c)) if fresh => {
            text = c.to_string();
            state.mode = super::app::Mode::Filter(1);
        }
        Action::Input(InputKey::Submit) => return vec![],
        // (`filter_input` has left the line.)
        Action::Input(InputKey::Cancel) => text.clear(),
        Action::Input(key) => {
            let edit = super::line::apply(&mut text, &mut cursor, key);
            state.mode = super::app::Mode::Filter(cursor);
            if edit != super::line::Edit::Changed {
                return vec![];
            }
        }
        _ => return vec![],
    }
    set_search(state, text)
}

pub fn set_search(state: &mut AppState, text: String) -> Vec<Effect> {
    use crate::store::feedback::QueueFilter as F;
    let t = text.trim().to_string();
    let part = match (t.is_empty(), state.mask_pii) {
        (true, _) => None,
        (false, true) => Some(F::TextNoNames(t)),
        (false, false) => Some(F::Text(t)),
    };
    state.queue.search = text;
    let next = state
        .queue
        .filter
        .with(|p| matches!(p, F::Text(_) | F::TextNoNames(_)), part);
    set_filter(state, next)
}

/// Show the queue with another filter, from its top.
pub fn set_filter(
    state: &mut AppState,
    filter: crate::store::feedback::QueueFilter,
) -> Vec<Effect> {
    state.queue.filter = filter;
    state.queue.cursor = 0;
    state.queue.items.clear();
    state.queue.total = None;
    load_queue(state, 0)
}

/// `:filter` on the queue: `kind=complaint channel=email status=resolved
/// assignee=bob mine unassigned overdue escalated`, other words search.
/// An empty `:filter` clears every part.
pub fn parse(
    words: &[&str],
    channels: &[String],
) -> Result<(crate::store::feedback::QueueFilter, String), String> {
    use crate::store::feedback::QueueFilter as F;
    const STATUSES: &[&str] = &[
        "new",
        "open",
        "pending",
        "escalated",
        "resolved",
        "closed",
        "any",
    ];
    let mut parts = Vec::new();
    let mut text = Vec::new();
    for w in words {
        match w.split_once('=') {
            Some(("kind", v)) => {
                if !crate::analytics::priority::KINDS.contains(&v) {
                    return Err(format!(
                        "kind={v}: one of {}",
                        crate::analytics::priority::KINDS.join(", ")
                    ));
                }
                parts.push(F::Kind(v.to_string()))
            }
            Some(("channel", v)) => {
                if !channels.is_empty() && !channels.iter().any(|c| c == v) {
                    return Err(format!("channel={v}: none in the queue ({})", channels.join(", ")));
                }
                parts.push(F::Channel(v.to_string()))
            }
            Some(("status", v)) => {
                // "all" is what people type for "any".
                let v = if v == "all" { "any" } else { v };
                if !STATUSES.contains(&v) {
                    return Err(format!("status={v}: one of {}", STATUSES.join(", ")));
                }
                parts.push(F::Status(v.to_string()))
            }
            Some(("assignee", v)) => parts.push(F::Assignee(v.to_string())),
            Some((k, _)) => {
                return Err(format!(
                    "{k}=: filter by kind=, channel=, status=, assignee=, or the words mine, unassigned, overdue, escalated"
                ))
            }
            None => match *w {
                "mine" => parts.push(F::Mine),
                "unassigned" => parts.push(F::Unassigned),
                "overdue" => parts.push(F::Overdue),
                "escalated" => parts.push(F::Status("escalated".into())),
                "all" | "open" if words.len() == 1 => {}
                other => text.push(other.to_string()),
            },
        }
    }
    let text = text.join(" ");
    if !text.is_empty() {
        parts.push(F::Text(text.clone()));
    }
    let filter = match parts.len() {
        0 => F::All,
        1 => parts.pop().unwrap_or_default(),
        _ => F::Every(parts),
    };
    Ok((filter, text))
}

/// What a sort on the queue is told (`s`, `S`, `:sort`): its order is its
/// priority, read in pages in that order.
pub const QUEUE_ORDER: &str =
    "the queue is in priority order (resolved, closed, any: newest first); f or :filter narrows it";

/// A sort key on a screen without a sortable list: on the queue, said,
/// elsewhere nothing.
pub fn no_sort(state: &mut AppState) -> Vec<Effect> {
    if state.screen == Screen::Feedback && state.detail.is_none() {
        state.say(Severity::Info, QUEUE_ORDER);
    }
    vec![]
}

/// `S` on the queue: the next status to show.
pub fn cycle_status(state: &mut AppState) -> Vec<Effect> {
    use crate::store::feedback::QueueFilter as F;
    const ORDER: &[Option<&str>] = &[
        None,
        Some("new"),
        Some("open"),
        Some("pending"),
        Some("escalated"),
        Some("resolved"),
        Some("closed"),
        Some("any"),
    ];
    let now = state.queue.filter.status().map(str::to_string);
    let i = ORDER
        .iter()
        .position(|s| s.map(str::to_string) == now)
        .unwrap_or(0);
    let next = ORDER[(i + 1) % ORDER.len()];
    let part = next.map(|s| F::Status(s.to_string()));
    let filter = state
        .queue
        .filter
        .with(|p| matches!(p, F::Status(_) | F::Escalated), part);
    state.say(
        Severity::Info,
        format!("showing {} items", next.unwrap_or("open")),
    );
    set_filter(state, filter)
}

/// `f` on the queue: the next of the usual filters, in place of the one
/// `f` set before; a status (`:status`, `S`) or a search stays, as filters
/// combine.
pub fn cycle_filter(state: &mut AppState) -> Vec<Effect> {
    use crate::store::feedback::QueueFilter as F;
    fn cycled(p: &F) -> bool {
        matches!(
            p,
            F::Mine | F::Unassigned | F::Overdue | F::Escalated | F::Kind(_) | F::Channel(_)
        )
    }
    let q = &state.queue;
    let mut all = vec![F::All, F::Mine, F::Unassigned, F::Overdue, F::Escalated];
    all.extend(q.kinds.iter().map(|k| F::Kind(k.clone())));
    all.extend(q.channels.iter().map(|c| F::Channel(c.clone())));
    let now = q.filter.parts().into_iter().find(|p| cycled(p)).cloned();
    let i = now
        .and_then(|n| all.iter().position(|f| *f == n))
        .unwrap_or(0);
    let next = all[(i + 1) % all.len()].clone();
    let part = match next {
        F::All => None,
        p => Some(p),
    };
    state.queue.filter = q.filter.with(cycled, part);
    state.queue.cursor = 0;
    state.queue.items.clear();
    load_queue(state, 0)
}
