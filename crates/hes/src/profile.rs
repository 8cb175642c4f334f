//! Turning a Profile generic (class 7, IEC 62056-6-2 §4.3.6) buffer into interval
//! readings: capture objects name the columns, the registers' scaler_unit scales them,
//! the clock column gives each entry's interval end.

use std::collections::HashMap;

use dlms::Obis;
use dlms::data::Data;
use dlms::unit::{CosemUnit, ScalerUnit};
use jiff::Timestamp;
use model::{IntervalReading, QualityFlags, ReadingType, Unit};
use thiserror::Error;

/// Class id of Clock (IEC 62056-6-2 §4.5.1).
pub const CLASS_CLOCK: u16 = 8;

/// One column of a profile: a capture object definition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CaptureColumn {
    /// Interface class of the captured object.
    pub class_id: u16,
    /// Its logical name.
    pub obis: Obis,
    /// Captured attribute.
    pub attribute: i8,
    /// Element within the attribute (0 = all).
    pub data_index: u16,
}

/// Why a profile could not be interpreted.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum ProfileError {
    /// capture_objects is not an array of 4-element structures.
    #[error("malformed capture_objects: {0}")]
    CaptureObjects(&'static str),
    /// The profile has no Clock column.
    #[error("the profile has no clock column")]
    NoClockColumn,
    /// The buffer is not an array of structures of the capture objects' width.
    #[error("malformed buffer entry {index}: {reason}")]
    Entry {
        /// 0-based entry index.
        index: usize,
        /// What was wrong.
        reason: String,
    },
    /// A channel's unit does not match its reading type.
    #[error("channel {obis} has unit {unit}, expected {expected}")]
    UnitMismatch {
        /// The register.
        obis: Obis,
        /// Its COSEM unit.
        unit: CosemUnit,
        /// What gridedge expects.
        expected: &'static str,
    },
}

/// Parses attribute 3 (capture_objects): array of structure { long-unsigned class_id,
/// octet-string logical_name, integer attribute_index, long-unsigned data_index }.
///
/// # Errors
/// [`ProfileError::CaptureObjects`] on any other shape.
pub fn parse_capture_objects(data: &Data) -> Result<Vec<CaptureColumn>, ProfileError> {
    let Data::Array(items) = data else { return Err(ProfileError::CaptureObjects("not an array")) };
    items
        .iter()
        .map(|item| match item.as_sequence() {
            Some(
                [
                    Data::LongUnsigned(class_id),
                    Data::OctetString(ln),
                    Data::Integer(attribute),
                    Data::LongUnsigned(data_index),
                ],
            ) => {
                let obis = Obis::from_slice(ln).ok_or(ProfileError::CaptureObjects("logical name is not 6 bytes"))?;
                Ok(CaptureColumn { class_id: *class_id, obis, attribute: *attribute, data_index: *data_index })
            }
            _ => {
                Err(ProfileError::CaptureObjects("entry is not {long-unsigned, octet-string, integer, long-unsigned}"))
            }
        })
        .collect()
}

/// Which buffer column holds what.
#[derive(Debug, Clone)]
pub struct ProfileLayout {
    /// The Clock column.
    pub clock: usize,
    /// The profile status column (a Data object 0.0.96.10.x.255), if captured.
    pub status: Option<usize>,
    /// The energy channels gridedge stores: column, reading type, scaler/unit.
    pub channels: Vec<(usize, ReadingType, ScalerUnit)>,
}

fn expected_unit(t: ReadingType) -> (CosemUnit, &'static str) {
    match t.unit() {
        Unit::Wh => (CosemUnit(30), "Wh"),
        Unit::Varh => (CosemUnit(32), "varh"),
        Unit::W => (CosemUnit(27), "W"),
        Unit::V => (CosemUnit(35), "V"),
        Unit::A => (CosemUnit(33), "A"),
        Unit::M3 => (CosemUnit(13), "m3"),
    }
}

