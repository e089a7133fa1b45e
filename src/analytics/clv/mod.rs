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
pub mod gamma_gamma;
pub mod holdout;
pub mod mbgnbd;
pub mod optim;
pub mod pnbd;
pub mod retention;
pub mod sbg;
pub mod special;
pub mod summary;

use crate::analytics::rfm;
use crate::error::{Error, Result};
use crate::jobs::Ctl;
use crate::store;
use crate::store::Conn as Connection;
use crate::timeutil::{self, DAY};
use chrono::NaiveDate;
use family::{FitReport, Fitted, Model};
use rayon::prelude::*;
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

fn discount_factors(months: u32, d: f64) -> Vec<f64> {
    (1..=months)
        .map(|m| 1.0 / (1.0 + d).powi(m as i32))
        .collect()
}

/// Fit the models, value every customer, and store the fit.
/// Calibration and holdout (`crmtop clv --holdout-from DATE`): the model
/// fitted on the purchases up to `from` (included; default: 26 weeks before
/// `to`), its predictions for the days after it up to `to` (default: the
/// latest order's day) compared with what happened. Reads only.
pub fn holdout(
    conn: &Connection,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
    unit: TimeUnit,
    penalizer: f64,
    family: Option<holdout::Family>,
) -> Result<holdout::HoldoutReport> {
    let last: Option<i64> = crate::store::customers::latest_order(conn)?;
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
    let days = store::clv::purchase_days(conn, end)?;
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

pub fn fit(conn: &mut Connection, opts: &ClvOptions, ctl: Ctl) -> Result<ClvReport> {
    store::with_big_cache(conn, |c| fit_inner(c, opts, ctl))
}

fn fit_inner(conn: &mut Connection, opts: &ClvOptions, ctl: Ctl) -> Result<ClvReport> {
    let started = Instant::now();
    if opts.horizon_months == 0 || opts.horizon_months > 600 {
        return Err(Error::bad("--horizon-months must be between 1 and 600"));
    }
    if !(0.0..1.0).contains(&opts.discount) {
        return Err(Error::bad("--discount is a monthly rate in [0, 1)"));
    }
    if !(opts.margin.is_finite() && opts.margin >= 0.0) {
        return Err(Error::bad("--margin must be >= 0"));
    }
    if !(opts.penalizer.is_finite() && opts.penalizer >= 0.0) {
        return Err(Error::bad("--penalizer must be >= 0"));
    }
    let as_of = match opts.as_of {
        Some(d) => d,
        None => {
            let last: Option<i64> = crate::store::customers::latest_order(conn)?;
            last.map(timeutil::ts_to_date)
                .unwrap_or_else(timeutil::today)
        }
    };
    let as_of_day = timeutil::date_to_ts(as_of) / DAY;
    let unit = opts.time_unit.days();
    let mut notes = Vec::new();

    ctl.report("summarising orders", 0, 1);
    let summaries = if opts.method == Method::Retention {
        Vec::new()
    } else {
        summary::summarise(conn, as_of_day, unit, ctl)?
    };
    ctl.check()?;
    if opts.method == Method::Bgnbd && summaries.len() < 10 {
        return Err(Error::bad(format!(
            "BG/NBD needs the order history of at least 10 customers (found {}); import orders, or use --method retention",
            summaries.len()
        )));
    }
    let use_bgnbd = summaries.len() >= 10;
    if !use_bgnbd && !summaries.is_empty() {
        notes.push(format!(
            "only {} customers have orders: too few for BG/NBD (at least 10); they are valued by the retention method if possible",
            summaries.len()
        ));
    }
    if use_bgnbd && summaries.iter().all(|s| s.t <= 0.0) {
        return Err(Error::bad(format!(
            "every customer's first order is on the as-of date {as_of}: there is no history to fit; use a later --as-of"
        )));
    }

    // The family: as asked, or chosen (`auto`) by holdout error, sBG when
    // the data are contractual.
    let mut model = opts.model;
    let mut chosen_because = None;
    if model == Model::Auto {
        let (m, why) = choose_model(conn, opts, as_of, use_bgnbd)?;
        model = m;
        chosen_because = Some(why);
    }
    if model == Model::Sbg && opts.method == Method::Bgnbd {
        return Err(Error::bad(
            "--model sbg values contracts, not orders: leave out --method bgnbd",
        ));
    }
    let transactional = use_bgnbd && model != Model::Sbg;
    // (x, t_x, T) per summary, in the family's time: BG/BB counts calendar
    // periods with a purchase, the others time since the first purchase.
    let rows: Vec<(f64, f64, f64)> = if !transactional {
        Vec::new()
    } else if model == Model::Bgbb {
        bgbb_rows(conn, &summaries, as_of_day, opts.time_unit)?
    } else {
        summaries.iter().map(|s| (s.x, s.tx, s.t)).collect()
    };
    let mut fitted: Option<Fitted> = None;
    let mut bg_report = None;
    let mut fit_report = None;
    if transactional {
        ctl.report(&format!("fitting {}", model.title()), 0, 1);
        let (f, mut r) = family::fit(model, &rows, opts.penalizer)?;
        match r.worst_relative_error() {
            None => notes.push(format!(
                "the {} Hessian is not invertible: no standard errors",
                model.title()
            )),
            // A boundary or flat optimum (a handful of customers, all
            // alike): estimates whose errors dwarf them mean nothing.
            Some(ratio) if ratio > 10.0 => notes.push(format!(
                "the {} fit is poorly determined (standard errors up to {} times the estimates; \
                 {} customers): treat its predictions as unreliable; import more order history, or try --penalizer 0.001",
                model.title(),
                if ratio.is_finite() { format!("{ratio:.0}") } else { "infinitely many".into() },
                rows.len(),
            )),
            // One or two parameters the data barely determine: say which,
            // since a reader takes every printed estimate at its word.
            Some(ratio) if ratio > 1.0 => {
                let weak: Vec<String> = r
                    .params
                    .keys()
                    .filter(|n| matches!((r.se(n), r.param(n)), (Some(e), Some(v)) if e > v.abs()))
                    .map(|n| n.to_string())
                    .collect();
                let hint = if model == Model::Pnbd && weak.iter().any(|n| n == "s" || n == "beta") {
                    match (r.param("s"), r.param("beta")) {
                        (Some(s), Some(b)) if b > 0.0 => format!(
                            ": dropout rates barely differ between customers, so only s/beta = {:.4} per {} (the mean dropout rate) is pinned down, which is what the predictions use",
                            s / b,
                            opts.time_unit.as_str()
                        ),
                        _ => String::new(),
                    }
                } else {
                    String::new()
                };
                notes.push(format!(
                    "the {} fit leaves {} weakly determined (standard error larger than the estimate){hint}",
                    model.title(),
                    weak.join(" and ")
                ));
            }
            Some(_) => {}
        }
        if r.params
            .values()
            .filter_map(|v| v.as_f64())
            .any(|v| !(1e-3..=1e4).contains(&v))
        {
            notes.push(format!(
                "the {} fit is at the edge of its parameter space ({}): the data do not pin the model down, so its CLV is not reliable; compare with --holdout-from DATE --model auto, or use another family",
                model.title(),
                r.params_text()
            ));
        }
        if let Fitted::Bg(p) = f {
            let se = |n: &str| r.se(n);
            bg_report = Some(BgReport {
                r: p.r,
                alpha: p.alpha,
                a: p.a,
                b: p.b,
                log_likelihood: r.log_likelihood,
                std_err: match (se("r"), se("alpha"), se("a"), se("b")) {
                    (Some(r), Some(alpha), Some(a), Some(b)) => Some(BgStdErr { r, alpha, a, b }),
                    _ => None,
                },
                iterations: r.iterations,
                customers: summaries.len(),
                distinct_rows: bgnbd::Data::new(rows.iter().copied(), 0.0).groups(),
            });
        }
        r.chosen_because = chosen_because.take();
        fit_report = Some(r);
        fitted = Some(f);
    }
    ctl.check()?;

    // Gamma-Gamma on repeat customers with a positive mean spend.
    let repeat = summaries.iter().filter(|s| s.x > 0.0).count();
    let excluded_no_repeat = summaries.len() - repeat;
    let excluded_non_positive_spend = summaries
        .iter()
        .filter(|s| s.x > 0.0 && s.monetary <= 0.0)
        .count();
    let mut gg_params = None;
    let mut gg_report = None;
    let mut gg_note = None;
    if transactional {
        let data = gamma_gamma::Data::new(
            summaries
                .iter()
                .filter(|s| s.x > 0.0 && s.monetary > 0.0)
                .map(|s| (s.x, s.monetary)),
            opts.penalizer,
        );
        if data.len() < 10 {
            gg_note = Some(format!(
                "the Gamma-Gamma spend model needs at least 10 customers with a repeat purchase and positive spend (found {}); no CLV in money",
                data.len()
            ));
        } else {
            ctl.report("fitting Gamma-Gamma", 0, 1);
            match optim::minimise(&data, &[1.0, 1.0, 1.0], 500) {
                Ok(opt) => {
                    let p = gamma_gamma::Params {
                        p: opt.params[0],
                        q: opt.params[1],
                        gamma: opt.params[2],
                    };
                    let se = optim::std_errors(&data, &opt.params).map(|s| [s[0], s[1], s[2]]);
                    if p.q <= 1.0 {
                        gg_note = Some(format!(
                            "Gamma-Gamma q = {:.4} <= 1: the expected spend per transaction is infinite (the spend \
                             distribution's tail is too heavy), so no CLV in money is given. Try --penalizer, or \
                             check the order amounts for outliers.",
                            p.q
                        ));
                    }
                    gg_report = Some(GgReport {
                        p: p.p,
                        q: p.q,
                        gamma: p.gamma,
                        log_likelihood: data.log_likelihood(&p),
                        std_err: se,
                        iterations: opt.iterations,
                        customers: data.len(),
                        population_mean: p.population_mean(),
                    });
                    gg_params = Some(p);
                }
                Err(e) => gg_note = Some(format!("the Gamma-Gamma fit failed: {e}")),
            }
        }
    }
    ctl.check()?;

    // Per customer.
    ctl.report("computing CLV", 0, 1);
    let months = opts.horizon_months;
    let disc = discount_factors(months, opts.discount);
    let horizon_units: Vec<f64> = (0..=months)
        .map(|m| f64::from(m) * MONTH_DAYS / unit)
        .collect();
    let mut values: Vec<Value> = Vec::with_capacity(summaries.len());
    if let Some(Fitted::Bg(bg)) = fitted {
        // The t_x-free part of E[X(t)] per month, once per distinct (x, T);
        // each customer divides it by its own 1 / P(alive).
        let mut distinct: Vec<(u64, u64)> = summaries
            .iter()
            .map(|s| (s.x.to_bits(), s.t.to_bits()))
            .collect();
        distinct.sort_unstable();
        distinct.dedup();
        let num: Vec<Option<Vec<f64>>> = distinct
            .par_iter()
            .map(|&(x, t)| {
                let (x, t) = (f64::from_bits(x), f64::from_bits(t));
                horizon_units
                    .iter()
                    .map(|&h| bg.expected_numerator(x, t, h))
                    .collect::<Option<Vec<f64>>>()
            })
            .collect();
        let index: HashMap<(u64, u64), usize> =
            distinct.iter().enumerate().map(|(i, k)| (*k, i)).collect();
        let usable_gg = gg_params.filter(|p| p.q > 1.0);
        let computed: Vec<Value> = summaries
            .par_iter()
            .map(|s| {
                let den = bg.expected_denominator(s.x, s.tx, s.t);
                let curve = index
                    .get(&(s.x.to_bits(), s.t.to_bits()))
                    .and_then(|&i| num[i].as_deref())
                    .map(|c| c.iter().map(|v| v / den).collect());
                let spend = usable_gg.and_then(|g| g.conditional_spend(s.x, s.monetary));
                let p_alive = bg.p_alive(s.x, s.tx, s.t);
                customer_value(
                    s,
                    (s.x, s.tx, s.t),
                    p_alive,
                    curve,
                    spend,
                    opts.margin,
                    &disc,
                    "bgnbd",
                )
            })
            .collect();
        add_values(&mut values, computed, &mut notes);
    }
    ctl.check()?;

    if let Some(f) = fitted.filter(|f| !matches!(f, Fitted::Bg(_))) {
        // Any other family: the expected transactions at each month's end,
        // customer by customer.
        let usable_gg = gg_params.filter(|p| p.q > 1.0);
        let computed: Vec<Value> = summaries
            .par_iter()
            .zip(rows.par_iter())
            .map(|(s, &(x, tx, t))| {
                let curve = f.curve(x, tx, t, &horizon_units);
                let spend = usable_gg.and_then(|g| g.conditional_spend(s.x, s.monetary));
                let p_alive = f.p_alive(x, tx, t);
                customer_value(
                    s,
                    (x, tx, t),
                    p_alive,
                    curve,
                    spend,
                    opts.margin,
                    &disc,
                    model.as_str(),
                )
            })
            .collect();
        add_values(&mut values, computed, &mut notes);
    }
    ctl.check()?;

    // sBG: contracts valued by their survival.
    if model == Model::Sbg && opts.method != Method::Bgnbd {
        ctl.report("fitting sBG", 0, 1);
        let (v, r, mut n) = retention::sbg_values(conn, opts, as_of_day, &disc)?;
        let mut r = r;
        r.chosen_because = chosen_because.take();
        fit_report = Some(r);
        values.extend(v);
        notes.append(&mut n);
    }
    // Retention CLV for the others (or everyone with --method retention).
    let valued: std::collections::HashSet<i64> = values.iter().map(|v| v.cid).collect();
    let all_customers: i64 = store::customers::total(conn)?;
    // Retention CLV only runs when someone is left to value.
    if opts.method != Method::Bgnbd && (all_customers as usize) > valued.len() {
        let retention = retention::retention_values(conn, opts, as_of_day, &disc, &valued)?;
        match retention {
            Ok(v) => values.extend(v),
            Err(why) => {
                if opts.method == Method::Retention {
                    return Err(Error::bad(why));
                }
                let left = all_customers as usize - valued.len();
                if left > 0 {
                    notes.push(format!(
                        "{left} customers without orders have no CLV: {why}"
                    ));
                }
            }
        }
    }
    if values.is_empty() {
        return Err(Error::bad(
            "no customer could be valued: import orders (for BG/NBD), or train a churn model and give --revenue-attr (for retention CLV)",
        ));
    }

    // RFM on the customers with orders.
    let rec: Vec<f64> = summaries.iter().map(|s| -(s.recency_days as f64)).collect();
    let freq: Vec<f64> = summaries
        .iter()
        .map(|s| f64::from(s.transactions))
        .collect();
    let mon: Vec<f64> = summaries.iter().map(|s| s.total).collect();
    let (cr, cf, cm) = (
        rfm::cut_points(&rec),
        rfm::cut_points(&freq),
        rfm::cut_points(&mon),
    );
    let by_cid: HashMap<i64, usize> = summaries
        .iter()
        .enumerate()
        .map(|(i, s)| (s.cid, i))
        .collect();
    for v in values.iter_mut() {
        if let Some(&i) = by_cid.get(&v.cid) {
            let (r, f, m) = (
                rfm::score(rec[i], &cr),
                rfm::score(freq[i], &cf),
                rfm::score(mon[i], &cm),
            );
            v.rfm = Some((r, f, m));
            v.segment = Some(rfm::segment(r, f));
        }
    }

    let total_clv: f64 = values.iter().filter_map(|v| v.clv).sum();
    let with_clv = values.iter().filter(|v| v.clv.is_some()).count();
    let mut by_method: HashMap<String, usize> = HashMap::new();
    for v in &values {
        if v.clv.is_some() {
            *by_method.entry(v.method.to_string()).or_default() += 1;
        }
    }
    let mut report = ClvReport {
        fit_id: 0,
        as_of: as_of.format("%Y-%m-%d").to_string(),
        time_unit: opts.time_unit.as_str().into(),
        customers: with_clv,
        repeat_customers: repeat,
        bgnbd: bg_report,
        gamma_gamma: gg_report,
        gamma_gamma_note: gg_note,
        excluded_no_repeat,
        excluded_non_positive_spend,
        horizon_months: months,
        discount_rate: opts.discount,
        margin: opts.margin,
        penalizer: opts.penalizer,
        method: match opts.method {
            Method::Auto => "auto",
            Method::Bgnbd => "bgnbd",
            Method::Retention => "retention",
        }
        .into(),
        by_method,
        total_clv,
        mean_clv: if with_clv > 0 {
            total_clv / with_clv as f64
        } else {
            0.0
        },
        duration_ms: 0,
        notes,
        model: fit_report,
        matrices: fitted.as_ref().map(|p| {
            let max_x = rows.iter().map(|s| s.0).fold(0.0, f64::max);
            let max_t = rows.iter().map(|s| s.2).fold(0.0, f64::max);
            Matrices::of(p, max_x, max_t)
        }),
    };

    // One transaction: the fit, every customer's values in the fit's own tables.
    ctl.check()?;
    ctl.report("writing values", 0, 1);
    let tx = store::begin_immediate(conn)?;
    let id = store::clv::insert_fit(&tx, &report, &opts.agent)?;
    store::clv_values::write(&tx, id, &values)?;
    ctl.check()?;
    store::clv::activate(&tx, id, ctl)?;
    store::clv::prune(&tx)?;
    report.fit_id = id;
    report.duration_ms = started.elapsed().as_millis() as u64;
    store::clv::update_report(&tx, id, &report)?;
    store::audit::append(
        &tx,
        &opts.agent,
        "clv",
        "clv_fit",
        &id.to_string(),
        None,
        Some("active"),
        Some(&format!(
            "{} customers valued, total CLV {:.2}",
            report.customers, report.total_clv
        )),
    )?;
    ctl.report("committing", 0, 1);
    ctl.check()?;
    crate::store::dashboard::bump_version(&tx)?;
    tx.commit()?;
    report.duration_ms = started.elapsed().as_millis() as u64;
    Ok(report)
}

/// BG/BB's (x, t_x, n) per summary, in calendar periods of `unit`: x the
/// periods after the first with a purchase, t_x the last such period and n
/// the periods from the first purchase to the as-of date.
fn bgbb_rows(
    conn: &Connection,
    summaries: &[summary::Summary],
    as_of_day: i64,
    unit: TimeUnit,
) -> Result<Vec<(f64, f64, f64)>> {
    let days = store::clv::purchase_days(conn, as_of_day)?;
    let as_of = unit.period(as_of_day);
    let mut by_cid: HashMap<i64, (f64, f64, f64)> = HashMap::with_capacity(summaries.len());
    let mut periods: Vec<i64> = Vec::new();
    let mut i = 0;
    while i < days.len() {
        let cid = days[i].0;
        periods.clear();
        while i < days.len() && days[i].0 == cid {
            let p = unit.period(days[i].1);
            if periods.last() != Some(&p) {
                periods.push(p);
            }
            i += 1;
        }
        if let Some(r) = bgbb::summary(&periods, as_of) {
            by_cid.insert(cid, r);
        }
    }
    Ok(summaries
        .iter()
        .map(|s| by_cid.get(&s.cid).copied().unwrap_or((0.0, 0.0, 0.0)))
        .collect())
}

/// `--model auto`: sBG when the data are contractual (cancellation dates);
/// else the repeat-purchase family with the smallest error on held-out
/// time (the last 26 weeks), BG/NBD when no holdout can be made.
fn choose_model(
    conn: &Connection,
    opts: &ClvOptions,
    as_of: NaiveDate,
    has_orders: bool,
) -> Result<(Model, String)> {
    let cancelled = store::customers::cancelled_count(conn)?;
    if cancelled >= 10 {
        return Ok((
            Model::Sbg,
            format!("contractual data: {cancelled} customers have a cancellation date, so sBG values their contracts"),
        ));
    }
    if !has_orders {
        return Ok((
            Model::Bgnbd,
            "too few customers with orders to compare families: BG/NBD, the default".into(),
        ));
    }
    match holdout(
        conn,
        None,
        Some(as_of),
        opts.time_unit,
        opts.penalizer,
        None,
    ) {
        Ok(h) => {
            let model = holdout::Family::parse(h.model)
                .map(Model::from_family)
                .unwrap_or(Model::Bgnbd);
            let why = h
                .notes
                .iter()
                .find(|n| n.starts_with("auto: ") && n.contains("predicts the holdout best"))
                .map(|n| {
                    format!(
                        "{}, from {} to {}",
                        n.trim_start_matches("auto: "),
                        h.holdout_start,
                        h.holdout_end
                    )
                })
                .unwrap_or_else(|| format!("{} predicted the held-out time best", model.title()));
            Ok((model, why))
        }
        Err(e) => Ok((
            Model::Bgnbd,
            format!("no holdout check was possible ({e}): BG/NBD, the default"),
        )),
    }
}

/// A customer's values from her expected cumulative transactions at each
/// month's end of the horizon (`curve[m]`, m = 0..=months; None when they
/// did not converge): CLV = margin x spend x the discounted monthly
/// increments.
#[allow(clippy::too_many_arguments)]
fn customer_value(
    s: &summary::Summary,
    (x, tx, t): (f64, f64, f64),
    p_alive: f64,
    curve: Option<Vec<f64>>,
    spend: Option<f64>,
    margin: f64,
    disc: &[f64],
    method: &'static str,
) -> Value {
    let (exp_txn, clv) = match curve {
        Some(c) => (
            c.last().copied(),
            spend.map(|sp| {
                margin
                    * sp
                    * (1..c.len())
                        .map(|m| (c[m] - c[m - 1]) * disc[m - 1])
                        .sum::<f64>()
            }),
        ),
        None => (None, None),
    };
    Value {
        cid: s.cid,
        frequency: Some(x),
        recency: Some(tx),
        t: Some(t),
        monetary: Some(s.monetary),
        p_alive: Some(p_alive).filter(|p| p.is_finite()),
        exp_txn,
        exp_spend: spend,
        clv,
        method,
        rfm: None,
        segment: None,
    }
}

/// Add a family's values, noting the customers whose expectations did not converge.
fn add_values(values: &mut Vec<Value>, computed: Vec<Value>, notes: &mut Vec<String>) {
    let diverged = computed.iter().filter(|v| v.exp_txn.is_none()).count();
    values.extend(computed);
    if diverged > 0 {
        notes.push(format!(
            "{diverged} customers' expected transactions did not converge; they have no CLV"
        ));
    }
}
