//! Pareto/NBD (Schmittlein, Morrison & Colombo 1987): purchases at a
//! Poisson rate λ ~ Gamma(r, α) while alive, a lifetime ~ Exponential(μ)
//! with μ ~ Gamma(s, β). Unlike BG/NBD a customer can leave at any moment,
//! not only after a purchase. The likelihood follows Fader, Hardie & Lee's
//! note on Pareto/NBD (and lifetimes' `ParetoNBDFitter`), with the Gaussian
//! hypergeometric function of `special`; the gradient is by central
//! differences, checked against the analytic BG/NBD-style tests in the
//! suite (recovery and published estimates).

use super::special;
use statrs::function::gamma::ln_gamma;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Params {
    pub r: f64,
    pub alpha: f64,
    pub s: f64,
    pub beta: f64,
}

/// log A₀ of the likelihood (lifetimes' `_log_A_0`); None where the
/// hypergeometric series fails.
fn log_a0(p: &Params, x: f64, tx: f64, t: f64) -> Option<f64> {
    let Params { r, alpha, s, beta } = *p;
    let (min_ab, max_ab, b2) = if alpha < beta {
        (alpha, beta, r + x)
    } else {
        (beta, alpha, s + 1.0)
    };
    let d = max_ab - min_ab;
    let rsf = r + s + x;
    // A₀ = F(z(t_x)) / (max + t_x)^rsf - F(z(T)) / (max + T)^rsf.
    let q1 = max_ab + tx;
    let q2 = max_ab + t;
    // Bounded: near z = 1 (α and β far apart, little time observed) the
    // series converges slowly; the optimiser then steps back.
    const TERMS: u32 = 20_000;
    let p1 = special::hyp2f1_within(rsf, b2, rsf + 1.0, d / q1, TERMS)?;
    let p2 = special::hyp2f1_within(rsf, b2, rsf + 1.0, d / q2, TERMS)?;
    // log(p1 q2^rsf - p2 q1^rsf) - rsf log(q1 q2), stably.
    let a1 = p1.ln() + rsf * q2.ln();
    let a2 = p2.ln() + rsf * q1.ln();
    if a1 <= a2 {
        // Equal at T = t_x (no time since the last purchase): A₀ → 0.
        return Some(f64::NEG_INFINITY);
    }
    Some(a1 + (-(a2 - a1).exp()).ln_1p() - rsf * (q1 * q2).ln())
}

/// One customer's log-likelihood.
pub fn log_likelihood_row(p: &Params, x: f64, tx: f64, t: f64) -> f64 {
    let Params { r, alpha, s, beta } = *p;
    let a1 = ln_gamma(r + x) - ln_gamma(r) + r * alpha.ln() + s * beta.ln();
    let Some(la0) = log_a0(p, x, tx, t) else {
        return f64::NAN;
    };
    let u = -(r + x) * (alpha + t).ln() - s * (beta + t).ln();
    let v = s.ln() + la0 - (r + s + x).ln();
    let m = u.max(v);
    let a2 = if m == f64::NEG_INFINITY {
        m
    } else {
        m + ((u - m).exp() + (v - m).exp()).ln()
    };
    a1 + a2
}

impl Params {
    /// P(alive | x, t_x, T).
    pub fn p_alive(&self, x: f64, tx: f64, t: f64) -> f64 {
        let Params { r, alpha, s, beta } = *self;
        match log_a0(self, x, tx, t) {
            Some(la0) => {
                let e = s.ln() - (r + s + x).ln()
                    + (r + x) * (alpha + t).ln()
                    + s * (beta + t).ln()
                    + la0;
                1.0 / (1.0 + e.exp())
            }
            None => f64::NAN,
        }
    }

