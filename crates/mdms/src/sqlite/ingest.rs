//! Idempotent, versioned ingest of `MeterReading`s: one SQLite transaction per batch
//! ([`MeterDataStore::ingest_batch`](crate::MeterDataStore::ingest_batch); a single
//! reading is a batch of one).
//!
//! Per channel (meter and reading type) of each reading, one range query loads the
//! versions already stored for the reading's time span (nothing, for a fresh load profile);
//! each value is then classified in memory as new, duplicate or revision and only new rows
//! are inserted with a cached prepared statement. With VEE on, the interval query covers
//! the validation window, so the same load also serves validation. Each channel the batch
//! touched is validated once, inside the transaction, when all of the batch's data of its
//! meter is stored: right after the reading for a meter the batch delivers once (its pages
//! are still in the cache), at the end of the batch for a meter delivered several times.
//! Meter ids are cached in the store once committed, so a known meter costs no query.

use std::collections::hash_map::Entry as HashEntry;
use std::collections::{BTreeMap, HashMap};

use jiff::Timestamp;
use model::{MeterReading, ReadingType};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::SqliteStore;
use super::checkpoint::Checkpointer;
use super::findings::Cause;
use super::series_table::{INSERT_CHUNKS, INTERVALS, REGISTERS, SeriesTable};
use super::timestamp::{floor_millisecond, floor_second};
use super::vee_ops::{auto_estimate, revalidate, validate_loaded};
use super::vee_window::{Channel, Deliveries, Window};
use crate::error::SqliteContext;
use crate::ingest_check::check_ingestible;
use crate::known_versions::KnownVersions;
use crate::vee::{CompiledVee, Delivery, ValidationReport};
use crate::{IngestOutcome, IngestReport, StoreError};

/// Meter ids kept in memory at most; the cache starts over beyond this (ids are looked up
/// again), so a fleet of tens of millions of meters does not grow the store without bound.
const METER_CACHE_CAPACITY: usize = 1_000_000;

/// One value to store, already encoded for its table.
#[derive(Debug, Clone, Copy)]
pub(crate) struct EncodedValue {
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

/// Every stored version of one channel, by time: a vector sorted by time (values arrive in
/// key order from the table and new ones are nearly always appended, so this beats a tree).
#[derive(Debug, Clone, Default)]
pub(crate) struct Versions {
    entries: Vec<(i64, KnownVersions)>,
}

impl Versions {
    /// No versions.
    pub fn new() -> Self {
        Versions::default()
    }

    /// Number of distinct times.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// `(time, versions)` in time order.
    pub fn iter(&self) -> impl Iterator<Item = (&i64, &KnownVersions)> {
        self.entries.iter().map(|(at, k)| (at, k))
    }

    /// Where `at` is (`Ok`) or would go (`Err`); the common append is checked first.
    fn position(&self, at: i64) -> Result<usize, usize> {
        match self.entries.last() {
            None => Err(0),
            Some((last, _)) if *last < at => Err(self.entries.len()),
            _ => self.entries.binary_search_by_key(&at, |(t, _)| *t),
        }
    }

    /// Records a stored version (rows may come in any order).
    fn record(&mut self, at: i64, version: u32, value: f64, quality: u32, collection: Option<i64>) {
        match self.position(at) {
            Ok(i) => {
                if let Some((_, k)) = self.entries.get_mut(i) {
                    k.add(version, value, quality, collection);
                }
            }
            Err(i) => self.entries.insert(i, (at, KnownVersions::new(version, value, quality, collection))),
        }
    }
}

impl<'a> IntoIterator for &'a Versions {
    type Item = (&'a i64, &'a KnownVersions);
    type IntoIter =
        std::iter::Map<std::slice::Iter<'a, (i64, KnownVersions)>, fn(&'a (i64, KnownVersions)) -> Self::Item>;

    fn into_iter(self) -> Self::IntoIter {
        self.entries.iter().map(|(at, k)| (at, k))
    }
}

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
    if lo > hi {
        return Ok(known);
    }
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
        known.record(at, version, value, quality, collection);
    }
    Ok(known)
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

