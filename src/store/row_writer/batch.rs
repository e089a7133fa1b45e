//! The batched path every kind but feedback takes: rows wait in `pending`
//! and are inserted `MANY` per statement at the end of each batch; a row
//! whose key exists takes its kind's row-by-row path (`kinds.rs`).

use super::*;

/// Rows per insert statement (orders, events, customers).
pub(super) const MANY: usize = 64;

/// The values of a row's insert, in column order, bound from the row
/// itself (no copies: SQLite copies what it keeps).
fn insert_values<'r>(row: &'r Parsed, out: &mut Vec<&'r dyn rusqlite::ToSql>) {
    match row {
        Parsed::Order(o) => out.extend([
            &o.key as &dyn rusqlite::ToSql,
            &o.cid,
            &o.ts,
            &o.amount,
            &o.quantity,
            &o.product,
            &o.category,
        ]),
        Parsed::Event(e) => out.extend([
            &e.key as &dyn rusqlite::ToSql,
            &e.cid,
            &e.ts,
            &e.kind,
            &e.value,
        ]),
        Parsed::Customer(c) => {
            out.push(&c.id);
            out.extend(super::kinds::customer_fields(c));
            // `since`: the signup day's time.
            out.push(&c.signup);
        }
        Parsed::Feedback(_) => {}
    }
}

/// The customer an order's or event's row names.
fn row_cid(row: &Parsed) -> Option<i64> {
    match row {
        Parsed::Order(o) => Some(o.cid),
        Parsed::Event(e) => Some(e.cid),
        Parsed::Customer(_) | Parsed::Feedback(_) => None,
    }
}

fn row_key(row: &Parsed) -> &str {
    match row {
        Parsed::Order(o) => &o.key,
        Parsed::Event(e) => &e.key,
        Parsed::Customer(c) => &c.id,
        Parsed::Feedback(f) => &f.id,
    }
}

impl<'c> RowWriter<'c> {
    /// Write one row: its verdict, or None when it waits in `pending` (orders
    /// and events) for the next `flush`, which reports it under `slot`.
    pub fn write(&mut self, slot: usize, row: Parsed) -> W<Option<Verdict>> {
        match row {
            Parsed::Customer(c) => {
                self.pending.push((slot, Parsed::Customer(c)));
                Ok(None)
            }
            Parsed::Feedback(f) => self.feedback(*f).map(Some),
            Parsed::Order(o) => {
                if o.new_customer {
                    self.unborn.insert(o.cid, o.customer.clone());
                }
                self.pending.push((slot, Parsed::Order(o)));
                Ok(None)
            }
            Parsed::Event(e) => {
                if e.new_customer {
                    self.unborn.insert(e.cid, e.customer.clone());
                }
                self.pending.push((slot, Parsed::Event(e)));
                Ok(None)
            }
        }
    }