    /// E[X(t) | x, t_x, T]: expected purchases in the next `horizon`.
    pub fn expected_transactions(&self, x: f64, tx: f64, t: f64, horizon: f64) -> Option<f64> {
        if horizon <= 0.0 {
            return Some(0.0);
        }
        let Params { r, alpha, s, beta } = *self;
        let ll = log_likelihood_row(self, x, tx, t);
        if !ll.is_finite() {
            return None;
        }
        let first = ln_gamma(r + x) - ln_gamma(r) + r * alpha.ln() + s * beta.ln()
            - (r + x) * (alpha + t).ln()
            - s * (beta + t).ln();
        let second = (r + x).ln() + (beta + t).ln() - (alpha + t).ln();
        let ratio = (beta + t) / (beta + t + horizon);
        // (1 - ratio^(s-1)) / (s-1), which tends to -ln(ratio) at s = 1.
        let third = if (s - 1.0).abs() < 1e-9 {
            (-ratio.ln()).ln()
        } else {
            ((1.0 - ratio.powf(s - 1.0)) / (s - 1.0)).ln()
        };
        let e = (first + second + third - ll).exp();
        e.is_finite().then_some(e)
    }

    /// E[X(t)] of a customer new at time 0.
    pub fn expected_new(&self, t: f64) -> f64 {
        let Params { r, alpha, s, beta } = *self;
        if (s - 1.0).abs() < 1e-9 {
            return r * beta / alpha * (1.0 + t / beta).ln();
        }
        r * beta / (alpha * (s - 1.0)) * (1.0 - (beta / (beta + t)).powf(s - 1.0))
    }
}

impl Params {
    /// From natural parameters in the usual order.
    pub fn from_slice(q: &[f64]) -> Params {
        Params {
            r: q[0],
            alpha: q[1],
            s: q[2],
            beta: q[3],
        }
    }
}

/// The likelihood to maximise, for a million customers: rows are distinct
/// (x, t_x, T) with counts, and everything that depends on fewer of them is
/// computed once per evaluation: the Gamma terms per x, the logarithms per
/// T and t_x, and the hypergeometric terms of A0 per distinct (x, t_x) and
/// (x, T) pair (tens of thousands, where rows are hundreds of thousands).
/// The gradient is by central differences; `log_likelihood_row` is the
/// reference it is tested against.
pub struct Data {
    xs: Vec<f64>,
    txs: Vec<f64>,
    ts: Vec<f64>,
    /// Distinct (x, t_x) and (x, T) pairs, as indices into xs, txs, ts.
    x_tx: Vec<(u32, u32)>,
    x_t: Vec<(u32, u32)>,
    /// (x, t_x, T, index of (x, t_x), index of (x, T), weight)
    rows: Vec<(u32, u32, u32, u32, u32, f64)>,
    total: f64,
    penalizer: f64,
}

pub fn data(customers: impl IntoIterator<Item = (f64, f64, f64)>, penalizer: f64) -> Data {
    use std::collections::HashMap;
    let mut groups: HashMap<(u64, u64, u64), f64> = HashMap::new();
    for (x, tx, t) in customers {
        *groups
            .entry((x.to_bits(), tx.to_bits(), t.to_bits()))
            .or_default() += 1.0;
    }
    let (xs, xi) = super::bgnbd::distinct(groups.keys().map(|k| f64::from_bits(k.0)));
    let (txs, txi) = super::bgnbd::distinct(groups.keys().map(|k| f64::from_bits(k.1)));
    let (ts, ti) = super::bgnbd::distinct(groups.keys().map(|k| f64::from_bits(k.2)));
    let mut pair_tx: HashMap<(u32, u32), u32> = HashMap::new();
    let mut pair_t: HashMap<(u32, u32), u32> = HashMap::new();
    let mut rows: Vec<(u32, u32, u32, u32, u32, f64)> = groups
        .into_iter()
        .map(|((x, tx, t), w)| {
            let (a, b, c) = (xi[&x], txi[&tx], ti[&t]);
            let n1 = pair_tx.len() as u32;
            let p1 = *pair_tx.entry((a, b)).or_insert(n1);
            let n2 = pair_t.len() as u32;
            let p2 = *pair_t.entry((a, c)).or_insert(n2);
            (a, b, c, p1, p2, w)
        })
        .collect();
    rows.sort_unstable_by_key(|r| (r.0, r.1, r.2));
    let mut x_tx = vec![(0, 0); pair_tx.len()];
    for (k, i) in pair_tx {
        x_tx[i as usize] = k;
    }
    let mut x_t = vec![(0, 0); pair_t.len()];
    for (k, i) in pair_t {
        x_t[i as usize] = k;
    }
    let total = rows.iter().map(|r| r.5).sum();
    Data {
        xs,
        txs,
        ts,
        x_tx,
        x_t,
        rows,
        total,
        penalizer,
    }
}

