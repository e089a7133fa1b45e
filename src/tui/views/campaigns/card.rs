//! The customer being worked in a campaign: why they are in it, what to
//! offer, the next best action, and the keys to record the outcome.

use super::super::format;
use super::super::pane::Pane;
use crate::tui::app::{AppState, OpenedCampaign, WorkCard};
use crate::tui::theme::Theme;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

pub(super) fn card_pane(
    state: &AppState,
    o: &OpenedCampaign,
    card: &WorkCard,
    area: Rect,
    theme: &Theme,
) -> Pane {
    let r = &card.row;
    let name = if state.mask_pii {
        String::new()
    } else {
        r.name.clone().unwrap_or_default()
    };
    let mut lines = vec![Line::from(vec![
        Span::styled(format!("{} ", r.customer_id), theme.title()),
        Span::raw(format!(
            "{name} · rank {} · {} risk: churn {} × CLV {} = value at risk {}",
            r.rank,
            r.stratum,
            r.churn_prob
                .map(|p| format!("{:.0}%", 100.0 * p))
                .unwrap_or_else(|| "-".into()),
            r.clv.map(format::money).unwrap_or_else(|| "-".into()),
            format::money(r.value_at_risk)
        )),
    ])];
    let offer = match &card.advice {
        None => "…".to_string(),
        Some(a) if a.offer.is_empty() => "(no purchase history to go on)".to_string(),
        Some(a) => a.offer.join(", "),
    };
    // Where to reach them: the channel's contact first.
    let contact = {
        use crate::pii::{mask, Kind};
        let shown = |v: &Option<String>, k: Kind| {
            v.as_deref().filter(|v| !v.is_empty()).map(|v| {
                if state.mask_pii {
                    mask(k, v, None)
                } else {
                    v.to_string()
                }
            })
        };
        let phone = shown(&r.phone, Kind::Phone);
        let email = shown(&r.email, Kind::Email);
        let by_mail = o.campaign.channel.contains("mail");
        let (first, second) = if by_mail {
            (email, phone)
        } else {
            (phone, email)
        };
        match (first, second) {
            (Some(a), Some(b)) => format!(" {a} ({b})"),
            (Some(a), None) | (None, Some(a)) => format!(" {a}"),
            (None, None) => " (no phone or e-mail on file)".into(),
        }
    };
    lines.push(Line::from(vec![
        Span::styled("do: ", theme.header()),
        Span::styled(
            format!("{} ({})", o.campaign.action, o.campaign.channel),
            theme.accent(),
        ),
        Span::raw(crate::term::safe(&contact).to_string()),
        Span::styled(" · offer: ", theme.header()),
        Span::raw(offer),
    ]));
    if let Some(n) = card.advice.as_ref().and_then(|a| a.next_action.clone()) {
        lines.push(Line::from(vec![
            Span::styled("next best action: ", theme.header()),
            Span::raw(n),
        ]));
    }
    lines.push(match &card.recorded {
        Some(o) => Line::from(vec![
            Span::styled(format!("recorded: {}", o.replace('_', " ")), theme.good()),
            Span::styled(" · t takes the next customer", theme.dim()),
        ]),
        None => Line::from(vec![
            Span::styled("record: ", theme.header()),
            Span::styled("a", theme.key()),
            Span::raw(" accepted "),
            Span::styled("d", theme.key()),
            Span::raw(" declined "),
            Span::styled("r", theme.key()),
            Span::raw(" reached "),
            Span::styled("x", theme.key()),
            Span::raw(" no answer · "),
            Span::styled("u", theme.key()),
            Span::raw(" give back"),
        ]),
    });
    Pane::new(area, "Working", lines)
}
