//! Products bought together, and what to offer each customer next.
//!
//! A basket is a customer's orders on one day (UTC), as a set of products.
//! - Association rules: frequent itemsets (support = the share of baskets
//!   holding every item) up to `max_len` items, counted level by level over
//!   the baskets (the result is the same as FP-growth's), and rules A -> C
//!   from every split of a frequent itemset, with confidence = support(A u
//!   C) / support(A) and lift = confidence / support(C), as mlxtend's
//!   `fpgrowth` + `association_rules` define them.
//! - Recommendations: item-to-item co-occurrence over customers' histories
//!   (cosine: customers who bought both / sqrt(bought i x bought j)); a
//!   customer's score for a product not yet bought is the sum of its
//!   similarities to what she bought.
//! - Evaluation: each customer's last basket held out; hit rate and NDCG at
//!   10 against recommending the most popular products not yet bought.

use rustc_hash::{FxHashMap, FxHashSet};
use serde::Serialize;

/// Baskets as sorted, distinct product ids, and the products' names.
pub struct Baskets {
    pub names: Vec<String>,
    /// Per basket: (customer, day, products).
    pub baskets: Vec<(i64, i64, Vec<u32>)>,
}

impl Baskets {
    /// From (customer, day, product index) rows in customer then day order
    /// and the products' names by index (as `store::clv::basket_items`).
    pub fn from_items(names: Vec<String>, rows: &[(i64, i64, u32)]) -> Baskets {
        let mut baskets: Vec<(i64, i64, Vec<u32>)> = Vec::new();
        for &(cid, day, id) in rows {
            match baskets.last_mut() {
                Some((c, d, items)) if *c == cid && *d == day => items.push(id),
                _ => baskets.push((cid, day, vec![id])),
            }
        }
        for (_, _, items) in &mut baskets {
            items.sort_unstable();
            items.dedup();
        }
        Baskets { names, baskets }
    }

    /// From (customer, day, product) rows in customer then day order.
    pub fn from_rows(rows: impl IntoIterator<Item = (i64, i64, String)>) -> Baskets {
        let mut names: Vec<String> = Vec::new();
        let mut ids: FxHashMap<String, u32> = FxHashMap::default();
        let mut items: Vec<(i64, i64, u32)> = Vec::new();
        for (cid, day, product) in rows {
            let id = *ids.entry(product.clone()).or_insert_with(|| {
                names.push(product);
                names.len() as u32 - 1
            });
            items.push((cid, day, id));
        }
        Baskets::from_items(names, &items)
    }
}

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

/// Item-to-item similarities learned from customers' histories.
/// Catalogues up to this size count product pairs in a dense triangle.
const DENSE_ITEMS: usize = 4096;

/// Reusable working memory for `ItemModel::recommend_with` (one per thread).
#[derive(Debug, Default)]
pub struct Scratch {
    score: Vec<f32>,
    seen: Vec<bool>,
    touched: Vec<u32>,
}

pub struct ItemModel {
    /// Per product: (other product, cosine similarity), best first.
    pub neighbours: Vec<Vec<(u32, f32)>>,
    /// Products by how many customers bought them, most first.
    pub popular: Vec<u32>,
}

