//! What a key means (`Action`) and what the update asks the outside world to
//! do (`Effect`). `keymap.rs` is the only place where keys become actions.

use super::app::Screen;

#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    Quit,
    GoScreen(Screen),
    NextScreen,
    PrevScreen,
    Up,
    Down,
    PageUp,
    PageDown,
    HalfPageUp,
    HalfPageDown,
    Top,
    Bottom,
    Open,
    Back,
    SortNext,
    SortReverse,
    StartFilter,
    StartCommand,
    Help,
    Yank,
    Retrain,
    CancelJob,
    Activate,
    Compare,
    CycleBand,
    CycleSegment,
    Mark,
    FeedbackNext,
    Claim,
    Assign,
    Pending,
    Resolve,
    Escalate,
    /// `m`: a note on the item, nothing else changed.
    AddNote,
    Reopen,
    CycleQueueFilter,
    /// The queue's status: open, new, open, pending, escalated, resolved,
    /// closed, any.
    CycleStatus,
    Release,
    Close,
    /// Undo one's own last queue action (if nobody changed the item since).
    Undo,
    /// Record an outcome on a campaign's customer (asks for a note).
    RecordOutcome(&'static str),
    /// An opened campaign's lower half: work list, deciles, Qini curve.
    CampaignView,
    /// Give back the campaign customer you hold.
    CampaignRelease,
    /// The next / previous match of the search or filter.
    NextMatch,
    PrevMatch,
    Refresh,
    /// The list's columns scroll sideways.
    ScrollLeft,
    ScrollRight,
    /// Text typed into the filter, command line or a prompt.
    Input(InputKey),
    Resize(u16, u16),
    Tick,
}

/// Keys while a line of text is being edited.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InputKey {
    Char(char),
    Backspace,
    Clear,
    Submit,
    Cancel,
    Complete,
    /// Moving in the text typed (a prompt's note: a typo at its start is
    /// fixed without deleting the rest).
    Left,
    Right,
    Home,
    End,
    Delete,
    /// Ctrl-W: the word before the cursor.
    DeleteWord,
}

impl Action {
    /// The name used in the config file's `[keys]` table and in the help.
    pub fn name(&self) -> &'static str {
        match self {
            Action::Quit => "quit",
            Action::GoScreen(s) => s.key_name(),
            Action::NextScreen => "next_screen",
            Action::PrevScreen => "prev_screen",
            Action::Up => "up",
            Action::Down => "down",
            Action::PageUp => "page_up",
            Action::PageDown => "page_down",
            Action::HalfPageUp => "half_page_up",
            Action::HalfPageDown => "half_page_down",
            Action::Top => "top",
            Action::Bottom => "bottom",
            Action::Open => "open",
            Action::Back => "back",
            Action::SortNext => "sort_next",
            Action::SortReverse => "sort_reverse",
            Action::StartFilter => "filter",
            Action::StartCommand => "command",
            Action::Help => "help",
            Action::Yank => "yank",
            Action::Retrain => "retrain",
            Action::CancelJob => "cancel_job",
            Action::Activate => "activate",
            Action::Compare => "compare",
            Action::CycleBand => "risk_band",
            Action::CycleSegment => "segment_filter",
            Action::Mark => "mark",
            Action::FeedbackNext => "next_item",
            Action::Claim => "claim",
            Action::Assign => "assign",
            Action::Pending => "pending",
            Action::Resolve => "resolve",
            Action::Escalate => "escalate",
            Action::AddNote => "note",
            Action::Reopen => "reopen",
            Action::CycleQueueFilter => "queue_filter",
            Action::CycleStatus => "queue_status",
            Action::Release => "release",
            Action::Close => "close",
            Action::Undo => "undo",
            Action::RecordOutcome(o) => match *o {
                "reached" => "outcome_reached",
                "no_answer" => "outcome_no_answer",
                "accepted" => "outcome_accepted",
                _ => "outcome_declined",
            },
            Action::CampaignView => "campaign_view",
            Action::CampaignRelease => "campaign_release",
            Action::NextMatch => "next_match",
            Action::PrevMatch => "prev_match",
            Action::Refresh => "refresh",
            Action::ScrollLeft => "scroll_left",
            Action::ScrollRight => "scroll_right",
            Action::Input(_) => "input",
            Action::Resize(..) => "resize",
            Action::Tick => "tick",
        }
    }
}
