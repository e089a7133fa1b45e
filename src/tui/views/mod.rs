//! Pure views: `render(&AppState, &mut Frame)`. No I/O, no sorting of big data.

mod campaign_charts;
mod campaigns;
mod churn;
mod clv;
mod customers;
mod dashboard;
mod detail;
mod feedback;
pub mod format;
pub mod help;
mod holdout;
mod models;
pub mod pane;
pub mod table;
pub use customers::sort_key;

/// The largest useful scroll of what j/k scroll now: the help, the message
/// log, a customer's detail or an opened queue item (computed from the
/// lines they draw at the current size, so a scroll stops at the end).
pub fn scroll_limit(state: &AppState) -> u16 {
    let area = Rect::new(0, 0, state.width, state.height);
    let theme = Theme { color: state.color };
    match &state.mode {
        Mode::Help(_) => return help::help_pane(state, area, &theme).overflow(),
        Mode::Messages(_) => return help::messages_pane(state, area, &theme).overflow(),
        _ => {}
    }
    let (_, body, _) = super::layout::frame(area);
    if let Some(d) = &state.detail {
        return pane::max_scroll(&detail::panes(state, d, body, &theme, None));
    }
    if state.screen == super::app::Screen::Feedback {
        if let Some(o) = &state.queue.opened {
            let [b, _] = Layout::vertical([Constraint::Min(4), Constraint::Length(1)]).areas(body);
            return feedback::opened_panes(state, o, b, &theme)
                .map(|p| pane::max_scroll(&p))
                .unwrap_or(0);
        }
    }
    0
}

/// The `:columns` name and the column definitions of a screen's table.
pub fn columns_of(
    screen: super::app::Screen,
) -> Option<(&'static str, &'static [table::ColumnDef])> {
    use super::app::Screen;
    match screen {
        Screen::Customers => Some(("customers", customers::CUSTOMER_COLUMNS)),
        Screen::Churn => Some(("churn", churn::CHURN_COLUMNS)),
        Screen::Clv => Some(("clv", clv::CLV_COLUMNS)),
        Screen::Feedback => Some(("queue", feedback::QUEUE_COLUMNS)),
        _ => None,
    }
}

use super::app::{AppState, Mode, Severity};
use super::theme::Theme;
use super::update::screens;
use ratatui::layout::{Constraint, Layout, Rect};

use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Gauge, Paragraph, Wrap};
use ratatui::Frame;

/// Draw the whole frame, then make every cell safe for the terminal: text
/// from data (names, feedback, notes, attribute names, agents) can hold
/// terminal controls, and this is the one place all of it passes before
/// it is flushed (see `crate::term`).
pub fn render(state: &AppState, f: &mut Frame) {
    render_frame(state, f);
    sanitize_buffer(f.buffer_mut());
}

/// Replace controls in cells by their one-column visible stand-ins (a
/// control is a grapheme of its own, one column wide, so the layout does
/// not move) and drop bidi controls (zero-width, joined to a cell).
pub fn sanitize_buffer(buf: &mut ratatui::buffer::Buffer) {
    for cell in buf.content.iter_mut() {
        let sym = cell.symbol();
        if !sym.chars().any(crate::term::is_unsafe) {
            continue;
        }
        let mut out = String::with_capacity(sym.len());
        for c in sym.chars() {
            if crate::term::is_bidi_control(c) {
                continue;
            }
            out.push(if crate::term::is_unsafe(c) {
                crate::term::visible(c)
            } else {
                c
            });
        }
        if out.is_empty() {
            out.push(' ');
        }
        cell.set_symbol(&out);
    }
}

fn render_frame(state: &AppState, f: &mut Frame) {
    let area = f.area();
    let theme = Theme { color: state.color };
    if area.width < AppState::MIN_WIDTH || area.height < AppState::MIN_HEIGHT {
        let msg = format!(
            "crmtop needs at least {}x{} (now {}x{}); q quits",
            AppState::MIN_WIDTH,
            AppState::MIN_HEIGHT,
            area.width,
            area.height
        );
        f.render_widget(Paragraph::new(msg), area);
        return;
    }
    let (tabs, body, status) = super::layout::frame(area);
    render_tabs(state, f, tabs, &theme);
    use super::app::Screen;
    match (&state.detail, state.screen) {
        (Some(d), _) => detail::render(state, d, f, body, &theme),
        (None, Screen::Dashboard) => dashboard::render(state, f, body, &theme),
        (None, Screen::Customers) => customers::render(state, f, body, &theme),
        (None, Screen::Churn) => churn::render(state, f, body, &theme),
        (None, Screen::Clv) => clv::render(state, f, body, &theme),
        (None, Screen::Feedback) => feedback::render(state, f, body, &theme),
        (None, Screen::Models) => models::render(state, f, body, &theme),
        (None, Screen::Campaigns) => campaigns::render(state, f, body, &theme),
    }
    render_status(state, f, status, &theme);
    match &state.mode {
        Mode::Help(scroll) => help::render(state, f, area, *scroll, &theme),
        Mode::Messages(scroll) => help::render_messages(state, f, area, *scroll, &theme),
        Mode::Holdout => holdout::render(state, f, area, &theme),
        Mode::Matrices => holdout::render_matrices(state, f, area, &theme),
        Mode::Survival => holdout::render_survival(state, f, area, &theme),
        Mode::Cohorts => holdout::render_cohorts(state, f, area, &theme),
        Mode::Confirm(c) => render_dialog(f, area, &c.question, &theme),
        _ => {}
    }
}

