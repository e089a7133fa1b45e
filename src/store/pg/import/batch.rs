//! One batch of an import: its customers resolved (`customers.rs`), its
//! keys looked up, each row's verdict decided (inserted, updated,
//! unchanged, duplicate), and its new rows sent with COPY.

use super::{attrs, since_of, Old, PgRowWriter};
use crate::error::{Error, Result};
use crate::ingest::parse::{CustomerRow, Parsed, Reject};
use crate::ingest::Kind;
use crate::store::row_writer::{SlotVerdict, Verdict, Writes, W};
use rusqlite::types::Value;
use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};

fn dup() -> Reject {
    Reject::new(
        "id",
        "duplicate id: another row of this file has the same id (this one skipped)",
    )
}

/// The first field of a row holding a NUL character, which PostgreSQL text
/// cannot hold (a file keeps it): that row is rejected, not the file.
fn nul_field(row: &Parsed) -> Option<String> {
    let has = |t: &Option<String>| t.as_deref().is_some_and(|t| t.contains('\0'));
    if let Parsed::Customer(c) = row {
        // An attribute's cell, named by its column.
        let bad = c.attributes.iter().find(|(_, _, t)| has(t));
        if let Some((k, _, _)) = bad {
            return Some(c.attr_names.get(*k as usize).cloned().unwrap_or_default());
        }
    }
    let fields: Vec<(&'static str, bool)> = match row {
        Parsed::Customer(c) => vec![
            ("id", c.id.contains('\0')),
            ("name", has(&c.name)),
            ("email", has(&c.email)),
            ("phone", has(&c.phone)),
            ("region", has(&c.region)),
            ("plan", has(&c.plan)),
            ("segment", has(&c.segment)),
        ],
        Parsed::Order(o) => vec![
            ("id", o.key.contains('\0')),
            ("customer_id", o.customer.contains('\0')),
            ("product", has(&o.product)),
            ("category", has(&o.category)),
        ],
        Parsed::Event(e) => vec![
            ("id", e.key.contains('\0')),
            ("customer_id", e.customer.contains('\0')),
            ("kind", e.kind.contains('\0')),
        ],
        Parsed::Feedback(f) => vec![
            ("id", f.id.contains('\0')),
            ("customer_id", f.customer.contains('\0')),
            ("channel", has(&f.channel)),
            ("text", has(&f.text)),
            ("assignee", has(&f.assignee)),
        ],
    };
    fields
        .into_iter()
        .find(|(_, bad)| *bad)
        .map(|(f, _)| f.to_string())
}

fn key_of(row: &Parsed) -> &str {
    match row {
        Parsed::Customer(c) => &c.id,
        Parsed::Order(o) => &o.key,
        Parsed::Event(e) => &e.key,
        Parsed::Feedback(f) => &f.id,
    }
}

fn txt(v: &Option<String>) -> Value {
    v.clone().map_or(Value::Null, Value::Text)
}

fn int(v: Option<i64>) -> Value {
    v.map_or(Value::Null, Value::Integer)
}

fn real(v: Option<f64>) -> Value {
    v.map_or(Value::Null, Value::Real)
}

