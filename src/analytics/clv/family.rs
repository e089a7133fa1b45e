//! The model families CLV can be fitted with, behind one interface: fit by
//! maximum likelihood on (x, t_x, T) rows, the parameters by their usual
//! names with standard errors from the Hessian, and per customer P(alive)
//! and expected transactions over a horizon.

use super::holdout::Family;
use super::{bgbb, bgnbd, mbgnbd, optim, pnbd};
use crate::error::{Error, Result};
use serde::Serialize;

/// `crmtop clv --model`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Model {
    Bgnbd,
    Pnbd,
    Mbgnbd,
    /// BG/BB: discrete opportunities (one per time unit).
    Bgbb,
    /// sBG: contract survival (signup and cancellation dates).
    Sbg,
    /// The family with the smallest holdout error (sBG when the data are
    /// contractual).
    Auto,
}

impl Model {
    pub fn parse(s: &str) -> Option<Model> {
        Some(match s {
            "bgnbd" => Model::Bgnbd,
            "pnbd" => Model::Pnbd,
            "mbgnbd" => Model::Mbgnbd,
            "bgbb" => Model::Bgbb,
            "sbg" => Model::Sbg,
            "auto" => Model::Auto,
            _ => return None,
        })
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Model::Bgnbd => "bgnbd",
            Model::Pnbd => "pnbd",
            Model::Mbgnbd => "mbgnbd",
            Model::Bgbb => "bgbb",
            Model::Sbg => "sbg",
            Model::Auto => "auto",
        }
    }
    pub fn from_family(f: Family) -> Model {
        match f {
            Family::Bgnbd => Model::Bgnbd,
            Family::Pnbd => Model::Pnbd,
            Family::Mbgnbd => Model::Mbgnbd,
        }
    }
    /// The name people know it by.
    pub fn title(self) -> &'static str {
        match self {
            Model::Bgnbd => "BG/NBD",
            Model::Pnbd => "Pareto/NBD",
            Model::Mbgnbd => "MBG/NBD",
            Model::Bgbb => "BG/BB",
            Model::Sbg => "sBG",
            Model::Auto => "auto",
        }
    }
}

/// A fitted repeat-purchase model.
#[derive(Debug, Clone, Copy)]
pub enum Fitted {
    Bg(bgnbd::Params),
    Pnbd(pnbd::Params),
    Mbg(mbgnbd::Params),
    Bgbb(bgbb::Params),
}

impl Fitted {
    /// E[transactions in the next `horizon` | x, t_x, T] (for BG/BB:
    /// opportunities, n = T).
    pub fn expected(&self, x: f64, tx: f64, t: f64, horizon: f64) -> Option<f64> {
        match self {
            Fitted::Bg(p) => p.expected_transactions(x, tx, t, horizon),
            Fitted::Pnbd(p) => p.expected_transactions(x, tx, t, horizon),
            Fitted::Mbg(p) => p.expected_transactions(x, tx, t, horizon),
            Fitted::Bgbb(p) => p.expected_transactions(x, tx, t, horizon),
        }
    }
    /// E[transactions in the next h | x, t_x, T] for each h of `horizons`.
    pub fn curve(&self, x: f64, tx: f64, t: f64, horizons: &[f64]) -> Option<Vec<f64>> {
        match self {
            Fitted::Pnbd(p) => p.expected_curve(x, tx, t, horizons),
            _ => horizons
                .iter()
                .map(|&h| self.expected(x, tx, t, h))
                .collect(),
        }
    }
    /// E[X(t)] of a customer new at time 0.
    pub fn expected_new(&self, t: f64) -> Option<f64> {
        match self {
            Fitted::Bg(p) => p.expected_transactions(0.0, 0.0, 0.0, t),
            Fitted::Pnbd(p) => Some(p.expected_new(t)),
            Fitted::Mbg(p) => p.expected_new(t),
            Fitted::Bgbb(p) => Some(p.expected_new(t)),
        }
    }
    /// P(alive | x, t_x, T) (BG/BB: alive at the next opportunity).
    pub fn p_alive(&self, x: f64, tx: f64, t: f64) -> f64 {
        match self {
            Fitted::Bg(p) => p.p_alive(x, tx, t),
            Fitted::Pnbd(p) => p.p_alive(x, tx, t),
            Fitted::Mbg(p) => p.p_alive(x, tx, t),
            Fitted::Bgbb(p) => p.p_alive(x, tx, t, 1.0),
        }
    }
}

/// A fit as the report shows it.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct FitReport {
    /// bgnbd, pnbd, mbgnbd, bgbb or sbg.
    pub family: String,
    /// The estimates by their usual names, in the usual order
    /// (`{"r": 0.2426, "alpha": 4.414, ...}`).
    pub params: serde_json::Map<String, serde_json::Value>,
    /// Their standard errors, by the same names (absent when the Hessian
    /// is not invertible).
    pub std_err: serde_json::Map<String, serde_json::Value>,
    pub log_likelihood: f64,
    pub iterations: u64,
    pub customers: usize,
    /// Why this family (with `--model auto`).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub chosen_because: Option<String>,
}