/// Learn from each customer's set of products (histories: customer ->
/// sorted distinct products). Neighbours are cut at `keep` per product.
pub fn learn(n_items: usize, histories: &[Vec<u32>], keep: usize) -> ItemModel {
    let mut bought = vec![0f32; n_items];
    // Pair counts: a dense triangle for a catalogue of a few thousand
    // products (1,000: 2 MB, and no hashing), a map beyond.
    let dense = n_items <= DENSE_ITEMS;
    let mut tri = vec![
        0f32;
        if dense {
            n_items * n_items.saturating_sub(1) / 2
        } else {
            0
        }
    ];
    let at = |i: usize, j: usize| i * (2 * n_items - i - 1) / 2 + (j - i - 1);
    let mut co: FxHashMap<(u32, u32), f32> = FxHashMap::default();
    for h in histories {
        for &i in h {
            bought[i as usize] += 1.0;
        }
        // Long histories add little but cost quadratically: the first 50.
        let h = &h[..h.len().min(50)];
        for (x, &i) in h.iter().enumerate() {
            for &j in &h[x + 1..] {
                if dense {
                    let (a, b) = (i.min(j) as usize, i.max(j) as usize);
                    if a != b {
                        tri[at(a, b)] += 1.0;
                    }
                } else {
                    *co.entry((i, j)).or_default() += 1.0;
                }
            }
        }
    }
    if dense {
        for i in 0..n_items {
            for j in i + 1..n_items {
                let c = tri[at(i, j)];
                if c > 0.0 {
                    co.insert((i as u32, j as u32), c);
                }
            }
        }
    }
    let mut neighbours: Vec<Vec<(u32, f32)>> = vec![Vec::new(); n_items];
    let mut pairs: Vec<((u32, u32), f32)> = co.into_iter().collect();
    // The same neighbour lists whatever the map's order.
    pairs.sort_unstable_by_key(|p| p.0);
    for ((i, j), c) in pairs {
        let s = c / (bought[i as usize] * bought[j as usize]).sqrt();
        neighbours[i as usize].push((j, s));
        neighbours[j as usize].push((i, s));
    }
    for v in &mut neighbours {
        v.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        v.truncate(keep);
    }
    let mut popular: Vec<u32> = (0..n_items as u32).collect();
    popular.sort_by(|a, b| {
        bought[*b as usize]
            .total_cmp(&bought[*a as usize])
            .then(a.cmp(b))
    });
    ItemModel {
        neighbours,
        popular,
    }
}

impl ItemModel {
    /// The top `n` products not in `history`, with scores.
    pub fn recommend(&self, history: &[u32], n: usize) -> Vec<(u32, f32)> {
        self.recommend_with(history, n, &mut Scratch::default())
    }

