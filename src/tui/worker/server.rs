//! The worker on a PostgreSQL server: the feedback queue (its pages, an
//! item with its history, claims and every workflow change, undo, the
//! agents' names). The other screens' requests are answered with a
//! message saying they run on the SQLite file for now.

use super::{Request, Response};
use crate::store::feedback;
use crate::store::pg::Pg;

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
            r @ (Request::Queue { .. }
            | Request::QueueItem { .. }
            | Request::QueueAct { .. }
            | Request::QueueUndo { .. }
            | Request::QueueNext { .. }
            | Request::Agents) => match super::queue::answer(pg, read_only, r)? {
                Ok(r) => r,
                Err(_) => return Ok(None),
            },
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
