//! Green Button (NAESB REQ.21 ESPI) export of one usage point: an Atom feed (RFC 4287)
//! whose entries carry ESPI resources (namespace `http://naesb.org/espi`).
//!
//! gridedge has no usage points of its own yet: a meter is its usage point. The feed holds
//!
//! - one `UsagePoint` entry (title = the meter id, `ServiceCategory/kind` 0 electricity);
//! - per exported energy channel, a `MeterReading` entry and its `ReadingType` entry
//!   (`accumulationBehaviour` 4 deltaData, `commodity` 1, `dataQualifier` 12,
//!   `flowDirection` 1 forward or 19 reverse, `intervalLength`, `kind` 12 energy,
//!   `powerOfTenMultiplier`, `timeAttribute` 0, `tou` for tariff registers, `uom` 72 Wh or
//!   73 VArh);
//! - `IntervalBlock` entries, one per block of [`EspiExportOptions::block_length_s`]
//!   (a UTC day by default), each with `interval` (duration, start) and `IntervalReading`s
//!   (`ReadingQuality` when not valid, `timePeriod` (duration, start in Unix seconds),
//!   `value`).
//!
//! ESPI carries interval consumption, so values are the differences of consecutive stored
//! bulk quantities ([`deltas_from_bulk`]); an interval whose start or end value is not
//! stored is left out. Entries are linked as ESPI prescribes: the `MeterReading`'s `up`
//! link is one of the `UsagePoint`'s `related` links, its `related` links name its
//! `ReadingType` (`self`) and its `IntervalBlock` collection (the blocks' `up`).
//!
//! Values are integers (`Int48`) of `uom × 10^powerOfTenMultiplier`: the multiplier is the
//! largest of 0, −1, −2, −3 that represents every interval of the channel exactly (to
//! 1e−6), else −3 (mWh, rounded).

use std::io::Write;

use jiff::{SignedDuration, Timestamp};
use model::{MeterId, ReadingType};

use super::deltas::{IntervalDelta, deltas_from_bulk};
use super::espi_codes::{ATOM_NS, DATA_QUALIFIER_NORMAL, ESPI_NS, EspiReadingType, SERVICE_ELECTRICITY};
use super::quality::espi_quality_of_reading;
use super::xml::XmlOut;
use super::{ExportError, obis_string};
use crate::MeterDataStore;

/// Largest magnitude of an ESPI `Int48` value.
const INT48_MAX: f64 = 140_737_488_355_327.0;

/// How to build the feed.
#[derive(Debug, Clone, PartialEq)]
pub struct EspiExportOptions {
    /// Energy channels to export, in feed order; channels with no interval in the range are
    /// left out. Default: the totals +A, −A, +R, −R.
    pub reading_types: Vec<ReadingType>,
    /// Interval length in seconds; `None` takes the meter's latest collection session's.
    pub interval_length_s: Option<u32>,
    /// Prefix of every resource link, e.g. `https://utility.example/espi/1_1/resource`.
    pub base_url: String,
    /// `updated` and `published` time of the feed and its entries, UTC (the library reads
    /// no clock: give the export time).
    pub updated: Timestamp,
    /// Length of one `IntervalBlock`, seconds; blocks are aligned to multiples of it since
    /// the Unix epoch (86 400: UTC days).
    pub block_length_s: u32,
}

impl EspiExportOptions {
    /// Default options with `updated` as the feed time.
    pub fn new(updated: Timestamp) -> Self {
        EspiExportOptions {
            reading_types: vec![
                ReadingType::ActiveEnergyImport,
                ReadingType::ActiveEnergyExport,
                ReadingType::ReactiveEnergyImport,
                ReadingType::ReactiveEnergyExport,
            ],
            interval_length_s: None,
            base_url: "https://gridedge.invalid/espi/1_1/resource".to_string(),
            updated,
            block_length_s: 86_400,
        }
    }
}

/// What the feed holds for one channel.
#[derive(Debug, Clone, PartialEq)]
pub struct EspiChannelSummary {
    /// The channel.
    pub reading_type: ReadingType,
    /// `IntervalReading`s written.
    pub interval_readings: u64,
    /// Sum of the written interval values, in the channel's unit (Wh, varh), after scaling.
    pub total: f64,
    /// Start of the first interval, UTC.
    pub first_start: Timestamp,
    /// The `powerOfTenMultiplier` used.
    pub power_of_ten_multiplier: i32,
}

