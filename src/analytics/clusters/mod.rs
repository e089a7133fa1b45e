//! Behavioural clusters: k-means (linfa-clustering) on standardised
//! recency, frequency, spend, tenure, engagement and feedback; k chosen by
//! the silhouette score in 3..=8 unless given; each cluster profiled (size,
//! means, churn, CLV) and named from what sets it apart ("frequent high
//! spenders"). The rows come from the store (`store::clusters::rows`).

use crate::error::{Error, Result};
use linfa::prelude::*;
use linfa_clustering::KMeans;
use linfa_nn::distance::L2Dist as L2;
use ndarray::{Array1, Array2, Axis};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use serde::{Deserialize, Serialize};

mod naming;
mod silhouette;

use naming::name_clusters;
pub use silhouette::silhouette_score;

/// One customer's behaviour as of a date.
#[derive(Debug, Clone, Default)]
pub struct Row {
    pub cid: i64,
    /// Days since the last order (None: never ordered).
    pub recency_days: Option<f64>,
    pub orders: f64,
    pub revenue: f64,
    /// Days since the customer's start (signup, else first order).
    pub tenure_days: Option<f64>,
    /// Events in the 90 days before the as-of date.
    pub events_90: f64,
    /// Complaints in the 365 days before the as-of date.
    pub complaints_365: f64,
    /// Mean sentiment of the customer's feedback (None: none).
    pub sentiment: Option<f64>,
    pub churn_prob: Option<f64>,
    pub churned: Option<bool>,
    pub clv: Option<f64>,
}

/// The features, in matrix order.
pub const FEATURES: [&str; 7] = [
    "days since last order",
    "orders",
    "revenue",
    "tenure (days)",
    "events (90 d)",
    "complaints (365 d)",
    "mean sentiment",
];

