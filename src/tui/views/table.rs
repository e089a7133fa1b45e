//! One table widget for every list screen. Columns are data (as in k9s):
//! each screen declares its columns once (key, title, width, alignment,
//! priority when space is short), the user may choose and order them with
//! `:columns` (saved in the config per screen), and this widget lays them
//! out, marks the sort, scrolls sideways and draws the rows.

use super::format::{self, fit};
use crate::tui::theme::Theme;
use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::Span;
use ratatui::widgets::{Block, Borders, Cell, Row, Table};
use ratatui::Frame;

/// A column a screen can show.
#[derive(Debug, Clone, Copy)]
pub struct ColumnDef {
    /// Its name in `:columns` and in the config file.
    pub key: &'static str,
    pub title: &'static str,
    /// Width in columns (the least width of a flexible column).
    pub width: u16,
    /// Takes the width left over (one per table: the long text).
    pub flex: bool,
    pub right: bool,
    /// When space is short, higher numbers go first; 0 stays.
    pub priority: u8,
    /// Always shown at the left, also when the table scrolls sideways.
    pub pinned: bool,
    /// Shown without a saved choice.
    pub default: bool,
}

impl ColumnDef {
    pub const fn new(key: &'static str, title: &'static str, width: u16) -> ColumnDef {
        ColumnDef {
            key,
            title,
            width,
            flex: false,
            right: false,
            priority: 0,
            pinned: false,
            default: true,
        }
    }
    pub const fn right(mut self) -> Self {
        self.right = true;
        self
    }
    pub const fn flex(mut self) -> Self {
        self.flex = true;
        self
    }
    pub const fn prio(mut self, p: u8) -> Self {
        self.priority = p;
        self
    }
    pub const fn pinned(mut self) -> Self {
        self.pinned = true;
        self
    }
    pub const fn extra(mut self) -> Self {
        self.default = false;
        self
    }
}

/// The columns in the order a user sees them: the saved choice (unknown
/// names ignored; pinned columns always first) or the defaults.
pub fn ordered(defs: &[ColumnDef], chosen: Option<&[String]>) -> Vec<usize> {
    let mut order: Vec<usize> = defs
        .iter()
        .enumerate()
        .filter(|(_, d)| d.pinned)
        .map(|(i, _)| i)
        .collect();
    match chosen {
        Some(names) if !names.is_empty() => {
            for n in names {
                if let Some(i) = defs.iter().position(|d| d.key == n.as_str()) {
                    if !order.contains(&i) {
                        order.push(i);
                    }
                }
            }
        }
        _ => order.extend(
            defs.iter()
                .enumerate()
                .filter(|(_, d)| d.default && !d.pinned)
                .map(|(i, _)| i),
        ),
    }
    order
}

/// What fits in a width: the columns shown (indices into the defs, in
/// display order) and how many of the chosen ones are off each side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shown {
    pub cols: Vec<usize>,
    pub left: usize,
    pub right: usize,
}

/// Lay the chosen columns out in `width`. Unscrolled, the least important
/// columns make room (priority); scrolled by `hscroll`, the pinned columns
/// stay and the others start `hscroll` columns further right. When the
/// unscrolled layout leaves out the first column (an unimportant one, as the
/// queue's `prio`), the first step right starts at it, so every column is
/// reached in turn.
pub fn layout(defs: &[ColumnDef], chosen: Option<&[String]>, width: u16, hscroll: usize) -> Shown {
    let order = ordered(defs, chosen);
    let movable: Vec<usize> = order.iter().copied().filter(|&i| !defs[i].pinned).collect();
    if hscroll == 0 {
        return place(defs, &order, width, None);
    }
    let first_left_out = movable
        .first()
        .is_some_and(|f| !place(defs, &order, width, None).cols.contains(f));
    let start = hscroll - usize::from(first_left_out);
    place(defs, &order, width, Some(start))
}

