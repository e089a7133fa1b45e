//! Training and CLV fits run in a child crmtop process (the same binary, the
//! same `crmtop train` / `crmtop clv` a script would run), not in the UI's
//! own: a fit on a million customers needs about a gigabyte for a few
//! seconds, which the UI would otherwise keep (the allocator does not give it
//! all back), and a crash in a fit cannot take the screen with it.
//!
//! The child reports progress as JSON lines on stderr (`CRMTOP_PROGRESS=json`)
//! and its result as JSON on stdout. Cancelling sends it SIGTERM: it rolls
//! back and exits 130, as on Ctrl-C. It is cancelled too if the UI dies
//! (SIGUSR1 by `PR_SET_PDEATHSIG`), so a killed UI never leaves a fit
//! running on.

use super::worker::JobSpec;
use crate::analytics::clv::Method;
use crate::jobs::Progress;
use std::io::{BufRead, BufReader, Read};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// The command line of a job that runs in a child, or None for the light
/// jobs that run in the UI's worker.
pub fn args_for(db: &Path, spec: &JobSpec) -> Option<Vec<String>> {
    let mut a: Vec<String> = vec!["--db".into(), db.display().to_string()];
    match spec {
        JobSpec::Train(o) => {
            a.extend(["--agent".into(), o.agent.clone(), "train".into()]);
            a.extend(["--model".into(), o.kind.as_str().into()]);
            if let Some(d) = o.as_of {
                a.extend(["--as-of".into(), d.format("%Y-%m-%d").to_string()]);
            }
            a.extend(["--window-days".into(), o.window_days.to_string()]);
            a.extend(["--holdout".into(), o.holdout.to_string()]);
            if let Some(k) = o.cv {
                a.extend(["--cv".into(), k.to_string()]);
            }
            a.extend(["--l2".into(), o.l2.to_string()]);
            a.extend(["--seed".into(), o.seed.to_string()]);
            if o.activate {
                a.push("--activate".into());
            }
        }
        JobSpec::Clv(o) => {
            a.extend(["--agent".into(), o.agent.clone(), "clv".into()]);
            if let Some(d) = o.as_of {
                a.extend(["--as-of".into(), d.format("%Y-%m-%d").to_string()]);
            }
            a.extend(["--time-unit".into(), o.time_unit.as_str().into()]);
            a.extend(["--horizon-months".into(), o.horizon_months.to_string()]);
            a.extend(["--discount".into(), o.discount.to_string()]);
            a.extend(["--margin".into(), o.margin.to_string()]);
            a.extend(["--penalizer".into(), o.penalizer.to_string()]);
            let method = match o.method {
                Method::Auto => "auto",
                Method::Bgnbd => "bgnbd",
                Method::Retention => "retention",
            };
            a.extend(["--method".into(), method.into()]);
            if let Some(r) = &o.revenue_attr {
                a.extend(["--revenue-attr".into(), r.clone()]);
            }
            a.extend(["--model".into(), o.model.as_str().into()]);
        }
        JobSpec::ActivateModel(_) | JobSpec::Export { .. } => return None,
    }
    a.push("--json".into());
    Some(a)
}

/// How a child job ended.
pub enum Ended {
    /// Its JSON report.
    Done(serde_json::Value),
    Cancelled,
    Failed(String),
}

/// Run a job in a child process. Err when no child could be started (the
/// caller then runs the job itself).
pub fn run(
    args: &[String],
    progress: &(dyn Fn(Progress) + Sync),
    cancel: &AtomicBool,
) -> std::io::Result<Ended> {
    run_with_db(args, None, progress, cancel)
}

