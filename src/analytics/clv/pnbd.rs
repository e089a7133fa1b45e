//! Pareto/NBD (Schmittlein, Morrison & Colombo 1987): purchases at a
//! Poisson rate λ ~ Gamma(r, α) while alive, a lifetime ~ Exponential(μ)
//! with μ ~ Gamma(s, β). Unlike BG/NBD a customer can leave at any moment,
//! not only after a purchase. The likelihood follows Fader, Hardie & Lee's
//! note on Pareto/NBD (and lifetimes' `ParetoNBDFitter`), with the Gaussian
//! hypergeometric function of `special`, and an analytic gradient (the
//! series' derivatives in its parameters and argument), tested against
//! central differences.

use super::special;
use statrs::function::gamma::{digamma, ln_gamma};

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
        self.expected_curve(x, tx, t, &[horizon])?.pop()
    }

    /// E[X(h) | x, t_x, T] for each horizon h: the likelihood (two
    /// hypergeometric series) once, not once per horizon.
    pub fn expected_curve(&self, x: f64, tx: f64, t: f64, horizons: &[f64]) -> Option<Vec<f64>> {
        let ll = log_likelihood_row(self, x, tx, t);
        if !ll.is_finite() {
            return None;
        }
        horizons
            .iter()
            .map(|&h| self.expected_given(x, t, ll, h))
            .collect()
    }

    fn expected_given(&self, x: f64, t: f64, ll: f64, horizon: f64) -> Option<f64> {
        if horizon <= 0.0 {
            return Some(0.0);
        }
        let Params { r, alpha, s, beta } = *self;
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
/// `log_likelihood_row` is the reference it is tested against.
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
    use rustc_hash::FxHashMap as HashMap;
    let mut groups: HashMap<(u64, u64, u64), f64> = HashMap::default();
    for (x, tx, t) in customers {
        *groups
            .entry((x.to_bits(), tx.to_bits(), t.to_bits()))
            .or_default() += 1.0;
    }
    let (xs, xi) = super::bgnbd::distinct(groups.keys().map(|k| f64::from_bits(k.0)));
    let (txs, txi) = super::bgnbd::distinct(groups.keys().map(|k| f64::from_bits(k.1)));
    let (ts, ti) = super::bgnbd::distinct(groups.keys().map(|k| f64::from_bits(k.2)));
    let mut pair_tx: HashMap<(u32, u32), u32> = HashMap::default();
    let mut pair_t: HashMap<(u32, u32), u32> = HashMap::default();
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
        self.log_likelihood_grad(q).0
    }

    /// The summed log-likelihood and its analytic gradient in (r, α, s, β).
    ///
    /// Per customer LL = c + log(e^u + e^v) with v = log s + log A₀ - log ρ,
    /// ρ = r + s + x, and A₀ = F₁/q₁^ρ - F₂/q₂^ρ, where F = ₂F₁(ρ, b; ρ+1; z)
    /// at z = |α-β| / (max(α, β) + t) for t = t_x and T, and b = r + x when
    /// α < β, s + 1 otherwise. The series give ∂log F/∂ρ, ∂/∂b and ∂/∂z
    /// (see `Series`); the rest is the chain rule.
    pub fn log_likelihood_grad(&self, q: &[f64]) -> (f64, [f64; 4]) {
        use rayon::prelude::*;
        let Params { r, alpha, s, beta } = Params::from_slice(q);
        let a_lt_b = alpha < beta;
        let (max_ab, d) = if a_lt_b {
            (beta, beta - alpha)
        } else {
            (alpha, alpha - beta)
        };
        const TERMS: u32 = 20_000;
        let (lg_r, dg_r) = (ln_gamma(r), digamma(r));
        let (ln_a, ln_b, ln_s) = (alpha.ln(), beta.ln(), s.ln());
        // Per x: (c, ∂c/∂r, ρ, log ρ).
        let per_x: Vec<(f64, f64, f64, f64)> = self
            .xs
            .iter()
            .map(|&x| {
                (
                    ln_gamma(r + x) - lg_r + r * ln_a + s * ln_b,
                    digamma(r + x) - dg_r + ln_a,
                    r + s + x,
                    (r + s + x).ln(),
                )
            })
            .collect();
        // Per time t (t_x or T): q = max + t, log q, z, and ∂z/∂α, ∂z/∂β.
        let per_t = |t: f64| {
            let q = max_ab + t;
            let (dz_da, dz_db) = if a_lt_b {
                (-1.0 / q, (alpha + t) / (q * q))
            } else {
                ((beta + t) / (q * q), -1.0 / q)
            };
            Time {
                q,
                ln_q: q.ln(),
                z: d / q,
                dz_da,
                dz_db,
            }
        };
        let t_tx: Vec<Time> = self.txs.iter().map(|&t| per_t(t)).collect();
        let t_t: Vec<Time> = self.ts.iter().map(|&t| per_t(t)).collect();
        let l_t: Vec<(f64, f64)> = self
            .ts
            .iter()
            .map(|&t| ((alpha + t).ln(), (beta + t).ln()))
            .collect();
        // The series' coefficients once per x, up to the largest z of its
        // pairs; z > 1/2 uses Euler's transformation.
        let mut zmax = vec![(0.0f64, 0.0f64); self.xs.len()];
        for (xi, z) in self
            .x_tx
            .iter()
            .map(|&(xi, ti)| (xi, t_tx[ti as usize].z))
            .chain(self.x_t.iter().map(|&(xi, ti)| (xi, t_t[ti as usize].z)))
        {
            let m = &mut zmax[xi as usize];
            if z <= 0.5 {
                m.0 = m.0.max(z);
            } else {
                m.1 = m.1.max(z);
            }
        }
        let b_of = |x: f64| if a_lt_b { r + x } else { s + 1.0 };
        let series: Vec<(Option<Series>, Option<Series>)> = self
            .xs
            .par_iter()
            .zip(zmax.par_iter())
            .map(|(&x, &(zp, ze))| {
                let rho = r + s + x;
                let b = b_of(x);
                let plain = Series::new(rho, b, rho + 1.0, zp, TERMS, |a, b, c| (a - c, b));
                let euler = (ze > 0.0)
                    .then(|| {
                        Series::new(1.0, rho + 1.0 - b, rho + 1.0, ze, TERMS, |_, b, c| {
                            (b - c, -b)
                        })
                    })
                    .flatten();
                (plain, euler)
            })
            .collect();
        // (log F, ∂log F/∂ρ, ∂log F/∂b, ∂log F/∂z) per pair.
        let hyp = |xi: u32, t: &Time| -> [f64; 4] {
            let b = b_of(self.xs[xi as usize]);
            let (plain, euler) = &series[xi as usize];
            let v = if t.z <= 0.5 {
                plain.as_ref().map(|c| c.eval(t.z))
            } else {
                euler.as_ref().map(|c| {
                    // F = (1 - z)^(1 - b) G
                    let [lg, dr, db, dz] = c.eval(t.z);
                    let l1z = (-t.z).ln_1p();
                    [
                        lg + (1.0 - b) * l1z,
                        dr,
                        db - l1z,
                        dz - (1.0 - b) / (1.0 - t.z),
                    ]
                })
            };
            v.filter(|v| v.iter().all(|x| x.is_finite()))
                .unwrap_or([f64::NAN; 4])
        };
        let f_tx: Vec<[f64; 4]> = self
            .x_tx
            .par_iter()
            .map(|&(xi, ti)| hyp(xi, &t_tx[ti as usize]))
            .collect();
        let f_t: Vec<[f64; 4]> = self
            .x_t
            .par_iter()
            .map(|&(xi, ti)| hyp(xi, &t_t[ti as usize]))
            .collect();
        // ∂b/∂(r, s); ∂q/∂α, ∂q/∂β.
        let (db_r, db_s) = if a_lt_b { (1.0, 0.0) } else { (0.0, 1.0) };
        let (dq_a, dq_b) = if a_lt_b { (0.0, 1.0) } else { (1.0, 0.0) };
        // ∂log(F/q^ρ) in (r, α, s, β) for one pair and time.
        let dlog_g = |f: &[f64; 4], t: &Time, rho: f64| -> [f64; 4] {
            let [_, fr, fb, fz] = *f;
            let drho = fr - t.ln_q;
            [
                drho + fb * db_r,
                fz * t.dz_da - rho * dq_a / t.q,
                drho + fb * db_s,
                fz * t.dz_db - rho * dq_b / t.q,
            ]
        };
        let add = |a: (f64, [f64; 4]), b: (f64, [f64; 4])| {
            (
                a.0 + b.0,
                [
                    a.1[0] + b.1[0],
                    a.1[1] + b.1[1],
                    a.1[2] + b.1[2],
                    a.1[3] + b.1[3],
                ],
            )
        };
        self.rows
            .par_chunks(16_384)
            .map(|chunk| {
                let mut sum = 0.0;
                let mut g = [0.0; 4];
                for &(xi, txi, ti, p1, p2, w) in chunk {
                    let x = self.xs[xi as usize];
                    let (c, dc_r, rho, ln_rho) = per_x[xi as usize];
                    let (t1, t2) = (&t_tx[txi as usize], &t_t[ti as usize]);
                    let (f1, f2) = (&f_tx[p1 as usize], &f_t[p2 as usize]);
                    // log G = log F - ρ log q; A₀ = G₁ - G₂.
                    let g1 = f1[0] - rho * t1.ln_q;
                    let g2 = f2[0] - rho * t2.ln_q;
                    let (la0, e) = if g1 <= g2 {
                        (f64::NEG_INFINITY, 1.0)
                    } else {
                        let e = (g2 - g1).exp();
                        (g1 + (-e).ln_1p(), e)
                    };
                    let (la, lb) = l_t[ti as usize];
                    let u = -(r + x) * la - s * lb;
                    let v = ln_s + la0 - ln_rho;
                    let m = u.max(v);
                    if m == f64::NEG_INFINITY {
                        sum += f64::NEG_INFINITY;
                        continue;
                    }
                    let (eu, ev) = ((u - m).exp(), (v - m).exp());
                    sum += w * (c + m + (eu + ev).ln());
                    let (wu, wv) = (w * eu / (eu + ev), w * ev / (eu + ev));
                    let (a_t, b_t) = (self.ts[ti as usize] + alpha, self.ts[ti as usize] + beta);
                    // ∂c + wu ∂u
                    g[0] += w * dc_r - wu * la;
                    g[1] += w * r / alpha - wu * (r + x) / a_t;
                    g[2] += w * ln_b - wu * lb;
                    g[3] += w * s / beta - wu * s / b_t;
                    if wv > 0.0 {
                        // ∂v = ∂log A₀ + [s]/s - ∂ρ/ρ
                        let d1 = dlog_g(f1, t1, rho);
                        let d2 = dlog_g(f2, t2, rho);
                        let k = 1.0 / (1.0 - e);
                        for j in 0..4 {
                            g[j] += wv * (d1[j] - e * d2[j]) * k;
                        }
                        g[0] -= wv / rho;
                        g[2] += wv * (1.0 / s - 1.0 / rho);
                    }
                }
                (sum, g)
            })
            // Added in chunk order: the same bits on every run.
            .collect::<Vec<_>>()
            .into_iter()
            .fold((0.0, [0.0; 4]), add)
    }
}

