//! Customer lifetime value: BG/NBD for the number of transactions,
//! Gamma-Gamma for their value, P(alive), discounted CLV, and retention CLV
//! for subscription customers without order history; plus RFM segments.
//!
//! Time units. The models are fitted in `--time-unit` (week = 7 days, the
//! default, or day). CLV is a sum over calendar months of 30.4375 days
//! (365.25 / 12): month m contributes margin x expected spend x (E[X(t_m)] -
//! E[X(t_m-1)]) / (1 + discount)^m, where t_m is m months expressed in the
//! fit's unit. (lifetimes' quickstart mixes weekly fits with daily horizons;
//! here the conversion is done once, explicitly.)

pub mod bgbb;
pub mod bgnbd;
pub mod family;
mod fit;
pub mod gamma_gamma;
pub mod holdout;
pub mod mbgnbd;
pub mod optim;
pub mod pnbd;
pub mod retention;
pub mod sbg;
pub mod special;
pub mod summary;
mod valuing;

use crate::error::{Error, Result};
use crate::jobs::Ctl;
use crate::store;
use crate::store::clv::Reads;
use crate::store::Conn as Connection;
use crate::timeutil::{self, DAY};
use chrono::NaiveDate;
use family::{FitReport, Fitted, Model};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::time::Instant;

/// Days per calendar month used for horizons and hazards.
pub const MONTH_DAYS: f64 = 365.25 / 12.0;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TimeUnit {
    Day,
    Week,
    Month,
    Year,
}

