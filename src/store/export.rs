//! The reads behind `crmtop export`: each table's rows streamed in export
//! order as plain fields (the formatting, masking and CSV/JSON writing are
//! `crate::export`'s).

use crate::error::{Error, Result};
use crate::store::sql::Sql;
use rusqlite::types::ValueRef;
use rusqlite::{Connection, OptionalExtension};

/// One value of an exported row.
#[derive(Debug, Clone, PartialEq)]
pub enum Field {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
}

impl Field {
    fn of(v: ValueRef<'_>) -> Field {
        match v {
            ValueRef::Integer(i) => Field::Int(i),
            ValueRef::Real(x) => Field::Real(x),
            ValueRef::Text(t) | ValueRef::Blob(t) => {
                Field::Text(String::from_utf8_lossy(t).into_owned())
            }
            ValueRef::Null => Field::Null,
        }
    }

    /// The text, if the value is one.
    pub fn text(&self) -> Option<String> {
        match self {
            Field::Text(t) => Some(t.clone()),
            _ => None,
        }
    }

    /// The value as a whole number (a stored real is truncated).
    pub fn int(&self) -> Option<i64> {
        match *self {
            Field::Int(i) => Some(i),
            Field::Real(x) => Some(x as i64),
            _ => None,
        }
    }

    /// The value as a number.
    pub fn real(&self) -> Option<f64> {
        match *self {
            Field::Int(i) => Some(i as f64),
            Field::Real(x) => Some(x),
            _ => None,
        }
    }
}

/// What to export.
pub enum Rows<'a> {
    /// id, name, email, phone, signup_date, birth_date, age, income, region,
    /// plan, segment, churned, cancelled_at, then the attributes `attrs`.
    Customers {
        attrs: &'a [super::attributes::Column],
    },
    /// order_key, customer id, ts, amount, quantity, product, category.
    Orders,
    /// id, customer id, created_at, channel, kind, score, text, sentiment,
    /// status, assignee, version, resolution_note, resolved_at,
    /// escalation_reason, customer name.
    Feedback,
    /// customer id, probability, drivers JSON: the active model, riskiest first.
    Churn,
    /// customer id, p_alive, exp_txn, exp_spend, clv, method, r, f, m
    /// scores, segment: the fit's values, highest CLV first.
    Clv { fit: i64 },
}

/// Stream the rows of `what` through `each`, in export order, from a file
/// or a server (which keeps only the active CLV fit's values).
pub fn stream(
    conn: &dyn Sql,
    what: Rows,
    mut each: impl FnMut(&[Field]) -> Result<()>,
) -> Result<()> {
    match (conn.sqlite(), conn.postgres()) {
        (Some(c), _) => stream_file(c, what, each),
        (None, Some(pg)) => {
            // A customer's attributes: two columns each on a server (a
            // number, a text), one field in the export.
            let mut attrs_at = None;
            let customers;
            let sql = match what {
                Rows::Customers { attrs } => {
                    let engine = super::sql::Engine::Postgres;
                    let list: String = attrs
                        .iter()
                        .map(|c| format!(", {}", c.select(engine, "a")))
                        .collect();
                    attrs_at = Some((13, attrs.len()));
                    // sql-format-ok: attribute columns named after our own integers.
                    customers = format!(
                        "SELECT c.id, c.name, c.email, c.phone, c.signup_date, c.birth_date, c.age, c.income,
                                c.region, c.plan, c.segment, c.churned, c.cancelled_at{list}
                         FROM customers c LEFT JOIN customer_attrs a ON a.cid = c.cid ORDER BY c.cid"
                    );
                    customers.as_str()
                }
                Rows::Orders => {
                    "SELECT o.order_key, c.id, o.ts, o.amount, o.quantity, o.product, o.category
                     FROM orders o JOIN customers c ON c.cid = o.cid ORDER BY o.oid"
                }
                Rows::Feedback => {
                    "SELECT f.id, c.id, f.created_at, f.channel, f.kind, f.score, f.text, f.sentiment,
                            f.status, f.assignee, f.version, f.resolution_note, f.resolved_at,
                            f.escalation_reason, c.name
                     FROM feedback f JOIN customers c ON c.cid = f.cid ORDER BY f.fid"
                }
                // The active version's scores, riskiest first (ties by id,
                // in bytes, as a file orders them).
                Rows::Churn => {
                    "SELECT c.id, s.prob, s.drivers, c.churned, c.last_order
                     FROM churn_scores s JOIN models m ON m.id = s.model_id AND m.active
                     JOIN customers c ON c.cid = s.cid
                     ORDER BY s.prob DESC, c.id COLLATE \"C\""
                }
                // The active fit's values (the server keeps no other),
                // highest first, ties by id in bytes as a file orders them.
                Rows::Clv { .. } => {
                    "SELECT c.id, v.p_alive, v.exp_txn, v.exp_spend, v.clv, v.method,
                            v.r_score, v.f_score, v.m_score, v.segment
                     FROM active_clv v JOIN customers c ON c.cid = v.cid
                     ORDER BY v.clv IS NULL, v.clv DESC, c.id COLLATE \"C\""
                }
            };
            let mut fields = Vec::new();
            pg.each(sql, &[], &mut |r| {
                fields.clear();
                match attrs_at {
                    Some((at, n)) => {
                        fields.extend(r.0.iter().take(at).map(|v| Field::of(ValueRef::from(v))));
                        for j in 0..n {
                            let v = super::attributes::cell(r, super::sql::Engine::Postgres, at, j);
                            fields.push(Field::of(ValueRef::from(&v)));
                        }
                    }
                    None => fields.extend(r.0.iter().map(|v| Field::of(ValueRef::from(v)))),
                }
                each(&fields)
            })
        }
        (None, None) => Err(Error::Other("export: no connection".into())),
    }
}