impl Data {
    /// Distinct (x, t_x, T) rows.
    pub fn groups(&self) -> usize {
        self.rows.len()
    }

    /// Distinct (x, t_x) and (x, T) pairs: the hypergeometric terms an
    /// evaluation computes.
    pub fn pairs(&self) -> usize {
        self.x_tx.len() + self.x_t.len()
    }

    /// The summed log-likelihood at natural parameters (NaN where a
    /// hypergeometric series fails).
    pub fn log_likelihood(&self, q: &[f64]) -> f64 {
        use rayon::prelude::*;
        let Params { r, alpha, s, beta } = Params::from_slice(q);
        let (max_ab, d, b2_is_rx) = if alpha < beta {
            (beta, beta - alpha, true)
        } else {
            (alpha, alpha - beta, false)
        };
        const TERMS: u32 = 20_000;
        let lg_r = ln_gamma(r);
        let per_x: Vec<(f64, f64, f64)> = self
            .xs
            .iter()
            .map(|&x| {
                (
                    ln_gamma(r + x) - lg_r + r * alpha.ln() + s * beta.ln(),
                    r + s + x,
                    (r + s + x).ln(),
                )
            })
            .collect();
        let ln_q = |t: f64| (max_ab + t).ln();
        let lq_tx: Vec<f64> = self.txs.iter().map(|&t| ln_q(t)).collect();
        let lq_t: Vec<f64> = self.ts.iter().map(|&t| ln_q(t)).collect();
        let l_t: Vec<(f64, f64)> = self
            .ts
            .iter()
            .map(|&t| ((alpha + t).ln(), (beta + t).ln()))
            .collect();
        // 2F1(a, b; a + 1; z) for every pair. For one x, a and b are the
        // same whatever the time, so the series' coefficients are computed
        // once per x (up to the largest z of its pairs) and each pair is a
        // polynomial (Horner); z > 1/2 uses Euler's transformation, as
        // `special::hyp2f1` does.
        let z_of = |t: f64| d / (max_ab + t);
        let mut zmax = vec![(0.0f64, 0.0f64); self.xs.len()];
        for (&(xi, ti), list) in self
            .x_tx
            .iter()
            .map(|p| (p, &self.txs))
            .chain(self.x_t.iter().map(|p| (p, &self.ts)))
        {
            let z = z_of(list[ti as usize]);
            let m = &mut zmax[xi as usize];
            if z <= 0.5 {
                m.0 = m.0.max(z);
            } else {
                m.1 = m.1.max(z);
            }
        }
        // (plain, Euler-transformed) coefficients per x.
        type Series = (Option<Vec<f64>>, Option<Vec<f64>>);
        let series: Vec<Series> = self
            .xs
            .par_iter()
            .zip(zmax.par_iter())
            .map(|(&x, &(zp, ze))| {
                let a = r + s + x;
                let b = if b2_is_rx { r + x } else { s + 1.0 };
                let plain = special::coefficients(a, b, a + 1.0, zp, TERMS);
                let euler = (ze > 0.0)
                    .then(|| special::coefficients(1.0, a + 1.0 - b, a + 1.0, ze, TERMS))
                    .flatten();
                (plain, euler)
            })
            .collect();
        let hyp = |xi: u32, t: f64| -> f64 {
            let b = if b2_is_rx {
                r + self.xs[xi as usize]
            } else {
                s + 1.0
            };
            let z = z_of(t);
            let (plain, euler) = &series[xi as usize];
            let v = if z <= 0.5 {
                plain.as_deref().map(|c| special::horner(c, z))
            } else {
                euler
                    .as_deref()
                    .map(|c| (1.0 - z).powf(1.0 - b) * special::horner(c, z))
            };
            v.filter(|v| v.is_finite() && *v > 0.0)
                .map(f64::ln)
                .unwrap_or(f64::NAN)
        };
        let f_tx: Vec<f64> = self
            .x_tx
            .par_iter()
            .map(|&(xi, ti)| hyp(xi, self.txs[ti as usize]))
            .collect();
        let f_t: Vec<f64> = self
            .x_t
            .par_iter()
            .map(|&(xi, ti)| hyp(xi, self.ts[ti as usize]))
            .collect();
        let ln_s = s.ln();
        self.rows
            .par_chunks(16_384)
            .map(|chunk| {
                let mut sum = 0.0;
                for &(xi, txi, ti, p1, p2, w) in chunk {
                    let x = self.xs[xi as usize];
                    let (c, rsf, ln_rsf) = per_x[xi as usize];
                    let (lq1, lq2) = (lq_tx[txi as usize], lq_t[ti as usize]);
                    // A0 = F(t_x) / q1^rsf - F(T) / q2^rsf, on the log scale.
                    let a1 = f_tx[p1 as usize] + rsf * lq2;
                    let a2 = f_t[p2 as usize] + rsf * lq1;
                    let la0 = if a1 <= a2 {
                        f64::NEG_INFINITY
                    } else {
                        a1 + (-(a2 - a1).exp()).ln_1p() - rsf * (lq1 + lq2)
                    };
                    let (la, lb) = l_t[ti as usize];
                    let u = -(r + x) * la - s * lb;
                    let v = ln_s + la0 - ln_rsf;
                    let m = u.max(v);
                    let lse = if m == f64::NEG_INFINITY {
                        m
                    } else {
                        m + ((u - m).exp() + (v - m).exp()).ln()
                    };
                    sum += w * (c + lse);
                }
                sum
            })
            .sum()
    }

