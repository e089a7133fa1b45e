//! Everything the customer detail view shows, in one read.

use crate::error::Result;
use rusqlite::{params, Connection, OptionalExtension};

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Profile {
    pub cid: i64,
    pub id: String,
    pub name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub signup_date: Option<String>,
    pub birth_date: Option<String>,
    pub age: Option<i64>,
    pub income: Option<f64>,
    pub region: Option<String>,
    pub plan: Option<String>,
    pub segment: Option<String>,
    pub churned: Option<bool>,
    pub n_orders: i64,
    pub revenue: f64,
    pub first_order: Option<i64>,
    pub last_order: Option<i64>,
    pub since: Option<i64>,
    pub churn_prob: Option<f64>,
    pub clv: Option<f64>,
    pub rfm_segment: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct OrderLine {
    pub ts: i64,
    pub amount: f64,
    pub quantity: i64,
    pub product: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct FeedbackLine {
    pub id: String,
    pub created_at: i64,
    pub kind: String,
    pub status: String,
    pub score: Option<f64>,
    pub sentiment: Option<f64>,
    pub text: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Detail {
    pub profile: Profile,
    pub attributes: Vec<(String, String)>,
    /// Revenue per month ('YYYY-MM', revenue) for the customer's last 24 months of orders.
    pub monthly: Vec<(String, f64)>,
    pub latest_orders: Vec<OrderLine>,
    /// (active model id, probability, drivers JSON)
    pub churn: Option<(i64, f64, String)>,
    pub clv: Option<super::clv::CustomerValue>,
    /// Already gone (labelled churned, or no order in the year before the
    /// latest order in the data): not "at risk", whatever the score.
    pub lapsed: bool,
    pub feedback: Vec<FeedbackLine>,
    pub audit: Vec<super::audit::Entry>,
}

pub fn load(conn: &Connection, cid: i64) -> Result<Option<Detail>> {
    let profile = conn
        .query_row(
            "SELECT cid, id, name, email, phone, signup_date, birth_date, age, income, region, plan, segment, churned,
                    n_orders, revenue, first_order, last_order, since,
                    (SELECT prob FROM active_churn s WHERE s.cid = customers.cid),
                    (SELECT clv FROM active_clv v WHERE v.cid = customers.cid),
                    (SELECT segment FROM active_clv v WHERE v.cid = customers.cid)
             FROM customers WHERE cid = ?1",
            [cid],
            |r| {
                Ok(Profile {
                    cid: r.get(0)?,
                    id: r.get(1)?,
                    name: r.get(2)?,
                    email: r.get(3)?,
                    phone: r.get(4)?,
                    signup_date: r.get(5)?,
                    birth_date: r.get(6)?,
                    age: r.get(7)?,
                    income: r.get(8)?,
                    region: r.get(9)?,
                    plan: r.get(10)?,
                    segment: r.get(11)?,
                    churned: r.get::<_, Option<i64>>(12)?.map(|c| c == 1),
                    n_orders: r.get(13)?,
                    revenue: r.get(14)?,
                    first_order: r.get(15)?,
                    last_order: r.get(16)?,
                    since: r.get(17)?,
                    churn_prob: r.get(18)?,
                    clv: r.get(19)?,
                    rfm_segment: r.get(20)?,
                })
            },
        )
        .optional()?;
    let Some(profile) = profile else {
        return Ok(None);
    };
    let attributes = super::attributes::of_customer(conn, cid)?
        .into_iter()
        .map(|(name, v)| {
            let shown = match v {
                rusqlite::types::Value::Real(x) => crate::export::num(x).to_string(),
                rusqlite::types::Value::Integer(x) => x.to_string(),
                rusqlite::types::Value::Text(t) => t,
                _ => String::new(),
            };
            (name, shown)
        })
        .collect();
    let mut st = conn.prepare_cached(
        "SELECT strftime('%Y-%m', ts, 'unixepoch') AS m, sum(amount) FROM orders
         WHERE cid = ?1 AND ts >= COALESCE((SELECT max(ts) FROM orders WHERE cid = ?1), 0) - 730 * 86400
         GROUP BY m ORDER BY m",
    )?;
    let monthly = st
        .query_map([cid], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let mut st = conn.prepare_cached(
        "SELECT o.ts, o.amount, o.quantity, o.product FROM orders o WHERE o.cid = ?1 ORDER BY o.ts DESC LIMIT 10",
    )?;
    let latest_orders = st
        .query_map([cid], |r| {
            Ok(OrderLine {
                ts: r.get(0)?,
                amount: r.get(1)?,
                quantity: r.get(2)?,
                product: r.get(3)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    let churn = conn
        .query_row(
            "SELECT (SELECT id FROM models WHERE active = 1), s.prob, s.drivers FROM active_churn s
             WHERE s.cid = ?1",
            [cid],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    let mut st = conn.prepare_cached(
        "SELECT id, created_at, kind, status, score, sentiment, text FROM feedback
         WHERE cid = ?1 ORDER BY created_at DESC LIMIT 10",
    )?;
    let feedback = st
        .query_map([cid], |r| {
            Ok(FeedbackLine {
                id: r.get(0)?,
                created_at: r.get(1)?,
                kind: r.get(2)?,
                status: r.get(3)?,
                score: r.get(4)?,
                sentiment: r.get(5)?,
                text: r.get(6)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    // The customer's audit trail: entries about the customer, their
    // feedback items and their places in campaigns agents worked.
    let mut st = conn.prepare_cached(
        "SELECT aid, at, agent, action, entity, entity_id, old_value, new_value, details FROM audit_log
         WHERE (entity = 'customer' AND entity_id = ?1)
            OR (entity = 'feedback' AND entity_id IN (SELECT id FROM feedback WHERE cid = ?2))
            OR (entity = 'campaign_member' AND entity_id IN
                (SELECT campaign_id || ':' || cid FROM campaign_work WHERE cid = ?2))
         ORDER BY aid DESC LIMIT 10",
    )?;
    let audit = st
        .query_map(params![profile.id, cid], |r| {
            Ok(super::audit::Entry {
                id: r.get(0)?,
                at: r.get(1)?,
                agent: r.get(2)?,
                action: r.get(3)?,
                entity: r.get(4)?,
                entity_id: r.get(5)?,
                old_value: r.get(6)?,
                new_value: r.get(7)?,
                details: r.get(8)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    let lapsed = super::dashboard::is_lapsed(
        profile.churned.map(i64::from),
        profile.last_order,
        super::dashboard::lapsed_cutoff_now(conn)?,
    );
    Ok(Some(Detail {
        lapsed,
        profile,
        attributes,
        monthly,
        latest_orders,
        churn,
        clv: super::clv::customer_value(conn, cid)?,
        feedback,
        audit,
    }))
}
