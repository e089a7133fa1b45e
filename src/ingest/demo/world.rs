//! One simulated customer of the demo company.
//!
//! Purchases follow a heterogeneous buy-till-you-die process (Fader, Hardie &
//! Lee's BG/NBD story): each customer buys at a rate drawn from a gamma
//! distribution and, after each repeat purchase, drops out with a probability
//! drawn from a beta distribution. Spend follows the gamma-gamma model. What
//! makes churn learnable: the dropout probability depends on plan, age and
//! income, and "incidents" (support contacts, often with a complaint) raise
//! it; customers who are about to lapse log in less and complain more angrily.

use super::text;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Beta, Distribution, Exp, Gamma, Normal, Poisson};

pub const DAY: i64 = 86_400;
const WEEK: f64 = 604_800.0;

pub struct Order {
    pub ts: i64,
    pub amount: f64,
    pub quantity: i64,
    pub product: &'static str,
    pub category: &'static str,
}

pub struct Event {
    pub ts: i64,
    pub kind: &'static str,
    pub value: f64,
}

pub struct Feedback {
    pub ts: i64,
    pub channel: &'static str,
    pub kind: &'static str,
    pub score: Option<f64>,
    pub text: Option<String>,
    pub status: &'static str,
    pub assignee: Option<&'static str>,
    pub note: Option<String>,
    pub escalation: Option<&'static str>,
    pub first_response_at: Option<i64>,
    pub resolved_at: Option<i64>,
}

pub struct Customer {
    pub id: String,
    pub name: String,
    pub email: String,
    pub phone: String,
    pub signup: i64,
    pub birth_date: String,
    pub age: i64,
    pub income: f64,
    pub region: &'static str,
    pub plan: &'static str,
    pub segment: &'static str,
    pub newsletter: &'static str,
    pub referral: &'static str,
    pub orders: Vec<Order>,
    pub events: Vec<Event>,
    pub feedback: Vec<Feedback>,
}

fn normal(rng: &mut ChaCha8Rng, mean: f64, sd: f64) -> f64 {
    Normal::new(mean, sd).map(|d| d.sample(rng)).unwrap_or(mean)
}

fn gamma(rng: &mut ChaCha8Rng, shape: f64, scale: f64) -> f64 {
    Gamma::new(shape, scale)
        .map(|d| d.sample(rng))
        .unwrap_or(shape * scale)
}

fn exp_weeks(rng: &mut ChaCha8Rng, rate_per_week: f64) -> f64 {
    if rate_per_week <= 0.0 {
        return f64::INFINITY;
    }
    Exp::new(rate_per_week)
        .map(|d| d.sample(rng))
        .unwrap_or(f64::INFINITY)
        * WEEK
}

fn poisson(rng: &mut ChaCha8Rng, mean: f64) -> f64 {
    if mean <= 0.0 {
        return 0.0;
    }
    Poisson::new(mean).map(|d| d.sample(rng)).unwrap_or(0.0)
}

fn weighted<'a>(rng: &mut ChaCha8Rng, xs: &[(&'a str, f64)]) -> &'a str {
    let total: f64 = xs.iter().map(|x| x.1).sum();
    let mut u = rng.gen::<f64>() * total;
    for (x, w) in xs {
        if u < *w {
            return x;
        }
        u -= w;
    }
    xs.last().map(|x| x.0).unwrap_or("")
}

fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

/// Times of a Poisson process with `rate_per_week` in [from, to).
fn process(rng: &mut ChaCha8Rng, rate_per_week: f64, from: i64, to: i64) -> Vec<i64> {
    let mut out = Vec::new();
    let mut t = from as f64;
    loop {
        t += exp_weeks(rng, rate_per_week);
        if !t.is_finite() || t >= to as f64 {
            return out;
        }
        out.push(t as i64);
    }
}

fn count_between(xs: &[i64], from: i64, to: i64) -> usize {
    xs.iter().filter(|&&x| x >= from && x < to).count()
}

