//! A customer's detail: profile and attributes, orders, churn with its
//! drivers as bars, CLV breakdown, feedback history, audit trail.

use super::format::{self, fit};
use super::pane::Pane;
use crate::pii;
use crate::tui::app::{AppState, DetailState};
use crate::tui::theme::Theme;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Bar, BarChart, BarGroup, Block, Borders, Paragraph};
use ratatui::Frame;

fn block<'a>(title: String, theme: &Theme) -> Block<'a> {
    Block::default()
        .borders(Borders::ALL)
        .title(Span::styled(format!(" {title} "), theme.title()))
}

fn kv(k: &str, v: String, theme: &Theme) -> Line<'static> {
    Line::from(vec![
        Span::styled(format!("{k:<13}"), theme.dim()),
        Span::raw(v),
    ])
}

pub fn render(state: &AppState, d: &DetailState, f: &mut Frame, area: Rect, theme: &Theme) {
    if d.view.is_none() {
        f.render_widget(
            Paragraph::new("loading…").block(block("Customer".into(), theme)),
            area,
        );
        return;
    }
    for p in panes(state, d, area, theme, Some(f)) {
        p.render(f, theme, d.scroll);
    }
}

/// The detail's text panes (profile, churn and value, latest orders,
/// feedback and audit), scrolled together by j/k, each to its own end;
/// with a frame, the spend chart is drawn too.
pub fn panes(
    state: &AppState,
    d: &DetailState,
    area: Rect,
    theme: &Theme,
    frame: Option<&mut Frame>,
) -> Vec<Pane> {
    let mut out = Vec::new();
    let Some(v) = &d.view else {
        return out;
    };
    let p = &v.detail.profile;
    let mask = state.mask_pii;
    let name = p.name.clone().unwrap_or_default();
    let name = if mask && !name.is_empty() {
        pii::name(&name)
    } else {
        name
    };
    let [top, bottom] =
        Layout::vertical([Constraint::Percentage(55), Constraint::Percentage(45)]).areas(area);
    let [prof, risk] =
        Layout::horizontal([Constraint::Percentage(45), Constraint::Percentage(55)]).areas(top);
    let [orders, hist] =
        Layout::horizontal([Constraint::Percentage(45), Constraint::Percentage(55)]).areas(bottom);

    // Profile and attributes.
    let opt = |x: &Option<String>| x.clone().unwrap_or_else(|| "-".into());
    let mut lines = vec![
        kv("name", name.clone(), theme),
        kv(
            "e-mail",
            p.email
                .as_deref()
                .map(|e| if mask { pii::email(e) } else { e.to_string() })
                .unwrap_or_else(|| "-".into()),
            theme,
        ),
        kv(
            "phone",
            p.phone
                .as_deref()
                .map(|e| if mask { pii::phone(e) } else { e.to_string() })
                .unwrap_or_else(|| "-".into()),
            theme,
        ),
        kv("signup", opt(&p.signup_date), theme),
        kv(
            "age / income",
            format!(
                "{} / {}",
                p.age.map(|a| a.to_string()).unwrap_or_else(|| "-".into()),
                p.income.map(format::money).unwrap_or_else(|| "-".into())
            ),
            theme,
        ),
        kv(
            "plan",
            format!(
                "{} · {} · {}",
                opt(&p.plan),
                opt(&p.segment),
                opt(&p.region)
            ),
            theme,
        ),
        kv(
            "orders",
            format!(
                "{} for {}, last {}",
                p.n_orders,
                format::money(p.revenue),
                p.last_order.map(format::day).unwrap_or_else(|| "-".into())
            ),
            theme,
        ),
    ];
    if let Some(c) = p.churned {
        lines.push(kv(
            "label",
            if c { "churned".into() } else { "stayed".into() },
            theme,
        ));
    }
    for (k, val) in &v.detail.attributes {
        lines.push(kv(
            &fit(k, 12),
            pii::show(mask, pii::Kind::Attribute(k), val, p.name.as_deref()),
            theme,
        ));
    }
    out.push(Pane::new(
        prof,
        format!("{} · {}", p.id, fit(&name, 30)),
        lines,
    ));

    // Churn with drivers, and CLV.
    let mut rl: Vec<Line> = Vec::new();
    let (medium, high) = (state.config.thresholds.medium, state.config.thresholds.high);
    match &v.detail.churn {
        Some((model, prob, _)) => {
            let band = if v.detail.lapsed {
                // Gone already: the score says how sure the model is of it.
                "lapsed: already gone, not at risk"
            } else if *prob >= high {
                "high risk"
            } else if *prob >= medium {
                "medium risk"
            } else {
                "low risk"
            };
            rl.push(Line::from(vec![
                Span::styled("churn ", theme.dim()),
                Span::styled(
                    format!("{} ({band})", format::percent(*prob)),
                    theme.risk(*prob, medium, high).add_modifier(Modifier::BOLD),
                ),
                Span::styled(format!("  model v{model}"), theme.dim()),
            ]));
            let w = risk.width.saturating_sub(4) as usize;
            let max = v
                .drivers
                .iter()
                .map(|(_, c)| c.abs())
                .fold(0.0, f64::max)
                .max(1e-9);
            for (text, c) in &v.drivers {
                let bar_w = ((c.abs() / max) * 12.0).round().max(1.0) as usize;
                let style = if *c > 0.0 { theme.bad() } else { theme.good() };
                let bar = if *c > 0.0 {
                    "█".repeat(bar_w)
                } else {
                    "░".repeat(bar_w)
                };
                rl.push(Line::from(vec![
                    Span::styled(format!("{bar:<12} "), style),
                    Span::raw(fit(&format!("{text} ({c:+.2})"), w.saturating_sub(13))),
                ]));
            }
            if v.drivers.is_empty() {
                rl.push(Line::from(Span::styled(
                    "(this model kind gives no per-customer drivers)",
                    theme.dim(),
                )));
            }
        }
        None => rl.push(Line::from(Span::styled(
            "no churn score for this customer yet: R trains (or retrains) the model",
            theme.dim(),
        ))),
    }
    if let Some(a) = &d.advice {
        // What to offer first (one line), then the action and its reasons.
        if !a.offer.is_empty() {
            let w = risk.width.saturating_sub(10) as usize;
            rl.push(Line::from(vec![
                Span::styled("offer ", theme.dim()),
                Span::raw(fit(&crate::term::safe(&a.offer.join(", ")), w)),
            ]));
        }
        if let Some(n) = &a.next_action {
            // The explanation in full, wrapped at words to the pane.
            rl.push(Line::from(Span::styled("next best action", theme.dim())));
            let w = (risk.width.saturating_sub(4) as usize).max(20);
            let mut line = String::new();
            for word in crate::term::safe(n).split(' ') {
                if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > w {
                    rl.push(Line::from(Span::styled(
                        std::mem::take(&mut line),
                        theme.accent(),
                    )));
                }
                if !line.is_empty() {
                    line.push(' ');
                }
                line.push_str(word);
            }
            if !line.is_empty() {
                rl.push(Line::from(Span::styled(line, theme.accent())));
            }
        }
    }
    rl.push(Line::raw(""));
    match &v.detail.clv {
        Some(c) => {
            rl.push(Line::from(vec![
                Span::styled("CLV ", theme.dim()),
                Span::styled(
                    c.clv.map(format::money).unwrap_or_else(|| "n/a".into()),
                    theme.good().add_modifier(Modifier::BOLD),
                ),
                Span::styled(
                    format!(
                        "  ({}{})",
                        c.method,
                        c.segment
                            .as_ref()
                            .map(|s| format!(", {s}"))
                            .unwrap_or_default()
                    ),
                    theme.dim(),
                ),
            ]));
            rl.push(Line::from(format!(
                "P(alive) {} · expected transactions {} · spend/txn {}",
                c.p_alive.map(format::percent).unwrap_or_else(|| "-".into()),
                c.exp_txn
                    .map(|x| format!("{x:.2}"))
                    .unwrap_or_else(|| "-".into()),
                c.exp_spend.map(format::money).unwrap_or_else(|| "-".into())
            )));
            // BG/NBD and its kin cannot see a customer who never bought
            // again leave: P(alive) is 100% for them by construction.
            if c.frequency == Some(0.0) && c.p_alive.is_some_and(|p| p > 0.999) {
                rl.push(Line::from(Span::styled(
                    "  (one-time buyer: the model counts them as alive)",
                    theme.dim(),
                )));
            }
            if let Some((r, fq, m)) = c.rfm {
                rl.push(Line::from(Span::styled(
                    format!("RFM {r}{fq}{m}"),
                    theme.dim(),
                )));
            }
        }
        None => rl.push(Line::from(Span::styled(
            match p.clv {
                Some(v) => format!("CLV {}", super::format::money(v)),
                None => "no CLV for this customer yet: R on the CLV screen (4) fits it".into(),
            },
            theme.dim(),
        ))),
    }
    out.push(Pane::new(risk, "Churn and value", rl));

    // Orders: monthly spend bars and the latest orders.
    let [chart, latest] =
        Layout::vertical([Constraint::Length(7), Constraint::Min(2)]).areas(orders);
    if v.detail.monthly.is_empty() {
        out.push(Pane::new(
            orders,
            "Orders",
            vec![Line::from(Span::styled("no orders", theme.dim()))],
        ));
    } else {
        // Calendar months, empty ones included (a gap is a month without
        // orders, not a month that did not exist), as many as fit, ending
        // with the latest; the years are in the title.
        let fits = (chart.width.saturating_sub(2) / 3).max(1) as usize;
        let months = calendar_months(&v.detail.monthly, fits);
        let bars: Vec<Bar> = months
            .iter()
            .map(|(m, rev)| {
                Bar::default()
                    .value(rev.max(0.0).round() as u64)
                    .label(Line::from(m.get(5..7).unwrap_or("").to_string()))
                    .text_value(String::new())
            })
            .collect();
        // The months in the title as room allows (a title cut mid-date read
        // as another month).
        let mut titles: Vec<String> = match (months.first(), months.last()) {
            (Some(a), Some(b)) if a.0 != b.0 => vec![
                format!("Spend per month, {} to {}", a.0, b.0),
                format!("Spend per month, {}..{}", a.0, b.0),
                format!("Spend, {} to {}", a.0, b.0),
            ],
            (Some(a), _) => vec![format!("Spend per month, {}", a.0)],
            _ => vec![],
        };
        titles.push("Spend per month".into());
        let span = format::title_for(chart.width, &titles);
        let bc = BarChart::default()
            .block(block(span, theme))
            .data(BarGroup::default().bars(&bars))
            .bar_width(2)
            .bar_gap(1)
            .bar_style(ratatui::style::Style::default().fg(theme.bar()));
        if let Some(f) = frame {
            f.render_widget(bc, chart);
        }
        let lines: Vec<Line> = v
            .detail
            .latest_orders
            .iter()
            .map(|o| {
                Line::from(format!(
                    "{}  {:>10}  {}x {}",
                    format::day(o.ts),
                    format::money(o.amount),
                    o.quantity,
                    o.product.clone().unwrap_or_default()
                ))
            })
            .collect();
        let mut pane = Pane::new(latest, "Latest orders", lines);
        pane.wrap = false;
        out.push(pane);
    }

    // Feedback and audit.
    let mut fl: Vec<Line> = Vec::new();
    for fb in &v.detail.feedback {
        let s = fb.sentiment.unwrap_or(0.0);
        let st = if s < -0.05 {
            theme.bad()
        } else if s > 0.05 {
            theme.good()
        } else {
            theme.base()
        };
        fl.push(Line::from(vec![
            Span::styled(
                format!(
                    "{} {:<9} {:<9}",
                    format::day(fb.created_at),
                    fb.kind,
                    fb.status
                ),
                theme.dim(),
            ),
            Span::styled(
                format!(
                    " {}",
                    fit(
                        &history_text(fb.text.as_deref(), fb.score, mask, p.name.as_deref()),
                        60
                    )
                ),
                st,
            ),
        ]));
    }
    if fl.is_empty() {
        fl.push(Line::from(Span::styled("no feedback", theme.dim())));
    }
    fl.push(Line::raw(""));
    fl.push(Line::from(Span::styled("audit trail", theme.header())));
    for a in &v.detail.audit {
        let details = a
            .details
            .as_deref()
            .map(|t| pii::show(mask, pii::Kind::Text, t, p.name.as_deref()));
        fl.push(Line::from(Span::styled(
            format!(
                "{} {}",
                crate::timeutil::ts_to_minute_string(a.at),
                crate::store::audit::sentence(a, details.as_deref())
            ),
            theme.dim(),
        )));
    }
    if v.detail.audit.is_empty() {
        fl.push(Line::from(Span::styled("(nothing recorded)", theme.dim())));
    }
    let mut pane = Pane::new(hist, "Feedback history", fl);
    pane.wrap = false;
    out.push(pane);
    out
}

