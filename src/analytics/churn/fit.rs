//! Fitting a model on some rows and judging it: stratified splits and
//! folds, the fit (IRLS with its statistics, or the other kinds), the
//! predictions, and the statsmodels-style coefficient tables.

use super::*;

/// Stratified split of positions 0..n into (train, test).
pub(super) fn split(y: &[bool], frac: f64, seed: u64) -> (Vec<usize>, Vec<usize>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut train = Vec::new();
    let mut test = Vec::new();
    for class in [false, true] {
        let mut idx: Vec<usize> = (0..y.len()).filter(|&i| y[i] == class).collect();
        idx.shuffle(&mut rng);
        let k = (idx.len() as f64 * frac).round() as usize;
        test.extend_from_slice(&idx[..k.min(idx.len())]);
        train.extend_from_slice(&idx[k.min(idx.len())..]);
    }
    train.sort_unstable();
    test.sort_unstable();
    (train, test)
}

/// Stratified k folds of positions 0..n.
pub(super) fn folds(y: &[bool], k: usize, seed: u64) -> Vec<Vec<usize>> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5eed);
    let mut out = vec![Vec::new(); k];
    for class in [false, true] {
        let mut idx: Vec<usize> = (0..y.len()).filter(|&i| y[i] == class).collect();
        idx.shuffle(&mut rng);
        for (n, i) in idx.into_iter().enumerate() {
            out[n % k].push(i);
        }
    }
    out
}

pub(super) fn fit_error(e: FitError) -> Error {
    match e {
        FitError::Linfa(e) => Error::Other(format!("model fit failed: {e}")),
        other => Error::BadInput(format!("model fit failed: {other}")),
    }
}

/// A stratified sample of at most `max` positions (for the forest).
pub(super) fn subsample(y: &[bool], max: usize, seed: u64) -> Vec<usize> {
    if y.len() <= max {
        return (0..y.len()).collect();
    }
    let (_, keep) = split(y, max as f64 / y.len() as f64, seed ^ 0xf0);
    keep
}

/// A model fitted on some rows: its features, what was dropped, the model,
/// the logistic statistics, notes.
pub(super) struct FitOutcome {
    pub(super) spec: FeatureSpec,
    pub(super) dropped: Vec<Dropped>,
    pub(super) fitted: Fitted,
    pub(super) irls: Option<IrlsFit>,
    pub(super) notes: Vec<String>,
}

pub(super) fn fit_rows(
    raw: &Raw,
    rows: &[usize],
    y: &[bool],
    cutoff: usize,
    opts: &TrainOptions,
    ctl: Ctl,
) -> Result<FitOutcome> {
    let mut notes = Vec::new();
    ctl.report("learning features", 0, 1);
    let (spec, dropped) = features::learn(raw, rows, cutoff);
    if spec.columns.is_empty() {
        return Err(Error::bad(
            "no usable features: every candidate column is constant or empty for the labelled customers. \
             Import orders, events or feedback, or customer attributes that vary.",
        ));
    }
    let (rows_fit, y_fit): (Vec<usize>, Vec<bool>) = if opts.kind == ModelKind::RandomForest {
        let keep = subsample(y, model::FOREST_MAX_ROWS, opts.seed);
        if keep.len() < y.len() {
            notes.push(format!(
                "the random forest was trained on a stratified sample of {} of the {} training rows",
                keep.len(),
                y.len()
            ));
        }
        (
            keep.iter().map(|&k| rows[k]).collect(),
            keep.iter().map(|&k| y[k]).collect(),
        )
    } else {
        (rows.to_vec(), y.to_vec())
    };
    ctl.report("building the matrix", 0, 1);
    let x = spec.matrix(raw, &rows_fit, cutoff);
    ctl.report("fitting", 0, 1);
    let (fitted, irls) =
        model::fit(opts.kind, &x, &y_fit, opts.l2, opts.seed).map_err(fit_error)?;
    Ok(FitOutcome {
        spec,
        dropped,
        fitted,
        irls,
        notes,
    })
}

pub(super) fn predict_rows(
    raw: &Raw,
    spec: &FeatureSpec,
    m: &Fitted,
    rows: &[usize],
    cutoff: usize,
) -> Vec<f64> {
    rows.par_chunks(50_000)
        .flat_map_iter(|chunk| {
            let x = spec.matrix(raw, chunk, cutoff);
            model::predict(m, &x.view()).to_vec()
        })
        .collect()
}

/// The statsmodels-style table, in standardised units and in the features' own units.
pub(super) fn coefficient_tables(spec: &FeatureSpec, fit: &IrlsFit) -> (Vec<Coef>, Vec<Coef>) {
    let normal = Normal::new(0.0, 1.0).ok();
    let z975 = 1.959_963_984_540_054;
    let se = fit.std_errors();
    let mk = |feature: String, label: String, coef: f64, std_err: f64| {
        let z = coef / std_err;
        let p = normal
            .as_ref()
            .map(|n| 2.0 * (1.0 - n.cdf(z.abs())))
            .unwrap_or(f64::NAN);
        Coef {
            feature,
            label,
            coef,
            std_err,
            z,
            p_value: p,
            ci_low: coef - z975 * std_err,
            ci_high: coef + z975 * std_err,
            odds_ratio: coef.exp(),
        }
    };
    let mut std_t = vec![mk(
        "(intercept)".into(),
        "intercept".into(),
        fit.intercept,
        se[0],
    )];
    for (j, col) in spec.columns.iter().enumerate() {
        std_t.push(mk(
            col.source.name(),
            col.source.label(),
            fit.coef[j],
            se[j + 1],
        ));
    }
    // Own units: β_j / σ_j, and the intercept β0 - Σ β_j μ_j / σ_j with its
    // variance a'Σa, a = (1, -μ_1/σ_1, ...).
    let d = spec.columns.len();
    let mut a = vec![1.0; d + 1];
    let mut b0 = fit.intercept;
    for (j, col) in spec.columns.iter().enumerate() {
        a[j + 1] = -col.mean / col.std;
        b0 -= fit.coef[j] * col.mean / col.std;
    }
    let mut var0 = 0.0;
    for i in 0..=d {
        for k in 0..=d {
            var0 += a[i] * fit.cov[(i, k)] * a[k];
        }
    }
    let mut raw_t = vec![mk(
        "(intercept)".into(),
        "intercept".into(),
        b0,
        var0.max(0.0).sqrt(),
    )];
    for (j, col) in spec.columns.iter().enumerate() {
        raw_t.push(mk(
            col.source.name(),
            col.source.label(),
            fit.coef[j] / col.std,
            se[j + 1] / col.std,
        ));
    }
    (std_t, raw_t)
}

pub(super) fn mean_std(xs: &[f64]) -> (f64, f64) {
    let n = xs.len().max(1) as f64;
    let m = xs.iter().sum::<f64>() / n;
    let v = xs.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n - 1.0).max(1.0);
    (m, v.sqrt())
}
