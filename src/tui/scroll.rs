//! A backend wrapper that lets the terminal scroll instead of repainting.
//!
//! ratatui sends only the cells that changed since the last frame, but when a
//! list scrolls by one row every row of it changes, and repainting them costs
//! about 7 KB per keystroke at 120x40: slow over a thin SSH link. Like curses,
//! this wrapper notices when a band of rows has moved up or down, asks the
//! terminal to move it (a scroll region and a line feed or reverse index:
//! VT100 basics every terminal has), and then sends only what still differs.
//!
//! It keeps its own copy of what is on the screen, so the result is always
//! exactly ratatui's frame; the scroll is only a cheaper way to get there.

use ratatui::backend::{Backend, ClearType, WindowSize};
use ratatui::buffer::{Buffer, Cell};
use ratatui::layout::{Position, Rect, Size};
use std::io::{self, Write};

/// Fewest rows a screen must have, and that must change, for a move.
const MIN_ROWS: u16 = 4;
/// Fewest cells a move must save (its escape sequences cost about 25 bytes).
const MIN_GAIN: i64 = 40;
/// Largest shift looked for (rows).
const MAX_SHIFT: u16 = 3;

pub struct ScrollingBackend<B: Backend + Write> {
    inner: B,
    /// What the terminal shows now.
    screen: Buffer,
    /// The cursor is known to be hidden (ratatui hides it on every frame;
    /// saying it again is bytes after a frame that changed nothing).
    cursor_hidden: bool,
}

impl<B: Backend + Write> ScrollingBackend<B> {
    pub fn new(inner: B) -> io::Result<Self> {
        let size = inner.size()?;
        Ok(ScrollingBackend {
            inner,
            screen: Buffer::empty(Rect::new(0, 0, size.width, size.height)),
            cursor_hidden: false,
        })
    }

    pub fn inner_mut(&mut self) -> &mut B {
        &mut self.inner
    }

    fn reset(&mut self) -> io::Result<()> {
        let size = self.inner.size()?;
        self.screen = Buffer::empty(Rect::new(0, 0, size.width, size.height));
        self.cursor_hidden = false;
        Ok(())
    }
}

fn row(buf: &Buffer, y: u16) -> &[Cell] {
    let w = buf.area.width as usize;
    let start = y as usize * w;
    &buf.content[start..start + w]
}

/// A band of rows that moved: rows `top..=bottom` of the old screen, after
/// the move, hold rows `top+shift..=bottom+shift` (shift > 0: moved up).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Move {
    pub top: u16,
    pub bottom: u16,
    pub shift: i16,
}

/// Cells of row `a` of `x` equal to those of row `b` of `y`.
fn equal_cells(x: &Buffer, a: u16, y: &Buffer, b: u16) -> i64 {
    row(x, a)
        .iter()
        .zip(row(y, b))
        .filter(|(p, q)| p == q)
        .count() as i64
}

/// The move that saves the most repainted cells, if one is worth it. For
/// each shift, every row scores the cells it would get right by moving
/// minus those it already has right (a side panel beside a list loses what
/// the list gains); the best band of rows is the maximum-sum run.
pub fn find_move(old: &Buffer, new: &Buffer) -> Option<Move> {
    if old.area != new.area || old.area.height < MIN_ROWS + 2 {
        return None;
    }
    let h = old.area.height as i32;
    let w = old.area.width as i64;
    let stay: Vec<i64> = (0..h as u16).map(|y| equal_cells(new, y, old, y)).collect();
    if stay.iter().filter(|&&c| c < w).count() < MIN_ROWS as usize {
        return None;
    }
    let mut best: Option<(i64, Move)> = None;
    for k in 1..=MAX_SHIFT as i32 {
        for shift in [k, -k] {
            // Kadane over rows y (new row y taken from old row y + shift).
            let (mut sum, mut start) = (0i64, None::<i32>);
            for y in 0..h {
                let src = y + shift;
                if !(0..h).contains(&src) {
                    sum = 0;
                    start = None;
                    continue;
                }
                let gain = equal_cells(new, y as u16, old, src as u16) - stay[y as usize];
                if start.is_none() || sum <= 0 {
                    sum = 0;
                    start = Some(y);
                }
                sum += gain;
                let a = start.unwrap_or(y);
                if sum >= MIN_GAIN && best.is_none_or(|(g, _)| sum > g) {
                    let (top, bottom) = if shift > 0 {
                        (a, y + shift)
                    } else {
                        (a + shift, y)
                    };
                    best = Some((
                        sum,
                        Move {
                            top: top as u16,
                            bottom: bottom as u16,
                            shift: shift as i16,
                        },
                    ));
                }
            }
        }
    }
    best.map(|(_, m)| m)
}

