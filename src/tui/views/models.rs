//! Churn model versions: the list, and for the selected one the coefficient
//! table, ROC and calibration charts and the confusion matrix; two versions
//! side by side on request.

use super::format::{self, fit};
use crate::analytics::churn::{Coef, TrainReport};
use crate::store::models::ModelRow;
use crate::tui::app::AppState;
use crate::tui::theme::Theme;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Color;
use ratatui::symbols;
use ratatui::text::{Line, Span};
use ratatui::widgets::{
    Axis, Block, Borders, Cell, Chart, Dataset, GraphType, Paragraph, Row, Table, Wrap,
};
use ratatui::Frame;

fn block<'a>(title: String, theme: &Theme) -> Block<'a> {
    Block::default()
        .borders(Borders::ALL)
        .title(Span::styled(format!(" {title} "), theme.title()))
}

fn report(m: &ModelRow) -> Option<TrainReport> {
    serde_json::from_value(m.report.clone()).ok()
}

fn metric(m: &ModelRow, k: &str) -> String {
    m.report
        .get("metrics")
        .and_then(|x| x.get(k))
        .and_then(|x| x.as_f64())
        .map(|v| format!("{v:.3}"))
        .unwrap_or_else(|| "-".into())
}

pub fn render(state: &AppState, f: &mut Frame, area: Rect, theme: &Theme) {
    let ms = &state.models;
    if ms.rows.is_empty() {
        let msg = if ms.loading {
            "loading…"
        } else {
            "No models yet. Press R to train one, or `:train random_forest`."
        };
        f.render_widget(
            Paragraph::new(msg).block(block("Models".into(), theme)),
            area,
        );
        return;
    }
    let list_h = (ms.rows.len() as u16 + 3).min(area.height / 3).max(5);
    let [list, rest] =
        Layout::vertical([Constraint::Length(list_h), Constraint::Min(5)]).areas(area);
    let header = Row::new([
        "",
        "version",
        "kind",
        "trained at",
        "by",
        "AUC",
        "log loss",
        "Brier",
        "n",
    ])
    .style(theme.header());
    let visible = list_h.saturating_sub(3) as usize;
    let skip = ms.cursor.saturating_sub(visible.saturating_sub(1));
    let rows: Vec<Row> = ms
        .rows
        .iter()
        .enumerate()
        .skip(skip)
        .take(visible)
        .map(|(i, m)| {
            let mark = if m.active {
                "ACTIVE"
            } else if ms.compare == Some(m.id) {
                "cmp"
            } else {
                ""
            };
            let row = Row::new(vec![
                Cell::from(Span::styled(mark, theme.good())),
                Cell::from(format!("v{}", m.id)),
                Cell::from(m.kind.clone()),
                Cell::from(crate::timeutil::ts_to_minute_string(m.created_at)),
                Cell::from(fit(&m.agent, 7)),
                Cell::from(metric(m, "auc")),
                Cell::from(metric(m, "log_loss")),
                Cell::from(metric(m, "brier")),
                Cell::from(format::count(m.n_train + m.n_test)),
            ]);
            if i == ms.cursor {
                row.style(theme.selected())
            } else {
                row
            }
        })
        .collect();
    let t = Table::new(
        rows,
        // 78 cells with their spacing: the whole row at 80 columns.
        [
            Constraint::Length(6),
            Constraint::Length(7),
            Constraint::Length(11),
            Constraint::Length(16),
            Constraint::Length(7),
            Constraint::Length(5),
            Constraint::Length(8),
            Constraint::Length(5),
            Constraint::Min(5),
        ],
    )
    .header(header)
    .column_spacing(1)
    .block(block(
        "Model versions (A activates, c compares)".into(),
        theme,
    ));
    f.render_widget(t, list);
    let Some(sel) = ms.selected() else { return };
    if ms.comparing {
        if let Some(other) = ms
            .compare
            .and_then(|id| ms.rows.iter().find(|m| m.id == id))
        {
            render_compare(state, other, sel, f, rest, theme);
            return;
        }
    }
    render_one(state, sel, f, rest, theme);
}

fn stars(p: f64) -> &'static str {
    if p < 0.001 {
        "***"
    } else if p < 0.01 {
        "**"
    } else if p < 0.05 {
        "*"
    } else if p < 0.1 {
        "."
    } else {
        ""
    }
}

