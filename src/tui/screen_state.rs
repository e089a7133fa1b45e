//! The state of each screen: the lists, the queue, the model versions,
//! the campaigns and the customer drill-down (what `AppState` holds for
//! them; the views draw it, `update` changes it).

use super::prompt::Draft;
use super::worker::{DetailView, Extra};
use crate::store::feedback::{QueueFilter, QueueItem};
use crate::store::list::{CustomerRow, ListQuery, SortColumn};
use crate::store::models::ModelRow;
use std::collections::BTreeMap;

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

    /// [lo, hi) of churn probability for the thresholds. Low starts at 0,
    /// above the rank of a customer the active model did not score
    /// (`store::scores::UNSCORED`): such a customer is in no band.
    pub fn range(self, medium: f64, high: f64) -> Option<(f64, f64)> {
        match self {
            Band::All => None,
            Band::High => Some((high, 2.0)),
            Band::Medium => Some((medium, high)),
            Band::Low => Some((0.0, medium)),
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
