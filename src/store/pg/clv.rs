//! CLV fits on a server: what a fit reads (`store::clv::Reads`), the fit
//! and every customer's values written in one transaction, and what the
//! screens read back (the active fit's report, one customer's values).

use super::Pg;
use crate::analytics::clv::{ClvReport, Value};
use crate::error::Result;
use crate::jobs::Ctl;
use crate::store::clv::{Reads, Shares, KEEP_FITS};
use crate::store::sql::{self, Sql};
use crate::timeutil::DAY;
use rusqlite::types::Value as V;

/// One CLV fit at a time per database (a churn training has its own lock).
const CLV_LOCK: i64 = 7_243_004;

/// Rows between two checks for a cancel.
const CHECK_EVERY: u64 = 1 << 20;

impl Reads for Pg {
    fn latest_order(&self) -> Result<Option<i64>> {
        crate::store::customers::latest_order(self)
    }

    fn order_days(
        &self,
        before_day: i64,
        ctl: Ctl,
        each: &mut dyn FnMut(i64, i64, f64),
    ) -> Result<()> {
        // Along the (cid, ts, amount) index; the orders of one customer and
        // day are summed here (grouping by an expression would sort them).
        let mut days = crate::store::history::DaySums::default();
        let mut k = 0u64;
        self.stream(
            "SELECT cid, ts, amount FROM orders WHERE ts < ?1 ORDER BY cid, ts",
            &[sql::int(before_day.saturating_mul(DAY))],
            &mut |r| {
                k += 1;
                if k.is_multiple_of(CHECK_EVERY) {
                    ctl.check()?;
                }
                days.push(r.i64(0)?, r.i64(1)?, r.f64(2)?, each);
                Ok(())
            },
        )?;
        days.finish(each);
        Ok(())
    }

    fn cancelled_count(&self) -> Result<i64> {
        self.count(
            "SELECT count(*) FROM customers WHERE cancelled_at IS NOT NULL",
            &[],
        )
    }

    fn customers(&self) -> Result<i64> {
        self.count("SELECT count(*) FROM customers", &[])
    }

    fn churn_window(&self) -> Result<Option<i64>> {
        match self.row("SELECT window_days FROM models WHERE active", &[])? {
            Some(r) => Ok(Some(r.i64(0)?)),
            None => Ok(None),
        }
    }

    fn churn_probs(&self) -> Result<Vec<(i64, f64)>> {
        let mut out = Vec::new();
        self.each(
            "SELECT cid, prob FROM active_churn WHERE prob IS NOT NULL ORDER BY cid",
            &[],
            &mut |r| {
                out.push((r.i64(0)?, r.f64(1)?));
                Ok(())
            },
        )?;
        Ok(out)
    }

    fn numeric_attribute(&self, name: &str) -> Result<Vec<(i64, f64)>> {
        crate::store::attributes::numeric(self, name)
    }

    fn spend_between(&self, start: i64, end: i64) -> Result<Vec<(i64, f64, i64)>> {
        let mut out = Vec::new();
        self.each(
            "SELECT cid, sum(amount), min(ts) FROM orders WHERE ts >= ?1 AND ts < ?2 GROUP BY cid",
            &[sql::int(start), sql::int(end)],
            &mut |r| {
                out.push((r.i64(0)?, r.f64(1)?, r.i64(2)?));
                Ok(())
            },
        )?;
        Ok(out)
    }

    fn contracts(&self) -> Result<Vec<(i64, i64, Option<i64>)>> {
        // Both dates are stored as YYYY-MM-DD (the import writes them so).
        let day = |t: Option<String>| {
            t.as_deref()
                .and_then(crate::timeutil::parse_date)
                .map(|d| crate::timeutil::date_to_ts(d).div_euclid(DAY))
        };
        let mut out = Vec::new();
        self.each(
            "SELECT cid, signup_date, cancelled_at FROM customers WHERE signup_date IS NOT NULL ORDER BY cid",
            &[],
            &mut |r| {
                if let Some(s) = day(r.opt_text(1)?) {
                    out.push((r.i64(0)?, s, day(r.opt_text(2)?)));
                }
                Ok(())
            },
        )?;
        Ok(out)
    }
}

/// The columns of active_clv after `cid`, as a file's view names them.
const VALUE_COLUMNS: &str = crate::store::clv_values::VALUE_COLUMNS;

