//! `crmtop export`: one row per record to any writer, as CSV or JSON Lines.

use crate::error::{Error, Result};
use crate::pii;
use crate::timeutil;
use rusqlite::Connection;
use serde_json::{Map, Value};
use std::io::Write;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    /// JSON Lines: one object per line.
    Json,
}

/// Writes records with a fixed set of columns in either format.
pub struct Sink<'w> {
    format: Format,
    columns: Vec<String>,
    csv: Option<csv::Writer<&'w mut dyn Write>>,
    out: Option<&'w mut dyn Write>,
}

impl<'w> Sink<'w> {
    pub fn new(format: Format, columns: Vec<String>, out: &'w mut dyn Write) -> Result<Self> {
        Ok(match format {
            Format::Csv => {
                let mut w = csv::Writer::from_writer(out);
                w.write_record(&columns).map_err(csv_error)?;
                Sink {
                    format,
                    columns,
                    csv: Some(w),
                    out: None,
                }
            }
            Format::Json => Sink {
                format,
                columns,
                csv: None,
                out: Some(out),
            },
        })
    }

    pub fn write(&mut self, values: Vec<Value>) -> Result<()> {
        match self.format {
            Format::Csv => {
                let cells: Vec<String> = values
                    .iter()
                    .map(|v| match v {
                        Value::Null => String::new(),
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    })
                    .collect();
                if let Some(w) = self.csv.as_mut() {
                    w.write_record(&cells).map_err(csv_error)?;
                }
            }
            Format::Json => {
                let mut obj = Map::new();
                for (c, v) in self.columns.iter().zip(values) {
                    obj.insert(c.clone(), v);
                }
                if let Some(out) = self.out.as_mut() {
                    let line = crate::term::json_escape_controls(serde_json::to_string(
                        &Value::Object(obj),
                    )?);
                    out.write_all(line.as_bytes()).map_err(pipe_error)?;
                    out.write_all(b"\n").map_err(pipe_error)?;
                }
            }
        }
        Ok(())
    }

    pub fn finish(mut self) -> Result<()> {
        if let Some(mut w) = self.csv.take() {
            w.flush().map_err(pipe_error)?;
        }
        if let Some(out) = self.out.as_mut() {
            out.flush().map_err(pipe_error)?;
        }
        Ok(())
    }
}

fn csv_error(e: csv::Error) -> Error {
    match e.kind() {
        csv::ErrorKind::Io(io) => pipe_error(std::io::Error::new(io.kind(), io.to_string())),
        _ => Error::Other(format!("writing CSV: {e}")),
    }
}

fn pipe_error(e: std::io::Error) -> Error {
    Error::Io(e)
}

fn opt<T: Into<Value>>(v: Option<T>) -> Value {
    v.map(Into::into).unwrap_or(Value::Null)
}

/// A number as JSON; whole numbers without a fractional part (42000, not 42000.0).
pub fn num(x: f64) -> Value {
    if x.is_finite() && x.fract() == 0.0 && x.abs() < 9e15 {
        Value::from(x as i64)
    } else {
        serde_json::Number::from_f64(x)
            .map(Value::Number)
            .unwrap_or(Value::Null)
    }
}

