//! The customer list: every customer, paged from SQL, sortable by any column.

use super::format;
use super::table::{self, plain, styled, ColumnDef, TableRow, TableSpec};
use crate::pii;
use crate::store::list::{CustomerRow, SortColumn};
use crate::tui::app::{AppState, ListState};
use crate::tui::theme::Theme;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};
use ratatui::Frame;

/// The customer columns every customer list can show (the churn and CLV
/// screens add their own beside these).
pub const CUSTOMER_COLUMNS: &[ColumnDef] = &[
    ColumnDef::new("id", "id", 10).pinned(),
    ColumnDef::new("name", "name", 18).flex(),
    ColumnDef::new("segment", "segment", 14).prio(6),
    ColumnDef::new("plan", "plan", 8).prio(3),
    ColumnDef::new("tenure", "tenure", 7).right().prio(4),
    ColumnDef::new("last_order", "last order", 10).prio(2),
    ColumnDef::new("orders", "orders", 6).right().prio(1),
    ColumnDef::new("revenue", "revenue", 9).right().prio(1),
    ColumnDef::new("churn", "churn %", 7).right().prio(1),
    ColumnDef::new("clv", "CLV", 9).right().prio(1),
    ColumnDef::new("rfm", "RFM segment", 18).prio(5),
    ColumnDef::new("email", "e-mail", 24).extra(),
];

/// The `:columns` key of a sort column (the same names as `:sort`).
pub fn sort_key(c: SortColumn) -> &'static str {
    match c {
        SortColumn::Id => "id",
        SortColumn::Name => "name",
        SortColumn::Segment => "segment",
        SortColumn::Plan => "plan",
        SortColumn::Tenure => "tenure",
        SortColumn::LastOrder => "last_order",
        SortColumn::Orders => "orders",
        SortColumn::Revenue => "revenue",
        SortColumn::Churn => "churn",
        SortColumn::Clv => "clv",
        SortColumn::Rfm => "rfm",
    }
}

/// A customer row's cell for a column key (empty for keys it does not know).
pub fn customer_cell(
    state: &AppState,
    row: &CustomerRow,
    key: &str,
    theme: &Theme,
) -> Span<'static> {
    let opt = |s: &Option<String>| s.clone().unwrap_or_default();
    let (medium, high) = (state.config.thresholds.medium, state.config.thresholds.high);
    match key {
        "id" => plain(row.id.clone()),
        "name" => {
            let n = opt(&row.name);
            plain(if state.mask_pii && !n.is_empty() {
                pii::name(&n)
            } else {
                n
            })
        }
        "email" => {
            let e = opt(&row.email);
            plain(pii::show(
                state.mask_pii,
                pii::Kind::Email,
                &e,
                row.name.as_deref(),
            ))
        }
        "segment" => plain(opt(&row.segment)),
        "plan" => plain(opt(&row.plan)),
        "tenure" => plain(
            row.since
                .map(|s| format::tenure((state.now - s) as f64 / 86_400.0))
                .unwrap_or_default(),
        ),
        "last_order" => plain(row.last_order.map(format::day).unwrap_or_default()),
        "orders" => plain(row.n_orders.to_string()),
        "revenue" => plain(format::money_short(row.revenue)),
        "churn" => match row.churn_prob {
            Some(p) => styled(format::percent(p), theme.risk(p, medium, high)),
            None => plain("-"),
        },
        "clv" => plain(
            row.clv
                .map(format::money_short)
                .unwrap_or_else(|| "-".into()),
        ),
        "rfm" => plain(opt(&row.rfm_segment)),
        _ => plain(""),
    }
}

