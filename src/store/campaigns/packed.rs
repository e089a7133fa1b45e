//! A campaign's assignment, packed. It never changes once made, and a
//! campaign over a million customers has three quarters of a million
//! members: as rows with a rank index they were 2.4 s of a 3.9 s creation
//! and most of a report's reading. Packed, each group's members are stored
//! in rank order in chunks of `CHUNK` (one row of `campaign_assignment`
//! each), written in a tenth of a second and read back in tens of
//! milliseconds; a work-list page reads one chunk.
//!
//! A member is `SIZE` bytes, little-endian: cid (i64), rank (u32), risk
//! band (u8: high, medium, low, unscored), churn probability and CLV before
//! the campaign (f64, NaN when there was none) and value at risk (f64).

use crate::analytics::campaign::Assigned;
use crate::error::{Error, Result};
use crate::store::sql::{Row, Sql};
use rusqlite::types::Value;

/// Members per chunk.
pub const CHUNK: usize = 4096;
const SIZE: usize = 37;
const BANDS: [&str; 4] = ["high", "medium", "low", "unscored"];

/// One member as assigned.
#[derive(Debug, Clone, PartialEq)]
pub struct Packed {
    pub cid: i64,
    pub treatment: bool,
    /// 1 = the highest value at risk.
    pub rank: i64,
    pub stratum: &'static str,
    pub churn_prob: Option<f64>,
    pub clv: Option<f64>,
    pub value_at_risk: f64,
    /// Place among the members of its group, in rank order (from 0).
    pub pos: i64,
}

fn band_code(s: &str) -> u8 {
    BANDS.iter().position(|b| *b == s).unwrap_or(3) as u8
}

fn encode(members: &[&Assigned]) -> Vec<u8> {
    let mut out = Vec::with_capacity(members.len() * SIZE);
    for m in members {
        out.extend_from_slice(&m.cid.to_le_bytes());
        out.extend_from_slice(&m.rank.to_le_bytes());
        out.push(band_code(m.stratum));
        out.extend_from_slice(&m.churn_prob.unwrap_or(f64::NAN).to_le_bytes());
        out.extend_from_slice(&m.clv.unwrap_or(f64::NAN).to_le_bytes());
        out.extend_from_slice(&m.value_at_risk.to_le_bytes());
    }
    out
}

fn blob(r: &Row, i: usize) -> Result<&[u8]> {
    match r.0.get(i) {
        Some(Value::Blob(b)) => Ok(b),
        _ => Err(Error::Schema(
            "a campaign's packed assignment is not a blob (doctor)".into(),
        )),
    }
}

fn int(v: i64) -> Value {
    Value::Integer(v)
}

fn f64_at(b: &[u8], at: usize) -> f64 {
    let mut x = [0u8; 8];
    x.copy_from_slice(&b[at..at + 8]);
    f64::from_le_bytes(x)
}

fn decode(data: &[u8], treatment: bool, first_pos: i64, out: &mut Vec<Packed>) -> Result<()> {
    if !data.len().is_multiple_of(SIZE) {
        return Err(Error::Schema(format!(
            "a campaign's packed assignment has {} bytes, not a multiple of {SIZE} (doctor)",
            data.len()
        )));
    }
    for (i, m) in data.chunks_exact(SIZE).enumerate() {
        let mut cid = [0u8; 8];
        cid.copy_from_slice(&m[0..8]);
        let mut rank = [0u8; 4];
        rank.copy_from_slice(&m[8..12]);
        let opt = |x: f64| (!x.is_nan()).then_some(x);
        out.push(Packed {
            cid: i64::from_le_bytes(cid),
            treatment,
            rank: i64::from(u32::from_le_bytes(rank)),
            stratum: BANDS[usize::from(m[12].min(3))],
            churn_prob: opt(f64_at(m, 13)),
            clv: opt(f64_at(m, 21)),
            value_at_risk: f64_at(m, 29),
            pos: first_pos + i as i64,
        });
    }
    Ok(())
}

