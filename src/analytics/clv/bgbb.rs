//! BG/BB (Fader, Hardie & Shang 2010): repeat buying at discrete
//! opportunities (a yearly donation drive, a monthly renewal window). At
//! each opportunity an alive customer buys with probability p ~ Beta(alpha,
//! beta); before each opportunity she dies with probability theta ~
//! Beta(gamma, delta). A customer is summarised by x (opportunities with a
//! purchase after the first), t_x (the opportunity of the last purchase) and
//! n (opportunities since the first). As lifetimes'
//! `BetaGeoBetaBinomFitter`; the gradient by central differences.

use super::optim::Rows;
use statrs::function::gamma::ln_gamma;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Params {
    pub alpha: f64,
    pub beta: f64,
    pub gamma: f64,
    pub delta: f64,
}

fn ln_beta(p: f64, q: f64) -> f64 {
    ln_gamma(p) + ln_gamma(q) - ln_gamma(p + q)
}

/// log(e^a + e^b), stably.
fn log_add(a: f64, b: f64) -> f64 {
    if a == f64::NEG_INFINITY {
        return b;
    }
    let (hi, lo) = if a > b { (a, b) } else { (b, a) };
    hi + (lo - hi).exp().ln_1p()
}

/// One customer's log-likelihood (eq. 5 of the paper).
pub fn log_likelihood_row(p: &Params, x: f64, tx: f64, n: f64) -> f64 {
    let Params {
        alpha,
        beta,
        gamma,
        delta,
    } = *p;
    let b_ab = ln_beta(alpha, beta);
    let b_gd = ln_beta(gamma, delta);
    // Alive through all n opportunities.
    let mut l = ln_beta(alpha + x, beta + n - x) - b_ab + ln_beta(gamma, delta + n) - b_gd;
    // Or died right after opportunity t_x + i (i = 0 .. n - t_x - 1).
    let gaps = (n - tx).round().max(0.0) as i64;
    for i in 0..gaps {
        let i = i as f64;
        let term = ln_beta(alpha + x, beta + tx - x + i) - b_ab
            + ln_beta(gamma + 1.0, delta + tx + i)
            - b_gd;
        l = log_add(l, term);
    }
    l
}

impl Params {
    /// From natural parameters in the usual order (alpha, beta, gamma, delta).
    pub fn from_slice(q: &[f64]) -> Params {
        Params {
            alpha: q[0],
            beta: q[1],
            gamma: q[2],
            delta: q[3],
        }
    }

    /// P(alive at opportunity n + m | x, t_x, n), as lifetimes'
    /// `conditional_probability_alive(m, ...)` (m = 0: alive at the last
    /// opportunity observed).
    pub fn p_alive(&self, x: f64, tx: f64, n: f64, m: f64) -> f64 {
        let Params {
            alpha,
            beta,
            gamma,
            delta,
        } = *self;
        let num = ln_beta(alpha + x, beta + n - x) - ln_beta(alpha, beta)
            + ln_beta(gamma, delta + n + m)
            - ln_beta(gamma, delta);
        (num - log_likelihood_row(self, x, tx, n)).exp().min(1.0)
    }

    /// E[purchases in the next `m` opportunities | x, t_x, n] (eq. 13).
    pub fn expected_transactions(&self, x: f64, tx: f64, n: f64, m: f64) -> Option<f64> {
        if m <= 0.0 {
            return Some(0.0);
        }
        let Params {
            alpha,
            beta,
            gamma,
            delta,
        } = *self;
        let l = log_likelihood_row(self, x, tx, n);
        let p2 = ln_beta(alpha + x + 1.0, beta + n - x) - ln_beta(alpha, beta);
        let p3 = delta / (gamma - 1.0) * (ln_gamma(gamma + delta) - ln_gamma(1.0 + delta)).exp();
        let p4 = (ln_gamma(1.0 + delta + n) - ln_gamma(gamma + delta + n)).exp();
        let p5 = (ln_gamma(1.0 + delta + n + m) - ln_gamma(gamma + delta + n + m)).exp();
        let e = (p2 - l).exp() * p3 * (p4 - p5);
        e.is_finite().then_some(e)
    }