/// Apply a move to a buffer as the terminal applies it (the rows scrolled in are blank).
pub fn apply_move(buf: &mut Buffer, m: Move) {
    let w = buf.area.width as usize;
    let (top, bottom) = (m.top as usize, m.bottom as usize);
    let k = m.shift.unsigned_abs() as usize;
    if m.shift > 0 {
        for y in top..=bottom {
            let src = y + k;
            for x in 0..w {
                buf.content[y * w + x] = if src <= bottom {
                    buf.content[src * w + x].clone()
                } else {
                    Cell::default()
                };
            }
        }
    } else {
        for y in (top..=bottom).rev() {
            for x in 0..w {
                buf.content[y * w + x] = if y >= top + k {
                    buf.content[(y - k) * w + x].clone()
                } else {
                    Cell::default()
                };
            }
        }
    }
}

/// The escape sequences for a move: set the scroll region, scroll it, reset it.
pub fn move_sequence(m: Move) -> Vec<u8> {
    let mut s = Vec::with_capacity(32);
    // Plain attributes, so the rows scrolled in have the default background.
    s.extend_from_slice(b"\x1b[0m");
    s.extend_from_slice(format!("\x1b[{};{}r", m.top + 1, m.bottom + 1).as_bytes());
    let k = m.shift.unsigned_abs();
    if m.shift > 0 {
        // Line feeds at the bottom margin scroll the region up.
        s.extend_from_slice(format!("\x1b[{};1H", m.bottom + 1).as_bytes());
        s.extend(std::iter::repeat_n(b'\n', k as usize));
    } else {
        // Reverse index at the top margin scrolls it down.
        s.extend_from_slice(format!("\x1b[{};1H", m.top + 1).as_bytes());
        for _ in 0..k {
            s.extend_from_slice(b"\x1bM");
        }
    }
    s.extend_from_slice(b"\x1b[r");
    s
}

