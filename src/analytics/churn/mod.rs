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
mod fit;
pub mod model;
mod scoring;
mod storing;

pub use explain::describe_drivers;
use fit::{coefficient_tables, fit_rows, folds, mean_std, predict_rows, split, FitOutcome};
pub use model::{Fitted, ModelKind};
use scoring::score_all;
pub use scoring::{activate, rescore, rescore_on_server};
pub use storing::{train, train_on_server};

use crate::analytics::features::{self, Dropped, FeatureSpec, Raw};
use crate::analytics::logistic::{FitError, IrlsFit};
use crate::analytics::metrics::{self, Metrics};
use crate::error::{Error, Result};
use crate::jobs::Ctl;
use crate::store;
use crate::store::Conn as Connection;
use crate::timeutil::{self, DAY};
use chrono::NaiveDate;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
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
    /// The risk thresholds to prepare the dashboard's aggregates with,
    /// inside the job's transaction and beside its writing (the CLI's
    /// configuration). None: `store::dashboard::warm` computes them after.
    pub dashboard: Option<crate::config::Thresholds>,
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
            dashboard: None,
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

fn default_as_of(conn: &dyn store::sql::Sql) -> Result<NaiveDate> {
    let last: Option<i64> = crate::store::customers::latest_order(conn)?;
    Ok(last
        .map(timeutil::ts_to_date)
        .unwrap_or_else(timeutil::today))
}

fn plan(conn: &dyn store::sql::Sql, opts: &TrainOptions) -> Result<Plan> {
    if opts.window_days < 1 || opts.window_days > 3650 {
        return Err(Error::bad("--window-days must be between 1 and 3650"));
    }
    let as_of = match opts.as_of {
        Some(d) => d,
        None => default_as_of(conn)?,
    };
    let end = timeutil::date_to_ts(as_of) + DAY;
    let labelled = store::customers::labelled(conn)?;
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

/// A model version trained, evaluated and scored, before it is stored.
pub(crate) struct Trained {
    pub report: TrainReport,
    pub params: Params,
    pub label_source: String,
    /// (cid, probability, drivers JSON) of every customer.
    pub scores: Vec<(i64, f64, Vec<u8>)>,
    pub started: Instant,
}

/// Train, evaluate and score a model on the customers of `conn` (a file or
/// a server), read through `src`; nothing is stored. `read` is called once
/// the data is read (the rest is computation).
fn compute(
    conn: &dyn store::sql::Sql,
    src: &store::history::Source,
    opts: &TrainOptions,
    ctl: Ctl,
    read: &dyn Fn(),
) -> Result<Trained> {
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
    let raw = features::extract_source(
        src,
        &plan.cutoffs,
        &plan.label_ends,
        features::history_for(&plan.cutoffs, &plan.label_ends),
        ctl,
    )?;
    read();
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
    let report = TrainReport {
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
    Ok(Trained {
        report,
        params,
        label_source,
        scores,
        started,
    })
}

/// Training features of the labelled customers (for tests of leakage), on
/// either engine (`src` names the same database as `conn`).
pub fn training_matrix(
    conn: &dyn store::sql::Sql,
    src: &store::history::Source,
    opts: &TrainOptions,
) -> Result<(Vec<String>, ndarray::Array2<f64>, Vec<bool>)> {
    let plan = plan(conn, opts)?;
    let from = features::history_for(&plan.cutoffs, &plan.label_ends);
    let raw = features::extract_source(src, &plan.cutoffs, &plan.label_ends, from, Ctl::silent())?;
    let (rows, y) = labels(&raw, &plan);
    let (spec, _) = features::learn(&raw, &rows, plan.train_cutoff);
    let x = spec.raw_matrix(&raw, &rows, plan.train_cutoff);
    Ok((spec.names(), x, y))
}