/// The most rows k-means is fitted on (the rest are assigned to the
/// nearest centroid), and the sample the silhouette is scored on.
const FIT_SAMPLE: usize = 50_000;
const SILHOUETTE_SAMPLE: usize = 2_000;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Profile {
    pub cluster: u32,
    pub name: String,
    pub customers: usize,
    pub share: f64,
    /// Mean of each feature (raw units), in `FEATURES` order; None where
    /// nobody in the cluster has the value.
    pub means: Vec<Option<f64>>,
    /// How far the cluster's mean is from everyone's, in standard
    /// deviations of the clustering's scale (transformed, missing values
    /// filled in): what the name is drawn from.
    pub z: Vec<f64>,
    /// The same in the shown means' own terms: the cluster's mean of the
    /// customers with a value, less everyone's, in standard deviations of
    /// everyone's values (None where the cluster has none). Two clusters
    /// with the same mean get the same figure.
    #[serde(default)]
    pub raw_z: Vec<Option<f64>>,
    /// Mean churn probability (active model), or the labelled churn rate.
    pub churn_rate: Option<f64>,
    pub mean_clv: Option<f64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Report {
    pub k: usize,
    /// How k was chosen, in words.
    pub chosen_by: String,
    /// (k, silhouette) for every k tried.
    pub silhouette: Vec<(usize, f64)>,
    pub features: Vec<String>,
    /// Features left out (no variation in these data).
    pub dropped: Vec<String>,
    pub customers: usize,
    pub clusters: Vec<Profile>,
    pub seed: u64,
}

/// The raw value of feature `j` for a row (None: missing).
fn raw(r: &Row, j: usize) -> Option<f64> {
    match j {
        0 => r.recency_days,
        1 => Some(r.orders),
        2 => Some(r.revenue),
        3 => r.tenure_days,
        4 => Some(r.events_90),
        5 => Some(r.complaints_365),
        _ => r.sentiment,
    }
}

/// The value k-means sees: counts and money on a log scale (their tails
/// would otherwise make every cluster about a few outliers); a missing
/// recency (never ordered) is the longest seen, a missing tenure or
/// sentiment the mean.
fn transform(j: usize, v: f64) -> f64 {
    match j {
        1 | 2 | 4 | 5 => v.max(0.0).ln_1p(),
        _ => v,
    }
}

/// Cluster `rows`: `k` clusters, or the best silhouette in 3..=8.
pub fn cluster(rows: &[Row], k: Option<usize>, seed: u64) -> Result<(Report, Vec<u32>)> {
    let n = rows.len();
    if n < 30 {
        return Err(Error::bad(format!(
            "clustering needs at least 30 customers (found {n})"
        )));
    }
    if let Some(k) = k {
        if !(2..=20).contains(&k) || k > n / 5 {
            return Err(Error::bad(format!(
                "--k {k}: between 2 and 20, and at most a fifth of the customers ({n})"
            )));
        }
    }
    // Fill, transform and standardise each feature; drop the constant ones.
    let mut cols: Vec<(usize, Vec<f64>)> = Vec::new();
    let mut dropped = Vec::new();
    for (j, feature) in FEATURES.iter().enumerate() {
        let present: Vec<f64> = rows.iter().filter_map(|r| raw(r, j)).collect();
        if present.is_empty() {
            dropped.push(feature.to_string());
            continue;
        }
        let fill = if j == 0 {
            present.iter().copied().fold(0.0, f64::max)
        } else {
            present.iter().sum::<f64>() / present.len() as f64
        };
        let v: Vec<f64> = rows
            .iter()
            .map(|r| transform(j, raw(r, j).unwrap_or(fill)))
            .collect();
        let mean = v.iter().sum::<f64>() / n as f64;
        let sd = (v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n as f64).sqrt();
        if !(sd > 1e-12 && sd.is_finite()) {
            dropped.push(feature.to_string());
            continue;
        }
        cols.push((j, v.into_iter().map(|x| (x - mean) / sd).collect()));
    }
    if cols.is_empty() {
        return Err(Error::bad(
            "every behavioural feature is the same for every customer: nothing to cluster on",
        ));
    }
    let d = cols.len();
    let mut x = Array2::<f64>::zeros((n, d));
    for (c, (_, v)) in cols.iter().enumerate() {
        for (i, val) in v.iter().enumerate() {
            x[(i, c)] = *val;
        }
    }
    // Fit on a sample; score k on a smaller one.
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut idx: Vec<usize> = (0..n).collect();
    idx.shuffle(&mut rng);
    let fit_rows: Vec<usize> = idx.iter().copied().take(FIT_SAMPLE).collect();
    let fit_x = x.select(Axis(0), &fit_rows);
    let score_x = fit_x
        .slice(ndarray::s![..SILHOUETTE_SAMPLE.min(fit_rows.len()), ..])
        .to_owned();
    let fit_k = |k: usize| -> Result<KMeans<f64, L2>> {
        KMeans::params_with_rng(k, rand_chacha::ChaCha8Rng::seed_from_u64(seed))
            .n_runs(4)
            .max_n_iterations(300)
            .tolerance(1e-5)
            .fit(&DatasetBase::from(fit_x.clone()))
            .map_err(|e| Error::Other(format!("k-means with k = {k} failed: {e}")))
    };
    let silhouette = |m: &KMeans<f64, L2>| -> f64 {
        let labels: Array1<usize> = m.predict(&score_x);
        silhouette_score(&score_x, labels.as_slice().unwrap_or(&[]))
    };
    let (model, k, scores, chosen_by) = match k {
        Some(k) => {
            let m = fit_k(k)?;
            let s = silhouette(&m);
            (
                m,
                k,
                vec![(k, s)],
                format!("k = {k} as asked (silhouette {s:.3})"),
            )
        }
        None => {
            let mut best: Option<(KMeans<f64, L2>, usize, f64)> = None;
            let mut scores = Vec::new();
            for k in 3..=8usize.min(n / 5) {
                let m = fit_k(k)?;
                let s = silhouette(&m);
                scores.push((k, s));
                if s.is_finite() && best.as_ref().is_none_or(|b| s > b.2) {
                    best = Some((m, k, s));
                }
            }
            let (m, k, s) = best.ok_or_else(|| Error::Other("no k-means fit scored".into()))?;
            let others: Vec<String> = scores
                .iter()
                .filter(|(kk, _)| *kk != k)
                .map(|(kk, s)| format!("{kk}: {s:.3}"))
                .collect();
            (
                m,
                k,
                scores,
                format!(
                    "k = {k} has the highest silhouette, {s:.3} (others {})",
                    others.join(", ")
                ),
            )
        }
    };
    let labels: Array1<usize> = model.predict(&x);
    let labels: Vec<u32> = labels.iter().map(|&l| l as u32).collect();

    // Profiles, largest cluster first (renumbered so cluster 1 is the largest).
    let mut sizes = vec![0usize; k];
    for &l in &labels {
        sizes[l as usize] += 1;
    }
    let mut order: Vec<usize> = (0..k).collect();
    order.sort_by(|a, b| sizes[*b].cmp(&sizes[*a]).then(a.cmp(b)));
    let mut renumber = vec![0u32; k];
    for (new, &old) in order.iter().enumerate() {
        renumber[old] = new as u32 + 1;
    }
    let labels: Vec<u32> = labels.iter().map(|&l| renumber[l as usize]).collect();
    // Everyone's mean and standard deviation of each feature, over the
    // customers with a value (for `raw_z`).
    let overall: Vec<Option<(f64, f64)>> = (0..FEATURES.len())
        .map(|j| {
            let v: Vec<f64> = rows.iter().filter_map(|r| raw(r, j)).collect();
            let n = v.len() as f64;
            let mean = v.iter().sum::<f64>() / n;
            let sd = (v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n).sqrt();
            (n > 0.0 && sd > 1e-12 && sd.is_finite()).then_some((mean, sd))
        })
        .collect();
    let mut clusters = Vec::with_capacity(k);
    for c in 1..=k as u32 {
        let members: Vec<usize> = (0..n).filter(|&i| labels[i] == c).collect();
        let m = members.len();
        let mean_of = |f: &dyn Fn(&Row) -> Option<f64>| -> Option<f64> {
            let v: Vec<f64> = members.iter().filter_map(|&i| f(&rows[i])).collect();
            (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
        };
        let means: Vec<Option<f64>> = (0..FEATURES.len())
            .map(|j| mean_of(&|r: &Row| raw(r, j)))
            .collect();
        let mut z = vec![0.0; FEATURES.len()];
        for (col, (j, _)) in cols.iter().enumerate() {
            z[*j] = members.iter().map(|&i| x[(i, col)]).sum::<f64>() / m.max(1) as f64;
        }
        let churn_rate = mean_of(&|r: &Row| r.churn_prob)
            .or_else(|| mean_of(&|r: &Row| r.churned.map(|c| f64::from(u8::from(c)))));
        clusters.push(Profile {
            cluster: c,
            name: String::new(),
            customers: m,
            share: m as f64 / n as f64,
            raw_z: means
                .iter()
                .zip(&overall)
                .map(|(m, o)| {
                    let (mean, sd) = (*o)?;
                    Some((m.as_ref()? - mean) / sd)
                })
                .collect(),
            means,
            z,
            churn_rate,
            mean_clv: mean_of(&|r: &Row| r.clv),
        });
    }
    name_clusters(&mut clusters);
    Ok((
        Report {
            k,
            chosen_by,
            silhouette: scores,
            features: cols.iter().map(|(j, _)| FEATURES[*j].to_string()).collect(),
            dropped,
            customers: n,
            clusters,
            seed,
        },
        labels,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(cid: i64, rec: f64, orders: f64, revenue: f64, complaints: f64) -> Row {
        Row {
            cid,
            recency_days: Some(rec),
            orders,
            revenue,
            tenure_days: Some(400.0),
            complaints_365: complaints,
            ..Default::default()
        }
    }

    #[test]
    fn three_planted_groups_are_found_and_named() {
        let mut rows = Vec::new();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        use rand::Rng;
        for i in 0..900 {
            let j = |rng: &mut rand_chacha::ChaCha8Rng| rng.gen_range(0.9..1.1);
            rows.push(match i % 3 {
                // Frequent high spenders, recent.
                0 => row(
                    i,
                    5.0 * j(&mut rng),
                    40.0 * j(&mut rng),
                    4000.0 * j(&mut rng),
                    0.0,
                ),
                // Lapsing low spenders.
                1 => row(
                    i,
                    300.0 * j(&mut rng),
                    2.0 * j(&mut rng),
                    40.0 * j(&mut rng),
                    0.0,
                ),
                // Complainers, middling otherwise.
                _ => row(
                    i,
                    60.0 * j(&mut rng),
                    8.0 * j(&mut rng),
                    500.0 * j(&mut rng),
                    6.0,
                ),
            });
        }
        let (report, labels) = cluster(&rows, None, 1).unwrap();
        assert_eq!(report.k, 3, "{}", report.chosen_by);
        // Each planted group is one cluster.
        for g in 0..3 {
            let first = labels[g];
            assert!((g..900).step_by(3).all(|i| labels[i] == first));
        }
        let names: Vec<&str> = report.clusters.iter().map(|c| c.name.as_str()).collect();
        assert!(
            names
                .iter()
                .any(|n| n.contains("frequent") && n.contains("high spenders")),
            "{names:?}"
        );
        assert!(names.iter().any(|n| n.contains("complaining")), "{names:?}");
        assert!(
            names
                .iter()
                .any(|n| n.contains("low spenders") || n.contains("lapsing")),
            "{names:?}"
        );
        // Sizes add up, and the same seed gives the same answer.
        assert_eq!(
            report.clusters.iter().map(|c| c.customers).sum::<usize>(),
            900
        );
        assert_eq!(cluster(&rows, None, 1).unwrap().1, labels);
        // The distance shown beside a mean is that mean's: from everyone's
        // mean over the customers with a value, in their standard
        // deviation; none for a feature that does not vary (tenure here).
        for j in 0..FEATURES.len() {
            let v: Vec<f64> = rows.iter().filter_map(|r| raw(r, j)).collect();
            let n = v.len() as f64;
            let mean = v.iter().sum::<f64>() / n;
            let sd = (v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n).sqrt();
            for c in &report.clusters {
                match (c.means[j], c.raw_z[j]) {
                    (Some(m), Some(z)) => assert!((z - (m - mean) / sd).abs() < 1e-9, "{j}"),
                    (m, None) => assert!(m.is_none() || v.is_empty() || sd <= 1e-12, "{j}"),
                    (None, Some(_)) => panic!("a distance without a mean ({j})"),
                }
            }
        }
        assert!(report.clusters.iter().all(|c| c.raw_z[3].is_none()));
    }

    #[test]
    fn too_few_or_flat_data_say_why() {
        let rows: Vec<Row> = (0..10).map(|i| row(i, 1.0, 1.0, 1.0, 0.0)).collect();
        assert!(cluster(&rows, None, 1)
            .unwrap_err()
            .to_string()
            .contains("at least 30"));
        let rows: Vec<Row> = (0..50).map(|i| row(i, 1.0, 1.0, 1.0, 0.0)).collect();
        assert!(cluster(&rows, None, 1)
            .unwrap_err()
            .to_string()
            .contains("nothing to cluster"));
    }
}
