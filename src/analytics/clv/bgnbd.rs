//! BG/NBD (Fader, Hardie & Lee 2005, "Counting your customers the easy way").
//!
//! Per customer, with x repeat transactions, the last at t_x, observed for T:
//!   LL = A1 + A2 + log(e^A3 + δ(x>0) e^A4)
//!   A1 = lnΓ(r+x) - lnΓ(r) + r ln α
//!   A2 = lnΓ(a+b) + lnΓ(b+x) - lnΓ(b) - lnΓ(a+b+x)
//!   A3 = -(r+x) ln(α+T)
//!   A4 = ln a - ln(b+x-1) - (r+x) ln(α+t_x)
//! evaluated in log space (log-sum-exp). Customers with the same (x, t_x, T)
//! are one row with a weight; A1 and A2 depend on x alone and are computed
//! once per distinct x. The objective is lifetimes' own: the mean negative
//! log-likelihood plus `penalizer · Σ params²`.

use super::optim::Objective;
use super::special::{digamma, ln_gamma, series};
use rayon::prelude::*;
use rustc_hash::FxHashMap as HashMap;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Params {
    pub r: f64,
    pub alpha: f64,
    pub a: f64,
    pub b: f64,
}

/// Identical (x, t_x, T) rows, with how many customers share them. Each of
/// x, t_x and T takes few distinct values (days over a few years), so rows
/// hold indices and the logarithms are taken once per distinct value.
#[derive(Debug, Clone)]
pub struct Data {
    xs: Vec<f64>,
    txs: Vec<f64>,
    ts: Vec<f64>,
    /// (index into xs, into txs, into ts, weight)
    rows: Vec<(u32, u32, u32, f64)>,
    total: f64,
    pub penalizer: f64,
    /// MBG/NBD (Batislam et al. 2007): a customer can also leave right
    /// after the first purchase. Its likelihood is BG/NBD's with b + x + 1
    /// for b + x in the Beta terms and the dropout term for x = 0 too.
    modified: bool,
}

/// Distinct values, sorted, and each one's position by its bits.
pub(super) fn distinct(values: impl Iterator<Item = f64>) -> (Vec<f64>, HashMap<u64, u32>) {
    let mut v: Vec<f64> = values.collect();
    v.sort_by(f64::total_cmp);
    v.dedup();
    let idx = v
        .iter()
        .enumerate()
        .map(|(i, x)| (x.to_bits(), i as u32))
        .collect();
    (v, idx)
}

impl Data {
    /// Group customers' (x, t_x, T).
    pub fn new(customers: impl IntoIterator<Item = (f64, f64, f64)>, penalizer: f64) -> Data {
        let mut groups: HashMap<(u64, u64, u64), f64> = HashMap::default();
        for (x, tx, t) in customers {
            *groups
                .entry((x.to_bits(), tx.to_bits(), t.to_bits()))
                .or_default() += 1.0;
        }
        let (xs, xi) = distinct(groups.keys().map(|k| f64::from_bits(k.0)));
        let (txs, txi) = distinct(groups.keys().map(|k| f64::from_bits(k.1)));
        let (ts, ti) = distinct(groups.keys().map(|k| f64::from_bits(k.2)));
        let mut rows: Vec<(u32, u32, u32, f64)> = groups
            .into_iter()
            .map(|((x, tx, t), w)| (xi[&x], txi[&tx], ti[&t], w))
            .collect();
        rows.sort_unstable_by_key(|r| (r.0, r.1, r.2));
        let total = rows.iter().map(|r| r.3).sum();
        Data {
            xs,
            txs,
            ts,
            rows,
            total,
            penalizer,
            modified: false,
        }
    }

    /// MBG/NBD's likelihood on the same rows (see `modified`).
    pub fn modified(customers: impl IntoIterator<Item = (f64, f64, f64)>, penalizer: f64) -> Data {
        Data {
            modified: true,
            ..Data::new(customers, penalizer)
        }
    }

    pub fn groups(&self) -> usize {
        self.rows.len()
    }

    /// Summed log-likelihood at natural parameters in the usual order.
    pub fn log_likelihood_of(&self, q: &[f64]) -> f64 {
        let (v, _) = self.value_grad(q);
        let pen = self.penalizer * q.iter().map(|x| x * x).sum::<f64>();
        -(v - pen) * self.total
    }