/// Every customer with the import columns and one column per attribute.
pub fn customers(
    conn: &Connection,
    format: Format,
    mask: bool,
    out: &mut dyn Write,
) -> Result<u64> {
    let acols = crate::store::attributes::columns(conn)?;
    let attr_names: Vec<String> = acols.iter().map(|c| c.name.clone()).collect();
    let mut columns: Vec<String> = [
        "id",
        "name",
        "email",
        "phone",
        "signup_date",
        "birth_date",
        "age",
        "income",
        "region",
        "plan",
        "segment",
        "churned",
        "cancelled_at",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    columns.extend(attr_names.iter().cloned());
    let mut sink = Sink::new(format, columns, out)?;
    let attr_list: String = acols.iter().map(|c| format!(", a.{}", c.sql())).collect();
    // sql-format-ok: attribute columns named after our own integers.
    let sql = format!(
        "SELECT c.cid, c.id, c.name, c.email, c.phone, c.signup_date, c.birth_date, c.age, c.income,
                c.region, c.plan, c.segment, c.churned, c.cancelled_at{attr_list}
         FROM customers c LEFT JOIN customer_attrs a ON a.cid = c.cid ORDER BY c.cid"
    );
    let mut cust = conn.prepare(&sql)?;
    let mut rows = cust.query([])?;
    let mut n = 0;
    while let Some(r) = rows.next()? {
        let name: Option<String> = r.get(2)?;
        let email: Option<String> = r.get(3)?;
        let phone: Option<String> = r.get(4)?;
        let churned: Option<i64> = r.get(12)?;
        let owner = name.as_deref();
        let mut values = vec![
            Value::String(r.get(1)?),
            opt(pii::maybe(mask, name.as_deref(), pii::name)),
            opt(pii::maybe(mask, email.as_deref(), pii::email)),
            opt(pii::maybe(mask, phone.as_deref(), pii::phone)),
            opt(r.get::<_, Option<String>>(5)?),
            // A birth date identifies a person: masked to its year.
            opt(r.get::<_, Option<String>>(6)?.map(|d| {
                if mask {
                    format!("{}-**-**", d.get(..4).unwrap_or("****"))
                } else {
                    d
                }
            })),
            opt(r.get::<_, Option<i64>>(7)?),
            r.get::<_, Option<f64>>(8)?.map(num).unwrap_or(Value::Null),
            opt(r.get::<_, Option<String>>(9)?),
            opt(r.get::<_, Option<String>>(10)?),
            opt(r.get::<_, Option<String>>(11)?),
            opt(churned.map(|c| c == 1)),
            opt(r.get::<_, Option<String>>(13)?),
        ];
        // The attributes, in name order like `attr_names`.
        for (j, a) in attr_names.iter().enumerate() {
            let v = match r.get_ref(14 + j)? {
                rusqlite::types::ValueRef::Real(x) => num(x),
                rusqlite::types::ValueRef::Integer(x) => num(x as f64),
                rusqlite::types::ValueRef::Text(t) => {
                    Value::String(String::from_utf8_lossy(t).into_owned())
                }
                _ => Value::Null,
            };
            values.push(if mask { mask_value(a, v, owner) } else { v });
        }
        sink.write(values)?;
        n += 1;
    }
    sink.finish()?;
    Ok(n)
}

/// An attribute's value with `--mask-pii`.
fn mask_value(attr: &str, v: Value, owner: Option<&str>) -> Value {
    match v {
        Value::String(t) => Value::String(pii::mask(pii::Kind::Attribute(attr), &t, owner)),
        Value::Number(n)
            if pii::is_personal_attribute(attr) || pii::looks_like_phone(&n.to_string()) =>
        {
            let _ = n;
            Value::String("***".into())
        }
        other => other,
    }
}

/// Every order, oldest first.
pub fn orders(conn: &Connection, format: Format, out: &mut dyn Write) -> Result<u64> {
    let columns = [
        "id",
        "customer_id",
        "timestamp",
        "amount",
        "quantity",
        "product",
        "category",
    ];
    let mut sink = Sink::new(format, columns.iter().map(|s| s.to_string()).collect(), out)?;
    let mut st = conn.prepare(
        "SELECT o.order_key, c.id, o.ts, o.amount, o.quantity, o.product, o.category
         FROM orders o JOIN customers c ON c.cid = o.cid ORDER BY o.oid",
    )?;
    let mut rows = st.query([])?;
    let mut n = 0;
    while let Some(r) = rows.next()? {
        let ts: i64 = r.get(2)?;
        sink.write(vec![
            Value::String(r.get(0)?),
            Value::String(r.get(1)?),
            Value::String(timeutil::ts_to_rfc3339(ts)),
            num(r.get::<_, f64>(3)?),
            r.get::<_, i64>(4)?.into(),
            opt(r.get::<_, Option<String>>(5)?),
            opt(r.get::<_, Option<String>>(6)?),
        ])?;
        n += 1;
    }
    sink.finish()?;
    Ok(n)
}

/// Every feedback item with its workflow state.
/// Every feedback item; with `mask`, the e-mail addresses and phone numbers
/// in its free text (text, resolution note, escalation reason) are masked.
pub fn feedback(conn: &Connection, format: Format, mask: bool, out: &mut dyn Write) -> Result<u64> {
    let free = |t: Option<String>, owner: Option<&str>| -> Value {
        opt(if mask {
            t.map(|t| pii::mask(pii::Kind::Text, &t, owner))
        } else {
            t
        })
    };
    let columns = [
        "id",
        "customer_id",
        "created_at",
        "channel",
        "kind",
        "score",
        "text",
        "sentiment",
        "status",
        "assignee",
        "version",
        "resolution_note",
        "resolved_at",
        "escalation_reason",
    ];
    let mut sink = Sink::new(format, columns.iter().map(|s| s.to_string()).collect(), out)?;
    let mut st = conn.prepare(
        "SELECT f.id, c.id, f.created_at, f.channel, f.kind, f.score, f.text, f.sentiment, f.status, f.assignee,
                f.version, f.resolution_note, f.resolved_at, f.escalation_reason, c.name
         FROM feedback f JOIN customers c ON c.cid = f.cid ORDER BY f.fid",
    )?;
    let mut rows = st.query([])?;
    let mut n = 0;
    while let Some(r) = rows.next()? {
        let owner: Option<String> = r.get(14)?;
        let owner = owner.as_deref();
        sink.write(vec![
            Value::String(r.get(0)?),
            Value::String(r.get(1)?),
            Value::String(timeutil::ts_to_rfc3339(r.get(2)?)),
            opt(r.get::<_, Option<String>>(3)?),
            Value::String(r.get(4)?),
            r.get::<_, Option<f64>>(5)?.map(num).unwrap_or(Value::Null),
            free(r.get::<_, Option<String>>(6)?, owner),
            opt(r
                .get::<_, Option<f64>>(7)?
                .map(|s| (s * 1000.0).round() / 1000.0)),
            Value::String(r.get(8)?),
            opt(r.get::<_, Option<String>>(9)?),
            r.get::<_, i64>(10)?.into(),
            free(r.get::<_, Option<String>>(11)?, owner),
            opt(r.get::<_, Option<i64>>(12)?.map(timeutil::ts_to_rfc3339)),
            free(r.get::<_, Option<String>>(13)?, owner),
        ])?;
        n += 1;
    }
    sink.finish()?;
    Ok(n)
}

/// The active model's scores, riskiest first: customer, probability, drivers in words.
pub fn churn(conn: &Connection, format: Format, mask: bool, out: &mut dyn Write) -> Result<u64> {
    let active = crate::store::models::active(conn)?
        .ok_or_else(|| Error::bad("no active churn model; train one with `crmtop train`"))?;
    let params: crate::analytics::churn::Params = serde_json::from_str(&active.params)
        .map_err(|e| Error::Other(format!("model v{} cannot be read back: {e}", active.id)))?;
    let columns = ["customer_id", "probability", "drivers", "model_id"];
    let mut sink = Sink::new(format, columns.iter().map(|s| s.to_string()).collect(), out)?;
    let mut st = conn.prepare(
        "SELECT c.id, s.prob, s.drivers FROM active_rank r JOIN active_churn s ON s.cid = r.cid
           JOIN customers c ON c.cid = r.cid
         ORDER BY r.prob DESC, c.id",
    )?;
    let mut rows = st.query([])?;
    let mut n = 0;
    while let Some(r) = rows.next()? {
        let drivers: String = r.get(2)?;
        let words: Vec<String> = crate::analytics::churn::describe_drivers(&params, &drivers, mask)
            .into_iter()
            .map(|(s, c)| format!("{s} ({c:+.2})"))
            .collect();
        let p: f64 = r.get(1)?;
        sink.write(vec![
            Value::String(r.get(0)?),
            serde_json::Number::from_f64((p * 1e6).round() / 1e6)
                .map(Value::Number)
                .unwrap_or(Value::Null),
            Value::String(words.join("; ")),
            Value::from(active.id),
        ])?;
        n += 1;
    }
    sink.finish()?;
    Ok(n)
}

/// The active CLV fit's values, highest CLV first.
pub fn clv(conn: &Connection, format: Format, out: &mut dyn Write) -> Result<u64> {
    let active: Option<i64> = {
        use rusqlite::OptionalExtension;
        conn.query_row("SELECT id FROM clv_fits WHERE active = 1", [], |r| r.get(0))
            .optional()?
    };
    let fit = active.ok_or_else(|| Error::bad("no CLV fit yet; run `crmtop clv`"))?;
    let columns = [
        "customer_id",
        "p_alive",
        "expected_transactions",
        "expected_spend",
        "clv",
        "method",
        "rfm",
        "segment",
    ];
    let mut sink = Sink::new(format, columns.iter().map(|s| s.to_string()).collect(), out)?;
    let mut st = conn.prepare(
        "SELECT c.id, v.p_alive, v.exp_txn, v.exp_spend, v.clv, v.method, v.r_score, v.f_score, v.m_score, v.segment
         FROM clv_values v JOIN customers c ON c.cid = v.cid
         WHERE v.fit_id = ?1 ORDER BY v.clv IS NULL, v.clv DESC, c.id",
    )?;
    let mut rows = st.query([fit])?;
    let round = |v: Option<f64>, k: f64| {
        v.map(|x| (x * k).round() / k)
            .map(num)
            .unwrap_or(Value::Null)
    };
    let mut n = 0;
    while let Some(r) = rows.next()? {
        let rfm = match (
            r.get::<_, Option<i64>>(6)?,
            r.get::<_, Option<i64>>(7)?,
            r.get::<_, Option<i64>>(8)?,
        ) {
            (Some(a), Some(b), Some(c)) => Value::String(format!("{a}{b}{c}")),
            _ => Value::Null,
        };
        sink.write(vec![
            Value::String(r.get(0)?),
            round(r.get(1)?, 1e6),
            round(r.get(2)?, 1e6),
            round(r.get(3)?, 100.0),
            round(r.get(4)?, 100.0),
            Value::String(r.get(5)?),
            rfm,
            opt(r.get::<_, Option<String>>(9)?),
        ])?;
        n += 1;
    }
    sink.finish()?;
    Ok(n)
}
