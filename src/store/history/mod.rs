//! The reads behind feature extraction: every customer and their orders,
//! events and feedback, streamed row by row to a callback (analytics keeps
//! the accumulators; the SQL stays here). Each scan runs on its own
//! read-only connection, so the tables are read in parallel.

mod days;

pub use days::*;

use super::pg::stream::StreamedRow;
use crate::error::{Error, Result};
use crate::jobs::Ctl;
use rusqlite::types::ValueRef;
use rusqlite::{Connection, OpenFlags};
use std::borrow::Cow;
use std::path::{Path, PathBuf};

/// Rows between two checks for a cancel.
const CHECK_EVERY: u64 = 1 << 20;

/// The file behind a connection (the scans open their own).
pub fn path_of(conn: &Connection) -> Result<PathBuf> {
    conn.path()
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
        .ok_or_else(|| Error::Other("feature extraction needs a database file".into()))
}

/// Where the scans of feature extraction read: a file (each scan on its
/// own read-only connection, so the tables are read in parallel) or a
/// PostgreSQL server (likewise, each on its own connection).
#[derive(Debug, Clone)]
pub enum Source {
    File(PathBuf),
    Server(String),
}

/// Every row of `sql` streamed on a connection of its own to the server
/// at `url`, checking for a cancel now and then.
fn server_each(
    url: &str,
    sql: &str,
    params: &[rusqlite::types::Value],
    ctl: Ctl,
    mut each: impl FnMut(&StreamedRow) -> Result<()>,
) -> Result<()> {
    let mut k = 0u64;
    super::pg::Pg::stream_url(url, sql, params, &mut |r| {
        k += 1;
        if k.is_multiple_of(CHECK_EVERY) {
            ctl.check()?;
        }
        each(r)
    })
}

/// A read-only connection for one scan. Its page cache is small: a scan
/// reads each page once, and every page a larger cache held was memory
/// the kernel had to clear first (a million-customer train's readers
/// touched 60k fewer pages with 2 MB than with 64 MB each).
pub fn read_conn(path: &Path) -> Result<Connection> {
    let c = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    c.busy_timeout(std::time::Duration::from_secs(5))?;
    c.execute_batch("PRAGMA cache_size = -2048")?;
    Ok(c)
}

fn text(v: ValueRef<'_>) -> Option<&str> {
    match v {
        ValueRef::Text(t) => std::str::from_utf8(t).ok(),
        _ => None,
    }
}

fn lossy(v: ValueRef<'_>) -> Option<Cow<'_, str>> {
    match v {
        ValueRef::Text(t) => Some(String::from_utf8_lossy(t)),
        _ => None,
    }
}

/// Every customer key, ascending (an index-only scan).
pub fn customer_keys(src: &Source) -> Result<Vec<i64>> {
    const SQL: &str = "SELECT cid FROM customers ORDER BY cid";
    match src {
        Source::File(path) => {
            // From the narrow index of external ids (every customer has
            // one), sorted here: at a million customers a tenth of the
            // customers table to read (0.19 -> 0.11 s), and the other
            // readers wait for these keys. Should that index be missing
            // (a damaged file), the table itself.
            let conn = read_conn(path)?;
            let keys = |sql: &str| -> rusqlite::Result<Vec<i64>> {
                let mut st = conn.prepare(sql)?;
                let rows = st.query_map([], |r| r.get(0))?;
                rows.collect()
            };
            match keys("SELECT cid FROM customers INDEXED BY customers_id") {
                Ok(mut cids) => {
                    cids.sort_unstable();
                    Ok(cids)
                }
                Err(_) => Ok(keys(SQL)?),
            }
        }
        Source::Server(url) => {
            let mut out = Vec::new();
            server_each(url, SQL, &[], Ctl::silent(), |r| {
                out.push(r.i64(0)?);
                Ok(())
            })?;
            Ok(out)
        }
    }
}

/// What a customer is, independent of time, as stored (texts borrowed).
pub struct CustomerRow<'a> {
    pub cid: i64,
    pub since: Option<i64>,
    pub signup_date: Option<&'a str>,
    pub age: Option<f64>,
    pub birth_date: Option<&'a str>,
    pub income: Option<f64>,
    pub region: Option<Cow<'a, str>>,
    pub plan: Option<Cow<'a, str>>,
    pub segment: Option<Cow<'a, str>>,
    pub churned: Option<bool>,
}

