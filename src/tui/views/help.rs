//! `?`: the help, generated from the keymap (so it cannot disagree with it).

use super::pane::Pane;
use crate::tui::app::AppState;
use crate::tui::theme::Theme;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Clear;
use ratatui::Frame;

/// A help entry: its key column (`indent` wide) and its words, wrapped
/// to `width` with the words continuing under the first (a hanging
/// indent: the two columns stay columns however narrow the pane).
fn hanging(
    head: Span<'static>,
    indent: usize,
    words: &[(String, ratatui::style::Style)],
    width: usize,
) -> Vec<Line<'static>> {
    use unicode_width::UnicodeWidthStr;
    let room = width.saturating_sub(indent).max(10);
    let mut out: Vec<Line<'static>> = Vec::new();
    let mut spans: Vec<Span<'static>> = vec![head];
    let mut used = 0usize;
    for (word, style) in words {
        let mut word = word.as_str();
        let w = word.width();
        if used > 0 && used + 1 + w > room {
            out.push(Line::from(std::mem::take(&mut spans)));
            spans.push(Span::raw(" ".repeat(indent)));
            used = 0;
            word = word.trim_start();
        }
        let w = word.width().min(w);
        if used > 0 {
            spans.push(Span::raw(" "));
            used += 1;
        }
        spans.push(Span::styled(word.to_string(), *style));
        used += w;
    }
    out.push(Line::from(spans));
    out
}

/// The words of a text, in one style.
fn words(text: &str, style: ratatui::style::Style) -> Vec<(String, ratatui::style::Style)> {
    text.split_whitespace()
        .map(|w| (w.to_string(), style))
        .collect()
}

/// The help's lines, wrapped to `width` columns.
pub fn lines(state: &AppState, theme: &Theme, width: usize) -> Vec<Line<'static>> {
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
        let mut w = words(help, ratatui::style::Style::default());
        w.push((format!(" [{name}]"), theme.dim()));
        out.extend(hanging(
            Span::styled(format!("  {keys:<18}"), theme.key()),
            20,
            &w,
            width,
        ));
    }
    // The keys of a line being typed (`line::apply`; not remappable).
    out.push(Line::raw(""));
    out.push(Line::from(Span::styled(
        "Typing a filter (/), a command (:) or a note".to_string(),
        theme.header(),
    )));
    for (keys, help) in [
        (
            "Left, Right",
            "move the cursor; Home or Ctrl-A to the start, End or Ctrl-E to the end",
        ),
        (
            "Backspace, Delete",
            "the character before, at the cursor; Ctrl-W the word before it, Ctrl-U the whole line",
        ),
        ("Tab", "complete a command or an agent's name"),
        ("Enter, Esc", "keep, or leave (Esc clears a filter)"),
    ] {
        out.extend(hanging(
            Span::styled(format!("  {keys:<18}"), theme.key()),
            20,
            &words(help, ratatui::style::Style::default()),
            width,
        ));
    }
    out.push(Line::raw(""));
    out.push(Line::from(Span::styled(
        "Commands (:)".to_string(),
        theme.header(),
    )));
    for c in COMMANDS {
        let usage = format!(":{} {}", c.names.join(" | :"), c.args);
        // A long usage gets a line of its own (never run into its text).
        let help = words(c.help, ratatui::style::Style::default());
        if usage.chars().count() > 31 {
            out.push(Line::from(Span::styled(format!("  {usage}"), theme.key())));
            out.extend(hanging(Span::raw(" ".repeat(34)), 34, &help, width));
        } else {
            out.extend(hanging(
                Span::styled(format!("  {usage:<32}"), theme.key()),
                34,
                &help,
                width,
            ));
        }
        if !c.flags.is_empty() {
            let flags: Vec<(String, ratatui::style::Style)> = c
                .flags
                .iter()
                .map(|f| (f.to_string(), theme.dim()))
                .collect();
            out.extend(hanging(Span::raw(" ".repeat(34)), 34, &flags, width));
        }
    }
    out.push(Line::raw(""));
    let config = state
        .config_path
        .clone()
        .or_else(crate::config::default_path)
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| "the config file (--config)".into());
    out.push(Line::from(Span::styled(
        format!("Keys can be remapped in {config}, [keys] action = [\"key\", ...]"),
        theme.dim(),
    )));
    out
}

