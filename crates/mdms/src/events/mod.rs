//! The end device event store: what meters report besides readings (power down and restore,
//! tamper, clock, relay, firmware, prepayment), kept as IEC 61968-9 `EndDeviceEvent`s.
//!
//! [`EventStore`] is a trait of its own, beside [`MeterDataStore`](crate::MeterDataStore),
//! so a backend can add it independently. [`SqliteStore`](crate::SqliteStore) implements
//! it.
//!
//! Idempotency: an event is identified by (meter, event type, `occurred_at` at millisecond
//! resolution, source). Inserting an event whose key is already stored is a duplicate and
//! writes nothing: the first delivery's `received_at`, DLMS code, alarm bits and details
//! are kept.

use jiff::Timestamp;
use model::{EndDeviceEvent, EndDeviceEventType, MeterId};
use serde::Serialize;

use crate::StoreError;

/// What one [`EventStore::insert_events`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct EventInsertReport {
    /// Events stored for the first time.
    pub inserted: u64,
    /// Events whose key was already stored (including repeats within the same batch).
    pub duplicates: u64,
}

/// One stored event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoredEvent {
    /// Store-assigned id, increasing in insertion order (usable as a cursor with
    /// [`EventQuery::after_id`]).
    pub id: i64,
    /// The event as first delivered, `occurred_at` and `received_at` truncated to whole
    /// milliseconds.
    pub event: EndDeviceEvent,
    /// When the store committed it, UTC (store clock, milliseconds).
    pub stored_at: Timestamp,
}

/// Which events to read: all conditions must hold. Results are ordered by `occurred_at`,
/// then store id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventQuery {
    /// Meters; empty means every meter.
    pub meters: Vec<MeterId>,
    /// Event types; empty means every type.
    pub event_types: Vec<EndDeviceEventType>,
    /// First `occurred_at` included, UTC.
    pub from: Timestamp,
    /// First `occurred_at` excluded, UTC (half-open range `[from, to)`).
    pub to: Timestamp,
    /// Only events with a store id greater than this (a cursor for incremental consumers:
    /// pass the largest id already processed).
    pub after_id: Option<i64>,
    /// At most this many events (the earliest ones); `None` for all.
    pub limit: Option<usize>,
}

impl EventQuery {
    /// Every event that occurred in `[from, to)`, no limit.
    pub fn range(from: Timestamp, to: Timestamp) -> Self {
        EventQuery { meters: Vec::new(), event_types: Vec::new(), from, to, after_id: None, limit: None }
    }

    /// The same query restricted to `meters`.
    pub fn for_meters(mut self, meters: impl IntoIterator<Item = MeterId>) -> Self {
        self.meters = meters.into_iter().collect();
        self
    }

    /// The same query restricted to `types`.
    pub fn of_types(mut self, types: impl IntoIterator<Item = EndDeviceEventType>) -> Self {
        self.event_types = types.into_iter().collect();
        self
    }

    /// The same query returning at most `limit` events.
    pub fn limit(mut self, limit: usize) -> Self {
        self.limit = Some(limit);
        self
    }
}

/// Storage of end device events.
pub trait EventStore {
    /// Stores a batch of events in one transaction: each new key is inserted, each key
    /// already stored (or repeated in the batch) is counted as a duplicate.
    ///
    /// Errors: [`StoreError::EmptyMeterId`] when an event names no meter (nothing of the
    /// batch is stored); [`StoreError::Sqlite`] (nothing of the batch is stored).
    fn insert_events(&mut self, events: &[EndDeviceEvent]) -> Result<EventInsertReport, StoreError>;

    /// The events `query` selects, ordered by `occurred_at`, then id.
    ///
    /// Errors: [`StoreError::Sqlite`], [`StoreError::Corrupt`] for an undecodable row.
    fn events(&self, query: &EventQuery) -> Result<Vec<StoredEvent>, StoreError>;

    /// How many events `query` selects (its `limit` applies: the count is at most the
    /// limit).
    ///
    /// Errors: [`StoreError::Sqlite`].
    fn count_events(&self, query: &EventQuery) -> Result<u64, StoreError>;
}
