//! The queue's prompts: the note, reason or agent an action asks for
//! (refused before typing when the workflow would refuse every target),
//! the agent names Tab completes, and the confirmation of a new agent.

use super::action::{Action, InputKey};
use super::app::{AppState, Draft, Mode, Prompt, PromptPurpose, Severity};
use super::queue_update::{act_targets, item_of, send_act, send_act_to};
use super::update::Effect;
use super::worker::Request;
use crate::analytics::workflow::Act;

pub(super) fn ask(state: &mut AppState, label: &str, purpose: PromptPurpose) -> Vec<Effect> {
    // Refused before the prompt: typing a note that can never be saved
    // would waste the agent's time.
    let Some(targets) = act_targets(state) else {
        return vec![];
    };
    // A resolve or escalation that the workflow would refuse for every
    // item is refused now, before the agent types a note for nothing.
    let probe = match purpose {
        PromptPurpose::Resolve => Some(Act::Resolve("-".into())),
        PromptPurpose::Escalate => Some(Act::Escalate("-".into())),
        PromptPurpose::Assign | PromptPurpose::Note | PromptPurpose::CampaignNote(..) => None,
    };
    if let Some(act) = probe {
        let refusals: Vec<String> = targets
            .iter()
            .filter_map(|t| {
                let it = item_of(state, t.fid)?;
                let st = crate::analytics::workflow::State {
                    status: crate::analytics::workflow::Status::parse(&it.status)?,
                    assignee: it.assignee.clone(),
                };
                crate::analytics::workflow::apply(&st, &act, &state.agent)
                    .err()
                    .map(|r| match r {
                        // Which change was refused, not only why.
                        crate::analytics::workflow::Refusal::Held { .. } => {
                            format!("{}: {r}: not yours to {}", it.id, act.name())
                        }
                        r => format!("{}: {r}", it.id),
                    })
            })
            .collect();
        if !refusals.is_empty() && refusals.len() == targets.len() {
            // Each refusal once in the log (`say` logs the first).
            for r in &refusals[1..] {
                state.log(Severity::Warning, r.clone());
            }
            state.say(Severity::Warning, refusals[0].clone());
            return vec![];
        }
    }
    let choices = if purpose == PromptPurpose::Assign {
        state.queue.agents.clone()
    } else {
        vec![]
    };
    // Text typed before for the same items and not saved comes back.
    let fids: Vec<i64> = targets.iter().map(|t| t.fid).collect();
    let kept = state
        .queue
        .draft
        .as_ref()
        .filter(|d| d.purpose == purpose && d.fids == fids)
        .map(|d| d.text.clone());
    let label = match &kept {
        Some(_) => format!("{label} (kept; Ctrl-U clears)"),
        None => label.to_string(),
    };
    let text = kept.unwrap_or_default();
    state.mode = Mode::Prompt(Prompt {
        label,
        cursor: text.chars().count(),
        text,
        purpose: purpose.clone(),
        choices,
        stem: None,
        seen: targets.clone(),
    });
    if purpose == PromptPurpose::Assign {
        // Fresh names for completion (answers while the agent types).
        return vec![Effect::Request(Request::Agents)];
    }
    vec![]
}

/// Names for the assign prompt.
pub fn on_agents(state: &mut AppState, agents: Vec<String>) -> Vec<Effect> {
    state.queue.agents = agents.clone();
    if let Mode::Prompt(p) = &mut state.mode {
        if p.purpose == PromptPurpose::Assign {
            p.choices = agents;
        }
    }
    vec![]
}

/// The completion of `text` among `choices`: the next candidate after the
/// current text that starts with what was typed before completing.
fn complete(stem: &str, text: &str, choices: &[String]) -> Option<String> {
    let lower = stem.to_lowercase();
    let matching: Vec<&String> = choices
        .iter()
        .filter(|c| c.to_lowercase().starts_with(&lower))
        .collect();
    match matching.iter().position(|c| c.as_str() == text) {
        // Already a full name: the next one sharing the prefix, round.
        Some(i) if matching.len() > 1 => Some(matching[(i + 1) % matching.len()].to_string()),
        Some(_) => None,
        None => matching.first().map(|c| c.to_string()),
    }
}