fn render_tabs(state: &AppState, f: &mut Frame, area: Rect, theme: &Theme) {
    // Full titles when they fit; else short ones, the current screen's in
    // full; else without the name in front.
    let label = |s: &super::app::Screen, short: bool| {
        let t = if short && *s != state.screen {
            s.short_title()
        } else {
            s.title()
        };
        format!(" {} {} ", s.index() + 1, t)
    };
    let tail = "  ? help";
    let width = |short: bool| {
        screens()
            .iter()
            .map(|s| format::width(&label(s, short)))
            .sum::<usize>()
            + format::width(tail)
    };
    let avail = area.width as usize;
    let short = width(false) + 8 > avail;
    let brand = width(short) + 8 <= avail;
    let mut spans = vec![];
    if brand {
        spans.push(Span::styled(" crmtop ", theme.title()));
    }
    for s in screens() {
        let label = label(s, short);
        let style = if *s == state.screen {
            theme.tab_active()
        } else {
            theme.dim()
        };
        spans.push(Span::styled(label, style));
    }
    spans.push(Span::styled(tail, theme.dim()));
    f.render_widget(Paragraph::new(Line::from(spans)), area);
}

fn render_status(state: &AppState, f: &mut Frame, area: Rect, theme: &Theme) {
    // Input lines take the status bar while typing.
    match &state.mode {
        Mode::Filter(cursor) => {
            let list = match state.screen {
                super::app::Screen::Churn => &state.churn,
                super::app::Screen::Clv => &state.clv,
                _ => &state.customers,
            };
            let text = if state.screen == super::app::Screen::Feedback {
                state.queue.search.clone()
            } else {
                list.query.filter.clone().unwrap_or_default()
            };
            let line = input_line(
                Span::styled("/", theme.key()),
                text.split_at(crate::tui::line::byte_of(&text, *cursor)),
                "   Enter keep · Esc clear",
                area.width,
                theme,
            );
            f.render_widget(Paragraph::new(line), area);
            return;
        }
        Mode::Command(c) => {
            let line = input_line(
                Span::styled(":", theme.key()),
                c.text
                    .split_at(crate::tui::line::byte_of(&c.text, c.cursor)),
                "",
                area.width,
                theme,
            );
            f.render_widget(Paragraph::new(line), area);
            return;
        }
        Mode::Prompt(p) => {
            let lower = p.text.to_lowercase();
            let names: Vec<&str> = p
                .choices
                .iter()
                .filter(|c| c.to_lowercase().starts_with(&lower))
                .take(6)
                .map(String::as_str)
                .collect();
            let hint = if names.is_empty() {
                "   Enter ok · Esc cancel".to_string()
            } else {
                format!("   Tab: {} · Enter ok · Esc cancel", names.join(", "))
            };
            let line = input_line(
                Span::styled(format!("{}: ", p.label), theme.key()),
                p.split(),
                &hint,
                area.width,
                theme,
            );
            f.render_widget(Paragraph::new(line), area);
            return;
        }
        _ => {}
    }
    let right = format!(
        " {} · {}{}{} ",
        state.db_label,
        state.agent,
        if state.read_only { " · READ-ONLY" } else { "" },
        if state.mask_pii { " · PII masked" } else { "" }
    );
    // A message that would be cut by the file and agent label takes its
    // place (`:messages` keeps every message whole).
    let msg_w = state.status.as_ref().map_or(0, |s| {
        let mark = match s.severity {
            Severity::Error => "error: ".len(),
            Severity::Warning => "warning: ".len(),
            _ => 0,
        };
        (1 + mark + format::width(&s.text)) as u16
    });
    let gauge_w = if state.job.is_some() { 33 } else { 0 };
    // (READ-ONLY and PII masked always stay in sight.)
    let safety = state.read_only || state.mask_pii;
    let right_w = if !safety && msg_w + gauge_w + format::width(&right) as u16 > area.width {
        0
    } else {
        format::width(&right) as u16
    };
    let [left, gauge_area, right_area] = Layout::horizontal([
        Constraint::Min(10),
        Constraint::Length(if state.job.is_some() { 32 } else { 0 }),
        Constraint::Length(right_w.min(area.width / 2)),
    ])
    .spacing(if state.job.is_some() { 1 } else { 0 })
    .areas(area);
    if let Some(job) = &state.job {
        let (label, ratio) = match &job.progress {
            // (The job's name is in the message on the left.) A phase
            // counted in steps shows its share done; one that is a single
            // step, how long it has run.
            Some(p) if p.total > 1 => (
                format!("{} {}%", p.phase, p.percent()),
                f64::from(p.percent()) / 100.0,
            ),
            Some(p) => match state.now - job.phase_since {
                secs @ 1.. => (format!("{} {secs} s", p.phase), 0.0),
                _ => (format!("{}…", p.phase), 0.0),
            },
            None => (format!("{} starting", job.label), 0.0),
        };
        let label = if job.cancelling {
            "cancelling…".to_string()
        } else {
            label
        };
        let g = Gauge::default()
            .gauge_style(
                ratatui::style::Style::default()
                    .fg(theme.bar())
                    .add_modifier(Modifier::BOLD),
            )
            .ratio(ratio.clamp(0.0, 1.0))
            .label(label);
        f.render_widget(g, gauge_area);
    }
    let msg = match &state.status {
        Some(s) => {
            let style = match s.severity {
                Severity::Info => theme.base(),
                Severity::Success => theme.good(),
                Severity::Warning => theme.warn(),
                Severity::Error => theme.bad(),
            };
            let mark = match s.severity {
                Severity::Error => "error: ",
                Severity::Warning => "warning: ",
                _ => "",
            };
            Span::styled(format!(" {mark}{}", s.text), style)
        }
        None => Span::styled(" ? help · : command · / filter · q quit", theme.dim()),
    };
    if msg_w > left.width && area.y > 0 {
        // Too long for the line: it takes the line above too (the screen's
        // footer, for the seconds it shows), so its end, often what to do
        // next, is read.
        let two = Rect {
            y: area.y - 1,
            height: 2,
            ..left
        };
        // The whole line above is cleared: what is left of a border there
        // would run on from the message.
        f.render_widget(
            Clear,
            Rect {
                y: area.y - 1,
                height: 1,
                ..area
            },
        );
        f.render_widget(Clear, two);
        f.render_widget(
            Paragraph::new(Line::from(msg)).wrap(Wrap { trim: false }),
            two,
        );
    } else {
        f.render_widget(Paragraph::new(Line::from(msg)), left);
    }
    f.render_widget(Paragraph::new(Span::styled(right, theme.dim())), right_area);
}

