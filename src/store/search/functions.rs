//! The SQL functions a file's lists use beside the in-memory search.

use crate::error::Result;
use rusqlite::functions::FunctionFlags;
use rusqlite::types::ValueRef;
use rusqlite::Connection;

/// Register `crmtop_bit(bits, n)`: whether bit `n` of the BLOB `bits` is
/// set; and `crmtop_fold(text)`: the text folded as the search folds it
/// (`store::fold`; NULL stays NULL).
pub fn register_functions(conn: &Connection) -> Result<()> {
    conn.create_scalar_function(
        "crmtop_fold",
        1,
        FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC,
        |ctx| {
            Ok(match ctx.get_raw(0) {
                ValueRef::Text(t) => Some(crate::store::fold::fold(&String::from_utf8_lossy(t))),
                ValueRef::Null => None,
                other => Some(crate::store::fold::fold(&match other {
                    ValueRef::Integer(i) => i.to_string(),
                    ValueRef::Real(r) => r.to_string(),
                    _ => String::new(),
                })),
            })
        },
    )?;
    conn.create_scalar_function(
        "crmtop_bit",
        2,
        FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC,
        |ctx| {
            let n: i64 = ctx.get(1)?;
            let set = match ctx.get_raw(0) {
                ValueRef::Blob(b) if n >= 0 => b
                    .get(n as usize / 8)
                    .is_some_and(|byte| byte & (1 << (n as usize % 8)) != 0),
                _ => false,
            };
            Ok(set)
        },
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fold_in_sql_folds_as_the_search_does() {
        let c = Connection::open_in_memory().unwrap();
        register_functions(&c).unwrap();
        let folded = |sql: &str| -> Option<String> { c.query_row(sql, [], |r| r.get(0)).unwrap() };
        assert_eq!(
            folded("SELECT crmtop_fold('Łukasz Søren-José')").as_deref(),
            Some("lukasz soren-jose")
        );
        assert_eq!(folded("SELECT crmtop_fold(NULL)"), None);
        assert_eq!(folded("SELECT crmtop_fold(42)").as_deref(), Some("42"));
        let n: i64 = c
            .query_row("SELECT crmtop_fold('Ærø') LIKE '%aero%'", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(n, 1);
    }
}
