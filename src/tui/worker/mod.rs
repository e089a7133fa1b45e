//! The worker threads: each owns its own connection (a file's executor in
//! `file.rs`, a server's in `server.rs`), answers requests in order, drops
//! requests already superseded by newer ones, and turns a panic into an
//! error message instead of taking the UI down. Counts and the dashboard,
//! and queue changes, have threads of their own (`spawn`'s lanes). Long
//! jobs (training, CLV fits, exports) run on a job thread with a
//! connection of their own, so the screens keep answering while they run.

use super::event::Event;
use crate::analytics::churn::{self, Params as ModelParams};
use crate::store::dashboard;
use crate::store::detail;
use crate::store::feedback;
use crate::store::list;
use crate::store::models;
use crate::store::{self, Mode};
use std::collections::HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, Sender};
use std::sync::Arc;

pub use super::job_runner::{run_job, run_job_isolated};
pub use super::messages::*;

mod advice;
mod campaigns;
mod file;
pub use file::Executor;
mod jobs;
mod lists;
mod queue;
mod search;
mod server;

/// A server's worker without threads or a listener (the test harness).
pub fn open_server(url: &str, read_only: bool) -> crate::Result<impl Answer> {
    server::ServerExecutor::open(url, read_only)
}
mod trace;

use lists::ClvSums;
pub use search::SearchCache;
pub use trace::trace;
use trace::{describe, Trace};

/// Keep only the requests that still matter: for each list, the newest
/// generation's requests (a reset makes older pages and counts pointless).
fn coalesce(batch: Vec<Request>) -> Vec<Request> {
    let mut newest: HashMap<Slot, u64> = HashMap::new();
    for r in &batch {
        if let Request::Page { slot, gen, .. } | Request::Count { slot, gen, .. } = r {
            let e = newest.entry(*slot).or_insert(*gen);
            *e = (*e).max(*gen);
        }
    }
    let mut out: Vec<Request> = Vec::new();
    for r in batch {
        match &r {
            Request::Page {
                slot, gen, kind, ..
            } => {
                if newest.get(slot) != Some(gen) {
                    continue;
                }
                if *kind == PageKind::Reset {
                    out.retain(|o| !matches!(o, Request::Page { slot: s, kind: PageKind::Reset, .. } if s == slot));
                }
                out.push(r);
            }
            Request::Count { slot, gen, .. } => {
                if newest.get(slot) == Some(gen) {
                    out.retain(|o| !matches!(o, Request::Count { slot: s, .. } if s == slot));
                    out.push(r);
                }
            }
            // Only the newest of each of these matters.
            Request::Dashboard { .. } => {
                out.retain(|o| !matches!(o, Request::Dashboard { .. }));
                out.push(r);
            }
            Request::Queue { .. } => {
                out.retain(|o| !matches!(o, Request::Queue { .. }));
                out.push(r);
            }
            Request::Detail { .. } => {
                out.retain(|o| !matches!(o, Request::Detail { .. }));
                out.push(r);
            }
            Request::QueueItem { .. } => {
                out.retain(|o| !matches!(o, Request::QueueItem { .. }));
                out.push(r);
            }
            _ => out.push(r),
        }
    }
    out
}

/// The `:holdout` view's check (weeks, no penalizer), or why none.
fn holdout_report(
    reads: &dyn store::clv::Reads,
    from: Option<chrono::NaiveDate>,
    family: Option<crate::analytics::clv::holdout::Family>,
) -> std::result::Result<Box<crate::analytics::clv::holdout::HoldoutReport>, String> {
    crate::analytics::clv::holdout(
        reads,
        from,
        None,
        crate::analytics::clv::TimeUnit::Week,
        0.0,
        family,
    )
    .map(Box::new)
    .map_err(|e| e.to_string())
}

/// The `:survival` view's curves (months since start, churned or lapsed),
/// or why none.
fn survival_report(
    conn: &dyn store::sql::Sql,
    by: Option<&str>,
) -> std::result::Result<Box<crate::analytics::survival::SurvivalReport>, String> {
    let found = store::survival::subjects(conn, None, "churned", by).map_err(|e| e.to_string())?;
    let subjects = crate::analytics::survival::Subject::from_rows(found.rows);
    crate::analytics::survival::report(&subjects, "months since start", &found.event, by)
        .map(Box::new)
        .map_err(|e| e.to_string())
}

/// The `:matrix` view's figures from the active fit's report, or why none.
fn clv_matrices(
    active: Option<(i64, crate::analytics::clv::ClvReport)>,
) -> std::result::Result<Box<crate::analytics::clv::Matrices>, String> {
    match active {
        None => Err("no CLV fit yet: press R on the CLV screen".into()),
        Some((_, r)) => r.matrices.map(Box::new).ok_or_else(|| {
            "the active CLV fit has no BG/NBD matrices (a retention-only fit, or one made by an earlier version: refit with R)".to_string()
        }),
    }
}