    fn objective(&self, p: &[f64]) -> f64 {
        super::optim::penalised(self.log_likelihood(p), self.total, self.penalizer, p)
    }
}

impl super::optim::Objective for Data {
    fn value_grad(&self, p: &[f64]) -> (f64, Vec<f64>) {
        super::optim::numeric_value_grad(|q| self.objective(q), p)
    }
    fn weight(&self) -> f64 {
        self.total
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// FHL's CDNOW Pareto/NBD estimates; reference values from lifetimes
    /// 0.11.3's `ParetoNBDFitter` at these parameters.
    const P: Params = Params {
        r: 0.553,
        alpha: 10.578,
        s: 0.606,
        beta: 11.669,
    };

    #[test]
    fn log_likelihood_matches_lifetimes() {
        for (x, tx, t, want) in [
            (0.0, 0.0, 38.86, -0.5210462940808909),
            (2.0, 30.43, 38.86, -9.554283245150405),
            (5.0, 10.0, 35.0, -14.584526903529976),
            (1.0, 37.0, 37.5, -6.16787279711907),
        ] {
            let got = log_likelihood_row(&P, x, tx, t);
            assert!(
                (got - want).abs() < 1e-9,
                "({x}, {tx}, {t}): {got} vs {want}"
            );
        }
    }

    #[test]
    fn the_grouped_likelihood_equals_the_row_formula() {
        let rows = [
            (0.0, 0.0, 38.86),
            (0.0, 0.0, 38.86),
            (2.0, 30.43, 38.86),
            (5.0, 10.0, 35.0),
            (1.0, 37.0, 37.5),
            (2.0, 30.43, 35.0),
        ];
        let want: f64 = rows
            .iter()
            .map(|&(x, tx, t)| log_likelihood_row(&P, x, tx, t))
            .sum();
        for p in [P, Params { alpha: 14.0, ..P }] {
            let want: f64 = if p == P {
                want
            } else {
                rows.iter()
                    .map(|&(x, tx, t)| log_likelihood_row(&p, x, tx, t))
                    .sum()
            };
            let got = data(rows.iter().copied(), 0.0).log_likelihood(&[p.r, p.alpha, p.s, p.beta]);
            assert!((got - want).abs() < 1e-9, "{got} vs {want}");
        }
    }

    #[test]
    fn expectations_and_p_alive_match_lifetimes() {
        let e = P.expected_transactions(2.0, 30.43, 38.86, 39.0).unwrap();
        assert!((e - 1.4551231932576048).abs() < 1e-9, "{e}");
        let a = P.p_alive(2.0, 30.43, 38.86);
        assert!((a - 0.8691675591530114).abs() < 1e-9, "{a}");
    }
}
