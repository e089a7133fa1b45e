//! The customers' attributes in `crmtop migrate`: their columns differ per
//! database (a file's `a<pos>`, a server's `n<pos>` and `t<pos>`), so they
//! are copied by a reader of their own, checked like the tables.

use super::{checked, copy_text, Checksum, Copied, Dest};
use crate::error::{Error, Result};
use crate::store::pg::Pg;
use crate::store::sql::Sql;
use rusqlite::types::Value;
use std::io::Write;

/// The customers' attributes from a file to a server: the same columns at
/// the same positions (a number or a text each, as the file held it),
/// checked like the tables.
pub(super) fn attributes_to_server(
    file: &rusqlite::Connection,
    pg: &Pg,
    progress: &mut dyn FnMut(&str, u64),
) -> Result<Copied> {
    use crate::store::attributes;
    use crate::store::sql::Engine;
    let cols = attributes::columns(file)?;
    if cols.len() > crate::store::pg::attributes::MAX_ATTRIBUTES {
        return Err(Error::bad(format!(
            "the file holds {} customer attributes; a PostgreSQL table holds at most {} (each takes two of its 1,600 columns)",
            cols.len(),
            crate::store::pg::attributes::MAX_ATTRIBUTES
        )));
    }
    for c in &cols {
        crate::store::pg::attributes::register(pg, c.pos, &c.name)?;
    }
    let target: Vec<String> = cols
        .iter()
        .flat_map(|c| [format!("n{}", c.pos), format!("t{}", c.pos)])
        .collect();
    let mut sent = Checksum::default();
    let mut rows = 0u64;
    {
        let mut st = file.prepare(&attributes::select_all(&cols, Engine::Sqlite, true))?;
        let mut q = st.query([])?;
        let mut client = pg.client();
        // sql-format-ok: columns named after our own integers.
        let mut w = client
            .copy_in(&format!(
                "COPY customer_attrs (cid{}{}) FROM STDIN",
                if cols.is_empty() { "" } else { ", " },
                target.join(", ")
            ))
            .map_err(|e| pg.error(e))?;
        let mut line = Vec::with_capacity(256);
        while let Some(r) = q.next()? {
            line.clear();
            let cid: Value = r.get(0)?;
            sent.add(&cid);
            copy_text(&cid, &mut line).map_err(Error::Other)?;
            for (j, col) in cols.iter().enumerate() {
                let v: Value = r.get(j + 1)?;
                sent.add(&v);
                // A number in n<pos>, a text in t<pos>.
                let (n, t) = match v {
                    Value::Integer(i) => (Value::Real(i as f64), Value::Null),
                    Value::Real(x) => (Value::Real(x), Value::Null),
                    Value::Text(t) => (Value::Null, Value::Text(t)),
                    _ => (Value::Null, Value::Null),
                };
                for v in [n, t] {
                    line.push(b'\t');
                    copy_text(&v, &mut line).map_err(|m| {
                        Error::Other(format!(
                            "customer_attrs row {}: attribute {}: {m}",
                            rows + 1,
                            col.name
                        ))
                    })?;
                }
            }
            line.push(b'\n');
            w.write_all(&line)?;
            rows += 1;
            if rows.is_multiple_of(100_000) {
                progress("customer_attrs", rows);
            }
        }
        w.finish().map_err(|e| {
            Error::Other(format!(
                "copying customer_attrs into {}: {}",
                pg.shown,
                crate::store::pg::message(&e)
            ))
        })?;
    }
    progress("customer_attrs", rows);
    let mut got = Checksum::default();
    let mut back = 0u64;
    pg.each(
        &attributes::select_all(&cols, Engine::Postgres, true),
        &[],
        &mut |r| {
            got.add(r.0.first().unwrap_or(&Value::Null));
            for j in 0..cols.len() {
                got.add(&attributes::cell(r, Engine::Postgres, 1, j));
            }
            back += 1;
            Ok(())
        },
    )?;
    checked(
        "customer_attrs",
        Dest::Server(&pg.shown),
        rows,
        back,
        &sent,
        &got,
    )
}

/// The customers' attributes from a server back into a file (inside the
/// copy's transaction): the same columns at the same positions.
pub(super) fn attributes_to_file(
    pg: &Pg,
    tx: &rusqlite::Transaction,
    progress: &mut dyn FnMut(&str, u64),
) -> Result<Copied> {
    use crate::store::attributes;
    use crate::store::sql::Engine;
    let cols = attributes::columns(pg)?;
    for c in &cols {
        attributes::register_at(tx, c.pos, &c.name)?;
    }
    let names: Vec<String> = cols.iter().map(|c| format!("a{}", c.pos)).collect();
    let marks = vec!["?"; cols.len() + 1].join(", ");
    let mut sent = Checksum::default();
    let mut rows = 0u64;
    {
        // sql-format-ok: columns named after our own integers.
        let mut ins = tx.prepare(&format!(
            "INSERT INTO customer_attrs (cid{}{}) VALUES ({marks})",
            if cols.is_empty() { "" } else { ", " },
            names.join(", ")
        ))?;
        let mut vals: Vec<Value> = Vec::with_capacity(cols.len() + 1);
        pg.each(
            &attributes::select_all(&cols, Engine::Postgres, true),
            &[],
            &mut |r| {
                vals.clear();
                vals.push(r.0.first().cloned().unwrap_or(Value::Null));
                for j in 0..cols.len() {
                    vals.push(attributes::cell(r, Engine::Postgres, 1, j));
                }
                vals.iter().for_each(|v| sent.add(v));
                ins.execute(rusqlite::params_from_iter(vals.iter()))?;
                rows += 1;
                if rows.is_multiple_of(100_000) {
                    progress("customer_attrs", rows);
                }
                Ok(())
            },
        )?;
    }
    progress("customer_attrs", rows);
    let mut got = Checksum::default();
    let mut back = 0u64;
    {
        let mut st = tx.prepare(&attributes::select_all(&cols, Engine::Sqlite, true))?;
        let mut q = st.query([])?;
        while let Some(r) = q.next()? {
            for i in 0..=cols.len() {
                got.add(&r.get::<_, Value>(i)?);
            }
            back += 1;
        }
    }
    checked("customer_attrs", Dest::File, rows, back, &sent, &got)
}
