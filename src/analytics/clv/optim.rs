//! Maximum likelihood on the log scale with argmin's L-BFGS (More-Thuente
//! line search) and an analytic gradient; standard errors from the Hessian.

use argmin::core::{CostFunction, Executor, Gradient, State, TerminationReason, TerminationStatus};
use argmin::solver::linesearch::MoreThuenteLineSearch;
use argmin::solver::quasinewton::LBFGS;
use nalgebra::DMatrix;
use std::sync::Mutex;

/// A negative log-likelihood (mean over customers, plus a penalty) in the
/// natural parameters, with its gradient.
pub trait Objective: Sync {
    /// Value and gradient at natural parameters `p` (all > 0).
    fn value_grad(&self, p: &[f64]) -> (f64, Vec<f64>);
    /// Total weight (customers), to turn the mean into a sum.
    fn weight(&self) -> f64;
}

/// The last evaluation: (θ, value, gradient). argmin asks for the cost and
/// the gradient at the same point separately; one evaluation gives both.
type Evaluation = (Vec<f64>, f64, Vec<f64>);

/// argmin sees log-parameters θ; p = exp(θ) keeps every parameter positive.
struct OnLogScale<'a, O: Objective> {
    obj: &'a O,
    cache: Mutex<Option<Evaluation>>,
}

impl<O: Objective> OnLogScale<'_, O> {
    fn eval(&self, theta: &[f64]) -> (f64, Vec<f64>) {
        if let Ok(c) = self.cache.lock() {
            if let Some((t, v, g)) = c.as_ref() {
                if t.as_slice() == theta {
                    return (*v, g.clone());
                }
            }
        }
        let p: Vec<f64> = theta.iter().map(|t| t.exp()).collect();
        let (v, g) = self.obj.value_grad(&p);
        // d/dθ = d/dp · p
        let gt: Vec<f64> = g.iter().zip(&p).map(|(g, p)| g * p).collect();
        if let Ok(mut c) = self.cache.lock() {
            *c = Some((theta.to_vec(), v, gt.clone()));
        }
        (v, gt)
    }
}

impl<O: Objective> CostFunction for OnLogScale<'_, O> {
    type Param = Vec<f64>;
    type Output = f64;
    fn cost(&self, theta: &Self::Param) -> Result<f64, argmin::core::Error> {
        let (v, _) = self.eval(theta);
        Ok(if v.is_finite() { v } else { f64::INFINITY })
    }
}

impl<O: Objective> Gradient for OnLogScale<'_, O> {
    type Param = Vec<f64>;
    type Gradient = Vec<f64>;
    fn gradient(&self, theta: &Self::Param) -> Result<Vec<f64>, argmin::core::Error> {
        Ok(self.eval(theta).1)
    }
}

#[derive(Debug, Clone)]
pub struct Optimum {
    pub params: Vec<f64>,
    /// Mean negative log-likelihood (with the penalty) at the optimum.
    pub value: f64,
    pub iterations: u64,
}

/// Minimise from `init` (natural parameters). Errors say what went wrong and
/// what to try.
pub fn minimise<O: Objective>(obj: &O, init: &[f64], max_iters: u64) -> Result<Optimum, String> {
    let problem = OnLogScale {
        obj,
        cache: Mutex::new(None),
    };
    let theta0: Vec<f64> = init.iter().map(|p| p.ln()).collect();
    let solver = LBFGS::new(MoreThuenteLineSearch::new(), 10)
        .with_tolerance_grad(1e-10)
        .and_then(|s| s.with_tolerance_cost(1e-14))
        .map_err(|e| e.to_string())?;
    let res = Executor::new(problem, solver)
        .configure(|s| s.param(theta0).max_iters(max_iters))
        .run()
        .map_err(|e| format!("the optimiser stopped: {e}"))?;
    let state = res.state();
    let theta = state
        .get_best_param()
        .cloned()
        .ok_or_else(|| "the optimiser found no parameters".to_string())?;
    let params: Vec<f64> = theta.iter().map(|t| t.exp()).collect();
    let shown = params
        .iter()
        .map(|p| format!("{p:.4e}"))
        .collect::<Vec<_>>()
        .join(", ");
    let value = state.get_best_cost();
    if !value.is_finite()
        || params
            .iter()
            .any(|p| !p.is_finite() || *p <= 0.0 || *p > 1e12)
    {
        return Err(format!(
            "no finite maximum likelihood (parameters [{shown}]); the data may not fit the model: \
             try a penalizer (e.g. --penalizer 0.001) or more order history"
        ));
    }
    if let TerminationStatus::Terminated(TerminationReason::MaxItersReached) =
        state.get_termination_status()
    {
        return Err(format!(
            "no convergence in {max_iters} iterations (last parameters [{shown}]); try a penalizer (e.g. --penalizer 0.001)"
        ));
    }
    Ok(Optimum {
        params,
        value,
        iterations: state.get_iter(),
    })
}

