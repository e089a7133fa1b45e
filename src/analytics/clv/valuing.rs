//! Valuing customers: each one's expected transactions month by month under
//! the fitted family, times the expected spend, discounted; and their RFM
//! scores and segment.

use super::family::{Fitted, Model};
use super::{gamma_gamma, summary, ClvOptions, Value, MONTH_DAYS};
use crate::analytics::rfm;
use crate::error::Result;
use crate::jobs::Ctl;
use rayon::prelude::*;

pub(super) fn discount_factors(months: u32, d: f64) -> Vec<f64> {
    (1..=months)
        .map(|m| 1.0 / (1.0 + d).powi(m as i32))
        .collect()
}

/// Every summarised customer's values under a fitted repeat-purchase
/// family (none fitted: none valued). `rows` are the family's (x, t_x, T).
#[allow(clippy::too_many_arguments)]
pub(super) fn value_transactional(
    fitted: Option<Fitted>,
    model: Model,
    summaries: &[summary::Summary],
    rows: &[(f64, f64, f64)],
    gg_params: Option<gamma_gamma::Params>,
    opts: &ClvOptions,
    unit: f64,
    disc: &[f64],
    notes: &mut Vec<String>,
    ctl: Ctl,
) -> Result<Vec<Value>> {
    let months = opts.horizon_months;
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
        let index: rustc_hash::FxHashMap<(u64, u64), usize> =
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
                    disc,
                    "bgnbd",
                )
            })
            .collect();
        add_values(&mut values, computed, notes);
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
                    disc,
                    model.as_str(),
                )
            })
            .collect();
        add_values(&mut values, computed, notes);
    }
    ctl.check()?;
    Ok(values)
}

/// RFM scores and segments of the customers with orders (quintile cut
/// points over them).
pub(super) fn assign_rfm(summaries: &[summary::Summary], values: &mut [Value]) {
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
    let cids: Vec<i64> = summaries.iter().map(|s| s.cid).collect();
    let by_cid = crate::cid_index::CidIndex::new(&cids);
    for v in values.iter_mut() {
        if let Some(i) = by_cid.get(v.cid) {
            let (r, f, m) = (
                rfm::score(rec[i], &cr),
                rfm::score(freq[i], &cf),
                rfm::score(mon[i], &cm),
            );
            v.rfm = Some((r, f, m));
            v.segment = Some(rfm::segment(r, f));
        }
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
