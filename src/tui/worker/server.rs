//! The worker on a PostgreSQL server: the feedback queue (its pages, an
//! item with its history, claims and every workflow change, undo, the
//! agents' names). The other screens' requests are answered with a
//! message saying they run on the SQLite file for now.

use super::{Request, Response};
use crate::store::pg::Pg;
use crate::store::{feedback, workflow};

pub struct ServerExecutor {
    pg: Pg,
    read_only: bool,
}

impl ServerExecutor {
    pub fn open(url: &str, read_only: bool) -> crate::Result<ServerExecutor> {
        Ok(ServerExecutor {
            pg: Pg::connect(url, read_only)?,
            read_only,
        })
    }

    fn refuse_write(read_only: bool, what: &str) -> Option<Response> {
        read_only.then(|| Response::Failed {
            what: what.to_string(),
            message: "read-only (--read-only): the queue cannot be changed".into(),
        })
    }

    fn handle(&mut self, req: Request) -> crate::Result<Option<Response>> {
        let read_only = self.read_only;
        let pg = &mut self.pg;
        Ok(Some(match req {
            Request::Probe => Response::Probe {
                customers: {
                    use crate::store::sql::Sql;
                    pg.row("SELECT count(*) FROM (SELECT 1 FROM customers LIMIT 1) t", &[])?
                        .map(|r| r.i64(0))
                        .transpose()?
                        .unwrap_or(0)
                },
                stamp: crate::store::DataStamp::default(),
            },
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
                    feedback::page(&*pg, &filter, &agent, &sla, now, offset, Some(limit))?;
                let (kinds, channels) = crate::store::pg::queue::facets(pg)?;
                Response::Queue {
                    gen,
                    items,
                    total,
                    kinds,
                    channels,
                }
            }
            Request::QueueItem { gen, fid, sla, now } => {
                let item = feedback::item(&*pg, fid, &sla, now)?;
                let history = match &item {
                    Some(it) => crate::store::audit::for_entity(&*pg, "feedback", &it.id, 50)?,
                    None => vec![],
                };
                Response::QueueItem {
                    gen,
                    item: item.map(Box::new),
                    history,
                    customer: None,
                }
            }
            Request::QueueAct {
                targets,
                act,
                agent,
                now,
            } => {
                if let Some(r) = Self::refuse_write(read_only, act.name()) {
                    return Ok(Some(r));
                }
                let outcomes = workflow::act(pg, &targets, &act, &agent, now)?;
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
                if let Some(r) = Self::refuse_write(read_only, "undo") {
                    return Ok(Some(r));
                }
                Response::QueueActed {
                    act: "undo".into(),
                    outcomes: vec![workflow::undo(pg, fid, version, &agent, now)?],
                }
            }
            Request::QueueNext { agent, sla, now } => {
                if let Some(r) = Self::refuse_write(read_only, "next") {
                    return Ok(Some(r));
                }
                Response::QueueNext {
                    claimed: workflow::next(pg, &agent, &sla, now)?,
                }
            }
            Request::Agents => Response::Agents(workflow::known_agents(&*pg)?),
            Request::Find { id } => Response::Found {
                cid: None,
                fid: feedback::fid_of(&*pg, &id)?,
                id,
            },
            Request::Shutdown | Request::CancelJob => return Ok(None),
            Request::Panic => panic!("a panic requested for testing (CRMTOP_TEST_PANIC=worker)"),
            other => Response::Failed {
                what: super::trace::describe(&other).to_string(),
                message: "on PostgreSQL this version shows the feedback queue only; the other screens run on the SQLite file (crmtop migrate copies it to the server)".into(),
            },
        }))
    }
}

impl super::Answer for ServerExecutor {
    fn answer(&mut self, req: Request) -> Option<Response> {
        let what = super::trace::describe(&req);
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

    fn stop(&mut self) {}
}
