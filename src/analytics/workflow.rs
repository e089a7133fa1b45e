//! The feedback workflow: statuses and the transitions between them, as a pure
//! function so that the CLI, the TUI and bulk actions share one set of rules.
//!
//! ```text
//!   new --claim--> open --pending--> pending --resolve--> resolved --close--> closed
//!    |              |  <--claim------'   |                  |  ^
//!    |              '--resolve--> resolved                  |  |
//!    '--escalate--> escalated <--escalate-- open/pending     '--reopen--> open
//! ```

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    New,
    Open,
    Pending,
    Escalated,
    Resolved,
    Closed,
}

impl Status {
    pub const ALL: [Status; 6] = [
        Status::New,
        Status::Open,
        Status::Pending,
        Status::Escalated,
        Status::Resolved,
        Status::Closed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::New => "new",
            Status::Open => "open",
            Status::Pending => "pending",
            Status::Escalated => "escalated",
            Status::Resolved => "resolved",
            Status::Closed => "closed",
        }
    }

    pub fn parse(s: &str) -> Option<Status> {
        Status::ALL
            .into_iter()
            .find(|st| st.as_str().eq_ignore_ascii_case(s.trim()))
    }

    /// Still needs work (counts in the queue).
    pub fn is_open(self) -> bool {
        !matches!(self, Status::Resolved | Status::Closed)
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What an agent does to an item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Act {
    Claim,
    Assign(String),
    Release,
    Pending,
    Resolve(String),
    Escalate(String),
    Reopen,
    Close,
    /// A note on the item (a call made, what the customer said), its
    /// status and holder unchanged.
    Note(String),
}

impl Act {
    pub fn name(&self) -> &'static str {
        match self {
            Act::Claim => "claim",
            Act::Assign(_) => "assign",
            Act::Release => "release",
            Act::Pending => "pending",
            Act::Resolve(_) => "resolve",
            Act::Escalate(_) => "escalate",
            Act::Reopen => "reopen",
            Act::Close => "close",
            Act::Note(_) => "note",
        }
    }

    /// The note an action carries (resolution note, escalation reason, assignee).
    pub fn note(&self) -> Option<&str> {
        match self {
            Act::Assign(a) | Act::Resolve(a) | Act::Escalate(a) | Act::Note(a) => Some(a),
            _ => None,
        }
    }
}

/// An item's workflow state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct State {
    pub status: Status,
    pub assignee: Option<String>,
}

/// Why a transition was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// Another agent holds the item.
    Held { by: String },
    /// The transition is not allowed from this status, or input is missing.
    Invalid(String),
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::Held { by } => write!(f, "held by {by}"),
            Refusal::Invalid(m) => f.write_str(m),
        }
    }
}

