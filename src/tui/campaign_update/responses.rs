//! The Campaigns screen's answers from the worker: the list, an opened
//! campaign's work pages and report, a customer taken or given back, an
//! outcome recorded (or the store's refusal, said as it came), a campaign
//! closed.

use super::*;

fn opened_for(state: &mut AppState, gen: u64) -> Option<&mut OpenedCampaign> {
    state
        .campaigns
        .opened
        .as_deref_mut()
        .filter(|o| o.gen == gen)
}

/// A campaign answer from the worker.
pub fn on_response(state: &mut AppState, r: Response) -> Vec<Effect> {
    match r {
        Response::Campaigns { gen, rows } => {
            let cs = &mut state.campaigns;
            if gen == cs.gen {
                cs.loading = false;
                let selected = cs.selected().map(|c| c.id);
                cs.rows = rows;
                cs.cursor = selected
                    .and_then(|id| cs.rows.iter().position(|c| c.id == id))
                    .unwrap_or(cs.cursor)
                    .min(cs.rows.len().saturating_sub(1));
            }
            vec![]
        }
        Response::CampaignWork {
            gen,
            campaign,
            offset,
            rows,
        } => {
            if let Some(o) = opened_for(state, gen) {
                o.loading = false;
                o.campaign = *campaign;
                o.offset = offset;
                o.work = rows;
                let last = (o.campaign.treatment - 1).max(0);
                o.pos = o.pos.clamp(0, last);
                if let Some(card) = o.card.as_mut() {
                    // The card follows its row (its version moved on).
                    if let Some(r) = o.work.iter().find(|r| r.cid == card.row.cid) {
                        card.row = r.clone();
                    }
                }
            }
            vec![]
        }
        Response::CampaignReport { gen, report } => {
            if let Some(o) = opened_for(state, gen) {
                o.report = Some(report);
            }
            vec![]
        }
        Response::CampaignTaken { gen, taken } => {
            if opened_for(state, gen).is_none() {
                return vec![];
            }
            match taken {
                Ok(Some(row)) => {
                    state.detail_gen += 1;
                    let card_gen = state.detail_gen;
                    let cid = row.cid;
                    let text = format!(
                        "{}: yours · a accepted d declined r reached x no answer",
                        row.customer_id
                    );
                    let mut fx = Vec::new();
                    if let Some(o) = opened_for(state, gen) {
                        o.card = Some(WorkCard {
                            row: *row,
                            gen: card_gen,
                            advice: None,
                            recorded: None,
                        });
                        let offset = o.offset;
                        fx.push(load_work(o, offset));
                    }
                    state.say(Severity::Success, text);
                    fx.push(advice_request_gen(cid, card_gen));
                    fx
                }
                Ok(None) => {
                    if let Some(o) = opened_for(state, gen) {
                        o.card = None;
                    }
                    state.say(
                        Severity::Info,
                        "nobody left to work in this campaign: every treated customer has an outcome or is someone else's",
                    );
                    vec![]
                }
                Err(e) => {
                    state.say(Severity::Error, e);
                    vec![]
                }
            }
        }
        Response::CampaignReleased {
            gen,
            customer_id,
            result,
        } => {
            match result {
                Ok(_) => {
                    if let Some(o) = opened_for(state, gen) {
                        if o.card
                            .as_ref()
                            .is_some_and(|c| c.row.customer_id == customer_id)
                        {
                            o.card = None;
                        }
                    }
                    state.say(
                        Severity::Success,
                        format!("{customer_id}: given back; t takes the next customer"),
                    );
                }
                Err(e) => state.say(Severity::Error, format!("{customer_id}: {e}")),
            }
            let mut fx = load_list(state);
            if let Some(o) = opened_for(state, gen) {
                let offset = o.offset;
                fx.push(load_work(o, offset));
            }
            fx
        }
        Response::CampaignRecorded {
            gen,
            customer_id,
            outcome,
            result,
        } => {
            match result {
                Ok(version) => {
                    if let Some(o) = opened_for(state, gen) {
                        if let Some(card) =
                            o.card.as_mut().filter(|c| c.row.customer_id == customer_id)
                        {
                            card.recorded = Some(outcome.to_string());
                        }
                    }
                    state.say(
                        Severity::Success,
                        format!(
                            "{customer_id}: {} (version {version}); t takes the next customer",
                            outcome.replace('_', " ")
                        ),
                    );
                }
                Err(e) => state.say(Severity::Error, format!("{customer_id}: {e}")),
            }
            let mut fx = load_list(state);
            if let Some(o) = opened_for(state, gen) {
                let offset = o.offset;
                fx.push(load_work(o, offset));
                fx.push(request(Request::CampaignReport {
                    gen: o.gen,
                    id: o.campaign.id,
                }));
            }
            fx
        }
        Response::CampaignClosed { id, result } => {
            match result {
                Ok(()) => state.say(Severity::Success, "campaign closed; its report stays"),
                Err(e) => state.say(Severity::Error, e),
            }
            let mut fx = load_list(state);
            if let Some(o) = state
                .campaigns
                .opened
                .as_deref_mut()
                .filter(|o| o.campaign.id == id)
            {
                o.card = None;
                let offset = o.offset;
                fx.push(load_work(o, offset));
            }
            fx
        }
        _ => vec![],
    }
}
