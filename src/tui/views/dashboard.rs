//! The dashboard: tiles, the churn-probability histogram, monthly revenue,
//! the age x income heatmap of churn, and the top at-risk customers.

use super::format::{self, fit};
use crate::pii;
use crate::store::segments::{AGE_GROUPS, INCOME_GROUPS};
use crate::tui::app::AppState;
use crate::tui::theme::Theme;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::symbols;
use ratatui::text::{Line, Span};
use ratatui::widgets::{
    Axis, Bar, BarChart, BarGroup, Block, Borders, Cell, Chart, Dataset, GraphType, Paragraph, Row,
    Table, Wrap,
};
use ratatui::Frame;

fn block<'a>(title: &'a str, theme: &Theme) -> Block<'a> {
    Block::default()
        .borders(Borders::ALL)
        .title(Span::styled(format!(" {title} "), theme.title()))
}

pub fn render(state: &AppState, f: &mut Frame, area: Rect, theme: &Theme) {
    if state.empty_db == Some(true) {
        let hint = super::customers::empty_hint(state, &state.customers).unwrap_or_default();
        f.render_widget(
            Paragraph::new(hint)
                .wrap(Wrap { trim: false })
                .block(block("Dashboard", theme)),
            area,
        );
        return;
    }
    let Some(d) = &state.dashboard else {
        f.render_widget(
            Paragraph::new("loading the dashboard…").block(block("Dashboard", theme)),
            area,
        );
        return;
    };
    let a = &d.agg;
    // Tiles flow onto as many lines as the width needs (2 at 100 columns, 3 at 80).
    let tile_lines = if area.width >= 100 { 2 } else { 3 };
    let [tiles, charts, bottom] = Layout::vertical([
        Constraint::Length(tile_lines + 2),
        Constraint::Percentage(45),
        Constraint::Min(5),
    ])
    .areas(area);

    // Tiles.
    let pct = |x: Option<f64>| x.map(format::percent).unwrap_or_else(|| "-".into());
    let money = |x: Option<f64>| x.map(format::money_short).unwrap_or_else(|| "-".into());
    let base = theme.base();
    let overdue = if d.overdue_feedback > 0 {
        format!("{} past SLA", format::count(d.overdue_feedback))
    } else {
        "0".into()
    };
    let tiles_list: Vec<(&str, String, Style)> = vec![
        ("Customers", format::count(a.customers), base),
        ("Active", format::count(a.active_customers), base),
        ("Lapsed", format::count(a.lapsed), theme.dim()),
        // The share of the model's training customers who churned in its
        // window, and the mean risk of those still active.
        (
            "Base rate",
            pct(a.model.as_ref().map(|m| m.base_rate)),
            base,
        ),
        ("Mean risk", pct(a.mean_churn), base),
        (
            "High risk",
            format::count(a.high_risk),
            if a.high_risk > 0 { theme.bad() } else { base },
        ),
        ("Value at risk", money(a.value_at_risk), theme.warn()),
        ("Total CLV", money(a.total_clv), theme.good()),
        ("Open feedback", format::count(d.open_feedback), base),
        (
            "Overdue",
            overdue,
            if d.overdue_feedback > 0 {
                theme.bad()
            } else {
                base
            },
        ),
    ];
    let per_line = tiles_list.len().div_ceil(tile_lines as usize);
    let lines: Vec<Line> = tiles_list
        .chunks(per_line)
        .map(|chunk| {
            let mut spans = Vec::new();
            for (label, value, style) in chunk {
                spans.push(Span::styled(format!("{label} "), theme.dim()));
                spans.push(Span::styled(
                    value.clone(),
                    style.add_modifier(Modifier::BOLD),
                ));
                spans.push(Span::raw("   "));
            }
            Line::from(spans)
        })
        .collect();
    let mut title = String::from("Dashboard");
    if let Some(l) = a.latest_order {
        title.push_str(&format!(" · data to {}", format::day(l)));
    }
    match &a.model {
        Some(m) => title.push_str(&format!(
            " · model v{} {}{}",
            m.id,
            m.kind,
            m.auc.map(|x| format!(" AUC {x:.3}")).unwrap_or_default()
        )),
        // Scores carried from a file by `migrate`, without their model.
        None if a.scored > 0 => title.push_str(" · scores from a file, no model here: press R"),
        None => title.push_str(" · no churn model yet: press R"),
    }
    if let Some(fit_) = &a.fit {
        title.push_str(&format!(" · CLV fit #{}", fit_.id));
    }
    f.render_widget(
        Paragraph::new(lines).block(Block::default().borders(Borders::ALL).title(Span::styled(
            format!(" {} ", fit(&title, area.width as usize - 4)),
            theme.title(),
        ))),
        tiles,
    );

    // Histogram and revenue.
    let [left, right] =
        Layout::horizontal([Constraint::Percentage(45), Constraint::Percentage(55)]).areas(charts);
    if a.scored == 0 {
        f.render_widget(
            Paragraph::new("No churn scores yet.\nPress R to train a model.")
                .block(block("Churn probability", theme)),
            left,
        );
    } else {
        let inner_w = left.width.saturating_sub(2);
        let bar_w = (inner_w / 10).saturating_sub(1).clamp(1, 6);
        let bars: Vec<Bar> = a
            .histogram
            .iter()
            .enumerate()
            .map(|(i, &n)| {
                let style = theme.risk(
                    i as f64 / 10.0 + 0.05,
                    state.config.thresholds.medium,
                    state.config.thresholds.high,
                );
                Bar::default()
                    .value(n.max(0) as u64)
                    .label(Line::from(format!("{}", i * 10)))
                    .style(style)
                    .text_value(String::new())
            })
            .collect();
        let chart = BarChart::default()
            .block(block("Churn probability (%), customers per bin", theme))
            .data(BarGroup::default().bars(&bars))
            .bar_width(bar_w)
            .bar_gap(1);
        f.render_widget(chart, left);
    }
    render_revenue(a, f, right, theme);

    // Heatmap and top at risk.
    let [hl, hr] =
        Layout::horizontal([Constraint::Percentage(48), Constraint::Percentage(52)]).areas(bottom);
    render_heatmap(state, f, hl, theme);
    render_top(state, f, hr, theme);
}