/// What a worker thread runs: an executor on the SQLite file, or on a
/// PostgreSQL server.
pub trait Answer {
    /// Answer a request (None: nothing to say, or answered later).
    fn answer(&mut self, req: Request) -> Option<Response>;
    /// Before the thread ends: cancel a running job and let it roll back.
    fn stop(&mut self);
}

/// Start the worker: a thread for pages, details and jobs; a second one,
/// with a connection of its own, for counts and the dashboard, so that a slow
/// aggregate never holds up a page; and a third for queue changes, so that a
/// write waiting for another agent's lock never holds up either. The search
/// index is built in the background once a list is first shown, so the
/// first keystroke of a filter finds it (and a cold dashboard does not
/// compete with it at start).
pub fn spawn(
    path: PathBuf,
    read_only: bool,
    mask: bool,
    policy: Arc<crate::analytics::nba::Policy>,
    out: Sender<Event>,
) -> crate::Result<(Sender<Request>, std::thread::JoinHandle<()>)> {
    if let Some(url) = path.to_str().filter(|p| crate::store::pg::is_url(p)) {
        return server::spawn(url, read_only, mask, policy, out);
    }
    let mut exec = Executor::open(&path, read_only)?;
    exec.out = Some(out.clone());
    exec.set_mask(mask);
    exec.advisor.policy = Arc::clone(&policy);
    let mut lanes = Vec::new();
    for name in ["crmtop-counter", "crmtop-writer"] {
        let mut e = Executor::open(&path, read_only)?;
        e.out = Some(out.clone());
        e.search = Arc::clone(&exec.search);
        e.mask = mask;
        e.advisor.policy = Arc::clone(&policy);
        let (tx, rx) = std::sync::mpsc::channel::<Request>();
        let out2 = out.clone();
        std::thread::Builder::new()
            .name(name.into())
            .spawn(move || run(e, rx, out2, None))
            .map_err(crate::Error::Io)?;
        lanes.push(tx);
    }
    let mut lanes = lanes.into_iter();
    let (Some(slow), Some(write)) = (lanes.next(), lanes.next()) else {
        return Err(crate::Error::Other("worker threads did not start".into()));
    };
    let (tx, rx) = std::sync::mpsc::channel::<Request>();
    let handle = std::thread::Builder::new()
        .name("crmtop-worker".into())
        .spawn(move || {
            run(
                exec,
                rx,
                out,
                Some(Lanes {
                    slow: Some(slow),
                    write,
                }),
            )
        })
        .map_err(crate::Error::Io)?;
    Ok((tx, handle))
}

/// Where the main worker sends what it does not answer itself.
struct Lanes {
    slow: Option<Sender<Request>>,
    write: Sender<Request>,
}

impl Lanes {
    fn route(&self, req: &Request) -> Option<&Sender<Request>> {
        match req {
            Request::Count { .. }
            | Request::Dashboard { .. }
            | Request::Advice { .. }
            | Request::CampaignReport { .. } => self.slow.as_ref(),
            Request::QueueAct { .. }
            | Request::QueueNext { .. }
            | Request::QueueUndo { .. }
            | Request::CampaignNext { .. }
            | Request::CampaignOutcome { .. }
            | Request::CampaignRelease { .. }
            | Request::CampaignClose { .. } => Some(&self.write),
            _ => None,
        }
    }
}

fn run(mut exec: impl Answer, rx: Receiver<Request>, out: Sender<Event>, lanes: Option<Lanes>) {
    while let Ok(first) = rx.recv() {
        let mut batch = vec![first];
        batch.extend(rx.try_iter());
        for req in coalesce(batch) {
            if matches!(req, Request::Shutdown) {
                // Cancel a running job and let it roll back before leaving.
                exec.stop();
                if let Some(l) = &lanes {
                    let _ = l.write.send(Request::Shutdown);
                }
                return;
            }
            if let Some(lane) = lanes.as_ref().and_then(|l| l.route(&req)) {
                if lane.send(req).is_err() {
                    return;
                }
                continue;
            }
            if let Some(reply) = exec.answer(req) {
                if out.send(Event::Worker(reply)).is_err() {
                    return;
                }
            }
        }
    }
}

pub fn panic_text(p: &Box<dyn std::any::Any + Send>) -> String {
    p.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::list::{ListQuery, SortColumn};

    fn page(gen: u64, kind: PageKind) -> Request {
        Request::Page {
            slot: Slot::Customers,
            gen,
            kind,
            query: ListQuery::new(SortColumn::Id, false),
        }
    }

    #[test]
    fn superseded_requests_are_dropped() {
        let batch = vec![
            page(1, PageKind::Reset),
            page(1, PageKind::Append),
            page(2, PageKind::Reset),
            Request::Probe,
            page(3, PageKind::Reset),
            page(3, PageKind::Reset),
        ];
        let out = coalesce(batch);
        assert_eq!(out.len(), 2);
        assert!(matches!(out[0], Request::Probe));
        assert!(matches!(
            out[1],
            Request::Page {
                gen: 3,
                kind: PageKind::Reset,
                ..
            }
        ));
    }
}
