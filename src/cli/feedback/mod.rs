//! `crmtop feedback ...`: the queue for scripts and cron.

use super::{print_json, Ctx, OK};
use crate::analytics::priority;
use crate::analytics::workflow::{Act, Status};
use crate::error::{exit, Error, Result};
use crate::store::feedback::{self, QueueFilter, QueueItem};
use crate::store::sql::Sql;
use crate::store::workflow::{self, Outcome, Target};
use crate::timeutil;

mod args;

pub use args::*;

pub fn run(ctx: &Ctx, cmd: FeedbackCmd) -> Result<i32> {
    match cmd {
        FeedbackCmd::List(a) => list(ctx, a),
        FeedbackCmd::Next(a) => next(ctx, a.json),
        FeedbackCmd::Claim(i) => act(ctx, i, Act::Claim),
        FeedbackCmd::Assign(a) => {
            if !a.new_agent {
                check_assignee(ctx, a.to.trim())?;
            }
            act(ctx, a.ids, Act::Assign(a.to))
        }
        FeedbackCmd::Pending(i) => act(ctx, i, Act::Pending),
        FeedbackCmd::Resolve(a) => act(ctx, a.ids, Act::Resolve(a.note)),
        FeedbackCmd::Escalate(a) => act(ctx, a.ids, Act::Escalate(a.reason)),
        FeedbackCmd::Note(a) => act(ctx, a.ids, Act::Note(a.text)),
        FeedbackCmd::Reopen(i) => act(ctx, i, Act::Reopen),
        FeedbackCmd::Close(i) => act(ctx, i, Act::Close),
        FeedbackCmd::Release(i) => act(ctx, i, Act::Release),
        FeedbackCmd::Show(a) => show(ctx, a),
    }
}

/// An item as scripts read it.
#[derive(Debug, serde::Serialize)]
struct ItemJson<'a> {
    id: &'a str,
    customer_id: &'a str,
    customer_name: Option<&'a str>,
    status: &'a str,
    assignee: Option<&'a str>,
    priority: f64,
    kind: &'a str,
    channel: Option<&'a str>,
    created_at: String,
    /// Seconds left on the SLA clock (negative: overdue); null once resolved.
    sla_left_secs: Option<i64>,
    overdue: bool,
    sentiment: Option<f64>,
    sentiment_label: Option<&'static str>,
    score: Option<f64>,
    text: Option<&'a str>,
    /// A list's text is its first 500 bytes: `feedback show` has it whole.
    text_cut: bool,
    churn_prob: Option<f64>,
    clv: Option<f64>,
    version: i64,
    updated_at: Option<String>,
    updated_by: Option<&'a str>,
    resolution_note: Option<&'a str>,
    resolved_at: Option<String>,
    escalation_reason: Option<&'a str>,
}

fn item_json<'a>(ctx: &Ctx, it: &'a QueueItem, now: i64) -> ItemJson<'a> {
    let left = priority::sla_left(&ctx.config.sla, &it.kind, &it.status, it.sla_start, now);
    ItemJson {
        id: &it.id,
        customer_id: &it.customer_id,
        customer_name: it.customer_name.as_deref(),
        status: &it.status,
        assignee: it.assignee.as_deref(),
        priority: (it.priority * 100.0).round() / 100.0,
        kind: &it.kind,
        channel: it.channel.as_deref(),
        created_at: timeutil::ts_to_rfc3339(it.created_at),
        sla_left_secs: left,
        overdue: left.is_some_and(|l| l <= 0),
        sentiment: it.sentiment,
        sentiment_label: it.sentiment.map(crate::analytics::sentiment::label),
        score: it.score,
        text: it.text.as_deref(),
        text_cut: it.text_cut,
        churn_prob: it.churn_prob,
        clv: it.clv,
        version: it.version,
        updated_at: it.updated_at.map(timeutil::ts_to_rfc3339),
        updated_by: it.updated_by.as_deref(),
        resolution_note: it.resolution_note.as_deref(),
        resolved_at: it.resolved_at.map(timeutil::ts_to_rfc3339),
        escalation_reason: it.escalation_reason.as_deref(),
    }
}

