//! Green Button (NAESB REQ.21 ESPI) XML import: an Atom feed (or a single entry) of
//! `UsagePoint`, `MeterReading`, `ReadingType` and `IntervalBlock` resources back into
//! `model::MeterReading`s.
//!
//! Resources are joined by their Atom links as ESPI defines them: a child belongs to a
//! parent whose `related` links contain the child's `self` or `up` link (UsagePoint →
//! MeterReading → ReadingType and IntervalBlocks). Other resources (LocalTimeParameters,
//! usage summaries, ...) are ignored.
//!
//! Each ESPI `MeterReading` whose `ReadingType` is electricity energy in Wh or VArh,
//! forward or reverse, total or tou 1/2 ([`EspiReadingType::gridedge_reading_type`]) becomes
//! a gridedge channel; others are skipped and listed in [`ImportReport::skipped`]. Values
//! are `value × 10^powerOfTenMultiplier` in the `uom`; an interval `[start, start +
//! duration)` ends at `start + duration` (Unix seconds, UTC). `ReadingQuality` maps through
//! [`quality_from_espi`].
//!
//! `accumulationBehaviour` 4 (deltaData, interval consumption: the usual Green Button
//! content) is rebuilt into register values from [`GreenButtonImportOptions::anchor`]
//! ([`super::deltas`]); 1 (bulkQuantity) values are register values already and are
//! stored as they are.
//!
//! Defaults for `ReadingType` fields a file leaves out: `accumulationBehaviour` 4,
//! `commodity` 1, `flowDirection` 1, `kind` 12, `powerOfTenMultiplier` 0, no `tou`;
//! `intervalLength` defaults to the readings' common `duration`.

use std::collections::BTreeMap;

use jiff::Timestamp;
use model::{IntervalReading, MeterId, MeterReading, QualityFlags, ReadingType};

use super::deltas::{DeltaAnchor, DeltaInterval, bulk_from_deltas, resolve_anchor};
use super::xml_tree::{self, Element};
use super::{ImportError, ImportReport, ingest_all};
use crate::MeterDataStore;
use crate::export::espi_codes::{
    ACCUMULATION_BULK_QUANTITY, ACCUMULATION_DELTA_DATA, ATOM_NS, COMMODITY_ELECTRICITY_SECONDARY, ESPI_NS,
    EspiReadingType, FLOW_FORWARD, KIND_ENERGY,
};
use crate::export::quality::quality_from_espi;

/// How to import a Green Button file.
#[derive(Debug, Clone, PartialEq)]
pub struct GreenButtonImportOptions {
    /// The meter to store the data under; `None` takes each `UsagePoint` entry's title
    /// (the gridedge export writes the meter id there). With `Some`, the file must hold a
    /// single usage point.
    pub meter: Option<MeterId>,
    /// Register value at the start of each channel's first interval (deltaData only),
    /// for channels not listed in `channel_anchors`.
    pub anchor: DeltaAnchor,
    /// Per-channel anchors, overriding `anchor` (a file's +A and −A registers rarely start
    /// at the same value).
    pub channel_anchors: Vec<(ReadingType, DeltaAnchor)>,
    /// Recorded as each `MeterReading`'s `collected_at` (the import time), UTC.
    pub collected_at: Timestamp,
    /// Recorded as the source of every stored version.
    pub source: String,
}

impl GreenButtonImportOptions {
    /// Meter from the usage point title, registers starting at `anchor`.
    pub fn new(anchor: DeltaAnchor, collected_at: Timestamp) -> Self {
        GreenButtonImportOptions {
            meter: None,
            anchor,
            channel_anchors: Vec::new(),
            collected_at,
            source: "greenbutton-import".to_string(),
        }
    }

    /// The anchor of `reading_type`.
    pub fn anchor_for(&self, reading_type: ReadingType) -> DeltaAnchor {
        self.channel_anchors.iter().find(|(rt, _)| *rt == reading_type).map_or(self.anchor, |(_, a)| *a)
    }
}

/// One interval of an ESPI `IntervalReading`, scaled to the `uom`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EspiInterval {
    /// `timePeriod/start`, UTC.
    pub start: Timestamp,
    /// `timePeriod/duration`, seconds.
    pub duration_s: u32,
    /// `value × 10^powerOfTenMultiplier`, in Wh or varh.
    pub value: f64,
    /// Flags from the `ReadingQuality` elements.
    pub quality: QualityFlags,
}

