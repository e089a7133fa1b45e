//! The CLV ranking: rank, CLV, share and cumulative share of total value,
//! the Pareto curve, a segment filter, and the fit in the header.

use super::format::{self, fit};
use super::table::{plain, styled, ColumnDef};
use crate::analytics::rfm;
use crate::tui::app::AppState;
use crate::tui::layout;
use crate::tui::theme::Theme;
use crate::tui::worker::Extra;
use ratatui::layout::Rect;
use ratatui::style::Color;
use ratatui::symbols;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Axis, Block, Borders, Chart, Dataset, GraphType, Paragraph, Wrap};
use ratatui::Frame;

/// The CLV screen's columns: rank, the customer's, and value shares.
pub const CLV_COLUMNS: &[ColumnDef] = &[
    ColumnDef::new("rank", "rank", 7).right().pinned(),
    ColumnDef::new("id", "id", 9),
    ColumnDef::new("name", "name", 8).flex(),
    ColumnDef::new("rfm", "RFM segment", 16).prio(2),
    ColumnDef::new("clv", "CLV", 9).right(),
    ColumnDef::new("share", "share", 6).right().prio(1),
    ColumnDef::new("cumulative", "cum.", 6).right().prio(1),
    ColumnDef::new("churn", "churn %", 7).right().extra(),
    ColumnDef::new("orders", "orders", 6).right().extra(),
    ColumnDef::new("revenue", "revenue", 9).right().extra(),
    ColumnDef::new("segment", "segment", 14).extra(),
    ColumnDef::new("plan", "plan", 8).extra(),
];

pub fn render(state: &AppState, f: &mut Frame, area: Rect, theme: &Theme) {
    let l = layout::list_screen(crate::tui::app::Screen::Clv, area);
    let list = &state.clv;
    let fit_ = state.dashboard.as_ref().and_then(|d| d.agg.fit.clone());
    let seg = state
        .segment_filter
        .map(|i| rfm::SEGMENTS[i])
        .unwrap_or("all segments");
    let header: Vec<Line> = match &fit_ {
        Some(fb) => vec![
            Line::from(vec![
                Span::styled(format!(" CLV fit #{} ", fb.id), theme.title()),
                Span::raw(format!(
                    "as of {} · {} months · total {}{} · segment: ",
                    fb.as_of,
                    fb.horizon_months,
                    format::money_short(fb.total_clv),
                    state
                        .config
                        .currency
                        .as_deref()
                        .map(|c| format!(" {}", crate::term::safe(c)))
                        .unwrap_or_default(),
                )),
                Span::styled(seg, theme.accent()),
            ]),
            // The model first, then its economics: as many as the width
            // shows, "…" for the rest (all of it in `crmtop clv --json`).
            Line::from(Span::styled(
                format!(
                    " {}",
                    format::fit_parts(
                        &[
                            fb.family
                                .clone()
                                .unwrap_or_else(|| "no repeat-purchase model".into()),
                            format!("unit {}", fb.time_unit),
                            format!("margin {}", format::percent(fb.margin)),
                            format!("discount {}/month", format::percent(fb.discount_rate)),
                            format!(
                                "Gamma-Gamma p {} q {} γ {}",
                                p4(fb.p),
                                p4(fb.q),
                                p4(fb.gamma)
                            ),
                            fb.chosen_because
                                .as_ref()
                                .map(|n| format!("auto: {}", fit(n, 80)))
                                .unwrap_or_default(),
                            fb.note.as_ref().map(|n| fit(n, 60)).unwrap_or_default(),
                        ]
                        .into_iter()
                        .filter(|p| !p.is_empty())
                        .collect::<Vec<_>>(),
                        (l.header.width as usize).saturating_sub(1),
                    )
                ),
                theme.dim(),
            )),
        ],
        None => vec![Line::from(Span::styled(" no CLV fit yet", theme.warn()))],
    };
    f.render_widget(Paragraph::new(header), l.header);
    if fit_.is_none() && !list.loading && list.rows.iter().all(|r| r.clv.is_none()) {
        let msg = if state.empty_db == Some(true) {
            super::customers::empty_hint(state, list).unwrap_or_default()
        } else {
            "No CLV yet.\n\nPress R here to fit BG/NBD + Gamma-Gamma on the order history (or run `crmtop clv`);\n\
             `:clv --horizon-months 24` sets the horizon."
                .to_string()
        };
        f.render_widget(
            Paragraph::new(msg).wrap(Wrap { trim: false }).block(
                Block::default()
                    .borders(Borders::ALL)
                    .title(Span::styled(" CLV ranking ", theme.title())),
            ),
            l.table,
        );
    } else {
        let q = &list.query;
        let ranked = q.sort == crate::store::list::SortColumn::Clv
            && q.descending
            && q.filter.as_deref().is_none_or(str::is_empty)
            && q.cluster.is_none()
            && q.churn_band.is_none();
        let whole = format::whole_units(list.rows.iter().filter_map(|r| r.clv));
        super::customers::draw_rows(
            state,
            f,
            l.table,
            theme,
            list,
            "clv",
            CLV_COLUMNS,
            match &list.query.rfm_segment {
                // (Segment names are our own constants.)
                Some(seg) => format!(" CLV ranking · {seg} (shares of the segment) "),
                None => " CLV ranking ".into(),
            },
            &|i, r, key| match key {
                // A rank by CLV (within the segment when one is chosen):
                // in another order, or among a search's matches, a row's
                // place is not its rank ("row N of M" below gives it).
                "rank" if !ranked => Some(plain(String::from("-"))),
                "rank" => Some(plain(
                    list.base
                        .map(|b| format::count(b + i as i64 + 1))
                        .unwrap_or_else(|| "?".into()),
                )),
                "clv" => Some(styled(
                    r.clv
                        .map(|v| format::money_in_column(v, whole))
                        .unwrap_or_else(|| "-".into()),
                    theme.good(),
                )),
                "share" | "cumulative" => Some(plain(match list.extra(i) {
                    Extra::Share { share, .. } if key == "share" => {
                        format!("{:.2}%", share * 100.0)
                    }
                    Extra::Share {
                        cumulative: Some(c),
                        ..
                    } => format!("{:.1}%", c * 100.0),
                    _ => "-".into(),
                })),
                _ => None,
            },
        );
    }
    if let Some(panel) = l.panel {
        render_pareto(state, f, panel, theme);
    }
    f.render_widget(
        Paragraph::new(super::customers::footer(state, list, theme)),
        l.footer,
    );
}

