//! `crmtop survival`: Kaplan-Meier retention curves by group, with the
//! log-rank test between the groups.

use super::{print_json, Ctx, OK};
use crate::analytics::survival::{self, Subject, SurvivalReport};
use crate::error::Result;
use crate::store;
use clap::Args;

#[derive(Debug, Args, Clone)]
pub struct SurvivalArgs {
    /// Group the curves by plan, segment, region or a customer attribute
    #[arg(long, value_name = "COLUMN")]
    pub by: Option<String>,
    /// A numeric customer attribute holding each customer's time observed
    /// (e.g. Telco's tenure, in months) [default: months from the customer's
    /// start to their last order if they left, else to the latest order]
    #[arg(long, value_name = "ATTRIBUTE")]
    pub duration: Option<String>,
    /// What counts as leaving: `churned` (the label column; for customers
    /// without a label, no order in the last 365 days) or an attribute with
    /// yes/no values
    #[arg(long, value_name = "churned|ATTRIBUTE", default_value = "churned")]
    pub event: String,
    /// Print JSON (every point of every curve) instead of the table
    #[arg(long)]
    pub json: bool,
}

pub fn survival(ctx: &Ctx, a: SurvivalArgs) -> Result<i32> {
    let db = ctx.open_db_for_read()?;
    let found = store::survival::subjects(&db, a.duration.as_deref(), &a.event, a.by.as_deref())?;
    let subjects = Subject::from_rows(found.rows);
    let r = survival::report(
        &subjects,
        a.duration.as_deref().unwrap_or("months since start"),
        &found.event,
        a.by.as_deref(),
    )?;
    if a.json {
        print_json(&r)?;
    } else {
        print_report(&r);
    }
    Ok(OK)
}

fn print_report(r: &SurvivalReport) {
    crate::outln!(
        "Kaplan-Meier survival by {} (duration: {}, event: {}), 95% confidence bands",
        r.by.as_deref().unwrap_or("(all)"),
        r.duration,
        r.event
    );
    crate::outln!("S(t): survival at t [95% band]; a curve ends at its group's longest duration");
    // Survival at a few times along the longest duration.
    let max = r
        .groups
        .iter()
        .flat_map(|g| g.curve.last().map(|p| p.time))
        .fold(0.0, f64::max);
    let marks: Vec<f64> = (1..=6).map(|k| (max * k as f64 / 6.0).round()).collect();
    let head: String = marks
        .iter()
        .map(|t| format!(" {:>17}", format!("S({t})")))
        .collect();
    crate::outln!(
        "{:<20} {:>8} {:>8} {:>8}{head}",
        "group",
        "n",
        "events",
        "median"
    );
    for g in &r.groups {
        let at = |t: f64| {
            g.curve
                .iter()
                .take_while(|p| p.time <= t)
                .last()
                .map(|p| format!("{:.3} [{:.2}-{:.2}]", p.survival, p.ci_low, p.ci_high))
                .unwrap_or_default()
        };
        let cells: String = marks.iter().map(|&t| format!(" {:>17}", at(t))).collect();
        crate::outln!(
            "{:<20} {:>8} {:>8} {:>8}{cells}",
            crate::term::safe(&g.group),
            g.customers,
            g.events,
            g.median
                .map(|m| format!("{m:.0}"))
                .unwrap_or_else(|| "not yet".into()),
        );
    }
    match &r.logrank {
        Some(l) => crate::outln!(
            "log-rank test between the groups: chi-squared {:.3} with {} df, p {}{}",
            l.statistic,
            l.df,
            l.p_text(),
            if l.p_value < 0.05 {
                " (the curves differ)"
            } else {
                " (no evidence the curves differ)"
            }
        ),
        None => crate::outln!("(one group: no log-rank test)"),
    }
}
