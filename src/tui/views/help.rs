//! `?`: the help, generated from the keymap (so it cannot disagree with it).

use crate::tui::app::AppState;
use crate::tui::theme::Theme;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};
use ratatui::Frame;

pub fn lines(state: &AppState, theme: &Theme) -> Vec<Line<'static>> {
    let mut out = Vec::new();
    let mut last = None;
    for (ctx, keys, name, help) in state.keymap.help(state.screen) {
        if last != Some(ctx) {
            if last.is_some() {
                out.push(Line::raw(""));
            }
            out.push(Line::from(Span::styled(
                ctx.title().to_string(),
                theme.header(),
            )));
            last = Some(ctx);
        }
        out.push(Line::from(vec![
            Span::styled(format!("  {keys:<18}"), theme.key()),
            Span::raw(help.to_string()),
            Span::styled(format!("  [{name}]"), theme.dim()),
        ]));
    }
    out.push(Line::raw(""));
    out.push(Line::from(Span::styled(
        "Commands (:)".to_string(),
        theme.header(),
    )));
    for (cmd, what) in COMMANDS {
        out.push(Line::from(vec![
            Span::styled(format!("  :{cmd:<30}"), theme.key()),
            Span::raw(what.to_string()),
        ]));
    }
    out.push(Line::raw(""));
    out.push(Line::from(Span::styled(
        "Keys can be remapped in ~/.config/crmtop/config.toml, [keys] action = [\"key\", ...]"
            .to_string(),
        theme.dim(),
    )));
    out
}

/// The `:` commands and what they do.
pub const COMMANDS: &[(&str, &str)] = &[
    (
        "sort COLUMN",
        "sort the list by a column (e.g. :sort revenue)",
    ),
    (
        "filter TEXT",
        "filter the list (same as /); on the queue: kind=K channel=C status=S assignee=A mine unassigned overdue, other words search",
    ),
    ("status S", "the queue's status: open, new, pending, escalated, resolved, closed, any"),
    ("goto ID", "open a customer or a feedback item by its id"),
    ("messages", "every status message of this session, with its time"),
    ("help", "this help"),
    ("q", "quit"),
];

pub fn render(state: &AppState, f: &mut Frame, area: Rect, scroll: u16, theme: &Theme) {
    let w = area.width.saturating_sub(6).min(100);
    let h = area.height.saturating_sub(4);
    let rect = super::centered(area, w, h);
    f.render_widget(Clear, rect);
    let title = format!(
        " Help: {} (j/k scroll, any other key closes) ",
        state.screen.title()
    );
    let p = Paragraph::new(lines(state, theme))
        .scroll((scroll, 0))
        .block(
            Block::default()
                .borders(Borders::ALL)
                .title(Span::styled(title, theme.title())),
        );
    f.render_widget(p, rect);
}

/// `:messages`: every status message of the session, newest last.
pub fn render_messages(state: &AppState, f: &mut Frame, area: Rect, scroll: u16, theme: &Theme) {
    use crate::tui::app::Severity;
    let w = area.width.saturating_sub(4).min(120);
    let h = area.height.saturating_sub(4);
    let rect = super::centered(area, w, h);
    f.render_widget(Clear, rect);
    let lines: Vec<Line> = if state.messages.is_empty() {
        vec![Line::raw("no messages yet")]
    } else {
        state
            .messages
            .iter()
            .map(|m| {
                let style = match m.severity {
                    Severity::Error | Severity::Warning => theme.warn(),
                    _ => theme.dim(),
                };
                Line::from(vec![
                    Span::styled(
                        format!("{} ", crate::timeutil::ts_to_minute_string(m.at)),
                        style,
                    ),
                    Span::raw(m.text.clone()),
                ])
            })
            .collect()
    };
    let title = format!(
        " Messages: {} (j/k scroll, any other key closes) ",
        state.messages.len()
    );
    let p = Paragraph::new(lines)
        .wrap(ratatui::widgets::Wrap { trim: false })
        .scroll((scroll, 0))
        .block(
            Block::default()
                .borders(Borders::ALL)
                .title(Span::styled(title, theme.title())),
        );
    f.render_widget(p, rect);
}