/// Builds the layout from the capture objects and the scaler_unit of each captured
/// register. Columns of reading types gridedge does not store are skipped; a register
/// column without a known scaler_unit is skipped too (it cannot be scaled safely).
///
/// # Errors
/// [`ProfileError::NoClockColumn`]; [`ProfileError::UnitMismatch`] when a register's
/// unit contradicts its OBIS code (e.g. an A+ register in varh).
pub fn layout(columns: &[CaptureColumn], scalers: &HashMap<Obis, ScalerUnit>) -> Result<ProfileLayout, ProfileError> {
    let clock = columns
        .iter()
        .position(|c| c.class_id == CLASS_CLOCK && c.attribute == 2)
        .ok_or(ProfileError::NoClockColumn)?;
    let status = columns
        .iter()
        .position(|c| c.class_id == 1 && c.obis.a() == 0 && c.obis.c() == 96 && c.obis.d() == 10 && c.attribute == 2);
    let mut channels = Vec::new();
    for (i, c) in columns.iter().enumerate() {
        if c.attribute != 2 || !matches!(c.class_id, 3 | 4) {
            continue;
        }
        let Some(t) = ReadingType::from_obis(*c.obis.as_bytes()) else { continue };
        let Some(su) = scalers.get(&c.obis) else { continue };
        let (unit, name) = expected_unit(t);
        if su.unit != unit {
            return Err(ProfileError::UnitMismatch { obis: c.obis, unit: su.unit, expected: name });
        }
        channels.push((i, t, *su));
    }
    Ok(ProfileLayout { clock, status, channels })
}

