//! Campaigns: the list; an opened campaign's report (treatment against
//! control with intervals, contacted-only, outcomes, cost and return) or
//! the customer being worked (why they are in it, what to offer, next best
//! action), and below it the work list, the uplift by decile or the Qini
//! curve.

use super::format;
use super::pane::Pane;
use super::table::{self, ColumnDef, TableRow, TableSpec};
use crate::analytics::campaign::report::{p_text, pct, pts, Measured};
use crate::store::campaigns::{Campaign, WorkRow};
use crate::tui::app::{AppState, CampaignView, OpenedCampaign, WorkCard};
use crate::tui::theme::Theme;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};
use ratatui::Frame;

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

fn money(v: f64) -> String {
    if v.is_finite() {
        format::money(v)
    } else {
        "-".into()
    }
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

fn report_pane(o: &OpenedCampaign, area: Rect, theme: &Theme) -> Pane {
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

fn card_pane(
    state: &AppState,
    o: &OpenedCampaign,
    card: &WorkCard,
    area: Rect,
    theme: &Theme,
) -> Pane {
    let r = &card.row;
    let name = if state.mask_pii {
        String::new()
    } else {
        r.name.clone().unwrap_or_default()
    };
    let mut lines = vec![Line::from(vec![
        Span::styled(format!("{} ", r.customer_id), theme.title()),
        Span::raw(format!(
            "{name} · rank {} · {} risk: churn {} × CLV {} = value at risk {}",
            r.rank,
            r.stratum,
            r.churn_prob
                .map(|p| format!("{:.0}%", 100.0 * p))
                .unwrap_or_else(|| "-".into()),
            r.clv.map(format::money).unwrap_or_else(|| "-".into()),
            format::money(r.value_at_risk)
        )),
    ])];
    let offer = match &card.advice {
        None => "…".to_string(),
        Some(a) if a.offer.is_empty() => "(no purchase history to go on)".to_string(),
        Some(a) => a.offer.join(", "),
    };
    // Where to reach them: the channel's contact first.
    let contact = {
        use crate::pii::{mask, Kind};
        let shown = |v: &Option<String>, k: Kind| {
            v.as_deref().filter(|v| !v.is_empty()).map(|v| {
                if state.mask_pii {
                    mask(k, v, None)
                } else {
                    v.to_string()
                }
            })
        };
        let phone = shown(&r.phone, Kind::Phone);
        let email = shown(&r.email, Kind::Email);
        let by_mail = o.campaign.channel.contains("mail");
        let (first, second) = if by_mail {
            (email, phone)
        } else {
            (phone, email)
        };
        match (first, second) {
            (Some(a), Some(b)) => format!(" {a} ({b})"),
            (Some(a), None) | (None, Some(a)) => format!(" {a}"),
            (None, None) => " (no phone or e-mail on file)".into(),
        }
    };
    lines.push(Line::from(vec![
        Span::styled("do: ", theme.header()),
        Span::styled(
            format!("{} ({})", o.campaign.action, o.campaign.channel),
            theme.accent(),
        ),
        Span::raw(crate::term::safe(&contact).to_string()),
        Span::styled(" · offer: ", theme.header()),
        Span::raw(offer),
    ]));
    if let Some(n) = card.advice.as_ref().and_then(|a| a.next_action.clone()) {
        lines.push(Line::from(vec![
            Span::styled("next best action: ", theme.header()),
            Span::raw(n),
        ]));
    }
    lines.push(match &card.recorded {
        Some(o) => Line::from(vec![
            Span::styled(format!("recorded: {}", o.replace('_', " ")), theme.good()),
            Span::styled(" · t takes the next customer", theme.dim()),
        ]),
        None => Line::from(vec![
            Span::styled("record: ", theme.header()),
            Span::styled("a", theme.key()),
            Span::raw(" accepted "),
            Span::styled("d", theme.key()),
            Span::raw(" declined "),
            Span::styled("r", theme.key()),
            Span::raw(" reached "),
            Span::styled("x", theme.key()),
            Span::raw(" no answer · "),
            Span::styled("u", theme.key()),
            Span::raw(" give back"),
        ]),
    });
    Pane::new(area, "Working", lines)
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