/// Every customer's row (on a file, those with keys in `keys` when given:
/// parts of the table read in parallel; a server's are read whole).
pub fn scan_customers(
    src: &Source,
    keys: Option<(i64, i64)>,
    mut each: impl FnMut(CustomerRow) -> Result<()>,
) -> Result<()> {
    const SQL: &str =
        "SELECT cid, since, signup_date, age, birth_date, income, region, plan, segment, churned FROM customers";
    const SQL_RANGE: &str =
        "SELECT cid, since, signup_date, age, birth_date, income, region, plan, segment, churned FROM customers
          WHERE cid BETWEEN ?1 AND ?2";
    let path = match src {
        Source::File(path) => path,
        Source::Server(url) => {
            return server_each(url, SQL, &[], Ctl::silent(), |r| {
                each(CustomerRow {
                    cid: r.i64(0)?,
                    since: r.opt_i64(1)?,
                    signup_date: r.text(2),
                    age: r.opt_i64(3)?.map(|a| a as f64),
                    birth_date: r.text(4),
                    income: r.opt_f64(5)?,
                    region: r.text(6).map(Cow::Borrowed),
                    plan: r.text(7).map(Cow::Borrowed),
                    segment: r.text(8).map(Cow::Borrowed),
                    churned: r.opt_i64(9)?.map(|c| c == 1),
                })
            })
        }
    };
    let conn = read_conn(path)?;
    let (mut st, mut rows);
    match keys {
        Some((lo, hi)) => {
            st = conn.prepare(SQL_RANGE)?;
            rows = st.query([lo, hi])?;
        }
        None => {
            st = conn.prepare(SQL)?;
            rows = st.query([])?;
        }
    }
    while let Some(r) = rows.next()? {
        each(CustomerRow {
            cid: r.get(0)?,
            since: r.get(1)?,
            signup_date: text(r.get_ref(2)?),
            age: r.get::<_, Option<i64>>(3)?.map(|a| a as f64),
            birth_date: text(r.get_ref(4)?),
            income: r.get(5)?,
            region: lossy(r.get_ref(6)?),
            plan: lossy(r.get_ref(7)?),
            segment: lossy(r.get_ref(8)?),
            churned: r.get::<_, Option<i64>>(9)?.map(|c| c == 1),
        })?;
    }
    Ok(())
}

/// An attribute's value: a number or a text.
pub enum AttrValue<'a> {
    Num(f64),
    Text(&'a str),
}

