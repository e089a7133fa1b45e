//! `crmtop campaign report`: the measured uplift in words, with its
//! intervals and verdicts (or the JSON).

use super::{print_campaign, ReportArgs};
use crate::analytics::campaign;
use crate::cli::{print_json, Ctx, OK};
use crate::error::Result;
use crate::store;
use crate::timeutil::DAY;

pub(super) fn report(ctx: &Ctx, a: ReportArgs) -> Result<i32> {
    let s = ctx.open_db_for_read()?;
    let c = store::campaigns::get(&s, &a.name)?;
    let as_of_day = a.as_of.map(|d| crate::timeutil::date_to_ts(d) / DAY);
    let measured = store::campaigns::measure(&s, &c, as_of_day)?;
    let r = measured.report;
    if a.json {
        print_json(
            &serde_json::json!({ "campaign": c, "as_of": measured.as_of, "report": r, "retention": r.retention, "revenue": r.revenue }),
        )?;
        return Ok(OK);
    }
    print_campaign(&c);
    crate::outln!(
        "retained = {}; intention to treat (every treated customer, worked or not):",
        r.retained_means
    );
    use campaign::report::{p_text, pct, pts};
    let money = |v: f64| {
        if v.is_finite() {
            format!("{v:.2}")
        } else {
            "-".into()
        }
    };
    let e = &r.retention;
    crate::outln!(
        "  retention  treatment {} of {}  control {} of {}  difference {} pts [{}, {}] {}",
        pct(e.treatment),
        e.n_treatment,
        pct(e.control),
        e.n_control,
        pts(e.difference),
        pts(e.ci_low),
        pts(e.ci_high),
        p_text(e.p_value)
    );
    crate::outln!("             {}", e.verdict);
    let v = &r.revenue;
    crate::outln!(
        "  revenue    treatment {:.2}  control {:.2} per customer  difference {} [{}, {}] {}",
        v.treatment,
        v.control,
        money(v.difference),
        money(v.ci_low),
        money(v.ci_high),
        p_text(v.p_value)
    );
    crate::outln!("             {}", v.verdict);
    let k = &r.contacted_only;
    if k.n_treatment == 0 {
        crate::outln!("  contacted only: no customer recorded as reached");
    } else {
        crate::outln!(
            "  contacted only (not randomised): {} of {} reached vs control {}: {} pts [{}, {}]",
            pct(k.treatment),
            k.n_treatment,
            pct(k.control),
            pts(k.difference),
            pts(k.ci_low),
            pts(k.ci_high)
        );
    }
    let o = &r.outcomes;
    crate::outln!(
        "  outcomes: {} reached, {} accepted, {} declined, {} no answer, {} not worked",
        o.reached,
        o.accepted,
        o.declined,
        o.no_answer,
        o.not_worked
    );
    crate::outln!(
        "  cost {:.2} for {} contacted; incremental revenue {:.2}; return {}",
        r.cost.total,
        r.cost.contacted,
        r.cost.incremental_revenue,
        if r.cost.roi.is_some() {
            r.cost.roi_text()
        } else {
            "- (no cost)".into()
        }
    );
    if r.cost.roi.is_some() {
        crate::outln!("             {}", r.cost.roi_verdict);
    }
    if let Some(q) = r.qini_coefficient {
        crate::outln!(
            "  Qini coefficient {q:.3} (ranking by value at risk; 0 = no better than random)"
        );
    }
    if !r.by_decile.is_empty() {
        crate::outln!("  uplift by decile of churn before the campaign:");
        for d in &r.by_decile {
            crate::outln!(
                "    {:>2}  churn {:>3.0}-{:>3.0}%  treated {:>6} {:>7}  control {:>6} {:>7}  uplift {}",
                d.decile,
                100.0 * d.churn_from,
                100.0 * d.churn_to,
                d.n_treatment,
                d.treatment_rate.map(pct).unwrap_or_else(|| "-".into()),
                d.n_control,
                d.control_rate.map(pct).unwrap_or_else(|| "-".into()),
                d.uplift.map(|u| format!("{} pts", pts(u))).unwrap_or_else(|| "-".into())
            );
        }
    }
    for n in &r.notes {
        crate::outln!("note: {}", crate::term::safe(n));
    }
    Ok(OK)
}
