//! Customers: derived aggregates, counts, and the rows the screens and exports page through.

use crate::error::Result;
use crate::store::sql::Sql;
use rusqlite::{params, Connection};

/// Customers with an explicit churn label (churned 0 or 1).
pub fn labelled(conn: &dyn crate::store::sql::Sql) -> Result<i64> {
    conn.count(
        "SELECT count(*) FROM customers WHERE churned IS NOT NULL",
        &[],
    )
}

/// Recompute order count, revenue and first/last order of the customers listed
/// in `temp.touched`.
pub fn refresh_order_aggregates(conn: &Connection) -> Result<()> {
    conn.execute_batch(
        "UPDATE customers SET (n_orders, revenue, first_order, last_order) =
           (SELECT count(*), COALESCE(sum(amount), 0), min(ts), max(ts)
              FROM orders o WHERE o.cid = customers.cid)
         WHERE cid IN (SELECT cid FROM temp.touched);
         UPDATE customers SET since = COALESCE(unixepoch(signup_date), first_order)
         WHERE cid IN (SELECT cid FROM temp.touched);",
    )?;
    Ok(())
}

/// Recompute order count, revenue and first/last order of every customer.
pub fn refresh_all_order_aggregates(conn: &Connection) -> Result<()> {
    conn.execute_batch(
        "CREATE TEMP TABLE IF NOT EXISTS agg(cid INTEGER PRIMARY KEY, n INTEGER, rev REAL, f INTEGER, l INTEGER);
         DELETE FROM temp.agg;
         INSERT INTO temp.agg SELECT cid, count(*), sum(amount), min(ts), max(ts) FROM orders GROUP BY cid;
         UPDATE customers SET (n_orders, revenue, first_order, last_order) =
           (SELECT n, rev, f, l FROM temp.agg a WHERE a.cid = customers.cid)
         WHERE cid IN (SELECT cid FROM temp.agg);
         UPDATE customers SET since = COALESCE(unixepoch(signup_date), first_order);
         DROP TABLE temp.agg;",
    )?;
    Ok(())
}

/// Add order-count, revenue and first/last-order deltas to one customer.
#[derive(Debug, Clone, Default)]
pub struct AggregateDelta {
    pub orders: i64,
    pub revenue: f64,
    pub first: i64,
    pub last: i64,
}

/// Apply per-customer deltas of newly inserted orders.
pub fn apply_order_deltas<'a>(
    conn: &Connection,
    deltas: impl IntoIterator<Item = (i64, &'a AggregateDelta)>,
) -> Result<()> {
    let mut st = conn.prepare_cached(
        "UPDATE customers SET n_orders = n_orders + ?2, revenue = revenue + ?3,
           first_order = CASE WHEN first_order IS NULL OR ?4 < first_order THEN ?4 ELSE first_order END,
           last_order = CASE WHEN last_order IS NULL OR ?5 > last_order THEN ?5 ELSE last_order END,
           since = COALESCE(unixepoch(signup_date), CASE WHEN first_order IS NULL OR ?4 < first_order THEN ?4 ELSE first_order END)
         WHERE cid = ?1",
    )?;
    for (cid, d) in deltas {
        st.execute(params![cid, d.orders, d.revenue, d.first, d.last])?;
    }
    Ok(())
}

/// Add revenue and order-count deltas to months ('YYYY-MM').
pub fn apply_month_deltas<'a>(
    conn: &Connection,
    deltas: impl IntoIterator<Item = (&'a String, &'a (f64, i64))>,
) -> Result<()> {
    let mut st = conn.prepare_cached(
        "INSERT INTO monthly_revenue(month, revenue, orders) VALUES (?1, ?2, ?3)
         ON CONFLICT(month) DO UPDATE SET revenue = revenue + excluded.revenue,
                                          orders = orders + excluded.orders",
    )?;
    for (m, (rev, n)) in deltas {
        st.execute(params![m, rev, n])?;
    }
    conn.execute("DELETE FROM monthly_revenue WHERE orders <= 0", [])?;
    Ok(())
}

/// Recompute `monthly_revenue` from the orders (doctor, tests).
pub fn rebuild_monthly_revenue(conn: &Connection) -> Result<()> {
    conn.execute_batch(
        "DELETE FROM monthly_revenue;
         INSERT INTO monthly_revenue(month, revenue, orders)
         SELECT strftime('%Y-%m', ts, 'unixepoch'), sum(amount), count(*) FROM orders GROUP BY 1;",
    )?;
    Ok(())
}

/// Counts and date range for `crmtop info`.
#[derive(Debug, Clone, serde::Serialize, Default)]
pub struct Info {
    pub path: String,
    pub schema_version: i64,
    pub customers: i64,
    pub customers_with_orders: i64,
    pub attributes: Vec<String>,
    pub orders: i64,
    pub events: i64,
    pub feedback: i64,
    pub feedback_open: i64,
    pub first_order: Option<String>,
    pub last_order: Option<String>,
    pub churn_models: i64,
    pub active_model: Option<i64>,
    pub clv_fits: i64,
    pub audit_entries: i64,
    pub file_bytes: u64,
    pub wal_bytes: u64,
}

fn count(conn: &dyn Sql, sql: &str) -> Result<i64> {
    conn.count(sql, &[])
}

