//! A churn score's drivers, packed for a file's scores table.
//!
//! A customer's drivers are the few features that moved their score most:
//! for each, the feature's position in the model, its raw value and its
//! contribution to the log-odds, both rounded to 4 decimals. They used to
//! be stored as JSON text (`[[3,10.723,-0.5426],...]`, about 60 bytes a
//! customer); at a million customers that was 60 MB of every retrain's
//! writes and two thirds of what its commit wrote. Packed, the same
//! figures take about 22 bytes:
//!
//! - a format byte (`1`);
//! - per driver, three unsigned LEB128 varints: the feature's position, then
//!   the value and the contribution, each `zigzag(round(x * 10^4)) << 2 | tag`
//!   where tag 0 is that integer, tag 1 a missing (non-finite) value, and
//!   tag 2 a value too large for an exact integer, whose 8 bytes (f64,
//!   little-endian) follow.
//!
//! Readers get the JSON text back, character for character as it was
//! written before ([`json`]); versions scored before this format kept their
//! text, which reads unchanged. A server keeps the JSON text.

use super::varint::{put_u, unzigzag, zigzag, Reader};
use rusqlite::types::Value;

const FORMAT: u8 = 1;
/// Beyond this, `x * 10^4` is no longer an exact integer in an f64.
const EXACT: f64 = 9.0e15;

const TAG_FIXED: u64 = 0;
const TAG_MISSING: u64 = 1;
const TAG_FLOAT: u64 = 2;

/// Pack drivers given as (feature position, raw value, contribution).
pub fn pack(drivers: impl IntoIterator<Item = (usize, f64, f64)>) -> Vec<u8> {
    let mut out = Vec::with_capacity(24);
    out.push(FORMAT);
    for (j, v, c) in drivers {
        put_u(&mut out, j as u64);
        put_value(&mut out, v);
        put_value(&mut out, c);
    }
    out
}

fn put_value(out: &mut Vec<u8>, v: f64) {
    if !v.is_finite() {
        put_u(out, TAG_MISSING);
        return;
    }
    let k = (v * 10_000.0).round();
    if k.abs() >= EXACT {
        put_u(out, TAG_FLOAT);
        out.extend_from_slice(&v.to_le_bytes());
        return;
    }
    put_u(out, (zigzag(k as i64) << 2) | TAG_FIXED);
}

/// A packed value, as it was packed.
enum Packed {
    Fixed(i64),
    Missing,
    Float(f64),
}

fn value(r: &mut Reader) -> Option<Packed> {
    let u = r.u()?;
    match u & 3 {
        TAG_FIXED => Some(Packed::Fixed(unzigzag(u >> 2))),
        TAG_MISSING => Some(Packed::Missing),
        TAG_FLOAT => Some(Packed::Float(r.f64()?)),
        _ => None,
    }
}

/// The drivers as JSON text (`[[feature, value, contribution], ...]`), the
/// value with trailing zeros trimmed and the contribution with 4 decimals,
/// as they were always written; `None` for bytes that are not packed
/// drivers.
pub fn json(bytes: &[u8]) -> Option<String> {
    if bytes.first() != Some(&FORMAT) {
        return None;
    }
    let mut r = Reader { bytes, at: 1 };
    let mut out = String::with_capacity(64);
    out.push('[');
    let mut first = true;
    while !r.done() {
        let j = r.u()?;
        let v = value(&mut r)?;
        let c = value(&mut r)?;
        if !first {
            out.push(',');
        }
        first = false;
        out.push('[');
        out.push_str(&j.to_string());
        out.push(',');
        write_value(&mut out, v, true);
        out.push(',');
        write_value(&mut out, c, false);
        out.push(']');
    }
    out.push(']');
    Some(out)
}

