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

use super::family::{self, Fitted};
use super::TimeUnit;
use crate::error::{Error, Result};
use serde::Serialize;

/// One customer's purchase days (days since 1970, sorted, distinct).
pub struct History<'a> {
    pub days: &'a [i64],
}

/// The model families the holdout check can fit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// BG/NBD (Fader, Hardie & Lee 2005).
    Bgnbd,
    /// Pareto/NBD (Schmittlein, Morrison & Colombo 1987).
    Pnbd,
    /// MBG/NBD (Batislam, Denizel & Filiztekin 2007).
    Mbgnbd,
}

impl Family {
    pub const ALL: [Family; 3] = [Family::Bgnbd, Family::Pnbd, Family::Mbgnbd];

    pub fn parse(s: &str) -> Option<Family> {
        match s {
            "bgnbd" => Some(Family::Bgnbd),
            "pnbd" => Some(Family::Pnbd),
            "mbgnbd" => Some(Family::Mbgnbd),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Family::Bgnbd => "bgnbd",
            Family::Pnbd => "pnbd",
            Family::Mbgnbd => "mbgnbd",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct HoldoutReport {
    /// The family fitted: bgnbd or pnbd.
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
    /// The parameters by their usual names: r, alpha and a, b (BG/NBD) or
    /// s, beta (Pareto/NBD).
    pub r: f64,
    pub alpha: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub a: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub b: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub s: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub beta: Option<f64>,
    pub log_likelihood: f64,
    /// Per customer, repeat purchases in the holdout period.
    pub mae: f64,
    pub rmse: f64,
    pub total_actual: f64,
    pub total_predicted: f64,
    /// (predicted - actual) / actual, in percent.
    pub total_error_pct: f64,
    /// What makes these numbers less reliable, in words (and, with `auto`,
    /// why this family).
    pub notes: Vec<String>,
    /// With `auto`: every family fitted, and its errors.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub comparison: Vec<Comparison>,
    pub by_frequency: Vec<FrequencyRow>,
    /// Customers by repeat purchases in calibration (0..7+), actual and
    /// expected by the fit (the period-transactions plot; BG/NBD only).
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

/// One family's errors on the holdout (`--model auto`).
#[derive(Debug, Clone, Serialize)]
pub struct Comparison {
    pub model: &'static str,
    pub mae: f64,
    pub rmse: f64,
    pub total_error_pct: f64,
    pub log_likelihood: f64,
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
    family: Family,
) -> Result<HoldoutReport> {
    if end <= cal_end {
        let day = |d: i64| crate::timeutil::ts_to_day_string(d * crate::timeutil::DAY);
        return Err(Error::bad(format!(
            "the holdout date {} must be before the as-of date {} (the holdout period is what comes after it)",
            day(cal_end),
            day(end)
        )));
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
    let xtt: Vec<(f64, f64, f64)> = rows.iter().map(|r| (r.x, r.tx, r.t)).collect();
    let (fitted, fit) = family::fit(family::Model::from_family(family), &xtt, penalizer)?;
    let log_likelihood = fit.log_likelihood;
    let names: Vec<f64> = fit.params.values().filter_map(|v| v.as_f64()).collect();
    let horizon = (end - cal_end) as f64 / u;
    // Per-customer predictions (the same for every customer with the same
    // x, t_x and T).
    let preds: Vec<f64> = rows
        .iter()
        .map(|r| fitted.expected(r.x, r.tx, r.t, horizon).unwrap_or(f64::NAN))
        .collect();
    let cal_len = (cal_end - rows.iter().map(|r| r.first).min().unwrap_or(cal_end)) as f64 / u;
    if preds.iter().any(|v| !v.is_finite()) {
        return Err(Error::bad(format!(
            "the model's predictions did not converge for some customers: a calibration period of {cal_len:.1} {unit}s \
             is short for {horizon:.1} {unit}s of holdout; choose a later --holdout-from",
            unit = unit.as_str()
        )));
    }
    let mut notes = Vec::new();
    if names.iter().any(|v| *v < 1e-3 || *v > 1e4) {
        notes.push(format!(
            "the fit is at the edge of its parameter space ({}): the calibration period ({cal_len:.1} {}s) is too short \
             or the data too sparse, and its predictions are not reliable",
            names.iter().map(|v| format!("{v:.4}")).collect::<Vec<_>>().join(", "),
            unit.as_str()
        ));
    }
    if horizon > 1.5 * cal_len {
        notes.push(format!(
            "the holdout ({horizon:.1} {u}s) is much longer than the calibration ({cal_len:.1} {u}s): a long extrapolation",
            u = unit.as_str()
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
    let bg = match &fitted {
        Fitted::Bg(p) => Some(*p),
        Fitted::Pnbd(_) | Fitted::Mbg(_) | Fitted::Bgbb(_) => None,
    };
    for k in (0..=7u32).filter(|_| bg.is_some()) {
        let Some(p) = bg else { break };
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
        &fitted,
        &rows.iter().map(|r| r.first).collect::<Vec<_>>(),
        &repeat_days,
        cal_end,
        end,
        u,
    )?;
    let start = rows.iter().map(|r| r.first).min().unwrap_or(cal_end);
    let day = |d: i64| crate::timeutil::ts_to_day_string(d * crate::timeutil::DAY);
    Ok(HoldoutReport {
        model: family.as_str(),
        time_unit: unit.as_str(),
        calibration_start: day(start),
        calibration_end: day(cal_end),
        holdout_start: day(cal_end + 1),
        holdout_end: day(end),
        holdout_length: horizon,
        customers: rows.len(),
        r: names[0],
        alpha: names[1],
        a: (family != Family::Pnbd).then_some(names[2]),
        b: (family != Family::Pnbd).then_some(names[3]),
        s: (family == Family::Pnbd).then_some(names[2]),
        beta: (family == Family::Pnbd).then_some(names[3]),
        log_likelihood,
        mae: abs / n,
        rmse: (sq / n).sqrt(),
        total_actual: tot_a,
        total_predicted: tot_p,
        total_error_pct: if tot_a > 0.0 {
            100.0 * (tot_p - tot_a) / tot_a
        } else {
            f64::NAN
        },
        notes,
        comparison: Vec::new(),
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
    p: &Fitted,
    firsts: &[i64],
    repeat_days: &[i64],
    cal_end: i64,
    end: i64,
    u: f64,
) -> Result<Vec<TrackingRow>> {
    let first = firsts.iter().copied().min().unwrap_or(cal_end);
    let mut cohorts: std::collections::BTreeMap<i64, f64> = Default::default();
    for &f in firsts {
        *cohorts.entry(f).or_default() += 1.0;
    }
    // Periods aligned on the holdout's first day, so that no period mixes
    // calibration and holdout days (the first one may start before the
    // cohort's first purchase).
    let step = u.round().max(1.0) as i64;
    let back = (cal_end + 1 - first + step - 1) / step;
    let start = cal_end + 1 - back * step;
    let periods = (end - start + 1 + step - 1) / step;
    // E[X(t)] for a customer who made the first purchase on day f, at the
    // end of day `d` (t in units, from the end of the first day: the first
    // purchase is not a repeat).
    let expected_by = |d: i64| -> Result<f64> {
        let mut total = 0.0;
        for (&f, &count) in &cohorts {
            let t = (d - f) as f64 / u;
            if t > 0.0 {
                total += count
                    * p.expected_new(t)
                        .ok_or_else(|| Error::bad("the model's expectation did not converge"))?;
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
        let lo = start + k * step;
        let hi = (lo + step - 1).min(end);
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
        assert!(evaluate(h, 30, 30, TimeUnit::Week, 0.0, Family::Bgnbd).is_err());
    }
}
