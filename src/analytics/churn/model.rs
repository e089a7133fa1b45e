//! The three model kinds behind one type: fit on standardised features,
//! predict P(churn), explain per customer, and serialise for re-scoring.

use crate::analytics::logistic::{FitError, IrlsFit, IrlsParams};
use linfa::prelude::*;
use linfa_bayes::{GaussianNb, NaiveBayes};
use linfa_trees::DecisionTree;
use ndarray::{Array1, Array2, ArrayView2, Axis};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ModelKind {
    Logistic,
    RandomForest,
    NaiveBayes,
}

impl ModelKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ModelKind::Logistic => "logistic",
            ModelKind::RandomForest => "random_forest",
            ModelKind::NaiveBayes => "naive_bayes",
        }
    }

    pub fn parse(s: &str) -> Option<ModelKind> {
        match s {
            "logistic" => Some(ModelKind::Logistic),
            "random_forest" | "rf" => Some(ModelKind::RandomForest),
            "naive_bayes" | "nb" => Some(ModelKind::NaiveBayes),
            _ => None,
        }
    }
}

/// Trees of the random forest and the feature subset each was trained on.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Forest {
    pub trees: Vec<DecisionTree<f64, usize>>,
    pub features: Vec<Vec<usize>>,
}

/// A fitted model.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Fitted {
    Logistic {
        intercept: f64,
        coef: Vec<f64>,
    },
    RandomForest(Forest),
    NaiveBayes {
        /// Per class (0 = stays, 1 = churns): prior, means, variances.
        prior: [f64; 2],
        theta: [Vec<f64>; 2],
        sigma: [Vec<f64>; 2],
    },
}

/// Settings of the comparison models (documented in the README).
pub const FOREST_TREES: usize = 60;
pub const FOREST_DEPTH: usize = 10;
/// The forest trains on at most this many rows (a stratified sample).
pub const FOREST_MAX_ROWS: usize = 100_000;

pub fn fit(
    kind: ModelKind,
    x: &Array2<f64>,
    y: &[bool],
    l2: f64,
    seed: u64,
) -> Result<(Fitted, Option<IrlsFit>), FitError> {
    match kind {
        ModelKind::Logistic => {
            // `fit_arrays` is what `Fit::fit` runs, without copying the matrix.
            let f = IrlsParams {
                l2,
                ..Default::default()
            }
            .fit_arrays(x, y)?;
            Ok((
                Fitted::Logistic {
                    intercept: f.intercept,
                    coef: f.coef.to_vec(),
                },
                Some(f),
            ))
        }
        ModelKind::RandomForest => {
            let labels: Array1<usize> = y.iter().map(|&v| usize::from(v)).collect();
            let ds = Dataset::new(x.clone(), labels);
            let rng = ChaCha8Rng::seed_from_u64(seed);
            let forest = linfa_ensemble::EnsembleLearnerParams::new_fixed_rng(
                DecisionTree::params()
                    .max_depth(Some(FOREST_DEPTH))
                    .min_weight_leaf(5.0),
                rng,
            )
            .ensemble_size(FOREST_TREES)
            .bootstrap_proportion(0.7)
            .feature_proportion(0.6)
            .fit(&ds)?;
            Ok((
                Fitted::RandomForest(Forest {
                    trees: forest.models,
                    features: forest.model_features,
                }),
                None,
            ))
        }
        ModelKind::NaiveBayes => {
            let labels: Array1<usize> = y.iter().map(|&v| usize::from(v)).collect();
            let ds = Dataset::new(x.clone(), labels);
            let nb: GaussianNb<f64, usize> = GaussianNb::params()
                .fit(&ds)
                .map_err(|e| FitError::BadData(format!("naive Bayes: {e}")))?;
            // Read the class statistics back through serde (they are private).
            let v = serde_json::to_value(&nb).map_err(|e| FitError::BadData(e.to_string()))?;
            let info = &v["class_info"];
            let get = |c: &str, f: &str| -> Vec<f64> {
                info[c][f]["data"]
                    .as_array()
                    .map(|a| a.iter().filter_map(|x| x.as_f64()).collect())
                    .unwrap_or_default()
            };
            let prior = |c: &str| info[c]["prior"].as_f64().unwrap_or(0.5);
            let fitted = Fitted::NaiveBayes {
                prior: [prior("0"), prior("1")],
                theta: [get("0", "theta"), get("1", "theta")],
                sigma: [get("0", "sigma"), get("1", "sigma")],
            };
            // Check the extraction against the library's own probabilities.
            let (p, classes) = nb.predict_proba(x.slice(ndarray::s![..x.nrows().min(50), ..]));
            let mine = predict(&fitted, &x.slice(ndarray::s![..x.nrows().min(50), ..]));
            if let Some(c1) = classes.iter().position(|c| **c == 1) {
                for (r, m) in mine.iter().enumerate() {
                    if (p[(r, c1)] - m).abs() > 1e-6 {
                        return Err(FitError::BadData(
                            "naive Bayes parameters could not be read back".into(),
                        ));
                    }
                }
            }
            Ok((fitted, None))
        }
    }
}

