//! Long-running work (import, training, CLV fits) reports progress through a
//! callback and stops when asked: one `Ctl` is handed down to every step.

use crate::error::{Error, Result};
use std::sync::atomic::{AtomicBool, Ordering};

/// Where a job is: a phase name, and `done` of `total` units in that phase.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Progress {
    pub phase: String,
    pub done: u64,
    pub total: u64,
}

impl Progress {
    pub fn percent(&self) -> u16 {
        (self.done.min(self.total) * 100)
            .checked_div(self.total)
            .unwrap_or(0) as u16
    }
}

/// Progress reporting and cancellation for one job.
#[derive(Clone, Copy)]
pub struct Ctl<'a> {
    progress: &'a (dyn Fn(Progress) + Sync),
    cancel: &'a AtomicBool,
}

static NEVER: AtomicBool = AtomicBool::new(false);
fn ignore(_: Progress) {}

impl<'a> Ctl<'a> {
    pub fn new(progress: &'a (dyn Fn(Progress) + Sync), cancel: &'a AtomicBool) -> Self {
        Ctl { progress, cancel }
    }

    /// A control that reports nowhere and is never cancelled.
    pub fn silent() -> Ctl<'static> {
        Ctl {
            progress: &ignore,
            cancel: &NEVER,
        }
    }

    pub fn report(&self, phase: &str, done: u64, total: u64) {
        (self.progress)(Progress {
            phase: phase.to_string(),
            done,
            total,
        });
    }

    pub fn is_cancelled(&self) -> bool {
        self.cancel.load(Ordering::Relaxed)
    }

    /// `Err(Cancelled)` once cancellation was requested.
    pub fn check(&self) -> Result<()> {
        if self.is_cancelled() {
            Err(Error::Cancelled)
        } else {
            Ok(())
        }
    }
}
