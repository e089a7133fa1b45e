//! What the screens show, loaded and reloaded: the first requests, a
//! screen entered, the current screen refreshed (other agents' changes), a
//! finished job's invalidation, a customer's detail, and the jobs started
//! from the UI. Part of the pure update (`update.rs` dispatches actions).

use super::app::{AppState, DetailState, JobState, Screen, Severity, PAGE, WINDOW};
use super::list_update::{current_list, list_mut, request, reset_list, slot_of};
use super::update::{Effect, QUEUE_PAGE};
use super::worker::{JobSpec, PageKind, Request, Slot};
use crate::analytics::churn::{ModelKind, TrainOptions};
use crate::analytics::clv::ClvOptions;
use crate::store::list::Seek;

/// What the program asks for at start.
pub fn init(state: &mut AppState) -> Vec<Effect> {
    let mut fx = vec![Effect::Request(Request::Probe)];
    if state.server {
        // A team on a server starts on its queue; the dashboard and the
        // lists load when first shown (a server has no cache of them).
        state.screen = Screen::Feedback;
        fx.extend(enter_screen(state));
        return fx;
    }
    fx.extend(enter_screen(state));
    // Then the first page of every other screen, behind the first one's
    // requests: the first visit to a screen is as quick as the next ones
    // (a first page and count of a million rows is 50-70 ms).
    let first = state.screen;
    for s in [
        Screen::Customers,
        Screen::Churn,
        Screen::Clv,
        Screen::Feedback,
    ] {
        if s != first {
            state.screen = s;
            fx.extend(enter_screen(state));
        }
    }
    state.screen = first;
    fx
}

/// Load what a screen shows, if it is not loaded yet.
pub(crate) fn enter_screen(state: &mut AppState) -> Vec<Effect> {
    match state.screen {
        // Every visit asks again (the last one stays on screen meanwhile):
        // the queue's counts move with every agent's action, which the
        // data version does not follow, and the screen refreshed them only
        // on its timer (an item resolved on the queue was still counted
        // open for up to 3 s).
        Screen::Dashboard => {
            if !state.dashboard_loading {
                return load_dashboard(state);
            }
            vec![]
        }
        Screen::Customers | Screen::Churn | Screen::Clv => {
            // The churn and CLV headers and charts are the dashboard's.
            let mut fx = if state.dashboard.is_none() && !state.dashboard_loading {
                load_dashboard(state)
            } else {
                vec![]
            };
            let Some(slot) = slot_of(state.screen) else {
                return fx;
            };
            let list = list_mut(state, slot);
            if list.rows.is_empty() && !list.loading {
                fx.extend(reset_list(list, slot));
            }
            fx
        }
        Screen::Feedback => {
            if state.queue.items.is_empty() && !state.queue.loading {
                return load_queue(state, 0);
            }
            vec![]
        }
        Screen::Models => {
            if state.models.rows.is_empty() && !state.models.loading {
                return load_models(state);
            }
            vec![]
        }
        Screen::Campaigns => super::campaign_update::enter(state),
    }
}

pub(crate) fn load_dashboard(state: &mut AppState) -> Vec<Effect> {
    state.dashboard_gen += 1;
    state.dashboard_loading = true;
    vec![request(Request::Dashboard {
        gen: state.dashboard_gen,
        high: state.config.thresholds.high,
        medium: state.config.thresholds.medium,
        sla: state.config.sla.clone(),
        now: state.now,
    })]
}

pub fn load_queue(state: &mut AppState, offset: i64) -> Vec<Effect> {
    let q = &mut state.queue;
    q.gen += 1;
    q.loading = true;
    q.quiet = false;
    q.requested_offset = offset.max(0);
    vec![request(Request::Queue {
        gen: q.gen,
        filter: q.filter.clone(),
        agent: state.agent.clone(),
        sla: state.config.sla.clone(),
        now: state.now,
        offset: offset.max(0),
        limit: QUEUE_PAGE,
    })]
}

