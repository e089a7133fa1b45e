//! The worker thread: owns its own SQLite connection, answers requests in
//! order, drops requests already superseded by newer ones, and turns a panic
//! into an error message instead of taking the UI down. Long jobs (training,
//! CLV fits, exports) run on a job thread with a connection of their own, so
//! the screens keep answering while they run.

use super::event::Event;
use crate::analytics::churn::{self, Params as ModelParams};
use crate::jobs::{Ctl, Progress};
use crate::store::dashboard;
use crate::store::detail;
use crate::store::feedback;
use crate::store::list::{self, CustomerRow, ListQuery, SortColumn};
use crate::store::models;
use crate::store::search::{Hits, SearchIndex};
use crate::store::workflow;
use crate::store::{self, Mode};
use std::collections::HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, Sender};
use std::sync::Arc;

pub use super::job_runner::{run_job, run_job_isolated};
pub use super::messages::*;

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

/// A search's text, the index it ran on, and its matches.
type LastSearch = (String, Arc<SearchIndex>, Arc<Hits>);

/// The live filter's search index, shared by the worker's threads and
/// rebuilt in the background when the data version moves on.
#[derive(Default)]
pub struct SearchCache {
    /// `--mask-pii`: ids only (see `SearchIndex::build_fields`).
    pub ids_only: AtomicBool,
    index: std::sync::Mutex<Option<Arc<SearchIndex>>>,
    /// Held while building, so two threads never build at once.
    build: std::sync::Mutex<()>,
    rebuilding: AtomicBool,
    /// The last search: its text, the index it ran on, its matches. Held
    /// while searching, so the page and the count of one keystroke share it.
    last: std::sync::Mutex<Option<LastSearch>>,
}

