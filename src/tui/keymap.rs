//! The only place where keys become actions: a table of defaults that the
//! config file's `[keys]` table can override, and from which the `?` help is
//! generated (so the help can never disagree with the keys).

use super::action::{Action, InputKey};
use super::app::Screen;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use std::collections::BTreeMap;

/// Where a binding applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Context {
    Global,
    Screen(Screen),
}

impl Context {
    pub fn title(self) -> &'static str {
        match self {
            Context::Global => "Everywhere",
            Context::Screen(s) => s.title(),
        }
    }
}

/// A key as written in the config file: `j`, `G`, `?`, `ctrl-d`, `Enter`,
/// `Esc`, `Tab`, `BackTab`, `Space`, `Up`, `Down`, `Left`, `Right`, `PageUp`,
/// `PageDown`, `Home`, `End`, `F5`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Key {
    pub code: String,
    pub ctrl: bool,
}

impl Key {
    pub fn parse(s: &str) -> Option<Key> {
        let s = s.trim();
        let (ctrl, rest) = match s.strip_prefix("ctrl-").or_else(|| s.strip_prefix("C-")) {
            Some(r) => (true, r),
            None => (false, s),
        };
        if rest.is_empty() {
            return None;
        }
        let named = [
            "Enter",
            "Esc",
            "Tab",
            "BackTab",
            "Space",
            "Up",
            "Down",
            "Left",
            "Right",
            "PageUp",
            "PageDown",
            "Home",
            "End",
            "Backspace",
            "Delete",
        ];
        let code = if rest.chars().count() == 1 {
            rest.to_string()
        } else if let Some(n) = named.iter().find(|n| n.eq_ignore_ascii_case(rest)) {
            n.to_string()
        } else if rest.len() <= 3
            && rest.starts_with(['F', 'f'])
            && rest[1..].parse::<u8>().is_ok_and(|n| (1..=12).contains(&n))
        {
            rest.to_uppercase()
        } else {
            return None;
        };
        Some(Key { code, ctrl })
    }

    pub fn from_event(ev: &KeyEvent) -> Option<Key> {
        let ctrl = ev.modifiers.contains(KeyModifiers::CONTROL);
        let code = match ev.code {
            KeyCode::Char(' ') => "Space".to_string(),
            KeyCode::Char(c) if ctrl => c.to_ascii_lowercase().to_string(),
            KeyCode::Char(c) => c.to_string(),
            KeyCode::Enter => "Enter".into(),
            KeyCode::Esc => "Esc".into(),
            KeyCode::Tab => "Tab".into(),
            KeyCode::BackTab => "BackTab".into(),
            KeyCode::Up => "Up".into(),
            KeyCode::Down => "Down".into(),
            KeyCode::Left => "Left".into(),
            KeyCode::Right => "Right".into(),
            KeyCode::PageUp => "PageUp".into(),
            KeyCode::PageDown => "PageDown".into(),
            KeyCode::Home => "Home".into(),
            KeyCode::End => "End".into(),
            KeyCode::Backspace => "Backspace".into(),
            KeyCode::Delete => "Delete".into(),
            KeyCode::F(n) => format!("F{n}"),
            _ => return None,
        };
        Some(Key { code, ctrl })
    }

    pub fn label(&self) -> String {
        if self.ctrl {
            format!("Ctrl-{}", self.code)
        } else {
            self.code.clone()
        }
    }
}

/// One binding: keys in a context do an action.
#[derive(Debug, Clone)]
pub struct Binding {
    pub context: Context,
    pub keys: Vec<Key>,
    pub action: Action,
    pub help: &'static str,
}

#[derive(Debug, Clone)]
pub struct Keymap {
    pub bindings: Vec<Binding>,
}

fn b(context: Context, keys: &[&str], action: Action, help: &'static str) -> Binding {
    Binding {
        context,
        keys: keys.iter().filter_map(|k| Key::parse(k)).collect(),
        action,
        help,
    }
}

