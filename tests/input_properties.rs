//! Bad input, tried widely (proptest; the longer coverage-guided runs are
//! in `fuzz/`): the date and number parsers on any text, and whole CSV files
//! of random cells (quotes, delimiters, newlines, invalid UTF-8, very long
//! fields, missing and extra columns) imported for real. Nothing panics,
//! every row read is accounted for (inserted, updated, unchanged or
//! rejected with a reason in the reject file), and a re-import changes
//! nothing.

mod common;
use common::TempDb;
use crmtop::ingest::{fields, Kind};
use crmtop::timeutil;
use proptest::prelude::*;

/// `cases` here; PROPTEST_CASES=N for a longer run.
fn config(cases: u32) -> ProptestConfig {
    // On a server each case is a database of its own (created and dropped):
    // fewer cases there.
    let cases = if common::engine_is_postgres() {
        cases.min(24)
    } else {
        cases
    };
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(cases);
    ProptestConfig {
        // Failing cases are kept in tests/input_properties.proptest-regressions.
        failure_persistence: Some(Box::new(
            proptest::test_runner::FileFailurePersistence::WithSource("proptest-regressions"),
        )),
        ..ProptestConfig::with_cases(cases)
    }
}

proptest! {
    #![proptest_config(config(2000))]

    #[test]
    fn date_parsers_take_any_text(s in "\\PC{0,40}") {
        if let Some(d) = timeutil::parse_date(&s) {
            // A date read back from its canonical form is the same date.
            prop_assert_eq!(timeutil::parse_date(&d.format("%Y-%m-%d").to_string()), Some(d));
        }
        if let Some(ts) = timeutil::parse_timestamp(&s) {
            // Years 1000-9999 only: the day string has four digits.
            prop_assert_eq!(timeutil::ts_to_day_string(ts).len(), 10);
        }
    }

    #[test]
    fn date_like_text_parses_or_is_refused(
        y in 0u32..12000, m in 0u32..15, d in 0u32..40, h in 0u32..30, mi in 0u32..70,
        sep in prop::sample::select(vec!["-", "", "/", "."]),
        tail in prop::sample::select(vec!["", "Z", "+02:00", "T10:00:00Z", " 10:30", "x"]),
    ) {
        let s = format!("{y:04}{sep}{m:02}{sep}{d:02}{tail}");
        let ok = timeutil::parse_timestamp(&s);
        if let Some(ts) = ok {
            let day = timeutil::ts_to_date(ts);
            prop_assert!((1000..=9999).contains(&chrono::Datelike::year(&day)));
        }
        let t = format!("{y:04}-{m:02}-{d:02}T{h:02}:{mi:02}:00Z");
        let valid = (1000..=9999).contains(&y)
            && chrono::NaiveDate::from_ymd_opt(y as i32, m, d).is_some()
            && h < 24 && mi < 60;
        prop_assert_eq!(timeutil::parse_timestamp(&t).is_some(), valid, "{}", t);
    }

    #[test]
    fn number_parsers_take_any_text(s in "\\PC{0,30}") {
        if let Ok(v) = fields::parse_amount(&s) {
            prop_assert!(v.is_finite() && v.abs() <= fields::MAX_AMOUNT);
        }
        if let Ok(q) = fields::parse_quantity(&s) {
            prop_assert!(q >= 0);
        }
        if let Ok(a) = fields::parse_age(&s) {
            prop_assert!((0..=130).contains(&a));
        }
        let _ = fields::parse_bool(&s);
        let _ = fields::normalise_header(&s);
        prop_assert!(fields::clip(&s).chars().count() <= 41);
    }

    #[test]
    fn numbers_round_trip(x in -1e12f64..1e12, q in 0i64..1_000_000_000) {
        let text = format!("{x}");
        prop_assert_eq!(fields::parse_amount(&text), Ok(x));
        prop_assert_eq!(fields::parse_amount(&format!("  {x} ")), Ok(x));
        prop_assert_eq!(fields::parse_quantity(&q.to_string()), Ok(q));
        let negative = format!("-{}", q + 1);
        prop_assert!(fields::parse_quantity(&negative).is_err());
    }
}

