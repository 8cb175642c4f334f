//! Idempotent, versioned ingest of meter readings inside one PostgreSQL transaction.
//!
//! A batch costs a fixed number of round trips, whatever its size: the stored versions of
//! every channel the batch delivers are read with one statement per value table (one index
//! range scan per channel, over the delivered span or, with VEE on, over the validation
//! context, together with the stored neighbours just outside it); each value is then
//! classified in memory exactly as [`MeterDataStore`](crate::MeterDataStore) defines it
//! (the first delivery of a (key, value, quality) counts; a pair equal to any stored version
//! of its key is a duplicate; the other pairs of a key become its next versions in order of
//! first delivery), and the new rows go to the value table with one binary `COPY`, in key
//! order. The versions loaded, updated with the rows written, are also the series that
//! validation on ingest judges, so VEE reads nothing it already has (see `vee_tx.rs`).
//!
//! Writers of the same meter are serialised by a transaction-scoped advisory lock per meter
//! (taken in meter id order, one statement per batch), so concurrent ingests never race on
//! version numbers; the primary keys make any other race an error, never a lost version.

use std::collections::{BTreeMap, HashMap};

use jiff::Timestamp;
use model::{MeterReading, ReadingType};
use postgres::Transaction;
use postgres::binary_copy::BinaryCopyInWriter;
use postgres::types::Type;

use super::context::{Db, PgContext, get};
use super::convert::{
    at_second, quality_from_sql, quality_to_sql, second_of, truncate_to_millisecond, version_from_sql,
};
use super::schema::LOCK_NAMESPACE;
use crate::epoch::floor_second;
use crate::known_versions::KnownVersions;
use crate::vee::{Delivery, SeriesPoint};
use crate::{IngestReport, StoreError};

/// Registers the meters (new ones get a row) and returns every one's id.
const UPSERT_METERS: &str = "\
    WITH input AS (SELECT DISTINCT unnest($1::text[]) AS mrid), \
    ins AS (INSERT INTO meter (mrid) SELECT mrid FROM input ORDER BY mrid ON CONFLICT (mrid) DO NOTHING \
            RETURNING id, mrid) \
    SELECT i.mrid, COALESCE(ins.id, m.id) FROM input i LEFT JOIN ins ON ins.mrid = i.mrid \
    LEFT JOIN meter m ON m.mrid = i.mrid";

const SELECT_METERS: &str = "SELECT mrid, id FROM meter WHERE mrid = ANY($1)";

/// Records the collection sessions (once per meter and collected_at) and returns their ids
/// by input position (1-based) with the stored delivery facts (those of the session first
/// recorded, when a reading repeats one).
const UPSERT_COLLECTIONS: &str = "\
    WITH input AS (SELECT * FROM unnest($1::integer[], $2::timestamptz[], $3::bigint[], $4::integer[], \
                   $5::timestamptz[], $6::text[]) WITH ORDINALITY \
                   AS t(meter_id, collected_at, clock_drift_ms, interval_length_s, ingested_at, source, n)), \
    ins AS (INSERT INTO collection (meter_id, collected_at, clock_drift_ms, interval_length_s, ingested_at, source) \
            SELECT meter_id, collected_at, clock_drift_ms, interval_length_s, ingested_at, source FROM input \
            ORDER BY n ON CONFLICT (meter_id, collected_at) DO NOTHING RETURNING id, meter_id, collected_at) \
    SELECT i.n, COALESCE(ins.id, c.id), \
           CASE WHEN ins.id IS NULL THEN c.clock_drift_ms ELSE i.clock_drift_ms END, \
           CASE WHEN ins.id IS NULL THEN c.interval_length_s ELSE i.interval_length_s END FROM input i \
    LEFT JOIN ins ON ins.meter_id = i.meter_id AND ins.collected_at = i.collected_at \
    LEFT JOIN collection c ON c.meter_id = i.meter_id AND c.collected_at = i.collected_at";

const SELECT_COLLECTION: &str = "SELECT id FROM collection WHERE meter_id = $1 AND collected_at = $2";

const LOCK_METERS: &str = "SELECT pg_advisory_xact_lock($1, id) FROM \
    (SELECT DISTINCT unnest($2::integer[]) AS id ORDER BY 1) AS m";

