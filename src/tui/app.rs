//! `AppState`: everything the screens show, as plain data.

use super::keymap::Keymap;
pub use super::prompt::{Draft, Prompt, PromptPurpose};
use super::worker::{DetailView, Extra};
use crate::config::Config;
use crate::jobs::Progress;
use crate::store::dashboard::Dashboard;
use crate::store::feedback::{QueueFilter, QueueItem};
use crate::store::list::{CustomerRow, ListQuery, SortColumn};
use crate::store::models::ModelRow;
use std::collections::BTreeMap;

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

/// What the keyboard is doing right now.
#[derive(Debug, Clone, PartialEq)]
pub enum Mode {
    Normal,
    /// Typing a live filter for the current list.
    Filter,
    /// Typing a `:` command.
    Command(String),
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

/// The churn screen's risk band.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Band {
    #[default]
    All,
    High,
    Medium,
    Low,
}

impl Band {
    pub fn next(self) -> Band {
        match self {
            Band::All => Band::High,
            Band::High => Band::Medium,
            Band::Medium => Band::Low,
            Band::Low => Band::All,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Band::All => "all",
            Band::High => "high",
            Band::Medium => "medium",
            Band::Low => "low",
        }
    }

    /// [lo, hi) of churn probability for the thresholds.
    pub fn range(self, medium: f64, high: f64) -> Option<(f64, f64)> {
        match self {
            Band::All => None,
            Band::High => Some((high, 2.0)),
            Band::Medium => Some((medium, high)),
            Band::Low => Some((-1.0, medium)),
        }
    }
}

/// The feedback queue screen.
#[derive(Debug, Clone, Default)]
pub struct QueueState {
    pub filter: QueueFilter,
    pub items: Vec<QueueItem>,
    /// Position of items[0] in the whole queue.
    pub offset: i64,
    /// The position the page being loaded starts at (becomes `offset` when
    /// it arrives).
    pub requested_offset: i64,
    pub cursor: usize,
    pub total: Option<i64>,
    pub gen: u64,
    pub loading: bool,
    /// The request on its way is a background reload (not announced).
    pub quiet: bool,
    /// Marked items and the version each had when marked (optimistic locking).
    pub marked: BTreeMap<i64, i64>,
    pub kinds: Vec<String>,
    pub channels: Vec<String>,
    /// The item opened with Enter or `n`, with its customer's context.
    pub opened: Option<OpenedItem>,
    pub visible_rows: usize,
    /// Agent names for the assign prompt's completion.
    pub agents: Vec<String>,
    /// A workflow change is on its way.
    pub acting: bool,
    /// Generation of the opened item's request.
    pub gen_item: u64,
    /// What the search (`/` on the queue) has typed.
    pub search: String,
    /// The items of the change on its way, in order (their outcomes come
    /// back in the same order).
    pub acting_on: Vec<i64>,
    /// This agent's last change that can be undone: the item and the
    /// version the change produced.
    pub last_done: Option<(i64, i64, String)>,
    /// Columns scrolled off to the left (h/l, Left/Right).
    pub hscroll: usize,
    /// Lines the opened item's text and history are scrolled by.
    pub item_scroll: u16,
    /// The next reload keeps the cursor's row instead of following the
    /// item (after one's own change from the list: when the item left the
    /// list, the next one comes under the cursor, as in a file manager).
    pub hold_row: bool,
    /// The one item just changed from the list: the cursor follows it when
    /// it is still in the list (a claim moves it: the row would otherwise
    /// hold another item, which the agent's next key would act on).
    pub follow: Option<i64>,
    /// `/` was just pressed: the first character typed starts a new search
    /// (the old one stays applied until then).
    pub search_fresh: bool,
    /// A note, reason or resolution typed for these items and not saved
    /// (another agent changed an item first, or Esc): the same prompt on
    /// the same items opens with it.
    pub draft: Option<Draft>,
}

/// An opened feedback item.
#[derive(Debug, Clone)]
pub struct OpenedItem {
    pub fid: i64,
    pub gen: u64,
    pub item: Option<Box<QueueItem>>,
    pub history: Vec<crate::store::audit::Entry>,
    pub customer: Option<Box<DetailView>>,
    pub loading: bool,
}

impl QueueState {
    pub fn selected(&self) -> Option<&QueueItem> {
        self.items.get(self.cursor)
    }
}

/// The model versions screen.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ModelsState {
    pub rows: Vec<ModelRow>,
    pub cursor: usize,
    pub gen: u64,
    pub loading: bool,
    /// The first version picked for a side-by-side comparison.
    pub compare: Option<i64>,
    /// Showing the comparison of `compare` with the selected version.
    pub comparing: bool,
    /// Lines the coefficient table is scrolled by.
    pub scroll: u16,
}

impl ModelsState {
    pub fn selected(&self) -> Option<&ModelRow> {
        self.rows.get(self.cursor)
    }
}

/// What the lower half of an opened campaign shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CampaignView {
    /// The treated customers, by value at risk.
    #[default]
    Work,
    /// Uplift by decile of churn before the campaign.
    Deciles,
    /// The Qini curve.
    Qini,
}

