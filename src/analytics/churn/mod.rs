//! Churn: labels without leakage, training, evaluation, explanation, scoring,
//! and the model versions in the database.
//!
//! Labels. With an explicit `churned` column (at least 50 labelled
//! customers), the model trains on it, with features as of the as-of date.
//! Otherwise labels are derived: T0 = as_of - window; a customer with an
//! order in the 365 days before T0 is "churned" when they place no order
//! from T0 to the end of the as-of day. Training features are computed from
//! data strictly before T0; scoring computes them as of the end of the as-of
//! day and predicts churn in the next window.

mod explain;
pub mod model;

pub use explain::describe_drivers;
pub use model::{Fitted, ModelKind};

use crate::analytics::features::{self, Dropped, FeatureSpec, Raw};
use crate::analytics::logistic::{FitError, IrlsFit};
use crate::analytics::metrics::{self, Metrics};
use crate::error::{Error, Result};
use crate::jobs::Ctl;
use crate::store;
use crate::timeutil::{self, DAY};
use chrono::NaiveDate;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use rusqlite::{Connection, TransactionBehavior};
use serde::{Deserialize, Serialize};
use statrs::distribution::{ContinuousCDF, Normal};
use std::time::Instant;

/// Fewest labelled customers a model is trained on.
pub const MIN_LABELLED: usize = 50;
/// A new model replaces the active one unless its holdout AUC is worse by more than this.
pub const AUC_TOLERANCE: f64 = 0.005;

#[derive(Debug, Clone)]
pub struct TrainOptions {
    pub kind: ModelKind,
    /// Default: the day of the latest order (else today).
    pub as_of: Option<NaiveDate>,
    pub window_days: i64,
    pub holdout: f64,
    pub cv: Option<usize>,
    /// L2 penalty λ (logistic): minimise -loglik + λ/2 Σβ² (intercept free).
    pub l2: f64,
    pub seed: u64,
    pub activate: bool,
    pub agent: String,
}

impl Default for TrainOptions {
    fn default() -> Self {
        TrainOptions {
            kind: ModelKind::Logistic,
            as_of: None,
            window_days: 90,
            holdout: 0.2,
            cv: None,
            l2: 1.0,
            seed: 42,
            activate: false,
            agent: "unknown".into(),
        }
    }
}

/// One row of the coefficient table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Coef {
    pub feature: String,
    pub label: String,
    #[serde(deserialize_with = "crate::analytics::metrics::nan_if_null")]
    pub coef: f64,
    #[serde(deserialize_with = "crate::analytics::metrics::nan_if_null")]
    pub std_err: f64,
    #[serde(deserialize_with = "crate::analytics::metrics::nan_if_null")]
    pub z: f64,
    #[serde(deserialize_with = "crate::analytics::metrics::nan_if_null")]
    pub p_value: f64,
    #[serde(deserialize_with = "crate::analytics::metrics::nan_if_null")]
    pub ci_low: f64,
    #[serde(deserialize_with = "crate::analytics::metrics::nan_if_null")]
    pub ci_high: f64,
    #[serde(deserialize_with = "crate::analytics::metrics::nan_if_null")]
    pub odds_ratio: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CvReport {
    pub folds: usize,
    #[serde(deserialize_with = "crate::analytics::metrics::nan_if_null")]
    pub auc_mean: f64,
    #[serde(deserialize_with = "crate::analytics::metrics::nan_if_null")]
    pub auc_std: f64,
    #[serde(deserialize_with = "crate::analytics::metrics::nan_if_null")]
    pub log_loss_mean: f64,
    pub aucs: Vec<f64>,
}

