//! Offline evaluation: each customer's last basket held out, hit rate and
//! NDCG at 10 against the most popular products not yet bought.

use super::{learn, Baskets, Scratch};
use rustc_hash::FxHashSet;
use serde::Serialize;

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Scores {
    pub hit_rate_at_10: f64,
    pub ndcg_at_10: f64,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Evaluation {
    pub hit_rate_at_10: f64,
    pub ndcg_at_10: f64,
    pub baseline: Scores,
    /// Customers evaluated (two baskets or more, something new in the last).
    pub customers: usize,
}

/// NDCG of a top-n list against the relevant products (binary gains).
pub fn ndcg(recs: &[u32], relevant: &FxHashSet<u32>) -> f64 {
    let dcg: f64 = recs
        .iter()
        .enumerate()
        .filter(|(_, r)| relevant.contains(r))
        .map(|(k, _)| 1.0 / ((k + 2) as f64).log2())
        .sum();
    let ideal: f64 = (0..relevant.len().min(recs.len().max(1)))
        .map(|k| 1.0 / ((k + 2) as f64).log2())
        .sum();
    if ideal > 0.0 {
        dcg / ideal
    } else {
        0.0
    }
}

/// Hold out each customer's last basket (its products not bought before),
/// learn from everything else, and score the top 10 against them, beside
/// the most popular products not yet bought.
/// The offline evaluation's split: every customer's history before their
/// last basket (all customers: what a model learns from), and for those
/// with two baskets or more and something new in the last, (history, the
/// last basket's new products).
pub struct Holdout {
    pub train: Vec<Vec<u32>>,
    pub held: Vec<(Vec<u32>, FxHashSet<u32>)>,
}

pub fn holdout(b: &Baskets) -> Holdout {
    let mut train: Vec<Vec<u32>> = Vec::new();
    let mut held: Vec<(Vec<u32>, FxHashSet<u32>)> = Vec::new();
    let mut i = 0;
    while i < b.baskets.len() {
        let cid = b.baskets[i].0;
        let mut j = i;
        while j < b.baskets.len() && b.baskets[j].0 == cid {
            j += 1;
        }
        let mut history: Vec<u32> = b.baskets[i..j.saturating_sub(1)]
            .iter()
            .flat_map(|x| x.2.iter().copied())
            .collect();
        history.sort_unstable();
        history.dedup();
        if j - i >= 2 {
            let last: FxHashSet<u32> = b.baskets[j - 1]
                .2
                .iter()
                .copied()
                .filter(|p| history.binary_search(p).is_err())
                .collect();
            if !last.is_empty() {
                held.push((history.clone(), last));
            }
        }
        train.push(history);
        i = j;
    }
    Holdout { train, held }
}

pub fn evaluate(b: &Baskets) -> Evaluation {
    // Per customer: history before the last basket, and the last basket's new items.
    let Holdout { train, held } = holdout(b);
    let model = learn(b.names.len(), &train, 100);
    // Scored in parallel, summed in order (the same figures every run).
    use rayon::prelude::*;
    let per: Vec<[f64; 4]> = held
        .par_iter()
        .map_init(Scratch::default, |sc, (history, last)| {
            let recs: Vec<u32> = model
                .recommend_with(history, 10, sc)
                .into_iter()
                .map(|r| r.0)
                .collect();
            let base = model.popular_for(history, 10);
            [
                f64::from(u8::from(recs.iter().any(|r| last.contains(r)))),
                ndcg(&recs, last),
                f64::from(u8::from(base.iter().any(|r| last.contains(r)))),
                ndcg(&base, last),
            ]
        })
        .collect();
    let (mut hit, mut nd, mut bhit, mut bnd) = (0.0, 0.0, 0.0, 0.0);
    for [h, n, bh, bn] in per {
        hit += h;
        nd += n;
        bhit += bh;
        bnd += bn;
    }
    let n = held.len().max(1) as f64;
    Evaluation {
        hit_rate_at_10: hit / n,
        ndcg_at_10: nd / n,
        baseline: Scores {
            hit_rate_at_10: bhit / n,
            ndcg_at_10: bnd / n,
        },
        customers: held.len(),
    }
}