    /// E[purchases in the first n opportunities] of a new customer (eq. 8).
    pub fn expected_new(&self, n: f64) -> f64 {
        let Params {
            alpha,
            beta,
            gamma,
            delta,
        } = *self;
        alpha / (alpha + beta) * delta / (gamma - 1.0)
            * (1.0
                - (ln_gamma(gamma + delta) - ln_gamma(1.0 + delta) + ln_gamma(1.0 + delta + n)
                    - ln_gamma(gamma + delta + n))
                .exp())
    }

    /// P(X(n) = x) for a new customer over n opportunities (eq. 7): the
    /// period-transactions plot of BG/BB.
    pub fn prob_x(&self, x: u32, n: u32) -> f64 {
        let Params {
            alpha,
            beta,
            gamma,
            delta,
        } = *self;
        let (xf, nf) = (f64::from(x), f64::from(n));
        let ln_choose =
            |n: f64, k: f64| ln_gamma(n + 1.0) - ln_gamma(k + 1.0) - ln_gamma(n - k + 1.0);
        let b_ab = ln_beta(alpha, beta);
        let b_gd = ln_beta(gamma, delta);
        let mut p = (ln_choose(nf, xf) + ln_beta(alpha + xf, beta + nf - xf) - b_ab
            + ln_beta(gamma, delta + nf)
            - b_gd)
            .exp();
        for i in x..n {
            let i = f64::from(i);
            p += (ln_choose(i, xf) + ln_beta(alpha + xf, beta + i - xf) - b_ab
                + ln_beta(gamma + 1.0, delta + i)
                - b_gd)
                .exp();
        }
        p
    }
}

/// The likelihood to maximise over customers given as (x, t_x, n) rows.
pub fn data(
    customers: impl IntoIterator<Item = (f64, f64, f64)>,
    penalizer: f64,
) -> Rows<impl Fn(&[f64], f64, f64, f64) -> f64 + Sync> {
    Rows::new(customers, penalizer, |q: &[f64], x, tx, n| {
        log_likelihood_row(&Params::from_slice(q), x, tx, n)
    })
}

/// A customer's (x, t_x, n) from the periods of her purchases (sorted,
/// distinct; the first is the first purchase) and the period of the as-of
/// date. None when the first purchase is after the as-of period.
pub fn summary(periods: &[i64], as_of_period: i64) -> Option<(f64, f64, f64)> {
    let first = *periods.first()?;
    if first > as_of_period {
        return None;
    }
    let repeats: Vec<i64> = periods
        .iter()
        .copied()
        .filter(|&p| p > first && p <= as_of_period)
        .collect();
    let x = repeats.len() as f64;
    let tx = repeats.last().map(|&l| (l - first) as f64).unwrap_or(0.0);
    Some((x, tx, (as_of_period - first) as f64))
}

#[cfg(test)]
mod tests {
    use super::*;

    const PUBLISHED: Params = Params {
        alpha: 1.204,
        beta: 0.750,
        gamma: 0.657,
        delta: 2.783,
    };

    #[test]
    fn probabilities_of_x_sum_to_one() {
        let s: f64 = (0..=6).map(|x| PUBLISHED.prob_x(x, 6)).sum();
        assert!((s - 1.0).abs() < 1e-12, "{s}");
        // And agree with the expected count of a new customer.
        let mean: f64 = (0..=6).map(|x| f64::from(x) * PUBLISHED.prob_x(x, 6)).sum();
        assert!((mean - PUBLISHED.expected_new(6.0)).abs() < 1e-9);
    }

    #[test]
    fn likelihoods_of_all_histories_sum_to_one() {
        // Over every (x, t_x) that n = 4 opportunities allow, weighted by
        // the number of purchase patterns that give each.
        let n = 4u32;
        let mut total = 0.0;
        for mask in 0u32..(1 << n) {
            let x = mask.count_ones();
            let tx = if mask == 0 {
                0
            } else {
                32 - mask.leading_zeros()
            };
            total +=
                log_likelihood_row(&PUBLISHED, f64::from(x), f64::from(tx), f64::from(n)).exp();
        }
        assert!((total - 1.0).abs() < 1e-12, "{total}");
    }