/// Standard errors of the natural parameters from the Hessian of the summed
/// negative log-likelihood at the optimum (central differences of the
/// analytic gradient). None when the Hessian is not invertible.
pub fn std_errors<O: Objective>(obj: &O, p: &[f64]) -> Option<Vec<f64>> {
    let k = p.len();
    let n = obj.weight();
    let mut h = DMatrix::<f64>::zeros(k, k);
    for j in 0..k {
        let eps = 1e-5 * p[j].abs().max(1e-8);
        let mut up = p.to_vec();
        let mut dn = p.to_vec();
        up[j] += eps;
        dn[j] -= eps;
        let (_, gu) = obj.value_grad(&up);
        let (_, gd) = obj.value_grad(&dn);
        for i in 0..k {
            h[(i, j)] = n * (gu[i] - gd[i]) / (2.0 * eps);
        }
    }
    let h = (&h + h.transpose()) * 0.5;
    let inv = h.try_inverse()?;
    let se: Vec<f64> = (0..k)
        .map(|i| inv[(i, i)])
        .map(|v| if v > 0.0 { v.sqrt() } else { f64::NAN })
        .collect();
    Some(se)
}

/// A likelihood over customers given as distinct (x, t_x, T) rows with
/// counts, for families whose gradient is taken by central differences
/// (Pareto/NBD, MBG/NBD): `ll(params, x, t_x, T)` is one customer's
/// log-likelihood at the natural parameters.
pub struct Rows<F: Fn(&[f64], f64, f64, f64) -> f64 + Sync> {
    rows: Vec<(f64, f64, f64, f64)>,
    total: f64,
    penalizer: f64,
    ll: F,
}

impl<F: Fn(&[f64], f64, f64, f64) -> f64 + Sync> Rows<F> {
    pub fn new(
        customers: impl IntoIterator<Item = (f64, f64, f64)>,
        penalizer: f64,
        ll: F,
    ) -> Self {
        let mut map: std::collections::HashMap<(u64, u64, u64), f64> = Default::default();
        for (x, tx, t) in customers {
            *map.entry((x.to_bits(), tx.to_bits(), t.to_bits()))
                .or_default() += 1.0;
        }
        let rows: Vec<(f64, f64, f64, f64)> = map
            .into_iter()
            .map(|((x, tx, t), w)| (f64::from_bits(x), f64::from_bits(tx), f64::from_bits(t), w))
            .collect();
        Self::weighted(rows, penalizer, ll)
    }

    /// From (x, t_x, T, weight) rows, as a published summary gives them.
    pub fn weighted(rows: Vec<(f64, f64, f64, f64)>, penalizer: f64, ll: F) -> Self {
        let total = rows.iter().map(|r| r.3).sum();
        Rows {
            rows,
            total,
            penalizer,
            ll,
        }
    }

    /// The total log-likelihood at natural parameters `p`.
    pub fn log_likelihood(&self, p: &[f64]) -> f64 {
        use rayon::prelude::*;
        // Summed in fixed chunks, added in chunk order: the same bits on
        // every run.
        self.rows
            .par_chunks(16_384)
            .map(|c| {
                c.iter()
                    .map(|&(x, tx, t, w)| w * (self.ll)(p, x, tx, t))
                    .sum::<f64>()
            })
            .collect::<Vec<f64>>()
            .iter()
            .sum()
    }

    fn objective(&self, p: &[f64]) -> f64 {
        penalised(self.log_likelihood(p), self.total, self.penalizer, p)
    }
}

/// What the optimiser minimises: the mean negative log-likelihood over
/// `total` customers plus the L2 penalty (lifetimes' `penalizer_coef`);
/// infinite where the likelihood is not finite (the line search backs off).
pub fn penalised(ll: f64, total: f64, penalizer: f64, p: &[f64]) -> f64 {
    if ll.is_finite() {
        -ll / total + penalizer * p.iter().map(|v| v * v).sum::<f64>()
    } else {
        f64::INFINITY
    }
}

/// Value and central-difference gradient of an objective without an
/// analytic gradient.
pub fn numeric_value_grad(f: impl Fn(&[f64]) -> f64, p: &[f64]) -> (f64, Vec<f64>) {
    (f(p), central_gradient(&f, p))
}

/// The gradient of `f` at `p` by central differences with relative steps.
pub fn central_gradient(f: impl Fn(&[f64]) -> f64, p: &[f64]) -> Vec<f64> {
    (0..p.len())
        .map(|i| {
            let h = 1e-6 * p[i].abs().max(1e-8);
            let mut up = p.to_vec();
            let mut dn = p.to_vec();
            up[i] += h;
            dn[i] -= h;
            (f(&up) - f(&dn)) / (2.0 * h)
        })
        .collect()
}

impl<F: Fn(&[f64], f64, f64, f64) -> f64 + Sync> Objective for Rows<F> {
    fn value_grad(&self, p: &[f64]) -> (f64, Vec<f64>) {
        numeric_value_grad(|q| self.objective(q), p)
    }
    fn weight(&self) -> f64 {
        self.total
    }
}
