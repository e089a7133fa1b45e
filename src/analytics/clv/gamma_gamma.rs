//! Gamma-Gamma spend model (Fader, Hardie & Lee 2005; Fader & Hardie's note
//! "The Gamma-Gamma model of monetary value"), on customers with at least one
//! repeat transaction and a positive mean spend. Per customer with x repeat
//! transactions of mean m:
//!   LL = lnΓ(px+q) - lnΓ(px) - lnΓ(q) + q ln γ + (px-1) ln m + px ln x - (px+q) ln(γ + m x)
//! Objective: the mean negative log-likelihood plus `penalizer · Σ params²`.

use super::optim::Objective;
use super::special::{digamma, ln_gamma};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Params {
    pub p: f64,
    pub q: f64,
    pub gamma: f64,
}

#[derive(Debug, Clone)]
pub struct Data {
    xs: Vec<f64>,
    /// (index into xs, ln m, m, weight)
    rows: Vec<(u32, f64, f64, f64)>,
    total: f64,
    pub penalizer: f64,
}

impl Data {
    /// (x, m) of customers with x >= 1 and m > 0.
    pub fn new(customers: impl IntoIterator<Item = (f64, f64)>, penalizer: f64) -> Data {
        let mut xs: Vec<f64> = Vec::new();
        let mut rows = Vec::new();
        let mut index: std::collections::HashMap<u64, u32> = Default::default();
        for (x, m) in customers {
            let xi = *index.entry(x.to_bits()).or_insert_with(|| {
                xs.push(x);
                (xs.len() - 1) as u32
            });
            rows.push((xi, m.ln(), m, 1.0));
        }
        let total = rows.len() as f64;
        Data {
            xs,
            rows,
            total,
            penalizer,
        }
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    pub fn log_likelihood(&self, p: &Params) -> f64 {
        let (v, _) = self.value_grad(&[p.p, p.q, p.gamma]);
        let pen = self.penalizer * (p.p * p.p + p.q * p.q + p.gamma * p.gamma);
        -(v - pen) * self.total
    }
}

impl Objective for Data {
    fn weight(&self) -> f64 {
        self.total
    }

    fn value_grad(&self, par: &[f64]) -> (f64, Vec<f64>) {
        let (p, q, g) = (par[0], par[1], par[2]);
        let (lg_q, dg_q, ln_g) = (ln_gamma(q), digamma(q), g.ln());
        // (lnΓ(px+q) - lnΓ(px), ψ(px+q), ψ(px), ln x) per distinct x
        let xt: Vec<(f64, f64, f64, f64)> = self
            .xs
            .iter()
            .map(|&x| {
                (
                    ln_gamma(p * x + q) - ln_gamma(p * x),
                    digamma(p * x + q),
                    digamma(p * x),
                    x.ln(),
                )
            })
            .collect();
        let s = self
            .rows
            .par_chunks(8192)
            .map(|chunk| {
                let mut s = [0.0f64; 4];
                for &(xi, ln_m, m, w) in chunk {
                    let x = self.xs[xi as usize];
                    let (lgd, dg_pxq, dg_px, ln_x) = xt[xi as usize];
                    let px = p * x;
                    let l = (g + m * x).ln();
                    s[0] +=
                        w * (lgd - lg_q + q * ln_g + (px - 1.0) * ln_m + px * ln_x - (px + q) * l);
                    s[1] += w * x * (dg_pxq - dg_px + ln_m + ln_x - l);
                    s[2] += w * (dg_pxq - dg_q + ln_g - l);
                    s[3] += w * (q / g - (px + q) / (g + m * x));
                }
                s
            })
            // Added in chunk order: the same bits on every run.
            .collect::<Vec<[f64; 4]>>()
            .into_iter()
            .fold([0.0; 4], |mut a, b| {
                for i in 0..4 {
                    a[i] += b[i];
                }
                a
            });
        let n = self.total.max(1.0);
        let pen = self.penalizer;
        (
            -s[0] / n + pen * (p * p + q * q + g * g),
            vec![
                -s[1] / n + 2.0 * pen * p,
                -s[2] / n + 2.0 * pen * q,
                -s[3] / n + 2.0 * pen * g,
            ],
        )
    }
}

impl Params {
    /// The population's mean spend per transaction; None when q <= 1 (infinite).
    pub fn population_mean(&self) -> Option<f64> {
        (self.q > 1.0).then(|| self.p * self.gamma / (self.q - 1.0))
    }

    /// E[M | x, m]: a customer's expected spend per transaction.
    pub fn conditional_spend(&self, x: f64, m: f64) -> Option<f64> {
        if self.q <= 1.0 {
            return None;
        }
        if x <= 0.0 || m <= 0.0 {
            return self.population_mean();
        }
        Some(self.p * (self.gamma + m * x) / (self.p * x + self.q - 1.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gradient_matches_finite_differences() {
        let d = Data::new(
            vec![(1.0, 20.0), (3.0, 35.5), (2.0, 12.0), (7.0, 80.0)],
            0.0,
        );
        let p = [4.0, 3.0, 15.0];
        let (_, g) = d.value_grad(&p);
        for j in 0..3 {
            let mut up = p;
            let mut dn = p;
            up[j] += 1e-6;
            dn[j] -= 1e-6;
            let num = (d.value_grad(&up).0 - d.value_grad(&dn).0) / 2e-6;
            assert!((num - g[j]).abs() < 1e-6, "param {j}: {num} vs {}", g[j]);
        }
    }

    #[test]
    fn infinite_mean_when_q_is_at_most_one() {
        let p = Params {
            p: 2.0,
            q: 0.9,
            gamma: 10.0,
        };
        assert_eq!(p.population_mean(), None);
        assert_eq!(p.conditional_spend(3.0, 20.0), None);
        let p = Params {
            p: 6.25,
            q: 3.74,
            gamma: 15.44,
        };
        // Shrinks a customer's mean towards the population's.
        let pop = p.population_mean().unwrap();
        let own = 200.0;
        let e = p.conditional_spend(2.0, own).unwrap();
        assert!(e < own && e > pop);
    }
}