/// Refuse an assignee nobody knows (a typo would hand work to no one),
/// naming the closest known agents.
fn check_assignee(ctx: &Ctx, to: &str) -> Result<()> {
    crate::agent::validate(to).map_err(Error::BadInput)?;
    let db = ctx.open_db_for_read()?;
    let known = crate::store::workflow::known_agents(&db)?;
    if crate::agent::is_known(to, &known, &ctx.config.agents.names, &ctx.agent) {
        return Ok(());
    }
    let mut all = known;
    all.extend(ctx.config.agents.names.iter().cloned());
    all.sort();
    all.dedup();
    let near = crate::agent::closest(to, &all);
    Err(Error::BadInput(format!(
        "'{to}' is not a known agent{}; pass --new-agent to assign to someone new (or list them under [agents] in the config)",
        if near.is_empty() {
            String::new()
        } else {
            format!(" (did you mean {}?)", near.join(", "))
        }
    )))
}

fn masked(ctx: &Ctx, mut it: QueueItem) -> QueueItem {
    if ctx.mask_pii() {
        use crate::pii::{mask, Kind};
        let owner = it.customer_name.clone();
        let owner = owner.as_deref();
        let free = |t: Option<&str>| t.map(|t| mask(Kind::Text, t, owner));
        it.text = free(it.text.as_deref());
        it.resolution_note = free(it.resolution_note.as_deref());
        it.escalation_reason = free(it.escalation_reason.as_deref());
        it.customer_name = it.customer_name.as_deref().map(crate::pii::name);
    }
    it
}

fn one_line(text: Option<&str>, width: usize) -> String {
    let t: String = text
        .unwrap_or("")
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    crate::tui::views::format::fit(t.trim(), width)
}

fn sla_words(ctx: &Ctx, it: &QueueItem, now: i64) -> String {
    priority::sla_words(
        &ctx.config.sla,
        &it.kind,
        &it.status,
        it.sla_start,
        it.created_at,
        it.first_response_at,
        now,
    )
    .0
}