/// What `crmtop train --json` prints.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TrainReport {
    pub model_id: i64,
    pub kind: String,
    pub active: bool,
    pub activation: String,
    pub as_of: String,
    pub window_days: i64,
    pub label_source: String,
    pub training_cutoff: String,
    pub n_train: usize,
    pub n_test: usize,
    #[serde(deserialize_with = "crate::analytics::metrics::nan_if_null")]
    pub positive_rate: f64,
    pub features: Vec<String>,
    pub dropped_features: Vec<Dropped>,
    pub metrics: Option<Metrics>,
    pub cv: Option<CvReport>,
    /// Standardised units (per standard deviation of the feature).
    pub coefficients: Option<Vec<Coef>>,
    /// The features' own units (per day, per order, per unit of money...).
    pub coefficients_raw: Option<Vec<Coef>>,
    #[serde(deserialize_with = "crate::analytics::metrics::nan_if_null")]
    pub l2: f64,
    #[serde(deserialize_with = "crate::analytics::metrics::nan_if_null")]
    pub holdout: f64,
    pub seed: u64,
    pub iterations: Option<usize>,
    pub log_likelihood: Option<f64>,
    pub scored: u64,
    pub agent: String,
    pub duration_ms: u64,
    pub notes: Vec<String>,
}

/// What scoring needs, stored with the model.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Params {
    pub spec: FeatureSpec,
    pub model: Fitted,
    pub window_days: i64,
    pub explicit_labels: bool,
}

/// How the labels were made and which cutoff the training features use.
struct Plan {
    explicit: bool,
    as_of: NaiveDate,
    cutoffs: Vec<i64>,
    label_ends: Vec<i64>,
    train_cutoff: usize,
    score_cutoff: usize,
}

fn default_as_of(conn: &Connection) -> Result<NaiveDate> {
    let last: Option<i64> = crate::store::customers::latest_order(conn)?;
    Ok(last
        .map(timeutil::ts_to_date)
        .unwrap_or_else(timeutil::today))
}

fn plan(conn: &Connection, opts: &TrainOptions) -> Result<Plan> {
    if opts.window_days < 1 || opts.window_days > 3650 {
        return Err(Error::bad("--window-days must be between 1 and 3650"));
    }
    let as_of = match opts.as_of {
        Some(d) => d,
        None => default_as_of(conn)?,
    };
    let end = timeutil::date_to_ts(as_of) + DAY;
    let labelled: i64 = conn.query_row(
        "SELECT count(*) FROM customers WHERE churned IS NOT NULL",
        [],
        |r| r.get(0),
    )?;
    if labelled as usize >= MIN_LABELLED {
        return Ok(Plan {
            explicit: true,
            as_of,
            cutoffs: vec![end],
            label_ends: vec![end],
            train_cutoff: 0,
            score_cutoff: 0,
        });
    }
    let t0 = end - opts.window_days * DAY;
    Ok(Plan {
        explicit: false,
        as_of,
        cutoffs: vec![t0, end],
        label_ends: vec![end, end + opts.window_days * DAY],
        train_cutoff: 0,
        score_cutoff: 1,
    })
}

/// Training rows and their labels.
fn labels(raw: &Raw, plan: &Plan) -> (Vec<usize>, Vec<bool>) {
    let mut rows = Vec::new();
    let mut y = Vec::new();
    for (i, c) in raw.customers.iter().enumerate() {
        if plan.explicit {
            if let Some(l) = c.churned {
                rows.push(i);
                y.push(l);
            }
        } else {
            let o = raw.order(i, plan.train_cutoff);
            if o.n_365 > 0 {
                rows.push(i);
                y.push(o.n_after == 0);
            }
        }
    }
    (rows, y)
}

/// Stratified split of positions 0..n into (train, test).
fn split(y: &[bool], frac: f64, seed: u64) -> (Vec<usize>, Vec<usize>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut train = Vec::new();
    let mut test = Vec::new();
    for class in [false, true] {
        let mut idx: Vec<usize> = (0..y.len()).filter(|&i| y[i] == class).collect();
        idx.shuffle(&mut rng);
        let k = (idx.len() as f64 * frac).round() as usize;
        test.extend_from_slice(&idx[..k.min(idx.len())]);
        train.extend_from_slice(&idx[k.min(idx.len())..]);
    }
    train.sort_unstable();
    test.sort_unstable();
    (train, test)
}