/// Typing into a prompt.
pub fn prompt_input(state: &mut AppState, action: Action) -> Vec<Effect> {
    let Mode::Prompt(mut p) = state.mode.clone() else {
        return vec![];
    };
    match action {
        Action::Input(
            key @ (InputKey::Char(_)
            | InputKey::Backspace
            | InputKey::Delete
            | InputKey::DeleteWord
            | InputKey::Left
            | InputKey::Right
            | InputKey::Home
            | InputKey::End
            | InputKey::Clear),
        ) => {
            // A changed text is completed from itself again.
            let edit = super::line::apply(&mut p.text, &mut p.cursor, &key);
            if edit == super::line::Edit::Changed {
                p.stem = None;
            }
        }
        Action::Input(InputKey::Complete) => {
            let stem = p.stem.get_or_insert_with(|| p.text.clone()).clone();
            if let Some(c) = complete(&stem, &p.text, &p.choices) {
                p.text = c;
                p.cursor = p.text.chars().count();
            }
        }
        Action::Input(InputKey::Cancel) => {
            state.mode = Mode::Normal;
            // What was typed stays for these items (the same key brings it
            // back); an emptied prompt forgets it.
            keep_draft(state, &p, p.text.trim());
            return vec![];
        }
        Action::Input(InputKey::Submit) => {
            let text = p.text.trim().to_string();
            if let PromptPurpose::CampaignNote(row, outcome) = p.purpose {
                state.mode = Mode::Normal;
                return super::campaign_update::record(state, *row, outcome, text);
            }
            if text.is_empty() {
                let need = match p.purpose {
                    PromptPurpose::Resolve => "a resolution note is required (Esc cancels)",
                    PromptPurpose::Escalate => "an escalation reason is required (Esc cancels)",
                    PromptPurpose::Note => "type the note (Esc cancels)",
                    PromptPurpose::Assign => "type an agent name; Tab completes (Esc cancels)",
                    PromptPurpose::CampaignNote(..) => "",
                };
                state.say(Severity::Warning, need);
                if !p.label.ends_with("(required)") {
                    p.label.push_str(" (required)");
                }
                state.mode = Mode::Prompt(p);
                return vec![];
            }
            state.mode = Mode::Normal;
            let act = match p.purpose {
                PromptPurpose::Resolve => Act::Resolve(text),
                PromptPurpose::Escalate => Act::Escalate(text),
                PromptPurpose::Note => Act::Note(text),
                PromptPurpose::CampaignNote(..) => return vec![],
                PromptPurpose::Assign => {
                    // Only agents known to the database or the config; a
                    // new name is confirmed first (a typo hands work to
                    // no one).
                    if let Err(e) = crate::agent::validate(&text) {
                        state.say(Severity::Warning, e);
                        return vec![];
                    }
                    let listed = &state.config.agents.names;
                    if !crate::agent::is_known(&text, &state.queue.agents, listed, &state.agent) {
                        let mut all = state.queue.agents.clone();
                        all.extend(listed.iter().cloned());
                        let near = crate::agent::closest(&text, &all);
                        let hint = if near.is_empty() {
                            String::new()
                        } else {
                            format!(" (did you mean {}?)", near.join(", "))
                        };
                        state.mode = Mode::Confirm(super::app::Confirm {
                            question: format!(
                                "'{text}' has never acted here{hint}. Assign to a new agent '{text}'? (y/n)"
                            ),
                            on_yes: super::app::ConfirmAction::AssignNew(text),
                        });
                        return vec![];
                    }
                    Act::Assign(text)
                }
            };
            // On the items as they were when the prompt opened.
            let effects = if p.seen.is_empty() {
                send_act(state, act.clone())
            } else {
                send_act_to(state, act.clone(), p.seen.clone())
            };
            if !effects.is_empty() {
                // Kept until the change is saved: another agent's change
                // first refuses it, and the agent must not type it again.
                keep_draft(state, &p, act_text(&act));
            }
            return effects;
        }
        _ => {}
    }
    state.mode = Mode::Prompt(p);
    vec![]
}

/// The text an act carries (a note, a reason), if any.
fn act_text(act: &Act) -> &str {
    match act {
        Act::Resolve(t) | Act::Escalate(t) | Act::Note(t) => t,
        _ => "",
    }
}

/// Keep `text` (typed into a resolution, escalation or note prompt `p`)
/// for the items the prompt was for; empty text forgets what was kept for
/// them (what was kept for other items stays).
fn keep_draft(state: &mut AppState, p: &Prompt, text: &str) {
    if p.purpose.kept_as().is_none() {
        return;
    }
    let fids: Vec<i64> = p.seen.iter().map(|t| t.fid).collect();
    if !text.is_empty() {
        state.queue.draft = Some(Draft {
            purpose: p.purpose.clone(),
            fids,
            text: text.to_string(),
        });
    } else if state
        .queue
        .draft
        .as_ref()
        .is_some_and(|d| d.purpose == p.purpose && d.fids == fids)
    {
        state.queue.draft = None;
    }
}

/// The assignment of a new agent, confirmed.
pub fn assign_confirmed(state: &mut AppState, name: String) -> Vec<Effect> {
    if !state.queue.agents.contains(&name) {
        state.queue.agents.push(name.clone());
    }
    send_act(state, Act::Assign(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn completion_cycles_through_matching_names() {
        let names: Vec<String> = ["ann", "anna", "bob"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        // Tab after "a" goes round every name starting with "a".
        assert_eq!(complete("a", "a", &names).as_deref(), Some("ann"));
        assert_eq!(complete("a", "ann", &names).as_deref(), Some("anna"));
        assert_eq!(complete("a", "anna", &names).as_deref(), Some("ann"));
        // Tab after "ann": ann and anna.
        assert_eq!(complete("ann", "ann", &names).as_deref(), Some("anna"));
        assert_eq!(complete("B", "B", &names).as_deref(), Some("bob"));
        assert_eq!(complete("bob", "bob", &names), None);
        assert_eq!(complete("zed", "zed", &names), None);
        // The helper's case: "an" reaches both ana and ann.
        let team: Vec<String> = ["ana", "ann"].iter().map(|s| s.to_string()).collect();
        assert_eq!(complete("an", "an", &team).as_deref(), Some("ana"));
        assert_eq!(complete("an", "ana", &team).as_deref(), Some("ann"));
    }
}