/// One ESPI `MeterReading` mapped to a gridedge channel.
#[derive(Debug, Clone, PartialEq)]
pub struct EspiChannel {
    /// The gridedge channel.
    pub reading_type: ReadingType,
    /// The ESPI reading type as read (defaults applied).
    pub espi: EspiReadingType,
    /// Interval length, seconds.
    pub interval_length_s: u32,
    /// The intervals, ordered by start.
    pub intervals: Vec<EspiInterval>,
}

/// One ESPI `UsagePoint` with its channels.
#[derive(Debug, Clone, PartialEq)]
pub struct EspiUsagePoint {
    /// The entry's title, trimmed (gridedge writes the meter id).
    pub title: String,
    /// The entry's `self` link.
    pub href: Option<String>,
    /// Its energy channels, in feed order.
    pub channels: Vec<EspiChannel>,
}

/// A parsed Green Button document.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct GreenButtonFeed {
    /// The usage points, in feed order.
    pub usage_points: Vec<EspiUsagePoint>,
    /// Meter readings left out, with the reason.
    pub skipped: Vec<String>,
}

impl GreenButtonFeed {
    /// Sum of all interval values of `reading_type` over all usage points (Wh or varh).
    pub fn total(&self, reading_type: ReadingType) -> f64 {
        self.usage_points
            .iter()
            .flat_map(|u| &u.channels)
            .filter(|c| c.reading_type == reading_type)
            .flat_map(|c| &c.intervals)
            .map(|i| i.value)
            .sum()
    }
}

/// Parses, then ingests a Green Button document into `store`: one `MeterReading` per
/// usage point and interval length, through [`MeterDataStore::ingest_validated`] with
/// [`GreenButtonImportOptions::source`].
///
/// Errors: [`ImportError::Xml`] (nothing stored), [`ImportError::DeltaGap`],
/// [`ImportError::NoAnchor`], [`ImportError::Store`].
pub fn import_green_button(
    store: &mut (impl MeterDataStore + ?Sized),
    xml: &str,
    options: &GreenButtonImportOptions,
) -> Result<ImportReport, ImportError> {
    let feed = parse_green_button(xml)?;
    if options.meter.is_some() && feed.usage_points.len() > 1 {
        return Err(ImportError::Xml(format!(
            "{} usage points in the file but one meter id given",
            feed.usage_points.len()
        )));
    }
    let mut readings = Vec::new();
    for usage_point in &feed.usage_points {
        let meter = match &options.meter {
            Some(m) => m.clone(),
            None if !usage_point.title.is_empty() => MeterId(usage_point.title.clone()),
            None => return Err(ImportError::Xml("a UsagePoint entry has no title to take the meter id from".into())),
        };
        let mut by_length: BTreeMap<u32, Vec<IntervalReading>> = BTreeMap::new();
        for channel in &usage_point.channels {
            let values = channel_values(store, &meter, channel, options.anchor_for(channel.reading_type))?;
            by_length.entry(channel.interval_length_s).or_default().extend(values);
        }
        for (interval_length_s, mut intervals) in by_length {
            intervals.sort_by_key(|i| (i.interval_end, i.reading_type));
            readings.push(MeterReading {
                meter: meter.clone(),
                collected_at: options.collected_at,
                clock_drift_ms: None,
                interval_length_s,
                registers: Vec::new(),
                intervals,
            });
        }
    }
    let meters = ingest_all(store, readings, &options.source)?;
    Ok(ImportReport { meters, skipped: feed.skipped })
}

/// The register values to store for one channel.
fn channel_values(
    store: &(impl MeterDataStore + ?Sized),
    meter: &MeterId,
    channel: &EspiChannel,
    anchor: DeltaAnchor,
) -> Result<Vec<IntervalReading>, ImportError> {
    let end = |i: &EspiInterval| {
        i.start
            .checked_add(jiff::SignedDuration::from_secs(i64::from(i.duration_s)))
            .map_err(|e| ImportError::Xml(format!("interval end out of range: {e}")))
    };
    if channel.espi.accumulation_behaviour == ACCUMULATION_BULK_QUANTITY {
        return channel
            .intervals
            .iter()
            .map(|i| {
                Ok(IntervalReading {
                    reading_type: channel.reading_type,
                    interval_end: end(i)?,
                    value: i.value,
                    quality: i.quality,
                })
            })
            .collect();
    }
    let Some(first) = channel.intervals.first() else {
        return Ok(Vec::new());
    };
    let deltas = channel
        .intervals
        .iter()
        .map(|i| Ok(DeltaInterval { end: end(i)?, value: i.value, quality: i.quality }))
        .collect::<Result<Vec<_>, ImportError>>()?;
    let (start, include) = resolve_anchor(store, meter, channel.reading_type, first.start, anchor)?;
    bulk_from_deltas(meter, channel.reading_type, &deltas, channel.interval_length_s, start, include)
}

