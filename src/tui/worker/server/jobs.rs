//! A server's jobs from the UI: a retrain or refit in a child `crmtop`
//! (or in this process when none can start), an export on a connection of
//! its own, a model's activation; in tests, each answered at once.

use super::super::{JobSpec, Response};
use super::ServerExecutor;
use crate::store::pg::Pg;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

impl ServerExecutor {
    /// Retrain in a child `crmtop --db URL train` (as on a file): its
    /// progress and its end reach the UI as a file's job's do.
    pub(super) fn start_job(&mut self, spec: JobSpec) -> crate::Result<Option<Response>> {
        let running = self.job.as_ref().is_some_and(|(_, h)| !h.is_finished());
        if let Some(no) = super::super::jobs::refusal(running, self.read_only, &spec) {
            return Ok(Some(no));
        }
        if let JobSpec::ActivateModel(id) = spec {
            let agent = crate::agent::resolve(None);
            let result = crate::store::pg::models::activate(&self.pg, id, &agent)
                .map(|()| format!("model v{id} is now active"))
                .map_err(|e| e.to_string());
            return Ok(Some(Response::JobDone {
                label: spec.label(),
                result,
                cancelled: false,
            }));
        }
        // No event channel (tests): the job here, answered at once, as a
        // file's is.
        if self.out.is_none() {
            let label = spec.label();
            let cancel = AtomicBool::new(false);
            let r = match spec {
                JobSpec::Export {
                    what,
                    path,
                    csv,
                    mask,
                } => crate::tui::job_runner::export(&self.pg, &[], what, &path, csv, mask),
                job => {
                    let prev_auc = crate::store::pg::models::active_auc(&self.pg)?;
                    in_process(&self.url, job, prev_auc, &|_| {}, &cancel)
                }
            };
            let cancelled = matches!(r, Err(crate::Error::Cancelled));
            return Ok(Some(Response::JobDone {
                label,
                result: r.map_err(|e| e.to_string()),
                cancelled,
            }));
        }
        if let (
            Some(out),
            JobSpec::Export {
                what,
                path,
                csv,
                mask,
            },
        ) = (self.out.clone(), &spec)
        {
            // On its own connection, beside the screens' reads.
            let (url, label) = (self.url.clone(), spec.label());
            let (what, path, csv, mask) = (*what, path.clone(), *csv, *mask);
            let h = std::thread::Builder::new()
                .name("crmtop-export".into())
                .spawn(move || {
                    let result = Pg::connect(&url, true)
                        .and_then(|pg| {
                            crate::tui::job_runner::export(&pg, &[], what, &path, csv, mask)
                        })
                        .map_err(|e| e.to_string());
                    let _ = out.send(super::super::Event::Worker(Response::JobDone {
                        label,
                        result,
                        cancelled: false,
                    }));
                })
                .map_err(crate::Error::Io)?;
            self.job = Some((Arc::new(AtomicBool::new(false)), h));
            return Ok(None);
        }
        let (Some(out), JobSpec::Train(_) | JobSpec::Clv(_)) = (self.out.clone(), &spec) else {
            return Ok(Some(Response::JobRefused(format!(
                "{}: not on a server yet",
                spec.label()
            ))));
        };
        let Some(mut args) = crate::tui::child::args_for(std::path::Path::new(&self.url), &spec)
        else {
            return Ok(Some(Response::JobRefused(format!(
                "{}: not on PostgreSQL yet",
                spec.label()
            ))));
        };
        // The URL goes in the child's environment, not its command line.
        if args.first().is_some_and(|a| a == "--db") {
            args.drain(..2);
        }
        let url = self.url.clone();
        let prev_auc = crate::store::pg::models::active_auc(&self.pg)?;
        let cancel = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&cancel);
        let label = spec.label();
        let is_clv = matches!(spec, JobSpec::Clv(_));
        let job = spec.clone();
        let h = std::thread::Builder::new()
            .name("crmtop-job".into())
            .spawn(move || {
                let progress_out = out.clone();
                let progress = move |p: crate::jobs::Progress| {
                    let _ = progress_out.send(super::super::Event::Worker(Response::Progress(p)));
                };
                let (result, cancelled) =
                    match crate::tui::child::run_with_db(&args, Some(&url), &progress, &flag) {
                        Ok(crate::tui::child::Ended::Done(v)) if is_clv => (
                            Ok(crate::tui::job_runner::clv_message(
                                v["fit_id"].as_i64().unwrap_or(0),
                                v["customers"].as_u64().unwrap_or(0),
                                v["total_clv"].as_f64().unwrap_or(0.0),
                                v["gamma_gamma_note"].as_str(),
                            )),
                            false,
                        ),
                        Ok(crate::tui::child::Ended::Done(v)) => (
                            Ok(crate::tui::job_runner::train_message(
                                v["model_id"].as_i64().unwrap_or(0),
                                v["metrics"]["auc"].as_f64(),
                                prev_auc,
                                v["active"].as_bool().unwrap_or(false),
                                v["activation"].as_str().unwrap_or(""),
                            )),
                            false,
                        ),
                        Ok(crate::tui::child::Ended::Cancelled) => (Err("cancelled".into()), true),
                        Ok(crate::tui::child::Ended::Failed(m)) => (Err(m), false),
                        // No child (the program was replaced or removed
                        // since this UI started): here, as a file's job
                        // falls back to running in the UI's process.
                        Err(_) => match in_process(&url, job, prev_auc, &progress, &flag) {
                            Ok(m) => (Ok(m), false),
                            Err(crate::Error::Cancelled) => (Err("cancelled".into()), true),
                            Err(e) => (Err(e.to_string()), false),
                        },
                    };
                let _ = out.send(super::super::Event::Worker(Response::JobDone {
                    label,
                    result,
                    cancelled,
                }));
            })
            .map_err(crate::Error::Io)?;
        self.job = Some((cancel, h));
        Ok(None)
    }
}

/// A retrain or refit on the server in this process, on a connection of
/// its own (when no child `crmtop` can be started).
fn in_process(
    url: &str,
    job: JobSpec,
    prev_auc: Option<f64>,
    progress: &(dyn Fn(crate::jobs::Progress) + Sync),
    cancel: &AtomicBool,
) -> crate::Result<String> {
    let pg = Pg::connect(url, false)?;
    let ctl = crate::jobs::Ctl::new(progress, cancel);
    match job {
        JobSpec::Train(opts) => {
            let r = crate::analytics::churn::train_on_server(&pg, url, &opts, ctl)?;
            Ok(crate::tui::job_runner::trained(&r, prev_auc))
        }
        JobSpec::Clv(opts) => {
            let r = crate::analytics::clv::fit_on_server(&pg, &opts, ctl)?;
            Ok(crate::tui::job_runner::fitted(&r))
        }
        other => Err(crate::Error::Other(format!(
            "{}: not on a server yet",
            other.label()
        ))),
    }
}