/// Stratified k folds of positions 0..n.
fn folds(y: &[bool], k: usize, seed: u64) -> Vec<Vec<usize>> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5eed);
    let mut out = vec![Vec::new(); k];
    for class in [false, true] {
        let mut idx: Vec<usize> = (0..y.len()).filter(|&i| y[i] == class).collect();
        idx.shuffle(&mut rng);
        for (n, i) in idx.into_iter().enumerate() {
            out[n % k].push(i);
        }
    }
    out
}

fn fit_error(e: FitError) -> Error {
    match e {
        FitError::Linfa(e) => Error::Other(format!("model fit failed: {e}")),
        other => Error::BadInput(format!("model fit failed: {other}")),
    }
}

/// A stratified sample of at most `max` positions (for the forest).
fn subsample(y: &[bool], max: usize, seed: u64) -> Vec<usize> {
    if y.len() <= max {
        return (0..y.len()).collect();
    }
    let (_, keep) = split(y, max as f64 / y.len() as f64, seed ^ 0xf0);
    keep
}

/// A model fitted on some rows: its features, what was dropped, the model,
/// the logistic statistics, notes.
struct FitOutcome {
    spec: FeatureSpec,
    dropped: Vec<Dropped>,
    fitted: Fitted,
    irls: Option<IrlsFit>,
    notes: Vec<String>,
}

fn fit_rows(
    raw: &Raw,
    rows: &[usize],
    y: &[bool],
    cutoff: usize,
    opts: &TrainOptions,
    ctl: Ctl,
) -> Result<FitOutcome> {
    let mut notes = Vec::new();
    ctl.report("learning features", 0, 1);
    let (spec, dropped) = features::learn(raw, rows, cutoff);
    if spec.columns.is_empty() {
        return Err(Error::bad(
            "no usable features: every candidate column is constant or empty for the labelled customers. \
             Import orders, events or feedback, or customer attributes that vary.",
        ));
    }
    let (rows_fit, y_fit): (Vec<usize>, Vec<bool>) = if opts.kind == ModelKind::RandomForest {
        let keep = subsample(y, model::FOREST_MAX_ROWS, opts.seed);
        if keep.len() < y.len() {
            notes.push(format!(
                "the random forest was trained on a stratified sample of {} of the {} training rows",
                keep.len(),
                y.len()
            ));
        }
        (
            keep.iter().map(|&k| rows[k]).collect(),
            keep.iter().map(|&k| y[k]).collect(),
        )
    } else {
        (rows.to_vec(), y.to_vec())
    };
    ctl.report("building the matrix", 0, 1);
    let x = spec.matrix(raw, &rows_fit, cutoff);
    ctl.report("fitting", 0, 1);
    let (fitted, irls) =
        model::fit(opts.kind, &x, &y_fit, opts.l2, opts.seed).map_err(fit_error)?;
    Ok(FitOutcome {
        spec,
        dropped,
        fitted,
        irls,
        notes,
    })
}

fn predict_rows(
    raw: &Raw,
    spec: &FeatureSpec,
    m: &Fitted,
    rows: &[usize],
    cutoff: usize,
) -> Vec<f64> {
    rows.par_chunks(50_000)
        .flat_map_iter(|chunk| {
            let x = spec.matrix(raw, chunk, cutoff);
            model::predict(m, &x.view()).to_vec()
        })
        .collect()
}

