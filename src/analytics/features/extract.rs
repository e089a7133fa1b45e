//! Reading the tables once each, in parallel, into the accumulators of
//! `Raw` for every cutoff at once.

use super::*;
use crate::cid_index::CidIndex;
use crate::error::{Error, Result};
use crate::jobs::Ctl;
use crate::timeutil::{self, DAY};
use rusqlite::{Connection, OpenFlags};
use std::collections::HashMap;
use std::path::Path;

fn read_conn(path: &Path) -> Result<Connection> {
    let c = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    c.busy_timeout(std::time::Duration::from_secs(5))?;
    c.execute_batch("PRAGMA cache_size = -65536")?;
    Ok(c)
}

/// Read every customer and its history before each cutoff. `label_ends[i]`
/// bounds the label window after `cutoffs[i]`.
pub fn extract(conn: &Connection, cutoffs: &[i64], label_ends: &[i64], ctl: Ctl) -> Result<Raw> {
    let path = conn
        .path()
        .filter(|p| !p.is_empty())
        .map(std::path::PathBuf::from)
        .ok_or_else(|| Error::Other("feature extraction needs a database file".into()))?;
    ctl.report("reading customers, orders, events and feedback", 0, 1);
    // The customer keys first (an index-only scan); then everything in parallel,
    // each reader on its own connection. Rows are placed by cid.
    let cids: Vec<i64> = {
        let mut st = conn.prepare("SELECT cid FROM customers ORDER BY cid")?;
        let rows = st.query_map([], |r| r.get(0))?;
        rows.collect::<rusqlite::Result<_>>()?
    };
    let by_cid = CidIndex::new(&cids);
    let n = cids.len();
    let nc = cutoffs.len();
    let min_cut = cutoffs.iter().copied().min().unwrap_or(0);
    let (customers, mut strings, (attrs, attr_strings), orders, (events, kinds), feedback) =
        std::thread::scope(|s| -> Result<_> {
            let o = s.spawn(|| scan_orders(&path, &by_cid, n, cutoffs, label_ends, ctl));
            let e = s.spawn(|| scan_events(&path, &by_cid, n, cutoffs, min_cut, ctl));
            let f = s.spawn(|| scan_feedback(&path, &by_cid, n, cutoffs, min_cut, ctl));
            let a = s.spawn(|| load_attributes(&path, &by_cid, n));
            let c = load_customers(&path, &by_cid, &cids);
            let panicked = |_| Error::Other("a feature reader thread panicked".into());
            let orders = o.join().map_err(panicked)??;
            let events = e.join().map_err(panicked)??;
            let feedback = f.join().map_err(panicked)??;
            let attrs = a.join().map_err(panicked)??;
            let (customers, strings) = c?;
            Ok((customers, strings, attrs, orders, events, feedback))
        })?;
    // The attributes' texts join the customers' in one interner.
    let mut attrs = attrs;
    let remap: Vec<u32> = attr_strings.strings.iter().map(|t| strings.id(t)).collect();
    for col in &mut attrs.txt {
        for v in col.iter_mut() {
            if *v != NO_TEXT {
                *v = remap[*v as usize];
            }
        }
    }
    ctl.check()?;
    debug_assert!(orders.is_empty() || orders.len() == n * nc);
    Ok(Raw {
        cutoffs: cutoffs.to_vec(),
        label_ends: label_ends.to_vec(),
        customers,
        strings,
        attrs,
        event_kinds: kinds,
        orders,
        events,
        feedback,
    })
}

