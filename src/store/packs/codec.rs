//! The bytes of one customer's pack: its rows of `order_days`, `event_days`
//! and `feedback_days`, in key order, as varints.
//!
//! ```text
//! format byte (1)
//! orders:   count, then per day: day (zigzag, from the previous day),
//!           n, spend (real), first - day start, last - first
//! events:   count, then per day and kind: day (as above), kind (its number
//!           in history_kinds), n, value (real)
//! feedback: count, then per day: day (as above), n, complaints, score sum
//!           (real), scores, sentiment sum (real), sentiments, last - day start
//! ```
//!
//! Integers are zigzag varints (any i64 round-trips, so a damaged row packs
//! and unpacks as it is and `doctor` sees it). A real is a tag byte and its
//! value: a whole number (0) or a whole number of hundredths (1) as a
//! zigzag varint when that gives back the same f64 bit for bit, else its 8
//! bytes (2). Unpacking gives back every row exactly.

use crate::error::{Error, Result};
use crate::store::history::{FeedbackDay, OrderDay};
use crate::store::varint::{put_i, put_u, Reader};
use crate::timeutil::DAY;

const FORMAT: u8 = 1;
/// Below this, every integer is an f64 exactly.
const EXACT: f64 = 9_007_199_254_740_992.0;

/// A customer's events of one kind on one day (`event_days`, the kind by
/// its number in `history_kinds`).
#[derive(Debug, Clone, PartialEq)]
pub struct EventDay {
    pub day: i64,
    pub kind: u32,
    pub n: i64,
    pub value: f64,
}

/// One customer's daily sums, in key order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CustomerDays {
    pub cid: i64,
    pub orders: Vec<OrderDay>,
    pub events: Vec<EventDay>,
    pub feedback: Vec<FeedbackDay>,
}

impl CustomerDays {
    pub fn clear(&mut self, cid: i64) {
        self.cid = cid;
        self.orders.clear();
        self.events.clear();
        self.feedback.clear();
    }

    pub fn is_empty(&self) -> bool {
        self.orders.is_empty() && self.events.is_empty() && self.feedback.is_empty()
    }
}

fn put_real(out: &mut Vec<u8>, x: f64) {
    let plain = |k: f64| k.abs() < EXACT && !(k == 0.0 && k.is_sign_negative());
    if x.fract() == 0.0 && plain(x) {
        out.push(0);
        put_i(out, x as i64);
        return;
    }
    let cents = (x * 100.0).round();
    if cents.is_finite() && plain(cents) && cents / 100.0 == x {
        out.push(1);
        put_i(out, cents as i64);
        return;
    }
    out.push(2);
    out.extend_from_slice(&x.to_le_bytes());
}

/// `days` packed into `out` (cleared first).
pub fn encode(days: &CustomerDays, out: &mut Vec<u8>) {
    out.clear();
    out.push(FORMAT);
    put_u(out, days.orders.len() as u64);
    let mut prev = 0i64;
    for o in &days.orders {
        put_i(out, o.day.wrapping_sub(prev));
        prev = o.day;
        put_i(out, o.n);
        put_real(out, o.spend);
        put_i(out, o.first.wrapping_sub(o.day.wrapping_mul(DAY)));
        put_i(out, o.last.wrapping_sub(o.first));
    }
    put_u(out, days.events.len() as u64);
    let mut prev = 0i64;
    for e in &days.events {
        put_i(out, e.day.wrapping_sub(prev));
        prev = e.day;
        put_u(out, u64::from(e.kind));
        put_i(out, e.n);
        put_real(out, e.value);
    }
    put_u(out, days.feedback.len() as u64);
    let mut prev = 0i64;
    for f in &days.feedback {
        put_i(out, f.day.wrapping_sub(prev));
        prev = f.day;
        put_i(out, f.n);
        put_i(out, f.complaints);
        put_real(out, f.score_sum);
        put_i(out, f.score_n);
        put_real(out, f.sentiment_sum);
        put_i(out, f.sentiment_n);
        put_i(out, f.last.wrapping_sub(f.day.wrapping_mul(DAY)));
    }
}

/// A count of entries, each at least `min` bytes long: a count the
/// remaining bytes cannot hold is damage, not an allocation to try.
fn count(b: &mut Reader, min: usize) -> Option<usize> {
    let n = usize::try_from(b.u()?).ok()?;
    (n <= b.left() / min).then_some(n)
}

fn real(b: &mut Reader) -> Option<f64> {
    match b.byte()? {
        0 => Some(b.i()? as f64),
        1 => Some(b.i()? as f64 / 100.0),
        2 => b.f64(),
        _ => None,
    }
}

/// Unpack customer `cid`'s `pack` into `into`.
pub fn decode(cid: i64, pack: &[u8], into: &mut CustomerDays) -> Result<()> {
    into.clear(cid);
    decode_into(pack, into).ok_or_else(|| {
        Error::Other(format!(
            "the packed history of customer {cid} is damaged; `crmtop doctor --fix` packs it again"
        ))
    })
}