/// The statsmodels-style table, in standardised units and in the features' own units.
fn coefficient_tables(spec: &FeatureSpec, fit: &IrlsFit) -> (Vec<Coef>, Vec<Coef>) {
    let normal = Normal::new(0.0, 1.0).ok();
    let z975 = 1.959_963_984_540_054;
    let se = fit.std_errors();
    let mk = |feature: String, label: String, coef: f64, std_err: f64| {
        let z = coef / std_err;
        let p = normal
            .as_ref()
            .map(|n| 2.0 * (1.0 - n.cdf(z.abs())))
            .unwrap_or(f64::NAN);
        Coef {
            feature,
            label,
            coef,
            std_err,
            z,
            p_value: p,
            ci_low: coef - z975 * std_err,
            ci_high: coef + z975 * std_err,
            odds_ratio: coef.exp(),
        }
    };
    let mut std_t = vec![mk(
        "(intercept)".into(),
        "intercept".into(),
        fit.intercept,
        se[0],
    )];
    for (j, col) in spec.columns.iter().enumerate() {
        std_t.push(mk(
            col.source.name(),
            col.source.label(),
            fit.coef[j],
            se[j + 1],
        ));
    }
    // Own units: β_j / σ_j, and the intercept β0 - Σ β_j μ_j / σ_j with its
    // variance a'Σa, a = (1, -μ_1/σ_1, ...).
    let d = spec.columns.len();
    let mut a = vec![1.0; d + 1];
    let mut b0 = fit.intercept;
    for (j, col) in spec.columns.iter().enumerate() {
        a[j + 1] = -col.mean / col.std;
        b0 -= fit.coef[j] * col.mean / col.std;
    }
    let mut var0 = 0.0;
    for i in 0..=d {
        for k in 0..=d {
            var0 += a[i] * fit.cov[(i, k)] * a[k];
        }
    }
    let mut raw_t = vec![mk(
        "(intercept)".into(),
        "intercept".into(),
        b0,
        var0.max(0.0).sqrt(),
    )];
    for (j, col) in spec.columns.iter().enumerate() {
        raw_t.push(mk(
            col.source.name(),
            col.source.label(),
            fit.coef[j] / col.std,
            se[j + 1] / col.std,
        ));
    }
    (std_t, raw_t)
}

/// Probabilities and drivers of every customer at a cutoff: (cid, p, drivers JSON).
fn score_all(
    raw: &Raw,
    spec: &FeatureSpec,
    m: &Fitted,
    cutoff: usize,
    ctl: Ctl,
) -> Result<Vec<(i64, f64, String)>> {
    let n = raw.customers.len();
    let rows: Vec<usize> = (0..n).collect();
    let mut out = Vec::with_capacity(n);
    for (k, chunk) in rows.chunks(100_000).enumerate() {
        ctl.check()?;
        ctl.report("scoring customers", (k * 100_000) as u64, n as u64);
        let part: Vec<(i64, f64, String)> = chunk
            .par_chunks(10_000)
            .flat_map_iter(|sub| {
                let xr = spec.raw_matrix(raw, sub, cutoff);
                let mut x = xr.clone();
                spec.standardise(&mut x);
                let p = model::predict(m, &x.view());
                sub.iter()
                    .enumerate()
                    .map(|(r, &i)| {
                        let row = x.row(r);
                        let d = model::drivers(m, row.as_slice().unwrap_or(&row.to_vec()), 3);
                        let mut json = String::with_capacity(64);
                        json.push('[');
                        for (k, (j, c)) in d.iter().enumerate() {
                            if k > 0 {
                                json.push(',');
                            }
                            json.push('[');
                            json.push_str(&j.to_string());
                            json.push(',');
                            push_decimal4(&mut json, xr[(r, *j)], true);
                            json.push(',');
                            push_decimal4(&mut json, *c, false);
                            json.push(']');
                        }
                        json.push(']');
                        (raw.customers[i].cid, p[r], json)
                    })
                    .collect::<Vec<_>>()
            })
            .collect();
        out.extend(part);
    }
    Ok(out)
}

