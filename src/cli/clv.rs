//! clv, segments.

use super::{print_json, Ctx, OK};
use crate::analytics::clv::{self, family::Model, ClvOptions, ClvReport, Method, TimeUnit};
use crate::error::Result;
use crate::jobs::Ctl;
use crate::store;
use clap::{Args, ValueEnum};

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum UnitArg {
    Day,
    Week,
    Month,
    Year,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ModelArg {
    Bgnbd,
    Pnbd,
    Mbgnbd,
    Bgbb,
    Sbg,
    Auto,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum MethodArg {
    Auto,
    Bgnbd,
    Retention,
}

#[derive(Debug, Args, Clone)]
pub struct ClvArgs {
    /// As-of date: orders after it are ignored [default: the day of the latest order]
    #[arg(long, value_name = "DATE", value_parser = super::data::parse_date_arg)]
    pub as_of: Option<chrono::NaiveDate>,
    /// Time unit the models are fitted in (week = 7 days, month = 30.4375
    /// days, year = 365.25 days); for BG/BB the opportunity: one per
    /// calendar period, several orders in one period count once
    #[arg(long, value_enum, default_value_t = UnitArg::Week)]
    pub time_unit: UnitArg,
    /// CLV horizon in months (of 30.4375 days)
    #[arg(long, default_value_t = 12)]
    pub horizon_months: u32,
    /// Monthly discount rate
    #[arg(long, default_value_t = 0.01)]
    pub discount: f64,
    /// Profit margin applied to spend
    #[arg(long, default_value_t = 1.0)]
    pub margin: f64,
    /// L2 penalty on the model parameters (lifetimes' penalizer_coef)
    #[arg(long, default_value_t = 0.0)]
    pub penalizer: f64,
    /// auto: BG/NBD where a customer has orders, retention otherwise
    #[arg(long, value_enum, default_value_t = MethodArg::Auto)]
    pub method: MethodArg,
    /// Numeric customer attribute with monthly revenue, for retention CLV (e.g. MonthlyCharges)
    #[arg(long, value_name = "NAME")]
    pub revenue_attr: Option<String>,
    /// Check the model on held-out time instead of fitting CLV: fit BG/NBD on
    /// the orders up to DATE (included), predict each customer's repeat
    /// purchases from the next day to --as-of, and compare with what
    /// happened (writes nothing)
    #[arg(long, value_name = "DATE", value_parser = super::data::parse_date_arg)]
    pub holdout_from: Option<chrono::NaiveDate>,
    /// The model family: bgnbd (BG/NBD), pnbd (Pareto/NBD), mbgnbd
    /// (MBG/NBD) for repeat buying at any time; bgbb (BG/BB) for discrete
    /// opportunities (donations, yearly renewals); sbg (sBG) for contracts
    /// (signup_date and cancelled_at); auto: sBG for contractual data, else
    /// the family with the smallest holdout error
    #[arg(long, value_enum, value_name = "FAMILY", default_value_t = ModelArg::Bgnbd)]
    pub model: ModelArg,
    /// Print JSON instead of text
    #[arg(long)]
    pub json: bool,
}

impl ClvArgs {
    pub fn options(&self, agent: &str) -> ClvOptions {
        ClvOptions {
            as_of: self.as_of,
            time_unit: match self.time_unit {
                UnitArg::Day => TimeUnit::Day,
                UnitArg::Week => TimeUnit::Week,
                UnitArg::Month => TimeUnit::Month,
                UnitArg::Year => TimeUnit::Year,
            },
            horizon_months: self.horizon_months,
            discount: self.discount,
            margin: self.margin,
            penalizer: self.penalizer,
            method: match self.method {
                MethodArg::Auto => Method::Auto,
                MethodArg::Bgnbd => Method::Bgnbd,
                MethodArg::Retention => Method::Retention,
            },
            revenue_attr: self.revenue_attr.clone(),
            model: match self.model {
                ModelArg::Bgnbd => Model::Bgnbd,
                ModelArg::Pnbd => Model::Pnbd,
                ModelArg::Mbgnbd => Model::Mbgnbd,
                ModelArg::Bgbb => Model::Bgbb,
                ModelArg::Sbg => Model::Sbg,
                ModelArg::Auto => Model::Auto,
            },
            agent: agent.to_string(),
            dashboard: None,
        }
    }
}

pub fn clv(ctx: &Ctx, a: ClvArgs) -> Result<i32> {
    if let Some(from) = a.holdout_from {
        let s = ctx.open_db_for_read()?;
        let unit = a.options(&ctx.agent).time_unit;
        let family = match a.model {
            ModelArg::Auto => None,
            ModelArg::Bgnbd => Some(clv::holdout::Family::Bgnbd),
            ModelArg::Pnbd => Some(clv::holdout::Family::Pnbd),
            ModelArg::Mbgnbd => Some(clv::holdout::Family::Mbgnbd),
            ModelArg::Bgbb | ModelArg::Sbg => {
                return Err(crate::error::Error::bad(
                    "--holdout-from checks the repeat-purchase families: --model bgnbd, pnbd, mbgnbd or auto",
                ))
            }
        };
        let reads: &dyn store::clv::Reads = match &s {
            store::Db::File(f) => &f.conn,
            store::Db::Server(pg) => pg,
        };
        let r = clv::holdout(reads, Some(from), a.as_of, unit, a.penalizer, family)?;
        if a.json {
            print_json(&r)?;
        } else {
            print_holdout(&r);
        }
        return Ok(OK);
    }
    let printer = super::progress_printer();
    let ctl = Ctl::new(&printer, crate::signals::cancel_flag());
    let result = match ctx.open_db_for_write("clv")? {
        // A server: the fit, its values and the activation in one
        // transaction there.
        store::Db::Server(pg) => {
            let job = store::pg::jobs::start(&pg, "clv", &ctx.agent)?;
            let r = clv::fit_on_server(&pg, &a.options(&ctx.agent), ctl);
            super::warm_server_dashboard(ctx, &pg, &r, &printer);
            super::finish_server_job(&pg, job, &r);
            r
        }
        store::Db::File(mut s) => {
            let job = store::jobs::start(&s.conn, "clv", &ctx.agent)?;
            let opts = ClvOptions {
                dashboard: Some(ctx.config.thresholds),
                ..a.options(&ctx.agent)
            };
            let result = clv::fit(&mut s.conn, &opts, ctl);
            super::warm_dashboard(ctx, &s.conn, &result, &printer);
            super::finish_job(&s.conn, job, &result);
            result
        }
    };
    printer(crate::jobs::Progress {
        phase: "end".into(),
        done: 1,
        total: 1,
    });
    super::progress_done();
    let r = result?;
    if a.json {
        print_json(&r)?;
    } else {
        print_report(&r);
    }
    Ok(OK)
}

/// The holdout check as tables: the fit, the errors, calibration against
/// holdout by frequency, and the tracking plot's cumulative figures.
fn print_holdout(r: &clv::holdout::HoldoutReport) {
    crate::outln!(
        "{} fitted on {} to {} ({} customers), checked on {} to {} ({:.1} {}s)",
        match r.model {
            "pnbd" => "Pareto/NBD",
            "mbgnbd" => "MBG/NBD",
            _ => "BG/NBD",
        },
        r.calibration_start,
        r.calibration_end,
        r.customers,
        r.holdout_start,
        r.holdout_end,
        r.holdout_length,
        r.time_unit
    );
    let named = |n: &str, v: Option<f64>| v.map(|v| format!("  {n} {v:.4}")).unwrap_or_default();
    crate::outln!(
        "  {}: r {:.4}  alpha {:.4}{}{}{}{}  log-likelihood {:.2}",
        r.model,
        r.r,
        r.alpha,
        named("a", r.a),
        named("b", r.b),
        named("s", r.s),
        named("beta", r.beta),
        r.log_likelihood
    );
    if !r.comparison.is_empty() {
        crate::outln!(
            "  {:<8} {:>8} {:>8} {:>9} {:>15}",
            "family",
            "MAE",
            "RMSE",
            "total",
            "log-likelihood"
        );
        for c in &r.comparison {
            crate::outln!(
                "  {:<8} {:>8.3} {:>8.3} {:>8.1}% {:>15.2}",
                c.model,
                c.mae,
                c.rmse,
                c.total_error_pct,
                c.log_likelihood
            );
        }
    }
    for n in &r.notes {
        crate::outln!("note: {n}");
    }
    crate::outln!(
        "repeat purchases in the holdout period: predicted {:.1}, actual {:.0} ({:+.1}%); per customer MAE {:.3}, RMSE {:.3}",
        r.total_predicted,
        r.total_actual,
        r.total_error_pct,
        r.mae,
        r.rmse
    );
    crate::outln!();
    crate::outln!(
        "calibration vs holdout (mean holdout purchases by repeat purchases in calibration)"
    );
    crate::outln!(
        "  {:>9} {:>9} {:>9} {:>9}",
        "frequency",
        "customers",
        "actual",
        "predicted"
    );
    for f in &r.by_frequency {
        crate::outln!(
            "  {:>9} {:>9} {:>9.3} {:>9.3}",
            f.frequency,
            f.customers,
            f.actual,
            f.predicted
        );
    }
    crate::outln!();
    if !r.period_transactions.is_empty() {
        crate::outln!("period transactions (customers by repeat purchases in calibration)");
        crate::outln!("  {:>9} {:>9} {:>9}", "purchases", "actual", "model");
        for p in &r.period_transactions {
            crate::outln!(
                "  {:>9} {:>9} {:>9.1}",
                p.repeat_purchases,
                p.actual,
                p.expected
            );
        }
        crate::outln!();
    }
    crate::outln!(
        "tracking: cumulative repeat purchases of the cohort (| marks the holdout; the model line is its expectation \
         for the cohort since each first purchase, not conditional on calibration, so its holdout total differs from the prediction above)"
    );
    crate::outln!("  {:>10} {:>10} {:>10}", "from", "actual", "expected");
    let step = (r.tracking.len() / 12).max(1);
    let mut was_holdout = false;
    let last_cal = r.tracking.iter().rposition(|t| !t.holdout);
    for (i, t) in r.tracking.iter().enumerate() {
        let boundary = t.holdout && !was_holdout;
        was_holdout = t.holdout;
        if i % step == 0 || boundary || Some(i) == last_cal || i + 1 == r.tracking.len() {
            crate::outln!(
                "{} {:>10} {:>10.0} {:>10.1}",
                if t.holdout { "|" } else { " " },
                t.start,
                t.actual_cumulative,
                t.expected_cumulative
            );
        }
    }
}

fn se(x: Option<f64>) -> String {
    match x {
        Some(v) if v.is_finite() => format!("{v:.4}"),
        _ => "n/a".into(),
    }
}

pub fn print_report(r: &ClvReport) {
    crate::outln!(
        "CLV fit #{} as of {} (time unit: {}); {} customers valued, {} with repeat purchases",
        r.fit_id,
        r.as_of,
        r.time_unit,
        r.customers,
        r.repeat_customers
    );
    if let Some(b) = &r.bgnbd {
        crate::outln!(
            "BG/NBD:       r = {:.4} ({}), alpha = {:.4} ({}), a = {:.4} ({}), b = {:.4} ({})   log-likelihood {:.2}",
            b.r,
            se(b.std_err.map(|s| s.r)),
            b.alpha,
            se(b.std_err.map(|s| s.alpha)),
            b.a,
            se(b.std_err.map(|s| s.a)),
            b.b,
            se(b.std_err.map(|s| s.b)),
            b.log_likelihood
        );
        crate::outln!("              ({} customers in {} distinct (x, t_x, T) rows; standard errors in brackets)", b.customers, b.distinct_rows);
    }
    if let Some(m) = r.model.as_ref().filter(|m| m.family != "bgnbd") {
        let title = Model::parse(&m.family).map(Model::title).unwrap_or("model");
        crate::outln!(
            "{:<13} {}   log-likelihood {:.2}",
            format!("{title}:"),
            m.params_text(),
            m.log_likelihood
        );
        crate::outln!(
            "              ({} customers; {})",
            m.customers,
            if m.std_err.is_empty() {
                "no standard errors: the Hessian is not invertible"
            } else {
                "standard errors in brackets"
            }
        );
    }
    if let Some(why) = r.model.as_ref().and_then(|m| m.chosen_because.as_deref()) {
        crate::outln!("              chosen by --model auto: {why}");
    }
    if let Some(g) = &r.gamma_gamma {
        crate::outln!(
            "Gamma-Gamma:  p = {:.4} ({}), q = {:.4} ({}), gamma = {:.4} ({})   log-likelihood {:.2}   on {} customers",
            g.p,
            se(g.std_err.map(|s| s[0])),
            g.q,
            se(g.std_err.map(|s| s[1])),
            g.gamma,
            se(g.std_err.map(|s| s[2])),
            g.log_likelihood,
            g.customers
        );
        match g.population_mean {
            Some(m) => crate::outln!(
                "              mean spend per transaction in the population: {}",
                crate::analytics::priority::money(m)
            ),
            None => crate::outln!(
                "              mean spend per transaction in the population: infinite (q <= 1)"
            ),
        }
    }
    crate::outln!(
        "              left out of Gamma-Gamma: {} without a repeat purchase, {} with zero or negative spend",
        r.excluded_no_repeat, r.excluded_non_positive_spend
    );
    if let Some(n) = &r.gamma_gamma_note {
        crate::outln!("note: {n}");
    }
    let mut methods: Vec<String> = r
        .by_method
        .iter()
        .map(|(m, n)| format!("{m} {n}"))
        .collect();
    methods.sort();
    crate::outln!(
        "CLV over {} months, monthly discount {}, margin {}: total {}, mean {} ({})",
        r.horizon_months,
        r.discount_rate,
        r.margin,
        crate::analytics::priority::money(r.total_clv),
        crate::analytics::priority::money(r.mean_clv),
        methods.join(", ")
    );
    for n in &r.notes {
        crate::outln!("note: {n}");
    }
    crate::outln!("done in {:.1} s", r.duration_ms as f64 / 1000.0);
}

#[derive(Debug, Args)]
pub struct SegmentsArgs {
    /// Print JSON instead of text
    #[arg(long)]
    pub json: bool,
}

pub fn segments(ctx: &Ctx, a: SegmentsArgs) -> Result<i32> {
    let db = ctx.open_db_for_read()?;
    let seg = store::segments::rfm_summary(&db)?;
    let matrix = store::segments::age_income_matrix(&db)?;
    if a.json {
        print_json(&serde_json::json!({"rfm": seg, "age_income": matrix}))?;
        return Ok(OK);
    }
    if seg.is_empty() {
        crate::outln!("no RFM segments yet: run `crmtop clv` first");
    } else {
        crate::outln!(
            "{:<20} {:>9} {:>7} {:>9} {:>10} {:>12} {:>14} {:>8}",
            "segment",
            "customers",
            "share",
            "recency",
            "frequency",
            "monetary",
            "total CLV",
            "churn"
        );
        for r in &seg {
            crate::outln!(
                "{:<20} {:>9} {:>6.1}% {:>8.0}d {:>10.1} {:>12} {:>14} {:>8}",
                r.segment,
                r.customers,
                r.share * 100.0,
                r.mean_recency_days,
                r.mean_transactions,
                crate::analytics::priority::money(r.mean_spend),
                crate::analytics::priority::money(r.total_clv),
                r.mean_churn
                    .map(|c| format!("{:.1}%", c * 100.0))
                    .unwrap_or_else(|| "-".into())
            );
        }
    }
    crate::outln!("\nage x income: customers, churn rate (mean churn probability), mean CLV");
    for c in &matrix {
        crate::outln!(
            "{:<8} {:<10} {:>8} {:>8} {:>12}",
            c.age_group,
            c.income_group,
            c.customers,
            c.churn_rate
                .map(|v| format!("{:.1}%", v * 100.0))
                .unwrap_or_else(|| "-".into()),
            c.mean_clv
                .map(crate::analytics::priority::money)
                .unwrap_or_else(|| "-".into())
        );
    }
    Ok(OK)
}
