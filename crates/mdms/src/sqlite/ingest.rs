//! Idempotent, versioned ingest of one `MeterReading` inside one SQLite transaction.
//!
//! Per reading type in the reading, one range query loads the versions already stored for
//! the reading's time span (nothing, for a fresh load profile); each value is then
//! classified in memory as new, duplicate or revision and only new rows are inserted with
//! a cached prepared statement.

use std::collections::HashMap;
use std::collections::hash_map::Entry;

use model::MeterReading;
use rusqlite::{Connection, OptionalExtension, params};

use super::series_table::SeriesTable;
use super::timestamp::floor_millisecond;
use crate::StoreError;
use crate::error::SqliteContext;

/// One value to store, already encoded for its table.
#[derive(Debug, Clone, Copy)]
pub(crate) struct EncodedValue {
    /// `reading_type.id`.
    pub reading_type_id: i64,
    /// Interval end or read time, UTC seconds.
    pub at: i64,
    /// The value.
    pub value: f64,
    /// Quality flags.
    pub quality: u32,
}

/// What happened to the values of one table.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct SeriesCounts {
    pub new: u64,
    pub duplicate: u64,
    pub revised: u64,
}

/// The versions known for one key: the latest version number and every stored
/// (value, quality). The first pair is held inline: nearly every key has one version.
struct KnownVersions {
    latest: u32,
    first: (f64, u32),
    more: Vec<(f64, u32)>,
}

impl KnownVersions {
    fn new(version: u32, value: f64, quality: u32) -> Self {
        KnownVersions { latest: version, first: (value, quality), more: Vec::new() }
    }

    fn add(&mut self, version: u32, value: f64, quality: u32) {
        self.latest = self.latest.max(version);
        self.more.push((value, quality));
    }

    /// True when a version with an equal value (numerically, so -0.0 equals 0.0) and equal
    /// quality is stored.
    fn holds(&self, value: f64, quality: u32) -> bool {
        std::iter::once(&self.first).chain(&self.more).any(|&(v, q)| v == value && q == quality)
    }
}

/// Inserts the meter if new and returns its id.
pub(crate) fn meter_id(tx: &Connection, mrid: &str) -> Result<i64, StoreError> {
    tx.prepare_cached("INSERT INTO meter (mrid) VALUES (?1) ON CONFLICT (mrid) DO NOTHING")
        .and_then(|mut s| s.execute([mrid]))
        .context("registering a meter")?;
    tx.prepare_cached("SELECT id FROM meter WHERE mrid = ?1")
        .and_then(|mut s| s.query_row([mrid], |row| row.get(0)))
        .context("looking up a meter")
}

/// Records the collection session (once per meter and collected_at) and returns its id.
pub(crate) fn collection_id(
    tx: &Connection,
    meter_id: i64,
    reading: &MeterReading,
    ingested_at_ms: i64,
    source: &str,
) -> Result<i64, StoreError> {
    let collected_at_ms = floor_millisecond(reading.collected_at);
    let inserted: Option<i64> = tx
        .prepare_cached(
            "INSERT INTO collection \
             (meter_id, collected_at_ms, clock_drift_ms, interval_length_s, ingested_at_ms, source) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (meter_id, collected_at_ms) DO NOTHING RETURNING id",
        )
        .and_then(|mut s| {
            s.query_row(
                params![
                    meter_id,
                    collected_at_ms,
                    reading.clock_drift_ms,
                    reading.interval_length_s,
                    ingested_at_ms,
                    source
                ],
                |row| row.get(0),
            )
            .optional()
        })
        .context("recording a collection session")?;
    if let Some(id) = inserted {
        return Ok(id);
    }
    tx.prepare_cached("SELECT id FROM collection WHERE meter_id = ?1 AND collected_at_ms = ?2")
        .and_then(|mut s| s.query_row(params![meter_id, collected_at_ms], |row| row.get(0)))
        .context("looking up a collection session")
}

/// Stores `values` of one meter into `table`, in order, returning the counts.
pub(crate) fn ingest_series(
    tx: &Connection,
    table: &SeriesTable,
    meter_id: i64,
    collection_id: i64,
    values: &[EncodedValue],
) -> Result<SeriesCounts, StoreError> {
    let mut counts = SeriesCounts::default();
    if values.is_empty() {
        return Ok(counts);
    }

    // Time span per reading type, so existing versions load in one range query each.
    let mut spans: HashMap<i64, (i64, i64)> = HashMap::new();
    for v in values {
        spans
            .entry(v.reading_type_id)
            .and_modify(|(lo, hi)| {
                *lo = (*lo).min(v.at);
                *hi = (*hi).max(v.at);
            })
            .or_insert((v.at, v.at));
    }

    let mut known: HashMap<(i64, i64), KnownVersions> = HashMap::with_capacity(values.len());
    let mut select = tx.prepare_cached(table.select_for_ingest).context("preparing the existing-versions query")?;
    for (&reading_type_id, &(lo, hi)) in &spans {
        let mut rows = select.query(params![meter_id, reading_type_id, lo, hi]).context("loading existing versions")?;
        while let Some(row) = rows.next().context("loading existing versions")? {
            let at: i64 = row.get(0).context("reading a stored time")?;
            let version: i64 = row.get(1).context("reading a stored version")?;
            let value: f64 = row.get(2).context("reading a stored value")?;
            let quality: i64 = row.get(3).context("reading stored quality flags")?;
            let version = u32::try_from(version)
                .map_err(|_| StoreError::Corrupt(format!("{} version {version} out of range", table.what)))?;
            let quality = u32::try_from(quality)
                .map_err(|_| StoreError::Corrupt(format!("{} quality {quality} out of range", table.what)))?;
            match known.entry((reading_type_id, at)) {
                Entry::Occupied(mut e) => e.get_mut().add(version, value, quality),
                Entry::Vacant(e) => {
                    e.insert(KnownVersions::new(version, value, quality));
                }
            }
        }
    }

    let mut insert = tx.prepare_cached(table.insert).context("preparing the insert")?;
    for v in values {
        let version = match known.entry((v.reading_type_id, v.at)) {
            Entry::Vacant(e) => {
                e.insert(KnownVersions::new(1, v.value, v.quality));
                counts.new += 1;
                1
            }
            Entry::Occupied(mut e) => {
                let versions = e.get_mut();
                if versions.holds(v.value, v.quality) {
                    counts.duplicate += 1;
                    continue;
                }
                let next = versions
                    .latest
                    .checked_add(1)
                    .ok_or_else(|| StoreError::Corrupt(format!("{} at {} has too many versions", table.what, v.at)))?;
                versions.add(next, v.value, v.quality);
                counts.revised += 1;
                next
            }
        };
        insert
            .execute(params![meter_id, v.reading_type_id, v.at, version, v.value, v.quality, collection_id])
            .context("inserting a value version")?;
    }
    Ok(counts)
}
