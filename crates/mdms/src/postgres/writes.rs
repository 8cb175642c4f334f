//! The operations of [`PgStore`] that write, each one transaction: ingest (with VEE),
//! re-validation, manual estimation, edits and acceptance of exceptions.

use std::collections::HashMap;

use jiff::Timestamp;
use model::{MeterId, MeterReading, QualityFlags, ReadingType};

use super::context::{Db, PgContext};
use super::ingest::{
    BatchChannel, Table, channels_of, classify, collection_ids, complete_facts, load_versions, lock_meters, meter_ids,
    write_rows,
};
use super::partitions::{WRITE_REACH_S, ensure, months_between};
use super::prefetch::{midnights, open_findings, register_context};
use super::vee_tx::{PgVeeTx, VeeCache};
use super::{DELIVERY_CACHE_MAX, METER_CACHE_MAX, PgStore};
use crate::editing::{EditError, check_actor, check_edit};
use crate::epoch::from_second;
use crate::epoch::{ceil_second, floor_millisecond, floor_second};
use crate::ingest_check::check_ingestible;
use crate::vee::{CompiledClass, Delivery, ExceptionFilter, RuleId, SeriesPoint, ValidationReport, history_midnights};
use crate::vee_run::{
    Channel, VeeTx, Window, accept_matching, check_estimate, edit_one_interval, estimate_channel_range,
    validate_meter_range, validate_on_ingest,
};
use crate::{EditOutcome, EstimationReport, IngestOutcome, IngestReport, StoreError};

impl PgStore {
    /// Creates the interval partitions of the months around `[lo, hi]` (UTC seconds).
    fn ensure_partitions(&mut self, lo: i64, hi: i64) -> Result<(), StoreError> {
        let months = months_between(lo.saturating_sub(WRITE_REACH_S), hi.saturating_add(WRITE_REACH_S))?;
        let conn = self.conn.get_mut();
        ensure(&mut conn.client, &mut conn.partitions, &months)
    }