/// Writes a Green Button Atom feed of `meter`'s energy channels to `out`, with every
/// interval that lies within `[from, to]` (start ≥ `from`, end ≤ `to`) and whose two
/// bounding bulk values are stored (latest versions). Returns one summary per channel
/// written.
///
/// Errors: [`ExportError::NoIntervalLength`], [`ExportError::NotCumulative`] for an
/// instantaneous channel in the options, [`ExportError::InvalidOptions`] for a zero
/// interval or block length, [`ExportError::ValueOutOfRange`], [`ExportError::Store`],
/// [`ExportError::Io`].
pub fn write_usage_point<W: Write>(
    store: &(impl MeterDataStore + ?Sized),
    meter: &MeterId,
    from: Timestamp,
    to: Timestamp,
    options: &EspiExportOptions,
    out: W,
) -> Result<Vec<EspiChannelSummary>, ExportError> {
    if options.block_length_s == 0 {
        return Err(ExportError::InvalidOptions("block_length_s must be positive"));
    }
    let interval_length_s = match options.interval_length_s {
        Some(s) => s,
        None => store
            .clock_drift_history(meter)?
            .last()
            .map(|c| c.interval_length_s)
            .ok_or_else(|| ExportError::NoIntervalLength(meter.clone()))?,
    };
    if interval_length_s == 0 {
        return Err(ExportError::InvalidOptions("interval_length_s must be positive"));
    }
    // Interval ends up to and including `to`.
    let to_inclusive = to.checked_add(SignedDuration::from_secs(1)).unwrap_or(to);

    let mut channels = Vec::new();
    for &reading_type in &options.reading_types {
        if !reading_type.is_cumulative() {
            return Err(ExportError::NotCumulative(reading_type));
        }
        let values = store.interval_readings(meter, reading_type, from, to_inclusive)?;
        let deltas = deltas_from_bulk(&values, interval_length_s);
        if deltas.is_empty() {
            continue;
        }
        let power = power_of_ten_for(&deltas);
        let espi = EspiReadingType::delta_data(reading_type, interval_length_s, power)
            .ok_or(ExportError::NotCumulative(reading_type))?;
        let mut scaled = Vec::with_capacity(deltas.len());
        for d in &deltas {
            scaled.push(scale(d, power, meter, reading_type)?);
        }
        channels.push((reading_type, espi, deltas, scaled));
    }

    let up = format!("{}/Subscription/1/UsagePoint/{}", options.base_url, path_segment(&meter.0));
    let mut xml = XmlOut::new(out)?;
    xml.start("feed", &[("xmlns", ATOM_NS), ("xmlns:espi", ESPI_NS)])?;
    xml.text("id", &entry_id(&up, "feed"))?;
    xml.text("title", &format!("Green Button usage point {}", meter.0))?;
    xml.date_time("updated", options.updated)?;

    let entry = Entry { updated: options.updated };
    let meter_readings = format!("{up}/MeterReading");
    entry.write(
        &mut xml,
        &up,
        &format!("{}/Subscription/1/UsagePoint", options.base_url),
        &[&meter_readings],
        &meter.0,
        |xml| {
            xml.start("espi:UsagePoint", &[])?;
            xml.start("espi:ServiceCategory", &[])?;
            xml.text("espi:kind", &SERVICE_ELECTRICITY.to_string())?;
            xml.end("espi:ServiceCategory")?;
            xml.end("espi:UsagePoint")
        },
    )?;

    let mut summaries = Vec::new();
    for (index, (reading_type, espi, deltas, scaled)) in channels.iter().enumerate() {
        let n = index + 1;
        let reading = format!("{meter_readings}/{n}");
        let reading_type_href = format!("{}/ReadingType/{}-{n}", options.base_url, path_segment(&meter.0));
        let blocks_href = format!("{reading}/IntervalBlock");
        let title = format!("{} ({})", reading_type.as_str(), obis_string(*reading_type));
        entry.write(&mut xml, &reading, &meter_readings, &[&reading_type_href, &blocks_href], &title, |xml| {
            xml.empty("espi:MeterReading", &[])
        })?;
        entry.write(
            &mut xml,
            &reading_type_href,
            &format!("{}/ReadingType", options.base_url),
            &[],
            &title,
            |xml| write_reading_type(xml, espi),
        )?;
        for (block_index, block) in blocks(deltas, scaled, options.block_length_s).into_iter().enumerate() {
            let href = format!("{blocks_href}/{}", block_index + 1);
            entry
                .write(&mut xml, &href, &blocks_href, &[], &title, |xml| write_block(xml, &block, interval_length_s))?;
        }
        let first_start = deltas.first().map(|d| d.start).unwrap_or(from);
        let factor = 10f64.powi(espi.power_of_ten_multiplier);
        summaries.push(EspiChannelSummary {
            reading_type: *reading_type,
            interval_readings: scaled.len() as u64,
            total: scaled.iter().map(|v| *v as f64 * factor).sum(),
            first_start,
            power_of_ten_multiplier: espi.power_of_ten_multiplier,
        });
    }
    xml.end("feed")?;
    xml.finish()?.flush()?;
    Ok(summaries)
}