impl SearchCache {
    fn current(&self) -> Option<Arc<SearchIndex>> {
        self.index.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn build_with(&self, conn: &rusqlite::Connection) -> crate::Result<Arc<SearchIndex>> {
        let _g = self.build.lock().unwrap_or_else(|e| e.into_inner());
        let version = dashboard::data_version(conn)?;
        if let Some(i) = self.current().filter(|i| i.version == version) {
            return Ok(i);
        }
        let idx = Arc::new(SearchIndex::build_fields(
            conn,
            self.ids_only.load(Ordering::Relaxed),
        )?);
        *self.index.lock().unwrap_or_else(|e| e.into_inner()) = Some(Arc::clone(&idx));
        Ok(idx)
    }

    /// Build (or rebuild) on a thread of its own; the current index, if any,
    /// keeps answering meanwhile.
    pub fn build_in_background(self: &Arc<Self>, path: PathBuf) {
        if self.rebuilding.swap(true, Ordering::SeqCst) {
            return;
        }
        let me = Arc::clone(self);
        let spawned = std::thread::Builder::new()
            .name("crmtop-search".into())
            .spawn(move || {
                let _ = catch_unwind(AssertUnwindSafe(|| {
                    if let Ok(s) = store::open(&path, Mode::ReadOnly) {
                        let _ = me.build_with(&s.conn);
                    }
                }));
                me.rebuilding.store(false, Ordering::SeqCst);
            });
        if spawned.is_err() {
            self.rebuilding.store(false, Ordering::SeqCst);
        }
    }
}

/// Sums of CLV above a position in the ranking, so that each page's share
/// and cumulative share cost no scan of the customers before it.
#[derive(Default)]
struct ClvSums {
    version: i64,
    total: f64,
    /// CLV of all customers ranked above the one with this key.
    above: HashMap<(u64, i64), f64>,
}

fn key_of(k: &list::Key) -> (u64, i64) {
    let v = match &k.value {
        rusqlite::types::Value::Real(f) => f.to_bits(),
        rusqlite::types::Value::Integer(i) => (*i as f64).to_bits(),
        _ => u64::MAX,
    };
    (v, k.cid)
}

/// Answers requests on its own connection (on the worker thread, or directly in tests).
pub struct Executor {
    pub conn: rusqlite::Connection,
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
    /// What advice learns from (campaign posteriors, the item model), for
    /// one data version.
    advice_cache: Option<(i64, Arc<AdviceModel>)>,
}

/// Learned once per data version for the detail's advice.
struct AdviceModel {
    measured: std::collections::BTreeMap<(String, String), crate::analytics::nba::Measured>,
    base: std::collections::BTreeMap<String, f64>,
    names: Vec<String>,
    histories: std::collections::HashMap<i64, Vec<u32>>,
    items: crate::analytics::recommend::ItemModel,
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
            advice_cache: None,
        })
    }

    /// A customer's next best action (explained) and products to offer.
    fn advice(
        &mut self,
        cid: i64,
        actions: &std::collections::BTreeMap<String, crate::config::Action>,
        medium: f64,
        high: f64,
    ) -> crate::Result<crate::tui::messages::Advice> {
        use crate::analytics::{campaign, nba, recommend};
        let version = dashboard::data_version(&self.conn)?;
        let model = match &self.advice_cache {
            Some((v, m)) if *v == version => Arc::clone(m),
            _ => {
                let (measured, base) = store::campaigns::measured(&self.conn)?;
                let b = recommend::Baskets::from_rows(store::clv::basket_rows(&self.conn)?);
                let mut histories: std::collections::HashMap<i64, Vec<u32>> = Default::default();
                for (c, _, items) in &b.baskets {
                    histories.entry(*c).or_default().extend(items);
                }
                for h in histories.values_mut() {
                    h.sort_unstable();
                    h.dedup();
                }
                let all: Vec<Vec<u32>> = histories.values().cloned().collect();
                let items = recommend::learn(b.names.len(), &all, 100);
                let m = Arc::new(AdviceModel {
                    measured,
                    base,
                    names: b.names,
                    histories,
                    items,
                });
                self.advice_cache = Some((version, Arc::clone(&m)));
                m
            }
        };
        let id = store::customers::id_of(&self.conn, cid)?.unwrap_or_default();
        let next_action = match store::campaigns::at_risk(&self.conn, 0.0, None, Some(&id))?.first()
        {
            Some((_, p, clv)) if *p >= medium => {
                let post = nba::posteriors(actions, &model.measured, &model.base);
                let c = nba::Customer {
                    customer_id: id.clone(),
                    churn_prob: *p,
                    clv: clv.unwrap_or(0.0),
                    band: campaign::band(Some(*p), medium, high),
                };
                Some(nba::advise(&c, actions, &post, &mut nba::rng_for(7, &id)).explanation)
            }
            Some(_) => Some("none: low churn risk".into()),
            None => None,
        };
        let history: &[u32] = model
            .histories
            .get(&cid)
            .map(|h| h.as_slice())
            .unwrap_or(&[]);
        let offer = if model.names.is_empty() {
            Vec::new()
        } else {
            model
                .items
                .recommend(history, 5)
                .into_iter()
                .map(|(i, _)| model.names[i as usize].clone())
                .collect()
        };
        Ok(crate::tui::messages::Advice { next_action, offer })
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
        Ok(Some(Box::new(DetailView { detail, drivers })))
    }

    /// The customers matching the query's text filter (None without one).
    fn hits(&mut self, q: &ListQuery) -> crate::Result<Option<Arc<Hits>>> {
        let Some(text) = q.filter.as_deref().filter(|f| !f.is_empty()) else {
            return Ok(None);
        };
        let version = dashboard::data_version(&self.conn)?;
        let idx = match self.search.current() {
            Some(i) if i.version == version => i,
            // Stale: answer from it while a fresh one is built.
            Some(i) if self.out.is_some() => {
                self.search.build_in_background(self.path.clone());
                i
            }
            _ => self.search.build_with(&self.conn)?,
        };
        // Held during the search: the page (this thread) and the count (the
        // counter's) ask for the same text at once; the second waits for the
        // first's answer instead of searching again beside it (two searches
        // on two cores took twice as long each).
        let mut last = self.search.last.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((t, i, h)) = last.as_ref() {
            if t == text && Arc::ptr_eq(i, &idx) {
                return Ok(Some(Arc::clone(h)));
            }
        }
        let t0 = std::time::Instant::now();
        let h = Arc::new(idx.search(text));
        let stale = idx.version != version;
        trace(|| {
            format!(
                "{:>9.2} ms  search of {} chars: {} matches{}",
                t0.elapsed().as_secs_f64() * 1e3,
                text.chars().count(),
                h.len(),
                if stale { " (index being rebuilt)" } else { "" }
            )
        });
        *last = Some((text.to_string(), idx, Arc::clone(&h)));
        Ok(Some(h))
    }

    fn model_params(&mut self, id: i64) -> Option<&ModelParams> {
        if self.params.as_ref().map(|(i, _)| *i) != Some(id) {
            let row = models::get(&self.conn, id).ok().flatten()?;
            let p: ModelParams = serde_json::from_str(&row.params).ok()?;
            self.params = Some((id, p));
        }
        self.params.as_ref().map(|(_, p)| p)
    }

    fn extras(
        &mut self,
        slot: Slot,
        query: &ListQuery,
        rows: &[CustomerRow],
    ) -> crate::Result<Vec<Extra>> {
        match slot {
            Slot::Customers => Ok(vec![Extra::None; rows.len()]),
            Slot::Churn => {
                let active = self
                    .conn
                    .query_row("SELECT id FROM models WHERE active = 1", [], |r| {
                        r.get::<_, i64>(0)
                    })
                    .ok();
                let Some(id) = active else {
                    return Ok(vec![Extra::None; rows.len()]);
                };
                let mut out = Vec::with_capacity(rows.len());
                let mask = self.mask;
                for r in rows {
                    let d = models::score_of(&self.conn, id, r.cid)?;
                    let words = match (d, self.model_params(id)) {
                        (Some((_, json)), Some(p)) => churn::describe_drivers(p, &json, mask)
                            .into_iter()
                            .map(|(s, c)| format!("{s} ({c:+.2})"))
                            .collect::<Vec<_>>()
                            .join("; "),
                        _ => String::new(),
                    };
                    out.push(Extra::Drivers(words));
                }
                Ok(out)
            }
            Slot::Clv => {
                let version = dashboard::data_version(&self.conn)?;
                if self.clv.version != version || self.clv.above.len() > 200_000 {
                    // The active fit's report holds the total (only fits
                    // write CLV); summing a million values takes 40 ms.
                    let total = match store::clv::active_report(&self.conn)? {
                        Some((_, r)) => r.total_clv,
                        None => {
                            self.conn
                                .query_row("SELECT total(clv) FROM customers", [], |r| r.get(0))?
                        }
                    };
                    self.clv = ClvSums {
                        version,
                        total,
                        above: HashMap::new(),
                    };
                }
                let total = self.clv.total;
                let Some(first) = rows.first() else {
                    return Ok(vec![]);
                };
                let ranking = query.sort == SortColumn::Clv && query.descending;
                let unfiltered = query.filter.as_deref().is_none_or(str::is_empty)
                    && query.rfm_segment.is_none()
                    && query.cluster.is_none()
                    && query.churn_band.is_none();
                let page_sum: f64 = rows.iter().map(|r| r.clv.unwrap_or(0.0)).sum();
                let clv_of = |k: &list::Key| match &k.value {
                    rusqlite::types::Value::Real(f) => *f,
                    rusqlite::types::Value::Integer(i) => *i as f64,
                    _ => 0.0,
                };
                let known = |k: &list::Key| self.clv.above.get(&key_of(k)).copied();
                // Value above the first row, in the ranking's order (CLV, highest first).
                let cached = if ranking && unfiltered {
                    match &query.seek {
                        list::Seek::First => Some(0.0),
                        list::Seek::Last => Some(total - page_sum),
                        list::Seek::After(k) => known(k).map(|a| a + clv_of(k)),
                        list::Seek::Before(k) => known(k).map(|a| a - page_sum),
                        list::Seek::From(k) => known(k),
                    }
                } else {
                    None
                };
                let above: f64 = match cached {
                    Some(a) => a,
                    None if ranking => self.conn.query_row(
                        "SELECT total(clv) FROM customers WHERE (clv, cid) > (?1, ?2)",
                        rusqlite::params![first.clv, first.cid],
                        |r| r.get(0),
                    )?,
                    None => 0.0,
                };
                let mut cum = above;
                let mut out = Vec::with_capacity(rows.len());
                for r in rows {
                    if ranking && unfiltered {
                        self.clv.above.insert(key_of(&r.key), cum);
                    }
                    let v = r.clv.unwrap_or(0.0);
                    cum += v;
                    out.push(if total > 0.0 {
                        Extra::Share {
                            share: v / total,
                            cumulative: (cum / total).clamp(0.0, 1.0),
                        }
                    } else {
                        Extra::None
                    });
                }
                Ok(out)
            }
        }
    }

    /// Answer one request (None for Shutdown and for job starts, which answer later).
    pub fn handle(&mut self, req: Request) -> crate::Result<Option<Response>> {
        Ok(Some(match req {
            Request::Probe => Response::Probe {
                customers: self.conn.query_row(
                    "SELECT count(*) FROM (SELECT 1 FROM customers LIMIT 1)",
                    [],
                    |r| r.get(0),
                )?,
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
            Request::Advice {
                gen,
                cid,
                actions,
                medium,
                high,
            } => Response::Advice {
                gen,
                advice: Box::new(self.advice(cid, &actions, medium, high)?),
            },
            Request::Find { id } => {
                let cid = store::customers::cid_of(&self.conn, &id)?;
                let fid = match cid {
                    Some(_) => None,
                    None => feedback::fid_of(&self.conn, &id)?,
                };
                Response::Found { cid, fid, id }
            }
            Request::Queue {
                gen,
                filter,
                agent,
                sla,
                now,
                offset,
                limit,
            } => {
                let (items, total) =
                    feedback::page(&self.conn, &filter, &agent, &sla, now, offset, Some(limit))?;
                let (kinds, channels) = feedback::queue_facets(&self.conn)?;
                Response::Queue {
                    gen,
                    items,
                    total,
                    kinds,
                    channels,
                }
            }
            Request::Models { gen } => Response::Models {
                gen,
                rows: models::list(&self.conn)?,
            },
            Request::QueueItem { gen, fid, sla, now } => {
                let item = feedback::item(&self.conn, fid, &sla, now)?;
                let (history, customer) = match &item {
                    Some(it) => (
                        crate::store::audit::for_entity(&self.conn, "feedback", &it.id, 50)?,
                        self.customer_view(it.cid)?,
                    ),
                    None => (vec![], None),
                };
                Response::QueueItem {
                    gen,
                    item: item.map(Box::new),
                    history,
                    customer,
                }
            }
            Request::QueueAct {
                targets,
                act,
                agent,
                now,
            } => {
                if self.read_only {
                    return Ok(Some(Response::Failed {
                        what: act.name().to_string(),
                        message: "read-only (--read-only): the queue cannot be changed".into(),
                    }));
                }
                let outcomes = workflow::act(&mut self.conn, &targets, &act, &agent, now)?;
                Response::QueueActed {
                    act: act.name().to_string(),
                    outcomes,
                }
            }
            Request::QueueUndo {
                fid,
                version,
                agent,
                now,
            } => {
                if self.read_only {
                    return Ok(Some(Response::Failed {
                        what: "undo".into(),
                        message: "read-only (--read-only): the queue cannot be changed".into(),
                    }));
                }
                let outcome = workflow::undo(&mut self.conn, fid, version, &agent, now)?;
                Response::QueueActed {
                    act: "undo".into(),
                    outcomes: vec![outcome],
                }
            }
            Request::QueueNext { agent, sla, now } => {
                if self.read_only {
                    return Ok(Some(Response::Failed {
                        what: "next".into(),
                        message: "read-only (--read-only): the queue cannot be changed".into(),
                    }));
                }
                Response::QueueNext {
                    claimed: workflow::next(&mut self.conn, &agent, &sla, now)?,
                }
            }
            Request::Agents => Response::Agents(workflow::known_agents(&self.conn)?),
            Request::Holdout { from, family } => Response::Holdout(
                crate::analytics::clv::holdout(
                    &self.conn,
                    from,
                    None,
                    crate::analytics::clv::TimeUnit::Week,
                    0.0,
                    family,
                )
                .map(Box::new)
                .map_err(|e| e.to_string()),
            ),
            Request::Cohorts => Response::Cohorts(Box::new(
                crate::analytics::survival::cohort_table(&self.conn, 12)?,
            )),
            Request::Survival { by } => Response::Survival(
                match store::survival::subjects(&self.conn, None, "churned", by.as_deref()) {
                    Err(e) => Err(e.to_string()),
                    Ok(found) => {
                        let subjects = crate::analytics::survival::Subject::from_rows(found.rows);
                        crate::analytics::survival::report(
                            &subjects,
                            "months since start",
                            &found.event,
                            by.as_deref(),
                        )
                        .map(Box::new)
                        .map_err(|e| e.to_string())
                    }
                },
            ),
            Request::Matrices => Response::Matrices(
                match store::clv::active_report(&self.conn)? {
                    None => Err("no CLV fit yet: press R on the CLV screen".into()),
                    Some((_, r)) => r.matrices.map(Box::new).ok_or_else(|| {
                        "the active CLV fit has no BG/NBD matrices (a retention-only fit, or one made by an earlier version: refit with R)".to_string()
                    }),
                },
            ),
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

    fn job_running(&mut self) -> bool {
        match &self.job {
            Some((_, h)) if !h.is_finished() => true,
            Some(_) => {
                if let Some((_, h)) = self.job.take() {
                    let _ = h.join();
                }
                false
            }
            None => false,
        }
    }

    fn start_job(&mut self, spec: JobSpec) -> crate::Result<Option<Response>> {
        if self.job_running() {
            return Ok(Some(Response::JobRefused(
                "a job is already running; wait for it or cancel it (Esc)".into(),
            )));
        }
        if self.read_only {
            return Ok(Some(Response::JobRefused(format!(
                "read-only (--read-only): {} is disabled",
                spec.label()
            ))));
        }
        let cancel = Arc::new(AtomicBool::new(false));
        let path = self.path.clone();
        let label = spec.label();
        match self.out.clone() {
            Some(out) => {
                let flag = Arc::clone(&cancel);
                let h = std::thread::Builder::new()
                    .name("crmtop-job".into())
                    .spawn(move || {
                        let progress_out = out.clone();
                        let progress = move |p: Progress| {
                            let _ = progress_out.send(Event::Worker(Response::Progress(p)));
                        };
                        let result = catch_unwind(AssertUnwindSafe(|| {
                            run_job_isolated(&path, spec, &progress, &flag)
                        }));
                        let msg = match result {
                            Ok(r) => r,
                            Err(p) => Err(crate::Error::Other(format!(
                                "internal error: {}",
                                panic_text(&p)
                            ))),
                        };
                        let cancelled = matches!(msg, Err(crate::Error::Cancelled));
                        let _ = out.send(Event::Worker(Response::JobDone {
                            label,
                            result: msg.map_err(|e| e.to_string()),
                            cancelled,
                        }));
                    })
                    .map_err(crate::Error::Io)?;
                self.job = Some((cancel, h));
                Ok(None)
            }
            // No event channel (tests): run the job here and answer at once.
            None => {
                let r = run_job(&path, spec, Ctl::new(&|_| {}, &cancel));
                let cancelled = matches!(r, Err(crate::Error::Cancelled));
                Ok(Some(Response::JobDone {
                    label,
                    result: r.map_err(|e| e.to_string()),
                    cancelled,
                }))
            }
        }
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

/// With `CRMTOP_TRACE=FILE`, each request's time is appended to FILE (for
/// finding what makes a screen slow). Requests are described without any
/// text a user typed (a filter can be a customer's name): only its length.
struct Trace {
    start: std::time::Instant,
    what: Option<String>,
}

fn trace_label(req: &Request) -> String {
    match req {
        Request::Page {
            slot,
            gen,
            kind,
            query,
        } => format!(
            "Page {slot:?} gen={gen} {kind:?} sort={:?}{} filter={} band={:?} segment={} seek={}",
            query.sort,
            if query.descending { " desc" } else { "" },
            query.filter.as_ref().map_or(0, |f| f.chars().count()),
            query.churn_band,
            query.rfm_segment.is_some(),
            match query.seek {
                list::Seek::First => "first",
                list::Seek::Last => "last",
                list::Seek::After(_) => "after",
                list::Seek::Before(_) => "before",
                list::Seek::From(_) => "from",
            }
        ),
        Request::Count { slot, gen, query } => format!(
            "Count {slot:?} gen={gen} filter={} band={:?}",
            query.filter.as_ref().map_or(0, |f| f.chars().count()),
            query.churn_band
        ),
        Request::Queue { filter, offset, .. } => {
            format!("Queue {} offset={offset}", filter.label().len())
        }
        Request::Find { .. } => "Find".into(),
        Request::QueueAct { targets, act, .. } => {
            format!("QueueAct {} x{}", act.name(), targets.len())
        }
        other => describe(other).to_string(),
    }
}

/// Append a line to the trace file, if tracing. The file is created once
/// per process through `crate::outfile` (private, never the database, not
/// through a symlink; an old trace is replaced) and kept open.
pub fn trace(line: impl FnOnce() -> String) {
    use std::io::Write as _;
    use std::sync::{Mutex, OnceLock};
    static FILE: OnceLock<Option<Mutex<std::fs::File>>> = OnceLock::new();
    let Some(path) = std::env::var_os("CRMTOP_TRACE") else {
        return;
    };
    let file = FILE.get_or_init(|| {
        let path = std::path::PathBuf::from(path);
        let protected = crate::outfile::database_files(&crate::store::default_db_path());
        let f = crate::outfile::OutFile::create(&path, &protected).ok()?;
        f.commit().ok()?;
        use std::os::unix::fs::OpenOptionsExt;
        std::fs::OpenOptions::new()
            .append(true)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&path)
            .ok()
            .map(Mutex::new)
    });
    if let Some(Ok(mut f)) = file.as_ref().map(|m| m.lock()) {
        let _ = writeln!(
            f,
            "{:?} {}",
            std::thread::current().name().unwrap_or("?"),
            line()
        );
    }
}

impl Trace {
    fn new(req: &Request) -> Trace {
        let what = std::env::var_os("CRMTOP_TRACE").map(|_| trace_label(req));
        Trace {
            start: std::time::Instant::now(),
            what,
        }
    }
}

impl Drop for Trace {
    fn drop(&mut self) {
        if let Some(what) = &self.what {
            let ms = self.start.elapsed().as_secs_f64() * 1e3;
            trace(|| format!("{ms:>9.2} ms  {what}"));
        }
    }
}

fn describe(req: &Request) -> &'static str {
    match req {
        Request::Probe => "checking the database",
        Request::Page { .. } => "loading rows",
        Request::Count { .. } => "counting rows",
        Request::Dashboard { .. } => "loading the dashboard",
        Request::Detail { .. } => "loading the customer",
        Request::Advice { .. } => "advising on the customer",
        Request::Find { .. } => "finding the customer or item",
        Request::Queue { .. } => "loading the queue",
        Request::Models { .. } => "loading the models",
        Request::QueueItem { .. } => "loading the item",
        Request::QueueAct { .. } => "changing the items",
        Request::QueueNext { .. } => "taking the next item",
        Request::QueueUndo { .. } => "undoing your last change",
        Request::Agents => "listing agents",
        Request::SaveColumns { .. } => "saving the columns",
        Request::Holdout { .. } => "checking CLV on held-out time",
        Request::Matrices => "loading the CLV matrices",
        Request::Survival { .. } => "computing retention curves",
        Request::Cohorts => "computing cohort retention",
        Request::StartJob(_) => "starting the job",
        Request::CancelJob => "cancelling the job",
        Request::Panic => "a test panic",
        Request::Shutdown => "stopping",
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
    out: Sender<Event>,
) -> crate::Result<(Sender<Request>, std::thread::JoinHandle<()>)> {
    let mut exec = Executor::open(&path, read_only)?;
    exec.out = Some(out.clone());
    exec.set_mask(mask);
    let mut lanes = Vec::new();
    for name in ["crmtop-counter", "crmtop-writer"] {
        let mut e = Executor::open(&path, read_only)?;
        e.out = Some(out.clone());
        e.search = Arc::clone(&exec.search);
        e.mask = mask;
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
        .spawn(move || run(exec, rx, out, Some(Lanes { slow, write })))
        .map_err(crate::Error::Io)?;
    Ok((tx, handle))
}

/// Where the main worker sends what it does not answer itself.
struct Lanes {
    slow: Sender<Request>,
    write: Sender<Request>,
}

impl Lanes {
    fn route(&self, req: &Request) -> Option<&Sender<Request>> {
        match req {
            Request::Count { .. } | Request::Dashboard { .. } | Request::Advice { .. } => {
                Some(&self.slow)
            }
            Request::QueueAct { .. } | Request::QueueNext { .. } | Request::QueueUndo { .. } => {
                Some(&self.write)
            }
            _ => None,
        }
    }
}

fn run(mut exec: Executor, rx: Receiver<Request>, out: Sender<Event>, lanes: Option<Lanes>) {
    while let Ok(first) = rx.recv() {
        let mut batch = vec![first];
        batch.extend(rx.try_iter());
        for req in coalesce(batch) {
            if matches!(req, Request::Shutdown) {
                if let Some((flag, h)) = exec.job.take() {
                    // Cancel a running job and let it roll back before leaving.
                    flag.store(true, Ordering::SeqCst);
                    let _ = h.join();
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