/// `v` rounded to 4 decimals, written without going through the general
/// float formatter (a million customers' drivers: a third of scoring time).
/// `trim` drops trailing zeros (`2.5`, `6`); otherwise always 4 decimals
/// (`0.4060`). Not finite: `null`.
fn push_decimal4(out: &mut String, v: f64, trim: bool) {
    use std::fmt::Write as _;
    if !v.is_finite() {
        out.push_str("null");
        return;
    }
    let k = (v * 10_000.0).round();
    if k.abs() >= 9.0e15 {
        // Beyond exact integers: the general formatter.
        let _ = if trim {
            write!(out, "{}", k / 10_000.0)
        } else {
            write!(out, "{v:.4}")
        };
        return;
    }
    let k = k as i64;
    if k < 0 {
        out.push('-');
    }
    let a = k.unsigned_abs();
    let (int, mut frac) = (a / 10_000, a % 10_000);
    let _ = write!(out, "{int}");
    let mut digits = 4;
    if trim {
        while digits > 0 && frac % 10 == 0 {
            frac /= 10;
            digits -= 1;
        }
    }
    if digits > 0 {
        let _ = write!(out, ".{frac:0digits$}");
    }
}

fn mean_std(xs: &[f64]) -> (f64, f64) {
    let n = xs.len().max(1) as f64;
    let m = xs.iter().sum::<f64>() / n;
    let v = xs.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n - 1.0).max(1.0);
    (m, v.sqrt())
}

/// Train, evaluate, score and store a model version.
pub fn train(conn: &mut Connection, opts: &TrainOptions, ctl: Ctl) -> Result<TrainReport> {
    store::with_big_cache(conn, |c| train_inner(c, opts, ctl))
}