/// Classifies `values` (all of reading type `reading_type_id`) against `known` as new,
/// duplicate or revision, inserts the new versions (in multi-row statements) and records
/// them in `known`.
pub(crate) fn store_values<'v>(
    tx: &Connection,
    table: &SeriesTable,
    meter_id: i64,
    reading_type_id: i64,
    collection_id: i64,
    values: impl Iterator<Item = &'v EncodedValue>,
    known: &mut Versions,
) -> Result<SeriesCounts, StoreError> {
    let mut counts = SeriesCounts::default();
    // (time, version, value, quality) of each row to insert, in delivery order.
    let mut rows: Vec<(i64, u32, f64, u32)> = Vec::new();
    for v in values {
        let version = match known.position(v.at) {
            Err(i) => {
                known.entries.insert(i, (v.at, KnownVersions::new(1, v.value, v.quality, Some(collection_id))));
                counts.new += 1;
                1
            }
            Ok(i) => {
                let Some((_, versions)) = known.entries.get_mut(i) else { continue };
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
        rows.push((v.at, version, v.value, v.quality));
    }
    let mut rest = rows.as_slice();
    for (index, size) in INSERT_CHUNKS.into_iter().enumerate() {
        let Some(sql) = table.insert_chunk(index) else { continue };
        while rest.len() >= size {
            let (chunk, tail) = rest.split_at(size);
            let mut insert = tx.prepare_cached(sql).context("preparing an insert")?;
            let bound = (|| {
                insert.raw_bind_parameter(1, meter_id)?;
                insert.raw_bind_parameter(2, reading_type_id)?;
                insert.raw_bind_parameter(3, collection_id)?;
                for (k, &(at, version, value, quality)) in chunk.iter().enumerate() {
                    let first = 4 + 4 * k;
                    insert.raw_bind_parameter(first, at)?;
                    insert.raw_bind_parameter(first + 1, version)?;
                    insert.raw_bind_parameter(first + 2, value)?;
                    insert.raw_bind_parameter(first + 3, quality)?;
                }
                insert.raw_execute()
            })();
            bound.context("inserting value versions")?;
            rest = tail;
        }
    }
    Ok(counts)
}

/// What a batch knows about one channel (meter and reading type) it delivered intervals of.
struct Touched {
    /// Index in the batch of the last reading that delivered intervals of the channel.
    last_reading: usize,
    meter_id: i64,
    reading_type: ReadingType,
    reading_type_id: i64,
    /// First and last interval end delivered in the batch, UTC seconds.
    lo: i64,
    hi: i64,
    /// True when a reading of the batch delivered register reads of the channel together
    /// with its intervals (see [`Channel::with_registers`]).
    with_registers: bool,
    /// True when any value was new or revised: a pure replay changes no validation result.
    changed: bool,
    /// The validation window and every version of its context, when exactly one reading of
    /// the batch touched the channel (loaded before its values were stored, then updated
    /// with them); `None` after a second touch, when validation reloads the window.
    loaded: Option<(Window, Versions)>,
}

impl SqliteStore {
    /// [`MeterDataStore::ingest_batch`](crate::MeterDataStore::ingest_batch): every reading
    /// of `readings` in one `IMMEDIATE` transaction, then validation of each touched
    /// channel in the same transaction.
    pub(super) fn ingest_batch_impl(
        &mut self,
        readings: &[MeterReading],
        source: &str,
    ) -> Result<Vec<IngestOutcome>, StoreError> {
        for reading in readings {
            check_ingestible(reading)?;
        }
        if readings.is_empty() {
            return Ok(Vec::new());
        }
        let at_ms = floor_millisecond(Timestamp::now());
        let SqliteStore { conn, vee, reading_type_ids, meter_ids, checkpointer, path, .. } = self;
        let type_id = |reading_type: ReadingType| {
            reading_type_ids
                .get(&reading_type)
                .copied()
                .ok_or_else(|| StoreError::Corrupt(format!("reading type {reading_type} missing from the database")))
        };
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).context("starting an ingest")?;
        let mut new_meters: HashMap<&str, i64> = HashMap::new();
        let mut outcomes: Vec<IngestOutcome> = Vec::with_capacity(readings.len());
        let mut touched: Vec<Touched> = Vec::new();
        let mut touched_at: HashMap<(i64, ReadingType), usize> = HashMap::new();
        let mut deliveries = Deliveries::new();
        // Readings per meter in the batch: the channels of a meter delivered once are
        // validated right after their reading is stored, while its pages are still in the
        // cache; those of a meter delivered more than once wait for the end of the batch.
        let mut per_meter: HashMap<&str, u32> = HashMap::with_capacity(readings.len());
        for reading in readings {
            *per_meter.entry(reading.meter.0.as_str()).or_default() += 1;
        }
        for (index, reading) in readings.iter().enumerate() {
            let mrid = reading.meter.0.as_str();
            let touched_before = touched.len();
            let meter = match meter_ids.get(mrid).or_else(|| new_meters.get(mrid)) {
                Some(&id) => id,
                None => {
                    let (id, inserted) = find_or_insert_meter(&tx, mrid)?;
                    if inserted {
                        new_meters.insert(mrid, id);
                    } else {
                        cache_meter(meter_ids, mrid, id);
                    }
                    id
                }
            };
            let collection = collection_id(&tx, meter, reading, at_ms, source)?;
            let mut report = IngestReport::default();

            let mut registers: BTreeMap<ReadingType, Vec<EncodedValue>> = BTreeMap::new();
            for r in &reading.registers {
                registers.entry(r.reading_type).or_default().push(EncodedValue {
                    at: floor_second(r.read_at),
                    value: r.value,
                    quality: 0,
                });
            }
            for values in registers.values_mut() {
                // Stable: repeated keys keep their delivery order, which numbers their
                // versions; sorted values append to the known versions instead of shifting them.
                values.sort_by_key(|v| v.at);
            }
            for (&reading_type, values) in &registers {
                let reading_type_id = type_id(reading_type)?;
                let (lo, hi) = span(values);
                let mut known = load_versions(&tx, &REGISTERS, meter, reading_type_id, lo, hi)?;
                let c = store_values(&tx, &REGISTERS, meter, reading_type_id, collection, values.iter(), &mut known)?;
                report.registers_new += c.new;
                report.registers_duplicate += c.duplicate;
                report.registers_revised += c.revised;
            }

            // Intervals per channel, in delivery order within each.
            let mut channels: BTreeMap<ReadingType, Vec<EncodedValue>> = BTreeMap::new();
            for i in &reading.intervals {
                channels.entry(i.reading_type).or_default().push(EncodedValue {
                    at: floor_second(i.interval_end),
                    value: i.value,
                    quality: i.quality.0,
                });
            }
            if vee.enabled && !channels.is_empty() {
                deliveries.insert(
                    collection,
                    Delivery { clock_drift_ms: reading.clock_drift_ms, interval_length_s: reading.interval_length_s },
                );
            }
            for (reading_type, mut values) in channels {
                values.sort_by_key(|v| v.at);
                let reading_type_id = type_id(reading_type)?;
                let (lo, hi) = span(&values);
                let counts = if !vee.enabled {
                    let mut known = load_versions(&tx, &INTERVALS, meter, reading_type_id, lo, hi)?;
                    store_values(&tx, &INTERVALS, meter, reading_type_id, collection, values.iter(), &mut known)?
                } else {
                    let with_registers = registers.contains_key(&reading_type);
                    match touched_at.entry((meter, reading_type)) {
                        HashEntry::Vacant(e) => {
                            let class = vee.class_for(&reading.meter);
                            let ch = Channel { with_registers, meter_id: meter, reading_type, reading_type_id, class };
                            let win = Window::covering(&ch, lo, hi)?;
                            let mut versions =
                                load_versions(&tx, &INTERVALS, meter, reading_type_id, win.ctx_lo, win.ctx_hi)?;
                            let counts = store_values(
                                &tx,
                                &INTERVALS,
                                meter,
                                reading_type_id,
                                collection,
                                values.iter(),
                                &mut versions,
                            )?;
                            e.insert(touched.len());
                            touched.push(Touched {
                                last_reading: index,
                                meter_id: meter,
                                reading_type,
                                reading_type_id,
                                lo,
                                hi,
                                with_registers,
                                changed: counts.new + counts.revised > 0,
                                loaded: Some((win, versions)),
                            });
                            counts
                        }
                        HashEntry::Occupied(e) => {
                            let t = touched
                                .get_mut(*e.get())
                                .ok_or_else(|| StoreError::Corrupt("ingest batch bookkeeping".into()))?;
                            let mut known = load_versions(&tx, &INTERVALS, meter, reading_type_id, lo, hi)?;
                            let counts = store_values(
                                &tx,
                                &INTERVALS,
                                meter,
                                reading_type_id,
                                collection,
                                values.iter(),
                                &mut known,
                            )?;
                            t.last_reading = index;
                            t.lo = t.lo.min(lo);
                            t.hi = t.hi.max(hi);
                            t.with_registers |= with_registers;
                            t.changed |= counts.new + counts.revised > 0;
                            t.loaded = None;
                            counts
                        }
                    }
                };
                report.intervals_new += counts.new;
                report.intervals_duplicate += counts.duplicate;
                report.intervals_revised += counts.revised;
            }
            let mut validation = ValidationReport::default();
            if per_meter.get(mrid).is_some_and(|&n| n == 1) {
                for t in touched.drain(touched_before..) {
                    touched_at.remove(&(t.meter_id, t.reading_type));
                    if let Some((_, r)) = validate_touched(&tx, vee, readings, t, at_ms, &mut deliveries)? {
                        validation.absorb(r);
                    }
                }
            }
            outcomes.push(IngestOutcome { ingest: report, validation });
        }

        for t in touched {
            if let Some((index, report)) = validate_touched(&tx, vee, readings, t, at_ms, &mut deliveries)?
                && let Some(outcome) = outcomes.get_mut(index)
            {
                outcome.validation.absorb(report);
            }
        }
        tx.commit().context("committing an ingest")?;
        // Committed: from here on nothing may return an error.
        for (mrid, id) in new_meters {
            cache_meter(meter_ids, mrid, id);
        }
        if checkpointer.is_none()
            && let Some(path) = path.as_deref()
        {
            match Checkpointer::start(path, conn) {
                Ok(c) => *checkpointer = Some(c),
                Err(e) => tracing::warn!(error = %e, "no background WAL checkpoints; keeping automatic ones"),
            }
        }
        if let Some(c) = checkpointer {
            c.nudge();
        }
        if tracing::enabled!(tracing::Level::DEBUG) {
            let mut ingest = IngestReport::default();
            let mut validation = ValidationReport::default();
            for o in &outcomes {
                add_report(&mut ingest, &o.ingest);
                validation.absorb(o.validation.clone());
            }
            tracing::debug!(readings = readings.len(), ?ingest, ?validation, "meter readings ingested");
        }
        Ok(outcomes)
    }
}

/// Validates a channel the batch stored (with the automatic estimation its class asks for):
/// the index of the reading its validation is reported with, and the report. `None` when
/// the batch changed no value of the channel (a pure replay changes no finding).
fn validate_touched(
    tx: &Connection,
    vee: &CompiledVee,
    readings: &[MeterReading],
    t: Touched,
    at_ms: i64,
    deliveries: &mut Deliveries,
) -> Result<Option<(usize, ValidationReport)>, StoreError> {
    let Some(last) = readings.get(t.last_reading).filter(|_| t.changed) else { return Ok(None) };
    let ch = Channel {
        with_registers: t.with_registers,
        meter_id: t.meter_id,
        reading_type: t.reading_type,
        reading_type_id: t.reading_type_id,
        class: vee.class_for(&last.meter),
    };
    let (win, (mut report, slice, findings)) = match &t.loaded {
        Some((win, versions)) => (*win, validate_loaded(tx, &ch, win, versions, Cause::Ingest, at_ms, deliveries)?),
        None => {
            let win = Window::covering(&ch, t.lo, t.hi)?;
            (win, revalidate(tx, &ch, &win, Cause::Ingest, at_ms, deliveries)?)
        }
    };
    report.absorb(auto_estimate(tx, &ch, &win, &slice, &findings, at_ms, deliveries)?);
    Ok(Some((t.last_reading, report)))
}

/// First and last time of `values` (`(0, -1)`, an empty range, when there are none).
fn span(values: &[EncodedValue]) -> (i64, i64) {
    values
        .iter()
        .fold(None, |acc: Option<(i64, i64)>, v| match acc {
            None => Some((v.at, v.at)),
            Some((lo, hi)) => Some((lo.min(v.at), hi.max(v.at))),
        })
        .unwrap_or((0, -1))
}

fn add_report(sum: &mut IngestReport, r: &IngestReport) {
    sum.intervals_new += r.intervals_new;
    sum.intervals_duplicate += r.intervals_duplicate;
    sum.intervals_revised += r.intervals_revised;
    sum.registers_new += r.registers_new;
    sum.registers_duplicate += r.registers_duplicate;
    sum.registers_revised += r.registers_revised;
}

/// Remembers a committed meter id.
fn cache_meter(cache: &mut HashMap<String, i64>, mrid: &str, id: i64) {
    if cache.len() >= METER_CACHE_CAPACITY {
        cache.clear();
    }
    cache.insert(mrid.to_string(), id);
}

/// The id of meter `mrid`, inserting it when unknown; `true` when inserted by this call.
fn find_or_insert_meter(tx: &Connection, mrid: &str) -> Result<(i64, bool), StoreError> {
    let found: Option<i64> = tx
        .prepare_cached("SELECT id FROM meter WHERE mrid = ?1")
        .and_then(|mut s| s.query_row([mrid], |row| row.get(0)).optional())
        .context("looking up a meter")?;
    if let Some(id) = found {
        return Ok((id, false));
    }
    let id = tx
        .prepare_cached("INSERT INTO meter (mrid) VALUES (?1) RETURNING id")
        .and_then(|mut s| s.query_row([mrid], |row| row.get(0)))
        .context("registering a meter")?;
    Ok((id, true))
}