/// `layout` by priority (`start` None) or in order from the `start`th
/// movable column.
fn place(defs: &[ColumnDef], order: &[usize], width: u16, start: Option<usize>) -> Shown {
    let cost = |i: usize| defs[i].width + 1;
    let pinned: Vec<usize> = order.iter().copied().filter(|&i| defs[i].pinned).collect();
    let movable: Vec<usize> = order.iter().copied().filter(|&i| !defs[i].pinned).collect();
    let mut used: u16 = pinned.iter().map(|&i| cost(i)).sum();
    let mut cols = pinned.clone();
    let Some(hscroll) = start else {
        let max_prio = movable.iter().map(|&i| defs[i].priority).max().unwrap_or(0);
        let mut chosen_set: Vec<usize> = Vec::new();
        for prio in 0..=max_prio {
            for &i in movable.iter().filter(|&&i| defs[i].priority == prio) {
                if used + cost(i) <= width + 1 {
                    used += cost(i);
                    chosen_set.push(i);
                }
            }
        }
        let shown = movable.iter().filter(|i| chosen_set.contains(i)).count();
        cols.extend(movable.iter().copied().filter(|i| chosen_set.contains(i)));
        return Shown {
            cols,
            left: 0,
            right: movable.len() - shown,
        };
    };
    let start = hscroll.min(movable.len().saturating_sub(1));
    let mut shown = 0;
    for &i in &movable[start..] {
        if used + cost(i) > width + 1 && shown > 0 {
            break;
        }
        used += cost(i);
        cols.push(i);
        shown += 1;
    }
    Shown {
        cols,
        left: start,
        right: movable.len() - start - shown,
    }
}

/// The largest useful sideways scroll: the one that shows the last column.
pub fn max_hscroll(defs: &[ColumnDef], chosen: Option<&[String]>, width: u16) -> usize {
    let n = ordered(defs, chosen)
        .iter()
        .filter(|&&i| !defs[i].pinned)
        .count();
    if layout(defs, chosen, width, 0).right == 0 {
        return 0;
    }
    (1..=n)
        .find(|&s| layout(defs, chosen, width, s).right == 0)
        .unwrap_or(n)
}

/// A row: one cell per column definition (the widget picks the shown ones).
pub struct TableRow {
    pub cells: Vec<Span<'static>>,
    pub selected: bool,
}

/// Everything but the rows.
pub struct TableSpec<'a> {
    pub title: String,
    pub defs: &'a [ColumnDef],
    pub chosen: Option<&'a [String]>,
    pub hscroll: usize,
    /// The sorted column's key and whether it is descending.
    pub sorted: Option<(&'a str, bool)>,
}

pub fn render(f: &mut Frame, area: Rect, theme: &Theme, spec: &TableSpec, rows: Vec<TableRow>) {
    let inner = area.width.saturating_sub(2);
    let shown = layout(spec.defs, spec.chosen, inner, spec.hscroll);
    let arrow = |desc: bool| if desc { "▼" } else { "▲" };
    let header = Row::new(shown.cols.iter().map(|&i| {
        let d = &spec.defs[i];
        let mut t = d.title.to_string();
        if let Some((key, desc)) = spec.sorted {
            if key == d.key {
                t.push_str(arrow(desc));
            }
        }
        Cell::from(if d.flex { t } else { align(&t, d) })
    }))
    .style(theme.header());
    let widths: Vec<Constraint> = shown
        .cols
        .iter()
        .map(|&i| {
            let d = &spec.defs[i];
            if d.flex {
                Constraint::Min(d.width)
            } else {
                Constraint::Length(d.width)
            }
        })
        .collect();
    // The widths the table gives its columns (its own layout: left to
    // right, one cell apart), so that a flexible column's text is cut with
    // an ellipsis, as every other column's, not at the border.
    let given: Vec<u16> = Layout::horizontal(widths.clone())
        .flex(Flex::Start)
        .spacing(1)
        .split(Rect::new(0, 0, inner, 1))
        .iter()
        .map(|r| r.width)
        .collect();
    let body: Vec<Row> = rows
        .into_iter()
        .map(|r| {
            let cells = shown.cols.iter().enumerate().map(|(k, &i)| {
                let d = &spec.defs[i];
                let span = r.cells.get(i).cloned().unwrap_or_default();
                let text = if d.flex {
                    let w = given.get(k).copied().unwrap_or(d.width) as usize;
                    fit(&span.content, w)
                } else {
                    align(&span.content, d)
                };
                Cell::from(Span::styled(text, span.style))
            });
            let row = Row::new(cells);
            if r.selected {
                row.style(theme.selected())
            } else {
                row
            }
        })
        .collect();
    let mut title = spec.title.clone();
    let cols = |n: usize| if n == 1 { "col" } else { "cols" };
    let more = match (shown.left, shown.right) {
        (0, 0) => String::new(),
        (0, r) => format!("+{r} {} → ", cols(r)),
        (l, 0) => format!("← {l} {} ", cols(l)),
        (l, r) => format!("← {l} · {r} → "),
    };
    let mut block = Block::default()
        .borders(Borders::ALL)
        .title(Span::styled(std::mem::take(&mut title), theme.title()));
    if !more.is_empty() {
        block =
            block.title(ratatui::text::Line::from(Span::styled(more, theme.dim())).right_aligned());
    }
    let t = Table::new(body, widths)
        .header(header)
        .column_spacing(1)
        .block(block);
    f.render_widget(t, area);
}

