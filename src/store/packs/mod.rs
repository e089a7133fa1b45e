//! Each customer's daily sums packed into one BLOB (schema 0015): the form
//! training reads, one row a customer instead of about fifteen. The daily
//! sums stay the truth; a pack is a copy that may lag behind them (the
//! customer is then marked in `history_stale` and read from the rows),
//! never a wrong one. Bulk loads and `doctor --fix` pack (`refresh`);
//! `doctor` compares (`faults`); training reads (`PackReader`).

mod codec;
mod merge;

pub use codec::{decode, encode, CustomerDays, EventDay};
pub use merge::OrderDaysMerge;

use super::history::{read_conn, FeedbackDay, OrderDay};
use crate::error::{Error, Result};
use crate::jobs::Ctl;
use rusqlite::types::{Value, ValueRef};
use rusqlite::{params, Connection};
use std::collections::HashMap;

/// Customers between two checks for a cancel.
const CHECK_EVERY: u64 = 1 << 16;

/// Event kinds by number, as `history_kinds` holds them, plus any met
/// since (numbered after them).
#[derive(Default)]
struct Kinds {
    names: Vec<String>,
    ids: HashMap<String, u32>,
    saved: usize,
}

impl Kinds {
    fn load(conn: &Connection) -> Result<Kinds> {
        let mut k = Kinds::default();
        let mut st = conn.prepare("SELECT id, kind FROM history_kinds ORDER BY id")?;
        let mut rows = st.query([])?;
        while let Some(r) = rows.next()? {
            let id: i64 = r.get(0)?;
            if id != k.names.len() as i64 {
                return Err(Error::Other(
                    "history_kinds is damaged (its numbers have a gap); `crmtop doctor --fix` numbers them again"
                        .into(),
                ));
            }
            k.id(&r.get::<_, String>(1)?);
        }
        k.saved = k.names.len();
        Ok(k)
    }

    fn id(&mut self, kind: &str) -> u32 {
        if let Some(&i) = self.ids.get(kind) {
            return i;
        }
        let i = self.names.len() as u32;
        self.names.push(kind.to_string());
        self.ids.insert(kind.to_string(), i);
        i
    }

    /// Write the kinds met since loading.
    fn save(&mut self, conn: &Connection) -> Result<()> {
        let mut st = conn.prepare("INSERT INTO history_kinds(id, kind) VALUES (?1, ?2)")?;
        for (i, name) in self.names.iter().enumerate().skip(self.saved) {
            st.execute(params![i as i64, name])?;
        }
        self.saved = self.names.len();
        Ok(())
    }

    /// The kinds by number.
    fn names(&self) -> &[String] {
        &self.names
    }
}

/// Whose days a read covers: everyone, or the customers marked stale; in
/// both cases only customers `lo..=hi` (`?1`, `?2`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    All,
    Stale,
}

impl Scope {
    fn filter(self) -> &'static str {
        match self {
            Scope::All => "cid BETWEEN ?1 AND ?2",
            Scope::Stale => "cid IN (SELECT cid FROM history_stale) AND cid BETWEEN ?1 AND ?2",
        }
    }
}

fn opt<T>(r: Option<rusqlite::Result<T>>) -> Result<Option<T>> {
    Ok(r.transpose()?)
}

