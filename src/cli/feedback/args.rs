//! The arguments of `crmtop feedback ...`.

use clap::{Args, Subcommand};

#[derive(Debug, Subcommand)]
pub enum FeedbackCmd {
    /// Items by priority (open ones), or by recency (resolved, closed)
    List(ListArgs),
    /// Claim the highest-priority unclaimed item and show it (exit 5 when none is left)
    Next(JsonArg),
    /// Claim items for yourself
    Claim(Ids),
    /// Give items to an agent
    Assign(AssignArgs),
    /// Waiting on the customer
    Pending(Ids),
    /// Resolve items with a note of what was done
    Resolve(ResolveArgs),
    /// Escalate items with a reason
    Escalate(EscalateArgs),
    /// Add a note to items (a call made, what the customer said); status and holder stay
    Note(NoteArgs),
    /// Reopen resolved or closed items
    Reopen(Ids),
    /// Close resolved items
    Close(Ids),
    /// Give back items you claimed (they become new and unassigned)
    Release(Ids),
    /// One item with its customer's context, priority explanation and history
    Show(ShowArgs),
}

#[derive(Debug, Args)]
pub struct JsonArg {
    /// Print JSON
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Only this status (new, open, pending, escalated, resolved, closed, or
    /// any) [default: the open ones]
    #[arg(long, value_name = "S")]
    pub status: Option<String>,
    /// Only items held by this agent
    #[arg(long, value_name = "AGENT")]
    pub assignee: Option<String>,
    /// Only items whose id, customer id or name, or text match these words
    #[arg(long, value_name = "TEXT")]
    pub search: Option<String>,
    /// Only items assigned to you (--agent)
    #[arg(long)]
    pub mine: bool,
    /// Only items nobody holds
    #[arg(long)]
    pub unassigned: bool,
    /// Only items past their SLA
    #[arg(long)]
    pub overdue: bool,
    /// Only this kind (complaint, question, praise, nps, csat, other)
    #[arg(long)]
    pub kind: Option<String>,
    /// Only this channel
    #[arg(long)]
    pub channel: Option<String>,
    /// Items to show
    #[arg(long, default_value_t = 50)]
    pub limit: i64,
    /// Items to skip
    #[arg(long, default_value_t = 0)]
    pub offset: i64,
    /// Every matching item (no --limit)
    #[arg(long, conflicts_with = "limit")]
    pub all: bool,
    /// Print JSON: {"total": all matching items, "offset": K, "items": [...]}
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct Ids {
    /// Item ids (as in the feedback file, e.g. F1234)
    #[arg(required = true, value_name = "ID")]
    pub ids: Vec<String>,
    /// Print JSON (one outcome per item)
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct AssignArgs {
    #[command(flatten)]
    pub ids: Ids,
    /// The agent who gets the items (someone who has acted before, or is
    /// listed in the config's [agents])
    #[arg(long, value_name = "AGENT")]
    pub to: String,
    /// Assign to an agent nobody has seen yet (a new colleague)
    #[arg(long)]
    pub new_agent: bool,
}

#[derive(Debug, Args)]
pub struct ResolveArgs {
    #[command(flatten)]
    pub ids: Ids,
    /// What was done (required)
    #[arg(long, value_name = "TEXT")]
    pub note: String,
}

#[derive(Debug, Args)]
pub struct EscalateArgs {
    #[command(flatten)]
    pub ids: Ids,
    /// Why it needs someone else (required)
    #[arg(long, value_name = "TEXT")]
    pub reason: String,
}

#[derive(Debug, Args)]
pub struct NoteArgs {
    #[command(flatten)]
    pub ids: Ids,
    /// The note (required)
    #[arg(long, value_name = "TEXT")]
    pub text: String,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// Item id
    pub id: String,
    /// Print JSON
    #[arg(long)]
    pub json: bool,
}