fn p4(x: Option<f64>) -> String {
    x.map(|v| format!("{v:.3}")).unwrap_or_else(|| "-".into())
}

/// Share of total value against share of customers, highest CLV first.
fn render_pareto(state: &AppState, f: &mut Frame, area: Rect, theme: &Theme) {
    let block = Block::default()
        .borders(Borders::ALL)
        .title(Span::styled(" Pareto: share of value ", theme.title()));
    let Some(d) = state.dashboard.as_ref().filter(|d| d.agg.pareto.len() > 2) else {
        f.render_widget(Paragraph::new("no CLV").block(block), area);
        return;
    };
    let pts: Vec<(f64, f64)> = d
        .agg
        .pareto
        .iter()
        .map(|(x, y)| (x * 100.0, y * 100.0))
        .collect();
    let top20 = d
        .agg
        .pareto
        .iter()
        .find(|(x, _)| *x >= 0.2)
        .map(|(_, y)| *y)
        .unwrap_or(0.0);
    let ds = Dataset::default()
        .name(format!("top 20% hold {:.0}%", top20 * 100.0))
        .marker(symbols::Marker::Braille)
        .graph_type(GraphType::Line)
        .style(theme.fg(Color::Green))
        .data(&pts);
    let chart = Chart::new(vec![ds])
        .block(block)
        .x_axis(Axis::default().bounds([0.0, 100.0]).labels(vec![
            Span::raw("0"),
            Span::raw("customers %"),
            Span::raw("100"),
        ]))
        .y_axis(
            Axis::default()
                .bounds([0.0, 100.0])
                .labels(vec![Span::raw("0"), Span::raw("100")]),
        );
    f.render_widget(chart, area);
}
