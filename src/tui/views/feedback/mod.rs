//! The feedback queue, by priority: what needs doing first, with its SLA
//! clock (overdue in red, and marked by text for NO_COLOR) and, below, the
//! selected item with the customer's context and why it ranks there. An
//! opened item (Enter) is drawn by `opened`.

mod opened;

pub use opened::opened_panes;

use super::format;
use super::table::{self, plain, styled, ColumnDef, TableRow, TableSpec};
use crate::analytics::priority;
use crate::analytics::sentiment;
use crate::pii;
use crate::tui::app::AppState;
use crate::tui::layout;
use crate::tui::theme::Theme;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};
use ratatui::Frame;

/// The SLA of a row of the list, short: "5 h left", "OVERDUE 2 d",
/// "paused", "no SLA".
fn short_sla(state: &AppState, it: &crate::store::feedback::QueueItem) -> (String, bool) {
    if it.status == "pending" {
        return ("paused".into(), false);
    }
    if it.sla_start >= crate::store::feedback::NO_SLA {
        return ("no SLA".into(), false);
    }
    sla_text(priority::sla_left(
        &state.config.sla,
        &it.kind,
        &it.status,
        it.sla_start,
        state.now,
    ))
}

/// "5 h left" / "OVERDUE 3 h".
pub fn sla_text(secs: Option<i64>) -> (String, bool) {
    match secs {
        None => ("-".into(), false),
        Some(s) if s <= 0 => (
            format!("OVERDUE {}", crate::timeutil::humanize_secs(-s)),
            true,
        ),
        Some(s) => (format!("{} left", crate::timeutil::humanize_secs(s)), false),
    }
}

/// The item's text as shown: masked with --mask-pii, on one line in lists.
fn item_text(state: &AppState, it: &crate::store::feedback::QueueItem, one_line: bool) -> String {
    let t = match &it.text {
        // A list holds a long text's start only: say it goes on.
        Some(t) if it.text_cut => format!("{t}…"),
        Some(t) => t.clone(),
        None => it
            .score
            .map(|s| format!("(score {s})"))
            .unwrap_or_else(|| "(no text)".into()),
    };
    let t = pii::show(
        state.mask_pii,
        pii::Kind::Text,
        &t,
        it.customer_name.as_deref(),
    );
    if one_line {
        // Line ends become spaces; every other control is shown as the
        // item's own view shows it (`␛` for ESC), not hidden as a space.
        crate::term::safe(&t.replace(['\n', '\r'], " ")).into_owned()
    } else {
        t
    }
}

/// The queue's columns. At 80 columns: id, kind, assignee, customer, SLA
/// and at least 20 columns of text; priority, status and tone give way first
/// (the filter bar says the status; the order is the priority). Who holds
/// an item must show at 80 columns: agents share the queue.
pub const QUEUE_COLUMNS: &[ColumnDef] = &[
    ColumnDef::new("mark", "", 1).pinned(),
    ColumnDef::new("prio", "prio", 5).right().prio(4),
    ColumnDef::new("id", "id", 8).pinned(),
    ColumnDef::new("kind", "kind", 9).prio(2),
    ColumnDef::new("status", "status", 9).prio(5),
    ColumnDef::new("assignee", "assignee", 8).prio(3),
    ColumnDef::new("customer", "customer", 13).prio(1),
    ColumnDef::new("sla", "SLA", 12),
    ColumnDef::new("tone", "tone", 4).prio(4),
    ColumnDef::new("text", "text", 20).flex(),
    ColumnDef::new("channel", "channel", 8).extra(),
    ColumnDef::new("created", "created", 10).extra(),
    ColumnDef::new("customer_id", "cust. id", 9).extra(),
];