/// The last `n` calendar months up to the latest month with spend, with
/// zero for months without orders. `monthly` holds ("YYYY-MM", amount).
fn calendar_months(monthly: &[(String, f64)], n: usize) -> Vec<(String, f64)> {
    let parse = |m: &str| -> Option<i32> {
        let (y, mo) = m.split_once('-')?;
        Some(y.parse::<i32>().ok()? * 12 + mo.parse::<i32>().ok()? - 1)
    };
    let Some(last) = monthly.iter().filter_map(|(m, _)| parse(m)).max() else {
        return Vec::new();
    };
    let first = monthly
        .iter()
        .filter_map(|(m, _)| parse(m))
        .min()
        .unwrap_or(last)
        .max(last - n as i32 + 1);
    (first..=last)
        .map(|k| {
            let label = format!("{:04}-{:02}", k / 12, k % 12 + 1);
            let amount = monthly
                .iter()
                .filter(|(m, _)| parse(m) == Some(k))
                .map(|(_, a)| *a)
                .sum();
            (label, amount)
        })
        .collect()
}

/// A feedback item's text for the history: on one line, masked with
/// --mask-pii (e-mails and phone numbers in free text); its score if it has
/// no text.
fn history_text(text: Option<&str>, score: Option<f64>, mask: bool, owner: Option<&str>) -> String {
    match text {
        Some(t) => {
            let one_line = crate::term::safe(&t.replace(['\n', '\r'], " ")).into_owned();
            pii::show(mask, pii::Kind::Text, &one_line, owner)
        }
        None => score.map(|x| format!("score {x}")).unwrap_or_default(),
    }
}