/// One Atom entry with its links and ESPI resource.
struct Entry<'a> {
    self_href: Option<String>,
    up_href: Option<String>,
    related: Vec<String>,
    title: String,
    resource: &'a Element,
}

impl Entry<'_> {
    /// True when `child` belongs to this entry by the ESPI link rule.
    fn is_parent_of(&self, child: &Entry<'_>) -> bool {
        let linked = |href: &Option<String>| href.as_ref().is_some_and(|h| self.related.contains(h));
        linked(&child.self_href) || linked(&child.up_href)
    }

    fn describe(&self) -> String {
        let name = if self.title.is_empty() { self.self_href.as_deref().unwrap_or("(no link)") } else { &self.title };
        format!("MeterReading {name:?}")
    }
}

/// Parses a Green Button document (no store access).
///
/// Errors: [`ImportError::Xml`] for malformed XML, a root that is neither an Atom `feed`
/// nor `entry`, or invalid ESPI values (non-numeric, out of range, readings of one
/// channel with differing durations).
pub fn parse_green_button(xml: &str) -> Result<GreenButtonFeed, ImportError> {
    let root = xml_tree::parse(xml).map_err(ImportError::Xml)?;
    let entries: Vec<&Element> = if root.is(ATOM_NS, "feed") {
        root.children_named(ATOM_NS, "entry").collect()
    } else if root.is(ATOM_NS, "entry") {
        vec![&root]
    } else {
        return Err(ImportError::Xml(format!("root element <{}> is not an Atom feed or entry", root.name)));
    };
    let entries: Vec<Entry<'_>> = entries.into_iter().filter_map(entry).collect();
    let of_kind = |kind: &'static str| entries.iter().filter(move |e| e.resource.name == kind);

    let mut feed = GreenButtonFeed::default();
    let mut usage_points: Vec<(&Entry<'_>, EspiUsagePoint)> = of_kind("UsagePoint")
        .map(|e| (e, EspiUsagePoint { title: e.title.clone(), href: e.self_href.clone(), channels: Vec::new() }))
        .collect();
    for reading in of_kind("MeterReading") {
        let Some((_, usage_point)) = usage_points.iter_mut().find(|(up, _)| up.is_parent_of(reading)) else {
            feed.skipped.push(format!("{}: no UsagePoint links to it", reading.describe()));
            continue;
        };
        let Some(reading_type) = of_kind("ReadingType").find(|rt| reading.is_parent_of(rt)) else {
            feed.skipped.push(format!("{}: no ReadingType", reading.describe()));
            continue;
        };
        let espi = espi_reading_type(reading_type.resource)?;
        let Some(gridedge) = espi.gridedge_reading_type() else {
            feed.skipped
                .push(format!("{}: not an electricity energy channel gridedge stores: {espi:?}", reading.describe()));
            continue;
        };
        if !matches!(espi.accumulation_behaviour, ACCUMULATION_DELTA_DATA | ACCUMULATION_BULK_QUANTITY) {
            feed.skipped.push(format!(
                "{}: accumulationBehaviour {} is neither deltaData nor bulkQuantity",
                reading.describe(),
                espi.accumulation_behaviour
            ));
            continue;
        }
        if usage_point.channels.iter().any(|c| c.reading_type == gridedge) {
            feed.skipped.push(format!("{}: a second MeterReading of {gridedge}", reading.describe()));
            continue;
        }
        let mut intervals = Vec::new();
        for block in of_kind("IntervalBlock").filter(|b| reading.is_parent_of(b)) {
            for r in block.resource.children_named(ESPI_NS, "IntervalReading") {
                intervals.push(interval_reading(r, espi.power_of_ten_multiplier)?);
            }
        }
        intervals.sort_by_key(|i| i.start);
        let interval_length_s = match (espi.interval_length_s, intervals.first()) {
            (Some(length), _) => length,
            (None, Some(first)) => first.duration_s,
            (None, None) => {
                feed.skipped.push(format!("{}: no interval readings and no intervalLength", reading.describe()));
                continue;
            }
        };
        if interval_length_s == 0 {
            return Err(ImportError::Xml(format!("{}: interval length 0", reading.describe())));
        }
        if let Some(odd) = intervals.iter().find(|i| i.duration_s != interval_length_s) {
            return Err(ImportError::Xml(format!(
                "{}: an interval starting at {} lasts {} s, not the channel's {interval_length_s} s",
                reading.describe(),
                odd.start,
                odd.duration_s
            )));
        }
        usage_point.channels.push(EspiChannel { reading_type: gridedge, espi, interval_length_s, intervals });
    }
    feed.usage_points = usage_points.into_iter().map(|(_, u)| u).collect();
    Ok(feed)
}

/// The entry's links, title and ESPI resource; `None` for entries without ESPI content.
fn entry(element: &Element) -> Option<Entry<'_>> {
    let resource = element.child(ATOM_NS, "content")?.children.iter().find(|c| c.ns.as_deref() == Some(ESPI_NS))?;
    let mut e = Entry {
        self_href: None,
        up_href: None,
        related: Vec::new(),
        title: element.child(ATOM_NS, "title").map(|t| t.text.trim().to_string()).unwrap_or_default(),
        resource,
    };
    for link in element.children_named(ATOM_NS, "link") {
        let Some(href) = link.attribute("href") else { continue };
        match link.attribute("rel") {
            Some("self") => e.self_href = Some(href.to_string()),
            Some("up") => e.up_href = Some(href.to_string()),
            Some("related") => e.related.push(href.to_string()),
            _ => {}
        }
    }
    Some(e)
}

