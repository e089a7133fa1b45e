//! The statistics of a campaign against its control group: the difference
//! of two proportions with Newcombe's hybrid Wilson score interval (method
//! 10 of Newcombe 1998) and the two-proportion z-test; the difference of
//! two means with Welch's t interval and test; the Qini curve and
//! coefficient as scikit-uplift defines them.

use statrs::distribution::{ContinuousCDF, Normal, StudentsT};

/// z for a two-sided 95% interval.
pub const Z95: f64 = 1.959963984540054;

/// Wilson's score interval for x successes in n (95%).
pub fn wilson(x: f64, n: f64) -> (f64, f64) {
    if n <= 0.0 {
        return (0.0, 1.0);
    }
    let p = x / n;
    let z2 = Z95 * Z95;
    let centre = (p + z2 / (2.0 * n)) / (1.0 + z2 / n);
    let half = Z95 * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt() / (1.0 + z2 / n);
    ((centre - half).max(0.0), (centre + half).min(1.0))
}

/// A difference of two proportions, p1 - p2, with its 95% interval and
/// the two-sided p-value of the pooled z-test.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PropDiff {
    pub p1: f64,
    pub p2: f64,
    pub diff: f64,
    pub lo: f64,
    pub hi: f64,
    pub p_value: f64,
}

/// Newcombe's method 10: from each proportion's Wilson limits.
pub fn newcombe(x1: f64, n1: f64, x2: f64, n2: f64) -> PropDiff {
    let (p1, p2) = (x1 / n1.max(1.0), x2 / n2.max(1.0));
    let (l1, u1) = wilson(x1, n1);
    let (l2, u2) = wilson(x2, n2);
    let d = p1 - p2;
    let lo = d - ((p1 - l1).powi(2) + (u2 - p2).powi(2)).sqrt();
    let hi = d + ((u1 - p1).powi(2) + (p2 - l2).powi(2)).sqrt();
    PropDiff {
        p1,
        p2,
        diff: d,
        lo,
        hi,
        p_value: two_proportion_p(x1, n1, x2, n2),
    }
}

/// Two-sided p-value of the pooled two-proportion z-test (1 when it cannot
/// tell: an empty group, or both proportions 0 or 1).
pub fn two_proportion_p(x1: f64, n1: f64, x2: f64, n2: f64) -> f64 {
    if n1 <= 0.0 || n2 <= 0.0 {
        return 1.0;
    }
    let p = (x1 + x2) / (n1 + n2);
    let se = (p * (1.0 - p) * (1.0 / n1 + 1.0 / n2)).sqrt();
    if se <= 0.0 {
        return 1.0;
    }
    let z = (x1 / n1 - x2 / n2) / se;
    normal_two_sided(z)
}

fn normal_two_sided(z: f64) -> f64 {
    match Normal::new(0.0, 1.0) {
        Ok(n) => (2.0 * (1.0 - n.cdf(z.abs()))).clamp(0.0, 1.0),
        Err(_) => 1.0,
    }
}

/// Summary statistics of one group's values.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Moments {
    pub n: f64,
    pub mean: f64,
    /// Sample variance (n - 1).
    pub var: f64,
}

impl Moments {
    pub fn of(values: &[f64]) -> Moments {
        let n = values.len() as f64;
        if n == 0.0 {
            return Moments::default();
        }
        let mean = values.iter().sum::<f64>() / n;
        let var = if n > 1.0 {
            values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0)
        } else {
            0.0
        };
        Moments { n, mean, var }
    }
}

/// A difference of two means with Welch's 95% interval and test.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MeanDiff {
    pub diff: f64,
    pub se: f64,
    pub df: f64,
    pub t: f64,
    pub lo: f64,
    pub hi: f64,
    pub p_value: f64,
}

/// Welch: se = sqrt(v1/n1 + v2/n2), Welch-Satterthwaite df. None when a
/// group has fewer than two values or neither varies.
pub fn welch(a: Moments, b: Moments) -> Option<MeanDiff> {
    if a.n < 2.0 || b.n < 2.0 {
        return None;
    }
    let (qa, qb) = (a.var / a.n, b.var / b.n);
    let se = (qa + qb).sqrt();
    if se.is_nan() || se <= 0.0 {
        return None;
    }
    let df = (qa + qb).powi(2) / (qa * qa / (a.n - 1.0) + qb * qb / (b.n - 1.0));
    let diff = a.mean - b.mean;
    let t = diff / se;
    let dist = StudentsT::new(0.0, 1.0, df).ok()?;
    let q = dist.inverse_cdf(0.975);
    let p = (2.0 * (1.0 - dist.cdf(t.abs()))).clamp(0.0, 1.0);
    Some(MeanDiff {
        diff,
        se,
        df,
        t,
        lo: diff - q * se,
        hi: diff + q * se,
        p_value: p,
    })
}