/// Store a computed fit and make it active, in one transaction: its row
/// (its id then written into `report`), every customer's values copied
/// into a staging table and swapped in as the active figures, the queue's
/// priorities recomputed, older fits' reports pruned, the audit entry.
pub fn store(
    pg: &Pg,
    report: &mut ClvReport,
    values: &[Value],
    agent: &str,
    audit_text: &dyn Fn(&ClvReport) -> String,
    started: std::time::Instant,
    ctl: Ctl,
) -> Result<()> {
    pg.begin("BEGIN")?;
    let r = (|| {
        pg.exec("SELECT pg_advisory_xact_lock(?1)", &[sql::int(CLV_LOCK)])?;
        let id = pg.count(
            "INSERT INTO clv_fits(created_at, agent, as_of, time_unit, customers, total_clv, duration_ms, active, report)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, 0, FALSE, '{}') RETURNING id",
            &[
                sql::int(crate::timeutil::now()),
                sql::text(agent),
                sql::text(&report.as_of),
                sql::text(&report.time_unit),
                sql::int(report.customers as i64),
                V::Real(report.total_clv),
            ],
        )?;
        report.fit_id = id;
        // sql-format-ok: constant column names.
        pg.batch(&format!(
            "CREATE TEMP TABLE clv_staging ON COMMIT DROP AS SELECT cid, {VALUE_COLUMNS} FROM active_clv WITH NO DATA"
        ))?;
        ctl.check()?;
        super::copy::send_rows(
            pg,
            // sql-format-ok: constant column names.
            &format!("clv_staging (cid, {VALUE_COLUMNS})"),
            values.iter().map(crate::store::clv_values::row_of),
        )?;
        ctl.check()?;
        pg.exec(
            "DELETE FROM clv_fits WHERE NOT active AND id <> ?1 AND id NOT IN (SELECT id FROM clv_fits ORDER BY id DESC LIMIT ?2)",
            &[sql::int(id), sql::int(KEEP_FITS)],
        )?;
        crate::store::audit::append(
            pg,
            agent,
            "clv",
            "clv_fit",
            &id.to_string(),
            None,
            Some("active"),
            Some(&audit_text(report)),
        )?;
        // The swap last: its TRUNCATE locks the active figures (that the
        // lists and opened tickets read) until the commit, which follows.
        ctl.report("updating queue priorities", 0, 1);
        pg.exec("UPDATE clv_fits SET active = FALSE WHERE active", &[])?;
        super::replace_rows(pg, "active_clv", &|| {
            // sql-format-ok: constant column names.
            pg.batch(&format!(
                "INSERT INTO active_clv (cid, {VALUE_COLUMNS}) SELECT cid, {VALUE_COLUMNS} FROM clv_staging ORDER BY cid"
            ))
        })?;
        super::models::refresh_priorities(pg)?;
        report.duration_ms = started.elapsed().as_millis() as u64;
        pg.exec(
            "UPDATE clv_fits SET active = TRUE, report = ?2, duration_ms = ?3 WHERE id = ?1",
            &[
                sql::int(id),
                sql::text(&serde_json::to_string(report)?),
                sql::int(report.duration_ms as i64),
            ],
        )?;
        // Open UIs reload (sent at the commit).
        pg.batch("NOTIFY crmtop_changes")?;
        ctl.report("committing", 0, 1);
        // The last moment a cancel can still keep everything as it was.
        ctl.check()?;
        crate::store::jobs::done_within(pg)
    })();
    pg.finish(r)
}

/// The active fit's id and report, if a fit is active.
pub fn active_report(pg: &Pg) -> Result<Option<(i64, ClvReport)>> {
    let Some(r) = pg.row("SELECT id, report FROM clv_fits WHERE active", &[])? else {
        return Ok(None);
    };
    Ok(serde_json::from_str(&r.text(1)?)
        .ok()
        .map(|rep| (r.i64(0).unwrap_or_default(), rep)))
}

impl Shares for Pg {
    fn total_clv(&self) -> Result<f64> {
        match active_report(self)? {
            Some((_, r)) => Ok(r.total_clv),
            None => self.clv_sum("true", &[]),
        }
    }

    fn clv_above(&self, clv: Option<f64>, cid: i64) -> Result<f64> {
        match clv {
            // A customer without a value ranks below every value.
            None => self.clv_sum("true", &[]),
            Some(at) => self.clv_sum("(clv, cid) > (?1, ?2)", &[V::Real(at), sql::int(cid)]),
        }
    }

    fn segment_clv(&self, segment: &str, above: Option<(Option<f64>, i64)>) -> Result<f64> {
        match above {
            Some((Some(at), cid)) => self.clv_sum(
                "segment = ?1 AND (clv, cid) > (?2, ?3)",
                &[sql::text(segment), V::Real(at), sql::int(cid)],
            ),
            // Above a customer without a value: the whole segment's.
            _ => self.clv_sum("segment = ?1", &[sql::text(segment)]),
        }
    }
}

impl Pg {
    /// The active values matching `cond` summed (missing ones count
    /// nothing; 0 for none).
    fn clv_sum(&self, cond: &str, params: &[V]) -> Result<f64> {
        // sql-format-ok: the conditions are constants with numbered placeholders.
        let sql = format!("SELECT coalesce(sum(clv), 0) FROM active_clv WHERE {cond}");
        Ok(self
            .row(&sql, params)?
            .map(|r| r.f64(0))
            .transpose()?
            .unwrap_or(0.0))
    }
}
