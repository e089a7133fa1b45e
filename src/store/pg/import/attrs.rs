//! A customers file's attribute columns on a server: per batch, the
//! attributes of new customers and the changed ones of existing customers,
//! written in one statement from arrays. As on a file, an empty cell
//! leaves the stored value, and a row whose only change is an attribute
//! is reported as updated.

use super::PgRowWriter;
use crate::error::Result;
use crate::store::attributes::Column;
use crate::store::row_writer::{SlotVerdict, Verdict};
use postgres::types::ToSql;
use rustc_hash::FxHashMap as HashMap;
use std::sync::Arc;

/// One customer's attribute cells as the file gave them: (index into the
/// file's attribute names, number, text).
pub(super) type Cells = Vec<(u16, Option<f64>, Option<String>)>;

/// The attributes of one batch's customers.
#[derive(Default)]
pub(super) struct Batch {
    /// The file's attribute names (every row of a file shares them).
    pub names: Option<Arc<Vec<String>>>,
    /// New customers: (cid, cells).
    pub new: Vec<(i64, Cells)>,
    /// Existing customers: (cid, cells, the place of its verdict in the
    /// batch's answer, whether its other columns changed).
    pub old: Vec<(i64, Cells, usize, bool)>,
}

impl PgRowWriter<'_> {
    /// Write a batch's attributes; an existing customer whose only change
    /// is an attribute becomes `Updated` in `out`.
    pub(super) fn write_attributes(&mut self, batch: Batch, out: &mut [SlotVerdict]) -> Result<()> {
        let Some(names) = batch.names else {
            return Ok(());
        };
        let same = self
            .attr_cols
            .as_ref()
            .is_some_and(|(n, _)| Arc::ptr_eq(n, &names));
        if !same {
            let cols = crate::store::pg::attributes::ensure(self.pg, &names)?;
            self.attr_cols = Some((Arc::clone(&names), cols));
        }
        let Some((_, cols)) = self.attr_cols.as_ref() else {
            return Ok(());
        };
        let cols = cols.clone();
        // The stored values of the existing customers.
        let asked: Vec<i64> = batch.old.iter().map(|(cid, ..)| *cid).collect();
        let stored = self.stored_attributes(&cols, &asked)?;
        let mut rows: Vec<(i64, Cells)> = batch.new;
        for (cid, cells, at, changed) in batch.old {
            let now = stored.get(&cid);
            let differs = cells.iter().any(|(k, num, txt)| {
                let (n, t) = now
                    .and_then(|v| v.get(*k as usize))
                    .cloned()
                    .unwrap_or((None, None));
                n != *num || t != *txt
            });
            if differs {
                if !changed {
                    if let Some((_, v)) = out.get_mut(at) {
                        *v = Ok(Verdict::Updated);
                    }
                }
                rows.push((cid, cells));
            }
        }
        if rows.is_empty() {
            return Ok(());
        }
        // Per attribute a number array and a text array; a cell the row
        // leaves empty is NULL in both, which keeps the stored value.
        let cids: Vec<i64> = rows.iter().map(|(c, _)| *c).collect();
        let mut nums: Vec<Vec<Option<f64>>> = vec![vec![None; rows.len()]; cols.len()];
        let mut txts: Vec<Vec<Option<String>>> = vec![vec![None; rows.len()]; cols.len()];
        for (i, (_, cells)) in rows.into_iter().enumerate() {
            for (k, num, txt) in cells {
                let k = k as usize;
                if k < cols.len() {
                    nums[k][i] = num;
                    txts[k][i] = txt;
                }
            }
        }
        let mut params: Vec<&(dyn ToSql + Sync)> = vec![&cids];
        let mut list = vec!["cid".to_string()];
        let mut types = vec!["$1::bigint[]".to_string()];
        let mut set = Vec::new();
        for (j, c) in cols.iter().enumerate() {
            params.push(&nums[j]);
            params.push(&txts[j]);
            let p = c.pos;
            list.push(format!("n{p}"));
            list.push(format!("t{p}"));
            types.push(format!("${}::float8[]", 2 * j + 2));
            types.push(format!("${}::text[]", 2 * j + 3));
            // sql-format-ok: columns named after our own integers.
            let kept = format!("(excluded.n{p} IS NULL AND excluded.t{p} IS NULL)");
            set.push(format!(
                "n{p} = CASE WHEN {kept} THEN a.n{p} ELSE excluded.n{p} END, t{p} = CASE WHEN {kept} THEN a.t{p} ELSE excluded.t{p} END"
            ));
        }
        // sql-format-ok: columns named after our own integers; values bound as arrays.
        let sql = format!(
            "INSERT INTO customer_attrs AS a ({}) SELECT * FROM unnest({}) ON CONFLICT (cid) DO UPDATE SET {}",
            list.join(", "),
            types.join(", "),
            set.join(", ")
        );
        self.exec_arrays(&sql, &params)
    }

    /// The stored (number, text) of each of `cols` for the customers `cids`.
    #[allow(clippy::type_complexity)]
    fn stored_attributes(
        &self,
        cols: &[Column],
        cids: &[i64],
    ) -> Result<HashMap<i64, Vec<(Option<f64>, Option<String>)>>> {
        let mut out = HashMap::default();
        if cids.is_empty() || cols.is_empty() {
            return Ok(out);
        }
        let list: Vec<String> = cols
            .iter()
            .map(|c| c.select(crate::store::sql::Engine::Postgres, "a"))
            .collect();
        // sql-format-ok: columns named after our own integers; customers bound as an array.
        let sql = format!(
            "SELECT a.cid, {} FROM customer_attrs a WHERE a.cid = ANY($1)",
            list.join(", ")
        );
        let rows = self
            .pg
            .client()
            .query(&sql, &[&cids])
            .map_err(|e| self.pg.error(e))?;
        let bad = |e: postgres::Error| self.pg.error(e);
        for r in rows {
            let cid: i64 = r.try_get(0).map_err(bad)?;
            let vals = (0..cols.len())
                .map(|j| {
                    Ok((
                        r.try_get::<_, Option<f64>>(1 + 2 * j).map_err(bad)?,
                        r.try_get::<_, Option<String>>(2 + 2 * j).map_err(bad)?,
                    ))
                })
                .collect::<Result<Vec<_>>>()?;
            out.insert(cid, vals);
        }
        Ok(out)
    }
}
