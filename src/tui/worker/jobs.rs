//! Long jobs on a thread of their own (a child process for fits).

use super::{panic_text, run_job, run_job_isolated, Executor, JobSpec, Response};
use crate::jobs::{Ctl, Progress};
use crate::tui::event::Event;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

impl Executor {
    pub(super) fn job_running(&mut self) -> bool {
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

    pub(super) fn start_job(&mut self, spec: JobSpec) -> crate::Result<Option<Response>> {
        if let Some(no) = refusal(self.job_running(), self.read_only, &spec) {
            return Ok(Some(no));
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
}

/// Why a job cannot start now, on either engine: one already runs, or the
/// UI is read-only.
pub(super) fn refusal(running: bool, read_only: bool, spec: &JobSpec) -> Option<Response> {
    if running {
        return Some(Response::JobRefused(
            "a job is already running; wait for it or cancel it (Esc)".into(),
        ));
    }
    read_only.then(|| {
        Response::JobRefused(format!(
            "read-only (--read-only): {} is disabled",
            spec.label()
        ))
    })
}
