//! Customer attributes by column, read for feature extraction: the
//! attribute table in parts by customer, each part on its own connection,
//! merged by attribute name.

use super::{AttrColumns, Interner, NO_TEXT};
use crate::cid_index::CidIndex;
use crate::error::Result;
use crate::store::history::{self, AttrValue, Source as DataSource};

/// From this many customers, the attribute table is read in two halves,
/// each on its own connection (at a million customers and 20 attributes,
/// one reader took 0.8 s where the customers' scan beside it took 0.3).
const ATTRS_IN_PARTS: usize = 100_000;

/// One part of the attribute table: the customers at positions `at..`.
struct AttrPart {
    at: usize,
    end: usize,
    names: Vec<String>,
    num: Vec<Vec<f64>>,
    txt: Vec<Vec<u32>>,
    strings: Interner,
}

/// Attributes by column (the table read in parts by customer, each on its
/// own connection), with the texts in their own interner.
pub(super) fn load(
    src: &DataSource,
    cids: &[i64],
    by_cid: &CidIndex,
) -> Result<(AttrColumns, Interner)> {
    let parts = if cids.len() >= ATTRS_IN_PARTS { 2 } else { 1 };
    load_in(src, cids, by_cid, parts)
}

/// `load` in `parts` parts.
fn load_in(
    src: &DataSource,
    cids: &[i64],
    by_cid: &CidIndex,
    parts: usize,
) -> Result<(AttrColumns, Interner)> {
    let n = cids.len();
    let parts = parts.clamp(1, n.max(1));
    let bounds: Vec<(usize, usize)> = (0..parts)
        .map(|k| (k * n / parts, (k + 1) * n / parts))
        .collect();
    let read = |(a, b): (usize, usize)| -> Result<AttrPart> {
        let len = b - a;
        let mut num: Vec<Vec<f64>> = Vec::new();
        let mut txt: Vec<Vec<u32>> = Vec::new();
        let mut strings = Interner::default();
        // Customers are placed by cid in ascending order: positions a..b are
        // the cids from cids[a] to cids[b - 1] (none: an empty range).
        let range = if len > 0 {
            (cids[a], cids[b - 1])
        } else {
            (1, 0)
        };
        let names = history::scan_attributes(src, Some(range), |cid, j, v| {
            let Some(i) = by_cid.get(cid).filter(|i| (a..b).contains(i)) else {
                return Ok(());
            };
            let i = i - a;
            if num.len() <= j {
                num.resize_with(j + 1, || vec![f64::NAN; len]);
                txt.resize_with(j + 1, Vec::new);
            }
            match v {
                AttrValue::Num(x) => num[j][i] = x,
                AttrValue::Text(t) => {
                    if txt[j].is_empty() {
                        txt[j] = vec![NO_TEXT; len];
                    }
                    txt[j][i] = strings.id(t);
                }
            }
            Ok(())
        })?;
        Ok(AttrPart {
            at: a,
            end: b,
            names,
            num,
            txt,
            strings,
        })
    };
    let parts = crate::parallel::each_part(bounds, "an attribute reader", read)?;
    Ok(merge_attr_parts(parts, n))
}

/// The parts' columns end to end, by attribute name (a part read after an
/// import added an attribute has a column the other lacks: missing there),
/// their texts in one interner.
fn merge_attr_parts(mut parts: Vec<AttrPart>, n: usize) -> (AttrColumns, Interner) {
    let mut names: Vec<String> = parts.iter().flat_map(|p| p.names.iter().cloned()).collect();
    names.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
    names.dedup();
    let mut strings = Interner::default();
    let remaps: Vec<Vec<u32>> = parts
        .iter()
        .map(|p| p.strings.strings.iter().map(|t| strings.id(t)).collect())
        .collect();
    let mut num = Vec::with_capacity(names.len());
    let mut txt = Vec::with_capacity(names.len());
    for name in &names {
        let mut col = Vec::with_capacity(n);
        let mut texts: Vec<u32> = Vec::new();
        for (k, part) in parts.iter_mut().enumerate() {
            let len = part.end - part.at;
            let j = part.names.iter().position(|m| m == name);
            match j.and_then(|j| part.num.get_mut(j)) {
                Some(c) => col.extend(std::mem::take(c)),
                None => col.resize(col.len() + len, f64::NAN),
            }
            if let Some(t) = j.and_then(|j| part.txt.get(j)).filter(|t| !t.is_empty()) {
                if texts.is_empty() {
                    texts = vec![NO_TEXT; n];
                }
                for (i, &v) in t.iter().enumerate() {
                    if v != NO_TEXT {
                        texts[part.at + i] = remaps[k][v as usize];
                    }
                }
            }
        }
        col.resize(n, f64::NAN);
        num.push(col);
        txt.push(texts);
    }
    (AttrColumns { names, num, txt }, strings)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Read in parts, the attributes are what one read gives: numbers and
    /// texts in place, missing cells missing, the texts in one interner.
    #[test]
    fn attributes_read_in_parts_are_the_attributes_read_whole() {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = dir.path().join("a.db");
        let csv = dir.path().join("c.csv");
        let mut text = String::from("id,score,tier,note\n");
        for i in 0..37 {
            let score = if i % 5 == 0 {
                String::new()
            } else {
                format!("{}.5", i)
            };
            let tier = ["gold", "silver", ""][i % 3];
            let note = if i > 30 { "late" } else { "" };
            text.push_str(&format!("C{i:03},{score},{tier},{note}\n"));
        }
        std::fs::write(&csv, text).expect("csv");
        let mut store = crate::store::open(&db, crate::store::Mode::ReadWrite).expect("open");
        let opts = crate::ingest::ImportOptions::new(crate::ingest::Kind::Customers, &csv);
        crate::ingest::import(&mut store.conn, &opts, crate::jobs::Ctl::silent()).expect("import");
        let src = DataSource::File(db.clone());
        let cids = history::customer_keys(&src).expect("keys");
        let by_cid = CidIndex::new(&cids);
        let texts = |a: &AttrColumns, s: &Interner| -> Vec<Vec<Option<String>>> {
            a.txt
                .iter()
                .map(|c| {
                    c.iter()
                        .map(|&v| (v != NO_TEXT).then(|| s.strings[v as usize].clone()))
                        .collect()
                })
                .collect()
        };
        let (whole, ws) = load_in(&src, &cids, &by_cid, 1).expect("whole");
        assert_eq!(whole.names, ["note", "score", "tier"]);
        assert_eq!(whole.num[1][1], 1.5);
        assert!(whole.num[1][0].is_nan());
        let whole_texts = texts(&whole, &ws);
        assert_eq!(whole_texts[2][1].as_deref(), Some("silver"));
        assert_eq!(whole_texts[2][2], None);
        assert_eq!(whole_texts[0][31].as_deref(), Some("late"));
        for parts in [2, 3, 36, 37, 50] {
            let (a, s) = load_in(&src, &cids, &by_cid, parts).expect("parts");
            assert_eq!(a.names, whole.names, "{parts} parts");
            for (x, y) in a.num.iter().zip(&whole.num) {
                let bits = |c: &Vec<f64>| c.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
                assert_eq!(bits(x), bits(y), "{parts} parts");
            }
            assert_eq!(texts(&a, &s), whole_texts, "{parts} parts");
        }
    }
}
