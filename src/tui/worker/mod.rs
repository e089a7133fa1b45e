//! The worker thread: owns its own SQLite connection, answers requests in
//! order, drops requests already superseded by newer ones, and turns a panic
//! into an error message instead of taking the UI down. Long jobs (training,
//! CLV fits, exports) run on a job thread with a connection of their own, so
//! the screens keep answering while they run.

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

/// Answers requests on its own connection (on the worker thread, or directly in tests).
pub struct Executor {
    pub conn: crate::store::Conn,
    path: PathBuf,
    read_only: bool,
    /// Parsed parameters of the last model seen (to put drivers in words).
    params: Option<(i64, ModelParams)>,
    /// Where job progress and results go (None: jobs run inline, in tests).
    out: Option<Sender<Event>>,
    job: Option<(Arc<AtomicBool>, std::thread::JoinHandle<()>)>,
    search: Arc<SearchCache>,
    search_started: bool,
    clv: ClvSums,
    /// `--mask-pii`: drivers built from personal attributes are masked.
    pub mask: bool,
    /// What advice learns (campaign posteriors, the item model), for one
    /// data version, and the policy it follows.
    advisor: advice::Advisor,
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

impl Executor {
    /// Last orders before this mean lapsed.
    fn lapsed_cutoff(&self) -> crate::Result<Option<i64>> {
        store::dashboard::lapsed_cutoff_now(&self.conn)
    }

    /// `--mask-pii` for this executor and the search it shares.
    pub fn set_mask(&mut self, on: bool) {
        self.mask = on;
        self.search.ids_only.store(on, Ordering::Relaxed);
    }

    pub fn open(path: &std::path::Path, read_only: bool) -> crate::Result<Executor> {
        let mode = if read_only {
            Mode::ReadOnly
        } else {
            Mode::ReadWrite
        };
        Ok(Executor {
            conn: store::open(path, mode)?.conn,
            path: path.to_path_buf(),
            read_only,
            params: None,
            out: None,
            job: None,
            search: Arc::default(),
            search_started: false,
            clv: ClvSums::default(),
            mask: false,
            advisor: advice::Advisor::new(Arc::new(crate::analytics::nba::Policy::from_config(
                &crate::config::Config::default(),
            )?)),
        })
    }

    /// A customer's detail with the churn drivers in words.
    fn customer_view(&mut self, cid: i64) -> crate::Result<Option<Box<DetailView>>> {
        let Some(detail) = detail::load(&self.conn, cid)? else {
            return Ok(None);
        };
        let mask = self.mask;
        let drivers = match &detail.churn {
            Some((id, _, json)) => self
                .model_params(*id)
                .map(|p| churn::describe_drivers(p, json, mask))
                .unwrap_or_default(),
            None => vec![],
        };
        let next_action = self
            .next_actions(&[cid])?
            .pop()
            .flatten()
            .map(|a| a.explanation);
        Ok(Some(Box::new(DetailView {
            detail,
            drivers,
            next_action,
        })))
    }

    fn model_params(&mut self, id: i64) -> Option<&ModelParams> {
        if self.params.as_ref().map(|(i, _)| *i) != Some(id) {
            let row = models::get(&self.conn, id).ok().flatten()?;
            let p: ModelParams = serde_json::from_str(&row.params).ok()?;
            self.params = Some((id, p));
        }
        self.params.as_ref().map(|(_, p)| p)
    }

