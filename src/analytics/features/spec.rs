//! What a model's columns are (`FeatureSpec`: sources, kept categorical
//! levels, imputation and standardisation), and how it is learned on the
//! training rows from `Raw`. The values and matrix it builds are `matrix.rs`.

use super::matrix::{column, level_codes};
use super::*;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// Where a column's values come from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Source {
    TenureDays,
    DaysSinceLastOrder,
    NeverOrdered,
    Orders90,
    Orders365,
    Spend90,
    Spend365,
    AvgOrderValue,
    OrderTrend,
    Events90 {
        event: String,
    },
    Feedback365,
    Complaints365,
    MeanScore,
    MeanSentiment,
    DaysSinceLastFeedback,
    Age,
    Income,
    NumAttr {
        name: String,
    },
    /// 1 when the categorical source equals `level` ("other" = any level not kept).
    OneHot {
        cat: Categorical,
        level: String,
    },
    /// 1 when the underlying value is missing (it was imputed).
    Missing {
        of: Box<Source>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", content = "name", rename_all = "snake_case")]
pub enum Categorical {
    Region,
    Plan,
    Segment,
    Attr(String),
}

impl Categorical {
    pub fn label(&self) -> String {
        match self {
            Categorical::Region => "region".into(),
            Categorical::Plan => "plan".into(),
            Categorical::Segment => "segment".into(),
            Categorical::Attr(a) => a.clone(),
        }
    }
}

/// The level names of a categorical: the kept ones, "(missing)" and "(other)".
pub const MISSING_LEVEL: &str = "(missing)";
pub const OTHER_LEVEL: &str = "(other)";

impl Source {
    /// Machine name (report, JSON).
    pub fn name(&self) -> String {
        match self {
            Source::TenureDays => "tenure_days".into(),
            Source::DaysSinceLastOrder => "days_since_last_order".into(),
            Source::NeverOrdered => "never_ordered".into(),
            Source::Orders90 => "orders_90d".into(),
            Source::Orders365 => "orders_365d".into(),
            Source::Spend90 => "spend_90d".into(),
            Source::Spend365 => "spend_365d".into(),
            Source::AvgOrderValue => "avg_order_value".into(),
            Source::OrderTrend => "order_trend".into(),
            Source::Events90 { event } => format!("events_{event}_90d"),
            Source::Feedback365 => "feedback_365d".into(),
            Source::Complaints365 => "complaints_365d".into(),
            Source::MeanScore => "mean_score".into(),
            Source::MeanSentiment => "mean_sentiment".into(),
            Source::DaysSinceLastFeedback => "days_since_last_feedback".into(),
            Source::Age => "age".into(),
            Source::Income => "income".into(),
            Source::NumAttr { name } => name.clone(),
            Source::OneHot { cat, level } => format!("{}={level}", cat.label()),
            Source::Missing { of } => format!("{}_missing", of.name()),
        }
    }

    /// Words a person reads.
    pub fn label(&self) -> String {
        match self {
            Source::TenureDays => "days as a customer".into(),
            Source::DaysSinceLastOrder => "days since last order".into(),
            Source::NeverOrdered => "never ordered".into(),
            Source::Orders90 => "orders in last 90 days".into(),
            Source::Orders365 => "orders in last 365 days".into(),
            Source::Spend90 => "spend in last 90 days".into(),
            Source::Spend365 => "spend in last 365 days".into(),
            Source::AvgOrderValue => "average order value".into(),
            Source::OrderTrend => "order trend (last 90 days vs the 90 before)".into(),
            Source::Events90 { event } => format!("{} in last 90 days", event_words(event)),
            Source::Feedback365 => "feedback items in last 365 days".into(),
            Source::Complaints365 => "complaints in last 365 days".into(),
            Source::MeanScore => "mean NPS/CSAT score (0-1)".into(),
            Source::MeanSentiment => "mean sentiment of feedback".into(),
            Source::DaysSinceLastFeedback => "days since last feedback".into(),
            Source::Age => "age".into(),
            Source::Income => "income".into(),
            Source::NumAttr { name } => name.clone(),
            Source::OneHot { cat, level } => format!("{}: {level}", cat.label()),
            Source::Missing { of } => format!("{} unknown", of.label()),
        }
    }

    pub fn is_indicator(&self) -> bool {
        matches!(
            self,
            Source::OneHot { .. } | Source::Missing { .. } | Source::NeverOrdered
        )
    }
}

/// "support_contact" -> "support contacts", "login" -> "logins".
fn event_words(kind: &str) -> String {
    let w = kind.replace('_', " ");
    if w.ends_with('s') {
        w
    } else {
        format!("{w}s")
    }
}

/// A column of the model's matrix.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Column {
    pub source: Source,
    /// Value used for a missing raw value (the training mean).
    pub impute: f64,
    pub mean: f64,
    pub std: f64,
}

