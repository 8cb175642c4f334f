//! CSV import of interval data (RFC 4180, comma separated, one header row).
//!
//! Columns are found by header name (case-insensitive; other columns are ignored, so the
//! CSV export reads back as is):
//!
//! | column | required | content |
//! |---|---|---|
//! | `meter` (or `meter_id`, `mrid`) | yes | meter id |
//! | `interval_end`, `interval_start` or `timestamp` | exactly one | the interval's end or start (see below) |
//! | `value` | yes | a decimal number |
//! | `unit` | yes | `Wh`, `kWh`, `MWh`, `varh`, `kvarh`, `W`, `kW`, `V`, `A` (SI prefixes k, M, G, m) |
//! | `reading_type` (or `obis`) | unless [`CsvImportOptions::reading_type`] is set | gridedge name (`active_energy_import`), OBIS code (`1-0:1.8.0.255`, `1.0.1.8.0.255`) or CIM ReadingType code |
//! | `quality` | no | quality flags, decimal (as the CSV export writes them) |
//!
//! The interval convention is never guessed: [`CsvImportOptions::convention`] says whether
//! timestamps mark interval ends or starts, and a column named `interval_end` or
//! `interval_start` must agree with it. Timestamps carry a UTC offset or are local times in
//! [`CsvImportOptions::time_zone`] (see [`parse_time`]). Values are converted to the reading
//! type's unit (kWh × 1000 → Wh); a unit of another dimension is refused.
//!
//! Values are cumulative register readings (the stored form) or, with
//! [`ValueKind::IntervalDelta`], interval consumption rebuilt into register readings from
//! an anchor ([`super::deltas`]).

use std::collections::{BTreeMap, HashMap};
use std::io::Read;

use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use model::{IntervalReading, MeterId, MeterReading, QualityFlags, ReadingType, Unit};

use super::deltas::{DeltaAnchor, DeltaInterval, bulk_from_deltas, resolve_anchor};
use super::timestamps::{AmbiguousLocalTime, ParsedTime, parse_time};
use super::{ImportError, ImportReport, ingest_all};
use crate::MeterDataStore;

/// What the timestamp of a row marks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IntervalConvention {
    /// The end of the interval (the load-profile capture time; gridedge's own convention).
    End,
    /// The start of the interval; the end is start + [`CsvImportOptions::interval_length_s`].
    Start,
}

/// What the values of the file are.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ValueKind {
    /// Register readings at the timestamps (energy: bulk quantities), stored as they are.
    Cumulative,
    /// Energy used within each interval (energy channels only), rebuilt into register
    /// readings from the anchor.
    IntervalDelta(DeltaAnchor),
}

/// How to read a CSV file.
#[derive(Debug, Clone, PartialEq)]
pub struct CsvImportOptions {
    /// Whether timestamps mark interval ends or starts.
    pub convention: IntervalConvention,
    /// Length of the intervals, seconds (recorded with each `MeterReading`; needed to turn
    /// starts into ends and to check delta contiguity).
    pub interval_length_s: u32,
    /// Time zone of timestamps written without an offset; `None` requires offsets.
    pub time_zone: Option<TimeZone>,
    /// How to read a local time that the zone repeats.
    pub ambiguous: AmbiguousLocalTime,
    /// Reading type of every row when the file has no `reading_type`/`obis` column.
    pub reading_type: Option<ReadingType>,
    /// Register readings or interval consumption.
    pub values: ValueKind,
    /// Recorded as each `MeterReading`'s `collected_at` (the import time), UTC.
    pub collected_at: Timestamp,
    /// Recorded as the source of every stored version.
    pub source: String,
}

impl CsvImportOptions {
    /// Options for a file of cumulative values with offsets in its timestamps.
    pub fn new(convention: IntervalConvention, interval_length_s: u32, collected_at: Timestamp) -> Self {
        CsvImportOptions {
            convention,
            interval_length_s,
            time_zone: None,
            ambiguous: AmbiguousLocalTime::Reject,
            reading_type: None,
            values: ValueKind::Cumulative,
            collected_at,
            source: "csv-import".to_string(),
        }
    }
}

/// One parsed row: a value of one channel at one interval end, in the channel's unit.
#[derive(Debug, Clone, PartialEq)]
pub struct CsvInterval {
    /// The meter.
    pub meter: MeterId,
    /// The channel.
    pub reading_type: ReadingType,
    /// End of the interval, UTC.
    pub interval_end: Timestamp,
    /// The value converted to `reading_type.unit()`.
    pub value: f64,
    /// Quality flags from the `quality` column (none when absent).
    pub quality: QualityFlags,
}