/// What a database holds (`crmtop info`), on either engine: `place` is the
/// file, or the server and database.
pub fn info(conn: &dyn Sql, place: &str) -> Result<Info> {
    let range = conn.row(
        "SELECT min(first_order), max(last_order) FROM customers",
        &[],
    )?;
    let (first, last) = match range {
        Some(r) => (r.opt_i64(0)?, r.opt_i64(1)?),
        None => (None, None),
    };
    // What each engine says of itself: a file's schema, size and WAL, a
    // server's schema and size.
    let (schema_version, attributes, churn_models, active_model, clv_fits, file_bytes, wal_bytes) =
        match (conn.sqlite(), conn.postgres()) {
            (Some(c), _) => {
                let path = std::path::Path::new(place);
                let wal = path.with_file_name(format!(
                    "{}-wal",
                    path.file_name()
                        .map(|n| n.to_string_lossy())
                        .unwrap_or_default()
                ));
                (
                    super::user_version(c)?,
                    super::attributes::names(c)?,
                    count(conn, "SELECT count(*) FROM models")?,
                    conn.row("SELECT id FROM models WHERE active = 1", &[])?
                        .map(|r| r.i64(0))
                        .transpose()?,
                    count(conn, "SELECT count(*) FROM clv_fits")?,
                    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0),
                    std::fs::metadata(wal).map(|m| m.len()).unwrap_or(0),
                )
            }
            (None, Some(pg)) => (
                pg.schema_version()?,
                super::attributes::names(conn)?,
                count(conn, "SELECT count(*) FROM models")?,
                conn.row("SELECT id FROM models WHERE active", &[])?
                    .map(|r| r.i64(0))
                    .transpose()?,
                count(conn, "SELECT count(*) FROM clv_fits")?,
                count(conn, "SELECT pg_database_size(current_database())")? as u64,
                0,
            ),
            (None, None) => (0, vec![], 0, None, 0, 0, 0),
        };
    Ok(Info {
        path: place.to_string(),
        schema_version,
        customers: count(conn, "SELECT count(*) FROM customers")?,
        customers_with_orders: count(conn, "SELECT count(*) FROM customers WHERE n_orders > 0")?,
        attributes,
        orders: count(conn, "SELECT count(*) FROM orders")?,
        events: count(conn, "SELECT count(*) FROM events")?,
        feedback: count(conn, "SELECT count(*) FROM feedback")?,
        feedback_open: count(
            conn,
            "SELECT count(*) FROM feedback WHERE status NOT IN ('resolved','closed')",
        )?,
        first_order: first.map(crate::timeutil::ts_to_day_string),
        last_order: last.map(crate::timeutil::ts_to_day_string),
        churn_models,
        active_model,
        clv_fits,
        audit_entries: count(conn, "SELECT count(*) FROM audit_log")?,
        file_bytes,
        wal_bytes,
    })
}

/// The internal key of a customer id.
pub fn cid_of(conn: &dyn crate::store::sql::Sql, id: &str) -> Result<Option<i64>> {
    conn.row(
        "SELECT cid FROM customers WHERE id = ?1",
        &[crate::store::sql::text(id)],
    )?
    .map(|r| r.i64(0))
    .transpose()
}

/// The latest order's time (None: no orders), from the customers' totals.
pub fn latest_order(conn: &dyn crate::store::sql::Sql) -> Result<Option<i64>> {
    match conn.row("SELECT max(last_order) FROM customers", &[])? {
        Some(r) => r.opt_i64(0),
        None => Ok(None),
    }
}

/// Contracts: every customer with a signup date, as (cid, signup day,
/// cancellation day) in days since 1970; cancelled is None while active.
pub fn contracts(conn: &Connection) -> Result<Vec<(i64, i64, Option<i64>)>> {
    let mut st = conn.prepare(
        "SELECT cid, unixepoch(signup_date) / 86400, unixepoch(cancelled_at) / 86400
         FROM customers WHERE signup_date IS NOT NULL ORDER BY cid",
    )?;
    let rows = st.query_map([], |r| {
        Ok((r.get(0)?, r.get::<_, Option<i64>>(1)?, r.get(2)?))
    })?;
    let mut out = Vec::new();
    for r in rows {
        let (cid, signup, cancelled): (i64, Option<i64>, Option<i64>) = r?;
        if let Some(s) = signup {
            out.push((cid, s, cancelled));
        }
    }
    Ok(out)
}

/// How many customers have a cancellation date (contractual data).
pub fn cancelled_count(conn: &Connection) -> Result<i64> {
    Ok(conn.query_row(
        "SELECT count(*) FROM customers WHERE cancelled_at IS NOT NULL",
        [],
        |r| r.get(0),
    )?)
}

/// Every customer's count, for valuing those the models leave out.
pub fn total(conn: &Connection) -> Result<i64> {
    Ok(conn.query_row("SELECT count(*) FROM customers", [], |r| r.get(0))?)
}

/// Every scored customer's churn probability under the active model.
pub fn churn_probs(conn: &Connection) -> Result<Vec<(i64, f64)>> {
    let mut st = conn.prepare("SELECT cid, prob FROM active_churn ORDER BY cid")?;
    let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// A customer's id by key.
pub fn id_of(conn: &dyn crate::store::sql::Sql, cid: i64) -> Result<Option<String>> {
    conn.row(
        "SELECT id FROM customers WHERE cid = ?1",
        &[crate::store::sql::int(cid)],
    )?
    .map(|r| r.text(0))
    .transpose()
}

/// Whether there is any customer at all (1) or none (0), without counting.
pub fn any(conn: &Connection) -> Result<i64> {
    Ok(conn.query_row(
        "SELECT count(*) FROM (SELECT 1 FROM customers LIMIT 1)",
        [],
        |r| r.get(0),
    )?)
}
