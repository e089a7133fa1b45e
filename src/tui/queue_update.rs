//! The feedback screen's part of the update: queue pages, marks, prompts and
//! the review actions.

use super::action::{Action, InputKey};
use super::app::{AppState, Mode, Severity};
use super::update::Effect;
use crate::store::feedback::QueueItem;

/// A page of the queue arrived.
pub fn on_queue(
    state: &mut AppState,
    gen: u64,
    items: Vec<QueueItem>,
    total: i64,
    kinds: Vec<String>,
    channels: Vec<String>,
) -> Vec<Effect> {
    let q = &mut state.queue;
    if gen != q.gen {
        return vec![];
    }
    q.loading = false;
    q.quiet = false;
    let selected = q.selected().map(|i| i.fid);
    let offset_changed = items.first().map(|_| ()).is_some();
    let _ = offset_changed;
    q.items = items;
    q.total = Some(total);
    q.kinds = kinds;
    q.channels = channels;
    // Keep the cursor on the same item when it is still in the page.
    if let Some(i) = selected.and_then(|fid| q.items.iter().position(|it| it.fid == fid)) {
        q.cursor = i;
    }
    q.cursor = q.cursor.min(q.items.len().saturating_sub(1));
    // Marks of items that left the queue are dropped.
    let present: std::collections::BTreeSet<i64> = q.items.iter().map(|i| i.fid).collect();
    if q.offset == 0 && (q.items.len() as i64) == total {
        q.marked.retain(|f| present.contains(f));
    }
    vec![]
}

/// Space and the review keys.
pub fn queue_action(state: &mut AppState, action: Action) -> Vec<Effect> {
    if state.screen != super::app::Screen::Feedback {
        return vec![];
    }
    match action {
        Action::Mark => {
            if let Some(fid) = state.queue.selected().map(|i| i.fid) {
                if !state.queue.marked.remove(&fid) {
                    state.queue.marked.insert(fid);
                }
            }
            vec![]
        }
        _ => {
            state.say(
                Severity::Info,
                "queue actions arrive with the feedback workflow",
            );
            vec![]
        }
    }
}

/// Typing into a prompt.
pub fn prompt_input(state: &mut AppState, action: Action) -> Vec<Effect> {
    let Mode::Prompt(mut p) = state.mode.clone() else {
        return vec![];
    };
    match action {
        Action::Input(InputKey::Char(c)) => p.text.push(c),
        Action::Input(InputKey::Backspace) => {
            p.text.pop();
        }
        Action::Input(InputKey::Clear) => p.text.clear(),
        Action::Input(InputKey::Cancel) => {
            state.mode = Mode::Normal;
            return vec![];
        }
        Action::Input(InputKey::Submit) | Action::Input(InputKey::Complete) => {
            state.mode = Mode::Normal;
            return vec![];
        }
        _ => {}
    }
    state.mode = Mode::Prompt(p);
    vec![]
}
