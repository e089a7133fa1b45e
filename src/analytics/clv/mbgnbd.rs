//! MBG/NBD (Batislam, Denizel & Filiztekin 2007): BG/NBD where a customer
//! can also leave right after the first purchase, so customers without a
//! repeat purchase can be dead. As lifetimes' `ModifiedBetaGeoFitter`; the
//! gradient by central differences.

use super::optim::Objective;
use super::special;
use rayon::prelude::*;
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

/// Customers as distinct (x, t_x, T) rows with counts.
pub struct Data {
    rows: Vec<(f64, f64, f64, f64)>,
    total: f64,
    penalizer: f64,
}

impl Data {
    pub fn new(customers: impl IntoIterator<Item = (f64, f64, f64)>, penalizer: f64) -> Data {
        let mut map: std::collections::HashMap<(u64, u64, u64), f64> = Default::default();
        for (x, tx, t) in customers {
            *map.entry((x.to_bits(), tx.to_bits(), t.to_bits()))
                .or_default() += 1.0;
        }
        let rows: Vec<(f64, f64, f64, f64)> = map
            .into_iter()
            .map(|((x, tx, t), w)| (f64::from_bits(x), f64::from_bits(tx), f64::from_bits(t), w))
            .collect();
        let total = rows.iter().map(|r| r.3).sum();
        Data {
            rows,
            total,
            penalizer,
        }
    }

    pub fn log_likelihood(&self, p: &Params) -> f64 {
        self.rows
            .par_iter()
            .map(|&(x, tx, t, w)| w * log_likelihood_row(p, x, tx, t))
            .sum()
    }

    fn objective(&self, q: &[f64]) -> f64 {
        let p = Params {
            r: q[0],
            alpha: q[1],
            a: q[2],
            b: q[3],
        };
        let ll = self.log_likelihood(&p);
        let pen = self.penalizer * q.iter().map(|v| v * v).sum::<f64>();
        if ll.is_finite() {
            -ll / self.total + pen
        } else {
            f64::INFINITY
        }
    }
}

impl Objective for Data {
    fn value_grad(&self, p: &[f64]) -> (f64, Vec<f64>) {
        let v = self.objective(p);
        let g = (0..p.len())
            .map(|i| {
                let h = 1e-6 * p[i].abs().max(1e-8);
                let mut up = p.to_vec();
                let mut dn = p.to_vec();
                up[i] += h;
                dn[i] -= h;
                (self.objective(&up) - self.objective(&dn)) / (2.0 * h)
            })
            .collect();
        (v, g)
    }
    fn weight(&self) -> f64 {
        self.total
    }
}
