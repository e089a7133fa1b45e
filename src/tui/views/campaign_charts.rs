//! The Campaigns screen's charts: uplift by decile of churn before the
//! campaign, and the Qini curve of its order against random.

use super::format::{self, fit};
use crate::analytics::campaign::report::{pct, pts};
use crate::tui::app::OpenedCampaign;
use crate::tui::theme::Theme;
use ratatui::layout::Rect;
use ratatui::style::Color;
use ratatui::symbols;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Axis, Block, Borders, Chart, Dataset, GraphType, Paragraph, Wrap};
use ratatui::Frame;

pub fn render_deciles(o: &OpenedCampaign, f: &mut Frame, area: Rect, theme: &Theme) {
    // No border: a title line and ten deciles fit the lower half at 80x24.
    let m = match &o.report {
        Some(Ok(m)) => m,
        Some(Err(e)) => {
            let text = format!(" Uplift by decile: {e}");
            f.render_widget(
                Paragraph::new(Span::styled(text, theme.warn())).wrap(Wrap { trim: false }),
                area,
            );
            return;
        }
        None => {
            f.render_widget(Paragraph::new(" measuring…"), area);
            return;
        }
    };
    let mut lines = vec![Line::from(vec![
        Span::styled(" Uplift by decile of churn before it: ", theme.title()),
        Span::styled(
            "churn · treated n, retained · control n, retained · difference",
            theme.header(),
        ),
    ])];
    let max = m
        .report
        .by_decile
        .iter()
        .filter_map(|d| d.uplift)
        .map(f64::abs)
        .fold(0.0, f64::max)
        .max(1e-9);
    let bar_w = area.width.saturating_sub(58) as f64;
    for d in &m.report.by_decile {
        let rate = |n: usize, r: Option<f64>| {
            format!(
                "{:>6} {:>7}",
                format::count(n as i64),
                r.map(pct).unwrap_or_else(|| "-".into())
            )
        };
        let u = d
            .uplift
            .map(|u| format!("{} pts", pts(u)))
            .unwrap_or_else(|| "-".into());
        let bar = d
            .uplift
            .map(|u| "█".repeat(((u.abs() / max) * bar_w).round() as usize))
            .unwrap_or_default();
        let style = match d.uplift {
            Some(u) if u > 0.0 => theme.good(),
            Some(u) if u < 0.0 => theme.bad(),
            _ => theme.dim(),
        };
        lines.push(Line::from(vec![
            Span::raw(format!(
                " {:>2} {:>4.0}-{:>3.0}%  {} {} {:>9} ",
                d.decile,
                100.0 * d.churn_from,
                100.0 * d.churn_to,
                rate(d.n_treatment, d.treatment_rate),
                rate(d.n_control, d.control_rate),
                u
            )),
            Span::styled(bar, style),
        ]));
    }
    if m.report.by_decile.is_empty() {
        lines.push(Line::from(Span::styled(
            "no churn scores before the campaign: no deciles",
            theme.dim(),
        )));
    }
    // Lines past the width end in `…`; deciles past the height are said.
    let room = usize::from(area.height);
    if lines.len() > room && room > 1 {
        let hidden = lines.len() - (room - 1);
        lines.truncate(room - 1);
        lines.push(Line::from(Span::styled(
            format!(
                " +{hidden} more {} (a taller terminal shows {})",
                if hidden == 1 { "decile" } else { "deciles" },
                if hidden == 1 { "it" } else { "them" }
            ),
            theme.dim(),
        )));
    }
    let lines: Vec<Line> = lines
        .iter()
        .map(|l| super::pane::cut_line(l, usize::from(area.width)))
        .collect();
    f.render_widget(Paragraph::new(lines), area);
}

pub fn render_qini(o: &OpenedCampaign, f: &mut Frame, area: Rect, theme: &Theme) {
    let m = match &o.report {
        Some(Ok(m)) => m,
        other => {
            let (text, style) = match other {
                Some(Err(e)) => (e.clone(), theme.warn()),
                _ => ("measuring…".to_string(), theme.dim()),
            };
            f.render_widget(
                Paragraph::new(Span::styled(text, style))
                    .wrap(Wrap { trim: false })
                    .block(
                        Block::default()
                            .borders(Borders::ALL)
                            .title(Span::styled(" Qini curve ", theme.title())),
                    ),
                area,
            );
            return;
        }
    };
    let curve = &m.report.qini_curve;
    // At most a few hundred points reach the chart.
    let step = (curve.len() / 400).max(1);
    let pts_: Vec<(f64, f64)> = curve
        .iter()
        .step_by(step)
        .chain(curve.last())
        .copied()
        .collect();
    let (last_x, last_y) = curve.last().copied().unwrap_or((1.0, 0.0));
    let random = [(0.0, 0.0), (last_x, last_y)];
    let lo = pts_.iter().map(|p| p.1).fold(0.0, f64::min);
    let hi = pts_.iter().map(|p| p.1).fold(0.0, f64::max).max(lo + 1.0);
    let sets = vec![
        Dataset::default()
            .name("by value at risk")
            .marker(symbols::Marker::Braille)
            .graph_type(GraphType::Line)
            .style(theme.fg(Color::Cyan))
            .data(&pts_),
        Dataset::default()
            .name("random")
            .marker(symbols::Marker::Braille)
            .graph_type(GraphType::Line)
            .style(theme.dim())
            .data(&random),
    ];
    let title = format!(
        " Qini: incremental retained customers as targeting goes down the ranking{} ",
        m.report
            .qini_coefficient
            .map(|q| format!(" · coefficient {q:.3}"))
            .unwrap_or_default()
    );
    let chart = Chart::new(sets)
        .legend_position(None)
        .block(Block::default().borders(Borders::ALL).title(Span::styled(
            fit(&title, area.width.saturating_sub(2) as usize),
            theme.title(),
        )))
        .x_axis(Axis::default().bounds([0.0, last_x.max(1.0)]).labels(vec![
            Line::from("0"),
            Line::from(format!("{} customers", format::count(last_x as i64))),
        ]))
        .y_axis(Axis::default().bounds([lo, hi]).labels(vec![
            Line::from(format!("{lo:.0}")),
            Line::from(format!("{hi:.0}")),
        ]));
    f.render_widget(chart, area);
}
