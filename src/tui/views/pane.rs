//! A text pane that scrolls: every pane of the detail and ticket views (and
//! anything else longer than the terminal) is one of these, so each stops
//! at its end and says when there is more. The largest scroll is computed
//! from the same lines the view draws, so `update` can stop at the end too.

use crate::tui::theme::Theme;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};
use ratatui::Frame;

pub struct Pane {
    pub area: Rect,
    pub title: String,
    pub lines: Vec<Line<'static>>,
    /// Wrap long lines at words (else they are cut at the border).
    pub wrap: bool,
}

impl Pane {
    pub fn new(area: Rect, title: impl Into<String>, lines: Vec<Line<'static>>) -> Pane {
        Pane {
            area,
            title: title.into(),
            lines,
            wrap: true,
        }
    }

    fn inner(&self) -> Rect {
        Block::default().borders(Borders::ALL).inner(self.area)
    }

    fn paragraph(&self) -> Paragraph<'static> {
        let p = Paragraph::new(self.lines.clone());
        if self.wrap {
            p.wrap(Wrap { trim: false })
        } else {
            p
        }
    }

    /// Lines that do not fit: the largest useful scroll.
    pub fn overflow(&self) -> u16 {
        let inner = self.inner();
        if inner.width == 0 {
            return 0;
        }
        let n = self.paragraph().line_count(inner.width);
        u16::try_from(n)
            .unwrap_or(u16::MAX)
            .saturating_sub(inner.height)
    }

    /// Draw, scrolled by `scroll` lines (at most to the end), with a mark
    /// in the bottom border when lines are hidden above or below.
    pub fn render(&self, f: &mut Frame, theme: &Theme, scroll: u16) {
        let max = self.overflow();
        let s = scroll.min(max);
        let mut block = Block::default()
            .borders(Borders::ALL)
            .title(Span::styled(format!(" {} ", self.title), theme.title()));
        if max > 0 {
            let mark = match (s > 0, s < max) {
                (true, true) => " ↑↓ j/k ",
                (false, _) => " ↓ more (j) ",
                (true, false) => " ↑ (k) ",
            };
            block = block.title_bottom(Line::from(Span::styled(mark, theme.dim())).right_aligned());
        }
        let inner = block.inner(self.area);
        f.render_widget(block, self.area);
        f.render_widget(self.paragraph().scroll((s, 0)), inner);
    }
}

/// A box that does not scroll (a list's side panel) but whose text may not
/// fit: the number of its lines that do not, with `p` drawn inside the
/// borders of `area`.
pub fn hidden_lines(p: &Paragraph, area: Rect) -> usize {
    let inner = Block::default().borders(Borders::ALL).inner(area);
    if inner.width == 0 {
        return 0;
    }
    p.line_count(inner.width)
        .saturating_sub(usize::from(inner.height))
}

/// The bottom-border mark of such a box: how many lines are hidden and
/// where to read them whole (`whole`, e.g. "Enter").
pub fn cut_mark(hidden: usize, whole: &str, theme: &Theme) -> Option<Line<'static>> {
    (hidden > 0).then(|| {
        let what = if hidden == 1 { "line" } else { "lines" };
        Line::from(Span::styled(
            format!(" +{hidden} {what}: {whole} "),
            theme.dim(),
        ))
        .right_aligned()
    })
}

/// The largest useful scroll of a view made of panes scrolled together.
pub fn max_scroll(panes: &[Pane]) -> u16 {
    panes.iter().map(Pane::overflow).max().unwrap_or(0)
}