pub(crate) fn load_models(state: &mut AppState) -> Vec<Effect> {
    state.models.gen += 1;
    state.models.loading = true;
    vec![request(Request::Models {
        gen: state.models.gen,
    })]
}

pub(crate) fn open_detail(state: &mut AppState, cid: i64) -> Vec<Effect> {
    state.detail_gen += 1;
    state.detail = Some(DetailState {
        cid,
        gen: state.detail_gen,
        scroll: 0,
        view: None,
        loading: true,
        advice: None,
    });
    let mut fx = vec![request(Request::Detail {
        gen: state.detail_gen,
        cid,
    })];
    // (On a server: products to offer; next best action is a file's.)
    fx.push(advice_request(state, cid));
    fx
}

/// Ask for a customer's next best action and products to offer.
pub(crate) fn advice_request(state: &AppState, cid: i64) -> Effect {
    advice_request_gen(cid, state.detail_gen)
}

/// Ask for advice answering to generation `gen` (a detail's or a campaign
/// card's).
pub(crate) fn advice_request_gen(cid: i64, gen: u64) -> Effect {
    request(Request::Advice { gen, cid })
}

/// Reload what the current screen shows (other agents' changes).
pub fn refresh(state: &mut AppState) -> Vec<Effect> {
    let mut fx = vec![request(Request::Probe)];
    if let Some(d) = &state.detail {
        let cid = d.cid;
        state.detail_gen += 1;
        let gen = state.detail_gen;
        if let Some(d) = state.detail.as_mut() {
            d.gen = gen;
        }
        fx.push(request(Request::Detail { gen, cid }));
        if !state.server {
            fx.push(advice_request(state, cid));
        }
        return fx;
    }
    match state.screen {
        // (One load at a time: a load slower than the refresh would
        // otherwise be overtaken by the next and never shown.)
        Screen::Dashboard if state.dashboard_loading => {}
        Screen::Dashboard => fx.extend(load_dashboard(state)),
        Screen::Feedback => {
            fx.extend(super::queue_update::reload(state));
            state.queue.quiet = true;
        }
        Screen::Models => fx.extend(load_models(state)),
        Screen::Campaigns => fx.extend(super::campaign_update::refresh(state)),
        _ => fx.extend(reload_list_in_place(state)),
    }
    fx
}

/// Reload the list on screen where it stands: the same window (from its
/// first row's key, or from the top when the window holds the first row:
/// a retrain may put new rows above it) and the same selected customer
/// when still there. Quiet: the screen does not say "loading".
fn reload_list_in_place(state: &mut AppState) -> Vec<Effect> {
    let Some((list, slot)) = current_list(state) else {
        return vec![];
    };
    if list.loading {
        return vec![];
    }
    let mut q = list.query.clone();
    q.limit = list.rows.len().clamp(PAGE, WINDOW);
    q.seek = match list.rows.first() {
        Some(first) if !list.reached_start => Seek::From(first.key.clone()),
        _ => Seek::First,
    };
    list.loading = true;
    list.quiet = true;
    vec![
        request(Request::Page {
            slot,
            gen: list.gen,
            kind: PageKind::Reload,
            query: q.clone(),
        }),
        request(Request::Count {
            slot,
            gen: list.gen,
            query: q,
        }),
    ]
}

