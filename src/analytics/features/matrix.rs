//! The values a `FeatureSpec` stands for: each source's values for a set of
//! rows at a cutoff (NaN when missing), and the imputed, standardised matrix
//! built from them, the same for training and scoring.

use super::*;
use crate::timeutil::DAY;
use ndarray::Array2;

/// Code of each row's level of a categorical, against the kept levels:
/// 0..kept.len() for a kept level, then OTHER, then MISSING.
pub(super) fn level_codes(
    raw: &Raw,
    levels: &[(Categorical, Vec<String>)],
    cat: &Categorical,
    rows: &[usize],
) -> (Vec<u32>, u32, u32) {
    let kept = levels
        .iter()
        .find(|(c, _)| c == cat)
        .map(|(_, l)| l.as_slice())
        .unwrap_or(&[]);
    let other = kept.len() as u32;
    let missing = other + 1;
    // Interned ids are dense: a table by id, not a hash map per row.
    let mut code_of = vec![other; raw.strings.strings.len()];
    for (k, l) in kept.iter().enumerate() {
        if let Some(id) = raw.strings.get(l) {
            code_of[id as usize] = k as u32;
        }
    }
    let attr: Option<&[u32]> = match cat {
        Categorical::Attr(name) => raw
            .attrs
            .names
            .iter()
            .position(|a| a == name)
            .map(|p| raw.attrs.txt[p].as_slice()),
        _ => None,
    };
    let codes = rows
        .iter()
        .map(|&i| {
            let cust = &raw.customers[i];
            let id = match cat {
                Categorical::Region => cust.region,
                Categorical::Plan => cust.plan,
                Categorical::Segment => cust.segment,
                Categorical::Attr(_) => attr
                    .and_then(|a| a.get(i))
                    .copied()
                    .filter(|&v| v != NO_TEXT),
            };
            match id {
                None => missing,
                Some(id) => code_of.get(id as usize).copied().unwrap_or(other),
            }
        })
        .collect();
    (codes, other, missing)
}

/// The values of one source for `rows` at cutoff `c`; NaN marks a missing value.
pub(super) fn column(
    raw: &Raw,
    levels: &[(Categorical, Vec<String>)],
    src: &Source,
    rows: &[usize],
    c: usize,
) -> Vec<f64> {
    let nan = f64::NAN;
    match src {
        Source::Events90 { event } => match raw.event_kinds.iter().position(|e| e == event) {
            Some(k) => rows
                .iter()
                .map(|&i| f64::from(raw.event(i, c, k)))
                .collect(),
            // A kind the data no longer has: no such events.
            None => vec![0.0; rows.len()],
        },
        Source::NumAttr { name } => match raw.attrs.names.iter().position(|a| a == name) {
            Some(p) => {
                let col = &raw.attrs.num[p];
                rows.iter()
                    .map(|&i| col.get(i).copied().unwrap_or(nan))
                    .collect()
            }
            None => vec![nan; rows.len()],
        },
        Source::OneHot { cat, level } => {
            let (codes, other, missing) = level_codes(raw, levels, cat, rows);
            let kept = levels
                .iter()
                .find(|(c, _)| c == cat)
                .map(|(_, l)| l.as_slice())
                .unwrap_or(&[]);
            let target = if level == OTHER_LEVEL {
                other
            } else if level == MISSING_LEVEL {
                missing
            } else {
                kept.iter()
                    .position(|l| l == level)
                    .map(|p| p as u32)
                    .unwrap_or(u32::MAX)
            };
            codes
                .into_iter()
                .map(|k| f64::from(u8::from(k == target)))
                .collect()
        }
        Source::Missing { of } => column(raw, levels, of, rows, c)
            .into_iter()
            .map(|v| f64::from(u8::from(v.is_nan())))
            .collect(),
        other => scalar_column(raw, other, rows, c),
    }
}

/// Each row's value from `f` (None = missing, NaN).
fn each(rows: &[usize], f: impl Fn(usize) -> Option<f64>) -> Vec<f64> {
    rows.iter().map(|&i| f(i).unwrap_or(f64::NAN)).collect()
}

/// Whole and part days from `from` to the cutoff `t`, never negative.
fn days_to(t: i64, from: i64) -> f64 {
    ((t - from) as f64 / DAY as f64).max(0.0)
}

/// Days since the customer signed up (or first ordered) at cutoff `c`.
fn tenure(raw: &Raw, i: usize, c: usize) -> f64 {
    let o = raw.order(i, c);
    let start = raw.customers[i]
        .signup
        .or(if o.n_all > 0 { Some(o.first) } else { None });
    start.map(|s| days_to(raw.cutoffs[c], s)).unwrap_or(0.0)
}

