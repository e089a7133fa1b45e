//! LEB128 varints and zigzag signed integers, the bytes of the store's
//! packed formats (`drivers`, `packs`).

/// A signed integer as an unsigned one, small magnitudes small.
pub fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

pub fn unzigzag(u: u64) -> i64 {
    ((u >> 1) as i64) ^ -((u & 1) as i64)
}

/// `u` as an unsigned LEB128 varint.
pub fn put_u(out: &mut Vec<u8>, mut u: u64) {
    while u >= 0x80 {
        out.push((u as u8) | 0x80);
        u >>= 7;
    }
    out.push(u as u8);
}

/// `v` zigzagged, as a varint.
pub fn put_i(out: &mut Vec<u8>, v: i64) {
    put_u(out, zigzag(v));
}

/// Reads bytes written by the above; `None` at the end or on damage.
pub struct Reader<'a> {
    pub bytes: &'a [u8],
    pub at: usize,
}

impl<'a> Reader<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        Reader { bytes, at: 0 }
    }

    pub fn byte(&mut self) -> Option<u8> {
        let v = *self.bytes.get(self.at)?;
        self.at += 1;
        Some(v)
    }

    pub fn u(&mut self) -> Option<u64> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Some(v);
            }
        }
        None
    }

    pub fn i(&mut self) -> Option<i64> {
        self.u().map(unzigzag)
    }

    /// The next 8 bytes as a little-endian f64.
    pub fn f64(&mut self) -> Option<f64> {
        let raw: [u8; 8] = self.bytes.get(self.at..self.at + 8)?.try_into().ok()?;
        self.at += 8;
        Some(f64::from_le_bytes(raw))
    }

    pub fn left(&self) -> usize {
        self.bytes.len().saturating_sub(self.at)
    }

    pub fn done(&self) -> bool {
        self.at >= self.bytes.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_round_trip_and_damage_is_none() {
        let vals = [0i64, 1, -1, 63, -64, 64, 300, -300, i64::MAX, i64::MIN];
        let mut out = Vec::new();
        for &v in &vals {
            put_i(&mut out, v);
        }
        put_u(&mut out, u64::MAX);
        let mut r = Reader::new(&out);
        for &v in &vals {
            assert_eq!(r.i(), Some(v));
        }
        assert_eq!(r.u(), Some(u64::MAX));
        assert!(r.done());
        assert_eq!(r.u(), None);
        // Small magnitudes take one byte.
        assert_eq!(zigzag(-64), 127);
        // Eleven continuation bytes are not a varint.
        assert_eq!(Reader::new(&[0x80; 11]).u(), None);
    }
}