/// Every stored interval version of each channel `n` (1-based position in the arrays) with
/// interval end in `[$3[n], $4[n]]` (part 0), and, when `$5`, the latest version of the last
/// end before `$3[n]` (part 1) and of the first end after `$4[n]` (part 2) with the delivery
/// facts of its collection (those of part 0 come from [`DELIVERIES`] and a cache). `OFFSET 0` keeps each channel's lookup one index range
/// scan (the planner would otherwise consider joining whole partitions).
const LOAD_INTERVALS: &str = "\
    WITH s AS MATERIALIZED (SELECT * FROM unnest($1::integer[], $2::smallint[], $3::timestamptz[], \
        $4::timestamptz[]) WITH ORDINALITY AS t(m, rt, lo, hi, n)) \
    SELECT s.n, 0 AS part, v.interval_end, v.version, v.value, v.quality, v.collection_id, \
           NULL::bigint, NULL::integer \
    FROM s CROSS JOIN LATERAL (SELECT interval_end, version, value, quality, collection_id FROM interval_reading \
        WHERE meter_id = s.m AND reading_type_id = s.rt AND interval_end >= s.lo AND interval_end <= s.hi \
        OFFSET 0) v \
    UNION ALL \
    SELECT s.n, 1, v.interval_end, v.version, v.value, v.quality, v.collection_id, \
           c.clock_drift_ms, c.interval_length_s \
    FROM s CROSS JOIN LATERAL (SELECT interval_end, version, value, quality, collection_id FROM interval_reading \
        WHERE $5 AND meter_id = s.m AND reading_type_id = s.rt AND interval_end < s.lo \
        ORDER BY interval_end DESC, version DESC LIMIT 1) v \
    LEFT JOIN collection c ON c.id = v.collection_id \
    UNION ALL \
    SELECT s.n, 2, v.interval_end, v.version, v.value, v.quality, v.collection_id, \
           c.clock_drift_ms, c.interval_length_s \
    FROM s CROSS JOIN LATERAL (SELECT interval_end, version, value, quality, collection_id FROM interval_reading \
        WHERE $5 AND meter_id = s.m AND reading_type_id = s.rt AND interval_end > s.hi \
        ORDER BY interval_end ASC, version DESC LIMIT 1) v \
    LEFT JOIN collection c ON c.id = v.collection_id";

/// Every stored register read version of each channel `n` with read time in
/// `[$3[n], $4[n]]`.
const LOAD_REGISTERS: &str = "\
    SELECT s.n, v.read_at, v.version, v.value, v.quality FROM unnest($1::integer[], $2::smallint[], \
        $3::timestamptz[], $4::timestamptz[]) WITH ORDINALITY AS s(m, rt, lo, hi, n) \
    CROSS JOIN LATERAL (SELECT read_at, version, value, quality FROM register_read \
        WHERE meter_id = s.m AND reading_type_id = s.rt AND read_at >= s.lo AND read_at <= s.hi OFFSET 0) v";

/// The delivery facts of collection sessions.
const DELIVERIES: &str = "SELECT id, clock_drift_ms, interval_length_s FROM collection WHERE id = ANY($1)";

const COPY_INTERVALS: &str = "COPY interval_reading \
    (meter_id, reading_type_id, interval_end, version, value, quality, collection_id) FROM STDIN (FORMAT binary)";
const COPY_REGISTERS: &str = "COPY register_read \
    (meter_id, reading_type_id, read_at, version, value, quality, collection_id) FROM STDIN (FORMAT binary)";

/// Column types of the value tables, in `COPY` order.
const VALUE_TYPES: [Type; 7] =
    [Type::INT4, Type::INT2, Type::TIMESTAMPTZ, Type::INT4, Type::FLOAT8, Type::INT4, Type::INT8];