/// A `:` command: its name (and aliases), what follows it, its `--flags`
/// (completed with Tab) and what it does. The command line checks names
/// against this table, completes from it, and `:help` and `?` list it, so
/// the three cannot disagree.
pub struct CommandSpec {
    pub names: &'static [&'static str],
    pub args: &'static str,
    pub flags: &'static [&'static str],
    pub help: &'static str,
}

pub const COMMANDS: &[CommandSpec] = &[
    CommandSpec {
        names: &["goto"],
        args: "ID",
        flags: &[],
        help: "open a customer or a feedback item by its id",
    },
    CommandSpec {
        names: &["cluster"],
        args: "[N | off]",
        flags: &[],
        help: "show one behavioural cluster on the customer screens (crmtop clusters)",
    },
    CommandSpec {
        names: &["filter"],
        args: "TEXT | kind=K channel=C status=S assignee=A mine unassigned overdue",
        flags: &[],
        help: "filter the list (as /); on the queue the parts combine, other words search",
    },
    CommandSpec {
        names: &["status"],
        args: "open|new|pending|escalated|resolved|closed|any",
        flags: &[],
        help: "the queue's status",
    },
    CommandSpec {
        names: &["sort"],
        args: "COLUMN",
        flags: &[],
        help: "sort the list by a column (e.g. :sort revenue)",
    },
    CommandSpec {
        names: &["train"],
        args: "[logistic|random_forest|naive_bayes]",
        flags: &["--as-of", "--window-days", "--holdout", "--cv", "--l2", "--seed", "--activate"],
        help: "train a churn model (other kinds are for comparison: kept inactive unless --activate true)",
    },
    CommandSpec {
        names: &["clv"],
        args: "",
        flags: &[
            "--horizon-months",
            "--discount",
            "--margin",
            "--penalizer",
            "--revenue-attr",
            "--time-unit",
            "--as-of",
        ],
        help: "fit CLV again",
    },
    CommandSpec {
        names: &["holdout"],
        args: "[DATE] [bgnbd|pnbd|mbgnbd|auto]",
        flags: &[],
        help: "does CLV predict unseen time? fit to DATE (default: 26 weeks before the last order), compare after",
    },
    CommandSpec {
        names: &["survival"],
        args: "[plan|segment|region|ATTRIBUTE]",
        flags: &[],
        help: "retention curves (Kaplan-Meier) by group, with the log-rank test",
    },
    CommandSpec {
        names: &["cohorts"],
        args: "",
        flags: &[],
        help: "cohort retention: share of each first-order month's customers ordering in each month since",
    },
    CommandSpec {
        names: &["matrix"],
        args: "",
        flags: &[],
        help: "the CLV fit's expected purchases and P(alive) by frequency and recency, as heatmaps",
    },
    CommandSpec {
        names: &["export"],
        args: "customers|orders|feedback|churn|clv PATH [csv|json]",
        flags: &[],
        help: "write records to a private file",
    },
    CommandSpec {
        names: &["columns", "cols"],
        args: "[NAME ... | +NAME | -NAME | reset]",
        flags: &[],
        help: "choose and order the table's columns (saved in the config); alone: list them",
    },
    CommandSpec {
        names: &["messages", "msg"],
        args: "",
        flags: &[],
        help: "every status message of this session, with its time",
    },
    CommandSpec {
        names: &["help", "h"],
        args: "",
        flags: &[],
        help: "this help",
    },
    CommandSpec {
        names: &["quit", "q"],
        args: "",
        flags: &[],
        help: "quit",
    },
];

/// The command of a name or alias.
pub fn command(name: &str) -> Option<&'static CommandSpec> {
    COMMANDS.iter().find(|c| c.names.contains(&name))
}