    /// Summed log-likelihood at `p` (no penalty).
    pub fn log_likelihood(&self, p: &Params) -> f64 {
        let (v, _) = self.value_grad(&[p.r, p.alpha, p.a, p.b]);
        let pen = self.penalizer * (p.r * p.r + p.alpha * p.alpha + p.a * p.a + p.b * p.b);
        -(v - pen) * self.total
    }
}

/// Terms that depend on x alone: A1 + A2 and their derivatives, and the
/// parts of A4 that do not involve t_x.
struct XTerms {
    ab: f64,
    d_r: f64,
    d_a: f64,
    d_b: f64,
    /// ln a - ln(b + x - 1)
    a4: f64,
    /// 1 / (b + x - 1)
    inv_bx: f64,
}

impl Objective for Data {
    fn weight(&self) -> f64 {
        self.total
    }

    fn value_grad(&self, p: &[f64]) -> (f64, Vec<f64>) {
        let (r, alpha, a, b) = (p[0], p[1], p[2], p[3]);
        let (lg_r, lg_ab, lg_b) = (ln_gamma(r), ln_gamma(a + b), ln_gamma(b));
        let (dg_r, dg_ab, dg_b) = (digamma(r), digamma(a + b), digamma(b));
        let (ln_alpha, ln_a) = (alpha.ln(), a.ln());
        // MBG/NBD shifts the Beta terms by one purchase.
        let m = if self.modified { 1.0 } else { 0.0 };
        let xt: Vec<XTerms> = self
            .xs
            .iter()
            .map(|&x| {
                let bx = (b + x - 1.0 + m).max(1e-300);
                XTerms {
                    ab: ln_gamma(r + x) - lg_r + r * ln_alpha + lg_ab + ln_gamma(b + x + m)
                        - lg_b
                        - ln_gamma(a + b + x + m),
                    d_r: digamma(r + x) - dg_r + ln_alpha,
                    d_a: dg_ab - digamma(a + b + x + m),
                    d_b: dg_ab + digamma(b + x + m) - dg_b - digamma(a + b + x + m),
                    a4: ln_a - bx.ln(),
                    inv_bx: 1.0 / bx,
                }
            })
            .collect();
        // ln(α + T), 1/(α + T) and the same for t_x, once per distinct value.
        let lt: Vec<(f64, f64)> = self
            .ts
            .iter()
            .map(|&t| ((alpha + t).ln(), 1.0 / (alpha + t)))
            .collect();
        let ltx: Vec<(f64, f64)> = self
            .txs
            .iter()
            .map(|&t| ((alpha + t).ln(), 1.0 / (alpha + t)))
            .collect();
        let sums = self
            .rows
            .par_chunks(16_384)
            .map(|chunk| {
                let mut s = [0.0f64; 5];
                for &(xi, txi, ti, w) in chunk {
                    let x = self.xs[xi as usize];
                    let k = &xt[xi as usize];
                    let rx = r + x;
                    let (l3, i3) = lt[ti as usize];
                    let a3 = -rx * l3;
                    if x > 0.0 || self.modified {
                        let (l4, i4) = ltx[txi as usize];
                        let a4 = k.a4 - rx * l4;
                        // log(e^A3 + e^A4) = A3 + softplus(A4 - A3); weights are its softmax.
                        let d = a4 - a3;
                        let e = (-d.abs()).exp();
                        let lse = a3 + d.max(0.0) + e.ln_1p();
                        let w4 = if d >= 0.0 {
                            1.0 / (1.0 + e)
                        } else {
                            e / (1.0 + e)
                        };
                        let w3 = 1.0 - w4;
                        s[0] += w * (k.ab + lse);
                        s[1] += w * (k.d_r - w3 * l3 - w4 * l4);
                        s[2] += w * (r / alpha - rx * (w3 * i3 + w4 * i4));
                        s[3] += w * (k.d_a + w4 / a);
                        s[4] += w * (k.d_b - w4 * k.inv_bx);
                    } else {
                        s[0] += w * (k.ab + a3);
                        s[1] += w * (k.d_r - l3);
                        s[2] += w * (r / alpha - rx * i3);
                        s[3] += w * k.d_a;
                        s[4] += w * k.d_b;
                    }
                }
                s
            })
            // Added in chunk order, not in the order threads finish: the
            // same bits on every run (a parallel reduce regroups the sums).
            .collect::<Vec<[f64; 5]>>()
            .into_iter()
            .fold([0.0; 5], |mut a, b| {
                for i in 0..5 {
                    a[i] += b[i];
                }
                a
            });
        let n = self.total.max(1.0);
        let pen = self.penalizer;
        let value = -sums[0] / n + pen * (r * r + alpha * alpha + a * a + b * b);
        let grad = vec![
            -sums[1] / n + 2.0 * pen * r,
            -sums[2] / n + 2.0 * pen * alpha,
            -sums[3] / n + 2.0 * pen * a,
            -sums[4] / n + 2.0 * pen * b,
        ];
        (value, grad)
    }
}

