//! Checks a `MeterReading` must pass before any backend writes it.

use model::MeterReading;

use crate::StoreError;

/// Refuses a reading the store could not keep faithfully: an empty meter id, or a NaN or
/// infinite value (SQLite would store NaN as NULL). Runs before the ingest transaction, so a
/// refused reading writes nothing.
pub fn check_ingestible(reading: &MeterReading) -> Result<(), StoreError> {
    if reading.meter.0.is_empty() {
        return Err(StoreError::EmptyMeterId);
    }
    let non_finite =
        |reading_type, at, value| StoreError::NonFiniteValue { meter: reading.meter.clone(), reading_type, at, value };
    if let Some(i) = reading.intervals.iter().find(|i| !i.value.is_finite()) {
        return Err(non_finite(i.reading_type, i.interval_end, i.value));
    }
    if let Some(r) = reading.registers.iter().find(|r| !r.value.is_finite()) {
        return Err(non_finite(r.reading_type, r.read_at, r.value));
    }
    Ok(())
}