fn train_inner(conn: &mut Connection, opts: &TrainOptions, ctl: Ctl) -> Result<TrainReport> {
    let started = Instant::now();
    if !(0.0..0.9).contains(&opts.holdout) {
        return Err(Error::bad("--holdout must be in [0, 0.9)"));
    }
    if !(opts.l2 >= 0.0 && opts.l2.is_finite()) {
        return Err(Error::bad("--l2 must be a number >= 0"));
    }
    if let Some(k) = opts.cv {
        if !(2..=20).contains(&k) {
            return Err(Error::bad("--cv must be between 2 and 20 folds"));
        }
    }
    let plan = plan(conn, opts)?;
    let raw = features::extract(conn, &plan.cutoffs, &plan.label_ends, ctl)?;
    ctl.check()?;
    let (rows, y) = labels(&raw, &plan);
    let t0 = timeutil::ts_to_day_string(plan.cutoffs[plan.train_cutoff]);
    let label_source = if plan.explicit {
        "explicit churned column".to_string()
    } else {
        format!(
            "derived: customers with an order in the 365 days before {t0} are churned when they order nothing from {t0} to {}",
            plan.as_of
        )
    };
    if rows.len() < MIN_LABELLED {
        return Err(Error::bad(if plan.explicit {
            format!(
                "only {} customers carry a churn label; at least {MIN_LABELLED} are needed",
                rows.len()
            )
        } else {
            format!(
                "only {} customers can be labelled (at least {MIN_LABELLED} are needed): labels need customers with an order \
                 in the 365 days before {t0} (the as-of date {} minus the {}-day window). Import more order history, \
                 use an earlier --as-of or a shorter --window-days, or add a `churned` column to the customers file.",
                rows.len(),
                plan.as_of,
                opts.window_days
            )
        }));
    }
    let pos = y.iter().filter(|&&v| v).count();
    if pos == 0 || pos == y.len() {
        return Err(Error::bad(format!(
            "all {} labelled customers {}: a model needs both churners and customers who stayed. {}",
            y.len(),
            if pos == 0 { "stayed" } else { "churned" },
            if plan.explicit {
                "Check the churned column."
            } else {
                "Use a different --as-of or --window-days."
            }
        )));
    }
    ctl.check()?;
    let (train_pos, test_pos) = if opts.holdout > 0.0 {
        split(&y, opts.holdout, opts.seed)
    } else {
        ((0..y.len()).collect(), Vec::new())
    };
    let train_rows: Vec<usize> = train_pos.iter().map(|&k| rows[k]).collect();
    let train_y: Vec<bool> = train_pos.iter().map(|&k| y[k]).collect();
    if !train_y.iter().any(|&v| v) || train_y.iter().all(|&v| v) {
        return Err(Error::bad(
            "the training split has one class only; use a smaller --holdout",
        ));
    }
    ctl.report("fitting", 0, 1);
    let FitOutcome {
        spec,
        dropped,
        fitted,
        irls,
        mut notes,
    } = fit_rows(&raw, &train_rows, &train_y, plan.train_cutoff, opts, ctl)?;
    ctl.check()?;

    // Holdout metrics.
    let metrics = if test_pos.is_empty() {
        None
    } else {
        ctl.report("evaluating", 0, 1);
        let test_rows: Vec<usize> = test_pos.iter().map(|&k| rows[k]).collect();
        let test_y: Vec<bool> = test_pos.iter().map(|&k| y[k]).collect();
        let p = predict_rows(&raw, &spec, &fitted, &test_rows, plan.train_cutoff);
        if test_y.iter().any(|&v| v) && !test_y.iter().all(|&v| v) {
            Some(metrics::evaluate(&p, &test_y))
        } else {
            notes.push("the holdout set has one class only: no holdout metrics".into());
            None
        }
    };

    // Cross-validation on every labelled customer.
    let cv = match opts.cv {
        None => None,
        Some(k) => {
            let fs = folds(&y, k, opts.seed);
            let mut aucs = Vec::new();
            let mut lls = Vec::new();
            for (f, test) in fs.iter().enumerate() {
                ctl.check()?;
                ctl.report("cross-validation", f as u64, k as u64);
                let in_test: std::collections::HashSet<usize> = test.iter().copied().collect();
                let tr: Vec<usize> = (0..y.len()).filter(|i| !in_test.contains(i)).collect();
                let (r_tr, y_tr): (Vec<usize>, Vec<bool>) =
                    tr.iter().map(|&i| (rows[i], y[i])).unzip();
                let (r_te, y_te): (Vec<usize>, Vec<bool>) =
                    test.iter().map(|&i| (rows[i], y[i])).unzip();
                let fold = fit_rows(&raw, &r_tr, &y_tr, plan.train_cutoff, opts, Ctl::silent())?;
                let p = predict_rows(&raw, &fold.spec, &fold.fitted, &r_te, plan.train_cutoff);
                aucs.push(metrics::roc_auc(&p, &y_te));
                lls.push(metrics::log_loss(&p, &y_te));
            }
            let (auc_mean, auc_std) = mean_std(&aucs);
            Some(CvReport {
                folds: k,
                auc_mean,
                auc_std,
                log_loss_mean: lls.iter().sum::<f64>() / lls.len().max(1) as f64,
                aucs,
            })
        }
    };

    let (coefficients, coefficients_raw) = match &irls {
        Some(fit) => {
            let (a, b) = coefficient_tables(&spec, fit);
            (Some(a), Some(b))
        }
        None => (None, None),
    };
    let scores = score_all(&raw, &spec, &fitted, plan.score_cutoff, ctl)?;
    drop(raw);
    ctl.check()?;

    let params = Params {
        spec: spec.clone(),
        model: fitted,
        window_days: opts.window_days,
        explicit_labels: plan.explicit,
    };
    let mut report = TrainReport {
        model_id: 0,
        kind: opts.kind.as_str().into(),
        active: false,
        activation: String::new(),
        as_of: plan.as_of.format("%Y-%m-%d").to_string(),
        window_days: opts.window_days,
        label_source: label_source.clone(),
        training_cutoff: t0,
        n_train: train_rows.len(),
        n_test: test_pos.len(),
        positive_rate: pos as f64 / y.len() as f64,
        features: spec.names(),
        dropped_features: dropped,
        metrics,
        cv,
        coefficients,
        coefficients_raw,
        l2: opts.l2,
        holdout: opts.holdout,
        seed: opts.seed,
        iterations: irls.as_ref().map(|f| f.iterations),
        log_likelihood: irls.as_ref().map(|f| f.log_likelihood),
        scored: scores.len() as u64,
        agent: opts.agent.clone(),
        duration_ms: 0,
        notes,
    };

    // One transaction: the version, its scores, the activation decision.
    ctl.report("writing scores", 0, 1);
    let params_json = serde_json::to_string(&params)?;
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let prev = store::models::active(&tx)?;
    let id = store::models::insert(
        &tx,
        &store::models::NewModel {
            kind: opts.kind.as_str(),
            agent: &opts.agent,
            as_of: &report.as_of,
            window_days: opts.window_days,
            label_source: &label_source,
            n_train: report.n_train as i64,
            n_test: report.n_test as i64,
            positive_rate: report.positive_rate,
            duration_ms: 0,
            report: &serde_json::Value::Null,
            params: &params_json,
        },
    )?;
    store::models::write_scores(&tx, id, scores.iter().map(|(c, p, d)| (*c, *p, d.as_str())))?;
    ctl.check()?;
    let new_auc = report
        .metrics
        .as_ref()
        .map(|m| m.auc)
        .filter(|a| a.is_finite());
    let prev_auc = prev.as_ref().and_then(|p| {
        p.report
            .get("metrics")
            .and_then(|m| m.get("auc"))
            .and_then(|a| a.as_f64())
    });
    let (activate, why) = match (&prev, new_auc, prev_auc) {
        _ if opts.activate => (true, "activated (--activate)".to_string()),
        (None, _, _) => (true, "activated: the first model".to_string()),
        // Another kind than the product's logistic model is trained to be
        // compared, not to replace the scores agents work from.
        (Some(p), _, _) if opts.kind != ModelKind::Logistic => (
            false,
            format!(
                "kept inactive: a {} model is trained for comparison with the active v{}; \
                 activate it with `crmtop model activate {id}` (or train with --activate)",
                opts.kind.as_str(),
                p.id
            ),
        ),
        (Some(p), Some(a), Some(b)) if a >= b - AUC_TOLERANCE => (
            true,
            format!("activated: holdout AUC {a:.3} against {b:.3} of v{} ({:+.3})", p.id, a - b),
        ),
        (Some(p), Some(a), Some(b)) => (
            false,
            format!(
                "kept inactive: holdout AUC {a:.3} is below {b:.3} of the active v{} by more than {AUC_TOLERANCE}; \
                 activate it anyway with `crmtop model activate {id}`",
                p.id
            ),
        ),
        (Some(p), Some(a), None) => (
            true,
            format!("activated: holdout AUC {a:.3}; the active v{} had no holdout AUC", p.id),
        ),
        (Some(p), None, _) => (
            false,
            format!(
                "kept inactive: no holdout AUC to compare with v{} (train with --holdout above 0, or pass --activate)",
                p.id
            ),
        ),
    };
    if activate {
        store::models::activate(&tx, id, ctl)?;
    }
    store::models::prune(&tx)?;
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
        Some(&format!(
            "{} model v{id}: {}",
            opts.kind.as_str(),
            match new_auc {
                Some(a) => format!("holdout AUC {a:.3}"),
                None => "no holdout".into(),
            }
        )),
    )?;
    ctl.check()?;
    ctl.report("committing", 0, 1);
    // The last moment a cancel can still keep everything as it was.
    ctl.check()?;
    store::dashboard::bump_version(&tx)?;
    tx.commit()?;
    report.duration_ms = started.elapsed().as_millis() as u64;
    Ok(report)
}

