//! A file's answers: the executor that owns a SQLite connection and
//! answers the screens' requests (a server's are `server.rs`'s).

use super::*;

/// Answers requests on its own connection (on the worker thread, or directly in tests).
pub struct Executor {
    pub conn: crate::store::Conn,
    pub(super) path: PathBuf,
    pub(super) read_only: bool,
    /// Parsed parameters of the last model seen (to put drivers in words).
    pub(super) params: Option<(i64, ModelParams)>,
    /// Where job progress and results go (None: jobs run inline, in tests).
    pub(super) out: Option<Sender<Event>>,
    pub(super) job: Option<(Arc<AtomicBool>, std::thread::JoinHandle<()>)>,
    pub(super) search: Arc<SearchCache>,
    pub(super) search_started: bool,
    pub(super) clv: ClvSums,
    /// `--mask-pii`: drivers built from personal attributes are masked.
    pub mask: bool,
    /// What advice learns (campaign posteriors, the item model), for one
    /// data version, and the policy it follows.
    pub(super) advisor: advice::Advisor,
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

    pub(super) fn model_params(&mut self, id: i64) -> Option<&ModelParams> {
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
