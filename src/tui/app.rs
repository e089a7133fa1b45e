//! `AppState`: everything the screens show, as plain data.

use super::keymap::Keymap;
pub use super::prompt::{Draft, Prompt, PromptPurpose};
pub use super::screen_state::*;
use crate::config::Config;
use crate::jobs::Progress;
use crate::store::dashboard::Dashboard;
use crate::store::list::SortColumn;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Screen {
    Dashboard,
    Customers,
    Churn,
    Clv,
    Feedback,
    Models,
    Campaigns,
}

impl Screen {
    pub const ALL: [Screen; 7] = [
        Screen::Dashboard,
        Screen::Customers,
        Screen::Churn,
        Screen::Clv,
        Screen::Feedback,
        Screen::Models,
        Screen::Campaigns,
    ];

    pub fn title(self) -> &'static str {
        match self {
            Screen::Dashboard => "Dashboard",
            Screen::Customers => "Customers",
            Screen::Churn => "Churn",
            Screen::Clv => "CLV",
            Screen::Feedback => "Feedback",
            Screen::Models => "Models",
            Screen::Campaigns => "Campaigns",
        }
    }

    /// The tab bar's label when the full titles do not fit.
    pub fn short_title(self) -> &'static str {
        match self {
            Screen::Dashboard => "Dash",
            Screen::Customers => "Cust",
            Screen::Feedback => "Feed",
            Screen::Campaigns => "Camp",
            other => other.title(),
        }
    }

    pub fn key_name(self) -> &'static str {
        match self {
            Screen::Dashboard => "screen_dashboard",
            Screen::Customers => "screen_customers",
            Screen::Churn => "screen_churn",
            Screen::Clv => "screen_clv",
            Screen::Feedback => "screen_feedback",
            Screen::Models => "screen_models",
            Screen::Campaigns => "screen_campaigns",
        }
    }

    pub fn index(self) -> usize {
        Screen::ALL.iter().position(|s| *s == self).unwrap_or(0)
    }
}

/// The `:` line being typed.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CommandLine {
    pub text: String,
    /// Where typing goes, in characters.
    pub cursor: usize,
    /// What was typed before Tab was first pressed: Tab cycles through the
    /// names that start with it (any other key forgets it).
    pub stem: Option<String>,
}

