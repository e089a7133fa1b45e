//! Does the CLV model predict the time it has not seen? Calibration and
//! holdout, as lifetimes' `calibration_and_holdout_data` and CLVTools'
//! tracking plot do it: BG/NBD is fitted on the purchases up to the end of
//! the calibration period only, each customer's repeat purchases in the
//! holdout period are predicted from that fit, and the predictions are put
//! beside what happened:
//! - per customer: mean absolute and root mean squared error;
//! - in total: predicted against actual repeat purchases;
//! - calibration against holdout: mean holdout purchases by number of
//!   repeat purchases in calibration (0..7+), actual and predicted;
//! - the tracking plot: the cohort's repeat purchases per period, actual and
//!   expected by the model, from the first purchase to the end of holdout.
//!
//! The rows come from the store (`store::clv::purchase_days`); this module
//! only computes.

use super::{bgnbd, optim, TimeUnit};
use crate::error::{Error, Result};
use serde::Serialize;

/// One customer's purchase days (days since 1970, sorted, distinct).
pub struct History<'a> {
    pub days: &'a [i64],
}

#[derive(Debug, Clone, Serialize)]
pub struct HoldoutReport {
    pub model: &'static str,
    pub time_unit: &'static str,
    /// Calibration: from the cohort's first purchase to this day, included.
    pub calibration_start: String,
    pub calibration_end: String,
    /// Holdout: from this day (the day after the calibration end) to
    /// `holdout_end`, both included.
    pub holdout_start: String,
    pub holdout_end: String,
    /// Length of the holdout period in time units.
    pub holdout_length: f64,
    /// Customers whose first purchase is in the calibration period.
    pub customers: usize,
    pub r: f64,
    pub alpha: f64,
    pub a: f64,
    pub b: f64,
    pub log_likelihood: f64,
    /// Per customer, repeat purchases in the holdout period.
    pub mae: f64,
    pub rmse: f64,
    pub total_actual: f64,
    pub total_predicted: f64,
    /// (predicted - actual) / actual, in percent.
    pub total_error_pct: f64,
    pub by_frequency: Vec<FrequencyRow>,
    /// Customers by repeat purchases in calibration (0..7+), actual and
    /// expected by the fit (the period-transactions plot).
    pub period_transactions: Vec<PeriodRow>,
    pub tracking: Vec<TrackingRow>,
}

/// One bar pair of the period-transactions plot.
#[derive(Debug, Clone, Serialize)]
pub struct PeriodRow {
    pub repeat_purchases: String,
    pub actual: usize,
    /// Σ over the cohort of P(X(T_i) = n), T_i the customer's time in
    /// calibration; the last row takes the rest.
    pub expected: f64,
}

/// Calibration against holdout: customers with this many repeat purchases
/// in calibration (the last row: this many or more).
#[derive(Debug, Clone, Serialize)]
pub struct FrequencyRow {
    pub frequency: String,
    pub customers: usize,
    pub actual: f64,
    pub predicted: f64,
}

/// One period of the tracking plot.
#[derive(Debug, Clone, Serialize)]
pub struct TrackingRow {
    /// Index of the period from the cohort's first purchase.
    pub period: i64,
    /// The period's first day.
    pub start: String,
    pub holdout: bool,
    pub actual: f64,
    pub expected: f64,
    pub actual_cumulative: f64,
    pub expected_cumulative: f64,
}