fn render_revenue(
    a: &crate::store::dashboard::Aggregates,
    f: &mut Frame,
    area: Rect,
    theme: &Theme,
) {
    if a.monthly_revenue.is_empty() {
        f.render_widget(
            Paragraph::new("No orders yet.").block(block("Monthly revenue", theme)),
            area,
        );
        return;
    }
    // Months on a calendar axis: a month without orders is a gap in the
    // line, not a month that silently disappears.
    let month_no = |m: &str| -> Option<i64> {
        let (y, mo) = m.split_once('-')?;
        Some(y.parse::<i64>().ok()? * 12 + mo.parse::<i64>().ok()? - 1)
    };
    let first = a
        .monthly_revenue
        .first()
        .map(|m| m.0.clone())
        .unwrap_or_default();
    let last = a
        .monthly_revenue
        .last()
        .map(|m| m.0.clone())
        .unwrap_or_default();
    let base = month_no(&first).unwrap_or(0);
    let pts: Vec<(f64, f64)> = a
        .monthly_revenue
        .iter()
        .enumerate()
        .map(|(i, (m, v))| {
            let x = month_no(m).map_or(i as i64, |n| n - base);
            (x as f64, *v)
        })
        .collect();
    let span = pts.last().map_or(1.0, |p| p.0).max(1.0);
    // Runs of consecutive months, each its own line.
    let mut runs: Vec<Vec<(f64, f64)>> = Vec::new();
    for p in &pts {
        match runs.last_mut() {
            Some(r) if r.last().is_some_and(|q| p.0 - q.0 <= 1.0) => r.push(*p),
            _ => runs.push(vec![*p]),
        }
    }
    let max = pts.iter().map(|p| p.1).fold(0.0, f64::max).max(1.0);
    let style = theme.fg(Color::Cyan);
    let datasets: Vec<Dataset> = runs
        .iter()
        .map(|r| {
            Dataset::default()
                .marker(symbols::Marker::Braille)
                .graph_type(GraphType::Line)
                .style(style)
                .data(r)
        })
        .collect();
    let months = span as usize + 1;
    let mut title = format!("Monthly revenue, last {months} months");
    // The last month may have only begun: say so, so its drop is not read
    // as a collapse.
    if let Some(l) = a.latest_order {
        use chrono::Datelike;
        let d = crate::timeutil::ts_to_date(l);
        let month = format!("{:04}-{:02}", d.year(), d.month());
        let last_day = d
            .with_day(1)
            .and_then(|f| f.checked_add_months(chrono::Months::new(1)))
            .and_then(|n| n.pred_opt())
            .map_or(31, |e| e.day());
        if last == month && d.day() < last_day {
            title = format!("Monthly revenue · {month} partial ({}d)", d.day());
        }
    }
    let chart = Chart::new(datasets)
        .block(block(&title, theme))
        .x_axis(
            Axis::default()
                .bounds([0.0, span])
                .labels(vec![Span::raw(first), Span::raw(last)]),
        )
        .y_axis(
            Axis::default()
                .bounds([0.0, max * 1.05])
                .labels(vec![Span::raw("0"), Span::raw(format::money_short(max))]),
        );
    f.render_widget(chart, area);
}

