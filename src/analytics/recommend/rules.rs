//! Association rules: frequent itemsets counted level by level, and the
//! rules of every split of one, as mlxtend defines support, confidence and
//! lift.

use super::Baskets;
use rustc_hash::{FxHashMap, FxHashSet};
use serde::Serialize;

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Rule {
    pub antecedents: Vec<String>,
    pub consequents: Vec<String>,
    pub support: f64,
    pub confidence: f64,
    pub lift: f64,
}

/// Every k-subset of a sorted basket, in order.
fn subsets(items: &[u32], k: usize, out: &mut Vec<Vec<u32>>) {
    fn go(items: &[u32], k: usize, start: usize, cur: &mut Vec<u32>, out: &mut Vec<Vec<u32>>) {
        if cur.len() == k {
            out.push(cur.clone());
            return;
        }
        for i in start..items.len() {
            if items.len() - i < k - cur.len() {
                break;
            }
            cur.push(items[i]);
            go(items, k, i + 1, cur, out);
            cur.pop();
        }
    }
    go(items, k, 0, &mut Vec::with_capacity(k), out);
}

/// Frequent itemsets (sorted ids) with their support, up to `max_len`.
pub fn frequent_itemsets(
    b: &Baskets,
    min_support: f64,
    max_len: usize,
) -> FxHashMap<Vec<u32>, f64> {
    let n = b.baskets.len() as f64;
    let min_count = (min_support * n - 1e-9).ceil().max(1.0);
    let mut out: FxHashMap<Vec<u32>, f64> = FxHashMap::default();
    // Level 1.
    let mut counts: FxHashMap<Vec<u32>, f64> = FxHashMap::default();
    for (_, _, items) in &b.baskets {
        for &i in items {
            *counts.entry(vec![i]).or_default() += 1.0;
        }
    }
    let mut frequent: FxHashSet<Vec<u32>> = counts
        .iter()
        .filter(|(_, c)| **c >= min_count)
        .map(|(k, _)| k.clone())
        .collect();
    for k in &frequent {
        out.insert(k.clone(), counts[k] / n);
    }
    let mut level = 1;
    while !frequent.is_empty() && level < max_len {
        level += 1;
        let items: FxHashSet<u32> = frequent.iter().flatten().copied().collect();
        let mut counts: FxHashMap<Vec<u32>, f64> = FxHashMap::default();
        let mut buf = Vec::new();
        for (_, _, basket) in &b.baskets {
            let kept: Vec<u32> = basket
                .iter()
                .copied()
                .filter(|i| items.contains(i))
                .collect();
            if kept.len() < level {
                continue;
            }
            buf.clear();
            subsets(&kept, level, &mut buf);
            for s in buf.drain(..) {
                // Every (level - 1)-subset must be frequent (Apriori).
                let ok = (0..s.len()).all(|skip| {
                    let sub: Vec<u32> = s
                        .iter()
                        .enumerate()
                        .filter(|(j, _)| *j != skip)
                        .map(|(_, v)| *v)
                        .collect();
                    frequent.contains(&sub)
                });
                if ok {
                    *counts.entry(s).or_default() += 1.0;
                }
            }
        }
        frequent = counts
            .iter()
            .filter(|(_, c)| **c >= min_count)
            .map(|(k, _)| k.clone())
            .collect();
        for k in &frequent {
            out.insert(k.clone(), counts[k] / n);
        }
    }
    out
}

/// Rules from frequent itemsets with confidence >= `min_confidence`,
/// sorted by lift, then confidence, then names.
pub fn rules(b: &Baskets, sets: &FxHashMap<Vec<u32>, f64>, min_confidence: f64) -> Vec<Rule> {
    let mut out = Vec::new();
    for (set, &support) in sets.iter().filter(|(s, _)| s.len() >= 2) {
        let k = set.len();
        // Every non-empty proper subset as the antecedent.
        for mask in 1u32..((1u32 << k) - 1) {
            let (a, c): (Vec<u32>, Vec<u32>) = {
                let mut a = Vec::new();
                let mut c = Vec::new();
                for (j, &v) in set.iter().enumerate() {
                    if mask & (1 << j) != 0 {
                        a.push(v);
                    } else {
                        c.push(v);
                    }
                }
                (a, c)
            };
            let (Some(&sa), Some(&sc)) = (sets.get(&a), sets.get(&c)) else {
                continue;
            };
            let confidence = support / sa;
            if confidence + 1e-12 < min_confidence {
                continue;
            }
            let name = |v: &[u32]| -> Vec<String> {
                let mut n: Vec<String> = v.iter().map(|&i| b.names[i as usize].clone()).collect();
                n.sort();
                n
            };
            out.push(Rule {
                antecedents: name(&a),
                consequents: name(&c),
                support,
                confidence,
                lift: confidence / sc,
            });
        }
    }
    out.sort_by(|x, y| {
        y.lift
            .total_cmp(&x.lift)
            .then(y.confidence.total_cmp(&x.confidence))
            .then(x.antecedents.cmp(&y.antecedents))
            .then(x.consequents.cmp(&y.consequents))
    });
    out
}