impl TimeUnit {
    pub fn days(self) -> f64 {
        match self {
            TimeUnit::Day => 1.0,
            TimeUnit::Week => 7.0,
            TimeUnit::Month => MONTH_DAYS,
            TimeUnit::Year => 365.25,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            TimeUnit::Day => "day",
            TimeUnit::Week => "week",
            TimeUnit::Month => "month",
            TimeUnit::Year => "year",
        }
    }
    pub fn parse(s: &str) -> Option<TimeUnit> {
        Some(match s {
            "day" => TimeUnit::Day,
            "week" => TimeUnit::Week,
            "month" => TimeUnit::Month,
            "year" => TimeUnit::Year,
            _ => return None,
        })
    }
    /// The calendar period a day (since 1970) falls in, as a number that
    /// grows by one per period: the opportunity of discrete-time models
    /// (BG/BB), where several orders in one period count once. Weeks start
    /// on Monday.
    pub fn period(self, day: i64) -> i64 {
        use chrono::Datelike;
        let date = timeutil::ts_to_date(day * DAY);
        match self {
            TimeUnit::Day => day,
            TimeUnit::Week => (day + 3).div_euclid(7),
            TimeUnit::Month => i64::from(date.year()) * 12 + i64::from(date.month0()),
            TimeUnit::Year => i64::from(date.year()),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Method {
    /// BG/NBD where a customer has orders, retention otherwise.
    Auto,
    Bgnbd,
    Retention,
}

#[derive(Debug, Clone)]
pub struct ClvOptions {
    /// Default: the day of the latest order.
    pub as_of: Option<NaiveDate>,
    pub time_unit: TimeUnit,
    pub horizon_months: u32,
    /// Monthly discount rate.
    pub discount: f64,
    pub margin: f64,
    /// L2 penalty on the parameters (lifetimes' `penalizer_coef`).
    pub penalizer: f64,
    pub method: Method,
    /// A numeric customer attribute holding monthly revenue (retention CLV).
    pub revenue_attr: Option<String>,
    /// The model family (`--model`).
    pub model: Model,
    pub agent: String,
    /// The risk thresholds to prepare the dashboard's aggregates with,
    /// inside the fit's transaction and beside its writing (the CLI's
    /// configuration). None: `store::dashboard::warm` computes them after.
    pub dashboard: Option<crate::config::Thresholds>,
}

impl Default for ClvOptions {
    fn default() -> Self {
        ClvOptions {
            as_of: None,
            time_unit: TimeUnit::Week,
            horizon_months: 12,
            discount: 0.01,
            margin: 1.0,
            penalizer: 0.0,
            method: Method::Auto,
            revenue_attr: None,
            model: Model::Bgnbd,
            agent: "unknown".into(),
            dashboard: None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BgStdErr {
    pub r: f64,
    pub alpha: f64,
    pub a: f64,
    pub b: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BgReport {
    pub r: f64,
    pub alpha: f64,
    pub a: f64,
    pub b: f64,
    pub log_likelihood: f64,
    pub std_err: Option<BgStdErr>,
    pub iterations: u64,
    pub customers: usize,
    pub distinct_rows: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GgReport {
    pub p: f64,
    pub q: f64,
    pub gamma: f64,
    pub log_likelihood: f64,
    pub std_err: Option<[f64; 3]>,
    pub iterations: u64,
    pub customers: usize,
    /// The population's mean spend per transaction (None when q <= 1: infinite).
    pub population_mean: Option<f64>,
}

/// What `crmtop clv --json` prints.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ClvReport {
    pub fit_id: i64,
    pub as_of: String,
    pub time_unit: String,
    /// Customers with a CLV (any method).
    pub customers: usize,
    /// Customers with at least one repeat transaction.
    pub repeat_customers: usize,
    pub bgnbd: Option<BgReport>,
    /// The family fitted (any of them), its parameters by their usual
    /// names with standard errors, and why it was chosen with `auto`.
    #[serde(default)]
    pub model: Option<FitReport>,
    pub gamma_gamma: Option<GgReport>,
    /// Why the Gamma-Gamma model is missing or unusable, when it is.
    pub gamma_gamma_note: Option<String>,
    /// Customers left out of the Gamma-Gamma fit: no repeat transaction, or a
    /// mean repeat spend that is zero or negative.
    pub excluded_no_repeat: usize,
    pub excluded_non_positive_spend: usize,
    pub horizon_months: u32,
    pub discount_rate: f64,
    pub margin: f64,
    pub penalizer: f64,
    pub method: String,
    /// How many customers each method valued.
    pub by_method: HashMap<String, usize>,
    pub total_clv: f64,
    pub mean_clv: f64,
    pub duration_ms: u64,
    pub notes: Vec<String>,
    /// The frequency-recency matrices of the BG/NBD fit (absent in fits
    /// made by earlier versions).
    #[serde(default)]
    pub matrices: Option<Matrices>,
}

/// What the BG/NBD fit says of a customer with a given history, for every
/// frequency (repeat purchases, rows) and recency (time of the last
/// purchase, columns) at the longest time observed T: expected purchases in
/// the next time unit, and P(alive). As lifetimes'
/// `plot_frequency_recency_matrix` and `plot_probability_alive_matrix`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Matrices {
    /// T: the customers' longest time observed, in time units.
    pub t: f64,
    /// Over how many time units `expected` is counted.
    pub horizon: f64,
    pub frequency: Vec<f64>,
    pub recency: Vec<f64>,
    /// [frequency][recency]
    pub expected: Vec<Vec<f64>>,
    pub p_alive: Vec<Vec<f64>>,
}

impl Matrices {
    /// Frequencies 0..=min(the largest seen, 24), recencies from 0 to T in
    /// (at most) 40 steps.
    pub fn of(p: &Fitted, max_x: f64, t: f64) -> Matrices {
        let rows = max_x.clamp(0.0, 24.0).floor() as usize + 1;
        let cols = (t.floor() as usize + 1).clamp(2, 40);
        let frequency: Vec<f64> = (0..rows).map(|x| x as f64).collect();
        let recency: Vec<f64> = (0..cols)
            .map(|k| t * k as f64 / (cols - 1) as f64)
            .collect();
        let cell = |f: &dyn Fn(f64, f64) -> f64| -> Vec<Vec<f64>> {
            frequency
                .iter()
                .map(|&x| recency.iter().map(|&tx| f(x, tx)).collect())
                .collect()
        };
        Matrices {
            t,
            horizon: 1.0,
            expected: cell(&|x, tx| p.expected(x, tx, t, 1.0).unwrap_or(f64::NAN)),
            p_alive: cell(&|x, tx| p.p_alive(x, tx, t)),
            frequency,
            recency,
        }
    }
}

/// One customer's values.
#[derive(Debug, Clone)]
pub struct Value {
    pub cid: i64,
    pub frequency: Option<f64>,
    pub recency: Option<f64>,
    pub t: Option<f64>,
    pub monetary: Option<f64>,
    pub p_alive: Option<f64>,
    pub exp_txn: Option<f64>,
    pub exp_spend: Option<f64>,
    pub clv: Option<f64>,
    pub method: &'static str,
    pub rfm: Option<(u8, u8, u8)>,
    pub segment: Option<&'static str>,
}

impl Value {
    /// A customer with no figures yet (`method` says who values them).
    pub fn unvalued(cid: i64, method: &'static str) -> Value {
        Value {
            cid,
            frequency: None,
            recency: None,
            t: None,
            monetary: None,
            p_alive: None,
            exp_txn: None,
            exp_spend: None,
            clv: None,
            method,
            rfm: None,
            segment: None,
        }
    }
}

/// Calibration and holdout (`crmtop clv --holdout-from DATE`): the model
/// fitted on the purchases up to `from` (included; default: 26 weeks before
/// `to`), its predictions for the days after it up to `to` (default: the
/// latest order's day) compared with what happened. Reads only.
pub fn holdout(
    reads: &dyn Reads,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
    unit: TimeUnit,
    penalizer: f64,
    family: Option<holdout::Family>,
) -> Result<holdout::HoldoutReport> {
    let last: Option<i64> = reads.latest_order()?;
    let latest = last
        .map(timeutil::ts_to_date)
        .ok_or_else(|| Error::bad("no orders: nothing to hold out"))?;
    let to = to.unwrap_or(latest);
    let from = from.unwrap_or(to - chrono::Duration::weeks(26));
    if to > latest {
        return Err(Error::bad(format!(
            "--as-of {to} is after the latest order ({latest}): the holdout would count purchases not recorded yet as purchases not made"
        )));
    }
    let cal_end = timeutil::date_to_ts(from) / DAY;
    let end = timeutil::date_to_ts(to) / DAY;
    let days = reads.purchase_days(end)?;
    // Runs of one customer's days.
    let mut starts = Vec::new();
    for (i, (cid, _)) in days.iter().enumerate() {
        if i == 0 || days[i - 1].0 != *cid {
            starts.push(i);
        }
    }
    starts.push(days.len());
    let only_days: Vec<i64> = days.iter().map(|(_, d)| *d).collect();
    let histories = || {
        starts.windows(2).map(|w| holdout::History {
            days: &only_days[w[0]..w[1]],
        })
    };
    if let Some(family) = family {
        return holdout::evaluate(histories(), cal_end, end, unit, penalizer, family);
    }
    // `auto`: every family on the same held-out time; the one with the
    // smallest mean absolute error per customer wins, and says why.
    let mut fits = Vec::new();
    let mut failures = Vec::new();
    for f in holdout::Family::ALL {
        match holdout::evaluate(histories(), cal_end, end, unit, penalizer, f) {
            Ok(r)
                if r.notes
                    .iter()
                    .all(|n| !n.contains("edge of its parameter space")) =>
            {
                fits.push(r)
            }
            Ok(_) => failures.push(format!("{}: a degenerate fit", f.as_str())),
            Err(e) => failures.push(format!("{}: {e}", f.as_str())),
        }
    }
    let comparison: Vec<holdout::Comparison> = fits
        .iter()
        .map(|r| holdout::Comparison {
            model: r.model,
            mae: r.mae,
            rmse: r.rmse,
            total_error_pct: r.total_error_pct,
            log_likelihood: r.log_likelihood,
        })
        .collect();
    let best = fits
        .into_iter()
        .min_by(|a, b| a.mae.total_cmp(&b.mae))
        .ok_or_else(|| {
            Error::bad(format!(
                "no family could be fitted: {}",
                failures.join("; ")
            ))
        })?;
    let mut best = best;
    let others: Vec<String> = comparison
        .iter()
        .filter(|c| c.model != best.model)
        .map(|c| format!("{} {:.3}", c.model, c.mae))
        .collect();
    best.notes.push(format!(
        "auto: {} predicts the holdout best (mean absolute error {:.3} per customer; {})",
        best.model,
        best.mae,
        if others.is_empty() {
            "no other family could be fitted".to_string()
        } else {
            others.join(", ")
        }
    ));
    for f in failures {
        best.notes.push(format!("auto: left out {f}"));
    }
    best.comparison = comparison;
    Ok(best)
}

/// Fit the models, value every customer, and store the fit (`fit.rs`).
pub fn fit(conn: &mut Connection, opts: &ClvOptions, ctl: Ctl) -> Result<ClvReport> {
    store::with_big_cache(conn, |c| fit::fit_inner(c, opts, ctl))
}

/// The same fit on a PostgreSQL server: computed from the server's rows,
/// then stored there and made active in one transaction.
pub fn fit_on_server(pg: &store::pg::Pg, opts: &ClvOptions, ctl: Ctl) -> Result<ClvReport> {
    let fit::Computed {
        mut report,
        values,
        started,
    } = fit::compute(pg, opts, ctl, &|| {})?;
    ctl.check()?;
    ctl.report("writing values", 0, 1);
    store::pg::clv::store(
        pg,
        &mut report,
        &values,
        &opts.agent,
        &fit::audit_text,
        started,
        ctl,
    )?;
    Ok(report)
}