impl Keymap {
    pub fn defaults() -> Keymap {
        use Context::Global as G;
        use Screen::*;
        let s = Context::Screen;
        Keymap {
            bindings: vec![
                b(G, &["?"], Action::Help, "show this help"),
                b(G, &["q"], Action::Quit, "quit (asks only while a job runs)"),
                b(G, &["1"], Action::GoScreen(Dashboard), "dashboard"),
                b(G, &["2"], Action::GoScreen(Customers), "customers"),
                b(G, &["3"], Action::GoScreen(Churn), "churn"),
                b(G, &["4"], Action::GoScreen(Clv), "customer lifetime value"),
                b(G, &["5"], Action::GoScreen(Feedback), "feedback queue"),
                b(G, &["6"], Action::GoScreen(Models), "churn model versions"),
                b(
                    G,
                    &["7"],
                    Action::GoScreen(Campaigns),
                    "retention campaigns: reports and work lists",
                ),
                b(G, &["Tab"], Action::NextScreen, "next screen"),
                b(G, &["BackTab"], Action::PrevScreen, "previous screen"),
                b(G, &["j", "Down"], Action::Down, "down"),
                b(G, &["k", "Up"], Action::Up, "up"),
                b(G, &["ctrl-d"], Action::HalfPageDown, "half a page down"),
                b(G, &["ctrl-u"], Action::HalfPageUp, "half a page up"),
                b(G, &["PageDown", "ctrl-f"], Action::PageDown, "page down"),
                b(G, &["PageUp", "ctrl-b"], Action::PageUp, "page up"),
                b(G, &["g", "Home"], Action::Top, "first row"),
                b(G, &["G", "End"], Action::Bottom, "last row"),
                b(
                    G,
                    &["h", "Left"],
                    Action::ScrollLeft,
                    "scroll the table's columns left",
                ),
                b(
                    G,
                    &["l", "Right"],
                    Action::ScrollRight,
                    "scroll the table's columns right (:columns chooses them)",
                ),
                b(G, &["Enter"], Action::Open, "open the selected row"),
                b(
                    G,
                    &["Esc"],
                    Action::Back,
                    "back; clear the filter; ask to cancel a running job",
                ),
                b(
                    G,
                    &["/"],
                    Action::StartFilter,
                    "filter (live; on the queue: search ids, customers and text; Esc clears)",
                ),
                b(G, &["n"], Action::NextMatch, "next match of the search"),
                b(G, &["N"], Action::PrevMatch, "previous match of the search"),
                b(
                    G,
                    &[":"],
                    Action::StartCommand,
                    "command line (:help lists commands)",
                ),
                b(
                    G,
                    &["y"],
                    Action::Yank,
                    "copy the selected id (OSC 52, works over SSH)",
                ),
                b(
                    G,
                    &["R"],
                    Action::Retrain,
                    "retrain the churn model (on CLV: refit CLV)",
                ),
                b(
                    G,
                    &["ctrl-c"],
                    Action::CancelJob,
                    "ask to cancel the running job, else quit",
                ),
                b(
                    G,
                    &["ctrl-r", "F5"],
                    Action::Refresh,
                    "reload from the database",
                ),
                b(
                    s(Customers),
                    &["s"],
                    Action::SortNext,
                    "sort by the next column",
                ),
                b(
                    s(Customers),
                    &["S"],
                    Action::SortReverse,
                    "reverse the sort",
                ),
                b(
                    s(Churn),
                    &["s"],
                    Action::SortNext,
                    "sort by the next column",
                ),
                b(s(Churn), &["S"], Action::SortReverse, "reverse the sort"),
                b(
                    s(Churn),
                    &["b"],
                    Action::CycleBand,
                    "risk band: all, high, medium, low",
                ),
                b(s(Clv), &["s"], Action::SortNext, "sort by the next column"),
                b(s(Clv), &["S"], Action::SortReverse, "reverse the sort"),
                b(
                    s(Clv),
                    &["f"],
                    Action::CycleSegment,
                    "next RFM segment filter",
                ),
                b(
                    s(Feedback),
                    &["t"],
                    Action::FeedbackNext,
                    "take: claim the top unclaimed item and open it",
                ),
                b(
                    s(Feedback),
                    &["S"],
                    Action::CycleStatus,
                    "status shown: all open (new, claimed, pending, escalated), new, open (claimed), pending, escalated, resolved, closed, any",
                ),
                b(
                    s(Feedback),
                    &["r"],
                    Action::Release,
                    "release (back to the unclaimed pool)",
                ),
                b(s(Feedback), &["X"], Action::Close, "close a resolved item"),
                b(
                    s(Feedback),
                    &["s"],
                    Action::SortNext,
                    "sort: says the queue's order (priority)",
                ),
                b(
                    s(Feedback),
                    &["u"],
                    Action::Undo,
                    "undo your last queue action (if nobody changed the item since)",
                ),
                b(
                    s(Feedback),
                    &["c"],
                    Action::Claim,
                    "claim (marked items, else the selected one)",
                ),
                b(
                    s(Feedback),
                    &["a"],
                    Action::Assign,
                    "assign to an agent (Tab completes)",
                ),
                b(
                    s(Feedback),
                    &["p"],
                    Action::Pending,
                    "pending: waiting on the customer",
                ),
                b(
                    s(Feedback),
                    &["x"],
                    Action::Resolve,
                    "resolve (asks for a note)",
                ),
                b(
                    s(Feedback),
                    &["e"],
                    Action::Escalate,
                    "escalate (asks for a reason)",
                ),
                b(
                    s(Feedback),
                    &["m"],
                    Action::AddNote,
                    "add a note (status and holder stay)",
                ),
                b(s(Feedback), &["o"], Action::Reopen, "reopen"),
                b(
                    s(Feedback),
                    &["Space"],
                    Action::Mark,
                    "mark or unmark for a bulk action, and move down",
                ),
                b(
                    s(Feedback),
                    &["f"],
                    Action::CycleQueueFilter,
                    "queue filter: all, mine, unassigned, overdue, escalated...",
                ),
                b(
                    s(Models),
                    &["A"],
                    Action::Activate,
                    "activate the selected version (asks first)",
                ),
                b(
                    s(Models),
                    &["c"],
                    Action::Compare,
                    "compare with another version (press on both)",
                ),
                b(
                    s(Campaigns),
                    &["t"],
                    Action::FeedbackNext,
                    "take the campaign's next customer (highest value at risk)",
                ),
                b(
                    s(Campaigns),
                    &["a"],
                    Action::RecordOutcome("accepted"),
                    "outcome: accepted the offer (asks for a note)",
                ),
                b(
                    s(Campaigns),
                    &["d"],
                    Action::RecordOutcome("declined"),
                    "outcome: declined",
                ),
                b(
                    s(Campaigns),
                    &["r"],
                    Action::RecordOutcome("reached"),
                    "outcome: reached, no answer to the offer yet",
                ),
                b(
                    s(Campaigns),
                    &["x"],
                    Action::RecordOutcome("no_answer"),
                    "outcome: no answer",
                ),
                b(
                    s(Campaigns),
                    &["u"],
                    Action::CampaignRelease,
                    "give back the customer you hold (another agent may take them)",
                ),
                b(
                    s(Campaigns),
                    &["v"],
                    Action::CampaignView,
                    "lower half: work list, uplift by decile, Qini curve",
                ),
                b(
                    s(Campaigns),
                    &["X"],
                    Action::Close,
                    "close the campaign (asks first)",
                ),
            ],
        }
    }

