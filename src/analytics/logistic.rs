//! Logistic regression by Newton's method (IRLS), behind linfa's `Fit` trait.
//!
//! Objective (minimised), with `l2` = λ:
//!
//!   -Σ_i [ y_i log p_i + (1 - y_i) log(1 - p_i) ]  +  λ/2 · Σ_j β_j²
//!
//! where p_i = σ(β_0 + x_i·β) and the intercept β_0 is not penalised: the
//! same objective as linfa-logistic's `alpha`, and as scikit-learn's
//! `LogisticRegression(C = 1/λ)`. Newton converges in a handful of
//! iterations, and its Hessian at the optimum, X'WX + λI, is what the
//! standard errors come from (its inverse is the covariance).
//!
//! Targets are `bool`, and `true` is always the modelled class: p is the
//! probability of `true` (churned). (linfa-logistic picks its positive class
//! by label order, which is easy to get backwards.)

use linfa::dataset::DatasetBase;
use linfa::traits::Fit;
use nalgebra::{DMatrix, DVector};
use ndarray::{s, Array1, Array2, ArrayBase, Axis, Data, Ix2};
use rayon::prelude::*;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct IrlsParams {
    pub l2: f64,
    pub max_iter: usize,
    /// Converged when the largest Newton step is below this.
    pub tol: f64,
}

