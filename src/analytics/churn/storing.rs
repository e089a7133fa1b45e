//! A trained model version stored: in a file (its scores table and ranking,
//! views on the active one) or on a PostgreSQL server (its scores, and the
//! active figures the queue reads), with the same decision whether it
//! becomes the active one.

use super::*;
use crate::store::history::Source;

/// Train, evaluate, score and store a model version in a file.
pub fn train(conn: &mut Connection, opts: &TrainOptions, ctl: Ctl) -> Result<TrainReport> {
    store::with_big_cache(conn, |c| train_inner(c, opts, ctl))
}

fn train_inner(conn: &mut Connection, opts: &TrainOptions, ctl: Ctl) -> Result<TrainReport> {
    let src = Source::File(store::history::path_of(conn)?);
    // The old scores this version's prune retires, read ahead while the
    // job computes, so that clearing them after the commit is quick.
    let warming = store::retired::warm(conn, store::models::soon_pruned(conn)?);
    // What the queue's priorities need beside the new scores, read on a
    // thread of its own once the job's own reads are done (see
    // store::feedback::Prefetched; used only if the version becomes active).
    let prefetch = store::feedback::Prefetched::clv_ahead(conn)?;
    let Trained {
        mut report,
        params,
        label_source,
        scores,
        started,
    } = compute(&*conn, &src, opts, ctl, &|| prefetch.start())?;
    // One transaction: the version, its scores, the activation decision.
    ctl.report("writing scores", 0, 1);
    let params_json = serde_json::to_string(&params)?;
    let new_auc = auc_of(&report);
    // When the version will likely become active, the prefetch is
    // collected before the write lock is taken (the decision itself is
    // taken again inside the transaction; a failed prefetch only means the
    // refresh reads for itself).
    let clv = {
        let prev = store::models::active(&*conn)?;
        let (likely, _) = decide(
            opts,
            prev.as_ref().map(|p| p.id),
            auc_in(prev.as_ref()),
            new_auc,
            0,
        );
        match likely {
            true => prefetch.wait().ok(),
            false => None,
        }
    };
    let tx = store::begin_immediate(conn)?;
    let prev = store::models::active(&tx)?;
    let id = store::models::insert(
        &tx,
        &new_model(opts, &report, &report.as_of, &label_source, &params_json),
    )?;
    // The oldest kept version's scores are retired (renamed: instant) and
    // dropped after the commit (store::retired), so the write lock is never
    // held for a cold drop (3-24 s at a million).
    store::models::prune(&tx)?;
    let (activate, why) = decide(
        opts,
        prev.as_ref().map(|p| p.id),
        auc_in(prev.as_ref()),
        new_auc,
        id,
    );
    let held =
        activate.then(|| store::scores::ActiveByCid::from_pairs(scores.iter().map(|s| (s.0, s.1))));
    // The dashboard's per-customer pass runs beside the writing (best
    // effort: without it, `warm` computes the aggregates after the commit).
    let ahead = opts.dashboard.and_then(|t| {
        let held = store::dashboard::Held {
            churn: held.clone(),
            clv: None,
        };
        store::dashboard::Ahead::start(&tx, t.high, t.medium, held).ok()
    });
    ctl.report("writing scores", 0, 1);
    store::models::write_scores(
        &tx,
        id,
        scores.iter().map(|(c, p, d)| (*c, *p, d.as_slice())),
    )?;
    ctl.check()?;
    if let Some(held) = held {
        store::models::activate_given(&tx, id, ctl, Some(held), clv)?;
    }
    report.model_id = id;
    report.active = activate;
    report.activation = why;
    report.duration_ms = started.elapsed().as_millis() as u64;
    store::models::update_report(
        &tx,
        id,
        &serde_json::to_value(&report)?,
        report.duration_ms as i64,
    )?;
    store::audit::append(
        &tx,
        &opts.agent,
        "train",
        "model",
        &id.to_string(),
        None,
        Some(if activate { "active" } else { "inactive" }),
        Some(&audit_text(opts, id, new_auc)),
    )?;
    ctl.check()?;
    store::dashboard::bump_version(&tx)?;
    if let Some(ahead) = ahead {
        ctl.report("computing the dashboard", 0, 1);
        ahead.store(&tx)?;
    }
    ctl.report("committing", 0, 1);
    // The last moment a cancel can still keep everything as it was.
    ctl.check()?;
    store::jobs::done_within(&*tx)?;
    tx.commit()?;
    report.duration_ms = started.elapsed().as_millis() as u64;
    // Committed: clearing the retired scores is housekeeping. A failure or a
    // cancel leaves them retired for the next job to clear.
    warming.wait();
    let _ = store::retired::clear(conn, ctl);
    Ok(report)
}