fn queue_cell(
    state: &AppState,
    it: &crate::store::feedback::QueueItem,
    key: &str,
    theme: &Theme,
) -> Span<'static> {
    match key {
        "mark" => plain(if state.queue.marked.contains_key(&it.fid) {
            "*"
        } else {
            " "
        }),
        "prio" => plain(format!("{:.1}", it.priority)),
        "id" => plain(it.id.clone()),
        "kind" => plain(it.kind.clone()),
        "status" => plain(it.status.clone()),
        "assignee" => plain(it.assignee.clone().unwrap_or_else(|| "-".into())),
        "customer" => {
            let name = it
                .customer_name
                .clone()
                .unwrap_or_else(|| it.customer_id.clone());
            plain(if state.mask_pii {
                pii::name(&name)
            } else {
                name
            })
        }
        "customer_id" => plain(it.customer_id.clone()),
        "sla" => {
            let (sla, overdue) = short_sla(state, it);
            styled(sla, if overdue { theme.bad() } else { theme.base() })
        }
        "tone" => {
            let tone = it.sentiment.map(sentiment::label).unwrap_or("-");
            let style = match tone {
                "negative" => theme.bad(),
                "positive" => theme.good(),
                _ => theme.base(),
            };
            styled(tone.get(..3).unwrap_or(tone).to_string(), style)
        }
        "text" => plain(item_text(state, it, true)),
        "channel" => plain(it.channel.clone().unwrap_or_else(|| "-".into())),
        "created" => plain(format::day(it.created_at)),
        _ => plain(""),
    }
}