    /// Insert the pending rows, `MANY` per statement, and report each one's
    /// verdict in the order they were written. A statement that inserts
    /// fewer rows than it holds met existing keys: the rows it inserted are
    /// read back (their rowids follow the largest before it, in order), and
    /// each of the others takes the row-by-row path (unchanged, updated or
    /// a duplicate), exactly as if it had been written alone.
    pub fn flush(&mut self) -> Result<Vec<SlotVerdict>> {
        let mut out = Vec::with_capacity(self.pending.len());
        let pending = std::mem::take(&mut self.pending);
        let mut rows = pending.into_iter().peekable();
        while rows.peek().is_some() {
            let chunk: Vec<(usize, Parsed)> = rows.by_ref().take(MANY).collect();
            if chunk.len() < MANY {
                for (slot, row) in chunk {
                    let cid = row_cid(&row);
                    let v = self.one(row)?;
                    self.settle(cid, &v)?;
                    out.push((slot, v));
                }
                continue;
            }
            let Some(many) = self.many.as_mut() else {
                return Err(Error::Other("batched insert without a statement".into()));
            };
            let n = {
                let mut values: Vec<&dyn rusqlite::ToSql> = Vec::with_capacity(MANY * 14);
                for (_, row) in &chunk {
                    insert_values(row, &mut values);
                }
                many.execute(values.as_slice())?
            };
            let before = self.max_rowid;
            if n > 0 {
                self.max_rowid = self.conn.last_insert_rowid();
            }
            if n == MANY && self.max_rowid == before + MANY as i64 {
                for (k, (slot, row)) in chunk.into_iter().enumerate() {
                    self.inserted(&row, before + 1 + k as i64)?;
                    self.settle(row_cid(&row), &Ok(Verdict::Inserted))?;
                    out.push((slot, Ok(Verdict::Inserted)));
                }
                continue;
            }
            let keys: Vec<(String, i64)> = match self.inserted_after.as_mut() {
                Some(st) => st
                    .query_map([before], |r| Ok((r.get(0)?, r.get(1)?)))?
                    .collect::<rusqlite::Result<_>>()?,
                None => Vec::new(),
            };
            let mut keys = keys.into_iter().peekable();
            for (slot, row) in chunk {
                if keys.peek().map(|(k, _)| k.as_str()) == Some(row_key(&row)) {
                    let rowid = keys.next().map_or(0, |(_, r)| r);
                    self.inserted(&row, rowid)?;
                    self.settle(row_cid(&row), &Ok(Verdict::Inserted))?;
                    out.push((slot, Ok(Verdict::Inserted)));
                } else {
                    let cid = row_cid(&row);
                    let v = self.existing(row)?;
                    self.settle(cid, &v)?;
                    out.push((slot, v));
                }
            }
        }
        Ok(out)
    }

    /// One pending row on its own: insert, or the existing-key path.
    /// A row written (inserted or updated) brings the new customer it
    /// names into being; one rejected (a duplicate) does not.
    fn settle(&mut self, cid: Option<i64>, v: &std::result::Result<Verdict, Reject>) -> Result<()> {
        if let (Some(cid), Ok(Verdict::Inserted | Verdict::Updated)) = (cid, v) {
            if let Some(id) = self.unborn.remove(cid) {
                self.queue_customer(cid, &id)?;
            }
        }
        Ok(())
    }

    fn one(&mut self, row: Parsed) -> Result<std::result::Result<Verdict, Reject>> {
        if let Parsed::Customer(_) = row {
            return self.existing(row);
        }
        let n = match &row {
            Parsed::Order(o) => self.ins.execute(params![
                o.key, o.cid, o.ts, o.amount, o.quantity, o.product, o.category
            ])?,
            Parsed::Event(e) => self
                .ins
                .execute(params![e.key, e.cid, e.ts, e.kind, e.value])?,
            _ => 0,
        };
        if n == 1 {
            self.max_rowid = self.conn.last_insert_rowid();
            self.inserted(&row, self.max_rowid)?;
            return Ok(Ok(Verdict::Inserted));
        }
        self.existing(row)
    }

    /// A row a batched insert wrote, as `rowid`.
    fn inserted(&mut self, row: &Parsed, rowid: i64) -> Result<()> {
        match row {
            Parsed::Order(o) => self.order_added(o.cid, o.ts, o.amount),
            Parsed::Customer(c) => self.new_customer_attributes(c, rowid)?,
            _ => {}
        }
        Ok(())
    }

    /// A row whose key the table already has: unchanged, updated, or a
    /// duplicate of an earlier row of the file.
    fn existing(&mut self, row: Parsed) -> Result<std::result::Result<Verdict, Reject>> {
        let r = match row {
            // A customer on its own: the whole insert-or-update.
            Parsed::Customer(c) => self.customer(*c),
            Parsed::Order(o) => self.order_existing(o),
            Parsed::Event(e) => self.event_existing(e),
            Parsed::Feedback(_) => return Err(Error::Other("feedback is not batched".into())),
        };
        match r {
            Ok(v) => Ok(Ok(v)),
            Err(WriteError::Reject(r)) => Ok(Err(r)),
            Err(WriteError::Fatal(e)) => Err(e),
        }
    }
}