/// The Qini curve as scikit-uplift's `qini_curve`: customers ordered by
/// predicted uplift (highest first; ties grouped, one point per group), x =
/// customers targeted, y = treated responders - control responders x
/// treated / control (0 while there is no control yet); starts at (0, 0).
pub fn qini_curve(y: &[bool], uplift: &[f64], treatment: &[bool]) -> (Vec<f64>, Vec<f64>) {
    let n = y.len().min(uplift.len()).min(treatment.len());
    // numpy's argsort(kind="mergesort")[::-1]: a stable ascending sort,
    // reversed (among ties, the later row first).
    let mut order: Vec<usize> = (0..n).collect();
    // Stable by construction: ties ordered by index (and faster than a
    // stable sort at a million).
    order.sort_unstable_by(|&a, &b| uplift[a].total_cmp(&uplift[b]).then(a.cmp(&b)));
    order.reverse();
    let (mut xs, mut ys) = (vec![0.0], vec![0.0]);
    let (mut nt, mut yt, mut yc) = (0.0, 0.0, 0.0);
    for (k, &i) in order.iter().enumerate() {
        if treatment[i] {
            nt += 1.0;
            if y[i] {
                yt += 1.0;
            }
        } else if y[i] {
            yc += 1.0;
        }
        let last_of_group = k + 1 == n || uplift[order[k + 1]] != uplift[i];
        if last_of_group {
            let all = (k + 1) as f64;
            let nc = all - nt;
            let ratio = if nc != 0.0 { nt / nc } else { 0.0 };
            xs.push(all);
            ys.push(yt - yc * ratio);
        }
    }
    (xs, ys)
}

/// The best possible Qini curve (scikit-uplift's `perfect_qini_curve` with
/// `negative_effect=True`): treated responders first, control responders last.
pub fn perfect_qini_curve(y: &[bool], treatment: &[bool]) -> (Vec<f64>, Vec<f64>) {
    let score: Vec<f64> = y
        .iter()
        .zip(treatment)
        .map(|(&r, &t)| match (r, t) {
            (true, true) => 1.0,
            (true, false) => -1.0,
            _ => 0.0,
        })
        .collect();
    qini_curve(y, &score, treatment)
}

fn trapezoid(x: &[f64], y: &[f64]) -> f64 {
    x.windows(2)
        .zip(y.windows(2))
        .map(|(x, y)| (x[1] - x[0]) * (y[0] + y[1]) / 2.0)
        .sum()
}

/// The Qini coefficient as scikit-uplift's `qini_auc_score`: the area
/// between the Qini curve and the random line, over the same area of the
/// perfect curve. None when it is undefined (outcomes all alike, or no
/// room between the perfect curve and the random line).
pub fn qini_coefficient(y: &[bool], uplift: &[f64], treatment: &[bool]) -> Option<f64> {
    let (xa, ya) = qini_curve(y, uplift, treatment);
    qini_coefficient_of(&xa, &ya, y, treatment)
}

