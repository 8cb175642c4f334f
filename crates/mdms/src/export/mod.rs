//! Exports of stored meter data: CSV and Parquet tables of interval values with quality
//! and version, IEC 61968-9 `MeterReadings` and `EndDeviceEvents` XML, and NAESB REQ.21
//! ESPI (Green Button) Atom feeds.
//!
//! Every export reads through [`MeterDataStore`](crate::MeterDataStore), so it works on
//! any backend. Time ranges are half-open `[from, to)` over interval ends, in UTC, unless
//! a writer says otherwise (ESPI selects whole intervals, see [`espi`]).
//!
//! - [`csv`]: one row per stored interval version ([`IntervalRow`]).
//! - `parquet` (cargo feature `parquet`): the same rows as an Apache Parquet file.
//! - [`cim`]: IEC 61968-9 `MeterReadings` (interval blocks and register readings with
//!   `ReadingType` and `ReadingQualityType` codes) and `EndDeviceEvents`.
//! - [`espi`]: a Green Button Atom feed of one usage point, interval consumption in Wh.

pub mod cim;
pub mod csv;
pub mod deltas;
pub mod espi;
pub mod espi_codes;
pub mod event;
#[cfg(feature = "parquet")]
pub mod parquet;
pub mod quality;
mod rows;
pub(crate) mod xml;

use jiff::Timestamp;
use model::{MeterId, ReadingType};

pub use rows::{IntervalRow, interval_rows};

use crate::StoreError;

/// Why an export failed. Nothing is rolled back: a writer that fails midway has written a
/// truncated document to its output.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// Reading from the store failed.
    #[error("reading the store: {0}")]
    Store(#[from] StoreError),

    /// Writing the output failed.
    #[error("writing the export: {0}")]
    Io(#[from] std::io::Error),

    /// The CSV writer failed (it wraps I/O errors of the output).
    #[error("writing CSV: {0}")]
    Csv(#[from] ::csv::Error),

    /// The Parquet or Arrow writer failed.
    #[cfg(feature = "parquet")]
    #[error("writing Parquet: {0}")]
    Parquet(String),

    /// The interval length of a meter's load profile is unknown: no collection session was
    /// recorded for the meter and the export options give none. ESPI needs it to pair
    /// consecutive bulk values into intervals.
    #[error("no interval length known for meter {0}: give one in the export options")]
    NoIntervalLength(MeterId),

    /// The reading type is not a cumulative energy channel; ESPI interval consumption is
    /// only defined for Wh and varh bulk quantities.
    #[error("{0} is not a cumulative energy reading type")]
    NotCumulative(ReadingType),

    /// An interval value does not fit the format's integer type (ESPI `Int48`, after the
    /// `powerOfTenMultiplier` scaling).
    #[error("value {value} of {reading_type} for meter {meter} at {at} does not fit the export format")]
    ValueOutOfRange {
        /// The meter.
        meter: MeterId,
        /// The channel.
        reading_type: ReadingType,
        /// End of the interval, UTC.
        at: Timestamp,
        /// The interval value, in the channel's unit.
        value: f64,
    },

    /// The export options are inconsistent (e.g. an interval length of 0 s).
    #[error("invalid export options: {0}")]
    InvalidOptions(&'static str),
}

/// Which stored versions of each interval an export contains.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Versions {
    /// The latest (highest) version of each interval: what billing and analytics use.
    #[default]
    Latest,
    /// Every stored version, oldest first within each interval (the audit trail: raw value,
    /// then revisions, estimates and edits).
    All,
}

/// What to export: meters, channels and a half-open UTC range `[from, to)` of interval
/// ends.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportQuery {
    /// Meters to export; empty means every meter the store knows, in id order.
    pub meters: Vec<MeterId>,
    /// Reading types to export; empty means every [`ReadingType`] (in [`ReadingType::ALL`]
    /// order).
    pub reading_types: Vec<ReadingType>,
    /// First interval end included, UTC.
    pub from: Timestamp,
    /// First interval end excluded, UTC.
    pub to: Timestamp,
    /// Latest versions only, or every version.
    pub versions: Versions,
}

impl ExportQuery {
    /// Every meter and reading type, latest versions, interval ends in `[from, to)`.
    pub fn all(from: Timestamp, to: Timestamp) -> Self {
        ExportQuery { meters: Vec::new(), reading_types: Vec::new(), from, to, versions: Versions::Latest }
    }

    /// The meters to export: [`ExportQuery::meters`], or every meter of `store`.
    ///
    /// Errors: [`StoreError`] from listing the meters.
    pub fn resolve_meters(&self, store: &(impl crate::MeterDataStore + ?Sized)) -> Result<Vec<MeterId>, StoreError> {
        if self.meters.is_empty() { store.meters() } else { Ok(self.meters.clone()) }
    }

    /// The reading types to export: [`ExportQuery::reading_types`], or all of them.
    pub fn resolve_reading_types(&self) -> Vec<ReadingType> {
        if self.reading_types.is_empty() { ReadingType::ALL.to_vec() } else { self.reading_types.clone() }
    }
}

/// The OBIS code of a reading type in the IEC 62056-6-1 display form, e.g. "1-0:1.8.0.255".
pub fn obis_string(reading_type: ReadingType) -> String {
    let [a, b, c, d, e, f] = reading_type.obis();
    format!("{a}-{b}:{c}.{d}.{e}.{f}")
}
