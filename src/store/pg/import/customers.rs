//! The customers an import's rows name: each id's key (asked of the server,
//! or a new one), and the new customers created when the first row naming
//! each is written (a rejected duplicate creates none).

use super::{Old, PgRowWriter};
use crate::error::{Error, Result};
use crate::ingest::parse::Parsed;
use crate::ingest::Kind;
use rusqlite::types::Value;
use rustc_hash::FxHashSet as HashSet;

impl PgRowWriter<'_> {
    /// Every pending row's customer key: asked of the server, or a new key
    /// for an id it does not hold (the customer waits in `unborn`).
    pub(super) fn resolve(&mut self) -> Result<()> {
        let mut unknown: Vec<String> = Vec::new();
        let mut asked: HashSet<&str> = HashSet::default();
        for (_, row) in &self.pending {
            let id = match row {
                Parsed::Order(o) => &o.customer,
                Parsed::Event(e) => &e.customer,
                Parsed::Feedback(f) => &f.customer,
                Parsed::Customer(_) => continue,
            };
            if !self.cids.contains_key(id) && asked.insert(id) {
                unknown.push(id.clone());
            }
        }
        if !unknown.is_empty() && !self.all_cids {
            for r in self.by_keys("SELECT id, cid FROM customers WHERE id = ANY($1)", &unknown)? {
                if let [Value::Text(id), Value::Integer(cid)] = r.as_slice() {
                    self.cids.insert(id.clone(), *cid);
                }
            }
        }
        // A new id gets its key now; the customer is created when a row
        // naming it is written (`give_birth`): a rejected duplicate creates
        // nothing.
        for id in unknown {
            if !self.cids.contains_key(&id) {
                let cid = self.next_cid;
                self.next_cid += 1;
                self.unborn.insert(cid, id.clone());
                self.cids.insert(id, cid);
            }
        }
        for (_, row) in self.pending.iter_mut() {
            if let Some((id, cid, _)) = row.customer_ref() {
                match self.cids.get(id) {
                    Some(&c) => *cid = c,
                    None => return Err(Error::Other(format!("customer {id} was not resolved"))),
                }
            }
        }
        Ok(())
    }

    /// Create the new customers that rows about to be written name (keys
    /// from `resolve`), each once: at the load's end with their totals when
    /// the foreign key is set aside, else now.
    pub(super) fn give_birth(
        &mut self,
        inserts: &[Vec<Value>],
        updates: &[(i64, Parsed, Old)],
    ) -> Result<()> {
        if self.unborn.is_empty() || self.kind == Kind::Customers {
            return Ok(());
        }
        // (An insert's values: the key, the id, then the customer's key.)
        let named = inserts
            .iter()
            .filter_map(|v| match v.get(2) {
                Some(Value::Integer(c)) => Some(*c),
                _ => None,
            })
            .chain(updates.iter().filter_map(|(_, row, _)| match row {
                Parsed::Order(o) => Some(o.cid),
                Parsed::Event(e) => Some(e.cid),
                Parsed::Feedback(f) => Some(f.cid),
                Parsed::Customer(_) => None,
            }));
        let mut created: Vec<Vec<Value>> = Vec::new();
        for cid in named {
            if let Some(id) = self.unborn.remove(&cid) {
                created.push(vec![Value::Integer(cid), Value::Text(id)]);
            }
        }
        self.customers_created += created.len() as u64;
        if self.set_aside.without_foreign_key() {
            for c in created {
                if let [Value::Integer(cid), Value::Text(id)] = &c[..] {
                    self.held.push((*cid, id.clone()));
                }
            }
        } else if !created.is_empty() {
            self.copy("customers (cid, id)", &created)?;
        }
        Ok(())
    }
}