/// Parses, then ingests a CSV file into `store` (one `MeterReading` per meter, through
/// [`MeterDataStore::ingest_validated`] with [`CsvImportOptions::source`]).
///
/// Errors: [`ImportError::Csv`], [`ImportError::Header`], [`ImportError::Field`] (nothing
/// stored), [`ImportError::DeltaGap`], [`ImportError::NoAnchor`], [`ImportError::Store`].
pub fn import_csv<R: Read>(
    store: &mut (impl MeterDataStore + ?Sized),
    input: R,
    options: &CsvImportOptions,
) -> Result<ImportReport, ImportError> {
    let rows = read_csv_intervals(input, options)?;
    let readings = build_readings(store, rows, options)?;
    Ok(ImportReport { meters: ingest_all(store, readings, &options.source)?, skipped: Vec::new() })
}

/// The column positions of a header.
struct Columns {
    meter: usize,
    time: usize,
    convention: IntervalConvention,
    value: usize,
    unit: usize,
    reading_type: Option<(usize, &'static str)>,
    quality: Option<usize>,
}

fn find_columns(header: &::csv::StringRecord, options: &CsvImportOptions) -> Result<Columns, ImportError> {
    let names: Vec<String> =
        header.iter().map(|h| h.trim().trim_start_matches('\u{feff}').to_ascii_lowercase()).collect();
    let find = |candidates: &[&str]| names.iter().position(|n| candidates.contains(&n.as_str()));
    let require = |candidates: &[&str]| {
        find(candidates).ok_or_else(|| ImportError::Header(format!("no column named {}", candidates.join(" or "))))
    };
    let times: Vec<(usize, Option<IntervalConvention>)> = names
        .iter()
        .enumerate()
        .filter_map(|(i, n)| match n.as_str() {
            "interval_end" => Some((i, Some(IntervalConvention::End))),
            "interval_start" => Some((i, Some(IntervalConvention::Start))),
            "timestamp" => Some((i, None)),
            _ => None,
        })
        .collect();
    let (time, named) = match times.as_slice() {
        [one] => *one,
        [] => return Err(ImportError::Header("no interval_end, interval_start or timestamp column".into())),
        _ => return Err(ImportError::Header("more than one of interval_end, interval_start, timestamp".into())),
    };
    if let Some(named) = named {
        if named != options.convention {
            return Err(ImportError::Header(format!(
                "the time column says {named:?} but the import convention is {:?}",
                options.convention
            )));
        }
    }
    let reading_type = match (find(&["reading_type"]), find(&["obis"])) {
        (Some(i), _) => Some((i, "reading_type")),
        (None, Some(i)) => Some((i, "obis")),
        (None, None) if options.reading_type.is_some() => None,
        (None, None) => {
            return Err(ImportError::Header("no reading_type or obis column, and no reading type given".into()));
        }
    };
    Ok(Columns {
        meter: require(&["meter", "meter_id", "mrid"])?,
        time,
        convention: options.convention,
        value: require(&["value"])?,
        unit: require(&["unit"])?,
        reading_type,
        quality: find(&["quality"]),
    })
}

/// Parses a CSV file into interval values (no store access; see the module docs for the
/// format).
///
/// Errors: [`ImportError::Csv`], [`ImportError::Header`], [`ImportError::Field`].
pub fn read_csv_intervals<R: Read>(input: R, options: &CsvImportOptions) -> Result<Vec<CsvInterval>, ImportError> {
    if options.interval_length_s == 0 {
        return Err(ImportError::Header("the interval length must be positive".into()));
    }
    let mut reader = ::csv::ReaderBuilder::new().has_headers(true).from_reader(input);
    let csv_error =
        |e: ::csv::Error| ImportError::Csv { line: e.position().map_or(0, |p| p.line()), message: e.to_string() };
    let header = reader.headers().map_err(csv_error)?.clone();
    let columns = find_columns(&header, options)?;
    let length = SignedDuration::from_secs(i64::from(options.interval_length_s));
    let mut folds_seen: HashMap<(MeterId, ReadingType, Timestamp), u8> = HashMap::new();
    let mut out = Vec::new();
    for record in reader.records() {
        let record = record.map_err(csv_error)?;
        let line = record.position().map_or(0, |p| p.line());
        let field = |i: usize| record.get(i).unwrap_or("").trim();
        let bad = |column: &'static str, message: String| ImportError::Field { line, column, message };

        let meter = field(columns.meter);
        if meter.is_empty() {
            return Err(bad("meter", "empty meter id".into()));
        }
        let meter = MeterId(meter.to_string());
        let reading_type = match columns.reading_type {
            Some((i, column)) => parse_reading_type(field(i)).map_err(|m| bad(column, m))?,
            None => options.reading_type.ok_or_else(|| bad("reading_type", "no reading type".into()))?,
        };
        if matches!(options.values, ValueKind::IntervalDelta(_)) && !reading_type.is_cumulative() {
            return Err(bad("value", format!("interval deltas need an energy channel, not {reading_type}")));
        }
        let (unit, factor) = parse_unit(field(columns.unit)).map_err(|m| bad("unit", m))?;
        if unit != reading_type.unit() {
            return Err(bad(
                "unit",
                format!("{:?} is not a unit of {reading_type} ({})", field(columns.unit), reading_type.unit().symbol()),
            ));
        }
        let raw: f64 =
            field(columns.value).parse().map_err(|e| bad("value", format!("{:?}: {e}", field(columns.value))))?;
        let value = raw * factor;
        if !value.is_finite() {
            return Err(bad("value", format!("{:?} is not a finite number", field(columns.value))));
        }
        let quality = match columns.quality {
            Some(i) if !field(i).is_empty() => {
                QualityFlags(field(i).parse().map_err(|e| bad("quality", format!("{:?}: {e}", field(i))))?)
            }
            _ => QualityFlags::default(),
        };

        let time_column = match columns.convention {
            IntervalConvention::End => "interval_end",
            IntervalConvention::Start => "interval_start",
        };
        let at = match parse_time(field(columns.time), options.time_zone.as_ref()).map_err(|m| bad(time_column, m))? {
            ParsedTime::Instant(t) => t,
            ParsedTime::Ambiguous { earlier, later } => match options.ambiguous {
                AmbiguousLocalTime::Reject => {
                    return Err(bad(
                        time_column,
                        format!("{:?} occurs twice in the time zone: give a UTC offset", field(columns.time)),
                    ));
                }
                AmbiguousLocalTime::FileOrder => {
                    let seen = folds_seen.entry((meter.clone(), reading_type, earlier)).or_insert(0);
                    *seen += 1;
                    match *seen {
                        1 => earlier,
                        2 => later,
                        _ => {
                            return Err(bad(time_column, format!("{:?} occurs a third time", field(columns.time))));
                        }
                    }
                }
            },
        };
        if at.subsec_nanosecond() != 0 {
            return Err(bad(time_column, format!("{:?} is not a whole second", field(columns.time))));
        }
        let interval_end = match columns.convention {
            IntervalConvention::End => at,
            IntervalConvention::Start => {
                at.checked_add(length).map_err(|e| bad(time_column, format!("interval end out of range: {e}")))?
            }
        };
        out.push(CsvInterval { meter, reading_type, interval_end, value, quality });
    }
    Ok(out)
}

/// One `MeterReading` per meter (meter id order, intervals by end then reading type).
fn build_readings(
    store: &(impl MeterDataStore + ?Sized),
    rows: Vec<CsvInterval>,
    options: &CsvImportOptions,
) -> Result<Vec<MeterReading>, ImportError> {
    let mut per_meter: BTreeMap<MeterId, Vec<IntervalReading>> = BTreeMap::new();
    match options.values {
        ValueKind::Cumulative => {
            for r in rows {
                per_meter.entry(r.meter).or_default().push(IntervalReading {
                    reading_type: r.reading_type,
                    interval_end: r.interval_end,
                    value: r.value,
                    quality: r.quality,
                });
            }
        }
        ValueKind::IntervalDelta(anchor) => {
            let mut channels: BTreeMap<(MeterId, ReadingType), Vec<DeltaInterval>> = BTreeMap::new();
            for r in rows {
                channels.entry((r.meter, r.reading_type)).or_default().push(DeltaInterval {
                    end: r.interval_end,
                    value: r.value,
                    quality: r.quality,
                });
            }
            let length = SignedDuration::from_secs(i64::from(options.interval_length_s));
            for ((meter, reading_type), deltas) in channels {
                let Some(first_end) = deltas.iter().map(|d| d.end).min() else { continue };
                let first_start = first_end.checked_sub(length).map_err(|_| ImportError::DeltaGap {
                    meter: meter.clone(),
                    reading_type,
                    after: first_end,
                    next: first_end,
                })?;
                let (start, include) = resolve_anchor(store, &meter, reading_type, first_start, anchor)?;
                let bulk = bulk_from_deltas(&meter, reading_type, &deltas, options.interval_length_s, start, include)?;
                per_meter.entry(meter).or_default().extend(bulk);
            }
        }
    }
    Ok(per_meter
        .into_iter()
        .map(|(meter, mut intervals)| {
            intervals.sort_by_key(|i| (i.interval_end, i.reading_type));
            MeterReading {
                meter,
                collected_at: options.collected_at,
                clock_drift_ms: None,
                interval_length_s: options.interval_length_s,
                registers: Vec::new(),
                intervals,
            }
        })
        .collect())
}

/// A unit symbol with an optional SI prefix (k, M, G, m): its base unit and factor.
pub fn parse_unit(text: &str) -> Result<(Unit, f64), String> {
    let base = |s: &str| match s.to_ascii_lowercase().as_str() {
        "wh" => Some(Unit::Wh),
        "varh" => Some(Unit::Varh),
        "w" => Some(Unit::W),
        "v" => Some(Unit::V),
        "a" => Some(Unit::A),
        "m3" => Some(Unit::M3),
        _ => None,
    };
    if let Some(unit) = base(text) {
        return Ok((unit, 1.0));
    }
    let mut chars = text.chars();
    let factor = match chars.next() {
        Some('k' | 'K') => 1e3,
        Some('M') => 1e6,
        Some('G') => 1e9,
        Some('m') => 1e-3,
        _ => return Err(format!("unknown unit {text:?}")),
    };
    base(chars.as_str()).map(|unit| (unit, factor)).ok_or_else(|| format!("unknown unit {text:?}"))
}

/// A reading type from its gridedge name, OBIS code (`1-0:1.8.0.255`, `1.0.1.8.0.255`, or
/// five groups with F = 255 implied) or CIM ReadingType code.
pub fn parse_reading_type(text: &str) -> Result<ReadingType, String> {
    if let Ok(rt) = text.parse::<ReadingType>() {
        return Ok(rt);
    }
    if let Some(rt) = ReadingType::ALL.into_iter().find(|rt| rt.cim_code() == text) {
        return Ok(rt);
    }
    let groups: Vec<u8> = text
        .split(['-', ':', '.', '*', '&'])
        .map(str::parse)
        .collect::<Result<_, _>>()
        .map_err(|_| format!("unknown reading type {text:?}"))?;
    let obis = match groups.as_slice() {
        [a, b, c, d, e, f] => [*a, *b, *c, *d, *e, *f],
        [a, b, c, d, e] => [*a, *b, *c, *d, *e, 255],
        _ => return Err(format!("unknown reading type {text:?}")),
    };
    ReadingType::from_obis(obis).ok_or_else(|| format!("OBIS code {text:?} is not a reading type gridedge stores"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_with_prefixes() {
        assert_eq!(parse_unit("Wh"), Ok((Unit::Wh, 1.0)));
        assert_eq!(parse_unit("kWh"), Ok((Unit::Wh, 1e3)));
        assert_eq!(parse_unit("MWh"), Ok((Unit::Wh, 1e6)));
        assert_eq!(parse_unit("kVArh"), Ok((Unit::Varh, 1e3)));
        assert_eq!(parse_unit("kW"), Ok((Unit::W, 1e3)));
        assert_eq!(parse_unit("V"), Ok((Unit::V, 1.0)));
        for bad in ["", "kg", "k", "Wh2", "xWh", "ÄWh"] {
            assert!(parse_unit(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn reading_types_by_name_obis_and_cim_code() {
        let rt = ReadingType::ActiveEnergyExport;
        for text in ["active_energy_export", "1-0:2.8.0.255", "1.0.2.8.0.255", "1-0:2.8.0", rt.cim_code()] {
            assert_eq!(parse_reading_type(text), Ok(rt), "{text}");
        }
        for bad in ["", "energy", "1-0:99.8.0.255", "1-0:1.8", "1-0:1.8.0.255.7", "1-0:1.8.0.256"] {
            assert!(parse_reading_type(bad).is_err(), "{bad:?}");
        }
    }
}