/// Simulate customer number `index` (0-based) between `start` and `end` (unix seconds).
pub fn simulate(
    rng: &mut ChaCha8Rng,
    index: usize,
    width: usize,
    start: i64,
    end: i64,
) -> Customer {
    let id = format!("C{:0width$}", index + 1);
    let age = normal(rng, 41.0, 13.0).round().clamp(18.0, 85.0) as i64;
    let age_curve = (1.0 - ((age as f64 - 48.0) / 25.0).powi(2)).max(-1.0);
    let ln_income = normal(rng, (42_000f64).ln() + 0.35 * age_curve, 0.45);
    let income = (ln_income.exp() / 100.0).round().clamp(80.0, 4_000.0) * 100.0;
    let z_income = (income.ln() - (42_000f64).ln()) / 0.45;
    let region = weighted(rng, text::REGIONS);
    let segment = weighted(
        rng,
        &[
            ("consumer", 0.72),
            ("small business", 0.21),
            ("enterprise", 0.07),
        ],
    );
    let plan_score = 0.55 * z_income
        + match segment {
            "enterprise" => 1.0,
            "small business" => 0.4,
            _ => 0.0,
        }
        + normal(rng, 0.0, 0.8);
    let plan = if plan_score < -0.3 {
        "basic"
    } else if plan_score > 0.9 {
        "premium"
    } else {
        "standard"
    };

    let name = if rng.gen_bool(0.03) {
        text::INTERNATIONAL[rng.gen_range(0..text::INTERNATIONAL.len())].to_string()
    } else {
        format!(
            "{} {}",
            text::FIRST[rng.gen_range(0..text::FIRST.len())],
            text::LAST[rng.gen_range(0..text::LAST.len())]
        )
    };
    let handle: String = text::ascii_fold(&name.to_lowercase())
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '.' })
        .collect::<String>()
        .split('.')
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(".");
    let handle = if handle.is_empty() {
        "customer".to_string()
    } else {
        handle
    };
    let domain = ["example.com", "example.net", "example.org", "mail.example"][index % 4];
    let email = format!("{handle}.{}@{domain}", index + 1);
    let phone = format!(
        "+1-555-{:03}-{:04}",
        rng.gen_range(100..1000),
        rng.gen_range(0..10_000)
    );

    // Signups grow over time: more recent customers are more numerous.
    let span = (end - 14 * DAY - start).max(DAY) as f64;
    let signup =
        start + (rng.gen::<f64>().sqrt() * span) as i64 + rng.gen_range(8 * 3600..20 * 3600);
    let birth = crate::timeutil::ts_to_date(signup - age * 365 * DAY - rng.gen_range(0..365) * DAY);
    let birth_date = birth.format("%Y-%m-%d").to_string();

    // Behaviour.
    let plan_rate = match plan {
        "premium" => 1.25,
        "basic" => 0.85,
        _ => 1.0,
    };
    let seg_rate = match segment {
        "enterprise" => 1.6,
        "small business" => 1.3,
        _ => 1.0,
    };
    let lambda = gamma(rng, 1.1, 0.14) * plan_rate * seg_rate;
    let logit_drop =
        -2.1 + match plan {
            "basic" => 0.55,
            "premium" => -0.5,
            _ => 0.0,
        } + if age < 28 {
            0.45
        } else if age < 40 {
            0.15
        } else if age > 60 {
            -0.25
        } else {
            0.0
        } - 0.35 * z_income
            + if segment == "enterprise" { -0.3 } else { 0.0 };
    let m = sigmoid(logit_drop);
    let p_drop = Beta::new(m * 6.0, (1.0 - m) * 6.0)
        .map(|d| d.sample(rng))
        .unwrap_or(m);
    let incident_rate =
        0.02 * match plan {
            "basic" => 1.6,
            "premium" => 0.7,
            _ => 1.0,
        } * gamma(rng, 2.0, 0.5);
    let incidents = process(rng, incident_rate, signup, end);

    // Spend: z ~ Gamma(p, 1/nu), nu ~ Gamma(q, 1/gamma).
    let spend_scale = match segment {
        "enterprise" => 3.0,
        "small business" => 1.6,
        _ => 1.0,
    };
    let nu = gamma(rng, 4.0, 1.0 / (40.0 * spend_scale));
    let favourite = rng.gen_range(0..text::CATALOG.len());

    let mut orders = Vec::new();
    let mut t = signup;
    let mut death: Option<i64> = None;
    let add_order = |rng: &mut ChaCha8Rng, ts: i64, orders: &mut Vec<Order>| {
        let cat = if rng.gen_bool(0.6) {
            favourite
        } else {
            rng.gen_range(0..text::CATALOG.len())
        };
        let (category, products) = text::CATALOG[cat];
        let amount = (gamma(rng, 6.0, 1.0 / nu.max(1e-6)) * 100.0)
            .round()
            .clamp(100.0, 5e7)
            / 100.0;
        orders.push(Order {
            ts,
            amount,
            quantity: 1 + poisson(rng, 0.4) as i64,
            product: products[rng.gen_range(0..products.len())],
            category,
        });
    };
    add_order(rng, t, &mut orders);
    loop {
        let dt = exp_weeks(rng, lambda);
        if !dt.is_finite() || t as f64 + dt >= end as f64 {
            break;
        }
        t += dt as i64;
        add_order(rng, t, &mut orders);
        let recent = count_between(&incidents, t - 90 * DAY, t) as f64;
        let p = 1.0 - (1.0 - p_drop) * (-0.6 * recent).exp();
        if rng.gen_bool(p.clamp(0.0, 1.0)) {
            death = Some(t);
            break;
        }
    }
    // After dropping out, a customer fades: activity stops a few weeks later.
    let fade = death.map(|d| d + (exp_weeks(rng, 0.4).min(20.0 * WEEK)) as i64);
    let active_until = fade.unwrap_or(end).min(end);
    let near_death = |ts: i64| death.is_some_and(|d| ts > d - 60 * DAY && ts <= d + 60 * DAY);

    let mut events = Vec::new();
    let mut feedback = Vec::new();
    let channel = |rng: &mut ChaCha8Rng| text::CHANNELS[rng.gen_range(0..text::CHANNELS.len())];

    for &ts in incidents.iter().filter(|&&ts| ts < active_until + 30 * DAY) {
        events.push(Event {
            ts,
            kind: "support_contact",
            value: 1.0,
        });
        if rng.gen_bool(0.3) {
            let f = ts + rng.gen_range(DAY..6 * DAY);
            if f < end {
                events.push(Event {
                    ts: f,
                    kind: "support_contact",
                    value: 1.0,
                });
            }
        }
        if rng.gen_bool(0.45) {
            let recent = count_between(&incidents, ts - 90 * DAY, ts + 1);
            let anger = if near_death(ts) || recent >= 3 {
                2
            } else if recent == 2 {
                1
            } else {
                0
            };
            let text = text::complaint(rng, anger);
            let (at, ch) = (ts + rng.gen_range(60..6 * 3600), channel(rng));
            feedback.push(item(at, ch, "complaint", None, Some(text)));
        }
        if rng.gen_bool(0.3) {
            let ts2 = ts + 3 * DAY + rng.gen_range(0..DAY);
            let recent = count_between(&incidents, ts - 90 * DAY, ts + 1) as f64;
            let score = (4.2 - 0.8 * recent + normal(rng, 0.0, 0.8))
                .round()
                .clamp(1.0, 5.0);
            if ts2 < end {
                feedback.push(item(ts2, "email", "csat", Some(score), None));
            }
        }
    }
    if let Some(d) = death {
        if rng.gen_bool(0.35) {
            let ts = d + rng.gen_range(DAY..25 * DAY);
            if ts < end {
                let text = text::complaint(rng, 2);
                let ch = channel(rng);
                feedback.push(item(ts, ch, "complaint", None, Some(text)));
                events.push(Event {
                    ts,
                    kind: "support_contact",
                    value: 1.0,
                });
            }
        }
    }

    // Logins, one row per 30-day period; engagement drops before a lapse.
    let login_rate = gamma(rng, 2.0, 1.2) * if plan == "premium" { 1.4 } else { 1.0 };
    let mut p0 = signup;
    while p0 < active_until {
        let mid = (p0 + 15 * DAY).min(end - 1);
        let decay = if near_death(mid) { 0.3 } else { 1.0 };
        let n = poisson(rng, login_rate * 4.3 * decay);
        if n > 0.0 {
            events.push(Event {
                ts: mid,
                kind: "login",
                value: n,
            });
        }
        p0 += 30 * DAY;
    }
    // Social interactions.
    let social_rate = 0.03 * if plan == "premium" { 1.5 } else { 1.0 } * gamma(rng, 1.5, 0.7);
    for ts in process(rng, social_rate, signup, active_until) {
        let kind = if rng.gen_bool(0.7) {
            "social_like"
        } else {
            "social_share"
        };
        events.push(Event {
            ts,
            kind,
            value: 1.0,
        });
    }
    // Questions, praise and NPS surveys while active.
    for ts in process(rng, 1.0 / 30.0, signup, active_until) {
        let q = text::question(rng);
        let ch = channel(rng);
        feedback.push(item(ts, ch, "question", None, Some(q)));
    }
    for ts in process(rng, 1.0 / 45.0, signup, active_until) {
        if count_between(&incidents, ts - 180 * DAY, ts) == 0 || rng.gen_bool(0.2) {
            let p = text::praise(rng);
            let ch = channel(rng);
            feedback.push(item(ts, ch, "praise", None, Some(p)));
        }
    }
    let mut survey = signup + 26 * 7 * DAY;
    while survey < active_until {
        if rng.gen_bool(0.3) {
            let recent = count_between(&incidents, survey - 180 * DAY, survey) as f64;
            let mut s = 8.3 - 1.8 * recent + normal(rng, 0.0, 1.5);
            if plan == "basic" {
                s -= 0.5;
            }
            if near_death(survey) {
                s -= 2.5;
            }
            let score = s.round().clamp(0.0, 10.0) as u8;
            let comment = text::nps_comment(rng, score);
            let ts = survey + rng.gen_range(0..7 * DAY);
            if ts < end {
                feedback.push(item(ts, "email", "nps", Some(f64::from(score)), comment));
            }
        }
        survey += 26 * 7 * DAY;
    }
    feedback.retain(|f| f.ts < end);
    feedback.sort_by_key(|f| f.ts);
    for f in &mut feedback {
        settle(rng, f, end);
    }
    events.retain(|e| e.ts < end);
    events.sort_by_key(|e| e.ts);

    let newsletter = if rng.gen_bool(if plan == "premium" { 0.6 } else { 0.35 }) {
        "yes"
    } else {
        "no"
    };
    let referral = weighted(
        rng,
        &[
            ("search", 0.4),
            ("social", 0.25),
            ("friend", 0.2),
            ("ads", 0.15),
        ],
    );
    Customer {
        id,
        name,
        email,
        phone,
        signup,
        birth_date,
        age,
        income,
        region,
        plan,
        segment,
        newsletter,
        referral,
        orders,
        events,
        feedback,
    }
}