/// Times on the shared scale: q = max(α, β) + t, log q, z = |α-β| / q and
/// z's derivatives in α and β.
struct Time {
    q: f64,
    ln_q: f64,
    z: f64,
    dz_da: f64,
    dz_db: f64,
}

/// ₂F₁(a, b; c; z)'s series coefficients t_k = (a)_k (b)_k / ((c)_k k!) for
/// 0 <= z <= zmax, with the coefficients of its derivatives in the two
/// quantities the likelihood varies (ρ and b): `chain(A_k, B_k, C_k)` maps
/// ∂log t_k/∂a = A_k = Σ_{j<k} 1/(a+j), B_k (the same in b) and C_k (in c)
/// to (∂log t_k/∂ρ, ∂log t_k/∂b).
struct Series {
    c: Vec<f64>,
    c_rho: Vec<f64>,
    c_b: Vec<f64>,
}

impl Series {
    fn new(
        a: f64,
        b: f64,
        c: f64,
        zmax: f64,
        terms: u32,
        chain: impl Fn(f64, f64, f64) -> (f64, f64),
    ) -> Option<Series> {
        let coef = special::coefficients(a, b, c, zmax, terms)?;
        let (mut sa, mut sb, mut sc) = (0.0, 0.0, 0.0);
        let mut c_rho = Vec::with_capacity(coef.len());
        let mut c_b = Vec::with_capacity(coef.len());
        for (k, &t) in coef.iter().enumerate() {
            let (dr, db) = chain(sa, sb, sc);
            c_rho.push(t * dr);
            c_b.push(t * db);
            let k = k as f64;
            sa += 1.0 / (a + k);
            sb += 1.0 / (b + k);
            sc += 1.0 / (c + k);
        }
        Some(Series {
            c: coef,
            c_rho,
            c_b,
        })
    }

