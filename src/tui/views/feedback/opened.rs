//! An opened feedback item (Enter on the queue): the item itself (state,
//! SLA, why it ranks there, text, history) beside its customer (churn and
//! drivers, CLV, last orders, earlier feedback).

use super::item_text;
use crate::analytics::priority;
use crate::analytics::sentiment;
use crate::pii;
use crate::tui::app::AppState;
use crate::tui::theme::Theme;
use crate::tui::views::format::{self, fit};
use crate::tui::views::pane::Pane;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};

/// An opened item: left, the item (state, SLA, why it ranks there, text,
/// history); right, its customer (churn and drivers, CLV, last orders,
/// earlier feedback). Both scroll together (j/k), each to its own end.
/// `None` while the item loads.
pub fn opened_panes(
    state: &AppState,
    o: &crate::tui::app::OpenedItem,
    area: Rect,
    theme: &Theme,
) -> Option<Vec<Pane>> {
    let [left, right] =
        Layout::horizontal([Constraint::Percentage(58), Constraint::Percentage(42)]).areas(area);
    let it = o.item.as_deref()?;
    let when = if left.width >= 56 {
        crate::timeutil::ts_to_minute_string(it.created_at)
    } else {
        format::day(it.created_at)
    };
    let title = format!(
        "{} · {} · {} · {when}",
        it.id,
        it.kind,
        it.channel.as_deref().unwrap_or("-"),
    );
    let (sla, overdue) = priority::sla_words(
        &state.config.sla,
        &it.kind,
        &it.status,
        it.sla_start,
        it.created_at,
        it.first_response_at,
        state.now,
    );
    // Which clock runs: none once the item is resolved or closed.
    let still_open =
        crate::analytics::workflow::Status::parse(&it.status).is_some_and(|s| s.is_open());
    let phase = if it.status == "new" {
        " (first response)"
    } else if still_open {
        " (resolution)"
    } else {
        ""
    };
    let mut lines = vec![
        Line::from(vec![
            Span::styled("status ", theme.dim()),
            Span::styled(it.status.clone(), theme.accent()),
            Span::raw(match &it.assignee {
                Some(a) => format!(" · held by {a}"),
                None => " · unassigned".into(),
            }),
        ]),
        Line::from(vec![
            Span::styled("SLA ", theme.dim()),
            Span::styled(
                sla.clone(),
                if overdue { theme.bad() } else { theme.base() },
            ),
            Span::styled(if sla == "-" { "" } else { phase }, theme.dim()),
        ]),
    ];
    if still_open {
        let why = it.why(&state.config.sla, state.now);
        lines.push(Line::from(vec![
            Span::styled("priority ", theme.dim()),
            Span::raw(format!("{:.1}: {}", it.priority, why.join("; "))),
        ]));
    }
    if let Some(s) = it.sentiment {
        let label = sentiment::label(s);
        lines.push(Line::from(vec![
            Span::styled("tone ", theme.dim()),
            Span::styled(
                format!("{label} ({s:+.2})"),
                match label {
                    "negative" => theme.bad(),
                    "positive" => theme.good(),
                    _ => theme.base(),
                },
            ),
            Span::raw(
                it.score
                    .map(|sc| format!(" · score {sc}"))
                    .unwrap_or_default(),
            ),
        ]));
    }
    lines.push(Line::from(""));
    for l in item_text(state, it, false).lines() {
        lines.push(Line::from(l.to_string()));
    }
    let owner = it.customer_name.as_deref();
    let free = |t: &str| pii::show(state.mask_pii, pii::Kind::Text, t, owner);
    if let Some(n) = &it.resolution_note {
        lines.push(Line::from(""));
        lines.push(Line::from(vec![
            Span::styled("resolution ", theme.dim()),
            Span::raw(free(n)),
        ]));
    }
    if let Some(r) = &it.escalation_reason {
        lines.push(Line::from(vec![
            Span::styled("escalated ", theme.dim()),
            Span::raw(free(r)),
        ]));
    }
    if !o.history.is_empty() {
        lines.push(Line::from(""));
        lines.push(Line::from(Span::styled("history", theme.header())));
        for e in o.history.iter().rev() {
            let details = e.details.as_deref().map(free);
            lines.push(Line::from(format!(
                "{} {}",
                crate::timeutil::ts_to_minute_string(e.at),
                crate::store::audit::sentence(e, details.as_deref())
            )));
        }
    }
    Some(vec![
        Pane::new(left, title, lines),
        customer_pane(state, o, it, right, theme),
    ])
}

