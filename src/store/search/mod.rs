//! The live filter's substring search over customer id, name and e-mail.
//!
//! SQL's `LIKE '%text%'` cannot use an index: counting the matches among a
//! million customers takes 250 ms, and a page of rare matches sorted by
//! another column can scan the whole table (2 s). Instead the three fields
//! are kept folded (lower-cased, accents off: `store::fold`) in one buffer (about 55 bytes a customer) and
//! searched with a SIMD substring finder, which answers in milliseconds; the
//! matching customer keys then drive the page query (see `list::page`).

mod functions;
mod hits;

pub use functions::register_functions;
pub use hits::Hits;

use crate::error::Result;
use memchr::memmem;
use rusqlite::types::ValueRef;
use rusqlite::Connection;

/// Separates the fields of one customer (a search never matches across it).
const FIELD: u8 = 0x1f;
/// Ends one customer's record.
const RECORD: u8 = b'\n';

/// Lower-cased `id \x1f name \x1f email \n` of every customer, in key order.
pub struct SearchIndex {
    text: Vec<u8>,
    /// Where each record starts in `text`.
    starts: Vec<u32>,
    cids: Vec<i64>,
    /// Each record's place in the order of the ids' bytes (a server's
    /// `id COLLATE "C"`), and the records in that order, when built with
    /// it (`with_id_order`): the page of a filter's matches in id order is
    /// picked here.
    id_rank: Vec<u32>,
    by_id: Vec<u32>,
    /// The database's data version when the index was built.
    pub version: i64,
}

fn push_lower(out: &mut Vec<u8>, s: &[u8]) {
    match std::str::from_utf8(s) {
        Ok(t) if t.is_ascii() => out.extend(s.iter().map(|b| {
            if b.is_ascii_control() {
                b' '
            } else {
                b.to_ascii_lowercase()
            }
        })),
        // Folded (`store::fold`): `lukasz` finds Łukasz, `ipek` İpek, as a
        // server's `crmtop_fold` does. (ASCII above, byte by byte: most
        // fields, without an allocation each.)
        Ok(t) => out.extend_from_slice(crate::store::fold::fold(t).as_bytes()),
        // Not text (a BLOB in a text column): searchable as it is.
        Err(_) => out.extend(s.iter().map(|b| if *b < 0x20 { b' ' } else { *b })),
    }
}

/// The filter text as it is searched: folded (`store::fold`), control
/// characters as spaces.
pub fn normalise(needle: &str) -> Vec<u8> {
    let mut v = Vec::with_capacity(needle.len());
    push_lower(&mut v, needle.as_bytes());
    v
}

/// A `SearchIndex` made from customers given in key order (a file's
/// scan, a server's stream).
pub struct SearchIndexBuilder {
    index: SearchIndex,
    ids_only: bool,
    /// The ids as stored, one after another, and where each starts (kept
    /// until `finish` ranks them, with `with_id_order`).
    ids: Option<(Vec<u8>, Vec<u32>)>,
}

impl SearchIndexBuilder {
    /// For about `n` customers of a database at data version `version`;
    /// with `ids_only`, names and e-mails are left out (`build_fields`).
    pub fn new(version: i64, ids_only: bool, n: i64) -> Self {
        let n = n.max(0) as usize;
        SearchIndexBuilder {
            index: SearchIndex {
                text: Vec::with_capacity(n * 56),
                starts: Vec::with_capacity(n),
                cids: Vec::with_capacity(n),
                id_rank: Vec::new(),
                by_id: Vec::new(),
                version,
            },
            ids_only,
            ids: None,
        }
    }

    /// Rank the records by their ids' bytes as well (8 bytes per customer
    /// more; the ids are kept while building): pages in id order are then
    /// picked from the matches here (`first_by_id`).
    pub fn with_id_order(mut self) -> Self {
        let n = self.index.cids.capacity();
        self.ids = Some((Vec::with_capacity(n * 10), Vec::with_capacity(n + 1)));
        self
    }

