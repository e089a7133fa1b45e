//! The worker on a PostgreSQL server: the dashboard, the Customers, Churn
//! and CLV lists (in `lists`), the CLV holdout check and matrices, survival and cohorts, the
//! feedback queue (its pages, an item with its history and its customer,
//! claims and every workflow change, undo, the agents' names), the
//! campaigns (their work lists, claims, outcomes and reports), a
//! customer's detail and advice, the model versions and their activation,
//! and retraining and refitting (`R`, in a child process). Three threads,
//! each with its own connection, as on a file: pages, counts and slow
//! aggregates, writes.

mod jobs;
mod lists;

use super::{Request, Response};
use crate::store::feedback;
use crate::store::pg::Pg;
use lists::Reloaded;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

pub struct ServerExecutor {
    pg: Pg,
    read_only: bool,
    url: String,
    /// Where a job's progress and end go (None: a writer, which runs none).
    out: Option<std::sync::mpsc::Sender<super::Event>>,
    job: Option<(Arc<AtomicBool>, std::thread::JoinHandle<()>)>,
    /// `--mask-pii`: drivers in words leave out personal values.
    mask: bool,
    /// The active model's parameters (its drivers in words), by version.
    params: Option<(i64, crate::analytics::churn::Params)>,
    /// The CLV list's running sums.
    clv: super::lists::ClvSums,
    /// What advice learns (campaigns, baskets), by data version.
    advisor: super::advice::Advisor,
    /// The live filter's in-memory search, shared with the counter's
    /// thread; built in the background once a list is first shown and
    /// again when the data version moves on (until it is, filters are
    /// answered by the server's text index).
    search: Arc<super::SearchCache>,
    /// Whether this executor builds the search index (the UI's threads).
    live_search: bool,
    /// The last list page reloaded, with what it was read at: the periodic
    /// reload of an unchanged list is answered from it (a churn page at a
    /// million customers costs the server 50 ms, every 3 s, for each UI
    /// left open on it). Another agent's change moves the data version.
    reloaded: Option<Reloaded>,
}

impl ServerExecutor {
    pub fn open(url: &str, read_only: bool) -> crate::Result<ServerExecutor> {
        Ok(ServerExecutor {
            pg: Pg::connect(url, read_only)?,
            read_only,
            url: url.to_string(),
            out: None,
            job: None,
            mask: false,
            params: None,
            clv: Default::default(),
            advisor: super::advice::Advisor::new(Arc::new(
                crate::analytics::nba::Policy::from_config(&crate::config::Config::default())?,
            )),
            search: Arc::default(),
            live_search: false,
            reloaded: None,
        })
    }

    pub fn set_mask(&mut self, on: bool) {
        self.mask = on;
        self.search.ids_only.store(on, Ordering::Relaxed);
    }

    /// A customer as the detail view and an opened ticket show them: what
    /// the server keeps (profile, orders, earlier feedback, history, the
    /// active model's drivers).
    fn customer_view(&mut self, cid: i64) -> crate::Result<Option<Box<super::DetailView>>> {
        let Some(detail) = crate::store::detail::load(&self.pg, cid)? else {
            return Ok(None);
        };
        let drivers = match &detail.churn {
            Some((id, _, json)) => crate::store::pg::models::get(&self.pg, Some(*id))?
                .and_then(|m| serde_json::from_str(&m.params).ok())
                .map(|p| crate::analytics::churn::describe_drivers(&p, json, false))
                .unwrap_or_default(),
            None => vec![],
        };
        let version = crate::store::pg::data_version(&self.pg)?;
        let next_action = self
            .advisor
            .next_actions(&self.pg, version, &[cid])?
            .pop()
            .flatten()
            .map(|a| a.explanation);
        Ok(Some(Box::new(super::DetailView {
            detail,
            drivers,
            next_action,
        })))
    }

