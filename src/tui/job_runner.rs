//! Running the long jobs (training, CLV fits, exports): the heavy ones in a
//! child crmtop process, with the messages the status line shows at the end.

use super::messages::{ExportWhat, JobSpec};
use crate::analytics::churn;
use crate::jobs::{Ctl, Progress};
use crate::store::{self, models, Mode};
use std::sync::atomic::AtomicBool;

/// The active model's holdout AUC, to say what a new one changed.
fn active_auc(conn: &store::Conn) -> crate::Result<Option<f64>> {
    Ok(models::active(conn)?.and_then(|p| {
        p.report
            .get("metrics")
            .and_then(|m| m.get("auc"))
            .and_then(|a| a.as_f64())
    }))
}

pub(crate) fn train_message(
    model_id: i64,
    auc: Option<f64>,
    prev_auc: Option<f64>,
    active: bool,
    activation: &str,
) -> String {
    let mut msg = format!("model v{model_id}");
    if let Some(a) = auc {
        msg.push_str(&format!(": AUC {a:.3}"));
        if let Some(b) = prev_auc {
            msg.push_str(&format!(" ({:+.3})", a - b));
        }
    }
    // (Why it stays inactive, from the training's own decision.)
    msg.push_str(if active {
        ", activated"
    } else if activation.contains("for comparison") {
        ", kept inactive: trained for comparison (A on Models activates it)"
    } else {
        ", kept inactive (AUC below the active model's)"
    });
    msg
}

/// What a finished training says (against the version active before it).
pub(crate) fn trained(r: &churn::TrainReport, prev_auc: Option<f64>) -> String {
    train_message(
        r.model_id,
        r.metrics.as_ref().map(|m| m.auc),
        prev_auc,
        r.active,
        &r.activation,
    )
}

/// What a finished CLV fit says.
pub(crate) fn fitted(r: &crate::analytics::clv::ClvReport) -> String {
    clv_message(
        r.fit_id,
        r.customers as u64,
        r.total_clv,
        r.gamma_gamma_note.as_deref(),
    )
}

pub(crate) fn clv_message(fit_id: i64, customers: u64, total: f64, note: Option<&str>) -> String {
    let mut msg = format!(
        "CLV fit #{fit_id}: {} customers, total {}",
        crate::tui::views::format::count(customers as i64),
        crate::analytics::priority::money(total)
    );
    if let Some(n) = note {
        msg.push_str(&format!(" ({n})"));
    }
    msg
}

/// Run a job, the heavy ones (training, CLV) in a child crmtop process
/// (see `child`); in this process when no child can be started.
pub fn run_job_isolated(
    path: &std::path::Path,
    spec: JobSpec,
    progress: &(dyn Fn(Progress) + Sync),
    cancel: &AtomicBool,
) -> crate::Result<String> {
    let Some(args) = super::child::args_for(path, &spec) else {
        return run_job(path, spec, Ctl::new(progress, cancel));
    };
    let prev_auc = match &spec {
        JobSpec::Train(_) => active_auc(&store::open(path, Mode::ReadOnly)?.conn)?,
        _ => None,
    };
    match super::child::run(&args, progress, cancel) {
        Ok(super::child::Ended::Done(v)) => Ok(match spec {
            JobSpec::Train(_) => train_message(
                v["model_id"].as_i64().unwrap_or(0),
                v["metrics"]["auc"].as_f64(),
                prev_auc,
                v["active"].as_bool().unwrap_or(false),
                v["activation"].as_str().unwrap_or(""),
            ),
            _ => clv_message(
                v["fit_id"].as_i64().unwrap_or(0),
                v["customers"].as_u64().unwrap_or(0),
                v["total_clv"].as_f64().unwrap_or(0.0),
                v["gamma_gamma_note"].as_str(),
            ),
        }),
        Ok(super::child::Ended::Cancelled) => Err(crate::Error::Cancelled),
        Ok(super::child::Ended::Failed(m)) => Err(crate::Error::Other(m)),
        Err(_) => run_job(path, spec, Ctl::new(progress, cancel)),
    }
}

/// Run a job on its own connection; the message says what changed.
pub fn run_job(path: &std::path::Path, spec: JobSpec, ctl: Ctl) -> crate::Result<String> {
    let mut s = store::open(path, Mode::ReadWrite)?;
    match spec {
        JobSpec::Train(opts) => {
            let prev_auc = active_auc(&s.conn)?;
            let job = store::jobs::start(&s.conn, "train", &opts.agent)?;
            let r = churn::train(&mut s.conn, &opts, ctl);
            crate::cli::finish_job(&s.conn, job, &r);
            Ok(trained(&r?, prev_auc))
        }
        JobSpec::Clv(opts) => {
            let job = store::jobs::start(&s.conn, "clv", &opts.agent)?;
            let r = crate::analytics::clv::fit(&mut s.conn, &opts, ctl);
            crate::cli::finish_job(&s.conn, job, &r);
            Ok(fitted(&r?))
        }
        JobSpec::ActivateModel(id) => {
            let agent = crate::agent::resolve(None);
            churn::activate(&mut s.conn, id, &agent, ctl)?;
            Ok(format!("model v{id} is now active"))
        }
        JobSpec::Export {
            what,
            path: out,
            csv,
            mask,
        } => export(
            &s.conn,
            &crate::outfile::database_files(&s.path),
            what,
            &out,
            csv,
            mask,
        ),
    }
}

/// `:export`: `what` from a file's or a server's database into `out`, a
/// private file replaced whole (see crate::outfile), never one of
/// `protected` (the database's own files).
pub(crate) fn export(
    conn: &dyn crate::store::sql::Sql,
    protected: &[std::path::PathBuf],
    what: ExportWhat,
    out: &std::path::Path,
    csv: bool,
    mask: bool,
) -> crate::Result<String> {
    use crate::export::{self as ex, Format};
    let f = crate::outfile::OutFile::create(out, protected)?;
    let mut w = std::io::BufWriter::new(f);
    let format = if csv { Format::Csv } else { Format::Json };
    let n = match what {
        ExportWhat::Customers => ex::customers(conn, format, mask, &mut w)?,
        ExportWhat::Orders => ex::orders(conn, format, &mut w)?,
        ExportWhat::Feedback => ex::feedback(conn, format, mask, &mut w)?,
        ExportWhat::Churn => ex::churn(conn, format, mask, &mut w)?,
        ExportWhat::Clv => ex::clv(conn, format, &mut w)?,
    };
    w.into_inner()
        .map_err(|e| crate::Error::File {
            path: out.to_path_buf(),
            message: e.error().to_string(),
        })?
        .commit()?;
    Ok(format!("exported {n} rows to {}", out.display()))
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_fit_says_its_customers_as_the_screens_count_them() {
        assert_eq!(
            super::clv_message(2, 100_000, 1_139_068.53, None),
            "CLV fit #2: 100,000 customers, total 1,139,068.53"
        );
    }
}
