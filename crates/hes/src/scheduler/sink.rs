//! Where collected readings go: the MDMS behind a small trait, so the HES does not depend
//! on a particular store. An implementation must make `deliver` idempotent (the MDMS's
//! ingest is: a value already stored is a duplicate and not written again) and durable
//! when it returns `Ok` — the scheduler's crash safety rests on both.

use std::sync::Mutex;

use jiff::Timestamp;
use model::{MeterId, MeterReading, ReadingType};

/// The sink failed (a busy or unreachable store): the job is retried.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("reading sink: {0}")]
pub struct SinkError(pub String);

/// The MDMS as the scheduler sees it. Methods block (the scheduler calls them from
/// `spawn_blocking`).
pub trait ReadingSink: Send + Sync {
    /// The last interval end stored for one channel of a meter, UTC (the load-profile
    /// catch-up starts after it).
    ///
    /// # Errors
    /// [`SinkError`].
    fn last_interval_end(&self, meter: &MeterId, reading_type: ReadingType) -> Result<Option<Timestamp>, SinkError>;

    /// True when a register read of `reading_type` at or after `since` is stored (the
    /// day's billing read already happened).
    ///
    /// # Errors
    /// [`SinkError`].
    fn has_register_read(
        &self,
        meter: &MeterId,
        reading_type: ReadingType,
        since: Timestamp,
    ) -> Result<bool, SinkError>;

    /// Stores one reading; `Ok` only once it is durable. Re-delivering stored values must
    /// not duplicate them.
    ///
    /// # Errors
    /// [`SinkError`].
    fn deliver(&self, reading: &MeterReading) -> Result<(), SinkError>;
}

/// Readings kept in memory (tests, dry runs): de-duplicates interval values and register
/// reads by key like the MDMS.
#[derive(Debug, Default)]
pub struct MemorySink {
    inner: Mutex<MemoryInner>,
}

#[derive(Debug, Default)]
struct MemoryInner {
    intervals: std::collections::BTreeMap<(MeterId, ReadingType, Timestamp), f64>,
    registers: std::collections::BTreeMap<(MeterId, ReadingType, Timestamp), f64>,
    deliveries: u64,
}

impl MemorySink {
    /// An empty sink.
    pub fn new() -> Self {
        MemorySink::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, MemoryInner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Interval ends stored for one channel of a meter, in order.
    pub fn interval_ends(&self, meter: &MeterId, reading_type: ReadingType) -> Vec<Timestamp> {
        self.lock()
            .intervals
            .keys()
            .filter(|(m, t, _)| m == meter && *t == reading_type)
            .map(|(_, _, at)| *at)
            .collect()
    }

    /// Register reads stored for a meter.
    pub fn register_count(&self, meter: &MeterId) -> usize {
        self.lock().registers.keys().filter(|(m, _, _)| m == meter).count()
    }

    /// Number of `deliver` calls.
    pub fn deliveries(&self) -> u64 {
        self.lock().deliveries
    }
}

impl ReadingSink for MemorySink {
    fn last_interval_end(&self, meter: &MeterId, reading_type: ReadingType) -> Result<Option<Timestamp>, SinkError> {
        Ok(self.interval_ends(meter, reading_type).last().copied())
    }

    fn has_register_read(
        &self,
        meter: &MeterId,
        reading_type: ReadingType,
        since: Timestamp,
    ) -> Result<bool, SinkError> {
        Ok(self.lock().registers.keys().any(|(m, t, at)| m == meter && *t == reading_type && *at >= since))
    }

    fn deliver(&self, reading: &MeterReading) -> Result<(), SinkError> {
        let mut inner = self.lock();
        inner.deliveries += 1;
        for iv in &reading.intervals {
            inner.intervals.insert((reading.meter.clone(), iv.reading_type, iv.interval_end), iv.value);
        }
        for r in &reading.registers {
            inner.registers.insert((reading.meter.clone(), r.reading_type, r.read_at), r.value);
        }
        Ok(())
    }
}
