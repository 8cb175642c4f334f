//! The bus as the scheduler's [`ReadingSink`] for a scale-out HES (`gridedge hes run
//! --config`): every collected [`MeterReading`] is published on JetStream (`Readings`) and
//! counts as delivered only once the stream acknowledged it (it is stored and will reach
//! the MDMS, whose consumer commits before acknowledging).
//!
//! Message ids: see [`chunk_id`] (one per chunk of a session, stable when republished).
//!
//! # Catch-up position
//!
//! The scheduler asks the sink where a meter's load profile and billing registers stand
//! ([`ReadingSink::last_interval_end`], [`ReadingSink::has_register_read`]). The answer
//! is the later of two sources:
//!
//! 1. the MDMS store the configuration names (`[store]`: the SQLite file, opened only
//!    once it exists and only read here, or PostgreSQL through [`mdms::PgStore`]) — what
//!    the MDMS has committed, from whichever HES collected it;
//! 2. what this process has published and had acknowledged since it started (kept in
//!    memory per meter and channel), which covers readings still on their way to the MDMS.
//!
//! When the store is absent or unreachable the sink falls back to the second source alone,
//! and for a meter it knows nothing of, to the executor's history window (the whole history
//! is read again). **Decision:** a re-read of data that was published but not yet committed
//! by the MDMS (a meter taken over from a dead HES, or an MDMS lagging behind) is accepted
//! rather than coordinated: the readings carry the meter's own values, the bus message id
//! of a session (`<meter>/<collected_at>`) makes a republished session harmless, and the
//! MDMS's ingest is idempotent (a value already stored is a duplicate, not a revision), so
//! the cost of a re-read is bandwidth, never a doubled or lost interval.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use bus::{BusMessage, JetStreamPublisher, Publisher};
use hes::scheduler::{ReadingSink, SinkError};
use jiff::{SignedDuration, Timestamp};
use mdms::{MeterDataStore, PgStore, SqliteStore};
use model::{MeterId, MeterReading, ReadingType};

/// The bus message id of one delivered chunk: [`BusMessage::reading_id`] (meter, session
/// and the chunk's first interval end, `r` for a reading of registers only). A session
/// delivers its load profile in several chunks with the same `collected_at`; the id keeps
/// them apart, and the same chunk published again keeps its id.
pub fn chunk_id(reading: &MeterReading) -> String {
    BusMessage::reading_id(reading)
}

/// How long the sink waits before trying an unreachable MDMS store again.
const STORE_RETRY: Duration = Duration::from_secs(30);

/// Where the MDMS keeps its data, as the HES reads it for catch-up positions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MdmsPositionSource {
    /// The MDMS's SQLite file (opened once it exists).
    Sqlite(PathBuf),
    /// The MDMS's PostgreSQL database (libpq connection string).
    Postgres(String),
    /// No store: positions come from this process's own publications only.
    None,
}

struct Position {
    source: MdmsPositionSource,
    store: Option<Box<dyn MeterDataStore + Send>>,
    retry_at: Option<Instant>,
}

impl Position {
    /// The store, opened (or re-opened after [`STORE_RETRY`]) when possible.
    fn store(&mut self) -> Option<&mut (dyn MeterDataStore + Send + 'static)> {
        if self.store.is_none() && self.retry_at.is_none_or(|at| Instant::now() >= at) {
            let opened: Result<Option<Box<dyn MeterDataStore + Send>>, String> = match &self.source {
                MdmsPositionSource::Sqlite(path) if path.exists() => {
                    SqliteStore::open(path).map(|s| Some(Box::new(s) as _)).map_err(|e| e.to_string())
                }
                MdmsPositionSource::Sqlite(_) | MdmsPositionSource::None => Ok(None),
                MdmsPositionSource::Postgres(conninfo) => {
                    PgStore::connect(conninfo).map(|s| Some(Box::new(s) as _)).map_err(|e| e.to_string())
                }
            };
            match opened {
                Ok(Some(store)) => {
                    self.store = Some(store);
                    self.retry_at = None;
                }
                Ok(None) => self.retry_at = Some(Instant::now() + STORE_RETRY.min(Duration::from_secs(2))),
                Err(e) => {
                    tracing::warn!(error = %e, "the MDMS store cannot be opened for catch-up positions; using this HES's own");
                    self.retry_at = Some(Instant::now() + STORE_RETRY);
                }
            }
        }
        self.store.as_deref_mut()
    }