/// The ids of `mrids`, registering new meters; uses `cache` (committed meters only: the
/// caller adds the ids it returns after the commit).
pub(crate) fn meter_ids(
    db: &mut Db<'_, Transaction<'_>>,
    cache: &HashMap<String, i32>,
    mrids: &[&str],
) -> Result<HashMap<String, i32>, StoreError> {
    const CTX: &str = "registering meters";
    let mut out: HashMap<String, i32> = HashMap::with_capacity(mrids.len());
    let mut missing: Vec<&str> = Vec::new();
    for &mrid in mrids {
        match cache.get(mrid) {
            Some(&id) => {
                out.insert(mrid.to_string(), id);
            }
            None => missing.push(mrid),
        }
    }
    if missing.is_empty() {
        return Ok(out);
    }
    let mut unresolved = Vec::new();
    for row in db.query(UPSERT_METERS, &[&missing], CTX)? {
        let mrid: String = get(&row, 0, CTX)?;
        match get::<Option<i32>>(&row, 1, CTX)? {
            Some(id) => {
                out.insert(mrid, id);
            }
            // Inserted by a concurrent transaction that committed after this statement began.
            None => unresolved.push(mrid),
        }
    }
    if !unresolved.is_empty() {
        for row in db.query(SELECT_METERS, &[&unresolved], CTX)? {
            out.insert(get(&row, 0, CTX)?, get(&row, 1, CTX)?);
        }
    }
    match missing.iter().find(|m| !out.contains_key(**m)) {
        Some(m) => Err(StoreError::Corrupt(format!("meter {m} could not be registered"))),
        None => Ok(out),
    }
}

/// Locks the meters against concurrent ingests until the transaction ends.
pub(crate) fn lock_meters(db: &mut Db<'_, Transaction<'_>>, ids: &[i32]) -> Result<(), StoreError> {
    db.query(LOCK_METERS, &[&LOCK_NAMESPACE, &ids], "locking meters")?;
    Ok(())
}

/// Records the collection session of each reading and returns their ids, in order; adds
/// the stored delivery facts of each session to `facts`.
pub(crate) fn collection_ids(
    db: &mut Db<'_, Transaction<'_>>,
    readings: &[MeterReading],
    meter_of: &[i32],
    ingested_at_ms: i64,
    source: &str,
    facts: &mut HashMap<i64, Delivery>,
) -> Result<Vec<i64>, StoreError> {
    const CTX: &str = "recording collection sessions";
    let ingested_at = super::convert::at_millisecond(ingested_at_ms)?;
    let collected: Vec<Timestamp> =
        readings.iter().map(|r| truncate_to_millisecond(r.collected_at)).collect::<Result<_, _>>()?;
    let drift: Vec<Option<i64>> = readings.iter().map(|r| r.clock_drift_ms).collect();
    let length: Vec<i32> = readings
        .iter()
        .map(|r| {
            i32::try_from(r.interval_length_s)
                .map_err(|_| StoreError::Corrupt(format!("interval length {} s out of range", r.interval_length_s)))
        })
        .collect::<Result<_, _>>()?;
    let ingested: Vec<Timestamp> = vec![ingested_at; readings.len()];
    let sources: Vec<&str> = vec![source; readings.len()];
    let mut ids: Vec<Option<i64>> = vec![None; readings.len()];
    for row in db.query(UPSERT_COLLECTIONS, &[&meter_of, &collected, &drift, &length, &ingested, &sources], CTX)? {
        let n: i64 = get(&row, 0, CTX)?;
        let id: Option<i64> = get(&row, 1, CTX)?;
        if let Some(id) = id
            && let Some(d) = delivery_of(Some(id), get(&row, 2, CTX)?, get(&row, 3, CTX)?)?
        {
            facts.insert(id, d);
        }
        if let Some(slot) = usize::try_from(n - 1).ok().and_then(|i| ids.get_mut(i)) {
            *slot = id;
        }
    }
    ids.iter()
        .enumerate()
        .map(|(i, id)| match (id, meter_of.get(i), collected.get(i)) {
            (Some(id), _, _) => Ok(*id),
            // Recorded by a concurrent transaction that committed after the statement began.
            (None, Some(m), Some(at)) => {
                let row = db.query_one(SELECT_COLLECTION, &[m, at], CTX)?;
                get(&row, 0, CTX)
            }
            _ => Err(StoreError::Corrupt("a collection session could not be recorded".into())),
        })
        .collect()
}

/// Every stored version of one channel over the range loaded, by time: a vector sorted by
/// time (new values are nearly always appended, so this beats a tree).
#[derive(Debug, Clone, Default)]
pub(crate) struct Series {
    entries: Vec<(i64, KnownVersions)>,
}

impl Series {
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

