//! A load's new order days merged into the packs as it streams them.

use super::{decode, encode, CustomerDays};
use crate::error::Result;
use crate::store::history::OrderDay;
use rusqlite::types::Value;
use rusqlite::Connection;

/// Packs brought up to date with the order days a load adds, customer by
/// customer, exactly as the `order_days` upsert adds them (a day already
/// there: counts and sums added, first and last widened), without reading
/// the days back. Customers marked stale, or whose pack cannot be read, are
/// left marked for `refresh(Scope::Stale)`.
pub struct OrderDaysMerge<'c> {
    stale: rustc_hash::FxHashSet<i64>,
    /// None when there were no packs to merge with (a first load).
    get: Option<rusqlite::Statement<'c>>,
    put: crate::store::BatchInsert<'c>,
    mark: rusqlite::Statement<'c>,
    cid: Option<i64>,
    new: Vec<OrderDay>,
    days: CustomerDays,
    merged: Vec<OrderDay>,
    bytes: Vec<u8>,
}

impl<'c> OrderDaysMerge<'c> {
    pub fn new(conn: &'c Connection) -> Result<Self> {
        let stale = {
            let mut st = conn.prepare("SELECT cid FROM history_stale")?;
            let rows = st.query_map([], |r| r.get(0))?;
            rows.collect::<rusqlite::Result<_>>()?
        };
        let any: bool = conn.query_row("SELECT EXISTS (SELECT 1 FROM history_packs)", [], |r| {
            r.get(0)
        })?;
        let get = match any {
            true => Some(conn.prepare("SELECT pack FROM history_packs WHERE cid = ?1")?),
            false => None,
        };
        Ok(OrderDaysMerge {
            stale,
            get,
            put: crate::store::BatchInsert::new(
                conn,
                "INSERT OR REPLACE INTO history_packs(cid, pack)",
                2,
            )?,
            mark: conn.prepare("INSERT OR IGNORE INTO history_stale(cid) VALUES (?1)")?,
            cid: None,
            new: Vec::new(),
            days: CustomerDays::default(),
            merged: Vec::new(),
            bytes: Vec::new(),
        })
    }

    /// The load's next order day; days come by customer, then day.
    pub fn day(&mut self, d: OrderDay) -> Result<()> {
        if self.cid != Some(d.cid) {
            self.customer_done()?;
            self.cid = Some(d.cid);
        }
        self.new.push(d);
        Ok(())
    }

    fn customer_done(&mut self) -> Result<()> {
        let Some(cid) = self.cid.take() else {
            return Ok(());
        };
        if self.stale.contains(&cid) {
            self.new.clear();
            return Ok(());
        }
        let old: Option<Vec<u8>> = match self.get.as_mut() {
            Some(get) => {
                let mut rows = get.query([cid])?;
                match rows.next()? {
                    Some(r) => Some(r.get(0)?),
                    None => None,
                }
            }
            None => None,
        };
        match old {
            Some(pack) => {
                if decode(cid, &pack, &mut self.days).is_err() {
                    self.mark.execute([cid])?;
                    self.new.clear();
                    return Ok(());
                }
            }
            None => self.days.clear(cid),
        }
        self.merged.clear();
        let (old, new) = (&self.days.orders, &self.new);
        let (mut i, mut j) = (0, 0);
        while i < old.len() || j < new.len() {
            match (old.get(i), new.get(j)) {
                (Some(a), Some(b)) if a.day == b.day => {
                    self.merged.push(OrderDay {
                        n: a.n + b.n,
                        spend: a.spend + b.spend,
                        first: a.first.min(b.first),
                        last: a.last.max(b.last),
                        ..a.clone()
                    });
                    i += 1;
                    j += 1;
                }
                (Some(a), Some(b)) if a.day < b.day => {
                    self.merged.push(a.clone());
                    i += 1;
                }
                (Some(a), None) => {
                    self.merged.push(a.clone());
                    i += 1;
                }
                (_, Some(b)) => {
                    self.merged.push(b.clone());
                    j += 1;
                }
                (None, None) => break,
            }
        }
        std::mem::swap(&mut self.days.orders, &mut self.merged);
        self.new.clear();
        encode(&self.days, &mut self.bytes);
        self.put
            .push([Value::Integer(cid), Value::Blob(self.bytes.clone())])
    }

    pub fn finish(mut self) -> Result<()> {
        self.customer_done()?;
        self.put.finish()
    }
}
