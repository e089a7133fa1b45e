//! An import's changed rows, written per kind in one statement from
//! arrays (`UPDATE ... FROM unnest(...)`).

use super::{since_of, Old, PgRowWriter};
use crate::error::Result;
use crate::ingest::parse::{CustomerRow, EventRow, FeedbackRow, OrderRow, Parsed};
use crate::ingest::Kind;
use rusqlite::types::Value;

impl PgRowWriter<'_> {
    /// Changed rows, one statement for the batch.
    pub(super) fn update(&mut self, updates: Vec<(i64, Parsed, Old)>) -> Result<()> {
        if updates.is_empty() {
            return Ok(());
        }
        let keys: Vec<i64> = updates.iter().map(|(k, _, _)| *k).collect();
        match self.kind {
            Kind::Customers => {
                let cs: Vec<&CustomerRow> = updates
                    .iter()
                    .filter_map(|(_, r, _)| match r {
                        Parsed::Customer(c) => Some(&**c),
                        _ => None,
                    })
                    .collect();
                let t = |f: fn(&CustomerRow) -> &Option<String>| -> Vec<Option<String>> {
                    cs.iter().map(|c| f(c).clone()).collect()
                };
                let (name, email, phone) = (t(|c| &c.name), t(|c| &c.email), t(|c| &c.phone));
                let (signup, birth, region) = (t(|c| &c.signup), t(|c| &c.birth), t(|c| &c.region));
                let (plan, segment, cancelled) =
                    (t(|c| &c.plan), t(|c| &c.segment), t(|c| &c.cancelled));
                let age: Vec<Option<i64>> = cs.iter().map(|c| c.age).collect();
                let income: Vec<Option<f64>> = cs.iter().map(|c| c.income).collect();
                let churned: Vec<Option<i64>> = cs.iter().map(|c| c.churned).collect();
                // The start from the signup the row leaves in place.
                let since: Vec<Option<i64>> = updates
                    .iter()
                    .zip(&cs)
                    .map(|((_, _, old), c)| {
                        let kept = match old.get(4) {
                            Some(Value::Text(s)) => Some(s.as_str()),
                            _ => None,
                        };
                        since_of(c.signup.as_deref().or(kept))
                    })
                    .collect();
                self.exec_arrays(
                    "UPDATE customers c SET name = COALESCE(u.name, c.name), email = COALESCE(u.email, c.email),
                       phone = COALESCE(u.phone, c.phone), signup_date = COALESCE(u.signup, c.signup_date),
                       birth_date = COALESCE(u.birth, c.birth_date), age = COALESCE(u.age, c.age),
                       income = COALESCE(u.income, c.income), region = COALESCE(u.region, c.region),
                       plan = COALESCE(u.plan, c.plan), segment = COALESCE(u.segment, c.segment),
                       churned = COALESCE(u.churned, c.churned), cancelled_at = COALESCE(u.cancelled, c.cancelled_at),
                       since = COALESCE(u.since, c.first_order)
                     FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
                                 $7::bigint[], $8::float8[], $9::text[], $10::text[], $11::text[], $12::bigint[],
                                 $13::text[], $14::bigint[])
                          AS u(cid, name, email, phone, signup, birth, age, income, region, plan, segment,
                               churned, cancelled, since)
                     WHERE c.cid = u.cid",
                    &[
                        &keys, &name, &email, &phone, &signup, &birth, &age, &income, &region,
                        &plan, &segment, &churned, &cancelled, &since,
                    ],
                )
            }
            Kind::Orders => {
                let os: Vec<&OrderRow> = updates
                    .iter()
                    .filter_map(|(_, r, _)| match r {
                        Parsed::Order(o) => Some(o),
                        _ => None,
                    })
                    .collect();
                for (_, r, old) in &updates {
                    if let (Parsed::Order(o), Some(Value::Integer(was))) = (r, old.get(1)) {
                        self.totals.extend([o.cid, *was]);
                    }
                }
                let cid: Vec<i64> = os.iter().map(|o| o.cid).collect();
                let ts: Vec<i64> = os.iter().map(|o| o.ts).collect();
                let amount: Vec<f64> = os.iter().map(|o| o.amount).collect();
                // An empty cell (None, NULL) keeps the stored value.
                let quantity: Vec<Option<i64>> = os
                    .iter()
                    .map(|o| o.quantity_given.then_some(o.quantity))
                    .collect();
                let product: Vec<Option<String>> = os.iter().map(|o| o.product.clone()).collect();
                let category: Vec<Option<String>> = os.iter().map(|o| o.category.clone()).collect();
                self.exec_arrays(
                    "UPDATE orders o SET cid = u.cid, ts = u.ts, amount = u.amount,
                       quantity = COALESCE(u.quantity, o.quantity), product = COALESCE(u.product, o.product),
                       category = COALESCE(u.category, o.category)
                     FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::float8[], $5::bigint[],
                                 $6::text[], $7::text[]) AS u(oid, cid, ts, amount, quantity, product, category)
                     WHERE o.oid = u.oid",
                    &[&keys, &cid, &ts, &amount, &quantity, &product, &category],
                )
            }
            Kind::Events => {
                let es: Vec<&EventRow> = updates
                    .iter()
                    .filter_map(|(_, r, _)| match r {
                        Parsed::Event(e) => Some(e),
                        _ => None,
                    })
                    .collect();
                let cid: Vec<i64> = es.iter().map(|e| e.cid).collect();
                let ts: Vec<i64> = es.iter().map(|e| e.ts).collect();
                let kind: Vec<String> = es.iter().map(|e| e.kind.clone()).collect();
                let value: Vec<Option<f64>> = es
                    .iter()
                    .map(|e| e.value_given.then_some(e.value))
                    .collect();
                self.exec_arrays(
                    "UPDATE events e SET cid = u.cid, ts = u.ts, kind = u.kind, value = COALESCE(u.value, e.value)
                     FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::text[], $5::float8[])
                          AS u(eid, cid, ts, kind, value)
                     WHERE e.eid = u.eid",
                    &[&keys, &cid, &ts, &kind, &value],
                )
            }
            Kind::Feedback => {
                let fs: Vec<&FeedbackRow> = updates
                    .iter()
                    .filter_map(|(_, r, _)| match r {
                        Parsed::Feedback(f) => Some(&**f),
                        _ => None,
                    })
                    .collect();
                self.fids.extend(&keys);
                let cid: Vec<i64> = fs.iter().map(|f| f.cid).collect();
                let created: Vec<i64> = fs.iter().map(|f| f.created).collect();
                let channel: Vec<Option<String>> = fs.iter().map(|f| f.channel.clone()).collect();
                let kind: Vec<&str> = fs.iter().map(|f| f.kind).collect();
                let score: Vec<Option<f64>> = fs.iter().map(|f| f.score).collect();
                let text: Vec<Option<String>> = fs.iter().map(|f| f.text.clone()).collect();
                let sentiment: Vec<Option<f64>> = fs.iter().map(|f| f.sentiment).collect();
                // Content changed; the workflow state (status, assignee) is
                // the agents', not the file's.
                self.exec_arrays(
                    "UPDATE feedback f SET cid = u.cid, created_at = u.created,
                       channel = COALESCE(u.channel, f.channel), kind = u.kind,
                       score = COALESCE(u.score, f.score), text = COALESCE(u.text, f.text),
                       sentiment = CASE WHEN u.text IS NULL THEN f.sentiment ELSE u.sentiment END,
                       version = f.version + 1
                     FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::text[], $5::text[],
                                 $6::float8[], $7::text[], $8::float8[])
                          AS u(fid, cid, created, channel, kind, score, text, sentiment)
                     WHERE f.fid = u.fid",
                    &[
                        &keys, &cid, &created, &channel, &kind, &score, &text, &sentiment,
                    ],
                )
            }
        }
    }
}
