//! The customer list: every customer, paged from SQL, sortable by any column.

use super::format::{self, fit};
use crate::pii;
use crate::store::list::{CustomerRow, SortColumn};
use crate::tui::app::{AppState, ListState};
use crate::tui::theme::Theme;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Paragraph, Row, Table, Wrap};
use ratatui::Frame;

/// A column: what, how wide, and how important when space is short (0 = always).
struct Col {
    sort: SortColumn,
    width: u16,
    priority: u8,
    right: bool,
}

const COLUMNS: &[Col] = &[
    Col {
        sort: SortColumn::Id,
        width: 10,
        priority: 0,
        right: false,
    },
    Col {
        sort: SortColumn::Name,
        width: 18,
        priority: 0,
        right: false,
    },
    Col {
        sort: SortColumn::Segment,
        width: 14,
        priority: 6,
        right: false,
    },
    Col {
        sort: SortColumn::Plan,
        width: 8,
        priority: 3,
        right: false,
    },
    Col {
        sort: SortColumn::Tenure,
        width: 7,
        priority: 4,
        right: true,
    },
    Col {
        sort: SortColumn::LastOrder,
        width: 10,
        priority: 2,
        right: false,
    },
    Col {
        sort: SortColumn::Orders,
        width: 6,
        priority: 1,
        right: true,
    },
    Col {
        sort: SortColumn::Revenue,
        width: 9,
        priority: 1,
        right: true,
    },
    Col {
        sort: SortColumn::Churn,
        width: 7,
        priority: 1,
        right: true,
    },
    Col {
        sort: SortColumn::Clv,
        width: 9,
        priority: 1,
        right: true,
    },
    Col {
        sort: SortColumn::Rfm,
        width: 18,
        priority: 5,
        right: false,
    },
];

/// The columns that fit in `width`, in display order.
fn fitting(width: u16) -> Vec<&'static Col> {
    let mut chosen: Vec<&Col> = Vec::new();
    let mut used = 0u16;
    for prio in 0..=6 {
        for c in COLUMNS.iter().filter(|c| c.priority == prio) {
            if used + c.width < width {
                used += c.width + 1;
                chosen.push(c);
            }
        }
    }
    chosen.sort_by_key(|c| COLUMNS.iter().position(|x| x.sort == c.sort));
    chosen
}

fn cell_text(state: &AppState, row: &CustomerRow, col: SortColumn) -> String {
    let opt = |s: &Option<String>| s.clone().unwrap_or_default();
    match col {
        SortColumn::Id => row.id.clone(),
        SortColumn::Name => {
            let n = opt(&row.name);
            if state.mask_pii && !n.is_empty() {
                pii::name(&n)
            } else {
                n
            }
        }
        SortColumn::Segment => opt(&row.segment),
        SortColumn::Plan => opt(&row.plan),
        SortColumn::Tenure => row
            .since
            .map(|s| format::tenure((state.now - s) as f64 / 86_400.0))
            .unwrap_or_default(),
        SortColumn::LastOrder => row.last_order.map(format::day).unwrap_or_default(),
        SortColumn::Orders => row.n_orders.to_string(),
        SortColumn::Revenue => format::money_short(row.revenue),
        SortColumn::Churn => row
            .churn_prob
            .map(format::percent)
            .unwrap_or_else(|| "-".into()),
        SortColumn::Clv => row
            .clv
            .map(format::money_short)
            .unwrap_or_else(|| "-".into()),
        SortColumn::Rfm => opt(&row.rfm_segment),
    }
}

