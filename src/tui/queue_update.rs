//! The feedback screen's part of the update: queue pages, the opened item,
//! marks and the review actions (claim, assign, pending, resolve,
//! escalate, reopen), on the marked items in one transaction, else on the
//! opened item, else on the selected one.

use super::action::Action;
use super::app::{AppState, OpenedItem, PromptPurpose, Screen, Severity};
use super::queue_prompt::ask;
pub use super::queue_prompt::{assign_confirmed, on_agents, prompt_input};
use super::update::Effect;
use super::worker::{DetailView, Request};
use crate::analytics::workflow::Act;
use crate::store::audit::Entry;
use crate::store::feedback::QueueItem;
use crate::store::workflow::{Outcome, Target};

fn request(r: Request) -> Effect {
    Effect::Request(r)
}

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
    // A page further down the queue (beyond the first QUEUE_PAGE items)
    // starts where it was asked to: the cursor was set relative to it.
    let moved = q.offset != q.requested_offset;
    q.offset = q.requested_offset;
    // Others' changes shrank the queue below this page: show its end.
    if items.is_empty() && q.offset > 0 && total > 0 {
        let end = (total - super::update::QUEUE_PAGE).max(0);
        q.cursor = (total - 1 - end).max(0) as usize;
        return super::loading::load_queue(state, end);
    }
    q.items = items;
    q.total = Some(total);
    q.kinds = kinds;
    q.channels = channels;
    // Keep the cursor on the same item when it is still in the page
    // (others' changes move items around it). Right after one's own change
    // from the list, it follows that item if it is still listed, else the
    // row stays (the next item comes under it).
    let follow = q.follow.take();
    let at = |fid: Option<i64>| fid.and_then(|f| q.items.iter().position(|it| it.fid == f));
    if std::mem::take(&mut q.hold_row) {
        if let Some(i) = at(follow) {
            q.cursor = i;
        }
    } else if moved {
    } else if let Some(i) = at(selected) {
        q.cursor = i;
    }
    q.cursor = q.cursor.min(q.items.len().saturating_sub(1));
    // Marks of items that left the queue are dropped (once the whole queue,
    // unfiltered, is in view: a search or filter hides items, it does not
    // remove them).
    if q.offset == 0
        && (q.items.len() as i64) == total
        && q.filter == crate::store::feedback::QueueFilter::All
    {
        let present: std::collections::BTreeSet<i64> = q.items.iter().map(|i| i.fid).collect();
        q.marked.retain(|f, _| present.contains(f));
    }
    vec![]
}

/// An opened item (and its customer) arrived.
pub fn on_item(
    state: &mut AppState,
    gen: u64,
    item: Option<Box<QueueItem>>,
    history: Vec<Entry>,
    customer: Option<Box<DetailView>>,
) -> Vec<Effect> {
    let Some(o) = state.queue.opened.as_mut().filter(|o| o.gen == gen) else {
        return vec![];
    };
    o.loading = false;
    if item.is_none() {
        state.queue.opened = None;
        state.say(Severity::Warning, "that item no longer exists");
        return vec![];
    }
    o.item = item;
    o.history = history;
    o.customer = customer;
    vec![]
}

/// Open an item: its text, history and customer beside it.
pub fn open_item(state: &mut AppState, fid: i64) -> Vec<Effect> {
    state.queue.gen_item += 1;
    let gen = state.queue.gen_item;
    // Keep what is shown while the same item reloads.
    match state.queue.opened.as_mut().filter(|o| o.fid == fid) {
        Some(o) => {
            o.gen = gen;
            o.loading = true;
        }
        None => {
            state.queue.item_scroll = 0;
            state.queue.opened = Some(OpenedItem {
                fid,
                gen,
                item: None,
                history: vec![],
                customer: None,
                loading: true,
            })
        }
    }
    vec![request(Request::QueueItem {
        gen,
        fid,
        sla: state.config.sla.clone(),
        now: state.now,
    })]
}

/// Reload the open item and the page (after a change, or a refresh).
pub fn reload(state: &mut AppState) -> Vec<Effect> {
    let mut fx = Vec::new();
    if let Some(fid) = state.queue.opened.as_ref().map(|o| o.fid) {
        fx.extend(open_item(state, fid));
    }
    let off = state.queue.requested_offset;
    fx.extend(super::update::load_queue(state, off));
    fx
}

/// The items an action applies to, with the versions the agent saw: the
/// opened one (marks belong to the list, which is not on screen then), else
/// the marked ones, else the selected one.
pub(super) fn targets(state: &AppState) -> Vec<Target> {
    let q = &state.queue;
    if !q.marked.is_empty() && q.opened.is_none() {
        return q
            .marked
            .iter()
            .map(|(&fid, &version)| Target {
                fid,
                version: Some(version),
            })
            .collect();
    }
    if let Some(o) = &q.opened {
        return match &o.item {
            Some(it) => vec![Target {
                fid: it.fid,
                version: Some(it.version),
            }],
            None => vec![],
        };
    }
    q.selected()
        .map(|it| Target {
            fid: it.fid,
            version: Some(it.version),
        })
        .into_iter()
        .collect()
}