    /// `recommend` with working memory kept between calls (scores in an
    /// array indexed by product, not a map: the evaluation asks for a
    /// million customers).
    pub fn recommend_with(&self, history: &[u32], n: usize, sc: &mut Scratch) -> Vec<(u32, f32)> {
        let items = self.neighbours.len();
        if sc.score.len() < items {
            sc.score.resize(items, 0.0);
            sc.seen.resize(items, false);
        }
        for &i in history {
            for &(j, s) in self
                .neighbours
                .get(i as usize)
                .map(|v| v.as_slice())
                .unwrap_or(&[])
            {
                if history.binary_search(&j).is_err() {
                    let k = j as usize;
                    if !sc.seen[k] {
                        sc.seen[k] = true;
                        sc.touched.push(j);
                    }
                    sc.score[k] += s;
                }
            }
        }
        let mut out: Vec<(u32, f32)> = sc
            .touched
            .drain(..)
            .map(|j| {
                let k = j as usize;
                let v = sc.score[k];
                sc.score[k] = 0.0;
                sc.seen[k] = false;
                (j, v)
            })
            .collect();
        let better = |a: &(u32, f32), b: &(u32, f32)| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0));
        if out.len() > n && n > 0 {
            out.select_nth_unstable_by(n - 1, better);
        }
        out.truncate(n);
        out.sort_by(better);
        // Too few neighbours: fill with the most popular not yet bought.
        if out.len() < n {
            for &p in &self.popular {
                if out.len() >= n {
                    break;
                }
                if history.binary_search(&p).is_err() && !out.iter().any(|(q, _)| *q == p) {
                    out.push((p, 0.0));
                }
            }
        }
        out
    }

    /// The most popular products not in `history`.
    pub fn popular_for(&self, history: &[u32], n: usize) -> Vec<u32> {
        self.popular
            .iter()
            .copied()
            .filter(|p| history.binary_search(p).is_err())
            .take(n)
            .collect()
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;

    fn mlxtend_fixture() -> Baskets {
        let data: [&[&str]; 5] = [
            &["Milk", "Onion", "Nutmeg", "Kidney Beans", "Eggs", "Yogurt"],
            &["Dill", "Onion", "Nutmeg", "Kidney Beans", "Eggs", "Yogurt"],
            &["Milk", "Apple", "Kidney Beans", "Eggs"],
            &["Milk", "Unicorn", "Corn", "Kidney Beans", "Yogurt"],
            &[
                "Corn",
                "Onion",
                "Onion",
                "Kidney Beans",
                "Ice cream",
                "Eggs",
            ],
        ];
        Baskets::from_rows(
            data.iter()
                .enumerate()
                .flat_map(|(i, items)| items.iter().map(move |p| (i as i64, 0, p.to_string()))),
        )
    }

    #[test]
    fn frequent_itemsets_of_mlxtends_fixture() {
        let b = mlxtend_fixture();
        let sets = frequent_itemsets(&b, 0.6, 5);
        let named: std::collections::BTreeMap<Vec<String>, f64> = sets
            .iter()
            .map(|(k, v)| {
                let mut n: Vec<String> = k.iter().map(|&i| b.names[i as usize].clone()).collect();
                n.sort();
                (n, *v)
            })
            .collect();
        // mlxtend's documented result for min_support = 0.6.
        let want: Vec<(&[&str], f64)> = vec![
            (&["Eggs"], 0.8),
            (&["Kidney Beans"], 1.0),
            (&["Milk"], 0.6),
            (&["Onion"], 0.6),
            (&["Yogurt"], 0.6),
            (&["Eggs", "Kidney Beans"], 0.8),
            (&["Eggs", "Onion"], 0.6),
            (&["Kidney Beans", "Milk"], 0.6),
            (&["Kidney Beans", "Onion"], 0.6),
            (&["Kidney Beans", "Yogurt"], 0.6),
            (&["Eggs", "Kidney Beans", "Onion"], 0.6),
        ];
        assert_eq!(named.len(), want.len(), "{named:?}");
        for (items, s) in want {
            let k: Vec<String> = items.iter().map(|s| s.to_string()).collect();
            assert!((named[&k] - s).abs() < 1e-12, "{k:?}");
        }
    }

    #[test]
    fn rules_of_mlxtends_fixture() {
        // mlxtend 0.25: fpgrowth(min_support=0.6) + association_rules(confidence >= 0.7).
        let b = mlxtend_fixture();
        let sets = frequent_itemsets(&b, 0.6, 5);
        let got = rules(&b, &sets, 0.7);
        let want: [(&str, &str, f64, f64, f64); 12] = [
            ("Eggs", "Kidney Beans", 0.8, 1.0, 1.0),
            ("Eggs", "Kidney Beans,Onion", 0.6, 0.75, 1.25),
            ("Eggs", "Onion", 0.6, 0.75, 1.25),
            ("Eggs,Kidney Beans", "Onion", 0.6, 0.75, 1.25),
            ("Eggs,Onion", "Kidney Beans", 0.6, 1.0, 1.0),
            ("Kidney Beans", "Eggs", 0.8, 0.8, 1.0),
            ("Kidney Beans,Onion", "Eggs", 0.6, 1.0, 1.25),
            ("Milk", "Kidney Beans", 0.6, 1.0, 1.0),
            ("Onion", "Eggs", 0.6, 1.0, 1.25),
            ("Onion", "Eggs,Kidney Beans", 0.6, 1.0, 1.25),
            ("Onion", "Kidney Beans", 0.6, 1.0, 1.0),
            ("Yogurt", "Kidney Beans", 0.6, 1.0, 1.0),
        ];
        assert_eq!(got.len(), want.len());
        for (a, c, s, conf, lift) in want {
            let r = got
                .iter()
                .find(|r| r.antecedents.join(",") == a && r.consequents.join(",") == c)
                .unwrap_or_else(|| panic!("{a} -> {c}"));
            assert!((r.support - s).abs() < 1e-12);
            assert!((r.confidence - conf).abs() < 1e-12);
            assert!((r.lift - lift).abs() < 1e-12);
        }
    }
}