/// Train, evaluate, score and store a model version on a server (`url`
/// names it for the readers, which open connections of their own).
pub fn train_on_server(
    pg: &store::pg::Pg,
    url: &str,
    opts: &TrainOptions,
    ctl: Ctl,
) -> Result<TrainReport> {
    let src = Source::Server(url.to_string());
    let Trained {
        mut report,
        params,
        label_source,
        scores,
        started,
    } = compute(pg, &src, opts, ctl, &|| {})?;
    ctl.report("writing scores", 0, 1);
    let params_json = serde_json::to_string(&params)?;
    let new_auc = auc_of(&report);
    let as_of = report.as_of.clone();
    let as_stored = new_model(opts, &report, &as_of, &label_source, &params_json);
    store::pg::models::store(
        pg,
        &as_stored,
        &scores,
        &mut |id, prev| {
            let (activate, why) =
                decide(opts, prev.map(|p| p.0), prev.and_then(|p| p.1), new_auc, id);
            report.model_id = id;
            report.active = activate;
            report.activation = why;
            report.duration_ms = started.elapsed().as_millis() as u64;
            Ok((
                activate,
                serde_json::to_string(&report)?,
                audit_text(opts, id, new_auc),
            ))
        },
        ctl,
    )?;
    report.duration_ms = started.elapsed().as_millis() as u64;
    Ok(report)
}

/// The version's row as stored (its report is written once it is decided).
fn new_model<'a>(
    opts: &'a TrainOptions,
    report: &TrainReport,
    as_of: &'a str,
    label_source: &'a str,
    params_json: &'a str,
) -> store::models::NewModel<'a> {
    static NO_REPORT: serde_json::Value = serde_json::Value::Null;
    store::models::NewModel {
        kind: opts.kind.as_str(),
        agent: &opts.agent,
        as_of,
        window_days: opts.window_days,
        label_source,
        n_train: report.n_train as i64,
        n_test: report.n_test as i64,
        positive_rate: report.positive_rate,
        duration_ms: 0,
        report: &NO_REPORT,
        params: params_json,
    }
}

fn auc_of(report: &TrainReport) -> Option<f64> {
    report
        .metrics
        .as_ref()
        .map(|m| m.auc)
        .filter(|a| a.is_finite())
}

fn audit_text(opts: &TrainOptions, id: i64, new_auc: Option<f64>) -> String {
    format!(
        "{} model v{id}: {}",
        opts.kind.as_str(),
        match new_auc {
            Some(a) => format!("holdout AUC {a:.3}"),
            None => "no holdout".into(),
        }
    )
}

/// Whether version `id` becomes the active one, and why: the first model,
/// `--activate`, or a holdout AUC no worse than the active version's (by
/// more than the tolerance); a model of another kind is kept for comparison.
/// A stored version's holdout AUC.
fn auc_in(m: Option<&store::models::ModelRow>) -> Option<f64> {
    m.and_then(|p| p.report.get("metrics"))
        .and_then(|m| m.get("auc"))
        .and_then(|a| a.as_f64())
}

fn decide(
    opts: &TrainOptions,
    prev_id: Option<i64>,
    prev_auc: Option<f64>,
    new_auc: Option<f64>,
    id: i64,
) -> (bool, String) {
    match (prev_id, new_auc, prev_auc) {
        _ if opts.activate => (true, "activated (--activate)".to_string()),
        (None, _, _) => (true, "activated: the first model".to_string()),
        // Another kind than the product's logistic model is trained to be
        // compared, not to replace the scores agents work from.
        (Some(p_id), _, _) if opts.kind != ModelKind::Logistic => (
            false,
            format!(
                "kept inactive: a {} model is trained for comparison with the active v{}; \
                 activate it with `crmtop model activate {id}` (or train with --activate)",
                opts.kind.as_str(),
                p_id
            ),
        ),
        (Some(p_id), Some(a), Some(b)) if a >= b - AUC_TOLERANCE => (
            true,
            format!("activated: holdout AUC {a:.3} against {b:.3} of v{} ({:+.3})", p_id, a - b),
        ),
        (Some(p_id), Some(a), Some(b)) => (
            false,
            format!(
                "kept inactive: holdout AUC {a:.3} is below {b:.3} of the active v{} by more than {AUC_TOLERANCE}; \
                 activate it anyway with `crmtop model activate {id}`",
                p_id
            ),
        ),
        (Some(p_id), Some(a), None) => (
            true,
            format!("activated: holdout AUC {a:.3}; the active v{} had no holdout AUC", p_id),
        ),
        (Some(p_id), None, _) => (
            false,
            format!(
                "kept inactive: no holdout AUC to compare with v{} (train with --holdout above 0, or pass --activate)",
                p_id
            ),
        ),
    }
}
