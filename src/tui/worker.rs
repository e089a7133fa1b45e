//! The worker thread: owns its own SQLite connection, answers requests in
//! order, drops requests already superseded by newer ones, and turns a panic
//! into an error message instead of taking the UI down.

use super::event::Event;
use crate::store::list::{self, CustomerRow, ListQuery};
use crate::store::{self, Mode};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::sync::mpsc::{Receiver, Sender};

/// Which list a page belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Slot {
    Customers,
}

/// How a page joins the loaded window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageKind {
    /// A new query: replaces the window.
    Reset,
    /// Rows after the window.
    Append,
    /// Rows before the window.
    Prepend,
    /// The window again from its first row (a refresh): the cursor stays.
    Reload,
}

#[derive(Debug, Clone)]
pub enum Request {
    /// Is there any data at all?
    Probe,
    Page {
        slot: Slot,
        gen: u64,
        kind: PageKind,
        query: ListQuery,
    },
    Count {
        slot: Slot,
        gen: u64,
        query: ListQuery,
    },
    Shutdown,
}

#[derive(Debug, Clone)]
pub enum Response {
    Probe {
        customers: i64,
    },
    Page {
        slot: Slot,
        gen: u64,
        kind: PageKind,
        rows: Vec<CustomerRow>,
    },
    Count {
        slot: Slot,
        gen: u64,
        total: i64,
    },
    Failed {
        what: String,
        message: String,
    },
}

/// Keep only the requests that still matter: for each list, the newest
/// generation's requests (a reset makes older pages and counts pointless).
fn coalesce(batch: Vec<Request>) -> Vec<Request> {
    use std::collections::HashMap;
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
                // Of several resets of one generation only the last matters.
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
            _ => out.push(r),
        }
    }
    out
}

/// Answers requests on its own connection (on the worker thread, or directly
/// in tests).
pub struct Executor {
    pub conn: rusqlite::Connection,
}

impl Executor {
    pub fn open(path: &std::path::Path, read_only: bool) -> crate::Result<Executor> {
        let mode = if read_only {
            Mode::ReadOnly
        } else {
            Mode::ReadWrite
        };
        Ok(Executor {
            conn: store::open(path, mode)?.conn,
        })
    }

    /// Answer one request (None for Shutdown).
    pub fn handle(&mut self, req: Request) -> crate::Result<Option<Response>> {
        Ok(Some(match req {
            Request::Probe => Response::Probe {
                customers: self.conn.query_row(
                    "SELECT count(*) FROM (SELECT 1 FROM customers LIMIT 1)",
                    [],
                    |r| r.get(0),
                )?,
            },
            Request::Page {
                slot,
                gen,
                kind,
                query,
            } => Response::Page {
                slot,
                gen,
                kind,
                rows: list::page(&self.conn, &query)?,
            },
            Request::Count { slot, gen, query } => Response::Count {
                slot,
                gen,
                total: list::count(&self.conn, &query)?,
            },
            Request::Shutdown => return Ok(None),
        }))
    }

    /// Answer a request, turning errors and panics into `Failed`.
    pub fn answer(&mut self, req: Request) -> Option<Response> {
        let what = describe(&req);
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

fn describe(req: &Request) -> &'static str {
    match req {
        Request::Probe => "checking the database",
        Request::Page { .. } => "loading rows",
        Request::Count { .. } => "counting rows",
        Request::Shutdown => "stopping",
    }
}

/// Start the worker on its own thread with its own connection.
pub fn spawn(
    path: PathBuf,
    read_only: bool,
    out: Sender<Event>,
) -> crate::Result<(Sender<Request>, std::thread::JoinHandle<()>)> {
    let exec = Executor::open(&path, read_only)?;
    let (tx, rx) = std::sync::mpsc::channel::<Request>();
    let handle = std::thread::Builder::new()
        .name("crmtop-worker".into())
        .spawn(move || run(exec, rx, out))
        .map_err(crate::Error::Io)?;
    Ok((tx, handle))
}

fn run(mut exec: Executor, rx: Receiver<Request>, out: Sender<Event>) {
    while let Ok(first) = rx.recv() {
        let mut batch = vec![first];
        batch.extend(rx.try_iter());
        for req in coalesce(batch) {
            let Some(reply) = exec.answer(req) else {
                return;
            };
            if out.send(Event::Worker(reply)).is_err() {
                return;
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
    use crate::store::list::SortColumn;

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
