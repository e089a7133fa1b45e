//! Drivers in words: "support contacts in last 90 days: 6 (+0.81)".

use super::Params;
use crate::analytics::features::Source;

/// Turn a stored drivers JSON (`[[feature index, raw value, contribution], ...]`)
/// into sentences, using the model's feature list.
/// With `mask` (`--mask-pii`), a one-hot level of a personal attribute, or
/// one that looks like an e-mail or phone number, is masked.
pub fn describe_drivers(params: &Params, drivers: &str, mask: bool) -> Vec<(String, f64)> {
    let parsed: Vec<(usize, Option<f64>, f64)> =
        serde_json::from_str::<Vec<serde_json::Value>>(drivers)
            .unwrap_or_default()
            .iter()
            .filter_map(|d| {
                let a = d.as_array()?;
                Some((
                    a.first()?.as_u64()? as usize,
                    a.get(1).and_then(|v| v.as_f64()),
                    a.get(2)?.as_f64()?,
                ))
            })
            .collect();
    let mut out: Vec<(String, f64)> = parsed
        .into_iter()
        .filter_map(|(j, v, c)| {
            let col = params.spec.columns.get(j)?;
            Some((sentence(&col.source, v, mask), c))
        })
        .collect();
    // What raises the risk first, most first; then what lowers it.
    out.sort_by(|a, b| b.1.total_cmp(&a.1));
    out
}

fn sentence(src: &Source, v: Option<f64>, mask: bool) -> String {
    let v = v.unwrap_or(f64::NAN);
    match src {
        Source::OneHot { cat, level } => {
            let level =
                &crate::pii::show(mask, crate::pii::Kind::Attribute(&cat.label()), level, None);
            if v >= 0.5 {
                format!("{}: {level}", cat.label())
            } else {
                format!("{}: not {level}", cat.label())
            }
        }
        Source::Missing { of } => {
            if v >= 0.5 {
                format!("{} unknown", of.label())
            } else {
                format!("{} known", of.label())
            }
        }
        Source::NeverOrdered => {
            if v >= 0.5 {
                "never ordered".into()
            } else {
                "has ordered".into()
            }
        }
        other => format!("{}: {}", other.label(), value(other, v)),
    }
}

fn value(src: &Source, v: f64) -> String {
    if !v.is_finite() {
        return "n/a".into();
    }
    let money = matches!(
        src,
        Source::Spend90 | Source::Spend365 | Source::AvgOrderValue | Source::Income
    );
    let days = matches!(
        src,
        Source::TenureDays | Source::DaysSinceLastOrder | Source::DaysSinceLastFeedback
    );
    if days {
        format!("{}", v.round() as i64)
    } else if money {
        crate::analytics::priority::money(v)
    } else if (v - v.round()).abs() < 1e-9 {
        format!("{}", v.round() as i64)
    } else {
        format!("{v:.2}")
    }
}