impl Params {
    /// From natural parameters in the usual order (r, alpha, a, b).
    pub fn from_slice(q: &[f64]) -> Params {
        Params {
            r: q[0],
            alpha: q[1],
            a: q[2],
            b: q[3],
        }
    }

    /// Probability the customer is still alive.
    pub fn p_alive(&self, x: f64, tx: f64, t: f64) -> f64 {
        if x <= 0.0 {
            return 1.0;
        }
        let ln_ratio = (self.r + x) * ((self.alpha + t).ln() - (self.alpha + tx).ln());
        let term = (self.a / (self.b + x - 1.0)).ln() + ln_ratio;
        1.0 / (1.0 + term.exp())
    }

    /// E[X(t) | x, t_x, T]: expected transactions in the next `horizon`
    /// time units. None if the hypergeometric series does not converge.
    pub fn expected_transactions(&self, x: f64, tx: f64, t: f64, horizon: f64) -> Option<f64> {
        Some(self.expected_numerator(x, t, horizon)? / self.expected_denominator(x, tx, t))
    }

    /// The part of E[X(t)] that does not depend on t_x (so it can be shared
    /// by every customer with the same x and T).
    pub fn expected_numerator(&self, x: f64, t: f64, horizon: f64) -> Option<f64> {
        if horizon <= 0.0 {
            return Some(0.0);
        }
        let Params { r, alpha, a, b } = *self;
        let c = a + b + x - 1.0;
        let z = horizon / (alpha + t + horizon);
        // ((α+T)/(α+T+t))^(r+x) · ₂F₁(r+x, b+x; c; z), with (α+T)/(α+T+t) = 1 - z;
        // past z = 1/2 through Euler's transformation, which simplifies to
        // (1 - z)^(a-1) · ₂F₁(a+b-1-r, a-1; c; z).
        // A fit at the edge of its space (a and b in the millions: dropout
        // all but fixed) makes the transformed series' terms grow for a
        // million steps before they shrink; the plain one then converges
        // fast (its ratio is about z b / c), so each is the other's fallback.
        let plain = || series(r + x, b + x, c, z).map(|s| (1.0 - z).powf(r + x) * s);
        let euler = || series(a + b - 1.0 - r, a - 1.0, c, z).map(|s| (1.0 - z).powf(a - 1.0) * s);
        let tail = if z <= 0.5 {
            plain().or_else(euler)?
        } else {
            euler().or_else(plain)?
        };
        let num = (c / (a - 1.0)) * (1.0 - tail);
        num.is_finite().then_some(num.max(0.0))
    }