/// Tab on the command line: the command name, or the current `--flag`,
/// completed: the first that starts with what was typed of it (`stem`, the
/// line before the first Tab), then the next of those on each press, round.
/// None: nothing to complete.
pub fn complete_command(line: &str, stem: &str) -> Option<String> {
    let words: Vec<&str> = line.split(' ').collect();
    let last = *words.last()?;
    let stem_words: Vec<&str> = stem.split(' ').collect();
    let typed = match stem_words.last() {
        Some(t) if stem_words.len() == words.len() => *t,
        _ => last,
    };
    let choices: Vec<&str> = if words.len() == 1 {
        COMMANDS
            .iter()
            .flat_map(|c| c.names.iter().copied())
            .collect()
    } else if last.starts_with("--") || last.is_empty() {
        command(words[0])?.flags.to_vec()
    } else {
        return None;
    };
    let choices: Vec<&str> = choices
        .into_iter()
        .filter(|c| c.starts_with(typed))
        .collect();
    // A choice already there: the next one (round); else the first.
    let pick = match choices.iter().position(|c| *c == last) {
        Some(i) if choices.len() > 1 => choices[(i + 1) % choices.len()],
        Some(_) => return None,
        None => *choices.iter().find(|c| c.starts_with(last))?,
    };
    let mut out = words[..words.len() - 1].join(" ");
    if !out.is_empty() {
        out.push(' ');
    }
    out.push_str(pick);
    Some(out)
}

/// The help overlay as a pane (also used by `update` to stop at its end).
pub fn help_pane(state: &AppState, area: Rect, theme: &Theme) -> Pane {
    let w = area.width.saturating_sub(6).min(100);
    let h = area.height.saturating_sub(4);
    let rect = super::centered(area, w, h);
    let title = format!("Help: {} (j/k scroll, Esc closes)", state.screen.title());
    // Wrapped: a description longer than the pane continues on the next
    // line instead of being cut (the pane scrolls over the wrapped lines).
    Pane::new(
        rect,
        title,
        lines(state, theme, rect.width.saturating_sub(2) as usize),
    )
}

pub fn render(state: &AppState, f: &mut Frame, area: Rect, scroll: u16, theme: &Theme) {
    let p = help_pane(state, area, theme);
    f.render_widget(Clear, p.area);
    p.render(f, theme, scroll);
}

/// `:messages`: every status message of the session, newest last.
pub fn messages_pane(state: &AppState, area: Rect, theme: &Theme) -> Pane {
    use crate::tui::app::Severity;
    let w = area.width.saturating_sub(4).min(120);
    let h = area.height.saturating_sub(4);
    let rect = super::centered(area, w, h);
    let lines: Vec<Line<'static>> = if state.messages.is_empty() {
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
        "Messages: {} (j/k scroll, Esc closes)",
        state.messages.len()
    );
    Pane::new(rect, title, lines)
}

pub fn render_messages(state: &AppState, f: &mut Frame, area: Rect, scroll: u16, theme: &Theme) {
    let p = messages_pane(state, area, theme);
    f.render_widget(Clear, p.area);
    p.render(f, theme, scroll);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tab_completes_commands_and_their_flags() {
        let tab = |line: &str| complete_command(line, line);
        assert_eq!(tab("go").as_deref(), Some("goto"));
        assert_eq!(tab("me").as_deref(), Some("messages"));
        assert_eq!(tab("train --ac").as_deref(), Some("train --activate"));
        assert_eq!(tab("clv --h").as_deref(), Some("clv --horizon-months"));
        assert_eq!(tab("nonsense --x"), None);
        // Several matches: each Tab gives the next.
        let first = tab("train --").unwrap();
        assert_eq!(first, "train --as-of");
        assert_eq!(
            complete_command(&first, "train --").as_deref(),
            Some("train --window-days")
        );
        // Only those that start with what was typed, round: `c` cycles
        // through the c commands, never on to the others.
        let mut line = "c".to_string();
        let mut seen = Vec::new();
        for _ in 0..12 {
            line = complete_command(&line, "c").unwrap();
            seen.push(line.clone());
        }
        let seen: std::collections::BTreeSet<&str> = seen.iter().map(String::as_str).collect();
        let c_names: std::collections::BTreeSet<&str> = COMMANDS
            .iter()
            .flat_map(|c| c.names.iter().copied())
            .filter(|n| n.starts_with('c'))
            .collect();
        assert_eq!(seen, c_names);
        assert!(c_names.contains("clv") && c_names.len() > 2, "{c_names:?}");
    }
}
