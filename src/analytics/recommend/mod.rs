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

mod evaluation;
mod items;
mod rules;

pub use evaluation::{evaluate, holdout, ndcg, Evaluation, Holdout, Scores};
pub use items::{learn, ItemModel, Scratch};
pub use rules::{frequent_itemsets, rules, Rule};

use rustc_hash::FxHashMap;

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