/// The Atom entry framing shared by every resource.
struct Entry {
    updated: Timestamp,
}

impl Entry {
    fn write<W: Write>(
        &self,
        xml: &mut XmlOut<W>,
        self_href: &str,
        up_href: &str,
        related: &[&str],
        title: &str,
        content: impl FnOnce(&mut XmlOut<W>) -> std::io::Result<()>,
    ) -> std::io::Result<()> {
        xml.start("entry", &[])?;
        xml.text("id", &entry_id(self_href, "entry"))?;
        xml.empty("link", &[("rel", "self"), ("href", self_href)])?;
        xml.empty("link", &[("rel", "up"), ("href", up_href)])?;
        for href in related {
            xml.empty("link", &[("rel", "related"), ("href", href)])?;
        }
        xml.text("title", title)?;
        xml.start("content", &[])?;
        content(xml)?;
        xml.end("content")?;
        xml.date_time("published", self.updated)?;
        xml.date_time("updated", self.updated)?;
        xml.end("entry")
    }
}

/// `ReadingType` fields in the schema's order.
fn write_reading_type<W: Write>(xml: &mut XmlOut<W>, espi: &EspiReadingType) -> std::io::Result<()> {
    xml.start("espi:ReadingType", &[])?;
    xml.text("espi:accumulationBehaviour", &espi.accumulation_behaviour.to_string())?;
    xml.text("espi:commodity", &espi.commodity.to_string())?;
    xml.text("espi:dataQualifier", &DATA_QUALIFIER_NORMAL.to_string())?;
    xml.text("espi:flowDirection", &espi.flow_direction.to_string())?;
    if let Some(length) = espi.interval_length_s {
        xml.text("espi:intervalLength", &length.to_string())?;
    }
    xml.text("espi:kind", &espi.kind.to_string())?;
    xml.text("espi:powerOfTenMultiplier", &espi.power_of_ten_multiplier.to_string())?;
    xml.text("espi:timeAttribute", "0")?;
    if let Some(tou) = espi.tou {
        xml.text("espi:tou", &tou.to_string())?;
    }
    xml.text("espi:uom", &espi.uom.to_string())?;
    xml.end("espi:ReadingType")
}

/// The intervals of one `IntervalBlock` with their scaled values.
struct Block<'a> {
    deltas: &'a [IntervalDelta],
    scaled: &'a [i64],
}

/// Splits a channel's intervals into blocks aligned to `block_length_s` by start time.
fn blocks<'a>(deltas: &'a [IntervalDelta], scaled: &'a [i64], block_length_s: u32) -> Vec<Block<'a>> {
    let length = i64::from(block_length_s);
    let mut out = Vec::new();
    let mut first = 0;
    for i in 1..=deltas.len() {
        let boundary = match (deltas.get(first), deltas.get(i)) {
            (Some(a), Some(b)) => a.start.as_second().div_euclid(length) != b.start.as_second().div_euclid(length),
            _ => true,
        };
        if boundary {
            if let (Some(d), Some(s)) = (deltas.get(first..i), scaled.get(first..i)) {
                out.push(Block { deltas: d, scaled: s });
            }
            first = i;
        }
    }
    out
}

fn write_block<W: Write>(xml: &mut XmlOut<W>, block: &Block<'_>, interval_length_s: u32) -> std::io::Result<()> {
    let (Some(first), Some(last)) = (block.deltas.first(), block.deltas.last()) else {
        return Ok(());
    };
    xml.start("espi:IntervalBlock", &[])?;
    xml.start("espi:interval", &[])?;
    xml.text("espi:duration", &(last.end.as_second() - first.start.as_second()).to_string())?;
    xml.text("espi:start", &first.start.as_second().to_string())?;
    xml.end("espi:interval")?;
    for (delta, value) in block.deltas.iter().zip(block.scaled) {
        xml.start("espi:IntervalReading", &[])?;
        if let Some(quality) = espi_quality_of_reading(delta.quality) {
            xml.start("espi:ReadingQuality", &[])?;
            xml.text("espi:quality", &quality.to_string())?;
            xml.end("espi:ReadingQuality")?;
        }
        xml.start("espi:timePeriod", &[])?;
        xml.text("espi:duration", &interval_length_s.to_string())?;
        xml.text("espi:start", &delta.start.as_second().to_string())?;
        xml.end("espi:timePeriod")?;
        xml.text("espi:value", &value.to_string())?;
        xml.end("espi:IntervalReading")?;
    }
    xml.end("espi:IntervalBlock")
}