/// Store an assignment (both groups, each in rank order).
pub fn write(conn: &dyn Sql, campaign_id: i64, members: &[Assigned]) -> Result<()> {
    for treatment in [true, false] {
        let mut group: Vec<&Assigned> = members
            .iter()
            .filter(|m| m.treatment == treatment)
            .collect();
        group.sort_by_key(|m| m.rank);
        for (i, chunk) in group.chunks(CHUNK).enumerate() {
            conn.exec(
                "INSERT INTO campaign_assignment(campaign_id, treatment, chunk, members, data)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                &[
                    int(campaign_id),
                    int(i64::from(treatment)),
                    int(i as i64),
                    int(chunk.len() as i64),
                    Value::Blob(encode(chunk)),
                ],
            )?;
        }
    }
    Ok(())
}

/// Treated and control counts.
pub fn counts(conn: &dyn Sql, campaign_id: i64) -> Result<(i64, i64)> {
    let mut out = (0, 0);
    for r in conn.rows(
        "SELECT treatment, members FROM campaign_assignment WHERE campaign_id = ?1",
        &[int(campaign_id)],
    )? {
        if r.i64(0)? != 0 {
            out.0 += r.i64(1)?;
        } else {
            out.1 += r.i64(1)?;
        }
    }
    Ok(out)
}

/// Every member of one group (or both: `None`), each group in rank order.
pub fn read(conn: &dyn Sql, campaign_id: i64, treatment: Option<bool>) -> Result<Vec<Packed>> {
    let mut out = Vec::new();
    for t in [false, true]
        .into_iter()
        .filter(|t| treatment.is_none_or(|x| x == *t))
    {
        let group = raw(conn, campaign_id, t)?;
        out.reserve_exact(group.len() / SIZE);
        decode(&group, t, 0, &mut out)?;
    }
    Ok(out)
}

/// Every member in rank order.
pub fn read_by_rank(conn: &dyn Sql, campaign_id: i64) -> Result<Vec<Packed>> {
    let all = ByRank::read(conn, campaign_id)?;
    let mut out = Vec::with_capacity(all.len());
    all.for_each(|m| out.push(m))?;
    Ok(out)
}

/// A campaign's members as stored, to walk in rank order. Each group is
/// stored in rank order, so the two are merged as they are decoded: no
/// sort, and no vector of a million members unless the caller keeps one
/// (on this VM fresh memory is what a large report pays most for).
pub struct ByRank {
    control: Vec<u8>,
    treated: Vec<u8>,
}

impl ByRank {
    pub fn read(conn: &dyn Sql, campaign_id: i64) -> Result<ByRank> {
        Ok(ByRank {
            control: raw(conn, campaign_id, false)?,
            treated: raw(conn, campaign_id, true)?,
        })
    }

    pub fn len(&self) -> usize {
        (self.control.len() + self.treated.len()) / SIZE
    }

    /// Each member in rank order.
    pub fn for_each(&self, mut f: impl FnMut(Packed)) -> Result<()> {
        let sorted = |g: &[u8]| {
            g.chunks_exact(SIZE)
                .map(rank_of)
                .try_fold(0, |prev, r| (r > prev).then_some(r))
                .is_some()
        };
        let mut one = Vec::with_capacity(1);
        let mut emit = |m: &[u8], treatment: bool, pos: usize| -> Result<()> {
            decode(m, treatment, pos as i64, &mut one)?;
            if let Some(p) = one.pop() {
                f(p);
            }
            Ok(())
        };
        if !(sorted(&self.control) && sorted(&self.treated)) {
            // Not in rank order (a file edited by hand): decoded, sorted.
            let mut all = Vec::new();
            decode(&self.control, false, 0, &mut all)?;
            decode(&self.treated, true, 0, &mut all)?;
            all.sort_by_key(|m| m.rank);
            all.into_iter().for_each(f);
            return Ok(());
        }
        let (mut c, mut t) = (
            self.control.chunks_exact(SIZE).enumerate().peekable(),
            self.treated.chunks_exact(SIZE).enumerate().peekable(),
        );
        loop {
            let take_treated = match (c.peek(), t.peek()) {
                (Some((_, a)), Some((_, b))) => rank_of(b) < rank_of(a),
                (None, Some(_)) => true,
                (Some(_), None) => false,
                (None, None) => return Ok(()),
            };
            let (group, treatment) = if take_treated {
                (&mut t, true)
            } else {
                (&mut c, false)
            };
            if let Some((i, m)) = group.next() {
                emit(m, treatment, i)?;
            }
        }
    }
}

