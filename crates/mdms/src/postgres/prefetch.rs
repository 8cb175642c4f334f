//! What validation on ingest needs of every channel of a batch, loaded with one statement
//! per kind for the whole batch instead of one per channel: the register reads of the
//! sum check, the values at the high/low rule's history midnights and the open findings of
//! the windows. The results go into the [`VeeCache`] of the transaction's [`PgVeeTx`]
//! (`super::vee_tx`), which answers the per-channel requests of `crate::vee_run` from it.

use std::collections::HashSet;

use jiff::Timestamp;
use postgres::Transaction;

use super::context::{Db, get};
use super::convert::{at_second, second_of};
use super::vee_tx::VeeCache;
use crate::StoreError;
use crate::vee::RegisterPoint;

/// Per channel `(m, rt, lo, hi)`: the last register read before `lo` and the latest version
/// of each register read from that read (or `lo`) to `hi`. One row per read, or one row
/// with a NULL read when there is none.
const REGISTER_CONTEXT: &str = "\
    SELECT s.m, s.rt, b.read_at, r.read_at, r.value \
    FROM unnest($1::integer[], $2::smallint[], $3::timestamptz[], $4::timestamptz[]) AS s(m, rt, lo, hi) \
    LEFT JOIN LATERAL (SELECT read_at FROM register_read WHERE meter_id = s.m AND reading_type_id = s.rt \
        AND read_at < s.lo ORDER BY read_at DESC LIMIT 1) b ON true \
    LEFT JOIN LATERAL (SELECT DISTINCT ON (read_at) read_at, value FROM register_read \
        WHERE meter_id = s.m AND reading_type_id = s.rt AND read_at >= COALESCE(b.read_at, s.lo) \
        AND read_at <= s.hi ORDER BY read_at, version DESC) r ON true";

/// The latest value at each `(m, rt, at)` that has one.
const VALUES_AT: &str = "\
    SELECT s.m, s.rt, s.at, v.value \
    FROM unnest($1::integer[], $2::smallint[], $3::timestamptz[]) AS s(m, rt, at) \
    CROSS JOIN LATERAL (SELECT value FROM interval_reading WHERE meter_id = s.m AND reading_type_id = s.rt \
        AND interval_end = s.at ORDER BY version DESC LIMIT 1) v";

/// The open findings of each `(m, rt, from, to)`.
const OPEN_FINDINGS: &str = "\
    SELECT s.m, s.rt, f.interval_end, f.rule, f.version \
    FROM unnest($1::integer[], $2::smallint[], $3::timestamptz[], $4::timestamptz[]) AS s(m, rt, lo, hi) \
    JOIN vee_finding f ON f.meter_id = s.m AND f.reading_type_id = s.rt AND f.status = 0 \
        AND f.interval_end >= s.lo AND f.interval_end <= s.hi";

/// A channel's ids as the columns take them.
fn key_of(meter_id: i32, reading_type_id: i16) -> (i64, i64) {
    (i64::from(meter_id), i64::from(reading_type_id))
}

/// Loads `register_read_before(lo)` and `register_reads(before or lo, hi)` of each
/// `(meter id, reading type id, lo, hi)` into `cache`.
pub(crate) fn register_context(
    db: &mut Db<'_, Transaction<'_>>,
    requests: &[(i32, i16, i64, i64)],
    cache: &mut VeeCache,
) -> Result<(), StoreError> {
    const CTX: &str = "loading the register reads of validation windows";
    if requests.is_empty() {
        return Ok(());
    }
    let meters: Vec<i32> = requests.iter().map(|r| r.0).collect();
    let types: Vec<i16> = requests.iter().map(|r| r.1).collect();
    let lo: Vec<Timestamp> = requests.iter().map(|r| at_second(r.2)).collect::<Result<_, _>>()?;
    let hi: Vec<Timestamp> = requests.iter().map(|r| at_second(r.3)).collect::<Result<_, _>>()?;
    for &(m, rt, lo, hi) in requests {
        let c = cache.entry(key_of(m, rt)).or_default();
        c.register_before = Some((lo, None));
        c.register_reads = Some((lo, hi, Vec::new()));
    }
    for row in db.query(REGISTER_CONTEXT, &[&meters, &types, &lo, &hi], CTX)? {
        let (m, rt): (i32, i16) = (get(&row, 0, CTX)?, get(&row, 1, CTX)?);
        let before: Option<Timestamp> = get(&row, 2, CTX)?;
        let read_at: Option<Timestamp> = get(&row, 3, CTX)?;
        let value: Option<f64> = get(&row, 4, CTX)?;
        let Some(c) = cache.get_mut(&key_of(m, rt)) else { continue };
        if let (Some(b), Some((_, slot))) = (before, c.register_before.as_mut()) {
            *slot = Some(second_of(b));
            if let Some((from, _, _)) = c.register_reads.as_mut() {
                *from = second_of(b);
            }
        }
        if let (Some(read_at), Some(value), Some((_, _, reads))) = (read_at, value, c.register_reads.as_mut()) {
            reads.push(RegisterPoint { read_at, value });
        }
    }
    for c in cache.values_mut() {
        if let Some((_, _, reads)) = c.register_reads.as_mut() {
            reads.sort_by_key(|r| r.read_at);
        }
    }
    Ok(())
}

