//! Special functions the CLV models need.

pub use statrs::function::gamma::{digamma, ln_gamma};

/// The Gaussian hypergeometric function ₂F₁(a, b; c; z) for z < 1 by its
/// power series, using Pfaff's transformation for z < 0 and Euler's
/// ₂F₁(a, b; c; z) = (1 - z)^(c - a - b) ₂F₁(c - a, c - b; c; z)
/// when z > 1/2 (the transformed series converges where the plain one crawls).
/// Returns None if the series does not converge in a million terms.
pub fn hyp2f1(a: f64, b: f64, c: f64, z: f64) -> Option<f64> {
    hyp2f1_within(a, b, c, z, 1_000_000)
}

/// As `hyp2f1`, giving up (None) after `terms` terms: a likelihood whose
/// optimiser wanders to parameters where z is next to 1 must fail fast
/// there, not spend minutes on one evaluation.
pub fn hyp2f1_within(a: f64, b: f64, c: f64, z: f64, terms: u32) -> Option<f64> {
    if z.is_nan() || z >= 1.0 || !a.is_finite() || !b.is_finite() || !c.is_finite() {
        return None;
    }
    if z < 0.0 {
        // Pfaff: ₂F₁(a, b; c; z) = (1 - z)^-a ₂F₁(a, c - b; c; z / (z - 1)),
        // whose argument is in (0, 1).
        let w = z / (z - 1.0);
        let s = hyp2f1_within(a, c - b, c, w, terms)?;
        return Some((1.0 - z).powf(-a) * s);
    }
    if z > 0.5 {
        let s = series_within(c - a, c - b, c, z, terms)?;
        return Some((1.0 - z).powf(c - a - b) * s);
    }
    series_within(a, b, c, z, terms)
}

/// The coefficients (a)_k (b)_k / ((c)_k k!) of ₂F₁'s series, as many as
/// it takes to converge at `zmax` (then at every 0 <= z <= zmax), at most
/// `terms`; None when that is not enough.
pub fn coefficients(a: f64, b: f64, c: f64, zmax: f64, terms: u32) -> Option<Vec<f64>> {
    let mut out = vec![1.0];
    let (mut t, mut zk, mut sum) = (1.0f64, 1.0f64, 1.0f64);
    for k in 0..terms {
        let k = f64::from(k);
        t *= (a + k) * (b + k) / ((c + k) * (k + 1.0));
        zk *= zmax;
        out.push(t);
        sum += t * zk;
        if (t * zk).abs() <= 1e-16 * sum.abs() || zmax == 0.0 {
            return t.is_finite().then_some(out);
        }
        if !sum.is_finite() {
            return None;
        }
    }
    None
}

/// Σ_k c_k z^k by Horner's rule.
pub fn horner(c: &[f64], z: f64) -> f64 {
    c.iter().rev().fold(0.0, |acc, &ck| acc * z + ck)
}

/// Σ_k (a)_k (b)_k / ((c)_k k!) z^k.
pub fn series(a: f64, b: f64, c: f64, z: f64) -> Option<f64> {
    series_within(a, b, c, z, 1_000_000)
}

fn series_within(a: f64, b: f64, c: f64, z: f64, terms: u32) -> Option<f64> {
    let mut term = 1.0;
    let mut sum = 1.0;
    for k in 0..terms {
        let k = f64::from(k);
        term *= (a + k) * (b + k) / ((c + k) * (k + 1.0)) * z;
        sum += term;
        if term.abs() <= 1e-15 * sum.abs() {
            return sum.is_finite().then_some(sum);
        }
        if !sum.is_finite() {
            return None;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bounded_series_gives_up_instead_of_running_on() {
        let z = 0.9999;
        assert!(hyp2f1_within(1.0, 2.0, 2.5, z, 100).is_none());
        let want = -(1.0f64 - z).ln() / z;
        let got = hyp2f1_within(1.0, 1.0, 2.0, z, 1_000_000).unwrap();
        assert!((got - want).abs() < 1e-8 * want, "{got} vs {want}");
    }

    #[test]
    fn known_values() {
        // ₂F₁(1, 1; 2; z) = -ln(1 - z) / z
        for z in [0.1, 0.5, 0.7, 0.9, 0.99] {
            let want = -(1.0f64 - z).ln() / z;
            let got = hyp2f1(1.0, 1.0, 2.0, z).unwrap();
            assert!((got - want).abs() < 1e-10 * want, "z {z}: {got} vs {want}");
        }
        // ₂F₁(a, b; b; z) = (1 - z)^-a
        for z in [0.2, 0.8] {
            let want = (1.0f64 - z).powf(-0.7);
            assert!((hyp2f1(0.7, 2.5, 2.5, z).unwrap() - want).abs() < 1e-10 * want);
        }
        assert!(hyp2f1(1.0, 1.0, 2.0, 1.0).is_none());
        // mpmath at 40 digits (bench/bgbb_sbg_reference.py): near z = 1,
        // at negative z, and with large parameters.
        for (a, b, c, z, want) in [
            (1.0, 4.806, 5.474, 1.0 / 1.1, 6.36523015250275),
            (1.0, 10.806, 11.474, 1.0 / 1.1, 7.84540866446452),
            (2.5, 3.5, 7.2, 0.999, 14.6141523480491),
            (1.5, 0.5, 2.5, -0.9999, 0.799273786409665),
            (10.0, 12.0, 25.0, 0.95, 5169.38215882356),
        ] {
            let got = hyp2f1(a, b, c, z).unwrap();
            assert!(
                (got - want).abs() < 1e-9 * want,
                "2F1({a}, {b}; {c}; {z}) = {got}, not {want}"
            );
        }
    }
}
