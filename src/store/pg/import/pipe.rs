//! One `COPY ... FROM STDIN` kept open across a load's batches, fed by a
//! thread of its own: the server stores each batch's new rows while the
//! next batches are read and decided. Sent batch by batch and waited for,
//! the server and crmtop had taken turns (a third of the time each side
//! was idle: 44 s to copy 10,000,000 orders).
//!
//! The thread is lent the connection (`Pg::lend`) and gives it back when
//! the pipe closes, before anything else asks the server. Closed by
//! [`Pipe::close`], the COPY is finished and its error, if any, returned;
//! dropped (an error or a cancel elsewhere), the COPY is abandoned, which
//! the server takes as a failed statement; the load's transaction is
//! rolled back either way.

use super::Pg;
use crate::error::{Error, Result};
use postgres::Client;
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::thread::JoinHandle;

/// Why the COPY failed, as the thread saw it.
enum Failed {
    Server(postgres::Error),
    Io(std::io::Error),
}

type Ended = (Client, std::result::Result<(), Failed>);

pub(super) struct Pipe<'a> {
    pg: &'a Pg,
    tx: Option<mpsc::SyncSender<Vec<u8>>>,
    thread: Option<JoinHandle<Ended>>,
    abandon: Arc<AtomicBool>,
}

impl<'a> Pipe<'a> {
    /// Open `COPY {target} FROM STDIN` (`target`: one of our tables and its
    /// columns, a constant) on a thread lent `pg`'s connection.
    pub(super) fn open(pg: &'a Pg, target: &'static str) -> Result<Pipe<'a>> {
        let Some(mut client) = pg.lend() else {
            return Err(Error::Other(
                "the connection to the server is already in use".into(),
            ));
        };
        // A few batches in flight: the reader never waits on the server
        // for long, and memory stays flat.
        let (tx, rx) = mpsc::sync_channel::<Vec<u8>>(4);
        let abandon = Arc::new(AtomicBool::new(false));
        let stop = Arc::clone(&abandon);
        let spawned = std::thread::Builder::new()
            .name("crmtop-copy".into())
            .spawn(move || {
                let r = copy(&mut client, target, rx, &stop);
                (client, r)
            });
        match spawned {
            Ok(thread) => Ok(Pipe {
                pg,
                tx: Some(tx),
                thread: Some(thread),
                abandon,
            }),
            // (The client went with the closure that never ran.)
            Err(e) => Err(Error::Other(format!("cannot start the copy thread: {e}"))),
        }
    }

    /// Rows in COPY's text format, to be sent. An error when the COPY
    /// has already failed (the server's error).
    pub(super) fn send(&mut self, bytes: Vec<u8>) -> Result<()> {
        let failed = match &self.tx {
            Some(tx) => tx.send(bytes).is_err(),
            None => true,
        };
        if failed {
            // The thread stopped: its error says why.
            self.end(false)?;
            return Err(Error::Other("the copy to the server stopped".into()));
        }
        Ok(())
    }

    /// Finish the COPY (every row sent) and give the connection back.
    pub(super) fn close(mut self) -> Result<()> {
        self.end(false)
    }

    fn end(&mut self, abandon: bool) -> Result<()> {
        self.abandon.store(abandon, Ordering::SeqCst);
        self.tx = None;
        let Some(thread) = self.thread.take() else {
            return Ok(());
        };
        match thread.join() {
            Ok((client, r)) => {
                self.pg.give_back(client);
                match r {
                    Ok(()) => Ok(()),
                    Err(Failed::Server(e)) => Err(self.pg.error(e)),
                    Err(Failed::Io(e)) => Err(e.into()),
                }
            }
            // The connection is lost with the thread: the load fails,
            // and with no connection its transaction ends on the server.
            Err(_) => Err(Error::Other("the copy thread panicked".into())),
        }
    }
}

impl Drop for Pipe<'_> {
    fn drop(&mut self) {
        let _ = self.end(true);
    }
}

/// The thread: one COPY fed with every batch received, finished when the
/// channel closes (abandoned instead when told so).
fn copy(
    client: &mut Client,
    target: &str,
    rx: mpsc::Receiver<Vec<u8>>,
    abandon: &AtomicBool,
) -> std::result::Result<(), Failed> {
    // sql-format-ok: our table and its columns (see `Pipe::open`).
    let mut w = client
        .copy_in(&format!("COPY {target} FROM STDIN"))
        .map_err(Failed::Server)?;
    for bytes in rx {
        w.write_all(&bytes).map_err(Failed::Io)?;
    }
    if abandon.load(Ordering::SeqCst) {
        // Dropped unfinished: the server is told the COPY failed.
        drop(w);
        return Ok(());
    }
    w.finish().map_err(Failed::Server)?;
    Ok(())
}