    /// [`MeterDataStore::ingest_batch`](crate::MeterDataStore::ingest_batch): every reading
    /// of `readings` in one transaction, then validation of each channel the batch changed.
    ///
    /// Round trips per batch, whatever its size: meters (only unknown ones), their locks,
    /// the collection sessions, per value table one load of the stored versions and one
    /// `COPY`; with VEE on, the register context, the history midnights and the open
    /// findings of all windows; then only what findings and estimates write.
    pub(super) fn ingest_many(
        &mut self,
        readings: &[MeterReading],
        source: &str,
    ) -> Result<Vec<IngestOutcome>, StoreError> {
        for r in readings {
            check_ingestible(r)?;
        }
        if readings.is_empty() {
            return Ok(Vec::new());
        }
        let at_ms = floor_millisecond(Timestamp::now());
        let ends = readings.iter().flat_map(|r| r.intervals.iter()).map(|i| floor_second(i.interval_end));
        let span = ends.fold(None, |acc: Option<(i64, i64)>, e| match acc {
            Some((lo, hi)) => Some((lo.min(e), hi.max(e))),
            None => Some((e, e)),
        });
        if let Some((lo, hi)) = span {
            self.ensure_partitions(lo, hi)?;
        }
        let PgStore { conn, reading_type_ids, vee, .. } = self;
        let type_id = |t: ReadingType| {
            reading_type_ids
                .get(&t)
                .copied()
                .ok_or_else(|| StoreError::Corrupt(format!("reading type {t} missing from the database")))
        };
        let conn = conn.get_mut();
        let cache = &mut conn.meter_ids;
        let facts = &mut conn.deliveries;
        if facts.len() > DELIVERY_CACHE_MAX {
            facts.clear();
        }
        let mut tx = conn.client.transaction().context("starting an ingest")?;
        let mut db = Db { client: &mut tx, statements: &mut conn.statements };
        let mut mrids: Vec<&str> = readings.iter().map(|r| r.meter.0.as_str()).collect();
        mrids.sort_unstable();
        mrids.dedup();
        let ids = meter_ids(&mut db, cache, &mrids)?;
        let meter_of: Vec<i32> = readings
            .iter()
            .map(|r| ids.get(&r.meter.0).copied().ok_or_else(|| StoreError::Corrupt(format!("meter {}", r.meter))))
            .collect::<Result<_, _>>()?;
        let mut locked: Vec<i32> = ids.values().copied().collect();
        locked.sort_unstable();
        lock_meters(&mut db, &locked)?;
        let collection_of = collection_ids(&mut db, readings, &meter_of, at_ms, source, facts)?;
        let mut reports = vec![IngestReport::default(); readings.len()];

        // Register reads first: the sum check of the intervals' validation reads them back.
        let mut registers = channels_of(readings, &meter_of, Table::Registers, &type_id)?;
        load_versions(&mut db, Table::Registers, &mut registers, false)?;
        classify(readings, &meter_of, &collection_of, Table::Registers, &mut registers, &type_id, &mut reports)?;
        write_rows(&mut db, Table::Registers, &mut registers)?;

        let mut channels = channels_of(readings, &meter_of, Table::Intervals, &type_id)?;
        let mut vee_cache = VeeCache::new();
        // The validation window of each channel, with VEE on.
        let mut windows: HashMap<(i32, i16), Window> = HashMap::new();
        if vee.enabled {
            let mut register_requests = Vec::new();
            for (&key, c) in &channels {
                let Some(reading) = readings.get(c.last_reading) else { continue };
                let ch = channel(c, vee.class_for(&reading.meter));
                let win = Window::covering(&ch, c.lo, c.hi)?;
                if c.with_registers && ch.class.rule(RuleId::SumCheck, c.reading_type).is_some() {
                    register_requests.push((c.meter_id, c.reading_type_id, win.ctx_lo, win.ctx_hi));
                }
                windows.insert(key, win);
            }
            register_context(&mut db, &register_requests, &mut vee_cache)?;
            for (key, c) in channels.iter_mut() {
                let Some(win) = windows.get(key) else { continue };
                c.load_lo = win.ctx_lo;
                c.load_hi = win.ctx_hi;
                // The sum check reaches back to the read before the window (see
                // `crate::vee_run::slice`): load the values it will ask for with the rest.
                let l = readings.get(c.last_reading).map_or(0, |r| vee.class_for(&r.meter).interval_length_s);
                let cached = vee_cache.get(&(i64::from(c.meter_id), i64::from(c.reading_type_id)));
                if let Some(r) = cached.and_then(|k| k.register_before).and_then(|(_, r)| r)
                    && r - l < win.ctx_lo
                {
                    c.load_lo = c.load_lo.min(r - 2 * l);
                }
            }
        }
        load_versions(&mut db, Table::Intervals, &mut channels, vee.enabled)?;
        classify(readings, &meter_of, &collection_of, Table::Intervals, &mut channels, &type_id, &mut reports)?;
        write_rows(&mut db, Table::Intervals, &mut channels)?;

        let mut outcomes: Vec<IngestOutcome> = reports
            .into_iter()
            .map(|ingest| IngestOutcome { ingest, validation: ValidationReport::default() })
            .collect();
        if vee.enabled {
            complete_facts(&mut db, &channels, facts)?;
            // Channels in the order the batch first delivered them.
            let mut order: Vec<(usize, ReadingType, (i32, i16))> = channels
                .iter()
                .filter(|(_, c)| c.changed)
                .map(|(&key, c)| (c.first_reading, c.reading_type, key))
                .collect();
            order.sort_unstable();
            let mut midnight_requests = Vec::new();
            let mut open_requests = Vec::new();
            for &(_, reading_type, key) in &order {
                let (Some(c), Some(win)) = (channels.get(&key), windows.get(&key)) else { continue };
                let Some(reading) = readings.get(c.last_reading) else { continue };
                let class = vee.class_for(&reading.meter);
                let wanted = history_midnights(class, reading_type, from_second(win.from)?)?;
                if !wanted.is_empty() {
                    midnight_requests.push((
                        c.meter_id,
                        c.reading_type_id,
                        wanted.iter().map(|t| t.as_second()).collect(),
                    ));
                }
                open_requests.push((c.meter_id, c.reading_type_id, win.from, win.to));
                let points = points_of(c, facts)?;
                let entry = vee_cache.entry((i64::from(c.meter_id), i64::from(c.reading_type_id))).or_default();
                entry.before = Some((c.load_lo, c.before.clone()));
                entry.after = Some((c.load_hi, c.after.clone()));
                entry.points = Some((c.load_lo, c.load_hi, points));
            }
            midnights(&mut db, midnight_requests, &mut vee_cache)?;
            open_findings(&mut db, &open_requests, &mut vee_cache)?;
            let mut vtx = PgVeeTx::with_cache(db, vee_cache);
            for (_, _, key) in order {
                let (Some(c), Some(win)) = (channels.get(&key), windows.get(&key)) else { continue };
                let Some(last) = readings.get(c.last_reading) else { continue };
                let ch = Channel { with_registers: c.with_registers, ..channel(c, vee.class_for(&last.meter)) };
                let ctx_points = vtx.window_points(&ch, win.ctx_lo, win.ctx_hi)?;
                let report = validate_on_ingest(&mut vtx, &ch, win, ctx_points, at_ms)?;
                if let Some(outcome) = outcomes.get_mut(c.last_reading) {
                    outcome.validation.absorb(report);
                }
            }
        }
        tx.commit().context("committing an ingest")?;
        if cache.len() + ids.len() > METER_CACHE_MAX {
            cache.clear();
        }
        cache.extend(ids);
        Ok(outcomes)
    }

    /// Reading types with their row ids, in [`ReadingType::ALL`] order.
    fn channels(&self) -> Vec<(ReadingType, i64)> {
        ReadingType::ALL.iter().filter_map(|&t| self.reading_type_ids.get(&t).map(|&id| (t, i64::from(id)))).collect()
    }

