//! The Campaigns screen's part of the update: the list of campaigns, an
//! opened campaign (its report and its work list), taking the next
//! customer, recording outcomes (with the same optimistic locking as the
//! queue: a change made meanwhile by another agent is refused and named),
//! and closing a campaign.

use super::action::Action;
use super::app::{
    AppState, CampaignView, CampaignsState, Confirm, ConfirmAction, Mode, OpenedCampaign, Prompt,
    PromptPurpose, Screen, Severity, WorkCard,
};
use super::update::{advice_request_gen, open_detail, request, Effect};
use super::worker::{Request, Response};
use crate::store::campaigns::WorkRow;

mod responses;

pub use responses::on_response;

/// Rows of a work-list page.
pub const WORK_PAGE: i64 = 100;

pub fn load_list(state: &mut AppState) -> Vec<Effect> {
    let c = &mut state.campaigns;
    c.gen += 1;
    c.loading = true;
    vec![request(Request::Campaigns { gen: c.gen })]
}

/// Arriving on the screen: the list, once.
pub fn enter(state: &mut AppState) -> Vec<Effect> {
    if state.campaigns.rows.is_empty() && !state.campaigns.loading {
        return load_list(state);
    }
    vec![]
}

fn load_work(o: &mut OpenedCampaign, offset: i64) -> Effect {
    o.loading = true;
    request(Request::CampaignWork {
        gen: o.gen,
        id: o.campaign.id,
        offset,
        limit: WORK_PAGE,
    })
}

/// Enter: a campaign from the list; in an opened one, the selected
/// customer's detail.
pub fn open(state: &mut AppState) -> Vec<Effect> {
    if let Some(o) = &state.campaigns.opened {
        let cid = o
            .card
            .as_ref()
            .map(|c| c.row.cid)
            .or_else(|| o.selected().map(|r| r.cid));
        return match cid {
            Some(cid) => open_detail(state, cid),
            None => vec![],
        };
    }
    let Some(c) = state.campaigns.selected().cloned() else {
        return vec![];
    };
    let cs: &mut CampaignsState = &mut state.campaigns;
    cs.gen += 1;
    let mut o = OpenedCampaign {
        campaign: c,
        gen: cs.gen,
        report: None,
        work: Vec::new(),
        offset: 0,
        pos: 0,
        loading: true,
        card: None,
        view: CampaignView::Work,
    };
    let fx = vec![
        load_work(&mut o, 0),
        request(Request::CampaignReport {
            gen: o.gen,
            id: o.campaign.id,
        }),
    ];
    cs.opened = Some(Box::new(o));
    fx
}

/// Esc: the card closes first, then the campaign. False: nothing to close.
pub fn back(state: &mut AppState) -> bool {
    let Some(o) = state.campaigns.opened.as_mut() else {
        return false;
    };
    if o.card.take().is_none() {
        state.campaigns.opened = None;
    }
    true
}

/// Rows the work list shows at the current size.
pub fn visible_rows(state: &AppState) -> i64 {
    let (_, body, _) =
        super::layout::frame(ratatui::layout::Rect::new(0, 0, state.width, state.height));
    let (working, notes) = state
        .campaigns
        .opened
        .as_ref()
        .map(|o| (o.card.is_some(), o.report_notes()))
        .unwrap_or((false, 0));
    let (_, _, lower, _) = super::layout::campaign_screen(body, working, notes);
    super::layout::table_rows(lower) as i64
}

/// j/k and the page keys: the list's cursor, or the work list's.
pub fn navigate(state: &mut AppState, action: &Action) -> Vec<Effect> {
    let page = visible_rows(state).max(1);
    let delta = match action {
        Action::Up => -1,
        Action::Down => 1,
        Action::PageUp => -page,
        Action::PageDown => page,
        Action::HalfPageUp => -(page / 2).max(1),
        Action::HalfPageDown => (page / 2).max(1),
        Action::Top => i64::MIN / 4,
        Action::Bottom => i64::MAX / 4,
        _ => 0,
    };
    let cs = &mut state.campaigns;
    let Some(o) = cs.opened.as_mut() else {
        let last = cs.rows.len().saturating_sub(1) as i64;
        cs.cursor = (cs.cursor as i64).saturating_add(delta).clamp(0, last) as usize;
        return vec![];
    };
    if o.view != CampaignView::Work {
        return vec![];
    }
    let last = (o.campaign.treatment - 1).max(0);
    o.pos = o.pos.saturating_add(delta).clamp(0, last);
    let end = o.offset + o.work.len() as i64;
    if (o.pos < o.offset || o.pos >= end) && !o.loading {
        // A page around the cursor (a little before it, to move back).
        let from = (o.pos - WORK_PAGE / 4).max(0);
        return vec![load_work(o, from)];
    }
    vec![]
}

fn refuse(state: &mut AppState) -> bool {
    if state.read_only {
        state.say(
            Severity::Warning,
            "read-only (--read-only): campaigns cannot be changed",
        );
        return true;
    }
    let open = state
        .campaigns
        .opened
        .as_ref()
        .map(|o| o.campaign.status == "open");
    match open {
        None => {
            state.say(Severity::Info, "open a campaign first (Enter)");
            true
        }
        Some(false) => {
            state.say(
                Severity::Warning,
                "this campaign is closed: its outcomes are final",
            );
            true
        }
        Some(true) => false,
    }
}