    /// Defaults with the config file's remapping applied: for each named
    /// action, the listed keys replace the default ones.
    pub fn with_overrides(overrides: &BTreeMap<String, Vec<String>>) -> Result<Keymap, String> {
        let mut km = Keymap::defaults();
        for (name, keys) in overrides {
            let parsed: Vec<Key> = keys
                .iter()
                .map(|k| Key::parse(k).ok_or_else(|| format!("keys.{name}: '{k}' is not a key")))
                .collect::<Result<_, _>>()?;
            let mut found = false;
            for bnd in km
                .bindings
                .iter_mut()
                .filter(|bnd| bnd.action.name() == name)
            {
                bnd.keys = parsed.clone();
                found = true;
            }
            if !found {
                return Err(format!(
                    "keys.{name}: no such action (see the ? help for names)"
                ));
            }
        }
        km.check(overrides)?;
        Ok(km)
    }

    /// Refuse a keymap that binds one key to two actions where both apply,
    /// or leaves an action without a key (the help and footer advertise
    /// every action): reported at start, not discovered by pressing keys.
    pub fn check(&self, overrides: &BTreeMap<String, Vec<String>>) -> Result<(), String> {
        let mut problems = Vec::new();
        for bnd in &self.bindings {
            if bnd.keys.is_empty() {
                problems.push(format!(
                    "keys.{}: no key is left for this action",
                    bnd.action.name()
                ));
            }
        }
        for (i, a) in self.bindings.iter().enumerate() {
            for bnd in &self.bindings[i + 1..] {
                if bnd.action.name() == a.action.name() {
                    continue;
                }
                // Two bindings apply together: the same context, or one
                // global and one screen's (the screen's would hide the
                // global one there). Shadowing in the defaults is by
                // design; a remapping that makes one is reported.
                let together = a.context == bnd.context
                    || matches!(
                        (a.context, bnd.context),
                        (Context::Global, Context::Screen(_))
                            | (Context::Screen(_), Context::Global)
                    );
                if !together {
                    continue;
                }
                let remapped = overrides.contains_key(a.action.name())
                    || overrides.contains_key(bnd.action.name());
                if a.context != bnd.context && !remapped {
                    continue;
                }
                for k in &a.keys {
                    if bnd.keys.contains(k) {
                        let where_ = match (a.context, bnd.context) {
                            (Context::Screen(s), _) | (_, Context::Screen(s)) => {
                                format!("on the {} screen", s.title())
                            }
                            _ => "everywhere".to_string(),
                        };
                        problems.push(format!(
                            "key {} is bound to both {} and {} {where_}",
                            k.label(),
                            a.action.name(),
                            bnd.action.name()
                        ));
                    }
                }
            }
        }
        problems.dedup();
        if problems.is_empty() {
            Ok(())
        } else {
            Err(format!(
                "the keymap in the config has problems: {}",
                problems.join("; ")
            ))
        }
    }