/// Loads `values_at(ends)` of each `(meter id, reading type id, ends)` into `cache`.
pub(crate) fn midnights(
    db: &mut Db<'_, Transaction<'_>>,
    requests: Vec<(i32, i16, Vec<i64>)>,
    cache: &mut VeeCache,
) -> Result<(), StoreError> {
    const CTX: &str = "loading history midnights";
    if requests.is_empty() {
        return Ok(());
    }
    let (mut meters, mut types, mut ats) = (Vec::new(), Vec::new(), Vec::new());
    for (m, rt, ends) in &requests {
        for &e in ends {
            meters.push(*m);
            types.push(*rt);
            ats.push(at_second(e)?);
        }
    }
    for (m, rt, ends) in requests {
        cache.entry(key_of(m, rt)).or_default().midnights = Some((ends, Vec::new()));
    }
    for row in db.query(VALUES_AT, &[&meters, &types, &ats], CTX)? {
        let (m, rt): (i32, i16) = (get(&row, 0, CTX)?, get(&row, 1, CTX)?);
        let at: Timestamp = get(&row, 2, CTX)?;
        let value: f64 = get(&row, 3, CTX)?;
        if let Some((_, values)) = cache.get_mut(&key_of(m, rt)).and_then(|c| c.midnights.as_mut()) {
            values.push((at, value));
        }
    }
    for c in cache.values_mut() {
        if let Some((_, values)) = c.midnights.as_mut() {
            values.sort_by_key(|v| v.0);
            values.dedup_by_key(|v| v.0);
        }
    }
    Ok(())
}

/// Loads `open_findings(from, to)` of each `(meter id, reading type id, from, to)` into
/// `cache`.
pub(crate) fn open_findings(
    db: &mut Db<'_, Transaction<'_>>,
    requests: &[(i32, i16, i64, i64)],
    cache: &mut VeeCache,
) -> Result<(), StoreError> {
    const CTX: &str = "loading open findings";
    if requests.is_empty() {
        return Ok(());
    }
    let meters: Vec<i32> = requests.iter().map(|r| r.0).collect();
    let types: Vec<i16> = requests.iter().map(|r| r.1).collect();
    let lo: Vec<Timestamp> = requests.iter().map(|r| at_second(r.2)).collect::<Result<_, _>>()?;
    let hi: Vec<Timestamp> = requests.iter().map(|r| at_second(r.3)).collect::<Result<_, _>>()?;
    for &(m, rt, lo, hi) in requests {
        cache.entry(key_of(m, rt)).or_default().open = Some((lo, hi, HashSet::new()));
    }
    for row in db.query(OPEN_FINDINGS, &[&meters, &types, &lo, &hi], CTX)? {
        let (m, rt): (i32, i16) = (get(&row, 0, CTX)?, get(&row, 1, CTX)?);
        let end: Timestamp = get(&row, 2, CTX)?;
        let rule: i16 = get(&row, 3, CTX)?;
        let version: i32 = get(&row, 4, CTX)?;
        if let Some((_, _, open)) = cache.get_mut(&key_of(m, rt)).and_then(|c| c.open.as_mut()) {
            open.insert((second_of(end), i64::from(rule), i64::from(version)));
        }
    }
    Ok(())
}