/// `run`, with the database named in the child's environment (`CRMTOP_DB`)
/// instead of its command line, which every local user can read (a
/// server's URL may hold a password).
pub fn run_with_db(
    args: &[String],
    db: Option<&str>,
    progress: &(dyn Fn(Progress) + Sync),
    cancel: &AtomicBool,
) -> std::io::Result<Ended> {
    let exe = std::env::current_exe()?;
    let mut cmd = Command::new(exe);
    if let Some(db) = db {
        cmd.env("CRMTOP_DB", db);
    }
    cmd.args(args)
        .env("CRMTOP_PROGRESS", "json")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // A session of its own, away from the terminal: a hangup or a key that
    // signals the UI's process group must not reach the job too (a second
    // signal ends a job at once, before it can record how it ended). The UI
    // alone stops it: SIGTERM on cancel, and SIGUSR1 from the kernel when
    // the UI dies (PR_SET_PDEATHSIG; sent again each time the job passes to
    // another of the dying UI's threads, hence a signal that only cancels).
    // SAFETY: setsid and prctl are async-signal-safe, as code between fork
    // and exec must be.
    unsafe {
        cmd.pre_exec(|| {
            libc::setsid();
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGUSR1);
            Ok(())
        });
    }
    let mut child = cmd.spawn()?;
    let pid = child.id() as libc::pid_t;
    let (Some(mut out), Some(err)) = (child.stdout.take(), child.stderr.take()) else {
        let _ = child.kill();
        let _ = child.wait();
        return Err(std::io::Error::other("the job's pipes did not open"));
    };
    let (status, stdout, words) = std::thread::scope(|scope| -> std::io::Result<_> {
        // Both pipes are drained on their own threads, so neither can fill up.
        let reader = scope.spawn(move || {
            let mut s = String::new();
            let _ = out.read_to_string(&mut s);
            s
        });
        // stderr: progress lines, and the words of an error.
        let errors = scope.spawn(move || {
            let mut words = Vec::new();
            for line in BufReader::new(err).lines() {
                let Ok(line) = line else { break };
                match serde_json::from_str::<serde_json::Value>(&line) {
                    Ok(v) if v.get("phase").is_some() => {
                        let phase = v["phase"].as_str().unwrap_or("").to_string();
                        if phase != "end" {
                            progress(Progress {
                                phase,
                                done: v["done"].as_u64().unwrap_or(0),
                                total: v["total"].as_u64().unwrap_or(1),
                            });
                        }
                    }
                    _ => words.push(line),
                }
            }
            words
        });
        // Wait, and on cancel send SIGTERM once (from this thread, which is
        // the only one that reaps the child: the pid is still ours).
        let mut signalled = false;
        let status = loop {
            if let Some(st) = child.try_wait()? {
                break st;
            }
            if cancel.load(Ordering::SeqCst) && !signalled {
                // SAFETY: kill(2) on the pid of our own child, not yet reaped.
                unsafe {
                    libc::kill(pid, libc::SIGTERM);
                }
                signalled = true;
            }
            std::thread::sleep(Duration::from_millis(25));
        };
        let stdout = reader.join().unwrap_or_default();
        let words = errors.join().unwrap_or_default();
        Ok((status, stdout, words))
    })?;
    let message = || {
        words
            .iter()
            .map(|l| l.trim_start_matches("crmtop: ").trim())
            .filter(|l| !l.is_empty())
            .collect::<Vec<_>>()
            .join("; ")
    };
    Ok(match status.code() {
        Some(0) => match serde_json::from_str(&stdout) {
            Ok(v) => Ended::Done(v),
            Err(e) => Ended::Failed(format!("the job's report could not be read: {e}")),
        },
        Some(130) => Ended::Cancelled,
        None if cancel.load(Ordering::SeqCst) => Ended::Cancelled,
        Some(code) => Ended::Failed(if words.is_empty() {
            format!("the job failed (exit code {code})")
        } else {
            message()
        }),
        None => Ended::Failed("the job was killed".into()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{Cli, Command};
    use clap::Parser;

    /// The command line built for a job parses back, through the real CLI,
    /// into the very options the UI asked for (a renamed flag fails here,
    /// not in a user's retrain).
    #[test]
    fn job_command_lines_round_trip_through_the_cli() {
        let db = Path::new("/tmp/x.db");
        let train = crate::analytics::churn::TrainOptions {
            kind: crate::analytics::churn::ModelKind::RandomForest,
            as_of: chrono::NaiveDate::from_ymd_opt(2025, 6, 30),
            window_days: 60,
            holdout: 0.25,
            cv: Some(3),
            l2: 0.5,
            seed: 7,
            activate: true,
            agent: "ann".into(),
            dashboard: None,
        };
        let clv = crate::analytics::clv::ClvOptions {
            as_of: chrono::NaiveDate::from_ymd_opt(2025, 6, 30),
            time_unit: crate::analytics::clv::TimeUnit::Day,
            horizon_months: 24,
            discount: 0.02,
            margin: 0.3,
            penalizer: 0.001,
            method: Method::Retention,
            revenue_attr: Some("MonthlyCharges".into()),
            model: crate::analytics::clv::family::Model::Pnbd,
            agent: "ann".into(),
            dashboard: None,
        };
        for spec in [JobSpec::Train(train), JobSpec::Clv(clv)] {
            let args = args_for(db, &spec).expect("a child job");
            let cli = Cli::try_parse_from(std::iter::once("crmtop".to_string()).chain(args))
                .expect("the CLI takes it");
            assert_eq!(cli.global.db.as_deref(), Some(db));
            assert_eq!(cli.global.agent.as_deref(), Some("ann"));
            let (got, want) = match (cli.command, &spec) {
                (Some(Command::Train(a)), JobSpec::Train(o)) => {
                    (format!("{:?}", a.options("ann")), format!("{o:?}"))
                }
                (Some(Command::Clv(a)), JobSpec::Clv(o)) => {
                    (format!("{:?}", a.options("ann")), format!("{o:?}"))
                }
                (c, _) => panic!("parsed as {c:?}"),
            };
            assert_eq!(got, want);
        }
        assert!(args_for(db, &JobSpec::ActivateModel(3)).is_none());
    }
}