    /// P(X(t) = n): the probability that a customer new at time 0 makes
    /// exactly `n` repeat purchases by `t` (Fader, Hardie & Lee 2005, eq. 8;
    /// lifetimes' `probability_of_n_purchases_up_to_time`).
    pub fn prob_n_purchases(&self, t: f64, n: u32) -> f64 {
        use statrs::function::gamma::ln_gamma;
        if t <= 0.0 {
            return if n == 0 { 1.0 } else { 0.0 };
        }
        let Params { r, alpha, a, b } = *self;
        let ln_beta = |p: f64, q: f64| ln_gamma(p) + ln_gamma(q) - ln_gamma(p + q);
        // ln Γ(r+j) / (Γ(r) j!)
        let ln_nb = |j: f64| ln_gamma(r + j) - ln_gamma(r) - ln_gamma(j + 1.0);
        let la = (alpha / (alpha + t)).ln();
        let lt = (t / (alpha + t)).ln();
        let nf = f64::from(n);
        let first = (ln_beta(a, b + nf) - ln_beta(a, b) + ln_nb(nf) + r * la + nf * lt).exp();
        if n == 0 {
            return first;
        }
        let sum: f64 = (0..n)
            .map(|j| {
                let jf = f64::from(j);
                (ln_nb(jf) + r * la + jf * lt).exp()
            })
            .sum();
        first + (ln_beta(a + 1.0, b + nf - 1.0) - ln_beta(a, b)).exp() * (1.0 - sum)
    }

    /// 1 + δ(x>0) a/(b+x-1) ((α+T)/(α+t_x))^(r+x), i.e. 1 / P(alive).
    pub fn expected_denominator(&self, x: f64, tx: f64, t: f64) -> f64 {
        if x > 0.0 {
            1.0 + (self.a / (self.b + x - 1.0))
                * ((self.alpha + t) / (self.alpha + tx)).powf(self.r + x)
        } else {
            1.0
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::special::hyp2f1;
    use super::*;

    /// FHL 2005's CDNOW estimates.
    const FHL: Params = Params {
        r: 0.2426,
        alpha: 4.4136,
        a: 0.7929,
        b: 2.4259,
    };

    #[test]
    fn conditional_expectation_matches_the_paper() {
        // FHL 2005: E[X(39) | x=2, t_x=30.43, T=38.86] = 1.226
        let e = FHL.expected_transactions(2.0, 30.43, 38.86, 39.0).unwrap();
        assert!((e - 1.226).abs() < 0.0015, "{e}");
        // Both branches of the series agree where they meet.
        let near = FHL.expected_transactions(2.0, 30.43, 38.86, 43.0).unwrap();
        let far = FHL.expected_transactions(2.0, 30.43, 38.86, 45.0).unwrap();
        assert!(near < far);
        // And with the series by brute force for a horizon that needs the transform.
        let t = 500.0;
        let z = t / (FHL.alpha + 38.86 + t);
        let direct = (1.0 - z).powf(FHL.r + 2.0)
            * hyp2f1(FHL.r + 2.0, FHL.b + 2.0, FHL.a + FHL.b + 1.0, z).unwrap();
        let c = FHL.a + FHL.b + 1.0;
        let num = (c / (FHL.a - 1.0)) * (1.0 - direct);
        let den = 1.0
            + (FHL.a / (FHL.b + 1.0))
                * ((FHL.alpha + 38.86) / (FHL.alpha + 30.43)).powf(FHL.r + 2.0);
        let e = FHL.expected_transactions(2.0, 30.43, 38.86, t).unwrap();
        assert!((e - num / den).abs() < 1e-8, "{e} vs {}", num / den);
    }

    #[test]
    fn p_alive_behaves() {
        assert_eq!(FHL.p_alive(0.0, 0.0, 30.0), 1.0);
        // Recent buyers are more alive than lapsed ones with the same x.
        assert!(FHL.p_alive(3.0, 35.0, 38.0) > FHL.p_alive(3.0, 5.0, 38.0));
    }

    #[test]
    fn gradient_matches_finite_differences() {
        let d = Data::new(
            vec![
                (0.0, 0.0, 30.0),
                (2.0, 20.0, 30.0),
                (5.0, 25.0, 38.0),
                (1.0, 3.0, 10.0),
            ],
            0.01,
        );
        let p = [0.5, 3.0, 0.8, 2.0];
        let (_, g) = d.value_grad(&p);
        for j in 0..4 {
            let mut up = p;
            let mut dn = p;
            up[j] += 1e-6;
            dn[j] -= 1e-6;
            let num = (d.value_grad(&up).0 - d.value_grad(&dn).0) / 2e-6;
            assert!((num - g[j]).abs() < 1e-6, "param {j}: {num} vs {}", g[j]);
        }
    }
}
