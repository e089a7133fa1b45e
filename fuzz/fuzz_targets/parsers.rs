//! The date, number, boolean, header and kind parsers on any text: no panic,
//! and what they accept is in range.
#![no_main]

use crmtop::ingest::fields;
use crmtop::timeutil;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let s = String::from_utf8_lossy(data);
    if let Some(d) = timeutil::parse_date(&s) {
        assert_eq!(
            timeutil::parse_date(&d.format("%Y-%m-%d").to_string()),
            Some(d)
        );
    }
    if let Some(ts) = timeutil::parse_timestamp(&s) {
        assert_eq!(timeutil::ts_to_day_string(ts).len(), 10);
    }
    if let Ok(v) = fields::parse_amount(&s) {
        assert!(v.is_finite() && v.abs() <= fields::MAX_AMOUNT);
    }
    if let Ok(q) = fields::parse_quantity(&s) {
        assert!(q >= 0);
    }
    if let Ok(a) = fields::parse_age(&s) {
        assert!((0..=130).contains(&a));
    }
    let _ = fields::parse_bool(&s);
    let _ = fields::normalise_header(&s);
    assert!(fields::clip(&s).chars().count() <= 41);
    let _ = crmtop::store::search::normalise(&s);
});
