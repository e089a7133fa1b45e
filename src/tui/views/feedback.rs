//! The feedback queue, by priority: what needs doing first, with its SLA
//! clock (overdue in red, and marked by text for NO_COLOR) and, below, the
//! selected item with the customer's context and why it ranks there.

use super::format::{self, fit};
use crate::analytics::priority::{self, Inputs};
use crate::analytics::sentiment;
use crate::pii;
use crate::tui::app::AppState;
use crate::tui::layout;
use crate::tui::theme::Theme;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Paragraph, Row, Table, Wrap};
use ratatui::Frame;

/// "5 h left" / "OVERDUE 3 h".
pub fn sla_text(secs: Option<i64>) -> (String, bool) {
    match secs {
        None => ("-".into(), false),
        Some(s) if s < 0 => (
            format!("OVERDUE {}", crate::timeutil::humanize_secs(-s)),
            true,
        ),
        Some(s) => (format!("{} left", crate::timeutil::humanize_secs(s)), false),
    }
}

pub fn render(state: &AppState, f: &mut Frame, area: Rect, theme: &Theme) {
    let (table, detail, footer) = layout::feedback_screen(area);
    let q = &state.queue;
    let title = format!(" Feedback queue · {} ", q.filter.label());
    if q.items.is_empty() {
        let msg = if state.empty_db == Some(true) {
            super::customers::empty_hint(state, &state.customers).unwrap_or_default()
        } else if q.loading {
            "loading…".into()
        } else {
            format!(
                "Nothing in the queue ({}).\n\nImport feedback with `crmtop import feedback FILE.csv`; f changes the filter.",
                q.filter.label()
            )
        };
        f.render_widget(
            Paragraph::new(msg).wrap(Wrap { trim: false }).block(
                Block::default()
                    .borders(Borders::ALL)
                    .title(Span::styled(title, theme.title())),
            ),
            table,
        );
    } else {
        let header = Row::new([
            "", "prio", "id", "kind", "status", "assignee", "customer", "SLA", "tone", "text",
        ])
        .style(theme.header());
        let rows: Vec<Row> = q
            .items
            .iter()
            .enumerate()
            .skip(q.cursor.saturating_sub(q.visible_rows.saturating_sub(1)))
            .take(q.visible_rows)
            .map(|(i, it)| {
                let (sla, overdue) = sla_text(priority::sla_left(
                    &state.config.sla,
                    &it.kind,
                    &it.status,
                    it.created_at,
                    state.now,
                ));
                let tone = it.sentiment.map(sentiment::label).unwrap_or("-");
                let tone_style = match tone {
                    "negative" => theme.bad(),
                    "positive" => theme.good(),
                    _ => theme.base(),
                };
                let name = it
                    .customer_name
                    .clone()
                    .unwrap_or_else(|| it.customer_id.clone());
                let name = if state.mask_pii {
                    pii::name(&name)
                } else {
                    name
                };
                let row = Row::new(vec![
                    Cell::from(if q.marked.contains(&it.fid) { "*" } else { " " }),
                    Cell::from(format!("{:>5.1}", it.priority)),
                    Cell::from(it.id.clone()),
                    Cell::from(it.kind.clone()),
                    Cell::from(it.status.clone()),
                    Cell::from(it.assignee.clone().unwrap_or_else(|| "-".into())),
                    Cell::from(fit(&name, 16)),
                    Cell::from(Span::styled(
                        sla,
                        if overdue { theme.bad() } else { theme.base() },
                    )),
                    Cell::from(Span::styled(
                        tone.get(..3).unwrap_or(tone).to_string(),
                        tone_style,
                    )),
                    Cell::from(it.text.clone().unwrap_or_else(|| {
                        it.score.map(|s| format!("score {s}")).unwrap_or_default()
                    })),
                ]);
                if i == q.cursor {
                    row.style(theme.selected())
                } else {
                    row
                }
            })
            .collect();
        let t = Table::new(
            rows,
            [
                Constraint::Length(1),
                Constraint::Length(5),
                Constraint::Length(9),
                Constraint::Length(9),
                Constraint::Length(9),
                Constraint::Length(8),
                Constraint::Length(16),
                Constraint::Length(13),
                Constraint::Length(4),
                Constraint::Min(10),
            ],
        )
        .header(header)
        .column_spacing(1)
        .block(
            Block::default()
                .borders(Borders::ALL)
                .title(Span::styled(title, theme.title())),
        );
        f.render_widget(t, table);
        render_item(state, f, detail, theme);
    }
    let pos = match q.total {
        Some(t) if t > 0 => format!(
            " item {} of {}",
            format::count(q.offset + q.cursor as i64 + 1),
            format::count(t)
        ),
        Some(_) => " empty".into(),
        None => " …".into(),
    };
    let mut spans = vec![
        Span::raw(pos),
        Span::styled(format!(" · filter: {}", q.filter.label()), theme.dim()),
    ];
    if !q.marked.is_empty() {
        spans.push(Span::styled(
            format!(" · {} marked", q.marked.len()),
            theme.accent(),
        ));
    }
    if q.loading && !q.quiet {
        spans.push(Span::styled(" · loading", theme.warn()));
    }
    f.render_widget(Paragraph::new(Line::from(spans)), footer);
}

fn render_item(state: &AppState, f: &mut Frame, area: Rect, theme: &Theme) {
    let Some(it) = state.queue.selected() else {
        return;
    };
    let [text_area, ctx] =
        Layout::horizontal([Constraint::Percentage(55), Constraint::Percentage(45)]).areas(area);
    let title = format!(
        " {} · {} · {} · {} ",
        it.id,
        it.kind,
        it.channel.as_deref().unwrap_or("-"),
        format::day(it.created_at)
    );
    let body = it.text.clone().unwrap_or_else(|| "(no text)".into());
    f.render_widget(
        Paragraph::new(body).wrap(Wrap { trim: true }).block(
            Block::default()
                .borders(Borders::ALL)
                .title(Span::styled(title, theme.title())),
        ),
        text_area,
    );
    let inputs = Inputs {
        churn_prob: it.churn_prob,
        clv: it.clv,
        sentiment: it.sentiment,
        kind: &it.kind,
        score: it.score,
    };
    let why = priority::explain(
        &inputs,
        &state.config.sla,
        &it.status,
        it.created_at,
        state.now,
    );
    let mut lines = vec![
        Line::from(vec![
            Span::styled("customer ", theme.dim()),
            Span::raw(format!("{} ", it.customer_id)),
            Span::styled(
                format!(
                    "churn {} · CLV {}",
                    it.churn_prob
                        .map(format::percent)
                        .unwrap_or_else(|| "-".into()),
                    it.clv.map(format::money).unwrap_or_else(|| "-".into())
                ),
                theme.dim(),
            ),
        ]),
        Line::from(vec![
            Span::styled("priority ", theme.dim()),
            Span::raw(format!("{:.1}", it.priority)),
        ]),
    ];
    for w in why {
        lines.push(Line::from(format!("  {w}")));
    }
    if let (Some(by), Some(at)) = (&it.updated_by, it.updated_at) {
        lines.push(Line::from(Span::styled(
            format!(
                "last change {} by {by}",
                crate::timeutil::ts_to_minute_string(at)
            ),
            theme.dim(),
        )));
    }
    f.render_widget(
        Paragraph::new(lines).wrap(Wrap { trim: true }).block(
            Block::default()
                .borders(Borders::ALL)
                .title(Span::styled(" Why it ranks here ", theme.title())),
        ),
        ctx,
    );
}