/// The largest multiplier in 0, −1, −2, −3 that makes every delta an integer (to 1e−6),
/// else −3.
fn power_of_ten_for(deltas: &[IntervalDelta]) -> i32 {
    [0, -1, -2, -3]
        .into_iter()
        .find(|&p| {
            let factor = 10f64.powi(-p);
            deltas.iter().all(|d| {
                let x = d.value * factor;
                (x - x.round()).abs() <= 1e-6
            })
        })
        .unwrap_or(-3)
}

/// The delta as an ESPI integer of `uom × 10^power`.
fn scale(delta: &IntervalDelta, power: i32, meter: &MeterId, reading_type: ReadingType) -> Result<i64, ExportError> {
    let x = (delta.value * 10f64.powi(-power)).round();
    if !x.is_finite() || x.abs() > INT48_MAX {
        return Err(ExportError::ValueOutOfRange {
            meter: meter.clone(),
            reading_type,
            at: delta.end,
            value: delta.value,
        });
    }
    // In range of Int48, so the conversion is exact.
    Ok(x as i64)
}

/// `s` as one URL path segment: RFC 3986 unreserved characters kept, every other byte
/// percent-encoded.
fn path_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A stable `urn:uuid:` identifier for an Atom element: a version-8 (RFC 9562, custom)
/// UUID from the 128-bit FNV-1a hash of `kind` and `href`, so re-exporting the same data
/// gives the same ids.
fn entry_id(href: &str, kind: &str) -> String {
    const OFFSET: u128 = 0x6c62272e07bb014262b821756295c58d;
    const PRIME: u128 = 0x0000000001000000000000000000013B;
    let mut hash = OFFSET;
    for b in kind.bytes().chain([0u8]).chain(href.bytes()) {
        hash ^= u128::from(b);
        hash = hash.wrapping_mul(PRIME);
    }
    // Version 8 in bits 48-51 (of the big-endian layout), variant 0b10 in bits 64-65.
    let hash = (hash & !(0xF << 76) & !(0x3 << 62)) | (0x8 << 76) | (0x2 << 62);
    let h = format!("{hash:032x}");
    format!("urn:uuid:{}-{}-{}-{}-{}", &h[0..8], &h[8..12], &h[12..16], &h[16..20], &h[20..32])
}

#[cfg(test)]
mod tests {
    use super::*;
    use model::QualityFlags;

    fn delta(value: f64) -> IntervalDelta {
        let t = Timestamp::from_second(0).unwrap();
        IntervalDelta { start: t, end: t, value, quality: QualityFlags(0) }
    }

    #[test]
    fn multiplier_is_the_coarsest_exact_one() {
        assert_eq!(power_of_ten_for(&[delta(10.0), delta(250.0)]), 0);
        assert_eq!(power_of_ten_for(&[delta(10.0), delta(0.5)]), -1);
        // 110.6 - 100.1 is not exactly 10.5 in binary, but within the tolerance.
        assert_eq!(power_of_ten_for(&[delta(110.6 - 100.1)]), -1);
        assert_eq!(power_of_ten_for(&[delta(0.125)]), -3);
        assert_eq!(power_of_ten_for(&[delta(1.0 / 3.0)]), -3);
    }

    #[test]
    fn ids_are_stable_uuids_and_segments_are_encoded() {
        let a = entry_id("https://x/UsagePoint/1", "entry");
        assert_eq!(a, entry_id("https://x/UsagePoint/1", "entry"));
        assert_ne!(a, entry_id("https://x/UsagePoint/2", "entry"));
        assert_eq!(a.len(), "urn:uuid:".len() + 36);
        // Version nibble 8, variant 10xx.
        assert_eq!(&a[9 + 14..9 + 15], "8");
        assert!(matches!(&a[9 + 19..9 + 20], "8" | "9" | "a" | "b"), "{a}");
        assert_eq!(path_segment("M 1/ä"), "M%201%2F%C3%A4");
    }
}