fn list(ctx: &Ctx, a: ListArgs) -> Result<i32> {
    let db = ctx.open_db_for_read()?;
    let now = timeutil::now();
    let status = match a.status.as_deref() {
        None => None,
        Some("any") => Some("any"),
        Some(s) => Some(
            Status::parse(s)
                .ok_or_else(|| {
                    Error::bad(format!(
                        "--status {s}: not a status (new, open, pending, escalated, resolved, closed, any)"
                    ))
                })?
                .as_str(),
        ),
    };
    if let Some(k) = &a.kind {
        if !priority::KINDS.contains(&k.as_str()) {
            return Err(Error::bad(format!(
                "--kind {k}: not a kind ({})",
                priority::KINDS.join(", ")
            )));
        }
    }
    let mut parts = Vec::new();
    if let Some(s) = status {
        parts.push(QueueFilter::Status(s.into()));
    }
    if a.mine {
        parts.push(QueueFilter::Mine);
    }
    if let Some(who) = &a.assignee {
        parts.push(QueueFilter::Assignee(who.clone()));
    }
    if a.unassigned {
        parts.push(QueueFilter::Unassigned);
    }
    if a.overdue {
        parts.push(QueueFilter::Overdue);
    }
    if let Some(k) = &a.kind {
        parts.push(QueueFilter::Kind(k.clone()));
    }
    if let Some(c) = &a.channel {
        parts.push(QueueFilter::Channel(c.clone()));
    }
    if let Some(t) = a.search.as_deref().filter(|t| !t.trim().is_empty()) {
        parts.push(QueueFilter::Text(t.to_string()));
    }
    let filter = QueueFilter::Every(parts);
    let offset = a.offset.max(0);
    let limit = (!a.all).then(|| a.limit.clamp(0, 100_000));
    let (items, total) = feedback::page(
        &db,
        &filter,
        &ctx.agent,
        &ctx.config.sla,
        now,
        offset,
        limit,
    )?;
    let items: Vec<QueueItem> = items.into_iter().map(|i| masked(ctx, i)).collect();
    if a.json {
        let out: Vec<ItemJson> = items.iter().map(|i| item_json(ctx, i, now)).collect();
        print_json(&serde_json::json!({
            "total": total,
            "offset": offset,
            "items": out,
        }))?;
        return Ok(OK);
    }
    if items.is_empty() {
        if total > 0 {
            crate::outln!("no items past --offset {offset} (of {total})");
        } else if status.is_none() {
            crate::outln!(
                "no open items match; --status any looks among resolved and closed ones too"
            );
        } else {
            crate::outln!("no items");
        }
        return Ok(OK);
    }
    crate::outln!(
        "{:>6}  {:<10} {:<9} {:<9} {:<12} {:<18} {:<14} text",
        "prio",
        "id",
        "kind",
        "status",
        "assignee",
        "customer",
        "SLA"
    );
    for it in &items {
        let cust = it
            .customer_name
            .clone()
            .unwrap_or_else(|| it.customer_id.clone());
        crate::outln!(
            "{:>6.1}  {:<10} {:<9} {:<9} {:<12} {:<18} {:<14} {}",
            it.priority,
            it.id,
            it.kind,
            it.status,
            one_line(it.assignee.as_deref(), 12),
            one_line(Some(&cust), 18),
            one_line(Some(&sla_words(ctx, it, now)), 14),
            one_line(it.text.as_deref(), 60)
        );
    }
    let shown = offset + items.len() as i64;
    if shown < total || offset > 0 {
        crate::outln!(
            "items {}-{} of {total} (--offset N for more, --all for every one)",
            offset + 1,
            shown
        );
    }
    Ok(OK)
}

fn fid(conn: &dyn Sql, id: &str) -> Result<i64> {
    feedback::fid_of(conn, id)?.ok_or_else(|| Error::bad(format!("no feedback item '{id}'")))
}

/// The exit code for a set of outcomes: 4 when another agent holds or
/// changed an item, else 2 when one was refused, else 0.
fn exit_code(outcomes: &[Outcome]) -> i32 {
    if outcomes
        .iter()
        .any(|o| matches!(o, Outcome::Held { .. } | Outcome::Conflict { .. }))
    {
        exit::CONFLICT
    } else if outcomes.iter().any(|o| !o.is_done()) {
        exit::BAD_INPUT
    } else {
        OK
    }
}

fn act(ctx: &Ctx, ids: Ids, act: Act) -> Result<i32> {
    let mut db = ctx.open_db_for_write(&format!("feedback {}", act.name()))?;
    let targets: Vec<Target> = ids
        .ids
        .iter()
        .map(|id| {
            Ok(Target {
                fid: fid(&db, id)?,
                version: None,
            })
        })
        .collect::<Result<_>>()?;
    let outcomes = workflow::act(&mut db, &targets, &act, &ctx.agent, timeutil::now())?;
    if ids.json {
        print_json(&outcomes)?;
    } else {
        for o in &outcomes {
            if o.is_done() {
                crate::outln!("{}", o.message_for(act.name()));
            } else {
                crate::errln!("crmtop: {}", o.message());
            }
        }
    }
    Ok(exit_code(&outcomes))
}

fn next(ctx: &Ctx, json: bool) -> Result<i32> {
    let mut db = ctx.open_db_for_write("feedback next")?;
    let now = timeutil::now();
    let Some((fid, _)) = workflow::next(&mut db, &ctx.agent, &ctx.config.sla, now)? else {
        if json {
            crate::outln!("null");
        } else {
            crate::errln!("crmtop: the queue has nothing left to take");
        }
        return Ok(exit::QUEUE_EMPTY);
    };
    print_item(ctx, &db, fid, json, now)?;
    Ok(OK)
}

