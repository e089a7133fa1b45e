//! RFM scores and segments.
//!
//! Recency (days since the last transaction), frequency (transactions, i.e.
//! days with orders) and monetary (total spend) are each scored 1-5 by
//! quintile: the cut points are the 20/40/60/80% quantiles, so customers with
//! equal values share a score. Recency is reversed (recent = 5). Segments
//! follow the widely used R x F map:
//!
//! | R \ F | 1               | 2                  | 3                  | 4               | 5               |
//! |-------|-----------------|--------------------|--------------------|-----------------|-----------------|
//! | 5     | New Customers   | Potential Loyalist | Potential Loyalist | Champions       | Champions       |
//! | 4     | Promising       | Potential Loyalist | Potential Loyalist | Loyal Customers | Loyal Customers |
//! | 3     | About To Sleep  | About To Sleep     | Need Attention     | Loyal Customers | Loyal Customers |
//! | 2     | Hibernating     | Hibernating        | At Risk            | At Risk         | Can't Lose Them |
//! | 1     | Lost            | Hibernating        | At Risk            | At Risk         | Can't Lose Them |

pub const SEGMENTS: [&str; 11] = [
    "Champions",
    "Loyal Customers",
    "Potential Loyalist",
    "New Customers",
    "Promising",
    "Need Attention",
    "About To Sleep",
    "At Risk",
    "Can't Lose Them",
    "Hibernating",
    "Lost",
];

/// The segment of an (R, F) pair of scores (1-5).
pub fn segment(r: u8, f: u8) -> &'static str {
    match (r, f) {
        (5, 1) => "New Customers",
        (5, 2..=3) | (4, 2..=3) => "Potential Loyalist",
        (5, _) => "Champions",
        (4, 1) => "Promising",
        (4, _) | (3, 4..=5) => "Loyal Customers",
        (3, 3) => "Need Attention",
        (3, _) => "About To Sleep",
        (1, 1) => "Lost",
        (1..=2, 1..=2) => "Hibernating",
        (1..=2, 5) => "Can't Lose Them",
        _ => "At Risk",
    }
}

/// Quintile cut points (20/40/60/80%) of `values`.
pub fn cut_points(values: &[f64]) -> [f64; 4] {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return [0.0; 4];
    }
    v.sort_by(f64::total_cmp);
    let q = |p: f64| v[((v.len() - 1) as f64 * p).round() as usize];
    [q(0.2), q(0.4), q(0.6), q(0.8)]
}

/// Score 1-5: how many cut points the value exceeds, plus one.
pub fn score(v: f64, cuts: &[f64; 4]) -> u8 {
    1 + cuts.iter().filter(|&&c| v > c).count() as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_score_pair_has_a_segment_and_every_segment_a_pair() {
        let mut seen = std::collections::HashSet::new();
        for r in 1..=5 {
            for f in 1..=5 {
                let s = segment(r, f);
                assert!(SEGMENTS.contains(&s), "{s}");
                seen.insert(s);
            }
        }
        assert_eq!(seen.len(), SEGMENTS.len());
        assert_eq!(segment(5, 5), "Champions");
        assert_eq!(segment(1, 1), "Lost");
        assert_eq!(segment(1, 5), "Can't Lose Them");
    }

    #[test]
    fn quintiles_with_ties() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        let c = cut_points(&v);
        assert_eq!(score(1.0, &c), 1);
        assert_eq!(score(100.0, &c), 5);
        assert_eq!(score(50.0, &c), 3);
        // Mostly ones: equal values share the lowest score.
        let mut w = vec![1.0; 90];
        w.extend((2..=11).map(f64::from));
        let c = cut_points(&w);
        assert_eq!(score(1.0, &c), 1);
        assert_eq!(score(11.0, &c), 5);
    }
}
