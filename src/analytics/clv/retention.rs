//! Valuing customers by survival rather than by repeat purchases:
//! retention CLV (monthly revenue x survival from the active churn model)
//! and sBG contract CLV (monthly revenue x the contract survival of the
//! customer's signup cohort).

use super::family::{FitReport, Model};
use super::{optim, sbg, ClvOptions, Method, Value, MONTH_DAYS};
use crate::error::Result;
use crate::store::clv::Reads;
use crate::timeutil::DAY;
use std::collections::HashMap;

/// Retention CLV of customers not in `skip`: monthly revenue (an attribute,
/// or order history) x survival from the active churn model, discounted.
/// Err(reason) when the method cannot run at all.
pub(super) fn retention_values(
    reads: &dyn Reads,
    opts: &ClvOptions,
    as_of_day: i64,
    disc: &[f64],
    skip: &rustc_hash::FxHashSet<i64>,
) -> Result<std::result::Result<Vec<Value>, String>> {
    let Some(window) = reads.churn_window()? else {
        return Ok(Err(
            "retention CLV needs an active churn model (run `crmtop train`)".into(),
        ));
    };
    let window = window.max(1) as f64;
    let revenue = match monthly_revenue(reads, opts, as_of_day)? {
        Ok(r) => r,
        Err(why) => return Ok(Err(why)),
    };
    let mut out = Vec::new();
    for (cid, p) in reads.churn_probs()? {
        if skip.contains(&cid) {
            continue;
        }
        let Some(&rev) = revenue.get(&cid) else {
            continue;
        };
        // Churn within the model's window -> a monthly hazard.
        let p = p.clamp(0.0, 1.0 - 1e-12);
        let h = 1.0 - (1.0 - p).powf(MONTH_DAYS / window);
        let clv: f64 = disc
            .iter()
            .enumerate()
            .map(|(m, d)| rev * (1.0 - h).powi(m as i32 + 1) * d)
            .sum::<f64>()
            * opts.margin;
        out.push(Value {
            cid,
            frequency: None,
            recency: None,
            t: None,
            monetary: None,
            p_alive: Some(1.0 - p),
            exp_txn: None,
            exp_spend: Some(rev),
            clv: Some(clv),
            method: "retention",
            rfm: None,
            segment: None,
        });
    }
    if out.is_empty() && opts.method == Method::Retention {
        return Ok(Err(
            "no customer has both a churn score and a monthly revenue".into(),
        ));
    }
    Ok(Ok(out))
}

/// Monthly revenue per customer: the `--revenue-attr` attribute, or the
/// average monthly spend over the last 12 months (or since the first order
/// when later). Err(reason) when there is none.
fn monthly_revenue(
    reads: &dyn Reads,
    opts: &ClvOptions,
    as_of_day: i64,
) -> Result<std::result::Result<HashMap<i64, f64>, String>> {
    let mut revenue: HashMap<i64, f64> = HashMap::new();
    match &opts.revenue_attr {
        Some(attr) => {
            revenue.extend(reads.numeric_attribute(attr)?);
            if revenue.is_empty() {
                return Ok(Err(format!("no customer has a numeric attribute '{attr}'")));
            }
        }
        None => {
            let end = (as_of_day + 1) * DAY;
            for (c, sum, first) in reads.spend_between(end - 365 * DAY, end)? {
                let months = (((end - first) as f64 / DAY as f64) / MONTH_DAYS).clamp(1.0, 12.0);
                revenue.insert(c, sum / months);
            }
            if revenue.is_empty() {
                return Ok(Err(
                    "no monthly revenue: give --revenue-attr NAME (a numeric customer attribute) or import orders".into(),
                ));
            }
        }
    }
    Ok(Ok(revenue))
}

/// sBG on the contracts (signup and cancellation dates) as of `as_of_day`,
/// periods of `opts.time_unit`: the fit, and the value of every active
/// contract: monthly revenue x the survival of its age, discounted, over
/// the horizon. Without revenue the fit and the survival are still given.
pub(super) fn sbg_values(
    reads: &dyn Reads,
    opts: &ClvOptions,
    as_of_day: i64,
    disc: &[f64],
) -> Result<(Vec<Value>, FitReport, Vec<String>)> {
    let u = opts.time_unit.days();
    let contracts: Vec<(i64, i64, Option<i64>)> = reads
        .contracts()?
        .into_iter()
        .filter(|&(_, signup, _)| signup <= as_of_day)
        .collect();
    let obs: Vec<sbg::Obs> = contracts
        .iter()
        .map(
            |&(_, signup, cancelled)| match cancelled.filter(|&c| c <= as_of_day) {
                Some(c) => sbg::Obs::Cancelled(((c - signup).max(0) as f64 / u).floor() as u32 + 1),
                None => sbg::Obs::Active(((as_of_day - signup) as f64 / u).floor() as u32),
            },
        )
        .collect();
    let data = sbg::Data::new(obs.iter().copied(), opts.penalizer);
    if data.len() < 10 || data.cancelled() == 0 {
        return Err(crate::error::Error::bad(format!(
            "sBG needs at least 10 customers with a signup date, some of them cancelled (cancelled_at) by the as-of date; found {} contracts, {} cancelled",
            data.len(),
            data.cancelled()
        )));
    }
    let opt = optim::minimise(&data, &[1.0, 1.0], 500)
        .map_err(|e| crate::error::Error::bad(format!("sBG fit failed: {e}")))?;
    let p = sbg::Params::from_slice(&opt.params);
    let se = optim::std_errors(&data, &opt.params);
    let report = FitReport::new(
        Model::Sbg,
        super::family::names(Model::Sbg),
        &opt.params,
        se,
        data.log_likelihood(&p),
        opt.iterations,
        data.len(),
    );
    let mut notes = Vec::new();
    let revenue = match monthly_revenue(reads, opts, as_of_day)? {
        Ok(r) => Some(r),
        Err(why) => {
            notes.push(format!("sBG gives survival but no CLV in money: {why}"));
            None
        }
    };
    let step = MONTH_DAYS / u;
    let mut out = Vec::new();
    for (&(cid, signup, _), o) in contracts.iter().zip(&obs) {
        let sbg::Obs::Active(_) = o else { continue };
        let age = (as_of_day - signup) as f64 / u;
        let s0 = p.survival(age);
        let surv: Vec<f64> = (1..=disc.len())
            .map(|m| p.survival(age + m as f64 * step) / s0)
            .collect();
        let rev = revenue.as_ref().and_then(|r| r.get(&cid).copied());
        let clv = rev
            .map(|rev| opts.margin * rev * surv.iter().zip(disc).map(|(s, d)| s * d).sum::<f64>());
        out.push(Value {
            cid,
            frequency: None,
            recency: None,
            t: Some(age),
            monetary: None,
            // Still under contract at the horizon's end.
            p_alive: surv.last().copied().filter(|v| v.is_finite()),
            exp_txn: None,
            exp_spend: rev,
            clv: clv.filter(|v| v.is_finite()),
            method: "sbg",
            rfm: None,
            segment: None,
        });
    }
    Ok((out, report, notes))
}
