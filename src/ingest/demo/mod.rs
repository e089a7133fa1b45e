//! `crmtop demo`: a realistic company in one command, deterministic for a seed.

mod baskets;
mod campaigns;
mod text;
mod world;

use crate::analytics::{priority, sentiment};
use crate::error::{Error, Result};
use crate::jobs::Ctl;
use crate::store::activity::FeedbackFacts;
use crate::store::demo_load::{self, DemoWriter};
use crate::store::Conn;
use crate::timeutil;
use chrono::NaiveDate;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use std::collections::HashMap;
use std::time::Instant;

/// What to generate.
#[derive(Debug, Clone)]
pub struct DemoOptions {
    pub customers: usize,
    pub seed: u64,
    /// Data runs for two years up to the start of this day.
    pub as_of: NaiveDate,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct DemoSummary {
    pub customers: u64,
    pub orders: u64,
    pub events: u64,
    pub feedback: u64,
    pub as_of: String,
    pub seed: u64,
    pub duration_ms: u64,
    /// The finished past campaigns and their true effect on retention (the
    /// generator's, for checking `campaign report` against).
    pub campaigns: Vec<DemoCampaign>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct DemoCampaign {
    pub name: String,
    pub members: usize,
    /// Mean over members of effect(band) x P(no order without it).
    pub true_retention_effect: f64,
}

const CHUNK: usize = 10_000;

use crate::store::Value as V;

fn txt(s: &str) -> V {
    V::Text(s.to_string())
}

/// A per-customer random stream: the same customer gets the same life for a
/// seed, whatever the chunking or the number of threads.
fn rng_for(seed: u64, index: usize) -> ChaCha8Rng {
    let mut z = seed ^ (index as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    ChaCha8Rng::seed_from_u64(z ^ (z >> 31))
}

struct Chunk {
    customers: Vec<world::Customer>,
    /// Per customer, per feedback item: (sentiment, static priority).
    scores: Vec<Vec<(Option<f64>, f64)>>,
    /// Per customer, her places in the past campaigns.
    campaigns: Vec<Vec<campaigns::Membership>>,
}

fn generate_chunk(opts: &DemoOptions, from: usize, to: usize, start: i64, end: i64) -> Chunk {
    let width = opts.customers.to_string().len().max(6);
    let (customers, past): (Vec<world::Customer>, Vec<Vec<campaigns::Membership>>) = (from..to)
        .into_par_iter()
        .map(|i| {
            let mut c = world::simulate(&mut rng_for(opts.seed, i), i, width, start, end);
            baskets::add_complements(&mut c, &mut rng_for(opts.seed ^ 0xB45C_E7A1, i));
            // Its own stream: the campaigns leave the rest of the world as it was.
            let m = campaigns::apply(&mut c, &mut rng_for(opts.seed ^ 0xCA3B_A167, i), end);
            (c, m)
        })
        .unzip();
    let scores = customers
        .par_iter()
        .map_init(HashMap::<String, f64>::new, |memo, c| {
            c.feedback
                .iter()
                .map(|f| {
                    let s = f
                        .text
                        .as_ref()
                        .map(|t| *memo.entry(t.clone()).or_insert_with(|| sentiment::score(t)));
                    // No churn score or CLV exists yet: value at risk is unknown.
                    let p = priority::static_priority(&priority::Inputs {
                        churn_prob: None,
                        clv: None,
                        sentiment: s,
                        kind: f.kind,
                        score: f.score,
                    });
                    (s, p)
                })
                .collect()
        })
        .collect();
    Chunk {
        customers,
        scores,
        campaigns: past,
    }
}

/// Fill an empty database with a demo company.
pub fn generate(conn: &mut Conn, opts: &DemoOptions, agent: &str, ctl: Ctl) -> Result<DemoSummary> {
    let started = Instant::now();
    if opts.customers == 0 || opts.customers > 20_000_000 {
        return Err(Error::bad("--customers must be between 1 and 20,000,000"));
    }
    let end = timeutil::date_to_ts(opts.as_of);
    let start = end - 730 * timeutil::DAY;
    let mut summary = DemoSummary {
        customers: 0,
        orders: 0,
        events: 0,
        feedback: 0,
        as_of: opts.as_of.format("%Y-%m-%d").to_string(),
        seed: opts.seed,
        duration_ms: 0,
        campaigns: Vec::new(),
    };
    let mut summary = demo_load::load(
        conn,
        ["newsletter", "referral_source"],
        ctl,
        |w| write_rows(w, opts, ctl, start, end, &mut summary).map(|past| (summary, past)),
        |tx, (mut summary, (months, members))| {
            crate::store::customers::apply_month_deltas(tx, &months)?;
            summary.campaigns = store_past_campaigns(tx, &members, end, agent)?;
            let stamp = demo_load::DemoStamp {
                as_of: summary.as_of.clone(),
                agent: agent.to_string(),
                note: format!(
                    "generated {} customers, seed {}, as of {}",
                    summary.customers, opts.seed, summary.as_of
                ),
            };
            Ok((summary, stamp))
        },
    )?;
    summary.duration_ms = started.elapsed().as_millis() as u64;
    Ok(summary)
}

/// Revenue and orders per month, and the past campaigns' members.
type Past = (
    std::collections::BTreeMap<String, (f64, i64)>,
    Vec<(i64, campaigns::Membership)>,
);

/// Generate every customer (on another thread, a chunk ahead) and hand
/// their rows to the writer, keys ascending.
fn write_rows(
    w: &mut DemoWriter<'_>,
    opts: &DemoOptions,
    ctl: Ctl,
    start: i64,
    end: i64,
    summary: &mut DemoSummary,
) -> Result<Past> {
    let n = opts.customers;
    let chunks: Vec<(usize, usize)> = (0..n)
        .step_by(CHUNK)
        .map(|a| (a, (a + CHUNK).min(n)))
        .collect();
    let (send, recv) = std::sync::mpsc::sync_channel::<Chunk>(2);
    std::thread::scope(|s| {
        let chunks = &chunks;
        let producer = s.spawn(move || {
            for &(a, b) in chunks {
                if ctl.is_cancelled() || send.send(generate_chunk(opts, a, b, start, end)).is_err()
                {
                    return;
                }
            }
        });
        let mut months: std::collections::BTreeMap<String, (f64, i64)> = Default::default();
        let mut members: Vec<(i64, campaigns::Membership)> = Vec::new();
        let mut order_no: u64 = 0;
        let mut event_no: u64 = 0;
        let mut fb_no: u64 = 0;
        for chunk in recv.iter() {
            ctl.check()?;
            for ((c, scores), past) in chunk
                .customers
                .iter()
                .zip(&chunk.scores)
                .zip(&chunk.campaigns)
            {
                summary.customers += 1;
                let cid = summary.customers as i64;
                members.extend(past.iter().map(|m| (cid, m.clone())));
                let revenue: f64 = c.orders.iter().map(|o| o.amount).sum();
                for o in &c.orders {
                    let e = months
                        .entry(timeutil::ts_to_month_string(o.ts))
                        .or_default();
                    e.0 += o.amount;
                    e.1 += 1;
                }
                let opt_int = |x: Option<i64>| x.map_or(V::Null, V::Integer);
                let signup_day = timeutil::ts_to_date(c.signup);
                w.customer([
                    V::Integer(cid),
                    V::Text(c.id.clone()),
                    V::Text(c.name.clone()),
                    V::Text(c.email.clone()),
                    V::Text(c.phone.clone()),
                    V::Text(signup_day.format("%Y-%m-%d").to_string()),
                    V::Text(c.birth_date.clone()),
                    V::Integer(c.age),
                    V::Real(c.income),
                    txt(c.region),
                    txt(c.plan),
                    txt(c.segment),
                    V::Integer(c.orders.len() as i64),
                    V::Real(revenue),
                    opt_int(c.orders.first().map(|o| o.ts)),
                    opt_int(c.orders.last().map(|o| o.ts)),
                    // since = unixepoch(signup_date): midnight of the signup day.
                    V::Integer(timeutil::date_to_ts(signup_day)),
                ])?;
                w.attributes(cid, [txt(c.newsletter), txt(c.referral)])?;
                w.days(
                    cid,
                    c.orders.iter().map(|o| (o.ts, o.amount)),
                    c.events.iter().map(|e| (e.ts, e.kind, e.value)),
                    c.feedback
                        .iter()
                        .zip(scores)
                        .map(|(f, (s, _))| FeedbackFacts {
                            ts: f.ts,
                            kind: f.kind,
                            score: f.score,
                            sentiment: *s,
                        }),
                )?;
                for o in &c.orders {
                    order_no += 1;
                    w.order([
                        V::Text(format!("O{order_no:08}")),
                        V::Integer(cid),
                        V::Integer(o.ts),
                        V::Real(o.amount),
                        V::Integer(o.quantity),
                        txt(o.product),
                        txt(o.category),
                    ])?;
                }
                for e in &c.events {
                    event_no += 1;
                    w.event([
                        V::Text(format!("E{event_no:010}")),
                        V::Integer(cid),
                        V::Integer(e.ts),
                        txt(e.kind),
                        V::Real(e.value),
                    ])?;
                }
                for (f, (s, prio)) in c.feedback.iter().zip(scores) {
                    fb_no += 1;
                    let updated = f.resolved_at.or(f.first_response_at).unwrap_or(f.ts);
                    let opt_txt = |x: Option<&str>| x.map_or(V::Null, |t| V::Text(t.to_string()));
                    w.feedback([
                        V::Integer(fb_no as i64),
                        V::Text(format!("F{fb_no:07}")),
                        V::Integer(cid),
                        V::Integer(f.ts),
                        txt(f.channel),
                        txt(f.kind),
                        f.score.map_or(V::Null, V::Real),
                        opt_txt(f.text.as_deref()),
                        s.map_or(V::Null, V::Real),
                        txt(f.status),
                        opt_txt(f.assignee),
                        opt_txt(f.note.as_deref()),
                        opt_int(f.resolved_at),
                        opt_txt(f.escalation),
                        opt_int(f.first_response_at),
                        V::Integer(updated),
                        opt_txt(f.assignee),
                    ])?;
                    if !matches!(f.status, "resolved" | "closed") {
                        w.queue([
                            V::Integer(fb_no as i64),
                            txt(f.status),
                            txt(f.kind),
                            txt(f.channel),
                            V::Integer(f.ts),
                            f.assignee.map(txt).unwrap_or(V::Null),
                            V::Real(*prio),
                        ])?;
                    }
                }
            }
            summary.orders = order_no;
            summary.events = event_no;
            summary.feedback = fb_no;
            ctl.report("generating customers", summary.customers, n as u64);
        }
        drop(recv);
        producer
            .join()
            .map_err(|_| Error::Other("the demo generator thread panicked".into()))?;
        ctl.check()?;
        Ok((months, members))
    })
}

/// Store the past campaigns: each with its members ranked by value at
/// risk, the generator's assignment, the outcomes agents recorded, closed.
fn store_past_campaigns(
    tx: &Conn,
    members: &[(i64, campaigns::Membership)],
    end: i64,
    agent: &str,
) -> Result<Vec<DemoCampaign>> {
    let mut out = Vec::new();
    for (k, p) in campaigns::PAST.iter().enumerate() {
        let mut mine: Vec<&(i64, campaigns::Membership)> =
            members.iter().filter(|(_, m)| m.campaign == k).collect();
        if mine.is_empty() {
            continue;
        }
        mine.sort_by(|a, b| b.1.value.total_cmp(&a.1.value).then(a.0.cmp(&b.0)));
        let assigned: Vec<crate::analytics::campaign::Assigned> = mine
            .iter()
            .enumerate()
            .map(|(i, (cid, m))| crate::analytics::campaign::Assigned {
                cid: *cid,
                treatment: m.treatment,
                stratum: ["high", "medium", "low"][campaigns::band(m.risk)],
                churn_prob: Some(m.risk),
                clv: None,
                value_at_risk: m.value,
                rank: i as u32 + 1,
            })
            .collect();
        let start_day = end / timeutil::DAY - p.days_ago;
        let id = crate::store::campaigns::create(
            tx,
            &crate::store::campaigns::NewCampaign {
                name: p.name,
                action: p.action,
                channel: p.channel,
                cost: p.cost,
                cost_share: 0.0,
                target: "",
                control_share: 0.2,
                start_day,
                window_days: p.window_days,
                seed: 0,
                model_id: None,
                agent,
            },
            &assigned,
        )?;
        let outcomes: Vec<(i64, &str)> = mine
            .iter()
            .filter_map(|(cid, m)| m.outcome.map(|o| (*cid, o)))
            .collect();
        crate::store::campaigns::seed_outcomes(
            tx,
            id,
            &outcomes,
            "demo",
            (start_day + p.window_days / 2) * timeutil::DAY,
        )?;
        crate::store::campaigns::close(tx, id, agent)?;
        let truth = mine
            .iter()
            .map(|(_, m)| {
                if m.untreated_retained {
                    0.0
                } else {
                    p.effect[campaigns::band(m.risk)]
                }
            })
            .sum::<f64>()
            / mine.len() as f64;
        out.push(DemoCampaign {
            name: p.name.to_string(),
            members: mine.len(),
            true_retention_effect: truth,
        });
    }
    Ok(out)
}