/// A loaded item by its key (the list, or the opened item).
pub(super) fn item_of(state: &AppState, fid: i64) -> Option<&crate::store::feedback::QueueItem> {
    let q = &state.queue;
    q.items.iter().find(|i| i.fid == fid).or_else(|| {
        q.opened
            .as_ref()
            .and_then(|o| o.item.as_deref())
            .filter(|i| i.fid == fid)
    })
}

/// Refuse a change in read-only mode, saying why (true: refused).
pub(super) fn refuse_read_only(state: &mut AppState) -> bool {
    if state.read_only {
        state.say(Severity::Warning, READ_ONLY_QUEUE);
    }
    state.read_only
}

const READ_ONLY_QUEUE: &str = "read-only (--read-only): the queue cannot be changed";

/// The items an action will change, or None (said why) when read-only or
/// nothing is selected.
pub(super) fn act_targets(state: &mut AppState) -> Option<Vec<Target>> {
    if refuse_read_only(state) {
        return None;
    }
    let targets = targets(state);
    if targets.is_empty() {
        state.say(Severity::Warning, "no item selected");
        return None;
    }
    Some(targets)
}

pub(super) fn send_act(state: &mut AppState, act: Act) -> Vec<Effect> {
    let Some(targets) = act_targets(state) else {
        return vec![];
    };
    send_act_to(state, act, targets)
}

/// `act` on `targets` (their versions those the agent acted on).
pub(super) fn send_act_to(state: &mut AppState, act: Act, targets: Vec<Target>) -> Vec<Effect> {
    state.queue.acting = true;
    state.queue.hold_row = state.queue.opened.is_none();
    state.queue.follow = match targets.as_slice() {
        [one] if state.queue.opened.is_none() => Some(one.fid),
        _ => None,
    };
    state.queue.acting_on = targets.iter().map(|t| t.fid).collect();
    vec![request(Request::QueueAct {
        targets,
        act,
        agent: state.agent.clone(),
        now: state.now,
    })]
}

/// `u`: undo this agent's last change, if nobody changed the item since.
fn undo(state: &mut AppState) -> Vec<Effect> {
    if refuse_read_only(state) {
        return vec![];
    }
    let Some((fid, version, id)) = state.queue.last_done.clone() else {
        state.say(Severity::Info, "nothing to undo");
        return vec![];
    };
    // With an item opened, `u` is about that item: the last change of
    // another one is not undone out of sight.
    if let Some(open) = state.queue.opened.as_ref().filter(|o| o.fid != fid) {
        let here = open
            .item
            .as_ref()
            .map_or_else(String::new, |i| format!(" on {}", i.id));
        state.say(
            Severity::Info,
            format!("nothing of yours to undo{here}; your last change was of {id} (Esc, then u)"),
        );
        return vec![];
    }
    state.say(Severity::Info, format!("undoing your last change of {id}…"));
    state.queue.acting = true;
    state.queue.acting_on = vec![fid];
    state.queue.last_done = None;
    vec![request(Request::QueueUndo {
        fid,
        version,
        agent: state.agent.clone(),
        now: state.now,
    })]
}

pub fn queue_action(state: &mut AppState, action: Action) -> Vec<Effect> {
    if state.screen != Screen::Feedback {
        return vec![];
    }
    match action {
        Action::Mark => {
            if state.queue.opened.is_some() {
                state.say(
                    Severity::Info,
                    "Space marks items in the list; Esc goes back to it",
                );
                return vec![];
            }
            if let Some((fid, version)) = state.queue.selected().map(|i| (i.fid, i.version)) {
                if state.queue.marked.remove(&fid).is_none() {
                    state.queue.marked.insert(fid, version);
                }
                // Marking moves on, as in a file manager.
                let q = &mut state.queue;
                if q.cursor + 1 < q.items.len() {
                    q.cursor += 1;
                }
            }
            vec![]
        }
        Action::FeedbackNext => {
            if refuse_read_only(state) {
                return vec![];
            }
            state.queue.acting = true;
            vec![request(Request::QueueNext {
                agent: state.agent.clone(),
                sla: state.config.sla.clone(),
                now: state.now,
            })]
        }
        Action::Claim => send_act(state, Act::Claim),
        Action::Pending => send_act(state, Act::Pending),
        Action::Reopen => send_act(state, Act::Reopen),
        Action::Release => send_act(state, Act::Release),
        Action::Close => send_act(state, Act::Close),
        Action::Undo => undo(state),
        Action::Assign => ask(state, "assign to", PromptPurpose::Assign),
        Action::Resolve => ask(state, "resolution note", PromptPurpose::Resolve),
        Action::Escalate => ask(state, "escalation reason", PromptPurpose::Escalate),
        Action::AddNote => ask(state, "note", PromptPurpose::Note),
        _ => vec![],
    }
}