/// A table of customer rows with the list's sort marked in the header.
pub fn table<'a>(
    state: &AppState,
    list: &'a ListState,
    area: Rect,
    theme: &Theme,
    title: String,
) -> Table<'a> {
    let cols = fitting(area.width.saturating_sub(2));
    let arrow = if list.query.descending { "▼" } else { "▲" };
    let header = Row::new(cols.iter().map(|c| {
        let mut t = c.sort.title().to_string();
        if c.sort == list.query.sort {
            t = format!("{t}{arrow}");
        }
        let t = if c.right {
            format!("{t:>w$}", w = c.width as usize)
        } else {
            t
        };
        Cell::from(t)
    }))
    .style(theme.header());
    let h = list.visible_rows;
    let (medium, high) = (state.config.thresholds.medium, state.config.thresholds.high);
    let rows: Vec<Row> = list
        .rows
        .iter()
        .enumerate()
        .skip(list.offset)
        .take(h)
        .map(|(i, r)| {
            let cells = cols.iter().map(|c| {
                let text = fit(&cell_text(state, r, c.sort), c.width as usize);
                let text = if c.right {
                    let pad = (c.width as usize).saturating_sub(format::width(&text));
                    format!("{}{text}", " ".repeat(pad))
                } else {
                    text
                };
                let style = match (c.sort, r.churn_prob) {
                    (SortColumn::Churn, Some(p)) => theme.risk(p, medium, high),
                    _ => theme.base(),
                };
                Cell::from(Span::styled(text, style))
            });
            let row = Row::new(cells);
            if i == list.cursor {
                row.style(theme.selected())
            } else {
                row
            }
        })
        .collect();
    let widths: Vec<Constraint> = cols
        .iter()
        .map(|c| {
            if c.sort == SortColumn::Name {
                Constraint::Min(c.width)
            } else {
                Constraint::Length(c.width)
            }
        })
        .collect();
    Table::new(rows, widths)
        .header(header)
        .column_spacing(1)
        .block(
            Block::default()
                .borders(Borders::ALL)
                .title(Span::styled(title, theme.title())),
        )
}

/// "row 12 of 5,000 · sorted by revenue ▼ · filter: smi" and a loading mark.
pub fn footer(state: &AppState, list: &ListState, theme: &Theme) -> Line<'static> {
    let pos = match (list.position(), list.total) {
        (Some(p), Some(t)) if t > 0 => {
            format!("row {} of {}", format::count(p + 1), format::count(t))
        }
        (None, Some(t)) if t > 0 => format!("{} rows", format::count(t)),
        (_, Some(0)) => "no rows".into(),
        (Some(p), None) => format!("row {} of …", format::count(p + 1)),
        _ => "counting…".into(),
    };
    let mut spans = vec![
        Span::raw(format!(" {pos}")),
        Span::styled(
            format!(
                " · sorted by {} {}",
                list.query.sort.title(),
                if list.query.descending { "▼" } else { "▲" }
            ),
            theme.dim(),
        ),
    ];
    if let Some(f) = &list.query.filter {
        spans.push(Span::styled(format!(" · filter: {f}"), theme.accent()));
    }
    if list.loading && !list.quiet {
        const SPIN: [&str; 4] = ["|", "/", "-", "\\"];
        spans.push(Span::styled(
            format!(" · loading {}", SPIN[(state.tick % 4) as usize]),
            theme.warn(),
        ));
    }
    Line::from(spans)
}

/// What to do when there is nothing to show.
pub fn empty_hint(state: &AppState, list: &ListState) -> Option<String> {
    if state.empty_db == Some(true) {
        return Some(
            "No customers yet.\n\nCreate a demo company:   crmtop demo --db PATH\n\
             or import your data:     crmtop import --db PATH customers FILE.csv\n\
                                      crmtop import --db PATH orders FILE.csv\n\n\
             (see the README for the CSV columns)"
                .into(),
        );
    }
    if list.rows.is_empty() && !list.loading && list.query.filter.is_some() {
        return Some("No customer matches the filter. Esc clears it.".into());
    }
    None
}

pub fn render(state: &AppState, f: &mut Frame, area: Rect, theme: &Theme) {
    let list = &state.customers;
    let [table_area, foot] =
        ratatui::layout::Layout::vertical([Constraint::Min(3), Constraint::Length(1)]).areas(area);
    if let Some(hint) = empty_hint(state, list) {
        let p = Paragraph::new(hint).wrap(Wrap { trim: false }).block(
            Block::default()
                .borders(Borders::ALL)
                .title(Span::styled(" Customers ", theme.title())),
        );
        f.render_widget(p, table_area);
    } else {
        f.render_widget(
            table(state, list, table_area, theme, " Customers ".into()),
            table_area,
        );
    }
    f.render_widget(Paragraph::new(footer(state, list, theme)), foot);
}