    /// Classifies one delivered value: `None` for a duplicate, else the version to write
    /// (recorded as stored).
    fn classify(&mut self, at: i64, value: f64, quality: u32, collection: i64) -> Result<Option<u32>, StoreError> {
        match self.position(at) {
            Err(i) => {
                self.entries.insert(i, (at, KnownVersions::new(1, value, quality, Some(collection))));
                Ok(Some(1))
            }
            Ok(i) => {
                let Some((_, k)) = self.entries.get_mut(i) else { return Ok(None) };
                if k.holds(value, quality) {
                    return Ok(None);
                }
                let next = k
                    .latest
                    .checked_add(1)
                    .ok_or_else(|| StoreError::Corrupt(format!("the value at {at} has too many versions")))?;
                k.add(next, value, quality, Some(collection));
                Ok(Some(next))
            }
        }
    }

    /// `(time, versions)` in time order.
    pub fn iter(&self) -> impl Iterator<Item = &(i64, KnownVersions)> {
        self.entries.iter()
    }
}

/// One channel (meter and reading type) of a batch, with the versions loaded for it.
#[derive(Debug)]
pub(crate) struct BatchChannel {
    pub meter_id: i32,
    pub reading_type: ReadingType,
    pub reading_type_id: i16,
    /// Position of the first and of the last reading of the batch that delivered it.
    pub first_reading: usize,
    pub last_reading: usize,
    /// First and last time delivered in the batch, UTC seconds.
    pub lo: i64,
    pub hi: i64,
    /// A reading of the batch delivered register reads of the channel with its intervals.
    pub with_registers: bool,
    /// Any value was new or revised: a pure replay changes no validation result.
    pub changed: bool,
    /// The range of times whose versions `known` holds (closed), UTC seconds.
    pub load_lo: i64,
    pub load_hi: i64,
    /// Every stored version over the loaded range, including the rows this batch writes.
    pub known: Series,
    /// The latest version of the last stored time before `load_lo` and of the first after
    /// `load_hi` (loaded with VEE on only), as validation reads them.
    pub before: Option<SeriesPoint>,
    pub after: Option<SeriesPoint>,
    /// New rows: (time, version, value, quality, collection id).
    rows: Vec<(i64, u32, f64, u32, i64)>,
}

/// The channels of a batch by (meter id, reading type id), in key order.
pub(crate) type BatchChannels = BTreeMap<(i32, i16), BatchChannel>;

/// Which value table a step works on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Table {
    Intervals,
    Registers,
}

/// The channels of `table` that `readings` deliver, with their delivered spans (nothing
/// loaded yet: `load_lo..=load_hi` is the delivered span).
pub(crate) fn channels_of(
    readings: &[MeterReading],
    meter_of: &[i32],
    table: Table,
    type_id: &dyn Fn(ReadingType) -> Result<i16, StoreError>,
) -> Result<BatchChannels, StoreError> {
    let mut out = BatchChannels::new();
    for (n, r) in readings.iter().enumerate() {
        let &meter_id = meter_of.get(n).ok_or_else(|| StoreError::Corrupt(format!("reading {n} has no meter")))?;
        let mut touch = |reading_type: ReadingType, at: i64| -> Result<(), StoreError> {
            let reading_type_id = type_id(reading_type)?;
            out.entry((meter_id, reading_type_id))
                .and_modify(|c| {
                    c.lo = c.lo.min(at);
                    c.hi = c.hi.max(at);
                    c.last_reading = n;
                })
                .or_insert_with(|| BatchChannel {
                    meter_id,
                    reading_type,
                    reading_type_id,
                    first_reading: n,
                    last_reading: n,
                    lo: at,
                    hi: at,
                    with_registers: false,
                    changed: false,
                    load_lo: at,
                    load_hi: at,
                    known: Series::default(),
                    before: None,
                    after: None,
                    rows: Vec::new(),
                });
            Ok(())
        };
        match table {
            Table::Intervals => {
                for i in &r.intervals {
                    touch(i.reading_type, floor_second(i.interval_end))?;
                }
            }
            Table::Registers => {
                for g in &r.registers {
                    touch(g.reading_type, floor_second(g.read_at))?;
                }
            }
        }
        if table == Table::Intervals {
            for g in &r.registers {
                if let Ok(id) = type_id(g.reading_type)
                    && let Some(c) = out.get_mut(&(meter_id, id))
                    && r.intervals.iter().any(|i| i.reading_type == g.reading_type)
                {
                    c.with_registers = true;
                }
            }
        }
    }
    for c in out.values_mut() {
        c.load_lo = c.lo;
        c.load_hi = c.hi;
    }
    Ok(out)
}

