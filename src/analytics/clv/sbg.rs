//! sBG, the shifted-beta-geometric model of contract survival (Fader &
//! Hardie 2007, "How to project customer retention"): at each renewal a
//! customer cancels with probability theta ~ Beta(alpha, beta), so the
//! cohort's retention rate rises over time as the likely cancellers leave.
//! Customers are (periods observed, cancelled or not): one who cancelled in
//! period t contributes P(T = t), one still active after n periods S(n).
//! The value of an active customer is her discounted expected residual
//! lifetime (DERL, Fader & Hardie 2010) times the revenue per period.

use super::special;
use statrs::function::gamma::ln_gamma;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Params {
    pub alpha: f64,
    pub beta: f64,
}

fn ln_beta(p: f64, q: f64) -> f64 {
    ln_gamma(p) + ln_gamma(q) - ln_gamma(p + q)
}

/// One customer: the period she cancelled in (1 = during the first), or
/// the periods she has completed while still active.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Obs {
    Cancelled(u32),
    Active(u32),
}

impl Params {
    pub fn from_slice(q: &[f64]) -> Params {
        Params {
            alpha: q[0],
            beta: q[1],
        }
    }

    /// P(T = t): cancelling in period t (t >= 1).
    pub fn ln_p_cancel(&self, t: f64) -> f64 {
        ln_beta(self.alpha + 1.0, self.beta + t - 1.0) - ln_beta(self.alpha, self.beta)
    }

    /// S(t) = P(T > t), for real t >= 0 (between whole periods, the
    /// natural interpolation of the Beta functions).
    pub fn survival(&self, t: f64) -> f64 {
        (ln_beta(self.alpha, self.beta + t) - ln_beta(self.alpha, self.beta)).exp()
    }

    /// Retention rate of period t: S(t) / S(t - 1) = (beta + t - 1) / (alpha + beta + t - 1).
    pub fn retention(&self, t: f64) -> f64 {
        (self.beta + t - 1.0) / (self.alpha + self.beta + t - 1.0)
    }

    /// One customer's log-likelihood.
    pub fn log_likelihood_row(&self, o: Obs) -> f64 {
        match o {
            Obs::Cancelled(t) => self.ln_p_cancel(f64::from(t.max(1))),
            Obs::Active(n) => self.survival(f64::from(n)).ln(),
        }
    }

    /// Discounted expected residual lifetime, in periods, of a customer
    /// active for `n` periods (n - 1 renewals made), standing before her
    /// next renewal decision (Fader & Hardie 2010, eq. 6):
    /// sum over t >= n of S(t) / S(n - 1) / (1 + d)^(t - n)
    /// = (beta + n - 1) / (alpha + beta + n - 1) x 2F1(1, beta + n; alpha + beta + n; 1 / (1 + d)).
    pub fn derl(&self, n: f64, d: f64) -> Option<f64> {
        let Params { alpha, beta } = *self;
        let z = 1.0 / (1.0 + d);
        let r = (beta + n - 1.0) / (alpha + beta + n - 1.0);
        let h = special::hyp2f1(1.0, beta + n, alpha + beta + n, z)?;
        let v = r * h;
        v.is_finite().then_some(v)
    }
}

/// The likelihood over customers, as distinct observations with counts.
pub struct Data {
    rows: Vec<(Obs, f64)>,
    total: f64,
    penalizer: f64,
}

impl Data {
    pub fn new(obs: impl IntoIterator<Item = Obs>, penalizer: f64) -> Data {
        let mut map: std::collections::BTreeMap<(bool, u32), f64> = Default::default();
        for o in obs {
            let k = match o {
                Obs::Cancelled(t) => (true, t),
                Obs::Active(n) => (false, n),
            };
            *map.entry(k).or_default() += 1.0;
        }
        let rows: Vec<(Obs, f64)> = map
            .into_iter()
            .map(|((c, t), w)| (if c { Obs::Cancelled(t) } else { Obs::Active(t) }, w))
            .collect();
        let total = rows.iter().map(|r| r.1).sum();
        Data {
            rows,
            total,
            penalizer,
        }
    }

    pub fn len(&self) -> usize {
        self.total as usize
    }

    pub fn is_empty(&self) -> bool {
        self.total == 0.0
    }

    /// Customers who cancelled.
    pub fn cancelled(&self) -> usize {
        self.rows
            .iter()
            .filter(|(o, _)| matches!(o, Obs::Cancelled(_)))
            .map(|(_, w)| *w as usize)
            .sum()
    }

    pub fn log_likelihood(&self, p: &Params) -> f64 {
        self.rows
            .iter()
            .map(|(o, w)| w * p.log_likelihood_row(*o))
            .sum()
    }

    fn objective(&self, q: &[f64]) -> f64 {
        super::optim::penalised(
            self.log_likelihood(&Params::from_slice(q)),
            self.total,
            self.penalizer,
            q,
        )
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

/// The High End segment of Fader & Hardie (2007): 1,000 customers, alive
/// at the end of years 1..7.
#[cfg(test)]
pub(crate) fn high_end() -> Vec<Obs> {
    let alive = [1000u32, 869, 743, 653, 593, 551, 517, 491];
    let mut out = Vec::new();
    for t in 1..alive.len() {
        for _ in 0..(alive[t - 1] - alive[t]) {
            out.push(Obs::Cancelled(t as u32));
        }
    }
    out.extend(std::iter::repeat_n(Obs::Active(7), 491));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analytics::clv::optim;

    #[test]
    fn high_end_segment_gives_the_published_parameters() {
        let data = Data::new(high_end(), 0.0);
        let opt = optim::minimise(&data, &[1.0, 1.0], 500).unwrap();
        let p = Params::from_slice(&opt.params);
        assert!((p.alpha - 0.668).abs() / 0.668 < 1e-3, "{p:?}");
        assert!((p.beta - 3.806).abs() / 3.806 < 1e-3, "{p:?}");
    }

    #[test]
    fn derl_equals_the_paper_and_the_discounted_sum_of_survival() {
        let p = Params {
            alpha: 0.668,
            beta: 3.806,
        };
        // Fader & Hardie (2010) eq. 6 with mpmath (bench/bgbb_sbg_reference.py).
        for (n, want) in [
            (1.0, 5.414856048),
            (2.0, 5.901753168),
            (5.0, 6.897057398),
            (7.0, 7.345052259),
        ] {
            let d = 0.1;
            let closed = p.derl(n, d).unwrap();
            assert!(
                (closed - want).abs() / want < 1e-9,
                "n {n}: {closed} vs {want}"
            );
            let sum: f64 = (0..20_000)
                .map(|k| {
                    let t = n + k as f64;
                    p.survival(t) / p.survival(n - 1.0) / (1.0 + d).powf(k as f64)
                })
                .sum();
            assert!(
                (closed - sum).abs() / sum < 1e-9,
                "n {n}: {closed} vs {sum}"
            );
        }
    }

    #[test]
    fn retention_rates_rise_and_survival_matches_them() {
        let p = Params {
            alpha: 0.668,
            beta: 3.806,
        };
        let mut s = 1.0;
        for t in 1..=10 {
            let r = p.retention(f64::from(t));
            s *= r;
            assert!((s - p.survival(f64::from(t))).abs() < 1e-12);
            if t > 1 {
                assert!(r > p.retention(f64::from(t - 1)));
            }
        }
    }
}