/// After a job changed the data: everything is reloaded when next shown.
pub(crate) fn invalidate(state: &mut AppState) -> Vec<Effect> {
    // The dashboard also feeds the churn and CLV headers: it is reloaded
    // now, whatever the screen, and the old one stays on screen until the
    // new one arrives (no "no model" flash in between).
    state.dashboard_loading = false;
    let mut fx = load_dashboard(state);
    // The list on screen is reloaded where it stands (an agent at row 240
    // who retrains stays at row 240); the others start again when shown.
    let on_screen = slot_of(state.screen).filter(|_| state.detail.is_none());
    for slot in [Slot::Customers, Slot::Churn, Slot::Clv] {
        let l = list_mut(state, slot);
        l.loading = false;
        l.gen += 1;
        if on_screen != Some(slot) {
            l.rows.clear();
            l.extra.clear();
        } else if !l.reached_start {
            // Rows may have come or moved above the window: its row
            // numbers are unknown until the top is reached again.
            l.base = None;
        }
    }
    state.queue.items.clear();
    state.queue.loading = false;
    state.models.rows.clear();
    state.models.loading = false;
    if state.screen != Screen::Dashboard {
        fx.extend(enter_screen(state));
    }
    if on_screen.is_some() {
        fx.extend(reload_list_in_place(state));
    }
    if state.detail.is_some() {
        fx.extend(refresh(state));
    }
    fx
}

pub(crate) fn start_job(state: &mut AppState, spec: JobSpec) -> Vec<Effect> {
    if state.read_only {
        state.say(
            Severity::Warning,
            format!("read-only (--read-only): {} is disabled", spec.label()),
        );
        return vec![];
    }
    if state.job.is_some() {
        state.say(Severity::Warning, "a job is running (Esc cancels it)");
        return vec![];
    }
    if state.server
        && !matches!(
            spec,
            JobSpec::Train(_) | JobSpec::Clv(_) | JobSpec::ActivateModel(_)
        )
    {
        state.say(
            Severity::Warning,
            format!("{}: not on a server yet", spec.label()),
        );
        return vec![];
    }
    state.job = Some(JobState {
        label: spec.label(),
        progress: None,
        cancelling: false,
        after: None,
        phase_since: state.now,
    });
    state.say(Severity::Info, format!("{}… (Esc cancels)", spec.label()));
    vec![request(Request::StartJob(spec))]
}

/// `R` elsewhere: a retrain of the active version's kind and label window
/// (a naive Bayes model is retrained as one, as a CLV refit keeps its
/// family), logistic when there is none.
pub(crate) fn retrain_spec(state: &AppState) -> JobSpec {
    let active = state.dashboard.as_ref().and_then(|d| d.agg.model.as_ref());
    let kind = active
        .and_then(|m| ModelKind::parse(&m.kind))
        .unwrap_or(ModelKind::Logistic);
    let defaults = TrainOptions::default();
    JobSpec::Train(TrainOptions {
        kind,
        window_days: active.map_or(defaults.window_days, |m| m.window_days),
        agent: state.agent.clone(),
        ..defaults
    })
}

/// `R` on the CLV screen: a refit as of the latest data with the active
/// fit's settings (horizon, discount, margin, time unit, family, penalizer,
/// method), not the defaults: a fit made with `:clv --horizon-months 24`
/// stays a 24-month fit.
pub(crate) fn clv_spec(state: &AppState) -> JobSpec {
    let mut o = ClvOptions {
        agent: state.agent.clone(),
        ..Default::default()
    };
    if let Some(f) = state.dashboard.as_ref().and_then(|d| d.agg.fit.as_ref()) {
        o.horizon_months = f.horizon_months;
        o.discount = f.discount_rate;
        o.margin = f.margin;
        if let Some(u) = crate::analytics::clv::TimeUnit::parse(&f.time_unit) {
            o.time_unit = u;
        }
        if let Some(m) = f
            .asked_model
            .as_deref()
            .and_then(crate::analytics::clv::family::Model::parse)
        {
            o.model = m;
        }
        if let Some(p) = f.penalizer {
            o.penalizer = p;
        }
        o.method = match f.method.as_deref() {
            Some("bgnbd") => crate::analytics::clv::Method::Bgnbd,
            Some("retention") => crate::analytics::clv::Method::Retention,
            _ => crate::analytics::clv::Method::Auto,
        };
    }
    JobSpec::Clv(o)
}