/// The delivery facts of a row's collection, from the `LEFT JOIN collection` columns.
fn delivery_of(
    collection: Option<i64>,
    drift: Option<i64>,
    length: Option<i32>,
) -> Result<Option<Delivery>, StoreError> {
    match (collection, length) {
        (Some(_), Some(len)) => Ok(Some(Delivery {
            clock_drift_ms: drift,
            interval_length_s: u32::try_from(len)
                .map_err(|_| StoreError::Corrupt(format!("interval length {len} s out of range")))?,
        })),
        (Some(c), None) => Err(StoreError::Corrupt(format!("collection {c} is missing"))),
        (None, _) => Ok(None),
    }
}

/// Loads the stored versions of every channel of `channels` over its `load_lo..=load_hi`
/// (one statement). With `deliveries` (interval values, for validation), also the
/// neighbours just outside that range, with their delivery facts.
pub(crate) fn load_versions(
    db: &mut Db<'_, Transaction<'_>>,
    table: Table,
    channels: &mut BatchChannels,
    deliveries: bool,
) -> Result<(), StoreError> {
    if channels.is_empty() {
        return Ok(());
    }
    const CTX: &str = "loading stored versions";
    let keys: Vec<(i32, i16)> = channels.keys().copied().collect();
    let meters: Vec<i32> = keys.iter().map(|k| k.0).collect();
    let types: Vec<i16> = keys.iter().map(|k| k.1).collect();
    let lo: Vec<Timestamp> = channels.values().map(|c| at_second(c.load_lo)).collect::<Result<_, _>>()?;
    let hi: Vec<Timestamp> = channels.values().map(|c| at_second(c.load_hi)).collect::<Result<_, _>>()?;
    let rows = match table {
        Table::Intervals => db.query(LOAD_INTERVALS, &[&meters, &types, &lo, &hi, &deliveries], CTX)?,
        Table::Registers => db.query(LOAD_REGISTERS, &[&meters, &types, &lo, &hi], CTX)?,
    };
    for row in &rows {
        let n: i64 = get(row, 0, CTX)?;
        let key = usize::try_from(n - 1).ok().and_then(|i| keys.get(i));
        let Some(c) = key.and_then(|k| channels.get_mut(k)) else {
            return Err(StoreError::Corrupt(format!("stored versions of unknown channel {n}")));
        };
        let (part, first) = match table {
            Table::Intervals => (get::<i32>(row, 1, CTX)?, 2),
            Table::Registers => (0, 1),
        };
        let at: Timestamp = get(row, first, CTX)?;
        let version = version_from_sql(get(row, first + 1, CTX)?)?;
        let value: f64 = get(row, first + 2, CTX)?;
        let quality = quality_from_sql(get(row, first + 3, CTX)?);
        let collection: Option<i64> = match table {
            Table::Intervals => get(row, first + 4, CTX)?,
            Table::Registers => None,
        };
        if table == Table::Intervals && part != 0 {
            let drift: Option<i64> = get(row, first + 5, CTX)?;
            let length: Option<i32> = get(row, first + 6, CTX)?;
            let delivery = delivery_of(collection, drift, length)?;
            let point = SeriesPoint {
                interval_end: at,
                value,
                quality: model::QualityFlags(quality),
                version,
                delivery,
                conflicting_deliveries: false,
            };
            if part == 1 {
                c.before = Some(point);
            } else {
                c.after = Some(point);
            }
            continue;
        }
        c.known.record(second_of(at), version, value, quality, collection);
    }
    Ok(())
}

