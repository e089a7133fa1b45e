//! `crmtop campaign`: retention campaigns with a control group: create
//! (target, rank by value at risk, hold out a random share per risk band),
//! work the treated customers (next, outcome), and measure the effect
//! against the control group (report).

mod report;

use super::{print_json, Ctx, OK};
use crate::analytics::campaign::{self, Target};
use crate::error::{Error, Result};
use crate::store;
use crate::store::sql::Writer;
use crate::timeutil::DAY;
use clap::{Args, Subcommand};

#[derive(Debug, Subcommand, Clone)]
pub enum CampaignCmd {
    /// Create a campaign: target customers, rank them by value at risk, and
    /// hold out a random control group in every risk band
    Create(CreateArgs),
    /// Every campaign, newest first
    List(super::JsonFlag),
    /// One campaign and its members (`--json`: members with group and outcome)
    Show(NameArgs),
    /// Claim the next treated customer to work (highest value at risk)
    Next(NameArgs),
    /// Record what happened with a treated customer
    Outcome(OutcomeArgs),
    /// Measured uplift: treatment against control, with 95% intervals
    Report(ReportArgs),
    /// Close a campaign (its work list ends; its report stays)
    Close(NameArgs),
    /// Give back a customer you hold, so `next` hands them out again; with
    /// --from AGENT, one another agent holds (an agent who left)
    Release(ReleaseArgs),
}

#[derive(Debug, Args, Clone)]
pub struct ReleaseArgs {
    pub name: String,
    /// The customer's id
    pub customer: String,
    /// Free the hold of this agent instead of your own (audited as yours)
    #[arg(long)]
    pub from: Option<String>,
}

#[derive(Debug, Args, Clone)]
pub struct CreateArgs {
    pub name: String,
    /// The action from the config's catalogue (default: call, email, sms, discount_10)
    #[arg(long)]
    pub action: String,
    /// Who: risk=high,medium churn>=0.5 clv>=500 age>=65 income<30000 segment=At_Risk plan=P region=R cluster=N lapsed=yes|no, or words of id/name/e-mail [default: every customer not lapsed at the start]
    #[arg(long, default_value = "", hide_default_value = true)]
    pub target: String,
    /// Share held out as the control group (receives nothing)
    #[arg(long, default_value_t = 0.2, allow_negative_numbers = true)]
    pub control: f64,
    /// At most this many customers (the highest value at risk)
    #[arg(long)]
    pub size: Option<usize>,
    /// Start day [default: today]; an earlier day records a campaign run outside crmtop
    #[arg(long, value_parser = super::data::parse_date_arg)]
    pub start: Option<chrono::NaiveDate>,
    /// Days after the start in which a customer who orders counts as retained
    #[arg(long, default_value_t = 90)]
    pub window_days: i64,
    /// Seed of the random assignment (same seed, same groups)
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Print JSON instead of text
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args, Clone)]
pub struct NameArgs {
    pub name: String,
    /// Print JSON instead of text
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args, Clone)]
pub struct OutcomeArgs {
    pub name: String,
    /// The customer's id
    pub customer: String,
    /// reached, no_answer, accepted or declined
    #[arg(value_parser = clap::builder::PossibleValuesParser::new(store::campaigns::OUTCOMES))]
    pub outcome: String,
    #[arg(long)]
    pub note: Option<String>,
    /// The version you read (from `next` or `show`): a change made
    /// meanwhile by someone else is then refused instead of overwritten
    #[arg(long)]
    pub version: Option<i64>,
}

#[derive(Debug, Args, Clone)]
pub struct ReportArgs {
    pub name: String,
    /// Measure up to this day [default: the latest order]
    #[arg(long, value_parser = super::data::parse_date_arg)]
    pub as_of: Option<chrono::NaiveDate>,
    /// Print JSON instead of text
    #[arg(long)]
    pub json: bool,
}