    /// The donations summary (Fader, Hardie & Shang 2010): (x, t_x, n, count).
    fn donations() -> Vec<(f64, f64, f64, f64)> {
        include_str!("../../../tests/fixtures/donations.csv")
            .lines()
            .skip(1)
            .map(|l| {
                let v: Vec<f64> = l.split(',').map(|x| x.trim().parse().unwrap()).collect();
                (v[0], v[1], v[2], v[3])
            })
            .collect()
    }

    #[test]
    fn donations_give_the_published_parameters_and_likelihood() {
        let rows = donations();
        let data = Rows::weighted(rows, 0.0, |q: &[f64], x, tx, n| {
            log_likelihood_row(&Params::from_slice(q), x, tx, n)
        });
        let opt =
            crate::analytics::clv::optim::minimise(&data, &[1.0, 1.0, 1.0, 1.0], 500).unwrap();
        let p = Params::from_slice(&opt.params);
        for (got, want) in [
            (p.alpha, 1.204),
            (p.beta, 0.750),
            (p.gamma, 0.657),
            (p.delta, 2.783),
        ] {
            assert!((got - want).abs() / want < 1e-3, "{p:?}");
        }
        // lifetimes: -33225.58127 at its optimum; -33225.58175 at the
        // published (rounded) parameters.
        assert!((data.log_likelihood(&opt.params) + 33225.58127).abs() < 1e-3);
        let pubd = [1.204, 0.750, 0.657, 2.783];
        assert!((data.log_likelihood(&pubd) + 33225.58175).abs() < 1e-3);
        let se = crate::analytics::clv::optim::std_errors(&data, &opt.params).unwrap();
        assert!(se.iter().all(|s| s.is_finite() && *s > 0.0), "{se:?}");
    }

    #[test]
    fn conditional_values_equal_lifetimes_at_the_published_parameters() {
        // lifetimes 0.11.3 (bench/bgbb_sbg_reference.py): (x, t_x, n),
        // P(alive at n + 1), E[X in the next 5], E[X in the next 10].
        let cases = [
            ((0.0, 0.0, 6.0), 0.1080165842, 0.07280287748, 0.1301037914),
            ((1.0, 1.0, 6.0), 0.06940809321, 0.08563539834, 0.1530363962),
            ((3.0, 4.0, 6.0), 0.4394628571, 1.034228498, 1.848238057),
            ((6.0, 6.0, 6.0), 0.9304025424, 3.752115608, 6.705290825),
            ((2.0, 5.0, 6.0), 0.8044715946, 1.44289537, 2.578554101),
        ];
        let rel = |a: f64, b: f64| (a - b).abs() / b;
        for ((x, tx, n), alive, e5, e10) in cases {
            assert!(rel(PUBLISHED.p_alive(x, tx, n, 1.0), alive) < 1e-8);
            assert!(rel(PUBLISHED.expected_transactions(x, tx, n, 5.0).unwrap(), e5) < 1e-8);
            assert!(
                rel(
                    PUBLISHED.expected_transactions(x, tx, n, 10.0).unwrap(),
                    e10
                ) < 1e-8
            );
        }
        // Expected customers by repeat purchases in six opportunities.
        let expected = [
            3455.761821,
            1888.9012,
            1348.919625,
            1113.321629,
            1017.791012,
            1026.910666,
            1252.394046,
        ];
        for (x, want) in expected.iter().enumerate() {
            assert!(rel(11104.0 * PUBLISHED.prob_x(x as u32, 6), *want) < 1e-8);
        }
    }

    #[test]
    fn summaries_count_periods_not_orders() {
        assert_eq!(summary(&[1995, 1997, 1999], 2001), Some((2.0, 4.0, 6.0)));
        assert_eq!(summary(&[1995], 2001), Some((0.0, 0.0, 6.0)));
        assert_eq!(summary(&[2002], 2001), None);
    }
}
