//! IEC 61968-9 XML exports: `MeterReadings` (namespace
//! `http://iec.ch/TC57/2011/MeterReadings#`) and `EndDeviceEvents` (namespace
//! `http://iec.ch/TC57/2011/EndDeviceEvents#`), the message payloads of IEC 61968-9
//! clause 6 (meter reading) and the end device event messages.
//!
//! `MeterReadings` shape (element order follows the 2011 schema):
//!
//! ```text
//! MeterReadings
//!   MeterReading                      one per meter with data in the range
//!     IntervalBlocks                  one per reading type (load-profile channel)
//!       IntervalReadings              one per stored interval version
//!         reportedDateTime            collected_at of the version (UTC)
//!         source                      who delivered it ("hes", an import, ...)
//!         timeStamp                   interval end (UTC)
//!         value                       bulk quantity (Wh/varh) or instantaneous value
//!         ReadingQualities/ReadingQualityType@ref   one per quality code (see quality)
//!       ReadingType@ref               the 18-field ReadingType code
//!     Meter/mRID                      the meter id
//!     Readings                        register reads: same fields as IntervalReadings
//!     valuesInterval/end, start       the exported range
//!   ReadingType                       one per code used: mRID = code, Names/name
//! ```

use std::collections::BTreeSet;
use std::io::Write;

use jiff::Timestamp;
use model::{MeterId, QualityFlags, ReadingType};

use super::event::EndDeviceEvent;
use super::quality::cim_quality_codes;
use super::rows::channel_rows;
use super::xml::XmlOut;
use super::{ExportError, ExportQuery, Versions, obis_string};
use crate::events::{EventQuery, EventStore};
use crate::{MeterDataStore, StoredRegisterRead};

/// XML namespace of IEC 61968-9 `MeterReadings` (2011 profile).
pub const METER_READINGS_NS: &str = "http://iec.ch/TC57/2011/MeterReadings#";

/// XML namespace of IEC 61968-9 `EndDeviceEvents` (2011 profile).
pub const END_DEVICE_EVENTS_NS: &str = "http://iec.ch/TC57/2011/EndDeviceEvents#";

/// What a `MeterReadings` export wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CimExportSummary {
    /// `MeterReading` elements (meters with data in the range).
    pub meter_readings: u64,
    /// `IntervalReadings` elements.
    pub interval_readings: u64,
    /// `Readings` elements (register reads).
    pub register_readings: u64,
}

/// Writes an IEC 61968-9 `MeterReadings` document of the intervals and register reads
/// `query` selects (interval ends and read times in `[from, to)`) to `out`.
///
/// With [`Versions::All`] each stored version is its own `IntervalReadings` (or
/// `Readings`) element with the same `timeStamp`, told apart by `reportedDateTime` and
/// `source`. Meters without data in the range are left out.
///
/// Errors: [`ExportError::Store`], [`ExportError::Io`].
pub fn write_meter_readings<W: Write>(
    store: &(impl MeterDataStore + ?Sized),
    query: &ExportQuery,
    out: W,
) -> Result<CimExportSummary, ExportError> {
    let mut xml = XmlOut::new(out)?;
    xml.start("MeterReadings", &[("xmlns", METER_READINGS_NS)])?;
    let mut summary = CimExportSummary::default();
    let mut used = BTreeSet::new();
    let mut rows = Vec::new();
    for meter in query.resolve_meters(store)? {
        let mut blocks = Vec::new();
        for reading_type in query.resolve_reading_types() {
            rows.clear();
            channel_rows(store, &meter, reading_type, query, &mut rows)?;
            if !rows.is_empty() {
                blocks.push((reading_type, std::mem::take(&mut rows)));
            }
        }
        let mut registers = Vec::new();
        for reading_type in query.resolve_reading_types() {
            for read in register_rows(store, &meter, reading_type, query)? {
                registers.push((reading_type, read));
            }
        }
        if blocks.is_empty() && registers.is_empty() {
            continue;
        }
        summary.meter_readings += 1;
        xml.start("MeterReading", &[])?;
        for (reading_type, rows) in &blocks {
            used.insert(*reading_type);
            xml.start("IntervalBlocks", &[])?;
            for row in rows {
                write_reading(
                    &mut xml,
                    "IntervalReadings",
                    row.collected_at,
                    &row.source,
                    row.interval_end,
                    row.value,
                    row.quality,
                )?;
                summary.interval_readings += 1;
            }
            xml.empty("ReadingType", &[("ref", reading_type.cim_code())])?;
            xml.end("IntervalBlocks")?;
        }
        write_meter(&mut xml, &meter)?;
        for (reading_type, read) in &registers {
            used.insert(*reading_type);
            write_register(&mut xml, *reading_type, read)?;
            summary.register_readings += 1;
        }
        xml.start("valuesInterval", &[])?;
        xml.date_time("end", query.to)?;
        xml.date_time("start", query.from)?;
        xml.end("valuesInterval")?;
        xml.end("MeterReading")?;
    }
    for reading_type in used {
        xml.start("ReadingType", &[])?;
        xml.text("mRID", reading_type.cim_code())?;
        xml.start("Names", &[])?;
        xml.text("name", &format!("{} ({})", reading_type.as_str(), obis_string(reading_type)))?;
        xml.end("Names")?;
        xml.end("ReadingType")?;
    }
    xml.end("MeterReadings")?;
    xml.finish()?.flush()?;
    Ok(summary)
}