impl<B: Backend + Write> Backend for ScrollingBackend<B> {
    fn draw<'a, I>(&mut self, content: I) -> io::Result<()>
    where
        I: Iterator<Item = (u16, u16, &'a Cell)>,
    {
        let mut next = self.screen.clone();
        for (x, y, cell) in content {
            if let Some(c) = next.cell_mut((x, y)) {
                *c = cell.clone();
            }
            // A wide glyph covers the cells after it, which the update
            // leaves out: blank them here as the frame's buffer has them
            // (a stale wide glyph kept there made the next diff skip the
            // cell after it: "佐 민花子" drawn over "김민준" for "佐藤 花子").
            let w = unicode_width::UnicodeWidthStr::width(cell.symbol()) as u16;
            for k in 1..w {
                if let Some(c) = next.cell_mut((x.saturating_add(k), y)) {
                    c.reset();
                }
            }
        }
        if let Some(m) = find_move(&self.screen, &next) {
            self.inner.write_all(&move_sequence(m))?;
            apply_move(&mut self.screen, m);
        }
        let updates = self.screen.diff(&next);
        // A frame that changes nothing sends nothing (the backend would
        // still reset its colours: a stray write a user's terminal, and a
        // thin SSH link, can do without).
        if !updates.is_empty() {
            self.inner.draw(updates.into_iter())?;
        }
        self.screen = next;
        Ok(())
    }

    fn append_lines(&mut self, n: u16) -> io::Result<()> {
        self.inner.append_lines(n)
    }

    fn hide_cursor(&mut self) -> io::Result<()> {
        if self.cursor_hidden {
            return Ok(());
        }
        self.inner.hide_cursor()?;
        self.cursor_hidden = true;
        Ok(())
    }

    fn show_cursor(&mut self) -> io::Result<()> {
        self.cursor_hidden = false;
        self.inner.show_cursor()
    }

    fn get_cursor_position(&mut self) -> io::Result<Position> {
        self.inner.get_cursor_position()
    }

    fn set_cursor_position<P: Into<Position>>(&mut self, position: P) -> io::Result<()> {
        self.inner.set_cursor_position(position)
    }

    fn clear(&mut self) -> io::Result<()> {
        self.inner.clear()?;
        self.reset()
    }

    fn clear_region(&mut self, clear_type: ClearType) -> io::Result<()> {
        self.inner.clear_region(clear_type)?;
        match clear_type {
            ClearType::All => self.reset(),
            // Not used by a full-screen terminal; what is on screen is no
            // longer known, so nothing is assumed: clear it all.
            _ => {
                self.inner.clear_region(ClearType::All)?;
                self.reset()
            }
        }
    }

    fn size(&self) -> io::Result<Size> {
        self.inner.size()
    }

    fn window_size(&mut self) -> io::Result<WindowSize> {
        self.inner.window_size()
    }

    fn flush(&mut self) -> io::Result<()> {
        Backend::flush(&mut self.inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::backend::CrosstermBackend;
    use ratatui::style::{Color, Style};
    use ratatui::widgets::{Block, Borders, List, ListItem, ListState, StatefulWidget, Widget};

    /// Bytes written, shared with the test.
    #[derive(Clone, Default)]
    struct Sink(std::rc::Rc<std::cell::RefCell<Vec<u8>>>);

    impl Write for Sink {
        fn write(&mut self, b: &[u8]) -> io::Result<usize> {
            self.0.borrow_mut().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    /// A crossterm backend writing to memory, with a fixed size.
    struct Recorder {
        inner: CrosstermBackend<Sink>,
        size: Size,
    }

    impl Write for Recorder {
        fn write(&mut self, b: &[u8]) -> io::Result<usize> {
            self.inner.write(b)
        }
        fn flush(&mut self) -> io::Result<()> {
            Write::flush(&mut self.inner)
        }
    }

    impl Backend for Recorder {
        fn draw<'a, I>(&mut self, content: I) -> io::Result<()>
        where
            I: Iterator<Item = (u16, u16, &'a Cell)>,
        {
            self.inner.draw(content)
        }
        fn hide_cursor(&mut self) -> io::Result<()> {
            Ok(())
        }
        fn show_cursor(&mut self) -> io::Result<()> {
            Ok(())
        }
        fn get_cursor_position(&mut self) -> io::Result<Position> {
            Ok(Position::new(0, 0))
        }
        fn set_cursor_position<P: Into<Position>>(&mut self, _: P) -> io::Result<()> {
            Ok(())
        }
        fn clear(&mut self) -> io::Result<()> {
            self.inner.clear()
        }
        fn size(&self) -> io::Result<Size> {
            Ok(self.size)
        }
        fn window_size(&mut self) -> io::Result<WindowSize> {
            Ok(WindowSize {
                columns_rows: self.size,
                pixels: Size::new(0, 0),
            })
        }
        fn flush(&mut self) -> io::Result<()> {
            Backend::flush(&mut self.inner)
        }
    }

    /// A bordered list with a highlighted row, a side panel and a footer,
    /// like the customer screens.
    fn frame(w: u16, h: u16, offset: usize, selected: usize, side: &str) -> Buffer {
        let area = Rect::new(0, 0, w, h);
        let mut buf = Buffer::empty(area);
        let items: Vec<ListItem> = (0..500)
            .map(|i| {
                ListItem::new(format!(
                    "C{i:07} customer {} · {}",
                    i * 7 % 13,
                    "é".repeat(i % 3)
                ))
            })
            .collect();
        let list_area = Rect::new(0, 0, w * 2 / 3, h - 1);
        let mut st = ListState::default()
            .with_offset(offset)
            .with_selected(Some(selected));
        StatefulWidget::render(
            List::new(items)
                .block(Block::default().borders(Borders::ALL).title(" list "))
                .highlight_style(Style::default().bg(Color::Blue).fg(Color::White)),
            list_area,
            &mut buf,
            &mut st,
        );
        let side_area = Rect::new(w * 2 / 3, 0, w - w * 2 / 3, h - 1);
        ratatui::widgets::Paragraph::new(side.to_string())
            .block(Block::default().borders(Borders::ALL))
            .render(side_area, &mut buf);
        buf.set_string(
            0,
            h - 1,
            format!("row {selected}"),
            Style::default().fg(Color::Yellow),
        );
        buf
    }

    fn screen_text(p: &vt100::Parser, w: u16, h: u16) -> Vec<String> {
        (0..h)
            .map(|y| {
                (0..w)
                    .map(|x| {
                        p.screen()
                            .cell(y, x)
                            .map(|c| {
                                let s = c.contents();
                                if s.is_empty() && !c.is_wide_continuation() {
                                    " ".to_string()
                                } else {
                                    s
                                }
                            })
                            .unwrap_or_default()
                    })
                    .collect()
            })
            .collect()
    }

    fn buffer_text(b: &Buffer) -> Vec<String> {
        (0..b.area.height)
            .map(|y| {
                (0..b.area.width)
                    .map(|x| b[(x, y)].symbol().to_string())
                    .collect::<String>()
            })
            .collect()
    }

    /// Whatever the frames, the terminal ends up showing exactly each frame,
    /// and scrolling a list costs a fraction of repainting it.
    #[test]
    fn terminal_shows_every_frame_exactly_and_scrolling_is_cheap() {
        let (w, h) = (120u16, 40u16);
        let (plain_out, scroll_out) = (Sink::default(), Sink::default());
        let mut plain = Recorder {
            inner: CrosstermBackend::new(plain_out.clone()),
            size: Size::new(w, h),
        };
        let mut scrolling = ScrollingBackend::new(Recorder {
            inner: CrosstermBackend::new(scroll_out.clone()),
            size: Size::new(w, h),
        })
        .unwrap();
        let mut parser = vt100::Parser::new(h, w, 0);
        let mut prev = Buffer::empty(Rect::new(0, 0, w, h));
        // Down one row at a time past the bottom, a page, back up, a jump.
        let mut steps: Vec<(usize, usize)> = Vec::new();
        let visible = (h - 3) as usize;
        for sel in 0..80usize {
            steps.push((sel.saturating_sub(visible - 1), sel));
        }
        for sel in (40..80).rev() {
            steps.push((sel.min(steps.last().map_or(0, |s| s.0)), sel));
        }
        steps.push((300, 310));
        steps.push((302, 312));
        steps.push((301, 311));
        // Bytes sent for the frames where the list moved by one row.
        let (mut plain_bytes, mut scroll_bytes) = (0usize, 0usize);
        let mut last_offset = 0usize;
        for (i, (offset, sel)) in steps.into_iter().enumerate() {
            let one_row = offset.abs_diff(last_offset) == 1;
            last_offset = offset;
            let side = if i % 17 == 0 {
                format!("tick {i}")
            } else {
                "static".into()
            };
            let next = frame(w, h, offset, sel, &side);
            let updates = prev.diff(&next);
            let before = plain_out.0.borrow().len();
            plain.draw(updates.clone().into_iter()).unwrap();
            if one_row {
                plain_bytes += plain_out.0.borrow().len() - before;
            }
            let before = scroll_out.0.borrow().len();
            scrolling.draw(updates.into_iter()).unwrap();
            let out = scroll_out.0.borrow()[before..].to_vec();
            if one_row {
                scroll_bytes += out.len();
            }
            parser.process(&out);
            assert_eq!(
                screen_text(&parser, w, h),
                buffer_text(&next),
                "frame {i} (offset {offset}, selected {sel})"
            );
            // Colours too: the highlighted row is blue.
            let hl_row = (sel - offset + 1) as u16;
            assert_eq!(
                parser.screen().cell(hl_row, 2).map(|c| c.bgcolor()),
                Some(vt100::Color::Idx(4)),
                "frame {i}"
            );
            assert_eq!(
                parser.screen().cell(hl_row + 1, 2).map(|c| c.bgcolor()),
                if hl_row + 1 < h - 2 {
                    Some(vt100::Color::Default)
                } else {
                    parser.screen().cell(hl_row + 1, 2).map(|c| c.bgcolor())
                },
                "frame {i}"
            );
            prev = next;
        }
        assert!(
            scroll_bytes * 4 < plain_bytes,
            "scrolling sent {scroll_bytes} bytes, repainting {plain_bytes}"
        );
    }

    #[test]
    fn a_move_is_found_only_when_it_pays() {
        let a = frame(80, 24, 0, 5, "x");
        assert_eq!(find_move(&a, &a), None);
        let b = frame(80, 24, 1, 22, "x");
        let c = frame(80, 24, 2, 23, "x");
        let m = find_move(&b, &c).unwrap();
        assert_eq!(m.shift, 1);
        let mut moved = b.clone();
        apply_move(&mut moved, m);
        // After the move, fewer rows differ than before it.
        let differ = |x: &Buffer, y: &Buffer| (0..24).filter(|&r| row(x, r) != row(y, r)).count();
        assert!(differ(&moved, &c) <= 4, "{}", differ(&moved, &c));
        assert!(differ(&b, &c) > 15);
    }

    /// Wide glyphs replaced by others at another offset (a list of Korean
    /// names, then one of Japanese names a column to the left) reach the
    /// terminal whole: the model of the screen blanks the cells a wide
    /// glyph covers, as the frame's buffer does.
    #[test]
    fn wide_glyphs_replaced_at_another_offset_are_drawn_whole() {
        let out = Sink::default();
        let rec = Recorder {
            inner: CrosstermBackend::new(out.clone()),
            size: Size::new(40, 4),
        };
        let mut term = ratatui::Terminal::new(ScrollingBackend::new(rec).unwrap()).unwrap();
        let mut parser = vt100::Parser::new(4, 40, 0);
        for (x, text) in [(12u16, "김민준 x"), (11, "佐藤 花子 y")] {
            term.draw(|f| {
                f.buffer_mut()
                    .set_string(x, 1, text, ratatui::style::Style::default());
            })
            .unwrap();
            parser.process(&std::mem::take(&mut *out.0.borrow_mut()));
        }
        let row = parser.screen().rows(0, 40).nth(1).unwrap();
        assert_eq!(row.trim(), "佐藤 花子 y", "{row:?}");
    }

    /// A redraw that changes nothing (a worker reply with the same rows, a
    /// refresh) sends no bytes at all: a screen that looks settled is.
    #[test]
    fn a_frame_that_changes_nothing_sends_nothing() {
        let out = Sink::default();
        let rec = Recorder {
            inner: CrosstermBackend::new(out.clone()),
            size: Size::new(80, 24),
        };
        let mut term = ratatui::Terminal::new(ScrollingBackend::new(rec).unwrap()).unwrap();
        let a = frame(80, 24, 0, 3, "x");
        let draw = |t: &mut ratatui::Terminal<ScrollingBackend<Recorder>>, b: &Buffer| {
            t.draw(|f| {
                let area = f.area();
                f.buffer_mut().merge(b);
                let _ = area;
            })
            .unwrap();
        };
        draw(&mut term, &a);
        let after_first = out.0.borrow().len();
        assert!(after_first > 0);
        draw(&mut term, &a);
        draw(&mut term, &a);
        assert_eq!(
            out.0.borrow().len(),
            after_first,
            "identical frames wrote bytes"
        );
        let b = frame(80, 24, 0, 4, "x");
        draw(&mut term, &b);
        assert!(out.0.borrow().len() > after_first);
    }
}
