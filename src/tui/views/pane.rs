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
        if self.wrap {
            return Paragraph::new(self.lines.clone()).wrap(Wrap { trim: false });
        }
        // Not wrapped: a line longer than the pane ends in `…` where it is
        // cut, so a cut value never reads as a whole one.
        let room = usize::from(self.inner().width);
        Paragraph::new(
            self.lines
                .iter()
                .map(|l| cut_line(l, room))
                .collect::<Vec<_>>(),
        )
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

/// `line` in at most `room` cells: as it is when it fits, else cut one cell
/// short and ended with `…` (in the style of the span it cuts).
pub fn cut_line(line: &Line<'static>, room: usize) -> Line<'static> {
    if line.width() <= room {
        return line.clone();
    }
    if room == 0 {
        return Line::default();
    }
    let mut spans: Vec<Span<'static>> = Vec::new();
    let mut used = 0;
    for span in &line.spans {
        let w = super::format::width(&span.content);
        if used + w < room {
            spans.push(span.clone());
            used += w;
            continue;
        }
        // This span holds the cut: what fits of it before the ellipsis.
        spans.push(Span::styled(
            super::format::cut(&span.content, room - used),
            span.style,
        ));
        break;
    }
    let mut out = Line::from(spans);
    out.style = line.style;
    out.alignment = line.alignment;
    out
}

/// The largest useful scroll of a view made of panes scrolled together.
pub fn max_scroll(panes: &[Pane]) -> u16 {
    panes.iter().map(Pane::overflow).max().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::style::{Style, Stylize};

    fn text(l: &Line) -> String {
        l.spans.iter().map(|s| s.content.as_ref()).collect()
    }

    #[test]
    fn a_line_cut_at_the_border_ends_in_an_ellipsis_in_its_width() {
        let l = Line::from(vec![
            Span::styled("2026-08-08 ", Style::new().dim()),
            Span::raw("1x Sunscreen SPF 50"),
        ]);
        for room in [1, 5, 11, 12, 20, 29] {
            let c = cut_line(&l, room);
            assert_eq!(c.width(), room, "{room}: {:?}", text(&c));
            assert!(text(&c).ends_with('…'), "{room}");
        }
        // Cut inside the first span: it keeps its style.
        assert_eq!(cut_line(&l, 5).spans[0].style, Style::new().dim());
        // A line that fits is left alone, even exactly.
        assert_eq!(text(&cut_line(&l, 30)), "2026-08-08 1x Sunscreen SPF 50");
        // Wide characters never overflow the room.
        let wide = Line::from("注文 注文 注文");
        for room in 1..wide.width() {
            assert!(cut_line(&wide, room).width() <= room, "{room}");
        }
    }
}