/// Calibration and holdout on `histories`: calibration up to `cal_end`
/// (a day, included), holdout from the next day to `end` (included).
pub fn evaluate<'a>(
    histories: impl Iterator<Item = History<'a>>,
    cal_end: i64,
    end: i64,
    unit: TimeUnit,
    penalizer: f64,
) -> Result<HoldoutReport> {
    if end <= cal_end {
        return Err(Error::bad(
            "--holdout-from must be before the as-of date (the holdout period is what comes after it)",
        ));
    }
    let u = unit.days();
    // Per customer of the cohort: (x, t_x, T) in calibration, repeat
    // purchases in holdout, first day.
    struct Row {
        x: f64,
        tx: f64,
        t: f64,
        actual: f64,
        first: i64,
    }
    let mut rows: Vec<Row> = Vec::new();
    let mut repeat_days: Vec<i64> = Vec::new();
    for h in histories {
        let Some(&first) = h.days.first() else {
            continue;
        };
        if first > cal_end {
            continue;
        }
        let cal: Vec<i64> = h.days.iter().copied().filter(|&d| d <= cal_end).collect();
        let last = cal.last().copied().unwrap_or(first);
        let actual = h.days.iter().filter(|&&d| d > cal_end && d <= end).count();
        repeat_days.extend(h.days.iter().skip(1).copied().filter(|&d| d <= end));
        rows.push(Row {
            x: (cal.len() - 1) as f64,
            tx: (last - first) as f64 / u,
            t: (cal_end - first) as f64 / u,
            actual: actual as f64,
            first,
        });
    }
    if rows.len() < 10 {
        return Err(Error::bad(format!(
            "only {} customers bought before the holdout date: too few for BG/NBD (at least 10)",
            rows.len()
        )));
    }
    let data = bgnbd::Data::new(rows.iter().map(|r| (r.x, r.tx, r.t)), penalizer);
    let mean_t = rows.iter().map(|r| r.t).sum::<f64>() / rows.len() as f64;
    let opt = optim::minimise(&data, &[1.0, mean_t.max(1.0), 1.0, 1.0], 500)
        .map_err(|e| Error::bad(format!("BG/NBD fit failed: {e}")))?;
    let p = bgnbd::Params {
        r: opt.params[0],
        alpha: opt.params[1],
        a: opt.params[2],
        b: opt.params[3],
    };
    let horizon = (end - cal_end) as f64 / u;
    // Per-customer predictions (the same for every customer with the same
    // x, t_x and T).
    let preds: Vec<f64> = rows
        .iter()
        .map(|r| {
            p.expected_transactions(r.x, r.tx, r.t, horizon)
                .unwrap_or(f64::NAN)
        })
        .collect();
    if preds.iter().any(|v| !v.is_finite()) {
        return Err(Error::bad(
            "the BG/NBD predictions did not converge for some customers (try --penalizer 0.001)",
        ));
    }
    let n = rows.len() as f64;
    let (mut abs, mut sq, mut tot_a, mut tot_p) = (0.0, 0.0, 0.0, 0.0);
    for (r, &e) in rows.iter().zip(&preds) {
        abs += (e - r.actual).abs();
        sq += (e - r.actual).powi(2);
        tot_a += r.actual;
        tot_p += e;
    }
    let mut by_frequency = Vec::new();
    for k in 0..=7usize {
        let sel: Vec<usize> = (0..rows.len())
            .filter(|&i| {
                let x = rows[i].x as usize;
                if k == 7 {
                    x >= 7
                } else {
                    x == k
                }
            })
            .collect();
        if sel.is_empty() {
            continue;
        }
        let m = sel.len() as f64;
        by_frequency.push(FrequencyRow {
            frequency: if k == 7 { "7+".into() } else { k.to_string() },
            customers: sel.len(),
            actual: sel.iter().map(|&i| rows[i].actual).sum::<f64>() / m,
            predicted: sel.iter().map(|&i| preds[i]).sum::<f64>() / m,
        });
    }
    // Period transactions: customers grouped by their time in calibration.
    let mut by_t: std::collections::BTreeMap<i64, f64> = Default::default();
    for r in &rows {
        *by_t.entry(r.first).or_default() += 1.0;
    }
    let mut period_transactions = Vec::new();
    let mut expected_sum = 0.0;
    for k in 0..=7u32 {
        let actual = rows
            .iter()
            .filter(|r| if k == 7 { r.x >= 7.0 } else { r.x as u32 == k })
            .count();
        let expected = if k == 7 {
            n - expected_sum
        } else {
            by_t.iter()
                .map(|(&first, &count)| count * p.prob_n_purchases((cal_end - first) as f64 / u, k))
                .sum()
        };
        expected_sum += expected;
        period_transactions.push(PeriodRow {
            repeat_purchases: if k == 7 { "7+".into() } else { k.to_string() },
            actual,
            expected,
        });
    }
    let tracking = tracking(
        &p,
        &rows.iter().map(|r| r.first).collect::<Vec<_>>(),
        &repeat_days,
        cal_end,
        end,
        u,
    )?;
    let start = rows.iter().map(|r| r.first).min().unwrap_or(cal_end);
    let day = |d: i64| crate::timeutil::ts_to_day_string(d * crate::timeutil::DAY);
    Ok(HoldoutReport {
        model: "bgnbd",
        time_unit: unit.as_str(),
        calibration_start: day(start),
        calibration_end: day(cal_end),
        holdout_start: day(cal_end + 1),
        holdout_end: day(end),
        holdout_length: horizon,
        customers: rows.len(),
        r: p.r,
        alpha: p.alpha,
        a: p.a,
        b: p.b,
        log_likelihood: data.log_likelihood(&p),
        mae: abs / n,
        rmse: (sq / n).sqrt(),
        total_actual: tot_a,
        total_predicted: tot_p,
        total_error_pct: if tot_a > 0.0 {
            100.0 * (tot_p - tot_a) / tot_a
        } else {
            f64::NAN
        },
        by_frequency,
        period_transactions,
        tracking,
    })
}

