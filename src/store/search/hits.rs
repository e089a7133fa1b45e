//! A search's matches: a set of customer keys as bits.

/// The customers matching one search: a bit per customer key (for
/// `crmtop_bit` in SQL) and their number. Only bits are made: a search that
/// matches most of a million customers would otherwise allocate (and fault
/// in) 8 MB of keys each time, which took longer than the search itself.
#[derive(Debug, Clone, PartialEq)]
pub struct Hits {
    /// Bit `cid` set for every match.
    pub bits: Vec<u8>,
    count: usize,
}

impl Hits {
    /// From bits already set, `count` of them.
    pub(super) fn from_parts(bits: Vec<u8>, count: usize) -> Hits {
        Hits { bits, count }
    }

    pub fn len(&self) -> usize {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The matching customer keys, ascending.
    pub fn cids(&self) -> Vec<i64> {
        let mut out = Vec::with_capacity(self.count);
        for (i, &byte) in self.bits.iter().enumerate() {
            let mut b = byte;
            while b != 0 {
                let k = b.trailing_zeros() as usize;
                out.push((i * 8 + k) as i64);
                b &= b - 1;
            }
        }
        out
    }

    /// The customers in either.
    pub(super) fn or(mut self, other: &Hits) -> Hits {
        if self.bits.len() < other.bits.len() {
            self.bits.resize(other.bits.len(), 0);
        }
        for (b, o) in self.bits.iter_mut().zip(&other.bits) {
            *b |= o;
        }
        self.count = self.bits.iter().map(|b| b.count_ones() as usize).sum();
        self
    }

    pub(super) fn from_cids(cids: &[i64]) -> Hits {
        let max = cids.iter().copied().max().unwrap_or(0).max(0) as usize;
        let mut bits = vec![0u8; max / 8 + 1];
        let mut count = 0;
        for &c in cids {
            if c >= 0 {
                let (byte, bit) = (c as usize / 8, 1 << (c as usize % 8));
                if bits[byte] & bit == 0 {
                    count += 1;
                }
                bits[byte] |= bit;
            }
        }
        Hits { bits, count }
    }
}
