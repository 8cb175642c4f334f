//! Idempotent, versioned ingest of one `MeterReading` inside one SQLite transaction.
//!
//! Per reading type in the reading, one range query loads the versions already stored for
//! the reading's time span (nothing, for a fresh load profile); each value is then
//! classified in memory as new, duplicate or revision and only new rows are inserted with
//! a cached prepared statement. With VEE on, the interval query covers the validation
//! window, so the same load also serves validation.

use std::collections::BTreeMap;
use std::collections::btree_map::Entry;

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

impl SeriesCounts {
    /// Adds `other` to these counts.
    pub fn add(&mut self, other: SeriesCounts) {
        self.new += other.new;
        self.duplicate += other.duplicate;
        self.revised += other.revised;
    }
}

/// The versions known for one key: the latest version with its value, quality and
/// collection, and every stored (value, quality). The first pair is held inline: nearly
/// every key has one version.
#[derive(Debug, Clone)]
pub(crate) struct KnownVersions {
    /// Highest version number.
    pub latest: u32,
    /// Value of the highest version.
    pub latest_value: f64,
    /// Quality of the highest version.
    pub latest_quality: u32,
    /// Collection of the highest version (`None` for estimates and edits).
    pub latest_collection: Option<i64>,
    first: (f64, u32),
    more: Vec<(f64, u32)>,
    /// First value a collection session delivered, to spot conflicting deliveries.
    first_delivered: Option<f64>,
    /// True when collection sessions delivered two different values.
    pub conflicting: bool,
}

impl KnownVersions {
    fn new(version: u32, value: f64, quality: u32, collection: Option<i64>) -> Self {
        KnownVersions {
            latest: version,
            latest_value: value,
            latest_quality: quality,
            latest_collection: collection,
            first: (value, quality),
            more: Vec::new(),
            first_delivered: collection.map(|_| value),
            conflicting: false,
        }
    }

    fn add(&mut self, version: u32, value: f64, quality: u32, collection: Option<i64>) {
        if version > self.latest {
            self.latest = version;
            self.latest_value = value;
            self.latest_quality = quality;
            self.latest_collection = collection;
        }
        self.more.push((value, quality));
        if collection.is_some() {
            match self.first_delivered {
                None => self.first_delivered = Some(value),
                Some(v) if v != value => self.conflicting = true,
                Some(_) => {}
            }
        }
    }

    /// True when a version with an equal value (numerically, so -0.0 equals 0.0) and equal
    /// quality is stored.
    fn holds(&self, value: f64, quality: u32) -> bool {
        std::iter::once(&self.first).chain(&self.more).any(|&(v, q)| v == value && q == quality)
    }
}

/// Every stored version of one channel, by time.
pub(crate) type Versions = BTreeMap<i64, KnownVersions>;

/// Loads the versions of one channel with time in `[lo, hi]` (one range query).
pub(crate) fn load_versions(
    tx: &Connection,
    table: &SeriesTable,
    meter_id: i64,
    reading_type_id: i64,
    lo: i64,
    hi: i64,
) -> Result<Versions, StoreError> {
    let mut known = Versions::new();
    let mut select = tx.prepare_cached(table.select_for_ingest).context("preparing the existing-versions query")?;
    let mut rows = select.query(params![meter_id, reading_type_id, lo, hi]).context("loading existing versions")?;
    while let Some(row) = rows.next().context("loading existing versions")? {
        let at: i64 = row.get(0).context("reading a stored time")?;
        let version: i64 = row.get(1).context("reading a stored version")?;
        let value: f64 = row.get(2).context("reading a stored value")?;
        let quality: i64 = row.get(3).context("reading stored quality flags")?;
        let collection: Option<i64> = row.get(4).context("reading a stored collection")?;
        let version = u32::try_from(version)
            .map_err(|_| StoreError::Corrupt(format!("{} version {version} out of range", table.what)))?;
        let quality = u32::try_from(quality)
            .map_err(|_| StoreError::Corrupt(format!("{} quality {quality} out of range", table.what)))?;
        match known.entry(at) {
            Entry::Occupied(mut e) => e.get_mut().add(version, value, quality, collection),
            Entry::Vacant(e) => {
                e.insert(KnownVersions::new(version, value, quality, collection));
            }
        }
    }
    Ok(known)
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

/// Stores `values` of one meter into `table`, in order, returning the counts. Existing
/// versions load with one range query per reading type.
pub(crate) fn ingest_series(
    tx: &Connection,
    table: &SeriesTable,
    meter_id: i64,
    collection_id: i64,
    values: &[EncodedValue],
) -> Result<SeriesCounts, StoreError> {
    let mut counts = SeriesCounts::default();
    // Time span per reading type, so existing versions load in one range query each.
    let mut spans: BTreeMap<i64, (i64, i64)> = BTreeMap::new();
    for v in values {
        spans
            .entry(v.reading_type_id)
            .and_modify(|(lo, hi)| {
                *lo = (*lo).min(v.at);
                *hi = (*hi).max(v.at);
            })
            .or_insert((v.at, v.at));
    }
    for (&reading_type_id, &(lo, hi)) in &spans {
        let mut known = load_versions(tx, table, meter_id, reading_type_id, lo, hi)?;
        let of_type = values.iter().filter(|v| v.reading_type_id == reading_type_id);
        counts.add(store_values(tx, table, meter_id, collection_id, of_type, &mut known)?);
    }
    Ok(counts)
}

/// Classifies `values` (all of one reading type) against `known` as new, duplicate or
/// revision, inserts the new versions and records them in `known`.
pub(crate) fn store_values<'v>(
    tx: &Connection,
    table: &SeriesTable,
    meter_id: i64,
    collection_id: i64,
    values: impl Iterator<Item = &'v EncodedValue>,
    known: &mut Versions,
) -> Result<SeriesCounts, StoreError> {
    let mut counts = SeriesCounts::default();
    let mut insert = tx.prepare_cached(table.insert).context("preparing the insert")?;
    for v in values {
        let version = match known.entry(v.at) {
            Entry::Vacant(e) => {
                e.insert(KnownVersions::new(1, v.value, v.quality, Some(collection_id)));
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
                versions.add(next, v.value, v.quality, Some(collection_id));
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