    /// [`MeterDataStore::validate_range`](crate::MeterDataStore::validate_range).
    pub(super) fn validate_range_impl(
        &mut self,
        meter: &MeterId,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<ValidationReport, StoreError> {
        let channels = self.channels();
        let at_ms = floor_millisecond(Timestamp::now());
        let PgStore { conn, vee, .. } = self;
        let conn = conn.get_mut();
        let mut tx = conn.client.transaction().context("starting a validation")?;
        let report = {
            let mut vtx = PgVeeTx::new(Db { client: &mut tx, statements: &mut conn.statements });
            validate_meter_range(&mut vtx, vee, meter, &channels, from, to, at_ms)?
        };
        tx.commit().context("committing a validation")?;
        Ok(report)
    }

    /// [`MeterDataStore::estimate_range`](crate::MeterDataStore::estimate_range).
    pub(super) fn estimate_range_impl(
        &mut self,
        meter: &MeterId,
        reading_type: ReadingType,
        from: Timestamp,
        to: Timestamp,
        user: &str,
        reason: &str,
    ) -> Result<EstimationReport, EditError> {
        check_estimate(reading_type, from, to, user, reason)?;
        let reading_type_id = i64::from(self.reading_type_id(reading_type)?);
        self.ensure_partitions(floor_second(from), ceil_second(to))?;
        let at_ms = floor_millisecond(Timestamp::now());
        let PgStore { conn, vee, .. } = self;
        let conn = conn.get_mut();
        let mut tx = conn.client.transaction().context("starting an estimation").map_err(EditError::Store)?;
        let report = {
            let mut vtx = PgVeeTx::new(Db { client: &mut tx, statements: &mut conn.statements });
            estimate_channel_range(
                &mut vtx,
                vee,
                meter,
                reading_type,
                reading_type_id,
                (from, to),
                (user, reason),
                at_ms,
            )?
        };
        tx.commit().context("committing an estimation")?;
        Ok(report)
    }

    /// [`MeterDataStore::edit_interval`](crate::MeterDataStore::edit_interval).
    pub(super) fn edit_interval_impl(
        &mut self,
        meter: &MeterId,
        reading_type: ReadingType,
        interval_end: Timestamp,
        new_value: f64,
        user: &str,
        reason: &str,
    ) -> Result<EditOutcome, EditError> {
        check_edit(interval_end, new_value, user, reason)?;
        let reading_type_id = i64::from(self.reading_type_id(reading_type)?);
        let end_s = floor_second(interval_end);
        self.ensure_partitions(end_s, end_s)?;
        let at_ms = floor_millisecond(Timestamp::now());
        let PgStore { conn, vee, .. } = self;
        let conn = conn.get_mut();
        let mut tx = conn.client.transaction().context("starting an edit")?;
        let outcome = {
            let mut vtx = PgVeeTx::new(Db { client: &mut tx, statements: &mut conn.statements });
            edit_one_interval(
                &mut vtx,
                vee,
                meter,
                reading_type,
                reading_type_id,
                interval_end,
                new_value,
                (user, reason),
                at_ms,
            )?
        };
        tx.commit().context("committing an edit")?;
        Ok(outcome)
    }

    /// [`MeterDataStore::accept_exceptions`](crate::MeterDataStore::accept_exceptions).
    pub(super) fn accept_exceptions_impl(
        &mut self,
        filter: &ExceptionFilter,
        user: &str,
        reason: &str,
    ) -> Result<u64, EditError> {
        check_actor(user, reason)?;
        let reading_type_id = filter.reading_type.map(|t| self.reading_type_id(t).map(i64::from)).transpose()?;
        let at_ms = floor_millisecond(Timestamp::now());
        let conn = self.conn.get_mut();
        let mut tx = conn.client.transaction().context("starting an acceptance")?;
        let accepted = {
            let mut vtx = PgVeeTx::new(Db { client: &mut tx, statements: &mut conn.statements });
            accept_matching(&mut vtx, filter, reading_type_id, (user, reason), at_ms)?
        };
        tx.commit().context("committing an acceptance")?;
        Ok(accepted)
    }
}

/// The VEE channel of a batch channel (without its register flag).
fn channel<'a>(c: &BatchChannel, class: &'a CompiledClass) -> Channel<'a> {
    Channel {
        with_registers: false,
        meter_id: i64::from(c.meter_id),
        reading_type: c.reading_type,
        reading_type_id: i64::from(c.reading_type_id),
        class,
    }
}

/// The latest version of every interval end the channel's loaded range holds (including
/// the rows the batch wrote), as `window_points` would read them back.
fn points_of(c: &BatchChannel, facts: &HashMap<i64, Delivery>) -> Result<Vec<SeriesPoint>, StoreError> {
    c.known
        .iter()
        .map(|(at, k)| {
            let delivery = match k.latest_collection {
                Some(id) => {
                    Some(*facts.get(&id).ok_or_else(|| StoreError::Corrupt(format!("collection {id} is missing")))?)
                }
                None => None,
            };
            Ok(SeriesPoint {
                interval_end: from_second(*at)?,
                value: k.latest_value,
                quality: QualityFlags(k.latest_quality),
                version: k.latest,
                delivery,
                conflicting_deliveries: k.conflicting,
            })
        })
        .collect()
}