/// Cut to the column's width and align it.
fn align(text: &str, d: &ColumnDef) -> String {
    let t = fit(text, d.width as usize);
    if d.right {
        let pad = (d.width as usize).saturating_sub(format::width(&t));
        format!("{}{t}", " ".repeat(pad))
    } else {
        t
    }
}

/// A cell in the base style.
pub fn plain(text: impl Into<String>) -> Span<'static> {
    Span::raw(text.into())
}

/// A cell in a style.
pub fn styled(text: impl Into<String>, style: Style) -> Span<'static> {
    Span::styled(text.into(), style)
}

/// The `:columns` names of a screen, for messages.
pub fn keys(defs: &[ColumnDef]) -> String {
    defs.iter().map(|d| d.key).collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEFS: &[ColumnDef] = &[
        ColumnDef::new("id", "id", 8).pinned(),
        ColumnDef::new("name", "name", 10),
        ColumnDef::new("a", "a", 10).prio(2),
        ColumnDef::new("b", "b", 10).prio(1),
        ColumnDef::new("c", "c", 10).prio(3),
        ColumnDef::new("x", "x", 10).extra(),
    ];

    #[test]
    fn narrow_tables_drop_the_least_important_columns_first() {
        // 9 + 11 + 11 + 11 = 42 fits id, name, b, a; not c.
        let s = layout(DEFS, None, 42, 0);
        assert_eq!(s.cols, vec![0, 1, 2, 3]);
        assert_eq!((s.left, s.right), (0, 1));
        // Everything fits: nothing hidden, the extra column not shown.
        let s = layout(DEFS, None, 200, 0);
        assert_eq!(s.cols, vec![0, 1, 2, 3, 4]);
        assert_eq!(s.right, 0);
    }

    #[test]
    fn sideways_scroll_keeps_the_pinned_column_and_reaches_the_last() {
        let s = layout(DEFS, None, 31, 2);
        assert_eq!(s.cols, vec![0, 3, 4]);
        assert_eq!((s.left, s.right), (2, 0));
        assert_eq!(max_hscroll(DEFS, None, 31), 2);
        assert_eq!(max_hscroll(DEFS, None, 200), 0);
    }

    #[test]
    fn a_first_column_left_out_unscrolled_is_reached_by_the_first_step() {
        // As the queue: an unimportant column first, before the pinned id.
        const Q: &[ColumnDef] = &[
            ColumnDef::new("prio", "prio", 5).prio(4),
            ColumnDef::new("id", "id", 8).pinned(),
            ColumnDef::new("kind", "kind", 9).prio(2),
            ColumnDef::new("status", "status", 9).prio(5),
            ColumnDef::new("text", "text", 20),
        ];
        // 9 + 10 + 21 = 40: id, kind, text; prio and status left out.
        let s = layout(Q, None, 40, 0);
        assert_eq!(s.cols, vec![1, 2, 4]);
        // Every column is shown at some step, and the last step ends the row.
        let last = max_hscroll(Q, None, 40);
        let mut seen: Vec<usize> = (0..=last)
            .flat_map(|h| layout(Q, None, 40, h).cols)
            .collect();
        seen.sort_unstable();
        seen.dedup();
        assert_eq!(seen, vec![0, 1, 2, 3, 4]);
        assert_eq!(layout(Q, None, 40, 1).cols, vec![1, 0, 2, 3]);
        assert_eq!(layout(Q, None, 40, last).right, 0);
    }

    #[test]
    fn a_saved_choice_orders_the_columns_and_ignores_unknown_names() {
        let chosen: Vec<String> = ["x", "nope", "name"].map(String::from).to_vec();
        let s = layout(DEFS, Some(&chosen), 200, 0);
        assert_eq!(s.cols, vec![0, 5, 1]);
    }
}
