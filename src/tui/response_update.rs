//! The update's half that handles the worker's replies: pages, counts,
//! details, jobs, probes of other terminals' changes.

use super::app::{AppState, Confirm, ConfirmAction, Mode, Screen, Severity};
use super::list_update::{apply_page, list_mut, request};
use super::update::{invalidate, open_detail, Effect};
use super::worker::{Request, Response, Slot};

/// Handle a reply from the worker.
pub fn on_response(state: &mut AppState, resp: Response) -> Vec<Effect> {
    match resp {
        Response::Probe { customers, stamp } => {
            state.empty_db = Some(customers == 0);
            let changed = state.stamp.is_some_and(|s| s != stamp);
            state.stamp = Some(stamp);
            if changed && state.job.is_none() {
                // Another terminal imported, trained, fitted or activated:
                // every screen, header and count is reloaded.
                state.say(
                    Severity::Info,
                    "the data changed elsewhere (another crmtop or tool): screens reloaded",
                );
                state.changed_elsewhere = state.dashboard.clone().map(Box::new);
                return invalidate(state);
            }
            vec![]
        }
        Response::Page {
            slot,
            gen,
            kind,
            rows,
            extra,
        } => {
            let list = list_mut(state, slot);
            if gen != list.gen {
                return vec![];
            }
            apply_page(list, slot, kind, rows, extra)
        }
        Response::Count { slot, gen, total } => {
            let list = list_mut(state, slot);
            if gen == list.gen {
                list.total = Some(total);
                if list.base.is_none() && list.reached_end {
                    list.base = Some(total - list.rows.len() as i64);
                }
            }
            vec![]
        }
        Response::Dashboard { gen, data } => {
            if gen == state.dashboard_gen {
                if let Some(before) = state.changed_elsewhere.take() {
                    let changes = what_changed(&before, &data);
                    if !changes.is_empty() {
                        state.say(
                            Severity::Info,
                            format!("changed elsewhere: {}", changes.join(" · ")),
                        );
                    }
                }
                state.dashboard = Some(*data);
                state.dashboard_loading = false;
            }
            vec![]
        }
        Response::Advice { gen, advice } => {
            if let Some(d) = state.detail.as_mut().filter(|d| d.gen == gen) {
                d.advice = Some(advice);
            } else if let Some(card) = state
                .campaigns
                .opened
                .as_mut()
                .and_then(|o| o.card.as_mut())
                .filter(|c| c.gen == gen)
            {
                card.advice = Some(advice);
            }
            vec![]
        }
        Response::Detail { gen, view } => {
            if let Some(d) = state.detail.as_mut() {
                if d.gen == gen {
                    d.loading = false;
                    if view.is_none() {
                        state.detail = None;
                        state.say(Severity::Warning, "that customer no longer exists");
                    } else {
                        d.view = view;
                    }
                }
            }
            vec![]
        }
        Response::Found { id, cid, fid } => match (cid, fid) {
            // (A warning of an earlier :goto that found nothing goes.)
            (Some(cid), _) => {
                state.status = None;
                open_detail(state, cid)
            }
            (None, Some(fid)) => {
                state.status = None;
                state.detail = None;
                state.screen = Screen::Feedback;
                super::queue_update::open_item(state, fid)
            }
            (None, None) => {
                state.say(
                    Severity::Warning,
                    format!("no customer or feedback item with id {id}"),
                );
                vec![]
            }
        },
        Response::Queue {
            gen,
            items,
            total,
            kinds,
            channels,
        } => super::queue_update::on_queue(state, gen, items, total, kinds, channels),
        Response::QueueItem {
            gen,
            item,
            history,
            customer,
        } => super::queue_update::on_item(state, gen, item, history, customer),
        Response::QueueActed { act, outcomes } => {
            super::queue_update::on_acted(state, &act, outcomes)
        }
        Response::QueueNext { claimed } => super::queue_update::on_next(state, claimed),
        Response::Agents(a) => super::queue_update::on_agents(state, a),
        r @ (Response::Campaigns { .. }
        | Response::CampaignWork { .. }
        | Response::CampaignReport { .. }
        | Response::CampaignTaken { .. }
        | Response::CampaignRecorded { .. }
        | Response::CampaignReleased { .. }
        | Response::CampaignClosed { .. }) => super::campaign_update::on_response(state, r),
        Response::Holdout(Ok(r)) => {
            state.say(
                Severity::Info,
                format!(
                    "holdout: predicted {} repeat purchases, actual {} ({:+.1}%)",
                    super::views::format::count(r.total_predicted.round() as i64),
                    super::views::format::count(r.total_actual.round() as i64),
                    r.total_error_pct
                ),
            );
            state.holdout = Some(r);
            state.mode = Mode::Holdout;
            vec![]
        }
        Response::Cohorts(t) => {
            if t.cohorts.is_empty() {
                state.say(Severity::Warning, "no orders: no cohorts");
            } else {
                state.cohorts = Some(t);
                state.mode = Mode::Cohorts;
            }
            vec![]
        }
        Response::Survival(Ok(r)) => {
            state.survival = Some(r);
            state.mode = Mode::Survival;
            vec![]
        }
        Response::Survival(Err(e)) => {
            state.say(Severity::Warning, format!("survival: {e}"));
            vec![]
        }
        Response::Matrices(Ok(m)) => {
            state.matrices = Some(m);
            state.mode = Mode::Matrices;
            vec![]
        }
        Response::Matrices(Err(e)) => {
            state.say(Severity::Warning, e);
            vec![]
        }
        Response::Holdout(Err(e)) => {
            state.say(Severity::Warning, format!("holdout: {e}"));
            vec![]
        }
        Response::ColumnsSaved(Ok(file)) => {
            state.say(Severity::Success, format!("columns saved in {file}"));
            vec![]
        }
        Response::ColumnsSaved(Err(e)) => {
            state.say(
                Severity::Warning,
                format!("columns changed for this session, not saved: {e}"),
            );
            vec![]
        }
        Response::Models { gen, rows } => {
            if gen == state.models.gen {
                state.models.loading = false;
                state.models.rows = rows;
                state.models.cursor = state
                    .models
                    .cursor
                    .min(state.models.rows.len().saturating_sub(1));
            }
            vec![]
        }
        Response::Progress(p) => {
            if let Some(j) = state.job.as_mut() {
                if j.progress.as_ref().is_none_or(|q| q.phase != p.phase) {
                    j.phase_since = state.now;
                }
                j.progress = Some(p);
            }
            vec![]
        }
        Response::JobDone {
            label,
            result,
            cancelled,
        } => {
            let (after, cancelling) = state
                .job
                .take()
                .map_or((None, false), |j| (j.after, j.cancelling));
            // A question about the running job has no object any more.
            if matches!(
                &state.mode,
                Mode::Confirm(Confirm {
                    on_yes: ConfirmAction::CancelJob | ConfirmAction::Quit,
                    ..
                })
            ) {
                state.mode = Mode::Normal;
            }
            match (cancelled, result) {
                (true, _) => state.say(
                    Severity::Info,
                    format!("{label} cancelled; the database is unchanged"),
                ),
                (false, Ok(msg)) => state.say(
                    Severity::Success,
                    match (after, cancelling) {
                        (_, true) => {
                            format!("{msg} (it had finished before the cancel reached it)")
                        }
                        (Some(a), false) => format!("{msg} ({a})"),
                        (None, false) => msg,
                    },
                ),
                (false, Err(e)) => state.say(Severity::Error, format!("{label} failed: {e}")),
            }
            // Our own job: the next stamp is recorded, not announced.
            state.stamp = None;
            let mut fx = invalidate(state);
            fx.push(request(Request::Probe));
            fx
        }
        Response::JobRefused(why) => {
            state.job = None;
            state.say(Severity::Warning, why);
            vec![]
        }
        Response::Failed { what, message } => {
            for slot in [Slot::Customers, Slot::Churn, Slot::Clv] {
                list_mut(state, slot).loading = false;
            }
            state.dashboard_loading = false;
            state.queue.loading = false;
            state.queue.acting = false;
            if let Some(o) = state.queue.opened.as_mut() {
                o.loading = false;
            }
            state.models.loading = false;
            if let Some(d) = state.detail.as_mut() {
                d.loading = false;
            }
            // A job that could not start is not running.
            if what == "starting the job" {
                state.job = None;
            }
            state.say(Severity::Error, format!("{what}: {message}"));
            vec![]
        }
    }
}

