//! Loading a [`Topology`] from CSV.
//!
//! Two files, UTF-8, comma-separated, an optional header row (recognised by its first field
//! being `meter`), `#` comment lines, blanks around fields ignored:
//!
//! - electricity: `meter,transformer,feeder[,role]`, role `customer` (default) or `check`.
//!   Transformers and feeders are created as they appear; a transformer named with two
//!   different feeders is an error.
//! - water: `meter,dma[,role]`, role `customer` (default), `inlet` or `outlet`.
//!
//! A failed load leaves the topology partly updated (rows before the bad one are applied):
//! load into a fresh [`Topology`] and save it only on success.

use std::io::Read;

use model::MeterId;

use super::{DmaId, DmaRole, FeederId, ServiceRole, Topology, TopologyError, TransformerId};

/// Why a topology CSV could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum TopologyCsvError {
    /// The CSV reader failed (I/O, invalid UTF-8).
    #[error("reading topology CSV: {0}")]
    Csv(#[from] ::csv::Error),
    /// A row has the wrong number of fields or an unknown role.
    #[error("topology CSV line {line}: {reason}")]
    Row {
        /// 1-based line number.
        line: u64,
        /// What is wrong.
        reason: String,
    },
    /// A row contradicts the topology (e.g. a transformer on two feeders).
    #[error("topology CSV line {line}: {source}")]
    Topology {
        /// 1-based line number.
        line: u64,
        /// The refused change.
        #[source]
        source: TopologyError,
    },
}

/// What a CSV load added.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CsvLoadReport {
    /// Data rows applied (header and comments excluded).
    pub rows: u64,
}

fn reader<R: Read>(input: R) -> ::csv::Reader<R> {
    ::csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .comment(Some(b'#'))
        .trim(::csv::Trim::All)
        .from_reader(input)
}

/// Records of `input` with their line numbers, the header row skipped.
fn rows<R: Read>(input: R) -> impl Iterator<Item = Result<(u64, ::csv::StringRecord), TopologyCsvError>> {
    let mut first = true;
    reader(input).into_records().filter_map(move |record| {
        let record = match record {
            Ok(r) => r,
            Err(e) => return Some(Err(TopologyCsvError::Csv(e))),
        };
        let line = record.position().map_or(0, |p| p.line());
        let is_header = first && record.get(0).is_some_and(|f| f.eq_ignore_ascii_case("meter"));
        first = false;
        if is_header || record.iter().all(str::is_empty) { None } else { Some(Ok((line, record))) }
    })
}

/// Loads electricity rows `meter,transformer,feeder[,role]` into `topology`.
///
/// Errors: [`TopologyCsvError`] naming the first bad line.
pub fn load_electric_csv<R: Read>(topology: &mut Topology, input: R) -> Result<CsvLoadReport, TopologyCsvError> {
    let mut report = CsvLoadReport::default();
    for row in rows(input) {
        let (line, record) = row?;
        if !(3..=4).contains(&record.len()) {
            return Err(TopologyCsvError::Row {
                line,
                reason: format!("expected meter,transformer,feeder[,role], found {} fields", record.len()),
            });
        }
        let field = |i: usize| record.get(i).unwrap_or("");
        let role = ServiceRole::parse(field(3)).ok_or_else(|| TopologyCsvError::Row {
            line,
            reason: format!("unknown role {:?} (customer or check)", field(3)),
        })?;
        let transformer = TransformerId(field(1).to_string());
        let apply = |topology: &mut Topology| -> Result<(), TopologyError> {
            topology.add_transformer(transformer.clone(), FeederId(field(2).to_string()))?;
            topology.connect_meter(MeterId(field(0).to_string()), &transformer, role)
        };
        apply(topology).map_err(|source| TopologyCsvError::Topology { line, source })?;
        report.rows += 1;
    }
    Ok(report)
}

/// Loads water rows `meter,dma[,role]` into `topology`.
///
/// Errors: [`TopologyCsvError`] naming the first bad line.
pub fn load_dma_csv<R: Read>(topology: &mut Topology, input: R) -> Result<CsvLoadReport, TopologyCsvError> {
    let mut report = CsvLoadReport::default();
    for row in rows(input) {
        let (line, record) = row?;
        if !(2..=3).contains(&record.len()) {
            return Err(TopologyCsvError::Row {
                line,
                reason: format!("expected meter,dma[,role], found {} fields", record.len()),
            });
        }
        let field = |i: usize| record.get(i).unwrap_or("");
        let role = DmaRole::parse(field(2)).ok_or_else(|| TopologyCsvError::Row {
            line,
            reason: format!("unknown role {:?} (customer, inlet or outlet)", field(2)),
        })?;
        let dma = DmaId(field(1).to_string());
        let apply = |topology: &mut Topology| -> Result<(), TopologyError> {
            topology.add_dma(dma.clone())?;
            topology.add_dma_meter(&dma, MeterId(field(0).to_string()), role)
        };
        apply(topology).map_err(|source| TopologyCsvError::Topology { line, source })?;
        report.rows += 1;
    }
    Ok(report)
}
