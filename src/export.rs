//! `crmtop export`: one row per record to any writer, as CSV or JSON Lines.

use crate::error::{Error, Result};
use crate::pii;
use crate::store::export::{stream, Field, Rows};
use crate::store::sql::Sql;
use crate::timeutil;
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
pub fn customers(conn: &dyn Sql, format: Format, mask: bool, out: &mut dyn Write) -> Result<u64> {
    let acols = crate::store::export::attribute_columns(conn)?;
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
    let mut n = 0;
    stream(conn, Rows::Customers { attrs: &acols }, |f| {
        let name = f[1].text();
        let owner = name.as_deref();
        let mut values = vec![
            Value::String(f[0].text().unwrap_or_default()),
            opt(pii::maybe(mask, owner, pii::name)),
            opt(pii::maybe(mask, f[2].text().as_deref(), pii::email)),
            opt(pii::maybe(mask, f[3].text().as_deref(), pii::phone)),
            opt(f[4].text()),
            // A birth date identifies a person: masked to its year.
            opt(f[5].text().map(|d| {
                if mask {
                    format!("{}-**-**", d.get(..4).unwrap_or("****"))
                } else {
                    d
                }
            })),
            opt(f[6].int()),
            f[7].real().map(num).unwrap_or(Value::Null),
            opt(f[8].text()),
            opt(f[9].text()),
            opt(f[10].text()),
            opt(f[11].int().map(|c| c == 1)),
            opt(f[12].text()),
        ];
        // The attributes, in name order like `attr_names`.
        for (j, a) in attr_names.iter().enumerate() {
            let v = match &f[13 + j] {
                Field::Real(x) => num(*x),
                Field::Int(x) => num(*x as f64),
                Field::Text(t) => Value::String(t.clone()),
                Field::Null => Value::Null,
            };
            values.push(if mask { mask_value(a, v, owner) } else { v });
        }
        sink.write(values)?;
        n += 1;
        Ok(())
    })?;
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
pub fn orders(conn: &dyn Sql, format: Format, out: &mut dyn Write) -> Result<u64> {
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
    let mut n = 0;
    stream(conn, Rows::Orders, |f| {
        sink.write(vec![
            Value::String(f[0].text().unwrap_or_default()),
            Value::String(f[1].text().unwrap_or_default()),
            Value::String(timeutil::ts_to_rfc3339(f[2].int().unwrap_or(0))),
            num(f[3].real().unwrap_or(0.0)),
            f[4].int().unwrap_or(0).into(),
            opt(f[5].text()),
            opt(f[6].text()),
        ])?;
        n += 1;
        Ok(())
    })?;
    sink.finish()?;
    Ok(n)
}

/// Every feedback item with its workflow state.
/// Every feedback item; with `mask`, the e-mail addresses and phone numbers
/// in its free text (text, resolution note, escalation reason) are masked.
pub fn feedback(conn: &dyn Sql, format: Format, mask: bool, out: &mut dyn Write) -> Result<u64> {
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
    let mut n = 0;
    stream(conn, Rows::Feedback, |f| {
        let owner = f[14].text();
        let owner = owner.as_deref();
        sink.write(vec![
            Value::String(f[0].text().unwrap_or_default()),
            Value::String(f[1].text().unwrap_or_default()),
            Value::String(timeutil::ts_to_rfc3339(f[2].int().unwrap_or(0))),
            opt(f[3].text()),
            Value::String(f[4].text().unwrap_or_default()),
            f[5].real().map(num).unwrap_or(Value::Null),
            free(f[6].text(), owner),
            opt(f[7].real().map(|s| (s * 1000.0).round() / 1000.0)),
            Value::String(f[8].text().unwrap_or_default()),
            opt(f[9].text()),
            f[10].int().unwrap_or(0).into(),
            free(f[11].text(), owner),
            opt(f[12].int().map(timeutil::ts_to_rfc3339)),
            free(f[13].text(), owner),
        ])?;
        n += 1;
        Ok(())
    })?;
    sink.finish()?;
    Ok(n)
}

/// The active model's scores, riskiest first: customer, probability, drivers
/// in words, and whether the customer has lapsed (already gone: not at
/// risk, whatever the score; the screens leave them out of the risk lists).
pub fn churn(conn: &dyn Sql, format: Format, mask: bool, out: &mut dyn Write) -> Result<u64> {
    let active = crate::store::export::active_model(conn)?
        .ok_or_else(|| Error::bad("no active churn model; train one with `crmtop train`"))?;
    let params: crate::analytics::churn::Params = serde_json::from_str(&active.params)
        .map_err(|e| Error::Other(format!("model v{} cannot be read back: {e}", active.id)))?;
    let columns = [
        "customer_id",
        "probability",
        "drivers",
        "model_id",
        "lapsed",
    ];
    let mut sink = Sink::new(format, columns.iter().map(|s| s.to_string()).collect(), out)?;
    let mut n = 0;
    let cutoff = crate::store::export::lapsed_cutoff(conn)?;
    stream(conn, Rows::Churn, |f| {
        let lapsed = crate::store::dashboard::is_lapsed(f[3].int(), f[4].int(), cutoff);
        let drivers = f[2].text().unwrap_or_default();
        let words: Vec<String> = crate::analytics::churn::describe_drivers(&params, &drivers, mask)
            .into_iter()
            .map(|(s, c)| format!("{s} ({c:+.2})"))
            .collect();
        let p = f[1].real().unwrap_or(f64::NAN);
        sink.write(vec![
            Value::String(f[0].text().unwrap_or_default()),
            serde_json::Number::from_f64((p * 1e6).round() / 1e6)
                .map(Value::Number)
                .unwrap_or(Value::Null),
            Value::String(words.join("; ")),
            Value::from(active.id),
            Value::String(if lapsed { "yes" } else { "no" }.into()),
        ])?;
        n += 1;
        Ok(())
    })?;
    sink.finish()?;
    Ok(n)
}

/// The active CLV fit's values, highest CLV first.
pub fn clv(conn: &dyn Sql, format: Format, out: &mut dyn Write) -> Result<u64> {
    let fit = crate::store::export::active_clv_fit(conn)?
        .ok_or_else(|| Error::bad("no CLV fit yet; run `crmtop clv`"))?;
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
    let round = |v: Option<f64>, k: f64| {
        v.map(|x| (x * k).round() / k)
            .map(num)
            .unwrap_or(Value::Null)
    };
    let mut n = 0;
    stream(conn, Rows::Clv { fit }, |f| {
        let rfm = match (f[6].int(), f[7].int(), f[8].int()) {
            (Some(a), Some(b), Some(c)) => Value::String(format!("{a}{b}{c}")),
            _ => Value::Null,
        };
        sink.write(vec![
            Value::String(f[0].text().unwrap_or_default()),
            round(f[1].real(), 1e6),
            round(f[2].real(), 1e6),
            round(f[3].real(), 100.0),
            round(f[4].real(), 100.0),
            Value::String(f[5].text().unwrap_or_default()),
            rfm,
            opt(f[9].text()),
        ])?;
        n += 1;
        Ok(())
    })?;
    sink.finish()?;
    Ok(n)
}