/// What another process changed, as the dashboards before and after it
/// show it: "model v5 active · CLV fit #3 · +1,200 customers · +14 open
/// items · orders to 2026-12-07". Empty when none of these moved (a
/// change the screens show but the dashboard does not count).
fn what_changed(
    before: &crate::store::dashboard::Dashboard,
    after: &crate::store::dashboard::Dashboard,
) -> Vec<String> {
    use super::views::format;
    let (a, b) = (&before.agg, &after.agg);
    let mut out = Vec::new();
    let model = |d: &crate::store::dashboard::Aggregates| d.model.as_ref().map(|m| m.id);
    if model(a) != model(b) {
        out.push(match &b.model {
            Some(m) => format!("model v{} active", m.id),
            None => "no active model".into(),
        });
    }
    let fit = |d: &crate::store::dashboard::Aggregates| d.fit.as_ref().map(|f| f.id);
    if fit(a) != fit(b) {
        out.push(match &b.fit {
            Some(f) => format!("CLV fit #{}", f.id),
            None => "no CLV fit".into(),
        });
    }
    let delta = |n: i64, what: &str| match n {
        0 => None,
        n if n > 0 => Some(format!("+{} {what}", format::count(n))),
        n => Some(format!("-{} {what}", format::count(-n))),
    };
    out.extend(delta(b.customers - a.customers, "customers"));
    out.extend(delta(
        after.open_feedback - before.open_feedback,
        "open items",
    ));
    if b.latest_order > a.latest_order {
        if let Some(t) = b.latest_order {
            out.push(format!("orders to {}", format::day(t)));
        }
    }
    out
}
