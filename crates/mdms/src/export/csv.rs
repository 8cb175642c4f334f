//! CSV export of interval data with quality and version (RFC 4180, comma separated, one
//! header row).
//!
//! Columns, in order:
//!
//! | column | content |
//! |---|---|
//! | `meter` | meter id (CIM `EndDevice.mRID`) |
//! | `reading_type` | gridedge reading type name, e.g. `active_energy_import` |
//! | `obis` | OBIS code, e.g. `1-0:1.8.0.255` |
//! | `interval_end` | end of the interval, RFC 3339 UTC, e.g. `2025-01-01T00:15:00Z` |
//! | `value` | the value in `unit`: bulk quantity (cumulative register) for Wh/varh |
//! | `unit` | `Wh`, `varh`, `W`, `V` or `A` |
//! | `quality` | quality flags as a decimal integer (meter status in the low byte) |
//! | `quality_names` | the set flags by name, `;`-separated |
//! | `version` | stored version, 1 = first value |
//! | `collected_at` | collection session that delivered the version, RFC 3339 UTC |
//! | `ingested_at` | when the store committed the version, RFC 3339 UTC |
//! | `source` | who delivered the version |
//!
//! Values are written with Rust's shortest round-trip formatting, so a CSV import gives the
//! exact `f64` back. [`crate::import::csv`] reads this format (it uses `meter`,
//! `reading_type`, `interval_end`, `value`, `unit` and `quality`, and ignores the rest).

use std::io::Write;

use super::rows::channel_rows;
use super::{ExportError, ExportQuery, IntervalRow, obis_string};
use crate::MeterDataStore;

/// The header row of the interval CSV.
pub const HEADER: [&str; 12] = [
    "meter",
    "reading_type",
    "obis",
    "interval_end",
    "value",
    "unit",
    "quality",
    "quality_names",
    "version",
    "collected_at",
    "ingested_at",
    "source",
];

/// Writes the interval rows `query` selects as CSV to `out`, one meter and channel at a
/// time (memory use is one channel's rows), and returns the number of data rows.
///
/// Errors: [`ExportError::Store`], [`ExportError::Csv`] for output errors.
pub fn write_intervals_csv<W: Write>(
    store: &(impl MeterDataStore + ?Sized),
    query: &ExportQuery,
    out: W,
) -> Result<u64, ExportError> {
    let mut writer = ::csv::Writer::from_writer(out);
    writer.write_record(HEADER)?;
    let mut written = 0;
    let mut rows = Vec::new();
    for meter in query.resolve_meters(store)? {
        for reading_type in query.resolve_reading_types() {
            rows.clear();
            channel_rows(store, &meter, reading_type, query, &mut rows)?;
            for row in &rows {
                write_row(&mut writer, row)?;
                written += 1;
            }
        }
    }
    writer.flush()?;
    Ok(written)
}

/// Writes already collected rows as CSV (same columns as [`write_intervals_csv`]).
///
/// Errors: [`ExportError::Csv`].
pub fn write_rows_csv<W: Write>(rows: &[IntervalRow], out: W) -> Result<(), ExportError> {
    let mut writer = ::csv::Writer::from_writer(out);
    writer.write_record(HEADER)?;
    for row in rows {
        write_row(&mut writer, row)?;
    }
    writer.flush()?;
    Ok(())
}

fn write_row<W: Write>(writer: &mut ::csv::Writer<W>, row: &IntervalRow) -> Result<(), ExportError> {
    writer.write_record([
        row.meter.0.as_str(),
        row.reading_type.as_str(),
        &obis_string(row.reading_type),
        &row.interval_end.to_string(),
        &row.value.to_string(),
        row.reading_type.unit().symbol(),
        &row.quality.0.to_string(),
        &row.quality.names().join(";"),
        &row.version.to_string(),
        &row.collected_at.to_string(),
        &row.ingested_at.to_string(),
        &row.source,
    ])?;
    Ok(())
}