    /// One customer: its key, then its id, name and e-mail as stored.
    pub fn push(&mut self, cid: i64, fields: [Option<&[u8]>; 3]) -> Result<()> {
        let ix = &mut self.index;
        ix.starts.push(ix.text.len() as u32);
        ix.cids.push(cid);
        if let Some((ids, at)) = &mut self.ids {
            at.push(ids.len() as u32);
            ids.extend_from_slice(fields[0].unwrap_or_default());
            if ids.len() > u32::MAX as usize {
                return Err(crate::Error::Other(
                    "too many customers for the in-memory search (4 GB of ids)".into(),
                ));
            }
        }
        for (i, f) in fields.into_iter().enumerate() {
            if let Some(t) = f.filter(|_| i == 0 || !self.ids_only) {
                push_lower(&mut ix.text, t);
            }
            ix.text.push(if i < 2 { FIELD } else { RECORD });
        }
        if ix.text.len() > u32::MAX as usize {
            return Err(crate::Error::Other(
                "too many customers for the in-memory search (4 GB of names)".into(),
            ));
        }
        Ok(())
    }

    pub fn finish(self) -> SearchIndex {
        let mut index = self.index;
        if let Some((ids, mut at)) = self.ids {
            at.push(ids.len() as u32);
            let id = |i: usize| &ids[at[i] as usize..at[i + 1] as usize];
            let mut order: Vec<u32> = (0..index.cids.len() as u32).collect();
            let cids = &index.cids;
            order.sort_unstable_by(|&a, &b| {
                let (a, b) = (a as usize, b as usize);
                id(a).cmp(id(b)).then(cids[a].cmp(&cids[b]))
            });
            let mut rank = vec![0u32; order.len()];
            for (r, &i) in order.iter().enumerate() {
                rank[i as usize] = r as u32;
            }
            index.id_rank = rank;
            index.by_id = order;
        }
        index
    }
}

impl SearchIndex {
    /// Read every customer's id, name and e-mail (one table scan).
    pub fn build(conn: &Connection) -> Result<SearchIndex> {
        Self::build_fields(conn, false)
    }

    /// With `ids_only` (`--mask-pii`), only the ids are searchable: a filter
    /// that matched masked names or e-mails would let anyone confirm who a
    /// masked customer is.
    pub fn build_fields(conn: &Connection, ids_only: bool) -> Result<SearchIndex> {
        let version = super::dashboard::data_version(conn)?;
        let n: i64 = conn.query_row("SELECT count(*) FROM customers", [], |r| r.get(0))?;
        let mut b = SearchIndexBuilder::new(version, ids_only, n);
        let mut st = conn.prepare("SELECT cid, id, name, email FROM customers ORDER BY cid")?;
        let mut rows = st.query([])?;
        while let Some(r) = rows.next()? {
            let field = |i| -> Result<Option<&[u8]>> {
                Ok(match r.get_ref(i)? {
                    ValueRef::Text(t) | ValueRef::Blob(t) => Some(t),
                    _ => None,
                })
            };
            b.push(r.get(0)?, [field(1)?, field(2)?, field(3)?])?;
        }
        Ok(b.finish())
    }

    pub fn len(&self) -> usize {
        self.cids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.cids.is_empty()
    }

    /// Memory held, in bytes.
    pub fn bytes(&self) -> usize {
        self.text.capacity()
            + self.starts.capacity() * 4
            + self.cids.capacity() * 8
            + self.id_rank.capacity() * 4
            + self.by_id.capacity() * 4
    }

    /// The keys of the first `limit` matches in the order of the ids'
    /// bytes (then keys), descending with `desc`, after the customer
    /// `after` (or from it, when the flag says so). None when the index
    /// holds no id order or does not know that customer. The ids are
    /// walked in order from the bound: matches that lie far along it (`c00`
    /// among 1M ids descending, past 900,000 others) cost a few
    /// milliseconds, common ones none.
    pub fn first_by_id(
        &self,
        hits: &Hits,
        desc: bool,
        after: Option<(i64, bool)>,
        limit: usize,
    ) -> Option<Vec<i64>> {
        let n = self.cids.len() as i64;
        if self.id_rank.len() != self.cids.len() || self.by_id.len() != self.cids.len() {
            return None;
        }
        let step: i64 = if desc { -1 } else { 1 };
        let mut r = match after {
            Some((cid, inclusive)) => {
                let at = self.cids.binary_search(&cid).ok()?;
                let b = i64::from(self.id_rank[at]);
                if inclusive {
                    b
                } else {
                    b + step
                }
            }
            None if desc => n - 1,
            None => 0,
        };
        let mut out = Vec::with_capacity(limit.min(1024));
        while (0..n).contains(&r) && out.len() < limit {
            let c = self.cids[self.by_id[r as usize] as usize];
            let hit = c >= 0
                && hits
                    .bits
                    .get(c as usize / 8)
                    .is_some_and(|b| b & (1 << (c as usize % 8)) != 0);
            if hit {
                out.push(c);
            }
            r += step;
        }
        Some(out)
    }