fn decode_into(pack: &[u8], into: &mut CustomerDays) -> Option<()> {
    let cid = into.cid;
    let mut b = Reader::new(pack);
    if b.byte()? != FORMAT {
        return None;
    }
    let n = count(&mut b, 5)?;
    into.orders.reserve(n);
    let mut day = 0i64;
    for _ in 0..n {
        day = day.wrapping_add(b.i()?);
        let n = b.i()?;
        let spend = real(&mut b)?;
        let first = day.wrapping_mul(DAY).wrapping_add(b.i()?);
        let last = first.wrapping_add(b.i()?);
        into.orders.push(OrderDay {
            cid,
            day,
            n,
            spend,
            first,
            last,
        });
    }
    let n = count(&mut b, 4)?;
    into.events.reserve(n);
    let mut day = 0i64;
    for _ in 0..n {
        day = day.wrapping_add(b.i()?);
        let kind = u32::try_from(b.u()?).ok()?;
        let n = b.i()?;
        let value = real(&mut b)?;
        into.events.push(EventDay {
            day,
            kind,
            n,
            value,
        });
    }
    let n = count(&mut b, 9)?;
    into.feedback.reserve(n);
    let mut day = 0i64;
    for _ in 0..n {
        day = day.wrapping_add(b.i()?);
        let n = b.i()?;
        let complaints = b.i()?;
        let score_sum = real(&mut b)?;
        let score_n = b.i()?;
        let sentiment_sum = real(&mut b)?;
        let sentiment_n = b.i()?;
        let last = day.wrapping_mul(DAY).wrapping_add(b.i()?);
        into.feedback.push(FeedbackDay {
            cid,
            day,
            n,
            complaints,
            score_sum,
            score_n,
            sentiment_sum,
            sentiment_n,
            last,
        });
    }
    b.done().then_some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> CustomerDays {
        let reals = [
            0.0,
            12.0,
            12.34,
            0.1 + 0.2,
            -7.5,
            1e300,
            f64::NAN,
            -0.0,
            f64::INFINITY,
            123_456_789.01,
            1.0 / 3.0,
        ];
        let mut d = CustomerDays {
            cid: 42,
            ..Default::default()
        };
        for (k, &x) in reals.iter().enumerate() {
            let day = -3 + 7 * k as i64;
            d.orders.push(OrderDay {
                cid: 42,
                day,
                n: k as i64 + 1,
                spend: x,
                first: day * DAY + 5 * k as i64,
                last: day * DAY + 86_399 - k as i64,
            });
            d.events.push(EventDay {
                day,
                kind: k as u32 * 1000,
                n: 2,
                value: x,
            });
            d.feedback.push(FeedbackDay {
                cid: 42,
                day,
                n: 3,
                complaints: 1,
                score_sum: x,
                score_n: 2,
                sentiment_sum: -x,
                sentiment_n: i64::MAX,
                last: day * DAY + 17,
            });
        }
        // A damaged row (a last before its day) packs as it is.
        d.orders.push(OrderDay {
            cid: 42,
            day: 900,
            n: -1,
            spend: 1.0,
            first: i64::MIN,
            last: i64::MAX,
        });
        d
    }

    fn same_bits(a: &CustomerDays, b: &CustomerDays) -> bool {
        let f = |x: f64| x.to_bits();
        a.cid == b.cid
            && a.orders.len() == b.orders.len()
            && a.orders.iter().zip(&b.orders).all(|(x, y)| {
                (x.cid, x.day, x.n, f(x.spend), x.first, x.last)
                    == (y.cid, y.day, y.n, f(y.spend), y.first, y.last)
            })
            && a.events.len() == b.events.len()
            && a.events
                .iter()
                .zip(&b.events)
                .all(|(x, y)| (x.day, x.kind, x.n, f(x.value)) == (y.day, y.kind, y.n, f(y.value)))
            && a.feedback.len() == b.feedback.len()
            && a.feedback.iter().zip(&b.feedback).all(|(x, y)| {
                (
                    x.day,
                    x.n,
                    x.complaints,
                    f(x.score_sum),
                    x.score_n,
                    f(x.sentiment_sum),
                    x.sentiment_n,
                    x.last,
                ) == (
                    y.day,
                    y.n,
                    y.complaints,
                    f(y.score_sum),
                    y.score_n,
                    f(y.sentiment_sum),
                    y.sentiment_n,
                    y.last,
                )
            })
    }

    #[test]
    fn every_row_comes_back_bit_for_bit() {
        let d = sample();
        let mut bytes = Vec::new();
        encode(&d, &mut bytes);
        let mut back = CustomerDays::default();
        decode(42, &bytes, &mut back).expect("decode");
        assert!(same_bits(&d, &back), "{d:?}\n{back:?}");
        // Money and whole numbers take a few bytes, not eight.
        let mut small = Vec::new();
        put_real(&mut small, 12.34);
        assert_eq!(small.len(), 3);
        // An empty history is four bytes.
        encode(&CustomerDays::default(), &mut bytes);
        assert_eq!(bytes, [1, 0, 0, 0]);
    }

    #[test]
    fn damaged_bytes_are_an_error_not_a_panic() {
        let mut bytes = Vec::new();
        encode(&sample(), &mut bytes);
        let mut back = CustomerDays::default();
        for cut in 0..bytes.len() {
            assert!(
                decode(42, &bytes[..cut], &mut back).is_err(),
                "cut at {cut}"
            );
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(decode(42, &longer, &mut back).is_err());
        let mut other = bytes.clone();
        other[0] = 9;
        let err = decode(42, &other, &mut back).expect_err("format");
        assert!(err.to_string().contains("customer 42"), "{err}");
        // A count far beyond the bytes is refused before any allocation.
        assert!(decode(42, &[1, 0xff, 0xff, 0xff, 0xff, 0x0f], &mut back).is_err());
    }
}
