//! Classification metrics of churn scores against 0/1 labels.

use serde::{Deserialize, Serialize};

/// The probability threshold for accuracy, precision, recall, F1 and the
/// confusion matrix: a customer is predicted to churn when p >= 0.5.
pub const THRESHOLD: f64 = 0.5;

/// Reads back a number stored by serde_json, which writes NaN and the
/// infinities as `null` (a metric of a one-class holdout is NaN): `null`
/// becomes NaN instead of an unreadable report.
pub fn nan_if_null<'de, D: serde::Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    let v: Option<f64> = serde::Deserialize::deserialize(d)?;
    Ok(v.unwrap_or(f64::NAN))
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    #[serde(deserialize_with = "crate::analytics::metrics::nan_if_null")]
    pub auc: f64,
    #[serde(deserialize_with = "crate::analytics::metrics::nan_if_null")]
    pub pr_auc: f64,
    #[serde(deserialize_with = "crate::analytics::metrics::nan_if_null")]
    pub accuracy: f64,
    #[serde(deserialize_with = "crate::analytics::metrics::nan_if_null")]
    pub precision: f64,
    #[serde(deserialize_with = "crate::analytics::metrics::nan_if_null")]
    pub recall: f64,
    #[serde(deserialize_with = "crate::analytics::metrics::nan_if_null")]
    pub f1: f64,
    #[serde(deserialize_with = "crate::analytics::metrics::nan_if_null")]
    pub log_loss: f64,
    #[serde(deserialize_with = "crate::analytics::metrics::nan_if_null")]
    pub brier: f64,
    #[serde(deserialize_with = "crate::analytics::metrics::nan_if_null")]
    pub base_rate: f64,
    #[serde(deserialize_with = "crate::analytics::metrics::nan_if_null")]
    pub threshold: f64,
    pub n: usize,
    pub confusion: Confusion,
    pub calibration: Vec<CalibrationBin>,
    pub roc: Vec<RocPoint>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Confusion {
    pub tp: usize,
    pub fp: usize,
    pub tn: usize,
    pub fn_: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CalibrationBin {
    #[serde(deserialize_with = "crate::analytics::metrics::nan_if_null")]
    pub lo: f64,
    #[serde(deserialize_with = "crate::analytics::metrics::nan_if_null")]
    pub hi: f64,
    pub n: usize,
    #[serde(deserialize_with = "crate::analytics::metrics::nan_if_null")]
    pub mean_predicted: f64,
    #[serde(deserialize_with = "crate::analytics::metrics::nan_if_null")]
    pub observed_rate: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RocPoint {
    #[serde(deserialize_with = "crate::analytics::metrics::nan_if_null")]
    pub fpr: f64,
    #[serde(deserialize_with = "crate::analytics::metrics::nan_if_null")]
    pub tpr: f64,
    #[serde(deserialize_with = "crate::analytics::metrics::nan_if_null")]
    pub threshold: f64,
}

fn clip(p: f64) -> f64 {
    p.clamp(1e-15, 1.0 - 1e-15)
}

/// ROC AUC as the Mann-Whitney statistic with average ranks for ties.
/// NaN when one class is absent.
pub fn roc_auc(p: &[f64], y: &[bool]) -> f64 {
    let n_pos = y.iter().filter(|&&v| v).count();
    let n_neg = y.len() - n_pos;
    if n_pos == 0 || n_neg == 0 {
        return f64::NAN;
    }
    let mut idx: Vec<usize> = (0..p.len()).collect();
    idx.sort_by(|&a, &b| p[a].total_cmp(&p[b]));
    let mut rank_sum_pos = 0.0;
    let mut i = 0;
    while i < idx.len() {
        let mut j = i;
        while j + 1 < idx.len() && p[idx[j + 1]] == p[idx[i]] {
            j += 1;
        }
        // Ranks i+1 ..= j+1 share their average.
        let avg = (i + j) as f64 / 2.0 + 1.0;
        for &k in &idx[i..=j] {
            if y[k] {
                rank_sum_pos += avg;
            }
        }
        i = j + 1;
    }
    (rank_sum_pos - (n_pos * (n_pos + 1)) as f64 / 2.0) / (n_pos as f64 * n_neg as f64)
}

/// Average precision (area under the precision-recall curve, step-wise,
/// ties taken together), as scikit-learn's `average_precision_score`.
pub fn average_precision(p: &[f64], y: &[bool]) -> f64 {
    let n_pos = y.iter().filter(|&&v| v).count();
    if n_pos == 0 {
        return f64::NAN;
    }
    let mut idx: Vec<usize> = (0..p.len()).collect();
    idx.sort_by(|&a, &b| p[b].total_cmp(&p[a]));
    let (mut tp, mut fp) = (0usize, 0usize);
    let mut ap = 0.0;
    let mut prev_recall = 0.0;
    let mut i = 0;
    while i < idx.len() {
        let mut j = i;
        while j + 1 < idx.len() && p[idx[j + 1]] == p[idx[i]] {
            j += 1;
        }
        for &k in &idx[i..=j] {
            if y[k] {
                tp += 1;
            } else {
                fp += 1;
            }
        }
        let recall = tp as f64 / n_pos as f64;
        let precision = tp as f64 / (tp + fp) as f64;
        ap += (recall - prev_recall) * precision;
        prev_recall = recall;
        i = j + 1;
    }
    ap
}

pub fn log_loss(p: &[f64], y: &[bool]) -> f64 {
    let s: f64 = p
        .iter()
        .zip(y)
        .map(|(&p, &y)| {
            if y {
                -clip(p).ln()
            } else {
                -(1.0 - clip(p)).ln()
            }
        })
        .sum();
    s / p.len().max(1) as f64
}

pub fn brier(p: &[f64], y: &[bool]) -> f64 {
    let s: f64 = p
        .iter()
        .zip(y)
        .map(|(&p, &y)| (p - f64::from(u8::from(y))).powi(2))
        .sum();
    s / p.len().max(1) as f64
}

pub fn confusion(p: &[f64], y: &[bool], threshold: f64) -> Confusion {
    let mut c = Confusion::default();
    for (&p, &y) in p.iter().zip(y) {
        match (p >= threshold, y) {
            (true, true) => c.tp += 1,
            (true, false) => c.fp += 1,
            (false, false) => c.tn += 1,
            (false, true) => c.fn_ += 1,
        }
    }
    c
}

/// Ten equal-width bins of predicted probability.
pub fn calibration(p: &[f64], y: &[bool]) -> Vec<CalibrationBin> {
    let mut bins: Vec<(usize, f64, usize)> = vec![(0, 0.0, 0); 10];
    for (&p, &y) in p.iter().zip(y) {
        let b = ((p * 10.0).floor() as usize).min(9);
        bins[b].0 += 1;
        bins[b].1 += p;
        bins[b].2 += usize::from(y);
    }
    bins.iter()
        .enumerate()
        .map(|(i, &(n, sp, pos))| CalibrationBin {
            lo: i as f64 / 10.0,
            hi: (i + 1) as f64 / 10.0,
            n,
            mean_predicted: if n > 0 { sp / n as f64 } else { f64::NAN },
            observed_rate: if n > 0 {
                pos as f64 / n as f64
            } else {
                f64::NAN
            },
        })
        .collect()
}

/// ROC curve points (at most ~200, evenly spread over the thresholds).
pub fn roc_curve(p: &[f64], y: &[bool]) -> Vec<RocPoint> {
    let n_pos = y.iter().filter(|&&v| v).count().max(1) as f64;
    let n_neg = (y.len() - y.iter().filter(|&&v| v).count()).max(1) as f64;
    let mut idx: Vec<usize> = (0..p.len()).collect();
    idx.sort_by(|&a, &b| p[b].total_cmp(&p[a]));
    let mut pts = vec![RocPoint {
        fpr: 0.0,
        tpr: 0.0,
        threshold: 1.0,
    }];
    let (mut tp, mut fp) = (0.0, 0.0);
    let mut i = 0;
    while i < idx.len() {
        let mut j = i;
        while j + 1 < idx.len() && p[idx[j + 1]] == p[idx[i]] {
            j += 1;
        }
        for &k in &idx[i..=j] {
            if y[k] {
                tp += 1.0;
            } else {
                fp += 1.0;
            }
        }
        pts.push(RocPoint {
            fpr: fp / n_neg,
            tpr: tp / n_pos,
            threshold: p[idx[i]],
        });
        i = j + 1;
    }
    if pts.len() > 200 {
        let step = pts.len() as f64 / 199.0;
        let last = pts[pts.len() - 1];
        pts = (0..199)
            .map(|k| pts[(k as f64 * step) as usize])
            .chain(std::iter::once(last))
            .collect();
    }
    pts
}

/// Every metric at once.
pub fn evaluate(p: &[f64], y: &[bool]) -> Metrics {
    let c = confusion(p, y, THRESHOLD);
    let n = p.len();
    let precision = if c.tp + c.fp > 0 {
        c.tp as f64 / (c.tp + c.fp) as f64
    } else {
        0.0
    };
    let recall = if c.tp + c.fn_ > 0 {
        c.tp as f64 / (c.tp + c.fn_) as f64
    } else {
        0.0
    };
    let f1 = if precision + recall > 0.0 {
        2.0 * precision * recall / (precision + recall)
    } else {
        0.0
    };
    Metrics {
        auc: roc_auc(p, y),
        pr_auc: average_precision(p, y),
        accuracy: (c.tp + c.tn) as f64 / n.max(1) as f64,
        precision,
        recall,
        f1,
        log_loss: log_loss(p, y),
        brier: brier(p, y),
        base_rate: y.iter().filter(|&&v| v).count() as f64 / n.max(1) as f64,
        threshold: THRESHOLD,
        n,
        confusion: c,
        calibration: calibration(p, y),
        roc: roc_curve(p, y),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // A small fixture computed by hand (and with scikit-learn):
    // p = [0.9, 0.8, 0.7, 0.6, 0.55, 0.4, 0.3, 0.2], y = [1,1,0,1,0,0,1,0]
    const P: [f64; 8] = [0.9, 0.8, 0.7, 0.6, 0.55, 0.4, 0.3, 0.2];
    const Y: [bool; 8] = [true, true, false, true, false, false, true, false];

    #[test]
    fn auc_by_hand() {
        // Positive-negative pairs ranked right: 0.9 > all 4 negatives (4), 0.8 (4),
        // 0.6 > 0.55, 0.4, 0.2 (3), 0.3 > 0.2 (1): 12 of 16.
        assert!((roc_auc(&P, &Y) - 0.75).abs() < 1e-12);
        // Ties count half.
        assert!((roc_auc(&[0.5, 0.5], &[true, false]) - 0.5).abs() < 1e-12);
        assert!(roc_auc(&[0.1, 0.2], &[true, true]).is_nan());
    }

    #[test]
    fn average_precision_by_hand() {
        // Hits at ranks 1, 2, 4, 7: (1 + 1 + 3/4 + 4/7) / 4
        let want = (1.0 + 1.0 + 0.75 + 4.0 / 7.0) / 4.0;
        assert!((average_precision(&P, &Y) - want).abs() < 1e-12);
    }

    #[test]
    fn threshold_metrics_by_hand() {
        let m = evaluate(&P, &Y);
        // p >= 0.5: 0.9 0.8 0.7 0.6 0.55 -> tp 3, fp 2; below: 0.4 0.3 0.2 -> fn 1, tn 2
        assert_eq!(
            m.confusion,
            Confusion {
                tp: 3,
                fp: 2,
                tn: 2,
                fn_: 1
            }
        );
        assert!((m.accuracy - 5.0 / 8.0).abs() < 1e-12);
        assert!((m.precision - 0.6).abs() < 1e-12);
        assert!((m.recall - 0.75).abs() < 1e-12);
        assert!((m.f1 - 2.0 * 0.6 * 0.75 / 1.35).abs() < 1e-12);
        assert!((m.base_rate - 0.5).abs() < 1e-12);
        let ll = -(0.9f64.ln()
            + 0.8f64.ln()
            + 0.3f64.ln()
            + 0.6f64.ln()
            + 0.45f64.ln()
            + 0.6f64.ln()
            + 0.3f64.ln()
            + 0.8f64.ln())
            / 8.0;
        assert!((m.log_loss - ll).abs() < 1e-12);
        let br = (0.01 + 0.04 + 0.49 + 0.16 + 0.3025 + 0.16 + 0.49 + 0.04) / 8.0;
        assert!((m.brier - br).abs() < 1e-12);
    }

    #[test]
    fn calibration_and_roc_shapes() {
        let m = evaluate(&P, &Y);
        assert_eq!(m.calibration.len(), 10);
        assert_eq!(m.calibration.iter().map(|b| b.n).sum::<usize>(), 8);
        let b5 = &m.calibration[5]; // [0.5, 0.6): 0.55
        assert_eq!(b5.n, 1);
        assert_eq!(b5.observed_rate, 0.0);
        assert_eq!(m.roc.first().map(|r| (r.fpr, r.tpr)), Some((0.0, 0.0)));
        assert_eq!(m.roc.last().map(|r| (r.fpr, r.tpr)), Some((1.0, 1.0)));
        assert!(m
            .roc
            .windows(2)
            .all(|w| w[0].fpr <= w[1].fpr && w[0].tpr <= w[1].tpr));
    }
}
