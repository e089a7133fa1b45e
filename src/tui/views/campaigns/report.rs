//! An opened campaign's report: treatment against control with intervals,
//! the contacted-only estimate, outcomes, cost and return.

use super::super::format;
use super::super::pane::Pane;
use crate::analytics::campaign::report::{p_text, pct, pts, Measured};
use crate::tui::app::OpenedCampaign;
use crate::tui::theme::Theme;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

pub(super) fn report_pane(o: &OpenedCampaign, area: Rect, theme: &Theme) -> Pane {
    let lines: Vec<Line<'static>> = match &o.report {
        None => vec![Line::from(Span::styled("measuring…", theme.dim()))],
        Some(Err(e)) => vec![Line::from(Span::styled(e.clone(), theme.warn()))],
        Some(Ok(m)) => report_lines(m, theme),
    };
    let mut p = Pane::new(
        area,
        "Report: treatment against control (intention to treat)",
        lines,
    );
    // Table-like lines stay on one line each; a message wraps.
    p.wrap = matches!(o.report, Some(Err(_)));
    p
}

fn report_lines(m: &Measured, theme: &Theme) -> Vec<Line<'static>> {
    let r = &m.report;
    let e = &r.retention;
    let sig = |lo: f64, hi: f64| {
        if lo > 0.0 {
            theme.good()
        } else if hi < 0.0 {
            theme.bad()
        } else {
            theme.base()
        }
    };
    let mut out = vec![
        Line::from(vec![
            Span::styled("retained ", theme.header()),
            Span::raw(format!(
                "{} of {} vs {} of {}  ",
                pct(e.treatment),
                format::count(e.n_treatment as i64),
                pct(e.control),
                format::count(e.n_control as i64)
            )),
            Span::styled(
                format!(
                    "{} pts [{}, {}]",
                    pts(e.difference),
                    pts(e.ci_low),
                    pts(e.ci_high)
                ),
                sig(e.ci_low, e.ci_high),
            ),
            Span::raw(format!(" {}", p_text(e.p_value))),
        ]),
        Line::from(Span::styled(format!("  {}", e.verdict), theme.dim())),
    ];
    let v = &r.revenue;
    out.push(Line::from(vec![
        Span::styled("revenue  ", theme.header()),
        Span::raw(format!(
            "{} vs {} per customer  ",
            money(v.treatment),
            money(v.control)
        )),
        Span::styled(
            format!(
                "{} [{}, {}]",
                money(v.difference),
                money(v.ci_low),
                money(v.ci_high)
            ),
            sig(v.ci_low, v.ci_high),
        ),
        Span::raw(format!(" {}", p_text(v.p_value))),
    ]));
    let k = &r.contacted_only;
    out.push(Line::from(vec![
        Span::styled("contacted only (not random) ", theme.header()),
        Span::raw(if k.n_treatment == 0 {
            "no customer recorded as reached".to_string()
        } else {
            format!(
                "{} of {} vs {}: {} pts [{}, {}]",
                pct(k.treatment),
                format::count(k.n_treatment as i64),
                pct(k.control),
                pts(k.difference),
                pts(k.ci_low),
                pts(k.ci_high)
            )
        }),
    ]));
    let oc = &r.outcomes;
    let mut worked = format!(
        "{} accepted · {} declined · {} reached · {} no answer",
        format::count(oc.accepted as i64),
        format::count(oc.declined as i64),
        format::count(oc.reached as i64),
        format::count(oc.no_answer as i64),
    );
    if oc.not_worked > 0 {
        worked.push_str(&format!(
            " · {} not worked",
            format::count(oc.not_worked as i64)
        ));
    }
    out.push(Line::from(vec![
        Span::styled("outcomes ", theme.header()),
        Span::raw(worked),
    ]));
    out.push(Line::from(vec![
        Span::styled("cost ", theme.header()),
        Span::raw(format!(
            "{} · incremental revenue {} · return {}{}",
            money(r.cost.total),
            money(r.cost.incremental_revenue),
            r.cost.roi_text(),
            r.qini_coefficient
                .map(|q| format!(" · Qini {q:.3}"))
                .unwrap_or_default()
        )),
    ]));
    for n in r
        .notes
        .iter()
        .filter(|n| !n.starts_with(crate::tui::app::CONTACTED_NOTE))
    {
        out.push(Line::from(Span::styled(format!("note: {n}"), theme.warn())));
    }
    out
}

/// Money, or `-` for a figure that could not be computed.
fn money(v: f64) -> String {
    if v.is_finite() {
        format::money(v)
    } else {
        "-".into()
    }
}