impl PgRowWriter<'_> {
    /// Rows of a query that takes one array of texts (`$1`).
    pub(super) fn by_keys(&self, sql: &str, keys: &[String]) -> Result<Vec<Old>> {
        let rows = self
            .pg
            .client()
            .query(sql, &[&keys])
            .map_err(|e| self.pg.error(e))?;
        Ok(self.pg.rows_of(&rows)?.into_iter().map(|r| r.0).collect())
    }

    /// The existing row of each key (first column the key, second the
    /// table's integer key, then the columns compared). Into a table that
    /// was empty, only keys whose hash this import wrote are asked for.
    fn existing(&self, keys: &[String]) -> Result<HashMap<String, Old>> {
        let asked: Vec<String>;
        let keys = if self.empty_before {
            asked = keys
                .iter()
                .filter(|k| {
                    self.written
                        .contains(&xxhash_rust::xxh3::xxh3_64(k.as_bytes()))
                })
                .cloned()
                .collect();
            if asked.is_empty() {
                return Ok(HashMap::default());
            }
            &asked[..]
        } else {
            keys
        };
        let sql = match self.kind {
            Kind::Customers => "SELECT id, cid, name, email, phone, signup_date, birth_date, age, income, region, plan, segment, churned, cancelled_at FROM customers WHERE id = ANY($1)",
            Kind::Orders => "SELECT order_key, oid, cid, ts, amount, quantity, product, category FROM orders WHERE order_key = ANY($1)",
            Kind::Events => "SELECT event_key, eid, cid, ts, kind, value FROM events WHERE event_key = ANY($1)",
            Kind::Feedback => "SELECT id, fid, cid, created_at, channel, kind, score, text FROM feedback WHERE id = ANY($1)",
        };
        let mut out = HashMap::default();
        for mut r in self.by_keys(sql, keys)? {
            if let Value::Text(k) = r.remove(0) {
                out.insert(k, r);
            }
        }
        Ok(out)
    }

    /// Whether the existing row `key` was written or matched before.
    fn seen_before(&mut self, key: i64) -> bool {
        key > self.max_before || !self.matched.insert(key)
    }
}

/// The new values of a row as the table's compared columns hold them
/// (after the key). `as_given`: a quantity or an event's value the file
/// left empty is NULL, as the other empty cells, which keep the stored
/// value; else (an insert) it is 1.
fn compared(row: &Parsed, as_given: bool) -> Vec<Value> {
    match row {
        Parsed::Order(o) => vec![
            Value::Integer(o.cid),
            Value::Integer(o.ts),
            Value::Real(o.amount),
            if as_given && !o.quantity_given {
                Value::Null
            } else {
                Value::Integer(o.quantity)
            },
            txt(&o.product),
            txt(&o.category),
        ],
        Parsed::Event(e) => vec![
            Value::Integer(e.cid),
            Value::Integer(e.ts),
            Value::Text(e.kind.clone()),
            if as_given && !e.value_given {
                Value::Null
            } else {
                Value::Real(e.value)
            },
        ],
        Parsed::Feedback(f) => vec![
            Value::Integer(f.cid),
            Value::Integer(f.created),
            txt(&f.channel),
            Value::Text(f.kind.to_string()),
            real(f.score),
            txt(&f.text),
        ],
        Parsed::Customer(c) => customer_fields(c),
    }
}

fn customer_fields(c: &CustomerRow) -> Vec<Value> {
    vec![
        txt(&c.name),
        txt(&c.email),
        txt(&c.phone),
        txt(&c.signup),
        txt(&c.birth),
        int(c.age),
        real(c.income),
        txt(&c.region),
        txt(&c.plan),
        txt(&c.segment),
        int(c.churned),
        txt(&c.cancelled),
    ]
}

/// Equal as stored: numbers compare by value whichever type carried them.
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Integer(x), Value::Real(y)) | (Value::Real(y), Value::Integer(x)) => {
            (*x as f64) == *y
        }
        _ => a == b,
    }
}

impl Writes for PgRowWriter<'_> {
    fn write(&mut self, slot: usize, row: Parsed) -> W<Option<Verdict>> {
        if let Some(field) = nul_field(&row) {
            return Err(crate::store::row_writer::WriteError::Reject(Reject::new(
                &field,
                "holds a NUL character, which a PostgreSQL server cannot store",
            )));
        }
        self.pending.push((slot, row));
        Ok(None)
    }

    fn flush(&mut self) -> Result<Vec<SlotVerdict>> {
        if self.pending.is_empty() {
            return Ok(Vec::new());
        }
        if self.prepared_offline() {
            return self.flush_piped();
        }
        // This batch asks the server: the rows on their way are stored first.
        self.close_pipe()?;
        self.resolve()?;
        let (rows, mut out) = self.without_duplicates();
        let keys: Vec<String> = rows.iter().map(|(_, r)| key_of(r).to_string()).collect();
        let old = self.existing(&keys)?;
        let (inserts, updates, attrs) = self.decide(rows, &old, &mut out)?;
        self.give_birth(&inserts, &updates)?;
        self.insert(&inserts)?;
        self.update(updates)?;
        self.write_attributes(attrs, &mut out)?;
        Ok(out)
    }
}