/// One cell: mostly plausible values, often hostile ones.
fn cell() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => "[A-Z][0-9]{1,4}".prop_map(String::into_bytes),
        2 => "20[0-9]{2}-[01][0-9]-[0-3][0-9]".prop_map(String::into_bytes),
        2 => "-?[0-9]{1,6}(\\.[0-9]{1,3})?".prop_map(String::into_bytes),
        1 => Just(Vec::new()),
        1 => "\\PC{0,20}".prop_map(String::into_bytes),
        1 => prop::collection::vec(any::<u8>(), 0..12),
        1 => Just(b"\"quoted, with a comma\"".to_vec()),
        1 => Just(b"\"a\nnew line\"".to_vec()),
        1 => Just(b"\"unbalanced".to_vec()),
        1 => Just(vec![b'x'; 12_000]),
        1 => prop::sample::select(vec!["complaint", "question", "praise", "nps", "login", "yes", "0"])
            .prop_map(|s| s.as_bytes().to_vec()),
    ]
}

fn header(kind: Kind) -> &'static str {
    match kind {
        Kind::Customers => "id,name,email,signup_date,age,income,churned,tier",
        Kind::Orders => "id,customer_id,timestamp,amount,quantity",
        Kind::Feedback => "id,customer_id,created_at,kind,score,text",
        Kind::Events => "customer_id,occurred_at,kind,value",
    }
}

/// A file: the header, then rows of roughly its width (some wrong), joined
/// by \n or \r\n, perhaps with a BOM.
fn file(kind: Kind) -> impl Strategy<Value = Vec<u8>> {
    let width = header(kind).split(',').count();
    (
        any::<bool>(),
        any::<bool>(),
        prop::collection::vec(
            prop::collection::vec(cell(), (width - 1)..=(width + 1)),
            0..40,
        ),
    )
        .prop_map(move |(bom, crlf, rows)| {
            let nl: &[u8] = if crlf { b"\r\n" } else { b"\n" };
            let mut out = Vec::new();
            if bom {
                out.extend_from_slice("\u{feff}".as_bytes());
            }
            out.extend_from_slice(header(kind).as_bytes());
            for r in rows {
                out.extend_from_slice(nl);
                out.extend_from_slice(&r.join(&b","[..]));
            }
            out.extend_from_slice(nl);
            out
        })
}

fn rejects_in(db: &TempDb) -> u64 {
    match csv::ReaderBuilder::new()
        .flexible(true)
        .from_path(db.file("rejects.csv"))
    {
        Ok(mut r) => r.byte_records().count() as u64,
        Err(_) => 0,
    }
}

fn import_holds_up(kind: Kind, bytes: &[u8]) -> Result<(), TestCaseError> {
    let db = TempDb::new().on_engine();
    let path = db.file("input.csv");
    std::fs::write(&path, bytes).unwrap();
    let table = match kind {
        Kind::Customers => "customers",
        Kind::Orders => "orders",
        Kind::Feedback => "feedback",
        Kind::Events => "events",
    };
    let s = match db.import(kind, &path) {
        Ok(s) => s,
        // A file that cannot be read at all is refused and writes nothing.
        Err(crmtop::Error::File { .. }) => {
            prop_assert_eq!(db.count("SELECT count(*) FROM customers"), 0);
            return Ok(());
        }
        Err(e) => return Err(TestCaseError::fail(format!("unexpected error: {e}"))),
    };
    // Every row read is accounted for, and every rejected one is on file.
    prop_assert_eq!(s.read, s.inserted + s.updated + s.unchanged + s.rejected);
    prop_assert_eq!(rejects_in(&db), s.rejected);
    // (Updated: a later row of the file with the id of an earlier one.)
    prop_assert_eq!(
        db.count(&format!("SELECT count(*) FROM {table}")) as u64,
        s.inserted
    );
    let _ = std::fs::remove_file(db.file("rejects.csv"));
    let again = db.import(kind, &path).unwrap();
    prop_assert_eq!(again.inserted, 0);
    prop_assert_eq!(again.rejected, s.rejected);
    Ok(())
}

proptest! {
    #![proptest_config(config(64))]

    #[test]
    fn random_customer_files_lose_nothing(bytes in file(Kind::Customers)) {
        import_holds_up(Kind::Customers, &bytes)?;
    }

    #[test]
    fn random_order_files_lose_nothing(bytes in file(Kind::Orders)) {
        import_holds_up(Kind::Orders, &bytes)?;
    }

    #[test]
    fn random_feedback_files_lose_nothing(bytes in file(Kind::Feedback)) {
        import_holds_up(Kind::Feedback, &bytes)?;
    }

    #[test]
    fn random_event_files_lose_nothing(bytes in file(Kind::Events)) {
        import_holds_up(Kind::Events, &bytes)?;
    }
}