/// The answer to a workflow action: what was done, and each item another
/// agent holds or changed (those are reloaded).
pub fn on_acted(state: &mut AppState, act: &str, outcomes: Vec<Outcome>) -> Vec<Effect> {
    state.queue.acting = false;
    let on = std::mem::take(&mut state.queue.acting_on);
    let done: Vec<&Outcome> = outcomes.iter().filter(|o| o.is_done()).collect();
    let problems: Vec<String> = outcomes
        .iter()
        .filter(|o| !o.is_done())
        .map(Outcome::message)
        .collect();
    // Every outcome goes to the message log (`:messages`); marked items
    // that were changed are unmarked, those that were not stay marked, so
    // the agent sees which and can retry (marks an action on the opened
    // item did not touch stay too).
    for (i, o) in outcomes.iter().enumerate() {
        let sev = if o.is_done() {
            Severity::Success
        } else {
            Severity::Warning
        };
        state.log(sev, format!("{act}: {}", o.message_for(act)));
        if o.is_done() {
            if let Some(fid) = on.get(i) {
                state.queue.marked.remove(fid);
            }
        }
    }
    // The last change of one item can be undone (`u`). A note is not a
    // change of the item's state and cannot be undone; after one, `u` has
    // nothing to undo (it undid an earlier change, maybe of another item,
    // or met the note's own new version).
    if act == "note" {
        state.queue.last_done = None;
    }
    if act != "undo" && act != "note" && outcomes.len() == 1 {
        if let (Some(Outcome::Done { id, version, .. }), Some(fid)) = (outcomes.first(), on.first())
        {
            state.queue.last_done = Some((*fid, *version, id.clone()));
        }
    }
    // A typed note or reason saved is forgotten; one refused stays for the
    // same prompt on the same items, and the agent is told how to send it.
    let mut kept_hint = String::new();
    if let Some(d) = &state.queue.draft {
        // (Another change of the same items, a claim or a pending, keeps it.)
        if let Some((_, opens)) = d.purpose.kept_as().filter(|(name, _)| *name == act) {
            if d.fids == on {
                if problems.is_empty() {
                    state.queue.draft = None;
                } else if let Some(k) = state.keymap.key_of(Screen::Feedback, &opens) {
                    kept_hint = format!(" ({k} brings back your text)");
                }
            }
        }
    }
    let summary = match (done.len(), outcomes.len()) {
        (1, 1) => done[0].message_for(act),
        (d, n) => format!("{act}: {d} of {n} done"),
    };
    let undo_hint = if state.queue.last_done.is_some() && act != "undo" && act != "note" {
        " (u undoes)"
    } else {
        ""
    };
    if problems.is_empty() {
        // The log already has each outcome: only the status line here.
        state.status = Some(super::app::StatusMsg {
            text: format!("{summary}{undo_hint}"),
            severity: Severity::Success,
            at: state.now,
        });
    } else {
        let text = if done.is_empty() && problems.len() == 1 {
            problems[0].clone()
        } else if problems.len() > 2 {
            format!(
                "{summary}; {} not done, still marked (:messages lists each)",
                problems.len()
            )
        } else {
            format!("{summary}; {}", problems.join("; "))
        };
        let text = format!("{text}{kept_hint}");
        // The log already has each outcome: only the status line here.
        state.status = Some(super::app::StatusMsg {
            text,
            severity: Severity::Warning,
            at: state.now,
        });
    }
    reload(state)
}

/// The answer to `n`.
pub fn on_next(state: &mut AppState, claimed: Option<(i64, Outcome)>) -> Vec<Effect> {
    state.queue.acting = false;
    match claimed {
        Some((fid, outcome)) => {
            // A take is a change of the item like a claim: `u` gives it
            // back (through the same version check), as after `c`.
            if let Outcome::Done { id, version, .. } = &outcome {
                state.queue.last_done = Some((fid, *version, id.clone()));
            }
            // `t` takes the top of the whole queue, as `crmtop feedback
            // next` does: with a filter on, say so (an agent filtering to
            // complaints took a question and could not tell why).
            let scope = match state.queue.filter {
                crate::store::feedback::QueueFilter::All => "",
                _ => " · top of the whole queue: t ignores the filter",
            };
            state.say(
                Severity::Success,
                format!("next: {} (u undoes){scope}", outcome.message()),
            );
            let mut fx = open_item(state, fid);
            let off = state.queue.requested_offset;
            fx.extend(super::update::load_queue(state, off));
            fx
        }
        None => {
            state.say(Severity::Info, "the queue has nothing left to take");
            vec![]
        }
    }
}
