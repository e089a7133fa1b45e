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
                    pg.count("SELECT count(*) FROM (SELECT 1 FROM customers LIMIT 1) t", &[])?
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

/// Start the worker on a PostgreSQL server: one thread for the queue's
/// reads and one for its changes (each with its own connection), and a
/// listener that turns other agents' changes (`LISTEN`) into a reload.
pub(super) fn spawn(
    url: &str,
    read_only: bool,
    out: std::sync::mpsc::Sender<super::Event>,
) -> crate::Result<(
    std::sync::mpsc::Sender<Request>,
    std::thread::JoinHandle<()>,
)> {
    let exec = ServerExecutor::open(url, read_only)?;
    let writer = ServerExecutor::open(url, read_only)?;
    let (wtx, wrx) = std::sync::mpsc::channel::<Request>();
    let out2 = out.clone();
    std::thread::Builder::new()
        .name("crmtop-writer".into())
        .spawn(move || super::run(writer, wrx, out2, None))
        .map_err(crate::Error::Io)?;
    let changed = out.clone();
    crate::store::pg::listen(url, move || changed.send(super::Event::Changed).is_ok())?;
    let (tx, rx) = std::sync::mpsc::channel::<Request>();
    // No slow lane: what would go there is answered (refused) in place.
    let handle = std::thread::Builder::new()
        .name("crmtop-worker".into())
        .spawn(move || {
            super::run(
                exec,
                rx,
                out,
                Some(super::Lanes {
                    slow: None,
                    write: wtx,
                }),
            )
        })
        .map_err(crate::Error::Io)?;
    Ok((tx, handle))
}