/// Draw a list of customer rows through the table widget: `defs` are the
/// screen's columns, `extra` gives the cells of the screen's own columns.
#[allow(clippy::too_many_arguments)]
pub fn draw_rows(
    state: &AppState,
    f: &mut Frame,
    area: Rect,
    theme: &Theme,
    list: &ListState,
    screen_key: &str,
    defs: &[ColumnDef],
    title: String,
    extra: &dyn Fn(usize, &CustomerRow, &str) -> Option<Span<'static>>,
) {
    if let Some(msg) = no_match(list, screen_key) {
        let p = Paragraph::new(msg).wrap(Wrap { trim: false }).block(
            Block::default()
                .borders(Borders::ALL)
                .title(Span::styled(title, theme.title())),
        );
        f.render_widget(p, area);
        return;
    }
    let rows: Vec<TableRow> = list
        .rows
        .iter()
        .enumerate()
        .skip(list.offset)
        .take(list.visible_rows)
        .map(|(i, r)| TableRow {
            cells: defs
                .iter()
                .map(|d| {
                    extra(i, r, d.key).unwrap_or_else(|| customer_cell(state, r, d.key, theme))
                })
                .collect(),
            selected: i == list.cursor,
        })
        .collect();
    // The column the list is sorted by is shown, even one the screen does
    // not show by default (sorting by an unseen column looks like no order).
    let chosen = state.config.columns.get(screen_key).map(Vec::as_slice);
    let key = sort_key(list.query.sort);
    let order = table::ordered(defs, chosen);
    let with_sorted: Option<Vec<String>> = match defs.iter().position(|d| d.key == key) {
        Some(i) if !order.contains(&i) => {
            let mut names: Vec<String> = order.iter().map(|&j| defs[j].key.to_string()).collect();
            let pinned = order.iter().filter(|&&j| defs[j].pinned).count();
            names.insert(pinned, key.to_string());
            Some(names)
        }
        _ => None,
    };
    let spec = TableSpec {
        title,
        defs,
        chosen: with_sorted.as_deref().or(chosen),
        hscroll: list.hscroll,
        sorted: Some((sort_key(list.query.sort), list.query.descending)),
    };
    table::render(f, area, theme, &spec, rows);
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
    if let Some(k) = list.query.cluster {
        spans.push(Span::styled(format!(" · cluster {k}"), theme.accent()));
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
    if state.empty_db == Some(true) && state.server {
        return Some(
            "No customers on this server yet.\n\nMake a demo company in a file and copy it here:\n             \x20 crmtop demo --db demo.db && crmtop migrate --from demo.db --to URL\n             or import your data:  crmtop --db URL import customers FILE.csv\n\n             (see the README for the CSV columns)"
                .into(),
        );
    }
    if state.empty_db == Some(true) {
        return Some(
            "No customers yet.\n\nCreate a demo company:   crmtop demo --db PATH\n\
             or import your data:     crmtop import --db PATH customers FILE.csv\n\
                                      crmtop import --db PATH orders FILE.csv\n\n\
             (see the README for the CSV columns)"
                .into(),
        );
    }
    no_match(list, "customers")
}

/// Said, not an empty box, when nothing matches the list's filter or
/// cluster: the churn list leaves out who has left, and a risk band who
/// has no score yet, so a lapsed or new customer's id finds nothing
/// there; a cluster number may be of no grouping yet.
fn no_match(list: &ListState, screen_key: &str) -> Option<String> {
    let filtered = list.query.filter.as_deref().is_some_and(|t| !t.is_empty());
    if !list.rows.is_empty() || list.loading || !(filtered || list.query.cluster.is_some()) {
        return None;
    }
    let mut msg = match list.query.cluster {
        Some(k) if filtered => format!(
            "No customer in cluster {k} matches the filter. Esc clears the filter, \
             :cluster the cluster."
        ),
        Some(k) => format!(
            "No customer in cluster {k}. :cluster shows every customer again.\n\n\
             `crmtop clusters` groups the customers and lists the clusters it made."
        ),
        None => String::from("No customer matches the filter. Esc clears it."),
    };
    if screen_key == "churn" && filtered && list.query.churn_band.is_some() {
        msg.push_str(
            "\n\nA risk band holds only scored customers: those added since the active model \
             scored have no score yet (the next train scores them); b to \"all\" lists them.",
        );
    }
    if screen_key == "churn" && filtered {
        msg.push_str(
            "\n\nThis list leaves out the customers who have already left (labelled churned, \
             or no order in the 365 days before the latest order in the data): \
             2 (Customers) finds them.",
        );
    }
    Some(msg)
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
        draw_rows(
            state,
            f,
            table_area,
            theme,
            list,
            "customers",
            CUSTOMER_COLUMNS,
            " Customers ".into(),
            &|_, _, _| None,
        );
    }
    f.render_widget(Paragraph::new(footer(state, list, theme)), foot);
}
