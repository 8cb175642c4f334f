//! Persistence of declared outages.

use jiff::Timestamp;
use serde::Serialize;

use super::record::{Outage, OutageState, ScopeKind};
use crate::StoreError;

/// How one outage changed in a [`OutageStore::sync_outages`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OutageChangeKind {
    /// A new outage, still open.
    Opened,
    /// The outage is now closed (new and already closed, or open before).
    Closed,
    /// Something else changed (more reporting meters, a restoration of one meter, ...).
    Updated,
    /// No longer declared: it was provisional and merged into a larger outage (or its
    /// events changed); the row was deleted.
    Removed,
}

/// One change written by a sync.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OutageChange {
    /// The outage's id ([`Outage::id`]).
    pub id: String,
    /// What happened to it.
    pub kind: OutageChangeKind,
}

/// What a sync did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct OutageSyncReport {
    /// Changes, in outage id order (empty when the store already held exactly these
    /// outages).
    pub changes: Vec<OutageChange>,
    /// Outages already stored exactly as given.
    pub unchanged: u64,
}

/// Which outages to read: those starting in `[from, to)`, optionally only one state or
/// scope kind, ordered by start then id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutageQuery {
    /// First start included, UTC.
    pub from: Timestamp,
    /// First start excluded, UTC.
    pub to: Timestamp,
    /// Only open or only closed outages.
    pub state: Option<OutageState>,
    /// Only feeder, transformer or meter outages.
    pub scope: Option<ScopeKind>,
    /// At most this many (the earliest).
    pub limit: Option<usize>,
}

impl OutageQuery {
    /// Every outage starting in `[from, to)`.
    pub fn range(from: Timestamp, to: Timestamp) -> Self {
        OutageQuery { from, to, state: None, scope: None, limit: None }
    }
}

/// Storage of outages.
pub trait OutageStore {
    /// Makes the stored outages starting at or after `from` exactly `outages` (those of
    /// them starting before `from` are ignored), in one transaction: new ones are
    /// inserted, changed ones rewritten, missing ones deleted. Idempotent: the same call
    /// twice changes nothing the second time.
    ///
    /// Errors: [`StoreError::Sqlite`] (nothing is changed).
    fn sync_outages(&mut self, from: Timestamp, outages: &[Outage]) -> Result<OutageSyncReport, StoreError>;

    /// The outages `query` selects, with their meters.
    ///
    /// Errors: [`StoreError::Sqlite`], [`StoreError::Corrupt`].
    fn outages(&self, query: &OutageQuery) -> Result<Vec<Outage>, StoreError>;

    /// The outages in progress at some time in `[from, to)`: started before `to` and open
    /// or ended after `from`. With `from == to` and `to` just after now: what is out now.
    ///
    /// Errors: [`StoreError::Sqlite`], [`StoreError::Corrupt`].
    fn outages_overlapping(&self, from: Timestamp, to: Timestamp) -> Result<Vec<Outage>, StoreError>;

    /// One outage by id.
    ///
    /// Errors: [`StoreError::Sqlite`], [`StoreError::Corrupt`].
    fn outage(&self, id: &str) -> Result<Option<Outage>, StoreError>;
}