    /// (log S, ∂log S/∂ρ, ∂log S/∂b, ∂log S/∂z) at z, by Horner's rule.
    fn eval(&self, z: f64) -> [f64; 4] {
        let (mut p, mut dp, mut pr, mut pb) = (0.0, 0.0, 0.0, 0.0);
        for k in (0..self.c.len()).rev() {
            dp = dp * z + p;
            p = p * z + self.c[k];
            pr = pr * z + self.c_rho[k];
            pb = pb * z + self.c_b[k];
        }
        if p.is_nan() || p <= 0.0 {
            return [f64::NAN; 4];
        }
        [p.ln(), pr / p, pb / p, dp / p]
    }
}

impl Data {
    fn objective(&self, p: &[f64]) -> (f64, Vec<f64>) {
        let (ll, g) = self.log_likelihood_grad(p);
        let v = super::optim::penalised(ll, self.total, self.penalizer, p);
        let grad = g
            .iter()
            .zip(p)
            .map(|(g, p)| -g / self.total + 2.0 * self.penalizer * p)
            .collect();
        (v, grad)
    }
}

impl super::optim::Objective for Data {
    fn value_grad(&self, p: &[f64]) -> (f64, Vec<f64>) {
        self.objective(p)
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
    fn the_analytic_gradient_equals_central_differences() {
        // Both orders of α and β, and times that put z on both sides of
        // 1/2 (the plain and the Euler-transformed series).
        let rows = [
            (0.0, 0.0, 38.86),
            (2.0, 30.43, 38.86),
            (5.0, 10.0, 35.0),
            (1.0, 37.0, 37.5),
            (7.0, 1.5, 3.0),
            (0.0, 0.0, 0.5),
            (3.0, 2.0, 2.0),
        ];
        let d = data(rows.iter().copied(), 0.0);
        for q in [
            [0.553, 10.578, 0.606, 11.669],
            [0.553, 14.0, 0.606, 11.669],
            [1.3, 0.4, 2.1, 25.0],
            [0.8, 30.0, 1.7, 0.3],
        ] {
            let (_, got) = d.log_likelihood_grad(&q);
            let want = crate::analytics::clv::optim::central_gradient(|p| d.log_likelihood(p), &q);
            for j in 0..4 {
                assert!(
                    (got[j] - want[j]).abs() < 1e-5 * want[j].abs().max(1.0),
                    "{q:?} parameter {j}: {} vs {}",
                    got[j],
                    want[j]
                );
            }
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