impl CampaignView {
    pub fn next(self) -> CampaignView {
        match self {
            CampaignView::Work => CampaignView::Deciles,
            CampaignView::Deciles => CampaignView::Qini,
            CampaignView::Qini => CampaignView::Work,
        }
    }
}

/// The Campaigns screen: the list, and the campaign opened from it.
#[derive(Debug, Clone, Default)]
pub struct CampaignsState {
    pub rows: Vec<crate::store::campaigns::Campaign>,
    pub cursor: usize,
    pub gen: u64,
    pub loading: bool,
    pub opened: Option<Box<OpenedCampaign>>,
}

impl CampaignsState {
    pub fn selected(&self) -> Option<&crate::store::campaigns::Campaign> {
        self.rows.get(self.cursor)
    }
}

/// An opened campaign: its report, its work list (a window of treated
/// members by rank), and the customer being worked.
#[derive(Debug, Clone)]
pub struct OpenedCampaign {
    pub campaign: crate::store::campaigns::Campaign,
    pub gen: u64,
    pub report: Option<Result<Box<crate::analytics::campaign::report::Measured>, String>>,
    /// Rows from `offset` (absolute rank order among the treated).
    pub work: Vec<crate::store::campaigns::WorkRow>,
    pub offset: i64,
    /// Absolute position of the cursor in the work list.
    pub pos: i64,
    pub loading: bool,
    pub card: Option<WorkCard>,
    pub view: CampaignView,
}

/// The note the Campaigns screen leaves out: its contacted-only line says
/// "not randomised" itself.
pub const CONTACTED_NOTE: &str = "contacted-only compares";

impl OpenedCampaign {
    /// The report's notes the screen shows.
    pub fn report_notes(&self) -> usize {
        match &self.report {
            Some(Ok(m)) => m
                .report
                .notes
                .iter()
                .filter(|n| !n.starts_with(CONTACTED_NOTE))
                .count(),
            _ => 0,
        }
    }

    pub fn selected(&self) -> Option<&crate::store::campaigns::WorkRow> {
        usize::try_from(self.pos - self.offset)
            .ok()
            .and_then(|i| self.work.get(i))
    }
}

/// The customer an agent took from a campaign's work list.
#[derive(Debug, Clone)]
pub struct WorkCard {
    pub row: crate::store::campaigns::WorkRow,
    /// The generation its advice (next best action, offers) answers to.
    pub gen: u64,
    pub advice: Option<Box<crate::tui::messages::Advice>>,
    /// The outcome just recorded, if any.
    pub recorded: Option<String>,
}

/// The customer drill-down.
#[derive(Debug, Clone)]
pub struct DetailState {
    pub cid: i64,
    pub gen: u64,
    pub view: Option<Box<DetailView>>,
    pub loading: bool,
    /// Lines the detail view is scrolled by (j/k, PgUp/PgDn).
    pub scroll: u16,
    /// Next best action and products to offer (they come after the view).
    pub advice: Option<Box<crate::tui::messages::Advice>>,
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

/// A customer list paged from SQL: a window of loaded rows around the view.
#[derive(Debug, Clone, PartialEq)]
pub struct ListState {
    pub query: ListQuery,
    /// Loaded rows, contiguous in display order.
    pub rows: Vec<CustomerRow>,
    /// Absolute position of `rows[0]` when known.
    pub base: Option<i64>,
    /// Selected row, as an index into `rows`.
    pub cursor: usize,
    /// First visible row, as an index into `rows`.
    pub offset: usize,
    pub reached_start: bool,
    pub reached_end: bool,
    pub total: Option<i64>,
    /// Bumped when the query changes; replies for older generations are dropped.
    pub gen: u64,
    /// A page request is on its way (none other is sent meanwhile).
    pub loading: bool,
    /// ... and it is a background reload, which the screen does not announce.
    pub quiet: bool,
    /// Rows to move once more rows arrive (keys pressed faster than pages load).
    pub pending_move: i64,
    pub visible_rows: usize,
    /// Per row: drivers (churn screen) or value shares (CLV screen).
    pub extra: Vec<Extra>,
    /// Columns scrolled off to the left (h/l, Left/Right).
    pub hscroll: usize,
}

/// Rows fetched per page.
pub const PAGE: usize = 200;
/// Most rows kept in a window; older ones are dropped as it slides.
pub const WINDOW: usize = 1_000;

impl ListState {
    pub fn new(sort: SortColumn, descending: bool) -> Self {
        let mut query = ListQuery::new(sort, descending);
        query.limit = PAGE;
        ListState {
            query,
            rows: Vec::new(),
            base: None,
            cursor: 0,
            offset: 0,
            reached_start: false,
            reached_end: false,
            total: None,
            gen: 0,
            loading: false,
            quiet: false,
            pending_move: 0,
            visible_rows: 20,
            extra: Vec::new(),
            hscroll: 0,
        }
    }

    pub fn extra(&self, i: usize) -> &Extra {
        self.extra.get(i).unwrap_or(&Extra::None)
    }

    pub fn selected(&self) -> Option<&CustomerRow> {
        self.rows.get(self.cursor)
    }

    /// Absolute position of the cursor, when known.
    pub fn position(&self) -> Option<i64> {
        self.base.map(|b| b + self.cursor as i64)
    }
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
