//! The family of a fit: as asked, or chosen by its error on held-out time
//! (`--model auto`), and the notes on how far its figures can be trusted.

use super::*;

/// `--model auto`: sBG when the data are contractual (cancellation dates);
/// else the repeat-purchase family with the smallest error on held-out
/// time (the last 26 weeks), BG/NBD when no holdout can be made.
pub(super) fn choose_model(
    reads: &dyn Reads,
    opts: &ClvOptions,
    as_of: NaiveDate,
    has_orders: bool,
) -> Result<(Model, String)> {
    let cancelled = reads.cancelled_count()?;
    if cancelled >= 10 {
        return Ok((
            Model::Sbg,
            format!("contractual data: {cancelled} customers have a cancellation date, so sBG values their contracts"),
        ));
    }
    if !has_orders {
        return Ok((
            Model::Bgnbd,
            "too few customers with orders to compare families: BG/NBD, the default".into(),
        ));
    }
    match holdout(
        reads,
        None,
        Some(as_of),
        opts.time_unit,
        opts.penalizer,
        None,
    ) {
        Ok(h) => {
            let model = holdout::Family::parse(h.model)
                .map(Model::from_family)
                .unwrap_or(Model::Bgnbd);
            let why = h
                .notes
                .iter()
                .find(|n| n.starts_with("auto: ") && n.contains("predicts the holdout best"))
                .map(|n| {
                    format!(
                        "{}, from {} to {}",
                        n.trim_start_matches("auto: "),
                        h.holdout_start,
                        h.holdout_end
                    )
                })
                .unwrap_or_else(|| format!("{} predicted the held-out time best", model.title()));
            Ok((model, why))
        }
        Err(e) => Ok((
            Model::Bgnbd,
            format!("no holdout check was possible ({e}): BG/NBD, the default"),
        )),
    }
}

/// What a reader must know about a family's fit: no standard errors, a
/// poorly or weakly determined estimate, a fit at the edge of the space.
pub(super) fn family_notes(
    model: Model,
    r: &FitReport,
    customers: usize,
    unit: TimeUnit,
) -> Vec<String> {
    let mut notes = Vec::new();
    match r.worst_relative_error() {
            None => notes.push(format!(
                "the {} Hessian is not invertible: no standard errors",
                model.title()
            )),
            // A boundary or flat optimum (a handful of customers, all
            // alike): estimates whose errors dwarf them mean nothing.
            Some(ratio) if ratio > 10.0 => notes.push(format!(
                "the {} fit is poorly determined (standard errors up to {} times the estimates; \
                 {} customers): treat its predictions as unreliable; import more order history, or try --penalizer 0.001",
                model.title(),
                if ratio.is_finite() { format!("{ratio:.0}") } else { "infinitely many".into() },
                customers,
            )),
            // One or two parameters the data barely determine: say which,
            // since a reader takes every printed estimate at its word.
            Some(ratio) if ratio > 1.0 => {
                let weak: Vec<String> = r
                    .params
                    .keys()
                    .filter(|n| matches!((r.se(n), r.param(n)), (Some(e), Some(v)) if e > v.abs()))
                    .map(|n| n.to_string())
                    .collect();
                let hint = if model == Model::Pnbd && weak.iter().any(|n| n == "s" || n == "beta") {
                    match (r.param("s"), r.param("beta")) {
                        (Some(s), Some(b)) if b > 0.0 => format!(
                            ": dropout rates barely differ between customers, so only s/beta = {:.4} per {} (the mean dropout rate) is pinned down, which is what the predictions use",
                            s / b,
                            unit.as_str()
                        ),
                        _ => String::new(),
                    }
                } else {
                    String::new()
                };
                notes.push(format!(
                    "the {} fit leaves {} weakly determined (standard error larger than the estimate){hint}",
                    model.title(),
                    weak.join(" and ")
                ));
            }
            Some(_) => {}
        }
    if r.params
        .values()
        .filter_map(|v| v.as_f64())
        .any(|v| !(1e-3..=1e4).contains(&v))
    {
        notes.push(format!(
                "the {} fit is at the edge of its parameter space ({}): the data do not pin the model down, so its CLV is not reliable; compare with --holdout-from DATE --model auto, or use another family",
                model.title(),
                r.params_text()
            ));
    }
    notes
}