    /// The customers whose id, name or e-mail contains `needle`, ignoring
    /// case; a customer's number with its letters (`c2554`) also finds the
    /// id it stands for (`C002554`, see `padded`).
    pub fn search(&self, needle: &str) -> Hits {
        let pat = normalise(needle);
        if pat.is_empty() {
            return Hits::from_cids(&self.cids);
        }
        let hits = self.search_for(&pat);
        match self.padded(&pat) {
            Some(id) => hits.or(&self.search_for(&id)),
            None => hits,
        }
    }

    /// `pat` (letters, then digits) as an id of the first customer's shape:
    /// the same letters and the digits zero-padded to that id's number of
    /// digits (`c2554` -> `c002554` when the first id is `c000001`). None
    /// when `pat` is not of that shape, starts its digits with a zero or is
    /// that long already.
    fn padded(&self, pat: &[u8]) -> Option<Vec<u8>> {
        fn split(s: &[u8]) -> Option<(&[u8], usize)> {
            let at = s.iter().position(|b| b.is_ascii_digit())?;
            let (letters, digits) = s.split_at(at);
            (!letters.is_empty()
                && letters.iter().all(u8::is_ascii_alphabetic)
                && digits.iter().all(u8::is_ascii_digit))
            .then_some((letters, digits.len()))
        }
        let start = *self.starts.first()? as usize;
        let first = &self.text[start..];
        let end = first
            .iter()
            .position(|&b| b == FIELD || b == RECORD)
            .unwrap_or(first.len());
        let (letters, width) = split(&first[..end])?;
        let (typed, digits) = split(pat)?;
        // Digits typed with a leading zero are the padded form being typed
        // (`c00012` is a prefix of c000120..c000129, not customer 12).
        if typed != letters || digits >= width || pat[typed.len()] == b'0' {
            return None;
        }
        let mut out = letters.to_vec();
        out.resize(letters.len() + width - digits, b'0');
        out.extend_from_slice(&pat[typed.len()..]);
        Some(out)
    }

    /// The customers whose id, name or e-mail contains `pat` (normalised).
    /// The buffer is cut into one slice of records per core.
    fn search_for(&self, pat: &[u8]) -> Hits {
        use rayon::prelude::*;
        let finder = memmem::Finder::new(pat);
        let n = self.starts.len();
        let parts = if n < 50_000 {
            1
        } else {
            rayon::current_num_threads().max(1) * 2
        };
        let step = n.div_ceil(parts).max(1);
        let chunks: Vec<(usize, Vec<u8>, usize)> = (0..n)
            .step_by(step)
            .collect::<Vec<_>>()
            .into_par_iter()
            .map(|first| self.search_records(&finder, first, (first + step).min(n)))
            .collect();
        let max = self.cids.iter().copied().max().unwrap_or(0).max(0) as usize;
        let mut bits = vec![0u8; max / 8 + 1];
        let mut count = 0;
        for (base, part, k) in chunks {
            for (b, p) in bits[base..].iter_mut().zip(part) {
                *b |= p;
            }
            count += k;
        }
        Hits::from_parts(bits, count)
    }

