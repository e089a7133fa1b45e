//! Pareto/NBD (Schmittlein, Morrison & Colombo 1987): purchases at a
//! Poisson rate λ ~ Gamma(r, α) while alive, a lifetime ~ Exponential(μ)
//! with μ ~ Gamma(s, β). Unlike BG/NBD a customer can leave at any moment,
//! not only after a purchase. The likelihood follows Fader, Hardie & Lee's
//! note on Pareto/NBD (and lifetimes' `ParetoNBDFitter`), with the Gaussian
//! hypergeometric function of `special`; the gradient is by central
//! differences, checked against the analytic BG/NBD-style tests in the
//! suite (recovery and published estimates).

use super::optim::Rows;
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

/// The likelihood to maximise: customers as distinct rows, the gradient by
/// central differences.
pub fn data(
    customers: impl IntoIterator<Item = (f64, f64, f64)>,
    penalizer: f64,
) -> Rows<impl Fn(&[f64], f64, f64, f64) -> f64 + Sync> {
    Rows::new(customers, penalizer, |q: &[f64], x, tx, t| {
        log_likelihood_row(&Params::from_slice(q), x, tx, t)
    })
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
    fn expectations_and_p_alive_match_lifetimes() {
        let e = P.expected_transactions(2.0, 30.43, 38.86, 39.0).unwrap();
        assert!((e - 1.4551231932576048).abs() < 1e-9, "{e}");
        let a = P.p_alive(2.0, 30.43, 38.86);
        assert!((a - 0.8691675591530114).abs() < 1e-9, "{a}");
    }
}