/// The state after `act` by `agent`, or why it is refused.
pub fn apply(state: &State, act: &Act, agent: &str) -> Result<State, Refusal> {
    use Status::*;
    let held_by_other = state.status.is_open()
        && state.status != New
        && state
            .assignee
            .as_deref()
            .is_some_and(|a| !a.is_empty() && a != agent);
    let invalid = |what: &str| {
        Err(Refusal::Invalid(format!(
            "cannot {what} an item that is {}",
            state.status
        )))
    };
    let same = |status: Status| {
        Ok(State {
            status,
            assignee: state.assignee.clone(),
        })
    };
    match act {
        Act::Claim => match state.status {
            _ if held_by_other => Err(Refusal::Held {
                by: state.assignee.clone().unwrap_or_default(),
            }),
            New | Open | Escalated => Ok(State {
                status: if state.status == Escalated {
                    Escalated
                } else {
                    Open
                },
                assignee: Some(agent.to_string()),
            }),
            Pending => Ok(State {
                status: Open,
                assignee: Some(agent.to_string()),
            }),
            Resolved | Closed => invalid("claim").map_err(|_| {
                Refusal::Invalid(format!(
                    "cannot claim an item that is {}; reopen it first",
                    state.status
                ))
            }),
        },
        Act::Assign(to) => {
            if to.trim().is_empty() {
                return Err(Refusal::Invalid("assign needs an agent name".into()));
            }
            crate::agent::validate(to.trim()).map_err(Refusal::Invalid)?;
            match state.status {
                New | Open | Pending | Escalated => Ok(State {
                    status: if state.status == New {
                        Open
                    } else {
                        state.status
                    },
                    assignee: Some(to.trim().to_string()),
                }),
                Resolved | Closed => invalid("assign"),
            }
        }
        Act::Release => match state.status {
            _ if held_by_other => Err(Refusal::Held {
                by: state.assignee.clone().unwrap_or_default(),
            }),
            Open => Ok(State {
                status: New,
                assignee: None,
            }),
            _ => invalid("release"),
        },
        Act::Pending => match state.status {
            _ if held_by_other => Err(Refusal::Held {
                by: state.assignee.clone().unwrap_or_default(),
            }),
            Open | Escalated => same(Pending),
            New => Err(Refusal::Invalid(
                "cannot set a new item to pending; claim it first".into(),
            )),
            _ => invalid("set to pending"),
        },
        Act::Resolve(note) => {
            if note.trim().is_empty() {
                return Err(Refusal::Invalid(
                    "resolve needs a note (what was done)".into(),
                ));
            }
            match state.status {
                _ if held_by_other => Err(Refusal::Held {
                    by: state.assignee.clone().unwrap_or_default(),
                }),
                Open | Pending | Escalated => Ok(State {
                    status: Resolved,
                    assignee: Some(
                        state
                            .assignee
                            .clone()
                            .filter(|a| !a.is_empty())
                            .unwrap_or_else(|| agent.to_string()),
                    ),
                }),
                New => Err(Refusal::Invalid(
                    "cannot resolve a new item; claim it first".into(),
                )),
                _ => invalid("resolve"),
            }
        }
        Act::Escalate(reason) => {
            if reason.trim().is_empty() {
                return Err(Refusal::Invalid("escalate needs a reason".into()));
            }
            match state.status {
                _ if held_by_other => Err(Refusal::Held {
                    by: state.assignee.clone().unwrap_or_default(),
                }),
                New | Open | Pending => Ok(State {
                    status: Escalated,
                    assignee: Some(
                        state
                            .assignee
                            .clone()
                            .filter(|a| !a.is_empty())
                            .unwrap_or_else(|| agent.to_string()),
                    ),
                }),
                _ => invalid("escalate"),
            }
        }
        Act::Reopen => match state.status {
            Resolved | Closed => Ok(State {
                status: Open,
                assignee: Some(agent.to_string()),
            }),
            Pending => Err(Refusal::Invalid(
                "cannot reopen an item that is pending (it is still open, waiting); claim it (c in the queue, or feedback claim) to resume work on it".into(),
            )),
            _ => Err(Refusal::Invalid(format!(
                "cannot reopen an item that is {}: only resolved and closed items are reopened",
                state.status
            ))),
        },
        // Anyone may add a note, at any status: nothing else changes.
        Act::Note(text) if text.trim().is_empty() => {
            Err(Refusal::Invalid("a note needs some text".into()))
        }
        Act::Note(_) => Ok(state.clone()),
        Act::Close => match state.status {
            Resolved => same(Closed),
            _ => Err(Refusal::Invalid(format!(
                "cannot close an item that is {}; resolve it first",
                state.status
            ))),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Status::*;

    fn st(status: Status, who: Option<&str>) -> State {
        State {
            status,
            assignee: who.map(str::to_string),
        }
    }

    #[test]
    fn a_refused_reopen_says_what_to_do_instead() {
        let why = |s: Status| match apply(&st(s, Some("ann")), &Act::Reopen, "ann") {
            Err(Refusal::Invalid(m)) => m,
            other => panic!("{other:?}"),
        };
        assert!(why(Pending).contains("claim it"), "{}", why(Pending));
        assert!(
            why(Open).contains("only resolved and closed"),
            "{}",
            why(Open)
        );
    }

    #[test]
    fn every_transition_allowed_or_refused() {
        let me = "ann";
        let note = || "done".to_string();
        // (from, act, expected status or None for refused)
        let cases: Vec<(State, Act, Option<Status>)> = vec![
            (st(New, None), Act::Claim, Some(Open)),
            (st(Open, Some(me)), Act::Claim, Some(Open)),
            (st(Open, Some("bob")), Act::Claim, None),
            (st(Pending, Some(me)), Act::Claim, Some(Open)),
            (st(Escalated, Some(me)), Act::Claim, Some(Escalated)),
            (st(Resolved, Some(me)), Act::Claim, None),
            (st(Closed, Some(me)), Act::Claim, None),
            (st(New, None), Act::Assign("bob".into()), Some(Open)),
            (st(Open, Some("bob")), Act::Assign("cy".into()), Some(Open)),
            (
                st(Pending, Some(me)),
                Act::Assign("cy".into()),
                Some(Pending),
            ),
            (st(Resolved, Some(me)), Act::Assign("cy".into()), None),
            (st(Open, Some(me)), Act::Assign(" ".into()), None),
            (st(Open, Some(me)), Act::Release, Some(New)),
            (st(Open, Some("bob")), Act::Release, None),
            (st(New, None), Act::Release, None),
            (st(Open, Some(me)), Act::Pending, Some(Pending)),
            (st(Escalated, Some(me)), Act::Pending, Some(Pending)),
            (st(New, None), Act::Pending, None),
            (st(Pending, Some(me)), Act::Pending, None),
            (st(Open, Some("bob")), Act::Pending, None),
            (st(Open, Some(me)), Act::Resolve(note()), Some(Resolved)),
            (st(Pending, Some(me)), Act::Resolve(note()), Some(Resolved)),
            (
                st(Escalated, Some(me)),
                Act::Resolve(note()),
                Some(Resolved),
            ),
            (st(Open, Some(me)), Act::Resolve("  ".into()), None),
            (st(New, None), Act::Resolve(note()), None),
            (st(Resolved, Some(me)), Act::Resolve(note()), None),
            (st(Open, Some("bob")), Act::Resolve(note()), None),
            (
                st(New, None),
                Act::Escalate("legal".into()),
                Some(Escalated),
            ),
            (
                st(Open, Some(me)),
                Act::Escalate("legal".into()),
                Some(Escalated),
            ),
            (
                st(Pending, Some(me)),
                Act::Escalate("legal".into()),
                Some(Escalated),
            ),
            (st(Open, Some(me)), Act::Escalate("".into()), None),
            (st(Escalated, Some(me)), Act::Escalate("again".into()), None),
            (st(Resolved, Some(me)), Act::Escalate("x".into()), None),
            (st(Resolved, Some("bob")), Act::Reopen, Some(Open)),
            (st(Closed, Some("bob")), Act::Reopen, Some(Open)),
            (st(Open, Some(me)), Act::Reopen, None),
            (st(Resolved, Some(me)), Act::Close, Some(Closed)),
            (st(Open, Some(me)), Act::Close, None),
            (st(Closed, Some(me)), Act::Close, None),
        ];
        for (from, act, want) in cases {
            let got = apply(&from, &act, me);
            match want {
                Some(s) => assert_eq!(got.as_ref().map(|g| g.status), Ok(s), "{from:?} {act:?}"),
                None => assert!(
                    got.is_err(),
                    "{from:?} {act:?} should be refused, got {got:?}"
                ),
            }
        }
    }

    #[test]
    fn a_claim_on_a_held_item_names_the_holder() {
        let got = apply(&st(Open, Some("bob")), &Act::Claim, "ann");
        assert_eq!(got, Err(Refusal::Held { by: "bob".into() }));
        let got = apply(&st(Resolved, None), &Act::Claim, "ann").unwrap_err();
        assert!(got.to_string().contains("reopen it first"));
    }
}