impl Default for IrlsParams {
    fn default() -> Self {
        IrlsParams {
            l2: 1.0,
            max_iter: 100,
            tol: 1e-9,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum FitError {
    #[error(transparent)]
    Linfa(#[from] linfa::Error),
    #[error("{0}")]
    Singular(String),
    #[error("{0}")]
    NotConverged(String),
    #[error("{0}")]
    BadData(String),
}

/// A fitted model with its statistics.
#[derive(Debug, Clone, PartialEq)]
pub struct IrlsFit {
    pub intercept: f64,
    pub coef: Array1<f64>,
    /// Inverse of the penalised Hessian at the optimum; row/column 0 is the intercept.
    pub cov: Array2<f64>,
    pub iterations: usize,
    pub log_likelihood: f64,
}

fn sigmoid(z: f64) -> f64 {
    if z >= 0.0 {
        1.0 / (1.0 + (-z).exp())
    } else {
        let e = z.exp();
        e / (1.0 + e)
    }
}

/// log(1 + e^z) without overflow.
fn softplus(z: f64) -> f64 {
    z.max(0.0) + (-z.abs()).exp().ln_1p()
}

impl IrlsFit {
    pub fn linear(&self, x: &ArrayBase<impl Data<Elem = f64>, Ix2>) -> Array1<f64> {
        x.dot(&self.coef) + self.intercept
    }

    /// P(true) for each row.
    pub fn predict_proba(&self, x: &ArrayBase<impl Data<Elem = f64>, Ix2>) -> Array1<f64> {
        self.linear(x).mapv(sigmoid)
    }

    pub fn std_errors(&self) -> Array1<f64> {
        self.cov.diag().mapv(|v| v.max(0.0).sqrt())
    }
}

struct Problem<'a, D: Data<Elem = f64>> {
    x: &'a ArrayBase<D, Ix2>,
    y: Array1<f64>,
    l2: f64,
}

/// From this many rows, Newton starts from a sample's fit
/// (`IrlsParams::sample_start`), of about this many rows.
const WARM_FROM: usize = 200_000;
const WARM_SAMPLE: usize = 50_000;

/// Rows per block of the parallel passes: a block of a 20-column matrix is
/// ~650 KB, so its passes stay in cache.
const BLOCK: usize = 4096;

/// Sums of one block's contribution to the Newton system.
struct Partial {
    g0: f64,
    g: Array1<f64>,
    h00: f64,
    h0: Array1<f64>,
    h: Array2<f64>,
}

impl<D: Data<Elem = f64> + Sync> Problem<'_, D> {
    /// Penalised negative log-likelihood and the log-likelihood.
    fn objective(&self, b0: f64, w: &Array1<f64>) -> (f64, f64) {
        let n = self.x.nrows();
        let ll: f64 = (0..n.div_ceil(BLOCK))
            .into_par_iter()
            .map(|b| {
                let (lo, hi) = (b * BLOCK, ((b + 1) * BLOCK).min(n));
                let xb = self.x.slice(s![lo..hi, ..]);
                let eta = xb.dot(w) + b0;
                eta.iter()
                    .zip(self.y.slice(s![lo..hi]).iter())
                    .map(|(&e, &y)| y * e - softplus(e))
                    .sum::<f64>()
            })
            .sum();
        (-ll + 0.5 * self.l2 * w.dot(w), ll)
    }

    /// Gradient of the objective and its Hessian (intercept first), from one
    /// parallel pass over row blocks.
    fn newton_system(&self, b0: f64, w: &Array1<f64>) -> (DVector<f64>, DMatrix<f64>) {
        let (n, d) = self.x.dim();
        let zero = || Partial {
            g0: 0.0,
            g: Array1::zeros(d),
            h00: 0.0,
            h0: Array1::zeros(d),
            h: Array2::zeros((d, d)),
        };
        let total = (0..n.div_ceil(BLOCK))
            .into_par_iter()
            .map(|b| {
                let (lo, hi) = (b * BLOCK, ((b + 1) * BLOCK).min(n));
                let xb = self.x.slice(s![lo..hi, ..]);
                let yb = self.y.slice(s![lo..hi]);
                let eta = xb.dot(w) + b0;
                let p = eta.mapv(sigmoid);
                let r = &p - &yb;
                let sw = p.mapv(|p| (p * (1.0 - p)).max(1e-12));
                let sq = sw.mapv(f64::sqrt);
                // B = diag(sqrt(s)) X_block: B'B = X' S X on the block.
                let mut bm = xb.to_owned();
                bm *= &sq.view().insert_axis(Axis(1));
                Partial {
                    g0: r.sum(),
                    g: xb.t().dot(&r),
                    h00: sw.sum(),
                    h0: bm.t().dot(&sq),
                    h: bm.t().dot(&bm),
                }
            })
            .reduce(zero, |mut a, b| {
                a.g0 += b.g0;
                a.g += &b.g;
                a.h00 += b.h00;
                a.h0 += &b.h0;
                a.h += &b.h;
                a
            });
        let mut g = DVector::zeros(d + 1);
        g[0] = total.g0;
        for j in 0..d {
            g[j + 1] = total.g[j] + self.l2 * w[j];
        }
        let mut h = DMatrix::zeros(d + 1, d + 1);
        h[(0, 0)] = total.h00;
        for j in 0..d {
            h[(0, j + 1)] = total.h0[j];
            h[(j + 1, 0)] = total.h0[j];
            for k in 0..d {
                h[(j + 1, k + 1)] = total.h[(j, k)];
            }
            h[(j + 1, j + 1)] += self.l2;
        }
        (g, h)
    }
}

impl IrlsParams {
    pub fn fit_arrays<D: Data<Elem = f64> + Sync>(
        &self,
        x: &ArrayBase<D, Ix2>,
        y: &[bool],
    ) -> Result<IrlsFit, FitError> {
        let (n, d) = x.dim();
        if n != y.len() {
            return Err(FitError::BadData(format!(
                "{n} rows but {} targets",
                y.len()
            )));
        }
        if !(self.l2 >= 0.0 && self.l2.is_finite()) {
            return Err(FitError::BadData(format!(
                "l2 must be >= 0 (got {})",
                self.l2
            )));
        }
        let pos = y.iter().filter(|&&v| v).count();
        if pos == 0 || pos == n {
            return Err(FitError::BadData("the targets have one class only".into()));
        }
        if x.iter().any(|v| !v.is_finite()) {
            return Err(FitError::BadData(
                "the features contain NaN or infinite values".into(),
            ));
        }
        let prob = Problem {
            x,
            y: y.iter().map(|&v| f64::from(u8::from(v))).collect(),
            l2: self.l2,
        };
        let start = match n >= WARM_FROM {
            true => self.sample_start(x, y),
            false => None,
        };
        let (b0, w) = start.unwrap_or_else(|| {
            let rate = pos as f64 / n as f64;
            ((rate / (1.0 - rate)).ln(), Array1::<f64>::zeros(d))
        });
        self.newton(&prob, b0, w)
    }

    /// Where Newton starts on many rows: the fit of an evenly spaced sample
    /// of about `WARM_SAMPLE` of them (with the penalty scaled to the
    /// sample's size, the same objective per row). Near the optimum Newton
    /// converges quadratically, so the full data's passes (each one a
    /// Hessian over every row) drop from 6-7 to 3-4 at a million rows; the
    /// optimum, and the tolerance it is found to, are the same. None when
    /// the sample cannot be fitted (one class, separated): the usual start.
    fn sample_start<D: Data<Elem = f64> + Sync>(
        &self,
        x: &ArrayBase<D, Ix2>,
        y: &[bool],
    ) -> Option<(f64, Array1<f64>)> {
        let n = x.nrows();
        let step = (n / WARM_SAMPLE).max(1);
        let rows: Vec<usize> = (0..n).step_by(step).collect();
        let xs = x.select(Axis(0), &rows);
        let ys: Vec<bool> = rows.iter().map(|&i| y[i]).collect();
        let sample = IrlsParams {
            l2: self.l2 * rows.len() as f64 / n as f64,
            max_iter: self.max_iter,
            // Close is enough: the full data's Newton steps finish it.
            tol: 1e-6,
        };
        let fit = sample.fit_arrays(&xs, &ys).ok()?;
        Some((fit.intercept, fit.coef))
    }

    /// Damped Newton on `prob` from (`b0`, `w`) to the optimum, with the
    /// covariance there.
    fn newton<D: Data<Elem = f64> + Sync>(
        &self,
        prob: &Problem<'_, D>,
        mut b0: f64,
        mut w: Array1<f64>,
    ) -> Result<IrlsFit, FitError> {
        let d = w.len();
        let (mut obj, mut ll) = prob.objective(b0, &w);
        let mut iterations = 0;
        // The Hessian of the last step, taken where Newton stopped or within
        // `tol` of it (a last pass over every row for it changed the
        // standard errors in their ninth digit).
        let mut last_h = None;
        while iterations < self.max_iter {
            iterations += 1;
            let (g, h) = prob.newton_system(b0, &w);
            let step = h
                .clone()
                .cholesky()
                .ok_or_else(|| singular(self.l2))?
                .solve(&g);
            let max_step = step.iter().fold(0.0f64, |m, v| m.max(v.abs()));
            // Damped Newton: halve the step until the objective does not rise.
            let mut t = 1.0;
            let mut accepted = false;
            for _ in 0..40 {
                let nb0 = b0 - t * step[0];
                let nw = &w - &(Array1::from_iter(step.iter().skip(1).copied()) * t);
                let (nobj, nll) = prob.objective(nb0, &nw);
                if nobj.is_finite() && nobj <= obj + 1e-12 * obj.abs().max(1.0) {
                    b0 = nb0;
                    w = nw;
                    obj = nobj;
                    ll = nll;
                    accepted = true;
                    break;
                }
                t *= 0.5;
            }
            if !accepted || max_step * t < self.tol {
                last_h = Some(h);
                break;
            }
            if w.iter().any(|v| v.abs() > 1e6) {
                return Err(FitError::NotConverged(
                    "coefficients grow without bound: the classes are (almost) perfectly separated by some feature; \
                     use a penalty (--l2 greater than 0)"
                        .into(),
                ));
            }
        }
        let Some(h) = last_h else {
            return Err(FitError::NotConverged(format!(
                "Newton did not converge in {} iterations; try a larger --l2",
                self.max_iter
            )));
        };
        let inv = h.cholesky().ok_or_else(|| singular(self.l2))?.inverse();
        let cov = Array2::from_shape_fn((d + 1, d + 1), |(i, j)| inv[(i, j)]);
        Ok(IrlsFit {
            intercept: b0,
            coef: w,
            cov,
            iterations,
            log_likelihood: ll,
        })
    }
}

fn singular(l2: f64) -> FitError {
    if l2 == 0.0 {
        FitError::Singular(
            "the features are collinear (the Hessian is singular): drop redundant columns or use --l2 greater than 0"
                .into(),
        )
    } else {
        FitError::Singular(
            "the Hessian is singular; check the features for NaN or huge values".into(),
        )
    }
}

impl<D: Data<Elem = f64> + Sync> Fit<ArrayBase<D, Ix2>, Array1<bool>, FitError> for IrlsParams {
    type Object = IrlsFit;

    fn fit(
        &self,
        dataset: &DatasetBase<ArrayBase<D, Ix2>, Array1<bool>>,
    ) -> Result<IrlsFit, FitError> {
        let y: Vec<bool> = dataset.targets.iter().copied().collect();
        self.fit_arrays(&dataset.records, &y)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use linfa::prelude::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// Rows drawn from a known model: logit = -1 + 1.5 x0 - 2 x1 + 0 x2.
    fn synthetic(n: usize, seed: u64) -> (Array2<f64>, Vec<bool>) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let x = Array2::from_shape_fn((n, 3), |_| rng.gen::<f64>() * 2.0 - 1.0);
        let y = x
            .rows()
            .into_iter()
            .map(|r| {
                let z = -1.0 + 1.5 * r[0] - 2.0 * r[1];
                rng.gen::<f64>() < sigmoid(z)
            })
            .collect();
        (x, y)
    }

    /// On many rows Newton starts from a sample's fit: fewer passes over
    /// every row, and the optimum, covariance and likelihood of a start
    /// from nothing.
    #[test]
    fn a_start_from_a_sample_reaches_the_same_optimum_in_fewer_passes() {
        let (x, y) = synthetic(WARM_FROM + 10_000, 11);
        let params = IrlsParams {
            l2: 2.0,
            ..IrlsParams::default()
        };
        let warm = params.fit_arrays(&x, &y).unwrap();
        let prob = Problem {
            x: &x,
            y: y.iter().map(|&v| f64::from(u8::from(v))).collect(),
            l2: params.l2,
        };
        let rate = y.iter().filter(|&&v| v).count() as f64 / y.len() as f64;
        let cold = params
            .newton(&prob, (rate / (1.0 - rate)).ln(), Array1::zeros(3))
            .unwrap();
        assert!(
            warm.iterations < cold.iterations,
            "{} against {}",
            warm.iterations,
            cold.iterations
        );
        assert!((warm.intercept - cold.intercept).abs() < 1e-8);
        for (a, b) in warm.coef.iter().zip(&cold.coef) {
            assert!((a - b).abs() < 1e-8, "{a} {b}");
        }
        for (a, b) in warm.cov.iter().zip(&cold.cov) {
            assert!((a - b).abs() <= 1e-6 * b.abs().max(1e-12), "{a} {b}");
        }
        assert!((warm.log_likelihood - cold.log_likelihood).abs() < 1e-6);
    }

    #[test]
    fn recovers_known_coefficients_within_sampling_error() {
        let (x, y) = synthetic(50_000, 3);
        let fit = IrlsParams {
            l2: 0.0,
            ..Default::default()
        }
        .fit_arrays(&x, &y)
        .unwrap();
        let se = fit.std_errors();
        let truth = [-1.0, 1.5, -2.0, 0.0];
        let got = [fit.intercept, fit.coef[0], fit.coef[1], fit.coef[2]];
        for k in 0..4 {
            let z = (got[k] - truth[k]) / se[k];
            assert!(
                z.abs() < 4.0,
                "coefficient {k}: {} vs {} (se {})",
                got[k],
                truth[k],
                se[k]
            );
        }
    }

    #[test]
    fn the_riskier_customer_gets_the_higher_probability() {
        // x0 raises churn, x1 lowers it; `true` means churned.
        let (x, y) = synthetic(5_000, 4);
        let fit = IrlsParams::default()
            .fit(&Dataset::new(x, Array1::from(y)))
            .unwrap();
        assert!(fit.coef[0] > 0.0 && fit.coef[1] < 0.0);
        let risky = ndarray::array![[0.9, -0.9, 0.0]];
        let safe = ndarray::array![[-0.9, 0.9, 0.0]];
        assert!(fit.predict_proba(&risky)[0] > 0.8);
        assert!(fit.predict_proba(&safe)[0] < 0.05);
    }

    #[test]
    fn agrees_with_linfa_logistic() {
        let (x, y) = synthetic(3_000, 5);
        for l2 in [0.5, 1.0, 10.0] {
            let ours = IrlsParams {
                l2,
                ..Default::default()
            }
            .fit_arrays(&x, &y)
            .unwrap();
            let ds = Dataset::new(x.clone(), Array1::from(y.clone()));
            let theirs = linfa_logistic::LogisticRegression::default()
                .alpha(l2)
                .gradient_tolerance(1e-10)
                .max_iterations(2_000)
                .fit(&ds)
                .unwrap();
            // linfa-logistic's "positive" class is not necessarily `true`
            // (here it is `false`): turn its parameters into P(true).
            let sign = if theirs.labels().pos.class { 1.0 } else { -1.0 };
            for j in 0..3 {
                let t = sign * theirs.params()[j];
                assert!(
                    (ours.coef[j] - t).abs() < 1e-4,
                    "l2 {l2} coef {j}: {} vs {t}",
                    ours.coef[j]
                );
            }
            assert!((ours.intercept - sign * theirs.intercept()).abs() < 1e-4);
            // And the probabilities of churn agree row by row.
            let p_theirs = theirs.predict_probabilities(&x);
            let p_ours = ours.predict_proba(&x);
            for (a, b) in p_ours.iter().zip(p_theirs.iter()) {
                let b = if sign > 0.0 { *b } else { 1.0 - *b };
                assert!((a - b).abs() < 1e-4);
            }
        }
    }

    #[test]
    fn separated_classes_are_reported_not_looped() {
        let x = ndarray::array![[0.0], [1.0], [2.0], [3.0]];
        let y = [false, false, true, true];
        let err = IrlsParams {
            l2: 0.0,
            ..Default::default()
        }
        .fit_arrays(&x, &y)
        .unwrap_err();
        assert!(
            err.to_string().contains("separated") || err.to_string().contains("converge"),
            "{err}"
        );
        let one_class = IrlsParams::default()
            .fit_arrays(&x, &[true; 4])
            .unwrap_err();
        assert!(one_class.to_string().contains("one class"));
    }
}
