//! Conversions between the store's Rust values and the PostgreSQL column types.

use jiff::Timestamp;

use crate::StoreError;
use crate::epoch::{floor_millisecond, floor_second};

/// Quality flags (32 bits) as the `integer` column holds them: the same bits, read as a
/// signed number.
pub(crate) fn quality_to_sql(quality: u32) -> i32 {
    quality as i32
}

/// The quality flags stored as `stored`.
pub(crate) fn quality_from_sql(stored: i32) -> u32 {
    stored as u32
}

/// A meter row id as the glue carries it (`i64`) to the `integer` column.
pub(crate) fn meter_to_sql(id: i64) -> Result<i32, StoreError> {
    i32::try_from(id).map_err(|_| StoreError::Corrupt(format!("meter id {id} out of range")))
}

/// A reading type row id to the `smallint` column.
pub(crate) fn reading_type_to_sql(id: i64) -> Result<i16, StoreError> {
    i16::try_from(id).map_err(|_| StoreError::Corrupt(format!("reading type id {id} out of range")))
}

/// A version to the `integer` column.
pub(crate) fn version_to_sql(version: u32) -> Result<i32, StoreError> {
    i32::try_from(version).map_err(|_| StoreError::Corrupt(format!("version {version} out of range")))
}

/// A stored version.
pub(crate) fn version_from_sql(stored: i32) -> Result<u32, StoreError> {
    u32::try_from(stored).map_err(|_| StoreError::Corrupt(format!("version {stored} out of range")))
}

/// The instant `s` seconds after the epoch, for a `timestamptz` parameter.
pub(crate) fn at_second(s: i64) -> Result<Timestamp, StoreError> {
    crate::epoch::from_second(s)
}

/// The instant `ms` milliseconds after the epoch, for a `timestamptz` parameter.
pub(crate) fn at_millisecond(ms: i64) -> Result<Timestamp, StoreError> {
    crate::epoch::from_millisecond(ms)
}

/// A stored whole-second instant as seconds since the epoch.
pub(crate) fn second_of(ts: Timestamp) -> i64 {
    floor_second(ts)
}

/// `ts` truncated to whole milliseconds (collection and ingest times).
pub(crate) fn truncate_to_millisecond(ts: Timestamp) -> Result<Timestamp, StoreError> {
    at_millisecond(floor_millisecond(ts))
}