/// The statsmodels-style table; the confidence interval columns only when
/// there is room for them (width of the area).
fn coef_table<'a>(
    coefs: &'a [Coef],
    scroll: u16,
    theme: &Theme,
    title: String,
    width: u16,
) -> Table<'a> {
    let with_ci = width >= 72;
    let mut head = vec!["feature", "coef", "std err", "z", "P>|z|"];
    if with_ci {
        head.extend(["[0.025", "0.975]"]);
    }
    head.push("");
    let header = Row::new(head).style(theme.header());
    // The feature's column takes what the numbers leave inside the borders
    // (28 cells of numbers and stars, their 5 spaces; 16 more with the
    // interval).
    let name_w = (width as usize).saturating_sub(28 + 5 + if with_ci { 16 } else { 0 });
    let rows: Vec<Row> = coefs
        .iter()
        .skip(scroll as usize)
        .map(|c| {
            let style = if c.p_value < 0.05 {
                theme.base()
            } else {
                theme.dim()
            };
            let mut cells = vec![
                Cell::from(format::fit_middle(&c.feature, name_w.max(10))),
                Cell::from(format!("{:>7.3}", c.coef)),
                Cell::from(format!("{:>7.3}", c.std_err)),
                Cell::from(format!("{:>6.2}", c.z)),
                Cell::from(format!("{:>5.3}", c.p_value)),
            ];
            if with_ci {
                cells.push(Cell::from(format!("{:>7.3}", c.ci_low)));
                cells.push(Cell::from(format!("{:>7.3}", c.ci_high)));
            }
            cells.push(Cell::from(stars(c.p_value)));
            Row::new(cells).style(style)
        })
        .collect();
    let mut widths = vec![
        Constraint::Min(10),
        Constraint::Length(7),
        Constraint::Length(7),
        Constraint::Length(6),
        Constraint::Length(5),
    ];
    if with_ci {
        widths.extend([Constraint::Length(7), Constraint::Length(7)]);
    }
    widths.push(Constraint::Length(3));
    Table::new(rows, widths)
        .header(header)
        .column_spacing(1)
        .block(block(title, theme))
}

fn render_one(state: &AppState, m: &ModelRow, f: &mut Frame, area: Rect, theme: &Theme) {
    let Some(r) = report(m) else {
        f.render_widget(
            Paragraph::new("this version's report cannot be read")
                .block(block(format!("v{}", m.id), theme)),
            area,
        );
        return;
    };
    let [left, right] =
        Layout::horizontal([Constraint::Percentage(62), Constraint::Percentage(38)]).areas(area);
    match &r.coefficients {
        Some(c) => f.render_widget(
            coef_table(
                c,
                state.models.scroll,
                theme,
                format::title_for(
                    left.width,
                    &[
                        format!(
                            "v{} coefficients, standardised (j/k on a version; *** p<.001)",
                            m.id
                        ),
                        format!("v{} standardised coefficients (j/k: version)", m.id),
                        format!("v{} coefficients", m.id),
                    ],
                ),
                left.width.saturating_sub(2),
            ),
            left,
        ),
        None => {
            let mut lines = vec![Line::from(format!(
                "{} models have no coefficient table.",
                r.kind
            ))];
            lines.push(Line::raw(""));
            lines.push(Line::from(format!("features: {}", r.features.join(", "))));
            for n in &r.notes {
                lines.push(Line::from(format!("note: {n}")));
            }
            f.render_widget(
                Paragraph::new(lines)
                    .wrap(Wrap { trim: true })
                    .block(block(format!("v{}", m.id), theme)),
                left,
            );
        }
    }
    let [roc, cal, conf] = Layout::vertical([
        Constraint::Percentage(45),
        Constraint::Percentage(40),
        Constraint::Min(3),
    ])
    .areas(right);
    render_roc(&[(format!("v{}", m.id), &r)], f, roc, theme);
    render_calibration(&r, f, cal, theme);
    // The threshold and F1 in the title, the four counts on one line: all
    // of it in the single line a 24-row terminal leaves this panel.
    let (title, text) = match &r.metrics {
        Some(x) => (
            format::title_for(
                conf.width,
                &[
                    format!("Confusion matrix at p >= {} · F1 {:.3}", x.threshold, x.f1),
                    format!("Confusion at p >= {} · F1 {:.3}", x.threshold, x.f1),
                    format!("p >= {} · F1 {:.3}", x.threshold, x.f1),
                ],
            ),
            format!(
                "tp {} fp {} / fn {} tn {}",
                x.confusion.tp, x.confusion.fp, x.confusion.fn_, x.confusion.tn
            ),
        ),
        None => (
            "Confusion matrix".into(),
            "no holdout (trained with --holdout 0)".into(),
        ),
    };
    let text = Paragraph::new(text).wrap(Wrap { trim: true });
    let mut b = block(title, theme);
    // A short terminal cuts the counts: say so, and where they are whole.
    let whole = format!("crmtop model show {}", m.id);
    if let Some(mark) = super::pane::cut_mark(super::pane::hidden_lines(&text, conf), &whole, theme)
    {
        b = b.title_bottom(mark);
    }
    f.render_widget(text.block(b), conf);
}