/// Every customer's daily sums in `scope` and `lo..=hi`, gathered from the
/// three tables (each read in key order, merged by customer), ascending by
/// customer; customers without any are skipped.
fn days_of(
    conn: &Connection,
    scope: Scope,
    (lo, hi): (i64, i64),
    kinds: &mut Kinds,
    ctl: Ctl,
    mut each: impl FnMut(&CustomerDays) -> Result<()>,
) -> Result<()> {
    let f = scope.filter();
    // sql-format-ok: the filter is one of Scope's constants; the range is bound.
    let mut os = conn.prepare(&format!(
        "SELECT {} FROM order_days WHERE {f} ORDER BY cid, day",
        OrderDay::COLUMNS
    ))?;
    // sql-format-ok: as above.
    let mut es = conn.prepare(&format!(
        "SELECT cid, day, kind, n, value FROM event_days WHERE {f} ORDER BY cid, day, kind"
    ))?;
    // sql-format-ok: as above.
    let mut fs = conn.prepare(&format!(
        "SELECT {} FROM feedback_days WHERE {f} ORDER BY cid, day",
        FeedbackDay::COLUMNS
    ))?;
    let mut orows = os.query(params![lo, hi])?;
    let mut erows = es.query(params![lo, hi])?;
    let mut frows = fs.query(params![lo, hi])?;
    let order = OrderDay::from_row;
    let feedback = FeedbackDay::from_row;
    let mut event = |r: &rusqlite::Row| -> rusqlite::Result<(i64, EventDay)> {
        let kind = match r.get_ref(2)? {
            ValueRef::Text(t) => kinds.id(&String::from_utf8_lossy(t)),
            _ => kinds.id(""),
        };
        Ok((
            r.get(0)?,
            EventDay {
                day: r.get(1)?,
                kind,
                n: r.get(3)?,
                value: r.get(4)?,
            },
        ))
    };
    let mut o = opt(orows.next()?.map(order))?;
    let mut e = opt(erows.next()?.map(&mut event))?;
    let mut fb = opt(frows.next()?.map(feedback))?;
    let mut h = CustomerDays::default();
    let mut k = 0u64;
    loop {
        let next = [
            o.as_ref().map(|x| x.cid),
            e.as_ref().map(|x| x.0),
            fb.as_ref().map(|x| x.cid),
        ];
        let Some(cid) = next.into_iter().flatten().min() else {
            break;
        };
        h.clear(cid);
        while let Some(x) = o.take_if(|x| x.cid == cid) {
            h.orders.push(x);
            o = opt(orows.next()?.map(order))?;
        }
        while let Some((_, x)) = e.take_if(|x| x.0 == cid) {
            h.events.push(x);
            e = opt(erows.next()?.map(&mut event))?;
        }
        while let Some(x) = fb.take_if(|x| x.cid == cid) {
            h.feedback.push(x);
            fb = opt(frows.next()?.map(feedback))?;
        }
        k += 1;
        if k.is_multiple_of(CHECK_EVERY) {
            ctl.check()?;
        }
        each(&h)?;
    }
    Ok(())
}

/// Pack the customers in `scope` again from their daily sums (inside the
/// caller's transaction) and clear the stale marks: everyone (the
/// migration, `doctor --fix`, a load that is a good part of its table) or
/// the customers marked stale (other loads). Returns the customers packed.
pub fn refresh(conn: &Connection, scope: Scope, ctl: Ctl) -> Result<u64> {
    let mut kinds = match scope {
        Scope::All => {
            conn.execute_batch("DELETE FROM history_packs; DELETE FROM history_kinds;")?;
            Kinds::default()
        }
        Scope::Stale => {
            conn.execute_batch(
                "DELETE FROM history_packs WHERE cid IN (SELECT cid FROM history_stale)",
            )?;
            Kinds::load(conn)?
        }
    };
    let mut insert = super::BatchInsert::new(conn, "INSERT INTO history_packs(cid, pack)", 2)?;
    let mut bytes = Vec::new();
    let mut packed = 0u64;
    days_of(conn, scope, (i64::MIN, i64::MAX), &mut kinds, ctl, |h| {
        encode(h, &mut bytes);
        packed += 1;
        insert.push([Value::Integer(h.cid), Value::Blob(bytes.clone())])
    })?;
    insert.finish()?;
    kinds.save(conn)?;
    conn.execute_batch("DELETE FROM history_stale")?;
    Ok(packed)
}

/// Customers whose pack differs from their daily sums (missing, extra or
/// other), not counting those marked stale (read from their rows).
pub fn faults(conn: &Connection) -> Result<i64> {
    let stale: std::collections::HashSet<i64> = {
        let mut st = conn.prepare("SELECT cid FROM history_stale")?;
        let rows = st.query_map([], |r| r.get(0))?;
        rows.collect::<rusqlite::Result<_>>()?
    };
    let mut kinds = match Kinds::load(conn) {
        Ok(k) => k,
        // Damaged numbering: every pack with an event is suspect.
        Err(_) => {
            return Ok(conn.query_row("SELECT count(*) FROM history_packs", [], |r| r.get(0))?)
        }
    };
    let mut st = conn.prepare("SELECT cid, pack FROM history_packs ORDER BY cid")?;
    let mut packs = st.query([])?;
    let next = |packs: &mut rusqlite::Rows| -> Result<Option<(i64, Vec<u8>)>> {
        Ok(match packs.next()? {
            Some(r) => Some((r.get(0)?, r.get(1)?)),
            None => None,
        })
    };
    let mut pack = next(&mut packs)?;
    let mut bad = 0i64;
    let mut bytes = Vec::new();
    days_of(
        conn,
        Scope::All,
        (i64::MIN, i64::MAX),
        &mut kinds,
        Ctl::silent(),
        |h| {
            // Packs of customers without daily sums.
            while let Some((cid, _)) = pack.as_ref().filter(|p| p.0 < h.cid) {
                if !stale.contains(cid) {
                    bad += 1;
                }
                pack = next(&mut packs)?;
            }
            let stored = pack.take_if(|p| p.0 == h.cid);
            if stored.is_some() {
                pack = next(&mut packs)?;
            }
            if stale.contains(&h.cid) {
                return Ok(());
            }
            encode(h, &mut bytes);
            if stored.map(|p| p.1).as_deref() != Some(bytes.as_slice()) {
                bad += 1;
            }
            Ok(())
        },
    )?;
    while let Some((cid, _)) = &pack {
        if !stale.contains(cid) {
            bad += 1;
        }
        pack = next(&mut packs)?;
    }
    Ok(bad)
}