/// How to build the matrix; learned on training rows, stored with the model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureSpec {
    pub columns: Vec<Column>,
    /// Levels kept per categorical (others become "(other)").
    pub levels: Vec<(Categorical, Vec<String>)>,
}

/// A column dropped while learning the spec, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Dropped {
    pub feature: String,
    pub reason: String,
}

/// The candidate sources before anything is learned.
fn candidates(raw: &Raw) -> (Vec<Source>, Vec<Categorical>) {
    let mut s = vec![
        Source::TenureDays,
        Source::DaysSinceLastOrder,
        Source::NeverOrdered,
        Source::Orders90,
        Source::Orders365,
        Source::Spend90,
        Source::Spend365,
        Source::AvgOrderValue,
        Source::OrderTrend,
    ];
    for k in &raw.event_kinds {
        s.push(Source::Events90 { event: k.clone() });
    }
    s.extend([
        Source::Feedback365,
        Source::Complaints365,
        Source::MeanScore,
        Source::MeanSentiment,
        Source::DaysSinceLastFeedback,
        Source::Age,
        Source::Income,
    ]);
    let mut cats = vec![Categorical::Region, Categorical::Plan, Categorical::Segment];
    // Attributes: numeric when every present value is a number, else categorical.
    for (id, name) in raw.attrs.names.iter().enumerate() {
        if !raw.attrs.txt[id].is_empty() {
            cats.push(Categorical::Attr(name.clone()));
        } else {
            s.push(Source::NumAttr { name: name.clone() });
        }
    }
    (s, cats)
}

/// Learn a spec from training rows `rows` (customer indices) at cutoff `c`.
pub fn learn(raw: &Raw, rows: &[usize], c: usize) -> (FeatureSpec, Vec<Dropped>) {
    let (sources, cats) = candidates(raw);
    let n = rows.len().max(1);
    let mut dropped = Vec::new();
    // Categorical levels: keep those with at least 1% of rows and 10 customers;
    // the rest are grouped as "(other)"; the most frequent level is the reference.
    let min_count = ((n as f64 * 0.01).ceil() as usize).max(10);
    let mut levels: Vec<(Categorical, Vec<String>)> = Vec::new();
    let mut onehots: Vec<Source> = Vec::new();
    for cat in cats {
        // Count by interned id, with every level kept for counting.
        let all: Vec<String> = raw.strings.strings.clone();
        let probe = vec![(cat.clone(), all.clone())];
        let (codes, _, missing_code) = level_codes(raw, &probe, &cat, rows);
        let mut counts: HashMap<u32, usize> = HashMap::new();
        for k in codes {
            *counts.entry(k).or_default() += 1;
        }
        let missing = counts.remove(&missing_code).unwrap_or(0);
        let mut kept: Vec<(String, usize)> = counts
            .iter()
            .filter(|(_, k)| **k >= min_count)
            .map(|(id, k)| (all[*id as usize].clone(), *k))
            .collect();
        kept.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        let grouped: usize = counts.values().filter(|k| **k < min_count).sum();
        let names: Vec<String> = kept.iter().map(|(l, _)| l.clone()).collect();
        let mut all_levels = kept.clone();
        if grouped > 0 {
            all_levels.push((OTHER_LEVEL.to_string(), grouped));
        }
        if missing > 0 {
            all_levels.push((MISSING_LEVEL.to_string(), missing));
        }
        all_levels.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        if all_levels.len() <= 1 {
            dropped.push(Dropped {
                feature: cat.label(),
                reason: if missing == rows.len() {
                    "no values".into()
                } else {
                    "one level only".into()
                },
            });
        } else {
            for (l, _) in all_levels.iter().skip(1) {
                onehots.push(Source::OneHot {
                    cat: cat.clone(),
                    level: l.clone(),
                });
            }
        }
        levels.push((cat, names));
    }

    // Every candidate column, computed once and summarised at once (in
    // parallel: the columns are independent and each is a pass over every
    // training row). Only the summaries are kept: each column's values are
    // dropped as soon as it is summarised, so a million rows' forty
    // candidates never take memory all at once.
    use rayon::prelude::*;
    let computed: Vec<Vec<(Source, Summary)>> = sources
        .into_par_iter()
        .map(|s| {
            let v = column(raw, &levels, &s, rows, c);
            let missing = v.iter().filter(|x| x.is_nan()).count();
            if missing == v.len() {
                vec![(s, Summary::NoValues)]
            } else if missing > 0 {
                let ind: Vec<f64> = v.iter().map(|x| f64::from(u8::from(x.is_nan()))).collect();
                let of = Source::Missing {
                    of: Box::new(s.clone()),
                };
                vec![(s, summarise(v)), (of, summarise(ind))]
            } else {
                vec![(s, summarise(v))]
            }
        })
        .collect();
    let mut summaries: Vec<(Source, Summary)> = Vec::new();
    for cols in computed {
        for (s, sum) in cols {
            if let Summary::NoValues = sum {
                dropped.push(Dropped {
                    feature: s.name(),
                    reason: "no values".into(),
                });
            } else {
                summaries.push((s, sum));
            }
        }
    }
    let hot: Vec<(Source, Summary)> = onehots
        .into_par_iter()
        .map(|s| {
            let v = column(raw, &levels, &s, rows, c);
            (s, summarise(v))
        })
        .collect();
    summaries.extend(hot);

    // Drop constant, near-constant and duplicate columns (in order).
    let mut columns: Vec<Column> = Vec::new();
    let mut seen: HashMap<u128, String> = HashMap::new();
    for (s, sum) in summaries {
        match sum {
            Summary::Constant => {
                dropped.push(Dropped {
                    feature: s.name(),
                    reason: "constant".into(),
                });
            }
            // Dropped above.
            Summary::NoValues => {}
            Summary::AlmostConstant(share) => {
                dropped.push(Dropped {
                    feature: s.name(),
                    reason: format!("almost constant ({:.1}% the same value)", 100.0 * share),
                });
            }
            Summary::Varies {
                impute,
                key,
                mean,
                std,
            } => {
                if let Some(first) = seen.get(&key) {
                    dropped.push(Dropped {
                        feature: s.name(),
                        reason: format!("same values as {first}"),
                    });
                    continue;
                }
                seen.insert(key, s.name());
                columns.push(Column {
                    source: s,
                    impute,
                    mean,
                    std,
                });
            }
        }
    }
    (FeatureSpec { columns, levels }, dropped)
}