/// Customers, placed by cid.
fn load_customers(path: &Path, by_cid: &CidIndex, cids: &[i64]) -> Result<(Vec<Static>, Interner)> {
    let conn = read_conn(path)?;
    let mut customers: Vec<Static> = cids
        .iter()
        .map(|&cid| Static {
            cid,
            ..Default::default()
        })
        .collect();
    let mut strings = Interner::default();
    let text =
        |r: &rusqlite::Row, i: usize, strings: &mut Interner| -> rusqlite::Result<Option<u32>> {
            Ok(match r.get_ref(i)? {
                rusqlite::types::ValueRef::Text(t) => Some(strings.id(&String::from_utf8_lossy(t))),
                _ => None,
            })
        };
    let date = |r: &rusqlite::Row, i: usize| -> rusqlite::Result<Option<i64>> {
        Ok(match r.get_ref(i)? {
            rusqlite::types::ValueRef::Text(t) => std::str::from_utf8(t)
                .ok()
                .and_then(timeutil::parse_date)
                .map(timeutil::date_to_ts),
            _ => None,
        })
    };
    let mut st = conn.prepare(
        "SELECT cid, since, signup_date, age, birth_date, income, region, plan, segment, churned FROM customers",
    )?;
    let mut rows = st.query([])?;
    while let Some(r) = rows.next()? {
        let Some(i) = by_cid.get(r.get(0)?) else {
            continue;
        };
        let c = &mut customers[i];
        c.since = r.get(1)?;
        c.signup = date(r, 2)?;
        c.age = r.get::<_, Option<i64>>(3)?.map(|a| a as f64);
        c.birth = date(r, 4)?;
        c.income = r.get(5)?;
        c.region = text(r, 6, &mut strings)?;
        c.plan = text(r, 7, &mut strings)?;
        c.segment = text(r, 8, &mut strings)?;
        c.churned = r.get::<_, Option<i64>>(9)?.map(|c| c == 1);
    }
    Ok((customers, strings))
}

/// Attributes by column (one table scan, on its own connection), with the
/// texts in their own interner.
fn load_attributes(path: &Path, by_cid: &CidIndex, n: usize) -> Result<(AttrColumns, Interner)> {
    let conn = read_conn(path)?;
    let names = crate::store::attributes::names(&conn)?;
    let mut num = vec![vec![f64::NAN; n]; names.len()];
    let mut txt: Vec<Vec<u32>> = vec![Vec::new(); names.len()];
    let mut strings = Interner::default();
    crate::store::attributes::scan(&conn, |cid, j, v| {
        let Some(i) = by_cid.get(cid) else {
            return Ok(());
        };
        match v {
            rusqlite::types::ValueRef::Real(x) => num[j][i] = x,
            rusqlite::types::ValueRef::Integer(x) => num[j][i] = x as f64,
            rusqlite::types::ValueRef::Text(t) => {
                if txt[j].is_empty() {
                    txt[j] = vec![NO_TEXT; n];
                }
                txt[j][i] = strings.id(&String::from_utf8_lossy(t));
            }
            _ => {}
        }
        Ok(())
    })?;
    Ok((AttrColumns { names, num, txt }, strings))
}

fn scan_orders(
    path: &Path,
    by_cid: &CidIndex,
    n: usize,
    cutoffs: &[i64],
    label_ends: &[i64],
    ctl: Ctl,
) -> Result<Vec<OrderAcc>> {
    let conn = read_conn(path)?;
    let nc = cutoffs.len();
    if !crate::store::has_orders(&conn)? {
        return Ok(Vec::new());
    }
    let mut acc = vec![OrderAcc::default(); n * nc];
    let max_end = label_ends
        .iter()
        .chain(cutoffs)
        .copied()
        .max()
        .unwrap_or(i64::MAX);
    let mut st =
        conn.prepare("SELECT cid, ts, amount FROM orders WHERE ts < ?1 ORDER BY cid, ts")?;
    let mut rows = st.query([max_end])?;
    let mut k = 0u64;
    while let Some(r) = rows.next()? {
        k += 1;
        if k.is_multiple_of(1 << 20) {
            ctl.check()?;
        }
        let cid: i64 = r.get(0)?;
        let ts: i64 = r.get(1)?;
        let amount: f64 = r.get(2)?;
        let Some(i) = by_cid.get(cid) else { continue };
        for c in 0..nc {
            let t = cutoffs[c];
            let a = &mut acc[i * nc + c];
            if ts >= t {
                if ts < label_ends[c] {
                    a.n_after += 1;
                }
                continue;
            }
            if a.n_all == 0 {
                a.first = ts;
            }
            a.n_all += 1;
            a.spend_all += amount;
            a.last = ts;
            let age = t - ts;
            if age <= 90 * DAY {
                a.n_90 += 1;
                a.spend_90 += amount;
            } else if age <= 180 * DAY {
                a.n_prev_90 += 1;
            }
            if age <= 365 * DAY {
                a.n_365 += 1;
                a.spend_365 += amount;
            }
        }
    }
    Ok(acc)
}

