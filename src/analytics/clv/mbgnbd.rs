//! MBG/NBD (Batislam, Denizel & Filiztekin 2007): BG/NBD where a customer
//! can also leave right after the first purchase, so customers without a
//! repeat purchase can be dead. As lifetimes' `ModifiedBetaGeoFitter`;
//! fitted with BG/NBD's objective in its modified form (analytic gradient),
//! tested against `log_likelihood_row`.

use super::special;
use statrs::function::gamma::ln_gamma;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Params {
    pub r: f64,
    pub alpha: f64,
    pub a: f64,
    pub b: f64,
}

/// One customer's log-likelihood.
pub fn log_likelihood_row(p: &Params, x: f64, tx: f64, t: f64) -> f64 {
    let Params { r, alpha, a, b } = *p;
    let a1 = ln_gamma(r + x) - ln_gamma(r) + r * alpha.ln();
    let a2 = ln_gamma(a + b) + ln_gamma(b + x + 1.0) - ln_gamma(b) - ln_gamma(a + b + x + 1.0);
    let a3 = -(r + x) * (alpha + t).ln();
    let a4 = a.ln() - (b + x).ln() + (r + x) * ((alpha + t).ln() - (alpha + tx).ln());
    // log(1 + e^a4), stably.
    let l = if a4 > 0.0 {
        a4 + (-a4).exp().ln_1p()
    } else {
        a4.exp().ln_1p()
    };
    a1 + a2 + a3 + l
}

impl Params {
    pub fn p_alive(&self, x: f64, tx: f64, t: f64) -> f64 {
        let Params { r, alpha, a, b } = *self;
        1.0 / (1.0 + (a / (b + x)) * ((alpha + t) / (alpha + tx)).powf(r + x))
    }

    /// E[X(t) | x, t_x, T].
    pub fn expected_transactions(&self, x: f64, tx: f64, t: f64, horizon: f64) -> Option<f64> {
        if horizon <= 0.0 {
            return Some(0.0);
        }
        let Params { r, alpha, a, b } = *self;
        let z = horizon / (alpha + t + horizon);
        let hyp = special::hyp2f1(r + x, b + x + 1.0, a + b + x, z)?;
        let num = (a + b + x) / (a - 1.0)
            * (1.0 - hyp * ((alpha + t) / (alpha + t + horizon)).powf(r + x));
        let den = 1.0 + (a / (b + x)) * ((alpha + t) / (alpha + tx)).powf(r + x);
        let e = num / den;
        e.is_finite().then_some(e)
    }

    /// E[X(t)] of a customer new at time 0.
    pub fn expected_new(&self, t: f64) -> Option<f64> {
        let Params { r, alpha, a, b } = *self;
        let hyp = special::hyp2f1(r, b + 1.0, a + b, t / (alpha + t))?;
        let e = b / (a - 1.0) * (1.0 - hyp * (alpha / (alpha + t)).powf(r));
        e.is_finite().then_some(e)
    }
}

impl Params {
    /// From natural parameters in the usual order.
    pub fn from_slice(q: &[f64]) -> Params {
        Params {
            r: q[0],
            alpha: q[1],
            a: q[2],
            b: q[3],
        }
    }
}

/// The likelihood to maximise: BG/NBD's objective (distinct values, the
/// analytic gradient) in its modified form.
pub fn data(
    customers: impl IntoIterator<Item = (f64, f64, f64)>,
    penalizer: f64,
) -> super::bgnbd::Data {
    super::bgnbd::Data::modified(customers, penalizer)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analytics::clv::optim::Objective;

    #[test]
    fn the_fast_objective_equals_the_row_formula_and_its_gradient() {
        let rows = [
            (0.0, 0.0, 30.0),
            (0.0, 0.0, 12.5),
            (2.0, 10.0, 30.0),
            (5.0, 28.0, 38.0),
            (1.0, 1.0, 2.0),
        ];
        let p = Params {
            r: 0.525,
            alpha: 6.183,
            a: 0.891,
            b: 1.614,
        };
        let data = data(rows.iter().copied(), 0.0);
        let want: f64 = rows
            .iter()
            .map(|&(x, tx, t)| log_likelihood_row(&p, x, tx, t))
            .sum();
        assert!((data.log_likelihood_of(&[p.r, p.alpha, p.a, p.b]) - want).abs() < 1e-9);
        let q = [p.r, p.alpha, p.a, p.b];
        let (_, g) = data.value_grad(&q);
        for i in 0..4 {
            let h = 1e-6 * q[i];
            let (mut up, mut dn) = (q, q);
            up[i] += h;
            dn[i] -= h;
            let num = (data.value_grad(&up).0 - data.value_grad(&dn).0) / (2.0 * h);
            assert!((g[i] - num).abs() < 1e-6, "d{i}: {} vs {num}", g[i]);
        }
    }
}
