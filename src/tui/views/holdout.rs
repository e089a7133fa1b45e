//! `:holdout`: does the CLV model predict time it has not seen? The
//! tracking plot (the cohort's cumulative repeat purchases, actual and
//! expected, with the holdout start marked) above the calibration-vs-holdout
//! table and the errors. Any key closes it.

use super::format;
use crate::tui::app::AppState;
use crate::tui::theme::Theme;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Style};
use ratatui::symbols;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Axis, Block, Borders, Chart, Clear, Dataset, GraphType, Paragraph};
use ratatui::Frame;

pub fn render(state: &AppState, f: &mut Frame, area: Rect, theme: &Theme) {
    let Some(r) = state.holdout.as_deref() else {
        return;
    };
    let rect = super::centered(
        area,
        area.width.saturating_sub(2),
        area.height.saturating_sub(2),
    );
    f.render_widget(Clear, rect);
    let outer = Block::default().borders(Borders::ALL).title(Span::styled(
        format!(
            " CLV holdout: fitted to {}, checked {} to {} (any key closes) ",
            r.calibration_end, r.holdout_start, r.holdout_end
        ),
        theme.title(),
    ));
    let inner = outer.inner(rect);
    f.render_widget(outer, rect);
    let table_h = (r.by_frequency.len() as u16 + 3).min(inner.height / 2);
    let [summary, chart_area, table_area] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(5),
        Constraint::Length(table_h),
    ])
    .areas(inner);
    f.render_widget(
        Paragraph::new(Line::from(vec![
            Span::styled("repeat purchases in holdout ", theme.dim()),
            Span::raw(format!(
                "predicted {} · actual {} ({:+.1}%) · MAE {:.3} · RMSE {:.3} · {} customers",
                format::count(r.total_predicted.round() as i64),
                format::count(r.total_actual.round() as i64),
                r.total_error_pct,
                r.mae,
                r.rmse,
                format::count(r.customers as i64)
            )),
        ])),
        summary,
    );
    // Tracking plot: cumulative, actual and expected, by period.
    let actual: Vec<(f64, f64)> = r
        .tracking
        .iter()
        .map(|t| (t.period as f64, t.actual_cumulative))
        .collect();
    let expected: Vec<(f64, f64)> = r
        .tracking
        .iter()
        .map(|t| (t.period as f64, t.expected_cumulative))
        .collect();
    let top = r
        .tracking
        .iter()
        .map(|t| t.actual_cumulative.max(t.expected_cumulative))
        .fold(1.0, f64::max);
    let split = r
        .tracking
        .iter()
        .find(|t| t.holdout)
        .map(|t| t.period as f64)
        .unwrap_or(0.0);
    let marker = [(split, 0.0), (split, top)];
    let last = r.tracking.len().saturating_sub(1) as f64;
    let color = |c: Color| {
        if theme.color {
            Style::default().fg(c)
        } else {
            Style::default()
        }
    };
    let sets = vec![
        Dataset::default()
            .name("actual")
            .marker(symbols::Marker::Braille)
            .graph_type(GraphType::Line)
            .style(color(Color::Cyan))
            .data(&actual),
        Dataset::default()
            .name("model")
            .marker(symbols::Marker::Dot)
            .graph_type(GraphType::Line)
            .style(color(Color::Yellow))
            .data(&expected),
        Dataset::default()
            .name("holdout starts")
            .marker(symbols::Marker::Braille)
            .graph_type(GraphType::Line)
            .style(theme.dim())
            .data(&marker),
    ];
    let first = r
        .tracking
        .first()
        .map(|t| t.start.clone())
        .unwrap_or_default();
    let chart = Chart::new(sets)
        .legend_position(None)
        .block(Block::default().borders(Borders::ALL).title(Span::styled(
            format!(
                " Tracking: cumulative repeat purchases per {} · ⠒ actual · • model · ⡇ holdout ",
                r.time_unit
            ),
            theme.title(),
        )))
        .x_axis(
            Axis::default()
                .bounds([0.0, last.max(1.0)])
                // Labels are spread evenly: the first day, the middle
                // period's, the last (the holdout mark shows its start).
                .labels(vec![
                    Line::from(first),
                    Line::from(
                        r.tracking
                            .get(r.tracking.len() / 2)
                            .map(|t| t.start.clone())
                            .unwrap_or_default(),
                    ),
                    Line::from(r.holdout_end.clone()),
                ]),
        )
        .y_axis(Axis::default().bounds([0.0, top]).labels(vec![
            Line::from("0"),
            Line::from(format::count_short(top as i64)),
        ]));
    f.render_widget(chart, chart_area);
    // Period transactions (customers, actual and model) beside
    // calibration vs holdout (mean holdout purchases, actual and model).
    let mut lines = vec![Line::from(Span::styled(
        format!(
            "{:>20} {:>9} {:>9} │ {:>9} {:>9}",
            "repeat purchases", "customers", "(model)", "holdout", "(model)"
        ),
        theme.header(),
    ))];
    for row in &r.by_frequency {
        let model = r
            .period_transactions
            .iter()
            .find(|p| p.repeat_purchases == row.frequency)
            .map(|p| format::count(p.expected.round() as i64))
            .unwrap_or_default();
        lines.push(Line::from(format!(
            "{:>20} {:>9} {:>9} │ {:>9.3} {:>9.3}",
            format!("{} in calibration", row.frequency),
            format::count(row.customers as i64),
            model,
            row.actual,
            row.predicted
        )));
    }
    f.render_widget(
        Paragraph::new(lines).block(Block::default().borders(Borders::TOP).title(Span::styled(
            " Customers by calibration purchases │ their mean holdout purchases ",
            theme.title(),
        ))),
        table_area,
    );
}