/// Register reads of one channel in the query range, honouring [`ExportQuery::versions`].
fn register_rows(
    store: &(impl MeterDataStore + ?Sized),
    meter: &MeterId,
    reading_type: ReadingType,
    query: &ExportQuery,
) -> Result<Vec<StoredRegisterRead>, ExportError> {
    let mut out = Vec::new();
    for read in store.register_reads(meter, reading_type, query.from, query.to)? {
        if query.versions == Versions::All && read.version > 1 {
            out.extend(store.register_history(meter, reading_type, read.read_at)?);
        } else {
            out.push(read);
        }
    }
    Ok(out)
}

fn write_meter<W: Write>(xml: &mut XmlOut<W>, meter: &MeterId) -> std::io::Result<()> {
    xml.start("Meter", &[])?;
    xml.text("mRID", &meter.0)?;
    xml.end("Meter")
}

fn write_register<W: Write>(
    xml: &mut XmlOut<W>,
    reading_type: ReadingType,
    read: &StoredRegisterRead,
) -> std::io::Result<()> {
    xml.start("Readings", &[])?;
    xml.date_time("reportedDateTime", read.collected_at)?;
    xml.text("source", &read.source)?;
    xml.date_time("timeStamp", read.read_at)?;
    xml.text("value", &read.value.to_string())?;
    write_qualities(xml, read.quality)?;
    xml.empty("ReadingType", &[("ref", reading_type.cim_code())])?;
    xml.end("Readings")
}

/// One `IntervalReadings` element (everything but the block's `ReadingType`).
fn write_reading<W: Write>(
    xml: &mut XmlOut<W>,
    element: &str,
    reported: Timestamp,
    source: &str,
    at: Timestamp,
    value: f64,
    quality: QualityFlags,
) -> std::io::Result<()> {
    xml.start(element, &[])?;
    xml.date_time("reportedDateTime", reported)?;
    xml.text("source", source)?;
    xml.date_time("timeStamp", at)?;
    xml.text("value", &value.to_string())?;
    write_qualities(xml, quality)?;
    xml.end(element)
}

fn write_qualities<W: Write>(xml: &mut XmlOut<W>, quality: QualityFlags) -> std::io::Result<()> {
    for code in cim_quality_codes(quality) {
        xml.start("ReadingQualities", &[])?;
        xml.empty("ReadingQualityType", &[("ref", code)])?;
        xml.end("ReadingQualities")?;
    }
    Ok(())
}

/// Writes an IEC 61968-9 `EndDeviceEvents` document of `events` (in the given order) to
/// `out`. Each `EndDeviceEvent` holds, in schema order: `mRID` (if known),
/// `createdDateTime` (UTC), `reason`, `severity`, `Assets/mRID` (the meter),
/// `EndDeviceEventDetails` (name, value) and `EndDeviceEventType@ref` (the 4-part code).
///
/// Errors: [`ExportError::Io`].
pub fn write_end_device_events<W: Write>(events: &[EndDeviceEvent], out: W) -> Result<(), ExportError> {
    let mut xml = XmlOut::new(out)?;
    xml.start("EndDeviceEvents", &[("xmlns", END_DEVICE_EVENTS_NS)])?;
    for event in events {
        xml.start("EndDeviceEvent", &[])?;
        if let Some(mrid) = &event.mrid {
            xml.text("mRID", mrid)?;
        }
        xml.date_time("createdDateTime", event.created_at)?;
        if let Some(reason) = &event.reason {
            xml.text("reason", reason)?;
        }
        if let Some(severity) = &event.severity {
            xml.text("severity", severity)?;
        }
        xml.start("Assets", &[])?;
        xml.text("mRID", &event.meter.0)?;
        xml.end("Assets")?;
        for (name, value) in &event.details {
            xml.start("EndDeviceEventDetails", &[])?;
            xml.text("name", name)?;
            xml.text("value", value)?;
            xml.end("EndDeviceEventDetails")?;
        }
        xml.empty("EndDeviceEventType", &[("ref", &event.event_type.to_string())])?;
        xml.end("EndDeviceEvent")?;
    }
    xml.end("EndDeviceEvents")?;
    xml.finish()?.flush()?;
    Ok(())
}

/// Writes the stored events `query` selects (ordered by `occurred_at`) as an IEC 61968-9
/// `EndDeviceEvents` document to `out`, each converted with
/// [`EndDeviceEvent::from`](super::event::EndDeviceEvent) (source, receive time, DLMS code
/// and alarm bits as `EndDeviceEventDetails`). Returns the number of events written.
///
/// Errors: [`ExportError::Store`], [`ExportError::Io`].
pub fn write_stored_end_device_events<W: Write>(
    store: &(impl EventStore + ?Sized),
    query: &EventQuery,
    out: W,
) -> Result<u64, ExportError> {
    let events: Vec<EndDeviceEvent> = store.events(query)?.iter().map(|e| EndDeviceEvent::from(&e.event)).collect();
    write_end_device_events(&events, out)?;
    Ok(events.len() as u64)
}