/// Classifies the values `readings` deliver to the channels of `table` against the loaded
/// versions (in delivery order: reading by reading, each in its own order), records the new
/// rows in their channels and counts them per reading in `reports`.
pub(crate) fn classify(
    readings: &[MeterReading],
    meter_of: &[i32],
    collection_of: &[i64],
    table: Table,
    channels: &mut BatchChannels,
    type_id: &dyn Fn(ReadingType) -> Result<i16, StoreError>,
    reports: &mut [IngestReport],
) -> Result<(), StoreError> {
    for (n, r) in readings.iter().enumerate() {
        let (Some(&meter_id), Some(&collection), Some(report)) =
            (meter_of.get(n), collection_of.get(n), reports.get_mut(n))
        else {
            return Err(StoreError::Corrupt(format!("reading {n} of the batch has no meter or collection")));
        };
        // Consecutive values of one channel reuse the lookup of their channel.
        let mut last: Option<(ReadingType, (i32, i16))> = None;
        let mut each = |reading_type: ReadingType, at: i64, value: f64, quality: u32| -> Result<(), StoreError> {
            let key = match last {
                Some((t, k)) if t == reading_type => k,
                _ => {
                    let k = (meter_id, type_id(reading_type)?);
                    last = Some((reading_type, k));
                    k
                }
            };
            let c = channels.get_mut(&key).ok_or_else(|| StoreError::Corrupt("ingest batch bookkeeping".into()))?;
            let outcome = c.known.classify(at, value, quality, collection)?;
            let (new, duplicate, revised) = match table {
                Table::Intervals => {
                    (&mut report.intervals_new, &mut report.intervals_duplicate, &mut report.intervals_revised)
                }
                Table::Registers => {
                    (&mut report.registers_new, &mut report.registers_duplicate, &mut report.registers_revised)
                }
            };
            match outcome {
                None => *duplicate += 1,
                Some(version) => {
                    if version == 1 {
                        *new += 1;
                    } else {
                        *revised += 1;
                    }
                    c.changed = true;
                    c.rows.push((at, version, value, quality, collection));
                }
            }
            Ok(())
        };
        match table {
            Table::Intervals => {
                for i in &r.intervals {
                    each(i.reading_type, floor_second(i.interval_end), i.value, i.quality.0)?;
                }
            }
            Table::Registers => {
                for g in &r.registers {
                    each(g.reading_type, floor_second(g.read_at), g.value, 0)?;
                }
            }
        }
    }
    Ok(())
}

/// Adds to `facts` the delivery facts of every collection session whose version is the
/// latest of a key `channels` hold (one statement for those `facts` lacks, if any).
pub(crate) fn complete_facts(
    db: &mut Db<'_, Transaction<'_>>,
    channels: &BatchChannels,
    facts: &mut HashMap<i64, Delivery>,
) -> Result<(), StoreError> {
    const CTX: &str = "loading collection sessions";
    let mut missing: Vec<i64> = channels
        .values()
        .flat_map(|c| c.known.iter().filter_map(|(_, k)| k.latest_collection))
        .filter(|id| !facts.contains_key(id))
        .collect();
    missing.sort_unstable();
    missing.dedup();
    if missing.is_empty() {
        return Ok(());
    }
    for row in db.query(DELIVERIES, &[&missing], CTX)? {
        let id: i64 = get(&row, 0, CTX)?;
        if let Some(d) = delivery_of(Some(id), get(&row, 1, CTX)?, get(&row, 2, CTX)?)? {
            facts.insert(id, d);
        }
    }
    Ok(())
}

/// Writes the new rows of `channels` into the value table with one binary `COPY`, in key
/// order (so each channel's rows are adjacent in the heap). Returns the rows written.
pub(crate) fn write_rows(
    db: &mut Db<'_, Transaction<'_>>,
    table: Table,
    channels: &mut BatchChannels,
) -> Result<u64, StoreError> {
    let total: usize = channels.values().map(|c| c.rows.len()).sum();
    if total == 0 {
        return Ok(0);
    }
    let (sql, context) = match table {
        Table::Intervals => (COPY_INTERVALS, "writing interval values"),
        Table::Registers => (COPY_REGISTERS, "writing register reads"),
    };
    let writer = db.client.copy_in(sql).context(context)?;
    let mut writer = BinaryCopyInWriter::new(writer, &VALUE_TYPES);
    for c in channels.values_mut() {
        let mut rows = std::mem::take(&mut c.rows);
        rows.sort_by_key(|r| (r.0, r.1));
        for (at, version, value, quality, collection) in rows {
            let at = at_second(at)?;
            let version = super::convert::version_to_sql(version)?;
            let quality = quality_to_sql(quality);
            writer
                .write(&[&c.meter_id, &c.reading_type_id, &at, &version, &value, &quality, &collection])
                .context(context)?;
        }
    }
    writer.finish().context(context)
}
