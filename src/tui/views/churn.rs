//! Customers by churn risk with their top drivers; risk-band filter; score
//! distribution; the active model in the header.

use super::format::fit;
use super::table::{plain, ColumnDef};
use crate::store::list::SortColumn;
use crate::tui::app::AppState;
use crate::tui::layout;
use crate::tui::theme::Theme;
use crate::tui::worker::Extra;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Bar, BarChart, BarGroup, Block, Borders, Paragraph, Wrap};
use ratatui::Frame;

/// The churn screen's columns: the customer's, and its top drivers.
pub const CHURN_COLUMNS: &[ColumnDef] = &[
    ColumnDef::new("id", "id", 9).pinned(),
    ColumnDef::new("name", "name", 16),
    ColumnDef::new("churn", "churn", 6).right(),
    ColumnDef::new("clv", "CLV", 8).right().prio(1),
    ColumnDef::new("action", "next action", 11).prio(2),
    ColumnDef::new("drivers", "top drivers", 10).flex(),
    ColumnDef::new("segment", "segment", 14).extra(),
    ColumnDef::new("plan", "plan", 8).extra(),
    ColumnDef::new("tenure", "tenure", 7).right().extra(),
    ColumnDef::new("last_order", "last order", 10).extra(),
    ColumnDef::new("orders", "orders", 6).right().extra(),
    ColumnDef::new("revenue", "revenue", 9).right().extra(),
    ColumnDef::new("rfm", "RFM segment", 18).extra(),
];

pub fn render(state: &AppState, f: &mut Frame, area: Rect, theme: &Theme) {
    let l = layout::list_screen(crate::tui::app::Screen::Churn, area);
    let list = &state.churn;
    let model = state.dashboard.as_ref().and_then(|d| d.agg.model.clone());
    let header = match &model {
        Some(m) => Line::from(vec![
            Span::styled(format!(" model v{} ", m.id), theme.title()),
            Span::raw(format!(
                "{} AUC {} · ",
                m.kind,
                m.auc
                    .map(|a| format!("{a:.3}"))
                    .unwrap_or_else(|| "-".into()),
            )),
            // Narrow: the thresholds in short, so the window still fits.
            Span::styled(
                if area.width >= 100 {
                    format!(
                        "band {} (high >= {:.0}%, medium >= {:.0}%)",
                        state.band.label(),
                        state.config.thresholds.high * 100.0,
                        state.config.thresholds.medium * 100.0
                    )
                } else {
                    format!(
                        "band {} (high {:.0}%+, med {:.0}%+)",
                        state.band.label(),
                        state.config.thresholds.high * 100.0,
                        state.config.thresholds.medium * 100.0
                    )
                },
                theme.accent(),
            ),
            // Narrow: the window only (the Models screen has the rest).
            Span::raw(if area.width >= 120 {
                format!(
                    " · trained {} by {} · {}-day window",
                    crate::timeutil::ts_to_minute_string(m.created_at),
                    fit(&m.agent, 10),
                    m.window_days,
                )
            } else {
                format!(" · {}-day window", m.window_days)
            }),
        ]),
        None if state.dashboard.as_ref().is_some_and(|d| d.agg.scored > 0) => {
            Line::from(Span::styled(
                " scores carried from a file, no model here: R trains one",
                theme.warn(),
            ))
        }
        None => Line::from(Span::styled(" no active churn model", theme.warn())),
    };
    f.render_widget(Paragraph::new(header), l.header);
    let no_model = state
        .dashboard
        .as_ref()
        .is_some_and(|d| d.agg.model.is_none() && d.agg.scored == 0);
    if no_model
        || (list.rows.is_empty()
            && !list.loading
            && list.query.churn_band.is_none()
            && list.query.filter.is_none()
            && list.query.cluster.is_none())
    {
        let msg = if state.empty_db == Some(true) {
            super::customers::empty_hint(state, list).unwrap_or_default()
        } else {
            "No churn model yet.\n\nPress R to train one (logistic regression on orders, events, feedback and attributes),\n\
             or run `crmtop train` in a shell. `:train random_forest` trains a comparison model."
                .to_string()
        };
        f.render_widget(
            Paragraph::new(msg).wrap(Wrap { trim: false }).block(
                Block::default()
                    .borders(Borders::ALL)
                    .title(Span::styled(" Churn risk ", theme.title())),
            ),
            l.table,
        );
    } else {
        super::customers::draw_rows(
            state,
            f,
            l.table,
            theme,
            list,
            "churn",
            CHURN_COLUMNS,
            match (list.query.sort, list.query.descending) {
                (SortColumn::Churn, true) => " Churn risk (riskiest first) ".into(),
                (SortColumn::Churn, false) => " Churn risk (safest first) ".into(),
                (other, _) => format!(" Churn risk (by {}) ", other.title()),
            },
            &|i, _, key| match (key, list.extra(i)) {
                ("drivers", Extra::Churn { drivers, .. }) => Some(plain(drivers.clone())),
                ("action", Extra::Churn { action, .. }) => Some(plain(action.clone())),
                ("drivers" | "action", _) => Some(plain("")),
                _ => None,
            },
        );
    }
    if let Some(panel) = l.panel {
        render_histogram(state, f, panel, theme);
    }
    f.render_widget(
        Paragraph::new(super::customers::footer(state, list, theme)),
        l.footer,
    );
}

/// The score distribution.
pub fn render_histogram(state: &AppState, f: &mut Frame, area: Rect, theme: &Theme) {
    let block = Block::default()
        .borders(Borders::ALL)
        .title(Span::styled(" Score distribution (%) ", theme.title()));
    let Some(d) = state.dashboard.as_ref().filter(|d| d.agg.scored > 0) else {
        f.render_widget(Paragraph::new("no scores").block(block), area);
        return;
    };
    let bars: Vec<Bar> = d
        .agg
        .histogram
        .iter()
        .enumerate()
        .map(|(i, &n)| {
            Bar::default()
                .value(n.max(0) as u64)
                .label(Line::from(format!("{}", i * 10)))
                .style(theme.risk(
                    i as f64 / 10.0 + 0.05,
                    state.config.thresholds.medium,
                    state.config.thresholds.high,
                ))
                .text_value(String::new())
        })
        .collect();
    let w = (area.width.saturating_sub(2) / 10)
        .saturating_sub(1)
        .clamp(1, 5);
    f.render_widget(
        BarChart::default()
            .block(block)
            .data(BarGroup::default().bars(&bars))
            .bar_width(w)
            .bar_gap(1),
        area,
    );
}
