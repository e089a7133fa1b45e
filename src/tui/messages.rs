//! What the UI and the worker say to each other: requests (pages, counts,
//! items, workflow changes, jobs, analyses) and their replies.

use crate::analytics::churn;
use crate::analytics::priority::SlaConfig;
use crate::analytics::workflow::Act;
use crate::jobs::Progress;
use crate::store;
use crate::store::dashboard::Dashboard;
use crate::store::detail::Detail;
use crate::store::feedback::{QueueFilter, QueueItem};
use crate::store::list::{CustomerRow, ListQuery};
use crate::store::models::ModelRow;
use crate::store::workflow::{Outcome, Target};
use std::path::PathBuf;

/// Which list a page belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Slot {
    Customers,
    Churn,
    Clv,
}

/// How a page joins the loaded window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageKind {
    /// A new query: replaces the window.
    Reset,
    /// Rows after the window.
    Append,
    /// Rows before the window.
    Prepend,
    /// The window again from its first row (a refresh): the cursor stays.
    Reload,
}

/// Long work, run on the job thread.
#[derive(Debug, Clone)]
pub enum JobSpec {
    Train(churn::TrainOptions),
    Clv(crate::analytics::clv::ClvOptions),
    ActivateModel(i64),
    Export {
        what: ExportWhat,
        path: PathBuf,
        csv: bool,
        mask: bool,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportWhat {
    Customers,
    Orders,
    Feedback,
    Churn,
    Clv,
}

impl JobSpec {
    pub fn label(&self) -> String {
        match self {
            JobSpec::Train(o) => format!("training {}", o.kind.as_str()),
            JobSpec::Clv(_) => "fitting CLV".into(),
            JobSpec::ActivateModel(id) => format!("activating v{id}"),
            JobSpec::Export { path, .. } => format!("exporting to {}", path.display()),
        }
    }
}

#[derive(Debug, Clone)]
pub enum Request {
    /// Is there any data at all?
    Probe,
    Page {
        slot: Slot,
        gen: u64,
        kind: PageKind,
        query: ListQuery,
    },
    Count {
        slot: Slot,
        gen: u64,
        query: ListQuery,
    },
    Dashboard {
        gen: u64,
        high: f64,
        medium: f64,
        sla: SlaConfig,
        now: i64,
    },
    Detail {
        gen: u64,
        cid: i64,
    },
    /// What to do with a customer: next best action and products to offer
    /// (on the slow lane: it learns from every campaign and basket).
    Advice {
        gen: u64,
        cid: i64,
    },
    /// A customer by its id (`:goto`).
    Find {
        id: String,
    },
    Queue {
        gen: u64,
        filter: QueueFilter,
        agent: String,
        sla: SlaConfig,
        now: i64,
        offset: i64,
        limit: i64,
    },
    Models {
        gen: u64,
    },
    /// One feedback item with its history and its customer's context.
    QueueItem {
        gen: u64,
        fid: i64,
        sla: SlaConfig,
        now: i64,
    },
    /// A workflow action on items (one transaction; on the writer thread).
    QueueAct {
        targets: Vec<Target>,
        act: Act,
        agent: String,
        now: i64,
    },
    /// Undo this agent's last change of an item (on the writer thread).
    QueueUndo {
        fid: i64,
        version: i64,
        agent: String,
        now: i64,
    },
    /// Claim the top unclaimed item (on the writer thread).
    QueueNext {
        agent: String,
        sla: SlaConfig,
        now: i64,
    },
    /// Agent names for completion.
    Agents,
    /// The CLV holdout check (`:holdout [DATE]`): calibration up to `from`
    /// (default: 26 weeks before the latest order).
    Holdout {
        from: Option<chrono::NaiveDate>,
        /// None: every family, the best kept (`auto`).
        family: Option<crate::analytics::clv::holdout::Family>,
    },
    /// The active CLV fit's frequency-recency matrices (`:matrix`).
    Matrices,
    /// Cohort retention by month of first order (`:cohorts`).
    Cohorts,
    /// Kaplan-Meier curves by a column (`:survival [BY]`).
    Survival {
        by: Option<String>,
    },
    /// Save a screen's column choice in the config file (`:columns`).
    SaveColumns {
        config: Option<std::path::PathBuf>,
        screen: String,
        columns: Option<Vec<String>>,
    },
    /// Every campaign.
    Campaigns {
        gen: u64,
    },
    /// One campaign and a page of its work list from `offset`.
    CampaignWork {
        gen: u64,
        id: i64,
        offset: i64,
        limit: i64,
    },
    /// A campaign's report as of the data's last day (on the slow lane).
    CampaignReport {
        gen: u64,
        id: i64,
    },
    /// Take the campaign's next customer for this agent (on the writer thread).
    /// Give back the customer the agent holds in a campaign.
    CampaignRelease {
        gen: u64,
        id: i64,
        row: Box<crate::store::campaigns::WorkRow>,
        agent: String,
    },
    CampaignNext {
        gen: u64,
        id: i64,
        agent: String,
    },
    /// Record an outcome for a member (on the writer thread).
    CampaignOutcome {
        gen: u64,
        id: i64,
        row: crate::store::campaigns::WorkRow,
        outcome: &'static str,
        note: Option<String>,
        agent: String,
    },
    /// Close a campaign (on the writer thread).
    CampaignClose {
        id: i64,
        agent: String,
    },
    StartJob(JobSpec),
    CancelJob,
    /// Make a panic on the worker (the reliability tests use it).
    Panic,
    Shutdown,
}

/// Next best action (explained) and products to offer, for the detail.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Advice {
    pub next_action: Option<String>,
    pub offer: Vec<String>,
}

/// The customer detail, with drivers already in words.
#[derive(Debug, Clone)]
pub struct DetailView {
    pub detail: Detail,
    pub drivers: Vec<(String, f64)>,
    /// Next best action, explained (None: no such customer).
    pub next_action: Option<String>,
}

#[derive(Debug, Clone)]
pub enum Response {
    Probe {
        customers: i64,
        /// Changes when another process finishes a job or activates a model.
        stamp: store::DataStamp,
    },
    Page {
        slot: Slot,
        gen: u64,
        kind: PageKind,
        rows: Vec<CustomerRow>,
        /// Per row: the churn drivers in words (Churn), or the CLV share and
        /// cumulative share of total value (Clv).
        extra: Vec<Extra>,
    },
    Count {
        slot: Slot,
        gen: u64,
        total: i64,
    },
    Dashboard {
        gen: u64,
        data: Box<Dashboard>,
    },
    Detail {
        gen: u64,
        view: Option<Box<DetailView>>,
    },
    Advice {
        gen: u64,
        advice: Box<Advice>,
    },
    Found {
        id: String,
        cid: Option<i64>,
        /// A feedback item with that id (when no customer has it).
        fid: Option<i64>,
    },
    Queue {
        gen: u64,
        items: Vec<QueueItem>,
        total: i64,
        kinds: Vec<String>,
        channels: Vec<String>,
    },
    Models {
        gen: u64,
        rows: Vec<ModelRow>,
    },
    QueueItem {
        gen: u64,
        item: Option<Box<QueueItem>>,
        history: Vec<crate::store::audit::Entry>,
        customer: Option<Box<DetailView>>,
    },
    QueueActed {
        act: String,
        outcomes: Vec<Outcome>,
    },
    QueueNext {
        claimed: Option<(i64, Outcome)>,
    },
    Agents(Vec<String>),
    /// The holdout check's report, or why there is none.
    Holdout(Result<Box<crate::analytics::clv::holdout::HoldoutReport>, String>),
    /// The cohort table.
    Cohorts(Box<crate::analytics::survival::CohortTable>),
    /// Retention curves, or why there are none.
    Survival(Result<Box<crate::analytics::survival::SurvivalReport>, String>),
    /// The active fit's matrices, or why there are none.
    Matrices(Result<Box<crate::analytics::clv::Matrices>, String>),
    Campaigns {
        gen: u64,
        rows: Vec<crate::store::campaigns::Campaign>,
    },
    CampaignWork {
        gen: u64,
        campaign: Box<crate::store::campaigns::Campaign>,
        offset: i64,
        rows: Vec<crate::store::campaigns::WorkRow>,
    },
    CampaignReport {
        gen: u64,
        report: Result<Box<crate::analytics::campaign::report::Measured>, String>,
    },
    /// The customer taken (None: nobody left to work), or why not.
    CampaignTaken {
        gen: u64,
        taken: Result<Option<Box<crate::store::campaigns::WorkRow>>, String>,
    },
    /// An outcome recorded (the member's new version), or why not (a
    /// conflict names who changed it).
    /// A held customer given back (the member's new version), or why not.
    CampaignReleased {
        gen: u64,
        customer_id: String,
        result: Result<i64, String>,
    },
    CampaignRecorded {
        gen: u64,
        customer_id: String,
        outcome: &'static str,
        result: Result<i64, String>,
    },
    CampaignClosed {
        id: i64,
        result: Result<(), String>,
    },
    /// `:columns` saved (the file), or why not.
    ColumnsSaved(Result<String, String>),
    Progress(Progress),
    JobDone {
        label: String,
        result: Result<String, String>,
        cancelled: bool,
    },
    JobRefused(String),
    Failed {
        what: String,
        message: String,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub enum Extra {
    None,
    /// The churn list's: top drivers in words, and the next best action's
    /// name.
    Churn {
        drivers: String,
        action: String,
    },
    /// A customer's share of the total CLV, and the running share down the
    /// ranking (None where the list is not a ranking: sorted otherwise, or
    /// filtered other than by one segment).
    Share {
        share: f64,
        cumulative: Option<f64>,
    },
}