pub fn campaign(ctx: &Ctx, cmd: CampaignCmd) -> Result<i32> {
    match cmd {
        CampaignCmd::Create(a) => create(ctx, a),
        CampaignCmd::List(j) => {
            let s = ctx.open_db_for_read()?;
            let all = store::campaigns::list(&s)?;
            if j.json {
                print_json(&all)?;
            } else if all.is_empty() {
                crate::outln!("no campaigns yet: crmtop campaign create NAME --action call --target risk=high");
            } else {
                crate::outln!(
                    "{:<20} {:<12} {:<10} {:>9} {:>8} {:>7} {:>6}  target",
                    "name",
                    "action",
                    "start",
                    "treated",
                    "control",
                    "worked",
                    "status"
                );
                for c in all {
                    crate::outln!(
                        "{:<20} {:<12} {:<10} {:>9} {:>8} {:>7} {:>6}  {}",
                        crate::term::safe(&c.name),
                        crate::term::safe(&c.action),
                        c.start,
                        c.treatment,
                        c.control,
                        c.worked,
                        c.status,
                        crate::term::safe(if c.target.is_empty() {
                            "(not lapsed)"
                        } else {
                            &c.target
                        })
                    );
                }
            }
            Ok(OK)
        }
        CampaignCmd::Show(a) => {
            let s = ctx.open_db_for_read()?;
            let c = store::campaigns::get(&s, &a.name)?;
            let end = (c.start_day + c.window_days) * DAY;
            let mut members = store::campaigns::members(&s, c.id, c.start_day * DAY, end)?;
            if ctx.mask_pii() {
                members.iter_mut().for_each(|m| masked(&mut m.row));
            }
            if a.json {
                print_json(&serde_json::json!({ "campaign": c, "members": members }))?;
            } else {
                print_campaign(&c);
                for m in members.iter().take(20) {
                    crate::outln!(
                        "  {:>5} {:<12} {:<9} {:<8} churn {:>5} value at risk {:>10}  {}",
                        m.row.rank,
                        crate::term::safe(&m.row.customer_id),
                        m.group,
                        m.row.stratum,
                        m.row
                            .churn_prob
                            .map(|p| format!("{:.0}%", 100.0 * p))
                            .unwrap_or_else(|| "-".into()),
                        crate::analytics::priority::money(m.row.value_at_risk),
                        m.row.outcome.as_deref().unwrap_or("")
                    );
                }
                if members.len() > 20 {
                    crate::outln!(
                        "  ... {} more (--json lists every member)",
                        members.len() - 20
                    );
                }
            }
            Ok(OK)
        }
        CampaignCmd::Next(a) => {
            let mut s = ctx.open_db_for_write("campaign next")?;
            let c = store::campaigns::get(&s, &a.name)?;
            if c.status != "open" {
                return Err(Error::bad(format!(
                    "campaign '{}' is closed",
                    crate::term::safe(&c.name)
                )));
            }
            let Some(cid) =
                s.write(&mut |tx| store::campaigns::claim_next(tx, c.id, &ctx.agent))?
            else {
                return Err(Error::QueueEmpty);
            };
            let end = (c.start_day + c.window_days) * DAY;
            let mut m = store::campaigns::member(&s, c.id, cid, c.start_day * DAY, end)?
                .ok_or_else(|| Error::Other("the claimed member vanished".into()))?;
            if ctx.mask_pii() {
                masked(&mut m.row);
            }
            if a.json {
                print_json(&m)?;
            } else {
                crate::outln!(
                    "{} {} (version {}): in '{}' because churn {} x CLV {} = value at risk {} (rank {})",
                    crate::term::safe(&m.row.customer_id),
                    crate::term::safe(m.row.name.as_deref().unwrap_or("")),
                    m.row.version,
                    crate::term::safe(&c.name),
                    m.row.churn_prob.map(|p| format!("{:.0}%", 100.0 * p)).unwrap_or_else(|| "-".into()),
                    m.row.clv.map(crate::analytics::priority::money).unwrap_or_else(|| "-".into()),
                    crate::analytics::priority::money(m.row.value_at_risk),
                    m.row.rank
                );
                let reach: Vec<String> = [m.row.phone.clone(), m.row.email.clone()]
                    .into_iter()
                    .flatten()
                    .collect();
                crate::outln!(
                    "reach: {}",
                    crate::term::safe(&if reach.is_empty() {
                        "no phone or e-mail on file".to_string()
                    } else {
                        reach.join(" · ")
                    })
                );
                crate::outln!(
                    "offer: {} ({}); then: crmtop campaign outcome {} {} reached|no_answer|accepted|declined --version {}",
                    crate::term::safe(&c.action),
                    crate::term::safe(&c.channel),
                    crate::term::safe(&c.name),
                    crate::term::safe(&m.row.customer_id),
                    m.row.version
                );
            }
            Ok(OK)
        }
        CampaignCmd::Outcome(a) => {
            let mut s = ctx.open_db_for_write("campaign outcome")?;
            let c = store::campaigns::get(&s, &a.name)?;
            let cid = store::customers::cid_of(&s, &a.customer)?.ok_or_else(|| {
                Error::bad(format!("no customer '{}'", crate::term::safe(&a.customer)))
            })?;
            let v = s.write(&mut |tx| {
                store::campaigns::record_outcome(
                    tx,
                    c.id,
                    cid,
                    &a.outcome,
                    a.note.as_deref(),
                    &ctx.agent,
                    a.version,
                )
            })?;
            crate::outln!(
                "{}: {} (version {v})",
                crate::term::safe(&a.customer),
                a.outcome
            );
            Ok(OK)
        }
        CampaignCmd::Close(a) => {
            let mut s = ctx.open_db_for_write("campaign close")?;
            let c = store::campaigns::get(&s, &a.name)?;
            let seen_to = s.write(&mut |tx| {
                let seen_to = store::customers::latest_order(tx)?
                    .map(|t| t.div_euclid(DAY))
                    .unwrap_or_else(|| crate::timeutil::now() / DAY);
                store::campaigns::close_audited(tx, c.id, &ctx.agent)?;
                Ok(seen_to)
            })?;
            // Said once the close is committed (a server may run the
            // transaction again).
            if c.start_day + c.window_days > seen_to + 1 {
                crate::outln!(
                    "note: its window runs to {}, past the data (to {}): its report is not final, and next best action learns from it only once the data reach the window's end",
                    crate::timeutil::ts_to_day_string((c.start_day + c.window_days - 1) * DAY),
                    crate::timeutil::ts_to_day_string(seen_to * DAY)
                );
            }
            crate::outln!("campaign '{}' is closed", crate::term::safe(&c.name));
            Ok(OK)
        }
        CampaignCmd::Report(a) => report::report(ctx, a),
        CampaignCmd::Release(a) => {
            let mut s = ctx.open_db_for_write("campaign release")?;
            let c = store::campaigns::get(&s, &a.name)?;
            let cid = store::customers::cid_of(&s, &a.customer)?.ok_or_else(|| {
                Error::bad(format!("no customer '{}'", crate::term::safe(&a.customer)))
            })?;
            let holder = a.from.clone().unwrap_or_else(|| ctx.agent.clone());
            let v = s.write(&mut |tx| {
                store::campaigns::release_held_by(tx, c.id, cid, &holder, &ctx.agent)
            })?;
            crate::outln!(
                "{}: given back from {} (version {v}); `campaign next` hands them out again",
                crate::term::safe(&a.customer),
                crate::term::safe(&holder)
            );
            Ok(OK)
        }
    }
}