    /// The action of a key on a screen: the screen's own bindings first.
    pub fn lookup(&self, screen: Screen, key: &Key) -> Option<Action> {
        let find = |ctx: Context| {
            self.bindings
                .iter()
                .find(|bnd| bnd.context == ctx && bnd.keys.contains(key))
                .map(|bnd| bnd.action.clone())
        };
        find(Context::Screen(screen)).or_else(|| find(Context::Global))
    }

    /// The first key bound to `action` on a screen (for hints that name
    /// a key the agent may have rebound).
    pub fn key_of(&self, screen: Screen, action: &Action) -> Option<String> {
        [Context::Screen(screen), Context::Global]
            .into_iter()
            .find_map(|ctx| {
                self.bindings
                    .iter()
                    .find(|bnd| bnd.context == ctx && &bnd.action == action)
            })
            .and_then(|bnd| bnd.keys.first().map(Key::label))
    }

    /// Help lines for a screen: (keys, action name, description), its own bindings first.
    pub fn help(&self, screen: Screen) -> Vec<(Context, String, &'static str, &'static str)> {
        let mut out = Vec::new();
        for ctx in [Context::Screen(screen), Context::Global] {
            for bnd in self.bindings.iter().filter(|bnd| bnd.context == ctx) {
                let keys: Vec<String> = bnd.keys.iter().map(Key::label).collect();
                out.push((ctx, keys.join(", "), bnd.action.name(), bnd.help));
            }
        }
        out
    }
}