    fn handle(&mut self, req: Request) -> crate::Result<Option<Response>> {
        let read_only = self.read_only;
        let pg = &mut self.pg;
        Ok(Some(match req {
            Request::Probe => Response::Probe {
                customers: {
                    use crate::store::sql::Sql;
                    pg.count(
                        "SELECT count(*) FROM (SELECT 1 FROM customers LIMIT 1) t",
                        &[],
                    )?
                },
                // Another agent's retrain, refit, activation, clusters or
                // import shows as a change (the data version counts what
                // a job changes: schema pg 6).
                stamp: {
                    use crate::store::sql::Sql;
                    let r = pg.row(
                        "SELECT (SELECT v FROM data_version WHERE id = 1),
                                (SELECT coalesce(max(id), 0) FROM models WHERE active),
                                (SELECT coalesce(max(id), 0) FROM clv_fits WHERE active)",
                        &[],
                    )?;
                    match r {
                        Some(r) => crate::store::DataStamp {
                            jobs_finished: r.i64(0)?,
                            active_model: r.i64(1)?,
                            active_fit: r.i64(2)?,
                        },
                        None => Default::default(),
                    }
                },
            },
            Request::Dashboard {
                gen,
                high,
                medium,
                sla,
                now,
            } => {
                let agg =
                    crate::store::pg::dashboard::aggregates(&self.pg, !read_only, high, medium)?;
                Response::Dashboard {
                    gen,
                    data: Box::new(crate::store::pg::dashboard::with_queue(
                        &self.pg, agg, &sla, now,
                    )?),
                }
            }
            Request::QueueItem { gen, fid, sla, now } => {
                let mut r =
                    super::queue::answer(pg, read_only, Request::QueueItem { gen, fid, sla, now })?;
                // The item comes with its customer, as on a file.
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
            Request::Page {
                slot,
                gen,
                kind,
                query,
            } => self.page(slot, gen, kind, query)?,
            Request::Count { slot, gen, query } => self.count(slot, gen, query)?,
            Request::Detail { gen, cid } => Response::Detail {
                gen,
                view: self.customer_view(cid)?,
            },
            Request::Models { gen } => Response::Models {
                gen,
                rows: crate::store::pg::models::list(&self.pg)?,
            },
            r @ (Request::Queue { .. }
            | Request::QueueAct { .. }
            | Request::QueueUndo { .. }
            | Request::QueueNext { .. }
            | Request::Agents) => match super::queue::answer(pg, read_only, r)? {
                Ok(r) => r,
                Err(_) => return Ok(None),
            },
            Request::Find { id } => {
                use crate::store::sql::Sql;
                // A customer first, then a ticket, as on a file.
                let cid = pg
                    .row(
                        "SELECT cid FROM customers WHERE id = ?1",
                        &[crate::store::sql::text(&id)],
                    )?
                    .map(|r| r.i64(0))
                    .transpose()?;
                let fid = match cid {
                    Some(_) => None,
                    None => feedback::fid_of(&*pg, &id)?,
                };
                Response::Found { cid, fid, id }
            }
            Request::Holdout { from, family } => {
                Response::Holdout(super::holdout_report(&*pg, from, family))
            }
            Request::Cohorts => Response::Cohorts(Box::new(
                crate::analytics::survival::cohort_table(&*pg, 12)?,
            )),
            Request::Survival { by } => {
                Response::Survival(super::survival_report(&*pg, by.as_deref()))
            }
            Request::Matrices => Response::Matrices(super::clv_matrices(
                crate::store::pg::clv::active_report(pg)?,
            )),
            Request::Advice { gen, cid } => {
                let version = crate::store::pg::data_version(pg)?;
                Response::Advice {
                    gen,
                    advice: Box::new(self.advisor.advice(&*pg, version, cid)?),
                }
            }
            r if r.is_campaign() => super::campaigns::answer(pg, read_only, r)?,
            // The choice is the user's, in their config file (a server has
            // no database file beside it to keep clear of).
            Request::SaveColumns {
                config,
                screen,
                columns,
            } => Response::ColumnsSaved(
                crate::config::save_columns(config.as_deref(), &screen, columns.as_deref(), &[])
                    .map(|p| p.display().to_string()),
            ),
            Request::StartJob(spec) => return self.start_job(spec),
            Request::CancelJob => {
                if let Some((flag, _)) = &self.job {
                    flag.store(true, Ordering::Relaxed);
                }
                return Ok(None);
            }
            Request::Shutdown => return Ok(None),
            Request::Panic => panic!("a panic requested for testing (CRMTOP_TEST_PANIC=worker)"),
            other => Response::Failed {
                what: super::trace::describe(&other).to_string(),
                message: "not on a server yet (a file's for now)".into(),
            },
        }))
    }
}

impl super::Answer for ServerExecutor {
    fn answer(&mut self, req: Request) -> Option<Response> {
        let what = super::trace::describe(&req);
        let _trace = super::trace::Trace::new(&req);
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.handle(req))) {
            Ok(Ok(r)) => r,
            Ok(Err(e)) => Some(Response::Failed {
                what: what.to_string(),
                message: e.to_string(),
            }),
            Err(panic) => Some(Response::Failed {
                what: what.to_string(),
                message: format!("internal error: {}", super::panic_text(&panic)),
            }),
        }
    }

    /// Cancel a running job and wait for it to roll back.
    fn stop(&mut self) {
        if let Some((flag, h)) = self.job.take() {
            flag.store(true, Ordering::Relaxed);
            let _ = h.join();
        }
    }
}