fn stream_file(
    conn: &Connection,
    what: Rows,
    mut each: impl FnMut(&[Field]) -> Result<()>,
) -> Result<()> {
    let sql = match &what {
        Rows::Customers { attrs } => {
            let attr_list: String = attrs.iter().map(|c| format!(", a.{}", c.sql())).collect();
            // sql-format-ok: attribute columns named after our own integers.
            format!(
                "SELECT c.id, c.name, c.email, c.phone, c.signup_date, c.birth_date, c.age, c.income,
                        c.region, c.plan, c.segment, c.churned, c.cancelled_at{attr_list}
                 FROM customers c LEFT JOIN customer_attrs a ON a.cid = c.cid ORDER BY c.cid"
            )
        }
        Rows::Orders => {
            "SELECT o.order_key, c.id, o.ts, o.amount, o.quantity, o.product, o.category
             FROM orders o JOIN customers c ON c.cid = o.cid ORDER BY o.oid"
                .into()
        }
        Rows::Feedback => {
            "SELECT f.id, c.id, f.created_at, f.channel, f.kind, f.score, f.text, f.sentiment,
                    f.status, f.assignee, f.version, f.resolution_note, f.resolved_at,
                    f.escalation_reason, c.name
             FROM feedback f JOIN customers c ON c.cid = f.cid ORDER BY f.fid"
                .into()
        }
        Rows::Churn => "SELECT c.id, s.prob, s.drivers, c.churned, c.last_order FROM active_rank r
               JOIN active_churn s ON s.cid = r.cid JOIN customers c ON c.cid = r.cid
             ORDER BY r.prob DESC, c.id"
            .into(),
        // sql-format-ok: a table name built from our own integer key.
        Rows::Clv { fit } => format!(
            "SELECT c.id, v.p_alive, v.exp_txn, v.exp_spend, v.clv, v.method,
                    v.r_score, v.f_score, v.m_score, v.segment
             FROM {} v JOIN customers c ON c.cid = v.cid
             ORDER BY v.clv IS NULL, v.clv DESC, c.id",
            super::clv_values::values_table(*fit)
        ),
    };
    let mut st = conn.prepare(&sql)?;
    let n = st.column_count();
    let mut rows = st.query([])?;
    let mut fields = Vec::with_capacity(n);
    while let Some(r) = rows.next()? {
        fields.clear();
        for i in 0..n {
            match (&what, i, r.get_ref(i)?) {
                // The drivers, packed in the scores (store::drivers), as JSON.
                (Rows::Churn, 2, ValueRef::Blob(b)) => {
                    fields.push(Field::Text(super::drivers::text(b)))
                }
                (_, _, v) => fields.push(Field::of(v)),
            }
        }
        each(&fields)?;
    }
    Ok(())
}

/// The active CLV fit, if any.
pub fn active_clv_fit(conn: &dyn Sql) -> Result<Option<i64>> {
    let Some(conn) = conn.sqlite() else {
        return match conn.row("SELECT id FROM clv_fits WHERE active", &[])? {
            Some(r) => Ok(Some(r.i64(0)?)),
            None => Ok(None),
        };
    };
    Ok(conn
        .query_row("SELECT id FROM clv_fits WHERE active = 1", [], |r| r.get(0))
        .optional()?)
}

/// The attribute columns to export.
pub fn attribute_columns(conn: &dyn Sql) -> Result<Vec<super::attributes::Column>> {
    super::attributes::columns(conn)
}

/// The active churn model, on either engine.
pub fn active_model(conn: &dyn Sql) -> Result<Option<super::models::ModelRow>> {
    match (conn.sqlite(), conn.postgres()) {
        (Some(c), _) => super::models::active(c),
        (None, Some(pg)) => super::pg::models::get(pg, None),
        (None, None) => Ok(None),
    }
}

/// The lapsed customers' cutoff now, on either engine.
pub fn lapsed_cutoff(conn: &dyn Sql) -> Result<Option<i64>> {
    Ok(super::dashboard::lapsed_cutoff(
        super::customers::latest_order(conn)?,
    ))
}