/// Cells with fewer customers than this are too small to trust.
const SMALL_CELL: i64 = 30;

fn render_heatmap(state: &AppState, f: &mut Frame, area: Rect, theme: &Theme) {
    let Some(d) = &state.dashboard else { return };
    let cells = &d.agg.heatmap;
    // A group with no scored customer (e.g. customers imported after the
    // model, with no age or income) would be a row or column of '-'.
    let has = |g: &str, by_age: bool| {
        cells.iter().any(|c| {
            (if by_age {
                &c.age_group
            } else {
                &c.income_group
            }) == g
                && c.churn_rate.is_some()
        })
    };
    let ages: Vec<&str> = AGE_GROUPS
        .iter()
        .copied()
        .filter(|g| has(g, true))
        .collect();
    let mut incomes: Vec<&str> = INCOME_GROUPS
        .iter()
        .copied()
        .filter(|g| has(g, false))
        .collect();
    let title = "Churn, age x income k/yr · ~ n<30";
    if cells.iter().all(|c| c.churn_rate.is_none())
        || (ages == ["unknown"] && incomes == ["unknown"])
    {
        let msg = if ages == ["unknown"] && incomes == ["unknown"] {
            "No age or income data for these customers."
        } else {
            "No churn scores yet: press R to train a model."
        };
        f.render_widget(
            Paragraph::new(msg)
                .wrap(Wrap { trim: true })
                .block(block(title, theme)),
            area,
        );
        return;
    }
    let (medium, high) = (state.config.thresholds.medium, state.config.thresholds.high);
    let cell_style = |p: f64| -> Style {
        if !theme.color {
            return if p >= high {
                Style::default().add_modifier(Modifier::BOLD | Modifier::REVERSED)
            } else {
                Style::default()
            };
        }
        let bg = if p >= high {
            Color::Red
        } else if p >= medium {
            Color::Yellow
        } else {
            Color::Green
        };
        Style::default().bg(bg).fg(Color::Black)
    };
    // Income groups by their upper bound, in thousands.
    let short = |g: &str| -> String {
        match g {
            "<25k" => "<25",
            "25-50k" => "<50",
            "50-75k" => "<75",
            "75-100k" => "<100",
            "100-150k" => "<150",
            "150k+" => "150+",
            _ => "n/a",
        }
        .to_string()
    };
    // Five cells per value when they fit, else four ("100%"); when even
    // four do not, the n/a column goes before any label is cut.
    let fits = |n: usize, w: u16| area.width.saturating_sub(2) >= 5 + (w + 1) * n as u16;
    if !fits(incomes.len(), 4) && incomes.last() == Some(&"unknown") {
        incomes.pop();
    }
    let cw: u16 = if fits(incomes.len(), 5) { 5 } else { 4 };
    let header = Row::new(
        std::iter::once(Cell::from("age")).chain(
            incomes
                .iter()
                .map(|i| Cell::from(format!("{:>w$}", short(i), w = cw as usize))),
        ),
    )
    .style(theme.header());
    // Each cell's count under its rate when there is room for two lines.
    let two_lines = area.height.saturating_sub(3) as usize >= 2 * ages.len();
    let rows: Vec<Row> = ages
        .iter()
        .map(|age| {
            let label = if *age == "unknown" { "n/a" } else { *age };
            let mut cs = vec![Cell::from(label.to_string())];
            for inc in &incomes {
                let c = cells
                    .iter()
                    .find(|c| c.age_group == *age && c.income_group == *inc);
                cs.push(
                    match c.and_then(|c| c.churn_rate.map(|r| (r, c.customers))) {
                        // Too few customers to trust: marked `~`, not coloured.
                        Some((r, n)) if n < SMALL_CELL => {
                            let rate = format!("~{:.0}%", r * 100.0);
                            let text = if two_lines {
                                format!("{rate:>w$}\n{:>w$}", format!("n{n}"), w = cw as usize)
                            } else {
                                format!("{rate:>w$}", w = cw as usize)
                            };
                            Cell::from(text).style(theme.dim())
                        }
                        Some((r, n)) => {
                            let rate = format!("{:.0}%", r * 100.0);
                            let text = if two_lines {
                                format!(
                                    "{rate:>w$}\n{:>w$}",
                                    format!("n{}", format::count_short(n)),
                                    w = cw as usize
                                )
                            } else {
                                format!("{rate:>w$}", w = cw as usize)
                            };
                            Cell::from(text).style(cell_style(r))
                        }
                        None => Cell::from("  -"),
                    },
                );
            }
            Row::new(cs).height(if two_lines { 2 } else { 1 })
        })
        .collect();
    let mut widths = vec![Constraint::Length(5)];
    widths.extend(incomes.iter().map(|_| Constraint::Length(cw)));
    let t = Table::new(rows, widths)
        .header(header)
        .column_spacing(1)
        .block(block(title, theme));
    f.render_widget(t, area);
}