/// Recompute the scores of a version as of a date (default: its own as-of,
/// or the latest order day) and, when it is active, the customers' churn
/// column. Returns how many customers were scored.
pub fn rescore(
    conn: &mut Connection,
    model_id: i64,
    as_of: Option<NaiveDate>,
    activate: bool,
    agent: &str,
    ctl: Ctl,
) -> Result<u64> {
    store::with_big_cache(conn, |c| {
        rescore_inner(c, model_id, as_of, activate, agent, ctl)
    })
}

fn rescore_inner(
    conn: &mut Connection,
    model_id: i64,
    as_of: Option<NaiveDate>,
    activate: bool,
    agent: &str,
    ctl: Ctl,
) -> Result<u64> {
    let row = store::models::get(conn, model_id)?
        .ok_or_else(|| Error::bad(format!("no model v{model_id}")))?;
    let params: Params = serde_json::from_str(&row.params)
        .map_err(|e| Error::Other(format!("model v{model_id} cannot be read back: {e}")))?;
    let as_of = match as_of {
        Some(d) => d,
        None => default_as_of(conn)?,
    };
    let end = timeutil::date_to_ts(as_of) + DAY;
    let raw = features::extract(conn, &[end], &[end], ctl)?;
    let scores = score_all(&raw, &params.spec, &params.model, 0, ctl)?;
    drop(raw);
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let n = store::models::write_scores(
        &tx,
        model_id,
        scores.iter().map(|(c, p, d)| (*c, *p, d.as_str())),
    )?;
    if activate || row.active {
        store::models::activate(&tx, model_id, ctl)?;
    }
    store::audit::append(
        &tx,
        agent,
        if activate && !row.active {
            "activate"
        } else {
            "score"
        },
        "model",
        &model_id.to_string(),
        None,
        Some("active"),
        Some(&format!("scored {n} customers as of {as_of}")),
    )?;
    ctl.check()?;
    store::dashboard::bump_version(&tx)?;
    tx.commit()?;
    Ok(n)
}