pub fn render(state: &AppState, f: &mut Frame, area: Rect, theme: &Theme) {
    if let Some(o) = &state.queue.opened {
        let [body, footer] =
            Layout::vertical([Constraint::Min(4), Constraint::Length(1)]).areas(area);
        match opened_panes(state, o, body, theme) {
            Some(panes) => {
                for p in &panes {
                    p.render(f, theme, state.queue.item_scroll);
                }
            }
            None => f.render_widget(
                Paragraph::new("loading the item…").block(
                    Block::default()
                        .borders(Borders::ALL)
                        .title(Span::styled(" Feedback item ", theme.title())),
                ),
                body,
            ),
        }
        render_footer(state, f, footer, theme);
        return;
    }
    let (table, detail, footer) = layout::feedback_screen(area);
    let q = &state.queue;
    let title = format!(" Feedback queue · {} ", q.filter.label());
    if q.items.is_empty() {
        let msg = if state.empty_db == Some(true) {
            super::customers::empty_hint(state, &state.customers).unwrap_or_default()
        } else if q.loading {
            "loading…".into()
        } else if !q.search.is_empty() || q.filter != crate::store::feedback::QueueFilter::All {
            // A search or filter found nothing: say where it looked and how
            // to look further (an item may simply be resolved or closed).
            let status = q.filter.status().unwrap_or("all open");
            format!(
                "No item matches ({}).\n\nThe search looked at {status} items: `:status any` searches every status (resolved and closed too), \
                 `:goto ID` opens any item by its id, Esc clears the search.",
                q.filter.label()
            )
        } else {
            format!(
                "Nothing in the queue ({}).\n\nImport feedback with `crmtop import feedback FILE.csv`; S shows resolved and closed items.",
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
        let rows: Vec<TableRow> = q
            .items
            .iter()
            .enumerate()
            .skip(q.cursor.saturating_sub(q.visible_rows.saturating_sub(1)))
            .take(q.visible_rows)
            .map(|(i, it)| TableRow {
                cells: QUEUE_COLUMNS
                    .iter()
                    .map(|d| queue_cell(state, it, d.key, theme))
                    .collect(),
                selected: i == q.cursor,
            })
            .collect();
        let spec = TableSpec {
            title,
            defs: QUEUE_COLUMNS,
            chosen: state.config.columns.get("queue").map(Vec::as_slice),
            hscroll: q.hscroll,
            sorted: None,
        };
        table::render(f, table, theme, &spec, rows);
        render_item(state, f, detail, theme);
    }
    render_footer(state, f, footer, theme);
}

fn render_footer(state: &AppState, f: &mut Frame, footer: Rect, theme: &Theme) {
    let q = &state.queue;
    // The opened item's place (`t` and `:goto` open items away from the
    // cursor, or outside the list shown), else the cursor's.
    let opened = q
        .opened
        .as_ref()
        .and_then(|o| o.item.as_ref())
        .map(|it| it.fid);
    let at = match opened {
        Some(fid) => q.items.iter().position(|it| it.fid == fid),
        None => Some(q.cursor),
    };
    let pos = match (q.total, at) {
        (Some(t), Some(i)) if t > 0 => format!(
            " item {} of {}",
            format::count(q.offset + i as i64 + 1),
            format::count(t)
        ),
        (Some(t), None) if t > 0 => format!(" not among the {} listed", format::count(t)),
        (Some(_), _) => " empty".into(),
        (None, _) => " …".into(),
    };
    // The filter bar: the status shown, then every other part.
    let status = q.filter.status().unwrap_or("all open");
    let others: Vec<String> = q
        .filter
        .parts()
        .into_iter()
        .filter(|p| {
            !matches!(
                p,
                crate::store::feedback::QueueFilter::Status(_)
                    | crate::store::feedback::QueueFilter::Escalated
            )
        })
        .map(|p| p.label())
        .collect();
    let mut spans = vec![
        Span::raw(pos),
        Span::styled(format!(" · status {status}"), theme.accent()),
    ];
    if !others.is_empty() {
        spans.push(Span::styled(
            format!(" · {}", others.join(" · ")),
            theme.accent(),
        ));
    }
    if !q.marked.is_empty() {
        spans.push(Span::styled(
            format!(" · {} marked", q.marked.len()),
            theme.accent(),
        ));
    }
    if q.loading && !q.quiet {
        spans.push(Span::styled(" · loading", theme.warn()));
    }
    if q.acting {
        spans.push(Span::styled(" · saving…", theme.warn()));
    }
    // The review keys, as many as room allows (longest first).
    let hints: &[&str] = if q.opened.is_some() {
        &[
            " · c claim a assign p pending x resolve e escalate m note o reopen r release X close u undo · t take next · Esc queue",
            " · c a p x e m o r X act · u undo · t take next · Esc queue",
            " · c a p x e m o act · u undo · Esc queue",
            " · Esc queue",
        ]
    } else {
        &[
            " · t take · / search · S status · f filter · Space mark · c a p x e m o r X act · u undo",
            " · t take · / search · S status · Space mark · c a p x e m act · u undo",
            " · t take · / search · S status · u undo",
            " · / search",
        ]
    };
    let used: usize = spans.iter().map(|s| format::width(&s.content)).sum();
    if let Some(hint) = hints
        .iter()
        .find(|h| used + format::width(h) <= footer.width as usize)
    {
        spans.push(Span::styled(*hint, theme.dim()));
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
    let body = Paragraph::new(item_text(state, it, false)).wrap(Wrap { trim: true });
    let mut block = Block::default()
        .borders(Borders::ALL)
        .title(Span::styled(title, theme.title()));
    // A text the list holds only the start of goes on past its box
    // whatever the box's size: how far, the opened item shows.
    let mark = if it.text_cut {
        Some(Line::from(Span::styled(" more: Enter ", theme.dim())).right_aligned())
    } else {
        super::pane::cut_mark(super::pane::hidden_lines(&body, text_area), "Enter", theme)
    };
    if let Some(mark) = mark {
        block = block.title_bottom(mark);
    }
    f.render_widget(body.block(block), text_area);
    // A resolved or closed item: how it ended, not why it would rank.
    let done = matches!(it.status.as_str(), "resolved" | "closed");
    let why = if done {
        Vec::new()
    } else {
        it.why(&state.config.sla, state.now)
    };
    let mut lines = Vec::new();
    if done {
        let owner = it.customer_name.as_deref();
        lines.push(Line::from(vec![
            Span::styled(format!("{} ", it.status), theme.dim()),
            Span::raw(
                it.resolved_at
                    .map(crate::timeutil::ts_to_minute_string)
                    .unwrap_or_else(|| "-".into()),
            ),
        ]));
        lines.push(Line::from(match &it.resolution_note {
            Some(n) => Span::raw(pii::show(state.mask_pii, pii::Kind::Text, n, owner)),
            None => Span::styled("(no resolution note)", theme.dim()),
        }));
    }
    lines.extend([Line::from(vec![
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
    ])]);
    if !done {
        lines.push(Line::from(vec![
            Span::styled("priority ", theme.dim()),
            Span::raw(format!("{:.1}", it.priority)),
        ]));
    }
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
    let text = Paragraph::new(lines).wrap(Wrap { trim: true });
    let mut block = Block::default().borders(Borders::ALL).title(Span::styled(
        if done {
            " Resolution "
        } else {
            " Why it ranks here "
        },
        theme.title(),
    ));
    // Cut at the box's end: say so, and that the opened item shows it whole.
    if let Some(mark) = super::pane::cut_mark(super::pane::hidden_lines(&text, ctx), "Enter", theme)
    {
        block = block.title_bottom(mark);
    }
    f.render_widget(text.block(block), ctx);
}