fn render_roc(models: &[(String, &TrainReport)], f: &mut Frame, area: Rect, theme: &Theme) {
    let colors = [Color::Cyan, Color::Magenta];
    let pts: Vec<Vec<(f64, f64)>> = models
        .iter()
        .map(|(_, r)| {
            r.metrics
                .as_ref()
                .map(|m| m.roc.iter().map(|p| (p.fpr, p.tpr)).collect())
                .unwrap_or_default()
        })
        .collect();
    let diag = vec![(0.0, 0.0), (1.0, 1.0)];
    let mut ds: Vec<Dataset> = vec![Dataset::default()
        .marker(symbols::Marker::Braille)
        .graph_type(GraphType::Line)
        .style(theme.dim())
        .data(&diag)];
    for (i, ((name, r), p)) in models.iter().zip(&pts).enumerate() {
        let auc = r
            .metrics
            .as_ref()
            .map(|m| format!(" AUC {:.3}", m.auc))
            .unwrap_or_default();
        ds.push(
            Dataset::default()
                .name(format!("{name}{auc}"))
                .marker(symbols::Marker::Braille)
                .graph_type(GraphType::Line)
                .style(theme.fg(colors[i % 2]))
                .data(p),
        );
    }
    let chart = Chart::new(ds)
        .block(block(
            format::title_for(
                area.width,
                &[
                    "ROC (x: false positive rate, y: true positive rate)".into(),
                    "ROC (x: false pos. rate, y: true pos.)".into(),
                    "ROC (x: FPR, y: TPR)".into(),
                ],
            ),
            theme,
        ))
        .x_axis(
            Axis::default()
                .bounds([0.0, 1.0])
                .labels(vec![Span::raw("0"), Span::raw("1")]),
        )
        .y_axis(
            Axis::default()
                .bounds([0.0, 1.0])
                .labels(vec![Span::raw("0"), Span::raw("1")]),
        );
    f.render_widget(chart, area);
}

fn render_calibration(r: &TrainReport, f: &mut Frame, area: Rect, theme: &Theme) {
    let pts: Vec<(f64, f64)> = r
        .metrics
        .as_ref()
        .map(|m| {
            m.calibration
                .iter()
                .filter(|b| b.n > 0 && b.mean_predicted.is_finite())
                .map(|b| (b.mean_predicted, b.observed_rate))
                .collect()
        })
        .unwrap_or_default();
    let diag = vec![(0.0, 0.0), (1.0, 1.0)];
    let ds = vec![
        Dataset::default()
            .marker(symbols::Marker::Braille)
            .graph_type(GraphType::Line)
            .style(theme.dim())
            .data(&diag),
        Dataset::default()
            .marker(symbols::Marker::Dot)
            .graph_type(GraphType::Line)
            .style(theme.fg(Color::Yellow))
            .data(&pts),
    ];
    let chart = Chart::new(ds)
        .block(block(
            format::title_for(
                area.width,
                &[
                    "Calibration (x: predicted, y: observed)".into(),
                    "Calibration: predicted vs observed".into(),
                    "Calibration (x: pred., y: obs.)".into(),
                    "Calibration".into(),
                ],
            ),
            theme,
        ))
        .x_axis(
            Axis::default()
                .bounds([0.0, 1.0])
                .labels(vec![Span::raw("0"), Span::raw("1")]),
        )
        .y_axis(
            Axis::default()
                .bounds([0.0, 1.0])
                .labels(vec![Span::raw("0"), Span::raw("1")]),
        );
    f.render_widget(chart, area);
}

fn render_compare(
    _state: &AppState,
    a: &ModelRow,
    b: &ModelRow,
    f: &mut Frame,
    area: Rect,
    theme: &Theme,
) {
    let (Some(ra), Some(rb)) = (report(a), report(b)) else {
        return;
    };
    let [left, right] =
        Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(area);
    let keys = [
        ("AUC", "auc"),
        ("PR AUC", "pr_auc"),
        ("log loss", "log_loss"),
        ("Brier", "brier"),
        ("accuracy", "accuracy"),
        ("precision", "precision"),
        ("recall", "recall"),
        ("F1", "f1"),
    ];
    let mut rows = vec![Row::new(vec![
        Cell::from("kind"),
        Cell::from(ra.kind.clone()),
        Cell::from(rb.kind.clone()),
    ])];
    for (label, k) in keys {
        rows.push(Row::new(vec![
            Cell::from(label),
            Cell::from(metric(a, k)),
            Cell::from(metric(b, k)),
        ]));
    }
    rows.push(Row::new(vec![
        Cell::from("as of"),
        Cell::from(ra.as_of.clone()),
        Cell::from(rb.as_of.clone()),
    ]));
    rows.push(Row::new(vec![
        Cell::from("train / test"),
        Cell::from(format!("{} / {}", ra.n_train, ra.n_test)),
        Cell::from(format!("{} / {}", rb.n_train, rb.n_test)),
    ]));
    rows.push(Row::new(vec![
        Cell::from("features"),
        Cell::from(ra.features.len().to_string()),
        Cell::from(rb.features.len().to_string()),
    ]));
    let t = Table::new(
        rows,
        [
            Constraint::Length(12),
            Constraint::Min(10),
            Constraint::Min(10),
        ],
    )
    .header(
        Row::new(vec![
            String::new(),
            format!("v{}", a.id),
            format!("v{}", b.id),
        ])
        .style(theme.header()),
    )
    .block(block(
        format!("v{} against v{} (Esc ends)", a.id, b.id),
        theme,
    ));
    f.render_widget(t, left);
    render_roc(
        &[(format!("v{}", a.id), &ra), (format!("v{}", b.id), &rb)],
        f,
        right,
        theme,
    );
}
