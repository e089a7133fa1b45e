//! Screen layouts, shared by the views and by `update` (which needs to know
//! how many rows a list shows for page keys). Pure functions of the size.

use super::app::Screen;
use ratatui::layout::{Constraint, Layout, Rect};

/// Width from which side panels (histogram, Pareto curve) sit beside a list.
pub const WIDE: u16 = 110;

/// Tab bar, body, status bar.
pub fn frame(area: Rect) -> (Rect, Rect, Rect) {
    let [tabs, body, status] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(1),
        Constraint::Length(1),
    ])
    .areas(area);
    (tabs, body, status)
}

/// A list screen's parts: header, table, side or bottom panel, footer.
pub struct ListLayout {
    pub header: Rect,
    pub table: Rect,
    pub panel: Option<Rect>,
    pub footer: Rect,
}

pub fn list_screen(screen: Screen, body: Rect) -> ListLayout {
    let header_h = match screen {
        Screen::Churn => 1,
        Screen::Clv => 2,
        _ => 0,
    };
    let [header, main, footer] = Layout::vertical([
        Constraint::Length(header_h),
        Constraint::Min(3),
        Constraint::Length(1),
    ])
    .areas(body);
    let panel_kind = matches!(screen, Screen::Churn | Screen::Clv);
    if !panel_kind {
        return ListLayout {
            header,
            table: main,
            panel: None,
            footer,
        };
    }
    if body.width >= WIDE {
        let [table, panel] =
            Layout::horizontal([Constraint::Min(60), Constraint::Length(40)]).areas(main);
        ListLayout {
            header,
            table,
            panel: Some(panel),
            footer,
        }
    } else {
        let [table, panel] =
            Layout::vertical([Constraint::Min(3), Constraint::Length(7)]).areas(main);
        ListLayout {
            header,
            table,
            panel: Some(panel),
            footer,
        }
    }
}

/// The feedback screen: queue table above, the selected item below.
pub fn feedback_screen(body: Rect) -> (Rect, Rect, Rect) {
    let detail_h = (body.height / 3).clamp(6, 12);
    let [table, detail, footer] = Layout::vertical([
        Constraint::Min(4),
        Constraint::Length(detail_h),
        Constraint::Length(1),
    ])
    .areas(body);
    (table, detail, footer)
}

/// An opened campaign: two header lines, the report (or the customer being
/// worked: `working`), the lower half (work list, deciles or Qini curve),
/// a footer. The report grows by a line for each of its notes (up to 3).
pub fn campaign_screen(body: Rect, working: bool, notes: usize) -> (Rect, Rect, Rect, Rect) {
    let top = if working { 10 } else { 8 + notes.min(3) as u16 };
    let [header, report, lower, footer] = Layout::vertical([
        Constraint::Length(2),
        Constraint::Length(top),
        Constraint::Min(5),
        Constraint::Length(1),
    ])
    .areas(body);
    (header, report, lower, footer)
}

/// Rows of data a bordered table with a header row shows in `area`.
pub fn table_rows(area: Rect) -> usize {
    area.height.saturating_sub(3).max(1) as usize
}

/// Visible rows of the list on `screen` for a terminal of `w` x `h`.
pub fn visible_rows(screen: Screen, w: u16, h: u16) -> usize {
    let (_, body, _) = frame(Rect::new(0, 0, w, h));
    match screen {
        Screen::Feedback => table_rows(feedback_screen(body).0),
        _ => table_rows(list_screen(screen, body).table),
    }
}