    /// Answer one request (None for Shutdown and for job starts, which answer later).
    pub fn handle(&mut self, req: Request) -> crate::Result<Option<Response>> {
        Ok(Some(match req {
            Request::Probe => Response::Probe {
                customers: store::customers::any(&self.conn)?,
                stamp: store::data_stamp(&self.conn)?,
            },
            Request::Page {
                slot,
                gen,
                kind,
                query,
            } => {
                if !self.search_started && self.out.is_some() {
                    self.search_started = true;
                    self.search.build_in_background(self.path.clone());
                }
                let mut query = query;
                if slot == Slot::Churn {
                    // "Riskiest first" is of customers who can still be
                    // saved: the lapsed are left out.
                    query.skip_lapsed = self.lapsed_cutoff()?;
                }
                let hits = self.hits(&query)?;
                let rows = list::page_with(&self.conn, &query, hits.as_deref())?;
                let extra = self.extras(slot, &query, &rows)?;
                Response::Page {
                    slot,
                    gen,
                    kind,
                    rows,
                    extra,
                }
            }
            Request::Count { slot, gen, query } => {
                let mut query = query;
                if slot == Slot::Churn {
                    query.skip_lapsed = self.lapsed_cutoff()?;
                }
                let hits = self.hits(&query)?;
                Response::Count {
                    slot,
                    gen,
                    total: list::count_with(&self.conn, &query, hits.as_deref())?,
                }
            }
            Request::Dashboard {
                gen,
                high,
                medium,
                sla,
                now,
            } => Response::Dashboard {
                gen,
                data: Box::new(dashboard::load(
                    &self.conn,
                    !self.read_only,
                    high,
                    medium,
                    &sla,
                    now,
                )?),
            },
            Request::Detail { gen, cid } => Response::Detail {
                gen,
                view: self.customer_view(cid)?,
            },
            Request::Advice { gen, cid } => Response::Advice {
                gen,
                advice: Box::new(self.advice(cid)?),
            },
            Request::Find { id } => {
                let cid = store::customers::cid_of(&self.conn, &id)?;
                let fid = match cid {
                    Some(_) => None,
                    None => feedback::fid_of(&self.conn, &id)?,
                };
                Response::Found { cid, fid, id }
            }
            Request::Models { gen } => Response::Models {
                gen,
                rows: models::list(&self.conn)?,
            },
            Request::QueueItem { gen, fid, sla, now } => {
                let mut r = queue::answer(
                    &mut self.conn,
                    self.read_only,
                    Request::QueueItem { gen, fid, sla, now },
                )?;
                // On the file the item comes with its customer's detail.
                if let Ok(Response::QueueItem {
                    item: Some(it),
                    customer,
                    ..
                }) = &mut r
                {
                    *customer = self.customer_view(it.cid)?;
                }
                match r {
                    Ok(r) => r,
                    Err(_) => return Ok(None),
                }
            }
            r @ (Request::Queue { .. }
            | Request::QueueAct { .. }
            | Request::QueueUndo { .. }
            | Request::QueueNext { .. }
            | Request::Agents) => match queue::answer(&mut self.conn, self.read_only, r)? {
                Ok(r) => r,
                Err(_) => return Ok(None),
            },
            Request::Holdout { from, family } => {
                Response::Holdout(holdout_report(&self.conn, from, family))
            }
            Request::Cohorts => Response::Cohorts(Box::new(
                crate::analytics::survival::cohort_table(&self.conn, 12)?,
            )),
            Request::Survival { by } => {
                Response::Survival(survival_report(&self.conn, by.as_deref()))
            }
            Request::Matrices => {
                Response::Matrices(clv_matrices(store::clv::active_report(&self.conn)?))
            }
            Request::SaveColumns {
                config,
                screen,
                columns,
            } => Response::ColumnsSaved(
                crate::config::save_columns(
                    config.as_deref(),
                    &screen,
                    columns.as_deref(),
                    &crate::outfile::database_files(&self.path),
                )
                .map(|p| p.display().to_string()),
            ),
            r @ (Request::Campaigns { .. }
            | Request::CampaignWork { .. }
            | Request::CampaignReport { .. }
            | Request::CampaignNext { .. }
            | Request::CampaignOutcome { .. }
            | Request::CampaignRelease { .. }
            | Request::CampaignClose { .. }) => {
                campaigns::answer(&mut self.conn, self.read_only, r)?
            }
            Request::StartJob(spec) => return self.start_job(spec),
            Request::CancelJob => {
                if let Some((flag, _)) = &self.job {
                    flag.store(true, Ordering::SeqCst);
                }
                return Ok(None);
            }
            Request::Panic => panic!("a panic requested for testing (CRMTOP_TEST_PANIC=worker)"),
            Request::Shutdown => return Ok(None),
        }))
    }

    /// Answer a request, turning errors and panics into `Failed`.
    pub fn answer(&mut self, req: Request) -> Option<Response> {
        let what = describe(&req);
        let _trace = Trace::new(&req);
        match catch_unwind(AssertUnwindSafe(|| self.handle(req))) {
            Ok(Ok(r)) => r,
            Ok(Err(e)) => Some(Response::Failed {
                what: what.to_string(),
                message: e.to_string(),
            }),
            Err(panic) => Some(Response::Failed {
                what: what.to_string(),
                message: format!("internal error: {}", panic_text(&panic)),
            }),
        }
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

impl Answer for Executor {
    fn answer(&mut self, req: Request) -> Option<Response> {
        Executor::answer(self, req)
    }

    fn stop(&mut self) {
        if let Some((flag, h)) = self.job.take() {
            flag.store(true, Ordering::SeqCst);
            let _ = h.join();
        }
    }
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
