//! Imports of interval data from files: CSV ([`csv`]) and Green Button ESPI XML
//! ([`greenbutton`]).
//!
//! An import parses the whole input first (any malformed line or element refuses the file,
//! nothing is stored), builds one `model::MeterReading` per meter, and hands each to
//! [`MeterDataStore::ingest_validated`], the path collected data takes, so the same
//! checks, VEE validation (and automatic estimation, where the meter class enables it),
//! idempotence and versioning apply: importing a file twice stores nothing new the second
//! time, and a changed value becomes a new version. The [`ImportReport`] carries each
//! meter's ingest counts and validation report.
//!
//! Each `MeterReading` is its own store transaction: if the store fails on the third meter
//! of a file, the first two stay committed ([`ImportError::Store`] says how many).

pub mod csv;
pub mod deltas;
pub mod greenbutton;
pub mod timestamps;
mod xml_tree;

use jiff::Timestamp;
use model::{MeterId, MeterReading, ReadingType};

use crate::vee::{ExceptionFilter, RuleId, ValidationReport, VeeException};
use crate::{IngestReport, MeterDataStore, StoreError};

pub use deltas::DeltaAnchor;

/// Why an import failed.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// Reading the input failed.
    #[error("reading the input: {0}")]
    Io(#[from] std::io::Error),

    /// A CSV record could not be read (bad quoting, wrong field count, invalid UTF-8).
    #[error("CSV line {line}: {message}")]
    Csv {
        /// 1-based line number in the input (0 when unknown).
        line: u64,
        /// What was wrong.
        message: String,
    },

    /// A required CSV column is missing from the header, or two columns conflict.
    #[error("CSV header: {0}")]
    Header(String),

    /// A field of a CSV line is invalid (timestamp, number, unit, reading type, ...).
    #[error("CSV line {line}, column {column}: {message}")]
    Field {
        /// 1-based line number.
        line: u64,
        /// The column name.
        column: &'static str,
        /// What was wrong, with the offending text.
        message: String,
    },

    /// The XML is not well-formed, or an ESPI element or value is invalid.
    #[error("Green Button XML: {0}")]
    Xml(String),

    /// Interval deltas of a channel are not contiguous: consumption in the gap is unknown,
    /// so cumulative values after it cannot be rebuilt (split the input at the gap and give
    /// each part its own anchor).
    #[error("meter {meter}, {reading_type}: interval deltas are not contiguous: {after} is followed by {next}")]
    DeltaGap {
        /// The meter.
        meter: MeterId,
        /// The channel.
        reading_type: ReadingType,
        /// End of the last interval before the gap, UTC.
        after: Timestamp,
        /// End of the next interval given, UTC.
        next: Timestamp,
    },

    /// [`DeltaAnchor::ContinueFromStore`] found no stored bulk value at the start of the
    /// first imported interval although the channel has stored data.
    #[error("meter {meter}, {reading_type}: no stored value at {at} to continue the cumulative register from")]
    NoAnchor {
        /// The meter.
        meter: MeterId,
        /// The channel.
        reading_type: ReadingType,
        /// Start of the first imported interval, UTC.
        at: Timestamp,
    },

    /// The store refused or failed a `MeterReading` (or listing its VEE exceptions right
    /// after); `ingested` readings of this import were committed before the failure.
    #[error("storing meter {meter} failed after {ingested} readings were committed: {source}")]
    Store {
        /// The meter whose reading failed.
        meter: MeterId,
        /// Readings of this import committed before the failure.
        ingested: usize,
        /// The store's error.
        #[source]
        source: StoreError,
    },
}

