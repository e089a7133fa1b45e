//! Campaigns: the list; an opened campaign's report (treatment against
//! control with intervals, contacted-only, outcomes, cost and return) or
//! the customer being worked (why they are in it, what to offer, next best
//! action), and below it the work list, the uplift by decile or the Qini
//! curve.

mod card;
mod report;

use super::format;
use super::table::{self, ColumnDef, TableRow, TableSpec};
use crate::store::campaigns::{Campaign, WorkRow};
use crate::tui::app::{AppState, CampaignView, OpenedCampaign};
use crate::tui::theme::Theme;
use card::card_pane;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};
use ratatui::Frame;
use report::report_pane;

const LIST_COLUMNS: &[ColumnDef] = &[
    ColumnDef::new("name", "campaign", 14).pinned(),
    ColumnDef::new("action", "action", 9),
    ColumnDef::new("status", "status", 6),
    ColumnDef::new("start", "start", 10),
    ColumnDef::new("days", "days", 4).right().prio(3),
    ColumnDef::new("treated", "treated", 8).right(),
    ColumnDef::new("control", "control", 7).right().prio(2),
    ColumnDef::new("worked", "worked", 7).right().prio(1),
    ColumnDef::new("target", "target", 10).flex(),
];

const WORK_COLUMNS: &[ColumnDef] = &[
    ColumnDef::new("rank", "rank", 5).right().pinned(),
    ColumnDef::new("id", "customer", 10),
    ColumnDef::new("name", "name", 12).flex().prio(3),
    ColumnDef::new("band", "band", 6).prio(2),
    ColumnDef::new("churn", "churn", 5).right(),
    ColumnDef::new("risk", "value at risk", 13).right(),
    ColumnDef::new("outcome", "outcome", 17),
];

pub fn render(state: &AppState, f: &mut Frame, area: Rect, theme: &Theme) {
    match &state.campaigns.opened {
        Some(o) => render_opened(state, o, f, area, theme),
        None => render_list(state, f, area, theme),
    }
}

fn target_text(c: &Campaign) -> String {
    if c.target.is_empty() {
        "not lapsed".into()
    } else {
        c.target.clone()
    }
}

fn render_list(state: &AppState, f: &mut Frame, area: Rect, theme: &Theme) {
    let cs = &state.campaigns;
    let (_, main, footer) = {
        let [h, m, ft] = ratatui::layout::Layout::vertical([
            ratatui::layout::Constraint::Length(0),
            ratatui::layout::Constraint::Min(3),
            ratatui::layout::Constraint::Length(1),
        ])
        .areas(area);
        (h, m, ft)
    };
    if cs.rows.is_empty() {
        let msg = if let Some(hint) = super::customers::empty_hint(state, &state.customers) {
            hint
        } else if cs.loading {
            "loading…".to_string()
        } else {
            "No campaigns yet. Start one from a shell, e.g.\n\n  crmtop campaign create win-back --action call --target \"risk=high clv>=500\" --control 0.2\n\nIt picks the customers who match, by value at risk, and holds 20% out at random as a control group; they appear here to be worked and measured.".to_string()
        };
        f.render_widget(
            Paragraph::new(msg).wrap(Wrap { trim: false }).block(
                Block::default()
                    .borders(Borders::ALL)
                    .title(Span::styled(" Campaigns ", theme.title())),
            ),
            main,
        );
        return;
    }
    let rows: Vec<TableRow> = cs
        .rows
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let status_style = if c.status == "open" {
                theme.good()
            } else {
                theme.dim()
            };
            TableRow {
                cells: vec![
                    table::plain(c.name.clone()),
                    table::plain(c.action.clone()),
                    table::styled(c.status.clone(), status_style),
                    table::plain(c.start.clone()),
                    table::plain(c.window_days.to_string()),
                    table::plain(format::count(c.treatment)),
                    table::plain(format::count(c.control)),
                    table::plain(format::count(c.worked)),
                    table::styled(target_text(c), theme.dim()),
                ],
                selected: i == cs.cursor,
            }
        })
        .collect();
    table::render(
        f,
        main,
        theme,
        &TableSpec {
            title: format!(" Campaigns ({}) ", cs.rows.len()),
            defs: LIST_COLUMNS,
            chosen: None,
            hscroll: 0,
            sorted: None,
        },
        rows,
    );
    let line = Line::from(vec![
        Span::styled(" Enter", theme.key()),
        Span::styled(" report and work list · ", theme.dim()),
        Span::styled("crmtop campaign create", theme.key()),
        Span::styled(" starts one (see README)", theme.dim()),
    ]);
    f.render_widget(Paragraph::new(line), footer);
}