/// `qini_coefficient` for a curve already computed (`qini_curve(y, _,
/// treatment)`): a large campaign's report sorts its members once.
pub fn qini_coefficient_of(xa: &[f64], ya: &[f64], y: &[bool], treatment: &[bool]) -> Option<f64> {
    if y.iter().all(|&r| r) || y.iter().all(|&r| !r) {
        return None;
    }
    let (xp, yp) = perfect_qini_curve(y, treatment);
    let (lx, ly) = (*xp.last()?, *yp.last()?);
    let base = trapezoid(&[0.0, lx], &[0.0, ly]);
    let perfect = trapezoid(&xp, &yp) - base;
    let actual = trapezoid(xa, ya) - base;
    (perfect != 0.0).then(|| actual / perfect)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newcombe_equals_the_papers_examples() {
        // Newcombe (1998), Table II, method 10 (statsmodels' `newcomb`
        // gives the same to 1e-15: bench/uplift_reference.py).
        for (x1, n1, x2, n2, lo, hi) in [
            (56.0, 70.0, 48.0, 80.0, 0.0524, 0.3339),
            (9.0, 10.0, 3.0, 10.0, 0.1705, 0.8090),
            (6.0, 7.0, 2.0, 7.0, 0.0582, 0.8062),
            (5.0, 56.0, 0.0, 29.0, -0.0381, 0.1926),
            (0.0, 10.0, 0.0, 20.0, -0.1611, 0.2775),
            (10.0, 10.0, 0.0, 20.0, 0.6791, 1.0000),
        ] {
            let d = newcombe(x1, n1, x2, n2);
            assert!(
                (d.lo - lo).abs() < 5e-5,
                "{x1}/{n1} vs {x2}/{n2}: {} vs {lo}",
                d.lo
            );
            assert!(
                (d.hi - hi).abs() < 5e-5,
                "{x1}/{n1} vs {x2}/{n2}: {} vs {hi}",
                d.hi
            );
        }
    }

    #[test]
    fn z_test_and_welch_equal_statsmodels_and_scipy() {
        let rel = |a: f64, b: f64| (a - b).abs() / b.abs();
        assert!(rel(two_proportion_p(56.0, 70.0, 48.0, 80.0), 0.008045081368) < 1e-8);
        assert!(rel(two_proportion_p(120.0, 1000.0, 95.0, 1000.0), 0.0711140617) < 1e-8);
        // No information at all: p = 1, not NaN.
        assert_eq!(two_proportion_p(0.0, 10.0, 0.0, 20.0), 1.0);
        let d = newcombe(120.0, 1000.0, 95.0, 1000.0);
        assert!(rel(d.lo, -0.002202123918) < 1e-8 && rel(d.hi, 0.05228247368) < 1e-8);
        let a = [12.5, 0.0, 0.0, 30.2, 8.1, 0.0, 45.0, 0.0, 0.0, 22.4];
        let b = [0.0, 0.0, 10.0, 0.0, 5.5, 0.0, 0.0, 18.3, 0.0, 0.0];
        let w = welch(Moments::of(&a), Moments::of(&b)).unwrap();
        for (got, want) in [
            (w.diff, 8.44),
            (w.se, 5.3897351),
            (w.df, 11.72489752),
            (w.t, 1.565939669),
            (w.p_value, 0.1439393108),
            (w.lo, -3.333855995),
            (w.hi, 20.21385599),
        ] {
            assert!(rel(got, want) < 1e-8, "{got} vs {want}");
        }
        let t = Moments {
            n: 1200.0,
            mean: 52.3,
            var: 80.1 * 80.1,
        };
        let c = Moments {
            n: 300.0,
            mean: 44.9,
            var: 75.5 * 75.5,
        };
        let w = welch(t, c).unwrap();
        assert!(rel(w.p_value, 0.1343475196) < 1e-8 && rel(w.lo, -2.295462151) < 1e-8);
        assert!(welch(Moments::of(&[1.0]), Moments::of(&b)).is_none());
    }

    #[test]
    fn qini_equals_scikit_uplift() {
        // scikit-uplift 0.5.1 (bench/uplift_reference.py).
        let y = [
            true, false, true, false, true, true, false, false, true, false,
        ];
        let t = [
            true, true, false, true, false, true, false, false, true, false,
        ];
        let u = [0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0.05];
        let (x, q) = qini_curve(&y, &u, &t);
        assert_eq!(x, (0..=10).map(f64::from).collect::<Vec<_>>());
        let want = [
            0.0,
            1.0,
            1.0,
            -1.0,
            -2.0,
            -2.0,
            -2.0,
            -0.6666666667,
            0.0,
            0.5,
            1.0,
        ];
        for (a, b) in q.iter().zip(want) {
            assert!((a - b).abs() < 1e-9, "{q:?}");
        }
        let (px, py) = perfect_qini_curve(&y, &t);
        assert_eq!(px, vec![0.0, 3.0, 8.0, 10.0]);
        assert_eq!(py, vec![0.0, 3.0, 3.0, 1.0]);
        let c = qini_coefficient(&y, &u, &t).unwrap();
        assert!((c + 0.5225225225).abs() < 1e-9, "{c}");
        // Ties: one point per group of equal uplift.
        let mut tied = u;
        tied[9] = 0.1;
        let (x, _) = qini_curve(&y, &tied, &t);
        assert_eq!(x, vec![0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 10.0]);
        // sklift's own test vectors.
        let (x, q) = qini_curve(&[false, true, false], &[0.0; 3], &[false, true, true]);
        assert_eq!((x, q), (vec![0.0, 3.0], vec![0.0, 1.0]));
        let c = qini_coefficient(&[false, true], &[0.1, 0.3], &[true, false]).unwrap();
        assert!((c - 1.0).abs() < 1e-12);
        assert!(qini_coefficient(&[true, true], &[0.1, 0.3], &[false, true]).is_none());
    }
}
