//! The pure update: `(state, action) -> effects`. Never touches SQLite, the
//! terminal or the clock (the main loop sets `state.now`); the worker and the
//! main loop carry out the effects.

use super::action::{Action, InputKey};
use super::app::{AppState, Confirm, ConfirmAction, Mode, Screen, Severity};
pub(crate) use super::list_update::{
    current_list, jump_to_end, keep_visible, list_mut, move_by, page_move, prefetch, request,
    reset_list, resort_list, sort_next,
};
pub(crate) use super::loading::{
    advice_request_gen, clv_spec, enter_screen, init, invalidate, load_queue, open_detail, refresh,
    retrain_spec, start_job,
};
use super::navigation::{
    filter_input, navigate, next_match, open, queue_move, scroll_by, scroll_sideways,
};
pub use super::response_update::on_response;
use super::worker::{JobSpec, Request, Slot};
use crate::analytics::rfm;

#[derive(Debug, Clone)]
pub enum Effect {
    Request(Request),
}

/// Screens in tab order.
pub fn screens() -> &'static [Screen] {
    &Screen::ALL
}

/// Rows a queue page holds.
pub const QUEUE_PAGE: i64 = 200;

/// Handle one action.
pub fn update(state: &mut AppState, action: Action) -> Vec<Effect> {
    match action {
        Action::Tick => {
            state.tick += 1;
            if let Some(s) = &state.status {
                // Messages fade after a few seconds (not while a job runs:
                // its progress is there).
                if state.now - s.at >= super::app::STATUS_SECS && state.job.is_none() {
                    state.status = None;
                }
            }
            return vec![];
        }
        Action::Resize(w, h) => {
            state.width = w;
            state.height = h;
            for (slot, screen) in [
                (Slot::Customers, Screen::Customers),
                (Slot::Churn, Screen::Churn),
                (Slot::Clv, Screen::Clv),
            ] {
                let rows = super::layout::visible_rows(screen, w, h);
                let l = list_mut(state, slot);
                l.visible_rows = rows;
                keep_visible(l);
            }
            state.queue.visible_rows = super::layout::visible_rows(Screen::Feedback, w, h);
            return vec![];
        }
        _ => {}
    }
    // Below the minimum size the screen shows one line saying what size it
    // needs, so no key may act on what cannot be seen (but q quits).
    if state.too_small() && !matches!(action, Action::Quit) {
        return vec![];
    }
    match state.mode.clone() {
        Mode::Filter(cursor) => return filter_input(state, action, cursor),
        Mode::Command(line) => return super::commands::command_input(state, action, line),
        Mode::Help(scroll) => {
            state.mode = match scroll_by(state, scroll, &action) {
                Some(s) => Mode::Help(s),
                None if closes_overlay(&action) => Mode::Normal,
                None => Mode::Help(scroll),
            };
            return vec![];
        }
        Mode::Confirm(c) => {
            // y confirms; n, Esc (and q) say no; any other key is ignored
            // and the question stays: keys typed on must not carry on into
            // the screen behind it.
            match action {
                Action::Input(InputKey::Char('y' | 'Y')) => {
                    state.mode = Mode::Normal;
                    return confirmed(state, c.on_yes);
                }
                Action::Input(InputKey::Char('n' | 'N'))
                | Action::Input(InputKey::Cancel)
                | Action::Back
                | Action::Quit => {
                    state.mode = Mode::Normal;
                    state.say(Severity::Info, "nothing done");
                }
                _ => {}
            }
            return vec![];
        }
        Mode::Prompt(_) => return super::queue_update::prompt_input(state, action),
        Mode::Holdout | Mode::Matrices | Mode::Survival | Mode::Cohorts => {
            // Esc, q or Enter close it; other keys do nothing (typed on,
            // they must not act on the screen behind).
            if closes_overlay(&action) {
                state.mode = Mode::Normal;
            }
            return vec![];
        }
        Mode::Messages(scroll) => {
            state.mode = match scroll_by(state, scroll, &action) {
                Some(s) => Mode::Messages(s),
                None if closes_overlay(&action) => Mode::Normal,
                None => Mode::Messages(scroll),
            };
            return vec![];
        }
        Mode::Normal => {}
    }
    match action {
        Action::Quit => {
            if state.job.is_some() {
                state.mode = Mode::Confirm(Confirm {
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
                ask_cancel(state);
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
            state.detail = None;
            state.screen = s;
            enter_screen(state)
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
            state.detail = None;
            state.screen = all[j];
            enter_screen(state)
        }
        Action::StartFilter => {
            if current_list(state).is_some()
                || (state.screen == Screen::Feedback && state.detail.is_none())
            {
                state.queue.search_fresh = state.screen == Screen::Feedback;
                // The cursor at the end of what is there.
                let typed = match current_list(state) {
                    Some((list, _)) => list.query.filter.as_deref().unwrap_or_default(),
                    None => state.queue.search.as_str(),
                };
                state.mode = Mode::Filter(typed.chars().count());
            } else {
                state.say(
                    Severity::Info,
                    "this screen has no filter (try f on the queue or the CLV screen)",
                );
            }
            vec![]
        }
        Action::StartCommand => {
            state.mode = Mode::Command(Default::default());
            vec![]
        }
        Action::Back => {
            if state.detail.is_some() {
                state.detail = None;
                return vec![];
            }
            if state.job.is_some() {
                ask_cancel(state);
                return vec![];
            }
            if state.screen == Screen::Models && state.models.comparing {
                state.models.comparing = false;
                state.models.compare = None;
                return vec![];
            }
            if state.screen == Screen::Feedback && state.queue.opened.is_some() {
                // Back to the list on the item one was working (`t` and
                // `:goto` open items away from the cursor), when listed.
                let q = &mut state.queue;
                let fid = q.opened.take().and_then(|o| o.item).map(|it| it.fid);
                if let Some(i) = fid.and_then(|f| q.items.iter().position(|it| it.fid == f)) {
                    q.cursor = i;
                }
                return vec![];
            }
            if state.screen == Screen::Campaigns && super::campaign_update::back(state) {
                return vec![];
            }
            if state.screen == Screen::Feedback && !state.queue.marked.is_empty() {
                state.queue.marked.clear();
                state.say(Severity::Info, "marks cleared");
                return vec![];
            }
            if state.screen == Screen::Feedback && !state.queue.search.is_empty() {
                return super::queue_filter::set_search(state, String::new());
            }
            if state.screen == Screen::Feedback {
                // Then the filters (`f`, `:filter`); the status shown stays.
                use crate::store::feedback::QueueFilter as F;
                let kept = state
                    .queue
                    .filter
                    .with(|p| !matches!(p, F::Status(_)), None);
                if kept != state.queue.filter {
                    return super::queue_filter::set_filter(state, kept);
                }
            }
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
        | Action::HalfPageDown => navigate(state, action),
        Action::Top | Action::Bottom
            if state.detail.is_some()
                || (state.screen == Screen::Feedback && state.queue.opened.is_some()) =>
        {
            navigate(state, action)
        }
        Action::Top | Action::Bottom if super::campaign_update::active(state) => {
            super::campaign_update::navigate(state, &action)
        }
        Action::ScrollLeft | Action::ScrollRight => scroll_sideways(state, &action),
        Action::Top => match current_list(state) {
            Some((list, slot)) if list.reached_start => {
                list.cursor = 0;
                list.offset = 0;
                prefetch(list, slot)
            }
            Some((list, slot)) => reset_list(list, slot),
            None => match state.screen {
                Screen::Feedback => queue_move(state, i64::MIN / 4),
                Screen::Models => {
                    state.models.cursor = 0;
                    vec![]
                }
                _ => vec![],
            },
        },
        Action::Bottom => match current_list(state) {
            Some((list, slot)) => jump_to_end(list, slot),
            None => match state.screen {
                Screen::Feedback => queue_move(state, i64::MAX / 4),
                Screen::Models => {
                    state.models.cursor = state.models.rows.len().saturating_sub(1);
                    vec![]
                }
                _ => vec![],
            },
        },
        Action::SortNext => match current_list(state) {
            Some((list, slot)) => sort_next(list, slot),
            None => super::queue_filter::no_sort(state),
        },
        Action::SortReverse => match current_list(state) {
            Some((list, slot)) => {
                list.query.descending = !list.query.descending;
                resort_list(list, slot)
            }
            None => super::queue_filter::no_sort(state),
        },
        Action::Open => open(state),
        Action::Yank => {
            let id = match state.screen {
                _ if state.detail.is_some() => state
                    .detail
                    .as_ref()
                    .and_then(|d| d.view.as_ref().map(|v| v.detail.profile.id.clone())),
                Screen::Feedback => state.queue.selected().map(|i| i.id.clone()),
                Screen::Models => state.models.selected().map(|m| format!("v{}", m.id)),
                Screen::Dashboard => state
                    .dashboard
                    .as_ref()
                    .and_then(|d| d.agg.top_at_risk.first().map(|t| t.id.clone())),
                _ => current_list(state).and_then(|(l, _)| l.selected().map(|r| r.id.clone())),
            };
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
        Action::Retrain => {
            let spec = if state.screen == Screen::Clv {
                clv_spec(state)
            } else {
                retrain_spec(state)
            };
            start_job(state, spec)
        }
        Action::CycleBand => {
            if state.screen != Screen::Churn {
                return vec![];
            }
            state.band = state.band.next();
            let (m, h) = (state.config.thresholds.medium, state.config.thresholds.high);
            state.churn.query.churn_band = state.band.range(m, h);
            reset_list(&mut state.churn, Slot::Churn)
        }
        Action::CycleSegment => {
            if state.screen != Screen::Clv {
                return vec![];
            }
            state.segment_filter = match state.segment_filter {
                None => Some(0),
                Some(i) if i + 1 < rfm::SEGMENTS.len() => Some(i + 1),
                Some(_) => None,
            };
            state.clv.query.rfm_segment =
                state.segment_filter.map(|i| rfm::SEGMENTS[i].to_string());
            reset_list(&mut state.clv, Slot::Clv)
        }
        Action::Activate => {
            if state.screen != Screen::Models {
                return vec![];
            }
            if state.read_only {
                state.say(
                    Severity::Warning,
                    "read-only (--read-only): activating a model is disabled",
                );
                return vec![];
            }
            match state.models.selected() {
                Some(m) if m.active => {
                    state.say(Severity::Info, format!("v{} is already active", m.id));
                    vec![]
                }
                Some(m) => {
                    let id = m.id;
                    state.mode = Mode::Confirm(Confirm {
                        question: format!("Activate model v{id}? Every customer's churn score changes to its scores. (y/n)"),
                        on_yes: ConfirmAction::ActivateModel(id),
                    });
                    vec![]
                }
                None => vec![],
            }
        }
        Action::Compare => {
            if state.screen != Screen::Models {
                return vec![];
            }
            let Some(sel) = state.models.selected().map(|m| m.id) else {
                return vec![];
            };
            match state.models.compare {
                None => {
                    state.models.compare = Some(sel);
                    state.models.comparing = false;
                    state.say(
                        Severity::Info,
                        format!("comparing v{sel} with…: select another version and press c"),
                    );
                }
                Some(first) if first == sel => {
                    state.models.compare = None;
                    state.say(Severity::Info, "comparison cleared");
                }
                Some(_) => state.models.comparing = true,
            }
            vec![]
        }
        Action::CycleQueueFilter => {
            if state.screen == Screen::Feedback {
                return super::queue_filter::cycle_filter(state);
            }
            vec![]
        }
        Action::CycleStatus => {
            if state.screen == Screen::Feedback {
                return super::queue_filter::cycle_status(state);
            }
            vec![]
        }
        Action::NextMatch => next_match(state, true),
        Action::PrevMatch => next_match(state, false),
        Action::FeedbackNext
        | Action::Close
        | Action::RecordOutcome(_)
        | Action::CampaignView
        | Action::CampaignRelease
            if super::campaign_update::active(state) =>
        {
            super::campaign_update::action(state, action)
        }
        Action::Mark
        | Action::FeedbackNext
        | Action::Claim
        | Action::Assign
        | Action::Pending
        | Action::Resolve
        | Action::Escalate
        | Action::AddNote
        | Action::Reopen
        | Action::Release
        | Action::Close
        | Action::Undo => super::queue_update::queue_action(state, action),
        Action::Refresh => refresh(state),
        _ => vec![],
    }
}

fn ask_cancel(state: &mut AppState) {
    state.mode = Mode::Confirm(Confirm {
        question: "Cancel the running job? Nothing it did is kept. (y/n)".into(),
        on_yes: ConfirmAction::CancelJob,
    });
}

/// The keys that close an overlay (help, messages, holdout, matrices).
fn closes_overlay(action: &Action) -> bool {
    matches!(
        action,
        Action::Back | Action::Quit | Action::Open | Action::Help | Action::Input(InputKey::Cancel)
    )
}

fn confirmed(state: &mut AppState, what: ConfirmAction) -> Vec<Effect> {
    match what {
        ConfirmAction::Quit => {
            state.quit = true;
            vec![request(Request::CancelJob)]
        }
        ConfirmAction::CancelJob => {
            if let Some(j) = state.job.as_mut() {
                j.cancelling = true;
            }
            state.say(
                Severity::Info,
                "cancel sent: the job stops at its next check and keeps nothing",
            );
            vec![request(Request::CancelJob)]
        }
        ConfirmAction::ActivateModel(id) => start_job(state, JobSpec::ActivateModel(id)),
        ConfirmAction::AssignNew(name) => super::queue_update::assign_confirmed(state, name),
        ConfirmAction::CloseCampaign(id) => super::campaign_update::close_confirmed(state, id),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A status message fades on the clock, however few ticks came
    /// meanwhile (an idle UI ticks once per refresh; it stayed minutes).
    #[test]
    fn a_status_message_fades_after_its_seconds() {
        let mut state = AppState::new(
            "t.db".into(),
            "ann".into(),
            false,
            false,
            true,
            super::super::keymap::Keymap::defaults(),
            crate::config::Config::default(),
        );
        state.now = 1_000;
        state.say(Severity::Info, "screens reloaded");
        state.now = 1_000 + super::super::app::STATUS_SECS - 1;
        update(&mut state, Action::Tick);
        assert!(state.status.is_some());
        state.now = 1_000 + super::super::app::STATUS_SECS;
        update(&mut state, Action::Tick);
        assert!(state.status.is_none());
    }
}