/// The keys of an opened campaign: take the next customer, record an
/// outcome, switch the lower view, close the campaign.
pub fn action(state: &mut AppState, action: Action) -> Vec<Effect> {
    match action {
        Action::CampaignView => {
            if let Some(o) = state.campaigns.opened.as_mut() {
                o.view = o.view.next();
            }
            vec![]
        }
        Action::FeedbackNext => {
            if refuse(state) {
                return vec![];
            }
            let Some(o) = state.campaigns.opened.as_ref() else {
                return vec![];
            };
            let (gen, id) = (o.gen, o.campaign.id);
            state.say(Severity::Info, "taking the next customer…");
            vec![request(Request::CampaignNext {
                gen,
                id,
                agent: state.agent.clone(),
            })]
        }
        Action::CampaignRelease => {
            if refuse(state) {
                return vec![];
            }
            let Some(o) = state.campaigns.opened.as_ref() else {
                return vec![];
            };
            // The customer taken, else the selected row if it is yours,
            // else the one you hold among the rows shown (after reopening
            // the campaign, the card is gone and the cursor may be elsewhere).
            let mine = |r: &WorkRow| {
                r.claimed_by.as_deref() == Some(state.agent.as_str()) && r.outcome.is_none()
            };
            let row = acted_on(o)
                .filter(|r| o.card.as_ref().is_some_and(|c| c.row.cid == r.cid) || mine(r))
                .or_else(|| o.work.iter().find(|r| mine(r)).cloned());
            let Some(row) = row else {
                state.say(Severity::Warning, "you hold no customer here to give back");
                return vec![];
            };
            let (gen, id) = (o.gen, o.campaign.id);
            vec![request(Request::CampaignRelease {
                gen,
                id,
                row: Box::new(row),
                agent: state.agent.clone(),
            })]
        }
        Action::RecordOutcome(outcome) => {
            if refuse(state) {
                return vec![];
            }
            let Some(o) = state.campaigns.opened.as_ref() else {
                return vec![];
            };
            let row = acted_on(o);
            let Some(row) = row else {
                state.say(Severity::Warning, "no customer: t takes the next one");
                return vec![];
            };
            if let Some(other) = row.claimed_by.as_deref().filter(|a| *a != state.agent) {
                state.say(
                    Severity::Warning,
                    format!(
                        "{} is working {}; leave it to them",
                        crate::term::safe(other),
                        row.customer_id
                    ),
                );
                return vec![];
            }
            // Another agent's recorded outcome is theirs: replacing it from
            // a list is too easy to do by mistake (the CLI can, with the
            // version it read).
            if let (Some(o), Some(by)) = (
                row.outcome.as_deref(),
                row.outcome_by.as_deref().filter(|a| *a != state.agent),
            ) {
                state.say(
                    Severity::Warning,
                    format!(
                        "{} has {}'s outcome ({}); it stays theirs",
                        row.customer_id,
                        crate::term::safe(by),
                        o.replace('_', " ")
                    ),
                );
                return vec![];
            }
            state.mode = Mode::Prompt(Prompt {
                label: format!(
                    "{} {}: note (Enter for none)",
                    row.customer_id,
                    outcome.replace('_', " ")
                ),
                text: String::new(),
                purpose: PromptPurpose::CampaignNote(Box::new(row), outcome),
                choices: vec![],
                stem: None,
                seen: vec![],
                cursor: 0,
            });
            vec![]
        }
        Action::Close => {
            if refuse(state) {
                return vec![];
            }
            let Some(o) = state.campaigns.opened.as_ref() else {
                return vec![];
            };
            state.mode = Mode::Confirm(Confirm {
                question: format!(
                    "Close campaign '{}'? Its work list ends; its report stays. (y/n)",
                    crate::term::safe(&o.campaign.name)
                ),
                on_yes: ConfirmAction::CloseCampaign(o.campaign.id),
            });
            vec![]
        }
        _ => vec![],
    }
}

/// The note was typed (or left empty): record the outcome.
pub fn record(
    state: &mut AppState,
    row: WorkRow,
    outcome: &'static str,
    note: String,
) -> Vec<Effect> {
    let Some(o) = state.campaigns.opened.as_ref() else {
        return vec![];
    };
    let (gen, id) = (o.gen, o.campaign.id);
    vec![request(Request::CampaignOutcome {
        gen,
        id,
        row,
        outcome,
        note: Some(note).filter(|n| !n.is_empty()),
        agent: state.agent.clone(),
    })]
}

pub fn close_confirmed(state: &mut AppState, id: i64) -> Vec<Effect> {
    vec![request(Request::CampaignClose {
        id,
        agent: state.agent.clone(),
    })]
}

/// Reload what the screen shows (Ctrl-R, or another process changed the data).
pub fn refresh(state: &mut AppState) -> Vec<Effect> {
    let mut fx = load_list(state);
    if let Some(o) = state.campaigns.opened.as_mut() {
        let offset = o.offset;
        fx.push(load_work(o, offset));
        fx.push(request(Request::CampaignReport {
            gen: o.gen,
            id: o.campaign.id,
        }));
    }
    fx
}

/// Whether the screen is the Campaigns screen with nothing over it.
pub fn active(state: &AppState) -> bool {
    state.screen == Screen::Campaigns && state.detail.is_none()
}

/// The customer an outcome or a give-back acts on: the one taken (while no
/// outcome is recorded on the card), else the selected row of the list.
fn acted_on(o: &OpenedCampaign) -> Option<WorkRow> {
    o.card
        .as_ref()
        .filter(|c| c.recorded.is_none())
        .map(|c| c.row.clone())
        .or_else(|| o.selected().cloned())
}