/// Converts buffer entries into interval readings, one per channel per entry. An entry
/// whose clock is null-data (a "compressed" profile) takes the previous entry's time plus
/// `capture_period_s`; an entry with an unconvertible time is an error. Entries at or
/// before `after` (exclusive lower bound, UTC) are dropped.
///
/// # Errors
/// [`ProfileError::Entry`] on malformed entries.
pub fn intervals_from_buffer(
    buffer: &Data,
    layout: &ProfileLayout,
    capture_period_s: u32,
    after: Option<Timestamp>,
) -> Result<Vec<IntervalReading>, ProfileError> {
    let entries = match buffer {
        Data::Array(e) => e.as_slice(),
        Data::CompactArray(_, e) => e.as_slice(),
        _ => return Err(ProfileError::Entry { index: 0, reason: "buffer is not an array".into() }),
    };
    let mut out = Vec::with_capacity(entries.len() * layout.channels.len());
    let mut previous: Option<Timestamp> = None;
    for (index, entry) in entries.iter().enumerate() {
        let err = |reason: String| ProfileError::Entry { index, reason };
        let Some(cols) = entry.as_sequence() else { return Err(err("entry is not a structure".into())) };
        let clock = cols.get(layout.clock).ok_or_else(|| err("missing clock column".into()))?;
        let time = match clock {
            Data::NullData => previous
                .and_then(|p| p.checked_add(jiff::SignedDuration::from_secs(capture_period_s as i64)).ok())
                .ok_or_else(|| err("null clock without a previous entry".into()))?,
            other => other
                .as_date_time()
                .ok_or_else(|| err("clock column is not a date-time".into()))?
                .to_utc()
                .map_err(|e| err(format!("capture time: {e}")))?,
        };
        previous = Some(time);
        if after.is_some_and(|a| time <= a) {
            continue;
        }
        let status = match layout.status.and_then(|i| cols.get(i)) {
            Some(d) => d.as_integer().and_then(|v| u8::try_from(v).ok()).unwrap_or(0),
            None => 0,
        };
        let quality = QualityFlags::from_profile_status(status);
        for (col, reading_type, su) in &layout.channels {
            let raw = cols.get(*col).ok_or_else(|| err(format!("missing column {col}")))?;
            let value = su.apply(raw).ok_or_else(|| err(format!("column {col} is not numeric")))?;
            out.push(IntervalReading { reading_type: *reading_type, interval_end: time, value, quality });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use dlms::datetime::{ClockStatus, CosemDateTime};

    fn col(class_id: u16, obis: Obis) -> Data {
        Data::Structure(vec![
            Data::LongUnsigned(class_id),
            Data::OctetString(obis.as_bytes().to_vec()),
            Data::Integer(2),
            Data::LongUnsigned(0),
        ])
    }

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn converts_a_buffer_with_scaler_status_and_compressed_clock() {
        let caps = Data::Array(vec![
            col(8, Obis::new(0, 0, 1, 0, 0, 255)),
            col(1, Obis::new(0, 0, 96, 10, 1, 255)),
            col(3, Obis::new(1, 0, 1, 8, 0, 255)),
            col(3, Obis::new(1, 0, 99, 99, 0, 255)), // not stored by gridedge: skipped
        ]);
        let columns = parse_capture_objects(&caps).unwrap();
        let scalers = HashMap::from([(Obis::new(1, 0, 1, 8, 0, 255), ScalerUnit::new(1, CosemUnit(30)))]);
        let l = layout(&columns, &scalers).unwrap();
        assert_eq!((l.clock, l.status, l.channels.len()), (0, Some(1), 1));
        // 10:15 local at UTC+01:00 (deviation -60) = 09:15 UTC.
        let t0 = CosemDateTime::from_utc(ts("2024-03-01T09:15:00Z"), Some(-60), ClockStatus::OK).unwrap();
        let buffer = Data::Array(vec![
            Data::Structure(vec![
                Data::OctetString(t0.to_octets()),
                Data::Unsigned(0),
                Data::DoubleLongUnsigned(100),
                Data::Unsigned(9),
            ]),
            Data::Structure(vec![
                Data::NullData,
                Data::Unsigned(0x80),
                Data::DoubleLongUnsigned(103),
                Data::Unsigned(9),
            ]),
        ]);
        let iv = intervals_from_buffer(&buffer, &l, 900, None).unwrap();
        assert_eq!(iv.len(), 2);
        assert_eq!(iv[0].interval_end, ts("2024-03-01T09:15:00Z"));
        assert_eq!(iv[0].value, 1000.0);
        assert_eq!(iv[1].interval_end, ts("2024-03-01T09:30:00Z"));
        assert_eq!(iv[1].value, 1030.0);
        assert!(iv[1].quality.contains(QualityFlags::POWER_DOWN));
        // Exclusive lower bound.
        let later = intervals_from_buffer(&buffer, &l, 900, Some(ts("2024-03-01T09:15:00Z"))).unwrap();
        assert_eq!(later.len(), 1);
    }

    #[test]
    fn rejects_wrong_units_and_malformed_input() {
        let columns = vec![
            CaptureColumn { class_id: 8, obis: Obis::new(0, 0, 1, 0, 0, 255), attribute: 2, data_index: 0 },
            CaptureColumn { class_id: 3, obis: Obis::new(1, 0, 1, 8, 0, 255), attribute: 2, data_index: 0 },
        ];
        let scalers = HashMap::from([(Obis::new(1, 0, 1, 8, 0, 255), ScalerUnit::new(0, CosemUnit(32)))]);
        assert!(matches!(layout(&columns, &scalers), Err(ProfileError::UnitMismatch { .. })));
        assert_eq!(layout(&columns[1..], &HashMap::new()).unwrap_err(), ProfileError::NoClockColumn);
        assert!(parse_capture_objects(&Data::Unsigned(1)).is_err());
        let l = layout(&columns, &HashMap::new()).unwrap();
        assert!(intervals_from_buffer(&Data::Array(vec![Data::Unsigned(1)]), &l, 900, None).is_err());
        assert!(
            intervals_from_buffer(&Data::Array(vec![Data::Structure(vec![Data::NullData])]), &l, 900, None).is_err()
        );
    }
}