fn write_value(out: &mut String, v: Packed, trim: bool) {
    use std::fmt::Write as _;
    let k = match v {
        Packed::Missing => {
            out.push_str("null");
            return;
        }
        Packed::Float(v) => {
            // Beyond exact integers: the general formatter.
            let _ = if trim {
                write!(out, "{}", (v * 10_000.0).round() / 10_000.0)
            } else {
                write!(out, "{v:.4}")
            };
            return;
        }
        Packed::Fixed(k) => k,
    };
    if k < 0 {
        out.push('-');
    }
    let a = k.unsigned_abs();
    let (int, mut frac) = (a / 10_000, a % 10_000);
    let _ = write!(out, "{int}");
    let mut digits = 4;
    if trim {
        while digits > 0 && frac % 10 == 0 {
            frac /= 10;
            digits -= 1;
        }
    }
    if digits > 0 {
        let _ = write!(out, ".{frac:0digits$}");
    }
}

/// A stored drivers value as JSON text: packed bytes unpacked, text (a
/// version scored before the packing, or a server's) as it is. Bytes that
/// are not packed drivers read as no drivers (`[]`), never as an error: a
/// score is still shown without its explanation.
pub fn text_of(v: Value) -> String {
    match v {
        Value::Text(t) => t,
        Value::Blob(b) => text(&b),
        _ => "[]".into(),
    }
}

/// Packed drivers as their JSON text; bytes that are not packed drivers as
/// no drivers (`[]`).
pub fn text(bytes: &[u8]) -> String {
    json(bytes).unwrap_or_else(|| "[]".into())
}

/// A row value with packed drivers turned into their JSON text (for copies
/// to a server, which keeps the text).
pub fn as_text(v: Value) -> Value {
    match v {
        Value::Blob(b) => Value::Text(text(&b)),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(d: &[(usize, f64, f64)]) -> String {
        json(&pack(d.iter().copied())).expect("packed drivers")
    }

    #[test]
    fn unpacks_to_the_json_the_scores_always_held() {
        assert_eq!(
            round_trip(&[
                (3, 10.723, -0.5426),
                (5, 40.7413, 0.5023),
                (16, -20.5724, -0.2989)
            ]),
            "[[3,10.723,-0.5426],[5,40.7413,0.5023],[16,-20.5724,-0.2989]]"
        );
        // Trimmed values, fixed contributions, zero, a missing value, a
        // position past one varint byte, rounding to 4 decimals.
        assert_eq!(
            round_trip(&[(0, 6.0, 0.4), (200, f64::NAN, 0.0), (1, 2.50004, -0.00004)]),
            "[[0,6,0.4000],[200,null,0.0000],[1,2.5,0.0000]]"
        );
        assert_eq!(round_trip(&[]), "[]");
        // Too large for exact integers: the general formatter, as before.
        assert_eq!(
            round_trip(&[(2, 1.0e13, 1.0e12)]),
            "[[2,10000000000000,1000000000000.0000]]"
        );
    }

    #[test]
    fn numbers_read_as_the_general_formatter_writes_them() {
        for v in [
            0.0f64, 6.0, 2.5, 464.26714, -0.63694, 0.40604, 1e-5, 123456.0, -3.92, 0.99995, 1e300,
        ] {
            let trimmed = format!("{}", (v * 10_000.0).round() / 10_000.0);
            let fixed = format!("{v:.4}");
            assert_eq!(
                round_trip(&[(0, v, v)]),
                format!("[[0,{trimmed},{fixed}]]"),
                "{v}"
            );
        }
        assert_eq!(round_trip(&[(0, -0.00001, f64::INFINITY)]), "[[0,0,null]]");
    }

    #[test]
    fn is_about_a_third_of_the_json() {
        let d = [
            (3, 10.723, -0.5426),
            (5, 40.7413, 0.5023),
            (16, -20.5724, -0.2989),
        ];
        let packed = pack(d);
        assert!(
            packed.len() * 2 < round_trip(&d).len(),
            "{} bytes",
            packed.len()
        );
    }

    #[test]
    fn text_passes_through_and_damaged_bytes_read_as_no_drivers() {
        assert_eq!(
            text_of(Value::Text("[[1,2,0.3000]]".into())),
            "[[1,2,0.3000]]"
        );
        assert_eq!(text_of(Value::Blob(vec![1, 0x80])), "[]");
        assert_eq!(text_of(Value::Blob(vec![9, 1, 2, 3])), "[]");
        assert_eq!(text_of(Value::Null), "[]");
    }
}