/// What one meter's `MeterReading` of an import did.
#[derive(Debug, Clone, PartialEq)]
pub struct MeterImport {
    /// The meter.
    pub meter: MeterId,
    /// Interval values handed to the store.
    pub intervals: u64,
    /// Earliest interval end imported, UTC.
    pub first_end: Option<Timestamp>,
    /// Latest interval end imported, UTC.
    pub last_end: Option<Timestamp>,
    /// The store's account of the ingest (new / duplicate / revised values).
    pub ingest: IngestReport,
    /// What VEE found on the channels this reading touched (empty when VEE is disabled).
    pub validation: ValidationReport,
    /// The open VEE exceptions on this meter's intervals from `first_end` to `last_end`
    /// right after the import: what each rule caught (see [`MeterImport::caught_by_rule`]).
    pub exceptions: Vec<VeeException>,
}

impl MeterImport {
    /// Intervals each validation rule flagged in the imported range (open exceptions),
    /// in the order the rules first appear in [`MeterImport::exceptions`].
    pub fn caught_by_rule(&self) -> Vec<(RuleId, u64)> {
        let mut counts: Vec<(RuleId, u64)> = Vec::new();
        for e in &self.exceptions {
            match counts.iter_mut().find(|(rule, _)| *rule == e.rule) {
                Some((_, n)) => *n += u64::from(e.intervals),
                None => counts.push((e.rule, u64::from(e.intervals))),
            }
        }
        counts
    }
}

/// What an import did, per meter, in the order the meters were ingested (meter id order).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ImportReport {
    /// One entry per ingested `MeterReading`.
    pub meters: Vec<MeterImport>,
    /// Parts of the input that were not imported, with the reason (e.g. an ESPI
    /// `MeterReading` of gas or of cost only).
    pub skipped: Vec<String>,
}

impl ImportReport {
    /// The ingest counts of all meters added up.
    pub fn totals(&self) -> IngestReport {
        let mut total = IngestReport::default();
        for m in &self.meters {
            total.intervals_new += m.ingest.intervals_new;
            total.intervals_duplicate += m.ingest.intervals_duplicate;
            total.intervals_revised += m.ingest.intervals_revised;
            total.registers_new += m.ingest.registers_new;
            total.registers_duplicate += m.ingest.registers_duplicate;
            total.registers_revised += m.ingest.registers_revised;
        }
        total
    }

    /// The validation reports of all meters added up.
    pub fn validation(&self) -> ValidationReport {
        let mut total = ValidationReport::default();
        for m in &self.meters {
            total.absorb(m.validation.clone());
        }
        total
    }

    /// Interval values handed to the store, all meters.
    pub fn intervals(&self) -> u64 {
        self.meters.iter().map(|m| m.intervals).sum()
    }
}

/// Ingests `readings` one by one through [`MeterDataStore::ingest_validated`] with
/// `source`.
pub(crate) fn ingest_all(
    store: &mut (impl MeterDataStore + ?Sized),
    readings: Vec<MeterReading>,
    source: &str,
) -> Result<Vec<MeterImport>, ImportError> {
    let mut done = Vec::with_capacity(readings.len());
    for reading in readings {
        let store_error = |ingested: usize| {
            let meter = reading.meter.clone();
            move |source| ImportError::Store { meter, ingested, source }
        };
        let outcome = store.ingest_validated(&reading, source).map_err(store_error(done.len()))?;
        let first_end = reading.intervals.iter().map(|i| i.interval_end).min();
        let last_end = reading.intervals.iter().map(|i| i.interval_end).max();
        let exceptions = match (first_end, last_end) {
            (Some(from), Some(last)) => {
                let filter = ExceptionFilter {
                    meter: Some(reading.meter.clone()),
                    from: Some(from),
                    to: Some(last.checked_add(jiff::SignedDuration::from_secs(1)).unwrap_or(last)),
                    ..ExceptionFilter::default()
                };
                store.vee_exceptions(&filter).map_err(store_error(done.len() + 1))?
            }
            _ => Vec::new(),
        };
        done.push(MeterImport {
            meter: reading.meter.clone(),
            intervals: reading.intervals.len() as u64,
            first_end,
            last_end,
            ingest: outcome.ingest,
            validation: outcome.validation,
            exceptions,
        });
    }
    Ok(done)
}