impl PgRowWriter<'_> {
    /// Whether the pending batch can be decided without the server: new
    /// orders or events into a table empty at the start, every customer
    /// known or created at the load's end, no key whose hash this import
    /// wrote (which the server would confirm). The bulk of a large load.
    fn prepared_offline(&self) -> bool {
        matches!(self.kind, Kind::Orders | Kind::Events)
            && self.empty_before
            && self.pending.iter().all(|(_, row)| {
                let customer = match row {
                    Parsed::Order(o) => Some(&o.customer),
                    Parsed::Event(e) => Some(&e.customer),
                    Parsed::Feedback(f) => Some(&f.customer),
                    Parsed::Customer(_) => None,
                };
                // (A customer not yet created is created at the end with
                // the foreign key set aside; with it, before the rows.)
                let known = customer.is_none_or(|id| match self.cids.get(id) {
                    Some(c) => !self.unborn.contains_key(c) || self.set_aside.without_foreign_key(),
                    None => self.all_cids && self.set_aside.without_foreign_key(),
                });
                known
                    && !self
                        .written
                        .contains(&xxhash_rust::xxh3::xxh3_64(key_of(row).as_bytes()))
            })
    }

    /// A batch decided without the server (see `prepared_offline`): its new
    /// rows go into the load's open COPY (`pipe`), which the server stores
    /// while the next batches are read and decided. The verdicts are final:
    /// the load is one transaction, which a failed COPY rolls back whole.
    fn flush_piped(&mut self) -> Result<Vec<SlotVerdict>> {
        self.resolve()?;
        let (rows, mut out) = self.without_duplicates();
        let (inserts, _, _) = self.decide(rows, &HashMap::default(), &mut out)?;
        self.give_birth(&inserts, &[])?;
        if inserts.is_empty() {
            return Ok(out);
        }
        let mut bytes = Vec::with_capacity(inserts.len() * 64);
        super::super::copy::format_rows(&inserts, &mut bytes)?;
        if self.pipe.is_none() {
            self.pipe = Some(super::pipe::Pipe::open(self.pg, self.insert_target())?);
        }
        if let Some(pipe) = self.pipe.as_mut() {
            pipe.send(bytes)?;
        }
        Ok(out)
    }

    /// The load's open COPY finished (its rows stored) and the connection
    /// back, before anything else asks the server.
    pub(super) fn close_pipe(&mut self) -> Result<()> {
        match self.pipe.take() {
            Some(pipe) => pipe.close(),
            None => Ok(()),
        }
    }

    /// The pending rows, without a second row of a key met earlier in the
    /// batch (a duplicate verdict for it).
    fn without_duplicates(&mut self) -> (Vec<(usize, Parsed)>, Vec<SlotVerdict>) {
        let pending = std::mem::take(&mut self.pending);
        let mut out: Vec<SlotVerdict> = Vec::with_capacity(pending.len());
        let mut in_batch: HashSet<String> = HashSet::default();
        let mut rows: Vec<(usize, Parsed)> = Vec::with_capacity(pending.len());
        for (slot, row) in pending {
            if in_batch.insert(key_of(&row).to_string()) {
                rows.push((slot, row));
            } else {
                out.push((slot, Err(dup())));
            }
        }
        (rows, out)
    }

    /// Each row's verdict against the existing rows of its key (`old`): new
    /// rows to insert, changed rows to update, attribute cells to write.
    #[allow(clippy::type_complexity)]
    fn decide(
        &mut self,
        rows: Vec<(usize, Parsed)>,
        old: &HashMap<String, Old>,
        out: &mut Vec<SlotVerdict>,
    ) -> Result<(Vec<Vec<Value>>, Vec<(i64, Parsed, Old)>, attrs::Batch)> {
        let mut inserts: Vec<Vec<Value>> = Vec::new();
        let mut updates: Vec<(i64, Parsed, Old)> = Vec::new();
        let mut attrs = attrs::Batch::default();
        for (slot, mut row) in rows {
            // A customer's attribute cells, written after the rows.
            let cells = match &mut row {
                Parsed::Customer(c) if !c.attributes.is_empty() => {
                    attrs.names = Some(std::sync::Arc::clone(&c.attr_names));
                    Some(std::mem::take(&mut c.attributes))
                }
                _ => None,
            };
            let Some(o) = old.get(key_of(&row)) else {
                let key = self.next_key;
                self.next_key += 1;
                if self.empty_before {
                    self.written
                        .insert(xxhash_rust::xxh3::xxh3_64(key_of(&row).as_bytes()));
                }
                inserts.push(self.insert_values(key, &row));
                out.push((slot, Ok(Verdict::Inserted)));
                if let Some(cells) = cells {
                    attrs.new.push((key, cells));
                }
                continue;
            };
            let Some(&Value::Integer(k)) = o.first() else {
                return Err(Error::Other("an existing row without its key".into()));
            };
            if self.seen_before(k) {
                out.push((slot, Err(dup())));
                continue;
            }
            let new = compared(&row, true);
            // An empty cell never erases a stored value.
            let changed = new
                .iter()
                .zip(&o[1..])
                .any(|(n, v)| *n != Value::Null && !same(n, v));
            if let Some(cells) = cells {
                attrs.old.push((k, cells, out.len(), changed));
            }
            if changed {
                updates.push((k, row, o.clone()));
                out.push((slot, Ok(Verdict::Updated)));
            } else {
                out.push((slot, Ok(Verdict::Unchanged)));
            }
        }
        Ok((inserts, updates, attrs))
    }
}