/// Every attribute value (customer, attribute's place in `names`, value);
/// returns the attribute names. With `cids` (first, last), only those
/// customers' (parts of the table read in parallel).
pub fn scan_attributes(
    src: &Source,
    cids: Option<(i64, i64)>,
    mut each: impl FnMut(i64, usize, AttrValue) -> Result<()>,
) -> Result<Vec<String>> {
    let path = match src {
        Source::File(path) => path,
        Source::Server(url) => {
            let pg = super::pg::Pg::connect_as_is(url, true)?;
            let cols = super::attributes::columns(&pg)?;
            if cols.is_empty() {
                return Ok(Vec::new());
            }
            let engine = super::sql::Engine::Postgres;
            let (lo, hi) = cids.unwrap_or((i64::MIN, i64::MAX));
            // sql-format-ok: columns named after our own integers; the range is bound.
            let sql = format!(
                "{} WHERE a.cid >= ?1 AND a.cid <= ?2",
                super::attributes::select_all(&cols, engine, false)
            );
            let range = [
                rusqlite::types::Value::Integer(lo),
                rusqlite::types::Value::Integer(hi),
            ];
            // A number and a text column per attribute (`attributes::cell`).
            pg.stream(&sql, &range, &mut |r| {
                let cid = r.i64(0)?;
                for j in 0..cols.len() {
                    if let Some(x) = r.opt_f64(1 + 2 * j)? {
                        each(cid, j, AttrValue::Num(x))?;
                    } else if let Some(t) = r.text(2 + 2 * j) {
                        each(cid, j, AttrValue::Text(t))?;
                    }
                }
                Ok(())
            })?;
            return Ok(cols.into_iter().map(|c| c.name).collect());
        }
    };
    let conn = read_conn(path)?;
    let cols = super::attributes::scan(&conn, cids, |cid, j, v| match v {
        ValueRef::Real(x) => each(cid, j, AttrValue::Num(x)),
        ValueRef::Integer(x) => each(cid, j, AttrValue::Num(x as f64)),
        ValueRef::Text(t) => each(cid, j, AttrValue::Text(&String::from_utf8_lossy(t))),
        _ => Ok(()),
    })?;
    Ok(cols.into_iter().map(|c| c.name).collect())
}

/// Runs a query's rows through `each`, checking for a cancel now and then.
fn stream(
    st: &mut rusqlite::Statement,
    params: impl rusqlite::Params,
    ctl: Ctl,
    mut each: impl FnMut(&rusqlite::Row) -> Result<()>,
) -> Result<()> {
    let mut rows = st.query(params)?;
    let mut k = 0u64;
    while let Some(r) = rows.next()? {
        k += 1;
        if k.is_multiple_of(CHECK_EVERY) {
            ctl.check()?;
        }
        each(r)?;
    }
    Ok(())
}

/// Orders before `before` as (cid, ts, amount), by customer and time.
pub fn scan_orders(
    src: &Source,
    before: i64,
    ctl: Ctl,
    mut each: impl FnMut(i64, i64, f64),
) -> Result<()> {
    match src {
        Source::File(path) => orders_of(&read_conn(path)?, before, ctl, |cid, ts, amount| {
            each(cid, ts, amount)
        }),
        Source::Server(url) => server_each(
            url,
            "SELECT cid, ts, amount FROM orders WHERE ts < ?1 ORDER BY cid, ts",
            &[rusqlite::types::Value::Integer(before)],
            ctl,
            |r| {
                each(r.i64(0)?, r.i64(1)?, r.f64(2)?);
                Ok(())
            },
        ),
    }
}

/// Orders summed by customer and calendar day (UTC) as they stream by in
/// customer then time order: each finished day goes to `each(cid, day,
/// spend)`; `finish` hands over the last.
#[derive(Default)]
pub struct DaySums {
    open: Option<(i64, i64, f64)>,
}

impl DaySums {
    pub fn push(&mut self, cid: i64, ts: i64, amount: f64, each: &mut dyn FnMut(i64, i64, f64)) {
        let day = ts.div_euclid(crate::timeutil::DAY);
        match &mut self.open {
            Some((c, d, sum)) if *c == cid && *d == day => *sum += amount,
            _ => {
                if let Some((c, d, sum)) = self.open.take() {
                    each(c, d, sum);
                }
                self.open = Some((cid, day, amount));
            }
        }
    }

    pub fn finish(self, each: &mut dyn FnMut(i64, i64, f64)) {
        if let Some((c, d, sum)) = self.open {
            each(c, d, sum);
        }
    }
}

/// `scan_orders` on the given connection.
pub fn orders_of(
    conn: &Connection,
    before: i64,
    ctl: Ctl,
    mut each: impl FnMut(i64, i64, f64),
) -> Result<()> {
    let mut st =
        conn.prepare("SELECT cid, ts, amount FROM orders WHERE ts < ?1 ORDER BY cid, ts")?;
    stream(&mut st, [before], ctl, |r| {
        each(r.get(0)?, r.get(1)?, r.get(2)?);
        Ok(())
    })
}

