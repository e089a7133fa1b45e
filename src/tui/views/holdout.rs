//! `:holdout`: does the CLV model predict time it has not seen? The
//! tracking plot (the cohort's cumulative repeat purchases, actual and
//! expected, with the holdout start marked) above the calibration-vs-holdout
//! table and the errors. Any key closes it.

use super::format;
use crate::tui::app::AppState;
use crate::tui::theme::Theme;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Color;
use ratatui::symbols;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Axis, Block, Borders, Chart, Clear, Dataset, GraphType, Paragraph};
use ratatui::Frame;

/// Clear a near-full-screen box with a title; returns the inside.
fn overlay(f: &mut Frame, area: Rect, title: String, theme: &Theme) -> Rect {
    let rect = super::centered(
        area,
        area.width.saturating_sub(2),
        area.height.saturating_sub(2),
    );
    f.render_widget(Clear, rect);
    let outer = Block::default()
        .borders(Borders::ALL)
        .title(Span::styled(title, theme.title()));
    let inner = outer.inner(rect);
    f.render_widget(outer, rect);
    inner
}

pub fn render(state: &AppState, f: &mut Frame, area: Rect, theme: &Theme) {
    let Some(r) = state.holdout.as_deref() else {
        return;
    };
    let inner = overlay(
        f,
        area,
        format!(
            " CLV holdout ({}): fit to {}, checked {} to {} · Esc ",
            r.model, r.calibration_end, r.holdout_start, r.holdout_end
        ),
        theme,
    );
    let table_h = (r.by_frequency.len() as u16 + 3).min(inner.height / 2);
    let [summary, chart_area, table_area] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(5),
        Constraint::Length(table_h),
    ])
    .areas(inner);
    f.render_widget(
        Paragraph::new(Line::from(vec![
            Span::styled("holdout ", theme.dim()),
            Span::raw(format!(
                "predicted {} · actual {} ({:+.1}%) · MAE {:.3} · RMSE {:.3} · n {}",
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
    // The model as a dotted line (every other period, single braille
    // dots) on the same braille grid as the actual line: told apart
    // without colour, and drawn at the same heights (ratatui's `Dot` grid
    // rounds to whole cells, so at 80x24 it sat a row above the actual).
    let expected: Vec<(f64, f64)> = r
        .tracking
        .iter()
        .filter(|t| t.period % 2 == 0)
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
    let sets = vec![
        Dataset::default()
            .name("model")
            .marker(symbols::Marker::Braille)
            .graph_type(GraphType::Scatter)
            .style(theme.fg(Color::Yellow))
            .data(&expected),
        Dataset::default()
            .name("actual")
            .marker(symbols::Marker::Braille)
            .graph_type(GraphType::Line)
            .style(theme.fg(Color::Cyan))
            .data(&actual),
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
                " Tracking: cumulative repeat purchases per {} · ⠒ actual · ⠂⠂ model · ⡇ holdout ",
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
            // Only BG/NBD has the period-transactions expectation here.
            .unwrap_or_else(|| "-".into());
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

/// `:matrix`: the active CLV fit's expected purchases and P(alive) by
/// frequency (rows) and recency (columns), as two shaded heatmaps.
pub fn render_matrices(state: &AppState, f: &mut Frame, area: Rect, theme: &Theme) {
    let Some(m) = state.matrices.as_deref() else {
        return;
    };
    let inner = overlay(
        f,
        area,
        format!(
            " CLV by frequency (rows) and recency (columns), T = {:.0} {}s · Esc ",
            m.t,
            state
                .dashboard
                .as_ref()
                .and_then(|d| d.agg.fit.as_ref().map(|f| f.time_unit.clone()))
                .unwrap_or_else(|| "unit".into())
        ),
        theme,
    );
    let wide = inner.width >= 2 * (m.recency.len() as u16 + 8);
    let [a, b] = if wide {
        Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(inner)
    } else {
        Layout::vertical([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(inner)
    };
    heatmap(
        f,
        a,
        theme,
        " Expected purchases, next unit ",
        &m.frequency,
        &m.recency,
        &m.expected,
    );
    heatmap(
        f,
        b,
        theme,
        " P(alive) ",
        &m.frequency,
        &m.recency,
        &m.p_alive,
    );
}

/// A matrix as shades (darkest = largest), rows labelled by frequency,
/// scaled to its largest value (said in the title).
fn heatmap(
    f: &mut Frame,
    area: Rect,
    theme: &Theme,
    title: &str,
    rows: &[f64],
    cols: &[f64],
    v: &[Vec<f64>],
) {
    const SHADES: [&str; 5] = [" ", "░", "▒", "▓", "█"];
    let max = v
        .iter()
        .flatten()
        .copied()
        .filter(|x| x.is_finite())
        .fold(0.0, f64::max)
        .max(1e-12);
    let block = Block::default().borders(Borders::ALL).title(Span::styled(
        format!("{title}· █ = {max:.2} "),
        theme.title(),
    ));
    let inner = block.inner(area);
    f.render_widget(block, area);
    let width = inner.width.saturating_sub(4) as usize;
    // Columns shown: every k-th recency so the row fits, each as wide as
    // the area allows (40 recencies in 69 cells left 40% of it blank,
    // which read as "lowest").
    let step = cols.len().div_ceil(width.max(1)).max(1);
    let shown = cols.len().div_ceil(step).max(1);
    // The c-th shown column's cells: the widths add up to the row's.
    let cw = |c: usize| ((c + 1) * width / shown - c * width / shown).max(1);
    let height = inner.height.saturating_sub(1) as usize;
    let rstep = rows.len().div_ceil(height.max(1)).max(1);
    let mut lines = Vec::new();
    for (i, x) in rows.iter().enumerate().step_by(rstep).rev() {
        let mut s = format!("{:>3} ", *x as i64);
        for (c, j) in (0..cols.len()).step_by(step).enumerate() {
            let val = v.get(i).and_then(|r| r.get(j)).copied().unwrap_or(f64::NAN);
            let k = if val.is_finite() {
                ((val / max) * 4.0).round().clamp(0.0, 4.0) as usize
            } else {
                0
            };
            s.push_str(&SHADES[k].repeat(cw(c)));
        }
        lines.push(Line::from(s));
    }
    lines.push(Line::from(Span::styled(
        format!(
            "    recency 0 → {:.0}; rows: repeat purchases",
            cols.last().copied().unwrap_or(0.0)
        ),
        theme.dim(),
    )));
    f.render_widget(Paragraph::new(lines), inner);
}

/// `:survival [BY]`: one Kaplan-Meier curve per group, their medians and
/// the log-rank test.
pub fn render_survival(state: &AppState, f: &mut Frame, area: Rect, theme: &Theme) {
    let Some(r) = state.survival.as_deref() else {
        return;
    };
    let inner = overlay(
        f,
        area,
        format!(
            " Retention by {} · {} · Esc ",
            r.by.as_deref().unwrap_or("(all)"),
            r.duration
        ),
        theme,
    );
    let legend_h = (r.groups.len() as u16 + 2).min(inner.height / 2);
    let [chart_area, legend] =
        Layout::vertical([Constraint::Min(5), Constraint::Length(legend_h)]).areas(inner);
    const COLORS: [Color; 6] = [
        Color::Cyan,
        Color::Yellow,
        Color::Green,
        Color::Magenta,
        Color::Red,
        Color::Blue,
    ];
    // Told apart without colour too: each group its own marker.
    const MARKS: [&str; 5] = ["⠒", "•", "█", "▄", "▀"];
    const MARKERS: [symbols::Marker; 5] = [
        symbols::Marker::Braille,
        symbols::Marker::Dot,
        symbols::Marker::Block,
        symbols::Marker::Bar,
        symbols::Marker::HalfBlock,
    ];
    let points: Vec<Vec<(f64, f64)>> = r
        .groups
        .iter()
        .map(|g| g.curve.iter().map(|p| (p.time, p.survival)).collect())
        .collect();
    let max_t = points.iter().flatten().map(|p| p.0).fold(1.0, f64::max);
    let sets: Vec<Dataset> = r
        .groups
        .iter()
        .zip(&points)
        .enumerate()
        .map(|(i, (g, pts))| {
            let style = theme.fg(COLORS[i % COLORS.len()]);
            Dataset::default()
                .name(crate::term::safe(&g.group))
                .marker(MARKERS[i % MARKERS.len()])
                .graph_type(GraphType::Line)
                .style(style)
                .data(pts)
        })
        .collect();
    let chart = Chart::new(sets)
        .legend_position(None)
        .block(
            Block::default()
                .borders(Borders::ALL)
                .title(Span::styled(" Share still a customer ", theme.title())),
        )
        .x_axis(Axis::default().bounds([0.0, max_t]).labels(vec![
            Line::from("0"),
            Line::from(format!("{:.0}", max_t / 2.0)),
            Line::from(format!("{max_t:.0}")),
        ]))
        .y_axis(Axis::default().bounds([0.0, 1.0]).labels(vec![
            Line::from("0%"),
            Line::from("50%"),
            Line::from("100%"),
        ]));
    f.render_widget(chart, chart_area);
    let mut lines: Vec<Line> = r
        .groups
        .iter()
        .enumerate()
        .map(|(i, g)| {
            Line::from(vec![
                Span::styled(
                    format!(" {} ", MARKS[i % MARKS.len()]),
                    theme.fg(COLORS[i % COLORS.len()]),
                ),
                Span::raw(format!(
                    "{:<18} n {:>9}  left {:>8}  median {}",
                    format::fit(&crate::term::safe(&g.group), 18),
                    format::count(g.customers as i64),
                    format::count(g.events as i64),
                    g.median
                        .map(|m| format!("{m:.0}"))
                        .unwrap_or_else(|| "not yet".into())
                )),
            ])
        })
        .collect();
    lines.push(Line::from(Span::styled(
        match &r.logrank {
            Some(l) => format!(
                " log-rank chi² {:.1}, {} df, p {}",
                l.statistic,
                l.df,
                l.p_text()
            ),
            None => " one group: no test".into(),
        },
        theme.dim(),
    )));
    f.render_widget(Paragraph::new(lines), legend);
}

/// `:cohorts`: each first-order month's customers and the share of them
/// ordering in each month since, shaded (darker = more).
pub fn render_cohorts(state: &AppState, f: &mut Frame, area: Rect, theme: &Theme) {
    let Some(t) = state.cohorts.as_deref() else {
        return;
    };
    let inner = overlay(
        f,
        area,
        " Cohort retention: share ordering k months after the first · Esc ".into(),
        theme,
    );
    // As many months as fit (5 columns each after the 19 of the labels).
    let k = t
        .cohorts
        .first()
        .map(|c| c.active.len())
        .unwrap_or(0)
        .min((inner.width.saturating_sub(19) / 5) as usize);
    let mut head = format!("{:<8} {:>9} ", "cohort", "customers");
    for i in 0..k {
        head.push_str(&format!("{:>5}", format!("+{i}")));
    }
    let mut lines = vec![Line::from(Span::styled(head, theme.header()))];
    for c in &t.cohorts {
        let mut spans = vec![Span::raw(format!(
            "{:<8} {:>9} ",
            c.month,
            format::count(c.customers as i64)
        ))];
        for (i, a) in c.active.iter().take(k).enumerate() {
            spans.push(match a {
                None => Span::raw(format!("{:>5}", "")),
                // The data's last month, not over yet: so far, at least.
                Some(v) if c.partial_at == Some(i) => {
                    Span::styled(format!("{:>5}", format!("≥{:.0}%", v * 100.0)), theme.dim())
                }
                Some(v) => {
                    // The 16-colour palette: three bands.
                    let style = if *v >= 0.5 {
                        theme.good()
                    } else if *v >= 0.2 {
                        theme.accent()
                    } else {
                        theme.dim()
                    };
                    Span::styled(format!("{:>4.0}%", v * 100.0), style)
                }
            });
        }
        lines.push(Line::from(spans));
    }
    lines.push(Line::from(Span::styled(
        if t.cohorts.iter().any(|c| c.partial_at.is_some()) {
            " +0: first month (100%); blank: not reached; ≥: last month, so far"
        } else {
            " +0 is the first month (100%); blank: not reached yet"
        },
        theme.dim(),
    )));
    f.render_widget(Paragraph::new(lines), inner);
}
