//! The customers' own records for training (what a customer is,
//! independent of time), read from their table, in parts in parallel on a
//! large file.

use super::*;
use crate::cid_index::CidIndex;
use crate::error::Result;
use crate::store::history::{self, Source as DataSource};
use crate::timeutil;

/// Customers, placed by cid.
pub(super) fn load_customers(
    src: &DataSource,
    by_cid: &CidIndex,
    cids: &[i64],
) -> Result<(Vec<Static>, Interner)> {
    // Two parts of a file's table from 100,000 customers, read in parallel
    // (the customers' rows were the last of training's reads to finish).
    let parts = match src {
        DataSource::File(_) if cids.len() >= 100_000 => 2,
        _ => 1,
    };
    load_customers_in(src, by_cid, cids, parts)
}

/// `load_customers` in `parts` parts, each with texts of its own, joined
/// after.
fn load_customers_in(
    src: &DataSource,
    by_cid: &CidIndex,
    cids: &[i64],
    parts: usize,
) -> Result<(Vec<Static>, Interner)> {
    let mut customers: Vec<Static> = cids
        .iter()
        .map(|&cid| Static {
            cid,
            ..Default::default()
        })
        .collect();
    let size = cids.len().div_ceil(parts).max(1);
    let read = |base: usize, part: &mut [Static]| -> Result<Interner> {
        let mut strings = Interner::default();
        let date = |t: Option<&str>| t.and_then(timeutil::parse_date).map(timeutil::date_to_ts);
        let keys = match (part.first(), part.last(), parts) {
            (Some(a), Some(b), 2..) if matches!(src, DataSource::File(_)) => Some((a.cid, b.cid)),
            _ => None,
        };
        history::scan_customers(src, keys, |r| {
            let Some(c) = by_cid
                .get(r.cid)
                .and_then(|i| i.checked_sub(base))
                .and_then(|i| part.get_mut(i))
            else {
                return Ok(());
            };
            c.since = r.since;
            c.signup = date(r.signup_date);
            c.age = r.age;
            c.birth = date(r.birth_date);
            c.income = r.income;
            c.region = r.region.map(|t| strings.id(&t));
            c.plan = r.plan.map(|t| strings.id(&t));
            c.segment = r.segment.map(|t| strings.id(&t));
            c.churned = r.churned;
            Ok(())
        })?;
        Ok(strings)
    };
    let results = crate::parallel::each_part(
        customers.chunks_mut(size).enumerate().collect(),
        "a customers reader",
        |(k, part)| read(k * size, part),
    )?;
    let mut strings = Interner::default();
    for (part, texts) in customers.chunks_mut(size).zip(results) {
        let remap: Vec<u32> = texts.strings.iter().map(|t| strings.id(t)).collect();
        let to = |id: Option<u32>| id.and_then(|i| remap.get(i as usize).copied());
        for c in part {
            c.region = to(c.region);
            c.plan = to(c.plan);
            c.segment = to(c.segment);
        }
    }
    Ok((customers, strings))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jobs::Ctl;

    /// Read in parts, the customers are what one read gives: every field
    /// in place, texts the same through one interner.
    #[test]
    fn customers_read_in_parts_are_the_customers_read_whole() {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = dir.path().join("c.db");
        let csv = dir.path().join("c.csv");
        let mut text =
            String::from("id,signup_date,birth_date,age,income,region,plan,segment,churned\n");
        for i in 0..41 {
            let region = ["North", "South", "", "West"][i % 4];
            let plan = ["basic", "", "premium"][i % 3];
            let segment = if i > 30 { "late" } else { "" };
            let signup = if i % 6 == 0 {
                String::new()
            } else {
                format!("2024-01-{:02}", i % 28 + 1)
            };
            let churned = ["yes", "no", ""][i % 3];
            text.push_str(&format!(
                "K{i:03},{signup},1980-05-{:02},{},{}.5,{region},{plan},{segment},{churned}\n",
                i % 28 + 1,
                20 + i,
                1000 * i
            ));
        }
        std::fs::write(&csv, text).expect("csv");
        let mut store = crate::store::open(&db, crate::store::Mode::ReadWrite).expect("open");
        let opts = crate::ingest::ImportOptions::new(crate::ingest::Kind::Customers, &csv);
        crate::ingest::import(&mut store.conn, &opts, Ctl::silent()).expect("import");
        let src = DataSource::File(db.clone());
        let cids = history::customer_keys(&src).expect("keys");
        let by_cid = CidIndex::new(&cids);
        let seen = |(c, s): (Vec<Static>, Interner)| -> Vec<String> {
            let t = |id: Option<u32>| id.map(|i| s.strings[i as usize].clone());
            c.iter()
                .map(|c| {
                    format!(
                        "{} {:?} {:?} {:?} {:?} {:?} {:?} {:?} {:?} {:?}",
                        c.cid,
                        c.since,
                        c.signup,
                        c.age,
                        c.birth,
                        c.income,
                        t(c.region),
                        t(c.plan),
                        t(c.segment),
                        c.churned
                    )
                })
                .collect()
        };
        let whole = seen(load_customers_in(&src, &by_cid, &cids, 1).expect("whole"));
        assert_eq!(whole.len(), 41);
        assert!(
            whole[1].contains("Some(\"South\") None None"),
            "{}",
            whole[1]
        );
        assert!(whole[31].contains("Some(\"late\")"), "{}", whole[31]);
        for parts in [2, 3, 40, 41, 50] {
            let got = seen(load_customers_in(&src, &by_cid, &cids, parts).expect("parts"));
            assert_eq!(got, whole, "{parts} parts");
        }
    }
}
