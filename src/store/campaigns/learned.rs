//! What next best action learns from the campaigns: the finished ones'
//! measured effects per action and risk band, and the open ones' control
//! groups (never to be acted on).

use crate::error::Result;
use crate::store::sql::Sql;
use crate::timeutil::DAY;

/// What finished (closed) campaigns measured, per (action, risk band):
/// retained and counts in treatment and control, and each band's retention
/// without action (the control groups pooled). Retained as in the report:
/// an order in the window, or, for data without orders, not labelled churned.
#[allow(clippy::type_complexity)]
pub fn measured(
    conn: &dyn Sql,
) -> Result<(
    std::collections::BTreeMap<(String, String), crate::analytics::nba::Measured>,
    std::collections::BTreeMap<String, f64>,
)> {
    use crate::analytics::nba::Measured;
    let orders = crate::store::has_orders(conn)?;
    let mut out: std::collections::BTreeMap<(String, String), Measured> = Default::default();
    let mut base: std::collections::BTreeMap<String, (f64, f64)> = Default::default();
    // Only windows the data have seen to their end: an unfinished window
    // reads as nobody retained yet.
    let seen_to = crate::store::customers::latest_order(conn)?
        .map(|t| t.div_euclid(DAY))
        .unwrap_or_else(|| crate::timeutil::now() / DAY);
    for c in super::list(conn)?
        .into_iter()
        .filter(|c| c.status == "closed" && c.start_day + c.window_days <= seen_to + 1)
    {
        let end = (c.start_day + c.window_days) * DAY;
        for m in super::window_rows(conn, c.id, c.start_day * DAY, end, !orders)? {
            let kept = if orders {
                m.ordered
            } else {
                m.churned != Some(true)
            };
            let e = out
                .entry((c.action.clone(), m.stratum.to_string()))
                .or_default();
            if !e.campaigns.contains(&c.name) {
                e.campaigns.push(c.name.clone());
            }
            if m.treatment {
                e.n_treatment += 1.0;
                e.retained_treatment += f64::from(u8::from(kept));
            } else {
                e.n_control += 1.0;
                e.retained_control += f64::from(u8::from(kept));
                let b = base.entry(m.stratum.to_string()).or_default();
                b.0 += f64::from(u8::from(kept));
                b.1 += 1.0;
            }
        }
    }
    let base = base
        .into_iter()
        .filter(|(_, (_, n))| *n > 0.0)
        .map(|(k, (x, n))| (k, x / n))
        .collect();
    Ok((out, base))
}

/// Customers (by cid) held out in the control group of an open campaign,
/// with the campaign's name: acting on them would spoil the measurement.
pub fn held_out(conn: &dyn Sql) -> Result<std::collections::HashMap<i64, String>> {
    in_open(conn, false)
}

/// Customers (by cid) in the treatment group of an open campaign, with
/// the campaign's name.
pub fn treated_in_open(conn: &dyn Sql) -> Result<std::collections::HashMap<i64, String>> {
    in_open(conn, true)
}

fn in_open(conn: &dyn Sql, treatment: bool) -> Result<std::collections::HashMap<i64, String>> {
    let mut out = std::collections::HashMap::new();
    for c in super::list(conn)?
        .into_iter()
        .filter(|c| c.status == "open")
    {
        for m in super::packed::read(conn, c.id, Some(treatment))? {
            out.entry(m.cid).or_insert_with(|| c.name.clone());
        }
    }
    Ok(out)
}

/// What next best action learns from: the finished campaigns' measurements
/// and the open campaigns' control groups.
pub fn learned(conn: &dyn Sql) -> Result<crate::analytics::nba::Learned> {
    let (measured, base) = measured(conn)?;
    Ok(crate::analytics::nba::Learned {
        measured,
        base,
        held_out: held_out(conn)?,
    })
}
