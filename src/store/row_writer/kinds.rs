//! Each kind's own insert-or-update: customers, feedback, and the
//! existing-key paths of orders and events (their inserts are batched).

use super::*;

/// A customer's twelve fields, in the order every customers statement
/// binds them after the key.
pub(super) fn customer_fields(c: &CustomerRow) -> [&dyn rusqlite::ToSql; 12] {
    [
        &c.name,
        &c.email,
        &c.phone,
        &c.signup,
        &c.birth,
        &c.age,
        &c.income,
        &c.region,
        &c.plan,
        &c.segment,
        &c.churned,
        &c.cancelled,
    ]
}

impl<'c> RowWriter<'c> {
    pub(super) fn customer(&mut self, c: CustomerRow) -> W<Verdict> {
        // Both statements take the key first (the external id to insert,
        // the customer to update), then the same twelve fields.
        let fields = customer_fields(&c);
        fn with_key<'a>(
            key: &'a dyn rusqlite::ToSql,
            fields: &'a [&'a dyn rusqlite::ToSql; 12],
        ) -> impl rusqlite::Params + 'a {
            rusqlite::params_from_iter(std::iter::once(key).chain(fields.iter().copied()))
        }
        let (cid, mut verdict) = if self.ins.execute(with_key(&c.id, &fields))? == 1 {
            // (Rows a batched insert reads back come after this one.)
            self.max_rowid = self.conn.last_insert_rowid();
            (self.max_rowid, Verdict::Inserted)
        } else {
            type Old = (
                i64,
                Option<String>,
                Option<String>,
                Option<String>,
                Option<String>,
                Option<String>,
                Option<i64>,
                Option<f64>,
                Option<String>,
                Option<String>,
                Option<String>,
                Option<i64>,
                Option<String>,
            );
            let old: Old = self.sel.query_row([&c.id], |r| r.try_into())?;
            if self.seen_before(old.0) {
                return Err(self.duplicate());
            }
            // An empty cell never erases a stored value.
            fn differs<T: PartialEq>(new: &Option<T>, old: &Option<T>) -> bool {
                new.is_some() && new != old
            }
            let changed = differs(&c.name, &old.1)
                || differs(&c.email, &old.2)
                || differs(&c.phone, &old.3)
                || differs(&c.signup, &old.4)
                || differs(&c.birth, &old.5)
                || differs(&c.age, &old.6)
                || differs(&c.income, &old.7)
                || differs(&c.region, &old.8)
                || differs(&c.plan, &old.9)
                || differs(&c.segment, &old.10)
                || differs(&c.churned, &old.11)
                || differs(&c.cancelled, &old.12);
            if changed {
                self.upd.execute(with_key(&old.0, &fields))?;
                (old.0, Verdict::Updated)
            } else {
                (old.0, Verdict::Unchanged)
            }
        };
        if !c.attributes.is_empty() {
            self.attribute_columns(&c.attr_names)?;
            let Some((_, cols)) = self.attr_cols.as_ref() else {
                return Ok(verdict);
            };
            let values: Vec<(&crate::store::attributes::Column, rusqlite::types::Value)> = c
                .attributes
                .iter()
                .filter_map(|(k, num, txt)| {
                    cols.get(*k as usize)
                        .map(|col| (col, crate::store::attributes::value(*num, txt.as_deref())))
                })
                .collect();
            if crate::store::attributes::upsert(self.conn, cid, &values)?
                && verdict == Verdict::Unchanged
            {
                verdict = Verdict::Updated;
            }
        }
        Ok(verdict)
    }

    pub(super) fn order_existing(&mut self, o: OrderRow) -> W<Verdict> {
        let cid = o.cid;
        let old: (i64, i64, i64, f64, i64, Option<String>, Option<String>) =
            self.sel.query_row([&o.key], |r| r.try_into())?;
        if self.seen_before(old.0) {
            return Err(self.duplicate());
        }
        // An empty cell never erases a stored value.
        let quantity = if o.quantity_given { o.quantity } else { old.4 };
        let product = o.product.or(old.5.clone());
        let category = o.category.or(old.6.clone());
        if (old.1, old.2, old.3, old.4, &old.5, &old.6)
            == (cid, o.ts, o.amount, quantity, &product, &category)
        {
            return Ok(Verdict::Unchanged);
        }
        self.upd.execute(params![
            old.0, cid, o.ts, o.amount, quantity, product, category
        ])?;
        self.month_delta(old.2, -old.3, -1);
        self.month_delta(o.ts, o.amount, 1);
        self.recompute.insert(old.1);
        self.recompute.insert(cid);
        self.changed.extend([old.1, cid]);
        Ok(Verdict::Updated)
    }

    pub(super) fn feedback(&mut self, f: FeedbackRow) -> W<Verdict> {
        let cid = f.cid;
        if f.new_customer {
            self.unborn.insert(cid, f.customer.clone());
        }
        self.create_customer(cid, &f.id)?;
        if self.ins.execute(params![
            f.id,
            cid,
            f.created,
            f.channel,
            f.kind,
            f.score,
            f.text,
            f.sentiment,
            f.status,
            f.assignee
        ])? == 1
        {
            self.touched_fids.push(self.conn.last_insert_rowid());
            return Ok(Verdict::Inserted);
        }
        let old: (
            i64,
            i64,
            i64,
            Option<String>,
            String,
            Option<f64>,
            Option<String>,
        ) = self.sel.query_row([&f.id], |r| r.try_into())?;
        if self.seen_before(old.0) {
            return Err(self.duplicate());
        }
        // An empty cell never erases a stored value (a kept text keeps its
        // sentiment: the statement leaves both).
        let channel = f.channel.or(old.3.clone());
        let score = f.score.or(old.5);
        if (old.1, old.2, &old.3, old.4.as_str(), old.5)
            == (cid, f.created, &channel, f.kind, score)
            && (f.text.is_none() || f.text == old.6)
        {
            return Ok(Verdict::Unchanged);
        }
        // Content changed; the workflow state (status, assignee) is the agents', not the file's.
        self.upd.execute(params![
            old.0,
            cid,
            f.created,
            channel,
            f.kind,
            score,
            f.text,
            f.sentiment
        ])?;
        self.touched_fids.push(old.0);
        self.changed.extend([old.1, cid]);
        Ok(Verdict::Updated)
    }

    pub(super) fn event_existing(&mut self, e: EventRow) -> W<Verdict> {
        let cid = e.cid;
        let old: (i64, i64, i64, String, f64) = self.sel.query_row([&e.key], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })?;
        if self.seen_before(old.0) {
            return Err(self.duplicate());
        }
        // An empty cell never erases a stored value.
        let value = if e.value_given { e.value } else { old.4 };
        if (old.1, old.2, old.3.as_str(), old.4) == (cid, e.ts, e.kind.as_str(), value) {
            return Ok(Verdict::Unchanged);
        }
        self.upd.execute(params![old.0, cid, e.ts, e.kind, value])?;
        self.changed.extend([old.1, cid]);
        Ok(Verdict::Updated)
    }
}