/// Make a version active (re-scoring it first if its scores were pruned).
pub fn activate(conn: &mut Connection, model_id: i64, agent: &str, ctl: Ctl) -> Result<()> {
    let row = store::models::get(conn, model_id)?
        .ok_or_else(|| Error::bad(format!("no model v{model_id}")))?;
    if !row.has_scores {
        rescore(conn, model_id, None, true, agent, ctl)?;
        return Ok(());
    }
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    store::models::activate(&tx, model_id, ctl)?;
    store::audit::append(
        &tx,
        agent,
        "activate",
        "model",
        &model_id.to_string(),
        None,
        Some("active"),
        None,
    )?;
    store::dashboard::bump_version(&tx)?;
    tx.commit()?;
    Ok(())
}

/// Training features of the labelled customers (for tests of leakage).
pub fn training_matrix(
    conn: &Connection,
    opts: &TrainOptions,
) -> Result<(Vec<String>, ndarray::Array2<f64>, Vec<bool>)> {
    let plan = plan(conn, opts)?;
    let raw = features::extract(conn, &plan.cutoffs, &plan.label_ends, Ctl::silent())?;
    let (rows, y) = labels(&raw, &plan);
    let (spec, _) = features::learn(&raw, &rows, plan.train_cutoff);
    let x = spec.raw_matrix(&raw, &rows, plan.train_cutoff);
    Ok((spec.names(), x, y))
}

#[cfg(test)]
mod tests {
    use super::push_decimal4;

    fn dec(v: f64, trim: bool) -> String {
        let mut s = String::new();
        push_decimal4(&mut s, v, trim);
        s
    }

    #[test]
    fn driver_numbers_are_written_as_the_formatter_would() {
        for v in [
            0.0, 6.0, 2.5, 464.26714, -0.63694, 0.40604, 1e-5, 123456.0, -3.92, 0.99995,
        ] {
            assert_eq!(dec(v, false), format!("{v:.4}"), "{v}");
            assert_eq!(
                dec(v, true),
                format!("{}", (v * 10_000.0).round() / 10_000.0),
                "{v}"
            );
        }
        assert_eq!(dec(-0.00001, true), "0");
        assert_eq!(dec(f64::NAN, true), "null");
        assert_eq!(dec(f64::INFINITY, false), "null");
        assert_eq!(dec(1e300, true), format!("{}", 1e300));
    }
}