fn render_opened(state: &AppState, o: &OpenedCampaign, f: &mut Frame, area: Rect, theme: &Theme) {
    let (header, top, lower, footer) =
        crate::tui::layout::campaign_screen(area, o.card.is_some(), o.report_notes());
    let c = &o.campaign;
    let status_style = if c.status == "open" {
        theme.good()
    } else {
        theme.dim()
    };
    let head = vec![
        Line::from(vec![
            Span::styled(format!(" {} ", c.name), theme.title()),
            Span::styled(c.status.clone(), status_style),
            Span::raw(format!(" · {} ({}) · ", c.action, c.channel)),
            Span::styled(target_text(c), theme.accent()),
        ]),
        Line::from(Span::styled(
            format!(
                " {} +{}d · {} treated · {} control · {} worked{}",
                c.start,
                c.window_days,
                format::count(c.treatment),
                format::count(c.control),
                format::count(c.worked),
                o.report
                    .as_ref()
                    .and_then(|r| r.as_ref().ok())
                    .map(|m| format!(" · as of {}", m.as_of))
                    .unwrap_or_default()
            ),
            theme.dim(),
        )),
    ];
    f.render_widget(Paragraph::new(head), header);
    match &o.card {
        Some(card) => card_pane(state, o, card, top, theme).render(f, theme, 0),
        None => report_pane(o, top, theme).render(f, theme, 0),
    }
    match o.view {
        CampaignView::Work => render_work(state, o, f, lower, theme),
        CampaignView::Deciles => super::campaign_charts::render_deciles(o, f, lower, theme),
        CampaignView::Qini => super::campaign_charts::render_qini(o, f, lower, theme),
    }
    let mut spans = vec![
        Span::styled(" t", theme.key()),
        Span::styled(" next · ", theme.dim()),
    ];
    if o.card.is_some() {
        spans.push(Span::styled("a d r x", theme.key()));
        spans.push(Span::styled(" outcome · ", theme.dim()));
    }
    spans.extend([
        Span::styled("v", theme.key()),
        Span::styled(" deciles, Qini · ", theme.dim()),
        Span::styled("Enter", theme.key()),
        Span::styled(" customer · ", theme.dim()),
        Span::styled("Esc", theme.key()),
        Span::styled(" back · ", theme.dim()),
        Span::styled("?", theme.key()),
        Span::styled(" keys", theme.dim()),
    ]);
    f.render_widget(Paragraph::new(Line::from(spans)), footer);
}

fn outcome_text(r: &WorkRow, me: &str) -> (String, bool) {
    match (&r.outcome, &r.claimed_by) {
        (Some(o), _) => (
            format!(
                "{}{}",
                o.replace('_', " "),
                r.outcome_by
                    .as_deref()
                    .map(|b| format!(" ({b})"))
                    .unwrap_or_default()
            ),
            false,
        ),
        (None, Some(a)) if a == me => ("yours".into(), true),
        (None, Some(a)) => (format!("with {a}"), false),
        (None, None) => (String::new(), false),
    }
}

fn render_work(state: &AppState, o: &OpenedCampaign, f: &mut Frame, area: Rect, theme: &Theme) {
    let t = state.config.thresholds;
    let card = o.card.as_ref().map(|c| c.row.cid);
    let visible = crate::tui::layout::table_rows(area) as i64;
    // The window of loaded rows scrolled so that the cursor shows.
    let first = (o.pos - visible + 1).max(o.offset).min(o.pos.max(o.offset));
    let rows: Vec<TableRow> = o
        .work
        .iter()
        .enumerate()
        .filter(|(i, _)| o.offset + *i as i64 >= first)
        .take(visible.max(0) as usize)
        .map(|(i, r)| {
            let (outcome, mine) = outcome_text(r, &state.agent);
            let risk = r
                .churn_prob
                .map(|p| theme.risk(p, t.medium, t.high))
                .unwrap_or_else(|| theme.dim());
            TableRow {
                cells: vec![
                    table::plain(r.rank.to_string()),
                    table::styled(
                        r.customer_id.clone(),
                        if Some(r.cid) == card {
                            theme.accent()
                        } else {
                            theme.base()
                        },
                    ),
                    table::plain(if state.mask_pii {
                        String::new()
                    } else {
                        r.name.clone().unwrap_or_default()
                    }),
                    table::styled(r.stratum.clone(), risk),
                    table::styled(
                        r.churn_prob
                            .map(|p| format!("{:.0}%", 100.0 * p))
                            .unwrap_or_else(|| "-".into()),
                        risk,
                    ),
                    table::plain(format::money(r.value_at_risk)),
                    table::styled(outcome, if mine { theme.accent() } else { theme.dim() }),
                ],
                selected: o.offset + i as i64 == o.pos,
            }
        })
        .collect();
    let title = if o.loading && o.work.is_empty() {
        " Work list: loading… ".to_string()
    } else {
        format!(
            " Work list: {} of {} treated, by value at risk ",
            format::count(o.pos + 1),
            format::count(o.campaign.treatment)
        )
    };
    table::render(
        f,
        area,
        theme,
        &TableSpec {
            title,
            defs: WORK_COLUMNS,
            chosen: None,
            hscroll: 0,
            sorted: None,
        },
        rows,
    );
}
