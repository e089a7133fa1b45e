//! Values between crmtop and the server: a parameter is sent as the type
//! the server inferred for its place, a result's value read by its
//! column's type.

use postgres::types::{IsNull, ToSql, Type};
use rusqlite::types::Value;

/// A parameter, sent as the type the server inferred for its place.
#[derive(Debug)]
pub(super) struct Param<'a>(pub(super) &'a Value);

type BoxError = Box<dyn std::error::Error + Sync + Send>;

pub(super) fn texty(ty: &Type) -> bool {
    matches!(
        *ty,
        Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::UNKNOWN
    )
}

impl ToSql for Param<'_> {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut bytes::BytesMut,
    ) -> std::result::Result<IsNull, BoxError> {
        match self.0 {
            Value::Null => Ok(IsNull::Yes),
            Value::Integer(v) => match *ty {
                Type::INT8 => v.to_sql(ty, out),
                Type::INT4 => i32::try_from(*v)?.to_sql(ty, out),
                Type::INT2 => i16::try_from(*v)?.to_sql(ty, out),
                Type::FLOAT8 => (*v as f64).to_sql(ty, out),
                Type::FLOAT4 => (*v as f32).to_sql(ty, out),
                Type::BOOL => (*v != 0).to_sql(ty, out),
                _ if texty(ty) => v.to_string().as_str().to_sql(ty, out),
                _ => Err(format!("cannot send an integer as {ty}").into()),
            },
            Value::Real(v) => match *ty {
                Type::FLOAT8 => v.to_sql(ty, out),
                Type::FLOAT4 => (*v as f32).to_sql(ty, out),
                _ => Err(format!("cannot send a number as {ty}").into()),
            },
            Value::Text(s) if texty(ty) => s.as_str().to_sql(ty, out),
            // Keys written as the server writes an array ('{1,2,3}'), sent
            // as one: the planner sees every element (a text cast to an
            // array at run time was compared element by element per row).
            Value::Text(s) if *ty == Type::INT8_ARRAY => {
                let keys = s
                    .trim_start_matches('{')
                    .trim_end_matches('}')
                    .split(',')
                    .filter(|k| !k.is_empty())
                    .map(|k| k.trim().parse::<i64>())
                    .collect::<std::result::Result<Vec<i64>, _>>()?;
                keys.to_sql(ty, out)
            }
            Value::Text(_) => Err(format!("cannot send text as {ty}").into()),
            Value::Blob(b) if *ty == Type::BYTEA => b.as_slice().to_sql(ty, out),
            Value::Blob(_) => Err(format!("cannot send bytes as {ty}").into()),
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    postgres::types::to_sql_checked!();
}

/// One value of a result row.
pub(super) fn cell(row: &postgres::Row, i: usize) -> std::result::Result<Value, String> {
    let ty = row.columns()[i].type_();
    let e = |e: postgres::Error| e.to_string();
    let v = match *ty {
        Type::INT8 => row
            .try_get::<_, Option<i64>>(i)
            .map_err(e)?
            .map(Value::Integer),
        Type::INT4 => row
            .try_get::<_, Option<i32>>(i)
            .map_err(e)?
            .map(|v| Value::Integer(v.into())),
        Type::INT2 => row
            .try_get::<_, Option<i16>>(i)
            .map_err(e)?
            .map(|v| Value::Integer(v.into())),
        Type::FLOAT8 => row
            .try_get::<_, Option<f64>>(i)
            .map_err(e)?
            .map(Value::Real),
        Type::FLOAT4 => row
            .try_get::<_, Option<f32>>(i)
            .map_err(e)?
            .map(|v| Value::Real(v.into())),
        Type::BOOL => row
            .try_get::<_, Option<bool>>(i)
            .map_err(e)?
            .map(|v| Value::Integer(v.into())),
        Type::BYTEA => row
            .try_get::<_, Option<Vec<u8>>>(i)
            .map_err(e)?
            .map(Value::Blob),
        _ if texty(ty) => row
            .try_get::<_, Option<String>>(i)
            .map_err(e)?
            .map(Value::Text),
        _ => {
            return Err(format!(
                "column {} has type {ty}, which crmtop does not read",
                row.columns()[i].name()
            ))
        }
    };
    Ok(v.unwrap_or(Value::Null))
}