fn item(
    ts: i64,
    channel: &'static str,
    kind: &'static str,
    score: Option<f64>,
    text: Option<String>,
) -> Feedback {
    Feedback {
        ts,
        channel,
        kind,
        score,
        text,
        status: "new",
        assignee: None,
        note: None,
        escalation: None,
        first_response_at: None,
        resolved_at: None,
    }
}

/// Where an item stands in the workflow at `end`: old items are done, recent
/// ones fill the queue.
fn settle(rng: &mut ChaCha8Rng, f: &mut Feedback, end: i64) {
    let age_days = (end - f.ts) / DAY;
    let agent = text::AGENTS[rng.gen_range(0..text::AGENTS.len())];
    let surveyish = matches!(f.kind, "praise" | "nps" | "csat");
    let done = |rng: &mut ChaCha8Rng, f: &mut Feedback, closed: bool| {
        let first = f.ts + rng.gen_range(600..20 * 3600);
        let resolved = (first + rng.gen_range(3600..72 * 3600)).min(end - 60);
        f.status = if closed { "closed" } else { "resolved" };
        f.assignee = Some(agent);
        f.first_response_at = Some(first.min(resolved));
        f.resolved_at = Some(resolved);
        f.note = Some(if surveyish {
            "Thanked the customer.".to_string()
        } else {
            text::resolution_note(rng, f.kind)
        });
    };
    if age_days > 14 {
        let closed = surveyish || rng.gen_bool(0.55);
        done(rng, f, closed);
        return;
    }
    let u: f64 = rng.gen();
    let stays_open = if surveyish { u >= 0.4 } else { u < 0.9 };
    if stays_open && age_days >= 1 {
        // A team that keeps up: most of what is still open came in during the
        // last day or two, so only a minority of the queue is past its SLA
        // (the colour then means something). Drawn from a generator of its
        // own so that the rest of the demo stays as it was.
        let mut own = ChaCha8Rng::seed_from_u64(f.ts as u64 ^ 0x5EED_F00D);
        // (`end` is the start of the as-of day: a demo made in the
        // afternoon sees its new items half a day older.)
        if own.gen_bool(0.8) {
            let max_h = if surveyish || u < 0.5 { 6 } else { 40 };
            f.ts = end - own.gen_range(900..max_h * 3600);
        }
    }
    if surveyish {
        if !stays_open {
            done(rng, f, true);
        }
        return;
    }
    if u < 0.5 {
        // stays new
    } else if u < 0.75 {
        f.status = "open";
        f.assignee = Some(agent);
        f.first_response_at = Some((f.ts + rng.gen_range(600..12 * 3600)).min(end - 60));
    } else if u < 0.85 {
        f.status = "pending";
        f.assignee = Some(agent);
        f.first_response_at = Some((f.ts + rng.gen_range(600..12 * 3600)).min(end - 60));
    } else if u < 0.9 {
        f.status = "escalated";
        f.assignee = Some(agent);
        f.escalation = Some(
            [
                "refund above agent limit",
                "needs engineering",
                "legal threat",
                "VIP customer",
            ][rng.gen_range(0..4)],
        );
        f.first_response_at = Some((f.ts + rng.gen_range(600..12 * 3600)).min(end - 60));
    } else {
        done(rng, f, false);
    }
}