    /// Matches among records `first..end`, as bits from the byte of the
    /// first record's key: (that byte, the bits, how many matched).
    fn search_records(
        &self,
        finder: &memmem::Finder,
        first: usize,
        end: usize,
    ) -> (usize, Vec<u8>, usize) {
        let key = |rec: usize| self.cids.get(rec).copied().unwrap_or(0).max(0) as usize;
        let base = if first < end { key(first) / 8 } else { 0 };
        let top = (first..end).map(key).max().unwrap_or(0) / 8;
        let mut out = vec![0u8; (top + 1).saturating_sub(base)];
        let mut count = 0;
        let stop = self
            .starts
            .get(end)
            .map_or(self.text.len(), |&s| s as usize);
        let mut rec = first;
        let mut from = self.starts.get(first).map_or(stop, |&s| s as usize);
        while from < stop {
            let Some(pos) = finder.find(&self.text[from..stop]) else {
                break;
            };
            let at = from + pos;
            // Hits come in order: walk forward to the record holding this one.
            while rec + 1 < end && self.starts[rec + 1] as usize <= at {
                rec += 1;
            }
            let c = key(rec);
            if let Some(b) = (c / 8).checked_sub(base).and_then(|i| out.get_mut(i)) {
                *b |= 1 << (c % 8);
                count += 1;
            }
            from = self.starts.get(rec + 1).map_or(stop, |&s| s as usize);
        }
        (base, out, count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_in_id_order_are_picked_by_the_ids_bytes() {
        // Keys 1..=6; the ids' bytes order: "A1" < "a1" < "a2" < "b" <
        // "zz" < "Ä" (upper case before lower, beyond ASCII last); "zz"
        // does not match.
        let ids = ["a2", "Ä", "b", "A1", "zz", "a1"];
        let mut b = SearchIndexBuilder::new(1, true, 6).with_id_order();
        for (i, id) in ids.iter().enumerate() {
            b.push(i as i64 + 1, [Some(id.as_bytes()), None, None])
                .unwrap();
        }
        let idx = b.finish();
        let hits = Hits::from_cids(&[1, 2, 3, 4, 6]);
        let order = |desc, after, limit| idx.first_by_id(&hits, desc, after, limit).unwrap();
        assert_eq!(order(false, None, 10), vec![4, 6, 1, 3, 2]);
        assert_eq!(order(true, None, 10), vec![2, 3, 1, 6, 4]);
        assert_eq!(order(false, None, 2), vec![4, 6]);
        assert_eq!(order(true, None, 2), vec![2, 3]);
        // After a customer (or from it), in either direction.
        assert_eq!(order(false, Some((6, false)), 2), vec![1, 3]);
        assert_eq!(order(false, Some((6, true)), 2), vec![6, 1]);
        assert_eq!(order(true, Some((1, false)), 10), vec![6, 4]);
        // The unmatched customer as a bound ("zz", between "b" and "Ä"):
        // the matches beyond it.
        assert_eq!(order(true, Some((5, false)), 10), vec![3, 1, 6, 4]);
        assert_eq!(order(false, Some((5, false)), 10), vec![2]);
        // A customer the index does not know; an index without the order.
        assert_eq!(idx.first_by_id(&hits, false, Some((99, false)), 5), None);
        let mut plain = SearchIndexBuilder::new(1, true, 1);
        plain.push(1, [Some(b"a"), None, None]).unwrap();
        assert_eq!(plain.finish().first_by_id(&hits, false, None, 5), None);
    }

    fn db() -> Connection {
        let c = Connection::open_in_memory().unwrap();
        c.execute_batch(crate::store::MIGRATIONS[0].1).unwrap();
        let people = [
            ("C001", Some("Anna Smith"), Some("anna@example.com")),
            ("C002", Some("Tomás Ström"), Some("tomas@example.se")),
            ("C003", None, Some("SMITHERS@x.org")),
            ("X-42", Some("Bob"), None),
        ];
        for (i, (id, name, email)) in people.iter().enumerate() {
            c.execute(
                "INSERT INTO customers(cid, id, name, email) VALUES (?1, ?2, ?3, ?4)",
                rusqlite::params![i as i64 + 1, id, name, email],
            )
            .unwrap();
        }
        c
    }

    #[test]
    fn finds_substrings_of_any_field_ignoring_case() {
        let idx = SearchIndex::build(&db()).unwrap();
        assert_eq!(idx.len(), 4);
        assert_eq!(idx.search("smith").cids(), vec![1, 3]);
        assert_eq!(idx.search("SMI").cids(), vec![1, 3]);
        assert_eq!(idx.search("ström").cids(), vec![2]);
        assert_eq!(idx.search("STRÖM").cids(), vec![2]);
        assert_eq!(idx.search("x-4").cids(), vec![4]);
        assert_eq!(idx.search("example").cids(), vec![1, 2]);
        assert!(idx.search("nobody").is_empty());
        assert_eq!(idx.search("").len(), 4);
    }

    #[test]
    fn a_customer_number_with_its_letters_finds_the_padded_id() {
        let idx = SearchIndex::build(&db()).unwrap();
        // C001..C003: "c2" stands for C002, "C3" for C003, whatever the case.
        assert_eq!(idx.search("c2").cids(), vec![2]);
        assert_eq!(idx.search("C3").cids(), vec![3]);
        // Still a substring search too: "c00" is in every C id.
        assert_eq!(idx.search("c00").cids(), vec![1, 2, 3]);
        // A leading zero is the padded form being typed: "c01" is a
        // substring of no id here, and not customer 1.
        assert!(idx.search("c01").is_empty());
        // Other letters, a number longer than the ids', no letters: as typed.
        assert!(idx.search("x2").is_empty());
        assert!(idx.search("c00002").is_empty());
        assert_eq!(idx.search("2").cids(), vec![2, 4]);
        assert_eq!(idx.search("x-42").cids(), vec![4]);
    }

    #[test]
    fn a_turkish_dotted_capital_i_is_found_as_i() {
        let mut b = SearchIndexBuilder::new(0, false, 2);
        b.push(
            1,
            [Some(b"X1".as_slice()), Some("İpek Yıldız".as_bytes()), None],
        )
        .unwrap();
        b.push(
            2,
            [Some(b"X2".as_slice()), Some(b"Ipek Lane".as_slice()), None],
        )
        .unwrap();
        let idx = b.finish();
        assert_eq!(idx.search("ipek").cids(), vec![1, 2]);
        assert_eq!(idx.search("İPEK").cids(), vec![1, 2]);
        assert_eq!(idx.search("yıldız").cids(), vec![1]);
        // Accents and letters without one are folded on both sides.
        assert_eq!(idx.search("yildiz").cids(), vec![1]);
        assert_eq!(idx.search("YILDIZ").cids(), vec![1]);
    }

    #[test]
    fn accents_are_folded_on_both_sides() {
        let mut b = SearchIndexBuilder::new(0, false, 3);
        for (cid, name) in [
            (1, "Łukasz Wiśniewski"),
            (2, "José Müller"),
            (3, "Jose Muller"),
        ] {
            b.push(cid, [Some(b"X".as_slice()), Some(name.as_bytes()), None])
                .unwrap();
        }
        let idx = b.finish();
        assert_eq!(idx.search("lukasz").cids(), vec![1]);
        assert_eq!(idx.search("wiśniewski").cids(), vec![1]);
        assert_eq!(idx.search("WISNIEWSKI").cids(), vec![1]);
        assert_eq!(idx.search("josé").cids(), vec![2, 3]);
        assert_eq!(idx.search("muller").cids(), vec![2, 3]);
        assert!(idx.search("łukasz müller").is_empty());
    }

    #[test]
    fn a_match_never_spans_two_fields_or_two_customers() {
        let idx = SearchIndex::build(&db()).unwrap();
        // "C001" + "Anna" would be "c001anna" only if fields were joined.
        assert!(idx.search("c001anna").is_empty());
        assert!(idx.search("1\nc").is_empty());
        // A match at the very end of the buffer.
        assert_eq!(idx.search("bob").cids(), vec![4]);
    }

    #[test]
    fn bit_function_tests_membership() {
        let c = db();
        register_functions(&c).unwrap();
        let hits = SearchIndex::build(&c).unwrap().search("smith");
        let n: i64 = c
            .query_row(
                "SELECT count(*) FROM customers WHERE crmtop_bit(?1, cid)",
                [&hits.bits],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(n, 2);
    }
}