impl PgRowWriter<'_> {
    /// The columns of an insert, in `insert`'s order.
    fn insert_values(&mut self, key: i64, row: &Parsed) -> Vec<Value> {
        match row {
            Parsed::Customer(c) => {
                let mut v = vec![Value::Integer(key), Value::Text(c.id.clone())];
                v.extend(customer_fields(c));
                v.push(int(since_of(c.signup.as_deref())));
                v
            }
            Parsed::Order(o) => {
                if self.set_aside.without_foreign_key() && o.cid >= self.first_new {
                    let i = (o.cid - self.first_new) as usize;
                    if i >= self.new_totals.len() {
                        self.new_totals.resize(i + 1, (0, 0.0, i64::MAX, i64::MIN));
                    }
                    let t = &mut self.new_totals[i];
                    *t = (t.0 + 1, t.1 + o.amount, t.2.min(o.ts), t.3.max(o.ts));
                } else {
                    self.totals.insert(o.cid);
                }
                let mut v = vec![Value::Integer(key), Value::Text(o.key.clone())];
                v.extend(compared(row, false));
                v
            }
            Parsed::Event(e) => {
                let mut v = vec![Value::Integer(key), Value::Text(e.key.clone())];
                v.extend(compared(row, false));
                v
            }
            Parsed::Feedback(f) => {
                self.fids.push(key);
                let mut v = vec![Value::Integer(key), Value::Text(f.id.clone())];
                v.extend(compared(row, false));
                v.extend([
                    real(f.sentiment),
                    Value::Text(f.status.to_string()),
                    txt(&f.assignee),
                    Value::Integer(f.created),
                ]);
                v
            }
        }
    }

    fn insert(&self, rows: &[Vec<Value>]) -> Result<()> {
        self.copy(self.insert_target(), rows)
    }

    /// The table and columns new rows are copied into, in `insert_values`'
    /// order.
    fn insert_target(&self) -> &'static str {
        match self.kind {
            Kind::Customers => "customers (cid, id, name, email, phone, signup_date, birth_date, age, income, region, plan, segment, churned, cancelled_at, since)",
            Kind::Orders => "orders (oid, order_key, cid, ts, amount, quantity, product, category)",
            Kind::Events => "events (eid, event_key, cid, ts, kind, value)",
            Kind::Feedback => "feedback (fid, id, cid, created_at, channel, kind, score, text, sentiment, status, assignee, updated_at)",
        }
    }
}