fn scan_events(
    path: &Path,
    by_cid: &CidIndex,
    n: usize,
    cutoffs: &[i64],
    min_cut: i64,
    ctl: Ctl,
) -> Result<(Vec<f32>, Vec<String>)> {
    let conn = read_conn(path)?;
    let nc = cutoffs.len();
    let max_cut = cutoffs.iter().copied().max().unwrap_or(i64::MAX);
    let from = min_cut - 90 * DAY;
    // The most frequent kinds in the 90 days before the earliest cutoff (the
    // training cutoff): which kinds become features is itself decided
    // without looking past it.
    let kinds: Vec<String> = {
        let mut st = conn.prepare(
            "SELECT kind FROM events WHERE ts >= ?1 AND ts < ?2 GROUP BY kind ORDER BY count(*) DESC, kind LIMIT ?3",
        )?;
        let rows = st.query_map(
            rusqlite::params![from, min_cut, MAX_EVENT_KINDS as i64],
            |r| r.get(0),
        )?;
        rows.collect::<rusqlite::Result<_>>()?
    };
    ctl.check()?;
    if kinds.is_empty() {
        return Ok((Vec::new(), kinds));
    }
    let mut acc = vec![0f32; n * nc * MAX_EVENT_KINDS];
    if kinds.is_empty() {
        return Ok((acc, kinds));
    }
    let index: HashMap<&str, usize> = kinds
        .iter()
        .enumerate()
        .map(|(i, k)| (k.as_str(), i))
        .collect();
    let mut st =
        conn.prepare("SELECT cid, ts, kind, value FROM events WHERE ts >= ?1 AND ts < ?2")?;
    let mut rows = st.query([from, max_cut])?;
    let mut k = 0u64;
    while let Some(r) = rows.next()? {
        k += 1;
        if k.is_multiple_of(1 << 20) {
            ctl.check()?;
        }
        let cid: i64 = r.get(0)?;
        let ts: i64 = r.get(1)?;
        let kind = match r.get_ref(2)? {
            rusqlite::types::ValueRef::Text(t) => std::str::from_utf8(t).unwrap_or(""),
            _ => "",
        };
        let Some(&ki) = index.get(kind) else { continue };
        let value: f64 = r.get(3)?;
        let Some(i) = by_cid.get(cid) else { continue };
        for (c, &t) in cutoffs.iter().enumerate() {
            if ts < t && t - ts <= 90 * DAY {
                acc[(i * nc + c) * MAX_EVENT_KINDS + ki] += value as f32;
            }
        }
    }
    Ok((acc, kinds))
}

fn scan_feedback(
    path: &Path,
    by_cid: &CidIndex,
    n: usize,
    cutoffs: &[i64],
    _min_cut: i64,
    ctl: Ctl,
) -> Result<Vec<FeedbackAcc>> {
    let conn = read_conn(path)?;
    let nc = cutoffs.len();
    let max_cut = cutoffs.iter().copied().max().unwrap_or(i64::MAX);
    if !crate::store::has_feedback(&conn)? {
        return Ok(Vec::new());
    }
    let mut acc = vec![FeedbackAcc::default(); n * nc];
    let mut st = conn.prepare(
        "SELECT cid, created_at, kind, score, sentiment FROM feedback WHERE created_at < ?1",
    )?;
    let mut rows = st.query([max_cut])?;
    let mut k = 0u64;
    while let Some(r) = rows.next()? {
        k += 1;
        if k.is_multiple_of(1 << 20) {
            ctl.check()?;
        }
        let cid: i64 = r.get(0)?;
        let ts: i64 = r.get(1)?;
        let kind = match r.get_ref(2)? {
            rusqlite::types::ValueRef::Text(t) => t,
            _ => b"",
        };
        let complaint = kind == b"complaint";
        // Scores on one scale: NPS 0-10 -> 0..1, CSAT 1-5 -> 0..1.
        let score: Option<f64> = r.get::<_, Option<f64>>(3)?.and_then(|s| match kind {
            b"nps" => Some(s / 10.0),
            b"csat" => Some((s - 1.0) / 4.0),
            _ => None,
        });
        let sentiment: Option<f64> = r.get(4)?;
        let Some(i) = by_cid.get(cid) else { continue };
        for (c, &t) in cutoffs.iter().enumerate() {
            if ts >= t {
                continue;
            }
            let a = &mut acc[i * nc + c];
            a.last = a.last.max(ts);
            if t - ts <= 365 * DAY {
                a.n_365 += 1;
                if complaint {
                    a.complaints_365 += 1;
                }
                if let Some(s) = score {
                    a.score_sum += s;
                    a.score_n += 1;
                }
                if let Some(s) = sentiment {
                    a.sentiment_sum += s;
                    a.sentiment_n += 1;
                }
            }
        }
    }
    Ok(acc)
}