/// What the keyboard is doing right now.
#[derive(Debug, Clone, PartialEq)]
pub enum Mode {
    Normal,
    /// Typing a live filter for the current list (the text is the list's
    /// filter, or the queue's search), with the cursor there (in characters).
    Filter(usize),
    /// Typing a `:` command.
    Command(CommandLine),
    /// The help overlay, scrolled by this many lines.
    Help(u16),
    /// A yes/no question; `y` runs the action.
    Confirm(Confirm),
    /// Asking for a line of text (a note, a reason, an agent).
    Prompt(Prompt),
    /// The message log (`:messages`), scrolled by this many lines.
    Messages(u16),
    /// The CLV holdout check (`:holdout`): its report is in `state.holdout`.
    Holdout,
    /// The active CLV fit's frequency-recency matrices (`:matrix`), in
    /// `state.matrices`.
    Matrices,
    /// Retention curves (`:survival [BY]`), in `state.survival`.
    Survival,
    /// Cohort retention (`:cohorts`), in `state.cohorts`.
    Cohorts,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Confirm {
    pub question: String,
    pub on_yes: ConfirmAction,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ConfirmAction {
    Quit,
    CancelJob,
    ActivateModel(i64),
    /// Assign the selected or marked items to an agent nobody has seen.
    AssignNew(String),
    /// Close a campaign (by id): its work list ends, its report stays.
    CloseCampaign(i64),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Info,
    Success,
    Warning,
    Error,
}

#[derive(Debug, Clone, PartialEq)]
pub struct StatusMsg {
    pub text: String,
    pub severity: Severity,
    /// When it was said (the clock's seconds): it fades `STATUS_SECS` after.
    pub at: i64,
}

/// How long a status message stays on the status line.
pub const STATUS_SECS: i64 = 8;

/// A line of the message log: every status message, with its time.
#[derive(Debug, Clone, PartialEq)]
pub struct LogLine {
    pub at: i64,
    pub severity: Severity,
    pub text: String,
}

/// A long job running on the worker.
#[derive(Debug, Clone, PartialEq)]
pub struct JobState {
    pub label: String,
    pub progress: Option<Progress>,
    pub cancelling: bool,
    /// Said after the job's success message (an export's scope).
    pub after: Option<String>,
    /// When its current phase began (`AppState::now`): a phase without
    /// measurable steps shows how long it has run instead of a percentage.
    pub phase_since: i64,
}

/// Everything the screens show.
pub struct AppState {
    pub screen: Screen,
    pub mode: Mode,
    pub width: u16,
    pub height: u16,
    pub customers: ListState,
    pub churn: ListState,
    pub band: Band,
    pub clv: ListState,
    /// RFM segment filter of the CLV screen (index into `rfm::SEGMENTS`).
    pub segment_filter: Option<usize>,
    pub dashboard: Option<Dashboard>,
    pub dashboard_gen: u64,
    pub dashboard_loading: bool,
    /// The dashboard as it was when another process's change was seen:
    /// what changed is said when the reloaded one arrives.
    pub changed_elsewhere: Option<Box<Dashboard>>,
    pub detail: Option<DetailState>,
    pub detail_gen: u64,
    pub queue: QueueState,
    pub models: ModelsState,
    pub campaigns: CampaignsState,
    pub status: Option<StatusMsg>,
    /// Every status message with its time (`:messages`).
    pub messages: Vec<LogLine>,
    pub job: Option<JobState>,
    pub db_label: String,
    pub agent: String,
    pub read_only: bool,
    pub mask_pii: bool,
    pub color: bool,
    pub keymap: Keymap,
    pub config: Config,
    /// The config file named with --config (else the default location):
    /// where `:columns` saves.
    pub config_path: Option<std::path::PathBuf>,
    pub tick: u64,
    /// The time the screens are drawn for (set by the main loop; fixed in tests).
    pub now: i64,
    pub quit: bool,
    /// The database has no customers yet: screens say how to add some.
    pub empty_db: Option<bool>,
    /// The last cohort table (`:cohorts`).
    pub cohorts: Option<Box<crate::analytics::survival::CohortTable>>,
    /// The last retention curves (`:survival`).
    pub survival: Option<Box<crate::analytics::survival::SurvivalReport>>,
    /// The active CLV fit's matrices (`:matrix`).
    pub matrices: Option<Box<crate::analytics::clv::Matrices>>,
    /// The last CLV holdout check (`:holdout`).
    pub holdout: Option<Box<crate::analytics::clv::holdout::HoldoutReport>>,
    /// The data's stamp when last looked at: when it changes (another
    /// process finished a job), every screen and header reloads.
    pub stamp: Option<crate::store::DataStamp>,
    /// Text waiting to be copied to the clipboard (OSC 52) by the main loop.
    pub clipboard: Option<String>,
    /// On a PostgreSQL server: only the feedback queue is served there.
    pub server: bool,
}

impl AppState {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        db_label: String,
        agent: String,
        read_only: bool,
        mask_pii: bool,
        color: bool,
        keymap: Keymap,
        config: Config,
    ) -> AppState {
        let list = |sort, desc| {
            let mut l = ListState::new(sort, desc);
            l.query.ids_only = mask_pii;
            l
        };
        AppState {
            screen: Screen::Dashboard,
            mode: Mode::Normal,
            width: 80,
            height: 24,
            customers: list(SortColumn::Id, false),
            churn: list(SortColumn::Churn, true),
            band: Band::All,
            clv: list(SortColumn::Clv, true),
            segment_filter: None,
            dashboard: None,
            dashboard_gen: 0,
            changed_elsewhere: None,
            dashboard_loading: false,
            detail: None,
            detail_gen: 0,
            queue: QueueState::default(),
            models: ModelsState::default(),
            campaigns: CampaignsState::default(),
            status: None,
            messages: Vec::new(),
            job: None,
            db_label,
            agent,
            read_only,
            mask_pii,
            color,
            keymap,
            config,
            config_path: None,
            tick: 0,
            now: 0,
            quit: false,
            empty_db: None,
            stamp: None,
            holdout: None,
            matrices: None,
            survival: None,
            cohorts: None,
            clipboard: None,
            server: false,
        }
    }

    pub fn say(&mut self, severity: Severity, text: impl Into<String>) {
        let text = text.into();
        self.log(severity, text.clone());
        self.status = Some(StatusMsg {
            text,
            severity,
            at: self.now,
        });
    }

    /// Add a line to the message log only (`:messages`).
    pub fn log(&mut self, severity: Severity, text: impl Into<String>) {
        self.messages.push(LogLine {
            at: self.now,
            severity,
            text: text.into(),
        });
        if self.messages.len() > 1000 {
            self.messages.drain(..200);
        }
    }

    /// The smallest terminal the layout works in.
    pub const MIN_WIDTH: u16 = 80;
    pub const MIN_HEIGHT: u16 = 24;

    pub fn too_small(&self) -> bool {
        self.width < Self::MIN_WIDTH || self.height < Self::MIN_HEIGHT
    }
}
