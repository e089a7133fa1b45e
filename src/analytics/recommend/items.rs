//! Item-to-item recommendations: cosine co-occurrence of products over
//! customers' histories, and a customer's top products not yet bought.

use rustc_hash::FxHashMap;

/// Catalogues up to this size count product pairs in a dense triangle.
const DENSE_ITEMS: usize = 4096;

/// Reusable working memory for `ItemModel::recommend_with` (one per thread).
#[derive(Debug, Default)]
pub struct Scratch {
    score: Vec<f32>,
    seen: Vec<bool>,
    touched: Vec<u32>,
}

/// Item-to-item similarities learned from customers' histories.
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