/// The text of ESPI child `name`, parsed as a number.
fn number<T: std::str::FromStr>(parent: &Element, name: &str) -> Result<Option<T>, ImportError>
where
    T::Err: std::fmt::Display,
{
    match parent.child(ESPI_NS, name) {
        None => Ok(None),
        Some(el) => el
            .text
            .trim()
            .parse()
            .map(Some)
            .map_err(|e| ImportError::Xml(format!("<{}>{}</{}>: {e}", name, el.text.trim(), name))),
    }
}

fn espi_reading_type(resource: &Element) -> Result<EspiReadingType, ImportError> {
    let power: i32 = number(resource, "powerOfTenMultiplier")?.unwrap_or(0);
    if !(-12..=12).contains(&power) {
        return Err(ImportError::Xml(format!("powerOfTenMultiplier {power} out of range")));
    }
    Ok(EspiReadingType {
        accumulation_behaviour: number(resource, "accumulationBehaviour")?.unwrap_or(ACCUMULATION_DELTA_DATA),
        commodity: number(resource, "commodity")?.unwrap_or(COMMODITY_ELECTRICITY_SECONDARY),
        flow_direction: number(resource, "flowDirection")?.unwrap_or(FLOW_FORWARD),
        interval_length_s: number(resource, "intervalLength")?,
        kind: number(resource, "kind")?.unwrap_or(KIND_ENERGY),
        power_of_ten_multiplier: power,
        tou: number(resource, "tou")?,
        uom: number(resource, "uom")?.ok_or_else(|| ImportError::Xml("ReadingType without uom".into()))?,
    })
}

/// One `IntervalReading`; its value is `value × 10^power` (a division for negative powers,
/// so that e.g. 105 × 10^−1 is exactly 10.5).
fn interval_reading(element: &Element, power: i32) -> Result<EspiInterval, ImportError> {
    let period = element
        .child(ESPI_NS, "timePeriod")
        .ok_or_else(|| ImportError::Xml("IntervalReading without timePeriod".into()))?;
    let start: i64 = number(period, "start")?.ok_or_else(|| ImportError::Xml("timePeriod without start".into()))?;
    let duration_s: u32 =
        number(period, "duration")?.ok_or_else(|| ImportError::Xml("timePeriod without duration".into()))?;
    let raw: i64 = number(element, "value")?.ok_or_else(|| ImportError::Xml("IntervalReading without value".into()))?;
    let mut quality = QualityFlags::default();
    for q in element.children_named(ESPI_NS, "ReadingQuality") {
        let code: u32 =
            number(q, "quality")?.ok_or_else(|| ImportError::Xml("ReadingQuality without quality".into()))?;
        quality.0 |= quality_from_espi(code).0;
    }
    Ok(EspiInterval {
        start: Timestamp::from_second(start).map_err(|e| ImportError::Xml(format!("start {start}: {e}")))?,
        duration_s,
        value: if power < 0 { raw as f64 / 10f64.powi(-power) } else { raw as f64 * 10f64.powi(power) },
        quality,
    })
}