/// Set the stale marks' triggers aside for a bulk load (inside its
/// transaction), which packs or marks what it touches itself; returns them
/// for `resume_marks` before its commit.
pub fn pause_marks(conn: &Connection) -> Result<Vec<String>> {
    super::drop_triggers(conn, "history_stale_")
}

/// Put back the triggers `pause_marks` set aside.
pub fn resume_marks(conn: &Connection, triggers: &[String]) -> Result<()> {
    super::create_triggers(conn, triggers)
}

/// Customers marked stale (read from their rows until packed again).
pub fn stale_count(conn: &Connection) -> Result<i64> {
    Ok(conn.query_row("SELECT count(*) FROM history_stale", [], |r| r.get(0))?)
}

/// Reads every customer's days in one read transaction of its own: the
/// packs, and the rows of the customers marked stale.
pub struct PackReader {
    conn: Connection,
    kinds: Kinds,
}

impl PackReader {
    /// A reader of the file at `path`; its view is fixed from here on.
    pub fn open(path: &std::path::Path) -> Result<PackReader> {
        let conn = read_conn(path)?;
        conn.execute_batch("BEGIN")?;
        let mut kinds = Kinds::load(&conn)?;
        // The stale customers' kinds are numbered now, before any scan, so
        // that `kinds` names every number a scan gives.
        {
            let mut st = conn.prepare(
                "SELECT DISTINCT kind FROM event_days WHERE cid IN (SELECT cid FROM history_stale)",
            )?;
            let mut rows = st.query([])?;
            while let Some(r) = rows.next()? {
                match r.get_ref(0)? {
                    ValueRef::Text(t) => kinds.id(&String::from_utf8_lossy(t)),
                    _ => kinds.id(""),
                };
            }
        }
        Ok(PackReader { conn, kinds })
    }

    /// Event kinds by the numbers that `EventDay::kind` holds.
    pub fn kinds(&self) -> &[String] {
        self.kinds.names()
    }

    /// Every customer in `lo..=hi` with daily sums, packed customers in
    /// ascending order and then the stale ones.
    pub fn scan(
        &mut self,
        (lo, hi): (i64, i64),
        ctl: Ctl,
        mut each: impl FnMut(&CustomerDays),
    ) -> Result<()> {
        let mut h = CustomerDays::default();
        {
            let mut st = self.conn.prepare(
                "SELECT cid, pack FROM history_packs
                  WHERE cid BETWEEN ?1 AND ?2 AND cid NOT IN (SELECT cid FROM history_stale)",
            )?;
            let mut rows = st.query(params![lo, hi])?;
            let mut k = 0u64;
            while let Some(r) = rows.next()? {
                let cid: i64 = r.get(0)?;
                let pack = match r.get_ref(1)? {
                    ValueRef::Blob(b) => b,
                    _ => &[],
                };
                decode(cid, pack, &mut h)?;
                each(&h);
                k += 1;
                if k.is_multiple_of(CHECK_EVERY) {
                    ctl.check()?;
                }
            }
        }
        let kinds_before = self.kinds.names.len();
        days_of(
            &self.conn,
            Scope::Stale,
            (lo, hi),
            &mut self.kinds,
            ctl,
            |h| {
                each(h);
                Ok(())
            },
        )?;
        debug_assert_eq!(kinds_before, self.kinds.names.len());
        Ok(())
    }
}

/// The migration's step: pack everyone.
pub fn migrate(conn: &Connection) -> Result<()> {
    refresh(conn, Scope::All, Ctl::silent()).map(|_| ())
}