/// What `learn` needs to know of one candidate column.
enum Summary {
    /// Every value missing.
    NoValues,
    Constant,
    /// The share of rows with the most frequent value (>= 99.5%).
    AlmostConstant(f64),
    Varies {
        impute: f64,
        /// A hash of the imputed values, to find duplicate columns.
        key: u128,
        mean: f64,
        std: f64,
    },
}

/// Impute missing values (NaN) with the mean of the others, then classify.
fn summarise(mut v: Vec<f64>) -> Summary {
    let (sum, n) = v
        .iter()
        .filter(|x| !x.is_nan())
        .fold((0.0, 0usize), |(s, n), x| (s + x, n + 1));
    let impute = if n == 0 { 0.0 } else { sum / n as f64 };
    for x in v.iter_mut() {
        if x.is_nan() {
            *x = impute;
        }
    }
    // Constant or almost constant (one value in 99.5% of rows)? Then at
    // most 0.5% of rows hold other values, so there are few distinct
    // values: counting stops as soon as there are more (a continuous
    // column is known to vary after a few thousand rows, not a million).
    let most_distinct = (0.005 * v.len() as f64).floor() as usize + 1;
    let mut freq: rustc_hash::FxHashMap<u64, usize> = Default::default();
    let mut varied = false;
    for x in &v {
        *freq.entry(x.to_bits()).or_default() += 1;
        if freq.len() > most_distinct {
            varied = true;
            break;
        }
    }
    if !varied {
        let top = freq.values().copied().max().unwrap_or(0);
        if freq.len() <= 1 {
            return Summary::Constant;
        }
        if top as f64 >= 0.995 * v.len() as f64 {
            return Summary::AlmostConstant(top as f64 / v.len() as f64);
        }
    }
    let mut h = xxhash_rust::xxh3::Xxh3::new();
    for x in &v {
        h.update(&x.to_bits().to_le_bytes());
    }
    let key = h.digest128();
    let mean = v.iter().sum::<f64>() / v.len() as f64;
    let std = (v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / v.len() as f64).sqrt();
    if !(std > 1e-12 && std.is_finite()) {
        return Summary::Constant;
    }
    Summary::Varies {
        impute,
        key,
        mean,
        std,
    }
}

impl FeatureSpec {
    pub fn names(&self) -> Vec<String> {
        self.columns.iter().map(|c| c.source.name()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_for_features() {
        assert_eq!(
            Source::Events90 {
                event: "support_contact".into()
            }
            .label(),
            "support contacts in last 90 days"
        );
        assert_eq!(
            Source::OneHot {
                cat: Categorical::Plan,
                level: "basic".into()
            }
            .name(),
            "plan=basic"
        );
        assert_eq!(
            Source::Missing {
                of: Box::new(Source::Income)
            }
            .label(),
            "income unknown"
        );
    }
}