fn render_top(state: &AppState, f: &mut Frame, area: Rect, theme: &Theme) {
    let Some(d) = &state.dashboard else { return };
    let title = "Top at-risk customers (churn x CLV)";
    if d.agg.top_at_risk.is_empty() {
        let msg = match (&d.agg.model, &d.agg.fit) {
            (None, _) => "Needs a churn model: press R.",
            (_, None) if d.agg.total_clv.is_none() => {
                "Needs a CLV fit: press R on the CLV screen (4)."
            }
            _ => "No customer has both a churn score and a CLV.",
        };
        f.render_widget(Paragraph::new(msg).block(block(title, theme)), area);
        return;
    }
    // The name only where there is room for it (the id is enough at 80 columns).
    let named = area.width.saturating_sub(2) >= 50;
    let mut head = vec!["id"];
    if named {
        head.push("name");
    }
    head.extend(["churn", "CLV", "at risk"]);
    let header = Row::new(head).style(theme.header());
    let (medium, high) = (state.config.thresholds.medium, state.config.thresholds.high);
    let rows: Vec<Row> = d
        .agg
        .top_at_risk
        .iter()
        .map(|t| {
            let name = t.name.clone().unwrap_or_default();
            let name = if state.mask_pii && !name.is_empty() {
                pii::name(&name)
            } else {
                name
            };
            let mut cells = vec![Cell::from(t.id.clone())];
            if named {
                cells.push(Cell::from(fit(&name, 14)));
            }
            cells.extend([
                Cell::from(Span::styled(
                    format!("{:>6}", super::format::percent(t.churn_prob)),
                    theme.risk(t.churn_prob, medium, high),
                )),
                Cell::from(format!("{:>8}", format::money_short(t.clv))),
                Cell::from(Span::styled(
                    format!("{:>8}", format::money_short(t.value_at_risk)),
                    theme.warn(),
                )),
            ]);
            Row::new(cells)
        })
        .collect();
    let mut widths = vec![Constraint::Length(9)];
    if named {
        widths.push(Constraint::Min(8));
    }
    widths.extend([
        Constraint::Length(6),
        Constraint::Length(8),
        Constraint::Length(8),
    ]);
    let t = Table::new(rows, widths)
        .header(header)
        .column_spacing(1)
        .block(block(title, theme));
    f.render_widget(t, area);
}
