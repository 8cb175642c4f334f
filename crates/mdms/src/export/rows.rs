//! The flat row shape of the tabular exports (CSV, Parquet): one stored interval version.

use jiff::Timestamp;
use model::{MeterId, QualityFlags, ReadingType};
use serde::Serialize;

use super::{ExportQuery, Versions};
use crate::{MeterDataStore, StoreError};

/// One stored version of one load-profile interval value, with its provenance.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IntervalRow {
    /// The meter (CIM `EndDevice.mRID`).
    pub meter: MeterId,
    /// The channel.
    pub reading_type: ReadingType,
    /// End of the interval, UTC, whole seconds.
    pub interval_end: Timestamp,
    /// The value in `reading_type.unit()`; Wh and varh channels carry the bulk quantity
    /// (cumulative register value) at `interval_end`.
    pub value: f64,
    /// Quality flags of this version.
    pub quality: QualityFlags,
    /// Version number (1 = first value stored for this interval).
    pub version: u32,
    /// `collected_at` of the collection session that delivered this version, UTC.
    pub collected_at: Timestamp,
    /// When the store committed this version, UTC.
    pub ingested_at: Timestamp,
    /// Who delivered this version ("hes", an import source, ...).
    pub source: String,
}

/// The interval rows `query` selects, ordered by meter (as listed in the query, or id
/// order), reading type (query order, or [`ReadingType::ALL`] order), interval end and
/// version.
///
/// With [`Versions::All`] the history of each interval that has more than one version is
/// read with [`MeterDataStore::interval_history`].
///
/// Errors: [`StoreError`] from the store.
pub fn interval_rows(
    store: &(impl MeterDataStore + ?Sized),
    query: &ExportQuery,
) -> Result<Vec<IntervalRow>, StoreError> {
    let mut rows = Vec::new();
    for meter in query.resolve_meters(store)? {
        for reading_type in query.resolve_reading_types() {
            channel_rows(store, &meter, reading_type, query, &mut rows)?;
        }
    }
    Ok(rows)
}

/// Appends the rows of one channel of one meter.
pub(crate) fn channel_rows(
    store: &(impl MeterDataStore + ?Sized),
    meter: &MeterId,
    reading_type: ReadingType,
    query: &ExportQuery,
    rows: &mut Vec<IntervalRow>,
) -> Result<(), StoreError> {
    let latest = store.interval_readings(meter, reading_type, query.from, query.to)?;
    for stored in latest {
        let versions = if query.versions == Versions::All && stored.version > 1 {
            store.interval_history(meter, reading_type, stored.interval_end)?
        } else {
            vec![stored]
        };
        rows.extend(versions.into_iter().map(|v| IntervalRow {
            meter: meter.clone(),
            reading_type,
            interval_end: v.interval_end,
            value: v.value,
            quality: v.quality,
            version: v.version,
            collected_at: v.collected_at,
            ingested_at: v.ingested_at,
            source: v.source,
        }));
    }
    Ok(())
}