    /// Runs `query` on the store; an error closes it (re-opened later) and gives `None`.
    fn query<T>(
        &mut self,
        query: impl FnOnce(&mut (dyn MeterDataStore + Send + 'static)) -> Result<T, mdms::StoreError>,
    ) -> Option<T> {
        let store = self.store()?;
        match query(store) {
            Ok(v) => Some(v),
            Err(e) => {
                tracing::warn!(error = %e, "reading a catch-up position from the MDMS store failed; using this HES's own");
                self.store = None;
                self.retry_at = Some(Instant::now() + STORE_RETRY);
                None
            }
        }
    }
}

/// What this process has had acknowledged by the bus, per meter and channel.
#[derive(Default)]
struct Published {
    /// Last interval end published.
    intervals: HashMap<(MeterId, ReadingType), Timestamp>,
    /// Latest register read time published.
    registers: HashMap<(MeterId, ReadingType), Timestamp>,
}

/// Publishes readings on JetStream and answers catch-up positions (see the module docs).
pub struct BusSink {
    publisher: JetStreamPublisher,
    runtime: tokio::runtime::Handle,
    position: Mutex<Position>,
    published: Mutex<Published>,
    delivered: std::sync::atomic::AtomicU64,
}

impl BusSink {
    /// A sink publishing with `publisher` on `runtime` (the scheduler calls the sink from
    /// blocking threads of that runtime) and reading positions from `source`.
    pub fn new(publisher: JetStreamPublisher, runtime: tokio::runtime::Handle, source: MdmsPositionSource) -> Self {
        BusSink {
            publisher,
            runtime,
            position: Mutex::new(Position { source, store: None, retry_at: None }),
            published: Mutex::new(Published::default()),
            delivered: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// Readings (collection sessions or chunks) published and acknowledged so far.
    pub fn delivered(&self) -> u64 {
        self.delivered.load(std::sync::atomic::Ordering::Relaxed)
    }

    fn published(&self) -> std::sync::MutexGuard<'_, Published> {
        self.published.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn position(&self) -> std::sync::MutexGuard<'_, Position> {
        self.position.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl ReadingSink for BusSink {
    fn last_interval_end(&self, meter: &MeterId, reading_type: ReadingType) -> Result<Option<Timestamp>, SinkError> {
        let stored = self.position().query(|s| s.last_interval_end(meter, reading_type)).flatten();
        let own = self.published().intervals.get(&(meter.clone(), reading_type)).copied();
        Ok(stored.max(own))
    }

    fn has_register_read(
        &self,
        meter: &MeterId,
        reading_type: ReadingType,
        since: Timestamp,
    ) -> Result<bool, SinkError> {
        if self.published().registers.get(&(meter.clone(), reading_type)).is_some_and(|at| *at >= since) {
            return Ok(true);
        }
        // Any read from `since` on counts (the range is half-open, so bound it far ahead).
        let to = since.checked_add(SignedDuration::from_hours(24 * 400)).unwrap_or(since);
        let stored = self.position().query(|s| s.register_reads(meter, reading_type, since, to));
        Ok(stored.is_some_and(|reads| !reads.is_empty()))
    }

    fn deliver(&self, reading: &MeterReading) -> Result<(), SinkError> {
        let mut message = BusMessage::reading(reading).map_err(|e| SinkError(e.to_string()))?;
        message.id = chunk_id(reading);
        self.runtime.block_on(self.publisher.publish(message)).map_err(|e| SinkError(e.to_string()))?;
        self.delivered.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let mut published = self.published();
        for iv in &reading.intervals {
            let end = published.intervals.entry((reading.meter.clone(), iv.reading_type)).or_insert(iv.interval_end);
            *end = (*end).max(iv.interval_end);
        }
        for r in &reading.registers {
            let at = published.registers.entry((reading.meter.clone(), r.reading_type)).or_insert(r.read_at);
            *at = (*at).max(r.read_at);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use model::{IntervalReading, QualityFlags};

    fn reading(ends: &[&str]) -> MeterReading {
        let at = |t: &str| t.parse::<Timestamp>().expect("timestamp");
        MeterReading {
            meter: MeterId::from("GE00000001"),
            collected_at: at("2026-11-21T10:00:00Z"),
            clock_drift_ms: None,
            interval_length_s: 900,
            registers: Vec::new(),
            intervals: ends
                .iter()
                .map(|e| IntervalReading {
                    reading_type: ReadingType::ActiveEnergyImport,
                    interval_end: at(e),
                    value: 1.0,
                    quality: QualityFlags::default(),
                })
                .collect(),
        }
    }

    #[test]
    fn chunks_of_one_session_have_distinct_stable_ids() {
        let first = reading(&["2026-11-21T00:15:00Z", "2026-11-21T00:30:00Z"]);
        let second = reading(&["2026-11-21T02:15:00Z"]);
        assert_eq!(chunk_id(&first), "GE00000001/1795255200000/1795220100000");
        assert_eq!(chunk_id(&second), "GE00000001/1795255200000/1795227300000");
        assert_eq!(chunk_id(&reading(&[])), "GE00000001/1795255200000/r");
        assert_eq!(chunk_id(&first.clone()), chunk_id(&first), "republishing keeps the id");
    }
}