/// Start the worker on a PostgreSQL server: one thread for the queue's
/// reads and one for its changes (each with its own connection), and a
/// listener that turns other agents' changes (`LISTEN`) into a reload.
pub(super) fn spawn(
    url: &str,
    read_only: bool,
    mask: bool,
    policy: Arc<crate::analytics::nba::Policy>,
    out: std::sync::mpsc::Sender<super::Event>,
) -> crate::Result<(
    std::sync::mpsc::Sender<Request>,
    std::thread::JoinHandle<()>,
)> {
    let mut exec = ServerExecutor::open(url, read_only)?;
    exec.out = Some(out.clone());
    exec.set_mask(mask);
    exec.live_search = true;
    exec.advisor.policy = Arc::clone(&policy);
    let mut writer = ServerExecutor::open(url, read_only)?;
    writer.advisor.policy = policy;
    let (wtx, wrx) = std::sync::mpsc::channel::<Request>();
    let out2 = out.clone();
    std::thread::Builder::new()
        .name("crmtop-writer".into())
        .spawn(move || super::run(writer, wrx, out2, None))
        .map_err(crate::Error::Io)?;
    // Counts, the dashboard, advice and campaign reports on a connection
    // of their own, as on a file: a filter's count of a million customers
    // (the in-memory search's, built first when the data moved on) never
    // holds up the page that shows its first rows.
    let mut slow = ServerExecutor::open(url, read_only)?;
    slow.search = Arc::clone(&exec.search);
    slow.live_search = true;
    slow.set_mask(mask);
    slow.advisor.policy = Arc::clone(&exec.advisor.policy);
    let (stx, srx) = std::sync::mpsc::channel::<Request>();
    let out3 = out.clone();
    std::thread::Builder::new()
        .name("crmtop-counter".into())
        .spawn(move || super::run(slow, srx, out3, None))
        .map_err(crate::Error::Io)?;
    let changed = out.clone();
    crate::store::pg::listen(url, move || changed.send(super::Event::Changed).is_ok())?;
    let (tx, rx) = std::sync::mpsc::channel::<Request>();
    let handle = std::thread::Builder::new()
        .name("crmtop-worker".into())
        .spawn(move || {
            super::run(
                exec,
                rx,
                out,
                Some(super::Lanes {
                    slow: Some(stx),
                    write: wtx,
                }),
            )
        })
        .map_err(crate::Error::Io)?;
    Ok((tx, handle))
}