/// The tracking plot: per period of `u` days from the cohort's first
/// purchase, the repeat purchases that happened and those the model expects
/// of the whole cohort (each customer's unconditional E[X(t)] since their
/// first purchase; customers are grouped by first day, so the cost grows
/// with days, not customers).
fn tracking(
    p: &bgnbd::Params,
    firsts: &[i64],
    repeat_days: &[i64],
    cal_end: i64,
    end: i64,
    u: f64,
) -> Result<Vec<TrackingRow>> {
    let start = firsts.iter().copied().min().unwrap_or(cal_end);
    let mut cohorts: std::collections::BTreeMap<i64, f64> = Default::default();
    for &f in firsts {
        *cohorts.entry(f).or_default() += 1.0;
    }
    let periods = ((end - start + 1) as f64 / u).ceil() as i64;
    // E[X(t)] for a customer who made the first purchase on day f, at the
    // end of day `d` (t in units, from the end of the first day: the first
    // purchase is not a repeat).
    let expected_by = |d: i64| -> Result<f64> {
        let mut total = 0.0;
        for (&f, &count) in &cohorts {
            let t = (d - f) as f64 / u;
            if t > 0.0 {
                total += count
                    * p.expected_transactions(0.0, 0.0, 0.0, t)
                        .ok_or_else(|| Error::bad("the BG/NBD expectation did not converge"))?;
            }
        }
        Ok(total)
    };
    let mut out = Vec::with_capacity(periods as usize);
    let (mut cum_a, mut prev_e) = (0.0, 0.0);
    let mut sorted = repeat_days.to_vec();
    sorted.sort_unstable();
    let mut i = 0;
    for k in 0..periods {
        let lo = start + (k as f64 * u).round() as i64;
        let hi = (start + ((k + 1) as f64 * u).round() as i64 - 1).min(end);
        let mut a = 0.0;
        while i < sorted.len() && sorted[i] <= hi {
            if sorted[i] >= lo {
                a += 1.0;
            }
            i += 1;
        }
        cum_a += a;
        let e = expected_by(hi)?;
        out.push(TrackingRow {
            period: k,
            start: crate::timeutil::ts_to_day_string(lo * crate::timeutil::DAY),
            holdout: lo > cal_end,
            actual: a,
            expected: e - prev_e,
            actual_cumulative: cum_a,
            expected_cumulative: e,
        });
        prev_e = e;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_holdout_must_come_after_the_calibration() {
        let days = [vec![10, 20], vec![11]];
        let h = days.iter().map(|d| History { days: d });
        assert!(evaluate(h, 30, 30, TimeUnit::Week, 0.0).is_err());
    }
}