/// Behavioural and built-in values of `rows` at cutoff `c`. Each source is
/// its own loop that reads only what it needs (a column of a million rows
/// is a pass over memory; one reading every record of every row for every
/// column took a training's feature learning three times as long).
fn scalar_column(raw: &Raw, src: &Source, rows: &[usize], c: usize) -> Vec<f64> {
    let t = raw.cutoffs[c];
    let o = |i: usize| raw.order(i, c);
    let f = |i: usize| raw.fb(i, c);
    match src {
        Source::TenureDays => each(rows, |i| Some(tenure(raw, i, c))),
        Source::DaysSinceLastOrder => each(rows, |i| {
            let o = o(i);
            Some(if o.n_all > 0 {
                days_to(t, o.last)
            } else {
                tenure(raw, i, c)
            })
        }),
        Source::NeverOrdered => each(rows, |i| Some(f64::from(u8::from(o(i).n_all == 0)))),
        Source::Orders90 => each(rows, |i| Some(f64::from(o(i).n_90))),
        Source::Orders365 => each(rows, |i| Some(f64::from(o(i).n_365))),
        Source::Spend90 => each(rows, |i| Some(o(i).spend_90)),
        Source::Spend365 => each(rows, |i| Some(o(i).spend_365)),
        Source::AvgOrderValue => each(rows, |i| {
            let o = o(i);
            Some(if o.n_all > 0 {
                o.spend_all / f64::from(o.n_all)
            } else {
                0.0
            })
        }),
        Source::OrderTrend => each(rows, |i| {
            let o = o(i);
            Some(((f64::from(o.n_90) + 1.0) / (f64::from(o.n_prev_90) + 1.0)).ln())
        }),
        Source::Feedback365 => each(rows, |i| Some(f64::from(f(i).n_365))),
        Source::Complaints365 => each(rows, |i| Some(f64::from(f(i).complaints_365))),
        Source::MeanScore => each(rows, |i| {
            let f = f(i);
            (f.score_n != 0).then(|| f.score_sum / f64::from(f.score_n))
        }),
        Source::MeanSentiment => each(rows, |i| {
            let f = f(i);
            (f.sentiment_n != 0).then(|| f.sentiment_sum / f64::from(f.sentiment_n))
        }),
        Source::DaysSinceLastFeedback => each(rows, |i| {
            let f = f(i);
            (f.last != 0).then(|| days_to(t, f.last))
        }),
        Source::Age => each(rows, |i| {
            let cust = &raw.customers[i];
            match (cust.age, cust.birth) {
                (_, Some(b)) => Some(((t - b) as f64 / (365.25 * DAY as f64)).floor()),
                (Some(a), None) => Some(a),
                _ => None,
            }
        }),
        Source::Income => each(rows, |i| raw.customers[i].income),
        // Resolved in `column`.
        Source::Events90 { .. }
        | Source::NumAttr { .. }
        | Source::OneHot { .. }
        | Source::Missing { .. } => vec![f64::NAN; rows.len()],
    }
}

impl FeatureSpec {
    /// Raw (imputed, unstandardised) values for `rows` at cutoff `c`.
    pub fn raw_matrix(&self, raw: &Raw, rows: &[usize], c: usize) -> Array2<f64> {
        self.fill(raw, rows, c, false)
    }

    /// The values for `rows` at cutoff `c`, imputed and, when `standard`,
    /// standardised as each block is filled (while the block is in cache:
    /// standardising a million-row matrix afterwards, column by column, is
    /// a pass over all of it for every column). Row blocks are filled in
    /// parallel (a million rows: 1 s on one core).
    fn fill(&self, raw: &Raw, rows: &[usize], c: usize, standard: bool) -> Array2<f64> {
        use ndarray::parallel::prelude::*;
        use rayon::prelude::ParallelSlice;
        const BLOCK: usize = 16_384;
        let d = self.columns.len();
        let mut x = Array2::<f64>::zeros((rows.len(), d));
        x.axis_chunks_iter_mut(ndarray::Axis(0), BLOCK)
            .into_par_iter()
            .zip(rows.par_chunks(BLOCK))
            .for_each(|(mut block, rows)| {
                for (j, col) in self.columns.iter().enumerate() {
                    let v = column(raw, &self.levels, &col.source, rows, c);
                    let (m, s) = (col.mean, col.std);
                    for (cell, val) in block.column_mut(j).iter_mut().zip(v) {
                        let val = if val.is_nan() { col.impute } else { val };
                        *cell = if standard { (val - m) / s } else { val };
                    }
                }
            });
        x
    }

    /// Standardise a raw matrix in place: (x - mean) / std.
    pub fn standardise(&self, x: &mut Array2<f64>) {
        for (j, col) in self.columns.iter().enumerate() {
            let (m, s) = (col.mean, col.std);
            x.column_mut(j).mapv_inplace(|v| (v - m) / s);
        }
    }

    /// The standardised matrix for `rows` at cutoff `c`.
    pub fn matrix(&self, raw: &Raw, rows: &[usize], c: usize) -> Array2<f64> {
        self.fill(raw, rows, c, true)
    }
}