/// An input line: the prompt, what was typed before and after the cursor,
/// then the hint if it fits. Text wider than the line shows
/// the part around the cursor, so a long note is never typed blind.
fn input_line<'a>(
    prompt: Span<'a>,
    (before, after): (&str, &str),
    hint: &str,
    width: u16,
    theme: &Theme,
) -> Line<'a> {
    let width = usize::from(width);
    // A prompt that leaves less than 20 cells for the text is cut first.
    let prompt_w = format::width(&prompt.content).min(width.saturating_sub(21));
    let prompt = Span::styled(format::fit(&prompt.content, prompt_w), prompt.style);
    let room = width.saturating_sub(prompt_w + 1);
    let (bw, aw) = (format::width(before), format::width(after));
    let (before, after) = if bw + aw <= room {
        (before.to_string(), after.to_string())
    } else {
        // Some of what follows the cursor stays in sight too.
        let b = format::fit_tail(before, room - aw.min(room / 3));
        let a = format::fit(after, room.saturating_sub(format::width(&b)));
        (b, a)
    };
    let used = prompt_w + format::width(&before) + format::width(&after) + 1;
    let mut spans = vec![
        prompt,
        Span::raw(before),
        Span::styled("▏", theme.key()),
        Span::raw(after),
    ];
    if used + format::width(hint) <= width {
        spans.push(Span::styled(hint.to_string(), theme.dim()));
    }
    Line::from(spans)
}

fn render_dialog(f: &mut Frame, area: Rect, text: &str, theme: &Theme) {
    let w = (format::width(text) as u16 + 6)
        .min(area.width.saturating_sub(4))
        .max(20);
    let rect = centered(area, w, 5);
    f.render_widget(Clear, rect);
    let p = Paragraph::new(text.to_string())
        .wrap(Wrap { trim: true })
        .block(
            Block::default()
                .borders(Borders::ALL)
                .title(Span::styled(" confirm ", theme.title())),
        );
    f.render_widget(p, rect);
}

pub fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width);
    let h = h.min(area.height);
    Rect {
        x: area.x + (area.width - w) / 2,
        y: area.y + (area.height - h) / 2,
        width: w,
        height: h,
    }
}