impl FitReport {
    pub fn new(
        model: Model,
        names: &[&str],
        values: &[f64],
        se: Option<Vec<f64>>,
        log_likelihood: f64,
        iterations: u64,
        customers: usize,
    ) -> FitReport {
        let mut params = serde_json::Map::new();
        let mut std_err = serde_json::Map::new();
        for (i, n) in names.iter().enumerate() {
            params.insert(n.to_string(), values[i].into());
            if let Some(s) = se.as_ref().and_then(|s| s.get(i)).filter(|v| v.is_finite()) {
                std_err.insert(n.to_string(), (*s).into());
            }
        }
        FitReport {
            family: model.as_str().into(),
            params,
            std_err,
            log_likelihood,
            iterations,
            customers,
            chosen_because: None,
        }
    }

    /// An estimate by name.
    pub fn param(&self, name: &str) -> Option<f64> {
        self.params.get(name).and_then(|v| v.as_f64())
    }

    /// A standard error by name.
    pub fn se(&self, name: &str) -> Option<f64> {
        self.std_err.get(name).and_then(|v| v.as_f64())
    }

    /// "r 0.2426 (0.0129), alpha 4.414 (0.38), ..."
    pub fn params_text(&self) -> String {
        self.params
            .keys()
            .map(|n| match (self.param(n), self.se(n)) {
                (Some(v), Some(s)) => format!("{n} {v:.4} ({s:.4})"),
                (Some(v), None) => format!("{n} {v:.4}"),
                _ => n.clone(),
            })
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The largest standard error relative to its estimate (None when any
    /// is missing).
    pub fn worst_relative_error(&self) -> Option<f64> {
        self.params
            .keys()
            .map(|n| Some(self.se(n)? / self.param(n)?.abs().max(1e-12)))
            .collect::<Option<Vec<f64>>>()
            .map(|v| v.into_iter().fold(0.0, f64::max))
    }
}

/// The parameter names of a family, in the order of its parameter vector.
pub fn names(model: Model) -> &'static [&'static str] {
    match model {
        Model::Bgnbd | Model::Mbgnbd => &["r", "alpha", "a", "b"],
        Model::Pnbd => &["r", "alpha", "s", "beta"],
        Model::Bgbb => &["alpha", "beta", "gamma", "delta"],
        Model::Sbg => &["alpha", "beta"],
        Model::Auto => &[],
    }
}

/// Fit a repeat-purchase family on (x, t_x, T) rows (BG/BB: T = n
/// opportunities, whole numbers).
pub fn fit(model: Model, rows: &[(f64, f64, f64)], penalizer: f64) -> Result<(Fitted, FitReport)> {
    let n = rows.len();
    let mean_t = rows.iter().map(|r| r.2).sum::<f64>() / n.max(1) as f64;
    let failed = |e: String| Error::bad(format!("{} fit failed: {e}", model.title()));
    let (fitted, params, ll, iterations, se) = match model {
        Model::Bgnbd => {
            let data = bgnbd::Data::new(rows.iter().copied(), penalizer);
            let opt =
                optim::minimise(&data, &[1.0, mean_t.max(1.0), 1.0, 1.0], 500).map_err(failed)?;
            let p = bgnbd::Params::from_slice(&opt.params);
            let se = optim::std_errors(&data, &opt.params);
            (
                Fitted::Bg(p),
                opt.params,
                data.log_likelihood(&p),
                opt.iterations,
                se,
            )
        }
        Model::Pnbd => {
            let data = pnbd::data(rows.iter().copied(), penalizer);
            let init = [1.0, mean_t.max(1.0), 1.0, mean_t.max(1.0)];
            let opt = optim::minimise(&data, &init, 500).map_err(failed)?;
            let se = optim::std_errors(&data, &opt.params);
            let ll = data.log_likelihood(&opt.params);
            let p = pnbd::Params::from_slice(&opt.params);
            (Fitted::Pnbd(p), opt.params, ll, opt.iterations, se)
        }
        Model::Mbgnbd => {
            let data = mbgnbd::data(rows.iter().copied(), penalizer);
            let opt =
                optim::minimise(&data, &[1.0, mean_t.max(1.0), 1.0, 1.0], 500).map_err(failed)?;
            let se = optim::std_errors(&data, &opt.params);
            let ll = data.log_likelihood_of(&opt.params);
            let p = mbgnbd::Params::from_slice(&opt.params);
            (Fitted::Mbg(p), opt.params, ll, opt.iterations, se)
        }
        Model::Bgbb => {
            let data = bgbb::data(rows.iter().copied(), penalizer);
            let opt = optim::minimise(&data, &[1.0, 1.0, 1.0, 1.0], 500).map_err(failed)?;
            let se = optim::std_errors(&data, &opt.params);
            let ll = data.log_likelihood(&opt.params);
            let p = bgbb::Params::from_slice(&opt.params);
            (Fitted::Bgbb(p), opt.params, ll, opt.iterations, se)
        }
        Model::Sbg | Model::Auto => {
            return Err(Error::Other(format!(
                "{} is not a repeat-purchase family",
                model.as_str()
            )))
        }
    };
    let report = FitReport::new(model, names(model), &params, se, ll, iterations, n);
    Ok((fitted, report))
}