/// Keys while a line of text is being edited (filter, command, prompt).
pub fn input_key(ev: &KeyEvent) -> Option<InputKey> {
    let ctrl = ev.modifiers.contains(KeyModifiers::CONTROL);
    Some(match ev.code {
        KeyCode::Enter => InputKey::Submit,
        KeyCode::Esc => InputKey::Cancel,
        KeyCode::Backspace => InputKey::Backspace,
        KeyCode::Tab => InputKey::Complete,
        KeyCode::Left => InputKey::Left,
        KeyCode::Right => InputKey::Right,
        KeyCode::Home => InputKey::Home,
        KeyCode::End => InputKey::End,
        KeyCode::Delete => InputKey::Delete,
        KeyCode::Char('a') if ctrl => InputKey::Home,
        KeyCode::Char('e') if ctrl => InputKey::End,
        KeyCode::Char('u') if ctrl => InputKey::Clear,
        KeyCode::Char('w') if ctrl => InputKey::DeleteWord,
        KeyCode::Char('c') if ctrl => InputKey::Cancel,
        KeyCode::Char(c) if !ctrl => InputKey::Char(c),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_parse_and_label() {
        assert_eq!(Key::parse("ctrl-d").unwrap().label(), "Ctrl-d");
        assert_eq!(Key::parse("pagedown").unwrap().code, "PageDown");
        assert_eq!(Key::parse("F5").unwrap().code, "F5");
        assert!(Key::parse("F13").is_none());
        assert!(Key::parse("banana").is_none());
        assert!(Key::parse("").is_none());
    }

    #[test]
    fn screen_bindings_win_and_overrides_apply() {
        let km = Keymap::defaults();
        let c = Key::parse("c").unwrap();
        assert_eq!(km.lookup(Screen::Feedback, &c), Some(Action::Claim));
        assert_eq!(km.lookup(Screen::Models, &c), Some(Action::Compare));
        assert_eq!(km.lookup(Screen::Customers, &c), None);
        let mut o = BTreeMap::new();
        o.insert("quit".to_string(), vec!["Z".to_string()]);
        let km = Keymap::with_overrides(&o).unwrap();
        assert_eq!(
            km.lookup(Screen::Customers, &Key::parse("Z").unwrap()),
            Some(Action::Quit)
        );
        assert_eq!(
            km.lookup(Screen::Customers, &Key::parse("q").unwrap()),
            None
        );
        o.insert("launch_rockets".to_string(), vec!["z".to_string()]);
        assert!(Keymap::with_overrides(&o).is_err());
    }

    #[test]
    fn conflicting_or_empty_remaps_are_reported_at_start() {
        assert!(Keymap::defaults().check(&BTreeMap::new()).is_ok());
        let mut o = BTreeMap::new();
        // Quit on the key that moves down: both apply on every list.
        o.insert("quit".to_string(), vec!["j".to_string()]);
        let e = Keymap::with_overrides(&o).unwrap_err();
        assert!(e.contains("key j is bound to both"), "{e}");
        let mut o = BTreeMap::new();
        o.insert("quit".to_string(), vec![]);
        let e = Keymap::with_overrides(&o).unwrap_err();
        assert!(e.contains("keys.quit: no key"), "{e}");
    }

    #[test]
    fn every_action_has_a_key_and_help() {
        for bnd in Keymap::defaults().bindings {
            assert!(!bnd.keys.is_empty(), "{:?}", bnd.action);
            assert!(!bnd.help.is_empty());
        }
    }
}
