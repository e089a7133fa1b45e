//! Special functions the CLV models need.

pub use statrs::function::gamma::{digamma, ln_gamma};

/// The Gaussian hypergeometric function ₂F₁(a, b; c; z) for 0 <= z < 1 by its
/// power series, using Euler's transformation
/// ₂F₁(a, b; c; z) = (1 - z)^(c - a - b) ₂F₁(c - a, c - b; c; z)
/// when z > 1/2 (the transformed series converges where the plain one crawls).
/// Returns None if the series does not converge in a million terms.
pub fn hyp2f1(a: f64, b: f64, c: f64, z: f64) -> Option<f64> {
    if !(0.0..1.0).contains(&z) || !a.is_finite() || !b.is_finite() || !c.is_finite() {
        return None;
    }
    if z > 0.5 {
        let s = series(c - a, c - b, c, z)?;
        return Some((1.0 - z).powf(c - a - b) * s);
    }
    series(a, b, c, z)
}

/// Σ_k (a)_k (b)_k / ((c)_k k!) z^k.
pub fn series(a: f64, b: f64, c: f64, z: f64) -> Option<f64> {
    let mut term = 1.0;
    let mut sum = 1.0;
    for k in 0..1_000_000u32 {
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
    }
}
