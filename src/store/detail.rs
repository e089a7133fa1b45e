//! Everything the customer detail view shows, in one read.

use crate::error::Result;
use crate::store::sql::{self, Sql};

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

/// The customer `cid` on either engine.
pub fn load(conn: &dyn Sql, cid: i64) -> Result<Option<Detail>> {
    let file = conn.sqlite();
    let key = [sql::int(cid)];
    let Some(r) = conn.row(
        "SELECT cid, id, name, email, phone, signup_date, birth_date, age, income, region, plan, segment, churned,
                n_orders, revenue, first_order, last_order, since,
                (SELECT prob FROM active_churn s WHERE s.cid = customers.cid),
                (SELECT clv FROM active_clv v WHERE v.cid = customers.cid),
                (SELECT segment FROM active_clv v WHERE v.cid = customers.cid)
         FROM customers WHERE cid = ?1",
        &key,
    )?
    else {
        return Ok(None);
    };
    let profile = Profile {
        cid: r.i64(0)?,
        id: r.text(1)?,
        name: r.opt_text(2)?,
        email: r.opt_text(3)?,
        phone: r.opt_text(4)?,
        signup_date: r.opt_text(5)?,
        birth_date: r.opt_text(6)?,
        age: r.opt_i64(7)?,
        income: r.opt_f64(8)?,
        region: r.opt_text(9)?,
        plan: r.opt_text(10)?,
        segment: r.opt_text(11)?,
        churned: r.opt_i64(12)?.map(|c| c == 1),
        n_orders: r.i64(13)?,
        revenue: r.f64(14)?,
        first_order: r.opt_i64(15)?,
        last_order: r.opt_i64(16)?,
        since: r.opt_i64(17)?,
        churn_prob: r.opt_f64(18)?,
        clv: r.opt_f64(19)?,
        rfm_segment: r.opt_text(20)?,
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
    // Revenue by month over the last 24 months of the customer's orders
    // (months counted here, the same on either engine).
    let mut by_month: std::collections::BTreeMap<String, f64> = Default::default();
    conn.each(
        "SELECT ts, amount FROM orders
         WHERE cid = ?1 AND ts >= COALESCE((SELECT max(ts) FROM orders WHERE cid = ?1), 0) - 730 * 86400",
        &key,
        &mut |r| {
            let month = crate::timeutil::ts_to_date(r.i64(0)?).format("%Y-%m").to_string();
            *by_month.entry(month).or_default() += r.f64(1)?;
            Ok(())
        },
    )?;
    let monthly = by_month.into_iter().collect();
    let latest_orders = conn
        .rows(
            "SELECT o.ts, o.amount, o.quantity, o.product FROM orders o WHERE o.cid = ?1 ORDER BY o.ts DESC, o.oid DESC LIMIT 10",
            &key,
        )?
        .iter()
        .map(|r| {
            Ok(OrderLine {
                ts: r.i64(0)?,
                amount: r.f64(1)?,
                quantity: r.i64(2)?,
                product: r.opt_text(3)?,
            })
        })
        .collect::<Result<_>>()?;
    let churn = conn
        .row(
            if file.is_some() {
                "SELECT (SELECT id FROM models WHERE active = 1), s.prob, s.drivers FROM active_churn s
                 WHERE s.cid = ?1"
            } else {
                "SELECT m.id, s.prob, s.drivers FROM models m JOIN churn_scores s ON s.model_id = m.id
                 WHERE m.active AND s.cid = ?1"
            },
            &key,
        )?
        .map(|r| {
            // Packed in a file's scores, text on a server (store::drivers).
            let drivers = r.0.get(2).cloned().unwrap_or(rusqlite::types::Value::Null);
            Ok::<_, crate::error::Error>((r.i64(0)?, r.f64(1)?, super::drivers::text_of(drivers)))
        })
        .transpose()?;
    let feedback = conn
        .rows(
            "SELECT id, created_at, kind, status, score, sentiment, text FROM feedback
             WHERE cid = ?1 ORDER BY created_at DESC, fid DESC LIMIT 10",
            &key,
        )?
        .iter()
        .map(|r| {
            Ok(FeedbackLine {
                id: r.text(0)?,
                created_at: r.i64(1)?,
                kind: r.text(2)?,
                status: r.text(3)?,
                score: r.opt_f64(4)?,
                sentiment: r.opt_f64(5)?,
                text: r.opt_text(6)?,
            })
        })
        .collect::<Result<_>>()?;
    // The customer's audit trail: entries about the customer, their
    // feedback items and their places in campaigns agents worked.
    let audit_sql = "SELECT aid, at, agent, action, entity, entity_id, old_value, new_value, details FROM audit_log
         WHERE (entity = 'customer' AND entity_id = ?1)
            OR (entity = 'feedback' AND entity_id IN (SELECT id FROM feedback WHERE cid = ?2))
            OR (entity = 'campaign_member' AND entity_id IN
                (SELECT campaign_id || ':' || cid FROM campaign_work WHERE cid = ?2))
         ORDER BY aid DESC LIMIT 10";
    let audit = conn
        .rows(audit_sql, &[sql::text(&profile.id), sql::int(cid)])?
        .iter()
        .map(super::audit::row)
        .collect::<Result<_>>()?;
    let latest = super::customers::latest_order(conn)?;
    let lapsed = super::dashboard::is_lapsed(
        profile.churned.map(i64::from),
        profile.last_order,
        super::dashboard::lapsed_cutoff(latest),
    );
    let clv = super::clv::customer_value(conn, cid)?;
    Ok(Some(Detail {
        lapsed,
        profile,
        attributes,
        monthly,
        latest_orders,
        churn,
        clv,
        feedback,
        audit,
    }))
}
