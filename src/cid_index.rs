//! Where a customer is in a vector of customers, by cid: a dense table when
//! the cids are dense (they are rowids, handed out in order), else a hash
//! map. Reading a million rows from a table in its own order and placing
//! each by cid costs no sort and no hashing.

use std::collections::HashMap;

pub enum CidIndex {
    Dense(Vec<u32>),
    Sparse(HashMap<i64, usize>),
}

impl CidIndex {
    /// The places of `cids` (each once, in any order).
    pub fn new(cids: &[i64]) -> CidIndex {
        let (min, max) = cids
            .iter()
            .fold((0, 0), |(lo, hi): (i64, i64), &c| (lo.min(c), hi.max(c)));
        if min >= 0 && (max as usize) <= cids.len() * 4 + 1024 && cids.len() < u32::MAX as usize {
            let mut v = vec![u32::MAX; max as usize + 1];
            for (i, &c) in cids.iter().enumerate() {
                v[c as usize] = i as u32;
            }
            CidIndex::Dense(v)
        } else {
            CidIndex::Sparse(cids.iter().enumerate().map(|(i, &c)| (c, i)).collect())
        }
    }

    #[inline]
    pub fn get(&self, cid: i64) -> Option<usize> {
        match self {
            CidIndex::Dense(v) => v
                .get(usize::try_from(cid).ok()?)
                .copied()
                .filter(|&i| i != u32::MAX)
                .map(|i| i as usize),
            CidIndex::Sparse(m) => m.get(&cid).copied(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dense_and_sparse_find_the_same_places() {
        let dense = CidIndex::new(&[5, 1, 3]);
        assert!(matches!(dense, CidIndex::Dense(_)));
        let sparse = CidIndex::new(&[5, -1, 3_000_000]);
        assert!(matches!(sparse, CidIndex::Sparse(_)));
        assert_eq!(
            (dense.get(1), dense.get(5), dense.get(2)),
            (Some(1), Some(0), None)
        );
        assert_eq!(
            (sparse.get(-1), sparse.get(3_000_000), sparse.get(2)),
            (Some(1), Some(2), None)
        );
    }
}