/// The `limit` most frequent event kinds in [from, to), most frequent first.
pub fn event_kinds(src: &Source, from: i64, to: i64, limit: usize) -> Result<Vec<String>> {
    const SQL: &str = "SELECT kind FROM events WHERE ts >= ?1 AND ts < ?2 GROUP BY kind ORDER BY count(*) DESC, kind LIMIT ?3";
    let path = match src {
        Source::File(path) => path,
        Source::Server(url) => {
            // Ties broken by bytes, as SQLite breaks them (not the
            // database's collation): the same kinds become features.
            const SQL: &str = "SELECT kind FROM events WHERE ts >= ?1 AND ts < ?2 GROUP BY kind ORDER BY count(*) DESC, kind COLLATE \"C\" LIMIT ?3";
            use rusqlite::types::Value;
            let mut out = Vec::new();
            server_each(
                url,
                SQL,
                &[
                    Value::Integer(from),
                    Value::Integer(to),
                    Value::Integer(limit as i64),
                ],
                Ctl::silent(),
                |r| {
                    out.push(r.text(0).unwrap_or("").to_string());
                    Ok(())
                },
            )?;
            return Ok(out);
        }
    };
    let conn = read_conn(path)?;
    let mut st = conn.prepare(SQL)?;
    let rows = st.query_map(rusqlite::params![from, to, limit as i64], |r| r.get(0))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Events in [from, to) as (cid, ts, kind, value).
pub fn scan_events(
    src: &Source,
    from: i64,
    to: i64,
    ctl: Ctl,
    mut each: impl FnMut(i64, i64, &str, f64),
) -> Result<()> {
    const SQL: &str = "SELECT cid, ts, kind, value FROM events WHERE ts >= ?1 AND ts < ?2";
    let path = match src {
        Source::File(path) => path,
        Source::Server(url) => {
            use rusqlite::types::Value;
            return server_each(
                url,
                SQL,
                &[Value::Integer(from), Value::Integer(to)],
                ctl,
                |r| {
                    each(r.i64(0)?, r.i64(1)?, r.text(2).unwrap_or(""), r.f64(3)?);
                    Ok(())
                },
            );
        }
    };
    let conn = read_conn(path)?;
    let mut st = conn.prepare(SQL)?;
    stream(&mut st, [from, to], ctl, |r| {
        let kind = text(r.get_ref(2)?).unwrap_or("");
        each(r.get(0)?, r.get(1)?, kind, r.get(3)?);
        Ok(())
    })
}

/// Feedback before `before` as (cid, created_at, kind, score, sentiment).
pub fn scan_feedback(
    src: &Source,
    before: i64,
    ctl: Ctl,
    mut each: impl FnMut(i64, i64, &str, Option<f64>, Option<f64>),
) -> Result<()> {
    const SQL: &str =
        "SELECT cid, created_at, kind, score, sentiment FROM feedback WHERE created_at < ?1";
    let path = match src {
        Source::File(path) => path,
        Source::Server(url) => {
            return server_each(
                url,
                SQL,
                &[rusqlite::types::Value::Integer(before)],
                ctl,
                |r| {
                    each(
                        r.i64(0)?,
                        r.i64(1)?,
                        r.text(2).unwrap_or(""),
                        r.opt_f64(3)?,
                        r.opt_f64(4)?,
                    );
                    Ok(())
                },
            );
        }
    };
    let conn = read_conn(path)?;
    let mut st = conn.prepare(SQL)?;
    stream(&mut st, [before], ctl, |r| {
        let kind = text(r.get_ref(2)?).unwrap_or("");
        each(r.get(0)?, r.get(1)?, kind, r.get(3)?, r.get(4)?);
        Ok(())
    })
}