fn show(ctx: &Ctx, a: ShowArgs) -> Result<i32> {
    let db = ctx.open_db_for_read()?;
    let fid = fid(&db, &a.id)?;
    print_item(ctx, &db, fid, a.json, timeutil::now())?;
    Ok(OK)
}

fn print_item(ctx: &Ctx, conn: &dyn Sql, fid: i64, json: bool, now: i64) -> Result<()> {
    let it = feedback::item(conn, fid, &ctx.config.sla, now)?
        .ok_or_else(|| Error::bad(format!("no feedback item with key {fid}")))?;
    let owner = it.customer_name.clone();
    let it = masked(ctx, it);
    let mut history = crate::store::audit::for_entity(conn, "feedback", &it.id, 50)?;
    if ctx.mask_pii() {
        for e in history.iter_mut() {
            e.details = e
                .details
                .as_deref()
                .map(|d| crate::pii::mask(crate::pii::Kind::Text, d, owner.as_deref()));
        }
    }
    let why = it.why(&ctx.config.sla, now);
    if json {
        let mut v = serde_json::to_value(item_json(ctx, &it, now))?;
        if let Some(o) = v.as_object_mut() {
            o.insert("why".into(), serde_json::json!(why));
            o.insert(
                "history".into(),
                serde_json::to_value(
                    history
                        .iter()
                        .rev()
                        .map(|e| {
                            serde_json::json!({
                                "at": timeutil::ts_to_rfc3339(e.at),
                                "agent": e.agent,
                                "action": e.action,
                                "from": e.old_value.as_deref().and_then(|s| serde_json::from_str::<serde_json::Value>(s).ok()),
                                "to": e.new_value.as_deref().and_then(|s| serde_json::from_str::<serde_json::Value>(s).ok()),
                                "note": e.details,
                            })
                        })
                        .collect::<Vec<_>>(),
                )?,
            );
        }
        print_json(&v)?;
        return Ok(());
    }
    crate::outln!(
        "{}  {} · {} · {}  created {}",
        it.id,
        it.kind,
        it.channel.as_deref().unwrap_or("-"),
        it.status,
        timeutil::ts_to_minute_string(it.created_at)
    );
    crate::outln!(
        "customer   {} {}  churn {}  CLV {}",
        it.customer_id,
        it.customer_name.as_deref().unwrap_or(""),
        it.churn_prob
            .map(crate::tui::views::format::percent)
            .unwrap_or_else(|| "-".into()),
        it.clv.map(priority::money).unwrap_or_else(|| "-".into())
    );
    crate::outln!(
        "assignee   {}   SLA {}",
        it.assignee.as_deref().unwrap_or("-"),
        sla_words(ctx, &it, now)
    );
    if Status::parse(&it.status).is_some_and(|s| s.is_open()) {
        crate::outln!("priority   {:.1}: {}", it.priority, why.join("; "));
    }
    if let Some(s) = it.sentiment {
        crate::outln!(
            "tone       {} ({s:+.2})",
            crate::analytics::sentiment::label(s)
        );
    }
    if let Some(n) = &it.resolution_note {
        crate::outln!("resolution {n}");
    }
    if let Some(r) = &it.escalation_reason {
        crate::outln!("escalated  {r}");
    }
    crate::outln!();
    crate::outln!("{}", it.text.as_deref().unwrap_or("(no text)"));
    if !history.is_empty() {
        crate::outln!();
        crate::outln!("history");
        for e in history.iter().rev() {
            crate::outln!(
                "  {}  {}",
                timeutil::ts_to_minute_string(e.at),
                crate::store::audit::sentence(e, e.details.as_deref())
            );
        }
    }
    Ok(())
}