fn rank_of(m: &[u8]) -> u32 {
    let mut r = [0u8; 4];
    r.copy_from_slice(&m[8..12]);
    u32::from_le_bytes(r)
}

/// A group's packed bytes, its chunks in order.
fn raw(conn: &dyn Sql, campaign_id: i64, treatment: bool) -> Result<Vec<u8>> {
    let key = [int(campaign_id), int(i64::from(treatment))];
    // Sized once (the chunks' counts are stored beside them).
    let n = conn.count(
        "SELECT coalesce(sum(members), 0) FROM campaign_assignment
         WHERE campaign_id = ?1 AND treatment = ?2",
        &key,
    )?;
    let mut out = Vec::with_capacity(usize::try_from(n).unwrap_or(0) * SIZE);
    conn.each(
        "SELECT data FROM campaign_assignment
         WHERE campaign_id = ?1 AND treatment = ?2 ORDER BY chunk",
        &key,
        &mut |r| {
            let data = blob(r, 0)?;
            if !data.len().is_multiple_of(SIZE) {
                return Err(Error::Schema(format!(
                    "a campaign's packed assignment has {} bytes, not a multiple of {SIZE} (doctor)",
                    data.len()
                )));
            }
            out.extend_from_slice(data);
            Ok(())
        },
    )?;
    Ok(out)
}

/// The members of a group from place `from` (in rank order), at most
/// `limit`: only the chunks that hold them are read.
pub fn page(
    conn: &dyn Sql,
    campaign_id: i64,
    treatment: bool,
    from: i64,
    limit: i64,
) -> Result<Vec<Packed>> {
    let mut out = Vec::new();
    if limit <= 0 || from < 0 {
        return Ok(out);
    }
    let c = CHUNK as i64;
    for r in conn.rows(
        "SELECT chunk, data FROM campaign_assignment
         WHERE campaign_id = ?1 AND treatment = ?2 AND chunk BETWEEN ?3 AND ?4 ORDER BY chunk",
        &[
            int(campaign_id),
            int(i64::from(treatment)),
            int(from / c),
            int((from + limit - 1) / c),
        ],
    )? {
        decode(blob(&r, 1)?, treatment, r.i64(0)? * c, &mut out)?;
    }
    out.retain(|m| m.pos >= from && m.pos < from + limit);
    Ok(out)
}

/// One member of a group by place.
pub fn at(conn: &dyn Sql, campaign_id: i64, treatment: bool, pos: i64) -> Result<Option<Packed>> {
    Ok(page(conn, campaign_id, treatment, pos, 1)?.pop())
}

/// One member by customer (both groups searched: a member not yet worked
/// has no other index).
pub fn find(conn: &dyn Sql, campaign_id: i64, cid: i64) -> Result<Option<Packed>> {
    let key = cid.to_le_bytes();
    let mut found = None;
    conn.each(
        "SELECT treatment, chunk, data FROM campaign_assignment
         WHERE campaign_id = ?1 ORDER BY treatment, chunk",
        &[int(campaign_id)],
        &mut |r| {
            if found.is_some() {
                return Ok(());
            }
            let data = blob(r, 2)?;
            if let Some(i) = data.chunks_exact(SIZE).position(|m| m[0..8] == key) {
                let chunk = r.i64(1)?;
                let mut one = Vec::with_capacity(1);
                decode(
                    &data[i * SIZE..(i + 1) * SIZE],
                    r.i64(0)? != 0,
                    chunk * CHUNK as i64 + i as i64,
                    &mut one,
                )?;
                found = one.pop();
            }
            Ok(())
        },
    )?;
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_round_trip_with_missing_scores() {
        let a = Assigned {
            cid: -7,
            treatment: true,
            stratum: "medium",
            churn_prob: None,
            clv: Some(1234.5),
            value_at_risk: 0.25,
            rank: 4_000_000_000,
        };
        let mut out = Vec::new();
        decode(&encode(&[&a]), true, 9, &mut out).unwrap();
        assert_eq!(
            out,
            vec![Packed {
                cid: -7,
                treatment: true,
                rank: 4_000_000_000,
                stratum: "medium",
                churn_prob: None,
                clv: Some(1234.5),
                value_at_risk: 0.25,
                pos: 9
            }]
        );
        assert!(decode(&[0u8; 10], true, 0, &mut out).is_err());
    }
}