fn customer_pane(
    state: &AppState,
    o: &crate::tui::app::OpenedItem,
    it: &crate::store::feedback::QueueItem,
    area: Rect,
    theme: &Theme,
) -> Pane {
    let name = it.customer_name.clone().unwrap_or_default();
    let name = if state.mask_pii {
        pii::name(&name)
    } else {
        name
    };
    let title = format!("Customer {} {}", it.customer_id, fit(&name, 20));
    let mut lines: Vec<Line> = Vec::new();
    let band = |p: f64| {
        if p >= state.config.thresholds.high {
            "high"
        } else if p >= state.config.thresholds.medium {
            "medium"
        } else {
            "low"
        }
    };
    // Without a score, said as the customer detail says it, shorter (a
    // model may well be active: the customer came after it scored).
    let mut churn = match it.churn_prob {
        Some(p) => vec![
            Span::styled("churn ", theme.dim()),
            Span::raw(format!("{} ({})", format::percent(p), band(p))),
        ],
        None => vec![
            Span::styled("churn ", theme.dim()),
            Span::raw("not scored yet (R retrains)"),
        ],
    };
    churn.push(Span::styled(" · CLV ", theme.dim()));
    churn.push(Span::raw(
        it.clv.map(format::money).unwrap_or_else(|| "-".into()),
    ));
    lines.push(Line::from(churn));
    match &o.customer {
        None if o.loading => lines.push(Line::from(Span::styled("loading…", theme.dim()))),
        None => {}
        Some(v) => {
            let d = &v.detail;
            if let Some(n) = &v.next_action {
                lines.push(Line::from(vec![
                    Span::styled("next best action ", theme.header()),
                    Span::raw(n.clone()),
                ]));
            }
            if let Some(c) = &d.clv {
                let f2 =
                    |x: Option<f64>| x.map(|v| format!("{v:.2}")).unwrap_or_else(|| "-".into());
                lines.push(Line::from(vec![
                    Span::styled("P(alive) ", theme.dim()),
                    Span::raw(c.p_alive.map(format::percent).unwrap_or_else(|| "-".into())),
                    Span::styled(" · exp. orders ", theme.dim()),
                    Span::raw(f2(c.exp_txn)),
                ]));
            }
            lines.push(Line::from(vec![
                Span::styled("orders ", theme.dim()),
                Span::raw(format!(
                    "{} · revenue {} · last {}",
                    d.profile.n_orders,
                    format::money(d.profile.revenue),
                    d.profile
                        .last_order
                        .map(format::day)
                        .unwrap_or_else(|| "-".into())
                )),
            ]));
            if !v.drivers.is_empty() {
                lines.push(Line::from(Span::styled("churn drivers", theme.header())));
                for (what, c) in v.drivers.iter().take(4) {
                    let style = if *c > 0.0 { theme.bad() } else { theme.good() };
                    lines.push(Line::from(vec![
                        Span::styled(format!("{} ", if *c > 0.0 { "▲" } else { "▼" }), style),
                        Span::raw(format!("{what} ({c:+.2})")),
                    ]));
                }
            }
            if !d.latest_orders.is_empty() {
                lines.push(Line::from(Span::styled("last orders", theme.header())));
                for ol in d.latest_orders.iter().take(10) {
                    lines.push(Line::from(format!(
                        "{} {:>9} {}",
                        format::day(ol.ts),
                        format::money(ol.amount),
                        ol.product.as_deref().unwrap_or("")
                    )));
                }
            }
            let earlier: Vec<_> = d
                .feedback
                .iter()
                .filter(|fb| fb.id != it.id)
                .take(10)
                .collect();
            if !earlier.is_empty() {
                lines.push(Line::from(Span::styled("earlier feedback", theme.header())));
                for fb in earlier {
                    let text = fb.text.as_deref().unwrap_or("");
                    let text = pii::show(
                        state.mask_pii,
                        pii::Kind::Text,
                        text,
                        it.customer_name.as_deref(),
                    );
                    lines.push(Line::from(format!(
                        "{} {} {}: {}",
                        format::day(fb.created_at),
                        fb.kind,
                        fb.status,
                        // Controls shown (␛), not counted as zero columns by `fit`.
                        fit(&crate::term::safe(&text.replace(['\n', '\r'], " ")), 60)
                    )));
                }
            }
        }
    }
    Pane::new(area, title, lines)
}