/// A member's personal fields masked (`--mask-pii`).
fn masked(r: &mut store::campaigns::WorkRow) {
    use crate::pii::{mask, Kind};
    let owner = r.name.clone();
    r.name = r.name.as_deref().map(|v| mask(Kind::Name, v, None));
    r.phone = r.phone.as_deref().map(|v| mask(Kind::Phone, v, None));
    r.email = r
        .email
        .as_deref()
        .map(|v| mask(Kind::Email, v, owner.as_deref()));
    r.note = r
        .note
        .as_deref()
        .map(|v| mask(Kind::Text, v, owner.as_deref()));
}

fn print_campaign(c: &store::campaigns::Campaign) {
    crate::outln!(
        "campaign '{}' ({}): {} ({}) from {} for {} days; target {}; {} treated, {} control ({:.0}%), {} worked; seed {}",
        crate::term::safe(&c.name),
        c.status,
        crate::term::safe(&c.action),
        crate::term::safe(&c.channel),
        c.start,
        c.window_days,
        crate::term::safe(if c.target.is_empty() { "every customer not lapsed" } else { &c.target }),
        c.treatment,
        c.control,
        100.0 * c.control_share,
        c.worked,
        c.seed
    );
}

fn create(ctx: &Ctx, a: CreateArgs) -> Result<i32> {
    let action = ctx.config.actions.get(&a.action).ok_or_else(|| {
        Error::bad(format!(
            "no action '{}' in the catalogue: {} (add one as [actions.NAME] in the config)",
            crate::term::safe(&a.action),
            ctx.config
                .actions
                .keys()
                .cloned()
                .collect::<Vec<_>>()
                .join(", ")
        ))
    })?;
    if a.name.trim().is_empty() || a.name.chars().any(crate::term::is_unsafe) || a.name.len() > 64 {
        return Err(Error::bad(
            "a campaign name is printable text of at most 64 bytes",
        ));
    }
    if !(a.control > 0.0 && a.control < 1.0) {
        return Err(Error::bad(
            "--control is the share held out, between 0 and 1 (0.2 = 20%); without a control group nothing can be measured",
        ));
    }
    if a.size == Some(0) {
        return Err(Error::bad("--size is at least 1"));
    }
    if !(1..=3650).contains(&a.window_days) {
        return Err(Error::bad("--window-days is between 1 and 3650"));
    }
    let target = Target::parse(&a.target)?;
    let start = a.start.unwrap_or_else(crate::timeutil::today);
    let start_ts = crate::timeutil::date_to_ts(start);
    let mut s = ctx.open_db_for_write("campaign create")?;
    let t = ctx.config.thresholds;
    let candidates = store::campaigns::candidates(&s, start_ts, target.fields())?;
    // Lapsed customers the target would take but for their lapse: the
    // reason to name when nobody is left.
    let lapsed = candidates
        .iter()
        .filter(|c| c.lapsed && target.matches_lapsed_or_not(c, t.medium, t.high))
        .count();
    let targeted: Vec<_> = candidates
        .into_iter()
        .filter(|c| target.matches(c, t.medium, t.high))
        .collect();
    // Another open campaign's control group receives nothing until it
    // closes: treating its customers here would spoil its measurement.
    let held = store::campaigns::held_out(&s)?;
    let n_before = targeted.len();
    let targeted: Vec<_> = targeted
        .into_iter()
        .filter(|c| !held.contains_key(&c.cid))
        .collect();
    let left_out = n_before - targeted.len();
    let busy = store::campaigns::treated_in_open(&s)?;
    let overlap = targeted
        .iter()
        .filter(|c| busy.contains_key(&c.cid))
        .count();
    if targeted.is_empty() && left_out > 0 {
        return Err(Error::bad(format!(
            "the {left_out} customers the target takes are all in the control group of an open campaign, which must receive nothing until it closes (campaign list; campaign close NAME ends one)"
        )));
    }
    if targeted.is_empty() && lapsed > 0 {
        let latest = store::customers::latest_order(&s)?
            .map(crate::timeutil::ts_to_day_string)
            .unwrap_or_else(|| "none".into());
        return Err(Error::bad(format!(
            "no customer matches the target as of the start, {start}: the {lapsed} it would take are lapsed then (no order in the 365 days before it; the latest order is {latest}); give --start DATE for a campaign run earlier, or lapsed=yes"
        )));
    }
    if targeted.is_empty() {
        return Err(Error::bad(format!(
            "no customer matches the target '{}' (check its bounds: crmtop next-action and the churn screen show churn and CLV)",
            crate::term::safe(&target.text)
        )));
    }
    let members = campaign::assign(targeted, a.size, a.control, a.seed, t.medium, t.high)?;
    let held = members.iter().filter(|m| !m.treatment).count();
    if held == 0 || held == members.len() {
        return Err(Error::bad(format!(
            "{} customers with --control {} leave {} treated and {} held out: each group needs at least one customer, or nothing can be measured (widen the target or --size, or change --control)",
            members.len(),
            a.control,
            members.len() - held,
            held
        )));
    }
    let model_id = store::export::active_model(&s)?.map(|m| m.id);
    let detail = format!(
        "{} members ({} control), action {}, target '{}', seed {}",
        members.len(),
        members.iter().filter(|m| !m.treatment).count(),
        a.action,
        target.text,
        a.seed
    );
    let id = store::campaigns::create_audited(
        &mut s,
        &store::campaigns::NewCampaign {
            name: a.name.trim(),
            action: &a.action,
            channel: &action.channel,
            cost: action.cost,
            cost_share: action.cost_share,
            target: &target.text,
            control_share: a.control,
            start_day: start_ts / DAY,
            window_days: a.window_days,
            seed: a.seed,
            model_id,
            agent: &ctx.agent,
        },
        &members,
        &detail,
    )?;
    let c = store::campaigns::get_by_id(&s, id)?;
    if a.json {
        print_json(&c)?;
    } else {
        print_campaign(&c);
        for band in ["high", "medium", "low", "unscored"] {
            let all = members.iter().filter(|m| m.stratum == band).count();
            if all > 0 {
                let held = members
                    .iter()
                    .filter(|m| m.stratum == band && !m.treatment)
                    .count();
                crate::outln!("  {band:<9} {all:>8} customers, {held:>7} held out");
            }
        }
        if model_id.is_none() {
            crate::outln!("note: no churn model yet: customers are unscored, ranked by CLV alone (crmtop train)");
        }
        if left_out > 0 {
            crate::outln!(
                "note: {left_out} customers the target takes were left out: they are in the control group of an open campaign, which must receive nothing until it closes"
            );
        }
        if overlap > 0 {
            crate::outln!(
                "note: {overlap} of these customers are also being worked in another open campaign (its treatment group): both campaigns' reports count them"
            );
        }
        if start < crate::timeutil::today() {
            crate::outln!(
                "note: ranked and stratified by today's churn scores and CLV, not those of {start}: for a campaign recorded after the fact, the groups are still random, but the bands are today's"
            );
        }
    }
    Ok(OK)
}