fn sigmoid(z: f64) -> f64 {
    if z >= 0.0 {
        1.0 / (1.0 + (-z).exp())
    } else {
        let e = z.exp();
        e / (1.0 + e)
    }
}

/// Per-feature log-likelihood ratio of a Gaussian naive Bayes.
fn nb_terms(theta: &[Vec<f64>; 2], sigma: &[Vec<f64>; 2], j: usize, v: f64) -> f64 {
    let ll = |c: usize| {
        let s = sigma[c][j].max(1e-12);
        -0.5 * (2.0 * std::f64::consts::PI * s).ln() - (v - theta[c][j]).powi(2) / (2.0 * s)
    };
    ll(1) - ll(0)
}

/// P(churn) for each row of a standardised matrix.
pub fn predict(m: &Fitted, x: &ArrayView2<f64>) -> Array1<f64> {
    match m {
        Fitted::Logistic { intercept, coef } => {
            let w = Array1::from(coef.clone());
            (x.dot(&w) + *intercept).mapv(sigmoid)
        }
        Fitted::RandomForest(f) => {
            let mut votes = Array1::<f64>::zeros(x.nrows());
            for (tree, feats) in f.trees.iter().zip(&f.features) {
                let sub = x.select(Axis(1), feats);
                let pred: Array1<usize> = tree.predict(&sub);
                votes.zip_mut_with(&pred, |v, &p| *v += p as f64);
            }
            votes / f.trees.len().max(1) as f64
        }
        Fitted::NaiveBayes {
            prior,
            theta,
            sigma,
        } => {
            let base = (prior[1].max(1e-300)).ln() - (prior[0].max(1e-300)).ln();
            x.rows()
                .into_iter()
                .map(|r| {
                    sigmoid(
                        base + r
                            .iter()
                            .enumerate()
                            .map(|(j, &v)| nb_terms(theta, sigma, j, v))
                            .sum::<f64>(),
                    )
                })
                .collect()
        }
    }
}

/// The top `k` signed contributions to one row's log-odds: (feature index,
/// contribution). Logistic: coefficient x standardised value. Naive Bayes:
/// each feature's log-likelihood ratio. Random forest: none (its votes do
/// not split into per-feature parts).
pub fn drivers(m: &Fitted, row: &[f64], k: usize) -> Vec<(usize, f64)> {
    let mut c: Vec<(usize, f64)> = match m {
        Fitted::Logistic { coef, .. } => coef
            .iter()
            .zip(row)
            .map(|(b, v)| b * v)
            .enumerate()
            .collect(),
        Fitted::NaiveBayes { theta, sigma, .. } => row
            .iter()
            .enumerate()
            .map(|(j, &v)| (j, nb_terms(theta, sigma, j, v)))
            .collect(),
        Fitted::RandomForest(_) => return vec![],
    };
    c.retain(|(_, v)| v.is_finite() && v.abs() > 1e-9);
    // Largest first, ties in feature order: the k largest are selected,
    // then only they are sorted (once per customer scored).
    let order =
        |a: &(usize, f64), b: &(usize, f64)| b.1.abs().total_cmp(&a.1.abs()).then(a.0.cmp(&b.0));
    if k < c.len() {
        if k == 0 {
            return Vec::new();
        }
        c.select_nth_unstable_by(k - 1, order);
        c.truncate(k);
    }
    c.sort_unstable_by(order);
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drivers_are_the_largest_contributions_ties_in_feature_order() {
        let m = Fitted::Logistic {
            intercept: 0.0,
            coef: vec![1.0, -2.0, 0.5, 2.0, 0.0, -0.5, 3.0],
        };
        let row = [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, f64::NAN];
        // |2| twice (features 1 and 3), |1| once, |0.5| twice; the zero and
        // the NaN contribution are no drivers.
        assert_eq!(drivers(&m, &row, 3), vec![(1, -2.0), (3, 2.0), (0, 1.0)]);
        assert_eq!(
            drivers(&m, &row, 10),
            vec![(1, -2.0), (3, 2.0), (0, 1.0), (2, 0.5), (5, -0.5)]
        );
        assert_eq!(drivers(&m, &row, 4)[3], (2, 0.5));
        assert!(drivers(&m, &row, 0).is_empty());
    }
}
